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

/* max power x L in Wh, rounded up (the lenient reading of docs/market.md). */
uint64_t
audit_energy_cap_wh(int64_t power_w, int64_t interval_s)
{
	if (power_w <= 0 || interval_s <= 0)
		return 0;
	return ((uint64_t)power_w * (uint64_t)interval_s + 3599u) / 3600u;
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

static int
read_u32_param(struct audit *a, sqlite3_stmt *st, const char *key, uint32_t *out)
{
	sqlite3_int64 v = sqlite3_column_int64(st, 1);
	if (sqlite3_column_type(st, 1) != SQLITE_INTEGER || v < 0 || v > UINT32_MAX) {
		FAIL_AT(a, "database", "params: %s is not an integer in 0..%u", key, UINT32_MAX);
		return 0;
	}
	*out = (uint32_t)v;
	return 1;
}

static pw_err
load_params(struct audit *a)
{
	sqlite3_stmt *st = NULL;
	unsigned seen = 0;
	enum {
		P_ID = 1,
		P_NAME = 2,
		P_L = 4,
		P_FEEDIN = 8,
		P_RETAIL = 16,
		P_PK = 32,
		P_GATE = 64,
		P_ALL = 127
	};

	if (sqlite3_prepare_v2(a->db, "SELECT key, value FROM params", -1, &st, NULL) !=
	    SQLITE_OK) {
		FAIL_AT(a, "database", "no table params: %s", sqlite3_errmsg(a->db));
		return PW_OK;
	}
	while (sqlite3_step(st) == SQLITE_ROW && !a->r->fail.failed) {
		const char *key = (const char *)sqlite3_column_text(st, 0);
		if (key == NULL)
			continue;
		if (strcmp(key, "market_id") == 0 && sqlite3_column_type(st, 1) == SQLITE_INTEGER) {
			a->r->market_id = (uint64_t)sqlite3_column_int64(st, 1);
			seen |= P_ID;
		} else if (strcmp(key, "market_name") == 0) {
			const char *v = (const char *)sqlite3_column_text(st, 1);
			if (v == NULL || strlen(v) == 0 || strlen(v) > PW_ORIGIN_LEN)
				FAIL_AT(a, "database", "params: market_name missing or too long");
			else
				snprintf(a->r->market_name, sizeof(a->r->market_name), "%s", v);
			seen |= P_NAME;
		} else if (strcmp(key, "interval_s") == 0) {
			a->interval_s = sqlite3_column_int64(st, 1);
			if (a->interval_s <= 0 || a->interval_s > 86400 * 7)
				FAIL_AT(a, "database", "params: interval_s out of range");
			seen |= P_L;
		} else if (strcmp(key, "gate_s") == 0) {
			a->gate_s = sqlite3_column_int64(st, 1);
			if (a->gate_s < 0 || a->gate_s > 86400 * 7)
				FAIL_AT(a, "database", "params: gate_s out of range");
			seen |= P_GATE;
		} else if (strcmp(key, "feedin_uper_kwh") == 0) {
			if (read_u32_param(a, st, key, &a->feedin_uper_kwh))
				seen |= P_FEEDIN;
		} else if (strcmp(key, "retail_uper_kwh") == 0) {
			if (read_u32_param(a, st, key, &a->retail_uper_kwh))
				seen |= P_RETAIL;
		} else if (strcmp(key, "fee_same_zone_uper_kwh") == 0) {
			a->have_fee_same = read_u32_param(a, st, key, &a->fee_same_uper_kwh);
		} else if (strcmp(key, "fee_default_uper_kwh") == 0) {
			a->have_fee_default = read_u32_param(a, st, key, &a->fee_default_uper_kwh);
		} else if (strcmp(key, "exchange_pk") == 0) {
			const char *v = (const char *)sqlite3_column_text(st, 1);
			if (v == NULL || strlen(v) != 2 * PW_PK_LEN ||
			    pw_hex_decode(v, a->r->exchange_pk, PW_PK_LEN) != PW_OK)
				FAIL_AT(a, "database", "params: exchange_pk is not 64 hex digits");
			seen |= P_PK;
		}
	}
	sqlite3_finalize(st);
	if (!a->r->fail.failed && (seen & P_ALL) != P_ALL)
		FAIL_AT(a, "database",
		        "params: missing one of market_id, market_name, interval_s, gate_s, "
		        "feedin_uper_kwh, retail_uper_kwh, exchange_pk");
	return PW_OK;
}

static pw_err
load_households(struct audit *a)
{
	sqlite3_stmt *st = NULL;
	size_t cap = 0;
	pw_err rc = PW_OK;

	if (sqlite3_prepare_v2(
	        a->db, "SELECT pk, zone, serial, max_export_w, max_import_w FROM households", -1,
	        &st, NULL) != SQLITE_OK) {
		FAIL_AT(a, "database", "no table households: %s", sqlite3_errmsg(a->db));
		return PW_OK;
	}
	while (sqlite3_step(st) == SQLITE_ROW) {
		const void *pk = sqlite3_column_blob(st, 0);
		const char *zone = (const char *)sqlite3_column_text(st, 1);
		const char *serial = (const char *)sqlite3_column_text(st, 2);
		if (pk == NULL || sqlite3_column_bytes(st, 0) != PW_PK_LEN || zone == NULL ||
		    strlen(zone) >= SETTLE_ZONE_MAX || serial == NULL ||
		    strlen(serial) > PW_SERIAL_LEN) {
			FAIL_AT(a, "database", "households: malformed row %zu", a->n_hhs + 1);
			break;
		}
		if ((rc = audit_grow((void **)&a->hhs, &cap, a->n_hhs + 1, sizeof(*a->hhs))) !=
		    PW_OK)
			break;
		struct hh *h = &a->hhs[a->n_hhs++];
		memset(h, 0, sizeof(*h));
		memcpy(h->pk, pk, PW_PK_LEN);
		memcpy(h->zone, zone, strlen(zone));
		memcpy(h->serial, serial, strlen(serial));
		h->max_export_w = sqlite3_column_int64(st, 3);
		h->max_import_w = sqlite3_column_int64(st, 4);
	}
	sqlite3_finalize(st);
	if (rc != PW_OK)
		return rc;
	qsort(a->hhs, a->n_hhs, sizeof(*a->hhs), hh_cmp);
	for (size_t i = 1; i < a->n_hhs && !a->r->fail.failed; i++)
		if (memcmp(a->hhs[i - 1].pk, a->hhs[i].pk, PW_PK_LEN) == 0)
			FAIL_AT(a, "database", "households: a key is listed twice");
	a->r->households = a->n_hhs;
	return PW_OK;
}

/* Fee table: the exchange's pair entries (first match wins), else the
 * same-zone fee, else the default (settle_fee_lookup()). */
static pw_err
load_fees(struct audit *a)
{
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
			if (za == NULL || zb == NULL || strlen(za) >= SETTLE_ZONE_MAX ||
			    strlen(zb) >= SETTLE_ZONE_MAX || fee < 0 || fee > UINT32_MAX) {
				FAIL_AT(a, "database", "fees: malformed row");
				break;
			}
			if ((rc = audit_grow((void **)&a->fees, &cap, a->n_fees + 1,
			                     sizeof(*a->fees))) != PW_OK)
				break;
			struct settle_fee *f = &a->fees[a->n_fees++];
			memset(f, 0, sizeof(*f));
			memcpy(f->zone_a, za, strlen(za));
			memcpy(f->zone_b, zb, strlen(zb));
			f->fee_uper_kwh = (uint32_t)fee;
		}
	}
	sqlite3_finalize(st); /* no fee table: only same-zone and default fees */
	a->feetab.pairs = a->fees;
	a->feetab.n_pairs = a->n_fees;
	a->feetab.same_zone_uper_kwh = a->fee_same_uper_kwh;
	a->feetab.default_uper_kwh = a->fee_default_uper_kwh;
	return rc;
}

/* --- after the pass: completeness and balance of every interval ------------------- */

static void
check_interval(struct audit *a, struct ivl *v)
{
	struct audit_report *r = a->r;
	char where[64];

	snprintf(where, sizeof(where), "interval %llu", (unsigned long long)v->interval);
	if (v->next_part > 0 && !v->cleared) {
		audit_fail(a, v->result_idx, "RESULT", NULL,
		           "interval %llu: only %u of %u RESULT parts logged",
		           (unsigned long long)v->interval, v->next_part, v->parts);
		return;
	}
	if (v->n_orders > 0 && v->next_part == 0)
		r->intervals_open++;
	if (v->n_stmts == 0)
		return;
	uint64_t last = v->stmts[v->n_stmts - 1].idx;
	/* every party of a trade has its statement */
	for (size_t i = 0; i < v->n_trades; i++) {
		const uint8_t *pks[2] = { v->trades[i].buyer, v->trades[i].seller };
		for (int k = 0; k < 2; k++) {
			int found = 0;
			for (size_t j = 0; j < v->n_stmts && !found; j++)
				found = memcmp(a->hhs[v->stmts[j].hh].pk, pks[k], PW_PK_LEN) == 0;
			if (!found) {
				char id[17];
				audit_hex8(pks[k], id);
				audit_fail(a, last, "STATEMENT", NULL,
				           "interval %llu: %s traded but has no statement",
				           (unsigned long long)v->interval, id);
				return;
			}
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
	if (rc != PW_OK) {
		audit_fail(
		    a, last, "STATEMENT", NULL,
		    "interval %llu: statements do not balance (%s): peer paid %lld, received "
		    "%lld",
		    (unsigned long long)v->interval, pw_strerror(rc), (long long)t.peer_paid_u,
		    (long long)t.peer_received_u);
		return;
	}
	if (t.sold_wh != v->volume_wh || t.bought_wh != v->volume_wh) {
		audit_fail(
		    a, last, "STATEMENT", NULL,
		    "interval %llu: statements sell %llu Wh and buy %llu Wh, the RESULT %llu Wh",
		    (unsigned long long)v->interval, (unsigned long long)t.sold_wh,
		    (unsigned long long)t.bought_wh, (unsigned long long)v->volume_wh);
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
audit_verify(sqlite3 *db, const char *const *files, size_t n_files, struct audit_report *r)
{
	struct audit a;
	pw_err rc = PW_OK;

	if (db == NULL || r == NULL || (n_files > 0 && files == NULL))
		return PW_ERR_ARG;
	memset(r, 0, sizeof(*r));
	memset(&a, 0, sizeof(a));
	a.db = db;
	a.r = r;
	merkle_range_init(&a.range);

	if ((rc = load_params(&a)) != PW_OK || r->fail.failed)
		goto out;
	if ((rc = load_households(&a)) != PW_OK || r->fail.failed)
		goto out;
	if ((rc = load_fees(&a)) != PW_OK || r->fail.failed)
		goto out;
	if ((rc = audit_cp_load_db(&a)) != PW_OK || r->fail.failed)
		goto out;
	for (size_t i = 0; i < n_files; i++)
		if ((rc = audit_cp_load_file(&a, files[i])) != PW_OK || r->fail.failed)
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
out:
	for (size_t i = 0; i < a.n_ivls; i++)
		ivl_free(a.ivls[i]);
	free(a.ivls);
	free(a.hhs);
	free(a.fees);
	free(a.cps);
	free(a.by_size);
	for (unsigned l = 0; l < MERKLE_MAX_LEVELS; l++)
		free(a.lv[l]);
	return rc;
}
