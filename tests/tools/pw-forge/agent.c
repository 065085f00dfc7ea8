/*
 * agent.c: what a household's agent holds, forged by pw-forge (forge.h):
 * the agent database (agentdb: its frames with the exchange's receipts, its
 * statements, the checkpoints), and the attacks on the evidence in it: a
 * statement other than the log's, a RESULT the log lacks, an ACK re-signed
 * at its order's gate, a REJECT signed before the gate.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/aledger.h"
#include "agent/outbox.h"
#include "forge.h"
#include "peerwatt/merkle.h"

/* The exchange's receive time of entry idx (orders, meters), else -1. */
static int64_t
received(struct forge *f, uint64_t idx)
{
	sqlite3_stmt *st;
	int64_t t = -1;
	if (sqlite3_prepare_v2(f->db,
	                       "SELECT received_s FROM orders WHERE log_idx = ?1 UNION ALL "
	                       "SELECT received_s FROM meters WHERE log_idx = ?1",
	                       -1, &st, NULL) != SQLITE_OK)
		die("received");
	sqlite3_bind_int64(st, 1, (sqlite3_int64)idx);
	if (sqlite3_step(st) == SQLITE_ROW)
		t = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return t;
}

/* Leaf i of the log as loaded (f->e), for the heads of receipts. */
static pw_err
forge_leaf(void *ctx, uint64_t i, uint8_t out[MERKLE_HASH_LEN])
{
	const struct forge *f = ctx;
	if (i >= f->n)
		return PW_ERR_RANGE;
	merkle_leaf_hash(f->e[i].frame, f->e[i].len, out);
	return PW_OK;
}

/*
 * The exchange's receipt of `frame`: a REJECT signed on its own, or an ACK
 * (protocol 2) whose head is the log of the first idx + 1 entries (a batch
 * of one), signed with the exchange key, with the entry's inclusion path.
 */
static void
receipt(struct forge *f, const uint8_t *frame, size_t len, const struct pw_msg *req,
        uint16_t reason, uint64_t idx, uint64_t time_s, uint8_t *out, size_t *out_len)
{
	struct pw_msg m;
	memset(&m, 0, sizeof(m));
	if (reason == 0) {
		struct pw_checkpoint *h = &m.u.receipt.head;
		sqlite3_stmt *st;
		size_t n = 0;
		if (sqlite3_prepare_v2(f->db, "SELECT value FROM params WHERE key = 'market_name'",
		                       -1, &st, NULL) != SQLITE_OK ||
		    sqlite3_step(st) != SQLITE_ROW)
			die("market_name");
		snprintf(h->origin, sizeof(h->origin), "%s",
		         (const char *)sqlite3_column_text(st, 0));
		sqlite3_finalize(st);
		h->tree_size = idx + 1;
		h->time_s = time_s;
		if (merkle_subtree_root(forge_leaf, f, 0, idx + 1, h->root) != PW_OK ||
		    merkle_prove_inclusion(forge_leaf, f, idx, idx + 1, m.u.receipt.path,
		                           PW_PROOF_MAX_HASHES, &n) != PW_OK)
			die("receipt head");
		m.u.receipt.n_hashes = (uint8_t)n;
	}
	m.type = reason == 0 ? PW_MSG_ACK : PW_MSG_REJECT;
	pw_sha256(frame, len, m.u.receipt.ref_hash);
	m.u.receipt.ref_type = req->type;
	m.u.receipt.ref_seq = req->type == PW_MSG_ORDER    ? req->u.order.seq
	                      : req->type == PW_MSG_CANCEL ? req->u.cancel.seq
	                                                   : req->u.meter.seq;
	m.u.receipt.reason = reason;
	m.u.receipt.log_index = reason == 0 ? idx : UINT64_MAX;
	m.u.receipt.time_s = time_s;
	if (pw_wire_encode(&m, f->market_id, &f->ex, out, RECEIPT_MAX, out_len) != PW_OK)
		die("receipt");
}

static void
agent_row(sqlite3 *db, const struct pw_msg *req, const uint8_t *frame, size_t len, int state,
          uint16_t reason, int64_t idx, const uint8_t *rc, size_t rlen)
{
	sqlite3_stmt *st;
	int stream = req->type == PW_MSG_METER;
	uint64_t seq = req->type == PW_MSG_ORDER    ? req->u.order.seq
	               : req->type == PW_MSG_CANCEL ? req->u.cancel.seq
	                                            : req->u.meter.seq;
	uint64_t iv = req->type == PW_MSG_ORDER    ? req->u.order.interval
	              : req->type == PW_MSG_CANCEL ? req->u.cancel.interval
	                                           : req->u.meter.interval;
	if (sqlite3_prepare_v2(
	        db,
	        "INSERT INTO outbox(stream, seq, type, interval, frame, state, reason,"
	        " log_index, created_s) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 0)",
	        -1, &st, NULL) != SQLITE_OK)
		die("outbox");
	sqlite3_bind_int(st, 1, stream);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)seq);
	sqlite3_bind_int(st, 3, req->type);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)iv);
	sqlite3_bind_blob(st, 5, frame, (int)len, SQLITE_STATIC);
	sqlite3_bind_int(st, 6, state);
	sqlite3_bind_int(st, 7, reason);
	if (idx >= 0)
		sqlite3_bind_int64(st, 8, idx);
	if (sqlite3_step(st) != SQLITE_DONE)
		die("outbox row");
	sqlite3_finalize(st);
	if (sqlite3_prepare_v2(db, "INSERT INTO receipts(stream, seq, frame) VALUES (?1, ?2, ?3)",
	                       -1, &st, NULL) != SQLITE_OK)
		die("receipts");
	sqlite3_bind_int(st, 1, stream);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)seq);
	sqlite3_bind_blob(st, 3, rc, (int)rlen, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		die("receipt row");
	sqlite3_finalize(st);
}

int
agentdb(struct forge *f, const char *out, const char *hhkey)
{
	struct pw_keypair hh;
	struct outbox *ob = NULL;
	struct aledger *led = NULL;
	int64_t last_t = 0;
	if (pw_key_load(hhkey, &hh) != PW_OK)
		die(hhkey);
	if (outbox_open(&ob, out, 1) != PW_OK || aledger_open(&led, outbox_db(ob)) != PW_OK)
		die(out);
	sqlite3 *db = outbox_db(ob);
	sql(db, "BEGIN");
	for (size_t i = 0; i < f->n; i++) {
		const struct ent *e = &f->e[i];
		/* the exchange's time when it logged entry i: its own receive time
		 * for orders and readings, else at least the gate of every RESULT
		 * and the deadline of every statement logged before (a cancel) */
		int64_t t = received(f, i);
		if (t > last_t)
			last_t = t;
		if (e->msg.type == PW_MSG_RESULT &&
		    (int64_t)e->msg.u.result.interval * f->interval_s - f->gate_s > last_t)
			last_t = (int64_t)e->msg.u.result.interval * f->interval_s - f->gate_s;
		if (e->msg.type == PW_MSG_STATEMENT &&
		    ((int64_t)e->msg.u.statement.interval + 1) * f->interval_s + f->grace_s >
		        last_t)
			last_t =
			    ((int64_t)e->msg.u.statement.interval + 1) * f->interval_s + f->grace_s;
		if (memcmp(e->msg.author, hh.pk, PW_PK_LEN) == 0 && e->msg.type <= PW_MSG_METER) {
			uint8_t rc[RECEIPT_MAX];
			size_t rlen;
			receipt(f, e->frame, e->len, &e->msg, 0, i, (uint64_t)(t >= 0 ? t : last_t),
			        rc, &rlen);
			agent_row(db, &e->msg, e->frame, e->len, 1, 0, (int64_t)i, rc, rlen);
		}
		if (e->msg.type == PW_MSG_STATEMENT &&
		    memcmp(e->msg.u.statement.household, hh.pk, PW_PK_LEN) == 0) {
			sqlite3_stmt *st;
			if (sqlite3_prepare_v2(
			        db,
			        "INSERT INTO statements(interval, frame, flags, bought_wh,"
			        " sold_wh, export_wh, import_wh, imbalance_wh, fee_u, net_u,"
			        " baseline_u, saving_u, log_index) VALUES (?1, ?2, 0, 0, 0,"
			        " 0, 0, 0, 0, 0, 0, 0, ?3)",
			        -1, &st, NULL) != SQLITE_OK)
				die("statements");
			sqlite3_bind_int64(st, 1, (sqlite3_int64)e->msg.u.statement.interval);
			sqlite3_bind_blob(st, 2, e->frame, (int)e->len, SQLITE_STATIC);
			sqlite3_bind_int64(st, 3, (sqlite3_int64)i);
			if (sqlite3_step(st) != SQLITE_DONE)
				die("statement row");
			sqlite3_finalize(st);
		}
	}
	char q[4200];
	snprintf(q, sizeof(q), "ATTACH '%s' AS x", f->path);
	sql(db, q);
	sql(db, "INSERT INTO checkpoints(tree_size, interval, root, frame) SELECT c.tree_size, "
	        "c.interval, x'00', c.frame FROM x.checkpoints c");
	sql(db, "COMMIT");
	sql(db, "DETACH x");
	aledger_close(&led);
	outbox_close(&ob);
	return 0;
}

int
statement_differs(struct forge *f, const char *agent)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	struct ent e = { 0 };
	if (sqlite3_open(agent, &db) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "SELECT frame, log_index FROM statements ORDER BY interval DESC",
	                       -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW)
		die("agent statements");
	e.len = (size_t)sqlite3_column_bytes(st, 0);
	e.frame = malloc(e.len);
	memcpy(e.frame, sqlite3_column_blob(st, 0), e.len);
	int64_t idx = sqlite3_column_int64(st, 1);
	sqlite3_finalize(st);
	if (pw_wire_decode_stored(e.frame, e.len, &e.msg) != PW_OK)
		die("decode");
	e.msg.u.statement.net_u += 500000;
	e.msg.u.statement.peer_u += 500000;
	e.msg.u.statement.saving_u += 500000;
	resign(f, &e, &f->ex);
	if (sqlite3_prepare_v2(db, "UPDATE statements SET frame = ?1 WHERE interval = ?2", -1, &st,
	                       NULL) != SQLITE_OK)
		die("update");
	sqlite3_bind_blob(st, 1, e.frame, (int)e.len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)e.msg.u.statement.interval);
	if (sqlite3_step(st) != SQLITE_DONE)
		die("update");
	sqlite3_finalize(st);
	sqlite3_close(db);
	free(e.frame);
	printf("entry %lld\n", (long long)idx);
	return 0;
}

/* The agent holds, among the frames it refused as false (table disputes,
 * agent/adispute.c), a RESULT signed by the exchange that the log lacks:
 * the latest logged one with its price moved.  Prints its interval. */
int
result_differs(struct forge *f, const char *agent)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	struct ent e = { 0 };
	if (sqlite3_prepare_v2(f->db,
	                       "SELECT frame FROM results WHERE part = 0 ORDER BY interval DESC",
	                       -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW)
		die("results");
	e.len = (size_t)sqlite3_column_bytes(st, 0);
	e.frame = malloc(e.len);
	if (e.frame == NULL)
		die("memory");
	memcpy(e.frame, sqlite3_column_blob(st, 0), e.len);
	sqlite3_finalize(st);
	if (pw_wire_decode_stored(e.frame, e.len, &e.msg) != PW_OK || e.msg.type != PW_MSG_RESULT)
		die("decode");
	e.msg.u.result.price_uper_kwh += 1;
	resign(f, &e, &f->ex);
	if (sqlite3_open(agent, &db) != SQLITE_OK ||
	    sqlite3_prepare_v2(db,
	                       "INSERT INTO disputes(type, interval, code, detail, frame, time_ms)"
	                       " VALUES (18, ?1, 'result_equivocation', 'pw-forge', ?2, 0)",
	                       -1, &st, NULL) != SQLITE_OK)
		die("agent disputes");
	sqlite3_bind_int64(st, 1, (sqlite3_int64)e.msg.u.result.interval);
	sqlite3_bind_blob(st, 2, e.frame, (int)e.len, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		die("insert");
	sqlite3_finalize(st);
	sqlite3_close(db);
	printf("%llu\n", (unsigned long long)e.msg.u.result.interval);
	free(e.frame);
	return 0;
}

int
late_ack(struct forge *f, const char *agent)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	struct pw_msg req;
	if (sqlite3_open(agent, &db) != SQLITE_OK ||
	    sqlite3_prepare_v2(db,
	                       "SELECT frame, log_index, stream, seq FROM outbox WHERE type = 1 "
	                       "ORDER BY seq LIMIT 1",
	                       -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW)
		die("agent outbox");
	size_t len = (size_t)sqlite3_column_bytes(st, 0);
	uint8_t frame[PW_WIRE_MAX_REQUEST];
	if (len > sizeof(frame))
		die("frame");
	memcpy(frame, sqlite3_column_blob(st, 0), len);
	int64_t idx = sqlite3_column_int64(st, 1);
	int64_t seq = sqlite3_column_int64(st, 3);
	sqlite3_finalize(st);
	if (pw_wire_decode_stored(frame, len, &req) != PW_OK)
		die("decode");
	uint8_t rc[RECEIPT_MAX];
	size_t rlen;
	int64_t gate = (int64_t)req.u.order.interval * f->interval_s - f->gate_s;
	receipt(f, frame, len, &req, 0, (uint64_t)idx, (uint64_t)gate, rc, &rlen);
	if (sqlite3_prepare_v2(db, "UPDATE receipts SET frame = ?1 WHERE stream = 0 AND seq = ?2",
	                       -1, &st, NULL) != SQLITE_OK)
		die("update");
	sqlite3_bind_blob(st, 1, rc, (int)rlen, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, seq);
	if (sqlite3_step(st) != SQLITE_DONE)
		die("update");
	sqlite3_finalize(st);
	sqlite3_close(db);
	printf("entry %lld\n", (long long)idx);
	return 0;
}

int
reject_early(struct forge *f, const char *agent, const char *hhkey)
{
	struct pw_keypair hh;
	struct pw_msg m;
	uint8_t frame[512], rc[RECEIPT_MAX];
	size_t len, rlen;
	sqlite3 *db;
	if (pw_key_load(hhkey, &hh) != PW_OK || sqlite3_open(agent, &db) != SQLITE_OK)
		die("reject-early");
	/* an order for the last interval of the log, refused gate_closed
	 * one minute before that interval's gate */
	uint64_t iv = 0;
	for (size_t i = 0; i < f->n; i++)
		if (f->e[i].msg.type == PW_MSG_RESULT && f->e[i].msg.u.result.interval > iv)
			iv = f->e[i].msg.u.result.interval;
	memset(&m, 0, sizeof(m));
	m.type = PW_MSG_ORDER;
	m.u.order.seq = 999999999;
	m.u.order.interval = iv;
	m.u.order.expiry_s = UINT64_MAX / 2;
	m.u.order.qty_wh = 1;
	m.u.order.price_uper_kwh = f->retail;
	m.u.order.side = PW_SIDE_BUY;
	if (pw_wire_encode(&m, f->market_id, &hh, frame, sizeof(frame), &len) != PW_OK)
		die("encode");
	int64_t gate = (int64_t)iv * f->interval_s - f->gate_s;
	receipt(f, frame, len, &m, PW_REASON_GATE_CLOSED, 0, (uint64_t)(gate - 60), rc, &rlen);
	agent_row(db, &m, frame, len, 2, PW_REASON_GATE_CLOSED, -1, rc, rlen);
	sqlite3_close(db);
	printf("ORDER 999999999\n");
	return 0;
}
