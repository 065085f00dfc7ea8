/*
 * log.c: pw-forge's log in memory (forge.h): the exchange database's log
 * loaded and decoded, entries re-signed or inserted, and the log written
 * back with the served tables rebuilt and every checkpoint re-signed over
 * it; the last interval with trades.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "forge.h"
#include "peerwatt/merkle.h"

_Noreturn void
die(const char *what)
{
	fprintf(stderr, "pw-forge: %s\n", what);
	exit(70);
}

void
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

void
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

void
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
uint64_t
new_index(const struct forge *f, size_t i)
{
	uint64_t k = 0;
	for (size_t j = 0; j < f->n && (f->e[j].orig == SIZE_MAX || f->e[j].orig < i); j++)
		k += !f->e[j].drop;
	return k;
}

/* The new index of the entry at position pos of f->e. */
uint64_t
pos_index(const struct forge *f, size_t pos)
{
	uint64_t k = 0;
	for (size_t j = 0; j < pos && j < f->n; j++)
		k += !f->e[j].drop;
	return k;
}

/* A new entry at position pos: a re-signed copy of `from` with `msg`. */
void
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
void
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
uint64_t
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
