/* test_mprofile.c: the local market's residual demand from a book, and the
 * per time-of-day expectation of price and volume (agent/mprofile.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "agent/mprofile.h"

static struct pw_depth_level
lv(uint8_t side, int32_t price, uint64_t qty)
{
	struct pw_depth_level l = { side, price, qty };
	return l;
}

#define B PW_SIDE_BUY
#define S PW_SIDE_SELL

static void
test_residual(void **state)
{
	(void)state;
	int64_t v;
	int32_t p;
	struct pw_depth_level book[8];

	memset(book, 0, sizeof(book));

	/* an empty book, or asks only: nobody to sell to */
	assert_false(mprofile_residual(book, 0, &v, &p));
	assert_int_equal(v, 0);
	assert_int_equal(p, 0);
	book[0] = lv(S, 100000, 500);
	assert_false(mprofile_residual(book, 1, &v, &p));
	/* a bid alone: all of it, at its price */
	book[0] = lv(B, 250000, 800);
	assert_true(mprofile_residual(book, 1, &v, &p));
	assert_int_equal(v, 800);
	assert_int_equal(p, 250000);
	/* bids 300 @ 0.28 and 500 @ 0.20 (given in any order), asks 200 @
	 * 0.10 and 400 @ 0.25: the 0.10 ask takes 200 of the 0.28 bid, the
	 * 0.25 ask the other 100 of it; the 0.20 bid is below the 0.25 ask:
	 * 500 left at 0.20 */
	book[0] = lv(S, 250000, 400);
	book[1] = lv(B, 200000, 500);
	book[2] = lv(S, 100000, 200);
	book[3] = lv(B, 280000, 300);
	assert_true(mprofile_residual(book, 4, &v, &p));
	assert_int_equal(v, 500);
	assert_int_equal(p, 200000);
	/* an ask below every bid covering part: 700 of 800 left, lowest 0.20 */
	book[0] = lv(S, 50000, 100);
	book[1] = lv(B, 200000, 500);
	book[2] = lv(B, 280000, 300);
	assert_true(mprofile_residual(book, 3, &v, &p));
	assert_int_equal(v, 700);
	assert_int_equal(p, 200000);
	/* asks covering every bid: nothing left */
	book[0] = lv(S, 50000, 1000);
	assert_false(mprofile_residual(book, 3, &v, &p));
	assert_int_equal(v, 0);
	/* the top bid partly left, nothing below it */
	book[0] = lv(S, 50000, 100);
	book[1] = lv(B, 280000, 300);
	assert_true(mprofile_residual(book, 2, &v, &p));
	assert_int_equal(v, 200);
	assert_int_equal(p, 280000);
	/* sides other than buy and sell, empty and absurd levels: ignored */
	book[0] = lv(7, 300000, 900);
	book[1] = lv(B, 300000, 0);
	book[2] = lv(B, 300000, UINT64_MAX);
	book[3] = lv(B, -10000, 40);
	assert_true(mprofile_residual(book, 4, &v, &p));
	assert_int_equal(v, 40);
	assert_int_equal(p, -10000);
}

static void
test_expect(void **state)
{
	(void)state;
	struct mprofile m;
	int32_t p;
	int64_t v;

	assert_int_equal(mprofile_init(&m, 0), PW_ERR_RANGE);
	assert_int_equal(mprofile_init(&m, 86401), PW_ERR_RANGE);
	assert_int_equal(mprofile_init(&m, 1800), PW_OK);
	assert_int_equal(m.n_slots, 48);
	/* nothing learned: the tariffs' midpoint, no volume */
	assert_false(mprofile_expect(&m, 20 * 3600, 80000, 300000, &p, &v));
	assert_int_equal(p, 190000);
	assert_int_equal(v, 0);
	/* the first observation of a slot is taken as is */
	mprofile_learn(&m, 20 * 3600, true, 260000, 900);
	assert_true(mprofile_expect(&m, 20 * 3600 + 600, 80000, 300000, &p, &v));
	assert_int_equal(p, 260000);
	assert_int_equal(v, 900);
	/* later ones move it by a third (one interval a slot) */
	mprofile_learn(&m, 20 * 3600, true, 200000, 0);
	assert_true(mprofile_expect(&m, 20 * 3600, 80000, 300000, &p, &v));
	assert_int_equal(p, 240000);
	assert_int_equal(v, 600);
	/* no price (no volume cleared): the price stays, the volume moves */
	mprofile_learn(&m, 20 * 3600, false, 0, 0);
	assert_true(mprofile_expect(&m, 20 * 3600, 80000, 300000, &p, &v));
	assert_int_equal(p, 240000);
	assert_int_equal(v, 400);
	/* clamped into the interval's tariffs */
	assert_true(mprofile_expect(&m, 20 * 3600, 80000, 220000, &p, &v));
	assert_int_equal(p, 220000);
	assert_true(mprofile_expect(&m, 20 * 3600, 250000, 300000, &p, &v));
	assert_int_equal(p, 250000);
	/* another slot is still unknown; a volume without a price: midpoint */
	mprofile_learn(&m, 3 * 3600, false, 0, 50);
	assert_true(mprofile_expect(&m, 3 * 3600, -20000, 300000, &p, &v));
	assert_int_equal(p, 140000);
	assert_int_equal(v, 50);
	/* short intervals share a 15-minute slot and move it per interval */
	assert_int_equal(mprofile_init(&m, 300), PW_OK);
	assert_int_equal(m.slot_s, 900);
	mprofile_learn(&m, 0, true, 90000, 900);
	mprofile_learn(&m, 300, true, 0, 0);
	assert_true(mprofile_expect(&m, 600, -100000, 300000, &p, &v));
	assert_int_equal(p, 80000); /* 90000 - 90000 / 9 */
	assert_int_equal(v, 800);
	/* negative volume is none; the tod wraps at a day */
	mprofile_learn(&m, 86400 + 5, true, 1000, -5);
	assert_true(mprofile_expect(&m, 5, -100000, 300000, &p, &v));
	assert_int_equal(v, 711); /* 800 - 800 / 9 */
	assert_int_equal(mprofile_clamp(INT64_MAX, -5, 5), 5);
	assert_int_equal(mprofile_clamp(INT64_MIN, -5, 5), -5);
}

/* A slot not seen yet takes the prior: where past clearings lay between
 * their tariffs, applied to this interval's, and half the neighbours' bids
 * (the first evening is planned from what midday taught). */
static void
test_prior(void **state)
{
	(void)state;
	struct mprofile m;
	int32_t p;
	int64_t v;

	assert_int_equal(mprofile_init(&m, 1800), PW_OK);
	/* midday: cleared at 11.6 between 0.9 and 16.8 (67.3 %), 3,000 Wh of bids */
	mprofile_learn(&m, 12 * 3600, true, 116000, 0);
	mprofile_learn_prior(&m, true, 116000, 9000, 168000, 3000);
	/* the learned slot keeps its own */
	assert_true(mprofile_expect(&m, 12 * 3600, 9000, 168000, &p, &v));
	assert_int_equal(p, 116000);
	assert_int_equal(v, 0);
	/* the evening, not seen: 67.3 % of the way from 11.5 to 42.6 */
	assert_false(mprofile_expect(&m, 19 * 3600, 115000, 426000, &p, &v));
	assert_int_equal(p, 115000 + (int32_t)((116000.0 - 9000) / (168000 - 9000) * 311000 + 0.5));
	assert_int_equal(v, 1500);
	/* later intervals move it by an eighth; an interval without a
	 * clearing or with equal tariffs teaches no place, an unknown book no bids */
	mprofile_learn_prior(&m, true, 168000, 9000, 168000, 1000);
	mprofile_learn_prior(&m, false, 0, 9000, 168000, -1);
	mprofile_learn_prior(&m, true, 50000, 50000, 50000, -1);
	assert_false(mprofile_expect(&m, 19 * 3600, 0, 100000, &p, &v));
	assert_int_equal(v, 1375); /* (3000 + (1000 - 3000) / 8) / 2 */
	/* the place is clamped to 0..1 */
	assert_int_equal(mprofile_init(&m, 1800), PW_OK);
	mprofile_learn_prior(&m, true, 500000, 0, 100000, 0);
	assert_false(mprofile_expect(&m, 19 * 3600, 0, 100000, &p, &v));
	assert_int_equal(p, 100000);
	assert_int_equal(v, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_residual),
		cmocka_unit_test(test_expect),
		cmocka_unit_test(test_prior),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
