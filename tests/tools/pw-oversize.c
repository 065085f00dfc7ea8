/*
 * pw-oversize: a fake exchange that sends oversize messages, for
 * tests/integration/agent_relink.sh.  Binds a CURVE ROUTER on REQ_EP and a
 * CURVE XPUB (a PUB that sees subscriptions) on PUB_EP with the exchange's
 * own key, and on each socket, twice: waits for an agent's connection (a
 * request from a new DEALER identity; the four subscriptions of a new SUB),
 * then sends it one message its ZMQ_MAXMSGSIZE (1 MiB) refuses: first
 * 2 MiB, then exactly 1 MiB (over the limit with CURVE's 33 bytes).  It
 * then waits for a third connection on each socket, which proves the agent
 * re-connected after each fault.  Then it goes mute on the ROUTER while it
 * publishes a correctly signed HEARTBEAT (market MARKET_ID, period 1 s)
 * every 200 ms, until requests came from two more DEALER identities: the
 * agent gave up, twice, on a socket whose requests get no reply although
 * its market data flows (in between, its status says so).  Exits 0 then.
 * One line per event:
 *   "router: sent 2097152 bytes", "router: new connection 512 ms after
 *   the oversize message", ..., "router: new connection 10130 ms after
 *   the first unanswered request" (twice), and "done".
 * Exits 1 when SECONDS pass first.  Loopback test traffic only.
 *
 *   pw-oversize EXKEY REQ_EP PUB_EP MARKET_ID SECONDS
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <zmq.h>

#include "peerwatt/keys.h"
#include "peerwatt/wire.h"

#define ROUNDS 2 /* oversize messages per socket */
#define TOPICS 4 /* subscriptions of one agent SUB (agent/xlink.c) */

static const size_t sizes[ROUNDS] = { 2u << 20, 1u << 20 };

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void *
server(void *ctx, int type, const uint8_t *sk, const char *ep)
{
	int one = 1, zero = 0;
	void *s = zmq_socket(ctx, type);

	if (s == NULL || zmq_setsockopt(s, ZMQ_CURVE_SERVER, &one, sizeof(one)) != 0 ||
	    zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, sk, PW_CURVE_LEN) != 0 ||
	    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof(zero)) != 0 ||
	    (type == ZMQ_XPUB && zmq_setsockopt(s, ZMQ_XPUB_VERBOSE, &one, sizeof(one)) != 0) ||
	    zmq_bind(s, ep) != 0) {
		fprintf(stderr, "pw-oversize: %s: %s\n", ep, zmq_strerror(zmq_errno()));
		return NULL;
	}
	return s;
}

struct side {
	const char *name;
	int round;       /* oversize messages sent */
	int subs;        /* XPUB: subscriptions since the last send */
	long long t_big; /* when the last one was sent */
	unsigned char id[256];
	size_t id_len; /* ROUTER: the identity the last one went to */
	int done;
};

/* One more connection seen: send the next oversize message, or finish. */
static int
next(struct side *sd, void *s, const unsigned char *id, size_t id_len)
{
	static unsigned char buf[2u << 20];
	size_t n;

	if (sd->round > 0)
		printf("%s: new connection %lld ms after the oversize message\n", sd->name,
		       now_ms() - sd->t_big);
	if (sd->round == ROUNDS) {
		sd->done = 1;
		if (id != NULL) { /* the mute phase starts from this identity */
			memcpy(sd->id, id, id_len);
			sd->id_len = id_len;
		}
		return 0;
	}
	n = sizes[sd->round];
	if (id != NULL) { /* ROUTER: to that identity */
		if (zmq_send(s, id, id_len, ZMQ_SNDMORE) < 0 || zmq_send(s, buf, n, 0) < 0)
			return -1;
		memcpy(sd->id, id, id_len);
		sd->id_len = id_len;
	} else { /* PUB: a topic the agent subscribes to */
		const char *topic = sd->round == 0 ? "RESULT" : "DEPTH";
		if (zmq_send(s, topic, strlen(topic), ZMQ_SNDMORE) < 0 ||
		    zmq_send(s, buf, n, 0) < 0)
			return -1;
	}
	printf("%s: sent %zu bytes\n", sd->name, n);
	fflush(stdout);
	sd->round++;
	sd->subs = 0;
	sd->t_big = now_ms();
	return 0;
}

/* Publishes one signed HEARTBEAT (topic, frame); 0 or -1. */
static int
heartbeat(void *xpub, const struct pw_keypair *kp, uint64_t market)
{
	struct pw_msg m;
	struct timespec ts;
	uint8_t frame[256];
	size_t len;
	const char *topic = pw_msg_type_name(PW_MSG_HEARTBEAT);

	clock_gettime(CLOCK_REALTIME, &ts);
	memset(&m, 0, sizeof(m));
	m.type = PW_MSG_HEARTBEAT;
	m.u.heartbeat.time_ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	m.u.heartbeat.period_ms = 1000;
	m.u.heartbeat.interval_s = 3;
	m.u.heartbeat.gate_s = 1;
	m.u.heartbeat.feedin_uper_kwh = 80000;
	m.u.heartbeat.retail_uper_kwh = 300000;
	if (pw_wire_encode(&m, market, kp, frame, sizeof(frame), &len) != PW_OK ||
	    zmq_send(xpub, topic, strlen(topic), ZMQ_SNDMORE) < 0 ||
	    zmq_send(xpub, frame, len, 0) < 0)
		return -1;
	return 0;
}

int
main(int argc, char **argv)
{
	struct pw_keypair kp;
	uint8_t sk[PW_CURVE_LEN];
	struct side rs = { .name = "router" }, ps = { .name = "pub" };
	void *ctx, *router, *xpub;
	long long end, next_hb = 0, t_mute = 0;
	unsigned long long market;
	int mute_done = 0, mute_conns = 0;
	char *e;
	long secs;

	if (argc != 6) {
		fprintf(stderr, "usage: pw-oversize EXKEY REQ_EP PUB_EP MARKET_ID SECONDS\n");
		return 64;
	}
	market = strtoull(argv[4], &e, 10);
	if (*e != '\0' || *argv[4] == '\0') {
		fprintf(stderr, "pw-oversize: bad MARKET_ID\n");
		return 64;
	}
	secs = strtol(argv[5], &e, 10);
	if (*e != '\0' || secs < 1 || secs > 3600) {
		fprintf(stderr, "pw-oversize: bad SECONDS\n");
		return 64;
	}
	if (pw_crypto_init() != PW_OK || pw_key_load(argv[1], &kp) != PW_OK ||
	    pw_key_curve_secret(&kp, sk) != PW_OK) {
		fprintf(stderr, "pw-oversize: cannot load %s\n", argv[1]);
		return 70;
	}
	ctx = zmq_ctx_new();
	router = server(ctx, ZMQ_ROUTER, sk, argv[2]);
	xpub = server(ctx, ZMQ_XPUB, sk, argv[3]);
	if (router == NULL || xpub == NULL)
		return 70;
	printf("listening\n");
	fflush(stdout);
	end = now_ms() + secs * 1000;
	while (!mute_done && now_ms() < end) {
		int mute = rs.done && ps.done;
		zmq_pollitem_t it[2] = { { router, 0, ZMQ_POLLIN, 0 }, { xpub, 0, ZMQ_POLLIN, 0 } };
		unsigned char id[256], body[512];
		int n, more;
		size_t ml = sizeof(more);

		if (zmq_poll(it, 2, 200) < 0)
			break;
		if (it[0].revents & ZMQ_POLLIN) {
			/* [identity][request]: a request from an identity other
			 * than the last one oversized is a new connection */
			n = zmq_recv(router, id, sizeof(id), 0);
			more = 0;
			(void)zmq_getsockopt(router, ZMQ_RCVMORE, &more, &ml);
			while (more) {
				(void)zmq_recv(router, body, sizeof(body), 0);
				(void)zmq_getsockopt(router, ZMQ_RCVMORE, &more, &ml);
			}
			int fresh = n > 0 && (size_t)n <= sizeof(id) &&
			            (rs.round == 0 || (size_t)n != rs.id_len ||
			             memcmp(id, rs.id, (size_t)n) != 0);
			if (mute && t_mute == 0)
				t_mute = now_ms(); /* the first request left unanswered */
			if (mute && fresh) {
				printf("router: new connection %lld ms after the first unanswered"
				       " request\n",
				       now_ms() - t_mute);
				fflush(stdout);
				memcpy(rs.id, id, (size_t)n);
				rs.id_len = (size_t)n;
				mute_done = ++mute_conns == 2;
			} else if (fresh && !rs.done && next(&rs, router, id, (size_t)n) != 0)
				break;
		}
		if (it[1].revents & ZMQ_POLLIN) {
			/* 0x01 + topic: a subscription; an agent's SUB sends four
			 * when it connects */
			n = zmq_recv(xpub, body, sizeof(body), 0);
			if (n > 0 && body[0] == 1 && !ps.done && ++ps.subs == TOPICS &&
			    next(&ps, xpub, NULL, 0) != 0)
				break;
		}
		if (mute && now_ms() >= next_hb) {
			if (heartbeat(xpub, &kp, market) != 0)
				break;
			next_hb = now_ms() + 200;
		}
	}
	printf("%s\n", mute_done ? "done" : "timed out");
	zmq_close(router);
	zmq_close(xpub);
	zmq_ctx_term(ctx);
	pw_key_wipe(&kp);
	return mute_done ? 0 : 1;
}
