/*
 * money.h: energy, prices and money as integers.
 *
 *   energy  Wh                      (uint64_t / int64_t, names end in _wh)
 *   power   W                       (int64_t, names end in _w)
 *   price   micro-units per kWh     (int32_t, names end in _uper_kwh;
 *                                    25.00 ct/kWh = 0.25/kWh = 250000;
 *                                    negative: the seller pays)
 *   money   micro-units             (int64_t, names end in _u)
 *
 * The one rounding rule (docs/market.md): amount_u = qty_wh * price / 1000,
 * rounded half up (floor((qty_wh * price + 500) / 1000), floor toward minus
 * infinity for negative prices too: -0.5 -> 0, -0.501 -> -1).  It is computed
 * once per trade and the same figure is debited and credited, so money
 * balances exactly.  Every operation checks for overflow.  Thread-safe.
 */
#ifndef PEERWATT_MONEY_H
#define PEERWATT_MONEY_H

#include <stddef.h>
#include <stdint.h>

#include "peerwatt/error.h"

/* The trade-amount rule; PW_ERR_OVERFLOW when the result is outside int64.
 * A negative price gives a negative amount (the rounding is still half up). */
pw_err pw_money_amount(uint64_t qty_wh, int64_t price_uper_kwh, int64_t *amount_u)
    __attribute__((warn_unused_result));
pw_err pw_money_add(int64_t a, int64_t b, int64_t *out) __attribute__((warn_unused_result));
pw_err pw_money_sub(int64_t a, int64_t b, int64_t *out) __attribute__((warn_unused_result));
pw_err pw_money_mul(int64_t a, int64_t b, int64_t *out) __attribute__((warn_unused_result));

/* "-12.345678" style text of micro-units; `out` of at least 32 bytes. */
void pw_money_format(int64_t amount_u, char *out, size_t cap);
/* Decimal text with at most 6 fractional digits ("0.25", "-3", "12.5") to
 * micro-units; PW_ERR_PARSE / PW_ERR_RANGE otherwise. */
pw_err pw_money_parse(const char *text, int64_t *amount_u) __attribute__((warn_unused_result));

#endif
