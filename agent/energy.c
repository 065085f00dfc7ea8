/*
 * energy.c: accumulator deltas, wraps, resets, plausibility and power
 * integration (see energy.h for the rules and why).
 */
#include <math.h>
#include <string.h>

#include "agent/energy.h"
#include "peerwatt/log.h"

void
energy_init(struct energy *e, const struct energy_cfg *cfg)
{
	memset(e, 0, sizeof(*e));
	e->cfg = *cfg;
}

static int64_t
pow10i(int n)
{
	int64_t p = 1;
	while (n-- > 0)
		p *= 10;
	return p;
}

/* raw * 10^sf Wh in mWh; false if it does not fit (the value is then unusable). */
static bool
to_mwh(uint64_t raw, int sf, int64_t *mwh)
{
	int k = sf + 3;

	if (sf < -10 || sf > 10)
		return false;
	if (k >= 0) {
		int64_t m = pow10i(k);
		if (raw > (uint64_t)(INT64_MAX / m))
			return false;
		*mwh = (int64_t)raw * m;
	} else {
		if (raw > (uint64_t)INT64_MAX)
			return false;
		*mwh = (int64_t)raw / pow10i(-k);
	}
	return true;
}

/* Largest credible delta over dt_ms for a counter of resolution res_mwh; -1: no bound. */
static int64_t
limit_mwh(const struct energy *e, int64_t dt_ms, int64_t res_mwh)
{
	if (e->cfg.rated_power_w <= 0)
		return -1;
	/* W x ms / 3600 = mWh; +10 % for meter tolerance, + one count for quantisation. */
	double lim = (double)e->cfg.rated_power_w * (double)dt_ms / 3600.0 * 1.1;
	if (lim > 9e18)
		return -1;
	return (int64_t)lim + res_mwh;
}

static void
rebase(struct energy_counter *c, const struct energy_acc *a, int64_t mwh)
{
	c->have = true;
	c->raw = a->raw;
	c->sf = a->sf;
	c->mwh = mwh;
}

/*
 * One accumulator: *delta receives the mWh to credit (0 if none).  Returns
 * PW_ERR_IMPLAUSIBLE when the step was rejected.
 */
static pw_err
counter_step(struct energy *e, struct energy_counter *c, const struct energy_acc *a, int64_t dt_ms,
             const char *what, int64_t *delta)
{
	int64_t cur, d, lim, res, res_prev;

	*delta = 0;
	if (!a->has)
		return PW_OK;
	if (a->raw == 0) {
		/* Zero is "not implemented" for an acc, and what sleepy meters show at wake-up. */
		e->zero_skipped++;
		return PW_OK;
	}
	if (!to_mwh(a->raw, a->sf, &cur)) {
		e->rejected++;
		log_warnx("energy: %s register %llu x 10^%d does not fit: ignored", what,
		          (unsigned long long)a->raw, a->sf);
		return PW_ERR_IMPLAUSIBLE;
	}
	if (!c->have) {
		rebase(c, a, cur);
		return PW_OK;
	}
	res = a->sf + 3 >= 0 ? pow10i(a->sf + 3) : 1;
	lim = limit_mwh(e, dt_ms, res);
	if (a->raw < c->raw && a->sf == c->sf && a->bits > 0 && a->bits < 64) {
		/* Either a wrap of the counter or a reset: a plausible step decides. */
		uint64_t span = (uint64_t)1 << a->bits;
		uint64_t draw = span - c->raw + a->raw;
		int64_t dw;
		/* Without a rating, only a counter near its top coming back near zero wraps. */
		bool near = c->raw >= span - span / 16 && a->raw < span / 16;
		if (c->raw < span && to_mwh(draw, a->sf, &dw) && (lim < 0 ? near : dw <= lim)) {
			e->wraps++;
			log_info("energy: %s counter wrapped at 2^%d", what, a->bits);
			rebase(c, a, cur);
			*delta = dw;
			return PW_OK;
		}
	}
	d = cur - c->mwh;
	res_prev = c->sf + 3 >= 0 ? pow10i(c->sf + 3) : 1;
	if (d < 0 && -d < (res > res_prev ? res : res_prev)) {
		/* Less than a count of the coarser resolution back: a device that changed its
		 * scale factor rounds differently, not a reset.  Keep the higher base. */
		return PW_OK;
	}
	if (d < 0) {
		e->resets++;
		log_warnx("energy: %s counter went back from %lld to %lld mWh: reset, re-based",
		          what, (long long)c->mwh, (long long)cur);
		rebase(c, a, cur);
		return PW_OK;
	}
	if (lim >= 0 && d > lim) {
		e->rejected++;
		log_warnx(
		    "energy: %s step of %lld mWh in %lld ms exceeds the rated power: rejected",
		    what, (long long)d, (long long)dt_ms);
		rebase(c, a, cur);
		return PW_ERR_IMPLAUSIBLE;
	}
	rebase(c, a, cur);
	*delta = d;
	return PW_OK;
}

/* One observation of the sign: which counter grew while the power had which sign. */
static void
sign_vote(struct energy *e, double power_w, int64_t dexp, int64_t dimp)
{
	enum energy_sign vote;

	if (fabs(power_w) < ENERGY_SIGN_MIN_W || (dexp > 0) == (dimp > 0))
		return;
	if (dexp > 0)
		vote = power_w > 0 ? ENERGY_SIGN_EXPORT_POSITIVE : ENERGY_SIGN_IMPORT_POSITIVE;
	else
		vote = power_w > 0 ? ENERGY_SIGN_IMPORT_POSITIVE : ENERGY_SIGN_EXPORT_POSITIVE;
	if (vote == ENERGY_SIGN_IMPORT_POSITIVE)
		e->votes_imp_pos++;
	else
		e->votes_exp_pos++;
	if (e->cfg.sign != ENERGY_SIGN_AUTO) {
		if (vote != e->cfg.sign && ++e->sign_mismatches == ENERGY_SIGN_VOTES)
			log_warnx("energy: the meter's accumulators disagree with the configured "
			          "meter_sign (%s)",
			          e->cfg.sign == ENERGY_SIGN_IMPORT_POSITIVE ? "import_positive"
			                                                     : "export_positive");
		return;
	}
	if (e->detected == ENERGY_SIGN_AUTO) {
		if (e->votes_imp_pos >= e->votes_exp_pos + ENERGY_SIGN_VOTES)
			e->detected = ENERGY_SIGN_IMPORT_POSITIVE;
		else if (e->votes_exp_pos >= e->votes_imp_pos + ENERGY_SIGN_VOTES)
			e->detected = ENERGY_SIGN_EXPORT_POSITIVE;
		if (e->detected != ENERGY_SIGN_AUTO)
			log_info("energy: meter sign detected: %s",
			         e->detected == ENERGY_SIGN_IMPORT_POSITIVE ? "import_positive"
			                                                    : "export_positive");
	}
}

pw_err
energy_sample(struct energy *e, const struct energy_sample *s)
{
	int64_t dt = 0, dexp = 0, dimp = 0;
	pw_err rc = PW_OK, r;

	if (e->have_prev) {
		if (s->t_ms <= e->prev_ms)
			return PW_ERR_ARG;
		dt = s->t_ms - e->prev_ms;
	}
	if ((s->exp.has && s->exp.raw != 0) || (s->imp.has && s->imp.raw != 0))
		e->seen_acc = true;
	if (e->seen_acc) {
		if ((r = counter_step(e, &e->exp, &s->exp, dt, "export", &dexp)) != PW_OK)
			rc = r;
		if ((r = counter_step(e, &e->imp, &s->imp, dt, "import", &dimp)) != PW_OK)
			rc = r;
		e->exp_mwh += dexp;
		e->imp_mwh += dimp;
		if (s->has_power)
			sign_vote(e, s->power_w, dexp, dimp);
	} else if (e->have_prev && e->prev_has_power && dt <= (int64_t)e->cfg.max_gap_ms) {
		/* No accumulator at all: integrate the power of the step's start. */
		double p = e->prev_power_w;
		if (e->cfg.rated_power_w > 0 && fabs(p) > 1.1 * (double)e->cfg.rated_power_w) {
			e->rejected++;
			log_warnx("energy: power %.0f W exceeds the rated power: not integrated",
			          p);
			rc = PW_ERR_IMPLAUSIBLE;
		} else {
			int64_t mwh = (int64_t)llround(fabs(p) * (double)dt / 3600.0);
			bool exporting =
			    energy_sign_effective(e) == ENERGY_SIGN_EXPORT_POSITIVE ? p > 0 : p < 0;
			if (exporting)
				e->exp_mwh += mwh;
			else
				e->imp_mwh += mwh;
			e->integrated++;
		}
	}
	e->have_prev = true;
	e->prev_ms = s->t_ms;
	e->prev_has_power = s->has_power;
	e->prev_power_w = s->power_w;
	return rc;
}

void
energy_take(struct energy *e, int64_t *export_wh, int64_t *import_wh)
{
	*export_wh = e->exp_mwh / 1000;
	*import_wh = e->imp_mwh / 1000;
	e->exp_mwh %= 1000;
	e->imp_mwh %= 1000;
}

enum energy_sign
energy_sign_effective(const struct energy *e)
{
	if (e->cfg.sign != ENERGY_SIGN_AUTO)
		return e->cfg.sign;
	if (e->detected != ENERGY_SIGN_AUTO)
		return e->detected;
	/* A meter without accumulators cannot teach us: follow the SunSpec convention. */
	if (!e->seen_acc)
		return ENERGY_SIGN_IMPORT_POSITIVE;
	return ENERGY_SIGN_AUTO;
}

pw_err
energy_export_power_w(const struct energy *e, double meter_power_w, double *export_w)
{
	switch (energy_sign_effective(e)) {
	case ENERGY_SIGN_IMPORT_POSITIVE:
		*export_w = -meter_power_w;
		return PW_OK;
	case ENERGY_SIGN_EXPORT_POSITIVE:
		*export_w = meter_power_w;
		return PW_OK;
	default:
		return PW_ERR_STATE;
	}
}
