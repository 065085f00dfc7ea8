/*
 * mprofile.h: what the local market is expected to pay for energy a
 * household offers in a coming interval, and how much of it the neighbours
 * would buy (docs/agent-energy.md "Battery": the local market's profile),
 * for the battery's plan (agent/bplan.h: local_uper_kwh, local_wh).
 *
 * Two sources:
 *   - the open order book of an interval (a DEPTH snapshot, the
 *     household's own orders taken out by the caller): the neighbours'
 *     bids that the other sellers' asks do not cover, matched as the
 *     auction matches (highest bids against lowest asks while the bid is
 *     at least the ask).  The volume is what is left of the bids; the price
 *     the lowest of those bids' prices, the clearing price if all of it
 *     were sold (mprofile_residual);
 *   - per time-of-day slot (as agent/forecast.h: at least 15 minutes of
 *     the devices' day), exponentially weighted means of the clearing
 *     price of past intervals with volume and of the volume the neighbours
 *     bought or left unserved (weight 1/3 per day), learned from each
 *     closed interval's RESULT and its last DEPTH snapshot
 *     (mprofile_learn).
 * mprofile_expect gives an interval's expectation: the slot's means, or
 * when the slot has never been seen, the prior (mprofile_learn_prior):
 * the price where past clearings lay between their tariffs (0 %: at the
 * feed-in, 100 %: at the retail tariff) applied to this interval's
 * tariffs, and half the neighbours' bids seen per interval (the other
 * sellers may serve the rest); before any of that, the midpoint of the
 * tariffs and no volume.  The price is always clamped into [feed-in,
 * retail].  The prior is what lets a household plan for an evening it has
 * not seen yet (the first day): the neighbours who bid at midday bid in
 * the evening too, and the auction clears at a similar place between the
 * tariffs.
 *
 * Units: prices in micro-units per kWh, energy in Wh per interval.  Pure:
 * no I/O, no allocation; struct mprofile is a plain value owned by the
 * caller (agent/abat.c).  Called by abat.c and tests/unit/test_mprofile.c.
 * Not thread-safe (one agent loop).
 */
#ifndef AGENT_MPROFILE_H
#define AGENT_MPROFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "peerwatt/error.h"
#include "peerwatt/wire.h"

#define MPROFILE_MIN_SLOT_S 900
#define MPROFILE_MAX_SLOTS  (86400 / MPROFILE_MIN_SLOT_S)

struct mprofile {
	uint32_t interval_s; /* on the devices' clock */
	uint32_t slot_s;     /* >= interval_s and >= MPROFILE_MIN_SLOT_S */
	uint32_t n_slots;
	double price_uper_kwh[MPROFILE_MAX_SLOTS];
	double volume_wh[MPROFILE_MAX_SLOTS];
	bool has_price[MPROFILE_MAX_SLOTS], has_volume[MPROFILE_MAX_SLOTS];
	/* the prior, over every interval learned (weight 1/8 each) */
	double pos;     /* clearing price's place between feed-in and retail, 0..1 */
	double bids_wh; /* the neighbours' bids per interval */
	bool has_pos, has_bids;
};

/* interval_s (devices' clock) in [1, 86400]; PW_ERR_RANGE otherwise. */
pw_err mprofile_init(struct mprofile *p, uint32_t interval_s) __attribute__((warn_unused_result));

/*
 * The residual demand of a book: levels[0..n-1] (any order; sides other
 * than PW_SIDE_BUY and PW_SIDE_SELL and empty levels are ignored).
 * *volume_wh the bid energy the asks do not cover; *price_uper_kwh the
 * lowest price among those bids (0 with no volume).  Returns
 * *volume_wh > 0.
 */
bool mprofile_residual(const struct pw_depth_level *levels, size_t n, int64_t *volume_wh,
                       int32_t *price_uper_kwh);

/*
 * A closed interval that started at the devices' time of day tod_s: its
 * clearing price when it had volume (has_price), and the energy the
 * neighbours bought from the household's stored energy or left unserved
 * (volume_wh, >= 0).
 */
void mprofile_learn(struct mprofile *p, uint32_t tod_s, bool has_price, int32_t price_uper_kwh,
                    int64_t volume_wh);

/*
 * A closed interval for the prior: its clearing price when it had volume
 * (has_price) with its tariffs feedin < retail (others teach no place),
 * and the neighbours' bids in its last book (bids_wh >= 0, < 0 unknown).
 */
void mprofile_learn_prior(struct mprofile *p, bool has_price, int32_t price_uper_kwh,
                          int32_t feedin_uper_kwh, int32_t retail_uper_kwh, int64_t bids_wh);

/*
 * The expectation for an interval at tod_s with tariffs feedin <= retail:
 * *price_uper_kwh in [feedin, retail], *volume_wh >= 0.  Returns whether
 * the slot had been learned (else the prior, or the midpoint and 0).
 */
bool mprofile_expect(const struct mprofile *p, uint32_t tod_s, int32_t feedin_uper_kwh,
                     int32_t retail_uper_kwh, int32_t *price_uper_kwh, int64_t *volume_wh);

/* x clamped into [lo, hi] (lo <= hi). */
int32_t mprofile_clamp(int64_t x, int32_t lo, int32_t hi);

#endif
