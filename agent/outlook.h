/*
 * outlook.h: the price outlook as the exchange signed it (docs/agent-energy.md
 * "Price outlook", docs/protocol.md QUERY SCHEDULE and topic MARKET): the
 * tariffs of the coming intervals, one rule per change, each from an
 * exchange-signed MARKET log entry.  Pure bookkeeping (no I/O, no clock):
 * the caller (agent/aoutlook.c) hands over each MARKET frame of one answer
 * or publication after xlink verified its signature; this module checks
 * that the frames describe this market and form an outlook (ascending,
 * within bounds, at most PW_SCHEDULE_MAX), and replaces the outlook held
 * only with a complete, consistent message: a message with one bad frame
 * changes nothing.  Unit-tested in tests/unit/test_outlook.c.
 * Not thread-safe (the agent's loop owns it).
 */
#ifndef AGENT_OUTLOOK_H
#define AGENT_OUTLOOK_H

#include <stddef.h>
#include <stdint.h>

#include "peerwatt/error.h"
#include "peerwatt/wire.h"

#define OUTLOOK_MAX PW_SCHEDULE_MAX

/* The rules of the intervals from `from_iv` up to the next rule's. */
struct outlook_rule {
	uint64_t from_iv;
	int32_t feedin_uper_kwh, retail_uper_kwh; /* floor <= ceiling; either may be negative */
	uint32_t fee_same_zone_uper_kwh, fee_default_uper_kwh;
	uint64_t signed_s; /* the MARKET entry's time_s */
};

/* What every frame must agree with: the agent's market. */
struct outlook_market {
	uint32_t interval_s, gate_s;
	const char *name; /* the market's name (checkpoint origin); NULL: not known yet */
};

struct outlook {
	size_t n;
	struct outlook_rule r[OUTLOOK_MAX];
	int64_t rx_ms;    /* when it was taken (the caller's clock); 0: none */
	uint64_t changes; /* outlooks taken that differed from the one before */
	char why[160];    /* why the last message was refused ("" none) */
};

/* One message being read (one per socket: an answer and a publication may
 * arrive interleaved). */
struct outlook_msg {
	int building, bad;
	size_t n;
	struct outlook_rule r[OUTLOOK_MAX];
	char why[160];
};

void outlook_init(struct outlook *o);

/* A new message starts (its first frame follows); one being read is
 * dropped. */
void outlook_begin(struct outlook_msg *g);

/*
 * One MARKET frame of the message being read, decoded and verified by the
 * caller.  PW_ERR_FIELD (why in o->why) when it is not this market's
 * (name, interval, gate), its bounds cross, it does not follow the one
 * before in ascending effective_interval, or it is one too many (why in
 * g->why): the whole message is then refused at outlook_end.  PW_ERR_STATE
 * when no message is being read.
 */
pw_err outlook_add(struct outlook_msg *g, const struct outlook_market *mk,
                   const struct pw_market *m);

/*
 * The message ended (its last frame was added).  `incomplete`: a frame of
 * it was dropped on the way (xlink).  PW_OK: the outlook held is now this
 * one (*changed 1 when its rules differ from the one before);
 * PW_ERR_FIELD / PW_ERR_LENGTH: refused (why in o->why), the one held stays.
 */
pw_err outlook_end(struct outlook *o, struct outlook_msg *g, int incomplete, int64_t now_ms,
                   int *changed);

/* The message being read is dropped (the link broke, the query was lost). */
void outlook_abort(struct outlook_msg *g);

/* The rule governing interval iv: 1 and *r, or 0 (none held, or iv before
 * the first rule). */
int outlook_rule_at(const struct outlook *o, uint64_t iv, struct outlook_rule *r);

/*
 * The rule governing interval iv when it is final: 1 and *r when a later
 * rule follows it in the outlook held (iv is before the last rule's
 * from_iv), else 0.  The exchange appends MARKET entries only after the
 * latest one's effective interval ("published is final", docs/market.md
 * "Tariff schedule"), so no entry it logs later can govern such an
 * interval, even one the agent has not seen yet; beyond the last rule, a
 * later entry may.
 */
int outlook_final_at(const struct outlook *o, uint64_t iv, struct outlook_rule *r);

#endif
