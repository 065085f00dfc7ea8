/*
 * audit_verify.c: peerwatt-audit's replay of an exchange database
 * (interface: audit/audit_verify.h; rules: docs/audit.md).
 *
 * One pass over table log in index order does everything that depends on
 * the order of entries (leaf and root, signatures, entry rules, auction and
 * statement replay); the per-interval balance, the checkpoints and the
 * agents' checkpoint files are checked after it.  The first failure stops
 * the audit and is reported with the entry (or checkpoint, or file line)
 * it concerns.
 */
#include "audit/audit_verify.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules/auction.h"
#include "rules/settle.h"
#include "peerwatt/merkle.h"
#include "peerwatt/money.h"

#define AUDIT_MAX_ITEMS  (1u << 26) /* bound of every growable array */
#define AUDIT_MAX_FILE   (64u << 20)
#define AUDIT_MAX_LINE   4096
#define CHECKPOINT_FRAME AUDIT_CHECKPOINT_FRAME_LEN

struct hh {
	uint8_t pk[PW_PK_LEN];
	char zone[SETTLE_ZONE_MAX];
	char serial[PW_SERIAL_LEN]; /* NUL padded like the wire field */
	int64_t max_export_w, max_import_w;
	uint64_t last_seq; /* ORDER/CANCEL */
	uint64_t meter_seq, meter_interval, export_end_wh, import_end_wh;
};

struct aorder {
	uint64_t idx;
	uint32_t hh;
	uint64_t seq;
	uint64_t expiry_s;
	uint32_t qty_wh, price_uper_kwh;
	uint8_t side, cancelled;
};

struct areading {
	uint32_t hh;
	uint64_t export_wh, import_wh;
};

struct astmt {
	uint64_t idx;
	uint32_t hh;
	struct pw_statement st;
};

struct ivl {
	uint64_t interval;
	struct aorder *orders;
	size_t n_orders, cap_orders;
	uint16_t parts, next_part; /* RESULT parts seen */
	int cleared;
	uint32_t price_uper_kwh, n_total;
	uint64_t volume_wh, result_idx;
	struct pw_trade *trades;
	size_t n_trades, cap_trades;
	struct areading *readings;
	size_t n_readings, cap_readings;
	struct astmt *stmts;
	size_t n_stmts, cap_stmts;
};

struct cp {
	char where[AUDIT_WHERE_LEN];
	int decoded;
	char decode_err[64];
	uint64_t row_size; /* database rows: the tree_size column */
	uint8_t frame[CHECKPOINT_FRAME];
	size_t len;
	struct pw_msg msg;
	uint8_t recomputed[PW_HASH_LEN];
	int have_root;
};

struct audit {
	sqlite3 *db;
	struct audit_report *r;
	/* params */
	int64_t interval_s, gate_s;
	uint32_t feedin_uper_kwh, retail_uper_kwh;
	uint32_t fee_same_uper_kwh, fee_default_uper_kwh;
	int have_fee_same, have_fee_default; /* the params are present */
	struct hh *hhs;
	size_t n_hhs;
	struct settle_fee *fees;
	size_t n_fees;
	struct settle_fees feetab;
	struct ivl **ivls; /* sorted by interval */
	size_t n_ivls, cap_ivls;
	struct cp *cps; /* database checkpoints, then file checkpoints */
	size_t n_cps, n_db_cps, cap_cps;
	struct cp **by_size; /* cps sorted by tree size, for the roots */
	size_t next_root;
	struct merkle_range range;
	/* every perfect subtree root, level by level, for consistency proofs */
	uint8_t (*lv[MERKLE_MAX_LEVELS])[PW_HASH_LEN];
	size_t lv_n[MERKLE_MAX_LEVELS], lv_cap[MERKLE_MAX_LEVELS];
};

/* --- failures --------------------------------------------------------------- */

static void audit_fail(struct audit *a, uint64_t idx, const char *type, const char *where,
                       const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void
audit_fail(struct audit *a, uint64_t idx, const char *type, const char *where, const char *fmt, ...)
{
	struct audit_failure *f = &a->r->fail;
	va_list ap;

	if (f->failed)
		return;
	f->failed = 1;
	f->index = idx;
	snprintf(f->type, sizeof(f->type), "%s", type ? type : "");
	if (where)
		snprintf(f->where, sizeof(f->where), "%s", where);
	else if (idx != UINT64_MAX)
		snprintf(f->where, sizeof(f->where), "entry %llu", (unsigned long long)idx);
	else
		snprintf(f->where, sizeof(f->where), "database");
	va_start(ap, fmt);
	vsnprintf(f->reason, sizeof(f->reason), fmt, ap);
	va_end(ap);
}

#define FAIL_ENTRY(a, idx, type, ...)                                                              \
	audit_fail((a), (idx), pw_msg_type_name(type), NULL, __VA_ARGS__)
#define FAIL_AT(a, where, ...) audit_fail((a), UINT64_MAX, "", (where), __VA_ARGS__)

/* --- small helpers ------------------------------------------------------------ */

static pw_err
grow(void **p, size_t *cap, size_t need, size_t elsz)
{
	if (need <= *cap)
		return PW_OK;
	if (need > AUDIT_MAX_ITEMS)
		return PW_ERR_FULL;
	size_t ncap = *cap ? *cap * 2 : 16;
	while (ncap < need)
		ncap *= 2;
	void *np = realloc(*p, ncap * elsz);
	if (np == NULL)
		return PW_ERR_NOMEM;
	*p = np;
	*cap = ncap;
	return PW_OK;
}

static void
hex8(const uint8_t *pk, char out[17])
{
	pw_hex_encode(pk, 8, out);
}

static int
hh_cmp(const void *a, const void *b)
{
	return memcmp(((const struct hh *)a)->pk, ((const struct hh *)b)->pk, PW_PK_LEN);
}

static struct hh *
hh_find(struct audit *a, const uint8_t pk[PW_PK_LEN])
{
	struct hh key = { 0 };
	memcpy(key.pk, pk, PW_PK_LEN);
	return bsearch(&key, a->hhs, a->n_hhs, sizeof(*a->hhs), hh_cmp);
}

/* max power x L in Wh, rounded up (the lenient reading of docs/market.md). */
static uint64_t
energy_cap_wh(int64_t power_w, int64_t interval_s)
{
	if (power_w <= 0 || interval_s <= 0)
		return 0;
	return ((uint64_t)power_w * (uint64_t)interval_s + 3599u) / 3600u;
}

static struct ivl *
ivl_find(struct audit *a, uint64_t interval, size_t *pos)
{
	size_t lo = 0, hi = a->n_ivls;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (a->ivls[mid]->interval < interval)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (pos)
		*pos = lo;
	return lo < a->n_ivls && a->ivls[lo]->interval == interval ? a->ivls[lo] : NULL;
}

static pw_err
ivl_get(struct audit *a, uint64_t interval, struct ivl **out)
{
	size_t pos;
	pw_err rc;

	if ((*out = ivl_find(a, interval, &pos)) != NULL)
		return PW_OK;
	if ((rc = grow((void **)&a->ivls, &a->cap_ivls, a->n_ivls + 1, sizeof(*a->ivls))) != PW_OK)
		return rc;
	struct ivl *v = calloc(1, sizeof(*v));
	if (v == NULL)
		return PW_ERR_NOMEM;
	v->interval = interval;
	memmove(a->ivls + pos + 1, a->ivls + pos, (a->n_ivls - pos) * sizeof(*a->ivls));
	a->ivls[pos] = v;
	a->n_ivls++;
	*out = v;
	return PW_OK;
}

static void
ivl_free(struct ivl *v)
{
	free(v->orders);
	free(v->trades);
	free(v->readings);
	free(v->stmts);
	free(v);
}

/* --- database tables ------------------------------------------------------------- */

static int
read_u32_param(struct audit *a, sqlite3_stmt *st, const char *key, uint32_t *out)
{
	sqlite3_int64 v = sqlite3_column_int64(st, 1);
	if (sqlite3_column_type(st, 1) != SQLITE_INTEGER || v < 0 || v > UINT32_MAX) {
		FAIL_AT(a, "database", "params: %s is not an integer in 0..%u", key, UINT32_MAX);
		return 0;
	}
	*out = (uint32_t)v;
	return 1;
}

static pw_err
load_params(struct audit *a)
{
	sqlite3_stmt *st = NULL;
	unsigned seen = 0;
	enum {
		P_ID = 1,
		P_NAME = 2,
		P_L = 4,
		P_FEEDIN = 8,
		P_RETAIL = 16,
		P_PK = 32,
		P_GATE = 64,
		P_ALL = 127
	};

	if (sqlite3_prepare_v2(a->db, "SELECT key, value FROM params", -1, &st, NULL) !=
	    SQLITE_OK) {
		FAIL_AT(a, "database", "no table params: %s", sqlite3_errmsg(a->db));
		return PW_OK;
	}
	while (sqlite3_step(st) == SQLITE_ROW && !a->r->fail.failed) {
		const char *key = (const char *)sqlite3_column_text(st, 0);
		if (key == NULL)
			continue;
		if (strcmp(key, "market_id") == 0 && sqlite3_column_type(st, 1) == SQLITE_INTEGER) {
			a->r->market_id = (uint64_t)sqlite3_column_int64(st, 1);
			seen |= P_ID;
		} else if (strcmp(key, "market_name") == 0) {
			const char *v = (const char *)sqlite3_column_text(st, 1);
			if (v == NULL || strlen(v) == 0 || strlen(v) > PW_ORIGIN_LEN)
				FAIL_AT(a, "database", "params: market_name missing or too long");
			else
				snprintf(a->r->market_name, sizeof(a->r->market_name), "%s", v);
			seen |= P_NAME;
		} else if (strcmp(key, "interval_s") == 0) {
			a->interval_s = sqlite3_column_int64(st, 1);
			if (a->interval_s <= 0 || a->interval_s > 86400 * 7)
				FAIL_AT(a, "database", "params: interval_s out of range");
			seen |= P_L;
		} else if (strcmp(key, "gate_s") == 0) {
			a->gate_s = sqlite3_column_int64(st, 1);
			if (a->gate_s < 0 || a->gate_s > 86400 * 7)
				FAIL_AT(a, "database", "params: gate_s out of range");
			seen |= P_GATE;
		} else if (strcmp(key, "feedin_uper_kwh") == 0) {
			if (read_u32_param(a, st, key, &a->feedin_uper_kwh))
				seen |= P_FEEDIN;
		} else if (strcmp(key, "retail_uper_kwh") == 0) {
			if (read_u32_param(a, st, key, &a->retail_uper_kwh))
				seen |= P_RETAIL;
		} else if (strcmp(key, "fee_same_zone_uper_kwh") == 0) {
			a->have_fee_same = read_u32_param(a, st, key, &a->fee_same_uper_kwh);
		} else if (strcmp(key, "fee_default_uper_kwh") == 0) {
			a->have_fee_default = read_u32_param(a, st, key, &a->fee_default_uper_kwh);
		} else if (strcmp(key, "exchange_pk") == 0) {
			const char *v = (const char *)sqlite3_column_text(st, 1);
			if (v == NULL || strlen(v) != 2 * PW_PK_LEN ||
			    pw_hex_decode(v, a->r->exchange_pk, PW_PK_LEN) != PW_OK)
				FAIL_AT(a, "database", "params: exchange_pk is not 64 hex digits");
			seen |= P_PK;
		}
	}
	sqlite3_finalize(st);
	if (!a->r->fail.failed && (seen & P_ALL) != P_ALL)
		FAIL_AT(a, "database",
		        "params: missing one of market_id, market_name, interval_s, gate_s, "
		        "feedin_uper_kwh, retail_uper_kwh, exchange_pk");
	return PW_OK;
}

static pw_err
load_households(struct audit *a)
{
	sqlite3_stmt *st = NULL;
	size_t cap = 0;
	pw_err rc = PW_OK;

	if (sqlite3_prepare_v2(
	        a->db, "SELECT pk, zone, serial, max_export_w, max_import_w FROM households", -1,
	        &st, NULL) != SQLITE_OK) {
		FAIL_AT(a, "database", "no table households: %s", sqlite3_errmsg(a->db));
		return PW_OK;
	}
	while (sqlite3_step(st) == SQLITE_ROW) {
		const void *pk = sqlite3_column_blob(st, 0);
		const char *zone = (const char *)sqlite3_column_text(st, 1);
		const char *serial = (const char *)sqlite3_column_text(st, 2);
		if (pk == NULL || sqlite3_column_bytes(st, 0) != PW_PK_LEN || zone == NULL ||
		    strlen(zone) >= SETTLE_ZONE_MAX || serial == NULL ||
		    strlen(serial) > PW_SERIAL_LEN) {
			FAIL_AT(a, "database", "households: malformed row %zu", a->n_hhs + 1);
			break;
		}
		if ((rc = grow((void **)&a->hhs, &cap, a->n_hhs + 1, sizeof(*a->hhs))) != PW_OK)
			break;
		struct hh *h = &a->hhs[a->n_hhs++];
		memset(h, 0, sizeof(*h));
		memcpy(h->pk, pk, PW_PK_LEN);
		memcpy(h->zone, zone, strlen(zone));
		memcpy(h->serial, serial, strlen(serial));
		h->max_export_w = sqlite3_column_int64(st, 3);
		h->max_import_w = sqlite3_column_int64(st, 4);
	}
	sqlite3_finalize(st);
	if (rc != PW_OK)
		return rc;
	qsort(a->hhs, a->n_hhs, sizeof(*a->hhs), hh_cmp);
	for (size_t i = 1; i < a->n_hhs && !a->r->fail.failed; i++)
		if (memcmp(a->hhs[i - 1].pk, a->hhs[i].pk, PW_PK_LEN) == 0)
			FAIL_AT(a, "database", "households: a key is listed twice");
	a->r->households = a->n_hhs;
	return PW_OK;
}

/* Fee table: the exchange's pair entries (first match wins), else the
 * same-zone fee, else the default (settle_fee_lookup()). */
static pw_err
load_fees(struct audit *a)
{
	sqlite3_stmt *st = NULL;
	size_t cap = 0;
	pw_err rc = PW_OK;

	if (sqlite3_prepare_v2(a->db,
	                       "SELECT zone_a, zone_b, fee_uper_kwh FROM fees ORDER BY rowid", -1,
	                       &st, NULL) == SQLITE_OK) {
		while (sqlite3_step(st) == SQLITE_ROW) {
			const char *za = (const char *)sqlite3_column_text(st, 0);
			const char *zb = (const char *)sqlite3_column_text(st, 1);
			sqlite3_int64 fee = sqlite3_column_int64(st, 2);
			if (za == NULL || zb == NULL || strlen(za) >= SETTLE_ZONE_MAX ||
			    strlen(zb) >= SETTLE_ZONE_MAX || fee < 0 || fee > UINT32_MAX) {
				FAIL_AT(a, "database", "fees: malformed row");
				break;
			}
			if ((rc = grow((void **)&a->fees, &cap, a->n_fees + 1, sizeof(*a->fees))) !=
			    PW_OK)
				break;
			struct settle_fee *f = &a->fees[a->n_fees++];
			memset(f, 0, sizeof(*f));
			memcpy(f->zone_a, za, strlen(za));
			memcpy(f->zone_b, zb, strlen(zb));
			f->fee_uper_kwh = (uint32_t)fee;
		}
	}
	sqlite3_finalize(st); /* no fee table: only same-zone and default fees */
	a->feetab.pairs = a->fees;
	a->feetab.n_pairs = a->n_fees;
	a->feetab.same_zone_uper_kwh = a->fee_same_uper_kwh;
	a->feetab.default_uper_kwh = a->fee_default_uper_kwh;
	return rc;
}

/* --- checkpoints: collected before the pass (their sizes say where to
 * take roots), checked after it ------------------------------------------------- */

static pw_err
cp_add(struct audit *a, const char *where, const uint8_t *frame, size_t len, uint64_t row_size)
{
	pw_err rc = grow((void **)&a->cps, &a->cap_cps, a->n_cps + 1, sizeof(*a->cps));
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
	pw_err drc = pw_wire_decode(c->frame, len, &c->msg);
	if (drc != PW_OK)
		snprintf(c->decode_err, sizeof(c->decode_err), "%s", pw_strerror(drc));
	else if (c->msg.type != PW_MSG_CHECKPOINT)
		snprintf(c->decode_err, sizeof(c->decode_err), "a %s frame, not a CHECKPOINT",
		         pw_msg_type_name(c->msg.type));
	else
		c->decoded = 1;
	return PW_OK;
}

static pw_err
load_db_checkpoints(struct audit *a)
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
		rc = cp_add(a, where, blob ? blob : (const void *)"", blob ? (size_t)n : 0,
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
	pw_err rc =
	    cp_add(a, where, frame ? frame : (const uint8_t *)"", frame ? len : 0, UINT64_MAX);
	if (rc == PW_OK && malformed != NULL)
		snprintf(a->cps[a->n_cps - 1].decode_err, sizeof(a->cps[a->n_cps - 1].decode_err),
		         "%s", malformed);
	return rc;
}

static pw_err
load_file(struct audit *a, const char *path)
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

static void
take_roots(struct audit *a)
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
static pw_err
index_checkpoints_sentinel(struct audit *a)
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
static pw_err
keep_leaf(struct audit *a, const uint8_t leaf[PW_HASH_LEN])
{
	uint8_t h[PW_HASH_LEN];
	unsigned level = 0;
	pw_err rc;

	memcpy(h, leaf, PW_HASH_LEN);
	for (;;) {
		if ((rc = grow((void **)&a->lv[level], &a->lv_cap[level], a->lv_n[level] + 1,
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

static void
check_checkpoint(struct audit *a, struct cp *c, int from_db, struct cp **prev)
{
	struct audit_report *r = a->r;
	const struct pw_checkpoint *k = &c->msg.u.checkpoint;
	char rh[2 * PW_HASH_LEN + 1], ch[2 * PW_HASH_LEN + 1];

	if (!c->decoded) {
		FAIL_AT(a, c->where, "malformed checkpoint: %s", c->decode_err);
		return;
	}
	if (pw_wire_verify(c->frame, c->len, r->market_id) != PW_OK) {
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

/* --- entries ------------------------------------------------------------------------- */

static void
on_order(struct audit *a, uint64_t idx, const struct pw_msg *m)
{
	const struct pw_order *o = &m->u.order;
	struct hh *h = hh_find(a, m->author);
	struct ivl *v;
	char id[17];

	a->r->orders++;
	if (h == NULL) {
		FAIL_ENTRY(a, idx, m->type, "author is not a registered household");
		return;
	}
	hex8(h->pk, id);
	if (o->seq <= h->last_seq) {
		FAIL_ENTRY(a, idx, m->type, "sequence %llu of %s is not above %llu",
		           (unsigned long long)o->seq, id, (unsigned long long)h->last_seq);
		return;
	}
	h->last_seq = o->seq;
	if (ivl_get(a, o->interval, &v) != PW_OK) {
		FAIL_ENTRY(a, idx, m->type, "out of memory");
		return;
	}
	if (v->next_part > 0) {
		FAIL_ENTRY(a, idx, m->type, "order for interval %llu logged after its RESULT",
		           (unsigned long long)o->interval);
		return;
	}
	if (o->qty_wh == 0) {
		FAIL_ENTRY(a, idx, m->type, "zero quantity");
		return;
	}
	if (o->price_uper_kwh < a->feedin_uper_kwh || o->price_uper_kwh > a->retail_uper_kwh) {
		FAIL_ENTRY(a, idx, m->type, "price %u outside [%u, %u]", o->price_uper_kwh,
		           a->feedin_uper_kwh, a->retail_uper_kwh);
		return;
	}
	uint32_t hi = (uint32_t)(h - a->hhs);
	uint64_t same = 0;
	for (size_t i = 0; i < v->n_orders; i++) {
		const struct aorder *p = &v->orders[i];
		if (p->hh != hi || p->cancelled)
			continue;
		if (p->side != o->side) {
			FAIL_ENTRY(
			    a, idx, m->type,
			    "%s has an open order of the other side in interval %llu (self-trade)",
			    id, (unsigned long long)o->interval);
			return;
		}
		same += p->qty_wh;
	}
	uint64_t cap = energy_cap_wh(o->side == PW_SIDE_SELL ? h->max_export_w : h->max_import_w,
	                             a->interval_s);
	if (same + o->qty_wh > cap) {
		FAIL_ENTRY(a, idx, m->type,
		           "open quantity %llu Wh above the capacity %llu Wh of %s",
		           (unsigned long long)(same + o->qty_wh), (unsigned long long)cap, id);
		return;
	}
	if (grow((void **)&v->orders, &v->cap_orders, v->n_orders + 1, sizeof(*v->orders)) !=
	    PW_OK) {
		FAIL_ENTRY(a, idx, m->type, "too many orders");
		return;
	}
	v->orders[v->n_orders++] = (struct aorder){ .idx = idx,
		                                    .hh = hi,
		                                    .seq = o->seq,
		                                    .expiry_s = o->expiry_s,
		                                    .qty_wh = o->qty_wh,
		                                    .price_uper_kwh = o->price_uper_kwh,
		                                    .side = o->side };
}

static void
on_cancel(struct audit *a, uint64_t idx, const struct pw_msg *m)
{
	const struct pw_cancel *c = &m->u.cancel;
	struct hh *h = hh_find(a, m->author);
	char id[17];

	a->r->cancels++;
	if (h == NULL) {
		FAIL_ENTRY(a, idx, m->type, "author is not a registered household");
		return;
	}
	hex8(h->pk, id);
	if (c->seq <= h->last_seq) {
		FAIL_ENTRY(a, idx, m->type, "sequence %llu of %s is not above %llu",
		           (unsigned long long)c->seq, id, (unsigned long long)h->last_seq);
		return;
	}
	h->last_seq = c->seq;
	struct ivl *v = ivl_find(a, c->interval, NULL);
	uint32_t hi = (uint32_t)(h - a->hhs);
	struct aorder *target = NULL;
	for (size_t i = 0; v != NULL && i < v->n_orders && target == NULL; i++)
		if (v->orders[i].hh == hi && v->orders[i].seq == c->order_seq)
			target = &v->orders[i];
	if (target == NULL || target->cancelled) {
		FAIL_ENTRY(a, idx, m->type, "cancels no open order (%s seq %llu, interval %llu)",
		           id, (unsigned long long)c->order_seq, (unsigned long long)c->interval);
		return;
	}
	if (v->next_part > 0) {
		FAIL_ENTRY(a, idx, m->type, "cancel logged after the RESULT of interval %llu",
		           (unsigned long long)c->interval);
		return;
	}
	target->cancelled = 1;
}

static void
on_meter(struct audit *a, uint64_t idx, const struct pw_msg *m)
{
	const struct pw_meter *r = &m->u.meter;
	struct hh *h = hh_find(a, m->author);
	struct ivl *v;
	char id[17];

	a->r->readings++;
	if (h == NULL) {
		FAIL_ENTRY(a, idx, m->type, "author is not a registered household");
		return;
	}
	hex8(h->pk, id);
	if (memcmp(r->serial, h->serial, PW_SERIAL_LEN) != 0) {
		FAIL_ENTRY(a, idx, m->type, "meter serial is not the one registered for %s", id);
		return;
	}
	if (r->seq != h->meter_seq + 1) {
		FAIL_ENTRY(a, idx, m->type, "reading sequence %llu of %s, expected %llu",
		           (unsigned long long)r->seq, id, (unsigned long long)(h->meter_seq + 1));
		return;
	}
	if (r->export_end_wh < r->export_start_wh || r->import_end_wh < r->import_start_wh) {
		FAIL_ENTRY(a, idx, m->type, "a register of %s goes back within the interval", id);
		return;
	}
	if (h->meter_seq > 0) {
		if (r->interval <= h->meter_interval || r->export_start_wh < h->export_end_wh ||
		    r->import_start_wh < h->import_end_wh) {
			FAIL_ENTRY(a, idx, m->type, "reading of %s goes back from its previous one",
			           id);
			return;
		}
		if (r->interval == h->meter_interval + 1 &&
		    (r->export_start_wh != h->export_end_wh ||
		     r->import_start_wh != h->import_end_wh)) {
			FAIL_ENTRY(a, idx, m->type,
			           "start registers of %s are not the previous interval's end", id);
			return;
		}
	}
	uint64_t dexp = r->export_end_wh - r->export_start_wh;
	uint64_t dimp = r->import_end_wh - r->import_start_wh;
	if (dexp > energy_cap_wh(h->max_export_w, a->interval_s) ||
	    dimp > energy_cap_wh(h->max_import_w, a->interval_s)) {
		FAIL_ENTRY(a, idx, m->type, "reading of %s above max power x interval", id);
		return;
	}
	if (ivl_get(a, r->interval, &v) != PW_OK) {
		FAIL_ENTRY(a, idx, m->type, "out of memory");
		return;
	}
	uint32_t hi = (uint32_t)(h - a->hhs);
	for (size_t i = 0; i < v->n_readings; i++)
		if (v->readings[i].hh == hi) {
			FAIL_ENTRY(a, idx, m->type, "second reading of %s for interval %llu", id,
			           (unsigned long long)r->interval);
			return;
		}
	if (grow((void **)&v->readings, &v->cap_readings, v->n_readings + 1,
	         sizeof(*v->readings)) != PW_OK) {
		FAIL_ENTRY(a, idx, m->type, "too many readings");
		return;
	}
	v->readings[v->n_readings++] = (struct areading){ hi, dexp, dimp };
	h->meter_seq = r->seq;
	h->meter_interval = r->interval;
	h->export_end_wh = r->export_end_wh;
	h->import_end_wh = r->import_end_wh;
}

static void
replay_auction(struct audit *a, struct ivl *v, uint64_t idx)
{
	struct auction_order *in;
	size_t *map, n = 0;
	struct auction_result res = { 0 };

	in = calloc(v->n_orders ? v->n_orders : 1, sizeof(*in));
	map = calloc(v->n_orders ? v->n_orders : 1, sizeof(*map));
	if (in == NULL || map == NULL) {
		free(in);
		free(map);
		FAIL_ENTRY(a, idx, PW_MSG_RESULT, "out of memory");
		return;
	}
	/* orders that expire at or before gate closure close unfilled */
	__int128 gate_time = (__int128)v->interval * a->interval_s - a->gate_s;
	for (size_t i = 0; i < v->n_orders; i++) {
		if (v->orders[i].cancelled || (__int128)v->orders[i].expiry_s <= gate_time)
			continue;
		in[n] = (struct auction_order){ .arrival = v->orders[i].idx,
			                        .qty_wh = v->orders[i].qty_wh,
			                        .price_uper_kwh = v->orders[i].price_uper_kwh,
			                        .side = v->orders[i].side };
		map[n++] = i;
	}
	pw_err rc = auction_clear(in, n, &res);
	if (rc != PW_OK) {
		FAIL_ENTRY(a, idx, PW_MSG_RESULT, "auction replay failed: %s", pw_strerror(rc));
		goto out;
	}
	if (res.price_uper_kwh != v->price_uper_kwh || res.volume_wh != v->volume_wh) {
		FAIL_ENTRY(
		    a, idx, PW_MSG_RESULT,
		    "interval %llu: price %u and volume %llu Wh, the replay gives %u and %llu Wh",
		    (unsigned long long)v->interval, v->price_uper_kwh,
		    (unsigned long long)v->volume_wh, res.price_uper_kwh,
		    (unsigned long long)res.volume_wh);
		goto out;
	}
	if (res.n_trades != v->n_trades) {
		FAIL_ENTRY(a, idx, PW_MSG_RESULT, "interval %llu: %zu trades, the replay gives %zu",
		           (unsigned long long)v->interval, v->n_trades, res.n_trades);
		goto out;
	}
	for (size_t i = 0; i < res.n_trades; i++) {
		const struct aorder *b = &v->orders[map[res.trades[i].buy]];
		const struct aorder *s = &v->orders[map[res.trades[i].sell]];
		const struct pw_trade *t = &v->trades[i];
		if (memcmp(t->buyer, a->hhs[b->hh].pk, PW_PK_LEN) != 0 ||
		    memcmp(t->seller, a->hhs[s->hh].pk, PW_PK_LEN) != 0 || t->buy_seq != b->seq ||
		    t->sell_seq != s->seq || t->qty_wh != res.trades[i].qty_wh) {
			FAIL_ENTRY(
			    a, idx, PW_MSG_RESULT,
			    "interval %llu: trade %zu differs from the replay (buy seq %llu, sell "
			    "seq %llu, %u Wh)",
			    (unsigned long long)v->interval, i, (unsigned long long)b->seq,
			    (unsigned long long)s->seq, res.trades[i].qty_wh);
			goto out;
		}
	}
	v->cleared = 1;
	a->r->auctions++;
	a->r->trades += res.n_trades;
	a->r->traded_wh += res.volume_wh;
out:
	auction_result_free(&res);
	free(in);
	free(map);
}

static void
on_result(struct audit *a, uint64_t idx, const struct pw_msg *m)
{
	const struct pw_result *r = &m->u.result;
	struct ivl *v;

	a->r->results++;
	if (ivl_get(a, r->interval, &v) != PW_OK) {
		FAIL_ENTRY(a, idx, m->type, "out of memory");
		return;
	}
	if (v->cleared) {
		FAIL_ENTRY(a, idx, m->type, "second RESULT for interval %llu",
		           (unsigned long long)r->interval);
		return;
	}
	if (v->n_stmts > 0) {
		FAIL_ENTRY(a, idx, m->type, "RESULT for interval %llu logged after its statements",
		           (unsigned long long)r->interval);
		return;
	}
	if (r->part != v->next_part) {
		FAIL_ENTRY(a, idx, m->type, "RESULT part %u of interval %llu, expected part %u",
		           r->part, (unsigned long long)r->interval, v->next_part);
		return;
	}
	if (r->part == 0) {
		v->parts = r->parts;
		v->price_uper_kwh = r->price_uper_kwh;
		v->volume_wh = r->volume_wh;
		v->n_total = r->n_trades_total;
	} else if (r->parts != v->parts || r->price_uper_kwh != v->price_uper_kwh ||
	           r->volume_wh != v->volume_wh || r->n_trades_total != v->n_total) {
		FAIL_ENTRY(a, idx, m->type, "RESULT parts of interval %llu disagree",
		           (unsigned long long)r->interval);
		return;
	}
	if (grow((void **)&v->trades, &v->cap_trades, v->n_trades + r->n_trades,
	         sizeof(*v->trades)) != PW_OK) {
		FAIL_ENTRY(a, idx, m->type, "too many trades");
		return;
	}
	for (uint16_t i = 0; i < r->n_trades; i++)
		if (pw_wire_result_trade(r, i, &v->trades[v->n_trades++]) != PW_OK) {
			FAIL_ENTRY(a, idx, m->type, "trade %u does not decode", i);
			return;
		}
	v->next_part++;
	v->result_idx = idx;
	if (v->next_part < v->parts)
		return;
	if (v->n_trades != v->n_total) {
		FAIL_ENTRY(a, idx, m->type, "interval %llu: %zu trades in the parts, %u announced",
		           (unsigned long long)r->interval, v->n_trades, v->n_total);
		return;
	}
	replay_auction(a, v, idx);
}

/* Whether the database says what a trade between these zones pays: a pair
 * entry, else the same-zone or default fee parameter must be present (a
 * missing one is not silently 0). */
static int
fee_known(const struct audit *a, const char *za, const char *zb)
{
	for (size_t i = 0; i < a->n_fees; i++) {
		const struct settle_fee *f = &a->fees[i];
		if ((strcmp(f->zone_a, za) == 0 && strcmp(f->zone_b, zb) == 0) ||
		    (strcmp(f->zone_a, zb) == 0 && strcmp(f->zone_b, za) == 0))
			return 1;
	}
	return strcmp(za, zb) == 0 ? a->have_fee_same : a->have_fee_default;
}

#define CMP_FIELD(f, fmt, cast)                                                                    \
	if (got->f != want.f) {                                                                    \
		FAIL_ENTRY(a, idx, PW_MSG_STATEMENT,                                               \
		           "%s interval %llu: " #f " is " fmt ", the recomputation gives " fmt,    \
		           id, (unsigned long long)got->interval, (cast)got->f, (cast)want.f);     \
		return;                                                                            \
	}

static void
on_statement(struct audit *a, uint64_t idx, const struct pw_msg *m)
{
	const struct pw_statement *got = &m->u.statement;
	struct hh *h = hh_find(a, got->household);
	struct settle_trade *tr = NULL;
	size_t n_tr = 0;
	struct ivl *v;
	char id[17];

	a->r->statements++;
	if (h == NULL) {
		FAIL_ENTRY(a, idx, m->type, "statement for an unregistered household");
		return;
	}
	hex8(h->pk, id);
	if (ivl_get(a, got->interval, &v) != PW_OK) {
		FAIL_ENTRY(a, idx, m->type, "out of memory");
		return;
	}
	if (v->next_part > 0 && !v->cleared) {
		FAIL_ENTRY(a, idx, m->type,
		           "statement before the RESULT of interval %llu is complete",
		           (unsigned long long)got->interval);
		return;
	}
	uint32_t hi = (uint32_t)(h - a->hhs);
	for (size_t i = 0; i < v->n_stmts; i++)
		if (v->stmts[i].hh == hi) {
			FAIL_ENTRY(a, idx, m->type, "second statement of %s for interval %llu", id,
			           (unsigned long long)got->interval);
			return;
		}
	if (v->n_trades > 0 && (tr = calloc(v->n_trades, sizeof(*tr))) == NULL) {
		FAIL_ENTRY(a, idx, m->type, "out of memory");
		return;
	}
	for (size_t i = 0; i < v->n_trades; i++) {
		const struct pw_trade *t = &v->trades[i];
		int buys = memcmp(t->buyer, h->pk, PW_PK_LEN) == 0;
		int sells = memcmp(t->seller, h->pk, PW_PK_LEN) == 0;
		if (!buys && !sells)
			continue;
		const struct hh *b = hh_find(a, t->buyer), *s = hh_find(a, t->seller);
		if (b == NULL || s == NULL) {
			free(tr);
			FAIL_ENTRY(a, idx, m->type, "a trade party is not registered");
			return;
		}
		if (!fee_known(a, b->zone, s->zone)) {
			FAIL_ENTRY(a, idx, m->type,
			           "no fee for zones %s/%s: neither a fees row nor params %s",
			           b->zone, s->zone,
			           strcmp(b->zone, s->zone) == 0 ? "fee_same_zone_uper_kwh"
			                                         : "fee_default_uper_kwh");
			free(tr);
			return;
		}
		tr[n_tr++] = (struct settle_trade){ .side = buys ? PW_SIDE_BUY : PW_SIDE_SELL,
			                            .qty_wh = t->qty_wh,
			                            .fee_uper_kwh = settle_fee_lookup(
			                                &a->feetab, b->zone, s->zone) };
	}
	struct settle_reading rd = { .missing = 1 };
	for (size_t i = 0; i < v->n_readings; i++)
		if (v->readings[i].hh == hi) {
			rd.missing = 0;
			rd.export_wh = v->readings[i].export_wh;
			rd.import_wh = v->readings[i].import_wh;
			/* "late" depends on arrival time, which the log does not hold:
			 * taken from the statement, only where a reading exists */
			rd.late = (got->flags & PW_STMT_READING_LATE) != 0;
		}
	struct settle_tariffs tariffs = { a->feedin_uper_kwh, a->retail_uper_kwh };
	struct pw_statement want;
	memset(&want, 0, sizeof(want));
	memcpy(want.household, got->household, PW_PK_LEN);
	want.interval = got->interval;
	pw_err rc =
	    settle_household(&tariffs, v->cleared ? v->price_uper_kwh : 0, tr, n_tr, &rd, &want);
	free(tr);
	if (rc != PW_OK) {
		FAIL_ENTRY(a, idx, m->type, "settlement replay failed: %s", pw_strerror(rc));
		return;
	}
	CMP_FIELD(flags, "%u", unsigned)
	CMP_FIELD(price_uper_kwh, "%u", unsigned)
	CMP_FIELD(sold_wh, "%llu", unsigned long long)
	CMP_FIELD(bought_wh, "%llu", unsigned long long)
	CMP_FIELD(export_wh, "%llu", unsigned long long)
	CMP_FIELD(import_wh, "%llu", unsigned long long)
	CMP_FIELD(shortfall_wh, "%llu", unsigned long long)
	CMP_FIELD(excess_wh, "%llu", unsigned long long)
	CMP_FIELD(extra_import_wh, "%llu", unsigned long long)
	CMP_FIELD(unused_wh, "%llu", unsigned long long)
	CMP_FIELD(peer_u, "%lld", long long)
	CMP_FIELD(grid_u, "%lld", long long)
	CMP_FIELD(fee_u, "%lld", long long)
	CMP_FIELD(net_u, "%lld", long long)
	CMP_FIELD(baseline_u, "%lld", long long)
	CMP_FIELD(saving_u, "%lld", long long)
	if (grow((void **)&v->stmts, &v->cap_stmts, v->n_stmts + 1, sizeof(*v->stmts)) != PW_OK) {
		FAIL_ENTRY(a, idx, m->type, "too many statements");
		return;
	}
	v->stmts[v->n_stmts++] = (struct astmt){ .idx = idx, .hh = hi, .st = *got };
}

static void
on_entry(struct audit *a, uint64_t idx, const uint8_t *frame, size_t len)
{
	struct pw_msg m;
	pw_err rc;

	if ((rc = pw_wire_decode(frame, len, &m)) != PW_OK) {
		FAIL_ENTRY(a, idx, frame[1], "frame does not decode: %s", pw_strerror(rc));
		return;
	}
	switch (m.type) {
	case PW_MSG_ORDER:
	case PW_MSG_CANCEL:
	case PW_MSG_METER:
	case PW_MSG_RESULT:
	case PW_MSG_STATEMENT:
		break;
	default:
		FAIL_ENTRY(a, idx, m.type, "a %s frame has no place in the log",
		           pw_msg_type_name(m.type));
		return;
	}
	if (pw_wire_verify(frame, len, a->r->market_id) != PW_OK) {
		FAIL_ENTRY(a, idx, m.type, "bad signature");
		return;
	}
	a->r->signatures++;
	int by_exchange = memcmp(m.author, a->r->exchange_pk, PW_PK_LEN) == 0;
	if ((m.type == PW_MSG_RESULT || m.type == PW_MSG_STATEMENT) != by_exchange) {
		FAIL_ENTRY(a, idx, m.type, "%s",
		           by_exchange ? "a household frame signed by the exchange"
		                       : "not signed by the exchange key");
		return;
	}
	switch (m.type) {
	case PW_MSG_ORDER:
		on_order(a, idx, &m);
		break;
	case PW_MSG_CANCEL:
		on_cancel(a, idx, &m);
		break;
	case PW_MSG_METER:
		on_meter(a, idx, &m);
		break;
	case PW_MSG_RESULT:
		on_result(a, idx, &m);
		break;
	default:
		on_statement(a, idx, &m);
		break;
	}
}

static pw_err
scan_log(struct audit *a)
{
	sqlite3_stmt *st = NULL;
	uint8_t leaf[PW_HASH_LEN];
	pw_err rc = PW_OK;
	int src;

	if (sqlite3_prepare_v2(a->db, "SELECT idx, type, frame, leaf FROM log ORDER BY idx", -1,
	                       &st, NULL) != SQLITE_OK) {
		FAIL_AT(a, "database", "no table log: %s", sqlite3_errmsg(a->db));
		return PW_OK;
	}
	take_roots(a);
	while (!a->r->fail.failed && (src = sqlite3_step(st)) == SQLITE_ROW) {
		uint64_t want = a->range.size;
		sqlite3_int64 idx = sqlite3_column_int64(st, 0);
		sqlite3_int64 type = sqlite3_column_int64(st, 1);
		const uint8_t *frame = sqlite3_column_blob(st, 2);
		int flen = sqlite3_column_bytes(st, 2);
		const void *stored = sqlite3_column_blob(st, 3);
		int slen = sqlite3_column_bytes(st, 3);

		if (idx < 0 || (uint64_t)idx != want) {
			audit_fail(
			    a, want, "", NULL,
			    "entry missing: the next stored entry is %lld (deleted or renumbered)",
			    (long long)idx);
			break;
		}
		if (frame == NULL || flen < 2 || (size_t)flen > PW_WIRE_MAX_LEN) {
			audit_fail(a, want, "", NULL, "frame of %d bytes", flen);
			break;
		}
		merkle_leaf_hash(frame, (size_t)flen, leaf);
		if ((rc = merkle_range_append(&a->range, leaf)) != PW_OK ||
		    (rc = keep_leaf(a, leaf)) != PW_OK)
			break;
		a->r->entries++;
		take_roots(a);
		if (type != frame[1]) {
			FAIL_ENTRY(a, want, frame[1], "type column %lld is not the frame's type %u",
			           (long long)type, frame[1]);
			break;
		}
		if (stored == NULL || slen != PW_HASH_LEN ||
		    memcmp(stored, leaf, PW_HASH_LEN) != 0) {
			FAIL_ENTRY(a, want, frame[1], "stored leaf is not SHA-256(0x00 || frame)");
			break;
		}
		on_entry(a, want, frame, (size_t)flen);
	}
	if (!a->r->fail.failed && src != SQLITE_DONE)
		FAIL_AT(a, "database", "reading table log: %s", sqlite3_errmsg(a->db));
	sqlite3_finalize(st);
	merkle_range_root(&a->range, a->r->root);
	return rc;
}

/* --- after the pass: completeness and balance of every interval ------------------- */

static void
check_interval(struct audit *a, struct ivl *v)
{
	struct audit_report *r = a->r;
	char where[64];

	snprintf(where, sizeof(where), "interval %llu", (unsigned long long)v->interval);
	if (v->next_part > 0 && !v->cleared) {
		audit_fail(a, v->result_idx, "RESULT", NULL,
		           "interval %llu: only %u of %u RESULT parts logged",
		           (unsigned long long)v->interval, v->next_part, v->parts);
		return;
	}
	if (v->n_orders > 0 && v->next_part == 0)
		r->intervals_open++;
	if (v->n_stmts == 0)
		return;
	uint64_t last = v->stmts[v->n_stmts - 1].idx;
	/* every party of a trade has its statement */
	for (size_t i = 0; i < v->n_trades; i++) {
		const uint8_t *pks[2] = { v->trades[i].buyer, v->trades[i].seller };
		for (int k = 0; k < 2; k++) {
			int found = 0;
			for (size_t j = 0; j < v->n_stmts && !found; j++)
				found = memcmp(a->hhs[v->stmts[j].hh].pk, pks[k], PW_PK_LEN) == 0;
			if (!found) {
				char id[17];
				hex8(pks[k], id);
				audit_fail(a, last, "STATEMENT", NULL,
				           "interval %llu: %s traded but has no statement",
				           (unsigned long long)v->interval, id);
				return;
			}
		}
	}
	struct pw_statement *sts = calloc(v->n_stmts, sizeof(*sts));
	struct settle_totals t;
	if (sts == NULL) {
		FAIL_AT(a, where, "out of memory");
		return;
	}
	for (size_t j = 0; j < v->n_stmts; j++)
		sts[j] = v->stmts[j].st;
	pw_err rc = settle_totals(sts, v->n_stmts, &t);
	free(sts);
	if (rc != PW_OK) {
		audit_fail(
		    a, last, "STATEMENT", NULL,
		    "interval %llu: statements do not balance (%s): peer paid %lld, received "
		    "%lld",
		    (unsigned long long)v->interval, pw_strerror(rc), (long long)t.peer_paid_u,
		    (long long)t.peer_received_u);
		return;
	}
	if (t.sold_wh != v->volume_wh || t.bought_wh != v->volume_wh) {
		audit_fail(
		    a, last, "STATEMENT", NULL,
		    "interval %llu: statements sell %llu Wh and buy %llu Wh, the RESULT %llu Wh",
		    (unsigned long long)v->interval, (unsigned long long)t.sold_wh,
		    (unsigned long long)t.bought_wh, (unsigned long long)v->volume_wh);
		return;
	}
	if (pw_money_add(r->peer_paid_u, t.peer_paid_u, &r->peer_paid_u) != PW_OK ||
	    pw_money_add(r->peer_received_u, t.peer_received_u, &r->peer_received_u) != PW_OK ||
	    pw_money_add(r->fee_u, t.fee_u, &r->fee_u) != PW_OK ||
	    pw_money_add(r->grid_account_u, t.grid_account_u, &r->grid_account_u) != PW_OK ||
	    pw_money_add(r->net_u, t.net_u, &r->net_u) != PW_OK) {
		FAIL_AT(a, where, "money totals overflow");
		return;
	}
	r->intervals_settled++;
}

/* --- entry point ---------------------------------------------------------------------- */

pw_err
audit_verify(sqlite3 *db, const char *const *files, size_t n_files, struct audit_report *r)
{
	struct audit a;
	pw_err rc = PW_OK;

	if (db == NULL || r == NULL || (n_files > 0 && files == NULL))
		return PW_ERR_ARG;
	memset(r, 0, sizeof(*r));
	memset(&a, 0, sizeof(a));
	a.db = db;
	a.r = r;
	merkle_range_init(&a.range);

	if ((rc = load_params(&a)) != PW_OK || r->fail.failed)
		goto out;
	if ((rc = load_households(&a)) != PW_OK || r->fail.failed)
		goto out;
	if ((rc = load_fees(&a)) != PW_OK || r->fail.failed)
		goto out;
	if ((rc = load_db_checkpoints(&a)) != PW_OK || r->fail.failed)
		goto out;
	for (size_t i = 0; i < n_files; i++)
		if ((rc = load_file(&a, files[i])) != PW_OK || r->fail.failed)
			goto out;
	if ((rc = index_checkpoints_sentinel(&a)) != PW_OK)
		goto out;
	if ((rc = scan_log(&a)) != PW_OK || r->fail.failed)
		goto out;
	for (size_t i = 0; i < a.n_ivls && !r->fail.failed; i++)
		check_interval(&a, a.ivls[i]);
	if (r->fail.failed)
		goto out;
	struct cp *prev = NULL;
	for (size_t i = 0; i < a.n_db_cps && !r->fail.failed; i++) {
		check_checkpoint(&a, &a.cps[i], 1, &prev);
		r->checkpoints_db++;
	}
	if (prev != NULL) {
		r->have_checkpoint = 1;
		r->checkpoint_size = prev->msg.u.checkpoint.tree_size;
		memcpy(r->checkpoint_root, prev->msg.u.checkpoint.root, PW_HASH_LEN);
	}
	for (size_t i = a.n_db_cps; i < a.n_cps && !r->fail.failed; i++) {
		struct cp *latest = prev;
		check_checkpoint(&a, &a.cps[i], 0, &latest);
		r->checkpoints_files++;
	}
out:
	for (size_t i = 0; i < a.n_ivls; i++)
		ivl_free(a.ivls[i]);
	free(a.ivls);
	free(a.hhs);
	free(a.fees);
	free(a.cps);
	free(a.by_size);
	for (unsigned l = 0; l < MERKLE_MAX_LEVELS; l++)
		free(a.lv[l]);
	return rc;
}
