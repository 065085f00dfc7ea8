/*
 * validate.h: the market's entry rules for ORDER, CANCEL and METER
 * (DESIGN.md section 6-7, docs/market.md), as pure functions.
 *
 * The caller (exchange/engine.c) gathers the state a rule needs (clock,
 * market parameters, the household's last sequence, its open quantities,
 * its meter history) into the structs below and gets back PW_REASON_OK or
 * the reason code of the REJECT.  The order of the checks is part of the
 * contract (docs/exchange.md): a replayed message is REPLAY even when it
 * has expired since.  No I/O, no clock: thread-safe and unit-testable.
 */
#ifndef RULES_VALIDATE_H
#define RULES_VALIDATE_H

#include <stddef.h>
#include <stdint.h>

#include "peerwatt/wire.h"

struct validate_market {
	int64_t now_s;
	int64_t interval_s;
	int64_t gate_s;
	int64_t max_ahead_s;
	int32_t feedin_uper_kwh; /* may be negative */
	int32_t retail_uper_kwh;
};

/* The household's state relevant to an ORDER. */
struct validate_book {
	uint64_t last_seq;      /* last accepted ORDER/CANCEL seq (0: none) */
	uint64_t capacity_wh;   /* registered max power x L for the order's side */
	uint64_t open_same_wh;  /* open quantity on the order's side in its interval */
	uint64_t open_other_wh; /* open quantity on the other side in its interval */
};

/*
 * The capacity rule (docs/market.md "Entry rules"): the open quantity of
 * one side of a household in an interval is at most its registered power
 * for that side x L, in Wh, rounded down.  The meter's plausibility bound is
 * the same product rounded up (a meter at exactly full power for the whole
 * interval is never refused for a rounding unit).  0 for power_w <= 0 or
 * interval_s <= 0.  The exchange and peerwatt-audit both use these.
 */
uint64_t validate_capacity_wh(int64_t power_w, int64_t interval_s);
uint64_t validate_meter_max_wh(int64_t power_w, int64_t interval_s);

/* Frame-level checks before decoding: one frame, at most
 * PW_WIRE_MAX_REQUEST bytes.  Returns OK, MALFORMED or OVERSIZE. */
enum pw_reason validate_frame(size_t n_frames, size_t len);

/* 1 when interval i is still open for orders at m->now_s: now < i*L - G.
 * Never overflows (intervals far in the future are open, see too_far). */
int validate_interval_open(const struct validate_market *m, uint64_t interval);

enum pw_reason validate_order(const struct validate_market *m, const struct validate_book *b,
                              const struct pw_order *o);

/* The cancelled order as stored; `found` = 0 when the author has no
 * order with that seq. */
struct validate_cancel_target {
	int found;
	int open; /* still open */
	uint64_t interval;
};

enum pw_reason validate_cancel(const struct validate_market *m, uint64_t last_seq,
                               const struct validate_cancel_target *t, const struct pw_cancel *c);

/* The household's meter history and registration. */
struct validate_meter_state {
	const char *serial; /* registered serial, NUL terminated */
	int64_t max_export_w, max_import_w;
	uint64_t last_seq; /* 0: no reading yet */
	uint64_t last_interval;
	uint64_t last_export_end_wh, last_import_end_wh;
	int has_reading_for_interval; /* a reading for m->interval exists */
};

enum pw_reason validate_meter(const struct validate_market *m, const struct validate_meter_state *s,
                              const struct pw_meter *r);

#endif
