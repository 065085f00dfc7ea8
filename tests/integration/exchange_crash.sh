#!/usr/bin/env bash
# exchange_crash.sh: kill -9 of peerwatt-exchange during load loses no
# acknowledged order: pw-loadgen records every ACK (key, seq, log index);
# after the crash every one of them is in the database with that log index,
# the log has no gap, the exchange restarts on the same database, refuses the
# old sequence numbers (replay) and accepts new ones.
set -u
. "$(dirname "$0")/lib.sh"
B=$BUILD
T=$PW_TMP
N=8

"$B/peerwatt-exchange" keygen --out "$T/ex.key" >"$T/ex.pk" || exit 1
"$B/pw-loadgen" init "$T/hh" $N >/dev/null || exit 1
P1=$(free_port)
P2=$(free_port)
exchange_conf "$T/x.conf" crash 5 "$P1" "$P2" "$T/hh/households" "$T/x.db" "$T/ex.key"
LG=("$B/pw-loadgen" run -e "tcp://127.0.0.1:$P1" -s "$(cat "$T/ex.pk")" -m 5 -d "$T/hh" -n $N)

"$B/peerwatt-exchange" -c "$T/x.conf" 2>"$T/exchange.log" &
XPID=$!
PW_PIDS+=("$XPID")
wait_port "$P1" 30 || { not_ok "exchange listens"; exit 1; }

# a steady load for up to 60 s; the exchange is killed while it runs
"${LG[@]}" -c 200000 -r 2000 -T 60 -i 3000 -o "$T/acked" >"$T/lg1.out" 2>&1 &
LGPID=$!
PW_PIDS+=("$LGPID")
WAIT_SECONDS=60 wait_for bash -c "[ \$(wc -l <'$T/acked' 2>/dev/null || echo 0) -ge 500 ]"
kill -KILL "$XPID"
wait "$XPID" 2>/dev/null
wait "$LGPID"
acked=$(wc -l <"$T/acked")
check "load was acknowledged before the crash ($acked ACKs)" test "$acked" -ge 500

# every ACK is in the database, with the log index the ACK named
sqlite3 "$T/x.db" <<SQL >"$T/missing" 2>&1
CREATE TEMP TABLE acked(pk TEXT, seq INTEGER, idx INTEGER);
.separator " "
.import $T/acked acked
SELECT COUNT(*) FROM acked a LEFT JOIN orders o
  ON o.pk = unhex(a.pk) AND o.seq = a.seq AND o.log_idx = a.idx
  WHERE o.log_idx IS NULL;
SQL
if ! grep -q "no such function: unhex" "$T/missing"; then
	check "no acknowledged order lost (missing: $(tail -1 "$T/missing"))" test "$(tail -1 "$T/missing")" = 0
else
	# sqlite3 < 3.41 has no unhex(): compare in hex
	sqlite3 "$T/x.db" <<SQL >"$T/missing" 2>&1
CREATE TEMP TABLE acked(pk TEXT, seq INTEGER, idx INTEGER);
.separator " "
.import $T/acked acked
SELECT COUNT(*) FROM acked a LEFT JOIN orders o
  ON lower(hex(o.pk)) = a.pk AND o.seq = a.seq AND o.log_idx = a.idx
  WHERE o.log_idx IS NULL;
SQL
	check "no acknowledged order lost (missing: $(tail -1 "$T/missing"))" test "$(tail -1 "$T/missing")" = 0
fi
check "the log has no gap" test "$(sqlite3 "$T/x.db" 'SELECT MAX(idx) + 1 - COUNT(*) FROM log')" = 0
check "every stored order is a log entry" test \
	"$(sqlite3 "$T/x.db" 'SELECT COUNT(*) FROM orders o JOIN log l ON l.idx = o.log_idx AND l.type = 1')" = \
	"$(sqlite3 "$T/x.db" 'SELECT COUNT(*) FROM orders')"
# the stored interior nodes (docs/audit.md, log_nodes) committed with their
# leaves: exactly the perfect subtrees of the surviving log, each the hash of
# its children, recomputed here from the leaf column; each stored under the
# leaf that completes it (node (level, i) under leaf (i + 1) * 2^level - 1)
sqlite3 "$T/x.db" "SELECT 0, idx, hex(leaf) FROM log UNION ALL
	SELECT level, ((leaf + 1) >> level) - 1, hex(hash) FROM log_nodes
	UNION ALL SELECT -1, count(*), '00' FROM log_nodes WHERE (leaf + 1) % (1 << level) != 0" >"$T/nodes"
check "log_nodes holds exactly the log's perfect subtrees after kill -9" python3 - "$T/nodes" <<'PY'
import hashlib, sys
rows = {}
for line in open(sys.argv[1]):
    level, idx, h = line.strip().split("|")
    if int(level) < 0:
        assert int(idx) == 0, "%s nodes under a leaf that does not complete them" % idx
        continue
    rows[(int(level), int(idx))] = bytes.fromhex(h)
n = sum(1 for k in rows if k[0] == 0)
want, level = {}, 1
while n >> level:
    for i in range(n >> level):
        want[(level, i)] = hashlib.sha256(b"\1" + (rows if level == 1 else want)[(level - 1, 2 * i)]
                                          + (rows if level == 1 else want)[(level - 1, 2 * i + 1)]).digest()
    level += 1
got = {k: v for k, v in rows.items() if k[0] > 0}
assert got == want, (len(got), len(want))
print(n, "leaves,", len(got), "nodes")
PY

# restart on the same database
"$B/peerwatt-exchange" -c "$T/x.conf" 2>"$T/exchange2.log" &
XPID=$!
PW_PIDS+=("$XPID")
wait_port "$P1" 30 || { not_ok "exchange restarts"; exit 1; }
# the sockets are bound before the start's last line is written (CI,
# sanitizers: the port was open and the line not yet there)
WAIT_SECONDS=30 wait_for grep -q "log size [1-9]" "$T/exchange2.log"
check "the restarted exchange reloaded the log" grep -q "log size [1-9]" "$T/exchange2.log"
check "... and kept its node table (no rebuild)" sh -c "! grep -q 'node table' '$T/exchange2.log'"
# the open quantity per household and per price level lives in memory and is
# rebuilt from the open orders at start: it matches the orders table
book_sql() { # the line "stats: book:" would show for the database, from SQL
	sqlite3 "$T/x.db" "SELECT (SELECT count(*) FROM (SELECT 1 FROM orders WHERE status = 0
		GROUP BY pk, interval, side)) || ' household entries ' ||
		(SELECT coalesce(sum(qty_wh), 0) FROM orders WHERE status = 0) || ' Wh, ' ||
		(SELECT count(*) FROM (SELECT 1 FROM orders WHERE status = 0
		GROUP BY interval, side, price_uper_kwh)) || ' price levels ' ||
		(SELECT coalesce(sum(qty_wh), 0) FROM orders WHERE status = 0) || ' Wh'"
}
book_line() { # the N-th "stats: book:" line of log $1, without its digest
	grep "stats: book:" "$1" | sed -n "$2{s/.*stats: book: //;s/, digest .*//;p}"
}
wait_for grep -q "stats: book:" "$T/exchange2.log"
rebuilt=$(book_line "$T/exchange2.log" 1)
check "the book rebuilt after kill -9 is the open orders' ($rebuilt)" \
	test -n "$rebuilt" -a "$rebuilt" = "$(book_sql)"
# an acknowledged sequence is a replay now
read -r pk seq idx < <(tail -1 "$T/acked")
for i in $(seq 0 $((N - 1))); do
	[ "$("$B/pw-client" pubkey "$T/hh/hh-$i.key")" = "$pk" ] && key="$T/hh/hh-$i.key"
done
got=$("$B/pw-client" -e "tcp://127.0.0.1:$P1" -s "$(cat "$T/ex.pk")" -m 5 -k "$key" -t 20000 \
	order "$seq" +3 sell 1 100000 +600 2>&1)
check "an acknowledged sequence is refused after restart (got '$got')" test "$got" = "REJECT replay"
"${LG[@]}" -c 400 -T 60 -o "$T/acked2" >"$T/lg2.out" 2>&1
check "new orders are acknowledged after restart" grep -q "acked 400 rejected 0" "$T/lg2.out"
first2=$(head -1 "$T/acked2" | cut -d' ' -f3)
check "log indexes continue after the crash" test "$first2" -ge "$idx"

# an order and its cancel leave an empty entry in the running book that a
# rebuild does not have: the summary counts open quantity only (pw-loadgen's
# sequences are the time in microseconds: these are later)
s1=$(($(date +%s) * 1000000 + 10000000000))
got=$("$B/pw-client" -e "tcp://127.0.0.1:$P1" -s "$(cat "$T/ex.pk")" -m 5 -k "$key" -t 20000 \
	order $s1 +3 sell 7 123457 +600 2>&1)
check "an order of another interval is acknowledged (got '$got')" grep -q "^ACK" <<<"$got"
got=$("$B/pw-client" -e "tcp://127.0.0.1:$P1" -s "$(cat "$T/ex.pk")" -m 5 -k "$key" -t 20000 \
	cancel $((s1 + 1)) +3 $s1 2>&1)
check "... and its cancel (got '$got')" grep -q "^ACK" <<<"$got"
got=$("$B/pw-client" -e "tcp://127.0.0.1:$P1" -s "$(cat "$T/ex.pk")" -m 5 -k "$key" -t 20000 \
	order $((s1 + 2)) +3 sell 9 123458 +600 2>&1)
check "... and one more order, left open (got '$got')" grep -q "^ACK" <<<"$got"
# the running book (SIGUSR1) against the one a restart after kill -9 rebuilds
kill -USR1 "$XPID"
WAIT_SECONDS=20 wait_for bash -c "[ \$(grep -c 'stats: book:' '$T/exchange2.log') -ge 2 ]"
running=$(grep "stats: book:" "$T/exchange2.log" | sed -n '2s/.*stats: book: //p')
kill -KILL "$XPID"
wait "$XPID" 2>/dev/null
"$B/peerwatt-exchange" -c "$T/x.conf" 2>"$T/exchange3.log" &
XPID=$!
PW_PIDS+=("$XPID")
wait_port "$P1" 30 || { not_ok "exchange restarts a second time"; exit 1; }
wait_for grep -q "stats: book:" "$T/exchange3.log"
again=$(grep "stats: book:" "$T/exchange3.log" | sed -n '1s/.*stats: book: //p')
check "kill -9 and a restart rebuild the running book exactly (${running%%, digest*})" \
	test -n "$running" -a "$running" = "$again"
check "... which is the open orders' (the cancelled one not counted)" \
	test "$(book_line "$T/exchange3.log" 1)" = "$(book_sql)"
# the open orders by (key, seq) are rebuilt too: a CANCEL finds its target
got=$("$B/pw-client" -e "tcp://127.0.0.1:$P1" -s "$(cat "$T/ex.pk")" -m 5 -k "$key" -t 20000 \
	cancel $((s1 + 3)) +3 $((s1 + 2)) 2>&1)
check "an order left open before kill -9 is cancelled after the restart (got '$got')" \
	grep -q "^ACK" <<<"$got"
got=$("$B/pw-client" -e "tcp://127.0.0.1:$P1" -s "$(cat "$T/ex.pk")" -m 5 -k "$key" -t 20000 \
	cancel $((s1 + 4)) +3 $s1 2>&1)
check "... and the one cancelled before is unknown (got '$got')" test "$got" = "REJECT unknown_order"
got=$("$B/pw-client" -e "tcp://127.0.0.1:$P1" -s "$(cat "$T/ex.pk")" -m 5 -k "$key" -t 20000 \
	order $((s1 + 3)) +3 sell 1 123459 +600 2>&1)
check "... and the sequence of a CANCEL is a replay after the restart (got '$got')" \
	test "$got" = "REJECT replay"
stop_pid "$XPID"
"$B/peerwatt-audit" verify "$T/x.db" >"$T/audit.out" 2>&1
check "peerwatt-audit verifies the database after the crash ($(grep verdict "$T/audit.out"))" \
	grep -q "verdict *OK" "$T/audit.out"
finish
