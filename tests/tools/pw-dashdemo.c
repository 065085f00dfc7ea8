/*
 * pw-dashdemo: the dashboard (agent/dash.c) with a fake household behind it,
 * for the browser tests of the page and for trying the page by hand.
 *
 * Power values change every second; every --interval-s seconds the fake
 * market clears the interval that just closed at a price that follows a slow
 * wave: own bids at or above it become trades and statements, auto-sell
 * offers sell the surplus above the reserve when the price reaches the
 * minimum.  Orders, trades and statements live in memory only.  Prints
 * "pw-dashdemo: listening on http://HOST:PORT/" on stdout when ready.
 *
 * Orders, trades and statements come in pages of 20 rows like the agent's
 * (GET /api/DOC?before=N for older ones); "today" sums the statements of
 * the local day and charts the cleared intervals' energy.
 *
 *   pw-dashdemo [--listen HOST:PORT] [--web DIR] [--interval-s N] [--token T]
 *               [--exchange-down] [--inverter-down] [--no-pv] [--seed N]
 *               [--negative] [--no-outlook]
 *
 * --negative: a market with a negative feed-in tariff (-5.0 ct/kWh) whose
 * clearing prices lie between -3.0 and -1.0 ct/kWh (sellers pay), and the
 * interval under way with its export limited (curtailment, an example
 * saving in the statements).
 *
 * The price outlook (GET /api/outlook) is a dynamic day of 24 intervals
 * from the current one: a morning and an evening peak, a cheap middle
 * with a negative feed-in stretch.  --exchange-down makes it "stale",
 * --no-outlook "none" (no outlook received).
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent/dash.h"
#include "peerwatt/log.h"
#include "peerwatt/money.h"

#define DEMO_MAX_ORDERS     512
#define DEMO_MAX_TRADES     256
#define DEMO_MAX_STATEMENTS 256
#define DEMO_HISTORY        48
#define DEMO_RETAIL         320000 /* uper_kwh */
#define DEMO_FEED_IN        80000
#define DEMO_FEED_IN_NEG    (-50000) /* --negative */
#define DEMO_FEE            10000    /* grid fee per kWh, paid by the buyer */
#define DEMO_MAX_IMPORT_WH  20000    /* per interval */
#define DEMO_PAGE           20       /* rows of a page, as the agent's */
#define DEMO_ENERGY         96       /* intervals of the energy chart */

static volatile sig_atomic_t demo_stop;

struct demo_order {
	uint64_t seq, interval, qty_wh;
	int32_t price;
	char side[5];
	char status[10];
	bool is_auto;
	int age; /* seconds since placed: verified after one */
};

struct demo_trade {
	uint64_t interval, qty_wh;
	int32_t price;
	bool buy;
	int64_t amount_u, fee_u;
};

struct demo_statement {
	uint64_t interval;
	int64_t traded_wh, fees_u, net_u, baseline_u;
	int age;
};

/* Energy of one cleared interval, for the Today chart. */
struct demo_energy {
	uint64_t interval;
	int64_t pv_wh, house_wh, bought_wh, sold_wh;
};

struct demo {
	struct dash *dash;
	unsigned interval_s;
	bool exchange_down, inverter_down, no_pv;
	bool negative;   /* --negative: feed-in and clearing prices below zero */
	bool no_outlook; /* --no-outlook: the exchange sent no price outlook */
	uint64_t seq;
	unsigned rng;
	int64_t pv_w, house_w;
	struct dash_settings settings;
	struct demo_order orders[DEMO_MAX_ORDERS];
	size_t norders;
	struct demo_trade trades[DEMO_MAX_TRADES];
	size_t ntrades;
	struct demo_statement stmts[DEMO_MAX_STATEMENTS];
	size_t nstmts;
	uint64_t hist_interval[DEMO_HISTORY];
	int32_t hist_price[DEMO_HISTORY];
	uint64_t hist_volume[DEMO_HISTORY];
	size_t nhist;
	struct demo_energy energy[DEMO_ENERGY];
	size_t nenergy;
	/* running sums of every statement and of the day's (sold, bought,
	 * earned, paid, net, saving, count): the rings above forget */
	int64_t all_sums[7], day_sums[7];
	uint64_t sums_day; /* first interval of the day of day_sums */
};

static void
on_signal(int sig)
{
	(void)sig;
	demo_stop = 1;
}

static uint64_t
now_interval(const struct demo *dm)
{
	return (uint64_t)time(NULL) / dm->interval_s;
}

static unsigned
demo_rand(struct demo *dm, unsigned mod)
{
	dm->rng = dm->rng * 1103515245u + 12345u;
	return (dm->rng >> 16) % mod;
}

static int32_t
demo_feed_in(const struct demo *dm)
{
	return dm->negative ? DEMO_FEED_IN_NEG : DEMO_FEED_IN;
}

/* The clearing price of interval i: a slow wave between 0.12 and 0.28
 * (--negative: between -0.03 and -0.01). */
static int32_t
demo_price(const struct demo *dm, uint64_t i)
{
	double w = sin((double)(i % 1000) / 3.0);
	if (dm->negative)
		return (int32_t)(-20000 + (int)(w * 10000.0)) / 1000 * 1000;
	return (int32_t)(200000 + (int)(w * 80000.0)) / 1000 * 1000;
}

static int64_t
amount(uint64_t qty_wh, int32_t price)
{
	int64_t a = 0;

	if (pw_money_amount(qty_wh, price, &a) != PW_OK)
		return 0;
	return a;
}

/* ---- documents ------------------------------------------------------------ */

/* --negative: the interval under way had its export limited (as
 * agent/actl.c says it, docs/agent-energy.md "Curtailment"); the saving is a
 * fixed example figure. */
static json_t *
demo_curtail_event(struct demo *dm)
{
	char text[96], h1[8], h2[8];
	time_t from = (time_t)(now_interval(dm) * dm->interval_s), to = from + dm->interval_s;
	struct tm tm;

	strftime(h1, sizeof(h1), "%H:%M", localtime_r(&from, &tm));
	strftime(h2, sizeof(h2), "%H:%M", localtime_r(&to, &tm));
	snprintf(text, sizeof(text), "Export limited %s-%s: feed-in -5.00 ct/kWh", h1, h2);
	return json_pack("{s:I,s:I,s:n,s:i,s:i,s:i,s:I,s:b,s:s,s:i,s:i,s:b}", "interval",
	                 (json_int_t)now_interval(dm), "from", (json_int_t)from, "to",
	                 "feed_in_uper_kwh", DEMO_FEED_IN_NEG, "floor_uper_kwh", 0, "sold_wh", 0,
	                 "limit_w", (json_int_t)dm->house_w, "ok", 1, "text", text,
	                 "not_exported_wh", 250, "saved_u", 12500, "estimate", 1);
}

static json_t *
doc_state(struct demo *dm)
{
	json_t *pv = dm->inverter_down ? json_null() : json_integer(dm->pv_w);
	json_t *house = dm->inverter_down ? json_null() : json_integer(dm->house_w);
	json_t *grid = dm->inverter_down ? json_null() : json_integer(dm->house_w - dm->pv_w);
	json_t *surplus = dm->inverter_down ? json_null() : json_integer(dm->pv_w - dm->house_w);
	int64_t fc = (dm->pv_w - dm->house_w) * 900 / 3600 /* a 15-minute interval, as the chart */;
	json_t *problems = json_array();

	if (dm->no_pv) {
		json_decref(pv);
		pv = dm->inverter_down ? json_null() : json_integer(0);
		json_decref(grid);
		grid = dm->inverter_down ? json_null() : json_integer(dm->house_w);
		json_decref(surplus);
		surplus = dm->inverter_down ? json_null() : json_integer(0);
		fc = 0;
	}

	/* the agent's codes and sentences (agent/astatus.c) */
	if (dm->exchange_down)
		json_array_append_new(
		    problems,
		    json_pack(
		        "{s:s,s:s,s:s}", "code", "exchange_unreachable", "message",
		        "Exchange unreachable: nothing from tcp://127.0.0.1:7700 for 30 s (it is"
		        " stopped, hung or the network to it is cut).",
		        "action",
		        "New bids and offers wait here, queued, and are sent when it is back"
		        " (those whose gate passes first are missed). Check the network, or"
		        " ask the exchange's operator."));
	if (dm->inverter_down)
		json_array_append_new(
		    problems,
		    json_pack("{s:s,s:s,s:s}", "code", "device_unreachable", "message",
		              "Inverter unreachable: tcp://127.0.0.1:1502: no answer in time"
		              " (the inverter or its meter does not answer).",
		              "action",
		              "Power values are not current and no readings are signed:"
		              " check that the device is on and reachable at [device]"
		              " modbus = tcp://127.0.0.1:1502."));
	json_t *doc = json_pack(
	    "{s:s,s:I,s:I,s:i,s:o,s:o,s:o,s:o,s:I,s:{s:b,s:s},s:{s:b,s:s},s:b,s:o}", "household",
	    "Demo household", "now", (json_int_t)time(NULL), "interval",
	    (json_int_t)now_interval(dm), "interval_s", (int)dm->interval_s, "pv_w", pv, "house_w",
	    house, "grid_w", grid, "surplus_w", surplus, "forecast_wh",
	    (json_int_t)(fc > 0 ? fc : 0), "exchange", "reachable", !dm->exchange_down, "detail",
	    dm->exchange_down ? "no reply for 30 s" : "", "inverter", "reachable",
	    !dm->inverter_down, "detail", dm->inverter_down ? "Modbus timeout" : "", "has_pv",
	    !dm->no_pv, "problems", problems);
	if (doc != NULL && dm->negative)
		json_object_set_new(
		    doc, "curtailment",
		    json_pack("{s:b,s:b,s:i,s:s,s:i,s:[o]}", "enabled", 1, "limiting", 1, "limit_w",
		              (json_int_t)dm->house_w, "why",
		              "feed-in -5.00 ct/kWh is below the floor 0.00 ct/kWh",
		              "floor_uper_kwh", 0, "events", demo_curtail_event(dm)));
	return doc;
}

/* The outlook's tariffs of the k-th interval from now (a dynamic day in
 * 24 steps: peaks at k = 4 and k = 18, the cheapest at k = 11, feed-in
 * below zero for k = 9..13). */
static void
demo_outlook_tariffs(unsigned k, int32_t *feedin, int32_t *retail)
{
	static const int32_t retail_ct100[24] = {
		2800, 3000, 3300, 3600, 3900, 3500, 3000, 2600, 2200, 1800, 1500, 1200,
		1400, 1700, 2100, 2500, 2900, 3400, 4100, 3800, 3300, 3000, 2900, 2800,
	};
	*retail = retail_ct100[k % 24] * 100;
	*feedin = k % 24 >= 9 && k % 24 <= 13 ? -30000 + (int32_t)(k % 24 == 11) * -20000 : 70000;
}

static json_t *
mark(struct demo *dm, uint64_t iv, int32_t retail, const char *word)
{
	char text[96];
	snprintf(text, sizeof text, "%s: interval %llu, retail %d", word, (unsigned long long)iv,
	         retail);
	return json_pack("{s:I,s:I,s:s,s:I,s:s}", "interval", (json_int_t)iv, "start",
	                 (json_int_t)(iv * dm->interval_s), "time_of_day", "00:00",
	                 "retail_uper_kwh", (json_int_t)retail, "text", text);
}

static json_t *
doc_outlook(struct demo *dm)
{
	json_t *ivs = json_array(), *recent = json_array();
	uint64_t cur = now_interval(dm), min_iv = cur, max_iv = cur;
	int32_t min_p = INT32_MAX, max_p = INT32_MIN;
	size_t k;

	for (unsigned i = 0; i < 24 && !dm->no_outlook; i++) {
		int32_t f, r;
		demo_outlook_tariffs(i, &f, &r);
		if (r < min_p) {
			min_p = r;
			min_iv = cur + i;
		}
		if (r > max_p) {
			max_p = r;
			max_iv = cur + i;
		}
		json_array_append_new(
		    ivs,
		    json_pack("{s:I,s:I,s:s,s:I,s:I}", "interval", (json_int_t)(cur + i), "start",
		              (json_int_t)((cur + i) * dm->interval_s), "time_of_day", "00:00",
		              "feedin_uper_kwh", (json_int_t)f, "retail_uper_kwh", (json_int_t)r));
	}
	for (k = 0; k < dm->nhist; k++)
		json_array_append_new(recent,
		                      json_pack("{s:I,s:I,s:s,s:I,s:I}", "interval",
		                                (json_int_t)dm->hist_interval[k], "start",
		                                (json_int_t)(dm->hist_interval[k] * dm->interval_s),
		                                "time_of_day", "00:00", "price_uper_kwh",
		                                (json_int_t)dm->hist_price[k], "volume_wh",
		                                (json_int_t)dm->hist_volume[k]));
	const char *state = dm->no_outlook ? "none" : dm->exchange_down ? "stale" : "current";
	const char *msg = dm->no_outlook ? "No price outlook yet: the exchange has not sent its "
	                                   "tariffs for the coming intervals."
	                  : dm->exchange_down ? "Outdated: this outlook arrived 40 s ago and the "
	                                        "exchange is unreachable; its tariffs may have "
	                                        "changed since."
	                                      : "";
	return json_pack(
	    "{s:s,s:s,s:I,s:I,s:o,s:I,s:I,s:o,s:o,s:o,s:o,s:n}", "state", state, "message", msg,
	    "interval_s", (json_int_t)dm->interval_s, "now_interval", (json_int_t)cur, "received",
	    dm->no_outlook ? json_null() : json_integer((json_int_t)(cur * dm->interval_s)),
	    "rules", (json_int_t)(dm->no_outlook ? 0 : 24), "covered",
	    (json_int_t)json_array_size(ivs), "intervals", ivs, "cheapest",
	    dm->no_outlook ? json_null() : mark(dm, min_iv, min_p, "Cheapest"), "dearest",
	    dm->no_outlook ? json_null() : mark(dm, max_iv, max_p, "Dearest"), "recent", recent,
	    "heartbeat");
}

static json_t *
doc_market(struct demo *dm)
{
	json_t *prices = json_array(), *depth = json_array();
	uint64_t cur = now_interval(dm), i;
	size_t k;

	for (k = 0; k < dm->nhist; k++)
		json_array_append_new(prices,
		                      json_pack("{s:I,s:I,s:I,s:I}", "interval",
		                                (json_int_t)dm->hist_interval[k], "start",
		                                (json_int_t)(dm->hist_interval[k] * dm->interval_s),
		                                "price_uper_kwh", (json_int_t)dm->hist_price[k],
		                                "volume_wh", (json_int_t)dm->hist_volume[k]));
	for (i = cur + 1; i <= cur + 4; i++) {
		json_t *bids = json_array(), *asks = json_array();
		uint64_t own = 0;
		for (k = 0; k < dm->norders; k++) {
			struct demo_order *o = &dm->orders[k];
			if (o->interval == i && strcmp(o->side, "buy") == 0 &&
			    (strcmp(o->status, "acked") == 0 || strcmp(o->status, "pending") == 0))
				own += o->qty_wh;
		}
		json_array_append_new(bids, json_pack("{s:i,s:I}", "price_uper_kwh", 240000,
		                                      "qty_wh", (json_int_t)(1200 + own)));
		json_array_append_new(bids, json_pack("{s:i,s:i}", "price_uper_kwh", 180000,
		                                      "qty_wh", 800 + (int)(i % 5) * 100));
		json_array_append_new(asks, json_pack("{s:i,s:i}", "price_uper_kwh", 150000,
		                                      "qty_wh", 1500 + (int)(i % 3) * 250));
		json_array_append_new(
		    asks, json_pack("{s:i,s:i}", "price_uper_kwh", 210000, "qty_wh", 900));
		json_array_append_new(
		    depth, json_pack("{s:I,s:I,s:I,s:o,s:o}", "interval", (json_int_t)i, "start",
		                     (json_int_t)(i * dm->interval_s), "gate_close",
		                     (json_int_t)(i * dm->interval_s - dm->interval_s), "bids",
		                     bids, "asks", asks));
	}
	return json_pack("{s:s,s:i,s:i,s:I,s:o,s:o}", "currency", "EUR", "retail_uper_kwh",
	                 DEMO_RETAIL, "feed_in_uper_kwh", demo_feed_in(dm), "next_interval",
	                 (json_int_t)(cur + 1), "prices", prices, "depth", depth);
}

static bool
order_open(const struct demo_order *o)
{
	return strcmp(o->status, "pending") == 0 || strcmp(o->status, "acked") == 0;
}

static json_t *
order_json(const struct demo_order *o)
{
	return json_pack(
	    "{s:I,s:s,s:I,s:I,s:I,s:s,s:b,s:s,s:o}", "seq", (json_int_t)o->seq, "side", o->side,
	    "interval", (json_int_t)o->interval, "qty_wh", (json_int_t)o->qty_wh, "price_uper_kwh",
	    (json_int_t)o->price, "status", o->status, "auto", o->is_auto, "reason", "", "verified",
	    o->age >= 1 && strcmp(o->status, "pending") != 0 ? json_true() : json_null());
}

/* Adds "more" and "before" to a page. */
static json_t *
paged(json_t *doc, bool more, bool have, uint64_t oldest)
{
	json_object_set_new(doc, "more", json_boolean(more));
	json_object_set_new(doc, "before", have ? json_integer((json_int_t)oldest) : json_null());
	return doc;
}

static int
by_interval_desc(const void *x, const void *y)
{
	const struct demo_order *a = *(const struct demo_order *const *)x;
	const struct demo_order *b = *(const struct demo_order *const *)y;
	if (a->interval != b->interval)
		return a->interval < b->interval ? 1 : -1;
	return a->seq < b->seq ? 1 : a->seq > b->seq ? -1 : 0;
}

/* Every open order and the latest page of finished ones (intervals below
 * `before`, before 0: the latest; whole intervals), like the agent. */
static json_t *
doc_orders(struct demo *dm, uint64_t before)
{
	static const struct demo_order *done[DEMO_MAX_ORDERS];
	json_t *a = json_array();
	size_t k, n = 0, rows = 0;
	uint64_t oldest = 0;
	bool more = false;

	for (k = 0; k < dm->norders; k++) {
		struct demo_order *o = &dm->orders[k];
		if (order_open(o)) {
			if (before == 0)
				json_array_append_new(a, order_json(o));
		} else if (before == 0 || o->interval < before) {
			done[n++] = o;
		}
	}
	qsort(done, n, sizeof done[0], by_interval_desc);
	for (k = 0; k < n; k++) {
		if (rows >= DEMO_PAGE && done[k]->interval != oldest) {
			more = true;
			break;
		}
		json_array_append_new(a, order_json(done[k]));
		oldest = done[k]->interval;
		rows++;
	}
	return paged(json_pack("{s:o}", "orders", a), more, rows > 0, oldest);
}

/* Trades of intervals below `before`, newest first, whole intervals. */
static json_t *
doc_trades(struct demo *dm, uint64_t before)
{
	json_t *a = json_array();
	size_t k, n = 0;
	uint64_t oldest = 0;
	bool more = false;

	for (k = dm->ntrades; k-- > 0;) {
		struct demo_trade *t = &dm->trades[k];
		if (before != 0 && t->interval >= before)
			continue;
		if (n >= DEMO_PAGE && t->interval != oldest) {
			more = true;
			break;
		}
		json_array_append_new(
		    a, json_pack("{s:I,s:s,s:I,s:I,s:I,s:I}", "interval", (json_int_t)t->interval,
		                 "side", t->buy ? "buy" : "sell", "qty_wh", (json_int_t)t->qty_wh,
		                 "price_uper_kwh", (json_int_t)t->price, "amount_u",
		                 (json_int_t)t->amount_u, "fee_u", (json_int_t)t->fee_u));
		oldest = t->interval;
		n++;
	}
	return paged(json_pack("{s:o}", "trades", a), more, n > 0, oldest);
}

static json_t *
doc_statements(struct demo *dm, uint64_t before)
{
	json_t *a = json_array();
	int64_t earned = 0, paid = 0, saving = 0;
	size_t k, n = 0;
	uint64_t oldest = 0;
	bool more = false;

	for (k = dm->nstmts; k-- > 0;) {
		struct demo_statement *s = &dm->stmts[k];
		int64_t sav = s->net_u - s->baseline_u;
		if (s->net_u > 0)
			earned += s->net_u;
		else
			paid -= s->net_u;
		saving += sav;
		if (before != 0 && s->interval >= before)
			continue;
		if (n == DEMO_PAGE) {
			more = true;
			continue;
		}
		/* a buyer imports what it bought: metered = -delivered */
		json_array_append_new(
		    a,
		    json_pack("{s:I,s:I,s:I,s:i,s:I,s:I,s:I,s:I,s:b,s:I,s:o}", "interval",
		              (json_int_t)s->interval, "traded_wh", (json_int_t)s->traded_wh,
		              "delivered_wh", (json_int_t)-s->traded_wh, "imbalance_wh", 0,
		              "fees_u", (json_int_t)s->fees_u, "net_u", (json_int_t)s->net_u,
		              "baseline_u", (json_int_t)s->baseline_u, "saving_u", (json_int_t)sav,
		              "flagged", 0, "log_index", (json_int_t)(100 + k * 7), "verified",
		              s->age >= 1 ? json_true() : json_null()));
		oldest = s->interval;
		n++;
	}
	json_t *doc = json_pack("{s:o,s:{s:I,s:I,s:I}}", "statements", a, "totals", "earned_u",
	                        (json_int_t)earned, "paid_u", (json_int_t)paid, "saving_u",
	                        (json_int_t)saving);
	if (doc != NULL && dm->negative && before == 0)
		json_object_set_new(doc, "curtailed", json_pack("[o]", demo_curtail_event(dm)));
	return paged(doc, more, n > 0, oldest);
}

/* The first interval of the local day. */
static uint64_t
day_first_interval(const struct demo *dm)
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

static json_t *
sums(int64_t v[7])
{
	return json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "sold_wh", (json_int_t)v[0], "bought_wh",
	                 (json_int_t)v[1], "earned_u", (json_int_t)v[2], "paid_u", (json_int_t)v[3],
	                 "net_u", (json_int_t)v[4], "saving_u", (json_int_t)v[5], "settled",
	                 (json_int_t)v[6]);
}

/* The Today document of the agent (aledger_json_today) from the demo's
 * statements and cleared intervals. */
static json_t *
doc_today(struct demo *dm)
{
	uint64_t from = day_first_interval(dm);
	int64_t day[7] = { 0 }, all[7] = { 0 };
	json_t *arr = json_array(), *doc;
	size_t k;

	if (dm->sums_day == from) /* else nothing settled yet today */
		memcpy(day, dm->day_sums, sizeof day);
	memcpy(all, dm->all_sums, sizeof all);
	for (k = 0; k < dm->nenergy; k++) {
		struct demo_energy *e = &dm->energy[k];
		int64_t grid = e->house_wh - e->pv_wh;
		if (e->interval < from)
			continue;
		json_array_append_new(
		    arr, json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "interval",
		                   (json_int_t)e->interval, "start",
		                   (json_int_t)(e->interval * dm->interval_s), "pv_wh",
		                   (json_int_t)e->pv_wh, "house_wh", (json_int_t)e->house_wh,
		                   "import_wh", (json_int_t)(grid > 0 ? grid : 0), "export_wh",
		                   (json_int_t)(grid < 0 ? -grid : 0), "sold_wh",
		                   (json_int_t)e->sold_wh, "bought_wh", (json_int_t)e->bought_wh));
	}
	doc = sums(day);
	json_object_set_new(doc, "from_interval", json_integer((json_int_t)from));
	json_object_set_new(doc, "to_interval",
	                    json_integer((json_int_t)(from + 86400 / dm->interval_s)));
	json_object_set_new(doc, "start", json_integer((json_int_t)(from * dm->interval_s)));
	json_object_set_new(doc, "unsettled_sold_wh", json_integer(0));
	json_object_set_new(doc, "unsettled_bought_wh", json_integer(0));
	json_object_set_new(doc, "intervals", arr);
	json_object_set_new(doc, "all_time", sums(all));
	return doc;
}

static json_t *
demo_older(void *ctx, enum dash_doc doc, uint64_t before)
{
	struct demo *dm = ctx;

	switch (doc) {
	case DASH_DOC_ORDERS:
		return doc_orders(dm, before);
	case DASH_DOC_TRADES:
		return doc_trades(dm, before);
	case DASH_DOC_STATEMENTS:
		return doc_statements(dm, before);
	default:
		return NULL;
	}
}

static json_t *
demo_get(void *ctx, enum dash_doc doc)
{
	struct demo *dm = ctx;

	switch (doc) {
	case DASH_DOC_STATE:
		return doc_state(dm);
	case DASH_DOC_MARKET:
		return doc_market(dm);
	case DASH_DOC_ORDERS:
		return doc_orders(dm, 0);
	case DASH_DOC_TRADES:
		return doc_trades(dm, 0);
	case DASH_DOC_STATEMENTS:
		return doc_statements(dm, 0);
	case DASH_DOC_TODAY:
		return doc_today(dm);
	case DASH_DOC_OUTLOOK:
		return doc_outlook(dm);
	case DASH_DOC_SETTINGS:
		return json_pack("{s:I,s:I,s:b}", "min_price_uper_kwh",
		                 (json_int_t)dm->settings.min_price_uper_kwh, "reserve_wh",
		                 (json_int_t)dm->settings.reserve_wh, "auto_sell",
		                 dm->settings.auto_sell);
	default:
		return NULL;
	}
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

static pw_err
demo_bid(void *ctx, const struct dash_bid *bid, uint64_t *seq_out, char *msg, size_t cap)
{
	struct demo *dm = ctx;
	uint64_t first = bid->interval ? bid->interval : now_interval(dm) + 1;
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
	if (first <= now_interval(dm)) {
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
		if (o->is_auto && order_open(o) && o->interval >= first &&
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

static pw_err
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

static pw_err
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

static void
demo_metrics(void *ctx, FILE *out)
{
	struct demo *dm = ctx;

	fprintf(out, "# TYPE peerwatt_agent_orders gauge\npeerwatt_agent_orders %zu\n",
	        dm->norders);
}

/* ---- the fake world --------------------------------------------------------- */

static void
tick_power(struct demo *dm)
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
	uint64_t from = day_first_interval(dm);
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
	}
}

/* Clears interval i (just closed): history, own fills, statements. */
static void
clear_interval(struct demo *dm, uint64_t i)
{
	int32_t p = demo_price(dm, i);
	int64_t bought = 0, sold = 0, net = 0, fees = 0, baseline = 0;
	size_t k;

	for (k = 0; k < dm->norders; k++) {
		struct demo_order *o = &dm->orders[k];
		bool open = strcmp(o->status, "acked") == 0 || strcmp(o->status, "pending") == 0;
		if (o->interval != i || !open)
			continue;
		bool buy = strcmp(o->side, "buy") == 0;
		if ((buy && o->price >= p) || (!buy && o->price <= p)) {
			struct demo_trade *t;
			snprintf(o->status, sizeof o->status, "filled");
			if (dm->ntrades == DEMO_MAX_TRADES) {
				memmove(&dm->trades[0], &dm->trades[1],
				        (DEMO_MAX_TRADES - 1) * sizeof dm->trades[0]);
				dm->ntrades--;
			}
			t = &dm->trades[dm->ntrades++];
			t->interval = i;
			t->qty_wh = o->qty_wh;
			t->price = p;
			t->buy = buy;
			t->amount_u = amount(o->qty_wh, p);
			t->fee_u = buy ? amount(o->qty_wh, DEMO_FEE) : 0;
			if (buy) {
				bought += (int64_t)o->qty_wh;
				net -= t->amount_u + t->fee_u;
				fees += t->fee_u;
				baseline -= amount(o->qty_wh, DEMO_RETAIL);
			} else {
				sold += (int64_t)o->qty_wh;
				net += t->amount_u;
				baseline += amount(o->qty_wh, demo_feed_in(dm));
			}
		} else {
			snprintf(o->status, sizeof o->status, "expired");
		}
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
		     (strcmp(dm->orders[k].side, "buy") == 0 && order_open(&dm->orders[k]))))
			return;
	add_order(dm, "sell", next, (uint64_t)surplus_wh, dm->settings.min_price_uper_kwh, true);
}

static void
tick(struct demo *dm, uint64_t *last_interval)
{
	uint64_t cur = now_interval(dm);
	bool market = false;
	size_t k;

	tick_power(dm);
	for (k = 0; k < dm->norders; k++) {
		struct demo_order *o = &dm->orders[k];
		o->age++;
		if (strcmp(o->status, "pending") == 0 && !dm->exchange_down)
			snprintf(o->status, sizeof o->status, "acked");
	}
	for (k = 0; k < dm->nstmts; k++)
		dm->stmts[k].age++;
	while (*last_interval < cur) {
		clear_interval(dm, *last_interval);
		(*last_interval)++;
		market = true;
	}
	auto_sell(dm, cur + 1);
	dash_notify(dm->dash, DASH_DOC_STATE);
	dash_notify(dm->dash, DASH_DOC_ORDERS);
	dash_notify(dm->dash, DASH_DOC_STATEMENTS);
	if (market) {
		dash_notify(dm->dash, DASH_DOC_MARKET);
		dash_notify(dm->dash, DASH_DOC_TRADES);
		dash_notify(dm->dash, DASH_DOC_TODAY);
	}
}

static void
usage(FILE *f)
{
	fprintf(f, "usage: pw-dashdemo [--listen HOST:PORT] [--web DIR] [--interval-s N] "
	           "[--token T]\n                   [--exchange-down] [--inverter-down] "
	           "[--no-pv] [--seed N] [--negative] [--no-outlook]\n");
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "web", required_argument, NULL, 'w' },
		{ "interval-s", required_argument, NULL, 'i' },
		{ "token", required_argument, NULL, 't' },
		{ "exchange-down", no_argument, NULL, 'X' },
		{ "inverter-down", no_argument, NULL, 'I' },
		{ "no-pv", no_argument, NULL, 'P' },
		{ "seed", required_argument, NULL, 's' },
		{ "negative", no_argument, NULL, 'N' },
		{ "no-outlook", no_argument, NULL, 'O' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	static struct demo dm; /* large: not on the stack */
	struct dash_config cfg = { 0 };
	struct dash_ops ops = { 0 };
	char addr[64] = "127.0.0.1", msg[DASH_MSG_MAX] = "";
	uint16_t port = 0;
	const char *web = "agent/web", *token = NULL;
	struct sigaction sa;
	uint64_t last_interval;
	time_t next_tick;
	char *end;
	long v;
	int c, i;

	log_init("pw-dashdemo", LOG_LEVEL_INFO);
	dm.interval_s = 10;
	dm.rng = 42;
	dm.settings.min_price_uper_kwh = 120000;
	dm.settings.reserve_wh = 0;
	dm.settings.auto_sell = true;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'l':
			if (dash_listen_parse(optarg, addr, sizeof addr, &port) != PW_OK) {
				fprintf(stderr, "pw-dashdemo: bad --listen '%s'\n", optarg);
				return 64;
			}
			break;
		case 'w':
			web = optarg;
			break;
		case 'i':
		case 's':
			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || v < 1 || v > 3600) {
				fprintf(stderr, "pw-dashdemo: bad number '%s'\n", optarg);
				return 64;
			}
			if (c == 'i')
				dm.interval_s = (unsigned)v;
			else
				dm.rng = (unsigned)v;
			break;
		case 't':
			token = optarg;
			break;
		case 'X':
			dm.exchange_down = true;
			break;
		case 'I':
			dm.inverter_down = true;
			break;
		case 'P':
			dm.no_pv = true;
			break;
		case 'O':
			dm.no_outlook = true;
			break;
		case 'N':
			dm.negative = true;
			dm.settings.min_price_uper_kwh = -40000;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("pw-dashdemo %s\n", PW_VERSION);
			return 0;
		default:
			usage(stderr);
			return 64;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 64;
	}
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	/* A little price history so the chart has a line from the start. */
	last_interval = now_interval(&dm);
	tick_power(&dm);
	for (i = 12; i > 0; i--)
		clear_interval(&dm, last_interval - (uint64_t)i);

	ops.ctx = &dm;
	ops.get = demo_get;
	ops.place_bid = demo_bid;
	ops.cancel = demo_cancel;
	ops.update_settings = demo_settings;
	ops.metrics = demo_metrics;
	ops.get_older = demo_older;
	cfg.bind_addr = addr;
	cfg.port = port;
	cfg.web_root = web;
	cfg.token = token;
	if (dash_new(&cfg, &ops, &dm.dash, msg, sizeof msg) != PW_OK) {
		fprintf(stderr, "pw-dashdemo: %s\n", msg);
		return 69;
	}
	printf("pw-dashdemo: listening on http://%s%s%s:%u/\n", strchr(addr, ':') ? "[" : "", addr,
	       strchr(addr, ':') ? "]" : "", (unsigned)dash_port(dm.dash));
	fflush(stdout);

	next_tick = time(NULL) + 1;
	while (!demo_stop) {
		struct pollfd pfd = { dash_fd(dm.dash), POLLIN, 0 };
		long to = dash_timeout_ms(dm.dash);
		time_t now = time(NULL);
		long tick_ms = next_tick > now ? (long)(next_tick - now) * 1000 : 0;
		if (to < 0 || to > tick_ms)
			to = tick_ms;
		if (poll(&pfd, 1, (int)to) < 0 && errno != EINTR)
			break;
		if (dash_run(dm.dash) != PW_OK)
			log_warnx("dash_run failed");
		if (time(NULL) >= next_tick) {
			next_tick = time(NULL) + 1;
			tick(&dm, &last_interval);
		}
	}
	dash_destroy(&dm.dash);
	return 0;
}
