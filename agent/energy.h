/*
 * energy.h: per-interval export and import energy from a grid meter.
 *
 * Pure (no I/O, no clock, no allocation): fed with one sample per poll, it
 * turns the meter's export/import accumulators into energy deltas and sums
 * them until the caller takes the interval's totals.  The rules, each a
 * lesson from real meters:
 *   - acc32 counters wrap at 2^32 counts: a drop that is a plausible wrap is
 *     counted as one; any other drop is a reset (meter replaced or cleared):
 *     nothing is counted and the counter is re-based.
 *   - a zero (or absent) accumulator, typically at wake-up, is skipped: the
 *     last good value stays the base, so nothing is lost and nothing doubled.
 *   - a delta above rated power x dt (+10 % and one count of resolution) is
 *     rejected, logged and re-based: never credited.
 *   - power is integrated only for a meter that has never shown an
 *     accumulator, never over a gap longer than max_gap_ms.
 *   - the meter's power sign is auto|import_positive|export_positive; auto
 *     learns it from which accumulator grows while the power has which sign
 *     (and a configured sign is checked the same way).
 * Energy is kept in mWh internally so fractional counts carry over from one
 * interval to the next; totals are handed out in whole Wh.
 *
 * Called by the agent daemon after each successful sunspec_poll().
 * The struct is the caller's; not thread-safe.
 */
#ifndef AGENT_ENERGY_H
#define AGENT_ENERGY_H

#include <stdbool.h>
#include <stdint.h>

#include "peerwatt/error.h"

/* Same order as aconfig's meter_sign. */
enum energy_sign {
	ENERGY_SIGN_AUTO = 0,
	ENERGY_SIGN_IMPORT_POSITIVE, /* power > 0: drawing from the grid (SunSpec) */
	ENERGY_SIGN_EXPORT_POSITIVE, /* power > 0: feeding the grid */
};

#define ENERGY_SIGN_VOTES 3  /* consistent observations to settle "auto" */
#define ENERGY_SIGN_MIN_W 20 /* powers closer to zero than this are not evidence */

struct energy_cfg {
	enum energy_sign sign;
	int64_t rated_power_w; /* plausibility bound; <= 0 disables the check */
	uint32_t max_gap_ms;   /* longest step power integration bridges */
};

/* One accumulator as read: value = raw * 10^sf Wh; bits 16/32/64 wrap there, 0 never. */
struct energy_acc {
	bool has;
	uint64_t raw;
	int sf;
	int bits;
};

struct energy_sample {
	int64_t t_ms; /* a monotonic or wall clock, milliseconds */
	bool has_power;
	double power_w; /* as the meter reports it */
	struct energy_acc exp, imp;
};

struct energy_counter {
	bool have;
	uint64_t raw;
	int sf;
	int64_t mwh;
};

struct energy {
	struct energy_cfg cfg;
	bool have_prev;
	int64_t prev_ms;
	bool prev_has_power;
	double prev_power_w;
	bool seen_acc; /* the meter has accumulators: never integrate power */
	struct energy_counter exp, imp;
	int64_t exp_mwh, imp_mwh; /* the open interval, not yet taken */
	enum energy_sign detected;
	int votes_imp_pos, votes_exp_pos;
	uint64_t wraps, resets, rejected, zero_skipped, integrated, sign_mismatches;
};

void energy_init(struct energy *e, const struct energy_cfg *cfg);

/*
 * Account one sample.  PW_OK, or PW_ERR_IMPLAUSIBLE when a delta was rejected
 * (the rest of the sample still counts), PW_ERR_ARG for a sample not later
 * than the previous one (ignored).
 */
pw_err energy_sample(struct energy *e, const struct energy_sample *s);

/* Whole Wh exported and imported since the last take; the remainder stays. */
void energy_take(struct energy *e, int64_t *export_wh, int64_t *import_wh);

/* The sign in force: the configured one, else the detected one, else AUTO (unknown). */
enum energy_sign energy_sign_effective(const struct energy *e);

/*
 * The meter's power as export power (> 0 feeding the grid).  PW_ERR_STATE while
 * "auto" has not settled.
 */
pw_err energy_export_power_w(const struct energy *e, double meter_power_w, double *export_w);

#endif
