/*
 * tests/tools/pw-forge/forge.h: what the parts of pw-forge share (the log of
 * the exchange database as loaded, and the functions one part calls in
 * another):
 *   main.c     usage and the choice of the attack
 *   log.c      the log in memory: loading it, re-signing and inserting
 *              entries, writing it back with the served tables and every
 *              checkpoint re-signed (as a cheating operator would)
 *   history.c  attacks on the log's history: clearing, statements,
 *              checkpoints, the exchange key, a household's entries, a
 *              cosigned split view
 *   rules.c    attacks on the log's REGISTRY and MARKET entries
 *   agent.c    what a household's agent holds: its database, and the
 *              attacks on the evidence in it (statements, RESULTs, ACKs,
 *              REJECTs)
 *
 * What the tool does and its attacks: main.c.
 */
#ifndef PW_FORGE_H
#define PW_FORGE_H

#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "peerwatt/keys.h"
#include "peerwatt/wire.h"

#define MAX_ENTRIES (1u << 20)

struct ent {
	uint8_t *frame;
	size_t len;
	struct pw_msg msg;
	int drop;
	size_t orig; /* its index in the database; SIZE_MAX: inserted by the attack */
};

#define RECEIPT_MAX PW_RECEIPT_MAX_LEN

struct forge {
	sqlite3 *db;
	struct pw_keypair ex;
	uint64_t market_id;
	int64_t interval_s, gate_s, grace_s;
	int32_t feedin, retail;
	struct ent *e;
	size_t n;
	const char *path;
	int keep_first_cp; /* checkpoints that come to the same size: keep the first */
};

/* log.c */
_Noreturn void die(const char *what);
void sql(sqlite3 *db, const char *q);
void load(struct forge *f, const char *path, const char *key);
void resign(struct forge *f, struct ent *e, const struct pw_keypair *kp);
uint64_t new_index(const struct forge *f, size_t i);
uint64_t pos_index(const struct forge *f, size_t pos);
void insert_at(struct forge *f, size_t pos, const struct pw_msg *msg);
void rewrite(struct forge *f, const struct pw_keypair *kp, int64_t latest_time);
uint64_t traded_interval(struct forge *f);

/* history.c */
int no_clear(struct forge *f);
int omit_statement(struct forge *f, const char *pkhex);
int settle_early(struct forge *f);
int served_statement(struct forge *f);
int rekey(struct forge *f, const char *newkey);
int rollback(struct forge *f, const char *hhkey);
int clear_early(struct forge *f);
int cosign_fork(struct forge *f, const char *hhkey, const char *agent);
int result_price(struct forge *f, const char *delta_text);

/* rules.c */
int registry_rewrite(struct forge *f, const char *pkhex);
int register_late(struct forge *f, const char *pkhex);
int revoke(struct forge *f, const char *pkhex);
int retro_tariff(struct forge *f);

/* agent.c */
int agentdb(struct forge *f, const char *out, const char *hhkey);
int statement_differs(struct forge *f, const char *agent);
int result_differs(struct forge *f, const char *agent);
int late_ack(struct forge *f, const char *agent);
int reject_early(struct forge *f, const char *agent, const char *hhkey);

#endif
