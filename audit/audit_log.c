/*
 * audit_log.c: the one pass over table log in index order: leaf and root,
 * signatures, the entry rules, every auction and statement replayed
 * (docs/audit.md section 6).
 */
#include "audit/audit_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules/auction.h"
#include "rules/validate.h"
#include "peerwatt/money.h"

/* --- entries ------------------------------------------------------------------------- */

static void
on_order(struct audit *a, uint64_t idx, const struct pw_msg *m)
{
	const struct pw_order *o = &m->u.order;
	struct hh *h;
	struct ivl *v;
	const char *id;

	a->r->orders++;
	if ((h = audit_rules_household(a, idx, m)) == NULL)
		return;
	id = h->label;
	if (o->seq <= h->last_seq) {
		FAIL_ENTRY(a, idx, m->type, "sequence %llu of %s is not above %llu",
		           (unsigned long long)o->seq, id, (unsigned long long)h->last_seq);
		return;
	}
	h->last_seq = o->seq;
	if (audit_ivl_get(a, o->interval, &v) != PW_OK) {
		FAIL_ENTRY(a, idx, m->type, "out of memory");
		return;
	}
	if (v->next_part > 0) {
		FAIL_ENTRY(a, idx, m->type, "order for interval %llu logged after its RESULT",
		           (unsigned long long)o->interval);
		return;
	}
	if (o->qty_wh == 0) {
		FAIL_ENTRY(a, idx, m->type, "zero quantity");
		return;
	}
	const struct arules *rules = audit_rules_for(a, o->interval);
	if (o->price_uper_kwh < rules->feedin_uper_kwh ||
	    o->price_uper_kwh > rules->retail_uper_kwh) {
		FAIL_ENTRY(a, idx, m->type,
		           "price %d outside [%d, %d], the tariffs of MARKET entry %llu",
		           o->price_uper_kwh, rules->feedin_uper_kwh, rules->retail_uper_kwh,
		           (unsigned long long)rules->idx);
		return;
	}
	uint32_t hi = (uint32_t)(h - a->hhs);
	uint64_t same = 0;
	for (size_t i = 0; i < v->n_orders; i++) {
		const struct aorder *p = &v->orders[i];
		if (p->hh != hi || p->cancelled)
			continue;
		if (p->side != o->side) {
			FAIL_ENTRY(
			    a, idx, m->type,
			    "%s has an open order of the other side in interval %llu (self-trade)",
			    id, (unsigned long long)o->interval);
			return;
		}
		same += p->qty_wh;
	}
	uint64_t cap = validate_capacity_wh(
	    o->side == PW_SIDE_SELL ? h->max_export_w : h->max_import_w, a->interval_s);
	if (same + o->qty_wh > cap) {
		FAIL_ENTRY(a, idx, m->type,
		           "open quantity %llu Wh above the capacity %llu Wh of %s (REGISTRY "
		           "entry %llu)",
		           (unsigned long long)(same + o->qty_wh), (unsigned long long)cap, id,
		           (unsigned long long)h->reg_idx);
		return;
	}
	if (audit_grow((void **)&v->orders, &v->cap_orders, v->n_orders + 1, sizeof(*v->orders)) !=
	    PW_OK) {
		FAIL_ENTRY(a, idx, m->type, "too many orders");
		return;
	}
	if (v->first_order_idx == UINT64_MAX)
		v->first_order_idx = idx;
	v->orders[v->n_orders++] = (struct aorder){ .idx = idx,
		                                    .hh = hi,
		                                    .seq = o->seq,
		                                    .expiry_s = o->expiry_s,
		                                    .qty_wh = o->qty_wh,
		                                    .price_uper_kwh = o->price_uper_kwh,
		                                    .side = o->side };
}

static void
on_cancel(struct audit *a, uint64_t idx, const struct pw_msg *m)
{
	const struct pw_cancel *c = &m->u.cancel;
	struct hh *h;
	const char *id;

	a->r->cancels++;
	if ((h = audit_rules_household(a, idx, m)) == NULL)
		return;
	id = h->label;
	if (c->seq <= h->last_seq) {
		FAIL_ENTRY(a, idx, m->type, "sequence %llu of %s is not above %llu",
		           (unsigned long long)c->seq, id, (unsigned long long)h->last_seq);
		return;
	}
	h->last_seq = c->seq;
	struct ivl *v = audit_ivl_find(a, c->interval, NULL);
	uint32_t hi = (uint32_t)(h - a->hhs);
	struct aorder *target = NULL;
	for (size_t i = 0; v != NULL && i < v->n_orders && target == NULL; i++)
		if (v->orders[i].hh == hi && v->orders[i].seq == c->order_seq)
			target = &v->orders[i];
	if (target == NULL || target->cancelled) {
		FAIL_ENTRY(a, idx, m->type, "cancels no open order (%s seq %llu, interval %llu)",
		           id, (unsigned long long)c->order_seq, (unsigned long long)c->interval);
		return;
	}
	if (v->next_part > 0) {
		FAIL_ENTRY(a, idx, m->type, "cancel logged after the RESULT of interval %llu",
		           (unsigned long long)c->interval);
		return;
	}
	target->cancelled = 1;
}

static void
on_meter(struct audit *a, uint64_t idx, const struct pw_msg *m)
{
	const struct pw_meter *r = &m->u.meter;
	struct hh *h;
	struct ivl *v;
	const char *id;

	a->r->readings++;
	if ((h = audit_rules_household(a, idx, m)) == NULL)
		return;
	id = h->label;
	if (memcmp(r->serial, h->serial, PW_SERIAL_LEN) != 0) {
		char got[PW_SERIAL_LEN + 1], want[PW_SERIAL_LEN + 1];
		memcpy(got, r->serial, PW_SERIAL_LEN);
		memcpy(want, h->serial, PW_SERIAL_LEN);
		got[PW_SERIAL_LEN] = want[PW_SERIAL_LEN] = '\0';
		FAIL_ENTRY(a, idx, m->type,
		           "meter serial %s of %s is not %s, the one of REGISTRY entry %llu", got,
		           id, want, (unsigned long long)h->reg_idx);
		audit_plain(a,
		            "Log entry %llu is a meter reading of %s from meter %s, but the "
		            "registry in the log (entry %llu) names meter %s for that household.",
		            (unsigned long long)idx, id, got, (unsigned long long)h->reg_idx, want);
		return;
	}
	if (r->seq != h->meter_seq + 1) {
		FAIL_ENTRY(a, idx, m->type, "reading sequence %llu of %s, expected %llu",
		           (unsigned long long)r->seq, id, (unsigned long long)(h->meter_seq + 1));
		return;
	}
	if (r->export_end_wh < r->export_start_wh || r->import_end_wh < r->import_start_wh) {
		FAIL_ENTRY(a, idx, m->type, "a register of %s goes back within the interval", id);
		return;
	}
	if (h->meter_seq > 0) {
		if (r->interval <= h->meter_interval || r->export_start_wh < h->export_end_wh ||
		    r->import_start_wh < h->import_end_wh) {
			FAIL_ENTRY(a, idx, m->type, "reading of %s goes back from its previous one",
			           id);
			return;
		}
		if (r->interval == h->meter_interval + 1 &&
		    (r->export_start_wh != h->export_end_wh ||
		     r->import_start_wh != h->import_end_wh)) {
			FAIL_ENTRY(a, idx, m->type,
			           "start registers of %s are not the previous interval's end", id);
			return;
		}
	}
	uint64_t dexp = r->export_end_wh - r->export_start_wh;
	uint64_t dimp = r->import_end_wh - r->import_start_wh;
	if (dexp > validate_meter_max_wh(h->max_export_w, a->interval_s) ||
	    dimp > validate_meter_max_wh(h->max_import_w, a->interval_s)) {
		FAIL_ENTRY(a, idx, m->type,
		           "reading of %s above max power x interval (REGISTRY entry %llu)", id,
		           (unsigned long long)h->reg_idx);
		return;
	}
	if (audit_ivl_get(a, r->interval, &v) != PW_OK) {
		FAIL_ENTRY(a, idx, m->type, "out of memory");
		return;
	}
	uint32_t hi = (uint32_t)(h - a->hhs);
	for (size_t i = 0; i < v->n_readings; i++)
		if (v->readings[i].hh == hi) {
			FAIL_ENTRY(a, idx, m->type, "second reading of %s for interval %llu", id,
			           (unsigned long long)r->interval);
			return;
		}
	if (audit_grow((void **)&v->readings, &v->cap_readings, v->n_readings + 1,
	               sizeof(*v->readings)) != PW_OK) {
		FAIL_ENTRY(a, idx, m->type, "too many readings");
		return;
	}
	v->readings[v->n_readings++] = (struct areading){ idx, hi, dexp, dimp };
	h->meter_seq = r->seq;
	h->meter_interval = r->interval;
	h->export_end_wh = r->export_end_wh;
	h->import_end_wh = r->import_end_wh;
}

static void
replay_auction(struct audit *a, struct ivl *v, uint64_t idx)
{
	struct auction_order *in;
	size_t *map, n = 0;
	struct auction_result res = { 0 };

	in = calloc(v->n_orders ? v->n_orders : 1, sizeof(*in));
	map = calloc(v->n_orders ? v->n_orders : 1, sizeof(*map));
	if (in == NULL || map == NULL) {
		free(in);
		free(map);
		FAIL_ENTRY(a, idx, PW_MSG_RESULT, "out of memory");
		return;
	}
	/* orders that expire at or before gate closure close unfilled */
	__int128 gate_time = (__int128)v->interval * a->interval_s - a->gate_s;
	for (size_t i = 0; i < v->n_orders; i++) {
		if (v->orders[i].cancelled || (__int128)v->orders[i].expiry_s <= gate_time)
			continue;
		in[n] = (struct auction_order){ .arrival = v->orders[i].idx,
			                        .qty_wh = v->orders[i].qty_wh,
			                        .price_uper_kwh = v->orders[i].price_uper_kwh,
			                        .side = v->orders[i].side };
		map[n++] = i;
	}
	pw_err rc = auction_clear(in, n, &res);
	if (rc != PW_OK) {
		FAIL_ENTRY(a, idx, PW_MSG_RESULT, "auction replay failed: %s", pw_strerror(rc));
		goto out;
	}
	if (res.price_uper_kwh != v->price_uper_kwh || res.volume_wh != v->volume_wh) {
		FAIL_ENTRY(
		    a, idx, PW_MSG_RESULT,
		    "interval %llu: price %d and volume %llu Wh, the replay gives %d and %llu Wh",
		    (unsigned long long)v->interval, v->price_uper_kwh,
		    (unsigned long long)v->volume_wh, res.price_uper_kwh,
		    (unsigned long long)res.volume_wh);
		goto out;
	}
	if (res.n_trades != v->n_trades) {
		FAIL_ENTRY(a, idx, PW_MSG_RESULT, "interval %llu: %zu trades, the replay gives %zu",
		           (unsigned long long)v->interval, v->n_trades, res.n_trades);
		goto out;
	}
	for (size_t i = 0; i < res.n_trades; i++) {
		const struct aorder *b = &v->orders[map[res.trades[i].buy]];
		const struct aorder *s = &v->orders[map[res.trades[i].sell]];
		const struct pw_trade *t = &v->trades[i];
		if (memcmp(t->buyer, a->hhs[b->hh].pk, PW_PK_LEN) != 0 ||
		    memcmp(t->seller, a->hhs[s->hh].pk, PW_PK_LEN) != 0 || t->buy_seq != b->seq ||
		    t->sell_seq != s->seq || t->qty_wh != res.trades[i].qty_wh) {
			FAIL_ENTRY(
			    a, idx, PW_MSG_RESULT,
			    "interval %llu: trade %zu differs from the replay (buy seq %llu, sell "
			    "seq %llu, %u Wh)",
			    (unsigned long long)v->interval, i, (unsigned long long)b->seq,
			    (unsigned long long)s->seq, res.trades[i].qty_wh);
			goto out;
		}
	}
	v->cleared = 1;
	a->r->auctions++;
	a->r->trades += res.n_trades;
	a->r->traded_wh += res.volume_wh;
out:
	auction_result_free(&res);
	free(in);
	free(map);
}

static void
on_result(struct audit *a, uint64_t idx, const struct pw_msg *m)
{
	const struct pw_result *r = &m->u.result;
	struct ivl *v;

	a->r->results++;
	if (audit_ivl_get(a, r->interval, &v) != PW_OK) {
		FAIL_ENTRY(a, idx, m->type, "out of memory");
		return;
	}
	if (v->cleared) {
		FAIL_ENTRY(a, idx, m->type, "second RESULT for interval %llu",
		           (unsigned long long)r->interval);
		return;
	}
	if (v->n_stmts > 0) {
		FAIL_ENTRY(a, idx, m->type, "RESULT for interval %llu logged after its statements",
		           (unsigned long long)r->interval);
		return;
	}
	if (r->part == 0 && a->have_result && r->interval < a->last_result_interval) {
		FAIL_ENTRY(a, idx, m->type,
		           "RESULT of interval %llu logged after the RESULT of interval %llu",
		           (unsigned long long)r->interval,
		           (unsigned long long)a->last_result_interval);
		audit_plain(a,
		            "Interval %llu was cleared after a later interval: the exchange clears "
		            "intervals in order at their gates, so this result was made or moved "
		            "afterwards.",
		            (unsigned long long)r->interval);
		return;
	}
	if (r->part != v->next_part) {
		FAIL_ENTRY(a, idx, m->type, "RESULT part %u of interval %llu, expected part %u",
		           r->part, (unsigned long long)r->interval, v->next_part);
		return;
	}
	if (r->part == 0 && r->volume_wh > 0) {
		/* the clearing price lies within the bounds in force for the
		 * interval: its MARKET entry's feed-in and retail tariffs */
		const struct arules *b = audit_rules_for(a, r->interval);
		if (r->price_uper_kwh < b->feedin_uper_kwh ||
		    r->price_uper_kwh > b->retail_uper_kwh) {
			FAIL_ENTRY(a, idx, m->type,
			           "interval %llu cleared at %d, outside [%d, %d], the tariffs of "
			           "MARKET entry %llu",
			           (unsigned long long)r->interval, r->price_uper_kwh,
			           b->feedin_uper_kwh, b->retail_uper_kwh,
			           (unsigned long long)b->idx);
			audit_plain(a,
			            "Interval %llu was cleared at a price outside the feed-in and "
			            "retail tariffs the log's MARKET entry %llu sets for it: no "
			            "auction within the published bounds gives that price.",
			            (unsigned long long)r->interval, (unsigned long long)b->idx);
			return;
		}
	}
	if (r->part == 0) {
		a->have_result = 1;
		a->last_result_interval = r->interval;
		v->result_first_idx = idx;
		v->parts = r->parts;
		v->price_uper_kwh = r->price_uper_kwh;
		v->volume_wh = r->volume_wh;
		v->n_total = r->n_trades_total;
	} else if (r->parts != v->parts || r->price_uper_kwh != v->price_uper_kwh ||
	           r->volume_wh != v->volume_wh || r->n_trades_total != v->n_total) {
		FAIL_ENTRY(a, idx, m->type, "RESULT parts of interval %llu disagree",
		           (unsigned long long)r->interval);
		return;
	}
	if (audit_grow((void **)&v->trades, &v->cap_trades, v->n_trades + r->n_trades,
	               sizeof(*v->trades)) != PW_OK) {
		FAIL_ENTRY(a, idx, m->type, "too many trades");
		return;
	}
	for (uint16_t i = 0; i < r->n_trades; i++)
		if (pw_wire_result_trade(r, i, &v->trades[v->n_trades++]) != PW_OK) {
			FAIL_ENTRY(a, idx, m->type, "trade %u does not decode", i);
			return;
		}
	v->next_part++;
	v->result_idx = idx;
	if (v->next_part < v->parts)
		return;
	if (v->n_trades != v->n_total) {
		FAIL_ENTRY(a, idx, m->type, "interval %llu: %zu trades in the parts, %u announced",
		           (unsigned long long)r->interval, v->n_trades, v->n_total);
		return;
	}
	replay_auction(a, v, idx);
}

#define CMP_FIELD(f, fmt, cast)                                                                    \
	if (got->f != want.f) {                                                                    \
		FAIL_ENTRY(a, idx, PW_MSG_STATEMENT,                                               \
		           "%s interval %llu: " #f " is " fmt ", the recomputation gives " fmt,    \
		           id, (unsigned long long)got->interval, (cast)got->f, (cast)want.f);     \
		return;                                                                            \
	}

static void
on_statement(struct audit *a, uint64_t idx, const struct pw_msg *m)
{
	const struct pw_statement *got = &m->u.statement;
	struct hh *h = audit_hh_find(a, got->household);
	struct settle_trade *tr = NULL;
	size_t n_tr = 0;
	struct ivl *v;
	const char *id;

	a->r->statements++;
	if (h == NULL || (idx > a->first_market_idx && h->first_idx > idx)) {
		char who[AUDIT_LABEL_LEN];
		FAIL_ENTRY(a, idx, m->type,
		           "statement for %s, which no REGISTRY entry before it registers",
		           audit_who(a, got->household, who));
		return;
	}
	id = h->label;
	if (audit_ivl_get(a, got->interval, &v) != PW_OK) {
		FAIL_ENTRY(a, idx, m->type, "out of memory");
		return;
	}
	if (!v->cleared) {
		FAIL_ENTRY(a, idx, m->type, "statement of %s for interval %llu logged %s", id,
		           (unsigned long long)got->interval,
		           v->next_part > 0 ? "before its RESULT is complete" : "without a RESULT");
		audit_plain(
		    a,
		    "The exchange settled interval %llu without having cleared it: every "
		    "interval is cleared at its gate, and a settlement without the clearing "
		    "result hides whatever would have traded.",
		    (unsigned long long)got->interval);
		return;
	}
	if (v->first_stmt_idx == UINT64_MAX)
		v->first_stmt_idx = idx;
	uint32_t hi = (uint32_t)(h - a->hhs);
	for (size_t i = 0; i < v->n_stmts; i++)
		if (v->stmts[i].hh == hi) {
			FAIL_ENTRY(a, idx, m->type, "second statement of %s for interval %llu", id,
			           (unsigned long long)got->interval);
			return;
		}
	/* the rules of the interval; the zones of the entries in force now */
	const struct arules *rules = audit_rules_for(a, got->interval);
	struct settle_fees fees = audit_rules_fees(rules);
	if (v->n_trades > 0 && (tr = calloc(v->n_trades, sizeof(*tr))) == NULL) {
		FAIL_ENTRY(a, idx, m->type, "out of memory");
		return;
	}
	for (size_t i = 0; i < v->n_trades; i++) {
		const struct pw_trade *t = &v->trades[i];
		int buys = memcmp(t->buyer, h->pk, PW_PK_LEN) == 0;
		int sells = memcmp(t->seller, h->pk, PW_PK_LEN) == 0;
		if (!buys && !sells)
			continue;
		const struct hh *b = audit_hh_find(a, t->buyer), *s = audit_hh_find(a, t->seller);
		if (b == NULL || s == NULL) {
			free(tr);
			FAIL_ENTRY(a, idx, m->type, "a trade party is not registered");
			return;
		}
		tr[n_tr++] = (struct settle_trade){ .side = buys ? PW_SIDE_BUY : PW_SIDE_SELL,
			                            .qty_wh = t->qty_wh,
			                            .fee_uper_kwh = settle_fee_lookup(
			                                &fees, b->zone, s->zone) };
	}
	struct settle_reading rd = { .missing = 1 };
	for (size_t i = 0; i < v->n_readings; i++)
		if (v->readings[i].hh == hi) {
			rd.missing = 0;
			rd.export_wh = v->readings[i].export_wh;
			rd.import_wh = v->readings[i].import_wh;
			/* "late" depends on arrival time, which the log does not hold:
			 * taken from the statement, only where a reading exists */
			rd.late = (got->flags & PW_STMT_READING_LATE) != 0;
		}
	struct settle_tariffs tariffs = { rules->feedin_uper_kwh, rules->retail_uper_kwh };
	struct pw_statement want;
	memset(&want, 0, sizeof(want));
	memcpy(want.household, got->household, PW_PK_LEN);
	want.interval = got->interval;
	pw_err rc =
	    settle_household(&tariffs, v->cleared ? v->price_uper_kwh : 0, tr, n_tr, &rd, &want);
	free(tr);
	if (rc != PW_OK) {
		FAIL_ENTRY(a, idx, m->type, "settlement replay failed: %s", pw_strerror(rc));
		return;
	}
	CMP_FIELD(flags, "%u", unsigned)
	CMP_FIELD(price_uper_kwh, "%d", int)
	CMP_FIELD(sold_wh, "%llu", unsigned long long)
	CMP_FIELD(bought_wh, "%llu", unsigned long long)
	CMP_FIELD(export_wh, "%llu", unsigned long long)
	CMP_FIELD(import_wh, "%llu", unsigned long long)
	CMP_FIELD(shortfall_wh, "%llu", unsigned long long)
	CMP_FIELD(excess_wh, "%llu", unsigned long long)
	CMP_FIELD(extra_import_wh, "%llu", unsigned long long)
	CMP_FIELD(unused_wh, "%llu", unsigned long long)
	CMP_FIELD(peer_u, "%lld", long long)
	CMP_FIELD(grid_u, "%lld", long long)
	CMP_FIELD(fee_u, "%lld", long long)
	CMP_FIELD(net_u, "%lld", long long)
	CMP_FIELD(baseline_u, "%lld", long long)
	CMP_FIELD(saving_u, "%lld", long long)
	if (audit_grow((void **)&v->stmts, &v->cap_stmts, v->n_stmts + 1, sizeof(*v->stmts)) !=
	    PW_OK) {
		FAIL_ENTRY(a, idx, m->type, "too many statements");
		return;
	}
	v->stmts[v->n_stmts++] = (struct astmt){ .idx = idx, .hh = hi, .st = *got };
}

static void
on_entry(struct audit *a, uint64_t idx, const uint8_t *frame, size_t len)
{
	struct pw_msg m;
	pw_err rc;

	if ((rc = pw_wire_decode_stored(frame, len, &m)) != PW_OK) {
		FAIL_ENTRY(a, idx, frame[1], "frame does not decode: %s", pw_strerror(rc));
		return;
	}
	switch (m.type) {
	case PW_MSG_ORDER:
	case PW_MSG_CANCEL:
	case PW_MSG_METER:
	case PW_MSG_RESULT:
	case PW_MSG_STATEMENT:
	case PW_MSG_MARKET:
	case PW_MSG_REGISTRY:
	case PW_MSG_COSIGN:
		break;
	default:
		FAIL_ENTRY(a, idx, m.type, "a %s frame has no place in the log",
		           pw_msg_type_name(m.type));
		return;
	}
	if (pw_wire_verify_stored(frame, len, a->market_id) != PW_OK) {
		FAIL_ENTRY(a, idx, m.type, "bad signature");
		return;
	}
	/* entries that name no interval */
	int rules = m.type == PW_MSG_MARKET || m.type == PW_MSG_REGISTRY || m.type == PW_MSG_COSIGN;
	uint64_t iv = m.type == PW_MSG_ORDER    ? m.u.order.interval
	              : m.type == PW_MSG_CANCEL ? m.u.cancel.interval
	              : m.type == PW_MSG_METER  ? m.u.meter.interval
	              : m.type == PW_MSG_RESULT ? m.u.result.interval
	              : rules                   ? 0
	                                        : m.u.statement.interval;
	if (audit_grow((void **)&a->ents, &a->cap_ents, idx + 1, sizeof(*a->ents)) != PW_OK) {
		FAIL_ENTRY(a, idx, m.type, "too many entries");
		return;
	}
	a->ents[idx] = (struct ament){ .type = m.type, .interval = iv };
	if (!rules) {
		if (!a->r->have_period || iv < a->r->first_interval)
			a->r->first_interval = iv;
		if (!a->r->have_period || iv > a->r->last_interval)
			a->r->last_interval = iv;
		a->r->have_period = 1;
	}
	a->r->signatures++;
	int by_exchange = memcmp(m.author, a->r->exchange_pk, PW_PK_LEN) == 0;
	if ((m.type >= PW_MSG_RESULT) != by_exchange) {
		FAIL_ENTRY(a, idx, m.type, "%s",
		           by_exchange ? "a household frame signed by the exchange"
		                       : "not signed by the exchange key");
		return;
	}
	if (!rules)
		audit_rules_note_interval(a, idx, iv);
	switch (m.type) {
	case PW_MSG_MARKET:
		audit_rules_market(a, idx, &m);
		break;
	case PW_MSG_REGISTRY:
		if (audit_rules_registry(a, idx, &m) != PW_OK)
			FAIL_ENTRY(a, idx, m.type, "out of memory");
		break;
	case PW_MSG_COSIGN:
		audit_witness_entry(a, idx, &m);
		break;
	case PW_MSG_ORDER:
		on_order(a, idx, &m);
		break;
	case PW_MSG_CANCEL:
		on_cancel(a, idx, &m);
		break;
	case PW_MSG_METER:
		on_meter(a, idx, &m);
		break;
	case PW_MSG_RESULT:
		on_result(a, idx, &m);
		break;
	default:
		on_statement(a, idx, &m);
		break;
	}
}

pw_err
audit_log_scan(struct audit *a)
{
	sqlite3_stmt *st = NULL;
	uint8_t leaf[PW_HASH_LEN];
	pw_err rc = PW_OK;
	int src;

	if (sqlite3_prepare_v2(a->db, "SELECT idx, type, frame, leaf FROM log ORDER BY idx", -1,
	                       &st, NULL) != SQLITE_OK) {
		FAIL_AT(a, "database", "no table log: %s", sqlite3_errmsg(a->db));
		return PW_OK;
	}
	audit_cp_take_roots(a);
	while (!a->r->fail.failed && (src = sqlite3_step(st)) == SQLITE_ROW) {
		uint64_t want = a->range.size;
		sqlite3_int64 idx = sqlite3_column_int64(st, 0);
		sqlite3_int64 type = sqlite3_column_int64(st, 1);
		const uint8_t *frame = sqlite3_column_blob(st, 2);
		int flen = sqlite3_column_bytes(st, 2);
		const void *stored = sqlite3_column_blob(st, 3);
		int slen = sqlite3_column_bytes(st, 3);

		if (idx < 0 || (uint64_t)idx != want) {
			audit_fail(
			    a, want, "", NULL,
			    "entry missing: the next stored entry is %lld (deleted or renumbered)",
			    (long long)idx);
			break;
		}
		if (frame == NULL || flen < 2 || (size_t)flen > PW_WIRE_MAX_LEN) {
			audit_fail(a, want, "", NULL, "frame of %d bytes", flen);
			break;
		}
		merkle_leaf_hash(frame, (size_t)flen, leaf);
		if ((rc = merkle_range_append(&a->range, leaf)) != PW_OK ||
		    (rc = audit_cp_keep_leaf(a, leaf)) != PW_OK)
			break;
		a->r->entries++;
		audit_cp_take_roots(a);
		if (type != frame[1]) {
			FAIL_ENTRY(a, want, frame[1], "type column %lld is not the frame's type %u",
			           (long long)type, frame[1]);
			break;
		}
		if (stored == NULL || slen != PW_HASH_LEN ||
		    memcmp(stored, leaf, PW_HASH_LEN) != 0) {
			FAIL_ENTRY(a, want, frame[1], "stored leaf is not SHA-256(0x00 || frame)");
			break;
		}
		on_entry(a, want, frame, (size_t)flen);
	}
	if (!a->r->fail.failed && src != SQLITE_DONE)
		FAIL_AT(a, "database", "reading table log: %s", sqlite3_errmsg(a->db));
	sqlite3_finalize(st);
	merkle_range_root(&a->range, a->r->root);
	return rc;
}
