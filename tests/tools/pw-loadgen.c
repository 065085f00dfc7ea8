/*
 * pw-loadgen: load generator for peerwatt-exchange (tests and benches).
 *
 *   pw-loadgen init DIR N
 *       N household key files DIR/hh-I.key and the registry DIR/households
 *       (zones z0/z1, capacities of 1 GW so capacity never binds).
 *   pw-loadgen run -e EP -s SERVER_PK -m MARKET -d DIR -n N [options]
 *       -L S        interval length (default 900); orders go to interval
 *                   current + A (-A, default 2), a fixed target for the run
 *       -c COUNT    orders in total (default 10000), pre-signed before the
 *                   clock starts so the generator's signing is not measured
 *       -r RATE     orders per second in total (0 = as fast as the window allows)
 *       -w WINDOW   unanswered orders per household at most (default 32)
 *       -p LO:HI    limit prices in u/kWh (default 80000:300000)
 *       -T SECONDS  stop after this long (default 60); -i MS idle timeout
 *                   once replies stop coming (default 3000)
 *       -o FILE     append "pk-hex seq log_index" for every ACK, flushed as
 *                   they arrive (the kill -9 test checks them in the DB)
 *       -V          verify the exchange's signature on every reply
 *       -g MS       unpaced runs only: read replies at most every MS ms
 *                   (default 0: at every wake-up); with a deep window the
 *                   exchange's queue stays full and the generator wakes
 *                   once per several of its batches instead of once per
 *                   batch, so it takes less of the CPUs it shares
 * Households alternate sides (even: sell, odd: buy) so none self-trades;
 * sequence numbers start at the current time in microseconds, so runs
 * never reuse them.  Prints "sent N acked A rejected R" and
 * "rate X/s p50 Y ms p99 Z ms", plus "reject REASON COUNT" lines.
 * Exit 0 when every order was answered, 1 otherwise (e.g. killed exchange).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <zmq.h>

#include "peerwatt/config.h"
#include "peerwatt/keys.h"
#include "peerwatt/wire.h"

#define MAX_HH 4096

struct hh {
	struct pw_keypair kp;
	char hex[2 * PW_PK_LEN + 1];
	void *sock;
	uint8_t (*frames)[PW_WIRE_MAX_REQUEST];
	size_t *lens;
	uint64_t *seqs;
	size_t n_frames, next, answered;
	int64_t *sent_us; /* per frame */
};

static int64_t
now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t
num(const char *s, int64_t lo, int64_t hi)
{
	int64_t v;
	if (pw_parse_i64(s, lo, hi, &v) != PW_OK) {
		fprintf(stderr, "pw-loadgen: bad number '%s'\n", s);
		exit(64);
	}
	return v;
}

static int
init(const char *dir, int64_t n)
{
	char path[4096];
	FILE *reg;
	mkdir(dir, 0700);
	snprintf(path, sizeof(path), "%s/households", dir);
	if (!(reg = fopen(path, "w"))) {
		perror(path);
		return 1;
	}
	for (int64_t i = 0; i < n; i++) {
		struct pw_keypair kp;
		char hex[65];
		if (pw_key_generate(&kp) != PW_OK)
			return 1;
		snprintf(path, sizeof(path), "%s/hh-%lld.key", dir, (long long)i);
		pw_err rc = pw_key_save(path, &kp);
		if (rc != PW_OK) {
			fprintf(stderr, "pw-loadgen: %s: %s\n", path, pw_strerror(rc));
			return 1;
		}
		pw_hex_encode(kp.pk, 32, hex);
		fprintf(reg, "hh%lld load%lld %s LG-%lld z%lld 1000000000 1000000000\n",
		        (long long)i, (long long)i, hex, (long long)i, (long long)(i % 2));
		pw_key_wipe(&kp);
	}
	fclose(reg);
	return 0;
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
	const char *ep = NULL, *server_hex = NULL, *dir = NULL, *out_path = NULL;
	int64_t market = 1, n = 0, L = 900, ahead = 2, count = 10000, rate = 0, window = 32;
	int64_t plo = 80000, phi = 300000, tmax = 60, idle_ms = 3000, gather_ms = 0;
	int verify = 0;
	uint8_t server_pk[32], server_curve[32];

	if (pw_crypto_init() != PW_OK)
		return 1;
	if (argc == 4 && strcmp(argv[1], "init") == 0)
		return init(argv[2], num(argv[3], 1, MAX_HH));
	if (argc < 2 || strcmp(argv[1], "run") != 0) {
		fprintf(stderr,
		        "usage: pw-loadgen init DIR N | run -e EP -s PK -m ID -d DIR -n N "
		        "[-L S] [-A K] [-c COUNT] [-r RATE] [-w W] [-p LO:HI] [-T S] [-i MS] "
		        "[-o FILE] [-V] [-g MS]\n");
		return 64;
	}
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "-V") == 0) {
			verify = 1;
			continue;
		}
		if (i + 1 >= argc || a[0] != '-' || a[2] != '\0') {
			fprintf(stderr, "pw-loadgen: bad argument '%s'\n", a);
			return 64;
		}
		const char *v = argv[++i];
		switch (a[1]) {
		case 'e':
			ep = v;
			break;
		case 's':
			server_hex = v;
			break;
		case 'd':
			dir = v;
			break;
		case 'o':
			out_path = v;
			break;
		case 'm':
			market = num(v, 0, INT64_MAX);
			break;
		case 'n':
			n = num(v, 1, MAX_HH);
			break;
		case 'L':
			L = num(v, 1, 86400);
			break;
		case 'A':
			ahead = num(v, 0, 1000);
			break;
		case 'c':
			count = num(v, 1, 100000000);
			break;
		case 'r':
			rate = num(v, 0, 10000000);
			break;
		case 'w':
			window = num(v, 1, 100000);
			break;
		case 'T':
			tmax = num(v, 1, 86400);
			break;
		case 'i':
			idle_ms = num(v, 1, 600000);
			break;
		case 'g':
			gather_ms = num(v, 0, 999); /* one nanosleep of under a second */
			break;
		case 'p': {
			char lo[32];
			const char *colon = strchr(v, ':');
			if (!colon || (size_t)(colon - v) >= sizeof(lo))
				return 64;
			memcpy(lo, v, (size_t)(colon - v));
			lo[colon - v] = '\0';
			plo = num(lo, INT32_MIN, INT32_MAX); /* prices are i32 */
			phi = num(colon + 1, plo, INT32_MAX);
			break;
		}
		default:
			fprintf(stderr, "pw-loadgen: bad argument '%s'\n", a);
			return 64;
		}
	}
	if (!ep || !server_hex || !dir || !n || pw_hex_decode(server_hex, server_pk, 32) != PW_OK ||
	    pw_key_curve_public(server_pk, server_curve) != PW_OK) {
		fprintf(stderr, "pw-loadgen: -e, -s, -d and -n are required\n");
		return 64;
	}

	struct hh *h = calloc((size_t)n, sizeof(*h));
	void *ctx = zmq_ctx_new();
	int64_t t0 = now_us() / 1000000;
	uint64_t interval = (uint64_t)(t0 / L + ahead);
	uint64_t seq0 = (uint64_t)now_us();
	uint32_t rnd = (uint32_t)seq0;
	size_t per = (size_t)((count + n - 1) / n);
	FILE *out = NULL;
	if (!h || !ctx)
		return 1;
	if (out_path && !(out = fopen(out_path, "a"))) {
		perror(out_path);
		return 1;
	}
	/* keys, sockets, and every frame signed before the clock starts */
	for (int64_t i = 0; i < n; i++) {
		char path[4096];
		uint8_t cpk[32], csk[32];
		int zero = 0, hwm = 100000;
		snprintf(path, sizeof(path), "%s/hh-%lld.key", dir, (long long)i);
		if (pw_key_load(path, &h[i].kp) != PW_OK) {
			fprintf(stderr, "pw-loadgen: cannot load %s\n", path);
			return 1;
		}
		pw_hex_encode(h[i].kp.pk, 32, h[i].hex);
		h[i].n_frames = per;
		h[i].frames = calloc(per, sizeof(*h[i].frames));
		h[i].lens = calloc(per, sizeof(*h[i].lens));
		h[i].seqs = calloc(per, sizeof(*h[i].seqs));
		h[i].sent_us = calloc(per, sizeof(*h[i].sent_us));
		if (!h[i].frames || !h[i].lens || !h[i].seqs || !h[i].sent_us)
			return 1;
		for (size_t k = 0; k < per; k++) {
			struct pw_msg m;
			memset(&m, 0, sizeof(m));
			m.type = PW_MSG_ORDER;
			m.u.order.seq = seq0 + k;
			m.u.order.interval = interval;
			m.u.order.side = (i % 2) ? PW_SIDE_BUY : PW_SIDE_SELL;
			rnd = rnd * 1103515245u + 12345u;
			m.u.order.qty_wh = 1 + (rnd >> 16) % 10;
			rnd = rnd * 1103515245u + 12345u;
			m.u.order.price_uper_kwh =
			    (int32_t)(plo +
			              (int64_t)((uint64_t)(rnd >> 8) % (uint64_t)(phi - plo + 1)));
			m.u.order.expiry_s = (uint64_t)(t0 + 86400);
			h[i].seqs[k] = m.u.order.seq;
			if (pw_wire_encode(&m, (uint64_t)market, &h[i].kp, h[i].frames[k],
			                   PW_WIRE_MAX_REQUEST, &h[i].lens[k]) != PW_OK)
				return 1;
		}
		h[i].sock = zmq_socket(ctx, ZMQ_DEALER);
		if (pw_key_curve_public(h[i].kp.pk, cpk) != PW_OK ||
		    pw_key_curve_secret(&h[i].kp, csk) != PW_OK)
			return 1;
		zmq_setsockopt(h[i].sock, ZMQ_CURVE_SERVERKEY, server_curve, 32);
		zmq_setsockopt(h[i].sock, ZMQ_CURVE_PUBLICKEY, cpk, 32);
		zmq_setsockopt(h[i].sock, ZMQ_CURVE_SECRETKEY, csk, 32);
		zmq_setsockopt(h[i].sock, ZMQ_LINGER, &zero, sizeof(zero));
		zmq_setsockopt(h[i].sock, ZMQ_SNDHWM, &hwm, sizeof(hwm));
		zmq_setsockopt(h[i].sock, ZMQ_RCVHWM, &hwm, sizeof(hwm));
		if (zmq_connect(h[i].sock, ep) != 0) {
			fprintf(stderr, "pw-loadgen: connect: %s\n", zmq_strerror(zmq_errno()));
			return 1;
		}
	}

	/* Replies are awaited with epoll on each socket's ZMQ_FD (readable
	 * while the socket has commands to process) and only the sockets that
	 * may hold replies are read: zmq_poll over all 32 sockets checked each
	 * one's mailbox twice per call (a poll and a getpid each), about 9
	 * syscalls per order at peak, CPU taken from the exchange beside it. */
	struct epoll_event *evs = calloc((size_t)n, sizeof(*evs));
	unsigned char *check = malloc((size_t)n);
	int64_t *lat = calloc((size_t)(per * (size_t)n) + 1, sizeof(*lat));
	uint64_t sent = 0, acked = 0, rejected = 0, total = per * (uint64_t)n;
	uint64_t reasons[PW_REASON__COUNT] = { 0 };
	size_t nlat = 0, rr = 0;
	int epfd = epoll_create1(EPOLL_CLOEXEC);
	if (!evs || !check || !lat || epfd < 0)
		return 1;
	memset(check, 1, (size_t)n);
	for (int64_t i = 0; i < n; i++) {
		int fd;
		size_t fdlen = sizeof(fd);
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t)i };
		if (zmq_getsockopt(h[i].sock, ZMQ_FD, &fd, &fdlen) != 0 ||
		    epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
			perror("pw-loadgen: epoll");
			return 1;
		}
	}
	int64_t start = now_us(), last_reply = start, first_ack = 0, last_ack = 0;
	while (acked + rejected < total) {
		int64_t t = now_us();
		int busy = 0;
		if (t - start > tmax * 1000000 || t - last_reply > idle_ms * 1000)
			break;
		/* pacing: how many may have been sent by now */
		uint64_t allowed = rate > 0 ? (uint64_t)((t - start) * rate / 1000000) + 1 : total;
		/* each household in turn fills its window (as far as the pacing
		 * allows): one pass per wake-up, not per order */
		for (int64_t k = 0; k < n && sent < allowed && sent < total; k++) {
			struct hh *x = &h[rr];
			size_t before = x->next;
			while (sent < allowed && x->next < x->n_frames &&
			       (int64_t)(x->next - x->answered) < window) {
				if (zmq_send(x->sock, x->frames[x->next], x->lens[x->next],
				             ZMQ_DONTWAIT) < 0)
					break;
				x->sent_us[x->next] = now_us();
				x->next++;
				sent++;
				last_reply = sent == 1 ? now_us() : last_reply;
			}
			/* a send may process the socket's commands, and with them
			 * the wake-up of its ZMQ_FD: read it once more */
			if (x->next != before) {
				check[rr] = 1;
				busy = 1;
			}
			rr = (rr + 1) % (size_t)n;
		}
		for (int64_t i = 0; i < n; i++) {
			if (!check[i])
				continue;
			check[i] = 0;
			for (;;) {
				uint8_t buf[4096];
				int len = zmq_recv(h[i].sock, buf, sizeof(buf), ZMQ_DONTWAIT);
				if (len < 0)
					break;
				struct pw_msg m;
				int64_t tr = now_us();
				struct hh *x = &h[i];
				last_reply = tr;
				busy = 1;
				if (x->answered >= x->next)
					continue; /* not ours */
				size_t k = x->answered++;
				lat[nlat++] = tr - x->sent_us[k];
				if ((size_t)len > sizeof(buf) ||
				    pw_wire_decode(buf, (size_t)len, &m) != PW_OK ||
				    (verify &&
				     pw_wire_verify(buf, (size_t)len, (uint64_t)market) != PW_OK)) {
					rejected++;
					continue;
				}
				if (m.type == PW_MSG_ACK) {
					acked++;
					if (!first_ack)
						first_ack = tr;
					last_ack = tr;
					if (out)
						fprintf(out, "%s %llu %llu\n", x->hex,
						        (unsigned long long)x->seqs[k],
						        (unsigned long long)m.u.receipt.log_index);
				} else {
					rejected++;
					if (m.u.receipt.reason < PW_REASON__COUNT)
						reasons[m.u.receipt.reason]++;
				}
			}
		}
		if (out)
			fflush(out);
		/* block only when this pass neither sent nor received */
		int wait = busy ? 0 : (rate > 0 && sent < total) ? 1 : 10;
		if (busy && rate == 0 && gather_ms > 0) {
			struct timespec nap = { 0, (long)gather_ms * 1000000L };
			nanosleep(&nap, NULL);
		}
		int ne = epoll_wait(epfd, evs, (int)n, wait);
		if (ne < 0 && errno != EINTR)
			break;
		for (int e = 0; e < ne; e++)
			check[evs[e].data.u32] = 1;
	}
	int64_t end = now_us();
	double secs = (double)(end - start) / 1e6;
	qsort(lat, nlat, sizeof(*lat), cmp_i64);
	double p50 = nlat ? (double)lat[nlat / 2] / 1000.0 : 0;
	double p99 =
	    nlat ? (double)lat[(nlat * 99) / 100 < nlat ? (nlat * 99) / 100 : nlat - 1] / 1000.0
	         : 0;
	double ack_rate = last_ack > first_ack ? (double)acked / ((double)(last_ack - start) / 1e6)
	                                       : (double)acked / secs;
	printf("sent %llu acked %llu rejected %llu in %.3f s\n", (unsigned long long)sent,
	       (unsigned long long)acked, (unsigned long long)rejected, secs);
	printf("rate %.1f/s p50 %.3f ms p99 %.3f ms\n", ack_rate, p50, p99);
	for (unsigned r = 1; r < PW_REASON__COUNT; r++)
		if (reasons[r])
			printf("reject %s %llu\n", pw_reason_name(r),
			       (unsigned long long)reasons[r]);
	if (out)
		fclose(out);
	for (int64_t i = 0; i < n; i++) {
		zmq_close(h[i].sock);
		pw_key_wipe(&h[i].kp);
		free(h[i].frames);
		free(h[i].lens);
		free(h[i].seqs);
		free(h[i].sent_us);
	}
	zmq_ctx_term(ctx);
	close(epfd);
	free(evs);
	free(check);
	free(lat);
	free(h);
	return acked + rejected == total ? 0 : 1;
}
