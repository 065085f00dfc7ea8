/*
 * control.c: the curtailment decision and the export-limit writes of SunSpec
 * models 123 and 704 (see control.h).
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

/*
 * The two models with an export limit.  Each names its points in the
 * order of one write (they follow each other in the model, checked, not
 * assumed), which of them enables the limit, and where WMax is read.
 */
struct ctl_model {
	uint16_t id;
	uint16_t nregs; /* registers of the write */
	unsigned npts;
	const char *pts[CTL_NREGS_MAX];
	unsigned ena;  /* index in pts of the enable point */
	unsigned rvrt; /* ... and of the revert timeout */
	const char *sf_name;
	uint16_t wmax_ids[2]; /* WMax from this model, else the second */
	const char *wmax_names[2];
};

static const struct ctl_model models[] = {
	{ 123,
	  5,
	  5,
	  { "WMaxLimPct", "WMaxLimPct_WinTms", "WMaxLimPct_RvrtTms", "WMaxLimPct_RmpTms",
	    "WMaxLim_Ena" },
	  4,
	  2,
	  "WMaxLimPct_SF",
	  { 121, 120 },
	  { "WMax", "WRtg" } },
	/* 704: the reversion (after WMaxLimPctRvrtTms) is WMaxLimPctRvrt with
	 * WMaxLimPctEnaRvrt: written 100 % and DISABLED, so it lifts the limit */
	{ 704,
	  6,
	  5,
	  { "WMaxLimPctEna", "WMaxLimPct", "WMaxLimPctRvrt", "WMaxLimPctEnaRvrt",
	    "WMaxLimPctRvrtTms" },
	  0,
	  4,
	  "WMaxLimPct_SF",
	  { 702, 702 },
	  { "WMax", "WMaxRtg" } },
};

/* The device's export-limit model: 123, else 704; NULL when neither. */
static const struct ctl_model *
find_model(const struct sunspec_dev *dev, const struct sunspec_model_ref **ref)
{
	for (size_t i = 0; i < sizeof(models) / sizeof(models[0]); i++)
		if ((*ref = sunspec_dev_find(dev, &models[i].id, 1)) != NULL)
			return &models[i];
	return NULL;
}

/* Where m's write starts in its model (*first), after checking that the
 * points follow each other with the widths the code writes. */
static bool
model_first(const struct ctl_model *m, const struct sunspec_model_def **def, uint16_t *first)
{
	const struct sunspec_point *p0, *p;
	uint16_t at;

	if ((*def = sunspec_model_find(m->id)) == NULL ||
	    (p0 = sunspec_point_find(*def, m->pts[0], false)) == NULL)
		return false;
	at = p0->offset;
	for (unsigned i = 0; i < m->npts; i++) {
		p = sunspec_point_find(*def, m->pts[i], false);
		if (p == NULL || p->offset != at)
			return false;
		at = (uint16_t)(at + p->size);
	}
	*first = p0->offset;
	return at - p0->offset == m->nregs && m->nregs <= CTL_NREGS_MAX;
}

/* WMax in whole W, from the model's reference (121 WMax, else 120 WRtg;
 * 702 WMax, else WMaxRtg). */
static pw_err
read_wmax(const struct sunspec_io *sio, const struct sunspec_dev *dev, const struct ctl_model *m,
          int64_t *wmax_w)
{
	const struct sunspec_model_ref *ref;
	struct sunspec_block blk;
	double w;
	pw_err rc;

	for (unsigned i = 0; i < 2; i++) {
		if ((ref = sunspec_dev_find(dev, &m->wmax_ids[i], 1)) == NULL)
			continue;
		if ((rc = sunspec_read_block(sio, ref, &blk)) != PW_OK)
			return rc;
		if (sunspec_get_number(&blk, m->wmax_names[i], -1, &w) == PW_OK && w >= 1 &&
		    w <= (double)CTL_WMAX_MAX_W) {
			*wmax_w = (int64_t)w;
			return PW_OK;
		}
	}
	return PW_ERR_NOT_IMPL;
}

/* 100 % at scale factor sf (-2..2) as WMaxLimPct's raw value. */
static uint16_t
full_pct(int sf)
{
	uint16_t raw = 0;
	return ctl_pct_raw(1, 1, sf, &raw) == PW_OK ? raw : 100;
}

/* The write of a limit into want[], from the model as read (want[] holds it). */
static void
plan_limit(const struct ctl_model *m, struct ctl_result *res)
{
	if (m->id == 123) {
		res->want[0] = res->pct_raw;
		res->want[1] = 0; /* no random window: now */
		res->want[2] = res->revert_s;
		if (res->want[3] == 0xFFFF)
			res->want[3] = 0; /* ramp time not implemented: none */
		res->want[4] = 1;         /* ENABLED */
	} else {
		res->want[0] = 1; /* ENABLED */
		res->want[1] = res->pct_raw;
		res->want[2] = full_pct(res->pct_sf); /* reversion: 100 % ... */
		res->want[3] = 0;                     /* ... and DISABLED */
		res->want[4] = 0;                     /* WMaxLimPctRvrtTms, uint32 */
		res->want[5] = res->revert_s;
	}
}

pw_err
ctl_sunspec_apply(const struct ctl_io *io, const struct sunspec_dev *dev, const struct ctl_cmd *cmd,
                  struct ctl_result *res)
{
	const struct sunspec_model_def *def;
	const struct sunspec_model_ref *ref = NULL;
	const struct ctl_model *m;
	struct sunspec_io sio = { io->read, io->arg, NULL };
	struct sunspec_block blk;
	uint16_t addr, n, ena_addr, first;
	int64_t raw_sf;
	int sf;
	pw_err rc;

	memset(res, 0, sizeof(*res));
	res->gen = cmd->gen;
	res->limit = cmd->limit;
	if ((m = find_model(dev, &ref)) == NULL) {
		snprintf(res->detail, sizeof(res->detail),
		         "the device has no SunSpec model 123 (immediate controls) or 704 (DER "
		         "controls)");
		return res->rc = PW_ERR_NOT_IMPL;
	}
	if (!model_first(m, &def, &first))
		return res->rc = PW_ERR_INTERNAL;
	res->model = m->id;
	res->nregs = m->nregs;
	res->ena = (uint16_t)m->ena;
	if (ref->len + 2 < first + m->nregs) {
		snprintf(res->detail, sizeof(res->detail), "model %u is too short (%u registers)",
		         m->id, ref->len);
		return res->rc = PW_ERR_NOT_IMPL;
	}
	if ((rc = sunspec_read_block(&sio, ref, &blk)) != PW_OK) {
		snprintf(res->detail, sizeof(res->detail), "reading model %u: %s", m->id,
		         pw_strerror(rc));
		return res->rc = rc;
	}
	addr = (uint16_t)(ref->addr + first);
	ena_addr = (uint16_t)(addr + m->ena);
	for (uint16_t i = 0; i < m->nregs; i++)
		res->want[i] = blk.regs[first + i];
	if (cmd->limit) {
		if ((rc = sunspec_get_raw(&blk, m->sf_name, -1, &raw_sf, &sf)) != PW_OK ||
		    raw_sf < -2 || raw_sf > 2) {
			snprintf(res->detail, sizeof(res->detail), "model %u %s is %s", m->id,
			         m->sf_name, rc != PW_OK ? pw_strerror(rc) : "outside -2..2");
			return res->rc = rc != PW_OK ? rc : PW_ERR_RANGE;
		}
		res->pct_sf = (int)raw_sf;
		if ((rc = read_wmax(&sio, dev, m, &res->wmax_w)) != PW_OK) {
			snprintf(res->detail, sizeof(res->detail),
			         "no %s (model %u) or %s (model %u) to take a percentage of: %s",
			         m->wmax_names[0], m->wmax_ids[0], m->wmax_names[1], m->wmax_ids[1],
			         pw_strerror(rc));
			return res->rc = rc;
		}
		if ((rc = ctl_pct_raw(cmd->limit_w, res->wmax_w, res->pct_sf, &res->pct_raw)) !=
		    PW_OK)
			return res->rc = rc;
		res->revert_s = cmd->revert_s > 0 ? cmd->revert_s : 1;
		plan_limit(m, res);
		n = m->nregs;
		rc = io->write(io->arg, addr, n, res->want);
	} else {
		res->want[m->ena] = 0; /* DISABLED */
		n = m->nregs;
		rc = io->write(io->arg, ena_addr, 1, &res->want[m->ena]);
	}
	if (rc != PW_OK) {
		snprintf(res->detail, sizeof(res->detail), "writing model %u at %u: %s", m->id,
		         (unsigned)(cmd->limit ? addr : ena_addr), pw_strerror(rc));
		return res->rc = rc;
	}
	res->wrote = true;
	if ((rc = io->read(io->arg, addr, n, res->got)) != PW_OK) {
		snprintf(res->detail, sizeof(res->detail), "reading back model %u at %u: %s", m->id,
		         addr, pw_strerror(rc));
		return res->rc = rc;
	}
	res->readback = true;
	for (uint16_t i = 0; i < n; i++) {
		/* lifting writes the enable point alone: the rest is the device's */
		if (!cmd->limit && i != m->ena)
			continue;
		if (res->got[i] != res->want[i]) {
			const struct sunspec_point *p = NULL;
			for (unsigned k = 0; k < m->npts && p == NULL; k++) {
				const struct sunspec_point *q =
				    sunspec_point_find(def, m->pts[k], false);
				if (first + i >= q->offset && first + i < q->offset + q->size)
					p = q;
			}
			snprintf(res->detail, sizeof(res->detail),
			         "model %u %s reads back %u after %u was written", m->id,
			         p != NULL ? p->name : "?", res->got[i], res->want[i]);
			return res->rc = PW_ERR_STATE;
		}
	}
	return res->rc = PW_OK;
}

const char *
ctl_ena_name(uint16_t model)
{
	for (size_t i = 0; i < sizeof(models) / sizeof(models[0]); i++)
		if (models[i].id == model)
			return models[i].pts[models[i].ena];
	return "the enable point";
}

pw_err
ctl_sunspec_read(const struct ctl_io *io, const struct sunspec_dev *dev, struct ctl_state *st)
{
	const struct sunspec_model_ref *ref = NULL;
	const struct ctl_model *m = find_model(dev, &ref);
	struct sunspec_io sio = { io->read, io->arg, NULL };
	struct sunspec_block blk;
	int64_t v;
	int sf;
	pw_err rc;

	memset(st, 0, sizeof(*st));
	if (m == NULL)
		return PW_ERR_NOT_IMPL;
	st->model = m->id;
	if ((rc = sunspec_read_block(&sio, ref, &blk)) != PW_OK)
		return rc;
	if (sunspec_get_raw(&blk, m->pts[m->ena], -1, &v, &sf) == PW_OK)
		st->ena = v == 1;
	if (sunspec_get_raw(&blk, m->sf_name, -1, &v, &sf) == PW_OK && v >= -10 && v <= 10)
		st->pct_sf = (int)v;
	if (sunspec_get_raw(&blk, "WMaxLimPct", -1, &v, &sf) == PW_OK && v >= 0 && v <= 65535)
		st->pct_raw = (uint16_t)v;
	if (sunspec_get_raw(&blk, m->pts[m->rvrt], -1, &v, &sf) == PW_OK && v >= 0)
		st->revert_s = v > 65535 ? 65535 : (uint16_t)v;
	if (m->id == 704 && sunspec_get_raw(&blk, "WMaxLimPctRvrtRem", -1, &v, &sf) == PW_OK &&
	    v >= 0) {
		st->has_revert_left = true;
		st->revert_left_s = v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
	}
	st->has_wmax = read_wmax(&sio, dev, m, &st->wmax_w) == PW_OK;
	return PW_OK;
}
