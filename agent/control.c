/*
 * control.c: the curtailment decision and the model 123 writes (see control.h).
 */
#include "agent/control.h"

#include <stdio.h>
#include <string.h>

void
ctl_decide(const struct ctl_in *in, struct ctl_decision *out)
{
	uint64_t iv = in->interval_s > 0 ? in->interval_s : 1;
	/* Wh over the interval as W, rounded up: the sold energy must fit */
	uint64_t sold_w = in->sold_wh > (uint64_t)INT64_MAX / 3600
	                      ? (uint64_t)INT64_MAX / 3600
	                      : (in->sold_wh * 3600 + iv - 1) / iv;
	int64_t load = in->load_w > 0 ? in->load_w : 0;

	memset(out, 0, sizeof(*out));
	out->sold_w = (int64_t)sold_w;
	out->limit = in->feedin_uper_kwh < in->floor_uper_kwh;
	if (!out->limit)
		return;
	out->limit_w = load > INT64_MAX - out->sold_w ? INT64_MAX : load + out->sold_w;
}

pw_err
ctl_pct_raw(int64_t limit_w, int64_t wmax_w, int sf, uint16_t *raw)
{
	uint64_t scale, full, num, den, v;

	if (wmax_w <= 0 || wmax_w > CTL_WMAX_MAX_W || sf < -2 || sf > 2)
		return PW_ERR_RANGE;
	scale = sf == 0 ? 1 : sf == 1 || sf == -1 ? 10 : 100; /* 10^|sf| */
	/* 100 % at this scale: 100 / 10^sf */
	full = sf <= 0 ? 100 * scale : 100 / scale;
	if (limit_w <= 0) {
		*raw = 0;
		return PW_OK;
	}
	if (limit_w >= wmax_w) {
		*raw = (uint16_t)full;
		return PW_OK;
	}
	/* raw = ceil(limit x 100 / (wmax x 10^sf)); limit < wmax <= 10^12:
	 * no product overflows */
	num = (uint64_t)limit_w * 100u * (sf < 0 ? scale : 1);
	den = (uint64_t)wmax_w * (sf > 0 ? scale : 1);
	v = (num + den - 1) / den;
	*raw = (uint16_t)(v > full ? full : v);
	return PW_OK;
}

uint16_t
ctl_revert_s(int64_t remaining_ms, uint32_t speed)
{
	uint64_t ms = remaining_ms > 0 ? (uint64_t)remaining_ms : 0, s;

	if (speed == 0)
		speed = 1;
	ms += CTL_MARGIN_S * 1000u;
	if (ms > 86400000u)
		ms = 86400000u;
	s = (ms * speed + 999) / 1000;
	return (uint16_t)(s < 1 ? 1 : s > 65535 ? 65535 : s);
}

int64_t
ctl_not_exported_wh(uint64_t forecast_wh, uint64_t sold_wh, int64_t part_ms, int64_t len_ms)
{
	uint64_t wh = forecast_wh > sold_wh ? forecast_wh - sold_wh : 0;

	if (len_ms <= 0 || part_ms < 0)
		return -1;
	if (part_ms > len_ms)
		part_ms = len_ms;
	if (wh > (uint64_t)(INT64_MAX / len_ms))
		return -1;
	return (int64_t)wh * part_ms / len_ms;
}

int64_t
ctl_saved_u(int64_t not_exported_wh, int64_t feedin_uper_kwh)
{
	/* |feed-in| < 2^31 (an i32 on the wire): 2^31 x 2^32 fits */
	if (not_exported_wh < 0 || not_exported_wh > INT64_C(1) << 32 ||
	    feedin_uper_kwh < INT32_MIN || feedin_uper_kwh > INT32_MAX)
		return 0;
	return -(not_exported_wh * feedin_uper_kwh) / 1000;
}

/* WMax in whole W: model 121 WMax, else model 120 WRtg. */
static pw_err
read_wmax(const struct sunspec_io *sio, const struct sunspec_dev *dev, int64_t *wmax_w)
{
	static const uint16_t ids121[] = { 121 }, ids120[] = { 120 };
	const struct sunspec_model_ref *ref;
	struct sunspec_block blk;
	double w;
	pw_err rc;

	if ((ref = sunspec_dev_find(dev, ids121, 1)) != NULL) {
		if ((rc = sunspec_read_block(sio, ref, &blk)) != PW_OK)
			return rc;
		if (sunspec_get_number(&blk, "WMax", -1, &w) == PW_OK && w >= 1 &&
		    w <= (double)CTL_WMAX_MAX_W) {
			*wmax_w = (int64_t)w;
			return PW_OK;
		}
	}
	if ((ref = sunspec_dev_find(dev, ids120, 1)) != NULL) {
		if ((rc = sunspec_read_block(sio, ref, &blk)) != PW_OK)
			return rc;
		if (sunspec_get_number(&blk, "WRtg", -1, &w) == PW_OK && w >= 1 &&
		    w <= (double)CTL_WMAX_MAX_W) {
			*wmax_w = (int64_t)w;
			return PW_OK;
		}
	}
	return PW_ERR_NOT_IMPL;
}

static const char *const reg_names[CTL_NREGS] = { "WMaxLimPct", "WMaxLimPct_WinTms",
	                                          "WMaxLimPct_RvrtTms", "WMaxLimPct_RmpTms",
	                                          "WMaxLim_Ena" };

pw_err
ctl_sunspec_apply(const struct ctl_io *io, const struct sunspec_dev *dev, const struct ctl_cmd *cmd,
                  struct ctl_result *res)
{
	static const uint16_t ids123[] = { 123 };
	const struct sunspec_model_def *def = sunspec_model_find(123);
	const struct sunspec_model_ref *ref;
	const struct sunspec_point *first;
	struct sunspec_io sio = { io->read, io->arg, NULL };
	struct sunspec_block blk;
	uint16_t addr, n;
	int64_t raw_sf;
	int sf;
	pw_err rc;

	memset(res, 0, sizeof(*res));
	res->gen = cmd->gen;
	res->limit = cmd->limit;
	if (def == NULL || (first = sunspec_point_find(def, reg_names[0], false)) == NULL)
		return res->rc = PW_ERR_INTERNAL;
	/* the five points follow each other in the model (checked, not assumed) */
	for (uint16_t i = 1; i < CTL_NREGS; i++) {
		const struct sunspec_point *p = sunspec_point_find(def, reg_names[i], false);
		if (p == NULL || p->offset != first->offset + i || p->size != 1)
			return res->rc = PW_ERR_INTERNAL;
	}
	if ((ref = sunspec_dev_find(dev, ids123, 1)) == NULL) {
		snprintf(res->detail, sizeof(res->detail),
		         "the device has no SunSpec model 123 (immediate controls)");
		return res->rc = PW_ERR_NOT_IMPL;
	}
	if (ref->len < first->offset + CTL_NREGS - 2) {
		snprintf(res->detail, sizeof(res->detail), "model 123 is too short (%u registers)",
		         ref->len);
		return res->rc = PW_ERR_NOT_IMPL;
	}
	if ((rc = sunspec_read_block(&sio, ref, &blk)) != PW_OK) {
		snprintf(res->detail, sizeof(res->detail), "reading model 123: %s",
		         pw_strerror(rc));
		return res->rc = rc;
	}
	addr = (uint16_t)(ref->addr + first->offset);
	for (uint16_t i = 0; i < CTL_NREGS; i++)
		res->want[i] = blk.regs[first->offset + i];
	if (cmd->limit) {
		if ((rc = sunspec_get_raw(&blk, "WMaxLimPct_SF", -1, &raw_sf, &sf)) != PW_OK ||
		    raw_sf < -2 || raw_sf > 2) {
			snprintf(res->detail, sizeof(res->detail), "model 123 WMaxLimPct_SF is %s",
			         rc != PW_OK ? pw_strerror(rc) : "outside -2..2");
			return res->rc = rc != PW_OK ? rc : PW_ERR_RANGE;
		}
		res->pct_sf = (int)raw_sf;
		if ((rc = read_wmax(&sio, dev, &res->wmax_w)) != PW_OK) {
			snprintf(res->detail, sizeof(res->detail),
			         "no WMax (model 121) or WRtg (model 120) to take a percentage of:"
			         " %s",
			         pw_strerror(rc));
			return res->rc = rc;
		}
		if ((rc = ctl_pct_raw(cmd->limit_w, res->wmax_w, res->pct_sf, &res->pct_raw)) !=
		    PW_OK)
			return res->rc = rc;
		res->revert_s = cmd->revert_s > 0 ? cmd->revert_s : 1;
		res->want[0] = res->pct_raw;
		res->want[1] = 0; /* no random window: now */
		res->want[2] = res->revert_s;
		if (res->want[3] == 0xFFFF)
			res->want[3] = 0; /* ramp time not implemented: none */
		res->want[4] = 1;         /* ENABLED */
		n = CTL_NREGS;
		rc = io->write(io->arg, addr, n, res->want);
	} else {
		res->want[4] = 0; /* DISABLED */
		n = CTL_NREGS;
		rc = io->write(io->arg, (uint16_t)(addr + CTL_NREGS - 1), 1, &res->want[4]);
	}
	if (rc != PW_OK) {
		snprintf(res->detail, sizeof(res->detail), "writing model 123 at %u: %s",
		         (unsigned)(cmd->limit ? addr : addr + CTL_NREGS - 1), pw_strerror(rc));
		return res->rc = rc;
	}
	res->wrote = true;
	if ((rc = io->read(io->arg, addr, n, res->got)) != PW_OK) {
		snprintf(res->detail, sizeof(res->detail), "reading back model 123 at %u: %s", addr,
		         pw_strerror(rc));
		return res->rc = rc;
	}
	res->readback = true;
	for (uint16_t i = 0; i < CTL_NREGS; i++) {
		/* lifting writes WMaxLim_Ena alone: the rest is the device's */
		if (!cmd->limit && i != CTL_NREGS - 1)
			continue;
		if (res->got[i] != res->want[i]) {
			snprintf(res->detail, sizeof(res->detail),
			         "model 123 %s reads back %u after %u was written", reg_names[i],
			         res->got[i], res->want[i]);
			return res->rc = PW_ERR_STATE;
		}
	}
	return res->rc = PW_OK;
}

pw_err
ctl_sunspec_read(const struct ctl_io *io, const struct sunspec_dev *dev, struct ctl_state *st)
{
	static const uint16_t ids123[] = { 123 };
	const struct sunspec_model_ref *ref = sunspec_dev_find(dev, ids123, 1);
	struct sunspec_io sio = { io->read, io->arg, NULL };
	struct sunspec_block blk;
	int64_t v;
	int sf;
	pw_err rc;

	memset(st, 0, sizeof(*st));
	if (ref == NULL)
		return PW_ERR_NOT_IMPL;
	if ((rc = sunspec_read_block(&sio, ref, &blk)) != PW_OK)
		return rc;
	if (sunspec_get_raw(&blk, "WMaxLim_Ena", -1, &v, &sf) == PW_OK)
		st->ena = v == 1;
	if (sunspec_get_raw(&blk, "WMaxLimPct_SF", -1, &v, &sf) == PW_OK && v >= -10 && v <= 10)
		st->pct_sf = (int)v;
	if (sunspec_get_raw(&blk, "WMaxLimPct", -1, &v, &sf) == PW_OK && v >= 0 && v <= 65535)
		st->pct_raw = (uint16_t)v;
	if (sunspec_get_raw(&blk, "WMaxLimPct_RvrtTms", -1, &v, &sf) == PW_OK && v >= 0 &&
	    v <= 65535)
		st->revert_s = (uint16_t)v;
	st->has_wmax = read_wmax(&sio, dev, &st->wmax_w) == PW_OK;
	return PW_OK;
}
