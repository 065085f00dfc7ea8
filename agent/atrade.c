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
		         tag == TAG_AUTOSELL ? " (auto)" : "");
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

static void
trade_interval(struct agentd *a, uint64_t iv, uint64_t horizon, struct oview *v, size_t n)
{
	const struct oview *sell = NULL;
	int buy_open = 0, auto_rejected = 0;
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
		if (v[i].side == PW_SIDE_SELL && atrade_is_open(&v[i]))
			sell = &v[i];
		if (v[i].side == PW_SIDE_BUY && atrade_is_open(&v[i]))
			buy_open = 1;
		if (v[i].side == PW_SIDE_SELL && tag == TAG_AUTOSELL &&
		    v[i].state == OUTBOX_REJECTED)
			auto_rejected = 1;
	}
	if (a->auto_sell && !buy_open && !auto_rejected) {
		/* only the firm part of the forecast, and nothing at all while the
		 * household cannot deliver: an open offer is then cancelled */
		struct policy_offer want = {
			a->sell_block == POLICY_SELL_OK ? policy_offer_qty(&a->pol, firm) : 0, 0
		};
		struct policy_offer open = { 0, 0 };
		if (want.qty_wh > 0) {
			int32_t last;
			int have_last = aledger_last_price(a->led, &last);
			/* no offer where the household's lowest price is above
			 * the interval's retail tariff (or has no value) */
			if (!policy_offer_price(&a->pol, &bounds, have_last, last,
			                        &want.price_uper_kwh)) {
				want.qty_wh = 0;
				note_skip(a, iv, "offer", src);
			} else if (src != AOUTLOOK_SRC_OUTLOOK &&
			           (a->pol.strategy == POLICY_PRICE_FIXED
			                ? a->pol.fixed_base
			                : a->pol.min_base) != POLICY_BASE_ABS) {
				note_fallback(a, iv, src);
			}
		}
		if (sell != NULL) {
			open.qty_wh = sell->qty_wh;
			open.price_uper_kwh = sell->price_uper_kwh;
		}
		switch (policy_decide(&a->pol, &open, &want)) {
		case POLICY_PLACE:
			(void)atrade_place_order(a, PW_SIDE_SELL, iv, want.qty_wh,
			                         want.price_uper_kwh, TAG_AUTOSELL, NULL);
			return;
		case POLICY_CANCEL:
			(void)atrade_place_cancel(a, iv, sell->seq);
			return;
		case POLICY_REPLACE:
			if (atrade_place_cancel(a, iv, sell->seq) == PW_OK)
				(void)atrade_place_order(a, PW_SIDE_SELL, iv, want.qty_wh,
				                         want.price_uper_kwh, TAG_AUTOSELL, NULL);
			return;
		case POLICY_KEEP:
		default:
			if (sell != NULL || want.qty_wh > 0)
				return;
		}
	}
	if (sell != NULL)
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
