/*
 * atrade.c: the agent's trading (see agentd_int.h, docs/agent.md
 * "Trading").  Owns placing orders and cancels (signed into the outbox), the
 * outbox seen as a list of own orders, and the per-interval decision: the
 * auto-sell offer (forecast + policy: place, keep, cancel, replace) and the
 * standing bids.  Called by the loop in agentd.c (atrade_run) and by the
 * dashboard's actions in adash.c.
 */
#include <string.h>

#include "agent/agentd_int.h"
#include "agent/bplan.h"
#include "peerwatt/fmt.h"

pw_err
atrade_place_order(struct agentd *a, uint8_t side, uint64_t iv, uint32_t qty_wh, int32_t price,
                   int tag, uint64_t *seq_out)
{
	struct agentd_signer s;
	uint64_t seq;
	pw_err rc;

	memset(&s, 0, sizeof(s));
	s.a = a;
	s.m.type = PW_MSG_ORDER;
	s.m.u.order.interval = iv;
	/* valid until the interval ends: the auction runs at the gate */
	s.m.u.order.expiry_s = (iv + 1) * (uint64_t)a->cfg.interval_s;
	s.m.u.order.qty_wh = qty_wh;
	s.m.u.order.price_uper_kwh = price;
	s.m.u.order.side = side;
	if ((rc = outbox_add(a->ob, OUTBOX_ORDERS, agentd_sign_cb, &s, &seq)) != PW_OK) {
		log_warnx("cannot store an order: %s", pw_strerror(rc));
		return rc;
	}
	if (aledger_tag_order(a->led, seq, tag) != PW_OK)
		log_warnx("cannot tag order %llu", (unsigned long long)seq);
	a->orders++;
	a->next_pump_ms = 0;
	{
		char ivs[PW_FMT_LEN], ps[PW_FMT_LEN];
		pw_fmt_interval(iv, a->cfg.interval_s, ivs, sizeof(ivs));
		pw_fmt_price(price, ps, sizeof(ps));
		log_info("order %llu: %s %u Wh at %s for interval %s%s", (unsigned long long)seq,
		         side == PW_SIDE_SELL ? "sell" : "buy", qty_wh, ps, ivs,
		         tag == TAG_AUTOSELL  ? " (auto)"
		         : tag == TAG_BATTERY ? " (battery)"
		                              : "");
	}
	if (seq_out != NULL)
		*seq_out = seq;
	return PW_OK;
}

pw_err
atrade_place_cancel(struct agentd *a, uint64_t iv, uint64_t order_seq)
{
	struct agentd_signer s;
	uint64_t seq;
	pw_err rc;

	memset(&s, 0, sizeof(s));
	s.a = a;
	s.m.type = PW_MSG_CANCEL;
	s.m.u.cancel.interval = iv;
	s.m.u.cancel.order_seq = order_seq;
	if ((rc = outbox_add(a->ob, OUTBOX_ORDERS, agentd_sign_cb, &s, &seq)) != PW_OK) {
		log_warnx("cannot store a cancel: %s", pw_strerror(rc));
		return rc;
	}
	a->cancels++;
	a->next_pump_ms = 0;
	{
		char ivs[PW_FMT_LEN];
		pw_fmt_interval(iv, a->cfg.interval_s, ivs, sizeof(ivs));
		log_info("cancel %llu of order %llu (interval %s)", (unsigned long long)seq,
		         (unsigned long long)order_seq, ivs);
	}
	return PW_OK;
}

/* ---- the outbox as a list of orders --------------------------------- */

struct collect {
	struct oview *v;
	size_t n, cap;
	uint64_t max_iv;
};

static int
collect_cb(void *ctx, const struct outbox_item *it)
{
	struct collect *c = ctx;
	struct pw_msg m;

	if (it->interval > c->max_iv)
		return 0;
	if (pw_wire_decode_stored(it->frame, it->len, &m) != PW_OK)
		return 0;
	if (m.type == PW_MSG_ORDER && c->n < c->cap) {
		struct oview *o = &c->v[c->n++];
		memset(o, 0, sizeof(*o));
		o->seq = it->seq;
		o->interval = it->interval;
		o->side = m.u.order.side;
		o->qty_wh = m.u.order.qty_wh;
		o->price_uper_kwh = m.u.order.price_uper_kwh;
		o->state = it->state;
		o->reason = it->reason;
		o->proof = it->proof;
	} else if (m.type == PW_MSG_CANCEL &&
	           (it->state == OUTBOX_PENDING || it->state == OUTBOX_ACKED)) {
		for (size_t i = 0; i < c->n; i++)
			if (c->v[i].seq == m.u.cancel.order_seq)
				c->v[i].cancelled = 1;
	}
	return 0;
}

size_t
atrade_collect_orders(struct agentd *a, uint64_t min_iv, uint64_t max_iv, struct oview *v,
                      size_t cap)
{
	struct collect c = { v, 0, cap, max_iv };
	if (outbox_foreach(a->ob, OUTBOX_ORDERS, min_iv, collect_cb, &c) != PW_OK)
		log_warnx("cannot read the outbox");
	return c.n;
}

int
atrade_is_open(const struct oview *o)
{
	return !o->cancelled && (o->state == OUTBOX_PENDING || o->state == OUTBOX_ACKED);
}

/* ---- trading -------------------------------------------------------- */

/* An interval whose offer or bid is not made under its tariffs: logged
 * once per interval (the decision runs every second). */
static void
note_skip(struct agentd *a, uint64_t iv, const char *what, enum aoutlook_src src)
{
	char ivs[PW_FMT_LEN];

	/* the intervals come in ascending order, each turn from the first open */
	if (iv <= a->skip_note_iv)
		return;
	a->skip_note_iv = iv;
	pw_fmt_interval(iv, a->cfg.interval_s, ivs, sizeof(ivs));
	if (src == AOUTLOOK_SRC_NONE)
		log_info("interval %s: no %s%s: its price is relative to tariffs not known yet",
		         ivs, strcmp(what, "offer") == 0 ? "" : "bid ", what);
	else
		log_info("interval %s: no %s%s: its price lies outside the interval's tariffs (%s)",
		         ivs, strcmp(what, "offer") == 0 ? "" : "bid ", what,
		         src == AOUTLOOK_SRC_OUTLOOK ? "price outlook"
		                                     : "no outlook for it: the current tariffs");
}

/* A relative price evaluated in the current tariffs for lack of an
 * outlook for its interval: said once per interval. */
static void
note_fallback(struct agentd *a, uint64_t iv, enum aoutlook_src src)
{
	char ivs[PW_FMT_LEN];

	if (iv <= a->fallback_note_iv)
		return;
	a->fallback_note_iv = iv;
	pw_fmt_interval(iv, a->cfg.interval_s, ivs, sizeof(ivs));
	log_info("interval %s: no price outlook for it; relative prices use the %s tariffs", ivs,
	         src == AOUTLOOK_SRC_HEARTBEAT ? "exchange's current" : "configured");
}

/* A sell step of the plan that is not offered although nothing blocks
 * it: said once per interval. */
static void
note_bat_skip(struct agentd *a, uint64_t iv, const char *why)
{
	char ivs[PW_FMT_LEN];

	if (iv <= a->bat_note_iv)
		return;
	a->bat_note_iv = iv;
	pw_fmt_interval(iv, a->cfg.interval_s, ivs, sizeof(ivs));
	log_info("interval %s: no offer of stored energy: %s", ivs, why);
}

/* Carries out `act` on the sell offer `open` (NULL: none) towards `want`. */
static pw_err
carry_out(struct agentd *a, uint64_t iv, enum policy_action act, const struct oview *open,
          const struct policy_offer *want, int tag)
{
	pw_err rc;

	switch (act) {
	case POLICY_PLACE:
		return atrade_place_order(a, PW_SIDE_SELL, iv, want->qty_wh, want->price_uper_kwh,
		                          tag, NULL);
	case POLICY_CANCEL:
		return atrade_place_cancel(a, iv, open->seq);
	case POLICY_REPLACE:
		if ((rc = atrade_place_cancel(a, iv, open->seq)) != PW_OK)
			return rc;
		return atrade_place_order(a, PW_SIDE_SELL, iv, want->qty_wh, want->price_uper_kwh,
		                          tag, NULL);
	case POLICY_KEEP:
	default:
		return PW_OK;
	}
}

/*
 * The household's sell offers of one interval: the PV's (auto-sell) and
 * the battery's (the plan's sell step), [0] and [1] of open/want.  1 when
 * an offer is open or wanted (the household is a seller there: no bid).
 */
static int
sell_interval(struct agentd *a, uint64_t iv, uint64_t firm, const struct policy_bounds *bounds,
              enum aoutlook_src src, const struct oview *ov[2], const int rejected[2])
{
	static const int tags[2] = { TAG_AUTOSELL, TAG_BATTERY };
	struct policy_offer open[2] = { { 0, 0 }, { 0, 0 } }, want[2] = { { 0, 0 }, { 0, 0 } };
	const struct bplan_step *st = abat_step(a, iv);
	struct policy_bstep bs;
	enum policy_action act[2];
	int32_t ask = 0, last;
	int have_last = aledger_last_price(a->led, &last), first;
	int have_ask = policy_offer_price(&a->pol, bounds, have_last, last, &ask);
	int bat_ok = a->bat_block_set && a->bat_block == POLICY_SELL_OK;

	/* only the firm part of the forecast, and nothing at all while the
	 * household cannot deliver: an open offer is then cancelled */
	want[0].qty_wh = a->sell_block == POLICY_SELL_OK ? policy_offer_qty(&a->pol, firm) : 0;
	if (want[0].qty_wh > 0) {
		/* no offer where the household's lowest price is above the
		 * interval's retail tariff (or has no value) */
		if (!have_ask) {
			want[0].qty_wh = 0;
			note_skip(a, iv, "offer", src);
		} else {
			want[0].price_uper_kwh = ask;
			if (src != AOUTLOOK_SRC_OUTLOOK &&
			    (a->pol.strategy == POLICY_PRICE_FIXED
			         ? a->pol.fixed_base
			         : a->pol.min_base) != POLICY_BASE_ABS)
				note_fallback(a, iv, src);
		}
	}
	if (st != NULL) {
		bs.sell_wh = st->sell_wh;
		bs.charge_wh = st->charge_wh;
		bs.keep_uper_kwh = st->keep_uper_kwh;
	}
	policy_battery_offers(&a->pol, bounds, st != NULL ? &bs : NULL, bat_ok, have_ask, ask,
	                      &want[0], &want[1]);
	if (st != NULL && st->sell_wh > 0 && bat_ok && want[1].qty_wh == 0)
		note_bat_skip(a, iv,
		              !bounds->known ? "the interval's tariffs are not known yet"
		              : !have_ask
		                  ? "the household's lowest price has no value in its tariffs"
		                  : "keeping it is worth more than the interval's retail tariff");
	for (int i = 0; i < 2; i++) {
		if (ov[i] != NULL) {
			open[i].qty_wh = ov[i]->qty_wh;
			open[i].price_uper_kwh = ov[i]->price_uper_kwh;
		}
		/* the exchange refused one in this interval: not tried again
		 * (it would refuse the next one too) */
		if (rejected[i])
			want[i] = open[i];
	}
	if ((uint64_t)want[0].qty_wh + want[1].qty_wh > a->pol.capacity_wh) {
		int k = rejected[1] ? 0 : 1; /* the one left to move */
		uint64_t room =
		    a->pol.capacity_wh > want[!k].qty_wh ? a->pol.capacity_wh - want[!k].qty_wh : 0;
		if (want[k].qty_wh > room)
			want[k].qty_wh = (uint32_t)room;
	}
	policy_decide_pair(&a->pol, open, want, act, &first);
	/* the second only when the first is done: it may need its room */
	if (carry_out(a, iv, act[first], ov[first], &want[first], tags[first]) == PW_OK)
		(void)carry_out(a, iv, act[!first], ov[!first], &want[!first], tags[!first]);
	return ov[0] != NULL || ov[1] != NULL || want[0].qty_wh > 0 || want[1].qty_wh > 0;
}

static void
trade_interval(struct agentd *a, uint64_t iv, uint64_t horizon, struct oview *v, size_t n)
{
	const struct oview *sell[2] = { NULL, NULL }; /* open: PV (auto-sell), battery */
	int buy_open = 0, rejected[2] = { 0, 0 };
	uint32_t tod = agentd_iv_tod(a, iv);
	uint64_t f = forecast_export_wh(&a->fc, tod, (uint32_t)horizon);
	uint64_t firm = forecast_firm_wh(&a->fc, tod, (uint32_t)horizon);
	struct fc_note *fn = &a->fc_notes[iv % FC_NOTES];
	struct policy_bounds bounds;
	/* the interval's own tariffs: from the outlook, else the HEARTBEAT's */
	enum aoutlook_src src = aoutlook_bounds(a, iv, &bounds);

	/* the last one before the gate stays: logged with the measured export */
	fn->set = 1;
	fn->interval = iv;
	fn->forecast_wh = f;
	fn->firm_wh = firm;
	fn->horizon = (uint32_t)horizon;

	for (size_t i = 0; i < n; i++) {
		if (v[i].interval != iv)
			continue;
		int tag = aledger_order_tag(a->led, v[i].seq);
		int k = tag == TAG_BATTERY;
		if (v[i].side == PW_SIDE_SELL && atrade_is_open(&v[i]))
			sell[k] = &v[i];
		if (v[i].side == PW_SIDE_BUY && atrade_is_open(&v[i]))
			buy_open = 1;
		if (v[i].side == PW_SIDE_SELL && (tag == TAG_AUTOSELL || tag == TAG_BATTERY) &&
		    v[i].state == OUTBOX_REJECTED)
			rejected[k] = 1;
	}
	if (a->auto_sell && !buy_open && sell_interval(a, iv, firm, &bounds, src, sell, rejected))
		return;
	if (sell[0] != NULL || sell[1] != NULL)
		return; /* one side per household per interval */
	for (size_t k = 0; k < a->cfg.n_bids; k++) {
		const struct policy_bid *b = &a->cfg.bids[k].bid;
		int placed = 0;
		if (!policy_bid_active(b, tod))
			continue;
		for (size_t i = 0; i < n; i++)
			if (v[i].interval == iv && v[i].side == PW_SIDE_BUY &&
			    aledger_order_tag(a->led, v[i].seq) == TAG_BID0 + (int)k)
				placed = 1;
		if (placed)
			continue;
		int32_t limit;
		if (!policy_bid_price(b->max_base, b->max_price_uper_kwh, &bounds, &limit)) {
			note_skip(a, iv, a->cfg.bids[k].name, src);
			continue;
		}
		if (src != AOUTLOOK_SRC_OUTLOOK && b->max_base != POLICY_BASE_ABS)
			note_fallback(a, iv, src);
		(void)atrade_place_order(a, PW_SIDE_BUY, iv, b->qty_wh, limit, TAG_BID0 + (int)k,
		                         NULL);
	}
}

/* Whether the household can back an offer of stored energy
 * (policy_battery_block), logged once per change where the battery is
 * under the agent's control. */
static void
bat_block_update(struct agentd *a, enum policy_block b)
{
	if (a->bat_block_set && b == a->bat_block)
		return;
	if (a->auto_sell && a->cfg.battery_control) {
		switch (b) {
		case POLICY_SELL_OK:
			if (a->bat_block_set)
				log_info("offers of stored energy resumed");
			break;
		case POLICY_SELL_BATTERY_FAILED:
			log_warnx(
			    "offers of stored energy paused: the battery's setpoint is not in "
			    "force; open ones are withdrawn");
			break;
		case POLICY_SELL_SOC_UNKNOWN:
			log_info("offers of stored energy paused: the battery's state of charge is "
			         "not known");
			break;
		default:
			log_warnx("offers of stored energy paused: %s; open ones are withdrawn",
			          policy_block_name(b));
			break;
		}
	}
	a->bat_block = b;
	a->bat_block_set = 1;
}

/* Whether the household can deliver at all (policy_sell_block), logged
 * once per change. */
static void
sell_block_update(struct agentd *a, int64_t now)
{
	struct policy_supply sup;
	enum policy_block b;

	memset(&sup, 0, sizeof(sup));
	/* no meter model: no reading can be signed, nothing is delivered */
	sup.device_ok = ameter_reachable(a, now) && ameter_has_meter(a);
	sup.has_pv = a->has_pv;
	sup.pv_w = (int64_t)a->pv_w;
	sup.have_last = a->fc.have_last;
	sup.last_export_wh = a->fc.last_wh > 0 ? (uint64_t)a->fc.last_wh : 0;
	sup.meter_suspect = a->meter_suspect;
	sup.battery = a->have_rd && a->rd.storage.present;
	sup.battery_failed = astatus_has(a, ASTATUS_BATTERY_FAILED);
	sup.soc_known = a->have_rd && a->rd.storage.present && a->rd.storage.has_soc;
	bat_block_update(a, policy_battery_block(&sup));
	b = policy_sell_block(&sup);
	if (a->sell_block_set && b == a->sell_block)
		return;
	if (a->auto_sell) {
		switch (b) {
		case POLICY_SELL_DEVICE_DOWN:
			log_warnx("auto-sell paused: device unreachable (%s); open offers are "
			          "withdrawn until it answers",
			          a->dev_detail[0] != '\0' ? a->dev_detail : a->cfg.modbus);
			break;
		case POLICY_SELL_METER_FAULT:
			log_warnx(
			    "auto-sell paused: the meter's samples are refused as implausible; "
			    "open offers are withdrawn until they agree again");
			break;
		case POLICY_SELL_NO_SUPPLY:
			log_info("auto-sell paused: no production (PV %.0f W, the last interval "
			         "exported nothing)",
			         a->pv_w);
			break;
		case POLICY_SELL_OK:
		default:
			if (a->sell_block_set)
				log_info("auto-sell resumed");
			break;
		}
	}
	a->sell_block = b;
	a->sell_block_set = 1;
}

void
atrade_run(struct agentd *a, int64_t now)
{
	static struct oview v[MAX_VIEWS];
	uint64_t first = agentd_first_open(a, now);
	uint64_t last = first + (uint64_t)a->cfg.horizon - 1;
	size_t n;

	if (a->market_mismatch)
		return; /* astatus says so; the exchange would refuse or misplace them */
	n = atrade_collect_orders(a, first, last, v, MAX_VIEWS);

	sell_block_update(a, now);
	for (uint64_t iv = first; iv <= last; iv++) {
		uint64_t h = a->have_fc_iv && iv > a->fc_last_iv ? iv - a->fc_last_iv : 1;
		trade_interval(a, iv, h, v, n);
	}
}
