/*
 * wire_rules.c: the wire codec's names and field rules (see wire.c for the
 * codec and wire_int.h): type and reason names, the one validator that
 * encode and decode both apply (so nothing is encodable that would not
 * decode), body lengths and pw_wire_size().
 */
#include "peerwatt/wire.h"
#include "common/wire_int.h"

#include <string.h>

const char *
wire_type_name(unsigned type)
{
	switch (type) {
	case PW_MSG_ORDER:
		return "ORDER";
	case PW_MSG_CANCEL:
		return "CANCEL";
	case PW_MSG_METER:
		return "METER";
	case PW_MSG_QUERY:
		return "QUERY";
	case PW_MSG_COSIGN:
		return "COSIGN";
	case PW_MSG_ACK:
		return "ACK";
	case PW_MSG_REJECT:
		return "REJECT";
	case PW_MSG_RESULT:
		return "RESULT";
	case PW_MSG_STATEMENT:
		return "STATEMENT";
	case PW_MSG_CHECKPOINT:
		return "CHECKPOINT";
	case PW_MSG_PROOF:
		return "PROOF";
	case PW_MSG_DEPTH:
		return "DEPTH";
	case PW_MSG_HEARTBEAT:
		return "HEARTBEAT";
	case PW_MSG_MARKET:
		return "MARKET";
	case PW_MSG_REGISTRY:
		return "REGISTRY";
	default:
		return NULL;
	}
}

const char *
pw_msg_type_name(unsigned type)
{
	const char *n = wire_type_name(type);
	return n != NULL ? n : "UNKNOWN";
}

static const char *const reason_names[PW_REASON__COUNT] = {
	[PW_REASON_OK] = "ok",
	[PW_REASON_MALFORMED] = "malformed",
	[PW_REASON_BAD_SIGNATURE] = "bad_signature",
	[PW_REASON_UNKNOWN_KEY] = "unknown_key",
	[PW_REASON_WRONG_IDENTITY] = "wrong_identity",
	[PW_REASON_REPLAY] = "replay",
	[PW_REASON_EXPIRED] = "expired",
	[PW_REASON_GATE_CLOSED] = "gate_closed",
	[PW_REASON_TOO_FAR_AHEAD] = "too_far_ahead",
	[PW_REASON_PRICE_BOUNDS] = "price_bounds",
	[PW_REASON_CAPACITY] = "capacity",
	[PW_REASON_SELF_TRADE] = "self_trade",
	[PW_REASON_OVERSIZE] = "oversize",
	[PW_REASON_BAD_QUANTITY] = "bad_quantity",
	[PW_REASON_UNKNOWN_ORDER] = "unknown_order",
	[PW_REASON_RATE_LIMITED] = "rate_limited",
	[PW_REASON_METER_SERIAL] = "meter_serial",
	[PW_REASON_METER_GAP] = "meter_gap",
	[PW_REASON_METER_CONTINUITY] = "meter_continuity",
	[PW_REASON_METER_BACKWARDS] = "meter_backwards",
	[PW_REASON_METER_IMPLAUSIBLE] = "meter_implausible",
	[PW_REASON_METER_TOO_EARLY] = "meter_too_early",
	[PW_REASON_METER_DUPLICATE] = "meter_duplicate",
	[PW_REASON_WRONG_TYPE] = "wrong_type",
	[PW_REASON_UNAVAILABLE] = "unavailable",
	[PW_REASON_BAD_QUERY] = "bad_query",
	[PW_REASON_REVOKED] = "revoked",
	[PW_REASON_BAD_VERSION] = "bad_version",
	[PW_REASON_UNKNOWN_HEAD] = "unknown_head",
};

const char *
pw_reason_name(unsigned reason)
{
	if (reason >= PW_REASON__COUNT || reason_names[reason] == NULL)
		return "unknown";
	return reason_names[reason];
}

/* --- field rules (shared by encode and decode) ---------------------------- */

/*
 * A text field (meter serial, checkpoint origin): 1 to `len` printable ASCII
 * bytes (0x20..0x7e), then NUL bytes up to `len`.  A NUL followed by a
 * non-NUL is refused so a field has exactly one byte representation.
 */
static int
text_field_ok(const char *s, size_t len)
{
	size_t n = 0;

	while (n < len && s[n] != '\0') {
		if ((unsigned char)s[n] < 0x20 || (unsigned char)s[n] > 0x7e)
			return 0;
		n++;
	}
	if (n == 0)
		return 0;
	for (; n < len; n++)
		if (s[n] != '\0')
			return 0;
	return 1;
}

/*
 * A registry token (household id, name, zone): 1..31 bytes of
 * [A-Za-z0-9_.-], then NUL bytes up to PW_TOKEN_LEN (so always one NUL).
 */
static int
token_field_ok(const char *s)
{
	size_t n = 0;

	while (n < PW_TOKEN_LEN && s[n] != '\0') {
		char c = s[n];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '.' || c == '-'))
			return 0;
		n++;
	}
	if (n == 0 || n == PW_TOKEN_LEN)
		return 0;
	for (; n < PW_TOKEN_LEN; n++)
		if (s[n] != '\0')
			return 0;
	return 1;
}

/* Two NUL-padded token fields compared as strings (both hold a NUL). */
static int
token_cmp(const char *a, const char *b)
{
	return strncmp(a, b, PW_TOKEN_LEN);
}

/*
 * MARKET: the table rules of docs/protocol.md.  The fee table is canonical
 * (each pair once, zone_a <= zone_b, pairs strictly ascending by zone_a then
 * zone_b), so a pair can never be given twice with two fees.
 */
static int
market_ok(const struct pw_market *mk)
{
	/* the name is a checkpoint origin of at most 31 characters */
	if (!text_field_ok(mk->name, PW_TOKEN_LEN) || mk->name[PW_TOKEN_LEN - 1] != '\0')
		return 0;
	for (size_t i = 0; i < PW_CURRENCY_LEN; i++)
		if (mk->currency[i] < 'A' || mk->currency[i] > 'Z')
			return 0;
	if (mk->interval_s == 0 || mk->gate_s >= mk->interval_s ||
	    mk->retail_uper_kwh < mk->feedin_uper_kwh || mk->n_fees > PW_MARKET_MAX_FEES)
		return 0;
	for (unsigned i = 0; i < mk->n_fees; i++) {
		const struct pw_market_fee *f = &mk->fees[i];
		if (!token_field_ok(f->zone_a) || !token_field_ok(f->zone_b) ||
		    token_cmp(f->zone_a, f->zone_b) > 0)
			return 0;
		if (i > 0) {
			const struct pw_market_fee *p = &mk->fees[i - 1];
			int c = token_cmp(p->zone_a, f->zone_a);
			if (c > 0 || (c == 0 && token_cmp(p->zone_b, f->zone_b) >= 0))
				return 0;
		}
	}
	return 1;
}

static int
registry_ok(const struct pw_registry *r)
{
	return token_field_ok(r->id) && token_field_ok(r->name) && token_field_ok(r->zone) &&
	       text_field_ok(r->serial, PW_SERIAL_LEN) && r->revoked <= 1;
}

unsigned
wire_path_len(uint64_t idx, uint64_t size)
{
	unsigned n = 0;

	/* RFC 9162 PATH: one hash per split on the way down to the leaf */
	while (size > 1) {
		uint64_t k = 1;
		while (k < size - k) /* 2k < size, without overflow */
			k <<= 1;
		if (idx < k) {
			size = k;
		} else {
			idx -= k;
			size -= k;
		}
		n++;
	}
	return n;
}

/*
 * ACK (version 2): the head is a CHECKPOINT of this version by the ACK's
 * author with a valid origin, the leaf lies inside the head's tree and the
 * path has exactly the length RFC 6962 gives for (log_index, tree_size).
 */
static int
ack_ok(const struct pw_msg *m)
{
	const struct pw_receipt *r = &m->u.receipt;

	return r->reason == PW_REASON_OK && r->log_index < r->head.tree_size &&
	       r->n_hashes <= PW_PROOF_MAX_HASHES &&
	       r->n_hashes == wire_path_len(r->log_index, r->head.tree_size) &&
	       text_field_ok(r->head.origin, PW_ORIGIN_LEN) && r->time_s == r->head.time_s;
}

static int
side_ok(uint8_t side)
{
	return side == PW_SIDE_BUY || side == PW_SIDE_SELL;
}

int
pw_query_uses_key(unsigned kind)
{
	return kind == PW_QUERY_REGISTRY || kind == PW_QUERY_REGISTRY_PROOF;
}

static int
zero_bytes(const uint8_t *b, size_t n)
{
	uint8_t acc = 0;
	for (size_t i = 0; i < n; i++)
		acc |= b[i];
	return acc == 0;
}

pw_err
wire_validate(const struct pw_msg *m)
{
	switch (m->type) {
	case PW_MSG_ORDER:
		/* qty 0 decodes; the exchange answers it with bad_quantity. */
		return side_ok(m->u.order.side) ? PW_OK : PW_ERR_FIELD;
	case PW_MSG_CANCEL:
		return PW_OK;
	case PW_MSG_METER:
		if (m->u.meter.time_status > PW_TIME_ESTIMATED)
			return PW_ERR_FIELD;
		return text_field_ok(m->u.meter.serial, PW_SERIAL_LEN) ? PW_OK : PW_ERR_FIELD;
	case PW_MSG_QUERY: {
		const struct pw_query *q = &m->u.query;
		/* a key with a kind that does not use it is refused: one
		 * question has one encoding */
		if (!pw_query_uses_key(q->kind) && !zero_bytes(q->key, PW_PK_LEN))
			return PW_ERR_FIELD;
		switch (q->kind) {
		case PW_QUERY_STATEMENT:
		case PW_QUERY_RESULT:
			return q->b == 0 ? PW_OK : PW_ERR_FIELD;
		case PW_QUERY_INCLUSION:
		case PW_QUERY_CONSISTENCY:
		case PW_QUERY_STATEMENT_PROOF:
		case PW_QUERY_MARKET:
		case PW_QUERY_MARKET_PROOF:
			return PW_OK;
		case PW_QUERY_CHECKPOINT:
			return q->a == 0 && q->b == 0 ? PW_OK : PW_ERR_FIELD;
		case PW_QUERY_REGISTRY:
		case PW_QUERY_REGISTRY_PROOF:
			return q->a == 0 ? PW_OK : PW_ERR_FIELD;
		case PW_QUERY_COSIGNED:
		case PW_QUERY_SCHEDULE:
			return q->b == 0 ? PW_OK : PW_ERR_FIELD;
		default:
			return PW_ERR_FIELD;
		}
	}
	case PW_MSG_COSIGN:
		if (m->u.cosign.tree_size == 0)
			return PW_ERR_FIELD;
		return text_field_ok(m->u.cosign.origin, PW_ORIGIN_LEN) ? PW_OK : PW_ERR_FIELD;
	case PW_MSG_ACK:
		if (m->version == PW_PROTO_VERSION_V1)
			return m->u.receipt.reason == PW_REASON_OK &&
			               m->u.receipt.log_index != UINT64_MAX
			           ? PW_OK
			           : PW_ERR_FIELD;
		return ack_ok(m) ? PW_OK : PW_ERR_FIELD;
	case PW_MSG_REJECT:
		if (m->u.receipt.reason == PW_REASON_OK ||
		    m->u.receipt.reason >= PW_REASON__COUNT ||
		    reason_names[m->u.receipt.reason] == NULL ||
		    m->u.receipt.log_index != UINT64_MAX)
			return PW_ERR_FIELD;
		return PW_OK;
	case PW_MSG_RESULT: {
		const struct pw_result *r = &m->u.result;
		if (r->parts == 0 || r->part >= r->parts || r->n_trades > PW_RESULT_MAX_TRADES ||
		    r->n_trades > r->n_trades_total ||
		    r->n_trades_total > (uint32_t)r->parts * PW_RESULT_MAX_TRADES)
			return PW_ERR_FIELD;
		return PW_OK;
	}
	case PW_MSG_STATEMENT:
		if ((m->u.statement.flags & ~STMT_KNOWN_FLAGS) != 0 || m->u.statement.fee_u < 0)
			return PW_ERR_FIELD;
		return PW_OK;
	case PW_MSG_CHECKPOINT:
		return text_field_ok(m->u.checkpoint.origin, PW_ORIGIN_LEN) ? PW_OK : PW_ERR_FIELD;
	case PW_MSG_PROOF:
		if ((m->u.proof.kind != PW_PROOF_INCLUSION &&
		     m->u.proof.kind != PW_PROOF_CONSISTENCY) ||
		    m->u.proof.n_hashes > PW_PROOF_MAX_HASHES)
			return PW_ERR_FIELD;
		return PW_OK;
	case PW_MSG_DEPTH:
		if (m->u.depth.n_levels > PW_DEPTH_MAX_LEVELS)
			return PW_ERR_FIELD;
		for (unsigned i = 0; i < m->u.depth.n_levels; i++)
			if (!side_ok(m->u.depth.levels[i].side))
				return PW_ERR_FIELD;
		return PW_OK;
	case PW_MSG_HEARTBEAT:
		if (m->u.heartbeat.period_ms == 0 || m->u.heartbeat.interval_s == 0)
			return PW_ERR_FIELD;
		return PW_OK;
	case PW_MSG_MARKET:
		return market_ok(&m->u.market) ? PW_OK : PW_ERR_FIELD;
	case PW_MSG_REGISTRY:
		return registry_ok(&m->u.registry) ? PW_OK : PW_ERR_FIELD;
	default:
		return PW_ERR_TYPE;
	}
}

/* Body length for `type` given its count (ignored by fixed types); 0 if unknown. */
size_t
wire_body_len(unsigned type, size_t count)
{
	switch (type) {
	case PW_MSG_ORDER:
		return BODY_ORDER;
	case PW_MSG_CANCEL:
		return BODY_CANCEL;
	case PW_MSG_METER:
		return BODY_METER;
	case PW_MSG_QUERY:
		return BODY_QUERY;
	case PW_MSG_COSIGN:
		return BODY_COSIGN;
	case PW_MSG_ACK:
		return BODY_ACK + count * PW_HASH_LEN;
	case PW_MSG_REJECT:
		return BODY_RECEIPT;
	case PW_MSG_RESULT:
		return BODY_RESULT + count * PW_TRADE_WIRE_LEN;
	case PW_MSG_STATEMENT:
		return BODY_STATEMENT;
	case PW_MSG_CHECKPOINT:
		return BODY_CHECKPOINT;
	case PW_MSG_PROOF:
		return BODY_PROOF + count * PW_HASH_LEN;
	case PW_MSG_DEPTH:
		return BODY_DEPTH + count * DEPTH_LEVEL_LEN;
	case PW_MSG_HEARTBEAT:
		return BODY_HEARTBEAT;
	case PW_MSG_MARKET:
		return BODY_MARKET + count * PW_MARKET_FEE_WIRE_LEN;
	case PW_MSG_REGISTRY:
		return BODY_REGISTRY;
	default:
		return 0;
	}
}

size_t
pw_wire_size(const struct pw_msg *m)
{
	size_t count = 0;

	if (m == NULL || wire_type_name(m->type) == NULL)
		return 0;
	switch (m->type) {
	case PW_MSG_RESULT:
		if (m->u.result.n_trades > PW_RESULT_MAX_TRADES)
			return 0;
		count = m->u.result.n_trades;
		break;
	case PW_MSG_PROOF:
		if (m->u.proof.n_hashes > PW_PROOF_MAX_HASHES)
			return 0;
		count = m->u.proof.n_hashes;
		break;
	case PW_MSG_ACK:
		if (m->u.receipt.n_hashes > PW_PROOF_MAX_HASHES)
			return 0;
		count = m->u.receipt.n_hashes;
		break;
	case PW_MSG_DEPTH:
		if (m->u.depth.n_levels > PW_DEPTH_MAX_LEVELS)
			return 0;
		count = m->u.depth.n_levels;
		break;
	case PW_MSG_MARKET:
		if (m->u.market.n_fees > PW_MARKET_MAX_FEES)
			return 0;
		count = m->u.market.n_fees;
		break;
	default:
		break;
	}
	return PW_WIRE_HEADER_LEN + wire_body_len(m->type, count) + PW_SIG_LEN;
}
