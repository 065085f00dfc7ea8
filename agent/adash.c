/*
 * adash.c: the agent's dashboard documents and actions (see agentd_int.h,
 * dash.h for the documents' shapes, docs/dashboard.md).  Owns building
 * the state, market and orders documents from the daemon's context, the
 * order status words the page shows, and the callbacks for placing bids,
 * cancelling, settings and /metrics.  dash.c owns the HTTP side.  Called by
 * agentd.c (adash_start) and, through struct dash_ops, by dash_run().
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agentd_int.h"
#include "agent/awitness.h"
#include "agent/devpoll.h"
#include "peerwatt/fmt.h"

static json_t *
num_or_null(int has, double v)
{
	return has ? json_integer((json_int_t)(v >= 0 ? v + 0.5 : v - 0.5)) : json_null();
}

static json_t *
doc_state(struct agentd *a)
{
	int64_t now = agentd_now_ms(a);
	uint64_t iv = (uint64_t)(now / agentd_interval_ms(a));
	int has_grid = a->have_rd && a->rd.has_meter_power;
	double grid = has_grid ? a->rd.meter_power_w : 0;
	int has_pv = a->dev_ok && a->has_pv;
	uint64_t first = agentd_first_open(a, now);

	uint32_t first_tod = agentd_iv_tod(a, first);
	json_t *doc, *clock;
	char hhmm[8];

	if (a->cfg.meter_sign == ACONFIG_SIGN_EXPORT_POSITIVE)
		grid = -grid;
	/* what the house uses: PV plus the grid's import, plus a battery's
	 * discharge (less its charging: the battery is taken as AC-coupled, as
	 * /api/today's house_wh takes it, docs/dashboard.md); a sum below zero
	 * means readings that disagree, and is not shown */
	double house = a->pv_w + grid;
	int has_house = has_pv && has_grid;
	if (a->have_rd && a->rd.storage.present && a->rd.storage.has_power)
		house += a->rd.storage.power_w;
	if (house < 0)
		has_house = 0;
	/* the household's name; never the 64-hex key, which nobody reads */
	char reg_name[PW_TOKEN_LEN + 1] = "";
	if (a->reg.have && !a->reg.e.revoked) { /* the name the exchange's log gives us */
		memcpy(reg_name, a->reg.e.name, PW_TOKEN_LEN);
		reg_name[PW_TOKEN_LEN] = '\0';
	}
	const char *name = a->cfg.name[0]     ? a->cfg.name
	                   : reg_name[0]      ? reg_name
	                   : a->cfg.serial[0] ? a->cfg.serial
	                   : a->dev_serial[0] ? a->dev_serial
	                                      : "Your household";
	doc = json_pack("{s:s, s:I, s:I, s:I, s:o, s:o, s:o, s:o, s:I, s:{s:b, s:s},"
	                " s:{s:b, s:s}, s:b, s:o, s:o}",
	                "household", name, "now", (json_int_t)(now / 1000), "interval",
	                (json_int_t)iv, "interval_s", (json_int_t)a->cfg.interval_s, "pv_w",
	                num_or_null(has_pv, a->pv_w), "house_w", num_or_null(has_house, house),
	                "grid_w", num_or_null(has_grid, grid), "surplus_w",
	                num_or_null(has_grid, grid < 0 ? -grid : 0), "forecast_wh",
	                (json_int_t)forecast_export_wh(&a->fc, first_tod, 1), "exchange",
	                "reachable", aexch_reachable(a, now), "detail", a->cfg.request, "inverter",
	                "reachable", a->dev_ok, "detail", a->dev_detail, "has_pv", a->has_pv,
	                "problems", astatus_json(a), "registry", aregistry_json(a));
	if (doc == NULL)
		return NULL;
	json_object_set_new(doc, "witnesses", awitness_json(a));
	json_object_set_new(doc, "curtailment", actl_json(a, now));
	json_object_set_new(doc, "battery", abat_state_json(a));
	/* the devices' time of day ([sim] in tests and the demo): the one time
	 * base of forecasts, standing bids and the page's clock */
	clock = json_pack("{s:s, s:I, s:b, s:I, s:I, s:I}", "time_of_day",
	                  devclock_hhmm(&a->clock, now, hhmm, sizeof(hhmm)), "tod_s",
	                  (json_int_t)devclock_tod(&a->clock, now), "simulated", a->clock.simulated,
	                  "epoch", (json_int_t)a->clock.epoch_s, "start_s",
	                  (json_int_t)a->clock.start_s, "speed", (json_int_t)a->clock.speed);
	json_object_set_new(doc, "clock", clock != NULL ? clock : json_null());
	json_object_set_new(doc, "forecast_firm_wh",
	                    json_integer((json_int_t)forecast_firm_wh(&a->fc, first_tod, 1)));
	json_object_set_new(doc, "sell_paused",
	                    a->sell_block_set && a->sell_block != POLICY_SELL_OK
	                        ? json_string(policy_block_name(a->sell_block))
	                        : json_null());
	return doc;
}

static json_t *
doc_market(struct agentd *a)
{
	int64_t now = agentd_now_ms(a);
	json_t *depth = json_array();
	for (int i = 0; i < DEPTH_KEEP; i++) {
		const struct pw_depth *d = &a->depth[i];
		json_t *bids = json_array(), *asks = json_array();
		if (d->interval == 0 || !agentd_iv_ok(a, d->interval) ||
		    agentd_gate_ms(a, d->interval) <= now) {
			json_decref(bids);
			json_decref(asks);
			continue;
		}
		for (unsigned k = 0; k < d->n_levels; k++)
			json_array_append_new(d->levels[k].side == PW_SIDE_BUY ? bids : asks,
			                      json_pack("{s:I, s:I}", "price_uper_kwh",
			                                (json_int_t)d->levels[k].price_uper_kwh,
			                                "qty_wh", (json_int_t)d->levels[k].qty_wh));
		json_array_append_new(
		    depth,
		    json_pack("{s:I, s:I, s:I, s:o, s:o}", "interval", (json_int_t)d->interval,
		              "start", (json_int_t)agentd_iv_start_s(a, d->interval), "gate_close",
		              (json_int_t)(agentd_gate_ms(a, d->interval) / 1000), "bids", bids,
		              "asks", asks));
	}
	json_t *prices = aledger_json_prices(a->led, (uint32_t)a->cfg.interval_s, 96);
	return json_pack("{s:s, s:I, s:I, s:I, s:o, s:o}", "currency", "EUR", "retail_uper_kwh",
	                 (json_int_t)a->cfg.retail_uper_kwh, "feed_in_uper_kwh",
	                 (json_int_t)a->cfg.feedin_uper_kwh, "next_interval",
	                 (json_int_t)agentd_first_open(a, now), "prices",
	                 prices != NULL ? prices : json_array(), "depth", depth);
}

/* The status word of an order, and in *note what the page adds after it.
 * An order the exchange has not acknowledged is never called sent: while the
 * exchange is unreachable it is "queued, not yet at the exchange", and one
 * whose gate passed before it got there is "missed". */
static const char *
order_status(const struct agentd *a, const struct oview *o, int64_t now, const char **note)
{
	uint64_t traded_wh;

	*note = "";
	switch (o->state) {
	case OUTBOX_PENDING:
		if (o->cancelled)
			return "cancelled";
		if (!aexch_reachable(a, now)) {
			*note = "not yet at the exchange";
			return "queued";
		}
		return "pending";
	case OUTBOX_REJECTED:
		*note = pw_reason_name(o->reason);
		return "rejected";
	case OUTBOX_DROPPED:
		*note = "exchange unreachable";
		return "missed";
	case OUTBOX_ACKED:
	default:
		/* trades are known once the interval's RESULT is in; they win over
		 * a cancel that came too late */
		traded_wh = aledger_order_traded_wh(a->led, o->side, o->seq);
		if (traded_wh > 0)
			return traded_wh >= o->qty_wh ? "filled" : "partial";
		if (o->cancelled)
			return "cancelled";
		return agentd_gate_ms(a, o->interval) <= now ? "expired" : "acked";
	}
}

static json_t *
order_json(struct agentd *a, const struct oview *o, const char *status, const char *note)
{
	int tag = aledger_order_tag(a->led, o->seq);
	return json_pack("{s:I, s:s, s:I, s:I, s:I, s:s, s:b, s:s, s:o}", "seq", (json_int_t)o->seq,
	                 "side", o->side == PW_SIDE_BUY ? "buy" : "sell", "interval",
	                 (json_int_t)o->interval, "qty_wh", (json_int_t)o->qty_wh, "price_uper_kwh",
	                 (json_int_t)o->price_uper_kwh, "status", status, "auto", tag != TAG_MANUAL,
	                 "reason", note, "verified",
	                 o->proof == OUTBOX_PROOF_NONE ? json_null()
	                                               : json_boolean(o->proof == OUTBOX_PROOF_OK));
}

static int
status_open(const char *st)
{
	return strcmp(st, "pending") == 0 || strcmp(st, "queued") == 0 || strcmp(st, "acked") == 0;
}

/*
 * One page of the order history (orders no longer open) into arr: the
 * orders of intervals below `before`, newest interval first, whole
 * intervals until ALEDGER_PAGE rows.  Returns the page's oldest interval
 * (0: empty page) and sets *more when older orders exist.
 */
static uint64_t
history_page(struct agentd *a, uint64_t before, json_t *arr, int *more)
{
	static struct oview v[MAX_VIEWS];
	int64_t now = agentd_now_ms(a);
	uint64_t hi = before, oldest = 0, top, x;
	size_t rows = 0;

	while (rows < ALEDGER_PAGE && aledger_order_interval_below(a->led, hi, &top) == PW_OK) {
		/* a window of 16 intervals ending at the latest with an order */
		uint64_t lo = top > 15 ? top - 15 : 0;
		size_t n = atrade_collect_orders(a, lo, top, v, MAX_VIEWS);
		for (uint64_t iv = top + 1; iv-- > lo && rows < ALEDGER_PAGE;) {
			size_t had = rows;
			for (size_t i = n; i-- > 0;) {
				const char *st, *note;
				if (v[i].interval != iv)
					continue;
				st = order_status(a, &v[i], now, &note);
				if (status_open(st))
					continue;
				json_array_append_new(arr, order_json(a, &v[i], st, note));
				rows++;
			}
			if (rows > had)
				oldest = iv;
		}
		hi = lo;
		if (lo == 0)
			break;
	}
	*more = oldest != 0 && aledger_order_interval_below(a->led, oldest, &x) == PW_OK;
	return oldest;
}

/* Every open order (from 8 intervals back, at most MAX_VIEWS) and the
 * latest page of the history: {"orders", "more", "before"}. */
static json_t *
doc_orders(struct agentd *a, uint64_t before)
{
	static struct oview v[MAX_VIEWS];
	int64_t now = agentd_now_ms(a);
	uint64_t iv = (uint64_t)(now / agentd_interval_ms(a)), oldest;
	json_t *arr = json_array();
	int more = 0;

	if (before == 0) {
		size_t n = atrade_collect_orders(a, iv > 8 ? iv - 8 : 0, UINT64_MAX, v, MAX_VIEWS);
		for (size_t i = 0; i < n; i++) {
			const char *note;
			const char *st = order_status(a, &v[i], now, &note);
			if (status_open(st))
				json_array_append_new(arr, order_json(a, &v[i], st, note));
		}
	}
	oldest = history_page(a, before == 0 ? UINT64_MAX : before, arr, &more);
	return json_pack("{s:o, s:b, s:o}", "orders", arr, "more", more, "before",
	                 oldest != 0 ? json_integer((json_int_t)oldest) : json_null());
}

static json_t *
doc_today(struct agentd *a)
{
	uint64_t from, to;
	agentd_day_ivs(a, &from, &to);
	return aledger_json_today(a->led, from, to, (uint32_t)a->cfg.interval_s);
}

static json_t *
adash_older(void *ctx, enum dash_doc doc, uint64_t before)
{
	struct agentd *a = ctx;
	switch (doc) {
	case DASH_DOC_ORDERS:
		return doc_orders(a, before);
	case DASH_DOC_TRADES:
		return aledger_json_trades_page(a->led, before);
	case DASH_DOC_STATEMENTS:
		return aledger_json_statements_page(a->led, before);
	default:
		return NULL;
	}
}

static json_t *
adash_get(void *ctx, enum dash_doc doc)
{
	struct agentd *a = ctx;
	switch (doc) {
	case DASH_DOC_STATE:
		return doc_state(a);
	case DASH_DOC_MARKET:
		return doc_market(a);
	case DASH_DOC_ORDERS:
		return doc_orders(a, 0);
	case DASH_DOC_TRADES:
		return aledger_json_trades(a->led, a->kp.pk);
	case DASH_DOC_STATEMENTS: {
		json_t *st = aledger_json_statements(a->led);
		/* the intervals export was limited in, with their estimated saving */
		if (st != NULL)
			json_object_set_new(st, "curtailed", actl_json_saved(a));
		return st;
	}
	case DASH_DOC_SETTINGS: {
		char text[64];
		policy_price_format(a->pol.min_base, a->pol.min_price_uper_kwh, text, sizeof(text));
		return json_pack("{s:I, s:s, s:s, s:I, s:b}", "min_price_uper_kwh",
		                 (json_int_t)a->pol.min_price_uper_kwh, "min_price_base",
		                 policy_base_name(a->pol.min_base), "min_price_text", text,
		                 "reserve_wh", (json_int_t)a->pol.reserve_wh, "auto_sell",
		                 a->auto_sell);
	}
	case DASH_DOC_TODAY:
		return doc_today(a);
	case DASH_DOC_OUTLOOK:
		return aoutlook_json(a);
	case DASH_DOC_PLAN:
		return abat_plan_json(a, agentd_now_ms(a));
	case DASH_DOC__COUNT:
	default:
		return NULL;
	}
}

static pw_err
adash_place_bid(void *ctx, const struct dash_bid *bid, uint64_t *seq_out, char *msg, size_t cap)
{
	static struct oview v[MAX_VIEWS];
	struct agentd *a = ctx;
	int64_t now = agentd_now_ms(a);
	uint64_t first = agentd_first_open(a, now), iv = bid->interval ? bid->interval : first;
	uint64_t cap_wh = (uint64_t)a->cfg.max_import_w * (uint64_t)a->cfg.interval_s / 3600;
	uint64_t ahead = agentd_ahead_ivs(a);
	size_t n;

	/* the range first, before any arithmetic on the interval */
	if (iv > first + ahead || bid->intervals > ahead ||
	    iv + bid->intervals - 1 > first + ahead) {
		snprintf(msg, cap,
		         "interval %llu is more than 24 h ahead (the exchange takes orders up to "
		         "interval %llu)",
		         (unsigned long long)(iv > first + ahead ? iv : iv + bid->intervals - 1),
		         (unsigned long long)(first + ahead));
		return PW_ERR_RANGE;
	}
	if (a->market_mismatch) {
		snprintf(msg, cap,
		         "not placed: this agent's market settings differ from the exchange's"
		         " (see the status at the top)");
		return PW_ERR_STATE;
	}
	if (iv < first) {
		snprintf(msg, cap, "interval %llu is closed; the next open one is %llu",
		         (unsigned long long)iv, (unsigned long long)first);
		return PW_ERR_STATE;
	}
	if (bid->qty_wh > cap_wh) {
		snprintf(msg, cap, "at most %llu Wh per interval (registered import capacity)",
		         (unsigned long long)cap_wh);
		return PW_ERR_RANGE;
	}
	/* each interval's limit in its own tariffs (the outlook's, else the
	 * HEARTBEAT's): never one the exchange refuses, never one above what
	 * the household typed */
	int32_t *limits = calloc(bid->intervals, sizeof(*limits));
	if (limits == NULL) {
		snprintf(msg, cap, "out of memory");
		return PW_ERR_NOMEM;
	}
	for (uint32_t k = 0; k < bid->intervals; k++) {
		struct policy_bounds b;
		enum aoutlook_src src = aoutlook_bounds(a, iv + k, &b);
		enum policy_base base = (enum policy_base)bid->price_base;
		char ivs[PW_FMT_LEN], fs[PW_FMT_LEN], rs[PW_FMT_LEN];
		pw_fmt_interval(iv + k, a->cfg.interval_s, ivs, sizeof(ivs));
		pw_fmt_price(b.feedin_uper_kwh, fs, sizeof(fs));
		pw_fmt_price(b.retail_uper_kwh, rs, sizeof(rs));
		if (base != POLICY_BASE_ABS && src == AOUTLOOK_SRC_NONE) {
			snprintf(
			    msg, cap,
			    "not placed: the tariffs are not known yet, so a price relative to "
			    "them has no value");
			free(limits);
			return PW_ERR_STATE;
		}
		if (base == POLICY_BASE_ABS && b.known &&
		    (bid->max_price_uper_kwh > b.retail_uper_kwh ||
		     bid->max_price_uper_kwh < b.feedin_uper_kwh)) {
			snprintf(
			    msg, cap,
			    "the price must be between the feed-in and the retail tariff (%s to "
			    "%s in interval %s)",
			    fs, rs, ivs);
			free(limits);
			return PW_ERR_RANGE;
		}
		if (!policy_bid_price(base, bid->max_price_uper_kwh, &b, &limits[k])) {
			snprintf(
			    msg, cap,
			    "not placed: in interval %s that price is below the feed-in tariff "
			    "(%s; retail %s)",
			    ivs, fs, rs);
			free(limits);
			return PW_ERR_RANGE;
		}
	}
	n = atrade_collect_orders(a, iv, iv + bid->intervals - 1, v, MAX_VIEWS);
	for (size_t i = 0; i < n; i++)
		if (v[i].side == PW_SIDE_SELL && atrade_is_open(&v[i])) {
			snprintf(msg, cap, "an offer to sell is open in interval %llu",
			         (unsigned long long)v[i].interval);
			free(limits);
			return PW_ERR_STATE;
		}
	for (uint32_t k = 0; k < bid->intervals; k++) {
		uint64_t seq;
		pw_err rc = atrade_place_order(a, PW_SIDE_BUY, iv + k, (uint32_t)bid->qty_wh,
		                               limits[k], TAG_MANUAL, &seq);
		if (rc != PW_OK) {
			snprintf(msg, cap, "cannot store the order: %s", pw_strerror(rc));
			free(limits);
			return rc;
		}
		if (k == 0)
			*seq_out = seq;
	}
	free(limits);
	if (aexch_reachable(a, now))
		snprintf(msg, cap, "bid stored; it is sent to the exchange now");
	else
		snprintf(msg, cap,
		         "bid queued, not yet at the exchange: the exchange is unreachable. It is"
		         " sent when the exchange is back, or marked missed if its gate passes"
		         " first");
	(void)dash_notify(a->dash, DASH_DOC_ORDERS);
	return PW_OK;
}

static pw_err
adash_cancel(void *ctx, uint64_t seq, char *msg, size_t cap)
{
	struct agentd *a = ctx;
	struct outbox_item it;
	struct pw_msg m;
	int64_t now = agentd_now_ms(a);

	if (outbox_get(a->ob, OUTBOX_ORDERS, seq, &it) != PW_OK || it.type != PW_MSG_ORDER ||
	    pw_wire_decode_stored(it.frame, it.len, &m) != PW_OK) {
		snprintf(msg, cap, "no order %llu", (unsigned long long)seq);
		return PW_ERR_NOTFOUND;
	}
	if (it.state == OUTBOX_REJECTED || it.state == OUTBOX_DROPPED ||
	    agentd_gate_ms(a, it.interval) - agentd_margin_ms(a) <= now) {
		snprintf(msg, cap, "order %llu is no longer open", (unsigned long long)seq);
		return PW_ERR_STATE;
	}
	if (aledger_order_tag(a->led, seq) == TAG_AUTOSELL)
		a->autosell_failed_iv_set = 0;
	pw_err rc = atrade_place_cancel(a, it.interval, seq);
	if (rc != PW_OK) {
		snprintf(msg, cap, "cannot store the cancel: %s", pw_strerror(rc));
		return rc;
	}
	(void)dash_notify(a->dash, DASH_DOC_ORDERS);
	return PW_OK;
}

static pw_err
adash_settings(void *ctx, const struct dash_settings *s, char *msg, size_t cap)
{
	struct agentd *a = ctx;
	char price[PW_FMT_LEN], tariff[PW_FMT_LEN];

	enum policy_base base = (enum policy_base)s->min_price_base;
	if (base == POLICY_BASE_RETAIL && s->min_price_uper_kwh > 0) {
		snprintf(msg, cap,
		         "a minimum above the retail tariff never sells: no neighbour pays more "
		         "than the grid charges");
		return PW_ERR_RANGE;
	}
	if (base == POLICY_BASE_FEEDIN && s->min_price_uper_kwh < 0) {
		snprintf(msg, cap,
		         "a minimum below the feed-in tariff: the grid pays that for your surplus "
		         "anyway");
		return PW_ERR_RANGE;
	}
	/* an absolute minimum against the tariffs in force now (a tariff of 0
	 * is unknown, aconfig.h) */
	if (base == POLICY_BASE_ABS && a->cfg.retail_uper_kwh != 0 &&
	    s->min_price_uper_kwh > a->cfg.retail_uper_kwh) {
		pw_fmt_price(a->cfg.retail_uper_kwh, tariff, sizeof(tariff));
		snprintf(msg, cap,
		         "the minimum price is above the retail tariff (%s):"
		         " no neighbour pays more than the grid charges",
		         tariff);
		return PW_ERR_RANGE;
	}
	/* the policy would offer at the feed-in tariff anyway (the exchange's
	 * ask floor): saying so beats storing a value that is silently raised.
	 * A feed-in tariff of 0 is unknown (aconfig.h); it may be negative. */
	if (base == POLICY_BASE_ABS && a->cfg.feedin_uper_kwh != 0 &&
	    s->min_price_uper_kwh < a->cfg.feedin_uper_kwh) {
		pw_fmt_price(a->cfg.feedin_uper_kwh, tariff, sizeof(tariff));
		snprintf(msg, cap,
		         "the minimum price is below the feed-in tariff (%s):"
		         " the grid pays that for your surplus anyway",
		         tariff);
		return PW_ERR_RANGE;
	}
	if (aledger_setting_set(a->led, "min_price_uper_kwh", s->min_price_uper_kwh) != PW_OK ||
	    aledger_setting_set(a->led, "min_price_base", (int64_t)base) != PW_OK ||
	    aledger_setting_set(a->led, "reserve_wh",
	                        s->reserve_wh > INT64_MAX ? INT64_MAX : (int64_t)s->reserve_wh) !=
	        PW_OK ||
	    aledger_setting_set(a->led, "auto_sell", s->auto_sell) != PW_OK) {
		snprintf(msg, cap, "cannot store the settings");
		return PW_ERR_DB;
	}
	a->pol.min_price_uper_kwh = s->min_price_uper_kwh;
	a->pol.min_base = base;
	a->pol.reserve_wh = s->reserve_wh;
	a->auto_sell = s->auto_sell;
	policy_price_format(base, s->min_price_uper_kwh, price, sizeof(price));
	log_info("settings: min price %s, reserve %llu Wh, auto-sell %s", price,
	         (unsigned long long)s->reserve_wh, s->auto_sell ? "on" : "off");
	a->next_trade_ms = 0;
	return PW_OK;
}

static void
adash_metrics(void *ctx, FILE *out)
{
	struct agentd *a = ctx;
	uint64_t pending = 0;
	CHECKED(outbox_count(a->ob, OUTBOX_PENDING, &pending));
	fprintf(out,
	        "# TYPE peerwatt_agent_outbox_pending gauge\npeerwatt_agent_outbox_pending %llu\n"
	        "peerwatt_agent_polls_total %lu\npeerwatt_agent_poll_errors_total %lu\n"
	        "peerwatt_agent_readings_total %lu\npeerwatt_agent_orders_total %lu\n"
	        "peerwatt_agent_proofs_verified_total %lu\npeerwatt_agent_proofs_failed_total %lu\n"
	        "peerwatt_agent_forks_total %lu\npeerwatt_agent_statement_mismatches_total %lu\n",
	        (unsigned long long)pending, a->polls, a->poll_errors, a->readings, a->orders,
	        a->proofs_ok, a->proofs_failed, a->forks, a->mismatches);
	fprintf(
	    out,
	    "# TYPE peerwatt_agent_readings_unstored gauge\npeerwatt_agent_readings_unstored %zu\n"
	    "peerwatt_agent_readings_lost_total %lu\n",
	    a->n_pending, a->readings_dropped);
	/* both exchange sockets re-created after a dead link (xlink_tick) */
	fprintf(out, "peerwatt_agent_exchange_reconnects_total %lu\n", xlink_stats(a->xl)->relinks);
	/* the device input checks (docs/agent.md "Meter samples that cannot
	 * poison", "Threads") */
	fprintf(out,
	        "peerwatt_agent_meter_samples_refused_total %llu\n"
	        "peerwatt_agent_meter_rebased_total %llu\n"
	        "peerwatt_agent_forecast_refused_total %llu\n"
	        "peerwatt_agent_forecast_outliers_total %llu\n"
	        "peerwatt_agent_device_samples_dropped_total %lu\n",
	        (unsigned long long)a->mc.rejected, (unsigned long long)a->mc.rebased,
	        (unsigned long long)a->fc.n_rejected, (unsigned long long)a->fc.n_outliers,
	        a->dp != NULL ? devpoll_dropped(a->dp) : 0ul);
	abat_metrics(a, out); /* the battery's state of charge and plan (none without one) */
	/* the price outlook (docs/agent-energy.md "Price outlook"): its rules
	 * and age, changes taken and outlooks refused */
	fprintf(out,
	        "# TYPE peerwatt_agent_outlook_rules gauge\npeerwatt_agent_outlook_rules %zu\n"
	        "peerwatt_agent_outlook_changes_total %llu\n"
	        "peerwatt_agent_outlook_refused_total %lu\n",
	        a->aol.ol.n, (unsigned long long)a->aol.ol.changes, a->aol.refused);
	if (a->aol.ol.rx_ms != 0)
		fprintf(out,
		        "# TYPE peerwatt_agent_outlook_age_seconds gauge\n"
		        "peerwatt_agent_outlook_age_seconds %lld\n",
		        (long long)((agentd_now_ms(a) - a->aol.ol.rx_ms) / 1000));
	actl_metrics(a, out); /* curtailment: limiting now, intervals limited */
	/* one gauge per status code, so an alert can name the cause */
	fprintf(out, "# TYPE peerwatt_agent_problem gauge\n");
	for (int c = 0; c < ASTATUS__COUNT; c++)
		fprintf(out, "peerwatt_agent_problem{code=\"%s\"} %d\n",
		        astatus_code_name((enum astatus_code)c),
		        astatus_has(a, (enum astatus_code)c));
}

void
adash_start(struct agentd *a)
{
	struct dash_ops ops = {
		a,          adash_get, adash_place_bid, adash_cancel, adash_settings, adash_metrics,
		adash_older
	};
	struct dash_config dc;
	char addr[64], msg[256];
	uint16_t port;

	if (!a->cfg.dash_enabled)
		return;
	if (dash_listen_parse(a->cfg.dash_listen, addr, sizeof(addr), &port) != PW_OK) {
		log_error("dashboard: bad listen address %s", a->cfg.dash_listen);
		return;
	}
	memset(&dc, 0, sizeof(dc));
	dc.bind_addr = addr;
	dc.port = port;
	dc.web_root = a->cfg.dash_web_root;
	dc.token = a->cfg.dash_token[0] ? a->cfg.dash_token : NULL;
	if (dash_new(&dc, &ops, &a->dash, msg, sizeof(msg)) != PW_OK) {
		log_error("dashboard not started: %s", msg);
		a->dash = NULL;
		return;
	}
	log_info("dashboard on http://%s:%u/", addr, dash_port(a->dash));
}
