/*
 * sim_regs.c: peerwatt-sim's register map (sim.h): the SunSpec models
 * (common, inverter, meter, a battery's, the controls) laid out at --base
 * with the tables of agent/sunspec.c, and the values of the simulated
 * household written into them (or into a template's map) before each reply,
 * with the scale-factor and accumulator faults.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <modbus.h>

#include "agent/sunspec.h"
#include "peerwatt/log.h"
#include "tests/sim/sim.h"
#include "tests/sim/sim_battery.h"
#include "tests/sim/sim_controls.h"
#include "tests/sim/sim_tmpl.h"

uint16_t *
reg(struct sim *s, uint32_t addr)
{
	return &s->map->tab_registers[addr - s->base];
}

static const struct sunspec_point *
pt(uint16_t id, const char *name)
{
	const struct sunspec_point *p = sunspec_point_find(sunspec_model_find(id), name, false);
	if (p == NULL)
		fatalx("sim: model %u has no point %s", id, name);
	return p;
}

static void
put(struct sim *s, uint32_t model_addr, uint16_t id, const char *name, uint64_t v)
{
	const struct sunspec_point *p = pt(id, name);
	for (int i = p->size - 1; i >= 0; i--) {
		*reg(s, model_addr + p->offset + (uint32_t)i) = (uint16_t)(v & 0xFFFF);
		v >>= 16;
	}
}

static void
put_i(struct sim *s, uint32_t a, uint16_t id, const char *name, int64_t v)
{
	put(s, a, id, name, (uint64_t)v);
}

static void
put_f(struct sim *s, uint32_t a, uint16_t id, const char *name, double d)
{
	float f = (float)d;
	uint32_t w;
	memcpy(&w, &f, sizeof(w));
	put(s, a, id, name, w);
}

static void
put_str(struct sim *s, uint32_t a, uint16_t id, const char *name, const char *str)
{
	const struct sunspec_point *p = pt(id, name);
	size_t n = strlen(str);
	for (uint16_t i = 0; i < p->size; i++) {
		unsigned hi = 2u * i < n ? (unsigned char)str[2 * i] : 0;
		unsigned lo = 2u * i + 1 < n ? (unsigned char)str[2 * i + 1] : 0;
		*reg(s, a + p->offset + i) = (uint16_t)(hi << 8 | lo);
	}
}

static uint32_t
lay_model(struct sim *s, uint32_t addr, uint16_t id)
{
	const struct sunspec_model_def *def = sunspec_model_find(id);
	*reg(s, addr) = id;
	*reg(s, addr + 1) = def->fixed_len;
	for (uint16_t i = 2; i < def->nfixed; i++)
		sunspec_sentinel(def->fixed[i].type, def->fixed[i].size,
		                 reg(s, addr + def->fixed[i].offset));
	return addr + 2u + def->fixed_len;
}

void
layout(struct sim *s)
{
	uint32_t a, total;
	char sn[32];

	s->inv_id = s->floats ? 113 : 103;
	s->meter_id = s->floats ? 213 : 203;
	total = 2 + 68 + 2u + sunspec_model_find(s->inv_id)->fixed_len + 2u +
	        sunspec_model_find(s->meter_id)->fixed_len + simctl_len(s->ctl_model) + 2;
	if (s->battery)
		total += 6u + sunspec_model_find(124)->fixed_len +
		         sunspec_model_find(713)->fixed_len + sunspec_model_find(802)->fixed_len;
	if (s->base + total > 65536u)
		fatalx("sim: base too high");
	s->map = modbus_mapping_new_start_address(0, 0, 0, 0, s->base, total, 0, 0);
	if (s->map == NULL)
		fatalx("sim: cannot allocate registers");
	*reg(s, s->base) = 0x5375;
	*reg(s, s->base + 1u) = 0x6e53;
	s->a_common = s->base + 2u;
	a = lay_model(s, s->a_common, 1);
	s->a_inv = a;
	a = lay_model(s, a, s->inv_id);
	s->a_meter = a;
	a = lay_model(s, a, s->meter_id);
	if (s->battery) {
		s->a_124 = a;
		a = lay_model(s, a, 124);
		s->a_713 = a;
		a = lay_model(s, a, 713);
		s->a_802 = a;
		a = lay_model(s, a, 802);
	}
	a = simctl_layout(&s->ctl, s->map, s->base, a, s->pv_peak_w, s->ctl_model);
	if (s->battery) /* its controls are written too (storage_written) */
		simctl_allow(&s->ctl, s->a_124, s->a_713);
	s->a_end = a;
	*reg(s, a) = 0xFFFF;
	*reg(s, a + 1) = 0;
	put_str(s, s->a_common, 1, "Mn", "peerwatt");
	put_str(s, s->a_common, 1, "Md", s->floats ? "sim-float" : "sim-int");
	put_str(s, s->a_common, 1, "Vr", PW_VERSION);
	snprintf(sn, sizeof(sn), "PWSIM-%u-%d", s->seed, s->unit);
	put_str(s, s->a_common, 1, "SN", sn);
	put(s, s->a_common, 1, "DA", (uint64_t)s->unit);
}

/* Scale factor so that v / 10^sf fits an int16. */
static int
fit_sf(double v, int min_sf)
{
	int sf = min_sf;
	while (fabs(v) / pow(10.0, sf) > 32000.0)
		sf++;
	return sf;
}

static int64_t
scaled(double v, int sf)
{
	return (int64_t)llround(v / pow(10.0, sf));
}

/* acc32 raw count for Wh at sf; 0 is "not implemented", so a live counter never shows it. */
static uint32_t
acc32(double wh, int sf)
{
	uint64_t raw = (uint64_t)floor(wh / pow(10.0, sf));
	uint32_t r = (uint32_t)(raw & 0xFFFFFFFFu);
	return r == 0 ? 1 : r;
}

void
refresh(struct sim *s, double now_real)
{
	bool zero_acc;
	int st;

	advance(s, now_real);
	if (s->fault == F_RESET && now_real - s->last_reset_real >= 4.0) {
		s->last_reset_real = now_real;
		s->inv_wh = s->exp_wh = s->imp_wh = 1.0;
	}
	zero_acc = s->fault == F_SLEEP && now_real - s->woke_real < 2.0;
	if (s->t != NULL) {
		char sn[32];
		struct simtmpl_values v = { s->pv_w,  s->grid_w, s->inv_wh, s->exp_wh, s->imp_wh,
			                    zero_acc, 55.0,      -1200.0,   10000.0,   5000.0,
			                    5000.0,   100.0,     sn,        0 };
		snprintf(sn, sizeof(sn), "PWSIM-%u-%d", s->seed, s->unit);
		v.serial_num = 10000000ul + s->seed;
		if (s->battery) {
			v.soc_pct = simbat_soc_pct(&s->bat);
			v.battery_w = s->bat_w;
			v.capacity_wh = s->bat.cfg.capacity_wh;
			v.max_charge_w = s->bat.cfg.max_charge_w;
			v.max_discharge_w = s->bat.cfg.max_discharge_w;
		}
		simtmpl_refresh(s->t, s->map, &v);
		return;
	}
	if (s->battery)
		simbat_regs(&s->bat, s->bat_w, reg(s, s->a_124), reg(s, s->a_713),
		            reg(s, s->a_802));
	st = s->pv_w > 0 ? 4 : 2; /* MPPT or SLEEPING */
	if (s->fault == F_SFCHANGE && s->requests % 3 == 0)
		s->sf_phase = (s->sf_phase + 1) % 3;
	if (s->floats) {
		uint32_t a = s->a_inv;
		put_f(s, a, 113, "W", s->pv_w);
		put_f(s, a, 113, "A", s->pv_w / 690.0);
		put_f(s, a, 113, "PhVphA", 230.0);
		put_f(s, a, 113, "Hz", 50.0);
		if (zero_acc)
			put(s, a, 113, "WH", 0);
		else
			put_f(s, a, 113, "WH", s->inv_wh);
		put(s, a, 113, "St", (uint64_t)st);
		a = s->a_meter;
		put_f(s, a, 213, "W", s->grid_w);
		put_f(s, a, 213, "WphA", s->grid_w / 3.0);
		put_f(s, a, 213, "WphB", s->grid_w / 3.0);
		put_f(s, a, 213, "WphC", s->grid_w / 3.0);
		put_f(s, a, 213, "Hz", 50.0);
		put_f(s, a, 213, "PhV", 230.0);
		put_f(s, a, 213, "TotWhExp", zero_acc ? 0.0 : s->exp_wh);
		put_f(s, a, 213, "TotWhImp", zero_acc ? 0.0 : s->imp_wh);
		return;
	}
	/* sfchange moves every scale factor; value and SF are written together. */
	int wsf = fit_sf(s->pv_w, s->sf_phase - 1);
	/* Energy resolution changes too: 1, 0.1 and 10 Wh per count. */
	static const int wh_sfs[3] = { 0, -1, 1 };
	int whsf = wh_sfs[s->sf_phase];
	uint32_t a = s->a_inv;
	put_i(s, a, 103, "W", scaled(s->pv_w, wsf));
	put_i(s, a, 103, "W_SF", wsf);
	put_i(s, a, 103, "A", scaled(s->pv_w / 690.0, -2));
	put_i(s, a, 103, "A_SF", -2);
	put_i(s, a, 103, "PhVphA", 2300);
	put_i(s, a, 103, "PhVphB", 2300);
	put_i(s, a, 103, "PhVphC", 2300);
	put_i(s, a, 103, "V_SF", -1);
	put_i(s, a, 103, "Hz", 5000);
	put_i(s, a, 103, "Hz_SF", -2);
	put(s, a, 103, "WH", zero_acc ? 0 : acc32(s->inv_wh, whsf));
	put_i(s, a, 103, "WH_SF", whsf);
	put(s, a, 103, "St", (uint64_t)st);
	a = s->a_meter;
	wsf = fit_sf(s->grid_w, s->sf_phase - 1);
	put_i(s, a, 203, "W", scaled(s->grid_w, wsf));
	put_i(s, a, 203, "WphA", scaled(s->grid_w / 3.0, wsf));
	put_i(s, a, 203, "WphB", scaled(s->grid_w / 3.0, wsf));
	put_i(s, a, 203, "WphC", scaled(s->grid_w / 3.0, wsf));
	put_i(s, a, 203, "W_SF", wsf);
	put_i(s, a, 203, "Hz", 5000);
	put_i(s, a, 203, "Hz_SF", -2);
	put_i(s, a, 203, "PhV", 2300);
	put_i(s, a, 203, "V_SF", -1);
	put(s, a, 203, "TotWhExp", zero_acc ? 0 : acc32(s->exp_wh, whsf));
	put(s, a, 203, "TotWhImp", zero_acc ? 0 : acc32(s->imp_wh, whsf));
	put_i(s, a, 203, "TotWh_SF", whsf);
}
