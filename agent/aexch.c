/*
 * aexch.c: the agent's side of the exchange link (see agentd_int.h,
 * docs/agent.md "Outbox" and "Verification").  Owns sending: the oldest
 * pending outbox item of each stream (one in flight per stream, resent on
 * timeout with backoff, orders dropped past their gate) and one query at a
 * time (latest checkpoint, consistency, missing statements, inclusion
 * proofs); and receiving: ACK/REJECT, statements, checkpoints, proofs,
 * results and depth, each verified by xlink first.  Called by the loop in
 * agentd.c; aexch_reachable also by the dashboard's state (adash.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/adispute.h"
#include "agent/agentd_int.h"
#include "agent/awitness.h"
#include "peerwatt/fmt.h"
#include "peerwatt/merkle.h"
#include "peerwatt/money.h"

static int64_t
backoff_ms(const struct agentd *a, uint32_t attempts)
{
	int64_t d = a->cfg.reply_timeout_ms;
	for (uint32_t i = 1; i < attempts && d < 60000; i++)
		d *= 2;
	return d > 60000 ? 60000 : d;
}

void
aexch_pump_stream(struct agentd *a, enum outbox_stream s, int64_t now)
{
	struct outbox_item it;
	struct inflight *f = &a->fl[s];
	pw_err rc;

	if (f->active && now - f->sent_ms < a->cfg.reply_timeout_ms)
		return;
	f->active = 0;
	for (;;) {
		if (outbox_next(a->ob, s, &it) != PW_OK)
			return;
		if (it.type != PW_MSG_METER && it.type != PW_MSG_COSIGN &&
		    agentd_gate_ms(a, it.interval) <= now) {
			/* the exchange would refuse it; later numbers stay higher */
			if (outbox_settle(a->ob, s, it.seq, OUTBOX_DROPPED, PW_REASON_GATE_CLOSED,
			                  OUTBOX_NO_INDEX) != PW_OK)
				return;
			char ivs[PW_FMT_LEN];
			pw_fmt_interval(it.interval, a->cfg.interval_s, ivs, sizeof(ivs));
			log_warnx("%s %llu for interval %s dropped: gate closed before delivery",
			          pw_msg_type_name(it.type), (unsigned long long)it.seq, ivs);
			continue;
		}
		break;
	}
	if (it.next_ms > now)
		return;
	rc = xlink_send(a->xl, it.frame, it.len);
	if (rc == PW_ERR_FULL)
		return; /* not connected: try again on the next turn */
	if (rc != PW_OK)
		return;
	f->active = 1;
	f->seq = it.seq;
	f->sent_ms = now;
	if (outbox_sent(a->ob, s, it.seq, now + backoff_ms(a, it.attempts + 1)) != PW_OK)
		log_warnx("outbox: cannot count a send");
	if (it.attempts > 0)
		log_info("resent %s %llu (attempt %u)", pw_msg_type_name(it.type),
		         (unsigned long long)it.seq, it.attempts + 1);
}

/* A query; `key` (NULL: all zero) for the kinds that use it. */
static void
send_query_key(struct agentd *a, uint8_t kind, uint64_t qa, uint64_t qb,
               const uint8_t key[PW_PK_LEN], int fee, int64_t now)
{
	struct pw_msg m;
	uint8_t frame[PW_WIRE_MAX_REQUEST];
	size_t len;

	memset(&m, 0, sizeof(m));
	m.type = PW_MSG_QUERY;
	m.u.query.nonce = ++a->nonce;
	m.u.query.kind = kind;
	m.u.query.a = qa;
	m.u.query.b = qb;
	if (key != NULL)
		memcpy(m.u.query.key, key, PW_PK_LEN);
	if (pw_wire_encode(&m, (uint64_t)a->cfg.market_id, &a->kp, frame, sizeof(frame), &len) !=
	    PW_OK)
		return;
	if (xlink_send(a->xl, frame, len) != PW_OK)
		return;
	a->q.active = 1;
	a->q.nonce = m.u.query.nonce;
	a->q.kind = kind;
	a->q.a = qa;
	a->q.b = qb;
	memcpy(a->q.key, m.u.query.key, PW_PK_LEN);
	a->q.fee = fee;
	a->q.head = 0;
	a->q.sent_ms = now;
}

static void
send_query(struct agentd *a, uint8_t kind, uint64_t qa, uint64_t qb, int64_t now)
{
	send_query_key(a, kind, qa, qb, NULL, 0, now);
}

void
aexch_pump_queries(struct agentd *a, int64_t now)
{
	struct pw_checkpoint cp;
	struct outbox_item it;
	uint64_t iv, qa, qb;
	uint8_t kind;
	int r;

	if (a->q.active) {
		if (now - a->q.sent_ms < a->cfg.reply_timeout_ms)
			return;
		a->q.active = 0; /* lost: ask again below */
		if (a->q.head)
			aheads_lost(a, now);
		else if (a->q.kind == PW_QUERY_SCHEDULE)
			aoutlook_query_lost(a);
		else
			adispute_query_lost(a, now);
	}
	if (a->want_checkpoint) {
		send_query(a, PW_QUERY_CHECKPOINT, 0, 0, now);
		return;
	}
	if (aledger_latest_checkpoint(a->led, &cp) != PW_OK)
		return;
	/* what the household's checks need first: consistency proofs of new
	 * checkpoints, the RESULT of a statement due (agent/adispute.c) */
	if ((r = adispute_next_query(a, &cp, now, &kind, &qa, &qb)) != 0) {
		if (r > 0)
			send_query(a, kind, qa, qb, now);
		return;
	}
	/* the rules and zones the statement due is checked with (agent/afee.c) */
	struct afee_query fq;
	if (afee_next_query(a, &cp, &fq)) {
		send_query_key(a, fq.kind, fq.a, fq.b, fq.key, 1, now);
		return;
	}
	/* the REGISTRY entries of the neighbours who cosigned (agent/awitness.c),
	 * answered and proven like the fee's (the same table) */
	if (awitness_next_query(a, &fq)) {
		send_query_key(a, fq.kind, fq.a, fq.b, fq.key, 1, now);
		return;
	}
	uint8_t rk;
	uint64_t ra, rb;
	if (aregistry_next_query(a, &cp, &rk, &ra, &rb)) { /* our registry entry */
		send_query(a, rk, ra, rb, now);
		return;
	}
	if (aledger_missing_statement(a->led, a->stmt_after, cp.interval, &iv) == PW_OK) {
		send_query(a, PW_QUERY_STATEMENT, iv, 0, now);
		return;
	}
	if (outbox_unproven(a->ob, cp.tree_size, a->proof_after, &it) == PW_OK) {
		send_query(a, PW_QUERY_INCLUSION, it.log_index, cp.tree_size, now);
		a->q.stream = it.stream;
		a->q.seq = it.seq;
		return;
	}
	/* a statement of an interval the checkpoint has settled is in its
	 * tree: the exchange appends the statements, then signs the
	 * checkpoint, in one transaction */
	if (aledger_unproven_statement(a->led, a->stmt_proof_after, cp.interval, &iv) == PW_OK) {
		send_query(a, PW_QUERY_STATEMENT_PROOF, iv, cp.tree_size, now);
		return;
	}
	/* the price outlook (agent/aoutlook.c): at start, after a
	 * re-connection, or when no publication came for a while; every
	 * interval start publishes it anyway, so it waits for the rest */
	if (aoutlook_next_query(a, now, &qa)) {
		send_query(a, PW_QUERY_SCHEDULE, qa, 0, now);
		return;
	}
	/* last, when nothing else is due: the heads of the ACKs held, each
	 * proven a prefix of the latest trusted checkpoint (agent/aheads.c) */
	if (aheads_next_query(a, &cp, now, &qa, &qb) > 0) {
		send_query(a, PW_QUERY_CONSISTENCY, qa, qb, now);
		a->q.head = a->q.active;
	}
}

/* ---- receiving ------------------------------------------------------ */

/* outbox_resequence: the same reading under the number before it. */
static pw_err
resign_meter(void *ctx, uint64_t new_seq, const uint8_t *old, size_t old_len, uint8_t *frame,
             size_t cap, size_t *len)
{
	struct agentd *a = ctx;
	struct pw_msg m;
	pw_err rc;

	if ((rc = pw_wire_decode_stored(old, old_len, &m)) != PW_OK)
		return rc;
	if (m.type != PW_MSG_METER)
		return PW_ERR_TYPE;
	m.u.meter.seq = new_seq;
	return pw_wire_encode(&m, (uint64_t)a->cfg.market_id, &a->kp, frame, cap, len);
}

static int
transient(uint16_t reason)
{
	return reason == PW_REASON_RATE_LIMITED || reason == PW_REASON_UNAVAILABLE ||
	       reason == PW_REASON_METER_TOO_EARLY;
}

static const char *
query_name(uint8_t kind)
{
	switch (kind) {
	case PW_QUERY_STATEMENT:
		return "statement";
	case PW_QUERY_STATEMENT_PROOF:
		return "statement proof";
	case PW_QUERY_INCLUSION:
		return "inclusion proof";
	case PW_QUERY_CONSISTENCY:
		return "consistency proof";
	case PW_QUERY_CHECKPOINT:
		return "checkpoint";
	case PW_QUERY_RESULT:
		return "result";
	case PW_QUERY_REGISTRY:
		return "registry entry";
	case PW_QUERY_REGISTRY_PROOF:
		return "registry proof";
	case PW_QUERY_MARKET:
		return "market entry";
	case PW_QUERY_MARKET_PROOF:
		return "market proof";
	case PW_QUERY_SCHEDULE:
		return "price outlook";
	default:
		return "query";
	}
}

/*
 * A REJECT of the query in flight.  A transient one (the exchange's rate
 * limit, its store failing) says nothing about the item: the query stays
 * outstanding, so aexch_pump_queries() asks again after reply_timeout_ms exactly
 * as for a lost answer (no tight loop of re-asks), and no cursor moves.
 * Any other refusal is final until the agent restarts.
 */
static void
on_query_refused(struct agentd *a, uint16_t reason)
{
	struct qdeferred *d = &a->qdefer;

	if (transient(reason)) {
		if (d->set && d->kind == a->q.kind && d->a == a->q.a && d->b == a->q.b) {
			log_debug("query %s %llu refused again: %s, asking again later",
			          query_name(a->q.kind), (unsigned long long)a->q.a,
			          pw_reason_name(reason));
			return;
		}
		d->set = 1;
		d->kind = a->q.kind;
		d->a = a->q.a;
		d->b = a->q.b;
		log_info("query %s %llu refused: %s, asking again later", query_name(a->q.kind),
		         (unsigned long long)a->q.a, pw_reason_name(reason));
		return;
	}
	a->q.active = 0;
	log_warnx("query %s %llu refused: %s", query_name(a->q.kind), (unsigned long long)a->q.a,
	          pw_reason_name(reason));
	if (a->q.head)
		aheads_refused(a, agentd_now_ms(a));
	else if (a->q.kind == PW_QUERY_SCHEDULE)
		aoutlook_query_refused(a, reason, agentd_now_ms(a));
	else if (a->q.kind == PW_QUERY_STATEMENT)
		a->stmt_after = a->q.a;
	else if (a->q.kind == PW_QUERY_STATEMENT_PROOF)
		a->stmt_proof_after = a->q.a;
	else if (a->q.kind == PW_QUERY_INCLUSION)
		a->proof_after = a->q.a + 1;
	else if (a->q.kind == PW_QUERY_CONSISTENCY || a->q.kind == PW_QUERY_RESULT)
		adispute_query_refused(a, reason, agentd_now_ms(a));
	else if (a->q.kind == PW_QUERY_CHECKPOINT)
		a->want_checkpoint = 0; /* none yet: the PUB brings one */
	else if (a->q.fee)
		afee_refused(a, reason);
	else if (a->q.kind == PW_QUERY_REGISTRY || a->q.kind == PW_QUERY_REGISTRY_PROOF)
		aregistry_refused(a, a->q.kind, a->q.b, reason);
}

/*
 * An ACK counts only when its receipt proves the request: the leaf of the
 * frame we sent, with the ACK's path at its log index, gives the root of
 * the head the exchange signed (docs/protocol.md "Checking a receipt").
 * Anything else is logged loudly, shown as receipt_unproven and treated as
 * no reply.  A proven ACK's head is kept as evidence (with the ACK, and in
 * the checkpoints file).
 */
static void append_checkpoint_file(struct agentd *a, const uint8_t *frame, size_t len);

static int
ack_proves(struct agentd *a, const struct pw_msg *m, const uint8_t *frame, size_t len,
           const struct outbox_item *it, int64_t now)
{
	const struct pw_receipt *r = &m->u.receipt;
	pw_err rc = pw_wire_ack_check(m, it->frame, it->len);

	if (rc != PW_OK) {
		a->receipts_bad++;
		a->receipt_bad_ms = now;
		snprintf(a->receipt_bad, sizeof(a->receipt_bad),
		         "%s %llu (log index %llu, head of"
		         " %llu entries)",
		         pw_msg_type_name(it->type), (unsigned long long)it->seq,
		         (unsigned long long)r->log_index, (unsigned long long)r->head.tree_size);
		log_error("ACK of %s does not prove it in the exchange's signed head: %s; not"
		          " taken, the request is sent again",
		          a->receipt_bad, pw_strerror(rc));
		return 0;
	}
	a->receipt_ok_ms = now;
	/* the head is kept with the ACK (table receipts) and in the checkpoints
	 * file, both checked against the log by peerwatt-audit, and proven a
	 * prefix of the history the exchange publishes (agent/aheads.c) */
	append_checkpoint_file(a, frame + len - PW_CHECKPOINT_FRAME_LEN, PW_CHECKPOINT_FRAME_LEN);
	aheads_add(a, frame + len - PW_CHECKPOINT_FRAME_LEN, PW_CHECKPOINT_FRAME_LEN, &r->head,
	           now);
	return 1;
}

static void
on_receipt(struct agentd *a, const struct pw_msg *m, const uint8_t *frame, size_t len, int64_t now)
{
	const struct pw_receipt *r = &m->u.receipt;
	enum outbox_stream s;
	struct outbox_item it;
	uint8_t h[PW_HASH_LEN];
	int ack = m->type == PW_MSG_ACK;

	if (r->ref_type == PW_MSG_QUERY) {
		if (!a->q.active || r->ref_seq != a->q.nonce)
			return;
		on_query_refused(a, r->reason);
		return;
	}
	if (r->ref_type == PW_MSG_ORDER || r->ref_type == PW_MSG_CANCEL)
		s = OUTBOX_ORDERS;
	else if (r->ref_type == PW_MSG_METER)
		s = OUTBOX_METER;
	else if (r->ref_type == PW_MSG_COSIGN)
		s = OUTBOX_COSIGN;
	else
		return;
	if (outbox_get(a->ob, s, r->ref_seq, &it) != PW_OK)
		return;
	pw_sha256(it.frame, it.len, h);
	if (memcmp(h, r->ref_hash, PW_HASH_LEN) != 0) {
		log_error("%s for %s %llu does not answer the frame we stored: ignored",
		          ack ? "ACK" : "REJECT", pw_msg_type_name(r->ref_type),
		          (unsigned long long)r->ref_seq);
		return;
	}
	if (ack && !ack_proves(a, m, frame, len, &it, now))
		return; /* as if unanswered: sent again after its timeout */
	if (a->fl[s].active && a->fl[s].seq == it.seq)
		a->fl[s].active = 0;
	a->next_pump_ms = 0;
	if (it.state != OUTBOX_PENDING)
		return; /* a late duplicate answer */
	/* the signed answer is the household's evidence (docs/audit.md) */
	if (!transient(r->reason))
		CHECKED(outbox_keep_receipt(a->ob, s, it.seq, frame, len));
	if (ack) {
		CHECKED(outbox_settle(a->ob, s, it.seq, OUTBOX_ACKED, 0, r->log_index));
		if (s == OUTBOX_METER)
			a->serial_refused = 0;
		log_debug("ACK %s %llu: log index %llu", pw_msg_type_name(it.type),
		          (unsigned long long)it.seq, (unsigned long long)r->log_index);
		/* the page shows the order as acknowledged right away */
		if (a->dash != NULL && s == OUTBOX_ORDERS)
			(void)dash_notify(a->dash, DASH_DOC_ORDERS);
		return;
	}
	if (r->reason == PW_REASON_REPLAY && it.attempts > 0) {
		/* Sent before, one in flight, in order: the exchange can only
		 * know this number from this frame (docs/agent.md "Outbox"). */
		CHECKED(outbox_settle(a->ob, s, it.seq, OUTBOX_ACKED, 0, OUTBOX_NO_INDEX));
		log_info("%s %llu: replay of a frame already accepted; delivered",
		         pw_msg_type_name(it.type), (unsigned long long)it.seq);
		return;
	}
	if (transient(r->reason)) {
		CHECKED(outbox_sent(a->ob, s, it.seq, now + backoff_ms(a, it.attempts + 1)));
		log_info("%s %llu: %s, retrying", pw_msg_type_name(it.type),
		         (unsigned long long)it.seq, pw_reason_name(r->reason));
		return;
	}
	CHECKED(outbox_settle(a->ob, s, it.seq, OUTBOX_REJECTED, r->reason, OUTBOX_NO_INDEX));
	if (s == OUTBOX_COSIGN) {
		/* unknown_head: the exchange denies a checkpoint it signed */
		log_error(
		    "the exchange refused our cosignature of its checkpoint of tree size %llu:"
		    " %s",
		    (unsigned long long)it.seq, pw_reason_name(r->reason));
		return;
	}
	char ivs[PW_FMT_LEN];
	pw_fmt_interval(it.interval, a->cfg.interval_s, ivs, sizeof(ivs));
	if (s == OUTBOX_METER) {
		pw_err rrc;
		struct pw_msg sent;
		log_error("reading %llu for interval %s rejected: %s", (unsigned long long)it.seq,
		          ivs, pw_reason_name(r->reason));
		if (r->reason == PW_REASON_METER_SERIAL &&
		    pw_wire_decode_stored(it.frame, it.len, &sent) == PW_OK &&
		    sent.type == PW_MSG_METER) {
			a->serial_refused = 1;
			a->serial_iv = it.interval;
			memset(a->serial_sent, 0, sizeof(a->serial_sent));
			memcpy(a->serial_sent, sent.u.meter.serial, PW_SERIAL_LEN);
		}
		/* the exchange wants readings numbered without gaps: the next
		 * (never sent) readings take over this number */
		rrc = outbox_resequence(a->ob, OUTBOX_METER, it.seq, resign_meter, a);
		if (rrc != PW_OK)
			log_error("cannot renumber the readings after %llu: %s",
			          (unsigned long long)it.seq, pw_strerror(rrc));
		else
			log_warnx("readings after %llu renumbered from %llu",
			          (unsigned long long)it.seq, (unsigned long long)it.seq);
	} else
		log_warnx("%s %llu for interval %s rejected: %s", pw_msg_type_name(it.type),
		          (unsigned long long)it.seq, ivs, pw_reason_name(r->reason));
	if (a->dash != NULL)
		(void)dash_notify(a->dash, DASH_DOC_ORDERS);
}

static void
on_statement(struct agentd *a, const uint8_t *frame, size_t len, const struct pw_msg *m)
{
	const struct pw_statement *st = &m->u.statement;
	char net[32];
	pw_err rc;

	if (a->q.active && a->q.kind == PW_QUERY_STATEMENT && a->q.a == st->interval)
		a->q.active = 0;
	if (memcmp(st->household, a->kp.pk, PW_PK_LEN) != 0) {
		log_warnx("statement for another household ignored");
		return;
	}
	/* recomputed from the household's own trades and reading first */
	if (adispute_statement(a, frame, len, st, agentd_now_ms(a)) != ADISPUTE_ACCEPT)
		return;
	rc = aledger_add_statement(a->led, frame, len, st);
	if (rc == PW_ERR_EXISTS)
		return;
	if (rc == PW_ERR_CORRUPT) {
		a->forks++;
		log_error("EXCHANGE SIGNED TWO DIFFERENT STATEMENTS for interval %llu",
		          (unsigned long long)st->interval);
		return;
	}
	if (rc != PW_OK)
		return;
	a->statements++;
	pw_money_format(st->net_u, net, sizeof(net));
	char ivs[PW_FMT_LEN];
	pw_fmt_interval(st->interval, a->cfg.interval_s, ivs, sizeof(ivs));
	log_info("statement for interval %s: bought %llu Wh, sold %llu Wh, exported %llu Wh,"
	         " imported %llu Wh, net %s%s",
	         ivs, (unsigned long long)st->bought_wh, (unsigned long long)st->sold_wh,
	         (unsigned long long)st->export_wh, (unsigned long long)st->import_wh, net,
	         (st->flags & PW_STMT_READING_MISSING) ? " (reading missing)" : "");
	if (a->dash != NULL) {
		(void)dash_notify(a->dash, DASH_DOC_STATEMENTS);
		(void)dash_notify(a->dash, DASH_DOC_TODAY);
	}
}

static void
append_checkpoint_file(struct agentd *a, const uint8_t *frame, size_t len)
{
	char line[2 * 512 + 2];
	int fd;

	if (a->cfg.checkpoints[0] == '\0' || len > 512)
		return;
	pw_hex_encode(frame, len, line);
	line[2 * len] = '\n';
	/* docs/audit.md: O_APPEND, one write per line; never through a symlink
	 * (a planted link would make the agent append to a file of its choice) */
	fd = open(a->cfg.checkpoints, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0) {
		log_rated(&a->rate_ckpt, LOG_LEVEL_ERR, "checkpoints file %s: %s%s",
		          a->cfg.checkpoints, strerror(errno),
		          errno == ELOOP ? " (a symlink: refused)" : "");
		return;
	}
	if (write(fd, line, 2 * len + 1) != (ssize_t)(2 * len + 1))
		log_warn("%s: write", a->cfg.checkpoints);
	close(fd);
}

/*
 * A signed tree head: a CHECKPOINT (published or answered) or the head of
 * an ACK.  Stored with the others and, like them, proven consistent with
 * the trusted ones around it before it is trusted; one of a size held with
 * another root is a fork.
 */
static void
take_checkpoint(struct agentd *a, const uint8_t *frame, size_t len, const struct pw_checkpoint *cp,
                const char *what)
{
	pw_err rc = aledger_add_checkpoint(a->led, frame, len, cp);
	if (rc == PW_ERR_EXISTS)
		return;
	if (rc == PW_ERR_CORRUPT) {
		log_error("LOG FORK: two signed heads of tree size %llu with different roots"
		          " (the second a %s)",
		          (unsigned long long)cp->tree_size, what);
		adispute_checkpoint_fork(a, frame, len, cp, agentd_now_ms(a));
		append_checkpoint_file(a, frame, len); /* evidence for the auditor */
		return;
	}
	if (rc != PW_OK)
		return;
	append_checkpoint_file(a, frame, len);
	log_debug("%s: interval %llu, tree size %llu", what, (unsigned long long)cp->interval,
	          (unsigned long long)cp->tree_size);
}

static void
on_checkpoint(struct agentd *a, const uint8_t *frame, size_t len, const struct pw_msg *m)
{
	if (a->q.active && a->q.kind == PW_QUERY_CHECKPOINT)
		a->q.active = 0;
	a->want_checkpoint = 0;
	take_checkpoint(a, frame, len, &m->u.checkpoint, "checkpoint");
}

static void
on_proof(struct agentd *a, const struct pw_msg *m)
{
	const struct pw_proof *p = &m->u.proof;
	uint8_t root[PW_HASH_LEN], leaf[PW_HASH_LEN];
	struct outbox_item it;
	pw_err rc;

	/* a STATEMENT_PROOF or REGISTRY_PROOF answer names the leaf index in
	 * `a`; the others echo it */
	if (!a->q.active || p->nonce != a->q.nonce || p->b != a->q.b ||
	    (a->q.kind != PW_QUERY_STATEMENT_PROOF && a->q.kind != PW_QUERY_REGISTRY_PROOF &&
	     a->q.kind != PW_QUERY_MARKET_PROOF && p->a != a->q.a))
		return;
	a->q.active = 0;
	if (a->q.fee) {
		afee_on_proof(a, p);
		return;
	}
	if (a->q.kind == PW_QUERY_REGISTRY_PROOF) {
		aregistry_on_proof(a, p);
		return;
	}
	if (a->q.kind == PW_QUERY_STATEMENT_PROOF && p->kind == PW_PROOF_INCLUSION) {
		uint8_t sframe[1024]; /* a STATEMENT frame is 258 bytes */
		size_t slen;
		/* the exact bytes we hold, not the exchange's word for them */
		if (aledger_root(a->led, p->b, root) != PW_OK ||
		    aledger_statement_frame(a->led, a->q.a, sframe, sizeof(sframe), &slen) != PW_OK)
			return;
		merkle_leaf_hash(sframe, slen, leaf);
		rc = merkle_verify_inclusion(p->a, p->b, leaf,
		                             (const uint8_t(*)[MERKLE_HASH_LEN])p->hashes,
		                             p->n_hashes, root);
		if (rc == PW_OK) {
			a->proofs_ok++;
			CHECKED(aledger_set_statement_proof(a->led, a->q.a, p->a, 1));
			log_debug("inclusion of the statement for interval %llu at %llu verified",
			          (unsigned long long)a->q.a, (unsigned long long)p->a);
		} else {
			a->proofs_failed++;
			CHECKED(aledger_set_statement_proof(a->led, a->q.a, p->a, 2));
			log_error(
			    "INCLUSION PROOF FAILED: statement for interval %llu at log index "
			    "%llu is not in the checkpointed tree of size %llu",
			    (unsigned long long)a->q.a, (unsigned long long)p->a,
			    (unsigned long long)p->b);
		}
		if (a->dash != NULL)
			(void)dash_notify(a->dash, DASH_DOC_STATEMENTS);
	} else if (a->q.kind == PW_QUERY_INCLUSION && p->kind == PW_PROOF_INCLUSION) {
		if (aledger_root(a->led, p->b, root) != PW_OK ||
		    outbox_get(a->ob, a->q.stream, a->q.seq, &it) != PW_OK)
			return;
		merkle_leaf_hash(it.frame, it.len, leaf);
		rc = merkle_verify_inclusion(p->a, p->b, leaf,
		                             (const uint8_t(*)[MERKLE_HASH_LEN])p->hashes,
		                             p->n_hashes, root);
		if (rc == PW_OK) {
			a->proofs_ok++;
			CHECKED(outbox_set_proof(a->ob, it.stream, it.seq, OUTBOX_PROOF_OK));
			log_debug("inclusion of %s %llu at %llu verified",
			          pw_msg_type_name(it.type), (unsigned long long)it.seq,
			          (unsigned long long)p->a);
		} else {
			a->proofs_failed++;
			CHECKED(outbox_set_proof(a->ob, it.stream, it.seq, OUTBOX_PROOF_FAILED));
			log_error("INCLUSION PROOF FAILED: %s %llu at log index %llu is not in the "
			          "checkpointed tree of size %llu",
			          pw_msg_type_name(it.type), (unsigned long long)it.seq,
			          (unsigned long long)p->a, (unsigned long long)p->b);
		}
	} else if (a->q.head) {
		aheads_on_proof(a, p, agentd_now_ms(a));
	} else if (a->q.kind == PW_QUERY_CONSISTENCY && p->kind == PW_PROOF_CONSISTENCY) {
		adispute_consistency(a, p, agentd_now_ms(a));
	}
}

static void
on_depth(struct agentd *a, const struct pw_msg *m)
{
	int slot = 0;
	for (int i = 0; i < DEPTH_KEEP; i++) {
		if (a->depth[i].interval == m->u.depth.interval) {
			slot = i;
			break;
		}
		if (a->depth[i].interval < a->depth[slot].interval)
			slot = i;
	}
	a->depth[slot] = m->u.depth;
}

#define AEXCH_RX_BURST 64

/* The interval a frame of the exchange names, checked before anything
 * computes with it or stores it: sane (agentd_iv_ok), and market data no
 * further ahead than orders are taken.  A frame that fails is dropped and
 * logged at most once per LOG_RATE_MS (even signed: the key may leak). */
static int
wire_iv_ok(struct agentd *a, const struct pw_msg *m, int64_t now)
{
	uint64_t iv, ahead = (uint64_t)(now / agentd_interval_ms(a)) + agentd_ahead_ivs(a) + 1;

	switch (m->type) {
	case PW_MSG_RESULT:
		iv = m->u.result.interval;
		break;
	case PW_MSG_DEPTH:
		iv = m->u.depth.interval;
		if (iv > ahead)
			goto bad;
		break;
	case PW_MSG_STATEMENT:
		iv = m->u.statement.interval;
		break;
	case PW_MSG_CHECKPOINT:
		iv = m->u.checkpoint.interval;
		break;
	default:
		return 1;
	}
	if (agentd_iv_ok(a, iv))
		return 1;
bad:
	log_rated(&a->rate_wire, LOG_LEVEL_ERR,
	          "dropped a %s of the exchange for interval %llu: out of range",
	          pw_msg_type_name(m->type), (unsigned long long)iv);
	return 0;
}

void
aexch_receive(struct agentd *a, int from_sub, int64_t now)
{
	const uint8_t *frame;
	size_t len;
	struct pw_msg *m = malloc(sizeof(*m));
	unsigned mine;

	if (m == NULL)
		return;
	/* At most AEXCH_RX_BURST frames per turn: a flood (every one costs a
	 * signature check) must not starve the dashboard and the device; the
	 * loop's zmq_poll comes straight back while frames wait. */
	for (int burst = 0;
	     burst < AEXCH_RX_BURST && xlink_recv(a->xl, from_sub, &frame, &len, m) == PW_OK;
	     burst++) {
		a->last_rx_ms = now;
		aoutlook_frame_seen(a, from_sub);
		if (!wire_iv_ok(a, m, now))
			continue;
		switch (m->type) {
		case PW_MSG_ACK:
		case PW_MSG_REJECT:
			on_receipt(a, m, frame, len, now);
			break;
		case PW_MSG_STATEMENT:
			on_statement(a, frame, len, m);
			break;
		case PW_MSG_CHECKPOINT:
			on_checkpoint(a, frame, len, m);
			break;
		case PW_MSG_PROOF:
			on_proof(a, m);
			break;
		case PW_MSG_REGISTRY:
		case PW_MSG_MARKET:
			/* the price outlook: published, or the SCHEDULE answer */
			if (m->type == PW_MSG_MARKET &&
			    (from_sub || (a->q.active && a->q.kind == PW_QUERY_SCHEDULE)))
				aoutlook_on_market(a, from_sub, m, now);
			else if (!from_sub && a->q.active && a->q.fee)
				afee_on_entry(a, frame, len, m);
			else if (m->type == PW_MSG_REGISTRY)
				aregistry_on_entry(a, frame, len, m);
			break;
		case PW_MSG_COSIGN:
			awitness_on_cosign(a, frame, len, m, now);
			break;
		case PW_MSG_RESULT:
			/* checked against the household's own orders first */
			if (adispute_result(a, frame, len, m, now) == ADISPUTE_ACCEPT &&
			    aledger_add_result(a->led, &m->u.result, a->kp.pk, &mine) == PW_OK &&
			    mine > 0) {
				char ivs[PW_FMT_LEN], ps[PW_FMT_LEN];
				pw_fmt_interval(m->u.result.interval, a->cfg.interval_s, ivs,
				                sizeof(ivs));
				pw_fmt_price(m->u.result.price_uper_kwh, ps, sizeof(ps));
				log_info("interval %s cleared at %s: %u trade(s) of ours", ivs, ps,
				         mine);
			}
			if (a->q.active && a->q.kind == PW_QUERY_RESULT)
				a->q.active = 0;
			if (a->dash != NULL) {
				(void)dash_notify(a->dash, DASH_DOC_MARKET);
				(void)dash_notify(a->dash, DASH_DOC_TRADES);
				(void)dash_notify(a->dash, DASH_DOC_TODAY);
				(void)dash_notify(a->dash, DASH_DOC_OUTLOOK); /* recent prices */
			}
			break;
		case PW_MSG_DEPTH:
			on_depth(a, m);
			break;
		case PW_MSG_HEARTBEAT:
			astatus_heartbeat(a, &m->u.heartbeat, now);
			break;
		default:
			break;
		}
	}
	free(m);
}

/* ---- dashboard ------------------------------------------------------ */

int
aexch_reachable(const struct agentd *a, int64_t now)
{
	/* the exchange publishes a HEARTBEAT every few seconds: silence is a
	 * stopped, hung or cut-off exchange, whatever the interval length */
	return a->last_rx_ms != 0 && now - a->last_rx_ms < AGENTD_EXCHANGE_TIMEOUT_MS;
}
