/*
 * gateway.c: ROUTER + PUB with CURVE and an in-loop ZAP handler
 * (gateway.h).  Called by exchange/main.c (setup, poll) and
 * exchange/engine.c (receive, reply, publish).
 */
#include "exchange/gateway.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "peerwatt/log.h"

#ifndef ZMQ_ZAP_ENFORCE_DOMAIN
/* Declared only under ZMQ_BUILD_DRAFT_API in 4.3.x, honoured by 4.3.4. */
#define ZMQ_ZAP_ENFORCE_DOMAIN 93
#endif

#define GW_ZAP_ENDPOINT  "inproc://zeromq.zap.01"
#define GW_ZAP_DOMAIN    "peerwatt"
#define GW_HWM           10000
#define GW_ZAP_LOG_PER_S 10

struct gateway {
	void *ctx;
	void *zap;
	void *router;
	void *pub;
	void *mon[2]; /* PAIR: handshake failures of the ROUTER and the PUB */
	const struct registry *reg;
	uint64_t zap_ok, zap_refused;
	int64_t zaplog_s; /* refusals logged in this second (at most GW_ZAP_LOG_PER_S) */
	unsigned zaplog_n;
	uint64_t hs_failed;
};

static int log_budget(struct gateway *gw);

static pw_err
zfail(const char *what)
{
	log_warnx("gateway: %s: %s", what, zmq_strerror(zmq_errno()));
	return PW_ERR_ZMQ;
}

/* CURVE server + ZAP strictness + bounds common to both sockets. */
static pw_err
server_opts(void *s, const uint8_t curve_sk[32], int64_t max_msg)
{
	int one = 1, zero = 0, hwm = GW_HWM;
	if (zmq_setsockopt(s, ZMQ_ZAP_DOMAIN, GW_ZAP_DOMAIN, strlen(GW_ZAP_DOMAIN)) != 0)
		return zfail("ZMQ_ZAP_DOMAIN");
	if (zmq_setsockopt(s, ZMQ_ZAP_ENFORCE_DOMAIN, &one, sizeof(one)) != 0) {
		/* without it libzmq admits every CURVE key while no handler
		 * answers: refuse to run open */
		return zfail("ZMQ_ZAP_ENFORCE_DOMAIN (refusing to start without it)");
	}
	if (zmq_setsockopt(s, ZMQ_CURVE_SERVER, &one, sizeof(one)) != 0 ||
	    zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, curve_sk, 32) != 0)
		return zfail("CURVE server key");
	if (zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof(zero)) != 0 ||
	    zmq_setsockopt(s, ZMQ_SNDHWM, &hwm, sizeof(hwm)) != 0 ||
	    zmq_setsockopt(s, ZMQ_RCVHWM, &hwm, sizeof(hwm)) != 0 ||
	    zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &max_msg, sizeof(max_msg)) != 0)
		return zfail("socket options");
	return PW_OK;
}

/* A PAIR socket receiving socket s's failed handshakes (slot i); ZAP
 * refusals are logged by zap_one() with the key, these have none. */
static pw_err
monitor(struct gateway *gw, int i, void *s)
{
	char ep[64];
	int zero = 0;

	snprintf(ep, sizeof(ep), "inproc://pw-gateway-%p-%d", (void *)gw, i);
	if (zmq_socket_monitor(s, ep,
	                       ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
	                           ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) != 0)
		return PW_ERR_ZMQ;
	gw->mon[i] = zmq_socket(gw->ctx, ZMQ_PAIR);
	if (gw->mon[i] == NULL ||
	    zmq_setsockopt(gw->mon[i], ZMQ_LINGER, &zero, sizeof(zero)) != 0 ||
	    zmq_connect(gw->mon[i], ep) != 0)
		return PW_ERR_ZMQ;
	return PW_OK;
}

pw_err
gateway_open(struct gateway **out, const struct xconfig *cfg, const struct pw_keypair *kp,
             const struct registry *reg)
{
	struct gateway *gw = calloc(1, sizeof(*gw));
	uint8_t curve_sk[32];
	pw_err rc = PW_ERR_ZMQ;
	int one = 1;

	if (!gw)
		return PW_ERR_NOMEM;
	gw->reg = reg;
	if (pw_key_curve_secret(kp, curve_sk) != PW_OK) {
		free(gw);
		return PW_ERR_CRYPTO;
	}
	if (!(gw->ctx = zmq_ctx_new())) {
		rc = zfail("zmq_ctx_new");
		goto fail;
	}
	/* the handler must be bound before any CURVE handshake can start */
	if (!(gw->zap = zmq_socket(gw->ctx, ZMQ_REP)) || zmq_bind(gw->zap, GW_ZAP_ENDPOINT) != 0) {
		rc = zfail("ZAP handler");
		goto fail;
	}
	int zero = 0;
	(void)zmq_setsockopt(gw->zap, ZMQ_LINGER, &zero, sizeof(zero));
	if (!(gw->router = zmq_socket(gw->ctx, ZMQ_ROUTER)) ||
	    (rc = server_opts(gw->router, curve_sk, cfg->max_msg_bytes)) != PW_OK)
		goto fail;
	if (zmq_setsockopt(gw->router, ZMQ_ROUTER_MANDATORY, &one, sizeof(one)) != 0) {
		rc = zfail("ZMQ_ROUTER_MANDATORY");
		goto fail;
	}
	/* PUB never receives application data: only subscriptions */
	if (!(gw->pub = zmq_socket(gw->ctx, ZMQ_PUB)) ||
	    (rc = server_opts(gw->pub, curve_sk, 1024)) != PW_OK)
		goto fail;
	if (monitor(gw, 0, gw->router) != PW_OK || monitor(gw, 1, gw->pub) != PW_OK) {
		rc = zfail("socket monitor");
		goto fail;
	}
	if (zmq_bind(gw->router, cfg->request_endpoint) != 0) {
		log_warnx("gateway: bind %s: %s", cfg->request_endpoint, zmq_strerror(zmq_errno()));
		rc = PW_ERR_ZMQ;
		goto fail;
	}
	if (zmq_bind(gw->pub, cfg->publish_endpoint) != 0) {
		log_warnx("gateway: bind %s: %s", cfg->publish_endpoint, zmq_strerror(zmq_errno()));
		rc = PW_ERR_ZMQ;
		goto fail;
	}
	sodium_memzero(curve_sk, sizeof(curve_sk));
	*out = gw;
	return PW_OK;
fail:
	sodium_memzero(curve_sk, sizeof(curve_sk));
	gateway_close(&gw);
	return rc == PW_OK ? PW_ERR_ZMQ : rc;
}

void
gateway_close(struct gateway **gwp)
{
	if (!gwp || !*gwp)
		return;
	struct gateway *gw = *gwp;
	if (gw->router)
		(void)zmq_socket_monitor(gw->router, NULL, 0);
	if (gw->pub)
		(void)zmq_socket_monitor(gw->pub, NULL, 0);
	for (int i = 0; i < 2; i++)
		if (gw->mon[i])
			zmq_close(gw->mon[i]);
	if (gw->router)
		zmq_close(gw->router);
	if (gw->pub)
		zmq_close(gw->pub);
	if (gw->zap)
		zmq_close(gw->zap);
	if (gw->ctx)
		zmq_ctx_term(gw->ctx);
	free(gw);
	*gwp = NULL;
}

void
gateway_set_registry(struct gateway *gw, const struct registry *reg)
{
	gw->reg = reg;
}

void
gateway_poll_items(struct gateway *gw, zmq_pollitem_t items[2])
{
	memset(items, 0, 2 * sizeof(*items));
	items[0].socket = gw->router;
	items[0].events = ZMQ_POLLIN;
	items[1].socket = gw->zap;
	items[1].events = ZMQ_POLLIN;
}

/* Receive the rest of a multipart message into `parts` (frames beyond
 * `max` are read and dropped).  Returns the number of frames, -1 on error. */
static int
recv_parts(void *s, zmq_msg_t *parts, int max)
{
	int n = 0, more = 1;
	while (more) {
		zmq_msg_t m;
		zmq_msg_init(&m);
		if (zmq_msg_recv(&m, s, ZMQ_DONTWAIT) < 0) {
			zmq_msg_close(&m);
			for (int i = 0; i < n && i < max; i++)
				zmq_msg_close(&parts[i]);
			return -1;
		}
		more = zmq_msg_more(&m);
		if (n < max)
			parts[n] = m;
		else
			zmq_msg_close(&m);
		n++;
	}
	return n;
}

/* A refused handshake, with the CURVE key it offered (the household key
 * converted, docs/protocol.md "Transport") and the peer's address; at most
 * GW_ZAP_LOG_PER_S lines a second so a flood of attempts cannot flood the
 * log (the count is in the stats line either way). */
static void
log_refusal(struct gateway *gw, zmq_msg_t *key, zmq_msg_t *addr)
{
	char hex[2 * PW_CURVE_LEN + 1] = "(none)", peer[64] = "?";

	if (!log_budget(gw))
		return;
	if (key != NULL && zmq_msg_size(key) == PW_CURVE_LEN)
		pw_hex_encode(zmq_msg_data(key), PW_CURVE_LEN, hex);
	if (addr != NULL && zmq_msg_size(addr) < sizeof(peer)) {
		memcpy(peer, zmq_msg_data(addr), zmq_msg_size(addr));
		peer[zmq_msg_size(addr)] = '\0';
		for (char *c = peer; *c != '\0'; c++)
			if (*c < 0x20 || *c > 0x7e)
				*c = '?';
	}
	log_info("gateway: ZAP refuses a connection from %s: CURVE key %s is not a registered "
	         "household's (unknown or revoked)",
	         peer, hex);
}

static void
zap_send(void *s, const void *data, size_t len, int more)
{
	if (zmq_send(s, data, len, more ? ZMQ_SNDMORE : 0) < 0)
		log_warnx("gateway: ZAP reply: %s", zmq_strerror(zmq_errno()));
}

/*
 * ZAP request (RFC 27): version, request id, domain, address, identity,
 * mechanism, credentials...  Admit CURVE clients whose key is a registered
 * household's converted key; User-Id = household id.
 */
static void
zap_one(struct gateway *gw)
{
	zmq_msg_t p[8];
	int n = recv_parts(gw->zap, p, 8);
	if (n < 0)
		return;
	const struct household *h = NULL;
	const char *status = "400", *text = "not a registered household";
	int have = n < 8 ? n : 8;
	if (n >= 7 && zmq_msg_size(&p[0]) == 3 && memcmp(zmq_msg_data(&p[0]), "1.0", 3) == 0 &&
	    zmq_msg_size(&p[5]) == 5 && memcmp(zmq_msg_data(&p[5]), "CURVE", 5) == 0 &&
	    zmq_msg_size(&p[6]) == PW_CURVE_LEN) {
		h = registry_find_curve(gw->reg, zmq_msg_data(&p[6]));
		if (h) {
			status = "200";
			text = "OK";
		}
	}
	if (h)
		gw->zap_ok++;
	else
		gw->zap_refused++;
	if (h)
		log_debug("gateway: ZAP admits household %s", h->id);
	else
		log_refusal(gw, n >= 7 ? &p[6] : NULL, n >= 4 ? &p[3] : NULL);
	/* a reply needs the request id; a request too short to have one is
	 * answered with an empty id (libzmq then drops the connection) */
	zap_send(gw->zap, "1.0", 3, 1);
	if (have >= 2)
		zap_send(gw->zap, zmq_msg_data(&p[1]), zmq_msg_size(&p[1]), 1);
	else
		zap_send(gw->zap, "", 0, 1);
	zap_send(gw->zap, status, 3, 1);
	zap_send(gw->zap, text, strlen(text), 1);
	zap_send(gw->zap, h ? h->id : "", h ? strlen(h->id) : 0, 1);
	zap_send(gw->zap, "", 0, 0);
	for (int i = 0; i < have; i++)
		zmq_msg_close(&p[i]);
}

void
gateway_zap(struct gateway *gw)
{
	for (int i = 0; i < 1000; i++) {
		int ev = 0;
		size_t sz = sizeof(ev);
		if (zmq_getsockopt(gw->zap, ZMQ_EVENTS, &ev, &sz) != 0 || !(ev & ZMQ_POLLIN))
			return;
		zap_one(gw);
	}
}

void
gateway_zap_counts(const struct gateway *gw, uint64_t *admitted, uint64_t *refused)
{
	*admitted = gw->zap_ok;
	*refused = gw->zap_refused;
}

uint64_t
gateway_handshakes_failed(const struct gateway *gw)
{
	return gw->hs_failed;
}

pw_err
gateway_recv(struct gateway *gw, struct gw_request *r)
{
	zmq_msg_t m;
	int more;

	r->rid_len = r->len = r->frame_len = r->n_frames = 0;
	r->user_id[0] = '\0';
	zmq_msg_init(&m);
	if (zmq_msg_recv(&m, gw->router, ZMQ_DONTWAIT) < 0) {
		zmq_msg_close(&m);
		if (zmq_errno() == EAGAIN)
			return PW_ERR_NOTFOUND;
		return zfail("receive");
	}
	/* frame 1: routing id */
	r->rid_len = zmq_msg_size(&m) < GW_RID_MAX ? zmq_msg_size(&m) : GW_RID_MAX;
	memcpy(r->rid, zmq_msg_data(&m), r->rid_len);
	more = zmq_msg_more(&m);
	zmq_msg_close(&m);
	while (more) {
		zmq_msg_init(&m);
		if (zmq_msg_recv(&m, gw->router, ZMQ_DONTWAIT) < 0) {
			zmq_msg_close(&m);
			return zfail("receive part");
		}
		if (r->n_frames == 0) {
			size_t sz = zmq_msg_size(&m);
			r->frame_len = sz;
			r->len = sz < r->cap ? sz : r->cap;
			memcpy(r->buf, zmq_msg_data(&m), r->len);
			const char *uid = zmq_msg_gets(&m, "User-Id");
			if (uid)
				snprintf(r->user_id, sizeof(r->user_id), "%s", uid);
		}
		r->n_frames++;
		more = zmq_msg_more(&m);
		zmq_msg_close(&m);
	}
	return PW_OK;
}

pw_err
gateway_reply(struct gateway *gw, const struct gw_request *r, const uint8_t *const *frames,
              const size_t *lens, size_t n)
{
	if (zmq_send(gw->router, r->rid, r->rid_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0) {
		log_debug("gateway: reply dropped: %s", zmq_strerror(zmq_errno()));
		return PW_ERR_UNAVAILABLE;
	}
	for (size_t i = 0; i < n; i++) {
		int fl = ZMQ_DONTWAIT | (i + 1 < n ? ZMQ_SNDMORE : 0);
		if (zmq_send(gw->router, frames[i], lens[i], fl) < 0) {
			/* after the first frame is queued the rest cannot fail
			 * with EHOSTUNREACH; log anything else */
			log_warnx("gateway: reply frame: %s", zmq_strerror(zmq_errno()));
			return PW_ERR_UNAVAILABLE;
		}
	}
	return PW_OK;
}

pw_err
gateway_publish(struct gateway *gw, const char *topic, const uint8_t *frame, size_t len)
{
	if (zmq_send(gw->pub, topic, strlen(topic), ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
	    zmq_send(gw->pub, frame, len, ZMQ_DONTWAIT) < 0)
		return zfail("publish");
	return PW_OK;
}

pw_err
gateway_publish_frames(struct gateway *gw, const char *topic, const uint8_t *const *frames,
                       const size_t *lens, size_t n)
{
	if (n == 0 || zmq_send(gw->pub, topic, strlen(topic), ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
		return zfail("publish");
	for (size_t i = 0; i < n; i++)
		if (zmq_send(gw->pub, frames[i], lens[i],
		             i + 1 < n ? ZMQ_SNDMORE | ZMQ_DONTWAIT : ZMQ_DONTWAIT) < 0)
			return zfail("publish");
	return PW_OK;
}

/* At most GW_ZAP_LOG_PER_S refusal lines a second, ZAP's and these together. */
static int
log_budget(struct gateway *gw)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	if (ts.tv_sec != gw->zaplog_s) {
		gw->zaplog_s = ts.tv_sec;
		gw->zaplog_n = 0;
	}
	return gw->zaplog_n++ < GW_ZAP_LOG_PER_S;
}

void
gateway_handshakes(struct gateway *gw)
{
	static const char *const what[2] = { "request", "market data" };

	for (int i = 0; i < 2; i++) {
		for (int k = 0; k < 1000; k++) {
			zmq_msg_t ev;
			uint16_t id = 0;
			uint32_t value = 0;
			int more, valid;

			zmq_msg_init(&ev);
			if (zmq_msg_recv(&ev, gw->mon[i], ZMQ_DONTWAIT) < 0) {
				zmq_msg_close(&ev);
				break;
			}
			more = zmq_msg_more(&ev);
			valid = zmq_msg_size(&ev) == 6;
			if (valid) {
				memcpy(&id, zmq_msg_data(&ev), 2);
				memcpy(&value, (const uint8_t *)zmq_msg_data(&ev) + 2, 4);
			}
			zmq_msg_close(&ev);
			while (more) { /* the endpoint frame: the bound one, not the peer */
				zmq_msg_init(&ev);
				if (zmq_msg_recv(&ev, gw->mon[i], ZMQ_DONTWAIT) < 0)
					more = 0;
				else
					more = zmq_msg_more(&ev);
				zmq_msg_close(&ev);
			}
			if (!valid)
				continue;
			gw->hs_failed++;
			if (!log_budget(gw))
				continue;
			if (id == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL &&
			    value == ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC)
				log_info(
				    "gateway: a CURVE handshake on the %s socket failed: the"
				    " client's [exchange] public_key is not this exchange's key"
				    " (its own key cannot be known before that)",
				    what[i]);
			else
				log_info(
				    "gateway: a CURVE handshake on the %s socket failed (%s 0x%x):"
				    " a client with another exchange key or protocol, or a"
				    " connection dropped halfway",
				    what[i],
				    id == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL ? "protocol error"
				                                              : "no detail",
				    value);
		}
	}
}
