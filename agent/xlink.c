/*
 * xlink.c: DEALER + SUB with CURVE, and the checks on every received frame
 * (see xlink.h).
 */
#include "agent/xlink.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>
#include <zmq.h>

#include "peerwatt/log.h"

/* Largest message the exchange sends (a RESULT part); more is an attack.
 * libzmq applies it to the CURVE-encrypted frame, 33 bytes longer: the
 * largest message that passes is 1048543 bytes, and the exchange's are far
 * smaller (docs/protocol.md "Transport"). */
#define XLINK_MAXMSG ((int64_t)PW_WIRE_MAX_LEN)

#define XLINK_BAD_BURST 64

/* Re-creating the sockets (docs/agent.md "Link to the exchange"): the
 * delay between two re-creations doubles from MIN to MAX and falls back
 * to MIN once a verified frame arrives.  The SUB is dead after SUB_PERIODS
 * heartbeat periods without a verified frame (not less than SUB_MIN_MS);
 * the DEALER after REPLY_TIMEOUTS reply timeouts (not less than
 * REPLY_MIN_MS) with a request sent and no verified reply since. */
#define XLINK_BACKOFF_MIN_MS   500
#define XLINK_BACKOFF_MAX_MS   30000
#define XLINK_SUB_PERIODS      4
#define XLINK_SUB_MIN_MS       5000
#define XLINK_HB_DEFAULT_MS    2000
#define XLINK_HB_MAX_MS        60000
#define XLINK_REPLY_TIMEOUTS   3
#define XLINK_REPLY_MIN_MS     10000
#define XLINK_REPLY_DEFAULT_MS 3000

enum { XL_DEALER = 0, XL_SUB = 1 };

struct xlink {
	void *zctx;    /* borrowed */
	char *ep[2];   /* endpoints: ROUTER, PUB */
	void *sock[2]; /* DEALER, SUB */
	void *mon[2];  /* PAIR sockets reading the DEALER's and SUB's monitor */
	unsigned gen;  /* socket generation: names the monitors' endpoints */
	uint8_t server[PW_CURVE_LEN], cpk[PW_CURVE_LEN], csk[PW_CURVE_LEN]; /* csk wiped */
	enum xlink_handshake hs[2];
	unsigned hs_code[2];
	uint8_t exchange_pk[PW_PK_LEN];
	uint64_t market_id;
	/* liveness, monotonic ms */
	int64_t linked_ms;     /* when the sockets were (re)created */
	int64_t rx_ms[2];      /* last verified frame on each socket (0: none yet) */
	int64_t waiting_ms;    /* oldest request with no verified reply since (0: none) */
	int64_t unanswered_ms; /* the same across re-creations (for the status) */
	int64_t hb_period_ms;  /* from the last verified HEARTBEAT */
	int64_t reply_dead_ms; /* a request unanswered this long: the DEALER is dead */
	int dropped[2];        /* the monitor saw the connection close since linked_ms */
	int64_t backoff_ms, next_link_ms;
	int healed;    /* a verified frame arrived since the last re-creation */
	zmq_msg_t cur; /* the frame last returned */
	int have_cur;
	int sub_topic_pending; /* SUB: next frame is a topic */
	/* SUB: inside a COSIGNED message ([topic][CHECKPOINT][COSIGN]...)
	 * or a MARKET one ([topic][MARKET]...): the next frame has no topic;
	 * frames of it read so far */
	int sub_cosigned, sub_market;
	unsigned sub_cosigned_n, sub_market_n;
	/* per socket: the frame last returned has more frames after it in its
	 * message; a frame of the message under way was dropped */
	int more[2], in_msg[2], msg_first[2], msg_dropped[2];
	struct xlink_stats stats;
	/* a flood of bad frames logs one line per LOG_RATE_MS and kind, with
	 * counts (stats.bad counts every one) */
	struct log_rate rate_bad, rate_key, rate_type, rate_relink;
};

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static pw_err
setup_socket(struct xlink *x, void *s, const char *ep)
{
	int zero = 0, hwm = 1000, ivl_ms = 250, ivl_max_ms = 5000;
	int64_t max = XLINK_MAXMSG;

	if (zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, x->server, PW_CURVE_LEN) != 0 ||
	    zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, x->cpk, PW_CURVE_LEN) != 0 ||
	    zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, x->csk, PW_CURVE_LEN) != 0 ||
	    zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &max, sizeof(max)) != 0 ||
	    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof(zero)) != 0 ||
	    zmq_setsockopt(s, ZMQ_RCVHWM, &hwm, sizeof(hwm)) != 0 ||
	    zmq_setsockopt(s, ZMQ_RECONNECT_IVL, &ivl_ms, sizeof(ivl_ms)) != 0 ||
	    zmq_setsockopt(s, ZMQ_RECONNECT_IVL_MAX, &ivl_max_ms, sizeof(ivl_max_ms)) != 0)
		return PW_ERR_ZMQ;
	if (zmq_connect(s, ep) != 0) {
		log_warnx("xlink: connect %s: %s", ep, zmq_strerror(zmq_errno()));
		return PW_ERR_ZMQ;
	}
	return PW_OK;
}

/* DISCONNECTED comes for every end of a connection, including the one
 * libzmq never recovers from: a message over ZMQ_MAXMSGSIZE or a malformed
 * one is a protocol error, after which a connecting socket does not
 * reconnect (xlink_tick re-creates the socket instead). */
#define HS_EVENTS                                                                                  \
	(ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |                    \
	 ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |                   \
	 ZMQ_EVENT_DISCONNECTED)

/* A PAIR socket receiving socket s's events (slot i). */
static pw_err
monitor(struct xlink *x, int i, void *s)
{
	char ep[80];
	int zero = 0;

	snprintf(ep, sizeof(ep), "inproc://pw-xlink-%p-%d-%u", (void *)x, i, x->gen);
	if (zmq_socket_monitor(s, ep, HS_EVENTS) != 0)
		return PW_ERR_ZMQ;
	x->mon[i] = zmq_socket(x->zctx, ZMQ_PAIR);
	if (x->mon[i] == NULL || zmq_setsockopt(x->mon[i], ZMQ_LINGER, &zero, sizeof(zero)) != 0 ||
	    zmq_connect(x->mon[i], ep) != 0)
		return PW_ERR_ZMQ;
	return PW_OK;
}

/* Closes both sockets and their monitors (what they still held is lost:
 * the outbox keeps every request until it is answered). */
static void
link_close(struct xlink *x)
{
	for (int i = 0; i < 2; i++)
		if (x->sock[i] != NULL)
			(void)zmq_socket_monitor(x->sock[i], NULL, 0);
	for (int i = 0; i < 2; i++) {
		if (x->mon[i] != NULL)
			zmq_close(x->mon[i]);
		if (x->sock[i] != NULL)
			zmq_close(x->sock[i]);
		x->mon[i] = x->sock[i] = NULL;
	}
	if (x->have_cur) {
		zmq_msg_close(&x->cur);
		x->have_cur = 0;
	}
}

/* Creates, watches and connects both sockets (a new generation). */
static pw_err
link_open(struct xlink *x)
{
	static const char *const topics[] = { "RESULT",    "DEPTH",    "CHECKPOINT",
		                              "HEARTBEAT", "COSIGNED", "MARKET" };
	int one = 1;
	pw_err rc;

	x->gen++;
	x->sub_topic_pending = 1;
	x->sub_cosigned = x->sub_market = 0;
	for (int i = 0; i < 2; i++)
		x->more[i] = x->in_msg[i] = x->msg_first[i] = x->msg_dropped[i] = 0;
	x->sock[XL_DEALER] = zmq_socket(x->zctx, ZMQ_DEALER);
	x->sock[XL_SUB] = zmq_socket(x->zctx, ZMQ_SUB);
	if (x->sock[XL_DEALER] == NULL || x->sock[XL_SUB] == NULL)
		return PW_ERR_ZMQ;
	/* IMMEDIATE: a request is only queued on a completed connection, so
	 * while the exchange is away sends fail fast and stay in the outbox. */
	if (zmq_setsockopt(x->sock[XL_DEALER], ZMQ_IMMEDIATE, &one, sizeof(one)) != 0)
		return PW_ERR_ZMQ;
	for (size_t i = 0; i < sizeof(topics) / sizeof(topics[0]); i++)
		if (zmq_setsockopt(x->sock[XL_SUB], ZMQ_SUBSCRIBE, topics[i], strlen(topics[i])) !=
		    0)
			return PW_ERR_ZMQ;
	for (int i = 0; i < 2; i++)
		if ((rc = monitor(x, i, x->sock[i])) != PW_OK)
			return rc;
	for (int i = 0; i < 2; i++)
		if ((rc = setup_socket(x, x->sock[i], x->ep[i])) != PW_OK)
			return rc;
	x->linked_ms = mono_ms();
	x->waiting_ms = 0;
	x->dropped[0] = x->dropped[1] = 0;
	return PW_OK;
}

static void
free_link(struct xlink *x)
{
	link_close(x);
	sodium_memzero(x->csk, sizeof(x->csk));
	free(x->ep[0]);
	free(x->ep[1]);
	free(x);
}

pw_err
xlink_new(void *zctx, const struct xlink_cfg *cfg, struct xlink **out)
{
	struct xlink *x;
	pw_err rc;

	*out = NULL;
	x = calloc(1, sizeof(*x));
	if (x == NULL)
		return PW_ERR_NOMEM;
	if ((rc = pw_key_curve_public(cfg->exchange_pk, x->server)) != PW_OK ||
	    (rc = pw_key_curve_public(cfg->kp->pk, x->cpk)) != PW_OK ||
	    (rc = pw_key_curve_secret(cfg->kp, x->csk)) != PW_OK) {
		free_link(x);
		return rc;
	}
	x->zctx = zctx;
	memcpy(x->exchange_pk, cfg->exchange_pk, PW_PK_LEN);
	x->market_id = cfg->market_id;
	x->ep[XL_DEALER] = strdup(cfg->request);
	x->ep[XL_SUB] = strdup(cfg->pub);
	if (x->ep[0] == NULL || x->ep[1] == NULL) {
		free_link(x);
		return PW_ERR_NOMEM;
	}
	x->hb_period_ms = XLINK_HB_DEFAULT_MS;
	x->reply_dead_ms =
	    (cfg->reply_timeout_ms > 0 ? cfg->reply_timeout_ms : XLINK_REPLY_DEFAULT_MS) *
	    XLINK_REPLY_TIMEOUTS;
	if (x->reply_dead_ms < XLINK_REPLY_MIN_MS)
		x->reply_dead_ms = XLINK_REPLY_MIN_MS;
	x->backoff_ms = XLINK_BACKOFF_MIN_MS;
	if ((rc = link_open(x)) != PW_OK) {
		free_link(x);
		return rc;
	}
	*out = x;
	return PW_OK;
}

void
xlink_destroy(struct xlink **xp)
{
	if (xp == NULL || *xp == NULL)
		return;
	free_link(*xp);
	*xp = NULL;
}

void *
xlink_dealer(struct xlink *x)
{
	return x->sock[XL_DEALER];
}

void *
xlink_sub(struct xlink *x)
{
	return x->sock[XL_SUB];
}

pw_err
xlink_send(struct xlink *x, const uint8_t *frame, size_t len)
{
	if (len == 0 || len > PW_WIRE_MAX_REQUEST)
		return PW_ERR_ARG;
	if (x->sock[XL_DEALER] == NULL)
		return PW_ERR_FULL; /* between two generations: stays in the outbox */
	if (zmq_send(x->sock[XL_DEALER], frame, len, ZMQ_DONTWAIT) < 0) {
		if (zmq_errno() == EAGAIN) {
			x->stats.send_blocked++;
			return PW_ERR_FULL;
		}
		log_warnx("xlink: send: %s", zmq_strerror(zmq_errno()));
		return PW_ERR_ZMQ;
	}
	x->stats.sent++;
	if (x->waiting_ms == 0)
		x->waiting_ms = mono_ms();
	if (x->unanswered_ms == 0)
		x->unanswered_ms = x->waiting_ms;
	return PW_OK;
}

int64_t
xlink_unanswered_ms(const struct xlink *x)
{
	return x->unanswered_ms == 0 ? 0 : mono_ms() - x->unanswered_ms;
}

static int
is_exchange_type(uint8_t t)
{
	return t >= PW_MSG_ACK && t <= PW_MSG_REGISTRY;
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

/* A verified frame on socket i: that socket's link works. */
static void
alive(struct xlink *x, int i, const struct pw_msg *m)
{
	int64_t now = mono_ms();

	x->rx_ms[i] = now;
	if (i == XL_DEALER)
		x->waiting_ms = x->unanswered_ms = 0;
	if (m->type == PW_MSG_HEARTBEAT)
		x->hb_period_ms = m->u.heartbeat.period_ms < XLINK_HB_MAX_MS
		                      ? (int64_t)m->u.heartbeat.period_ms
		                      : XLINK_HB_MAX_MS;
	if (!x->healed && x->stats.relinks > 0) {
		log_info("xlink: the link to the exchange works again: a verified %s %lld ms after"
		         " re-connecting",
		         pw_msg_type_name(m->type), (long long)(now - x->linked_ms));
		x->backoff_ms = XLINK_BACKOFF_MIN_MS;
		x->next_link_ms = now + XLINK_BACKOFF_MIN_MS;
	}
	x->healed = 1;
}

pw_err
xlink_recv(struct xlink *x, int from_sub, const uint8_t **frame, size_t *len, struct pw_msg *m)
{
	void *s = x->sock[from_sub ? XL_SUB : XL_DEALER];
	char topic[16];
	int more = 0;

	if (s == NULL)
		return PW_ERR_NOTFOUND;

	/* Bad frames are dropped here; at most XLINK_BAD_BURST per call, so a
	 * flood of them cannot keep the caller's loop (and the dashboard) from
	 * running: PW_ERR_NOTFOUND then, and the socket stays readable. */
	for (unsigned bad = 0; bad < XLINK_BAD_BURST; bad++) {
		int i = from_sub ? XL_SUB : XL_DEALER;
		topic[0] = '\0';
		if (from_sub && x->sub_cosigned) {
			/* the rest of a COSIGNED message */
			snprintf(topic, sizeof(topic), "COSIGNED");
			x->msg_first[i] = 0;
		} else if (from_sub && x->sub_market) {
			/* the rest of a MARKET message (the price outlook) */
			snprintf(topic, sizeof(topic), "MARKET");
			x->msg_first[i] = 0;
		} else if (from_sub) {
			/* PUB messages are [topic][frame]; resynchronise on any
			 * other shape. */
			size_t tl;
			if (!recv_frame(x, s, &more))
				return PW_ERR_NOTFOUND;
			x->msg_dropped[i] = 0;
			x->msg_first[i] = 1;
			tl = zmq_msg_size(&x->cur);
			if (!more || tl == 0 || tl >= sizeof(topic)) {
				x->stats.bad++;
				while (more && recv_frame(x, s, &more))
					;
				continue;
			}
			memcpy(topic, zmq_msg_data(&x->cur), tl);
			topic[tl] = '\0';
		} else {
			/* a DEALER message starts after a frame without RCVMORE */
			x->msg_first[i] = !x->in_msg[i];
			if (x->msg_first[i])
				x->msg_dropped[i] = 0;
		}
		if (!recv_frame(x, s, &more)) {
			x->sub_cosigned = x->sub_market = 0;
			return PW_ERR_NOTFOUND;
		}
		x->in_msg[i] = x->more[i] = more;
		if (from_sub && strcmp(topic, "COSIGNED") == 0) {
			/* [topic][CHECKPOINT][COSIGN]... at most 1 + PW_COSIGNED_MAX */
			x->sub_cosigned_n = x->sub_cosigned ? x->sub_cosigned_n + 1 : 1;
			x->sub_cosigned = more;
			if (more && x->sub_cosigned_n > PW_COSIGNED_MAX) {
				x->stats.bad++;
				x->msg_dropped[i] = 1;
				x->sub_cosigned = 0;
				while (more && recv_frame(x, s, &more))
					;
				x->in_msg[i] = x->more[i] = 0;
				continue;
			}
		} else if (from_sub && strcmp(topic, "MARKET") == 0) {
			/* [topic][MARKET]... at most PW_SCHEDULE_MAX */
			x->sub_market_n = x->sub_market ? x->sub_market_n + 1 : 1;
			x->sub_market = more;
			if (more && x->sub_market_n >= PW_SCHEDULE_MAX) {
				x->stats.bad++;
				x->msg_dropped[i] = 1;
				x->sub_market = 0;
				while (more && recv_frame(x, s, &more))
					;
				x->in_msg[i] = x->more[i] = 0;
				continue;
			}
		} else if (from_sub && more) {
			x->stats.bad++;
			while (more && recv_frame(x, s, &more))
				;
			x->in_msg[i] = x->more[i] = 0;
			continue;
		}
		x->stats.received++;
		*frame = zmq_msg_data(&x->cur);
		*len = zmq_msg_size(&x->cur);
		pw_err rc = pw_wire_open(*frame, *len, x->market_id, m);
		if (rc == PW_ERR_VERSION && *len >= 1) {
			/* never a misparse: another version is named as such */
			x->stats.bad++;
			x->msg_dropped[i] = 1;
			x->stats.peer_version = (*frame)[0];
			log_rated(
			    &x->rate_bad, LOG_LEVEL_ERR,
			    "xlink: the exchange speaks protocol version %u; this agent speaks "
			    "version %d (a %zu-byte frame dropped)",
			    (unsigned)(*frame)[0], PW_PROTO_VERSION, *len);
			continue;
		}
		if (rc != PW_OK) {
			x->stats.bad++;
			x->msg_dropped[i] = 1;
			log_rated(&x->rate_bad, LOG_LEVEL_ERR,
			          "xlink: dropped a %zu-byte frame from the exchange: %s", *len,
			          pw_strerror(rc));
			continue;
		}
		/* a COSIGNED message: its CHECKPOINT first, then households'
		 * COSIGN frames, each verified by its own author's signature */
		int cosign = from_sub && strcmp(topic, "COSIGNED") == 0 &&
		             m->type == PW_MSG_COSIGN && x->sub_cosigned_n > 1;
		if (from_sub && strcmp(topic, "COSIGNED") == 0 &&
		    (x->sub_cosigned_n == 1) != (m->type == PW_MSG_CHECKPOINT)) {
			x->stats.bad++;
			x->msg_dropped[i] = 1;
			log_rated(&x->rate_type, LOG_LEVEL_WARN,
			          "xlink: dropped a %s out of place in a COSIGNED message",
			          pw_msg_type_name(m->type));
			continue;
		}
		if (!cosign && memcmp(m->author, x->exchange_pk, PW_PK_LEN) != 0) {
			x->stats.bad++;
			x->msg_dropped[i] = 1;
			log_rated(&x->rate_key, LOG_LEVEL_ERR,
			          "xlink: dropped a %s not signed by the pinned exchange key",
			          pw_msg_type_name(m->type));
			continue;
		}
		if ((!cosign && !is_exchange_type(m->type)) ||
		    (from_sub && strcmp(topic, "COSIGNED") != 0 &&
		     strcmp(topic, pw_msg_type_name(m->type)) != 0)) {
			x->stats.bad++;
			x->msg_dropped[i] = 1;
			log_rated(&x->rate_type, LOG_LEVEL_WARN,
			          "xlink: dropped an unexpected %s (topic \"%s\")",
			          pw_msg_type_name(m->type), topic);
			continue;
		}
		x->stats.peer_version = 0;
		alive(x, from_sub, m);
		return PW_OK;
	}
	return PW_ERR_NOTFOUND;
}

void
xlink_msg_pos(const struct xlink *x, int from_sub, struct xlink_pos *p)
{
	int i = from_sub ? XL_SUB : XL_DEALER;
	p->first = x->msg_first[i];
	p->more = x->more[i];
	p->dropped = x->msg_dropped[i];
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
	if (x->mon[i] == NULL)
		return;
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
			} else if (id == ZMQ_EVENT_DISCONNECTED) {
				x->dropped[i] = 1;
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

/* Why the link is dead now, or NULL.  `what` receives the cause. */
static const char *
dead_cause(struct xlink *x, int64_t now, char *what, size_t cap)
{
	int64_t sub_dead = x->hb_period_ms * XLINK_SUB_PERIODS, last_sub;

	if (x->sock[XL_DEALER] == NULL || x->sock[XL_SUB] == NULL)
		return "the sockets could not be created";
	for (int i = 0; i < 2; i++)
		if (x->dropped[i]) {
			snprintf(
			    what, cap,
			    "the connection of the %s socket ended (the exchange closed it, or it"
			    " sent an oversize or malformed message, after which ZeroMQ never"
			    " reconnects)",
			    i == XL_DEALER ? "request" : "market-data");
			return what;
		}
	if (sub_dead < XLINK_SUB_MIN_MS)
		sub_dead = XLINK_SUB_MIN_MS;
	last_sub = x->rx_ms[XL_SUB] > x->linked_ms ? x->rx_ms[XL_SUB] : x->linked_ms;
	if (now - last_sub >= sub_dead) {
		snprintf(what, cap, "no verified market data (HEARTBEAT) for %lld ms",
		         (long long)(now - last_sub));
		return what;
	}
	if (x->waiting_ms != 0 && now - x->waiting_ms >= x->reply_dead_ms) {
		snprintf(what, cap, "no verified reply to a request for %lld ms",
		         (long long)(now - x->waiting_ms));
		return what;
	}
	return NULL;
}

int
xlink_tick(struct xlink *x)
{
	int64_t now = mono_ms();
	char what[256];
	const char *cause;
	pw_err rc;

	read_events(x, XL_DEALER);
	read_events(x, XL_SUB);
	cause = dead_cause(x, now, what, sizeof(what));
	if (cause == NULL || now < x->next_link_ms)
		return 0;
	link_close(x);
	rc = link_open(x);
	x->stats.relinks++;
	x->healed = 0;
	log_rated(&x->rate_relink, LOG_LEVEL_WARN,
	          "xlink: re-connecting both sockets to the exchange (re-connection %lu): %s%s",
	          x->stats.relinks, cause,
	          rc != PW_OK ? "; the new sockets could not be set up, trying again later" : "");
	if (rc != PW_OK)
		link_close(x); /* a half-made generation is not polled */
	x->next_link_ms = now + x->backoff_ms;
	x->backoff_ms =
	    x->backoff_ms * 2 > XLINK_BACKOFF_MAX_MS ? XLINK_BACKOFF_MAX_MS : x->backoff_ms * 2;
	return 1;
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
