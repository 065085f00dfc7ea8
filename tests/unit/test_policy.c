/* test_policy.c: offer sizing, pricing, adjustment and bid windows, table-driven. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "agent/policy.h"

static struct policy_params
params(void)
{
	struct policy_params p;
	memset(&p, 0, sizeof(p));
	p.strategy = POLICY_PRICE_MIN;
	p.min_price_uper_kwh = 120000;
	p.fixed_price_uper_kwh = 180000;
	p.feedin_uper_kwh = 80000;
	p.retail_uper_kwh = 300000;
	p.safety_pct = 80;
	p.reserve_wh = 50;
	p.capacity_wh = 1000;
	p.adjust_pct = 10;
	p.adjust_min_wh = 20;
	return p;
}

static void
test_offer_qty(void **state)
{
	static const struct {
		uint64_t forecast, want;
	} cases[] = {
		{ 0, 0 },       /* nothing to sell */
		{ 60, 0 },      /* 48 below the 50 reserve */
		{ 100, 30 },    /* 80 - 50 */
		{ 500, 350 },   /* 400 - 50 */
		{ 1312, 999 },  /* 1049 - 50 */
		{ 5000, 1000 }, /* capacity */
		{ UINT64_MAX, 1000 },
	};
	struct policy_params p = params();
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_int_equal(policy_offer_qty(&p, cases[i].forecast), cases[i].want);
	p.safety_pct = 100;
	p.reserve_wh = 0;
	p.capacity_wh = UINT64_MAX;
	assert_int_equal(policy_offer_qty(&p, 10000000000ull), UINT32_MAX);
}

static void
test_offer_price(void **state)
{
	struct policy_params p = params();
	(void)state;
	assert_int_equal(policy_offer_price(&p, 1, 250000), 120000);
	p.strategy = POLICY_PRICE_FIXED;
	assert_int_equal(policy_offer_price(&p, 1, 250000), 180000);
	p.strategy = POLICY_PRICE_FOLLOW;
	assert_int_equal(policy_offer_price(&p, 0, 0), 120000);      /* no clearing yet */
	assert_int_equal(policy_offer_price(&p, 1, 100000), 120000); /* never below min */
	assert_int_equal(policy_offer_price(&p, 1, 200000), 200000);
	p.strategy = POLICY_PRICE_MIN;
	p.min_price_uper_kwh = 10000;
	assert_int_equal(policy_offer_price(&p, 0, 0), 80000); /* clamped to feed-in */
	p.strategy = POLICY_PRICE_FIXED;
	p.fixed_price_uper_kwh = 400000;
	assert_int_equal(policy_offer_price(&p, 0, 0), 300000); /* clamped to retail */
	p.retail_uper_kwh = 0;
	assert_int_equal(policy_offer_price(&p, 0, 0), 400000); /* bounds unknown */
}

/* A negative feed-in tariff: asks may go below zero, down to it. */
static void
test_offer_price_negative(void **state)
{
	struct policy_params p = params();
	(void)state;
	p.feedin_uper_kwh = -50000;
	p.min_price_uper_kwh = -20000;
	assert_int_equal(policy_offer_price(&p, 0, 0), -20000);
	p.min_price_uper_kwh = -90000;
	assert_int_equal(policy_offer_price(&p, 0, 0), -50000); /* clamped to feed-in */
	p.strategy = POLICY_PRICE_FOLLOW;
	p.min_price_uper_kwh = -30000;
	/* a last clearing price of 0 is a price, not "none" */
	assert_int_equal(policy_offer_price(&p, 1, 0), 0);
	assert_int_equal(policy_offer_price(&p, 0, 0), -30000);
	assert_int_equal(policy_offer_price(&p, 1, -10000), -10000);
	assert_int_equal(policy_offer_price(&p, 1, -40000), -30000); /* never below min */
	p.strategy = POLICY_PRICE_FIXED;
	p.fixed_price_uper_kwh = -45000;
	assert_int_equal(policy_offer_price(&p, 0, 0), -45000);
}

static void
test_decide(void **state)
{
	static const struct {
		uint32_t oq;
		int32_t op;
		uint32_t wq;
		int32_t wp;
		enum policy_action want;
	} cases[] = {
		{ 0, 0, 0, 0, POLICY_KEEP },
		{ 0, 0, 100, 120000, POLICY_PLACE },
		{ 100, 120000, 0, 0, POLICY_CANCEL },
		{ 100, 120000, 100, 120000, POLICY_KEEP },
		{ 100, 120000, 100, 130000, POLICY_REPLACE }, /* price moved */
		{ 100, 120000, 115, 120000, POLICY_KEEP },    /* 15 <= 20 Wh floor */
		{ 100, 120000, 121, 120000, POLICY_REPLACE }, /* 21 > 20 */
		{ 1000, 120000, 1090, 120000, POLICY_KEEP },  /* 90 <= 10 % */
		{ 1000, 120000, 1101, 120000, POLICY_REPLACE },
		{ 1000, 120000, 899, 120000, POLICY_REPLACE }, /* forecast fell */
	};
	struct policy_params p = params();
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct policy_offer o = { cases[i].oq, cases[i].op };
		struct policy_offer w = { cases[i].wq, cases[i].wp };
		assert_int_equal(policy_decide(&p, &o, &w), cases[i].want);
	}
}

static void
test_sell_block(void **state)
{
	static const struct {
		struct policy_supply s;
		enum policy_block want;
		const char *name;
	} cases[] = {
		/* device_ok, has_pv, pv_w, have_last, last_export_wh, meter_suspect */
		{ { 1, 1, 2500, 1, 400, 0 }, POLICY_SELL_OK, "ok" },
		{ { 0, 1, 2500, 1, 400, 0 }, POLICY_SELL_DEVICE_DOWN, "device_unreachable" },
		{ { 0, 0, 0, 0, 0, 0 }, POLICY_SELL_DEVICE_DOWN, "device_unreachable" },
		/* night: no PV and the last interval exported nothing */
		{ { 1, 1, 0, 1, 0, 0 }, POLICY_SELL_NO_SUPPLY, "no_production" },
		{ { 1, 1, 0, 0, 0, 0 }, POLICY_SELL_NO_SUPPLY, "no_production" },
		{ { 1, 1, -3, 1, 0, 0 }, POLICY_SELL_NO_SUPPLY, "no_production" },
		/* dusk: PV at 0 but the last interval still exported (a battery
		 * discharging shows the same): the forecast decides */
		{ { 1, 1, 0, 1, 120, 0 }, POLICY_SELL_OK, "ok" },
		/* dawn: PV producing, nothing exported yet: the forecast decides */
		{ { 1, 1, 40, 1, 0, 0 }, POLICY_SELL_OK, "ok" },
		/* no inverter model: PV unknown, the forecast decides */
		{ { 1, 0, 0, 1, 0, 0 }, POLICY_SELL_OK, "ok" },
		/* the meter's samples are refused as implausible (issue 16) */
		{ { 1, 1, 2500, 1, 400, 1 }, POLICY_SELL_METER_FAULT, "meter_implausible" },
		{ { 0, 1, 2500, 1, 400, 1 }, POLICY_SELL_DEVICE_DOWN, "device_unreachable" },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum policy_block b = policy_sell_block(&cases[i].s);
		assert_int_equal(b, cases[i].want);
		assert_string_equal(policy_block_name(b), cases[i].name);
	}
	assert_string_equal(policy_block_name((enum policy_block)99), "unknown");
}

static void
test_bid_window(void **state)
{
	struct policy_bid day = { 500, 200000, 7 * 3600, 9 * 3600 };
	struct policy_bid night = { 500, 200000, 22 * 3600, 6 * 3600 };
	struct policy_bid all = { 500, 200000, 0, 0 };
	(void)state;
	assert_false(policy_bid_active(&day, 7 * 3600 - 1));
	assert_true(policy_bid_active(&day, 7 * 3600));
	assert_true(policy_bid_active(&day, 9 * 3600 - 1));
	assert_false(policy_bid_active(&day, 9 * 3600));
	assert_true(policy_bid_active(&night, 23 * 3600));
	assert_true(policy_bid_active(&night, 3600));
	assert_false(policy_bid_active(&night, 12 * 3600));
	assert_true(policy_bid_active(&all, 12345));
}

static void
test_parse(void **state)
{
	static const struct {
		const char *s;
		pw_err rc;
		uint32_t v;
	} tods[] = {
		{ "00:00", PW_OK, 0 },         { "07:30", PW_OK, 27000 },
		{ "24:00", PW_OK, 86400 },     { "24:01", PW_ERR_PARSE, 0 },
		{ "7:30", PW_ERR_PARSE, 0 },   { "07:60", PW_ERR_PARSE, 0 },
		{ "07-30", PW_ERR_PARSE, 0 },  { "", PW_ERR_PARSE, 0 },
		{ "07:30 ", PW_ERR_PARSE, 0 }, { "0a:00", PW_ERR_PARSE, 0 },
	};
	enum policy_strategy s;
	(void)state;
	for (size_t i = 0; i < sizeof(tods) / sizeof(tods[0]); i++) {
		uint32_t v = 0;
		assert_int_equal(policy_parse_tod(tods[i].s, &v), tods[i].rc);
		if (tods[i].rc == PW_OK)
			assert_int_equal(v, tods[i].v);
	}
	assert_int_equal(policy_strategy_parse("follow", &s), PW_OK);
	assert_int_equal(s, POLICY_PRICE_FOLLOW);
	assert_string_equal(policy_strategy_name(s), "follow");
	assert_int_equal(policy_strategy_parse("cheap", &s), PW_ERR_PARSE);
	assert_int_equal(policy_strategy_parse("", &s), PW_ERR_PARSE);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_offer_qty),
		cmocka_unit_test(test_offer_price),
		cmocka_unit_test(test_offer_price_negative),
		cmocka_unit_test(test_decide),
		cmocka_unit_test(test_sell_block),
		cmocka_unit_test(test_bid_window),
		cmocka_unit_test(test_parse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
