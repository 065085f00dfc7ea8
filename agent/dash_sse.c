/*
 * dash_sse.c: Server-Sent Events streams of the dashboard: a bounded queue
 * per stream, suspended connections resumed by dash_publish() (see dash.c
 * for the design and dash_int.h).
 */
#include "agent/dash_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/dash_req.h"
#include "peerwatt/log.h"

bool
dash__sse_append(struct dash_sse *s, const char *data, size_t len)
{
	if (s->closing)
		return false;
	if (s->off > 0 && s->off == s->len)
		s->off = s->len = 0;
	if (s->len - s->off + len > DASH_SSE_MAX_BUF) {
		s->closing = true; /* too slow: drop it, the page reconnects */
		s->d->counters[DASH_C_SSE_DROPPED]++;
		return false;
	}
	if (s->len + len > s->cap) {
		size_t ncap = s->cap ? s->cap : 1024;
		char *nb;
		if (s->off > 0) {
			memmove(s->buf, s->buf + s->off, s->len - s->off);
			s->len -= s->off;
			s->off = 0;
		}
		while (ncap < s->len + len)
			ncap *= 2;
		if (ncap != s->cap) {
			nb = realloc(s->buf, ncap);
			if (nb == NULL) {
				s->closing = true;
				return false;
			}
			s->buf = nb;
			s->cap = ncap;
		}
	}
	memcpy(s->buf + s->len, data, len);
	s->len += len;
	return true;
}

void
dash__sse_wake(struct dash_sse *s)
{
	if (s->suspended) {
		s->suspended = false;
		s->d->resume_pending = true;
		MHD_resume_connection(s->conn);
	}
}

ssize_t
dash__sse_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct dash_sse *s = cls;
	size_t n;

	(void)pos;
	if (s->len > s->off) {
		n = s->len - s->off;
		if (n > max)
			n = max;
		memcpy(buf, s->buf + s->off, n);
		s->off += n;
		return (ssize_t)n;
	}
	if (s->closing)
		return MHD_CONTENT_READER_END_OF_STREAM;
	/* Nothing to send: leave the event loop until dash_publish or a ping. */
	s->suspended = true;
	MHD_suspend_connection(s->conn);
	return 0;
}

void
dash__sse_free(void *cls)
{
	struct dash_sse *s = cls;
	struct dash_sse **pp;

	for (pp = &s->d->streams; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == s) {
			*pp = s->next;
			s->d->nstreams--;
			break;
		}
	}
	free(s->buf);
	free(s);
}

enum MHD_Result
dash__open_stream(struct dash *d, struct MHD_Connection *c)
{
	static const char hello[] = "retry: 2000\n: peerwatt\n\n";
	struct MHD_Response *r;
	struct dash_sse *s;
	struct dash_conn *dc;
	enum MHD_Result ret;

	if (d->nstreams >= d->max_clients)
		return dash__reply_error(d, c, 503, "too many open event streams");
	s = calloc(1, sizeof *s);
	if (s == NULL)
		return MHD_NO;
	s->d = d;
	s->conn = c;
	if (!dash__sse_append(s, hello, sizeof hello - 1)) {
		free(s);
		return MHD_NO;
	}
	r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, dash__sse_read, s,
	                                      dash__sse_free);
	if (r == NULL) {
		free(s->buf);
		free(s);
		return MHD_NO;
	}
	s->next = d->streams;
	d->streams = s;
	d->nstreams++;
	dc = dash_conn_of(c);
	if (dc != NULL)
		dc->stream = true; /* no request deadline: it lives on */
	dash__headers(r, "text/event-stream", true);
	MHD_add_response_header(r, "X-Accel-Buffering", "no");
	ret = MHD_queue_response(c, 200, r);
	MHD_destroy_response(r);
	return ret;
}

pw_err
dash_publish(struct dash *d, const char *event, const json_t *doc)
{
	char head[80], *text;
	size_t i, n;
	struct dash_sse *s;

	if (d == NULL || event == NULL || doc == NULL)
		return PW_ERR_ARG;
	n = strlen(event);
	if (n == 0 || n > 31)
		return PW_ERR_ARG;
	for (i = 0; i < n; i++)
		if ((event[i] < 'a' || event[i] > 'z') && event[i] != '_')
			return PW_ERR_ARG;
	/* JSON_COMPACT output has no raw newline, so one data: line is enough. */
	text = json_dumps(doc, JSON_COMPACT);
	if (text == NULL)
		return PW_ERR_NOMEM;
	d->event_id++;
	d->counters[DASH_C_EVENTS]++;
	snprintf(head, sizeof head, "event: %s\nid: %llu\ndata: ", event,
	         (unsigned long long)d->event_id);
	for (s = d->streams; s != NULL; s = s->next) {
		if (dash__sse_append(s, head, strlen(head)) &&
		    dash__sse_append(s, text, strlen(text)))
			dash__sse_append(s, "\n\n", 2);
		dash__sse_wake(s);
	}
	free(text);
	return PW_OK;
}

pw_err
dash_notify(struct dash *d, enum dash_doc doc)
{
	json_t *j;
	pw_err rc;

	if (d == NULL || (unsigned)doc >= DASH_DOC__COUNT)
		return PW_ERR_ARG;
	if (d->streams == NULL)
		return PW_OK; /* nobody listens: do not build the document */
	j = d->ops.get(d->ops.ctx, doc);
	if (j == NULL)
		return PW_ERR_UNAVAILABLE;
	rc = dash_publish(d, dash_doc_name(doc), j);
	json_decref(j);
	return rc;
}

unsigned
dash_clients(const struct dash *d)
{
	return d ? d->nstreams : 0;
}
