/*
 * wire_v1.c: the frozen decoder of protocol version 1 (see
 * include/peerwatt/wire.h and docs/protocol.md "Version 1 stored frames").
 *
 * Version-1 frames exist only in stored logs and agent databases written
 * before protocol 2 (the settlement log, the agent's receipts, the
 * fixture tests/fixtures/exchange-v1).  They decode into the same structs
 * as version 2 (m->version = 1), with the version-1 layouts kept here
 * unchanged whatever version 2 becomes: the 59-byte receipt body of ACK
 * and REJECT, unsigned 32-bit prices (a price above INT32_MAX is a field
 * error, so that it never turns negative in a signed field).  Only
 * pw_wire_decode_stored() and pw_wire_open_stored() call it.
 */
#include "peerwatt/wire.h"
#include "common/wire_int.h"

#include <string.h>

/* Version-1 body lengths (without counted arrays). */
#define V1_BODY_ORDER      33
#define V1_BODY_CANCEL     24
#define V1_BODY_METER      (8 + 8 + PW_SERIAL_LEN + 4 * 8 + 1)
#define V1_BODY_QUERY      25
#define V1_BODY_RECEIPT    (PW_HASH_LEN + 1 + 8 + 2 + 8 + 8)
#define V1_BODY_RESULT     30
#define V1_BODY_STATEMENT  (PW_PK_LEN + 8 + 4 + 4 + 8 * 8 + 6 * 8)
#define V1_BODY_CHECKPOINT (PW_ORIGIN_LEN + 8 + 8 + PW_HASH_LEN + 8)
#define V1_BODY_PROOF      26
#define V1_BODY_DEPTH      9
#define V1_DEPTH_LEVEL_LEN 13
#define V1_BODY_HEARTBEAT  (8 + 5 * 4)
#define V1_BODY_MARKET     (8 + 8 + PW_TOKEN_LEN + PW_CURRENCY_LEN + 8 * 4 + 2)
#define V1_BODY_REGISTRY   (8 + PW_PK_LEN + 3 * PW_TOKEN_LEN + PW_SERIAL_LEN + 4 + 4 + 1)
#define V1_MARKET_FEE_LEN  (2 * PW_TOKEN_LEN + 4)
#define V1_TRADE_LEN       (2 * PW_PK_LEN + 8 + 8 + 4)

/* Version-1 body length of `type` with `count` array elements; 0 if the
 * type did not exist in version 1. */
static size_t
v1_body_len(unsigned type, size_t count)
{
	switch (type) {
	case PW_MSG_ORDER:
		return V1_BODY_ORDER;
	case PW_MSG_CANCEL:
		return V1_BODY_CANCEL;
	case PW_MSG_METER:
		return V1_BODY_METER;
	case PW_MSG_QUERY:
		return V1_BODY_QUERY;
	case PW_MSG_ACK:
	case PW_MSG_REJECT:
		return V1_BODY_RECEIPT;
	case PW_MSG_RESULT:
		return V1_BODY_RESULT + count * V1_TRADE_LEN;
	case PW_MSG_STATEMENT:
		return V1_BODY_STATEMENT;
	case PW_MSG_CHECKPOINT:
		return V1_BODY_CHECKPOINT;
	case PW_MSG_PROOF:
		return V1_BODY_PROOF + count * PW_HASH_LEN;
	case PW_MSG_DEPTH:
		return V1_BODY_DEPTH + count * V1_DEPTH_LEVEL_LEN;
	case PW_MSG_HEARTBEAT:
		return V1_BODY_HEARTBEAT;
	case PW_MSG_MARKET:
		return V1_BODY_MARKET + count * V1_MARKET_FEE_LEN;
	case PW_MSG_REGISTRY:
		return V1_BODY_REGISTRY;
	default:
		return 0;
	}
}

/* A version-1 price: u32 on the wire, at most INT32_MAX (else *bad), into
 * the signed field of version 2. */
static int32_t
v1_price(const uint8_t **p, int *bad)
{
	uint32_t v = get_u32(p);
	if (v > (uint32_t)INT32_MAX) {
		*bad = 1;
		return 0;
	}
	return (int32_t)v;
}

static void
v1_get_body(const uint8_t **p, struct pw_msg *m, int *bad)
{
	switch (m->type) {
	case PW_MSG_ORDER: {
		struct pw_order *o = &m->u.order;
		o->seq = get_u64(p);
		o->interval = get_u64(p);
		o->expiry_s = get_u64(p);
		o->qty_wh = get_u32(p);
		o->price_uper_kwh = v1_price(p, bad);
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
		break;
	case PW_MSG_ACK:
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
		r->price_uper_kwh = v1_price(p, bad);
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
		s->price_uper_kwh = v1_price(p, bad);
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
			d->levels[i].price_uper_kwh = v1_price(p, bad);
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
		h->feedin_uper_kwh = v1_price(p, bad);
		h->retail_uper_kwh = v1_price(p, bad);
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
		mk->feedin_uper_kwh = v1_price(p, bad);
		mk->retail_uper_kwh = v1_price(p, bad);
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

/* The exact version-1 length of buf's frame from its count (PW_ERR_FIELD
 * for a count above its bound), as expected_len() in wire.c. */
static pw_err
v1_expected_len(const uint8_t *buf, size_t *out)
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
		count = (size_t)((body[V1_BODY_MARKET - 2] << 8) | body[V1_BODY_MARKET - 1]);
		if (count > PW_MARKET_MAX_FEES)
			return PW_ERR_FIELD;
		break;
	default:
		break;
	}
	*out = PW_WIRE_HEADER_LEN + v1_body_len(buf[1], count) + PW_SIG_LEN;
	return PW_OK;
}

pw_err
wire_v1_decode(const uint8_t *buf, size_t len, struct pw_msg *m)
{
	const uint8_t *p;
	size_t want;
	int bad = 0;
	pw_err rc;

	if (buf == NULL || m == NULL)
		return PW_ERR_ARG;
	if (len < 2)
		return PW_ERR_LENGTH;
	if (buf[0] != PW_PROTO_VERSION_V1)
		return PW_ERR_VERSION;
	if (v1_body_len(buf[1], 0) == 0)
		return PW_ERR_TYPE;
	if (len < PW_WIRE_HEADER_LEN + v1_body_len(buf[1], 0) + PW_SIG_LEN || len > PW_WIRE_MAX_LEN)
		return PW_ERR_LENGTH;
	if ((rc = v1_expected_len(buf, &want)) != PW_OK)
		return rc;
	if (len != want)
		return PW_ERR_LENGTH;

	memset(m, 0, sizeof(*m));
	p = buf;
	m->version = get_u8(&p);
	m->type = get_u8(&p);
	get_bytes(&p, m->author, PW_PK_LEN);
	v1_get_body(&p, m, &bad);
	if ((size_t)(p - buf) != len - PW_SIG_LEN)
		return PW_ERR_INTERNAL;
	get_bytes(&p, m->sig, PW_SIG_LEN);
	if (bad)
		return PW_ERR_FIELD;
	return wire_validate(m);
}
