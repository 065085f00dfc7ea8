/*
 * evidence.c: `peerwatt-agent evidence --db AGENT_DB --out FILE`, the
 * household's evidence for an auditor without the rest of its database
 * (docs/agent.md "Evidence", docs/audit.md "Households' evidence").
 *
 * Copies, from the agent's database opened read-only, what
 * `peerwatt-audit verify --agent` reads: every answered ORDER, CANCEL and
 * METER the household signed with the exchange's signed ACK or REJECT
 * (tables outbox and receipts), and the statements and checkpoints it
 * verified, the RESULT parts it kept and what it refused as false (tables
 * results and disputes); nothing else (no settings, no prices, no dashboard
 * state).  FILE
 * is a new SQLite database (refused when it exists), created 0600.
 * Called by agent/main.c.  Exit: 0, 64 usage, 66 AGENT_DB cannot be read,
 * 73 FILE cannot be created.
 */
#include "agent/evidence.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "peerwatt/cli.h"

#define EX_NOINPUT   66
#define EX_CANTCREAT 73

static void
usage(FILE *fp)
{
	fprintf(fp,
	        "usage: peerwatt-agent evidence --db AGENT_DB --out FILE\n"
	        "  --db AGENT_DB   the agent's database ([agent] db), read only\n"
	        "  --out FILE      new SQLite file: the household's signed requests with the\n"
	        "                  exchange's signed ACK/REJECT, its statements and checkpoints,\n"
	        "                  the clearing results it kept and what it refused as false,\n"
	        "                  for peerwatt-audit verify ... --agent FILE\n");
}

static const char copy_sql[] =
    "CREATE TABLE outbox AS SELECT stream, seq, type, interval, frame, state, reason,"
    " log_index FROM src.outbox WHERE state IN (1, 2) ORDER BY stream, seq;"
    "CREATE TABLE receipts AS SELECT stream, seq, frame FROM src.receipts;"
    "CREATE TABLE statements AS SELECT interval, frame, log_index FROM src.statements"
    " ORDER BY interval;"
    "CREATE TABLE checkpoints AS SELECT tree_size, interval, frame FROM src.checkpoints"
    " ORDER BY tree_size;";

/* What the household refused as false, and the RESULT parts it kept whole
 * (agent/adispute.c); empty tables for a database of an older agent. */
static const char copy_disputes_sql[] =
    "CREATE TABLE results AS SELECT interval, part, frame FROM src.results"
    " WHERE frame IS NOT NULL ORDER BY interval, part;"
    "CREATE TABLE disputes AS SELECT id, type, interval, code, detail, frame, time_ms"
    " FROM src.disputes ORDER BY id;";
static const char empty_disputes_sql[] =
    "CREATE TABLE results(interval INTEGER, part INTEGER, frame BLOB);"
    "CREATE TABLE disputes(id INTEGER, type INTEGER, interval INTEGER, code TEXT,"
    " detail TEXT, frame BLOB, time_ms INTEGER);";

static int
src_has_disputes(sqlite3 *dst)
{
	sqlite3_stmt *st = NULL;
	int n = 0;
	if (sqlite3_prepare_v2(dst,
	                       "SELECT count(*) FROM src.sqlite_master WHERE type = 'table'"
	                       " AND name IN ('results', 'disputes')",
	                       -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return n == 2;
}

int
evidence_main(int argc, char **argv)
{
	const char *db = NULL, *out = NULL;
	sqlite3 *dst = NULL;
	char *msg = NULL;
	int fd, rc = 0;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return 0;
		} else if (strcmp(argv[i], "--db") == 0 && i + 1 < argc && db == NULL) {
			db = argv[++i];
		} else if (strcmp(argv[i], "--out") == 0 && i + 1 < argc && out == NULL) {
			out = argv[++i];
		} else {
			return pw_cli_usage_error("peerwatt-agent evidence",
			                          "unexpected argument '%s'", argv[i]);
		}
	}
	if (db == NULL || out == NULL)
		return pw_cli_usage_error("peerwatt-agent evidence", "%s is required",
		                          db == NULL ? "--db AGENT_DB" : "--out FILE");
	if (access(db, R_OK) != 0) {
		fprintf(stderr, "peerwatt-agent evidence: %s: %s\n", db, strerror(errno));
		return EX_NOINPUT;
	}
	/* a new file, only the household may read it */
	if ((fd = open(out, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0) {
		fprintf(stderr, "peerwatt-agent evidence: %s: %s\n", out, strerror(errno));
		return EX_CANTCREAT;
	}
	close(fd);
	if (sqlite3_open_v2(out, &dst, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
		fprintf(stderr, "peerwatt-agent evidence: %s: %s\n", out,
		        dst ? sqlite3_errmsg(dst) : "out of memory");
		rc = EX_CANTCREAT;
		goto out;
	}
	sqlite3_stmt *st = NULL;
	char uri[4200];
	if ((size_t)snprintf(uri, sizeof(uri), "file:%s?mode=ro", db) >= sizeof(uri) ||
	    sqlite3_prepare_v2(dst, "ATTACH ?1 AS src", -1, &st, NULL) != SQLITE_OK) {
		rc = EX_NOINPUT;
		goto out;
	}
	sqlite3_bind_text(st, 1, uri, -1, SQLITE_STATIC);
	int arc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (arc != SQLITE_DONE || sqlite3_exec(dst, "BEGIN", NULL, NULL, &msg) != SQLITE_OK ||
	    sqlite3_exec(dst, copy_sql, NULL, NULL, &msg) != SQLITE_OK ||
	    sqlite3_exec(dst, src_has_disputes(dst) ? copy_disputes_sql : empty_disputes_sql, NULL,
	                 NULL, &msg) != SQLITE_OK ||
	    sqlite3_exec(dst, "COMMIT", NULL, NULL, &msg) != SQLITE_OK) {
		fprintf(stderr,
		        "peerwatt-agent evidence: %s: not an agent database with receipts (%s)\n",
		        db, msg ? msg : sqlite3_errmsg(dst));
		rc = EX_NOINPUT;
		goto out;
	}
	printf("evidence of %s written to %s\n", db, out);
out:
	sqlite3_free(msg);
	sqlite3_close(dst);
	if (rc != 0)
		unlink(out);
	return rc;
}
