/*
 * audit.c: peerwatt-audit, the auditor's program (docs/audit.md).
 *
 *     peerwatt-audit verify DB [--json] [--checkpoints FILE...]
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

#include <jansson.h>
#include <sodium.h>
#include <sqlite3.h>

#include "audit/audit_export.h"
#include "audit/audit_verify.h"
#include "peerwatt/cli.h"
#include "peerwatt/log.h"
#include "peerwatt/money.h"

#define EX_FAILED            1
#define EX_USAGE             64
#define EX_NOINPUT           66
#define EX_SOFTWARE          70
#define EX_CANTCREAT         73
#define MAX_CHECKPOINT_FILES 1024

static void
usage(FILE *fp)
{
	fprintf(fp, "usage: peerwatt-audit verify DB [--json] [--checkpoints FILE...]\n"
	            "       peerwatt-audit export DB --csv DIR\n"
	            "       peerwatt-audit --help | --version\n"
	            "\n"
	            "verify  recompute the exchange's log from its entries: signatures, Merkle\n"
	            "        roots and checkpoints, every auction and statement, balances;\n"
	            "        FILEs are checkpoint files kept by agents (fork detection).\n"
	            "export  write trades.csv, readings.csv, statements.csv, households.csv.\n"
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

static void
money(int64_t u, char out[32])
{
	pw_money_format(u, out, 32);
}

static void
print_text(const struct audit_report *r)
{
	char hex[2 * PW_HASH_LEN + 1], a[32], b[32], c[32], d[32];

	printf("market        %s (id %llu)\n", r->market_name, (unsigned long long)r->market_id);
	pw_hex_encode(r->exchange_pk, PW_PK_LEN, hex);
	printf("exchange key  %s\n", hex);
	printf("households    %llu\n", (unsigned long long)r->households);
	printf("entries       %llu (%llu orders, %llu cancels, %llu readings, %llu results, "
	       "%llu statements)\n",
	       (unsigned long long)r->entries, (unsigned long long)r->orders,
	       (unsigned long long)r->cancels, (unsigned long long)r->readings,
	       (unsigned long long)r->results, (unsigned long long)r->statements);
	printf("signatures    %llu verified\n", (unsigned long long)r->signatures);
	pw_hex_encode(r->root, PW_HASH_LEN, hex);
	printf("log root      %s (size %llu)\n", hex, (unsigned long long)r->entries);
	if (r->have_checkpoint) {
		pw_hex_encode(r->checkpoint_root, PW_HASH_LEN, hex);
		printf("checkpoints   %llu in the database, latest size %llu root %s\n",
		       (unsigned long long)r->checkpoints_db,
		       (unsigned long long)r->checkpoint_size, hex);
	} else {
		printf("checkpoints   %llu in the database\n",
		       (unsigned long long)r->checkpoints_db);
	}
	printf("agent files   %llu checkpoints checked\n",
	       (unsigned long long)r->checkpoints_files);
	printf("auctions      %llu replayed, %llu trades, %llu Wh\n",
	       (unsigned long long)r->auctions, (unsigned long long)r->trades,
	       (unsigned long long)r->traded_wh);
	printf("settlement    %llu intervals recomputed and balanced, %llu not cleared yet\n",
	       (unsigned long long)r->intervals_settled, (unsigned long long)r->intervals_open);
	money(r->peer_paid_u, a);
	money(r->peer_received_u, b);
	money(r->fee_u, c);
	money(r->grid_account_u, d);
	printf("money         peers paid %s, peers received %s, grid fees %s, grid account %s\n", a,
	       b, c, d);
	if (r->fail.failed) {
		printf("verdict       FAILED\n");
		if (r->fail.type[0])
			printf("failure       %s (%s): %s\n", r->fail.where, r->fail.type,
			       r->fail.reason);
		else
			printf("failure       %s: %s\n", r->fail.where, r->fail.reason);
	} else {
		printf("verdict       OK\n");
	}
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

static int
print_json(const struct audit_report *r)
{
	json_t *fail = json_null();
	if (r->fail.failed)
		fail = json_pack("{s:s, s:o, s:s, s:s}", "where", r->fail.where, "index",
		                 r->fail.index == UINT64_MAX ? json_null() : ju64(r->fail.index),
		                 "type", r->fail.type, "reason", r->fail.reason);
	json_t *cp =
	    json_pack("{s:o, s:o, s:o, s:o}", "database", ju64(r->checkpoints_db), "files",
	              ju64(r->checkpoints_files), "latest_size",
	              r->have_checkpoint ? ju64(r->checkpoint_size) : json_null(), "latest_root",
	              r->have_checkpoint ? jhex(r->checkpoint_root, PW_HASH_LEN) : json_null());
	json_t *doc = json_pack(
	    "{s:b, s:{s:s, s:o, s:o}, s:o, s:{s:o, s:o, s:o, s:o, s:o, s:o}, s:o, s:o, s:o, s:o, "
	    "s:o, s:o, s:o, s:o, s:{s:I, s:I, s:I, s:I, s:I}, s:o}",
	    "ok", !r->fail.failed, "market", "name", r->market_name, "id", ju64(r->market_id),
	    "exchange_key", jhex(r->exchange_pk, PW_PK_LEN), "households", ju64(r->households),
	    "entries", "total", ju64(r->entries), "orders", ju64(r->orders), "cancels",
	    ju64(r->cancels), "readings", ju64(r->readings), "results", ju64(r->results),
	    "statements", ju64(r->statements), "signatures", ju64(r->signatures), "root",
	    jhex(r->root, PW_HASH_LEN), "checkpoints", cp, "auctions", ju64(r->auctions), "trades",
	    ju64(r->trades), "traded_wh", ju64(r->traded_wh), "intervals_settled",
	    ju64(r->intervals_settled), "intervals_open", ju64(r->intervals_open), "money_u",
	    "peer_paid", (json_int_t)r->peer_paid_u, "peer_received",
	    (json_int_t)r->peer_received_u, "fees", (json_int_t)r->fee_u, "grid_account",
	    (json_int_t)r->grid_account_u, "households_net", (json_int_t)r->net_u, "failure", fail);
	if (doc == NULL)
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

static int
cmd_verify(int argc, char **argv)
{
	const char *dbpath = NULL;
	const char *files[MAX_CHECKPOINT_FILES];
	size_t n_files = 0;
	int json = 0, in_files = 0;
	struct audit_report *r;
	sqlite3 *db = NULL;
	int rc;

	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return 0;
		} else if (strcmp(argv[i], "--json") == 0) {
			json = 1;
			in_files = 0;
		} else if (strcmp(argv[i], "--checkpoints") == 0) {
			in_files = 1;
		} else if (in_files && argv[i][0] != '-') {
			if (n_files == MAX_CHECKPOINT_FILES)
				return pw_cli_usage_error("peerwatt-audit verify",
				                          "at most %d checkpoint files",
				                          MAX_CHECKPOINT_FILES);
			files[n_files++] = argv[i];
		} else if (argv[i][0] != '-' && dbpath == NULL) {
			dbpath = argv[i];
		} else {
			return bad_arg("peerwatt-audit verify", argv[i]);
		}
	}
	if (dbpath == NULL || (in_files && n_files == 0))
		return pw_cli_usage_error("peerwatt-audit verify", "%s",
		                          dbpath == NULL ? "DB is required"
		                                         : "--checkpoints needs a FILE");
	if ((rc = open_db(dbpath, &db)) != 0)
		return rc;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		fatalx("out of memory");
	pw_err err = audit_verify(db, files, n_files, r);
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
		rc = print_json(r);
	else
		print_text(r);
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
