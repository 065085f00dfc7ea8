/*
 * settle.h: the settlement arithmetic of one household for one delivery
 * interval, and the balance check of an interval's statements
 * (docs/market.md "Settlement" states the rules this code implements).
 *
 * Pure computation: no I/O, no clock, no allocation.  The exchange calls
 * settle_household() at interval end + grace to fill each STATEMENT;
 * peerwatt-audit calls the same functions on replay and compares.
 * Every money figure goes through pw_money_amount() once per trade or per
 * imbalance quantity, so a trade's amount is the same number on both
 * sides.  Thread-safe (no shared state).
 */
#ifndef RULES_SETTLE_H
#define RULES_SETTLE_H

#include <stddef.h>
#include <stdint.h>

#include "peerwatt/error.h"
#include "peerwatt/wire.h"

#define SETTLE_ZONE_MAX 32 /* zone names are shorter than this */

struct settle_tariffs {
	int32_t feedin_uper_kwh; /* paid for export the market did not take (< 0: charged) */
	int32_t retail_uper_kwh; /* charged for import the market did not supply */
};

/* Grid fee of one unordered zone pair (a,b) = (b,a), in u/kWh. */
struct settle_fee {
	char zone_a[SETTLE_ZONE_MAX];
	char zone_b[SETTLE_ZONE_MAX];
	uint32_t fee_uper_kwh;
};

struct settle_fees {
	const struct settle_fee *pairs; /* caller's array; first match wins */
	size_t n_pairs;
	uint32_t same_zone_uper_kwh; /* both in one zone, no entry for the pair */
	uint32_t default_uper_kwh;   /* different zones, no entry for the pair */
};

/* The fee of a trade between a household in `zone_a` and one in `zone_b`:
 * an entry for the pair (either order) wins, else the same-zone fee when the
 * zones are equal, else the default (the rule of xconfig_fee()). */
uint32_t settle_fee_lookup(const struct settle_fees *fees, const char *zone_a, const char *zone_b);

/* One trade of the interval as seen by the household being settled. */
struct settle_trade {
	uint8_t side;          /* PW_SIDE_BUY: it bought; PW_SIDE_SELL: it sold */
	uint32_t qty_wh;       /* > 0 */
	uint32_t fee_uper_kwh; /* settle_fee_lookup(buyer zone, seller zone); paid by the buyer */
};

/* The household's grid meter over the interval (end - start registers). */
struct settle_reading {
	int missing; /* no accepted reading by the deadline: settle conservatively */
	int late;    /* accepted but flagged late (sets PW_STMT_READING_LATE) */
	uint64_t export_wh;
	uint64_t import_wh;
};

/*
 * Fill `st` for one household: every field except `household` and
 * `interval`, which the caller sets (they are left as they are).
 * `price_uper_kwh` is the interval's clearing price (negative: sellers pay
 * buyers, the same rounding rule), `trades` the
 * household's trades in it (n_trades may be 0).  PW_ERR_ARG on NULL,
 * PW_ERR_FIELD on a trade with a bad side or zero quantity,
 * PW_ERR_OVERFLOW when a figure does not fit; `st` is then unspecified.
 */
pw_err settle_household(const struct settle_tariffs *tariffs, int32_t price_uper_kwh,
                        const struct settle_trade *trades, size_t n_trades,
                        const struct settle_reading *reading, struct pw_statement *st)
    __attribute__((warn_unused_result));

/* What an interval's statements add up to. */
struct settle_totals {
	uint64_t bought_wh;      /* sum of bought_wh */
	uint64_t sold_wh;        /* sum of sold_wh */
	int64_t peer_paid_u;     /* sum of -peer_u over statements with peer_u < 0 */
	int64_t peer_received_u; /* sum of peer_u over statements with peer_u > 0 */
	int64_t fee_u;           /* sum of fee_u */
	int64_t grid_u;          /* sum of grid_u (households' view) */
	int64_t grid_account_u;  /* the grid's balance: fee_u - grid_u */
	int64_t net_u;           /* sum of net_u; always -grid_account_u when balanced */
};

/*
 * Add up the `n` statements of one interval and check that they balance:
 * bought = sold, peer payments = peer receipts exactly, every statement's
 * net = peer + grid - fee and saving = net - baseline, imbalance figures
 * consistent with the metered energy, one clearing price, and the sum of
 * nets plus the grid account is zero.  PW_ERR_CORRUPT when anything does not
 * hold (`out` still holds the sums), PW_ERR_OVERFLOW, PW_ERR_ARG.
 */
pw_err settle_totals(const struct pw_statement *st, size_t n, struct settle_totals *out)
    __attribute__((warn_unused_result));

#endif
