/*
 * test_auction.c: the double auction (rules/auction.c) against the
 * worked examples of docs/market.md and, on thousands of random books from
 * a seeded PRNG, against its properties: no trade outside a limit, volume
 * maximal (brute force over every price), one price from the marginal pair,
 * price-time priority, deterministic under shuffling, quantities conserved.
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
#include "peerwatt/wire.h"

#define B PW_SIDE_BUY
#define S PW_SIDE_SELL

/* splitmix64: small, seeded, the same sequence on every machine. */
static uint64_t
rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint32_t
rng_range(uint64_t *s, uint32_t lo, uint32_t hi)
{
	return lo + (uint32_t)(rng_next(s) % ((uint64_t)hi - lo + 1));
}

/* ---- worked examples (docs/market.md "Clearing", same numbers) ---------- */

struct want_trade {
	uint64_t buy_arrival, sell_arrival;
	uint32_t qty_wh;
};

struct example {
	const char *name;
	size_t n;
	struct auction_order orders[8];
	int32_t price;
	uint64_t volume;
	size_t n_trades;
	struct want_trade trades[8];
};

/* Orders are { arrival, qty_wh, price_uper_kwh, side }. */
static const struct example examples[] = {
	{ "market.md example 1: partial fill at the margin",
	  5,
	  { { 1, 400, 200000, S },
	    { 2, 300, 180000, S },
	    { 3, 500, 260000, B },
	    { 4, 300, 210000, B },
	    { 5, 200, 150000, B } },
	  205000,
	  700,
	  3,
	  { { 3, 2, 300 }, { 3, 1, 200 }, { 4, 1, 200 } } },
	{ "market.md example 2: ties by arrival",
	  4,
	  { { 10, 100, 200000, S },
	    { 11, 100, 200000, S },
	    { 12, 150, 220000, B },
	    { 13, 100, 90000, B } },
	  210000,
	  150,
	  2,
	  { { 12, 10, 100 }, { 12, 11, 50 } } },
	{ "market.md example 3: no crossing",
	  2,
	  { { 1, 100, 250000, S }, { 2, 100, 240000, B } },
	  0,
	  0,
	  0,
	  { { 0, 0, 0 } } },
	{ "market.md example 4: odd midpoint rounds down",
	  2,
	  { { 7, 50, 100001, S }, { 8, 80, 100002, B } },
	  100001,
	  50,
	  1,
	  { { 8, 7, 50 } } },
	{ "one side only",
	  2,
	  { { 1, 100, 100000, B }, { 2, 100, 110000, B } },
	  0,
	  0,
	  0,
	  { { 0, 0, 0 } } },
	{ "equal limits trade at that price",
	  2,
	  { { 1, 10, 150000, B }, { 2, 10, 150000, S } },
	  150000,
	  10,
	  1,
	  { { 1, 2, 10 } } },
	{ "extreme prices do not wrap",
	  2,
	  { { 1, 1, INT32_MAX, B }, { 2, 1, INT32_MAX - 1, S } },
	  INT32_MAX - 1,
	  1,
	  1,
	  { { 1, 2, 1 } } },
	{ "lowest prices do not wrap: floor((2 * INT32_MIN + 1) / 2) = INT32_MIN",
	  2,
	  { { 1, 1, INT32_MIN + 1, B }, { 2, 1, INT32_MIN, S } },
	  INT32_MIN,
	  1,
	  1,
	  { { 1, 2, 1 } } },
	{ "the whole i32 range: floor((INT32_MAX + INT32_MIN) / 2) = floor(-1/2) = -1",
	  2,
	  { { 1, 1, INT32_MAX, B }, { 2, 1, INT32_MIN, S } },
	  -1,
	  1,
	  1,
	  { { 1, 2, 1 } } },
	{ "market.md example 5: negative limits, negative price",
	  4,
	  { { 1, 300, -50000, S },
	    { 2, 200, -20000, S },
	    { 3, 400, -10000, B },
	    { 4, 300, -40000, B } },
	  -15000,
	  400,
	  2,
	  { { 3, 1, 300 }, { 3, 2, 100 } } },
	{ "market.md example 6: mixed signs, odd sum rounds toward minus infinity",
	  2,
	  { { 1, 100, -30001, S }, { 2, 100, 0, B } },
	  -15001, /* floor(-15000.5); C division would give -15000 */
	  100,
	  1,
	  { { 2, 1, 100 } } },
	{ "negative asks rank before positive ones, bids above zero before negative",
	  4,
	  { { 1, 10, 5, S }, { 2, 10, -5, S }, { 3, 10, -3, B }, { 4, 10, 7, B } },
	  1, /* 4 <- 2, then bid 3 (-3) < ask 1 (5) stops; floor((7 + -5) / 2) = 1 */
	  10,
	  1,
	  { { 4, 2, 10 } } },
	{ "price zero ask and bid",
	  2,
	  { { 1, 5, 0, B }, { 2, 5, 0, S } },
	  0,
	  5,
	  1,
	  { { 1, 2, 5 } } },
};

static void
test_examples(void **state)
{
	(void)state;
	for (size_t e = 0; e < sizeof(examples) / sizeof(examples[0]); e++) {
		const struct example *ex = &examples[e];
		struct auction_result r;
		assert_int_equal(auction_clear(ex->orders, ex->n, &r), PW_OK);
		if (r.price_uper_kwh != ex->price || r.volume_wh != ex->volume ||
		    r.n_trades != ex->n_trades)
			print_message("example: %s\n", ex->name);
		assert_int_equal(r.price_uper_kwh, ex->price);
		assert_int_equal(r.volume_wh, ex->volume);
		assert_int_equal(r.n_trades, ex->n_trades);
		for (size_t t = 0; t < r.n_trades; t++) {
			assert_int_equal(ex->orders[r.trades[t].buy].arrival,
			                 ex->trades[t].buy_arrival);
			assert_int_equal(ex->orders[r.trades[t].sell].arrival,
			                 ex->trades[t].sell_arrival);
			assert_int_equal(r.trades[t].qty_wh, ex->trades[t].qty_wh);
		}
		auction_result_free(&r);
		assert_null(r.trades);
		assert_int_equal(r.n_trades, 0);
	}
}

static void
test_bad_input_leaves_result_empty(void **state)
{
	(void)state;
	const struct auction_order zero_qty[] = { { 1, 10, 100, B }, { 2, 0, 90, S } };
	const struct auction_order bad_side[] = { { 1, 10, 100, B }, { 2, 10, 90, 3 } };
	const struct auction_order dup_arrival[] = { { 5, 10, 100, B },
		                                     { 1, 10, 90, S },
		                                     { 5, 10, 80, S } };
	struct auction_result r;
	assert_int_equal(auction_clear(zero_qty, 2, &r), PW_ERR_FIELD);
	assert_int_equal(r.n_trades, 0);
	assert_null(r.trades);
	assert_int_equal(auction_clear(bad_side, 2, &r), PW_ERR_FIELD);
	assert_int_equal(r.volume_wh, 0);
	assert_int_equal(auction_clear(dup_arrival, 3, &r), PW_ERR_FIELD);
	assert_null(r.trades);
	assert_int_equal(auction_clear(NULL, 0, &r), PW_OK);
	assert_int_equal(r.n_trades, 0);
	auction_result_free(&r);
	auction_result_free(NULL);
}

/* ---- properties on random books ----------------------------------------- */

/* Max over every candidate price p of min(demand at p, supply at p): the
 * largest volume any single uniform price can clear, computed without the
 * greedy walk. */
static uint64_t
brute_force_volume(const struct auction_order *o, size_t n)
{
	uint64_t best = 0;
	for (size_t c = 0; c < n; c++) {
		int32_t p = o[c].price_uper_kwh;
		uint64_t d = 0, s = 0;
		for (size_t i = 0; i < n; i++) {
			if (o[i].side == B && o[i].price_uper_kwh >= p)
				d += o[i].qty_wh;
			if (o[i].side == S && o[i].price_uper_kwh <= p)
				s += o[i].qty_wh;
		}
		uint64_t v = d < s ? d : s;
		if (v > best)
			best = v;
	}
	return best;
}

/* Does order a rank strictly before order b on their (common) side? */
static int
ranks_before(const struct auction_order *a, const struct auction_order *b)
{
	if (a->price_uper_kwh != b->price_uper_kwh)
		return a->side == B ? a->price_uper_kwh > b->price_uper_kwh
		                    : a->price_uper_kwh < b->price_uper_kwh;
	return a->arrival < b->arrival;
}

/* The linear checks of a result: every trade within its limits, the
 * volume summed, no order over its quantity, both sides filled alike.
 * Returns what each order got filled (the caller frees it). */
static uint64_t *
check_trades(const struct auction_order *o, size_t n, const struct auction_result *r)
{
	uint64_t *filled = calloc(n ? n : 1, sizeof(*filled));
	assert_non_null(filled);
	uint64_t vol = 0;
	for (size_t t = 0; t < r->n_trades; t++) {
		const struct auction_trade *tr = &r->trades[t];
		assert_true(tr->buy < n && tr->sell < n);
		assert_int_equal(o[tr->buy].side, B);
		assert_int_equal(o[tr->sell].side, S);
		assert_true(tr->qty_wh > 0);
		/* no trade outside a limit */
		assert_true(o[tr->buy].price_uper_kwh >= r->price_uper_kwh);
		assert_true(o[tr->sell].price_uper_kwh <= r->price_uper_kwh);
		filled[tr->buy] += tr->qty_wh;
		filled[tr->sell] += tr->qty_wh;
		vol += tr->qty_wh;
	}
	assert_int_equal(vol, r->volume_wh);
	/* quantities conserved */
	uint64_t fb = 0, fs = 0;
	for (size_t i = 0; i < n; i++) {
		assert_true(filled[i] <= o[i].qty_wh);
		if (o[i].side == B)
			fb += filled[i];
		else
			fs += filled[i];
	}
	assert_int_equal(fb, vol);
	assert_int_equal(fs, vol);
	return filled;
}

static void
check_properties(const struct auction_order *o, size_t n, const struct auction_result *r)
{
	uint64_t *filled = check_trades(o, n, r);
	/* volume maximal over every uniform price */
	assert_int_equal(r->volume_wh, brute_force_volume(o, n));
	/* one price from the marginal pair (the last trade) */
	if (r->n_trades == 0) {
		assert_int_equal(r->price_uper_kwh, 0);
	} else {
		const struct auction_trade *m = &r->trades[r->n_trades - 1];
		int64_t mb = o[m->buy].price_uper_kwh, ma = o[m->sell].price_uper_kwh;
		assert_true(mb >= ma);
		/* floor of the midpoint, also below zero: subtract the odd bit
		 * (1 for odd negatives too in two's complement), then halve exactly */
		int64_t sum = mb + ma;
		assert_true(r->price_uper_kwh == (sum - (sum & 1)) / 2);
	}
	/* price-time priority: nothing trades while a better order on its side
	 * is left (partly) unfilled */
	for (size_t i = 0; i < n; i++) {
		if (filled[i] == o[i].qty_wh)
			continue;
		for (size_t j = 0; j < n; j++)
			if (o[j].side == o[i].side && ranks_before(&o[i], &o[j]))
				assert_int_equal(filled[j], 0);
	}
	free(filled);
}

static void
shuffle(struct auction_order *o, size_t n, uint64_t *seed)
{
	for (size_t i = n; i > 1; i--) {
		size_t j = (size_t)(rng_next(seed) % i);
		struct auction_order t = o[i - 1];
		o[i - 1] = o[j];
		o[j] = t;
	}
}

/* The same trades, named by arrival numbers, in the same sequence. */
static void
assert_same_result(const struct auction_order *o1, const struct auction_result *r1,
                   const struct auction_order *o2, const struct auction_result *r2)
{
	assert_int_equal(r1->price_uper_kwh, r2->price_uper_kwh);
	assert_int_equal(r1->volume_wh, r2->volume_wh);
	assert_int_equal(r1->n_trades, r2->n_trades);
	for (size_t t = 0; t < r1->n_trades; t++) {
		assert_int_equal(o1[r1->trades[t].buy].arrival, o2[r2->trades[t].buy].arrival);
		assert_int_equal(o1[r1->trades[t].sell].arrival, o2[r2->trades[t].sell].arrival);
		assert_int_equal(r1->trades[t].qty_wh, r2->trades[t].qty_wh);
	}
}

static size_t
random_book(struct auction_order *o, size_t max_n, uint64_t *seed, int64_t plo, int64_t phi,
            uint32_t qmax, int arrivals)
{
	/* arrivals 0: consecutive; 1: gaps up to 10^6; 2: gaps up to 2^52, so the
	 * arrival numbers span up to 62 bits */
	static const uint64_t gap[] = { 1, 1000000, (uint64_t)1 << 52 };
	size_t n = rng_range(seed, 0, (uint32_t)max_n);
	uint64_t arrival = rng_next(seed) % 1000;
	for (size_t i = 0; i < n; i++) {
		arrival += arrivals == 0 ? 1 : 1 + rng_next(seed) % gap[arrivals];
		o[i].arrival = arrival;
		o[i].qty_wh = rng_range(seed, 1, qmax);
		o[i].price_uper_kwh =
		    (int32_t)(plo + (int64_t)(rng_next(seed) % (uint64_t)(phi - plo + 1)));
		o[i].side = (rng_next(seed) & 1) ? B : S;
	}
	return n;
}

/* A shuffled copy of o[0, n) (in o2) clears to the same trades as r1. */
static void
assert_shuffled_same(const struct auction_order *o, struct auction_order *o2, size_t n,
                     const struct auction_result *r1, uint64_t *seed)
{
	struct auction_result r2;
	memcpy(o2, o, n * sizeof(*o));
	shuffle(o2, n, seed);
	assert_int_equal(auction_clear(o2, n, &r2), PW_OK);
	assert_same_result(o, r1, o2, &r2);
	auction_result_free(&r2);
}

static void
run_random_books(size_t books, size_t max_n, int64_t plo, int64_t phi, uint32_t qmax, uint64_t seed)
{
	struct auction_order *o = malloc(max_n * sizeof(*o));
	struct auction_order *o2 = malloc(max_n * sizeof(*o2));
	assert_non_null(o);
	assert_non_null(o2);
	for (size_t b = 0; b < books; b++) {
		size_t n = random_book(o, max_n, &seed, plo, phi, qmax, (int)(b % 3));
		struct auction_result r1;
		assert_int_equal(auction_clear(o, n, &r1), PW_OK);
		check_properties(o, n, &r1);
		assert_shuffled_same(o, o2, n, &r1, &seed);
		auction_result_free(&r1);
	}
	free(o);
	free(o2);
}

/* Small books with few price levels: many ties, exhaustive volume check. */
static void
test_random_small_books(void **state)
{
	(void)state;
	run_random_books(5000, 24, 10, 20, 10, 0x5eedull);
}

/* Prices spread over the whole i32 range, books small (insertion sort) and
 * large (radix sort): exercises every digit and both signs. */
static void
test_random_wide_prices(void **state)
{
	(void)state;
	run_random_books(1000, 40, INT32_MIN, INT32_MAX, 1000, 0xfeedull);
	run_random_books(300, 400, INT32_MIN, INT32_MAX, 1000, 0xfade5ull);
	run_random_books(300, 400, INT32_MAX - 5000, INT32_MAX, 1000, 0xface5ull);
	run_random_books(300, 400, INT32_MIN, INT32_MIN + 5000, 1000, 0xfacadeull);
}

/* Negative and mixed-sign limits around zero (a negative feed-in tariff):
 * few levels, many ties, odd negative midpoints. */
static void
test_random_negative_prices(void **state)
{
	(void)state;
	run_random_books(5000, 24, -20, 20, 10, 0x7e6ull);
	run_random_books(3000, 24, -21, -1, 10, 0x7e7ull);
	run_random_books(60, 1500, -150000, 300000, 5000, 0x7e8ull);
}

/* Books above the insertion-sort threshold. */
static void
test_random_large_books(void **state)
{
	(void)state;
	run_random_books(60, 1500, 150000, 300000, 5000, 0xbeefull);
}

/* Books whose sort buffers are big enough for their own mapping (rules/
 * auction.c big_alloc: 4 MiB for the three, i.e. 87382 orders): the same result in
 * arrival order and shuffled, and the trades within the limits and the
 * quantities. */
static void
test_huge_books(void **state)
{
	(void)state;
	const size_t n = 300000;
	uint64_t seed = 0x4a9eull;
	struct auction_order *o = malloc(n * sizeof(*o));
	struct auction_order *o2 = malloc(n * sizeof(*o2));
	assert_non_null(o);
	assert_non_null(o2);
	for (int k = 0; k < 2; k++) {
		uint64_t arrival = 0;
		for (size_t i = 0; i < n; i++) {
			arrival += 1 + rng_next(&seed) % 3;
			o[i].arrival = arrival;
			o[i].qty_wh = rng_range(&seed, 1, 5000);
			o[i].price_uper_kwh = k == 0 ? 80000 + (int32_t)(rng_next(&seed) % 220001)
			                             : (int32_t)(rng_next(&seed) % 400001) - 200000;
			o[i].side = (rng_next(&seed) & 1) ? B : S;
		}
		struct auction_result r1;
		assert_int_equal(auction_clear(o, n, &r1), PW_OK);
		assert_true(r1.n_trades > 0);
		free(check_trades(o, n, &r1)); /* check_properties is quadratic */
		assert_shuffled_same(o, o2, n, &r1, &seed);
		auction_result_free(&r1);
	}
	free(o);
	free(o2);
}

/* Clearing twice gives identical trades (no hidden state). */
static void
test_repeatable(void **state)
{
	(void)state;
	uint64_t seed = 42;
	static struct auction_order o[3000];
	size_t n = 0;
	while (n < 2000)
		n = random_book(o, 3000, &seed, 100, 200, 50, 1);
	struct auction_result r1, r2;
	assert_int_equal(auction_clear(o, n, &r1), PW_OK);
	assert_int_equal(auction_clear(o, n, &r2), PW_OK);
	assert_true(r1.n_trades > 0);
	assert_same_result(o, &r1, o, &r2);
	for (size_t t = 0; t < r1.n_trades; t++) {
		assert_int_equal(r1.trades[t].buy, r2.trades[t].buy);
		assert_int_equal(r1.trades[t].sell, r2.trades[t].sell);
	}
	auction_result_free(&r1);
	auction_result_free(&r2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_examples),
		cmocka_unit_test(test_bad_input_leaves_result_empty),
		cmocka_unit_test(test_random_small_books),
		cmocka_unit_test(test_random_wide_prices),
		cmocka_unit_test(test_random_negative_prices),
		cmocka_unit_test(test_random_large_books),
		cmocka_unit_test(test_huge_books),
		cmocka_unit_test(test_repeatable),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
