/*
 * receipt.h: inclusion paths for the ACKs of one batch (docs/protocol.md
 * "ACK", docs/exchange.md "Receipts").
 *
 * The exchange signs one tree head per batch and gives every ACK of the
 * batch the RFC 6962 inclusion path of its entry in that head's tree.  The
 * entries of a batch are the last leaves of the tree, so every path needs
 * only (a) the compact range of the tree before the batch (one perfect
 * subtree root per set bit of its size, kept in memory by exchange/mlog.c)
 * and (b) the batch's own leaves: a left sibling wholly before the batch is
 * a node of that compact range, every other node lies over the batch.
 * receipt_seal() hashes every perfect subtree over the batch once (about
 * one hash per leaf), after which a path costs O(log^2 n) table look-ups
 * and no storage access.
 *
 * Use: receipt_begin() with the range before the batch, receipt_add() for
 * each leaf appended (exchange/mlog.c does it while recording), then
 * receipt_seal(); receipt_path() is then read-only and thread-safe (the
 * crypto pool builds the ACKs while the COMMIT runs).  Owned by
 * exchange/engine.c.
 */
#ifndef EXCHANGE_RECEIPT_H
#define EXCHANGE_RECEIPT_H

#include <stddef.h>
#include <stdint.h>

#include "peerwatt/error.h"
#include "peerwatt/merkle.h"

struct receipt_batch {
	struct merkle_range start; /* the tree before the batch */
	uint64_t size;             /* the tree after the batch (start.size + n_leaves) */
	size_t n_leaves, cap;      /* leaves of the batch; room for cap */
	int broken;                /* a leaf did not fit: no paths for this batch */
	int sealed;
	/* level l holds nodes (l, start.size >> l .. size >> l), at off[l] */
	uint8_t (*nodes)[MERKLE_HASH_LEN];
	size_t node_cap;
	size_t off[MERKLE_MAX_LEVELS + 1];
	uint64_t lo[MERKLE_MAX_LEVELS], hi[MERKLE_MAX_LEVELS];
};

/* Room for batches of up to `cap` leaves; PW_ERR_NOMEM. */
pw_err receipt_init(struct receipt_batch *b, size_t cap) __attribute__((warn_unused_result));
void receipt_fini(struct receipt_batch *b);

/* A new batch appended to the tree `start`. */
void receipt_begin(struct receipt_batch *b, const struct merkle_range *start);
/* The next leaf hash of the batch (more than cap: the batch gets no paths). */
void receipt_add(struct receipt_batch *b, const uint8_t leaf[MERKLE_HASH_LEN]);
/* Hash every perfect subtree over the batch; PW_ERR_FULL when a leaf was
 * lost (receipt_add over cap), PW_ERR_INTERNAL on a broken invariant. */
pw_err receipt_seal(struct receipt_batch *b) __attribute__((warn_unused_result));

/*
 * The inclusion path of leaf `idx` (a leaf of the batch: start.size <= idx
 * < size) in the tree of `size` leaves, as merkle_prove_inclusion() gives
 * it.  PW_ERR_RANGE outside the batch, PW_ERR_STATE before receipt_seal().
 */
pw_err receipt_path(const struct receipt_batch *b, uint64_t idx, uint8_t (*hashes)[MERKLE_HASH_LEN],
                    size_t cap, size_t *n) __attribute__((warn_unused_result));

#endif
