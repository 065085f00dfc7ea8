#!/usr/bin/env python3
"""Rewrite one entry of an exchange's log as an operator holding the
exchange key could, for tests/integration/receipts_rewrite.sh.

    python3 tests/vectors/forge_log.py EXCHANGE_DB EXCHANGE_KEY MARKET_ID INDEX SIGNER_KEY

Entry INDEX (a METER reading) gets its time_status flipped between 0
(synced) and 1 (unsynced), which no settlement figure depends on, re-signed with
SIGNER_KEY (the test hands it the household's key: the point is a changed
entry, whoever could sign it); its leaf is recomputed, table log_nodes
emptied (the exchange rebuilds it at start) and every stored CHECKPOINT
re-signed with the exchange key over the root of the changed log, so that
the database is consistent with itself.  Written from docs/protocol.md and
docs/audit.md with gen.py's RFC 8032 and RFC 6962 code.  Prints "rewrote
entry INDEX, N checkpoints re-signed".
"""

import os
import sqlite3
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen  # noqa: E402


def seed_of(path):
    text = open(path, encoding="ascii").read().split()
    assert text[0] == "peerwatt-secret-key-v1", path
    return bytes.fromhex(text[1])


def resign(frame, type_name, seed, market_id):
    unsigned = frame[:-64]
    msg = b"peerwatt/2/" + type_name + b"\0" + struct.pack(">Q", market_id) + unsigned
    return unsigned + gen.sign(seed, msg)


def main():
    db_path, ex_key, market_id, index, signer = sys.argv[1:6]
    market_id, index = int(market_id), int(index)
    ex_seed, signer_seed = seed_of(ex_key), seed_of(signer)
    db = sqlite3.connect(db_path)
    frames = [bytes(f) for (f,) in db.execute("SELECT frame FROM log ORDER BY idx")]
    f = bytearray(frames[index])
    assert f[0] == 2 and f[1] == 3, "entry %d is not a version-2 METER" % index
    at = 34 + 80  # time_status
    f[at] = 1 if f[at] == 0 else 0
    frames[index] = resign(bytes(f), b"METER", signer_seed, market_id)
    db.execute("UPDATE log SET frame = ?, leaf = ? WHERE idx = ?",
               (frames[index], gen.leaf_hash(frames[index]), index))
    db.execute("DELETE FROM log_nodes")
    n = 0
    for size, cp in db.execute("SELECT tree_size, frame FROM checkpoints").fetchall():
        cp = bytearray(cp)
        cp[34 + 48:34 + 80] = gen.mth(frames[:size])
        db.execute("UPDATE checkpoints SET frame = ? WHERE tree_size = ?",
                   (resign(bytes(cp), b"CHECKPOINT", ex_seed, market_id), size))
        n += 1
    db.commit()
    print("rewrote entry %d, %d checkpoints re-signed" % (index, n))
    return 0


if __name__ == "__main__":
    sys.exit(main())
