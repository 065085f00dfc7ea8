/*
 * test_mcheck.c: the plausibility gate of grid-meter samples (agent/mcheck.c):
 * the first sample after a start checked against the last signed reading,
 * glitches refused, a real jump taken as the new base only after
 * MCHECK_CONFIRM agreeing samples, the tolerance and the resolution.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "agent/mcheck.h"

/* 5 kW rated: 1 s allows 5000 / 3600 x 1.1 = 1.53 Wh (+1 Wh) = 2 Wh */
#define RATED 5000

static void
test_max_step(void **state)
{
	(void)state;
	assert_int_equal(mcheck_max_step_wh(RATED, 1000, 1), 2);
	assert_int_equal(mcheck_max_step_wh(RATED, 3600000, 1), 5501); /* 1 h: 5.5 kWh + 1 */
	assert_int_equal(mcheck_max_step_wh(RATED, 0, 1), 1);
	assert_int_equal(mcheck_max_step_wh(RATED, -5, 0), 1);
	assert_int_equal(mcheck_max_step_wh(RATED, 1000, 10), 11); /* a 0.01 kWh counter */
	/* no overflow for absurd gaps */
	assert_true(mcheck_max_step_wh(UINT32_MAX, INT64_MAX, 1) > 0);
}

/* The glitch of issue 16: the register jumps by 10^9 Wh while the agent
 * is stopped; the first sample after the start is refused like any other. */
static void
test_first_sample_after_start_is_checked(void **state)
{
	struct mcheck m;
	(void)state;
	mcheck_init(&m, RATED, 0);
	assert_int_equal(m.confirm, MCHECK_CONFIRM);
	/* the last signed reading ended at t = 900 s with 4,000,000 Wh exported */
	mcheck_resume(&m, 900000, 4000000, 2500000);
	/* 60 s later: at most 60 x 5000 / 3600 x 1.1 + 1 = 92 Wh */
	assert_int_equal(mcheck_sample(&m, 960000, 4000000 + 1000000000ull, 2500000, 1),
	                 MCHECK_REJECT);
	assert_int_equal(m.rejected, 1);
	assert_int_equal(m.last_dexp_wh, 1000000000);
	assert_int_equal(m.last_dimp_wh, 0);
	assert_int_equal(m.last_max_wh, 92);
	/* the base has not moved: a plausible sample continues from it */
	assert_int_equal(m.base_exp_wh, 4000000);
	assert_int_equal(mcheck_sample(&m, 961000, 4000090, 2500000, 1), MCHECK_ACCEPT);
	assert_int_equal(m.base_exp_wh, 4000090);
	assert_int_equal(m.have_cand, 0);
	/* a long downtime allows more: 1 h later, 5 kWh is plausible */
	assert_int_equal(mcheck_sample(&m, 961000 + 3600000, 4005090, 2500000, 1), MCHECK_ACCEPT);
	/* the step of one poll just above the tolerance is refused */
	assert_int_equal(mcheck_sample(&m, 961000 + 3601000, 4005093, 2500000, 1), MCHECK_REJECT);
	assert_int_equal(mcheck_sample(&m, 961000 + 3602000, 4005094, 2500000, 1), MCHECK_ACCEPT);
}

/* Without any base (a new household) the first sample is the base. */
static void
test_no_base_first_sample_is_base(void **state)
{
	struct mcheck m;
	(void)state;
	mcheck_init(&m, RATED, 3);
	assert_int_equal(mcheck_sample(&m, 1000, 123456789, 42, 1), MCHECK_ACCEPT);
	assert_int_equal(mcheck_sample(&m, 2000, 123456790, 42, 1), MCHECK_ACCEPT);
	assert_int_equal(mcheck_sample(&m, 3000, 123456790, 40, 1), MCHECK_REJECT);
}

/* A meter replaced or reset: its samples agree with each other; after
 * `confirm` of them the last is the new base. */
static void
test_jump_confirmed_rebases(void **state)
{
	struct mcheck m;
	(void)state;
	mcheck_init(&m, RATED, 5);
	mcheck_resume(&m, 0, 4000000, 2500000);
	for (int k = 1; k <= 4; k++)
		assert_int_equal(mcheck_sample(&m, k * 1000, 10 + (uint64_t)k, 5, 1),
		                 MCHECK_REJECT);
	assert_int_equal(m.cand_n, 4);
	assert_true(m.last_dexp_wh < 0);
	assert_int_equal(mcheck_sample(&m, 5000, 15, 5, 1), MCHECK_REBASE);
	assert_int_equal(m.rebased, 1);
	assert_int_equal(m.base_exp_wh, 15);
	assert_int_equal(m.base_ms, 5000);
	assert_int_equal(mcheck_sample(&m, 6000, 16, 6, 1), MCHECK_ACCEPT);
	/* and forwards: +10^9 Wh */
	for (int k = 1; k <= 4; k++)
		assert_int_equal(mcheck_sample(&m, 6000 + k * 1000, 1000000016ull, 6, 1),
		                 MCHECK_REJECT);
	assert_int_equal(mcheck_sample(&m, 11000, 1000000017ull, 6, 1), MCHECK_REBASE);
}

/* Garbage that does not agree with itself never becomes the base; a
 * glitch among good samples leaves the base where it was. */
static void
test_disagreeing_garbage_never_rebases(void **state)
{
	struct mcheck m;
	(void)state;
	mcheck_init(&m, RATED, 5);
	mcheck_resume(&m, 0, 4000000, 2500000);
	for (int k = 1; k <= 40; k++) {
		uint64_t e = (k % 2) ? 1000000000ull : 7; /* up, down, up... */
		assert_int_equal(mcheck_sample(&m, k * 1000, e, 2500000, 1), MCHECK_REJECT);
	}
	assert_int_equal(m.rebased, 0);
	assert_int_equal(m.base_exp_wh, 4000000);
	/* four agreeing, then a good one: the base carries on, the run restarts */
	for (int k = 41; k <= 44; k++)
		assert_int_equal(mcheck_sample(&m, k * 1000, 9000000, 2500000, 1), MCHECK_REJECT);
	assert_int_equal(mcheck_sample(&m, 45000, 4000050, 2500000, 1), MCHECK_ACCEPT);
	for (int k = 46; k <= 49; k++)
		assert_int_equal(mcheck_sample(&m, k * 1000, 9000000, 2500000, 1), MCHECK_REJECT);
	assert_int_equal(mcheck_sample(&m, 50000, 9000000, 2500000, 1), MCHECK_REBASE);
}

/* Either register alone can be implausible; an import jump counts too. */
static void
test_import_jump_and_resolution(void **state)
{
	struct mcheck m;
	(void)state;
	mcheck_init(&m, RATED, 5);
	mcheck_resume(&m, 0, 100, 100);
	assert_int_equal(mcheck_sample(&m, 1000, 100, 100000, 1), MCHECK_REJECT);
	assert_int_equal(m.last_dimp_wh, 99900);
	/* a 0.01 kWh counter steps by 10 Wh: one count is always plausible */
	assert_int_equal(mcheck_sample(&m, 1250, 110, 100, 10), MCHECK_ACCEPT);
	assert_int_equal(mcheck_sample(&m, 1500, 130, 100, 10), MCHECK_REJECT);
}

/* A meter that changes its resolution (0.1 Wh, 1 Wh, 10 Wh per count)
 * rounds down: less than one count below the base is no fault, and never
 * moves the base back (which would break the reading chain). */
static void
test_rounding_after_a_resolution_change(void **state)
{
	struct mcheck m;
	(void)state;
	mcheck_init(&m, RATED, 5);
	mcheck_resume(&m, 0, 4000105, 2500007);
	assert_int_equal(mcheck_sample(&m, 1000, 4000100, 2500000, 10), MCHECK_SKIP);
	assert_int_equal(m.base_exp_wh, 4000105);
	assert_int_equal(m.rejected, 0);
	assert_int_equal(mcheck_sample(&m, 2000, 4000106, 2500008, 1), MCHECK_ACCEPT);
	/* a whole count below is a real step back */
	assert_int_equal(mcheck_sample(&m, 3000, 4000096, 2500008, 10), MCHECK_REJECT);
	/* and one count down on one register with a jump on the other is no rounding */
	assert_int_equal(mcheck_sample(&m, 4000, 4000100, 2600000, 10), MCHECK_REJECT);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_max_step),
		cmocka_unit_test(test_first_sample_after_start_is_checked),
		cmocka_unit_test(test_no_base_first_sample_is_base),
		cmocka_unit_test(test_jump_confirmed_rebases),
		cmocka_unit_test(test_disagreeing_garbage_never_rebases),
		cmocka_unit_test(test_import_jump_and_resolution),
		cmocka_unit_test(test_rounding_after_a_resolution_change),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
