/*
 * storage.h: a home battery as the agent reads it.
 *
 * Owns: struct storage_reading (state of charge, usable capacity, power,
 * charge and discharge limits, state of health, reserve, charge status and
 * the model-124 controls as the device reports them) and its decoding from
 * the SunSpec storage models: 124 (basic storage controls), 802 (battery
 * base) and 713 (DER storage capacity).  A device may carry any of them; a
 * value comes from the first model that has it (802, then 124, then 713:
 * the battery's own model is the most direct), a value the device does not
 * implement, or gives out of its plausible range, is absent (never 0).
 *
 * Called by agent/device.c (each full SunSpec poll, and the template values
 * battery_*), agent/probe.c (the "storage" section) and the unit tests.
 * Thread-safety: no shared state.
 */
#ifndef AGENT_STORAGE_H
#define AGENT_STORAGE_H

#include <stdbool.h>
#include <stdint.h>

#include "agent/sunspec.h"
#include "peerwatt/error.h"

/* Plausibility bounds: a household battery; beyond them a value is absent. */
#define STORAGE_CAPACITY_MAX_WH 1000000 /* 1 MWh */
#define STORAGE_POWER_MAX_W     1000000 /* 1 MW, either way */

struct storage_reading {
	bool present;   /* a storage model was read, or a template's battery value */
	uint16_t model; /* the SunSpec model values came from first (802, 124, 713); 0 template */
	bool has_soc;
	double soc_pct; /* 0..100 */
	bool has_capacity;
	int64_t capacity_wh; /* usable (nameplate) capacity, whole Wh */
	bool has_power;
	double power_w; /* > 0 discharging, < 0 charging */
	bool has_max_charge, has_max_discharge;
	double max_charge_w, max_discharge_w; /* >= 0 */
	bool has_soh;
	double soh_pct; /* 0..100 */
	bool has_reserve;
	double reserve_pct; /* the device's minimum reserve, 0..100 */
	bool has_charge_status;
	uint32_t charge_status;         /* ChaSt: 1 OFF .. 7 TESTING */
	const char *charge_status_name; /* static; NULL: a value without a symbol */
	/* model 124's controls as read (has_controls: 124 present and StorCtl_Mod implemented) */
	bool has_controls;
	uint32_t ctl_mode; /* StorCtl_Mod bits: 1 CHARGE, 2 DISCHARGE */
	bool has_in_rate, has_out_rate, has_revert;
	double in_rate_pct, out_rate_pct; /* InWRte, OutWRte: -100..100 % */
	uint32_t revert_s;                /* InOutWRte_RvrtTms */
};

/* The storage models peerwatt decodes, in the order values are taken from. */
extern const uint16_t storage_model_ids[3];

/*
 * Merge one read block (model 124, 713 or 802) into st: every value st does
 * not have yet that the block holds and that passes its bounds.  Other models
 * change nothing.  Pure; the unit tests feed it register images.
 */
void storage_decode(const struct sunspec_block *blk, struct storage_reading *st);

/*
 * Read every storage model of dev (802, 124, 713 in that order) into st
 * (zeroed first).  A transport error aborts and is returned; a block that
 * breaks its checks (PW_ERR_STATE: the layout moved) is returned too; a
 * device without storage models gives PW_OK with st->present false.
 */
pw_err storage_poll(const struct sunspec_io *io, const struct sunspec_dev *dev,
                    struct storage_reading *st) __attribute__((warn_unused_result));

#endif
