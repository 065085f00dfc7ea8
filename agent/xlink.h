/*
 * xlink.h: the agent's link to the exchange over ZeroMQ with CURVE
 * (docs/protocol.md "Transport"): a DEALER for requests and their replies
 * and a SUB for market data (RESULT, DEPTH, CHECKPOINT, HEARTBEAT, COSIGNED,
 * MARKET).  The CURVE client
 * key is the household's Ed25519 key converted to X25519; the server key is
 * the pinned exchange key converted likewise.
 *
 * Owns the two sockets and the checks every received frame passes before
 * the agent looks at it: it decodes strictly, is signed by the pinned
 * exchange key (pw_wire_open + author check), is an exchange-to-household
 * type, and on SUB matches its topic.  Anything else is counted, logged and
 * dropped here.  It also watches both sockets' CURVE handshakes (a socket
 * monitor each), so the agent can say that the exchange refused it rather
 * than only that nothing arrives.
 *
 * The link heals itself (xlink_tick, docs/agent.md "Link to the exchange"):
 * a connection that ended (the monitor's DISCONNECTED: libzmq never
 * reconnects after an oversize or malformed message), a SUB without a
 * verified frame for several HEARTBEAT periods, or a request without a
 * verified reply for several reply timeouts makes it close both sockets and
 * create and connect new ones, with a backoff doubling from 0.5 s to 30 s
 * (back to 0.5 s once a verified frame arrives).  Requests the old DEALER
 * held are lost with it; the outbox still has them (the caller resends).
 * Called by agentd's loop (which polls the two sockets).
 * Not thread-safe (one loop); the caller owns the struct (xlink_destroy).
 */
#ifndef AGENT_XLINK_H
#define AGENT_XLINK_H

#include <stddef.h>
#include <stdint.h>

#include "peerwatt/error.h"
#include "peerwatt/keys.h"
#include "peerwatt/wire.h"

struct xlink_cfg {
	const char *request;        /* ROUTER endpoint */
	const char *pub;            /* PUB endpoint */
	const uint8_t *exchange_pk; /* pinned, PW_PK_LEN */
	uint64_t market_id;
	const struct pw_keypair *kp; /* the household's */
	int64_t reply_timeout_ms;    /* the agent's resend timeout (0: 3000) */
};

struct xlink_stats {
	unsigned long sent, send_blocked, received, bad; /* bad: dropped frames */
	unsigned long relinks;                           /* times both sockets were re-created */
	/* the version byte of the last frame dropped for its protocol version
	 * (the exchange speaks another one); 0 once a frame verifies again */
	unsigned peer_version;
};

struct xlink;

/* Creates and connects both sockets in `zctx` (the caller's context, which
 * must outlive the link).  PW_ERR_CRYPTO for a key without a CURVE form,
 * PW_ERR_ZMQ when a socket cannot be set up. */
pw_err xlink_new(void *zctx, const struct xlink_cfg *cfg, struct xlink **out)
    __attribute__((warn_unused_result));
void xlink_destroy(struct xlink **xp);

/* The sockets, for zmq_poll (borrowed; NULL while a re-creation failed:
 * poll them again after every xlink_tick). */
void *xlink_dealer(struct xlink *x);
void *xlink_sub(struct xlink *x);

/* Sends one request frame without blocking; PW_ERR_FULL when it cannot be
 * queued now (no connection: ZMQ_IMMEDIATE), PW_ERR_ZMQ otherwise. */
pw_err xlink_send(struct xlink *x, const uint8_t *frame, size_t len)
    __attribute__((warn_unused_result));

/*
 * The next verified frame from the DEALER (from_sub = 0) or the SUB.
 * PW_OK: *frame and *len point into the link's buffer (valid until the next
 * call) and *m is decoded (RESULT arrays point into *frame).
 * PW_ERR_NOTFOUND: nothing more to read now, or 64 frames in a row failed a
 * check (dropped, logged once per 10 s with a count): the caller's loop runs
 * before reading on, so a flood cannot starve it.  Frames that fail a check
 * are dropped and reading continues.
 */
pw_err xlink_recv(struct xlink *x, int from_sub, const uint8_t **frame, size_t *len,
                  struct pw_msg *m) __attribute__((warn_unused_result));

/* Where the frame xlink_recv() returned last (same socket) stands in its
 * ZeroMQ message: the multi-frame answers (RESULT parts, the SCHEDULE
 * outlook) and publications (COSIGNED, MARKET) are read frame by frame.
 * first: no frame of its message came before it; more: frames of the
 * same message follow; dropped: a frame of this message failed a check
 * and was dropped (the message is incomplete: its consumer discards it). */
struct xlink_pos {
	int first, more, dropped;
};
void xlink_msg_pos(const struct xlink *x, int from_sub, struct xlink_pos *p);

const struct xlink_stats *xlink_stats(const struct xlink *x);

/* How long (ms) the oldest request sent since the last verified reply has
 * waited, across socket re-creations; 0 when every request was answered. */
int64_t xlink_unanswered_ms(const struct xlink *x);

/*
 * Checks the link (the sockets' monitor events, the time since the last
 * verified frame on the SUB and since the oldest unanswered request) and,
 * when it is dead and the backoff allows, closes both sockets and creates
 * and connects new ones (logged with the cause, rate-limited; counted in
 * stats.relinks).  Returns 1 after such a re-creation: every request in
 * flight is lost and must be sent again (in order); 0 otherwise.  Call it a
 * few times a second.
 */
int xlink_tick(struct xlink *x) __attribute__((warn_unused_result));

/* How the last CURVE handshake of the sockets ended (the worse of the two). */
enum xlink_handshake {
	XLINK_HS_NONE = 0, /* none finished yet (connecting, or the exchange is away) */
	XLINK_HS_OK,       /* succeeded, and none failed since */
	XLINK_HS_REFUSED,  /* the exchange's ZAP handler refused our key (status in *code) */
	XLINK_HS_FAILED,   /* broke off (wrong server key, or the exchange dropped it) */
};

/* Reads the sockets' monitor events (non-blocking) and returns the state;
 * *code (may be NULL) receives the ZAP status code of XLINK_HS_REFUSED. */
enum xlink_handshake xlink_handshake(struct xlink *x, unsigned *code);

#endif
