/*
 * fuzz_proof.c: libFuzzer harness for the Merkle proof verifiers (the parser
 * of untrusted proofs: agents verify what the exchange sends, the auditor
 * what agents collected).
 *
 * Input: u8 selector | u64 a | u64 b | 32-byte hash x | 32-byte hash y |
 * hashes...  Selector bit 0 picks inclusion (a = index, b = size, x = leaf,
 * y = root) or consistency (a = old, b = new, x/y = roots).  The verifiers
 * must never crash or read past the hashes given, whatever the sizes; and
 * for a small tree built from the input, a genuine proof must verify and a
 * proof that verifies must be the genuine one (proofs are unique).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <sodium.h>

#include "peerwatt/merkle.h"

#define H MERKLE_HASH_LEN

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct leaves {
	uint8_t h[64][H];
};

static pw_err
get_leaf(void *ctx, uint64_t idx, uint8_t out[H])
{
	const struct leaves *l = ctx;

	if (idx >= 64)
		return PW_ERR_RANGE;
	memcpy(out, l->h[idx], H);
	return PW_OK;
}

static uint64_t
be64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int inited;
	uint8_t hashes[MERKLE_MAX_PROOF][H], root[H];
	size_t n;

	if (!inited) {
		if (sodium_init() < 0)
			return 0;
		inited = 1;
	}
	if (size < 1 + 16 + 2 * H)
		return 0;
	uint8_t sel = data[0];
	uint64_t a = be64(data + 1), b = be64(data + 9);
	const uint8_t *x = data + 17, *y = data + 17 + H;
	size_t rest = size - (17 + 2 * H);
	n = rest / H;
	if (n > MERKLE_MAX_PROOF)
		n = MERKLE_MAX_PROOF;
	memcpy(hashes, data + 17 + 2 * H, n * H);
	const uint8_t(*cp)[H] = (const uint8_t(*)[H])hashes;

	if (sel & 1)
		(void)merkle_verify_consistency(a, b, x, y, cp, n);
	else
		(void)merkle_verify_inclusion(a, b, x, cp, n, y);

	/* a small real tree: proofs are unique, so a fuzzed proof that
	 * verifies must equal the genuine one */
	struct leaves l = { 0 };
	uint64_t tsize = (b % 64) + 1;
	for (uint64_t i = 0; i < tsize; i++)
		merkle_leaf_hash((const uint8_t *)&i, sizeof(i), l.h[i]);
	uint8_t genuine[MERKLE_MAX_PROOF][H];
	size_t gn;
	if (sel & 1) {
		uint64_t old = a % (tsize + 1);
		uint8_t r1[H];
		if (merkle_subtree_root(get_leaf, &l, 0, old, r1) != PW_OK ||
		    merkle_subtree_root(get_leaf, &l, 0, tsize, root) != PW_OK ||
		    merkle_prove_consistency(get_leaf, &l, old, tsize, genuine, MERKLE_MAX_PROOF,
		                             &gn) != PW_OK)
			__builtin_trap();
		if (merkle_verify_consistency(old, tsize, r1, root, (const uint8_t(*)[H])genuine,
		                              gn) != PW_OK)
			__builtin_trap();
		if (merkle_verify_consistency(old, tsize, r1, root, cp, n) == PW_OK &&
		    (n != gn || memcmp(hashes, genuine, n * H) != 0))
			__builtin_trap();
	} else {
		uint64_t idx = a % tsize;
		if (merkle_subtree_root(get_leaf, &l, 0, tsize, root) != PW_OK ||
		    merkle_prove_inclusion(get_leaf, &l, idx, tsize, genuine, MERKLE_MAX_PROOF,
		                           &gn) != PW_OK)
			__builtin_trap();
		if (merkle_verify_inclusion(idx, tsize, l.h[idx], (const uint8_t(*)[H])genuine, gn,
		                            root) != PW_OK)
			__builtin_trap();
		if (merkle_verify_inclusion(idx, tsize, l.h[idx], cp, n, root) == PW_OK &&
		    (n != gn || memcmp(hashes, genuine, n * H) != 0))
			__builtin_trap();
	}
	return 0;
}
