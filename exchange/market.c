/*
 * market.c: the market clock of the exchange (market_tick in engine.h).
 *
 *   gate closure of interval i (now >= i*L - G): clear it with
 *     auction_clear over its open orders (arrival = log index; orders that
 *     expired at or before the gate time take no part), store the trades,
 *     sign the RESULT (in parts of at most PW_RESULT_MAX_TRADES trades),
 *     log every part, commit, publish on PUB topic "RESULT";
 *   interval end + grace (now >= (i+1)*L + grace_s): settle it with
 *     rules/settle.h, one signed STATEMENT per household that traded or
 *     sent a reading (missing readings settled conservatively and flagged),
 *     logged, then a signed CHECKPOINT of the log, published as
 *     "CHECKPOINT";
 *   every depth_ms: a signed DEPTH per open interval with orders ("DEPTH");
 *   every heartbeat_ms: a signed HEARTBEAT, the clock and the market's
 *     parameters ("HEARTBEAT"), so agents can tell a quiet market from a
 *     dead link.
 * Each interval's clearing and settlement is one transaction with its log
 * entries.  Called by exchange/main.c once per loop iteration.
 */
#include <stdlib.h>
#include <string.h>

#include "rules/auction.h"
#include "exchange/engine.h"
#include "rules/settle.h"
#include "peerwatt/fmt.h"
#include "peerwatt/log.h"

#define MARKET_DEPTH_INTERVALS 4
#define MARKET_CATCHUP_MAX     64 /* intervals handled per tick after a pause */

/* Last interval whose gate has closed at now_s: floor((now + G) / L). */
static uint64_t
gate_closed_upto(const struct engine *e, int64_t now_s)
{
	int64_t t = now_s + e->cfg->gate_s;
	return t < 0 ? 0 : (uint64_t)(t / e->cfg->interval_s);
}

static void
publish(struct engine *e, const char *topic, const uint8_t *frame, size_t len)
{
	if (gateway_publish(e->gw, topic, frame, len) != PW_OK)
		log_warnx("market: cannot publish %s", topic);
}

static pw_err
clear_interval(struct engine *e, uint64_t iv, int64_t now_s)
{
	struct store_order *open = NULL;
	struct auction_order *ao = NULL;
	size_t *map = NULL, n_open = 0, n = 0;
	uint64_t *filled = NULL;
	struct pw_trade *tr = NULL;
	struct auction_result res = { 0 };
	uint8_t **frames = NULL;
	size_t *lens = NULL;
	uint32_t parts = 0;
	int64_t gate_time = (int64_t)iv * e->cfg->interval_s - e->cfg->gate_s;
	pw_err rc;

	if ((rc = store_begin(e->store)) != PW_OK)
		return rc;
	if ((rc = store_open_orders(e->store, iv, &open, &n_open)) != PW_OK)
		goto fail;
	ao = calloc(n_open + 1, sizeof(*ao));
	map = calloc(n_open + 1, sizeof(*map));
	filled = calloc(n_open + 1, sizeof(*filled));
	if (!ao || !map || !filled) {
		rc = PW_ERR_NOMEM;
		goto fail;
	}
	for (size_t i = 0; i < n_open; i++) {
		if ((int64_t)open[i].expiry_s <= gate_time)
			continue; /* expired before the gate: closed unfilled */
		ao[n].arrival = open[i].log_idx;
		ao[n].qty_wh = open[i].qty_wh;
		ao[n].price_uper_kwh = open[i].price_uper_kwh;
		ao[n].side = open[i].side;
		map[n++] = i;
	}
	if ((rc = auction_clear(ao, n, &res)) != PW_OK)
		goto fail;
	tr = calloc(res.n_trades + 1, sizeof(*tr));
	if (!tr) {
		rc = PW_ERR_NOMEM;
		goto fail;
	}
	for (size_t t = 0; t < res.n_trades; t++) {
		const struct store_order *b = &open[map[res.trades[t].buy]];
		const struct store_order *s = &open[map[res.trades[t].sell]];
		struct store_trade st = { .interval = iv,
			                  .n = (uint32_t)t,
			                  .buy_seq = b->seq,
			                  .sell_seq = s->seq,
			                  .qty_wh = res.trades[t].qty_wh,
			                  .price_uper_kwh = res.price_uper_kwh };
		memcpy(st.buyer, b->pk, PW_PK_LEN);
		memcpy(st.seller, s->pk, PW_PK_LEN);
		memcpy(tr[t].buyer, b->pk, PW_PK_LEN);
		memcpy(tr[t].seller, s->pk, PW_PK_LEN);
		tr[t].buy_seq = b->seq;
		tr[t].sell_seq = s->seq;
		tr[t].qty_wh = res.trades[t].qty_wh;
		filled[map[res.trades[t].buy]] += res.trades[t].qty_wh;
		filled[map[res.trades[t].sell]] += res.trades[t].qty_wh;
		if ((rc = store_trade_insert(e->store, &st)) != PW_OK)
			goto fail;
	}
	for (size_t i = 0; i < n_open; i++)
		if ((rc = store_order_set_status(e->store, open[i].log_idx, STORE_ORDER_CLOSED,
		                                 filled[i])) != PW_OK)
			goto fail;
	parts = (uint32_t)((res.n_trades + PW_RESULT_MAX_TRADES - 1) / PW_RESULT_MAX_TRADES);
	if (parts == 0)
		parts = 1;
	if (parts > UINT16_MAX) {
		rc = PW_ERR_RANGE;
		goto fail;
	}
	frames = calloc(parts, sizeof(*frames));
	lens = calloc(parts, sizeof(*lens));
	if (!frames || !lens) {
		rc = PW_ERR_NOMEM;
		goto fail;
	}
	for (uint32_t p = 0; p < parts; p++) {
		struct pw_msg m;
		size_t first = (size_t)p * PW_RESULT_MAX_TRADES, len;
		size_t cnt = res.n_trades - first < PW_RESULT_MAX_TRADES ? res.n_trades - first
		                                                         : PW_RESULT_MAX_TRADES;
		uint64_t idx;
		memset(&m, 0, sizeof(m));
		m.type = PW_MSG_RESULT;
		m.u.result.interval = iv;
		m.u.result.price_uper_kwh = res.price_uper_kwh;
		m.u.result.volume_wh = res.volume_wh;
		m.u.result.n_trades_total = (uint32_t)res.n_trades;
		m.u.result.part = (uint16_t)p;
		m.u.result.parts = (uint16_t)parts;
		m.u.result.n_trades = (uint16_t)cnt;
		m.u.result.trades = tr + first;
		if ((rc = engine_sign(e, &m, &len)) != PW_OK)
			goto fail;
		if (!(frames[p] = malloc(len))) {
			rc = PW_ERR_NOMEM;
			goto fail;
		}
		memcpy(frames[p], e->out, len);
		lens[p] = len;
		if ((rc = mlog_append(e->log, frames[p], len, &idx)) != PW_OK ||
		    (rc = store_result_insert(e->store, iv, p, frames[p], len, idx)) != PW_OK)
			goto fail;
	}
	if ((rc = store_interval_cleared(e->store, iv, res.price_uper_kwh, res.volume_wh, parts,
	                                 (uint64_t)now_s)) != PW_OK ||
	    (rc = engine_flush_stats(e)) != PW_OK || (rc = store_commit(e->store)) != PW_OK)
		goto fail;
	memset(e->rejects_unflushed, 0, sizeof(e->rejects_unflushed));
	{
		char ivs[PW_FMT_LEN], ps[PW_FMT_LEN];
		pw_fmt_interval(iv, e->cfg->interval_s, ivs, sizeof(ivs));
		pw_fmt_price(res.price_uper_kwh, ps, sizeof(ps));
		log_info("market: interval %s cleared: %zu orders, %zu trades, %llu Wh at %s", ivs,
		         n, res.n_trades, (unsigned long long)res.volume_wh, ps);
	}
	for (uint32_t p = 0; p < parts; p++)
		publish(e, "RESULT", frames[p], lens[p]);
	goto out;
fail:
	store_rollback(e->store);
	if (mlog_reload(e->log) != PW_OK)
		fatalx("market: the log cannot be reloaded after a rollback");
	log_warnx("market: clearing interval %llu failed: %s", (unsigned long long)iv,
	          pw_strerror(rc));
out:
	if (frames)
		for (uint32_t p = 0; p < parts; p++)
			free(frames[p]);
	free(frames);
	free(lens);
	free(tr);
	auction_result_free(&res);
	free(filled);
	free(map);
	free(ao);
	free(open);
	return rc;
}

/* Sorted unique keys: the parties of the trades and the readers. */
static int
cmp_pk(const void *a, const void *b)
{
	return memcmp(a, b, PW_PK_LEN);
}

static pw_err
settle_one(struct engine *e, uint64_t iv, int32_t price, const uint8_t pk[PW_PK_LEN],
           const struct store_trade *tr, size_t n_tr, struct pw_statement *out)
{
	/* the tariffs and fees of the MARKET entry governing the interval */
	const struct xrules_rule *mk = xrules_market_at(e->rules, iv);
	struct settle_tariffs tariffs = { .feedin_uper_kwh = mk->feedin_uper_kwh,
		                          .retail_uper_kwh = mk->retail_uper_kwh };
	struct settle_trade *st = calloc(n_tr + 1, sizeof(*st));
	struct settle_reading rd = { 0 };
	struct store_meter m;
	char zb[REGISTRY_TOKEN_MAX], zs[REGISTRY_TOKEN_MAX];
	size_t k = 0;
	pw_err rc;

	if (!st)
		return PW_ERR_NOMEM;
	for (size_t t = 0; t < n_tr; t++) {
		int buyer = memcmp(tr[t].buyer, pk, PW_PK_LEN) == 0;
		int seller = memcmp(tr[t].seller, pk, PW_PK_LEN) == 0;
		if (!buyer && !seller)
			continue;
		if (store_household_zone(e->store, tr[t].buyer, zb, sizeof(zb)) != PW_OK ||
		    store_household_zone(e->store, tr[t].seller, zs, sizeof(zs)) != PW_OK) {
			free(st);
			return PW_ERR_CORRUPT;
		}
		int64_t fee = xrules_fee(e->rules, mk, zs, zb);
		st[k].side = buyer ? PW_SIDE_BUY : PW_SIDE_SELL;
		st[k].qty_wh = tr[t].qty_wh;
		st[k].fee_uper_kwh = (uint32_t)fee;
		k++;
	}
	rc = store_meter_get(e->store, pk, iv, &m);
	if (rc == PW_OK) {
		rd.export_wh = m.export_end_wh - m.export_start_wh;
		rd.import_wh = m.import_end_wh - m.import_start_wh;
		rd.late = m.time_status == PW_TIME_ESTIMATED;
	} else if (rc == PW_ERR_NOTFOUND) {
		rd.missing = 1;
	} else {
		free(st);
		return rc;
	}
	memset(out, 0, sizeof(*out));
	memcpy(out->household, pk, PW_PK_LEN);
	out->interval = iv;
	rc = settle_household(&tariffs, price, st, k, &rd, out);
	free(st);
	return rc;
}

static pw_err
settle_interval(struct engine *e, uint64_t iv, int64_t now_s)
{
	struct store_trade *tr = NULL;
	uint8_t(*readers)[PW_PK_LEN] = NULL;
	uint8_t(*pks)[PW_PK_LEN] = NULL;
	struct pw_statement *sts = NULL;
	size_t n_tr = 0, n_rd = 0, n_pk = 0;
	int32_t price = 0;
	uint64_t volume = 0;
	int state = 0;
	uint8_t cp[512];
	size_t cp_len = 0;
	pw_err rc;

	if ((rc = store_begin(e->store)) != PW_OK)
		return rc;
	if ((rc = store_interval_state(e->store, iv, &state, &price, &volume)) != PW_OK ||
	    (rc = store_trades(e->store, iv, &tr, &n_tr)) != PW_OK ||
	    (rc = store_meter_pks(e->store, iv, &readers, &n_rd)) != PW_OK)
		goto fail;
	pks = calloc(2 * n_tr + n_rd + 1, sizeof(*pks));
	if (!pks) {
		rc = PW_ERR_NOMEM;
		goto fail;
	}
	for (size_t t = 0; t < n_tr; t++) {
		memcpy(pks[n_pk++], tr[t].buyer, PW_PK_LEN);
		memcpy(pks[n_pk++], tr[t].seller, PW_PK_LEN);
	}
	for (size_t r = 0; r < n_rd; r++)
		memcpy(pks[n_pk++], readers[r], PW_PK_LEN);
	qsort(pks, n_pk, sizeof(*pks), cmp_pk);
	size_t u = 0;
	for (size_t i = 0; i < n_pk; i++)
		if (u == 0 || memcmp(pks[u - 1], pks[i], PW_PK_LEN) != 0)
			memcpy(pks[u++], pks[i], PW_PK_LEN);
	n_pk = u;
	sts = calloc(n_pk + 1, sizeof(*sts));
	if (!sts) {
		rc = PW_ERR_NOMEM;
		goto fail;
	}
	for (size_t i = 0; i < n_pk; i++) {
		struct pw_msg m;
		size_t len;
		uint64_t idx;
		if ((rc = settle_one(e, iv, price, pks[i], tr, n_tr, &sts[i])) != PW_OK)
			goto fail;
		memset(&m, 0, sizeof(m));
		m.type = PW_MSG_STATEMENT;
		m.u.statement = sts[i];
		if ((rc = engine_sign(e, &m, &len)) != PW_OK ||
		    (rc = mlog_append(e->log, e->out, len, &idx)) != PW_OK ||
		    (rc = store_statement_insert(e->store, pks[i], iv, e->out, len, idx)) != PW_OK)
			goto fail;
	}
	if (n_pk > 0) {
		struct settle_totals tot;
		if (settle_totals(sts, n_pk, &tot) != PW_OK)
			log_warnx("market: interval %llu statements do not balance",
			          (unsigned long long)iv);
	}
	if ((rc = store_interval_settled(e->store, iv, (uint64_t)now_s)) != PW_OK ||
	    (rc = mlog_checkpoint(e->log, e->kp, (uint64_t)e->cfg->market_id, e->cfg->market_name,
	                          iv, (uint64_t)now_s, cp, sizeof(cp), &cp_len)) != PW_OK ||
	    (rc = engine_flush_stats(e)) != PW_OK || (rc = store_commit(e->store)) != PW_OK)
		goto fail;
	memset(e->rejects_unflushed, 0, sizeof(e->rejects_unflushed));
	{
		char ivs[PW_FMT_LEN];
		pw_fmt_interval(iv, e->cfg->interval_s, ivs, sizeof(ivs));
		log_info("market: interval %s settled: %zu statements; log size %llu", ivs, n_pk,
		         (unsigned long long)mlog_size(e->log));
	}
	publish(e, "CHECKPOINT", cp, cp_len);
	goto out;
fail:
	store_rollback(e->store);
	if (mlog_reload(e->log) != PW_OK)
		fatalx("market: the log cannot be reloaded after a rollback");
	log_warnx("market: settling interval %llu failed: %s", (unsigned long long)iv,
	          pw_strerror(rc));
out:
	free(sts);
	free(pks);
	free(readers);
	free(tr);
	return rc;
}

static void
publish_depth(struct engine *e, int64_t now_s)
{
	uint64_t ivs[MARKET_DEPTH_INTERVALS];
	size_t n = 0;
	if (store_open_intervals(e->store, gate_closed_upto(e, now_s) + 1, ivs,
	                         MARKET_DEPTH_INTERVALS, &n) != PW_OK)
		return;
	for (size_t i = 0; i < n; i++) {
		struct pw_msg m;
		size_t len;
		memset(&m, 0, sizeof(m));
		m.type = PW_MSG_DEPTH;
		if (store_depth(e->store, ivs[i], &m.u.depth) != PW_OK ||
		    engine_sign(e, &m, &len) != PW_OK)
			continue;
		publish(e, "DEPTH", e->out, len);
	}
}

static void
publish_heartbeat(struct engine *e, int64_t now_ms)
{
	struct pw_msg m;
	size_t len;

	memset(&m, 0, sizeof(m));
	m.type = PW_MSG_HEARTBEAT;
	m.u.heartbeat.time_ms = (uint64_t)now_ms;
	m.u.heartbeat.period_ms = (uint32_t)e->cfg->heartbeat_ms;
	m.u.heartbeat.interval_s = (uint32_t)e->cfg->interval_s;
	m.u.heartbeat.gate_s = (uint32_t)e->cfg->gate_s;
	/* the tariffs in force for the current interval */
	const struct xrules_rule *mk =
	    xrules_market_at(e->rules, (uint64_t)(now_ms / 1000) / (uint64_t)e->cfg->interval_s);
	m.u.heartbeat.feedin_uper_kwh = mk->feedin_uper_kwh;
	m.u.heartbeat.retail_uper_kwh = mk->retail_uper_kwh;
	if (engine_sign(e, &m, &len) == PW_OK)
		publish(e, "HEARTBEAT", e->out, len);
}

int64_t
market_tick(struct engine *e, int64_t now_s, int64_t now_ms)
{
	uint64_t upto = gate_closed_upto(e, now_s);
	uint64_t iv;
	int budget = MARKET_CATCHUP_MAX;

	if (!e->have_cleared) {
		if (store_last_cleared(e->store, &e->last_cleared) == PW_OK)
			e->have_cleared = 1;
	}
	/* intervals with open orders whose gate has closed (also after a
	 * restart or a pause), oldest first */
	while (budget-- > 0 && store_first_open_interval(e->store, &iv) == PW_OK && iv <= upto) {
		int state = 0;
		if (store_interval_state(e->store, iv, &state, NULL, NULL) != PW_OK)
			break;
		if (state != 0) {
			/* cannot happen unless the clock went back: the orders
			 * were accepted for an interval already cleared */
			log_warnx("market: open orders for cleared interval %llu; clock went back?",
			          (unsigned long long)iv);
			break;
		}
		if (clear_interval(e, iv, now_s) != PW_OK)
			break;
		if (!e->have_cleared || iv > e->last_cleared)
			e->last_cleared = iv;
		e->have_cleared = 1;
	}
	/* the current closed interval gets a RESULT even without orders, so
	 * every running interval has a price record and a settlement */
	if (!e->have_cleared || upto > e->last_cleared) {
		int state = 0;
		if (store_interval_state(e->store, upto, &state, NULL, NULL) == PW_OK &&
		    state == 0 && clear_interval(e, upto, now_s) == PW_OK) {
			e->last_cleared = upto;
			e->have_cleared = 1;
		}
	}
	budget = MARKET_CATCHUP_MAX;
	while (budget-- > 0 && store_first_unsettled(e->store, &iv) == PW_OK) {
		int64_t due = ((int64_t)iv + 1) * e->cfg->interval_s + e->cfg->grace_s;
		if (now_s < due)
			break;
		if (settle_interval(e, iv, now_s) != PW_OK)
			break;
	}
	if (now_ms >= e->next_depth_ms) {
		publish_depth(e, now_s);
		e->next_depth_ms = now_ms + e->cfg->depth_ms;
	}
	if (now_ms >= e->next_heartbeat_ms) {
		publish_heartbeat(e, now_ms);
		e->next_heartbeat_ms = now_ms + e->cfg->heartbeat_ms;
	}
	/* the price outlook at the start of every interval (and at start) */
	uint64_t cur = (uint64_t)now_s / (uint64_t)e->cfg->interval_s;
	if (!e->have_outlook || e->outlook_iv != cur) {
		engine_publish_schedule(e, cur);
		e->have_outlook = 1;
		e->outlook_iv = cur;
	}
	int64_t cos = engine_cosigned_due(e, now_ms);
	int64_t wait = 1000 - now_ms % 1000 + 1; /* gates and deadlines are whole seconds */
	if (cos < wait)
		wait = cos;
	if (e->next_depth_ms - now_ms < wait)
		wait = e->next_depth_ms - now_ms;
	if (e->next_heartbeat_ms - now_ms < wait)
		wait = e->next_heartbeat_ms - now_ms;
	return wait < 1 ? 1 : wait;
}
