/*
 * test_mlog.c: the settlement log over an in-memory SQLite database:
 * appends inside transactions, the root against an independent
 * recomputation, reopen, rollback + reload, signed checkpoints (and the
 * refusal to sign one that does not extend the previous), proofs served from
 * the stored entries and from table log_nodes (equal to the O(n) reference
 * for every pair up to 100 entries, after reopen, after building the table
 * for a database without it, after a rollback), and corrupt databases
 * refused at open.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "exchange/mlog.h"
#include "peerwatt/keys.h"
#include "peerwatt/merkle.h"
#include "peerwatt/wire.h"

#define MARKET  0x1122334455667788ull
#define NFRAMES 40

struct fx {
	sqlite3 *db;
	struct mlog *m;
	struct pw_keypair house, exch;
	uint8_t frames[NFRAMES][PW_WIRE_MAX_REQUEST];
	size_t lens[NFRAMES];
	uint8_t leaves[NFRAMES][PW_HASH_LEN];
};

static void
exec(sqlite3 *db, const char *sql)
{
	char *err = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &err);
	if (rc != SQLITE_OK)
		fail_msg("%s: %s", sql, err ? err : "?");
}

static int
setup(void **state)
{
	static struct fx f; /* one fixture at a time; reset in full here */
	uint8_t seed[PW_SEED_LEN];

	memset(&f, 0, sizeof(f));
	assert_int_equal(pw_crypto_init(), PW_OK);
	memset(seed, 7, sizeof(seed));
	assert_int_equal(pw_key_from_seed(&f.house, seed), PW_OK);
	memset(seed, 9, sizeof(seed));
	assert_int_equal(pw_key_from_seed(&f.exch, seed), PW_OK);
	for (size_t i = 0; i < NFRAMES; i++) {
		struct pw_msg msg;
		memset(&msg, 0, sizeof(msg));
		msg.type = PW_MSG_ORDER;
		msg.u.order.seq = i + 1;
		msg.u.order.interval = 100 + i / 8;
		msg.u.order.expiry_s = 1000000;
		msg.u.order.qty_wh = (uint32_t)(100 + i);
		msg.u.order.price_uper_kwh = 200000;
		msg.u.order.side = (i & 1) ? PW_SIDE_BUY : PW_SIDE_SELL;
		assert_int_equal(pw_wire_encode(&msg, MARKET, &f.house, f.frames[i],
		                                sizeof(f.frames[i]), &f.lens[i]),
		                 PW_OK);
		merkle_leaf_hash(f.frames[i], f.lens[i], f.leaves[i]);
	}
	assert_int_equal(sqlite3_open(":memory:", &f.db), SQLITE_OK);
	assert_int_equal(mlog_open(&f.m, f.db), PW_OK);
	*state = &f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	mlog_close(&f->m);
	assert_null(f->m);
	sqlite3_close(f->db);
	return 0;
}

static void
root_of(const struct fx *f, size_t n, uint8_t out[PW_HASH_LEN])
{
	struct merkle_range r;
	merkle_range_init(&r);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(merkle_range_append(&r, f->leaves[i]), PW_OK);
	merkle_range_root(&r, out);
}

static void
append_range(struct fx *f, size_t from, size_t to)
{
	uint64_t idx;
	exec(f->db, "BEGIN");
	for (size_t i = from; i < to; i++) {
		assert_int_equal(mlog_append(f->m, f->frames[i], f->lens[i], &idx), PW_OK);
		assert_int_equal(idx, i);
	}
	exec(f->db, "COMMIT");
}

static void
test_empty_log(void **state)
{
	struct fx *f = *state;
	uint8_t root[PW_HASH_LEN], want[PW_HASH_LEN];
	uint64_t sz;

	assert_int_equal(mlog_size(f->m), 0);
	mlog_root(f->m, root);
	merkle_empty_root(want);
	assert_memory_equal(root, want, PW_HASH_LEN);
	assert_int_equal(mlog_last_checkpoint(f->m, &sz, root), PW_ERR_NOTFOUND);
}

static void
test_append_needs_transaction(void **state)
{
	struct fx *f = *state;
	uint64_t idx;

	assert_int_equal(mlog_append(f->m, f->frames[0], f->lens[0], &idx), PW_ERR_STATE);
	assert_int_equal(mlog_size(f->m), 0);
	exec(f->db, "BEGIN");
	assert_int_equal(mlog_append(f->m, f->frames[0], 1, &idx), PW_ERR_ARG);
	assert_int_equal(mlog_append(f->m, NULL, 10, &idx), PW_ERR_ARG);
	exec(f->db, "ROLLBACK");
}

static void
test_append_root_rows_reopen(void **state)
{
	struct fx *f = *state;
	uint8_t root[PW_HASH_LEN], want[PW_HASH_LEN], buf[PW_WIRE_MAX_REQUEST];
	size_t len;
	uint8_t type;

	append_range(f, 0, 13);
	assert_int_equal(mlog_size(f->m), 13);
	mlog_root(f->m, root);
	root_of(f, 13, want);
	assert_memory_equal(root, want, PW_HASH_LEN);

	/* the rows hold the frame, its type and its leaf */
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(f->db,
	                                    "SELECT idx, type, frame, leaf FROM log ORDER BY idx",
	                                    -1, &st, NULL),
	                 SQLITE_OK);
	for (size_t i = 0; i < 13; i++) {
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		assert_int_equal(sqlite3_column_int64(st, 0), i);
		assert_int_equal(sqlite3_column_int(st, 1), PW_MSG_ORDER);
		assert_int_equal(sqlite3_column_bytes(st, 2), f->lens[i]);
		assert_memory_equal(sqlite3_column_blob(st, 2), f->frames[i], f->lens[i]);
		assert_memory_equal(sqlite3_column_blob(st, 3), f->leaves[i], PW_HASH_LEN);
	}
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);

	assert_int_equal(mlog_get(f->m, 5, buf, sizeof(buf), &len, &type), PW_OK);
	assert_int_equal(len, f->lens[5]);
	assert_int_equal(type, PW_MSG_ORDER);
	assert_memory_equal(buf, f->frames[5], len);
	assert_int_equal(mlog_get(f->m, 13, buf, sizeof(buf), &len, &type), PW_ERR_NOTFOUND);
	assert_int_equal(mlog_get(f->m, 5, buf, 10, &len, &type), PW_ERR_FULL);

	/* reopen: same size and root from the stored entries */
	mlog_close(&f->m);
	assert_int_equal(mlog_open(&f->m, f->db), PW_OK);
	assert_int_equal(mlog_size(f->m), 13);
	mlog_root(f->m, root);
	assert_memory_equal(root, want, PW_HASH_LEN);
}

static void
test_rollback_then_reload(void **state)
{
	struct fx *f = *state;
	uint8_t root[PW_HASH_LEN], want[PW_HASH_LEN], cp[512];
	uint64_t idx;
	size_t len;

	append_range(f, 0, 6);
	root_of(f, 6, want);
	exec(f->db, "BEGIN");
	for (size_t i = 6; i < 9; i++)
		assert_int_equal(mlog_append(f->m, f->frames[i], f->lens[i], &idx), PW_OK);
	assert_int_equal(mlog_size(f->m), 9);
	exec(f->db, "ROLLBACK");
	assert_int_equal(mlog_reload(f->m), PW_OK);
	assert_int_equal(mlog_size(f->m), 6);
	mlog_root(f->m, root);
	assert_memory_equal(root, want, PW_HASH_LEN);

	/* with a committed checkpoint the reload restarts from it */
	assert_int_equal(
	    mlog_checkpoint(f->m, &f->exch, MARKET, "test", 1, 1000, cp, sizeof(cp), &len), PW_OK);
	append_range(f, 6, 10);
	exec(f->db, "BEGIN");
	assert_int_equal(mlog_append(f->m, f->frames[10], f->lens[10], &idx), PW_OK);
	assert_int_equal(
	    mlog_checkpoint(f->m, &f->exch, MARKET, "test", 2, 1001, cp, sizeof(cp), &len), PW_OK);
	exec(f->db, "ROLLBACK");
	assert_int_equal(mlog_reload(f->m), PW_OK);
	assert_int_equal(mlog_size(f->m), 10);
	root_of(f, 10, want);
	mlog_root(f->m, root);
	assert_memory_equal(root, want, PW_HASH_LEN);
	uint64_t cps;
	assert_int_equal(mlog_last_checkpoint(f->m, &cps, root), PW_OK);
	assert_int_equal(cps, 6); /* the rolled-back checkpoint is gone */
	/* and appending continues at the right index */
	exec(f->db, "BEGIN");
	assert_int_equal(mlog_append(f->m, f->frames[10], f->lens[10], &idx), PW_OK);
	assert_int_equal(idx, 10);
	exec(f->db, "COMMIT");
}

static void
test_checkpoint_signed_and_stored(void **state)
{
	struct fx *f = *state;
	uint8_t cp[512], root[PW_HASH_LEN];
	size_t len;
	struct pw_msg msg;

	append_range(f, 0, 7);
	assert_int_equal(
	    mlog_checkpoint(f->m, &f->exch, MARKET, "elm-street", 42, 123456, cp, sizeof(cp), &len),
	    PW_OK);
	assert_int_equal(pw_wire_open(cp, len, MARKET, &msg), PW_OK);
	assert_int_equal(msg.type, PW_MSG_CHECKPOINT);
	assert_memory_equal(msg.author, f->exch.pk, PW_PK_LEN);
	assert_int_equal(msg.u.checkpoint.tree_size, 7);
	assert_int_equal(msg.u.checkpoint.interval, 42);
	assert_int_equal(msg.u.checkpoint.time_s, 123456);
	assert_string_equal(msg.u.checkpoint.origin, "elm-street");
	mlog_root(f->m, root);
	assert_memory_equal(msg.u.checkpoint.root, root, PW_HASH_LEN);
	/* another market does not accept it */
	assert_int_equal(pw_wire_verify(cp, len, MARKET + 1), PW_ERR_BADSIG);

	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(f->db,
	                                    "SELECT tree_size, interval, frame FROM checkpoints",
	                                    -1, &st, NULL),
	                 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int64(st, 0), 7);
	assert_int_equal(sqlite3_column_int64(st, 1), 42);
	assert_int_equal(sqlite3_column_bytes(st, 2), len);
	assert_memory_equal(sqlite3_column_blob(st, 2), cp, len);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);

	/* a later checkpoint extends it; the same size again replaces it */
	append_range(f, 7, 20);
	assert_int_equal(
	    mlog_checkpoint(f->m, &f->exch, MARKET, "elm-street", 43, 123466, cp, sizeof(cp), &len),
	    PW_OK);
	assert_int_equal(
	    mlog_checkpoint(f->m, &f->exch, MARKET, "elm-street", 44, 123476, cp, sizeof(cp), &len),
	    PW_OK);
	uint64_t sz;
	assert_int_equal(mlog_last_checkpoint(f->m, &sz, root), PW_OK);
	assert_int_equal(sz, 20);

	/* bad origins and a short buffer sign nothing */
	assert_int_equal(mlog_checkpoint(f->m, &f->exch, MARKET, "", 45, 1, cp, sizeof(cp), &len),
	                 PW_ERR_ARG);
	assert_int_equal(mlog_checkpoint(f->m, &f->exch, MARKET,
	                                 "an-origin-that-is-longer-than-32-bytes", 45, 1, cp,
	                                 sizeof(cp), &len),
	                 PW_ERR_ARG);
	assert_int_equal(mlog_checkpoint(f->m, &f->exch, MARKET, "x", 45, 1, cp, 20, &len),
	                 PW_ERR_FULL);
}

static void
test_checkpoint_refused_when_history_changed(void **state)
{
	struct fx *f = *state;
	uint8_t cp[512];
	size_t len;

	append_range(f, 0, 9);
	assert_int_equal(mlog_checkpoint(f->m, &f->exch, MARKET, "m", 1, 10, cp, sizeof(cp), &len),
	                 PW_OK);
	append_range(f, 9, 12);
	/* someone rewrites an entry appended since the checkpoint */
	exec(f->db, "SAVEPOINT t; UPDATE log SET leaf = zeroblob(32) WHERE idx = 10");
	assert_int_equal(mlog_checkpoint(f->m, &f->exch, MARKET, "m", 2, 20, cp, sizeof(cp), &len),
	                 PW_ERR_CORRUPT);
	exec(f->db, "ROLLBACK TO t; RELEASE t");
	/* or the stored node that links the checkpoint's subtree (D[0:8]) */
	exec(f->db, "SAVEPOINT t; UPDATE log_nodes SET hash = zeroblob(32)"
	            " WHERE leaf = 7 AND level = 3");
	assert_int_equal(mlog_checkpoint(f->m, &f->exch, MARKET, "m", 2, 20, cp, sizeof(cp), &len),
	                 PW_ERR_CORRUPT);
	exec(f->db, "ROLLBACK TO t; RELEASE t");
	exec(f->db, "SAVEPOINT t; DELETE FROM log_nodes WHERE level = 3");
	assert_int_equal(mlog_checkpoint(f->m, &f->exch, MARKET, "m", 2, 20, cp, sizeof(cp), &len),
	                 PW_ERR_CORRUPT);
	exec(f->db, "ROLLBACK TO t; RELEASE t");
	/* a deleted entry is refused too */
	exec(f->db, "SAVEPOINT t; DELETE FROM log WHERE idx = 10");
	assert_int_equal(mlog_checkpoint(f->m, &f->exch, MARKET, "m", 2, 20, cp, sizeof(cp), &len),
	                 PW_ERR_CORRUPT);
	exec(f->db, "ROLLBACK TO t; RELEASE t");
	uint64_t sz;
	uint8_t root[PW_HASH_LEN];
	assert_int_equal(mlog_last_checkpoint(f->m, &sz, root), PW_OK);
	assert_int_equal(sz, 9);
	/* an entry the checkpoint already covers is not re-read at every
	 * interval (that would cost the whole log): mlog_open and the auditor
	 * catch it */
	exec(f->db, "UPDATE log SET leaf = zeroblob(32) WHERE idx = 4");
	mlog_close(&f->m);
	assert_int_equal(mlog_open(&f->m, f->db), PW_ERR_CORRUPT);
}

static void
test_open_refuses_corrupt_log(void **state)
{
	struct fx *f = *state;
	uint8_t cp[512];
	size_t len;

	append_range(f, 0, 8);
	assert_int_equal(mlog_checkpoint(f->m, &f->exch, MARKET, "m", 1, 1, cp, sizeof(cp), &len),
	                 PW_OK);
	mlog_close(&f->m);

	/* a frame edited without its leaf */
	exec(f->db, "SAVEPOINT t; UPDATE log SET frame = zeroblob(length(frame)) WHERE idx = 3");
	assert_int_equal(mlog_open(&f->m, f->db), PW_ERR_CORRUPT);
	assert_null(f->m);
	exec(f->db, "ROLLBACK TO t; RELEASE t");
	/* frame and leaf edited together: the checkpoint's root catches it */
	exec(f->db, "SAVEPOINT t; UPDATE log SET frame = (SELECT frame FROM log WHERE idx = 0),"
	            " leaf = (SELECT leaf FROM log WHERE idx = 0) WHERE idx = 3");
	assert_int_equal(mlog_open(&f->m, f->db), PW_ERR_CORRUPT);
	exec(f->db, "ROLLBACK TO t; RELEASE t");
	/* a gap */
	exec(f->db, "SAVEPOINT t; DELETE FROM log WHERE idx = 2");
	assert_int_equal(mlog_open(&f->m, f->db), PW_ERR_CORRUPT);
	exec(f->db, "ROLLBACK TO t; RELEASE t");
	/* entries truncated below the checkpoint */
	exec(f->db, "SAVEPOINT t; DELETE FROM log WHERE idx >= 6");
	assert_int_equal(mlog_open(&f->m, f->db), PW_ERR_CORRUPT);
	exec(f->db, "ROLLBACK TO t; RELEASE t");
	/* a checkpoint frame that does not decode */
	exec(f->db, "SAVEPOINT t; UPDATE checkpoints SET frame = x'00'");
	assert_int_equal(mlog_open(&f->m, f->db), PW_ERR_CORRUPT);
	exec(f->db, "ROLLBACK TO t; RELEASE t");
	/* untouched, it opens */
	assert_int_equal(mlog_open(&f->m, f->db), PW_OK);
	assert_int_equal(mlog_size(f->m), 8);
}

static void
test_proofs_from_storage(void **state)
{
	struct fx *f = *state;
	uint8_t roots[NFRAMES + 1][PW_HASH_LEN];
	struct pw_proof p;

	append_range(f, 0, 33);
	for (size_t n = 0; n <= 33; n++)
		root_of(f, n, roots[n]);
	for (uint64_t size = 1; size <= 33; size++) {
		for (uint64_t i = 0; i < size; i++) {
			memset(&p, 0, sizeof(p));
			p.nonce = 77;
			assert_int_equal(mlog_prove_inclusion(f->m, i, size, &p), PW_OK);
			assert_int_equal(p.kind, PW_PROOF_INCLUSION);
			assert_int_equal(p.a, i);
			assert_int_equal(p.b, size);
			assert_int_equal(p.nonce, 77);
			assert_int_equal(
			    merkle_verify_inclusion(i, size, f->leaves[i],
			                            (const uint8_t(*)[PW_HASH_LEN])p.hashes,
			                            p.n_hashes, roots[size]),
			    PW_OK);
			/* not for another leaf */
			assert_int_equal(
			    merkle_verify_inclusion(i, size, f->leaves[(i + 1) % 33],
			                            (const uint8_t(*)[PW_HASH_LEN])p.hashes,
			                            p.n_hashes, roots[size]),
			    PW_ERR_PROOF);
		}
		for (uint64_t old = 0; old <= size; old++) {
			assert_int_equal(mlog_prove_consistency(f->m, old, size, &p), PW_OK);
			assert_int_equal(p.kind, PW_PROOF_CONSISTENCY);
			assert_int_equal(merkle_verify_consistency(
			                     old, size, roots[old], roots[size],
			                     (const uint8_t(*)[PW_HASH_LEN])p.hashes, p.n_hashes),
			                 PW_OK);
		}
	}
	assert_int_equal(mlog_prove_inclusion(f->m, 33, 33, &p), PW_ERR_RANGE);
	assert_int_equal(mlog_prove_inclusion(f->m, 0, 34, &p), PW_ERR_RANGE);
	assert_int_equal(mlog_prove_consistency(f->m, 5, 4, &p), PW_ERR_RANGE);
	assert_int_equal(mlog_prove_consistency(f->m, 5, 34, &p), PW_ERR_RANGE);
	/* proofs leave no read cursor open: the database can be written */
	append_range(f, 33, 34);
}

/* Unsigned frames of random lengths: mlog logs bytes, it checks no
 * signature, so the node-table tests can use many entries cheaply. */
#define NSYN 100

struct syn {
	uint8_t frames[NSYN][64];
	size_t lens[NSYN];
	uint8_t leaves[NSYN][PW_HASH_LEN];
};

static void
syn_fill(struct syn *y)
{
	uint32_t x = 12345;
	for (size_t i = 0; i < NSYN; i++) {
		x = x * 1103515245u + 12345u;
		y->lens[i] = 2 + (x >> 16) % 60;
		y->frames[i][0] = 1;
		y->frames[i][1] = PW_MSG_ORDER;
		for (size_t j = 2; j < y->lens[i]; j++) {
			x = x * 1103515245u + 12345u;
			y->frames[i][j] = (uint8_t)(x >> 24);
		}
		merkle_leaf_hash(y->frames[i], y->lens[i], y->leaves[i]);
	}
}

static void
syn_append(struct fx *f, const struct syn *y, size_t from, size_t to)
{
	uint64_t idx;
	exec(f->db, "BEGIN");
	for (size_t i = from; i < to; i++) {
		assert_int_equal(mlog_append(f->m, y->frames[i], y->lens[i], &idx), PW_OK);
		assert_int_equal(idx, i);
	}
	exec(f->db, "COMMIT");
}

/* the O(n) reference: merkle_prove_* over the leaf array (test_merkle.c
 * checks it against the RFC 6962 vectors) */
static pw_err
syn_leaf(void *ctx, uint64_t idx, uint8_t out[PW_HASH_LEN])
{
	const struct syn *y = ctx;
	if (idx >= NSYN)
		return PW_ERR_NOTFOUND;
	memcpy(out, y->leaves[idx], PW_HASH_LEN);
	return PW_OK;
}

static int64_t
count_rows(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	int64_t n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

/* Every proof of every index/size (and old/new) pair up to `size` equals the
 * reference proof byte for byte. */
static void
proofs_equal_reference(struct fx *f, struct syn *y, uint64_t size)
{
	uint8_t ref[MERKLE_MAX_PROOF][PW_HASH_LEN];
	struct pw_proof p;
	size_t n;

	for (uint64_t b = 1; b <= size; b++) {
		for (uint64_t a = 0; a < b; a++) {
			assert_int_equal(mlog_prove_inclusion(f->m, a, b, &p), PW_OK);
			assert_int_equal(
			    merkle_prove_inclusion(syn_leaf, y, a, b, ref, MERKLE_MAX_PROOF, &n),
			    PW_OK);
			assert_int_equal(p.n_hashes, n);
			assert_memory_equal(p.hashes, ref, n * PW_HASH_LEN);
		}
		for (uint64_t a = 0; a <= b; a++) {
			assert_int_equal(mlog_prove_consistency(f->m, a, b, &p), PW_OK);
			assert_int_equal(
			    merkle_prove_consistency(syn_leaf, y, a, b, ref, MERKLE_MAX_PROOF, &n),
			    PW_OK);
			assert_int_equal(p.n_hashes, n);
			assert_memory_equal(p.hashes, ref, n * PW_HASH_LEN);
		}
	}
}

/* Table log_nodes holds every interior perfect subtree, written with the
 * leaf that completes it; proofs from it equal the O(n) proofs, also after
 * reopen, after rebuilding it for a database of the old schema, and after a
 * rollback. */
static void
test_node_table_proofs_equal_reference(void **state)
{
	struct fx *f = *state;
	static struct syn y;
	uint8_t root[PW_HASH_LEN], want[PW_HASH_LEN], cp[512];
	size_t len;

	syn_fill(&y);
	/* appended in uneven transactions, with checkpoints between */
	size_t cuts[] = { 0, 1, 2, 7, 8, 33, 64, 65, 90, NSYN };
	for (size_t c = 1; c < sizeof(cuts) / sizeof(cuts[0]); c++) {
		syn_append(f, &y, cuts[c - 1], cuts[c]);
		assert_int_equal(
		    mlog_checkpoint(f->m, &f->exch, MARKET, "m", c, c, cp, sizeof(cp), &len),
		    PW_OK);
		uint64_t n = cuts[c];
		assert_int_equal(count_rows(f->db, "SELECT count(*) FROM log_nodes"),
		                 (int64_t)(n - (uint64_t)__builtin_popcountll(n)));
	}
	/* every node equals the MTH of its leaves */
	sqlite3_stmt *st;
	assert_int_equal(
	    sqlite3_prepare_v2(f->db, "SELECT level, leaf, hash FROM log_nodes", -1, &st, NULL),
	    SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW) {
		int level = sqlite3_column_int(st, 0);
		int64_t leaf = sqlite3_column_int64(st, 1);
		assert_true(level >= 1 && level < 7);
		/* stored under the leaf that completes it */
		assert_true(leaf >= 0 && ((uint64_t)(leaf + 1) & ((1u << level) - 1)) == 0);
		int64_t idx = ((leaf + 1) >> level) - 1;
		assert_true(((uint64_t)(idx + 1) << level) <= NSYN);
		assert_int_equal(merkle_subtree_root(syn_leaf, &y, (uint64_t)idx << level,
		                                     (uint64_t)1 << level, want),
		                 PW_OK);
		assert_int_equal(sqlite3_column_bytes(st, 2), PW_HASH_LEN);
		assert_memory_equal(sqlite3_column_blob(st, 2), want, PW_HASH_LEN);
	}
	sqlite3_finalize(st);
	proofs_equal_reference(f, &y, NSYN);

	/* reopen: the table is kept (a matching table is not rebuilt) */
	mlog_close(&f->m);
	exec(f->db, "CREATE TEMP TRIGGER no_rebuild BEFORE DELETE ON log_nodes"
	            " BEGIN SELECT RAISE(FAIL, 'rebuilt'); END");
	assert_int_equal(mlog_open(&f->m, f->db), PW_OK);
	exec(f->db, "DROP TRIGGER no_rebuild");
	proofs_equal_reference(f, &y, NSYN);

	/* a database of the version without the table: built once at open,
	 * the same rows, the same tree head */
	mlog_close(&f->m);
	exec(f->db, "DROP TABLE log_nodes");
	assert_int_equal(mlog_open(&f->m, f->db), PW_OK);
	assert_int_equal(count_rows(f->db, "SELECT count(*) FROM log_nodes"),
	                 NSYN - __builtin_popcount(NSYN));
	mlog_root(f->m, root);

	struct merkle_range r;
	merkle_range_init(&r);
	for (size_t i = 0; i < NSYN; i++)
		assert_int_equal(merkle_range_append(&r, y.leaves[i]), PW_OK);
	merkle_range_root(&r, want);
	assert_memory_equal(root, want, PW_HASH_LEN);
	proofs_equal_reference(f, &y, NSYN);

	/* a database of the version whose table had the key (level, idx):
	 * replaced at open by the table keyed by completing leaf, in one
	 * transaction; when the open fails, the old table is left as it was */
	mlog_close(&f->m);
	exec(f->db, "DROP TABLE log_nodes; CREATE TABLE log_nodes(level INTEGER NOT NULL,"
	            " idx INTEGER NOT NULL, hash BLOB NOT NULL, PRIMARY KEY(level, idx))"
	            " WITHOUT ROWID; INSERT INTO log_nodes VALUES (1, 0, zeroblob(32))");
	exec(f->db, "SAVEPOINT t; UPDATE log SET leaf = zeroblob(32) WHERE idx = 3");
	assert_int_equal(mlog_open(&f->m, f->db), PW_ERR_CORRUPT);
	assert_int_equal(count_rows(f->db, "SELECT count(*) FROM log_nodes WHERE idx = 0"), 1);
	exec(f->db, "ROLLBACK TO t; RELEASE t");
	assert_int_equal(mlog_open(&f->m, f->db), PW_OK);
	assert_true(sqlite3_get_autocommit(f->db));
	assert_int_equal(
	    count_rows(f->db,
	               "SELECT count(*) FROM pragma_table_info('log_nodes') WHERE name = 'idx'"),
	    0);
	assert_int_equal(count_rows(f->db, "SELECT count(*) FROM log_nodes"),
	                 NSYN - __builtin_popcount(NSYN));
	mlog_root(f->m, root);
	assert_memory_equal(root, want, PW_HASH_LEN);
	proofs_equal_reference(f, &y, NSYN);

	/* a table cut short, or one whose range nodes differ: rebuilt */
	mlog_close(&f->m);
	exec(f->db, "DELETE FROM log_nodes WHERE leaf = 99 AND level = 1");
	assert_int_equal(mlog_open(&f->m, f->db), PW_OK);
	proofs_equal_reference(f, &y, NSYN);
	mlog_close(&f->m);
	exec(f->db, "UPDATE log_nodes SET hash = zeroblob(32) WHERE leaf = 95 AND level = 5");
	assert_int_equal(mlog_open(&f->m, f->db), PW_OK);
	proofs_equal_reference(f, &y, NSYN);
	mlog_close(&f->m);
	exec(f->db, "INSERT INTO log_nodes VALUES (101, 1, zeroblob(32))");
	assert_int_equal(mlog_open(&f->m, f->db), PW_OK);
	assert_int_equal(count_rows(f->db, "SELECT count(*) FROM log_nodes"),
	                 NSYN - __builtin_popcount(NSYN));

	/* a rolled-back append takes its nodes with it (kill -9 is a rollback) */
	mlog_close(&f->m);
	exec(f->db, "DELETE FROM log WHERE idx >= 64");
	exec(f->db, "DELETE FROM checkpoints WHERE tree_size > 64");
	assert_int_equal(mlog_open(&f->m, f->db), PW_OK); /* rebuilt for 64 */
	assert_int_equal(count_rows(f->db, "SELECT count(*) FROM log_nodes"), 63);
	exec(f->db, "BEGIN");
	uint64_t idx;
	for (size_t i = 64; i < 80; i++)
		assert_int_equal(mlog_append(f->m, y.frames[i], y.lens[i], &idx), PW_OK);
	assert_int_equal(count_rows(f->db, "SELECT count(*) FROM log_nodes"), 63 + 15);
	exec(f->db, "ROLLBACK");
	assert_int_equal(mlog_reload(f->m), PW_OK);
	assert_int_equal(count_rows(f->db, "SELECT count(*) FROM log_nodes"), 63);
	syn_append(f, &y, 64, NSYN);
	proofs_equal_reference(f, &y, NSYN);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_empty_log, setup, teardown),
		cmocka_unit_test_setup_teardown(test_append_needs_transaction, setup, teardown),
		cmocka_unit_test_setup_teardown(test_append_root_rows_reopen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rollback_then_reload, setup, teardown),
		cmocka_unit_test_setup_teardown(test_checkpoint_signed_and_stored, setup, teardown),
		cmocka_unit_test_setup_teardown(test_checkpoint_refused_when_history_changed, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_open_refuses_corrupt_log, setup, teardown),
		cmocka_unit_test_setup_teardown(test_proofs_from_storage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_node_table_proofs_equal_reference, setup,
		                                teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
