/*
 * mlog.h: the exchange's settlement log, an RFC 6962 Merkle tree kept in
 * SQLite (docs/audit.md gives the schema and the rules an auditor checks).
 *
 * Owns the tables
 *     log(idx INTEGER PRIMARY KEY, type INTEGER NOT NULL, frame BLOB NOT NULL,
 *         leaf BLOB NOT NULL)
 *     log_nodes(leaf INTEGER NOT NULL, level INTEGER NOT NULL,
 *         hash BLOB NOT NULL, PRIMARY KEY(leaf, level)) WITHOUT ROWID
 *     checkpoints(tree_size INTEGER PRIMARY KEY, interval INTEGER,
 *         frame BLOB NOT NULL)
 * and the in-memory compact range of the log (so an append is O(log n) and
 * the root is always at hand).  log_nodes holds every interior node of the
 * tree that is the root of a perfect subtree: (level l >= 1, idx i) is
 * MTH(D[i*2^l : (i+1)*2^l]), inserted with the leaf that completes it (in
 * the same transaction) and keyed by it (leaf (i+1)*2^l - 1: appended, not
 * spread over one page per level), so proofs cost O(log n) indexed lookups.  Entries are the exact
 * signed frames: the households' ORDER, CANCEL and METER frames as received, the exchange's RESULT
 * parts and STATEMENTs.  idx counts from 0 without gaps; leaf is SHA-256(0x00 || frame); type is
 * frame[1].
 *
 * Called by the exchange (exchange/main.c and its request/interval code)
 * from inside its own store transactions: mlog_append() must run in the
 * caller's open transaction so the entry commits or rolls back with the
 * state it changes.  After a rollback the caller calls mlog_reload() to
 * bring the in-memory range back to what the database holds.
 *
 * The sqlite3 handle stays owned by the caller (exchange/store.c) and must
 * outlive the mlog.  Not thread-safe: one mlog per connection and thread.
 */
#ifndef EXCHANGE_MLOG_H
#define EXCHANGE_MLOG_H

#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "peerwatt/error.h"
#include "peerwatt/keys.h"
#include "peerwatt/wire.h"
#include "exchange/receipt.h"

struct mlog;

/*
 * Creates the tables when missing and loads the compact range from the
 * entries (checking that indices have no gaps, that every leaf is the hash
 * of its frame and that the latest checkpoint's root matches the entries:
 * PW_ERR_CORRUPT otherwise).  Then checks log_nodes against the entries
 * (its last row and the nodes of the compact range) and, when it was
 * missing or had the former key (level, idx) (a database of an older
 * version) or does not match, builds it from the leaves in one savepoint
 * (logged; about one insert per entry; an old table is dropped in the same
 * transaction, and kept when the open fails).  On PW_OK the caller owns *out and frees it with
 * mlog_close().
 */
pw_err mlog_open(struct mlog **out, sqlite3 *db) __attribute__((warn_unused_result));
/* Frees the mlog (not the database handle) and nulls *mp; safe on NULL. */
void mlog_close(struct mlog **mp);

/*
 * Appends one signed frame (at least the 2-byte version/type header; at
 * most PW_WIRE_MAX_LEN) as the next entry, with the log_nodes rows it
 * completes; *index receives its index.  PW_ERR_STATE when no transaction
 * is open on the handle; PW_ERR_DB when an insert fails (the in-memory
 * range is then unchanged; the caller rolls back).
 */
pw_err mlog_append(struct mlog *m, const uint8_t *frame, size_t len, uint64_t *index)
    __attribute__((warn_unused_result));

/*
 * Re-reads the log after the caller rolled back a transaction that had
 * appended entries (or stored a checkpoint).  Costs the entries appended
 * since the latest committed checkpoint (all of them when there is none).
 */
pw_err mlog_reload(struct mlog *m) __attribute__((warn_unused_result));

/* Number of entries (the tree size) and the current root. */
uint64_t mlog_size(const struct mlog *m);
void mlog_root(const struct mlog *m, uint8_t out[PW_HASH_LEN]);

/*
 * Signs a CHECKPOINT (wire.h) of the current size and root with `exch`,
 * stores it in table checkpoints and writes the frame to `frame` (room for
 * `cap` bytes; *len its length).  `origin` is the market name (1 to
 * PW_ORIGIN_LEN printable ASCII characters), `interval` the last interval
 * settled into the log, `time_s` the exchange clock.
 *
 * Refuses (PW_ERR_CORRUPT, nothing signed) when the database does not show
 * the current tree as an extension of the latest stored checkpoint: the
 * entries since that checkpoint are read back and must give the current
 * root, and a consistency proof generated from log_nodes must verify
 * against both roots, so the exchange never signs two checkpoints that no
 * proof links.  Cost: the entries since the checkpoint plus O(log n)
 * lookups (entries before it were checked by mlog_open).  A
 * checkpoint of the same size as the latest replaces it (same root, later
 * interval).  Call it inside the caller's transaction or on its own.
 */
pw_err mlog_checkpoint(struct mlog *m, const struct pw_keypair *exch, uint64_t market_id,
                       const char *origin, uint64_t interval, uint64_t time_s, uint8_t *frame,
                       size_t cap, size_t *len) __attribute__((warn_unused_result));

/*
 * Receipts of a batch: from now on every appended leaf also goes to `rec`
 * (receipt_begin() with the current tree first), until mlog_record(m,
 * NULL).  The exchange signs one head per batch over mlog_size/mlog_root
 * after it and gives each ACK its path from `rec` (exchange/receipt.h).
 */
void mlog_record(struct mlog *m, struct receipt_batch *rec);
/* The interval of the latest stored checkpoint (0 when none): the last
 * interval settled into the log, as a batch head names it. */
uint64_t mlog_last_interval(const struct mlog *m);

/*
 * The entries the latest stored checkpoint authenticates: its size when
 * its frame is signed by `pk` for `market_id` and states the size and root
 * mlog_open() checked (every leaf the hash of its frame, their root the
 * checkpoint's; the entries appended since were appended by this
 * process), else 0 (no checkpoint, or one that does not verify).  Entries
 * below it need no signature check of their own: rewriting any of them
 * changes the root that one signature covers.  One Ed25519 verification.
 */
uint64_t mlog_signed_size(struct mlog *m, uint64_t market_id, const uint8_t pk[PW_PK_LEN]);

/* The latest stored checkpoint's size and root; PW_ERR_NOTFOUND when none. */
pw_err mlog_last_checkpoint(const struct mlog *m, uint64_t *tree_size, uint8_t root[PW_HASH_LEN])
    __attribute__((warn_unused_result));

/*
 * Proofs for QUERY answers, over the stored entries.  Fill kind, a, b,
 * n_hashes and hashes of `p`; p->nonce is left to the caller.
 * Inclusion: idx < size <= mlog_size(), else PW_ERR_RANGE.
 * Consistency: old <= new_ <= mlog_size(), else PW_ERR_RANGE.
 * Cost: O(log n) indexed lookups in log and log_nodes (at most about
 * 2 log2(n)); PW_ERR_CORRUPT when a node is missing.
 */
pw_err mlog_prove_inclusion(struct mlog *m, uint64_t idx, uint64_t size, struct pw_proof *p)
    __attribute__((warn_unused_result));
pw_err mlog_prove_consistency(struct mlog *m, uint64_t old, uint64_t new_, struct pw_proof *p)
    __attribute__((warn_unused_result));

/*
 * Copies entry `idx` into `buf` (room for `cap` bytes): *len its length,
 * *type its type byte.  PW_ERR_NOTFOUND past the end, PW_ERR_FULL when cap
 * is too small.
 */
pw_err mlog_get(struct mlog *m, uint64_t idx, uint8_t *buf, size_t cap, size_t *len, uint8_t *type)
    __attribute__((warn_unused_result));

#endif
