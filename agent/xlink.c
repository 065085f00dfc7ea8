/*
 * xlink.c: DEALER + SUB with CURVE, and the checks on every received frame
 * (see xlink.h).
 */
#include "agent/xlink.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <zmq.h>

#include "peerwatt/log.h"

/* Largest message the exchange sends (a RESULT part); more is an attack. */
#define XLINK_MAXMSG ((int64_t)PW_WIRE_MAX_LEN)

#define XLINK_BAD_BURST 64

struct xlink {
	void *dealer, *sub;
	void *mon[2]; /* PAIR sockets reading the DEALER's and SUB's monitor */
	enum xlink_handshake hs[2];
	unsigned hs_code[2];
	uint8_t exchange_pk[PW_PK_LEN];
	uint64_t market_id;
	zmq_msg_t cur; /* the frame last returned */
	int have_cur;
	int sub_topic_pending; /* SUB: next frame is a topic */
	struct xlink_stats stats;
	/* a flood of bad frames logs one line per LOG_RATE_MS and kind, with
	 * counts (stats.bad counts every one) */
	struct log_rate rate_bad, rate_key, rate_type;
};

static pw_err
setup_socket(void *s, const uint8_t server[32], const uint8_t cpk[32], const uint8_t csk[32],
             const char *ep)
{
	int zero = 0, one = 1, hwm = 1000, ivl_ms = 250, ivl_max_ms = 5000;
	int64_t max = XLINK_MAXMSG;

	if (zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, server, 32) != 0 ||
	    zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, cpk, 32) != 0 ||
	    zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, csk, 32) != 0 ||
	    zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &max, sizeof(max)) != 0 ||
	    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof(zero)) != 0 ||
	    zmq_setsockopt(s, ZMQ_RCVHWM, &hwm, sizeof(hwm)) != 0 ||
	    zmq_setsockopt(s, ZMQ_RECONNECT_IVL, &ivl_ms, sizeof(ivl_ms)) != 0 ||
	    zmq_setsockopt(s, ZMQ_RECONNECT_IVL_MAX, &ivl_max_ms, sizeof(ivl_max_ms)) != 0)
		return PW_ERR_ZMQ;
	(void)one;
	if (zmq_connect(s, ep) != 0) {
		log_warnx("xlink: connect %s: %s", ep, zmq_strerror(zmq_errno()));
		return PW_ERR_ZMQ;
	}
	return PW_OK;
}

#define HS_EVENTS                                                                                  \
	(ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |                    \
	 ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)

/* A PAIR socket receiving socket s's handshake events (slot i). */
static pw_err
monitor(void *zctx, struct xlink *x, int i, void *s)
{
	char ep[64];
	int zero = 0;

	snprintf(ep, sizeof(ep), "inproc://pw-xlink-%p-%d", (void *)x, i);
	if (zmq_socket_monitor(s, ep, HS_EVENTS) != 0)
		return PW_ERR_ZMQ;
	x->mon[i] = zmq_socket(zctx, ZMQ_PAIR);
	if (x->mon[i] == NULL || zmq_setsockopt(x->mon[i], ZMQ_LINGER, &zero, sizeof(zero)) != 0 ||
	    zmq_connect(x->mon[i], ep) != 0)
		return PW_ERR_ZMQ;
	return PW_OK;
}

static void
close_all(struct xlink *x)
{
	if (x->dealer != NULL)
		(void)zmq_socket_monitor(x->dealer, NULL, 0);
	if (x->sub != NULL)
		(void)zmq_socket_monitor(x->sub, NULL, 0);
	for (int i = 0; i < 2; i++)
		if (x->mon[i] != NULL)
			zmq_close(x->mon[i]);
	if (x->dealer != NULL)
		zmq_close(x->dealer);
	if (x->sub != NULL)
		zmq_close(x->sub);
}

pw_err
xlink_new(void *zctx, const struct xlink_cfg *cfg, struct xlink **out)
{
	static const char *const topics[] = { "RESULT", "DEPTH", "CHECKPOINT", "HEARTBEAT" };
	struct xlink *x;
	uint8_t server[PW_CURVE_LEN], cpk[PW_CURVE_LEN], csk[PW_CURVE_LEN];
	int one = 1;
	pw_err rc;

	*out = NULL;
	if ((rc = pw_key_curve_public(cfg->exchange_pk, server)) != PW_OK ||
	    (rc = pw_key_curve_public(cfg->kp->pk, cpk)) != PW_OK ||
	    (rc = pw_key_curve_secret(cfg->kp, csk)) != PW_OK)
		return rc;
	x = calloc(1, sizeof(*x));
	if (x == NULL) {
		sodium_memzero(csk, sizeof(csk));
		return PW_ERR_NOMEM;
	}
	memcpy(x->exchange_pk, cfg->exchange_pk, PW_PK_LEN);
	x->market_id = cfg->market_id;
	x->sub_topic_pending = 1;
	x->dealer = zmq_socket(zctx, ZMQ_DEALER);
	x->sub = zmq_socket(zctx, ZMQ_SUB);
	rc = PW_ERR_ZMQ;
	if (x->dealer == NULL || x->sub == NULL)
		goto fail;
	/* IMMEDIATE: a request is only queued on a completed connection, so
	 * while the exchange is away sends fail fast and stay in the outbox. */
	if (zmq_setsockopt(x->dealer, ZMQ_IMMEDIATE, &one, sizeof(one)) != 0)
		goto fail;
	for (size_t i = 0; i < sizeof(topics) / sizeof(topics[0]); i++)
		if (zmq_setsockopt(x->sub, ZMQ_SUBSCRIBE, topics[i], strlen(topics[i])) != 0)
			goto fail;
	if (monitor(zctx, x, 0, x->dealer) != PW_OK || monitor(zctx, x, 1, x->sub) != PW_OK)
		goto fail;
	if ((rc = setup_socket(x->dealer, server, cpk, csk, cfg->request)) != PW_OK ||
	    (rc = setup_socket(x->sub, server, cpk, csk, cfg->pub)) != PW_OK)
		goto fail;
	sodium_memzero(csk, sizeof(csk));
	*out = x;
	return PW_OK;
fail:
	sodium_memzero(csk, sizeof(csk));
	close_all(x);
	free(x);
	return rc;
}

void
xlink_destroy(struct xlink **xp)
{
	struct xlink *x;

	if (xp == NULL || *xp == NULL)
		return;
	x = *xp;
	if (x->have_cur)
		zmq_msg_close(&x->cur);
	close_all(x);
	free(x);
	*xp = NULL;
}

void *
xlink_dealer(struct xlink *x)
{
	return x->dealer;
}

void *
xlink_sub(struct xlink *x)
{
	return x->sub;
}

pw_err
xlink_send(struct xlink *x, const uint8_t *frame, size_t len)
{
	if (len == 0 || len > PW_WIRE_MAX_REQUEST)
		return PW_ERR_ARG;
	if (zmq_send(x->dealer, frame, len, ZMQ_DONTWAIT) < 0) {
		if (zmq_errno() == EAGAIN) {
			x->stats.send_blocked++;
			return PW_ERR_FULL;
		}
		log_warnx("xlink: send: %s", zmq_strerror(zmq_errno()));
		return PW_ERR_ZMQ;
	}
	x->stats.sent++;
	return PW_OK;
}

static int
is_exchange_type(uint8_t t)
{
	return t >= PW_MSG_ACK && t <= PW_MSG_HEARTBEAT;
}

/* Receives one frame into x->cur; 1 = got one, 0 = none. */
static int
recv_frame(struct xlink *x, void *s, int *more)
{
	int m = 0;
	size_t ml = sizeof(m);

	if (x->have_cur) {
		zmq_msg_close(&x->cur);
		x->have_cur = 0;
	}
	zmq_msg_init(&x->cur);
	if (zmq_msg_recv(&x->cur, s, ZMQ_DONTWAIT) < 0) {
		if (zmq_errno() != EAGAIN)
			log_warnx("xlink: receive: %s", zmq_strerror(zmq_errno()));
		zmq_msg_close(&x->cur);
		return 0;
	}
	x->have_cur = 1;
	if (zmq_getsockopt(s, ZMQ_RCVMORE, &m, &ml) != 0)
		m = 0;
	*more = m;
	return 1;
}

pw_err
xlink_recv(struct xlink *x, int from_sub, const uint8_t **frame, size_t *len, struct pw_msg *m)
{
	void *s = from_sub ? x->sub : x->dealer;
	char topic[16];
	int more = 0;

	/* Bad frames are dropped here; at most XLINK_BAD_BURST per call, so a
	 * flood of them cannot keep the caller's loop (and the dashboard) from
	 * running: PW_ERR_NOTFOUND then, and the socket stays readable. */
	for (unsigned bad = 0; bad < XLINK_BAD_BURST; bad++) {
		topic[0] = '\0';
		if (from_sub) {
			/* PUB messages are [topic][frame]; resynchronise on any
			 * other shape. */
			size_t tl;
			if (!recv_frame(x, s, &more))
				return PW_ERR_NOTFOUND;
			tl = zmq_msg_size(&x->cur);
			if (!more || tl == 0 || tl >= sizeof(topic)) {
				x->stats.bad++;
				while (more && recv_frame(x, s, &more))
					;
				continue;
			}
			memcpy(topic, zmq_msg_data(&x->cur), tl);
			topic[tl] = '\0';
		}
		if (!recv_frame(x, s, &more))
			return PW_ERR_NOTFOUND;
		if (from_sub && more) {
			x->stats.bad++;
			while (more && recv_frame(x, s, &more))
				;
			continue;
		}
		x->stats.received++;
		*frame = zmq_msg_data(&x->cur);
		*len = zmq_msg_size(&x->cur);
		pw_err rc = pw_wire_open(*frame, *len, x->market_id, m);
		if (rc != PW_OK) {
			x->stats.bad++;
			log_rated(&x->rate_bad, LOG_LEVEL_ERR,
			          "xlink: dropped a %zu-byte frame from the exchange: %s", *len,
			          pw_strerror(rc));
			continue;
		}
		if (memcmp(m->author, x->exchange_pk, PW_PK_LEN) != 0) {
			x->stats.bad++;
			log_rated(&x->rate_key, LOG_LEVEL_ERR,
			          "xlink: dropped a %s not signed by the pinned exchange key",
			          pw_msg_type_name(m->type));
			continue;
		}
		if (!is_exchange_type(m->type) ||
		    (from_sub && strcmp(topic, pw_msg_type_name(m->type)) != 0)) {
			x->stats.bad++;
			log_rated(&x->rate_type, LOG_LEVEL_WARN,
			          "xlink: dropped an unexpected %s (topic \"%s\")",
			          pw_msg_type_name(m->type), topic);
			continue;
		}
		return PW_OK;
	}
	return PW_ERR_NOTFOUND;
}

const struct xlink_stats *
xlink_stats(const struct xlink *x)
{
	return &x->stats;
}

/* A monitor event is two frames: u16 event and u32 value (host order), then
 * the endpoint; anything else is skipped. */
static void
read_events(struct xlink *x, int i)
{
	for (;;) {
		zmq_msg_t ev;
		uint16_t id;
		uint32_t value;
		int more;

		zmq_msg_init(&ev);
		if (zmq_msg_recv(&ev, x->mon[i], ZMQ_DONTWAIT) < 0) {
			zmq_msg_close(&ev);
			return;
		}
		more = zmq_msg_more(&ev);
		if (zmq_msg_size(&ev) == 6) {
			memcpy(&id, zmq_msg_data(&ev), 2);
			memcpy(&value, (const uint8_t *)zmq_msg_data(&ev) + 2, 4);
			if (id == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
				x->hs[i] = XLINK_HS_OK;
			} else if (id == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) {
				x->hs[i] = XLINK_HS_REFUSED;
				x->hs_code[i] = value;
			} else if (id == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL ||
			           id == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL) {
				x->hs[i] = XLINK_HS_FAILED;
			}
		}
		zmq_msg_close(&ev);
		while (more) {
			zmq_msg_init(&ev);
			if (zmq_msg_recv(&ev, x->mon[i], ZMQ_DONTWAIT) < 0) {
				zmq_msg_close(&ev);
				return;
			}
			more = zmq_msg_more(&ev);
			zmq_msg_close(&ev);
		}
	}
}

enum xlink_handshake
xlink_handshake(struct xlink *x, unsigned *code)
{
	enum xlink_handshake worst = XLINK_HS_NONE;
	for (int i = 0; i < 2; i++) {
		read_events(x, i);
		/* a refusal says the most, then a failure, then success */
		if (x->hs[i] == XLINK_HS_REFUSED ||
		    (x->hs[i] == XLINK_HS_FAILED && worst != XLINK_HS_REFUSED) ||
		    (x->hs[i] == XLINK_HS_OK && worst == XLINK_HS_NONE)) {
			worst = x->hs[i];
			if (code != NULL)
				*code = x->hs_code[i];
		}
	}
	return worst;
}
