/*
 * awitness.h: the household witnesses the exchange's log (protocol 2 Part
 * C; docs/agent-checks.md "Witnessing the log").
 *
 * Cosigning: once the latest trusted checkpoint (agent/adispute.c proved it
 * consistent with the trusted ones around it, which include every one this
 * household cosigned) is larger than the last one it cosigned, a COSIGN of
 * it is stored in the outbox (stream OUTBOX_COSIGN, numbered by its tree
 * size) and sent like every request.  A checkpoint that is not trusted is
 * never cosigned, so the household never cosigns one inconsistent with
 * one it cosigned.
 *
 * Neighbours: every COSIGN of the PUB topic COSIGNED (its signature
 * verified by xlink) is compared with the checkpoint of its size this
 * household holds: another root is a fork (alarm, the frame kept in table
 * disputes for the auditor); the same root makes its author a witness
 * of that checkpoint, counted once its REGISTRY entry is proven in the
 * log (not revoked): a key the exchange made up is no neighbour.  The dashboard shows "log
 * witnessed by N neighbours" for the largest trusted checkpoint with a verified cosignature.
 *
 * Called by agentd.c (open, close, tick) and aexch.c (COSIGN frames).
 * Single-threaded like the daemon.
 */
#ifndef AGENT_AWITNESS_H
#define AGENT_AWITNESS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "agent/agentd_int.h"

/* Neighbours counted per checkpoint at most (the exchange's bound). */
#define AWITNESS_MAX PW_COSIGNED_MAX

pw_err awitness_open(struct agentd *a) __attribute__((warn_unused_result));
void awitness_close(struct agentd *a);
/* Cosign the latest trusted checkpoint when it is new. */
void awitness_tick(struct agentd *a, int64_t now);
/* A verified COSIGN frame of a neighbour (or our own) from COSIGNED. */
void awitness_on_cosign(struct agentd *a, const uint8_t *frame, size_t len, const struct pw_msg *m,
                        int64_t now);
/* The next query a cosignature's author needs before it counts: its
 * REGISTRY entry and proof (agent/afee.c answers them); 1 with *q set, 0
 * none.  Called by aexch.c when no query is in flight. */
int awitness_next_query(struct agentd *a, struct afee_query *q);
/* The dashboard's witnesses object: {count, tree_size, text}. */
json_t *awitness_json(const struct agentd *a);
/* The largest cosigned tree size and its witnesses (0, 0: none). */
void awitness_counts(const struct agentd *a, uint64_t *tree_size, unsigned *count);

#endif
