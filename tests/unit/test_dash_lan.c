/*
 * test_dash_lan.c: the dashboard against a hostile LAN, over real loopback
 * HTTP: Bearer, cookie and login guesses counted against one budget (a 429
 * held back once it is spent), the right token still accepted from the
 * guessing source, a fresh session per login, a changed token ending every
 * session, the request deadline against a trickling client, a half-sent
 * request whose client has gone, and static files behind symlinks that
 * lead out of the web root.
 *
 * The server is single-threaded: the client below drives it, polling its
 * socket and dash_fd() together and calling dash_run() until the reply is
 * complete (Connection: close).
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

#include "agent/dash.h"
#include "agent/dash_auth.h"

#define RESP_MAX 16384
#define TOKEN    "correct-horse-battery-staple"

struct env {
	char dir[64];  /* holds web/ and outside/ */
	char root[96]; /* the web root */
	struct dash *d;
};

static json_t *
fake_get(void *ctx, enum dash_doc doc)
{
	(void)ctx;
	(void)doc;
	return json_object();
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

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
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

static void
env_start(struct env *e, const char *token, unsigned request_s)
{
	struct dash_ops ops = { 0 };
	struct dash_config cfg = { 0 };
	char msg[DASH_MSG_MAX] = "", path[160];

	memset(e, 0, sizeof *e);
	snprintf(e->dir, sizeof e->dir, "/tmp/test_dash_lan.XXXXXX");
	assert_non_null(mkdtemp(e->dir));
	snprintf(e->root, sizeof e->root, "%s/web", e->dir);
	assert_int_equal(mkdir(e->root, 0700), 0);
	snprintf(path, sizeof path, "%s/outside", e->dir);
	assert_int_equal(mkdir(path, 0700), 0);
	write_file(e->root, "index.html", "<!doctype html><title>peerwatt</title>\n");
	write_file(path, "secret.txt", "not for the LAN\n");
	ops.get = fake_get;
	ops.place_bid = fake_bid;
	ops.cancel = fake_cancel;
	ops.update_settings = fake_settings;
	cfg.bind_addr = "127.0.0.1";
	cfg.web_root = e->root;
	cfg.token = token;
	cfg.request_s = request_s;
	if (dash_new(&cfg, &ops, &e->d, msg, sizeof msg) != PW_OK)
		fail_msg("dash_new: %s", msg);
}

static void
env_stop(struct env *e)
{
	char cmd[128];

	dash_destroy(&e->d);
	assert_null(e->d);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", e->dir);
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
 * (0 on EOF or reset, -1 on timeout). */
static ssize_t
pump_read(struct dash *d, int fd, char *buf, size_t cap, int ms)
{
	int64_t t0 = now_ms();

	for (;;) {
		struct pollfd p[2] = { { fd, POLLIN, 0 }, { dash_fd(d), POLLIN, 0 } };
		long to = dash_timeout_ms(d);
		if (to < 0 || to > 50)
			to = 50;
		poll(p, 2, (int)to);
		assert_int_equal(dash_run(d), PW_OK);
		if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t n = read(fd, buf, cap);
			if (n >= 0)
				return n;
			if (errno == ECONNRESET)
				return 0;
		}
		if (now_ms() - t0 > ms)
			return -1;
	}
}

/* Runs the server for `ms`. */
static void
pump(struct dash *d, int ms)
{
	int64_t t0 = now_ms();

	while (now_ms() - t0 < ms) {
		struct pollfd p = { dash_fd(d), POLLIN, 0 };
		long to = dash_timeout_ms(d);
		if (to < 0 || to > 20)
			to = 20;
		poll(&p, 1, (int)to);
		assert_int_equal(dash_run(d), PW_OK);
	}
}

/* One request; the whole answer (headers too) into resp; its status. */
static int
http(struct env *e, const char *method, const char *path, const char *headers, const char *body,
     char *resp, size_t cap)
{
	char req[4096];
	size_t got = 0;
	int fd, n, status = -1;

	n = snprintf(req, sizeof req,
	             "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nConnection: close\r\n%s"
	             "Content-Length: %zu\r\n\r\n%s",
	             method, path, (unsigned)dash_port(e->d), headers ? headers : "",
	             body ? strlen(body) : 0, body ? body : "");
	assert_true(n > 0 && (size_t)n < sizeof req);
	fd = connect_to(e->d);
	assert_int_equal(write(fd, req, (size_t)n), n);
	for (;;) {
		ssize_t r = pump_read(e->d, fd, resp + got, cap - 1 - got, 15000);
		assert_true(r >= 0);
		if (r == 0)
			break;
		got += (size_t)r;
		assert_true(got < cap - 1);
	}
	close(fd);
	resp[got] = '\0';
	sscanf(resp, "HTTP/1.1 %d", &status);
	return status;
}

static int
get_with(struct env *e, const char *path, const char *header_fmt, const char *value)
{
	static char resp[RESP_MAX];
	char hdr[512];

	snprintf(hdr, sizeof hdr, header_fmt, value);
	return http(e, "GET", path, hdr, NULL, resp, sizeof resp);
}

static int
login(struct env *e, const char *token, char *cookie, size_t cap)
{
	static char resp[RESP_MAX];
	char hdr[256], body[256];
	const char *p, *end;
	int status;

	snprintf(hdr, sizeof hdr,
	         "Origin: http://127.0.0.1:%u\r\nContent-Type: application/json\r\n",
	         (unsigned)dash_port(e->d));
	snprintf(body, sizeof body, "{\"token\":\"%s\"}", token);
	status = http(e, "POST", "/api/login", hdr, body, resp, sizeof resp);
	if (cookie != NULL) {
		cookie[0] = '\0';
		p = strstr(resp, "Set-Cookie: pw_session=");
		if (p != NULL) {
			p += strlen("Set-Cookie: pw_session=");
			end = strchr(p, ';');
			assert_non_null(end);
			snprintf(cookie, cap, "%.*s", (int)(end - p), p);
		}
	}
	return status;
}

/* A metric's value from /metrics (Bearer TOKEN). */
static unsigned long long
metric(struct env *e, const char *name)
{
	static char resp[RESP_MAX];
	char key[96];
	const char *p;

	assert_int_equal(http(e, "GET", "/metrics", "Authorization: Bearer " TOKEN "\r\n", NULL,
	                      resp, sizeof resp),
	                 200);
	snprintf(key, sizeof key, "\n%s ", name);
	p = strstr(resp, key);
	assert_non_null(p);
	return strtoull(p + strlen(key), NULL, 10);
}

static void
test_guessing_counted_right_token_accepted(void **state)
{
	struct env e;
	char value[96], cookie[DASH_AUTH_SESSION_LEN + 1];
	int i;
	int64_t t0;

	(void)state;
	env_start(&e, TOKEN, 0);
	/* Bearer, cookie and login guesses from one source: the first
	 * DASH_AUTH_FAILS are answered at once (401/403)... */
	for (i = 0; i < 4; i++) {
		snprintf(value, sizeof value, "guess-%d-%s", i, "zzzzzzzzzzzzzzzz");
		assert_int_equal(get_with(&e, "/api/state", "Authorization: Bearer %s\r\n", value),
		                 401);
	}
	for (i = 0; i < 3; i++) {
		snprintf(value, sizeof value, "%064d", i);
		assert_int_equal(get_with(&e, "/api/state", "Cookie: pw_session=%s\r\n", value),
		                 401);
	}
	for (i = 0; i < 3; i++) {
		snprintf(value, sizeof value, "login-guess-%d-xxxxxxxxxx", i);
		assert_int_equal(login(&e, value, NULL, 0), 403);
	}
	assert_int_equal(metric(&e, "peerwatt_dash_login_failed_total"), 10);
	assert_int_equal(metric(&e, "peerwatt_dash_auth_lockouts_total"), 0);
	/* ... then the budget is spent: a wrong guess of any kind waits
	 * DASH_AUTH_DELAY_MS for its 429. */
	t0 = now_ms();
	assert_int_equal(
	    get_with(&e, "/api/state", "Authorization: Bearer %s\r\n", "one-more-guess-xxxxxx"),
	    429);
	assert_true(now_ms() - t0 >= DASH_AUTH_DELAY_MS - 100);
	assert_int_equal(get_with(&e, "/api/state", "Cookie: pw_session=%s\r\n", "abc"), 429);
	assert_int_equal(metric(&e, "peerwatt_dash_auth_lockouts_total"), 1);
	assert_int_equal(metric(&e, "peerwatt_dash_login_failed_total"), 12);
	/* The right token from that very source still gets in, by Bearer
	 * and by login, and the session cookie works. */
	assert_int_equal(get_with(&e, "/api/state", "Authorization: Bearer %s\r\n", TOKEN), 200);
	assert_int_equal(login(&e, TOKEN, cookie, sizeof cookie), 200);
	assert_int_equal(strlen(cookie), DASH_AUTH_SESSION_LEN);
	assert_int_equal(get_with(&e, "/api/state", "Cookie: pw_session=%s\r\n", cookie), 200);
	/* Nothing presented is not a guess. */
	assert_int_equal(get_with(&e, "/api/state", "X-Nothing: %s\r\n", "x"), 401);
	assert_int_equal(metric(&e, "peerwatt_dash_login_failed_total"), 12);
	env_stop(&e);
}

static void
test_sessions_and_token_change(void **state)
{
	struct env e;
	char c1[DASH_AUTH_SESSION_LEN + 1], c2[DASH_AUTH_SESSION_LEN + 1];
	char msg[DASH_MSG_MAX];

	(void)state;
	env_start(&e, TOKEN, 0);
	/* A fresh random session per login; both work. */
	assert_int_equal(login(&e, TOKEN, c1, sizeof c1), 200);
	assert_int_equal(login(&e, TOKEN, c2, sizeof c2), 200);
	assert_int_equal(strlen(c1), DASH_AUTH_SESSION_LEN);
	assert_string_not_equal(c1, c2);
	assert_int_equal(get_with(&e, "/api/state", "Cookie: pw_session=%s\r\n", c1), 200);
	assert_int_equal(get_with(&e, "/api/state", "Cookie: pw_session=%s\r\n", c2), 200);
	/* The same token again (a reload without change) keeps them. */
	assert_int_equal(dash_set_token(e.d, TOKEN, msg, sizeof msg), PW_OK);
	assert_int_equal(get_with(&e, "/api/state", "Cookie: pw_session=%s\r\n", c1), 200);
	/* A changed token ends every session and the old token. */
	assert_int_equal(dash_set_token(e.d, "a-brand-new-token-0123", msg, sizeof msg), PW_OK);
	assert_int_equal(get_with(&e, "/api/state", "Cookie: pw_session=%s\r\n", c1), 401);
	assert_int_equal(get_with(&e, "/api/state", "Cookie: pw_session=%s\r\n", c2), 401);
	assert_int_equal(get_with(&e, "/api/state", "Authorization: Bearer %s\r\n", TOKEN), 401);
	assert_int_equal(login(&e, TOKEN, NULL, 0), 403);
	assert_int_equal(login(&e, "a-brand-new-token-0123", c1, sizeof c1), 200);
	assert_int_equal(get_with(&e, "/api/state", "Cookie: pw_session=%s\r\n", c1), 200);
	/* A malformed token is refused and changes nothing. */
	assert_int_equal(dash_set_token(e.d, "short", msg, sizeof msg), PW_ERR_CONFIG);
	assert_int_equal(get_with(&e, "/api/state", "Cookie: pw_session=%s\r\n", c1), 200);
	/* On loopback the token may go away: no login needed any more. */
	assert_int_equal(dash_set_token(e.d, NULL, msg, sizeof msg), PW_OK);
	assert_int_equal(get_with(&e, "/api/state", "X-Nothing: %s\r\n", "x"), 200);
	env_stop(&e);
}

/* The server closes a connection that trickles a request byte by byte
 * (slowloris) at the request deadline, and one whose client sent half a
 * request and left; it answers again afterwards. */
static void
test_deadline_and_gone_client(void **state)
{
	static char resp[RESP_MAX];
	static const char req[] = "GET /api/state HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ";
	struct env e;
	int fd, fds[8];
	size_t i;
	int64_t t0;
	char buf[64];
	ssize_t n = -1;

	(void)state;
	env_start(&e, NULL, 1);
	fd = connect_to(e.d);
	t0 = now_ms();
	for (i = 0; now_ms() - t0 < 8000; i++) {
		if (write(fd, &req[i % (sizeof req - 1)], 1) != 1)
			break; /* closed by the server */
		n = pump_read(e.d, fd, buf, sizeof buf, 100);
		if (n >= 0)
			break;
	}
	/* closed (EOF, reset or a failed write) well before 8 s */
	assert_true(n == 0 || n == -1);
	assert_true(now_ms() - t0 < 6000);
	close(fd);
	assert_true(metric(&e, "peerwatt_dash_conn_timeouts_total") >= 1);
	env_stop(&e);

	/* Half-sent requests whose clients left before the server accepted
	 * them (request and FIN queued: libmicrohttpd 0.9.75 alone misses
	 * the FIN) are closed at the next sweep, not kept until the deadline
	 * (a long one here). */
	env_start(&e, NULL, 60);
	for (i = 0; i < sizeof fds / sizeof fds[0]; i++) {
		fds[i] = connect_to(e.d);
		assert_int_equal(write(fds[i], req, sizeof req - 1), (ssize_t)(sizeof req - 1));
		close(fds[i]);
	}
	pump(e.d, 3 * 500);
	assert_int_equal(http(&e, "GET", "/metrics", NULL, NULL, resp, sizeof resp), 200);
	assert_non_null(strstr(resp, "\npeerwatt_dash_connections 1\n"));
	env_stop(&e);
}

static void
test_static_symlinks(void **state)
{
	static char resp[RESP_MAX];
	struct env e;
	char link[200], target[200];

	(void)state;
	env_start(&e, NULL, 0);
	/* A directory symlink inside the root leading out of it. */
	snprintf(link, sizeof link, "%s/sub", e.root);
	snprintf(target, sizeof target, "%s/outside", e.dir);
	assert_int_equal(symlink(target, link), 0);
	assert_int_equal(http(&e, "GET", "/sub/secret.txt", NULL, NULL, resp, sizeof resp), 404);
	assert_null(strstr(resp, "not for the LAN"));
	/* A file symlink leading out. */
	snprintf(link, sizeof link, "%s/leak.txt", e.root);
	snprintf(target, sizeof target, "%s/outside/secret.txt", e.dir);
	assert_int_equal(symlink(target, link), 0);
	assert_int_equal(http(&e, "GET", "/leak.txt", NULL, NULL, resp, sizeof resp), 404);
	assert_null(strstr(resp, "not for the LAN"));
	/* A symlink that stays inside the root is served. */
	snprintf(link, sizeof link, "%s/home.html", e.root);
	assert_int_equal(symlink("index.html", link), 0);
	assert_int_equal(http(&e, "GET", "/home.html", NULL, NULL, resp, sizeof resp), 200);
	assert_non_null(strstr(resp, "<title>peerwatt</title>"));
	env_stop(&e);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_guessing_counted_right_token_accepted),
		cmocka_unit_test(test_sessions_and_token_change),
		cmocka_unit_test(test_deadline_and_gone_client),
		cmocka_unit_test(test_static_symlinks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
