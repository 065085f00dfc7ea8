/*
 * store_orders.c: the orders of the exchange's store (store.h): sequence
 * numbers, the orders table and the in-memory book (book.h) kept in step
 * with it, DEPTH, the intervals' clearing state, trades and RESULT parts.
 * Called from one thread, like store.c.
 */
#include "exchange/store.h"
#include "exchange/store_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exchange/book.h"
#include "peerwatt/log.h"

/*
 * The last ORDER/CANCEL sequence of `pk`: the largest of its open orders'
 * seqs (noted in memory as they are loaded and accepted), of its orders no
 * longer open (index orders_done) and of its seqs row (written by CANCEL
 * only, and by versions before 2026-12 for every ORDER too).  Complete in
 * memory after the first look-up.
 */
pw_err
store_last_seq(struct store *s, const uint8_t pk[PW_PK_LEN], uint64_t *seq)
{
	uint64_t from_seqs = 0, from_orders = 0;
	if (book_seq_get(s->book, pk, seq))
		return PW_OK;
	sqlite3_stmt *st = store_q(s, Q_SEQ_GET);
	if (!st)
		return PW_ERR_DB;
	store_bind_pk(st, 1, pk);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		from_seqs = store_col_u64(st, 0);
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_db_fail(s, "seqs");
	if (!(st = store_q(s, Q_ORDER_MAX_SEQ)))
		return PW_ERR_DB;
	store_bind_pk(st, 1, pk);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
		from_orders = store_col_u64(st, 0);
	sqlite3_reset(st);
	if (rc != SQLITE_ROW)
		return store_db_fail(s, "orders seq");
	/* read inside a transaction: a rollback must forget it */
	if (s->in_tx)
		s->book_dirty = 1;
	*seq = book_seq_complete(s->book, pk, from_seqs > from_orders ? from_seqs : from_orders);
	return PW_OK;
}

pw_err
store_set_seq(struct store *s, const uint8_t pk[PW_PK_LEN], uint64_t seq)
{
	sqlite3_stmt *st = store_q(s, Q_SEQ_PUT);
	if (!st)
		return PW_ERR_DB;
	store_bind_pk(st, 1, pk);
	store_bind_u64(st, 2, seq);
	pw_err rc = store_run(s, st, "seqs");
	if (rc != PW_OK)
		return rc;
	s->book_dirty = 1;
	return book_seq_note(s->book, pk, seq);
}

int
store_book_room(const struct store *s)
{
	return book_room(s->book);
}

pw_err
store_order_insert(struct store *s, const struct store_order *o, uint64_t received_s)
{
	sqlite3_stmt *st = store_q(s, Q_ORDER_PUT);
	uint64_t idx;
	if (!st)
		return PW_ERR_DB;
	store_bind_u64(st, 1, o->log_idx);
	store_bind_pk(st, 2, o->pk);
	store_bind_u64(st, 3, o->seq);
	store_bind_u64(st, 4, o->interval);
	sqlite3_bind_int(st, 5, o->side);
	sqlite3_bind_int64(st, 6, o->qty_wh);
	sqlite3_bind_int64(st, 7, o->price_uper_kwh);
	store_bind_u64(st, 8, o->expiry_s);
	sqlite3_bind_int(st, 9, o->status);
	store_bind_u64(st, 10, o->filled_wh);
	store_bind_u64(st, 11, received_s);
	/* an open (pk, seq) is unique in memory, a closed one by orders_done;
	 * the replay rule keeps both from happening */
	if (o->status == STORE_ORDER_OPEN && book_order_find(s->book, o->pk, o->seq, &idx))
		return PW_ERR_EXISTS;
	pw_err rc = store_run(s, st, "orders insert");
	if (rc != PW_OK)
		return rc;
	/* the open order, its sums and its seq live in memory (book.h): the
	 * capacity rule and a CANCEL cost look-ups, the COMMIT writes the
	 * orders row only */
	s->book_dirty = 1;
	if ((rc = book_seq_note(s->book, o->pk, o->seq)) != PW_OK ||
	    o->status != STORE_ORDER_OPEN ||
	    (rc = book_order_put(s->book, o->pk, o->seq, o->log_idx, o->interval)) != PW_OK)
		return rc;
	return book_add(s->book, o->pk, o->interval, o->side, o->price_uper_kwh, o->qty_wh);
}

/* The order of the current row of `st` (columns as in Q_ORDER_GET). */
static void
order_row(sqlite3_stmt *st, const uint8_t pk[PW_PK_LEN], uint64_t seq, struct store_order *o)
{
	memset(o, 0, sizeof(*o));
	memcpy(o->pk, pk, PW_PK_LEN);
	o->seq = seq;
	o->log_idx = store_col_u64(st, 0);
	o->interval = store_col_u64(st, 1);
	o->side = (uint8_t)sqlite3_column_int(st, 2);
	o->qty_wh = (uint32_t)sqlite3_column_int64(st, 3);
	o->price_uper_kwh = (int32_t)sqlite3_column_int64(st, 4);
	o->expiry_s = store_col_u64(st, 5);
	o->status = sqlite3_column_int(st, 6);
	o->filled_wh = store_col_u64(st, 7);
}

pw_err
store_order_get(struct store *s, const uint8_t pk[PW_PK_LEN], uint64_t seq, struct store_order *o)
{
	uint64_t idx;
	uint8_t row_pk[PW_PK_LEN];
	sqlite3_stmt *st;
	int rc;
	/* an open order: found in memory, read by its log index */
	if (book_order_find(s->book, pk, seq, &idx)) {
		if (!(st = store_q(s, Q_ORDER_BY_IDX)))
			return PW_ERR_DB;
		store_bind_u64(st, 1, idx);
		rc = sqlite3_step(st);
		pw_err r = PW_OK;
		if (rc == SQLITE_ROW && store_col_pk(st, 8, row_pk) &&
		    memcmp(row_pk, pk, PW_PK_LEN) == 0 && store_col_u64(st, 9) == seq)
			order_row(st, pk, seq, o);
		else
			r = rc == SQLITE_ROW || rc == SQLITE_DONE ? PW_ERR_CORRUPT
			                                          : store_db_fail(s, "orders get");
		sqlite3_reset(st);
		if (r == PW_ERR_CORRUPT)
			log_warnx("store: open order %llu is not the row of its key and seq",
			          (unsigned long long)idx);
		return r;
	}
	/* one no longer open: index orders_done */
	if (!(st = store_q(s, Q_ORDER_GET)))
		return PW_ERR_DB;
	store_bind_pk(st, 1, pk);
	store_bind_u64(st, 2, seq);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		order_row(st, pk, seq, o);
	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		return PW_ERR_NOTFOUND;
	return rc == SQLITE_ROW ? PW_OK : store_db_fail(s, "orders get");
}

pw_err
store_order_set_status(struct store *s, uint64_t log_idx, int status, uint64_t filled_wh)
{
	sqlite3_stmt *st;
	pw_err rc;
	if (status != STORE_ORDER_OPEN) {
		/* an open order leaves the book (nothing when it is not open) */
		uint8_t pk[PW_PK_LEN];
		if (!(st = store_q(s, Q_ORDER_OPEN_ROW)))
			return PW_ERR_DB;
		store_bind_u64(st, 1, log_idx);
		int r = sqlite3_step(st);
		if (r == SQLITE_ROW && store_col_pk(st, 0, pk)) {
			s->book_dirty = 1;
			book_order_del(s->book, pk, store_col_u64(st, 5));
			rc = book_add(s->book, pk, store_col_u64(st, 1),
			              (uint8_t)sqlite3_column_int(st, 2),
			              sqlite3_column_int64(st, 3), -sqlite3_column_int64(st, 4));
		} else {
			rc = r == SQLITE_ROW || r == SQLITE_DONE ? PW_OK
			                                         : store_db_fail(s, "orders open");
		}
		sqlite3_reset(st);
		if (rc != PW_OK)
			return rc;
	}
	if (!(st = store_q(s, Q_ORDER_STATUS)))
		return PW_ERR_DB;
	store_bind_u64(st, 1, log_idx);
	sqlite3_bind_int(st, 2, status);
	store_bind_u64(st, 3, filled_wh);
	return store_run(s, st, "orders status");
}

pw_err
store_open_qty(struct store *s, const uint8_t pk[PW_PK_LEN], uint64_t interval, uint8_t side,
               uint64_t *qty_wh)
{
	*qty_wh = book_open_qty(s->book, pk, interval, side);
	return PW_OK;
}

static int
open_order_row(sqlite3_stmt *st, void *row, const void *ctx)
{
	struct store_order *o = row;
	o->log_idx = store_col_u64(st, 0);
	if (!store_col_pk(st, 1, o->pk)) {
		log_warnx("store: order %llu has a malformed key", (unsigned long long)o->log_idx);
		return 0;
	}
	o->seq = store_col_u64(st, 2);
	o->interval = *(const uint64_t *)ctx;
	o->side = (uint8_t)sqlite3_column_int(st, 3);
	o->qty_wh = (uint32_t)sqlite3_column_int64(st, 4);
	o->price_uper_kwh = (int32_t)sqlite3_column_int64(st, 5);
	o->expiry_s = store_col_u64(st, 6);
	o->status = STORE_ORDER_OPEN;
	return 1;
}

pw_err
store_open_orders(struct store *s, uint64_t interval, struct store_order **out, size_t *n)
{
	sqlite3_stmt *st = store_q(s, Q_OPEN_ORDERS);
	if (!st)
		return PW_ERR_DB;
	store_bind_u64(st, 1, interval);
	void *rows = NULL;
	pw_err rc = store_collect_rows(s, st, sizeof(**out), open_order_row, &interval,
	                               "open orders", &rows, n);
	if (rc == PW_OK)
		*out = rows;
	return rc;
}

/* SELECT MIN/MAX(...) style single value; PW_ERR_NOTFOUND when NULL. */
static pw_err
single_u64(struct store *s, int id, uint64_t *v)
{
	sqlite3_stmt *st = store_q(s, id);
	if (!st)
		return PW_ERR_DB;
	int rc = sqlite3_step(st);
	pw_err r = PW_OK;
	if (rc != SQLITE_ROW)
		r = store_db_fail(s, sqlite3_sql(st));
	else if (sqlite3_column_type(st, 0) == SQLITE_NULL)
		r = PW_ERR_NOTFOUND;
	else
		*v = store_col_u64(st, 0);
	sqlite3_reset(st);
	return r;
}

pw_err
store_first_open_interval(struct store *s, uint64_t *interval)
{
	return single_u64(s, Q_FIRST_OPEN, interval);
}

pw_err
store_last_order_interval(struct store *s, uint64_t *interval)
{
	return single_u64(s, Q_LAST_ORDER_IV, interval);
}

pw_err
store_depth(struct store *s, uint64_t interval, struct pw_depth *d)
{
	book_depth(s->book, interval, d);
	return PW_OK;
}

pw_err
store_book_summary(struct store *s, struct book_summary *out)
{
	return book_summary(s->book, out);
}

uint64_t
store_commit_pages(const struct store *s)
{
	return s->commit_pages;
}

pw_err
store_interval_cleared(struct store *s, uint64_t interval, int32_t price_uper_kwh,
                       uint64_t volume_wh, uint32_t parts, uint64_t now_s)
{
	sqlite3_stmt *st = store_q(s, Q_IV_CLEARED);
	if (!st)
		return PW_ERR_DB;
	store_bind_u64(st, 1, interval);
	sqlite3_bind_int64(st, 2, price_uper_kwh);
	store_bind_u64(st, 3, volume_wh);
	sqlite3_bind_int64(st, 4, parts);
	store_bind_u64(st, 5, now_s);
	pw_err rc = store_run(s, st, "intervals cleared");
	if (rc == PW_OK) {
		s->book_dirty = 1;
		book_drop_interval(s->book, interval);
	}
	return rc;
}

pw_err
store_interval_settled(struct store *s, uint64_t interval, uint64_t now_s)
{
	sqlite3_stmt *st = store_q(s, Q_IV_SETTLED);
	if (!st)
		return PW_ERR_DB;
	store_bind_u64(st, 1, interval);
	store_bind_u64(st, 2, now_s);
	return store_run(s, st, "intervals settled");
}

pw_err
store_interval_state(struct store *s, uint64_t interval, int *state, int32_t *price,
                     uint64_t *volume_wh)
{
	sqlite3_stmt *st = store_q(s, Q_IV_STATE);
	if (!st)
		return PW_ERR_DB;
	store_bind_u64(st, 1, interval);
	int rc = sqlite3_step(st);
	*state = 0;
	if (rc == SQLITE_ROW) {
		*state = sqlite3_column_int(st, 0);
		if (price)
			*price = (int32_t)sqlite3_column_int64(st, 1);
		if (volume_wh)
			*volume_wh = store_col_u64(st, 2);
	}
	sqlite3_reset(st);
	return (rc == SQLITE_ROW || rc == SQLITE_DONE) ? PW_OK : store_db_fail(s, "intervals");
}

pw_err
store_last_cleared(struct store *s, uint64_t *interval)
{
	return single_u64(s, Q_IV_LAST, interval);
}

pw_err
store_first_unsettled(struct store *s, uint64_t *interval)
{
	return single_u64(s, Q_IV_UNSETTLED, interval);
}

pw_err
store_trade_insert(struct store *s, const struct store_trade *t)
{
	sqlite3_stmt *st = store_q(s, Q_TRADE_PUT);
	if (!st)
		return PW_ERR_DB;
	store_bind_u64(st, 1, t->interval);
	sqlite3_bind_int64(st, 2, t->n);
	store_bind_pk(st, 3, t->buyer);
	store_bind_pk(st, 4, t->seller);
	store_bind_u64(st, 5, t->buy_seq);
	store_bind_u64(st, 6, t->sell_seq);
	sqlite3_bind_int64(st, 7, t->qty_wh);
	sqlite3_bind_int64(st, 8, t->price_uper_kwh);
	return store_run(s, st, "trades");
}

static int
trade_row(sqlite3_stmt *st, void *row, const void *ctx)
{
	struct store_trade *t = row;
	t->interval = *(const uint64_t *)ctx;
	t->n = (uint32_t)sqlite3_column_int64(st, 0);
	if (!store_col_pk(st, 1, t->buyer) || !store_col_pk(st, 2, t->seller))
		return 0;
	t->buy_seq = store_col_u64(st, 3);
	t->sell_seq = store_col_u64(st, 4);
	t->qty_wh = (uint32_t)sqlite3_column_int64(st, 5);
	t->price_uper_kwh = (int32_t)sqlite3_column_int64(st, 6);
	return 1;
}

pw_err
store_trades(struct store *s, uint64_t interval, struct store_trade **out, size_t *n)
{
	sqlite3_stmt *st = store_q(s, Q_TRADES);
	if (!st)
		return PW_ERR_DB;
	store_bind_u64(st, 1, interval);
	void *rows = NULL;
	pw_err rc =
	    store_collect_rows(s, st, sizeof(**out), trade_row, &interval, "trades", &rows, n);
	if (rc == PW_OK)
		*out = rows;
	return rc;
}

pw_err
store_result_insert(struct store *s, uint64_t interval, uint32_t part, const uint8_t *frame,
                    size_t len, uint64_t log_idx)
{
	sqlite3_stmt *st = store_q(s, Q_RESULT_PUT);
	if (!st)
		return PW_ERR_DB;
	store_bind_u64(st, 1, interval);
	sqlite3_bind_int64(st, 2, part);
	sqlite3_bind_blob(st, 3, frame, (int)len, SQLITE_STATIC);
	store_bind_u64(st, 4, log_idx);
	return store_run(s, st, "results");
}

/* Copy a blob column into buf; PW_ERR_FULL when it does not fit. */
pw_err
store_col_blob(sqlite3_stmt *st, int i, uint8_t *buf, size_t cap, size_t *len)
{
	int n = sqlite3_column_bytes(st, i);
	if (n < 0 || (size_t)n > cap)
		return PW_ERR_FULL;
	if (n)
		memcpy(buf, sqlite3_column_blob(st, i), (size_t)n);
	*len = (size_t)n;
	return PW_OK;
}

pw_err
store_result_get(struct store *s, uint64_t interval, uint32_t part, uint8_t *buf, size_t cap,
                 size_t *len, uint32_t *parts)
{
	sqlite3_stmt *st = store_q(s, Q_RESULT_GET);
	pw_err r;
	if (!st)
		return PW_ERR_DB;
	store_bind_u64(st, 1, interval);
	sqlite3_bind_int64(st, 2, part);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		r = store_col_blob(st, 0, buf, cap, len);
		if (parts)
			*parts = (uint32_t)sqlite3_column_int64(st, 1);
	} else {
		r = rc == SQLITE_DONE ? PW_ERR_NOTFOUND : store_db_fail(s, "results");
	}
	sqlite3_reset(st);
	return r;
}
