/*
 * docs.c: the JSON documents pw-dashdemo's fake household serves to the page,
 * in the agent's form (agent/dash.h, docs/dashboard.md).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "demo.h"
#include "peerwatt/money.h"

/* ---- documents ------------------------------------------------------------ */

/* --negative: the interval under way had its export limited (as
 * agent/actl.c says it, docs/agent-energy.md "Curtailment"); the saving is a
 * fixed example figure. */
static json_t *
demo_curtail_event(struct demo *dm)
{
	char text[96], h1[8], h2[8];
	time_t from = (time_t)(demo_now_interval(dm) * dm->interval_s), to = from + dm->interval_s;
	struct tm tm;

	strftime(h1, sizeof(h1), "%H:%M", localtime_r(&from, &tm));
	strftime(h2, sizeof(h2), "%H:%M", localtime_r(&to, &tm));
	snprintf(text, sizeof(text), "Export limited %s-%s: feed-in -5.00 ct/kWh", h1, h2);
	return json_pack("{s:I,s:I,s:n,s:i,s:i,s:i,s:I,s:b,s:s,s:i,s:i,s:b}", "interval",
	                 (json_int_t)demo_now_interval(dm), "from", (json_int_t)from, "to",
	                 "feed_in_uper_kwh", DEMO_FEED_IN_NEG, "floor_uper_kwh", 0, "sold_wh", 0,
	                 "limit_w", (json_int_t)dm->house_w, "ok", 1, "text", text,
	                 "not_exported_wh", 250, "saved_u", 12500, "estimate", 1);
}

static json_t *
doc_state(struct demo *dm)
{
	json_t *pv = dm->inverter_down ? json_null() : json_integer(dm->pv_w);
	json_t *house = dm->inverter_down ? json_null() : json_integer(dm->house_w);
	json_t *grid = dm->inverter_down ? json_null()
	                                 : json_integer(dm->house_w - dm->pv_w - dm->bat.power_w);
	json_t *surplus = dm->inverter_down ? json_null() : json_integer(dm->pv_w - dm->house_w);
	int64_t fc = (dm->pv_w - dm->house_w) * 900 / 3600 /* a 15-minute interval, as the chart */;
	json_t *problems = json_array();

	if (dm->no_pv) {
		json_decref(pv);
		pv = dm->inverter_down ? json_null() : json_integer(0);
		json_decref(grid);
		grid =
		    dm->inverter_down ? json_null() : json_integer(dm->house_w - dm->bat.power_w);
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
	    (json_int_t)demo_now_interval(dm), "interval_s", (int)dm->interval_s, "pv_w", pv,
	    "house_w", house, "grid_w", grid, "surplus_w", surplus, "forecast_wh",
	    (json_int_t)(fc > 0 ? fc : 0), "exchange", "reachable", !dm->exchange_down, "detail",
	    dm->exchange_down ? "no reply for 30 s" : "", "inverter", "reachable",
	    !dm->inverter_down, "detail", dm->inverter_down ? "Modbus timeout" : "", "has_pv",
	    !dm->no_pv, "problems", problems);
	if (doc != NULL)
		json_object_set_new(doc, "battery", demo_bat_state(dm));
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
	uint64_t cur = demo_now_interval(dm), min_iv = cur, max_iv = cur;
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
	uint64_t cur = demo_now_interval(dm), i;
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
		if (demo_order_open(o)) {
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
		    json_pack("{s:I,s:I,s:I,s:i,s:I,s:I,s:I,s:I,s:b,s:I,s:o,s:I}", "interval",
		              (json_int_t)s->interval, "traded_wh", (json_int_t)s->traded_wh,
		              "delivered_wh", (json_int_t)-s->traded_wh, "imbalance_wh", 0,
		              "fees_u", (json_int_t)s->fees_u, "net_u", (json_int_t)s->net_u,
		              "baseline_u", (json_int_t)s->baseline_u, "saving_u", (json_int_t)sav,
		              "flagged", 0, "log_index", (json_int_t)(100 + k * 7), "verified",
		              s->age >= 1 ? json_true() : json_null(), "battery_sold_wh",
		              (json_int_t)s->battery_sold_wh));
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

static json_t *
sums(const int64_t v[DEMO_SUMS])
{
	return json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "sold_wh", (json_int_t)v[0],
	                 "bought_wh", (json_int_t)v[1], "earned_u", (json_int_t)v[2], "paid_u",
	                 (json_int_t)v[3], "net_u", (json_int_t)v[4], "saving_u", (json_int_t)v[5],
	                 "settled", (json_int_t)v[6], "battery_sold_wh", (json_int_t)v[7]);
}

/* The Today document of the agent (aledger_json_today) from the demo's
 * statements and cleared intervals. */
static json_t *
doc_today(struct demo *dm)
{
	uint64_t from = demo_day_first(dm);
	int64_t day[DEMO_SUMS] = { 0 }, all[DEMO_SUMS] = { 0 };
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
		    arr, json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "interval",
		                   (json_int_t)e->interval, "start",
		                   (json_int_t)(e->interval * dm->interval_s), "pv_wh",
		                   (json_int_t)e->pv_wh, "house_wh", (json_int_t)e->house_wh,
		                   "import_wh", (json_int_t)(grid > 0 ? grid : 0), "export_wh",
		                   (json_int_t)(grid < 0 ? -grid : 0), "sold_wh",
		                   (json_int_t)e->sold_wh, "bought_wh", (json_int_t)e->bought_wh,
		                   "battery_sold_wh", (json_int_t)e->battery_sold_wh));
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

json_t *
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

json_t *
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
	case DASH_DOC_PLAN:
		return demo_bat_plan(dm);
	case DASH_DOC_SETTINGS:
		return json_pack("{s:I,s:I,s:b}", "min_price_uper_kwh",
		                 (json_int_t)dm->settings.min_price_uper_kwh, "reserve_wh",
		                 (json_int_t)dm->settings.reserve_wh, "auto_sell",
		                 dm->settings.auto_sell);
	default:
		return NULL;
	}
}
