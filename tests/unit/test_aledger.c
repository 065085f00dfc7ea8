/* test_aledger.c: what the agent keeps from the exchange: prices and own
 * trades from RESULT, statements (a second different one is a fork),
 * checkpoints (same size, other root is a fork), missing statements,
 * statement proofs (frame, unproven ones, verdict, the columns added to an
 * older database), tags, settings and the dashboard documents (pages of
 * trades and statements, the Today document). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "agent/aledger.h"
#include "agent/outbox.h"

struct fx {
	struct outbox *ob;
	struct aledger *l;
	struct pw_keypair x, me, other;
};

static int
setup(void **state)
{
	static struct fx f;
	uint8_t seed[PW_SEED_LEN];
	memset(&f, 0, sizeof(f));
	if (pw_crypto_init() != PW_OK)
		return -1;
	memset(seed, 1, sizeof(seed));
	if (pw_key_from_seed(&f.x, seed) != PW_OK)
		return -1;
	memset(seed, 2, sizeof(seed));
	if (pw_key_from_seed(&f.me, seed) != PW_OK)
		return -1;
	memset(seed, 3, sizeof(seed));
	if (pw_key_from_seed(&f.other, seed) != PW_OK)
		return -1;
	if (outbox_open(&f.ob, ":memory:", 1) != PW_OK ||
	    aledger_open(&f.l, outbox_db(f.ob)) != PW_OK)
		return -1;
	*state = &f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	aledger_close(&f->l);
	outbox_close(&f->ob);
	return 0;
}

static void
test_results_and_prices(void **state)
{
	struct fx *f = *state;
	struct pw_trade t[3];
	struct pw_msg m;
	static uint8_t buf[4096];
	size_t len;
	unsigned mine;
	json_t *doc;

	int32_t last = 7;
	assert_int_equal(aledger_last_price(f->l, &last), 0); /* none yet */
	assert_int_equal(last, 0);
	memset(t, 0, sizeof(t));
	memcpy(t[0].buyer, f->me.pk, PW_PK_LEN); /* we buy */
	memcpy(t[0].seller, f->other.pk, PW_PK_LEN);
	t[0].buy_seq = 10, t[0].sell_seq = 20, t[0].qty_wh = 100;
	memcpy(t[1].buyer, f->other.pk, PW_PK_LEN); /* not ours */
	memcpy(t[1].seller, f->other.pk, PW_PK_LEN);
	t[1].buy_seq = 11, t[1].sell_seq = 21, t[1].qty_wh = 50;
	memcpy(t[2].buyer, f->other.pk, PW_PK_LEN); /* we sell */
	memcpy(t[2].seller, f->me.pk, PW_PK_LEN);
	t[2].buy_seq = 12, t[2].sell_seq = 30, t[2].qty_wh = 70;
	memset(&m, 0, sizeof(m));
	m.type = PW_MSG_RESULT;
	m.u.result.interval = 5;
	m.u.result.price_uper_kwh = 150000;
	m.u.result.volume_wh = 220;
	m.u.result.n_trades_total = 3;
	m.u.result.parts = 1;
	m.u.result.n_trades = 3;
	m.u.result.trades = t;
	assert_int_equal(pw_wire_encode(&m, 1, &f->x, buf, sizeof(buf), &len), PW_OK);
	assert_int_equal(pw_wire_open(buf, len, 1, &m), PW_OK);
	assert_int_equal(aledger_add_result(f->l, &m.u.result, f->me.pk, &mine), PW_OK);
	assert_int_equal(mine, 2);
	/* the same RESULT again (PUB and QUERY) adds nothing */
	assert_int_equal(aledger_add_result(f->l, &m.u.result, f->me.pk, &mine), PW_OK);
	assert_int_equal(aledger_last_price(f->l, &last), 1);
	assert_int_equal(last, 150000);
	doc = aledger_json_trades(f->l, f->me.pk);
	assert_non_null(doc);
	assert_int_equal(json_array_size(json_object_get(doc, "trades")), 2);
	json_t *t0 = json_array_get(json_object_get(doc, "trades"), 0);
	assert_int_equal(json_integer_value(json_object_get(t0, "amount_u")),
	                 json_integer_value(json_object_get(t0, "qty_wh")) * 150000 / 1000);
	json_decref(doc);
	doc = aledger_json_prices(f->l, 900, 10);
	assert_int_equal(json_array_size(doc), 1);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(doc, 0), "start")),
	                 4500);
	json_decref(doc);
}

static size_t
statement(struct fx *f, uint64_t iv, int64_t net, uint8_t *buf, size_t cap, struct pw_msg *m)
{
	size_t len;
	memset(m, 0, sizeof(*m));
	m->type = PW_MSG_STATEMENT;
	memcpy(m->u.statement.household, f->me.pk, PW_PK_LEN);
	m->u.statement.interval = iv;
	m->u.statement.export_wh = 300;
	m->u.statement.net_u = net;
	m->u.statement.peer_u = net;
	assert_int_equal(pw_wire_encode(m, 1, &f->x, buf, cap, &len), PW_OK);
	return len;
}

static pw_err
fake_meter(void *ctx, uint64_t seq, uint8_t *frame, size_t cap, size_t *len, uint8_t *type,
           uint64_t *interval)
{
	(void)seq;
	(void)cap;
	memset(frame, 0xaa, 10);
	*len = 10;
	*type = PW_MSG_METER;
	*interval = *(uint64_t *)ctx;
	return PW_OK;
}

static void
test_statements(void **state)
{
	struct fx *f = *state;
	uint8_t buf[512], buf2[512];
	struct pw_msg m, m2;
	size_t len, len2;
	uint64_t iv;

	/* acknowledged readings for intervals 7, 8, 9 */
	for (uint64_t k = 7; k <= 9; k++) {
		uint64_t seq;
		assert_int_equal(outbox_add(f->ob, OUTBOX_METER, fake_meter, &k, &seq), PW_OK);
		assert_int_equal(outbox_settle(f->ob, OUTBOX_METER, seq, OUTBOX_ACKED, 0, seq),
		                 PW_OK);
	}
	/* interval 5 has trades (previous test), 7..9 readings */
	assert_int_equal(aledger_missing_statement(f->l, 0, 100, &iv), PW_OK);
	assert_int_equal(iv, 5);
	assert_int_equal(aledger_missing_statement(f->l, 5, 8, &iv), PW_OK);
	assert_int_equal(iv, 7);
	len = statement(f, 7, 1000, buf, sizeof(buf), &m);
	assert_int_equal(aledger_add_statement(f->l, buf, len, &m.u.statement), PW_OK);
	assert_true(aledger_has_statement(f->l, 7));
	assert_false(aledger_has_statement(f->l, 8));
	assert_int_equal(aledger_add_statement(f->l, buf, len, &m.u.statement), PW_ERR_EXISTS);
	len2 = statement(f, 7, 999, buf2, sizeof(buf2), &m2);
	assert_int_equal(aledger_add_statement(f->l, buf2, len2, &m2.u.statement), PW_ERR_CORRUPT);
	assert_int_equal(aledger_missing_statement(f->l, 5, 8, &iv), PW_OK);
	assert_int_equal(iv, 8);
	assert_int_equal(aledger_missing_statement(f->l, 9, 100, &iv), PW_ERR_NOTFOUND);
	json_t *doc = aledger_json_statements(f->l);
	assert_int_equal(json_array_size(json_object_get(doc, "statements")), 1);
	assert_int_equal(
	    json_integer_value(json_object_get(json_object_get(doc, "totals"), "earned_u")), 1000);
	/* no proof checked yet: index and badge unknown */
	json_t *row = json_array_get(json_object_get(doc, "statements"), 0);
	assert_true(json_is_null(json_object_get(row, "log_index")));
	assert_true(json_is_null(json_object_get(row, "verified")));
	json_decref(doc);

	/* statement proofs: the exact frame back, the unproven ones in order
	 * up to the checkpoint's interval, the verdict stored */
	uint8_t back[512];
	size_t blen;
	assert_int_equal(aledger_statement_frame(f->l, 7, back, sizeof(back), &blen), PW_OK);
	assert_int_equal(blen, len);
	assert_memory_equal(back, buf, len);
	assert_int_equal(aledger_statement_frame(f->l, 7, back, len - 1, &blen), PW_ERR_FULL);
	assert_int_equal(aledger_statement_frame(f->l, 8, back, sizeof(back), &blen),
	                 PW_ERR_NOTFOUND);
	len2 = statement(f, 9, -50, buf2, sizeof(buf2), &m2);
	assert_int_equal(aledger_add_statement(f->l, buf2, len2, &m2.u.statement), PW_OK);
	assert_int_equal(aledger_unproven_statement(f->l, 0, 6, &iv), PW_ERR_NOTFOUND);
	assert_int_equal(aledger_unproven_statement(f->l, 0, 100, &iv), PW_OK);
	assert_int_equal(iv, 7);
	assert_int_equal(aledger_set_statement_proof(f->l, 7, 41, 1), PW_OK);
	assert_int_equal(aledger_unproven_statement(f->l, 0, 100, &iv), PW_OK);
	assert_int_equal(iv, 9);
	assert_int_equal(aledger_unproven_statement(f->l, 9, 100, &iv), PW_ERR_NOTFOUND);
	assert_int_equal(aledger_set_statement_proof(f->l, 9, 57, 2), PW_OK);
	assert_int_equal(aledger_unproven_statement(f->l, 0, 100, &iv), PW_ERR_NOTFOUND);
	assert_int_equal(aledger_set_statement_proof(f->l, 9, 57, 3), PW_ERR_RANGE);
	doc = aledger_json_statements(f->l);
	json_t *rows = json_object_get(doc, "statements");
	assert_int_equal(json_array_size(rows), 2);
	/* latest first: 9 failed, 7 verified */
	row = json_array_get(rows, 0);
	assert_int_equal(json_integer_value(json_object_get(row, "interval")), 9);
	assert_int_equal(json_integer_value(json_object_get(row, "log_index")), 57);
	assert_true(json_is_false(json_object_get(row, "verified")));
	row = json_array_get(rows, 1);
	assert_int_equal(json_integer_value(json_object_get(row, "log_index")), 41);
	assert_true(json_is_true(json_object_get(row, "verified")));
	json_decref(doc);
}

/* A database of the version before statement proofs gets the two columns
 * at open; its statements are then unproven. */
static void
test_statement_proof_columns_added(void **state)
{
	(void)state;
	sqlite3 *db;
	struct aledger *l;
	uint64_t iv;
	assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
	assert_int_equal(
	    sqlite3_exec(
	        db,
	        "CREATE TABLE statements(interval INTEGER PRIMARY KEY, frame BLOB NOT NULL,"
	        " flags INTEGER NOT NULL, bought_wh INTEGER NOT NULL, sold_wh INTEGER NOT "
	        "NULL, export_wh INTEGER NOT NULL, import_wh INTEGER NOT NULL, imbalance_wh "
	        "INTEGER NOT NULL, fee_u INTEGER NOT NULL, net_u INTEGER NOT NULL,"
	        " baseline_u INTEGER NOT NULL, saving_u INTEGER NOT NULL);"
	        "INSERT INTO statements VALUES (12, x'0113', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)",
	        NULL, NULL, NULL),
	    SQLITE_OK);
	assert_int_equal(aledger_open(&l, db), PW_OK);
	assert_int_equal(aledger_unproven_statement(l, 0, 100, &iv), PW_OK);
	assert_int_equal(iv, 12);
	assert_int_equal(aledger_set_statement_proof(l, 12, 3, 1), PW_OK);
	aledger_close(&l);
	/* and a second open leaves them be */
	assert_int_equal(aledger_open(&l, db), PW_OK);
	assert_int_equal(aledger_unproven_statement(l, 0, 100, &iv), PW_ERR_NOTFOUND);
	aledger_close(&l);
	sqlite3_close(db);
}

static size_t
checkpoint(struct fx *f, uint64_t size, uint8_t rootbyte, uint8_t *buf, size_t cap,
           struct pw_msg *m)
{
	size_t len;
	memset(m, 0, sizeof(*m));
	m->type = PW_MSG_CHECKPOINT;
	memcpy(m->u.checkpoint.origin, "test", 4);
	m->u.checkpoint.interval = size;
	m->u.checkpoint.tree_size = size;
	memset(m->u.checkpoint.root, rootbyte, PW_HASH_LEN);
	assert_int_equal(pw_wire_encode(m, 1, &f->x, buf, cap, &len), PW_OK);
	return len;
}

static void
test_checkpoints(void **state)
{
	struct fx *f = *state;
	uint8_t buf[512], root[PW_HASH_LEN];
	struct pw_msg m;
	struct pw_checkpoint cp;
	size_t len;

	assert_int_equal(aledger_latest_checkpoint(f->l, &cp), PW_ERR_NOTFOUND);
	len = checkpoint(f, 10, 0x11, buf, sizeof(buf), &m);
	assert_int_equal(aledger_add_checkpoint(f->l, buf, len, &m.u.checkpoint), PW_OK);
	assert_int_equal(aledger_add_checkpoint(f->l, buf, len, &m.u.checkpoint), PW_ERR_EXISTS);
	/* the first checkpoint is trusted as it is: nothing to check */
	assert_int_equal(aledger_unchecked_checkpoint(f->l, &cp), PW_ERR_NOTFOUND);
	len = checkpoint(f, 20, 0x22, buf, sizeof(buf), &m);
	assert_int_equal(aledger_add_checkpoint(f->l, buf, len, &m.u.checkpoint), PW_OK);
	len = checkpoint(f, 20, 0x23, buf, sizeof(buf), &m);
	assert_int_equal(aledger_add_checkpoint(f->l, buf, len, &m.u.checkpoint), PW_ERR_CORRUPT);
	/* an unproven checkpoint is never the latest trusted one */
	assert_int_equal(aledger_latest_checkpoint(f->l, &cp), PW_OK);
	assert_int_equal(cp.tree_size, 10);
	assert_int_equal(aledger_root(f->l, 20, root), PW_OK);
	assert_int_equal(root[0], 0x22);
	assert_int_equal(aledger_root(f->l, 15, root), PW_ERR_NOTFOUND);
	assert_int_equal(aledger_unchecked_checkpoint(f->l, &cp), PW_OK);
	assert_int_equal(cp.tree_size, 20);
	assert_int_equal(aledger_prev_checkpoint(f->l, 20, &cp), PW_OK);
	assert_int_equal(cp.tree_size, 10);
	assert_int_equal(aledger_next_checkpoint(f->l, 10, &cp), PW_ERR_NOTFOUND); /* unproven */
	assert_int_equal(aledger_set_consistent(f->l, 20, 1), PW_OK);
	assert_int_equal(aledger_unchecked_checkpoint(f->l, &cp), PW_ERR_NOTFOUND);
	assert_int_equal(aledger_latest_checkpoint(f->l, &cp), PW_OK);
	assert_int_equal(cp.tree_size, 20);
	/* one between two trusted sizes has both as neighbours; unproven ones
	 * come in the order received */
	len = checkpoint(f, 30, 0x30, buf, sizeof(buf), &m);
	assert_int_equal(aledger_add_checkpoint(f->l, buf, len, &m.u.checkpoint), PW_OK);
	len = checkpoint(f, 15, 0x15, buf, sizeof(buf), &m);
	assert_int_equal(aledger_add_checkpoint(f->l, buf, len, &m.u.checkpoint), PW_OK);
	assert_int_equal(aledger_unchecked_checkpoint(f->l, &cp), PW_OK);
	assert_int_equal(cp.tree_size, 30);
	assert_int_equal(aledger_set_consistent(f->l, 30, 1), PW_OK);
	assert_int_equal(aledger_unchecked_checkpoint(f->l, &cp), PW_OK);
	assert_int_equal(cp.tree_size, 15);
	assert_int_equal(aledger_prev_checkpoint(f->l, 15, &cp), PW_OK);
	assert_int_equal(cp.tree_size, 10);
	assert_int_equal(aledger_next_checkpoint(f->l, 15, &cp), PW_OK);
	assert_int_equal(cp.tree_size, 20);
	assert_int_equal(aledger_set_consistent(f->l, 15, -1), PW_OK);
	assert_int_equal(aledger_unchecked_checkpoint(f->l, &cp), PW_ERR_NOTFOUND);
	assert_int_equal(aledger_latest_checkpoint(f->l, &cp), PW_OK);
	assert_int_equal(cp.tree_size, 30);
}

static void
test_tags_and_settings(void **state)
{
	struct fx *f = *state;
	int64_t v = 0;
	assert_int_equal(aledger_order_tag(f->l, 77), 0);
	assert_int_equal(aledger_tag_order(f->l, 77, 3), PW_OK);
	assert_int_equal(aledger_order_tag(f->l, 77), 3);
	assert_int_equal(aledger_setting_get(f->l, "reserve_wh", &v), PW_ERR_NOTFOUND);
	assert_int_equal(aledger_setting_set(f->l, "reserve_wh", 120), PW_OK);
	assert_int_equal(aledger_setting_set(f->l, "reserve_wh", 140), PW_OK);
	assert_int_equal(aledger_setting_get(f->l, "reserve_wh", &v), PW_OK);
	assert_int_equal(v, 140);
}

/* The trades of interval 20 in the trades document, by qty_wh. */
static json_t *
trade_of(json_t *doc, int64_t qty_wh)
{
	json_t *arr = json_object_get(doc, "trades"), *t;
	size_t i;
	json_array_foreach(arr, i, t)
	{
		if (json_integer_value(json_object_get(t, "interval")) == 20 &&
		    json_integer_value(json_object_get(t, "qty_wh")) == qty_wh)
			return t;
	}
	fail_msg("no trade of %lld Wh in interval 20", (long long)qty_wh);
	return NULL;
}

static void
test_order_fill_and_fees(void **state)
{
	struct fx *f = *state;
	struct pw_trade t[4];
	struct pw_msg m;
	static uint8_t buf[4096];
	size_t len;
	unsigned mine;
	json_t *doc;

	/* our buy order 40 matched two asks, buy 41 one, our sell 60 one bid */
	memset(t, 0, sizeof(t));
	for (int i = 0; i < 3; i++) {
		memcpy(t[i].buyer, f->me.pk, PW_PK_LEN);
		memcpy(t[i].seller, f->other.pk, PW_PK_LEN);
	}
	t[0].buy_seq = 40, t[0].sell_seq = 50, t[0].qty_wh = 100;
	t[1].buy_seq = 40, t[1].sell_seq = 51, t[1].qty_wh = 60;
	t[2].buy_seq = 41, t[2].sell_seq = 52, t[2].qty_wh = 3;
	memcpy(t[3].buyer, f->other.pk, PW_PK_LEN);
	memcpy(t[3].seller, f->me.pk, PW_PK_LEN);
	t[3].buy_seq = 40, t[3].sell_seq = 60, t[3].qty_wh = 70;
	memset(&m, 0, sizeof(m));
	m.type = PW_MSG_RESULT;
	m.u.result.interval = 20;
	m.u.result.price_uper_kwh = 120000;
	m.u.result.volume_wh = 233;
	m.u.result.n_trades_total = 4;
	m.u.result.parts = 1;
	m.u.result.n_trades = 4;
	m.u.result.trades = t;
	assert_int_equal(pw_wire_encode(&m, 1, &f->x, buf, sizeof(buf), &len), PW_OK);
	assert_int_equal(pw_wire_open(buf, len, 1, &m), PW_OK);
	assert_int_equal(aledger_add_result(f->l, &m.u.result, f->me.pk, &mine), PW_OK);
	assert_int_equal(mine, 4);

	/* how much each own order traded: a buy seq and a sell seq are
	 * different orders even when the numbers match */
	assert_int_equal(aledger_order_traded_wh(f->l, PW_SIDE_BUY, 40), 160);
	assert_int_equal(aledger_order_traded_wh(f->l, PW_SIDE_BUY, 41), 3);
	assert_int_equal(aledger_order_traded_wh(f->l, PW_SIDE_SELL, 60), 70);
	assert_int_equal(aledger_order_traded_wh(f->l, PW_SIDE_SELL, 40), 0);
	assert_int_equal(aledger_order_traded_wh(f->l, PW_SIDE_BUY, 60), 0);
	assert_int_equal(aledger_order_traded_wh(f->l, PW_SIDE_BUY, 11), 0); /* not ours */

	/* before the statement: a purchase's fee is unknown, a sale pays none */
	doc = aledger_json_trades(f->l, f->me.pk);
	assert_non_null(doc);
	assert_true(json_is_null(json_object_get(trade_of(doc, 100), "fee_u")));
	assert_int_equal(json_integer_value(json_object_get(trade_of(doc, 70), "fee_u")), 0);
	json_decref(doc);

	/* the statement's fee is split over the purchases by energy, exactly */
	memset(&m, 0, sizeof(m));
	m.type = PW_MSG_STATEMENT;
	memcpy(m.u.statement.household, f->me.pk, PW_PK_LEN);
	m.u.statement.interval = 20;
	m.u.statement.bought_wh = 163;
	m.u.statement.sold_wh = 70;
	m.u.statement.fee_u = 1637;
	assert_int_equal(pw_wire_encode(&m, 1, &f->x, buf, sizeof(buf), &len), PW_OK);
	assert_int_equal(aledger_add_statement(f->l, buf, len, &m.u.statement), PW_OK);
	doc = aledger_json_trades(f->l, f->me.pk);
	assert_non_null(doc);
	int64_t f100 = json_integer_value(json_object_get(trade_of(doc, 100), "fee_u"));
	int64_t f60 = json_integer_value(json_object_get(trade_of(doc, 60), "fee_u"));
	int64_t f3 = json_integer_value(json_object_get(trade_of(doc, 3), "fee_u"));
	assert_int_equal(f100, 1637 * 100 / 163);
	assert_int_equal(f100 + f60, 1637 * 160 / 163);
	assert_int_equal(f100 + f60 + f3, 1637);
	assert_int_equal(json_integer_value(json_object_get(trade_of(doc, 70), "fee_u")), 0);
	json_decref(doc);
}

/* A RESULT of interval iv in which `me` bought n times (qty 100, 101, ...). */
static void
buy_result(struct fx *f, uint64_t iv, int n, int32_t price)
{
	struct pw_trade t[4];
	struct pw_msg m;
	static uint8_t buf[4096];
	size_t len;
	unsigned mine;

	memset(t, 0, sizeof(t));
	for (int i = 0; i < n; i++) {
		memcpy(t[i].buyer, f->me.pk, PW_PK_LEN);
		memcpy(t[i].seller, f->other.pk, PW_PK_LEN);
		t[i].buy_seq = 1000 + iv;
		t[i].sell_seq = 2000 + (uint64_t)i;
		t[i].qty_wh = 100 + (uint32_t)i;
	}
	memset(&m, 0, sizeof(m));
	m.type = PW_MSG_RESULT;
	m.u.result.interval = iv;
	m.u.result.price_uper_kwh = price;
	m.u.result.volume_wh = 100;
	m.u.result.n_trades_total = (uint16_t)n;
	m.u.result.parts = 1;
	m.u.result.n_trades = (uint16_t)n;
	m.u.result.trades = t;
	assert_int_equal(pw_wire_encode(&m, 1, &f->x, buf, sizeof(buf), &len), PW_OK);
	assert_int_equal(pw_wire_open(buf, len, 1, &m), PW_OK);
	assert_int_equal(aledger_add_result(f->l, &m.u.result, f->me.pk, &mine), PW_OK);
	assert_int_equal(mine, (unsigned)n);
}

static void
add_stmt(struct fx *f, uint64_t iv, uint64_t bought, uint64_t sold, int64_t net, int64_t saving)
{
	uint8_t buf[512];
	struct pw_msg m;
	size_t len;

	memset(&m, 0, sizeof(m));
	m.type = PW_MSG_STATEMENT;
	memcpy(m.u.statement.household, f->me.pk, PW_PK_LEN);
	m.u.statement.interval = iv;
	m.u.statement.bought_wh = bought;
	m.u.statement.sold_wh = sold;
	m.u.statement.net_u = net;
	m.u.statement.saving_u = saving;
	assert_int_equal(pw_wire_encode(&m, 1, &f->x, buf, sizeof(buf), &len), PW_OK);
	assert_int_equal(aledger_add_statement(f->l, buf, len, &m.u.statement), PW_OK);
}

static int64_t
ival(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	assert_true(json_is_integer(v));
	return json_integer_value(v);
}

/* Trades and statements in pages of 20 rows, newest first; "before" walks
 * them to the end with nothing lost or repeated; a page of trades ends at
 * an interval boundary. */
static void
test_pages(void **state)
{
	(void)state;
	struct fx g;
	memset(&g, 0, sizeof(g));
	g.x = ((struct fx *)*state)->x, g.me = ((struct fx *)*state)->me;
	g.other = ((struct fx *)*state)->other;
	assert_int_equal(outbox_open(&g.ob, ":memory:", 1), PW_OK);
	assert_int_equal(aledger_open(&g.l, outbox_db(g.ob)), PW_OK);

	/* empty: no rows, nothing more, no cursor */
	json_t *doc = aledger_json_trades_page(g.l, 0);
	assert_int_equal(json_array_size(json_object_get(doc, "trades")), 0);
	assert_true(json_is_false(json_object_get(doc, "more")));
	assert_true(json_is_null(json_object_get(doc, "before")));
	json_decref(doc);

	/* intervals 101..150: one trade each, but 130 has three */
	for (uint64_t iv = 101; iv <= 150; iv++)
		buy_result(&g, iv, iv == 130 ? 3 : 1, 150000);
	for (uint64_t iv = 101; iv <= 145; iv++)
		add_stmt(&g, iv, 100, 0, -(int64_t)iv, 7);

	size_t seen = 0, pages = 0;
	uint64_t before = 0, last_iv = UINT64_MAX;
	for (;;) {
		doc = aledger_json_trades_page(g.l, before);
		json_t *rows = json_object_get(doc, "trades");
		size_t n = json_array_size(rows);
		pages++;
		for (size_t i = 0; i < n; i++) {
			uint64_t iv = (uint64_t)ival(json_array_get(rows, i), "interval");
			assert_true(iv <= last_iv);
			if (before != 0)
				assert_true(iv < before);
			last_iv = iv;
		}
		seen += n;
		if (pages == 1) {
			/* 150..131 are the latest 20 rows */
			assert_int_equal(n, 20);
			assert_int_equal(ival(json_array_get(rows, 0), "interval"), 150);
		} else if (pages == 2) {
			/* 130..113: 18 intervals, 20 rows with 130's three */
			assert_int_equal(n, 20);
			assert_int_equal(ival(json_array_get(rows, n - 1), "interval"), 113);
		}
		if (!json_is_true(json_object_get(doc, "more"))) {
			json_decref(doc);
			break;
		}
		before = (uint64_t)ival(doc, "before");
		json_decref(doc);
		assert_true(pages < 10);
	}
	assert_int_equal(seen, 52);
	assert_int_equal(pages, 3);

	/* statements: 20, 20, 5 rows; totals all-time on every page */
	doc = aledger_json_statements_page(g.l, 0);
	assert_int_equal(json_array_size(json_object_get(doc, "statements")), 20);
	assert_true(json_is_true(json_object_get(doc, "more")));
	assert_int_equal(ival(doc, "before"), 126);
	json_t *tot = json_object_get(doc, "totals");
	assert_int_equal(ival(tot, "paid_u"), (101 + 145) * 45 / 2);
	assert_int_equal(ival(tot, "earned_u"), 0);
	assert_int_equal(ival(tot, "saving_u"), 7 * 45);
	json_decref(doc);
	doc = aledger_json_statements_page(g.l, 106);
	json_t *rows = json_object_get(doc, "statements");
	assert_int_equal(json_array_size(rows), 5);
	assert_int_equal(ival(json_array_get(rows, 0), "interval"), 105);
	assert_true(json_is_false(json_object_get(doc, "more")));
	json_decref(doc);
	/* the old names are the latest pages */
	doc = aledger_json_statements(g.l);
	assert_int_equal(ival(json_array_get(json_object_get(doc, "statements"), 0), "interval"),
	                 145);
	json_decref(doc);

	aledger_close(&g.l);
	outbox_close(&g.ob);
}

/* The Today document: sums of the day's statements only (all-time apart),
 * trades not yet settled, and one chart row per interval with PV, house,
 * grid and traded energy. */
static void
test_today(void **state)
{
	(void)state;
	struct fx g;
	memset(&g, 0, sizeof(g));
	g.x = ((struct fx *)*state)->x, g.me = ((struct fx *)*state)->me;
	g.other = ((struct fx *)*state)->other;
	assert_int_equal(outbox_open(&g.ob, ":memory:", 1), PW_OK);
	assert_int_equal(aledger_open(&g.l, outbox_db(g.ob)), PW_OK);

	/* yesterday (interval 95): earned 500; today (96..191): 96 paid 200,
	 * 97 earned 300, 98 traded, not settled yet */
	add_stmt(&g, 95, 0, 400, 500, 50);
	buy_result(&g, 96, 2, 200000); /* bought 100 + 101 Wh */
	add_stmt(&g, 96, 201, 0, -200, 20);
	add_stmt(&g, 97, 0, 150, 300, 30);
	buy_result(&g, 98, 1, 200000);
	assert_int_equal(aledger_add_energy(g.l, 96, 50, 400, 0, -1, -1), PW_OK);
	assert_int_equal(aledger_add_energy(g.l, 97, 900, 0, 600, -1, -1), PW_OK);
	assert_int_equal(aledger_add_energy(g.l, 97, 800, 0, 600, -1, -1), PW_OK); /* replaces */
	assert_int_equal(aledger_add_energy(g.l, 99, -1, 10, 0, -1, -1), PW_OK);   /* PV unknown */
	assert_int_equal(aledger_add_energy(g.l, 300, 1, 1, 1, -1, -1), PW_OK);    /* tomorrow */
	assert_int_equal(aledger_add_energy(g.l, (uint64_t)INT64_MAX + 1, 1, 1, 1, -1, -1),
	                 PW_ERR_RANGE);

	json_t *doc = aledger_json_today(g.l, 96, 192, 900);
	assert_non_null(doc);
	assert_int_equal(ival(doc, "start"), 96 * 900);
	assert_int_equal(ival(doc, "sold_wh"), 150);
	assert_int_equal(ival(doc, "bought_wh"), 201);
	assert_int_equal(ival(doc, "earned_u"), 300);
	assert_int_equal(ival(doc, "paid_u"), 200);
	assert_int_equal(ival(doc, "net_u"), 100);
	assert_int_equal(ival(doc, "saving_u"), 50);
	assert_int_equal(ival(doc, "settled"), 2);
	assert_int_equal(ival(doc, "unsettled_bought_wh"), 100);
	assert_int_equal(ival(doc, "unsettled_sold_wh"), 0);
	json_t *all = json_object_get(doc, "all_time");
	assert_int_equal(ival(all, "earned_u"), 800);
	assert_int_equal(ival(all, "net_u"), 600);
	assert_int_equal(ival(all, "settled"), 3);
	json_t *rows = json_object_get(doc, "intervals");
	assert_int_equal(json_array_size(rows), 4); /* 96, 97, 98, 99 */
	json_t *r = json_array_get(rows, 0);
	assert_int_equal(ival(r, "interval"), 96);
	assert_int_equal(ival(r, "pv_wh"), 50);
	assert_int_equal(ival(r, "house_wh"), 450);
	assert_int_equal(ival(r, "bought_wh"), 201);
	r = json_array_get(rows, 1);
	assert_int_equal(ival(r, "pv_wh"), 800);
	assert_int_equal(ival(r, "house_wh"), 200);
	assert_int_equal(ival(r, "export_wh"), 600);
	r = json_array_get(rows, 2); /* a trade, no reading yet */
	assert_int_equal(ival(r, "bought_wh"), 100);
	assert_true(json_is_null(json_object_get(r, "pv_wh")));
	assert_true(json_is_null(json_object_get(r, "import_wh")));
	r = json_array_get(rows, 3);
	assert_true(json_is_null(json_object_get(r, "pv_wh")));
	assert_true(json_is_null(json_object_get(r, "house_wh")));
	assert_int_equal(ival(r, "import_wh"), 10);
	json_decref(doc);

	/* an empty day */
	doc = aledger_json_today(g.l, 1000, 1096, 900);
	assert_int_equal(ival(doc, "settled"), 0);
	assert_int_equal(ival(doc, "net_u"), 0);
	assert_int_equal(json_array_size(json_object_get(doc, "intervals")), 0);
	json_decref(doc);

	aledger_close(&g.l);
	outbox_close(&g.ob);
}

/* The battery's energy per interval: stored with the energy row (NULL
 * without a battery), summed over a range; an older database gains the
 * columns and keeps its rows. */
static void
test_battery_energy(void **state)
{
	(void)state;
	sqlite3 *db;
	struct aledger *l;
	uint64_t c = 9, d = 9;
	assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db,
	                              "CREATE TABLE energy(interval INTEGER PRIMARY KEY,"
	                              " pv_wh INTEGER, import_wh INTEGER NOT NULL,"
	                              " export_wh INTEGER NOT NULL);"
	                              "INSERT INTO energy VALUES (10, 5, 6, 7)",
	                              NULL, NULL, NULL),
	                 SQLITE_OK);
	assert_int_equal(aledger_open(&l, db), PW_OK);
	/* the old row has no battery values */
	assert_int_equal(aledger_battery_energy(l, 0, 100, &c, &d), 0);
	assert_int_equal(c, 0);
	assert_int_equal(d, 0);
	assert_int_equal(aledger_add_energy(l, 11, 100, 0, 50, 300, 0), PW_OK);
	assert_int_equal(aledger_add_energy(l, 12, 0, 200, 0, 0, 450), PW_OK);
	assert_int_equal(aledger_add_energy(l, 13, 0, 10, 0, -1, -1), PW_OK); /* no battery */
	assert_int_equal(aledger_add_energy(l, 14, 0, 10, 0, 20, 30), PW_OK);
	assert_int_equal(aledger_add_energy(l, 14, 0, 10, 0, 25, 35), PW_OK); /* replaces */
	/* one without the other is refused, and changes nothing */
	assert_int_equal(aledger_add_energy(l, 14, 0, 10, 0, 5, -1), PW_ERR_RANGE);
	assert_int_equal(aledger_add_energy(l, 15, 0, 10, 0, -1, 5), PW_ERR_RANGE);
	assert_int_equal(aledger_battery_energy(l, 0, 100, &c, &d), 3);
	assert_int_equal(c, 325);
	assert_int_equal(d, 485);
	/* [from, to) */
	assert_int_equal(aledger_battery_energy(l, 12, 14, &c, &d), 1);
	assert_int_equal(c, 0);
	assert_int_equal(d, 450);
	assert_int_equal(aledger_battery_energy(l, 13, 14, &c, &d), 0);
	assert_int_equal(c + d, 0);
	assert_int_equal(aledger_battery_energy(l, 200, 100, &c, &d), 0);
	/* the chart's house energy counts the battery: PV + import - export
	 * + discharged - charged (interval 11: 100 + 0 - 50 - 300 < 0 -> 0;
	 * 12: 0 + 200 - 0 + 450 = 650; 13: no battery, 10) */
	json_t *doc = aledger_json_today(l, 10, 15, 900), *rows;
	assert_non_null(doc);
	rows = json_object_get(doc, "intervals");
	assert_int_equal(json_array_size(rows), 5);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(rows, 0), "house_wh")),
	                 4); /* the old row: 5 + 6 - 7 */
	assert_int_equal(json_integer_value(json_object_get(json_array_get(rows, 1), "house_wh")),
	                 0);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(rows, 2), "house_wh")),
	                 650);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(rows, 3), "house_wh")),
	                 10);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(rows, 4), "house_wh")),
	                 20); /* 0 + 10 - 0 + 35 - 25 */
	json_decref(doc);
	aledger_close(&l);
	/* a second open leaves the columns and rows be */
	assert_int_equal(aledger_open(&l, db), PW_OK);
	assert_int_equal(aledger_battery_energy(l, 0, UINT64_MAX, &c, &d), 3);
	assert_int_equal(c, 325);
	/* a row tampered with beyond any sum is refused, not wrapped */
	assert_int_equal(sqlite3_exec(db,
	                              "UPDATE energy SET bat_charge_wh = 9223372036854775807"
	                              " WHERE interval IN (11, 12)",
	                              NULL, NULL, NULL),
	                 SQLITE_OK);
	assert_int_equal(aledger_battery_energy(l, 0, 100, &c, &d), -1);
	assert_int_equal(c, 0);
	aledger_close(&l);
	sqlite3_close(db);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_results_and_prices),
		cmocka_unit_test(test_statements),
		cmocka_unit_test(test_statement_proof_columns_added),
		cmocka_unit_test(test_checkpoints),
		cmocka_unit_test(test_tags_and_settings),
		cmocka_unit_test(test_order_fill_and_fees),
		cmocka_unit_test(test_pages),
		cmocka_unit_test(test_today),
		cmocka_unit_test(test_battery_energy),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
