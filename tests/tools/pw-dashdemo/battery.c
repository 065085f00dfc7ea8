/*
 * battery.c: pw-dashdemo's fake battery (--battery, --battery-off) in the
 * agent's form (/api/state "battery", /api/plan; docs/dashboard.md
 * "Battery"), and the energy it sells to the neighbours in each interval.
 *
 * The battery follows a fixed day on a fake devices' clock (demo.h: each
 * interval lasts 30 minutes, the one under way at start begins at 19:00):
 * it stores the midday surplus (10:00-15:00, 2.4 kW), sells to the
 * neighbours in the evening peak (17:00-21:00, 1.6 kW: the home's 300 Wh
 * and 500 Wh sold per interval), covers the home's load at night down to
 * the reserve, and holds otherwise (full, at the reserve, or keeping its
 * energy for the evening).  The plan is that rule applied to the next 48
 * intervals from what the battery holds now, with reasons in the words of
 * agent/bplan.c, and its value against the battery left to itself
 * (self-consumption) and against no battery, from the same simple model.
 * --battery-off: the battery runs its own controller (stores the surplus,
 * covers the load, sells nothing) and /api/plan says "off".
 */
#include <stdio.h>
#include <string.h>

#include "demo.h"
#include "peerwatt/money.h"

#define BAT_CAPACITY_WH 10000
#define BAT_RESERVE_PCT 10
#define BAT_RESERVE_WH  (BAT_CAPACITY_WH * BAT_RESERVE_PCT / 100)
#define BAT_START_WH    5000 /* at 13:00, the first interval of history */
#define BAT_STORE_WH    1200 /* per interval: 2.4 kW for 30 minutes */
#define BAT_SELL_WH     800  /* 1.6 kW: the home's load and the rest sold */
#define BAT_COVER_WH    250
#define BAT_STEPS       48   /* the plan's horizon: 24 hours */
#define BAT_IV_S        1800 /* an interval on the fake devices' clock */
#define BAT_START_TOD   (19 * 3600)

enum bat_action { BAT_HOLD, BAT_STORE, BAT_SELL, BAT_COVER };
static const char *const bat_action_name[] = { "hold", "store", "sell", "cover" };

struct bat_step {
	uint64_t interval;
	uint32_t tod_s;
	enum bat_action action;
	int64_t charge_wh, discharge_wh, sell_wh, stored_end_wh;
	int64_t surplus_wh, deficit_wh;      /* before the battery */
	int32_t feedin, retail, local, keep; /* micro-units per kWh */
	char reason[200];
};

void
demo_bat_init(struct demo *dm, bool control_off)
{
	memset(&dm->bat, 0, sizeof dm->bat);
	dm->bat.on = true;
	dm->bat.control_off = control_off;
	dm->bat.start_iv = demo_now_interval(dm);
	dm->bat.stored_wh = BAT_START_WH;
}

/* The fake devices' time of day at the start of interval iv. */
static uint32_t
bat_tod(const struct demo *dm, uint64_t iv)
{
	int64_t k = (int64_t)iv - (int64_t)dm->bat.start_iv;
	int64_t t = (BAT_START_TOD + k * BAT_IV_S) % 86400;

	return (uint32_t)(t < 0 ? t + 86400 : t);
}

static int64_t
min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

/* The day: surplus and deficit before the battery, the tariffs, the
 * expected local price and what a kWh kept is worth to the plan. */
static void
bat_day(struct bat_step *s)
{
	unsigned h = s->tod_s / 3600;
	bool midday = h >= 10 && h < 15, evening = h >= 17 && h < 21;

	s->surplus_wh = midday ? 1500 : h >= 15 && h < 17 ? 400 : 0;
	s->deficit_wh = evening || (h >= 6 && h < 10) ? 300 : midday || s->surplus_wh ? 0 : 250;
	s->retail = (h < 6     ? 28
	             : h < 10  ? 24
	             : midday  ? 14
	             : h < 17  ? 25
	             : evening ? 38
	                       : 30) *
	            10000;
	s->feedin = (midday ? 4 : 7) * 10000;
	s->local = (midday ? 9 : evening ? 31 : 22) * 10000;
	s->keep = (evening ? 24 : h >= 21 || h < 6 ? 20 : 26) * 10000;
}

/* What the battery does in interval iv holding stored_wh at its start:
 * by the plan, or (self) by its own controller. */
static void
bat_rule(const struct demo *dm, uint64_t iv, int64_t stored_wh, bool self, struct bat_step *s)
{
	unsigned h;
	int64_t room = BAT_CAPACITY_WH - stored_wh, avail = stored_wh - BAT_RESERVE_WH;

	memset(s, 0, sizeof *s);
	s->interval = iv;
	s->tod_s = bat_tod(dm, iv);
	bat_day(s);
	h = s->tod_s / 3600;
	if (avail < 0)
		avail = 0;
	if (self) { /* its own controller: self-consumption */
		s->charge_wh = min64(min64(s->surplus_wh, BAT_STORE_WH), room);
		s->discharge_wh = s->charge_wh > 0 ? 0 : min64(s->deficit_wh, avail);
	} else if (h >= 10 && h < 15) {
		s->charge_wh = min64(BAT_STORE_WH, room);
	} else if (h >= 17 && h < 21) {
		s->discharge_wh = min64(BAT_SELL_WH, avail);
		s->sell_wh = s->discharge_wh > s->deficit_wh ? s->discharge_wh - s->deficit_wh : 0;
	} else if (h >= 21 || h < 6) {
		s->discharge_wh = min64(min64(BAT_COVER_WH, s->deficit_wh), avail);
	}
	s->action = s->charge_wh > 0      ? BAT_STORE
	            : s->sell_wh > 0      ? BAT_SELL
	            : s->discharge_wh > 0 ? BAT_COVER
	                                  : BAT_HOLD;
	s->stored_end_wh = stored_wh + s->charge_wh - s->discharge_wh;
}

/* "0.27" from micro-units per kWh, as agent/bplan.c writes prices. */
static const char *
eur(char *buf, size_t cap, int32_t p)
{
	snprintf(buf, cap, "%d.%02d", p / 1000000, p / 10000 % 100);
	return buf;
}

/* Where energy kept after step t goes next (agent/bplan.c kept_for). */
static void
kept_for(const struct bat_step *st, size_t n, size_t t, char *buf, size_t cap)
{
	char p[16];

	for (size_t u = t + 1; u < n; u++) {
		unsigned hh = st[u].tod_s / 3600, mm = st[u].tod_s % 3600 / 60;
		if (st[u].action == BAT_SELL) {
			snprintf(buf, cap,
			         "kept for %02u:%02u when neighbours are expected to pay %s/kWh",
			         hh, mm, eur(p, sizeof p, st[u].local));
			return;
		}
		if (st[u].action == BAT_COVER) {
			snprintf(buf, cap, "kept for the home's load at %02u:%02u (retail %s/kWh)",
			         hh, mm, eur(p, sizeof p, st[u].retail));
			return;
		}
	}
	snprintf(buf, cap, "kept, worth %s/kWh later", eur(p, sizeof p, st[t].keep));
}

static void
bat_reason(struct bat_step *st, size_t n, size_t t, int64_t stored_start)
{
	struct bat_step *s = &st[t];
	char a[16], k[16], why[120];

	switch (s->action) {
	case BAT_STORE:
		kept_for(st, n, t, why, sizeof why);
		snprintf(s->reason, sizeof s->reason,
		         "store: the surplus would fetch only %s/kWh now; %s",
		         eur(a, sizeof a, s->local), why);
		return;
	case BAT_SELL:
		snprintf(s->reason, sizeof s->reason,
		         "sell: neighbours are expected to pay %s/kWh, more than the %s/kWh this "
		         "energy is worth kept",
		         eur(a, sizeof a, s->local), eur(k, sizeof k, s->keep));
		return;
	case BAT_COVER:
		snprintf(s->reason, sizeof s->reason, "cover: the home's load at retail %s/kWh",
		         eur(a, sizeof a, s->retail));
		return;
	case BAT_HOLD:
		break;
	}
	if (s->deficit_wh > 0 && stored_start <= BAT_RESERVE_WH) {
		snprintf(s->reason, sizeof s->reason, "hold: at the reserve (%d %%)",
		         BAT_RESERVE_PCT);
	} else if (s->surplus_wh > 0 && stored_start >= BAT_CAPACITY_WH) {
		snprintf(s->reason, sizeof s->reason, "hold: the battery is full");
	} else if (s->surplus_wh > 0) {
		snprintf(s->reason, sizeof s->reason,
		         "hold: charging would earn less than selling the surplus now (%s/kWh)",
		         eur(a, sizeof a, s->local));
	} else if (s->deficit_wh > 0) {
		kept_for(st, n, t, why, sizeof why);
		snprintf(s->reason, sizeof s->reason,
		         "hold: the home buys at retail %s/kWh now; %s",
		         eur(a, sizeof a, s->retail), why);
	} else {
		snprintf(s->reason, sizeof s->reason,
		         "hold: nothing to store and nothing to cover");
	}
}

/* x Wh at p, signed (pw_money_amount takes a quantity >= 0). */
static int64_t
money(int64_t wh, int32_t p)
{
	int64_t a = demo_amount((uint64_t)(wh < 0 ? -wh : wh), p);
	return wh < 0 ? -a : a;
}

/* The household's money in one interval: exports at the local price,
 * imports at retail. */
static int64_t
iv_money(const struct bat_step *s, int64_t charge_wh, int64_t discharge_wh)
{
	int64_t grid = s->surplus_wh - s->deficit_wh - charge_wh + discharge_wh;
	return grid >= 0 ? money(grid, s->local) : -money(-grid, s->retail);
}

int64_t
demo_bat_clear(struct demo *dm, uint64_t i)
{
	struct bat_step s;
	uint64_t day = demo_day_first(dm);

	if (!dm->bat.on)
		return 0;
	if (dm->bat.today_day != day) {
		memset(dm->bat.today_wh, 0, sizeof dm->bat.today_wh);
		dm->bat.today_day = day;
	}
	bat_rule(dm, i, dm->bat.stored_wh, dm->bat.control_off, &s);
	dm->bat.stored_wh = s.stored_end_wh;
	if (i >= day) {
		dm->bat.today_wh[0] += s.charge_wh;
		dm->bat.today_wh[1] += s.discharge_wh;
		dm->bat.today_wh[2] += s.sell_wh;
	}
	return s.sell_wh;
}

void
demo_bat_tick(struct demo *dm)
{
	struct bat_step s;

	if (!dm->bat.on)
		return;
	bat_rule(dm, demo_now_interval(dm), dm->bat.stored_wh, dm->bat.control_off, &s);
	dm->bat.power_w = (s.discharge_wh - s.charge_wh) * 3600 / BAT_IV_S;
}

static json_t *
soc(int64_t stored_wh)
{
	return json_real((double)stored_wh * 100.0 / BAT_CAPACITY_WH);
}

json_t *
demo_bat_state(struct demo *dm)
{
	const char *setpoint = NULL;
	struct bat_step s;

	if (!dm->bat.on)
		return json_null();
	if (!dm->bat.control_off && !dm->bat.paused) { /* paused: no setpoint in force */
		bat_rule(dm, demo_now_interval(dm), dm->bat.stored_wh, dm->bat.control_off, &s);
		setpoint = s.action == BAT_STORE  ? "charge"
		           : s.action == BAT_HOLD ? "hold"
		                                  : "discharge";
	}
	return json_pack(
	    "{s:o,s:f,s:i,s:f,s:b,s:s,s:o,s:o,s:{s:I,s:I,s:I}}", "soc_pct", soc(dm->bat.stored_wh),
	    "power_w", (double)dm->bat.power_w, "capacity_wh", BAT_CAPACITY_WH, "reserve_pct",
	    (double)BAT_RESERVE_PCT, "control", !dm->bat.control_off, "strategy",
	    dm->bat.control_off ? "self" : "plan", "setpoint",
	    setpoint ? json_string(setpoint) : json_null(), "offers_paused",
	    dm->bat.paused ? json_string("battery_failed") : json_null(), "today", "charged_wh",
	    (json_int_t)dm->bat.today_wh[0], "discharged_wh", (json_int_t)dm->bat.today_wh[1],
	    "sold_wh", (json_int_t)dm->bat.today_wh[2]);
}

json_t *
demo_bat_plan(struct demo *dm)
{
	static struct bat_step st[BAT_STEPS];
	uint64_t cur = demo_now_interval(dm);
	int64_t stored = dm->bat.stored_wh, self;
	int64_t value = 0, self_value = 0, none_value = 0;
	json_t *steps = json_array();
	const char *state = "planned", *msg = "";
	size_t t;

	self = stored; /* the battery left to itself starts from the same */
	if (!dm->bat.on) {
		state = "none";
		msg = "No battery: the device reports no storage model.";
	} else if (dm->bat.control_off) {
		state = "off";
		msg = "The battery is left to its own controller ([battery] control = off): the "
		      "agent writes nothing to it and makes no plan.";
	}
	if (strcmp(state, "planned") != 0)
		return json_pack("{s:s,s:s,s:I,s:I,s:o,s:o,s:n,s:n,s:n}", "state", state, "message",
		                 msg, "interval_s", (json_int_t)dm->interval_s, "now_interval",
		                 (json_int_t)cur, "battery", demo_bat_state(dm), "steps", steps,
		                 "value_u", "self_value_u", "none_value_u");
	for (t = 0; t < BAT_STEPS; t++) {
		struct bat_step sc;
		bat_rule(dm, cur + t, stored, false, &st[t]);
		stored = st[t].stored_end_wh;
		value += iv_money(&st[t], st[t].charge_wh, st[t].discharge_wh);
		none_value += iv_money(&st[t], 0, 0);
		/* the battery left to itself: stores the surplus, covers the load */
		bat_rule(dm, cur + t, self, true, &sc);
		self = sc.stored_end_wh;
		self_value += iv_money(&sc, sc.charge_wh, sc.discharge_wh);
	}
	for (t = 0; t < BAT_STEPS; t++) {
		const struct bat_step *s = &st[t];
		char tod[16];
		bat_reason(st, BAT_STEPS, t, t == 0 ? dm->bat.stored_wh : st[t - 1].stored_end_wh);
		snprintf(tod, sizeof tod, "%02u:%02u", s->tod_s / 3600, s->tod_s % 3600 / 60);
		json_array_append_new(
		    steps, json_pack("{s:I,s:I,s:s,s:s,s:I,s:I,s:I,s:o,s:i,s:i,s:i,s:i,s:s}",
		                     "interval", (json_int_t)s->interval, "start",
		                     (json_int_t)(s->interval * dm->interval_s), "time_of_day", tod,
		                     "action", bat_action_name[s->action], "charge_wh",
		                     (json_int_t)s->charge_wh, "discharge_wh",
		                     (json_int_t)s->discharge_wh, "sell_wh", (json_int_t)s->sell_wh,
		                     "soc_end_pct", soc(s->stored_end_wh), "keep_uper_kwh", s->keep,
		                     "local_uper_kwh", s->local, "feedin_uper_kwh", s->feedin,
		                     "retail_uper_kwh", s->retail, "reason", s->reason));
	}
	/* horizon_h: the hours the values cover (an extension of the contract
	 * in BATTERY.md: the agent's horizon may hold more steps than it sends) */
	return json_pack("{s:s,s:s,s:I,s:I,s:o,s:o,s:I,s:I,s:I,s:i}", "state", state, "message",
	                 msg, "interval_s", (json_int_t)dm->interval_s, "now_interval",
	                 (json_int_t)cur, "battery", demo_bat_state(dm), "steps", steps, "value_u",
	                 (json_int_t)value, "self_value_u", (json_int_t)self_value, "none_value_u",
	                 (json_int_t)none_value, "horizon_h", BAT_STEPS * BAT_IV_S / 3600);
}
