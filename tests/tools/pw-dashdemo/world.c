/*
 * world.c: pw-dashdemo's fake world (demo.h): the power of the household,
 * the market clearing each interval as it closes, the auto-sell policy and
 * the page's actions (bid, cancel, settings).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "demo.h"
#include "peerwatt/money.h"

uint64_t
demo_now_interval(const struct demo *dm)
{
	return (uint64_t)time(NULL) / dm->interval_s;
}

unsigned
demo_rand(struct demo *dm, unsigned mod)
{
	dm->rng = dm->rng * 1103515245u + 12345u;
	return (dm->rng >> 16) % mod;
}

int32_t
demo_feed_in(const struct demo *dm)
{
	return dm->negative ? DEMO_FEED_IN_NEG : DEMO_FEED_IN;
}

/* The clearing price of interval i: a slow wave between 0.12 and 0.28
 * (--negative: between -0.03 and -0.01). */
int32_t
demo_price(const struct demo *dm, uint64_t i)
{
	double w = sin((double)(i % 1000) / 3.0);
	if (dm->negative)
		return (int32_t)(-20000 + (int)(w * 10000.0)) / 1000 * 1000;
	return (int32_t)(200000 + (int)(w * 80000.0)) / 1000 * 1000;
}

int64_t
demo_amount(uint64_t qty_wh, int32_t price)
{
	int64_t a = 0;

	if (pw_money_amount(qty_wh, price, &a) != PW_OK)
		return 0;
	return a;
}

bool
demo_order_open(const struct demo_order *o)
{
	return strcmp(o->status, "pending") == 0 || strcmp(o->status, "acked") == 0;
}

/* The first interval of the local day. */
uint64_t
demo_day_first(const struct demo *dm)
{
	time_t t = time(NULL);
	struct tm tm;

	if (localtime_r(&t, &tm) == NULL)
		return 0;
	tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
	tm.tm_isdst = -1;
	t = mktime(&tm);
	return t <= 0 ? 0 : ((uint64_t)t + dm->interval_s - 1) / dm->interval_s;
}

/* ---- actions --------------------------------------------------------------- */

static struct demo_order *
add_order(struct demo *dm, const char *side, uint64_t interval, uint64_t qty, int32_t price,
          bool is_auto)
{
	struct demo_order *o;

	if (dm->norders == DEMO_MAX_ORDERS) {
		/* Forget the oldest finished order to make room. */
		memmove(&dm->orders[0], &dm->orders[1],
		        (DEMO_MAX_ORDERS - 1) * sizeof dm->orders[0]);
		dm->norders--;
	}
	o = &dm->orders[dm->norders++];
	memset(o, 0, sizeof *o);
	o->seq = ++dm->seq;
	o->interval = interval;
	o->qty_wh = qty;
	o->price = price;
	o->is_auto = is_auto;
	snprintf(o->side, sizeof o->side, "%s", side);
	snprintf(o->status, sizeof o->status, "pending");
	return o;
}

pw_err
demo_bid(void *ctx, const struct dash_bid *bid, uint64_t *seq_out, char *msg, size_t cap)
{
	struct demo *dm = ctx;
	uint64_t first = bid->interval ? bid->interval : demo_now_interval(dm) + 1;
	uint32_t k;

	if (dm->exchange_down) {
		snprintf(msg, cap, "the exchange is unreachable; try again later");
		return PW_ERR_UNAVAILABLE;
	}
	/* a relative limit in the market's fixed tariffs (the agent uses each
	 * interval's own, agent/policy.c) */
	int64_t limit = bid->max_price_uper_kwh;
	if (bid->price_base == DASH_BASE_RETAIL)
		limit += DEMO_RETAIL;
	else if (bid->price_base == DASH_BASE_FEEDIN)
		limit += demo_feed_in(dm);
	if (limit < demo_feed_in(dm) || limit > DEMO_RETAIL) {
		snprintf(msg, cap, "maximum price must be between %s and 0.32 EUR/kWh",
		         dm->negative ? "-0.05" : "0.08");
		return PW_ERR_RANGE;
	}
	if (first <= demo_now_interval(dm)) {
		snprintf(msg, cap, "gate closed for interval %llu", (unsigned long long)first);
		return PW_ERR_STATE;
	}
	if (bid->qty_wh > DEMO_MAX_IMPORT_WH) {
		snprintf(msg, cap, "at most %d Wh per interval (registered import capacity)",
		         DEMO_MAX_IMPORT_WH);
		return PW_ERR_RANGE;
	}
	/* one side per interval: the bid replaces an auto-sell offer there
	 * (the agent would refuse the bid instead; the demo keeps it simple) */
	for (size_t j = 0; j < dm->norders; j++) {
		struct demo_order *o = &dm->orders[j];
		if (o->is_auto && demo_order_open(o) && o->interval >= first &&
		    o->interval < first + bid->intervals)
			snprintf(o->status, sizeof o->status, "cancelled");
	}
	for (k = 0; k < bid->intervals; k++) {
		struct demo_order *o =
		    add_order(dm, "buy", first + k, bid->qty_wh, (int32_t)limit, false);
		if (k == 0)
			*seq_out = o->seq;
	}
	snprintf(msg, cap, "sent to the exchange");
	dash_notify(dm->dash, DASH_DOC_ORDERS);
	dash_notify(dm->dash, DASH_DOC_MARKET);
	return PW_OK;
}

pw_err
demo_cancel(void *ctx, uint64_t seq, char *msg, size_t cap)
{
	struct demo *dm = ctx;
	size_t k;

	for (k = 0; k < dm->norders; k++) {
		struct demo_order *o = &dm->orders[k];
		if (o->seq != seq)
			continue;
		if (strcmp(o->status, "pending") != 0 && strcmp(o->status, "acked") != 0) {
			snprintf(msg, cap, "order %llu is %s and cannot be cancelled",
			         (unsigned long long)seq, o->status);
			return PW_ERR_STATE;
		}
		snprintf(o->status, sizeof o->status, "cancelled");
		dash_notify(dm->dash, DASH_DOC_ORDERS);
		return PW_OK;
	}
	snprintf(msg, cap, "no order %llu", (unsigned long long)seq);
	return PW_ERR_NOTFOUND;
}

pw_err
demo_settings(void *ctx, const struct dash_settings *s, char *msg, size_t cap)
{
	struct demo *dm = ctx;

	if (s->min_price_uper_kwh > DEMO_RETAIL) {
		snprintf(msg, cap, "minimum price above the retail tariff would never sell");
		return PW_ERR_RANGE;
	}
	if (s->min_price_uper_kwh < demo_feed_in(dm)) {
		snprintf(msg, cap,
		         "the minimum price must be at least the feed-in tariff (%s ct/kWh):"
		         " below it you would sell for less than the grid pays",
		         dm->negative ? "-5.0" : "8.0");
		return PW_ERR_RANGE;
	}
	dm->settings = *s;
	dash_notify(dm->dash, DASH_DOC_SETTINGS);
	return PW_OK;
}

void
demo_metrics(void *ctx, FILE *out)
{
	struct demo *dm = ctx;

	fprintf(out, "# TYPE peerwatt_agent_orders gauge\npeerwatt_agent_orders %zu\n",
	        dm->norders);
}

/* ---- the fake world --------------------------------------------------------- */

void
demo_tick_power(struct demo *dm)
{
	time_t t = time(NULL);
	double wave = sin((double)(t % 600) / 600.0 * 6.283);

	dm->pv_w = 2500 + (int64_t)(wave * 1500.0) + (int64_t)demo_rand(dm, 200);
	dm->house_w = 600 + (int64_t)demo_rand(dm, 400);
}

/* Adds a statement to the running sums of Today and all time. */
static void
add_sums(struct demo *dm, const struct demo_statement *s)
{
	uint64_t from = demo_day_first(dm);
	int64_t *v[2] = { dm->all_sums, s->interval >= from ? dm->day_sums : NULL };

	if (dm->sums_day != from) {
		memset(dm->day_sums, 0, sizeof dm->day_sums);
		dm->sums_day = from;
	}
	for (int j = 0; j < 2; j++) {
		if (v[j] == NULL)
			continue;
		v[j][0] += s->traded_wh < 0 ? -s->traded_wh : 0;
		v[j][1] += s->traded_wh > 0 ? s->traded_wh : 0;
		v[j][2] += s->net_u > 0 ? s->net_u : 0;
		v[j][3] += s->net_u < 0 ? -s->net_u : 0;
		v[j][4] += s->net_u;
		v[j][5] += s->net_u - s->baseline_u;
		v[j][6]++;
		v[j][7] += s->battery_sold_wh;
	}
}

/* A trade of interval i at price p (the oldest forgotten when full). */
static struct demo_trade *
add_trade(struct demo *dm, uint64_t i, uint64_t qty_wh, int32_t p, bool buy)
{
	struct demo_trade *t;

	if (dm->ntrades == DEMO_MAX_TRADES) {
		memmove(&dm->trades[0], &dm->trades[1],
		        (DEMO_MAX_TRADES - 1) * sizeof dm->trades[0]);
		dm->ntrades--;
	}
	t = &dm->trades[dm->ntrades++];
	t->interval = i;
	t->qty_wh = qty_wh;
	t->price = p;
	t->buy = buy;
	t->amount_u = demo_amount(qty_wh, p);
	t->fee_u = buy ? demo_amount(qty_wh, DEMO_FEE) : 0;
	return t;
}

/* Clears interval i (just closed): history, own fills, statements. */
void
demo_clear_interval(struct demo *dm, uint64_t i)
{
	int32_t p = demo_price(dm, i);
	int64_t bought = 0, sold = 0, net = 0, fees = 0, baseline = 0, bat_sold;
	size_t k;

	for (k = 0; k < dm->norders; k++) {
		struct demo_order *o = &dm->orders[k];
		bool open = strcmp(o->status, "acked") == 0 || strcmp(o->status, "pending") == 0;
		if (o->interval != i || !open)
			continue;
		bool buy = strcmp(o->side, "buy") == 0;
		if ((buy && o->price >= p) || (!buy && o->price <= p)) {
			struct demo_trade *t = add_trade(dm, i, o->qty_wh, p, buy);
			snprintf(o->status, sizeof o->status, "filled");
			if (buy) {
				bought += (int64_t)o->qty_wh;
				net -= t->amount_u + t->fee_u;
				fees += t->fee_u;
				baseline -= demo_amount(o->qty_wh, DEMO_RETAIL);
			} else {
				sold += (int64_t)o->qty_wh;
				net += t->amount_u;
				baseline += demo_amount(o->qty_wh, demo_feed_in(dm));
			}
		} else {
			snprintf(o->status, sizeof o->status, "expired");
		}
	}
	/* the battery's offer of stored energy (battery.c): sold at the
	 * clearing price, as an offer priced at its keep value would be */
	bat_sold = demo_bat_clear(dm, i);
	if (bat_sold > 0) {
		struct demo_trade *t = add_trade(dm, i, (uint64_t)bat_sold, p, false);
		sold += bat_sold;
		net += t->amount_u;
		baseline += demo_amount((uint64_t)bat_sold, demo_feed_in(dm));
	}
	if (dm->nhist == DEMO_HISTORY) {
		memmove(dm->hist_interval, dm->hist_interval + 1,
		        (DEMO_HISTORY - 1) * sizeof dm->hist_interval[0]);
		memmove(dm->hist_price, dm->hist_price + 1, (DEMO_HISTORY - 1) * sizeof(int32_t));
		memmove(dm->hist_volume, dm->hist_volume + 1,
		        (DEMO_HISTORY - 1) * sizeof(uint64_t));
		dm->nhist--;
	}
	dm->hist_interval[dm->nhist] = i;
	dm->hist_price[dm->nhist] = p;
	dm->hist_volume[dm->nhist] = 2000 + (uint64_t)(bought + sold);
	dm->nhist++;
	if (dm->nenergy == DEMO_ENERGY) {
		memmove(&dm->energy[0], &dm->energy[1], (DEMO_ENERGY - 1) * sizeof dm->energy[0]);
		dm->nenergy--;
	}
	{
		struct demo_energy *e = &dm->energy[dm->nenergy++];
		e->interval = i;
		/* as if each interval lasted 15 minutes, so that a fast demo's
		 * chart shows energies of the size the bids have */
		e->pv_wh = dm->no_pv ? 0 : dm->pv_w * 900 / 3600;
		e->house_wh = dm->house_w * 900 / 3600;
		e->bought_wh = bought;
		e->sold_wh = sold;
		e->battery_sold_wh = bat_sold > 0 ? bat_sold : 0;
	}
	if (bought != 0 || sold != 0) {
		struct demo_statement *s;
		if (dm->nstmts == DEMO_MAX_STATEMENTS) {
			memmove(&dm->stmts[0], &dm->stmts[1],
			        (DEMO_MAX_STATEMENTS - 1) * sizeof dm->stmts[0]);
			dm->nstmts--;
		}
		s = &dm->stmts[dm->nstmts++];
		s->interval = i;
		s->traded_wh = bought - sold;
		s->fees_u = fees;
		s->net_u = net;
		s->baseline_u = baseline;
		s->battery_sold_wh = bat_sold > 0 ? bat_sold : 0;
		s->age = 0;
		add_sums(dm, s);
	}
}

/* The auto-sell policy: offer the forecast surplus above the reserve for the
 * next open interval, at the minimum price. */
static void
auto_sell(struct demo *dm, uint64_t next)
{
	int64_t surplus_wh = (dm->pv_w - dm->house_w) * 900 / 3600 /* as if 15 minutes */;
	size_t k;

	if (!dm->settings.auto_sell || dm->inverter_down || dm->exchange_down || dm->no_pv)
		return;
	surplus_wh -= (int64_t)dm->settings.reserve_wh;
	if (surplus_wh <= 0)
		return;
	/* one side per interval, as the agent: no offer where a bid is open */
	for (k = 0; k < dm->norders; k++)
		if (dm->orders[k].interval == next &&
		    (dm->orders[k].is_auto ||
		     (strcmp(dm->orders[k].side, "buy") == 0 && demo_order_open(&dm->orders[k]))))
			return;
	add_order(dm, "sell", next, (uint64_t)surplus_wh, dm->settings.min_price_uper_kwh, true);
}

void
demo_tick(struct demo *dm, uint64_t *last_interval)
{
	uint64_t cur = demo_now_interval(dm);
	bool market = false;
	size_t k;

	demo_tick_power(dm);
	for (k = 0; k < dm->norders; k++) {
		struct demo_order *o = &dm->orders[k];
		o->age++;
		if (strcmp(o->status, "pending") == 0 && !dm->exchange_down)
			snprintf(o->status, sizeof o->status, "acked");
	}
	for (k = 0; k < dm->nstmts; k++)
		dm->stmts[k].age++;
	while (*last_interval < cur) {
		demo_clear_interval(dm, *last_interval);
		(*last_interval)++;
		market = true;
	}
	demo_bat_tick(dm);
	auto_sell(dm, cur + 1);
	dash_notify(dm->dash, DASH_DOC_STATE);
	dash_notify(dm->dash, DASH_DOC_ORDERS);
	dash_notify(dm->dash, DASH_DOC_STATEMENTS);
	if (market) {
		dash_notify(dm->dash, DASH_DOC_MARKET);
		dash_notify(dm->dash, DASH_DOC_TRADES);
		dash_notify(dm->dash, DASH_DOC_TODAY);
		dash_notify(dm->dash, DASH_DOC_PLAN);
	}
}
