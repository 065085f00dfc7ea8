#!/usr/bin/env python3
"""Generate the peerwatt wire test vectors (tests/vectors/*.vec).

Independent of the C code on purpose: every frame is built here from the
byte layout of docs/protocol.md, and signed with the small Ed25519 below
(RFC 8032 section 5.1, written after the reference code of section 6).
Python standard library only.  Run by hand from the repository root:

    python3 tests/vectors/gen.py

then commit the .vec files (and the raw frames it writes as the seed corpus
of tests/fuzz/fuzz_wire.c, tests/fuzz/corpus/fuzz_wire/*.bin);
tests/unit/test_wire_vectors.c checks that the C codec reproduces every
vector byte for byte.

Protocol version 2.  The ACK embeds a signed CHECKPOINT (the batch's head)
and the RFC 6962 inclusion path of the request's entry; ack.vec uses a real
tree of 7 entries computed here (section "RFC 6962" below).  A few
version-1 vectors (*_v1.vec: the "peerwatt/1/" tag, the version-1 receipt)
are kept for the stored-frame decoder, which alone accepts them.
"""

import hashlib
import os
import struct
import sys

# --- Ed25519 (RFC 8032) -------------------------------------------------------

P = 2**255 - 19
Q = 2**252 + 27742317777372353535851937790883648493  # group order L


def _inv(x):
    return pow(x, P - 2, P)


D = -121665 * _inv(121666) % P
SQRT_M1 = pow(2, (P - 1) // 4, P)


def _recover_x(y, sign):
    if y >= P:
        return None
    x2 = (y * y - 1) * _inv(D * y * y + 1)
    if x2 == 0:
        return None if sign else 0
    x = pow(x2, (P + 3) // 8, P)
    if (x * x - x2) % P != 0:
        x = x * SQRT_M1 % P
    if (x * x - x2) % P != 0:
        return None
    if (x & 1) != sign:
        x = P - x
    return x


_GY = 4 * _inv(5) % P
_GX = _recover_x(_GY, 0)
G = (_GX, _GY, 1, _GX * _GY % P)  # extended coordinates (X, Y, Z, T)
IDENTITY = (0, 1, 1, 0)


def _add(p1, p2):
    a = (p1[1] - p1[0]) * (p2[1] - p2[0]) % P
    b = (p1[1] + p1[0]) * (p2[1] + p2[0]) % P
    c = 2 * p1[3] * p2[3] * D % P
    d = 2 * p1[2] * p2[2] % P
    e, f, g, h = b - a, d - c, d + c, b + a
    return (e * f % P, g * h % P, f * g % P, e * h % P)


def _mul(s, pt):
    acc = IDENTITY
    while s > 0:
        if s & 1:
            acc = _add(acc, pt)
        pt = _add(pt, pt)
        s >>= 1
    return acc


def _equal(p1, p2):
    return ((p1[0] * p2[2] - p2[0] * p1[2]) % P == 0 and
            (p1[1] * p2[2] - p2[1] * p1[2]) % P == 0)


def _compress(pt):
    zi = _inv(pt[2])
    x = pt[0] * zi % P
    y = pt[1] * zi % P
    return (y | ((x & 1) << 255)).to_bytes(32, "little")


def _decompress(b):
    if len(b) != 32:
        return None
    y = int.from_bytes(b, "little")
    sign = y >> 255
    y &= (1 << 255) - 1
    x = _recover_x(y, sign)
    if x is None:
        return None
    return (x, y, 1, x * y % P)


def _h(data):
    return int.from_bytes(hashlib.sha512(data).digest(), "little") % Q


def _expand(seed):
    h = hashlib.sha512(seed).digest()
    a = int.from_bytes(h[:32], "little")
    a &= (1 << 254) - 8
    a |= 1 << 254
    return a, h[32:]


def public_key(seed):
    a, _ = _expand(seed)
    return _compress(_mul(a, G))


def sign(seed, msg):
    a, prefix = _expand(seed)
    pk = _compress(_mul(a, G))
    r = _h(prefix + msg)
    rs = _compress(_mul(r, G))
    s = (r + _h(rs + pk + msg) * a) % Q
    return rs + s.to_bytes(32, "little")


def verify(pk, msg, sig):
    a = _decompress(pk)
    r = _decompress(sig[:32])
    if a is None or r is None:
        return False
    s = int.from_bytes(sig[32:], "little")
    if s >= Q:
        return False
    h = _h(sig[:32] + pk + msg)
    return _equal(_mul(s, G), _add(r, _mul(h, a)))


def _self_test():
    # RFC 8032 section 7.1, TEST 1 and TEST 2.
    seed = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
    assert public_key(seed).hex() == \
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
    assert sign(seed, b"").hex() == (
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
        "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b")
    seed = bytes.fromhex("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb")
    sig = sign(seed, b"\x72")
    assert sig.hex() == (
        "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
        "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00")
    assert verify(public_key(seed), b"\x72", sig)
    assert not verify(public_key(seed), b"\x73", sig)


# --- RFC 6962 (section 2.1) ------------------------------------------------------


def leaf_hash(entry):
    return hashlib.sha256(b"\0" + entry).digest()


def node_hash(left, right):
    return hashlib.sha256(b"\1" + left + right).digest()


def _split(n):
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(entries):
    """MTH(D[n]) of a list of entries."""
    if not entries:
        return hashlib.sha256(b"").digest()
    if len(entries) == 1:
        return leaf_hash(entries[0])
    k = _split(len(entries))
    return node_hash(mth(entries[:k]), mth(entries[k:]))


def inclusion_path(m, entries):
    """PATH(m, D[n]): the audit path of leaf m, from the leaf upwards."""
    if len(entries) <= 1:
        return []
    k = _split(len(entries))
    if m < k:
        return inclusion_path(m, entries[:k]) + [mth(entries[k:])]
    return inclusion_path(m - k, entries[k:]) + [mth(entries[:k])]


def root_from_path(m, n, leaf, path):
    """The root the path gives for leaf m of n (the receiver's check)."""
    def walk(m, n, path):
        if n == 1:
            assert not path
            return leaf
        k = _split(n)
        if m < k:
            return node_hash(walk(m, k, path[:-1]), path[-1])
        return node_hash(path[-1], walk(m - k, n - k, path[:-1]))
    return walk(m, n, path)


# --- the layout of docs/protocol.md ---------------------------------------------

VERSION = 2
TYPES = {
    "ORDER": 1, "CANCEL": 2, "METER": 3, "QUERY": 4, "COSIGN": 5,
    "ACK": 16, "REJECT": 17, "RESULT": 18, "STATEMENT": 19,
    "CHECKPOINT": 20, "PROOF": 21, "DEPTH": 22, "HEARTBEAT": 23,
    "MARKET": 24, "REGISTRY": 25,
}
MARKET_ID = 0x123456789ABCDEF0
HOUSEHOLD_SEED = bytes(range(0x01, 0x21))
EXCHANGE_SEED = bytes.fromhex("e1" * 16 + "e2" * 16)
U64_MAX = 2**64 - 1


def u8(v):
    return struct.pack(">B", v)


def u16(v):
    return struct.pack(">H", v)


def u32(v):
    return struct.pack(">I", v)


def i32(v):
    """Every price: signed 32 bits, two's complement (docs/protocol.md section 1)."""
    return struct.pack(">i", v)


def u64(v):
    return struct.pack(">Q", v)


def i64(v):
    return struct.pack(">q", v)


def query(nonce, kind, a, b, key=bytes(32)):
    """A QUERY's (fields, body): 57 bytes, the key all zero unless given."""
    f = [("nonce", nonce), ("kind", kind), ("a", a), ("b", b), ("key", key.hex())]
    body = u64(nonce) + u8(kind) + u64(a) + u64(b) + key
    assert len(body) == 57
    return (f, body)


def text32(s):
    b = s.encode("ascii")
    assert 1 <= len(b) <= 32 and all(0x20 <= c <= 0x7E for c in b)
    return b + b"\0" * (32 - len(b))


TOKEN_CHARS = set(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-")


def token32(s):
    """A registry token: 1..31 of [A-Za-z0-9_.-], NUL padded to 32."""
    b = s.encode("ascii")
    assert 1 <= len(b) <= 31 and all(c in TOKEN_CHARS for c in b)
    return b + b"\0" * (32 - len(b))


def signing_input(type_name, market_id, unsigned_frame, version=VERSION):
    return (b"peerwatt/%d/" % version + type_name.encode("ascii") + b"\0" + u64(market_id) +
            unsigned_frame)


def frame(type_name, seed, body, version=VERSION):
    pk = public_key(seed)
    unsigned = u8(version) + u8(TYPES[type_name]) + pk + body
    msg = signing_input(type_name, MARKET_ID, unsigned, version)
    sig = sign(seed, msg)
    assert verify(pk, msg, sig)
    return unsigned + sig, msg, sig


def checkpoint_body(origin, interval, tree_size, root, time_s):
    body = text32(origin) + u64(interval) + u64(tree_size) + root + u64(time_s)
    assert len(body) == 88
    return body


def ack_frame(ref, ref_type, ref_seq, log_index, path, head, seed=None, author=None,
              count=None):
    """An ACK of protocol 2: ref_hash, ref_type, ref_seq, log_index,
    n_hashes, the path, then the head, a complete CHECKPOINT frame (186
    bytes) whose signature ends the ACK.  Returns (frame, the head's signing
    input, the head's signature).  `author` (default: the head's) and
    `count` (default: len(path)) only for refusal cases."""
    seed = seed or EXCHANGE_SEED
    head_frame, head_msg, head_sig = head
    author = author or head_frame[2:34]
    n = len(path) if count is None else count
    body = ref + u8(ref_type) + u64(ref_seq) + u64(log_index) + u8(n) + b"".join(path)
    enc = u8(VERSION) + u8(TYPES["ACK"]) + author + body + head_frame
    assert len(enc) == 270 + 32 * len(path)
    return enc, head_msg, head_sig


def h(label):
    return hashlib.sha256(label.encode("ascii")).digest()


def ack_log(order_frame):
    """The log of the ACK vector: 7 entries, the ORDER vector's frame at 5."""
    log = [b"peerwatt test entry %d" % i for i in range(7)]
    log[5] = order_frame
    return log, 5


def build():
    """Returns [(name, type_name, seed, [(key, value)], body[, prebuilt])]:
    prebuilt = (frame, signing input, signature) of an ACK, whose
    signature is its head's."""
    hh_pk = public_key(HOUSEHOLD_SEED)
    vectors = []

    f = [("seq", 7), ("interval", 1900000), ("expiry_s", 1710000000),
         ("qty_wh", 1250), ("price", 210000), ("side", 2)]
    body = (u64(7) + u64(1900000) + u64(1710000000) + u32(1250) + i32(210000) + u8(2))
    assert len(body) == 33
    vectors.append(("order", "ORDER", HOUSEHOLD_SEED, f, body))

    # A sell order with a negative limit: the seller pays up to 0.035 per kWh
    # to have its export taken (a market with a negative feed-in tariff).
    f = [("seq", 9), ("interval", 1900000), ("expiry_s", 1710000000),
         ("qty_wh", 800), ("price", -35000), ("side", 2)]
    body = (u64(9) + u64(1900000) + u64(1710000000) + u32(800) + i32(-35000) + u8(2))
    assert body[28:32] == bytes.fromhex("ffff7748")
    vectors.append(("order_negative", "ORDER", HOUSEHOLD_SEED, f, body))

    f = [("seq", 8), ("interval", 1900000), ("order_seq", 7)]
    body = u64(8) + u64(1900000) + u64(7)
    assert len(body) == 24
    vectors.append(("cancel", "CANCEL", HOUSEHOLD_SEED, f, body))

    f = [("seq", 3), ("interval", 1899999), ("serial", "SN-2024 000417"),
         ("export_start_wh", 1000000), ("export_end_wh", 1000400),
         ("import_start_wh", 20000000000), ("import_end_wh", 20000000012),
         ("time_status", 1)]
    body = (u64(3) + u64(1899999) + text32("SN-2024 000417") + u64(1000000) + u64(1000400) +
            u64(20000000000) + u64(20000000012) + u8(1))
    assert len(body) == 81
    vectors.append(("meter", "METER", HOUSEHOLD_SEED, f, body))

    vectors.append(("query", "QUERY", HOUSEHOLD_SEED) + query(0xDEADBEEF01, 2, 5, 9))

    # STATEMENT_PROOF: the statement of interval 1900000 in the tree of 1000.
    vectors.append(("query_statement_proof", "QUERY", HOUSEHOLD_SEED) +
                   query(0xDEADBEEF02, 6, 1900000, 1000))

    # The receipts answer the ORDER vector: ref_hash is SHA-256 of its frame.
    order_frame, _, _ = frame("ORDER", HOUSEHOLD_SEED, vectors[0][4])
    ref = hashlib.sha256(order_frame).digest()
    # ACK: the ORDER is entry 5 of a log of 7; the head is that log's
    # CHECKPOINT and the path RFC 6962's for leaf 5 of 7 (3 hashes).
    log, idx = ack_log(order_frame)
    path = inclusion_path(idx, log)
    root = mth(log)
    assert len(path) == 3
    assert root_from_path(idx, len(log), leaf_hash(order_frame), path) == root
    head_f = [("head_origin", "peerwatt.example/market-1"), ("head_interval", 1899999),
              ("head_tree_size", len(log)), ("head_root", root.hex()),
              ("head_time_s", 1710000001)]
    head = frame("CHECKPOINT", EXCHANGE_SEED,
                 checkpoint_body("peerwatt.example/market-1", 1899999, len(log), root,
                                 1710000001))
    f = [("ref_hash", ref.hex()), ("ref_type", 1), ("ref_seq", 7), ("log_index", idx),
         ("n_hashes", len(path))] + [("hash", x.hex()) for x in path] + head_f
    vectors.append(("ack", "ACK", EXCHANGE_SEED, f, None,
                    ack_frame(ref, 1, 7, idx, path, head)))

    f = [("ref_hash", ref.hex()), ("ref_type", 1), ("ref_seq", 7), ("reason", 7),
         ("log_index", U64_MAX), ("time_s", 1710000002)]
    body = ref + u8(1) + u64(7) + u16(7) + u64(U64_MAX) + u64(1710000002)
    vectors.append(("reject", "REJECT", EXCHANGE_SEED, f, body))

    seller = public_key(bytes([0x51] * 32))
    buyer2 = public_key(bytes([0x52] * 32))
    trades = [(hh_pk, seller, 11, 4, 700), (buyer2, seller, 19, 4, 550)]
    f = [("interval", 1900000), ("price", 215000), ("volume_wh", 1250),
         ("n_trades_total", 2), ("part", 0), ("parts", 1), ("n_trades", 2)]
    body = (u64(1900000) + i32(215000) + u64(1250) + u32(2) + u16(0) + u16(1) + u16(2))
    for b_pk, s_pk, bs, ss, q in trades:
        f.append(("trade", "%s %s %d %d %d" % (b_pk.hex(), s_pk.hex(), bs, ss, q)))
        body += b_pk + s_pk + u64(bs) + u64(ss) + u32(q)
    assert len(body) == 30 + 84 * 2
    vectors.append(("result", "RESULT", EXCHANGE_SEED, f, body))

    st = [("household", hh_pk.hex()), ("interval", 1900000), ("flags", 2),
          ("price", 215000), ("bought_wh", 0), ("sold_wh", 1250), ("export_wh", 1100),
          ("import_wh", 4), ("shortfall_wh", 150), ("excess_wh", 0),
          ("extra_import_wh", 0), ("unused_wh", 0), ("peer_u", 268750),
          ("grid_u", -45000), ("fee_u", 1250), ("net_u", 222500),
          ("baseline_u", 88000), ("saving_u", 134500)]
    body = hh_pk + u64(1900000) + u32(2) + i32(215000)
    for key in ("bought_wh", "sold_wh", "export_wh", "import_wh", "shortfall_wh",
                "excess_wh", "extra_import_wh", "unused_wh"):
        body += u64(dict(st)[key])
    for key in ("peer_u", "grid_u", "fee_u", "net_u", "baseline_u", "saving_u"):
        body += i64(dict(st)[key])
    assert len(body) == 160
    vectors.append(("statement", "STATEMENT", EXCHANGE_SEED, st, body))

    # The seller of a negative clearing price (-15001 u/kWh, feed-in -50000,
    # retail 300000): it sold 800 Wh and exported 1000; docs/market.md
    # "Settlement" with amount(q, p) = floor((q * p + 500) / 1000):
    # peer = amount(800, -15001) = floor(-12000300 / 1000) = -12001 (truncation
    # would give -12000), grid = amount(200, -50000) = -10000, baseline =
    # amount(1000, -50000) = -50000.
    st = [("household", hh_pk.hex()), ("interval", 1900003), ("flags", 0),
          ("price", -15001), ("bought_wh", 0), ("sold_wh", 800), ("export_wh", 1000),
          ("import_wh", 0), ("shortfall_wh", 0), ("excess_wh", 200),
          ("extra_import_wh", 0), ("unused_wh", 0), ("peer_u", -12001),
          ("grid_u", -10000), ("fee_u", 0), ("net_u", -22001),
          ("baseline_u", -50000), ("saving_u", 27999)]
    assert (800 * -15001 + 500) // 1000 == -12001
    body = hh_pk + u64(1900003) + u32(0) + i32(-15001)
    for key in ("bought_wh", "sold_wh", "export_wh", "import_wh", "shortfall_wh",
                "excess_wh", "extra_import_wh", "unused_wh"):
        body += u64(dict(st)[key])
    for key in ("peer_u", "grid_u", "fee_u", "net_u", "baseline_u", "saving_u"):
        body += i64(dict(st)[key])
    assert len(body) == 160
    vectors.append(("statement_negative", "STATEMENT", EXCHANGE_SEED, st, body))

    root = h("peerwatt test vector root")
    f = [("origin", "peerwatt.example/market-1"), ("interval", 1900000),
         ("tree_size", 4242), ("root", root.hex()), ("time_s", 1710000900)]
    body = (text32("peerwatt.example/market-1") + u64(1900000) + u64(4242) + root +
            u64(1710000900))
    assert len(body) == 88
    vectors.append(("checkpoint", "CHECKPOINT", EXCHANGE_SEED, f, body))

    hashes = [h("proof hash %d" % i) for i in range(3)]
    f = [("nonce", 0xDEADBEEF01), ("kind", 1), ("a", 5), ("b", 9), ("n_hashes", 3)]
    body = u64(0xDEADBEEF01) + u8(1) + u64(5) + u64(9) + u8(3)
    for x in hashes:
        f.append(("hash", x.hex()))
        body += x
    assert len(body) == 26 + 32 * 3
    vectors.append(("proof", "PROOF", EXCHANGE_SEED, f, body))

    levels = [(1, 230000, 500), (1, 220000, 4294967296), (2, 200000, 800), (2, 210000, 1200)]
    f = [("interval", 1900001), ("n_levels", 4)]
    body = u64(1900001) + u8(4)
    for side, price, qty in levels:
        f.append(("level", "%d %d %d" % (side, price, qty)))
        body += u8(side) + i32(price) + u64(qty)
    assert len(body) == 9 + 13 * 4
    vectors.append(("depth", "DEPTH", EXCHANGE_SEED, f, body))

    f = [("time_ms", 1710000900123), ("period_ms", 2000), ("interval_s", 900),
         ("gate_s", 60), ("feedin_uper_kwh", 80000), ("retail_uper_kwh", 300000)]
    body = u64(1710000900123) + u32(2000) + u32(900) + u32(60) + i32(80000) + i32(300000)
    assert len(body) == 28
    vectors.append(("heartbeat", "HEARTBEAT", EXCHANGE_SEED, f, body))
    # a negative feed-in tariff: export is charged 0.05 per kWh
    f = [("time_ms", 1710000900124), ("period_ms", 2000), ("interval_s", 900),
         ("gate_s", 60), ("feedin_uper_kwh", -50000), ("retail_uper_kwh", 300000)]
    body = u64(1710000900124) + u32(2000) + u32(900) + u32(60) + i32(-50000) + i32(300000)
    vectors.append(("heartbeat_negative", "HEARTBEAT", EXCHANGE_SEED, f, body))
    # REGISTRY and REGISTRY_PROOF queries: a = 0, b = tree size (0: latest).
    # key: the household asked about (all zero: the author).
    vectors.append(("query_registry", "QUERY", HOUSEHOLD_SEED) +
                   query(0xDEADBEEF03, 7, 0, 0))
    vectors.append(("query_registry_proof", "QUERY", HOUSEHOLD_SEED) +
                   query(0xDEADBEEF04, 8, 0, 1000))
    vectors.append(("query_registry_key", "QUERY", HOUSEHOLD_SEED) +
                   query(0xDEADBEEF05, 7, 0, 1000, public_key(bytes([0x51] * 32))))
    # MARKET and MARKET_PROOF: a = interval, b = tree size (0: latest).
    vectors.append(("query_market", "QUERY", HOUSEHOLD_SEED) +
                   query(0xDEADBEEF06, 9, 1900000, 1000))
    vectors.append(("query_market_proof", "QUERY", HOUSEHOLD_SEED) +
                   query(0xDEADBEEF07, 10, 1900000, 0))

    # MARKET: rules from interval 1900004 on, two explicit fee pairs
    # (canonical: zone_a <= zone_b, pairs ascending).
    fees = [("north", "south", 20000), ("south", "west", 35000)]
    f = [("time_s", 1710000950), ("effective_interval", 1900004),
         ("name", "peerwatt.example/market-1"), ("currency", "EUR"),
         ("interval_s", 900), ("gate_s", 60), ("grace_s", 120), ("max_ahead_s", 86400),
         ("feedin_uper_kwh", 80000), ("retail_uper_kwh", 300000),
         ("fee_same_zone_uper_kwh", 10000), ("fee_default_uper_kwh", 50000),
         ("n_fees", len(fees))]
    body = (u64(1710000950) + u64(1900004) + text32("peerwatt.example/market-1") + b"EUR" +
            u32(900) + u32(60) + u32(120) + u32(86400) + i32(80000) + i32(300000) +
            u32(10000) + u32(50000) + u16(len(fees)))
    assert len(body) == 85
    for za, zb, fee in fees:
        f.append(("fee", "%s %s %d" % (za, zb, fee)))
        body += token32(za) + token32(zb) + u32(fee)
    assert len(body) == 85 + 68 * len(fees)
    vectors.append(("market", "MARKET", EXCHANGE_SEED, f, body))

    # MARKET with a negative feed-in tariff and no fee pairs; retail >= feed-in
    # is compared as signed numbers.
    f = [("time_s", 1710000960), ("effective_interval", 1900008),
         ("name", "peerwatt.example/market-1"), ("currency", "EUR"),
         ("interval_s", 900), ("gate_s", 60), ("grace_s", 120), ("max_ahead_s", 86400),
         ("feedin_uper_kwh", -50000), ("retail_uper_kwh", 300000),
         ("fee_same_zone_uper_kwh", 10000), ("fee_default_uper_kwh", 50000),
         ("n_fees", 0)]
    body = (u64(1710000960) + u64(1900008) + text32("peerwatt.example/market-1") + b"EUR" +
            u32(900) + u32(60) + u32(120) + u32(86400) + i32(-50000) + i32(300000) +
            u32(10000) + u32(50000) + u16(0))
    assert len(body) == 85
    vectors.append(("market_negative", "MARKET", EXCHANGE_SEED, f, body))

    f = [("time_s", 1710000951), ("household", hh_pk.hex()), ("id", "h-0017"),
         ("name", "Jansen.Family_2"), ("serial", "SN-2024 000417"), ("zone", "north"),
         ("max_export_w", 4600), ("max_import_w", 17250), ("revoked", 0)]
    body = (u64(1710000951) + hh_pk + token32("h-0017") + token32("Jansen.Family_2") +
            text32("SN-2024 000417") + token32("north") + u32(4600) + u32(17250) + u8(0))
    assert len(body) == 177
    vectors.append(("registry", "REGISTRY", EXCHANGE_SEED, f, body))

    # COSIGN: the household witnesses the checkpoint vector above (same
    # origin, tree_size, root and time_s).
    f = [("origin", "peerwatt.example/market-1"), ("tree_size", 4242), ("root", root.hex()),
         ("time_s", 1710000900)]
    body = text32("peerwatt.example/market-1") + u64(4242) + root + u64(1710000900)
    assert len(body) == 80
    vectors.append(("cosign", "COSIGN", HOUSEHOLD_SEED, f, body))
    # COSIGNED query: the checkpoint of size 4242 and its cosignatures.
    vectors.append(("query_cosigned", "QUERY", HOUSEHOLD_SEED) +
                   query(0xDEADBEEF0B, 11, 4242, 0))
    # SCHEDULE query: the rules governing interval 1900000 and after.
    vectors.append(("query_schedule", "QUERY", HOUSEHOLD_SEED) +
                   query(0xDEADBEEF0C, 12, 1900000, 0))

    # Edge cases an implementation gets wrong easily: a serial of exactly 32
    # characters (no NUL at all) and the second part of a split RESULT.
    serial = "ABCDEFGHIJKLMNOPQRSTUVWXYZ 01234"
    f = [("seq", 4), ("interval", 1900000), ("serial", serial),
         ("export_start_wh", 1000400), ("export_end_wh", 1000400),
         ("import_start_wh", 20000000012), ("import_end_wh", 20000000700),
         ("time_status", 2)]
    body = (u64(4) + u64(1900000) + text32(serial) + u64(1000400) + u64(1000400) +
            u64(20000000012) + u64(20000000700) + u8(2))
    assert len(body) == 81 and b"\0" not in body[16:48]
    vectors.append(("meter_serial32", "METER", HOUSEHOLD_SEED, f, body))

    f = [("interval", 1900002), ("price", 199999), ("volume_wh", 9000),
         ("n_trades_total", 8193), ("part", 1), ("parts", 2), ("n_trades", 1)]
    body = (u64(1900002) + i32(199999) + u64(9000) + u32(8193) + u16(1) + u16(2) + u16(1))
    f.append(("trade", "%s %s %d %d %d" % (buyer2.hex(), hh_pk.hex(), 2**64 - 1, 1, 1)))
    body += buyer2 + hh_pk + u64(2**64 - 1) + u64(1) + u32(1)
    vectors.append(("result_part", "RESULT", EXCHANGE_SEED, f, body))
    return vectors


def build_v1(v2):
    """Version-1 vectors for the stored-frame decoder: ORDER and MARKET
    (same layouts as version 2 so far, the "peerwatt/1/" tag) and the
    version-1 ACK (59-byte receipt body, its own signature).  Returns
    [(name, type_name, seed, fields, body, (frame, input, sig))]."""
    bodies = {v[0]: v for v in v2}
    out = []
    for name in ("order", "market"):
        _, type_name, seed, f, body = bodies[name][:5]
        out.append((name + "_v1", type_name, seed, f, body, frame(type_name, seed, body, 1)))
    order_frame, _, _ = frame("ORDER", HOUSEHOLD_SEED, bodies["order"][4], 1)
    ref = hashlib.sha256(order_frame).digest()
    f = [("ref_hash", ref.hex()), ("ref_type", 1), ("ref_seq", 7), ("reason", 0),
         ("log_index", 12345), ("time_s", 1710000001)]
    body = ref + u8(1) + u64(7) + u16(0) + u64(12345) + u64(1710000001)
    assert len(body) == 59
    out.append(("ack_v1", "ACK", EXCHANGE_SEED, f, body, frame("ACK", EXCHANGE_SEED, body, 1)))
    return out


def invalid_cases(bodies):
    """Frames a decoder must refuse, with the error of docs/protocol.md
    section 2.  Field cases are re-signed, so the field is the only fault."""
    cases = []

    def mutated(name, type_name, off, new, seed=None):
        seed = seed or (HOUSEHOLD_SEED if TYPES[type_name] < 16 else EXCHANGE_SEED)
        body = bytearray(bodies[name])
        body[off:off + len(new)] = new
        return frame(type_name, seed, bytes(body))[0]

    order = frame("ORDER", HOUSEHOLD_SEED, bodies["order"])[0]
    cases.append(("empty", "length", b""))
    cases.append(("one_byte", "length", b"\x01"))
    cases.append(("version_0", "version", b"\x00" + order[1:]))
    cases.append(("version_3", "version", b"\x03" + order[1:]))
    # a version-1 frame, properly signed under "peerwatt/1/": refused by
    # name on the network (only stored frames may be version 1)
    cases.append(("order_v1", "version", frame("ORDER", HOUSEHOLD_SEED, bodies["order"], 1)[0]))
    cases.append(("ack_v1", "version", frame("ACK", EXCHANGE_SEED, bodies["ack_v1"], 1)[0]))
    for t in (0, 6, 15, 26, 255):
        cases.append(("type_%d" % t, "type", order[:1] + bytes([t]) + order[2:]))
    cases.append(("order_header_only", "length", order[:34]))
    cases.append(("order_truncated", "length", order[:-1]))
    cases.append(("order_trailing_byte", "length", order + b"\0"))
    cases.append(("order_as_cancel", "length", order[:1] + b"\x02" + order[2:]))
    cases.append(("order_side_0", "field", mutated("order", "ORDER", 32, b"\0")))
    cases.append(("order_side_3", "field", mutated("order", "ORDER", 32, b"\3")))
    cases.append(("meter_time_status_3", "field", mutated("meter", "METER", 80, b"\3")))
    cases.append(("meter_serial_empty", "field", mutated("meter", "METER", 16, b"\0")))
    cases.append(("meter_serial_gap", "field", mutated("meter", "METER", 16 + 20, b"X")))
    cases.append(("meter_serial_del", "field", mutated("meter", "METER", 16 + 1, b"\x7f")))
    cases.append(("meter_serial_8bit", "field", mutated("meter", "METER", 16 + 1, b"\xe9")))
    cases.append(("query_kind_0", "field", mutated("query", "QUERY", 8, b"\0")))
    # a key with a kind that does not use it (every kind but 7 and 8)
    for kind in (1, 2, 3, 4, 5, 6, 9, 10, 11, 12):
        q = query(1, kind, 0, 0, b"\x01" + bytes(31))[1]
        cases.append(("query_kind_%d_with_key" % kind, "field",
                      frame("QUERY", HOUSEHOLD_SEED, q)[0]))
    cases.append(("query_registry_short", "length",
                  frame("QUERY", HOUSEHOLD_SEED, bodies["query_registry"][:25])[0]))
    cases.append(("query_registry_with_a", "field", mutated("query", "QUERY", 8, b"\7")))
    cases.append(("query_registry_proof_with_a", "field",
                  mutated("query", "QUERY", 8, b"\x08")))
    cases.append(("query_checkpoint_with_a", "field", mutated("query", "QUERY", 8, b"\4")))
    cases.append(("query_result_with_b", "field", mutated("query", "QUERY", 8, b"\5")))
    cases.append(("query_cosigned_with_b", "field", mutated("query", "QUERY", 8, b"\x0b")))
    cases.append(("query_schedule_with_b", "field", mutated("query", "QUERY", 8, b"\x0c")))
    cases.append(("query_kind_13", "field", mutated("query", "QUERY", 8, b"\x0d")))
    cases.append(("cosign_origin_empty", "field", mutated("cosign", "COSIGN", 0, b"\0")))
    cases.append(("cosign_origin_gap", "field", mutated("cosign", "COSIGN", 28, b"x")))
    cases.append(("cosign_tree_size_0", "field", mutated("cosign", "COSIGN", 32, u64(0))))
    cases.append(("cosign_truncated", "length",
                  frame("COSIGN", HOUSEHOLD_SEED, bodies["cosign"])[0][:-1]))
    cases.append(("cosign_as_query", "length",
                  frame("COSIGN", HOUSEHOLD_SEED, bodies["cosign"])[0][:1] + b"\x04" +
                  frame("COSIGN", HOUSEHOLD_SEED, bodies["cosign"])[0][2:]))
    cases += ack_cases()
    cases.append(("reject_reason_0", "field", mutated("reject", "REJECT", 41, u16(0))))
    cases.append(("reject_reason_29", "field", mutated("reject", "REJECT", 41, u16(29))))
    cases.append(("reject_with_log_index", "field", mutated("reject", "REJECT", 43, u64(5))))
    cases.append(("result_parts_0", "field", mutated("result", "RESULT", 26, u16(0))))
    cases.append(("result_part_eq_parts", "field", mutated("result", "RESULT", 24, u16(1))))
    cases.append(("result_total_below_count", "field",
                  mutated("result", "RESULT", 20, u32(1))))
    cases.append(("result_total_above_parts", "field",
                  mutated("result", "RESULT", 20, u32(8193))))
    cases.append(("result_count_8193", "field", mutated("result", "RESULT", 28, u16(8193))))
    cases.append(("result_count_short", "length", mutated("result", "RESULT", 28, u16(1))))
    cases.append(("statement_flag_4", "field",
                  mutated("statement", "STATEMENT", 40, u32(4))))
    cases.append(("statement_negative_fee", "field",
                  mutated("statement", "STATEMENT", 128, i64(-1))))
    cases.append(("checkpoint_origin_empty", "field",
                  mutated("checkpoint", "CHECKPOINT", 0, b"\0")))
    cases.append(("checkpoint_origin_tab", "field",
                  mutated("checkpoint", "CHECKPOINT", 0, b"\t")))
    cases.append(("proof_kind_3", "field", mutated("proof", "PROOF", 8, b"\3")))
    cases.append(("proof_65_hashes", "field", mutated("proof", "PROOF", 25, bytes([65]))))
    cases.append(("proof_count_long", "length", mutated("proof", "PROOF", 25, b"\4")))
    cases.append(("depth_65_levels", "field", mutated("depth", "DEPTH", 8, bytes([65]))))
    cases.append(("depth_side_0", "field", mutated("depth", "DEPTH", 9 + 13, b"\0")))
    cases.append(("depth_side_3", "field", mutated("depth", "DEPTH", 9, b"\3")))
    cases.append(("heartbeat_period_0", "field",
                  mutated("heartbeat", "HEARTBEAT", 8, bytes(4))))
    cases.append(("heartbeat_interval_0", "field",
                  mutated("heartbeat", "HEARTBEAT", 12, bytes(4))))
    # MARKET: body offsets of docs/protocol.md; fee i starts at 85 + 68 * i.
    cases.append(("market_65_fees", "field", mutated("market", "MARKET", 83, u16(65))))
    cases.append(("market_count_short", "length", mutated("market", "MARKET", 83, u16(1))))
    cases.append(("market_name_empty", "field", mutated("market", "MARKET", 16, b"\0")))
    cases.append(("market_name_32", "field", mutated("market", "MARKET", 16, b"x" * 32)))
    cases.append(("market_currency_lower", "field", mutated("market", "MARKET", 48, b"eur")))
    cases.append(("market_currency_nul", "field", mutated("market", "MARKET", 50, b"\0")))
    cases.append(("market_interval_0", "field", mutated("market", "MARKET", 51, u32(0))))
    cases.append(("market_gate_eq_interval", "field",
                  mutated("market", "MARKET", 55, u32(900))))
    cases.append(("market_retail_below_feedin", "field",
                  mutated("market", "MARKET", 71, i32(79999))))
    # i32, not u32: ff ff ff ff is a retail tariff of -1, below the feed-in
    cases.append(("market_retail_minus_1", "field",
                  mutated("market", "MARKET", 71, i32(-1))))
    cases.append(("market_negative_retail_below_feedin", "field",
                  mutated("market_negative", "MARKET", 71, i32(-50001))))
    cases.append(("market_fee_zone_blank", "field",
                  mutated("market", "MARKET", 85 + 2, b" ")))
    cases.append(("market_fee_zone_empty", "field",
                  mutated("market", "MARKET", 85 + 32, b"\0")))
    cases.append(("market_fee_zone_32", "field",
                  mutated("market", "MARKET", 85 + 32, b"s" * 32)))
    cases.append(("market_fee_pair_reversed", "field",
                  mutated("market", "MARKET", 85, token32("zz") + token32("north"))))
    cases.append(("market_fee_pair_twice", "field",
                  mutated("market", "MARKET", 85 + 68, token32("north") + token32("south"))))
    cases.append(("market_fees_unsorted", "field",
                  mutated("market", "MARKET", 85 + 68, token32("east") + token32("west"))))
    # REGISTRY
    cases.append(("registry_revoked_2", "field", mutated("registry", "REGISTRY", 176, b"\2")))
    cases.append(("registry_id_empty", "field", mutated("registry", "REGISTRY", 40, b"\0")))
    cases.append(("registry_id_slash", "field", mutated("registry", "REGISTRY", 41, b"/")))
    cases.append(("registry_name_32", "field",
                  mutated("registry", "REGISTRY", 72, b"N" * 32)))
    cases.append(("registry_serial_empty", "field",
                  mutated("registry", "REGISTRY", 104, b"\0")))
    cases.append(("registry_zone_gap", "field",
                  mutated("registry", "REGISTRY", 136 + 10, b"x")))
    cases.append(("registry_truncated", "length",
                  frame("REGISTRY", EXCHANGE_SEED, bodies["registry"])[0][:-1]))
    # Signature faults: every field valid, the signature wrong.
    sig_flip = bytearray(order)
    sig_flip[-1] ^= 0x01
    cases.append(("order_signature_flipped", "badsig", bytes(sig_flip)))
    body_flip = bytearray(order)
    body_flip[40] ^= 0x01  # seq
    cases.append(("order_seq_changed", "badsig", bytes(body_flip)))
    pk = public_key(HOUSEHOLD_SEED)
    unsigned = u8(VERSION) + u8(TYPES["ORDER"]) + pk + bodies["order"]
    for label, msg in (
            ("order_other_market", signing_input("ORDER", MARKET_ID + 1, unsigned)),
            ("order_signed_as_cancel", signing_input("CANCEL", MARKET_ID, unsigned)),
            ("order_no_prefix", unsigned)):
        cases.append((label, "badsig", unsigned + sign(HOUSEHOLD_SEED, msg)))
    return cases


def ack_cases():
    """ACKs a receiver must refuse, each built whole (its head signed), so
    that the named fault is the only one."""
    order_frame, _, _ = frame("ORDER", HOUSEHOLD_SEED, build()[0][4])
    ref = hashlib.sha256(order_frame).digest()
    log, idx = ack_log(order_frame)
    path = inclusion_path(idx, log)
    other_seed = bytes([0x51] * 32)

    def head(size=7, version=VERSION, type_name="CHECKPOINT", seed=EXCHANGE_SEED,
             origin="peerwatt.example/market-1"):
        body = text32(origin) if origin else bytes(32)
        body += u64(1899999) + u64(size) + mth(log[:size]) + u64(1710000001)
        return frame(type_name, seed, body, version)

    def ack(log_index=idx, p=None, h=None, **kw):
        return ack_frame(ref, 1, 7, log_index, path if p is None else p, h or head(), **kw)[0]

    good = ack()
    cases = []
    # n_hashes must be the RFC 6962 path length for (log_index, tree_size)
    cases.append(("ack_path_too_long", "field", ack(p=path + [path[0]])))
    cases.append(("ack_path_too_short", "field", ack(p=path[:-1])))
    cases.append(("ack_path_of_another_size", "field", ack(h=head(size=6))))
    cases.append(("ack_count_65", "field", ack(count=65)))
    cases.append(("ack_count_short", "length", ack(count=2)))
    cases.append(("ack_count_long", "length", ack(count=4)))
    cases.append(("ack_index_at_size", "field", ack(log_index=7)))
    cases.append(("ack_index_max", "field", ack(log_index=U64_MAX)))
    # the head: a version-2 CHECKPOINT by the ACK's author
    cases.append(("ack_head_version_1", "field", ack(h=head(version=1))))
    cases.append(("ack_head_not_checkpoint", "field",
                  ack(h=head(type_name="HEARTBEAT"))))
    cases.append(("ack_head_origin_empty", "field", ack(h=head(origin=None))))
    cases.append(("ack_head_by_another_key", "field",
                  ack(h=head(seed=other_seed), author=public_key(EXCHANGE_SEED))))
    cases.append(("ack_other_author", "field", ack(author=public_key(other_seed))))
    cases.append(("ack_truncated", "length", good[:-1]))
    cases.append(("ack_trailing_byte", "length", good + b"\0"))
    # the head's signature is the ACK's
    flip = bytearray(good)
    flip[-1] ^= 0x01
    cases.append(("ack_head_signature_flipped", "badsig", bytes(flip)))
    flip = bytearray(good)
    flip[-186 + 34 + 48 + 5] ^= 0x01  # a byte of the head's root
    cases.append(("ack_head_root_changed", "badsig", bytes(flip)))
    # signed in another market
    hb = text32("peerwatt.example/market-1") + u64(1899999) + u64(7) + mth(log) + \
        u64(1710000001)
    unsigned = u8(VERSION) + u8(TYPES["CHECKPOINT"]) + public_key(EXCHANGE_SEED) + hb
    wrong = unsigned + sign(EXCHANGE_SEED, signing_input("CHECKPOINT", MARKET_ID + 1, unsigned))
    cases.append(("ack_head_other_market", "badsig", ack(h=(wrong, None, None))))
    return cases


def main():
    _self_test()
    here = os.path.dirname(os.path.abspath(__file__))
    corpus = os.path.join(here, "..", "fuzz", "corpus", "fuzz_wire")
    os.makedirs(corpus, exist_ok=True)
    vectors = build()
    vectors += build_v1(vectors)
    for v in vectors:
        name, type_name, seed, fields, body = v[:5]
        enc, msg, sig = v[5] if len(v) > 5 else frame(type_name, seed, body)
        version = enc[0]
        lines = [
            "# peerwatt wire test vector: %s version %d (docs/protocol.md)" % (type_name,
                                                                             version),
            "# generated by tests/vectors/gen.py; do not edit",
            "type: %s" % type_name,
            "version: %d" % version,
            "market_id: %d" % MARKET_ID,
            "seed: %s" % seed.hex(),
            "author: %s" % public_key(seed).hex(),
        ]
        lines += ["%s: %s" % (k, v) for k, v in fields]
        lines += [
            "signing_input: %s" % msg.hex(),
            "encoded: %s" % enc.hex(),
            "signature: %s" % sig.hex(),
        ]
        path = os.path.join(here, name + ".vec")
        with open(path, "w", encoding="ascii") as out:
            out.write("\n".join(lines) + "\n")
        print("wrote %s (%d bytes frame)" % (os.path.relpath(path), len(enc)))
        # The fuzz_wire seed corpus: the same frames, raw.
        with open(os.path.join(corpus, name + ".bin"), "wb") as out:
            out.write(enc)
    bodies = {v[0]: v[4] for v in vectors}
    path = os.path.join(here, "invalid.txt")
    with open(path, "w", encoding="ascii") as out:
        out.write("# peerwatt wire: frames a decoder must refuse (docs/protocol.md section 8)\n")
        out.write("# generated by tests/vectors/gen.py; do not edit\n")
        out.write("# NAME ERROR HEX   (ERROR: length version type field badsig; - = empty)\n")
        out.write("# the first line gives the market the frames are checked in\n")
        out.write("market_id %d\n" % MARKET_ID)
        for label, err, data in invalid_cases(bodies):
            out.write("%s %s %s\n" % (label, err, data.hex() or "-"))
    print("wrote %s" % os.path.relpath(path))
    return 0


if __name__ == "__main__":
    sys.exit(main())
