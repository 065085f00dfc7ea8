/*
 * test_mlog.c: the settlement log over an in-memory SQLite database:
 * appends inside transactions, the root against an independent
 * recomputation, reopen, rollback + reload, signed checkpoints (and the
 * refusal to sign one that does not extend the previous), proofs served from
 * the stored entries, and corrupt databases refused at open.
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
	/* someone rewrites an entry already covered by the checkpoint */
	exec(f->db, "UPDATE log SET leaf = zeroblob(32) WHERE idx = 4");
	assert_int_equal(mlog_checkpoint(f->m, &f->exch, MARKET, "m", 2, 20, cp, sizeof(cp), &len),
	                 PW_ERR_CORRUPT);
	/* a deleted entry is refused too */
	exec(f->db, "DELETE FROM log WHERE idx = 10");
	assert_int_equal(mlog_checkpoint(f->m, &f->exch, MARKET, "m", 2, 20, cp, sizeof(cp), &len),
	                 PW_ERR_CORRUPT);
	uint64_t sz;
	uint8_t root[PW_HASH_LEN];
	assert_int_equal(mlog_last_checkpoint(f->m, &sz, root), PW_OK);
	assert_int_equal(sz, 9);
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
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
