/*
 * bench_mlog.c: the cost of a log proof at the exchange and of building the
 * node table once (docs/performance.md).
 *
 * Writes a log of 10^6 entries straight through mlog (exchange/mlog.c) into
 * a file database in a temporary directory (WAL, like the exchange; frames
 * of 160 bytes, about an ORDER's size, unsigned: mlog hashes bytes, it does
 * not check signatures), then measures
 *
 *   BENCH proof_inclusion_us_1e6       mean of 2000 inclusion proofs of random
 *                                      leaves in the tree of 10^6 (target <= 1000)
 *   BENCH proof_inclusion_p99_us_1e6   their 99th percentile
 *   BENCH proof_consistency_us_1e6     mean of 2000 consistency proofs from a
 *                                      random size to 10^6 (target <= 1000)
 *   BENCH proof_inclusion_leafscan_ms_1e6  one inclusion proof the way it was
 *                                      answered before log_nodes (merkle_prove_
 *                                      inclusion over a leaf cursor), for scale
 *   BENCH mlog_append_us_1e6           mean append (leaf + its nodes), 1000 per
 *                                      transaction, synchronous=OFF
 *   BENCH mlog_open_s_1e6              mlog_open of the log (every entry re-read
 *                                      and rehashed, table checked)
 *   BENCH mlog_nodes_build_s_1e6       mlog_open after DROP TABLE log_nodes: the
 *                                      one-off upgrade of an older database,
 *                                      the same scan plus building the table
 *   BENCH sha256_leaf_ns               one leaf hash of a 232-byte entry (233
 *                                      bytes hashed) the way merkle_leaf_hash
 *                                      does it, on the path this CPU gets
 *                                      (common/sha256.c: SHA-NI or libsodium)
 *   BENCH sha256_leaf_portable_ns      the same with libsodium's code forced
 *   BENCH sha256_node_ns               one node hash (65 bytes), this CPU's path
 *   BENCH sha256_node_portable_ns      the same with libsodium's code forced
 *
 * Every proof measured is also verified against the root of its size
 * (exit 1 otherwise).  PW_BENCH_MLOG_N overrides the entry count (tests).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>
#include <sqlite3.h>

#include "exchange/mlog.h"
#include "peerwatt/log.h"
#include "peerwatt/merkle.h"
#include "peerwatt/sha256.h"
#include "peerwatt/wire.h"

#define FRAME_LEN 160
#define N_PROOFS  2000
#define TX_ROWS   1000
#define LEAF_LEN  232 /* the entry of the exchange's perf profile (issue 17): an ORDER frame */
#define N_HASHES  200000

static uint64_t
rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static double
now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

static void
frame_of(uint64_t i, uint8_t f[FRAME_LEN])
{
	uint64_t s = i;
	f[0] = 1;
	f[1] = PW_MSG_ORDER;
	for (size_t j = 2; j < FRAME_LEN; j += 8) {
		uint64_t r = rng_next(&s);
		memcpy(f + j, &r, FRAME_LEN - j < 8 ? FRAME_LEN - j : 8);
	}
}

/*
 * Mean ns of one hash of a prefix byte and `len` bytes, as merkle.c streams
 * it, with the implementation `init` picks.  Each digest feeds the next
 * input, so no hash can be skipped or overlapped.
 */
static double
sha256_ns(void (*init)(struct sha256_ctx *), size_t len)
{
	static const uint8_t prefix = 0x00;
	uint8_t in[LEAF_LEN], h[SHA256_LEN];
	struct sha256_ctx c;

	memset(in, 0x5a, sizeof(in));
	double a = now_s();
	for (int i = 0; i < N_HASHES; i++) {
		init(&c);
		sha256_update(&c, &prefix, 1);
		sha256_update(&c, in, len);
		sha256_final(&c, h);
		memcpy(in, h, SHA256_LEN);
	}
	return (now_s() - a) * 1e9 / N_HASHES;
}

static void
bench_sha256(void)
{
	printf("BENCH sha256_leaf_ns %.0f ns\n", sha256_ns(sha256_init, LEAF_LEN));
	printf("BENCH sha256_leaf_portable_ns %.0f ns\n",
	       sha256_ns(sha256_init_portable, LEAF_LEN));
	printf("BENCH sha256_node_ns %.0f ns\n", sha256_ns(sha256_init, 2 * SHA256_LEN));
	printf("BENCH sha256_node_portable_ns %.0f ns\n",
	       sha256_ns(sha256_init_portable, 2 * SHA256_LEN));
	fprintf(stderr, "bench_mlog: sha256 on this CPU: %s\n",
	        sha256_have_ni() ? "SHA extensions" : "libsodium");
}

static int
exec(sqlite3 *db, const char *sql)
{
	char *err = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
		fprintf(stderr, "bench_mlog: %s: %s\n", sql, err ? err : "?");
		sqlite3_free(err);
		return -1;
	}
	return 0;
}

static sqlite3 *
open_db(const char *path)
{
	sqlite3 *db = NULL;
	if (sqlite3_open(path, &db) != SQLITE_OK) {
		fprintf(stderr, "bench_mlog: open %s: %s\n", path, sqlite3_errmsg(db));
		sqlite3_close(db);
		return NULL;
	}
	if (exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF") != 0) {
		sqlite3_close(db);
		return NULL;
	}
	return db;
}

/* The O(n) accessor of the previous version: a stepping leaf cursor. */
struct scan {
	sqlite3_stmt *st;
	uint64_t next;
	int active;
};

static pw_err
scan_leaf(void *ctx, uint64_t idx, uint8_t out[MERKLE_HASH_LEN])
{
	struct scan *c = ctx;
	if (!c->active || idx != c->next) {
		sqlite3_reset(c->st);
		sqlite3_bind_int64(c->st, 1, (sqlite3_int64)idx);
		c->active = 1;
	}
	if (sqlite3_step(c->st) != SQLITE_ROW || sqlite3_column_bytes(c->st, 1) != MERKLE_HASH_LEN)
		return PW_ERR_DB;
	memcpy(out, sqlite3_column_blob(c->st, 1), MERKLE_HASH_LEN);
	c->next = idx + 1;
	return PW_OK;
}

static pw_err
read_leaf(sqlite3 *db, uint64_t idx, uint8_t out[MERKLE_HASH_LEN])
{
	sqlite3_stmt *st;
	pw_err rc = PW_ERR_DB;
	if (sqlite3_prepare_v2(db, "SELECT leaf FROM log WHERE idx = ?1", -1, &st, NULL) !=
	    SQLITE_OK)
		return PW_ERR_DB;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)idx);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_bytes(st, 0) == MERKLE_HASH_LEN) {
		memcpy(out, sqlite3_column_blob(st, 0), MERKLE_HASH_LEN);
		rc = PW_OK;
	}
	sqlite3_finalize(st);
	return rc;
}

int
main(void)
{
	uint64_t n = 1000000, seed = 42;
	const char *env = getenv("PW_BENCH_MLOG_N");
	char dir[] = "/tmp/bench_mlog.XXXXXX", path[64];
	uint8_t frame[FRAME_LEN], root[PW_HASH_LEN], leaf[PW_HASH_LEN];
	static double t_inc[N_PROOFS], t_con[N_PROOFS];
	struct merkle_range *sizes_at = NULL;
	struct mlog *m = NULL;
	struct pw_proof p;
	sqlite3 *db;
	int bad = 0;

	log_init("bench_mlog", LOG_LEVEL_WARN);
	if (env != NULL) {
		char *end;
		errno = 0;
		unsigned long long v = strtoull(env, &end, 10);
		if (errno || *end || v < 2 || v > 100000000ull) {
			fprintf(stderr, "bench_mlog: bad PW_BENCH_MLOG_N\n");
			return 64;
		}
		n = v;
	}
	if (sodium_init() < 0 || mkdtemp(dir) == NULL) {
		perror("bench_mlog: setup");
		return 1;
	}
	bench_sha256();
	snprintf(path, sizeof(path), "%s/log.db", dir);
	if ((db = open_db(path)) == NULL || mlog_open(&m, db) != PW_OK)
		return 1;

	/* the log, with the compact range of every size the consistency
	 * proofs start from kept aside (to verify them) */
	uint64_t olds[N_PROOFS];
	for (size_t i = 0; i < N_PROOFS; i++)
		olds[i] = 1 + rng_next(&seed) % (n - 1);
	qsort(olds, N_PROOFS, sizeof(olds[0]), cmp_u64);
	if ((sizes_at = calloc(N_PROOFS, sizeof(*sizes_at))) == NULL)
		return 1;
	struct merkle_range r;
	merkle_range_init(&r);
	double t0 = now_s();
	for (uint64_t i = 0; i < n; i++) {
		uint64_t idx;
		if (i % TX_ROWS == 0 && exec(db, "BEGIN") != 0)
			return 1;
		frame_of(i, frame);
		if (mlog_append(m, frame, FRAME_LEN, &idx) != PW_OK || idx != i)
			return 1;
		if ((i + 1) % TX_ROWS == 0 || i + 1 == n)
			if (exec(db, "COMMIT") != 0)
				return 1;
	}
	double t_append = now_s() - t0;
	/* the ranges of the old sizes, outside the timed part */
	size_t next_old = 0;
	for (uint64_t i = 0; i < n; i++) {
		frame_of(i, frame);
		merkle_leaf_hash(frame, FRAME_LEN, leaf);
		while (next_old < N_PROOFS && olds[next_old] == i)
			sizes_at[next_old++] = r;
		if (merkle_range_append(&r, leaf) != PW_OK)
			return 1;
	}
	mlog_root(m, root);
	{
		uint8_t want[PW_HASH_LEN];
		merkle_range_root(&r, want);
		if (memcmp(want, root, PW_HASH_LEN) != 0) {
			fprintf(stderr, "bench_mlog: root differs from the recomputation\n");
			return 1;
		}
	}
	printf("BENCH mlog_append_us_1e6 %.2f us\n", t_append * 1e6 / (double)n);

	/* inclusion proofs */
	for (size_t k = 0; k < N_PROOFS; k++) {
		uint64_t idx = rng_next(&seed) % n;
		double a = now_s();
		pw_err rc = mlog_prove_inclusion(m, idx, n, &p);
		t_inc[k] = (now_s() - a) * 1e6;
		if (rc != PW_OK || read_leaf(db, idx, leaf) != PW_OK ||
		    merkle_verify_inclusion(idx, n, leaf, (const uint8_t(*)[PW_HASH_LEN])p.hashes,
		                            p.n_hashes, root) != PW_OK)
			bad++;
	}
	/* consistency proofs */
	for (size_t k = 0; k < N_PROOFS; k++) {
		uint8_t old_root[PW_HASH_LEN];
		double a = now_s();
		pw_err rc = mlog_prove_consistency(m, olds[k], n, &p);
		t_con[k] = (now_s() - a) * 1e6;
		merkle_range_root(&sizes_at[k], old_root);
		if (rc != PW_OK || sizes_at[k].size != olds[k] ||
		    merkle_verify_consistency(olds[k], n, old_root, root,
		                              (const uint8_t(*)[PW_HASH_LEN])p.hashes,
		                              p.n_hashes) != PW_OK)
			bad++;
	}
	double sum_i = 0, sum_c = 0;
	for (size_t k = 0; k < N_PROOFS; k++) {
		sum_i += t_inc[k];
		sum_c += t_con[k];
	}
	qsort(t_inc, N_PROOFS, sizeof(t_inc[0]), cmp_double);
	printf("BENCH proof_inclusion_us_1e6 %.1f us target <=1000\n", sum_i / N_PROOFS);
	printf("BENCH proof_inclusion_p99_us_1e6 %.1f us\n", t_inc[N_PROOFS * 99 / 100]);
	printf("BENCH proof_consistency_us_1e6 %.1f us target <=1000\n", sum_c / N_PROOFS);

	/* the previous way, once, for scale */
	{
		struct scan c = { NULL, 0, 0 };
		uint8_t h[MERKLE_MAX_PROOF][PW_HASH_LEN];
		size_t nh;
		if (sqlite3_prepare_v2(db, "SELECT idx, leaf FROM log WHERE idx >= ?1 ORDER BY idx",
		                       -1, &c.st, NULL) != SQLITE_OK)
			return 1;
		uint64_t idx = n / 3;
		double a = now_s();
		pw_err rc = merkle_prove_inclusion(scan_leaf, &c, idx, n, h, MERKLE_MAX_PROOF, &nh);
		double t = now_s() - a;
		sqlite3_finalize(c.st);
		if (rc != PW_OK || mlog_prove_inclusion(m, idx, n, &p) != PW_OK ||
		    nh != p.n_hashes || memcmp(h, p.hashes, nh * PW_HASH_LEN) != 0)
			bad++;
		printf("BENCH proof_inclusion_leafscan_ms_1e6 %.1f ms\n", t * 1e3);
	}

	/* open with the table in place, then as an older database */
	mlog_close(&m);
	double a = now_s();
	if (mlog_open(&m, db) != PW_OK)
		return 1;
	printf("BENCH mlog_open_s_1e6 %.2f s\n", now_s() - a);
	mlog_close(&m);
	if (exec(db, "DROP TABLE log_nodes") != 0)
		return 1;
	a = now_s();
	if (mlog_open(&m, db) != PW_OK)
		return 1;
	printf("BENCH mlog_nodes_build_s_1e6 %.2f s\n", now_s() - a);
	{
		uint8_t again[PW_HASH_LEN];
		uint64_t idx = n / 7;
		mlog_root(m, again);
		if (memcmp(again, root, PW_HASH_LEN) != 0 ||
		    mlog_prove_inclusion(m, idx, n, &p) != PW_OK ||
		    read_leaf(db, idx, leaf) != PW_OK ||
		    merkle_verify_inclusion(idx, n, leaf, (const uint8_t(*)[PW_HASH_LEN])p.hashes,
		                            p.n_hashes, root) != PW_OK)
			bad++;
	}
	mlog_close(&m);
	sqlite3_close(db);
	free(sizes_at);
	char side[80];
	unlink(path);
	snprintf(side, sizeof(side), "%s-wal", path);
	unlink(side);
	snprintf(side, sizeof(side), "%s-shm", path);
	unlink(side);
	rmdir(dir);
	if (bad) {
		fprintf(stderr, "bench_mlog: %d proofs did not verify\n", bad);
		return 1;
	}
	return 0;
}
