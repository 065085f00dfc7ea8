/* test_ivacct.c: interval readings from meter samples: exact chaining,
 * interpolation at boundaries, gaps flagged, catch-up in pieces, resume
 * after restart, backwards registers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "agent/ivacct.h"

#define L_S 10

static void
check_chain(const struct ivacct_reading *r, size_t n)
{
	for (size_t k = 1; k < n; k++) {
		assert_int_equal(r[k].interval, r[k - 1].interval + 1);
		assert_int_equal(r[k].export_start_wh, r[k - 1].export_end_wh);
		assert_int_equal(r[k].import_start_wh, r[k - 1].import_end_wh);
	}
	for (size_t k = 0; k < n; k++) {
		assert_true(r[k].export_end_wh >= r[k].export_start_wh);
		assert_true(r[k].import_end_wh >= r[k].import_start_wh);
	}
}

static void
test_regular_polls(void **state)
{
	struct ivacct a;
	struct ivacct_reading r[64], tmp[4];
	size_t n = 0;
	int64_t t0 = 1700000000000; /* a multiple of 10 s */
	(void)state;
	ivacct_init(&a, L_S, 2500);
	/* 3600 W export = 1 Wh/s; 720 W import = 0.2 Wh/s; polls every 1 s,
	 * 300 ms after each second */
	for (int s = 0; s <= 55; s++) {
		int64_t t = t0 + s * 1000 + 300;
		size_t k = ivacct_sample(&a, t, 1000 + (uint64_t)(t - t0) / 1000,
		                         500 + (uint64_t)(t - t0) / 5000, tmp, 4);
		assert_true(k <= 1);
		memcpy(&r[n], tmp, k * sizeof(tmp[0]));
		n += k;
	}
	/* boundaries at +10, +20 ... +50: the first opens the chain */
	assert_int_equal(n, 4);
	check_chain(r, n);
	for (size_t k = 0; k < n; k++) {
		assert_int_equal(r[k].interval, (uint64_t)(t0 / 10000) + 1 + k);
		assert_int_equal(r[k].export_end_wh - r[k].export_start_wh, 10);
		assert_int_equal(r[k].import_end_wh - r[k].import_start_wh, 2);
		assert_false(r[k].estimated);
	}
	assert_int_equal(r[0].export_start_wh, 1009); /* 1009 at 9.3 s, 1010 at 10.3 s */
}

static void
test_gap_is_interpolated_and_flagged(void **state)
{
	struct ivacct a;
	struct ivacct_reading r[16];
	size_t n;
	(void)state;
	ivacct_init(&a, L_S, 2500);
	assert_int_equal(ivacct_sample(&a, 5000, 0, 0, r, 16), 0);
	assert_int_equal(ivacct_sample(&a, 15000, 100, 0, r, 16), 0); /* opens interval 1 */
	/* device silent from 15 s to 55 s: 400 Wh over 40 s */
	n = ivacct_sample(&a, 55000, 500, 40, r, 16);
	assert_int_equal(n, 4); /* intervals 1..4 closed at 20, 30, 40, 50 */
	check_chain(r, n);
	assert_int_equal(r[0].interval, 1);
	assert_int_equal(r[0].export_start_wh, 50);
	assert_int_equal(r[0].export_end_wh, 150);
	assert_int_equal(r[3].export_end_wh, 450);
	assert_int_equal(r[3].import_end_wh, 35);
	for (size_t k = 0; k < n; k++)
		assert_true(r[k].estimated);
	/* back to normal (polls every second): the interval whose start was
	 * estimated stays so, the next one is not */
	for (int t = 56; t <= 71; t++) {
		n = ivacct_sample(&a, t * 1000 + 200, 500 + (uint64_t)(t - 55) * 10, 40, r, 16);
		if (t == 60) {
			assert_int_equal(n, 1);
			assert_int_equal(r[0].interval, 5);
			assert_int_equal(r[0].export_start_wh, 450);
			assert_true(r[0].estimated);
		} else if (t == 70) {
			assert_int_equal(n, 1);
			assert_int_equal(r[0].interval, 6);
			assert_false(r[0].estimated);
		} else {
			assert_int_equal(n, 0);
		}
	}
}

static void
test_long_gap_in_pieces(void **state)
{
	struct ivacct a;
	struct ivacct_reading all[128], r[8];
	size_t n = 0, k;
	int calls = 0;
	(void)state;
	ivacct_init(&a, L_S, 2500);
	(void)ivacct_sample(&a, 1000, 0, 0, r, 8);
	(void)ivacct_sample(&a, 10000, 9, 0, r, 8);
	/* 100 intervals later */
	do {
		k = ivacct_sample(&a, 1010000, 100900, 2000, r, 8);
		memcpy(&all[n], r, k * sizeof(r[0]));
		n += k;
		calls++;
	} while (k == 8);
	assert_int_equal(n, 100);
	assert_int_equal(calls, 13);
	check_chain(all, n);
	assert_int_equal(all[0].interval, 1);
	assert_int_equal(all[0].export_start_wh, 9);
	/* 100891 Wh over 1 000 s from t = 10 s: boundary 101 (t = 1 010 s) is the sample itself */
	assert_int_equal(all[99].export_end_wh, 100900);
	assert_int_equal(all[49].export_end_wh, 9 + 100891 * 500 / 1000);
}

static void
test_resume_after_restart(void **state)
{
	struct ivacct a;
	struct ivacct_reading r[4];
	(void)state;
	ivacct_init(&a, L_S, 2500);
	ivacct_resume(&a, 5, 100, 50);
	for (int t = 61; t <= 71; t++) {
		size_t n =
		    ivacct_sample(&a, t * 1000, 100 + (uint64_t)(t - 60), 50 + (t >= 66), r, 4);
		assert_int_equal(n, t == 70 ? 1 : 0);
	}
	assert_int_equal(r[0].interval, 6);
	assert_int_equal(r[0].export_start_wh, 100);
	assert_int_equal(r[0].import_start_wh, 50);
	assert_int_equal(r[0].export_end_wh, 110);
	assert_int_equal(r[0].import_end_wh, 51);
	assert_false(r[0].estimated);
	/* down across several intervals: resumed chain is interpolated */
	ivacct_init(&a, L_S, 2500);
	ivacct_resume(&a, 5, 100, 50);
	assert_int_equal(ivacct_sample(&a, 95000, 135, 50, r, 4), 3); /* 6, 7, 8 */
	assert_int_equal(r[0].export_start_wh, 100);
	assert_int_equal(r[2].export_end_wh, 130);
	assert_true(r[0].estimated);
}

static void
test_backwards_register_drops_chain(void **state)
{
	struct ivacct a;
	struct ivacct_reading r[4];
	(void)state;
	ivacct_init(&a, L_S, 2500);
	(void)ivacct_sample(&a, 9000, 100, 10, r, 4);
	(void)ivacct_sample(&a, 10500, 101, 10, r, 4);              /* opens interval 1 */
	assert_int_equal(ivacct_sample(&a, 15000, 3, 10, r, 4), 0); /* reset */
	assert_int_equal(a.resets, 1);
	assert_int_equal(ivacct_sample(&a, 20500, 13, 10, r, 4), 0); /* interval 1 lost */
	assert_int_equal(ivacct_sample(&a, 30500, 23, 11, r, 4), 1);
	assert_int_equal(r[0].interval, 2);
	/* an old sample is ignored */
	assert_int_equal(ivacct_sample(&a, 1000, 0, 0, r, 4), 0);
	assert_int_equal(a.prev_ms, 30500);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_regular_polls),
		cmocka_unit_test(test_gap_is_interpolated_and_flagged),
		cmocka_unit_test(test_long_gap_in_pieces),
		cmocka_unit_test(test_resume_after_restart),
		cmocka_unit_test(test_backwards_register_drops_chain),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
