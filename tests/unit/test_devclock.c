/* test_devclock.c: the devices' time of day, local and simulated
 * (peerwatt-sim --epoch/--start-time/--speed), table-driven. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "agent/devclock.h"

#define EPOCH 1800000000LL /* a Unix time, whole seconds */

static void
test_sim_ranges(void **state)
{
	struct devclock c;
	(void)state;
	assert_int_equal(devclock_sim(&c, -1, 0, 1), PW_ERR_RANGE);
	assert_int_equal(devclock_sim(&c, DEVCLOCK_MAX_EPOCH + 1, 0, 1), PW_ERR_RANGE);
	assert_int_equal(devclock_sim(&c, EPOCH, 86401, 1), PW_ERR_RANGE);
	assert_int_equal(devclock_sim(&c, EPOCH, 0, 0), PW_ERR_RANGE);
	assert_int_equal(devclock_sim(&c, EPOCH, 0, DEVCLOCK_MAX_SPEED + 1), PW_ERR_RANGE);
	assert_int_equal(devclock_sim(&c, EPOCH, 86400, DEVCLOCK_MAX_SPEED), PW_OK);
	assert_int_equal(c.start_s, 0); /* 24:00 is the next midnight */
}

static void
test_sim_time_of_day(void **state)
{
	static const struct {
		uint32_t start_s, speed;
		int64_t at_ms; /* after the epoch */
		uint32_t want;
	} cases[] = {
		{ 7 * 3600, 360, 0, 7 * 3600 },                    /* the start */
		{ 7 * 3600, 360, 5000, 7 * 3600 + 1800 },          /* an interval later */
		{ 7 * 3600, 360, 999, 7 * 3600 + 359 },            /* whole seconds, rounded down */
		{ 7 * 3600, 360, 240000, 7 * 3600 },               /* a simulated day later */
		{ 23 * 3600, 600, 12000, 1 * 3600 },               /* past midnight */
		{ 1 * 3600, 600, -12000, 23 * 3600 },              /* before the epoch */
		{ 0, 1, 86399999, 86399 },                         /* real time, last second */
		{ 0, DEVCLOCK_MAX_SPEED, 1000, 0 },                /* a day per second */
		{ 5 * 3600, 600, (int64_t)1 << 50, 5 * 3600 + 0 }, /* absurd: bounded, no UB */
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct devclock c;
		assert_int_equal(devclock_sim(&c, EPOCH, cases[i].start_s, cases[i].speed), PW_OK);
		uint32_t got = devclock_tod(&c, EPOCH * 1000 + cases[i].at_ms);
		if (i == sizeof(cases) / sizeof(cases[0]) - 1)
			assert_true(got < 86400); /* only defined, not meaningful */
		else
			assert_int_equal(got, cases[i].want);
	}
}

static void
test_span_and_hhmm(void **state)
{
	struct devclock c;
	char buf[8];
	(void)state;
	devclock_local(&c);
	assert_int_equal(devclock_span_s(&c, 900), 900);
	assert_int_equal(devclock_sim(&c, EPOCH, 7 * 3600, 360), PW_OK);
	assert_int_equal(devclock_span_s(&c, 5), 1800);
	assert_int_equal(devclock_span_s(&c, UINT64_MAX), UINT64_MAX);
	assert_string_equal(devclock_hhmm(&c, EPOCH * 1000 + 15000, buf, sizeof(buf)), "08:30");
	/* the simulated day began 07:00 of simulated time = 70 s of real time
	 * before the epoch, and lasts 240 s */
	assert_int_equal(devclock_day_start_ms(&c, EPOCH * 1000 + 15000), EPOCH * 1000 - 70000);
	assert_int_equal(devclock_day_start_ms(&c, EPOCH * 1000 + 170000), EPOCH * 1000 + 170000);
	assert_int_equal(devclock_day_start_ms(&c, EPOCH * 1000 + 169999), EPOCH * 1000 - 70000);
	assert_int_equal(devclock_day_wall_s(&c), 240);
	devclock_local(&c);
	assert_int_equal(devclock_day_wall_s(&c), 86400);
	int64_t t = EPOCH * 1000 + 12345678;
	int64_t d = devclock_day_start_ms(&c, t);
	assert_int_equal(devclock_tod(&c, d), 0);
	assert_true(d <= t && t - d < 86400 * 1000);
}

static void
test_local_follows_localtime(void **state)
{
	struct devclock c;
	struct tm tm;
	time_t t = (time_t)EPOCH + 12345;
	(void)state;
	devclock_local(&c);
	assert_false(c.simulated);
	assert_non_null(localtime_r(&t, &tm));
	assert_int_equal(devclock_tod(&c, (int64_t)t * 1000 + 999),
	                 (uint32_t)(tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sim_ranges),
		cmocka_unit_test(test_sim_time_of_day),
		cmocka_unit_test(test_span_and_hhmm),
		cmocka_unit_test(test_local_follows_localtime),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
