/*
 * auction.h: the uniform-price double auction of one delivery interval
 * (docs/market.md states the rules this code implements).
 *
 * Pure computation: no I/O, no clock, no allocation beyond the result.
 * The same orders in the same arrival order always give the same trades.
 * Called by the exchange at gate closure and by peerwatt-audit on replay.
 * Thread-safe (no shared state).
 */
#ifndef RULES_AUCTION_H
#define RULES_AUCTION_H

#include <stddef.h>
#include <stdint.h>

#include "peerwatt/error.h"

struct auction_order {
	uint64_t arrival;       /* exchange arrival order (log index): tie-break, unique */
	uint32_t qty_wh;        /* > 0 */
	int32_t price_uper_kwh; /* limit; may be negative */
	uint8_t side;           /* PW_SIDE_BUY or PW_SIDE_SELL */
};

struct auction_trade {
	size_t buy;      /* index of the bid in the caller's order array */
	size_t sell;     /* index of the ask */
	uint32_t qty_wh; /* > 0 */
};

struct auction_result {
	int32_t price_uper_kwh; /* uniform price, may be negative; 0 when nothing trades */
	uint64_t volume_wh;
	size_t n_trades;
	struct auction_trade *trades; /* owned by the result */
};

/*
 * Clear `n` orders (any input order: ranking uses only price and arrival).
 * On PW_OK `out` holds the price, volume and trades in matching order
 * (caller owns them: auction_result_free()).  PW_ERR_FIELD when an order
 * has a zero quantity or an unknown side or two orders share an arrival
 * number; PW_ERR_RANGE above UINT32_MAX orders; PW_ERR_NOMEM.  On error
 * `out` is empty.  Linear time (radix sorts): one pass fewer when the
 * orders come sorted by arrival, as the exchange passes them.
 */
pw_err auction_clear(const struct auction_order *orders, size_t n, struct auction_result *out)
    __attribute__((warn_unused_result));

/* Frees the trades and zeroes `r`; safe on a zeroed result. */
void auction_result_free(struct auction_result *r);

#endif
