/*
 * storage.c: a home battery through SunSpec models 124, 802 and 713 (see
 * storage.h).
 *
 * Every value passes the point's own checks first (sentinel, scale factor,
 * sunspec_get_*), then a range a household battery can have: percentages
 * 0..100, powers within STORAGE_POWER_MAX_W, a capacity of 1 Wh to
 * STORAGE_CAPACITY_MAX_WH.  A value outside is logged at debug level and
 * absent: a device showing 6553.5 % is not a device to trade on.
 *
 * Which point gives what:
 *   soc            802 SoC, 124 ChaState, 713 SoC
 *   capacity       802 WHRtg, 713 WHRtg (124 has Ah only, through model 121)
 *   power          802 W (positive taken as discharging: SunSpec does not fix
 *                  the sign; this is the DER convention, energy leaving the
 *                  battery like energy leaving an inverter)
 *   max charge     802 WChaRteMax, 124 WChaMax
 *   max discharge  802 WDisChaRteMax (124 has no discharge maximum)
 *   soh            802 SoH, 713 SoH
 *   reserve        124 MinRsvPct, 802 SoCRsvMin
 *   charge status  802 ChaSt, 124 ChaSt
 *   controls       124 StorCtl_Mod, InWRte, OutWRte, InOutWRte_RvrtTms
 */
#include <math.h>
#include <string.h>

#include "agent/storage.h"
#include "peerwatt/log.h"

const uint16_t storage_model_ids[3] = { 802, 124, 713 };

/* A number of the block within lo..hi, else false (absent). */
static bool
num_in(const struct sunspec_block *blk, const char *name, double lo, double hi, double *out)
{
	double v;

	if (sunspec_get_number(blk, name, -1, &v) != PW_OK)
		return false;
	if (!(v >= lo && v <= hi)) {
		log_debug("storage: model %u %s = %g outside %g..%g: taken as unknown",
		          blk->def->id, name, v, lo, hi);
		return false;
	}
	*out = v;
	return true;
}

static void
take_pct(const struct sunspec_block *blk, const char *name, bool *has, double *v)
{
	if (!*has)
		*has = num_in(blk, name, 0, 100, v);
}

static void
take_power(const struct sunspec_block *blk, const char *name, bool *has, double *v)
{
	if (!*has)
		*has = num_in(blk, name, 0, STORAGE_POWER_MAX_W, v);
}

static void
take_capacity(const struct sunspec_block *blk, const char *name, struct storage_reading *st)
{
	int64_t raw, wh;
	int sf;

	if (st->has_capacity || sunspec_get_raw(blk, name, -1, &raw, &sf) != PW_OK ||
	    sunspec_scale_wh(raw, sf, &wh) != PW_OK)
		return;
	if (wh < 1 || wh > STORAGE_CAPACITY_MAX_WH) {
		log_debug("storage: model %u %s = %lld Wh: taken as unknown", blk->def->id, name,
		          (long long)wh);
		return;
	}
	st->has_capacity = true;
	st->capacity_wh = wh;
}

static void
take_charge_status(const struct sunspec_block *blk, struct storage_reading *st)
{
	uint32_t v;
	const char *sym;

	if (st->has_charge_status || sunspec_get_symbol(blk, "ChaSt", -1, &v, &sym) != PW_OK ||
	    sym == NULL)
		return; /* a value without a symbol is not a status */
	st->has_charge_status = true;
	st->charge_status = v;
	st->charge_status_name = sym;
}

static void
take_controls(const struct sunspec_block *blk, struct storage_reading *st)
{
	int64_t raw;
	int sf;

	if (st->has_controls || sunspec_get_raw(blk, "StorCtl_Mod", -1, &raw, &sf) != PW_OK ||
	    raw < 0 || raw > 3)
		return;
	st->has_controls = true;
	st->ctl_mode = (uint32_t)raw;
	st->has_in_rate = num_in(blk, "InWRte", -100, 100, &st->in_rate_pct);
	st->has_out_rate = num_in(blk, "OutWRte", -100, 100, &st->out_rate_pct);
	if (sunspec_get_raw(blk, "InOutWRte_RvrtTms", -1, &raw, &sf) == PW_OK && sf == 0 &&
	    raw >= 0 && raw <= 65534) {
		st->has_revert = true;
		st->revert_s = (uint32_t)raw;
	}
}

void
storage_decode(const struct sunspec_block *blk, struct storage_reading *st)
{
	if (blk->def == NULL)
		return;
	switch (blk->def->id) {
	case 802:
		take_pct(blk, "SoC", &st->has_soc, &st->soc_pct);
		take_capacity(blk, "WHRtg", st);
		if (!st->has_power)
			st->has_power = num_in(blk, "W", -STORAGE_POWER_MAX_W, STORAGE_POWER_MAX_W,
			                       &st->power_w);
		take_power(blk, "WChaRteMax", &st->has_max_charge, &st->max_charge_w);
		take_power(blk, "WDisChaRteMax", &st->has_max_discharge, &st->max_discharge_w);
		take_pct(blk, "SoH", &st->has_soh, &st->soh_pct);
		take_pct(blk, "SoCRsvMin", &st->has_reserve, &st->reserve_pct);
		take_charge_status(blk, st);
		break;
	case 124:
		take_pct(blk, "ChaState", &st->has_soc, &st->soc_pct);
		take_power(blk, "WChaMax", &st->has_max_charge, &st->max_charge_w);
		take_pct(blk, "MinRsvPct", &st->has_reserve, &st->reserve_pct);
		take_charge_status(blk, st);
		take_controls(blk, st);
		break;
	case 713:
		take_pct(blk, "SoC", &st->has_soc, &st->soc_pct);
		take_capacity(blk, "WHRtg", st);
		take_pct(blk, "SoH", &st->has_soh, &st->soh_pct);
		break;
	default:
		return;
	}
	if (!st->present) {
		st->present = true;
		st->model = blk->def->id;
	}
}

pw_err
storage_poll(const struct sunspec_io *io, const struct sunspec_dev *dev, struct storage_reading *st)
{
	struct sunspec_block blk;
	pw_err rc;

	memset(st, 0, sizeof(*st));
	for (size_t i = 0; i < sizeof(storage_model_ids) / sizeof(storage_model_ids[0]); i++) {
		const struct sunspec_model_ref *ref =
		    sunspec_dev_find(dev, &storage_model_ids[i], 1);
		if (ref == NULL)
			continue;
		if ((rc = sunspec_read_block(io, ref, &blk)) != PW_OK)
			return rc;
		storage_decode(&blk, st);
	}
	return PW_OK;
}
