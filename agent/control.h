/*
 * control.h: export curtailment, the decision and the inverter writes
 * (docs/agent-energy.md "Curtailment").
 *
 * Owns: the arithmetic of the decision (when the interval's feed-in
 * tariff is below the floor, the inverter may put out no more than the
 * household's load plus what it sold in the interval's auction), the
 * conversion of that power into the register value of SunSpec model 123
 * (immediate controls), else model 704 (DER AC controls): WMaxLimPct in %
 * of WMax, at the model's scale factor; the revert timeout, and the
 * writes themselves with their read-back.
 *
 * A limit is always written with a revert timeout (123
 * WMaxLimPct_RvrtTms; 704 WMaxLimPctRvrtTms with a reversion to 100 %,
 * disabled): an agent that dies while limiting leaves an inverter that
 * lifts the limit by itself.  Nothing here writes unless the caller asks; the agent
 * asks only with [device] control = on.
 *
 * Prefix ctl_.  Called by agent/device.c (dev_control, in the device
 * thread), agent/actl.c (the decision, in the loop's thread) and the unit
 * tests (tests/unit/test_control.c, through a fake register image).
 * Thread-safety: no shared state.
 */
#ifndef AGENT_CONTROL_H
#define AGENT_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/sunspec.h"
#include "peerwatt/error.h"

/* Added to the rest of the interval for the revert timeout, real seconds:
 * the agent re-writes the limit at the next interval's start well before. */
#define CTL_MARGIN_S 10
/* The most registers of one write: 123 WMaxLimPct .. WMaxLim_Ena (5),
 * 704 WMaxLimPctEna .. WMaxLimPctRvrtTms (6). */
#define CTL_NREGS_MAX  6
#define CTL_DETAIL_MAX 160
/* The largest WMax taken, W (a TW inverter is a misread register). */
#define CTL_WMAX_MAX_W INT64_C(1000000000000)

/* What the decision of one interval starts from. */
struct ctl_in {
	int64_t feedin_uper_kwh; /* the interval's feed-in tariff (HEARTBEAT) */
	int64_t floor_uper_kwh;  /* [device] export_floor: limit below this */
	uint64_t sold_wh;        /* the household sold this in the interval's auction */
	uint32_t interval_s;     /* > 0 */
	int64_t load_w;          /* the household's consumption now (< 0 taken as 0) */
};

struct ctl_decision {
	bool limit;      /* export earns less than the floor: limit the inverter */
	int64_t sold_w;  /* sold_wh spread over the interval, rounded up */
	int64_t limit_w; /* load + sold, >= 0 (when limit) */
};

/* The decision: limit iff feedin < floor; limit_w = load + sold power. */
void ctl_decide(const struct ctl_in *in, struct ctl_decision *out);

/*
 * WMaxLimPct's register value for limit_w of wmax_w at scale factor sf
 * (value = raw x 10^sf %), rounded up (never below what the household
 * needs) and at most 100 %.  PW_ERR_RANGE when wmax_w is outside
 * 1..CTL_WMAX_MAX_W or sf is outside
 * -2..2 (100 % would not fit a uint16).
 */
pw_err ctl_pct_raw(int64_t limit_w, int64_t wmax_w, int sf, uint16_t *raw)
    __attribute__((warn_unused_result));

/* The revert timeout, device seconds: the real ms left in the interval
 * plus CTL_MARGIN_S, times the devices' clock speed ([sim] speed, else 1),
 * rounded up, 1..65535. */
uint16_t ctl_revert_s(int64_t remaining_ms, uint32_t speed);

/*
 * What a limited interval saved, an estimate (docs/agent-energy.md "Curtailment"):
 * the export the forecast expected beyond what was sold, for the part of
 * the interval limited (part_ms of len_ms), is what was not exported;
 * ctl_saved_u prices it at the negative feed-in: -(wh x feed-in) / 1000
 * micro-units, truncated toward zero (negative when the feed-in was
 * positive: a floor above 0 limited export that would have earned).
 * ctl_not_exported_wh returns -1 when the figures do not fit.
 */
int64_t ctl_not_exported_wh(uint64_t forecast_wh, uint64_t sold_wh, int64_t part_ms,
                            int64_t len_ms);
int64_t ctl_saved_u(int64_t not_exported_wh, int64_t feedin_uper_kwh);

/* Register access: read as struct sunspec_io, and a write of 1..32
 * registers (agent/modbus_link.c's mlink_write_cb). */
struct ctl_io {
	pw_err (*read)(void *arg, uint16_t addr, uint16_t count, uint16_t *regs);
	pw_err (*write)(void *arg, uint16_t addr, uint16_t count, const uint16_t *regs);
	void *arg;
};

/* What the loop asks of the device thread.  gen grows with each new ask. */
struct ctl_cmd {
	uint64_t gen;
	bool limit;        /* false: lift the limit (the enable point 0) */
	int64_t limit_w;   /* limit */
	uint16_t revert_s; /* limit: the revert timeout, device seconds */
};

/* What the device thread did about it. */
struct ctl_result {
	uint64_t gen;   /* the ask it answers */
	pw_err rc;      /* PW_OK: written and read back equal */
	uint16_t model; /* 123 or 704 (0: neither found) */
	uint16_t nregs; /* registers of a limit's write */
	uint16_t ena;   /* want[ena], got[ena]: the enable point */
	bool limit;     /* the ask */
	bool wrote;     /* a write was acknowledged */
	bool readback;  /* the read-back after it came (equal or not) */
	int64_t wmax_w; /* WMax used (121 WMax, else 120 WRtg; 702 WMax, else WMaxRtg) */
	uint16_t pct_raw;
	int pct_sf;
	uint16_t revert_s;
	uint16_t want[CTL_NREGS_MAX], got[CTL_NREGS_MAX]; /* written, read back */
	char detail[CTL_DETAIL_MAX];                      /* what went wrong ("" none) */
};

/*
 * Carry out cmd on a SunSpec device.  With model 123: read it (its scale
 * factor) and WMax (121, else 120's WRtg), write WMaxLimPct,
 * WMaxLimPct_WinTms (0), WMaxLimPct_RvrtTms, WMaxLimPct_RmpTms (as read)
 * and WMaxLim_Ena (1) in one request, or WMaxLim_Ena (0) alone to lift
 * the limit.  Without 123, with model 704: WMax from 702 (WMax, else
 * WMaxRtg), write WMaxLimPctEna (1), WMaxLimPct, WMaxLimPctRvrt (100 %),
 * WMaxLimPctEnaRvrt (0) and WMaxLimPctRvrtTms in one request, or
 * WMaxLimPctEna (0) alone.  Then read them back.
 * PW_ERR_NOT_IMPL when the device has neither model (or no WMax),
 * PW_ERR_STATE when the read-back differs from what was written,
 * transport errors as is; res->detail says which in words.
 */
pw_err ctl_sunspec_apply(const struct ctl_io *io, const struct sunspec_dev *dev,
                         const struct ctl_cmd *cmd, struct ctl_result *res)
    __attribute__((warn_unused_result));

/* The name of the enable point of model 123 or 704 (logs). */
const char *ctl_ena_name(uint16_t model);

/* The export limit as the device holds it (probe --json "controls"). */
struct ctl_state {
	uint16_t model;   /* 123 or 704 */
	bool ena;         /* WMaxLim_Ena (704 WMaxLimPctEna) = 1 */
	uint16_t pct_raw; /* WMaxLimPct, value = raw x 10^pct_sf % */
	int pct_sf;
	uint16_t revert_s; /* WMaxLimPct_RvrtTms (704 WMaxLimPctRvrtTms) */
	bool has_revert_left;
	uint32_t revert_left_s; /* 704 WMaxLimPctRvrtRem */
	bool has_wmax;
	int64_t wmax_w;
};

/* Read it (no write): PW_ERR_NOT_IMPL without model 123 or 704. */
pw_err ctl_sunspec_read(const struct ctl_io *io, const struct sunspec_dev *dev,
                        struct ctl_state *st) __attribute__((warn_unused_result));

#endif
