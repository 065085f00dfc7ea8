#!/usr/bin/env python3
"""Check an agent's receipts independently of the C code (docs/protocol.md).

    python3 tests/vectors/verify_ack.py AGENT_DB MARKET_ID EXCHANGE_PK_HEX [EXCHANGE_DB]

Reads every protocol-2 ACK the agent kept (table receipts) with the request
frame it answers (table outbox), and checks each from the byte layout and
the rules of docs/protocol.md section 5 "ACK" and "Checking a receipt":
the frame's length, the head (a version-2 CHECKPOINT by the exchange key,
its Ed25519 signature under "peerwatt/2/CHECKPOINT" and the market id,
verified with the RFC 8032 code of gen.py), ref_hash / ref_type / ref_seq
against the request, the path length for (log_index, tree_size) and the
RFC 9162 2.1.3.2 walk from the request's leaf to the head's root.  With the
exchange's database it also recomputes, from the log's frames, the root of
the first tree_size entries of every head (RFC 6962 MTH) and checks that
the log holds the request at log_index.  Python standard library only.

Prints "ok N receipts" and exits 0, or names the first receipt that fails
and exits 1.
"""

import hashlib
import os
import sqlite3
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen  # noqa: E402  (the RFC 8032 and RFC 6962 code of the vector generator)

HEAD_LEN = 186  # a CHECKPOINT frame: 34 header + 88 body + 64 signature


def path_len(m, n):
    count = 0
    while n > 1:
        k = 1
        while k * 2 < n:
            k *= 2
        if m < k:
            n = k
        else:
            m, n = m - k, n - k
        count += 1
    return count


def root_from_path(index, size, leaf, path):
    """RFC 9162 2.1.3.2, as docs/protocol.md spells it."""
    if index >= size:
        return None
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            r = hashlib.sha256(b"\x01" + p + r).digest()
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = hashlib.sha256(b"\x01" + r + p).digest()
        fn >>= 1
        sn >>= 1
    return r if sn == 0 else None


def request_seq(req):
    body = req[34:]
    if req[1] in (1, 2, 3):  # ORDER, CANCEL, METER: seq first
        return struct.unpack(">Q", body[:8])[0]
    if req[1] == 5:  # COSIGN: its tree_size
        return struct.unpack(">Q", body[32:40])[0]
    return 0


def check(ack, req, market_id, exchange_pk):
    """None when the receipt holds, else why not."""
    if len(ack) < 270 or ack[0] != 2 or ack[1] != 16:
        return "not a version-2 ACK"
    n = ack[34 + 49]
    if n > 64 or len(ack) != 270 + 32 * n:
        return "length %d with %d hashes" % (len(ack), n)
    author = ack[2:34]
    ref_hash = ack[34:66]
    ref_type = ack[66]
    ref_seq, log_index = struct.unpack(">QQ", ack[67:83])
    path = [ack[84 + 32 * i:116 + 32 * i] for i in range(n)]
    head = ack[-HEAD_LEN:]
    if head[0] != 2 or head[1] != 20 or head[2:34] != author:
        return "the head is not a version-2 CHECKPOINT by the ACK's author"
    if author != exchange_pk:
        return "not by the exchange key"
    tree_size = struct.unpack(">Q", head[34 + 40:34 + 48])[0]
    root = head[34 + 48:34 + 80]
    msg = b"peerwatt/2/CHECKPOINT\0" + struct.pack(">Q", market_id) + head[:-64]
    if not gen.verify(author, msg, head[-64:]):
        return "the head's signature does not verify"
    if log_index >= tree_size or n != path_len(log_index, tree_size):
        return "index %d, %d hashes: not a path of a tree of %d" % (log_index, n, tree_size)
    if hashlib.sha256(req).digest() != ref_hash or req[1] != ref_type or \
            request_seq(req) != ref_seq:
        return "answers another request"
    if root_from_path(log_index, tree_size, gen.leaf_hash(req), path) != root:
        return "the path does not lead to the head's root"
    return None


def main():
    if len(sys.argv) not in (4, 5):
        sys.stderr.write(__doc__)
        return 64
    agent = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
    market_id = int(sys.argv[2])
    exchange_pk = bytes.fromhex(sys.argv[3])
    log = None
    if len(sys.argv) == 5:
        ex = sqlite3.connect("file:%s?mode=ro" % sys.argv[4], uri=True)
        log = [bytes(f) for (f,) in ex.execute("SELECT frame FROM log ORDER BY idx")]
        roots = {}
    rows = agent.execute(
        "SELECT o.stream, o.seq, o.frame, r.frame FROM outbox o JOIN receipts r"
        " ON r.stream = o.stream AND r.seq = o.seq").fetchall()
    count = 0
    for stream, seq, req, ack in rows:
        req, ack = bytes(req), bytes(ack)
        if len(ack) < 2 or ack[0] != 2 or ack[1] != 16:
            continue  # a REJECT, or a version-1 ACK (no receipt to check)
        why = check(ack, req, market_id, exchange_pk)
        if why is None and log is not None:
            head = ack[-HEAD_LEN:]
            size = struct.unpack(">Q", head[74:82])[0]
            index = struct.unpack(">Q", ack[75:83])[0]
            if size > len(log):
                why = "its head covers %d entries, the log holds %d" % (size, len(log))
            else:
                if size not in roots:
                    roots[size] = gen.mth(log[:size])
                if roots[size] != head[82:114]:
                    why = "its head's root is not the root of the log's first %d entries" % size
                elif log[index] != req:
                    why = "the log does not hold the request at index %d" % index
        if why is not None:
            print("FAILED stream %d seq %d: %s" % (stream, seq, why))
            return 1
        count += 1
    print("ok %d receipts" % count)
    return 0


if __name__ == "__main__":
    sys.exit(main())
