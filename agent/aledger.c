/*
 * aledger.c: prices, own trades, statements and checkpoints in SQLite
 * (see aledger.h).
 */
#include "agent/aledger.h"

#include <stdlib.h>
#include <string.h>

#include "peerwatt/log.h"
#include "peerwatt/money.h"

#include "agent/aledger_int.h"

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS prices(interval INTEGER PRIMARY KEY,"
    " price INTEGER NOT NULL, volume_wh INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS trades(interval INTEGER NOT NULL, side INTEGER NOT NULL,"
    " buy_seq INTEGER NOT NULL, sell_seq INTEGER NOT NULL, qty_wh INTEGER NOT NULL,"
    " price INTEGER NOT NULL, PRIMARY KEY(interval, buy_seq, sell_seq));"
    "CREATE TABLE IF NOT EXISTS statements(interval INTEGER PRIMARY KEY, frame BLOB NOT NULL,"
    " flags INTEGER NOT NULL, bought_wh INTEGER NOT NULL, sold_wh INTEGER NOT NULL,"
    " export_wh INTEGER NOT NULL, import_wh INTEGER NOT NULL, imbalance_wh INTEGER NOT NULL,"
    " fee_u INTEGER NOT NULL, net_u INTEGER NOT NULL, baseline_u INTEGER NOT NULL,"
    " saving_u INTEGER NOT NULL, log_index INTEGER, proof INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE IF NOT EXISTS checkpoints(tree_size INTEGER PRIMARY KEY,"
    " interval INTEGER NOT NULL, root BLOB NOT NULL, frame BLOB NOT NULL,"
    " consistent INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE IF NOT EXISTS order_tags(seq INTEGER PRIMARY KEY, tag INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS settings(name TEXT PRIMARY KEY, value INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS energy(interval INTEGER PRIMARY KEY, pv_wh INTEGER,"
    " import_wh INTEGER NOT NULL, export_wh INTEGER NOT NULL, bat_charge_wh INTEGER,"
    " bat_discharge_wh INTEGER);"
    /* agent/adispute.c: every RESULT part seen (the frame when it concerns
     * the household), and what the household refused as truth */
    "CREATE TABLE IF NOT EXISTS results(interval INTEGER NOT NULL, part INTEGER NOT NULL,"
    " parts INTEGER NOT NULL, price INTEGER NOT NULL, volume_wh INTEGER NOT NULL,"
    " n_total INTEGER NOT NULL, hash BLOB NOT NULL, frame BLOB,"
    " PRIMARY KEY(interval, part));"
    "CREATE TABLE IF NOT EXISTS disputes(id INTEGER PRIMARY KEY, type INTEGER NOT NULL,"
    " interval INTEGER NOT NULL, code TEXT NOT NULL, detail TEXT NOT NULL,"
    " frame BLOB NOT NULL UNIQUE, time_ms INTEGER NOT NULL);"
    /* a checkpoint's consistency: 0 not proven yet, 1 trusted (the first one
     * seen, or proven consistent with the trusted ones around it), -1
     * proven inconsistent; 2 (refused, older versions) is asked again */
    "UPDATE checkpoints SET consistent = 0 WHERE consistent = 2;"
    "UPDATE checkpoints SET consistent = 1 WHERE NOT EXISTS (SELECT 1 FROM checkpoints"
    " WHERE consistent = 1) AND tree_size = (SELECT min(tree_size) FROM checkpoints"
    " WHERE consistent = 0);";

/* Whether `table` has column `col` (a database of an older version lacks
 * statements.proof, added with statement proofs, and checkpoints.arrival,
 * the order in which the agent received them).  Both names are constants
 * of this file. */
static int
has_column(sqlite3 *db, const char *table, const char *col)
{
	sqlite3_stmt *st;
	int found = 0;
	if (sqlite3_prepare_v2(db, "SELECT count(*) FROM pragma_table_info(?1) WHERE name = ?2", -1,
	                       &st, NULL) != SQLITE_OK)
		return 0;
	sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, col, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		found = sqlite3_column_int(st, 0) > 0;
	sqlite3_finalize(st);
	return found;
}

pw_err
aledger_open(struct aledger **out, sqlite3 *db)
{
	struct aledger *l;
	char *msg = NULL;

	*out = NULL;
	if (sqlite3_exec(db, schema, NULL, NULL, &msg) != SQLITE_OK ||
	    (!has_column(db, "checkpoints", "arrival") &&
	     sqlite3_exec(db, "ALTER TABLE checkpoints ADD COLUMN arrival INTEGER", NULL, NULL,
	                  &msg) != SQLITE_OK) ||
	    (!has_column(db, "energy", "bat_charge_wh") &&
	     sqlite3_exec(db,
	                  "ALTER TABLE energy ADD COLUMN bat_charge_wh INTEGER;"
	                  "ALTER TABLE energy ADD COLUMN bat_discharge_wh INTEGER",
	                  NULL, NULL, &msg) != SQLITE_OK) ||
	    (!has_column(db, "statements", "proof") &&
	     sqlite3_exec(db,
	                  "ALTER TABLE statements ADD COLUMN log_index INTEGER;"
	                  "ALTER TABLE statements ADD COLUMN proof INTEGER NOT NULL DEFAULT 0",
	                  NULL, NULL, &msg) != SQLITE_OK)) {
		log_warnx("aledger: %s", msg != NULL ? msg : "?");
		sqlite3_free(msg);
		return PW_ERR_DB;
	}
	l = calloc(1, sizeof(*l));
	if (l == NULL)
		return PW_ERR_NOMEM;
	l->db = db;
	*out = l;
	return PW_OK;
}

void
aledger_close(struct aledger **lp)
{
	if (lp == NULL || *lp == NULL)
		return;
	free(*lp);
	*lp = NULL;
}

/* Runs `sql` with up to 8 integer parameters (then `blob` as parameter
 * `blob_at` when given); PW_OK, or PW_ERR_DB.  *changes gets the row count. */
static pw_err
run(struct aledger *l, const char *sql, const int64_t *args, int nargs, int blob_at,
    const void *blob, size_t blob_len, int *changes)
{
	sqlite3_stmt *st;
	int r;

	if (sqlite3_prepare_v2(l->db, sql, -1, &st, NULL) != SQLITE_OK) {
		log_warnx("aledger: %s", sqlite3_errmsg(l->db));
		return PW_ERR_DB;
	}
	for (int i = 0; i < nargs; i++)
		sqlite3_bind_int64(st, i + 1, args[i]);
	if (blob_at > 0)
		sqlite3_bind_blob(st, blob_at, blob, (int)blob_len, SQLITE_STATIC);
	r = sqlite3_step(st);
	sqlite3_finalize(st);
	if (r != SQLITE_DONE && r != SQLITE_ROW) {
		if (r != SQLITE_CONSTRAINT)
			log_warnx("aledger: %s", sqlite3_errmsg(l->db));
		return r == SQLITE_CONSTRAINT ? PW_ERR_EXISTS : PW_ERR_DB;
	}
	if (changes != NULL)
		*changes = sqlite3_changes(l->db);
	return PW_OK;
}

pw_err
aledger_add_result(struct aledger *l, const struct pw_result *r, const uint8_t me[PW_PK_LEN],
                   unsigned *mine)
{
	pw_err rc;

	*mine = 0;
	if (r->interval > INT64_MAX)
		return PW_ERR_RANGE;
	{
		int64_t a[3] = { (int64_t)r->interval, r->price_uper_kwh,
			         r->volume_wh > INT64_MAX ? INT64_MAX : (int64_t)r->volume_wh };
		if ((rc = run(l,
		              "INSERT OR IGNORE INTO prices(interval, price, volume_wh)"
		              " VALUES (?, ?, ?)",
		              a, 3, 0, NULL, 0, NULL)) != PW_OK)
			return rc;
	}
	for (uint16_t i = 0; i < r->n_trades; i++) {
		struct pw_trade t;
		int side;
		if ((rc = pw_wire_result_trade(r, i, &t)) != PW_OK)
			return rc;
		if (memcmp(t.buyer, me, PW_PK_LEN) == 0)
			side = PW_SIDE_BUY;
		else if (memcmp(t.seller, me, PW_PK_LEN) == 0)
			side = PW_SIDE_SELL;
		else
			continue;
		if (t.buy_seq > INT64_MAX || t.sell_seq > INT64_MAX)
			return PW_ERR_RANGE;
		int64_t a[6] = { (int64_t)r->interval, side,     (int64_t)t.buy_seq,
			         (int64_t)t.sell_seq,  t.qty_wh, r->price_uper_kwh };
		if ((rc = run(
		         l,
		         "INSERT OR IGNORE INTO trades(interval, side, buy_seq, sell_seq, qty_wh,"
		         " price) VALUES (?, ?, ?, ?, ?, ?)",
		         a, 6, 0, NULL, 0, NULL)) != PW_OK)
			return rc;
		(*mine)++;
	}
	return PW_OK;
}

static int64_t
query_i64(struct aledger *l, const char *sql, int64_t arg, int64_t dflt)
{
	sqlite3_stmt *st;
	int64_t v = dflt;

	if (sqlite3_prepare_v2(l->db, sql, -1, &st, NULL) != SQLITE_OK)
		return dflt;
	sqlite3_bind_int64(st, 1, arg);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

uint64_t
aledger_order_traded_wh(struct aledger *l, uint8_t side, uint64_t seq)
{
	/* seq is per key, so a side's own seq names one of our orders */
	int64_t v = query_i64(
	    l,
	    side == PW_SIDE_BUY ? "SELECT sum(qty_wh) FROM trades WHERE side = 1 AND buy_seq = ?"
	                        : "SELECT sum(qty_wh) FROM trades WHERE side = 2 AND sell_seq = ?",
	    aledger_clamp64(seq), 0);
	return v < 0 ? 0 : (uint64_t)v;
}

uint64_t
aledger_sold_wh(struct aledger *l, uint64_t interval)
{
	int64_t v = query_i64(l, "SELECT sum(qty_wh) FROM trades WHERE side = 2 AND interval = ?",
	                      aledger_clamp64(interval), 0);
	return v < 0 ? 0 : (uint64_t)v;
}

/* Energy sold from the battery in the interval named by the enclosing
 * query's column `iv`: the household's sales (side 2) by its own orders
 * tagged ALEDGER_TAG_BATTERY (100). */
#define BATTERY_SOLD_IN(iv)                                                                        \
	"(SELECT total(bt.qty_wh) FROM trades bt JOIN order_tags bg ON bg.seq = bt.sell_seq"       \
	" WHERE bt.side = 2 AND bg.tag = 100 AND bt.interval = " iv ")"

uint64_t
aledger_battery_sold_wh(struct aledger *l, uint64_t interval)
{
	int64_t v = query_i64(l, "SELECT CAST(" BATTERY_SOLD_IN("?1") " AS INTEGER)",
	                      aledger_clamp64(interval), 0);
	return v < 0 ? 0 : (uint64_t)v;
}

int
aledger_result_price(struct aledger *l, uint64_t iv, int32_t *price, uint64_t *volume_wh)
{
	sqlite3_stmt *st;
	int found = 0;

	*price = 0;
	*volume_wh = 0;
	if (sqlite3_prepare_v2(l->db, "SELECT price, volume_wh FROM prices WHERE interval = ?", -1,
	                       &st, NULL) != SQLITE_OK)
		return 0;
	sqlite3_bind_int64(st, 1, aledger_clamp64(iv));
	if (sqlite3_step(st) == SQLITE_ROW) {
		/* a stored row is input too: out of range reads as none */
		int64_t p = sqlite3_column_int64(st, 0), v = sqlite3_column_int64(st, 1);
		if (p >= INT32_MIN && p <= INT32_MAX && v >= 0) {
			*price = (int32_t)p;
			*volume_wh = (uint64_t)v;
			found = 1;
		}
	}
	sqlite3_finalize(st);
	return found;
}

json_t *
aledger_json_battery_day(struct aledger *l, uint64_t from_iv, uint64_t to_iv)
{
	sqlite3_stmt *st;
	uint64_t chg, dis;
	int64_t sold = -1;

	if (aledger_battery_energy(l, from_iv, to_iv, &chg, &dis) < 0 ||
	    sqlite3_prepare_v2(l->db,
	                       "SELECT CAST(total(bt.qty_wh) AS INTEGER) FROM trades bt JOIN"
	                       " order_tags bg ON bg.seq = bt.sell_seq WHERE bt.side = 2"
	                       " AND bg.tag = 100 AND bt.interval >= ? AND bt.interval < ?",
	                       -1, &st, NULL) != SQLITE_OK)
		return NULL;
	sqlite3_bind_int64(st, 1, aledger_clamp64(from_iv));
	sqlite3_bind_int64(st, 2, aledger_clamp64(to_iv));
	if (sqlite3_step(st) == SQLITE_ROW)
		sold = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (sold < 0)
		return NULL;
	return json_pack("{s:I, s:I, s:I}", "charged_wh", (json_int_t)aledger_clamp64(chg),
	                 "discharged_wh", (json_int_t)aledger_clamp64(dis), "sold_wh",
	                 (json_int_t)sold);
}

int
aledger_last_price(struct aledger *l, int32_t *price)
{
	/* INT64_MIN: no row (a stored price is an i32) */
	int64_t p = query_i64(l,
	                      "SELECT price FROM prices WHERE volume_wh > 0 AND ?1 = ?1"
	                      " ORDER BY interval DESC LIMIT 1",
	                      0, INT64_MIN);
	*price = 0;
	if (p < INT32_MIN || p > INT32_MAX)
		return 0;
	*price = (int32_t)p;
	return 1;
}

pw_err
aledger_add_statement(struct aledger *l, const uint8_t *frame, size_t len,
                      const struct pw_statement *s)
{
	sqlite3_stmt *st;
	pw_err rc;
	int same = 0, found = 0;

	if (s->interval > INT64_MAX)
		return PW_ERR_RANGE;
	if (sqlite3_prepare_v2(l->db, "SELECT frame FROM statements WHERE interval = ?", -1, &st,
	                       NULL) != SQLITE_OK)
		return PW_ERR_DB;
	sqlite3_bind_int64(st, 1, (int64_t)s->interval);
	if (sqlite3_step(st) == SQLITE_ROW) {
		found = 1;
		same = (size_t)sqlite3_column_bytes(st, 0) == len &&
		       memcmp(sqlite3_column_blob(st, 0), frame, len) == 0;
	}
	sqlite3_finalize(st);
	if (found)
		return same ? PW_ERR_EXISTS : PW_ERR_CORRUPT;
	/* imbalance as the household sees it: energy not traded as planned */
	uint64_t imb = s->shortfall_wh + s->excess_wh + s->extra_import_wh + s->unused_wh;
	int64_t a[12] = { (int64_t)s->interval,
		          0,
		          s->flags,
		          aledger_clamp64(s->bought_wh),
		          aledger_clamp64(s->sold_wh),
		          aledger_clamp64(s->export_wh),
		          aledger_clamp64(s->import_wh),
		          aledger_clamp64(imb),
		          s->fee_u,
		          s->net_u,
		          s->baseline_u,
		          s->saving_u };
	rc = run(l,
	         "INSERT INTO statements(interval, frame, flags, bought_wh, sold_wh, export_wh,"
	         " import_wh, imbalance_wh, fee_u, net_u, baseline_u, saving_u)"
	         " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
	         a, 12, 2, frame, len, NULL);
	return rc;
}

pw_err
aledger_statement_frame(struct aledger *l, uint64_t interval, uint8_t *buf, size_t cap, size_t *len)
{
	sqlite3_stmt *st;
	pw_err rc = PW_ERR_NOTFOUND;

	if (interval > INT64_MAX)
		return PW_ERR_NOTFOUND;
	if (sqlite3_prepare_v2(l->db, "SELECT frame FROM statements WHERE interval = ?", -1, &st,
	                       NULL) != SQLITE_OK)
		return PW_ERR_DB;
	sqlite3_bind_int64(st, 1, (int64_t)interval);
	if (sqlite3_step(st) == SQLITE_ROW) {
		const void *b = sqlite3_column_blob(st, 0);
		int n = sqlite3_column_bytes(st, 0);
		if (b == NULL || n <= 0)
			rc = PW_ERR_CORRUPT;
		else if ((size_t)n > cap)
			rc = PW_ERR_FULL;
		else {
			memcpy(buf, b, (size_t)n);
			*len = (size_t)n;
			rc = PW_OK;
		}
	}
	sqlite3_finalize(st);
	return rc;
}

/* The first interval that `sql` (min(interval) with the range bound as ?1
 * < interval <= ?2) finds: PW_OK and *iv, PW_ERR_NOTFOUND, or PW_ERR_DB. */
static pw_err
first_interval(struct aledger *l, const char *sql, uint64_t after, uint64_t upto, uint64_t *iv)
{
	sqlite3_stmt *st;
	pw_err rc = PW_ERR_NOTFOUND;

	if (sqlite3_prepare_v2(l->db, sql, -1, &st, NULL) != SQLITE_OK)
		return PW_ERR_DB;
	sqlite3_bind_int64(st, 1, aledger_clamp64(after));
	sqlite3_bind_int64(st, 2, aledger_clamp64(upto));
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
		*iv = (uint64_t)sqlite3_column_int64(st, 0);
		rc = PW_OK;
	}
	sqlite3_finalize(st);
	return rc;
}

pw_err
aledger_unproven_statement(struct aledger *l, uint64_t after, uint64_t upto, uint64_t *iv)
{
	return first_interval(l,
	                      "SELECT min(interval) FROM statements WHERE proof = 0"
	                      " AND interval > ?1 AND interval <= ?2",
	                      after, upto, iv);
}

pw_err
aledger_set_statement_proof(struct aledger *l, uint64_t interval, uint64_t log_index, int state)
{
	if (interval > INT64_MAX || log_index > INT64_MAX || state < 0 || state > 2)
		return PW_ERR_RANGE;
	int64_t a[3] = { (int64_t)interval, (int64_t)log_index, state };
	return run(l, "UPDATE statements SET log_index = ?2, proof = ?3 WHERE interval = ?1", a, 3,
	           0, NULL, 0, NULL);
}

int
aledger_has_statement(struct aledger *l, uint64_t interval)
{
	if (interval > INT64_MAX)
		return 0;
	return query_i64(l, "SELECT count(*) FROM statements WHERE interval = ?", (int64_t)interval,
	                 0) > 0;
}

pw_err
aledger_add_checkpoint(struct aledger *l, const uint8_t *frame, size_t len,
                       const struct pw_checkpoint *cp)
{
	uint8_t root[PW_HASH_LEN];

	if (cp->tree_size > INT64_MAX || cp->interval > INT64_MAX)
		return PW_ERR_RANGE;
	if (aledger_root(l, cp->tree_size, root) == PW_OK)
		return memcmp(root, cp->root, PW_HASH_LEN) == 0 ? PW_ERR_EXISTS : PW_ERR_CORRUPT;
	int64_t a[2] = { (int64_t)cp->tree_size, (int64_t)cp->interval };
	sqlite3_stmt *st;
	/* the first checkpoint ever seen is trusted as it is (there is nothing
	 * to prove it against); every later one must be proven */
	if (sqlite3_prepare_v2(
	        l->db,
	        "INSERT INTO checkpoints(tree_size, interval, root, frame, consistent,"
	        " arrival) VALUES (?, ?, ?, ?, NOT EXISTS (SELECT 1 FROM checkpoints),"
	        " (SELECT coalesce(max(arrival), 0) + 1 FROM checkpoints))",
	        -1, &st, NULL) != SQLITE_OK)
		return PW_ERR_DB;
	sqlite3_bind_int64(st, 1, a[0]);
	sqlite3_bind_int64(st, 2, a[1]);
	sqlite3_bind_blob(st, 3, cp->root, PW_HASH_LEN, SQLITE_STATIC);
	sqlite3_bind_blob(st, 4, frame, (int)len, SQLITE_STATIC);
	int r = sqlite3_step(st);
	sqlite3_finalize(st);
	return r == SQLITE_DONE ? PW_OK : PW_ERR_DB;
}

static pw_err
checkpoint_row(struct aledger *l, const char *sql, int64_t arg, struct pw_checkpoint *cp)
{
	sqlite3_stmt *st;
	pw_err rc = PW_ERR_NOTFOUND;

	if (sqlite3_prepare_v2(l->db, sql, -1, &st, NULL) != SQLITE_OK)
		return PW_ERR_DB;
	sqlite3_bind_int64(st, 1, arg);
	if (sqlite3_step(st) == SQLITE_ROW) {
		const void *f = sqlite3_column_blob(st, 0);
		int n = sqlite3_column_bytes(st, 0);
		struct pw_msg m;
		if (f == NULL || n <= 0 || pw_wire_decode_stored(f, (size_t)n, &m) != PW_OK ||
		    m.type != PW_MSG_CHECKPOINT)
			rc = PW_ERR_CORRUPT;
		else {
			*cp = m.u.checkpoint;
			rc = PW_OK;
		}
	}
	sqlite3_finalize(st);
	return rc;
}

pw_err
aledger_latest_checkpoint(struct aledger *l, struct pw_checkpoint *cp)
{
	return checkpoint_row(l,
	                      "SELECT frame FROM checkpoints WHERE consistent = 1 AND ?1 = ?1"
	                      " ORDER BY tree_size DESC LIMIT 1",
	                      0, cp);
}

pw_err
aledger_prev_checkpoint(struct aledger *l, uint64_t size, struct pw_checkpoint *cp)
{
	return checkpoint_row(
	    l,
	    "SELECT frame FROM checkpoints WHERE tree_size < ?1 AND consistent = 1"
	    " ORDER BY tree_size DESC LIMIT 1",
	    aledger_clamp64(size), cp);
}

pw_err
aledger_next_checkpoint(struct aledger *l, uint64_t size, struct pw_checkpoint *cp)
{
	return checkpoint_row(
	    l,
	    "SELECT frame FROM checkpoints WHERE tree_size > ?1 AND consistent = 1"
	    " ORDER BY tree_size LIMIT 1",
	    aledger_clamp64(size), cp);
}

pw_err
aledger_unchecked_checkpoint(struct aledger *l, struct pw_checkpoint *cp)
{
	return checkpoint_row(l,
	                      "SELECT frame FROM checkpoints WHERE consistent = 0 AND ?1 = ?1"
	                      " ORDER BY arrival, tree_size LIMIT 1",
	                      0, cp);
}

pw_err
aledger_root(struct aledger *l, uint64_t size, uint8_t root[PW_HASH_LEN])
{
	sqlite3_stmt *st;
	pw_err rc = PW_ERR_NOTFOUND;

	if (size > INT64_MAX)
		return PW_ERR_NOTFOUND;
	if (sqlite3_prepare_v2(l->db, "SELECT root FROM checkpoints WHERE tree_size = ?", -1, &st,
	                       NULL) != SQLITE_OK)
		return PW_ERR_DB;
	sqlite3_bind_int64(st, 1, (int64_t)size);
	if (sqlite3_step(st) == SQLITE_ROW) {
		if (sqlite3_column_bytes(st, 0) == PW_HASH_LEN) {
			memcpy(root, sqlite3_column_blob(st, 0), PW_HASH_LEN);
			rc = PW_OK;
		} else {
			rc = PW_ERR_CORRUPT;
		}
	}
	sqlite3_finalize(st);
	return rc;
}

pw_err
aledger_set_consistent(struct aledger *l, uint64_t size, int state)
{
	int64_t a[2] = { state, aledger_clamp64(size) };
	return run(l, "UPDATE checkpoints SET consistent = ?1 WHERE tree_size = ?2", a, 2, 0, NULL,
	           0, NULL);
}

/* The share of an interval's fee `fee_u` (its statement's) for the purchase
 * whose cumulative bought energy runs from cum_wh - qty_wh to cum_wh of
 * bought_wh: the shares add up exactly to fee_u, and equal the exchange's
 * per-trade fee whenever one fee rate applied to every purchase. */
static int64_t
fee_share(int64_t fee_u, int64_t qty_wh, int64_t cum_wh, int64_t bought_wh)
{
	__int128 hi = (__int128)fee_u * cum_wh / bought_wh;
	__int128 lo = (__int128)fee_u * (cum_wh - qty_wh) / bought_wh;
	return (int64_t)(hi - lo);
}

/* The cursor of a page: rows below `before`, or all for 0. */
static int64_t
page_bound(uint64_t before)
{
	return before == 0 ? INT64_MAX : aledger_clamp64(before);
}

/* Adds "more" (rows exist below `oldest`) and "before" to a page. */
static json_t *
page_done(struct aledger *l, json_t *doc, const char *table, int have, int64_t oldest)
{
	int64_t more = 0;
	if (doc == NULL)
		return NULL;
	if (have)
		more = query_i64(l,
		                 strcmp(table, "trades") == 0
		                     ? "SELECT EXISTS(SELECT 1 FROM trades WHERE interval < ?)"
		                     : "SELECT EXISTS(SELECT 1 FROM statements WHERE interval < ?)",
		                 oldest, 0);
	json_object_set_new(doc, "more", json_boolean(more != 0));
	json_object_set_new(doc, "before", have ? json_integer((json_int_t)oldest) : json_null());
	return doc;
}

json_t *
aledger_json_trades_page(struct aledger *l, uint64_t before)
{
	sqlite3_stmt *st;
	json_t *arr = json_array();
	int64_t oldest = 0;
	int have = 0;

	if (arr == NULL)
		return NULL;
	/* The agent does not know the zones that set a trade's grid fee, so it
	 * takes the fee from the interval's statement: the buyer pays it all
	 * (a sale carries none), split over the interval's purchases by
	 * energy.  Unknown (null) until the statement arrives.  A page ends at
	 * an interval boundary, so that the next page's cursor loses nothing. */
	if (sqlite3_prepare_v2(
	        l->db,
	        "SELECT t.interval, t.side, t.qty_wh, t.price, s.fee_u,"
	        " (SELECT sum(b.qty_wh) FROM trades b WHERE b.interval = t.interval AND b.side = 1"
	        "  AND (b.buy_seq, b.sell_seq) <= (t.buy_seq, t.sell_seq)),"
	        " (SELECT sum(b.qty_wh) FROM trades b WHERE b.interval = t.interval AND b.side = 1)"
	        " FROM trades t LEFT JOIN statements s ON s.interval = t.interval"
	        " WHERE t.interval < ?1 AND t.interval >= (SELECT min(interval) FROM"
	        "  (SELECT interval FROM trades WHERE interval < ?1 ORDER BY interval DESC"
	        "   LIMIT ?2))"
	        " ORDER BY t.interval DESC, t.buy_seq, t.sell_seq LIMIT 200",
	        -1, &st, NULL) != SQLITE_OK) {
		json_decref(arr);
		return NULL;
	}
	sqlite3_bind_int64(st, 1, page_bound(before));
	sqlite3_bind_int(st, 2, ALEDGER_PAGE);
	while (sqlite3_step(st) == SQLITE_ROW) {
		int64_t qty = sqlite3_column_int64(st, 2), price = sqlite3_column_int64(st, 3);
		int64_t amount = 0, fee_u = sqlite3_column_int64(st, 4);
		int64_t cum_wh = sqlite3_column_int64(st, 5),
		        bought_wh = sqlite3_column_int64(st, 6);
		int buy = sqlite3_column_int(st, 1) == PW_SIDE_BUY;
		json_t *fee;
		oldest = sqlite3_column_int64(st, 0);
		have = 1;
		if (pw_money_amount((uint64_t)qty, price, &amount) != PW_OK)
			amount = 0;
		if (!buy)
			fee = json_integer(0);
		else if (sqlite3_column_type(st, 4) == SQLITE_NULL || fee_u < 0 || qty <= 0 ||
		         cum_wh < qty || bought_wh < cum_wh)
			fee = json_null();
		else
			fee = json_integer(fee_share(fee_u, qty, cum_wh, bought_wh));
		json_array_append_new(
		    arr, json_pack("{s:I, s:s, s:I, s:I, s:I, s:o}", "interval", (json_int_t)oldest,
		                   "side", buy ? "buy" : "sell", "qty_wh", (json_int_t)qty,
		                   "price_uper_kwh", (json_int_t)price, "amount_u",
		                   (json_int_t)amount, "fee_u", fee));
	}
	sqlite3_finalize(st);
	return page_done(l, json_pack("{s:o}", "trades", arr), "trades", have, oldest);
}

json_t *
aledger_json_trades(struct aledger *l, const uint8_t me[PW_PK_LEN])
{
	(void)me;
	return aledger_json_trades_page(l, 0);
}

/* Statement sums over intervals [lo, hi): sold, bought, earned, paid, net,
 * saving, count (paid as a positive number), and of the sold energy what
 * came from the battery (the intervals with a statement only, like the
 * rest). */
#define SUMS 8
static pw_err
statement_sums(struct aledger *l, int64_t lo, int64_t hi, int64_t v[SUMS])
{
	sqlite3_stmt *st;
	pw_err rc = PW_ERR_DB;

	memset(v, 0, SUMS * sizeof(v[0]));
	if (sqlite3_prepare_v2(
	        l->db,
	        "SELECT total(sold_wh), total(bought_wh),"
	        " total(CASE WHEN net_u > 0 THEN net_u ELSE 0 END),"
	        " total(CASE WHEN net_u < 0 THEN -net_u ELSE 0 END),"
	        " total(net_u), total(saving_u), count(*),"
	        " total(" BATTERY_SOLD_IN(
	            "s.interval") ")"
	                          " FROM statements s WHERE interval >= ? AND interval < ?",
	        -1, &st, NULL) != SQLITE_OK)
		return PW_ERR_DB;
	sqlite3_bind_int64(st, 1, lo);
	sqlite3_bind_int64(st, 2, hi);
	if (sqlite3_step(st) == SQLITE_ROW) {
		/* total() is a double: exact below 2^53 micro-units (9e9 money) */
		for (int i = 0; i < SUMS; i++)
			v[i] = (int64_t)sqlite3_column_double(st, i);
		rc = PW_OK;
	}
	sqlite3_finalize(st);
	return rc;
}

json_t *
aledger_json_statements_page(struct aledger *l, uint64_t before)
{
	sqlite3_stmt *st;
	json_t *arr = json_array();
	int64_t tot[SUMS], oldest = 0;
	int have = 0;

	if (arr == NULL)
		return NULL;
	if (statement_sums(l, 0, INT64_MAX, tot) != PW_OK ||
	    sqlite3_prepare_v2(
	        l->db,
	        "SELECT interval, flags, bought_wh, sold_wh, export_wh, import_wh,"
	        " imbalance_wh, fee_u, net_u, baseline_u, saving_u, log_index, proof,"
	        " " BATTERY_SOLD_IN("s.interval") " FROM statements s WHERE interval < ?"
	                                          " ORDER BY interval DESC LIMIT ?",
	        -1, &st, NULL) != SQLITE_OK) {
		json_decref(arr);
		return NULL;
	}
	sqlite3_bind_int64(st, 1, page_bound(before));
	sqlite3_bind_int(st, 2, ALEDGER_PAGE);
	while (sqlite3_step(st) == SQLITE_ROW) {
		int64_t v[11];
		for (int i = 0; i < 11; i++)
			v[i] = sqlite3_column_int64(st, i);
		oldest = v[0];
		have = 1;
		/* log_index and verified stay null until a statement proof
		 * was checked (0 not asked yet, 1 verified, 2 failed) */
		int proof = sqlite3_column_int(st, 12);
		json_t *idx = proof != 0 && sqlite3_column_type(st, 11) == SQLITE_INTEGER
		                  ? json_integer((json_int_t)sqlite3_column_int64(st, 11))
		                  : json_null();
		json_t *ver = proof == 0 ? json_null() : json_boolean(proof == 1);
		json_array_append_new(
		    arr,
		    json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:b, s:o, s:o}",
		              "interval", (json_int_t)v[0], "traded_wh", (json_int_t)(v[2] - v[3]),
		              "delivered_wh", (json_int_t)(v[4] - v[5]), "battery_sold_wh",
		              (json_int_t)sqlite3_column_double(st, 13), "imbalance_wh",
		              (json_int_t)v[6], "fees_u", (json_int_t)v[7], "net_u",
		              (json_int_t)v[8], "baseline_u", (json_int_t)v[9], "saving_u",
		              (json_int_t)v[10], "flagged", (v[1] & PW_STMT_READING_MISSING) != 0,
		              "log_index", idx, "verified", ver));
	}
	sqlite3_finalize(st);
	return page_done(l,
	                 json_pack("{s:o, s:{s:I, s:I, s:I}}", "statements", arr, "totals",
	                           "earned_u", (json_int_t)tot[2], "paid_u", (json_int_t)tot[3],
	                           "saving_u", (json_int_t)tot[5]),
	                 "statements", have, oldest);
}

json_t *
aledger_json_statements(struct aledger *l)
{
	return aledger_json_statements_page(l, 0);
}

static json_t *
sums_json(const int64_t v[SUMS])
{
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "sold_wh", (json_int_t)v[0],
	                 "bought_wh", (json_int_t)v[1], "earned_u", (json_int_t)v[2], "paid_u",
	                 (json_int_t)v[3], "net_u", (json_int_t)v[4], "saving_u", (json_int_t)v[5],
	                 "settled", (json_int_t)v[6], "battery_sold_wh", (json_int_t)v[7]);
}

static json_t *
int_or_null(sqlite3_stmt *st, int col)
{
	return sqlite3_column_type(st, col) == SQLITE_NULL
	           ? json_null()
	           : json_integer((json_int_t)sqlite3_column_int64(st, col));
}

json_t *
aledger_json_today(struct aledger *l, uint64_t from_iv, uint64_t to_iv, uint32_t interval_s)
{
	sqlite3_stmt *st;
	int64_t day[SUMS], all[SUMS], lo = aledger_clamp64(from_iv), hi = aledger_clamp64(to_iv);
	int64_t un_sold = 0, un_bought = 0;
	json_t *arr, *doc;

	if (statement_sums(l, lo, hi, day) != PW_OK ||
	    statement_sums(l, 0, INT64_MAX, all) != PW_OK)
		return NULL;
	if (sqlite3_prepare_v2(l->db,
	                       "SELECT side, sum(qty_wh) FROM trades WHERE interval >= ? AND"
	                       " interval < ? AND interval NOT IN (SELECT interval FROM statements)"
	                       " GROUP BY side",
	                       -1, &st, NULL) != SQLITE_OK)
		return NULL;
	sqlite3_bind_int64(st, 1, lo);
	sqlite3_bind_int64(st, 2, hi);
	while (sqlite3_step(st) == SQLITE_ROW) {
		if (sqlite3_column_int(st, 0) == PW_SIDE_SELL)
			un_sold = sqlite3_column_int64(st, 1);
		else
			un_bought = sqlite3_column_int64(st, 1);
	}
	sqlite3_finalize(st);
	/* one row per interval with a reading or a trade: the latest 288 */
	if (sqlite3_prepare_v2(
	        l->db,
	        "SELECT x.iv, e.pv_wh, e.import_wh, e.export_wh,"
	        " (SELECT total(qty_wh) FROM trades WHERE interval = x.iv AND side = 2),"
	        " (SELECT total(qty_wh) FROM trades WHERE interval = x.iv AND side = 1),"
	        " " BATTERY_SOLD_IN(
	            "x.iv") ", coalesce(e.bat_discharge_wh, 0) - coalesce(e.bat_charge_wh, 0)"
	                    " FROM (SELECT iv FROM (SELECT interval AS iv FROM energy WHERE "
	                    "interval >= ?1"
	                    "  AND interval < ?2 UNION SELECT interval FROM trades WHERE interval "
	                    ">= ?1"
	                    "  AND interval < ?2) ORDER BY iv DESC LIMIT 288) x"
	                    " LEFT JOIN energy e ON e.interval = x.iv ORDER BY x.iv",
	        -1, &st, NULL) != SQLITE_OK)
		return NULL;
	sqlite3_bind_int64(st, 1, lo);
	sqlite3_bind_int64(st, 2, hi);
	arr = json_array();
	while (arr != NULL && sqlite3_step(st) == SQLITE_ROW) {
		int64_t iv = sqlite3_column_int64(st, 0);
		json_t *house = json_null();
		if (sqlite3_column_type(st, 1) != SQLITE_NULL &&
		    sqlite3_column_type(st, 2) != SQLITE_NULL) {
			/* what the house used: own PV plus import minus export, plus
			 * what the battery gave minus what it took (a stored row is
			 * input too: an implausible battery value counts as none) */
			int64_t bat = sqlite3_column_int64(st, 7);
			if (bat < -INT64_C(1000000000000) || bat > INT64_C(1000000000000))
				bat = 0;
			int64_t h = sqlite3_column_int64(st, 1) + sqlite3_column_int64(st, 2) -
			            sqlite3_column_int64(st, 3) + bat;
			house = json_integer(h > 0 ? h : 0);
		}
		json_array_append_new(
		    arr, json_pack("{s:I, s:I, s:o, s:o, s:o, s:o, s:I, s:I, s:I}", "interval",
		                   (json_int_t)iv, "start", (json_int_t)(iv * (int64_t)interval_s),
		                   "pv_wh", int_or_null(st, 1), "house_wh", house, "import_wh",
		                   int_or_null(st, 2), "export_wh", int_or_null(st, 3), "sold_wh",
		                   (json_int_t)sqlite3_column_double(st, 4), "bought_wh",
		                   (json_int_t)sqlite3_column_double(st, 5), "battery_sold_wh",
		                   (json_int_t)sqlite3_column_double(st, 6)));
	}
	sqlite3_finalize(st);
	if (arr == NULL)
		return NULL;
	doc = sums_json(day);
	if (doc == NULL) {
		json_decref(arr);
		return NULL;
	}
	json_object_set_new(doc, "from_interval", json_integer((json_int_t)lo));
	json_object_set_new(doc, "to_interval", json_integer((json_int_t)hi));
	json_object_set_new(doc, "start", json_integer((json_int_t)(lo * (int64_t)interval_s)));
	json_object_set_new(doc, "unsettled_sold_wh", json_integer((json_int_t)un_sold));
	json_object_set_new(doc, "unsettled_bought_wh", json_integer((json_int_t)un_bought));
	json_object_set_new(doc, "intervals", arr);
	json_object_set_new(doc, "all_time", sums_json(all));
	return doc;
}

json_t *
aledger_json_prices(struct aledger *l, uint32_t interval_s, unsigned max)
{
	sqlite3_stmt *st;
	json_t *arr = json_array();

	if (arr == NULL)
		return NULL;
	if (sqlite3_prepare_v2(l->db,
	                       "SELECT interval, price, volume_wh FROM"
	                       " (SELECT * FROM prices ORDER BY interval DESC LIMIT ?)"
	                       " ORDER BY interval",
	                       -1, &st, NULL) != SQLITE_OK) {
		json_decref(arr);
		return NULL;
	}
	sqlite3_bind_int(st, 1, (int)max);
	while (sqlite3_step(st) == SQLITE_ROW) {
		int64_t iv = sqlite3_column_int64(st, 0);
		/* a stored row is input too: one whose start does not fit is skipped */
		if (iv < 0 || interval_s == 0 || iv > INT64_MAX / (int64_t)interval_s)
			continue;
		json_array_append_new(
		    arr, json_pack("{s:I, s:I, s:I, s:I}", "interval", (json_int_t)iv, "start",
		                   (json_int_t)(iv * (int64_t)interval_s), "price_uper_kwh",
		                   (json_int_t)sqlite3_column_int64(st, 1), "volume_wh",
		                   (json_int_t)sqlite3_column_int64(st, 2)));
	}
	sqlite3_finalize(st);
	return arr;
}

pw_err
aledger_counts(struct aledger *l, uint64_t *trades, uint64_t *statements, uint64_t *checkpoints)
{
	*trades = (uint64_t)query_i64(l, "SELECT count(*) + 0 * ? FROM trades", 0, 0);
	*statements = (uint64_t)query_i64(l, "SELECT count(*) + 0 * ? FROM statements", 0, 0);
	*checkpoints = (uint64_t)query_i64(l, "SELECT count(*) + 0 * ? FROM checkpoints", 0, 0);
	return PW_OK;
}

pw_err
aledger_tag_order(struct aledger *l, uint64_t seq, int tag)
{
	int64_t a[2] = { aledger_clamp64(seq), tag };
	return run(l, "INSERT OR REPLACE INTO order_tags(seq, tag) VALUES (?, ?)", a, 2, 0, NULL, 0,
	           NULL);
}

int
aledger_order_tag(struct aledger *l, uint64_t seq)
{
	int64_t t =
	    query_i64(l, "SELECT tag FROM order_tags WHERE seq = ?", aledger_clamp64(seq), 0);
	return t < 0 || t > 1000 ? 0 : (int)t;
}

pw_err
aledger_setting_set(struct aledger *l, const char *name, int64_t v)
{
	sqlite3_stmt *st;
	int r;

	if (sqlite3_prepare_v2(l->db, "INSERT OR REPLACE INTO settings(name, value) VALUES (?, ?)",
	                       -1, &st, NULL) != SQLITE_OK)
		return PW_ERR_DB;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, v);
	r = sqlite3_step(st);
	sqlite3_finalize(st);
	return r == SQLITE_DONE ? PW_OK : PW_ERR_DB;
}

pw_err
aledger_setting_get(struct aledger *l, const char *name, int64_t *v)
{
	sqlite3_stmt *st;
	pw_err rc = PW_ERR_NOTFOUND;

	if (sqlite3_prepare_v2(l->db, "SELECT value FROM settings WHERE name = ?", -1, &st, NULL) !=
	    SQLITE_OK)
		return PW_ERR_DB;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		*v = sqlite3_column_int64(st, 0);
		rc = PW_OK;
	}
	sqlite3_finalize(st);
	return rc;
}

pw_err
aledger_missing_statement(struct aledger *l, uint64_t after, uint64_t upto, uint64_t *iv)
{
	return first_interval(l,
	                      "SELECT min(interval) FROM ("
	                      " SELECT interval FROM outbox WHERE type = 3 AND state = 1"
	                      " UNION SELECT interval FROM trades)"
	                      " WHERE interval > ?1 AND interval <= ?2"
	                      " AND interval NOT IN (SELECT interval FROM statements)"
	                      " AND interval NOT IN (SELECT interval FROM disputes"
	                      "  WHERE type = 19)",
	                      after, upto, iv);
}

pw_err
aledger_order_interval_below(struct aledger *l, uint64_t before, uint64_t *iv)
{
	/* stream 0 holds orders (type 1) and cancels */
	return first_interval(l,
	                      "SELECT max(interval) FROM outbox WHERE stream = 0 AND type = 1"
	                      " AND interval > ?1 AND interval < ?2",
	                      0, before, iv);
}
