/*
 * audit_verify.c: peerwatt-audit's replay of an exchange database
 * (interface: audit/audit_verify.h; rules: docs/audit.md).
 *
 * The entry point and what frames the pass over the log: the market's
 * first MARKET entry (audit_rules.c), then the pass (audit_log.c:
 * everything that depends on the order of entries), then the
 * per-interval completeness and balance, the checkpoints (audit_cp.c),
 * the exchange's caches of rules and registry (audit_rules.c) and the
 * served tables and evidence (audit_evidence.c).  The first failure
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

const char *
audit_who(struct audit *a, const uint8_t pk[PW_PK_LEN], char out[AUDIT_LABEL_LEN])
{
	const struct hh *h = audit_hh_find(a, pk);
	if (h != NULL) {
		snprintf(out, AUDIT_LABEL_LEN, "%s", h->label);
	} else if (a->n_rules > 0 &&
	           audit_rules_registered_later(a, 0, pk, out, AUDIT_LABEL_LEN) != UINT64_MAX) {
		/* registered by an entry the pass has not reached (yet) */
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
	if ((rc = audit_rules_load(&a)) != PW_OK || r->fail.failed)
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
	audit_rules_check_tables(&a);
	if (r->fail.failed)
		goto out;
	audit_served_check(&a);
	if (r->fail.failed)
		goto out;
	audit_witness_check(&a);
	if (r->fail.failed)
		goto out;
	if ((rc = audit_evidence_check(&a)) != PW_OK)
		goto out;
out:
	for (size_t i = 0; i < a.n_hhs; i++) {
		r->households++;
		r->households_revoked += a.hhs[i].revoked != 0;
	}
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
	free(a.cosigs);
	audit_rules_free(&a);
	free(a.cps);
	free(a.by_size);
	for (unsigned l = 0; l < MERKLE_MAX_LEVELS; l++)
		free(a.lv[l]);
	return rc;
}
