/*
 * policy.c: offer sizing, pricing, adjustment and standing-bid windows
 * (see policy.h).  Pure functions, called by agentd and the dashboard
 * callbacks; unit-tested in tests/unit/test_policy.c.
 */
#include "agent/policy.h"

#include <stdio.h>
#include <string.h>

#include "peerwatt/money.h"

uint32_t
policy_offer_qty(const struct policy_params *p, uint64_t forecast_export_wh)
{
	uint64_t pct = p->safety_pct > 100 ? 100 : p->safety_pct;
	uint64_t q;

	/* forecast * pct cannot overflow: forecasts are bounded by meter
	 * plausibility far below 2^57 Wh. */
	if (forecast_export_wh > UINT64_MAX / 128)
		forecast_export_wh = UINT64_MAX / 128;
	q = forecast_export_wh * pct / 100;
	q = q > p->reserve_wh ? q - p->reserve_wh : 0;
	if (q > p->capacity_wh)
		q = p->capacity_wh;
	if (q > UINT32_MAX)
		q = UINT32_MAX;
	return (uint32_t)q;
}

enum policy_block
policy_sell_block(const struct policy_supply *s)
{
	if (!s->device_ok)
		return POLICY_SELL_DEVICE_DOWN;
	/* a reading cannot be signed across a jump the agent has not confirmed */
	if (s->meter_suspect)
		return POLICY_SELL_METER_FAULT;
	/* Unknown PV (a meter without an inverter model) proves nothing:
	 * the forecast alone decides there. */
	if (s->has_pv && s->pv_w <= 0 && (s->battery || !s->have_last || s->last_export_wh == 0))
		return POLICY_SELL_NO_SUPPLY;
	return POLICY_SELL_OK;
}

enum policy_block
policy_battery_block(const struct policy_supply *s)
{
	if (!s->device_ok)
		return POLICY_SELL_DEVICE_DOWN;
	if (s->meter_suspect)
		return POLICY_SELL_METER_FAULT;
	if (s->battery_failed)
		return POLICY_SELL_BATTERY_FAILED;
	if (!s->soc_known)
		return POLICY_SELL_SOC_UNKNOWN;
	return POLICY_SELL_OK;
}

const char *
policy_block_name(enum policy_block b)
{
	switch (b) {
	case POLICY_SELL_OK:
		return "ok";
	case POLICY_SELL_DEVICE_DOWN:
		return "device_unreachable";
	case POLICY_SELL_NO_SUPPLY:
		return "no_production";
	case POLICY_SELL_METER_FAULT:
		return "meter_implausible";
	case POLICY_SELL_BATTERY_FAILED:
		return "battery_failed";
	case POLICY_SELL_SOC_UNKNOWN:
		return "soc_unknown";
	}
	return "unknown";
}

pw_err
policy_price_eval(enum policy_base base, int32_t v, const struct policy_bounds *b, int32_t *out)
{
	int64_t x;

	switch (base) {
	case POLICY_BASE_ABS:
		*out = v;
		return PW_OK;
	case POLICY_BASE_FEEDIN:
	case POLICY_BASE_RETAIL:
		if (!b->known)
			return PW_ERR_NOTFOUND;
		x = (int64_t)(base == POLICY_BASE_FEEDIN ? b->feedin_uper_kwh
		                                         : b->retail_uper_kwh) +
		    v;
		if (x < INT32_MIN || x > INT32_MAX)
			return PW_ERR_RANGE;
		*out = (int32_t)x;
		return PW_OK;
	}
	return PW_ERR_ARG;
}

int
policy_offer_price(const struct policy_params *p, const struct policy_bounds *b, int have_last,
                   int32_t last_clearing_uper_kwh, int32_t *price)
{
	int32_t floor, ask;

	if (p->strategy == POLICY_PRICE_FIXED) {
		if (policy_price_eval(p->fixed_base, p->fixed_price_uper_kwh, b, &floor) != PW_OK)
			return 0;
	} else if (policy_price_eval(p->min_base, p->min_price_uper_kwh, b, &floor) != PW_OK) {
		return 0;
	}
	ask = floor;
	if (p->strategy == POLICY_PRICE_FOLLOW && have_last && last_clearing_uper_kwh > ask)
		ask = last_clearing_uper_kwh;
	if (b->known) {
		/* never below what the household accepts: no offer instead */
		if (floor > b->retail_uper_kwh)
			return 0;
		if (ask > b->retail_uper_kwh)
			ask = b->retail_uper_kwh; /* follow: a clearing of another interval */
		if (ask < b->feedin_uper_kwh)
			ask = b->feedin_uper_kwh;
	}
	*price = ask;
	return 1;
}

int
policy_bid_price(enum policy_base base, int32_t max_price_uper_kwh, const struct policy_bounds *b,
                 int32_t *price)
{
	int32_t lim;

	if (policy_price_eval(base, max_price_uper_kwh, b, &lim) != PW_OK)
		return 0;
	if (b->known) {
		/* never above what the household accepts: no bid instead */
		if (lim < b->feedin_uper_kwh)
			return 0;
		if (lim > b->retail_uper_kwh)
			lim = b->retail_uper_kwh;
	}
	*price = lim;
	return 1;
}

enum policy_action
policy_decide(const struct policy_params *p, const struct policy_offer *open,
              const struct policy_offer *want)
{
	uint64_t diff, thr;

	if (open->qty_wh == 0)
		return want->qty_wh == 0 ? POLICY_KEEP : POLICY_PLACE;
	if (want->qty_wh == 0)
		return POLICY_CANCEL;
	if (open->price_uper_kwh != want->price_uper_kwh)
		return POLICY_REPLACE;
	diff =
	    open->qty_wh > want->qty_wh ? open->qty_wh - want->qty_wh : want->qty_wh - open->qty_wh;
	/* Hysteresis: the forecast wobbles every interval; churning orders
	 * costs sequence numbers, log entries and arrival priority. */
	thr = (uint64_t)open->qty_wh * p->adjust_pct / 100;
	if (thr < p->adjust_min_wh)
		thr = p->adjust_min_wh;
	return diff > thr ? POLICY_REPLACE : POLICY_KEEP;
}

int
policy_battery_price(const struct policy_bounds *b, int32_t ask_uper_kwh, int32_t keep_uper_kwh,
                     int32_t *price)
{
	int32_t p = ask_uper_kwh > keep_uper_kwh ? ask_uper_kwh : keep_uper_kwh;

	if (!b->known || p > b->retail_uper_kwh)
		return 0;
	if (p < b->feedin_uper_kwh)
		p = b->feedin_uper_kwh;
	*price = p;
	return 1;
}

void
policy_battery_offers(const struct policy_params *p, const struct policy_bounds *b,
                      const struct policy_bstep *s, int bat_ok, int have_ask, int32_t ask,
                      struct policy_offer *pv, struct policy_offer *bat)
{
	uint64_t cap = p->capacity_wh, q;

	bat->qty_wh = 0;
	bat->price_uper_kwh = 0;
	if (s == NULL)
		return;
	/* what the plan stores is not exported: not offered twice */
	if (s->charge_wh > 0)
		pv->qty_wh =
		    (uint64_t)s->charge_wh >= pv->qty_wh ? 0 : pv->qty_wh - (uint32_t)s->charge_wh;
	if (bat_ok && have_ask && s->sell_wh > 0 &&
	    policy_battery_price(b, ask, s->keep_uper_kwh, &bat->price_uper_kwh)) {
		q = (uint64_t)s->sell_wh;
		if (q > cap)
			q = cap;
		if (q > UINT32_MAX)
			q = UINT32_MAX;
		bat->qty_wh = (uint32_t)q;
	}
	if (bat->qty_wh == 0)
		bat->price_uper_kwh = 0;
	/* the stored energy first, the PV offer within what is left */
	if ((uint64_t)pv->qty_wh > cap - bat->qty_wh)
		pv->qty_wh = (uint32_t)(cap - bat->qty_wh);
}

/* The quantity open after action `act` on offer open / want. */
static uint32_t
after_qty(enum policy_action act, const struct policy_offer *open, const struct policy_offer *want)
{
	switch (act) {
	case POLICY_KEEP:
		return open->qty_wh;
	case POLICY_CANCEL:
		return 0;
	case POLICY_PLACE:
	case POLICY_REPLACE:
	default:
		return want->qty_wh;
	}
}

void
policy_decide_pair(const struct policy_params *p, const struct policy_offer open[2],
                   const struct policy_offer want[2], enum policy_action act[2], int *first)
{
	uint64_t q[2];

	for (int i = 0; i < 2; i++)
		act[i] = policy_decide(p, &open[i], &want[i]);
	if ((uint64_t)after_qty(act[0], &open[0], &want[0]) +
	        after_qty(act[1], &open[1], &want[1]) >
	    p->capacity_wh) {
		/* the hysteresis keeps an offer above what is wanted: not when
		 * the other one needs the room */
		for (int i = 0; i < 2; i++)
			if (act[i] == POLICY_KEEP && open[i].qty_wh > want[i].qty_wh)
				act[i] = want[i].qty_wh == 0 ? POLICY_CANCEL : POLICY_REPLACE;
	}
	for (int i = 0; i < 2; i++)
		q[i] = after_qty(act[i], &open[i], &want[i]);
	/* the one that grows waits for the room the other one leaves */
	*first = q[1] < open[1].qty_wh && q[0] > open[0].qty_wh ? 1 : 0;
}

int
policy_bid_active(const struct policy_bid *b, uint32_t tod_s)
{
	tod_s %= 86400;
	if (b->from_s == b->to_s)
		return 1;
	if (b->from_s < b->to_s)
		return tod_s >= b->from_s && tod_s < b->to_s;
	return tod_s >= b->from_s || tod_s < b->to_s;
}

static const char *const strategy_names[] = { "min", "fixed", "follow" };

pw_err
policy_strategy_parse(const char *s, enum policy_strategy *out)
{
	for (size_t i = 0; i < sizeof(strategy_names) / sizeof(strategy_names[0]); i++) {
		if (strcmp(s, strategy_names[i]) == 0) {
			*out = (enum policy_strategy)i;
			return PW_OK;
		}
	}
	return PW_ERR_PARSE;
}

const char *
policy_strategy_name(enum policy_strategy s)
{
	if ((unsigned)s < sizeof(strategy_names) / sizeof(strategy_names[0]))
		return strategy_names[s];
	return "unknown";
}

static const char *const base_names[] = { "abs", "feedin", "retail" };

const char *
policy_base_name(enum policy_base b)
{
	if ((unsigned)b < sizeof(base_names) / sizeof(base_names[0]))
		return base_names[b];
	return "unknown";
}

pw_err
policy_base_parse(const char *s, enum policy_base *out)
{
	for (size_t i = 0; i < sizeof(base_names) / sizeof(base_names[0]); i++) {
		if (strcmp(s, base_names[i]) == 0) {
			*out = (enum policy_base)i;
			return PW_OK;
		}
	}
	return PW_ERR_PARSE;
}

pw_err
policy_price_parse(const char *s, enum policy_base *base, int32_t *v)
{
	char num[40];
	size_t n = 0;
	int64_t x;
	int neg = 0;
	pw_err rc;

	if (strncmp(s, "feedin", 6) == 0 || strncmp(s, "retail", 6) == 0) {
		enum policy_base bb = s[0] == 'f' ? POLICY_BASE_FEEDIN : POLICY_BASE_RETAIL;
		const char *q = s + 6;
		while (*q == ' ')
			q++;
		if (*q == '\0') {
			*base = bb;
			*v = 0;
			return PW_OK;
		}
		if (*q != '+' && *q != '-')
			return PW_ERR_PARSE;
		neg = *q == '-';
		q++;
		while (*q == ' ')
			q++;
		/* an unsigned decimal after the sign: "feedin+-0.01" is refused */
		if (*q < '0' || *q > '9')
			return PW_ERR_PARSE;
		while (*q != '\0' && n + 1 < sizeof(num))
			num[n++] = *q++;
		if (*q != '\0')
			return PW_ERR_RANGE;
		num[n] = '\0';
		if ((rc = pw_money_parse(num, &x)) != PW_OK)
			return rc;
		if (neg)
			x = -x;
		if (x < INT32_MIN || x > INT32_MAX)
			return PW_ERR_RANGE;
		*base = bb;
		*v = (int32_t)x;
		return PW_OK;
	}
	if ((rc = pw_money_parse(s, &x)) != PW_OK)
		return rc;
	if (x < INT32_MIN || x > INT32_MAX)
		return PW_ERR_RANGE;
	*base = POLICY_BASE_ABS;
	*v = (int32_t)x;
	return PW_OK;
}

/* "0.250000" -> "0.25": trailing zeros beyond two decimals dropped. */
static void
short_money(int64_t v, char *out, size_t cap)
{
	char *dot;
	size_t n;

	pw_money_format(v, out, cap);
	dot = strchr(out, '.');
	if (dot == NULL)
		return;
	n = strlen(out);
	while (n > (size_t)(dot - out) + 3 && out[n - 1] == '0')
		out[--n] = '\0';
}

void
policy_price_format(enum policy_base base, int32_t v, char *out, size_t cap)
{
	char num[32];
	int64_t m = v < 0 ? -(int64_t)v : v;

	if (base == POLICY_BASE_ABS) {
		short_money(v, out, cap);
		return;
	}
	short_money(m, num, sizeof(num));
	if (v == 0)
		snprintf(out, cap, "%s", policy_base_name(base));
	else
		snprintf(out, cap, "%s %c %s", policy_base_name(base), v < 0 ? '-' : '+', num);
}

pw_err
policy_parse_tod(const char *s, uint32_t *tod_s)
{
	unsigned h, m;

	/* strict "HH:MM": exactly five characters, digits and a colon */
	if (strlen(s) != 5 || s[2] != ':')
		return PW_ERR_PARSE;
	for (int i = 0; i < 5; i++)
		if (i != 2 && (s[i] < '0' || s[i] > '9'))
			return PW_ERR_PARSE;
	h = (unsigned)(s[0] - '0') * 10 + (unsigned)(s[1] - '0');
	m = (unsigned)(s[3] - '0') * 10 + (unsigned)(s[4] - '0');
	if (m > 59 || h > 24 || (h == 24 && m != 0))
		return PW_ERR_PARSE;
	*tod_s = h * 3600 + m * 60;
	return PW_OK;
}
