/*
 * test_merkle.c: the RFC 6962 tree against published reference values, and
 * every proof of trees of 1..64 leaves verified, then broken (bit flips,
 * wrong index or size, extra, missing or reordered elements) and rejected.
 *
 * Reference values: the classic RFC 6962 test data (8 leaves "", 00, 10,
 * 2021, 3031, 40414243, 5051525354555657, 606162636465666768696a6b6c6d6e6f)
 * with the roots of sizes 1..8 and sample proofs as published in the
 * certificate-transparency test suites (transparency-dev/merkle
 * proof/verify_test.go).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "peerwatt/merkle.h"

#define H    MERKLE_HASH_LEN
#define MAXN 130 /* leaves prepared: sizes up to 64, wrong sizes up to 2*64+1 */

static const char *const rfc_leaves_hex[8] = {
	"",
	"00",
	"10",
	"2021",
	"3031",
	"40414243",
	"5051525354555657",
	"606162636465666768696a6b6c6d6e6f",
};
static const char *const rfc_roots_hex[8] = {
	"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
	"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
	"aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
	"d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
	"4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
	"76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
	"ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
	"5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
};

struct ref_proof {
	uint64_t a, b; /* inclusion: leaf index, size; consistency: old, new */
	size_t n;
	const char *hex[3];
};

static const struct ref_proof rfc_inclusion[] = {
	{ 0,
	  8,
	  3,
	  { "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
	    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
	    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4" } },
	{ 5,
	  8,
	  3,
	  { "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
	    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
	    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7" } },
	{ 2, 3, 1, { "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125" } },
	{ 1,
	  5,
	  3,
	  { "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
	    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
	    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b" } },
};

static const struct ref_proof rfc_consistency[] = {
	{ 1,
	  8,
	  3,
	  { "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
	    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
	    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4" } },
	{ 6,
	  8,
	  3,
	  { "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
	    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
	    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7" } },
	{ 2,
	  5,
	  2,
	  { "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
	    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b" } },
	{ 6,
	  7,
	  3,
	  { "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
	    "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
	    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7" } },
};

/* Test fixture: the leaf hashes of MAXN entries (the 8 RFC leaves first),
 * and the root of every prefix, computed by the naive recursive MTH. */
struct tree {
	uint8_t leaf[MAXN][H];
	uint8_t root[MAXN + 1][H];
	unsigned reads;
	uint64_t fail_at; /* accessor fails at this index (UINT64_MAX: never) */
};

static void
unhex(const char *hex, uint8_t *out, size_t len)
{
	assert_int_equal(strlen(hex), 2 * len);
	assert_int_equal(sodium_hex2bin(out, len, hex, 2 * len, NULL, NULL, NULL), 0);
}

static pw_err
tree_get(void *ctx, uint64_t idx, uint8_t out[H])
{
	struct tree *t = ctx;

	if (idx >= MAXN || idx == t->fail_at)
		return PW_ERR_NOTFOUND;
	t->reads++;
	memcpy(out, t->leaf[idx], H);
	return PW_OK;
}

/* The RFC 6962 definition, recursively: an oracle independent of the
 * compact range used by the code under test. */
static void
naive_mth(const struct tree *t, size_t lo, size_t n, uint8_t out[H])
{
	uint8_t l[H], r[H];
	size_t k = 1;

	if (n == 0) {
		merkle_empty_root(out);
		return;
	}
	if (n == 1) {
		memcpy(out, t->leaf[lo], H);
		return;
	}
	while (k * 2 < n)
		k *= 2;
	naive_mth(t, lo, k, l);
	naive_mth(t, lo + k, n - k, r);
	merkle_node_hash(l, r, out);
}

static void
tree_fill(struct tree *t)
{
	uint8_t buf[32];

	memset(t, 0, sizeof(*t));
	t->fail_at = UINT64_MAX;
	for (size_t i = 0; i < MAXN; i++) {
		size_t len;
		if (i < 8) {
			len = strlen(rfc_leaves_hex[i]) / 2;
			unhex(rfc_leaves_hex[i], buf, len);
		} else {
			len = (i % 17) + 1;
			for (size_t j = 0; j < len; j++)
				buf[j] = (uint8_t)(i * 31 + j);
		}
		merkle_leaf_hash(buf, len, t->leaf[i]);
	}
	for (size_t n = 0; n <= MAXN; n++)
		naive_mth(t, 0, n, t->root[n]);
}

static void
test_hash_rules(void **state)
{
	uint8_t got[H], want[H], buf[1 + 2 * H];

	(void)state;
	merkle_empty_root(got);
	unhex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", want, H);
	assert_memory_equal(got, want, H);

	/* leaf = SHA-256(0x00 || entry) */
	buf[0] = 0x00;
	memcpy(buf + 1, "abc", 3);
	crypto_hash_sha256(want, buf, 4);
	merkle_leaf_hash((const uint8_t *)"abc", 3, got);
	assert_memory_equal(got, want, H);

	/* node = SHA-256(0x01 || l || r), also when out aliases an input */
	uint8_t l[H], r[H];
	memset(l, 0xaa, H);
	memset(r, 0x55, H);
	buf[0] = 0x01;
	memcpy(buf + 1, l, H);
	memcpy(buf + 1 + H, r, H);
	crypto_hash_sha256(want, buf, sizeof(buf));
	merkle_node_hash(l, r, got);
	assert_memory_equal(got, want, H);
	merkle_node_hash(l, r, l);
	assert_memory_equal(l, want, H);
}

static void
test_rfc6962_reference_roots(void **state)
{
	struct tree tt, *t = &tt;

	tree_fill(t);
	struct merkle_range r;
	uint8_t want[H], got[H];

	(void)state;
	merkle_range_init(&r);
	merkle_range_root(&r, got);
	merkle_empty_root(want);
	assert_memory_equal(got, want, H);
	for (size_t n = 1; n <= 8; n++) {
		unhex(rfc_roots_hex[n - 1], want, H);
		assert_int_equal(merkle_range_append(&r, t->leaf[n - 1]), PW_OK);
		assert_int_equal(r.size, n);
		merkle_range_root(&r, got);
		assert_memory_equal(got, want, H);
		assert_int_equal(merkle_subtree_root(tree_get, t, 0, n, got), PW_OK);
		assert_memory_equal(got, want, H);
		assert_memory_equal(t->root[n], want, H); /* the oracle agrees too */
	}
}

static void
test_compact_range_matches_naive_mth(void **state)
{
	struct tree tt, *t = &tt;

	tree_fill(t);
	struct merkle_range r;
	uint8_t got[H];

	(void)state;
	merkle_range_init(&r);
	for (size_t n = 1; n <= MAXN; n++) {
		assert_int_equal(merkle_range_append(&r, t->leaf[n - 1]), PW_OK);
		merkle_range_root(&r, got);
		assert_memory_equal(got, t->root[n], H);
	}
	/* a subtree not starting at 0 */
	uint8_t want[H];
	naive_mth(t, 5, 11, want);
	assert_int_equal(merkle_subtree_root(tree_get, t, 5, 11, got), PW_OK);
	assert_memory_equal(got, want, H);
}

/* Every perfect subtree a leaf completes is handed out once, at the level
 * and index the naive MTH gives it, and the range itself is unchanged by
 * asking for them. */
static void
test_append_nodes_reports_completed_subtrees(void **state)
{
	struct tree tt, *t = &tt;
	struct merkle_range r, plain;
	uint8_t done[MERKLE_MAX_LEVELS][H], want[H], got[H], plain_root[H];
	unsigned n_done, total = 0;

	(void)state;
	tree_fill(t);
	merkle_range_init(&r);
	merkle_range_init(&plain);
	for (uint64_t i = 0; i < MAXN; i++) {
		assert_int_equal(merkle_range_append_nodes(&r, t->leaf[i], done, &n_done), PW_OK);
		assert_int_equal(merkle_range_append(&plain, t->leaf[i]), PW_OK);
		/* the carries of i + 1 are the trailing one bits of i */
		assert_int_equal(n_done, (unsigned)__builtin_ctzll(~i));
		for (unsigned k = 0; k < n_done; k++) {
			unsigned level = k + 1;
			uint64_t index = i >> level;
			naive_mth(t, (size_t)(index << level), (size_t)1 << level, want);
			assert_memory_equal(done[k], want, H);
		}
		total += n_done;
		merkle_range_root(&r, got);
		merkle_range_root(&plain, plain_root);
		assert_memory_equal(got, plain_root, H);
		assert_memory_equal(got, t->root[i + 1], H);
	}
	/* n - popcount(n) interior perfect subtrees in a tree of n leaves */
	assert_int_equal(total, MAXN - (unsigned)__builtin_popcount(MAXN));
	/* NULL outputs are allowed; a full range reports nothing */
	assert_int_equal(merkle_range_append_nodes(&r, t->leaf[0], NULL, NULL), PW_OK);
	r.size = UINT64_MAX;
	n_done = 7;
	assert_int_equal(merkle_range_append_nodes(&r, t->leaf[0], done, &n_done), PW_ERR_FULL);
	assert_int_equal(n_done, 0);
}

static void
test_range_full(void **state)
{
	struct merkle_range r;
	uint8_t leaf[H] = { 0 };

	(void)state;
	merkle_range_init(&r);
	r.size = UINT64_MAX;
	assert_int_equal(merkle_range_append(&r, leaf), PW_ERR_FULL);
}

static void
test_rfc6962_reference_proofs(void **state)
{
	struct tree tt, *t = &tt;

	tree_fill(t);
	uint8_t got[MERKLE_MAX_PROOF][H], want[H];
	size_t n;

	(void)state;
	for (size_t i = 0; i < sizeof(rfc_inclusion) / sizeof(rfc_inclusion[0]); i++) {
		const struct ref_proof *p = &rfc_inclusion[i];
		assert_int_equal(
		    merkle_prove_inclusion(tree_get, t, p->a, p->b, got, MERKLE_MAX_PROOF, &n),
		    PW_OK);
		assert_int_equal(n, p->n);
		for (size_t j = 0; j < n; j++) {
			unhex(p->hex[j], want, H);
			assert_memory_equal(got[j], want, H);
		}
		unhex(rfc_roots_hex[p->b - 1], want, H);
		assert_int_equal(merkle_verify_inclusion(p->a, p->b, t->leaf[p->a],
		                                         (const uint8_t(*)[H])got, n, want),
		                 PW_OK);
	}
	for (size_t i = 0; i < sizeof(rfc_consistency) / sizeof(rfc_consistency[0]); i++) {
		const struct ref_proof *p = &rfc_consistency[i];
		uint8_t r1[H], r2[H];
		assert_int_equal(
		    merkle_prove_consistency(tree_get, t, p->a, p->b, got, MERKLE_MAX_PROOF, &n),
		    PW_OK);
		assert_int_equal(n, p->n);
		for (size_t j = 0; j < n; j++) {
			unhex(p->hex[j], want, H);
			assert_memory_equal(got[j], want, H);
		}
		unhex(rfc_roots_hex[p->a - 1], r1, H);
		unhex(rfc_roots_hex[p->b - 1], r2, H);
		assert_int_equal(
		    merkle_verify_consistency(p->a, p->b, r1, r2, (const uint8_t(*)[H])got, n),
		    PW_OK);
	}
}

/* Every inclusion proof of sizes 1..64 verifies; every corruption fails.
 * Full single-bit flips for sizes up to 16, one flip per byte beyond
 * (the code path is the same, only the count grows). */
static void
test_inclusion_all_sizes(void **state)
{
	struct tree tt, *t = &tt;

	tree_fill(t);
	uint8_t p[MERKLE_MAX_PROOF + 1][H], q[MERKLE_MAX_PROOF + 1][H], got[H];
	size_t n;
	unsigned verified = 0, rejected = 0;

	(void)state;
	for (uint64_t size = 1; size <= 64; size++) {
		for (uint64_t idx = 0; idx < size; idx++) {
			assert_int_equal(
			    merkle_prove_inclusion(tree_get, t, idx, size, p, MERKLE_MAX_PROOF, &n),
			    PW_OK);
			const uint8_t(*cp)[H] = (const uint8_t(*)[H])p;
			assert_int_equal(
			    merkle_verify_inclusion(idx, size, t->leaf[idx], cp, n, t->root[size]),
			    PW_OK);
			assert_int_equal(
			    merkle_root_from_inclusion(idx, size, t->leaf[idx], cp, n, got), PW_OK);
			assert_memory_equal(got, t->root[size], H);
			verified++;

			/* another leaf at this position */
			uint64_t other = (idx + 1) % size;
			if (other != idx)
				assert_int_equal(merkle_verify_inclusion(idx, size, t->leaf[other],
				                                         cp, n, t->root[size]),
				                 PW_ERR_PROOF);
			/* wrong root: the previous and the next tree */
			assert_int_equal(merkle_verify_inclusion(idx, size, t->leaf[idx], cp, n,
			                                         t->root[size - 1]),
			                 PW_ERR_PROOF);
			assert_int_equal(merkle_verify_inclusion(idx, size, t->leaf[idx], cp, n,
			                                         t->root[size + 1]),
			                 PW_ERR_PROOF);
			/* wrong index, each against that claim's genuine root */
			const uint64_t wrong_idx[] = { idx - 1, idx + 1, idx ^ 2, idx ^ 1, size };
			for (size_t w = 0; w < sizeof(wrong_idx) / sizeof(wrong_idx[0]); w++) {
				if (wrong_idx[w] == idx)
					continue;
				assert_int_equal(merkle_verify_inclusion(wrong_idx[w], size,
				                                         t->leaf[idx], cp, n,
				                                         t->root[size]),
				                 PW_ERR_PROOF);
				rejected++;
			}
			/* wrong size, each against that size's genuine root */
			const uint64_t wrong_size[] = { size - 1, size + 1, size * 2, size / 2, 0 };
			for (size_t w = 0; w < sizeof(wrong_size) / sizeof(wrong_size[0]); w++) {
				uint64_t s = wrong_size[w];
				if (s == size)
					continue;
				assert_int_equal(merkle_verify_inclusion(idx, s, t->leaf[idx], cp,
				                                         n, t->root[s]),
				                 PW_ERR_PROOF);
				rejected++;
			}
			/* missing last / first element */
			if (n > 0) {
				assert_int_equal(merkle_verify_inclusion(idx, size, t->leaf[idx],
				                                         cp, n - 1, t->root[size]),
				                 PW_ERR_PROOF);
				assert_int_equal(merkle_verify_inclusion(idx, size, t->leaf[idx],
				                                         cp + 1, n - 1,
				                                         t->root[size]),
				                 PW_ERR_PROOF);
				rejected += 2;
			}
			/* extra element at the end and at the front */
			memcpy(q, p, n * H);
			memcpy(q[n], t->root[size], H);
			assert_int_equal(merkle_verify_inclusion(idx, size, t->leaf[idx],
			                                         (const uint8_t(*)[H])q, n + 1,
			                                         t->root[size]),
			                 PW_ERR_PROOF);
			memcpy(q[0], t->leaf[idx], H);
			memcpy(q + 1, p, n * H);
			assert_int_equal(merkle_verify_inclusion(idx, size, t->leaf[idx],
			                                         (const uint8_t(*)[H])q, n + 1,
			                                         t->root[size]),
			                 PW_ERR_PROOF);
			rejected += 2;
			/* two elements swapped */
			if (n > 1) {
				memcpy(q, p, n * H);
				memcpy(q[0], p[1], H);
				memcpy(q[1], p[0], H);
				assert_int_equal(merkle_verify_inclusion(idx, size, t->leaf[idx],
				                                         (const uint8_t(*)[H])q, n,
				                                         t->root[size]),
				                 PW_ERR_PROOF);
				rejected++;
			}
			/* single-bit flips in every element, the leaf and the root */
			for (size_t e = 0; e < n; e++) {
				for (unsigned bit = 0; bit < 8 * H; bit += size <= 16 ? 1 : 8) {
					unsigned b = size <= 16 ? bit : bit + (unsigned)(e % 8);
					p[e][b / 8] ^= (uint8_t)(1u << (b % 8));
					assert_int_equal(merkle_verify_inclusion(idx, size,
					                                         t->leaf[idx], cp,
					                                         n, t->root[size]),
					                 PW_ERR_PROOF);
					p[e][b / 8] ^= (uint8_t)(1u << (b % 8));
					rejected++;
				}
			}
			uint8_t leaf[H], root[H];
			for (unsigned b = 0; b < 8 * H; b += size <= 16 ? 1 : 8) {
				memcpy(leaf, t->leaf[idx], H);
				memcpy(root, t->root[size], H);
				leaf[b / 8] ^= (uint8_t)(1u << (b % 8));
				root[b / 8] ^= (uint8_t)(1u << (b % 8));
				assert_int_equal(
				    merkle_verify_inclusion(idx, size, leaf, cp, n, t->root[size]),
				    PW_ERR_PROOF);
				assert_int_equal(
				    merkle_verify_inclusion(idx, size, t->leaf[idx], cp, n, root),
				    PW_ERR_PROOF);
				rejected += 2;
			}
		}
	}
	assert_int_equal(verified, 64 * 65 / 2);
	assert_true(rejected > verified * 10);
}

static void
test_consistency_all_sizes(void **state)
{
	struct tree tt, *t = &tt;

	tree_fill(t);
	uint8_t p[MERKLE_MAX_PROOF + 1][H], q[MERKLE_MAX_PROOF + 1][H];
	size_t n;
	unsigned verified = 0;

	(void)state;
	for (uint64_t size = 1; size <= 64; size++) {
		for (uint64_t old = 0; old <= size; old++) {
			assert_int_equal(merkle_prove_consistency(tree_get, t, old, size, p,
			                                          MERKLE_MAX_PROOF, &n),
			                 PW_OK);
			const uint8_t(*cp)[H] = (const uint8_t(*)[H])p;
			const uint8_t *r1 = t->root[old], *r2 = t->root[size];
			assert_int_equal(merkle_verify_consistency(old, size, r1, r2, cp, n),
			                 PW_OK);
			verified++;
			if (old == 0 || old == size) {
				assert_int_equal(n, 0);
				/* a trivial proof with an element is refused */
				memcpy(q[0], r2, H);
				assert_int_equal(merkle_verify_consistency(
				                     old, size, r1, r2, (const uint8_t(*)[H])q, 1),
				                 PW_ERR_PROOF);
				if (old == size && size > 1)
					assert_int_equal(
					    merkle_verify_consistency(old, size, r1,
					                              t->root[size - 1], cp, 0),
					    PW_ERR_PROOF);
				continue;
			}
			assert_true(n > 0);
			/* wrong sizes, each against the genuine roots of the claim */
			const uint64_t wo[] = { old - 1, old + 1, old ^ 2, size };
			for (size_t w = 0; w < sizeof(wo) / sizeof(wo[0]); w++) {
				if (wo[w] == old || wo[w] == 0 || wo[w] > size)
					continue;
				assert_int_equal(merkle_verify_consistency(
				                     wo[w], size, t->root[wo[w]], r2, cp, n),
				                 PW_ERR_PROOF);
			}
			const uint64_t wn[] = { size - 1, size + 1, size * 2, size / 2 };
			for (size_t w = 0; w < sizeof(wn) / sizeof(wn[0]); w++) {
				if (wn[w] == size || wn[w] < old)
					continue;
				assert_int_equal(merkle_verify_consistency(old, wn[w], r1,
				                                           t->root[wn[w]], cp, n),
				                 PW_ERR_PROOF);
			}
			/* old > new never verifies */
			assert_int_equal(merkle_verify_consistency(size, old, r2, r1, cp, n),
			                 PW_ERR_PROOF);
			/* wrong roots, swapped roots, empty proof */
			assert_int_equal(merkle_verify_consistency(old, size, r2, r2, cp, n),
			                 PW_ERR_PROOF);
			assert_int_equal(merkle_verify_consistency(old, size, r1, r1, cp, n),
			                 PW_ERR_PROOF);
			assert_int_equal(merkle_verify_consistency(old, size, r2, r1, cp, n),
			                 PW_ERR_PROOF);
			assert_int_equal(merkle_verify_consistency(old, size, r1, r2, cp, 0),
			                 PW_ERR_PROOF);
			/* missing last / first, extra at the end / front */
			assert_int_equal(merkle_verify_consistency(old, size, r1, r2, cp, n - 1),
			                 PW_ERR_PROOF);
			assert_int_equal(
			    merkle_verify_consistency(old, size, r1, r2, cp + 1, n - 1),
			    PW_ERR_PROOF);
			memcpy(q, p, n * H);
			memcpy(q[n], r2, H);
			assert_int_equal(merkle_verify_consistency(old, size, r1, r2,
			                                           (const uint8_t(*)[H])q, n + 1),
			                 PW_ERR_PROOF);
			memcpy(q[0], p[0], H);
			memcpy(q + 1, p, n * H);
			assert_int_equal(merkle_verify_consistency(old, size, r1, r2,
			                                           (const uint8_t(*)[H])q, n + 1),
			                 PW_ERR_PROOF);
			/* single-bit flips in every element and in both roots */
			for (size_t e = 0; e < n; e++) {
				for (unsigned bit = 0; bit < 8 * H; bit += size <= 16 ? 1 : 8) {
					unsigned b = size <= 16 ? bit : bit + (unsigned)(e % 8);
					p[e][b / 8] ^= (uint8_t)(1u << (b % 8));
					assert_int_equal(
					    merkle_verify_consistency(old, size, r1, r2, cp, n),
					    PW_ERR_PROOF);
					p[e][b / 8] ^= (uint8_t)(1u << (b % 8));
				}
			}
			uint8_t x1[H], x2[H];
			for (unsigned b = 0; b < 8 * H; b += size <= 16 ? 1 : 8) {
				memcpy(x1, r1, H);
				memcpy(x2, r2, H);
				x1[b / 8] ^= (uint8_t)(1u << (b % 8));
				x2[b / 8] ^= (uint8_t)(1u << (b % 8));
				assert_int_equal(
				    merkle_verify_consistency(old, size, x1, r2, cp, n),
				    PW_ERR_PROOF);
				assert_int_equal(
				    merkle_verify_consistency(old, size, r1, x2, cp, n),
				    PW_ERR_PROOF);
			}
		}
	}
	assert_int_equal(verified, 64 * 65 / 2 + 64); /* sum over size of (size + 1) */
}

/* node accessor over the fixture: perfect subtree roots by the oracle */
static pw_err
tree_node(void *ctx, unsigned level, uint64_t index, uint8_t out[H])
{
	struct tree *t = ctx;
	if (level >= 8 || (index + 1) << level > MAXN)
		return PW_ERR_RANGE;
	t->reads++;
	naive_mth(t, (size_t)(index << level), (size_t)1 << level, out);
	return PW_OK;
}

/* Proofs from perfect-subtree roots equal the proofs from leaves, and read
 * O(log^2 n) nodes rather than O(n) leaves. */
static void
test_node_accessor_proofs_equal_leaf_proofs(void **state)
{
	struct tree tt, *t = &tt;
	uint8_t p[MERKLE_MAX_PROOF][H], q[MERKLE_MAX_PROOF][H];
	size_t n, m;

	(void)state;
	tree_fill(t);
	for (uint64_t size = 1; size <= 64; size++) {
		for (uint64_t i = 0; i < size; i++) {
			assert_int_equal(
			    merkle_prove_inclusion(tree_get, t, i, size, p, MERKLE_MAX_PROOF, &n),
			    PW_OK);
			t->reads = 0;
			assert_int_equal(merkle_prove_inclusion_nodes(tree_node, t, i, size, q,
			                                              MERKLE_MAX_PROOF, &m),
			                 PW_OK);
			assert_int_equal(n, m);
			assert_memory_equal(p, q, n * H);
			assert_true(t->reads <= 6 * 7);
		}
		for (uint64_t old = 0; old <= size; old++) {
			assert_int_equal(merkle_prove_consistency(tree_get, t, old, size, p,
			                                          MERKLE_MAX_PROOF, &n),
			                 PW_OK);
			assert_int_equal(merkle_prove_consistency_nodes(tree_node, t, old, size, q,
			                                                MERKLE_MAX_PROOF, &m),
			                 PW_OK);
			assert_int_equal(n, m);
			assert_memory_equal(p, q, n * H);
		}
	}
	assert_int_equal(merkle_prove_inclusion_nodes(NULL, t, 0, 1, q, MERKLE_MAX_PROOF, &m),
	                 PW_ERR_ARG);
	assert_int_equal(
	    merkle_prove_consistency_nodes(tree_node, t, 3, 2, q, MERKLE_MAX_PROOF, &m),
	    PW_ERR_RANGE);
}

static void
test_generation_errors(void **state)
{
	struct tree tt, *t = &tt;

	tree_fill(t);
	uint8_t p[MERKLE_MAX_PROOF][H];
	size_t n = 99;

	(void)state;
	assert_int_equal(merkle_prove_inclusion(tree_get, t, 5, 5, p, MERKLE_MAX_PROOF, &n),
	                 PW_ERR_RANGE);
	assert_int_equal(n, 0);
	assert_int_equal(merkle_prove_inclusion(tree_get, t, 0, 0, p, MERKLE_MAX_PROOF, &n),
	                 PW_ERR_RANGE);
	assert_int_equal(merkle_prove_consistency(tree_get, t, 6, 5, p, MERKLE_MAX_PROOF, &n),
	                 PW_ERR_RANGE);
	/* 8 leaves need 3 hashes */
	assert_int_equal(merkle_prove_inclusion(tree_get, t, 0, 8, p, 2, &n), PW_ERR_FULL);
	assert_int_equal(merkle_prove_consistency(tree_get, t, 3, 8, p, 1, &n), PW_ERR_FULL);
	/* the accessor's error comes back unchanged */
	t->fail_at = 6;
	assert_int_equal(merkle_prove_inclusion(tree_get, t, 0, 8, p, MERKLE_MAX_PROOF, &n),
	                 PW_ERR_NOTFOUND);
	assert_int_equal(merkle_prove_consistency(tree_get, t, 3, 8, p, MERKLE_MAX_PROOF, &n),
	                 PW_ERR_NOTFOUND);
	uint8_t root[H];
	assert_int_equal(merkle_subtree_root(tree_get, t, 0, 8, root), PW_ERR_NOTFOUND);
	assert_int_equal(merkle_subtree_root(NULL, t, 0, 8, root), PW_ERR_ARG);
	/* a proof reads each leaf at most once */
	t->fail_at = UINT64_MAX;
	t->reads = 0;
	assert_int_equal(merkle_prove_inclusion(tree_get, t, 17, 100, p, MERKLE_MAX_PROOF, &n),
	                 PW_OK);
	assert_true(t->reads < 100);
}

static void
test_verify_rejects_oversized_and_out_of_range(void **state)
{
	struct tree tt, *t = &tt;

	tree_fill(t);
	static uint8_t p[MERKLE_MAX_PROOF + 1][H];

	(void)state;
	/* index at or past the size, and size 0 */
	assert_int_equal(merkle_verify_inclusion(1, 1, t->leaf[0], NULL, 0, t->leaf[0]),
	                 PW_ERR_PROOF);
	assert_int_equal(merkle_verify_inclusion(0, 0, t->leaf[0], NULL, 0, t->leaf[0]),
	                 PW_ERR_PROOF);
	assert_int_equal(merkle_verify_inclusion(0, 1, t->leaf[0], NULL, 0, t->leaf[0]), PW_OK);
	/* more hashes than any tree has levels */
	assert_int_equal(merkle_verify_inclusion(0, UINT64_MAX, t->leaf[0], (const uint8_t(*)[H])p,
	                                         MERKLE_MAX_PROOF + 1, t->root[1]),
	                 PW_ERR_PROOF);
	assert_int_equal(merkle_verify_consistency(1, UINT64_MAX, t->root[1], t->root[2],
	                                           (const uint8_t(*)[H])p, MERKLE_MAX_PROOF + 1),
	                 PW_ERR_PROOF);
}

int
main(void)
{
	if (sodium_init() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hash_rules),
		cmocka_unit_test(test_rfc6962_reference_roots),
		cmocka_unit_test(test_compact_range_matches_naive_mth),
		cmocka_unit_test(test_append_nodes_reports_completed_subtrees),
		cmocka_unit_test(test_range_full),
		cmocka_unit_test(test_rfc6962_reference_proofs),
		cmocka_unit_test(test_inclusion_all_sizes),
		cmocka_unit_test(test_consistency_all_sizes),
		cmocka_unit_test(test_node_accessor_proofs_equal_leaf_proofs),
		cmocka_unit_test(test_generation_errors),
		cmocka_unit_test(test_verify_rejects_oversized_and_out_of_range),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
