/*
 * store.c: SQLite persistence of the exchange (store.h).  Called only by
 * the exchange's request path and market clock, always from one thread.
 * Statements are prepared once and cached: the request path runs a few of
 * them per message, inside one transaction per batch.
 */
#include "exchange/store.h"
#include "exchange/store_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "exchange/book.h"
#include "exchange/registry.h"
#include "peerwatt/log.h"

static const char *const sql_text[Q__COUNT] = {
	[Q_BEGIN] = "BEGIN IMMEDIATE",
	[Q_COMMIT] = "COMMIT",
	[Q_ROLLBACK] = "ROLLBACK",
	[Q_PARAM_PUT] = "INSERT OR REPLACE INTO params(key, value) VALUES (?1, ?2)",
	[Q_FEE_CLEAR] = "DELETE FROM fees",
	[Q_FEE_PUT] =
	    "INSERT OR REPLACE INTO fees(zone_a, zone_b, fee_uper_kwh) VALUES (?1, ?2, ?3)",
	[Q_HH_REVOKE_ALL] = "UPDATE households SET revoked = 1",
	[Q_HH_PUT] = "INSERT INTO households(pk, id, name, serial, zone, max_export_w, "
	             "max_import_w, revoked) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 0) "
	             "ON CONFLICT(pk) DO UPDATE SET id = ?2, name = ?3, serial = ?4, zone = ?5, "
	             "max_export_w = ?6, max_import_w = ?7, revoked = 0",
	[Q_HH_REVOKED] = "SELECT revoked FROM households WHERE pk = ?1",
	[Q_SEQ_GET] = "SELECT last_seq FROM seqs WHERE pk = ?1",
	[Q_SEQ_PUT] = "INSERT OR REPLACE INTO seqs(pk, last_seq) VALUES (?1, ?2)",
	[Q_ORDER_PUT] = "INSERT INTO orders(log_idx, pk, seq, interval, side, qty_wh, "
	                "price_uper_kwh, expiry_s, status, filled_wh, received_s) "
	                "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
	[Q_ORDER_GET] = "SELECT log_idx, interval, side, qty_wh, price_uper_kwh, expiry_s, status, "
	                "filled_wh FROM orders WHERE pk = ?1 AND seq = ?2 AND status != 0",
	[Q_ORDER_BY_IDX] = "SELECT log_idx, interval, side, qty_wh, price_uper_kwh, expiry_s, "
	                   "status, filled_wh, pk, seq FROM orders WHERE log_idx = ?1",
	[Q_ORDER_STATUS] = "UPDATE orders SET status = ?2, filled_wh = ?3 WHERE log_idx = ?1",
	[Q_OPEN_ORDERS] = "SELECT log_idx, pk, seq, side, qty_wh, price_uper_kwh, expiry_s "
	                  "FROM orders WHERE interval = ?1 AND status = 0 ORDER BY log_idx",
	[Q_FIRST_OPEN] = "SELECT MIN(interval) FROM orders WHERE status = 0",
	/* per status, so that each MAX is one seek in orders_open(status, interval) */
	[Q_LAST_ORDER_IV] =
	    "SELECT NULLIF(MAX("
	    "COALESCE((SELECT MAX(interval) FROM orders WHERE status = 0), -1), "
	    "COALESCE((SELECT MAX(interval) FROM orders WHERE status = 1), -1), "
	    "COALESCE((SELECT MAX(interval) FROM orders WHERE status = 2), -1)), -1)",
	[Q_IV_CLEARED] = "INSERT INTO intervals(interval, state, price_uper_kwh, volume_wh, parts, "
	                 "cleared_s) VALUES (?1, 1, ?2, ?3, ?4, ?5)",
	[Q_IV_SETTLED] = "UPDATE intervals SET state = 2, settled_s = ?2 WHERE interval = ?1",
	[Q_IV_STATE] = "SELECT state, price_uper_kwh, volume_wh FROM intervals WHERE interval = ?1",
	[Q_IV_LAST] = "SELECT MAX(interval) FROM intervals",
	[Q_IV_UNSETTLED] = "SELECT MIN(interval) FROM intervals WHERE state = 1",
	[Q_TRADE_PUT] = "INSERT INTO trades(interval, n, buyer, seller, buy_seq, sell_seq, qty_wh, "
	                "price_uper_kwh) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
	[Q_TRADES] = "SELECT n, buyer, seller, buy_seq, sell_seq, qty_wh, price_uper_kwh "
	             "FROM trades WHERE interval = ?1 ORDER BY n",
	[Q_RESULT_PUT] =
	    "INSERT INTO results(interval, part, frame, log_idx) VALUES (?1, ?2, ?3, ?4)",
	[Q_RESULT_GET] = "SELECT frame, (SELECT parts FROM intervals WHERE interval = ?1) "
	                 "FROM results WHERE interval = ?1 AND part = ?2",
	[Q_METER_STATE] = "SELECT seq, interval, export_end_wh, import_end_wh FROM meters "
	                  "WHERE pk = ?1 ORDER BY seq DESC LIMIT 1",
	[Q_METER_PUT] = "INSERT INTO meters(pk, interval, seq, export_start_wh, export_end_wh, "
	                "import_start_wh, import_end_wh, time_status, log_idx, received_s) "
	                "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
	[Q_METER_GET] = "SELECT seq, export_start_wh, export_end_wh, import_start_wh, "
	                "import_end_wh, time_status, log_idx, received_s FROM meters "
	                "WHERE pk = ?1 AND interval = ?2",
	[Q_STMT_PUT] =
	    "INSERT INTO statements(pk, interval, frame, log_idx) VALUES (?1, ?2, ?3, ?4)",
	[Q_STMT_GET] = "SELECT frame FROM statements WHERE pk = ?1 AND interval = ?2",
	[Q_STMT_IDX] = "SELECT log_idx FROM statements WHERE pk = ?1 AND interval = ?2",
	[Q_STAT_ADD] = "INSERT INTO stats(reason, name, count) VALUES (?1, ?2, ?3) "
	               "ON CONFLICT(reason) DO UPDATE SET count = count + ?3",
	[Q_STAT_GET] = "SELECT count FROM stats WHERE reason = ?1",
	[Q_CP_LAST] = "SELECT frame FROM checkpoints ORDER BY tree_size DESC LIMIT 1",
	[Q_METER_PKS] = "SELECT pk FROM meters WHERE interval = ?1 ORDER BY pk",
	[Q_HH_ZONE] = "SELECT zone FROM households WHERE pk = ?1",
	/* seqs above INT64_MAX read negative: the largest of those first */
	[Q_ORDER_MAX_SEQ] = "SELECT COALESCE((SELECT MAX(seq) FROM orders WHERE pk = ?1 AND "
	                    "status != 0 AND seq < 0), (SELECT MAX(seq) FROM orders WHERE "
	                    "pk = ?1 AND status != 0))",
	[Q_ORDER_OPEN_ROW] = "SELECT pk, interval, side, price_uper_kwh, qty_wh, seq FROM orders "
	                     "WHERE log_idx = ?1 AND status = 0",
	[Q_BOOK_LOAD] = "SELECT pk, interval, side, price_uper_kwh, qty_wh, seq, log_idx "
	                "FROM orders WHERE status = 0",
	/* one seek of index orders_open per interval (a DISTINCT read every
	 * open order's entry: 1-8 ms at 10^5 open orders, every second) */
	[Q_OPEN_IVS] = "SELECT interval FROM orders WHERE status = 0 AND interval >= ?1 "
	               "ORDER BY interval LIMIT 1",
};

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS params(key TEXT PRIMARY KEY, value NOT NULL);"
    "CREATE TABLE IF NOT EXISTS fees(zone_a TEXT NOT NULL, zone_b TEXT NOT NULL,"
    " fee_uper_kwh INTEGER NOT NULL, PRIMARY KEY(zone_a, zone_b));"
    "CREATE TABLE IF NOT EXISTS households(pk BLOB PRIMARY KEY, id TEXT NOT NULL,"
    " name TEXT NOT NULL, serial TEXT NOT NULL, zone TEXT NOT NULL,"
    " max_export_w INTEGER NOT NULL, max_import_w INTEGER NOT NULL,"
    " revoked INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE IF NOT EXISTS seqs(pk BLOB PRIMARY KEY, last_seq INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS orders(log_idx INTEGER PRIMARY KEY, pk BLOB NOT NULL,"
    " seq INTEGER NOT NULL, interval INTEGER NOT NULL, side INTEGER NOT NULL,"
    " qty_wh INTEGER NOT NULL, price_uper_kwh INTEGER NOT NULL, expiry_s INTEGER NOT NULL,"
    " status INTEGER NOT NULL, filled_wh INTEGER NOT NULL DEFAULT 0,"
    " received_s INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS orders_open ON orders(status, interval);"
    /* (pk, seq) of the orders no longer open; the open ones are in memory
     * (book.h), so an ORDER writes no page of this index */
    "CREATE UNIQUE INDEX IF NOT EXISTS orders_done ON orders(pk, seq) WHERE status != 0;"
    /* book and depth (open quantity per household and per price level) were
     * tables up to 2026-12; they live in memory now (exchange/book.h) */
    "DROP TABLE IF EXISTS book;"
    "DROP TABLE IF EXISTS depth;"
    "CREATE TABLE IF NOT EXISTS intervals(interval INTEGER PRIMARY KEY,"
    " state INTEGER NOT NULL, price_uper_kwh INTEGER NOT NULL, volume_wh INTEGER NOT NULL,"
    " parts INTEGER NOT NULL, cleared_s INTEGER NOT NULL, settled_s INTEGER);"
    "CREATE TABLE IF NOT EXISTS trades(interval INTEGER NOT NULL, n INTEGER NOT NULL,"
    " buyer BLOB NOT NULL, seller BLOB NOT NULL, buy_seq INTEGER NOT NULL,"
    " sell_seq INTEGER NOT NULL, qty_wh INTEGER NOT NULL, price_uper_kwh INTEGER NOT NULL,"
    " PRIMARY KEY(interval, n));"
    "CREATE TABLE IF NOT EXISTS results(interval INTEGER NOT NULL, part INTEGER NOT NULL,"
    " frame BLOB NOT NULL, log_idx INTEGER NOT NULL, PRIMARY KEY(interval, part));"
    "CREATE TABLE IF NOT EXISTS meters(pk BLOB NOT NULL, interval INTEGER NOT NULL,"
    " seq INTEGER NOT NULL, export_start_wh INTEGER NOT NULL, export_end_wh INTEGER NOT NULL,"
    " import_start_wh INTEGER NOT NULL, import_end_wh INTEGER NOT NULL,"
    " time_status INTEGER NOT NULL, log_idx INTEGER NOT NULL, received_s INTEGER NOT NULL,"
    " PRIMARY KEY(pk, interval), UNIQUE(pk, seq));"
    "CREATE TABLE IF NOT EXISTS statements(pk BLOB NOT NULL, interval INTEGER NOT NULL,"
    " frame BLOB NOT NULL, log_idx INTEGER NOT NULL, PRIMARY KEY(pk, interval));"
    "CREATE TABLE IF NOT EXISTS stats(reason INTEGER PRIMARY KEY, name TEXT NOT NULL,"
    " count INTEGER NOT NULL);";

/* Databases of versions before 2026-12 declared UNIQUE(pk, seq) on orders:
 * an index every ORDER wrote a page of.  Rebuilt once without it. */
static const char migrate_orders[] =
    "CREATE TABLE orders_new(log_idx INTEGER PRIMARY KEY, pk BLOB NOT NULL,"
    " seq INTEGER NOT NULL, interval INTEGER NOT NULL, side INTEGER NOT NULL,"
    " qty_wh INTEGER NOT NULL, price_uper_kwh INTEGER NOT NULL, expiry_s INTEGER NOT NULL,"
    " status INTEGER NOT NULL, filled_wh INTEGER NOT NULL DEFAULT 0,"
    " received_s INTEGER NOT NULL);"
    "INSERT INTO orders_new(log_idx, pk, seq, interval, side, qty_wh, price_uper_kwh,"
    " expiry_s, status, filled_wh, received_s) SELECT log_idx, pk, seq, interval, side,"
    " qty_wh, price_uper_kwh, expiry_s, status, filled_wh, received_s FROM orders;"
    "DROP TABLE orders;"
    "ALTER TABLE orders_new RENAME TO orders;"
    "CREATE INDEX orders_open ON orders(status, interval);"
    "CREATE UNIQUE INDEX orders_done ON orders(pk, seq) WHERE status != 0;";

pw_err
store_db_fail(struct store *s, const char *what)
{
	log_warnx("store: %s: %s", what, sqlite3_errmsg(s->db));
	return PW_ERR_DB;
}

/* The cached, reset statement `id`; NULL (logged) when it cannot be prepared. */
sqlite3_stmt *
store_q(struct store *s, int id)
{
	if (!s->q[id]) {
		if (sqlite3_prepare_v3(s->db, sql_text[id], -1, SQLITE_PREPARE_PERSISTENT,
		                       &s->q[id], NULL) != SQLITE_OK) {
			log_warnx("store: prepare '%s': %s", sql_text[id], sqlite3_errmsg(s->db));
			s->q[id] = NULL;
			return NULL;
		}
	} else {
		sqlite3_reset(s->q[id]);
		sqlite3_clear_bindings(s->q[id]);
	}
	return s->q[id];
}

/* Run a statement that returns no rows; resets it afterwards. */
pw_err
store_run(struct store *s, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return store_db_fail(s, what);
	return PW_OK;
}

void
store_bind_u64(sqlite3_stmt *st, int i, uint64_t v)
{
	/* SQLite integers are signed 64-bit: values above INT64_MAX are refused
	 * by the validators before they get here; the cast keeps the bits. */
	sqlite3_bind_int64(st, i, (sqlite3_int64)v);
}

uint64_t
store_col_u64(sqlite3_stmt *st, int i)
{
	return (uint64_t)sqlite3_column_int64(st, i);
}

void
store_bind_pk(sqlite3_stmt *st, int i, const uint8_t pk[PW_PK_LEN])
{
	sqlite3_bind_blob(st, i, pk, PW_PK_LEN, SQLITE_STATIC);
}

/* Copy a PW_PK_LEN blob column; 0 when the row holds something else. */
int
store_col_pk(sqlite3_stmt *st, int i, uint8_t pk[PW_PK_LEN])
{
	if (sqlite3_column_bytes(st, i) != PW_PK_LEN)
		return 0;
	memcpy(pk, sqlite3_column_blob(st, i), PW_PK_LEN);
	return 1;
}

/*
 * Steps through `st` (bound by the caller) and returns its rows as a growing
 * array (doubling from 64) of `elem`-byte rows, each zeroed, then filled by
 * `fill`.  PW_ERR_CORRUPT for a malformed row, PW_ERR_NOMEM, PW_ERR_DB
 * (logged as `what`).  On PW_OK the caller owns *out (NULL when there are
 * no rows); on error nothing is returned.
 */
pw_err
store_collect_rows(struct store *s, sqlite3_stmt *st, size_t elem, row_fill_fn fill,
                   const void *ctx, const char *what, void **out, size_t *n)
{
	unsigned char *v = NULL;
	size_t cnt = 0, cap = 0;
	pw_err r = PW_OK;
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (cnt == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			void *nv = ncap > SIZE_MAX / elem ? NULL : realloc(v, ncap * elem);
			if (!nv) {
				r = PW_ERR_NOMEM;
				break;
			}
			v = nv;
			cap = ncap;
		}
		/* padding too: callers compare and hash whole structs */
		memset(v + cnt * elem, 0, elem);
		if (!fill(st, v + cnt * elem, ctx)) {
			r = PW_ERR_CORRUPT;
			break;
		}
		cnt++;
	}
	sqlite3_reset(st);
	if (r == PW_OK && rc != SQLITE_DONE)
		r = store_db_fail(s, what);
	if (r != PW_OK) {
		free(v);
		return r;
	}
	*out = v;
	*n = cnt;
	return PW_OK;
}

/* The WAL is checkpointed at this many pages, inside the COMMIT that
 * reaches it; the hook below replaces SQLite's automatic checkpoint
 * (sqlite3_wal_hook() and the auto-checkpoint share one slot) and does the
 * same, after counting the pages of the COMMIT.  300 rather than SQLite's
 * 1000: each checkpoint holds the requests behind it for less (COMMIT max
 * 8-16 ms against 15-31 in bench_ingest's half-rate run), at the same
 * peak (docs/performance-ingest.md). */
#define STORE_WAL_AUTOCHECKPOINT 300

static int
wal_hook(void *arg, sqlite3 *db, const char *name, int n_frames)
{
	struct store *s = arg;
	uint64_t n = n_frames > 0 ? (uint64_t)n_frames : 0;
	/* fewer frames than before: the WAL restarted from its beginning */
	s->commit_pages = n >= s->wal_frames ? n - s->wal_frames : n;
	s->wal_frames = n;
	if (n_frames >= STORE_WAL_AUTOCHECKPOINT)
		(void)sqlite3_wal_checkpoint(db, name);
	return SQLITE_OK;
}

/* Rebuild the book from the open orders of table orders. */
static pw_err
book_load(struct store *s)
{
	sqlite3_stmt *st = store_q(s, Q_BOOK_LOAD);
	uint8_t pk[PW_PK_LEN];
	pw_err r = PW_OK;
	int rc;
	if (!st)
		return PW_ERR_DB;
	book_clear(s->book);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (!store_col_pk(st, 0, pk)) {
			r = PW_ERR_CORRUPT;
			break;
		}
		sqlite3_int64 qty = sqlite3_column_int64(st, 4);
		if (qty < 0 || qty > UINT32_MAX) {
			r = PW_ERR_CORRUPT;
			break;
		}
		uint64_t seq = store_col_u64(st, 5);
		if ((r = book_add(s->book, pk, store_col_u64(st, 1),
		                  (uint8_t)sqlite3_column_int(st, 2), sqlite3_column_int64(st, 3),
		                  qty)) != PW_OK ||
		    (r = book_order_put(s->book, pk, seq, store_col_u64(st, 6),
		                        store_col_u64(st, 1))) != PW_OK ||
		    (r = book_seq_note(s->book, pk, seq)) != PW_OK)
			break;
	}
	sqlite3_reset(st);
	if (r == PW_OK && rc != SQLITE_DONE)
		r = store_db_fail(s, "open orders");
	else if (r != PW_OK)
		log_warnx("store: the open orders do not fit in memory: %s", pw_strerror(r));
	if (r == PW_OK)
		s->book_dirty = 0;
	return r;
}

/* Rebuild table orders without UNIQUE(pk, seq) when it has it (once). */
static pw_err
migrate(struct store *s)
{
	sqlite3_stmt *st;
	char *emsg = NULL;
	int old = 0;
	if (sqlite3_prepare_v2(s->db,
	                       "SELECT 1 FROM sqlite_master WHERE type = 'index' AND "
	                       "name = 'sqlite_autoindex_orders_1'",
	                       -1, &st, NULL) != SQLITE_OK)
		return store_db_fail(s, "schema");
	old = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	if (!old)
		return PW_OK;
	if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, &emsg) != SQLITE_OK ||
	    sqlite3_exec(s->db, migrate_orders, NULL, NULL, &emsg) != SQLITE_OK ||
	    sqlite3_exec(s->db, "COMMIT", NULL, NULL, &emsg) != SQLITE_OK) {
		log_warnx("store: rebuilding table orders without its (pk, seq) index: %s",
		          emsg ? emsg : sqlite3_errmsg(s->db));
		sqlite3_free(emsg);
		(void)sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
		return PW_ERR_DB;
	}
	log_info("store: table orders rebuilt without its (pk, seq) index (once, for a "
	         "database of an earlier version)");
	return PW_OK;
}

pw_err
store_open(const char *path, struct store **out)
{
	struct store *s = calloc(1, sizeof(*s));
	char *emsg = NULL;
	if (!s)
		return PW_ERR_NOMEM;
	if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
	    SQLITE_OK) {
		log_warnx("store: open %s: %s", path, s->db ? sqlite3_errmsg(s->db) : "no memory");
		store_close(&s);
		return PW_ERR_DB;
	}
	sqlite3_busy_timeout(s->db, 5000);
	if (sqlite3_exec(s->db,
	                 "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
	                 "PRAGMA foreign_keys=ON;",
	                 NULL, NULL, &emsg) != SQLITE_OK ||
	    sqlite3_exec(s->db, schema, NULL, NULL, &emsg) != SQLITE_OK) {
		log_warnx("store: %s: %s", path, emsg ? emsg : "schema");
		sqlite3_free(emsg);
		store_close(&s);
		return PW_ERR_DB;
	}
	if (migrate(s) != PW_OK) {
		store_close(&s);
		return PW_ERR_DB;
	}
	sqlite3_wal_hook(s->db, wal_hook, s);
	pw_err rc = book_new(BOOK_MAX_ENTRIES, &s->book);
	if (rc == PW_OK)
		rc = book_load(s);
	if (rc != PW_OK) {
		store_close(&s);
		return rc;
	}
	s->opened = 1;
	*out = s;
	return PW_OK;
}

pw_err
store_open_read(const char *path, struct store **out)
{
	struct store *s = calloc(1, sizeof(*s));
	sqlite3_stmt *st = NULL;
	int tables = 0, old = 0;
	struct stat sb;
	if (!s)
		return PW_ERR_NOMEM;
	*out = NULL;
	if (stat(path, &sb) != 0 && errno == ENOENT) {
		free(s);
		return PW_ERR_NOTFOUND;
	}
	if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		log_warnx("store: open %s to read: %s", path,
		          s->db ? sqlite3_errmsg(s->db) : "no memory");
		store_close(&s);
		return PW_ERR_DB;
	}
	sqlite3_busy_timeout(s->db, 5000);
	/* the tables a start creates, and no orders index of an earlier
	 * version (a start rebuilds it): else only a start can tell */
	if (sqlite3_prepare_v2(
	        s->db,
	        "SELECT (SELECT count(*) FROM sqlite_master WHERE type = 'table' AND "
	        "name IN ('log', 'orders', 'params')), (SELECT count(*) FROM "
	        "sqlite_master WHERE name = 'sqlite_autoindex_orders_1')",
	        -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW) {
		log_warnx("store: %s: %s", path, sqlite3_errmsg(s->db));
		sqlite3_finalize(st);
		store_close(&s);
		return PW_ERR_DB;
	}
	tables = sqlite3_column_int(st, 0);
	old = sqlite3_column_int(st, 1);
	sqlite3_finalize(st);
	if (tables != 3 || old) {
		store_close(&s);
		return PW_ERR_STATE;
	}
	*out = s;
	return PW_OK;
}

void
store_close(struct store **sp)
{
	if (!sp || !*sp)
		return;
	struct store *s = *sp;
	if (s->in_tx)
		store_rollback(s);
	for (int i = 0; i < Q__COUNT; i++)
		sqlite3_finalize(s->q[i]);
	/* Move the whole WAL into the database file and empty it, so that the
	 * file alone is complete once the exchange has stopped (a copy of
	 * exchange.db without its -wal would otherwise miss the last
	 * transactions and still verify as a shorter log).  A reader that
	 * holds a snapshot for longer than the busy timeout makes it fail:
	 * nothing is lost, SQLite replays the -wal at the next open. */
	if (s->opened) {
		int wal_frames = 0, moved = 0; /* both 0 after a TRUNCATE; -1 without WAL */
		if (sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, &wal_frames,
		                              &moved) == SQLITE_OK) {
			if (wal_frames >= 0)
				log_info(
				    "store: WAL checkpointed into the database file, -wal emptied");
		} else {
			log_warnx("store: final WAL checkpoint: %s (the -wal file holds the rest; "
			          "copy the database with sqlite3 DB \".backup COPY\")",
			          sqlite3_errmsg(s->db));
		}
	}
	sqlite3_close(s->db);
	book_free(&s->book);
	free(s);
	*sp = NULL;
}

sqlite3 *
store_db(struct store *s)
{
	return s->db;
}

pw_err
store_begin(struct store *s)
{
	sqlite3_stmt *st = store_q(s, Q_BEGIN);
	if (!st || s->in_tx)
		return st ? PW_ERR_STATE : PW_ERR_DB;
	pw_err rc = store_run(s, st, "begin");
	if (rc == PW_OK)
		s->in_tx = 1;
	return rc;
}

pw_err
store_commit(struct store *s)
{
	sqlite3_stmt *st = store_q(s, Q_COMMIT);
	if (!st)
		return PW_ERR_DB;
	if (!s->in_tx)
		return PW_ERR_STATE;
	pw_err rc = store_run(s, st, "commit");
	if (rc == PW_OK) {
		s->in_tx = 0;
		s->book_dirty = 0;
	}
	return rc;
}

void
store_rollback(struct store *s)
{
	if (!s->in_tx)
		return;
	sqlite3_stmt *st = store_q(s, Q_ROLLBACK);
	/* A failed COMMIT may already have rolled back: then ROLLBACK errors,
	 * which is harmless. */
	if (st)
		(void)store_run(s, st, "rollback");
	s->in_tx = 0;
	/* the book followed the rolled-back statements: back to the orders */
	if (s->book_dirty && s->opened && book_load(s) != PW_OK)
		fatalx("store: the open orders cannot be reloaded after a rollback");
}

static pw_err
put_param_int(struct store *s, const char *key, int64_t v)
{
	sqlite3_stmt *st = store_q(s, Q_PARAM_PUT);
	if (!st)
		return PW_ERR_DB;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, v);
	return store_run(s, st, "params");
}

static pw_err
put_param_text(struct store *s, const char *key, const char *v)
{
	sqlite3_stmt *st = store_q(s, Q_PARAM_PUT);
	if (!st)
		return PW_ERR_DB;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, v, -1, SQLITE_TRANSIENT);
	return store_run(s, st, "params");
}

pw_err
store_put_params(struct store *s, const struct store_params *p)
{
	char hex[2 * PW_PK_LEN + 1];
	static const char digits[] = "0123456789abcdef";
	pw_err rc;
	for (size_t i = 0; i < PW_PK_LEN; i++) {
		hex[2 * i] = digits[p->exchange_pk[i] >> 4];
		hex[2 * i + 1] = digits[p->exchange_pk[i] & 15];
	}
	hex[2 * PW_PK_LEN] = '\0';
	if ((rc = put_param_int(s, "market_id", (int64_t)p->market_id)) != PW_OK ||
	    (rc = put_param_text(s, "market_name", p->market_name)) != PW_OK ||
	    (rc = put_param_int(s, "interval_s", p->interval_s)) != PW_OK ||
	    (rc = put_param_int(s, "gate_s", p->gate_s)) != PW_OK ||
	    (rc = put_param_int(s, "grace_s", p->grace_s)) != PW_OK ||
	    (rc = put_param_int(s, "feedin_uper_kwh", p->feedin_uper_kwh)) != PW_OK ||
	    (rc = put_param_int(s, "retail_uper_kwh", p->retail_uper_kwh)) != PW_OK ||
	    (rc = put_param_text(s, "exchange_pk", hex)) != PW_OK)
		return rc;
	return PW_OK;
}

pw_err
store_put_param(struct store *s, const char *key, int64_t value)
{
	return put_param_int(s, key, value);
}

pw_err
store_clear_fees(struct store *s)
{
	sqlite3_stmt *st = store_q(s, Q_FEE_CLEAR);
	return st ? store_run(s, st, "fees") : PW_ERR_DB;
}

pw_err
store_put_fee(struct store *s, const char *zone_a, const char *zone_b, int64_t fee_uper_kwh)
{
	sqlite3_stmt *st = store_q(s, Q_FEE_PUT);
	if (!st)
		return PW_ERR_DB;
	sqlite3_bind_text(st, 1, zone_a, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, zone_b, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, fee_uper_kwh);
	return store_run(s, st, "fees");
}

pw_err
store_sync_households(struct store *s, const struct registry *r)
{
	sqlite3_stmt *st = store_q(s, Q_HH_REVOKE_ALL);
	pw_err rc;
	if (!st)
		return PW_ERR_DB;
	if ((rc = store_run(s, st, "households")) != PW_OK)
		return rc;
	for (size_t i = 0; i < registry_count(r); i++) {
		const struct household *h = registry_at(r, i);
		if (!(st = store_q(s, Q_HH_PUT)))
			return PW_ERR_DB;
		store_bind_pk(st, 1, h->pk);
		sqlite3_bind_text(st, 2, h->id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, h->name, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, h->serial, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, h->zone, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 6, h->max_export_w);
		sqlite3_bind_int64(st, 7, h->max_import_w);
		if ((rc = store_run(s, st, "households")) != PW_OK)
			return rc;
	}
	return PW_OK;
}

int
store_is_revoked(struct store *s, const uint8_t pk[PW_PK_LEN])
{
	sqlite3_stmt *st = store_q(s, Q_HH_REVOKED);
	int revoked = 0;
	if (!st)
		return 0;
	store_bind_pk(st, 1, pk);
	if (sqlite3_step(st) == SQLITE_ROW)
		revoked = sqlite3_column_int(st, 0) != 0;
	sqlite3_reset(st);
	return revoked;
}
