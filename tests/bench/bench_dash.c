/*
 * bench_dash: the dashboard under load.
 *
 *   api_p99_ms  99th percentile latency of JSON API GETs (state, market,
 *               orders, trades, statements) from BENCH_CLIENTS keep-alive
 *               clients at once, while BENCH_STREAMS SSE streams receive a
 *               state event every 100 ms; PW_BENCH_SECONDS long (default 5).
 *   api_rps     requests per second served meanwhile (no target).
 *   page_kb     all bytes of the first load of the page: index.html, every
 *               script and stylesheet it names, and the six API documents
 *               the page fetches at start (bodies and headers), asked with
 *               "Accept-Encoding: gzip" as every browser asks.
 *
 * The server runs in the main thread exactly as in the agent (one poll loop
 * around dash_fd/dash_run); the clients are threads with blocking sockets.
 * The documents have realistic sizes: 48 prices, 4 depth intervals, 60
 * orders, 60 trades, 60 statements.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "agent/dash.h"

#define BENCH_CLIENTS     8
#define BENCH_STREAMS     4
#define BENCH_MAX_SAMPLES 400000

struct shared {
	uint16_t port;
	atomic_int stop;
	double *lat_ms;
	atomic_long nlat;
	atomic_long errors;
};

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* ---- fake agent -------------------------------------------------------------- */

static json_t *
fake_get(void *ctx, enum dash_doc doc)
{
	json_t *a;
	int i;

	(void)ctx;
	switch (doc) {
	case DASH_DOC_STATE:
		return json_pack("{s:s,s:i,s:i,s:i,s:i,s:i,s:i,s:i,s:i,s:{s:b,s:s},s:{s:b,s:s}}",
		                 "household", "Bench household", "now", 1800000000, "interval",
		                 2000000, "interval_s", 900, "pv_w", 3120, "house_w", 640, "grid_w",
		                 -2480, "surplus_w", 2480, "forecast_wh", 610, "exchange",
		                 "reachable", 1, "detail", "", "inverter", "reachable", 1, "detail",
		                 "");
	case DASH_DOC_MARKET: {
		json_t *prices = json_array(), *depth = json_array();
		for (i = 0; i < 48; i++)
			json_array_append_new(
			    prices, json_pack("{s:i,s:i,s:i,s:i}", "interval", 1999950 + i, "start",
			                      (1999950 + i) * 900, "price_uper_kwh",
			                      150000 + i * 1000, "volume_wh", 4000));
		for (i = 0; i < 4; i++)
			json_array_append_new(
			    depth, json_pack("{s:i,s:i,s:i,s:[{s:i,s:i},{s:i,s:i}],s:[{s:i,s:i}]}",
			                     "interval", 2000001 + i, "start", (2000001 + i) * 900,
			                     "gate_close", (2000001 + i) * 900 - 60, "bids",
			                     "price_uper_kwh", 240000, "qty_wh", 1200,
			                     "price_uper_kwh", 180000, "qty_wh", 800, "asks",
			                     "price_uper_kwh", 150000, "qty_wh", 1500));
		return json_pack("{s:s,s:i,s:i,s:i,s:o,s:o}", "currency", "EUR", "retail_uper_kwh",
		                 320000, "feed_in_uper_kwh", 80000, "next_interval", 2000001,
		                 "prices", prices, "depth", depth);
	}
	case DASH_DOC_ORDERS:
		a = json_array();
		for (i = 0; i < 60; i++)
			json_array_append_new(
			    a,
			    json_pack("{s:i,s:s,s:i,s:i,s:i,s:s,s:b,s:s,s:b}", "seq", 1000 + i,
			              "side", i % 2 ? "buy" : "sell", "interval", 1999950 + i,
			              "qty_wh", 500, "price_uper_kwh", 200000, "status", "filled",
			              "auto", i % 2 == 0, "reason", "", "verified", 1));
		return json_pack("{s:o}", "orders", a);
	case DASH_DOC_TRADES:
		a = json_array();
		for (i = 0; i < 60; i++)
			json_array_append_new(
			    a, json_pack("{s:i,s:s,s:i,s:i,s:i,s:i,s:b}", "interval", 1999950 + i,
			                 "side", "buy", "qty_wh", 500, "price_uper_kwh", 200000,
			                 "amount_u", 100000, "fee_u", 5000, "verified", 1));
		return json_pack("{s:o}", "trades", a);
	case DASH_DOC_STATEMENTS:
		a = json_array();
		for (i = 0; i < 60; i++)
			json_array_append_new(
			    a, json_pack("{s:i,s:i,s:i,s:i,s:i,s:i,s:i,s:i,s:b,s:i,s:b}",
			                 "interval", 1999950 + i, "traded_wh", 500, "delivered_wh",
			                 500, "imbalance_wh", 0, "fees_u", 5000, "net_u", -105000,
			                 "baseline_u", -160000, "saving_u", 55000, "flagged", 0,
			                 "log_index", 4000 + i, "verified", 1));
		return json_pack("{s:o,s:{s:i,s:i,s:i}}", "statements", a, "totals", "earned_u", 0,
		                 "paid_u", 6300000, "saving_u", 3300000);
	case DASH_DOC_SETTINGS:
		return json_pack("{s:i,s:i,s:b}", "min_price_uper_kwh", 120000, "reserve_wh", 0,
		                 "auto_sell", 1);
	default:
		return NULL;
	}
}

static pw_err
fake_bid(void *ctx, const struct dash_bid *bid, uint64_t *seq, char *msg, size_t cap)
{
	(void)ctx;
	(void)bid;
	(void)msg;
	(void)cap;
	*seq = 1;
	return PW_OK;
}

static pw_err
fake_cancel(void *ctx, uint64_t seq, char *msg, size_t cap)
{
	(void)ctx;
	(void)seq;
	(void)msg;
	(void)cap;
	return PW_OK;
}

static pw_err
fake_settings(void *ctx, const struct dash_settings *s, char *msg, size_t cap)
{
	(void)ctx;
	(void)s;
	(void)msg;
	(void)cap;
	return PW_OK;
}

/* ---- HTTP client --------------------------------------------------------------- */

static int
connect_port(uint16_t port)
{
	struct sockaddr_in sin;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	if (fd < 0)
		return -1;
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sin, sizeof sin) != 0) {
		close(fd);
		return -1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	return fd;
}

/* One keep-alive GET; returns total bytes of the response (headers + body)
 * or -1, the body into body (NUL-terminated, truncated to cap). */
static long
get_enc(int fd, uint16_t port, const char *path, char *body, size_t cap, bool gzip)
{
	static __thread char buf[1 << 20];
	char req[512];
	size_t got = 0, need = 0, hlen = 0;
	int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n%s\r\n", path,
	                 (unsigned)port, gzip ? "Accept-Encoding: gzip\r\n" : "");

	if (write(fd, req, (size_t)n) != n)
		return -1;
	for (;;) {
		ssize_t r = read(fd, buf + got, sizeof buf - 1 - got);
		if (r <= 0)
			return -1;
		got += (size_t)r;
		buf[got] = '\0';
		if (hlen == 0) {
			char *sep = strstr(buf, "\r\n\r\n"), *cl;
			if (sep == NULL)
				continue;
			hlen = (size_t)(sep - buf) + 4;
			cl = strcasestr(buf, "\r\nContent-Length:");
			if (cl == NULL || cl > sep || strncmp(buf, "HTTP/1.1 200", 12) != 0)
				return -1;
			need = hlen + strtoul(cl + 17, NULL, 10);
		}
		if (got >= need)
			break;
	}
	if (body != NULL && cap > 0) {
		size_t bl = need - hlen < cap - 1 ? need - hlen : cap - 1;
		memcpy(body, buf + hlen, bl);
		body[bl] = '\0';
	}
	return (long)need;
}

static long
get(int fd, uint16_t port, const char *path, char *body, size_t cap)
{
	return get_enc(fd, port, path, body, cap, false);
}

static void *
client_main(void *arg)
{
	static const char *const paths[] = { "/api/state", "/api/market", "/api/orders",
		                             "/api/trades", "/api/statements" };
	struct shared *sh = arg;
	unsigned k = 0;
	int fd = connect_port(sh->port);

	if (fd < 0) {
		atomic_fetch_add(&sh->errors, 1);
		return NULL;
	}
	while (!atomic_load(&sh->stop)) {
		double t0 = now_ms();
		if (get(fd, sh->port, paths[k++ % 5], NULL, 0) < 0) {
			atomic_fetch_add(&sh->errors, 1);
			close(fd);
			fd = connect_port(sh->port);
			if (fd < 0)
				break;
			continue;
		}
		long i = atomic_fetch_add(&sh->nlat, 1);
		if (i < BENCH_MAX_SAMPLES)
			sh->lat_ms[i] = now_ms() - t0;
	}
	if (fd >= 0)
		close(fd);
	return NULL;
}

static void *
stream_main(void *arg)
{
	struct shared *sh = arg;
	char req[128], buf[8192];
	int fd = connect_port(sh->port), n;

	if (fd < 0)
		return NULL;
	n = snprintf(req, sizeof req, "GET /api/events HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n\r\n",
	             (unsigned)sh->port);
	if (write(fd, req, (size_t)n) == n) {
		while (!atomic_load(&sh->stop)) {
			struct pollfd p = { fd, POLLIN, 0 };
			if (poll(&p, 1, 100) > 0 && read(fd, buf, sizeof buf) <= 0)
				break;
		}
	}
	close(fd);
	return NULL;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Sums the page's first load: index.html, its scripts and stylesheets, and
 * the API documents app.js fetches at start. */
static void *
page_main(void *arg)
{
	static char html[65536];
	struct shared *sh = arg;
	static const char *const docs[] = { "/api/state",  "/api/market",     "/api/orders",
		                            "/api/trades", "/api/statements", "/api/settings" };
	long total = 0, r;
	const char *p;
	int fd = connect_port(sh->port);
	size_t i;

	/* the page read plain to find what it names, counted as sent compressed */
	if (fd < 0 || get(fd, sh->port, "/", html, sizeof html) < 0 ||
	    (r = get_enc(fd, sh->port, "/", NULL, 0, true)) < 0) {
		atomic_fetch_add(&sh->errors, 1);
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	total += r;
	for (p = html; (p = strpbrk(p, "<")) != NULL; p++) {
		const char *attr = NULL, *q, *end;
		char path[256];
		if (strncmp(p, "<script", 7) == 0)
			attr = "src=\"";
		else if (strncmp(p, "<link", 5) == 0)
			attr = "href=\"";
		if (attr == NULL)
			continue;
		end = strchr(p, '>');
		q = strstr(p, attr);
		if (end == NULL || q == NULL || q > end)
			continue;
		q += strlen(attr);
		if (strncmp(q, "data:", 5) == 0 || strncmp(q, "http", 4) == 0)
			continue;
		snprintf(path, sizeof path, "/%.*s", (int)strcspn(q, "\""), q);
		if ((r = get_enc(fd, sh->port, path, NULL, 0, true)) < 0) {
			fprintf(stderr, "bench_dash: cannot load %s\n", path);
			atomic_fetch_add(&sh->errors, 1);
		} else {
			total += r;
		}
	}
	for (i = 0; i < sizeof docs / sizeof docs[0]; i++)
		if ((r = get_enc(fd, sh->port, docs[i], NULL, 0, true)) > 0)
			total += r;
	close(fd);
	printf("BENCH page_kb %.1f kB target <=150\n", (double)total / 1024.0);
	fflush(stdout);
	return NULL;
}

static double
bench_seconds(void)
{
	const char *s = getenv("PW_BENCH_SECONDS");
	char *end;
	double v;

	if (s == NULL)
		return 5.0;
	v = strtod(s, &end);
	return (*end == '\0' && v >= 0.5 && v <= 600) ? v : 5.0;
}

/* Serves until sh->stop, publishing a state event every 100 ms. */
static void
serve(struct dash *d, struct shared *sh, double until_ms)
{
	double next_pub = now_ms() + 100;
	json_t *doc = fake_get(NULL, DASH_DOC_STATE);

	while (now_ms() < until_ms) {
		struct pollfd p = { dash_fd(d), POLLIN, 0 };
		long to = dash_timeout_ms(d);
		if (to < 0 || to > 20)
			to = 20;
		poll(&p, 1, (int)to);
		dash_run(d);
		if (now_ms() >= next_pub) {
			next_pub += 100;
			dash_publish(d, "state", doc);
		}
	}
	json_decref(doc);
	(void)sh;
}

int
main(void)
{
	struct dash_ops ops = { 0 };
	struct dash_config cfg = { 0 };
	struct shared sh;
	struct dash *d = NULL;
	pthread_t cl[BENCH_CLIENTS], st[BENCH_STREAMS], pg;
	char msg[DASH_MSG_MAX];
	double secs = bench_seconds(), t0;
	long n, i;

	ops.get = fake_get;
	ops.place_bid = fake_bid;
	ops.cancel = fake_cancel;
	ops.update_settings = fake_settings;
	cfg.web_root = "agent/web";
	if (dash_new(&cfg, &ops, &d, msg, sizeof msg) != PW_OK) {
		fprintf(stderr, "bench_dash: %s\n", msg);
		return 1;
	}
	memset(&sh, 0, sizeof sh);
	sh.port = dash_port(d);
	sh.lat_ms = calloc(BENCH_MAX_SAMPLES, sizeof(double));
	if (sh.lat_ms == NULL)
		return 1;

	/* First load of the page, alone. */
	pthread_create(&pg, NULL, page_main, &sh);
	t0 = now_ms();
	while (pthread_tryjoin_np(pg, NULL) != 0 && now_ms() - t0 < 30000)
		serve(d, &sh, now_ms() + 50);

	for (i = 0; i < BENCH_STREAMS; i++)
		pthread_create(&st[i], NULL, stream_main, &sh);
	for (i = 0; i < BENCH_CLIENTS; i++)
		pthread_create(&cl[i], NULL, client_main, &sh);
	t0 = now_ms();
	serve(d, &sh, t0 + secs * 1000.0);
	atomic_store(&sh.stop, 1);
	/* Keep serving until every client finished its last request. */
	for (i = 0; i < BENCH_CLIENTS; i++)
		while (pthread_tryjoin_np(cl[i], NULL) != 0)
			serve(d, &sh, now_ms() + 20);
	for (i = 0; i < BENCH_STREAMS; i++)
		while (pthread_tryjoin_np(st[i], NULL) != 0)
			serve(d, &sh, now_ms() + 20);
	n = atomic_load(&sh.nlat);
	if (n > BENCH_MAX_SAMPLES)
		n = BENCH_MAX_SAMPLES;
	if (n < 100) {
		fprintf(stderr, "bench_dash: only %ld requests\n", n);
		return 1;
	}
	qsort(sh.lat_ms, (size_t)n, sizeof(double), cmp_double);
	fprintf(stderr, "bench_dash: %ld requests, %ld errors, p50 %.2f ms, max %.2f ms\n", n,
	        atomic_load(&sh.errors), sh.lat_ms[n / 2], sh.lat_ms[n - 1]);
	printf("BENCH api_p99_ms %.2f ms target <=20\n", sh.lat_ms[(size_t)((double)n * 0.99)]);
	printf("BENCH api_rps %.0f req/s\n", (double)n / secs);
	dash_destroy(&d);
	free(sh.lat_ms);
	return atomic_load(&sh.errors) == 0 ? 0 : 1;
}
