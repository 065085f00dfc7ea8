/*
 * mprofile.c: the local market's expected price and volume per time of
 * day (see mprofile.h).  Called by agent/abat.c.
 */
#include "agent/mprofile.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* as the forecast's profile: a day moves it by a third */
#define MPROFILE_ALPHA (1.0 / 3.0)
/* the prior: each interval moves it by an eighth */
#define MPROFILE_PRIOR_ALPHA (1.0 / 8.0)

pw_err
mprofile_init(struct mprofile *p, uint32_t interval_s)
{
	if (interval_s == 0 || interval_s > 86400)
		return PW_ERR_RANGE;
	memset(p, 0, sizeof(*p));
	p->interval_s = interval_s;
	p->slot_s = interval_s > MPROFILE_MIN_SLOT_S ? interval_s : MPROFILE_MIN_SLOT_S;
	p->n_slots = 86400 / p->slot_s;
	if (p->n_slots == 0)
		p->n_slots = 1;
	return PW_OK;
}

static uint32_t
slot_of(const struct mprofile *p, uint32_t tod_s)
{
	uint32_t s = (tod_s % 86400) / p->slot_s;
	return s < p->n_slots ? s : p->n_slots - 1;
}

int32_t
mprofile_clamp(int64_t x, int32_t lo, int32_t hi)
{
	return x < lo ? lo : x > hi ? hi : (int32_t)x;
}

/* bids by price, highest first; asks lowest first */
static int
by_price_desc(const void *x, const void *y)
{
	const struct pw_depth_level *a = x, *b = y;
	return a->price_uper_kwh < b->price_uper_kwh ? 1 : a->price_uper_kwh > b->price_uper_kwh;
}

static int
by_price_asc(const void *x, const void *y)
{
	return by_price_desc(y, x);
}

bool
mprofile_residual(const struct pw_depth_level *levels, size_t n, int64_t *volume_wh,
                  int32_t *price_uper_kwh)
{
	struct pw_depth_level bid[PW_DEPTH_MAX_LEVELS], ask[PW_DEPTH_MAX_LEVELS];
	size_t nb = 0, na = 0, i = 0, j = 0;
	uint64_t bq, aq, vol = 0;
	int32_t low = 0;

	*volume_wh = 0;
	*price_uper_kwh = 0;
	memset(bid, 0, sizeof(bid));
	memset(ask, 0, sizeof(ask));
	for (size_t k = 0; k < n && k < PW_DEPTH_MAX_LEVELS; k++) {
		/* bounded: a level beyond 10^12 Wh is no household's */
		if (levels[k].qty_wh == 0 || levels[k].qty_wh > UINT64_C(1000000000000))
			continue;
		if (levels[k].side == PW_SIDE_BUY)
			bid[nb++] = levels[k];
		else if (levels[k].side == PW_SIDE_SELL)
			ask[na++] = levels[k];
	}
	qsort(bid, nb, sizeof(bid[0]), by_price_desc);
	qsort(ask, na, sizeof(ask[0]), by_price_asc);
	bq = nb > 0 ? bid[0].qty_wh : 0;
	aq = na > 0 ? ask[0].qty_wh : 0;
	/* the auction's matching: the best bid against the best ask while the
	 * bid pays at least the ask */
	while (i < nb && j < na && bid[i].price_uper_kwh >= ask[j].price_uper_kwh) {
		uint64_t m = bq < aq ? bq : aq;
		bq -= m;
		aq -= m;
		if (bq == 0 && ++i < nb)
			bq = bid[i].qty_wh;
		if (aq == 0 && ++j < na)
			aq = ask[j].qty_wh;
	}
	/* what is left of the bids (bid[i] has bq left while i < nb) */
	if (i < nb) {
		vol = bq;
		low = bid[i].price_uper_kwh;
		for (size_t k = i + 1; k < nb; k++) {
			vol += bid[k].qty_wh;
			low = bid[k].price_uper_kwh;
		}
	}
	if (vol == 0)
		return false;
	*volume_wh = (int64_t)vol;
	*price_uper_kwh = low;
	return true;
}

void
mprofile_learn(struct mprofile *p, uint32_t tod_s, bool has_price, int32_t price_uper_kwh,
               int64_t volume_wh)
{
	uint32_t s = slot_of(p, tod_s);
	/* many intervals share a slot when intervals are short: per interval,
	 * so that a slot still moves by about a third per day */
	double a = MPROFILE_ALPHA / ((double)p->slot_s / (double)p->interval_s);
	double v = volume_wh > 0 ? (double)volume_wh : 0.0;

	if (has_price) {
		if (p->has_price[s])
			p->price_uper_kwh[s] += a * ((double)price_uper_kwh - p->price_uper_kwh[s]);
		else
			p->price_uper_kwh[s] = (double)price_uper_kwh;
		p->has_price[s] = true;
	}
	if (p->has_volume[s])
		p->volume_wh[s] += a * (v - p->volume_wh[s]);
	else
		p->volume_wh[s] = v;
	p->has_volume[s] = true;
}

void
mprofile_learn_prior(struct mprofile *p, bool has_price, int32_t price_uper_kwh,
                     int32_t feedin_uper_kwh, int32_t retail_uper_kwh, int64_t bids_wh)
{
	if (has_price && retail_uper_kwh > feedin_uper_kwh) {
		double x = ((double)price_uper_kwh - (double)feedin_uper_kwh) /
		           ((double)retail_uper_kwh - (double)feedin_uper_kwh);
		x = x < 0 ? 0 : x > 1 ? 1 : x;
		p->pos = p->has_pos ? p->pos + MPROFILE_PRIOR_ALPHA * (x - p->pos) : x;
		p->has_pos = true;
	}
	if (bids_wh >= 0) {
		double v = (double)bids_wh;
		p->bids_wh = p->has_bids ? p->bids_wh + MPROFILE_PRIOR_ALPHA * (v - p->bids_wh) : v;
		p->has_bids = true;
	}
}

bool
mprofile_expect(const struct mprofile *p, uint32_t tod_s, int32_t feedin_uper_kwh,
                int32_t retail_uper_kwh, int32_t *price_uper_kwh, int64_t *volume_wh)
{
	uint32_t s = slot_of(p, tod_s);
	int64_t prior = ((int64_t)feedin_uper_kwh + (int64_t)retail_uper_kwh) / 2;

	if (p->has_pos)
		prior =
		    (int64_t)feedin_uper_kwh +
		    (int64_t)llround(p->pos * ((double)retail_uper_kwh - (double)feedin_uper_kwh));
	*price_uper_kwh =
	    mprofile_clamp(p->has_price[s] ? (int64_t)llround(p->price_uper_kwh[s]) : prior,
	                   feedin_uper_kwh, retail_uper_kwh);
	*volume_wh = p->has_volume[s] ? (int64_t)llround(p->volume_wh[s])
	             : p->has_bids    ? (int64_t)llround(p->bids_wh / 2)
	                              : 0;
	return p->has_price[s] || p->has_volume[s];
}
