#!/usr/bin/env bash
# agent_market.sh: a simulated neighbourhood on loopback, end to end.
# One peerwatt-exchange (3 s intervals), three peerwatt-sim devices running
# 60 times faster than real time, three agents: two sell their surplus
# automatically, one has a standing bid.  Checks, in three phases (normal,
# exchange restarted mid-run, a device with faults):
#   offers are made and acknowledged, trades happen, every statement
#   settles exactly what the household's signed reading says its meter
#   delivered, inclusion proofs of the agents' own entries and statements
#   verify, no log fork is seen, nothing the exchange signs is refused as
#   false by the agents' checks (the bidder h2 in zone z2 buys from h1 and
#   h3 in z1: every statement's fee recomputed exactly with the z1/z2 pair
#   fee of the log's MARKET entry and the zones of the REGISTRY entries),
#   no reading is lost or refused, and peerwatt-audit verify
#   passes on the exchange database with the agents' checkpoint files.
#   One agent is killed with SIGKILL while the exchange is down and
#   restarted: its queued readings are still delivered, none refused; a
#   statement altered in its database meanwhile fails its inclusion proof.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/integration/lib.sh

AGENT=$BUILD/peerwatt-agent
EXCH=${PW_EXCHANGE:-$BUILD/peerwatt-exchange}
AUDIT=${PW_AUDIT:-$BUILD/peerwatt-audit}
SPEED=60
L=3
T=$PW_TMP

# --- keys, devices, registry ------------------------------------------------
XPK=$("$AGENT" keygen --out "$T/x2.key" | sed -n 's/^public key: //p')
mv "$T/x2.key" "$T/exchange.key"

declare -A SIMPORT APID
# name:pv-peak:load:fault; h3's device drops the connection every 9th
# request for the whole run (a simulator restarted mid-run would be a new
# meter whose registers start over, which the exchange rightly refuses as
# going backwards)
HOUSES="h1:6000:700:none h2:0:1500:none h3:4000:600:drop"
house_sim() { # name pv load [fault]
	local n=$1
	start_sim --speed $SPEED --start-time 11:00 --pv-peak "$2" --load "$3" --seed "${n#h}" \
		$([ "$4" != none ] && echo "--fault $4") || return 1
	SIMPORT[$n]=$SIM_PORT
}

: >"$T/households"
for spec in $HOUSES; do
	IFS=: read -r n pv load fault <<<"$spec"
	house_sim "$n" "$pv" "$load" "$fault" || not_ok "simulator $n starts"
	pk=$("$AGENT" keygen --out "$T/$n.key" | sed -n 's/^public key: //p')
	# capacities scaled by the simulator's speed (docs/agent.md)
	zone=z1
	[ "$n" = h2 ] && zone=z2
	echo "$n $n $pk PWSIM-${n#h}-1 $zone 1200000 1200000" >>"$T/households"
done

REQ=$(free_port)
PUB=$(free_port)
exchange_conf "$T/exchange.conf" itest 42 "$REQ" "$PUB" "$T/households" "$T/exchange.db" \
	"$T/exchange.key"
cat >>"$T/exchange.conf" <<CONF
[market]
interval_s = $L
gate_s = 1
grace_s = 2
[fees]
same_zone = 0.01
default = 0.05
z1/z2 = 0.03
CONF

start_exchange() {
	"$EXCH" -c "$T/exchange.conf" >>"$T/exchange.log" 2>&1 &
	EXPID=$!
	PW_PIDS+=($!)
	wait_port "$REQ" 60
}
start_exchange || not_ok "exchange starts"

DASH=$(free_port)
write_agent_conf() { # name
	local n=$1
	agent_conf "$T/$n.conf" "$T/$n.key" "$T/$n.db" "${SIMPORT[$n]}" "$REQ" "$PUB" "$XPK" 42 $L
	cat >>"$T/$n.conf" <<CONF
[exchange]
reply_timeout_ms = 1500
checkpoints = $T/$n.checkpoints
[policy]
min_price = 0.10
safety_pct = 90
horizon = 2
CONF
	if [ "$n" = h2 ]; then
		printf '[bid.always]\nqty_wh = 150\nmax_price = 0.25\n' >>"$T/$n.conf"
	fi
	if [ "$n" = h2 ]; then # the bidder's dashboard: order statuses, trade fees
		printf '[dashboard]\nlisten = 127.0.0.1:%s\n' "$DASH" >>"$T/$n.conf"
	else
		printf '[dashboard]\nenabled = no\n' >>"$T/$n.conf"
	fi
	printf '[log]\nlevel = debug\n' >>"$T/$n.conf"
}

start_agent() {
	"$AGENT" -c "$T/$1.conf" >>"$T/$1.log" 2>&1 &
	APID[$1]=$!
	PW_PIDS+=($!)
}
for n in h1 h2 h3; do
	write_agent_conf $n
	start_agent $n
done

q() { sqlite3 "$T/$1.db" "$2" 2>/dev/null || echo 0; }
at_least() { [ "$(q "$1" "$2")" -ge "$3" ]; }
all_at_least() { # sql n: every agent
	local n
	for n in h1 h2 h3; do at_least $n "$1" "$2" || return 1; done
}

# --- phase 1: normal trading ------------------------------------------------
WAIT_SECONDS=90 wait_for at_least h2 "select count(*) from trades" 2
check "sellers' offers are acknowledged" \
	all_at_least "select count(*) from outbox where type = 1 and state = 1" 1
check "trades happen (the bidder bought)" at_least h2 "select count(*) from trades where side = 1" 1
check "sellers sold" at_least h1 "select count(*) from trades where side = 2" 1
WAIT_SECONDS=90 wait_for all_at_least "select count(*) from statements" 3
check "every agent receives statements" all_at_least "select count(*) from statements" 3
WAIT_SECONDS=60 wait_for all_at_least "select count(*) from outbox where proof = 1" 3
check "inclusion proofs of own entries verify" \
	all_at_least "select count(*) from outbox where proof = 1" 3
# QUERY STATEMENT_PROOF: each agent checks its stored statement bytes at the
# index the exchange names against its own checkpoint
WAIT_SECONDS=60 wait_for all_at_least "select count(*) from statements where proof = 1" 2
check "inclusion proofs of own statements verify" \
	all_at_least "select count(*) from statements where proof = 1" 2

# the bidder's dashboard: an order that traded is "filled" or "partial" (never
# "expired"), as the trades say; a purchase carries its share of the
# statement's grid fee (z2 buying from z1: the pair's 0.03 per kWh = 30 u per
# Wh), a sale none
api() { curl -sf "http://127.0.0.1:$DASH/api/$1"; }
traded_order_listed() {
	api orders | jq_e '[.orders[] | select(.side == "buy" and
		(.status == "filled" or .status == "partial"))] | length >= 1' >/dev/null
}
WAIT_SECONDS=60 wait_for traded_order_listed
statement_badge() {
	api statements | jq_e '[.statements[] | select(.verified == true and
		(.log_index | type) == "number")] | length >= 1' >/dev/null
}
check "dashboard: statements carry their verified log index" statement_badge
check "dashboard: a bid that traded is filled or partial" traded_order_listed
q h2 "select buy_seq, sum(qty_wh) from trades where side = 1 group by buy_seq" >"$T/h2.traded"
api orders >"$T/h2.orders.json"
check "dashboard: every order's status agrees with its trades" python3 - "$T/h2.traded" \
	"$T/h2.orders.json" <<'PY'
import json, sys
traded = dict(map(int, l.split("|")) for l in open(sys.argv[1]) if l.strip())
n = 0
for o in json.load(open(sys.argv[2]))["orders"]:
    if o["side"] != "buy" or o["seq"] not in traded:
        continue
    # traded before the page was fetched: the page must say so
    want = "filled" if traded[o["seq"]] >= o["qty_wh"] else "partial"
    assert o["status"] in ("filled", "partial"), (o, traded[o["seq"]])
    assert o["status"] == want or o["status"] == "filled", (o, traded[o["seq"]])
    n += 1
assert n >= 1, "no traded order listed"
print(n, "traded orders listed with a matching status")
PY
# A purchase settles an interval or two after it trades (interval end plus
# grace), and the sellers' first firm offers may come late: wait until one
# purchase the dashboard lists is settled, then check every listed fee.
purchase_fees() {
	q h2 "select interval from statements" >"$T/h2.stmts"
	api trades >"$T/h2.trades.json" || return 1
	python3 - "$T/h2.trades.json" "$T/h2.stmts" <<'PY'
import json, sys
settled = {int(l) for l in open(sys.argv[2]) if l.strip()}
n = 0
for t in json.load(open(sys.argv[1]))["trades"]:
    if t["side"] == "sell":
        assert t["fee_u"] == 0, t
    elif t["interval"] in settled:
        assert t["fee_u"] == t["qty_wh"] * 30, t
        n += 1
assert n >= 1, "no settled purchase listed"
print(n, "settled purchases with their fee")
PY
}
WAIT_SECONDS=30 wait_for purchase_fees
check "dashboard: trades carry the grid fee of their statement" purchase_fees
check "h2: cross-zone purchases accepted, each statement's fee exact (z1/z2: 30 u per Wh)" \
	test "$(q h2 "select count(*) from statements where bought_wh > 0 and fee_u = bought_wh * 30")" -ge 1 -a \
	"$(q h2 "select count(*) from statements where fee_u != bought_wh * 30")" = 0
check "h2: the MARKET entry and the zones of h2, h1 and h3 fetched and proven" \
	test "$(q h2 "select count(distinct kind || hex(key)) from rule_entries where state = 1")" -ge 3

# --- phase 2: the exchange restarts mid-run ----------------------------------
stop_pid "$EXPID"
WAIT_SECONDS=30 wait_for at_least h1 "select count(*) from outbox where stream = 1 and state = 0" 2
check "readings queue up while the exchange is down" \
	at_least h1 "select count(*) from outbox where stream = 1 and state = 0" 2
# each agent's oldest reading still queued now (its own sequence numbers)
declare -A QUEUED
for n in h1 h2 h3; do
	QUEUED[$n]=$(q $n "select coalesce(min(seq), 0) from outbox where stream = 1 and state = 0")
done
queued_delivered() { # every reading queued during the outage is acknowledged
	local n
	[ "${QUEUED[h1]}" -gt 0 ] || return 1
	for n in h1 h2 h3; do
		[ "${QUEUED[$n]}" -eq 0 ] && continue
		at_least $n "select count(*) from outbox where stream = 1 and state = 1
			and seq = ${QUEUED[$n]}" 1 || return 1
	done
}
# h1's agent dies hard during the outage and comes back
kill -KILL "${APID[h1]}"
wait "${APID[h1]}" 2>/dev/null
# while it is down, one of its verified statements is altered on disk (last
# signature byte) and marked unchecked: the proof it asks for at restart
# must fail, loudly (the exchange's log holds the real bytes)
TAMPER_IV=$(q h1 "select coalesce(min(interval), -1) from statements where proof = 1")
sqlite3 "$T/h1.db" "update statements set proof = 0, log_index = null,
	frame = substr(frame, 1, length(frame) - 1) ||
		case when substr(frame, -1) = x'00' then x'01' else x'00' end
	where interval = $TAMPER_IV"
start_agent h1
WAIT_SECONDS=30 wait_for grep -q "resuming readings after interval" "$T/h1.log"
check "h1 resumes its reading chain after kill -9" grep -q "resuming readings" "$T/h1.log"
start_exchange || not_ok "exchange restarts"
WAIT_SECONDS=60 wait_for queued_delivered
check "queued readings are delivered after the restart" queued_delivered
WAIT_SECONDS=60 wait_for at_least h1 "select count(*) from statements where proof = 2" 1
check "h1: the statement altered on disk fails its inclusion proof (interval $TAMPER_IV)" \
	test "$(q h1 "select group_concat(interval) from statements where proof = 2")" = "$TAMPER_IV"
check "h1: ... and says so loudly" \
	grep -q "INCLUSION PROOF FAILED: statement for interval $TAMPER_IV " "$T/h1.log"
s2=$(q h2 "select count(*) from trades")
WAIT_SECONDS=60 wait_for at_least h2 "select count(*) from trades" $((s2 + 1))
check "trading continues after the restart" at_least h2 "select count(*) from trades" $((s2 + 1))

# --- phase 3: the device with faults ------------------------------------------
check "h3's device dropped connections and the agent reconnected" \
	test "$(grep -c 'modbus tcp://127.0.0.1:[0-9]*: connected' "$T/h3.log")" -ge 2
r3=$(q h3 "select count(*) from outbox where stream = 1 and state = 1")
WAIT_SECONDS=60 wait_for at_least h3 "select count(*) from outbox where stream = 1 and state = 1" $((r3 + 4))
check "readings keep coming from the device that drops connections" \
	at_least h3 "select count(*) from outbox where stream = 1 and state = 1" $((r3 + 4))
check "h3 is settled despite the faults" at_least h3 "select count(*) from statements" 5

# let settlement and the last proofs catch up, then stop everything
sleep_until_settled() {
	local n
	for n in h1 h2 h3; do
		[ "$(q $n "select count(*) from outbox where stream = 1 and state = 1 and interval <=
			(select max(interval) from checkpoints) and interval not in
			(select interval from statements)")" = 0 ] || return 1
	done
}
WAIT_SECONDS=60 wait_for sleep_until_settled
for n in h1 h2 h3; do stop_pid "${APID[$n]}"; done
stop_pid "$EXPID"

# --- verdicts over the whole run -------------------------------------------------
for n in h1 h2 h3; do
	check "$n: no reading refused" test "$(q $n "select count(*) from outbox where stream = 1 and state = 2")" = 0
	check "$n: readings numbered 1..N without gap or reuse" \
		test "$(q $n "select max(seq) = count(*) and min(seq) = 1 from outbox where stream = 1")" = 1
	check "$n: no inclusion proof failed" test "$(q $n "select count(*) from outbox where proof = 2")" = 0
	# h1's altered statement (phase 2) is the only failure expected
	want_failed=0
	[ $n = h1 ] && want_failed=1
	check "$n: no statement inclusion proof failed but the altered one" \
		test "$(q $n "select count(*) from statements where proof = 2")" = $want_failed
	check "$n: every verified statement is the exchange's, at the log index it names" test \
		"$(sqlite3 "$T/$n.db" "attach '$T/exchange.db' as x; select count(*) from statements s
			where s.proof = 1 and not exists (select 1 from x.statements e
			where e.frame = s.frame and e.log_idx = s.log_index)")" = 0
	check "$n: nothing refused as false in an honest run (table disputes empty)" \
		test "$(q $n "select count(*) from disputes")" = 0
	check "$n: no checkpoint proven inconsistent" \
		test "$(q $n "select count(*) from checkpoints where consistent = -1")" = 0
	check "$n: no log fork, no statement mismatch" \
		sh -c "! grep -E 'LOG FORK|EXCHANGE LIED|STATEMENT MISMATCH|INCLUSION PROOF FAILED|TWO DIFFERENT' '$T/$n.log' |
			grep -v 'INCLUSION PROOF FAILED: statement for interval $TAMPER_IV '"
	sqlite3 "$T/$n.db" "select s.interval, hex(s.frame), hex(o.frame) from statements s
		join outbox o on o.stream = 1 and o.state = 1 and o.interval = s.interval" >"$T/$n.pairs"
	check "$n: statements settle exactly the metered energy" python3 - "$T/$n.pairs" <<'PY'
import sys
n = 0
for line in open(sys.argv[1]):
    iv, st, me = line.strip().split("|")
    st, me = bytes.fromhex(st)[34:], bytes.fromhex(me)[34:]
    u = lambda b, o: int.from_bytes(b[o:o + 8], "big")
    # STATEMENT body: household[32] interval flags price bought sold export import
    flags = int.from_bytes(st[40:44], "big")
    exp_s, imp_s = u(st, 64), u(st, 72)
    exp_m, imp_m = u(me, 56) - u(me, 48), u(me, 72) - u(me, 64)
    if flags & 1:
        continue
    assert (exp_s, imp_s) == (exp_m, imp_m), (iv, exp_s, imp_s, exp_m, imp_m)
    n += 1
assert n >= 3, "too few statements compared: %d" % n
print(n, "statements match the signed readings")
PY
	check "$n: kept checkpoints" test -s "$T/$n.checkpoints"
done
"$AUDIT" verify "$T/exchange.db" --checkpoints "$T/h1.checkpoints" "$T/h2.checkpoints" \
	"$T/h3.checkpoints" >"$T/audit.out" 2>&1
rc=$?
cat "$T/audit.out"
check "peerwatt-audit verify passes with the agents' checkpoints" test "$rc" = 0
# the agents' own databases as evidence: their signed receipts, statements
# and checkpoints agree with the exchange's log, under the pinned key
"$AUDIT" verify "$T/exchange.db" --exchange-key "$XPK" --json \
	--agent "$T/h1.db" "$T/h2.db" "$T/h3.db" >"$T/audit-ev.json" 2>&1
check "peerwatt-audit verify passes with the agents' databases as evidence (exit $?)" python3 -c '
import json,sys; d=json.load(open(sys.argv[1])); ev=d["evidence"]
assert d["ok"], d["failure"]
assert ev["agents"] == 3 and ev["acks"] > 0 and ev["statements"] > 0 and ev["checkpoints"] > 0, ev
assert d["market"]["exchange_key_source"] == "pinned"' "$T/audit-ev.json" || cat "$T/audit-ev.json"
# every receipt checked again from docs/protocol.md alone (Python, not the C
# codec): each ACK's head signed by the exchange, its path leading from the
# request sent to the head's root, the head's root the log's own
for n in h1 h2 h3; do
	out=$(python3 tests/vectors/verify_ack.py "$T/$n.db" 42 "$XPK" "$T/exchange.db" 2>&1)
	check "$n: every ACK proves its request in the log, checked in Python ($out)" \
		grep -qE "^ok [1-9][0-9]* receipts$" <<<"$out"
done
# ... and the checker fails a receipt whose path was altered
cp "$T/h1.db" "$T/h1-bad.db"
python3 - "$T/h1-bad.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
for rowid, f in db.execute("SELECT rowid, frame FROM receipts"):
    f = bytearray(f)
    if f[0] == 2 and f[1] == 16 and f[83] > 0:
        f[84] ^= 1
        db.execute("UPDATE receipts SET frame = ? WHERE rowid = ?", (bytes(f), rowid))
        db.commit()
        break
PY
out=$(python3 tests/vectors/verify_ack.py "$T/h1-bad.db" 42 "$XPK" 2>&1)
check "an altered path fails the Python check ($out)" grep -q "path does not lead" <<<"$out"
finish
