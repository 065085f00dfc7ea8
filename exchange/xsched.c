/*
 * xsched.c: the tariff and grid-fee schedule files brought into the log as
 * MARKET entries (xsched.h).  Called by exchange/main.c at start and on
 * SIGHUP.  The rules the files state for interval i ("desired") are
 * compared with the rules the log states for it (xrules_market_at()) only
 * where either can change: at the current interval and at every row or
 * entry boundary after it, so a year of quarter hours costs a few
 * thousand comparisons, not one per interval of the year.
 */
#include "exchange/xsched.h"
#include "exchange/schedule.h"
#include "exchange/xrules_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "peerwatt/log.h"

struct xs {
	const struct xrules *x;
	const struct xconfig *c;
	struct schedule t;
	struct fee_schedule f;
	int have_t, have_f;
	uint64_t L, now_s;
	/* file row boundaries (intervals), ascending, unique */
	uint64_t *b;
	size_t n_b;
	/* the generator of the entries to append: intervals gen[gi ..) */
	const uint64_t *gen;
	size_t n_gen, gi;
	struct pw_market prev, cand;
	int bad;
};

static uint64_t
start_s(const struct xs *s, uint64_t iv)
{
	return iv > UINT64_MAX / s->L ? UINT64_MAX : iv * s->L;
}

/* The rules the configuration and the files state for interval `iv`. */
static pw_err
desired(const struct xs *s, uint64_t iv, struct pw_market *mk)
{
	if (xrules_market_of(s->c, s->now_s, iv, mk) != PW_OK)
		return PW_ERR_CONFIG;
	const struct schedule_row *r = s->have_t ? schedule_at(&s->t, start_s(s, iv)) : NULL;
	if (r != NULL) {
		mk->feedin_uper_kwh = r->feedin_uper_kwh;
		mk->retail_uper_kwh = r->retail_uper_kwh;
	}
	const struct fee_table *ft = s->have_f ? fee_schedule_at(&s->f, start_s(s, iv)) : NULL;
	if (ft != NULL) {
		mk->fee_same_zone_uper_kwh =
		    ft->has_same ? ft->same_zone_uper_kwh : (uint32_t)s->c->fee_same_zone_uper_kwh;
		mk->fee_default_uper_kwh =
		    ft->has_default ? ft->default_uper_kwh : (uint32_t)s->c->fee_default_uper_kwh;
		memset(mk->fees, 0, sizeof(mk->fees));
		mk->n_fees = 0;
		for (size_t i = 0; i < ft->n_pairs; i++) {
			const struct fee_pair *p = &s->f.pairs[ft->first + i];
			if (xrules_add_fee(mk, p->zone_a, p->zone_b, p->fee_uper_kwh) != 0)
				return PW_ERR_CONFIG; /* not reached: the parser refused it */
		}
	}
	return PW_OK;
}

static int
mk_same(const struct pw_market *a, const struct pw_market *b)
{
	return a->feedin_uper_kwh == b->feedin_uper_kwh &&
	       a->retail_uper_kwh == b->retail_uper_kwh &&
	       a->fee_same_zone_uper_kwh == b->fee_same_zone_uper_kwh &&
	       a->fee_default_uper_kwh == b->fee_default_uper_kwh && a->n_fees == b->n_fees &&
	       memcmp(a->fees, b->fees, (size_t)a->n_fees * sizeof(a->fees[0])) == 0;
}

static void
fmt_ct(int64_t uper_kwh, char *out, size_t cap)
{
	uint64_t mag = uper_kwh < 0 ? (uint64_t)-uper_kwh : (uint64_t)uper_kwh;
	snprintf(out, cap, "%s%llu.%04llu", uper_kwh < 0 ? "-" : "",
	         (unsigned long long)(mag / 10000), (unsigned long long)(mag % 10000));
}

static void
fmt_time(uint64_t t_s, char *out, size_t cap)
{
	time_t t = (time_t)t_s;
	struct tm tm;
	if (gmtime_r(&t, &tm) == NULL || strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, cap, "%llu", (unsigned long long)t_s);
}

/* "retail 30.0000, feed-in 8.0000 ct/kWh" or the fees. */
static void
describe(int tariffs, int32_t feedin, int32_t retail, uint32_t same, uint32_t dflt, unsigned n_fees,
         char *out, size_t cap)
{
	char a[24], b[24];
	if (tariffs) {
		fmt_ct(retail, a, sizeof(a));
		fmt_ct(feedin, b, sizeof(b));
		snprintf(out, cap, "retail %s, feed-in %s ct/kWh", a, b);
	} else {
		fmt_ct(same, a, sizeof(a));
		fmt_ct(dflt, b, sizeof(b));
		snprintf(out, cap, "fees same-zone %s, default %s ct/kWh and %u zone pairs", a, b,
		         n_fees);
	}
}

/* The refusal of interval `iv`, where the log's rule `g` and the files'
 * rules `d` differ. */
static pw_err
refuse(const struct xs *s, uint64_t iv, const struct xrules_rule *g, const struct pw_market *d,
       uint64_t e, uint64_t p, char *err, size_t errlen)
{
	const struct xrules_fees *gt = &s->x->tables[g->table];
	int tariffs =
	    g->feedin_uper_kwh != d->feedin_uper_kwh || g->retail_uper_kwh != d->retail_uper_kwh;
	char where[XCONFIG_PATH_MAX + 64], when[32], logged[160], file[160];

	if (tariffs) {
		const struct schedule_row *r =
		    s->have_t ? schedule_at(&s->t, start_s(s, iv)) : NULL;
		if (r != NULL)
			snprintf(where, sizeof(where), "%s line %u", s->c->tariff_path,
			         (unsigned)r->line);
		else
			snprintf(where, sizeof(where),
			         "[market] feedin/retail (before the first row "
			         "of the tariff file)");
	} else {
		const struct fee_table *ft =
		    s->have_f ? fee_schedule_at(&s->f, start_s(s, iv)) : NULL;
		if (ft != NULL)
			snprintf(where, sizeof(where), "%s line %u", s->c->fee_path,
			         (unsigned)ft->line);
		else
			snprintf(where, sizeof(where),
			         "[fees] (before the first table of the fee "
			         "file)");
	}
	fmt_time(start_s(s, iv), when, sizeof(when));
	describe(tariffs, g->feedin_uper_kwh, g->retail_uper_kwh, g->fee_same_zone_uper_kwh,
	         g->fee_default_uper_kwh, gt->n_fees, logged, sizeof(logged));
	describe(tariffs, d->feedin_uper_kwh, d->retail_uper_kwh, d->fee_same_zone_uper_kwh,
	         d->fee_default_uper_kwh, d->n_fees, file, sizeof(file));
	if (iv < e)
		snprintf(err, errlen,
		         "%s: interval %llu (%s) may already hold orders under the logged rules "
		         "(log index %llu: %s; the schedule states %s): the schedule is refused, "
		         "nothing changed (published is final: only intervals from %llu on may "
		         "change)",
		         where, (unsigned long long)iv, when, (unsigned long long)g->idx, logged,
		         file, (unsigned long long)p);
	else
		snprintf(err, errlen,
		         "%s: interval %llu (%s) already published at log index %llu (%s; the "
		         "schedule states %s): the schedule is refused, nothing changed "
		         "(published is final: only intervals from %llu on may change)",
		         where, (unsigned long long)iv, when, (unsigned long long)g->idx, logged,
		         file, (unsigned long long)p);
	return PW_ERR_CONFIG;
}

static int
u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Sort and drop duplicates; returns the new count. */
static size_t
sort_unique(uint64_t *v, size_t n)
{
	size_t k = 0;
	qsort(v, n, sizeof(*v), u64_cmp);
	for (size_t i = 0; i < n; i++)
		if (k == 0 || v[k - 1] != v[i])
			v[k++] = v[i];
	return k;
}

/* The generator of xrules_append_markets(): one entry per change. */
static int
next_entry(void *ctx, struct pw_market *out)
{
	struct xs *s = ctx;
	while (s->gi < s->n_gen) {
		uint64_t iv = s->gen[s->gi++];
		if (desired(s, iv, &s->cand) != PW_OK) {
			s->bad = 1;
			return -1;
		}
		if (mk_same(&s->prev, &s->cand))
			continue;
		s->prev = s->cand;
		*out = s->cand;
		return 1;
	}
	return 0;
}

static void
xs_free(struct xs *s)
{
	schedule_free(&s->t);
	fee_schedule_free(&s->f);
	free(s->b);
	free(s);
}

/*
 * E, the first interval no accepted order can target: by the clock, the
 * first beyond now + max_ahead_s; but never beyond the first interval after
 * every order the log holds, nor before the first whose gate is still ahead
 * (a new market's schedule applies from its first open interval; the
 * audit's rule is the same: no order logged before a MARKET entry targets
 * an interval it governs).  Orders are applied on this thread only, so no
 * order is accepted meanwhile.
 */
static uint64_t
first_free(const struct xs *s, struct store *st, const struct pw_market *lm)
{
	uint64_t e = (s->now_s + lm->max_ahead_s) / s->L + 1;
	uint64_t open = (s->now_s + lm->gate_s) / s->L + 1, iv = 0;
	pw_err rc = store_last_order_interval(st, &iv);
	uint64_t after = rc == PW_OK ? iv + 1 : 0;

	if (rc != PW_OK && rc != PW_ERR_NOTFOUND)
		return e; /* cannot tell: the clock's bound */
	if (after < open)
		after = open;
	return after < e ? after : e;
}

/* Check the intervals [cur, end) and append from p on (see xsched.h). */
static pw_err
sync_files(struct xs *s, struct store *st, struct mlog *log, const struct pw_keypair *kp,
           size_t *appended, struct xsched_plan *plan, char *err, size_t errlen)
{
	struct xrules *x = (struct xrules *)s->x;
	const struct pw_market *lm = &x->market;
	uint64_t cur = s->now_s / s->L;
	uint64_t e = first_free(s, st, lm);
	uint64_t last = lm->effective_interval;
	uint64_t p = e > last + 1 ? e : last + 1;
	uint64_t r = s->b[s->n_b - 1]; /* the files' last row */
	int shorter = last > r;
	uint64_t end = shorter && r + 1 < p ? r + 1 : p;
	uint64_t *pts = malloc((s->n_b + x->n_markets + 1) * sizeof(*pts));
	size_t n = 0;
	pw_err rc = PW_OK;

	if (pts == NULL)
		return PW_ERR_NOMEM;
	pts[n++] = cur;
	for (size_t i = 0; i < s->n_b; i++)
		if (s->b[i] > cur && s->b[i] < end)
			pts[n++] = s->b[i];
	for (size_t i = 0; i < x->n_markets; i++)
		if (x->markets[i].effective_interval > cur &&
		    x->markets[i].effective_interval < end)
			pts[n++] = x->markets[i].effective_interval;
	n = sort_unique(pts, n);
	for (size_t i = 0; i < n && rc == PW_OK && cur < end; i++) {
		const struct xrules_rule *g = xrules_market_at(x, pts[i]);
		if ((rc = desired(s, pts[i], &s->cand)) != PW_OK)
			break;
		if (!xrules_rule_same(x, g, &s->cand))
			rc = refuse(s, pts[i], g, &s->cand, e, p, err, errlen);
	}
	if (rc != PW_OK) {
		free(pts);
		return rc;
	}
	if (shorter) {
		/* the log published beyond the files' last row: those stay */
		if ((rc = desired(s, r, &s->cand)) == PW_OK &&
		    !xrules_rule_same(x, &x->markets[x->n_markets - 1], &s->cand)) {
			char when[32];
			fmt_time(start_s(s, r), when, sizeof(when));
			log_warnx(
			    "schedule: the files end with the row from interval %llu (%s); the "
			    "log already published rules up to interval %llu (log index %llu): "
			    "they stay (a shorter file unpublishes nothing)",
			    (unsigned long long)r, when, (unsigned long long)last,
			    (unsigned long long)x->market_idx);
		}
		free(pts);
		return rc;
	}
	/* the entries from p on: p itself, then every row boundary after it */
	n = 0;
	pts[n++] = p;
	for (size_t i = 0; i < s->n_b; i++)
		if (s->b[i] > p)
			pts[n++] = s->b[i];
	s->gen = pts;
	s->n_gen = n;
	s->gi = 0;
	s->prev = x->market;
	if (plan != NULL) {
		/* what the append below would produce, produced the same way */
		struct pw_market mk;
		int more;
		while ((more = next_entry(s, &mk)) > 0) {
			if (plan->n++ == 0)
				plan->first = mk.effective_interval;
			plan->last = mk.effective_interval;
		}
		if (more < 0) {
			snprintf(err, errlen,
			         "the schedule's fee table does not fit a MARKET entry");
			rc = PW_ERR_CONFIG;
		}
		free(pts);
		return rc;
	}
	size_t before = x->n_markets;
	uint64_t first_idx = mlog_size(log);
	rc = xrules_append_markets(x, st, log, kp, next_entry, s, appended);
	if (rc != PW_OK && s->bad)
		snprintf(err, errlen, "the schedule's fee table does not fit a MARKET entry");
	else if (rc != PW_OK)
		snprintf(err, errlen, "cannot append the schedule to the log: %s", pw_strerror(rc));
	if (rc == PW_OK && x->n_markets > before)
		log_warnx(
		    "schedule: %zu MARKET entries appended (log index %llu to %llu), effective "
		    "from interval %llu to %llu",
		    x->n_markets - before, (unsigned long long)first_idx,
		    (unsigned long long)x->market_idx,
		    (unsigned long long)x->markets[before].effective_interval,
		    (unsigned long long)x->market.effective_interval);
	free(pts);
	return rc;
}

static pw_err
sync(struct xrules *x, struct store *st, struct mlog *log, const struct pw_keypair *kp,
     const struct xconfig *c, uint64_t now_s, size_t *appended, struct xsched_plan *plan, char *err,
     size_t errlen)
{
	struct xs *s;
	pw_err rc;

	if (appended != NULL)
		*appended = 0;
	if (c->tariff_path[0] == '\0' && c->fee_path[0] == '\0') {
		/* fixed tariffs and [fees]: a change applies from E */
		if (!xrules_tariffs_differ(x, c))
			return PW_OK;
		if (plan != NULL) {
			if ((rc = xrules_next_effective(x, now_s, &plan->first)) != PW_OK)
				return rc;
			plan->n = 1;
			plan->last = plan->first;
			return PW_OK;
		}
		rc = xrules_append_market(x, st, log, kp, c, now_s, NULL);
		if (rc != PW_OK)
			snprintf(err, errlen,
			         "cannot append the new tariffs and fees to the log: %s",
			         pw_strerror(rc));
		else if (appended != NULL)
			*appended = 1;
		return rc;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return PW_ERR_NOMEM;
	s->x = x;
	s->c = c;
	s->L = x->market.interval_s;
	s->now_s = now_s;
	rc = PW_OK;
	if (c->tariff_path[0] != '\0') {
		rc = schedule_load(c->tariff_path, (uint32_t)s->L, &s->t, err, errlen);
		s->have_t = rc == PW_OK;
	}
	if (rc == PW_OK && c->fee_path[0] != '\0') {
		rc = fee_schedule_load(c->fee_path, (uint32_t)s->L, &s->f, err, errlen);
		s->have_f = rc == PW_OK;
	}
	if (rc != PW_OK) {
		xs_free(s);
		return rc == PW_ERR_NOMEM ? rc : PW_ERR_CONFIG;
	}
	s->b = malloc((s->t.n_rows + s->f.n_tables) * sizeof(*s->b));
	if (s->b == NULL) {
		xs_free(s);
		return PW_ERR_NOMEM;
	}
	for (size_t i = 0; i < s->t.n_rows; i++)
		s->b[s->n_b++] = s->t.rows[i].from_s / s->L;
	for (size_t i = 0; i < s->f.n_tables; i++)
		s->b[s->n_b++] = s->f.tables[i].from_s / s->L;
	s->n_b = sort_unique(s->b, s->n_b);
	rc = sync_files(s, st, log, kp, appended, plan, err, errlen);
	xs_free(s);
	return rc;
}

pw_err
xsched_sync(struct xrules *x, struct store *st, struct mlog *log, const struct pw_keypair *kp,
            const struct xconfig *c, uint64_t now_s, size_t *appended, char *err, size_t errlen)
{
	return sync(x, st, log, kp, c, now_s, appended, NULL, err, errlen);
}

pw_err
xsched_plan(struct xrules *x, struct store *st, const struct xconfig *c, uint64_t now_s,
            struct xsched_plan *plan, char *err, size_t errlen)
{
	memset(plan, 0, sizeof(*plan));
	return sync(x, st, NULL, NULL, c, now_s, NULL, plan, err, errlen);
}
