#!/usr/bin/env bash
# exchange.sh: peerwatt-exchange over real ZeroMQ + CURVE on loopback:
# every rejection reason of issue 4 (and the METER ones of issue 5), each
# followed by honest households still being served; a trade cleared at the
# gate, published and queryable; meter readings settled into signed
# statements; a checkpoint; SIGHUP revocation; counts in table stats.
set -u
. "$(dirname "$0")/lib.sh"
B=$BUILD
L=4
T=$PW_TMP

"$B/peerwatt-exchange" keygen --out "$T/ex.key" >"$T/ex.pk" || exit 1
for h in a b c u; do "$B/pw-client" keygen "$T/$h.key" >"$T/$h.pk" || exit 1; done
# capacity: 3600000 W x 4 s = 4000 Wh per interval
{
	echo "a alice $(cat "$T/a.pk") SER-A north 3600000 3600000"
	echo "b bob $(cat "$T/b.pk") SER-B south 3600000 3600000"
	echo "c carol $(cat "$T/c.pk") SER-C north 3600000 3600000"
} >"$T/households"
P1=$(free_port)
P2=$(free_port)
exchange_conf "$T/x.conf" it-market 42 "$P1" "$P2" "$T/households" "$T/x.db" "$T/ex.key"
cat >>"$T/x.conf" <<CONF
[market]
interval_s = $L
gate_s = 1
grace_s = 8
[fees]
same_zone = 0.01
default = 0.02
[network]
rate_per_s = 50
rate_burst = 20
[log]
level = debug
CONF

check "--check-config accepts the configuration" "$B/peerwatt-exchange" -c "$T/x.conf" --check-config
printf '[market]\nname = x\nbogus = 1\n' >"$T/bad.conf"
"$B/peerwatt-exchange" -c "$T/bad.conf" --check-config 2>"$T/bad.err"
rc=$?
check "a bad config exits 78 with file:line" test "$rc" = 78 -a -n "$(grep "bad.conf:3:" "$T/bad.err")"
"$B/peerwatt-exchange" --bogus 2>/dev/null
check "an unknown argument exits 64" test $? = 64
check "--print-public-key prints the key" test "$("$B/peerwatt-exchange" -c "$T/x.conf" --print-public-key)" = "$(cat "$T/ex.pk")"

"$B/peerwatt-exchange" -c "$T/x.conf" 2>"$T/exchange.log" &
XPID=$!
PW_PIDS+=("$XPID")
wait_port "$P1" 30 || { not_ok "exchange listens"; exit 1; }

C=("$B/pw-client" -e "tcp://127.0.0.1:$P1" -s "$(cat "$T/ex.pk")" -m 42 -L $L -t 20000)
# expect NAME WANT ARGS...: run the client, compare its output
expect() {
	local name=$1 want=$2 got
	shift 2
	got=$("${C[@]}" "$@" 2>&1 | tr '\n' ' ' | sed 's/ $//')
	if [ "$got" = "$want" ]; then ok "$name"; else not_ok "$name (got '$got', want '$want')"; fi
}
# an honest request right after each bad one must still be ACKed
seq_a=0
# poll the clock until Unix time $1
wait_until() { WAIT_SECONDS=60 wait_for bash -c "[ \$(date +%s) -ge $1 ]"; }
ack_like() { case $1 in ACK\ *) return 0 ;; esac; return 1; }
expect_ack() {
	local name=$1 got
	shift
	got=$("${C[@]}" "$@" 2>&1)
	if ack_like "$got"; then ok "$name"; else not_ok "$name (got '$got')"; fi
}
honest() {
	seq_a=$((seq_a + 1))
	expect_ack "honest household served after: $1" -k "$T/a.key" order "$seq_a" +5 sell 10 100000 +600
}

# Y: a fixed interval far enough ahead for the whole rejection phase
Y=$(($(date +%s) / L + 10))
honest "start"
expect "bad signature" "REJECT bad_signature" -k "$T/b.key" -x sig order 1 "$Y" buy 10 200000 +600
honest "bad signature"
expect "unknown key (unregistered author on a registered connection)" "REJECT unknown_key" \
	-k "$T/b.key" -a "$T/u.key" order 1 "$Y" buy 10 200000 +600
honest "unknown key"
expect "another household's key on this connection" "REJECT wrong_identity" \
	-k "$T/b.key" -a "$T/c.key" order 1 "$Y" buy 10 200000 +600
honest "wrong identity"
expect "unregistered transport key refused by ZAP" "TIMEOUT" -t 2000 -k "$T/u.key" \
	order 1 "$Y" buy 10 200000 +600
honest "ZAP refusal"
got=$("${C[@]}" -r 2 -k "$T/b.key" order 1 "$Y" buy 1000 200000 +600 2>&1 | tr '\n' ' ')
case $got in "ACK "*" REJECT replay ") ok "the same order twice: ACK then replay" ;;
*) not_ok "the same order twice: ACK then replay (got '$got')" ;; esac
expect "a reused sequence with other content is a replay" "REJECT replay" \
	-k "$T/b.key" order 1 "$Y" buy 999 200000 +600
honest "replay"
expect "expired" "REJECT expired" -k "$T/b.key" order 10 "$Y" buy 10 200000 +0
honest "expired"
expect "gate closed (current interval)" "REJECT gate_closed" -k "$T/b.key" order 11 +0 buy 10 200000 +600
honest "gate closed"
expect "more than 24 h ahead" "REJECT too_far_ahead" -k "$T/b.key" order 12 +100000 buy 10 200000 +600
expect "price below feed-in" "REJECT price_bounds" -k "$T/b.key" order 13 "$Y" buy 10 79999 +600
expect "price above retail" "REJECT price_bounds" -k "$T/b.key" order 14 "$Y" buy 10 300001 +600
honest "price bounds"
expect "capacity: 4000 Wh per interval, 1000 open + 3001" "REJECT capacity" \
	-k "$T/b.key" order 15 "$Y" buy 3001 200000 +600
honest "capacity"
expect "self-trade: a buyer cannot sell in the same interval" "REJECT self_trade" \
	-k "$T/b.key" order 16 "$Y" sell 10 100000 +600
honest "self-trade"
got=$("${C[@]}" -k "$T/b.key" order 17 "$Y" buy 0 200000 +600 2>&1)
case $got in "REJECT bad_quantity" | "REJECT malformed") ok "zero quantity refused ($got)" ;; *) not_ok "zero quantity refused (got '$got')" ;; esac
expect "truncated frame" "REJECT malformed" -k "$T/b.key" -x trunc order 18 "$Y" buy 10 200000 +600
expect "two frames in one request" "REJECT malformed" -k "$T/b.key" -x frames order 19 "$Y" buy 10 200000 +600
expect "a signed REJECT sent as a request" "REJECT wrong_type" -k "$T/b.key" -x type order 20 "$Y" buy 10 200000 +600
expect "a version-1 request: REJECT bad_version, never misparsed" "REJECT bad_version" \
	-k "$T/b.key" -x v1 order 20 "$Y" buy 10 200000 +600
check "the exchange logs a version-1 request naming both versions" grep -q \
	"a request in protocol version 1 from key [0-9a-f]*\.\.\. (.*): this exchange speaks version 2" \
	"$T/exchange.log"
honest "malformed"
expect "oversize (300 bytes)" "REJECT oversize" -k "$T/b.key" -x big order 21 "$Y" buy 10 200000 +600
expect "above ZMQ_MAXMSGSIZE: connection dropped" "TIMEOUT" -t 2000 -k "$T/b.key" -x huge order 22 "$Y" buy 10 200000 +600
honest "oversize"
expect "cancel of no open order" "REJECT unknown_order" -k "$T/b.key" cancel 23 "$Y" 999
# over the rate only the first request of a second is answered (the rest
# are dropped): a short timeout ends the burst at the first unanswered one
out=$("${C[@]}" -k "$T/c.key" -t 1000 -r 40 query checkpoint 0 0 2>&1)
check "rate limit: a burst of 40 queries meets rate_limited" grep -q "REJECT rate_limited" <<<"$out"
honest "rate limit"

# The trade: interval X = current + 6; a sells 1000 @ 0.15, b bought 1000 @ 0.20 (above).
# X is beyond every interval an honest order went to (current + 5 when it was
# placed): on a loaded machine current + 3 could be one of them, and its 10 Wh
# made a second trade.
X=$(($(date +%s) / L + 6))
[ "$X" -gt "$Y" ] || X=$((Y + 1))
seq_a=$((seq_a + 1))
expect_ack "seller's order accepted" -k "$T/a.key" order "$seq_a" "$X" sell 1000 150000 +600
expect_ack "buyer's order accepted" -k "$T/b.key" order 30 "$X" buy 1000 200000 +600
# subscribe before the gate closes; the RESULT of X is published
"${C[@]}" -e "tcp://127.0.0.1:$P2" -k "$T/c.key" -t 60000 sub RESULT 20 >"$T/sub.out" 2>&1 &
SUBPID=$!
PW_PIDS+=("$SUBPID")
"${C[@]}" -e "tcp://127.0.0.1:$P2" -k "$T/c.key" -t 30000 sub DEPTH 1 >"$T/depth.out" 2>&1 &
PW_PIDS+=($!)
"${C[@]}" -e "tcp://127.0.0.1:$P2" -k "$T/c.key" -t 40000 sub CHECKPOINT 1 >"$T/cp.out" 2>&1 &
PW_PIDS+=($!)
"${C[@]}" -e "tcp://127.0.0.1:$P2" -k "$T/u.key" -t 3000 sub DEPTH 1 >"$T/depth-u.out" 2>&1 &
PW_PIDS+=($!)
WAIT_SECONDS=40 wait_for grep -q "^DEPTH " "$T/depth.out"
check "signed DEPTH of an open interval published ($(head -1 "$T/depth.out"))" \
	grep -Eq "^DEPTH [0-9]+ [1-9][0-9]*$" "$T/depth.out"
WAIT_SECONDS=40 wait_for grep -q "^CHECKPOINT " "$T/cp.out"
check "signed CHECKPOINT published ($(head -1 "$T/cp.out"))" grep -Eq "^CHECKPOINT [1-9][0-9]* [0-9]+$" "$T/cp.out"
WAIT_SECONDS=20 wait_for grep -q "TIMEOUT" "$T/depth-u.out"
check "an unregistered key gets no market data (ZAP on PUB)" test "$(cat "$T/depth-u.out")" = TIMEOUT
WAIT_SECONDS=70 wait_for grep -q "^RESULT $X " "$T/sub.out"
check "RESULT of the interval published on PUB" grep -q "^RESULT $X 175000 1000 1 1$" "$T/sub.out"
expect "RESULT answered over QUERY" "RESULT $X 175000 1000 1 1" -k "$T/b.key" query result "$X" 0
expect "QUERY of an uncleared interval" "REJECT bad_query" -k "$T/b.key" query result $((X + 100)) 0
expect "cancel after the gate" "REJECT gate_closed" -k "$T/a.key" cancel $((seq_a + 1)) "$X" "$seq_a"

# Meter readings (issue 5): too early, then after the interval's end
expect "reading before the interval ends" "REJECT meter_too_early" -k "$T/a.key" meter 1 $((X + 2)) SER-A 0 10 0 0
end=$(((X + 1) * L))
wait_until "$end"
expect "reading with another meter's serial" "REJECT meter_serial" -k "$T/a.key" meter 1 "$X" SER-B 5000 6000 100 100
expect "reading with a sequence gap" "REJECT meter_gap" -k "$T/a.key" meter 2 "$X" SER-A 5000 6000 100 100
expect "reading with a register going back" "REJECT meter_backwards" -k "$T/a.key" meter 1 "$X" SER-A 6000 5000 100 100
expect "reading above max power x L" "REJECT meter_implausible" -k "$T/a.key" meter 1 "$X" SER-A 5000 9001 100 100
got=$("${C[@]}" -k "$T/a.key" meter 1 "$X" SER-A 5000 5800 100 100 2>&1)
if ack_like "$got"; then ok "seller's reading accepted"; else not_ok "seller's reading accepted (got '$got')"; fi
got=$("${C[@]}" -k "$T/b.key" meter 1 "$X" SER-B 0 0 700 1900 2>&1)
if ack_like "$got"; then ok "buyer's reading accepted"; else not_ok "buyer's reading accepted (got '$got')"; fi
expect "a second reading for the interval" "REJECT meter_duplicate" -k "$T/b.key" meter 2 "$X" SER-B 0 0 1900 1900
# seller a delivered 800 of 1000: shortfall 200 at retail
expect "seller's reading replayed" "REJECT replay" -k "$T/a.key" meter 1 "$X" SER-A 5000 5800 100 100
# next interval must start where the last ended
wait_until $((end + L))
expect "discontinuous next reading" "REJECT meter_continuity" -k "$T/a.key" meter 2 $((X + 1)) SER-A 5900 5900 100 100

# settlement at end + grace: statements and a checkpoint
WAIT_SECONDS=40 wait_for bash -c "[ \"\$(sqlite3 '$T/x.db' 'SELECT state FROM intervals WHERE interval = $X')\" = 2 ]"
st_a=$("${C[@]}" -k "$T/a.key" query statement "$X" 0 2>&1)
st_b=$("${C[@]}" -k "$T/b.key" query statement "$X" 0 2>&1)
# a: +175000 from b, shortfall 200 Wh at retail 0.30 = -60000: net 115000
check "seller's statement: peer 175000 - shortfall 60000 (got '$st_a')" test "$st_a" = "STATEMENT $X 0 115000"
case $st_b in "STATEMENT $X 0 "*) ok "buyer's statement ($st_b)" ;; *) not_ok "buyer's statement (got '$st_b')" ;; esac
st_c=$("${C[@]}" -k "$T/c.key" query statement "$X" 0 2>&1)
check "no statement for a household without trades or readings" test "$st_c" = "REJECT bad_query"
cp=$("${C[@]}" -k "$T/c.key" query checkpoint 0 0 2>&1)
case $cp in "CHECKPOINT "*) ok "checkpoint answered ($cp)" ;; *) not_ok "checkpoint answered (got '$cp')" ;; esac
size=$(sqlite3 "$T/x.db" "SELECT tree_size FROM checkpoints ORDER BY tree_size DESC LIMIT 1")
got=$("${C[@]}" -k "$T/c.key" query inclusion 0 "$size" 2>&1)
case $got in "PROOF "*) ok "inclusion proof answered ($got)" ;; *) not_ok "inclusion proof (got '$got')" ;; esac
got=$("${C[@]}" -k "$T/c.key" query consistency 1 "$size" 2>&1)
case $got in "PROOF "*) ok "consistency proof answered ($got)" ;; *) not_ok "consistency proof (got '$got')" ;; esac
expect "inclusion proof beyond the log" "REJECT bad_query" -k "$T/c.key" query inclusion 0 999999999

# QUERY STATEMENT_PROOF (kind 6): the answer names the leaf index of a's
# statement; checked here independently (RFC 9162 2.1.3.2 in Python): the
# leaf hash of the statement frame the database holds, at that index, folds
# to the root of the stored checkpoint of that size
got=$("${C[@]}" -k "$T/a.key" query statement_proof "$X" "$size" 2>&1)
apk=$("$B/pw-client" pubkey "$T/a.key")
sidx=$(sqlite3 "$T/x.db" "SELECT log_idx FROM statements WHERE pk = x'$apk' AND interval = $X")
check "statement proof names the statement's log index ($sidx; got '${got:0:40}...')" \
	test "$(echo "$got" | cut -d' ' -f1,3,4)" = "PROOF $sidx $size"
sframe=$(sqlite3 "$T/x.db" "SELECT hex(frame) FROM statements WHERE pk = x'$apk' AND interval = $X")
cpframe=$(sqlite3 "$T/x.db" "SELECT hex(frame) FROM checkpoints WHERE tree_size = $size")
verify_inclusion() { # PROOF-LINE FRAME-HEX CHECKPOINT-HEX
	python3 - "$@" <<'PY'
import hashlib, sys
f = sys.argv[1].split()
n, idx, size, path = int(f[1]), int(f[2]), int(f[3]), [bytes.fromhex(h) for h in f[4:]]
assert f[0] == "PROOF" and len(path) == n
leaf = hashlib.sha256(b"\0" + bytes.fromhex(sys.argv[2])).digest()
root = bytes.fromhex(sys.argv[3])[34 + 48:34 + 80]
node = lambda l, r: hashlib.sha256(b"\1" + l + r).digest()
fn, sn, r = idx, size - 1, leaf
for p in path:
    if sn == 0:
        sys.exit(1)
    if fn & 1 or fn == sn:
        r = node(p, r)
        while not fn & 1 and fn != 0:
            fn >>= 1
            sn >>= 1
    else:
        r = node(r, p)
    fn >>= 1
    sn >>= 1
sys.exit(0 if sn == 0 and r == root else 1)
PY
}
check "statement proof verifies against the checkpoint" verify_inclusion "$got" "$sframe" "$cpframe"
bflip=$(python3 -c 'import sys; b = bytearray.fromhex(sys.argv[1]); b[50] ^= 1; print(b.hex())' "$sframe")
if verify_inclusion "$got" "$bflip" "$cpframe"; then
	not_ok "the proof verifies a statement with one bit changed"
else
	ok "the proof does not verify a statement with one bit changed"
fi
got0=$("${C[@]}" -k "$T/a.key" query statement_proof "$X" 0 2>&1)
check "statement proof with size 0: the latest checkpoint's" test "$(echo "$got0" | cut -d' ' -f1,3)" = "PROOF $sidx"
expect "statement proof of an interval without a statement" "REJECT bad_query" -k "$T/a.key" query statement_proof $((X + 100)) "$size"
expect "statement proof of a household without a statement" "REJECT bad_query" -k "$T/c.key" query statement_proof "$X" "$size"
expect "statement proof beyond the tree" "REJECT bad_query" -k "$T/a.key" query statement_proof "$X" 999999999
expect "statement proof in a tree before the statement" "REJECT bad_query" -k "$T/a.key" query statement_proof "$X" "$sidx"

# the database holds what an auditor needs
# one SELECT, one snapshot: the exchange keeps clearing and settling meanwhile
got=$(sqlite3 "$T/x.db" 'SELECT (SELECT COUNT(*) FROM log) || " " || (1 + (SELECT COUNT(*) FROM households) + (SELECT COUNT(*) FROM orders) + (SELECT COUNT(*) FROM meters) + (SELECT COUNT(*) FROM results) + (SELECT COUNT(*) FROM statements) + (SELECT COUNT(*) FROM orders WHERE status = 1))')
check "log entries = market + registry + accepted orders + cancels + readings + results + statements (got '$got')" \
	test -n "${got% *}" -a "${got% *}" = "${got#* }"
check "params stored" test "$(sqlite3 "$T/x.db" "SELECT value FROM params WHERE key = 'retail_uper_kwh'")" = 300000
check "rejections counted per reason" test "$(sqlite3 "$T/x.db" "SELECT count FROM stats WHERE name = 'bad_signature'")" -ge 1

# SIGHUP: carol removed -> revoked; a broken registry keeps the old one
# a reload changing a tariff appends a MARKET entry effective from E, the
# first interval no order can target yet (now + max_ahead_s = 1 day ahead):
# every interval an order can target now keeps the old bounds
sed -i 's/^retail = 0.30$/retail = 0.25/' "$T/x.conf"
t_hup=$(date +%s) # E is computed after this, so it is beyond t_hup + max_ahead_s
kill -HUP "$XPID"
WAIT_SECONDS=30 wait_for grep -q "tariffs or fees changed: MARKET entry at log index" "$T/exchange.log"
check "SIGHUP: a changed tariff appends a MARKET entry" test "$(sqlite3 "$T/x.db" 'SELECT count(*) FROM log WHERE type = 24')" -eq 2
eff=$((16#$(sqlite3 "$T/x.db" 'SELECT hex(substr(frame, 43, 8)) FROM log WHERE type = 24 ORDER BY idx DESC LIMIT 1')))
check "SIGHUP: effective from an interval beyond now + max_ahead_s ($eff)" test $((eff * L)) -gt $((t_hup + 86400))
check "SIGHUP: the tables show the log's latest tariff" test "$(sqlite3 "$T/x.db" "SELECT value FROM params WHERE key = 'retail_uper_kwh'")" = 250000
expect_ack "SIGHUP: the intervals before it keep the old price bounds" -k "$T/b.key" order 40 +5 buy 10 290000 +600
sed -i 's/^retail = 0.25$/retail = 0.30/' "$T/x.conf"
grep -v '^c ' "$T/households" >"$T/h2" && mv "$T/h2" "$T/households"
kill -HUP "$XPID"
WAIT_SECONDS=30 wait_for bash -c "[ \"\$(sqlite3 '$T/x.db' 'SELECT revoked FROM households WHERE id = \"c\"')\" = 1 ]"
check "SIGHUP: removed household marked revoked" test "$(sqlite3 "$T/x.db" "SELECT revoked FROM households WHERE id = 'c'")" = 1
expect "revoked household's connection refused by ZAP" "TIMEOUT" -t 2000 -k "$T/c.key" order 50 +3 buy 10 200000 +600
expect "revoked household's order refused" "REJECT revoked" -k "$T/a.key" -a "$T/c.key" order 51 +3 buy 10 200000 +600
echo "garbage line" >>"$T/households"
kill -HUP "$XPID"
WAIT_SECONDS=30 wait_for grep -q "households:3: expected 7 fields" "$T/exchange.log"
check "SIGHUP with a broken registry keeps the old one" grep -q "households:3: expected 7 fields" "$T/exchange.log"
honest "reloads"

kill -USR1 "$XPID"
WAIT_SECONDS=20 wait_for grep -q "stats: rejected" "$T/exchange.log"
check "SIGUSR1 logs counts per reason" grep -q "stats: rejected bad_signature: 1" "$T/exchange.log"
stop_pid "$XPID"
check "graceful stop on SIGTERM" grep -q "stopping" "$T/exchange.log"
"$B/peerwatt-audit" verify "$T/x.db" >"$T/audit.out" 2>&1
check "peerwatt-audit verifies the whole run ($(grep verdict "$T/audit.out"))" grep -q "verdict *OK" "$T/audit.out"
finish
