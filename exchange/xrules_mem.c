/*
 * xrules_mem.c: the log's MARKET entries as the exchange keeps them in
 * memory (xrules.h): one compact struct xrules_rule per entry, the fee
 * tables interned (entries with equal tables share one, found by hash),
 * lookups by interval with a binary search (effective_interval never
 * decreases in log order), the fee of a zone pair and the price outlook
 * (QUERY SCHEDULE, PUB MARKET).  Called by xrules.c when it reads or
 * appends an entry, by the engine on the request path and the market clock.
 */
#include "exchange/xrules.h"
#include "exchange/xrules_int.h"

#include <stdlib.h>
#include <string.h>

/* FNV-1a over the fee table's count and entries. */
static uint64_t
fees_hash(const struct pw_market *mk)
{
	uint64_t h = 1469598103934665603ull;
	const uint8_t *p = (const uint8_t *)mk->fees;
	size_t n = (size_t)mk->n_fees * sizeof(mk->fees[0]);
	h = (h ^ mk->n_fees) * 1099511628211ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 1099511628211ull;
	return h;
}

static int
fees_same(const struct xrules_fees *t, const struct pw_market *mk)
{
	return t->n_fees == mk->n_fees &&
	       (mk->n_fees == 0 ||
	        memcmp(t->fees, mk->fees, (size_t)mk->n_fees * sizeof(mk->fees[0])) == 0);
}

/* Rebuild the hash slots for `cap` (a power of two). */
static pw_err
slots_grow(struct xrules *x, size_t cap)
{
	uint32_t *n = calloc(cap, sizeof(*n));
	if (n == NULL)
		return PW_ERR_NOMEM;
	for (size_t i = 0; i < x->n_tables; i++) {
		size_t k = (size_t)x->tables[i].hash & (cap - 1);
		while (n[k] != 0)
			k = (k + 1) & (cap - 1);
		n[k] = (uint32_t)(i + 1);
	}
	free(x->table_slot);
	x->table_slot = n;
	x->cap_slots = cap;
	return PW_OK;
}

/* The index of `mk`'s fee table in x->tables, added when new. */
static pw_err
fees_intern(struct xrules *x, const struct pw_market *mk, uint32_t *out)
{
	uint64_t h = fees_hash(mk);
	size_t k;
	pw_err rc;

	if (x->cap_slots < 2 * (x->n_tables + 1) &&
	    (rc = slots_grow(x, x->cap_slots ? 2 * x->cap_slots : 16)) != PW_OK)
		return rc;
	for (k = (size_t)h & (x->cap_slots - 1); x->table_slot[k] != 0;
	     k = (k + 1) & (x->cap_slots - 1)) {
		const struct xrules_fees *t = &x->tables[x->table_slot[k] - 1];
		if (t->hash == h && fees_same(t, mk)) {
			*out = x->table_slot[k] - 1;
			return PW_OK;
		}
	}
	if (x->n_tables == x->cap_tables) {
		size_t ncap = x->cap_tables ? x->cap_tables * 2 : 4;
		struct xrules_fees *n = realloc(x->tables, ncap * sizeof(*n));
		if (n == NULL)
			return PW_ERR_NOMEM;
		x->tables = n;
		x->cap_tables = ncap;
	}
	struct xrules_fees *t = &x->tables[x->n_tables];
	t->hash = h;
	t->n_fees = mk->n_fees;
	t->fees = NULL;
	if (mk->n_fees > 0) {
		size_t bytes = (size_t)mk->n_fees * sizeof(mk->fees[0]);
		if ((t->fees = malloc(bytes)) == NULL)
			return PW_ERR_NOMEM;
		memcpy(t->fees, mk->fees, bytes);
	}
	x->table_slot[k] = (uint32_t)(x->n_tables + 1);
	*out = (uint32_t)x->n_tables++;
	return PW_OK;
}

pw_err
xrules_market_push(struct xrules *x, const struct pw_market *mk, uint64_t idx)
{
	struct xrules_rule r;
	pw_err rc;

	if (x->n_markets == x->cap_markets) {
		size_t ncap = x->cap_markets ? x->cap_markets * 2 : 4;
		struct xrules_rule *n = realloc(x->markets, ncap * sizeof(*n));
		if (n == NULL)
			return PW_ERR_NOMEM;
		x->markets = n;
		x->cap_markets = ncap;
	}
	memset(&r, 0, sizeof(r));
	r.effective_interval = mk->effective_interval;
	r.idx = idx;
	r.feedin_uper_kwh = mk->feedin_uper_kwh;
	r.retail_uper_kwh = mk->retail_uper_kwh;
	r.fee_same_zone_uper_kwh = mk->fee_same_zone_uper_kwh;
	r.fee_default_uper_kwh = mk->fee_default_uper_kwh;
	if ((rc = fees_intern(x, mk, &r.table)) != PW_OK)
		return rc;
	x->markets[x->n_markets++] = r;
	x->market = *mk;
	x->market_idx = idx;
	return PW_OK;
}

/* The number of entries whose effective_interval <= interval (they come
 * first: effective_interval never decreases in log order). */
static size_t
effective_upto(const struct xrules *x, uint64_t interval)
{
	size_t lo = 0, hi = x->n_markets;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (x->markets[mid].effective_interval <= interval)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

const struct xrules_rule *
xrules_market_at(const struct xrules *x, uint64_t interval)
{
	size_t n = effective_upto(x, interval);
	/* the first entry is effective from 0: n is never 0 after open */
	return n > 0 ? &x->markets[n - 1] : x->markets;
}

uint32_t
xrules_fee(const struct xrules *x, const struct xrules_rule *r, const char *zone_a,
           const char *zone_b)
{
	const char *a = zone_a, *b = zone_b;
	const struct xrules_fees *t = &x->tables[r->table];
	if (strcmp(a, b) > 0) {
		a = zone_b;
		b = zone_a;
	}
	for (unsigned i = 0; i < t->n_fees; i++)
		if (strncmp(t->fees[i].zone_a, a, PW_TOKEN_LEN) == 0 &&
		    strncmp(t->fees[i].zone_b, b, PW_TOKEN_LEN) == 0)
			return t->fees[i].fee_uper_kwh;
	return strcmp(a, b) == 0 ? r->fee_same_zone_uper_kwh : r->fee_default_uper_kwh;
}

size_t
xrules_schedule(const struct xrules *x, uint64_t interval, uint64_t *idx, size_t cap)
{
	size_t n = 0, first = effective_upto(x, interval);

	if (cap == 0 || x->n_markets == 0)
		return 0;
	/* the entry governing `interval`, then every later one that governs
	 * at least one interval (not replaced by a later entry effective from
	 * the same interval) */
	if (first == 0)
		first = 1; /* not reached: the first entry is effective from 0 */
	idx[n++] = x->markets[first - 1].idx;
	for (size_t i = first; i < x->n_markets && n < cap; i++)
		if (i + 1 == x->n_markets ||
		    x->markets[i + 1].effective_interval != x->markets[i].effective_interval)
			idx[n++] = x->markets[i].idx;
	return n;
}

int
xrules_rule_same(const struct xrules *x, const struct xrules_rule *r, const struct pw_market *mk)
{
	const struct xrules_fees *t = &x->tables[r->table];
	return r->feedin_uper_kwh == mk->feedin_uper_kwh &&
	       r->retail_uper_kwh == mk->retail_uper_kwh &&
	       r->fee_same_zone_uper_kwh == mk->fee_same_zone_uper_kwh &&
	       r->fee_default_uper_kwh == mk->fee_default_uper_kwh && fees_same(t, mk);
}
