/*
 * audit_cp.c: the checkpoints of the database and of agents' checkpoint
 * files (docs/audit.md sections 4-6): collected before the pass over the
 * log (their sizes say where to take roots), checked after it.
 */
#include "audit/audit_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- checkpoints: collected before the pass (their sizes say where to
 * take roots), checked after it ------------------------------------------------- */

pw_err
audit_cp_add(struct audit *a, const char *where, const uint8_t *frame, size_t len,
             uint64_t row_size)
{
	pw_err rc = audit_grow((void **)&a->cps, &a->cap_cps, a->n_cps + 1, sizeof(*a->cps));
	if (rc != PW_OK)
		return rc;
	struct cp *c = &a->cps[a->n_cps++];
	memset(c, 0, sizeof(*c));
	snprintf(c->where, sizeof(c->where), "%s", where);
	c->row_size = row_size;
	if (len != CHECKPOINT_FRAME) {
		snprintf(c->decode_err, sizeof(c->decode_err), "%zu bytes, a CHECKPOINT has %d",
		         len, CHECKPOINT_FRAME);
		return PW_OK;
	}
	memcpy(c->frame, frame, len);
	c->len = len;
	pw_err drc = pw_wire_decode_stored(c->frame, len, &c->msg);
	if (drc != PW_OK)
		snprintf(c->decode_err, sizeof(c->decode_err), "%s", pw_strerror(drc));
	else if (c->msg.type != PW_MSG_CHECKPOINT)
		snprintf(c->decode_err, sizeof(c->decode_err), "a %s frame, not a CHECKPOINT",
		         pw_msg_type_name(c->msg.type));
	else
		c->decoded = 1;
	return PW_OK;
}

pw_err
audit_cp_load_db(struct audit *a)
{
	sqlite3_stmt *st = NULL;
	char where[64];
	pw_err rc = PW_OK;

	if (sqlite3_prepare_v2(a->db, "SELECT tree_size, frame FROM checkpoints ORDER BY tree_size",
	                       -1, &st, NULL) != SQLITE_OK) {
		FAIL_AT(a, "database", "no table checkpoints: %s", sqlite3_errmsg(a->db));
		return PW_OK;
	}
	while (sqlite3_step(st) == SQLITE_ROW && rc == PW_OK) {
		sqlite3_int64 ts = sqlite3_column_int64(st, 0);
		const void *blob = sqlite3_column_blob(st, 1);
		int n = sqlite3_column_bytes(st, 1);
		snprintf(where, sizeof(where), "checkpoint %lld", (long long)ts);
		rc = audit_cp_add(a, where, blob ? blob : (const void *)"", blob ? (size_t)n : 0,
		                  ts < 0 ? UINT64_MAX : (uint64_t)ts);
	}
	sqlite3_finalize(st);
	a->n_db_cps = a->n_cps;
	return rc;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

pw_err
audit_checkpoint_file_parse(const char *name, const uint8_t *buf, size_t n, audit_cp_fn fn,
                            void *ctx)
{
	char where[AUDIT_WHERE_LEN];
	uint8_t frame[CHECKPOINT_FRAME + 1];
	pw_err rc = PW_OK;

	if (name == NULL || (buf == NULL && n > 0) || fn == NULL)
		return PW_ERR_ARG;
	if (n >= 2 && buf[0] == PW_PROTO_VERSION && buf[1] == PW_MSG_CHECKPOINT) {
		/* binary: concatenated frames */
		size_t k = 0;
		for (size_t off = 0; off < n && rc == PW_OK; off += CHECKPOINT_FRAME, k++) {
			size_t len = n - off < CHECKPOINT_FRAME ? n - off : CHECKPOINT_FRAME;
			snprintf(where, sizeof(where), "%s#%zu", name, k + 1);
			rc = fn(ctx, where, buf + off, len, NULL);
		}
		return rc;
	}
	size_t line = 0, pos = 0;
	while (pos < n && rc == PW_OK) {
		size_t end = pos;
		while (end < n && buf[end] != '\n')
			end++;
		line++;
		size_t e = end;
		while (e > pos && (buf[e - 1] == '\r' || buf[e - 1] == ' ' || buf[e - 1] == '\t'))
			e--;
		size_t s = pos;
		while (s < e && (buf[s] == ' ' || buf[s] == '\t'))
			s++;
		pos = end + 1;
		if (s == e || buf[s] == '#')
			continue;
		snprintf(where, sizeof(where), "%s:%zu", name, line);
		size_t digits = e - s, len = digits / 2;
		const char *bad = NULL;
		if (digits > AUDIT_MAX_LINE)
			bad = "line longer than 4096 characters";
		else if (digits % 2 != 0)
			bad = "odd number of hex digits";
		else if (len > sizeof(frame))
			bad = "longer than a CHECKPOINT frame";
		for (size_t i = 0; bad == NULL && i < len; i++) {
			int hi = hexval(buf[s + 2 * i]), lo = hexval(buf[s + 2 * i + 1]);
			if (hi < 0 || lo < 0)
				bad = "not a hex frame";
			else
				frame[i] = (uint8_t)(hi << 4 | lo);
		}
		rc = bad ? fn(ctx, where, NULL, 0, bad) : fn(ctx, where, frame, len, NULL);
	}
	return rc;
}

static pw_err
load_item(void *ctx, const char *where, const uint8_t *frame, size_t len, const char *malformed)
{
	struct audit *a = ctx;
	pw_err rc = audit_cp_add(a, where, frame ? frame : (const uint8_t *)"", frame ? len : 0,
	                         UINT64_MAX);
	if (rc == PW_OK && malformed != NULL)
		snprintf(a->cps[a->n_cps - 1].decode_err, sizeof(a->cps[a->n_cps - 1].decode_err),
		         "%s", malformed);
	return rc;
}

pw_err
audit_cp_load_file(struct audit *a, const char *path)
{
	FILE *fp = fopen(path, "rb");

	if (fp == NULL) {
		FAIL_AT(a, path, "cannot open checkpoint file: %s", strerror(errno));
		return PW_ERR_IO;
	}
	uint8_t *buf = malloc(AUDIT_MAX_FILE + 1);
	if (buf == NULL) {
		fclose(fp);
		return PW_ERR_NOMEM;
	}
	size_t n = fread(buf, 1, AUDIT_MAX_FILE + 1, fp);
	int err = ferror(fp);
	fclose(fp);
	if (err || n > AUDIT_MAX_FILE) {
		FAIL_AT(a, path, "%s", err ? "read error" : "checkpoint file larger than 64 MiB");
		free(buf);
		return err ? PW_ERR_IO : PW_OK;
	}
	pw_err rc = audit_checkpoint_file_parse(path, buf, n, load_item, a);
	free(buf);
	return rc;
}

static int
cp_size_cmp(const void *x, const void *y)
{
	const struct cp *a = *(const struct cp *const *)x, *b = *(const struct cp *const *)y;
	uint64_t sa = a->msg.u.checkpoint.tree_size, sb = b->msg.u.checkpoint.tree_size;
	return sa < sb ? -1 : sa > sb;
}

void
audit_cp_take_roots(struct audit *a)
{
	uint8_t root[PW_HASH_LEN];
	int have = 0;
	while (a->by_size[a->next_root] != NULL &&
	       a->by_size[a->next_root]->msg.u.checkpoint.tree_size == a->range.size) {
		if (!have) {
			merkle_range_root(&a->range, root);
			have = 1;
		}
		memcpy(a->by_size[a->next_root]->recomputed, root, PW_HASH_LEN);
		a->by_size[a->next_root]->have_root = 1;
		a->next_root++;
	}
}

/* by_size is allocated with n_cps + 1 slots so the NULL sentinel exists. */
pw_err
audit_cp_index(struct audit *a)
{
	free(a->by_size);
	a->by_size = NULL;
	size_t n = 0;
	a->by_size = calloc(a->n_cps + 1, sizeof(*a->by_size));
	if (a->by_size == NULL)
		return PW_ERR_NOMEM;
	for (size_t i = 0; i < a->n_cps; i++)
		if (a->cps[i].decoded)
			a->by_size[n++] = &a->cps[i];
	qsort(a->by_size, n, sizeof(*a->by_size), cp_size_cmp);
	return PW_OK;
}

/* Records a new leaf and every perfect subtree it completes. */
pw_err
audit_cp_keep_leaf(struct audit *a, const uint8_t leaf[PW_HASH_LEN])
{
	uint8_t h[PW_HASH_LEN];
	unsigned level = 0;
	pw_err rc;

	memcpy(h, leaf, PW_HASH_LEN);
	for (;;) {
		if ((rc = audit_grow((void **)&a->lv[level], &a->lv_cap[level], a->lv_n[level] + 1,
		                     PW_HASH_LEN)) != PW_OK)
			return rc;
		memcpy(a->lv[level][a->lv_n[level]++], h, PW_HASH_LEN);
		size_t i = a->lv_n[level] - 1;
		if ((i & 1u) == 0 || level + 1 >= MERKLE_MAX_LEVELS)
			return PW_OK;
		merkle_node_hash(a->lv[level][i - 1], a->lv[level][i], h);
		level++;
	}
}

static pw_err
node_at(void *ctx, unsigned level, uint64_t index, uint8_t out[PW_HASH_LEN])
{
	const struct audit *a = ctx;
	if (level >= MERKLE_MAX_LEVELS || index >= a->lv_n[level])
		return PW_ERR_RANGE;
	memcpy(out, a->lv[level][index], PW_HASH_LEN);
	return PW_OK;
}

int
audit_prefix_root(const struct audit *a, uint64_t n, uint8_t out[PW_HASH_LEN])
{
	uint8_t piece[MERKLE_MAX_LEVELS][PW_HASH_LEN];
	unsigned k = 0;
	uint64_t at = 0;

	if (n == 0) {
		merkle_empty_root(out);
		return 1;
	}
	/* one perfect subtree per set bit of n, from the highest, folded from
	 * the right (as a compact range) */
	for (int level = MERKLE_MAX_LEVELS - 1; level >= 0; level--) {
		uint64_t w = (uint64_t)1 << level;
		if (!(n & w))
			continue;
		if (node_at((void *)(uintptr_t)a, (unsigned)level, at >> level, piece[k]) != PW_OK)
			return 0;
		k++;
		at += w;
	}
	memcpy(out, piece[k - 1], PW_HASH_LEN);
	for (unsigned i = k - 1; i-- > 0;)
		merkle_node_hash(piece[i], out, out);
	return 1;
}

/* A consistency proof generated from the entries links the two signed roots. */
static int
linked(struct audit *a, const struct pw_checkpoint *old, const struct pw_checkpoint *new_)
{
	uint8_t proof[MERKLE_MAX_PROOF][PW_HASH_LEN];
	size_t n;
	if (merkle_prove_consistency_nodes(node_at, a, old->tree_size, new_->tree_size, proof,
	                                   MERKLE_MAX_PROOF, &n) != PW_OK)
		return 0;
	return merkle_verify_consistency(old->tree_size, new_->tree_size, old->root, new_->root,
	                                 (const uint8_t(*)[PW_HASH_LEN])proof, n) == PW_OK;
}

void
audit_cp_check(struct audit *a, struct cp *c, int from_db, struct cp **prev)
{
	struct audit_report *r = a->r;
	const struct pw_checkpoint *k = &c->msg.u.checkpoint;
	char rh[2 * PW_HASH_LEN + 1], ch[2 * PW_HASH_LEN + 1];

	if (!c->decoded) {
		FAIL_AT(a, c->where, "malformed checkpoint: %s", c->decode_err);
		return;
	}
	if (pw_wire_verify_stored(c->frame, c->len, r->market_id) != PW_OK) {
		FAIL_AT(a, c->where, "bad signature on the checkpoint");
		return;
	}
	if (memcmp(c->msg.author, r->exchange_pk, PW_PK_LEN) != 0) {
		FAIL_AT(a, c->where, "checkpoint not signed by the exchange key of the database");
		return;
	}
	if (strncmp(k->origin, r->market_name, PW_ORIGIN_LEN) != 0) {
		FAIL_AT(a, c->where, "checkpoint origin is not the market name \"%s\"",
		        r->market_name);
		return;
	}
	if (from_db && c->row_size != k->tree_size) {
		FAIL_AT(a, c->where, "row tree_size %llu but the frame says %llu",
		        (unsigned long long)c->row_size, (unsigned long long)k->tree_size);
		return;
	}
	if (k->tree_size > r->entries) {
		FAIL_AT(a, c->where,
		        "the exchange signed a tree of %llu entries but the log holds %llu "
		        "(truncated or forked log)",
		        (unsigned long long)k->tree_size, (unsigned long long)r->entries);
		return;
	}
	if (!c->have_root || memcmp(c->recomputed, k->root, PW_HASH_LEN) != 0) {
		pw_hex_encode(k->root, PW_HASH_LEN, ch);
		pw_hex_encode(c->recomputed, PW_HASH_LEN, rh);
		if (from_db)
			FAIL_AT(a, c->where,
			        "root %.16s... is not the root %.16s... of the first %llu entries",
			        ch, rh, (unsigned long long)k->tree_size);
		else
			FAIL_AT(
			    a, c->where,
			    "fork: the exchange signed root %.16s... for size %llu, the log gives "
			    "%.16s...",
			    ch, (unsigned long long)k->tree_size, rh);
		return;
	}
	/* consecutive database checkpoints: a consistency proof generated from
	 * the entries must link the two signed roots, and the metadata must not
	 * go back.  A file's checkpoint is linked with the latest database one. */
	if (*prev != NULL) {
		const struct pw_checkpoint *p = &(*prev)->msg.u.checkpoint;
		const struct pw_checkpoint *lo = p->tree_size <= k->tree_size ? p : k;
		if (!linked(a, lo, lo == p ? k : p)) {
			FAIL_AT(a, c->where,
			        "no consistency proof links it with the checkpoint of size %llu",
			        (unsigned long long)p->tree_size);
			return;
		}
	}
	if (from_db && *prev != NULL) {
		const struct pw_checkpoint *p = &(*prev)->msg.u.checkpoint;
		if (k->interval < p->interval || k->time_s < p->time_s) {
			FAIL_AT(a, c->where,
			        "interval or time goes back from the checkpoint of size %llu",
			        (unsigned long long)p->tree_size);
			return;
		}
	}
	if (from_db)
		*prev = c;
}
