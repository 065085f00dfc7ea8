/*
 * engine_query.c: the exchange's answers to QUERY (statements, proofs,
 * RESULT parts, registry and market entries, cosignatures, the price
 * outlook), the COSIGNED and MARKET publications and the rate-limited log line of each REJECT.
 * Called by engine.c after a batch's COMMIT.
 */
#include "exchange/engine_int.h"
#include "exchange/cosign.h"
#include "exchange/xrules.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "peerwatt/log.h"

static uint64_t
msg_interval(const struct pw_msg *m)
{
	switch (m->type) {
	case PW_MSG_ORDER:
		return m->u.order.interval;
	case PW_MSG_CANCEL:
		return m->u.cancel.interval;
	case PW_MSG_METER:
		return m->u.meter.interval;
	default:
		return 0;
	}
}

/*
 * One info line per REJECT (docs/exchange.md "Logging"): who, what, why and
 * for which interval; a meter_serial refusal names both serials.  At most
 * ENGINE_REJECT_LOG_PER_S lines a second: a flood of bad requests must not
 * flood the log, so the rest are counted and summed up once the second is
 * over.
 */
void
engine_log_reject(struct engine *e, const struct engine_slot *s, int64_t now_s)
{
	char who[80], serial[PW_SERIAL_LEN + 1], extra[128] = "";

	if (now_s != e->rejlog_s) {
		if (e->rejlog_skipped > 0)
			log_info("engine: %llu more REJECTs in the last second not logged",
			         (unsigned long long)e->rejlog_skipped);
		e->rejlog_s = now_s;
		e->rejlog_n = 0;
		e->rejlog_skipped = 0;
	}
	if (e->rejlog_n >= ENGINE_REJECT_LOG_PER_S) {
		e->rejlog_skipped++;
		return;
	}
	e->rejlog_n++;
	if (s->h != NULL) {
		snprintf(who, sizeof(who), "household %s", s->h->id);
	} else if (s->decoded) {
		char hex[2 * PW_PK_LEN + 1];
		pw_hex_encode(s->msg.author, PW_PK_LEN, hex);
		snprintf(who, sizeof(who), "key %.16s...", hex);
	} else {
		snprintf(who, sizeof(who), "connection of %s",
		         s->req.user_id[0] != '\0' ? s->req.user_id : "an unknown household");
	}
	if (s->decoded && s->msg.type == PW_MSG_METER && s->reason == PW_REASON_METER_SERIAL &&
	    s->h != NULL) {
		memcpy(serial, s->msg.u.meter.serial, PW_SERIAL_LEN);
		serial[PW_SERIAL_LEN] = '\0';
		snprintf(extra, sizeof(extra), ": reading serial \"%s\", registered \"%s\"", serial,
		         s->h->serial);
	}
	if (s->decoded && s->msg.type == PW_MSG_QUERY)
		log_info("engine: REJECT QUERY nonce %llu of %s: %s",
		         (unsigned long long)s->msg.u.query.nonce, who, pw_reason_name(s->reason));
	else if (s->decoded)
		log_info("engine: REJECT %s seq %llu of %s for interval %llu: %s%s",
		         pw_msg_type_name(s->msg.type), (unsigned long long)engine_msg_seq(&s->msg),
		         who, (unsigned long long)msg_interval(&s->msg), pw_reason_name(s->reason),
		         extra);
	else if (s->reason == PW_REASON_BAD_VERSION && s->req.len >= PW_WIRE_HEADER_LEN) {
		char hex[2 * PW_PK_LEN + 1];
		pw_hex_encode(s->req.buf + 2, PW_PK_LEN, hex);
		log_info("engine: REJECT bad_version: a request in protocol version %u from key "
		         "%.16s... (%s): this exchange speaks version %d",
		         (unsigned)s->req.buf[0], hex, who, PW_PROTO_VERSION);
	} else
		log_info("engine: REJECT a frame of %s: %s", who, pw_reason_name(s->reason));
}

static void
reject_query(struct engine *e, struct engine_slot *s, int64_t now_s)
{
	s->state = SLOT_REJECT;
	s->reason = PW_REASON_BAD_QUERY;
	e->rejects[PW_REASON_BAD_QUERY]++;
	e->rejects_unflushed[PW_REASON_BAD_QUERY]++;
	engine_log_reject(e, s, now_s);
	engine_send_receipt(e, s, now_s);
}

/* RESULT of an interval: every part, one frame each, one message. */
static void
answer_result(struct engine *e, struct engine_slot *s, uint64_t interval, int64_t now_s)
{
	uint32_t parts = 0;
	size_t len;
	uint8_t *bufs = NULL;
	const uint8_t **f = NULL;
	size_t *lens = NULL;
	pw_err rc = store_result_get(e->store, interval, 0, e->out, ENGINE_OUT_MAX, &len, &parts);
	if (rc != PW_OK || parts == 0 || parts > 1024) {
		reject_query(e, s, now_s);
		return;
	}
	if (parts == 1) {
		const uint8_t *one[1] = { e->out };
		engine_send_frames(e, &s->req, one, &len, 1);
		return;
	}
	bufs = malloc((size_t)parts * ENGINE_OUT_MAX);
	f = calloc(parts, sizeof(*f));
	lens = calloc(parts, sizeof(*lens));
	if (!bufs || !f || !lens)
		goto out;
	for (uint32_t p = 0; p < parts; p++) {
		uint8_t *b = bufs + (size_t)p * ENGINE_OUT_MAX;
		if (store_result_get(e->store, interval, p, b, ENGINE_OUT_MAX, &lens[p], NULL) !=
		    PW_OK)
			goto out;
		f[p] = b;
	}
	engine_send_frames(e, &s->req, f, lens, parts);
	free(bufs);
	free(f);
	free(lens);
	return;
out:
	free(bufs);
	free(f);
	free(lens);
	reject_query(e, s, now_s);
}

/* QUERY COSIGNED: the CHECKPOINT then its COSIGN frames, one message. */
static void
answer_cosigned(struct engine *e, struct engine_slot *s, uint64_t size, int64_t now_s)
{
	struct cosign_set set;
	if (cosign_collect(store_db(e->store), size, &set) != PW_OK) {
		reject_query(e, s, now_s);
		return;
	}
	engine_send_frames(e, &s->req, (const uint8_t *const *)set.frames, set.lens, set.n);
	cosign_set_free(&set);
}

/* One COSIGNED message: the checkpoint of `size` with every cosignature
 * logged for it by now. */
static void
publish_cosigned(struct engine *e, uint64_t size)
{
	struct cosign_set set;
	if (cosign_collect(store_db(e->store), size, &set) != PW_OK)
		return;
	if (gateway_publish_frames(e->gw, "COSIGNED", (const uint8_t *const *)set.frames, set.lens,
	                           set.n) != PW_OK)
		log_warnx("engine: cannot publish COSIGNED");
	cosign_set_free(&set);
}

/* The entry of checkpoint `size` in e->cospub, made when missing: the
 * smallest size gives way (published first if it still waits). */
static struct engine_cospub *
cospub_of(struct engine *e, uint64_t size)
{
	size_t low = 0;
	for (size_t k = 0; k < e->n_cospub; k++) {
		if (e->cospub[k].size == size)
			return &e->cospub[k];
		if (e->cospub[k].size < e->cospub[low].size)
			low = k;
	}
	if (e->n_cospub < ENGINE_COSPUB_MAX)
		low = e->n_cospub++;
	else if (e->cospub[low].pending)
		publish_cosigned(e, e->cospub[low].size);
	e->cospub[low] = (struct engine_cospub){ size, INT64_MIN, 0 };
	return &e->cospub[low];
}

/* PUB COSIGNED after the COMMIT that logged new cosignatures: one message
 * per checkpoint that got one in this batch, unless one was published in
 * the last ENGINE_COSIGNED_GAP_MS: then the new ones wait for the gap's
 * end (engine_cosigned_due), when one message carries them all. */
void
engine_publish_cosigned(struct engine *e, const struct engine_slot *slots, size_t n, int64_t now_ms)
{
	for (size_t i = 0; i < n; i++) {
		const struct engine_slot *s = &slots[i];
		if (s->state != SLOT_ACCEPTED || s->msg.type != PW_MSG_COSIGN)
			continue;
		struct engine_cospub *c = cospub_of(e, s->msg.u.cosign.tree_size);
		if (c->last_ms != INT64_MIN && now_ms - c->last_ms < ENGINE_COSIGNED_GAP_MS) {
			c->pending = 1;
			continue;
		}
		c->pending = 0;
		c->last_ms = now_ms;
		publish_cosigned(e, c->size);
	}
}

int64_t
engine_cosigned_due(struct engine *e, int64_t now_ms)
{
	int64_t next = INT64_MAX;
	for (size_t k = 0; k < e->n_cospub; k++) {
		struct engine_cospub *c = &e->cospub[k];
		if (!c->pending)
			continue;
		if (now_ms - c->last_ms >= ENGINE_COSIGNED_GAP_MS) {
			c->pending = 0;
			c->last_ms = now_ms;
			publish_cosigned(e, c->size);
		} else if (c->last_ms + ENGINE_COSIGNED_GAP_MS - now_ms < next)
			next = c->last_ms + ENGINE_COSIGNED_GAP_MS - now_ms;
	}
	return next;
}

/* The price outlook from `interval` on (xrules_schedule()): the exact
 * logged MARKET frames, one after the other in *buf (caller frees), their
 * lengths in lens[] (room for PW_SCHEDULE_MAX). */
static pw_err
schedule_frames(struct engine *e, uint64_t interval, uint8_t **buf, size_t *lens, size_t *n)
{
	uint64_t idx[PW_SCHEDULE_MAX];
	size_t k = xrules_schedule(e->rules, interval, idx, PW_SCHEDULE_MAX), used = 0, cap = 0;
	uint8_t *b = NULL;

	*buf = NULL;
	*n = 0;
	if (k == 0)
		return PW_ERR_NOTFOUND;
	for (size_t i = 0; i < k; i++) {
		uint8_t type = 0;
		size_t len = 0;
		pw_err rc = mlog_get(e->log, idx[i], e->out, ENGINE_OUT_MAX, &len, &type);
		if (rc == PW_OK && type != PW_MSG_MARKET)
			rc = PW_ERR_CORRUPT;
		if (rc != PW_OK) {
			free(b);
			return rc;
		}
		if (used + len > cap) {
			size_t ncap = cap ? 2 * cap : 16384;
			while (ncap < used + len)
				ncap *= 2;
			uint8_t *nb = realloc(b, ncap);
			if (nb == NULL) {
				free(b);
				return PW_ERR_NOMEM;
			}
			b = nb;
			cap = ncap;
		}
		memcpy(b + used, e->out, len);
		used += len;
		lens[i] = len;
	}
	*buf = b;
	*n = k;
	return PW_OK;
}

/* Send (slot `s`) or publish (s NULL: PUB topic MARKET) the outlook. */
static pw_err
schedule_send(struct engine *e, struct engine_slot *s, uint64_t interval)
{
	size_t lens[PW_SCHEDULE_MAX], n = 0, off = 0;
	const uint8_t *f[PW_SCHEDULE_MAX];
	uint8_t *buf = NULL;
	pw_err rc = schedule_frames(e, interval, &buf, lens, &n);

	if (rc != PW_OK)
		return rc;
	for (size_t i = 0; i < n; i++) {
		f[i] = buf + off;
		off += lens[i];
	}
	if (s != NULL)
		engine_send_frames(e, &s->req, f, lens, n);
	else
		rc = gateway_publish_frames(e->gw, "MARKET", f, lens, n);
	free(buf);
	return rc;
}

void
engine_publish_schedule(struct engine *e, uint64_t interval)
{
	pw_err rc = schedule_send(e, NULL, interval);
	if (rc != PW_OK)
		log_warnx("engine: cannot publish MARKET for interval %llu: %s",
		          (unsigned long long)interval, pw_strerror(rc));
}

void
engine_answer_query(struct engine *e, struct engine_slot *s, int64_t now_s)
{
	const struct pw_query *q = &s->msg.u.query;
	struct pw_msg m;
	size_t len;
	pw_err rc = PW_ERR_NOTFOUND;

	e->accepted[PW_MSG_QUERY]++;
	switch (q->kind) {
	case PW_QUERY_STATEMENT:
		rc = store_statement_get(e->store, s->msg.author, q->a, e->out, ENGINE_OUT_MAX,
		                         &len);
		break;
	case PW_QUERY_CHECKPOINT:
		rc = store_last_checkpoint(e->store, e->out, ENGINE_OUT_MAX, &len);
		break;
	case PW_QUERY_RESULT:
		answer_result(e, s, q->a, now_s);
		return;
	case PW_QUERY_COSIGNED:
		answer_cosigned(e, s, q->a, now_s);
		return;
	case PW_QUERY_SCHEDULE:
		if (schedule_send(e, s, q->a) != PW_OK)
			reject_query(e, s, now_s);
		return;
	case PW_QUERY_REGISTRY:
	case PW_QUERY_INCLUSION:
	case PW_QUERY_CONSISTENCY:
	case PW_QUERY_STATEMENT_PROOF:
	case PW_QUERY_REGISTRY_PROOF:
	case PW_QUERY_MARKET:
	case PW_QUERY_MARKET_PROOF:
		memset(&m, 0, sizeof(m));
		m.type = PW_MSG_PROOF;
		if (q->kind != PW_QUERY_CONSISTENCY) {
			uint64_t size = q->b, idx = q->a;
			uint8_t root[PW_HASH_LEN];
			/* size 0: the latest checkpoint's, which the agent can check */
			if (size == 0 && mlog_last_checkpoint(e->log, &size, root) != PW_OK)
				size = 0;
			rc = size && size <= mlog_size(e->log) ? PW_OK : PW_ERR_NOTFOUND;
			/* the author's own statement only: its index answers `a` */
			if (rc == PW_OK && q->kind == PW_QUERY_STATEMENT_PROOF)
				rc = store_statement_index(e->store, s->msg.author, q->a, &idx);
			/* the latest REGISTRY entry of the key asked about (all
			 * zero: the author) among the first `size` */
			if (rc == PW_OK &&
			    (q->kind == PW_QUERY_REGISTRY || q->kind == PW_QUERY_REGISTRY_PROOF)) {
				static const uint8_t zero[PW_PK_LEN];
				const uint8_t *who =
				    memcmp(q->key, zero, PW_PK_LEN) != 0 ? q->key : s->msg.author;
				rc = xrules_find_entry(store_db(e->store), who, size, &idx, e->out,
				                       ENGINE_OUT_MAX, &len);
			}
			/* the MARKET entry governing interval a among the first `size` */
			if (rc == PW_OK &&
			    (q->kind == PW_QUERY_MARKET || q->kind == PW_QUERY_MARKET_PROOF))
				rc = xrules_find_market(store_db(e->store), q->a, size, &idx,
				                        e->out, ENGINE_OUT_MAX, &len);
			if (rc == PW_OK &&
			    (q->kind == PW_QUERY_REGISTRY || q->kind == PW_QUERY_MARKET))
				break; /* the logged frame itself, as it is in e->out */
			if (rc == PW_OK)
				rc = mlog_prove_inclusion(e->log, idx, size, &m.u.proof);
		} else {
			rc = mlog_prove_consistency(e->log, q->a, q->b, &m.u.proof);
		}
		m.u.proof.nonce = q->nonce;
		if (rc == PW_OK)
			rc = engine_sign(e, &m, &len);
		break;
	default:
		break;
	}
	if (rc != PW_OK) {
		reject_query(e, s, now_s);
		return;
	}
	const uint8_t *f[1] = { e->out };
	engine_send_frames(e, &s->req, f, &len, 1);
}

/* Step 1-2a: drain up to batch_max requests into b, frame checks, rate;
 * then queue their signature checks.  A fresh batch starts empty; a top-up
 * (`more`) appends what arrived while the previous batch committed, so
 * that those requests need not wait for one more batch (the ACK latency
 * tail), with a second signature job for the appended slots. */
