/*
 * audit_rules.c: the market's rules and registry as the log states them
 * (docs/audit.md section 6, "Rules and registry").
 *
 * The audit takes the market's rules from the MARKET entries and the
 * households from the REGISTRY entries of the log, never from the
 * exchange's tables: the tables params, fees and households are the
 * exchange's caches and must equal the log (checked after the pass).
 *
 * - The first MARKET entry (index 0, or where the migration of an
 *   old-format database wrote it) is read before the pass: its author is
 *   the exchange key, its signature confirms the market id of table
 *   params.  A migrated database's entries before it are judged by it and
 *   by the REGISTRY entries the migration logged right after it.
 * - A later MARKET entry governs the intervals from its effective_interval
 *   on, and must not concern an interval an earlier entry already names
 *   (no retroactive change); interval, gate, grace, horizon, name and
 *   currency never change.
 * - A REGISTRY entry applies from its log position on.
 */
#include "audit/audit_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FEE_MAX   4000000000LL /* the exchange's bound on fees (tariffs: any i32) */
#define POWER_MAX 1000000000LL /* the registry's bound on max_export_w, max_import_w */
#define LEN_MAX   86400        /* interval_s, gate_s, grace_s */
#define AHEAD_MAX (7 * 86400)  /* max_ahead_s */

/* --- households --------------------------------------------------------------------- */

static int
by_pk(const struct audit *a, size_t i, const uint8_t pk[PW_PK_LEN])
{
	return memcmp(a->hhs[a->hh_by_pk[i]].pk, pk, PW_PK_LEN);
}

static size_t
hh_pos(const struct audit *a, const uint8_t pk[PW_PK_LEN])
{
	size_t lo = 0, hi = a->n_hhs;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (by_pk(a, mid, pk) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

struct hh *
audit_hh_find(struct audit *a, const uint8_t pk[PW_PK_LEN])
{
	size_t pos = hh_pos(a, pk);
	return pos < a->n_hhs && by_pk(a, pos, pk) == 0 ? &a->hhs[a->hh_by_pk[pos]] : NULL;
}

struct hh *
audit_hh_add(struct audit *a, const uint8_t pk[PW_PK_LEN])
{
	size_t pos = hh_pos(a, pk);
	if (pos < a->n_hhs && by_pk(a, pos, pk) == 0)
		return &a->hhs[a->hh_by_pk[pos]];
	if (audit_grow((void **)&a->hhs, &a->cap_hhs, a->n_hhs + 1, sizeof(*a->hhs)) != PW_OK ||
	    audit_grow((void **)&a->hh_by_pk, &a->cap_by_pk, a->n_hhs + 1, sizeof(*a->hh_by_pk)) !=
	        PW_OK)
		return NULL;
	struct hh *h = &a->hhs[a->n_hhs];
	memset(h, 0, sizeof(*h));
	memcpy(h->pk, pk, PW_PK_LEN);
	h->reg_idx = h->first_idx = UINT64_MAX;
	memmove(a->hh_by_pk + pos + 1, a->hh_by_pk + pos, (a->n_hhs - pos) * sizeof(*a->hh_by_pk));
	a->hh_by_pk[pos] = (uint32_t)a->n_hhs;
	a->n_hhs++;
	return h;
}

static void
apply_registry(struct audit *a, struct hh *h, uint64_t idx, const struct pw_registry *g)
{
	pw_wire_text(h->id, sizeof(h->id), g->id, PW_TOKEN_LEN);
	pw_wire_text(h->name, sizeof(h->name), g->name, PW_TOKEN_LEN);
	if (h->name[0] == '\0' || strcmp(h->name, h->id) == 0)
		snprintf(h->label, sizeof(h->label), "%s", h->id);
	else
		snprintf(h->label, sizeof(h->label), "%s (%s)", h->name, h->id);
	memset(h->zone, 0, sizeof(h->zone));
	pw_wire_text(h->zone, sizeof(h->zone), g->zone, PW_TOKEN_LEN);
	memcpy(h->serial, g->serial, PW_SERIAL_LEN);
	h->max_export_w = g->max_export_w;
	h->max_import_w = g->max_import_w;
	h->revoked = g->revoked != 0;
	h->reg_idx = idx;
	if (h->first_idx == UINT64_MAX)
		h->first_idx = idx;
	(void)a;
}

/* --- the MARKET entries ----------------------------------------------------------- */

/* The exchange's own rules for its [market] and [fees] settings
 * (exchange/xconfig.c): rules it refuses to run on fail the audit. */
static int
market_sane(struct audit *a, uint64_t idx, const struct pw_market *m)
{
	const char *bad = NULL;
	char why[128];
	if (m->interval_s < 1 || m->interval_s > LEN_MAX)
		bad = "interval_s is not 1..86400";
	else if (m->gate_s >= m->interval_s)
		bad = "gate_s is not below interval_s";
	else if (m->grace_s > LEN_MAX)
		bad = "grace_s is above 86400";
	else if (m->max_ahead_s > AHEAD_MAX ||
	         (int64_t)m->max_ahead_s < (int64_t)m->gate_s + m->interval_s)
		bad = "max_ahead_s is not gate_s + interval_s .. 604800";
	else if (m->feedin_uper_kwh > m->retail_uper_kwh)
		bad = "the feed-in tariff is above the retail tariff";
	else if (m->fee_same_zone_uper_kwh > FEE_MAX || m->fee_default_uper_kwh > FEE_MAX)
		bad = "a fee is above 4000000000";
	for (uint16_t i = 0; bad == NULL && i < m->n_fees; i++) {
		const struct pw_market_fee *f = &m->fees[i];
		if (f->fee_uper_kwh > FEE_MAX)
			bad = "a fee is above 4000000000";
		for (uint16_t j = 0; bad == NULL && j < i; j++) {
			const struct pw_market_fee *g = &m->fees[j];
			if ((strncmp(f->zone_a, g->zone_a, PW_TOKEN_LEN) == 0 &&
			     strncmp(f->zone_b, g->zone_b, PW_TOKEN_LEN) == 0) ||
			    (strncmp(f->zone_a, g->zone_b, PW_TOKEN_LEN) == 0 &&
			     strncmp(f->zone_b, g->zone_a, PW_TOKEN_LEN) == 0)) {
				char za[PW_TOKEN_LEN + 1], zb[PW_TOKEN_LEN + 1];
				pw_wire_text(za, sizeof(za), f->zone_a, PW_TOKEN_LEN);
				pw_wire_text(zb, sizeof(zb), f->zone_b, PW_TOKEN_LEN);
				snprintf(why, sizeof(why), "the fee of zones %s/%s is listed twice",
				         za, zb);
				bad = why;
			}
		}
	}
	if (bad == NULL)
		return 1;
	FAIL_ENTRY(a, idx, PW_MSG_MARKET, "MARKET entry: %s", bad);
	audit_plain(a,
	            "The market's rules the exchange logged at entry %llu break its own rules "
	            "(%s): the market could not have run on them.",
	            (unsigned long long)idx, bad);
	return 0;
}

/* FNV-1a over the table's pairs. */
static uint64_t
fees_hash(const struct settle_fee *f, size_t n)
{
	uint64_t h = 1469598103934665603ull ^ n;
	const uint8_t *p = (const uint8_t *)f;
	for (size_t i = 0; i < n * sizeof(*f); i++)
		h = (h ^ p[i]) * 1099511628211ull;
	return h;
}

static pw_err
fee_slots_grow(struct audit *a, size_t cap)
{
	uint32_t *n = calloc(cap, sizeof(*n));
	if (n == NULL)
		return PW_ERR_NOMEM;
	for (size_t i = 0; i < a->n_fee_tabs; i++) {
		size_t k = (size_t)a->fee_tabs[i].hash & (cap - 1);
		while (n[k] != 0)
			k = (k + 1) & (cap - 1);
		n[k] = (uint32_t)(i + 1);
	}
	free(a->fee_slot);
	a->fee_slot = n;
	a->cap_fee_slots = cap;
	return PW_OK;
}

/* The shared copy of the table f[0 .. n) (zeroed padding: compared whole). */
static pw_err
fees_intern(struct audit *a, const struct settle_fee *f, size_t n, const struct settle_fee **out)
{
	uint64_t h = fees_hash(f, n);
	size_t k;
	pw_err rc;

	if (a->cap_fee_slots < 2 * (a->n_fee_tabs + 1) &&
	    (rc = fee_slots_grow(a, a->cap_fee_slots ? 2 * a->cap_fee_slots : 16)) != PW_OK)
		return rc;
	for (k = (size_t)h & (a->cap_fee_slots - 1); a->fee_slot[k] != 0;
	     k = (k + 1) & (a->cap_fee_slots - 1)) {
		const struct afees *t = &a->fee_tabs[a->fee_slot[k] - 1];
		if (t->hash == h && t->n == n &&
		    (n == 0 || memcmp(t->pairs, f, n * sizeof(*f)) == 0)) {
			*out = t->pairs;
			return PW_OK;
		}
	}
	if ((rc = audit_grow((void **)&a->fee_tabs, &a->cap_fee_tabs, a->n_fee_tabs + 1,
	                     sizeof(*a->fee_tabs))) != PW_OK)
		return rc;
	struct afees *t = &a->fee_tabs[a->n_fee_tabs];
	t->hash = h;
	t->n = n;
	t->pairs = NULL;
	if (n > 0) {
		if ((t->pairs = malloc(n * sizeof(*f))) == NULL)
			return PW_ERR_NOMEM;
		memcpy(t->pairs, f, n * sizeof(*f));
	}
	a->fee_slot[k] = (uint32_t)(a->n_fee_tabs + 1);
	a->n_fee_tabs++;
	*out = t->pairs;
	return PW_OK;
}

static pw_err
add_rules(struct audit *a, uint64_t idx, const struct pw_market *m)
{
	struct settle_fee fees[PW_MARKET_MAX_FEES];
	size_t n_fees = 0;
	pw_err rc =
	    audit_grow((void **)&a->rules, &a->cap_rules, a->n_rules + 1, sizeof(*a->rules));
	if (rc != PW_OK)
		return rc;
	memset(fees, 0, sizeof(fees));
	for (uint16_t i = 0; i < m->n_fees && i < PW_MARKET_MAX_FEES; i++) {
		pw_wire_text(fees[i].zone_a, sizeof(fees[i].zone_a), m->fees[i].zone_a,
		             PW_TOKEN_LEN);
		pw_wire_text(fees[i].zone_b, sizeof(fees[i].zone_b), m->fees[i].zone_b,
		             PW_TOKEN_LEN);
		fees[i].fee_uper_kwh = m->fees[i].fee_uper_kwh;
		n_fees++;
	}
	const struct settle_fee *shared = NULL;
	if ((rc = fees_intern(a, fees, n_fees, &shared)) != PW_OK)
		return rc;
	struct arules *r = &a->rules[a->n_rules++];
	memset(r, 0, sizeof(*r));
	r->fees = shared;
	r->n_fees = n_fees;
	r->idx = idx;
	r->effective_interval = m->effective_interval;
	r->time_s = m->time_s;
	r->feedin_uper_kwh = m->feedin_uper_kwh;
	r->retail_uper_kwh = m->retail_uper_kwh;
	r->fee_same_uper_kwh = m->fee_same_zone_uper_kwh;
	r->fee_default_uper_kwh = m->fee_default_uper_kwh;
	/* the report keeps the first AUDIT_MAX_RULE_SETS */
	struct audit_report *rep = a->r;
	if (rep->n_rule_sets < AUDIT_MAX_RULE_SETS) {
		struct audit_rule_set *s = &rep->rule_sets[rep->n_rule_sets];
		s->first_interval = r->effective_interval;
		s->index = idx;
		s->time_s = r->time_s;
		s->feedin_uper_kwh = r->feedin_uper_kwh;
		s->retail_uper_kwh = r->retail_uper_kwh;
		s->fee_same_uper_kwh = r->fee_same_uper_kwh;
		s->fee_default_uper_kwh = r->fee_default_uper_kwh;
		s->n_fee_rows = r->n_fees;
		for (size_t i = 0; i < r->n_fees; i++) {
			snprintf(s->fee_rows[i].zone_a, sizeof(s->fee_rows[i].zone_a), "%s",
			         r->fees[i].zone_a);
			snprintf(s->fee_rows[i].zone_b, sizeof(s->fee_rows[i].zone_b), "%s",
			         r->fees[i].zone_b);
			s->fee_rows[i].fee_uper_kwh = r->fees[i].fee_uper_kwh;
		}
	}
	rep->n_rule_sets++;
	return PW_OK;
}

const struct arules *
audit_rules_for(const struct audit *a, uint64_t interval)
{
	/* the last entry whose effective interval is at or before `interval` */
	size_t lo = 0, hi = a->n_rules;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (a->rules[mid].effective_interval <= interval)
			lo = mid + 1;
		else
			hi = mid;
	}
	return &a->rules[lo > 0 ? lo - 1 : 0];
}

struct settle_fees
audit_rules_fees(const struct arules *r)
{
	struct settle_fees f = { .pairs = r->fees,
		                 .n_pairs = r->n_fees,
		                 .same_zone_uper_kwh = r->fee_same_uper_kwh,
		                 .default_uper_kwh = r->fee_default_uper_kwh };
	return f;
}

/* The exchange-signed frame at `idx` of `type`, decoded and verified, or a
 * failure naming it. */
static int
exchange_entry(struct audit *a, uint64_t idx, const uint8_t *frame, size_t len, uint8_t type,
               struct pw_msg *m)
{
	pw_err rc = pw_wire_decode_stored(frame, len, m);
	if (rc != PW_OK) {
		FAIL_ENTRY(a, idx, type, "frame does not decode: %s", pw_strerror(rc));
		return 0;
	}
	if (m->type != type) {
		FAIL_ENTRY(a, idx, m->type, "type column %u is not the frame's type %u", type,
		           m->type);
		return 0;
	}
	if (pw_wire_verify_stored(frame, len, a->market_id) != PW_OK) {
		FAIL_ENTRY(a, idx, type, "bad signature (under market id %llu of table params)",
		           (unsigned long long)a->market_id);
		return 0;
	}
	if (memcmp(m->author, a->r->exchange_pk, PW_PK_LEN) != 0) {
		FAIL_ENTRY(a, idx, type,
		           "not signed by the exchange key of the first MARKET entry");
		return 0;
	}
	return 1;
}

/* market_id: the one value the log's frames do not hold (it is in what
 * they are signed over): table params, confirmed by the signatures. */
static int
load_market_id(struct audit *a)
{
	sqlite3_stmt *st = NULL;
	int rows = 0, ok = 0;
	if (sqlite3_prepare_v2(a->db, "SELECT value FROM params WHERE key = 'market_id'", -1, &st,
	                       NULL) == SQLITE_OK)
		while (sqlite3_step(st) == SQLITE_ROW) {
			sqlite3_int64 v = sqlite3_column_int64(st, 0);
			ok = rows++ == 0 && sqlite3_column_type(st, 0) == SQLITE_INTEGER && v >= 1;
			if (ok)
				a->market_id = (uint64_t)v;
		}
	sqlite3_finalize(st);
	if (ok)
		return 1;
	FAIL_AT(a, "database", "params: market_id is %s",
	        rows == 0  ? "missing"
	        : rows > 1 ? "stored twice"
	                   : "not an integer in 1..2^63-1");
	audit_plain(a, "The database does not state its market id clearly (table params), so "
	               "no signature in it can be checked.");
	return 0;
}

pw_err
audit_rules_load(struct audit *a)
{
	struct audit_report *r = a->r;
	sqlite3_stmt *st = NULL;
	struct pw_msg m;
	pw_err rc = PW_OK;
	int found = 0;

	a->first_market_idx = UINT64_MAX;
	if (!load_market_id(a))
		return PW_OK;
	r->market_id = a->market_id;
	if (sqlite3_prepare_v2(a->db,
	                       "SELECT idx, frame FROM log WHERE type = 24 ORDER BY idx LIMIT 1",
	                       -1, &st, NULL) != SQLITE_OK) {
		FAIL_AT(a, "database", "reading table log: %s", sqlite3_errmsg(a->db));
		return PW_OK;
	}
	if (sqlite3_step(st) == SQLITE_ROW) {
		sqlite3_int64 idx = sqlite3_column_int64(st, 0);
		const uint8_t *f = sqlite3_column_blob(st, 1);
		int n = sqlite3_column_bytes(st, 1);
		found = 1;
		a->first_market_idx = idx < 0 ? 0 : (uint64_t)idx;
		if (f == NULL || n < 2 || (size_t)n > PW_WIRE_MAX_LEN) {
			FAIL_ENTRY(a, a->first_market_idx, PW_MSG_MARKET, "frame of %d bytes", n);
		} else if ((rc = pw_wire_decode_stored(f, (size_t)n, &m)) != PW_OK ||
		           m.type != PW_MSG_MARKET) {
			FAIL_ENTRY(a, a->first_market_idx, PW_MSG_MARKET,
			           "frame does not decode as a MARKET entry: %s",
			           pw_strerror(rc != PW_OK ? rc : PW_ERR_TYPE));
			rc = PW_OK;
		} else if (a->opt->pinned_pk != NULL &&
		           memcmp(a->opt->pinned_pk, m.author, PW_PK_LEN) != 0) {
			char hex[17];
			audit_hex8(m.author, hex);
			FAIL_ENTRY(a, a->first_market_idx, PW_MSG_MARKET,
			           "the first MARKET entry is signed by %s..., not by the key "
			           "pinned with --exchange-key",
			           hex);
			audit_plain(a,
			            "The market's first entry (its rules) is signed by another key "
			            "than the exchange key given with --exchange-key: the whole "
			            "history may have been re-signed under a new key.");
		} else if (pw_wire_verify_stored(f, (size_t)n, a->market_id) != PW_OK) {
			FAIL_ENTRY(a, a->first_market_idx, PW_MSG_MARKET,
			           "bad signature (under market id %llu of table params)",
			           (unsigned long long)a->market_id);
			audit_plain(a,
			            "The market's first entry does not verify under the market id "
			            "the database states: the id or the entry was altered.");
		} else {
			memcpy(r->exchange_pk, m.author, PW_PK_LEN);
			if (a->opt->pinned_pk != NULL)
				r->key_source = AUDIT_KEY_PINNED;
		}
	}
	sqlite3_finalize(st);
	if (!found) {
		FAIL_AT(a, "database", "the log holds no MARKET entry (old format)");
		audit_plain(a,
		            "This database has not been opened by peerwatt-exchange %s or later, "
		            "which writes the market's rules and registry into the log: open it "
		            "once with peerwatt-exchange to migrate it, then audit a new copy.",
		            PW_VERSION);
		return PW_OK;
	}
	if (r->fail.failed)
		return PW_OK;
	const struct pw_market *g = &m.u.market;
	if (!market_sane(a, a->first_market_idx, g))
		return PW_OK;
	if (g->effective_interval != 0) {
		FAIL_ENTRY(a, a->first_market_idx, PW_MSG_MARKET,
		           "the first MARKET entry is effective from interval %llu, not 0",
		           (unsigned long long)g->effective_interval);
		audit_plain(a, "The market's first rules do not govern its whole history.");
		return PW_OK;
	}
	a->genesis = *g;
	a->interval_s = g->interval_s;
	a->gate_s = g->gate_s;
	a->grace_s = g->grace_s;
	a->max_ahead_s = g->max_ahead_s;
	pw_wire_text(r->market_name, sizeof(r->market_name), g->name, PW_TOKEN_LEN);
	pw_wire_text(r->currency, sizeof(r->currency), g->currency, 3);
	r->have_rules = 1;
	r->interval_s = g->interval_s;
	r->gate_s = g->gate_s;
	r->grace_s = g->grace_s;
	r->max_ahead_s = g->max_ahead_s;
	if ((rc = add_rules(a, a->first_market_idx, g)) != PW_OK)
		return rc;
	if (a->first_market_idx == 0)
		return PW_OK;
	/* migrated: the REGISTRY entries logged right after the first MARKET
	 * entry stand for the registry of the entries before it */
	r->migrated = 1;
	r->migration_index = a->first_market_idx;
	r->migration_time_s = g->time_s;
	r->warnings |= AUDIT_WARN_MIGRATED;
	if (sqlite3_prepare_v2(a->db, "SELECT idx, frame FROM log WHERE idx > ?1 ORDER BY idx", -1,
	                       &st, NULL) != SQLITE_OK) {
		FAIL_AT(a, "database", "reading table log: %s", sqlite3_errmsg(a->db));
		return PW_OK;
	}
	sqlite3_bind_int64(st, 1, (sqlite3_int64)a->first_market_idx);
	while (rc == PW_OK && !r->fail.failed && sqlite3_step(st) == SQLITE_ROW) {
		sqlite3_int64 idx = sqlite3_column_int64(st, 0);
		const uint8_t *f = sqlite3_column_blob(st, 1);
		int n = sqlite3_column_bytes(st, 1);
		if (f == NULL || n < 2 || (size_t)n > PW_WIRE_MAX_LEN || f[1] != PW_MSG_REGISTRY ||
		    idx < 0)
			break;
		if (!exchange_entry(a, (uint64_t)idx, f, (size_t)n, PW_MSG_REGISTRY, &m))
			break;
		struct hh *h = audit_hh_add(a, m.u.registry.household);
		if (h == NULL)
			rc = PW_ERR_NOMEM;
		else
			apply_registry(a, h, (uint64_t)idx, &m.u.registry);
	}
	sqlite3_finalize(st);
	return rc;
}

void
audit_rules_note_interval(struct audit *a, uint64_t idx, uint64_t interval)
{
	if (!a->have_max_iv || interval > a->max_iv) {
		a->max_iv = interval;
		a->max_iv_idx = idx;
		a->have_max_iv = 1;
	}
}

void
audit_rules_market(struct audit *a, uint64_t idx, const struct pw_msg *msg)
{
	const struct pw_market *m = &msg->u.market, *g = &a->genesis;
	const char *changed = NULL;

	a->r->market_entries++;
	if (idx == a->first_market_idx)
		return; /* read before the pass */
	if (strncmp(m->name, g->name, PW_TOKEN_LEN) != 0)
		changed = "the market name";
	else if (memcmp(m->currency, g->currency, 3) != 0)
		changed = "the currency";
	else if (m->interval_s != g->interval_s)
		changed = "interval_s";
	else if (m->gate_s != g->gate_s)
		changed = "gate_s";
	else if (m->grace_s != g->grace_s)
		changed = "grace_s";
	else if (m->max_ahead_s != g->max_ahead_s)
		changed = "max_ahead_s";
	if (changed != NULL) {
		FAIL_ENTRY(a, idx, msg->type, "MARKET entry changes %s", changed);
		audit_plain(a,
		            "The market's rules logged at entry %llu change %s, which never "
		            "changes in a market (interval length, gate, grace, horizon, name "
		            "and currency are fixed for the life of the database).",
		            (unsigned long long)idx, changed);
		return;
	}
	if (!market_sane(a, idx, m))
		return;
	const struct arules *last = &a->rules[a->n_rules - 1];
	if (m->effective_interval < last->effective_interval) {
		FAIL_ENTRY(a, idx, msg->type,
		           "MARKET entry effective from interval %llu, before interval %llu of the "
		           "MARKET entry %llu",
		           (unsigned long long)m->effective_interval,
		           (unsigned long long)last->effective_interval,
		           (unsigned long long)last->idx);
		audit_plain(a, "The market's rules logged at entry %llu go back in time.",
		            (unsigned long long)idx);
		return;
	}
	if (a->have_max_iv && m->effective_interval <= a->max_iv) {
		FAIL_ENTRY(
		    a, idx, msg->type,
		    "MARKET entry effective from interval %llu, but entry %llu (%s) already "
		    "concerns interval %llu",
		    (unsigned long long)m->effective_interval, (unsigned long long)a->max_iv_idx,
		    pw_msg_type_name(a->ents[a->max_iv_idx].type), (unsigned long long)a->max_iv);
		audit_plain(a,
		            "The exchange changed the market's tariffs or fees (entry %llu) for "
		            "interval %llu on, after entry %llu had already been accepted for "
		            "interval %llu: rules were changed retroactively for an interval "
		            "already traded.",
		            (unsigned long long)idx, (unsigned long long)m->effective_interval,
		            (unsigned long long)a->max_iv_idx, (unsigned long long)a->max_iv);
		return;
	}
	if (add_rules(a, idx, m) != PW_OK)
		FAIL_ENTRY(a, idx, msg->type, "out of memory");
}

pw_err
audit_rules_registry(struct audit *a, uint64_t idx, const struct pw_msg *m)
{
	const struct pw_registry *g = &m->u.registry;
	a->r->registry_entries++;
	if (idx < a->first_market_idx) {
		FAIL_ENTRY(a, idx, m->type, "REGISTRY entry before the first MARKET entry %llu",
		           (unsigned long long)a->first_market_idx);
		return PW_OK;
	}
	if (g->max_export_w > POWER_MAX || g->max_import_w > POWER_MAX) {
		FAIL_ENTRY(a, idx, m->type, "REGISTRY entry: a capacity above 10^9 W");
		return PW_OK;
	}
	struct hh *h = audit_hh_add(a, g->household);
	if (h == NULL)
		return PW_ERR_NOMEM;
	apply_registry(a, h, idx, g);
	return PW_OK;
}

/* The first REGISTRY entry of `pk` after `idx`, to name a household that
 * acted before it was registered (or one named before the pass reached its
 * entry); UINT64_MAX when none. */
uint64_t
audit_rules_registered_later(struct audit *a, uint64_t idx, const uint8_t pk[PW_PK_LEN],
                             char *label, size_t cap)
{
	sqlite3_stmt *st = NULL;
	uint64_t at = UINT64_MAX;
	if (sqlite3_prepare_v2(a->db,
	                       "SELECT idx, frame FROM log WHERE type = 25 AND idx > ?1 ORDER BY "
	                       "idx",
	                       -1, &st, NULL) != SQLITE_OK)
		return UINT64_MAX;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)idx);
	while (at == UINT64_MAX && sqlite3_step(st) == SQLITE_ROW) {
		const uint8_t *f = sqlite3_column_blob(st, 1);
		int n = sqlite3_column_bytes(st, 1);
		struct pw_msg m;
		struct hh tmp;
		if (f == NULL || n <= 0 || pw_wire_decode_stored(f, (size_t)n, &m) != PW_OK ||
		    m.type != PW_MSG_REGISTRY || memcmp(m.u.registry.household, pk, PW_PK_LEN) != 0)
			continue;
		memset(&tmp, 0, sizeof(tmp));
		tmp.first_idx = UINT64_MAX;
		apply_registry(a, &tmp, 0, &m.u.registry);
		snprintf(label, cap, "%s", tmp.label);
		at = (uint64_t)sqlite3_column_int64(st, 0);
	}
	sqlite3_finalize(st);
	return at;
}

struct hh *
audit_rules_household(struct audit *a, uint64_t idx, const struct pw_msg *m)
{
	struct hh *h = audit_hh_find(a, m->author);
	const char *what = m->type == PW_MSG_ORDER    ? "an order"
	                   : m->type == PW_MSG_CANCEL ? "a cancel"
	                   : m->type == PW_MSG_COSIGN ? "a cosignature"
	                                              : "a meter reading";
	int before_migration = idx < a->first_market_idx;
	char who[AUDIT_LABEL_LEN];

	if (h != NULL && (before_migration || h->first_idx < idx) &&
	    (before_migration || !h->revoked))
		return h;
	if (h != NULL && h->first_idx < idx) {
		FAIL_ENTRY(a, idx, m->type, "%s by %s, revoked by REGISTRY entry %llu before it",
		           pw_msg_type_name(m->type), h->label, (unsigned long long)h->reg_idx);
		audit_plain(a,
		            "Log entry %llu is %s by %s, whom the registry in the log had revoked "
		            "(entry %llu): the exchange accepted a household it had removed.",
		            (unsigned long long)idx, what, h->label,
		            (unsigned long long)h->reg_idx);
		return NULL;
	}
	uint64_t later = h != NULL
	                     ? h->first_idx
	                     : audit_rules_registered_later(a, idx, m->author, who, sizeof(who));
	if (h != NULL)
		snprintf(who, sizeof(who), "%s", h->label);
	if (later == UINT64_MAX) {
		audit_who(a, m->author, who);
		FAIL_ENTRY(a, idx, m->type, "%s by %s, which no REGISTRY entry registers",
		           pw_msg_type_name(m->type), who);
		audit_plain(a,
		            "Log entry %llu is %s by a key the registry in the log never "
		            "admitted (%s): the exchange accepted a household it had not "
		            "registered.",
		            (unsigned long long)idx, what, who);
		return NULL;
	}
	FAIL_ENTRY(a, idx, m->type, "%s by %s, registered only by REGISTRY entry %llu after it",
	           pw_msg_type_name(m->type), who, (unsigned long long)later);
	audit_plain(a,
	            "Log entry %llu is %s by %s, who was registered only later (entry %llu): "
	            "the exchange accepted a household before it was in the registry.",
	            (unsigned long long)idx, what, who, (unsigned long long)later);
	return NULL;
}

/* --- the caches: params, fees, households equal the log ------------------------------- */

static void
table_differs(struct audit *a, const char *where, const char *table)
{
	audit_plain(a,
	            "The exchange's own table %s (%s), which it runs the market on, says "
	            "something else than the log: it served or applied values it did not log.",
	            table, where);
}

enum pkind { P_INT, P_TEXT, P_KEY };

static void
check_params(struct audit *a)
{
	const struct arules *last = &a->rules[a->n_rules - 1];
	const struct pw_market *g = &a->genesis;
	char name[PW_TOKEN_LEN + 1], hex[2 * PW_PK_LEN + 1];
	const struct {
		const char *key;
		enum pkind kind;
		int64_t v;
		const char *t;
		int required;
	} want[] = {
		{ "market_id", P_INT, (int64_t)a->market_id, NULL, 1 },
		{ "market_name", P_TEXT, 0, name, 1 },
		{ "interval_s", P_INT, g->interval_s, NULL, 1 },
		{ "gate_s", P_INT, g->gate_s, NULL, 1 },
		{ "grace_s", P_INT, g->grace_s, NULL, 1 },
		{ "feedin_uper_kwh", P_INT, last->feedin_uper_kwh, NULL, 1 },
		{ "retail_uper_kwh", P_INT, last->retail_uper_kwh, NULL, 1 },
		{ "exchange_pk", P_KEY, 0, hex, 1 },
		{ "max_ahead_s", P_INT, g->max_ahead_s, NULL, 0 },
		{ "fee_same_zone_uper_kwh", P_INT, last->fee_same_uper_kwh, NULL, 0 },
		{ "fee_default_uper_kwh", P_INT, last->fee_default_uper_kwh, NULL, 0 },
		{ "currency", P_TEXT, 0, a->r->currency, 0 },
	};
	enum { N = sizeof(want) / sizeof(want[0]) };
	int seen[N] = { 0 };
	char where[AUDIT_WHERE_LEN];
	sqlite3_stmt *st = NULL;

	pw_wire_text(name, sizeof(name), g->name, PW_TOKEN_LEN);
	pw_hex_encode(a->r->exchange_pk, PW_PK_LEN, hex);
	if (sqlite3_prepare_v2(a->db, "SELECT key, value FROM params ORDER BY rowid", -1, &st,
	                       NULL) != SQLITE_OK) {
		FAIL_AT(a, "database", "no table params: %s", sqlite3_errmsg(a->db));
		return;
	}
	while (!a->r->fail.failed && sqlite3_step(st) == SQLITE_ROW) {
		const char *key = (const char *)sqlite3_column_text(st, 0);
		size_t k = 0;
		while (key != NULL && k < N && strcmp(key, want[k].key) != 0)
			k++;
		if (key == NULL || k == N)
			continue; /* a parameter the log does not state */
		snprintf(where, sizeof(where), "params row %s", key);
		if (seen[k]++) {
			FAIL_AT(a, where, "params: %s is stored twice", key);
			audit_plain(
			    a,
			    "The market parameter %s is stored twice in the exchange's table "
			    "params: which one the exchange used cannot be known.",
			    key);
			break;
		}
		int same;
		const char *t = (const char *)sqlite3_column_text(st, 1);
		if (want[k].kind == P_INT)
			same = sqlite3_column_type(st, 1) == SQLITE_INTEGER &&
			       sqlite3_column_int64(st, 1) == want[k].v;
		else if (want[k].kind == P_KEY)
			same = t != NULL && strlen(t) == 2 * PW_PK_LEN &&
			       strcasecmp(t, want[k].t) == 0;
		else
			same = t != NULL && strcmp(t, want[k].t) == 0;
		if (same)
			continue;
		if (want[k].kind == P_INT)
			FAIL_AT(a, where, "params: %s is %s, the log says %lld", key,
			        t ? t : "NULL", (long long)want[k].v);
		else
			FAIL_AT(a, where, "params: %s is '%.64s', the log says '%s'", key,
			        t ? t : "NULL", want[k].t);
		table_differs(a, where, "params");
	}
	sqlite3_finalize(st);
	for (size_t k = 0; k < N && !a->r->fail.failed; k++)
		if (want[k].required && !seen[k]) {
			FAIL_AT(a, "database", "params: %s is missing", want[k].key);
			table_differs(a, "database", "params");
		}
}

static void
check_fees(struct audit *a)
{
	const struct arules *last = &a->rules[a->n_rules - 1];
	int matched[PW_MARKET_MAX_FEES] = { 0 };
	char where[AUDIT_WHERE_LEN];
	sqlite3_stmt *st = NULL;
	uint64_t row = 0;

	if (sqlite3_prepare_v2(a->db,
	                       "SELECT zone_a, zone_b, fee_uper_kwh FROM fees ORDER BY rowid", -1,
	                       &st, NULL) != SQLITE_OK) {
		FAIL_AT(a, "database", "no table fees: %s", sqlite3_errmsg(a->db));
		return;
	}
	while (!a->r->fail.failed && sqlite3_step(st) == SQLITE_ROW) {
		const char *za = (const char *)sqlite3_column_text(st, 0);
		const char *zb = (const char *)sqlite3_column_text(st, 1);
		sqlite3_int64 fee = sqlite3_column_int64(st, 2);
		size_t k = 0;
		row++;
		snprintf(where, sizeof(where), "fees row %llu (%.32s/%.32s)",
		         (unsigned long long)row, za ? za : "NULL", zb ? zb : "NULL");
		while (za != NULL && zb != NULL && k < last->n_fees &&
		       !((strcmp(last->fees[k].zone_a, za) == 0 &&
		          strcmp(last->fees[k].zone_b, zb) == 0) ||
		         (strcmp(last->fees[k].zone_a, zb) == 0 &&
		          strcmp(last->fees[k].zone_b, za) == 0)))
			k++;
		if (k == last->n_fees && za != NULL && zb != NULL && strcmp(za, zb) == 0 &&
		    sqlite3_column_type(st, 2) == SQLITE_INTEGER && fee == last->fee_same_uper_kwh)
			continue; /* a zone's own pair at the same-zone fee: what the fallback gives
			           */
		if (k == last->n_fees)
			FAIL_AT(a, where,
			        "fees: a zone pair the log's rules (MARKET entry %llu) do not list",
			        (unsigned long long)last->idx);
		else if (matched[k]++)
			FAIL_AT(a, where, "fees: zones %s/%s listed twice", za, zb);
		else if (sqlite3_column_type(st, 2) != SQLITE_INTEGER ||
		         fee != last->fees[k].fee_uper_kwh)
			FAIL_AT(a, where, "fees: fee %lld, the log (MARKET entry %llu) says %u",
			        (long long)fee, (unsigned long long)last->idx,
			        last->fees[k].fee_uper_kwh);
		table_differs(a, where, "fees");
	}
	sqlite3_finalize(st);
	for (size_t k = 0; k < last->n_fees && !a->r->fail.failed; k++)
		if (!matched[k]) {
			FAIL_AT(a, "database", "fees: no row for zones %s/%s of MARKET entry %llu",
			        last->fees[k].zone_a, last->fees[k].zone_b,
			        (unsigned long long)last->idx);
			table_differs(a, "database", "fees");
		}
}

static void
check_households(struct audit *a)
{
	char where[AUDIT_WHERE_LEN], who[AUDIT_LABEL_LEN];
	sqlite3_stmt *st = NULL;
	uint64_t row = 0;
	uint8_t *seen = calloc(a->n_hhs ? a->n_hhs : 1, 1);

	if (seen == NULL) {
		FAIL_AT(a, "database", "out of memory");
		return;
	}
	if (sqlite3_prepare_v2(a->db,
	                       "SELECT pk, id, name, serial, zone, max_export_w, max_import_w, "
	                       "revoked FROM households ORDER BY rowid",
	                       -1, &st, NULL) != SQLITE_OK) {
		FAIL_AT(a, "database", "reading table households: %s", sqlite3_errmsg(a->db));
		free(seen);
		return;
	}
	while (!a->r->fail.failed && sqlite3_step(st) == SQLITE_ROW) {
		const void *pk = sqlite3_column_blob(st, 0);
		struct hh *h = NULL;
		row++;
		if (pk != NULL && sqlite3_column_bytes(st, 0) == PW_PK_LEN)
			h = audit_hh_find(a, pk);
		if (h == NULL) {
			if (pk != NULL && sqlite3_column_bytes(st, 0) == PW_PK_LEN)
				audit_who(a, pk, who);
			else
				snprintf(who, sizeof(who), "a malformed key");
			snprintf(where, sizeof(where), "households row %llu (%s)",
			         (unsigned long long)row, who);
			FAIL_AT(a, where,
			        "households: a key no REGISTRY entry of the log registers");
			audit_plain(a,
			            "The exchange's table households (%s) admits a household the "
			            "registry in the log never registered.",
			            where);
			break;
		}
		snprintf(where, sizeof(where), "households row %llu (%s)", (unsigned long long)row,
		         h->label);
		size_t i = (size_t)(h - a->hhs);
		if (seen[i]++) {
			FAIL_AT(a, where, "households: the key of %s is listed twice", h->label);
			table_differs(a, where, "households");
			break;
		}
		char serial[PW_SERIAL_LEN + 1];
		pw_wire_text(serial, sizeof(serial), h->serial, PW_SERIAL_LEN);
		const struct {
			const char *col, *want;
		} t[] = { { "id", h->id },
			  { "name", h->name },
			  { "serial", serial },
			  { "zone", h->zone } };
		for (size_t k = 0; k < 4 && !a->r->fail.failed; k++) {
			const char *got = (const char *)sqlite3_column_text(st, (int)k + 1);
			if (got == NULL || strcmp(got, t[k].want) != 0)
				FAIL_AT(a, where,
				        "households: %s is '%.40s', REGISTRY entry %llu says '%s'",
				        t[k].col, got ? got : "NULL",
				        (unsigned long long)h->reg_idx, t[k].want);
		}
		const struct {
			const char *col;
			int64_t want;
		} n[] = { { "max_export_w", h->max_export_w },
			  { "max_import_w", h->max_import_w },
			  { "revoked", h->revoked } };
		for (size_t k = 0; k < 3 && !a->r->fail.failed; k++) {
			int c = (int)k + 5;
			if (sqlite3_column_type(st, c) != SQLITE_INTEGER ||
			    sqlite3_column_int64(st, c) != n[k].want)
				FAIL_AT(a, where,
				        "households: %s is %lld, REGISTRY entry %llu says %lld",
				        n[k].col, (long long)sqlite3_column_int64(st, c),
				        (unsigned long long)h->reg_idx, (long long)n[k].want);
		}
		table_differs(a, where, "households");
	}
	sqlite3_finalize(st);
	for (size_t i = 0; i < a->n_hhs && !a->r->fail.failed; i++)
		if (!seen[i]) {
			FAIL_AT(a, "database", "households: %s (REGISTRY entry %llu) has no row",
			        a->hhs[i].label, (unsigned long long)a->hhs[i].reg_idx);
			table_differs(a, "database", "households");
		}
	free(seen);
}

void
audit_rules_check_tables(struct audit *a)
{
	check_params(a);
	if (!a->r->fail.failed)
		check_fees(a);
	if (!a->r->fail.failed)
		check_households(a);
}

void
audit_rules_free(struct audit *a)
{
	free(a->rules);
	for (size_t i = 0; i < a->n_fee_tabs; i++)
		free(a->fee_tabs[i].pairs);
	free(a->fee_tabs);
	free(a->fee_slot);
	free(a->hhs);
	free(a->hh_by_pk);
}
