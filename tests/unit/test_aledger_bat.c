/*
 * test_aledger_bat.c: energy sold from the battery in the agent's ledger
 * (issue 20 point 4): the household's sales by its own orders tagged
 * ALEDGER_TAG_BATTERY (the tag joined to the trade by the sell sequence),
 * per interval (aledger_battery_sold_wh, the Today document's rows and the
 * statements' rows), summed over the day and all time from the intervals
 * with a statement, and the battery's day (charged, discharged, sold) for
 * /api/state; intervals without battery sales give 0, purchases and other
 * households' sales never count.
 */
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
	for (int i = 0; i < 3; i++) {
		struct pw_keypair *k = i == 0 ? &f.x : i == 1 ? &f.me : &f.other;
		memset(seed, i + 1, sizeof(seed));
		if (pw_key_from_seed(k, seed) != PW_OK)
			return -1;
	}
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

/* One trade of a RESULT. */
struct tr {
	int kind; /* 0 the household sells, 1 it buys, 2 not the household's */
	uint64_t seq;
	uint32_t qty_wh;
};

static void
result(struct fx *f, uint64_t iv, const struct tr *tr, size_t n)
{
	struct pw_trade t[8];
	struct pw_msg m;
	static uint8_t buf[4096];
	size_t len;
	unsigned mine, want = 0;

	memset(t, 0, sizeof(t));
	for (size_t i = 0; i < n; i++) {
		const uint8_t *buyer = tr[i].kind == 1 ? f->me.pk : f->other.pk;
		const uint8_t *seller = tr[i].kind == 0 ? f->me.pk : f->other.pk;
		memcpy(t[i].buyer, buyer, PW_PK_LEN);
		memcpy(t[i].seller, seller, PW_PK_LEN);
		/* the counterparty's sequence numbers are its own (and those
		 * of two others trading are ours on purpose: only the
		 * household's own side may be joined to its tags) */
		t[i].buy_seq = tr[i].kind == 0 ? 500 + i : tr[i].seq;
		t[i].sell_seq = tr[i].kind == 1 ? 500 + i : tr[i].seq;
		t[i].qty_wh = tr[i].qty_wh;
		want += tr[i].kind != 2;
	}
	memset(&m, 0, sizeof(m));
	m.type = PW_MSG_RESULT;
	m.u.result.interval = iv;
	m.u.result.price_uper_kwh = 200000;
	m.u.result.volume_wh = 1000;
	m.u.result.n_trades_total = (uint16_t)n;
	m.u.result.parts = 1;
	m.u.result.n_trades = (uint16_t)n;
	m.u.result.trades = t;
	assert_int_equal(pw_wire_encode(&m, 1, &f->x, buf, sizeof(buf), &len), PW_OK);
	assert_int_equal(pw_wire_open(buf, len, 1, &m), PW_OK);
	assert_int_equal(aledger_add_result(f->l, &m.u.result, f->me.pk, &mine), PW_OK);
	assert_int_equal(mine, want);
}

static void
statement(struct fx *f, uint64_t iv, uint64_t bought, uint64_t sold, uint64_t export_wh)
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
	m.u.statement.export_wh = export_wh;
	m.u.statement.net_u = (int64_t)sold * 200 - (int64_t)bought * 200;
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

/* The row of interval iv in array `key` of doc. */
static json_t *
row(json_t *doc, const char *key, int64_t iv)
{
	json_t *arr = json_object_get(doc, key), *r;
	size_t i;
	json_array_foreach(arr, i, r)
	{
		if (ival(r, "interval") == iv)
			return r;
	}
	fail_msg("no row of interval %lld in %s", (long long)iv, key);
	return NULL;
}

static void
test_battery_sold(void **state)
{
	struct fx *f = *state;
	json_t *doc, *all;

	/* orders: 11 a PV offer (auto), 12 and 13 offers of stored energy,
	 * 14 a standing bid, 15 a manual order */
	assert_int_equal(aledger_tag_order(f->l, 11, 1), PW_OK);
	assert_int_equal(aledger_tag_order(f->l, 12, ALEDGER_TAG_BATTERY), PW_OK);
	assert_int_equal(aledger_tag_order(f->l, 13, ALEDGER_TAG_BATTERY), PW_OK);
	assert_int_equal(aledger_tag_order(f->l, 14, 2), PW_OK);

	/* yesterday 95: 300 Wh from the battery, settled */
	result(f, 95, (const struct tr[]){ { 0, 12, 300 } }, 1);
	statement(f, 95, 0, 300, 300);
	/* today (96..191): 96 the PV offer 200 and the battery's 150 + 100
	 * (two buyers), settled; 97 a purchase by the bid only (its buy_seq
	 * 12 is not a sale); 98 the PV offer only; 99 the battery 250, no
	 * statement yet; 100 other households trade with sequence 13 */
	result(
	    f, 96,
	    (const struct tr[]){ { 0, 11, 200 }, { 0, 13, 150 }, { 0, 13, 100 }, { 2, 12, 999 } },
	    4);
	statement(f, 96, 0, 450, 460);
	result(f, 97, (const struct tr[]){ { 1, 12, 80 }, { 1, 14, 70 } }, 2);
	statement(f, 97, 150, 0, 0);
	result(f, 98, (const struct tr[]){ { 0, 11, 400 } }, 1);
	statement(f, 98, 0, 400, 420);
	assert_int_equal(aledger_tag_order(f->l, 16, ALEDGER_TAG_BATTERY), PW_OK);
	result(f, 99, (const struct tr[]){ { 0, 16, 250 } }, 1);
	result(f, 100, (const struct tr[]){ { 2, 13, 500 } }, 1);

	/* per interval */
	assert_int_equal(aledger_battery_sold_wh(f->l, 95), 300);
	assert_int_equal(aledger_battery_sold_wh(f->l, 96), 250);
	assert_int_equal(aledger_sold_wh(f->l, 96), 450);
	assert_int_equal(aledger_battery_sold_wh(f->l, 97), 0);
	assert_int_equal(aledger_battery_sold_wh(f->l, 98), 0);
	assert_int_equal(aledger_battery_sold_wh(f->l, 99), 250);
	assert_int_equal(aledger_battery_sold_wh(f->l, 100), 0);
	assert_int_equal(aledger_battery_sold_wh(f->l, 5000), 0);
	assert_int_equal(aledger_battery_sold_wh(f->l, UINT64_MAX), 0);

	/* Today: the rows from the trades, the sums from the settled intervals */
	doc = aledger_json_today(f->l, 96, 192, 900);
	assert_non_null(doc);
	assert_int_equal(ival(row(doc, "intervals", 96), "battery_sold_wh"), 250);
	assert_int_equal(ival(row(doc, "intervals", 96), "sold_wh"), 450);
	assert_int_equal(ival(row(doc, "intervals", 97), "battery_sold_wh"), 0);
	assert_int_equal(ival(row(doc, "intervals", 98), "battery_sold_wh"), 0);
	assert_int_equal(ival(row(doc, "intervals", 99), "battery_sold_wh"), 250);
	assert_int_equal(ival(doc, "sold_wh"), 850);
	assert_int_equal(ival(doc, "battery_sold_wh"), 250); /* 99 is not settled */
	assert_int_equal(ival(doc, "unsettled_sold_wh"), 250);
	all = json_object_get(doc, "all_time");
	assert_int_equal(ival(all, "battery_sold_wh"), 550);
	assert_int_equal(ival(all, "sold_wh"), 1150);
	json_decref(doc);

	/* a day without any: 0, not absent */
	doc = aledger_json_today(f->l, 1000, 1096, 900);
	assert_int_equal(ival(doc, "battery_sold_wh"), 0);
	assert_int_equal(ival(json_object_get(doc, "all_time"), "battery_sold_wh"), 550);
	json_decref(doc);

	/* the statements' rows */
	doc = aledger_json_statements(f->l);
	assert_non_null(doc);
	assert_int_equal(json_array_size(json_object_get(doc, "statements")), 4);
	assert_int_equal(ival(row(doc, "statements", 95), "battery_sold_wh"), 300);
	assert_int_equal(ival(row(doc, "statements", 96), "battery_sold_wh"), 250);
	assert_int_equal(ival(row(doc, "statements", 96), "delivered_wh"), 460);
	assert_int_equal(ival(row(doc, "statements", 97), "battery_sold_wh"), 0);
	assert_int_equal(ival(row(doc, "statements", 98), "battery_sold_wh"), 0);
	json_decref(doc);

	/* the same RESULT again (PUB and QUERY) counts once */
	result(
	    f, 96,
	    (const struct tr[]){ { 0, 11, 200 }, { 0, 13, 150 }, { 0, 13, 100 }, { 2, 12, 999 } },
	    4);
	assert_int_equal(aledger_battery_sold_wh(f->l, 96), 250);
}

/* /api/state "battery" "today": the energy rows' battery columns summed
 * and the battery's sales of the day, settled or not. */
static void
test_battery_day(void **state)
{
	struct fx *f = *state;
	json_t *d;

	/* test_battery_sold's trades: 95 (300), 96 (250), 99 (250 unsettled) */
	assert_int_equal(aledger_add_energy(f->l, 95, 0, 0, 300, 0, 320), PW_OK);
	assert_int_equal(aledger_add_energy(f->l, 96, 0, 0, 460, 0, 480), PW_OK);
	assert_int_equal(aledger_add_energy(f->l, 97, 900, 0, 0, 700, 0), PW_OK);
	assert_int_equal(aledger_add_energy(f->l, 98, 50, 100, 0, -1, -1),
	                 PW_OK); /* no battery read */
	d = aledger_json_battery_day(f->l, 96, 192);
	assert_non_null(d);
	assert_int_equal(ival(d, "charged_wh"), 700);
	assert_int_equal(ival(d, "discharged_wh"), 480);
	assert_int_equal(ival(d, "sold_wh"), 500); /* 96 and 99 (not settled yet) */
	json_decref(d);
	d = aledger_json_battery_day(f->l, 95, 96);
	assert_int_equal(ival(d, "discharged_wh"), 320);
	assert_int_equal(ival(d, "sold_wh"), 300);
	json_decref(d);
	/* a day without anything: all 0 */
	d = aledger_json_battery_day(f->l, 1000, 1096);
	assert_int_equal(ival(d, "charged_wh"), 0);
	assert_int_equal(ival(d, "discharged_wh"), 0);
	assert_int_equal(ival(d, "sold_wh"), 0);
	json_decref(d);
}

/* Without any battery sale every figure is 0, on an empty ledger too. */
static void
test_no_battery(void **state)
{
	struct fx g;
	json_t *doc;

	(void)state;
	memset(&g, 0, sizeof(g));
	g.x = ((struct fx *)*state)->x, g.me = ((struct fx *)*state)->me;
	g.other = ((struct fx *)*state)->other;
	assert_int_equal(outbox_open(&g.ob, ":memory:", 1), PW_OK);
	assert_int_equal(aledger_open(&g.l, outbox_db(g.ob)), PW_OK);

	doc = aledger_json_today(g.l, 0, 96, 900);
	assert_int_equal(ival(doc, "battery_sold_wh"), 0);
	assert_int_equal(ival(json_object_get(doc, "all_time"), "battery_sold_wh"), 0);
	json_decref(doc);

	assert_int_equal(aledger_tag_order(g.l, 11, 1), PW_OK);
	result(&g, 10, (const struct tr[]){ { 0, 11, 200 } }, 1);
	statement(&g, 10, 0, 200, 200);
	/* an untagged sale (tag 0: manual) is not from the battery either */
	result(&g, 11, (const struct tr[]){ { 0, 40, 90 } }, 1);
	statement(&g, 11, 0, 90, 90);
	assert_int_equal(aledger_battery_sold_wh(g.l, 10), 0);
	assert_int_equal(aledger_battery_sold_wh(g.l, 11), 0);
	doc = aledger_json_today(g.l, 0, 96, 900);
	assert_int_equal(ival(doc, "sold_wh"), 290);
	assert_int_equal(ival(doc, "battery_sold_wh"), 0);
	assert_int_equal(ival(row(doc, "intervals", 10), "battery_sold_wh"), 0);
	json_decref(doc);
	doc = aledger_json_statements(g.l);
	assert_int_equal(ival(row(doc, "statements", 10), "battery_sold_wh"), 0);
	json_decref(doc);

	aledger_close(&g.l);
	outbox_close(&g.ob);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_battery_sold),
		cmocka_unit_test(test_battery_day),
		cmocka_unit_test(test_no_battery),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
