/*
 * receipt.c: inclusion paths for the ACKs of one batch (receipt.h).
 */
#include "exchange/receipt.h"

#include <stdlib.h>
#include <string.h>

pw_err
receipt_init(struct receipt_batch *b, size_t cap)
{
	memset(b, 0, sizeof(*b));
	/* level 0 holds the leaves, each level above at most half plus one,
	 * so 2 cap + one per level bounds them all */
	b->node_cap = 2 * cap + MERKLE_MAX_LEVELS;
	b->nodes = calloc(b->node_cap, MERKLE_HASH_LEN);
	if (b->nodes == NULL)
		return PW_ERR_NOMEM;
	b->cap = cap;
	merkle_range_init(&b->start);
	return PW_OK;
}

void
receipt_fini(struct receipt_batch *b)
{
	free(b->nodes);
	memset(b, 0, sizeof(*b));
}

void
receipt_begin(struct receipt_batch *b, const struct merkle_range *start)
{
	b->start = *start;
	b->size = start->size;
	b->n_leaves = 0;
	b->broken = 0;
	b->sealed = 0;
}

void
receipt_add(struct receipt_batch *b, const uint8_t leaf[MERKLE_HASH_LEN])
{
	b->sealed = 0;
	if (b->n_leaves >= b->cap) {
		b->broken = 1;
		return;
	}
	/* level 0 starts at offset 0: the leaves in order */
	memcpy(b->nodes[b->n_leaves++], leaf, MERKLE_HASH_LEN);
	b->size++;
}

/* Node (level, idx) over the batch or the start's compact range. */
static const uint8_t *
node_at(const struct receipt_batch *b, unsigned level, uint64_t idx)
{
	if (level >= MERKLE_MAX_LEVELS)
		return NULL;
	if (idx >= b->lo[level] && idx < b->hi[level])
		return b->nodes[b->off[level] + (size_t)(idx - b->lo[level])];
	/* wholly before the batch: only the compact range's node of this
	 * level, the one just left of the batch's first node, is known */
	if ((b->start.size >> level) & 1u && idx + 1 == b->lo[level])
		return b->start.nodes[level];
	return NULL;
}

pw_err
receipt_seal(struct receipt_batch *b)
{
	size_t at = 0;

	if (b->broken)
		return PW_ERR_FULL;
	for (unsigned l = 0; l < MERKLE_MAX_LEVELS; l++) {
		b->lo[l] = b->start.size >> l;
		b->hi[l] = b->size >> l;
		b->off[l] = at;
		if (b->hi[l] <= b->lo[l]) {
			b->hi[l] = b->lo[l];
			continue;
		}
		size_t count = (size_t)(b->hi[l] - b->lo[l]);
		if (at + count > b->node_cap)
			return PW_ERR_INTERNAL;
		if (l > 0) {
			for (size_t i = 0; i < count; i++) {
				uint64_t idx = b->lo[l] + i;
				const uint8_t *left = node_at(b, l - 1, 2 * idx);
				const uint8_t *right = node_at(b, l - 1, 2 * idx + 1);
				if (left == NULL || right == NULL)
					return PW_ERR_INTERNAL;
				merkle_node_hash(left, right, b->nodes[at + i]);
			}
		}
		at += count;
	}
	b->off[MERKLE_MAX_LEVELS] = at;
	b->sealed = 1;
	return PW_OK;
}

static pw_err
node_fn(void *ctx, unsigned level, uint64_t index, uint8_t out[MERKLE_HASH_LEN])
{
	const uint8_t *h = node_at(ctx, level, index);
	if (h == NULL)
		return PW_ERR_INTERNAL;
	memcpy(out, h, MERKLE_HASH_LEN);
	return PW_OK;
}

pw_err
receipt_path(const struct receipt_batch *b, uint64_t idx, uint8_t (*hashes)[MERKLE_HASH_LEN],
             size_t cap, size_t *n)
{
	if (!b->sealed)
		return PW_ERR_STATE;
	if (idx < b->start.size || idx >= b->size)
		return PW_ERR_RANGE;
	/* node_fn only reads: the cast drops const for the callback's type */
	return merkle_prove_inclusion_nodes(node_fn, (void *)(uintptr_t)b, idx, b->size, hashes,
	                                    cap, n);
}
