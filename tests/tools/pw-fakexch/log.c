/*
 * log.c: pw-fakexch's log (fakexch.h): the leaves of the honest tree and of
 * the forked and phantom histories it lies with, appending, signing and
 * publishing; the MARKET and REGISTRY entries it logs, and the zones and
 * fees they set.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <zmq.h>

#include "fakexch.h"

int64_t
now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
is(const struct fx *f, const char *s)
{
	return strcmp(f->scen, s) == 0;
}

pw_err
honest_leaf(void *ctx, uint64_t idx, uint8_t out[MERKLE_HASH_LEN])
{
	struct fx *f = ctx;
	if (idx >= f->n_leaves)
		return PW_ERR_RANGE;
	memcpy(out, f->leaves[idx], MERKLE_HASH_LEN);
	return PW_OK;
}

/* The forked history: the same entries up to fork_at, others after. */
pw_err
fork_leaf(void *ctx, uint64_t idx, uint8_t out[MERKLE_HASH_LEN])
{
	struct fx *f = ctx;
	if (idx < f->fork_at && idx < f->n_leaves) {
		memcpy(out, f->leaves[idx], MERKLE_HASH_LEN);
		return PW_OK;
	}
	uint8_t e[16] = "fork";
	memcpy(e + 8, &idx, sizeof(idx));
	merkle_leaf_hash(e, sizeof(e), out);
	return PW_OK;
}

/* forkhead: the honest entries before phantom_at, then one the honest
 * tree never gets (so the head holds the household's entry, but no
 * published checkpoint extends it). */
pw_err
phantom_leaf(void *ctx, uint64_t idx, uint8_t out[MERKLE_HASH_LEN])
{
	struct fx *f = ctx;
	if (idx < f->phantom_at)
		return honest_leaf(ctx, idx, out);
	uint8_t e[16] = "phantom";
	memcpy(e + 8, &idx, sizeof(idx));
	merkle_leaf_hash(e, sizeof(e), out);
	return PW_OK;
}

uint64_t
append(struct fx *f, const uint8_t *frame, size_t len)
{
	if (f->n_leaves == f->cap_leaves) {
		f->cap_leaves = f->cap_leaves ? f->cap_leaves * 2 : 1024;
		f->leaves = realloc(f->leaves, f->cap_leaves * sizeof(*f->leaves));
		if (f->leaves == NULL)
			exit(70);
	}
	merkle_leaf_hash(frame, len, f->leaves[f->n_leaves]);
	return f->n_leaves++;
}

size_t
sign(struct fx *f, struct pw_msg *m, uint8_t *out, size_t cap)
{
	size_t len = 0;
	if (pw_wire_encode(m, f->market, &f->kp, out, cap, &len) != PW_OK) {
		fprintf(stderr, "pw-fakexch: cannot encode a %s\n", pw_msg_type_name(m->type));
		exit(70);
	}
	return len;
}

void
publish(struct fx *f, const uint8_t *frame, size_t len, uint8_t type)
{
	const char *topic = pw_msg_type_name(type);
	(void)zmq_send(f->pub, topic, strlen(topic), ZMQ_SNDMORE);
	(void)zmq_send(f->pub, frame, len, 0);
}

void
say(const char *kind, unsigned long long n)
{
	printf("lie %s %llu\n", kind, n);
	fflush(stdout);
}

/* ---- rules and registry in the log ------------------------------------ */

void
log_market(struct fx *f, uint64_t eff, int32_t retail)
{
	struct pw_msg m;
	struct rule *r;

	if (f->n_rules == MAXR)
		return;
	r = &f->rules[f->n_rules++];
	memset(&m, 0, sizeof(m));
	m.type = PW_MSG_MARKET;
	m.u.market.time_s = (uint64_t)(now_ms() / 1000);
	m.u.market.effective_interval = eff;
	snprintf(m.u.market.name, sizeof(m.u.market.name), "fake");
	memcpy(m.u.market.currency, "EUR", PW_CURRENCY_LEN);
	m.u.market.interval_s = (uint32_t)f->L;
	m.u.market.gate_s = GATE_S;
	m.u.market.grace_s = GRACE;
	m.u.market.max_ahead_s = 86400;
	m.u.market.feedin_uper_kwh = FEEDIN;
	m.u.market.retail_uper_kwh = retail;
	m.u.market.fee_same_zone_uper_kwh = FEE_SAME;
	m.u.market.fee_default_uper_kwh = FEE_DEFAULT;
	m.u.market.n_fees = 1;
	snprintf(m.u.market.fees[0].zone_a, PW_TOKEN_LEN, "north");
	snprintf(m.u.market.fees[0].zone_b, PW_TOKEN_LEN, "south");
	m.u.market.fees[0].fee_uper_kwh = FEE_NS;
	r->type = PW_MSG_MARKET;
	r->eff = eff;
	r->len = sign(f, &m, r->frame, sizeof(r->frame));
	r->idx = append(f, r->frame, r->len);
}

void
log_registry(struct fx *f, const uint8_t pk[PW_PK_LEN], const char *id, const char *zone)
{
	struct pw_msg m;
	struct rule *r;

	if (f->n_rules == MAXR)
		return;
	r = &f->rules[f->n_rules++];
	memset(&m, 0, sizeof(m));
	m.type = PW_MSG_REGISTRY;
	m.u.registry.time_s = (uint64_t)(now_ms() / 1000);
	memcpy(m.u.registry.household, pk, PW_PK_LEN);
	snprintf(m.u.registry.id, PW_TOKEN_LEN, "%s", id);
	snprintf(m.u.registry.name, PW_TOKEN_LEN, "%s", id);
	snprintf(m.u.registry.serial, PW_SERIAL_LEN, "SER-%s", id);
	snprintf(m.u.registry.zone, PW_TOKEN_LEN, "%s", zone);
	m.u.registry.max_export_w = 1200000;
	m.u.registry.max_import_w = 1200000;
	r->type = PW_MSG_REGISTRY;
	memcpy(r->key, pk, PW_PK_LEN);
	snprintf(r->zone, sizeof(r->zone), "%s", zone);
	r->len = sign(f, &m, r->frame, sizeof(r->frame));
	r->idx = append(f, r->frame, r->len);
}

/* The entry a MARKET (key NULL: interval iv) or REGISTRY (key) query
 * names among the first `size` entries. */
const struct rule *
find_rule(const struct fx *f, const uint8_t *key, uint64_t iv, uint64_t size)
{
	for (size_t i = f->n_rules; i-- > 0;) {
		const struct rule *r = &f->rules[i];
		if (r->idx >= size)
			continue;
		if (key == NULL ? r->type == PW_MSG_MARKET && r->eff <= iv
		                : r->type == PW_MSG_REGISTRY && memcmp(r->key, key, PW_PK_LEN) == 0)
			return r;
	}
	return NULL;
}

/* The zone of a household (north for any but bob). */
static const char *
zone_of(const struct fx *f, const uint8_t pk[PW_PK_LEN])
{
	const struct rule *r = find_rule(f, pk, 0, f->n_leaves);
	return r != NULL ? r->zone : "north";
}

uint32_t
fee_of(const struct fx *f, const uint8_t a[PW_PK_LEN], const uint8_t b[PW_PK_LEN])
{
	const char *za = zone_of(f, a), *zb = zone_of(f, b);
	if (strcmp(za, zb) == 0)
		return FEE_SAME;
	if ((strcmp(za, "north") == 0 && strcmp(zb, "south") == 0) ||
	    (strcmp(za, "south") == 0 && strcmp(zb, "north") == 0))
		return FEE_NS;
	return FEE_DEFAULT;
}
