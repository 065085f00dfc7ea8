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

/* The ask of policy p in bounds b: the price, or NONE when no offer. */
#define NONE INT32_MIN
static int32_t
ask(const struct policy_params *p, const struct policy_bounds *b, int have_last, int32_t last)
{
	int32_t price = 12345;
	return policy_offer_price(p, b, have_last, last, &price) ? price : NONE;
}

static int32_t
bid(enum policy_base base, int32_t v, const struct policy_bounds *b)
{
	int32_t price = 12345;
	return policy_bid_price(base, v, b, &price) ? price : NONE;
}

static const struct policy_bounds fixed_bounds = { 1, 80000, 300000 };

static void
test_offer_price(void **state)
{
	struct policy_params p = params();
	const struct policy_bounds *b = &fixed_bounds;
	struct policy_bounds unknown = { 0, 0, 0 };
	(void)state;
	assert_int_equal(ask(&p, b, 1, 250000), 120000);
	p.strategy = POLICY_PRICE_FIXED;
	assert_int_equal(ask(&p, b, 1, 250000), 180000);
	p.strategy = POLICY_PRICE_FOLLOW;
	assert_int_equal(ask(&p, b, 0, 0), 120000);      /* no clearing yet */
	assert_int_equal(ask(&p, b, 1, 100000), 120000); /* never below min */
	assert_int_equal(ask(&p, b, 1, 200000), 200000);
	assert_int_equal(ask(&p, b, 1, 350000), 300000); /* another interval's, above retail */
	p.strategy = POLICY_PRICE_MIN;
	p.min_price_uper_kwh = 10000;
	assert_int_equal(ask(&p, b, 0, 0), 80000); /* raised to feed-in */
	p.strategy = POLICY_PRICE_FIXED;
	p.fixed_price_uper_kwh = 400000;
	/* above retail: no offer, never one below the household's price */
	assert_int_equal(ask(&p, b, 0, 0), NONE);
	assert_int_equal(ask(&p, &unknown, 0, 0), 400000); /* bounds unknown */
	p.fixed_price_uper_kwh = 300000;
	assert_int_equal(ask(&p, b, 0, 0), 300000); /* exactly retail */
}

/* A negative feed-in tariff: asks may go below zero, down to it. */
static void
test_offer_price_negative(void **state)
{
	struct policy_params p = params();
	struct policy_bounds b = { 1, -50000, 300000 };
	(void)state;
	p.min_price_uper_kwh = -20000;
	assert_int_equal(ask(&p, &b, 0, 0), -20000);
	p.min_price_uper_kwh = -90000;
	assert_int_equal(ask(&p, &b, 0, 0), -50000); /* raised to feed-in */
	p.strategy = POLICY_PRICE_FOLLOW;
	p.min_price_uper_kwh = -30000;
	/* a last clearing price of 0 is a price, not "none" */
	assert_int_equal(ask(&p, &b, 1, 0), 0);
	assert_int_equal(ask(&p, &b, 0, 0), -30000);
	assert_int_equal(ask(&p, &b, 1, -10000), -10000);
	assert_int_equal(ask(&p, &b, 1, -40000), -30000); /* never below min */
	p.strategy = POLICY_PRICE_FIXED;
	p.fixed_price_uper_kwh = -45000;
	assert_int_equal(ask(&p, &b, 0, 0), -45000);
	/* both bounds negative: an absolute 0 is above retail, no offer */
	struct policy_bounds neg = { 1, -80000, -10000 };
	p.fixed_price_uper_kwh = 0;
	assert_int_equal(ask(&p, &neg, 0, 0), NONE);
}

/* Prices relative to the interval's bounds (docs/agent-energy.md "Prices
 * relative to the interval's bounds"), table-driven: strategy, base and
 * offset of the household's price, the interval's feed-in and retail, and
 * the ask (NONE: no offer). */
static void
test_offer_price_relative(void **state)
{
	static const struct {
		enum policy_strategy st;
		enum policy_base base;
		int32_t v, feedin, retail, last;
		int have_last;
		int32_t want;
	} cases[] = {
		/* "sell at no less than feed-in plus 0.03" */
		{ POLICY_PRICE_MIN, POLICY_BASE_FEEDIN, 30000, 80000, 300000, 0, 0, 110000 },
		{ POLICY_PRICE_MIN, POLICY_BASE_FEEDIN, 30000, -50000, 250000, 0, 0, -20000 },
		{ POLICY_PRICE_MIN, POLICY_BASE_FEEDIN, 30000, -50000, -30000, 0, 0, NONE },
		{ POLICY_PRICE_MIN, POLICY_BASE_FEEDIN, 30000, -50000, -20000, 0, 0, -20000 },
		{ POLICY_PRICE_MIN, POLICY_BASE_FEEDIN, 0, -50000, -20000, 0, 0, -50000 },
		/* follow: the last clearing when above feed-in + X */
		{ POLICY_PRICE_FOLLOW, POLICY_BASE_FEEDIN, 30000, 80000, 300000, 200000, 1,
		  200000 },
		{ POLICY_PRICE_FOLLOW, POLICY_BASE_FEEDIN, 30000, 80000, 300000, 90000, 1, 110000 },
		{ POLICY_PRICE_FOLLOW, POLICY_BASE_FEEDIN, 30000, 80000, 150000, 200000, 1,
		  150000 },
		/* "sell at retail minus 0.05", fixed */
		{ POLICY_PRICE_FIXED, POLICY_BASE_RETAIL, -50000, 80000, 300000, 0, 0, 250000 },
		{ POLICY_PRICE_FIXED, POLICY_BASE_RETAIL, -50000, 80000, 100000, 0, 0, 80000 },
		{ POLICY_PRICE_FIXED, POLICY_BASE_RETAIL, -50000, -90000, -10000, 0, 0, -60000 },
		{ POLICY_PRICE_FIXED, POLICY_BASE_RETAIL, 0, -90000, -10000, 0, 0, -10000 },
		/* the sum leaves the wire's i32: no offer, no wrap-around */
		{ POLICY_PRICE_MIN, POLICY_BASE_FEEDIN, INT32_MAX, 1, INT32_MAX, 0, 0, NONE },
		{ POLICY_PRICE_MIN, POLICY_BASE_RETAIL, INT32_MIN, INT32_MIN, -1, 0, 0, NONE },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct policy_params p = params();
		struct policy_bounds b = { 1, cases[i].feedin, cases[i].retail };
		p.strategy = cases[i].st;
		p.min_base = p.fixed_base = cases[i].base;
		p.min_price_uper_kwh = p.fixed_price_uper_kwh = cases[i].v;
		assert_int_equal(ask(&p, &b, cases[i].have_last, cases[i].last), cases[i].want);
		/* never an ask outside the interval's bounds */
		if (cases[i].want != NONE) {
			assert_true(cases[i].want >= b.feedin_uper_kwh);
			assert_true(cases[i].want <= b.retail_uper_kwh);
		}
		/* relative with bounds unknown: no offer */
		b.known = 0;
		assert_int_equal(ask(&p, &b, cases[i].have_last, cases[i].last), NONE);
	}
}

/* A bid's limit in the interval's bounds: "buy when below retail minus
 * 0.05" and absolute limits, negative bounds included. */
static void
test_bid_price(void **state)
{
	static const struct {
		enum policy_base base;
		int32_t v, feedin, retail, want;
	} cases[] = {
		{ POLICY_BASE_ABS, 250000, 80000, 300000, 250000 },
		{ POLICY_BASE_ABS, 350000, 80000, 300000, 300000 }, /* lowered to retail */
		{ POLICY_BASE_ABS, 50000, 80000, 300000, NONE },    /* below feed-in */
		{ POLICY_BASE_ABS, -10000, -50000, 100000, -10000 },
		{ POLICY_BASE_RETAIL, -50000, 80000, 300000, 250000 },
		{ POLICY_BASE_RETAIL, -50000, 80000, 120000, NONE }, /* 0.07 < feed-in */
		{ POLICY_BASE_RETAIL, -50000, 70000, 120000, 70000 },
		{ POLICY_BASE_RETAIL, -50000, -90000, -10000, -60000 },
		{ POLICY_BASE_RETAIL, 0, -90000, -10000, -10000 },
		{ POLICY_BASE_FEEDIN, 20000, -90000, -10000, -70000 },
		{ POLICY_BASE_FEEDIN, 200000, -90000, -10000, -10000 }, /* lowered to retail */
		{ POLICY_BASE_RETAIL, INT32_MIN, INT32_MIN, -1, NONE }, /* beyond i32 */
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct policy_bounds b = { 1, cases[i].feedin, cases[i].retail };
		assert_int_equal(bid(cases[i].base, cases[i].v, &b), cases[i].want);
		b.known = 0;
		assert_int_equal(bid(cases[i].base, cases[i].v, &b),
		                 cases[i].base == POLICY_BASE_ABS ? cases[i].v : NONE);
	}
}

static void
test_price_parse(void **state)
{
	static const struct {
		const char *s;
		pw_err rc;
		enum policy_base base;
		int32_t v;
		const char *text;
	} cases[] = {
		{ "0.25", PW_OK, POLICY_BASE_ABS, 250000, "0.25" },
		{ "-0.02", PW_OK, POLICY_BASE_ABS, -20000, "-0.02" },
		{ "feedin", PW_OK, POLICY_BASE_FEEDIN, 0, "feedin" },
		{ "retail", PW_OK, POLICY_BASE_RETAIL, 0, "retail" },
		{ "feedin+0.03", PW_OK, POLICY_BASE_FEEDIN, 30000, "feedin + 0.03" },
		{ "feedin + 0.03", PW_OK, POLICY_BASE_FEEDIN, 30000, "feedin + 0.03" },
		{ "retail-0.05", PW_OK, POLICY_BASE_RETAIL, -50000, "retail - 0.05" },
		{ "retail - 0.000001", PW_OK, POLICY_BASE_RETAIL, -1, "retail - 0.000001" },
		{ "retail+-0.05", PW_ERR_PARSE, 0, 0, NULL },
		{ "retail 0.05", PW_ERR_PARSE, 0, 0, NULL },
		{ "retailer", PW_ERR_PARSE, 0, 0, NULL },
		{ "feedin+", PW_ERR_PARSE, 0, 0, NULL },
		{ "feedin+abc", PW_ERR_PARSE, 0, 0, NULL },
		{ "feedin+3000", PW_ERR_RANGE, 0, 0, NULL },
		{ "", PW_ERR_PARSE, 0, 0, NULL },
		{ "abc", PW_ERR_PARSE, 0, 0, NULL },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum policy_base base = POLICY_BASE_ABS;
		int32_t v = 0;
		pw_err rc = policy_price_parse(cases[i].s, &base, &v);
		if (cases[i].rc == PW_OK) {
			char text[64];
			assert_int_equal(rc, PW_OK);
			assert_int_equal(base, cases[i].base);
			assert_int_equal(v, cases[i].v);
			policy_price_format(base, v, text, sizeof(text));
			assert_string_equal(text, cases[i].text);
		} else {
			assert_int_not_equal(rc, PW_OK);
		}
	}
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
		/* device_ok, has_pv, pv_w, have_last, last_export_wh, meter_suspect,
		 * battery, battery_failed, soc_known (the last two: the battery's
		 * block only) */
		{ { 1, 1, 2500, 1, 400, 0, 0, 0, 0 }, POLICY_SELL_OK, "ok" },
		{ { 0, 1, 2500, 1, 400, 0, 0, 0, 0 },
		  POLICY_SELL_DEVICE_DOWN,
		  "device_unreachable" },
		{ { 0, 0, 0, 0, 0, 0, 0, 0, 0 }, POLICY_SELL_DEVICE_DOWN, "device_unreachable" },
		/* night: no PV and the last interval exported nothing */
		{ { 1, 1, 0, 1, 0, 0, 0, 0, 0 }, POLICY_SELL_NO_SUPPLY, "no_production" },
		{ { 1, 1, 0, 0, 0, 0, 0, 0, 0 }, POLICY_SELL_NO_SUPPLY, "no_production" },
		{ { 1, 1, -3, 1, 0, 0, 0, 0, 0 }, POLICY_SELL_NO_SUPPLY, "no_production" },
		/* dusk: PV at 0 but the last interval still exported (a battery
		 * discharging shows the same): the forecast decides */
		{ { 1, 1, 0, 1, 120, 0, 0, 0, 0 }, POLICY_SELL_OK, "ok" },
		/* dawn: PV producing, nothing exported yet: the forecast decides */
		{ { 1, 1, 40, 1, 0, 0, 0, 0, 0 }, POLICY_SELL_OK, "ok" },
		/* no inverter model: PV unknown, the forecast decides */
		{ { 1, 0, 0, 1, 0, 0, 0, 0, 0 }, POLICY_SELL_OK, "ok" },
		/* a home battery: its export at night is not PV (its own offer
		 * sells it, docs/agent.md "Selling policy") */
		{ { 1, 1, 0, 1, 120, 0, 1, 0, 0 }, POLICY_SELL_NO_SUPPLY, "no_production" },
		{ { 1, 1, 40, 1, 120, 0, 1, 0, 0 }, POLICY_SELL_OK, "ok" },
		/* the meter's samples are refused as implausible (issue 16) */
		{ { 1, 1, 2500, 1, 400, 1, 0, 0, 0 },
		  POLICY_SELL_METER_FAULT,
		  "meter_implausible" },
		{ { 0, 1, 2500, 1, 400, 1, 0, 0, 0 },
		  POLICY_SELL_DEVICE_DOWN,
		  "device_unreachable" },
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
	struct policy_bid day = { 500, 200000, POLICY_BASE_ABS, 7 * 3600, 9 * 3600 };
	struct policy_bid night = { 500, 200000, POLICY_BASE_ABS, 22 * 3600, 6 * 3600 };
	struct policy_bid all = { 500, 200000, POLICY_BASE_ABS, 0, 0 };
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
		cmocka_unit_test(test_offer_price_relative),
		cmocka_unit_test(test_bid_price),
		cmocka_unit_test(test_price_parse),
		cmocka_unit_test(test_decide),
		cmocka_unit_test(test_sell_block),
		cmocka_unit_test(test_bid_window),
		cmocka_unit_test(test_parse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
