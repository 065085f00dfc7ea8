/*
 * test_settle.c: settlement arithmetic (rules/settle.c).  The worked
 * examples of docs/market.md "Settlement", number for number; fee lookup;
 * bad input; and random intervals (orders cleared by auction_clear, random
 * or missing readings) whose statements must balance exactly, with a
 * one-micro-unit forgery detected.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rules/auction.h"
#include "rules/settle.h"
#include "peerwatt/money.h"
#include "peerwatt/wire.h"

#define B PW_SIDE_BUY
#define S PW_SIDE_SELL

/* The tariffs and fees of every worked example in docs/market.md. */
static const struct settle_tariffs tariffs = { 80000, 300000 };
static const struct settle_fee fee_pairs[] = {
	{ "north", "south", 30000 },
};
static const struct settle_fees fees = { fee_pairs, 1, 10000, 25000 };

static void
test_fee_lookup(void **state)
{
	(void)state;
	assert_int_equal(settle_fee_lookup(&fees, "north", "north"), 10000);
	assert_int_equal(settle_fee_lookup(&fees, "south", "south"), 10000);
	assert_int_equal(settle_fee_lookup(&fees, "north", "south"), 30000);
	assert_int_equal(settle_fee_lookup(&fees, "south", "north"), 30000);
	assert_int_equal(settle_fee_lookup(&fees, "east", "east"), 10000);  /* same zone */
	assert_int_equal(settle_fee_lookup(&fees, "east", "north"), 25000); /* default */
	const struct settle_fee pairs[] = { { "a", "b", 5 }, { "a", "a", 3 } };
	const struct settle_fees f2 = { pairs, 2, 9, 7 };
	assert_int_equal(settle_fee_lookup(&f2, "b", "a"), 5); /* unordered pair */
	assert_int_equal(settle_fee_lookup(&f2, "a", "a"), 3); /* entry beats same-zone */
	assert_int_equal(settle_fee_lookup(&f2, "b", "b"), 9);
	assert_int_equal(settle_fee_lookup(&f2, "a", "c"), 7);
}

/* ---- docs/market.md "Settlement", worked example ------------------------ */

struct want {
	const char *name;
	const char *zone;
	size_t n_trades;
	struct {
		uint8_t side;
		uint32_t qty_wh;
		const char *peer_zone;
	} trades[3];
	struct settle_reading reading;
	/* expected statement */
	uint32_t flags;
	uint64_t bought, sold, exp, imp, shortfall, excess, extra, unused;
	int64_t peer, grid, fee, net, baseline, saving;
};

/*
 * The interval of market.md clearing example 1 (price 205000):
 * T1 B3 <- A2 300 Wh, T2 B3 <- A1 200 Wh, T3 B4 <- A1 200 Wh, plus a
 * household C that did not trade.
 */
static const struct want example[] = {
	{ "A1 seller short",
	  "north",
	  2,
	  { { S, 200, "north" }, { S, 200, "south" } },
	  { 0, 0, 350, 10 },
	  0,
	  0,
	  400,
	  350,
	  10,
	  50,
	  0,
	  10,
	  0,
	  82000,
	  -18000,
	  0,
	  64000,
	  25000,
	  39000 },
	{ "A2 seller excess",
	  "south",
	  1,
	  { { S, 300, "north" } },
	  { 0, 0, 380, 0 },
	  0,
	  0,
	  300,
	  380,
	  0,
	  0,
	  80,
	  0,
	  0,
	  61500,
	  6400,
	  0,
	  67900,
	  30400,
	  37500 },
	{ "B3 buyer, reading missing",
	  "north",
	  2,
	  { { B, 300, "south" }, { B, 200, "north" } },
	  { 1, 0, 0, 0 },
	  PW_STMT_READING_MISSING,
	  500,
	  0,
	  0,
	  500,
	  0,
	  0,
	  0,
	  0,
	  -102500,
	  0,
	  11000,
	  -113500,
	  -150000,
	  36500 },
	{ "B4 buyer unused",
	  "south",
	  1,
	  { { B, 200, "north" } },
	  { 0, 1, 0, 150 },
	  PW_STMT_READING_LATE,
	  200,
	  0,
	  0,
	  150,
	  0,
	  0,
	  0,
	  50,
	  -41000,
	  4000,
	  6000,
	  -43000,
	  -45000,
	  2000 },
	{ "C no trades",
	  "north",
	  0,
	  { { 0, 0, NULL } },
	  { 0, 0, 7, 1234 },
	  0,
	  0,
	  0,
	  7,
	  1234,
	  0,
	  7,
	  1234,
	  0,
	  0,
	  -369640,
	  0,
	  -369640,
	  -369640,
	  0 },
};
#define N_EXAMPLE (sizeof(example) / sizeof(example[0]))

static void
settle_want(const struct want *w, int32_t price, struct pw_statement *st)
{
	struct settle_trade t[3];
	for (size_t i = 0; i < w->n_trades; i++) {
		t[i].side = w->trades[i].side;
		t[i].qty_wh = w->trades[i].qty_wh;
		t[i].fee_uper_kwh = w->trades[i].side == B
		                        ? settle_fee_lookup(&fees, w->zone, w->trades[i].peer_zone)
		                        : 0;
	}
	memset(st, 0xa5, sizeof(*st));
	st->interval = 77;
	assert_int_equal(settle_household(&tariffs, price, t, w->n_trades, &w->reading, st), PW_OK);
}

static void
test_worked_example(void **state)
{
	(void)state;
	struct pw_statement st[N_EXAMPLE];
	for (size_t i = 0; i < N_EXAMPLE; i++) {
		const struct want *w = &example[i];
		struct pw_statement *s = &st[i];
		settle_want(w, 205000, s);
		print_message("%s\n", w->name);
		assert_int_equal(s->interval, 77); /* left to the caller */
		assert_int_equal(s->flags, w->flags);
		assert_int_equal(s->price_uper_kwh, 205000);
		assert_int_equal(s->bought_wh, w->bought);
		assert_int_equal(s->sold_wh, w->sold);
		assert_int_equal(s->export_wh, w->exp);
		assert_int_equal(s->import_wh, w->imp);
		assert_int_equal(s->shortfall_wh, w->shortfall);
		assert_int_equal(s->excess_wh, w->excess);
		assert_int_equal(s->extra_import_wh, w->extra);
		assert_int_equal(s->unused_wh, w->unused);
		assert_int_equal(s->peer_u, w->peer);
		assert_int_equal(s->grid_u, w->grid);
		assert_int_equal(s->fee_u, w->fee);
		assert_int_equal(s->net_u, w->net);
		assert_int_equal(s->baseline_u, w->baseline);
		assert_int_equal(s->saving_u, w->saving);
	}
	struct settle_totals t;
	assert_int_equal(settle_totals(st, N_EXAMPLE, &t), PW_OK);
	assert_int_equal(t.bought_wh, 700);
	assert_int_equal(t.sold_wh, 700);
	assert_int_equal(t.peer_paid_u, 143500);
	assert_int_equal(t.peer_received_u, 143500);
	assert_int_equal(t.fee_u, 17000);
	assert_int_equal(t.grid_u, -377240);
	assert_int_equal(t.grid_account_u, 394240);
	assert_int_equal(t.net_u, -394240);
}

/* market.md "rounding per trade": two 1 Wh trades at 1500 u/kWh are 2 u
 * each (1.5 rounded half up), so the seller gets 4 u, not amount(2 Wh) = 3. */
static void
test_rounding_per_trade(void **state)
{
	(void)state;
	const struct settle_tariffs tf = { 1000, 3000 };
	const struct settle_trade sell[] = { { S, 1, 0 }, { S, 1, 0 } };
	const struct settle_trade buy[] = { { B, 1, 500 } };
	const struct settle_reading r_seller = { 0, 0, 2, 0 };
	const struct settle_reading r_buyer = { 0, 0, 0, 1 };
	struct pw_statement st[3];
	memset(st, 0, sizeof(st));
	assert_int_equal(settle_household(&tf, 1500, sell, 2, &r_seller, &st[0]), PW_OK);
	assert_int_equal(settle_household(&tf, 1500, buy, 1, &r_buyer, &st[1]), PW_OK);
	assert_int_equal(settle_household(&tf, 1500, buy, 1, &r_buyer, &st[2]), PW_OK);
	assert_int_equal(st[0].peer_u, 4);
	assert_int_equal(st[1].peer_u, -2);
	assert_int_equal(st[1].fee_u, 1); /* 0.5 u rounds up */
	assert_int_equal(st[1].net_u, -3);
	assert_int_equal(st[1].baseline_u, -3);
	assert_int_equal(st[1].saving_u, 0);
	struct settle_totals t;
	assert_int_equal(settle_totals(st, 3, &t), PW_OK);
	assert_int_equal(t.peer_paid_u, 4);
	assert_int_equal(t.peer_received_u, 4);
}

/* market.md "A negative price": feed-in -50000, clearing price -15001.  The
 * seller pays: amount(800, -15001) = floor(-12000.8 + 0.5) = -12001 (the
 * true floor; truncation toward zero would give -12000). */
static void
test_negative_price_example(void **state)
{
	(void)state;
	const struct settle_tariffs tf = { -50000, 300000 };
	const struct settle_trade sell[] = { { S, 800, 0 } };
	const struct settle_trade buy[] = { { B, 800, 10000 } };
	const struct settle_reading r_seller = { 0, 0, 1000, 0 };
	const struct settle_reading r_buyer = { 0, 0, 0, 900 };
	struct pw_statement st[2];
	memset(st, 0, sizeof(st));
	assert_int_equal(settle_household(&tf, -15001, sell, 1, &r_seller, &st[0]), PW_OK);
	assert_int_equal(st[0].price_uper_kwh, -15001);
	assert_int_equal(st[0].peer_u, -12001);
	assert_int_equal(st[0].excess_wh, 200);
	assert_int_equal(st[0].grid_u, -10000); /* excess export charged at feed-in */
	assert_int_equal(st[0].fee_u, 0);
	assert_int_equal(st[0].net_u, -22001);
	assert_int_equal(st[0].baseline_u, -50000);
	assert_int_equal(st[0].saving_u, 27999);
	assert_int_equal(settle_household(&tf, -15001, buy, 1, &r_buyer, &st[1]), PW_OK);
	assert_int_equal(st[1].peer_u, 12001); /* the buyer is paid */
	assert_int_equal(st[1].fee_u, 8000);
	assert_int_equal(st[1].extra_import_wh, 100);
	assert_int_equal(st[1].grid_u, -30000);
	assert_int_equal(st[1].net_u, 12001 - 30000 - 8000);
	assert_int_equal(st[1].baseline_u, -270000);
	struct settle_totals t;
	assert_int_equal(settle_totals(st, 2, &t), PW_OK);
	assert_int_equal(t.peer_paid_u, 12001);
	assert_int_equal(t.peer_received_u, 12001);
	assert_int_equal(t.net_u + t.grid_account_u, 0);
	/* a statement claiming the truncated figure is caught */
	st[0].peer_u = -12000;
	st[0].net_u = -22000;
	st[0].saving_u = 28000;
	assert_int_equal(settle_totals(st, 2, &t), PW_ERR_CORRUPT);
}

/* Rounding per trade below zero: 1 Wh at -1500 is floor(-1.5 + 0.5) = -1 u
 * per trade, so a seller of two 1 Wh trades pays 2 u (amount(2, -1500) = -3
 * would be 3 u) and each buyer receives exactly 1 u. */
static void
test_negative_rounding_per_trade(void **state)
{
	(void)state;
	const struct settle_tariffs tf = { -1000, 3000 };
	const struct settle_trade sell[] = { { S, 1, 0 }, { S, 1, 0 } };
	const struct settle_trade buy[] = { { B, 1, 500 } };
	const struct settle_reading r_seller = { 0, 0, 2, 0 };
	const struct settle_reading r_buyer = { 0, 0, 0, 1 };
	struct pw_statement st[3];
	memset(st, 0, sizeof(st));
	assert_int_equal(settle_household(&tf, -1500, sell, 2, &r_seller, &st[0]), PW_OK);
	assert_int_equal(settle_household(&tf, -1500, buy, 1, &r_buyer, &st[1]), PW_OK);
	assert_int_equal(settle_household(&tf, -1500, buy, 1, &r_buyer, &st[2]), PW_OK);
	assert_int_equal(st[0].peer_u, -2);
	assert_int_equal(st[0].baseline_u, -2); /* amount(2, -1000) */
	assert_int_equal(st[1].peer_u, 1);
	assert_int_equal(st[1].fee_u, 1);
	assert_int_equal(st[1].net_u, 0);
	struct settle_totals t;
	assert_int_equal(settle_totals(st, 3, &t), PW_OK);
	assert_int_equal(t.peer_paid_u, 2);
	assert_int_equal(t.peer_received_u, 2);
}

static void
test_bad_input(void **state)
{
	(void)state;
	struct pw_statement st;
	const struct settle_reading r = { 0, 0, 0, 0 };
	const struct settle_trade zero[] = { { B, 0, 0 } };
	const struct settle_trade side[] = { { 9, 10, 0 } };
	const struct settle_trade huge[] = { { S, UINT32_MAX, 0 } };
	const struct settle_reading rhuge = { 0, 0, UINT64_MAX, 0 };
	assert_int_equal(settle_household(&tariffs, 1, zero, 1, &r, &st), PW_ERR_FIELD);
	assert_int_equal(settle_household(&tariffs, 1, side, 1, &r, &st), PW_ERR_FIELD);
	assert_int_equal(settle_household(&tariffs, 1, NULL, 1, &r, &st), PW_ERR_ARG);
	assert_int_equal(settle_household(NULL, 1, NULL, 0, &r, &st), PW_ERR_ARG);
	assert_int_equal(settle_household(&tariffs, 1, NULL, 0, NULL, &st), PW_ERR_ARG);
	/* 2^64 Wh at feed-in does not fit in int64 micro-units */
	assert_int_equal(settle_household(&tariffs, 1, NULL, 0, &rhuge, &st), PW_ERR_OVERFLOW);
	/* the largest trade at the largest and lowest prices still fits */
	assert_int_equal(settle_household(&tariffs, INT32_MAX, huge, 1, &r, &st), PW_OK);
	assert_int_equal(settle_household(&tariffs, INT32_MIN, huge, 1, &r, &st), PW_OK);
	struct settle_totals t;
	assert_int_equal(settle_totals(NULL, 1, &t), PW_ERR_ARG);
	assert_int_equal(settle_totals(NULL, 0, &t), PW_OK);
	assert_int_equal(t.net_u, 0);
}

/* ---- random intervals ------------------------------------------------- */

static uint64_t
rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

#define MAX_HH 24
static const char *const zones[] = { "north", "south", "east" };

/* One random interval: households with one order each, cleared, settled. */
static size_t
random_interval(uint64_t *seed, const struct settle_tariffs *tf, int64_t plo, int64_t phi,
                struct pw_statement *st, uint64_t *volume)
{
	size_t n = 1 + (size_t)(rng_next(seed) % MAX_HH);
	struct auction_order o[MAX_HH];
	const char *zone[MAX_HH];
	for (size_t i = 0; i < n; i++) {
		o[i].arrival = i + 1;
		o[i].qty_wh = 1 + (uint32_t)(rng_next(seed) % 2000);
		/* prices that make half-up rounding matter */
		o[i].price_uper_kwh =
		    (int32_t)(plo + (int64_t)(rng_next(seed) % (uint64_t)(phi - plo + 1)));
		o[i].side = (rng_next(seed) & 1) ? B : S;
		zone[i] = zones[rng_next(seed) % 3];
	}
	struct auction_result r;
	assert_int_equal(auction_clear(o, n, &r), PW_OK);
	*volume = r.volume_wh;
	for (size_t h = 0; h < n; h++) {
		struct settle_trade t[MAX_HH];
		size_t nt = 0;
		for (size_t k = 0; k < r.n_trades; k++) {
			const struct auction_trade *tr = &r.trades[k];
			if (tr->buy == h || tr->sell == h) {
				t[nt].side = tr->buy == h ? B : S;
				t[nt].qty_wh = tr->qty_wh;
				t[nt].fee_uper_kwh =
				    settle_fee_lookup(&fees, zone[tr->buy], zone[tr->sell]);
				nt++;
			}
		}
		struct settle_reading rd = { 0, 0, 0, 0 };
		rd.missing = (rng_next(seed) % 5) == 0;
		rd.export_wh = rng_next(seed) % 3000;
		rd.import_wh = rng_next(seed) % 3000;
		assert_int_equal(settle_household(tf, r.price_uper_kwh, t, nt, &rd, &st[h]), PW_OK);
	}
	auction_result_free(&r);
	return n;
}

static void
run_random_intervals(const struct settle_tariffs *tf, int64_t plo, int64_t phi, uint64_t seed)
{
	size_t traded = 0;
	for (int it = 0; it < 3000; it++) {
		struct pw_statement st[MAX_HH];
		uint64_t volume;
		size_t n = random_interval(&seed, tf, plo, phi, st, &volume);
		struct settle_totals t;
		assert_int_equal(settle_totals(st, n, &t), PW_OK);
		assert_int_equal(t.bought_wh, volume);
		assert_int_equal(t.sold_wh, volume);
		assert_int_equal(t.peer_paid_u, t.peer_received_u);
		assert_int_equal(t.net_u + t.grid_account_u, 0);
		for (size_t h = 0; h < n; h++) {
			/* a seller never gains by not reporting: all it sold is
			 * shortfall at retail, at least the price it was paid */
			if ((st[h].flags & PW_STMT_READING_MISSING) && st[h].sold_wh > 0) {
				assert_int_equal(st[h].shortfall_wh, st[h].sold_wh);
				assert_true(st[h].net_u <= 0);
			}
		}
		if (volume > 0) {
			traded++;
			/* forge one statement by one micro-unit: detected */
			size_t h = (size_t)(rng_next(&seed) % n);
			switch (rng_next(&seed) % 4) {
			case 0:
				st[h].peer_u += 1;
				st[h].net_u += 1;
				st[h].saving_u += 1;
				break;
			case 1:
				st[h].net_u -= 1;
				break;
			case 2:
				st[h].sold_wh += 1;
				break;
			default:
				st[h].price_uper_kwh += 1;
				break;
			}
			assert_int_equal(settle_totals(st, n, &t), PW_ERR_CORRUPT);
		}
	}
	assert_true(traded > 1000); /* the property was exercised */
}

static void
test_random_intervals_balance(void **state)
{
	(void)state;
	/* prices that make half-up rounding matter */
	run_random_intervals(&tariffs, 80000, 300000, 0x5e771e);
}

/* A negative feed-in tariff: limits and clearing prices of both signs, odd
 * negative products; statements still balance to the micro-unit. */
static void
test_random_intervals_negative_balance(void **state)
{
	(void)state;
	const struct settle_tariffs tf = { -50000, 300000 };
	run_random_intervals(&tf, -50000, 300000, 0x5e771f);
	const struct settle_tariffs all_neg = { -300001, -1 };
	run_random_intervals(&all_neg, -300001, -1, 0x5e7720);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fee_lookup),
		cmocka_unit_test(test_worked_example),
		cmocka_unit_test(test_rounding_per_trade),
		cmocka_unit_test(test_negative_price_example),
		cmocka_unit_test(test_negative_rounding_per_trade),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_random_intervals_balance),
		cmocka_unit_test(test_random_intervals_negative_balance),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
