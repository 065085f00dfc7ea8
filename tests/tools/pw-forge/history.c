/*
 * history.c: pw-forge's attacks on the log's history (forge.h): an
 * interval never cleared, a statement left out, a checkpoint signed early,
 * a statement served that the log lacks, the history re-signed under
 * another key, a household's last entry removed, an interval cleared before
 * its gate, a household's cosignature of another root, a RESULT at another
 * price.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "forge.h"
#include "rules/settle.h"

int
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

int
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

int
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

int
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

int
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

int
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
int
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
int
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
int
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
