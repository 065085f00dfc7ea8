/*
 * bplan.c: the home battery's plan (agent/bplan.h; docs/agent-energy.md
 * "Battery plan").
 *
 * Dynamic programming over the stored energy.  The states at the start of
 * every interval are BPLAN_LEVELS levels from 0 to the capacity plus three
 * more: the energy stored now (so that holding is exact), the reserve (so
 * that discharging may end exactly on it) and where the battery's own
 * controller would be (so that the battery left to itself is one of the
 * paths the plan weighs).  Backwards from the last interval, each state's
 * best money to the end of the horizon is the best over every reachable next
 * state of the interval's money plus that state's; forwards from the energy
 * stored now, the best choices are the plan.  Moves within a few Wh's worth
 * of money of each other count as equal, and the one that acts now on what
 * is in hand wins: the most stored of the surplus in hand, the most
 * discharged for a load or a sale now, holding only when it is worth more
 * (see backward()); should that cost
 * the plan its lead over the battery left to itself or over holding
 * throughout, the plan is the better of those two paths, so that value_u >=
 * self_value_u and value_u >= none_value_u always hold.
 *
 * The battery's physics, the same for the plan and the baselines, in whole
 * Wh and never in the battery's favour: the one-way efficiency is the
 * integer square root of the round trip (per mille, rounded down); storing
 * g Wh in the cells takes ceil(g / eff) Wh from the AC side, taking l Wh out
 * of the cells delivers floor(l x eff) Wh.
 *
 * Money in micro-units, each amount by the trade rule of peerwatt/money.h
 * (Wh x price / 1000, half up).  The bounds checked on the inputs keep every
 * sum far inside int64 (an interval's money under 2^55, 192 of them under
 * 2^63).
 */
#include <stdio.h>
#include <string.h>

#include "agent/bplan.h"

#define NSTD   BPLAN_LEVELS       /* the evenly spaced levels */
#define NLV    (BPLAN_LEVELS + 3) /* and: stored now, the reserve, the self path */
#define LV_NOW (NSTD + 0)
#define LV_RES (NSTD + 1)
#define LV_SLF (NSTD + 2)

#define MAX_CAPACITY_WH 1000000
#define MAX_IV_WH       10000000

/* Scratch of one plan (on the stack: about 150 kB). */
struct work {
	const struct bplan_battery *b;
	const struct bplan_iv *iv;
	size_t n;
	int64_t eff_pm;                     /* one-way efficiency, per mille */
	int64_t min_feedin;                 /* max(0, lowest feed-in of the horizon) */
	int64_t tol;                        /* money the battery's rounding may move */
	int64_t std_wh[NSTD];               /* level k = k x capacity / (LEVELS - 1) */
	int32_t std_ac[NSTD][NSTD];         /* AC charge (up) or discharge (down) between levels */
	int64_t self_wh[BPLAN_MAX_IVS + 1]; /* the self path's stored energy */
	int64_t self_c[BPLAN_MAX_IVS], self_d[BPLAN_MAX_IVS];
	uint8_t pol[BPLAN_MAX_IVS][NLV];  /* best next level */
	int32_t keep[BPLAN_MAX_IVS][NLV]; /* keep price at the end of the interval */
	int64_t v[2][NLV];                /* money to the end, this and the next start */
};

/* floor(a / 1000) for either sign. */
static int64_t
div1000_floor(int64_t a)
{
	return a >= 0 ? a / 1000 : -((-a + 999) / 1000);
}

/* The trade rule: wh x price / 1000, half up. */
static int64_t
amount(int64_t wh, int64_t price_uper_kwh)
{
	return div1000_floor(wh * price_uper_kwh + 500);
}

static int64_t
isqrt64(int64_t x)
{
	int64_t r = 0;
	while ((r + 1) * (r + 1) <= x)
		r++;
	return r;
}

static int64_t
lv_wh(const struct work *w, size_t t, size_t k)
{
	switch (k) {
	case LV_NOW:
		return w->b->stored_wh;
	case LV_RES:
		return w->b->reserve_wh;
	case LV_SLF:
		return w->self_wh[t];
	default:
		return w->std_wh[k];
	}
}

/* AC energy to charge the cells by gain_wh (> 0). */
static int64_t
charge_ac(const struct work *w, int64_t gain_wh)
{
	return (gain_wh * 1000 + w->eff_pm - 1) / w->eff_pm;
}

/* AC energy delivered when the cells lose loss_wh (> 0). */
static int64_t
discharge_ac(const struct work *w, int64_t loss_wh)
{
	return loss_wh * w->eff_pm / 1000;
}

/* The most the battery may charge in interval t (AC). */
static int64_t
charge_limit(const struct work *w, size_t t)
{
	int64_t lim = w->b->max_charge_wh;
	if (!w->b->grid_charge && w->iv[t].surplus_wh < lim)
		lim = w->iv[t].surplus_wh;
	return lim;
}

/*
 * The move from from_wh to to_wh in interval t: its AC charge or discharge,
 * false when the battery cannot make it (power limits, grid charging, the
 * reserve).
 */
static bool
move(const struct work *w, size_t t, int64_t from_wh, int64_t to_wh, int64_t *c, int64_t *d)
{
	*c = *d = 0;
	if (to_wh > from_wh) {
		*c = charge_ac(w, to_wh - from_wh);
		return *c <= charge_limit(w, t);
	}
	if (to_wh < from_wh) {
		if (to_wh < w->b->reserve_wh)
			return false;
		*d = discharge_ac(w, from_wh - to_wh);
		/* a loss too small to deliver a Wh is no move the battery can make */
		return *d > 0 && *d <= w->b->max_discharge_wh;
	}
	return true;
}

/* The household's money in interval t when the battery charges c and
 * discharges d (AC): exports to the neighbours first, then at the feed-in
 * tariff, imports at retail, wear per discharged kWh. */
static int64_t
iv_money(const struct work *w, size_t t, int64_t c, int64_t d)
{
	const struct bplan_iv *x = &w->iv[t];
	int64_t g = x->surplus_wh - x->deficit_wh - c + d, m;
	if (g > 0) {
		int64_t loc = g < x->local_wh ? g : x->local_wh;
		m = amount(loc, x->local_uper_kwh) + amount(g - loc, x->feedin_uper_kwh);
	} else {
		m = -amount(-g, x->retail_uper_kwh);
	}
	return m - amount(d, w->b->wear_uper_kwh);
}

/* Stored energy left at the end of the horizon: what it fetches at least,
 * the lowest feed-in tariff (never below 0) after the discharge loss. */
static int64_t
terminal(const struct work *w, int64_t wh)
{
	return amount(discharge_ac(w, wh), w->min_feedin);
}

static bool
battery_ok(const struct bplan_battery *b)
{
	if (b->capacity_wh <= 0 || b->capacity_wh > MAX_CAPACITY_WH)
		return false;
	if (b->stored_wh < 0 || b->stored_wh > b->capacity_wh)
		return false;
	if (b->reserve_wh < 0 || b->reserve_wh > b->capacity_wh)
		return false;
	if (b->max_charge_wh < 0 || b->max_discharge_wh < 0)
		return false;
	if (b->efficiency_pct < 50 || b->efficiency_pct > 100)
		return false;
	return b->wear_uper_kwh >= 0 && b->wear_uper_kwh <= INT32_MAX;
}

static bool
iv_ok(const struct bplan_iv *x)
{
	if (x->surplus_wh < 0 || x->surplus_wh > MAX_IV_WH)
		return false;
	if (x->deficit_wh < 0 || x->deficit_wh > MAX_IV_WH)
		return false;
	if (x->local_wh < 0 || x->local_wh > MAX_IV_WH)
		return false;
	if (x->feedin_uper_kwh > x->retail_uper_kwh)
		return false;
	return x->local_uper_kwh >= x->feedin_uper_kwh && x->local_uper_kwh <= x->retail_uper_kwh;
}

/* Two paths to the same money but for the whole Wh the battery's physics
 * rounds here and there differ by a few Wh at the horizon's dearest price:
 * 4 Wh (at most a tenth of a level) at it, and 2 micro-units of the money's
 * rounding. */
static int64_t
tolerance(const struct work *w)
{
	int64_t pmax = w->b->wear_uper_kwh, wh = w->b->capacity_wh / (NSTD - 1) / 10;
	for (size_t t = 0; t < w->n; t++) {
		const struct bplan_iv *x = &w->iv[t];
		int64_t p[3] = { x->feedin_uper_kwh, x->retail_uper_kwh, x->local_uper_kwh };
		for (size_t k = 0; k < 3; k++) {
			int64_t a = p[k] < 0 ? -p[k] : p[k];
			if (a > pmax)
				pmax = a;
		}
	}
	if (wh > 4)
		wh = 4;
	return wh * pmax / 1000 + 2;
}

/* The battery left to itself: it charges the net surplus and covers the net
 * deficit within its limits, its room and the reserve. */
static void
self_path(struct work *w)
{
	const struct bplan_battery *b = w->b;
	int64_t s = b->stored_wh;
	for (size_t t = 0; t < w->n; t++) {
		int64_t net = w->iv[t].surplus_wh - w->iv[t].deficit_wh, c = 0, d = 0;
		w->self_wh[t] = s;
		if (net > 0) {
			int64_t want = net < b->max_charge_wh ? net : b->max_charge_wh;
			int64_t gain = want * w->eff_pm / 1000;
			if (gain > b->capacity_wh - s)
				gain = b->capacity_wh - s;
			if (gain > 0) {
				c = charge_ac(w, gain);
				s += gain;
			}
		} else if (net < 0 && s > b->reserve_wh) {
			int64_t want = -net < b->max_discharge_wh ? -net : b->max_discharge_wh;
			int64_t can = discharge_ac(w, s - b->reserve_wh);
			if (want > can)
				want = can;
			if (want > 0) {
				int64_t loss = (want * 1000 + w->eff_pm - 1) / w->eff_pm;
				d = discharge_ac(w, loss);
				s -= loss;
			}
		}
		w->self_c[t] = c;
		w->self_d[t] = d;
	}
	w->self_wh[w->n] = s;
}

/* The keep price at the end of interval t if the battery then holds wh and
 * next[] is the money to the end from the next start's levels: the value of
 * one more stored kWh there (between the evenly spaced levels around wh),
 * per kWh delivered (after the discharge loss), plus the wear of delivering
 * it; never below the interval's feed-in tariff. */
static int32_t
keep_price(const struct work *w, size_t t, int64_t wh, const int64_t *next)
{
	size_t k = (size_t)(wh * (NSTD - 1) / w->b->capacity_wh), lo, hi;
	int64_t dw, dv, p;
	while (k + 1 < NSTD && w->std_wh[k + 1] <= wh)
		k++;
	while (k > 0 && w->std_wh[k] > wh)
		k--;
	lo = k + 1 < NSTD ? k : k - 1;
	hi = lo + 1;
	dw = w->std_wh[hi] - w->std_wh[lo];
	dv = next[hi] - next[lo];
	if (dv > 1000000000000 || dv < -1000000000000) /* no overflow below */
		dv = dv > 0 ? 1000000000000 : -1000000000000;
	p = dw > 0 ? dv * 1000 / dw : 0;
	p = p * 1000 / w->eff_pm + w->b->wear_uper_kwh;
	if (p < w->iv[t].feedin_uper_kwh)
		p = w->iv[t].feedin_uper_kwh;
	return p > INT32_MAX ? INT32_MAX : (int32_t)p;
}

/*
 * One backward step: the best move of every start level of interval t.
 *
 * The next levels are weighed in the order charge the most, less, then
 * discharge the most, less, then hold, and a later one wins only when it
 * brings more than w->tol: among moves worth the same money but for the
 * battery's rounding of a Wh here and there, the battery acts now on what
 * is in hand (what keeps a plan made from an uncertain forecast safe: the
 * surplus in hand is stored, not the one hoped for; the home's load now is
 * covered, and a sale now made, rather than the same money hoped for
 * later).  Without it a household would buy at 0.43/kWh tonight while its
 * battery kept the energy for tomorrow evening's load at the same price.
 */
static void
backward(struct work *w, size_t t, const int64_t *next, int64_t *cur)
{
	size_t first = t == 0 ? LV_NOW : 0, last = t == 0 ? LV_NOW : NLV - 1;
	int64_t climit = charge_limit(w, t), dlimit = w->b->max_discharge_wh;
	int64_t res = w->b->reserve_wh;
	size_t order[NLV], no = 0;
	int64_t wh_of[NLV] = { 0 }; /* the energy of order[o] */

	/* the next levels, fullest first (the evenly spaced ones are sorted) */
	for (size_t k = NSTD; k-- > 0;)
		order[no++] = k;
	for (size_t x = NSTD; x < NLV; x++) {
		int64_t wh = lv_wh(w, t + 1, x);
		size_t p = no;
		while (p > 0 && lv_wh(w, t + 1, order[p - 1]) < wh) {
			order[p] = order[p - 1];
			p--;
		}
		order[p] = x;
		no++;
	}
	for (size_t j = 0; j < NLV; j++)
		w->keep[t][j] = keep_price(w, t, lv_wh(w, t + 1, j), next);
	for (size_t o = 0; o < no; o++)
		wh_of[o] = lv_wh(w, t + 1, order[o]);

	for (size_t i = first; i <= last; i++) {
		int64_t from = lv_wh(w, t, i), best = 0;
		size_t top = i, bj = NLV;
		if (i < NSTD)
			while (top + 1 < NSTD && w->std_ac[i][top + 1] <= climit)
				top++;
		/* order[] is fullest first: [0, up) the charges, [up, down) the
		 * holds, [down, no) the discharges; weighed charges fullest first,
		 * then discharges deepest first, then holds */
		size_t up = 0, down;
		while (up < no && wh_of[up] > from)
			up++;
		down = up;
		while (down < no && wh_of[down] == from)
			down++;
		for (size_t q = 0; q < no; q++) {
			size_t o = q < up                 ? q
			           : q < up + (no - down) ? no - 1 - (q - up)
			                                  : down - 1 - (q - up - (no - down));
			size_t j = order[o];
			int64_t to = wh_of[o], c = 0, d = 0, m;
			if (to < from && (to < res || discharge_ac(w, from - to) > dlimit))
				continue;
			if (i < NSTD && j < NSTD) {
				if (j > top)
					continue;
				if (j > i)
					c = w->std_ac[i][j];
				else if (j < i)
					d = w->std_ac[i][j];
				if (to < from && d == 0)
					continue;
			} else if (!move(w, t, from, to, &c, &d)) {
				continue;
			}
			m = iv_money(w, t, c, d) + next[j];
			if (bj == NLV || m > best + w->tol)
				best = m, bj = j;
		}
		cur[i] = best;
		w->pol[t][i] = (uint8_t)bj;
	}
}

/* "0.27" from micro-units per kWh (2 decimals, half away from zero). */
static void
fmt_price(char *buf, size_t cap, int64_t p)
{
	int64_t c = p >= 0 ? (p + 5000) / 10000 : -((-p + 5000) / 10000);
	int64_t a = c < 0 ? -c : c;
	snprintf(buf, cap, "%s%lld.%02lld", c < 0 ? "-" : "", (long long)(a / 100),
	         (long long)(a % 100));
}

static void
fmt_tod(char *buf, size_t cap, uint32_t tod_s)
{
	uint32_t s = tod_s % 86400;
	snprintf(buf, cap, "%02u:%02u", s / 3600, s % 3600 / 60);
}

/* The price energy exported on top of g Wh in interval x would fetch. */
static int64_t
export_price(const struct bplan_iv *x, int64_t g)
{
	return g < x->local_wh ? x->local_uper_kwh : x->feedin_uper_kwh;
}

/* The price the battery's sale of interval x fetches, discharging d Wh: the
 * neighbours' when most of it goes to them, else the feed-in tariff. */
static int64_t
sell_price(const struct bplan_iv *x, int64_t d)
{
	int64_t g0 = x->surplus_wh - x->deficit_wh, g = g0 + d;
	int64_t before = g0 > 0 ? (g0 < x->local_wh ? g0 : x->local_wh) : 0;
	int64_t after = g < x->local_wh ? g : x->local_wh;
	int64_t sold = g - (g0 > 0 ? g0 : 0);
	return (after - before) * 2 >= sold ? x->local_uper_kwh : x->feedin_uper_kwh;
}

/* Where the energy kept after interval t goes next on the plan: "for 19:00
 * when neighbours are expected to pay 0.27/kWh", "for the home's load at
 * 18:30 (retail 0.34/kWh)", or "worth 0.19/kWh later". */
static void
kept_for(const struct bplan *p, const struct bplan_iv *iv, size_t t, char *buf, size_t cap)
{
	char tod[8], pr[16];
	for (size_t u = t + 1; u < p->n; u++) {
		const struct bplan_step *s = &p->step[u];
		if (s->action == BPLAN_SELL) {
			fmt_tod(tod, sizeof tod, iv[u].tod_s);
			if (iv[u].local_wh > 0 &&
			    sell_price(&iv[u], s->discharge_wh) == iv[u].local_uper_kwh) {
				fmt_price(pr, sizeof pr, iv[u].local_uper_kwh);
				snprintf(buf, cap,
				         "kept for %s when neighbours are expected to pay %s/kWh",
				         tod, pr);
			} else {
				fmt_price(pr, sizeof pr, iv[u].feedin_uper_kwh);
				snprintf(buf, cap,
				         "kept for %s when the feed-in tariff pays %s/kWh", tod,
				         pr);
			}
			return;
		}
		if (s->action == BPLAN_COVER) {
			fmt_tod(tod, sizeof tod, iv[u].tod_s);
			fmt_price(pr, sizeof pr, iv[u].retail_uper_kwh);
			snprintf(buf, cap, "kept for the home's load at %s (retail %s/kWh)", tod,
			         pr);
			return;
		}
	}
	fmt_price(pr, sizeof pr, p->step[t].keep_uper_kwh);
	snprintf(buf, cap, "kept, worth %s/kWh later", pr);
}

static void
reason(struct bplan *p, const struct bplan_battery *b, const struct bplan_iv *iv, size_t t,
       int64_t stored_start)
{
	const struct bplan_step *s = &p->step[t];
	const struct bplan_iv *x = &iv[t];
	char *r = p->step[t].reason;
	char a[16], k[16], why[120];
	int64_t base = x->surplus_wh - x->deficit_wh;

	switch (s->action) {
	case BPLAN_STORE:
		kept_for(p, iv, t, why, sizeof why);
		if (s->charge_wh > x->surplus_wh) {
			fmt_price(a, sizeof a, x->retail_uper_kwh);
			snprintf(r, BPLAN_REASON_MAX, "store: from the grid at %s/kWh; %s", a, why);
		} else {
			fmt_price(a, sizeof a, export_price(x, base - s->charge_wh));
			snprintf(r, BPLAN_REASON_MAX,
			         "store: the surplus would fetch only %s/kWh now; %s", a, why);
		}
		return;
	case BPLAN_SELL: {
		bool local = x->local_wh > 0 && sell_price(x, s->discharge_wh) == x->local_uper_kwh;
		const char *who =
		    local ? "neighbours are expected to pay" : "the feed-in tariff pays";
		fmt_price(k, sizeof k, s->keep_uper_kwh);
		fmt_price(a, sizeof a, local ? x->local_uper_kwh : x->feedin_uper_kwh);
		if (strcmp(a, k) == 0)
			snprintf(r, BPLAN_REASON_MAX,
			         "sell: %s %s/kWh; kept, this energy is worth no more", who, a);
		else
			snprintf(r, BPLAN_REASON_MAX,
			         "sell: %s %s/kWh, more than the %s/kWh this energy is worth kept",
			         who, a, k);
		return;
	}
	case BPLAN_COVER:
		fmt_price(a, sizeof a, x->retail_uper_kwh);
		snprintf(r, BPLAN_REASON_MAX, "cover: the home's load at retail %s/kWh", a);
		return;
	case BPLAN_HOLD:
		break;
	}
	if (x->deficit_wh > 0 && stored_start <= b->reserve_wh) {
		if (b->reserve_wh == 0)
			snprintf(r, BPLAN_REASON_MAX, "hold: the battery is empty");
		else
			snprintf(r, BPLAN_REASON_MAX, "hold: at the reserve (%lld %%)",
			         (long long)((b->reserve_wh * 100 + b->capacity_wh / 2) /
			                     b->capacity_wh));
	} else if (x->surplus_wh > 0 && stored_start >= b->capacity_wh) {
		snprintf(r, BPLAN_REASON_MAX, "hold: the battery is full");
	} else if (x->surplus_wh > 0 && b->max_charge_wh == 0) {
		snprintf(r, BPLAN_REASON_MAX, "hold: the battery may not charge");
	} else if (x->surplus_wh > 0) {
		int64_t now = export_price(x, base - 1);
		size_t u = t + 1;
		while (u < p->n && p->step[u].action != BPLAN_STORE)
			u++;
		fmt_price(a, sizeof a, now);
		if (u < p->n && p->step[u].charge_wh <= iv[u].surplus_wh &&
		    export_price(&iv[u], iv[u].surplus_wh - iv[u].deficit_wh -
		                             p->step[u].charge_wh) < now) {
			/* room kept for a surplus worth less later */
			int64_t q = export_price(&iv[u], iv[u].surplus_wh - iv[u].deficit_wh -
			                                     p->step[u].charge_wh);
			char tod[8];
			fmt_tod(tod, sizeof tod, iv[u].tod_s);
			fmt_price(k, sizeof k, q < 0 ? -q : q);
			snprintf(
			    r, BPLAN_REASON_MAX,
			    q < 0
			        ? "hold: room kept for %s, when exporting the surplus costs %s/kWh"
			        : "hold: room kept for %s, when the surplus would fetch only "
			          "%s/kWh",
			    tod, k);
		} else {
			snprintf(
			    r, BPLAN_REASON_MAX,
			    "hold: charging would earn less than selling the surplus now (%s/kWh)",
			    a);
		}
	} else if (x->deficit_wh > 0 && b->max_discharge_wh == 0) {
		snprintf(r, BPLAN_REASON_MAX, "hold: the battery may not discharge");
	} else if (x->deficit_wh > 0) {
		kept_for(p, iv, t, why, sizeof why);
		fmt_price(a, sizeof a, x->retail_uper_kwh);
		snprintf(r, BPLAN_REASON_MAX, "hold: the home buys at retail %s/kWh now; %s", a,
		         why);
	} else {
		snprintf(r, BPLAN_REASON_MAX, "hold: nothing to store and nothing to cover");
	}
}

pw_err
bplan_make(const struct bplan_battery *b, const struct bplan_iv *iv, size_t n, struct bplan *out)
{
	struct work w;
	int64_t self_v = 0, none_v = 0, (*v)[NLV] = w.v;
	int64_t hold_v, best_v;
	size_t cur, follow;

	if (b == NULL || iv == NULL || out == NULL)
		return PW_ERR_ARG;
	if (n == 0 || n > BPLAN_MAX_IVS || !battery_ok(b))
		return PW_ERR_RANGE;
	for (size_t t = 0; t < n; t++)
		if (!iv_ok(&iv[t]))
			return PW_ERR_RANGE;

	w.b = b;
	w.iv = iv;
	w.n = n;
	w.eff_pm = isqrt64((int64_t)b->efficiency_pct * 10000);
	w.min_feedin = INT32_MAX;
	for (size_t t = 0; t < n; t++)
		if (iv[t].feedin_uper_kwh < w.min_feedin)
			w.min_feedin = iv[t].feedin_uper_kwh;
	if (w.min_feedin < 0)
		w.min_feedin = 0;
	w.tol = tolerance(&w);
	for (size_t k = 0; k < NSTD; k++)
		w.std_wh[k] = (int64_t)k * b->capacity_wh / (NSTD - 1);
	for (size_t i = 0; i < NSTD; i++)
		for (size_t j = 0; j < NSTD; j++) {
			int64_t e = 0;
			if (j > i)
				e = charge_ac(&w, w.std_wh[j] - w.std_wh[i]);
			else if (j < i)
				e = discharge_ac(&w, w.std_wh[i] - w.std_wh[j]);
			w.std_ac[i][j] = (int32_t)e;
		}
	self_path(&w);

	/* backwards: v[n % 2] holds the terminal values, then each start's best */
	for (size_t j = 0; j < NLV; j++)
		v[n % 2][j] = terminal(&w, lv_wh(&w, n, j));
	for (size_t t = n; t-- > 0;)
		backward(&w, t, v[(t + 1) % 2], v[t % 2]);

	for (size_t t = 0; t < n; t++) {
		self_v += iv_money(&w, t, w.self_c[t], w.self_d[t]);
		none_v += iv_money(&w, t, 0, 0);
	}
	self_v += terminal(&w, w.self_wh[n]);
	/* The tolerance may cost the plan a little (at most n times it) against
	 * the battery's own controller or holding throughout: the plan is then
	 * the better of those two (both are paths of the levels). */
	hold_v = none_v + terminal(&w, b->stored_wh);
	best_v = v[0][LV_NOW];
	follow = NLV;
	if (self_v > best_v)
		follow = LV_SLF, best_v = self_v;
	if (hold_v > best_v)
		follow = LV_NOW, best_v = hold_v;

	memset(out, 0, sizeof *out);
	out->n = n;
	out->value_u = best_v;
	out->self_value_u = self_v;
	out->none_value_u = none_v;
	cur = LV_NOW;
	for (size_t t = 0; t < n; t++) {
		struct bplan_step *s = &out->step[t];
		size_t nx = follow < NLV ? follow : w.pol[t][cur];
		int64_t from = lv_wh(&w, t, cur), to = lv_wh(&w, t + 1, nx);
		(void)move(&w, t, from, to, &s->charge_wh, &s->discharge_wh);
		s->interval = iv[t].interval;
		s->sell_wh =
		    s->discharge_wh > iv[t].deficit_wh ? s->discharge_wh - iv[t].deficit_wh : 0;
		s->stored_end_wh = to;
		s->keep_uper_kwh = w.keep[t][nx];
		s->value_u = iv_money(&w, t, s->charge_wh, s->discharge_wh);
		if (s->charge_wh > 0)
			s->action = BPLAN_STORE;
		else if (s->discharge_wh > iv[t].deficit_wh) {
			/* the plan sells because the price expected beats keeping the
			 * energy: never ask more than that price for it */
			int64_t pr = sell_price(&iv[t], s->discharge_wh);
			s->action = BPLAN_SELL;
			if (s->keep_uper_kwh > pr)
				s->keep_uper_kwh = (int32_t)pr;
		} else if (s->discharge_wh > 0)
			s->action = BPLAN_COVER;
		else
			s->action = BPLAN_HOLD;
		cur = nx;
	}
	for (size_t t = 0; t < n; t++)
		reason(out, b, iv, t, t == 0 ? b->stored_wh : out->step[t - 1].stored_end_wh);
	return PW_OK;
}

const char *
bplan_action_name(enum bplan_action a)
{
	switch (a) {
	case BPLAN_STORE:
		return "store";
	case BPLAN_SELL:
		return "sell";
	case BPLAN_COVER:
		return "cover";
	case BPLAN_HOLD:
		break;
	}
	return "hold";
}
