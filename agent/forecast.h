/*
 * forecast.h: the agent's forecast of a coming interval's grid export (the
 * energy it can sell), from the measured history of its own grid meter.
 *
 * Method (docs/agent.md "Forecast"): two predictors blended by their recent
 * accuracy.
 *   - persistence: the last measured interval's export;
 *   - profile: per time-of-day slot, an exponentially weighted mean of the
 *     export measured in that slot on previous days (weight 1/3 per day);
 * each predictor's mean absolute error at horizon 1 is tracked as an
 * exponentially weighted mean (weight 1/8 per interval); the forecast is
 * the inverse-error weighted mean of the two (persistence only while the
 * slot has no history).  Persistence gets worse with the horizon, so its
 * error is multiplied by the horizon (in intervals) before weighting.
 * The same weights applied to the predictors' errors give the forecast's
 * margin (its expected absolute error); forecast - margin is the firm
 * part, what the agent offers (docs/agent.md "Selling policy").
 *
 * Bounds and outliers: forecast_set_max() gives the most the household can
 * export in one interval (its rated power x the interval).  An observation
 * above it is impossible and never learned; every forecast is clamped to
 * it.  An observation far above what the forecast expected (more than the
 * expectation + margin + max(3 x (margin + 1 Wh), max / 10)) is held: it is
 * learned only when the next observation confirms it (at least half as far
 * above that expectation), else dropped as an outlier.  One bad interval
 * therefore never drives the offers; a real rise (clouds clearing) is
 * followed one interval later.  Without a maximum neither applies.
 *
 * Times are of the devices' day (agent/devclock.h: the local clock, or the
 * simulated clock of peerwatt-sim) and `interval_s` is the interval's
 * length on that clock.  Everything is in Wh per interval; the profile
 * slot is at least 15 minutes (interval lengths of a few seconds share a
 * slot).  No allocation, no I/O: struct forecast is a plain value owned by
 * the caller (agentd).  Not thread-safe (one agent loop).
 */
#ifndef AGENT_FORECAST_H
#define AGENT_FORECAST_H

#include <stdint.h>

#include "peerwatt/error.h"

#define FORECAST_MIN_SLOT_S 900
#define FORECAST_MAX_SLOTS  (86400 / FORECAST_MIN_SLOT_S)

struct forecast {
	uint32_t interval_s;
	uint32_t slot_s; /* profile slot length, >= interval_s and >= 900 */
	uint32_t n_slots;
	double profile_wh[FORECAST_MAX_SLOTS]; /* per slot, scaled to one interval */
	uint8_t seen[FORECAST_MAX_SLOTS];
	double last_wh; /* persistence */
	int have_last;
	double err_persist_wh; /* EWMA of |error| at horizon 1 */
	double err_profile_wh;
	int have_err_persist, have_err_profile;
	uint64_t n_obs;
	uint64_t max_wh; /* 0: unbounded (forecast_set_max) */
	int have_held;   /* an observation waits for confirmation */
	uint32_t held_tod_s;
	double held_wh, held_expect_wh;
	uint64_t n_rejected, n_outliers; /* above max_wh; held and dropped */
};

/* What forecast_observe() did with an observation. */
enum forecast_obs {
	FORECAST_LEARNED = 0, /* learned (with the held one it confirmed, if any) */
	FORECAST_HELD,        /* far above the expectation: waits for the next */
	FORECAST_DROPPED,     /* learned; the held one before it was an outlier, dropped */
	FORECAST_IMPOSSIBLE,  /* above max_wh: never learned */
};

/* interval_s (on the devices' clock) in [1, 86400]; PW_ERR_RANGE otherwise. */
pw_err forecast_init(struct forecast *f, uint32_t interval_s) __attribute__((warn_unused_result));

/* The most the household can export in one interval (rated power x the
 * interval, Wh); 0 leaves the forecast unbounded.  See the top. */
void forecast_set_max(struct forecast *f, uint64_t max_wh);

/*
 * Record the export measured during the interval that started at local
 * time-of-day `tod_s` (seconds since local midnight, 0..86399).  Bounds and
 * outliers as at the top.
 */
enum forecast_obs forecast_observe(struct forecast *f, uint32_t tod_s, uint64_t export_wh);

/*
 * Forecast export for the interval starting at `tod_s`, `horizon` intervals
 * after the last observed one (1 = the next).  0 before any observation.
 */
uint64_t forecast_export_wh(const struct forecast *f, uint32_t tod_s, uint32_t horizon);

/*
 * The expected absolute error of that forecast: each predictor's tracked
 * error at horizon 1 (persistence's times the horizon), weighted as the
 * forecast weights the predictors.  With a single observation the error
 * is unknown and the margin is the whole forecast.
 */
uint64_t forecast_margin_wh(const struct forecast *f, uint32_t tod_s, uint32_t horizon);

/* forecast - margin, at least 0: the export the household can count on. */
uint64_t forecast_firm_wh(const struct forecast *f, uint32_t tod_s, uint32_t horizon);

#endif
