/*
 * test_policy_bat.c: offers of stored energy (agent/policy.h): the price
 * (never below the plan's keep value, never above retail), the PV and
 * battery offers of one interval within the registered capacity, what
 * blocks them, and the order in which the two are changed, table-driven.
 */
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
	p.safety_pct = 100;
	p.capacity_wh = 1000;
	p.adjust_pct = 10;
	p.adjust_min_wh = 20;
	return p;
}

#define NONE INT32_MIN

static void
test_battery_price(void **state)
{
	static const struct {
		int known;
		int32_t feedin, retail, ask, keep, want;
	} cases[] = {
		{ 1, 80000, 300000, 120000, 150000, 150000 }, /* keep above the ask */
		{ 1, 80000, 300000, 200000, 150000, 200000 }, /* the ask above keep */
		{ 1, 80000, 300000, 120000, 300000, 300000 }, /* keep at retail: offered */
		{ 1, 80000, 300000, 120000, 300001, NONE },   /* keep above retail: kept */
		{ 1, 80000, 300000, 80000, 10000, 80000 },    /* raised to feed-in */
		{ 1, 80000, 300000, 60000, -5000, 80000 },    /* a negative keep value */
		{ 1, -20000, 300000, -30000, -40000, -20000 },
		{ 0, 0, 0, 120000, 150000, NONE }, /* tariffs not known: no offer */
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct policy_bounds b = { cases[i].known, cases[i].feedin, cases[i].retail };
		int32_t price = 7;
		int ok = policy_battery_price(&b, cases[i].ask, cases[i].keep, &price);
		assert_int_equal(ok ? price : NONE, cases[i].want);
		if (!ok)
			assert_int_equal(price, 7); /* untouched */
	}
}

static void
test_battery_offers(void **state)
{
	static const struct {
		int has_step;
		int64_t sell, charge;
		int32_t keep;
		int bat_ok, have_ask;
		uint32_t pv_in;
		uint32_t pv_out, bat_qty;
		int32_t bat_price;
	} cases[] = {
		/* no step: the PV offer as it was, no battery offer */
		{ 0, 0, 0, 0, 1, 1, 700, 700, 0, 0 },
		/* night: nothing from PV, the plan sells 600 Wh above the ask */
		{ 1, 600, 0, 150000, 1, 1, 0, 0, 600, 150000 },
		/* keep below the ask: at the ask */
		{ 1, 600, 0, 90000, 1, 1, 0, 0, 600, 120000 },
		/* keep above retail: no battery offer */
		{ 1, 600, 0, 400000, 1, 1, 0, 0, 0, 0 },
		/* blocked (device, meter, setpoint or state of charge): none */
		{ 1, 600, 0, 150000, 0, 1, 0, 0, 0, 0 },
		/* the household's ask has no value: none */
		{ 1, 600, 0, 150000, 1, 0, 0, 0, 0, 0 },
		/* no sell in the step */
		{ 1, 0, 0, 150000, 1, 1, 300, 300, 0, 0 },
		{ 1, -5, 0, 150000, 1, 1, 300, 300, 0, 0 },
		/* the plan stores 400 of a PV offer of 700: 300 offered */
		{ 1, 0, 400, 150000, 1, 1, 700, 300, 0, 0 },
		/* it stores all of it and more */
		{ 1, 0, 900, 150000, 1, 1, 700, 0, 0, 0 },
		/* PV 700 + battery 600 above the capacity of 1000: the stored
		 * energy first, the PV offer the rest */
		{ 1, 600, 0, 150000, 1, 1, 700, 400, 600, 150000 },
		/* a sell step above the capacity: clamped, no PV offer */
		{ 1, 2500, 0, 150000, 1, 1, 700, 0, 1000, 150000 },
		/* a PV offer at the capacity and a battery that may not sell */
		{ 1, 600, 0, 150000, 0, 1, 1000, 1000, 0, 0 },
	};
	struct policy_params p = params();
	struct policy_bounds b = { 1, 80000, 300000 };
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct policy_bstep s = { cases[i].sell, cases[i].charge, cases[i].keep };
		struct policy_offer pv = { cases[i].pv_in, 120000 }, bat = { 99, 99 };
		policy_battery_offers(&p, &b, cases[i].has_step ? &s : NULL, cases[i].bat_ok,
		                      cases[i].have_ask, 120000, &pv, &bat);
		assert_int_equal(pv.qty_wh, cases[i].pv_out);
		assert_int_equal(pv.price_uper_kwh, 120000);
		assert_int_equal(bat.qty_wh, cases[i].bat_qty);
		assert_int_equal(bat.price_uper_kwh, cases[i].bat_price);
		/* never above what the exchange accepts of one household */
		assert_true((uint64_t)pv.qty_wh + bat.qty_wh <= p.capacity_wh);
	}
	/* a capacity beyond the wire's width: an offer is at most UINT32_MAX */
	p.capacity_wh = UINT64_MAX;
	{
		struct policy_bstep s = { INT64_MAX, 0, 150000 };
		struct policy_offer pv = { 0, 0 }, bat;
		policy_battery_offers(&p, &b, &s, 1, 1, 120000, &pv, &bat);
		assert_int_equal(bat.qty_wh, UINT32_MAX);
	}
}

static void
test_battery_block(void **state)
{
	static const struct {
		struct policy_supply s;
		enum policy_block want;
		const char *name;
	} cases[] = {
		/* device_ok, has_pv, pv_w, have_last, last_export_wh, meter_suspect,
		 * battery, battery_failed, soc_known */
		{ { 1, 1, 2500, 1, 400, 0, 1, 0, 1 }, POLICY_SELL_OK, "ok" },
		/* night: no production is no block for stored energy */
		{ { 1, 1, 0, 1, 0, 0, 1, 0, 1 }, POLICY_SELL_OK, "ok" },
		{ { 0, 1, 0, 1, 0, 0, 1, 0, 1 }, POLICY_SELL_DEVICE_DOWN, "device_unreachable" },
		{ { 1, 1, 0, 1, 0, 1, 1, 0, 1 }, POLICY_SELL_METER_FAULT, "meter_implausible" },
		{ { 1, 1, 0, 1, 0, 0, 1, 1, 1 }, POLICY_SELL_BATTERY_FAILED, "battery_failed" },
		{ { 1, 1, 0, 1, 0, 0, 1, 0, 0 }, POLICY_SELL_SOC_UNKNOWN, "soc_unknown" },
		/* the first that holds, in this order */
		{ { 0, 1, 0, 1, 0, 1, 1, 1, 0 }, POLICY_SELL_DEVICE_DOWN, "device_unreachable" },
		{ { 1, 1, 0, 1, 0, 0, 1, 1, 0 }, POLICY_SELL_BATTERY_FAILED, "battery_failed" },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum policy_block b = policy_battery_block(&cases[i].s);
		assert_int_equal(b, cases[i].want);
		assert_string_equal(policy_block_name(b), cases[i].name);
	}
	/* the PV offer: not blocked by the battery's setpoint or state of
	 * charge; with a battery, no PV production blocks it whatever the last
	 * interval exported (the battery's export is offered by its own offer,
	 * never again as PV); without one, a last export still lets the
	 * forecast decide (dusk) */
	{
		struct policy_supply s = { 1, 1, 0, 1, 0, 0, 1, 0, 1 };
		assert_int_equal(policy_sell_block(&s), POLICY_SELL_NO_SUPPLY);
		s.last_export_wh = 600; /* the battery's sale of the last interval */
		assert_int_equal(policy_sell_block(&s), POLICY_SELL_NO_SUPPLY);
		s.battery = 0;
		assert_int_equal(policy_sell_block(&s), POLICY_SELL_OK);
		s.battery = 1;
		s.has_pv = 0; /* PV unknown: the forecast decides */
		assert_int_equal(policy_sell_block(&s), POLICY_SELL_OK);
		s.has_pv = 1;
		s.battery_failed = 1;
		s.soc_known = 0;
		s.pv_w = 900;
		assert_int_equal(policy_sell_block(&s), POLICY_SELL_OK);
	}
}

static uint32_t
after(enum policy_action a, struct policy_offer o, struct policy_offer w)
{
	return a == POLICY_KEEP ? o.qty_wh : a == POLICY_CANCEL ? 0 : w.qty_wh;
}

static void
test_decide_pair(void **state)
{
	static const struct {
		uint32_t open_pv, want_pv, open_bat, want_bat;
		enum policy_action act_pv, act_bat;
		int first;
	} cases[] = {
		{ 0, 0, 0, 0, POLICY_KEEP, POLICY_KEEP, 0 },
		{ 0, 0, 0, 600, POLICY_KEEP, POLICY_PLACE, 0 },
		{ 0, 500, 0, 500, POLICY_PLACE, POLICY_PLACE, 0 },
		{ 0, 0, 600, 0, POLICY_KEEP, POLICY_CANCEL, 0 }, /* the step is gone */
		/* the battery's offer arrives while the PV's holds the capacity:
		 * the PV's shrinks first */
		{ 1000, 400, 0, 600, POLICY_REPLACE, POLICY_PLACE, 0 },
		/* the PV's grows while the battery's shrinks: the battery's first */
		{ 300, 700, 700, 300, POLICY_REPLACE, POLICY_REPLACE, 1 },
		{ 0, 900, 900, 0, POLICY_PLACE, POLICY_CANCEL, 1 },
		/* within the hysteresis and the capacity: kept */
		{ 490, 480, 500, 500, POLICY_KEEP, POLICY_KEEP, 0 },
		/* the hysteresis would keep 520 of PV (30 <= 10 %), but 520 + the
		 * battery's 510 is above the capacity: replaced (down to 490),
		 * first */
		{ 520, 490, 0, 510, POLICY_REPLACE, POLICY_PLACE, 0 },
		/* likewise the battery's kept offer gives way to the PV's */
		{ 0, 510, 520, 490, POLICY_PLACE, POLICY_REPLACE, 1 },
	};
	struct policy_params p = params();
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct policy_offer open[2] = { { cases[i].open_pv, 120000 },
			                        { cases[i].open_bat, 150000 } };
		struct policy_offer want[2] = { { cases[i].want_pv, 120000 },
			                        { cases[i].want_bat, 150000 } };
		enum policy_action act[2];
		int first = -1;
		policy_decide_pair(&p, open, want, act, &first);
		assert_int_equal(act[0], cases[i].act_pv);
		assert_int_equal(act[1], cases[i].act_bat);
		assert_int_equal(first, cases[i].first);
		/* carried out in that order, the exchange never holds more than
		 * the capacity: after the first, and after both */
		uint32_t q0 = after(act[0], open[0], want[0]), q1 = after(act[1], open[1], want[1]);
		uint64_t mid =
		    first == 0 ? (uint64_t)q0 + open[1].qty_wh : (uint64_t)q1 + open[0].qty_wh;
		assert_true(mid <= p.capacity_wh);
		assert_true((uint64_t)q0 + q1 <= p.capacity_wh);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_battery_price),
		cmocka_unit_test(test_battery_offers),
		cmocka_unit_test(test_battery_block),
		cmocka_unit_test(test_decide_pair),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
