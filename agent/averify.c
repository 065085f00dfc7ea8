/*
 * averify.c: the checks of what the exchange signs to the household
 * (see averify.h, docs/agent-checks.md "What the agent checks").
 */
#include "agent/averify.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "peerwatt/money.h"
#include "rules/settle.h"

static const char *const names[] = {
	[AVERIFY_OK] = "ok",
	[AVERIFY_RESULT_SHAPE] = "result_shape",
	[AVERIFY_RESULT_SELF] = "result_self_trade",
	[AVERIFY_RESULT_UNKNOWN] = "result_unknown_order",
	[AVERIFY_RESULT_SIDE] = "result_wrong_side",
	[AVERIFY_RESULT_CANCELLED] = "result_cancelled_order",
	[AVERIFY_RESULT_OVERFILL] = "result_overfill",
	[AVERIFY_RESULT_LIMIT] = "result_beyond_limit",
	[AVERIFY_RESULT_EQUIVOCAL] = "result_equivocation",
	[AVERIFY_STMT_OTHER] = "statement_not_ours",
	[AVERIFY_STMT_MISSING_FLAG] = "statement_reading_missing",
	[AVERIFY_STMT_FIGURES] = "statement_figures",
	[AVERIFY_STMT_FEE] = "statement_fee",
	[AVERIFY_STMT_EQUIVOCAL] = "statement_equivocation",
};

const char *
averify_code_name(enum averify_code c)
{
	return (unsigned)c < sizeof(names) / sizeof(names[0]) && names[c] != NULL ? names[c]
	                                                                          : "unknown";
}

static enum averify_code say(struct averify_finding *f, enum averify_code c, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static enum averify_code
say(struct averify_finding *f, enum averify_code c, const char *fmt, ...)
{
	va_list ap;
	f->code = c;
	va_start(ap, fmt);
	vsnprintf(f->text, sizeof(f->text), fmt, ap);
	va_end(ap);
	return c;
}

int
averify_result_same_header(const struct pw_result *a, const struct pw_result *b)
{
	return a->interval == b->interval && a->price_uper_kwh == b->price_uper_kwh &&
	       a->volume_wh == b->volume_wh && a->n_trades_total == b->n_trades_total &&
	       a->parts == b->parts;
}

static const char *
side_name(uint8_t side)
{
	return side == PW_SIDE_BUY ? "bid" : "offer";
}

enum averify_code
averify_result(const struct pw_result *r, const uint8_t me[PW_PK_LEN], struct averify_order *orders,
               size_t n_orders, struct averify_trade *out, size_t cap, size_t *n_out,
               struct averify_finding *f)
{
	uint64_t sum_wh = 0;
	size_t n = 0;

	*n_out = 0;
	memset(f, 0, sizeof(*f));
	if (r->parts == 0 || r->part >= r->parts || r->n_trades > r->n_trades_total ||
	    (r->volume_wh == 0 && r->price_uper_kwh != 0) ||
	    (r->n_trades_total == 0) != (r->volume_wh == 0))
		return say(f, AVERIFY_RESULT_SHAPE,
		           "RESULT part %u of %u: price %d with volume %llu Wh and %u trade(s)"
		           " in all do not fit together",
		           r->part, r->parts, r->price_uper_kwh, (unsigned long long)r->volume_wh,
		           r->n_trades_total);
	if (cap < r->n_trades)
		return say(f, AVERIFY_RESULT_SHAPE, "RESULT part with %u trades: no room",
		           r->n_trades);
	/* the household's fills, applied to a copy until the whole part passes */
	uint64_t add[AVERIFY_MAX_ORDERS];
	size_t n_add = n_orders < AVERIFY_MAX_ORDERS ? n_orders : AVERIFY_MAX_ORDERS;
	memset(add, 0, sizeof(add));
	for (uint16_t i = 0; i < r->n_trades; i++) {
		struct pw_trade t;
		if (pw_wire_result_trade(r, i, &t) != PW_OK)
			return say(f, AVERIFY_RESULT_SHAPE, "RESULT trade %u does not decode", i);
		if (t.qty_wh == 0)
			return say(f, AVERIFY_RESULT_SHAPE, "RESULT trade %u has no energy", i);
		sum_wh += t.qty_wh;
		int buy = memcmp(t.buyer, me, PW_PK_LEN) == 0;
		int sell = memcmp(t.seller, me, PW_PK_LEN) == 0;
		if (!buy && !sell)
			continue;
		if (buy && sell)
			return say(f, AVERIFY_RESULT_SELF,
			           "a trade of %u Wh with this household on both sides (bid %llu,"
			           " offer %llu): it never trades with itself",
			           t.qty_wh, (unsigned long long)t.buy_seq,
			           (unsigned long long)t.sell_seq);
		uint8_t side = buy ? PW_SIDE_BUY : PW_SIDE_SELL;
		uint64_t seq = buy ? t.buy_seq : t.sell_seq;
		size_t k = 0;
		while (k < n_orders && orders[k].seq != seq)
			k++;
		if (k == n_orders || k >= n_add)
			return say(
			    f, AVERIFY_RESULT_UNKNOWN,
			    "a trade of %u Wh for %s %llu, an order this household never placed"
			    " for interval %llu",
			    t.qty_wh, side_name(side), (unsigned long long)seq,
			    (unsigned long long)r->interval);
		const struct averify_order *o = &orders[k];
		if (o->side != side)
			return say(f, AVERIFY_RESULT_SIDE,
			           "a trade of %u Wh as %s for order %llu, which is a%s %s",
			           t.qty_wh, buy ? "buyer" : "seller", (unsigned long long)seq,
			           o->side == PW_SIDE_BUY ? "" : "n", side_name(o->side));
		if (o->cancelled)
			return say(f, AVERIFY_RESULT_CANCELLED,
			           "a trade of %u Wh for %s %llu, which the exchange confirmed"
			           " cancelled",
			           t.qty_wh, side_name(side), (unsigned long long)seq);
		add[k] += t.qty_wh;
		if (o->filled_wh + add[k] > o->qty_wh)
			return say(
			    f, AVERIFY_RESULT_OVERFILL,
			    "%s %llu of %u Wh filled with %llu Wh (the exchange signed %llu Wh"
			    " of trades for it, the order allows %u Wh)",
			    side_name(side), (unsigned long long)seq, o->qty_wh,
			    (unsigned long long)(o->filled_wh + add[k]),
			    (unsigned long long)(o->filled_wh + add[k]), o->qty_wh);
		if (buy ? o->price_uper_kwh < r->price_uper_kwh
		        : o->price_uper_kwh > r->price_uper_kwh)
			return say(
			    f, AVERIFY_RESULT_LIMIT,
			    "%s %llu with limit %d u/kWh filled at the clearing price %d u/kWh"
			    " (a %s trades only at or %s its limit)",
			    side_name(side), (unsigned long long)seq, o->price_uper_kwh,
			    r->price_uper_kwh, side_name(side), buy ? "below" : "above");
		out[n].seq = seq;
		out[n].side = side;
		out[n].qty_wh = t.qty_wh;
		n++;
	}
	if (sum_wh > r->volume_wh ||
	    (r->parts == 1 && (sum_wh != r->volume_wh || r->n_trades != r->n_trades_total)))
		return say(f, AVERIFY_RESULT_SHAPE,
		           "RESULT part %u of %u: its %u trade(s) add up to %llu Wh, the volume"
		           " signed is %llu Wh in %u trade(s)",
		           r->part, r->parts, r->n_trades, (unsigned long long)sum_wh,
		           (unsigned long long)r->volume_wh, r->n_trades_total);
	for (size_t k = 0; k < n_add; k++)
		orders[k].filled_wh += add[k];
	*n_out = n;
	return AVERIFY_OK;
}

/* ---- statements ------------------------------------------------------ */

struct diff {
	char *buf;
	size_t cap, len;
	int n;
};

static void
diff_u(struct diff *d, const char *name, uint64_t theirs, uint64_t mine)
{
	if (theirs == mine || d->len >= d->cap)
		return;
	int w =
	    snprintf(d->buf + d->len, d->cap - d->len, "%s%s signed %llu, computed %llu",
	             d->n ? "; " : "", name, (unsigned long long)theirs, (unsigned long long)mine);
	d->len = w < 0 ? d->cap : d->len + (size_t)w;
	d->n++;
}

static void
diff_i(struct diff *d, const char *name, int64_t theirs, int64_t mine)
{
	if (theirs == mine || d->len >= d->cap)
		return;
	int w = snprintf(d->buf + d->len, d->cap - d->len, "%s%s signed %lld, computed %lld",
	                 d->n ? "; " : "", name, (long long)theirs, (long long)mine);
	d->len = w < 0 ? d->cap : d->len + (size_t)w;
	d->n++;
}

/* A zone token of a wire field: at most PW_TOKEN_LEN bytes, NUL padded. */
static int
zone_cmp(const char *a, const char *b)
{
	return strncmp(a, b, PW_TOKEN_LEN);
}

uint32_t
averify_market_fee(const struct pw_market *mk, const char *zone_a, const char *zone_b)
{
	const char *a = zone_a, *b = zone_b;
	if (zone_cmp(a, b) > 0) {
		a = zone_b;
		b = zone_a;
	}
	for (unsigned i = 0; i < mk->n_fees && i < PW_MARKET_MAX_FEES; i++)
		if (zone_cmp(mk->fees[i].zone_a, a) == 0 && zone_cmp(mk->fees[i].zone_b, b) == 0)
			return mk->fees[i].fee_uper_kwh;
	return zone_cmp(a, b) == 0 ? mk->fee_same_zone_uper_kwh : mk->fee_default_uper_kwh;
}

enum averify_code
averify_statement(const struct averify_stmt_in *in, const uint8_t me[PW_PK_LEN],
                  const struct pw_statement *st, struct averify_stmt_out *out,
                  struct averify_finding *f)
{
	struct settle_tariffs tar = { in->feedin_uper_kwh, in->retail_uper_kwh };
	struct settle_trade *tr = NULL;
	struct settle_reading rd;
	int32_t price;
	int missing = (st->flags & PW_STMT_READING_MISSING) != 0;
	char d_text[AVERIFY_TEXT_LEN - 64];
	struct diff d = { d_text, sizeof(d_text), 0, 0 };
	pw_err rc;

	memset(f, 0, sizeof(*f));
	memset(out, 0, sizeof(*out));
	d_text[0] = '\0';
	if (memcmp(st->household, me, PW_PK_LEN) != 0 || st->interval != in->interval)
		return say(f, AVERIFY_STMT_OTHER, "a statement of another household or interval");
	if (in->n_trades > AVERIFY_MAX_TRADES)
		return say(f, AVERIFY_STMT_FIGURES, "%zu trades: more than a RESULT can hold",
		           in->n_trades);
	if (missing && in->have_reading && in->reading_before_settlement)
		return say(f, AVERIFY_STMT_MISSING_FLAG,
		           "settled as \"reading missing\" (export 0, import %llu Wh) although the"
		           " exchange acknowledged this household's reading (export %llu Wh,"
		           " import %llu Wh) before it settled the interval",
		           (unsigned long long)st->import_wh, (unsigned long long)in->export_wh,
		           (unsigned long long)in->import_wh);
	if (in->n_trades > 0 && (tr = calloc(in->n_trades, sizeof(*tr))) == NULL)
		return say(f, AVERIFY_STMT_FIGURES, "out of memory");
	for (size_t i = 0; i < in->n_trades; i++) {
		tr[i].side = in->trades[i].side;
		tr[i].qty_wh = in->trades[i].qty_wh;
		tr[i].fee_uper_kwh = in->trades[i].fee_uper_kwh;
	}
	memset(&rd, 0, sizeof(rd));
	rd.missing = missing;
	rd.late = (st->flags & PW_STMT_READING_LATE) != 0; /* the exchange's to decide */
	/* the household's own reading when it has one; else the energies
	 * are the exchange's word and only the arithmetic is checked */
	rd.export_wh = in->have_reading ? in->export_wh : st->export_wh;
	rd.import_wh = in->have_reading ? in->import_wh : st->import_wh;
	/* without trades the price moves no money: the statement's stands */
	price = in->have_result ? in->price_uper_kwh : st->price_uper_kwh;
	out->mine = *st;
	rc = settle_household(&tar, price, tr, in->n_trades, &rd, &out->mine);
	free(tr);
	if (rc != PW_OK)
		return say(f, AVERIFY_STMT_FIGURES, "cannot recompute the statement: %s",
		           pw_strerror(rc));
	const struct pw_statement *m = &out->mine;
	diff_u(&d, "flags", st->flags, m->flags);
	diff_i(&d, "price", st->price_uper_kwh, m->price_uper_kwh);
	diff_u(&d, "bought_wh", st->bought_wh, m->bought_wh);
	diff_u(&d, "sold_wh", st->sold_wh, m->sold_wh);
	diff_u(&d, "export_wh", st->export_wh, m->export_wh);
	diff_u(&d, "import_wh", st->import_wh, m->import_wh);
	diff_u(&d, "shortfall_wh", st->shortfall_wh, m->shortfall_wh);
	diff_u(&d, "excess_wh", st->excess_wh, m->excess_wh);
	diff_u(&d, "extra_import_wh", st->extra_import_wh, m->extra_import_wh);
	diff_u(&d, "unused_wh", st->unused_wh, m->unused_wh);
	diff_i(&d, "peer_u", st->peer_u, m->peer_u);
	diff_i(&d, "grid_u", st->grid_u, m->grid_u);
	diff_i(&d, "baseline_u", st->baseline_u, m->baseline_u);
	int fee_ok = st->fee_u == m->fee_u;
	/* a fee alone off (net and saving following from the signed fee): the
	 * fee's own code; the figures side by side either way */
	int64_t net, saving;
	enum averify_code c =
	    d.n == 0 && !fee_ok && pw_money_add(st->peer_u, st->grid_u, &net) == PW_OK &&
	            pw_money_sub(net, st->fee_u, &net) == PW_OK && net == st->net_u &&
	            pw_money_sub(net, st->baseline_u, &saving) == PW_OK && saving == st->saving_u
	        ? AVERIFY_STMT_FEE
	        : AVERIFY_STMT_FIGURES;
	diff_i(&d, "fee_u", st->fee_u, m->fee_u);
	diff_i(&d, "net_u", st->net_u, m->net_u);
	diff_i(&d, "saving_u", st->saving_u, m->saving_u);
	if (d.n > 0) {
		return say(f, c, "%s%s", d_text,
		           fee_ok ? ""
		                  : " (the grid fee of each purchase by the zone pair of its trade,"
		                    " from the MARKET and REGISTRY entries of the log)");
	}
	return AVERIFY_OK;
}
