/*
 * xrules_int.h: what exchange/xrules.c and exchange/xrules_cache.c share
 * (not for other modules).
 */
#ifndef EXCHANGE_XRULES_INT_H
#define EXCHANGE_XRULES_INT_H

#include <stdint.h>

#include "exchange/xrules.h"
#include "peerwatt/wire.h"

#define U32_MAX_LL 4294967295LL

/*
 * Add the fee of zones a/b to `mk` in canonical form: the smaller zone
 * first, sorted, a zone's own pair at the same-zone fee left out (the
 * fallback gives it).  0, or -1 when the pair is there with another fee
 * or the table is full.
 */
int xrules_add_fee(struct pw_market *mk, const char *a, const char *b, uint32_t fee);

/* Add MARKET entry `mk` at log index `idx` to x->markets (its fee table
 * interned) and make it x->market.  PW_ERR_NOMEM leaves `x` as it was. */
pw_err xrules_market_push(struct xrules *x, const struct pw_market *mk, uint64_t idx);

#endif
