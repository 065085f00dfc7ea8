/*
 * sim_controls.h: peerwatt-sim's inverter controls: SunSpec models 121 and
 * 123 (the default), or 702 and 704 (--control-model 704, an IEEE 1547
 * DER): WMax, and an export limit (WMaxLimPct with WMaxLim_Ena, 704
 * WMaxLimPctEna) that clips the simulated PV output and, when its revert
 * timeout (WMaxLimPct_RvrtTms, 704 WMaxLimPctRvrtTms) runs out on the
 * simulated clock, lifts itself (123) or takes the reversion values
 * (704 WMaxLimPctRvrt with WMaxLimPctEnaRvrt; WMaxLimPctRvrtRem counts
 * down).
 *
 * Writes (function 6 or 16) are accepted only to the read-write points of
 * these models (none of 702), with values in range (WMaxLimPct at most
 * 100 %, an enable 0 or 1); anything else gets a Modbus exception and
 * changes nothing, as on a real inverter.  Called by tests/sim/ only (sim.c,
 * sim_physics.c, sim_regs.c).
 */
#ifndef TESTS_SIM_SIM_CONTROLS_H
#define TESTS_SIM_SIM_CONTROLS_H

#include <stdbool.h>
#include <stdint.h>

#include <modbus.h>

/* --controls: how the inverter takes writes to model 123 (tests of the
 * agent's read-back) */
enum simctl_mode {
	SIMCTL_OK,     /* as a real inverter */
	SIMCTL_IGNORE, /* acknowledges and keeps nothing: a read-back differs */
	SIMCTL_REFUSE  /* answers every write with an exception (device failure) */
};

struct simctl {
	enum simctl_mode mode;
	uint16_t saved[80]; /* the limit's model before a write, for SIMCTL_IGNORE */
	modbus_mapping_t *map;
	uint16_t base;
	uint16_t wmax_id, lim_id; /* 121 and 123, or 702 and 704 */
	uint32_t a_wmax, a_lim;   /* their addresses; 0: not laid out (a template) */
	double wmax_w;
	bool ena;           /* the limit is in force */
	double pct;         /* of WMax */
	bool revert;        /* ... until rvrt_left_s runs out */
	double rvrt_left_s; /* simulated seconds */
	unsigned long writes;
	uint32_t allow_lo, allow_hi; /* another model's writable registers (simctl_allow) */
};

/* "ok", "ignore", "refuse": 0, or -1 for another word. */
int simctl_mode_parse(const char *word, enum simctl_mode *mode);
/* Registers the two models of lim_id (123 or 704) take with their headers. */
uint32_t simctl_len(uint16_t lim_id);
/* Lay them out at addr (registers already allocated); returns the next address. */
uint32_t simctl_layout(struct simctl *c, modbus_mapping_t *map, uint16_t base, uint32_t addr,
                       double wmax_w, uint16_t lim_id);
/* Let writes to the model at lo (its registers after ID and L, up to hi)
 * through: a battery's controls (model 124), which sim.c checks itself. */
void simctl_allow(struct simctl *c, uint32_t lo, uint32_t hi);
/*
 * Before a request is answered: 0 to serve it, or the Modbus exception
 * code to answer a write with (outside the read-write points, or a value
 * out of range).  q is the request, hl its header length.
 */
int simctl_check(struct simctl *c, const uint8_t *q, int n, int hl);
/* After a request was answered: a write to the limit's model takes effect now. */
void simctl_after(struct simctl *c, const uint8_t *q, int hl);
/* The PV power the inverter puts out under the limit. */
double simctl_clip(const struct simctl *c, double pv_w);
/* A simulation step shortened to end when the revert timeout does. */
double simctl_step(const struct simctl *c, double step_s);
/* step_s of simulated time passed: the revert timeout counts down. */
void simctl_tick(struct simctl *c, double step_s);

#endif
