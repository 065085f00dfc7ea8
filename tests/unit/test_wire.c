/*
 * test_wire.c: the wire codec.  Round trip of every type, the strict
 * decoder's refusals (length, version, type, every forbidden field value),
 * domain separation of signatures, and the vectors of tests/vectors/.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <dirent.h>
#include <errno.h>

#include "peerwatt/keys.h"
#include "peerwatt/wire.h"

#define MARKET 0x0102030405060708ull

static const uint8_t all_types[] = {
	PW_MSG_ORDER,  PW_MSG_CANCEL,    PW_MSG_METER,     PW_MSG_QUERY,      PW_MSG_ACK,
	PW_MSG_REJECT, PW_MSG_RESULT,    PW_MSG_STATEMENT, PW_MSG_CHECKPOINT, PW_MSG_PROOF,
	PW_MSG_DEPTH,  PW_MSG_HEARTBEAT, PW_MSG_MARKET,    PW_MSG_REGISTRY,   PW_MSG_COSIGN,
};
#define N_TYPES (sizeof(all_types) / sizeof(all_types[0]))

static struct pw_trade sample_trades[3];

static void
fill_key(struct pw_keypair *kp, uint8_t salt)
{
	uint8_t seed[PW_SEED_LEN];
	for (size_t i = 0; i < sizeof(seed); i++)
		seed[i] = (uint8_t)(salt + i);
	assert_int_equal(pw_key_from_seed(kp, seed), PW_OK);
}

/* A valid message of `type` with distinctive field values. */
static void
fill(struct pw_msg *m, uint8_t type)
{
	memset(m, 0, sizeof(*m));
	m->type = type;
	switch (type) {
	case PW_MSG_ORDER:
		m->u.order = (struct pw_order){ .seq = 7,
			                        .interval = 1900000,
			                        .expiry_s = 1710000000,
			                        .qty_wh = 1250,
			                        .price_uper_kwh = 210000,
			                        .side = PW_SIDE_SELL };
		break;
	case PW_MSG_CANCEL:
		m->u.cancel = (struct pw_cancel){ .seq = 8, .interval = 1900000, .order_seq = 7 };
		break;
	case PW_MSG_METER:
		m->u.meter.seq = 3;
		m->u.meter.interval = 1899999;
		memcpy(m->u.meter.serial, "SN-0042", 7);
		m->u.meter.export_start_wh = 1000000;
		m->u.meter.export_end_wh = 1000400;
		m->u.meter.import_start_wh = 2000000;
		m->u.meter.import_end_wh = 2000010;
		m->u.meter.time_status = PW_TIME_UNSYNCED;
		break;
	case PW_MSG_QUERY:
		m->u.query =
		    (struct pw_query){ .nonce = 99, .kind = PW_QUERY_INCLUSION, .a = 5, .b = 9 };
		break;
	case PW_MSG_COSIGN:
		memcpy(m->u.cosign.origin, "peerwatt.example/market-1", 25);
		m->u.cosign.tree_size = 4242;
		memset(m->u.cosign.root, 0x5a, PW_HASH_LEN);
		m->u.cosign.time_s = 1710000900;
		break;
	case PW_MSG_ACK:
	case PW_MSG_REJECT:
		for (int i = 0; i < PW_HASH_LEN; i++)
			m->u.receipt.ref_hash[i] = (uint8_t)(0xa0 + i);
		m->u.receipt.ref_type = PW_MSG_ORDER;
		m->u.receipt.ref_seq = 7;
		m->u.receipt.reason = type == PW_MSG_ACK ? PW_REASON_OK : PW_REASON_GATE_CLOSED;
		m->u.receipt.log_index = type == PW_MSG_ACK ? 5 : UINT64_MAX;
		m->u.receipt.time_s = 1710000001;
		if (type == PW_MSG_ACK) {
			/* leaf 5 of 11: a path of 4 hashes (8 | 4 | 2 | 1), then
			 * the head at body offset 50 + 4 x 32 = 178 */
			struct pw_checkpoint *h = &m->u.receipt.head;
			m->u.receipt.n_hashes = 4;
			for (int k = 0; k < 4; k++)
				memset(m->u.receipt.path[k], 0x50 + k, PW_HASH_LEN);
			memcpy(h->origin, "market-7", 8);
			h->interval = 1899999;
			h->tree_size = 11;
			memset(h->root, 0x77, PW_HASH_LEN);
			h->time_s = 1710000001;
		}
		break;
	case PW_MSG_RESULT:
		for (int i = 0; i < 3; i++) {
			memset(sample_trades[i].buyer, 0x10 + i, PW_PK_LEN);
			memset(sample_trades[i].seller, 0x20 + i, PW_PK_LEN);
			sample_trades[i].buy_seq = (uint64_t)(100 + i);
			sample_trades[i].sell_seq = (uint64_t)(200 + i);
			sample_trades[i].qty_wh = (uint32_t)(300 + i);
		}
		m->u.result.interval = 1900000;
		m->u.result.price_uper_kwh = 215000;
		m->u.result.volume_wh = 903;
		m->u.result.n_trades_total = 3;
		m->u.result.part = 0;
		m->u.result.parts = 1;
		m->u.result.n_trades = 3;
		m->u.result.trades = sample_trades;
		break;
	case PW_MSG_STATEMENT: {
		struct pw_statement *s = &m->u.statement;
		memset(s->household, 0x33, PW_PK_LEN);
		s->interval = 1900000;
		s->flags = PW_STMT_READING_LATE;
		s->price_uper_kwh = 215000;
		s->bought_wh = 0;
		s->sold_wh = 1250;
		s->export_wh = 1100;
		s->import_wh = 4;
		s->shortfall_wh = 150;
		s->excess_wh = 0;
		s->extra_import_wh = 0;
		s->unused_wh = 0;
		s->peer_u = 268750;
		s->grid_u = -45000;
		s->fee_u = 0;
		s->net_u = 223750;
		s->baseline_u = 88000;
		s->saving_u = 135750;
		break;
	}
	case PW_MSG_CHECKPOINT:
		memcpy(m->u.checkpoint.origin, "peerwatt.example/market-1", 25);
		m->u.checkpoint.interval = 1900000;
		m->u.checkpoint.tree_size = 4242;
		memset(m->u.checkpoint.root, 0x5a, PW_HASH_LEN);
		m->u.checkpoint.time_s = 1710000900;
		break;
	case PW_MSG_PROOF:
		m->u.proof.nonce = 99;
		m->u.proof.kind = PW_PROOF_INCLUSION;
		m->u.proof.a = 5;
		m->u.proof.b = 9;
		m->u.proof.n_hashes = 4;
		for (int i = 0; i < 4; i++)
			memset(m->u.proof.hashes[i], 0x40 + i, PW_HASH_LEN);
		break;
	case PW_MSG_DEPTH:
		m->u.depth.interval = 1900001;
		m->u.depth.n_levels = 3;
		m->u.depth.levels[0] = (struct pw_depth_level){ PW_SIDE_BUY, 230000, 500 };
		m->u.depth.levels[1] = (struct pw_depth_level){ PW_SIDE_SELL, 200000, 800 };
		m->u.depth.levels[2] = (struct pw_depth_level){ PW_SIDE_SELL, 210000, 1200 };
		break;
	case PW_MSG_HEARTBEAT:
		m->u.heartbeat.time_ms = 1710000900123;
		m->u.heartbeat.period_ms = 2000;
		m->u.heartbeat.interval_s = 900;
		m->u.heartbeat.gate_s = 60;
		m->u.heartbeat.feedin_uper_kwh = 80000;
		m->u.heartbeat.retail_uper_kwh = 300000;
		break;
	case PW_MSG_MARKET: {
		struct pw_market *mk = &m->u.market;
		mk->time_s = 1710000950;
		mk->effective_interval = 1900004;
		memcpy(mk->name, "peerwatt.example/market-1", 25);
		memcpy(mk->currency, "EUR", 3);
		mk->interval_s = 900;
		mk->gate_s = 60;
		mk->grace_s = 120;
		mk->max_ahead_s = 86400;
		mk->feedin_uper_kwh = 80000;
		mk->retail_uper_kwh = 300000;
		mk->fee_same_zone_uper_kwh = 10000;
		mk->fee_default_uper_kwh = 50000;
		mk->n_fees = 3;
		memcpy(mk->fees[0].zone_a, "east", 4);
		memcpy(mk->fees[0].zone_b, "east", 4); /* a zone with itself: allowed */
		mk->fees[0].fee_uper_kwh = 5000;
		memcpy(mk->fees[1].zone_a, "north", 5);
		memcpy(mk->fees[1].zone_b, "south", 5);
		mk->fees[1].fee_uper_kwh = 20000;
		memcpy(mk->fees[2].zone_a, "north", 5);
		memcpy(mk->fees[2].zone_b, "west", 4);
		mk->fees[2].fee_uper_kwh = 35000;
		break;
	}
	case PW_MSG_REGISTRY: {
		struct pw_registry *r = &m->u.registry;
		r->time_s = 1710000951;
		memset(r->household, 0x44, PW_PK_LEN);
		memcpy(r->id, "h-0017", 6);
		memcpy(r->name, "Jansen.Family_2", 15);
		memcpy(r->serial, "SN-0042", 7);
		memcpy(r->zone, "north", 5);
		r->max_export_w = 4600;
		r->max_import_w = 17250;
		r->revoked = 1;
		break;
	}
	default:
		fail();
	}
}

static size_t
encode(struct pw_msg *m, const struct pw_keypair *kp, uint8_t *out, size_t cap)
{
	size_t len = 0;
	assert_int_equal(pw_wire_encode(m, MARKET, kp, out, cap, &len), PW_OK);
	assert_int_equal(len, pw_wire_size(m));
	return len;
}

static void
test_round_trip_every_type(void **state)
{
	struct pw_keypair kp;
	struct pw_msg m, d;
	uint8_t buf[4096], again[4096];
	size_t len, len2;

	(void)state;
	fill_key(&kp, 1);
	for (size_t t = 0; t < N_TYPES; t++) {
		fill(&m, all_types[t]);
		len = encode(&m, &kp, buf, sizeof(buf));
		assert_int_equal(buf[0], PW_PROTO_VERSION);
		assert_int_equal(buf[1], all_types[t]);
		assert_memory_equal(buf + 2, kp.pk, PW_PK_LEN);
		assert_memory_equal(m.sig, buf + len - PW_SIG_LEN, PW_SIG_LEN);

		assert_int_equal(pw_wire_open(buf, len, MARKET, &d), PW_OK);
		assert_int_equal(d.type, all_types[t]);
		assert_int_equal(d.version, PW_PROTO_VERSION);
		assert_memory_equal(d.author, kp.pk, PW_PK_LEN);
		assert_memory_equal(d.sig, m.sig, PW_SIG_LEN);
		/* Re-encoding the decoded struct reproduces the frame byte for byte
		 * (Ed25519 is deterministic), so every field came back. */
		len2 = encode(&d, &kp, again, sizeof(again));
		assert_int_equal(len2, len);
		assert_memory_equal(again, buf, len);
		/* Another market: the same bytes do not verify. */
		assert_int_equal(pw_wire_verify(buf, len, MARKET + 1), PW_ERR_BADSIG);
	}
}

static void
test_decoded_fields(void **state)
{
	struct pw_keypair kp;
	struct pw_msg m, d;
	struct pw_trade t;
	uint8_t buf[4096];
	size_t len;

	(void)state;
	fill_key(&kp, 2);
	fill(&m, PW_MSG_ORDER);
	len = encode(&m, &kp, buf, sizeof(buf));
	assert_int_equal(len, 2 + 32 + 33 + 64);
	assert_int_equal(pw_wire_decode(buf, len, &d), PW_OK);
	assert_int_equal(d.u.order.seq, 7);
	assert_int_equal(d.u.order.interval, 1900000);
	assert_int_equal(d.u.order.expiry_s, 1710000000);
	assert_int_equal(d.u.order.qty_wh, 1250);
	assert_int_equal(d.u.order.price_uper_kwh, 210000);
	assert_int_equal(d.u.order.side, PW_SIDE_SELL);

	fill(&m, PW_MSG_STATEMENT);
	len = encode(&m, &kp, buf, sizeof(buf));
	assert_int_equal(pw_wire_decode(buf, len, &d), PW_OK);
	assert_int_equal(d.u.statement.grid_u, -45000);
	assert_int_equal(d.u.statement.saving_u, 135750);

	fill(&m, PW_MSG_RESULT);
	len = encode(&m, &kp, buf, sizeof(buf));
	assert_int_equal(pw_wire_decode(buf, len, &d), PW_OK);
	assert_null(d.u.result.trades);
	assert_ptr_equal(d.u.result.trades_wire, buf + 2 + 32 + 30);
	for (uint16_t i = 0; i < 3; i++) {
		assert_int_equal(pw_wire_result_trade(&d.u.result, i, &t), PW_OK);
		assert_memory_equal(t.buyer, sample_trades[i].buyer, PW_PK_LEN);
		assert_memory_equal(t.seller, sample_trades[i].seller, PW_PK_LEN);
		assert_int_equal(t.buy_seq, sample_trades[i].buy_seq);
		assert_int_equal(t.sell_seq, sample_trades[i].sell_seq);
		assert_int_equal(t.qty_wh, sample_trades[i].qty_wh);
		assert_int_equal(pw_wire_result_trade(&m.u.result, i, &t), PW_OK);
		assert_int_equal(t.qty_wh, sample_trades[i].qty_wh);
	}
	assert_int_equal(pw_wire_result_trade(&d.u.result, 3, &t), PW_ERR_RANGE);

	fill(&m, PW_MSG_METER);
	len = encode(&m, &kp, buf, sizeof(buf));
	assert_int_equal(pw_wire_decode(buf, len, &d), PW_OK);
	assert_memory_equal(d.u.meter.serial, "SN-0042\0\0\0", 10);
	assert_int_equal(d.u.meter.import_end_wh, 2000010);
}

/* Every request type fits the exchange's request bound. */
static void
test_requests_fit_bound(void **state)
{
	const uint8_t req[] = { PW_MSG_ORDER, PW_MSG_CANCEL, PW_MSG_METER, PW_MSG_QUERY,
		                PW_MSG_COSIGN };
	struct pw_msg m;

	(void)state;
	for (size_t i = 0; i < sizeof(req); i++) {
		fill(&m, req[i]);
		assert_true(pw_wire_size(&m) <= PW_WIRE_MAX_REQUEST);
	}
}

static void
test_largest_result(void **state)
{
	struct pw_keypair kp;
	struct pw_msg m, d;
	struct pw_trade *trades = calloc(PW_RESULT_MAX_TRADES, sizeof(*trades));
	size_t cap = 2 + 32 + 30 + (size_t)PW_RESULT_MAX_TRADES * PW_TRADE_WIRE_LEN + 64;
	uint8_t *buf = malloc(cap);
	struct pw_trade t;
	size_t len;

	(void)state;
	assert_non_null(trades);
	assert_non_null(buf);
	fill_key(&kp, 3);
	for (uint32_t i = 0; i < PW_RESULT_MAX_TRADES; i++) {
		trades[i].buy_seq = i;
		trades[i].sell_seq = (uint64_t)i << 20;
		trades[i].qty_wh = i + 1;
	}
	fill(&m, PW_MSG_RESULT);
	m.u.result.n_trades = PW_RESULT_MAX_TRADES;
	m.u.result.n_trades_total = PW_RESULT_MAX_TRADES * 2u;
	m.u.result.parts = 2;
	m.u.result.part = 1;
	m.u.result.trades = trades;
	assert_int_equal(pw_wire_encode(&m, MARKET, &kp, buf, cap - 1, &len), PW_ERR_FULL);
	assert_int_equal(pw_wire_encode(&m, MARKET, &kp, buf, cap, &len), PW_OK);
	assert_int_equal(len, cap);
	assert_true(len <= PW_WIRE_MAX_LEN);
	assert_int_equal(pw_wire_open(buf, len, MARKET, &d), PW_OK);
	assert_int_equal(pw_wire_result_trade(&d.u.result, 8191, &t), PW_OK);
	assert_int_equal(t.qty_wh, 8192);
	assert_int_equal(t.sell_seq, (uint64_t)8191 << 20);
	/* One trade too many is refused on both sides. */
	m.u.result.n_trades = PW_RESULT_MAX_TRADES + 1;
	assert_int_equal(pw_wire_size(&m), 0);
	assert_int_equal(pw_wire_encode(&m, MARKET, &kp, buf, cap, &len), PW_ERR_FIELD);
	free(trades);
	free(buf);
}

static void
test_header_refusals(void **state)
{
	struct pw_keypair kp;
	struct pw_msg m, d;
	uint8_t buf[4096];
	size_t len;

	(void)state;
	fill_key(&kp, 4);
	fill(&m, PW_MSG_ORDER);
	len = encode(&m, &kp, buf, sizeof(buf));

	assert_int_equal(pw_wire_decode(buf, 0, &d), PW_ERR_LENGTH);
	assert_int_equal(pw_wire_decode(buf, 1, &d), PW_ERR_LENGTH);
	assert_int_equal(pw_wire_decode(buf, len - 1, &d), PW_ERR_LENGTH);
	assert_int_equal(pw_wire_decode(buf, len + 1, &d), PW_ERR_LENGTH);
	assert_int_equal(pw_wire_verify(buf, 40, MARKET), PW_ERR_LENGTH);
	buf[0] = 1; /* version 1: only the stored-frame functions take it */
	assert_int_equal(pw_wire_decode(buf, len, &d), PW_ERR_VERSION);
	assert_int_equal(pw_wire_verify(buf, len, MARKET), PW_ERR_VERSION);
	assert_int_equal(pw_wire_open(buf, len, MARKET, &d), PW_ERR_VERSION);
	buf[0] = 3;
	assert_int_equal(pw_wire_decode(buf, len, &d), PW_ERR_VERSION);
	assert_int_equal(pw_wire_decode_stored(buf, len, &d), PW_ERR_VERSION);
	buf[0] = 0;
	assert_int_equal(pw_wire_decode(buf, len, &d), PW_ERR_VERSION);
	buf[0] = PW_PROTO_VERSION;
	const uint8_t bad_types[] = { 0, 6, 15, 26, 255 };
	for (size_t i = 0; i < sizeof(bad_types); i++) {
		buf[1] = bad_types[i];
		assert_int_equal(pw_wire_decode(buf, len, &d), PW_ERR_TYPE);
		assert_int_equal(pw_wire_verify(buf, len, MARKET), PW_ERR_TYPE);
	}
	/* A valid type with another length: the ORDER frame read as a CANCEL. */
	buf[1] = PW_MSG_CANCEL;
	assert_int_equal(pw_wire_decode(buf, len, &d), PW_ERR_LENGTH);

	m.type = 0;
	assert_int_equal(pw_wire_size(&m), 0);
	assert_int_equal(pw_wire_encode(&m, MARKET, &kp, buf, sizeof(buf), &len), PW_ERR_TYPE);
	fill(&m, PW_MSG_ORDER);
	assert_int_equal(pw_wire_encode(&m, MARKET, &kp, buf, 130, &len), PW_ERR_FULL);
}

/* The signature binds the type: an ACK relabelled REJECT (same length) fails. */
static void
test_type_is_signed(void **state)
{
	struct pw_keypair kp;
	struct pw_msg m;
	uint8_t buf[4096];
	size_t len;

	(void)state;
	fill_key(&kp, 5);
	fill(&m, PW_MSG_ACK);
	len = encode(&m, &kp, buf, sizeof(buf));
	assert_int_equal(pw_wire_verify(buf, len, MARKET), PW_OK);
	buf[1] = PW_MSG_REJECT;
	assert_int_equal(pw_wire_verify(buf, len, MARKET), PW_ERR_BADSIG);
	/* And another author cannot claim it (its head names the signer). */
	buf[1] = PW_MSG_ACK;
	buf[2] ^= 1;
	assert_int_equal(pw_wire_verify(buf, len, MARKET), PW_ERR_BADSIG);
	/* Nor a REJECT be relabelled ACK (too short for one). */
	fill(&m, PW_MSG_REJECT);
	len = encode(&m, &kp, buf, sizeof(buf));
	buf[1] = PW_MSG_ACK;
	assert_int_equal(pw_wire_verify(buf, len, MARKET), PW_ERR_LENGTH);
}

/*
 * A field mutation: body offset (after the 34-byte header), bytes to write,
 * the expected decode error.  Offsets are docs/protocol.md's.
 */
struct mutation {
	uint8_t type;
	size_t off;
	uint8_t bytes[8];
	size_t n;
	pw_err want;
	const char *what;
};

static const struct mutation mutations[] = {
	{ PW_MSG_ORDER, 32, { 0 }, 1, PW_ERR_FIELD, "side 0" },
	{ PW_MSG_ORDER, 32, { 3 }, 1, PW_ERR_FIELD, "side 3" },
	{ PW_MSG_METER, 80, { 3 }, 1, PW_ERR_FIELD, "time_status 3" },
	{ PW_MSG_METER, 80, { 0xff }, 1, PW_ERR_FIELD, "time_status 255" },
	{ PW_MSG_METER, 16, { 0 }, 1, PW_ERR_FIELD, "empty serial" },
	{ PW_MSG_METER, 16 + 10, { 'X' }, 1, PW_ERR_FIELD, "byte after NUL padding" },
	{ PW_MSG_METER, 16 + 2, { 0x01 }, 1, PW_ERR_FIELD, "control char in serial" },
	{ PW_MSG_METER, 16 + 2, { 0x80 }, 1, PW_ERR_FIELD, "non-ASCII in serial" },
	{ PW_MSG_QUERY, 8, { 0 }, 1, PW_ERR_FIELD, "query kind 0" },
	{ PW_MSG_QUERY, 8, { PW_QUERY_STATEMENT_PROOF }, 1, PW_OK, "query kind statement proof" },
	{ PW_MSG_QUERY, 8, { PW_QUERY_REGISTRY }, 1, PW_ERR_FIELD, "registry query with a" },
	{ PW_MSG_QUERY,
	  8,
	  { PW_QUERY_REGISTRY_PROOF },
	  1,
	  PW_ERR_FIELD,
	  "registry proof query with a" },
	{ PW_MSG_QUERY, 8, { PW_QUERY_MARKET }, 1, PW_OK, "query kind market" },
	{ PW_MSG_QUERY, 8, { PW_QUERY_MARKET_PROOF }, 1, PW_OK, "query kind market proof" },
	{ PW_MSG_QUERY, 25, { 1 }, 1, PW_ERR_FIELD, "inclusion query with a key" },
	{ PW_MSG_QUERY, 56, { 1 }, 1, PW_ERR_FIELD, "inclusion query with a key's last byte" },
	{ PW_MSG_QUERY, 8, { 0xff }, 1, PW_ERR_FIELD, "query kind 255" },
	{ PW_MSG_QUERY, 8, { PW_QUERY_COSIGNED }, 1, PW_ERR_FIELD, "cosigned query with b" },
	{ PW_MSG_QUERY, 8, { 12 }, 1, PW_ERR_FIELD, "query kind 12" },
	{ PW_MSG_COSIGN, 0, { 0 }, 1, PW_ERR_FIELD, "COSIGN empty origin" },
	{ PW_MSG_COSIGN, 30, { 0x7f }, 1, PW_ERR_FIELD, "COSIGN origin DEL" },
	{ PW_MSG_COSIGN, 32, { 0, 0, 0, 0, 0, 0, 0x10, 0x92 }, 8, PW_OK, "COSIGN tree_size 4242" },
	{ PW_MSG_COSIGN, 32, { 0, 0, 0, 0, 0, 0, 0, 0 }, 8, PW_ERR_FIELD, "COSIGN tree_size 0" },
	{ PW_MSG_REJECT, 41, { 0, PW_REASON_BAD_VERSION }, 2, PW_OK, "REJECT bad_version" },
	{ PW_MSG_REJECT, 41, { 0, PW_REASON_UNKNOWN_HEAD }, 2, PW_OK, "REJECT unknown_head" },
	{ PW_MSG_QUERY, 8, { PW_QUERY_CHECKPOINT }, 1, PW_ERR_FIELD, "checkpoint query with a" },
	{ PW_MSG_QUERY, 8, { PW_QUERY_STATEMENT }, 1, PW_ERR_FIELD, "statement query with b" },
	/* ACK: leaf 5 of 11, 4 hashes, the head at 178 (origin 212, size 252) */
	{ PW_MSG_ACK, 48, { 4 }, 1, PW_OK, "ACK leaf 4 (same path length)" },
	{ PW_MSG_ACK, 48, { 10 }, 1, PW_ERR_FIELD, "ACK leaf 10 (path of 2)" },
	{ PW_MSG_ACK, 48, { 8 }, 1, PW_ERR_FIELD, "ACK leaf 8 (path of 3)" },
	{ PW_MSG_ACK, 48, { 11 }, 1, PW_ERR_FIELD, "ACK leaf = tree size" },
	{ PW_MSG_ACK, 41, { 0xff }, 1, PW_ERR_FIELD, "ACK leaf far beyond the head" },
	{ PW_MSG_ACK, 49, { 3 }, 1, PW_ERR_LENGTH, "ACK count 3 with 4 hashes" },
	{ PW_MSG_ACK, 49, { 65 }, 1, PW_ERR_FIELD, "ACK 65 hashes" },
	{ PW_MSG_ACK, 178, { 1 }, 1, PW_ERR_FIELD, "ACK head of version 1" },
	{ PW_MSG_ACK, 179, { PW_MSG_PROOF }, 1, PW_ERR_FIELD, "ACK head not a CHECKPOINT" },
	{ PW_MSG_ACK, 180, { 0x00 }, 1, PW_ERR_FIELD, "ACK head by another key" },
	{ PW_MSG_ACK, 212, { 0 }, 1, PW_ERR_FIELD, "ACK head origin empty" },
	{ PW_MSG_ACK, 259, { 12 }, 1, PW_OK, "ACK head of 12 (path of 4)" },
	{ PW_MSG_ACK, 259, { 7 }, 1, PW_ERR_FIELD, "ACK head of 7 (path of 3)" },
	{ PW_MSG_ACK, 259, { 17 }, 1, PW_ERR_FIELD, "ACK head of 17 (path of 5)" },
	{ PW_MSG_ACK, 259, { 5 }, 1, PW_ERR_FIELD, "ACK head of 5: leaf 5 outside" },
	{ PW_MSG_ACK, 252, { 0xff }, 1, PW_ERR_FIELD, "ACK head of nearly 2^64 (path of 57)" },
	{ PW_MSG_ACK,
	  252,
	  { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff },
	  8,
	  PW_ERR_FIELD,
	  "ACK head of 2^64 - 1" },
	{ PW_MSG_REJECT, 41, { 0, 0 }, 2, PW_ERR_FIELD, "REJECT reason 0" },
	{ PW_MSG_REJECT, 41, { 0, PW_REASON__COUNT }, 2, PW_ERR_FIELD, "REJECT unknown reason" },
	{ PW_MSG_REJECT, 41, { 0, PW_REASON__COUNT - 1 }, 2, PW_OK, "REJECT last reason" },
	{ PW_MSG_REJECT, 50, { 0xfe }, 1, PW_ERR_FIELD, "REJECT with a log index" },
	{ PW_MSG_RESULT, 26, { 0, 0 }, 2, PW_ERR_FIELD, "RESULT parts 0" },
	{ PW_MSG_RESULT, 24, { 0, 1 }, 2, PW_ERR_FIELD, "RESULT part == parts" },
	{ PW_MSG_RESULT, 20, { 0, 0, 0, 2 }, 4, PW_ERR_FIELD, "RESULT total < n_trades" },
	{ PW_MSG_RESULT, 28, { 0x20, 0x01 }, 2, PW_ERR_FIELD, "RESULT 8193 trades" },
	{ PW_MSG_RESULT, 28, { 0, 2 }, 2, PW_ERR_LENGTH, "RESULT count 2 with 3 trades" },
	{ PW_MSG_STATEMENT, 40, { 0, 0, 0, 4 }, 4, PW_ERR_FIELD, "STATEMENT unknown flag" },
	{ PW_MSG_STATEMENT, 40, { 0x80, 0, 0, 0 }, 4, PW_ERR_FIELD, "STATEMENT high flag" },
	{ PW_MSG_STATEMENT, 128, { 0x80 }, 1, PW_ERR_FIELD, "STATEMENT negative fee" },
	{ PW_MSG_CHECKPOINT, 0, { 0 }, 1, PW_ERR_FIELD, "empty origin" },
	{ PW_MSG_CHECKPOINT, 31, { 'x' }, 1, PW_ERR_FIELD, "origin byte after padding" },
	{ PW_MSG_CHECKPOINT, 3, { '\n' }, 1, PW_ERR_FIELD, "newline in origin" },
	{ PW_MSG_PROOF, 8, { 0 }, 1, PW_ERR_FIELD, "proof kind 0" },
	{ PW_MSG_PROOF, 8, { 3 }, 1, PW_ERR_FIELD, "proof kind 3" },
	{ PW_MSG_PROOF, 8, { PW_PROOF_CONSISTENCY }, 1, PW_OK, "proof kind consistency" },
	{ PW_MSG_PROOF, 25, { 65 }, 1, PW_ERR_FIELD, "proof 65 hashes" },
	{ PW_MSG_PROOF, 25, { 5 }, 1, PW_ERR_LENGTH, "proof count 5 with 4 hashes" },
	{ PW_MSG_DEPTH, 8, { 65 }, 1, PW_ERR_FIELD, "depth 65 levels" },
	{ PW_MSG_DEPTH, 8, { 2 }, 1, PW_ERR_LENGTH, "depth count 2 with 3 levels" },
	{ PW_MSG_DEPTH, 9 + 13, { 0 }, 1, PW_ERR_FIELD, "depth level side 0" },
	{ PW_MSG_DEPTH, 9 + 26, { 7 }, 1, PW_ERR_FIELD, "depth level side 7" },
	{ PW_MSG_HEARTBEAT, 8, { 0, 0, 0, 0 }, 4, PW_ERR_FIELD, "heartbeat period 0" },
	{ PW_MSG_HEARTBEAT, 12, { 0, 0, 0, 0 }, 4, PW_ERR_FIELD, "heartbeat interval 0" },
	{ PW_MSG_HEARTBEAT, 16, { 0, 0, 0, 0 }, 4, PW_OK, "heartbeat gate 0" },
	/* MARKET: fee i at body offset 85 + 68 i (east/east, north/south, north/west) */
	{ PW_MSG_MARKET, 16, { 0 }, 1, PW_ERR_FIELD, "market name empty" },
	{ PW_MSG_MARKET, 16 + 31, { 'x' }, 1, PW_ERR_FIELD, "market name of 32" },
	{ PW_MSG_MARKET, 16 + 30, { 'x' }, 1, PW_ERR_FIELD, "market name byte after NUL" },
	{ PW_MSG_MARKET, 16 + 3, { '\t' }, 1, PW_ERR_FIELD, "market name tab" },
	{ PW_MSG_MARKET, 48, { 'e' }, 1, PW_ERR_FIELD, "currency lower case" },
	{ PW_MSG_MARKET, 50, { 0 }, 1, PW_ERR_FIELD, "currency of 2" },
	{ PW_MSG_MARKET, 48, { 'C', 'H', 'F' }, 3, PW_OK, "currency CHF" },
	{ PW_MSG_MARKET, 51, { 0, 0, 0, 0 }, 4, PW_ERR_FIELD, "interval_s 0" },
	{ PW_MSG_MARKET, 55, { 0, 0, 0x03, 0x84 }, 4, PW_ERR_FIELD, "gate_s = interval_s" },
	{ PW_MSG_MARKET, 55, { 0, 0, 0x03, 0x83 }, 4, PW_OK, "gate_s = interval_s - 1" },
	{ PW_MSG_MARKET, 71, { 0, 0x01, 0x38, 0x7f }, 4, PW_ERR_FIELD, "retail below feed-in" },
	{ PW_MSG_MARKET, 71, { 0, 0x01, 0x38, 0x80 }, 4, PW_OK, "retail = feed-in" },
	/* prices are i32: ff ff ff ff is -1, below the feed-in 80000, not 2^32 - 1 */
	{ PW_MSG_MARKET,
	  71,
	  { 0xff, 0xff, 0xff, 0xff },
	  4,
	  PW_ERR_FIELD,
	  "retail -1 below feed-in" },
	{ PW_MSG_MARKET, 67, { 0xff, 0xff, 0x3c, 0xb0 }, 4, PW_OK, "feed-in -50000" },
	{ PW_MSG_MARKET, 67, { 0x80, 0, 0, 0 }, 4, PW_OK, "feed-in INT32_MIN" },
	{ PW_MSG_MARKET, 83, { 0, 65 }, 2, PW_ERR_FIELD, "65 fees" },
	{ PW_MSG_MARKET, 83, { 0, 2 }, 2, PW_ERR_LENGTH, "fee count 2 with 3 fees" },
	{ PW_MSG_MARKET, 83, { 0, 4 }, 2, PW_ERR_LENGTH, "fee count 4 with 3 fees" },
	{ PW_MSG_MARKET, 85 + 1, { '/' }, 1, PW_ERR_FIELD, "fee zone with a slash" },
	{ PW_MSG_MARKET, 85, { 0 }, 1, PW_ERR_FIELD, "fee zone empty" },
	{ PW_MSG_MARKET, 85 + 31, { 'a' }, 1, PW_ERR_FIELD, "fee zone of 32" },
	{ PW_MSG_MARKET, 85 + 68, { 's' }, 1, PW_ERR_FIELD, "fee pair reversed" },
	{ PW_MSG_MARKET,
	  85 + 2 * 68 + 32,
	  { 's', 'o', 'u', 't', 'h' },
	  5,
	  PW_ERR_FIELD,
	  "fee pair twice" },
	{ PW_MSG_MARKET,
	  85 + 2 * 68 + 32,
	  { 's', 'o', 'u', 't' },
	  4,
	  PW_ERR_FIELD,
	  "fee pairs out of order" },
	{ PW_MSG_MARKET, 85 + 2 * 68 + 32, { 's', 'p' }, 2, PW_OK, "fee pair north/spst" },
	{ PW_MSG_MARKET, 85 + 68, { 'e', 'a', 's', 't', 0 }, 5, PW_OK, "fee pair east/south" },
	{ PW_MSG_MARKET,
	  85 + 68 + 32,
	  { 'e', 'a', 's', 't', 0 },
	  5,
	  PW_ERR_FIELD,
	  "fee pair reversed (north/east)" },
	/* REGISTRY */
	{ PW_MSG_REGISTRY, 176, { 2 }, 1, PW_ERR_FIELD, "revoked 2" },
	{ PW_MSG_REGISTRY, 176, { 0 }, 1, PW_OK, "revoked 0" },
	{ PW_MSG_REGISTRY, 40, { 0 }, 1, PW_ERR_FIELD, "id empty" },
	{ PW_MSG_REGISTRY, 40 + 2, { ' ' }, 1, PW_ERR_FIELD, "id with a blank" },
	{ PW_MSG_REGISTRY, 72 + 31, { 'N' }, 1, PW_ERR_FIELD, "name of 32" },
	{ PW_MSG_REGISTRY, 72 + 20, { 'N' }, 1, PW_ERR_FIELD, "name byte after NUL" },
	{ PW_MSG_REGISTRY, 104, { 0 }, 1, PW_ERR_FIELD, "serial empty" },
	{ PW_MSG_REGISTRY, 104 + 2, { 0x7f }, 1, PW_ERR_FIELD, "serial DEL" },
	{ PW_MSG_REGISTRY, 136 + 1, { 0xc3 }, 1, PW_ERR_FIELD, "zone non-ASCII" },
	{ PW_MSG_REGISTRY, 168, { 0xff, 0xff, 0xff, 0xff }, 4, PW_OK, "max export 2^32-1" },
};

static void
test_field_refusals(void **state)
{
	struct pw_keypair kp;
	struct pw_msg m, d;
	uint8_t buf[4096];
	size_t len;

	(void)state;
	fill_key(&kp, 6);
	for (size_t i = 0; i < sizeof(mutations) / sizeof(mutations[0]); i++) {
		const struct mutation *mu = &mutations[i];
		fill(&m, mu->type);
		len = encode(&m, &kp, buf, sizeof(buf));
		memcpy(buf + PW_WIRE_HEADER_LEN + mu->off, mu->bytes, mu->n);
		memset(&d, 0, sizeof(d));
		pw_err rc = pw_wire_decode(buf, len, &d);
		if (rc != mu->want)
			fail_msg("%s: decode gave %s, want %s", mu->what, pw_strerror(rc),
			         pw_strerror(mu->want));
		/* Anything that decodes re-encodes to a valid frame (same bytes). */
		if (rc == PW_OK) {
			uint8_t again[4096];
			size_t len2 = encode(&d, &kp, again, sizeof(again));
			assert_int_equal(len2, len);
			assert_memory_equal(again, buf, len - PW_SIG_LEN);
		} else if (rc == PW_ERR_FIELD && d.type != 0) {
			/* The decoder's and the encoder's rules are the same rules
			 * (d.type stays 0 when a count was refused before parsing). */
			assert_int_not_equal(
			    pw_wire_encode(&d, MARKET, &kp, buf, sizeof(buf), &len), PW_OK);
		}
	}
}

static void
test_encode_refusals(void **state)
{
	struct pw_keypair kp;
	struct pw_msg m;
	uint8_t buf[4096];
	size_t len;

	(void)state;
	fill_key(&kp, 7);
	fill(&m, PW_MSG_ORDER);
	m.u.order.side = 0;
	assert_int_equal(pw_wire_encode(&m, MARKET, &kp, buf, sizeof(buf), &len), PW_ERR_FIELD);
	fill(&m, PW_MSG_METER);
	memset(m.u.meter.serial, 'A', PW_SERIAL_LEN); /* 32 long, no NUL: allowed */
	assert_int_equal(pw_wire_encode(&m, MARKET, &kp, buf, sizeof(buf), &len), PW_OK);
	m.u.meter.serial[31] = '\t';
	assert_int_equal(pw_wire_encode(&m, MARKET, &kp, buf, sizeof(buf), &len), PW_ERR_FIELD);
	fill(&m, PW_MSG_PROOF);
	m.u.proof.n_hashes = PW_PROOF_MAX_HASHES + 1;
	assert_int_equal(pw_wire_size(&m), 0);
	assert_int_equal(pw_wire_encode(&m, MARKET, &kp, buf, sizeof(buf), &len), PW_ERR_FIELD);
	m.u.proof.n_hashes = PW_PROOF_MAX_HASHES;
	assert_int_equal(pw_wire_encode(&m, MARKET, &kp, buf, sizeof(buf), &len), PW_OK);
	assert_int_equal(len, 2 + 32 + 26 + 64 * 32 + 64);
	fill(&m, PW_MSG_DEPTH);
	m.u.depth.n_levels = PW_DEPTH_MAX_LEVELS + 1;
	assert_int_equal(pw_wire_encode(&m, MARKET, &kp, buf, sizeof(buf), &len), PW_ERR_FIELD);
	fill(&m, PW_MSG_RESULT);
	m.u.result.trades = NULL;
	assert_int_equal(pw_wire_encode(&m, MARKET, &kp, buf, sizeof(buf), &len), PW_ERR_ARG);
	m.u.result.n_trades = 0;
	m.u.result.n_trades_total = 0;
	assert_int_equal(pw_wire_encode(&m, MARKET, &kp, buf, sizeof(buf), &len), PW_OK);
	fill(&m, PW_MSG_QUERY);
	m.u.query.kind = PW_QUERY_CHECKPOINT;
	assert_int_equal(pw_wire_encode(&m, MARKET, &kp, buf, sizeof(buf), &len), PW_ERR_FIELD);
	m.u.query.a = m.u.query.b = 0;
	assert_int_equal(pw_wire_encode(&m, MARKET, &kp, buf, sizeof(buf), &len), PW_OK);
	/* STATEMENT_PROOF: any interval, any tree size (0: the latest checkpoint) */
	m.u.query.kind = PW_QUERY_STATEMENT_PROOF;
	m.u.query.a = 1900000;
	m.u.query.b = 0;
	assert_int_equal(pw_wire_encode(&m, MARKET, &kp, buf, sizeof(buf), &len), PW_OK);
	m.u.query.b = 123456;
	assert_int_equal(pw_wire_encode(&m, MARKET, &kp, buf, sizeof(buf), &len), PW_OK);
	struct pw_msg back;
	assert_int_equal(pw_wire_open(buf, len, MARKET, &back), PW_OK);
	assert_int_equal(back.u.query.kind, PW_QUERY_STATEMENT_PROOF);
	assert_int_equal(back.u.query.a, 1900000);
	assert_int_equal(back.u.query.b, 123456);
	/* REGISTRY and REGISTRY_PROOF: a must be 0, any tree size */
	m.u.query.kind = PW_QUERY_REGISTRY;
	assert_int_equal(pw_wire_encode(&m, MARKET, &kp, buf, sizeof(buf), &len), PW_ERR_FIELD);
	m.u.query.a = 0;
	assert_int_equal(pw_wire_encode(&m, MARKET, &kp, buf, sizeof(buf), &len), PW_OK);
	m.u.query.kind = PW_QUERY_REGISTRY_PROOF;
	assert_int_equal(pw_wire_encode(&m, MARKET, &kp, buf, sizeof(buf), &len), PW_OK);
	assert_int_equal(pw_wire_open(buf, len, MARKET, &back), PW_OK);
	assert_int_equal(back.u.query.kind, PW_QUERY_REGISTRY_PROOF);
	assert_int_equal(back.u.query.b, 123456);
	/* REGISTRY with the key of the household asked about */
	memset(m.u.query.key, 0x51, PW_PK_LEN);
	assert_int_equal(pw_wire_encode(&m, MARKET, &kp, buf, sizeof(buf), &len), PW_OK);
	assert_int_equal(len, 155);
	assert_int_equal(pw_wire_open(buf, len, MARKET, &back), PW_OK);
	assert_memory_equal(back.u.query.key, m.u.query.key, PW_PK_LEN);
	assert_int_equal(pw_query_uses_key(PW_QUERY_REGISTRY), 1);
	assert_int_equal(pw_query_uses_key(PW_QUERY_MARKET), 0);
	/* MARKET and MARKET_PROOF: any interval and tree size, never a key */
	m.u.query.kind = PW_QUERY_MARKET;
	m.u.query.a = 1900000;
	assert_int_equal(pw_wire_encode(&m, MARKET, &kp, buf, sizeof(buf), &len), PW_ERR_FIELD);
	memset(m.u.query.key, 0, PW_PK_LEN);
	assert_int_equal(pw_wire_encode(&m, MARKET, &kp, buf, sizeof(buf), &len), PW_OK);
	m.u.query.kind = PW_QUERY_MARKET_PROOF;
	m.u.query.b = 0;
	assert_int_equal(pw_wire_encode(&m, MARKET, &kp, buf, sizeof(buf), &len), PW_OK);
	assert_int_equal(pw_wire_open(buf, len, MARKET, &back), PW_OK);
	assert_int_equal(back.u.query.kind, PW_QUERY_MARKET_PROOF);
	assert_int_equal(back.u.query.a, 1900000);
	/* SCHEDULE: any first interval, b and key zero */
	m.u.query.kind = PW_QUERY_SCHEDULE;
	m.u.query.a = 1900000;
	m.u.query.b = 1;
	assert_int_equal(pw_wire_encode(&m, MARKET, &kp, buf, sizeof(buf), &len), PW_ERR_FIELD);
	m.u.query.b = 0;
	assert_int_equal(pw_wire_encode(&m, MARKET, &kp, buf, sizeof(buf), &len), PW_OK);
	assert_int_equal(pw_wire_open(buf, len, MARKET, &back), PW_OK);
	assert_int_equal(back.u.query.kind, PW_QUERY_SCHEDULE);
	assert_int_equal(back.u.query.a, 1900000);
	m.u.query.a = 0;
	m.u.query.kind = PW_QUERY_SCHEDULE + 1;
	assert_int_equal(pw_wire_encode(&m, MARKET, &kp, buf, sizeof(buf), &len), PW_ERR_FIELD);

	/* MARKET: the fee table is canonical and bounded */
	fill(&m, PW_MSG_MARKET);
	m.u.market.n_fees = PW_MARKET_MAX_FEES + 1;
	assert_int_equal(pw_wire_size(&m), 0);
	assert_int_equal(pw_wire_encode(&m, MARKET, &kp, buf, sizeof(buf), &len), PW_ERR_FIELD);
	fill(&m, PW_MSG_MARKET);
	memcpy(m.u.market.fees[1].zone_a, "south", 5); /* south/south after north/... */
	assert_int_equal(pw_wire_encode(&m, MARKET, &kp, buf, sizeof(buf), &len), PW_ERR_FIELD);
	fill(&m, PW_MSG_MARKET);
	memcpy(m.u.market.currency, "EU\0", 3);
	assert_int_equal(pw_wire_encode(&m, MARKET, &kp, buf, sizeof(buf), &len), PW_ERR_FIELD);
	fill(&m, PW_MSG_MARKET);
	m.u.market.n_fees = 0; /* no explicit pair: valid */
	assert_int_equal(pw_wire_encode(&m, MARKET, &kp, buf, sizeof(buf), &len), PW_OK);
	assert_int_equal(len, 2 + 32 + 85 + 64);
	fill(&m, PW_MSG_REGISTRY);
	m.u.registry.revoked = 2;
	assert_int_equal(pw_wire_encode(&m, MARKET, &kp, buf, sizeof(buf), &len), PW_ERR_FIELD);
	fill(&m, PW_MSG_REGISTRY);
	memset(m.u.registry.zone, 'z', PW_TOKEN_LEN); /* 32 long: a token is at most 31 */
	assert_int_equal(pw_wire_encode(&m, MARKET, &kp, buf, sizeof(buf), &len), PW_ERR_FIELD);
	m.u.registry.zone[31] = '\0';
	assert_int_equal(pw_wire_encode(&m, MARKET, &kp, buf, sizeof(buf), &len), PW_OK);
	assert_int_equal(len, 2 + 32 + 177 + 64);
}

/* The largest MARKET: 64 fee pairs, one byte over the stack signing buffer. */
static void
test_largest_market(void **state)
{
	struct pw_keypair kp;
	struct pw_msg m, d;
	uint8_t buf[8192];
	size_t len;

	(void)state;
	fill_key(&kp, 8);
	fill(&m, PW_MSG_MARKET);
	m.u.market.n_fees = PW_MARKET_MAX_FEES;
	for (unsigned i = 0; i < PW_MARKET_MAX_FEES; i++) {
		struct pw_market_fee *f = &m.u.market.fees[i];
		memset(f, 0, sizeof(*f));
		snprintf(f->zone_a, sizeof(f->zone_a), "z%02u", i / 8);
		snprintf(f->zone_b, sizeof(f->zone_b), "z%02u", 8 + i % 8);
		f->fee_uper_kwh = 1000 * i;
	}
	assert_int_equal(pw_wire_encode(&m, MARKET, &kp, buf, sizeof(buf), &len), PW_OK);
	assert_int_equal(len, 2 + 32 + 85 + 68 * 64 + 64);
	assert_int_equal(pw_wire_open(buf, len, MARKET, &d), PW_OK);
	assert_int_equal(d.u.market.n_fees, 64);
	assert_string_equal(d.u.market.fees[63].zone_a, "z07");
	assert_string_equal(d.u.market.fees[63].zone_b, "z15");
	assert_int_equal(d.u.market.fees[63].fee_uper_kwh, 63000);
	assert_int_equal(d.u.market.retail_uper_kwh, 300000);
	assert_memory_equal(d.u.market.currency, "EUR", 3);
}

static void
test_names(void **state)
{
	(void)state;
	assert_string_equal(pw_msg_type_name(PW_MSG_ORDER), "ORDER");
	assert_string_equal(pw_msg_type_name(PW_MSG_CHECKPOINT), "CHECKPOINT");
	assert_string_equal(pw_msg_type_name(PW_MSG_DEPTH), "DEPTH");
	assert_string_equal(pw_msg_type_name(0), "UNKNOWN");
	assert_string_equal(pw_msg_type_name(PW_MSG_HEARTBEAT), "HEARTBEAT");
	assert_string_equal(pw_msg_type_name(PW_MSG_MARKET), "MARKET");
	assert_string_equal(pw_msg_type_name(PW_MSG_REGISTRY), "REGISTRY");
	assert_string_equal(pw_msg_type_name(26), "UNKNOWN");
	assert_string_equal(pw_msg_type_name(PW_MSG_COSIGN), "COSIGN");
	assert_string_equal(pw_msg_type_name(6), "UNKNOWN");
	assert_string_equal(pw_reason_name(PW_REASON_UNKNOWN_HEAD), "unknown_head");
	assert_string_equal(pw_reason_name(PW_REASON_GATE_CLOSED), "gate_closed");
	assert_string_equal(pw_reason_name(PW_REASON__COUNT), "unknown");
	for (unsigned i = 0; i < PW_REASON__COUNT; i++) {
		assert_string_not_equal(pw_reason_name(i), "unknown");
		for (unsigned j = 0; j < i; j++)
			assert_string_not_equal(pw_reason_name(i), pw_reason_name(j));
	}
}

static void
test_text(void **state)
{
	const char full[4] = { 'a', 'b', 'c', 'd' }; /* no NUL: a field used whole */
	const char padded[8] = { 'x', 'y', '\0', 'z' };
	char out[8];
	(void)state;
	pw_wire_text(out, sizeof(out), full, sizeof(full));
	assert_string_equal(out, "abcd");
	pw_wire_text(out, sizeof(out), padded, sizeof(padded));
	assert_string_equal(out, "xy");
	pw_wire_text(out, 3, full, sizeof(full)); /* cut to cap - 1 */
	assert_string_equal(out, "ab");
	pw_wire_text(out, 1, full, sizeof(full));
	assert_string_equal(out, "");
	out[0] = 'q';
	pw_wire_text(out, 0, full, sizeof(full)); /* nothing written */
	assert_int_equal(out[0], 'q');
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_every_type),
		cmocka_unit_test(test_decoded_fields),
		cmocka_unit_test(test_requests_fit_bound),
		cmocka_unit_test(test_largest_result),
		cmocka_unit_test(test_header_refusals),
		cmocka_unit_test(test_type_is_signed),
		cmocka_unit_test(test_field_refusals),
		cmocka_unit_test(test_encode_refusals),
		cmocka_unit_test(test_largest_market),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_text),
	};
	if (pw_crypto_init() != PW_OK)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
