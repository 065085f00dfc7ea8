/*
 * storage_ctl.c: battery setpoints through model 124 (see storage_ctl.h).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/storage_ctl.h"
#include "peerwatt/log.h"

/* The rate registers written in one request, in model 124's order. */
static const char *const rate_pts[] = { "OutWRte",           "InWRte",           "InOutWRte_WinTms",
	                                "InOutWRte_RvrtTms", "InOutWRte_RmpTms", "ChaGriSet" };
#define NRATE (sizeof(rate_pts) / sizeof(rate_pts[0]))

const char *
stctl_mode_name(enum stctl_mode m)
{
	static const char *const names[] = { "auto", "hold", "charge", "discharge", "protect" };
	return (unsigned)m < sizeof(names) / sizeof(names[0]) ? names[m] : "?";
}

pw_err
stctl_parse(const char *s, struct stctl_cmd *cmd)
{
	static const enum stctl_mode plain[] = { STCTL_AUTO, STCTL_HOLD, STCTL_PROTECT };
	const char *colon = strchr(s, ':');
	char *end;
	long v;

	for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++)
		if (strcmp(s, stctl_mode_name(plain[i])) == 0) {
			cmd->mode = plain[i];
			cmd->power_w = 0;
			return PW_OK;
		}
	if (colon == NULL)
		return PW_ERR_PARSE;
	if ((size_t)(colon - s) == 6 && strncmp(s, "charge", 6) == 0)
		cmd->mode = STCTL_CHARGE;
	else if ((size_t)(colon - s) == 9 && strncmp(s, "discharge", 9) == 0)
		cmd->mode = STCTL_DISCHARGE;
	else
		return PW_ERR_PARSE;
	errno = 0;
	v = strtol(colon + 1, &end, 10);
	if (errno != 0 || end == colon + 1 || *end != '\0' || v < 1 || v > STORAGE_POWER_MAX_W)
		return PW_ERR_PARSE;
	cmd->power_w = v;
	return PW_OK;
}

/* The raw rate for x % at 10^sf, rounded up (the window then holds the
 * setpoint), within -100..100 %. */
static int16_t
rate_raw(double pct, int sf)
{
	double lim = 100.0 / pow(10.0, sf), x = pct / pow(10.0, sf);
	x = ceil(x - 1e-9); /* 50.0000000001 % is 50 %, not 51 */
	if (x > lim)
		x = lim;
	if (x < -lim)
		x = -lim;
	return (int16_t)x;
}

pw_err
stctl_plan(const struct stctl_cfg *cfg, const struct storage_reading *st, int sf,
           const struct stctl_cmd *cmd, struct stctl_regs *out, enum stctl_mode *planned,
           char *detail, size_t detail_len)
{
	double reserve = cfg->reserve_pct, p = (double)cmd->power_w;
	enum stctl_mode m = cmd->mode;

	detail[0] = '\0';
	*planned = m;
	if (cmd->revert_s == 0) {
		snprintf(detail, detail_len, "a setpoint needs a revert timeout (1..65535 s)");
		return PW_ERR_RANGE;
	}
	if (sf < -2 || sf > 2) {
		snprintf(detail, detail_len, "InOutWRte_SF %d is outside -2..2", sf);
		return PW_ERR_RANGE;
	}
	if ((m == STCTL_CHARGE || m == STCTL_DISCHARGE) &&
	    (cmd->power_w < 1 || cmd->power_w > STORAGE_POWER_MAX_W)) {
		snprintf(detail, detail_len, "power %lld W is outside 1..%d",
		         (long long)cmd->power_w, STORAGE_POWER_MAX_W);
		return PW_ERR_RANGE;
	}
	if (st->has_reserve && st->reserve_pct > reserve)
		reserve = st->reserve_pct;
	if (m == STCTL_DISCHARGE && (!st->has_soc || st->soc_pct <= reserve)) {
		m = STCTL_PROTECT;
		if (st->has_soc)
			snprintf(detail, detail_len,
			         "state of charge %.1f %% is at or below the reserve %.1f %%: no "
			         "discharge",
			         st->soc_pct, reserve);
		else
			snprintf(detail, detail_len, "state of charge unknown: no discharge");
	} else if (m == STCTL_AUTO && cfg->reserve_pct > (st->has_reserve ? st->reserve_pct : 0) &&
	           (!st->has_soc || st->soc_pct <= cfg->reserve_pct)) {
		/* the battery's own controller would go down to its lower reserve */
		m = STCTL_PROTECT;
		snprintf(detail, detail_len,
		         "the configured reserve %.1f %% is reached: the battery's own controller "
		         "may not discharge",
		         cfg->reserve_pct);
	}
	memset(out, 0, sizeof(*out));
	out->revert_s = cmd->revert_s;
	out->grid = cfg->grid_charge ? 1 : 0;
	switch (m) {
	case STCTL_AUTO:
		out->mode = 0;
		break;
	case STCTL_HOLD:
		out->mode = 3;
		break;
	case STCTL_PROTECT:
		out->mode = 2; /* discharge limited to 0 %, charging free */
		break;
	case STCTL_CHARGE:
	case STCTL_DISCHARGE:
		if (!st->has_max_charge || !st->has_max_discharge || st->max_charge_w < 1 ||
		    st->max_discharge_w < 1) {
			snprintf(detail, detail_len,
			         "the battery's maximum charge and discharge powers are not both "
			         "known (model 802 or a template gives them)");
			return PW_ERR_NOT_IMPL;
		}
		out->mode = 3;
		if (m == STCTL_CHARGE) {
			out->in_raw = rate_raw(100.0 * p / st->max_charge_w, sf);
			out->out_raw = rate_raw(-100.0 * p / st->max_discharge_w, sf);
		} else {
			out->in_raw = rate_raw(-100.0 * p / st->max_charge_w, sf);
			out->out_raw = rate_raw(100.0 * p / st->max_discharge_w, sf);
		}
		break;
	}
	*planned = m;
	return PW_OK;
}

/* The registers of block blk as one setpoint (what a read-back compares). */
static void
regs_of(const struct sunspec_block *blk, const uint16_t *offs, struct stctl_regs *r)
{
	r->mode = blk->regs[offs[NRATE]];
	r->out_raw = (int16_t)blk->regs[offs[0]];
	r->in_raw = (int16_t)blk->regs[offs[1]];
	r->revert_s = blk->regs[offs[3]];
	r->grid = blk->regs[offs[5]];
}

pw_err
stctl_apply(const struct ctl_io *io, const struct sunspec_dev *dev, const struct stctl_cfg *cfg,
            const struct stctl_cmd *cmd, struct stctl_result *res)
{
	static const uint16_t id124 = 124;
	const struct sunspec_model_def *def = sunspec_model_find(124);
	const struct sunspec_model_ref *ref = sunspec_dev_find(dev, &id124, 1);
	struct sunspec_io sio = { io->read, io->arg, NULL };
	struct storage_reading st;
	struct sunspec_block blk;
	uint16_t offs[NRATE + 1] = { 0 }, w[NRATE];
	int64_t raw;
	int sf = 0, dummy;
	pw_err rc;

	memset(res, 0, sizeof(*res));
	res->asked = res->planned = cmd->mode;
	if (ref == NULL) {
		snprintf(res->detail, sizeof(res->detail), "the device has no model 124");
		return res->rc = PW_ERR_NOT_IMPL;
	}
	for (size_t i = 0; i <= NRATE; i++) {
		const struct sunspec_point *p =
		    sunspec_point_find(def, i < NRATE ? rate_pts[i] : "StorCtl_Mod", false);
		if (p == NULL || (i > 0 && i < NRATE && p->offset != offs[0] + i))
			return res->rc = PW_ERR_INTERNAL; /* the table is the official one */
		offs[i] = p->offset;
	}
	if (ref->len + 2u <= offs[NRATE - 1]) {
		snprintf(res->detail, sizeof(res->detail), "model 124 is too short (%u registers)",
		         ref->len);
		return res->rc = PW_ERR_NOT_IMPL;
	}
	if ((rc = storage_poll(&sio, dev, &st)) != PW_OK ||
	    (rc = sunspec_read_block(&sio, ref, &blk)) != PW_OK) {
		snprintf(res->detail, sizeof(res->detail), "reading the battery: %s",
		         pw_strerror(rc));
		return res->rc = rc;
	}
	/* without a rate scale factor the rates are whole percents */
	if (sunspec_get_raw(&blk, "InOutWRte_SF", -1, &raw, &dummy) == PW_OK)
		sf = (int)raw;
	res->rate_sf = sf;
	rc = stctl_plan(cfg, &st, sf, cmd, &res->want, &res->planned, res->detail,
	                sizeof(res->detail));
	if (rc != PW_OK)
		return res->rc = rc;
	w[0] = (uint16_t)res->want.out_raw;
	w[1] = (uint16_t)res->want.in_raw;
	w[2] = 0;
	w[3] = res->want.revert_s;
	w[4] = blk.regs[offs[4]]; /* the ramp as the device has it */
	w[5] = res->want.grid;
	/* the rates first: the mode then starts with them */
	if ((rc = io->write(io->arg, (uint16_t)(ref->addr + offs[0]), NRATE, w)) != PW_OK ||
	    (rc = io->write(io->arg, (uint16_t)(ref->addr + offs[NRATE]), 1, &res->want.mode)) !=
	        PW_OK) {
		snprintf(res->detail, sizeof(res->detail), "writing model 124: %s",
		         pw_strerror(rc));
		return res->rc = rc;
	}
	res->wrote = true;
	if ((rc = sunspec_read_block(&sio, ref, &blk)) != PW_OK) {
		snprintf(res->detail, sizeof(res->detail), "reading model 124 back: %s",
		         pw_strerror(rc));
		return res->rc = rc;
	}
	res->readback = true;
	regs_of(&blk, offs, &res->got);
	if (res->got.mode != res->want.mode || res->got.in_raw != res->want.in_raw ||
	    res->got.out_raw != res->want.out_raw || res->got.revert_s != res->want.revert_s ||
	    res->got.grid != res->want.grid) {
		snprintf(res->detail, sizeof(res->detail),
		         "read back StorCtl_Mod %u InWRte %d OutWRte %d RvrtTms %u ChaGriSet %u, "
		         "written %u %d %d %u %u",
		         res->got.mode, res->got.in_raw, res->got.out_raw, res->got.revert_s,
		         res->got.grid, res->want.mode, res->want.in_raw, res->want.out_raw,
		         res->want.revert_s, res->want.grid);
		return res->rc = PW_ERR_STATE;
	}
	log_info("battery: %s%s%s written (StorCtl_Mod %u, InWRte %d, OutWRte %d at 10^%d %%, "
	         "revert %u s) and read back",
	         stctl_mode_name(res->planned), res->detail[0] ? ": " : "", res->detail,
	         res->want.mode, res->want.in_raw, res->want.out_raw, sf, res->want.revert_s);
	return res->rc = PW_OK;
}
