/*
 * abat.c: the home battery, the loop's side (see agentd_int.h,
 * docs/agent-energy.md "Battery").  Owns:
 *   - the plan (agent/bplan.h) with [battery] strategy = plan: made once
 *     per interval (when the first interval still open for orders moves
 *     on), again after a reload, a new price outlook or new tariffs in
 *     force, and when the state of charge strays far from what the plan
 *     assumed, over the next horizon_h hours, from the
 *     forecasts of surplus and need before the battery (a->fc, a->fc_load),
 *     each interval's tariffs (aoutlook_bounds), the local market's profile
 *     (agent/mprofile.h, learned here from each closed interval's RESULT
 *     and last DEPTH snapshot) and the battery as read;
 *   - each interval's step as planned at its gate (abat_step: what the
 *     offers of stored energy follow, agent/atrade.c);
 *   - the setpoint carried out in each interval: the kept step turned into
 *     power on the devices' clock, asked of the device thread
 *     (devpoll_set_storage) with a revert timeout that ends shortly after
 *     the interval (agent/control.c's ctl_revert_s), read back, asked again
 *     when it changes (a sale learned from the RESULT) and after a failure.
 *     The rules of agent/storage_ctl.c still apply (never below the
 *     reserve, from the grid only with grid_charge).  Without a plan (strategy
 *     self, or an input missing) it asks for the battery's own controller
 *     (auto, which those rules turn into "no discharge" at the reserve).
 *
 * Nothing is asked of the device unless [battery] control = on.
 * Called by the loop (agentd.c: abat_tick), ameter.c (abat_on_result,
 * abat_net_wh), adash.c (the JSON, /metrics) and atrade.c (abat_step).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agentd_int.h"
#include "agent/bplan.h"
#include "agent/control.h"
#include "agent/devpoll.h"
#include "agent/mprofile.h"
#include "agent/storage_ctl.h"
#include "peerwatt/fmt.h"

/* a discharge in force is corrected (the power still needed) at most this often */
#define ABAT_ADJUST_MS 1000
/* a setpoint not answered within this is asked again */
#define ABAT_RETRY_MS 5000
/* steps kept at their gates, by interval (the current interval and the few
 * before the first open one) */
#define ABAT_KEEP 16
/* steps sent to the page */
#define ABAT_SHOW 48
/* the state of charge this far (points) from the plan's: plan again */
#define ABAT_REPLAN_PCT 25.0
/* an input missing: look again at most this often */
#define ABAT_WAIT_MS 1000
/* a forecast beyond this is no household's (keeps bplan's sums in range) */
#define ABAT_WH_MAX INT64_C(1000000000)

struct abat_kept {
	bool set;
	struct bplan_step step;
	struct bplan_iv in; /* the interval's inputs as planned */
};

struct abat {
	uint64_t gen;      /* last ask sent */
	uint64_t done_gen; /* last ask answered */
	int64_t sent_ms;
	uint64_t sent_iv;
	enum stctl_mode sent_mode;
	int64_t sent_wh;      /* the energy of the setpoint sent (its power: over the time left) */
	int64_t sent_power_w; /* its power */
	bool sent_at_reserve; /* the state of charge was at or below the reserve then */
	int failed;           /* the last answer was an error */
	int have_res;
	pw_err last_rc; /* of the last answer, to log changes only */
	enum stctl_mode last_planned;
	char detail[STCTL_DETAIL_MAX + 64]; /* of the last failure */
	uint64_t shown_iv;                  /* the interval the page's plan was sent for */
	/* the local market's profile (mprofile.h) and the last interval learned */
	struct mprofile mp;
	bool mp_ok;
	uint64_t mp_iv;
	/* the plan: made for intervals plan_first.. with inputs in[] */
	struct bplan plan;
	struct bplan_iv in[BPLAN_MAX_IVS];
	bool have_plan, want_plan;
	uint64_t plan_first;
	int64_t plan_cap_wh;
	double plan_soc_pct;
	/* the tariffs the plan was made with: a new outlook (its count of
	 * changes) or new tariffs in force plan again */
	uint64_t plan_ol_changes;
	int64_t plan_feedin_uper_kwh, plan_retail_uper_kwh;
	int64_t try_ms; /* when inputs were last looked at (waiting) */
	char wait[256]; /* why no plan can be made ("" none) */
	struct abat_kept kept[ABAT_KEEP];
	/* the action carried out, logged when it changes */
	bool act_set;
	uint64_t act_iv;
	int act; /* enum bplan_action, or -1: the battery's own controller */
	bool act_nothing_sold;
};

pw_err
abat_new(struct abat **out)
{
	*out = calloc(1, sizeof(**out));
	return *out == NULL ? PW_ERR_NOMEM : PW_OK;
}

void
abat_destroy(struct abat **bp)
{
	if (bp == NULL || *bp == NULL)
		return;
	free(*bp);
	*bp = NULL;
}

uint64_t
abat_net_wh(uint64_t export_wh, uint64_t import_wh, int has_bat, uint64_t charged_wh,
            uint64_t discharged_wh, uint64_t *deficit_wh)
{
	int64_t net;

	if (!has_bat) {
		*deficit_wh = import_wh;
		return export_wh;
	}
	/* PV - load = (export - import) - discharged + charged; each term is
	 * an interval's energy of one household (far below 2^62) */
#define ABAT_CLIP(x) ((x) > (UINT64_C(1) << 60) ? (int64_t)(UINT64_C(1) << 60) : (int64_t)(x))
	net = ABAT_CLIP(export_wh) - ABAT_CLIP(import_wh) - ABAT_CLIP(discharged_wh) +
	      ABAT_CLIP(charged_wh);
#undef ABAT_CLIP
	*deficit_wh = net < 0 ? (uint64_t)-net : 0;
	return net > 0 ? (uint64_t)net : 0;
}

/* The devices' length of one interval, s (a simulator's clock runs faster). */
static int64_t
span_s(const struct agentd *a)
{
	return (int64_t)devclock_span_s(&a->clock, (uint64_t)a->cfg.interval_s);
}

/* A plan is wanted: a battery read, control on, strategy plan. */
static bool
planning(const struct agentd *a)
{
	return a->have_rd && a->rd.storage.present && a->cfg.battery_control &&
	       a->cfg.battery_strategy == ACONFIG_BAT_PLAN;
}

/* The reserve in %: the configured one or the device's, the higher. */
static double
reserve_pct(const struct agentd *a)
{
	const struct storage_reading *st = &a->rd.storage;
	double r = (double)a->cfg.battery_reserve_pct;
	return st->has_reserve && st->reserve_pct > r ? st->reserve_pct : r;
}

void
abat_reconfigured(struct agentd *a)
{
	if (a->bat != NULL)
		a->bat->want_plan = true;
}

/* ---- the local market's profile -------------------------------------- */

/* The book of interval iv as the last DEPTH snapshot shows it, the
 * household's own open orders taken out (its standing bids and its offers
 * are no neighbour's): the residual demand (mprofile_residual).  false
 * when there is no snapshot of iv. */
static bool
book_residual(struct agentd *a, uint64_t iv, int64_t *vol_wh, int32_t *price, int64_t *bids_wh)
{
	const struct pw_depth *d = NULL;
	struct pw_depth_level lv[PW_DEPTH_MAX_LEVELS];
	struct oview v[32];
	size_t n, nv;

	*vol_wh = 0;
	*price = 0;
	*bids_wh = 0;
	for (int i = 0; i < DEPTH_KEEP; i++)
		if (a->depth[i].interval == iv && a->depth[i].n_levels > 0)
			d = &a->depth[i];
	if (d == NULL)
		return false;
	n = d->n_levels < PW_DEPTH_MAX_LEVELS ? d->n_levels : PW_DEPTH_MAX_LEVELS;
	memcpy(lv, d->levels, n * sizeof(lv[0]));
	nv = atrade_collect_orders(a, iv, iv, v, sizeof(v) / sizeof(v[0]));
	for (size_t k = 0; k < nv; k++) {
		if (v[k].cancelled || v[k].state == OUTBOX_REJECTED || v[k].state == OUTBOX_DROPPED)
			continue;
		for (size_t j = 0; j < n; j++)
			if (lv[j].side == v[k].side &&
			    lv[j].price_uper_kwh == v[k].price_uper_kwh) {
				lv[j].qty_wh =
				    lv[j].qty_wh > v[k].qty_wh ? lv[j].qty_wh - v[k].qty_wh : 0;
				break;
			}
	}
	(void)mprofile_residual(lv, n, vol_wh, price);
	for (size_t j = 0; j < n; j++)
		if (lv[j].side == PW_SIDE_BUY && lv[j].qty_wh < (UINT64_C(1) << 40))
			*bids_wh += (int64_t)lv[j].qty_wh;
	return true;
}

/* The closed intervals (gate passed) not learned yet, up to before
 * `first` (the first open one): the RESULT's clearing price when it had
 * volume; the volume the neighbours bought from the battery plus what
 * the last snapshot left unserved. */
static void
learn_market(struct agentd *a, uint64_t first)
{
	struct abat *b = a->bat;
	uint64_t from;

	if (!b->mp_ok) {
		if (mprofile_init(&b->mp, (uint32_t)span_s(a)) != PW_OK)
			return;
		b->mp_ok = true;
		b->mp_iv = first - 1; /* nothing before the start is known */
		return;
	}
	from = b->mp_iv + 1;
	if (first > from + DEPTH_KEEP)
		from = first - DEPTH_KEEP; /* the agent was away: only what is held */
	for (uint64_t iv = from; iv < first; iv++) {
		int32_t price = 0, rprice;
		uint64_t volume = 0;
		int64_t rvol, bids;
		struct policy_bounds bd;
		bool has_res = aledger_result_price(a->led, iv, &price, &volume) == 1;
		bool has_book = book_residual(a, iv, &rvol, &rprice, &bids);
		int64_t sold = agentd_i64(aledger_battery_sold_wh(a->led, iv));
		if (!has_res && !has_book)
			continue;
		mprofile_learn(&b->mp, agentd_iv_tod(a, iv),
		               (has_res && volume > 0) || (has_book && rvol > 0),
		               has_res && volume > 0 ? price : rprice, rvol + sold);
		/* the prior for slots not seen yet: where the clearing lay
		 * between the interval's tariffs, and the neighbours' bids */
		(void)aoutlook_bounds(a, iv, &bd);
		mprofile_learn_prior(&b->mp, has_res && volume > 0 && bd.known, price,
		                     bd.feedin_uper_kwh, bd.retail_uper_kwh, has_book ? bids : -1);
	}
	b->mp_iv = first - 1;
}

/* Interval iv's expected local price and volume: its open book when the
 * exchange published one, else the profile. */
static void
market_expect(struct agentd *a, uint64_t iv, uint32_t tod, struct bplan_iv *x)
{
	int64_t vol, bids;
	int32_t price;

	(void)mprofile_expect(&a->bat->mp, tod, x->feedin_uper_kwh, x->retail_uper_kwh,
	                      &x->local_uper_kwh, &x->local_wh);
	if (book_residual(a, iv, &vol, &price, &bids)) {
		x->local_wh = vol;
		if (vol > 0)
			x->local_uper_kwh =
			    mprofile_clamp(price, x->feedin_uper_kwh, x->retail_uper_kwh);
	}
}

/* ---- the plan ---------------------------------------------------------- */

static const struct abat_kept *
kept_of(const struct abat *b, uint64_t iv)
{
	const struct abat_kept *k = &b->kept[iv % ABAT_KEEP];
	return k->set && k->step.interval == iv ? k : NULL;
}

/* What interval iv's kept step does to the battery, Wh (AC side, > 0
 * charging), as abat_tick carries it out. */
static int64_t
kept_effect_wh(struct agentd *a, const struct abat_kept *k)
{
	switch (k->step.action) {
	case BPLAN_STORE:
		return k->step.charge_wh;
	case BPLAN_SELL: {
		int64_t sold = agentd_i64(aledger_battery_sold_wh(a->led, k->step.interval));
		return -(k->in.deficit_wh + (sold > 0 ? sold : 0));
	}
	case BPLAN_COVER:
		return -k->step.discharge_wh;
	case BPLAN_HOLD:
	default:
		return 0;
	}
}

/* No plan: why (a format with one %s, and the input named). */
static bool
waiting(struct abat *b, const char *fmt, const char *what)
{
	b->have_plan = false;
	snprintf(b->wait, sizeof(b->wait), fmt, what);
	return false;
}

/* A value of the battery: the device's, else the configured one (> 0),
 * else 0. */
static int64_t
dev_or_cfg(bool has, double dev, int64_t cfg)
{
	return has && dev >= 1.0 ? (int64_t)dev : cfg;
}

static bool
make_plan(struct agentd *a, int64_t now, uint64_t first)
{
	struct abat *b = a->bat;
	const struct storage_reading *st = &a->rd.storage;
	struct bplan_battery bat;
	int64_t span = span_s(a), cap, max_c, max_d, ivms = agentd_interval_ms(a);
	uint64_t iv_now = (uint64_t)(now / ivms);
	size_t n;
	double stored;
	pw_err rc;

	b->try_ms = now;
	cap =
	    st->has_capacity && st->capacity_wh > 0 ? st->capacity_wh : a->cfg.battery_capacity_wh;
	max_c = dev_or_cfg(st->has_max_charge, st->max_charge_w, a->cfg.battery_max_charge_w);
	max_d =
	    dev_or_cfg(st->has_max_discharge, st->max_discharge_w, a->cfg.battery_max_discharge_w);
	if (cap <= 0)
		return waiting(b, "%s: the device reports no capacity; set [battery] capacity_wh.",
		               "The battery's capacity is unknown");
	if (!st->has_soc)
		return waiting(b, "%s: the device reports no state of charge.",
		               "The battery's state of charge is unknown");
	if (max_c <= 0)
		return waiting(b, "%s: the device reports none; set [battery] max_charge_w.",
		               "The battery's maximum charge power is unknown");
	if (max_d <= 0)
		return waiting(b, "%s: the device reports none; set [battery] max_discharge_w.",
		               "The battery's maximum discharge power is unknown");
	if (!a->fc.have_last)
		return waiting(b,
		               "%s: no interval measured yet (the first reading comes when an "
		               "interval closes).",
		               "The forecasts of surplus and need have nothing to go on");
	/* what is stored at the start of `first`: now's, plus what the
	 * setpoints of the current interval (its rest) and of those before
	 * `first` still do (the efficiency aside) */
	stored = st->soc_pct * (double)cap / 100.0;
	for (uint64_t iv = iv_now; iv < first; iv++) {
		const struct abat_kept *k = kept_of(b, iv);
		double part = 1.0;
		if (k == NULL)
			continue;
		if (iv == iv_now)
			part = (double)(agentd_iv_start_s(a, iv + 1) * 1000 - now) / (double)ivms;
		stored += part * (double)kept_effect_wh(a, k);
	}
	memset(&bat, 0, sizeof(bat));
	bat.capacity_wh = cap;
	bat.stored_wh = stored < 0 ? 0 : stored > (double)cap ? cap : (int64_t)llround(stored);
	bat.reserve_wh = (int64_t)llround(reserve_pct(a) * (double)cap / 100.0);
	if (bat.reserve_wh > cap)
		bat.reserve_wh = cap;
	bat.max_charge_wh = max_c * span / 3600;
	bat.max_discharge_wh = max_d * span / 3600;
	bat.efficiency_pct = (uint32_t)a->cfg.battery_efficiency_pct;
	bat.wear_uper_kwh = a->cfg.battery_wear_uper_kwh;
	bat.grid_charge = a->cfg.battery_grid_charge != 0;
	n = (size_t)(a->cfg.battery_horizon_h * 3600 / (span > 0 ? span : 1));
	if (n < 1)
		n = 1;
	if (n > BPLAN_MAX_IVS)
		n = BPLAN_MAX_IVS;
	for (size_t k = 0; k < n; k++) {
		struct bplan_iv *x = &b->in[k];
		uint64_t iv = first + k;
		uint32_t tod = agentd_iv_tod(a, iv);
		uint32_t h =
		    (uint32_t)(a->have_fc_iv && iv > a->fc_last_iv ? iv - a->fc_last_iv : 1);
		struct policy_bounds pb;
		uint64_t sur, def;
		memset(x, 0, sizeof(*x));
		x->interval = iv;
		x->tod_s = tod;
		if (aoutlook_bounds(a, iv, &pb) == AOUTLOOK_SRC_NONE || !pb.known)
			return waiting(b,
			               "%s: no price outlook, no HEARTBEAT of the exchange and no "
			               "configured tariffs yet.",
			               "The tariffs are unknown");
		x->feedin_uper_kwh = pb.feedin_uper_kwh < pb.retail_uper_kwh ? pb.feedin_uper_kwh
		                                                             : pb.retail_uper_kwh;
		x->retail_uper_kwh = pb.feedin_uper_kwh < pb.retail_uper_kwh ? pb.retail_uper_kwh
		                                                             : pb.feedin_uper_kwh;
		/* conservative both ways: the firm surplus, the need plus its margin */
		sur = forecast_firm_wh(&a->fc, tod, h);
		def = forecast_export_wh(&a->fc_load, tod, h) +
		      forecast_margin_wh(&a->fc_load, tod, h);
		x->surplus_wh = sur > (uint64_t)ABAT_WH_MAX ? ABAT_WH_MAX : (int64_t)sur;
		x->deficit_wh = def > (uint64_t)ABAT_WH_MAX ? ABAT_WH_MAX : (int64_t)def;
		market_expect(a, iv, tod, x);
	}
	if ((rc = bplan_make(&bat, b->in, n, &b->plan)) != PW_OK) {
		if (strcmp(b->wait, "The plan's inputs are out of range (see the log).") != 0)
			log_warnx("battery: no plan: %s (capacity %lld Wh, stored %lld Wh, reserve "
			          "%lld Wh, %lld/%lld Wh per interval)",
			          pw_strerror(rc), (long long)bat.capacity_wh,
			          (long long)bat.stored_wh, (long long)bat.reserve_wh,
			          (long long)bat.max_charge_wh, (long long)bat.max_discharge_wh);
		return waiting(b, "%s out of range (see the log).", "The plan's inputs are");
	}
	b->have_plan = true;
	b->want_plan = false;
	b->wait[0] = '\0';
	b->plan_first = first;
	b->plan_cap_wh = cap;
	b->plan_soc_pct = st->soc_pct;
	b->plan_ol_changes = a->aol.ol.changes;
	b->plan_feedin_uper_kwh = a->cfg.feedin_uper_kwh;
	b->plan_retail_uper_kwh = a->cfg.retail_uper_kwh;
	/* the step of `first` is kept as planned last before its gate */
	b->kept[first % ABAT_KEEP].set = true;
	b->kept[first % ABAT_KEEP].step = b->plan.step[0];
	b->kept[first % ABAT_KEEP].in = b->in[0];
	if (a->dash != NULL)
		(void)dash_notify(a->dash, DASH_DOC_PLAN);
	return true;
}

/* Once per interval (or sooner when due): learn the market, plan. */
static void
plan_tick(struct agentd *a, int64_t now)
{
	struct abat *b = a->bat;
	uint64_t first = agentd_first_open(a, now);
	char was[sizeof(b->wait)];

	if (!planning(a)) {
		b->have_plan = false;
		b->wait[0] = '\0';
		return;
	}
	learn_market(a, first);
	if (b->have_plan && b->plan_first == first && !b->want_plan &&
	    fabs(a->rd.storage.soc_pct - b->plan_soc_pct) < ABAT_REPLAN_PCT &&
	    a->aol.ol.changes == b->plan_ol_changes &&
	    a->cfg.feedin_uper_kwh == b->plan_feedin_uper_kwh &&
	    a->cfg.retail_uper_kwh == b->plan_retail_uper_kwh)
		return;
	if (!b->have_plan && b->wait[0] != '\0' && now - b->try_ms < ABAT_WAIT_MS &&
	    b->plan_first == first && !b->want_plan)
		return;
	memcpy(was, b->wait, sizeof(was));
	b->plan_first = first;
	if (!make_plan(a, now, first) && strcmp(was, b->wait) != 0) {
		log_info("battery: no plan yet: %s", b->wait);
		if (a->dash != NULL)
			(void)dash_notify(a->dash, DASH_DOC_PLAN);
	}
}

/* ---- carrying out the step -------------------------------------------- */

/* The setpoint of interval iv at `now`: its kept step, or the battery's
 * own controller.  *act the action carried out (-1: own controller, no
 * step), *nothing_sold when a sale became cover, *wh_out the energy the
 * setpoint is for (what tells a new setpoint from the one in force). */
static void
setpoint_of(struct agentd *a, uint64_t iv, int64_t now, struct stctl_cmd *cmd, int *act,
            bool *nothing_sold, int64_t *wh_out)
{
	const struct abat_kept *k = planning(a) ? kept_of(a->bat, iv) : NULL;
	const struct storage_reading *st = &a->rd.storage;
	int64_t span = span_s(a), wh = 0, done = 0, lim, left_ms, left;

	*wh_out = 0;
	memset(cmd, 0, sizeof(*cmd));
	cmd->mode = STCTL_AUTO;
	*act = -1;
	*nothing_sold = false;
	if (k == NULL || span <= 0)
		return;
	*act = (int)k->step.action;
	switch (k->step.action) {
	case BPLAN_STORE:
		wh = k->step.charge_wh;
		cmd->mode = STCTL_CHARGE;
		lim = dev_or_cfg(st->has_max_charge, st->max_charge_w, a->cfg.battery_max_charge_w);
		break;
	case BPLAN_SELL:
		wh = agentd_i64(aledger_battery_sold_wh(a->led, iv));
		if (wh <= 0) { /* nothing of the offer sold: the home's load only */
			*nothing_sold = true;
			return;
		}
		wh += k->in.deficit_wh;
		/* closed loop: what the battery already delivered in this interval
		 * counts, so that a setpoint written late (or a battery slower than
		 * asked) is made up before the interval ends (abat_tick asks again
		 * when the power needed moves) */
		cmd->mode = STCTL_DISCHARGE;
		lim = dev_or_cfg(st->has_max_discharge, st->max_discharge_w,
		                 a->cfg.battery_max_discharge_w);
		if (a->bat_iv == iv && a->bat_dis_wh > 0) {
			/* the polled power integrated (ameter.c) can run a poll or
			 * two ahead of the battery at a change of power: counted
			 * short by two polls at the most it discharges (in the demo
			 * 115 Wh, with a real clock about 3 Wh), what is left over
			 * goes out at the feed-in tariff, never a shortfall */
			double slack = (double)(lim > 0 ? lim : STORAGE_POWER_MAX_W) * 2.0 *
			               (double)a->cfg.poll_ms *
			               (double)(a->clock.simulated ? a->clock.speed : 1) /
			               3600000.0;
			done = (int64_t)(a->bat_dis_wh - slack);
		}
		break;
	case BPLAN_HOLD:
		cmd->mode = STCTL_HOLD;
		return;
	case BPLAN_COVER:
	default:
		return;
	}
	/* Wh of the interval -> W over the devices' seconds left in it, rounded
	 * up: the setpoint is written after the interval began (a sale is known
	 * at its gate, the device thread writes at its next round), and the
	 * energy sold must be out by its end, or the seller falls short */
	*wh_out = wh;
	left_ms = agentd_iv_start_s(a, iv + 1) * 1000 - now;
	if (left_ms > agentd_interval_ms(a))
		left_ms = agentd_interval_ms(a);
	left = left_ms > 0 ? span * left_ms / agentd_interval_ms(a) : 0;
	if (left < 1)
		left = 1;
	cmd->power_w = wh > done ? ((wh - done) * 3600 + left - 1) / left : 0;
	if (lim > 0 && cmd->power_w > lim)
		cmd->power_w = lim;
	if (cmd->power_w > STORAGE_POWER_MAX_W)
		cmd->power_w = STORAGE_POWER_MAX_W;
	if (cmd->power_w <= 0) /* a sale delivered: the home's load from the battery */
		cmd->mode = cmd->mode == STCTL_DISCHARGE ? STCTL_AUTO : STCTL_HOLD;
}

/* Logs the action carried out when it changes, with its reason. */
static void
note_action(struct agentd *a, uint64_t iv, int act, bool nothing_sold, const struct stctl_cmd *cmd)
{
	struct abat *b = a->bat;
	const struct abat_kept *k;
	char ivs[PW_FMT_LEN], hhmm[8];

	if (b->act_set && b->act_iv == iv && b->act == act && b->act_nothing_sold == nothing_sold)
		return;
	b->act_set = true;
	b->act_iv = iv;
	b->act = act;
	b->act_nothing_sold = nothing_sold;
	k = kept_of(b, iv);
	pw_fmt_interval(iv, a->cfg.interval_s, ivs, sizeof(ivs));
	devclock_hhmm(&a->clock, agentd_iv_start_s(a, iv) * 1000, hhmm, sizeof(hhmm));
	if (act < 0 || k == NULL) {
		if (planning(a))
			log_info("battery: interval %s (%s): no plan for it: the battery's own "
			         "controller",
			         ivs, hhmm);
		return;
	}
	if (cmd->power_w > 0)
		log_info("battery: interval %s (%s): %s%s -> setpoint %s %lld W: %s", ivs, hhmm,
		         bplan_action_name((enum bplan_action)act),
		         nothing_sold ? " (nothing of the offer sold: cover)" : "",
		         stctl_mode_name(cmd->mode), (long long)cmd->power_w, k->step.reason);
	else
		log_info("battery: interval %s (%s): %s%s -> setpoint %s: %s", ivs, hhmm,
		         bplan_action_name((enum bplan_action)act),
		         nothing_sold ? " (nothing of the offer sold: cover)" : "",
		         stctl_mode_name(cmd->mode), k->step.reason);
}

void
abat_tick(struct agentd *a, int64_t now)
{
	struct abat *b = a->bat;
	uint64_t iv = (uint64_t)(now / agentd_interval_ms(a));
	struct stctl_cfg cfg;
	struct stctl_cmd cmd;
	int64_t end_ms;
	int act;
	bool nothing_sold, at_reserve;
	int64_t wh;

	if (b == NULL || !agentd_iv_ok(a, iv + 1 + ABAT_KEEP + BPLAN_MAX_IVS))
		return;
	if (iv != b->shown_iv && a->dash != NULL) { /* the page's plan moves on */
		b->shown_iv = iv;
		(void)dash_notify(a->dash, DASH_DOC_PLAN);
	}
	plan_tick(a, now);
	if (!a->cfg.battery_control || a->dp == NULL)
		return;
	setpoint_of(a, iv, now, &cmd, &act, &nothing_sold, &wh);
	/* the reserve reached within the interval: asked again at once, so
	 * that the rules (storage_ctl.c) stop a discharge or the own
	 * controller there, not at the next interval; left 1 point above it
	 * (no write every poll while the state of charge wavers there) */
	at_reserve = !a->rd.storage.has_soc || a->rd.storage.soc_pct <= reserve_pct(a) ||
	             (b->sent_at_reserve && a->rd.storage.soc_pct <= reserve_pct(a) + 1.0);
	if ((b->gen != b->done_gen || b->failed) && now - b->sent_ms < ABAT_RETRY_MS)
		return; /* under way, or failed a moment ago */
	if (b->gen != 0 && b->gen == b->done_gen && !b->failed && b->sent_iv == iv &&
	    b->sent_mode == cmd.mode && b->sent_wh == wh && b->sent_at_reserve == at_reserve &&
	    (cmd.mode != STCTL_DISCHARGE || now - b->sent_ms < ABAT_ADJUST_MS ||
	     llabs(cmd.power_w - b->sent_power_w) * 10 <= b->sent_power_w))
		return; /* this interval's is in force (its power: over the time then left;
		         * a discharge asked again when the power still needed moved by
		         * more than a tenth, at most once a second) */
	note_action(a, iv, act, nothing_sold, &cmd);
	end_ms = agentd_iv_start_s(a, iv + 1) * 1000;
	cfg.reserve_pct = (double)a->cfg.battery_reserve_pct;
	cfg.grid_charge = a->cfg.battery_grid_charge != 0;
	cmd.revert_s = ctl_revert_s(end_ms - now, a->clock.simulated ? a->clock.speed : 1);
	b->gen++;
	b->sent_ms = now;
	b->sent_iv = iv;
	b->sent_mode = cmd.mode;
	b->sent_wh = wh;
	b->sent_power_w = cmd.power_w;
	b->sent_at_reserve = at_reserve;
	devpoll_set_storage(a->dp, &cfg, &cmd, b->gen);
}

void
abat_on_result(struct agentd *a, uint64_t gen, const struct stctl_result *r, int64_t now)
{
	struct abat *b = a->bat;
	bool changed;

	(void)now;
	if (b == NULL || gen != b->gen)
		return; /* an older ask's answer */
	b->done_gen = gen;
	b->failed = r->rc != PW_OK;
	changed = !b->have_res || r->rc != b->last_rc || r->planned != b->last_planned;
	b->have_res = 1;
	b->last_rc = r->rc;
	b->last_planned = r->planned;
	if (r->rc != PW_OK)
		snprintf(b->detail, sizeof(b->detail), "%s%s%s", pw_strerror(r->rc),
		         r->detail[0] ? ": " : "", r->detail);
	if (!changed)
		return;
	if (r->rc != PW_OK)
		log_warnx("battery: setpoint %s not in force: %s%s%s", stctl_mode_name(r->asked),
		          pw_strerror(r->rc), r->detail[0] ? ": " : "", r->detail);
	else
		log_info("battery: %s%s%s (revert timeout %u s, read back)",
		         stctl_mode_name(r->planned), r->detail[0] ? ": " : "", r->detail,
		         r->want.revert_s);
}

void
abat_problems(struct agentd *a, unsigned *active)
{
	struct abat *b = a->bat;

	if (b == NULL || !a->cfg.battery_control || !b->failed)
		return;
	*active |= 1u << ASTATUS_BATTERY_FAILED;
	snprintf(a->st_msg[ASTATUS_BATTERY_FAILED], sizeof(a->st_msg[0]),
	         "The battery's setpoint is not in force: %s.", b->detail);
	snprintf(a->st_action[ASTATUS_BATTERY_FAILED], sizeof(a->st_action[0]),
	         "The agent tries again every few seconds; a setpoint it wrote reverts by itself"
	         " after its revert timeout. Check that the battery accepts SunSpec model 124"
	         " writes over Modbus (some need it enabled), or set [battery] control = off.");
}

const struct bplan_step *
abat_step(const struct agentd *a, uint64_t iv)
{
	const struct abat *b = a->bat;
	const struct abat_kept *k;

	if (b == NULL || !planning(a))
		return NULL;
	if (b->have_plan && iv >= b->plan_first && iv - b->plan_first < b->plan.n)
		return &b->plan.step[iv - b->plan_first];
	k = kept_of(b, iv);
	return k != NULL ? &k->step : NULL;
}

static json_t *
num_or_null(bool has, double v)
{
	return has ? json_real(v) : json_null();
}

json_t *
abat_state_json(struct agentd *a)
{
	const struct storage_reading *st = &a->rd.storage;
	struct abat *b = a->bat;
	json_t *doc;

	if (!a->have_rd || !st->present)
		return json_null();
	doc = json_pack("{s:o, s:o, s:o, s:o, s:b, s:s}", "soc_pct",
	                num_or_null(st->has_soc, st->soc_pct), "power_w",
	                num_or_null(st->has_power, st->power_w), "capacity_wh",
	                st->has_capacity ? json_integer((json_int_t)st->capacity_wh) : json_null(),
	                "reserve_pct",
	                a->cfg.battery_reserve_pct > 0 || !st->has_reserve
	                    ? json_real((double)a->cfg.battery_reserve_pct)
	                    : json_real(st->reserve_pct),
	                "control", a->cfg.battery_control != 0, "strategy",
	                a->cfg.battery_strategy == ACONFIG_BAT_SELF ? "self" : "plan");
	if (doc == NULL)
		return NULL;
	if (b != NULL && a->cfg.battery_control && b->have_res && b->last_rc == PW_OK) {
		json_object_set_new(doc, "setpoint", json_string(stctl_mode_name(b->last_planned)));
	} else {
		json_object_set_new(doc, "setpoint", json_null());
	}
	/* why offers of stored energy are not made (atrade.c), so that the
	 * page does not leave the plan's sales looking as if they happened */
	json_object_set_new(doc, "offers_paused",
	                    a->auto_sell && a->cfg.battery_control && a->bat_block_set &&
	                            a->bat_block != POLICY_SELL_OK
	                        ? json_string(policy_block_name(a->bat_block))
	                        : json_null());
	{
		/* the devices' day: charged, discharged, sold from the battery
		 * (docs/dashboard.md) */
		uint64_t from, to;
		json_t *day;
		agentd_day_ivs(a, &from, &to);
		day = aledger_json_battery_day(a->led, from, to);
		json_object_set_new(doc, "today", day != NULL ? day : json_null());
	}
	return doc;
}

/* One step of /api/plan. */
static json_t *
step_json(struct agentd *a, const struct bplan_step *s, const struct bplan_iv *in, int64_t cap_wh)
{
	char hhmm[8];
	int64_t start = agentd_iv_start_s(a, s->interval);

	devclock_hhmm(&a->clock, start * 1000, hhmm, sizeof(hhmm));
	return json_pack(
	    "{s:I, s:I, s:s, s:s, s:I, s:I, s:I, s:f, s:i, s:i, s:i, s:i, s:s}", "interval",
	    (json_int_t)s->interval, "start", (json_int_t)start, "time_of_day", hhmm, "action",
	    bplan_action_name(s->action), "charge_wh", (json_int_t)s->charge_wh, "discharge_wh",
	    (json_int_t)s->discharge_wh, "sell_wh", (json_int_t)s->sell_wh, "soc_end_pct",
	    cap_wh > 0 ? round(1000.0 * (double)s->stored_end_wh / (double)cap_wh) / 10.0 : 0.0,
	    "keep_uper_kwh", (int)s->keep_uper_kwh, "local_uper_kwh", (int)in->local_uper_kwh,
	    "feedin_uper_kwh", (int)in->feedin_uper_kwh, "retail_uper_kwh",
	    (int)in->retail_uper_kwh, "reason", s->reason);
}

json_t *
abat_plan_json(struct agentd *a, int64_t now)
{
	struct abat *b = a->bat;
	const char *state, *msg;
	char buf[512];
	uint64_t iv_now = (uint64_t)(now / agentd_interval_ms(a));
	json_t *steps = json_array(), *doc;
	bool planned = false;

	if (steps == NULL)
		return NULL;
	if (!a->have_rd || !a->rd.storage.present) {
		state = "none";
		msg = "No battery: the device reports no storage model.";
	} else if (!a->cfg.battery_control) {
		state = "off";
		msg = "The battery is left to its own controller ([battery] control = off): the "
		      "agent writes nothing to it and makes no plan.";
	} else if (a->cfg.battery_strategy == ACONFIG_BAT_SELF || b == NULL) {
		snprintf(
		    buf, sizeof(buf),
		    "The battery runs its own controller (self-consumption, [battery] strategy "
		    "= self); the agent only keeps it from discharging below the reserve of "
		    "%lld %%.",
		    (long long)a->cfg.battery_reserve_pct);
		state = "self";
		msg = buf;
	} else if (!b->have_plan) {
		snprintf(buf, sizeof(buf),
		         "%s Until then the battery runs its own controller, kept above the "
		         "reserve.",
		         b->wait[0] != '\0' ? b->wait : "The plan is being made.");
		state = "waiting";
		msg = buf;
	} else {
		snprintf(
		    buf, sizeof(buf),
		    "The agent's plan over the next %lld h: when the battery stores the PV "
		    "surplus, sells stored energy to the neighbours, covers the home's load or "
		    "holds.",
		    (long long)a->cfg.battery_horizon_h);
		state = "planned";
		msg = buf;
		planned = true;
	}
	if (planned) {
		/* the steps kept for the intervals under way, then the plan */
		for (uint64_t iv = iv_now; iv < b->plan_first; iv++) {
			const struct abat_kept *k = kept_of(b, iv);
			if (k != NULL && json_array_size(steps) < ABAT_SHOW)
				json_array_append_new(
				    steps, step_json(a, &k->step, &k->in, b->plan_cap_wh));
		}
		for (size_t k = 0; k < b->plan.n && json_array_size(steps) < ABAT_SHOW; k++)
			json_array_append_new(
			    steps, step_json(a, &b->plan.step[k], &b->in[k], b->plan_cap_wh));
	}
	doc = json_pack("{s:s, s:s, s:I, s:I, s:o, s:o}", "state", state, "message", msg,
	                "interval_s", (json_int_t)a->cfg.interval_s, "now_interval",
	                (json_int_t)iv_now, "battery", abat_state_json(a), "steps", steps);
	if (doc == NULL)
		return NULL;
	json_object_set_new(doc, "value_u",
	                    planned ? json_integer((json_int_t)b->plan.value_u) : json_null());
	json_object_set_new(doc, "self_value_u",
	                    planned ? json_integer((json_int_t)b->plan.self_value_u) : json_null());
	json_object_set_new(doc, "none_value_u",
	                    planned ? json_integer((json_int_t)b->plan.none_value_u) : json_null());
	/* the hours the values cover */
	json_object_set_new(doc, "horizon_h", json_integer((json_int_t)a->cfg.battery_horizon_h));
	return doc;
}

void
abat_metrics(struct agentd *a, FILE *out)
{
	const struct storage_reading *st = &a->rd.storage;
	const struct bplan_step *s;
	uint64_t iv;

	if (!a->have_rd || !st->present)
		return;
	if (st->has_soc)
		fprintf(out,
		        "# TYPE peerwatt_agent_battery_soc_pct gauge\n"
		        "peerwatt_agent_battery_soc_pct %.1f\n",
		        st->soc_pct);
	/* the action of the current interval's step: 1 for it, 0 for the others */
	iv = (uint64_t)(agentd_now_ms(a) / agentd_interval_ms(a));
	s = a->bat != NULL ? abat_step(a, iv) : NULL;
	fprintf(out, "# TYPE peerwatt_agent_battery_plan_action gauge\n");
	for (int k = BPLAN_HOLD; k <= BPLAN_COVER; k++)
		fprintf(out, "peerwatt_agent_battery_plan_action{action=\"%s\"} %d\n",
		        bplan_action_name((enum bplan_action)k), s != NULL && (int)s->action == k);
}
