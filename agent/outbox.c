/*
 * outbox.c: durable, numbered, signed-before-sent messages (see outbox.h).
 * Owned by agentd; xlink reads pending items and settles them.
 */
#include "agent/outbox.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "peerwatt/log.h"

struct outbox {
	sqlite3 *db;
};

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS seqs("
    " stream INTEGER PRIMARY KEY, next INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS outbox("
    " stream INTEGER NOT NULL, seq INTEGER NOT NULL, type INTEGER NOT NULL,"
    " interval INTEGER NOT NULL, frame BLOB NOT NULL,"
    " state INTEGER NOT NULL DEFAULT 0, attempts INTEGER NOT NULL DEFAULT 0,"
    " next_ms INTEGER NOT NULL DEFAULT 0, reason INTEGER NOT NULL DEFAULT 0,"
    " log_index INTEGER, proof INTEGER NOT NULL DEFAULT 0, created_s INTEGER NOT NULL,"
    " PRIMARY KEY(stream, seq));"
    /* the exchange's signed ACK or final REJECT of an item: the household's
     * evidence for an audit (docs/audit.md "Households' evidence") */
    "CREATE TABLE IF NOT EXISTS receipts(stream INTEGER NOT NULL, seq INTEGER NOT NULL,"
    " frame BLOB NOT NULL, PRIMARY KEY(stream, seq));"
    "CREATE INDEX IF NOT EXISTS outbox_pending ON outbox(state, stream, seq);";

static pw_err
exec(sqlite3 *db, const char *sql)
{
	char *msg = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		log_warnx("outbox: %s: %s", sql, msg != NULL ? msg : "?");
		sqlite3_free(msg);
		return PW_ERR_DB;
	}
	return PW_OK;
}

/* The database holds the household's signed history: created 0600 before
 * SQLite opens it (its -wal and -shm take the same mode), and an existing
 * one readable by others is narrowed to 0600. */
static pw_err
private_file(const char *path)
{
	struct stat st;
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

	if (fd < 0) {
		log_warn("outbox: %s", path);
		return PW_ERR_DB;
	}
	if (fstat(fd, &st) == 0 && (st.st_mode & 077) != 0) {
		log_warnx("outbox: %s was readable by others (mode %03o): now 0600", path,
		          (unsigned)(st.st_mode & 0777));
		if (fchmod(fd, 0600) != 0)
			log_warn("outbox: chmod %s", path);
	}
	close(fd);
	return PW_OK;
}

pw_err
outbox_open(struct outbox **out, const char *path, uint64_t first_order_seq)
{
	struct outbox *ob;
	sqlite3_stmt *st = NULL;
	pw_err rc;

	*out = NULL;
	if (first_order_seq == 0 || first_order_seq > (uint64_t)INT64_MAX / 2)
		return PW_ERR_RANGE;
	if (strcmp(path, ":memory:") != 0 && private_file(path) != PW_OK)
		return PW_ERR_DB;
	ob = calloc(1, sizeof(*ob));
	if (ob == NULL)
		return PW_ERR_NOMEM;
	if (sqlite3_open_v2(path, &ob->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
	    SQLITE_OK) {
		log_warnx("outbox: %s: %s", path, sqlite3_errmsg(ob->db));
		sqlite3_close(ob->db);
		free(ob);
		return PW_ERR_DB;
	}
	/* Short: another process holding the database (a backup, an operator's
	 * sqlite3) must not stall the agent's loop; a reading that cannot be
	 * stored now is kept in memory and stored later (ameter.c). */
	sqlite3_busy_timeout(ob->db, OUTBOX_BUSY_MS);
	/* synchronous=FULL: an item is on disk before it can be sent. */
	if ((rc = exec(ob->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;")) != PW_OK ||
	    (rc = exec(ob->db, schema)) != PW_OK)
		goto fail;
	if (sqlite3_prepare_v2(ob->db, "INSERT OR IGNORE INTO seqs(stream, next) VALUES (?, ?)", -1,
	                       &st, NULL) != SQLITE_OK) {
		rc = PW_ERR_DB;
		goto fail;
	}
	sqlite3_bind_int(st, 1, OUTBOX_ORDERS);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)first_order_seq);
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = PW_ERR_DB;
	sqlite3_reset(st);
	sqlite3_bind_int(st, 1, OUTBOX_METER);
	sqlite3_bind_int64(st, 2, 1);
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = PW_ERR_DB;
	sqlite3_finalize(st);
	if (rc != PW_OK)
		goto fail;
	*out = ob;
	return PW_OK;
fail:
	sqlite3_close(ob->db);
	free(ob);
	return rc;
}

void
outbox_close(struct outbox **obp)
{
	if (obp == NULL || *obp == NULL)
		return;
	sqlite3_close((*obp)->db);
	free(*obp);
	*obp = NULL;
}

sqlite3 *
outbox_db(struct outbox *ob)
{
	return ob->db;
}

pw_err
outbox_add(struct outbox *ob, enum outbox_stream s, outbox_sign_fn fn, void *ctx, uint64_t *seq_out)
{
	sqlite3_stmt *st = NULL;
	uint8_t frame[PW_WIRE_MAX_REQUEST];
	size_t len = 0;
	uint8_t type = 0;
	uint64_t interval = 0, seq;
	pw_err rc;

	if ((rc = exec(ob->db, "BEGIN IMMEDIATE")) != PW_OK)
		return rc;
	/* Reserve first: the number is taken in the database before the
	 * signer ever sees it. */
	if (sqlite3_prepare_v2(
	        ob->db, "UPDATE seqs SET next = next + 1 WHERE stream = ? RETURNING next - 1", -1,
	        &st, NULL) != SQLITE_OK) {
		rc = PW_ERR_DB;
		goto rollback;
	}
	sqlite3_bind_int(st, 1, (int)s);
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_finalize(st);
		rc = PW_ERR_DB;
		goto rollback;
	}
	seq = (uint64_t)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	st = NULL;

	if ((rc = fn(ctx, seq, frame, sizeof(frame), &len, &type, &interval)) != PW_OK)
		goto rollback;
	if (len == 0 || len > sizeof(frame) || interval > (uint64_t)INT64_MAX) {
		rc = PW_ERR_INTERNAL;
		goto rollback;
	}
	if (sqlite3_prepare_v2(ob->db,
	                       "INSERT INTO outbox(stream, seq, type, interval, frame, created_s)"
	                       " VALUES (?, ?, ?, ?, ?, ?)",
	                       -1, &st, NULL) != SQLITE_OK) {
		rc = PW_ERR_DB;
		goto rollback;
	}
	sqlite3_bind_int(st, 1, (int)s);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)seq);
	sqlite3_bind_int(st, 3, type);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)interval);
	sqlite3_bind_blob(st, 5, frame, (int)len, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 6, (sqlite3_int64)time(NULL));
	if (sqlite3_step(st) != SQLITE_DONE) {
		sqlite3_finalize(st);
		rc = PW_ERR_DB;
		goto rollback;
	}
	sqlite3_finalize(st);
	if ((rc = exec(ob->db, "COMMIT")) != PW_OK)
		goto rollback;
	if (seq_out != NULL)
		*seq_out = seq;
	return PW_OK;
rollback:
	(void)exec(ob->db, "ROLLBACK");
	return rc;
}

pw_err
outbox_put(struct outbox *ob, enum outbox_stream s, uint64_t seq, uint8_t type, uint64_t interval,
           const uint8_t *frame, size_t len)
{
	sqlite3_stmt *st = NULL;
	pw_err rc = PW_OK;

	if (seq == 0 || seq > (uint64_t)INT64_MAX || interval > (uint64_t)INT64_MAX || len == 0 ||
	    len > PW_WIRE_MAX_REQUEST)
		return PW_ERR_RANGE;
	if (sqlite3_prepare_v2(ob->db,
	                       "INSERT OR IGNORE INTO outbox(stream, seq, type, interval, frame,"
	                       " created_s) VALUES (?, ?, ?, ?, ?, ?)",
	                       -1, &st, NULL) != SQLITE_OK)
		return PW_ERR_DB;
	sqlite3_bind_int(st, 1, (int)s);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)seq);
	sqlite3_bind_int(st, 3, type);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)interval);
	sqlite3_bind_blob(st, 5, frame, (int)len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, (sqlite3_int64)time(NULL));
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = PW_ERR_DB;
	else if (sqlite3_changes(ob->db) == 0)
		rc = PW_ERR_EXISTS;
	sqlite3_finalize(st);
	return rc;
}

#define ITEM_COLS                                                                                  \
	"stream, seq, type, interval, frame, state, attempts, next_ms, reason,"                    \
	" ifnull(log_index, -1), proof"

static pw_err
read_item(sqlite3_stmt *st, struct outbox_item *it)
{
	const void *blob = sqlite3_column_blob(st, 4);
	int len = sqlite3_column_bytes(st, 4);
	sqlite3_int64 idx = sqlite3_column_int64(st, 9);
	int state = sqlite3_column_int(st, 5), proof = sqlite3_column_int(st, 10);
	int stream = sqlite3_column_int(st, 0);
	sqlite3_int64 seq = sqlite3_column_int64(st, 1), interval = sqlite3_column_int64(st, 3);
	sqlite3_int64 attempts = sqlite3_column_int64(st, 6), reason = sqlite3_column_int64(st, 8);

	/* Rows are ours, but a damaged file must not overflow a buffer. */
	if (blob == NULL || len <= 0 || (size_t)len > sizeof(it->frame) || state < 0 ||
	    state > OUTBOX_DROPPED || proof < 0 || proof > OUTBOX_PROOF_FAILED ||
	    (stream != OUTBOX_ORDERS && stream != OUTBOX_METER && stream != OUTBOX_COSIGN) ||
	    seq <= 0 || interval < 0 || attempts < 0 || attempts > UINT32_MAX || reason < 0 ||
	    reason > UINT16_MAX)
		return PW_ERR_CORRUPT;
	it->stream = (enum outbox_stream)stream;
	it->seq = (uint64_t)seq;
	it->type = (uint8_t)sqlite3_column_int(st, 2);
	it->interval = (uint64_t)interval;
	memcpy(it->frame, blob, (size_t)len);
	it->len = (size_t)len;
	it->state = (enum outbox_state)state;
	it->attempts = (uint32_t)attempts;
	it->next_ms = sqlite3_column_int64(st, 7);
	it->reason = (uint16_t)reason;
	it->log_index = idx < 0 ? OUTBOX_NO_INDEX : (uint64_t)idx;
	it->proof = (enum outbox_proof)proof;
	return PW_OK;
}

static pw_err
query_one(struct outbox *ob, const char *sql, sqlite3_int64 a, sqlite3_int64 b,
          struct outbox_item *it)
{
	sqlite3_stmt *st;
	pw_err rc;
	int r;

	if (sqlite3_prepare_v2(ob->db, sql, -1, &st, NULL) != SQLITE_OK)
		return PW_ERR_DB;
	sqlite3_bind_int64(st, 1, a);
	sqlite3_bind_int64(st, 2, b);
	r = sqlite3_step(st);
	if (r == SQLITE_ROW)
		rc = read_item(st, it);
	else
		rc = r == SQLITE_DONE ? PW_ERR_NOTFOUND : PW_ERR_DB;
	sqlite3_finalize(st);
	return rc;
}

pw_err
outbox_next(struct outbox *ob, enum outbox_stream s, struct outbox_item *it)
{
	return query_one(ob,
	                 "SELECT " ITEM_COLS " FROM outbox WHERE state = 0 AND stream = ?"
	                 " AND ?2 = ?2 ORDER BY seq LIMIT 1",
	                 s, 0, it);
}

pw_err
outbox_get(struct outbox *ob, enum outbox_stream s, uint64_t seq, struct outbox_item *it)
{
	if (seq > (uint64_t)INT64_MAX)
		return PW_ERR_NOTFOUND;
	return query_one(ob, "SELECT " ITEM_COLS " FROM outbox WHERE stream = ? AND seq = ?", s,
	                 (sqlite3_int64)seq, it);
}

static pw_err
update(struct outbox *ob, const char *sql, sqlite3_int64 a, sqlite3_int64 b, sqlite3_int64 c,
       sqlite3_int64 d, sqlite3_int64 e)
{
	sqlite3_stmt *st;
	pw_err rc = PW_OK;

	if (sqlite3_prepare_v2(ob->db, sql, -1, &st, NULL) != SQLITE_OK)
		return PW_ERR_DB;
	sqlite3_bind_int64(st, 1, a);
	sqlite3_bind_int64(st, 2, b);
	sqlite3_bind_int64(st, 3, c);
	sqlite3_bind_int64(st, 4, d);
	sqlite3_bind_int64(st, 5, e);
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = PW_ERR_DB;
	else if (sqlite3_changes(ob->db) == 0)
		rc = PW_ERR_STATE;
	sqlite3_finalize(st);
	return rc;
}

pw_err
outbox_sent(struct outbox *ob, enum outbox_stream s, uint64_t seq, int64_t next_ms)
{
	if (seq > (uint64_t)INT64_MAX)
		return PW_ERR_NOTFOUND;
	return update(ob,
	              "UPDATE outbox SET attempts = attempts + 1, next_ms = ?3"
	              " WHERE stream = ?1 AND seq = ?2 AND state = 0 AND ?4 = ?5",
	              s, (sqlite3_int64)seq, next_ms, 0, 0);
}

pw_err
outbox_resend_now(struct outbox *ob, int64_t now_ms)
{
	pw_err rc = update(ob,
	                   "UPDATE outbox SET next_ms = ?1"
	                   " WHERE state = 0 AND stream IN (0, 1, 4) AND next_ms > ?1 AND ?2 = ?3",
	                   now_ms, 0, 0, 0, 0);
	return rc == PW_ERR_STATE ? PW_OK : rc; /* nothing was waiting */
}

pw_err
outbox_settle(struct outbox *ob, enum outbox_stream s, uint64_t seq, enum outbox_state state,
              uint16_t reason, uint64_t log_index)
{
	if (seq > (uint64_t)INT64_MAX || state == OUTBOX_PENDING)
		return PW_ERR_ARG;
	/* log_index UINT64_MAX (unknown) is stored as NULL. */
	return update(ob,
	              "UPDATE outbox SET state = ?3, reason = ?4,"
	              " log_index = CASE WHEN ?5 < 0 THEN NULL ELSE ?5 END"
	              " WHERE stream = ?1 AND seq = ?2 AND state = 0",
	              s, (sqlite3_int64)seq, state, reason,
	              log_index > (uint64_t)INT64_MAX ? -1 : (sqlite3_int64)log_index);
}

pw_err
outbox_keep_receipt(struct outbox *ob, enum outbox_stream s, uint64_t seq, const uint8_t *frame,
                    size_t len)
{
	sqlite3_stmt *st = NULL;
	pw_err rc = PW_OK;

	if (seq > (uint64_t)INT64_MAX || frame == NULL || len == 0 || len > PW_RECEIPT_MAX_LEN)
		return PW_ERR_ARG;
	if (sqlite3_prepare_v2(
	        ob->db, "INSERT OR IGNORE INTO receipts(stream, seq, frame) VALUES (?1, ?2, ?3)",
	        -1, &st, NULL) != SQLITE_OK)
		return PW_ERR_DB;
	sqlite3_bind_int(st, 1, (int)s);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)seq);
	sqlite3_bind_blob(st, 3, frame, (int)len, SQLITE_TRANSIENT);
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = PW_ERR_DB;
	sqlite3_finalize(st);
	return rc;
}

pw_err
outbox_count(struct outbox *ob, enum outbox_state state, uint64_t *n)
{
	sqlite3_stmt *st;
	pw_err rc = PW_OK;

	if (sqlite3_prepare_v2(ob->db, "SELECT count(*) FROM outbox WHERE state = ?", -1, &st,
	                       NULL) != SQLITE_OK)
		return PW_ERR_DB;
	sqlite3_bind_int(st, 1, (int)state);
	if (sqlite3_step(st) == SQLITE_ROW)
		*n = (uint64_t)sqlite3_column_int64(st, 0);
	else
		rc = PW_ERR_DB;
	sqlite3_finalize(st);
	return rc;
}

pw_err
outbox_unproven(struct outbox *ob, uint64_t tree_size, uint64_t after, struct outbox_item *it)
{
	if (tree_size > (uint64_t)INT64_MAX)
		tree_size = (uint64_t)INT64_MAX;
	if (after > (uint64_t)INT64_MAX)
		return PW_ERR_NOTFOUND;
	return query_one(ob,
	                 "SELECT " ITEM_COLS " FROM outbox WHERE state = 1 AND proof = 0"
	                 " AND log_index IS NOT NULL AND log_index < ?1 AND log_index >= ?2"
	                 " ORDER BY log_index LIMIT 1",
	                 (sqlite3_int64)tree_size, (sqlite3_int64)after, it);
}

pw_err
outbox_set_proof(struct outbox *ob, enum outbox_stream s, uint64_t seq, enum outbox_proof proof)
{
	if (seq > (uint64_t)INT64_MAX)
		return PW_ERR_NOTFOUND;
	return update(ob, "UPDATE outbox SET proof = ?3 WHERE stream = ?1 AND seq = ?2 AND ?4 = ?5",
	              s, (sqlite3_int64)seq, proof, 0, 0);
}

pw_err
outbox_foreach(struct outbox *ob, enum outbox_stream s, uint64_t min_interval, outbox_each_fn fn,
               void *ctx)
{
	sqlite3_stmt *st;
	struct outbox_item *it;
	pw_err rc = PW_OK;
	int r;

	if (min_interval > (uint64_t)INT64_MAX)
		return PW_OK;
	/* one item is 300 bytes: keep it off small stacks */
	it = malloc(sizeof(*it));
	if (it == NULL)
		return PW_ERR_NOMEM;
	if (sqlite3_prepare_v2(ob->db,
	                       "SELECT " ITEM_COLS " FROM outbox WHERE stream = ? AND interval >= ?"
	                       " ORDER BY seq",
	                       -1, &st, NULL) != SQLITE_OK) {
		free(it);
		return PW_ERR_DB;
	}
	sqlite3_bind_int(st, 1, (int)s);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)min_interval);
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		if ((rc = read_item(st, it)) != PW_OK)
			break;
		if (fn(ctx, it) != 0)
			break;
	}
	if (rc == PW_OK && r != SQLITE_ROW && r != SQLITE_DONE)
		rc = PW_ERR_DB;
	sqlite3_finalize(st);
	free(it);
	return rc;
}

pw_err
outbox_last(struct outbox *ob, enum outbox_stream s, struct outbox_item *it)
{
	return query_one(ob,
	                 "SELECT " ITEM_COLS " FROM outbox WHERE stream = ? AND ?2 = ?2"
	                 " ORDER BY seq DESC LIMIT 1",
	                 s, 0, it);
}

pw_err
outbox_resequence(struct outbox *ob, enum outbox_stream s, uint64_t seq, outbox_resign_fn fn,
                  void *ctx)
{
	sqlite3_stmt *st = NULL, *up = NULL;
	uint8_t frame[PW_WIRE_MAX_REQUEST];
	struct outbox_item it;
	pw_err rc;
	int r;

	if (seq > (uint64_t)INT64_MAX)
		return PW_ERR_ARG;
	if ((rc = exec(ob->db, "BEGIN IMMEDIATE")) != PW_OK)
		return rc;
	if ((rc = outbox_get(ob, s, seq, &it)) != PW_OK)
		goto rollback;
	if (it.state != OUTBOX_REJECTED) {
		rc = PW_ERR_STATE;
		goto rollback;
	}
	/* archived rows: stream 2 + s, seq -rowid (unique, never a number) */
	if ((rc = update(
	         ob,
	         "UPDATE outbox SET stream = 2 + ?1, seq = -rowid WHERE stream = ?1 AND seq = ?2"
	         " AND ?3 = ?4 AND ?4 = ?5",
	         s, (sqlite3_int64)seq, 0, 0, 0)) != PW_OK)
		goto rollback;
	if (sqlite3_prepare_v2(ob->db,
	                       "SELECT " ITEM_COLS " FROM outbox WHERE stream = ? AND seq > ?"
	                       " ORDER BY seq",
	                       -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(ob->db,
	                       "UPDATE outbox SET seq = ?, frame = ? WHERE stream = ? AND seq = ?",
	                       -1, &up, NULL) != SQLITE_OK) {
		rc = PW_ERR_DB;
		goto rollback;
	}
	sqlite3_bind_int(st, 1, (int)s);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)seq);
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		size_t len = 0;
		if ((rc = read_item(st, &it)) != PW_OK)
			goto rollback;
		if (it.state != OUTBOX_PENDING || it.attempts != 0) {
			rc = PW_ERR_STATE;
			goto rollback;
		}
		if ((rc = fn(ctx, it.seq - 1, it.frame, it.len, frame, sizeof(frame), &len)) !=
		    PW_OK)
			goto rollback;
		if (len == 0 || len > sizeof(frame)) {
			rc = PW_ERR_INTERNAL;
			goto rollback;
		}
		sqlite3_reset(up);
		sqlite3_bind_int64(up, 1, (sqlite3_int64)(it.seq - 1));
		sqlite3_bind_blob(up, 2, frame, (int)len, SQLITE_TRANSIENT);
		sqlite3_bind_int(up, 3, (int)s);
		sqlite3_bind_int64(up, 4, (sqlite3_int64)it.seq);
		if (sqlite3_step(up) != SQLITE_DONE) {
			rc = PW_ERR_DB;
			goto rollback;
		}
	}
	if (r != SQLITE_DONE) {
		rc = PW_ERR_DB;
		goto rollback;
	}
	sqlite3_finalize(st);
	sqlite3_finalize(up);
	st = up = NULL;
	if ((rc = update(ob,
	                 "UPDATE seqs SET next = next - 1 WHERE stream = ?1 AND ?2 = ?3"
	                 " AND ?4 = ?5",
	                 s, 0, 0, 0, 0)) != PW_OK)
		goto rollback;
	return exec(ob->db, "COMMIT");
rollback:
	sqlite3_finalize(st);
	sqlite3_finalize(up);
	(void)exec(ob->db, "ROLLBACK");
	return rc;
}

pw_err
outbox_upgrade(struct outbox *ob, outbox_resign_fn fn, void *ctx, unsigned *n)
{
	sqlite3_stmt *st = NULL, *up = NULL;
	uint8_t frame[PW_WIRE_MAX_REQUEST];
	struct outbox_item it;
	pw_err rc;
	int r;

	*n = 0;
	if ((rc = exec(ob->db, "BEGIN IMMEDIATE")) != PW_OK)
		return rc;
	if (sqlite3_prepare_v2(ob->db,
	                       "SELECT " ITEM_COLS " FROM outbox WHERE state = 0 AND stream < 2"
	                       " AND substr(frame, 1, 1) = x'01' ORDER BY stream, seq",
	                       -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(ob->db, "UPDATE outbox SET frame = ? WHERE stream = ? AND seq = ?",
	                       -1, &up, NULL) != SQLITE_OK) {
		rc = PW_ERR_DB;
		goto rollback;
	}
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		size_t len = 0;
		if ((rc = read_item(st, &it)) != PW_OK ||
		    (rc = fn(ctx, it.seq, it.frame, it.len, frame, sizeof(frame), &len)) != PW_OK)
			goto rollback;
		if (len == 0 || len > sizeof(frame)) {
			rc = PW_ERR_INTERNAL;
			goto rollback;
		}
		sqlite3_reset(up);
		sqlite3_bind_blob(up, 1, frame, (int)len, SQLITE_TRANSIENT);
		sqlite3_bind_int(up, 2, (int)it.stream);
		sqlite3_bind_int64(up, 3, (sqlite3_int64)it.seq);
		if (sqlite3_step(up) != SQLITE_DONE) {
			rc = PW_ERR_DB;
			goto rollback;
		}
		(*n)++;
	}
	if (r != SQLITE_DONE) {
		rc = PW_ERR_DB;
		goto rollback;
	}
	sqlite3_finalize(st);
	sqlite3_finalize(up);
	return exec(ob->db, "COMMIT");
rollback:
	sqlite3_finalize(st);
	sqlite3_finalize(up);
	(void)exec(ob->db, "ROLLBACK");
	*n = 0;
	return rc;
}
