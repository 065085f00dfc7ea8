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

#include "peerwatt/keys.h"
#include "peerwatt/wire.h"

#define MARKET 0x0102030405060708ull

static const uint8_t all_types[] = {
	PW_MSG_ORDER,      PW_MSG_CANCEL, PW_MSG_METER,  PW_MSG_QUERY,
	PW_MSG_ACK,        PW_MSG_REJECT, PW_MSG_RESULT, PW_MSG_STATEMENT,
	PW_MSG_CHECKPOINT, PW_MSG_PROOF,  PW_MSG_DEPTH,
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
	case PW_MSG_ACK:
	case PW_MSG_REJECT:
		for (int i = 0; i < PW_HASH_LEN; i++)
			m->u.receipt.ref_hash[i] = (uint8_t)(0xa0 + i);
		m->u.receipt.ref_type = PW_MSG_ORDER;
		m->u.receipt.ref_seq = 7;
		m->u.receipt.reason = type == PW_MSG_ACK ? PW_REASON_OK : PW_REASON_GATE_CLOSED;
		m->u.receipt.log_index = type == PW_MSG_ACK ? 12345 : UINT64_MAX;
		m->u.receipt.time_s = 1710000001;
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
	const uint8_t req[] = { PW_MSG_ORDER, PW_MSG_CANCEL, PW_MSG_METER, PW_MSG_QUERY };
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
	buf[0] = 2;
	assert_int_equal(pw_wire_decode(buf, len, &d), PW_ERR_VERSION);
	assert_int_equal(pw_wire_verify(buf, len, MARKET), PW_ERR_VERSION);
	buf[0] = 0;
	assert_int_equal(pw_wire_decode(buf, len, &d), PW_ERR_VERSION);
	buf[0] = 1;
	const uint8_t bad_types[] = { 0, 5, 15, 23, 255 };
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
	/* And another author cannot claim it. */
	buf[1] = PW_MSG_ACK;
	buf[2] ^= 1;
	assert_int_equal(pw_wire_verify(buf, len, MARKET), PW_ERR_BADSIG);
}

/*
 * A field mutation: body offset (after the 34-byte header), bytes to write,
 * the expected decode error.  Offsets are docs/protocol.md's.
 */
struct mutation {
	uint8_t type;
	size_t off;
	uint8_t bytes[4];
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
	{ PW_MSG_QUERY, 8, { 6 }, 1, PW_ERR_FIELD, "query kind 6" },
	{ PW_MSG_QUERY, 8, { PW_QUERY_CHECKPOINT }, 1, PW_ERR_FIELD, "checkpoint query with a" },
	{ PW_MSG_QUERY, 8, { PW_QUERY_STATEMENT }, 1, PW_ERR_FIELD, "statement query with b" },
	{ PW_MSG_ACK, 41, { 0, 7 }, 2, PW_ERR_FIELD, "ACK with a reason" },
	{ PW_MSG_ACK, 43, { 0xff, 0xff, 0xff, 0xff }, 4, PW_OK, "ACK log index high bytes" },
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
}

static void
test_names(void **state)
{
	(void)state;
	assert_string_equal(pw_msg_type_name(PW_MSG_ORDER), "ORDER");
	assert_string_equal(pw_msg_type_name(PW_MSG_CHECKPOINT), "CHECKPOINT");
	assert_string_equal(pw_msg_type_name(PW_MSG_DEPTH), "DEPTH");
	assert_string_equal(pw_msg_type_name(0), "UNKNOWN");
	assert_string_equal(pw_msg_type_name(23), "UNKNOWN");
	assert_string_equal(pw_reason_name(PW_REASON_GATE_CLOSED), "gate_closed");
	assert_string_equal(pw_reason_name(PW_REASON__COUNT), "unknown");
	for (unsigned i = 0; i < PW_REASON__COUNT; i++) {
		assert_string_not_equal(pw_reason_name(i), "unknown");
		for (unsigned j = 0; j < i; j++)
			assert_string_not_equal(pw_reason_name(i), pw_reason_name(j));
	}
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
		cmocka_unit_test(test_names),
	};
	if (pw_crypto_init() != PW_OK)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
