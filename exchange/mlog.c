/*
 * mlog.c: the settlement log in SQLite with its in-memory compact range
 * and its table of interior nodes (see exchange/mlog.h; docs/audit.md
 * documents the tables).
 */
#include "exchange/mlog.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "peerwatt/log.h"
#include "peerwatt/merkle.h"

static const char mlog_schema[] =
    "CREATE TABLE IF NOT EXISTS log(idx INTEGER PRIMARY KEY, type INTEGER NOT NULL,"
    " frame BLOB NOT NULL, leaf BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS checkpoints(tree_size INTEGER PRIMARY KEY, interval INTEGER,"
    " frame BLOB NOT NULL);";

/*
 * Created apart: whether it existed tells mlog_open to build it.  Keyed by
 * the leaf that completes the node, so the rows of one batch are appended
 * at the end of the index (one or two pages per COMMIT) instead of one
 * page per tree level as with the former key (level, idx).
 */
static const char mlog_nodes_schema[] =
    "CREATE TABLE log_nodes(leaf INTEGER NOT NULL, level INTEGER NOT NULL,"
    " hash BLOB NOT NULL, PRIMARY KEY(leaf, level)) WITHOUT ROWID";

enum {
	Q_INSERT,
	Q_SCAN,
	Q_LEAVES,
	Q_GET,
	Q_CP_INSERT,
	Q_CP_LAST,
	Q_LEAF,
	Q_NODE_INSERT,
	Q_NODE_GET,
	Q_NODE_LAST,
	Q_NODE_LEVELS,
	Q__COUNT
};

static const char *const mlog_sql[Q__COUNT] = {
	[Q_INSERT] = "INSERT INTO log(idx, type, frame, leaf) VALUES (?1, ?2, ?3, ?4)",
	[Q_SCAN] = "SELECT idx, type, frame, leaf FROM log WHERE idx >= ?1 ORDER BY idx",
	[Q_LEAVES] = "SELECT idx, leaf FROM log WHERE idx >= ?1 ORDER BY idx",
	[Q_GET] = "SELECT type, frame FROM log WHERE idx = ?1",
	[Q_CP_INSERT] = "INSERT OR REPLACE INTO checkpoints(tree_size, interval, frame)"
	                " VALUES (?1, ?2, ?3)",
	[Q_CP_LAST] = "SELECT tree_size, frame FROM checkpoints ORDER BY tree_size DESC LIMIT 1",
	[Q_LEAF] = "SELECT leaf FROM log WHERE idx = ?1",
	[Q_NODE_INSERT] = "INSERT INTO log_nodes(leaf, level, hash) VALUES (?1, ?2, ?3)",
	[Q_NODE_GET] = "SELECT hash FROM log_nodes WHERE leaf = ?1 AND level = ?2",
	[Q_NODE_LAST] = "SELECT max(leaf) FROM log_nodes",
	[Q_NODE_LEVELS] = "SELECT count(*), min(level), max(level) FROM log_nodes WHERE leaf = ?1",
};

struct mlog {
	sqlite3 *db; /* borrowed from the caller */
	sqlite3_stmt *q[Q__COUNT];
	struct merkle_range range; /* all entries */
	struct merkle_range snap;  /* the entries up to the latest checkpoint */
	int have_cp;
	uint64_t cp_size;
	uint64_t cp_interval;
	uint8_t cp_root[PW_HASH_LEN];
	struct receipt_batch *rec; /* mlog_record(): leaves appended go here too */
	/* the stepping cursor of the leaf accessor (proofs) */
	int cur_active;
	uint64_t cur_next;
};

static sqlite3_stmt *
mlog__stmt(struct mlog *m, int which)
{
	sqlite3_stmt *st = m->q[which];
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return st;
}

static pw_err
mlog__dberr(struct mlog *m, const char *what)
{
	log_warnx("mlog: %s: %s", what, sqlite3_errmsg(m->db));
	return PW_ERR_DB;
}

/*
 * Stores the interior nodes that the leaf appended at `old_size` completed:
 * done[k] is node(k + 1, old_size >> (k + 1)), stored under (leaf
 * old_size, level k + 1).  Runs in the caller's transaction, so the nodes
 * commit or roll back with their leaf.
 */
static pw_err
mlog__put_nodes(struct mlog *m, uint64_t old_size, const uint8_t (*done)[PW_HASH_LEN],
                unsigned n_done)
{
	for (unsigned k = 0; k < n_done; k++) {
		unsigned level = k + 1;
		sqlite3_stmt *st = mlog__stmt(m, Q_NODE_INSERT);
		sqlite3_bind_int64(st, 1, (sqlite3_int64)old_size);
		sqlite3_bind_int(st, 2, (int)level);
		sqlite3_bind_blob(st, 3, done[k], PW_HASH_LEN, SQLITE_STATIC);
		int rc = sqlite3_step(st);
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
		if (rc != SQLITE_DONE)
			return mlog__dberr(m, "store node");
	}
	return PW_OK;
}

/*
 * merkle_node_fn over the database: level 0 is a leaf of table log, higher
 * levels are rows of log_nodes, node (level, index) under the leaf that
 * completes it, ((index + 1) << level) - 1.  One indexed lookup per call and
 * no cursor left open.  A node missing inside the tree is corruption.
 */
static pw_err
mlog__node(void *ctx, unsigned level, uint64_t index, uint8_t out[PW_HASH_LEN])
{
	struct mlog *m = ctx;
	sqlite3_stmt *st;
	pw_err err = PW_OK;

	if (level >= MERKLE_MAX_LEVELS || index >= ((uint64_t)INT64_MAX >> level))
		return PW_ERR_RANGE;
	if (level == 0) {
		st = mlog__stmt(m, Q_LEAF);
		sqlite3_bind_int64(st, 1, (sqlite3_int64)index);
	} else {
		st = mlog__stmt(m, Q_NODE_GET);
		sqlite3_bind_int64(st, 1, (sqlite3_int64)(((index + 1) << level) - 1));
		sqlite3_bind_int(st, 2, (int)level);
	}
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const void *blob = sqlite3_column_blob(st, 0);
		if (blob != NULL && sqlite3_column_bytes(st, 0) == PW_HASH_LEN)
			memcpy(out, blob, PW_HASH_LEN);
		else
			err = PW_ERR_CORRUPT;
	} else if (rc == SQLITE_DONE) {
		err = PW_ERR_CORRUPT;
	} else {
		err = mlog__dberr(m, "read node");
	}
	sqlite3_reset(st);
	if (err == PW_ERR_CORRUPT)
		log_warnx("mlog: node (level %u, index %llu) missing or malformed", level,
		          (unsigned long long)index);
	return err;
}

/* The latest checkpoint row: size and root (decoded from its frame). */
static pw_err
mlog__read_last_cp(struct mlog *m, int *have, uint64_t *size, uint8_t root[PW_HASH_LEN])
{
	sqlite3_stmt *st = mlog__stmt(m, Q_CP_LAST);
	struct pw_msg msg;
	int rc = sqlite3_step(st);

	*have = 0;
	if (rc == SQLITE_DONE)
		return PW_OK;
	if (rc != SQLITE_ROW)
		return mlog__dberr(m, "read checkpoints");
	sqlite3_int64 ts = sqlite3_column_int64(st, 0);
	const void *blob = sqlite3_column_blob(st, 1);
	int n = sqlite3_column_bytes(st, 1);
	if (ts < 0 || blob == NULL || n <= 0 ||
	    pw_wire_decode_stored(blob, (size_t)n, &msg) != PW_OK ||
	    msg.type != PW_MSG_CHECKPOINT || msg.u.checkpoint.tree_size != (uint64_t)ts) {
		sqlite3_reset(st);
		log_warnx("mlog: checkpoint row of size %lld is malformed", (long long)ts);
		return PW_ERR_CORRUPT;
	}
	sqlite3_reset(st);
	*have = 1;
	*size = (uint64_t)ts;
	m->cp_interval = msg.u.checkpoint.interval;
	memcpy(root, msg.u.checkpoint.root, PW_HASH_LEN);
	return PW_OK;
}

/*
 * (Re)builds the range from entry `m->range.size` on (the caller set the
 * starting range), checking indices, leaf lengths and, when `verify`, that
 * each leaf hashes its frame.  Takes the snapshot at the checkpoint size and
 * checks the checkpoint's root against it.
 */
static pw_err
mlog__scan(struct mlog *m, int verify)
{
	sqlite3_stmt *st = mlog__stmt(m, Q_SCAN);
	uint8_t root[PW_HASH_LEN], leaf[PW_HASH_LEN];
	pw_err err = PW_OK;
	int rc;

	if (m->have_cp && m->range.size == m->cp_size) {
		m->snap = m->range;
		merkle_range_root(&m->range, root);
		if (memcmp(root, m->cp_root, PW_HASH_LEN) != 0)
			goto bad_root;
	}
	sqlite3_bind_int64(st, 1, (sqlite3_int64)m->range.size);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		sqlite3_int64 idx = sqlite3_column_int64(st, 0);
		sqlite3_int64 type = sqlite3_column_int64(st, 1);
		const uint8_t *frame = sqlite3_column_blob(st, 2);
		int flen = sqlite3_column_bytes(st, 2);
		const void *lblob = sqlite3_column_blob(st, 3);
		int llen = sqlite3_column_bytes(st, 3);

		if (idx < 0 || (uint64_t)idx != m->range.size) {
			log_warnx("mlog: entry %llu missing (next stored is %lld)",
			          (unsigned long long)m->range.size, (long long)idx);
			err = PW_ERR_CORRUPT;
			break;
		}
		if (llen != PW_HASH_LEN || lblob == NULL) {
			log_warnx("mlog: entry %lld: leaf of %d bytes", (long long)idx, llen);
			err = PW_ERR_CORRUPT;
			break;
		}
		if (verify) {
			if (frame == NULL || flen < 2 || frame[1] != type) {
				log_warnx("mlog: entry %lld: malformed frame", (long long)idx);
				err = PW_ERR_CORRUPT;
				break;
			}
			merkle_leaf_hash(frame, (size_t)flen, leaf);
			if (memcmp(leaf, lblob, PW_HASH_LEN) != 0) {
				log_warnx("mlog: entry %lld: leaf is not the hash of its frame",
				          (long long)idx);
				err = PW_ERR_CORRUPT;
				break;
			}
		}
		if ((err = merkle_range_append(&m->range, lblob)) != PW_OK)
			break;
		if (m->have_cp && m->range.size == m->cp_size) {
			m->snap = m->range;
			merkle_range_root(&m->range, root);
			if (memcmp(root, m->cp_root, PW_HASH_LEN) != 0) {
				sqlite3_reset(st);
				goto bad_root;
			}
		}
	}
	if (err == PW_OK && rc != SQLITE_DONE)
		err = mlog__dberr(m, "read log");
	sqlite3_reset(st);
	if (err == PW_OK && m->have_cp && m->cp_size > m->range.size) {
		log_warnx("mlog: checkpoint of size %llu but only %llu entries",
		          (unsigned long long)m->cp_size, (unsigned long long)m->range.size);
		err = PW_ERR_CORRUPT;
	}
	return err;
bad_root:
	log_warnx("mlog: checkpoint of size %llu does not match the entries",
	          (unsigned long long)m->cp_size);
	return PW_ERR_CORRUPT;
}

/*
 * Whether table log_nodes exists (*have), without creating it, and whether
 * it has the former key (level, idx) (*old: a database of an earlier
 * version, whose table mlog_open replaces).
 */
static pw_err
mlog__have_nodes_table(sqlite3 *db, int *have, int *old)
{
	static const char *const q[2] = {
		"SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'log_nodes'",
		"SELECT 1 FROM pragma_table_info('log_nodes') WHERE name = 'idx'",
	};
	int *out[2] = { have, old };

	*have = *old = 0;
	for (int i = 0; i < 2; i++) {
		sqlite3_stmt *st;
		if (sqlite3_prepare_v2(db, q[i], -1, &st, NULL) != SQLITE_OK) {
			log_warnx("mlog: read the schema: %s", sqlite3_errmsg(db));
			return PW_ERR_DB;
		}
		int rc = sqlite3_step(st);
		*out[i] = rc == SQLITE_ROW;
		sqlite3_finalize(st);
		if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
			log_warnx("mlog: read the schema: %s", sqlite3_errmsg(db));
			return PW_ERR_DB;
		}
	}
	return PW_OK;
}

/* Number of levels whose node leaf `leaf` completes: trailing ones. */
static unsigned
mlog__levels_of(uint64_t leaf)
{
	unsigned n = 0;
	while (n < MERKLE_MAX_LEVELS && ((leaf >> n) & 1u))
		n++;
	return n;
}

/*
 * Whether log_nodes covers exactly the tree of the entries just scanned:
 * its last row belongs to the last leaf that completes a node (the highest
 * odd index below the size; no row when the size is under 2), that leaf
 * has exactly the levels it completes, and the nodes the compact range
 * holds are equal to the stored ones.  A few lookups; it catches a table
 * left behind by another log or cut short, not an edit in its middle (the
 * proofs that read such a node fail to verify, and mlog_checkpoint refuses
 * to sign then).
 */
static pw_err
mlog__nodes_match(struct mlog *m, int *match)
{
	uint64_t size = m->range.size;
	uint8_t h[PW_HASH_LEN];
	sqlite3_stmt *st;
	pw_err rc;

	*match = 0;
	st = mlog__stmt(m, Q_NODE_LAST);
	int src = sqlite3_step(st);
	int none = src == SQLITE_ROW && sqlite3_column_type(st, 0) == SQLITE_NULL;
	sqlite3_int64 last = src == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
	sqlite3_reset(st);
	if (src != SQLITE_ROW)
		return mlog__dberr(m, "read nodes");
	if (size < 2) {
		if (!none)
			return PW_OK;
	} else {
		uint64_t want = (size - 1) | 1u;
		if (want >= size)
			want -= 2;
		if (none || last < 0 || (uint64_t)last != want)
			return PW_OK;
		st = mlog__stmt(m, Q_NODE_LEVELS);
		sqlite3_bind_int64(st, 1, last);
		src = sqlite3_step(st);
		sqlite3_int64 cnt = src == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
		sqlite3_int64 lo = src == SQLITE_ROW ? sqlite3_column_int64(st, 1) : -1;
		sqlite3_int64 hi = src == SQLITE_ROW ? sqlite3_column_int64(st, 2) : -1;
		sqlite3_reset(st);
		if (src != SQLITE_ROW)
			return mlog__dberr(m, "read nodes");
		unsigned n = mlog__levels_of(want);
		if (cnt != (sqlite3_int64)n || lo != 1 || hi != (sqlite3_int64)n)
			return PW_OK;
	}
	for (unsigned level = 1; level < MERKLE_MAX_LEVELS; level++) {
		uint64_t count = size >> level;
		if (count > 0 && (count & 1u)) {
			if ((rc = mlog__node(m, level, count - 1, h)) == PW_ERR_CORRUPT)
				return PW_OK;
			if (rc != PW_OK)
				return rc;
			if (memcmp(h, m->range.nodes[level], PW_HASH_LEN) != 0)
				return PW_OK;
		}
	}
	*match = 1;
	return PW_OK;
}

/*
 * (Re)builds log_nodes from the stored leaves in one savepoint: the
 * database of a version without the table, or a table that does not match.
 * Costs one pass over the leaves and one insert per interior node (about
 * one per entry).
 */
static pw_err
mlog__build_nodes(struct mlog *m)
{
	uint8_t done[MERKLE_MAX_LEVELS][PW_HASH_LEN];
	struct merkle_range r;
	struct timespec t0, t1;
	sqlite3_stmt *st;
	pw_err err = PW_OK;
	unsigned n_done;
	int rc;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (sqlite3_exec(m->db, "SAVEPOINT mlog_build; DELETE FROM log_nodes", NULL, NULL, NULL) !=
	    SQLITE_OK)
		return mlog__dberr(m, "start building the node table");
	merkle_range_init(&r);
	st = mlog__stmt(m, Q_LEAVES);
	sqlite3_bind_int64(st, 1, 0);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		sqlite3_int64 idx = sqlite3_column_int64(st, 0);
		const void *leaf = sqlite3_column_blob(st, 1);
		if (idx < 0 || (uint64_t)idx != r.size || leaf == NULL ||
		    sqlite3_column_bytes(st, 1) != PW_HASH_LEN) {
			/* mlog__scan checked the same rows a moment ago */
			err = PW_ERR_CORRUPT;
			break;
		}
		uint64_t at = r.size;
		if ((err = merkle_range_append_nodes(&r, leaf, done, &n_done)) != PW_OK ||
		    (err = mlog__put_nodes(m, at, (const uint8_t(*)[PW_HASH_LEN])done, n_done)) !=
		        PW_OK)
			break;
	}
	if (err == PW_OK && rc != SQLITE_DONE)
		err = mlog__dberr(m, "read log");
	sqlite3_reset(st);
	if (err == PW_OK && r.size != m->range.size)
		err = PW_ERR_CORRUPT;
	if (err != PW_OK) {
		sqlite3_exec(m->db, "ROLLBACK TO mlog_build; RELEASE mlog_build", NULL, NULL, NULL);
		return err;
	}
	if (sqlite3_exec(m->db, "RELEASE mlog_build", NULL, NULL, NULL) != SQLITE_OK) {
		err = mlog__dberr(m, "commit the node table");
		sqlite3_exec(m->db, "ROLLBACK TO mlog_build; RELEASE mlog_build", NULL, NULL, NULL);
		return err;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	log_info("mlog: built the node table of %llu entries in %.2f s", (unsigned long long)r.size,
	         (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	return PW_OK;
}

/* mlog_open() once the node table is known to be current or absent. */
static pw_err
mlog__open(struct mlog **out, sqlite3 *db, int had_nodes)
{
	struct mlog *m;
	char *errmsg = NULL;
	int match = 0;
	pw_err rc;

	if ((m = calloc(1, sizeof(*m))) == NULL)
		return PW_ERR_NOMEM;
	m->db = db;
	if (sqlite3_exec(db, mlog_schema, NULL, NULL, &errmsg) != SQLITE_OK ||
	    (!had_nodes && sqlite3_exec(db, mlog_nodes_schema, NULL, NULL, &errmsg) != SQLITE_OK)) {
		log_warnx("mlog: create tables: %s", errmsg ? errmsg : "?");
		sqlite3_free(errmsg);
		free(m);
		return PW_ERR_DB;
	}
	for (int i = 0; i < Q__COUNT; i++) {
		if (sqlite3_prepare_v3(db, mlog_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &m->q[i],
		                       NULL) != SQLITE_OK) {
			rc = mlog__dberr(m, "prepare");
			mlog_close(&m);
			return rc;
		}
	}
	merkle_range_init(&m->range);
	merkle_range_init(&m->snap);
	if ((rc = mlog__read_last_cp(m, &m->have_cp, &m->cp_size, m->cp_root)) != PW_OK ||
	    (rc = mlog__scan(m, 1)) != PW_OK ||
	    (had_nodes && (rc = mlog__nodes_match(m, &match)) != PW_OK)) {
		mlog_close(&m);
		return rc;
	}
	if (!had_nodes && m->range.size == 0)
		match = 1; /* a new log: the empty table is complete */
	if (!match) {
		/* the entries are the truth (mlog__scan just checked them against
		 * the signed checkpoint); the nodes are derived from them */
		if (had_nodes)
			log_warnx("mlog: the node table does not match the %llu entries: "
			          "rebuilding it",
			          (unsigned long long)m->range.size);
		if ((rc = mlog__build_nodes(m)) != PW_OK) {
			mlog_close(&m);
			return rc;
		}
	}
	*out = m;
	return PW_OK;
}

pw_err
mlog_open(struct mlog **out, sqlite3 *db)
{
	char *errmsg = NULL;
	int had_nodes = 0, old_nodes = 0;
	pw_err rc;

	if (out == NULL || db == NULL)
		return PW_ERR_ARG;
	*out = NULL;
	if ((rc = mlog__have_nodes_table(db, &had_nodes, &old_nodes)) != PW_OK)
		return rc;
	if (old_nodes) {
		/* the table of an earlier version, keyed (level, idx): replaced
		 * by one keyed by completing leaf, built from the entries; the
		 * drop, the new table and its rows commit together (or none) */
		if (sqlite3_exec(db, "SAVEPOINT mlog_upgrade; DROP TABLE log_nodes", NULL, NULL,
		                 &errmsg) != SQLITE_OK) {
			log_warnx("mlog: replace the node table: %s", errmsg ? errmsg : "?");
			sqlite3_free(errmsg);
			(void)sqlite3_exec(db, "ROLLBACK TO mlog_upgrade; RELEASE mlog_upgrade",
			                   NULL, NULL, NULL);
			return PW_ERR_DB;
		}
		had_nodes = 0;
	}
	rc = mlog__open(out, db, had_nodes);
	if (old_nodes) {
		if (rc == PW_OK &&
		    sqlite3_exec(db, "RELEASE mlog_upgrade", NULL, NULL, &errmsg) != SQLITE_OK) {
			log_warnx("mlog: replace the node table: %s", errmsg ? errmsg : "?");
			sqlite3_free(errmsg);
			mlog_close(out);
			rc = PW_ERR_DB;
		}
		if (rc != PW_OK) {
			(void)sqlite3_exec(db, "ROLLBACK TO mlog_upgrade; RELEASE mlog_upgrade",
			                   NULL, NULL, NULL);
			return rc;
		}
		log_info("mlog: node table of an earlier version replaced by one keyed by "
		         "completing leaf (once)");
	}
	return rc;
}

void
mlog_close(struct mlog **mp)
{
	if (mp == NULL || *mp == NULL)
		return;
	for (int i = 0; i < Q__COUNT; i++)
		sqlite3_finalize((*mp)->q[i]);
	free(*mp);
	*mp = NULL;
}

pw_err
mlog_append(struct mlog *m, const uint8_t *frame, size_t len, uint64_t *index)
{
	uint8_t leaf[PW_HASH_LEN];
	uint8_t done[MERKLE_MAX_LEVELS][PW_HASH_LEN];
	struct merkle_range next;
	unsigned n_done;
	sqlite3_stmt *st;
	pw_err err;

	if (m == NULL || frame == NULL || index == NULL || len < 2 || len > PW_WIRE_MAX_LEN)
		return PW_ERR_ARG;
	/* outside a transaction the entry would commit alone, apart from the
	 * state it belongs to */
	if (sqlite3_get_autocommit(m->db))
		return PW_ERR_STATE;
	if (m->range.size >= (uint64_t)INT64_MAX)
		return PW_ERR_FULL;
	merkle_leaf_hash(frame, len, leaf);
	/* on a copy: the range moves only once the rows are written */
	next = m->range;
	if ((err = merkle_range_append_nodes(&next, leaf, done, &n_done)) != PW_OK)
		return err;
	st = mlog__stmt(m, Q_INSERT);
	sqlite3_bind_int64(st, 1, (sqlite3_int64)m->range.size);
	sqlite3_bind_int(st, 2, frame[1]);
	sqlite3_bind_blob(st, 3, frame, (int)len, SQLITE_STATIC);
	sqlite3_bind_blob(st, 4, leaf, PW_HASH_LEN, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_DONE)
		return mlog__dberr(m, "append");
	/* a failure here leaves the leaf row without its nodes: the caller
	 * rolls the transaction back (and calls mlog_reload) as on any error */
	if ((err = mlog__put_nodes(m, m->range.size, (const uint8_t(*)[PW_HASH_LEN])done,
	                           n_done)) != PW_OK)
		return err;
	*index = m->range.size;
	m->range = next;
	if (m->rec != NULL)
		receipt_add(m->rec, leaf);
	return PW_OK;
}

void
mlog_record(struct mlog *m, struct receipt_batch *rec)
{
	m->rec = rec;
	if (rec != NULL)
		receipt_begin(rec, &m->range);
}

uint64_t
mlog_last_interval(const struct mlog *m)
{
	return m->have_cp ? m->cp_interval : 0;
}

pw_err
mlog_reload(struct mlog *m)
{
	uint8_t snap_root[PW_HASH_LEN];
	pw_err rc;

	if (m == NULL)
		return PW_ERR_ARG;
	m->cur_active = 0;
	if ((rc = mlog__read_last_cp(m, &m->have_cp, &m->cp_size, m->cp_root)) != PW_OK)
		return rc;
	/* restart from the snapshot when it is the committed checkpoint's:
	 * the rows up to it were committed with or before that checkpoint */
	merkle_range_root(&m->snap, snap_root);
	if (m->have_cp && m->snap.size == m->cp_size &&
	    memcmp(snap_root, m->cp_root, PW_HASH_LEN) == 0)
		m->range = m->snap;
	else
		merkle_range_init(&m->range);
	return mlog__scan(m, 0);
}

uint64_t
mlog_size(const struct mlog *m)
{
	return m->range.size;
}

void
mlog_root(const struct mlog *m, uint8_t out[PW_HASH_LEN])
{
	merkle_range_root(&m->range, out);
}

uint64_t
mlog_signed_size(struct mlog *m, uint64_t market_id, const uint8_t pk[PW_PK_LEN])
{
	sqlite3_stmt *st;
	struct pw_msg msg;
	uint64_t size = 0;

	if (m == NULL || !m->have_cp || m->cp_size > m->range.size)
		return 0;
	st = mlog__stmt(m, Q_CP_LAST);
	if (sqlite3_step(st) == SQLITE_ROW) {
		const void *blob = sqlite3_column_blob(st, 1);
		int n = sqlite3_column_bytes(st, 1);
		if (blob != NULL && n > 0 &&
		    pw_wire_open_stored(blob, (size_t)n, market_id, &msg) == PW_OK &&
		    msg.type == PW_MSG_CHECKPOINT && memcmp(msg.author, pk, PW_PK_LEN) == 0 &&
		    msg.u.checkpoint.tree_size == m->cp_size &&
		    memcmp(msg.u.checkpoint.root, m->cp_root, PW_HASH_LEN) == 0)
			size = m->cp_size;
	}
	sqlite3_reset(st);
	return size;
}

pw_err
mlog_last_checkpoint(const struct mlog *m, uint64_t *tree_size, uint8_t root[PW_HASH_LEN])
{
	if (!m->have_cp)
		return PW_ERR_NOTFOUND;
	*tree_size = m->cp_size;
	memcpy(root, m->cp_root, PW_HASH_LEN);
	return PW_OK;
}

/* merkle_leaf_fn over table log: steps one cursor while indices ascend by
 * one (the usual pattern of proof generation), re-seeks otherwise. */
static pw_err
mlog__leaf(void *ctx, uint64_t idx, uint8_t out[PW_HASH_LEN])
{
	struct mlog *m = ctx;
	sqlite3_stmt *st = m->q[Q_LEAVES];

	if (!m->cur_active || idx != m->cur_next) {
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, (sqlite3_int64)idx);
		m->cur_active = 1;
	}
	int rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		m->cur_active = 0;
		return PW_ERR_NOTFOUND;
	}
	if (rc != SQLITE_ROW) {
		m->cur_active = 0;
		return mlog__dberr(m, "read leaf");
	}
	sqlite3_int64 got = sqlite3_column_int64(st, 0);
	const void *blob = sqlite3_column_blob(st, 1);
	if (got < 0 || (uint64_t)got != idx || blob == NULL ||
	    sqlite3_column_bytes(st, 1) != PW_HASH_LEN) {
		m->cur_active = 0;
		log_warnx("mlog: entry %llu missing or malformed", (unsigned long long)idx);
		return PW_ERR_CORRUPT;
	}
	memcpy(out, blob, PW_HASH_LEN);
	m->cur_next = idx + 1;
	return PW_OK;
}

static void
mlog__cursor_done(struct mlog *m)
{
	/* an open read cursor would hold the snapshot of a WAL reader */
	sqlite3_reset(m->q[Q_LEAVES]);
	m->cur_active = 0;
}

/*
 * The root of the stored entries, folded onto the range of the latest
 * checkpoint (m->snap) from the entries after it: O(entries since).
 */
static pw_err
mlog__since_checkpoint_root(struct mlog *m, uint8_t out[PW_HASH_LEN])
{
	struct merkle_range r;
	uint8_t leaf[PW_HASH_LEN];
	pw_err rc = PW_OK;

	r = m->snap;
	if (r.size != m->cp_size)
		merkle_range_init(&r); /* no snapshot at hand: from the start */
	while (r.size < m->range.size) {
		if ((rc = mlog__leaf(m, r.size, leaf)) != PW_OK)
			break;
		if ((rc = merkle_range_append(&r, leaf)) != PW_OK)
			break;
	}
	mlog__cursor_done(m);
	if (rc == PW_ERR_NOTFOUND)
		rc = PW_ERR_CORRUPT; /* an entry the memory has is not stored */
	if (rc == PW_OK)
		merkle_range_root(&r, out);
	return rc;
}

pw_err
mlog_checkpoint(struct mlog *m, const struct pw_keypair *exch, uint64_t market_id,
                const char *origin, uint64_t interval, uint64_t time_s, uint8_t *frame, size_t cap,
                size_t *len)
{
	uint8_t root[PW_HASH_LEN], since_root[PW_HASH_LEN];
	uint8_t proof[MERKLE_MAX_PROOF][PW_HASH_LEN];
	struct pw_msg msg;
	size_t olen, n = 0;
	pw_err rc;

	if (m == NULL || exch == NULL || origin == NULL || frame == NULL || len == NULL)
		return PW_ERR_ARG;
	olen = strnlen(origin, PW_ORIGIN_LEN + 1);
	if (olen == 0 || olen > PW_ORIGIN_LEN)
		return PW_ERR_ARG;
	if (interval > (uint64_t)INT64_MAX)
		return PW_ERR_RANGE;
	mlog_root(m, root);
	if (m->have_cp) {
		if (m->cp_size > m->range.size) {
			log_warnx("mlog: refusing checkpoint: log shrank from %llu to %llu",
			          (unsigned long long)m->cp_size,
			          (unsigned long long)m->range.size);
			return PW_ERR_CORRUPT;
		}
		/* prove from the database, not from memory: the signature must
		 * only ever extend what the database can show.  The entries since
		 * the checkpoint are read back and must fold onto its range to
		 * the root about to be signed; the older ones are linked by a
		 * consistency proof from the stored nodes (O(log n) lookups, not
		 * a pass over the whole log at every interval) */
		if ((rc = mlog__since_checkpoint_root(m, since_root)) != PW_OK)
			return rc;
		if (memcmp(since_root, root, PW_HASH_LEN) != 0) {
			log_warnx("mlog: refusing checkpoint: the stored entries since size %llu "
			          "do not give the root of size %llu",
			          (unsigned long long)m->cp_size,
			          (unsigned long long)m->range.size);
			return PW_ERR_CORRUPT;
		}
		rc = merkle_prove_consistency_nodes(mlog__node, m, m->cp_size, m->range.size, proof,
		                                    MERKLE_MAX_PROOF, &n);
		if (rc != PW_OK && rc != PW_ERR_CORRUPT)
			return rc;
		if (rc == PW_ERR_CORRUPT ||
		    merkle_verify_consistency(m->cp_size, m->range.size, m->cp_root, root,
		                              (const uint8_t(*)[PW_HASH_LEN])proof, n) != PW_OK) {
			log_warnx("mlog: refusing checkpoint: size %llu is not consistent with the "
			          "checkpoint of size %llu",
			          (unsigned long long)m->range.size,
			          (unsigned long long)m->cp_size);
			return PW_ERR_CORRUPT;
		}
	}
	memset(&msg, 0, sizeof(msg));
	msg.type = PW_MSG_CHECKPOINT;
	memcpy(msg.u.checkpoint.origin, origin, olen);
	msg.u.checkpoint.interval = interval;
	msg.u.checkpoint.tree_size = m->range.size;
	memcpy(msg.u.checkpoint.root, root, PW_HASH_LEN);
	msg.u.checkpoint.time_s = time_s;
	if ((rc = pw_wire_encode(&msg, market_id, exch, frame, cap, len)) != PW_OK)
		return rc;

	sqlite3_stmt *st = mlog__stmt(m, Q_CP_INSERT);
	sqlite3_bind_int64(st, 1, (sqlite3_int64)m->range.size);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)interval);
	sqlite3_bind_blob(st, 3, frame, (int)*len, SQLITE_STATIC);
	int src = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (src != SQLITE_DONE)
		return mlog__dberr(m, "store checkpoint");
	m->have_cp = 1;
	m->cp_size = m->range.size;
	m->cp_interval = interval;
	memcpy(m->cp_root, root, PW_HASH_LEN);
	m->snap = m->range;
	return PW_OK;
}

static pw_err
mlog__proof(struct mlog *m, int kind, uint64_t a, uint64_t b, struct pw_proof *p)
{
	uint8_t hashes[MERKLE_MAX_PROOF][PW_HASH_LEN];
	size_t n = 0;
	pw_err rc;

	if (m == NULL || p == NULL)
		return PW_ERR_ARG;
	if (b > m->range.size || (kind == PW_PROOF_INCLUSION ? a >= b : a > b))
		return PW_ERR_RANGE;
	if (kind == PW_PROOF_INCLUSION)
		rc =
		    merkle_prove_inclusion_nodes(mlog__node, m, a, b, hashes, MERKLE_MAX_PROOF, &n);
	else
		rc = merkle_prove_consistency_nodes(mlog__node, m, a, b, hashes, MERKLE_MAX_PROOF,
		                                    &n);
	if (rc != PW_OK)
		return rc;
	if (n > PW_PROOF_MAX_HASHES)
		return PW_ERR_INTERNAL;
	p->kind = (uint8_t)kind;
	p->a = a;
	p->b = b;
	p->n_hashes = (uint8_t)n;
	memcpy(p->hashes, hashes, n * PW_HASH_LEN);
	return PW_OK;
}

pw_err
mlog_prove_inclusion(struct mlog *m, uint64_t idx, uint64_t size, struct pw_proof *p)
{
	return mlog__proof(m, PW_PROOF_INCLUSION, idx, size, p);
}

pw_err
mlog_prove_consistency(struct mlog *m, uint64_t old, uint64_t new_, struct pw_proof *p)
{
	return mlog__proof(m, PW_PROOF_CONSISTENCY, old, new_, p);
}

pw_err
mlog_get(struct mlog *m, uint64_t idx, uint8_t *buf, size_t cap, size_t *len, uint8_t *type)
{
	if (m == NULL || buf == NULL || len == NULL || type == NULL)
		return PW_ERR_ARG;
	if (idx >= m->range.size)
		return PW_ERR_NOTFOUND;
	sqlite3_stmt *st = mlog__stmt(m, Q_GET);
	sqlite3_bind_int64(st, 1, (sqlite3_int64)idx);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		sqlite3_reset(st);
		return PW_ERR_NOTFOUND;
	}
	if (rc != SQLITE_ROW) {
		sqlite3_reset(st);
		return mlog__dberr(m, "read entry");
	}
	sqlite3_int64 t = sqlite3_column_int64(st, 0);
	const void *blob = sqlite3_column_blob(st, 1);
	int n = sqlite3_column_bytes(st, 1);
	pw_err err = PW_OK;
	if (blob == NULL || n < 2 || t < 0 || t > 255)
		err = PW_ERR_CORRUPT;
	else if ((size_t)n > cap)
		err = PW_ERR_FULL;
	else {
		memcpy(buf, blob, (size_t)n);
		*len = (size_t)n;
		*type = (uint8_t)t;
	}
	sqlite3_reset(st);
	return err;
}
