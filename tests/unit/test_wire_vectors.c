/*
 * test_wire_vectors.c: the wire codec against tests/vectors/ (written by
 * the independent generator tests/vectors/gen.py from docs/protocol.md):
 * every *.vec encoded, signed, decoded and tampered with byte for byte,
 * the version-1 vectors (*_v1.vec) through the stored-frame decoder only,
 * and every frame of invalid.txt refused with the named error.
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

static const uint8_t all_types[] = {
	PW_MSG_ORDER,  PW_MSG_CANCEL,    PW_MSG_METER,     PW_MSG_QUERY,      PW_MSG_ACK,
	PW_MSG_REJECT, PW_MSG_RESULT,    PW_MSG_STATEMENT, PW_MSG_CHECKPOINT, PW_MSG_PROOF,
	PW_MSG_DEPTH,  PW_MSG_HEARTBEAT, PW_MSG_MARKET,    PW_MSG_REGISTRY,   PW_MSG_COSIGN,
};
#define N_TYPES (sizeof(all_types) / sizeof(all_types[0]))

/* --- tests/vectors/ -------------------------------------------------------- */

#define VEC_DIR       "tests/vectors"
#define VEC_MAX_LINES 64
#define VEC_LINE_MAX  8192

struct vec_line {
	char key[32];
	char *value;
	int used;
};

struct vec {
	char path[256];
	struct vec_line lines[VEC_MAX_LINES];
	int n;
};

static void
vec_free(struct vec *v)
{
	for (int i = 0; i < v->n; i++)
		free(v->lines[i].value);
	v->n = 0;
}

static void
vec_load(struct vec *v, const char *path)
{
	char line[VEC_LINE_MAX];
	FILE *f = fopen(path, "r");

	if (f == NULL)
		fail_msg("%s: cannot open", path);
	memset(v, 0, sizeof(*v));
	snprintf(v->path, sizeof(v->path), "%s", path);
	while (fgets(line, sizeof(line), f) != NULL) {
		size_t n = strlen(line);
		char *colon;

		if (n == 0 || line[n - 1] != '\n')
			fail_msg("%s: line too long or unterminated", path);
		line[--n] = '\0';
		if (n > 0 && line[n - 1] == '\r')
			line[--n] = '\0';
		if (n == 0 || line[0] == '#')
			continue;
		colon = strstr(line, ": ");
		if (colon == NULL || (size_t)(colon - line) >= sizeof(v->lines[0].key))
			fail_msg("%s: bad line '%s'", path, line);
		if (v->n >= VEC_MAX_LINES)
			fail_msg("%s: too many lines", path);
		memcpy(v->lines[v->n].key, line, (size_t)(colon - line));
		v->lines[v->n].key[colon - line] = '\0';
		v->lines[v->n].value = strdup(colon + 2);
		assert_non_null(v->lines[v->n].value);
		v->n++;
	}
	fclose(f);
}

/* The one value of `key` (a vector naming a key twice is broken). */
static const char *
vec_get(struct vec *v, const char *key)
{
	const char *found = NULL;
	for (int i = 0; i < v->n; i++) {
		if (strcmp(v->lines[i].key, key) != 0)
			continue;
		if (found != NULL)
			fail_msg("%s: key '%s' twice", v->path, key);
		found = v->lines[i].value;
		v->lines[i].used = 1;
	}
	if (found == NULL)
		fail_msg("%s: no key '%s'", v->path, key);
	return found;
}

static uint64_t
parse_u64(const char *s, uint64_t max, const char *what)
{
	char *end;
	unsigned long long x;

	if (s[0] < '0' || s[0] > '9')
		fail_msg("%s: not a number: '%s'", what, s);
	errno = 0;
	x = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || x > max)
		fail_msg("%s: bad number '%s'", what, s);
	return (uint64_t)x;
}

static uint64_t
vec_u(struct vec *v, const char *key, uint64_t max)
{
	return parse_u64(vec_get(v, key), max, key);
}

static int64_t
vec_i64(struct vec *v, const char *key)
{
	const char *s = vec_get(v, key);
	char *end;
	long long x;

	errno = 0;
	x = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || end == s)
		fail_msg("%s: bad number '%s'", key, s);
	return (int64_t)x;
}

static void
vec_hex(struct vec *v, const char *key, uint8_t *out, size_t len)
{
	if (pw_hex_decode(vec_get(v, key), out, len) != PW_OK)
		fail_msg("%s: %s is not %zu bytes of hex", v->path, key, len);
}

/* A price: an i32 in decimal, sign allowed (docs/protocol.md section 1). */
static int32_t
parse_i32(const char *s, const char *what)
{
	char *end;
	long long x;

	errno = 0;
	x = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || end == s || x < INT32_MIN || x > INT32_MAX)
		fail_msg("%s: bad i32 '%s'", what, s);
	return (int32_t)x;
}

static int32_t
vec_i32(struct vec *v, const char *key)
{
	return parse_i32(vec_get(v, key), key);
}

/* A hex value of any length; caller frees. */
static uint8_t *
vec_blob(struct vec *v, const char *key, size_t *len)
{
	const char *s = vec_get(v, key);
	size_t n = strlen(s);
	uint8_t *out = malloc(n / 2 + 1);

	assert_non_null(out);
	if (n % 2 != 0 || pw_hex_decode(s, out, n / 2) != PW_OK)
		fail_msg("%s: %s is not hex", v->path, key);
	*len = n / 2;
	return out;
}

static void
vec_text(struct vec *v, const char *key, char *out, size_t cap)
{
	const char *s = vec_get(v, key);
	size_t n = strlen(s);

	if (n > cap)
		fail_msg("%s: %s longer than %zu", v->path, key, cap);
	memset(out, 0, cap);
	memcpy(out, s, n);
}

/* Space-separated token `i` of `s` into `out`. */
static void
token(const char *line, int i, char *out, size_t cap)
{
	const char *s = line;

	while (i-- > 0) {
		s = strchr(s, ' ');
		if (s == NULL)
			fail_msg("missing token in '%s'", line);
		s++;
	}
	size_t n = strcspn(s, " ");
	if (n == 0 || n >= cap)
		fail_msg("bad token in '%s'", line);
	memcpy(out, s, n);
	out[n] = '\0';
}

/* Whether the vector has a `key` line (a field of one layout only). */
static int
vec_has(const struct vec *v, const char *key)
{
	for (int i = 0; i < v->n; i++)
		if (strcmp(v->lines[i].key, key) == 0)
			return 1;
	return 0;
}

/* The values of every `key` line, in order; returns the count. */
static int
vec_all(struct vec *v, const char *key, const char **out, int cap)
{
	int n = 0;
	for (int i = 0; i < v->n; i++) {
		if (strcmp(v->lines[i].key, key) != 0)
			continue;
		if (n >= cap)
			fail_msg("%s: too many '%s'", v->path, key);
		v->lines[i].used = 1;
		out[n++] = v->lines[i].value;
	}
	return n;
}

#define VEC_MAX_ARRAY 16

/* Builds the message of `v` from its fields, as docs/protocol.md names them. */
static void
vec_msg(struct vec *v, struct pw_msg *m, struct pw_trade *trades)
{
	const char *type = vec_get(v, "type");
	const char *items[VEC_MAX_ARRAY];
	char tok[80];
	int n;

	memset(m, 0, sizeof(*m));
	for (unsigned t = 1; t < 256 && m->type == 0; t++)
		if (strcmp(pw_msg_type_name(t), type) == 0)
			m->type = (uint8_t)t;
	if (m->type == 0)
		fail_msg("%s: unknown type %s", v->path, type);

	switch (m->type) {
	case PW_MSG_ORDER:
		m->u.order.seq = vec_u(v, "seq", UINT64_MAX);
		m->u.order.interval = vec_u(v, "interval", UINT64_MAX);
		m->u.order.expiry_s = vec_u(v, "expiry_s", UINT64_MAX);
		m->u.order.qty_wh = (uint32_t)vec_u(v, "qty_wh", UINT32_MAX);
		m->u.order.price_uper_kwh = vec_i32(v, "price");
		m->u.order.side = (uint8_t)vec_u(v, "side", UINT8_MAX);
		break;
	case PW_MSG_CANCEL:
		m->u.cancel.seq = vec_u(v, "seq", UINT64_MAX);
		m->u.cancel.interval = vec_u(v, "interval", UINT64_MAX);
		m->u.cancel.order_seq = vec_u(v, "order_seq", UINT64_MAX);
		break;
	case PW_MSG_METER:
		m->u.meter.seq = vec_u(v, "seq", UINT64_MAX);
		m->u.meter.interval = vec_u(v, "interval", UINT64_MAX);
		vec_text(v, "serial", m->u.meter.serial, PW_SERIAL_LEN);
		m->u.meter.export_start_wh = vec_u(v, "export_start_wh", UINT64_MAX);
		m->u.meter.export_end_wh = vec_u(v, "export_end_wh", UINT64_MAX);
		m->u.meter.import_start_wh = vec_u(v, "import_start_wh", UINT64_MAX);
		m->u.meter.import_end_wh = vec_u(v, "import_end_wh", UINT64_MAX);
		m->u.meter.time_status = (uint8_t)vec_u(v, "time_status", UINT8_MAX);
		break;
	case PW_MSG_QUERY:
		m->u.query.nonce = vec_u(v, "nonce", UINT64_MAX);
		m->u.query.kind = (uint8_t)vec_u(v, "kind", UINT8_MAX);
		m->u.query.a = vec_u(v, "a", UINT64_MAX);
		m->u.query.b = vec_u(v, "b", UINT64_MAX);
		vec_hex(v, "key", m->u.query.key, PW_PK_LEN);
		break;
	case PW_MSG_COSIGN:
		vec_text(v, "origin", m->u.cosign.origin, PW_ORIGIN_LEN);
		m->u.cosign.tree_size = vec_u(v, "tree_size", UINT64_MAX);
		vec_hex(v, "root", m->u.cosign.root, PW_HASH_LEN);
		m->u.cosign.time_s = vec_u(v, "time_s", UINT64_MAX);
		break;
	case PW_MSG_ACK:
	case PW_MSG_REJECT:
		vec_hex(v, "ref_hash", m->u.receipt.ref_hash, PW_HASH_LEN);
		m->u.receipt.ref_type = (uint8_t)vec_u(v, "ref_type", UINT8_MAX);
		m->u.receipt.ref_seq = vec_u(v, "ref_seq", UINT64_MAX);
		m->u.receipt.log_index = vec_u(v, "log_index", UINT64_MAX);
		if (!vec_has(v, "head_tree_size")) {
			/* REJECT, and the version-1 ACK */
			m->u.receipt.reason = (uint16_t)vec_u(v, "reason", UINT16_MAX);
			m->u.receipt.time_s = vec_u(v, "time_s", UINT64_MAX);
			break;
		}
		/* ACK (version 2): the path and the head */
		struct pw_checkpoint *h = &m->u.receipt.head;
		m->u.receipt.n_hashes = (uint8_t)vec_u(v, "n_hashes", PW_PROOF_MAX_HASHES);
		n = vec_all(v, "hash", items, VEC_MAX_ARRAY);
		if (n != m->u.receipt.n_hashes)
			fail_msg("%s: n_hashes %u but %d hash lines", v->path,
			         m->u.receipt.n_hashes, n);
		for (int i = 0; i < n; i++)
			if (pw_hex_decode(items[i], m->u.receipt.path[i], PW_HASH_LEN) != PW_OK)
				fail_msg("%s: bad hash %d", v->path, i);
		vec_text(v, "head_origin", h->origin, PW_ORIGIN_LEN);
		h->interval = vec_u(v, "head_interval", UINT64_MAX);
		h->tree_size = vec_u(v, "head_tree_size", UINT64_MAX);
		vec_hex(v, "head_root", h->root, PW_HASH_LEN);
		h->time_s = vec_u(v, "head_time_s", UINT64_MAX);
		m->u.receipt.time_s = h->time_s;
		break;
	case PW_MSG_RESULT:
		m->u.result.interval = vec_u(v, "interval", UINT64_MAX);
		m->u.result.price_uper_kwh = vec_i32(v, "price");
		m->u.result.volume_wh = vec_u(v, "volume_wh", UINT64_MAX);
		m->u.result.n_trades_total = (uint32_t)vec_u(v, "n_trades_total", UINT32_MAX);
		m->u.result.part = (uint16_t)vec_u(v, "part", UINT16_MAX);
		m->u.result.parts = (uint16_t)vec_u(v, "parts", UINT16_MAX);
		m->u.result.n_trades = (uint16_t)vec_u(v, "n_trades", UINT16_MAX);
		n = vec_all(v, "trade", items, VEC_MAX_ARRAY);
		assert_int_equal(n, m->u.result.n_trades);
		for (int i = 0; i < n; i++) {
			token(items[i], 0, tok, sizeof(tok));
			assert_int_equal(pw_hex_decode(tok, trades[i].buyer, PW_PK_LEN), PW_OK);
			token(items[i], 1, tok, sizeof(tok));
			assert_int_equal(pw_hex_decode(tok, trades[i].seller, PW_PK_LEN), PW_OK);
			token(items[i], 2, tok, sizeof(tok));
			trades[i].buy_seq = parse_u64(tok, UINT64_MAX, "buy_seq");
			token(items[i], 3, tok, sizeof(tok));
			trades[i].sell_seq = parse_u64(tok, UINT64_MAX, "sell_seq");
			token(items[i], 4, tok, sizeof(tok));
			trades[i].qty_wh = (uint32_t)parse_u64(tok, UINT32_MAX, "qty_wh");
		}
		m->u.result.trades = trades;
		break;
	case PW_MSG_STATEMENT: {
		struct pw_statement *s = &m->u.statement;
		vec_hex(v, "household", s->household, PW_PK_LEN);
		s->interval = vec_u(v, "interval", UINT64_MAX);
		s->flags = (uint32_t)vec_u(v, "flags", UINT32_MAX);
		s->price_uper_kwh = vec_i32(v, "price");
		s->bought_wh = vec_u(v, "bought_wh", UINT64_MAX);
		s->sold_wh = vec_u(v, "sold_wh", UINT64_MAX);
		s->export_wh = vec_u(v, "export_wh", UINT64_MAX);
		s->import_wh = vec_u(v, "import_wh", UINT64_MAX);
		s->shortfall_wh = vec_u(v, "shortfall_wh", UINT64_MAX);
		s->excess_wh = vec_u(v, "excess_wh", UINT64_MAX);
		s->extra_import_wh = vec_u(v, "extra_import_wh", UINT64_MAX);
		s->unused_wh = vec_u(v, "unused_wh", UINT64_MAX);
		s->peer_u = vec_i64(v, "peer_u");
		s->grid_u = vec_i64(v, "grid_u");
		s->fee_u = vec_i64(v, "fee_u");
		s->net_u = vec_i64(v, "net_u");
		s->baseline_u = vec_i64(v, "baseline_u");
		s->saving_u = vec_i64(v, "saving_u");
		break;
	}
	case PW_MSG_CHECKPOINT:
		vec_text(v, "origin", m->u.checkpoint.origin, PW_ORIGIN_LEN);
		m->u.checkpoint.interval = vec_u(v, "interval", UINT64_MAX);
		m->u.checkpoint.tree_size = vec_u(v, "tree_size", UINT64_MAX);
		vec_hex(v, "root", m->u.checkpoint.root, PW_HASH_LEN);
		m->u.checkpoint.time_s = vec_u(v, "time_s", UINT64_MAX);
		break;
	case PW_MSG_PROOF:
		m->u.proof.nonce = vec_u(v, "nonce", UINT64_MAX);
		m->u.proof.kind = (uint8_t)vec_u(v, "kind", UINT8_MAX);
		m->u.proof.a = vec_u(v, "a", UINT64_MAX);
		m->u.proof.b = vec_u(v, "b", UINT64_MAX);
		m->u.proof.n_hashes = (uint8_t)vec_u(v, "n_hashes", PW_PROOF_MAX_HASHES);
		n = vec_all(v, "hash", items, VEC_MAX_ARRAY);
		assert_int_equal(n, m->u.proof.n_hashes);
		for (int i = 0; i < n; i++)
			assert_int_equal(pw_hex_decode(items[i], m->u.proof.hashes[i], PW_HASH_LEN),
			                 PW_OK);
		break;
	case PW_MSG_DEPTH:
		m->u.depth.interval = vec_u(v, "interval", UINT64_MAX);
		m->u.depth.n_levels = (uint8_t)vec_u(v, "n_levels", PW_DEPTH_MAX_LEVELS);
		n = vec_all(v, "level", items, VEC_MAX_ARRAY);
		assert_int_equal(n, m->u.depth.n_levels);
		for (int i = 0; i < n; i++) {
			token(items[i], 0, tok, sizeof(tok));
			m->u.depth.levels[i].side = (uint8_t)parse_u64(tok, UINT8_MAX, "side");
			token(items[i], 1, tok, sizeof(tok));
			m->u.depth.levels[i].price_uper_kwh = parse_i32(tok, "price");
			token(items[i], 2, tok, sizeof(tok));
			m->u.depth.levels[i].qty_wh = parse_u64(tok, UINT64_MAX, "qty_wh");
		}
		break;
	case PW_MSG_HEARTBEAT:
		m->u.heartbeat.time_ms = vec_u(v, "time_ms", UINT64_MAX);
		m->u.heartbeat.period_ms = (uint32_t)vec_u(v, "period_ms", UINT32_MAX);
		m->u.heartbeat.interval_s = (uint32_t)vec_u(v, "interval_s", UINT32_MAX);
		m->u.heartbeat.gate_s = (uint32_t)vec_u(v, "gate_s", UINT32_MAX);
		m->u.heartbeat.feedin_uper_kwh = vec_i32(v, "feedin_uper_kwh");
		m->u.heartbeat.retail_uper_kwh = vec_i32(v, "retail_uper_kwh");
		break;
	case PW_MSG_MARKET: {
		struct pw_market *mk = &m->u.market;
		mk->time_s = vec_u(v, "time_s", UINT64_MAX);
		mk->effective_interval = vec_u(v, "effective_interval", UINT64_MAX);
		vec_text(v, "name", mk->name, PW_TOKEN_LEN);
		vec_text(v, "currency", mk->currency, PW_CURRENCY_LEN);
		mk->interval_s = (uint32_t)vec_u(v, "interval_s", UINT32_MAX);
		mk->gate_s = (uint32_t)vec_u(v, "gate_s", UINT32_MAX);
		mk->grace_s = (uint32_t)vec_u(v, "grace_s", UINT32_MAX);
		mk->max_ahead_s = (uint32_t)vec_u(v, "max_ahead_s", UINT32_MAX);
		mk->feedin_uper_kwh = vec_i32(v, "feedin_uper_kwh");
		mk->retail_uper_kwh = vec_i32(v, "retail_uper_kwh");
		mk->fee_same_zone_uper_kwh =
		    (uint32_t)vec_u(v, "fee_same_zone_uper_kwh", UINT32_MAX);
		mk->fee_default_uper_kwh = (uint32_t)vec_u(v, "fee_default_uper_kwh", UINT32_MAX);
		mk->n_fees = (uint16_t)vec_u(v, "n_fees", PW_MARKET_MAX_FEES);
		n = vec_all(v, "fee", items, VEC_MAX_ARRAY);
		assert_int_equal(n, mk->n_fees);
		for (int i = 0; i < n; i++) {
			token(items[i], 0, tok, sizeof(tok));
			assert_true(strlen(tok) < PW_TOKEN_LEN);
			memcpy(mk->fees[i].zone_a, tok, strlen(tok));
			token(items[i], 1, tok, sizeof(tok));
			assert_true(strlen(tok) < PW_TOKEN_LEN);
			memcpy(mk->fees[i].zone_b, tok, strlen(tok));
			token(items[i], 2, tok, sizeof(tok));
			mk->fees[i].fee_uper_kwh = (uint32_t)parse_u64(tok, UINT32_MAX, "fee");
		}
		break;
	}
	case PW_MSG_REGISTRY: {
		struct pw_registry *r = &m->u.registry;
		r->time_s = vec_u(v, "time_s", UINT64_MAX);
		vec_hex(v, "household", r->household, PW_PK_LEN);
		vec_text(v, "id", r->id, PW_TOKEN_LEN);
		vec_text(v, "name", r->name, PW_TOKEN_LEN);
		vec_text(v, "serial", r->serial, PW_SERIAL_LEN);
		vec_text(v, "zone", r->zone, PW_TOKEN_LEN);
		r->max_export_w = (uint32_t)vec_u(v, "max_export_w", UINT32_MAX);
		r->max_import_w = (uint32_t)vec_u(v, "max_import_w", UINT32_MAX);
		r->revoked = (uint8_t)vec_u(v, "revoked", UINT8_MAX);
		break;
	}
	default:
		fail_msg("%s: type %s has no vector mapping", v->path, type);
	}
}

/*
 * Every frame that differs from a vector must not open; an ACK, whose
 * fields before the head are bound by the receipt check instead of a
 * signature, must then fail pw_wire_ack_check() against `req`.
 */
static void
check_tamper(const uint8_t *enc, size_t len, uint64_t market, const char *path, const uint8_t *req,
             size_t req_len)
{
	uint8_t *buf = malloc(len + 128);
	struct pw_msg d;

	assert_non_null(buf);
	memcpy(buf, enc, len);
	for (size_t bit = 0; bit < len * 8; bit++) {
		buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		if (pw_wire_open(buf, len, market, &d) == PW_OK &&
		    (req == NULL || pw_wire_ack_check(&d, req, req_len) == PW_OK))
			fail_msg("%s: flipping bit %zu still opens%s", path, bit,
			         req ? " and proves the request" : "");
		buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	for (size_t n = 0; n < len; n++)
		if (pw_wire_open(buf, n, market, &d) == PW_OK)
			fail_msg("%s: truncation to %zu bytes still opens", path, n);
	for (unsigned b = 0; b < 256; b++) {
		buf[len] = (uint8_t)b;
		if (pw_wire_open(buf, len + 1, market, &d) == PW_OK)
			fail_msg("%s: appended byte 0x%02x still opens", path, b);
	}
	memset(buf + len, 0, 128);
	for (size_t extra = 1; extra <= 128; extra++)
		if (pw_wire_open(buf, len + extra, market, &d) == PW_OK)
			fail_msg("%s: %zu appended bytes still open", path, extra);
	assert_int_equal(pw_wire_open(buf, len, market, &d), PW_OK); /* buffer restored */
	free(buf);
}

/*
 * A version-1 vector (kept for stored frames): the stored-frame decoder
 * gives its fields and verifies it under "peerwatt/1/"; every network
 * function refuses it with PW_ERR_VERSION, before anything else.
 */
static void
check_vector_v1(struct vec *v, const char *path)
{
	struct pw_msg m, d;
	struct pw_trade trades[VEC_MAX_ARRAY];
	uint8_t author[PW_PK_LEN], sig[PW_SIG_LEN], seed[PW_SEED_LEN];
	size_t enc_len, input_len;
	uint64_t market = vec_u(v, "market_id", UINT64_MAX);
	uint8_t *enc = vec_blob(v, "encoded", &enc_len);
	uint8_t *input = vec_blob(v, "signing_input", &input_len);

	vec_hex(v, "seed", seed, sizeof(seed));
	vec_hex(v, "author", author, sizeof(author));
	vec_hex(v, "signature", sig, sizeof(sig));
	vec_msg(v, &m, trades);
	for (int i = 0; i < v->n; i++)
		if (!v->lines[i].used)
			fail_msg("%s: field '%s' not checked", path, v->lines[i].key);
	assert_int_equal(enc[0], 1);
	assert_true(input_len > enc_len - PW_SIG_LEN);
	assert_memory_equal(input, "peerwatt/1/", 11);
	assert_memory_equal(input + input_len - (enc_len - PW_SIG_LEN), enc, enc_len - PW_SIG_LEN);
	assert_int_equal(pw_verify(author, input, input_len, sig), PW_OK);
	assert_int_equal(pw_wire_decode(enc, enc_len, &d), PW_ERR_VERSION);
	assert_int_equal(pw_wire_verify(enc, enc_len, market), PW_ERR_VERSION);
	assert_int_equal(pw_wire_open(enc, enc_len, market, &d), PW_ERR_VERSION);
	memset(&d, 0, sizeof(d));
	assert_int_equal(pw_wire_open_stored(enc, enc_len, market, &d), PW_OK);
	assert_int_equal(pw_wire_verify_stored(enc, enc_len, market ^ 1), PW_ERR_BADSIG);
	/* the fields, compared whole (both structs zeroed before filling) */
	m.version = 1;
	memcpy(m.author, author, PW_PK_LEN);
	memcpy(m.sig, sig, PW_SIG_LEN);
	if (memcmp(&m, &d, sizeof(m)) != 0)
		fail_msg("%s: the stored decoder's fields differ from the vector's", path);
	/* a flipped bit anywhere: not a valid stored frame any more */
	for (size_t bit = 0; bit < enc_len * 8; bit++) {
		enc[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		if (pw_wire_open_stored(enc, enc_len, market, &d) == PW_OK)
			fail_msg("%s: flipping bit %zu still opens as a stored frame", path, bit);
		enc[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	free(enc);
	free(input);
}

static void
check_vector(const char *path, uint8_t *seen_types)
{
	struct vec v;
	struct pw_msg m, d;
	struct pw_trade trades[VEC_MAX_ARRAY];
	struct pw_keypair kp;
	uint8_t seed[PW_SEED_LEN], author[PW_PK_LEN], sig[PW_SIG_LEN];
	uint8_t out[4096], again[4096];
	uint8_t *enc, *input;
	size_t enc_len, input_len, len, len2;
	uint64_t market;

	vec_load(&v, path);
	if (vec_u(&v, "version", UINT8_MAX) == 1) {
		check_vector_v1(&v, path);
		vec_free(&v);
		return;
	}
	market = vec_u(&v, "market_id", UINT64_MAX);
	vec_hex(&v, "seed", seed, sizeof(seed));
	vec_hex(&v, "author", author, sizeof(author));
	vec_hex(&v, "signature", sig, sizeof(sig));
	enc = vec_blob(&v, "encoded", &enc_len);
	input = vec_blob(&v, "signing_input", &input_len);
	assert_int_equal(pw_key_from_seed(&kp, seed), PW_OK);
	assert_memory_equal(kp.pk, author, PW_PK_LEN);

	/* Encode from the fields: the same bytes and signature. */
	vec_msg(&v, &m, trades);
	for (int i = 0; i < v.n; i++)
		if (!v.lines[i].used)
			fail_msg("%s: field '%s' not checked", path, v.lines[i].key);
	seen_types[m.type] = 1;
	assert_int_equal(pw_wire_encode(&m, market, &kp, out, sizeof(out), &len), PW_OK);
	if (len != enc_len || memcmp(out, enc, len) != 0)
		fail_msg("%s: encoding differs from the vector", path);
	assert_memory_equal(m.sig, sig, PW_SIG_LEN);
	assert_memory_equal(enc + enc_len - PW_SIG_LEN, sig, PW_SIG_LEN);

	/* The signing rule: the documented input, signed as is.  An ACK's
	 * signature is its head's: the input ends in the head frame. */
	size_t signed_from = m.type == PW_MSG_ACK ? enc_len - PW_CHECKPOINT_FRAME_LEN : 0;
	size_t signed_len = enc_len - PW_SIG_LEN - signed_from;
	assert_true(input_len > signed_len);
	assert_memory_equal(input + input_len - signed_len, enc + signed_from, signed_len);
	assert_int_equal(pw_verify(author, input, input_len, sig), PW_OK);
	assert_int_equal(enc[0], PW_PROTO_VERSION);
	uint8_t *order = NULL;
	size_t olen = 0;
	if (m.type == PW_MSG_ACK) {
		/* the receipt proves the ORDER vector's frame in its head */
		struct vec ov;
		vec_load(&ov, VEC_DIR "/order.vec");
		order = vec_blob(&ov, "encoded", &olen);
		assert_int_equal(pw_wire_open(enc, enc_len, market, &d), PW_OK);
		assert_int_equal(pw_wire_ack_check(&d, order, olen), PW_OK);
		order[olen - 1] ^= 1;
		assert_int_equal(pw_wire_ack_check(&d, order, olen), PW_ERR_FIELD);
		order[olen - 1] ^= 1;
		vec_free(&ov);
	}

	/* Decode and verify, and the decoded struct encodes back the same. */
	assert_int_equal(pw_wire_open(enc, enc_len, market, &d), PW_OK);
	assert_int_equal(d.type, m.type);
	assert_int_equal(pw_wire_verify(enc, enc_len, market ^ 1), PW_ERR_BADSIG);
	assert_int_equal(pw_wire_encode(&d, market, &kp, again, sizeof(again), &len2), PW_OK);
	assert_int_equal(len2, enc_len);
	assert_memory_equal(again, enc, enc_len);

	check_tamper(enc, enc_len, market, path, order, olen);
	free(order);
	free(enc);
	free(input);
	vec_free(&v);
}

static void
test_vectors(void **state)
{
	uint8_t seen[256] = { 0 };
	char path[512];
	struct dirent *e;
	DIR *dir = opendir(VEC_DIR);
	int n = 0;

	(void)state;
	if (dir == NULL)
		fail_msg("%s: cannot open (tests run from the repository root)", VEC_DIR);
	while ((e = readdir(dir)) != NULL) {
		size_t nl = strlen(e->d_name);
		if (nl < 5 || strcmp(e->d_name + nl - 4, ".vec") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", VEC_DIR, e->d_name);
		check_vector(path, seen);
		n++;
	}
	closedir(dir);
	/* One vector per message type at least (and the version-1 ones). */
	assert_true(n >= (int)N_TYPES + 3);
	for (size_t t = 0; t < N_TYPES; t++)
		if (!seen[all_types[t]])
			fail_msg("no vector for %s", pw_msg_type_name(all_types[t]));
	assert_true(n >= (int)N_TYPES);
}

/* The error names of tests/vectors/invalid.txt (docs/protocol.md section 8). */
static const struct {
	const char *name;
	pw_err err;
} invalid_errs[] = {
	{ "length", PW_ERR_LENGTH }, { "version", PW_ERR_VERSION }, { "type", PW_ERR_TYPE },
	{ "field", PW_ERR_FIELD },   { "badsig", PW_ERR_BADSIG },
};
#define N_INVALID_ERRS (sizeof(invalid_errs) / sizeof(invalid_errs[0]))

static size_t
invalid_err_index(const char *name, const char *err)
{
	for (size_t i = 0; i < N_INVALID_ERRS; i++)
		if (strcmp(invalid_errs[i].name, err) == 0)
			return i;
	fail_msg("invalid.txt: %s: unknown error '%s'", name, err);
	return 0;
}

/* tests/vectors/invalid.txt: frames that must be refused with the named error. */
static void
test_invalid_vectors(void **state)
{
	char line[VEC_LINE_MAX], name[80], err[16], hex[VEC_LINE_MAX];
	uint8_t frame[VEC_LINE_MAX / 2];
	uint64_t market = 0;
	int have_market = 0, n = 0, seen[N_INVALID_ERRS] = { 0 };
	FILE *f = fopen(VEC_DIR "/invalid.txt", "r");
	struct pw_msg m;

	(void)state;
	if (f == NULL)
		fail_msg("%s/invalid.txt: cannot open", VEC_DIR);
	while (fgets(line, sizeof(line), f) != NULL) {
		char *nl = strchr(line, '\n');
		if (nl == NULL)
			fail_msg("invalid.txt: line too long or unterminated");
		*nl = '\0';
		if (line[0] == '\0' || line[0] == '#')
			continue;
		if (strncmp(line, "market_id ", 10) == 0) {
			market = parse_u64(line + 10, UINT64_MAX, "market_id");
			have_market = 1;
			continue;
		}
		assert_true(have_market);
		token(line, 0, name, sizeof(name));
		token(line, 1, err, sizeof(err));
		token(line, 2, hex, sizeof(hex));
		size_t flen = 0;
		if (strcmp(hex, "-") != 0) {
			flen = strlen(hex) / 2;
			if (strlen(hex) % 2 != 0 || pw_hex_decode(hex, frame, flen) != PW_OK)
				fail_msg("invalid.txt: %s: bad hex", name);
		}
		size_t e = invalid_err_index(name, err);
		pw_err rc = pw_wire_open(frame, flen, market, &m);
		if (rc != invalid_errs[e].err)
			fail_msg("invalid.txt: %s: got '%s', want '%s'", name, pw_strerror(rc),
			         pw_strerror(invalid_errs[e].err));
		seen[e] = 1;
		n++;
	}
	fclose(f);
	for (size_t i = 0; i < N_INVALID_ERRS; i++)
		if (!seen[i])
			fail_msg("invalid.txt: no case of error '%s'", invalid_errs[i].name);
	assert_true(n >= 40);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_invalid_vectors),
	};
	if (pw_crypto_init() != PW_OK)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
