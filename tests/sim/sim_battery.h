/*
 * sim_battery.h: peerwatt-sim's home battery (--battery-wh and friends).
 *
 * Owns: the battery's physics (usable capacity, charge and discharge power
 * limits, round-trip efficiency split evenly between charging and
 * discharging, state of charge, reserve), its own controller (self-
 * consumption: it charges from the household's PV surplus and discharges to
 * cover its load, as a real battery left to itself does), the storage
 * controls of SunSpec model 124 (a charge/discharge power window, grid
 * charging, the revert timeout) and the totals that let a test check that
 * energy is conserved.  The battery is AC-coupled: the inverter shows the PV
 * alone and the grid meter sees load - PV + charging - discharging.
 *
 * Called by peerwatt-sim (tests/sim/sim_physics.c steps it, sim_regs.c lays
 * the values out in models 124, 802 and 713, sim.c sets it up and takes the
 * writes to its controls) and by tests/unit/test_sim_battery.c.  Pure: no I/O, no clock.
 */
#ifndef TESTS_SIM_SIM_BATTERY_H
#define TESTS_SIM_SIM_BATTERY_H

#include <stdbool.h>

struct simbat_cfg {
	double capacity_wh;     /* usable energy between 0 and 100 % */
	double max_charge_w;    /* AC side */
	double max_discharge_w; /* AC side */
	double efficiency;      /* round trip, 0 < e <= 1 */
	double soc_pct;         /* at start */
	double reserve_pct;     /* its own controller never discharges below it */
};

/* Model 124's StorCtl_Mod bits. */
#define SIMBAT_CTL_CHARGE    1u /* InWRte limits charging (a negative one forces discharge) */
#define SIMBAT_CTL_DISCHARGE 2u /* OutWRte limits discharging (a negative one forces charge) */

struct simbat_ctl {
	unsigned mode;        /* SIMBAT_CTL_* */
	double in_pct;        /* InWRte: % of the maximum charge power, -100..100 */
	double out_pct;       /* OutWRte: % of the maximum discharge power, -100..100 */
	double revert_s;      /* InOutWRte_RvrtTms: 0 never */
	bool grid_charge;     /* ChaGriSet GRID: forced charging may draw from the grid */
	double since_write_s; /* simulated seconds since the controls were written */
};

struct simbat {
	struct simbat_cfg cfg;
	struct simbat_ctl ctl;
	double stored_wh; /* in the cells, 0..capacity */
	double power_w;   /* AC side, > 0 discharging, during the last step */
	/* totals on the AC side, and the losses (for the conservation test) */
	double charged_wh, discharged_wh, loss_wh;
	unsigned long reverts; /* times the controls reverted by themselves */
};

/* Check a configuration: NULL when good, else what is wrong. */
const char *simbat_cfg_check(const struct simbat_cfg *c);
void simbat_init(struct simbat *b, const struct simbat_cfg *c);
double simbat_soc_pct(const struct simbat *b);

/*
 * The AC power (> 0 discharging) the battery's controller chooses when the
 * household's net demand is net_w (load - PV, > 0 a deficit), within its
 * limits, its controls and, over dt_s seconds, the energy it holds or has
 * room for (dt_s 0: the instantaneous choice).
 */
double simbat_power(const struct simbat *b, double net_w, double dt_s);
/* Run dt_s seconds at net demand net_w: returns the power used, updates the
 * state, the totals and the revert timer. */
double simbat_step(struct simbat *b, double net_w, double dt_s);
/* New controls written (as read back from model 124): restarts the timer. */
void simbat_control(struct simbat *b, const struct simbat_ctl *ctl);

/* Model 124's charge status (ChaSt) at power_w: 2 EMPTY, 3 DISCHARGING, 4 CHARGING,
 * 5 FULL, 6 HOLDING. */
unsigned simbat_charge_status(const struct simbat *b, double power_w);

/*
 * Registers.  m124, m713, m802 point at the ID register of each model in the
 * sim's map (laid out with their ID, length and "not implemented" values).
 * simbat_regs writes the battery's values (power_w as simbat_power gives it
 * now) with their scale factors; simbat_regs_written takes the controls back
 * from model 124 after a client wrote there: true when they changed (the
 * revert timer restarts at every write of them).
 */
#define SIMBAT_NOMINAL_V 51.2 /* the pack's voltage, for the Ah and A points */
void simbat_regs(const struct simbat *b, double power_w, uint16_t *m124, uint16_t *m713,
                 uint16_t *m802);
bool simbat_regs_written(struct simbat *b, const uint16_t *m124);

#endif
