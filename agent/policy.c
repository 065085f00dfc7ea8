/*
 * policy.c: offer sizing, pricing, adjustment and standing-bid windows
 * (see policy.h).  Pure functions, called by agentd and the dashboard
 * callbacks; unit-tested in tests/unit/test_policy.c.
 */
#include "agent/policy.h"

#include <string.h>

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
	if (s->has_pv && s->pv_w <= 0 && (!s->have_last || s->last_export_wh == 0))
		return POLICY_SELL_NO_SUPPLY;
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
	}
	return "unknown";
}

int32_t
policy_offer_price(const struct policy_params *p, int have_last, int32_t last_clearing_uper_kwh)
{
	int32_t price;

	switch (p->strategy) {
	case POLICY_PRICE_FIXED:
		price = p->fixed_price_uper_kwh;
		break;
	case POLICY_PRICE_FOLLOW:
		price = have_last && last_clearing_uper_kwh > p->min_price_uper_kwh
		            ? last_clearing_uper_kwh
		            : p->min_price_uper_kwh;
		break;
	case POLICY_PRICE_MIN:
	default:
		price = p->min_price_uper_kwh;
		break;
	}
	/* An ask outside the exchange's bounds is rejected, so clamp. */
	if (p->feedin_uper_kwh != 0 && price < p->feedin_uper_kwh)
		price = p->feedin_uper_kwh;
	if (p->retail_uper_kwh != 0 && price > p->retail_uper_kwh)
		price = p->retail_uper_kwh;
	return price;
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
