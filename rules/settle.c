/*
 * settle.c: settlement of one household and interval, and the interval's
 * balance check (rules: docs/market.md "Settlement"; interface:
 * rules/settle.h).  Called by the exchange after interval end + grace and
 * by peerwatt-audit on replay.  Owns no state.
 */
#include "rules/settle.h"

#include <string.h>

#include "peerwatt/money.h"

uint32_t
settle_fee_lookup(const struct settle_fees *fees, const char *zone_a, const char *zone_b)
{
	for (size_t i = 0; i < fees->n_pairs; i++) {
		const struct settle_fee *f = &fees->pairs[i];
		if ((strncmp(f->zone_a, zone_a, SETTLE_ZONE_MAX) == 0 &&
		     strncmp(f->zone_b, zone_b, SETTLE_ZONE_MAX) == 0) ||
		    (strncmp(f->zone_a, zone_b, SETTLE_ZONE_MAX) == 0 &&
		     strncmp(f->zone_b, zone_a, SETTLE_ZONE_MAX) == 0))
			return f->fee_uper_kwh;
	}
	if (strncmp(zone_a, zone_b, SETTLE_ZONE_MAX) == 0)
		return fees->same_zone_uper_kwh;
	return fees->default_uper_kwh;
}

/* acc += sign * amount(qty, price), overflow-checked. */
static pw_err
add_amount(int64_t *acc, int sign, uint64_t qty_wh, int64_t price_uper_kwh)
{
	int64_t a;
	pw_err rc = pw_money_amount(qty_wh, price_uper_kwh, &a);
	if (rc != PW_OK)
		return rc;
	return sign > 0 ? pw_money_add(*acc, a, acc) : pw_money_sub(*acc, a, acc);
}

pw_err
settle_household(const struct settle_tariffs *tariffs, int32_t price_uper_kwh,
                 const struct settle_trade *trades, size_t n_trades,
                 const struct settle_reading *reading, struct pw_statement *st)
{
	pw_err rc;
	if (tariffs == NULL || reading == NULL || st == NULL || (trades == NULL && n_trades > 0))
		return PW_ERR_ARG;

	st->flags = 0;
	st->price_uper_kwh = price_uper_kwh;
	st->bought_wh = st->sold_wh = 0;
	st->peer_u = st->grid_u = st->fee_u = 0;

	/* Peer money and fees trade by trade: each trade's amount is the same
	 * figure the counterparty's statement carries. */
	for (size_t i = 0; i < n_trades; i++) {
		const struct settle_trade *t = &trades[i];
		if (t->qty_wh == 0)
			return PW_ERR_FIELD;
		if (t->side == PW_SIDE_SELL) {
			st->sold_wh += t->qty_wh;
			rc = add_amount(&st->peer_u, +1, t->qty_wh, price_uper_kwh);
		} else if (t->side == PW_SIDE_BUY) {
			st->bought_wh += t->qty_wh;
			rc = add_amount(&st->peer_u, -1, t->qty_wh, price_uper_kwh);
			if (rc == PW_OK)
				rc = add_amount(&st->fee_u, +1, t->qty_wh, t->fee_uper_kwh);
		} else {
			return PW_ERR_FIELD;
		}
		if (rc != PW_OK)
			return rc;
	}

	if (reading->missing) {
		/* Conservative: the seller delivered nothing, the buyer consumed
		 * exactly what it bought.  These stand in for the metered figures. */
		st->flags |= PW_STMT_READING_MISSING;
		st->export_wh = 0;
		st->import_wh = st->bought_wh;
	} else {
		st->export_wh = reading->export_wh;
		st->import_wh = reading->import_wh;
		if (reading->late)
			st->flags |= PW_STMT_READING_LATE;
	}

	/* Imbalances against the grid: export side vs sold, import side vs bought. */
	st->shortfall_wh = st->sold_wh > st->export_wh ? st->sold_wh - st->export_wh : 0;
	st->excess_wh = st->export_wh > st->sold_wh ? st->export_wh - st->sold_wh : 0;
	st->extra_import_wh = st->import_wh > st->bought_wh ? st->import_wh - st->bought_wh : 0;
	st->unused_wh = st->bought_wh > st->import_wh ? st->bought_wh - st->import_wh : 0;

	if ((rc = add_amount(&st->grid_u, -1, st->shortfall_wh, tariffs->retail_uper_kwh)) ||
	    (rc = add_amount(&st->grid_u, +1, st->excess_wh, tariffs->feedin_uper_kwh)) ||
	    (rc = add_amount(&st->grid_u, -1, st->extra_import_wh, tariffs->retail_uper_kwh)) ||
	    (rc = add_amount(&st->grid_u, +1, st->unused_wh, tariffs->feedin_uper_kwh)))
		return rc;

	int64_t net;
	if ((rc = pw_money_add(st->peer_u, st->grid_u, &net)) ||
	    (rc = pw_money_sub(net, st->fee_u, &net)))
		return rc;
	st->net_u = net;

	/* Grid only: every exported Wh at feed-in, every imported Wh at retail. */
	st->baseline_u = 0;
	if ((rc = add_amount(&st->baseline_u, +1, st->export_wh, tariffs->feedin_uper_kwh)) ||
	    (rc = add_amount(&st->baseline_u, -1, st->import_wh, tariffs->retail_uper_kwh)))
		return rc;
	return pw_money_sub(st->net_u, st->baseline_u, &st->saving_u);
}

/* The per-statement identities settle_household() guarantees. */
static int
statement_consistent(const struct pw_statement *s)
{
	int64_t net, saving;
	if (pw_money_add(s->peer_u, s->grid_u, &net) != PW_OK ||
	    pw_money_sub(net, s->fee_u, &net) != PW_OK || net != s->net_u)
		return 0;
	if (pw_money_sub(s->net_u, s->baseline_u, &saving) != PW_OK || saving != s->saving_u)
		return 0;
	if (s->fee_u < 0)
		return 0;
	/* At most one of each pair is non-zero and they close the gap exactly. */
	if ((s->shortfall_wh != 0 && s->excess_wh != 0) ||
	    (s->extra_import_wh != 0 && s->unused_wh != 0))
		return 0;
	/* In 128 bits: a forged statement must not pass by wrapping around. */
	if ((unsigned __int128)s->sold_wh + s->excess_wh !=
	    (unsigned __int128)s->export_wh + s->shortfall_wh)
		return 0;
	if ((unsigned __int128)s->bought_wh + s->extra_import_wh !=
	    (unsigned __int128)s->import_wh + s->unused_wh)
		return 0;
	if ((s->flags & PW_STMT_READING_MISSING) &&
	    (s->export_wh != 0 || s->import_wh != s->bought_wh))
		return 0;
	return 1;
}

pw_err
settle_totals(const struct pw_statement *st, size_t n, struct settle_totals *out)
{
	if (out == NULL || (st == NULL && n > 0))
		return PW_ERR_ARG;
	memset(out, 0, sizeof(*out));
	int ok = 1;
	pw_err rc;
	for (size_t i = 0; i < n; i++) {
		const struct pw_statement *s = &st[i];
		if (!statement_consistent(s) || s->price_uper_kwh != st[0].price_uper_kwh)
			ok = 0;
		if (__builtin_add_overflow(out->bought_wh, s->bought_wh, &out->bought_wh) ||
		    __builtin_add_overflow(out->sold_wh, s->sold_wh, &out->sold_wh))
			return PW_ERR_OVERFLOW;
		if (s->peer_u < 0)
			rc = pw_money_sub(out->peer_paid_u, s->peer_u, &out->peer_paid_u);
		else
			rc = pw_money_add(out->peer_received_u, s->peer_u, &out->peer_received_u);
		if (rc || (rc = pw_money_add(out->fee_u, s->fee_u, &out->fee_u)) ||
		    (rc = pw_money_add(out->grid_u, s->grid_u, &out->grid_u)) ||
		    (rc = pw_money_add(out->net_u, s->net_u, &out->net_u)))
			return rc;
	}
	int64_t sum;
	if ((rc = pw_money_sub(out->fee_u, out->grid_u, &out->grid_account_u)) ||
	    (rc = pw_money_add(out->net_u, out->grid_account_u, &sum)))
		return rc;
	if (out->bought_wh != out->sold_wh || out->peer_paid_u != out->peer_received_u || sum != 0)
		ok = 0;
	return ok ? PW_OK : PW_ERR_CORRUPT;
}
