/*
 * afee.c: the market's rules and the zones of the household and its
 * counterparties, from the exchange's log, for the exact check of a
 * statement's grid fee and tariffs (see agentd_int.h, docs/agent-checks.md "What
 * the agent checks").
 *
 * A statement's fee depends on the MARKET entry governing its interval
 * (tariffs, fee table) and on the zones in the REGISTRY entries of the
 * household and of each counterparty of its trades, in force at the
 * statement (docs/audit.md).  Before it asks for the statement of interval
 * iv, the agent asks QUERY MARKET (a = iv) and QUERY REGISTRY (key = each
 * party) at b = the tree size of the first trusted checkpoint that settled
 * iv: the exchange appends an interval's statements and signs that
 * checkpoint in one transaction, so the entries among the first b are the
 * ones in force at the statement.  Each answer is proven (MARKET_PROOF,
 * REGISTRY_PROOF with the same a, b and key) from the exact bytes received
 * against that checkpoint's root; an answer whose bytes were proven before
 * needs no second proof.  Answers are kept in the table rule_entries
 * (AFEE_CACHE_MAX rows, the oldest tree sizes go first).
 *
 * Until every entry is proven the statement waits, "not yet checked"; an
 * entry whose proof fails, that answers another question, or that the
 * exchange refuses to show makes the statement refused as truth (the
 * statement_mismatch alarm).  Called by aexch.c (queries, answers) and
 * adispute.c (the inputs of a statement's check).  Single-threaded.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agentd_int.h"
#include "agent/averify.h"
#include "peerwatt/fmt.h"
#include "peerwatt/merkle.h"

/* rule_entries.state */
enum {
	ROW_HELD = 0,       /* the answer, its proof not asked yet */
	ROW_PROVEN = 1,     /* in the checkpointed tree of size b */
	ROW_BAD_PROOF = -1, /* the inclusion proof failed */
	ROW_REFUSED = -2,   /* the exchange refused the query */
	ROW_WRONG = -3,     /* the answer does not answer the question */
};

static const uint8_t zero_key[PW_PK_LEN];

pw_err
afee_open(struct agentd *a)
{
	/* kind: PW_QUERY_MARKET (a = interval, key zero) or PW_QUERY_REGISTRY
	 * (a = 0, key = the household); b: the tree size asked at */
	if (sqlite3_exec(agentd_db(a),
	                 "CREATE TABLE IF NOT EXISTS rule_entries(kind INTEGER NOT NULL,"
	                 " key BLOB NOT NULL, a INTEGER NOT NULL, b INTEGER NOT NULL, frame BLOB,"
	                 " log_index INTEGER, state INTEGER NOT NULL,"
	                 " PRIMARY KEY(kind, key, a, b));",
	                 NULL, NULL, NULL) != SQLITE_OK)
		return PW_ERR_DB;
	return PW_OK;
}

/* One cached answer. */
struct row {
	int found;
	int state;
	uint8_t frame[AFEE_FRAME_MAX];
	size_t len;
	uint64_t log_index;
};

static void
row_get(struct agentd *a, uint8_t kind, const uint8_t key[PW_PK_LEN], uint64_t qa, uint64_t b,
        struct row *r)
{
	sqlite3_stmt *st;

	r->found = 0;
	if (sqlite3_prepare_v2(agentd_db(a),
	                       "SELECT state, frame, log_index FROM rule_entries WHERE kind = ?"
	                       " AND key = ? AND a = ? AND b = ?",
	                       -1, &st, NULL) != SQLITE_OK)
		return;
	sqlite3_bind_int(st, 1, kind);
	sqlite3_bind_blob(st, 2, key, PW_PK_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, agentd_i64(qa));
	sqlite3_bind_int64(st, 4, agentd_i64(b));
	if (sqlite3_step(st) == SQLITE_ROW) {
		int n = sqlite3_column_bytes(st, 1);
		r->found = 1;
		r->state = sqlite3_column_int(st, 0);
		r->len = 0;
		if (n > 0 && (size_t)n <= sizeof(r->frame)) {
			memcpy(r->frame, sqlite3_column_blob(st, 1), (size_t)n);
			r->len = (size_t)n;
		}
		r->log_index = (uint64_t)sqlite3_column_int64(st, 2);
	}
	sqlite3_finalize(st);
}

static void
row_put(struct agentd *a, uint8_t kind, const uint8_t key[PW_PK_LEN], uint64_t qa, uint64_t b,
        const uint8_t *frame, size_t len, int state, uint64_t log_index, int have_index)
{
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(agentd_db(a),
	                       "INSERT OR REPLACE INTO rule_entries(kind, key, a, b, frame,"
	                       " log_index, state) VALUES (?, ?, ?, ?, ?, ?, ?)",
	                       -1, &st, NULL) != SQLITE_OK)
		return;
	sqlite3_bind_int(st, 1, kind);
	sqlite3_bind_blob(st, 2, key, PW_PK_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, agentd_i64(qa));
	sqlite3_bind_int64(st, 4, agentd_i64(b));
	if (frame != NULL && len > 0)
		sqlite3_bind_blob(st, 5, frame, (int)len, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 5);
	if (have_index)
		sqlite3_bind_int64(st, 6, agentd_i64(log_index));
	else
		sqlite3_bind_null(st, 6);
	sqlite3_bind_int(st, 7, state);
	if (sqlite3_step(st) != SQLITE_DONE)
		log_warnx("rule_entries: %s", sqlite3_errmsg(agentd_db(a)));
	sqlite3_finalize(st);
	/* bounded: the entries of the oldest tree sizes go first */
	if (sqlite3_prepare_v2(agentd_db(a),
	                       "DELETE FROM rule_entries WHERE rowid IN (SELECT rowid FROM"
	                       " rule_entries ORDER BY b LIMIT max(0, (SELECT count(*) FROM"
	                       " rule_entries) - ?))",
	                       -1, &st, NULL) != SQLITE_OK)
		return;
	sqlite3_bind_int(st, 1, AFEE_CACHE_MAX);
	(void)sqlite3_step(st);
	sqlite3_finalize(st);
}

/* The same bytes proven before (at any tree size): their log index. */
static int
proven_before(struct agentd *a, const uint8_t *frame, size_t len, uint64_t *idx)
{
	sqlite3_stmt *st;
	int found = 0;

	if (sqlite3_prepare_v2(agentd_db(a),
	                       "SELECT log_index FROM rule_entries WHERE state = 1 AND frame = ?"
	                       " AND log_index IS NOT NULL LIMIT 1",
	                       -1, &st, NULL) != SQLITE_OK)
		return 0;
	sqlite3_bind_blob(st, 1, frame, (int)len, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		*idx = (uint64_t)sqlite3_column_int64(st, 0);
		found = 1;
	}
	sqlite3_finalize(st);
	return found;
}

/* The tree size the entries of interval iv are asked at: the first trusted
 * checkpoint that settled iv.  0 when none is held yet. */
static uint64_t
cover_size(struct agentd *a, uint64_t iv)
{
	sqlite3_stmt *st;
	uint64_t b = 0;

	if (sqlite3_prepare_v2(agentd_db(a),
	                       "SELECT min(tree_size) FROM checkpoints WHERE interval >= ?"
	                       " AND consistent = 1",
	                       -1, &st, NULL) != SQLITE_OK)
		return 0;
	sqlite3_bind_int64(st, 1, agentd_i64(iv));
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
		b = (uint64_t)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return b;
}

/* The household's trades of interval iv from the RESULT parts it holds
 * (the accepted RESULT: none when it was refused), each with its
 * counterparty; *out is the caller's to free. */
static pw_err
trades_of(struct agentd *a, uint64_t iv, struct afee_trade **out, size_t *n)
{
	sqlite3_stmt *st;
	struct pw_msg *m = malloc(sizeof(*m));
	size_t cap = 0;
	pw_err rc = PW_OK;

	*out = NULL;
	*n = 0;
	if (m == NULL)
		return PW_ERR_NOMEM;
	if (sqlite3_prepare_v2(agentd_db(a),
	                       "SELECT frame FROM results WHERE interval = ?1 AND frame IS NOT NULL"
	                       " AND NOT EXISTS (SELECT 1 FROM disputes WHERE type = 18"
	                       " AND interval = ?1) ORDER BY part",
	                       -1, &st, NULL) != SQLITE_OK) {
		free(m);
		return PW_ERR_DB;
	}
	sqlite3_bind_int64(st, 1, agentd_i64(iv));
	while (rc == PW_OK && sqlite3_step(st) == SQLITE_ROW) {
		const void *f = sqlite3_column_blob(st, 0);
		int len = sqlite3_column_bytes(st, 0);
		if (f == NULL || len <= 0 || pw_wire_decode_stored(f, (size_t)len, m) != PW_OK ||
		    m->type != PW_MSG_RESULT)
			continue;
		for (uint16_t i = 0; rc == PW_OK && i < m->u.result.n_trades; i++) {
			struct pw_trade t;
			if (pw_wire_result_trade(&m->u.result, i, &t) != PW_OK)
				continue;
			int buy = memcmp(t.buyer, a->kp.pk, PW_PK_LEN) == 0;
			int sell = memcmp(t.seller, a->kp.pk, PW_PK_LEN) == 0;
			if (buy == sell) /* not ours (both: refused by averify_result) */
				continue;
			if (*n == AVERIFY_MAX_TRADES) {
				rc = PW_ERR_FULL;
				break;
			}
			if (*n == cap) {
				size_t nc = cap ? cap * 2 : 8;
				struct afee_trade *p = realloc(*out, nc * sizeof(**out));
				if (p == NULL) {
					rc = PW_ERR_NOMEM;
					break;
				}
				*out = p;
				cap = nc;
			}
			struct afee_trade *o = &(*out)[(*n)++];
			o->side = buy ? PW_SIDE_BUY : PW_SIDE_SELL;
			o->seq = buy ? t.buy_seq : t.sell_seq;
			o->qty_wh = t.qty_wh;
			memcpy(o->other, buy ? t.seller : t.buyer, PW_PK_LEN);
		}
	}
	sqlite3_finalize(st);
	free(m);
	return rc;
}

/* The distinct parties whose zones the fees of `t` need: the household
 * first, then each counterparty.  Their number, or AFEE_MAX_PARTIES + 1
 * when there are more. */
static size_t
parties_of(struct agentd *a, const struct afee_trade *t, size_t n, uint8_t (*out)[PW_PK_LEN])
{
	size_t k = 0;
	if (n == 0)
		return 0;
	memcpy(out[k++], a->kp.pk, PW_PK_LEN);
	for (size_t i = 0; i < n; i++) {
		size_t j = 0;
		while (j < k && memcmp(out[j], t[i].other, PW_PK_LEN) != 0)
			j++;
		if (j < k)
			continue;
		if (k == AFEE_MAX_PARTIES)
			return AFEE_MAX_PARTIES + 1;
		memcpy(out[k++], t[i].other, PW_PK_LEN);
	}
	return k;
}

/* What to ask next for one entry: 1 (query set), 0 (nothing: proven or
 * failed for good). */
static int
next_for(struct agentd *a, uint8_t kind, const uint8_t key[PW_PK_LEN], uint64_t qa, uint64_t b,
         struct afee_query *q)
{
	struct row *r = malloc(sizeof(*r));
	int ask = 0;
	if (r == NULL)
		return 0;
	row_get(a, kind, key, qa, b, r);
	if (!r->found || r->state == ROW_HELD) {
		ask = 1;
		q->kind = !r->found                 ? kind
		          : kind == PW_QUERY_MARKET ? PW_QUERY_MARKET_PROOF
		                                    : PW_QUERY_REGISTRY_PROOF;
		q->a = qa;
		q->b = b;
		memcpy(q->key, key, PW_PK_LEN);
	}
	free(r);
	return ask;
}

int
afee_next_query(struct agentd *a, const struct pw_checkpoint *latest, struct afee_query *q)
{
	uint64_t iv, b;
	struct afee_trade *t = NULL;
	size_t n = 0, k;
	int ask = 0;

	if (aledger_missing_statement(a->led, a->stmt_after, latest->interval, &iv) != PW_OK)
		return 0;
	if ((b = cover_size(a, iv)) == 0)
		return 0; /* the statement waits for a trusted checkpoint of it */
	if (next_for(a, PW_QUERY_MARKET, zero_key, iv, b, q))
		return 1;
	if (trades_of(a, iv, &t, &n) != PW_OK) {
		free(t);
		return 0; /* the statement's check says why */
	}
	uint8_t(*parties)[PW_PK_LEN] = calloc(AFEE_MAX_PARTIES, PW_PK_LEN);
	if (parties == NULL) {
		free(t);
		return 0;
	}
	k = parties_of(a, t, n, parties);
	for (size_t i = 0; !ask && i < k && i < AFEE_MAX_PARTIES; i++)
		ask = next_for(a, PW_QUERY_REGISTRY, parties[i], 0, b, q);
	free(parties);
	free(t);
	return ask;
}

void
afee_on_entry(struct agentd *a, const uint8_t *frame, size_t len, const struct pw_msg *m)
{
	const struct qflight *q = &a->q;
	uint64_t idx;
	int ok;

	if (!q->active || !q->fee || (q->kind != PW_QUERY_MARKET && q->kind != PW_QUERY_REGISTRY))
		return;
	a->q.active = 0;
	if (q->kind == PW_QUERY_MARKET)
		ok = m->type == PW_MSG_MARKET && m->u.market.effective_interval <= q->a;
	else
		ok = m->type == PW_MSG_REGISTRY &&
		     memcmp(m->u.registry.household, q->key, PW_PK_LEN) == 0;
	if (!ok || len > AFEE_FRAME_MAX) {
		log_error("EXCHANGE: the answer to QUERY %s for interval %llu (tree size %llu) is a"
		          " %s that does not answer it",
		          q->kind == PW_QUERY_MARKET ? "MARKET" : "REGISTRY",
		          (unsigned long long)q->a, (unsigned long long)q->b,
		          pw_msg_type_name(m->type));
		row_put(a, q->kind, q->key, q->a, q->b, frame, len <= AFEE_FRAME_MAX ? len : 0,
		        ROW_WRONG, 0, 0);
		return;
	}
	/* the same bytes proven in the log before: that proof holds */
	if (proven_before(a, frame, len, &idx))
		row_put(a, q->kind, q->key, q->a, q->b, frame, len, ROW_PROVEN, idx, 1);
	else
		row_put(a, q->kind, q->key, q->a, q->b, frame, len, ROW_HELD, 0, 0);
}

void
afee_on_proof(struct agentd *a, const struct pw_proof *p)
{
	const struct qflight *q = &a->q;
	uint8_t kind = q->kind == PW_QUERY_MARKET_PROOF ? PW_QUERY_MARKET : PW_QUERY_REGISTRY;
	uint8_t root[PW_HASH_LEN], leaf[PW_HASH_LEN];
	struct row *r = malloc(sizeof(*r));

	if (r == NULL)
		return;
	row_get(a, kind, q->key, q->a, q->b, r);
	if (!r->found || r->state != ROW_HELD || r->len == 0 || p->kind != PW_PROOF_INCLUSION ||
	    aledger_root(a->led, p->b, root) != PW_OK) {
		free(r);
		return;
	}
	/* the exact bytes we hold, not the exchange's word for them */
	merkle_leaf_hash(r->frame, r->len, leaf);
	if (p->a < p->b &&
	    merkle_verify_inclusion(p->a, p->b, leaf, (const uint8_t(*)[MERKLE_HASH_LEN])p->hashes,
	                            p->n_hashes, root) == PW_OK) {
		a->proofs_ok++;
		row_put(a, kind, q->key, q->a, q->b, r->frame, r->len, ROW_PROVEN, p->a, 1);
		log_debug("the %s entry at log index %llu is in the tree of size %llu",
		          kind == PW_QUERY_MARKET ? "MARKET" : "REGISTRY", (unsigned long long)p->a,
		          (unsigned long long)p->b);
	} else {
		a->proofs_failed++;
		row_put(a, kind, q->key, q->a, q->b, r->frame, r->len, ROW_BAD_PROOF, p->a, 1);
		log_error("INCLUSION PROOF FAILED: the %s entry the exchange gave for interval %llu"
		          " (log index %llu) is not in the checkpointed tree of size %llu",
		          kind == PW_QUERY_MARKET ? "MARKET" : "REGISTRY", (unsigned long long)q->a,
		          (unsigned long long)p->a, (unsigned long long)p->b);
	}
	free(r);
}

void
afee_refused(struct agentd *a, uint16_t reason)
{
	const struct qflight *q = &a->q;
	uint8_t kind = q->kind == PW_QUERY_MARKET_PROOF || q->kind == PW_QUERY_MARKET
	                   ? PW_QUERY_MARKET
	                   : PW_QUERY_REGISTRY;
	char hex[2 * PW_PK_LEN + 1];

	pw_hex_encode(q->key, 8, hex);
	if (kind == PW_QUERY_MARKET)
		log_error("EXCHANGE: it refused to show the MARKET entry in force for interval %llu"
		          " at tree size %llu: %s",
		          (unsigned long long)q->a, (unsigned long long)q->b,
		          pw_reason_name(reason));
	else
		log_error("EXCHANGE: it refused to show the REGISTRY entry of household %s... at"
		          " tree size %llu: %s",
		          hex, (unsigned long long)q->b, pw_reason_name(reason));
	row_put(a, kind, q->key, q->a, q->b, NULL, 0, ROW_REFUSED, 0, 0);
}

static const char *
state_words(int state)
{
	switch (state) {
	case ROW_BAD_PROOF:
		return "its inclusion proof against the checkpoint failed";
	case ROW_REFUSED:
		return "the exchange refused to show it";
	case ROW_WRONG:
		return "the exchange answered with another entry";
	default:
		return "it could not be read";
	}
}

/* One proven entry decoded into m: 1; 0 not yet (wait); -1 failed (why). */
static int
entry(struct agentd *a, uint8_t kind, const uint8_t key[PW_PK_LEN], uint64_t qa, uint64_t b,
      struct pw_msg *m, char *why, size_t cap)
{
	struct row *r = malloc(sizeof(*r));
	int v;
	char hex[2 * PW_PK_LEN + 1];

	if (r == NULL)
		return 0;
	row_get(a, kind, key, qa, b, r);
	pw_hex_encode(key, 8, hex);
	if (!r->found || r->state == ROW_HELD)
		v = 0;
	else if (r->state == ROW_PROVEN && r->len > 0 &&
	         pw_wire_decode_stored(r->frame, r->len, m) == PW_OK)
		v = 1;
	else {
		v = -1;
		if (kind == PW_QUERY_MARKET)
			snprintf(
			    why, cap,
			    "the MARKET entry governing the interval (tree size %llu) cannot be"
			    " trusted: %s",
			    (unsigned long long)b, state_words(r->state));
		else
			snprintf(why, cap,
			         "the REGISTRY entry of household %s... (tree size %llu) cannot be"
			         " trusted: %s",
			         hex, (unsigned long long)b, state_words(r->state));
	}
	free(r);
	return v;
}

int
afee_inputs(struct agentd *a, uint64_t iv, int have_result, struct averify_stmt_in *in,
            struct averify_trade **tr, char *why, size_t cap)
{
	struct pw_msg *mk = NULL, *reg = NULL;
	struct afee_trade *t = NULL;
	uint8_t(*parties)[PW_PK_LEN] = NULL;
	char(*zones)[PW_TOKEN_LEN] = NULL;
	size_t n = 0, k = 0;
	uint64_t b;
	int v = AFEE_FAIL;
	pw_err rc;

	*tr = NULL;
	why[0] = '\0';
	if ((b = cover_size(a, iv)) == 0)
		return AFEE_WAIT;
	mk = malloc(sizeof(*mk));
	reg = malloc(sizeof(*reg));
	parties = calloc(AFEE_MAX_PARTIES, PW_PK_LEN);
	zones = calloc(AFEE_MAX_PARTIES, PW_TOKEN_LEN);
	if (mk == NULL || reg == NULL || parties == NULL || zones == NULL) {
		snprintf(why, cap, "out of memory");
		goto out;
	}
	int e = entry(a, PW_QUERY_MARKET, zero_key, iv, b, mk, why, cap);
	if (e <= 0) {
		v = e == 0 ? AFEE_WAIT : AFEE_FAIL;
		goto out;
	}
	in->feedin_uper_kwh = mk->u.market.feedin_uper_kwh;
	in->retail_uper_kwh = mk->u.market.retail_uper_kwh;
	if (have_result && (rc = trades_of(a, iv, &t, &n)) != PW_OK) {
		snprintf(why, cap, "cannot read the interval's trades: %s", pw_strerror(rc));
		goto out;
	}
	k = parties_of(a, t, n, parties);
	if (k > AFEE_MAX_PARTIES) {
		snprintf(why, cap,
		         "more than %d counterparties in one interval: their zones, hence the fee,"
		         " are not checked",
		         AFEE_MAX_PARTIES - 1);
		goto out;
	}
	for (size_t i = 0; i < k; i++) {
		e = entry(a, PW_QUERY_REGISTRY, parties[i], 0, b, reg, why, cap);
		if (e <= 0) {
			v = e == 0 ? AFEE_WAIT : AFEE_FAIL;
			goto out;
		}
		memcpy(zones[i], reg->u.registry.zone, PW_TOKEN_LEN);
	}
	if (n > 0 && (*tr = calloc(n, sizeof(**tr))) == NULL) {
		snprintf(why, cap, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		size_t j = 1;
		while (j < k && memcmp(parties[j], t[i].other, PW_PK_LEN) != 0)
			j++;
		(*tr)[i].seq = t[i].seq;
		(*tr)[i].side = t[i].side;
		(*tr)[i].qty_wh = t[i].qty_wh;
		/* parties[0] is the household: zones[0] its zone */
		(*tr)[i].fee_uper_kwh = averify_market_fee(&mk->u.market, zones[0], zones[j]);
	}
	in->trades = *tr;
	in->n_trades = n;
	v = AFEE_READY;
out:
	if (v != AFEE_READY) {
		free(*tr);
		*tr = NULL;
	}
	free(t);
	free(mk);
	free(reg);
	free(parties);
	free(zones);
	return v;
}

/* A proven, not revoked REGISTRY entry of `key` at any tree size. */
static int
registered_before(struct agentd *a, const uint8_t key[PW_PK_LEN])
{
	sqlite3_stmt *st;
	struct pw_msg m;
	int ok = 0;

	if (sqlite3_prepare_v2(agentd_db(a),
	                       "SELECT frame FROM rule_entries WHERE kind = ?1 AND key = ?2 AND"
	                       " state = ?3 AND frame IS NOT NULL ORDER BY b DESC LIMIT 1",
	                       -1, &st, NULL) != SQLITE_OK)
		return 0;
	sqlite3_bind_int(st, 1, PW_QUERY_REGISTRY);
	sqlite3_bind_blob(st, 2, key, PW_PK_LEN, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, ROW_PROVEN);
	if (sqlite3_step(st) == SQLITE_ROW) {
		int n = sqlite3_column_bytes(st, 0);
		const uint8_t *f = sqlite3_column_blob(st, 0);
		ok = f != NULL && n > 0 && (size_t)n <= AFEE_FRAME_MAX &&
		     pw_wire_decode_stored(f, (size_t)n, &m) == PW_OK &&
		     m.type == PW_MSG_REGISTRY &&
		     memcmp(m.u.registry.household, key, PW_PK_LEN) == 0 && !m.u.registry.revoked;
	}
	sqlite3_finalize(st);
	return ok;
}

int
afee_registered(struct agentd *a, const uint8_t key[PW_PK_LEN], uint64_t b, struct afee_query *q,
                char *why, size_t cap)
{
	struct pw_msg m;
	int v;

	memset(q, 0, sizeof(*q));
	if (registered_before(a, key))
		return 1;
	if (next_for(a, PW_QUERY_REGISTRY, key, 0, b, q))
		return 0;
	memset(q, 0, sizeof(*q));
	v = entry(a, PW_QUERY_REGISTRY, key, 0, b, &m, why, cap);
	if (v == 1 && (m.type != PW_MSG_REGISTRY || m.u.registry.revoked)) {
		snprintf(why, cap, "the household was removed from the registry (tree size %llu)",
		         (unsigned long long)b);
		return -1;
	}
	return v;
}
