/*
 * xsched.h: the tariff and grid-fee schedules in the log (the dynamic-tariff
 * issue; docs/market.md "Tariff schedule", docs/exchange.md "Tariff
 * schedule").
 *
 * `[market] tariff_file` (exchange/schedule.h) and `fee_file` state the
 * rules of every interval: a tariff row governs from its time until the
 * next row, a fee table likewise; before a file's first row the fixed
 * tariffs (`feedin`, `retail`) and `[fees]` govern.  Published is final:
 * at start and on reload, the rules the files state for the intervals from
 * P = max(E, latest logged effective_interval + 1) on are appended as MARKET
 * entries, one per change (consecutive equal rows merged), in one
 * transaction, where E is the first interval no accepted order can target
 * (the smaller of floor((now + max_ahead_s) / interval_s) + 1 and the
 * interval after the latest one a logged order targets, never one whose
 * gate has passed); for the intervals from the
 * current one up to P the files must state exactly what the log states,
 * else the whole schedule is refused naming the line and the interval, and
 * nothing changes.  Rows before the current interval are history.  A file
 * ending before what the log already published unpublishes nothing.
 * Without either file the fixed tariffs and [fees] work as before
 * (xrules_append_market() from E when they change).
 *
 * Called by exchange/main.c at start and on SIGHUP; runs its own store
 * transaction.  Not thread-safe.
 */
#ifndef EXCHANGE_XSCHED_H
#define EXCHANGE_XSCHED_H

#include <stddef.h>
#include <stdint.h>

#include "exchange/mlog.h"
#include "exchange/store.h"
#include "exchange/xconfig.h"
#include "exchange/xrules.h"
#include "peerwatt/error.h"
#include "peerwatt/keys.h"

/*
 * Bring the log's MARKET entries up to the configuration `c` at time
 * `now_s` (see above).  *appended (may be NULL) gets the number of MARKET
 * entries appended.  PW_ERR_CONFIG with `err` naming the file, line and
 * interval when a file does not parse or would change a published or
 * passed interval (nothing appended); other errors when the log cannot be
 * written (nothing appended).
 */
pw_err xsched_sync(struct xrules *x, struct store *s, struct mlog *log, const struct pw_keypair *kp,
                   const struct xconfig *c, uint64_t now_s, size_t *appended, char *err,
                   size_t errlen) __attribute__((warn_unused_result));

/* What xsched_sync() would append now: n MARKET entries, effective from
 * interval `first` to `last` (n > 0). */
struct xsched_plan {
	size_t n;
	uint64_t first, last;
};

/*
 * xsched_sync() without writing (--check-config): the same checks and
 * refusals (PW_ERR_CONFIG with `err`), and into *plan what it would
 * append.  `s` may be opened with store_open_read(); `x` is not changed.
 */
pw_err xsched_plan(struct xrules *x, struct store *s, const struct xconfig *c, uint64_t now_s,
                   struct xsched_plan *plan, char *err, size_t errlen)
    __attribute__((warn_unused_result));

#endif
