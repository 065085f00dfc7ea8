/*
 * adispute.h: the daemon's side of the household's checks (docs/agent-checks.md
 * "What the agent checks").  Gathers what agent/averify.c needs from the
 * agent's database (own orders and cancels, accepted trades, the ACKed
 * reading and its receipt; tariffs and fees from the log's entries through
 * agent/afee.c), refuses as truth whatever the
 * checks refuse, keeps it as evidence (tables results and disputes, which
 * `peerwatt-agent evidence` exports and `peerwatt-audit verify --agent`
 * reads), logs it loudly and feeds the status (exchange_lied,
 * statement_mismatch, log_fork, log_unproven).  Also proves every new
 * checkpoint consistent with the trusted ones around it before it is
 * trusted, asking again with backoff when the exchange refuses.
 *
 * Called by aexch.c (frames, queries), astatus.c (problems) and agentd.c
 * (open/close).  Single-threaded like the daemon.
 */
#ifndef AGENT_ADISPUTE_H
#define AGENT_ADISPUTE_H

#include <stddef.h>
#include <stdint.h>

#include "agent/agentd_int.h"

/* Problems are shown while the latest dispute of their kind is younger
 * than this (the evidence itself is kept for good). */
#define ADISPUTE_ALARM_MS (7 * 24 * 3600 * INT64_C(1000))
/* Unanswered consistency queries in a row (with the exchange otherwise
 * answering) before the checkpoint counts as refused. */
#define ADISPUTE_UNANSWERED_MAX 3

enum adispute_verdict {
	ADISPUTE_ACCEPT = 0, /* the household's truth: store it */
	ADISPUTE_DUPLICATE,  /* the same frame again: nothing to do */
	ADISPUTE_REFUSED,    /* refused as truth, kept as evidence, alarm */
	ADISPUTE_DEFER,      /* cannot be checked yet (its RESULT is asked first) */
};

pw_err adispute_open(struct agentd *a) __attribute__((warn_unused_result));
void adispute_close(struct agentd *a);

/* A verified RESULT part (frame as received, m decoded). */
enum adispute_verdict adispute_result(struct agentd *a, const uint8_t *frame, size_t len,
                                      const struct pw_msg *m, int64_t now);
/* A verified STATEMENT of this household. */
enum adispute_verdict adispute_statement(struct agentd *a, const uint8_t *frame, size_t len,
                                         const struct pw_statement *st, int64_t now);
/* A neighbour's COSIGN (from COSIGNED) of a size held with another root:
 * the exchange showed that neighbour another history (a fork). */
void adispute_cosign_fork(struct agentd *a, const uint8_t *frame, size_t len,
                          const struct pw_cosign *c, int64_t now);
/* An ACK's head (CHECKPOINT frame) not part of the history the exchange
 * publishes (agent/aheads.c): kept as evidence, LOG FORK; `detail` says why. */
void adispute_head_fork(struct agentd *a, const uint8_t *frame, size_t len,
                        const struct pw_checkpoint *h, const char *detail, int64_t now);
/* A second checkpoint of a size held with another root (a fork). */
void adispute_checkpoint_fork(struct agentd *a, const uint8_t *frame, size_t len,
                              const struct pw_checkpoint *cp, int64_t now);

/*
 * The query the checks need next, before the statements and proofs that
 * depend on it: a CONSISTENCY proof of the smallest unproven checkpoint
 * (from the trusted one below, then to the trusted one above), or the
 * RESULT of an interval whose statement is due and in which the household
 * had orders.  `latest` is the latest trusted checkpoint.  1: ask
 * (*kind, *qa, *qb); 0: nothing; -1: ask nothing else now (waiting).
 */
int adispute_next_query(struct agentd *a, const struct pw_checkpoint *latest, int64_t now,
                        uint8_t *kind, uint64_t *qa, uint64_t *qb);
/* The CONSISTENCY proof answering the query in flight (a->q). */
void adispute_consistency(struct agentd *a, const struct pw_proof *p, int64_t now);
/* The query in flight (CONSISTENCY or RESULT) was refused for good, or
 * got no answer in time. */
void adispute_query_refused(struct agentd *a, uint16_t reason, int64_t now);
void adispute_query_lost(struct agentd *a, int64_t now);

/* Sets the status bits (1u << ASTATUS_...) of the checks' problems, with
 * their messages, into *active and a->st_msg / a->st_action. */
void adispute_problems(struct agentd *a, int64_t now, unsigned *active);

#endif
