/*
 * ivacct.c: boundary interpolation and reading chaining (see ivacct.h).
 */
#include "agent/ivacct.h"

#include <string.h>

void
ivacct_init(struct ivacct *a, uint32_t interval_s, uint32_t max_gap_ms)
{
	memset(a, 0, sizeof(*a));
	a->interval_s = interval_s == 0 ? 1 : interval_s;
	a->max_gap_ms = max_gap_ms;
	a->done_ms = -1;
}

void
ivacct_resume(struct ivacct *a, uint64_t last_interval, uint64_t export_end_wh,
              uint64_t import_end_wh)
{
	a->have_start = 1;
	a->start_interval = last_interval + 1;
	a->start_exp_wh = export_end_wh;
	a->start_imp_wh = import_end_wh;
	a->start_estimated = 0;
	/* The boundary itself is the last known point of the line. */
	a->have_prev = 1;
	a->prev_ms = (int64_t)(a->start_interval * a->interval_s) * 1000;
	a->prev_exp_wh = export_end_wh;
	a->prev_imp_wh = import_end_wh;
	a->done_ms = a->prev_ms;
}

/* r0 + (r1 - r0) * (t - t0) / (t1 - t0), rounded down; r1 >= r0 and
 * t0 <= t <= t1.  Deltas and times are small enough for 128-bit maths. */
static uint64_t
lerp(uint64_t r0, uint64_t r1, int64_t t0, int64_t t1, int64_t t)
{
	unsigned __int128 d = (unsigned __int128)(r1 - r0) * (uint64_t)(t - t0);
	if (t1 == t0)
		return r1;
	return r0 + (uint64_t)(d / (uint64_t)(t1 - t0));
}

size_t
ivacct_sample(struct ivacct *a, int64_t t_ms, uint64_t export_wh, uint64_t import_wh,
              struct ivacct_reading *out, size_t cap)
{
	int64_t len_ms = (int64_t)a->interval_s * 1000;
	size_t n = 0;

	if (t_ms < 0)
		return 0;
	if (!a->have_prev) {
		a->have_prev = 1;
		a->prev_ms = t_ms;
		a->prev_exp_wh = export_wh;
		a->prev_imp_wh = import_wh;
		return 0;
	}
	if (t_ms < a->prev_ms)
		return 0;
	if (export_wh < a->prev_exp_wh || import_wh < a->prev_imp_wh) {
		/* Reset or wrap: the chain cannot continue through it. */
		a->resets++;
		a->have_start = 0;
		a->prev_ms = t_ms;
		a->prev_exp_wh = export_wh;
		a->prev_imp_wh = import_wh;
		return 0;
	}
	int gap = t_ms - a->prev_ms > (int64_t)a->max_gap_ms;
	/* Every boundary b with prev_ms < b <= t_ms, in order; a call cut
	 * short by `cap` resumes after done_ms.  The line stays anchored on
	 * the two real samples so pieces add up exactly. */
	int64_t from = a->done_ms > a->prev_ms ? a->done_ms : a->prev_ms;
	int64_t b = (from / len_ms + 1) * len_ms;
	while (b <= t_ms && n < cap) {
		uint64_t e = lerp(a->prev_exp_wh, export_wh, a->prev_ms, t_ms, b);
		uint64_t i = lerp(a->prev_imp_wh, import_wh, a->prev_ms, t_ms, b);
		uint64_t iv = (uint64_t)(b / len_ms);
		if (a->have_start && a->start_interval + 1 == iv) {
			struct ivacct_reading *r = &out[n++];
			r->interval = a->start_interval;
			r->export_start_wh = a->start_exp_wh;
			r->import_start_wh = a->start_imp_wh;
			r->export_end_wh = e;
			r->import_end_wh = i;
			r->estimated = a->start_estimated || gap;
		}
		a->have_start = 1;
		a->start_interval = iv;
		a->start_exp_wh = e;
		a->start_imp_wh = i;
		a->start_estimated = gap;
		a->done_ms = b;
		b += len_ms;
	}
	if (b > t_ms) {
		a->prev_ms = t_ms;
		a->prev_exp_wh = export_wh;
		a->prev_imp_wh = import_wh;
	}
	return n;
}
