/*
 * cosign.h: the exchange's cosignatures (protocol 2 Part C; docs/protocol.md
 * "COSIGN", docs/exchange.md "Cosignatures").
 *
 * A household cosigns a CHECKPOINT the exchange issued; the exchange checks
 * it against its own table checkpoints (exchange/mlog.c), logs the COSIGN
 * frame as a log entry (the caller, exchange/engine.c, inside its batch
 * transaction) and keeps it in
 *     cosigns(pk BLOB NOT NULL, tree_size INTEGER NOT NULL,
 *         log_idx INTEGER NOT NULL, frame BLOB NOT NULL,
 *         PRIMARY KEY(pk, tree_size))
 * for QUERY COSIGNED and the PUB topic COSIGNED.  Bounded: one row per
 * household and checkpoint, each household's sizes strictly increasing.
 *
 * The sqlite3 handle is the store's (store_db()); not thread-safe.
 */
#ifndef EXCHANGE_COSIGN_H
#define EXCHANGE_COSIGN_H

#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "peerwatt/error.h"
#include "peerwatt/wire.h"

/* Creates table cosigns when missing. */
pw_err cosign_init(sqlite3 *db) __attribute__((warn_unused_result));

/*
 * The rules of a decoded, verified COSIGN `m` by a registered household:
 * *reason = PW_REASON_UNKNOWN_HEAD when (origin, tree_size, root) is not a
 * stored CHECKPOINT of this exchange, PW_REASON_REPLAY when the author
 * already cosigned this size or a larger one, else PW_REASON_OK.
 * PW_ERR_DB on a database failure.
 */
pw_err cosign_check(sqlite3 *db, const struct pw_msg *m, enum pw_reason *reason)
    __attribute__((warn_unused_result));

/* Stores the accepted COSIGN frame (inside the caller's transaction). */
pw_err cosign_insert(sqlite3 *db, const struct pw_msg *m, uint64_t log_idx, const uint8_t *frame,
                     size_t len) __attribute__((warn_unused_result));

/* A checkpoint and its cosignatures: frames[0] is the CHECKPOINT, then the
 * COSIGN frames in log order (n <= 1 + PW_COSIGNED_MAX). */
struct cosign_set {
	uint64_t tree_size;
	size_t n;
	uint8_t **frames;
	size_t *lens;
};

/*
 * Fills `out` for tree size `size` (0: the largest size with a
 * cosignature).  PW_ERR_NOTFOUND when there is no such checkpoint (or, for
 * 0, no cosignature at all).  Free with cosign_set_free().
 */
pw_err cosign_collect(sqlite3 *db, uint64_t size, struct cosign_set *out)
    __attribute__((warn_unused_result));
void cosign_set_free(struct cosign_set *s);

#endif
