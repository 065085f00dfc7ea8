/*
 * pw-attack: hostile peers for tests/integration/hostile.sh and
 * tests/bench/bench_hostile.sh.  Every mode runs for -T seconds at most (or
 * -c rounds) and prints one summary line; exit 0 unless it could not start.
 *
 *   pw-attack garbage  -e tcp://H:P [-c N] [-T S]
 *       N raw TCP connections, each sending 4 KiB of random bytes (no ZMTP
 *       greeting), then closing.
 *   pw-attack stall    -e tcp://H:P [-c N] [-T S]
 *       N raw TCP connections that send half a ZMTP greeting and then stall,
 *       held open for S seconds (half-open handshakes, many connections).
 *   pw-attack unknown  -e EP -s SERVER_PK [-c N] [-T S]
 *       N CURVE handshakes with fresh keys the registry does not know (the
 *       ZAP handler refuses them); each socket sends one frame and closes.
 *   pw-attack oversize -e EP -s SERVER_PK -k KEYFILE [-c N] [-b BYTES] [-T S]
 *       a registered household sending N frames of BYTES (default 65536,
 *       above max_msg_bytes): the exchange drops the connection each time;
 *       the socket reconnects and sends again.
 *   pw-attack flood    -e EP -s SERVER_PK -k KEYFILE -m MARKET [-c N] [-r RATE] [-T S]
 *       a registered household sending N fresh signed orders (increasing
 *       sequence numbers) at RATE frames/s (0, the default: as fast as it
 *       can), never waiting for answers (a flood far above its fair rate).
 *   pw-attack replay   -e EP -s SERVER_PK -k KEYFILE -m MARKET [-c N] [-r RATE] [-T S]
 *       one signed order sent N times, the same way (a replay storm; an
 *       honest exchange ACKs it once at most).
 *   flood and replay print "MODE sent N answers A ack K REASON=COUNT..."
 *   after their last send and up to 2 s of late answers; over the rate the
 *   exchange answers one frame per second and drops the others.
 * Connections are loopback test traffic: nothing here is useful against a
 * real deployment that the daemon's own limits do not already bound.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>
#include <zmq.h>

#include "peerwatt/config.h"
#include "peerwatt/keys.h"
#include "peerwatt/wire.h"

#define MAX_STALL 4096

/* SIGTERM/SIGINT end a mode early; it still prints its summary */
static volatile sig_atomic_t stop;

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

struct opts {
	const char *mode, *ep, *server_hex, *key;
	int64_t count, bytes, tmax, market, rate;
	uint8_t server_curve[32];
};

static int64_t
now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t
num(const char *s, int64_t lo, int64_t hi)
{
	int64_t v;
	if (pw_parse_i64(s, lo, hi, &v) != PW_OK) {
		fprintf(stderr, "pw-attack: bad number '%s'\n", s);
		exit(64);
	}
	return v;
}

static void
usage(void)
{
	fprintf(stderr,
	        "usage: pw-attack garbage|stall|unknown|oversize|flood|replay -e ENDPOINT "
	        "[-s SERVER_PK] [-k KEYFILE] [-m MARKET] [-c N] [-b BYTES] [-r RATE] [-T S]\n");
	exit(64);
}

/* tcp://127.0.0.1:PORT only: the attacks are loopback tests */
static int
tcp_addr(const char *ep, struct sockaddr_in *sa)
{
	const char *p = strncmp(ep, "tcp://", 6) == 0 ? ep + 6 : NULL;
	const char *colon = p ? strrchr(p, ':') : NULL;
	char host[64];
	if (!colon || (size_t)(colon - p) >= sizeof(host))
		return -1;
	memcpy(host, p, (size_t)(colon - p));
	host[colon - p] = '\0';
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)num(colon + 1, 1, 65535));
	return inet_pton(AF_INET, host, &sa->sin_addr) == 1 ? 0 : -1;
}

static int
tcp_connect(const struct sockaddr_in *sa)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int
run_garbage(const struct opts *o)
{
	struct sockaddr_in sa;
	uint8_t junk[4096];
	int64_t end = now_ms() + o->tmax * 1000, done = 0, refused = 0;
	if (tcp_addr(o->ep, &sa) != 0)
		usage();
	for (int64_t i = 0; i < o->count && now_ms() < end && !stop; i++) {
		int fd = tcp_connect(&sa);
		if (fd < 0) {
			refused++;
			continue;
		}
		randombytes_buf(junk, sizeof(junk));
		/* the peer may drop us mid-write: that is the point */
		(void)!send(fd, junk, sizeof(junk), MSG_NOSIGNAL);
		close(fd);
		done++;
	}
	printf("garbage connections %lld refused %lld\n", (long long)done, (long long)refused);
	return 0;
}

static int
run_stall(const struct opts *o)
{
	static int fds[MAX_STALL];
	struct sockaddr_in sa;
	/* first half of a ZMTP 3 greeting: signature, major version, no more */
	static const uint8_t half[] = { 0xff, 0, 0, 0, 0, 0, 0, 0, 1, 0x7f, 3 };
	int64_t n = o->count < MAX_STALL ? o->count : MAX_STALL, open = 0;
	if (tcp_addr(o->ep, &sa) != 0)
		usage();
	for (int64_t i = 0; i < n; i++) {
		fds[i] = tcp_connect(&sa);
		if (fds[i] < 0)
			continue;
		(void)!send(fds[i], half, sizeof(half), MSG_NOSIGNAL);
		open++;
	}
	printf("stall connections %lld\n", (long long)open);
	fflush(stdout);
	int64_t end = now_ms() + o->tmax * 1000;
	while (now_ms() < end && !stop) {
		struct timespec ts = { 0, 100000000L };
		nanosleep(&ts, NULL);
	}
	for (int64_t i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	return 0;
}

static void *
curve_socket(void *ctx, const struct opts *o, const struct pw_keypair *kp)
{
	uint8_t cpk[32], csk[32];
	int zero = 0;
	void *s = zmq_socket(ctx, ZMQ_DEALER);
	if (!s || pw_key_curve_public(kp->pk, cpk) != PW_OK ||
	    pw_key_curve_secret(kp, csk) != PW_OK)
		return NULL;
	zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, o->server_curve, 32);
	zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, cpk, 32);
	zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, csk, 32);
	zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof(zero));
	sodium_memzero(csk, sizeof(csk));
	if (zmq_connect(s, o->ep) != 0) {
		zmq_close(s);
		return NULL;
	}
	return s;
}

static int
run_unknown(const struct opts *o, void *ctx)
{
	int64_t end = now_ms() + o->tmax * 1000, done = 0, answered = 0;
	for (int64_t i = 0; i < o->count && now_ms() < end && !stop; i++) {
		struct pw_keypair kp;
		uint8_t junk[64];
		if (pw_key_generate(&kp) != PW_OK)
			return 1;
		void *s = curve_socket(ctx, o, &kp);
		pw_key_wipe(&kp);
		if (!s)
			return 1;
		randombytes_buf(junk, sizeof(junk));
		zmq_send(s, junk, sizeof(junk), ZMQ_DONTWAIT);
		zmq_pollitem_t it = { s, 0, ZMQ_POLLIN, 0 };
		/* a short wait: the handshake is refused, nothing should answer */
		if (zmq_poll(&it, 1, 20) > 0)
			answered++;
		zmq_close(s);
		done++;
	}
	printf("unknown handshakes %lld answered %lld\n", (long long)done, (long long)answered);
	return 0;
}

static int
run_oversize(const struct opts *o, void *ctx)
{
	struct pw_keypair kp;
	int64_t end = now_ms() + o->tmax * 1000, sent = 0, answered = 0;
	uint8_t *big = malloc((size_t)o->bytes);
	if (!o->key || !big || pw_key_load(o->key, &kp) != PW_OK)
		usage();
	void *s = curve_socket(ctx, o, &kp);
	pw_key_wipe(&kp);
	if (!s) {
		free(big);
		return 1;
	}
	for (int64_t i = 0; i < o->count && now_ms() < end && !stop; i++) {
		randombytes_buf(big, (size_t)o->bytes);
		if (zmq_send(s, big, (size_t)o->bytes, ZMQ_DONTWAIT) >= 0)
			sent++;
		zmq_pollitem_t it = { s, 0, ZMQ_POLLIN, 0 };
		if (zmq_poll(&it, 1, 2) > 0 && (it.revents & ZMQ_POLLIN)) {
			uint8_t buf[4096];
			while (zmq_recv(s, buf, sizeof(buf), ZMQ_DONTWAIT) >= 0)
				answered++;
		}
	}
	zmq_close(s);
	free(big);
	printf("oversize sent %lld answered %lld\n", (long long)sent, (long long)answered);
	return 0;
}

/* An order of the attacking household, signed; seq makes it fresh. */
static int
sign_order(const struct opts *o, const struct pw_keypair *kp, uint64_t seq, uint8_t *frame,
           size_t cap, size_t *len)
{
	struct pw_msg m;
	struct timespec rt;
	clock_gettime(CLOCK_REALTIME, &rt);
	memset(&m, 0, sizeof(m));
	m.type = PW_MSG_ORDER;
	m.u.order.seq = seq;
	m.u.order.interval = (uint64_t)rt.tv_sec / 900 + 2;
	m.u.order.side = PW_SIDE_SELL;
	m.u.order.qty_wh = 1;
	m.u.order.price_uper_kwh = 100000;
	m.u.order.expiry_s = (uint64_t)rt.tv_sec + 86400;
	return pw_wire_encode(&m, (uint64_t)o->market, kp, frame, cap, len) == PW_OK ? 0 : -1;
}

struct tally {
	int64_t answers, acks;
	uint64_t reasons[PW_REASON__COUNT];
};

static void
drain_answers(void *s, struct tally *t)
{
	uint8_t buf[4096];
	int r;
	while ((r = zmq_recv(s, buf, sizeof(buf), ZMQ_DONTWAIT)) >= 0) {
		struct pw_msg a;
		t->answers++;
		if ((size_t)r > sizeof(buf) || pw_wire_decode(buf, (size_t)r, &a) != PW_OK)
			continue;
		if (a.type == PW_MSG_ACK)
			t->acks++;
		else if (a.u.receipt.reason < PW_REASON__COUNT)
			t->reasons[a.u.receipt.reason]++;
	}
}

/* flood (fresh orders) or replay (one order again and again): send as
 * fast as the socket takes them, read whatever comes back. */
static int
run_flood(const struct opts *o, void *ctx, int replay)
{
	struct pw_keypair kp;
	uint8_t frame[PW_WIRE_MAX_REQUEST];
	size_t len = 0;
	struct tally t;
	int64_t end = now_ms() + o->tmax * 1000, sent = 0;
	struct timespec rt;
	int hwm = 100000;
	if (!o->key || pw_key_load(o->key, &kp) != PW_OK)
		usage();
	memset(&t, 0, sizeof(t));
	clock_gettime(CLOCK_REALTIME, &rt);
	uint64_t seq0 = (uint64_t)rt.tv_sec * 1000000u + (uint64_t)rt.tv_nsec / 1000u;
	void *s = curve_socket(ctx, o, &kp);
	if (!s || sign_order(o, &kp, seq0, frame, sizeof(frame), &len) != 0) {
		pw_key_wipe(&kp);
		return 1;
	}
	zmq_setsockopt(s, ZMQ_SNDHWM, &hwm, sizeof(hwm));
	zmq_setsockopt(s, ZMQ_RCVHWM, &hwm, sizeof(hwm));
	int64_t start = now_ms();
	while (sent < o->count && now_ms() < end && !stop) {
		if (o->rate > 0 && sent >= (now_ms() - start) * o->rate / 1000 + 1) {
			/* paced: ahead of the rate, wait a little (reading answers) */
			zmq_pollitem_t it = { s, 0, ZMQ_POLLIN, 0 };
			if (zmq_poll(&it, 1, 1) > 0)
				drain_answers(s, &t);
			continue;
		}
		if (zmq_send(s, frame, len, ZMQ_DONTWAIT) >= 0) {
			sent++;
			if (!replay && sign_order(o, &kp, seq0 + (uint64_t)sent, frame,
			                          sizeof(frame), &len) != 0)
				break;
		} else {
			/* queue full (or not connected yet): wait for room */
			zmq_pollitem_t it = { s, 0, ZMQ_POLLIN | ZMQ_POLLOUT, 0 };
			(void)zmq_poll(&it, 1, 1);
		}
		if ((sent & 63) == 0)
			drain_answers(s, &t);
	}
	pw_key_wipe(&kp);
	/* late answers: up to 2 s after the last one */
	int64_t last = now_ms();
	while (now_ms() - last < 2000 && t.answers < sent) {
		int64_t before = t.answers;
		zmq_pollitem_t it = { s, 0, ZMQ_POLLIN, 0 };
		if (zmq_poll(&it, 1, 100) > 0)
			drain_answers(s, &t);
		if (t.answers != before)
			last = now_ms();
	}
	zmq_close(s);
	printf("%s sent %lld answers %lld ack %lld", replay ? "replay" : "flood", (long long)sent,
	       (long long)t.answers, (long long)t.acks);
	for (unsigned r = 1; r < PW_REASON__COUNT; r++)
		if (t.reasons[r])
			printf(" %s=%llu", pw_reason_name(r), (unsigned long long)t.reasons[r]);
	printf("\n");
	return 0;
}

int
main(int argc, char **argv)
{
	struct opts o = { .count = 1000, .bytes = 65536, .tmax = 30, .market = 1 };
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	if (pw_crypto_init() != PW_OK)
		return 69;
	if (argc < 2)
		usage();
	o.mode = argv[1];
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i];
		if (i + 1 >= argc || a[0] != '-' || a[1] == '\0' || a[2] != '\0')
			usage();
		const char *v = argv[++i];
		switch (a[1]) {
		case 'e':
			o.ep = v;
			break;
		case 's':
			o.server_hex = v;
			break;
		case 'k':
			o.key = v;
			break;
		case 'm':
			o.market = num(v, 0, INT64_MAX);
			break;
		case 'c':
			o.count = num(v, 1, 100000000);
			break;
		case 'b':
			o.bytes = num(v, 1, 16 << 20);
			break;
		case 'T':
			o.tmax = num(v, 1, 86400);
			break;
		case 'r':
			o.rate = num(v, 0, 100000000);
			break;
		default:
			usage();
		}
	}
	if (!o.ep)
		usage();
	if (strcmp(o.mode, "garbage") == 0)
		return run_garbage(&o);
	if (strcmp(o.mode, "stall") == 0)
		return run_stall(&o);
	uint8_t spk[32];
	if (!o.server_hex || pw_hex_decode(o.server_hex, spk, 32) != PW_OK ||
	    pw_key_curve_public(spk, o.server_curve) != PW_OK)
		usage();
	void *ctx = zmq_ctx_new();
	int rc;
	if (!ctx)
		return 69;
	if (strcmp(o.mode, "unknown") == 0)
		rc = run_unknown(&o, ctx);
	else if (strcmp(o.mode, "oversize") == 0)
		rc = run_oversize(&o, ctx);
	else if (strcmp(o.mode, "flood") == 0)
		rc = run_flood(&o, ctx, 0);
	else if (strcmp(o.mode, "replay") == 0)
		rc = run_flood(&o, ctx, 1);
	else
		usage();
	zmq_ctx_term(ctx);
	return rc;
}
