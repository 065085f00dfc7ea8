#!/usr/bin/env bash
# receipts_rewrite.sh: an acknowledged entry rewritten offline by the
# operator is caught by the household's receipt (issue 17 point 1;
# docs/agent.md "CHECKPOINT", docs/audit.md "Households' evidence").  A
# real exchange (3 s intervals) and one agent with a simulated meter: the
# agent's readings are ACKed, each ACK with its batch's signed head, which
# the agent keeps with its checkpoints.  The exchange is stopped; its
# database is changed as an operator holding the exchange key could: one
# acknowledged entry rewritten, the leaf recomputed, every stored checkpoint
# re-signed over the new roots (tests/vectors/forge_log.py), so that the
# exchange starts on it and serves a history consistent with itself.  The
# agent, meeting a re-signed checkpoint that contradicts what it trusts,
# raises log_fork; peerwatt-audit verify --agent with its database fails,
# naming the household.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/integration/lib.sh

AGENT=$BUILD/peerwatt-agent
EXCH=${PW_EXCHANGE:-$BUILD/peerwatt-exchange}
AUDIT=$BUILD/peerwatt-audit
L=3
T=$PW_TMP

XPK=$("$AGENT" keygen --out "$T/x2.key" | sed -n 's/^public key: //p')
mv "$T/x2.key" "$T/exchange.key"
start_sim --speed 60 --start-time 11:00 --pv-peak 4000 --load 700 --seed 1 ||
	not_ok "simulator starts"
pk=$("$AGENT" keygen --out "$T/h1.key" | sed -n 's/^public key: //p')
echo "h1 h1 $pk PWSIM-1-1 z1 1200000 1200000" >"$T/households"
REQ=$(free_port)
PUB=$(free_port)
exchange_conf "$T/exchange.conf" rwmarket 48 "$REQ" "$PUB" "$T/households" "$T/exchange.db" \
	"$T/exchange.key"
cat >>"$T/exchange.conf" <<CONF
[market]
interval_s = $L
gate_s = 1
grace_s = 2
CONF
"$EXCH" -c "$T/exchange.conf" >"$T/exchange.log" 2>&1 &
XPID=$!
PW_PIDS+=($XPID)
wait_port "$REQ" 60 || not_ok "exchange starts"
DASH=$(free_port)
agent_conf "$T/h1.conf" "$T/h1.key" "$T/h1.db" "$SIM_PORT" "$REQ" "$PUB" "$XPK" 48 $L
cat >>"$T/h1.conf" <<CONF
[exchange]
reply_timeout_ms = 1500
[policy]
auto_sell = no
[dashboard]
listen = 127.0.0.1:$DASH
[log]
level = info
CONF
"$AGENT" -c "$T/h1.conf" >"$T/h1.log" 2>&1 &
PW_PIDS+=($!)

q() { sqlite3 "$1" "$2" 2>/dev/null || echo 0; }
# three readings ACKed (protocol 2: 270 + 32 n bytes) and a checkpoint trusted
held() {
	[ "$(q "$T/h1.db" "SELECT count(*) FROM receipts WHERE length(frame) >= 270")" -ge 3 ] &&
		[ "$(q "$T/h1.db" "SELECT count(*) FROM checkpoints WHERE consistent = 1")" -ge 2 ]
}
WAIT_SECONDS=90 wait_for held
check "the agent holds ACKs with their heads and trusted checkpoints" held
check "no fork before the rewrite" test "$(q "$T/h1.db" "SELECT count(*) FROM disputes")" = 0
out=$(python3 tests/vectors/verify_ack.py "$T/h1.db" 48 "$XPK" "$T/exchange.db" 2>&1)
check "its receipts check in Python against the log ($out)" grep -qE "^ok [1-9][0-9]* receipts$" <<<"$out"

# the operator, offline: the first acknowledged reading rewritten
stop_pid "$XPID"
idx=$(q "$T/h1.db" "SELECT min(log_index) FROM outbox WHERE type = 3 AND state = 1 AND log_index >= 0")
out=$(python3 tests/vectors/forge_log.py "$T/exchange.db" "$T/exchange.key" 48 "$idx" "$T/h1.key" 2>&1)
check "the log rewritten at entry $idx and its checkpoints re-signed ($out)" grep -q "^rewrote entry $idx" <<<"$out"
"$EXCH" -c "$T/exchange.conf" >>"$T/exchange.log" 2>&1 &
XPID=$!
PW_PIDS+=($XPID)
wait_port "$REQ" 60 || not_ok "the exchange starts on the rewritten log"

forked() { curl -sf "http://127.0.0.1:$DASH/api/state" | jq_e 'any(.problems[]; .code == "log_fork")' >/dev/null; }
WAIT_SECONDS=90 wait_for forked
check "the agent raises log_fork: a checkpoint contradicts what it holds" forked
check "... and logs LOG FORK" grep -q "LOG FORK" "$T/h1.log"

sqlite3 "$T/h1.db" ".backup '$T/h1-copy.db'"
sqlite3 "$T/exchange.db" ".backup '$T/copy.db'"
"$AUDIT" verify "$T/copy.db" --agent "$T/h1-copy.db" >"$T/audit.txt" 2>&1
rc=$?
# the first failure names the household: its receipts' heads or checkpoints
# in its database, or its own cosignature in the log (the agent witnesses
# the checkpoints it trusted, docs/agent.md), whichever the audit meets first
check "peerwatt-audit verify --agent fails (exit $rc), naming the household" \
	bash -c "[ $rc = 1 ] && grep -qE '^failure .*(h1-copy.db: h1|: fork: h1 cosigned)' '$T/audit.txt'"
grep -q '^failure' "$T/audit.txt" && grep '^failure' "$T/audit.txt" | head -2 | sed 's/^/# /'
finish
