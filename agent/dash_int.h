/*
 * dash_int.h: the dashboard server's internals shared by dash.c (requests,
 * routing, life cycle), dash_reply.c (responses and static files) and
 * dash_sse.c (event streams).  Not for use outside agent/dash*.c.
 */
#ifndef AGENT_DASH_INT_H
#define AGENT_DASH_INT_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include <jansson.h>
#include <microhttpd.h>

#include "agent/dash.h"
#include "agent/dash_auth.h"
#include "agent/dash_conn.h"
#include "peerwatt/error.h"

#define DASH_PING_S      15
#define DASH_PING_S      15
#define DASH_SSE_MAX_BUF (256 * 1024) /* queued bytes before a stream is dropped */
#define DASH_COOKIE      "pw_session"
#define DASH_CSRF_HEADER "X-CSRF-Token"

#define DASH_CSP                                                                                   \
	"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "          \
	"connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; "               \
	"frame-ancestors 'none'"

struct dash_sse {
	struct dash *d;
	struct MHD_Connection *conn;
	char *buf;
	size_t len, off, cap;
	bool suspended;
	bool closing;
	struct dash_sse *next;
};

struct dash_body {
	char *body;
	size_t len;
	bool too_big;
	bool held_429; /* held back for a wrong credential: answer 429 on resume */
};

enum dash_counter {
	DASH_C_REQUESTS,
	DASH_C_ERRORS_4XX,
	DASH_C_ERRORS_5XX,
	DASH_C_CSRF_REJECTED,
	DASH_C_LOGIN_FAILED,
	DASH_C_EVENTS,
	DASH_C_SSE_DROPPED,
	DASH_C_BIDS,
	DASH_C_CANCELS,
	DASH_C__COUNT
};

struct dash {
	struct MHD_Daemon *mhd;
	struct dash_ops ops;
	char web_root[PATH_MAX]; /* resolved: no symlink, no ".." */
	struct dash_auth *auth;
	struct dash_conns conns;
	uint64_t auth_lockouts_logged;
	bool loopback;
	uint16_t port;
	unsigned max_clients;
	char csrf[65]; /* hex of 32 random bytes */
	struct dash_sse *streams;
	unsigned nstreams;
	bool resume_pending;
	uint64_t event_id;
	time_t next_ping;
	uint64_t counters[DASH_C__COUNT];
};

/* dash_reply.c */
void dash__headers(struct MHD_Response *r, const char *ctype, bool no_store);
void dash__count_status(struct dash *d, unsigned status);
enum MHD_Result dash__reply_text(struct dash *d, struct MHD_Connection *c, unsigned status,
                                 const char *ctype, const char *body, size_t len,
                                 const char *extra_name, const char *extra_value);
enum MHD_Result dash__reply_json(struct dash *d, struct MHD_Connection *c, unsigned status,
                                 json_t *doc);
enum MHD_Result dash__reply_error(struct dash *d, struct MHD_Connection *c, unsigned status,
                                  const char *msg);
unsigned dash__status_of(pw_err rc);
enum MHD_Result dash__reply_file(struct dash *d, struct MHD_Connection *c, const char *url);

/* dash_sse.c */
bool dash__sse_append(struct dash_sse *s, const char *data, size_t len);
void dash__sse_wake(struct dash_sse *s);
ssize_t dash__sse_read(void *cls, uint64_t pos, char *buf, size_t max);
void dash__sse_free(void *cls);
enum MHD_Result dash__open_stream(struct dash *d, struct MHD_Connection *c);

#endif
