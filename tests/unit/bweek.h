/*
 * bweek.h: a simulated week of a household with PV, a 10 kWh battery, the
 * demo's dynamic tariffs and a local market with neighbours' bids in the
 * evening, run three ways through the same battery (tests/sim/sim_battery.c):
 *
 *   none  no battery;
 *   self  the battery left to itself (its own controller: self-consumption);
 *   plan  the battery plan (agent/bplan.c) remade every interval from a
 *         forecast that is not the truth (yesterday's PV and load at the same
 *         time of day, the neighbours' demand and price averaged over the
 *         previous days), only its first step carried out through the
 *         battery's model-124 controls as agent/abat.c and
 *         agent/storage_ctl.c map it: store -> charge at the planned power
 *         (window [P, P]), sell -> discharge what the neighbours bought from
 *         the battery's offer plus the forecast load (window [-P, -P]; the
 *         battery's own controller when nothing of the offer sold), hold ->
 *         window [0, 0], cover -> the battery's own controller.
 *
 * The physics runs minute by minute; money per interval: exports to the
 * neighbours up to their demand at the clearing price, the rest at the
 * feed-in tariff, imports at retail, wear per kWh discharged.  Deterministic
 * (no clock, no random source but fixed hashes).
 *
 * Included by tests/unit/test_bweek.c (which asserts on it and prints the
 * table) and tests/bench/bench_bplan.c (which prints the week's gain);
 * includes tests/sim/sim_battery.c (the simulator is a program, not a
 * library).
 */
#ifndef TESTS_UNIT_BWEEK_H
#define TESTS_UNIT_BWEEK_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "agent/bplan.h"
#include "tests/sim/sim_battery.c"

#define BW_DAYS    7             /* measured: days 1..7 */
#define BW_ALLDAYS (BW_DAYS + 2) /* day 0: history; day 8: the last horizon */
#define BW_IVS     48            /* intervals a day */
#define BW_IV_S    1800          /* 30 min */
#define BW_NIV     (BW_ALLDAYS * BW_IVS)
#define BW_HORIZON 48 /* the plan looks 24 h ahead */
#define BW_CAP_WH  10000.0
#define BW_MAX_W   4000.0
#define BW_RES_PCT 20.0
#define BW_WEAR    30000 /* 0.03/kWh */

enum { BW_NONE, BW_SELF, BW_PLAN, BW_NSTRAT };

struct bweek {
	/* the truth, per interval of days 0..8 */
	int64_t surplus_wh[BW_NIV], deficit_wh[BW_NIV];
	int32_t feedin[BW_NIV], retail[BW_NIV], local[BW_NIV];
	int64_t demand_wh[BW_NIV]; /* the neighbours' bids at the clearing price */
	double pv_wh_day[BW_ALLDAYS], load_wh_day[BW_ALLDAYS];
	/* results, per strategy, for days 1..7 */
	int64_t day_u[BW_NSTRAT][BW_DAYS], week_u[BW_NSTRAT];
	double import_wh[BW_NSTRAT], export_wh[BW_NSTRAT];
	double min_soc_pct[BW_NSTRAT], end_soc_pct[BW_NSTRAT];
	double conserve_err_wh[BW_NSTRAT]; /* |PV + import - load - export - change - loss| */
	double charged_wh[BW_NSTRAT], discharged_wh[BW_NSTRAT];
	/* the energy left in the battery at the end against the start, valued
	 * at the week's mean retail tariff (as if it later replaced imports:
	 * the most it could be worth), and that mean */
	int64_t left_u[BW_NSTRAT];
	int64_t mean_retail;
	/* the plan's battery energy exported, sold to the neighbours, and after 20:00 */
	double bat_export_wh, bat_local_wh, bat_night_wh;
	unsigned long plans, plan_errors, actions[4];
};

static double
bw_hash(uint32_t x)
{
	x ^= x >> 16;
	x *= 0x7feb352dU;
	x ^= x >> 15;
	x *= 0x846ca68bU;
	x ^= x >> 16;
	return (double)x / 4294967296.0;
}

/* Sunny, cloudy and mixed days (day 0 is the history the first forecast
 * uses, day 8 only feeds the last horizons). */
static double
bw_pv_w(int day, double tod_s)
{
	static const char kind[BW_ALLDAYS] = { 's', 's', 'c', 'm', 's', 's', 'c', 'm', 's' };
	double h = tod_s / 3600.0, x, f = 1.0;
	if (h < 6.0 || h >= 20.0)
		return 0;
	x = sin(M_PI * (h - 6.0) / 14.0);
	if (kind[day] == 'c')
		f = 0.22 + 0.08 * bw_hash((uint32_t)(day * 1000 + (int)(h * 6)));
	else if (kind[day] == 'm') /* passing clouds in blocks of 10 minutes */
		f = bw_hash((uint32_t)(day * 7919 + (int)(h * 6))) < 0.45 ? 0.3 : 1.0;
	return 6000.0 * x * x * f;
}

/* About 10 kWh a day: a base, a morning and an evening peak. */
static double
bw_load_w(int day, double tod_s)
{
	double h = tod_s / 3600.0;
	double s = 0.9 + 0.2 * bw_hash((uint32_t)(day * 31 + 7));
	return s * (220.0 + 900.0 * exp(-pow((h - 7.25) / 0.8, 2)) +
	            1500.0 * exp(-pow((h - 19.0) / 1.6, 2)));
}

/* The demo's dynamic day (tests/demo.sh), in micro-units per kWh. */
static void
bw_tariff(int hour, int32_t *retail, int32_t *feedin)
{
	static const int32_t r[24] = { 245, 245, 245, 245, 245, 245, 389, 389, 389, 274, 274, 168,
		                       132, 168, 168, 263, 263, 426, 426, 426, 426, 299, 299, 299 };
	static const int32_t f[24] = { 72,  72, 72, 72, 72, 72,  98,  98,  98,  61, 61, 9,
		                       -24, 9,  9,  64, 64, 115, 115, 115, 115, 76, 76, 76 };
	*retail = r[hour] * 1000;
	*feedin = f[hour] * 1000;
}

static void
bw_truth(struct bweek *w)
{
	for (int i = 0; i < BW_NIV; i++) {
		int day = i / BW_IVS, slot = i % BW_IVS, hour = slot / 2;
		double sur = 0, def = 0, spread, frac, dem;
		for (int m = 0; m < 30; m++) {
			double tod = slot * BW_IV_S + m * 60 + 30;
			double pv = bw_pv_w(day, tod), load = bw_load_w(day, tod);
			sur += pv > load ? (pv - load) / 60.0 : 0;
			def += load > pv ? (load - pv) / 60.0 : 0;
			w->pv_wh_day[day] += pv / 60.0;
			w->load_wh_day[day] += load / 60.0;
		}
		w->surplus_wh[i] = llround(sur);
		w->deficit_wh[i] = llround(def);
		bw_tariff(hour, &w->retail[i], &w->feedin[i]);
		spread = (double)(w->retail[i] - w->feedin[i]);
		if (hour >= 17 && hour < 22) { /* the neighbours' evening bids */
			frac = 0.55 + 0.2 * bw_hash((uint32_t)(day * 131 + slot));
			dem = 1200.0 + 1300.0 * bw_hash((uint32_t)(day * 977 + slot));
		} else if (hour >= 10 && hour < 16) { /* little demand at midday */
			frac = 0.05;
			dem = 150.0;
		} else {
			frac = 0.35;
			dem = 400.0;
		}
		w->local[i] = w->feedin[i] + (int32_t)(spread * frac);
		w->demand_wh[i] = llround(dem);
	}
}

/* The plan's inputs at interval k (day >= 1): PV and load as they were 24 h
 * before, the neighbours' demand and price as the previous days' average at
 * the same time, the tariffs of the schedule. */
static void
bw_forecast(const struct bweek *w, int k, struct bplan_iv *iv, size_t n)
{
	int today = k / BW_IVS;
	for (size_t j = 0; j < n; j++) {
		int i = k + (int)j, slot = i % BW_IVS;
		double dem = 0, loc = 0;
		iv[j].interval = (uint64_t)i;
		iv[j].tod_s = (uint32_t)(slot * BW_IV_S);
		iv[j].surplus_wh = w->surplus_wh[i - BW_IVS];
		iv[j].deficit_wh = w->deficit_wh[i - BW_IVS];
		iv[j].feedin_uper_kwh = w->feedin[i];
		iv[j].retail_uper_kwh = w->retail[i];
		for (int d = 0; d < today; d++) {
			dem += (double)w->demand_wh[d * BW_IVS + slot];
			loc += (double)(w->local[d * BW_IVS + slot] - w->feedin[d * BW_IVS + slot]);
		}
		iv[j].local_wh = llround(dem / today);
		iv[j].local_uper_kwh = w->feedin[i] + (int32_t)llround(loc / today);
		if (iv[j].local_uper_kwh > iv[j].retail_uper_kwh)
			iv[j].local_uper_kwh = iv[j].retail_uper_kwh;
	}
}

static void
bw_window(struct simbat *b, double in_pct, double out_pct)
{
	struct simbat_ctl c = {
		SIMBAT_CTL_CHARGE | SIMBAT_CTL_DISCHARGE, in_pct, out_pct, 3600, false, 0
	};
	simbat_control(b, &c);
}

/* The plan's first step at interval k as the battery's controls. */
static void
bw_carry_out(struct bweek *w, struct simbat *b, int k, const struct bplan_step *s,
             const struct bplan_iv *fc)
{
	struct simbat_ctl autoc = { 0, 0, 0, 0, false, 0 };
	double p;
	w->actions[s->action]++;
	switch (s->action) {
	case BPLAN_STORE:
		p = ceil((double)s->charge_wh * 3600.0 / BW_IV_S);
		p = p > BW_MAX_W ? BW_MAX_W : p;
		bw_window(b, 100.0 * p / BW_MAX_W, -100.0 * p / BW_MAX_W);
		return;
	case BPLAN_SELL: {
		/* the battery's offer, priced at its keep price, sells when the
		 * neighbours' bids clear at or above it, as much as they buy */
		int64_t sold = 0;
		if (s->keep_uper_kwh <= w->local[k])
			sold = s->sell_wh < w->demand_wh[k] ? s->sell_wh : w->demand_wh[k];
		if (sold <= 0)
			break;
		p = ceil((double)(sold + fc->deficit_wh) * 3600.0 / BW_IV_S);
		p = p > BW_MAX_W ? BW_MAX_W : p;
		bw_window(b, -100.0 * p / BW_MAX_W, 100.0 * p / BW_MAX_W);
		return;
	}
	case BPLAN_HOLD:
		bw_window(b, 0, 0);
		return;
	case BPLAN_COVER:
		break;
	}
	simbat_control(b, &autoc);
}

static int64_t
bw_money(const struct bweek *w, int k, double exp_wh, double imp_wh, double dis_wh)
{
	double loc = exp_wh < (double)w->demand_wh[k] ? exp_wh : (double)w->demand_wh[k];
	return llround((loc * w->local[k] + (exp_wh - loc) * w->feedin[k] - imp_wh * w->retail[k] -
	                dis_wh * BW_WEAR) /
	               1000.0);
}

/* Runs the week; 0, or -1 when a plan could not be made. */
static int
bweek_run(struct bweek *w)
{
	struct simbat_cfg cfg = { BW_CAP_WH, BW_MAX_W, BW_MAX_W, 0.9, BW_RES_PCT, BW_RES_PCT };
	struct simbat bat[BW_NSTRAT];
	struct bplan_iv fc[BW_HORIZON];
	static struct bplan plan;
	double start_wh[BW_NSTRAT], pv_tot = 0, load_tot = 0;

	memset(w, 0, sizeof(*w));
	bw_truth(w);
	for (int s = 0; s < BW_NSTRAT; s++) {
		simbat_init(&bat[s], &cfg);
		start_wh[s] = bat[s].stored_wh;
		w->min_soc_pct[s] = 100;
	}
	for (int k = BW_IVS; k < (BW_DAYS + 1) * BW_IVS; k++) {
		int day = k / BW_IVS - 1, slot = k % BW_IVS;
		double exp_wh[BW_NSTRAT] = { 0 }, imp_wh[BW_NSTRAT] = { 0 }, dis0[BW_NSTRAT];
		double bexp = 0;
		struct bplan_battery bb = {
			.capacity_wh = (int64_t)BW_CAP_WH,
			.stored_wh = (int64_t)floor(bat[BW_PLAN].stored_wh),
			.reserve_wh = (int64_t)(BW_CAP_WH * BW_RES_PCT / 100.0),
			.max_charge_wh = (int64_t)(BW_MAX_W * BW_IV_S / 3600),
			.max_discharge_wh = (int64_t)(BW_MAX_W * BW_IV_S / 3600),
			.efficiency_pct = 90,
			.wear_uper_kwh = BW_WEAR,
			.grid_charge = false,
		};

		bw_forecast(w, k, fc, BW_HORIZON);
		w->plans++;
		if (bplan_make(&bb, fc, BW_HORIZON, &plan) != PW_OK) {
			w->plan_errors++;
			return -1;
		}
		bw_carry_out(w, &bat[BW_PLAN], k, &plan.step[0], &fc[0]);

		for (int s = 0; s < BW_NSTRAT; s++)
			dis0[s] = bat[s].discharged_wh;
		for (int m = 0; m < 30; m++) {
			double tod = slot * BW_IV_S + m * 60 + 30;
			double pv = bw_pv_w(day + 1, tod), load = bw_load_w(day + 1, tod);
			double net = load - pv;
			pv_tot += pv / 60.0;
			load_tot += load / 60.0;
			for (int s = 0; s < BW_NSTRAT; s++) {
				double bw = s == BW_NONE ? 0 : simbat_step(&bat[s], net, 60);
				double grid = net - bw; /* > 0 import */
				if (grid > 0)
					imp_wh[s] += grid / 60.0;
				else
					exp_wh[s] += -grid / 60.0;
				if (s == BW_PLAN && bw > 0 && grid < 0)
					bexp += (bw < -grid ? bw : -grid) / 60.0;
				if (s != BW_NONE && simbat_soc_pct(&bat[s]) < w->min_soc_pct[s])
					w->min_soc_pct[s] = simbat_soc_pct(&bat[s]);
			}
		}
		for (int s = 0; s < BW_NSTRAT; s++) {
			double dis = s == BW_NONE ? 0 : bat[s].discharged_wh - dis0[s];
			int64_t u = bw_money(w, k, exp_wh[s], imp_wh[s], dis);
			w->day_u[s][day] += u;
			w->week_u[s] += u;
			w->import_wh[s] += imp_wh[s];
			w->export_wh[s] += exp_wh[s];
		}
		if (bexp > 0) {
			/* the household's PV export sells to the neighbours first */
			double pvexp = exp_wh[BW_PLAN] - bexp;
			double room = (double)w->demand_wh[k] - pvexp;
			double loc = room <= 0 ? 0 : (bexp < room ? bexp : room);
			w->bat_export_wh += bexp;
			w->bat_local_wh += loc;
			if (slot >= 40)
				w->bat_night_wh += loc;
		}
	}
	for (int s = 0; s < BW_NSTRAT; s++) {
		double change = s == BW_NONE ? 0 : bat[s].stored_wh - start_wh[s];
		double loss = s == BW_NONE ? 0 : bat[s].loss_wh;
		w->conserve_err_wh[s] =
		    fabs(pv_tot + w->import_wh[s] - load_tot - w->export_wh[s] - change - loss);
		w->end_soc_pct[s] = s == BW_NONE ? 0 : simbat_soc_pct(&bat[s]);
		w->charged_wh[s] = s == BW_NONE ? 0 : bat[s].charged_wh;
		w->discharged_wh[s] = s == BW_NONE ? 0 : bat[s].discharged_wh;
	}
	w->min_soc_pct[BW_NONE] = 0;
	{
		int64_t sum = 0;
		for (int k = BW_IVS; k < (BW_DAYS + 1) * BW_IVS; k++)
			sum += w->retail[k];
		w->mean_retail = sum / (BW_DAYS * BW_IVS);
		for (int s = 0; s < BW_NSTRAT; s++) {
			double change = s == BW_NONE ? 0 : bat[s].stored_wh - start_wh[s];
			w->left_u[s] = (int64_t)llround(change * (double)w->mean_retail / 1000.0);
		}
	}
	return 0;
}

#endif
