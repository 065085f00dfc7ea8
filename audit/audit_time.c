/*
 * audit_time.c: completeness and time of the log against the exchange's
 * own signed times (docs/audit.md section 6, "Completeness and time").
 *
 * A RESULT or STATEMENT frame carries no time; a CHECKPOINT does: it says
 * that the first tree_size entries existed at time_s and that intervals up
 * to its `interval` were settled into them.  The exchange clears interval
 * i at its gate (i*L - G) and settles it at its deadline ((i+1)*L + grace)
 * in one transaction with the checkpoint, so each entry is bounded by the
 * first checkpoint that holds it.  Runs after the checkpoints of the
 * database were checked (signatures, roots, sizes, interval and time never
 * going back), so they are sorted by size with times and intervals that
 * do not decrease: "the first checkpoint holding entry k" is a binary
 * search.
 */
#include "audit/audit_int.h"

#include <stdio.h>
#include <string.h>

/* What a checkpoint is searched by; each does not decrease along a->cps. */
enum cp_key { CP_TREE_SIZE, CP_INTERVAL, CP_TIME };

static __int128
cp_key(const struct cp *c, enum cp_key k)
{
	const struct pw_checkpoint *h = &c->msg.u.checkpoint;
	return k == CP_TREE_SIZE  ? (__int128)h->tree_size
	       : k == CP_INTERVAL ? (__int128)h->interval
	                          : (__int128)h->time_s;
}

/* The first database checkpoint whose `k` is at least `v`, or NULL. */
static const struct cp *
first_cp(const struct audit *a, enum cp_key k, __int128 v)
{
	size_t lo = 0, hi = a->n_db_cps;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (cp_key(&a->cps[mid], k) < v)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < a->n_db_cps ? &a->cps[lo] : NULL;
}

/* The first database checkpoint whose tree holds entry `idx`. */
static const struct cp *
first_holding(const struct audit *a, uint64_t idx)
{
	return first_cp(a, CP_TREE_SIZE, (__int128)idx + 1);
}

/* The first database checkpoint that claims interval `iv` settled. */
static const struct cp *
first_settling(const struct audit *a, uint64_t iv)
{
	return first_cp(a, CP_INTERVAL, iv);
}

/* The first checkpoint signed at or after `t`. */
static const struct cp *
first_at(const struct audit *a, __int128 t)
{
	return first_cp(a, CP_TIME, t);
}

static long long
ll(__int128 v)
{
	return v > INT64_MAX ? INT64_MAX : v < INT64_MIN ? INT64_MIN : (long long)v;
}

/* Who, of the interval's traders and readers logged before `upto`, has no
 * statement logged before `upto`; NULL when everyone has. */
static const uint8_t *
unsettled_party(const struct audit *a, const struct ivl *v, uint64_t upto, int *traded)
{
	for (size_t i = 0; i < v->n_trades + v->n_readings; i++) {
		const uint8_t *pks[2];
		int n = 0;
		if (i < v->n_trades) {
			if (v->result_idx >= upto)
				continue;
			pks[n++] = v->trades[i].buyer;
			pks[n++] = v->trades[i].seller;
		} else {
			const struct areading *rd = &v->readings[i - v->n_trades];
			if (rd->idx >= upto ||
			    (v->first_stmt_idx != UINT64_MAX && rd->idx > v->first_stmt_idx))
				continue; /* logged after the settlement: not settled, by rule */
			pks[n++] = a->hhs[rd->hh].pk;
		}
		for (int k = 0; k < n; k++) {
			int found = 0;
			for (size_t j = 0; j < v->n_stmts && !found; j++)
				found = v->stmts[j].idx < upto &&
				        memcmp(a->hhs[v->stmts[j].hh].pk, pks[k], PW_PK_LEN) == 0;
			if (!found) {
				*traded = i < v->n_trades;
				return pks[k];
			}
		}
	}
	return NULL;
}

static void
check_checkpoint_times(struct audit *a)
{
	for (size_t i = 0; i < a->n_db_cps && !a->r->fail.failed; i++) {
		const struct pw_checkpoint *k = &a->cps[i].msg.u.checkpoint;
		__int128 due = audit_deadline(a, k->interval);
		if ((__int128)k->time_s < due) {
			FAIL_AT(
			    a, a->cps[i].where,
			    "signed at %llu, before the deadline %lld of interval %llu it settles",
			    (unsigned long long)k->time_s, ll(due),
			    (unsigned long long)k->interval);
			audit_plain(
			    a,
			    "The exchange signed the checkpoint of interval %llu before that "
			    "interval's settlement deadline (its end plus the %lld s grace for "
			    "meter readings): it settled before the readings were due.",
			    (unsigned long long)k->interval, (long long)a->grace_s);
		}
	}
}

static void
check_ivl(struct audit *a, const struct ivl *v)
{
	char who[AUDIT_LABEL_LEN];
	const struct cp *c;
	__int128 gate = audit_gate(a, v->interval), due = audit_deadline(a, v->interval);

	/* cleared before its gate */
	if (v->result_first_idx != UINT64_MAX && (c = first_holding(a, v->result_first_idx)) &&
	    (__int128)c->msg.u.checkpoint.time_s < gate) {
		audit_fail(
		    a, v->result_first_idx, "RESULT", NULL,
		    "interval %llu cleared before its gate %lld: %s holds it, signed at %llu",
		    (unsigned long long)v->interval, ll(gate), c->where,
		    (unsigned long long)c->msg.u.checkpoint.time_s);
		audit_plain(a,
		            "Interval %llu was cleared before its gate closed: orders that "
		            "households could still send were shut out.",
		            (unsigned long long)v->interval);
		return;
	}
	/* its gate passed, orders were logged, no RESULT */
	if (v->first_order_idx != UINT64_MAX && (c = first_at(a, gate)) != NULL &&
	    c->msg.u.checkpoint.tree_size > v->first_order_idx &&
	    !(v->cleared && v->result_idx < c->msg.u.checkpoint.tree_size)) {
		audit_fail(a, v->first_order_idx, "ORDER", NULL,
		           "interval %llu: orders logged, gate %lld passed before %s (signed at "
		           "%llu), but no complete RESULT in it",
		           (unsigned long long)v->interval, ll(gate), c->where,
		           (unsigned long long)c->msg.u.checkpoint.time_s);
		audit_plain(a,
		            "Interval %llu had orders and its gate passed, but the exchange never "
		            "cleared it: the households' orders were never matched.",
		            (unsigned long long)v->interval);
		return;
	}
	/* settled before its deadline */
	if (v->first_stmt_idx != UINT64_MAX && (c = first_holding(a, v->first_stmt_idx)) &&
	    (__int128)c->msg.u.checkpoint.time_s < due) {
		audit_fail(a, v->first_stmt_idx, "STATEMENT", NULL,
		           "interval %llu settled before its deadline %lld: %s holds the "
		           "statement, signed at %llu",
		           (unsigned long long)v->interval, ll(due), c->where,
		           (unsigned long long)c->msg.u.checkpoint.time_s);
		audit_plain(
		    a,
		    "Interval %llu was settled before its deadline (end plus %lld s grace): "
		    "readings households could still send were counted as missing.",
		    (unsigned long long)v->interval, (long long)a->grace_s);
		return;
	}
	/* a checkpoint claims it settled: everyone active in it has a statement */
	if (v->cleared && (c = first_settling(a, v->interval)) != NULL &&
	    v->result_idx < c->msg.u.checkpoint.tree_size) {
		int traded = 0;
		const uint8_t *pk = unsettled_party(a, v, c->msg.u.checkpoint.tree_size, &traded);
		a->r->time_checks++;
		if (pk != NULL) {
			uint64_t at =
			    v->first_stmt_idx != UINT64_MAX ? v->first_stmt_idx : v->result_idx;
			audit_who(a, pk, who);
			audit_fail(a, at, v->first_stmt_idx != UINT64_MAX ? "STATEMENT" : "RESULT",
			           NULL,
			           "interval %llu, settled by %s: %s %s but has no statement in it",
			           (unsigned long long)v->interval, c->where, who,
			           traded ? "traded" : "sent a reading before the settlement");
			audit_plain(
			    a,
			    "The exchange settled interval %llu without a statement for %s, "
			    "who %s: a household's settlement was left out.",
			    (unsigned long long)v->interval, who,
			    traded ? "traded in it" : "sent a meter reading for it");
			return;
		}
		if (v->n_stmts == 0)
			a->r->intervals_empty++;
	} else if (v->cleared && v->n_stmts == 0) {
		a->r->intervals_pending++;
	}
}

void
audit_time_check(struct audit *a)
{
	check_checkpoint_times(a);
	for (size_t i = 0; i < a->n_ivls && !a->r->fail.failed; i++)
		check_ivl(a, a->ivls[i]);
}
