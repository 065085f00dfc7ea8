/*
 * audit_export.c: CSV export of the log (see audit/audit_export.h).
 */
#include "audit/audit_export.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "peerwatt/keys.h"
#include "peerwatt/money.h"
#include "peerwatt/wire.h"

#define EXPORT_MAX_HOUSEHOLDS 100000

struct total {
	uint8_t pk[PW_PK_LEN];
	uint64_t idx; /* log index of its REGISTRY entry (0: from table households) */
	char *id, *name, *zone;
	uint64_t statements, bought_wh, sold_wh, export_wh, import_wh;
	int64_t peer_u, grid_u, fee_u, net_u, baseline_u, saving_u;
};

struct exp {
	sqlite3 *db;
	int64_t interval_s; /* 0: unknown (no interval times) */
	char cur[8];
	FILE *trades, *readings, *statements, *cosigns;
	struct total *tot;
	size_t n_tot;
	char *err;
	size_t cap;
};

static int
tot_cmp(const void *a, const void *b)
{
	return memcmp(((const struct total *)a)->pk, ((const struct total *)b)->pk, PW_PK_LEN);
}

/* A text field, always quoted, quotes doubled (RFC 4180). */
static void
csv_text(FILE *fp, const char *s, size_t max)
{
	fputc('"', fp);
	for (size_t i = 0; i < max && s[i] != '\0'; i++) {
		if (s[i] == '"')
			fputc('"', fp);
		fputc(s[i], fp);
	}
	fputc('"', fp);
}

static void
csv_money(FILE *fp, int64_t u)
{
	char buf[32];
	pw_money_format(u, buf, sizeof(buf));
	fputs(buf, fp);
}

static void
csv_pk(FILE *fp, const uint8_t pk[PW_PK_LEN])
{
	char hex[2 * PW_PK_LEN + 1];
	pw_hex_encode(pk, PW_PK_LEN, hex);
	fputs(hex, fp);
}

static const struct total *
tot_find(const struct exp *e, const uint8_t pk[PW_PK_LEN])
{
	struct total key = { 0 };
	memcpy(key.pk, pk, PW_PK_LEN);
	return bsearch(&key, e->tot, e->n_tot, sizeof(*e->tot), tot_cmp);
}

/* ,"name" of a household ("" when not registered) */
static void
csv_name(const struct exp *e, FILE *fp, const uint8_t pk[PW_PK_LEN])
{
	const struct total *t = tot_find(e, pk);
	fputc(',', fp);
	csv_text(fp, t ? (t->name[0] ? t->name : t->id) : "", SIZE_MAX);
}

/* ,START,END of an interval in ISO 8601 UTC (empty when unknown) */
static void
csv_times(const struct exp *e, FILE *fp, uint64_t interval)
{
	char a[32] = "", b[32] = "";
	if (e->interval_s > 0 && interval < (uint64_t)(INT64_MAX / e->interval_s) - 1) {
		time_t t0 = (time_t)((int64_t)interval * e->interval_s), t1 = t0 + e->interval_s;
		struct tm tm;
		if (gmtime_r(&t0, &tm) == NULL ||
		    strftime(a, sizeof(a), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
			a[0] = '\0';
		if (gmtime_r(&t1, &tm) == NULL ||
		    strftime(b, sizeof(b), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
			b[0] = '\0';
	}
	fprintf(fp, ",%s,%s", a, b);
}

static void
params(struct exp *e)
{
	sqlite3_stmt *st = NULL;
	snprintf(e->cur, sizeof(e->cur), "EUR");
	if (sqlite3_prepare_v2(e->db, "SELECT key, value FROM params", -1, &st, NULL) != SQLITE_OK)
		return;
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *k = (const char *)sqlite3_column_text(st, 0);
		const char *v = (const char *)sqlite3_column_text(st, 1);
		if (k != NULL && strcmp(k, "interval_s") == 0) {
			sqlite3_int64 l = sqlite3_column_int64(st, 1);
			e->interval_s = l > 0 && l <= 86400 ? l : 0;
		} else if (k != NULL && v != NULL && strcmp(k, "currency") == 0 && strlen(v) == 3 &&
		           strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") == 3) {
			snprintf(e->cur, sizeof(e->cur), "%s", v);
		}
	}
	sqlite3_finalize(st);
}

static FILE *
open_csv(struct exp *e, const char *dir, const char *name, const char *header)
{
	char path[4096];
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path)) {
		snprintf(e->err, e->cap, "%s/%s: path too long", dir, name);
		return NULL;
	}
	FILE *fp = fopen(path, "w");
	if (fp == NULL) {
		snprintf(e->err, e->cap, "%s: %s", path, strerror(errno));
		return NULL;
	}
	fputs(header, fp);
	return fp;
}

static int
add64(uint64_t *acc, uint64_t v)
{
	if (*acc > UINT64_MAX - v)
		return 0;
	*acc += v;
	return 1;
}

static pw_err
on_statement(struct exp *e, uint64_t idx, const struct pw_statement *s)
{
	FILE *fp = e->statements;
	fprintf(fp, "%llu,", (unsigned long long)idx);
	csv_pk(fp, s->household);
	fprintf(fp, ",%llu,%u,%d,%llu,%llu,%llu,%llu,%llu,%llu,%llu,%llu,",
	        (unsigned long long)s->interval, s->flags, s->price_uper_kwh,
	        (unsigned long long)s->bought_wh, (unsigned long long)s->sold_wh,
	        (unsigned long long)s->export_wh, (unsigned long long)s->import_wh,
	        (unsigned long long)s->shortfall_wh, (unsigned long long)s->excess_wh,
	        (unsigned long long)s->extra_import_wh, (unsigned long long)s->unused_wh);
	const int64_t m[] = {
		s->peer_u, s->grid_u, s->fee_u, s->net_u, s->baseline_u, s->saving_u
	};
	for (size_t i = 0; i < 6; i++) {
		csv_money(fp, m[i]);
		fputc(',', fp);
	}
	fputs(e->cur, fp);
	csv_name(e, fp, s->household);
	csv_times(e, fp, s->interval);
	fputc(',', fp);
	csv_money(fp, s->price_uper_kwh);
	fprintf(fp, ",%s\n",
	        (s->flags & PW_STMT_READING_MISSING) ? "reading missing"
	        : (s->flags & PW_STMT_READING_LATE)  ? "reading late"
	                                             : "");
	struct total key = { 0 }, *t;
	memcpy(key.pk, s->household, PW_PK_LEN);
	t = bsearch(&key, e->tot, e->n_tot, sizeof(*e->tot), tot_cmp);
	if (t == NULL)
		return PW_OK; /* not registered: listed in statements.csv only */
	t->statements++;
	if (!add64(&t->bought_wh, s->bought_wh) || !add64(&t->sold_wh, s->sold_wh) ||
	    !add64(&t->export_wh, s->export_wh) || !add64(&t->import_wh, s->import_wh) ||
	    pw_money_add(t->peer_u, s->peer_u, &t->peer_u) != PW_OK ||
	    pw_money_add(t->grid_u, s->grid_u, &t->grid_u) != PW_OK ||
	    pw_money_add(t->fee_u, s->fee_u, &t->fee_u) != PW_OK ||
	    pw_money_add(t->net_u, s->net_u, &t->net_u) != PW_OK ||
	    pw_money_add(t->baseline_u, s->baseline_u, &t->baseline_u) != PW_OK ||
	    pw_money_add(t->saving_u, s->saving_u, &t->saving_u) != PW_OK) {
		snprintf(e->err, e->cap, "entry %llu: totals overflow", (unsigned long long)idx);
		return PW_ERR_OVERFLOW;
	}
	return PW_OK;
}

static pw_err
on_result(struct exp *e, const struct pw_result *r)
{
	for (uint16_t i = 0; i < r->n_trades; i++) {
		struct pw_trade t;
		int64_t amount_u;
		if (pw_wire_result_trade(r, i, &t) != PW_OK ||
		    pw_money_amount(t.qty_wh, r->price_uper_kwh, &amount_u) != PW_OK)
			return PW_ERR_CORRUPT;
		fprintf(e->trades, "%llu,%u,", (unsigned long long)r->interval,
		        (unsigned)(r->part * PW_RESULT_MAX_TRADES + i));
		csv_pk(e->trades, t.buyer);
		fputc(',', e->trades);
		csv_pk(e->trades, t.seller);
		fprintf(e->trades, ",%llu,%llu,%u,%d,", (unsigned long long)t.buy_seq,
		        (unsigned long long)t.sell_seq, t.qty_wh, r->price_uper_kwh);
		csv_money(e->trades, amount_u);
		fprintf(e->trades, ",%s", e->cur);
		csv_name(e, e->trades, t.buyer);
		csv_name(e, e->trades, t.seller);
		csv_times(e, e->trades, r->interval);
		fputc(',', e->trades);
		csv_money(e->trades, r->price_uper_kwh);
		fputc('\n', e->trades);
	}
	return PW_OK;
}

static void
on_meter(struct exp *e, uint64_t idx, const uint8_t author[PW_PK_LEN], const struct pw_meter *m)
{
	FILE *fp = e->readings;
	fprintf(fp, "%llu,", (unsigned long long)idx);
	csv_pk(fp, author);
	fprintf(fp, ",%llu,%llu,", (unsigned long long)m->interval, (unsigned long long)m->seq);
	csv_text(fp, m->serial, PW_SERIAL_LEN);
	fprintf(fp, ",%llu,%llu,%llu,%llu,%llu,%llu,%u", (unsigned long long)m->export_start_wh,
	        (unsigned long long)m->export_end_wh, (unsigned long long)m->import_start_wh,
	        (unsigned long long)m->import_end_wh,
	        (unsigned long long)(m->export_end_wh - m->export_start_wh),
	        (unsigned long long)(m->import_end_wh - m->import_start_wh), m->time_status);
	csv_name(e, fp, author);
	csv_times(e, fp, m->interval);
	fprintf(fp, ",%s\n",
	        m->time_status == PW_TIME_SYNCED     ? "clock synchronised"
	        : m->time_status == PW_TIME_UNSYNCED ? "clock not synchronised"
	                                             : "registers estimated");
}

/* One COSIGN entry: who witnessed which checkpoint (docs/audit.md). */
static void
on_cosign(struct exp *e, uint64_t idx, const uint8_t author[PW_PK_LEN], const struct pw_cosign *c)
{
	FILE *fp = e->cosigns;
	char root[2 * PW_HASH_LEN + 1], t[32] = "";
	time_t ts = c->time_s > (uint64_t)INT32_MAX * 4 ? 0 : (time_t)c->time_s;
	struct tm tm;
	pw_hex_encode(c->root, PW_HASH_LEN, root);
	if (ts == 0 || gmtime_r(&ts, &tm) == NULL ||
	    strftime(t, sizeof(t), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		t[0] = '\0';
	fprintf(fp, "%llu,", (unsigned long long)idx);
	csv_pk(fp, author);
	fprintf(fp, ",%llu,%s,%llu", (unsigned long long)c->tree_size, root,
	        (unsigned long long)c->time_s);
	csv_name(e, fp, author);
	fprintf(fp, ",%s\n", t);
}

static pw_err
load_households(struct exp *e)
{
	sqlite3_stmt *st = NULL;
	size_t cap = 0;

	if (sqlite3_prepare_v2(e->db, "SELECT pk, id, name, zone FROM households", -1, &st, NULL) !=
	    SQLITE_OK) {
		snprintf(e->err, e->cap, "no table households: %s", sqlite3_errmsg(e->db));
		return PW_ERR_CORRUPT;
	}
	while (sqlite3_step(st) == SQLITE_ROW) {
		const void *pk = sqlite3_column_blob(st, 0);
		const char *txt[3];
		for (int k = 0; k < 3; k++)
			txt[k] = (const char *)sqlite3_column_text(st, k + 1);
		if (pk == NULL || sqlite3_column_bytes(st, 0) != PW_PK_LEN)
			continue;
		if (e->n_tot == EXPORT_MAX_HOUSEHOLDS)
			break;
		if (e->n_tot == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			struct total *nt = realloc(e->tot, ncap * sizeof(*nt));
			if (nt == NULL) {
				sqlite3_finalize(st);
				return PW_ERR_NOMEM;
			}
			e->tot = nt;
			cap = ncap;
		}
		struct total *t = &e->tot[e->n_tot++];
		memset(t, 0, sizeof(*t));
		memcpy(t->pk, pk, PW_PK_LEN);
		t->id = strdup(txt[0] ? txt[0] : "");
		t->name = strdup(txt[1] ? txt[1] : "");
		t->zone = strdup(txt[2] ? txt[2] : "");
		if (t->id == NULL || t->name == NULL || t->zone == NULL) {
			sqlite3_finalize(st);
			return PW_ERR_NOMEM;
		}
	}
	sqlite3_finalize(st);
	qsort(e->tot, e->n_tot, sizeof(*e->tot), tot_cmp);
	return PW_OK;
}

static int
tot_idx_cmp(const void *a, const void *b)
{
	const struct total *x = a, *y = b;
	int c = memcmp(x->pk, y->pk, PW_PK_LEN);
	return c != 0 ? c : x->idx < y->idx ? -1 : x->idx > y->idx;
}

static char *
dup_text(const char *field, size_t len)
{
	size_t n = 0;
	while (n < len && field[n] != '\0')
		n++;
	return strndup(field, n);
}

/* The names and zones of the REGISTRY entries (the latest of each key) and
 * the interval and currency of the first MARKET entry; 0 when the log holds
 * no MARKET entry (an old-format database: the tables are all there is). */
static pw_err
from_log(struct exp *e, int *found)
{
	sqlite3_stmt *st = NULL;
	size_t cap = 0;
	pw_err rc = PW_OK;

	*found = 0;
	if (sqlite3_prepare_v2(e->db,
	                       "SELECT idx, frame FROM log WHERE type IN (24, 25) ORDER BY idx", -1,
	                       &st, NULL) != SQLITE_OK)
		return PW_OK;
	while (rc == PW_OK && sqlite3_step(st) == SQLITE_ROW) {
		const uint8_t *f = sqlite3_column_blob(st, 1);
		int n = sqlite3_column_bytes(st, 1);
		struct pw_msg m;
		if (f == NULL || n <= 0 || pw_wire_decode_stored(f, (size_t)n, &m) != PW_OK)
			continue;
		if (m.type == PW_MSG_MARKET) {
			if (!*found) {
				e->interval_s = m.u.market.interval_s;
				memcpy(e->cur, m.u.market.currency, PW_CURRENCY_LEN);
				e->cur[PW_CURRENCY_LEN] = '\0';
			}
			*found = 1;
			continue;
		}
		if (m.type != PW_MSG_REGISTRY || e->n_tot == EXPORT_MAX_HOUSEHOLDS)
			continue;
		if (e->n_tot == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			struct total *nt = realloc(e->tot, ncap * sizeof(*nt));
			if (nt == NULL) {
				rc = PW_ERR_NOMEM;
				break;
			}
			e->tot = nt;
			cap = ncap;
		}
		struct total *t = &e->tot[e->n_tot++];
		memset(t, 0, sizeof(*t));
		memcpy(t->pk, m.u.registry.household, PW_PK_LEN);
		t->idx = (uint64_t)sqlite3_column_int64(st, 0);
		t->id = dup_text(m.u.registry.id, PW_TOKEN_LEN);
		t->name = dup_text(m.u.registry.name, PW_TOKEN_LEN);
		t->zone = dup_text(m.u.registry.zone, PW_TOKEN_LEN);
		if (t->id == NULL || t->name == NULL || t->zone == NULL)
			rc = PW_ERR_NOMEM;
	}
	sqlite3_finalize(st);
	if (rc != PW_OK)
		return rc;
	/* the latest entry of each key */
	qsort(e->tot, e->n_tot, sizeof(*e->tot), tot_idx_cmp);
	size_t k = 0;
	for (size_t i = 0; i < e->n_tot; i++) {
		if (i + 1 < e->n_tot && memcmp(e->tot[i].pk, e->tot[i + 1].pk, PW_PK_LEN) == 0) {
			free(e->tot[i].id);
			free(e->tot[i].name);
			free(e->tot[i].zone);
			continue;
		}
		e->tot[k++] = e->tot[i];
	}
	e->n_tot = k;
	return PW_OK;
}

static pw_err
write_households(struct exp *e, const char *dir)
{
	FILE *fp = open_csv(e, dir, "households.csv",
	                    "household,id,name,zone,statements,bought_wh,sold_wh,export_wh,"
	                    "import_wh,peer,grid,fee,net,baseline,saving,currency\n");
	if (fp == NULL)
		return PW_ERR_IO;
	for (size_t i = 0; i < e->n_tot; i++) {
		const struct total *t = &e->tot[i];
		csv_pk(fp, t->pk);
		fputc(',', fp);
		csv_text(fp, t->id, SIZE_MAX);
		fputc(',', fp);
		csv_text(fp, t->name, SIZE_MAX);
		fputc(',', fp);
		csv_text(fp, t->zone, SIZE_MAX);
		fprintf(fp, ",%llu,%llu,%llu,%llu,%llu,", (unsigned long long)t->statements,
		        (unsigned long long)t->bought_wh, (unsigned long long)t->sold_wh,
		        (unsigned long long)t->export_wh, (unsigned long long)t->import_wh);
		const int64_t m[] = { t->peer_u, t->grid_u,     t->fee_u,
			              t->net_u,  t->baseline_u, t->saving_u };
		for (size_t k = 0; k < 6; k++) {
			csv_money(fp, m[k]);
			fputc(',', fp);
		}
		fprintf(fp, "%s\n", e->cur);
	}
	if (fclose(fp) != 0) {
		snprintf(e->err, e->cap, "households.csv: %s", strerror(errno));
		return PW_ERR_IO;
	}
	return PW_OK;
}

static pw_err
close_csv(struct exp *e, FILE **fp, const char *name)
{
	if (*fp == NULL)
		return PW_OK;
	int bad = ferror(*fp) | fclose(*fp);
	*fp = NULL;
	if (bad) {
		snprintf(e->err, e->cap, "%s: write error", name);
		return PW_ERR_IO;
	}
	return PW_OK;
}

pw_err
audit_export_csv(sqlite3 *db, const char *dir, char *err, size_t cap)
{
	struct exp e = { .db = db, .err = err, .cap = cap };
	sqlite3_stmt *st = NULL;
	pw_err rc;

	if (db == NULL || dir == NULL || err == NULL || cap == 0)
		return PW_ERR_ARG;
	err[0] = '\0';
	if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
		snprintf(err, cap, "%s: %s", dir, strerror(errno));
		return PW_ERR_IO;
	}
	int logged = 0;
	snprintf(e.cur, sizeof(e.cur), "EUR");
	if ((rc = from_log(&e, &logged)) != PW_OK)
		goto out;
	if (!logged) { /* an old-format database: its tables */
		if ((rc = load_households(&e)) != PW_OK)
			goto out;
		params(&e);
	}
	e.trades = open_csv(&e, dir, "trades.csv",
	                    "interval,n,buyer,seller,buy_seq,sell_seq,qty_wh,price_uper_kwh,amount,"
	                    "currency,buyer_name,seller_name,interval_start,interval_end,"
	                    "price_per_kwh\n");
	e.readings = open_csv(&e, dir, "readings.csv",
	                      "log_index,household,interval,seq,serial,export_start_wh,"
	                      "export_end_wh,import_start_wh,import_end_wh,export_wh,import_wh,"
	                      "time_status,household_name,interval_start,interval_end,"
	                      "time_status_text\n");
	e.statements = open_csv(&e, dir, "statements.csv",
	                        "log_index,household,interval,flags,price_uper_kwh,bought_wh,"
	                        "sold_wh,export_wh,import_wh,shortfall_wh,excess_wh,"
	                        "extra_import_wh,unused_wh,peer,grid,fee,net,baseline,saving,"
	                        "currency,household_name,interval_start,interval_end,"
	                        "price_per_kwh,flags_text\n");
	e.cosigns = open_csv(&e, dir, "cosignatures.csv",
	                     "log_index,household,tree_size,root,time_s,household_name,"
	                     "checkpoint_time\n");
	if (e.trades == NULL || e.readings == NULL || e.statements == NULL || e.cosigns == NULL) {
		rc = PW_ERR_IO;
		goto out;
	}
	if (sqlite3_prepare_v2(
	        db, "SELECT idx, frame FROM log WHERE type IN (3, 5, 18, 19) ORDER BY idx", -1, &st,
	        NULL) != SQLITE_OK) {
		snprintf(err, cap, "no table log: %s", sqlite3_errmsg(db));
		rc = PW_ERR_CORRUPT;
		goto out;
	}
	while (sqlite3_step(st) == SQLITE_ROW) {
		uint64_t idx = (uint64_t)sqlite3_column_int64(st, 0);
		const uint8_t *frame = sqlite3_column_blob(st, 1);
		int n = sqlite3_column_bytes(st, 1);
		struct pw_msg m;
		if (frame == NULL || n <= 0 ||
		    pw_wire_decode_stored(frame, (size_t)n, &m) != PW_OK) {
			snprintf(err, cap, "entry %llu does not decode", (unsigned long long)idx);
			rc = PW_ERR_CORRUPT;
			goto out;
		}
		if (m.type == PW_MSG_METER)
			on_meter(&e, idx, m.author, &m.u.meter);
		else if (m.type == PW_MSG_RESULT)
			rc = on_result(&e, &m.u.result);
		else if (m.type == PW_MSG_STATEMENT)
			rc = on_statement(&e, idx, &m.u.statement);
		else if (m.type == PW_MSG_COSIGN)
			on_cosign(&e, idx, m.author, &m.u.cosign);
		if (rc != PW_OK) {
			if (err[0] == '\0')
				snprintf(err, cap, "entry %llu: %s", (unsigned long long)idx,
				         pw_strerror(rc));
			goto out;
		}
	}
	if ((rc = close_csv(&e, &e.trades, "trades.csv")) != PW_OK ||
	    (rc = close_csv(&e, &e.readings, "readings.csv")) != PW_OK ||
	    (rc = close_csv(&e, &e.statements, "statements.csv")) != PW_OK ||
	    (rc = close_csv(&e, &e.cosigns, "cosignatures.csv")) != PW_OK)
		goto out;
	rc = write_households(&e, dir);
out:
	sqlite3_finalize(st);
	if (e.trades)
		fclose(e.trades);
	if (e.readings)
		fclose(e.readings);
	if (e.statements)
		fclose(e.statements);
	if (e.cosigns)
		fclose(e.cosigns);
	for (size_t i = 0; i < e.n_tot; i++) {
		free(e.tot[i].id);
		free(e.tot[i].name);
		free(e.tot[i].zone);
	}
	free(e.tot);
	return rc;
}
