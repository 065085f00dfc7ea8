/*
 * audit_verify.c: peerwatt-audit's replay of an exchange database
 * (interface: audit/audit_verify.h; rules: docs/audit.md).
 *
 * The entry point and what frames the pass over the log: the market's
 * tables (params, households, fees) read and checked, then the pass
 * (audit_log.c: everything that depends on the order of entries), then
 * the per-interval completeness and balance, the checkpoints
 * (audit_cp.c) and the evidence (audit_evidence.c).  The first failure
 * stops the audit and is reported with the entry (or checkpoint, or file
 * line) it concerns.
 */
#include "audit/audit_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "peerwatt/money.h"

/* --- failures --------------------------------------------------------------- */

void
audit_fail(struct audit *a, uint64_t idx, const char *type, const char *where, const char *fmt, ...)
{
	struct audit_failure *f = &a->r->fail;
	va_list ap;

	if (f->failed)
		return;
	f->failed = 1;
	f->index = idx;
	snprintf(f->type, sizeof(f->type), "%s", type ? type : "");
	if (where)
		snprintf(f->where, sizeof(f->where), "%s", where);
	else if (idx != UINT64_MAX)
		snprintf(f->where, sizeof(f->where), "entry %llu", (unsigned long long)idx);
	else
		snprintf(f->where, sizeof(f->where), "database");
	va_start(ap, fmt);
	vsnprintf(f->reason, sizeof(f->reason), fmt, ap);
	va_end(ap);
}

/* --- small helpers ------------------------------------------------------------ */

pw_err
audit_grow(void **p, size_t *cap, size_t need, size_t elsz)
{
	if (need <= *cap)
		return PW_OK;
	if (need > AUDIT_MAX_ITEMS)
		return PW_ERR_FULL;
	size_t ncap = *cap ? *cap * 2 : 16;
	while (ncap < need)
		ncap *= 2;
	void *np = realloc(*p, ncap * elsz);
	if (np == NULL)
		return PW_ERR_NOMEM;
	*p = np;
	*cap = ncap;
	return PW_OK;
}

void
audit_hex8(const uint8_t *pk, char out[17])
{
	pw_hex_encode(pk, 8, out);
}

static int
hh_cmp(const void *a, const void *b)
{
	return memcmp(((const struct hh *)a)->pk, ((const struct hh *)b)->pk, PW_PK_LEN);
}

struct hh *
audit_hh_find(struct audit *a, const uint8_t pk[PW_PK_LEN])
{
	struct hh key = { 0 };
	memcpy(key.pk, pk, PW_PK_LEN);
	return bsearch(&key, a->hhs, a->n_hhs, sizeof(*a->hhs), hh_cmp);
}

const char *
audit_who(struct audit *a, const uint8_t pk[PW_PK_LEN], char out[AUDIT_LABEL_LEN])
{
	const struct hh *h = audit_hh_find(a, pk);
	if (h != NULL) {
		snprintf(out, AUDIT_LABEL_LEN, "%s", h->label);
	} else {
		char hex[17];
		audit_hex8(pk, hex);
		snprintf(out, AUDIT_LABEL_LEN, "unregistered key %s...", hex);
	}
	return out;
}

void
audit_plain(struct audit *a, const char *fmt, ...)
{
	struct audit_failure *f = &a->r->fail;
	va_list ap;

	if (!f->failed || f->plain[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(f->plain, sizeof(f->plain), fmt, ap);
	va_end(ap);
}

__int128
audit_start(const struct audit *a, uint64_t interval)
{
	return (__int128)interval * a->interval_s;
}

__int128
audit_gate(const struct audit *a, uint64_t interval)
{
	return audit_start(a, interval) - a->gate_s;
}

__int128
audit_deadline(const struct audit *a, uint64_t interval)
{
	return audit_start(a, interval) + a->interval_s + a->grace_s;
}

uint8_t *
audit_log_frame(struct audit *a, uint64_t idx, size_t *len)
{
	sqlite3_stmt *st;
	uint8_t *out = NULL;

	*len = 0;
	if (idx > (uint64_t)INT64_MAX)
		return NULL;
	if (a->frame_q == NULL && sqlite3_prepare_v2(a->db, "SELECT frame FROM log WHERE idx = ?1",
	                                             -1, &a->frame_q, NULL) != SQLITE_OK)
		return NULL;
	st = a->frame_q;
	sqlite3_reset(st);
	sqlite3_bind_int64(st, 1, (sqlite3_int64)idx);
	if (sqlite3_step(st) == SQLITE_ROW) {
		int n = sqlite3_column_bytes(st, 0);
		const void *b = sqlite3_column_blob(st, 0);
		if (b != NULL && n > 0 && (size_t)n <= PW_WIRE_MAX_LEN &&
		    (out = malloc((size_t)n)) != NULL) {
			memcpy(out, b, (size_t)n);
			*len = (size_t)n;
		}
	}
	sqlite3_reset(st);
	return out;
}

struct ivl *
audit_ivl_find(struct audit *a, uint64_t interval, size_t *pos)
{
	size_t lo = 0, hi = a->n_ivls;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (a->ivls[mid]->interval < interval)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (pos)
		*pos = lo;
	return lo < a->n_ivls && a->ivls[lo]->interval == interval ? a->ivls[lo] : NULL;
}

pw_err
audit_ivl_get(struct audit *a, uint64_t interval, struct ivl **out)
{
	size_t pos;
	pw_err rc;

	if ((*out = audit_ivl_find(a, interval, &pos)) != NULL)
		return PW_OK;
	if ((rc = audit_grow((void **)&a->ivls, &a->cap_ivls, a->n_ivls + 1, sizeof(*a->ivls))) !=
	    PW_OK)
		return rc;
	struct ivl *v = calloc(1, sizeof(*v));
	if (v == NULL)
		return PW_ERR_NOMEM;
	v->interval = interval;
	v->first_order_idx = v->result_first_idx = v->first_stmt_idx = UINT64_MAX;
	memmove(a->ivls + pos + 1, a->ivls + pos, (a->n_ivls - pos) * sizeof(*a->ivls));
	a->ivls[pos] = v;
	a->n_ivls++;
	*out = v;
	return PW_OK;
}

static void
ivl_free(struct ivl *v)
{
	free(v->orders);
	free(v->trades);
	free(v->readings);
	free(v->stmts);
	free(v);
}

/* --- database tables ------------------------------------------------------------- */

#define PRICE_MAX  4000000000LL /* the exchange's bound on tariffs and fees */
#define POWER_MAX  1000000000LL /* the registry's bound on max_export_w, max_import_w */
#define LEN_MAX    86400        /* interval_s, gate_s, grace_s */
#define AHEAD_MAX  (7 * 86400)  /* max_ahead_s */
#define NAME_MAX_C 31           /* market_name: the exchange's config allows 1..31 */

/* An integer param in [lo, hi], else a failure naming it. */
static int
int_param(struct audit *a, sqlite3_stmt *st, const char *key, int64_t lo, int64_t hi, int64_t *out)
{
	sqlite3_int64 v = sqlite3_column_int64(st, 1);
	if (sqlite3_column_type(st, 1) != SQLITE_INTEGER || v < lo || v > hi) {
		FAIL_AT(a, "database", "params: %s is not an integer in %lld..%lld", key,
		        (long long)lo, (long long)hi);
		audit_plain(a,
		            "The market parameter %s stored with the database is missing or out of "
		            "the range the exchange accepts, so the market's rules are unknown.",
		            key);
		return 0;
	}
	*out = v;
	return 1;
}

static int
printable(const char *s, size_t lo, size_t hi)
{
	size_t n = s ? strlen(s) : 0;
	if (n < lo || n > hi)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x21 || s[i] > 0x7e)
			return 0;
	return 1;
}

static pw_err
load_params(struct audit *a)
{
	static const char *const keys[] = { "market_id",
		                            "market_name",
		                            "interval_s",
		                            "gate_s",
		                            "grace_s",
		                            "feedin_uper_kwh",
		                            "retail_uper_kwh",
		                            "exchange_pk",
		                            "max_ahead_s",
		                            "fee_same_zone_uper_kwh",
		                            "fee_default_uper_kwh" };
	enum { N_REQUIRED = 8, N_KEYS = sizeof(keys) / sizeof(keys[0]) };
	struct audit_report *r = a->r;
	sqlite3_stmt *st = NULL;
	int seen[N_KEYS] = { 0 };
	int64_t v = 0;

	if (sqlite3_prepare_v2(a->db, "SELECT key, value FROM params ORDER BY rowid", -1, &st,
	                       NULL) != SQLITE_OK) {
		FAIL_AT(a, "database", "no table params: %s", sqlite3_errmsg(a->db));
		return PW_OK;
	}
	r->max_ahead_s = -1;
	while (sqlite3_step(st) == SQLITE_ROW && !r->fail.failed) {
		const char *key = (const char *)sqlite3_column_text(st, 0);
		size_t k = 0;
		while (key != NULL && k < N_KEYS && strcmp(key, keys[k]) != 0)
			k++;
		if (key == NULL || k == N_KEYS)
			continue; /* a parameter this audit does not use */
		if (seen[k]++) {
			FAIL_AT(a, "database", "params: %s is stored twice", key);
			audit_plain(a,
			            "The market parameter %s is stored twice with different rows: "
			            "which one the exchange used cannot be known.",
			            key);
			break;
		}
		switch (k) {
		case 0:
			if (int_param(a, st, key, 1, INT64_MAX, &v))
				r->market_id = (uint64_t)v;
			break;
		case 1: {
			const char *t = (const char *)sqlite3_column_text(st, 1);
			if (!printable(t, 1, NAME_MAX_C))
				FAIL_AT(a, "database",
				        "params: market_name is not 1..%d printable characters",
				        NAME_MAX_C);
			else
				snprintf(r->market_name, sizeof(r->market_name), "%s", t);
			break;
		}
		case 2:
			if (int_param(a, st, key, 1, LEN_MAX, &v))
				a->interval_s = v;
			break;
		case 3:
			if (int_param(a, st, key, 0, LEN_MAX, &v))
				a->gate_s = v;
			break;
		case 4:
			if (int_param(a, st, key, 0, LEN_MAX, &v))
				a->grace_s = v;
			break;
		case 5:
			if (int_param(a, st, key, 0, PRICE_MAX, &v))
				a->feedin_uper_kwh = (uint32_t)v;
			break;
		case 6:
			if (int_param(a, st, key, 0, PRICE_MAX, &v))
				a->retail_uper_kwh = (uint32_t)v;
			break;
		case 7: {
			const char *t = (const char *)sqlite3_column_text(st, 1);
			if (t == NULL || strlen(t) != 2 * PW_PK_LEN ||
			    pw_hex_decode(t, r->exchange_pk, PW_PK_LEN) != PW_OK)
				FAIL_AT(a, "database", "params: exchange_pk is not 64 hex digits");
			break;
		}
		case 8:
			if (int_param(a, st, key, 0, AHEAD_MAX, &v))
				a->max_ahead_s = r->max_ahead_s = v;
			break;
		case 9:
			if ((a->have_fee_same = int_param(a, st, key, 0, PRICE_MAX, &v)))
				a->fee_same_uper_kwh = (uint32_t)v;
			break;
		default:
			if ((a->have_fee_default = int_param(a, st, key, 0, PRICE_MAX, &v)))
				a->fee_default_uper_kwh = (uint32_t)v;
			break;
		}
	}
	sqlite3_finalize(st);
	if (r->fail.failed)
		return PW_OK;
	for (size_t k = 0; k < N_REQUIRED; k++)
		if (!seen[k]) {
			FAIL_AT(a, "database", "params: %s is missing", keys[k]);
			audit_plain(a,
			            "The database does not state the market parameter %s, so the "
			            "market's rules are unknown.",
			            keys[k]);
			return PW_OK;
		}
	/* the exchange's own cross-key rules (exchange/xconfig.c) */
	if (a->gate_s >= a->interval_s)
		FAIL_AT(a, "database", "params: gate_s %lld is not below interval_s %lld",
		        (long long)a->gate_s, (long long)a->interval_s);
	else if (a->feedin_uper_kwh > a->retail_uper_kwh)
		FAIL_AT(a, "database", "params: feedin_uper_kwh %u is above retail_uper_kwh %u",
		        a->feedin_uper_kwh, a->retail_uper_kwh);
	else if (r->max_ahead_s >= 0 && r->max_ahead_s < a->gate_s + a->interval_s)
		FAIL_AT(a, "database", "params: max_ahead_s %lld is below gate_s + interval_s",
		        (long long)r->max_ahead_s);
	audit_plain(a, "The market parameters stored with the database break the exchange's own "
	               "rules, so the market could not have run on them.");
	r->have_params = 1;
	r->interval_s = a->interval_s;
	r->gate_s = a->gate_s;
	r->grace_s = a->grace_s;
	r->feedin_uper_kwh = a->feedin_uper_kwh;
	r->retail_uper_kwh = a->retail_uper_kwh;
	r->have_fee_same = a->have_fee_same;
	r->fee_same_uper_kwh = a->fee_same_uper_kwh;
	r->have_fee_default = a->have_fee_default;
	r->fee_default_uper_kwh = a->fee_default_uper_kwh;
	return PW_OK;
}

static pw_err
load_households(struct audit *a)
{
	sqlite3_stmt *st = NULL;
	size_t cap = 0;
	pw_err rc = PW_OK;

	if (sqlite3_prepare_v2(a->db,
	                       "SELECT pk, id, name, zone, serial, max_export_w, max_import_w "
	                       "FROM households ORDER BY rowid",
	                       -1, &st, NULL) != SQLITE_OK) {
		FAIL_AT(a, "database", "no table households: %s", sqlite3_errmsg(a->db));
		return PW_OK;
	}
	while (sqlite3_step(st) == SQLITE_ROW) {
		const void *pk = sqlite3_column_blob(st, 0);
		const char *id = (const char *)sqlite3_column_text(st, 1);
		const char *name = (const char *)sqlite3_column_text(st, 2);
		const char *zone = (const char *)sqlite3_column_text(st, 3);
		const char *serial = (const char *)sqlite3_column_text(st, 4);
		sqlite3_int64 ex = sqlite3_column_int64(st, 5), im = sqlite3_column_int64(st, 6);
		if (pk == NULL || sqlite3_column_bytes(st, 0) != PW_PK_LEN ||
		    !printable(id, 1, 31) || name == NULL || strlen(name) > 64 ||
		    !printable(zone, 1, SETTLE_ZONE_MAX - 1) ||
		    !printable(serial, 1, PW_SERIAL_LEN) ||
		    sqlite3_column_type(st, 5) != SQLITE_INTEGER ||
		    sqlite3_column_type(st, 6) != SQLITE_INTEGER || ex < 0 || ex > POWER_MAX ||
		    im < 0 || im > POWER_MAX) {
			FAIL_AT(a, "database", "households: malformed row %zu", a->n_hhs + 1);
			audit_plain(a,
			            "A household in the registry stored with the database is "
			            "malformed (key, id, zone, serial or capacity out of range).");
			break;
		}
		if ((rc = audit_grow((void **)&a->hhs, &cap, a->n_hhs + 1, sizeof(*a->hhs))) !=
		    PW_OK)
			break;
		struct hh *h = &a->hhs[a->n_hhs++];
		memset(h, 0, sizeof(*h));
		memcpy(h->pk, pk, PW_PK_LEN);
		if (name[0] == '\0' || strcmp(name, id) == 0)
			snprintf(h->label, sizeof(h->label), "%s", id);
		else
			snprintf(h->label, sizeof(h->label), "%.48s (%.28s)", name, id);
		memcpy(h->zone, zone, strlen(zone));
		memcpy(h->serial, serial, strlen(serial));
		h->max_export_w = ex;
		h->max_import_w = im;
	}
	sqlite3_finalize(st);
	if (rc != PW_OK || a->r->fail.failed)
		return rc;
	qsort(a->hhs, a->n_hhs, sizeof(*a->hhs), hh_cmp);
	for (size_t i = 1; i < a->n_hhs && !a->r->fail.failed; i++)
		if (memcmp(a->hhs[i - 1].pk, a->hhs[i].pk, PW_PK_LEN) == 0) {
			FAIL_AT(a, "database", "households: the key of %s is listed twice",
			        a->hhs[i].label);
			audit_plain(
			    a,
			    "The registry lists one household key twice: which zone, serial "
			    "and capacities the exchange used for %s cannot be known.",
			    a->hhs[i].label);
		}
	a->r->households = a->n_hhs;
	return PW_OK;
}

/* Fee table: a pair row (either order) wins, else the same-zone fee for
 * equal zones, else the default (settle_fee_lookup()).  Two rows for one
 * unordered pair are refused whatever their fees: no row order decides. */
static pw_err
load_fees(struct audit *a)
{
	struct audit_report *r = a->r;
	sqlite3_stmt *st = NULL;
	size_t cap = 0;
	pw_err rc = PW_OK;

	if (sqlite3_prepare_v2(a->db,
	                       "SELECT zone_a, zone_b, fee_uper_kwh FROM fees ORDER BY rowid", -1,
	                       &st, NULL) == SQLITE_OK) {
		while (sqlite3_step(st) == SQLITE_ROW) {
			const char *za = (const char *)sqlite3_column_text(st, 0);
			const char *zb = (const char *)sqlite3_column_text(st, 1);
			sqlite3_int64 fee = sqlite3_column_int64(st, 2);
			if (!printable(za, 1, SETTLE_ZONE_MAX - 1) ||
			    !printable(zb, 1, SETTLE_ZONE_MAX - 1) ||
			    sqlite3_column_type(st, 2) != SQLITE_INTEGER || fee < 0 ||
			    fee > PRICE_MAX) {
				FAIL_AT(a, "database", "fees: malformed row %zu", a->n_fees + 1);
				break;
			}
			for (size_t i = 0; i < a->n_fees; i++) {
				const struct settle_fee *f = &a->fees[i];
				if ((strcmp(f->zone_a, za) == 0 && strcmp(f->zone_b, zb) == 0) ||
				    (strcmp(f->zone_a, zb) == 0 && strcmp(f->zone_b, za) == 0)) {
					FAIL_AT(a, "database",
					        "fees: zones %s/%s listed twice (rows %zu and %zu)",
					        za, zb, i + 1, a->n_fees + 1);
					audit_plain(
					    a,
					    "The fee table lists the zone pair %s/%s twice: "
					    "which fee the exchange charged cannot be known.",
					    za, zb);
					break;
				}
			}
			if (r->fail.failed)
				break;
			if ((rc = audit_grow((void **)&a->fees, &cap, a->n_fees + 1,
			                     sizeof(*a->fees))) != PW_OK)
				break;
			struct settle_fee *f = &a->fees[a->n_fees++];
			memset(f, 0, sizeof(*f));
			memcpy(f->zone_a, za, strlen(za));
			memcpy(f->zone_b, zb, strlen(zb));
			f->fee_uper_kwh = (uint32_t)fee;
			if (r->n_fee_rows < AUDIT_MAX_FEE_ROWS) {
				snprintf(r->fee_rows[r->n_fee_rows].zone_a, 32, "%s", za);
				snprintf(r->fee_rows[r->n_fee_rows].zone_b, 32, "%s", zb);
				r->fee_rows[r->n_fee_rows].fee_uper_kwh = (uint32_t)fee;
			}
			r->n_fee_rows++;
		}
	}
	sqlite3_finalize(st); /* no fee table: only same-zone and default fees */
	a->feetab.pairs = a->fees;
	a->feetab.n_pairs = a->n_fees;
	a->feetab.same_zone_uper_kwh = a->fee_same_uper_kwh;
	a->feetab.default_uper_kwh = a->fee_default_uper_kwh;
	return rc;
}

/* Whether `name` is a table of the database. */
static int
has_table(sqlite3 *db, const char *name)
{
	sqlite3_stmt *st = NULL;
	int found = 0;
	if (sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1",
	                       -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
		found = sqlite3_step(st) == SQLITE_ROW;
	}
	sqlite3_finalize(st);
	return found;
}

/* An exchange database has its log, params and households; say plainly
 * what else it is when it is not one. */
static int
is_exchange_db(struct audit *a)
{
	if (has_table(a->db, "log") && has_table(a->db, "params") && has_table(a->db, "households"))
		return 1;
	if (has_table(a->db, "outbox") || has_table(a->db, "prices")) {
		FAIL_AT(a, "database", "no table log: an agent's database (tables outbox, prices)");
		audit_plain(a, "This is not an exchange database: it is a household agent's "
		               "database. Give the exchange's database first; an agent's "
		               "database is evidence, given after --agent.");
	} else {
		FAIL_AT(a, "database", "no table log, params or households");
		audit_plain(a, "This is not an exchange database: it has no log, market "
		               "parameters or household registry.");
	}
	return 0;
}

/* --- after the pass: completeness and balance of every interval ------------------- */

static void
check_interval(struct audit *a, struct ivl *v)
{
	struct audit_report *r = a->r;
	char where[64], who[AUDIT_LABEL_LEN];

	snprintf(where, sizeof(where), "interval %llu", (unsigned long long)v->interval);
	if (v->next_part > 0 && !v->cleared) {
		audit_fail(a, v->result_idx, "RESULT", NULL,
		           "interval %llu: only %u of %u RESULT parts logged",
		           (unsigned long long)v->interval, v->next_part, v->parts);
		audit_plain(a, "The clearing result of interval %llu is incomplete in the log.",
		            (unsigned long long)v->interval);
		return;
	}
	if (v->n_orders > 0 && v->next_part == 0)
		r->intervals_open++;
	if (v->n_stmts == 0)
		return;
	uint64_t first = v->first_stmt_idx;
	/* every party of a trade and every household whose reading was logged
	 * before the settlement has its statement */
	for (size_t i = 0; i < v->n_trades + v->n_readings; i++) {
		const uint8_t *pks[2];
		int n = 0;
		if (i < v->n_trades) {
			pks[n++] = v->trades[i].buyer;
			pks[n++] = v->trades[i].seller;
		} else {
			const struct areading *rd = &v->readings[i - v->n_trades];
			if (rd->idx > first)
				continue; /* arrived after settlement: not settled, by rule */
			pks[n++] = a->hhs[rd->hh].pk;
		}
		for (int k = 0; k < n; k++) {
			int found = 0;
			for (size_t j = 0; j < v->n_stmts && !found; j++)
				found = memcmp(a->hhs[v->stmts[j].hh].pk, pks[k], PW_PK_LEN) == 0;
			if (found)
				continue;
			audit_who(a, pks[k], who);
			audit_fail(a, first, "STATEMENT", NULL,
			           "interval %llu: %s %s but has no statement",
			           (unsigned long long)v->interval, who,
			           i < v->n_trades ? "traded"
			                           : "sent a reading before the settlement");
			audit_plain(
			    a,
			    "The exchange settled interval %llu without a statement for %s, "
			    "who %s: a household's settlement was left out.",
			    (unsigned long long)v->interval, who,
			    i < v->n_trades ? "traded in it" : "sent a meter reading for it");
			return;
		}
	}
	struct pw_statement *sts = calloc(v->n_stmts, sizeof(*sts));
	struct settle_totals t;
	if (sts == NULL) {
		FAIL_AT(a, where, "out of memory");
		return;
	}
	for (size_t j = 0; j < v->n_stmts; j++)
		sts[j] = v->stmts[j].st;
	pw_err rc = settle_totals(sts, v->n_stmts, &t);
	free(sts);
	uint64_t last = v->stmts[v->n_stmts - 1].idx;
	if (rc != PW_OK) {
		audit_fail(
		    a, last, "STATEMENT", NULL,
		    "interval %llu: statements do not balance (%s): peer paid %lld, received "
		    "%lld",
		    (unsigned long long)v->interval, pw_strerror(rc), (long long)t.peer_paid_u,
		    (long long)t.peer_received_u);
		audit_plain(a,
		            "The statements of interval %llu do not add up: money paid and "
		            "received between neighbours differ.",
		            (unsigned long long)v->interval);
		return;
	}
	if (t.sold_wh != v->volume_wh || t.bought_wh != v->volume_wh) {
		audit_fail(
		    a, last, "STATEMENT", NULL,
		    "interval %llu: statements sell %llu Wh and buy %llu Wh, the RESULT %llu Wh",
		    (unsigned long long)v->interval, (unsigned long long)t.sold_wh,
		    (unsigned long long)t.bought_wh, (unsigned long long)v->volume_wh);
		audit_plain(a,
		            "The statements of interval %llu settle another amount of energy "
		            "than the auction traded.",
		            (unsigned long long)v->interval);
		return;
	}
	if (pw_money_add(r->peer_paid_u, t.peer_paid_u, &r->peer_paid_u) != PW_OK ||
	    pw_money_add(r->peer_received_u, t.peer_received_u, &r->peer_received_u) != PW_OK ||
	    pw_money_add(r->fee_u, t.fee_u, &r->fee_u) != PW_OK ||
	    pw_money_add(r->grid_account_u, t.grid_account_u, &r->grid_account_u) != PW_OK ||
	    pw_money_add(r->net_u, t.net_u, &r->net_u) != PW_OK) {
		FAIL_AT(a, where, "money totals overflow");
		return;
	}
	r->intervals_settled++;
}

/* --- entry point ---------------------------------------------------------------------- */

pw_err
audit_verify(sqlite3 *db, const struct audit_options *opt, struct audit_report *r)
{
	static const struct audit_options none = { 0 };
	struct audit a;
	pw_err rc = PW_OK;

	if (opt == NULL)
		opt = &none;
	if (db == NULL || r == NULL || (opt->n_files > 0 && opt->files == NULL) ||
	    (opt->n_agents > 0 && opt->agents == NULL))
		return PW_ERR_ARG;
	memset(r, 0, sizeof(*r));
	memset(&a, 0, sizeof(a));
	a.db = db;
	a.r = r;
	a.opt = opt;
	merkle_range_init(&a.range);

	if (opt->wal_beside)
		r->warnings |= AUDIT_WARN_WAL;
	if (opt->n_files == 0)
		r->warnings |= AUDIT_WARN_NO_FILES;
	if (opt->n_agents == 0)
		r->warnings |= AUDIT_WARN_NO_EVIDENCE;
	if (!is_exchange_db(&a))
		goto out;
	if ((rc = load_params(&a)) != PW_OK || r->fail.failed)
		goto out;
	if (opt->pinned_pk != NULL) {
		if (memcmp(opt->pinned_pk, r->exchange_pk, PW_PK_LEN) != 0) {
			FAIL_AT(&a, "database", "params: exchange_pk is not the pinned key");
			audit_plain(&a,
			            "The database names another exchange key than the one given "
			            "with --exchange-key: its history may have been re-signed "
			            "under a new key.");
			goto out;
		}
		r->key_source = AUDIT_KEY_PINNED;
	}
	if ((rc = load_households(&a)) != PW_OK || r->fail.failed)
		goto out;
	if ((rc = load_fees(&a)) != PW_OK || r->fail.failed)
		goto out;
	if ((rc = audit_cp_load_db(&a)) != PW_OK || r->fail.failed)
		goto out;
	for (size_t i = 0; i < opt->n_files; i++)
		if ((rc = audit_cp_load_file(&a, opt->files[i])) != PW_OK || r->fail.failed)
			goto out;
	if ((rc = audit_evidence_load_checkpoints(&a)) != PW_OK || r->fail.failed)
		goto out;
	if ((rc = audit_cp_index(&a)) != PW_OK)
		goto out;
	if ((rc = audit_log_scan(&a)) != PW_OK || r->fail.failed)
		goto out;
	for (size_t i = 0; i < a.n_ivls && !r->fail.failed; i++)
		check_interval(&a, a.ivls[i]);
	if (r->fail.failed)
		goto out;
	struct cp *prev = NULL;
	for (size_t i = 0; i < a.n_db_cps && !r->fail.failed; i++) {
		audit_cp_check(&a, &a.cps[i], 1, &prev);
		r->checkpoints_db++;
	}
	if (prev != NULL) {
		r->have_checkpoint = 1;
		r->checkpoint_size = prev->msg.u.checkpoint.tree_size;
		memcpy(r->checkpoint_root, prev->msg.u.checkpoint.root, PW_HASH_LEN);
	}
	for (size_t i = a.n_db_cps; i < a.n_cps && !r->fail.failed; i++) {
		struct cp *latest = prev;
		audit_cp_check(&a, &a.cps[i], 0, &latest);
		r->checkpoints_files++;
	}
	if (r->fail.failed)
		goto out;
	audit_time_check(&a);
	if (r->fail.failed)
		goto out;
	audit_served_check(&a);
	if (r->fail.failed)
		goto out;
	if ((rc = audit_evidence_check(&a)) != PW_OK)
		goto out;
out:
	if (r->key_source == AUDIT_KEY_FROM_DB && !r->fail.failed &&
	    (r->checkpoints_files > 0 ||
	     r->ev_acks + r->ev_rejects + r->ev_statements + r->ev_checkpoints > 0))
		r->key_source = AUDIT_KEY_WITNESSED;
	if (r->key_source == AUDIT_KEY_FROM_DB)
		r->warnings |= AUDIT_WARN_UNPINNED;
	if (r->ev_checkpoints > 0) /* agents' databases hold their checkpoints */
		r->warnings &= ~AUDIT_WARN_NO_FILES;
	if (!r->have_checkpoint)
		r->warnings |= AUDIT_WARN_NO_CHECKPOINT;
	r->after_checkpoint = r->entries > r->checkpoint_size
	                          ? r->entries - (r->have_checkpoint ? r->checkpoint_size : 0)
	                          : 0;
	if (r->after_checkpoint > 0)
		r->warnings |= AUDIT_WARN_AFTER_CP;
	sqlite3_finalize(a.frame_q);
	for (size_t i = 0; i < a.n_ivls; i++)
		ivl_free(a.ivls[i]);
	free(a.ivls);
	free(a.ents);
	free(a.hhs);
	free(a.fees);
	free(a.cps);
	free(a.by_size);
	for (unsigned l = 0; l < MERKLE_MAX_LEVELS; l++)
		free(a.lv[l]);
	return rc;
}
