/*
 * merkle.c: RFC 6962 / RFC 9162 Merkle tree hashing, compact range and
 * proofs (see include/peerwatt/merkle.h).  The proof algorithms follow
 * RFC 9162 sections 2.1.3 and 2.1.4 step by step, so the code can be checked
 * against the RFC text.
 */
#include "peerwatt/merkle.h"

#include <string.h>

#include "peerwatt/sha256.h"

void
merkle_leaf_hash(const uint8_t *entry, size_t len, uint8_t out[MERKLE_HASH_LEN])
{
	static const uint8_t prefix = 0x00;
	struct sha256_ctx c;

	sha256_init(&c);
	sha256_update(&c, &prefix, 1);
	sha256_update(&c, entry, len);
	sha256_final(&c, out);
}

void
merkle_node_hash(const uint8_t left[MERKLE_HASH_LEN], const uint8_t right[MERKLE_HASH_LEN],
                 uint8_t out[MERKLE_HASH_LEN])
{
	static const uint8_t prefix = 0x01;
	struct sha256_ctx c;

	/* update() consumes or copies the inputs before final() writes out, so
	 * aliasing is safe */
	sha256_init(&c);
	sha256_update(&c, &prefix, 1);
	sha256_update(&c, left, MERKLE_HASH_LEN);
	sha256_update(&c, right, MERKLE_HASH_LEN);
	sha256_final(&c, out);
}

void
merkle_empty_root(uint8_t out[MERKLE_HASH_LEN])
{
	sha256_hash(NULL, 0, out);
}

void
merkle_range_init(struct merkle_range *r)
{
	memset(r, 0, sizeof(*r));
}

pw_err
merkle_range_append_nodes(struct merkle_range *r, const uint8_t leaf[MERKLE_HASH_LEN],
                          uint8_t (*done)[MERKLE_HASH_LEN], unsigned *n_done)
{
	uint8_t h[MERKLE_HASH_LEN];
	unsigned level = 0;

	if (n_done != NULL)
		*n_done = 0;
	if (r->size == UINT64_MAX)
		return PW_ERR_FULL;
	memcpy(h, leaf, MERKLE_HASH_LEN);
	/* like a binary increment: each set low bit is a perfect subtree that
	 * the new one completes, carried upwards */
	while ((r->size >> level) & 1u) {
		merkle_node_hash(r->nodes[level], h, h);
		if (done != NULL)
			memcpy(done[level], h, MERKLE_HASH_LEN);
		level++;
	}
	memcpy(r->nodes[level], h, MERKLE_HASH_LEN);
	r->size++;
	if (n_done != NULL)
		*n_done = level;
	return PW_OK;
}

pw_err
merkle_range_append(struct merkle_range *r, const uint8_t leaf[MERKLE_HASH_LEN])
{
	return merkle_range_append_nodes(r, leaf, NULL, NULL);
}

void
merkle_range_root(const struct merkle_range *r, uint8_t out[MERKLE_HASH_LEN])
{
	uint8_t acc[MERKLE_HASH_LEN];
	unsigned level = 0;

	if (r->size == 0) {
		merkle_empty_root(out);
		return;
	}
	while (((r->size >> level) & 1u) == 0)
		level++;
	memcpy(acc, r->nodes[level], MERKLE_HASH_LEN);
	/* the smallest subtree is rightmost: fold the bigger ones in from the left */
	for (level++; level < MERKLE_MAX_LEVELS; level++)
		if ((r->size >> level) & 1u)
			merkle_node_hash(r->nodes[level], acc, acc);
	memcpy(out, acc, MERKLE_HASH_LEN);
}

pw_err
merkle_subtree_root(merkle_leaf_fn get, void *ctx, uint64_t first, uint64_t count,
                    uint8_t out[MERKLE_HASH_LEN])
{
	struct merkle_range r;
	uint8_t leaf[MERKLE_HASH_LEN];
	pw_err rc;

	if (get == NULL || first > UINT64_MAX - count)
		return PW_ERR_ARG;
	/* MTH of any list equals the root of its compact range, so one pass in
	 * index order suffices (and lets the accessor step a cursor) */
	merkle_range_init(&r);
	for (uint64_t i = 0; i < count; i++) {
		if ((rc = get(ctx, first + i, leaf)) != PW_OK)
			return rc;
		if ((rc = merkle_range_append(&r, leaf)) != PW_OK)
			return rc;
	}
	merkle_range_root(&r, out);
	return PW_OK;
}

/* Largest power of two strictly below n (n >= 2). */
static uint64_t
merkle__split(uint64_t n)
{
	return (uint64_t)1 << (63 - __builtin_clzll(n - 1));
}

struct merkle__out {
	merkle_leaf_fn leaf; /* one of leaf and node is set */
	merkle_node_fn node;
	void *ctx;
	uint8_t (*hashes)[MERKLE_HASH_LEN];
	size_t cap;
	size_t n;
};

/*
 * MTH(D[first : first+count]) from perfect-subtree roots.  Every range the
 * RFC 9162 recursion asks for starts at a multiple of the smallest power of
 * two >= count, so it splits into aligned perfect subtrees, one per set bit
 * of count from the highest; they fold from the right like a compact range.
 */
static pw_err
merkle__nodes_root(merkle_node_fn node, void *ctx, uint64_t first, uint64_t count,
                   uint8_t out[MERKLE_HASH_LEN])
{
	uint8_t piece[MERKLE_MAX_LEVELS][MERKLE_HASH_LEN];
	unsigned n = 0;
	uint64_t at = first;
	pw_err rc;

	for (int level = MERKLE_MAX_LEVELS - 1; level >= 0; level--) {
		uint64_t w = (uint64_t)1 << level;
		if (!(count & w))
			continue;
		if (at & (w - 1))
			return PW_ERR_ARG; /* not aligned: not a range of the recursion */
		if ((rc = node(ctx, (unsigned)level, at >> level, piece[n])) != PW_OK)
			return rc;
		n++;
		at += w;
	}
	if (n == 0) {
		merkle_empty_root(out);
		return PW_OK;
	}
	memcpy(out, piece[n - 1], MERKLE_HASH_LEN);
	for (unsigned i = n - 1; i-- > 0;)
		merkle_node_hash(piece[i], out, out);
	return PW_OK;
}

static pw_err
merkle__push_subtree(uint64_t first, uint64_t count, struct merkle__out *o)
{
	pw_err rc;

	if (o->n >= o->cap)
		return PW_ERR_FULL;
	if (o->node != NULL)
		rc = merkle__nodes_root(o->node, o->ctx, first, count, o->hashes[o->n]);
	else
		rc = merkle_subtree_root(o->leaf, o->ctx, first, count, o->hashes[o->n]);
	if (rc != PW_OK)
		return rc;
	o->n++;
	return PW_OK;
}

/* RFC 9162 2.1.3.1 PATH(m, D[lo : lo+n]). */
static pw_err
merkle__path(uint64_t m, uint64_t lo, uint64_t n, struct merkle__out *o)
{
	pw_err rc;

	if (n <= 1)
		return PW_OK;
	uint64_t k = merkle__split(n);
	if (m < k) {
		if ((rc = merkle__path(m, lo, k, o)) != PW_OK)
			return rc;
		return merkle__push_subtree(lo + k, n - k, o);
	}
	if ((rc = merkle__path(m - k, lo + k, n - k, o)) != PW_OK)
		return rc;
	return merkle__push_subtree(lo, k, o);
}

/* RFC 9162 2.1.4.1 SUBPROOF(m, D[lo : lo+n], b). */
static pw_err
merkle__subproof(uint64_t m, uint64_t lo, uint64_t n, int b, struct merkle__out *o)
{
	pw_err rc;

	if (m == n)
		return b ? PW_OK : merkle__push_subtree(lo, n, o);
	uint64_t k = merkle__split(n);
	if (m <= k) {
		if ((rc = merkle__subproof(m, lo, k, b, o)) != PW_OK)
			return rc;
		return merkle__push_subtree(lo + k, n - k, o);
	}
	if ((rc = merkle__subproof(m - k, lo + k, n - k, 0, o)) != PW_OK)
		return rc;
	return merkle__push_subtree(lo, k, o);
}

static pw_err
merkle__inclusion(struct merkle__out *o, uint64_t idx, uint64_t size, size_t *n)
{
	pw_err rc;

	if (o->hashes == NULL || n == NULL)
		return PW_ERR_ARG;
	*n = 0;
	if (idx >= size)
		return PW_ERR_RANGE;
	if ((rc = merkle__path(idx, 0, size, o)) != PW_OK)
		return rc;
	*n = o->n;
	return PW_OK;
}

static pw_err
merkle__consistency(struct merkle__out *o, uint64_t old_size, uint64_t new_size, size_t *n)
{
	pw_err rc;

	if (o->hashes == NULL || n == NULL)
		return PW_ERR_ARG;
	*n = 0;
	if (old_size > new_size)
		return PW_ERR_RANGE;
	if (old_size == 0 || old_size == new_size)
		return PW_OK;
	if ((rc = merkle__subproof(old_size, 0, new_size, 1, o)) != PW_OK)
		return rc;
	*n = o->n;
	return PW_OK;
}

pw_err
merkle_prove_inclusion(merkle_leaf_fn get, void *ctx, uint64_t idx, uint64_t size,
                       uint8_t (*hashes)[MERKLE_HASH_LEN], size_t cap, size_t *n)
{
	struct merkle__out o = { get, NULL, ctx, hashes, cap, 0 };

	if (get == NULL)
		return PW_ERR_ARG;
	return merkle__inclusion(&o, idx, size, n);
}

pw_err
merkle_prove_consistency(merkle_leaf_fn get, void *ctx, uint64_t old_size, uint64_t new_size,
                         uint8_t (*hashes)[MERKLE_HASH_LEN], size_t cap, size_t *n)
{
	struct merkle__out o = { get, NULL, ctx, hashes, cap, 0 };

	if (get == NULL)
		return PW_ERR_ARG;
	return merkle__consistency(&o, old_size, new_size, n);
}

pw_err
merkle_prove_inclusion_nodes(merkle_node_fn node, void *ctx, uint64_t idx, uint64_t size,
                             uint8_t (*hashes)[MERKLE_HASH_LEN], size_t cap, size_t *n)
{
	struct merkle__out o = { NULL, node, ctx, hashes, cap, 0 };

	if (node == NULL)
		return PW_ERR_ARG;
	return merkle__inclusion(&o, idx, size, n);
}

pw_err
merkle_prove_consistency_nodes(merkle_node_fn node, void *ctx, uint64_t old_size, uint64_t new_size,
                               uint8_t (*hashes)[MERKLE_HASH_LEN], size_t cap, size_t *n)
{
	struct merkle__out o = { NULL, node, ctx, hashes, cap, 0 };

	if (node == NULL)
		return PW_ERR_ARG;
	return merkle__consistency(&o, old_size, new_size, n);
}

pw_err
merkle_root_from_inclusion(uint64_t idx, uint64_t size, const uint8_t leaf[MERKLE_HASH_LEN],
                           const uint8_t (*hashes)[MERKLE_HASH_LEN], size_t n,
                           uint8_t root_out[MERKLE_HASH_LEN])
{
	uint8_t r[MERKLE_HASH_LEN];
	uint64_t fn, sn;

	if (idx >= size || n > MERKLE_MAX_PROOF || (n > 0 && hashes == NULL))
		return PW_ERR_PROOF;
	fn = idx;
	sn = size - 1;
	memcpy(r, leaf, MERKLE_HASH_LEN);
	for (size_t i = 0; i < n; i++) {
		if (sn == 0)
			return PW_ERR_PROOF; /* proof longer than the path */
		if ((fn & 1u) || fn == sn) {
			merkle_node_hash(hashes[i], r, r);
			/* a right edge without sibling: climb to where it has one */
			while ((fn & 1u) == 0 && fn != 0) {
				fn >>= 1;
				sn >>= 1;
			}
		} else {
			merkle_node_hash(r, hashes[i], r);
		}
		fn >>= 1;
		sn >>= 1;
	}
	if (sn != 0)
		return PW_ERR_PROOF; /* proof shorter than the path */
	memcpy(root_out, r, MERKLE_HASH_LEN);
	return PW_OK;
}

pw_err
merkle_verify_inclusion(uint64_t idx, uint64_t size, const uint8_t leaf[MERKLE_HASH_LEN],
                        const uint8_t (*hashes)[MERKLE_HASH_LEN], size_t n,
                        const uint8_t root[MERKLE_HASH_LEN])
{
	uint8_t got[MERKLE_HASH_LEN];
	pw_err rc = merkle_root_from_inclusion(idx, size, leaf, hashes, n, got);

	if (rc != PW_OK)
		return rc;
	return memcmp(got, root, MERKLE_HASH_LEN) == 0 ? PW_OK : PW_ERR_PROOF;
}

pw_err
merkle_verify_consistency(uint64_t old_size, uint64_t new_size,
                          const uint8_t old_root[MERKLE_HASH_LEN],
                          const uint8_t new_root[MERKLE_HASH_LEN],
                          const uint8_t (*hashes)[MERKLE_HASH_LEN], size_t n)
{
	uint8_t fr[MERKLE_HASH_LEN], sr[MERKLE_HASH_LEN];
	const uint8_t *c;
	uint64_t fn, sn;
	size_t i;
	int seeded;

	if (old_size > new_size || n > MERKLE_MAX_PROOF || (n > 0 && hashes == NULL))
		return PW_ERR_PROOF;
	if (old_size == new_size)
		return n == 0 && memcmp(old_root, new_root, MERKLE_HASH_LEN) == 0 ? PW_OK
		                                                                  : PW_ERR_PROOF;
	if (old_size == 0)
		return n == 0 ? PW_OK : PW_ERR_PROOF;
	/* step 1: a non-trivial proof is never empty */
	if (n == 0)
		return PW_ERR_PROOF;
	/* step 2: when old_size is a power of two its root is the first node;
	 * walk a virtual array {old_root, hashes...} instead of copying */
	seeded = (old_size & (old_size - 1)) == 0;
	/* step 3 */
	fn = old_size - 1;
	sn = new_size - 1;
	/* step 4 */
	while (fn & 1u) {
		fn >>= 1;
		sn >>= 1;
	}
	/* step 5 */
	c = seeded ? old_root : hashes[0];
	memcpy(fr, c, MERKLE_HASH_LEN);
	memcpy(sr, c, MERKLE_HASH_LEN);
	/* step 6 */
	for (i = seeded ? 0 : 1; i < n; i++) {
		c = hashes[i];
		if (sn == 0)
			return PW_ERR_PROOF;
		if ((fn & 1u) || fn == sn) {
			merkle_node_hash(c, fr, fr);
			merkle_node_hash(c, sr, sr);
			while ((fn & 1u) == 0 && fn != 0) {
				fn >>= 1;
				sn >>= 1;
			}
		} else {
			merkle_node_hash(sr, c, sr);
		}
		fn >>= 1;
		sn >>= 1;
	}
	/* step 7 */
	if (sn != 0 || memcmp(fr, old_root, MERKLE_HASH_LEN) != 0 ||
	    memcmp(sr, new_root, MERKLE_HASH_LEN) != 0)
		return PW_ERR_PROOF;
	return PW_OK;
}
