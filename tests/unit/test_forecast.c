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

#include "agent/devclock.h"
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
test_margin_and_firm(void **state)
{
	struct forecast f;
	(void)state;
	assert_int_equal(forecast_init(&f, 900), PW_OK);
	assert_int_equal(forecast_margin_wh(&f, 0, 1), 0);
	assert_int_equal(forecast_firm_wh(&f, 0, 1), 0);
	/* one observation: how much export varies is unknown, nothing is firm */
	forecast_observe(&f, 12 * 3600, 420);
	assert_int_equal(forecast_export_wh(&f, 12 * 3600 + 900, 2), 420);
	assert_int_equal(forecast_margin_wh(&f, 12 * 3600 + 900, 2), 420);
	assert_int_equal(forecast_firm_wh(&f, 12 * 3600 + 900, 2), 0);
	/* persistence erred by 40 Wh: the margin is 40 Wh per interval ahead */
	forecast_observe(&f, 12 * 3600 + 900, 380);
	assert_int_equal(forecast_margin_wh(&f, 12 * 3600 + 1800, 1), 40);
	assert_int_equal(forecast_firm_wh(&f, 12 * 3600 + 1800, 1), 340);
	assert_int_equal(forecast_firm_wh(&f, 12 * 3600 + 2700, 2), 300);
	assert_int_equal(forecast_firm_wh(&f, 12 * 3600 + 2700, 10), 0);
	/* horizon 0 counts as 1 */
	assert_int_equal(forecast_firm_wh(&f, 12 * 3600 + 1800, 0), 340);
}

static void
test_constant_series_is_exact(void **state)
{
	struct forecast f;
	(void)state;
	assert_int_equal(forecast_init(&f, 900), PW_OK);
	for (uint32_t i = 0; i < 96 * 3; i++)
		forecast_observe(&f, (i * 900) % 86400, 250);
	for (uint32_t h = 1; h <= 4; h++) {
		assert_int_equal(forecast_export_wh(&f, 43200, h), 250);
		assert_int_equal(forecast_margin_wh(&f, 43200, h), 0);
		assert_int_equal(forecast_firm_wh(&f, 43200, h), 250);
	}
}

/* A bell of export from 08:00 to 18:00 of the devices' day, nothing else. */
static uint64_t
bell_wh(uint32_t tod_s)
{
	double h = (double)tod_s / 3600.0;
	return h >= 8.0 && h < 18.0 ? (uint64_t)llround(900.0 * sin(M_PI * (h - 8.0) / 10.0)) : 0;
}

/*
 * The demo's phantom sales: 5 s intervals, devices at 360x (half an hour
 * of simulated time per interval), three simulated days from 07:00.  A
 * profile kept by wall-clock time of day puts the whole simulated day into
 * one or two 15-minute slots, so every slot holds the day's mean and the
 * forecast at simulated night is that mean's share; kept by the devices'
 * time of day, the night slots hold the night's nothing.
 */
static void
test_time_base_of_the_profile(void **state)
{
	struct forecast wall, dev;
	struct devclock dc;
	const int64_t epoch_s = 1800000000LL, L = 5;
	uint64_t n = 3 * 48 - 16; /* to the third day's 23:00 (device time) */
	uint64_t wall_night = 0, dev_night = 0, dev_firm_night = 0;
	(void)state;
	assert_int_equal(devclock_sim(&dc, epoch_s, 7 * 3600, 360), PW_OK);
	assert_int_equal(forecast_init(&wall, (uint32_t)L), PW_OK);
	assert_int_equal(forecast_init(&dev, (uint32_t)devclock_span_s(&dc, (uint64_t)L)), PW_OK);
	assert_int_equal(dev.slot_s, 1800);
	for (uint64_t i = 0; i < n; i++) {
		int64_t start_ms = (epoch_s + (int64_t)i * L) * 1000;
		uint32_t tod = devclock_tod(&dc, start_ms);
		uint64_t x = bell_wh(tod);
		forecast_observe(&wall, (uint32_t)(((epoch_s + (int64_t)i * L) % 86400)), x);
		forecast_observe(&dev, tod, x);
	}
	/* the next two intervals: 23:00 and 23:30 of the devices' day */
	for (uint64_t h = 1; h <= 2; h++) {
		int64_t s = epoch_s + (int64_t)(n + h - 1) * L;
		uint32_t tod = devclock_tod(&dc, s * 1000);
		assert_true(tod >= 23 * 3600);
		wall_night += forecast_export_wh(&wall, (uint32_t)(s % 86400), (uint32_t)h);
		dev_night += forecast_export_wh(&dev, tod, (uint32_t)h);
		dev_firm_night += forecast_firm_wh(&dev, tod, (uint32_t)h);
	}
	printf("night forecast after three simulated days: %llu Wh by wall-clock slots, %llu Wh "
	       "by the devices' time of day\n",
	       (unsigned long long)wall_night, (unsigned long long)dev_night);
	assert_true(wall_night > 0);
	assert_int_equal(dev_night, 0);
	assert_int_equal(dev_firm_night, 0);
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

/* The agent's meter glitch (issue 16): a reading of 783 MWh while the
 * rated power allows 1250 Wh per interval is never learned, and no
 * forecast exceeds the bound whatever the history. */
static void
test_bounded_by_rated_power(void **state)
{
	struct forecast f;
	(void)state;
	assert_int_equal(forecast_init(&f, 900), PW_OK);
	forecast_set_max(&f, 1250);
	for (int i = 0; i < 8; i++)
		assert_int_equal(forecast_observe(&f, 43200, 10), FORECAST_LEARNED);
	assert_int_equal(forecast_observe(&f, 43200, 783000000ull), FORECAST_IMPOSSIBLE);
	assert_int_equal(forecast_observe(&f, 43200, 1251), FORECAST_IMPOSSIBLE);
	assert_int_equal(f.n_rejected, 2);
	assert_int_equal(forecast_export_wh(&f, 43200, 1), 10);
	assert_int_equal(forecast_firm_wh(&f, 43200, 1), 10);
	/* at the bound exactly: possible, and then confirmed */
	assert_int_equal(forecast_observe(&f, 43200, 1250), FORECAST_HELD);
	assert_int_equal(forecast_observe(&f, 43200, 1250), FORECAST_LEARNED);
	for (uint32_t h = 1; h < 20; h++) {
		assert_true(forecast_export_wh(&f, 43200, h) <= 1250);
		assert_true(forecast_firm_wh(&f, 43200, h) <= 1250);
	}
	/* an unbounded forecast would follow the garbage */
	assert_int_equal(forecast_init(&f, 900), PW_OK);
	forecast_observe(&f, 43200, 10);
	forecast_observe(&f, 43200, 783000000ull);
	assert_true(forecast_export_wh(&f, 43200, 1) > 1000000ull);
}

/* One bad interval never drives the offers; a real rise is followed one
 * interval later. */
static void
test_outlier_held_then_dropped_or_confirmed(void **state)
{
	struct forecast f;
	(void)state;
	assert_int_equal(forecast_init(&f, 900), PW_OK);
	forecast_set_max(&f, 1250);
	for (int i = 0; i < 10; i++)
		forecast_observe(&f, 43200, (uint64_t)(100 + (i % 2) * 10));
	uint64_t firm = forecast_firm_wh(&f, 43200, 1);
	assert_true(firm > 80 && firm <= 110);
	/* one spike: held, the forecast does not move */
	assert_int_equal(forecast_observe(&f, 43200, 1200), FORECAST_HELD);
	assert_int_equal(forecast_firm_wh(&f, 43200, 1), firm);
	assert_true(forecast_export_wh(&f, 43200, 1) <= 110);
	/* the next interval is back to normal: the spike was an outlier */
	assert_int_equal(forecast_observe(&f, 43200, 100), FORECAST_DROPPED);
	assert_int_equal(f.n_outliers, 1);
	assert_true(forecast_export_wh(&f, 43200, 1) <= 110);
	assert_true(forecast_firm_wh(&f, 43200, 1) <= 110);
	/* a small rise is learned at once */
	assert_int_equal(forecast_observe(&f, 43200, 180), FORECAST_LEARNED);
	/* a big rise confirmed by the next interval is learned, both of them */
	assert_int_equal(forecast_observe(&f, 43200, 900), FORECAST_HELD);
	assert_int_equal(forecast_observe(&f, 43200, 850), FORECAST_LEARNED);
	assert_true(forecast_export_wh(&f, 43200, 1) > 600);
	assert_int_equal(f.n_outliers, 1);
	/* drops are followed at once (never over-sell) */
	assert_int_equal(forecast_observe(&f, 43200, 0), FORECAST_LEARNED);
	assert_true(forecast_firm_wh(&f, 43200, 1) == 0);
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

/* max_wh: the bound of the agent (5 kW x 15 min), or 0 (none) */
static void
simulated_days(uint64_t max_wh)
{
	static double x[SIM_N], pred1[SIM_N], pred4[SIM_N], firm2[SIM_N], point2[SIM_N];
	struct forecast f;
	uint64_t rng = 0x5eed2026ull;
	double mean = 0, b1 = 0, p1 = 0, b4 = 0, p4 = 0;
	double sold_firm = 0, short_firm = 0, sold_point = 0, short_point = 0, night = 0;
	int n = 0;
	assert_int_equal(forecast_init(&f, 900), PW_OK);
	forecast_set_max(&f, max_wh);
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
		/* what the agent offers two intervals ahead (safety 80 %) */
		if (t + 2 < SIM_N) {
			uint32_t tod = (uint32_t)((t + 2) % 96) * 900;
			firm2[t + 2] = floor(0.8 * (double)forecast_firm_wh(&f, tod, 2));
			point2[t + 2] = floor(0.8 * (double)forecast_export_wh(&f, tod, 2));
		}
	}
	/* score the last three weeks: the profile has a week of history */
	for (int t = 7 * 96; t < SIM_N; t++) {
		mean += x[t];
		b1 += fabs(pred1[t] - x[t]);
		p1 += fabs(x[t - 1] - x[t]);
		b4 += fabs(pred4[t] - x[t]);
		p4 += fabs(x[t - 4] - x[t]);
		sold_firm += firm2[t];
		short_firm += firm2[t] > x[t] ? firm2[t] - x[t] : 0;
		sold_point += point2[t];
		short_point += point2[t] > x[t] ? point2[t] - x[t] : 0;
		if (t % 96 >= 84 || t % 96 < 20) /* 21:00 to 05:00 */
			night += firm2[t];
		n++;
	}
	mean /= n;
	b1 /= n;
	p1 /= n;
	b4 /= n;
	p4 /= n;
	printf(
	    "forecast of 15-min export over %d simulated days (seed 0x5eed2026), %s, mean %.1f "
	    "Wh:\n"
	    "  next interval: MAE blend %.1f Wh (%.0f%% of mean), persistence %.1f Wh (%.0f%%)\n"
	    "  one hour ahead: MAE blend %.1f Wh (%.0f%% of mean), persistence %.1f Wh (%.0f%%)\n",
	    SIM_DAYS - 7, max_wh > 0 ? "bounded, outliers held" : "unbounded", mean, b1,
	    100 * b1 / mean, p1, 100 * p1 / mean, b4, 100 * b4 / mean, p4, 100 * p4 / mean);
	printf("  offers half an hour ahead (80 %% of the firm forecast): shortfall %.1f %% of "
	       "%.0f Wh sold (80 %% of the point forecast: %.1f %% of %.0f Wh)\n",
	       100 * short_firm / sold_firm, sold_firm, 100 * short_point / sold_point, sold_point);
	/* selling the firm part keeps the shortfall small, at night nothing */
	assert_true(short_firm <= 0.05 * sold_firm);
	assert_true(short_firm / sold_firm < short_point / sold_point);
	assert_true(night == 0);
	/* the blend must beat its naive input where the profile matters
	 * (one hour ahead) and not lose much at the next interval. */
	assert_true(b4 < p4);
	assert_true(b1 <= 1.1 * p1);
	assert_true(b1 < 0.6 * mean);
	printf("  observations held and dropped as outliers: %llu\n",
	       (unsigned long long)f.n_outliers);
}

static void
test_simulated_days_error(void **state)
{
	(void)state;
	simulated_days(0);
	simulated_days(1250);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_range),
		cmocka_unit_test(test_no_history_is_zero_then_persistence),
		cmocka_unit_test(test_margin_and_firm),
		cmocka_unit_test(test_constant_series_is_exact),
		cmocka_unit_test(test_time_base_of_the_profile),
		cmocka_unit_test(test_repeating_days_follow_the_profile),
		cmocka_unit_test(test_simulated_days_error),
		cmocka_unit_test(test_bounded_by_rated_power),
		cmocka_unit_test(test_outlier_held_then_dropped_or_confirmed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
