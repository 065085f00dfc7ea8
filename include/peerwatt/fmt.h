/*
 * fmt.h: prices, intervals and powers as people read them in the logs and
 * on the dashboard.
 *
 *   pw_fmt_price   250000 u/kWh        -> "25.00 ct/kWh" (exact: "17.875 ct/kWh";
 *                  negative: -35000 -> "-3.50 ct/kWh")
 *   pw_fmt_interval 359315281 with 5 s -> "359315281 (2026-12-06T17:00:05Z)"
 *   pw_fmt_power   3680 W              -> "3.68 kW" (800 -> "800 W", 3600000 -> "3.6 MW")
 *
 * The interval number stays next to its start time (UTC, ISO 8601) so that a
 * log line can be matched with the database and the protocol, which count
 * intervals, and read by people, who count hours.  Caller-allocated buffers
 * of at least PW_FMT_LEN bytes; the output is always terminated.  Pure
 * functions: thread-safe.
 */
#ifndef PEERWATT_FMT_H
#define PEERWATT_FMT_H

#include <stddef.h>
#include <stdint.h>

#define PW_FMT_LEN 48

/* A price in micro-units per kWh as cents per kWh, at least two decimals. */
void pw_fmt_price(int64_t price_uper_kwh, char *out, size_t cap);
/* Interval number and the UTC start of [interval * interval_s, ...). */
void pw_fmt_interval(uint64_t interval, int64_t interval_s, char *out, size_t cap);
/* A power in W: W below 1 kW, else kW below 1 MW, else MW; exact (trailing
 * zeros of the decimals dropped, never rounded). */
void pw_fmt_power(uint64_t w, char *out, size_t cap);

#endif
