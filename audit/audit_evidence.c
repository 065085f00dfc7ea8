/*
 * audit_evidence.c: what the exchange serves equals what it logged, and
 * what households hold agrees with the log (docs/audit.md section 6,
 * "Served tables" and "Households' evidence").
 *
 * Served tables: `statements` and `results` are what QUERY STATEMENT and
 * QUERY RESULT answer from; each row must be the logged frame at its
 * log_idx, and each logged STATEMENT and RESULT must have its row.
 *
 * Evidence: an agent's database (agent/outbox.c, agent/aledger.c), opened
 * read-only: its own signed requests with the exchange's signed ACK or
 * REJECT (table receipts), the statements and checkpoints it verified.  An
 * ACK names the log index of the frame: the log must hold exactly that
 * frame there, and the ACK's time must fit the entry's rules (an ORDER
 * before its gate and expiry, a METER after its interval's end); all ACK
 * times together bound every entry by its neighbours (the exchange's
 * clock does not go back, and it logs in the order it acknowledges).  A
 * REJECT must not contradict the exchange's time (gate_closed before the
 * gate, expired before the expiry).
 */
#include "audit/audit_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- served tables ------------------------------------------------------------------ */

static int
same_logged(struct audit *a, uint64_t idx, const void *frame, int n)
{
	size_t len;
	uint8_t *f = audit_log_frame(a, idx, &len);
	int same = f != NULL && n >= 0 && (size_t)n == len && memcmp(f, frame, len) == 0;
	free(f);
	return same;
}

/* Rows of `table` (statements or results) against the log. */
static void
served_table(struct audit *a, int statements)
{
	const char *sql = statements
	                      ? "SELECT pk, interval, frame, log_idx FROM statements ORDER BY rowid"
	                      : "SELECT part, interval, frame, log_idx FROM results ORDER BY rowid";
	uint8_t want = statements ? PW_MSG_STATEMENT : PW_MSG_RESULT;
	sqlite3_stmt *st = NULL;
	char where[AUDIT_WHERE_LEN], who[AUDIT_LABEL_LEN];
	uint64_t rows = 0;

	if (sqlite3_prepare_v2(a->db, sql, -1, &st, NULL) != SQLITE_OK) {
		FAIL_AT(a, "database", "no table %s: %s", statements ? "statements" : "results",
		        sqlite3_errmsg(a->db));
		audit_plain(a,
		            "The database lacks the table %s that the exchange serves households "
		            "from, so what households were told cannot be compared with the log.",
		            statements ? "statements" : "results");
		return;
	}
	while (!a->r->fail.failed && sqlite3_step(st) == SQLITE_ROW) {
		sqlite3_int64 iv = sqlite3_column_int64(st, 1), idx = sqlite3_column_int64(st, 3);
		const void *frame = sqlite3_column_blob(st, 2);
		int n = sqlite3_column_bytes(st, 2);
		struct pw_msg m;
		rows++;
		if (statements) {
			const void *pk = sqlite3_column_blob(st, 0);
			if (pk != NULL && sqlite3_column_bytes(st, 0) == PW_PK_LEN)
				audit_who(a, pk, who);
			else
				snprintf(who, sizeof(who), "a malformed key");
			snprintf(where, sizeof(where), "statements row %llu (%s, interval %lld)",
			         (unsigned long long)rows, who, (long long)iv);
		} else {
			snprintf(where, sizeof(where), "results row %llu (interval %lld part %lld)",
			         (unsigned long long)rows, (long long)iv,
			         (long long)sqlite3_column_int64(st, 0));
		}
		int ok = frame != NULL && n > 0 && idx >= 0 && (uint64_t)idx < a->r->entries &&
		         a->ents[idx].type == want && same_logged(a, (uint64_t)idx, frame, n) &&
		         pw_wire_decode_stored(frame, (size_t)n, &m) == PW_OK;
		if (ok && statements)
			ok = m.u.statement.interval == (uint64_t)iv &&
			     memcmp(m.u.statement.household, sqlite3_column_blob(st, 0),
			            PW_PK_LEN) == 0;
		if (ok && !statements)
			ok = m.u.result.interval == (uint64_t)iv &&
			     m.u.result.part == sqlite3_column_int64(st, 0);
		if (!ok) {
			FAIL_AT(a, where, "the served frame is not the logged %s at entry %lld",
			        statements ? "STATEMENT" : "RESULT", (long long)idx);
			audit_plain(
			    a,
			    "What the exchange serves households as %s (%s) is not what it "
			    "logged: a household asking for it is told something the log does "
			    "not say.",
			    statements ? "a statement" : "a clearing result", where);
		}
	}
	sqlite3_finalize(st);
	if (a->r->fail.failed)
		return;
	uint64_t logged = statements ? a->r->statements : a->r->results;
	if (rows != logged) {
		FAIL_AT(a, "database", "%llu %s rows served, %llu logged", (unsigned long long)rows,
		        statements ? "statements" : "results", (unsigned long long)logged);
		audit_plain(a,
		            "The exchange serves %llu %s but logged %llu: some logged ones cannot "
		            "be asked for, or served ones are not logged.",
		            (unsigned long long)rows,
		            statements ? "statements" : "clearing results",
		            (unsigned long long)logged);
	}
	if (statements)
		a->r->served_statements = rows;
	else
		a->r->served_results = rows;
}

void
audit_served_check(struct audit *a)
{
	served_table(a, 1);
	if (!a->r->fail.failed)
		served_table(a, 0);
}

/* --- agents' databases ----------------------------------------------------------- */

struct ackt {
	uint64_t idx;
	uint64_t time_s;
	char where[AUDIT_WHERE_LEN];
};

struct ev {
	struct audit *a;
	const char *path;
	sqlite3 *db;
	char who[AUDIT_LABEL_LEN];
	struct ackt *acks; /* every signed ACK of every agent */
	size_t n_acks, cap_acks;
};

static pw_err
open_agent(struct audit *a, const char *path, sqlite3 **db)
{
	sqlite3_stmt *st = NULL;
	int ok;

	if (sqlite3_open_v2(path, db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		FAIL_AT(a, path, "cannot open the agent database: %s",
		        *db ? sqlite3_errmsg(*db) : "out of memory");
		sqlite3_close(*db);
		*db = NULL;
		return PW_ERR_IO;
	}
	sqlite3_busy_timeout(*db, 5000);
	ok = sqlite3_prepare_v2(*db,
	                        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name "
	                        "IN ('outbox', 'statements', 'checkpoints')",
	                        -1, &st, NULL) == SQLITE_OK &&
	     sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) == 3;
	sqlite3_finalize(st);
	if (!ok) {
		FAIL_AT(a, path,
		        "not an agent database (no tables outbox, statements, checkpoints)");
		audit_plain(a,
		            "%s is not a household agent's database: --agent takes the database "
		            "of a peerwatt-agent ([agent] db in its configuration).",
		            path);
		sqlite3_close(*db);
		*db = NULL;
	}
	return PW_OK;
}

/* Whether the agent's database has `table` (older agents lack some). */
static int
has_table(sqlite3 *db, const char *table)
{
	sqlite3_stmt *st = NULL;
	int ok = sqlite3_prepare_v2(db,
	                            "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
	                            " AND name = ?",
	                            -1, &st, NULL) == SQLITE_OK;
	if (ok) {
		sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
		ok = sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) == 1;
	}
	sqlite3_finalize(st);
	return ok;
}

/* The household of an agent's database: the author of its frames. */
static void
agent_household(struct ev *e, uint8_t pk[PW_PK_LEN], int *have)
{
	sqlite3_stmt *st = NULL;
	struct pw_msg m;

	*have = 0;
	if (sqlite3_prepare_v2(e->db, "SELECT frame FROM outbox ORDER BY rowid LIMIT 1", -1, &st,
	                       NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW) {
		const void *f = sqlite3_column_blob(st, 0);
		int n = sqlite3_column_bytes(st, 0);
		if (f != NULL && n > 0 && pw_wire_decode_stored(f, (size_t)n, &m) == PW_OK) {
			memcpy(pk, m.author, PW_PK_LEN);
			*have = 1;
		}
	}
	sqlite3_finalize(st);
	if (*have)
		audit_who(e->a, pk, e->who);
	else
		snprintf(e->who, sizeof(e->who), "the household of %s", e->path);
}

pw_err
audit_evidence_load_checkpoints(struct audit *a)
{
	for (size_t i = 0; i < a->opt->n_agents && !a->r->fail.failed; i++) {
		struct ev e = { .a = a, .path = a->opt->agents[i] };
		sqlite3_stmt *st = NULL;
		char where[AUDIT_WHERE_LEN];
		uint8_t pk[PW_PK_LEN];
		int have;
		pw_err rc = open_agent(a, e.path, &e.db);
		if (rc != PW_OK || e.db == NULL)
			return rc;
		agent_household(&e, pk, &have);
		/* with the checkpoints it refused (a second root for a size it
		 * held, one proven inconsistent): evidence of a fork too */
		if (sqlite3_prepare_v2(
		        e.db,
		        has_table(e.db, "disputes")
		            ? "SELECT tree_size, frame FROM checkpoints UNION ALL SELECT -1, frame"
		              " FROM disputes WHERE type = 20 ORDER BY 1"
		            : "SELECT tree_size, frame FROM checkpoints ORDER BY tree_size",
		        -1, &st, NULL) == SQLITE_OK)
			while (rc == PW_OK && sqlite3_step(st) == SQLITE_ROW) {
				const void *f = sqlite3_column_blob(st, 1);
				int n = sqlite3_column_bytes(st, 1);
				if (sqlite3_column_int64(st, 0) < 0)
					snprintf(where, sizeof(where), "%s: %s, refused checkpoint",
					         e.path, e.who);
				else
					snprintf(where, sizeof(where), "%s: %s, checkpoint %lld",
					         e.path, e.who,
					         (long long)sqlite3_column_int64(st, 0));
				rc = audit_cp_add(a, where, f ? f : (const void *)"",
				                  f ? (size_t)n : 0, UINT64_MAX);
				a->r->ev_checkpoints++;
			}
		sqlite3_finalize(st);
		sqlite3_close(e.db);
		if (rc != PW_OK)
			return rc;
	}
	return PW_OK;
}

static int
by_exchange(struct ev *e, const void *frame, int n, uint8_t type, struct pw_msg *m)
{
	return frame != NULL && n > 0 && pw_wire_decode_stored(frame, (size_t)n, m) == PW_OK &&
	       m->type == type &&
	       pw_wire_verify_stored(frame, (size_t)n, e->a->r->market_id) == PW_OK &&
	       memcmp(m->author, e->a->r->exchange_pk, PW_PK_LEN) == 0;
}

/*
 * The head of a protocol-2 ACK (the CHECKPOINT the exchange signed for the
 * batch) against the log: the root of its first tree_size entries.  One
 * receipt thus proves any entry before it dropped or rewritten.  0 after a
 * failure (reported).
 */
static int
head_matches(struct audit *a, const struct pw_receipt *rc, const char *where, const char *who)
{
	uint8_t root[PW_HASH_LEN];
	char sh[2 * PW_HASH_LEN + 1], lh[2 * PW_HASH_LEN + 1];

	if (rc->head.tree_size > a->r->entries) {
		FAIL_AT(a, where,
		        "its ACK's head covers %llu entries but the log holds %llu (entries "
		        "were removed)",
		        (unsigned long long)rc->head.tree_size, (unsigned long long)a->r->entries);
		return 0;
	}
	if (!audit_prefix_root(a, rc->head.tree_size, root) ||
	    memcmp(root, rc->head.root, PW_HASH_LEN) == 0)
		return 1;
	pw_hex_encode(rc->head.root, PW_HASH_LEN, sh);
	pw_hex_encode(root, PW_HASH_LEN, lh);
	FAIL_AT(a, where,
	        "its ACK's head signs root %.16s... for the first %llu entries, the log gives "
	        "%.16s... (an entry before %llu was rewritten, dropped or reordered)",
	        sh, (unsigned long long)rc->head.tree_size, lh,
	        (unsigned long long)rc->head.tree_size);
	audit_plain(a,
	            "The exchange signed, in the receipt it gave %s, a log of %llu entries that "
	            "is not the log's first %llu entries now: the log was changed after it "
	            "acknowledged.",
	            who, (unsigned long long)rc->head.tree_size,
	            (unsigned long long)rc->head.tree_size);
	return 0;
}

/* One request of the outbox with its signed answer (or without one). */
static pw_err
check_item(struct ev *e, sqlite3_stmt *st)
{
	struct audit *a = e->a;
	sqlite3_int64 seq = sqlite3_column_int64(st, 0), state = sqlite3_column_int64(st, 2);
	const void *frame = sqlite3_column_blob(st, 3);
	int n = sqlite3_column_bytes(st, 3);
	const void *rcpt = sqlite3_column_blob(st, 5);
	int rn = sqlite3_column_bytes(st, 5);
	char where[AUDIT_WHERE_LEN];
	struct pw_msg req, ans;
	uint8_t h[PW_HASH_LEN];

	if (frame == NULL || n <= 0 || pw_wire_decode_stored(frame, (size_t)n, &req) != PW_OK)
		return PW_OK; /* not a frame the household signed: no evidence */
	snprintf(where, sizeof(where), "%s: %s, %s %lld", e->path, e->who,
	         pw_msg_type_name(req.type), (long long)seq);
	uint64_t iv = req.type == PW_MSG_ORDER    ? req.u.order.interval
	              : req.type == PW_MSG_CANCEL ? req.u.cancel.interval
	              : req.type == PW_MSG_METER  ? req.u.meter.interval
	                                          : 0; /* COSIGN: no interval */
	if (rcpt == NULL) {
		/* an agent without signed receipts: its own record of the index */
		if (state != 1 || sqlite3_column_type(st, 4) != SQLITE_INTEGER)
			return PW_OK;
		a->r->warnings |= AUDIT_WARN_OLD_EVIDENCE;
		a->r->ev_records++;
		sqlite3_int64 idx = sqlite3_column_int64(st, 4);
		if (idx < 0 || !same_logged(a, (uint64_t)idx, frame, n)) {
			FAIL_AT(
			    a, where,
			    "the agent recorded it acknowledged at entry %lld (no signed receipt "
			    "kept), the log holds another frame there",
			    (long long)idx);
			audit_plain(
			    a,
			    "%s recorded that the exchange accepted its %s as log entry %lld, "
			    "but the log holds something else there (the agent kept no signed "
			    "receipt, so this is the household's word).",
			    e->who, pw_msg_type_name(req.type), (long long)idx);
		}
		return PW_OK;
	}
	if (!by_exchange(e, rcpt, rn, PW_MSG_ACK, &ans) &&
	    !by_exchange(e, rcpt, rn, PW_MSG_REJECT, &ans)) {
		FAIL_AT(a, where,
		        "the receipt held is not an ACK or REJECT signed by the exchange key "
		        "of the database");
		audit_plain(a,
		            "%s holds an answer to its %s that the exchange key of this database "
		            "did not sign: either the database's key was replaced, or the agent's "
		            "evidence is not genuine.",
		            e->who, pw_msg_type_name(req.type));
		return PW_OK;
	}
	const struct pw_receipt *rc = &ans.u.receipt;
	pw_sha256(frame, (size_t)n, h);
	if (memcmp(h, rc->ref_hash, PW_HASH_LEN) != 0)
		return PW_OK; /* answers another frame: not evidence about this one */
	/* protocol 2: only the head is signed; the index and path count only
	 * when they prove this frame in it (anyone can write a path) */
	if (ans.type == PW_MSG_ACK && ans.version == PW_PROTO_VERSION &&
	    pw_wire_ack_check(&ans, frame, (size_t)n) != PW_OK)
		return PW_OK;
	__int128 t = rc->time_s, gate = audit_gate(a, iv);
	if (ans.type == PW_MSG_ACK) {
		a->r->ev_acks++;
		if (rc->log_index >= a->r->entries || !same_logged(a, rc->log_index, frame, n)) {
			FAIL_ENTRY(a, rc->log_index, req.type,
			           "%s: ACKed at this index, but the log %s", where,
			           rc->log_index >= a->r->entries ? "ends before it"
			                                          : "holds another frame there");
			audit_plain(
			    a,
			    "The exchange gave %s a signed receipt for its %s as log entry "
			    "%llu, but the log no longer holds it there: entries were removed, "
			    "reordered or rolled back.",
			    e->who, pw_msg_type_name(req.type), (unsigned long long)rc->log_index);
			return PW_OK;
		}
		if (ans.version == PW_PROTO_VERSION && !head_matches(a, rc, where, e->who))
			return PW_OK;
		const char *late = NULL;
		if ((req.type == PW_MSG_ORDER || req.type == PW_MSG_CANCEL) && t >= gate)
			late = "at or after the gate of its interval";
		else if (req.type == PW_MSG_ORDER && t >= (__int128)req.u.order.expiry_s)
			late = "at or after its expiry";
		else if (req.type == PW_MSG_METER && t < audit_start(a, iv) + a->interval_s)
			late = "before its interval ended";
		if (late != NULL) {
			FAIL_ENTRY(a, rc->log_index, req.type, "%s: ACKed at %llu, %s", where,
			           (unsigned long long)rc->time_s, late);
			audit_plain(
			    a,
			    "The exchange accepted the %s of %s (log entry %llu) %s, by its own "
			    "signed time: a rule of the market was bent for it.",
			    pw_msg_type_name(req.type), e->who, (unsigned long long)rc->log_index,
			    late);
			return PW_OK;
		}
		pw_err g =
		    audit_grow((void **)&e->acks, &e->cap_acks, e->n_acks + 1, sizeof(*e->acks));
		if (g != PW_OK)
			return g;
		e->acks[e->n_acks].idx = rc->log_index;
		e->acks[e->n_acks].time_s = rc->time_s;
		snprintf(e->acks[e->n_acks].where, AUDIT_WHERE_LEN, "%s", where);
		e->n_acks++;
		return PW_OK;
	}
	a->r->ev_rejects++;
	const char *contra = NULL;
	if (rc->reason == PW_REASON_GATE_CLOSED && t < gate && req.type != PW_MSG_METER)
		contra = "gate_closed, signed before the gate";
	else if (rc->reason == PW_REASON_EXPIRED && req.type == PW_MSG_ORDER &&
	         t < (__int128)req.u.order.expiry_s)
		contra = "expired, signed before the order's expiry";
	else if (rc->reason == PW_REASON_METER_TOO_EARLY && req.type == PW_MSG_METER &&
	         t >= audit_start(a, iv) + a->interval_s)
		contra = "meter_too_early, signed after the interval ended";
	if (contra != NULL) {
		FAIL_AT(a, where, "REJECT %s (signed at %llu, interval %llu)", contra,
		        (unsigned long long)rc->time_s, (unsigned long long)iv);
		audit_plain(a,
		            "The exchange refused the %s of %s for interval %llu with a reason its "
		            "own signed time contradicts (%s): a valid request was turned away.",
		            pw_msg_type_name(req.type), e->who, (unsigned long long)iv, contra);
	}
	return PW_OK;
}

static pw_err
check_outbox(struct ev *e)
{
	sqlite3_stmt *st = NULL;
	pw_err rc = PW_OK;
	int have_receipts = 0;

	if (sqlite3_prepare_v2(e->db,
	                       "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = "
	                       "'receipts'",
	                       -1, &st, NULL) == SQLITE_OK)
		have_receipts = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	const char *sql =
	    have_receipts
	        ? "SELECT o.seq, o.type, o.state, o.frame, o.log_index, r.frame FROM outbox o "
	          "LEFT JOIN receipts r ON r.stream = o.stream AND r.seq = o.seq ORDER BY o.rowid"
	        : "SELECT seq, type, state, frame, log_index, NULL FROM outbox ORDER BY rowid";
	if (sqlite3_prepare_v2(e->db, sql, -1, &st, NULL) != SQLITE_OK) {
		FAIL_AT(e->a, e->path, "reading table outbox: %s", sqlite3_errmsg(e->db));
		return PW_OK;
	}
	while (rc == PW_OK && !e->a->r->fail.failed && sqlite3_step(st) == SQLITE_ROW)
		rc = check_item(e, st);
	sqlite3_finalize(st);
	return rc;
}

/* One statement frame the household holds (kept as its truth, or refused
 * as false and kept as evidence): signed by the exchange, it must be the
 * logged one. */
static void
check_statement_frame(struct ev *e, const void *f, int n, const char *kind, sqlite3_int64 iv)
{
	struct audit *a = e->a;
	char where[AUDIT_WHERE_LEN];
	struct pw_msg m;

	snprintf(where, sizeof(where), "%s: %s, %s of interval %lld", e->path, e->who, kind,
	         (long long)iv);
	if (!by_exchange(e, f, n, PW_MSG_STATEMENT, &m))
		return; /* not signed by this exchange key: not evidence */
	a->r->ev_statements++;
	const struct ivl *v = audit_ivl_find(a, m.u.statement.interval, NULL);
	const struct hh *h = audit_hh_find(a, m.u.statement.household);
	uint64_t idx = UINT64_MAX;
	for (size_t j = 0; v != NULL && h != NULL && j < v->n_stmts; j++)
		if (v->stmts[j].hh == (uint32_t)(h - a->hhs))
			idx = v->stmts[j].idx;
	if (idx == UINT64_MAX) {
		FAIL_AT(a, where, "a statement signed by the exchange that the log does not hold");
		audit_plain(a,
		            "%s holds a statement for interval %lld signed by the exchange, but "
		            "the log has no statement of that household for that interval: it "
		            "was removed.",
		            e->who, (long long)iv);
	} else if (!same_logged(a, idx, f, n)) {
		FAIL_ENTRY(a, idx, PW_MSG_STATEMENT, "%s: differs from the statement held", where);
		audit_plain(a,
		            "%s holds a statement for interval %lld signed by the exchange that "
		            "differs from the one in the log (entry %llu): the exchange told the "
		            "household one settlement and logged another.",
		            e->who, (long long)iv, (unsigned long long)idx);
	}
}

/* One RESULT part the household holds: signed by the exchange, it must be
 * a logged part of that interval's RESULT. */
static void
check_result_frame(struct ev *e, const void *f, int n, const char *kind)
{
	struct audit *a = e->a;
	char where[AUDIT_WHERE_LEN];
	struct pw_msg m;

	if (!by_exchange(e, f, n, PW_MSG_RESULT, &m))
		return;
	/* a copy of the log taken before the interval was cleared cannot
	 * hold it yet: only intervals up to its latest RESULT are compared */
	if (!a->have_result || m.u.result.interval > a->last_result_interval)
		return;
	a->r->ev_results++;
	const struct ivl *v = audit_ivl_find(a, m.u.result.interval, NULL);
	snprintf(where, sizeof(where), "%s: %s, %s of interval %llu part %u", e->path, e->who, kind,
	         (unsigned long long)m.u.result.interval, m.u.result.part);
	if (v != NULL && v->result_first_idx != UINT64_MAX)
		for (uint64_t i = v->result_first_idx; i <= v->result_idx && i < a->r->entries; i++)
			if (a->ents[i].type == PW_MSG_RESULT &&
			    a->ents[i].interval == m.u.result.interval && same_logged(a, i, f, n))
				return;
	FAIL_AT(a, where, "a RESULT signed by the exchange that the log does not hold");
	audit_plain(a,
	            "%s holds a clearing result for interval %llu signed by the exchange that "
	            "is not the one in the log: the exchange told the household another "
	            "clearing than it logged (or two different ones).",
	            e->who, (unsigned long long)m.u.result.interval);
}

/* Statements the household verified and kept, the RESULT parts it kept,
 * and the statements and RESULTs it refused (table disputes): each must be
 * the logged one. */
static void
check_statements(struct ev *e, const uint8_t pk[PW_PK_LEN])
{
	struct audit *a = e->a;
	sqlite3_stmt *st = NULL;

	(void)pk;
	if (sqlite3_prepare_v2(e->db, "SELECT interval, frame FROM statements ORDER BY interval",
	                       -1, &st, NULL) == SQLITE_OK)
		while (!a->r->fail.failed && sqlite3_step(st) == SQLITE_ROW)
			check_statement_frame(e, sqlite3_column_blob(st, 1),
			                      sqlite3_column_bytes(st, 1), "statement",
			                      sqlite3_column_int64(st, 0));
	sqlite3_finalize(st);
	st = NULL;
	if (has_table(e->db, "results") &&
	    sqlite3_prepare_v2(e->db,
	                       "SELECT frame FROM results WHERE frame IS NOT NULL"
	                       " ORDER BY interval, part",
	                       -1, &st, NULL) == SQLITE_OK)
		while (!a->r->fail.failed && sqlite3_step(st) == SQLITE_ROW)
			check_result_frame(e, sqlite3_column_blob(st, 0),
			                   sqlite3_column_bytes(st, 0), "RESULT");
	sqlite3_finalize(st);
	st = NULL;
	if (has_table(e->db, "disputes") &&
	    sqlite3_prepare_v2(e->db,
	                       "SELECT type, interval, frame FROM disputes WHERE type IN (18, 19)"
	                       " ORDER BY id",
	                       -1, &st, NULL) == SQLITE_OK)
		while (!a->r->fail.failed && sqlite3_step(st) == SQLITE_ROW) {
			const void *f = sqlite3_column_blob(st, 2);
			int n = sqlite3_column_bytes(st, 2);
			if (sqlite3_column_int(st, 0) == PW_MSG_STATEMENT)
				check_statement_frame(e, f, n, "refused statement",
				                      sqlite3_column_int64(st, 1));
			else
				check_result_frame(e, f, n, "refused RESULT");
		}
	sqlite3_finalize(st);
	st = NULL;
	/* neighbours' cosignatures the household refused: another history */
	if (!a->r->fail.failed && has_table(e->db, "disputes") &&
	    sqlite3_prepare_v2(e->db, "SELECT frame FROM disputes WHERE type = 5 ORDER BY id", -1,
	                       &st, NULL) == SQLITE_OK)
		while (!a->r->fail.failed && sqlite3_step(st) == SQLITE_ROW) {
			char where[AUDIT_WHERE_LEN];
			snprintf(where, sizeof(where), "%s: %s, refused cosignature", e->path,
			         e->who);
			audit_witness_refused(a, where, sqlite3_column_blob(st, 0),
			                      sqlite3_column_bytes(st, 0));
		}
	sqlite3_finalize(st);
}

static int
ack_cmp(const void *x, const void *y)
{
	const struct ackt *a = x, *b = y;
	return a->idx < b->idx ? -1 : a->idx > b->idx;
}

/*
 * Every entry between signed ACK times: the entries are logged in the
 * order the exchange acknowledges them and its clock does not go back, so
 * an entry logged after an ACK dated T happened at or after T, and one
 * logged before an ACK dated T happened at or before T.
 */
/* The first ACK (sorted by index) at an index above `idx`. */
static size_t
first_after(const struct ev *e, uint64_t idx)
{
	size_t lo = 0, hi = e->n_acks;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (e->acks[mid].idx <= idx)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void
check_ack_times(struct ev *e)
{
	struct audit *a = e->a;
	size_t n = e->n_acks;
	if (n == 0)
		return;
	qsort(e->acks, n, sizeof(*e->acks), ack_cmp);
	/* latest ACK up to each position, earliest from each position on */
	size_t *pmax = calloc(n, sizeof(*pmax)), *smin = calloc(n, sizeof(*smin));
	if (pmax == NULL || smin == NULL) {
		free(pmax);
		free(smin);
		FAIL_AT(a, "evidence", "out of memory");
		return;
	}
	for (size_t j = 0; j < n; j++)
		pmax[j] =
		    j > 0 && e->acks[pmax[j - 1]].time_s >= e->acks[j].time_s ? pmax[j - 1] : j;
	for (size_t j = n; j-- > 0;)
		smin[j] =
		    j + 1 < n && e->acks[smin[j + 1]].time_s <= e->acks[j].time_s ? smin[j + 1] : j;
	for (size_t i = 0; i < a->n_ivls && !a->r->fail.failed; i++) {
		const struct ivl *v = a->ivls[i];
		__int128 gate = audit_gate(a, v->interval), due = audit_deadline(a, v->interval);
		/* an order logged after an entry ACKed at or after its gate */
		for (size_t k = 0; k < v->n_orders && !a->r->fail.failed; k++) {
			/* ACKs at indices below the order's: positions [0, cnt) */
			uint64_t x = v->orders[k].idx;
			size_t cnt = x == 0 ? 0 : first_after(e, x - 1);
			if (cnt == 0)
				continue;
			const struct ackt *before = &e->acks[pmax[cnt - 1]];
			if ((__int128)before->time_s >= gate) {
				FAIL_ENTRY(
				    a, v->orders[k].idx, PW_MSG_ORDER,
				    "order for interval %llu logged after entry %llu, which the "
				    "exchange ACKed at %llu, at or after the gate (%s)",
				    (unsigned long long)v->interval,
				    (unsigned long long)before->idx,
				    (unsigned long long)before->time_s, before->where);
				audit_plain(
				    a,
				    "An order for interval %llu was logged after its gate had "
				    "closed, as a receipt held by a household shows.",
				    (unsigned long long)v->interval);
			}
		}
		/* a RESULT or statement logged before an entry ACKed before its
		 * gate or deadline */
		size_t j;
		if (!a->r->fail.failed && v->result_first_idx != UINT64_MAX &&
		    (j = first_after(e, v->result_first_idx)) < n &&
		    (__int128)e->acks[smin[j]].time_s < gate) {
			const struct ackt *k = &e->acks[smin[j]];
			audit_fail(a, v->result_first_idx, "RESULT", NULL,
			           "interval %llu cleared before entry %llu, which the exchange "
			           "ACKed at %llu, before the gate (%s)",
			           (unsigned long long)v->interval, (unsigned long long)k->idx,
			           (unsigned long long)k->time_s, k->where);
			audit_plain(
			    a,
			    "Interval %llu was cleared before its gate closed, as a receipt "
			    "held by a household shows.",
			    (unsigned long long)v->interval);
		}
		if (!a->r->fail.failed && v->first_stmt_idx != UINT64_MAX &&
		    (j = first_after(e, v->first_stmt_idx)) < n &&
		    (__int128)e->acks[smin[j]].time_s < due) {
			const struct ackt *k = &e->acks[smin[j]];
			audit_fail(a, v->first_stmt_idx, "STATEMENT", NULL,
			           "interval %llu settled before entry %llu, which the exchange "
			           "ACKed at %llu, before the deadline (%s)",
			           (unsigned long long)v->interval, (unsigned long long)k->idx,
			           (unsigned long long)k->time_s, k->where);
			audit_plain(a,
			            "Interval %llu was settled before its deadline, as a receipt "
			            "held by a household shows.",
			            (unsigned long long)v->interval);
		}
	}
	free(pmax);
	free(smin);
}

pw_err
audit_evidence_check(struct audit *a)
{
	struct ev e = { .a = a };
	pw_err rc = PW_OK;

	for (size_t i = 0; i < a->opt->n_agents && rc == PW_OK && !a->r->fail.failed; i++) {
		uint8_t pk[PW_PK_LEN];
		int have;
		e.path = a->opt->agents[i];
		if ((rc = open_agent(a, e.path, &e.db)) != PW_OK || e.db == NULL)
			break;
		a->r->agents++;
		agent_household(&e, pk, &have);
		rc = check_outbox(&e);
		if (rc == PW_OK && !a->r->fail.failed)
			check_statements(&e, pk);
		sqlite3_close(e.db);
		e.db = NULL;
	}
	if (rc == PW_OK && !a->r->fail.failed)
		check_ack_times(&e);
	free(e.acks);
	return rc;
}
