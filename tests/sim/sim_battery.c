/*
 * sim_battery.c: peerwatt-sim's home battery (see sim_battery.h).
 *
 * The round-trip efficiency is split evenly: a Wh charged puts sqrt(e) Wh
 * into the cells, a Wh discharged takes 1/sqrt(e) Wh out of them, and the
 * difference is counted as loss, so that PV + import = load + export +
 * (change of the stored energy) + losses holds to rounding at every step.
 *
 * The controls follow model 124 as inverters with SunSpec storage implement
 * it: the battery's power (charging positive) stays in a window whose top is
 * the maximum charge power, or InWRte % of it when StorCtl_Mod has the
 * CHARGE bit, and whose bottom is minus the maximum discharge power, or
 * minus OutWRte % of it with the DISCHARGE bit.  Inside the window the
 * battery does what self-consumption wants; a negative InWRte forces a
 * discharge (to the grid if the house does not need it), a negative OutWRte
 * a charge, from the grid only when ChaGriSet says GRID.  The reserve and the
 * full battery are physical limits no control crosses.  After
 * InOutWRte_RvrtTms simulated seconds without a new write the controls
 * revert to self-consumption by themselves.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/sunspec.h"
#include "peerwatt/log.h"
#include "tests/sim/sim_battery.h"

const char *
simbat_cfg_check(const struct simbat_cfg *c)
{
	if (!(c->capacity_wh > 0 && c->capacity_wh <= 1e6))
		return "capacity must be 1..1000000 Wh";
	if (!(c->max_charge_w > 0 && c->max_charge_w <= 1e5))
		return "charge power must be 1..100000 W";
	if (!(c->max_discharge_w > 0 && c->max_discharge_w <= 1e5))
		return "discharge power must be 1..100000 W";
	if (!(c->efficiency > 0 && c->efficiency <= 1))
		return "efficiency must be 1..100 %";
	if (!(c->soc_pct >= 0 && c->soc_pct <= 100))
		return "state of charge must be 0..100 %";
	if (!(c->reserve_pct >= 0 && c->reserve_pct < 100))
		return "reserve must be 0..99 %";
	return NULL;
}

void
simbat_init(struct simbat *b, const struct simbat_cfg *c)
{
	struct simbat z = { 0 };
	*b = z;
	b->cfg = *c;
	b->stored_wh = c->capacity_wh * c->soc_pct / 100.0;
}

double
simbat_soc_pct(const struct simbat *b)
{
	return 100.0 * b->stored_wh / b->cfg.capacity_wh;
}

static double
clamp(double v, double lo, double hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

double
simbat_power(const struct simbat *b, double net_w, double dt_s)
{
	const struct simbat_cfg *c = &b->cfg;
	double half = sqrt(c->efficiency);
	double hi = c->max_charge_w, lo = -c->max_discharge_w;
	double surplus = net_w < 0 ? -net_w : 0;
	double room = c->capacity_wh - b->stored_wh;
	double avail = b->stored_wh - c->capacity_wh * c->reserve_pct / 100.0;
	double ch = -net_w; /* what self-consumption wants, charging positive */

	if (b->ctl.mode & SIMBAT_CTL_CHARGE)
		hi = clamp(b->ctl.in_pct, -100, 100) / 100.0 * c->max_charge_w;
	if (b->ctl.mode & SIMBAT_CTL_DISCHARGE)
		lo = -clamp(b->ctl.out_pct, -100, 100) / 100.0 * c->max_discharge_w;
	ch = clamp(ch, lo, hi);
	ch = clamp(ch, -c->max_discharge_w, c->max_charge_w);
	if (ch > surplus && !b->ctl.grid_charge)
		ch = surplus; /* only forced charging can want more than the surplus */
	if (ch > 0) {
		if (room <= 1e-9)
			ch = 0;
		else if (dt_s > 0 && ch * half * dt_s / 3600.0 > room)
			ch = room / (half * dt_s / 3600.0);
	} else if (ch < 0) {
		if (avail <= 1e-9)
			ch = 0;
		else if (dt_s > 0 && -ch / half * dt_s / 3600.0 > avail)
			ch = -avail * half / (dt_s / 3600.0);
	}
	return -ch;
}

double
simbat_step(struct simbat *b, double net_w, double dt_s)
{
	double half = sqrt(b->cfg.efficiency), p, e;

	if (b->ctl.mode != 0 && b->ctl.revert_s > 0 && b->ctl.since_write_s >= b->ctl.revert_s) {
		b->ctl.mode = 0;
		b->reverts++;
	}
	p = simbat_power(b, net_w, dt_s);
	e = fabs(p) * dt_s / 3600.0;
	if (p < 0) {
		b->stored_wh += e * half;
		b->charged_wh += e;
		b->loss_wh += e - e * half;
	} else if (p > 0) {
		b->stored_wh -= e / half;
		b->discharged_wh += e;
		b->loss_wh += e / half - e;
	}
	b->power_w = p;
	b->ctl.since_write_s += dt_s;
	return p;
}

void
simbat_control(struct simbat *b, const struct simbat_ctl *ctl)
{
	b->ctl = *ctl;
	b->ctl.since_write_s = 0;
}

unsigned
simbat_charge_status(const struct simbat *b, double power_w)
{
	if (power_w < 0)
		return 4;
	if (power_w > 0)
		return 3;
	if (b->stored_wh >= b->cfg.capacity_wh - 1e-6)
		return 5;
	if (b->stored_wh <= b->cfg.capacity_wh * b->cfg.reserve_pct / 100.0 + 1e-6)
		return 2;
	return 6;
}

/* --- registers ---------------------------------------------------------------------- */

static void
wr(uint16_t *m, uint16_t id, const char *name, int64_t v)
{
	const struct sunspec_point *p = sunspec_point_find(sunspec_model_find(id), name, false);
	uint64_t u = (uint64_t)v;

	if (p == NULL) {
		fatalx("sim: model %u has no point %s", id, name);
		return; /* not reached */
	}
	for (int i = p->size - 1; i >= 0; i--) {
		m[p->offset + (uint16_t)i] = (uint16_t)(u & 0xFFFF);
		u >>= 16;
	}
}

static int64_t
rd(const uint16_t *m, uint16_t id, const char *name)
{
	const struct sunspec_point *p = sunspec_point_find(sunspec_model_find(id), name, false);
	struct sunspec_value v;

	if (p == NULL || sunspec_decode(p->type, m + p->offset, p->size, &v) != PW_OK || !v.impl)
		return INT64_MIN;
	return p->type == SUNSPEC_T_INT16 ? v.i : (int64_t)v.u;
}

/* The exponent that makes v / 10^sf fit `lim`, from min_sf up. */
static int
fit(double v, int min_sf, double lim)
{
	int sf = min_sf;
	while (fabs(v) / pow(10.0, sf) > lim)
		sf++;
	return sf;
}

/* v at exponent sf, with that exponent into the point sfname. */
static void
wr_sf(uint16_t *m, uint16_t id, const char *name, const char *sfname, double v, int sf)
{
	wr(m, id, name, (int64_t)llround(v / pow(10.0, sf)));
	if (sfname != NULL)
		wr(m, id, sfname, sf);
}

void
simbat_regs(const struct simbat *b, double power_w, uint16_t *m124, uint16_t *m713, uint16_t *m802)
{
	const struct simbat_cfg *c = &b->cfg;
	double soc = simbat_soc_pct(b);
	unsigned st = simbat_charge_status(b, power_w);
	int sf;

	/* 124: basic storage controls */
	sf = fit(c->max_charge_w, 0, 32000);
	wr_sf(m124, 124, "WChaMax", "WChaMax_SF", c->max_charge_w, sf);
	wr_sf(m124, 124, "WChaGra", "WChaDisChaGra_SF", 100, 0);
	wr_sf(m124, 124, "WDisChaGra", NULL, 100, 0);
	wr(m124, 124, "StorCtl_Mod", b->ctl.mode);
	wr_sf(m124, 124, "MinRsvPct", "MinRsvPct_SF", c->reserve_pct, -1);
	wr_sf(m124, 124, "ChaState", "ChaState_SF", soc, -1);
	wr(m124, 124, "ChaSt", st);
	wr_sf(m124, 124, "OutWRte", "InOutWRte_SF", b->ctl.out_pct, -1);
	wr_sf(m124, 124, "InWRte", NULL, b->ctl.in_pct, -1);
	wr(m124, 124, "InOutWRte_WinTms", 0);
	wr(m124, 124, "InOutWRte_RvrtTms", (int64_t)b->ctl.revert_s);
	wr(m124, 124, "InOutWRte_RmpTms", 0);
	wr(m124, 124, "ChaGriSet", b->ctl.grid_charge ? 1 : 0);
	/* 713: DER storage capacity */
	sf = fit(c->capacity_wh, 0, 65000);
	wr_sf(m713, 713, "WHRtg", "WH_SF", c->capacity_wh, sf);
	wr_sf(m713, 713, "WHAvail", NULL, b->stored_wh, sf);
	wr_sf(m713, 713, "SoC", "Pct_SF", soc, -1);
	wr_sf(m713, 713, "SoH", NULL, 100, -1);
	wr(m713, 713, "Sta", 0);
	/* 802: battery base */
	wr_sf(m802, 802, "AHRtg", "AHRtg_SF", c->capacity_wh / SIMBAT_NOMINAL_V,
	      fit(c->capacity_wh / SIMBAT_NOMINAL_V, -1, 65000));
	wr_sf(m802, 802, "WHRtg", "WHRtg_SF", c->capacity_wh, sf);
	sf = fit(c->max_charge_w > c->max_discharge_w ? c->max_charge_w : c->max_discharge_w, 0,
	         65000);
	wr_sf(m802, 802, "WChaRteMax", "WChaDisChaMax_SF", c->max_charge_w, sf);
	wr_sf(m802, 802, "WDisChaRteMax", NULL, c->max_discharge_w, sf);
	wr_sf(m802, 802, "SoCMax", "SoC_SF", 100, -1);
	wr_sf(m802, 802, "SoCMin", NULL, 0, -1);
	wr_sf(m802, 802, "SoCRsvMin", NULL, c->reserve_pct, -1);
	wr_sf(m802, 802, "SoC", NULL, soc, -1);
	wr_sf(m802, 802, "SoH", "SoH_SF", 100, 0);
	wr(m802, 802, "ChaSt", st);
	wr(m802, 802, "LocRemCtl", 0); /* REMOTE */
	wr(m802, 802, "Typ", 4);       /* LITHIUM_ION */
	wr(m802, 802, "State", 3);     /* CONNECTED */
	wr(m802, 802, "Evt1", 0);
	wr(m802, 802, "Evt2", 0);
	wr(m802, 802, "EvtVnd1", 0);
	wr(m802, 802, "EvtVnd2", 0);
	wr(m802, 802, "AlmRst", 0);
	wr_sf(m802, 802, "V", "V_SF", SIMBAT_NOMINAL_V, -1);
	wr(m802, 802, "CellV_SF", -3);
	wr_sf(m802, 802, "A", "A_SF", power_w / SIMBAT_NOMINAL_V, -1);
	wr(m802, 802, "AMax_SF", 0);
	sf = fit(power_w, 0, 32000);
	wr_sf(m802, 802, "W", "W_SF", power_w, sf);
	wr(m802, 802, "SetOp", 1);       /* CONNECT */
	wr(m802, 802, "SetInvState", 3); /* INVERTER_STARTED */
}

bool
simbat_regs_written(struct simbat *b, const uint16_t *m124)
{
	struct simbat_ctl n = b->ctl;
	int64_t mode = rd(m124, 124, "StorCtl_Mod"), in = rd(m124, 124, "InWRte"),
	        out = rd(m124, 124, "OutWRte"), rv = rd(m124, 124, "InOutWRte_RvrtTms"),
	        grid = rd(m124, 124, "ChaGriSet"), rsv = rd(m124, 124, "MinRsvPct");

	/* a value out of range (or "not implemented") leaves that control as it was */
	if (mode != INT64_MIN)
		n.mode = (unsigned)mode & (SIMBAT_CTL_CHARGE | SIMBAT_CTL_DISCHARGE);
	if (in >= -1000 && in <= 1000)
		n.in_pct = (double)in / 10.0;
	if (out >= -1000 && out <= 1000)
		n.out_pct = (double)out / 10.0;
	if (rv != INT64_MIN)
		n.revert_s = (double)rv;
	if (grid == 0 || grid == 1)
		n.grid_charge = grid == 1;
	if (rsv >= 0 && rsv <= 990)
		b->cfg.reserve_pct = (double)rsv / 10.0;
	bool changed = n.mode != b->ctl.mode || n.in_pct != b->ctl.in_pct ||
	               n.out_pct != b->ctl.out_pct || n.revert_s != b->ctl.revert_s ||
	               n.grid_charge != b->ctl.grid_charge;
	simbat_control(b, &n);
	return changed;
}
