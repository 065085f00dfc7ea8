/*
 * test_bplan.c: the home battery's plan (agent/bplan.c).
 *
 * Scenarios with a known best answer (store the cheap midday surplus and sell
 * it to the neighbours in the evening; hold when prices are flat and every
 * cycle only loses; charge from the grid only when allowed; never sell to a
 * market without demand at a feed-in tariff that does not pay), the reserve
 * (never crossed, never discharged below when the battery starts under it),
 * the reasons, the input bounds, and a randomized property test over many
 * seeds: the battery's physics and the energy balance of every step, the
 * plan's money equal to the sum of its steps, never below the battery left
 * to itself nor below no battery.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "agent/bplan.h"

#define HALF_HOUR 1800u

static struct bplan_battery
bat_default(void)
{
	struct bplan_battery b = {
		.capacity_wh = 10000,
		.stored_wh = 2000,
		.reserve_wh = 2000,
		.max_charge_wh = 2000,
		.max_discharge_wh = 2000,
		.efficiency_pct = 90,
		.wear_uper_kwh = 30000,
		.grid_charge = false,
	};
	return b;
}

/* n half hours from start_tod with the given tariffs and nothing else. */
static void
ivs_flat(struct bplan_iv *iv, size_t n, uint32_t start_tod, int32_t feedin, int32_t retail)
{
	for (size_t t = 0; t < n; t++) {
		memset(&iv[t], 0, sizeof iv[t]);
		iv[t].interval = 1000 + t;
		iv[t].tod_s = (start_tod + (uint32_t)t * HALF_HOUR) % 86400u;
		iv[t].feedin_uper_kwh = feedin;
		iv[t].retail_uper_kwh = retail;
		iv[t].local_uper_kwh = feedin;
	}
}

static int64_t
isqrt(int64_t x)
{
	int64_t r = 0;
	while ((r + 1) * (r + 1) <= x)
		r++;
	return r;
}

static int64_t
amount(int64_t wh, int64_t p)
{
	int64_t a = wh * p + 500;
	return a >= 0 ? a / 1000 : -((-a + 999) / 1000);
}

/* The money of one interval as bplan.h describes it. */
static int64_t
money(const struct bplan_iv *x, int64_t c, int64_t d, int64_t wear)
{
	int64_t g = x->surplus_wh - x->deficit_wh - c + d;
	if (g > 0) {
		int64_t loc = g < x->local_wh ? g : x->local_wh;
		return amount(loc, x->local_uper_kwh) + amount(g - loc, x->feedin_uper_kwh) -
		       amount(d, wear);
	}
	return -amount(-g, x->retail_uper_kwh) - amount(d, wear);
}

/*
 * Everything that must hold of any plan: the physics of every step (charge
 * and discharge within the limits, from the surplus unless grid charging is
 * allowed, the cells gaining at most charge x efficiency and delivering at
 * most what they lose x efficiency), the reserve and the capacity, the
 * action named right, each step's money, and the totals.
 */
static void
check_plan(const struct bplan_battery *b, const struct bplan_iv *iv, size_t n,
           const struct bplan *p)
{
	int64_t eff = isqrt((int64_t)b->efficiency_pct * 10000), s = b->stored_wh, sum = 0;
	int64_t minf = INT32_MAX, none = 0;
	bool above = b->stored_wh >= b->reserve_wh;

	assert_int_equal(p->n, n);
	for (size_t t = 0; t < n; t++) {
		const struct bplan_step *st = &p->step[t];
		int64_t e = st->stored_end_wh;
		assert_int_equal(st->interval, iv[t].interval);
		assert_true(st->charge_wh >= 0 && st->discharge_wh >= 0);
		assert_true(st->charge_wh == 0 || st->discharge_wh == 0);
		assert_true(st->charge_wh <= b->max_charge_wh);
		assert_true(st->discharge_wh <= b->max_discharge_wh);
		if (!b->grid_charge)
			assert_true(st->charge_wh <= iv[t].surplus_wh);
		assert_true(e >= 0 && e <= b->capacity_wh);
		if (above)
			assert_true(e >= b->reserve_wh);
		if (st->discharge_wh > 0)
			assert_true(e >= b->reserve_wh);
		/* energy balance: AC in x eff >= gained, lost x eff >= AC out */
		if (st->charge_wh > 0) {
			assert_true(e > s);
			assert_true(st->charge_wh * eff >= (e - s) * 1000);
		} else if (st->discharge_wh > 0) {
			assert_true(e < s);
			assert_true(st->discharge_wh * 1000 <= (s - e) * eff);
		} else {
			assert_int_equal(e, s);
		}
		/* the action */
		if (st->charge_wh > 0)
			assert_int_equal(st->action, BPLAN_STORE);
		else if (st->discharge_wh > iv[t].deficit_wh)
			assert_int_equal(st->action, BPLAN_SELL);
		else if (st->discharge_wh > 0)
			assert_int_equal(st->action, BPLAN_COVER);
		else
			assert_int_equal(st->action, BPLAN_HOLD);
		assert_int_equal(st->sell_wh, st->discharge_wh > iv[t].deficit_wh
		                                  ? st->discharge_wh - iv[t].deficit_wh
		                                  : 0);
		assert_true(st->keep_uper_kwh >= iv[t].feedin_uper_kwh);
		assert_int_equal(st->value_u,
		                 money(&iv[t], st->charge_wh, st->discharge_wh, b->wear_uper_kwh));
		/* the reason names the action */
		assert_true(strlen(st->reason) > 0 && strlen(st->reason) < BPLAN_REASON_MAX);
		assert_int_equal(strncmp(st->reason, bplan_action_name(st->action),
		                         strlen(bplan_action_name(st->action))),
		                 0);
		assert_int_equal(st->reason[strlen(bplan_action_name(st->action))], ':');
		sum += st->value_u;
		none += money(&iv[t], 0, 0, 0);
		if (iv[t].feedin_uper_kwh < minf)
			minf = iv[t].feedin_uper_kwh;
		s = e;
	}
	/* the plan's money: its steps and what is left, valued at the lowest feed-in */
	if (minf < 0)
		minf = 0;
	assert_int_equal(p->value_u, sum + amount(s * eff / 1000, minf));
	assert_int_equal(p->none_value_u, none);
	assert_true(p->value_u >= p->self_value_u);
	assert_true(p->value_u >= p->none_value_u);
}

/* Cheap midday surplus with no local demand, dear evening with neighbours'
 * bids: the battery stores at midday and sells in the evening. */
static size_t
day_market(struct bplan_iv *iv)
{
	size_t n = 28; /* 09:00 .. 23:00 */
	ivs_flat(iv, n, 9 * 3600, 50000, 300000);
	for (size_t t = 0; t < n; t++) {
		uint32_t h = iv[t].tod_s / 3600;
		if (h >= 10 && h < 15)
			iv[t].surplus_wh = 1800;
		else if (h >= 17 && h < 21) {
			iv[t].deficit_wh = 300;
			iv[t].retail_uper_kwh = 340000;
			iv[t].local_uper_kwh = 270000;
			iv[t].local_wh = 1500;
		} else
			iv[t].deficit_wh = 150;
	}
	return n;
}

static void
test_store_midday_sell_evening(void **state)
{
	struct bplan_battery b = bat_default();
	struct bplan_iv iv[BPLAN_MAX_IVS];
	static struct bplan p;
	size_t n = day_market(iv), stores = 0, sells = 0;
	int64_t sold = 0;
	(void)state;

	assert_int_equal(bplan_make(&b, iv, n, &p), PW_OK);
	check_plan(&b, iv, n, &p);
	for (size_t t = 0; t < n; t++) {
		uint32_t h = iv[t].tod_s / 3600;
		printf("# %02u:%02u %-5s c%5lld d%5lld end%6lld keep %7d  %s\n", iv[t].tod_s / 3600,
		       iv[t].tod_s % 3600 / 60, bplan_action_name(p.step[t].action),
		       (long long)p.step[t].charge_wh, (long long)p.step[t].discharge_wh,
		       (long long)p.step[t].stored_end_wh, p.step[t].keep_uper_kwh,
		       p.step[t].reason);
		if (p.step[t].action == BPLAN_STORE) {
			assert_true(h >= 10 && h < 15);
			stores++;
		}
		if (p.step[t].action == BPLAN_SELL) {
			assert_true(h >= 17 && h < 21);
			assert_true(p.step[t].keep_uper_kwh <= iv[t].local_uper_kwh);
			assert_non_null(
			    strstr(p.step[t].reason, "neighbours are expected to pay 0.27/kWh"));
			sold += p.step[t].sell_wh;
			sells++;
		}
	}
	assert_true(stores >= 3);
	assert_true(sells >= 3);
	assert_true(sold > 3000);
	/* the first store says what for */
	for (size_t t = 0; t < n; t++)
		if (p.step[t].action == BPLAN_STORE) {
			assert_string_equal(
			    p.step[t].reason,
			    "store: the surplus would fetch only 0.05/kWh now; kept for "
			    "the home's load at 15:00 (retail 0.30/kWh)");
			break;
		}
	/* selling to the neighbours beats covering the evening load only */
	assert_true(p.value_u > p.self_value_u + 500000);
	assert_true(p.self_value_u > p.none_value_u);
	printf("# value %lld self %lld none %lld\n", (long long)p.value_u,
	       (long long)p.self_value_u, (long long)p.none_value_u);
}

/* Flat prices: every cycle loses the efficiency and the wear, so the battery
 * holds, from the grid too. */
static void
test_flat_prices_hold(void **state)
{
	struct bplan_battery b = bat_default();
	struct bplan_iv iv[48];
	static struct bplan p;
	(void)state;

	b.stored_wh = 6000;
	b.grid_charge = true;
	ivs_flat(iv, 48, 0, 200000, 200000);
	for (size_t t = 0; t < 48; t++) {
		iv[t].local_uper_kwh = 200000;
		iv[t].local_wh = 2000;
		if (t % 6 < 3)
			iv[t].surplus_wh = 1000;
		else
			iv[t].deficit_wh = 800;
	}
	assert_int_equal(bplan_make(&b, iv, 48, &p), PW_OK);
	check_plan(&b, iv, 48, &p);
	for (size_t t = 0; t < 48; t++) {
		assert_int_equal(p.step[t].action, BPLAN_HOLD);
		assert_int_equal(p.step[t].stored_end_wh, 6000);
		assert_non_null(strstr(p.step[t].reason, "hold: "));
	}
}

/* The home's load now at the same retail tariff as the load tomorrow
 * evening: the battery covers it now (the money in hand), never holds the
 * energy for the same price hoped for later while the home buys. */
static void
test_cover_now_over_equal_later(void **state)
{
	struct bplan_battery b = bat_default();
	struct bplan_iv iv[48];
	static struct bplan p;
	(void)state;

	/* enough above the reserve for two of the three dear loads (400 Wh in
	 * the cells deliver 2 x 189 Wh); the battery left to itself would spend
	 * it on the first two, one of them cheap, so the plan is its own path */
	b.stored_wh = b.reserve_wh + 400;
	ivs_flat(iv, 48, 20 * 3600 + 1800, 76000, 426000);
	iv[0].deficit_wh = 189; /* 20:30 tonight */
	iv[1].deficit_wh = 189; /* 21:00, at 0.10/kWh */
	iv[1].retail_uper_kwh = 100000;
	iv[46].deficit_wh = 189; /* 19:30 and 20:00 tomorrow, at the same 0.43/kWh */
	iv[47].deficit_wh = 189;
	assert_int_equal(bplan_make(&b, iv, 48, &p), PW_OK);
	check_plan(&b, iv, 48, &p);
	assert_true(p.value_u > p.self_value_u);
	assert_int_equal(p.step[0].action, BPLAN_COVER);
	assert_int_equal(p.step[0].discharge_wh, 189);
	assert_non_null(strstr(p.step[0].reason, "cover"));
	assert_int_equal(p.step[1].discharge_wh, 0); /* the cheap one is bought */
}

/* Room kept for the negative feed-in hour: the surplus before it is sold,
 * the one in it stored. */
static void
test_room_for_negative_hour(void **state)
{
	struct bplan_battery b = bat_default();
	struct bplan_iv iv[24];
	static struct bplan p;
	int64_t before = 0, in = 0;
	(void)state;

	b.capacity_wh = 4000; /* 2000 Wh of room above the reserve */
	ivs_flat(iv, 24, 10 * 3600, 50000, 300000);
	for (size_t t = 0; t < 24; t++) {
		uint32_t h = iv[t].tod_s / 3600;
		if (h < 14)
			iv[t].surplus_wh = 1500;
		else
			iv[t].deficit_wh = 300;
		if (h == 12) {
			iv[t].feedin_uper_kwh = -30000;
			iv[t].local_uper_kwh = -30000;
		}
	}
	assert_int_equal(bplan_make(&b, iv, 24, &p), PW_OK);
	check_plan(&b, iv, 24, &p);
	for (size_t t = 0; t < 4; t++)
		before += p.step[t].charge_wh;
	for (size_t t = 4; t < 6; t++)
		in += p.step[t].charge_wh;
	assert_int_equal(before, 0);
	assert_true(in >= 2000);
	assert_string_equal(p.step[0].reason,
	                    "hold: room kept for 12:00, when exporting the surplus costs 0.03/kWh");
	assert_true(p.value_u > p.self_value_u);
}

/* Below the reserve the battery may only hold or charge. */
static void
test_below_reserve_no_discharge(void **state)
{
	struct bplan_battery b = bat_default();
	struct bplan_iv iv[24];
	static struct bplan p;
	(void)state;

	b.stored_wh = 1500;
	ivs_flat(iv, 24, 17 * 3600, 50000, 400000);
	for (size_t t = 0; t < 24; t++) {
		iv[t].deficit_wh = 600;
		iv[t].local_uper_kwh = 390000;
		iv[t].local_wh = 3000;
	}
	assert_int_equal(bplan_make(&b, iv, 24, &p), PW_OK);
	check_plan(&b, iv, 24, &p);
	for (size_t t = 0; t < 24; t++) {
		assert_int_equal(p.step[t].discharge_wh, 0);
		assert_int_equal(p.step[t].stored_end_wh, 1500);
	}
	assert_string_equal(p.step[0].reason, "hold: at the reserve (20 %)");

	/* with some surplus first it may charge, then discharge down to the
	 * reserve but not below */
	iv[0].deficit_wh = 0;
	iv[0].surplus_wh = 1000;
	iv[0].local_wh = 0;
	assert_int_equal(bplan_make(&b, iv, 24, &p), PW_OK);
	check_plan(&b, iv, 24, &p);
	assert_int_equal(p.step[0].action, BPLAN_STORE);
	for (size_t t = 1; t < 24; t++)
		if (p.step[t].discharge_wh > 0)
			assert_true(p.step[t].stored_end_wh >= b.reserve_wh);
	assert_int_equal(p.step[23].stored_end_wh >= b.reserve_wh, 1);
}

/* Cheap night retail, dear evening: the battery charges from the grid only
 * when allowed. */
static void
test_grid_charge(void **state)
{
	struct bplan_battery b = bat_default();
	struct bplan_iv iv[24];
	static struct bplan p;
	int64_t charged = 0;
	(void)state;

	b.stored_wh = 2000;
	ivs_flat(iv, 24, 2 * 3600, -20000, 20000); /* 02:00: retail 0.02, feed-in -0.02 */
	for (size_t t = 0; t < 24; t++) {
		iv[t].deficit_wh = 400;
		if (t >= 8) { /* from 06:00 retail 0.45 */
			iv[t].feedin_uper_kwh = 50000;
			iv[t].local_uper_kwh = 50000;
			iv[t].retail_uper_kwh = 450000;
		}
	}
	b.grid_charge = true;
	assert_int_equal(bplan_make(&b, iv, 24, &p), PW_OK);
	check_plan(&b, iv, 24, &p);
	for (size_t t = 0; t < 8; t++)
		charged += p.step[t].charge_wh;
	assert_true(charged >= 4000);
	assert_int_equal(p.step[0].action, BPLAN_STORE);
	assert_non_null(strstr(p.step[0].reason, "store: from the grid at 0.02/kWh"));
	assert_true(p.value_u > p.self_value_u);

	b.grid_charge = false;
	assert_int_equal(bplan_make(&b, iv, 24, &p), PW_OK);
	check_plan(&b, iv, 24, &p);
	for (size_t t = 0; t < 24; t++)
		assert_int_equal(p.step[t].charge_wh, 0);
}

/* No neighbours' demand and a feed-in tariff that pays little: the battery
 * covers the home's load but sells nothing. */
static void
test_no_local_demand_no_sell(void **state)
{
	struct bplan_battery b = bat_default();
	struct bplan_iv iv[32];
	static struct bplan p;
	int64_t covered = 0;
	(void)state;

	b.stored_wh = 10000;
	ivs_flat(iv, 32, 17 * 3600, 50000, 340000);
	for (size_t t = 0; t < 32; t++) {
		iv[t].deficit_wh = t % 2 ? 200 : 0;
		iv[t].local_uper_kwh = 300000; /* a price nobody pays: no volume */
		iv[t].local_wh = 0;
	}
	assert_int_equal(bplan_make(&b, iv, 32, &p), PW_OK);
	check_plan(&b, iv, 32, &p);
	for (size_t t = 0; t < 32; t++) {
		assert_int_equal(p.step[t].sell_wh, 0);
		covered += p.step[t].discharge_wh;
	}
	assert_true(covered > 2000);

	/* a feed-in tariff worth more than keeping the energy: it sells there */
	for (size_t t = 0; t < 32; t++) {
		iv[t].feedin_uper_kwh = 300000;
		iv[t].local_uper_kwh = 300000;
	}
	iv[31].feedin_uper_kwh = 0; /* the horizon's end values leftovers at 0 */
	iv[31].local_uper_kwh = 0;
	assert_int_equal(bplan_make(&b, iv, 32, &p), PW_OK);
	check_plan(&b, iv, 32, &p);
	covered = 0;
	for (size_t t = 0; t < 32; t++)
		if (p.step[t].action == BPLAN_SELL) {
			assert_non_null(
			    strstr(p.step[t].reason, "sell: the feed-in tariff pays 0.30/kWh"));
			covered += p.step[t].sell_wh;
		}
	assert_true(covered > 3000);
}

static void
test_range_errors(void **state)
{
	struct bplan_battery b0 = bat_default(), b;
	struct bplan_iv iv0[4], iv[4];
	static struct bplan p, p0;
	(void)state;

	ivs_flat(iv0, 4, 0, 50000, 300000);
	memset(&p0, 0x5a, sizeof p0);
#define EXPECT_RANGE(setup, nn)                                                                    \
	do {                                                                                       \
		b = b0;                                                                            \
		memcpy(iv, iv0, sizeof iv);                                                        \
		setup;                                                                             \
		memcpy(&p, &p0, sizeof p);                                                         \
		assert_int_equal(bplan_make(&b, iv, (nn), &p), PW_ERR_RANGE);                      \
		assert_memory_equal(&p, &p0, sizeof p);                                            \
	} while (0)
	EXPECT_RANGE((void)0, 0);
	EXPECT_RANGE((void)0, BPLAN_MAX_IVS + 1);
	EXPECT_RANGE(b.capacity_wh = 0, 4);
	EXPECT_RANGE(b.capacity_wh = -5, 4);
	EXPECT_RANGE(b.capacity_wh = 1000001, 4);
	EXPECT_RANGE(b.stored_wh = -1, 4);
	EXPECT_RANGE(b.stored_wh = 10001, 4);
	EXPECT_RANGE(b.reserve_wh = -1, 4);
	EXPECT_RANGE(b.reserve_wh = 10001, 4);
	EXPECT_RANGE(b.max_charge_wh = -1, 4);
	EXPECT_RANGE(b.max_discharge_wh = -1, 4);
	EXPECT_RANGE(b.efficiency_pct = 49, 4);
	EXPECT_RANGE(b.efficiency_pct = 101, 4);
	EXPECT_RANGE(b.wear_uper_kwh = -1, 4);
	EXPECT_RANGE(iv[2].feedin_uper_kwh = 300001, 4);
	EXPECT_RANGE(iv[3].local_uper_kwh = 49999, 4);
	EXPECT_RANGE(iv[3].local_uper_kwh = 300001, 4);
	EXPECT_RANGE(iv[1].surplus_wh = -1, 4);
	EXPECT_RANGE(iv[1].deficit_wh = -1, 4);
	EXPECT_RANGE(iv[1].local_wh = -1, 4);
	EXPECT_RANGE(iv[1].surplus_wh = 10000001, 4);
	EXPECT_RANGE(iv[1].deficit_wh = 10000001, 4);
	EXPECT_RANGE(iv[1].local_wh = 10000001, 4);
#undef EXPECT_RANGE
	/* the edges are fine */
	b = b0;
	memcpy(iv, iv0, sizeof iv);
	b.capacity_wh = 1000000;
	b.stored_wh = 1000000;
	b.reserve_wh = 1000000;
	b.efficiency_pct = 50;
	iv[0].surplus_wh = 10000000;
	iv[1].deficit_wh = 10000000;
	iv[1].local_wh = 10000000;
	iv[2].feedin_uper_kwh = iv[2].retail_uper_kwh = iv[2].local_uper_kwh = -100000;
	assert_int_equal(bplan_make(&b, iv, 4, &p), PW_OK);
	check_plan(&b, iv, 4, &p);
	assert_int_equal(bplan_make(NULL, iv, 4, &p), PW_ERR_ARG);
	assert_int_equal(bplan_make(&b, NULL, 4, &p), PW_ERR_ARG);
	assert_int_equal(bplan_make(&b, iv, 4, NULL), PW_ERR_ARG);
}

static uint64_t
rng(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static int64_t
rnd(uint64_t *s, int64_t lo, int64_t hi)
{
	return lo + (int64_t)(rng(s) % (uint64_t)(hi - lo + 1));
}

/* Any battery, any horizon within the bounds: check_plan holds. */
static void
test_random_properties(void **state)
{
	static struct bplan p;
	static struct bplan_iv iv[BPLAN_MAX_IVS];
	size_t sells = 0, stores = 0, covers = 0;
	(void)state;

	for (uint64_t seed = 1; seed <= 300; seed++) {
		uint64_t s = seed;
		struct bplan_battery b;
		size_t n = (size_t)rnd(&s, 1, seed % 10 == 0 ? BPLAN_MAX_IVS : 60);
		b.capacity_wh = rnd(&s, 1, 4) == 1 ? rnd(&s, 1, 200) : rnd(&s, 1000, 30000);
		b.stored_wh = rnd(&s, 0, b.capacity_wh);
		b.reserve_wh = rnd(&s, 0, b.capacity_wh);
		b.max_charge_wh = rnd(&s, 0, b.capacity_wh / 2 + 10);
		b.max_discharge_wh = rnd(&s, 0, b.capacity_wh / 2 + 10);
		b.efficiency_pct = (uint32_t)rnd(&s, 50, 100);
		b.wear_uper_kwh = rnd(&s, 0, 100000);
		b.grid_charge = rnd(&s, 0, 1) == 1;
		for (size_t t = 0; t < n; t++) {
			int32_t f = (int32_t)rnd(&s, -100000, 200000);
			int32_t r = f + (int32_t)rnd(&s, 0, 400000);
			iv[t].interval = t;
			iv[t].tod_s = (uint32_t)(t * 1800 % 86400);
			iv[t].surplus_wh = rnd(&s, 0, 2) == 0 ? rnd(&s, 0, 3000) : 0;
			iv[t].deficit_wh =
			    iv[t].surplus_wh == 0 || rnd(&s, 0, 3) == 0 ? rnd(&s, 0, 2000) : 0;
			iv[t].feedin_uper_kwh = f;
			iv[t].retail_uper_kwh = r;
			iv[t].local_uper_kwh = (int32_t)rnd(&s, f, r);
			iv[t].local_wh = rnd(&s, 0, 3) == 0 ? 0 : rnd(&s, 0, 3000);
		}
		assert_int_equal(bplan_make(&b, iv, n, &p), PW_OK);
		check_plan(&b, iv, n, &p);
		for (size_t t = 0; t < n; t++) {
			sells += p.step[t].action == BPLAN_SELL;
			stores += p.step[t].action == BPLAN_STORE;
			covers += p.step[t].action == BPLAN_COVER;
		}
	}
	/* the seeds reach every action */
	assert_true(sells > 50 && stores > 50 && covers > 50);
}

/* The names of the actions are the API's. */
static void
test_action_names(void **state)
{
	(void)state;
	assert_string_equal(bplan_action_name(BPLAN_HOLD), "hold");
	assert_string_equal(bplan_action_name(BPLAN_STORE), "store");
	assert_string_equal(bplan_action_name(BPLAN_SELL), "sell");
	assert_string_equal(bplan_action_name(BPLAN_COVER), "cover");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_store_midday_sell_evening),
		cmocka_unit_test(test_flat_prices_hold),
		cmocka_unit_test(test_cover_now_over_equal_later),
		cmocka_unit_test(test_room_for_negative_hour),
		cmocka_unit_test(test_below_reserve_no_discharge),
		cmocka_unit_test(test_grid_charge),
		cmocka_unit_test(test_no_local_demand_no_sell),
		cmocka_unit_test(test_range_errors),
		cmocka_unit_test(test_random_properties),
		cmocka_unit_test(test_action_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
