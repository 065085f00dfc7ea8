/*
 * forecast.c: blended persistence / time-of-day profile forecast of the
 * household's grid export (see forecast.h and docs/agent.md).  Called by
 * agentd once per closed interval (observe) and before each gate (export).
 */
#include "agent/forecast.h"

#include <math.h>
#include <string.h>

/* Day-to-day weight of the profile: a cloudy day should move the profile
 * but not erase a week of sunny ones. */
#define PROFILE_ALPHA (1.0 / 3.0)
/* Error tracking reacts within about eight intervals. */
#define ERR_ALPHA (1.0 / 8.0)
/* Keeps weights finite when a predictor has been exact. */
#define ERR_FLOOR_WH 1.0

pw_err
forecast_init(struct forecast *f, uint32_t interval_s)
{
	if (interval_s == 0 || interval_s > 86400)
		return PW_ERR_RANGE;
	memset(f, 0, sizeof(*f));
	f->interval_s = interval_s;
	f->slot_s = interval_s > FORECAST_MIN_SLOT_S ? interval_s : FORECAST_MIN_SLOT_S;
	f->n_slots = 86400 / f->slot_s;
	if (f->n_slots == 0)
		f->n_slots = 1;
	return PW_OK;
}

static uint32_t
slot_of(const struct forecast *f, uint32_t tod_s)
{
	uint32_t s = (tod_s % 86400) / f->slot_s;
	return s < f->n_slots ? s : f->n_slots - 1;
}

void
forecast_set_max(struct forecast *f, uint64_t max_wh)
{
	f->max_wh = max_wh;
}

static void blend(const struct forecast *f, uint32_t tod_s, uint32_t horizon, double *y, double *m);

static void
learn(struct forecast *f, uint32_t tod_s, double x)
{
	uint32_t s = slot_of(f, tod_s);

	/* Score both predictors on this interval before learning from it. */
	if (f->have_last) {
		double e = fabs(f->last_wh - x);
		f->err_persist_wh = f->have_err_persist
		                        ? f->err_persist_wh + ERR_ALPHA * (e - f->err_persist_wh)
		                        : e;
		f->have_err_persist = 1;
	}
	if (f->seen[s]) {
		double e = fabs(f->profile_wh[s] - x);
		f->err_profile_wh = f->have_err_profile
		                        ? f->err_profile_wh + ERR_ALPHA * (e - f->err_profile_wh)
		                        : e;
		f->have_err_profile = 1;
		/* Many intervals fall into one slot when intervals are short;
		 * weight per interval so a slot still moves ~1/3 per day. */
		double per_day = (double)f->slot_s / (double)f->interval_s;
		double a = PROFILE_ALPHA / per_day;
		f->profile_wh[s] += a * (x - f->profile_wh[s]);
	} else {
		f->profile_wh[s] = x;
		f->seen[s] = 1;
	}
	f->last_wh = x;
	f->have_last = 1;
	f->n_obs++;
}

enum forecast_obs
forecast_observe(struct forecast *f, uint32_t tod_s, uint64_t export_wh)
{
	double x = (double)export_wh, y, m, jump;

	if (f->max_wh > 0 && export_wh > f->max_wh) {
		f->n_rejected++;
		return FORECAST_IMPOSSIBLE;
	}
	if (f->have_held) {
		f->have_held = 0;
		/* confirmed when this one is at least half as far up */
		if (x >= f->held_expect_wh + (f->held_wh - f->held_expect_wh) / 2.0) {
			learn(f, f->held_tod_s, f->held_wh);
			learn(f, tod_s, x);
			return FORECAST_LEARNED;
		}
		f->n_outliers++;
		learn(f, tod_s, x);
		return FORECAST_DROPPED;
	}
	if (f->max_wh > 0 && f->have_last) {
		blend(f, tod_s, 1, &y, &m);
		jump = 3.0 * (m + ERR_FLOOR_WH);
		if (jump < (double)f->max_wh / 10.0)
			jump = (double)f->max_wh / 10.0;
		if (x > y + m + jump) {
			f->have_held = 1;
			f->held_tod_s = tod_s;
			f->held_wh = x;
			f->held_expect_wh = y;
			return FORECAST_HELD;
		}
	}
	learn(f, tod_s, x);
	return FORECAST_LEARNED;
}

/*
 * The blend for the interval starting at `tod_s`, `horizon` intervals after
 * the last observation: the point forecast `*y` and its expected absolute
 * error `*m` (the predictors' tracked errors at that horizon, weighted as
 * the forecast weights them).  0 when nothing was observed.
 */
static void
blend(const struct forecast *f, uint32_t tod_s, uint32_t horizon, double *y, double *m)
{
	uint32_t s = slot_of(f, tod_s);
	double p, q, ep, eq, w;

	*y = *m = 0.0;
	if (!f->have_last)
		return;
	if (horizon == 0)
		horizon = 1;
	p = f->last_wh;
	/* persistence errs more the further ahead it looks */
	ep = f->err_persist_wh * (double)horizon;
	if (!f->seen[s] || !f->have_err_profile) {
		*y = p;
		/* one observation: how much it varies is unknown, so none of
		 * it is firm */
		*m = f->have_err_persist ? ep : p;
		return;
	}
	q = f->profile_wh[s];
	eq = f->err_profile_wh;
	w = (eq + ERR_FLOOR_WH) / ((ep + ERR_FLOOR_WH * (double)horizon) +
	                           (eq + ERR_FLOOR_WH)); /* weight of persistence */
	*y = w * p + (1.0 - w) * q;
	*m = w * ep + (1.0 - w) * eq;
}

static uint64_t
to_wh(double x)
{
	return x <= 0.0 ? 0 : (uint64_t)llround(x);
}

/* never more than the household could export */
static uint64_t
bounded(const struct forecast *f, uint64_t wh)
{
	return f->max_wh > 0 && wh > f->max_wh ? f->max_wh : wh;
}

uint64_t
forecast_export_wh(const struct forecast *f, uint32_t tod_s, uint32_t horizon)
{
	double y, m;
	blend(f, tod_s, horizon, &y, &m);
	return bounded(f, to_wh(y));
}

uint64_t
forecast_margin_wh(const struct forecast *f, uint32_t tod_s, uint32_t horizon)
{
	double y, m;
	blend(f, tod_s, horizon, &y, &m);
	return to_wh(m);
}

uint64_t
forecast_firm_wh(const struct forecast *f, uint32_t tod_s, uint32_t horizon)
{
	double y, m;
	blend(f, tod_s, horizon, &y, &m);
	return bounded(f, to_wh(y - m));
}
