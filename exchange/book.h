/*
 * book.h: the sums the exchange derives from its open orders, kept in
 * memory instead of in SQLite tables and indexes (docs/exchange.md "Schema",
 * docs/performance.md "Order ingest"):
 *   - per (household, interval, side) the open quantity: the capacity and
 *     self-trade rules;
 *   - per (interval, side, price) the open quantity: DEPTH;
 *   - the open orders by (household, seq): a CANCEL's target, without an
 *     index on table orders that every ORDER would write a page of;
 *   - per household the last ORDER/CANCEL sequence: the replay rule (the
 *     open orders' noted here, the rest folded in from the database on
 *     first use).
 * Owned by exchange/store.c, which updates it as orders open and close
 * inside its transactions, rebuilds it from table orders at open and after
 * a rollback, and drops an interval when it is cleared.  So a COMMIT
 * writes no page for any of them.
 *
 * Bounded: at most BOOK_MAX_ENTRIES of each kind (book_room() says whether
 * one more order fits; the request path refuses it otherwise); each entry
 * is 32-56 bytes, in tables at most half full (about 220 MB at most).  Not thread-safe: one book
 * per store, one thread.
 */
#ifndef EXCHANGE_BOOK_H
#define EXCHANGE_BOOK_H

#include <stddef.h>
#include <stdint.h>

#include "peerwatt/error.h"
#include "peerwatt/keys.h"
#include "peerwatt/wire.h"

/* Entries of each kind at most (112 MB of table for the largest kind). */
#define BOOK_MAX_ENTRIES (1u << 20)

struct book;

/* A book of at most `max_entries` (<= BOOK_MAX_ENTRIES) entries of each
 * kind; the caller frees it with book_free(). */
pw_err book_new(size_t max_entries, struct book **out) __attribute__((warn_unused_result));
/* Frees and nulls *bp; safe on NULL. */
void book_free(struct book **bp);
/* Forget everything, sequences included (before a rebuild). */
void book_clear(struct book *b);

/* 1 when one more open order fits (its entry, a new household entry and
 * a new price level), 0 when a table is full. */
int book_room(const struct book *b);

/* An order of `qty_wh` opens (delta > 0) or closes (delta < 0).
 * PW_ERR_FULL when a table is full, PW_ERR_NOMEM; then b is unchanged. */
pw_err book_add(struct book *b, const uint8_t pk[PW_PK_LEN], uint64_t interval, uint8_t side,
                int64_t price_uper_kwh, int64_t delta_wh) __attribute__((warn_unused_result));
/* Open quantity of `pk` on `side` in `interval` (0 when none). */
uint64_t book_open_qty(const struct book *b, const uint8_t pk[PW_PK_LEN], uint64_t interval,
                       uint8_t side);
/* The best levels of `interval` with open quantity: buys highest price
 * first, then sells lowest first, at most PW_DEPTH_MAX_LEVELS / 2 each. */
void book_depth(struct book *b, uint64_t interval, struct pw_depth *d);
/* Forget every entry of `interval` (it was cleared). */
void book_drop_interval(struct book *b, uint64_t interval);

/* The last ORDER/CANCEL sequence of `pk`, once complete (below): 1 and
 * *seq, else 0 (the caller reads the database and calls
 * book_seq_complete). */
int book_seq_get(const struct book *b, const uint8_t pk[PW_PK_LEN], uint64_t *seq);
/* An accepted ORDER or CANCEL of `pk` with `seq` (kept when larger).
 * PW_ERR_FULL, PW_ERR_NOMEM: the caller must roll back (the sequence
 * would be forgotten). */
pw_err book_seq_note(struct book *b, const uint8_t pk[PW_PK_LEN], uint64_t seq)
    __attribute__((warn_unused_result));
/* Fold in what the database holds for `pk` besides its open orders (its
 * seqs row, its orders that are no longer open): the result, the last
 * sequence, is complete from now on (kept when there is room). */
uint64_t book_seq_complete(struct book *b, const uint8_t pk[PW_PK_LEN], uint64_t db_seq);

/* An open order (pk, seq) at `log_idx` of `interval`.  PW_ERR_EXISTS when
 * (pk, seq) is open already, PW_ERR_FULL, PW_ERR_NOMEM. */
pw_err book_order_put(struct book *b, const uint8_t pk[PW_PK_LEN], uint64_t seq, uint64_t log_idx,
                      uint64_t interval) __attribute__((warn_unused_result));
/* 1 and *log_idx when (pk, seq) is an open order, 0 otherwise. */
int book_order_find(const struct book *b, const uint8_t pk[PW_PK_LEN], uint64_t seq,
                    uint64_t *log_idx);
/* The order closed (cancelled or cleared); nothing when it is not open. */
void book_order_del(struct book *b, const uint8_t pk[PW_PK_LEN], uint64_t seq);

/* What the book holds, for comparing two books (a restart must rebuild the
 * same one): the household entries and price levels with open quantity,
 * their sums, and a SHA-256 over them in a canonical order.  PW_ERR_NOMEM. */
struct book_summary {
	uint64_t households, hh_wh; /* (household, interval, side) entries, sum */
	uint64_t levels, level_wh;  /* (interval, side, price) levels, sum */
	uint8_t digest[32];
};
pw_err book_summary(const struct book *b, struct book_summary *out)
    __attribute__((warn_unused_result));

#endif
