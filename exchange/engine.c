/*
 * engine.c: the request path of the exchange (engine.h).
 *
 * Each batch is one group commit:
 *   1. drain up to batch_max requests from the ROUTER;
 *   2. stateless checks per request (frame count and size, strict decode,
 *      type, the rate limit of the connection's ZAP household, signature,
 *      registered and not revoked, author = connection's ZAP identity);
 *      a frame over the rate gets one REJECT rate_limited per household and
 *      second, the others are dropped unanswered before any crypto;
 *   3. one transaction: the stateful rules (rules/validate.c) with state
 *      read from the store, accepted frames appended to the Merkle log and
 *      applied; pending rejection counts flushed; COMMIT (fsync);
 *   4. only then the ACK / signed REJECT replies are sent, so no ACK ever
 *      names an entry that a crash could lose; QUERY answers follow.  The
 *      ACKs of a batch share ONE signed tree head over the log after the
 *      batch (signed while the COMMIT runs, sent only after it), each with
 *      its entry's inclusion path (exchange/receipt.h).
 * A failed commit rolls everything back, reloads the log's memory state and
 * answers every request of the batch that would have been accepted with
 * REJECT unavailable.  Batches are pipelined (engine_ingest): the next one
 * is received and verified by the crypto pool while this one commits.
 */
#include "exchange/engine.h"
#include "exchange/engine_int.h"
#include "exchange/cosign.h"
#include "exchange/xrules.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "rules/validate.h"
#include "peerwatt/log.h"

pw_err
engine_init(struct engine *e)
{
	size_t n = (size_t)e->cfg->batch_max;
	size_t cap = (size_t)e->cfg->max_msg_bytes;
	/* two batches: the pipeline receives one while it commits the other */
	e->slots = calloc(2 * n, sizeof(*e->slots));
	e->bufs = malloc(2 * n * cap);
	e->out = malloc(ENGINE_OUT_MAX);
	if (!e->slots || !e->bufs || !e->out || receipt_init(&e->receipts, n) != PW_OK) {
		engine_fini(e);
		return PW_ERR_NOMEM;
	}
	e->n_slots = n;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	e->n_threads =
	    e->cfg->threads > 0 ? (size_t)e->cfg->threads : (cpus > 0 ? (size_t)cpus : 1);
	if (e->n_threads > ENGINE_THREADS_MAX)
		e->n_threads = ENGINE_THREADS_MAX;
	for (size_t i = 0; i < 2 * n; i++) {
		e->slots[i].req.buf = e->bufs + i * cap;
		e->slots[i].req.cap = cap;
	}
	if (!(e->pool = engine_pool_new(e, e->n_threads))) {
		engine_fini(e);
		return PW_ERR_NOMEM;
	}
	if (!(e->committer = engine_committer_new()))
		log_warnx("engine: no COMMIT thread: the next requests wait for each COMMIT");
	engine_set_registry(e, e->reg);
	if (e->store != NULL && cosign_init(store_db(e->store)) != PW_OK) {
		engine_fini(e);
		return PW_ERR_DB;
	}
	return e->rate ? PW_OK : PW_ERR_NOMEM;
}

void
engine_fini(struct engine *e)
{
	engine_committer_free(&e->committer);
	engine_pool_free(&e->pool);
	receipt_fini(&e->receipts);
	free(e->slots);
	free(e->bufs);
	free(e->out);
	free(e->rate);
	e->slots = NULL;
	e->bufs = e->out = NULL;
	e->rate = NULL;
	e->n_slots = e->n_rate = 0;
}

void
engine_set_registry(struct engine *e, const struct registry *reg)
{
	size_t n = registry_count(reg);
	struct engine_rate *r = calloc(n + 1, sizeof(*r));
	if (!r)
		fatalx("engine: out of memory for rate buckets");
	for (size_t i = 0; i < n; i++) {
		r[i].tokens = (double)e->cfg->rate_burst;
		r[i].last_ms = -1;
		r[i].limited_s = -1;
	}
	free(e->rate);
	e->rate = r;
	e->n_rate = n;
	e->reg = reg;
	if (e->gw)
		gateway_set_registry(e->gw, reg);
}

pw_err
engine_sign(struct engine *e, struct pw_msg *m, size_t *len)
{
	return pw_wire_encode(m, (uint64_t)e->cfg->market_id, e->kp, e->out, ENGINE_OUT_MAX, len);
}

pw_err
engine_flush_stats(struct engine *e)
{
	for (unsigned i = 1; i < PW_REASON__COUNT; i++) {
		if (!e->rejects_unflushed[i])
			continue;
		pw_err rc = store_stat_add(e->store, i, pw_reason_name(i), e->rejects_unflushed[i]);
		if (rc != PW_OK)
			return rc;
	}
	/* cleared by the caller after the commit succeeded (engine_ingest,
	 * market.c): a rolled-back flush is retried with the next one */
	return PW_OK;
}

static void
stats_committed(struct engine *e)
{
	memset(e->rejects_unflushed, 0, sizeof(e->rejects_unflushed));
}

static int
rate_ok(struct engine *e, const struct household *h, int64_t now_ms)
{
	if (e->cfg->rate_per_s <= 0 || h->index >= e->n_rate)
		return 1;
	struct engine_rate *r = &e->rate[h->index];
	double burst = (double)e->cfg->rate_burst;
	if (r->last_ms >= 0 && now_ms > r->last_ms)
		r->tokens += (double)(now_ms - r->last_ms) * (double)e->cfg->rate_per_s / 1000.0;
	if (r->tokens > burst)
		r->tokens = burst;
	r->last_ms = now_ms;
	if (r->tokens < 1.0)
		return 0;
	r->tokens -= 1.0;
	return 1;
}

/*
 * The per-household rate, charged to the ZAP identity of the connection
 * (authenticated by CURVE) for every frame it sends, before the signature
 * check: a flooding household costs no Ed25519 verify per frame.  Over the
 * rate, the first frame of each second gets a signed REJECT rate_limited
 * (the sender learns why); the rest of that second are dropped unanswered
 * and counted (rate_dropped), so a flood costs no signature either.  An
 * agent resends an unanswered frame after its reply timeout with backoff
 * (docs/agent.md "Outbox"), so a dropped frame is never lost for it.
 */
static void
rate_check(struct engine *e, struct engine_slot *s, int64_t now_s, int64_t now_ms)
{
	const struct household *h;
	if (s->req.user_id[0] == '\0' || (h = registry_find_id(e->reg, s->req.user_id)) == NULL ||
	    rate_ok(e, h, now_ms))
		return;
	struct engine_rate *r = &e->rate[h->index];
	if (r->limited_s == now_s) {
		s->state = SLOT_DROP;
		e->rate_dropped++;
		return;
	}
	r->limited_s = now_s;
	s->state = SLOT_REJECT;
	s->reason = PW_REASON_RATE_LIMITED;
}

uint64_t
engine_msg_seq(const struct pw_msg *m)
{
	switch (m->type) {
	case PW_MSG_ORDER:
		return m->u.order.seq;
	case PW_MSG_CANCEL:
		return m->u.cancel.seq;
	case PW_MSG_METER:
		return m->u.meter.seq;
	case PW_MSG_QUERY:
		return m->u.query.nonce;
	case PW_MSG_COSIGN:
		return m->u.cosign.tree_size;
	default:
		return 0;
	}
}

/* Step 2a: frame, decode, type.  Leaves SLOT_APPLY for the signature check. */
static void
precheck_frame(struct engine_slot *s)
{
	const struct gw_request *r = &s->req;
	s->state = SLOT_REJECT;
	s->decoded = 0;
	s->stateful = 0;
	s->sig_ok = 0;
	s->h = NULL;
	s->reason = validate_frame(r->n_frames, r->frame_len);
	if (s->reason != PW_REASON_OK)
		return;
	pw_err drc = pw_wire_decode(r->buf, r->len, &s->msg);
	if (drc != PW_OK) {
		/* a version-1 request: refused by name, never misparsed */
		s->reason = drc == PW_ERR_VERSION ? PW_REASON_BAD_VERSION : PW_REASON_MALFORMED;
		return;
	}
	s->decoded = 1;
	if (s->msg.type != PW_MSG_ORDER && s->msg.type != PW_MSG_CANCEL &&
	    s->msg.type != PW_MSG_METER && s->msg.type != PW_MSG_QUERY &&
	    s->msg.type != PW_MSG_COSIGN) {
		s->reason = PW_REASON_WRONG_TYPE;
		return;
	}
	s->state = SLOT_APPLY; /* pending the signature (2b) */
}

/* Step 2c: after the (parallel) signature check, the registry and identity
 * rules (the rate was charged before the check, rate_check). */
static void
precheck(struct engine *e, struct engine_slot *s)
{
	const struct gw_request *r = &s->req;
	if (s->state != SLOT_APPLY)
		return;
	s->state = SLOT_REJECT;
	if (!s->sig_ok) {
		s->reason = PW_REASON_BAD_SIGNATURE;
		return;
	}
	s->h = registry_find_pk(e->reg, s->msg.author);
	if (!s->h) {
		s->reason = store_is_revoked(e->store, s->msg.author) ? PW_REASON_REVOKED
		                                                      : PW_REASON_UNKNOWN_KEY;
		return;
	}
	if (strcmp(s->h->id, r->user_id) != 0) {
		s->reason = PW_REASON_WRONG_IDENTITY;
		return;
	}
	s->state = s->msg.type == PW_MSG_QUERY ? SLOT_QUERY : SLOT_APPLY;
	s->stateful = s->state == SLOT_APPLY;
}

static void
market_of(const struct engine *e, int64_t now_s, struct validate_market *m)
{
	m->now_s = now_s;
	m->interval_s = e->cfg->interval_s;
	m->gate_s = e->cfg->gate_s;
	m->max_ahead_s = e->cfg->max_ahead_s;
	/* prices: per order, from the log's rules for its interval (apply_order) */
	m->feedin_uper_kwh = 0;
	m->retail_uper_kwh = 0;
}

/* Apply an accepted message: log it first (its index is the arrival
 * order), then the state. */
static pw_err
apply_order(struct engine *e, struct engine_slot *s, const struct validate_market *vm)
{
	const struct pw_order *o = &s->msg.u.order;
	struct validate_book b = { 0 };
	uint8_t other = o->side == PW_SIDE_BUY ? PW_SIDE_SELL : PW_SIDE_BUY;
	pw_err rc;

	if ((rc = store_last_seq(e->store, s->msg.author, &b.last_seq)) != PW_OK)
		return rc;
	b.capacity_wh = registry_capacity_wh(s->h, o->side, e->cfg->interval_s);
	if (o->side == PW_SIDE_BUY || o->side == PW_SIDE_SELL) {
		if ((rc = store_open_qty(e->store, s->msg.author, o->interval, o->side,
		                         &b.open_same_wh)) != PW_OK ||
		    (rc = store_open_qty(e->store, s->msg.author, o->interval, other,
		                         &b.open_other_wh)) != PW_OK)
			return rc;
	}
	/* the price bounds of the MARKET entry governing the order's interval */
	struct validate_market v = *vm;
	const struct xrules_rule *mk = xrules_market_at(e->rules, o->interval);
	v.feedin_uper_kwh = mk->feedin_uper_kwh;
	v.retail_uper_kwh = mk->retail_uper_kwh;
	s->reason = validate_order(&v, &b, o);
	if (s->reason != PW_REASON_OK)
		return PW_OK;
	if (!store_book_room(e->store)) {
		/* the in-memory book is at its bound (book.h): refused until an
		 * interval is cleared, without rolling back the batch */
		s->reason = PW_REASON_UNAVAILABLE;
		return PW_OK;
	}
	struct store_order so = { .seq = o->seq,
		                  .interval = o->interval,
		                  .side = o->side,
		                  .qty_wh = o->qty_wh,
		                  .price_uper_kwh = o->price_uper_kwh,
		                  .expiry_s = o->expiry_s,
		                  .status = STORE_ORDER_OPEN };
	memcpy(so.pk, s->msg.author, PW_PK_LEN);
	if ((rc = mlog_append(e->log, s->req.buf, s->req.len, &s->log_idx)) != PW_OK)
		return rc;
	so.log_idx = s->log_idx;
	/* the orders row records the seq too: no seqs row for an ORDER */
	if ((rc = store_order_insert(e->store, &so, (uint64_t)vm->now_s)) != PW_OK)
		return rc;
	s->state = SLOT_ACCEPTED;
	return PW_OK;
}

static pw_err
apply_cancel(struct engine *e, struct engine_slot *s, const struct validate_market *vm)
{
	const struct pw_cancel *c = &s->msg.u.cancel;
	struct validate_cancel_target t = { 0 };
	struct store_order o;
	uint64_t last;
	pw_err rc;

	if ((rc = store_last_seq(e->store, s->msg.author, &last)) != PW_OK)
		return rc;
	rc = store_order_get(e->store, s->msg.author, c->order_seq, &o);
	if (rc == PW_OK) {
		t.found = 1;
		t.open = o.status == STORE_ORDER_OPEN;
		t.interval = o.interval;
	} else if (rc != PW_ERR_NOTFOUND) {
		return rc;
	}
	s->reason = validate_cancel(vm, last, &t, c);
	if (s->reason != PW_REASON_OK)
		return PW_OK;
	if ((rc = mlog_append(e->log, s->req.buf, s->req.len, &s->log_idx)) != PW_OK ||
	    (rc = store_order_set_status(e->store, o.log_idx, STORE_ORDER_CANCELLED, 0)) != PW_OK ||
	    (rc = store_set_seq(e->store, s->msg.author, c->seq)) != PW_OK)
		return rc;
	s->state = SLOT_ACCEPTED;
	return PW_OK;
}

static pw_err
apply_meter(struct engine *e, struct engine_slot *s, const struct validate_market *vm)
{
	const struct pw_meter *r = &s->msg.u.meter;
	struct store_meter_state st;
	struct store_meter m;
	pw_err rc;

	if ((rc = store_meter_state(e->store, s->msg.author, &st)) != PW_OK)
		return rc;
	struct validate_meter_state vs = { .serial = s->h->serial,
		                           .max_export_w = s->h->max_export_w,
		                           .max_import_w = s->h->max_import_w,
		                           .last_seq = st.last_seq,
		                           .last_interval = st.last_interval,
		                           .last_export_end_wh = st.export_end_wh,
		                           .last_import_end_wh = st.import_end_wh };
	rc = store_meter_get(e->store, s->msg.author, r->interval, &m);
	if (rc == PW_OK)
		vs.has_reading_for_interval = 1;
	else if (rc != PW_ERR_NOTFOUND)
		return rc;
	s->reason = validate_meter(vm, &vs, r);
	if (s->reason != PW_REASON_OK)
		return PW_OK;
	memset(&m, 0, sizeof(m));
	memcpy(m.pk, s->msg.author, PW_PK_LEN);
	m.interval = r->interval;
	m.seq = r->seq;
	m.export_start_wh = r->export_start_wh;
	m.export_end_wh = r->export_end_wh;
	m.import_start_wh = r->import_start_wh;
	m.import_end_wh = r->import_end_wh;
	m.time_status = r->time_status;
	m.received_s = (uint64_t)vm->now_s;
	if ((rc = mlog_append(e->log, s->req.buf, s->req.len, &s->log_idx)) != PW_OK)
		return rc;
	m.log_idx = s->log_idx;
	if ((rc = store_meter_insert(e->store, &m)) != PW_OK)
		return rc;
	s->state = SLOT_ACCEPTED;
	return PW_OK;
}

/* COSIGN of a checkpoint this exchange issued, once per household and
 * size (exchange/cosign.h); logged like a request, served from cosigns. */
static pw_err
apply_cosign(struct engine *e, struct engine_slot *s)
{
	pw_err rc = cosign_check(store_db(e->store), &s->msg, &s->reason);
	if (rc != PW_OK || s->reason != PW_REASON_OK)
		return rc;
	if ((rc = mlog_append(e->log, s->req.buf, s->req.len, &s->log_idx)) != PW_OK ||
	    (rc = cosign_insert(store_db(e->store), &s->msg, s->log_idx, s->req.buf, s->req.len)) !=
	        PW_OK)
		return rc;
	s->state = SLOT_ACCEPTED;
	return PW_OK;
}

/* Undoes a batch's transaction after `rc`: the store rolls back and the
 * log's memory state is reloaded to match.  Returns rc. */
static pw_err
batch_rollback(struct engine *e, size_t n, pw_err rc)
{
	store_rollback(e->store);
	if (mlog_reload(e->log) != PW_OK)
		fatalx("engine: the log cannot be reloaded after a rollback");
	log_warnx("engine: batch of %zu rolled back: %s", n, pw_strerror(rc));
	return rc;
}

/* Step 3a: BEGIN, the stateful rules, log appends and store statements,
 * pending rejection counts.  *open is set when a transaction was begun
 * (apply_commit then ends it).  On error everything is rolled back. */
static pw_err
apply_batch(struct engine *e, struct engine_slot *slots, size_t n, int64_t now_s, int *open)
{
	struct validate_market vm;
	pw_err rc;
	int any = 0;
	*open = 0;
	market_of(e, now_s, &vm);
	for (size_t i = 0; i < n; i++)
		if (slots[i].state == SLOT_APPLY)
			any = 1;
	if (!any)
		return PW_OK; /* counts are flushed with the next transaction */
	if ((rc = store_begin(e->store)) != PW_OK)
		return rc;
	*open = 1;
	for (size_t i = 0; i < n; i++) {
		struct engine_slot *s = &slots[i];
		if (s->state != SLOT_APPLY)
			continue;
		s->state = SLOT_REJECT; /* unless applied below */
		switch (s->msg.type) {
		case PW_MSG_ORDER:
			rc = apply_order(e, s, &vm);
			break;
		case PW_MSG_CANCEL:
			rc = apply_cancel(e, s, &vm);
			break;
		case PW_MSG_COSIGN:
			rc = apply_cosign(e, s);
			break;
		default:
			rc = apply_meter(e, s, &vm);
			break;
		}
		if (rc != PW_OK)
			goto fail;
		if (s->state == SLOT_REJECT) {
			e->rejects[s->reason]++;
			e->rejects_unflushed[s->reason]++;
		}
	}
	if ((rc = engine_flush_stats(e)) != PW_OK)
		goto fail;
	return PW_OK;
fail:
	*open = 0;
	return batch_rollback(e, n, rc);
}

static void batch_fill(struct engine *e, struct engine_batch *b, int more, int alone, int64_t now_s,
                       int64_t now_ms);

/* COMMIT on the committer thread; until it returns, the requests that
 * arrive are received into `next` (up to a full batch) and their
 * signatures checked here.  The store is not touched here. */
static pw_err
commit_receiving(struct engine *e, struct engine_batch *next, int64_t now_s, int64_t now_ms)
{
	struct engine_committer *c = e->committer;
	zmq_pollitem_t it[2];
	pw_err rc;

	if (!c || !next || !e->gw)
		return store_commit(e->store);
	gateway_poll_items(e->gw, it);
	it[1] = it[0]; /* the requests */
	it[0] =
	    (zmq_pollitem_t){ .socket = NULL, .fd = engine_committer_fd(c), .events = ZMQ_POLLIN };
	engine_committer_start(c, e->store);
	while (!engine_committer_done(c, &rc)) {
		int full = next->n >= e->n_slots;
		if (engine_pool_help(e->pool, &next->verify) ||
		    engine_pool_help(e->pool, &next->verify_more))
			continue;
		if (zmq_poll(it, full ? 1 : 2, -1) < 0 && zmq_errno() != EINTR)
			fatalx("engine: zmq_poll during a COMMIT: %s", zmq_strerror(zmq_errno()));
		if (!full && (it[1].revents & ZMQ_POLLIN))
			batch_fill(e, next, 1, 1, now_s, now_ms);
	}
	return rc;
}

/* Step 3b: COMMIT (the fsync), receiving into `next` meanwhile.  PW_OK
 * when durable; otherwise rolled back. */
static pw_err
apply_commit(struct engine *e, size_t n, struct engine_batch *next, int64_t now_s, int64_t now_ms)
{
	pw_err rc = commit_receiving(e, next, now_s, now_ms);
	if (rc == PW_OK) {
		stats_committed(e);
		e->commits++;
		engine_hist_add(&e->commit_pages, store_commit_pages(e->store));
		return PW_OK;
	}
	return batch_rollback(e, n, rc);
}

void
engine_send_frames(struct engine *e, const struct gw_request *r, const uint8_t *const *f,
                   const size_t *l, size_t n)
{
	if (gateway_reply(e->gw, r, f, l, n) != PW_OK)
		e->replies_dropped++;
}

/* An ACK into s->reply: the batch's head and the entry's path (no signing;
 * thread-safe: reads e->receipts and e->head, writes only `s`). */
static void
build_ack(const struct engine *e, struct engine_slot *s)
{
	struct pw_receipt r;
	size_t n = 0;

	s->reply_len = 0;
	if (e->head_len == 0)
		return;
	memset(&r, 0, sizeof(r));
	pw_sha256(s->req.buf, s->req.len, r.ref_hash);
	r.ref_type = s->req.buf[1];
	r.ref_seq = engine_msg_seq(&s->msg);
	r.log_index = s->log_idx;
	if (receipt_path(&e->receipts, s->log_idx, r.path, PW_PROOF_MAX_HASHES, &n) != PW_OK)
		return;
	r.n_hashes = (uint8_t)n;
	if (pw_wire_encode_ack(&r, e->head, e->head_len, s->reply, sizeof(s->reply),
	                       &s->reply_len) != PW_OK)
		s->reply_len = 0;
}

/*
 * The one head of a batch (after apply_batch, before the COMMIT): the
 * inclusion paths sealed, a CHECKPOINT of the log after the batch signed
 * into e->head.  Not stored (not a log entry); sent only inside the ACKs,
 * after the COMMIT returned.  On failure e->head_len stays 0 and the
 * batch's ACKs cannot be built (logged).
 */
static void
sign_head(struct engine *e, int64_t now_s)
{
	struct pw_msg m;
	size_t olen = strnlen(e->cfg->market_name, PW_ORIGIN_LEN);
	pw_err rc;

	e->head_len = 0;
	if ((rc = receipt_seal(&e->receipts)) != PW_OK || e->receipts.size != mlog_size(e->log)) {
		log_warnx("engine: the batch's inclusion paths cannot be built: %s",
		          pw_strerror(rc != PW_OK ? rc : PW_ERR_INTERNAL));
		return;
	}
	memset(&m, 0, sizeof(m));
	m.type = PW_MSG_CHECKPOINT;
	memcpy(m.u.checkpoint.origin, e->cfg->market_name, olen);
	m.u.checkpoint.interval = mlog_last_interval(e->log);
	m.u.checkpoint.tree_size = mlog_size(e->log);
	mlog_root(e->log, m.u.checkpoint.root);
	m.u.checkpoint.time_s = (uint64_t)now_s;
	rc = pw_wire_encode(&m, (uint64_t)e->cfg->market_id, e->kp, e->head, sizeof(e->head),
	                    &e->head_len);
	if (rc != PW_OK) {
		e->head_len = 0;
		log_warnx("engine: cannot sign the batch's head: %s", pw_strerror(rc));
	}
}

/* Build the slot's receipt into s->reply: an ACK from the batch's head,
 * a REJECT signed on its own (thread-safe: touches only `s`). */
void
engine_build_receipt(const struct engine *e, struct engine_slot *s, int64_t now_s)
{
	struct pw_msg m;
	int ack = s->state == SLOT_ACCEPTED;
	if (ack) {
		build_ack(e, s);
		return;
	}
	memset(&m, 0, sizeof(m));
	m.type = PW_MSG_REJECT;
	pw_sha256(s->req.buf, s->req.len, m.u.receipt.ref_hash);
	m.u.receipt.ref_type = s->req.len >= 2 ? s->req.buf[1] : 0;
	m.u.receipt.ref_seq = s->decoded ? engine_msg_seq(&s->msg) : 0;
	m.u.receipt.reason = (uint16_t)s->reason;
	m.u.receipt.log_index = UINT64_MAX;
	m.u.receipt.time_s = (uint64_t)now_s;
	if (pw_wire_encode(&m, (uint64_t)e->cfg->market_id, e->kp, s->reply, sizeof(s->reply),
	                   &s->reply_len) != PW_OK)
		s->reply_len = 0;
}

void
engine_send_receipt(struct engine *e, struct engine_slot *s, int64_t now_s)
{
	if (s->reply_len == 0)
		engine_build_receipt(e, s, now_s);
	if (s->reply_len == 0) {
		log_warnx("engine: cannot encode a receipt");
		return;
	}
	const uint8_t *f[1] = { s->reply };
	engine_send_frames(e, &s->req, f, &s->reply_len, 1);
}

/*
 * Step 1: receive into batch b (`more`: after what it already holds) and
 * queue the signature checks.  `alone`: no other batch is in flight, so
 * the main thread waits for these checks next; then, as for `more`, it
 * runs the first chunk itself and wakes workers only for the rest.
 */
static void
batch_fill(struct engine *e, struct engine_batch *b, int more, int alone, int64_t now_s,
           int64_t now_ms)
{
	size_t drained = 0, n0;
	int64_t t = engine_mono_us();
	if (!more) {
		b->n = 0;
		b->verify_more.n = 0;
	}
	n0 = b->n;
	while (b->n < e->n_slots && drained < e->n_slots * ENGINE_DRAIN_FACTOR) {
		struct engine_slot *s = &b->slots[b->n];
		if (gateway_recv(e->gw, &s->req) != PW_OK)
			break;
		drained++;
		s->reply_len = 0;
		precheck_frame(s);
		rate_check(e, s, now_s, now_ms);
		if (s->state != SLOT_DROP)
			b->n++; /* a dropped frame's slot takes the next one */
	}
	if (b->n == n0)
		return;
	if (n0 == 0)
		b->t_start_us = t;
	engine_stage_add(e, ENGINE_ST_RECV, t, engine_mono_us());
	if (more && b->verify_more.n > 0)
		engine_pool_extend(e->pool, &b->verify_more, b->n - n0, 1);
	else
		engine_pool_submit(e->pool, more ? &b->verify_more : &b->verify, b->slots + n0,
		                   b->n - n0, PAR_VERIFY, now_s, more || alone ? 1 : 0);
}

/* Receipts of at most this many ACKs (and no REJECT) are built on the main
 * thread after the COMMIT: ~2 us each against ~12 us of CPU per woken
 * worker (docs/performance-ingest.md). */
#define ENGINE_INLINE_ACKS 16

static int
needs_pool(const struct engine_slot *slots, size_t n)
{
	if (n > ENGINE_INLINE_ACKS)
		return 1;
	for (size_t i = 0; i < n; i++)
		if (slots[i].state == SLOT_REJECT)
			return 1;
	return 0;
}

/* Steps 2b-4 for a received batch: wait for its signature checks, the
 * identity rules, apply, sign the receipts while COMMIT runs, and only
 * once COMMIT returned send them. */
static void
batch_finish(struct engine *e, struct engine_batch *b, struct engine_batch *next, int64_t now_s,
             int64_t recv_s, int64_t recv_ms)
{
	size_t n = b->n;
	struct engine_slot *slots = b->slots;
	int open = 0;
	int64_t t = engine_mono_us(), t1;

	engine_pool_wait(e->pool, &b->verify);
	engine_pool_wait(e->pool, &b->verify_more);
	t1 = engine_mono_us();
	engine_stage_add(e, ENGINE_ST_VERIFY, t, t1);
	for (size_t i = 0; i < n; i++) {
		precheck(e, &slots[i]);
		if (slots[i].state == SLOT_REJECT) {
			e->rejects[slots[i].reason]++;
			e->rejects_unflushed[slots[i].reason]++;
		}
	}
	e->batches++;
	engine_hist_add(&e->batch_size, n);
	e->head_len = 0;
	mlog_record(e->log, &e->receipts);
	pw_err rc = apply_batch(e, slots, n, now_s, &open);
	mlog_record(e->log, NULL);
	if (rc == PW_OK && open)
		sign_head(e, now_s);
	t = engine_mono_us();
	engine_stage_add(e, ENGINE_ST_APPLY, t1, t);
	/* receipts name log indexes fixed by now: sign them during the fsync
	 * (none is sent before the COMMIT returned).  A batch of few ACKs and
	 * no REJECT has no signature to make: its ACKs are built as they are
	 * sent, which costs less than waking the pool */
	if (needs_pool(slots, n))
		engine_pool_submit(e->pool, &b->sign, slots, n, PAR_SIGN, now_s, 0);
	else
		b->sign.n = 0;
	if (rc == PW_OK && open)
		rc = apply_commit(e, n, next, recv_s, recv_ms);
	t1 = engine_mono_us();
	if (open)
		engine_stage_add(e, ENGINE_ST_COMMIT, t, t1);
	engine_pool_wait(e->pool, &b->sign);
	t = engine_mono_us();
	engine_stage_add(e, ENGINE_ST_SIGN, t1, t);
	if (rc != PW_OK) {
		for (size_t i = 0; i < n; i++) {
			struct engine_slot *s = &slots[i];
			if (s->stateful) {
				/* nothing of the batch is durable: say so (the
				 * receipt signed during the commit is dropped) */
				s->state = SLOT_REJECT;
				s->reason = PW_REASON_UNAVAILABLE;
				s->reply_len = 0;
				e->rejects[PW_REASON_UNAVAILABLE]++;
			}
		}
	}
	for (size_t i = 0; i < n; i++) {
		struct engine_slot *s = &slots[i];
		if (s->state == SLOT_QUERY)
			engine_answer_query(e, s, now_s);
		else if (s->state != SLOT_DROP) {
			if (s->state == SLOT_ACCEPTED)
				e->accepted[s->msg.type]++;
			else
				engine_log_reject(e, s, now_s);
			engine_send_receipt(e, s, now_s);
		}
	}
	if (rc == PW_OK)
		engine_publish_cosigned(e, slots, n, recv_ms);
	t1 = engine_mono_us();
	engine_stage_add(e, ENGINE_ST_SEND, t, t1);
	engine_stage_add(e, ENGINE_ST_BATCH, b->t_start_us, t1);
}

static void
wall_now(int64_t *now_s, int64_t *now_ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	*now_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	*now_s = *now_ms / 1000;
}

/*
 * Two batches in flight: the next one is received and its signatures are
 * checked by the pool while the current one is applied and committed;
 * once that commit is done the next batch takes what arrived meanwhile.
 * Runs while requests keep coming, up to ENGINE_TURN_MS, so the market
 * clock gets its turn; returns with no batch in flight.
 */
#define ENGINE_TURN_MS 50

size_t
engine_ingest(struct engine *e, int64_t now_s, int64_t now_ms)
{
	struct engine_pool *p = e->pool;
	struct engine_batch *cur = NULL;
	int64_t end_ms = now_ms + ENGINE_TURN_MS;
	size_t total = 0, k = 0;
	int64_t cur_s = now_s;

	for (;;) {
		struct engine_batch *nb = &p->batch[k];
		k ^= 1;
		batch_fill(e, nb, 0, cur == NULL, now_s, now_ms);
		if (cur) {
			batch_finish(e, cur, nb, cur_s, now_s, now_ms);
			batch_fill(e, nb, 1, 0, now_s, now_ms);
		}
		if (nb->n == 0)
			break;
		total += nb->n;
		cur = nb;
		cur_s = now_s;
		wall_now(&now_s, &now_ms);
		if (now_ms >= end_ms) {
			batch_finish(e, cur, NULL, cur_s, now_s, now_ms);
			break;
		}
	}
	return total;
}
