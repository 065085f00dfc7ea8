/*
 * mcheck.h: the gate every grid-meter sample passes before it may count:
 * a register step must be one the household could have made.  Pure (no
 * I/O, no clock, no allocation); the struct is the caller's (agentd).
 *
 * A sample (time, export and import registers in Wh) is compared with the
 * base, the last accepted sample or, after a start, the registers of the
 * last signed reading at its end boundary (mcheck_resume): both registers
 * must not go back and must not step further than the rated power could
 * deliver in the time between, plus a tolerance of 10 % and one count of
 * the meter's resolution (at least 1 Wh).  The first sample after a start
 * or a reconnection is checked like every other: the base stays, however
 * long the gap.
 *
 * A register less than one count of its resolution below the base (a
 * meter that changed its resolution rounds down) is MCHECK_SKIP: not a
 * fault, the base stays.  A refused sample counts for nothing (no reading, no forecast, no policy).
 * A glitch that passes leaves the base where it was, and the next good
 * sample continues from it.  A real jump (a meter replaced, reset or
 * wrapped) gives samples that agree with each other but not with the base:
 * once `confirm` samples in a row agree with each other (every step
 * plausible from the one before), the last of them becomes the new base
 * (MCHECK_REBASE): the caller restarts its reading chain there, so that no
 * reading spans the jump.  Before any base (a new household), the first
 * sample is the base.
 *
 * Called by agent/ameter.c for every successful poll; unit-tested in
 * tests/unit/test_mcheck.c.  Not thread-safe (one agent loop).
 */
#ifndef AGENT_MCHECK_H
#define AGENT_MCHECK_H

#include <stdint.h>

/* Samples in a row that must agree before a jump is taken as the new base. */
#define MCHECK_CONFIRM 5

enum mcheck_verdict {
	MCHECK_ACCEPT = 0, /* a plausible step from the base: it counts */
	MCHECK_REJECT,     /* implausible: it counts for nothing */
	MCHECK_REBASE,     /* `confirm` agreeing samples after a jump: the new base */
	MCHECK_SKIP,       /* less than one count below the base: rounding (a
	                    * resolution change), not news; counts for nothing */
};

struct mcheck {
	uint32_t rated_power_w;
	unsigned confirm;
	int have_base;
	int64_t base_ms;
	uint64_t base_exp_wh, base_imp_wh;
	/* the samples since the last accepted one, while they agree */
	int have_cand;
	unsigned cand_n;
	int64_t cand_ms;
	uint64_t cand_exp_wh, cand_imp_wh;
	/* the last refused sample's step from the base, for messages */
	int64_t last_dt_ms;
	int64_t last_dexp_wh, last_dimp_wh; /* negative: the register went back */
	uint64_t last_max_wh;               /* what the rated power allowed */
	uint64_t rejected, rebased;         /* counters */
};

/* rated_power_w > 0; confirm 0 means MCHECK_CONFIRM. */
void mcheck_init(struct mcheck *m, uint32_t rated_power_w, unsigned confirm);

/* After a start: the last signed reading's end registers, at its end
 * boundary `t_ms` (Unix ms).  The first sample is checked against them. */
void mcheck_resume(struct mcheck *m, int64_t t_ms, uint64_t export_wh, uint64_t import_wh);

/* The most a step of `dt_ms` may add: rated power x dt x 1.1 + resolution
 * (at least 1 Wh).  dt_ms <= 0 allows only the resolution. */
uint64_t mcheck_max_step_wh(uint32_t rated_power_w, int64_t dt_ms, uint64_t resolution_wh);

/*
 * Judge a sample taken at `t_ms` whose registers count in steps of
 * `resolution_wh` (10^sf; 0 or 1 for whole Wh).  See the top.
 */
enum mcheck_verdict mcheck_sample(struct mcheck *m, int64_t t_ms, uint64_t export_wh,
                                  uint64_t import_wh, uint64_t resolution_wh);

#endif
