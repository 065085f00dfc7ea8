/*
 * mcheck.c: plausibility of grid-meter samples (see mcheck.h).
 */
#include "agent/mcheck.h"

#include <string.h>

void
mcheck_init(struct mcheck *m, uint32_t rated_power_w, unsigned confirm)
{
	memset(m, 0, sizeof(*m));
	m->rated_power_w = rated_power_w;
	m->confirm = confirm == 0 ? MCHECK_CONFIRM : confirm;
}

void
mcheck_resume(struct mcheck *m, int64_t t_ms, uint64_t export_wh, uint64_t import_wh)
{
	m->have_base = 1;
	m->base_ms = t_ms;
	m->base_exp_wh = export_wh;
	m->base_imp_wh = import_wh;
	m->have_cand = 0;
	m->cand_n = 0;
}

uint64_t
mcheck_max_step_wh(uint32_t rated_power_w, int64_t dt_ms, uint64_t resolution_wh)
{
	uint64_t res = resolution_wh < 1 ? 1 : resolution_wh;
	unsigned __int128 max;

	if (dt_ms <= 0)
		return res;
	/* W x ms x 1.1 / 3.6e6 = Wh with 10 %; 128 bits: no overflow for any
	 * gap (dt_ms < 2^63, rated < 2^32) */
	max = (unsigned __int128)rated_power_w * (uint64_t)dt_ms * 11 / 36000000 + res;
	return max > UINT64_MAX ? UINT64_MAX : (uint64_t)max;
}

/* 1 when (t, e, i) is a step the household could make from (t0, e0, i0). */
static int
plausible(const struct mcheck *m, int64_t t0, uint64_t e0, uint64_t i0, int64_t t, uint64_t e,
          uint64_t i, uint64_t res)
{
	uint64_t max;

	if (e < e0 || i < i0)
		return 0;
	max = mcheck_max_step_wh(m->rated_power_w, t - t0, res);
	return e - e0 <= max && i - i0 <= max;
}

static int64_t
signed_step(uint64_t from, uint64_t to)
{
	if (to >= from)
		return to - from > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)(to - from);
	return from - to > (uint64_t)INT64_MAX ? -INT64_MAX : -(int64_t)(from - to);
}

enum mcheck_verdict
mcheck_sample(struct mcheck *m, int64_t t_ms, uint64_t export_wh, uint64_t import_wh,
              uint64_t resolution_wh)
{
	if (!m->have_base || plausible(m, m->base_ms, m->base_exp_wh, m->base_imp_wh, t_ms,
	                               export_wh, import_wh, resolution_wh)) {
		/* a glitch in between (if any) is over: the base carries on */
		mcheck_resume(m, t_ms < m->base_ms && m->have_base ? m->base_ms : t_ms, export_wh,
		              import_wh);
		return MCHECK_ACCEPT;
	}
	/* rounding after a change of resolution: below the base by less
	 * than one count, otherwise plausible */
	{
		uint64_t res = resolution_wh < 1 ? 1 : resolution_wh;
		uint64_t e = export_wh < m->base_exp_wh && m->base_exp_wh - export_wh < res
		                 ? m->base_exp_wh
		                 : export_wh;
		uint64_t i = import_wh < m->base_imp_wh && m->base_imp_wh - import_wh < res
		                 ? m->base_imp_wh
		                 : import_wh;
		if ((e != export_wh || i != import_wh) &&
		    plausible(m, m->base_ms, m->base_exp_wh, m->base_imp_wh, t_ms, e, i,
		              resolution_wh))
			return MCHECK_SKIP;
	}
	m->rejected++;
	m->last_dt_ms = t_ms - m->base_ms;
	m->last_dexp_wh = signed_step(m->base_exp_wh, export_wh);
	m->last_dimp_wh = signed_step(m->base_imp_wh, import_wh);
	m->last_max_wh = mcheck_max_step_wh(m->rated_power_w, t_ms - m->base_ms, resolution_wh);
	if (m->have_cand && plausible(m, m->cand_ms, m->cand_exp_wh, m->cand_imp_wh, t_ms,
	                              export_wh, import_wh, resolution_wh))
		m->cand_n++;
	else
		m->cand_n = 1;
	m->have_cand = 1;
	m->cand_ms = t_ms;
	m->cand_exp_wh = export_wh;
	m->cand_imp_wh = import_wh;
	if (m->cand_n < m->confirm)
		return MCHECK_REJECT;
	/* they agree with each other: the meter really jumped */
	m->rebased++;
	mcheck_resume(m, t_ms, export_wh, import_wh);
	return MCHECK_REBASE;
}
