/*
 * xrules_cache.c: tables params, fees and households as caches of the
 * log's MARKET and REGISTRY entries (xrules.h, xrules_caches()): compared
 * with the log at every start and reload, rewritten from it when they
 * differ.  Called by exchange/main.c.
 */
#include "exchange/xrules.h"
#include "exchange/xrules_int.h"

#include <stdio.h>
#include <string.h>

#include "peerwatt/log.h"

/* --- the cache tables ----------------------------------------------------------- */

#define N_PARAMS 12

struct param_row {
	const char *key;
	int is_text;
	long long i;
	char t[2 * PW_PK_LEN + 1];
};

/* The params rows the log states, sorted by key. */
static void
expected_params(const struct xrules *x, struct param_row *p)
{
	const struct pw_market *mk = &x->market;
	size_t n = 0;
#define PI(k, v) p[n++] = (struct param_row){ .key = (k), .i = (long long)(v) }
	p[n] = (struct param_row){ .key = "currency", .is_text = 1 };
	memcpy(p[n++].t, mk->currency, PW_CURRENCY_LEN);
	p[n] = (struct param_row){ .key = "exchange_pk", .is_text = 1 };
	pw_hex_encode(x->exchange_pk, PW_PK_LEN, p[n++].t);
	PI("fee_default_uper_kwh", mk->fee_default_uper_kwh);
	PI("fee_same_zone_uper_kwh", mk->fee_same_zone_uper_kwh);
	PI("feedin_uper_kwh", mk->feedin_uper_kwh);
	PI("gate_s", mk->gate_s);
	PI("grace_s", mk->grace_s);
	PI("interval_s", mk->interval_s);
	PI("market_id", x->market_id);
	p[n] = (struct param_row){ .key = "market_name", .is_text = 1 };
	snprintf(p[n++].t, sizeof(p[0].t), "%.31s", mk->name);
	PI("max_ahead_s", mk->max_ahead_s);
	PI("retail_uper_kwh", mk->retail_uper_kwh);
#undef PI
}

static int
params_equal(sqlite3 *db, const struct param_row *p)
{
	sqlite3_stmt *st = NULL;
	size_t n = 0;
	int eq = 1;
	if (sqlite3_prepare_v2(db, "SELECT key, value FROM params ORDER BY key", -1, &st, NULL) !=
	    SQLITE_OK)
		return 0;
	while (eq && sqlite3_step(st) == SQLITE_ROW) {
		const char *k = (const char *)sqlite3_column_text(st, 0);
		if (n == N_PARAMS || k == NULL || strcmp(k, p[n].key) != 0)
			eq = 0;
		else if (p[n].is_text)
			eq = sqlite3_column_type(st, 1) == SQLITE_TEXT &&
			     strcmp((const char *)sqlite3_column_text(st, 1), p[n].t) == 0;
		else
			eq = sqlite3_column_type(st, 1) == SQLITE_INTEGER &&
			     sqlite3_column_int64(st, 1) == p[n].i;
		n++;
	}
	sqlite3_finalize(st);
	return eq && n == N_PARAMS;
}

/* The fees rows, normalized as a MARKET entry states them. */
static int
fees_equal(sqlite3 *db, const struct pw_market *mk)
{
	struct pw_market got;
	sqlite3_stmt *st = NULL;
	int eq = 1;

	memset(&got, 0, sizeof(got));
	got.fee_same_zone_uper_kwh = mk->fee_same_zone_uper_kwh;
	if (sqlite3_prepare_v2(db, "SELECT zone_a, zone_b, fee_uper_kwh FROM fees", -1, &st,
	                       NULL) != SQLITE_OK)
		return 0;
	while (eq && sqlite3_step(st) == SQLITE_ROW) {
		const char *a = (const char *)sqlite3_column_text(st, 0);
		const char *b = (const char *)sqlite3_column_text(st, 1);
		long long fee = sqlite3_column_int64(st, 2);
		if (a == NULL || b == NULL || !registry_token_ok(a, strlen(a)) ||
		    !registry_token_ok(b, strlen(b)) || fee < 0 || fee > U32_MAX_LL ||
		    xrules_add_fee(&got, a, b, (uint32_t)fee) != 0)
			eq = 0;
	}
	sqlite3_finalize(st);
	return eq && got.n_fees == mk->n_fees &&
	       memcmp(got.fees, mk->fees, (size_t)mk->n_fees * sizeof(mk->fees[0])) == 0;
}

static int
text_eq(sqlite3_stmt *st, int col, const char *field, size_t len)
{
	const char *t = (const char *)sqlite3_column_text(st, col);
	return t != NULL && strlen(t) == strnlen(field, len) && strncmp(t, field, len) == 0;
}

static int
households_equal(sqlite3 *db, const struct xrules *x)
{
	sqlite3_stmt *st = NULL;
	size_t n = 0;
	int eq = 1;
	if (sqlite3_prepare_v2(db,
	                       "SELECT pk, id, name, serial, zone, max_export_w, max_import_w, "
	                       "revoked FROM households ORDER BY pk",
	                       -1, &st, NULL) != SQLITE_OK)
		return 0;
	while (eq && sqlite3_step(st) == SQLITE_ROW) {
		const struct pw_registry *r = n < x->n_hh ? &x->hh[n].r : NULL;
		eq = r != NULL && sqlite3_column_bytes(st, 0) == PW_PK_LEN &&
		     memcmp(sqlite3_column_blob(st, 0), r->household, PW_PK_LEN) == 0 &&
		     text_eq(st, 1, r->id, PW_TOKEN_LEN) && text_eq(st, 2, r->name, PW_TOKEN_LEN) &&
		     text_eq(st, 3, r->serial, PW_SERIAL_LEN) &&
		     text_eq(st, 4, r->zone, PW_TOKEN_LEN) &&
		     sqlite3_column_int64(st, 5) == (long long)r->max_export_w &&
		     sqlite3_column_int64(st, 6) == (long long)r->max_import_w &&
		     sqlite3_column_int64(st, 7) == (long long)r->revoked;
		n++;
	}
	sqlite3_finalize(st);
	return eq && n == x->n_hh;
}

static pw_err
exec_bind(sqlite3 *db, const char *sql, sqlite3_stmt **st)
{
	return sqlite3_prepare_v2(db, sql, -1, st, NULL) == SQLITE_OK ? PW_OK : PW_ERR_DB;
}

static pw_err
step_done(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_DONE ? PW_OK : PW_ERR_DB;
}

static pw_err
write_params(sqlite3 *db, const struct param_row *p)
{
	sqlite3_stmt *st = NULL;
	pw_err rc;
	if (sqlite3_exec(db, "DELETE FROM params", NULL, NULL, NULL) != SQLITE_OK ||
	    exec_bind(db, "INSERT INTO params(key, value) VALUES (?1, ?2)", &st) != PW_OK)
		return PW_ERR_DB;
	rc = PW_OK;
	for (size_t i = 0; i < N_PARAMS && rc == PW_OK; i++) {
		sqlite3_bind_text(st, 1, p[i].key, -1, SQLITE_STATIC);
		if (p[i].is_text)
			sqlite3_bind_text(st, 2, p[i].t, -1, SQLITE_STATIC);
		else
			sqlite3_bind_int64(st, 2, p[i].i);
		rc = step_done(st);
	}
	sqlite3_finalize(st);
	return rc;
}

static pw_err
put_fee_row(sqlite3_stmt *st, const char *a, const char *b, uint32_t fee)
{
	sqlite3_bind_text(st, 1, a, (int)strnlen(a, PW_TOKEN_LEN), SQLITE_STATIC);
	sqlite3_bind_text(st, 2, b, (int)strnlen(b, PW_TOKEN_LEN), SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, fee);
	return step_done(st);
}

/* The explicit pairs, then (z, z) at the same-zone fee for every zone of
 * the registry without one: a reader's "pair in table, else default"
 * gives the exchange's figures. */
static pw_err
write_fees(sqlite3 *db, const struct xrules *x)
{
	const struct pw_market *mk = &x->market;
	sqlite3_stmt *st = NULL;
	pw_err rc = PW_OK;
	if (sqlite3_exec(db, "DELETE FROM fees", NULL, NULL, NULL) != SQLITE_OK ||
	    exec_bind(
	        db, "INSERT OR IGNORE INTO fees(zone_a, zone_b, fee_uper_kwh) VALUES (?1, ?2, ?3)",
	        &st) != PW_OK)
		return PW_ERR_DB;
	for (unsigned i = 0; i < mk->n_fees && rc == PW_OK; i++)
		rc = put_fee_row(st, mk->fees[i].zone_a, mk->fees[i].zone_b,
		                 mk->fees[i].fee_uper_kwh);
	for (size_t i = 0; i < x->n_hh && rc == PW_OK; i++)
		rc = put_fee_row(st, x->hh[i].r.zone, x->hh[i].r.zone, mk->fee_same_zone_uper_kwh);
	sqlite3_finalize(st);
	return rc;
}

static pw_err
write_households(sqlite3 *db, const struct xrules *x)
{
	sqlite3_stmt *st = NULL;
	pw_err rc = PW_OK;
	if (sqlite3_exec(db, "DELETE FROM households", NULL, NULL, NULL) != SQLITE_OK ||
	    exec_bind(db,
	              "INSERT INTO households(pk, id, name, serial, zone, max_export_w, "
	              "max_import_w, revoked) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
	              &st) != PW_OK)
		return PW_ERR_DB;
	for (size_t i = 0; i < x->n_hh && rc == PW_OK; i++) {
		const struct pw_registry *r = &x->hh[i].r;
		sqlite3_bind_blob(st, 1, r->household, PW_PK_LEN, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, r->id, (int)strnlen(r->id, PW_TOKEN_LEN), SQLITE_STATIC);
		sqlite3_bind_text(st, 3, r->name, (int)strnlen(r->name, PW_TOKEN_LEN),
		                  SQLITE_STATIC);
		sqlite3_bind_text(st, 4, r->serial, (int)strnlen(r->serial, PW_SERIAL_LEN),
		                  SQLITE_STATIC);
		sqlite3_bind_text(st, 5, r->zone, (int)strnlen(r->zone, PW_TOKEN_LEN),
		                  SQLITE_STATIC);
		sqlite3_bind_int64(st, 6, r->max_export_w);
		sqlite3_bind_int64(st, 7, r->max_import_w);
		sqlite3_bind_int64(st, 8, r->revoked);
		rc = step_done(st);
	}
	sqlite3_finalize(st);
	return rc;
}

pw_err
xrules_caches(const struct xrules *x, struct store *s, int warn, int *rebuilt)
{
	sqlite3 *db = store_db(s);
	struct param_row p[N_PARAMS];
	int diff = 0;
	pw_err rc;

	if (rebuilt != NULL)
		*rebuilt = 0;
	expected_params(x, p);
	if (!params_equal(db, p))
		diff |= 1;
	if (!fees_equal(db, &x->market))
		diff |= 2;
	if (!households_equal(db, x))
		diff |= 4;
	if (diff == 0)
		return PW_OK;
	if ((rc = store_begin(s)) != PW_OK)
		return rc;
	if (((diff & 1) && (rc = write_params(db, p)) != PW_OK) ||
	    ((diff & 2) && (rc = write_fees(db, x)) != PW_OK) ||
	    ((diff & 4) && (rc = write_households(db, x)) != PW_OK) ||
	    (rc = store_commit(s)) != PW_OK) {
		store_rollback(s);
		log_warnx("cannot rewrite tables params, fees and households from the log: %s",
		          sqlite3_errmsg(db));
		return rc;
	}
	if (warn) {
		char names[64] = "";
		static const char *const tn[] = { "params", "fees", "households" };
		for (int i = 0; i < 3; i++)
			if (diff & (1 << i))
				snprintf(names + strlen(names), sizeof(names) - strlen(names),
				         "%s%s", names[0] ? ", " : "", tn[i]);
		log_warnx("table%s %s differed from the log's MARKET and REGISTRY entries (edited "
		          "behind the log?): rebuilt from the log",
		          (diff & (diff - 1)) ? "s" : "", names);
	}
	if (rebuilt != NULL)
		*rebuilt = diff;
	return PW_OK;
}
