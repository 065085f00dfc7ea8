/*
 * test_modbus_link.c: URL syntax (table-driven), configuration bounds, the
 * backoff schedule under a fake clock, and a live libmodbus server thread on
 * loopback for reads, exceptions, timeouts, a dropped connection and the
 * reconnect after it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <modbus.h>

#include "agent/modbus_link.h"

/* --- URLs ------------------------------------------------------------------- */

struct ucase {
	const char *url;
	pw_err rc;
	enum mlink_kind kind;
	const char *where; /* host or device */
	unsigned port_or_baud;
	char parity;
	int stop;
};

static void
test_url_table(void **state)
{
	static const struct ucase cases[] = {
		{ "tcp://127.0.0.1:502", PW_OK, MLINK_TCP, "127.0.0.1", 502, 0, 0 },
		{ "tcp://inverter.local:1502", PW_OK, MLINK_TCP, "inverter.local", 1502, 0, 0 },
		{ "tcp://[::1]:502", PW_OK, MLINK_TCP, "::1", 502, 0, 0 },
		{ "tcp://h:65535", PW_OK, MLINK_TCP, "h", 65535, 0, 0 },
		{ "rtu:/dev/ttyUSB0:9600:8N1", PW_OK, MLINK_RTU, "/dev/ttyUSB0", 9600, 'N', 1 },
		{ "rtu:/dev/ttyS1:19200:8E1", PW_OK, MLINK_RTU, "/dev/ttyS1", 19200, 'E', 1 },
		{ "rtu:/dev/ttyAMA0:115200:8N2", PW_OK, MLINK_RTU, "/dev/ttyAMA0", 115200, 'N', 2 },
		{ "tcp://127.0.0.1", PW_ERR_PARSE, 0, NULL, 0, 0, 0 }, /* port required */
		{ "tcp://127.0.0.1:", PW_ERR_PARSE, 0, NULL, 0, 0, 0 },
		{ "tcp://127.0.0.1:0", PW_ERR_PARSE, 0, NULL, 0, 0, 0 },
		{ "tcp://127.0.0.1:65536", PW_ERR_PARSE, 0, NULL, 0, 0, 0 },
		{ "tcp://127.0.0.1:50x", PW_ERR_PARSE, 0, NULL, 0, 0, 0 },
		{ "tcp://127.0.0.1:+502", PW_ERR_PARSE, 0, NULL, 0, 0, 0 },
		{ "tcp://:502", PW_ERR_PARSE, 0, NULL, 0, 0, 0 },
		{ "tcp://a b:502", PW_ERR_PARSE, 0, NULL, 0, 0, 0 },
		{ "tcp://host/x:502", PW_ERR_PARSE, 0, NULL, 0, 0, 0 },
		{ "tcp://[::1:502", PW_ERR_PARSE, 0, NULL, 0, 0, 0 },
		{ "udp://127.0.0.1:502", PW_ERR_PARSE, 0, NULL, 0, 0, 0 },
		{ "TCP://127.0.0.1:502", PW_ERR_PARSE, 0, NULL, 0, 0, 0 },
		{ "", PW_ERR_PARSE, 0, NULL, 0, 0, 0 },
		{ "rtu:/dev/ttyUSB0:9600", PW_ERR_PARSE, 0, NULL, 0, 0, 0 },
		{ "rtu:/dev/ttyUSB0:9601:8N1", PW_ERR_PARSE, 0, NULL, 0, 0, 0 }, /* not a rate */
		{ "rtu:/dev/ttyUSB0:9600:7N1", PW_ERR_PARSE, 0, NULL, 0, 0, 0 },
		{ "rtu:/dev/ttyUSB0:9600:8O1", PW_ERR_PARSE, 0, NULL, 0, 0, 0 },
		{ "rtu:/dev/ttyUSB0:9600:8N1x", PW_ERR_PARSE, 0, NULL, 0, 0, 0 },
		{ "rtu:ttyUSB0:9600:8N1", PW_ERR_PARSE, 0, NULL, 0, 0, 0 }, /* absolute path */
		{ "rtu:/:9600:8N1", PW_ERR_PARSE, 0, NULL, 0, 0, 0 },
		{ "rtu:/dev/tty USB:9600:8N1", PW_ERR_PARSE, 0, NULL, 0, 0, 0 },
		{ "rtu:/dev/ttyUSB0:-9600:8N1", PW_ERR_PARSE, 0, NULL, 0, 0, 0 },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct ucase *c = &cases[i];
		struct mlink_url u;
		pw_err rc = mlink_url_parse(c->url, &u);
		if (rc != c->rc)
			fail_msg("%s: got %d want %d", c->url, rc, c->rc);
		if (rc != PW_OK)
			continue;
		assert_int_equal(u.kind, c->kind);
		if (c->kind == MLINK_TCP) {
			assert_string_equal(u.host, c->where);
			assert_int_equal(u.port, c->port_or_baud);
		} else {
			assert_string_equal(u.device, c->where);
			assert_int_equal(u.baud, c->port_or_baud);
			assert_int_equal(u.parity, c->parity);
			assert_int_equal(u.stop_bits, c->stop);
			assert_int_equal(u.data_bits, 8);
		}
	}
	/* Over-long host names are refused, not truncated. */
	char big[400];
	memset(big, 'a', sizeof(big));
	memcpy(big, "tcp://", 6);
	snprintf(big + 300, 100, ":502");
	struct mlink_url u;
	assert_int_equal(mlink_url_parse(big, &u), PW_ERR_PARSE);
	assert_int_equal(mlink_url_parse(NULL, &u), PW_ERR_PARSE);
}

static void
test_cfg_bounds(void **state)
{
	struct mlink_cfg cfg;
	struct mlink *l = NULL;
	(void)state;

	mlink_cfg_defaults(&cfg);
	assert_int_equal(cfg.timeout_ms, 2000);
	assert_int_equal(cfg.quiet_ms, 0);
	assert_int_equal(cfg.backoff_base_ms, 1000);
	assert_int_equal(cfg.backoff_cap_ms, 60000);
	assert_int_equal(mlink_new("tcp://127.0.0.1:1", &cfg, NULL, &l), PW_OK);
	assert_false(mlink_connected(l));
	assert_string_equal(mlink_url(l), "tcp://127.0.0.1:1");
	mlink_destroy(&l);
	assert_null(l);
	mlink_destroy(&l); /* NULL-safe */
	cfg.unit = 256;
	assert_int_equal(mlink_new("tcp://127.0.0.1:1", &cfg, NULL, &l), PW_ERR_RANGE);
	cfg.unit = 0; /* fine on TCP, not on a serial line */
	assert_int_equal(mlink_new("tcp://127.0.0.1:1", &cfg, NULL, &l), PW_OK);
	mlink_destroy(&l);
	assert_int_equal(mlink_new("rtu:/dev/null:9600:8N1", &cfg, NULL, &l), PW_ERR_RANGE);
	cfg.unit = 248;
	assert_int_equal(mlink_new("rtu:/dev/null:9600:8N1", &cfg, NULL, &l), PW_ERR_RANGE);
	mlink_cfg_defaults(&cfg);
	cfg.backoff_cap_ms = 10; /* cap below base */
	assert_int_equal(mlink_new("tcp://127.0.0.1:1", &cfg, NULL, &l), PW_ERR_RANGE);
	mlink_cfg_defaults(&cfg);
	cfg.timeout_ms = 0;
	assert_int_equal(mlink_new("tcp://127.0.0.1:1", &cfg, NULL, &l), PW_ERR_RANGE);
	assert_int_equal(mlink_new("nonsense", &cfg, NULL, &l), PW_ERR_PARSE);
	assert_null(l);
	/* the transaction deadline: at least the response timeout, at most 2 min */
	mlink_cfg_defaults(&cfg);
	assert_int_equal(cfg.deadline_ms, 0);
	cfg.deadline_ms = 1999;
	assert_int_equal(mlink_new("tcp://127.0.0.1:1", &cfg, NULL, &l), PW_ERR_RANGE);
	cfg.deadline_ms = 120001;
	assert_int_equal(mlink_new("tcp://127.0.0.1:1", &cfg, NULL, &l), PW_ERR_RANGE);
	cfg.deadline_ms = 2000;
	assert_int_equal(mlink_new("tcp://127.0.0.1:1", &cfg, NULL, &l), PW_OK);
	mlink_destroy(&l);
	{
		struct mlink_url u;
		mlink_cfg_defaults(&cfg);
		assert_int_equal(mlink_url_parse("tcp://127.0.0.1:1", &u), PW_OK);
		assert_int_equal(mlink_deadline_ms(&u, &cfg), 3000);
		/* 256 x 11 bits at 9600 baud: 293 ms more */
		assert_int_equal(mlink_url_parse("rtu:/dev/ttyS0:9600:8N1", &u), PW_OK);
		assert_int_equal(mlink_deadline_ms(&u, &cfg), 3294);
		cfg.deadline_ms = 5000;
		assert_int_equal(mlink_deadline_ms(&u, &cfg), 5000);
	}
}

/* --- fake clock --------------------------------------------------------------- */

struct fclock {
	uint64_t now;
	uint64_t slept;
};

static uint64_t
f_now(void *arg)
{
	return ((struct fclock *)arg)->now;
}

static void
f_sleep(void *arg, uint32_t ms)
{
	struct fclock *c = arg;
	c->now += ms;
	c->slept += ms;
}

/* A port on loopback with nobody listening (bound, never listened to). */
static int
dead_port(int *fd)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	*fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(*fd >= 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(*fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(*fd, (struct sockaddr *)&sa, &len), 0);
	return ntohs(sa.sin_port);
}

static void
test_backoff_schedule(void **state)
{
	struct fclock fc = { 1000000, 0 };
	struct mlink_clock clk = { f_now, f_sleep, &fc };
	struct mlink_cfg cfg;
	struct mlink *l;
	uint16_t r[2];
	char url[64];
	int fd, port = dead_port(&fd);
	/* attempt times relative to the start and the delay that follows each */
	static const uint64_t delays[] = { 100, 200, 400, 800, 1000, 1000 };
	(void)state;

	mlink_cfg_defaults(&cfg);
	cfg.backoff_base_ms = 100;
	cfg.backoff_cap_ms = 1000;
	snprintf(url, sizeof(url), "tcp://127.0.0.1:%d", port);
	assert_int_equal(mlink_new(url, &cfg, &clk, &l), PW_OK);
	for (size_t i = 0; i < sizeof(delays) / sizeof(delays[0]); i++) {
		unsigned long tried = mlink_stats(l)->connect_attempts;
		assert_int_equal(mlink_read(l, 40000, 2, r), PW_ERR_UNAVAILABLE);
		assert_int_equal(mlink_stats(l)->connect_attempts, tried + 1);
		assert_int_equal(mlink_retry_in_ms(l), delays[i]);
		/* Reads during the backoff fail at once without touching the network. */
		fc.now += delays[i] - 1;
		assert_int_equal(mlink_read(l, 40000, 2, r), PW_ERR_UNAVAILABLE);
		assert_int_equal(mlink_stats(l)->connect_attempts, tried + 1);
		assert_int_equal(mlink_retry_in_ms(l), 1);
		fc.now += 1;
	}
	assert_true(mlink_stats(l)->skipped >= 6);
	assert_int_equal(mlink_read(l, 40000, 0, r), PW_ERR_ARG);
	assert_int_equal(mlink_read(l, 40000, 126, r), PW_ERR_ARG);
	assert_int_equal(mlink_read(l, 65535, 2, r), PW_ERR_ARG);
	mlink_destroy(&l);
	close(fd);
}

/* --- a live server -------------------------------------------------------------- */

enum srv_mode { SRV_NORMAL, SRV_SILENT, SRV_CLOSE_NEXT, SRV_TRICKLE };

struct server {
	modbus_t *ctx;
	modbus_mapping_t *map;
	int lfd;
	int port;
	atomic_int mode;
	atomic_int stop;
	atomic_int served;
	pthread_t th;
};

static void *
server_main(void *arg)
{
	struct server *s = arg;
	uint8_t q[MODBUS_TCP_MAX_ADU_LENGTH];
	int client = -1;

	while (!atomic_load(&s->stop)) {
		fd_set rf;
		struct timeval tv = { 0, 20000 };
		int maxfd = s->lfd;
		FD_ZERO(&rf);
		FD_SET(s->lfd, &rf);
		if (client >= 0) {
			FD_SET(client, &rf);
			if (client > maxfd)
				maxfd = client;
		}
		if (select(maxfd + 1, &rf, NULL, NULL, &tv) <= 0)
			continue;
		if (FD_ISSET(s->lfd, &rf)) {
			int fd = accept(s->lfd, NULL, NULL);
			if (fd >= 0) {
				if (client >= 0)
					close(client);
				client = fd;
			}
			continue;
		}
		modbus_set_socket(s->ctx, client);
		int n = modbus_receive(s->ctx, q);
		if (n < 0) {
			close(client);
			client = -1;
			continue;
		}
		if (n == 0)
			continue;
		switch (atomic_load(&s->mode)) {
		case SRV_SILENT:
			break;
		case SRV_CLOSE_NEXT:
			close(client);
			client = -1;
			atomic_store(&s->mode, SRV_NORMAL);
			break;
		case SRV_TRICKLE: {
			/* the reply, one byte every 200 ms, until the client leaves */
			uint8_t r[MODBUS_TCP_MAX_ADU_LENGTH];
			int sp[2];
			ssize_t len = -1;
			if (socketpair(AF_UNIX, SOCK_STREAM, 0, sp) != 0)
				break;
			modbus_set_socket(s->ctx, sp[0]);
			if (modbus_reply(s->ctx, q, n, s->map) > 0)
				len = read(sp[1], r, sizeof(r));
			close(sp[0]);
			close(sp[1]);
			for (ssize_t i = 0; i < len && !atomic_load(&s->stop); i++) {
				struct timespec ts = { 0, 200000000L };
				nanosleep(&ts, NULL);
				if (send(client, r + i, 1, MSG_NOSIGNAL) != 1)
					break;
			}
			atomic_fetch_add(&s->served, 1);
			break;
		}
		default:
			modbus_reply(s->ctx, q, n, s->map);
			atomic_fetch_add(&s->served, 1);
			break;
		}
	}
	if (client >= 0)
		close(client);
	return NULL;
}

static void
server_start(struct server *s)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);

	memset(s, 0, sizeof(*s));
	s->ctx = modbus_new_tcp("127.0.0.1", 0);
	assert_non_null(s->ctx);
	s->map = modbus_mapping_new_start_address(0, 0, 0, 0, 100, 10, 0, 0);
	assert_non_null(s->map);
	for (int i = 0; i < 10; i++)
		s->map->tab_registers[i] = (uint16_t)(0x1000 + i);
	s->lfd = modbus_tcp_listen(s->ctx, 2);
	assert_true(s->lfd >= 0);
	assert_int_equal(getsockname(s->lfd, (struct sockaddr *)&sa, &len), 0);
	s->port = ntohs(sa.sin_port);
	assert_int_equal(pthread_create(&s->th, NULL, server_main, s), 0);
}

static void
server_stop(struct server *s)
{
	atomic_store(&s->stop, 1);
	pthread_join(s->th, NULL);
	close(s->lfd);
	modbus_mapping_free(s->map);
	modbus_free(s->ctx);
}

static void
test_live_reads_and_recovery(void **state)
{
	struct server srv;
	struct fclock fc = { 5000, 0 };
	struct mlink_clock clk = { f_now, f_sleep, &fc };
	struct mlink_cfg cfg;
	struct mlink *l;
	uint16_t r[10];
	char url[64];
	(void)state;

	server_start(&srv);
	mlink_cfg_defaults(&cfg);
	cfg.timeout_ms = 1000; /* generous: sanitizer builds on a loaded machine */
	cfg.quiet_ms = 50;
	cfg.backoff_base_ms = 100;
	cfg.backoff_cap_ms = 400;
	snprintf(url, sizeof(url), "tcp://127.0.0.1:%d", srv.port);
	assert_int_equal(mlink_new(url, &cfg, &clk, &l), PW_OK);

	/* A read connects, waits the quiet time, and fills every register. */
	assert_int_equal(mlink_read(l, 102, 3, r), PW_OK);
	assert_true(mlink_connected(l));
	assert_int_equal(fc.slept, 50);
	assert_int_equal(r[0], 0x1002);
	assert_int_equal(r[2], 0x1004);
	assert_int_equal(mlink_read_cb(l, 100, 10, r), PW_OK);
	assert_int_equal(r[9], 0x1009);

	/* An exception keeps the connection. */
	memset(r, 0xAB, sizeof(r));
	assert_int_equal(mlink_read(l, 40000, 2, r), PW_ERR_MODBUS_EXC);
	assert_true(mlink_connected(l));
	assert_int_equal(mlink_stats(l)->exceptions, 1);
	assert_int_equal(mlink_stats(l)->connects, 1);

	/* No answer: a timeout, the link is dropped and backs off. */
	atomic_store(&srv.mode, SRV_SILENT);
	assert_int_equal(mlink_read(l, 100, 2, r), PW_ERR_TIMEOUT);
	assert_false(mlink_connected(l));
	assert_int_equal(mlink_retry_in_ms(l), 100);
	assert_int_equal(mlink_read(l, 100, 2, r), PW_ERR_UNAVAILABLE);
	atomic_store(&srv.mode, SRV_NORMAL);
	fc.now += 100;
	/* The device is back: reconnect and read. */
	assert_int_equal(mlink_read(l, 100, 2, r), PW_OK);
	assert_int_equal(r[1], 0x1001);
	assert_int_equal(mlink_stats(l)->connects, 2);
	assert_int_equal(mlink_stats(l)->timeouts, 1);

	/* The device drops the connection: an error, then a reconnect after the backoff. */
	atomic_store(&srv.mode, SRV_CLOSE_NEXT);
	pw_err rc = mlink_read(l, 100, 2, r);
	assert_true(rc == PW_ERR_MODBUS || rc == PW_ERR_TIMEOUT);
	assert_false(mlink_connected(l));
	fc.now += mlink_retry_in_ms(l);
	assert_int_equal(mlink_read(l, 104, 1, r), PW_OK);
	assert_int_equal(r[0], 0x1004);
	assert_int_equal(mlink_stats(l)->connects, 3);

	/* mlink_close: the next read reconnects without waiting. */
	mlink_close(l);
	assert_int_equal(mlink_retry_in_ms(l), 0);
	assert_int_equal(mlink_read(l, 100, 1, r), PW_OK);
	assert_int_equal(mlink_stats(l)->connects, 4);
	mlink_destroy(&l);
	server_stop(&srv);
}

static double
wall_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A device dribbling its reply (29 bytes, one every 200 ms: 5.8 s, and
 * libmodbus's byte timeout of 500 ms never fires): the transaction ends at
 * its deadline (timeout 300 ms + 1 s), as a timeout, and the link recovers. */
static void
test_deadline_ends_a_dribble(void **state)
{
	struct server srv;
	struct fclock fc = { 5000, 0 };
	struct mlink_clock clk = { f_now, f_sleep, &fc };
	struct mlink_cfg cfg;
	struct mlink_url u;
	struct mlink *l;
	uint16_t r[10];
	char url[64];
	(void)state;

	server_start(&srv);
	mlink_cfg_defaults(&cfg);
	cfg.timeout_ms = 300;
	cfg.backoff_base_ms = 100;
	snprintf(url, sizeof(url), "tcp://127.0.0.1:%d", srv.port);
	assert_int_equal(mlink_url_parse(url, &u), PW_OK);
	assert_int_equal(mlink_deadline_ms(&u, &cfg), 1300);
	assert_int_equal(mlink_new(url, &cfg, &clk, &l), PW_OK);
	assert_int_equal(mlink_read(l, 100, 10, r), PW_OK);
	atomic_store(&srv.mode, SRV_TRICKLE);
	double t0 = wall_s();
	assert_int_equal(mlink_read(l, 100, 10, r), PW_ERR_TIMEOUT);
	double took = wall_s() - t0;
	printf("a dribbled reply of 29 bytes at 200 ms each ended after %.2f s (deadline 1.3 s)\n",
	       took);
	/* far less than the 5.8 s the dribble lasts */
	assert_true(took < 4.5);
	assert_int_equal(mlink_stats(l)->deadlines, 1);
	assert_int_equal(mlink_stats(l)->timeouts, 1);
	assert_false(mlink_connected(l));
	/* the device behaves again: reconnect after the backoff and read (the
	 * server may still be busy noticing that the old client left) */
	atomic_store(&srv.mode, SRV_NORMAL);
	pw_err rc = PW_ERR_TIMEOUT;
	for (int i = 0; i < 10 && rc != PW_OK; i++) {
		fc.now += mlink_retry_in_ms(l);
		rc = mlink_read(l, 100, 10, r);
	}
	assert_int_equal(rc, PW_OK);
	assert_int_equal(r[9], 0x1009);
	mlink_destroy(&l);
	server_stop(&srv);
}

struct interrupter {
	struct mlink *l;
	pthread_t th;
};

static void *
interrupt_main(void *arg)
{
	struct interrupter *it = arg;
	struct timespec ts = { 0, 200000000L };
	nanosleep(&ts, NULL);
	mlink_interrupt(it->l);
	return NULL;
}

/* From another thread, mlink_interrupt ends a read under way (a silent
 * device, timeout 10 s) and every later read fails at once. */
static void
test_interrupt_from_another_thread(void **state)
{
	struct server srv;
	struct mlink_cfg cfg;
	struct interrupter it;
	uint16_t r[2];
	char url[64];
	(void)state;

	server_start(&srv);
	mlink_cfg_defaults(&cfg);
	cfg.timeout_ms = 10000;
	snprintf(url, sizeof(url), "tcp://127.0.0.1:%d", srv.port);
	assert_int_equal(mlink_new(url, &cfg, NULL, &it.l), PW_OK);
	assert_int_equal(mlink_read(it.l, 100, 2, r), PW_OK);
	atomic_store(&srv.mode, SRV_SILENT);
	assert_int_equal(pthread_create(&it.th, NULL, interrupt_main, &it), 0);
	double t0 = wall_s();
	assert_int_equal(mlink_read(it.l, 100, 2, r), PW_ERR_TIMEOUT);
	assert_true(wall_s() - t0 < 8.0);
	pthread_join(it.th, NULL);
	atomic_store(&srv.mode, SRV_NORMAL);
	assert_int_equal(mlink_read(it.l, 100, 2, r), PW_ERR_UNAVAILABLE);
	mlink_destroy(&it.l);
	server_stop(&srv);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_url_table),
		cmocka_unit_test(test_cfg_bounds),
		cmocka_unit_test(test_backoff_schedule),
		cmocka_unit_test(test_live_reads_and_recovery),
		cmocka_unit_test(test_deadline_ends_a_dribble),
		cmocka_unit_test(test_interrupt_from_another_thread),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
