/*
 * ivacct.h: per-interval accounting of the grid meter's registers, the
 * basis of the signed METER readings.  Pure: fed with samples (wall-clock
 * time, export and import register values in Wh), it yields one reading per
 * closed interval with the registers at the interval's start and end.
 *
 * The register value at a boundary is interpolated linearly between the
 * last sample before it and the first sample after it; when those two
 * samples are further apart than `max_gap_ms` (device asleep, agent down)
 * the reading is flagged estimated.  Readings chain exactly (a reading's
 * start registers are the previous reading's end registers) because the
 * exchange checks that continuity; after a restart ivacct_resume() picks the
 * chain up from the last reading stored in the outbox.  A register that goes
 * backwards (meter reset or accumulator wrap) cannot be signed as a
 * continuation: the chain is dropped and restarts at the next boundary (the
 * intervals in between settle as "reading missing"; logged by the caller).
 *
 * Called by agentd after each successful poll.  No I/O, no allocation;
 * the struct is the caller's.  Not thread-safe.
 */
#ifndef AGENT_IVACCT_H
#define AGENT_IVACCT_H

#include <stddef.h>
#include <stdint.h>

struct ivacct_reading {
	uint64_t interval;
	uint64_t export_start_wh, export_end_wh;
	uint64_t import_start_wh, import_end_wh;
	int estimated; /* a boundary was interpolated over a gap */
};

struct ivacct {
	uint32_t interval_s;
	uint32_t max_gap_ms;
	/* last sample (or the resumed boundary) */
	int have_prev;
	int64_t prev_ms;
	uint64_t prev_exp_wh, prev_imp_wh;
	/* the open interval's start boundary */
	int have_start;
	uint64_t start_interval;
	uint64_t start_exp_wh, start_imp_wh;
	int start_estimated;
	int64_t done_ms; /* last boundary already processed (catch-up) */
	uint64_t resets; /* chains dropped for a backwards register */
};

void ivacct_init(struct ivacct *a, uint32_t interval_s, uint32_t max_gap_ms);

/* Continue the chain after the reading of `last_interval` whose end
 * registers were exp/imp (its end boundary is the next interval's start). */
void ivacct_resume(struct ivacct *a, uint64_t last_interval, uint64_t export_end_wh,
                   uint64_t import_end_wh);

/*
 * Feed a sample taken at `t_ms` (Unix milliseconds).  Writes up to `cap`
 * readings of intervals closed since the last sample, oldest first, and
 * returns how many.  When it returns `cap` there may be more: call again
 * with the same sample until it returns less.  A sample older than the
 * previous one is ignored.
 */
size_t ivacct_sample(struct ivacct *a, int64_t t_ms, uint64_t export_wh, uint64_t import_wh,
                     struct ivacct_reading *out, size_t cap);

#endif
