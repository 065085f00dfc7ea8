/*
 * test_wire_ack.c: protocol 2's receipts and version rule.  ACKs over a
 * real RFC 6962 tree: encoded with a head signed on the spot and around a
 * head signed once, decoded, and checked against the request they answer
 * (pw_wire_ack_check: another request, a wrong path, a wrong index, a head
 * by another key, a path length not fitting the head).  Version-1 frames
 * (signed under "peerwatt/1/", with the version-1 receipt layout) decode
 * only through the stored-frame functions and are refused (PW_ERR_VERSION)
 * by the network ones.  And exchange/receipt.c: the paths of a batch from
 * the compact range before it plus its leaves are the paths
 * merkle_prove_inclusion() gives over all leaves.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "exchange/receipt.h"
#include "peerwatt/keys.h"
#include "peerwatt/merkle.h"
#include "peerwatt/wire.h"

#define MARKET  0x0102030405060708ull
#define N_LEAVE 13

static void
fill_key(struct pw_keypair *kp, uint8_t salt)
{
	uint8_t seed[PW_SEED_LEN];
	for (size_t i = 0; i < sizeof(seed); i++)
		seed[i] = (uint8_t)(salt + i);
	assert_int_equal(pw_key_from_seed(kp, seed), PW_OK);
}

/* A log of N_LEAVE entries, each an ORDER frame of household `hh`. */
struct tlog {
	struct pw_keypair hh, ex;
	uint8_t frames[N_LEAVE][256];
	size_t lens[N_LEAVE];
	uint8_t leaves[N_LEAVE][PW_HASH_LEN];
};

static pw_err
leaf_at(void *ctx, uint64_t idx, uint8_t out[MERKLE_HASH_LEN])
{
	const struct tlog *t = ctx;
	if (idx >= N_LEAVE)
		return PW_ERR_RANGE;
	memcpy(out, t->leaves[idx], PW_HASH_LEN);
	return PW_OK;
}

static void
tlog_init(struct tlog *t)
{
	fill_key(&t->hh, 11);
	fill_key(&t->ex, 12);
	for (size_t i = 0; i < N_LEAVE; i++) {
		struct pw_msg m;
		memset(&m, 0, sizeof(m));
		m.type = PW_MSG_ORDER;
		m.u.order = (struct pw_order){ .seq = i + 1,
			                       .interval = 1900000,
			                       .expiry_s = 1710000000,
			                       .qty_wh = (uint32_t)(100 + i),
			                       .price_uper_kwh = 210000,
			                       .side = PW_SIDE_BUY };
		assert_int_equal(pw_wire_encode(&m, MARKET, &t->hh, t->frames[i],
		                                sizeof(t->frames[i]), &t->lens[i]),
		                 PW_OK);
		merkle_leaf_hash(t->frames[i], t->lens[i], t->leaves[i]);
	}
}

/* The ACK of entry `idx` under a head of the first `size` entries, signed
 * by `kp`, into out; returns its length. */
static size_t
make_ack(const struct tlog *t, uint64_t idx, uint64_t size, const struct pw_keypair *kp,
         uint8_t *out, size_t cap)
{
	struct pw_msg m;
	size_t n = 0, len = 0;

	memset(&m, 0, sizeof(m));
	m.type = PW_MSG_ACK;
	pw_sha256(t->frames[idx], t->lens[idx], m.u.receipt.ref_hash);
	m.u.receipt.ref_type = PW_MSG_ORDER;
	m.u.receipt.ref_seq = idx + 1;
	m.u.receipt.log_index = idx;
	assert_int_equal(merkle_prove_inclusion(leaf_at, (void *)(uintptr_t)t, idx, size,
	                                        m.u.receipt.path, PW_PROOF_MAX_HASHES, &n),
	                 PW_OK);
	m.u.receipt.n_hashes = (uint8_t)n;
	memcpy(m.u.receipt.head.origin, "test-market", 11);
	m.u.receipt.head.interval = 1899998;
	m.u.receipt.head.tree_size = size;
	assert_int_equal(
	    merkle_subtree_root(leaf_at, (void *)(uintptr_t)t, 0, size, m.u.receipt.head.root),
	    PW_OK);
	m.u.receipt.head.time_s = 1710000123;
	assert_int_equal(pw_wire_encode(&m, MARKET, kp, out, cap, &len), PW_OK);
	assert_int_equal(len, 270 + 32 * n);
	assert_int_equal(len, pw_wire_size(&m));
	return len;
}

/* Every leaf of every tree size: encode, open, check against its request. */
static void
test_ack_round_trip(void **state)
{
	struct tlog t;
	uint8_t buf[4096], again[4096];
	struct pw_msg d;
	size_t len, len2;

	(void)state;
	tlog_init(&t);
	for (uint64_t size = 1; size <= N_LEAVE; size++) {
		for (uint64_t idx = 0; idx < size; idx++) {
			len = make_ack(&t, idx, size, &t.ex, buf, sizeof(buf));
			assert_int_equal(pw_wire_open(buf, len, MARKET, &d), PW_OK);
			assert_int_equal(d.version, PW_PROTO_VERSION);
			assert_int_equal(d.type, PW_MSG_ACK);
			assert_memory_equal(d.author, t.ex.pk, PW_PK_LEN);
			assert_int_equal(d.u.receipt.log_index, idx);
			assert_int_equal(d.u.receipt.reason, PW_REASON_OK);
			assert_int_equal(d.u.receipt.head.tree_size, size);
			assert_int_equal(d.u.receipt.time_s, 1710000123);
			assert_string_equal(d.u.receipt.head.origin, "test-market");
			/* the ACK's signature is its head's */
			assert_memory_equal(d.sig, buf + len - PW_SIG_LEN, PW_SIG_LEN);
			assert_memory_equal(d.u.receipt.head_sig, d.sig, PW_SIG_LEN);
			assert_int_equal(pw_wire_ack_check(&d, t.frames[idx], t.lens[idx]), PW_OK);
			/* re-encoding the decoded ACK gives the same bytes */
			assert_int_equal(
			    pw_wire_encode(&d, MARKET, &t.ex, again, sizeof(again), &len2), PW_OK);
			assert_int_equal(len2, len);
			assert_memory_equal(again, buf, len);
			/* the head inside is a CHECKPOINT frame that opens alone */
			struct pw_msg h;
			assert_int_equal(pw_wire_open(buf + len - PW_CHECKPOINT_FRAME_LEN,
			                              PW_CHECKPOINT_FRAME_LEN, MARKET, &h),
			                 PW_OK);
			assert_int_equal(h.type, PW_MSG_CHECKPOINT);
			assert_memory_equal(h.u.checkpoint.root, d.u.receipt.head.root,
			                    PW_HASH_LEN);
			/* another market: the head does not verify */
			assert_int_equal(pw_wire_verify(buf, len, MARKET + 1), PW_ERR_BADSIG);
		}
	}
}

/* One head signed once, many ACKs around it (the exchange's batch). */
static void
test_ack_shared_head(void **state)
{
	struct tlog t;
	struct pw_msg h, d;
	uint8_t head[PW_CHECKPOINT_FRAME_LEN], buf[4096], ref[4096];
	size_t hlen, len, rlen, n;

	(void)state;
	tlog_init(&t);
	memset(&h, 0, sizeof(h));
	h.type = PW_MSG_CHECKPOINT;
	memcpy(h.u.checkpoint.origin, "test-market", 11);
	h.u.checkpoint.interval = 1899998;
	h.u.checkpoint.tree_size = N_LEAVE;
	assert_int_equal(merkle_subtree_root(leaf_at, &t, 0, N_LEAVE, h.u.checkpoint.root), PW_OK);
	h.u.checkpoint.time_s = 1710000123;
	assert_int_equal(pw_wire_encode(&h, MARKET, &t.ex, head, sizeof(head), &hlen), PW_OK);
	assert_int_equal(hlen, PW_CHECKPOINT_FRAME_LEN);
	for (uint64_t idx = 0; idx < N_LEAVE; idx++) {
		struct pw_receipt r;
		memset(&r, 0, sizeof(r));
		pw_sha256(t.frames[idx], t.lens[idx], r.ref_hash);
		r.ref_type = PW_MSG_ORDER;
		r.ref_seq = idx + 1;
		r.log_index = idx;
		assert_int_equal(merkle_prove_inclusion(leaf_at, &t, idx, N_LEAVE, r.path,
		                                        PW_PROOF_MAX_HASHES, &n),
		                 PW_OK);
		r.n_hashes = (uint8_t)n;
		assert_int_equal(pw_wire_encode_ack(&r, head, hlen, buf, sizeof(buf), &len), PW_OK);
		/* the same bytes as an ACK that signs its head itself */
		rlen = make_ack(&t, idx, N_LEAVE, &t.ex, ref, sizeof(ref));
		assert_int_equal(len, rlen);
		assert_memory_equal(buf, ref, len);
		assert_int_equal(pw_wire_open(buf, len, MARKET, &d), PW_OK);
		assert_int_equal(pw_wire_ack_check(&d, t.frames[idx], t.lens[idx]), PW_OK);
		/* too small a buffer, a head of another length */
		assert_int_equal(pw_wire_encode_ack(&r, head, hlen, buf, len - 1, &len),
		                 PW_ERR_FULL);
		assert_int_equal(pw_wire_encode_ack(&r, head, hlen - 1, buf, sizeof(buf), &len),
		                 PW_ERR_FIELD);
		/* a path one hash short does not fit (idx, size) */
		if (r.n_hashes > 0) {
			r.n_hashes--;
			assert_int_equal(pw_wire_encode_ack(&r, head, hlen, buf, sizeof(buf), &len),
			                 PW_ERR_FIELD);
		}
	}
}

/* What a receiver must refuse although the ACK itself opens. */
static void
test_ack_check_refusals(void **state)
{
	struct tlog t;
	struct pw_keypair other;
	uint8_t buf[4096];
	struct pw_msg d;
	size_t len;

	(void)state;
	tlog_init(&t);
	fill_key(&other, 99);
	len = make_ack(&t, 5, 11, &t.ex, buf, sizeof(buf));
	assert_int_equal(pw_wire_open(buf, len, MARKET, &d), PW_OK);
	assert_int_equal(pw_wire_ack_check(&d, t.frames[5], t.lens[5]), PW_OK);
	/* another request (its ref_hash differs) */
	assert_int_equal(pw_wire_ack_check(&d, t.frames[4], t.lens[4]), PW_ERR_FIELD);
	assert_int_equal(pw_wire_ack_check(&d, t.frames[5], t.lens[5] - 1), PW_ERR_FIELD);
	/* a wrong path: one hash changed */
	struct pw_msg bad = d;
	bad.u.receipt.path[2][7] ^= 0x40;
	assert_int_equal(pw_wire_ack_check(&bad, t.frames[5], t.lens[5]), PW_ERR_PROOF);
	/* a wrong index with a path of the same length (leaf 4 of 11) */
	bad = d;
	bad.u.receipt.log_index = 4;
	assert_int_equal(pw_wire_ack_check(&bad, t.frames[5], t.lens[5]), PW_ERR_PROOF);
	/* ... and on the wire: leaf 4 decodes (same path length) but fails the check */
	uint8_t w[4096];
	memcpy(w, buf, len);
	w[PW_WIRE_HEADER_LEN + 48] = 4;
	assert_int_equal(pw_wire_open(w, len, MARKET, &bad), PW_OK);
	assert_int_equal(pw_wire_ack_check(&bad, t.frames[5], t.lens[5]), PW_ERR_PROOF);
	/* a head whose root is another tree's (the first 12 entries) */
	bad = d;
	assert_int_equal(merkle_subtree_root(leaf_at, &t, 0, 12, bad.u.receipt.head.root), PW_OK);
	assert_int_equal(pw_wire_ack_check(&bad, t.frames[5], t.lens[5]), PW_ERR_PROOF);
	/* a head by another key inside the exchange's ACK: refused */
	uint8_t o[4096];
	size_t olen = make_ack(&t, 5, 11, &other, o, sizeof(o));
	assert_int_equal(olen, len);
	memcpy(w, buf, len);
	memcpy(w + len - PW_CHECKPOINT_FRAME_LEN, o + len - PW_CHECKPOINT_FRAME_LEN,
	       PW_CHECKPOINT_FRAME_LEN);
	assert_int_equal(pw_wire_decode(w, len, &bad), PW_ERR_FIELD);
	assert_int_equal(pw_wire_verify(w, len, MARKET), PW_ERR_BADSIG);
	/* ... the whole ACK by the other key opens, naming that key */
	assert_int_equal(pw_wire_open(o, olen, MARKET, &bad), PW_OK);
	assert_memory_equal(bad.author, other.pk, PW_PK_LEN);
	/* n_hashes not the path length: a 5-hash path for leaf 5 of 11 (4) */
	uint8_t longer[4096];
	size_t at = PW_WIRE_HEADER_LEN + 50 + 4 * 32;
	memcpy(longer, buf, at);
	memset(longer + at, 0x5a, 32);
	memcpy(longer + at + 32, buf + at, len - at);
	longer[PW_WIRE_HEADER_LEN + 49] = 5;
	assert_int_equal(pw_wire_decode(longer, len + 32, &bad), PW_ERR_FIELD);
	assert_int_equal(pw_wire_decode(longer, len, &bad), PW_ERR_LENGTH);
	/* the head's signature broken: decodes, does not verify */
	memcpy(w, buf, len);
	w[len - 1] ^= 1;
	assert_int_equal(pw_wire_decode(w, len, &bad), PW_OK);
	assert_int_equal(pw_wire_open(w, len, MARKET, &bad), PW_ERR_BADSIG);
	/* not an ACK, or a REJECT */
	bad = d;
	bad.type = PW_MSG_REJECT;
	assert_int_equal(pw_wire_ack_check(&bad, t.frames[5], t.lens[5]), PW_ERR_FIELD);
}

/* A version-1 frame: header, body, signature under "peerwatt/1/NAME". */
static size_t
v1_frame(uint8_t type, const char *name, const uint8_t *body, size_t blen,
         const struct pw_keypair *kp, uint8_t *out)
{
	uint8_t input[512];
	size_t n = 0, nl = strlen(name);

	out[0] = 1;
	out[1] = type;
	memcpy(out + 2, kp->pk, PW_PK_LEN);
	memcpy(out + PW_WIRE_HEADER_LEN, body, blen);
	memcpy(input, "peerwatt/1/", 11);
	n = 11;
	memcpy(input + n, name, nl);
	n += nl;
	input[n++] = 0;
	for (int s = 56; s >= 0; s -= 8)
		input[n++] = (uint8_t)(MARKET >> s);
	memcpy(input + n, out, PW_WIRE_HEADER_LEN + blen);
	n += PW_WIRE_HEADER_LEN + blen;
	pw_sign(kp, input, n, out + PW_WIRE_HEADER_LEN + blen);
	return PW_WIRE_HEADER_LEN + blen + PW_SIG_LEN;
}

static void
put_be(uint8_t *p, uint64_t v, int bytes)
{
	for (int i = bytes - 1; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static void
test_v1_stored_only(void **state)
{
	struct pw_keypair kp;
	uint8_t body[64], f[256];
	struct pw_msg m;
	size_t len;

	(void)state;
	fill_key(&kp, 21);
	/* ORDER v1: seq 7, interval 1900000, expiry, qty 1250, price 210000, sell */
	memset(body, 0, sizeof(body));
	put_be(body, 7, 8);
	put_be(body + 8, 1900000, 8);
	put_be(body + 16, 1710000000, 8);
	put_be(body + 24, 1250, 4);
	put_be(body + 28, 210000, 4);
	body[32] = PW_SIDE_SELL;
	len = v1_frame(PW_MSG_ORDER, "ORDER", body, 33, &kp, f);
	assert_int_equal(pw_wire_decode(f, len, &m), PW_ERR_VERSION);
	assert_int_equal(pw_wire_verify(f, len, MARKET), PW_ERR_VERSION);
	assert_int_equal(pw_wire_open(f, len, MARKET, &m), PW_ERR_VERSION);
	assert_int_equal(pw_wire_open_stored(f, len, MARKET, &m), PW_OK);
	assert_int_equal(m.version, 1);
	assert_int_equal(m.type, PW_MSG_ORDER);
	assert_int_equal(m.u.order.seq, 7);
	assert_int_equal(m.u.order.qty_wh, 1250);
	assert_int_equal(m.u.order.price_uper_kwh, 210000);
	assert_int_equal(m.u.order.side, PW_SIDE_SELL);
	/* the version byte is signed: the same bytes as version 2 do not verify */
	f[0] = PW_PROTO_VERSION;
	assert_int_equal(pw_wire_decode(f, len, &m), PW_OK);
	assert_int_equal(pw_wire_verify(f, len, MARKET), PW_ERR_BADSIG);
	assert_int_equal(pw_wire_verify_stored(f, len, MARKET), PW_ERR_BADSIG);
	f[0] = 1;
	f[len - 1] ^= 1;
	assert_int_equal(pw_wire_open_stored(f, len, MARKET, &m), PW_ERR_BADSIG);
	assert_int_equal(pw_wire_open_stored(f, len - 1, MARKET, &m), PW_ERR_LENGTH);
	/* a version-1 price above INT32_MAX is a field error */
	put_be(body + 28, 0x80000000u, 4);
	len = v1_frame(PW_MSG_ORDER, "ORDER", body, 33, &kp, f);
	assert_int_equal(pw_wire_decode_stored(f, len, &m), PW_ERR_FIELD);

	/* ACK v1: the 59-byte receipt body with its own signature */
	memset(body, 0, sizeof(body));
	memset(body, 0xa5, 32);
	body[32] = PW_MSG_ORDER;
	put_be(body + 33, 7, 8);
	put_be(body + 41, 0, 2);
	put_be(body + 43, 4242, 8);
	put_be(body + 51, 1710000001, 8);
	len = v1_frame(PW_MSG_ACK, "ACK", body, 59, &kp, f);
	assert_int_equal(len, 157);
	assert_int_equal(pw_wire_decode(f, len, &m), PW_ERR_VERSION);
	assert_int_equal(pw_wire_open_stored(f, len, MARKET, &m), PW_OK);
	assert_int_equal(m.version, 1);
	assert_int_equal(m.type, PW_MSG_ACK);
	assert_int_equal(m.u.receipt.log_index, 4242);
	assert_int_equal(m.u.receipt.time_s, 1710000001);
	assert_int_equal(m.u.receipt.ref_seq, 7);
	/* a v1 ACK proves nothing by itself: not a receipt to check */
	assert_int_equal(pw_wire_ack_check(&m, f, len), PW_ERR_FIELD);
	/* a v1 ACK with a reason is refused as in version 1 */
	put_be(body + 41, 7, 2);
	len = v1_frame(PW_MSG_ACK, "ACK", body, 59, &kp, f);
	assert_int_equal(pw_wire_decode_stored(f, len, &m), PW_ERR_FIELD);
	/* a version-1 frame signed under the version-2 tag does not verify */
	put_be(body + 41, 0, 2);
	len = v1_frame(PW_MSG_ACK, "ACK", body, 59, &kp, f);
	f[len - 2] ^= 0x10;
	assert_int_equal(pw_wire_verify_stored(f, len, MARKET), PW_ERR_BADSIG);
	/* version-2 frames pass through the stored functions unchanged */
	struct tlog t;
	uint8_t a[4096];
	tlog_init(&t);
	len = make_ack(&t, 3, 9, &t.ex, a, sizeof(a));
	assert_int_equal(pw_wire_open_stored(a, len, MARKET, &m), PW_OK);
	assert_int_equal(m.version, PW_PROTO_VERSION);
	assert_int_equal(pw_wire_ack_check(&m, t.frames[3], t.lens[3]), PW_OK);
}

static pw_err
leaf_of_70(void *ctx, uint64_t idx, uint8_t out[MERKLE_HASH_LEN])
{
	const uint8_t(*l)[PW_HASH_LEN] = ctx;
	memcpy(out, l[idx], PW_HASH_LEN);
	return PW_OK;
}

/* Batch paths from the range before the batch + its leaves, for every
 * split of a log of up to 70 entries into a prefix and a batch. */
static void
test_receipt_batch_paths(void **state)
{
	enum { N = 70 };
	static uint8_t leaves[N][PW_HASH_LEN];
	struct receipt_batch b;
	uint8_t want[MERKLE_MAX_PROOF][MERKLE_HASH_LEN], got[MERKLE_MAX_PROOF][MERKLE_HASH_LEN];
	size_t nw, ng;

	(void)state;
	for (int i = 0; i < N; i++) {
		uint8_t e[8] = { 'e', (uint8_t)i };
		merkle_leaf_hash(e, sizeof(e), leaves[i]);
	}
	assert_int_equal(receipt_init(&b, 40), PW_OK);
	for (uint64_t start = 0; start < N; start++) {
		for (uint64_t k = 1; k <= 40 && start + k <= N; k += (k < 9 ? 1 : 7)) {
			struct merkle_range r;
			merkle_range_init(&r);
			for (uint64_t i = 0; i < start; i++)
				assert_int_equal(merkle_range_append(&r, leaves[i]), PW_OK);
			receipt_begin(&b, &r);
			assert_int_equal(receipt_path(&b, start, got, MERKLE_MAX_PROOF, &ng),
			                 PW_ERR_STATE);
			for (uint64_t i = start; i < start + k; i++)
				receipt_add(&b, leaves[i]);
			assert_int_equal(receipt_seal(&b), PW_OK);
			assert_int_equal(b.size, start + k);
			for (uint64_t idx = start; idx < start + k; idx++) {
				assert_int_equal(merkle_prove_inclusion(leaf_of_70, leaves, idx,
				                                        start + k, want,
				                                        MERKLE_MAX_PROOF, &nw),
				                 PW_OK);
				assert_int_equal(receipt_path(&b, idx, got, MERKLE_MAX_PROOF, &ng),
				                 PW_OK);
				assert_int_equal(ng, nw);
				assert_memory_equal(got, want, nw * MERKLE_HASH_LEN);
			}
			/* outside the batch: no path */
			if (start > 0)
				assert_int_equal(
				    receipt_path(&b, start - 1, got, MERKLE_MAX_PROOF, &ng),
				    PW_ERR_RANGE);
			assert_int_equal(receipt_path(&b, start + k, got, MERKLE_MAX_PROOF, &ng),
			                 PW_ERR_RANGE);
		}
	}
	/* more leaves than room: the batch gets no paths */
	struct merkle_range r;
	merkle_range_init(&r);
	receipt_begin(&b, &r);
	for (int i = 0; i < 41; i++)
		receipt_add(&b, leaves[i]);
	assert_int_equal(receipt_seal(&b), PW_ERR_FULL);
	receipt_fini(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ack_round_trip),      cmocka_unit_test(test_ack_shared_head),
		cmocka_unit_test(test_ack_check_refusals),  cmocka_unit_test(test_v1_stored_only),
		cmocka_unit_test(test_receipt_batch_paths),
	};
	if (pw_crypto_init() != PW_OK)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
