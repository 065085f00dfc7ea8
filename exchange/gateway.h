/*
 * gateway.h: the exchange's ZeroMQ side: a ROUTER for requests and a PUB
 * for market data, both CURVE servers with the exchange's Ed25519 key
 * converted to Curve25519, and the ZAP handler that admits only registered
 * household keys (docs/protocol.md "Transport", docs/exchange.md).
 *
 * The ZAP handler is a REP socket on inproc://zeromq.zap.01 serviced from
 * the daemon's own poll loop (no thread).  ZMQ_ZAP_ENFORCE_DOMAIN is set so
 * that a missing handler fails closed; the gateway refuses to start when
 * libzmq does not accept it.  The User-Id of an admitted connection is the
 * household id; the request path compares it with the message's author.
 *
 * Owned by exchange/main.c; used by exchange/engine.c.  Not thread-safe
 * (ZeroMQ sockets belong to the thread that polls them).
 */
#ifndef EXCHANGE_GATEWAY_H
#define EXCHANGE_GATEWAY_H

#include <stddef.h>
#include <stdint.h>

#include <zmq.h>

#include "exchange/registry.h"
#include "exchange/xconfig.h"
#include "peerwatt/error.h"
#include "peerwatt/keys.h"

#define GW_RID_MAX  256
#define GW_USER_MAX 64

/* One request as received.  `buf` is owned by the caller (cap bytes, at
 * least the configured max_msg_bytes); only the first frame is kept, the
 * total size and frame count say whether there were more. */
struct gw_request {
	uint8_t rid[GW_RID_MAX];
	size_t rid_len;
	uint8_t *buf;
	size_t cap;
	size_t len;                /* bytes of the first frame copied into buf */
	size_t frame_len;          /* real length of the first frame */
	size_t n_frames;           /* data frames after the routing id */
	char user_id[GW_USER_MAX]; /* ZAP User-Id: the household id */
};

struct gateway;

/*
 * Bind both sockets.  `reg` is the registry the ZAP handler consults (the
 * caller keeps it alive; gateway_set_registry() swaps it on reload).
 * PW_ERR_ZMQ (logged) when a socket cannot be set up or bound.
 */
pw_err gateway_open(struct gateway **out, const struct xconfig *cfg, const struct pw_keypair *kp,
                    const struct registry *reg) __attribute__((warn_unused_result));
void gateway_close(struct gateway **gwp);
void gateway_set_registry(struct gateway *gw, const struct registry *reg);

/* The sockets to poll for input: items[0] requests, items[1] ZAP. */
void gateway_poll_items(struct gateway *gw, zmq_pollitem_t items[2]);
/* Answer every pending ZAP request. */
void gateway_zap(struct gateway *gw);
/* Log the CURVE handshakes that failed since the last call (a client with
 * another exchange key fails before ZAP sees it); call once per loop turn. */
void gateway_handshakes(struct gateway *gw);

/* Next request without waiting: PW_OK, PW_ERR_NOTFOUND when none is
 * queued, PW_ERR_ZMQ on a socket error. */
pw_err gateway_recv(struct gateway *gw, struct gw_request *r) __attribute__((warn_unused_result));
/* Reply with `n` frames (one message).  PW_ERR_UNAVAILABLE when the peer is
 * gone or its queue is full (the reply is dropped, logged at debug). */
pw_err gateway_reply(struct gateway *gw, const struct gw_request *r, const uint8_t *const *frames,
                     const size_t *lens, size_t n);
/* Two-frame PUB message [topic][frame]. */
pw_err gateway_publish(struct gateway *gw, const char *topic, const uint8_t *frame, size_t len);

/* PUB message [topic][frames[0]] ... [frames[n-1]] (n >= 1). */
pw_err gateway_publish_frames(struct gateway *gw, const char *topic, const uint8_t *const *frames,
                              const size_t *lens, size_t n);

/* ZAP statistics since start. */
void gateway_zap_counts(const struct gateway *gw, uint64_t *admitted, uint64_t *refused);
/* CURVE handshakes that failed before ZAP (gateway_handshakes) since start. */
uint64_t gateway_handshakes_failed(const struct gateway *gw);

#endif
