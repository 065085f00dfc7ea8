/*
 * merkle.h: the RFC 6962 / RFC 9162 Merkle tree of the settlement log.
 *
 *   leaf hash  SHA-256(0x00 || entry)
 *   node hash  SHA-256(0x01 || left || right)
 *   MTH({})    SHA-256("")   (the empty tree)
 *   MTH(D[n])  MTH(D[0:k]) and MTH(D[k:n]) hashed as a node, k the largest
 *              power of two below n
 *
 * Owns: the hashing rules, the incremental "compact range" (one hash per set
 * bit of the tree size, so an append costs O(log n) and the root is always
 * at hand), inclusion and consistency proof generation (RFC 9162 2.1.3.1 /
 * 2.1.4.1) and verification (2.1.3.2 / 2.1.4.2).
 *
 * Generation reads leaf hashes through a caller-provided accessor, so the
 * leaves may live in SQLite (exchange/mlog.c) or in an array (tests, audit).
 * The accessor is called with ascending, mostly consecutive indices, so a
 * storage-backed accessor can step a cursor.  A proof costs O(n) leaf reads
 * and hashes (no interior nodes are stored).
 *
 * The *_nodes variants read perfect-subtree roots instead (O(log n) reads
 * for the exchange's stored node table, exchange/mlog.c).
 *
 * SHA-256 comes from common/sha256.c: the x86 SHA extensions when the CPU
 * has them (3 to 4 times faster than libsodium's portable code, which is
 * used otherwise; the digests are the same).
 *
 * Callers: exchange/mlog.c (the log), audit/audit_verify.c (recomputing roots and
 * checking checkpoints), agent (verifying proofs it receives).
 * Thread-safe: no shared state; libsodium must be initialised (sodium_init).
 */
#ifndef PEERWATT_MERKLE_H
#define PEERWATT_MERKLE_H

#include <stddef.h>
#include <stdint.h>

#include "peerwatt/error.h"

#define MERKLE_HASH_LEN   32
#define MERKLE_MAX_LEVELS 64 /* tree sizes are uint64_t */
#define MERKLE_MAX_PROOF  64 /* no proof of a uint64_t-sized tree is longer */

/* Leaf hash of one log entry (the exact bytes of the entry). */
void merkle_leaf_hash(const uint8_t *entry, size_t len, uint8_t out[MERKLE_HASH_LEN]);
/* Interior node hash; `out` may alias `left` or `right`. */
void merkle_node_hash(const uint8_t left[MERKLE_HASH_LEN], const uint8_t right[MERKLE_HASH_LEN],
                      uint8_t out[MERKLE_HASH_LEN]);
/* Root of the empty tree: SHA-256 of no bytes. */
void merkle_empty_root(uint8_t out[MERKLE_HASH_LEN]);

/*
 * The compact range [0, size): nodes[l] holds the root of the perfect
 * subtree of 2^l leaves that bit l of `size` stands for; other slots are
 * unused.  Plain data: copy it by assignment, snapshot it before a
 * transaction and restore it on rollback.
 */
struct merkle_range {
	uint64_t size;
	uint8_t nodes[MERKLE_MAX_LEVELS][MERKLE_HASH_LEN];
};

void merkle_range_init(struct merkle_range *r);
/* Appends one leaf hash; PW_ERR_FULL at 2^64 - 1 leaves. */
pw_err merkle_range_append(struct merkle_range *r, const uint8_t leaf[MERKLE_HASH_LEN])
    __attribute__((warn_unused_result));
/*
 * merkle_range_append that also hands out the perfect subtrees the new leaf
 * completes (the carries of the increment): done[k] receives the root of
 * the subtree at level k + 1, i.e. node(k + 1, old_size >> (k + 1)) of
 * 2^(k+1) leaves; *n_done their count (the trailing one bits of the old
 * size).  `done` needs room for MERKLE_MAX_LEVELS hashes.  Lets a store keep
 * every interior node of the tree at O(1) amortised hashes per leaf
 * (exchange/mlog.c).
 */
pw_err merkle_range_append_nodes(struct merkle_range *r, const uint8_t leaf[MERKLE_HASH_LEN],
                                 uint8_t (*done)[MERKLE_HASH_LEN], unsigned *n_done)
    __attribute__((warn_unused_result));
/* MTH of the leaves appended so far (the empty root for none). */
void merkle_range_root(const struct merkle_range *r, uint8_t out[MERKLE_HASH_LEN]);

/* Leaf-hash accessor: writes the leaf hash of entry `idx` to `out`; any
 * error it returns aborts the computation and is passed up unchanged. */
typedef pw_err (*merkle_leaf_fn)(void *ctx, uint64_t idx, uint8_t out[MERKLE_HASH_LEN]);

/* MTH(D[first : first+count]). */
pw_err merkle_subtree_root(merkle_leaf_fn get, void *ctx, uint64_t first, uint64_t count,
                           uint8_t out[MERKLE_HASH_LEN]) __attribute__((warn_unused_result));

/*
 * Inclusion proof of leaf `idx` in the tree of the first `size` leaves,
 * hashes ordered from the leaf upwards (RFC 9162 PATH).  `hashes` has room
 * for `cap` hashes (MERKLE_MAX_PROOF always suffices); *n receives the count.
 * PW_ERR_RANGE when idx >= size, PW_ERR_FULL when cap is too small.
 */
pw_err merkle_prove_inclusion(merkle_leaf_fn get, void *ctx, uint64_t idx, uint64_t size,
                              uint8_t (*hashes)[MERKLE_HASH_LEN], size_t cap, size_t *n)
    __attribute__((warn_unused_result));

/*
 * Consistency proof between the trees of the first `old_size` and
 * `new_size` leaves (RFC 9162 PROOF): empty when old_size is 0 or equals
 * new_size.  PW_ERR_RANGE when old_size > new_size.
 */
pw_err merkle_prove_consistency(merkle_leaf_fn get, void *ctx, uint64_t old_size, uint64_t new_size,
                                uint8_t (*hashes)[MERKLE_HASH_LEN], size_t cap, size_t *n)
    __attribute__((warn_unused_result));

/*
 * The same proofs from perfect-subtree roots instead of leaves: `node`
 * writes the root of the 2^level leaves starting at leaf index << level
 * (level 0: the leaf hash).  A caller that keeps every level in memory
 * (peerwatt-audit) gets a proof in O(log^2 n) node reads instead of O(n).
 */
typedef pw_err (*merkle_node_fn)(void *ctx, unsigned level, uint64_t index,
                                 uint8_t out[MERKLE_HASH_LEN]);
pw_err merkle_prove_inclusion_nodes(merkle_node_fn node, void *ctx, uint64_t idx, uint64_t size,
                                    uint8_t (*hashes)[MERKLE_HASH_LEN], size_t cap, size_t *n)
    __attribute__((warn_unused_result));
pw_err merkle_prove_consistency_nodes(merkle_node_fn node, void *ctx, uint64_t old_size,
                                      uint64_t new_size, uint8_t (*hashes)[MERKLE_HASH_LEN],
                                      size_t cap, size_t *n) __attribute__((warn_unused_result));

/* The root an inclusion proof implies for `leaf` at `idx` of `size`;
 * PW_ERR_PROOF when the proof has the wrong shape for idx/size. */
pw_err merkle_root_from_inclusion(uint64_t idx, uint64_t size, const uint8_t leaf[MERKLE_HASH_LEN],
                                  const uint8_t (*hashes)[MERKLE_HASH_LEN], size_t n,
                                  uint8_t root_out[MERKLE_HASH_LEN])
    __attribute__((warn_unused_result));

/* PW_OK when the proof links `leaf` at `idx` to `root` of a tree of `size`
 * leaves, else PW_ERR_PROOF. */
pw_err merkle_verify_inclusion(uint64_t idx, uint64_t size, const uint8_t leaf[MERKLE_HASH_LEN],
                               const uint8_t (*hashes)[MERKLE_HASH_LEN], size_t n,
                               const uint8_t root[MERKLE_HASH_LEN])
    __attribute__((warn_unused_result));

/*
 * PW_OK when the tree of `old_size` leaves with `old_root` is a prefix of the
 * tree of `new_size` leaves with `new_root`, else PW_ERR_PROOF.  Equal sizes
 * need equal roots and an empty proof; old_size 0 needs an empty proof (every
 * tree extends the empty one); old_size > new_size never verifies.
 */
pw_err merkle_verify_consistency(uint64_t old_size, uint64_t new_size,
                                 const uint8_t old_root[MERKLE_HASH_LEN],
                                 const uint8_t new_root[MERKLE_HASH_LEN],
                                 const uint8_t (*hashes)[MERKLE_HASH_LEN], size_t n)
    __attribute__((warn_unused_result));

#endif
