/*
 * store_int.h: what the store's files share (store.c: the database, its
 * schema, transactions, parameters and households; store_orders.c: orders,
 * book, intervals, trades and results; store_settle.c: readings,
 * statements, counters and checkpoints).  Not for other modules.
 */
#ifndef PEERWATT_STORE_INT_H
#define PEERWATT_STORE_INT_H

#include <sqlite3.h>

#include "exchange/store.h"

/* The cached statements: ids into store.c's sql_text. */
enum {
	Q_BEGIN,
	Q_COMMIT,
	Q_ROLLBACK,
	Q_PARAM_PUT,
	Q_FEE_CLEAR,
	Q_FEE_PUT,
	Q_HH_REVOKE_ALL,
	Q_HH_PUT,
	Q_HH_REVOKED,
	Q_SEQ_GET,
	Q_SEQ_PUT,
	Q_ORDER_PUT,
	Q_ORDER_GET,
	Q_ORDER_BY_IDX,
	Q_ORDER_STATUS,
	Q_OPEN_ORDERS,
	Q_FIRST_OPEN,
	Q_LAST_ORDER_IV,
	Q_IV_CLEARED,
	Q_IV_SETTLED,
	Q_IV_STATE,
	Q_IV_LAST,
	Q_IV_UNSETTLED,
	Q_TRADE_PUT,
	Q_TRADES,
	Q_RESULT_PUT,
	Q_RESULT_GET,
	Q_METER_STATE,
	Q_METER_PUT,
	Q_METER_GET,
	Q_STMT_PUT,
	Q_STMT_GET,
	Q_STMT_IDX,
	Q_STAT_ADD,
	Q_STAT_GET,
	Q_CP_LAST,
	Q_OPEN_IVS,
	Q_METER_PKS,
	Q_ORDER_MAX_SEQ,
	Q_ORDER_OPEN_ROW,
	Q_BOOK_LOAD,
	Q_HH_ZONE,
	Q__COUNT
};

struct store {
	sqlite3 *db;
	sqlite3_stmt *q[Q__COUNT];
	int in_tx;
	int opened; /* store_open succeeded: store_close checkpoints the WAL */
	/* the open orders' sums and the sequence cache (book.h): changed in
	 * the open transaction when book_dirty, rebuilt after a rollback */
	struct book *book;
	int book_dirty;
	/* WAL pages the last COMMIT wrote (wal_hook) */
	uint64_t wal_frames, commit_pages;
};

pw_err store_db_fail(struct store *s, const char *what);
/* The cached, reset statement `id`; NULL (logged) when it cannot be prepared. */
sqlite3_stmt *store_q(struct store *s, int id);
/* Run a statement that returns no rows; resets it afterwards. */
pw_err store_run(struct store *s, sqlite3_stmt *st, const char *what);
void store_bind_u64(sqlite3_stmt *st, int i, uint64_t v);
uint64_t store_col_u64(sqlite3_stmt *st, int i);
void store_bind_pk(sqlite3_stmt *st, int i, const uint8_t pk[PW_PK_LEN]);
/* Copy a PW_PK_LEN blob column; 0 when the row holds something else. */
int store_col_pk(sqlite3_stmt *st, int i, uint8_t pk[PW_PK_LEN]);
/* Fills one result row from the current row of `st`; 0 when it is malformed. */
typedef int (*row_fill_fn)(sqlite3_stmt *st, void *row, const void *ctx);
/* The rows of `st` as a growing array of `elem`-byte rows (store.c). */
pw_err store_collect_rows(struct store *s, sqlite3_stmt *st, size_t elem, row_fill_fn fill,
                          const void *ctx, const char *what, void **out, size_t *n);
/* A blob column into buf[cap]; PW_ERR_FULL / PW_ERR_CORRUPT otherwise. */
pw_err store_col_blob(sqlite3_stmt *st, int i, uint8_t *buf, size_t cap, size_t *len);

#endif
