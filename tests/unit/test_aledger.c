/* test_aledger.c: what the agent keeps from the exchange: prices and own
 * trades from RESULT, statements (a second different one is a fork),
 * checkpoints (same size, other root is a fork), missing statements,
 * statement proofs (frame, unproven ones, verdict, the columns added to an
 * older database), tags, settings and the dashboard documents. */
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

	assert_int_equal(aledger_last_price(f->l), 0);
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
	assert_int_equal(aledger_last_price(f->l), 150000);
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
	/* the only checkpoint has no predecessor: nothing to check */
	assert_int_equal(aledger_unchecked_checkpoint(f->l, &cp), PW_ERR_NOTFOUND);
	len = checkpoint(f, 20, 0x22, buf, sizeof(buf), &m);
	assert_int_equal(aledger_add_checkpoint(f->l, buf, len, &m.u.checkpoint), PW_OK);
	len = checkpoint(f, 20, 0x23, buf, sizeof(buf), &m);
	assert_int_equal(aledger_add_checkpoint(f->l, buf, len, &m.u.checkpoint), PW_ERR_CORRUPT);
	assert_int_equal(aledger_latest_checkpoint(f->l, &cp), PW_OK);
	assert_int_equal(cp.tree_size, 20);
	assert_int_equal(aledger_root(f->l, 20, root), PW_OK);
	assert_int_equal(root[0], 0x22);
	assert_int_equal(aledger_root(f->l, 15, root), PW_ERR_NOTFOUND);
	assert_int_equal(aledger_unchecked_checkpoint(f->l, &cp), PW_OK);
	assert_int_equal(cp.tree_size, 20);
	assert_int_equal(aledger_prev_checkpoint(f->l, 20, &cp), PW_OK);
	assert_int_equal(cp.tree_size, 10);
	assert_int_equal(aledger_set_consistent(f->l, 20, 1), PW_OK);
	assert_int_equal(aledger_unchecked_checkpoint(f->l, &cp), PW_ERR_NOTFOUND);
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
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
