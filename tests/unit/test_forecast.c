/* test_forecast.c: the export forecast on simple series and on simulated
 * days (fixed seed); prints its mean absolute error next to the naive
 * predictors it blends. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "agent/forecast.h"

static void
test_init_range(void **state)
{
	struct forecast f;
	(void)state;
	assert_int_equal(forecast_init(&f, 0), PW_ERR_RANGE);
	assert_int_equal(forecast_init(&f, 86401), PW_ERR_RANGE);
	assert_int_equal(forecast_init(&f, 900), PW_OK);
	assert_int_equal(f.n_slots, 96);
	assert_int_equal(forecast_init(&f, 5), PW_OK);
	assert_int_equal(f.slot_s, 900);
	assert_int_equal(forecast_init(&f, 3600), PW_OK);
	assert_int_equal(f.n_slots, 24);
}

static void
test_no_history_is_zero_then_persistence(void **state)
{
	struct forecast f;
	(void)state;
	assert_int_equal(forecast_init(&f, 900), PW_OK);
	assert_int_equal(forecast_export_wh(&f, 0, 1), 0);
	forecast_observe(&f, 12 * 3600, 420);
	/* next slot has no profile yet: persistence */
	assert_int_equal(forecast_export_wh(&f, 12 * 3600 + 900, 1), 420);
	forecast_observe(&f, 12 * 3600 + 900, 380);
	assert_int_equal(forecast_export_wh(&f, 12 * 3600 + 1800, 1), 380);
}

static void
test_constant_series_is_exact(void **state)
{
	struct forecast f;
	(void)state;
	assert_int_equal(forecast_init(&f, 900), PW_OK);
	for (uint32_t i = 0; i < 96 * 3; i++)
		forecast_observe(&f, (i * 900) % 86400, 250);
	for (uint32_t h = 1; h <= 4; h++)
		assert_int_equal(forecast_export_wh(&f, 43200, h), 250);
}

static void
test_repeating_days_follow_the_profile(void **state)
{
	struct forecast f;
	(void)state;
	/* every day the same bell: after a few days the forecast of a slot
	 * is close to that slot's value even though the last value differs. */
	assert_int_equal(forecast_init(&f, 900), PW_OK);
	for (int d = 0; d < 6; d++)
		for (uint32_t s = 0; s < 96; s++) {
			double x = s >= 24 && s < 72 ? 1000.0 * sin(M_PI * (s - 24) / 48.0) : 0.0;
			forecast_observe(&f, s * 900, (uint64_t)llround(x));
		}
	/* last observed: slot 95 (0 Wh); slot 48 of the next day is 49 ahead */
	uint64_t y = forecast_export_wh(&f, 48 * 900, 49);
	assert_true(y > 900 && y <= 1000);
}

/* xorshift64*: deterministic, independent of libc rand(). */
static uint64_t
rng_next(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ull;
}

static double
rng_unit(uint64_t *s)
{
	return (double)(rng_next(s) >> 11) / 9007199254740992.0;
}

/* One simulated household: 5 kWp PV with daily cloudiness and passing
 * clouds, a load with morning and evening peaks; export per 15 min. */
static void
simulate_day(uint64_t *rng, double export_wh[96])
{
	double day_clear = 0.35 + 0.65 * rng_unit(rng);
	double cloud = 1.0;
	for (int s = 0; s < 96; s++) {
		double h = (s + 0.5) / 4.0;
		double pv = h > 6.0 && h < 20.0 ? 5000.0 * sin(M_PI * (h - 6.0) / 14.0) : 0.0;
		cloud = 0.8 * cloud + 0.2 * (rng_unit(rng) < day_clear ? 1.0 : 0.3);
		double load = 350.0 + 150.0 * rng_unit(rng);
		if (h >= 7.0 && h < 8.5)
			load += 1200.0 * rng_unit(rng);
		if (h >= 18.0 && h < 21.0)
			load += 1500.0 * rng_unit(rng);
		double net_w = pv * cloud - load;
		export_wh[s] = net_w > 0 ? net_w * 0.25 : 0.0;
	}
}

#define SIM_DAYS 28
#define SIM_N    (SIM_DAYS * 96)

static void
test_simulated_days_error(void **state)
{
	static double x[SIM_N], pred1[SIM_N], pred4[SIM_N];
	struct forecast f;
	uint64_t rng = 0x5eed2026ull;
	double mean = 0, b1 = 0, p1 = 0, b4 = 0, p4 = 0;
	int n = 0;
	(void)state;
	assert_int_equal(forecast_init(&f, 900), PW_OK);
	for (int d = 0; d < SIM_DAYS; d++) {
		double day[96];
		simulate_day(&rng, day);
		for (int s = 0; s < 96; s++)
			x[d * 96 + s] = (double)llround(day[s]);
	}
	for (int t = 0; t < SIM_N; t++) {
		forecast_observe(&f, (uint32_t)(t % 96) * 900, (uint64_t)x[t]);
		if (t + 1 < SIM_N)
			pred1[t + 1] =
			    (double)forecast_export_wh(&f, (uint32_t)((t + 1) % 96) * 900, 1);
		if (t + 4 < SIM_N)
			pred4[t + 4] =
			    (double)forecast_export_wh(&f, (uint32_t)((t + 4) % 96) * 900, 4);
	}
	/* score the last three weeks: the profile has a week of history */
	for (int t = 7 * 96; t < SIM_N; t++) {
		mean += x[t];
		b1 += fabs(pred1[t] - x[t]);
		p1 += fabs(x[t - 1] - x[t]);
		b4 += fabs(pred4[t] - x[t]);
		p4 += fabs(x[t - 4] - x[t]);
		n++;
	}
	mean /= n;
	b1 /= n;
	p1 /= n;
	b4 /= n;
	p4 /= n;
	printf(
	    "forecast of 15-min export over %d simulated days (seed 0x5eed2026), mean %.1f Wh:\n"
	    "  next interval: MAE blend %.1f Wh (%.0f%% of mean), persistence %.1f Wh (%.0f%%)\n"
	    "  one hour ahead: MAE blend %.1f Wh (%.0f%% of mean), persistence %.1f Wh (%.0f%%)\n",
	    SIM_DAYS - 7, mean, b1, 100 * b1 / mean, p1, 100 * p1 / mean, b4, 100 * b4 / mean, p4,
	    100 * p4 / mean);
	/* the blend must beat its naive input where the profile matters
	 * (one hour ahead) and not lose much at the next interval. */
	assert_true(b4 < p4);
	assert_true(b1 <= 1.1 * p1);
	assert_true(b1 < 0.6 * mean);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_range),
		cmocka_unit_test(test_no_history_is_zero_then_persistence),
		cmocka_unit_test(test_constant_series_is_exact),
		cmocka_unit_test(test_repeating_days_follow_the_profile),
		cmocka_unit_test(test_simulated_days_error),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
