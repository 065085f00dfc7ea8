/*
 * bplan.h: the home battery's plan (issue 20 point 3; docs/agent-energy.md
 * "Battery plan"): for each of the next intervals, whether the battery
 * stores the PV surplus, sells stored energy to the neighbours, covers the
 * home's own load, or holds, and why.
 *
 * Inputs, per coming interval: the forecast PV surplus and home deficit
 * before the battery (what the grid meter would see without it), the
 * interval's tariffs (feed-in and retail: the outlook, or the tariffs in
 * force), the local market's expected clearing price and the energy the
 * neighbours are expected to buy at it; and the battery: its usable
 * capacity, what it holds now, the reserve, its power limits per interval,
 * round-trip efficiency, wear cost, and whether it may charge from the grid.
 *
 * Method: dynamic programming over the stored energy, in steps of
 * BPLAN_LEVELS levels from 0 to the capacity, backwards from the last
 * interval (stored energy at the end valued at the lowest price it could
 * at least fetch later: the horizon's lowest feed-in tariff after the
 * discharge loss, never below 0), for the greatest money of the household
 * over the horizon: export sold to the neighbours up to the expected volume
 * at the expected local price, the rest at the feed-in tariff, imports at
 * the retail tariff, minus the wear cost of each Wh discharged.  The plan is
 * remade every interval from fresh inputs; only its first step is carried
 * out.
 *
 * Units: Wh per interval (AC side of the battery), prices in micro-units
 * per kWh, money in micro-units (include/peerwatt/money.h).  Integers only.
 * Pure: no I/O, no clock, no allocation; struct bplan is a plain value.
 * Called by agent/abat.c (the agent's loop), tests/unit/test_bplan.c and
 * tests/unit/test_bweek.c.  Thread-safe (no state).
 */
#ifndef AGENT_BPLAN_H
#define AGENT_BPLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "peerwatt/error.h"

#define BPLAN_MAX_IVS    192 /* 48 h of quarter hours */
#define BPLAN_LEVELS     101 /* stored energy from 0 to capacity in 1 % steps */
#define BPLAN_REASON_MAX 200

/* What the battery does in one interval. */
enum bplan_action {
	BPLAN_HOLD = 0, /* neither charge nor discharge */
	BPLAN_STORE,    /* charge (from the PV surplus; from the grid only if allowed) */
	BPLAN_SELL,     /* discharge beyond the home's load: energy offered to the neighbours */
	BPLAN_COVER,    /* discharge for the home's own load only */
};

struct bplan_battery {
	int64_t capacity_wh;      /* usable, > 0 */
	int64_t stored_wh;        /* now, 0..capacity (state of charge x capacity) */
	int64_t reserve_wh;       /* never discharge below it, 0..capacity */
	int64_t max_charge_wh;    /* per interval, AC side, >= 0 */
	int64_t max_discharge_wh; /* per interval, AC side, >= 0 */
	uint32_t efficiency_pct;  /* round trip, 50..100; split evenly between the ways */
	int64_t wear_uper_kwh;    /* cost of each kWh discharged, >= 0 */
	bool grid_charge;         /* charging may draw from the grid */
};

/* One coming interval, as forecast. */
struct bplan_iv {
	uint64_t interval;
	uint32_t tod_s;     /* devices' time of day at its start (for the reasons) */
	int64_t surplus_wh; /* PV beyond the home's load, before the battery, >= 0 */
	int64_t deficit_wh; /* the home's load beyond PV, before the battery, >= 0 */
	int32_t feedin_uper_kwh, retail_uper_kwh; /* feed-in <= retail */
	int32_t local_uper_kwh;                   /* expected clearing price (feed-in..retail) */
	int64_t local_wh; /* energy the neighbours are expected to buy at it, >= 0 */
};

/* The plan's step for one interval. */
struct bplan_step {
	uint64_t interval;
	enum bplan_action action;
	int64_t charge_wh, discharge_wh; /* AC side; at most one of them > 0 */
	int64_t sell_wh;       /* discharge beyond the deficit: exported, offered for sale */
	int64_t stored_end_wh; /* in the battery at the end of the interval */
	int32_t keep_uper_kwh; /* what a kWh kept in the battery past this interval is
	                        * worth to the plan: battery energy is never offered below it */
	int64_t value_u;       /* the household's money in this interval under the plan */
	char reason[BPLAN_REASON_MAX];
};

struct bplan {
	size_t n;
	struct bplan_step step[BPLAN_MAX_IVS];
	/* the household's money over the horizon (micro-units, > 0 earned) */
	int64_t value_u;      /* under the plan */
	int64_t self_value_u; /* the battery left to itself (self-consumption) */
	int64_t none_value_u; /* without a battery */
};

/*
 * Make the plan for the n (1..BPLAN_MAX_IVS) intervals iv[0..n-1] (iv[0]
 * is the next one to be carried out).  PW_ERR_RANGE for a battery or an
 * interval outside the bounds above (nothing written to *out).
 */
pw_err bplan_make(const struct bplan_battery *b, const struct bplan_iv *iv, size_t n,
                  struct bplan *out) __attribute__((warn_unused_result));

/* "hold" | "store" | "sell" | "cover" (stable, for the API). */
const char *bplan_action_name(enum bplan_action a);

#endif
