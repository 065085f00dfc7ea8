/*
 * averify.h: the household checks what the exchange signs to it
 * (docs/agent-checks.md "What the agent checks").  Pure functions, no I/O: a
 * RESULT against the household's own orders, and a STATEMENT recomputed
 * from the household's own trades, its own acknowledged reading and the
 * market's tariffs with the settlement rules the exchange and the audit use
 * (rules/settle.c), to the micro-unit, with the tariffs and the grid fees
 * of the MARKET entry governing the interval and the zones of the REGISTRY
 * entries of the household and its counterparties (agent/afee.c fetches
 * and proves them).
 *
 * The caller (agent/adispute.c) gathers the inputs from its database,
 * refuses what these functions refuse and keeps it as evidence.
 * Thread-safe (no shared state).
 */
#ifndef AGENT_AVERIFY_H
#define AGENT_AVERIFY_H

#include <stddef.h>
#include <stdint.h>

#include "peerwatt/error.h"
#include "peerwatt/wire.h"

/* Own orders of one interval the check looks at (the agent places a few:
 * auto-sell, standing bids, the dashboard's), and trades of one household in
 * one interval (a RESULT has at most 8192 per part; parts x 8192 in all). */
#define AVERIFY_MAX_ORDERS 256
#define AVERIFY_MAX_TRADES 65536

/* One of the household's own orders of the RESULT's interval: every ORDER
 * it signed for that interval that the exchange may have accepted (ACKed,
 * or sent and unanswered), not those the exchange refused. */
struct averify_order {
	uint64_t seq;
	uint8_t side; /* PW_SIDE_BUY, PW_SIDE_SELL */
	uint32_t qty_wh;
	int32_t price_uper_kwh; /* its limit; may be negative */
	int cancelled;          /* the exchange ACKed a CANCEL of it: it cannot trade */
	uint64_t filled_wh;     /* already filled by earlier parts of this RESULT */
};

/* One trade of the household taken from a RESULT. */
struct averify_trade {
	uint64_t seq; /* the household's own order */
	uint8_t side; /* the household's side */
	uint32_t qty_wh;
	/* the grid fee of the trade's zone pair, averify_market_fee() of the
	 * buyer's and the seller's zones (the buyer pays it) */
	uint32_t fee_uper_kwh;
};

/* Why a frame is refused; AVERIFY_OK when it is not. */
enum averify_code {
	AVERIFY_OK = 0,
	AVERIFY_RESULT_SHAPE,      /* header or parts do not add up */
	AVERIFY_RESULT_SELF,       /* the household on both sides of a trade */
	AVERIFY_RESULT_UNKNOWN,    /* a trade names an order the household never placed */
	AVERIFY_RESULT_SIDE,       /* ... or one of the other side */
	AVERIFY_RESULT_CANCELLED,  /* ... or one the exchange confirmed cancelled */
	AVERIFY_RESULT_OVERFILL,   /* more Wh than the order's quantity */
	AVERIFY_RESULT_LIMIT,      /* the price is beyond the order's limit */
	AVERIFY_RESULT_EQUIVOCAL,  /* a second, different RESULT for the interval */
	AVERIFY_STMT_OTHER,        /* not this household's, or another interval */
	AVERIFY_STMT_MISSING_FLAG, /* "reading missing" for an acknowledged reading */
	AVERIFY_STMT_FIGURES,      /* a figure differs from the agent's */
	AVERIFY_STMT_FEE,          /* the fee is not what the market's fees give */
	AVERIFY_STMT_EQUIVOCAL,    /* a second, different STATEMENT for the interval */
};

/* "result_unknown_order", ... (stable names for logs and the database). */
const char *averify_code_name(enum averify_code c);

#define AVERIFY_TEXT_LEN 400

/* What was refused, in words with the figures side by side. */
struct averify_finding {
	enum averify_code code;
	char text[AVERIFY_TEXT_LEN];
};

/*
 * Checks one RESULT part `r` (already signature-checked and decoded) for
 * the household `me` against its own orders of that interval (`orders`,
 * n_orders; their filled_wh says what earlier parts of the same RESULT
 * filled).  Rules: the header is consistent (no volume: price 0 and no
 * trade; a price of 0 with volume is possible when the feed-in tariff is 0), a trade
 * has Wh, a single part carries all the trades and its volume is their sum,
 * part < parts); every trade naming the household is on one side only,
 * names one of its own orders of that side that was not cancelled, fills
 * it to at most its quantity over all parts, at a price within its limit
 * (a buy needs limit >= price, a sell limit <= price).  The price of every
 * trade is the RESULT's uniform price (the wire has no other).
 *
 * On AVERIFY_OK, out[0..*n_out) are the household's trades of this part
 * and the orders' filled_wh are advanced.  Otherwise `f` says why and
 * nothing of the part is the household's.  cap must be >= r->n_trades.
 */
enum averify_code averify_result(const struct pw_result *r, const uint8_t me[PW_PK_LEN],
                                 struct averify_order *orders, size_t n_orders,
                                 struct averify_trade *out, size_t cap, size_t *n_out,
                                 struct averify_finding *f);

/* Two parts of one interval's RESULT agree on the header (interval, price,
 * volume, trade count, number of parts): 1, else 0 (equivocation). */
int averify_result_same_header(const struct pw_result *a, const struct pw_result *b);

/* What the household knows of one interval, to recompute its statement. */
struct averify_stmt_in {
	uint64_t interval;
	/* the interval's accepted RESULT: its price and the household's trades
	 * (none when it had no order; have_result 0 when none is held) */
	int have_result;
	int32_t price_uper_kwh;
	const struct averify_trade *trades;
	size_t n_trades;
	/* its own reading of the interval that the exchange ACKed */
	int have_reading;
	uint64_t export_wh, import_wh;
	/* the ACK of that reading is dated before a checkpoint of this or an
	 * earlier interval, hence before the interval was settled: a
	 * "reading missing" statement contradicts it */
	int reading_before_settlement;
	/* the tariffs of the MARKET entry governing the interval, per kWh (the
	 * trades carry their fees) */
	int32_t feedin_uper_kwh, retail_uper_kwh; /* may be negative */
};

/* What the household computed: the statement as the rules give it. */
struct averify_stmt_out {
	struct pw_statement mine;
};

/*
 * The grid fee per kWh of a trade between zones `zone_a` and `zone_b`
 * (tokens of at most PW_TOKEN_LEN bytes, NUL padded) under the MARKET entry
 * `mk`: its explicit fee for the unordered pair, else the same-zone fee when
 * the zones are equal, else the default fee (docs/market.md "Grid fees",
 * the rule of the exchange's xrules_fee()).
 */
uint32_t averify_market_fee(const struct pw_market *mk, const char *zone_a, const char *zone_b);

/*
 * Recomputes the statement `st` of household `me` with settle_household()
 * and compares it field by field.  Exact: bought, sold (from the trades),
 * export and import (from the acknowledged reading; without one, the
 * statement's own figures are taken and only the arithmetic is checked),
 * the four imbalances, peer_u, grid_u, baseline_u, the flags but "late",
 * the price (when a RESULT is held), fee_u (each purchase at its trade's
 * fee), net_u and saving_u.
 * AVERIFY_OK or the first reason, with every differing figure in `f`.
 */
enum averify_code averify_statement(const struct averify_stmt_in *in, const uint8_t me[PW_PK_LEN],
                                    const struct pw_statement *st, struct averify_stmt_out *out,
                                    struct averify_finding *f);

#endif
