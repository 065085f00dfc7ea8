/*
 * audit_witness.c: the households' cosignatures in the log (docs/audit.md
 * "Witnesses"; protocol 2 Part C).
 *
 * Every COSIGN entry is checked in the pass: its author is a household
 * registered and not revoked by the entries before it, it names the
 * market's origin, a size the log had reached before it, and exactly the
 * root the log's own first `tree_size` entries give; each household's
 * sizes strictly grow (the exchange's replay rule).  A cosigned root the
 * log does not have means a neighbour was shown another history: the
 * audit fails naming the household and the entry.  Since every cosigned
 * root is then the log's root at its size, all cosigned checkpoints are
 * prefixes of this one log: they form one consistent chain.
 *
 * After the pass: the largest cosigned checkpoint and its number of
 * distinct cosigners, and with --witnesses K the largest checkpoint that K
 * distinct registered households cosigned (the one the verdict relies on;
 * the entries after it are not yet witnessed).  None: the audit fails.
 */
#include <stdlib.h>
#include <string.h>

#include "audit/audit_int.h"
#include "peerwatt/keys.h"

/* The log's root of its first `size` entries from the perfect subtrees
 * kept so far (size <= the entries read): the compact range of `size`. */
static int
root_at(const struct audit *a, uint64_t size, uint8_t out[PW_HASH_LEN])
{
	struct merkle_range r;
	merkle_range_init(&r);
	if (size == 0 || size > a->range.size)
		return 0;
	r.size = size;
	for (unsigned l = 0; l < MERKLE_MAX_LEVELS; l++) {
		if (((size >> l) & 1u) == 0)
			continue;
		uint64_t i = (size >> l) - 1;
		if (i >= a->lv_n[l])
			return 0;
		memcpy(r.nodes[l], a->lv[l][i], PW_HASH_LEN);
	}
	merkle_range_root(&r, out);
	return 1;
}

void
audit_witness_entry(struct audit *a, uint64_t idx, const struct pw_msg *m)
{
	const struct pw_cosign *c = &m->u.cosign;
	uint8_t root[PW_HASH_LEN];
	char got[2 * PW_HASH_LEN + 1], want[2 * PW_HASH_LEN + 1];
	struct hh *h = audit_rules_household(a, idx, m);

	if (h == NULL)
		return;
	a->r->cosigns++;
	if (strncmp(c->origin, a->r->market_name, PW_ORIGIN_LEN) != 0) {
		FAIL_ENTRY(a, idx, m->type, "cosignature by %s names origin \"%.32s\", not \"%s\"",
		           h->label, c->origin, a->r->market_name);
		return;
	}
	if (c->tree_size > idx) {
		FAIL_ENTRY(a, idx, m->type,
		           "cosignature by %s of a tree of %llu entries, but only %llu came "
		           "before it",
		           h->label, (unsigned long long)c->tree_size, (unsigned long long)idx);
		audit_plain(
		    a,
		    "Log entry %llu is %s's cosignature of a log of %llu entries, which the "
		    "log had not reached then: a neighbour witnessed a different history.",
		    (unsigned long long)idx, h->label, (unsigned long long)c->tree_size);
		return;
	}
	if (!root_at(a, c->tree_size, root) || memcmp(root, c->root, PW_HASH_LEN) != 0) {
		pw_hex_encode(c->root, PW_HASH_LEN, got);
		pw_hex_encode(root, PW_HASH_LEN, want);
		FAIL_ENTRY(a, idx, m->type,
		           "fork: %s cosigned root %.16s... for size %llu, the log's root at that "
		           "size is %.16s...",
		           h->label, got, (unsigned long long)c->tree_size, want);
		audit_plain(a,
		            "Log entry %llu: household %s cosigned a checkpoint of %llu entries "
		            "whose root is not this log's: a neighbour witnessed a different "
		            "history (the exchange showed households two versions of the log).",
		            (unsigned long long)idx, h->label, (unsigned long long)c->tree_size);
		return;
	}
	if (h->cosign_size >= c->tree_size) {
		FAIL_ENTRY(a, idx, m->type,
		           "cosignature by %s of size %llu after its cosignature of size %llu",
		           h->label, (unsigned long long)c->tree_size,
		           (unsigned long long)h->cosign_size);
		return;
	}
	h->cosign_size = c->tree_size;
	if (audit_grow((void **)&a->cosigs, &a->cap_cosigs, a->n_cosigs + 1, sizeof(*a->cosigs)) !=
	    PW_OK) {
		FAIL_ENTRY(a, idx, m->type, "too many cosignatures");
		return;
	}
	a->cosigs[a->n_cosigs++] =
	    (struct acosig){ .size = c->tree_size, .idx = idx, .hh = (uint32_t)(h - a->hhs) };
}

void
audit_witness_refused(struct audit *a, const char *where, const void *frame, int len)
{
	struct pw_msg m;
	uint8_t root[PW_HASH_LEN];
	char got[2 * PW_HASH_LEN + 1], want[2 * PW_HASH_LEN + 1];
	const struct hh *h;

	/* a frame its household's key did not sign is no one's word */
	if (frame == NULL || len <= 0 || (size_t)len > PW_WIRE_MAX_REQUEST ||
	    pw_wire_open(frame, (size_t)len, a->r->market_id, &m) != PW_OK ||
	    m.type != PW_MSG_COSIGN || (h = audit_hh_find(a, m.author)) == NULL)
		return;
	if (m.u.cosign.tree_size > a->r->entries)
		return; /* a log the exchange has not written (yet): not this one's prefix */
	if (root_at(a, m.u.cosign.tree_size, root) &&
	    memcmp(root, m.u.cosign.root, PW_HASH_LEN) == 0)
		return; /* the agent held another root: its own checkpoints are checked */
	pw_hex_encode(m.u.cosign.root, PW_HASH_LEN, got);
	pw_hex_encode(root, PW_HASH_LEN, want);
	FAIL_AT(a, where,
	        "fork: %s cosigned root %.16s... for size %llu, the log's root at that size is "
	        "%.16s...",
	        h->label, got, (unsigned long long)m.u.cosign.tree_size, want);
	audit_plain(a,
	            "A household's agent holds a cosignature by %s of a checkpoint of %llu "
	            "entries whose root is not this log's: that neighbour was shown a different "
	            "history (the exchange showed households two versions of the log).",
	            h->label, (unsigned long long)m.u.cosign.tree_size);
}

static int
cosig_cmp(const void *x, const void *y)
{
	const struct acosig *p = x, *q = y;
	if (p->size != q->size)
		return p->size < q->size ? -1 : 1;
	return p->hh < q->hh ? -1 : p->hh > q->hh;
}

void
audit_witness_check(struct audit *a)
{
	struct audit_report *r = a->r;
	unsigned k = a->opt != NULL ? a->opt->witnesses : 0;
	uint64_t best_size = 0, best_by = 0; /* the most cosigned, for the failure */

	r->witnesses_required = k;
	if (a->n_cosigs > 0)
		qsort(a->cosigs, a->n_cosigs, sizeof(*a->cosigs), cosig_cmp);
	for (size_t i = 0; i < a->n_cosigs;) {
		size_t j = i;
		uint64_t by = 0;
		/* distinct households (a household cosigns a size once: sizes grow) */
		for (; j < a->n_cosigs && a->cosigs[j].size == a->cosigs[i].size; j++)
			by += j == i || a->cosigs[j].hh != a->cosigs[j - 1].hh;
		r->cosigned_checkpoints++;
		r->have_cosigned = 1;
		r->latest_cosigned_size = a->cosigs[i].size;
		r->latest_cosigned_by = by;
		if (by >= k) {
			r->have_witnessed = 1;
			r->witnessed_size = a->cosigs[i].size;
			r->witnessed_by = by;
		}
		if (by >= best_by) {
			best_by = by;
			best_size = a->cosigs[i].size;
		}
		i = j;
	}
	if (k == 0 || r->have_witnessed)
		return;
	if (best_by == 0)
		FAIL_AT(a, "witnesses",
		        "--witnesses %u: no household cosigned any checkpoint of the log", k);
	else
		FAIL_AT(a, "witnesses",
		        "--witnesses %u: no checkpoint cosigned by %u households; at most %llu "
		        "(the checkpoint of size %llu)",
		        k, k, (unsigned long long)best_by, (unsigned long long)best_size);
	audit_plain(a,
	            "Fewer than %u neighbours witnessed any checkpoint of the log: a split view "
	            "(two households shown two histories) is not ruled out by %u witnesses.",
	            k, k);
}
