/*
 * storage_ctl.h: charge and discharge setpoints for a home battery through
 * SunSpec model 124 (issue 20 point 2; docs/metering.md "Storage controls").
 *
 * Owns: the rules every setpoint obeys, whoever asks for it (the installer's
 * `probe --battery-set`, later the agent's plan): never discharge at or
 * below the reserve (the configured one or the device's, whichever is
 * higher; an unknown state of charge counts as at the reserve), never
 * charge from the grid unless configured (ChaGriSet PV otherwise: the
 * battery charges from the PV surplus only), always a revert timeout
 * (InOutWRte_RvrtTms 1..65535 s: an agent that dies leaves a battery that
 * goes back to its own controller), and a read-back of what was written.
 *
 * Model 124 is taken as inverters implement it: the battery's power,
 * charging positive, stays in a window whose top is InWRte % of the
 * maximum charge power (with StorCtl_Mod bit CHARGE) and whose bottom is
 * minus OutWRte % of the maximum discharge power (bit DISCHARGE).  A
 * setpoint is a narrow window: charge P is [P, P], discharge P is [-P, -P]
 * (percentages rounded so that the window holds P), hold is [0, 0], and
 * "protect the reserve" is bit DISCHARGE with OutWRte 0 (no discharge,
 * charging free).  Auto is StorCtl_Mod 0: the battery's own controller.
 *
 * Prefix stctl_.  Called by agent/device.c (dev_storage_control) and the
 * unit tests.  Thread-safety: no shared state.
 */
#ifndef AGENT_STORAGE_CTL_H
#define AGENT_STORAGE_CTL_H

#include <stdbool.h>
#include <stdint.h>

#include "agent/control.h"
#include "agent/storage.h"
#include "peerwatt/error.h"

#define STCTL_DETAIL_MAX 160

enum stctl_mode {
	STCTL_AUTO,      /* StorCtl_Mod 0: the battery's own controller */
	STCTL_HOLD,      /* neither charge nor discharge */
	STCTL_CHARGE,    /* at power_w */
	STCTL_DISCHARGE, /* at power_w */
	STCTL_PROTECT /* no discharge (the reserve), charging free: what a refused discharge becomes
	               */
};

struct stctl_cfg {
	double reserve_pct; /* never discharge at or below it (nor the device's own) */
	bool grid_charge;   /* ChaGriSet GRID: charging may draw from the grid */
};

struct stctl_cmd {
	enum stctl_mode mode;
	int64_t power_w;   /* charge/discharge: 1..STORAGE_POWER_MAX_W */
	uint16_t revert_s; /* 1..65535: always */
};

/* The registers of one setpoint (value = raw x 10^rate_sf %). */
struct stctl_regs {
	uint16_t mode; /* StorCtl_Mod */
	int16_t in_raw, out_raw;
	uint16_t revert_s;
	uint16_t grid; /* ChaGriSet: 0 PV, 1 GRID */
};

struct stctl_result {
	pw_err rc;
	enum stctl_mode asked, planned; /* planned differs when the rules changed it */
	int rate_sf;
	struct stctl_regs want, got; /* written, read back */
	bool wrote, readback;
	char detail[STCTL_DETAIL_MAX]; /* why a plan changed, or what went wrong ("" none) */
};

const char *stctl_mode_name(enum stctl_mode m);
/* "auto", "hold", "protect", "charge:W", "discharge:W" into cmd (revert_s untouched);
 * PW_ERR_PARSE otherwise. */
pw_err stctl_parse(const char *s, struct stctl_cmd *cmd) __attribute__((warn_unused_result));

/*
 * The registers for cmd on a battery as read in st, with the rate scale
 * factor sf (InOutWRte_SF, -2..2).  Applies the rules: a discharge at or
 * below the reserve, or with the state of charge unknown, becomes
 * STCTL_PROTECT (as does auto when the configured reserve is above the
 * device's and reached); *planned says what was planned and detail why.
 * PW_ERR_RANGE for a revert timeout of 0, a power out of range or sf outside
 * -2..2; PW_ERR_NOT_IMPL when the maximum power a setpoint needs is unknown
 * (model 124 has no discharge maximum: it comes from 802 or a template).
 */
pw_err stctl_plan(const struct stctl_cfg *cfg, const struct storage_reading *st, int sf,
                  const struct stctl_cmd *cmd, struct stctl_regs *out, enum stctl_mode *planned,
                  char *detail, size_t detail_len) __attribute__((warn_unused_result));

/*
 * Carry out cmd on a SunSpec device: read its storage (storage_poll) and
 * model 124's rate scale factor, plan, write OutWRte, InWRte,
 * InOutWRte_WinTms (0), InOutWRte_RvrtTms, InOutWRte_RmpTms (as read) and
 * ChaGriSet in one request, then StorCtl_Mod, and read them back.
 * PW_ERR_NOT_IMPL without model 124, PW_ERR_STATE when the read-back
 * differs, the plan's and the transport's errors as is; res says what.
 */
pw_err stctl_apply(const struct ctl_io *io, const struct sunspec_dev *dev,
                   const struct stctl_cfg *cfg, const struct stctl_cmd *cmd,
                   struct stctl_result *res) __attribute__((warn_unused_result));

#endif
