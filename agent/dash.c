/*
 * dash.c: the dashboard HTTP server (see dash.h for the contract).
 *
 * Request flow: on_request() collects a bounded body, then route() checks
 * Host (loopback binds only accept loopback names, against DNS rebinding),
 * the login cookie when a token is configured, and for state-changing
 * methods the same origin (Origin, else Referer) and the CSRF header before
 * any dash_ops callback runs.  Every response carries the security headers.
 *
 * SSE streams are libmicrohttpd callback responses that suspend their
 * connection when they have nothing to send; dash_publish() queues the event
 * on each stream and resumes it (MHD_USE_ITC wakes the epoll fd).  A comment
 * line every DASH_PING_S resumes idle streams so closed sockets are noticed.
 */
#include "agent/dash.h"
#include "agent/dash_int.h"
#include "agent/dash_auth.h"
#include "agent/dash_conn.h"
#include "agent/dash_req.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>
#include <sodium.h>

#include "peerwatt/log.h"

static const char *const doc_names[DASH_DOC__COUNT] = {
	"state", "market", "orders", "trades", "statements", "settings", "today", "outlook", "plan",
};

const char *
dash_doc_name(enum dash_doc doc)
{
	if ((unsigned)doc >= DASH_DOC__COUNT)
		return NULL;
	return doc_names[doc];
}

static void
dash__msg(char *msg, size_t cap, const char *fmt, ...)
{
	va_list ap;

	if (msg == NULL || cap == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, cap, fmt, ap);
	va_end(ap);
}

static time_t
dash__now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

static void
dash__random_hex(char out[65])
{
	unsigned char raw[32];

	randombytes_buf(raw, sizeof raw);
	sodium_bin2hex(out, 65, raw, sizeof raw);
	sodium_memzero(raw, sizeof raw);
}

/* ---- parsing helpers -------------------------------------------------- */

pw_err
dash_listen_parse(const char *text, char *addr, size_t cap, uint16_t *port)
{
	const char *colon, *ps;
	size_t hlen;
	char *end;
	long v;

	if (text == NULL || addr == NULL || port == NULL || cap < 46)
		return PW_ERR_ARG;
	if (text[0] == '[') {
		const char *rb = strchr(text, ']');
		if (rb == NULL || rb[1] != ':')
			return PW_ERR_PARSE;
		hlen = (size_t)(rb - text - 1);
		if (hlen == 0 || hlen >= cap)
			return PW_ERR_PARSE;
		memcpy(addr, text + 1, hlen);
		addr[hlen] = '\0';
		ps = rb + 2;
	} else if ((colon = strrchr(text, ':')) != NULL) {
		hlen = (size_t)(colon - text);
		if (hlen == 0 || hlen >= cap || memchr(text, ':', hlen) != NULL)
			return PW_ERR_PARSE;
		memcpy(addr, text, hlen);
		addr[hlen] = '\0';
		ps = colon + 1;
	} else {
		snprintf(addr, cap, "%s", DASH_DEFAULT_ADDR);
		ps = text;
	}
	if (*ps < '0' || *ps > '9')
		return PW_ERR_PARSE;
	errno = 0;
	v = strtol(ps, &end, 10);
	if (*end != '\0' || errno != 0)
		return PW_ERR_PARSE;
	if (v < 1 || v > 65535)
		return PW_ERR_RANGE;
	{
		unsigned char tmp[16];
		if (inet_pton(AF_INET, addr, tmp) != 1 && inet_pton(AF_INET6, addr, tmp) != 1)
			return PW_ERR_PARSE;
	}
	*port = (uint16_t)v;
	return PW_OK;
}

/* Constant-time comparison of two strings of possibly different length:
 * both are hashed first so the time does not depend on where they differ. */
static bool
dash__secret_eq(const char *a, const char *b)
{
	unsigned char ha[32], hb[32];

	crypto_generichash(ha, sizeof ha, (const unsigned char *)a, strlen(a), NULL, 0);
	crypto_generichash(hb, sizeof hb, (const unsigned char *)b, strlen(b), NULL, 0);
	return sodium_memcmp(ha, hb, sizeof ha) == 0;
}

/* ---- request checks ------------------------------------------------------ */

static const char *
dash__hdr(struct MHD_Connection *c, const char *name)
{
	return MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
}

/* Host header names a loopback host (against DNS rebinding on loopback);
 * a non-loopback bind is protected by the token cookie instead. */
static bool
dash__host_ok(struct dash *d, const char *host)
{
	return host != NULL && (!d->loopback || dash_req_host_is_loopback(host));
}

static bool
dash__same_origin(struct MHD_Connection *c)
{
	return dash_req_same_origin(dash__hdr(c, "Host"), dash__hdr(c, "Origin"),
	                            dash__hdr(c, "Referer"));
}

/* The source (client address) of a request, for the failure budget. */
static void
dash__src(struct MHD_Connection *c, struct dash_src *src)
{
	const struct dash_conn *dc = dash_conn_of(c);
	const union MHD_ConnectionInfo *info;

	if (dc != NULL) {
		*src = dc->src;
		return;
	}
	info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	dash_auth_src(info ? info->client_addr : NULL, src);
}

/* Logs a source that just spent its failure budget (once per lockout). */
static void
dash__log_lockout(struct dash *d, const struct dash_src *src)
{
	char text[DASH_AUTH_SRC_TEXT];

	if (dash_auth_lockouts(d->auth) == d->auth_lockouts_logged)
		return;
	d->auth_lockouts_logged = dash_auth_lockouts(d->auth);
	dash_auth_src_text(src, text);
	log_warnx("dashboard: more than %d wrong credentials from %s within %d s; its wrong "
	          "ones now wait %d s for a 429 (lockouts so far: %llu)",
	          DASH_AUTH_FAILS, text, DASH_AUTH_WINDOW_MS / 1000, DASH_AUTH_DELAY_MS / 1000,
	          (unsigned long long)d->auth_lockouts_logged);
}

/* Counts a wrong credential's answer: a source within its budget gets
 * `status` now; one past it gets 429 after DASH_AUTH_DELAY_MS (the
 * connection is held, dash__on_request answers when it resumes). */
static enum MHD_Result
dash__auth_refuse(struct dash *d, struct MHD_Connection *c, struct dash_body *r,
                  enum dash_auth_result ar, const struct dash_src *src, unsigned status,
                  const char *msg)
{
	struct dash_conn *dc;

	d->counters[DASH_C_LOGIN_FAILED]++;
	if (ar != DASH_AUTH_LOCKED)
		return dash__reply_error(d, c, status, msg);
	dash__log_lockout(d, src);
	dc = dash_conn_of(c);
	if (dc == NULL)
		return dash__reply_error(d, c, 429, "too many wrong credentials; wait a minute");
	r->held_429 = true;
	dash_conn_hold(&d->conns, dc, DASH_AUTH_DELAY_MS);
	return MHD_YES;
}

static bool
dash__is_json(struct MHD_Connection *c)
{
	const char *ct = dash__hdr(c, "Content-Type");

	return ct != NULL && strncasecmp(ct, "application/json", 16) == 0 &&
	       (ct[16] == '\0' || ct[16] == ';');
}

/* ---- handlers --------------------------------------------------------------- */

static enum MHD_Result
dash__get_doc(struct dash *d, struct MHD_Connection *c, enum dash_doc doc)
{
	const char *before = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "before");
	json_t *j;

	if (before != NULL) {
		/* an older page of a paged document (orders, trades, statements) */
		uint64_t cursor;
		bool suffix;
		if (dash_req_seq(before, &cursor, &suffix) != PW_OK || suffix)
			return dash__reply_error(d, c, 400, "before must be a whole number");
		j = d->ops.get_older != NULL ? d->ops.get_older(d->ops.ctx, doc, cursor) : NULL;
		if (j == NULL)
			return dash__reply_error(d, c, 404, "this document has no older pages");
		if (!json_is_object(j)) {
			json_decref(j);
			return dash__reply_error(d, c, 500, "internal error");
		}
		return dash__reply_json(d, c, 200, j);
	}
	j = d->ops.get(d->ops.ctx, doc);

	if (j == NULL)
		return dash__reply_error(d, c, 503, "not available right now");
	if (!json_is_object(j)) {
		json_decref(j);
		return dash__reply_error(d, c, 500, "internal error");
	}
	if (doc == DASH_DOC_STATE) {
		/* The page reads its CSRF token here; same-origin policy keeps
		 * other sites from reading it. */
		json_object_set_new(j, "csrf", json_string(d->csrf));
		json_object_set_new(j, "auth", json_boolean(dash_auth_has_token(d->auth)));
	}
	return dash__reply_json(d, c, 200, j);
}

static enum MHD_Result
dash__action_result(struct dash *d, struct MHD_Connection *c, pw_err rc, const char *msg,
                    unsigned ok_status, json_t *extra)
{
	json_t *j;

	if (rc != PW_OK) {
		json_decref(extra);
		return dash__reply_error(d, c, dash__status_of(rc), msg[0] ? msg : pw_strerror(rc));
	}
	j = extra ? extra : json_object();
	json_object_set_new(j, "ok", json_true());
	json_object_set_new(j, "message", json_string(msg));
	return dash__reply_json(d, c, ok_status, j);
}

static enum MHD_Result
dash__post_order(struct dash *d, struct MHD_Connection *c, struct dash_body *r)
{
	char msg[DASH_MSG_MAX] = "";
	struct dash_bid bid;
	uint64_t seq = 0;
	pw_err rc;

	if (dash_req_bid(r->body, r->len, &bid, msg, sizeof msg) != PW_OK)
		return dash__reply_error(d, c, 400, msg);
	d->counters[DASH_C_BIDS]++;
	rc = d->ops.place_bid(d->ops.ctx, &bid, &seq, msg, sizeof msg);
	return dash__action_result(d, c, rc, msg, 201, json_pack("{s:I}", "seq", (json_int_t)seq));
}

static enum MHD_Result
dash__cancel(struct dash *d, struct MHD_Connection *c, uint64_t seq)
{
	char msg[DASH_MSG_MAX] = "";
	pw_err rc;

	d->counters[DASH_C_CANCELS]++;
	rc = d->ops.cancel(d->ops.ctx, seq, msg, sizeof msg);
	return dash__action_result(d, c, rc, msg, 200, NULL);
}

static enum MHD_Result
dash__put_settings(struct dash *d, struct MHD_Connection *c, struct dash_body *r)
{
	char msg[DASH_MSG_MAX] = "";
	struct dash_settings s;
	bool given;
	json_t *cur;
	pw_err rc;

	if (dash_req_settings(r->body, r->len, &s, &given, msg, sizeof msg) != PW_OK)
		return dash__reply_error(d, c, 400, msg);
	if (!given) {
		/* Keep the current switch when the request does not send it. */
		cur = d->ops.get(d->ops.ctx, DASH_DOC_SETTINGS);
		s.auto_sell = cur == NULL || json_is_true(json_object_get(cur, "auto_sell"));
		json_decref(cur);
	}
	rc = d->ops.update_settings(d->ops.ctx, &s, msg, sizeof msg);
	if (rc != PW_OK)
		return dash__action_result(d, c, rc, msg, 200, NULL);
	return dash__get_doc(d, c, DASH_DOC_SETTINGS);
}

/* A login counts against the source's failure budget like any credential;
 * the right token always gets a fresh random session. */
static enum MHD_Result
dash__login(struct dash *d, struct MHD_Connection *c, struct dash_body *r)
{
	char msg[DASH_MSG_MAX] = "", cookie[160], token[DASH_TOKEN_MAX + 1];
	char session[DASH_AUTH_SESSION_LEN + 1];
	enum dash_auth_result ar;
	enum MHD_Result ret;
	struct dash_src src;
	pw_err rc;

	if (!dash_auth_has_token(d->auth))
		return dash__reply_json(d, c, 200, json_pack("{s:b}", "ok", 1));
	rc = dash_req_login(r->body, r->len, token, sizeof token, msg, sizeof msg);
	if (rc != PW_OK && rc != PW_ERR_RANGE)
		return dash__reply_error(d, c, 400, msg);
	dash__src(c, &src);
	ar =
	    dash_auth_login(d->auth, &src, dash_conn_now_ms(), rc == PW_OK ? token : NULL, session);
	sodium_memzero(token, sizeof token);
	if (ar != DASH_AUTH_OK)
		return dash__auth_refuse(d, c, r, ar, &src, 403, "wrong token");
	snprintf(cookie, sizeof cookie, "%s=%s; Path=/; HttpOnly; SameSite=Strict", DASH_COOKIE,
	         session);
	ret = dash__reply_text(d, c, 200, "application/json", "{\"ok\":true}", 11, "Set-Cookie",
	                       cookie);
	sodium_memzero(session, sizeof session);
	sodium_memzero(cookie, sizeof cookie);
	return ret;
}

static enum MHD_Result
dash__metrics(struct dash *d, struct MHD_Connection *c)
{
	static const char *const names[DASH_C__COUNT] = {
		"requests", "errors_4xx",  "errors_5xx", "csrf_rejected", "login_failed",
		"events",   "sse_dropped", "bids",       "cancels",
	};
	const struct {
		const char *name;
		uint64_t v;
	} more[] = {
		{ "auth_lockouts", dash_auth_lockouts(d->auth) },
		{ "conn_timeouts", d->conns.timed_out },
		{ "conn_gone", d->conns.gone },
	};
	char *text = NULL;
	size_t len = 0, i;
	enum MHD_Result ret;
	FILE *f;

	f = open_memstream(&text, &len);
	if (f == NULL)
		return dash__reply_error(d, c, 500, "out of memory");
	for (i = 0; i < DASH_C__COUNT; i++)
		fprintf(f, "# TYPE peerwatt_dash_%s_total counter\npeerwatt_dash_%s_total %llu\n",
		        names[i], names[i], (unsigned long long)d->counters[i]);
	for (i = 0; i < sizeof more / sizeof more[0]; i++)
		fprintf(f, "# TYPE peerwatt_dash_%s_total counter\npeerwatt_dash_%s_total %llu\n",
		        more[i].name, more[i].name, (unsigned long long)more[i].v);
	fprintf(f, "# TYPE peerwatt_dash_sse_clients gauge\npeerwatt_dash_sse_clients %u\n",
	        d->nstreams);
	fprintf(f, "# TYPE peerwatt_dash_connections gauge\npeerwatt_dash_connections %u\n",
	        d->conns.count);
	fprintf(f, "# TYPE peerwatt_dash_sessions gauge\npeerwatt_dash_sessions %u\n",
	        dash_auth_sessions(d->auth, dash_conn_now_ms()));
	if (d->ops.metrics != NULL)
		d->ops.metrics(d->ops.ctx, f);
	if (fclose(f) != 0 || text == NULL) {
		free(text);
		return dash__reply_error(d, c, 500, "out of memory");
	}
	ret = dash__reply_text(d, c, 200, "text/plain; version=0.0.4; charset=utf-8", text, len,
	                       NULL, NULL);
	free(text);
	return ret;
}

static int
dash__doc_of(const char *name)
{
	int i;

	for (i = 0; i < DASH_DOC__COUNT; i++)
		if (strcmp(name, doc_names[i]) == 0)
			return i;
	return -1;
}

static enum MHD_Result
dash__route(struct dash *d, struct MHD_Connection *c, const char *url, const char *method,
            struct dash_body *r)
{
	bool is_get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
	bool is_post = strcmp(method, "POST") == 0;
	bool is_put = strcmp(method, "PUT") == 0;
	bool is_del = strcmp(method, "DELETE") == 0;
	enum dash_auth_result ar;
	struct dash_src src;
	const char *csrf;
	int doc;

	d->counters[DASH_C_REQUESTS]++;
	if (!dash__host_ok(d, dash__hdr(c, "Host")))
		return dash__reply_error(d, c, 421, "unexpected Host header");
	if (r->too_big)
		return dash__reply_error(d, c, 413, "request body too large");
	if (!is_get && !is_post && !is_put && !is_del)
		return dash__reply_error(d, c, 405, "method not allowed");

	if (strncmp(url, "/api/", 5) != 0 && strcmp(url, "/metrics") != 0) {
		if (!is_get)
			return dash__reply_error(d, c, 405, "method not allowed");
		return dash__reply_file(d, c, url);
	}
	if (!is_get) {
		/* Every state-changing request: same origin, JSON (no simple
		 * cross-site form can send it), and for all but login a CSRF
		 * token only our own page can have read. */
		if (!dash__same_origin(c)) {
			d->counters[DASH_C_CSRF_REJECTED]++;
			return dash__reply_error(d, c, 403, "cross-origin request refused");
		}
		if (r->len > 0 && !dash__is_json(c))
			return dash__reply_error(d, c, 415,
			                         "Content-Type must be application/json");
		if (strcmp(url, "/api/login") == 0 && is_post)
			return dash__login(d, c, r);
	}
	dash__src(c, &src);
	ar = dash_auth_check(d->auth, &src, dash_conn_now_ms(),
	                     MHD_lookup_connection_value(c, MHD_COOKIE_KIND, DASH_COOKIE),
	                     dash__hdr(c, "Authorization"));
	if (ar == DASH_AUTH_MISSING)
		return dash__reply_error(d, c, 401, "login required");
	if (ar != DASH_AUTH_OK)
		return dash__auth_refuse(d, c, r, ar, &src, 401, "login required");
	if (is_get) {
		if (strcmp(url, "/metrics") == 0)
			return dash__metrics(d, c);
		if (strcmp(url, "/api/events") == 0)
			return dash__open_stream(d, c);
		doc = dash__doc_of(url + 5);
		if (doc >= 0)
			return dash__get_doc(d, c, (enum dash_doc)doc);
		return dash__reply_error(d, c, 404, "no such API");
	}
	csrf = dash__hdr(c, DASH_CSRF_HEADER);
	if (csrf == NULL || !dash__secret_eq(csrf, d->csrf)) {
		d->counters[DASH_C_CSRF_REJECTED]++;
		return dash__reply_error(d, c, 403, "missing or wrong CSRF token; reload the page");
	}
	if (strcmp(url, "/api/orders") == 0) {
		if (!is_post)
			return dash__reply_error(d, c, 405, "method not allowed");
		return dash__post_order(d, c, r);
	}
	if (strncmp(url, "/api/orders/", 12) == 0) {
		uint64_t seq;
		bool suffix;
		if (dash_req_seq(url + 12, &seq, &suffix) != PW_OK)
			return dash__reply_error(d, c, 404, "no such order");
		if ((is_del && suffix) || (is_post && !suffix) || (!is_del && !is_post))
			return dash__reply_error(d, c, 405, "method not allowed");
		return dash__cancel(d, c, seq);
	}
	if (strcmp(url, "/api/settings") == 0) {
		if (!is_post && !is_put)
			return dash__reply_error(d, c, 405, "method not allowed");
		return dash__put_settings(d, c, r);
	}
	return dash__reply_error(d, c, 404, "no such API");
}

static enum MHD_Result
dash__on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                 const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
	struct dash *d = cls;
	struct dash_body *r = *con_cls;
	const char *cl;

	(void)version;
	if (r == NULL) {
		r = calloc(1, sizeof *r);
		if (r == NULL)
			return MHD_NO;
		*con_cls = r;
		dash_conn_request(dash_conn_of(c));
		/* Refuse a declared oversize body before reading it. */
		cl = dash__hdr(c, "Content-Length");
		if (cl != NULL) {
			char *end;
			unsigned long long v;
			errno = 0;
			v = strtoull(cl, &end, 10);
			if (errno != 0 || *end != '\0' || v > DASH_MAX_BODY)
				r->too_big = true;
		}
		return MHD_YES;
	}
	if (r->held_429) {
		/* resumed after DASH_AUTH_DELAY_MS */
		r->held_429 = false;
		return dash__reply_error(d, c, 429, "too many wrong credentials; wait a minute");
	}
	if (*upload_size > 0) {
		if (!r->too_big && r->len + *upload_size <= DASH_MAX_BODY) {
			char *nb = realloc(r->body, r->len + *upload_size + 1);
			if (nb == NULL)
				return MHD_NO;
			r->body = nb;
			memcpy(r->body + r->len, upload, *upload_size);
			r->len += *upload_size;
			r->body[r->len] = '\0';
		} else {
			r->too_big = true;
		}
		*upload_size = 0;
		return MHD_YES;
	}
	return dash__route(d, c, url, method, r);
}

static void
dash__on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                   enum MHD_RequestTerminationCode toe)
{
	struct dash_body *r = *con_cls;

	(void)cls;
	(void)toe;
	dash_conn_completed(dash_conn_of(c));
	if (r != NULL) {
		free(r->body);
		free(r);
		*con_cls = NULL;
	}
}

static void
dash__mhd_log(void *cls, const char *fmt, va_list ap)
{
	char line[256];

	(void)cls;
	vsnprintf(line, sizeof line, fmt, ap);
	line[strcspn(line, "\n")] = '\0';
	log_debug("dash: libmicrohttpd: %s", line);
}

/* ---- life cycle ------------------------------------------------------------ */

pw_err
dash_new(const struct dash_config *cfg, const struct dash_ops *ops, struct dash **out, char *msg,
         size_t msgcap)
{
	const union MHD_DaemonInfo *info;
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	const char *addr;
	unsigned flags = MHD_USE_EPOLL | MHD_USE_ITC | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
	struct stat st;
	struct dash *d;
	char idx[PATH_MAX], real[PATH_MAX];
	unsigned request_s, per_source;
	int n;

	if (cfg == NULL || ops == NULL || out == NULL || ops->get == NULL ||
	    ops->place_bid == NULL || ops->cancel == NULL || ops->update_settings == NULL)
		return PW_ERR_ARG;
	*out = NULL;
	if (sodium_init() < 0)
		return PW_ERR_CRYPTO;
	addr = cfg->bind_addr ? cfg->bind_addr : DASH_DEFAULT_ADDR;
	memset(&ss, 0, sizeof ss);
	if (inet_pton(AF_INET, addr, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(cfg->port);
	} else if (inet_pton(AF_INET6, addr, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(cfg->port);
		flags |= MHD_USE_IPv6;
	} else {
		dash__msg(msg, msgcap, "dashboard address '%s' is not an IP address", addr);
		return PW_ERR_CONFIG;
	}
	if (cfg->web_root == NULL || stat(cfg->web_root, &st) != 0 || !S_ISDIR(st.st_mode) ||
	    realpath(cfg->web_root, real) == NULL || strlen(real) >= PATH_MAX - DASH_REQ_PATH_MAX) {
		dash__msg(msg, msgcap, "dashboard web root '%s' is not a directory",
		          cfg->web_root ? cfg->web_root : "(none)");
		return PW_ERR_CONFIG;
	}
	n = snprintf(idx, sizeof idx, "%s/index.html", real);
	if (n < 0 || (size_t)n >= sizeof idx || access(idx, R_OK) != 0) {
		dash__msg(msg, msgcap, "dashboard web root '%s' has no index.html", cfg->web_root);
		return PW_ERR_CONFIG;
	}
	if (cfg->token != NULL && !dash_req_token_ok(cfg->token)) {
		dash__msg(msg, msgcap,
		          "dashboard token must be %d to %d printable characters without "
		          "spaces, ';' or ','",
		          DASH_TOKEN_MIN, DASH_TOKEN_MAX);
		return PW_ERR_CONFIG;
	}
	if (cfg->token == NULL && !dash_req_is_loopback(addr)) {
		dash__msg(msg, msgcap, "dashboard bound to non-loopback address %s needs a token",
		          addr);
		return PW_ERR_CONFIG;
	}
	d = calloc(1, sizeof *d);
	if (d == NULL)
		return PW_ERR_NOMEM;
	d->ops = *ops;
	snprintf(d->web_root, sizeof d->web_root, "%s", real);
	d->loopback = dash_req_is_loopback(addr);
	d->max_clients = cfg->max_clients ? cfg->max_clients : 32;
	d->auth = dash_auth_new();
	if (d->auth == NULL) {
		free(d);
		return PW_ERR_NOMEM;
	}
	(void)dash_auth_set_token(d->auth, cfg->token);
	request_s = cfg->request_s ? cfg->request_s : DASH_REQUEST_S;
	per_source = cfg->per_source ? cfg->per_source : DASH_PER_SOURCE;
	dash_conns_init(&d->conns, request_s);
	dash__random_hex(d->csrf);
	d->next_ping = dash__now() + DASH_PING_S;
	/* MHD's inactivity timeout backs up the deadline of dash_conn.c (which
	 * also ends trickling and gone peers); per-source and total limits keep
	 * one source from taking every connection. */
	d->mhd = MHD_start_daemon(
	    flags, cfg->port, NULL, NULL, dash__on_request, d, MHD_OPTION_SOCK_ADDR,
	    (struct sockaddr *)&ss, MHD_OPTION_NOTIFY_COMPLETED, dash__on_completed, d,
	    MHD_OPTION_NOTIFY_CONNECTION, dash_conns_notify, &d->conns, MHD_OPTION_CONNECTION_LIMIT,
	    (unsigned)(d->max_clients + DASH_CONN_MAX), MHD_OPTION_PER_IP_CONNECTION_LIMIT,
	    per_source, MHD_OPTION_CONNECTION_TIMEOUT, request_s, MHD_OPTION_EXTERNAL_LOGGER,
	    dash__mhd_log, d, MHD_OPTION_END);
	if (d->mhd == NULL) {
		dash__msg(msg, msgcap, "cannot listen on %s port %u (in use?)", addr,
		          (unsigned)cfg->port);
		dash_auth_destroy(&d->auth);
		free(d);
		return PW_ERR_HTTP;
	}
	info = MHD_get_daemon_info(d->mhd, MHD_DAEMON_INFO_BIND_PORT);
	d->port = info ? info->port : cfg->port;
	*out = d;
	return PW_OK;
}

void
dash_destroy(struct dash **dp)
{
	struct dash *d;
	struct dash_sse *s;
	int i;

	if (dp == NULL || *dp == NULL)
		return;
	d = *dp;
	/* MHD must not be stopped with suspended connections: end every
	 * stream and let MHD run until they are gone. */
	for (s = d->streams; s != NULL; s = s->next) {
		s->closing = true;
		dash__sse_wake(s);
	}
	(void)dash_conns_sweep(&d->conns, true); /* resumes held answers */
	for (i = 0; i < 50 && (d->streams != NULL || dash_conns_held(&d->conns) > 0); i++)
		MHD_run(d->mhd);
	MHD_stop_daemon(d->mhd);
	dash_auth_destroy(&d->auth);
	free(d);
	*dp = NULL;
}

int
dash_fd(const struct dash *d)
{
	const union MHD_DaemonInfo *info;

	if (d == NULL)
		return -1;
	info = MHD_get_daemon_info(d->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	return info ? info->epoll_fd : -1;
}

uint16_t
dash_port(const struct dash *d)
{
	return d ? d->port : 0;
}

long
dash_timeout_ms(struct dash *d)
{
	MHD_UNSIGNED_LONG_LONG t;
	long ping_ms, conn_ms;
	time_t now;

	if (d == NULL)
		return -1;
	if (d->resume_pending)
		return 0;
	now = dash__now();
	ping_ms = d->streams ? (long)((d->next_ping > now ? d->next_ping - now : 0) * 1000) : -1;
	conn_ms = dash_conns_timeout_ms(&d->conns);
	if (conn_ms >= 0 && (ping_ms < 0 || conn_ms < ping_ms))
		ping_ms = conn_ms;
	if (MHD_get_timeout(d->mhd, &t) == MHD_YES) {
		long mt = t > 60000 ? 60000 : (long)t;
		if (ping_ms < 0 || mt < ping_ms)
			return mt;
	}
	return ping_ms;
}

pw_err
dash_run(struct dash *d)
{
	struct dash_sse *s;
	time_t now;

	if (d == NULL)
		return PW_ERR_ARG;
	now = dash__now();
	if (now >= d->next_ping) {
		d->next_ping = now + DASH_PING_S;
		for (s = d->streams; s != NULL; s = s->next) {
			dash__sse_append(s, ": ping\n\n", 8);
			dash__sse_wake(s);
		}
	}
	d->resume_pending = false;
	if (MHD_run(d->mhd) != MHD_YES)
		return PW_ERR_HTTP;
	if (dash_conns_sweep(&d->conns, false))
		d->resume_pending = true;
	return PW_OK;
}

pw_err
dash_set_token(struct dash *d, const char *token, char *msg, size_t msgcap)
{
	if (d == NULL)
		return PW_ERR_ARG;
	if (token != NULL && token[0] == '\0')
		token = NULL;
	if (token != NULL && !dash_req_token_ok(token)) {
		dash__msg(msg, msgcap,
		          "dashboard token must be %d to %d printable characters without "
		          "spaces, ';' or ','",
		          DASH_TOKEN_MIN, DASH_TOKEN_MAX);
		return PW_ERR_CONFIG;
	}
	if (token == NULL && !d->loopback) {
		dash__msg(msg, msgcap, "a dashboard on a non-loopback address needs a token");
		return PW_ERR_CONFIG;
	}
	if (dash_auth_set_token(d->auth, token)) {
		log_info("dashboard: token %s; every session ended", token ? "changed" : "removed");
		dash__msg(msg, msgcap, "token changed");
	}
	return PW_OK;
}
