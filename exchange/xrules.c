/*
 * xrules.c: the market's rules and registry as the log states them
 * (xrules.h): genesis and migration, the log's MARKET and REGISTRY entries
 * read back, registry changes appended, the tables params, fees and
 * households kept equal to the log.  Called by exchange/main.c at start
 * and on SIGHUP, and by the engine for QUERY REGISTRY.
 */
#include "exchange/xrules.h"
#include "exchange/xrules_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "peerwatt/log.h"

#define RULES_FRAME_MAX 8192 /* > the largest MARKET (4535 bytes) */

/* Both entry types; the partial index below serves exactly this term. */
#define RULES_TYPES "type IN (24, 25)"

static pw_err fail(char *err, size_t errlen, pw_err rc, const char *fmt, ...) PW_PRINTF(4, 5);

static pw_err
fail(char *err, size_t errlen, pw_err rc, const char *fmt, ...)
{
	va_list ap;
	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

/* --- building entries -------------------------------------------------------- */

/* Copy a NUL-terminated string into a NUL-padded wire field. */
static void
put_text(char *dst, size_t len, const char *src)
{
	size_t n = strnlen(src, len);
	memset(dst, 0, len);
	memcpy(dst, src, n);
}

static int
token_cmp(const char *a, const char *b)
{
	return strncmp(a, b, PW_TOKEN_LEN);
}

static int
fee_cmp(const struct pw_market_fee *a, const struct pw_market_fee *b)
{
	int c = token_cmp(a->zone_a, b->zone_a);
	return c != 0 ? c : token_cmp(a->zone_b, b->zone_b);
}

/* xrules_int.h */
int
xrules_add_fee(struct pw_market *mk, const char *a, const char *b, uint32_t fee)
{
	struct pw_market_fee f;
	unsigned i;

	memset(&f, 0, sizeof(f));
	if (strcmp(a, b) > 0) {
		const char *t = a;
		a = b;
		b = t;
	}
	if (strcmp(a, b) == 0 && fee == mk->fee_same_zone_uper_kwh)
		return 0;
	put_text(f.zone_a, PW_TOKEN_LEN, a);
	put_text(f.zone_b, PW_TOKEN_LEN, b);
	f.fee_uper_kwh = fee;
	for (i = 0; i < mk->n_fees; i++) {
		int c = fee_cmp(&mk->fees[i], &f);
		if (c == 0)
			return mk->fees[i].fee_uper_kwh == fee ? 0 : -1;
		if (c > 0)
			break;
	}
	if (mk->n_fees >= PW_MARKET_MAX_FEES)
		return -1;
	memmove(&mk->fees[i + 1], &mk->fees[i], (mk->n_fees - i) * sizeof(f));
	mk->fees[i] = f;
	mk->n_fees++;
	return 0;
}

pw_err
xrules_market_of(const struct xconfig *c, uint64_t time_s, uint64_t effective_interval,
                 struct pw_market *out)
{
	memset(out, 0, sizeof(*out));
	out->time_s = time_s;
	out->effective_interval = effective_interval;
	put_text(out->name, PW_TOKEN_LEN, c->market_name);
	memcpy(out->currency, c->currency, PW_CURRENCY_LEN);
	/* the configuration's ranges fit u32 (xconfig.c) */
	out->interval_s = (uint32_t)c->interval_s;
	out->gate_s = (uint32_t)c->gate_s;
	out->grace_s = (uint32_t)c->grace_s;
	out->max_ahead_s = (uint32_t)c->max_ahead_s;
	out->feedin_uper_kwh = (int32_t)c->feedin_uper_kwh; /* i32 (xconfig.c) */
	out->retail_uper_kwh = (int32_t)c->retail_uper_kwh;
	out->fee_same_zone_uper_kwh = (uint32_t)c->fee_same_zone_uper_kwh;
	out->fee_default_uper_kwh = (uint32_t)c->fee_default_uper_kwh;
	for (size_t i = 0; i < c->n_fees; i++)
		if (xrules_add_fee(out, c->fees[i].zone_a, c->fees[i].zone_b,
		                   (uint32_t)c->fees[i].fee_uper_kwh) != 0)
			return PW_ERR_CONFIG;
	return PW_OK;
}

void
xrules_entry_of(const struct household *h, uint64_t time_s, uint8_t revoked,
                struct pw_registry *out)
{
	memset(out, 0, sizeof(*out));
	out->time_s = time_s;
	memcpy(out->household, h->pk, PW_PK_LEN);
	put_text(out->id, PW_TOKEN_LEN, h->id);
	put_text(out->name, PW_TOKEN_LEN, h->name);
	put_text(out->serial, PW_SERIAL_LEN, h->serial);
	put_text(out->zone, PW_TOKEN_LEN, h->zone);
	/* registry.c bounds powers to 1e9 W */
	out->max_export_w = (uint32_t)h->max_export_w;
	out->max_import_w = (uint32_t)h->max_import_w;
	out->revoked = revoked;
}

static void
rollback(struct store *s, struct mlog *log)
{
	store_rollback(s);
	if (mlog_reload(log) != PW_OK)
		fatalx("rules: the log cannot be reloaded after a rollback");
}

/* Sign and append one entry inside the caller's transaction. */
static pw_err
append(struct mlog *log, const struct pw_keypair *kp, uint64_t market_id, struct pw_msg *m,
       uint64_t *idx)
{
	uint8_t buf[RULES_FRAME_MAX];
	size_t len = 0;
	pw_err rc = pw_wire_encode(m, market_id, kp, buf, sizeof(buf), &len);
	if (rc != PW_OK)
		return rc;
	return mlog_append(log, buf, len, idx);
}

/* --- the log's view ------------------------------------------------------------ */

void
xrules_free(struct xrules *x)
{
	if (x == NULL)
		return;
	free(x->hh);
	x->hh = NULL;
	x->n_hh = x->cap_hh = 0;
	free(x->markets);
	x->markets = NULL;
	x->n_markets = x->cap_markets = 0;
	for (size_t i = 0; i < x->n_tables; i++)
		free(x->tables[i].fees);
	free(x->tables);
	x->tables = NULL;
	x->n_tables = x->cap_tables = 0;
	free(x->table_slot);
	x->table_slot = NULL;
	x->cap_slots = 0;
}

/* Position of `pk` in x->hh, or where it would go (*found 0). */
static size_t
hh_pos(const struct xrules *x, const uint8_t pk[PW_PK_LEN], int *found)
{
	size_t lo = 0, hi = x->n_hh;
	*found = 0;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = memcmp(x->hh[mid].r.household, pk, PW_PK_LEN);
		if (c == 0) {
			*found = 1;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

const struct xrules_hh *
xrules_find(const struct xrules *x, const uint8_t pk[PW_PK_LEN])
{
	int found;
	size_t i = hh_pos(x, pk, &found);
	return found ? &x->hh[i] : NULL;
}

static pw_err
hh_put(struct xrules *x, const struct pw_registry *r, uint64_t idx)
{
	int found;
	size_t i = hh_pos(x, r->household, &found);
	if (!found) {
		if (x->n_hh == x->cap_hh) {
			size_t ncap = x->cap_hh ? x->cap_hh * 2 : 16;
			struct xrules_hh *n = realloc(x->hh, ncap * sizeof(*n));
			if (n == NULL)
				return PW_ERR_NOMEM;
			x->hh = n;
			x->cap_hh = ncap;
		}
		memmove(&x->hh[i + 1], &x->hh[i], (x->n_hh - i) * sizeof(*x->hh));
		x->n_hh++;
	}
	x->hh[i].r = *r;
	x->hh[i].idx = idx;
	return PW_OK;
}

uint64_t
xrules_entry_count(sqlite3 *db)
{
	sqlite3_stmt *st = NULL;
	uint64_t n = 0;
	if (sqlite3_prepare_v2(db, "SELECT count(*) FROM log WHERE " RULES_TYPES, -1, &st, NULL) ==
	        SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int64(st, 0) > 0)
		n = (uint64_t)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

pw_err
xrules_read(struct xrules *x, sqlite3 *db, uint64_t signed_below, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	struct pw_msg m;
	pw_err rc = PW_OK;
	int step;

	x->n_hh = 0;
	x->n_markets = 0;
	if (sqlite3_prepare_v2(db, "SELECT idx, frame FROM log WHERE " RULES_TYPES " ORDER BY idx",
	                       -1, &st, NULL) != SQLITE_OK)
		return fail(err, errlen, PW_ERR_DB, "cannot read the log: %s", sqlite3_errmsg(db));
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		uint64_t idx = (uint64_t)sqlite3_column_int64(st, 0);
		const uint8_t *f = sqlite3_column_blob(st, 1);
		size_t len = (size_t)sqlite3_column_bytes(st, 1);
		/* below the signed checkpoint the root vouches for the bytes:
		 * decoding is enough (a year of quarter-hour tariffs, 35,040
		 * MARKET entries, took 3-12 s of signature checks at start) */
		pw_err vr = f == NULL            ? PW_ERR_LENGTH
		            : idx < signed_below ? pw_wire_decode_stored(f, len, &m)
		                                 : pw_wire_open_stored(f, len, x->market_id, &m);
		if (vr != PW_OK) {
			rc = fail(err, errlen, PW_ERR_CORRUPT,
			          "log entry %llu (%s) does not open in market %llu: %s (the "
			          "database of another market or exchange key?)",
			          (unsigned long long)idx, pw_msg_type_name(f ? f[1] : 0),
			          (unsigned long long)x->market_id, pw_strerror(vr));
			break;
		}
		if (memcmp(m.author, x->exchange_pk, PW_PK_LEN) != 0) {
			rc =
			    fail(err, errlen, PW_ERR_CORRUPT,
			         "log entry %llu (%s) is signed by another key than the exchange's",
			         (unsigned long long)idx, pw_msg_type_name(m.type));
			break;
		}
		if (m.type == PW_MSG_MARKET) {
			if (x->n_markets == 0 && m.u.market.effective_interval != 0) {
				rc =
				    fail(err, errlen, PW_ERR_CORRUPT,
				         "log entry %llu: the first MARKET entry is effective from "
				         "interval %llu, not 0",
				         (unsigned long long)idx,
				         (unsigned long long)m.u.market.effective_interval);
				break;
			}
			if (x->n_markets > 0 &&
			    m.u.market.effective_interval < x->market.effective_interval) {
				rc = fail(
				    err, errlen, PW_ERR_CORRUPT,
				    "log entry %llu: MARKET effective from an interval before the "
				    "previous MARKET entry's",
				    (unsigned long long)idx);
				break;
			}
			if ((rc = xrules_market_push(x, &m.u.market, idx)) != PW_OK)
				break;
		} else {
			if (x->n_markets == 0) {
				rc =
				    fail(err, errlen, PW_ERR_CORRUPT,
				         "log entry %llu: a REGISTRY entry before any MARKET entry",
				         (unsigned long long)idx);
				break;
			}
			if ((rc = hh_put(x, &m.u.registry, idx)) != PW_OK)
				break;
		}
	}
	if (rc == PW_OK && step != SQLITE_DONE)
		rc = fail(err, errlen, PW_ERR_DB, "cannot read the log: %s", sqlite3_errmsg(db));
	sqlite3_finalize(st);
	if (rc == PW_OK && x->n_markets == 0)
		rc = PW_ERR_NOTFOUND;
	return rc;
}

/* --- genesis and migration ---------------------------------------------------- */

static pw_err
genesis(struct xrules *x, struct store *s, struct mlog *log, const struct pw_keypair *kp,
        const struct xconfig *c, const struct registry *file, uint64_t now_s, char *err,
        size_t errlen)
{
	struct pw_msg m;
	uint64_t idx = 0, first = 0;
	pw_err rc;

	memset(&m, 0, sizeof(m));
	m.type = PW_MSG_MARKET;
	if (xrules_market_of(c, now_s, 0, &m.u.market) != PW_OK)
		return fail(err, errlen, PW_ERR_CONFIG, "[fees]: more than %d zone pairs",
		            PW_MARKET_MAX_FEES);
	if ((rc = store_begin(s)) != PW_OK)
		return fail(err, errlen, rc, "cannot begin the genesis transaction");
	rc = append(log, kp, x->market_id, &m, &first);
	for (size_t i = 0; rc == PW_OK && i < registry_count(file); i++) {
		memset(&m, 0, sizeof(m));
		m.type = PW_MSG_REGISTRY;
		xrules_entry_of(registry_at(file, i), now_s, 0, &m.u.registry);
		rc = append(log, kp, x->market_id, &m, &idx);
	}
	if (rc == PW_OK)
		rc = store_commit(s);
	if (rc != PW_OK) {
		rollback(s, log);
		return fail(err, errlen, rc, "cannot write the genesis entries: %s",
		            pw_strerror(rc));
	}
	x->created = 1;
	x->created_idx = first;
	log_info("new database: genesis MARKET entry at log index %llu, %zu REGISTRY entries "
	         "after it",
	         (unsigned long long)first, registry_count(file));
	return PW_OK;
}

/* One integer of table params into *v; 0 when absent. */
static int
param_int(sqlite3 *db, const char *key, long long lo, long long hi, long long *v, int *bad)
{
	sqlite3_stmt *st = NULL;
	int found = 0;
	if (sqlite3_prepare_v2(db, "SELECT value FROM params WHERE key = ?1", -1, &st, NULL) !=
	    SQLITE_OK)
		return 0;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW) {
		long long got = sqlite3_column_int64(st, 0);
		if (found || sqlite3_column_type(st, 0) != SQLITE_INTEGER || got < lo || got > hi)
			*bad = 1; /* twice, not an integer, out of range */
		*v = got;
		found = 1;
	}
	sqlite3_finalize(st);
	return found;
}

static int
param_text(sqlite3 *db, const char *key, char *out, size_t cap)
{
	sqlite3_stmt *st = NULL;
	int found = 0;
	if (sqlite3_prepare_v2(db, "SELECT value FROM params WHERE key = ?1", -1, &st, NULL) !=
	    SQLITE_OK)
		return 0;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) == SQLITE_TEXT) {
		snprintf(out, cap, "%s", (const char *)sqlite3_column_text(st, 0));
		found = 1;
	}
	sqlite3_finalize(st);
	return found;
}

/* The MARKET entry of an old database, from its params and fees tables. */
static pw_err
market_of_tables(sqlite3 *db, const struct xconfig *c, uint64_t now_s, struct pw_market *mk,
                 char *missing, size_t mlen, char *err, size_t errlen)
{
	static const struct {
		const char *key;
		int required;
		int is_price; /* i32 rather than u32 */
	} ints[] = {
		{ "interval_s", 1, 0 },
		{ "gate_s", 1, 0 },
		{ "grace_s", 1, 0 },
		{ "max_ahead_s", 0, 0 },
		{ "feedin_uper_kwh", 1, 1 },
		{ "retail_uper_kwh", 1, 1 },
		{ "fee_same_zone_uper_kwh", 0, 0 },
		{ "fee_default_uper_kwh", 0, 0 },
	};
	const int64_t cfg_v[] = { c->interval_s,
		                  c->gate_s,
		                  c->grace_s,
		                  c->max_ahead_s,
		                  c->feedin_uper_kwh,
		                  c->retail_uper_kwh,
		                  c->fee_same_zone_uper_kwh,
		                  c->fee_default_uper_kwh };
	int64_t v[sizeof(ints) / sizeof(ints[0])];
	char name[64];
	long long id = 0;
	int bad = 0;
	sqlite3_stmt *st = NULL;

	missing[0] = '\0';
	memset(mk, 0, sizeof(*mk));
	if (param_int(db, "market_id", 1, INT64_MAX, &id, &bad) && (bad || id != c->market_id))
		return fail(err, errlen, PW_ERR_CONFIG,
		            "the database is market id %lld, the configuration says %lld", id,
		            (long long)c->market_id);
	if (!param_text(db, "market_name", name, sizeof(name)) || strlen(name) < 1 ||
	    strlen(name) >= PW_TOKEN_LEN)
		return fail(err, errlen, PW_ERR_CORRUPT,
		            "table params has no market_name of 1..31 characters");
	for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
		long long x = 0;
		bad = 0;
		long long lo = ints[i].is_price ? INT32_MIN : 0;
		long long hi = ints[i].is_price ? INT32_MAX : U32_MAX_LL;
		if (!param_int(db, ints[i].key, lo, hi, &x, &bad)) {
			if (ints[i].required)
				return fail(err, errlen, PW_ERR_CORRUPT, "table params has no %s",
				            ints[i].key);
			x = cfg_v[i];
			size_t n = strlen(missing);
			snprintf(missing + n, mlen - n, "%s%s", n ? ", " : "", ints[i].key);
		} else if (bad) {
			return fail(
			    err, errlen, PW_ERR_CORRUPT,
			    "table params: %s is stored twice or is not an integer %lld..%lld",
			    ints[i].key, lo, hi);
		}
		v[i] = x;
	}
	mk->time_s = now_s;
	mk->effective_interval = 0;
	put_text(mk->name, PW_TOKEN_LEN, name);
	memcpy(mk->currency, c->currency, PW_CURRENCY_LEN);
	/* each within its range (param_int above) */
	mk->interval_s = (uint32_t)v[0];
	mk->gate_s = (uint32_t)v[1];
	mk->grace_s = (uint32_t)v[2];
	mk->max_ahead_s = (uint32_t)v[3];
	mk->feedin_uper_kwh = (int32_t)v[4];
	mk->retail_uper_kwh = (int32_t)v[5];
	mk->fee_same_zone_uper_kwh = (uint32_t)v[6];
	mk->fee_default_uper_kwh = (uint32_t)v[7];
	if (sqlite3_prepare_v2(db, "SELECT zone_a, zone_b, fee_uper_kwh FROM fees ORDER BY rowid",
	                       -1, &st, NULL) != SQLITE_OK)
		return fail(err, errlen, PW_ERR_CORRUPT, "no table fees: %s", sqlite3_errmsg(db));
	pw_err rc = PW_OK;
	while (rc == PW_OK && sqlite3_step(st) == SQLITE_ROW) {
		const char *a = (const char *)sqlite3_column_text(st, 0);
		const char *b = (const char *)sqlite3_column_text(st, 1);
		long long fee = sqlite3_column_int64(st, 2);
		if (a == NULL || b == NULL || !registry_token_ok(a, strlen(a)) ||
		    !registry_token_ok(b, strlen(b)) || fee < 0 || fee > U32_MAX_LL)
			rc = fail(err, errlen, PW_ERR_CORRUPT,
			          "table fees: a row is not two zones "
			          "and a fee");
		else if (xrules_add_fee(mk, a, b, (uint32_t)fee) != 0)
			rc = fail(
			    err, errlen, PW_ERR_CORRUPT,
			    "table fees: zones %s/%s listed twice with different fees, or more "
			    "than %d pairs",
			    a, b, PW_MARKET_MAX_FEES);
	}
	sqlite3_finalize(st);
	return rc;
}

static pw_err
migrate(struct xrules *x, struct store *s, struct mlog *log, const struct pw_keypair *kp,
        const struct xconfig *c, uint64_t now_s, char *err, size_t errlen)
{
	sqlite3 *db = store_db(s);
	sqlite3_stmt *st = NULL;
	struct pw_msg m;
	char missing[256];
	uint64_t first = 0, idx = 0, before = mlog_size(log);
	size_t n = 0;
	pw_err rc;

	{
		char pkhex[2 * PW_PK_LEN + 1], have[2 * PW_PK_LEN + 8];
		pw_hex_encode(kp->pk, PW_PK_LEN, pkhex);
		if (param_text(db, "exchange_pk", have, sizeof(have)) && strcmp(have, pkhex) != 0)
			return fail(err, errlen, PW_ERR_CONFIG,
			            "the database was signed by exchange key %.64s, not by this "
			            "exchange's key %s",
			            have, pkhex);
	}
	memset(&m, 0, sizeof(m));
	m.type = PW_MSG_MARKET;
	if ((rc = market_of_tables(db, c, now_s, &m.u.market, missing, sizeof(missing), err,
	                           errlen)) != PW_OK)
		return rc;
	if (sqlite3_prepare_v2(db,
	                       "SELECT pk, id, name, serial, zone, max_export_w, max_import_w, "
	                       "revoked FROM households ORDER BY rowid",
	                       -1, &st, NULL) != SQLITE_OK)
		return fail(err, errlen, PW_ERR_CORRUPT, "no table households: %s",
		            sqlite3_errmsg(db));
	if ((rc = store_begin(s)) != PW_OK) {
		sqlite3_finalize(st);
		return fail(err, errlen, rc, "cannot begin the migration transaction");
	}
	rc = append(log, kp, x->market_id, &m, &first);
	if (rc != PW_OK)
		snprintf(err, errlen, "tables params and fees do not make a valid MARKET entry: %s",
		         pw_strerror(rc));
	while (rc == PW_OK && sqlite3_step(st) == SQLITE_ROW) {
		struct household h;
		memset(&h, 0, sizeof(h));
		const void *pk = sqlite3_column_blob(st, 0);
		const char *t[4];
		for (int k = 0; k < 4; k++)
			t[k] = (const char *)sqlite3_column_text(st, 1 + k);
		long long ex = sqlite3_column_int64(st, 5), im = sqlite3_column_int64(st, 6);
		long long rv = sqlite3_column_int64(st, 7);
		if (pk == NULL || sqlite3_column_bytes(st, 0) != PW_PK_LEN || !t[0] || !t[1] ||
		    !t[2] || !t[3] || ex < 0 || ex > U32_MAX_LL || im < 0 || im > U32_MAX_LL ||
		    rv < 0 || rv > 1) {
			rc = PW_ERR_CORRUPT;
			snprintf(err, errlen, "table households: row %zu is not a household",
			         n + 1);
			break;
		}
		memcpy(h.pk, pk, PW_PK_LEN);
		snprintf(h.id, sizeof(h.id), "%s", t[0]);
		snprintf(h.name, sizeof(h.name), "%s", t[1]);
		snprintf(h.serial, sizeof(h.serial), "%s", t[2]);
		snprintf(h.zone, sizeof(h.zone), "%s", t[3]);
		h.max_export_w = ex;
		h.max_import_w = im;
		memset(&m, 0, sizeof(m));
		m.type = PW_MSG_REGISTRY;
		xrules_entry_of(&h, now_s, (uint8_t)rv, &m.u.registry);
		if ((rc = append(log, kp, x->market_id, &m, &idx)) != PW_OK)
			snprintf(err, errlen,
			         "table households: household %s does not make a "
			         "valid REGISTRY entry: %s",
			         t[0], pw_strerror(rc));
		n++;
	}
	sqlite3_finalize(st);
	if (rc == PW_OK)
		rc = store_commit(s);
	if (rc != PW_OK) {
		rollback(s, log);
		if (err != NULL && errlen > 0 && err[0] == '\0')
			snprintf(err, errlen, "cannot append the migration entries: %s",
			         pw_strerror(rc));
		return rc == PW_ERR_DB ? PW_ERR_DB : PW_ERR_CORRUPT;
	}
	x->created = 2;
	x->created_idx = first;
	log_warnx("old-format database (no MARKET entry in its %llu log entries): appended the "
	          "MARKET entry at log index %llu and %zu REGISTRY entries (up to index %llu), "
	          "built from its tables params, fees and households; they state the rules and "
	          "registry the %llu entries before them ran on",
	          (unsigned long long)before, (unsigned long long)first, n,
	          (unsigned long long)(n ? idx : first), (unsigned long long)before);
	if (missing[0] != '\0')
		log_warnx("old-format database: table params had no %s; the MARKET entry at log "
		          "index %llu takes the configuration's",
		          missing, (unsigned long long)first);
	return PW_OK;
}

pw_err
xrules_open(struct xrules *x, struct store *s, struct mlog *log, const struct pw_keypair *kp,
            const struct xconfig *c, const struct registry *file, uint64_t now_s, char *err,
            size_t errlen)
{
	sqlite3 *db = store_db(s);
	pw_err rc;

	memset(x, 0, sizeof(*x));
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	x->market_id = (uint64_t)c->market_id;
	memcpy(x->exchange_pk, kp->pk, PW_PK_LEN);
	if (sqlite3_exec(db,
	                 "CREATE INDEX IF NOT EXISTS log_rules ON log(idx) WHERE " RULES_TYPES ";",
	                 NULL, NULL, NULL) != SQLITE_OK)
		return fail(err, errlen, PW_ERR_DB, "cannot index the log: %s", sqlite3_errmsg(db));
	rc = xrules_read(x, db, mlog_signed_size(log, x->market_id, kp->pk), err, errlen);
	if (rc != PW_ERR_NOTFOUND)
		return rc;
	if (x->n_hh > 0)
		return fail(err, errlen, PW_ERR_CORRUPT, "REGISTRY entries but no MARKET entry");
	rc = mlog_size(log) == 0 ? genesis(x, s, log, kp, c, file, now_s, err, errlen)
	                         : migrate(x, s, log, kp, c, now_s, err, errlen);
	if (rc != PW_OK)
		return rc;
	rc = xrules_read(x, db, mlog_signed_size(log, x->market_id, kp->pk), err, errlen);
	return rc == PW_ERR_NOTFOUND ? PW_ERR_INTERNAL : rc;
}

/* --- configuration and registry changes ------------------------------------- */

pw_err
xrules_check_config(const struct xrules *x, const struct xconfig *c, char *why, size_t len)
{
	const struct pw_market *l = &x->market;
	struct pw_market w;

	if (xrules_market_of(c, 0, 0, &w) != PW_OK)
		return fail(why, len, PW_ERR_CONFIG, "[fees]: more than %d zone pairs",
		            PW_MARKET_MAX_FEES);
#define IMMUTABLE(field, what)                                                                     \
	if (l->field != w.field)                                                                   \
		return fail(why, len, PW_ERR_CONFIG,                                               \
		            "[market] %s is %lu in the log (entry %llu) and %lu in the "           \
		            "configuration: it can never change",                                  \
		            what, (unsigned long)l->field, (unsigned long long)x->market_idx,      \
		            (unsigned long)w.field);
	if (token_cmp(l->name, w.name) != 0)
		return fail(why, len, PW_ERR_CONFIG,
		            "[market] name is '%.31s' in the log (entry %llu) and '%.31s' in the "
		            "configuration: it can never change",
		            l->name, (unsigned long long)x->market_idx, w.name);
	if (memcmp(l->currency, w.currency, PW_CURRENCY_LEN) != 0)
		return fail(why, len, PW_ERR_CONFIG,
		            "[market] currency is %.3s in the log (entry %llu) and %.3s in the "
		            "configuration: it can never change",
		            l->currency, (unsigned long long)x->market_idx, w.currency);
	IMMUTABLE(interval_s, "interval_s")
	IMMUTABLE(gate_s, "gate_s")
	IMMUTABLE(grace_s, "grace_s")
	IMMUTABLE(max_ahead_s, "max_ahead_s")
#undef IMMUTABLE
	return PW_OK;
}

int
xrules_tariffs_differ(const struct xrules *x, const struct xconfig *c)
{
	const struct pw_market *l = &x->market;
	struct pw_market w;
	if (xrules_market_of(c, 0, 0, &w) != PW_OK)
		return 1;
	return l->feedin_uper_kwh != w.feedin_uper_kwh || l->retail_uper_kwh != w.retail_uper_kwh ||
	       l->fee_same_zone_uper_kwh != w.fee_same_zone_uper_kwh ||
	       l->fee_default_uper_kwh != w.fee_default_uper_kwh || l->n_fees != w.n_fees ||
	       memcmp(l->fees, w.fees, (size_t)w.n_fees * sizeof(w.fees[0])) != 0;
}

pw_err
xrules_next_effective(const struct xrules *x, uint64_t now_s, uint64_t *effective)
{
	const struct pw_market *l = &x->market;
	/* an order is accepted for interval i only while i*L <= now + max_ahead
	 * (rules/validate.c): E is the first interval beyond that */
	uint64_t e = (now_s + l->max_ahead_s) / l->interval_s + 1;
	/* published is final: never at or before the latest entry's interval
	 * (its rules may be in households' outlooks, QUERY SCHEDULE) */
	if (e <= l->effective_interval) {
		if (l->effective_interval == UINT64_MAX)
			return PW_ERR_RANGE; /* no interval after it */
		e = l->effective_interval + 1;
	}
	*effective = e;
	return PW_OK;
}

pw_err
xrules_append_market(struct xrules *x, struct store *s, struct mlog *log,
                     const struct pw_keypair *kp, const struct xconfig *c, uint64_t now_s,
                     uint64_t *effective)
{
	const struct pw_market *l = &x->market;
	struct pw_msg m;
	uint64_t idx = 0, prev_idx = x->market_idx, e = 0;
	pw_err rc;

	if ((rc = xrules_next_effective(x, now_s, &e)) != PW_OK)
		return rc;
	memset(&m, 0, sizeof(m));
	m.type = PW_MSG_MARKET;
	if (xrules_market_of(c, now_s, e, &m.u.market) != PW_OK)
		return PW_ERR_CONFIG;
	/* only tariffs and fees change: the rest stays the log's */
	memcpy(m.u.market.name, l->name, PW_TOKEN_LEN);
	memcpy(m.u.market.currency, l->currency, PW_CURRENCY_LEN);
	m.u.market.interval_s = l->interval_s;
	m.u.market.gate_s = l->gate_s;
	m.u.market.grace_s = l->grace_s;
	m.u.market.max_ahead_s = l->max_ahead_s;
	if ((rc = store_begin(s)) != PW_OK)
		return rc;
	rc = append(log, kp, x->market_id, &m, &idx);
	if (rc == PW_OK)
		rc = store_commit(s);
	if (rc != PW_OK) {
		rollback(s, log);
		log_warnx("market: cannot append the MARKET entry: %s", pw_strerror(rc));
		return rc;
	}
	if (xrules_market_push(x, &m.u.market, idx) != PW_OK)
		fatalx("market: out of memory");
	log_warnx(
	    "market: tariffs or fees changed: MARKET entry at log index %llu, effective from "
	    "interval %llu (starting %llu s after now); intervals before it keep the rules of "
	    "entry %llu",
	    (unsigned long long)idx, (unsigned long long)e,
	    (unsigned long long)(e * x->market.interval_s - now_s), (unsigned long long)prev_idx);
	if (effective != NULL)
		*effective = e;
	return PW_OK;
}

pw_err
xrules_append_markets(struct xrules *x, struct store *s, struct mlog *log,
                      const struct pw_keypair *kp, int (*next)(void *ctx, struct pw_market *out),
                      void *ctx, size_t *n)
{
	size_t n_before = x->n_markets, count = 0;
	uint64_t prev = x->market.effective_interval, last_idx = x->market_idx;
	struct pw_msg *m = calloc(1, sizeof(*m));
	struct pw_market *last = malloc(sizeof(*last));
	pw_err rc;
	int more;

	if (n != NULL)
		*n = 0;
	if (m == NULL || last == NULL) {
		free(m);
		free(last);
		return PW_ERR_NOMEM;
	}
	*last = x->market;
	if ((rc = store_begin(s)) != PW_OK) {
		free(m);
		free(last);
		return rc;
	}
	while (rc == PW_OK && (more = next(ctx, &m->u.market)) != 0) {
		uint64_t idx = 0;
		if (more < 0) {
			rc = PW_ERR_CONFIG;
			break;
		}
		if (m->u.market.effective_interval <= prev) {
			rc = PW_ERR_STATE;
			break;
		}
		prev = m->u.market.effective_interval;
		m->type = PW_MSG_MARKET;
		memcpy(m->u.market.name, last->name, PW_TOKEN_LEN);
		memcpy(m->u.market.currency, last->currency, PW_CURRENCY_LEN);
		m->u.market.interval_s = last->interval_s;
		m->u.market.gate_s = last->gate_s;
		m->u.market.grace_s = last->grace_s;
		m->u.market.max_ahead_s = last->max_ahead_s;
		rc = append(log, kp, x->market_id, m, &idx);
		if (rc == PW_OK)
			rc = xrules_market_push(x, &m->u.market, idx);
		count++;
	}
	if (rc == PW_OK && count > 0)
		rc = store_commit(s);
	else if (rc == PW_OK)
		store_rollback(s); /* nothing appended */
	if (rc != PW_OK) {
		rollback(s, log);
		x->n_markets = n_before;
		x->market = *last;
		x->market_idx = last_idx;
		log_warnx("market: cannot append the schedule's MARKET entries: %s",
		          pw_strerror(rc));
	} else if (n != NULL) {
		*n = count;
	}
	free(m);
	free(last);
	return rc;
}

/* 1 when entry `r` states household `h` as registered, field for field
 * (not memcmp: the struct has padding). */
static int
same_entry(const struct pw_registry *r, const struct household *h)
{
	struct pw_registry w;
	xrules_entry_of(h, r->time_s, 0, &w);
	return r->revoked == 0 && memcmp(r->household, w.household, PW_PK_LEN) == 0 &&
	       memcmp(r->id, w.id, PW_TOKEN_LEN) == 0 &&
	       memcmp(r->name, w.name, PW_TOKEN_LEN) == 0 &&
	       memcmp(r->serial, w.serial, PW_SERIAL_LEN) == 0 &&
	       memcmp(r->zone, w.zone, PW_TOKEN_LEN) == 0 && r->max_export_w == w.max_export_w &&
	       r->max_import_w == w.max_import_w;
}

pw_err
xrules_registry_plan(const struct xrules *x, const struct registry *file, uint64_t now_s,
                     struct xrules_change **out, size_t *n_out)
{
	size_t n = 0, cap = registry_count(file) + x->n_hh + 1;
	struct xrules_change *todo = calloc(cap, sizeof(*todo));

	*out = NULL;
	*n_out = 0;
	if (todo == NULL)
		return PW_ERR_NOMEM;
	for (size_t i = 0; i < registry_count(file); i++) {
		const struct household *h = registry_at(file, i);
		const struct xrules_hh *e = xrules_find(x, h->pk);
		if (e != NULL && same_entry(&e->r, h))
			continue;
		xrules_entry_of(h, now_s, 0, &todo[n].r);
		todo[n++].what = e == NULL ? "new" : e->r.revoked ? "registered again" : "changed";
	}
	for (size_t i = 0; i < x->n_hh; i++) {
		const struct pw_registry *r = &x->hh[i].r;
		if (r->revoked || registry_find_pk(file, r->household) != NULL)
			continue;
		todo[n].r = *r;
		todo[n].r.time_s = now_s;
		todo[n].r.revoked = 1;
		todo[n++].what = "revoked";
	}
	*out = todo;
	*n_out = n;
	return PW_OK;
}

/* ", NAME OLD -> NEW" for a text field that differs */
static void
put_field(char *out, size_t len, size_t *at, const char *name, const char *a, const char *b,
          size_t n)
{
	if (strncmp(a, b, n) == 0 || *at >= len)
		return;
	int w = snprintf(out + *at, len - *at, "%s%s %.*s -> %.*s", *at > 0 ? ", " : "", name,
	                 (int)strnlen(a, n), a, (int)strnlen(b, n), b);
	*at = w < 0 ? len : *at + (size_t)w;
}

static void
put_power(char *out, size_t len, size_t *at, const char *name, uint32_t a, uint32_t b)
{
	if (a == b || *at >= len)
		return;
	int w = snprintf(out + *at, len - *at, "%s%s %lu -> %lu", *at > 0 ? ", " : "", name,
	                 (unsigned long)a, (unsigned long)b);
	*at = w < 0 ? len : *at + (size_t)w;
}

void
xrules_change_text(const struct xrules *x, const struct xrules_change *ch, char *out, size_t len)
{
	const struct xrules_hh *e = xrules_find(x, ch->r.household);
	size_t at = 0;

	if (len == 0)
		return;
	out[0] = '\0';
	if (e == NULL || e->r.revoked || ch->r.revoked)
		return;
	put_field(out, len, &at, "id", e->r.id, ch->r.id, PW_TOKEN_LEN);
	put_field(out, len, &at, "name", e->r.name, ch->r.name, PW_TOKEN_LEN);
	put_field(out, len, &at, "serial", e->r.serial, ch->r.serial, PW_SERIAL_LEN);
	put_field(out, len, &at, "zone", e->r.zone, ch->r.zone, PW_TOKEN_LEN);
	put_power(out, len, &at, "max_export_w", e->r.max_export_w, ch->r.max_export_w);
	put_power(out, len, &at, "max_import_w", e->r.max_import_w, ch->r.max_import_w);
}

pw_err
xrules_sync_registry(struct xrules *x, struct store *s, struct mlog *log,
                     const struct pw_keypair *kp, const struct registry *file, uint64_t now_s,
                     size_t *appended)
{
	struct xrules_change *todo = NULL;
	uint64_t *idx = NULL;
	size_t n = 0;
	pw_err rc;

	*appended = 0;
	if ((rc = xrules_registry_plan(x, file, now_s, &todo, &n)) != PW_OK || n == 0)
		goto out;
	if ((idx = calloc(n, sizeof(*idx))) == NULL) {
		rc = PW_ERR_NOMEM;
		goto out;
	}
	if ((rc = store_begin(s)) != PW_OK)
		goto out;
	for (size_t i = 0; i < n && rc == PW_OK; i++) {
		struct pw_msg m;
		memset(&m, 0, sizeof(m));
		m.type = PW_MSG_REGISTRY;
		m.u.registry = todo[i].r;
		rc = append(log, kp, x->market_id, &m, &idx[i]);
	}
	if (rc == PW_OK)
		rc = store_commit(s);
	if (rc != PW_OK) {
		rollback(s, log);
		log_warnx("registry: cannot append %zu REGISTRY entries: %s", n, pw_strerror(rc));
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		char diff[256];
		xrules_change_text(x, &todo[i], diff, sizeof(diff));
		/* committed: x follows the log (hh_put only fails on memory) */
		if (hh_put(x, &todo[i].r, idx[i]) != PW_OK)
			fatalx("registry: out of memory");
		log_info(
		    "registry: household %.31s (%.31s) %s: REGISTRY entry at log index %llu%s%s%s",
		    todo[i].r.id, todo[i].r.name, todo[i].what, (unsigned long long)idx[i],
		    diff[0] ? " (" : "", diff, diff[0] ? ")" : "");
	}
	*appended = n;
out:
	free(todo);
	free(idx);
	return rc;
}

pw_err
xrules_registry(const struct xrules *x, struct registry **out)
{
	/* one registry-file line per registered household: the file format is
	 * the one parser (and its duplicate checks) a registry goes through */
	size_t line = 2 * PW_TOKEN_LEN + 2 * PW_PK_LEN + PW_SERIAL_LEN + PW_TOKEN_LEN + 40;
	char *text = malloc(x->n_hh * line + 1), *p = text;
	char hex[2 * PW_PK_LEN + 1], err[256];
	pw_err rc;

	if (text == NULL)
		return PW_ERR_NOMEM;
	*p = '\0';
	for (size_t i = 0; i < x->n_hh; i++) {
		const struct pw_registry *r = &x->hh[i].r;
		if (r->revoked)
			continue;
		pw_hex_encode(r->household, PW_PK_LEN, hex);
		p += snprintf(p, line, "%.31s %.31s %s %.32s %.31s %lu %lu\n", r->id, r->name, hex,
		              r->serial, r->zone, (unsigned long)r->max_export_w,
		              (unsigned long)r->max_import_w);
	}
	rc = registry_parse("the log's REGISTRY entries", text, out, err, sizeof(err));
	if (rc != PW_OK)
		log_warnx("%s", err);
	free(text);
	return rc;
}

/* The frame and index of the one row `st` selects (its columns idx, frame). */
static pw_err
find_row(sqlite3_stmt *st, uint64_t *idx, uint8_t *buf, size_t cap, size_t *len)
{
	pw_err rc = PW_ERR_NOTFOUND;
	int step = sqlite3_step(st);
	if (step == SQLITE_ROW) {
		size_t n = (size_t)sqlite3_column_bytes(st, 1);
		if (n > cap) {
			rc = PW_ERR_FULL;
		} else {
			memcpy(buf, sqlite3_column_blob(st, 1), n);
			*len = n;
			*idx = (uint64_t)sqlite3_column_int64(st, 0);
			rc = PW_OK;
		}
	} else if (step != SQLITE_DONE) {
		rc = PW_ERR_DB;
	}
	sqlite3_finalize(st);
	return rc;
}

pw_err
xrules_find_entry(sqlite3 *db, const uint8_t pk[PW_PK_LEN], uint64_t size, uint64_t *idx,
                  uint8_t *buf, size_t cap, size_t *len)
{
	sqlite3_stmt *st = NULL;

	if (size == 0 || size > INT64_MAX)
		return PW_ERR_NOTFOUND;
	/* the household key sits at frame offset 2 + 32 + 8 (SQL counts from 1) */
	if (sqlite3_prepare_v2(db,
	                       "SELECT idx, frame FROM log WHERE " RULES_TYPES
	                       " AND type = 25 AND idx < ?1 AND substr(frame, 43, 32) = ?2 "
	                       "ORDER BY idx DESC LIMIT 1",
	                       -1, &st, NULL) != SQLITE_OK)
		return PW_ERR_DB;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)size);
	sqlite3_bind_blob(st, 2, pk, PW_PK_LEN, SQLITE_STATIC);
	return find_row(st, idx, buf, cap, len);
}

pw_err
xrules_find_market(sqlite3 *db, uint64_t interval, uint64_t size, uint64_t *idx, uint8_t *buf,
                   size_t cap, size_t *len)
{
	sqlite3_stmt *st = NULL;
	uint8_t be[8];

	if (size == 0 || size > INT64_MAX)
		return PW_ERR_NOTFOUND;
	for (int i = 0; i < 8; i++)
		be[i] = (uint8_t)(interval >> (56 - 8 * i));
	/* effective_interval sits at frame offset 2 + 32 + 8, big-endian, so
	 * that SQLite's byte-wise BLOB order is the number's order; the latest
	 * entry effective by `interval` governs it, as xrules_market_at() */
	if (sqlite3_prepare_v2(db,
	                       "SELECT idx, frame FROM log WHERE " RULES_TYPES
	                       " AND type = 24 AND idx < ?1 AND substr(frame, 43, 8) <= ?2 "
	                       "ORDER BY idx DESC LIMIT 1",
	                       -1, &st, NULL) != SQLITE_OK)
		return PW_ERR_DB;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)size);
	sqlite3_bind_blob(st, 2, be, sizeof(be), SQLITE_STATIC);
	return find_row(st, idx, buf, cap, len);
}
