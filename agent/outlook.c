/*
 * outlook.c: the price outlook's checks and lookups (see outlook.h).
 * Called by agent/aoutlook.c; unit-tested in tests/unit/test_outlook.c.
 */
#include "agent/outlook.h"

#include <stdio.h>
#include <string.h>

void
outlook_init(struct outlook *o)
{
	memset(o, 0, sizeof(*o));
}

void
outlook_begin(struct outlook_msg *g)
{
	g->building = 1;
	g->bad = 0;
	g->n = 0;
	g->why[0] = '\0';
}

void
outlook_abort(struct outlook_msg *g)
{
	g->building = 0;
	g->bad = 0;
	g->n = 0;
}

static pw_err
refuse(struct outlook_msg *o, const char *what)
{
	if (!o->bad)
		snprintf(o->why, sizeof(o->why), "%s", what);
	o->bad = 1;
	return PW_ERR_FIELD;
}

pw_err
outlook_add(struct outlook_msg *o, const struct outlook_market *mk, const struct pw_market *m)
{
	struct outlook_rule *r;

	if (!o->building)
		return PW_ERR_STATE;
	if (o->bad)
		return PW_ERR_FIELD; /* the first reason stays */
	if (o->n >= OUTLOOK_MAX)
		return refuse(o, "more MARKET frames than an outlook holds");
	/* the name is NUL padded on the wire (1..31 characters) */
	if (mk->name != NULL && strncmp(m->name, mk->name, sizeof(m->name)) != 0)
		return refuse(o,
		              "a MARKET entry of another market (its name is not this market's)");
	if (m->interval_s != mk->interval_s || m->gate_s != mk->gate_s)
		return refuse(o, "a MARKET entry with another interval length or gate than this "
		                 "market's");
	if (m->feedin_uper_kwh > m->retail_uper_kwh)
		return refuse(o, "a MARKET entry whose feed-in tariff is above its retail tariff");
	if (o->n > 0 && m->effective_interval <= o->r[o->n - 1].from_iv)
		return refuse(o, "MARKET entries not in ascending order of their first interval");
	r = &o->r[o->n++];
	r->from_iv = m->effective_interval;
	r->feedin_uper_kwh = m->feedin_uper_kwh;
	r->retail_uper_kwh = m->retail_uper_kwh;
	r->fee_same_zone_uper_kwh = m->fee_same_zone_uper_kwh;
	r->fee_default_uper_kwh = m->fee_default_uper_kwh;
	r->signed_s = m->time_s;
	return PW_OK;
}

static int
same_rules(const struct outlook_rule *x, size_t nx, const struct outlook_rule *y, size_t ny)
{
	if (nx != ny)
		return 0;
	for (size_t i = 0; i < nx; i++)
		if (x[i].from_iv != y[i].from_iv || x[i].feedin_uper_kwh != y[i].feedin_uper_kwh ||
		    x[i].retail_uper_kwh != y[i].retail_uper_kwh ||
		    x[i].fee_same_zone_uper_kwh != y[i].fee_same_zone_uper_kwh ||
		    x[i].fee_default_uper_kwh != y[i].fee_default_uper_kwh)
			return 0;
	return 1;
}

pw_err
outlook_end(struct outlook *o, struct outlook_msg *g, int incomplete, int64_t now_ms, int *changed)
{
	pw_err rc = PW_OK;

	*changed = 0;
	if (!g->building)
		return PW_ERR_STATE;
	if (g->bad) {
		snprintf(o->why, sizeof(o->why), "%s", g->why);
		rc = PW_ERR_FIELD;
	} else if (incomplete || g->n == 0) {
		snprintf(o->why, sizeof(o->why), "%s",
		         incomplete ? "a frame of the outlook failed its check on the way"
		                    : "an outlook without a MARKET frame");
		rc = PW_ERR_LENGTH;
	}
	if (rc == PW_OK) {
		*changed = !same_rules(o->r, o->n, g->r, g->n);
		memcpy(o->r, g->r, g->n * sizeof(g->r[0]));
		o->n = g->n;
		o->rx_ms = now_ms;
		if (*changed)
			o->changes++;
		o->why[0] = '\0';
	}
	outlook_abort(g);
	return rc;
}

int
outlook_final_at(const struct outlook *o, uint64_t iv, struct outlook_rule *r)
{
	if (o->n == 0 || iv >= o->r[o->n - 1].from_iv)
		return 0;
	return outlook_rule_at(o, iv, r);
}

int
outlook_rule_at(const struct outlook *o, uint64_t iv, struct outlook_rule *r)
{
	size_t lo = 0, hi = o->n;

	if (o->n == 0 || iv < o->r[0].from_iv)
		return 0;
	/* the last rule with from_iv <= iv (rules ascend) */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (o->r[mid].from_iv <= iv)
			lo = mid;
		else
			hi = mid;
	}
	*r = o->r[lo];
	return 1;
}
