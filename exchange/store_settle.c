/*
 * store_settle.c: settlement in the exchange's store (store.h): meter
 * readings, statements, rejection counters, checkpoints and the lookups
 * the market clock needs to settle an interval.  Called from one thread,
 * like store.c.
 */
#include "exchange/store.h"
#include "exchange/store_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

pw_err
store_meter_state(struct store *s, const uint8_t pk[PW_PK_LEN], struct store_meter_state *m)
{
	sqlite3_stmt *st = store_q(s, Q_METER_STATE);
	if (!st)
		return PW_ERR_DB;
	store_bind_pk(st, 1, pk);
	int rc = sqlite3_step(st);
	memset(m, 0, sizeof(*m));
	if (rc == SQLITE_ROW) {
		m->last_seq = store_col_u64(st, 0);
		m->last_interval = store_col_u64(st, 1);
		m->export_end_wh = store_col_u64(st, 2);
		m->import_end_wh = store_col_u64(st, 3);
	}
	sqlite3_reset(st);
	return (rc == SQLITE_ROW || rc == SQLITE_DONE) ? PW_OK : store_db_fail(s, "meters");
}

pw_err
store_meter_insert(struct store *s, const struct store_meter *m)
{
	sqlite3_stmt *st = store_q(s, Q_METER_PUT);
	if (!st)
		return PW_ERR_DB;
	store_bind_pk(st, 1, m->pk);
	store_bind_u64(st, 2, m->interval);
	store_bind_u64(st, 3, m->seq);
	store_bind_u64(st, 4, m->export_start_wh);
	store_bind_u64(st, 5, m->export_end_wh);
	store_bind_u64(st, 6, m->import_start_wh);
	store_bind_u64(st, 7, m->import_end_wh);
	sqlite3_bind_int(st, 8, m->time_status);
	store_bind_u64(st, 9, m->log_idx);
	store_bind_u64(st, 10, m->received_s);
	return store_run(s, st, "meters insert");
}

pw_err
store_meter_get(struct store *s, const uint8_t pk[PW_PK_LEN], uint64_t interval,
                struct store_meter *m)
{
	sqlite3_stmt *st = store_q(s, Q_METER_GET);
	if (!st)
		return PW_ERR_DB;
	store_bind_pk(st, 1, pk);
	store_bind_u64(st, 2, interval);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		memset(m, 0, sizeof(*m));
		memcpy(m->pk, pk, PW_PK_LEN);
		m->interval = interval;
		m->seq = store_col_u64(st, 0);
		m->export_start_wh = store_col_u64(st, 1);
		m->export_end_wh = store_col_u64(st, 2);
		m->import_start_wh = store_col_u64(st, 3);
		m->import_end_wh = store_col_u64(st, 4);
		m->time_status = (uint8_t)sqlite3_column_int(st, 5);
		m->log_idx = store_col_u64(st, 6);
		m->received_s = store_col_u64(st, 7);
	}
	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		return PW_ERR_NOTFOUND;
	return rc == SQLITE_ROW ? PW_OK : store_db_fail(s, "meters get");
}

pw_err
store_statement_insert(struct store *s, const uint8_t pk[PW_PK_LEN], uint64_t interval,
                       const uint8_t *frame, size_t len, uint64_t log_idx)
{
	sqlite3_stmt *st = store_q(s, Q_STMT_PUT);
	if (!st)
		return PW_ERR_DB;
	store_bind_pk(st, 1, pk);
	store_bind_u64(st, 2, interval);
	sqlite3_bind_blob(st, 3, frame, (int)len, SQLITE_STATIC);
	store_bind_u64(st, 4, log_idx);
	return store_run(s, st, "statements");
}

pw_err
store_statement_get(struct store *s, const uint8_t pk[PW_PK_LEN], uint64_t interval, uint8_t *buf,
                    size_t cap, size_t *len)
{
	sqlite3_stmt *st = store_q(s, Q_STMT_GET);
	pw_err r;
	if (!st)
		return PW_ERR_DB;
	store_bind_pk(st, 1, pk);
	store_bind_u64(st, 2, interval);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		r = store_col_blob(st, 0, buf, cap, len);
	else
		r = rc == SQLITE_DONE ? PW_ERR_NOTFOUND : store_db_fail(s, "statements");
	sqlite3_reset(st);
	return r;
}

pw_err
store_statement_index(struct store *s, const uint8_t pk[PW_PK_LEN], uint64_t interval,
                      uint64_t *log_idx)
{
	sqlite3_stmt *st = store_q(s, Q_STMT_IDX);
	pw_err r = PW_OK;
	if (!st)
		return PW_ERR_DB;
	store_bind_pk(st, 1, pk);
	store_bind_u64(st, 2, interval);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		if (sqlite3_column_type(st, 0) != SQLITE_INTEGER || sqlite3_column_int64(st, 0) < 0)
			r = PW_ERR_CORRUPT;
		else
			*log_idx = store_col_u64(st, 0);
	} else {
		r = rc == SQLITE_DONE ? PW_ERR_NOTFOUND : store_db_fail(s, "statements");
	}
	sqlite3_reset(st);
	return r;
}

pw_err
store_stat_add(struct store *s, unsigned reason, const char *name, uint64_t n)
{
	sqlite3_stmt *st = store_q(s, Q_STAT_ADD);
	if (!st)
		return PW_ERR_DB;
	sqlite3_bind_int(st, 1, (int)reason);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	store_bind_u64(st, 3, n);
	return store_run(s, st, "stats");
}

pw_err
store_stat_get(struct store *s, unsigned reason, uint64_t *n)
{
	sqlite3_stmt *st = store_q(s, Q_STAT_GET);
	if (!st)
		return PW_ERR_DB;
	sqlite3_bind_int(st, 1, (int)reason);
	int rc = sqlite3_step(st);
	*n = rc == SQLITE_ROW ? store_col_u64(st, 0) : 0;
	sqlite3_reset(st);
	return (rc == SQLITE_ROW || rc == SQLITE_DONE) ? PW_OK : store_db_fail(s, "stats");
}

pw_err
store_last_checkpoint(struct store *s, uint8_t *buf, size_t cap, size_t *len)
{
	/* the table belongs to exchange/mlog and exists once mlog_open ran */
	sqlite3_stmt *st = store_q(s, Q_CP_LAST);
	pw_err r;
	if (!st)
		return PW_ERR_NOTFOUND;
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		r = store_col_blob(st, 0, buf, cap, len);
	else
		r = rc == SQLITE_DONE ? PW_ERR_NOTFOUND : store_db_fail(s, "checkpoints");
	sqlite3_reset(st);
	return r;
}

pw_err
store_open_intervals(struct store *s, uint64_t from, uint64_t *out, size_t max, size_t *n)
{
	sqlite3_stmt *st = store_q(s, Q_OPEN_IVS);
	int rc = SQLITE_DONE;
	if (!st)
		return PW_ERR_DB;
	*n = 0;
	/* the next open interval from `from` on, then from the one after it */
	while (*n < max) {
		store_bind_u64(st, 1, from);
		rc = sqlite3_step(st);
		uint64_t iv = rc == SQLITE_ROW ? store_col_u64(st, 0) : 0;
		sqlite3_reset(st);
		if (rc != SQLITE_ROW)
			break;
		out[(*n)++] = iv;
		if (iv == UINT64_MAX)
			break;
		from = iv + 1;
	}
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? PW_OK : store_db_fail(s, "open intervals");
}

static int
pk_row(sqlite3_stmt *st, void *row, const void *ctx)
{
	(void)ctx;
	return store_col_pk(st, 0, row);
}

pw_err
store_meter_pks(struct store *s, uint64_t interval, uint8_t (**out)[PW_PK_LEN], size_t *n)
{
	sqlite3_stmt *st = store_q(s, Q_METER_PKS);
	if (!st)
		return PW_ERR_DB;
	store_bind_u64(st, 1, interval);
	void *rows = NULL;
	pw_err rc = store_collect_rows(s, st, PW_PK_LEN, pk_row, NULL, "meter keys", &rows, n);
	if (rc == PW_OK)
		*out = rows;
	return rc;
}

pw_err
store_household_zone(struct store *s, const uint8_t pk[PW_PK_LEN], char *zone, size_t cap)
{
	sqlite3_stmt *st = store_q(s, Q_HH_ZONE);
	pw_err r = PW_ERR_NOTFOUND;
	if (!st)
		return PW_ERR_DB;
	store_bind_pk(st, 1, pk);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const unsigned char *z = sqlite3_column_text(st, 0);
		snprintf(zone, cap, "%s", z ? (const char *)z : "");
		r = PW_OK;
	} else if (rc != SQLITE_DONE) {
		r = store_db_fail(s, "households zone");
	}
	sqlite3_reset(st);
	return r;
}
