/*
 * dash_reply.c: the dashboard's responses: security headers on every reply,
 * text, JSON and error bodies, status codes of pw_err, static files from the
 * web root (see dash_int.h), gzip-compressed for a client that accepts it
 * when they are text (docs/dashboard.md "Performance": the page's first
 * load on a phone).
 */
#include "agent/dash_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

#include "agent/dash_req.h"
#include "peerwatt/log.h"

void
dash__headers(struct MHD_Response *r, const char *ctype, bool no_store)
{
	MHD_add_response_header(r, "Content-Type", ctype);
	MHD_add_response_header(r, "Content-Security-Policy", DASH_CSP);
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(r, "X-Frame-Options", "DENY");
	MHD_add_response_header(r, "Referrer-Policy", "same-origin");
	MHD_add_response_header(r, "Cross-Origin-Opener-Policy", "same-origin");
	MHD_add_response_header(r, "Cross-Origin-Resource-Policy", "same-origin");
	MHD_add_response_header(r, "Cache-Control", no_store ? "no-store" : "no-cache");
}

void
dash__count_status(struct dash *d, unsigned status)
{
	if (status >= 500)
		d->counters[DASH_C_ERRORS_5XX]++;
	else if (status >= 400)
		d->counters[DASH_C_ERRORS_4XX]++;
}

enum MHD_Result
dash__reply_text(struct dash *d, struct MHD_Connection *c, unsigned status, const char *ctype,
                 const char *body, size_t len, const char *extra_name, const char *extra_value)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(len, (void *)(uintptr_t)body, MHD_RESPMEM_MUST_COPY);
	if (r == NULL)
		return MHD_NO;
	dash__headers(r, ctype, true);
	if (extra_name != NULL)
		MHD_add_response_header(r, extra_name, extra_value);
	dash__count_status(d, status);
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

/* Steals `doc`. */
enum MHD_Result
dash__reply_json(struct dash *d, struct MHD_Connection *c, unsigned status, json_t *doc)
{
	char *text;
	enum MHD_Result ret;

	if (doc == NULL)
		return MHD_NO;
	text = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	if (text == NULL)
		return MHD_NO;
	ret = dash__reply_text(d, c, status, "application/json", text, strlen(text), NULL, NULL);
	free(text);
	return ret;
}

enum MHD_Result
dash__reply_error(struct dash *d, struct MHD_Connection *c, unsigned status, const char *msg)
{
	return dash__reply_json(d, c, status, json_pack("{s:s}", "error", msg));
}

unsigned
dash__status_of(pw_err rc)
{
	switch (rc) {
	case PW_OK:
		return 200;
	case PW_ERR_ARG:
	case PW_ERR_RANGE:
	case PW_ERR_PARSE:
	case PW_ERR_FIELD:
		return 400;
	case PW_ERR_NOTFOUND:
		return 404;
	case PW_ERR_STATE:
	case PW_ERR_REJECTED:
	case PW_ERR_EXISTS:
		return 409;
	case PW_ERR_FULL:
		return 429;
	case PW_ERR_UNAVAILABLE:
	case PW_ERR_TIMEOUT:
		return 503;
	default:
		return 500;
	}
}

/* Static text files larger than this are sent as they are. */
#define DASH_GZIP_MAX (4u << 20)

/* The file open on fd (st_size bytes) as a gzip member, in a buffer the
 * caller frees; NULL when it cannot be read or compressed (then it is sent
 * plain). */
static unsigned char *
gzip_file(int fd, size_t size, size_t *out_len)
{
	unsigned char *in = NULL, *out = NULL;
	size_t got = 0;
	z_stream z;

	if (size == 0 || size > DASH_GZIP_MAX || (in = malloc(size)) == NULL)
		return NULL;
	while (got < size) {
		ssize_t r = pread(fd, in + got, size - got, (off_t)got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			goto fail;
		got += (size_t)r;
	}
	memset(&z, 0, sizeof z);
	/* 15 + 16: a gzip wrapper, the default window; level 6, zlib's default */
	if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		goto fail;
	size_t cap = deflateBound(&z, (uLong)size);
	if ((out = malloc(cap)) == NULL) {
		deflateEnd(&z);
		goto fail;
	}
	z.next_in = in;
	z.avail_in = (uInt)size;
	z.next_out = out;
	z.avail_out = (uInt)cap;
	if (deflate(&z, Z_FINISH) != Z_STREAM_END) {
		deflateEnd(&z);
		goto fail;
	}
	*out_len = (size_t)z.total_out;
	deflateEnd(&z);
	free(in);
	return out;
fail:
	free(in);
	free(out);
	return NULL;
}

/* Text files (scripts, styles, pages, SVG) are worth compressing. */
static bool
compressible(const char *mime)
{
	return strncmp(mime, "text/", 5) == 0 || strcmp(mime, "image/svg+xml") == 0 ||
	       strcmp(mime, "application/json") == 0;
}

/* A static file: its every path component resolved (realpath), and the
 * result must still lie inside the resolved web root, so that no symlink
 * in the tree, a directory one included, leads out of it. */
enum MHD_Result
dash__reply_file(struct dash *d, struct MHD_Connection *c, const char *url)
{
	char path[PATH_MAX], real[PATH_MAX];
	struct MHD_Response *r;
	struct stat st;
	enum MHD_Result ret;
	size_t rootlen = strlen(d->web_root);
	int fd, n;

	if (strcmp(url, "/") == 0 || strcmp(url, "/index.html") == 0)
		url = "/index.html";
	if (!dash_req_path_ok(url))
		return dash__reply_error(d, c, 404, "not found");
	n = snprintf(path, sizeof path, "%s%s", d->web_root, url);
	if (n < 0 || (size_t)n >= sizeof path)
		return dash__reply_error(d, c, 404, "not found");
	if (realpath(path, real) == NULL || strncmp(real, d->web_root, rootlen) != 0 ||
	    (real[rootlen] != '/' && strcmp(d->web_root, "/") != 0))
		return dash__reply_error(d, c, 404, "not found");
	fd = open(real, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return dash__reply_error(d, c, 404, "not found");
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return dash__reply_error(d, c, 404, "not found");
	}
	const char *mime = dash_req_mime(url);
	bool gz = false;
	if (compressible(mime) && dash_req_accepts_gzip(MHD_lookup_connection_value(
	                              c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT_ENCODING))) {
		size_t zlen = 0;
		unsigned char *z = gzip_file(fd, (size_t)st.st_size, &zlen);
		if (z != NULL) {
			close(fd);
			r = MHD_create_response_from_buffer(zlen, z, MHD_RESPMEM_MUST_FREE);
			if (r == NULL) {
				free(z);
				return MHD_NO;
			}
			gz = true;
		}
	}
	if (!gz) {
		r = MHD_create_response_from_fd((uint64_t)st.st_size, fd); /* owns fd */
		if (r == NULL) {
			close(fd);
			return MHD_NO;
		}
	}
	dash__headers(r, mime, false);
	/* caches keep the two encodings apart */
	if (compressible(mime))
		MHD_add_response_header(r, MHD_HTTP_HEADER_VARY, MHD_HTTP_HEADER_ACCEPT_ENCODING);
	if (gz)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_ENCODING, "gzip");
	ret = MHD_queue_response(c, 200, r);
	MHD_destroy_response(r);
	return ret;
}
