/*
 * pw-forge (tests/tools/pw-forge/, its parts in forge.h): the operator's
 * attacks on a copy of a real exchange database, made with the exchange's
 * own key, for tests of peerwatt-audit.
 *
 *   pw-forge DB EXKEY no-clear              never clear the last interval with
 *                                           trades: its RESULT removed, its
 *                                           statements re-signed as if nothing
 *                                           traded
 *   pw-forge DB EXKEY omit-statement PKHEX  the household's statement removed
 *   pw-forge DB EXKEY settle-early          the latest checkpoint re-signed one
 *                                           second before its interval's deadline
 *   pw-forge DB EXKEY served-statement      the statements table serves a
 *                                           re-signed statement the log lacks
 *   pw-forge DB EXKEY rekey NEWKEY          the whole history (MARKET and
 *                                           REGISTRY entries included) re-signed
 *                                           under NEWKEY, written into params
 *   pw-forge DB EXKEY rollback HHKEY        the household's last entry removed
 *   pw-forge DB EXKEY agentdb OUT HHKEY     OUT: the agent database household
 *                                           HHKEY would hold (agent/outbox.c and
 *                                           agent/aledger.c schema): its frames
 *                                           with the exchange's signed ACKs
 *                                           (times from the exchange's tables),
 *                                           its statements, the checkpoints
 *   pw-forge DB EXKEY statement-differs AGENTDB   the agent holds another
 *                                           signed statement than the log
 *   pw-forge DB EXKEY result-differs AGENTDB  the agent holds, as refused, a
 *                                           signed RESULT the log lacks
 *   pw-forge DB EXKEY late-ack AGENTDB      an ACK the agent holds re-signed
 *                                           at its order's gate
 *   pw-forge DB EXKEY reject-early AGENTDB HHKEY  the agent holds a REJECT
 *                                           gate_closed signed before the gate
 *   pw-forge DB EXKEY registry-rewrite PKHEX  the household's REGISTRY entry
 *                                           re-signed with another meter serial
 *                                           (table households too)
 *   pw-forge DB EXKEY register-late PKHEX   its REGISTRY entry moved after its
 *                                           first order
 *   pw-forge DB EXKEY revoke PKHEX          a REGISTRY entry revoking it logged
 *                                           before its last entry
 *   pw-forge DB EXKEY retro-tariff          a MARKET entry raising the retail
 *                                           tariff from the last traded interval
 *                                           on, appended (table params too)
 *   pw-forge DB EXKEY result-price DELTA    the last traded interval's RESULT
 *                                           re-signed with its clearing price
 *                                           moved by DELTA u/kWh (signed: a
 *                                           more negative price makes sellers
 *                                           pay more); statements left alone
 *   pw-forge DB EXKEY clear-early           the RESULT of the last traded
 *                                           interval moved right after its last
 *                                           order, where a checkpoint signed
 *                                           before its gate holds it (the empty
 *                                           RESULTs in between left out; no such
 *                                           checkpoint: exit 70)
 *   pw-forge DB EXKEY cosign-fork HHKEY [AGENTDB]  a split view: household
 *                                           HHKEY's COSIGN of the latest
 *                                           checkpoint's size with another root
 *                                           (the one it was shown) appended; with
 *                                           AGENTDB, kept there instead as a
 *                                           neighbour's cosignature that agent
 *                                           refused (disputes, cosign_fork)
 *
 * Removing entries rebuilds the log as a cheating operator would: leaves,
 * the served tables (statements, results) and every checkpoint re-signed
 * over the new log, so the database alone is consistent.  Each attack
 * prints where peerwatt-audit must name it ("entry N", "checkpoint N", ...).
 * Exit: 0, 64 usage, 70 on an internal failure.
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "forge.h"

static int attack(struct forge *f, int argc, char **argv);

int
main(int argc, char **argv)
{
	struct forge f = { 0 };
	if (argc < 4) {
		fprintf(stderr, "usage: pw-forge DB EXKEY ATTACK [ARGS] (see the source)\n");
		return 64;
	}
	if (sodium_init() < 0)
		die("sodium");
	f.path = argv[1];
	load(&f, argv[1], argv[2]);
	int rc = attack(&f, argc, argv);
	for (size_t i = 0; i < f.n; i++)
		free(f.e[i].frame);
	free(f.e);
	sqlite3_close(f.db);
	return rc;
}

static int
attack(struct forge *fp, int argc, char **argv)
{
	const char *k = argv[3];
	if (strcmp(k, "no-clear") == 0)
		return no_clear(fp);
	if (strcmp(k, "omit-statement") == 0 && argc == 5)
		return omit_statement(fp, argv[4]);
	if (strcmp(k, "settle-early") == 0)
		return settle_early(fp);
	if (strcmp(k, "served-statement") == 0)
		return served_statement(fp);
	if (strcmp(k, "rekey") == 0 && argc == 5)
		return rekey(fp, argv[4]);
	if (strcmp(k, "rollback") == 0 && argc == 5)
		return rollback(fp, argv[4]);
	if (strcmp(k, "agentdb") == 0 && argc == 6) {
		int rc = agentdb(fp, argv[4], argv[5]);
		return rc;
	}
	if (strcmp(k, "statement-differs") == 0 && argc == 5)
		return statement_differs(fp, argv[4]);
	if (strcmp(k, "result-differs") == 0 && argc == 5)
		return result_differs(fp, argv[4]);
	if (strcmp(k, "late-ack") == 0 && argc == 5)
		return late_ack(fp, argv[4]);
	if (strcmp(k, "reject-early") == 0 && argc == 6)
		return reject_early(fp, argv[4], argv[5]);
	if (strcmp(k, "registry-rewrite") == 0 && argc == 5)
		return registry_rewrite(fp, argv[4]);
	if (strcmp(k, "register-late") == 0 && argc == 5)
		return register_late(fp, argv[4]);
	if (strcmp(k, "revoke") == 0 && argc == 5)
		return revoke(fp, argv[4]);
	if (strcmp(k, "retro-tariff") == 0)
		return retro_tariff(fp);
	if (strcmp(k, "clear-early") == 0)
		return clear_early(fp);
	if (strcmp(k, "cosign-fork") == 0 && (argc == 5 || argc == 6))
		return cosign_fork(fp, argv[4], argc == 6 ? argv[5] : NULL);
	if (strcmp(k, "result-price") == 0 && argc == 5)
		return result_price(fp, argv[4]);
	fprintf(stderr, "pw-forge: unknown attack or arguments\n");
	return 64;
}
