/*
 * aheads.c: the heads of the exchange's ACKs, proven against the
 * checkpoints the household trusts (docs/agent.md "Receipts").
 *
 * Every ACK of protocol 2 embeds the signed head of the log after its
 * batch (one head per batch).  Its inclusion path proves the request in
 * that head (aexch.c checks it before the ACK counts); this module proves
 * the head itself part of the one history the exchange publishes: each
 * head is kept (table heads) until a consistency proof from it to a trusted
 * checkpoint at least as large verifies.  Heads are proven one at a time
 * and only when no other query is due (the lowest priority of
 * aexch_pump_queries), since an agent holds a few per interval.  A head of
 * a size held with another root, or one whose proof fails, is a fork: the
 * head's frame is kept as evidence (disputes, class LOG FORK).  A refused
 * proof is one too (an honest exchange proves any two sizes of its log),
 * asked again with backoff in case it was the exchange's hiccup.  Called
 * from the agent's loop thread only.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "agent/adispute.h"
#include "agent/agentd_int.h"
#include "peerwatt/log.h"
#include "peerwatt/merkle.h"

/* Heads kept unproven at most: an exchange that never publishes a
 * checkpoint covering them cannot fill the disk with them. */
#define AHEADS_MAX        4096
#define AHEADS_BACKOFF_MS 300000

enum head_state { HEAD_UNPROVEN = 0, HEAD_REFUSED = 2, HEAD_FORK = -1 };

pw_err
aheads_open(struct agentd *a)
{
	char *err = NULL;
	if (sqlite3_exec(agentd_db(a),
	                 "CREATE TABLE IF NOT EXISTS heads(tree_size INTEGER PRIMARY KEY,"
	                 " root BLOB NOT NULL, frame BLOB NOT NULL, state INTEGER NOT NULL"
	                 " DEFAULT 0, tries INTEGER NOT NULL DEFAULT 0, next_ms INTEGER NOT NULL"
	                 " DEFAULT 0)",
	                 NULL, NULL, &err) != SQLITE_OK) {
		log_warnx("heads: %s", err != NULL ? err : "cannot create the table");
		sqlite3_free(err);
		return PW_ERR_DB;
	}
	return PW_OK;
}

static void
set_state(struct agentd *a, uint64_t size, int state, unsigned tries, int64_t next_ms)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(agentd_db(a),
	                       state == 1 ? "DELETE FROM heads WHERE tree_size = ?1"
	                                  : "UPDATE heads SET state = ?2, tries = ?3, next_ms = ?4"
	                                    " WHERE tree_size = ?1",
	                       -1, &st, NULL) != SQLITE_OK)
		return;
	sqlite3_bind_int64(st, 1, agentd_i64(size));
	if (state != 1) {
		sqlite3_bind_int(st, 2, state);
		sqlite3_bind_int64(st, 3, tries);
		sqlite3_bind_int64(st, 4, next_ms);
	}
	if (sqlite3_step(st) != SQLITE_DONE)
		log_warnx("heads: %s", sqlite3_errmsg(agentd_db(a)));
	sqlite3_finalize(st);
}

/* The kept head of `size`: its frame (as a decoded CHECKPOINT) and tries. */
static int
held(struct agentd *a, uint64_t size, struct pw_checkpoint *h, uint8_t *frame, size_t *len,
     unsigned *tries)
{
	sqlite3_stmt *st;
	int found = 0;
	if (sqlite3_prepare_v2(agentd_db(a), "SELECT frame, tries FROM heads WHERE tree_size = ?",
	                       -1, &st, NULL) != SQLITE_OK)
		return 0;
	sqlite3_bind_int64(st, 1, agentd_i64(size));
	if (sqlite3_step(st) == SQLITE_ROW) {
		const void *f = sqlite3_column_blob(st, 0);
		int n = sqlite3_column_bytes(st, 0);
		struct pw_msg m;
		if (f != NULL && n == PW_CHECKPOINT_FRAME_LEN &&
		    pw_wire_decode_stored(f, (size_t)n, &m) == PW_OK &&
		    m.type == PW_MSG_CHECKPOINT) {
			*h = m.u.checkpoint;
			memcpy(frame, f, (size_t)n);
			*len = (size_t)n;
			*tries = (unsigned)sqlite3_column_int(st, 1);
			found = 1;
		}
	}
	sqlite3_finalize(st);
	return found;
}

static void
fork_found(struct agentd *a, const uint8_t *frame, size_t len, const struct pw_checkpoint *h,
           const char *why, int64_t now)
{
	char detail[400];
	snprintf(detail, sizeof(detail),
	         "the head of tree size %llu that the exchange signed into an ACK %s: it showed"
	         " this household a history it does not publish",
	         (unsigned long long)h->tree_size, why);
	adispute_head_fork(a, frame, len, h, detail, now);
	set_state(a, h->tree_size, HEAD_FORK, 0, 0);
}

void
aheads_add(struct agentd *a, const uint8_t *frame, size_t len, const struct pw_checkpoint *h,
           int64_t now)
{
	uint8_t root[PW_HASH_LEN];
	struct pw_checkpoint old;
	uint8_t oframe[PW_CHECKPOINT_FRAME_LEN];
	size_t olen;
	unsigned tries;
	sqlite3_stmt *st;

	if (h->tree_size == 0 || h->tree_size > INT64_MAX || len != PW_CHECKPOINT_FRAME_LEN)
		return;
	if (held(a, h->tree_size, &old, oframe, &olen, &tries)) {
		if (memcmp(old.root, h->root, PW_HASH_LEN) != 0)
			fork_found(a, frame, len, h,
			           "has another root than an earlier head of that size", now);
		return;
	}
	/* a checkpoint of that size held: equal roots prove it at once */
	if (aledger_root(a->led, h->tree_size, root) == PW_OK) {
		if (memcmp(root, h->root, PW_HASH_LEN) != 0)
			adispute_head_fork(
			    a, frame, len, h,
			    "a head in an ACK has another root than the checkpoint of"
			    " its size: the exchange showed this household two histories",
			    now);
		return; /* equal: proven */
	}
	if (sqlite3_prepare_v2(
	        agentd_db(a),
	        "INSERT OR IGNORE INTO heads(tree_size, root, frame) SELECT ?1, ?2, ?3"
	        " WHERE (SELECT count(*) FROM heads) < ?4",
	        -1, &st, NULL) != SQLITE_OK)
		return;
	sqlite3_bind_int64(st, 1, agentd_i64(h->tree_size));
	sqlite3_bind_blob(st, 2, h->root, PW_HASH_LEN, SQLITE_STATIC);
	sqlite3_bind_blob(st, 3, frame, (int)len, SQLITE_STATIC);
	sqlite3_bind_int(st, 4, AHEADS_MAX);
	if (sqlite3_step(st) != SQLITE_DONE)
		log_warnx("heads: %s", sqlite3_errmsg(agentd_db(a)));
	else if (sqlite3_changes(agentd_db(a)) == 0)
		log_warnx("heads: %d heads wait for a checkpoint to be proven against; the head of"
		          " tree size %llu is not kept",
		          AHEADS_MAX, (unsigned long long)h->tree_size);
	sqlite3_finalize(st);
}

int
aheads_next_query(struct agentd *a, const struct pw_checkpoint *trusted, int64_t now, uint64_t *qa,
                  uint64_t *qb)
{
	for (int round = 0; round < 8; round++) {
		sqlite3_stmt *st;
		uint64_t size = 0;
		if (sqlite3_prepare_v2(
		        agentd_db(a),
		        "SELECT tree_size FROM heads WHERE state IN (0, 2) AND"
		        " next_ms <= ?1 AND tree_size <= ?2 ORDER BY tree_size LIMIT 1",
		        -1, &st, NULL) != SQLITE_OK)
			return 0;
		sqlite3_bind_int64(st, 1, now);
		sqlite3_bind_int64(st, 2, agentd_i64(trusted->tree_size));
		if (sqlite3_step(st) == SQLITE_ROW)
			size = (uint64_t)sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
		if (size == 0)
			return 0;
		if (size < trusted->tree_size) {
			*qa = size;
			*qb = trusted->tree_size;
			return 1;
		}
		/* the trusted checkpoint has the head's size: roots compared */
		struct pw_checkpoint h;
		uint8_t frame[PW_CHECKPOINT_FRAME_LEN];
		size_t len;
		unsigned tries;
		if (!held(a, size, &h, frame, &len, &tries)) {
			set_state(a, size, HEAD_FORK, 0, 0); /* unreadable: never asked again */
			continue;
		}
		if (memcmp(h.root, trusted->root, PW_HASH_LEN) == 0)
			set_state(a, size, 1, 0, 0);
		else
			fork_found(a, frame, len, &h,
			           "has another root than the trusted checkpoint of"
			           " that size",
			           now);
	}
	return 0;
}

void
aheads_on_proof(struct agentd *a, const struct pw_proof *p, int64_t now)
{
	struct pw_checkpoint h;
	uint8_t frame[PW_CHECKPOINT_FRAME_LEN], root[PW_HASH_LEN];
	size_t len;
	unsigned tries;
	char why[200];

	if (p->kind != PW_PROOF_CONSISTENCY || !held(a, p->a, &h, frame, &len, &tries) ||
	    aledger_root(a->led, p->b, root) != PW_OK)
		return;
	if (merkle_verify_consistency(p->a, p->b, h.root, root,
	                              (const uint8_t(*)[MERKLE_HASH_LEN])p->hashes,
	                              p->n_hashes) == PW_OK) {
		if (tries > 0)
			log_info("the head of tree size %llu is proven consistent after all",
			         (unsigned long long)p->a);
		set_state(a, p->a, 1, 0, 0);
		return;
	}
	snprintf(why, sizeof(why),
	         "is not a prefix of the trusted checkpoint of tree size %llu (the consistency"
	         " proof %llu -> %llu fails)",
	         (unsigned long long)p->b, (unsigned long long)p->a, (unsigned long long)p->b);
	fork_found(a, frame, len, &h, why, now);
}

static void
not_proven(struct agentd *a, int answered, int64_t now)
{
	struct pw_checkpoint h;
	uint8_t frame[PW_CHECKPOINT_FRAME_LEN];
	size_t len;
	unsigned tries;
	int64_t wait = a->cfg.reply_timeout_ms;

	if (!held(a, a->q.a, &h, frame, &len, &tries))
		return;
	tries++;
	for (unsigned i = 1; i < tries && wait < AHEADS_BACKOFF_MS; i++)
		wait *= 2;
	if (wait > AHEADS_BACKOFF_MS)
		wait = AHEADS_BACKOFF_MS;
	if (!answered) { /* lost (the link's problem): asked again later */
		set_state(a, h.tree_size, HEAD_UNPROVEN, tries, now + wait);
		return;
	}
	if (tries == 1) {
		char why[200];
		snprintf(
		    why, sizeof(why),
		    "cannot be proven a prefix of the trusted checkpoint of tree size %llu: the"
		    " exchange refuses the consistency proof %llu -> %llu",
		    (unsigned long long)a->q.b, (unsigned long long)a->q.a,
		    (unsigned long long)a->q.b);
		char detail[400];
		snprintf(detail, sizeof(detail),
		         "the head of tree size %llu that the exchange signed into an ACK %s",
		         (unsigned long long)h.tree_size, why);
		adispute_head_fork(a, frame, len, &h, detail, now);
	}
	set_state(a, h.tree_size, HEAD_REFUSED, tries, now + wait);
}

void
aheads_refused(struct agentd *a, int64_t now)
{
	not_proven(a, 1, now);
}

void
aheads_lost(struct agentd *a, int64_t now)
{
	not_proven(a, 0, now);
}
