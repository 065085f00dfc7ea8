/*
 * main.c: peerwatt-audit, the auditor's program (docs/audit.md).
 *
 *     peerwatt-audit verify DB [--json] [--exchange-key HEX|FILE]
 *                              [--checkpoints FILE...] [--agent AGENT_DB...]
 *                              [--witnesses K]
 *     peerwatt-audit export DB --csv DIR
 *
 * Setup and output only: the checks live in audit/audit_verify.c, the
 * CSV export in audit/audit_export.c.  The database is opened
 * read-only.  Exit status (sysexits): 0 verified / exported, 1 verification
 * failed, 64 usage, 66 database or checkpoint file cannot be opened,
 * 70 internal error, 73 cannot create the export.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <jansson.h>
#include <sodium.h>
#include <sqlite3.h>

#include "audit/audit_export.h"
#include "audit/audit_verify.h"
#include "peerwatt/cli.h"
#include "peerwatt/config.h"
#include "peerwatt/log.h"
#include "peerwatt/money.h"

#define EX_FAILED            1
#define EX_USAGE             64
#define EX_NOINPUT           66
#define EX_SOFTWARE          70
#define EX_CANTCREAT         73
#define MAX_CHECKPOINT_FILES 1024
#define MAX_AGENT_DBS        1024

static void
usage(FILE *fp)
{
	fprintf(fp, "usage: peerwatt-audit verify DB [--json] [--exchange-key HEX|FILE]\n"
	            "                             [--checkpoints FILE...] [--agent AGENT_DB...]\n"
	            "                             [--witnesses K]\n"
	            "       peerwatt-audit export DB --csv DIR\n"
	            "       peerwatt-audit --help | --version\n"
	            "\n"
	            "verify  recompute the exchange's log from its entries: signatures, Merkle\n"
	            "        roots and checkpoints, every auction and statement, balances,\n"
	            "        completeness and times; --exchange-key pins the exchange's public\n"
	            "        key (64 hex digits, or a file holding them); --checkpoints FILEs\n"
	            "        are checkpoint files kept by agents (fork detection); --agent\n"
	            "        AGENT_DBs are households' agent databases (their signed receipts,\n"
	            "        statements and checkpoints, read-only); --witnesses K requires a\n"
	            "        checkpoint cosigned by at least K registered households.\n"
	            "export  write trades.csv, readings.csv, statements.csv, cosignatures.csv,\n"
	            "        households.csv.\n"
	            "Exit: 0 verified, 1 verification failed, 64 usage, 66 cannot open.\n");
}

/* Read-only open that also proves the file is a database. */
static int
open_db(const char *path, sqlite3 **db)
{
	sqlite3_stmt *st = NULL;

	if (sqlite3_open_v2(path, db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(*db, "SELECT count(*) FROM sqlite_master", -1, &st, NULL) !=
	        SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW) {
		fprintf(stderr, "peerwatt-audit: %s: cannot open: %s\n", path,
		        *db ? sqlite3_errmsg(*db) : "out of memory");
		sqlite3_finalize(st);
		sqlite3_close(*db);
		*db = NULL;
		return EX_NOINPUT;
	}
	sqlite3_finalize(st);
	sqlite3_busy_timeout(*db, 5000);
	return 0;
}

/* --- the text report ------------------------------------------------------------------ */

struct out {
	const char *db;
	char cur[8]; /* currency code */
};

static void
money(int64_t u, char out[32])
{
	pw_money_format(u, out, 32);
}

static void
utc(int64_t t, char out[32])
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (gmtime_r(&tt, &tm) == NULL || strftime(out, 32, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		snprintf(out, 32, "%lld s", (long long)t);
}

static void
iso(int64_t t, char out[32])
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (gmtime_r(&tt, &tm) == NULL || strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, 32, "%lld", (long long)t);
}

static const char *
key_source_text(enum audit_key_source k)
{
	switch (k) {
	case AUDIT_KEY_PINNED:
		return "pinned: equal to the key given with --exchange-key";
	case AUDIT_KEY_WITNESSED:
		return "taken from the database; the checkpoints and receipts households kept are "
		       "signed with it too";
	default:
		return "taken from the database itself (not pinned)";
	}
}

/* A plain sentence for a failure that has none of its own. */
static void
plain_failure(const struct audit_failure *f, char *out, size_t cap)
{
	if (f->plain[0] != '\0') {
		snprintf(out, cap, "%s", f->plain);
	} else if (f->index != UINT64_MAX && f->type[0] == '\0') {
		snprintf(out, cap,
		         "Log entry %llu is missing or damaged: the log has a gap or a changed "
		         "entry there.",
		         (unsigned long long)f->index);
	} else if (f->index != UINT64_MAX && (strcmp(f->type, "RESULT") == 0)) {
		snprintf(
		    out, cap,
		    "Log entry %llu, a clearing result, is not what the auction gives from the "
		    "logged orders, or it was altered.",
		    (unsigned long long)f->index);
	} else if (f->index != UINT64_MAX && (strcmp(f->type, "STATEMENT") == 0)) {
		snprintf(out, cap,
		         "Log entry %llu, a household's settlement statement, is not what the "
		         "settlement rules give, or it was altered.",
		         (unsigned long long)f->index);
	} else if (f->index != UINT64_MAX) {
		snprintf(out, cap,
		         "Log entry %llu, a household's %s, breaks a market rule or was altered "
		         "after it was logged.",
		         (unsigned long long)f->index, f->type);
	} else if (strncmp(f->where, "checkpoint ", 11) == 0) {
		snprintf(out, cap,
		         "A checkpoint the exchange signed does not match the log: entries were "
		         "changed, removed or reordered after it was signed.");
	} else if (strcmp(f->where, "database") == 0) {
		snprintf(out, cap, "The database is incomplete or malformed.");
	} else {
		snprintf(out, cap,
		         "A checkpoint a household holds does not match the log: the exchange "
		         "showed that household another history (a fork), or the log was cut "
		         "short.");
	}
}

static const char *
mark(const struct audit_report *r, int covered)
{
	if (!covered)
		return "[--]";
	return r->fail.failed ? "[??]" : "[ok]";
}

/* The tariffs and fees of one MARKET entry. */
static void
print_rule_set(FILE *fp, const struct audit_report *r, const struct audit_rule_set *k, size_t nth,
               const char *cur)
{
	char a[32], b[32], t[32];

	if (r->n_rule_sets > 1) {
		if (nth == 0) {
			fprintf(fp, "from          the start (MARKET entry %llu)\n",
			        (unsigned long long)k->index);
		} else {
			utc((int64_t)k->first_interval * r->interval_s, t);
			fprintf(fp, "from          interval %llu (%s), MARKET entry %llu\n",
			        (unsigned long long)k->first_interval, t,
			        (unsigned long long)k->index);
		}
	}
	money(k->feedin_uper_kwh, a);
	money(k->retail_uper_kwh, b);
	fprintf(fp,
	        "tariffs       feed-in %s %s/kWh (the lowest price), retail %s %s/kWh (the "
	        "highest)\n",
	        a, cur, b, cur);
	fprintf(fp, "fees          per kWh, paid by the buyer:");
	for (size_t i = 0; i < k->n_fee_rows && i < AUDIT_MAX_FEE_ROWS; i++) {
		money(k->fee_rows[i].fee_uper_kwh, a);
		fprintf(fp, " %s/%s %s;", k->fee_rows[i].zone_a, k->fee_rows[i].zone_b, a);
	}
	money(k->fee_same_uper_kwh, a);
	money(k->fee_default_uper_kwh, b);
	fprintf(fp, " otherwise same zone %s, other zones %s (%s)\n", a, b, cur);
}

/* The witnesses line: up to which entry neighbours witnessed the log. */
static void
print_witnesses(FILE *fp, const struct audit_report *r)
{
	if (!r->have_cosigned) {
		fprintf(fp,
		        "%s witnesses    no household cosigned a checkpoint: the log is not "
		        "witnessed by any neighbour%s\n",
		        r->witnesses_required > 0 ? "[!!]" : "[--]",
		        r->witnesses_required > 0 ? " (--witnesses requires it)" : "");
		return;
	}
	fprintf(fp,
	        "%s witnesses    %llu cosignatures by households, each over the log's own root "
	        "at its size (one consistent chain); latest cosigned checkpoint: %llu entries, "
	        "witnessed by %llu neighbours\n",
	        mark(r, 1), (unsigned long long)r->cosigns,
	        (unsigned long long)r->latest_cosigned_size,
	        (unsigned long long)r->latest_cosigned_by);
	if (r->have_witnessed && r->witnesses_required > 0)
		fprintf(fp,
		        "%s witnessed    entries 0..%llu witnessed by %llu neighbours (at least %u "
		        "required); the %llu entries after them are not yet witnessed\n",
		        mark(r, 1), (unsigned long long)(r->witnessed_size - 1),
		        (unsigned long long)r->witnessed_by, r->witnesses_required,
		        (unsigned long long)(r->entries > r->witnessed_size
		                                 ? r->entries - r->witnessed_size
		                                 : 0));
	else if (r->witnesses_required > 0)
		fprintf(fp, "[!!] witnessed    no checkpoint cosigned by %u neighbours\n",
		        r->witnesses_required);
}

static void
print_text_raw(FILE *fp, const struct out *o, const struct audit_report *r)
{
	char hex[2 * PW_HASH_LEN + 1], a[32], b[32], c[32], d[32], t1[32], t2[32];
	char plain[AUDIT_REASON_LEN];
	const char *cur = o->cur;

	const char *base = strrchr(o->db, '/');
	fprintf(fp, "peerwatt-audit report on %s\n\n", base ? base + 1 : o->db);
	fprintf(fp, "market        %s (id %llu)\n", r->market_name,
	        (unsigned long long)r->market_id);
	if (r->have_period && r->interval_s > 0) {
		utc((int64_t)r->first_interval * r->interval_s, t1);
		utc(((int64_t)r->last_interval + 1) * r->interval_s, t2);
		fprintf(fp, "period        intervals %llu to %llu: %s to %s\n",
		        (unsigned long long)r->first_interval, (unsigned long long)r->last_interval,
		        t1, t2);
	}
	if (r->have_rules) {
		fprintf(fp,
		        "intervals     %lld s each; orders close %lld s before an interval starts "
		        "(gate); readings are awaited %lld s after it ends (grace)\n",
		        (long long)r->interval_s, (long long)r->gate_s, (long long)r->grace_s);
		if (r->n_rule_sets > 1)
			fprintf(fp,
			        "rules         %zu sets in the log, each in force from its first "
			        "interval on:\n",
			        r->n_rule_sets);
		for (size_t k = 0; k < r->n_rule_sets && k < AUDIT_MAX_RULE_SETS; k++)
			print_rule_set(fp, r, &r->rule_sets[k], k, cur);
		if (r->n_rule_sets > AUDIT_MAX_RULE_SETS)
			fprintf(fp, "              (%zu more sets, in the JSON report)\n",
			        r->n_rule_sets - AUDIT_MAX_RULE_SETS);
	}
	pw_hex_encode(r->exchange_pk, PW_PK_LEN, hex);
	fprintf(fp, "exchange key  %s\n", hex);
	fprintf(fp, "              %s\n", key_source_text(r->key_source));
	if (r->households_revoked > 0)
		fprintf(fp, "households    %llu registered in the log, %llu of them revoked\n",
		        (unsigned long long)r->households,
		        (unsigned long long)r->households_revoked);
	else
		fprintf(fp, "households    %llu registered in the log\n",
		        (unsigned long long)r->households);
	fputc('\n', fp);
	if (r->fail.failed) {
		plain_failure(&r->fail, plain, sizeof(plain));
		fprintf(fp, "verdict       FAILED\n");
		fprintf(fp, "problem       %s\n", plain);
		if (r->fail.type[0])
			fprintf(fp, "failure       %s (%s): %s\n", r->fail.where, r->fail.type,
			        r->fail.reason);
		else
			fprintf(fp, "failure       %s: %s\n", r->fail.where, r->fail.reason);
		fprintf(
		    fp,
		    "              (the audit stops at the first failure: the checks and counts "
		    "below cover what came before it)\n");
	} else {
		fprintf(fp, "verdict       OK\n");
	}
	fprintf(fp, "\nchecks\n");
	fprintf(fp,
	        "%s log          %llu entries, numbered without a gap and each hashed into the "
	        "Merkle tree; root %.16s...\n",
	        mark(r, 1), (unsigned long long)r->entries,
	        (pw_hex_encode(r->root, PW_HASH_LEN, hex), hex));
	fprintf(fp,
	        "%s signatures   %llu entries carry a valid signature of their author (households "
	        "for orders, cancels and readings; the exchange for results and statements)\n",
	        mark(r, 1), (unsigned long long)r->signatures);
	fprintf(fp,
	        "%s rules        %llu MARKET and %llu REGISTRY entries signed by the exchange "
	        "state the market's rules and registry; never changed for an interval already "
	        "traded; the exchange's tables params, fees and households equal them\n",
	        mark(r, 1), (unsigned long long)r->market_entries,
	        (unsigned long long)r->registry_entries);
	fprintf(fp,
	        "%s entry rules  every order, cancel and reading obeys the market's entry rules "
	        "under the rules and registry entries in force (registered and not revoked, "
	        "sequence, prices within the tariffs, capacity, one side, meter serial and "
	        "continuity)\n",
	        mark(r, 1));
	fprintf(fp,
	        "%s auctions     %llu replayed from the logged orders: same price and same %llu "
	        "trades (%llu Wh)\n",
	        mark(r, 1), (unsigned long long)r->auctions, (unsigned long long)r->trades,
	        (unsigned long long)r->traded_wh);
	fprintf(fp,
	        "%s settlement   %llu statements recomputed from trades, readings, tariffs and "
	        "fees; %llu intervals balance to the micro-unit\n",
	        mark(r, 1), (unsigned long long)r->statements,
	        (unsigned long long)r->intervals_settled);
	fprintf(fp,
	        "%s completeness every interval cleared in order and settled after its result; "
	        "everyone who traded or sent a reading has a statement; %llu intervals checked "
	        "against the exchange's signed checkpoint times\n",
	        mark(r, r->have_checkpoint), (unsigned long long)r->time_checks);
	if (r->have_checkpoint) {
		pw_hex_encode(r->checkpoint_root, PW_HASH_LEN, hex);
		fprintf(
		    fp,
		    "%s checkpoints  %llu signed by the exchange in the database, each matching "
		    "the log and linked to the previous one; latest covers %llu entries\n",
		    mark(r, 1), (unsigned long long)r->checkpoints_db,
		    (unsigned long long)r->checkpoint_size);
	} else {
		fprintf(fp, "[--] checkpoints  none in the database\n");
	}
	fprintf(fp,
	        "%s served       %llu statements and %llu results the exchange serves to "
	        "households equal the logged ones\n",
	        mark(r, 1), (unsigned long long)r->served_statements,
	        (unsigned long long)r->served_results);
	fprintf(fp, "%s agent files  %llu checkpoints households kept match the log (no fork)\n",
	        mark(r, r->checkpoints_files > 0), (unsigned long long)r->checkpoints_files);
	fprintf(fp,
	        "%s evidence     %llu agent databases: %llu signed receipts (ACK) and %llu "
	        "refusals (REJECT), %llu statements, %llu checkpoints held by households agree "
	        "with the log\n",
	        mark(r, r->agents > 0), (unsigned long long)r->agents,
	        (unsigned long long)r->ev_acks, (unsigned long long)r->ev_rejects,
	        (unsigned long long)r->ev_statements, (unsigned long long)r->ev_checkpoints);
	print_witnesses(fp, r);
	fprintf(fp, "\ncounts\n");
	fprintf(fp,
	        "entries       %llu = %llu market rules + %llu registry + %llu orders + %llu "
	        "cancels + %llu readings + %llu results + %llu statements",
	        (unsigned long long)r->entries, (unsigned long long)r->market_entries,
	        (unsigned long long)r->registry_entries, (unsigned long long)r->orders,
	        (unsigned long long)r->cancels, (unsigned long long)r->readings,
	        (unsigned long long)r->results, (unsigned long long)r->statements);
	if (r->cosigns > 0)
		fprintf(fp, " + %llu cosignatures", (unsigned long long)r->cosigns);
	fprintf(fp, "\n");
	pw_hex_encode(r->root, PW_HASH_LEN, hex);
	fprintf(fp, "log root      %s (size %llu)\n", hex, (unsigned long long)r->entries);
	fprintf(fp, "auctions      %llu replayed, %llu trades, %llu Wh\n",
	        (unsigned long long)r->auctions, (unsigned long long)r->trades,
	        (unsigned long long)r->traded_wh);
	fprintf(fp, "settlement    %llu intervals recomputed and balanced, %llu not cleared yet\n",
	        (unsigned long long)r->intervals_settled, (unsigned long long)r->intervals_open);
	fprintf(fp,
	        "intervals     %llu cleared = %llu settled with statements + %llu settled with "
	        "nobody active + %llu not settled yet; %llu with orders not cleared yet\n",
	        (unsigned long long)r->auctions, (unsigned long long)r->intervals_settled,
	        (unsigned long long)r->intervals_empty,
	        (unsigned long long)(r->auctions >= r->intervals_settled + r->intervals_empty
	                                 ? r->auctions - r->intervals_settled - r->intervals_empty
	                                 : 0),
	        (unsigned long long)r->intervals_open);
	fprintf(fp, "agent files   %llu checkpoints checked\n",
	        (unsigned long long)r->checkpoints_files);
	fprintf(fp, "witnesses     %llu cosignatures of %llu checkpoints checked\n",
	        (unsigned long long)r->cosigns, (unsigned long long)r->cosigned_checkpoints);
	money(r->peer_paid_u, a);
	money(r->peer_received_u, b);
	money(r->fee_u, c);
	money(r->grid_account_u, d);
	fprintf(fp, "money         between neighbours: paid %s %s = received %s %s\n", a, cur, b,
	        cur);
	fprintf(fp, "              grid fees %s %s; grid account %s %s\n", c, cur, d, cur);
	fprintf(fp, "              (the grid account is what households paid the grid operator: "
	            "fees, and retail for energy the market did not supply, less feed-in for "
	            "energy the market did not take; with the households' nets it sums to zero)\n");
	if (r->warnings) {
		fprintf(fp, "\nwarnings\n");
		if (r->warnings & AUDIT_WARN_MIGRATED) {
			utc((int64_t)r->migration_time_s, t1);
			fprintf(
			    fp,
			    "- the rules and registry of the first %llu entries were written into "
			    "the log at migration, on %s, by the operator, not when they were "
			    "in force: for those entries they are the operator's word\n",
			    (unsigned long long)r->migration_index, t1);
		}
		if (r->warnings & AUDIT_WARN_UNPINNED)
			fprintf(
			    fp,
			    "- the exchange key was taken from the database itself: an operator "
			    "could have re-signed a whole history under a new key; pin it with "
			    "--exchange-key (the key households configured)\n");
		if (r->warnings & AUDIT_WARN_NO_FILES)
			fprintf(
			    fp,
			    "- no checkpoint files given (--checkpoints): a history rewritten and "
			    "re-signed by the operator is not detected without them\n");
		if (r->warnings & AUDIT_WARN_NO_EVIDENCE)
			fprintf(
			    fp,
			    "- no households' agent databases given (--agent): removed or rolled "
			    "back entries, and statements told differently, are not detected "
			    "without them\n");
		if (r->warnings & AUDIT_WARN_OLD_EVIDENCE)
			fprintf(
			    fp,
			    "- an agent database keeps no signed receipts (an older agent): its "
			    "records of log indices were checked as the household's word only\n");
		if (r->warnings & AUDIT_WARN_NO_CHECKPOINT)
			fprintf(fp,
			        "- the database holds no signed checkpoint: nothing the exchange "
			        "signed fixes its log, and times were not checked\n");
		if (r->warnings & AUDIT_WARN_AFTER_CP)
			fprintf(
			    fp,
			    "- %llu entries after the latest checkpoint are not yet covered by "
			    "any signature of the whole log (the exchange may still change them)\n",
			    (unsigned long long)r->after_checkpoint);
		if (r->warnings & AUDIT_WARN_WAL)
			fprintf(fp,
			        "- a -wal file lies beside the database: the copy may be partial; "
			        "copy a live database with sqlite3 DB \".backup COPY\"\n");
	}
}

/* Lines of at most REPORT_WIDTH columns: a longer line breaks at its last
 * blank before the limit and goes on under its text column (14 for
 * "label  text", 18 for "[ok] check  text", 2 for "- warning").  The
 * failure line stays whole: it is the one to grep. */
#define REPORT_WIDTH 96
static void
print_wrapped(const char *text)
{
	const char *line = text;
	while (*line != '\0') {
		const char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line) : strlen(line);
		size_t indent = line[0] == '[' ? 18 : line[0] == '-' ? 2 : 14;
		int whole = strncmp(line, "failure ", 8) == 0;
		size_t col = 0, pos = 0;
		while (!whole && len - pos + col > REPORT_WIDTH) {
			size_t room = REPORT_WIDTH - col, cut = 0;
			for (size_t k = pos + 1; k < pos + room && k < len; k++)
				if (line[k] == ' ')
					cut = k;
			if (cut == 0)
				break;
			printf("%*s%.*s\n", (int)col, "", (int)(cut - pos), line + pos);
			pos = cut + 1;
			col = indent;
		}
		printf("%*s%.*s\n", (int)col, "", (int)(len - pos), line + pos);
		line += len + (end != NULL);
	}
}

static void
print_text(const struct out *o, const struct audit_report *r)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *fp = open_memstream(&buf, &n);
	int ok = 0;

	/* One test of fp (not a fatalx() cppcheck cannot see as noreturn). */
	if (fp != NULL) {
		print_text_raw(fp, o, r);
		ok = fclose(fp) == 0 && buf != NULL;
	}
	if (!ok)
		fatalx("out of memory");
	print_wrapped(buf);
	free(buf);
}

static json_t *
jhex(const uint8_t *b, size_t n)
{
	char hex[2 * PW_HASH_LEN + 1];
	pw_hex_encode(b, n, hex);
	return json_string(hex);
}

static json_t *
ju64(uint64_t v)
{
	return json_integer((json_int_t)(v > (uint64_t)INT64_MAX ? INT64_MAX : v));
}

static json_t *
jwarnings(const struct audit_report *r)
{
	static const struct {
		unsigned bit;
		const char *name;
	} w[] = { { AUDIT_WARN_UNPINNED, "unpinned_key" },
		  { AUDIT_WARN_NO_FILES, "no_checkpoint_files" },
		  { AUDIT_WARN_NO_EVIDENCE, "no_household_evidence" },
		  { AUDIT_WARN_OLD_EVIDENCE, "evidence_without_receipts" },
		  { AUDIT_WARN_NO_CHECKPOINT, "no_checkpoint" },
		  { AUDIT_WARN_AFTER_CP, "entries_after_checkpoint" },
		  { AUDIT_WARN_WAL, "wal_beside_database" },
		  { AUDIT_WARN_MIGRATED, "rules_written_at_migration" } };
	json_t *a = json_array();
	for (size_t i = 0; a != NULL && i < sizeof(w) / sizeof(w[0]); i++)
		if (r->warnings & w[i].bit)
			json_array_append_new(a, json_string(w[i].name));
	return a;
}

static int
print_json(const struct out *o, const struct audit_report *r)
{
	char plain[AUDIT_REASON_LEN], t1[32], t2[32];
	json_t *fail = json_null();
	if (r->fail.failed) {
		plain_failure(&r->fail, plain, sizeof(plain));
		fail = json_pack("{s:s, s:o, s:s, s:s, s:s}", "where", r->fail.where, "index",
		                 r->fail.index == UINT64_MAX ? json_null() : ju64(r->fail.index),
		                 "type", r->fail.type, "reason", r->fail.reason, "plain", plain);
	}
	json_t *cp =
	    json_pack("{s:o, s:o, s:o, s:o}", "database", ju64(r->checkpoints_db), "files",
	              ju64(r->checkpoints_files), "latest_size",
	              r->have_checkpoint ? ju64(r->checkpoint_size) : json_null(), "latest_root",
	              r->have_checkpoint ? jhex(r->checkpoint_root, PW_HASH_LEN) : json_null());
	json_t *sets = json_array();
	for (size_t k = 0; k < r->n_rule_sets && k < AUDIT_MAX_RULE_SETS; k++) {
		const struct audit_rule_set *q = &r->rule_sets[k];
		json_t *fees = json_array();
		for (size_t i = 0; i < q->n_fee_rows && i < AUDIT_MAX_FEE_ROWS; i++)
			json_array_append_new(
			    fees, json_pack("{s:s, s:s, s:I}", "zone_a", q->fee_rows[i].zone_a,
			                    "zone_b", q->fee_rows[i].zone_b, "fee_uper_kwh",
			                    (json_int_t)q->fee_rows[i].fee_uper_kwh));
		json_array_append_new(
		    sets, json_pack("{s:o, s:o, s:o, s:I, s:I, s:I, s:I, s:o}", "first_interval",
		                    ju64(q->first_interval), "log_index", ju64(q->index), "time_s",
		                    ju64(q->time_s), "feedin_uper_kwh",
		                    (json_int_t)q->feedin_uper_kwh, "retail_uper_kwh",
		                    (json_int_t)q->retail_uper_kwh, "fee_same_zone_uper_kwh",
		                    (json_int_t)q->fee_same_uper_kwh, "fee_default_uper_kwh",
		                    (json_int_t)q->fee_default_uper_kwh, "fees", fees));
	}
	/* "rules": the first set's tariffs and fees (as before), "sets": all */
	json_t *first = r->n_rule_sets > 0 ? json_array_get(sets, 0) : NULL;
	json_t *rules = json_pack(
	    "{s:I, s:I, s:I, s:I, s:O, s:O, s:O, s:O, s:O, s:s, s:o}", "interval_s",
	    (json_int_t)r->interval_s, "gate_s", (json_int_t)r->gate_s, "grace_s",
	    (json_int_t)r->grace_s, "max_ahead_s", (json_int_t)r->max_ahead_s, "feedin_uper_kwh",
	    first ? json_object_get(first, "feedin_uper_kwh") : json_null(), "retail_uper_kwh",
	    first ? json_object_get(first, "retail_uper_kwh") : json_null(),
	    "fee_same_zone_uper_kwh",
	    first ? json_object_get(first, "fee_same_zone_uper_kwh") : json_null(),
	    "fee_default_uper_kwh",
	    first ? json_object_get(first, "fee_default_uper_kwh") : json_null(), "fees",
	    first ? json_object_get(first, "fees") : json_null(), "currency", o->cur, "sets", sets);
	json_t *migration = json_null();
	if (r->migrated) {
		iso((int64_t)r->migration_time_s, t1);
		migration = json_pack("{s:o, s:o, s:s}", "log_index", ju64(r->migration_index),
		                      "entries_before", ju64(r->migration_index), "time", t1);
	}
	json_t *period = json_null();
	if (r->have_period && r->interval_s > 0) {
		iso((int64_t)r->first_interval * r->interval_s, t1);
		iso(((int64_t)r->last_interval + 1) * r->interval_s, t2);
		period =
		    json_pack("{s:o, s:o, s:s, s:s}", "first_interval", ju64(r->first_interval),
		              "last_interval", ju64(r->last_interval), "start", t1, "end", t2);
	}
	json_t *ev = json_pack("{s:o, s:o, s:o, s:o, s:o, s:o}", "agents", ju64(r->agents), "acks",
	                       ju64(r->ev_acks), "rejects", ju64(r->ev_rejects),
	                       "records_without_receipt", ju64(r->ev_records), "statements",
	                       ju64(r->ev_statements), "checkpoints", ju64(r->ev_checkpoints));
	json_t *wit = json_pack(
	    "{s:o, s:o, s:I, s:o, s:o, s:o, s:o, s:o}", "cosignatures", ju64(r->cosigns),
	    "cosigned_checkpoints", ju64(r->cosigned_checkpoints), "required",
	    (json_int_t)r->witnesses_required, "latest_cosigned_size",
	    r->have_cosigned ? ju64(r->latest_cosigned_size) : json_null(), "latest_cosigned_by",
	    ju64(r->have_cosigned ? r->latest_cosigned_by : 0), "witnessed_size",
	    r->have_witnessed ? ju64(r->witnessed_size) : json_null(), "witnessed_by",
	    ju64(r->have_witnessed ? r->witnessed_by : 0), "not_yet_witnessed",
	    ju64(r->entries > (r->have_witnessed ? r->witnessed_size : 0)
	             ? r->entries - (r->have_witnessed ? r->witnessed_size : 0)
	             : 0));
	json_t *iv =
	    json_pack("{s:o, s:o, s:o, s:o, s:o, s:o}", "cleared", ju64(r->auctions), "settled",
	              ju64(r->intervals_settled), "settled_empty", ju64(r->intervals_empty),
	              "pending", ju64(r->intervals_pending), "not_cleared", ju64(r->intervals_open),
	              "time_checked", ju64(r->time_checks));
	json_t *doc = json_pack(
	    "{s:b, s:{s:s, s:o, s:o, s:s}, s:o, s:o, s:o, s:o, s:o, s:{s:o, s:o, s:o, s:o, s:o, "
	    "s:o, "
	    "s:o, s:o}, s:o, "
	    "s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:{s:o, s:o}, s:o, s:o, s:o, "
	    "s:{s:I, s:I, s:I, s:I, s:I}, s:o, s:o}",
	    "ok", !r->fail.failed, "market", "name", r->market_name, "id", ju64(r->market_id),
	    "exchange_key", jhex(r->exchange_pk, PW_PK_LEN), "exchange_key_source",
	    r->key_source == AUDIT_KEY_PINNED      ? "pinned"
	    : r->key_source == AUDIT_KEY_WITNESSED ? "database, witnessed by households"
	                                           : "database",
	    "rules", rules, "migration", migration, "period", period, "households",
	    ju64(r->households), "households_revoked", ju64(r->households_revoked), "entries",
	    "total", ju64(r->entries), "market", ju64(r->market_entries), "registry",
	    ju64(r->registry_entries), "orders", ju64(r->orders), "cancels", ju64(r->cancels),
	    "readings", ju64(r->readings), "results", ju64(r->results), "statements",
	    ju64(r->statements), "signatures", ju64(r->signatures), "root",
	    jhex(r->root, PW_HASH_LEN), "checkpoints", cp, "auctions", ju64(r->auctions), "trades",
	    ju64(r->trades), "traded_wh", ju64(r->traded_wh), "intervals_settled",
	    ju64(r->intervals_settled), "intervals_open", ju64(r->intervals_open), "intervals", iv,
	    "served", "statements", ju64(r->served_statements), "results", ju64(r->served_results),
	    "evidence", ev, "entries_after_checkpoint", ju64(r->after_checkpoint), "warnings",
	    jwarnings(r), "money_u", "peer_paid", (json_int_t)r->peer_paid_u, "peer_received",
	    (json_int_t)r->peer_received_u, "fees", (json_int_t)r->fee_u, "grid_account",
	    (json_int_t)r->grid_account_u, "households_net", (json_int_t)r->net_u, "currency",
	    json_string(o->cur), "failure", fail);
	if (doc == NULL || json_object_set_new(doc, "witnesses", wit) != 0)
		return EX_SOFTWARE;
	char *s = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(doc);
	if (s == NULL)
		return EX_SOFTWARE;
	printf("%s\n", s);
	free(s);
	return 0;
}

static int
bad_arg(const char *prog, const char *arg)
{
	return pw_cli_usage_error(prog, "%s '%s'",
	                          arg[0] == '-' ? "unknown option" : "unexpected argument", arg);
}

/* --exchange-key: 64 hex digits, or a file whose first word is them. */
static int
parse_key(const char *arg, uint8_t pk[PW_PK_LEN])
{
	char buf[160];
	const char *hex = arg;
	if (strlen(arg) != 2 * PW_PK_LEN || pw_hex_decode(arg, pk, PW_PK_LEN) != PW_OK) {
		FILE *fp = fopen(arg, "r");
		size_t n;
		if (fp == NULL)
			return pw_cli_usage_error(
			    "peerwatt-audit verify",
			    "--exchange-key '%s' is neither 64 hex digits nor a "
			    "readable file",
			    arg);
		n = fread(buf, 1, sizeof(buf) - 1, fp);
		fclose(fp);
		buf[n] = '\0';
		size_t s = strspn(buf, " \t\r\n"), e = s + strcspn(buf + s, " \t\r\n");
		buf[e] = '\0';
		hex = buf + s;
		if (strlen(hex) != 2 * PW_PK_LEN || pw_hex_decode(hex, pk, PW_PK_LEN) != PW_OK)
			return pw_cli_usage_error("peerwatt-audit verify",
			                          "--exchange-key file '%s' does not start with 64 "
			                          "hex digits",
			                          arg);
	}
	return 0;
}

static int
cmd_verify(int argc, char **argv)
{
	const char *dbpath = NULL;
	const char *files[MAX_CHECKPOINT_FILES], *agents[MAX_AGENT_DBS];
	struct audit_options opt = { .files = files, .agents = agents };
	uint8_t pin[PW_PK_LEN];
	int json = 0, in_list = 0; /* 1: --checkpoints, 2: --agent */
	struct audit_report *r;
	sqlite3 *db = NULL;
	int rc;

	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return 0;
		} else if (strcmp(argv[i], "--json") == 0) {
			json = 1;
			in_list = 0;
		} else if (strcmp(argv[i], "--checkpoints") == 0) {
			in_list = 1;
		} else if (strcmp(argv[i], "--agent") == 0) {
			in_list = 2;
		} else if (strcmp(argv[i], "--witnesses") == 0) {
			int64_t k;
			if (i + 1 >= argc || pw_parse_i64(argv[i + 1], 0, 100000, &k) != PW_OK)
				return pw_cli_usage_error(
				    "peerwatt-audit verify",
				    "option '--witnesses' needs a count 0..100000");
			opt.witnesses = (unsigned)k;
			i++;
			in_list = 0;
		} else if (strcmp(argv[i], "--exchange-key") == 0) {
			if (i + 1 >= argc)
				return pw_cli_usage_error("peerwatt-audit verify",
				                          "option '--exchange-key' needs a value");
			if ((rc = parse_key(argv[++i], pin)) != 0)
				return rc;
			opt.pinned_pk = pin;
			in_list = 0;
		} else if (in_list == 1 && argv[i][0] != '-') {
			if (opt.n_files == MAX_CHECKPOINT_FILES)
				return pw_cli_usage_error("peerwatt-audit verify",
				                          "at most %d checkpoint files",
				                          MAX_CHECKPOINT_FILES);
			files[opt.n_files++] = argv[i];
		} else if (in_list == 2 && argv[i][0] != '-') {
			if (opt.n_agents == MAX_AGENT_DBS)
				return pw_cli_usage_error("peerwatt-audit verify",
				                          "at most %d agent databases",
				                          MAX_AGENT_DBS);
			agents[opt.n_agents++] = argv[i];
		} else if (argv[i][0] != '-' && dbpath == NULL) {
			dbpath = argv[i];
		} else {
			return bad_arg("peerwatt-audit verify", argv[i]);
		}
	}
	if (dbpath == NULL || (in_list == 1 && opt.n_files == 0) ||
	    (in_list == 2 && opt.n_agents == 0))
		return pw_cli_usage_error("peerwatt-audit verify", "%s",
		                          dbpath == NULL ? "DB is required"
		                          : in_list == 1 ? "--checkpoints needs a FILE"
		                                         : "--agent needs an AGENT_DB");
	if ((rc = open_db(dbpath, &db)) != 0)
		return rc;
	char wal[4096];
	struct stat sb;
	if ((size_t)snprintf(wal, sizeof(wal), "%s-wal", dbpath) < sizeof(wal) &&
	    stat(wal, &sb) == 0 && sb.st_size > 0)
		opt.wal_beside = 1;
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		sqlite3_close(db);
		fprintf(stderr, "peerwatt-audit: out of memory\n");
		return EX_SOFTWARE;
	}
	struct out o = { .db = dbpath };
	pw_err err = audit_verify(db, &opt, r);
	snprintf(o.cur, sizeof(o.cur), "%s", r->currency[0] ? r->currency : "EUR");
	sqlite3_close(db);
	if (err == PW_ERR_IO) {
		fprintf(stderr, "peerwatt-audit: %s: %s\n", r->fail.where, r->fail.reason);
		free(r);
		return EX_NOINPUT;
	}
	if (err != PW_OK) {
		fprintf(stderr, "peerwatt-audit: %s\n", pw_strerror(err));
		free(r);
		return EX_SOFTWARE;
	}
	if (json)
		rc = print_json(&o, r);
	else
		print_text(&o, r);
	if (rc == 0 && r->fail.failed)
		rc = EX_FAILED;
	free(r);
	if (fflush(stdout) != 0)
		return EX_SOFTWARE;
	return rc;
}

static int
cmd_export(int argc, char **argv)
{
	const char *dbpath = NULL, *dir = NULL;
	sqlite3 *db = NULL;
	int rc;

	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return 0;
		} else if (strcmp(argv[i], "--csv") == 0 && i + 1 < argc && dir == NULL) {
			dir = argv[++i];
		} else if (argv[i][0] != '-' && dbpath == NULL) {
			dbpath = argv[i];
		} else if (strcmp(argv[i], "--csv") == 0 && dir == NULL) {
			return pw_cli_usage_error("peerwatt-audit export",
			                          "option '--csv' needs a value");
		} else {
			return bad_arg("peerwatt-audit export", argv[i]);
		}
	}
	if (dbpath == NULL || dir == NULL)
		return pw_cli_usage_error("peerwatt-audit export", "%s",
		                          dbpath == NULL ? "DB is required"
		                                         : "--csv DIR is required");
	if ((rc = open_db(dbpath, &db)) != 0)
		return rc;
	char errbuf[256] = "";
	pw_err err = audit_export_csv(db, dir, errbuf, sizeof(errbuf));
	sqlite3_close(db);
	if (err != PW_OK) {
		fprintf(stderr, "peerwatt-audit: export: %s\n",
		        errbuf[0] ? errbuf : pw_strerror(err));
		return err == PW_ERR_IO        ? EX_CANTCREAT
		       : err == PW_ERR_CORRUPT ? EX_FAILED
		                               : EX_SOFTWARE;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	log_init("peerwatt-audit", LOG_LEVEL_WARN);
	if (argc > 1 && strcmp(argv[1], "--version") == 0) {
		printf("peerwatt-audit %s\n", PW_VERSION);
		return 0;
	}
	if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		usage(stdout);
		return 0;
	}
	/* name what was wrong: a bare usage text hides a typo */
	if (argc < 2)
		return pw_cli_usage_error("peerwatt-audit",
		                          "a command (verify, export) is required");
	if (strcmp(argv[1], "verify") != 0 && strcmp(argv[1], "export") != 0)
		return pw_cli_usage_error("peerwatt-audit", "unknown %s '%s'",
		                          argv[1][0] == '-' ? "option" : "command", argv[1]);
	if (sodium_init() < 0) {
		fprintf(stderr, "peerwatt-audit: libsodium cannot start\n");
		return EX_SOFTWARE;
	}
	if (strcmp(argv[1], "verify") == 0)
		return cmd_verify(argc, argv);
	if (strcmp(argv[1], "export") == 0)
		return cmd_export(argc, argv);
	return EX_USAGE; /* not reached: checked above */
}
