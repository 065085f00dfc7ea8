/*
 * sim_tmpl.h: peerwatt-sim's register maps from a template (--template NAME).
 *
 * Lays out the holding and input registers a template names (one range per
 * table, from its lowest to its highest register; registers in between read
 * 0) and writes the simulated household into them at each request with the
 * template's types, word order, scale and sign, so that a reader using the
 * template reads back the sim's values within the template's resolution.
 * Called by tests/sim/sim.c and tests/sim/sim_regs.c only.
 */
#ifndef TESTS_SIM_SIM_TMPL_H
#define TESTS_SIM_SIM_TMPL_H

#include <stdbool.h>

#include <modbus.h>

#include "agent/tmpl.h"

/* The household as the sim's physics has it. */
struct simtmpl_values {
	double pv_w, grid_w; /* grid: import positive */
	double inv_wh, exp_wh, imp_wh;
	bool zero_acc;             /* energy registers read 0 (waking up) */
	double soc_pct, battery_w; /* battery_w > 0 discharging */
	double capacity_wh, max_charge_w, max_discharge_w, soh_pct;
	const char *serial;       /* for string serials */
	unsigned long serial_num; /* for numeric ones */
};

/* The map for t, or NULL (logged) when the template has no registers. */
modbus_mapping_t *simtmpl_layout(const struct tmpl *t);
/* Write v (and the identification value) into map. */
void simtmpl_refresh(const struct tmpl *t, modbus_mapping_t *map, const struct simtmpl_values *v);
/* Whether a request for `unit` is the device's (the template's unit ids). */
bool simtmpl_unit_ok(const struct tmpl *t, int unit);

#endif
