/*
 * sim.h: what the parts of peerwatt-sim's SunSpec device share (its state,
 * struct sim, and the functions one part calls in another):
 *   sim.c          options, the Modbus server and its faults
 *   sim_physics.c  the simulated household: PV, load, the meter's view, the
 *                  accumulators, on the simulated clock
 *   sim_regs.c     the register map: the SunSpec models laid out at --base,
 *                  and the values written into them before each reply
 *
 * What the simulator does and its options: sim.c.  The battery, the
 * inverter's controls, the register-map templates and the smart meter have
 * their own headers beside this one.
 */
#ifndef TESTS_SIM_SIM_H
#define TESTS_SIM_SIM_H

#include <stdbool.h>
#include <stdint.h>

#include <modbus.h>

#include "agent/modbus_link.h"
#include "agent/tmpl.h"
#include "tests/sim/sim_battery.h"
#include "tests/sim/sim_controls.h"

enum fault { F_NONE, F_SLEEP, F_DROP, F_SFCHANGE, F_RESET, F_SLOW, F_GARBAGE, F_TRICKLE };

struct sim {
	/* options */
	const char *listen;
	struct mlink_url url;
	char host[64];
	uint16_t port;
	int unit;
	uint16_t base;
	bool floats;
	double pv_peak_w, load_w, speed;
	enum fault fault;
	uint32_t seed;
	double start_s;       /* simulated seconds of day at start */
	const struct tmpl *t; /* --template: serve its map instead of SunSpec */
	bool unit_given;
	/* layout */
	uint32_t a_common, a_inv, a_meter, a_end;
	uint16_t inv_id, meter_id;
	modbus_mapping_t *map;
	/* state */
	double t0_real;  /* real seconds at start */
	double last_sim; /* simulated seconds since the start at the last update */
	double pv_w, load_w_now, grid_w;
	double inv_wh, exp_wh, imp_wh;
	unsigned long requests;
	bool awake;
	double woke_real; /* real time of the last wake-up */
	double last_reset_real;
	int sf_phase;
	uint32_t reply_delay_ms; /* --reply-delay: every reply this late */
	uint32_t trickle_ms;     /* --trickle-ms: the trickle fault's pace */
	/* --battery-wh: a home battery in models 124, 713, 802 (sim_battery.c) */
	bool battery;
	struct simbat bat;
	double bat_w; /* its power now, > 0 discharging */
	uint32_t a_124, a_713, a_802;
	/* models 121 and 123, or 702 and 704 (--control-model 704): the export
	 * limit (sim_controls.c) */
	struct simctl ctl;
	uint16_t ctl_model; /* 123 or 704 */
};

/* sim_physics.c */
uint32_t hash32(uint32_t x);
void advance(struct sim *s, double now_real);

/* sim_regs.c */
uint16_t *reg(struct sim *s, uint32_t addr);
void layout(struct sim *s);
void refresh(struct sim *s, double now_real);

#endif
