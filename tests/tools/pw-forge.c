/*
 * pw-forge.c: the operator's attacks on a copy of a real exchange database,
 * made with the exchange's own key, for tests of peerwatt-audit.
 *
 *   pw-forge DB EXKEY no-clear              never clear the last interval with
 *                                           trades: its RESULT removed, its
 *                                           statements re-signed as if nothing
 *                                           traded
 *   pw-forge DB EXKEY omit-statement PKHEX  the household's statement removed
 *   pw-forge DB EXKEY settle-early          the latest checkpoint re-signed one
 *                                           second before its interval's deadline
 *   pw-forge DB EXKEY served-statement      the statements table serves a
 *                                           re-signed statement the log lacks
 *   pw-forge DB EXKEY rekey NEWKEY          the whole history (MARKET and
 *                                           REGISTRY entries included) re-signed
 *                                           under NEWKEY, written into params
 *   pw-forge DB EXKEY rollback HHKEY        the household's last entry removed
 *   pw-forge DB EXKEY agentdb OUT HHKEY     OUT: the agent database household
 *                                           HHKEY would hold (agent/outbox.c and
 *                                           agent/aledger.c schema): its frames
 *                                           with the exchange's signed ACKs
 *                                           (times from the exchange's tables),
 *                                           its statements, the checkpoints
 *   pw-forge DB EXKEY statement-differs AGENTDB   the agent holds another
 *                                           signed statement than the log
 *   pw-forge DB EXKEY result-differs AGENTDB  the agent holds, as refused, a
 *                                           signed RESULT the log lacks
 *   pw-forge DB EXKEY late-ack AGENTDB      an ACK the agent holds re-signed
 *                                           at its order's gate
 *   pw-forge DB EXKEY reject-early AGENTDB HHKEY  the agent holds a REJECT
 *                                           gate_closed signed before the gate
 *   pw-forge DB EXKEY registry-rewrite PKHEX  the household's REGISTRY entry
 *                                           re-signed with another meter serial
 *                                           (table households too)
 *   pw-forge DB EXKEY register-late PKHEX   its REGISTRY entry moved after its
 *                                           first order
 *   pw-forge DB EXKEY revoke PKHEX          a REGISTRY entry revoking it logged
 *                                           before its last entry
 *   pw-forge DB EXKEY retro-tariff          a MARKET entry raising the retail
 *                                           tariff from the last traded interval
 *                                           on, appended (table params too)
 *   pw-forge DB EXKEY result-price DELTA    the last traded interval's RESULT
 *                                           re-signed with its clearing price
 *                                           moved by DELTA u/kWh (signed: a
 *                                           more negative price makes sellers
 *                                           pay more); statements left alone
 *   pw-forge DB EXKEY clear-early           the RESULT of the last traded
 *                                           interval moved right after its last
 *                                           order, where a checkpoint signed
 *                                           before its gate holds it (the empty
 *                                           RESULTs in between left out; no such
 *                                           checkpoint: exit 70)
 *   pw-forge DB EXKEY cosign-fork HHKEY [AGENTDB]  a split view: household
 *                                           HHKEY's COSIGN of the latest
 *                                           checkpoint's size with another root
 *                                           (the one it was shown) appended; with
 *                                           AGENTDB, kept there instead as a
 *                                           neighbour's cosignature that agent
 *                                           refused (disputes, cosign_fork)
 *
 * Removing entries rebuilds the log as a cheating operator would: leaves,
 * the served tables (statements, results) and every checkpoint re-signed
 * over the new log, so the database alone is consistent.  Each attack
 * prints where peerwatt-audit must name it ("entry N", "checkpoint N", ...).
 * Exit: 0, 64 usage, 70 on an internal failure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <sqlite3.h>

#include "agent/aledger.h"
#include "agent/outbox.h"
#include "peerwatt/keys.h"
#include "peerwatt/merkle.h"
#include "peerwatt/wire.h"
#include "rules/settle.h"

#define MAX_ENTRIES (1u << 20)

struct ent {
	uint8_t *frame;
	size_t len;
	struct pw_msg msg;
	int drop;
	size_t orig; /* its index in the database; SIZE_MAX: inserted by the attack */
};

#define RECEIPT_MAX PW_RECEIPT_MAX_LEN

struct forge {
	sqlite3 *db;
	struct pw_keypair ex;
	uint64_t market_id;
	int64_t interval_s, gate_s, grace_s;
	int32_t feedin, retail;
	struct ent *e;
	size_t n;
	const char *path;
	int keep_first_cp; /* checkpoints that come to the same size: keep the first */
};

static _Noreturn void
die(const char *what)
{
	fprintf(stderr, "pw-forge: %s\n", what);
	exit(70);
}

static void
sql(sqlite3 *db, const char *q)
{
	char *msg = NULL;
	if (sqlite3_exec(db, q, NULL, NULL, &msg) != SQLITE_OK) {
		fprintf(stderr, "pw-forge: %s: %s\n", q, msg ? msg : "?");
		exit(70);
	}
}

static int64_t
param(struct forge *f, const char *key)
{
	sqlite3_stmt *st;
	int64_t v = 0;
	if (sqlite3_prepare_v2(f->db, "SELECT value FROM params WHERE key = ?1", -1, &st, NULL) !=
	    SQLITE_OK)
		die("params");
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static void
load(struct forge *f, const char *path, const char *key)
{
	sqlite3_stmt *st;
	if (sqlite3_open(path, &f->db) != SQLITE_OK)
		die(path);
	if (pw_key_load(key, &f->ex) != PW_OK)
		die(key);
	f->market_id = (uint64_t)param(f, "market_id");
	f->interval_s = param(f, "interval_s");
	f->gate_s = param(f, "gate_s");
	f->grace_s = param(f, "grace_s");
	f->feedin = (int32_t)param(f, "feedin_uper_kwh");
	f->retail = (int32_t)param(f, "retail_uper_kwh");
	f->e = calloc(MAX_ENTRIES, sizeof(*f->e));
	if (f->e == NULL || sqlite3_prepare_v2(f->db, "SELECT frame FROM log ORDER BY idx", -1, &st,
	                                       NULL) != SQLITE_OK)
		die("log");
	while (sqlite3_step(st) == SQLITE_ROW && f->n < MAX_ENTRIES) {
		struct ent *e = &f->e[f->n];
		e->orig = f->n++;
		e->len = (size_t)sqlite3_column_bytes(st, 0);
		e->frame = malloc(e->len);
		if (e->frame == NULL)
			die("memory");
		memcpy(e->frame, sqlite3_column_blob(st, 0), e->len);
		if (pw_wire_decode_stored(e->frame, e->len, &e->msg) != PW_OK)
			die("decode");
	}
	sqlite3_finalize(st);
}

static void
resign(struct forge *f, struct ent *e, const struct pw_keypair *kp)
{
	uint8_t buf[PW_WIRE_MAX_LEN];
	size_t len;
	/* a RESULT's trades point into the old frame: re-encode from them */
	struct pw_trade *tr = NULL;
	if (e->msg.type == PW_MSG_RESULT && e->msg.u.result.n_trades > 0) {
		tr = calloc(e->msg.u.result.n_trades, sizeof(*tr));
		for (uint16_t i = 0; tr != NULL && i < e->msg.u.result.n_trades; i++)
			if (pw_wire_result_trade(&e->msg.u.result, i, &tr[i]) != PW_OK)
				die("trade");
		e->msg.u.result.trades = tr;
	}
	if (pw_wire_encode(&e->msg, f->market_id, kp, buf, sizeof(buf), &len) != PW_OK)
		die("re-sign");
	free(tr);
	free(e->frame);
	e->frame = malloc(len);
	if (e->frame == NULL)
		die("memory");
	memcpy(e->frame, buf, len);
	e->len = len;
	if (pw_wire_decode_stored(e->frame, e->len, &e->msg) != PW_OK)
		die("decode");
}

/* The new index of old entry i (entries kept or inserted before it). */
static uint64_t
new_index(const struct forge *f, size_t i)
{
	uint64_t k = 0;
	for (size_t j = 0; j < f->n && (f->e[j].orig == SIZE_MAX || f->e[j].orig < i); j++)
		k += !f->e[j].drop;
	return k;
}

/* The new index of the entry at position pos of f->e. */
static uint64_t
pos_index(const struct forge *f, size_t pos)
{
	uint64_t k = 0;
	for (size_t j = 0; j < pos && j < f->n; j++)
		k += !f->e[j].drop;
	return k;
}

/* A new entry at position pos: a re-signed copy of `from` with `msg`. */
static void
insert_at(struct forge *f, size_t pos, const struct pw_msg *msg)
{
	if (f->n >= MAX_ENTRIES || pos > f->n)
		die("insert");
	memmove(&f->e[pos + 1], &f->e[pos], (f->n - pos) * sizeof(*f->e));
	f->n++;
	struct ent *e = &f->e[pos];
	memset(e, 0, sizeof(*e));
	e->orig = SIZE_MAX;
	e->msg = *msg;
	resign(f, e, &f->ex);
}

/* Write the log back, rebuild the served tables, re-sign every checkpoint
 * over the new log (`time_of` may move the latest one). */
static void
rewrite(struct forge *f, const struct pw_keypair *kp, int64_t latest_time)
{
	sqlite3_stmt *ins, *cps;
	uint8_t leaf[PW_HASH_LEN];
	uint64_t k = 0;

	sql(f->db, "BEGIN; DELETE FROM log; DELETE FROM log_nodes; DELETE FROM statements;"
	           " DELETE FROM results;");
	if (sqlite3_prepare_v2(f->db, "INSERT INTO log(idx, type, frame, leaf) VALUES (?, ?, ?, ?)",
	                       -1, &ins, NULL) != SQLITE_OK)
		die("insert");
	for (size_t i = 0; i < f->n; i++) {
		struct ent *e = &f->e[i];
		if (e->drop)
			continue;
		merkle_leaf_hash(e->frame, e->len, leaf);
		sqlite3_bind_int64(ins, 1, (sqlite3_int64)k);
		sqlite3_bind_int(ins, 2, e->msg.type);
		sqlite3_bind_blob(ins, 3, e->frame, (int)e->len, SQLITE_TRANSIENT);
		sqlite3_bind_blob(ins, 4, leaf, PW_HASH_LEN, SQLITE_TRANSIENT);
		if (sqlite3_step(ins) != SQLITE_DONE)
			die("insert");
		sqlite3_reset(ins);
		char q[256];
		sqlite3_stmt *s2;
		if (e->msg.type == PW_MSG_STATEMENT || e->msg.type == PW_MSG_RESULT) {
			snprintf(
			    q, sizeof(q), "%s",
			    e->msg.type == PW_MSG_STATEMENT
			        ? "INSERT INTO statements(pk, interval, frame, log_idx) VALUES "
			          "(?1, ?2, ?3, ?4)"
			        : "INSERT INTO results(part, interval, frame, log_idx) VALUES "
			          "(?1, ?2, ?3, ?4)");
			if (sqlite3_prepare_v2(f->db, q, -1, &s2, NULL) != SQLITE_OK)
				die("served");
			if (e->msg.type == PW_MSG_STATEMENT) {
				sqlite3_bind_blob(s2, 1, e->msg.u.statement.household, PW_PK_LEN,
				                  SQLITE_STATIC);
				sqlite3_bind_int64(s2, 2,
				                   (sqlite3_int64)e->msg.u.statement.interval);
			} else {
				sqlite3_bind_int(s2, 1, e->msg.u.result.part);
				sqlite3_bind_int64(s2, 2, (sqlite3_int64)e->msg.u.result.interval);
			}
			sqlite3_bind_blob(s2, 3, e->frame, (int)e->len, SQLITE_STATIC);
			sqlite3_bind_int64(s2, 4, (sqlite3_int64)k);
			if (sqlite3_step(s2) != SQLITE_DONE)
				die("served");
			sqlite3_finalize(s2);
		}
		k++;
	}
	sqlite3_finalize(ins);
	/* checkpoints: new size, new root, re-signed */
	struct {
		uint64_t size;
		struct pw_msg m;
	} *cp = calloc(4096, sizeof(*cp));
	size_t n_cp = 0;
	if (cp == NULL || sqlite3_prepare_v2(f->db,
	                                     "SELECT tree_size, frame FROM checkpoints ORDER "
	                                     "BY tree_size",
	                                     -1, &cps, NULL) != SQLITE_OK)
		die("checkpoints");
	while (sqlite3_step(cps) == SQLITE_ROW && n_cp < 4096) {
		if (pw_wire_decode_stored(sqlite3_column_blob(cps, 1),
		                          (size_t)sqlite3_column_bytes(cps, 1),
		                          &cp[n_cp].m) != PW_OK)
			die("checkpoint");
		cp[n_cp].size = new_index(f, (size_t)sqlite3_column_int64(cps, 0));
		n_cp++;
	}
	sqlite3_finalize(cps);
	sql(f->db, "DELETE FROM checkpoints");
	for (size_t c = 0; c < n_cp; c++) {
		struct merkle_range r;
		merkle_range_init(&r);
		uint64_t j = 0;
		for (size_t i = 0; i < f->n && j < cp[c].size; i++)
			if (!f->e[i].drop) {
				merkle_leaf_hash(f->e[i].frame, f->e[i].len, leaf);
				if (merkle_range_append(&r, leaf) != PW_OK)
					die("range");
				j++;
			}
		cp[c].m.u.checkpoint.tree_size = cp[c].size;
		merkle_range_root(&r, cp[c].m.u.checkpoint.root);
		if (c + 1 == n_cp && latest_time >= 0)
			cp[c].m.u.checkpoint.time_s = (uint64_t)latest_time;
		uint8_t buf[512];
		size_t len;
		if (pw_wire_encode(&cp[c].m, f->market_id, kp, buf, sizeof(buf), &len) != PW_OK ||
		    sqlite3_prepare_v2(
		        f->db,
		        f->keep_first_cp
		            ? "INSERT OR IGNORE INTO checkpoints(tree_size, interval, "
		              "frame) VALUES (?1, ?2, ?3)"
		            : "INSERT OR REPLACE INTO checkpoints(tree_size, interval, "
		              "frame) VALUES (?1, ?2, ?3)",
		        -1, &cps, NULL) != SQLITE_OK)
			die("checkpoint");
		sqlite3_bind_int64(cps, 1, (sqlite3_int64)cp[c].size);
		sqlite3_bind_int64(cps, 2, (sqlite3_int64)cp[c].m.u.checkpoint.interval);
		sqlite3_bind_blob(cps, 3, buf, (int)len, SQLITE_TRANSIENT);
		if (sqlite3_step(cps) != SQLITE_DONE)
			die("checkpoint");
		sqlite3_finalize(cps);
	}
	free(cp);
	sql(f->db, "COMMIT");
}

/* The last interval with trades and statements. */
static uint64_t
traded_interval(struct forge *f)
{
	uint64_t iv = UINT64_MAX;
	for (size_t i = 0; i < f->n; i++)
		if (f->e[i].msg.type == PW_MSG_RESULT && f->e[i].msg.u.result.n_trades_total > 0)
			for (size_t j = i; j < f->n; j++)
				if (f->e[j].msg.type == PW_MSG_STATEMENT &&
				    f->e[j].msg.u.statement.interval ==
				        f->e[i].msg.u.result.interval)
					iv = f->e[i].msg.u.result.interval;
	if (iv == UINT64_MAX)
		die("no interval with trades and statements");
	return iv;
}

static int
no_clear(struct forge *f)
{
	uint64_t iv = traded_interval(f);
	size_t first = SIZE_MAX;
	struct settle_tariffs t = { f->feedin, f->retail };
	for (size_t i = 0; i < f->n; i++) {
		struct pw_msg *m = &f->e[i].msg;
		if (m->type == PW_MSG_RESULT && m->u.result.interval == iv)
			f->e[i].drop = 1;
		if (m->type != PW_MSG_STATEMENT || m->u.statement.interval != iv)
			continue;
		/* settled as if nothing traded, from its reading */
		struct settle_reading rd = { .missing = 1 };
		for (size_t j = 0; j < i; j++) {
			const struct pw_msg *r = &f->e[j].msg;
			if (r->type == PW_MSG_METER && r->u.meter.interval == iv &&
			    memcmp(r->author, m->u.statement.household, PW_PK_LEN) == 0) {
				rd.missing = 0;
				rd.export_wh =
				    r->u.meter.export_end_wh - r->u.meter.export_start_wh;
				rd.import_wh =
				    r->u.meter.import_end_wh - r->u.meter.import_start_wh;
				rd.late = (m->u.statement.flags & PW_STMT_READING_LATE) != 0;
			}
		}
		struct pw_statement st;
		memset(&st, 0, sizeof(st));
		memcpy(st.household, m->u.statement.household, PW_PK_LEN);
		st.interval = iv;
		if (settle_household(&t, 0, NULL, 0, &rd, &st) != PW_OK)
			die("settle");
		m->u.statement = st;
		resign(f, &f->e[i], &f->ex);
		if (first == SIZE_MAX)
			first = i;
	}
	rewrite(f, &f->ex, -1);
	printf("entry %llu\n", (unsigned long long)new_index(f, first));
	return 0;
}

static int
omit_statement(struct forge *f, const char *pkhex)
{
	uint8_t pk[PW_PK_LEN];
	size_t victim = SIZE_MAX, first = SIZE_MAX;
	if (pw_hex_decode(pkhex, pk, PW_PK_LEN) != PW_OK)
		die("PKHEX");
	for (size_t i = 0; i < f->n; i++)
		if (f->e[i].msg.type == PW_MSG_STATEMENT &&
		    memcmp(f->e[i].msg.u.statement.household, pk, PW_PK_LEN) == 0)
			victim = i;
	if (victim == SIZE_MAX)
		die("the household has no statement");
	f->e[victim].drop = 1;
	for (size_t i = 0; i < f->n; i++)
		if (!f->e[i].drop && f->e[i].msg.type == PW_MSG_STATEMENT &&
		    f->e[i].msg.u.statement.interval == f->e[victim].msg.u.statement.interval &&
		    first == SIZE_MAX)
			first = i;
	rewrite(f, &f->ex, -1);
	if (first == SIZE_MAX) /* it was the interval's only statement */
		printf("interval %llu\n",
		       (unsigned long long)f->e[victim].msg.u.statement.interval);
	else
		printf("entry %llu\n", (unsigned long long)new_index(f, first));
	return 0;
}

static int
settle_early(struct forge *f)
{
	sqlite3_stmt *st;
	struct pw_msg m;
	if (sqlite3_prepare_v2(f->db,
	                       "SELECT frame FROM checkpoints ORDER BY tree_size DESC LIMIT 1", -1,
	                       &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW ||
	    pw_wire_decode_stored(sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0),
	                          &m) != PW_OK)
		die("no checkpoint");
	sqlite3_finalize(st);
	int64_t due = ((int64_t)m.u.checkpoint.interval + 1) * f->interval_s + f->grace_s;
	rewrite(f, &f->ex, due - 1);
	printf("checkpoint %llu\n", (unsigned long long)m.u.checkpoint.tree_size);
	return 0;
}

static int
served_statement(struct forge *f)
{
	for (size_t i = f->n; i-- > 0;) {
		struct ent e = f->e[i];
		if (e.msg.type != PW_MSG_STATEMENT)
			continue;
		e.frame = malloc(e.len);
		memcpy(e.frame, f->e[i].frame, e.len);
		e.msg.u.statement.net_u -= 1000000;
		e.msg.u.statement.grid_u -= 1000000;
		e.msg.u.statement.saving_u -= 1000000;
		resign(f, &e, &f->ex);
		sqlite3_stmt *st;
		if (sqlite3_prepare_v2(f->db, "UPDATE statements SET frame = ?1 WHERE log_idx = ?2",
		                       -1, &st, NULL) != SQLITE_OK)
			die("update");
		sqlite3_bind_blob(st, 1, e.frame, (int)e.len, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, (sqlite3_int64)i);
		if (sqlite3_step(st) != SQLITE_DONE || sqlite3_changes(f->db) != 1)
			die("update");
		sqlite3_finalize(st);
		free(e.frame);
		printf("statements row\n");
		return 0;
	}
	die("no statement");
}

static int
rekey(struct forge *f, const char *newkey)
{
	struct pw_keypair nk;
	char hex[2 * PW_PK_LEN + 1], q[256];
	if (pw_key_load(newkey, &nk) != PW_OK)
		die(newkey);
	for (size_t i = 0; i < f->n; i++) /* everything the exchange signed */
		if (memcmp(f->e[i].msg.author, f->ex.pk, PW_PK_LEN) == 0)
			resign(f, &f->e[i], &nk);
	rewrite(f, &nk, -1);
	pw_hex_encode(nk.pk, PW_PK_LEN, hex);
	snprintf(q, sizeof(q), "UPDATE params SET value = '%s' WHERE key = 'exchange_pk'", hex);
	sql(f->db, q);
	printf("database\n");
	return 0;
}

static int
rollback(struct forge *f, const char *hhkey)
{
	struct pw_keypair hh;
	size_t last = SIZE_MAX;
	if (pw_key_load(hhkey, &hh) != PW_OK)
		die(hhkey);
	for (size_t i = 0; i < f->n; i++)
		if (memcmp(f->e[i].msg.author, hh.pk, PW_PK_LEN) == 0)
			last = i;
	if (last == SIZE_MAX)
		die("the household has no entry");
	f->e[last].drop = 1;
	rewrite(f, &f->ex, -1);
	printf("entry %llu\n", (unsigned long long)last);
	return 0;
}

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

static int
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

static int
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
static int
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

static int
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

static int
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

/* The position of the household's first REGISTRY entry. */
static size_t
registry_of(struct forge *f, const uint8_t pk[PW_PK_LEN])
{
	for (size_t i = 0; i < f->n; i++)
		if (f->e[i].msg.type == PW_MSG_REGISTRY &&
		    memcmp(f->e[i].msg.u.registry.household, pk, PW_PK_LEN) == 0)
			return i;
	die("the household has no REGISTRY entry");
}

static void
hexkey(const char *pkhex, uint8_t pk[PW_PK_LEN])
{
	if (pw_hex_decode(pkhex, pk, PW_PK_LEN) != PW_OK)
		die("PKHEX");
}

/* The position of the household's first (or last) ORDER, CANCEL or METER. */
static size_t
household_entry(struct forge *f, const uint8_t pk[PW_PK_LEN], uint8_t type, int last)
{
	size_t at = SIZE_MAX;
	for (size_t i = 0; i < f->n; i++)
		if (f->e[i].msg.type <= PW_MSG_METER && (type == 0 || f->e[i].msg.type == type) &&
		    memcmp(f->e[i].msg.author, pk, PW_PK_LEN) == 0 && (last || at == SIZE_MAX))
			at = i;
	if (at == SIZE_MAX)
		die("the household has no such entry");
	return at;
}

/* The household's REGISTRY entry rewritten with another meter serial (the
 * table households too): its readings no longer match its registry. */
static int
registry_rewrite(struct forge *f, const char *pkhex)
{
	uint8_t pk[PW_PK_LEN];
	char q[256];
	hexkey(pkhex, pk);
	size_t r = registry_of(f, pk);
	memset(f->e[r].msg.u.registry.serial, 0, PW_SERIAL_LEN);
	memcpy(f->e[r].msg.u.registry.serial, "FORGED-1", 8);
	resign(f, &f->e[r], &f->ex);
	size_t m = household_entry(f, pk, PW_MSG_METER, 0);
	rewrite(f, &f->ex, -1);
	snprintf(q, sizeof(q),
	         "UPDATE households SET serial = 'FORGED-1' WHERE hex(pk) = upper('%s')", pkhex);
	sql(f->db, q);
	printf("entry %llu\n", (unsigned long long)pos_index(f, m));
	return 0;
}

/* The household's REGISTRY entry moved after its first order: it traded
 * before it was registered. */
static int
register_late(struct forge *f, const char *pkhex)
{
	uint8_t pk[PW_PK_LEN];
	hexkey(pkhex, pk);
	size_t r = registry_of(f, pk);
	size_t o = household_entry(f, pk, PW_MSG_ORDER, 0);
	struct pw_msg m = f->e[r].msg;
	f->e[r].drop = 1;
	insert_at(f, o + 1, &m);
	rewrite(f, &f->ex, -1);
	printf("entry %llu\n", (unsigned long long)pos_index(f, o));
	return 0;
}

/* A REGISTRY entry revoking the household logged before its last order,
 * cancel or reading (the table households says revoked too). */
static int
revoke(struct forge *f, const char *pkhex)
{
	uint8_t pk[PW_PK_LEN];
	char q[256];
	hexkey(pkhex, pk);
	size_t r = registry_of(f, pk);
	size_t last = household_entry(f, pk, 0, 1);
	struct pw_msg m = f->e[r].msg;
	m.u.registry.revoked = 1;
	insert_at(f, last, &m);
	rewrite(f, &f->ex, -1);
	snprintf(q, sizeof(q), "UPDATE households SET revoked = 1 WHERE hex(pk) = upper('%s')",
	         pkhex);
	sql(f->db, q);
	printf("entry %llu\n", (unsigned long long)pos_index(f, last + 1));
	return 0;
}

/* A MARKET entry with a higher retail tariff, effective from the last
 * interval that traded, appended (table params too). */
static int
retro_tariff(struct forge *f)
{
	uint64_t iv = traded_interval(f);
	size_t g = SIZE_MAX;
	char q[256];
	for (size_t i = 0; i < f->n && g == SIZE_MAX; i++)
		if (f->e[i].msg.type == PW_MSG_MARKET)
			g = i;
	if (g == SIZE_MAX)
		die("no MARKET entry");
	struct pw_msg m = f->e[g].msg;
	m.u.market.effective_interval = iv;
	m.u.market.retail_uper_kwh += 10000;
	m.u.market.time_s = ((uint64_t)iv + 2) * (uint64_t)f->interval_s;
	insert_at(f, f->n, &m);
	rewrite(f, &f->ex, -1);
	snprintf(q, sizeof(q), "UPDATE params SET value = %d WHERE key = 'retail_uper_kwh'",
	         m.u.market.retail_uper_kwh);
	sql(f->db, q);
	printf("entry %llu\n", (unsigned long long)pos_index(f, f->n - 1));
	return 0;
}

/* Whether any ORDER, CANCEL, METER or STATEMENT of the log is for `iv`. */
static int
interval_used(const struct forge *f, uint64_t iv)
{
	for (size_t i = 0; i < f->n; i++) {
		const struct pw_msg *m = &f->e[i].msg;
		if ((m->type == PW_MSG_ORDER && m->u.order.interval == iv) ||
		    (m->type == PW_MSG_CANCEL && m->u.cancel.interval == iv) ||
		    (m->type == PW_MSG_METER && m->u.meter.interval == iv) ||
		    (m->type == PW_MSG_STATEMENT && m->u.statement.interval == iv))
			return 1;
	}
	return 0;
}

/* The RESULT (all parts) of the last traded interval X moved earlier, to
 * right after the last ORDER or CANCEL for X (and after the RESULT of any
 * earlier interval that had entries), when a checkpoint signed before X's
 * gate holds that position: X cleared before its gate.  The empty RESULTs
 * of earlier intervals without any entry logged between that position and
 * X's RESULT are left out (the exchange clears intervals in order: kept,
 * they would be named first, as cleared after a later interval), and of
 * the checkpoints that then hold the same entries the first is kept. */
static int
clear_early(struct forge *f)
{
	uint64_t iv = traded_interval(f);
	int64_t gate = (int64_t)iv * f->interval_s - f->gate_s;
	size_t r0 = SIZE_MAX, pos = 0, n_parts = 0;
	for (size_t i = 0; i < f->n; i++) {
		const struct pw_msg *m = &f->e[i].msg;
		if (m->type == PW_MSG_RESULT && m->u.result.interval == iv) {
			if (r0 == SIZE_MAX)
				r0 = i;
			n_parts++;
		} else if (r0 == SIZE_MAX &&
		           ((m->type == PW_MSG_ORDER && m->u.order.interval == iv) ||
		            (m->type == PW_MSG_CANCEL && m->u.cancel.interval == iv) ||
		            (m->type == PW_MSG_RESULT && m->u.result.interval < iv &&
		             interval_used(f, m->u.result.interval))))
			pos = i + 1;
	}
	/* the first checkpoint holding position pos: signed before the gate? */
	sqlite3_stmt *st;
	struct pw_msg cp;
	int found = 0;
	if (sqlite3_prepare_v2(f->db,
	                       "SELECT frame FROM checkpoints WHERE tree_size > ?1 ORDER BY "
	                       "tree_size LIMIT 1",
	                       -1, &st, NULL) != SQLITE_OK)
		die("checkpoints");
	sqlite3_bind_int64(st, 1, (sqlite3_int64)pos);
	if (sqlite3_step(st) == SQLITE_ROW) {
		if (pw_wire_decode_stored(sqlite3_column_blob(st, 0),
		                          (size_t)sqlite3_column_bytes(st, 0), &cp) != PW_OK)
			die("checkpoint");
		found = (int64_t)cp.u.checkpoint.time_s < gate;
	}
	sqlite3_finalize(st);
	if (!found || pos >= r0) {
		fprintf(stderr,
		        "pw-forge: clear-early: no checkpoint signed before the gate %lld of "
		        "interval %llu holds a place after its orders\n",
		        (long long)gate, (unsigned long long)iv);
		exit(70);
	}
	/* the empty clearings in between; the checkpoints over them then hold
	 * the same entries: the first signed of them is kept */
	f->keep_first_cp = 1;
	for (size_t i = pos; i < r0; i++)
		if (f->e[i].msg.type == PW_MSG_RESULT && f->e[i].msg.u.result.interval < iv)
			f->e[i].drop = 1;
	for (size_t k = 0; k < n_parts; k++) /* part k: the first not yet moved */
		for (size_t j = pos + k; j < f->n; j++)
			if (!f->e[j].drop && f->e[j].orig != SIZE_MAX &&
			    f->e[j].msg.type == PW_MSG_RESULT &&
			    f->e[j].msg.u.result.interval == iv) {
				struct pw_msg m = f->e[j].msg;
				f->e[j].drop = 1;
				insert_at(f, pos + k, &m);
				break;
			}
	rewrite(f, &f->ex, -1);
	printf("entry %llu\n", (unsigned long long)pos_index(f, pos));
	return 0;
}

/* A COSIGN by the household of key file `hhkey` over the latest
 * checkpoint's size and another root, appended to the log. */
static int
cosign_fork(struct forge *f, const char *hhkey, const char *agent)
{
	struct pw_keypair hh;
	sqlite3_stmt *st;
	struct pw_msg cp, m;
	if (pw_key_load(hhkey, &hh) != PW_OK)
		die(hhkey);
	if (sqlite3_prepare_v2(f->db, "SELECT frame FROM checkpoints ORDER BY tree_size DESC", -1,
	                       &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW ||
	    pw_wire_decode_stored(sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0),
	                          &cp) != PW_OK)
		die("no checkpoint");
	sqlite3_finalize(st);
	memset(&m, 0, sizeof(m));
	m.type = PW_MSG_COSIGN;
	memcpy(m.u.cosign.origin, cp.u.checkpoint.origin, PW_ORIGIN_LEN);
	m.u.cosign.tree_size = cp.u.checkpoint.tree_size;
	memcpy(m.u.cosign.root, cp.u.checkpoint.root, PW_HASH_LEN);
	m.u.cosign.root[0] ^= 0x5a; /* the other history's root */
	m.u.cosign.time_s = cp.u.checkpoint.time_s;
	if (f->n >= MAX_ENTRIES)
		die("insert");
	struct ent *e = &f->e[f->n++];
	memset(e, 0, sizeof(*e));
	e->orig = SIZE_MAX;
	e->msg = m;
	resign(f, e, &hh);
	pw_key_wipe(&hh);
	if (agent != NULL) {
		sqlite3 *db;
		if (sqlite3_open(agent, &db) != SQLITE_OK ||
		    sqlite3_prepare_v2(db,
		                       "INSERT INTO disputes(type, interval, code, detail, frame,"
		                       " time_ms) VALUES (5, 0, 'cosign_fork', 'pw-forge', ?1, 0)",
		                       -1, &st, NULL) != SQLITE_OK)
			die("agent disputes");
		sqlite3_bind_blob(st, 1, e->frame, (int)e->len, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE)
			die("insert");
		sqlite3_finalize(st);
		sqlite3_close(db);
		printf("size %llu\n", (unsigned long long)m.u.cosign.tree_size);
		return 0;
	}
	rewrite(f, &f->ex, -1);
	printf("entry %llu\n", (unsigned long long)pos_index(f, f->n - 1));
	return 0;
}

/* The last traded interval's RESULT parts re-signed at another clearing
 * price: the auction replay must catch the first part. */
static int
result_price(struct forge *f, const char *delta_text)
{
	char *end;
	long long delta = strtoll(delta_text, &end, 10);
	if (*end != '\0' || end == delta_text || delta == 0 || delta < INT32_MIN ||
	    delta > INT32_MAX)
		die("DELTA: a non-zero i32");
	uint64_t iv = traded_interval(f);
	size_t first = SIZE_MAX;
	for (size_t i = 0; i < f->n; i++) {
		struct pw_msg *m = &f->e[i].msg;
		if (m->type != PW_MSG_RESULT || m->u.result.interval != iv)
			continue;
		long long p = (long long)m->u.result.price_uper_kwh + delta;
		if (p < INT32_MIN || p > INT32_MAX)
			die("DELTA moves the price outside i32");
		m->u.result.price_uper_kwh = (int32_t)p;
		resign(f, &f->e[i], &f->ex);
		if (first == SIZE_MAX)
			first = i;
	}
	rewrite(f, &f->ex, -1);
	printf("entry %llu\n", (unsigned long long)pos_index(f, first));
	return 0;
}

static int attack(struct forge *f, int argc, char **argv);

int
main(int argc, char **argv)
{
	struct forge f = { 0 };
	if (argc < 4) {
		fprintf(stderr, "usage: pw-forge DB EXKEY ATTACK [ARGS] (see the source)\n");
		return 64;
	}
	if (sodium_init() < 0)
		die("sodium");
	f.path = argv[1];
	load(&f, argv[1], argv[2]);
	int rc = attack(&f, argc, argv);
	for (size_t i = 0; i < f.n; i++)
		free(f.e[i].frame);
	free(f.e);
	sqlite3_close(f.db);
	return rc;
}

static int
attack(struct forge *fp, int argc, char **argv)
{
	const char *k = argv[3];
	if (strcmp(k, "no-clear") == 0)
		return no_clear(fp);
	if (strcmp(k, "omit-statement") == 0 && argc == 5)
		return omit_statement(fp, argv[4]);
	if (strcmp(k, "settle-early") == 0)
		return settle_early(fp);
	if (strcmp(k, "served-statement") == 0)
		return served_statement(fp);
	if (strcmp(k, "rekey") == 0 && argc == 5)
		return rekey(fp, argv[4]);
	if (strcmp(k, "rollback") == 0 && argc == 5)
		return rollback(fp, argv[4]);
	if (strcmp(k, "agentdb") == 0 && argc == 6) {
		int rc = agentdb(fp, argv[4], argv[5]);
		return rc;
	}
	if (strcmp(k, "statement-differs") == 0 && argc == 5)
		return statement_differs(fp, argv[4]);
	if (strcmp(k, "result-differs") == 0 && argc == 5)
		return result_differs(fp, argv[4]);
	if (strcmp(k, "late-ack") == 0 && argc == 5)
		return late_ack(fp, argv[4]);
	if (strcmp(k, "reject-early") == 0 && argc == 6)
		return reject_early(fp, argv[4], argv[5]);
	if (strcmp(k, "registry-rewrite") == 0 && argc == 5)
		return registry_rewrite(fp, argv[4]);
	if (strcmp(k, "register-late") == 0 && argc == 5)
		return register_late(fp, argv[4]);
	if (strcmp(k, "revoke") == 0 && argc == 5)
		return revoke(fp, argv[4]);
	if (strcmp(k, "retro-tariff") == 0)
		return retro_tariff(fp);
	if (strcmp(k, "clear-early") == 0)
		return clear_early(fp);
	if (strcmp(k, "cosign-fork") == 0 && (argc == 5 || argc == 6))
		return cosign_fork(fp, argv[4], argc == 6 ? argv[5] : NULL);
	if (strcmp(k, "result-price") == 0 && argc == 5)
		return result_price(fp, argv[4]);
	fprintf(stderr, "pw-forge: unknown attack or arguments\n");
	return 64;
}
