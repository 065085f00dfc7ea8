/*
 * sim_tmpl.c: register maps served from a template (see sim_tmpl.h).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "peerwatt/log.h"
#include "tests/sim/sim_tmpl.h"

/* Lowest and highest+1 register of table fc (3 or 4) used by t. */
static void
extent(const struct tmpl *t, int fc, unsigned *lo, unsigned *hi)
{
	*lo = 65536;
	*hi = 0;
	for (int i = 0; i <= TMPL_V__COUNT; i++) {
		const struct tmpl_value *v = i == TMPL_V__COUNT ? &t->ident.v : &t->v[i];
		unsigned n = v->type == TMPL_STRING ? v->length : tmpl_type_regs(v->type);
		if (!v->present || v->fc != fc)
			continue;
		for (int k = 0; k < v->naddr; k++) {
			if (v->addr[k] < *lo)
				*lo = v->addr[k];
			if (v->addr[k] + n > *hi)
				*hi = v->addr[k] + n;
		}
		if (v->scale_reg) {
			if (v->scale_addr < *lo)
				*lo = v->scale_addr;
			if (v->scale_addr + 1u > *hi)
				*hi = v->scale_addr + 1u;
		}
	}
	if (*hi == 0)
		*lo = 0;
}

modbus_mapping_t *
simtmpl_layout(const struct tmpl *t)
{
	unsigned hlo, hhi, ilo, ihi;

	extent(t, 3, &hlo, &hhi);
	extent(t, 4, &ilo, &ihi);
	if (hhi == 0 && ihi == 0) {
		log_warnx("sim: template %s names no registers", t->name);
		return NULL;
	}
	return modbus_mapping_new_start_address(0, 0, 0, 0, hlo, hhi - hlo, ilo, ihi - ilo);
}

bool
simtmpl_unit_ok(const struct tmpl *t, int unit)
{
	if (unit == t->unit_id)
		return true;
	for (int i = 0; i < TMPL_V__COUNT; i++)
		if (t->v[i].present && t->v[i].unit_id == unit)
			return true;
	return false;
}

static uint16_t *
at(modbus_mapping_t *m, int fc, unsigned addr)
{
	if (fc == 4)
		return &m->tab_input_registers[addr - (unsigned)m->start_input_registers];
	return &m->tab_registers[addr - (unsigned)m->start_registers];
}

/* Write num (in the value's unit) into v's registers: the first address
 * takes all of it, further summed addresses read 0. */
static void
put(modbus_mapping_t *m, const struct tmpl_value *v, double num, const char *text)
{
	uint16_t regs[TMPL_STR_REGS];
	int e = v->scale;

	if (!v->present)
		return;
	if (v->scale_reg) {
		e = -1;
		*at(m, v->fc, v->scale_addr) = (uint16_t)(int16_t)e;
	}
	for (int k = 0; k < v->naddr; k++) {
		unsigned n = v->type == TMPL_STRING ? v->length : tmpl_type_regs(v->type);
		if (tmpl_encode(v, k == 0 ? num : 0.0, text, e, regs) != PW_OK)
			memset(regs, 0, sizeof(regs)); /* out of range for the type */
		for (unsigned j = 0; j < n; j++)
			*at(m, v->fc, v->addr[k] + j) = regs[j];
	}
}

static double
in_unit(const struct tmpl_value *v, double w_or_wh)
{
	return v->unit == TMPL_UNIT_KW || v->unit == TMPL_UNIT_KWH ? w_or_wh / 1000.0 : w_or_wh;
}

void
simtmpl_refresh(const struct tmpl *t, modbus_mapping_t *m, const struct simtmpl_values *x)
{
	const struct tmpl_value *v = t->v;
	const struct tmpl_ident *d = &t->ident;
	char ident[TMPL_STR_REGS * 2 + 1];
	double g = x->grid_w;

	put(m, &v[TMPL_V_PV_POWER], in_unit(&v[TMPL_V_PV_POWER], x->pv_w), NULL);
	put(m, &v[TMPL_V_AC_ENERGY], x->zero_acc ? 0 : in_unit(&v[TMPL_V_AC_ENERGY], x->inv_wh),
	    NULL);
	put(m, &v[TMPL_V_GRID_POWER],
	    in_unit(&v[TMPL_V_GRID_POWER], v[TMPL_V_GRID_POWER].export_positive ? -g : g), NULL);
	put(m, &v[TMPL_V_GRID_POWER_IMPORT], in_unit(&v[TMPL_V_GRID_POWER_IMPORT], g > 0 ? g : 0),
	    NULL);
	put(m, &v[TMPL_V_GRID_POWER_EXPORT], in_unit(&v[TMPL_V_GRID_POWER_EXPORT], g < 0 ? -g : 0),
	    NULL);
	put(m, &v[TMPL_V_EXPORT_ENERGY],
	    x->zero_acc ? 0 : in_unit(&v[TMPL_V_EXPORT_ENERGY], x->exp_wh), NULL);
	put(m, &v[TMPL_V_IMPORT_ENERGY],
	    x->zero_acc ? 0 : in_unit(&v[TMPL_V_IMPORT_ENERGY], x->imp_wh), NULL);
	put(m, &v[TMPL_V_SERIAL], (double)x->serial_num, x->serial);
	put(m, &v[TMPL_V_BATTERY_SOC], x->soc_pct, NULL);
	put(m, &v[TMPL_V_BATTERY_POWER],
	    in_unit(&v[TMPL_V_BATTERY_POWER],
	            v[TMPL_V_BATTERY_POWER].export_positive ? -x->battery_w : x->battery_w),
	    NULL);
	put(m, &v[TMPL_V_BATTERY_CAPACITY], in_unit(&v[TMPL_V_BATTERY_CAPACITY], x->capacity_wh),
	    NULL);
	put(m, &v[TMPL_V_BATTERY_MAX_CHARGE],
	    in_unit(&v[TMPL_V_BATTERY_MAX_CHARGE], x->max_charge_w), NULL);
	put(m, &v[TMPL_V_BATTERY_MAX_DISCHARGE],
	    in_unit(&v[TMPL_V_BATTERY_MAX_DISCHARGE], x->max_discharge_w), NULL);
	put(m, &v[TMPL_V_BATTERY_SOH], x->soh_pct, NULL);
	/* the identification register holds what the template looks for */
	snprintf(ident, sizeof(ident), "%.*s%s", (int)sizeof(ident) - 4, d->prefix,
	         d->prefix[0] != '\0' ? "" : "SIM");
	put(m, &d->v,
	    d->nequals > 0 ? (double)d->equals[0]
	    : d->has_range ? (double)d->min
	                   : 0,
	    ident);
}
