/*
 * store.h: the exchange's durable state in SQLite (schema in docs/exchange.md).
 *
 * Owns the sqlite3 handle: WAL journal, synchronous=FULL, so a committed
 * transaction survives power loss.  The Merkle log (exchange/mlog.h) lives
 * in the same database and is appended inside the same transactions
 * (store_db() hands it the handle).  Callers group many requests in one
 * transaction (store_begin ... store_commit) and reply only after commit:
 * that is the group commit of the request path.
 *
 * Tables: params, fees, households (registry snapshot for auditors),
 * seqs (last CANCEL sequence per key), orders, intervals, trades,
 * results, meters, statements, stats (rejections per reason).  What is
 * derived from the open orders (the open quantity per household and per
 * price level, the open orders by key and seq, the last ORDER/CANCEL
 * sequence per key) is kept in memory (exchange/book.h), rebuilt from table
 * orders at open and after a rollback, so that a batch's COMMIT writes only
 * the log, log_nodes and orders pages (and seqs for a CANCEL).
 *
 * Not thread-safe: one store per thread (the exchange is single-threaded).
 * Every function returns PW_ERR_DB on an SQLite failure (message logged).
 */
#ifndef EXCHANGE_STORE_H
#define EXCHANGE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "exchange/book.h"
#include "peerwatt/error.h"
#include "peerwatt/keys.h"
#include "peerwatt/wire.h"

struct registry;
struct store;

enum store_order_status {
	STORE_ORDER_OPEN = 0,
	STORE_ORDER_CANCELLED = 1,
	STORE_ORDER_CLOSED = 2, /* its interval was cleared */
};

struct store_order {
	uint64_t log_idx; /* index of the ORDER in the log: the arrival order */
	uint8_t pk[PW_PK_LEN];
	uint64_t seq;
	uint64_t interval;
	uint8_t side;
	uint32_t qty_wh;
	int32_t price_uper_kwh; /* may be negative */
	uint64_t expiry_s;
	int status;         /* enum store_order_status */
	uint64_t filled_wh; /* after clearing */
};

struct store_meter_state {
	uint64_t last_seq; /* 0: no reading yet */
	uint64_t last_interval;
	uint64_t export_end_wh;
	uint64_t import_end_wh;
};

struct store_meter {
	uint8_t pk[PW_PK_LEN];
	uint64_t interval;
	uint64_t seq;
	uint64_t export_start_wh, export_end_wh;
	uint64_t import_start_wh, import_end_wh;
	uint8_t time_status;
	uint64_t log_idx;
	uint64_t received_s;
};

struct store_trade {
	uint64_t interval;
	uint32_t n; /* position in the interval's trade list */
	uint8_t buyer[PW_PK_LEN];
	uint8_t seller[PW_PK_LEN];
	uint64_t buy_seq, sell_seq;
	uint32_t qty_wh;
	int32_t price_uper_kwh; /* may be negative */
};

/* Market parameters snapshot written at start and on reload (auditors). */
struct store_params {
	uint64_t market_id;
	const char *market_name;
	int64_t interval_s, gate_s, grace_s;
	int64_t feedin_uper_kwh, retail_uper_kwh;
	uint8_t exchange_pk[PW_PK_LEN];
};

/* Open (create) the database at `path` (":memory:" for tests). */
pw_err store_open(const char *path, struct store **out) __attribute__((warn_unused_result));
/*
 * Open an existing database to read only (--check-config): no schema, no
 * migration, no book, nothing written, no checkpoint at close, so a running
 * exchange is never held up.  PW_ERR_NOTFOUND when the file does not exist,
 * PW_ERR_DB when it cannot be opened, PW_ERR_STATE when it lacks the tables of a start
 * or has those of an earlier version (a start creates or upgrades them).
 * Only the queries that read (store_last_order_interval, ...) may be used.
 */
pw_err store_open_read(const char *path, struct store **out) __attribute__((warn_unused_result));
/* Closes and nulls *sp; safe on NULL.  Rolls back an open transaction. */
void store_close(struct store **sp);
/* The handle, for exchange/mlog (same transactions).  Owned by the store. */
sqlite3 *store_db(struct store *s);

pw_err store_begin(struct store *s) __attribute__((warn_unused_result));
/* PW_OK once durable (fsync'ed WAL). */
pw_err store_commit(struct store *s) __attribute__((warn_unused_result));
void store_rollback(struct store *s);

/* Inside a transaction (these do not begin one themselves). */
pw_err store_put_params(struct store *s, const struct store_params *p)
    __attribute__((warn_unused_result));
/* One more integer parameter (fee_default_uper_kwh, max_ahead_s, ...). */
pw_err store_put_param(struct store *s, const char *key, int64_t value)
    __attribute__((warn_unused_result));
pw_err store_clear_fees(struct store *s) __attribute__((warn_unused_result));
pw_err store_put_fee(struct store *s, const char *zone_a, const char *zone_b, int64_t fee_uper_kwh)
    __attribute__((warn_unused_result));
/* Upsert every household of `r`; the ones missing from `r` get revoked = 1. */
pw_err store_sync_households(struct store *s, const struct registry *r)
    __attribute__((warn_unused_result));
/* 1 when `pk` was registered once and is revoked now, 0 otherwise. */
int store_is_revoked(struct store *s, const uint8_t pk[PW_PK_LEN]);

/* Last ORDER/CANCEL sequence accepted from `pk` (0 when none). */
pw_err store_last_seq(struct store *s, const uint8_t pk[PW_PK_LEN], uint64_t *seq)
    __attribute__((warn_unused_result));
/* A CANCEL's sequence (an ORDER's is recorded by store_order_insert). */
pw_err store_set_seq(struct store *s, const uint8_t pk[PW_PK_LEN], uint64_t seq)
    __attribute__((warn_unused_result));
/* 1 when the in-memory book has room for one more open order (book.h
 * BOOK_MAX_ENTRIES); the request path refuses the order otherwise. */
int store_book_room(const struct store *s);
/* What the in-memory book holds (a restart must rebuild the same). */
pw_err store_book_summary(struct store *s, struct book_summary *out)
    __attribute__((warn_unused_result));
/* WAL pages written by the last COMMIT (0 without WAL, e.g. ":memory:"). */
uint64_t store_commit_pages(const struct store *s);

/* Also records o->seq as the key's last sequence.  PW_ERR_FULL or
 * PW_ERR_NOMEM when the open order does not fit in the in-memory book:
 * the caller rolls back. */
pw_err store_order_insert(struct store *s, const struct store_order *o, uint64_t received_s)
    __attribute__((warn_unused_result));
/* PW_ERR_NOTFOUND when `pk` has no order with that seq. */
pw_err store_order_get(struct store *s, const uint8_t pk[PW_PK_LEN], uint64_t seq,
                       struct store_order *o) __attribute__((warn_unused_result));
pw_err store_order_set_status(struct store *s, uint64_t log_idx, int status, uint64_t filled_wh)
    __attribute__((warn_unused_result));
/* Sum of quantities of `pk`'s open orders on `side` in `interval`. */
pw_err store_open_qty(struct store *s, const uint8_t pk[PW_PK_LEN], uint64_t interval, uint8_t side,
                      uint64_t *qty_wh) __attribute__((warn_unused_result));
/* Open orders of `interval` in arrival order; *out is malloc'ed (caller frees). */
pw_err store_open_orders(struct store *s, uint64_t interval, struct store_order **out, size_t *n)
    __attribute__((warn_unused_result));
/* Smallest interval with an open order, PW_ERR_NOTFOUND when none. */
pw_err store_first_open_interval(struct store *s, uint64_t *interval)
    __attribute__((warn_unused_result));
/* Largest interval any logged order targets (open, cancelled or closed),
 * PW_ERR_NOTFOUND when no order was ever accepted. */
pw_err store_last_order_interval(struct store *s, uint64_t *interval)
    __attribute__((warn_unused_result));
/* Open depth: sum of open quantity by side and price, best prices first,
 * at most `max` levels per side.  Returns the number of levels written. */
pw_err store_depth(struct store *s, uint64_t interval, struct pw_depth *d)
    __attribute__((warn_unused_result));

/* Interval bookkeeping: state 1 = cleared, 2 = settled. */
pw_err store_interval_cleared(struct store *s, uint64_t interval, int32_t price_uper_kwh,
                              uint64_t volume_wh, uint32_t parts, uint64_t now_s)
    __attribute__((warn_unused_result));
pw_err store_interval_settled(struct store *s, uint64_t interval, uint64_t now_s)
    __attribute__((warn_unused_result));
/* state of an interval: 0 when not cleared yet. */
pw_err store_interval_state(struct store *s, uint64_t interval, int *state, int32_t *price,
                            uint64_t *volume_wh) __attribute__((warn_unused_result));
/* Largest cleared interval, PW_ERR_NOTFOUND when none. */
pw_err store_last_cleared(struct store *s, uint64_t *interval) __attribute__((warn_unused_result));
/* Smallest cleared but unsettled interval, PW_ERR_NOTFOUND when none. */
pw_err store_first_unsettled(struct store *s, uint64_t *interval)
    __attribute__((warn_unused_result));

pw_err store_trade_insert(struct store *s, const struct store_trade *t)
    __attribute__((warn_unused_result));
/* Trades of `interval` in list order; *out malloc'ed (caller frees). */
pw_err store_trades(struct store *s, uint64_t interval, struct store_trade **out, size_t *n)
    __attribute__((warn_unused_result));

pw_err store_result_insert(struct store *s, uint64_t interval, uint32_t part, const uint8_t *frame,
                           size_t len, uint64_t log_idx) __attribute__((warn_unused_result));
/* Frame of RESULT part `part` of `interval` into buf; PW_ERR_NOTFOUND. */
pw_err store_result_get(struct store *s, uint64_t interval, uint32_t part, uint8_t *buf, size_t cap,
                        size_t *len, uint32_t *parts) __attribute__((warn_unused_result));

pw_err store_meter_state(struct store *s, const uint8_t pk[PW_PK_LEN], struct store_meter_state *st)
    __attribute__((warn_unused_result));
pw_err store_meter_insert(struct store *s, const struct store_meter *m)
    __attribute__((warn_unused_result));
/* The reading of `pk` for `interval`; PW_ERR_NOTFOUND. */
pw_err store_meter_get(struct store *s, const uint8_t pk[PW_PK_LEN], uint64_t interval,
                       struct store_meter *m) __attribute__((warn_unused_result));

pw_err store_statement_insert(struct store *s, const uint8_t pk[PW_PK_LEN], uint64_t interval,
                              const uint8_t *frame, size_t len, uint64_t log_idx)
    __attribute__((warn_unused_result));
pw_err store_statement_get(struct store *s, const uint8_t pk[PW_PK_LEN], uint64_t interval,
                           uint8_t *buf, size_t cap, size_t *len)
    __attribute__((warn_unused_result));
/* The log index of the statement of `pk` for `interval` (QUERY
 * STATEMENT_PROOF); PW_ERR_NOTFOUND when none. */
pw_err store_statement_index(struct store *s, const uint8_t pk[PW_PK_LEN], uint64_t interval,
                             uint64_t *log_idx) __attribute__((warn_unused_result));

/* The latest signed CHECKPOINT frame (table checkpoints of exchange/mlog);
 * PW_ERR_NOTFOUND when none was signed yet. */
pw_err store_last_checkpoint(struct store *s, uint8_t *buf, size_t cap, size_t *len)
    __attribute__((warn_unused_result));

/* Up to `max` intervals >= `from` that have open orders, ascending. */
pw_err store_open_intervals(struct store *s, uint64_t from, uint64_t *out, size_t max, size_t *n)
    __attribute__((warn_unused_result));

/* Keys with a reading for `interval` (sorted); *out malloc'ed (caller frees). */
pw_err store_meter_pks(struct store *s, uint64_t interval, uint8_t (**out)[PW_PK_LEN], size_t *n)
    __attribute__((warn_unused_result));
/* Zone of a household in the households snapshot (also revoked ones);
 * PW_ERR_NOTFOUND when the key was never registered. */
pw_err store_household_zone(struct store *s, const uint8_t pk[PW_PK_LEN], char *zone, size_t cap)
    __attribute__((warn_unused_result));

/* Rejection counters (persisted so they survive restarts); `name` is the
 * reason's name (pw_reason_name()), kept for operators reading the table. */
pw_err store_stat_add(struct store *s, unsigned reason, const char *name, uint64_t n)
    __attribute__((warn_unused_result));
pw_err store_stat_get(struct store *s, unsigned reason, uint64_t *n)
    __attribute__((warn_unused_result));

#endif
