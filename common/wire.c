/*
 * wire.c: the peerwatt wire codec, protocol version 2 (see
 * include/peerwatt/wire.h and docs/protocol.md, the byte-level reference;
 * version-1 stored frames are read by wire_v1.c).
 *
 * Owns the byte layout of every message and the domain-separated signing
 * rule; the field rules shared by encode and decode (one validator, so
 * nothing is encodable that would not decode) and the names are in
 * wire_rules.c.  Called by the agent's exchange link, the exchange gateway,
 * the settlement log and the auditor.
 *
 * Decoding is strict and allocation free: the exact length of a type is known
 * from its fixed part (and, for RESULT, PROOF, DEPTH and MARKET, its bounded count)
 * before any field is read, so no read ever leaves the caller's buffer.
 */
#include "peerwatt/wire.h"
#include "common/wire_int.h"

#include <stdlib.h>
#include <string.h>

#include "peerwatt/merkle.h"

/* "peerwatt/N/" + longest type name ("CHECKPOINT") + NUL + u64 */
#define SIGN_PREFIX_MAX 48
/* Signed messages up to this size are assembled on the stack. */
#define SIGN_STACK_LEN 512

/* --- signing ---------------------------------------------------------------- */

/* "peerwatt/V/" TYPE 0x00 || market_id (u64 BE); returns its length. */
static size_t
sign_prefix(unsigned version, unsigned type, uint64_t market_id, uint8_t out[SIGN_PREFIX_MAX])
{
	static const char tag[] = "peerwatt/0/";
	const char *name = wire_type_name(type);
	size_t n = 0, nl = strlen(name);
	uint8_t *p;

	memcpy(out, tag, sizeof(tag) - 1);
	out[9] = (uint8_t)('0' + version); /* versions 1 and 2 */
	n += sizeof(tag) - 1;
	memcpy(out + n, name, nl);
	n += nl;
	out[n++] = 0x00;
	p = out + n;
	put_u64(&p, market_id);
	return n + 8;
}

/*
 * Assemble prefix || frame[0 .. len-64) and sign or verify it.  With `kp`
 * (and `sig_out`) it signs; otherwise it verifies `sig` by `pk`.  Ed25519 needs
 * the whole message in one piece, hence the copy (on the stack when small).
 */
static pw_err
signed_op(unsigned version, unsigned type, uint64_t market_id, const uint8_t *frame,
          size_t body_end, const struct pw_keypair *kp, uint8_t *sig_out, const uint8_t *pk,
          const uint8_t *sig)
{
	uint8_t stack[SIGN_STACK_LEN];
	uint8_t prefix[SIGN_PREFIX_MAX];
	size_t plen = sign_prefix(version, type, market_id, prefix);
	size_t total = plen + body_end;
	uint8_t *buf = stack;
	pw_err rc = PW_OK;

	if (total > sizeof(stack)) {
		buf = malloc(total);
		if (buf == NULL)
			return PW_ERR_NOMEM;
	}
	memcpy(buf, prefix, plen);
	memcpy(buf + plen, frame, body_end);
	if (kp != NULL && sig_out != NULL)
		pw_sign(kp, buf, total, sig_out);
	else
		rc = pw_verify(pk, buf, total, sig);
	if (buf != stack)
		free(buf);
	return rc;
}

/* --- encode ----------------------------------------------------------------- */

static void
put_trade(uint8_t **p, const struct pw_trade *t)
{
	put_bytes(p, t->buyer, PW_PK_LEN);
	put_bytes(p, t->seller, PW_PK_LEN);
	put_u64(p, t->buy_seq);
	put_u64(p, t->sell_seq);
	put_u32(p, t->qty_wh);
}

/* ACK fields before the head: ref_hash .. path. */
static void
put_ack_fields(uint8_t **p, const struct pw_receipt *r)
{
	put_bytes(p, r->ref_hash, PW_HASH_LEN);
	put_u8(p, r->ref_type);
	put_u64(p, r->ref_seq);
	put_u64(p, r->log_index);
	put_u8(p, r->n_hashes);
	for (unsigned i = 0; i < r->n_hashes; i++)
		put_bytes(p, r->path[i], PW_HASH_LEN);
}

static void
put_body(uint8_t **p, const struct pw_msg *m)
{
	switch (m->type) {
	case PW_MSG_ORDER: {
		const struct pw_order *o = &m->u.order;
		put_u64(p, o->seq);
		put_u64(p, o->interval);
		put_u64(p, o->expiry_s);
		put_u32(p, o->qty_wh);
		put_i32(p, o->price_uper_kwh);
		put_u8(p, o->side);
		break;
	}
	case PW_MSG_CANCEL:
		put_u64(p, m->u.cancel.seq);
		put_u64(p, m->u.cancel.interval);
		put_u64(p, m->u.cancel.order_seq);
		break;
	case PW_MSG_METER: {
		const struct pw_meter *r = &m->u.meter;
		put_u64(p, r->seq);
		put_u64(p, r->interval);
		put_bytes(p, r->serial, PW_SERIAL_LEN);
		put_u64(p, r->export_start_wh);
		put_u64(p, r->export_end_wh);
		put_u64(p, r->import_start_wh);
		put_u64(p, r->import_end_wh);
		put_u8(p, r->time_status);
		break;
	}
	case PW_MSG_QUERY:
		put_u64(p, m->u.query.nonce);
		put_u8(p, m->u.query.kind);
		put_u64(p, m->u.query.a);
		put_u64(p, m->u.query.b);
		put_bytes(p, m->u.query.key, PW_PK_LEN);
		break;
	case PW_MSG_COSIGN:
		put_bytes(p, m->u.cosign.origin, PW_ORIGIN_LEN);
		put_u64(p, m->u.cosign.tree_size);
		put_bytes(p, m->u.cosign.root, PW_HASH_LEN);
		put_u64(p, m->u.cosign.time_s);
		break;
	case PW_MSG_ACK: /* fields up to the head; the head is copied in whole */
		put_ack_fields(p, &m->u.receipt);
		break;
	case PW_MSG_REJECT: {
		const struct pw_receipt *r = &m->u.receipt;
		put_bytes(p, r->ref_hash, PW_HASH_LEN);
		put_u8(p, r->ref_type);
		put_u64(p, r->ref_seq);
		put_u16(p, r->reason);
		put_u64(p, r->log_index);
		put_u64(p, r->time_s);
		break;
	}
	case PW_MSG_RESULT: {
		const struct pw_result *r = &m->u.result;
		put_u64(p, r->interval);
		put_i32(p, r->price_uper_kwh);
		put_u64(p, r->volume_wh);
		put_u32(p, r->n_trades_total);
		put_u16(p, r->part);
		put_u16(p, r->parts);
		put_u16(p, r->n_trades);
		if (r->trades != NULL) {
			for (unsigned i = 0; i < r->n_trades; i++)
				put_trade(p, &r->trades[i]);
		} else if (r->n_trades > 0) {
			put_bytes(p, r->trades_wire, (size_t)r->n_trades * PW_TRADE_WIRE_LEN);
		}
		break;
	}
	case PW_MSG_STATEMENT: {
		const struct pw_statement *s = &m->u.statement;
		put_bytes(p, s->household, PW_PK_LEN);
		put_u64(p, s->interval);
		put_u32(p, s->flags);
		put_i32(p, s->price_uper_kwh);
		put_u64(p, s->bought_wh);
		put_u64(p, s->sold_wh);
		put_u64(p, s->export_wh);
		put_u64(p, s->import_wh);
		put_u64(p, s->shortfall_wh);
		put_u64(p, s->excess_wh);
		put_u64(p, s->extra_import_wh);
		put_u64(p, s->unused_wh);
		put_i64(p, s->peer_u);
		put_i64(p, s->grid_u);
		put_i64(p, s->fee_u);
		put_i64(p, s->net_u);
		put_i64(p, s->baseline_u);
		put_i64(p, s->saving_u);
		break;
	}
	case PW_MSG_CHECKPOINT: {
		const struct pw_checkpoint *c = &m->u.checkpoint;
		put_bytes(p, c->origin, PW_ORIGIN_LEN);
		put_u64(p, c->interval);
		put_u64(p, c->tree_size);
		put_bytes(p, c->root, PW_HASH_LEN);
		put_u64(p, c->time_s);
		break;
	}
	case PW_MSG_PROOF: {
		const struct pw_proof *r = &m->u.proof;
		put_u64(p, r->nonce);
		put_u8(p, r->kind);
		put_u64(p, r->a);
		put_u64(p, r->b);
		put_u8(p, r->n_hashes);
		for (unsigned i = 0; i < r->n_hashes; i++)
			put_bytes(p, r->hashes[i], PW_HASH_LEN);
		break;
	}
	case PW_MSG_DEPTH: {
		const struct pw_depth *d = &m->u.depth;
		put_u64(p, d->interval);
		put_u8(p, d->n_levels);
		for (unsigned i = 0; i < d->n_levels; i++) {
			put_u8(p, d->levels[i].side);
			put_i32(p, d->levels[i].price_uper_kwh);
			put_u64(p, d->levels[i].qty_wh);
		}
		break;
	}
	case PW_MSG_HEARTBEAT: {
		const struct pw_heartbeat *h = &m->u.heartbeat;
		put_u64(p, h->time_ms);
		put_u32(p, h->period_ms);
		put_u32(p, h->interval_s);
		put_u32(p, h->gate_s);
		put_i32(p, h->feedin_uper_kwh);
		put_i32(p, h->retail_uper_kwh);
		break;
	}
	case PW_MSG_MARKET: {
		const struct pw_market *mk = &m->u.market;
		put_u64(p, mk->time_s);
		put_u64(p, mk->effective_interval);
		put_bytes(p, mk->name, PW_TOKEN_LEN);
		put_bytes(p, mk->currency, PW_CURRENCY_LEN);
		put_u32(p, mk->interval_s);
		put_u32(p, mk->gate_s);
		put_u32(p, mk->grace_s);
		put_u32(p, mk->max_ahead_s);
		put_i32(p, mk->feedin_uper_kwh);
		put_i32(p, mk->retail_uper_kwh);
		put_u32(p, mk->fee_same_zone_uper_kwh);
		put_u32(p, mk->fee_default_uper_kwh);
		put_u16(p, mk->n_fees);
		for (unsigned i = 0; i < mk->n_fees; i++) {
			put_bytes(p, mk->fees[i].zone_a, PW_TOKEN_LEN);
			put_bytes(p, mk->fees[i].zone_b, PW_TOKEN_LEN);
			put_u32(p, mk->fees[i].fee_uper_kwh);
		}
		break;
	}
	case PW_MSG_REGISTRY: {
		const struct pw_registry *r = &m->u.registry;
		put_u64(p, r->time_s);
		put_bytes(p, r->household, PW_PK_LEN);
		put_bytes(p, r->id, PW_TOKEN_LEN);
		put_bytes(p, r->name, PW_TOKEN_LEN);
		put_bytes(p, r->serial, PW_SERIAL_LEN);
		put_bytes(p, r->zone, PW_TOKEN_LEN);
		put_u32(p, r->max_export_w);
		put_u32(p, r->max_import_w);
		put_u8(p, r->revoked);
		break;
	}
	default:
		break;
	}
}

/* Decode the head of a version-2 ACK at `h` (PW_CHECKPOINT_FRAME_LEN bytes)
 * into r->head and r->head_sig; PW_ERR_FIELD unless it is a version-2
 * CHECKPOINT by `author`. */
static pw_err
get_ack_head(const uint8_t *h, const uint8_t author[PW_PK_LEN], struct pw_receipt *r)
{
	const uint8_t *p = h + PW_WIRE_HEADER_LEN;
	struct pw_checkpoint *c = &r->head;

	if (h[0] != PW_PROTO_VERSION || h[1] != PW_MSG_CHECKPOINT ||
	    memcmp(h + 2, author, PW_PK_LEN) != 0)
		return PW_ERR_FIELD;
	get_bytes(&p, c->origin, PW_ORIGIN_LEN);
	c->interval = get_u64(&p);
	c->tree_size = get_u64(&p);
	get_bytes(&p, c->root, PW_HASH_LEN);
	c->time_s = get_u64(&p);
	get_bytes(&p, r->head_sig, PW_SIG_LEN);
	r->time_s = c->time_s;
	return PW_OK;
}

pw_err
pw_wire_encode_ack(const struct pw_receipt *r, const uint8_t *head, size_t head_len, uint8_t *out,
                   size_t cap, size_t *len)
{
	struct pw_msg m;
	size_t size;
	uint8_t *p;
	pw_err rc;

	if (r == NULL || head == NULL || out == NULL || len == NULL)
		return PW_ERR_ARG;
	if (head_len != PW_CHECKPOINT_FRAME_LEN)
		return PW_ERR_FIELD;
	memset(&m, 0, sizeof(m));
	m.version = PW_PROTO_VERSION;
	m.type = PW_MSG_ACK;
	memcpy(m.author, head + 2, PW_PK_LEN);
	m.u.receipt = *r;
	m.u.receipt.reason = PW_REASON_OK;
	if ((rc = get_ack_head(head, m.author, &m.u.receipt)) != PW_OK)
		return rc;
	if ((rc = wire_validate(&m)) != PW_OK)
		return rc;
	size = pw_wire_size(&m);
	if (size == 0)
		return PW_ERR_FIELD;
	if (cap < size)
		return PW_ERR_FULL;
	p = out;
	put_u8(&p, m.version);
	put_u8(&p, m.type);
	put_bytes(&p, m.author, PW_PK_LEN);
	put_ack_fields(&p, &m.u.receipt);
	put_bytes(&p, head, PW_CHECKPOINT_FRAME_LEN);
	if ((size_t)(p - out) != size)
		return PW_ERR_INTERNAL;
	*len = size;
	return PW_OK;
}

/* pw_wire_encode() of an ACK: sign its head, then embed it. */
static pw_err
encode_ack_signed(struct pw_msg *m, uint64_t market_id, const struct pw_keypair *kp, uint8_t *out,
                  size_t cap, size_t *len)
{
	struct pw_msg h;
	uint8_t head[PW_CHECKPOINT_FRAME_LEN];
	size_t hlen;
	pw_err rc;

	memset(&h, 0, sizeof(h));
	h.type = PW_MSG_CHECKPOINT;
	h.u.checkpoint = m->u.receipt.head;
	if ((rc = pw_wire_encode(&h, market_id, kp, head, sizeof(head), &hlen)) != PW_OK)
		return rc;
	if ((rc = pw_wire_encode_ack(&m->u.receipt, head, hlen, out, cap, len)) != PW_OK)
		return rc;
	memcpy(m->author, kp->pk, PW_PK_LEN);
	m->u.receipt.reason = PW_REASON_OK;
	m->u.receipt.time_s = m->u.receipt.head.time_s;
	memcpy(m->u.receipt.head_sig, h.sig, PW_SIG_LEN);
	memcpy(m->sig, h.sig, PW_SIG_LEN);
	return PW_OK;
}

pw_err
pw_wire_encode(struct pw_msg *m, uint64_t market_id, const struct pw_keypair *kp, uint8_t *out,
               size_t cap, size_t *len)
{
	size_t size;
	uint8_t *p;
	pw_err rc;

	if (m == NULL || kp == NULL || out == NULL || len == NULL)
		return PW_ERR_ARG;
	if (wire_type_name(m->type) == NULL)
		return PW_ERR_TYPE;
	m->version = PW_PROTO_VERSION;
	if (m->type == PW_MSG_ACK)
		return encode_ack_signed(m, market_id, kp, out, cap, len);
	if ((rc = wire_validate(m)) != PW_OK)
		return rc;
	if (m->type == PW_MSG_RESULT && m->u.result.n_trades > 0 && m->u.result.trades == NULL &&
	    m->u.result.trades_wire == NULL)
		return PW_ERR_ARG;
	size = pw_wire_size(m);
	if (size == 0)
		return PW_ERR_FIELD;
	if (cap < size)
		return PW_ERR_FULL;

	m->version = PW_PROTO_VERSION;
	memcpy(m->author, kp->pk, PW_PK_LEN);
	p = out;
	put_u8(&p, m->version);
	put_u8(&p, m->type);
	put_bytes(&p, m->author, PW_PK_LEN);
	put_body(&p, m);
	if ((size_t)(p - out) != size - PW_SIG_LEN)
		return PW_ERR_INTERNAL;
	rc = signed_op(PW_PROTO_VERSION, m->type, market_id, out, size - PW_SIG_LEN, kp,
	               out + size - PW_SIG_LEN, NULL, NULL);
	if (rc != PW_OK)
		return rc;
	memcpy(m->sig, out + size - PW_SIG_LEN, PW_SIG_LEN);
	*len = size;
	return PW_OK;
}

/* --- decode ----------------------------------------------------------------- */

/* Header checks shared by decode and verify: length floor, version, type. */
static pw_err
check_header(const uint8_t *buf, size_t len)
{
	if (buf == NULL)
		return PW_ERR_ARG;
	if (len < 2)
		return PW_ERR_LENGTH;
	if (buf[0] != PW_PROTO_VERSION)
		return PW_ERR_VERSION;
	if (wire_type_name(buf[1]) == NULL)
		return PW_ERR_TYPE;
	if (len < PW_WIRE_HEADER_LEN + wire_body_len(buf[1], 0) + PW_SIG_LEN ||
	    len > PW_WIRE_MAX_LEN)
		return PW_ERR_LENGTH;
	return PW_OK;
}

static void
get_body(const uint8_t **p, struct pw_msg *m)
{
	switch (m->type) {
	case PW_MSG_ORDER: {
		struct pw_order *o = &m->u.order;
		o->seq = get_u64(p);
		o->interval = get_u64(p);
		o->expiry_s = get_u64(p);
		o->qty_wh = get_u32(p);
		o->price_uper_kwh = get_i32(p);
		o->side = get_u8(p);
		break;
	}
	case PW_MSG_CANCEL:
		m->u.cancel.seq = get_u64(p);
		m->u.cancel.interval = get_u64(p);
		m->u.cancel.order_seq = get_u64(p);
		break;
	case PW_MSG_METER: {
		struct pw_meter *r = &m->u.meter;
		r->seq = get_u64(p);
		r->interval = get_u64(p);
		get_bytes(p, r->serial, PW_SERIAL_LEN);
		r->export_start_wh = get_u64(p);
		r->export_end_wh = get_u64(p);
		r->import_start_wh = get_u64(p);
		r->import_end_wh = get_u64(p);
		r->time_status = get_u8(p);
		break;
	}
	case PW_MSG_QUERY:
		m->u.query.nonce = get_u64(p);
		m->u.query.kind = get_u8(p);
		m->u.query.a = get_u64(p);
		m->u.query.b = get_u64(p);
		get_bytes(p, m->u.query.key, PW_PK_LEN);
		break;
	case PW_MSG_COSIGN:
		get_bytes(p, m->u.cosign.origin, PW_ORIGIN_LEN);
		m->u.cosign.tree_size = get_u64(p);
		get_bytes(p, m->u.cosign.root, PW_HASH_LEN);
		m->u.cosign.time_s = get_u64(p);
		break;
	case PW_MSG_ACK: {
		struct pw_receipt *r = &m->u.receipt;
		get_bytes(p, r->ref_hash, PW_HASH_LEN);
		r->ref_type = get_u8(p);
		r->ref_seq = get_u64(p);
		r->log_index = get_u64(p);
		r->n_hashes = get_u8(p);
		for (unsigned i = 0; i < r->n_hashes; i++)
			get_bytes(p, r->path[i], PW_HASH_LEN);
		/* the head up to its signature; decode reads it with get_ack_head */
		*p += PW_CHECKPOINT_FRAME_LEN - PW_SIG_LEN;
		break;
	}
	case PW_MSG_REJECT: {
		struct pw_receipt *r = &m->u.receipt;
		get_bytes(p, r->ref_hash, PW_HASH_LEN);
		r->ref_type = get_u8(p);
		r->ref_seq = get_u64(p);
		r->reason = get_u16(p);
		r->log_index = get_u64(p);
		r->time_s = get_u64(p);
		break;
	}
	case PW_MSG_RESULT: {
		struct pw_result *r = &m->u.result;
		r->interval = get_u64(p);
		r->price_uper_kwh = get_i32(p);
		r->volume_wh = get_u64(p);
		r->n_trades_total = get_u32(p);
		r->part = get_u16(p);
		r->parts = get_u16(p);
		r->n_trades = get_u16(p);
		r->trades = NULL;
		r->trades_wire = *p;
		*p += (size_t)r->n_trades * PW_TRADE_WIRE_LEN;
		break;
	}
	case PW_MSG_STATEMENT: {
		struct pw_statement *s = &m->u.statement;
		get_bytes(p, s->household, PW_PK_LEN);
		s->interval = get_u64(p);
		s->flags = get_u32(p);
		s->price_uper_kwh = get_i32(p);
		s->bought_wh = get_u64(p);
		s->sold_wh = get_u64(p);
		s->export_wh = get_u64(p);
		s->import_wh = get_u64(p);
		s->shortfall_wh = get_u64(p);
		s->excess_wh = get_u64(p);
		s->extra_import_wh = get_u64(p);
		s->unused_wh = get_u64(p);
		s->peer_u = get_i64(p);
		s->grid_u = get_i64(p);
		s->fee_u = get_i64(p);
		s->net_u = get_i64(p);
		s->baseline_u = get_i64(p);
		s->saving_u = get_i64(p);
		break;
	}
	case PW_MSG_CHECKPOINT: {
		struct pw_checkpoint *c = &m->u.checkpoint;
		get_bytes(p, c->origin, PW_ORIGIN_LEN);
		c->interval = get_u64(p);
		c->tree_size = get_u64(p);
		get_bytes(p, c->root, PW_HASH_LEN);
		c->time_s = get_u64(p);
		break;
	}
	case PW_MSG_PROOF: {
		struct pw_proof *r = &m->u.proof;
		r->nonce = get_u64(p);
		r->kind = get_u8(p);
		r->a = get_u64(p);
		r->b = get_u64(p);
		r->n_hashes = get_u8(p);
		for (unsigned i = 0; i < r->n_hashes; i++)
			get_bytes(p, r->hashes[i], PW_HASH_LEN);
		break;
	}
	case PW_MSG_DEPTH: {
		struct pw_depth *d = &m->u.depth;
		d->interval = get_u64(p);
		d->n_levels = get_u8(p);
		for (unsigned i = 0; i < d->n_levels; i++) {
			d->levels[i].side = get_u8(p);
			d->levels[i].price_uper_kwh = get_i32(p);
			d->levels[i].qty_wh = get_u64(p);
		}
		break;
	}
	case PW_MSG_HEARTBEAT: {
		struct pw_heartbeat *h = &m->u.heartbeat;
		h->time_ms = get_u64(p);
		h->period_ms = get_u32(p);
		h->interval_s = get_u32(p);
		h->gate_s = get_u32(p);
		h->feedin_uper_kwh = get_i32(p);
		h->retail_uper_kwh = get_i32(p);
		break;
	}
	case PW_MSG_MARKET: {
		struct pw_market *mk = &m->u.market;
		mk->time_s = get_u64(p);
		mk->effective_interval = get_u64(p);
		get_bytes(p, mk->name, PW_TOKEN_LEN);
		get_bytes(p, mk->currency, PW_CURRENCY_LEN);
		mk->interval_s = get_u32(p);
		mk->gate_s = get_u32(p);
		mk->grace_s = get_u32(p);
		mk->max_ahead_s = get_u32(p);
		mk->feedin_uper_kwh = get_i32(p);
		mk->retail_uper_kwh = get_i32(p);
		mk->fee_same_zone_uper_kwh = get_u32(p);
		mk->fee_default_uper_kwh = get_u32(p);
		mk->n_fees = get_u16(p);
		for (unsigned i = 0; i < mk->n_fees; i++) {
			get_bytes(p, mk->fees[i].zone_a, PW_TOKEN_LEN);
			get_bytes(p, mk->fees[i].zone_b, PW_TOKEN_LEN);
			mk->fees[i].fee_uper_kwh = get_u32(p);
		}
		break;
	}
	case PW_MSG_REGISTRY: {
		struct pw_registry *r = &m->u.registry;
		r->time_s = get_u64(p);
		get_bytes(p, r->household, PW_PK_LEN);
		get_bytes(p, r->id, PW_TOKEN_LEN);
		get_bytes(p, r->name, PW_TOKEN_LEN);
		get_bytes(p, r->serial, PW_SERIAL_LEN);
		get_bytes(p, r->zone, PW_TOKEN_LEN);
		r->max_export_w = get_u32(p);
		r->max_import_w = get_u32(p);
		r->revoked = get_u8(p);
		break;
	}
	default:
		break;
	}
}

/*
 * The count of a counted type sits at a fixed offset of its body; reading
 * it first gives the exact length before anything else is parsed.  A count
 * above its bound is a field error (not a length error): the frame names an
 * array the protocol forbids.
 */
static pw_err
expected_len(const uint8_t *buf, size_t *out)
{
	const uint8_t *body = buf + PW_WIRE_HEADER_LEN;
	size_t count = 0;

	switch (buf[1]) {
	case PW_MSG_RESULT:
		count = (size_t)((body[28] << 8) | body[29]);
		if (count > PW_RESULT_MAX_TRADES)
			return PW_ERR_FIELD;
		break;
	case PW_MSG_PROOF:
		count = body[25];
		if (count > PW_PROOF_MAX_HASHES)
			return PW_ERR_FIELD;
		break;
	case PW_MSG_DEPTH:
		count = body[8];
		if (count > PW_DEPTH_MAX_LEVELS)
			return PW_ERR_FIELD;
		break;
	case PW_MSG_MARKET:
		count = (size_t)((body[MARKET_COUNT_AT] << 8) | body[MARKET_COUNT_AT + 1]);
		if (count > PW_MARKET_MAX_FEES)
			return PW_ERR_FIELD;
		break;
	case PW_MSG_ACK:
		count = body[ACK_COUNT_AT];
		if (count > PW_PROOF_MAX_HASHES)
			return PW_ERR_FIELD;
		break;
	default:
		break;
	}
	*out = PW_WIRE_HEADER_LEN + wire_body_len(buf[1], count) + PW_SIG_LEN;
	return PW_OK;
}

pw_err
pw_wire_decode(const uint8_t *buf, size_t len, struct pw_msg *m)
{
	const uint8_t *p;
	size_t want;
	pw_err rc;

	if (m == NULL)
		return PW_ERR_ARG;
	if ((rc = check_header(buf, len)) != PW_OK)
		return rc;
	if ((rc = expected_len(buf, &want)) != PW_OK)
		return rc;
	if (len != want)
		return PW_ERR_LENGTH;

	memset(m, 0, sizeof(*m));
	p = buf;
	m->version = get_u8(&p);
	m->type = get_u8(&p);
	get_bytes(&p, m->author, PW_PK_LEN);
	get_body(&p, m);
	if ((size_t)(p - buf) != len - PW_SIG_LEN)
		return PW_ERR_INTERNAL;
	get_bytes(&p, m->sig, PW_SIG_LEN);
	if (m->type == PW_MSG_ACK && (rc = get_ack_head(buf + len - PW_CHECKPOINT_FRAME_LEN,
	                                                m->author, &m->u.receipt)) != PW_OK)
		return rc;
	return wire_validate(m);
}

pw_err
pw_wire_decode_stored(const uint8_t *buf, size_t len, struct pw_msg *m)
{
	if (buf != NULL && len >= 1 && buf[0] == PW_PROTO_VERSION_V1)
		return wire_v1_decode(buf, len, m);
	return pw_wire_decode(buf, len, m);
}

pw_err
pw_wire_verify(const uint8_t *buf, size_t len, uint64_t market_id)
{
	const uint8_t *h;
	size_t want;
	pw_err rc;

	if ((rc = check_header(buf, len)) != PW_OK)
		return rc;
	if (buf[1] != PW_MSG_ACK)
		return signed_op(PW_PROTO_VERSION, buf[1], market_id, buf, len - PW_SIG_LEN, NULL,
		                 NULL, buf + 2, buf + len - PW_SIG_LEN);
	/* an ACK's signature is its head's, a CHECKPOINT by the same author */
	if ((rc = expected_len(buf, &want)) != PW_OK)
		return rc;
	if (len != want)
		return PW_ERR_LENGTH;
	h = buf + len - PW_CHECKPOINT_FRAME_LEN;
	if (h[0] != PW_PROTO_VERSION || h[1] != PW_MSG_CHECKPOINT)
		return PW_ERR_FIELD;
	if (memcmp(h + 2, buf + 2, PW_PK_LEN) != 0)
		return PW_ERR_BADSIG; /* not signed by the author it names */
	return signed_op(PW_PROTO_VERSION, PW_MSG_CHECKPOINT, market_id, h,
	                 PW_CHECKPOINT_FRAME_LEN - PW_SIG_LEN, NULL, NULL, h + 2,
	                 h + PW_CHECKPOINT_FRAME_LEN - PW_SIG_LEN);
}

pw_err
pw_wire_verify_stored(const uint8_t *buf, size_t len, uint64_t market_id)
{
	struct pw_msg m;
	pw_err rc;

	if (buf == NULL || len < 1 || buf[0] != PW_PROTO_VERSION_V1)
		return pw_wire_verify(buf, len, market_id);
	/* version 1: every type signed on its own under "peerwatt/1/" */
	if ((rc = wire_v1_decode(buf, len, &m)) != PW_OK)
		return rc;
	return signed_op(PW_PROTO_VERSION_V1, buf[1], market_id, buf, len - PW_SIG_LEN, NULL, NULL,
	                 buf + 2, buf + len - PW_SIG_LEN);
}

pw_err
pw_wire_open_stored(const uint8_t *buf, size_t len, uint64_t market_id, struct pw_msg *m)
{
	pw_err rc;

	if ((rc = pw_wire_decode_stored(buf, len, m)) != PW_OK)
		return rc;
	return pw_wire_verify_stored(buf, len, market_id);
}

/* The seq an ACK of `m` names: a request's own sequence number, else 0. */
static uint64_t
request_seq(const struct pw_msg *m)
{
	switch (m->type) {
	case PW_MSG_ORDER:
		return m->u.order.seq;
	case PW_MSG_CANCEL:
		return m->u.cancel.seq;
	case PW_MSG_METER:
		return m->u.meter.seq;
	case PW_MSG_COSIGN:
		return m->u.cosign.tree_size;
	default:
		return 0;
	}
}

pw_err
pw_wire_ack_check(const struct pw_msg *ack, const uint8_t *req, size_t req_len)
{
	const struct pw_receipt *r;
	struct pw_msg q;
	uint8_t h[PW_HASH_LEN];

	if (ack == NULL || req == NULL)
		return PW_ERR_ARG;
	r = &ack->u.receipt;
	if (ack->type != PW_MSG_ACK || ack->version != PW_PROTO_VERSION || req_len < 2)
		return PW_ERR_FIELD;
	/* only the head is signed: every other field of the ACK is bound by
	 * this check (ref_hash, ref_type and ref_seq name the request, the
	 * path and log_index lead from it to the signed root) */
	pw_sha256(req, req_len, h);
	if (memcmp(h, r->ref_hash, PW_HASH_LEN) != 0 || req[1] != r->ref_type ||
	    pw_wire_decode(req, req_len, &q) != PW_OK || r->ref_seq != request_seq(&q))
		return PW_ERR_FIELD;
	merkle_leaf_hash(req, req_len, h);
	return merkle_verify_inclusion(r->log_index, r->head.tree_size, h,
	                               (const uint8_t(*)[PW_HASH_LEN])r->path, r->n_hashes,
	                               r->head.root);
}

pw_err
pw_wire_open(const uint8_t *buf, size_t len, uint64_t market_id, struct pw_msg *m)
{
	pw_err rc;

	if ((rc = pw_wire_decode(buf, len, m)) != PW_OK)
		return rc;
	return pw_wire_verify(buf, len, market_id);
}

pw_err
pw_wire_result_trade(const struct pw_result *r, uint16_t i, struct pw_trade *out)
{
	const uint8_t *p;

	if (r == NULL || out == NULL)
		return PW_ERR_ARG;
	if (i >= r->n_trades)
		return PW_ERR_RANGE;
	if (r->trades != NULL) {
		*out = r->trades[i];
		return PW_OK;
	}
	if (r->trades_wire == NULL)
		return PW_ERR_ARG;
	p = r->trades_wire + (size_t)i * PW_TRADE_WIRE_LEN;
	get_bytes(&p, out->buyer, PW_PK_LEN);
	get_bytes(&p, out->seller, PW_PK_LEN);
	out->buy_seq = get_u64(&p);
	out->sell_seq = get_u64(&p);
	out->qty_wh = get_u32(&p);
	return PW_OK;
}

void
pw_wire_text(char *out, size_t cap, const char *field, size_t len)
{
	size_t n = 0;

	if (cap == 0)
		return;
	while (n < len && n + 1 < cap && field[n] != '\0')
		n++;
	memcpy(out, field, n);
	out[n] = '\0';
}
