/*
 * outbox.h: the agent's durable outbox in SQLite.  Every state-changing
 * message (ORDER, CANCEL, METER) is numbered, signed and stored here before
 * it is ever sent, and stays "pending" until the exchange answers it with a
 * verified ACK or a final REJECT.  agentd/xlink resend pending items with
 * backoff; see docs/agent.md "Outbox" for the delivery rules.
 *
 * Sequence numbers: two streams, ORDERS (ORDER and CANCEL share the per-key
 * sequence) and METER (readings 1, 2, 3 ... without gaps).  outbox_add()
 * reserves the next number in the database inside one IMMEDIATE
 * transaction, then calls the caller's signer with it, stores the frame and
 * commits: nothing is sent before that commit, so a kill -9 at any point
 * either keeps number and frame together or loses both without either ever
 * having left the process; a number is never given to two different frames.
 * The ORDERS stream of a new database starts at `first_order_seq` (agentd
 * passes the clock in microseconds) so that even a lost database never
 * re-uses a number the exchange has seen.
 *
 * Also tracks, per acknowledged item, its log index and the state of its
 * inclusion proof.  One struct outbox per database handle; not thread-safe.
 * The caller owns the struct (outbox_close() nulls the pointer).
 */
#ifndef AGENT_OUTBOX_H
#define AGENT_OUTBOX_H

#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "peerwatt/error.h"
#include "peerwatt/wire.h"

struct outbox;

/* Streams 2 and 3 hold the archived rows of 0 and 1 (outbox_resequence).
 * OUTBOX_COSIGN: the household's cosignatures (COSIGN), numbered by the
 * tree size they cosign (outbox_put), never renumbered. */
enum outbox_stream { OUTBOX_ORDERS = 0, OUTBOX_METER = 1, OUTBOX_COSIGN = 4 };

enum outbox_state {
	OUTBOX_PENDING = 0,  /* stored, not yet answered */
	OUTBOX_ACKED = 1,    /* verified ACK (or REPLAY of a sent one) */
	OUTBOX_REJECTED = 2, /* final REJECT */
	OUTBOX_DROPPED = 3,  /* never sent: gate closed while undelivered */
};

enum outbox_proof { OUTBOX_PROOF_NONE = 0, OUTBOX_PROOF_OK = 1, OUTBOX_PROOF_FAILED = 2 };

#define OUTBOX_NO_INDEX UINT64_MAX
#define OUTBOX_BUSY_MS  250 /* SQLite busy timeout: a locked database fails fast */

struct outbox_item {
	enum outbox_stream stream;
	uint64_t seq;
	uint8_t type;      /* PW_MSG_ORDER, _CANCEL, _METER */
	uint64_t interval; /* the message's interval */
	uint8_t frame[PW_WIRE_MAX_REQUEST];
	size_t len;
	enum outbox_state state;
	uint32_t attempts; /* sends so far */
	int64_t next_ms;   /* not before this (monotonic ms) */
	uint16_t reason;   /* REJECT reason */
	uint64_t log_index;
	enum outbox_proof proof;
};

/*
 * Builds and signs the frame numbered `seq` into `frame` (cap bytes):
 * sets *len, *type and *interval.  Any error rolls the transaction back.
 */
typedef pw_err (*outbox_sign_fn)(void *ctx, uint64_t seq, uint8_t *frame, size_t cap, size_t *len,
                                 uint8_t *type, uint64_t *interval);

/* Opens (creating when missing) the database at `path` (":memory:" for
 * tests), WAL, synchronous=FULL. */
pw_err outbox_open(struct outbox **out, const char *path, uint64_t first_order_seq)
    __attribute__((warn_unused_result));
void outbox_close(struct outbox **obp);
/* The handle, for other tables of the agent's database (borrowed). */
sqlite3 *outbox_db(struct outbox *ob);

/* Reserve, sign (through fn), store; *seq_out gets the number. */
pw_err outbox_add(struct outbox *ob, enum outbox_stream s, outbox_sign_fn fn, void *ctx,
                  uint64_t *seq_out) __attribute__((warn_unused_result));

/* Store the signed `frame` as item `seq` of a stream numbered by its
 * content (OUTBOX_COSIGN: seq = the cosigned tree size), pending.
 * PW_ERR_EXISTS when that item is stored already; PW_ERR_RANGE for seq 0
 * or above 2^63 - 1. */
pw_err outbox_put(struct outbox *ob, enum outbox_stream s, uint64_t seq, uint8_t type,
                  uint64_t interval, const uint8_t *frame, size_t len)
    __attribute__((warn_unused_result));

/* The lowest-numbered pending item of stream s; PW_ERR_NOTFOUND when none. */
pw_err outbox_next(struct outbox *ob, enum outbox_stream s, struct outbox_item *it)
    __attribute__((warn_unused_result));
/* One item by number; PW_ERR_NOTFOUND. */
pw_err outbox_get(struct outbox *ob, enum outbox_stream s, uint64_t seq, struct outbox_item *it)
    __attribute__((warn_unused_result));
/* Count a send: attempts + 1, next send not before next_ms. */
pw_err outbox_sent(struct outbox *ob, enum outbox_stream s, uint64_t seq, int64_t next_ms)
    __attribute__((warn_unused_result));
/* Every pending item may be sent again from `now_ms` on (its backoff
 * ends): after the link to the exchange was re-created. */
pw_err outbox_resend_now(struct outbox *ob, int64_t now_ms) __attribute__((warn_unused_result));
/* Final answer: ACKED (log_index or OUTBOX_NO_INDEX), REJECTED (reason) or
 * DROPPED.  PW_ERR_STATE when the item is not pending. */
pw_err outbox_settle(struct outbox *ob, enum outbox_stream s, uint64_t seq, enum outbox_state state,
                     uint16_t reason, uint64_t log_index) __attribute__((warn_unused_result));

/* Calls fn for every item of stream s with interval >= min_interval, in
 * sequence order; fn returns non-zero to stop.  The item is only valid
 * during the call. */
typedef int (*outbox_each_fn)(void *ctx, const struct outbox_item *it);
pw_err outbox_foreach(struct outbox *ob, enum outbox_stream s, uint64_t min_interval,
                      outbox_each_fn fn, void *ctx) __attribute__((warn_unused_result));
/* The highest-numbered item of stream s; PW_ERR_NOTFOUND when none. */
pw_err outbox_last(struct outbox *ob, enum outbox_stream s, struct outbox_item *it)
    __attribute__((warn_unused_result));

/*
 * After the exchange refused item `seq` of stream s for good, give its
 * number to the next item: the refused row is archived (stream 2 + s, kept
 * for the record), and every later item, all still pending and never sent
 * (one item per stream is in flight, in order), is re-signed through
 * `fn` with its number minus one.  This keeps METER numbering without
 * gaps (archived rows keep stream 2 + s and seq = -rowid); no number that the exchange accepted or
 * may have accepted is given to another frame.  PW_ERR_STATE when a later item was already sent or
 * answered, or item `seq` is not refused (then nothing changes).
 */
typedef pw_err (*outbox_resign_fn)(void *ctx, uint64_t new_seq, const uint8_t *old_frame,
                                   size_t old_len, uint8_t *frame, size_t cap, size_t *len);
pw_err outbox_resequence(struct outbox *ob, enum outbox_stream s, uint64_t seq, outbox_resign_fn fn,
                         void *ctx) __attribute__((warn_unused_result));

/*
 * Protocol 2: every pending item still signed in version 1 (an agent
 * upgraded with requests queued) re-signed through `fn` under its own
 * number, so that it is not refused bad_version; *n the count.  Items
 * sent before keep their number: an exchange that logged the version-1
 * frame answers the new one `replay`, which settles it as delivered.
 */
pw_err outbox_upgrade(struct outbox *ob, outbox_resign_fn fn, void *ctx, unsigned *n)
    __attribute__((warn_unused_result));

/* Items in `state` (any stream). */
/*
 * Keep the exchange's signed ACK or final REJECT `frame` of item (s, seq)
 * (table receipts; the first one kept wins).  Never deleted: it is the
 * household's evidence for an audit (docs/audit.md, "Households'
 * evidence"), read by `peerwatt-audit verify --agent`.
 */
pw_err outbox_keep_receipt(struct outbox *ob, enum outbox_stream s, uint64_t seq,
                           const uint8_t *frame, size_t len) __attribute__((warn_unused_result));

pw_err outbox_count(struct outbox *ob, enum outbox_state state, uint64_t *n)
    __attribute__((warn_unused_result));

/* An ACKed item with a log index below tree_size and no proof yet, lowest
 * index first, skipping indexes below `after` (so a caller can walk
 * them); PW_ERR_NOTFOUND when none. */
pw_err outbox_unproven(struct outbox *ob, uint64_t tree_size, uint64_t after,
                       struct outbox_item *it) __attribute__((warn_unused_result));
pw_err outbox_set_proof(struct outbox *ob, enum outbox_stream s, uint64_t seq,
                        enum outbox_proof proof) __attribute__((warn_unused_result));

#endif
