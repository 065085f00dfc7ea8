/*
 * exchange/xcheck.c: --check-config (xcheck.h).
 */
#include "exchange/xcheck.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "exchange/mlog.h"
#include "exchange/schedule.h"
#include "exchange/store.h"
#include "exchange/xrules.h"
#include "exchange/xsched.h"

/* "interval N (YYYY-MM-DDTHH:MM:SSZ)" */
static void
put_interval(FILE *out, uint64_t iv, uint64_t interval_s)
{
	char when[32] = "?";
	time_t t = (time_t)(iv * interval_s);
	struct tm tm;
	if (iv <= UINT64_MAX / interval_s && gmtime_r(&t, &tm) != NULL)
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	fprintf(out, "interval %llu (%s)", (unsigned long long)iv, when);
}

/* The schedule files parse (also without a database to compare with). */
static pw_err
files_parse(const struct xconfig *c, char *err, size_t errlen)
{
	struct schedule ts = { 0 };
	struct fee_schedule fs = { 0 };
	pw_err rc = PW_OK;

	if (c->tariff_path[0] != '\0')
		rc = schedule_load(c->tariff_path, (uint32_t)c->interval_s, &ts, err, errlen);
	if (rc == PW_OK && c->fee_path[0] != '\0')
		rc = fee_schedule_load(c->fee_path, (uint32_t)c->interval_s, &fs, err, errlen);
	schedule_free(&ts);
	fee_schedule_free(&fs);
	return rc;
}

/* entries in the log: the index after the last */
static uint64_t
log_size(struct store *st)
{
	sqlite3_stmt *q = NULL;
	uint64_t n = 0;
	if (sqlite3_prepare_v2(store_db(st), "SELECT coalesce(max(idx) + 1, 0) FROM log", -1, &q,
	                       NULL) == SQLITE_OK &&
	    sqlite3_step(q) == SQLITE_ROW && sqlite3_column_int64(q, 0) > 0)
		n = (uint64_t)sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	return n;
}

/* What a start or SIGHUP would append, one line each. */
static void
put_plan(FILE *out, const struct xconfig *c, const struct xrules *x, const struct xsched_plan *mp,
         const struct xrules_change *ch, size_t n_ch)
{
	uint64_t L = x->market.interval_s;
	if (mp->n == 0 && n_ch == 0) {
		fprintf(out, "  a start or SIGHUP now appends nothing: the log states this "
		             "configuration and registry\n");
		return;
	}
	fprintf(out, "  a start or SIGHUP now appends %zu %s:\n", mp->n + n_ch,
	        mp->n + n_ch == 1 ? "entry" : "entries");
	if (mp->n > 0 && c->tariff_path[0] == '\0' && c->fee_path[0] == '\0') {
		fprintf(out, "    MARKET: the changed tariffs and fees, effective from ");
		put_interval(out, mp->first, L);
		fprintf(out, " on; the intervals before keep the logged ones\n");
	} else if (mp->n > 0) {
		fprintf(out, "    MARKET: %zu %s of the schedule, effective from ", mp->n,
		        mp->n == 1 ? "entry" : "entries");
		put_interval(out, mp->first, L);
		fprintf(out, " to ");
		put_interval(out, mp->last, L);
		fprintf(out, "\n");
	}
	for (size_t i = 0; i < n_ch; i++) {
		char diff[256];
		xrules_change_text(x, &ch[i], diff, sizeof(diff));
		fprintf(out, "    REGISTRY: household %.31s (%.31s) %s%s%s%s\n", ch[i].r.id,
		        ch[i].r.name, ch[i].what, diff[0] ? " (" : "", diff, diff[0] ? ")" : "");
	}
}

pw_err
xcheck_run(const char *cfg_path, const struct xconfig *c, const struct pw_keypair *kp,
           const struct registry *file, uint64_t now_s, FILE *out, FILE *errf)
{
	char err[1024];
	struct store *st = NULL;
	struct xrules x;
	struct xsched_plan mp;
	struct xrules_change *ch = NULL;
	size_t n_ch = 0;
	struct mlog *ml = NULL;
	uint64_t signed_below = 0, size;
	pw_err rc;

	if ((rc = files_parse(c, err, sizeof(err))) != PW_OK) {
		fprintf(errf, "peerwatt-exchange: %s\n", err);
		return rc == PW_ERR_NOMEM ? rc : PW_ERR_CONFIG;
	}
	fprintf(out, "%s: configuration ok, %zu households\n", cfg_path, registry_count(file));
	rc = store_open_read(c->db_path, &st);
	if (rc == PW_ERR_NOTFOUND) {
		fprintf(out,
		        "%s: no database yet: a start creates it with this market and "
		        "registry\n",
		        c->db_path);
		return PW_OK;
	}
	if (rc == PW_ERR_STATE) {
		fprintf(out,
		        "%s: not made by this version (tables missing or of an earlier "
		        "version): a start upgrades it; not compared\n",
		        c->db_path);
		return PW_OK;
	}
	if (rc != PW_OK) {
		fprintf(errf, "peerwatt-exchange: cannot read the database %s\n", c->db_path);
		return PW_ERR_DB;
	}
	size = log_size(st);
	memset(&x, 0, sizeof(x));
	x.market_id = (uint64_t)c->market_id;
	memcpy(x.exchange_pk, kp->pk, PW_PK_LEN);
	/* the log's leaves against its frames and the signed checkpoint, as
	 * at start: the rules entries it covers need no signature check.  That
	 * pass reads every entry (~3 us each), a signature check ~60 us: it is
	 * taken only where the rules are more than a twentieth of the log (a
	 * tariff schedule), not for a year of orders under fixed tariffs */
	if (xrules_entry_count(store_db(st)) * 20 > size && mlog_open(&ml, store_db(st)) == PW_OK)
		signed_below = mlog_signed_size(ml, x.market_id, kp->pk);
	rc = xrules_read(&x, store_db(st), signed_below, err, sizeof(err));
	if (rc == PW_ERR_NOTFOUND) {
		fprintf(out,
		        "%s: a log without MARKET entries (new, or of an earlier version): a "
		        "start writes them; not compared\n",
		        c->db_path);
		rc = PW_OK;
		goto out;
	}
	if (rc != PW_OK) {
		fprintf(errf, "peerwatt-exchange: %s: %s\n", c->db_path, err);
		goto out;
	}
	if ((rc = xrules_check_config(&x, c, err, sizeof(err))) != PW_OK) {
		fprintf(errf,
		        "peerwatt-exchange: %s: %s (the log's rules govern the database %s)\n",
		        cfg_path, err, c->db_path);
		goto out;
	}
	if ((rc = xsched_plan(&x, st, c, now_s, &mp, err, sizeof(err))) != PW_OK) {
		fprintf(errf, "peerwatt-exchange: %s (the log of %s)\n", err, c->db_path);
		goto out;
	}
	if ((rc = xrules_registry_plan(&x, file, now_s, &ch, &n_ch)) != PW_OK) {
		fprintf(errf, "peerwatt-exchange: %s\n", pw_strerror(rc));
		goto out;
	}
	fprintf(out,
	        "%s: log of %llu entries, market '%.31s' (id %llu), %u s intervals: its "
	        "rules agree with the configuration\n",
	        c->db_path, (unsigned long long)size, x.market.name,
	        (unsigned long long)x.market_id, (unsigned)x.market.interval_s);
	put_plan(out, c, &x, &mp, ch, n_ch);
out:
	free(ch);
	xrules_free(&x);
	mlog_close(&ml);
	store_close(&st);
	return rc;
}
