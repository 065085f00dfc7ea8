/*
 * test_dash.c: the dashboard's HTTP rules over real loopback HTTP: static
 * files and path safety, JSON API, CSRF and same-origin checks, token
 * login, body bounds, error documents, SSE delivery, /metrics.
 *
 * The server is single-threaded, so the tiny client below drives it: it
 * writes the request, then polls the client socket and dash_fd() together,
 * calling dash_run() until the reply is complete (Connection: close).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <zlib.h>

#include "agent/dash.h"
#include "agent/dash_req.h"

#define RESP_MAX 65536

struct fake {
	int bids, cancels, settings_updates;
	uint64_t last_before; /* cursor of the last older page asked for */
	struct dash_bid last_bid;
	uint64_t last_cancel;
	struct dash_settings settings;
	pw_err bid_rc;
};

struct env {
	char root[64];
	struct fake fake;
	struct dash *d;
	char csrf[80];
};

static json_t *
fake_get(void *ctx, enum dash_doc doc)
{
	struct fake *f = ctx;

	switch (doc) {
	case DASH_DOC_STATE:
		return json_pack("{s:i,s:i,s:i}", "pv_w", 1200, "house_w", 400, "grid_w", -800);
	case DASH_DOC_SETTINGS:
		return json_pack("{s:i,s:I,s:b}", "min_price_uper_kwh",
		                 f->settings.min_price_uper_kwh, "reserve_wh",
		                 (json_int_t)f->settings.reserve_wh, "auto_sell",
		                 f->settings.auto_sell);
	case DASH_DOC_ORDERS:
		return json_pack("{s:[]}", "orders");
	case DASH_DOC_MARKET:
		return NULL; /* "not available" path */
	default:
		return json_object();
	}
}

static pw_err
fake_bid(void *ctx, const struct dash_bid *bid, uint64_t *seq, char *msg, size_t cap)
{
	struct fake *f = ctx;

	f->bids++;
	f->last_bid = *bid;
	if (f->bid_rc != PW_OK) {
		snprintf(msg, cap, "gate closed for that interval");
		return f->bid_rc;
	}
	*seq = 41 + (uint64_t)f->bids;
	snprintf(msg, cap, "bid sent");
	return PW_OK;
}

static pw_err
fake_cancel(void *ctx, uint64_t seq, char *msg, size_t cap)
{
	struct fake *f = ctx;

	f->cancels++;
	f->last_cancel = seq;
	if (seq == 999) {
		snprintf(msg, cap, "no open order %llu", (unsigned long long)seq);
		return PW_ERR_NOTFOUND;
	}
	return PW_OK;
}

/* Older pages of orders only: {"orders":[],"before":CURSOR}. */
static json_t *
fake_older(void *ctx, enum dash_doc doc, uint64_t before)
{
	struct fake *f = ctx;

	if (doc != DASH_DOC_ORDERS)
		return NULL;
	f->last_before = before;
	return json_pack("{s:[],s:I}", "orders", "before", (json_int_t)before);
}

static pw_err
fake_settings(void *ctx, const struct dash_settings *s, char *msg, size_t cap)
{
	struct fake *f = ctx;

	(void)msg;
	(void)cap;
	f->settings_updates++;
	f->settings = *s;
	return PW_OK;
}

static void
fake_metrics(void *ctx, FILE *out)
{
	(void)ctx;
	fprintf(out, "peerwatt_agent_test_metric 7\n");
}

static void
write_file(const char *dir, const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int
env_start(struct env *e, const char *token)
{
	struct dash_ops ops = { 0 };
	struct dash_config cfg = { 0 };
	char msg[DASH_MSG_MAX] = "";
	pw_err rc;

	snprintf(e->root, sizeof e->root, "/tmp/test_dash.XXXXXX");
	if (mkdtemp(e->root) == NULL)
		return -1;
	write_file(e->root, "index.html", "<!doctype html><title>peerwatt</title>\n");
	write_file(e->root, "app.js", "console.log('hi');\n");
	write_file(e->root, ".secret.txt", "hidden\n");
	ops.ctx = &e->fake;
	ops.get = fake_get;
	ops.place_bid = fake_bid;
	ops.cancel = fake_cancel;
	ops.update_settings = fake_settings;
	ops.metrics = fake_metrics;
	ops.get_older = fake_older;
	cfg.bind_addr = "127.0.0.1";
	cfg.port = 0;
	cfg.web_root = e->root;
	cfg.token = token;
	rc = dash_new(&cfg, &ops, &e->d, msg, sizeof msg);
	if (rc != PW_OK) {
		fprintf(stderr, "dash_new: %s\n", msg);
		return -1;
	}
	return 0;
}

static void
env_stop(struct env *e)
{
	char cmd[128];

	dash_destroy(&e->d);
	assert_null(e->d);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", e->root);
	assert_int_equal(system(cmd), 0);
}

static int
connect_to(struct dash *d)
{
	struct sockaddr_in sin;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_port = htons(dash_port(d));
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof sin), 0);
	return fd;
}

/* Runs the server until fd is readable or `ms` passed; returns bytes read
 * into buf (0 on EOF, -1 on timeout). */
static ssize_t
pump_read(struct dash *d, int fd, char *buf, size_t cap, int ms)
{
	struct timespec t0, t1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		struct pollfd p[2] = { { fd, POLLIN, 0 }, { dash_fd(d), POLLIN, 0 } };
		long to = dash_timeout_ms(d);
		if (to < 0 || to > 50)
			to = 50;
		poll(p, 2, (int)to);
		assert_int_equal(dash_run(d), PW_OK);
		if (p[0].revents & (POLLIN | POLLHUP)) {
			ssize_t n = read(fd, buf, cap);
			if (n >= 0)
				return n;
		}
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if ((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000 > ms)
			return -1;
	}
}

/* One request; returns the status, the body into body (NUL-terminated). */
static int
http(struct env *e, const char *method, const char *path, const char *headers, const char *body,
     char *resp, size_t cap)
{
	char req[8192];
	size_t got = 0;
	int fd, n, status = -1;
	char *sep;

	n = snprintf(req, sizeof req,
	             "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nConnection: close\r\n%s"
	             "Content-Length: %zu\r\n\r\n%s",
	             method, path, (unsigned)dash_port(e->d), headers ? headers : "",
	             body ? strlen(body) : 0, body ? body : "");
	assert_true(n > 0 && (size_t)n < sizeof req);
	fd = connect_to(e->d);
	assert_int_equal(write(fd, req, (size_t)n), n);
	for (;;) {
		ssize_t r = pump_read(e->d, fd, resp + got, cap - 1 - got, 10000);
		assert_true(r >= 0);
		if (r == 0)
			break;
		got += (size_t)r;
		assert_true(got < cap - 1);
	}
	close(fd);
	resp[got] = '\0';
	sscanf(resp, "HTTP/1.1 %d", &status);
	sep = strstr(resp, "\r\n\r\n");
	if (sep != NULL)
		memmove(resp, sep + 4, strlen(sep + 4) + 1);
	return status;
}

/* Same, but keeps the headers in resp. */
static int
http_raw(struct env *e, const char *method, const char *path, const char *headers, const char *body,
         char *resp, size_t cap)
{
	char req[8192];
	size_t got = 0;
	int fd, n, status = -1;

	n = snprintf(req, sizeof req,
	             "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nConnection: close\r\n%s"
	             "Content-Length: %zu\r\n\r\n%s",
	             method, path, (unsigned)dash_port(e->d), headers ? headers : "",
	             body ? strlen(body) : 0, body ? body : "");
	fd = connect_to(e->d);
	assert_int_equal(write(fd, req, (size_t)n), n);
	for (;;) {
		ssize_t r = pump_read(e->d, fd, resp + got, cap - 1 - got, 10000);
		assert_true(r >= 0);
		if (r == 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	resp[got] = '\0';
	sscanf(resp, "HTTP/1.1 %d", &status);
	return status;
}

static void
fetch_csrf(struct env *e)
{
	static char resp[RESP_MAX];
	json_t *j;

	assert_int_equal(http(e, "GET", "/api/state", NULL, NULL, resp, sizeof resp), 200);
	j = json_loads(resp, 0, NULL);
	assert_non_null(j);
	assert_true(json_is_string(json_object_get(j, "csrf")));
	snprintf(e->csrf, sizeof e->csrf, "%s", json_string_value(json_object_get(j, "csrf")));
	assert_int_equal(strlen(e->csrf), 64);
	json_decref(j);
}

static char *
good_headers(struct env *e, char *out, size_t cap)
{
	snprintf(out, cap,
	         "Origin: http://127.0.0.1:%u\r\nContent-Type: application/json\r\n"
	         "X-CSRF-Token: %s\r\n",
	         (unsigned)dash_port(e->d), e->csrf);
	return out;
}

static int
setup(void **state)
{
	struct env *e = calloc(1, sizeof *e);

	if (e == NULL || env_start(e, NULL) != 0)
		return -1;
	*state = e;
	return 0;
}

static int
teardown(void **state)
{
	struct env *e = *state;

	env_stop(e);
	free(e);
	return 0;
}

static void
test_static_files(void **state)
{
	struct env *e = *state;
	static char resp[RESP_MAX];

	assert_int_equal(http_raw(e, "GET", "/", NULL, NULL, resp, sizeof resp), 200);
	assert_non_null(strstr(resp, "<title>peerwatt</title>"));
	assert_non_null(
	    strstr(resp, "Content-Security-Policy: default-src 'none'; script-src 'self'"));
	assert_non_null(strstr(resp, "X-Content-Type-Options: nosniff"));
	assert_non_null(strstr(resp, "text/html"));
	assert_int_equal(http_raw(e, "GET", "/app.js", NULL, NULL, resp, sizeof resp), 200);
	assert_non_null(strstr(resp, "text/javascript"));
	/* No way out of the web root, no dotfiles, no unknown types. */
	assert_int_equal(http(e, "GET", "/../dash.c", NULL, NULL, resp, sizeof resp), 404);
	assert_int_equal(http(e, "GET", "/%2e%2e/etc/passwd", NULL, NULL, resp, sizeof resp), 404);
	assert_int_equal(http(e, "GET", "/.secret.txt", NULL, NULL, resp, sizeof resp), 404);
	assert_int_equal(http(e, "GET", "/nothere.js", NULL, NULL, resp, sizeof resp), 404);
	assert_non_null(strstr(resp, "\"error\""));
	assert_int_equal(http(e, "POST", "/index.html", NULL, NULL, resp, sizeof resp), 405);
}

/* Text files go gzip-compressed to a client that accepts it (the page's
 * first load on a phone), and plain to one that does not; either way the
 * same bytes arrive. */
static void
test_static_gzip(void **state)
{
	struct env *e = *state;
	static char resp[RESP_MAX];
	unsigned char plain[256];
	const char *body, *cl;
	long len;
	uLongf plen = sizeof plain;
	z_stream z;

	assert_int_equal(http_raw(e, "GET", "/app.js", "Accept-Encoding: gzip, deflate, br\r\n",
	                          NULL, resp, sizeof resp),
	                 200);
	assert_non_null(strstr(resp, "Content-Encoding: gzip"));
	assert_non_null(strstr(resp, "Vary: Accept-Encoding"));
	assert_non_null(strstr(resp, "text/javascript"));
	cl = strstr(resp, "Content-Length: ");
	body = strstr(resp, "\r\n\r\n");
	assert_non_null(cl);
	assert_non_null(body);
	len = strtol(cl + 16, NULL, 10);
	assert_true(len > 10 && len < 200);
	memset(&z, 0, sizeof z);
	assert_int_equal(inflateInit2(&z, 15 + 16), Z_OK);
	z.next_in = (unsigned char *)(uintptr_t)(body + 4);
	z.avail_in = (uInt)len;
	z.next_out = plain;
	z.avail_out = (uInt)plen;
	assert_int_equal(inflate(&z, Z_FINISH), Z_STREAM_END);
	assert_int_equal(z.total_out, strlen("console.log('hi');\n"));
	assert_memory_equal(plain, "console.log('hi');\n", z.total_out);
	inflateEnd(&z);
	/* refused (q=0) or not asked: plain */
	assert_int_equal(http_raw(e, "GET", "/app.js", "Accept-Encoding: gzip;q=0, identity\r\n",
	                          NULL, resp, sizeof resp),
	                 200);
	assert_null(strstr(resp, "Content-Encoding"));
	assert_non_null(strstr(resp, "console.log('hi');"));
	assert_int_equal(http_raw(e, "GET", "/app.js", NULL, NULL, resp, sizeof resp), 200);
	assert_null(strstr(resp, "Content-Encoding"));
	assert_non_null(strstr(resp, "Vary: Accept-Encoding"));
	/* what counts as accepting it */
	assert_true(dash_req_accepts_gzip("gzip"));
	assert_true(dash_req_accepts_gzip("deflate, GZIP;q=0.5"));
	assert_true(dash_req_accepts_gzip("*"));
	assert_true(dash_req_accepts_gzip("br ,  gzip ; q=1"));
	assert_false(dash_req_accepts_gzip(NULL));
	assert_false(dash_req_accepts_gzip(""));
	assert_false(dash_req_accepts_gzip("identity"));
	assert_false(dash_req_accepts_gzip("gzip;q=0"));
	assert_false(dash_req_accepts_gzip("gzip; q=0.000, br"));
	assert_false(dash_req_accepts_gzip("x-gzip2"));
}

static void
test_get_documents(void **state)
{
	struct env *e = *state;
	static char resp[RESP_MAX];
	json_t *j;

	assert_int_equal(http(e, "GET", "/api/state", NULL, NULL, resp, sizeof resp), 200);
	j = json_loads(resp, 0, NULL);
	assert_non_null(j);
	assert_int_equal(json_integer_value(json_object_get(j, "pv_w")), 1200);
	json_decref(j);
	assert_int_equal(http(e, "GET", "/api/orders", NULL, NULL, resp, sizeof resp), 200);
	assert_string_equal(resp, "{\"orders\":[]}");
	assert_int_equal(http(e, "GET", "/api/market", NULL, NULL, resp, sizeof resp), 503);
	assert_non_null(strstr(resp, "\"error\":"));
	assert_int_equal(http(e, "GET", "/api/nothing", NULL, NULL, resp, sizeof resp), 404);
	assert_int_equal(http(e, "PATCH", "/api/orders", NULL, NULL, resp, sizeof resp), 405);
	/* the Today document is one more name */
	assert_int_equal(http(e, "GET", "/api/today", NULL, NULL, resp, sizeof resp), 200);
	assert_string_equal(dash_doc_name(DASH_DOC_TODAY), "today");

	/* older pages: the cursor reaches the agent checked, once */
	assert_int_equal(http(e, "GET", "/api/orders?before=1234", NULL, NULL, resp, sizeof resp),
	                 200);
	assert_string_equal(resp, "{\"orders\":[],\"before\":1234}");
	assert_int_equal(e->fake.last_before, 1234);
	static const char *const bad[] = { "/api/orders?before=", "/api/orders?before=-1",
		                           "/api/orders?before=12x", "/api/orders?before=1/cancel",
		                           "/api/orders?before=99999999999999999999" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_int_equal(http(e, "GET", bad[i], NULL, NULL, resp, sizeof resp), 400);
		assert_non_null(strstr(resp, "before must be a whole number"));
	}
	assert_int_equal(e->fake.last_before, 1234);
	/* a document without pages */
	assert_int_equal(http(e, "GET", "/api/trades?before=5", NULL, NULL, resp, sizeof resp),
	                 404);
}

static void
test_host_header_must_be_loopback(void **state)
{
	struct env *e = *state;
	static char resp[RESP_MAX];
	char req[256];
	int fd, n, status = 0;
	size_t got = 0;

	/* A DNS-rebinding page would send its own host name. */
	n = snprintf(
	    req, sizeof req,
	    "GET /api/state HTTP/1.1\r\nHost: evil.example:%u\r\nConnection: close\r\n\r\n",
	    (unsigned)dash_port(e->d));
	fd = connect_to(e->d);
	assert_int_equal(write(fd, req, (size_t)n), n);
	for (;;) {
		ssize_t r = pump_read(e->d, fd, resp + got, sizeof resp - 1 - got, 10000);
		assert_true(r >= 0);
		if (r == 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	resp[got] = '\0';
	sscanf(resp, "HTTP/1.1 %d", &status);
	assert_int_equal(status, 421);
	assert_null(strstr(resp, "csrf"));
}

static void
test_bid_needs_csrf_and_origin(void **state)
{
	struct env *e = *state;
	static char resp[RESP_MAX];
	char hdr[512];
	const char *body = "{\"qty_wh\":500,\"max_price_uper_kwh\":250000}";

	fetch_csrf(e);
	/* No CSRF token. */
	snprintf(hdr, sizeof hdr,
	         "Origin: http://127.0.0.1:%u\r\nContent-Type: application/json\r\n",
	         (unsigned)dash_port(e->d));
	assert_int_equal(http(e, "POST", "/api/orders", hdr, body, resp, sizeof resp), 403);
	assert_non_null(strstr(resp, "CSRF"));
	/* Wrong CSRF token. */
	snprintf(hdr, sizeof hdr,
	         "Origin: http://127.0.0.1:%u\r\nContent-Type: application/json\r\n"
	         "X-CSRF-Token: %064d\r\n",
	         (unsigned)dash_port(e->d), 0);
	assert_int_equal(http(e, "POST", "/api/orders", hdr, body, resp, sizeof resp), 403);
	/* Right token, foreign origin. */
	snprintf(hdr, sizeof hdr,
	         "Origin: http://evil.example\r\nContent-Type: application/json\r\n"
	         "X-CSRF-Token: %s\r\n",
	         e->csrf);
	assert_int_equal(http(e, "POST", "/api/orders", hdr, body, resp, sizeof resp), 403);
	/* Right token, no Origin and no Referer. */
	snprintf(hdr, sizeof hdr, "Content-Type: application/json\r\nX-CSRF-Token: %s\r\n",
	         e->csrf);
	assert_int_equal(http(e, "POST", "/api/orders", hdr, body, resp, sizeof resp), 403);
	/* Right token, form content type (what a cross-site form could send). */
	snprintf(hdr, sizeof hdr,
	         "Origin: http://127.0.0.1:%u\r\nContent-Type: text/plain\r\nX-CSRF-Token: %s\r\n",
	         (unsigned)dash_port(e->d), e->csrf);
	assert_int_equal(http(e, "POST", "/api/orders", hdr, body, resp, sizeof resp), 415);
	assert_int_equal(e->fake.bids, 0);
	/* Same-origin Referer instead of Origin is accepted. */
	snprintf(hdr, sizeof hdr,
	         "Referer: http://127.0.0.1:%u/\r\nContent-Type: application/json\r\n"
	         "X-CSRF-Token: %s\r\n",
	         (unsigned)dash_port(e->d), e->csrf);
	assert_int_equal(http(e, "POST", "/api/orders", hdr, body, resp, sizeof resp), 201);
	assert_int_equal(e->fake.bids, 1);
	assert_int_equal(e->fake.last_bid.qty_wh, 500);
	assert_int_equal(e->fake.last_bid.max_price_uper_kwh, 250000);
	assert_int_equal(e->fake.last_bid.interval, 0);
	assert_int_equal(e->fake.last_bid.intervals, 1);
	assert_non_null(strstr(resp, "\"seq\":42"));
}

static void
test_bid_validation(void **state)
{
	struct env *e = *state;
	static char resp[RESP_MAX];
	char hdr[512];
	static const struct {
		const char *body;
		int status;
		const char *words;
	} cases[] = {
		{ "{\"max_price_uper_kwh\":250000}", 400, "qty_wh is missing" },
		{ "{\"qty_wh\":0,\"max_price_uper_kwh\":250000}", 400, "qty_wh must be between" },
		{ "{\"qty_wh\":-5,\"max_price_uper_kwh\":250000}", 400, "qty_wh must be between" },
		{ "{\"qty_wh\":1.5,\"max_price_uper_kwh\":250000}", 400, "whole number" },
		{ "{\"qty_wh\":\"10\",\"max_price_uper_kwh\":250000}", 400, "whole number" },
		{ "{\"qty_wh\":10,\"max_price_uper_kwh\":100000001}", 400, "max_price_uper_kwh" },
		{ "{\"qty_wh\":10,\"max_price_uper_kwh\":1,\"intervals\":97}", 400, "intervals" },
		{ "{\"qty_wh\":10,\"max_price_uper_kwh\":1,\"qty_wh\":11}", 400, "malformed JSON" },
		{ "[1,2]", 400, "must be an object" },
		{ "{\"qty_wh\":", 400, "malformed JSON" },
	};
	size_t i;

	fetch_csrf(e);
	good_headers(e, hdr, sizeof hdr);
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int st = http(e, "POST", "/api/orders", hdr, cases[i].body, resp, sizeof resp);
		if (st != cases[i].status || strstr(resp, cases[i].words) == NULL)
			fail_msg("case %zu: %d %s", i, st, resp);
	}
	assert_int_equal(e->fake.bids, 0);
	/* A standing bid for 4 intervals from interval 1234. */
	assert_int_equal(http(e, "POST", "/api/orders", hdr,
	                      "{\"qty_wh\":700,\"max_price_uper_kwh\":300000,\"interval\":1234,"
	                      "\"intervals\":4}",
	                      resp, sizeof resp),
	                 201);
	assert_int_equal(e->fake.last_bid.interval, 1234);
	assert_int_equal(e->fake.last_bid.intervals, 4);
	/* The agent's refusal comes back with its message and status. */
	e->fake.bid_rc = PW_ERR_STATE;
	assert_int_equal(http(e, "POST", "/api/orders", hdr,
	                      "{\"qty_wh\":700,\"max_price_uper_kwh\":300000}", resp, sizeof resp),
	                 409);
	assert_string_equal(resp, "{\"error\":\"gate closed for that interval\"}");
	e->fake.bid_rc = PW_OK;
}

static void
test_body_bound(void **state)
{
	struct env *e = *state;
	static char resp[RESP_MAX];
	static char big[DASH_MAX_BODY + 100];
	char hdr[512];

	fetch_csrf(e);
	good_headers(e, hdr, sizeof hdr);
	memset(big, ' ', sizeof big - 1);
	big[0] = '{';
	big[sizeof big - 2] = '}';
	big[sizeof big - 1] = '\0';
	assert_int_equal(http(e, "POST", "/api/orders", hdr, big, resp, sizeof resp), 413);
	assert_non_null(strstr(resp, "too large"));
	assert_int_equal(e->fake.bids, 0);
}

static void
test_cancel_and_settings(void **state)
{
	struct env *e = *state;
	static char resp[RESP_MAX];
	char hdr[512];
	json_t *j;

	fetch_csrf(e);
	good_headers(e, hdr, sizeof hdr);
	assert_int_equal(http(e, "DELETE", "/api/orders/17", hdr, NULL, resp, sizeof resp), 200);
	assert_int_equal(e->fake.last_cancel, 17);
	assert_int_equal(http(e, "POST", "/api/orders/18/cancel", hdr, NULL, resp, sizeof resp),
	                 200);
	assert_int_equal(e->fake.last_cancel, 18);
	assert_int_equal(http(e, "DELETE", "/api/orders/999", hdr, NULL, resp, sizeof resp), 404);
	assert_non_null(strstr(resp, "no open order 999"));
	assert_int_equal(http(e, "DELETE", "/api/orders/12x", hdr, NULL, resp, sizeof resp), 404);
	assert_int_equal(http(e, "DELETE", "/api/orders/-1", hdr, NULL, resp, sizeof resp), 404);
	assert_int_equal(e->fake.cancels, 3);
	/* Without CSRF nothing is cancelled. */
	assert_int_equal(http(e, "DELETE", "/api/orders/5", NULL, NULL, resp, sizeof resp), 403);
	assert_int_equal(e->fake.cancels, 3);

	e->fake.settings.auto_sell = true;
	assert_int_equal(http(e, "PUT", "/api/settings", hdr,
	                      "{\"min_price_uper_kwh\":120000,\"reserve_wh\":300}", resp,
	                      sizeof resp),
	                 200);
	assert_int_equal(e->fake.settings.min_price_uper_kwh, 120000);
	assert_int_equal(e->fake.settings.reserve_wh, 300);
	assert_true(e->fake.settings.auto_sell); /* kept when not sent */
	j = json_loads(resp, 0, NULL);
	assert_non_null(j);
	assert_int_equal(json_integer_value(json_object_get(j, "reserve_wh")), 300);
	json_decref(j);
	assert_int_equal(http(e, "POST", "/api/settings", hdr,
	                      "{\"min_price_uper_kwh\":1,\"reserve_wh\":0,\"auto_sell\":false}",
	                      resp, sizeof resp),
	                 200);
	assert_false(e->fake.settings.auto_sell);
	assert_int_equal(http(e, "PUT", "/api/settings", hdr,
	                      "{\"min_price_uper_kwh\":1,\"reserve_wh\":0,\"auto_sell\":1}", resp,
	                      sizeof resp),
	                 400);
	assert_int_equal(e->fake.settings_updates, 2);
}

static void
test_sse_delivers_events(void **state)
{
	struct env *e = *state;
	static char buf[RESP_MAX];
	char req[256];
	size_t got = 0;
	json_t *doc;
	int fd, n;

	n = snprintf(req, sizeof req, "GET /api/events HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n\r\n",
	             (unsigned)dash_port(e->d));
	fd = connect_to(e->d);
	assert_int_equal(write(fd, req, (size_t)n), n);
	while (strstr(buf, ": peerwatt") == NULL) {
		ssize_t r = pump_read(e->d, fd, buf + got, sizeof buf - 1 - got, 10000);
		assert_true(r > 0);
		got += (size_t)r;
		buf[got] = '\0';
	}
	assert_non_null(strstr(buf, "text/event-stream"));
	assert_int_equal(dash_clients(e->d), 1);
	/* Idle now (suspended); a publish must wake it. */
	assert_int_equal(pump_read(e->d, fd, buf + got, sizeof buf - 1 - got, 200), -1);
	doc = json_pack("{s:i}", "pv_w", 4321);
	assert_int_equal(dash_publish(e->d, "state", doc), PW_OK);
	json_decref(doc);
	assert_int_equal(dash_notify(e->d, DASH_DOC_ORDERS), PW_OK);
	while (strstr(buf, "event: orders") == NULL) {
		ssize_t r = pump_read(e->d, fd, buf + got, sizeof buf - 1 - got, 10000);
		assert_true(r > 0);
		got += (size_t)r;
		buf[got] = '\0';
	}
	assert_non_null(strstr(buf, "event: state\nid: 1\ndata: {\"pv_w\":4321}\n\n"));
	assert_non_null(strstr(buf, "data: {\"orders\":[]}\n\n"));
	assert_int_equal(dash_publish(e->d, "Bad Name", doc), PW_ERR_ARG);
	close(fd);
	/* The closed stream is noticed at the latest by the next write. */
	doc = json_pack("{s:i}", "pv_w", 1);
	for (n = 0; n < 200 && dash_clients(e->d) > 0; n++) {
		assert_int_equal(dash_publish(e->d, "state", doc), PW_OK);
		assert_int_equal(dash_run(e->d), PW_OK);
		usleep(5000);
	}
	json_decref(doc);
	assert_int_equal(dash_clients(e->d), 0);
}

static void
test_metrics(void **state)
{
	struct env *e = *state;
	static char resp[RESP_MAX];

	assert_int_equal(http_raw(e, "GET", "/metrics", NULL, NULL, resp, sizeof resp), 200);
	assert_non_null(strstr(resp, "text/plain; version=0.0.4"));
	assert_non_null(strstr(resp, "peerwatt_dash_requests_total "));
	assert_non_null(strstr(resp, "peerwatt_agent_test_metric 7\n"));
}

static void
test_token_login(void **state)
{
	struct env e;
	static char resp[RESP_MAX];
	char hdr[512], cookie[200], body[200];
	const char *token = "correct-horse-battery-staple";
	char *p, *end;

	(void)state;
	memset(&e, 0, sizeof e);
	assert_int_equal(env_start(&e, token), 0);
	/* The page itself loads; the API does not. */
	assert_int_equal(http(&e, "GET", "/", NULL, NULL, resp, sizeof resp), 200);
	assert_int_equal(http(&e, "GET", "/api/state", NULL, NULL, resp, sizeof resp), 401);
	assert_int_equal(http(&e, "GET", "/api/events", NULL, NULL, resp, sizeof resp), 401);
	assert_int_equal(http(&e, "GET", "/metrics", NULL, NULL, resp, sizeof resp), 401);
	snprintf(hdr, sizeof hdr,
	         "Origin: http://127.0.0.1:%u\r\nContent-Type: application/json\r\n",
	         (unsigned)dash_port(e.d));
	assert_int_equal(http(&e, "POST", "/api/login", hdr,
	                      "{\"token\":\"wrong-token-wrong-token\"}", resp, sizeof resp),
	                 403);
	snprintf(body, sizeof body, "{\"token\":\"%s\"}", token);
	assert_int_equal(http_raw(&e, "POST", "/api/login", hdr, body, resp, sizeof resp), 200);
	p = strstr(resp, "Set-Cookie: pw_session=");
	assert_non_null(p);
	assert_non_null(strstr(p, "HttpOnly"));
	assert_non_null(strstr(p, "SameSite=Strict"));
	p += strlen("Set-Cookie: ");
	end = strchr(p, ';');
	assert_non_null(end);
	snprintf(cookie, sizeof cookie, "Cookie: %.*s\r\n", (int)(end - p), p);
	assert_int_equal(http(&e, "GET", "/api/state", cookie, NULL, resp, sizeof resp), 200);
	assert_non_null(strstr(resp, "\"csrf\""));
	/* A wrong cookie is refused; a bearer token works for scrapers. */
	assert_int_equal(
	    http(&e, "GET", "/api/state", "Cookie: pw_session=00\r\n", NULL, resp, sizeof resp),
	    401);
	snprintf(hdr, sizeof hdr, "Authorization: Bearer %s\r\n", token);
	assert_int_equal(http(&e, "GET", "/metrics", hdr, NULL, resp, sizeof resp), 200);
	env_stop(&e);
}

static void
test_config_errors(void **state)
{
	struct env *e = *state;
	struct dash_ops ops = { 0 };
	struct dash_config cfg = { 0 };
	struct dash *d = NULL;
	char msg[DASH_MSG_MAX] = "";

	ops.get = fake_get;
	ops.place_bid = fake_bid;
	ops.cancel = fake_cancel;
	ops.update_settings = fake_settings;
	cfg.web_root = e->root;
	cfg.bind_addr = "0.0.0.0";
	assert_int_equal(dash_new(&cfg, &ops, &d, msg, sizeof msg), PW_ERR_CONFIG);
	assert_non_null(strstr(msg, "needs a token"));
	cfg.token = "short";
	assert_int_equal(dash_new(&cfg, &ops, &d, msg, sizeof msg), PW_ERR_CONFIG);
	assert_non_null(strstr(msg, "token"));
	cfg.token = NULL;
	cfg.bind_addr = "localhost";
	assert_int_equal(dash_new(&cfg, &ops, &d, msg, sizeof msg), PW_ERR_CONFIG);
	cfg.bind_addr = "127.0.0.1";
	cfg.web_root = "/nonexistent/web";
	assert_int_equal(dash_new(&cfg, &ops, &d, msg, sizeof msg), PW_ERR_CONFIG);
	assert_non_null(strstr(msg, "/nonexistent/web"));
	/* The port is taken. */
	cfg.web_root = e->root;
	cfg.port = dash_port(e->d);
	assert_int_equal(dash_new(&cfg, &ops, &d, msg, sizeof msg), PW_ERR_HTTP);
	assert_null(d);
}

static void
test_listen_parse(void **state)
{
	static const struct {
		const char *text;
		pw_err rc;
		const char *addr;
		unsigned port;
	} cases[] = {
		{ "127.0.0.1:8080", PW_OK, "127.0.0.1", 8080 },
		{ "8081", PW_OK, "127.0.0.1", 8081 },
		{ "[::1]:9000", PW_OK, "::1", 9000 },
		{ "0.0.0.0:80", PW_OK, "0.0.0.0", 80 },
		{ "127.0.0.1:0", PW_ERR_RANGE, NULL, 0 },
		{ "127.0.0.1:65536", PW_ERR_RANGE, NULL, 0 },
		{ "127.0.0.1:80x", PW_ERR_PARSE, NULL, 0 },
		{ "localhost:80", PW_ERR_PARSE, NULL, 0 },
		{ "::1:80", PW_ERR_PARSE, NULL, 0 },
		{ ":80", PW_ERR_PARSE, NULL, 0 },
		{ "", PW_ERR_PARSE, NULL, 0 },
		{ "127.0.0.1:-1", PW_ERR_PARSE, NULL, 0 },
	};
	char addr[64];
	uint16_t port;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		pw_err rc = dash_listen_parse(cases[i].text, addr, sizeof addr, &port);
		if (rc != cases[i].rc)
			fail_msg("case %zu (%s): %d", i, cases[i].text, rc);
		if (rc == PW_OK) {
			assert_string_equal(addr, cases[i].addr);
			assert_int_equal(port, cases[i].port);
		}
	}
	assert_string_equal(dash_doc_name(DASH_DOC_STATEMENTS), "statements");
	assert_null(dash_doc_name(DASH_DOC__COUNT));
}

static void
test_req_tables(void **state)
{
	static const struct {
		const char *url;
		bool ok;
	} paths[] = {
		{ "/index.html", true },       { "/vendor/uplot/uPlot.min.css", true },
		{ "/app.js", true },           { "/", false },
		{ "/../x.js", false },         { "/a/../x.js", false },
		{ "/.git/config.txt", false }, { "/a//b.js", false },
		{ "/a/.b.js", false },         { "/a.js/", false },
		{ "/a.exe", false },           { "/a%2e.js", false },
		{ "/a b.js", false },          { "relative.js", false },
		{ "/noext", false },           { "/dir.js/x", false },
	};
	static const struct {
		const char *host;
		bool ok;
	} hosts[] = {
		{ "127.0.0.1:8080", true },
		{ "127.0.0.1", true },
		{ "localhost:8080", true },
		{ "LOCALHOST", true },
		{ "[::1]:8080", true },
		{ "127.9.9.9:1", true },
		{ "evil.example:8080", false },
		{ "127.0.0.1.evil.example", false },
		{ "localhost.evil.example:80", false },
		{ "127.0.0.1:80x", false },
		{ "127.0.0.1:", false },
		{ "[::1]x", false },
		{ "[::1", false },
		{ "10.0.0.1:8080", false },
		{ "", false },
	};
	static const struct {
		const char *host, *origin, *referer;
		bool ok;
	} origins[] = {
		{ "127.0.0.1:80", "http://127.0.0.1:80", NULL, true },
		{ "127.0.0.1:80", "https://127.0.0.1:80", NULL, true },
		{ "127.0.0.1:80", "http://127.0.0.1:81", NULL, false },
		{ "127.0.0.1:80", "http://127.0.0.1:80.evil", NULL, false },
		{ "127.0.0.1:80", "null", "http://127.0.0.1:80/", false },
		{ "127.0.0.1:80", NULL, "http://127.0.0.1:80/x", true },
		{ "127.0.0.1:80", NULL, "http://127.0.0.1:80", true },
		{ "127.0.0.1:80", NULL, "http://127.0.0.1:8080/", false },
		{ "127.0.0.1:80", NULL, "http://127.0.0.1:80@evil/", false },
		{ "127.0.0.1:80", NULL, NULL, false },
		{ "evil/x", NULL, "http://evil/x/", false },
		{ NULL, "http://127.0.0.1:80", NULL, false },
	};
	static const struct {
		const char *text;
		pw_err rc;
		uint64_t seq;
		bool suffix;
	} seqs[] = {
		{ "17", PW_OK, 17, false },
		{ "0", PW_OK, 0, false },
		{ "18/cancel", PW_OK, 18, true },
		{ "9223372036854775807", PW_OK, INT64_MAX, false },
		{ "9223372036854775808", PW_ERR_RANGE, 0, false },
		{ "99999999999999999999999", PW_ERR_RANGE, 0, false },
		{ "-1", PW_ERR_PARSE, 0, false },
		{ "+1", PW_ERR_PARSE, 0, false },
		{ " 1", PW_ERR_PARSE, 0, false },
		{ "1x", PW_ERR_PARSE, 0, false },
		{ "1/cancelx", PW_ERR_PARSE, 0, false },
		{ "", PW_ERR_PARSE, 0, false },
	};
	char tok[200], msg[DASH_MSG_MAX];
	uint64_t seq;
	bool suffix;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof paths / sizeof paths[0]; i++)
		if (dash_req_path_ok(paths[i].url) != paths[i].ok)
			fail_msg("path %s", paths[i].url);
	for (i = 0; i < sizeof hosts / sizeof hosts[0]; i++)
		if (dash_req_host_is_loopback(hosts[i].host) != hosts[i].ok)
			fail_msg("host %s", hosts[i].host);
	for (i = 0; i < sizeof origins / sizeof origins[0]; i++)
		if (dash_req_same_origin(origins[i].host, origins[i].origin, origins[i].referer) !=
		    origins[i].ok)
			fail_msg("origin case %zu", i);
	for (i = 0; i < sizeof seqs / sizeof seqs[0]; i++) {
		pw_err rc = dash_req_seq(seqs[i].text, &seq, &suffix);
		if (rc != seqs[i].rc)
			fail_msg("seq %s: %d", seqs[i].text, rc);
		if (rc == PW_OK && (seq != seqs[i].seq || suffix != seqs[i].suffix))
			fail_msg("seq %s parsed wrong", seqs[i].text);
	}
	assert_true(dash_req_token_ok("0123456789abcdef"));
	assert_false(dash_req_token_ok("0123456789abcde"));
	assert_false(dash_req_token_ok("0123456789 abcdef"));
	assert_false(dash_req_token_ok("0123456789;abcdef"));
	/* Login body: jansson refuses an embedded NUL; a too long token can never
	 * match and counts as a wrong one. */
	{
		const char *nul = "{\"token\":\"abc\\u0000def\"}";
		char big[400];
		assert_int_equal(dash_req_login(nul, strlen(nul), tok, sizeof tok, msg, sizeof msg),
		                 PW_ERR_PARSE);
		snprintf(big, sizeof big, "{\"token\":\"%0300d\"}", 1);
		assert_int_equal(dash_req_login(big, strlen(big), tok, sizeof tok, msg, sizeof msg),
		                 PW_ERR_RANGE);
	}
	assert_int_equal(dash_req_login("{\"token\":5}", 11, tok, sizeof tok, msg, sizeof msg),
	                 PW_ERR_ARG);
	assert_int_equal(
	    dash_req_login("{\"token\":\"abc\"}", 15, tok, sizeof tok, msg, sizeof msg), PW_OK);
	assert_string_equal(tok, "abc");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_static_gzip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_static_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_get_documents, setup, teardown),
		cmocka_unit_test_setup_teardown(test_host_header_must_be_loopback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bid_needs_csrf_and_origin, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bid_validation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_body_bound, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cancel_and_settings, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sse_delivers_events, setup, teardown),
		cmocka_unit_test_setup_teardown(test_metrics, setup, teardown),
		cmocka_unit_test(test_token_login),
		cmocka_unit_test_setup_teardown(test_config_errors, setup, teardown),
		cmocka_unit_test(test_listen_parse),
		cmocka_unit_test(test_req_tables),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
