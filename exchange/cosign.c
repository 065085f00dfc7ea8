/*
 * cosign.c: the exchange's cosignatures (cosign.h).  Statements are
 * prepared per call: a COSIGN is a few per household and checkpoint, far
 * from the ORDER path.
 */
#include "exchange/cosign.h"

#include <stdlib.h>
#include <string.h>

#include "peerwatt/log.h"

static pw_err
dberr(sqlite3 *db, const char *what)
{
	log_warnx("cosign: %s: %s", what, sqlite3_errmsg(db));
	return PW_ERR_DB;
}

pw_err
cosign_init(sqlite3 *db)
{
	if (sqlite3_exec(db,
	                 "CREATE TABLE IF NOT EXISTS cosigns(pk BLOB NOT NULL,"
	                 " tree_size INTEGER NOT NULL, log_idx INTEGER NOT NULL,"
	                 " frame BLOB NOT NULL, PRIMARY KEY(pk, tree_size))",
	                 NULL, NULL, NULL) != SQLITE_OK)
		return dberr(db, "create table cosigns");
	return PW_OK;
}

/* The stored CHECKPOINT frame of `size` decoded into *cp (frame copied to
 * buf when buf != NULL).  PW_ERR_NOTFOUND when none. */
static pw_err
checkpoint_of(sqlite3 *db, uint64_t size, struct pw_msg *cp, uint8_t **buf, size_t *len)
{
	sqlite3_stmt *st = NULL;
	pw_err rc = PW_ERR_NOTFOUND;

	if (size > (uint64_t)INT64_MAX)
		return PW_ERR_NOTFOUND;
	if (sqlite3_prepare_v2(db, "SELECT frame FROM checkpoints WHERE tree_size = ?1", -1, &st,
	                       NULL) != SQLITE_OK)
		return dberr(db, "read checkpoints");
	sqlite3_bind_int64(st, 1, (sqlite3_int64)size);
	int r = sqlite3_step(st);
	if (r == SQLITE_ROW) {
		const uint8_t *f = sqlite3_column_blob(st, 0);
		int n = sqlite3_column_bytes(st, 0);
		rc = PW_ERR_CORRUPT;
		if (f != NULL && n > 0 && (size_t)n <= PW_WIRE_MAX_LEN &&
		    pw_wire_decode_stored(f, (size_t)n, cp) == PW_OK &&
		    cp->type == PW_MSG_CHECKPOINT && cp->u.checkpoint.tree_size == size) {
			rc = PW_OK;
			if (buf != NULL) {
				*buf = malloc((size_t)n);
				if (*buf == NULL)
					rc = PW_ERR_NOMEM;
				else
					memcpy(*buf, f, (size_t)n);
				*len = (size_t)n;
			}
		}
	} else if (r != SQLITE_DONE) {
		rc = dberr(db, "read checkpoints");
	}
	sqlite3_finalize(st);
	return rc;
}

pw_err
cosign_check(sqlite3 *db, const struct pw_msg *m, enum pw_reason *reason)
{
	const struct pw_cosign *c = &m->u.cosign;
	struct pw_msg cp;
	sqlite3_stmt *st = NULL;
	pw_err rc;

	*reason = PW_REASON_UNKNOWN_HEAD;
	rc = checkpoint_of(db, c->tree_size, &cp, NULL, NULL);
	if (rc == PW_ERR_NOTFOUND || rc == PW_ERR_CORRUPT)
		return PW_OK;
	if (rc != PW_OK)
		return rc;
	if (memcmp(cp.u.checkpoint.origin, c->origin, PW_ORIGIN_LEN) != 0 ||
	    memcmp(cp.u.checkpoint.root, c->root, PW_HASH_LEN) != 0)
		return PW_OK;
	if (sqlite3_prepare_v2(db, "SELECT max(tree_size) FROM cosigns WHERE pk = ?1", -1, &st,
	                       NULL) != SQLITE_OK)
		return dberr(db, "read cosigns");
	sqlite3_bind_blob(st, 1, m->author, PW_PK_LEN, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_finalize(st);
		return dberr(db, "read cosigns");
	}
	*reason = PW_REASON_OK;
	if (sqlite3_column_type(st, 0) != SQLITE_NULL &&
	    (uint64_t)sqlite3_column_int64(st, 0) >= c->tree_size)
		*reason = PW_REASON_REPLAY;
	sqlite3_finalize(st);
	return PW_OK;
}

pw_err
cosign_insert(sqlite3 *db, const struct pw_msg *m, uint64_t log_idx, const uint8_t *frame,
              size_t len)
{
	sqlite3_stmt *st = NULL;
	pw_err rc = PW_OK;

	if (m->u.cosign.tree_size > (uint64_t)INT64_MAX || log_idx > (uint64_t)INT64_MAX ||
	    len > PW_WIRE_MAX_REQUEST)
		return PW_ERR_RANGE;
	if (sqlite3_prepare_v2(db,
	                       "INSERT INTO cosigns(pk, tree_size, log_idx, frame)"
	                       " VALUES (?1, ?2, ?3, ?4)",
	                       -1, &st, NULL) != SQLITE_OK)
		return dberr(db, "store cosign");
	sqlite3_bind_blob(st, 1, m->author, PW_PK_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)m->u.cosign.tree_size);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)log_idx);
	sqlite3_bind_blob(st, 4, frame, (int)len, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = dberr(db, "store cosign");
	sqlite3_finalize(st);
	return rc;
}

void
cosign_set_free(struct cosign_set *s)
{
	if (s->frames != NULL)
		for (size_t i = 0; i < s->n; i++)
			free(s->frames[i]);
	free(s->frames);
	free(s->lens);
	memset(s, 0, sizeof(*s));
}

pw_err
cosign_collect(sqlite3 *db, uint64_t size, struct cosign_set *out)
{
	sqlite3_stmt *st = NULL;
	struct pw_msg cp;
	pw_err rc;
	int r;

	memset(out, 0, sizeof(*out));
	if (size == 0) {
		if (sqlite3_prepare_v2(db, "SELECT max(tree_size) FROM cosigns", -1, &st, NULL) !=
		    SQLITE_OK)
			return dberr(db, "read cosigns");
		r = sqlite3_step(st);
		if (r == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
			size = (uint64_t)sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
		st = NULL;
		if (r != SQLITE_ROW)
			return dberr(db, "read cosigns");
		if (size == 0)
			return PW_ERR_NOTFOUND;
	}
	out->frames = calloc(1 + PW_COSIGNED_MAX, sizeof(*out->frames));
	out->lens = calloc(1 + PW_COSIGNED_MAX, sizeof(*out->lens));
	if (out->frames == NULL || out->lens == NULL) {
		cosign_set_free(out);
		return PW_ERR_NOMEM;
	}
	out->tree_size = size;
	if ((rc = checkpoint_of(db, size, &cp, &out->frames[0], &out->lens[0])) != PW_OK) {
		cosign_set_free(out);
		return rc == PW_ERR_CORRUPT ? PW_ERR_NOTFOUND : rc;
	}
	out->n = 1;
	if (sqlite3_prepare_v2(db,
	                       "SELECT frame FROM cosigns WHERE tree_size = ?1"
	                       " ORDER BY log_idx LIMIT ?2",
	                       -1, &st, NULL) != SQLITE_OK) {
		cosign_set_free(out);
		return dberr(db, "read cosigns");
	}
	sqlite3_bind_int64(st, 1, (sqlite3_int64)size);
	sqlite3_bind_int(st, 2, PW_COSIGNED_MAX);
	rc = PW_OK;
	while ((r = sqlite3_step(st)) == SQLITE_ROW && out->n < 1 + PW_COSIGNED_MAX) {
		const void *f = sqlite3_column_blob(st, 0);
		int n = sqlite3_column_bytes(st, 0);
		if (f == NULL || n <= 0 || (size_t)n > PW_WIRE_MAX_REQUEST) {
			rc = PW_ERR_CORRUPT;
			break;
		}
		if ((out->frames[out->n] = malloc((size_t)n)) == NULL) {
			rc = PW_ERR_NOMEM;
			break;
		}
		memcpy(out->frames[out->n], f, (size_t)n);
		out->lens[out->n++] = (size_t)n;
	}
	if (rc == PW_OK && r != SQLITE_ROW && r != SQLITE_DONE)
		rc = dberr(db, "read cosigns");
	sqlite3_finalize(st);
	if (rc != PW_OK)
		cosign_set_free(out);
	return rc;
}
