#!/usr/bin/env bash
# witness_agents.sh: neighbours witness the log, end to end (issue 17 point
# 2; docs/agent-checks.md "Witnessing the log").  One peerwatt-exchange (3 s
# intervals), two peerwatt-sim devices at 60x, two agents.  Each agent
# cosigns the checkpoints it has proven consistent (COSIGN through its
# outbox, stream 4, numbered by tree size), the exchange logs the
# cosignatures and publishes them (COSIGNED), the agents count each other
# as witnesses and the dashboard says "log witnessed by 2 neighbours";
# peerwatt-audit verify --witnesses 2 passes on the exchange's database
# with both agents' databases as evidence, and --witnesses 3 fails.
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
declare -A SIMPORT DASH APID
: >"$T/households"
for n in h1 h2; do
	start_sim --speed 60 --start-time 11:00 --pv-peak 4000 --load 700 --seed "${n#h}" ||
		not_ok "simulator $n starts"
	SIMPORT[$n]=$SIM_PORT
	pk=$("$AGENT" keygen --out "$T/$n.key" | sed -n 's/^public key: //p')
	echo "$n $n $pk PWSIM-${n#h}-1 z1 1200000 1200000" >>"$T/households"
done
REQ=$(free_port)
PUB=$(free_port)
exchange_conf "$T/exchange.conf" witmarket 47 "$REQ" "$PUB" "$T/households" "$T/exchange.db" \
	"$T/exchange.key"
cat >>"$T/exchange.conf" <<CONF
[market]
interval_s = $L
gate_s = 1
grace_s = 2
CONF
"$EXCH" -c "$T/exchange.conf" >"$T/exchange.log" 2>&1 &
EXPID=$!
PW_PIDS+=($!)
wait_port "$REQ" 60 || not_ok "exchange starts"
for n in h1 h2; do
	DASH[$n]=$(free_port)
	agent_conf "$T/$n.conf" "$T/$n.key" "$T/$n.db" "${SIMPORT[$n]}" "$REQ" "$PUB" "$XPK" 47 $L
	cat >>"$T/$n.conf" <<CONF
[exchange]
reply_timeout_ms = 1500
[policy]
auto_sell = no
[dashboard]
listen = 127.0.0.1:${DASH[$n]}
[log]
level = info
CONF
	"$AGENT" -c "$T/$n.conf" >"$T/$n.log" 2>&1 &
	APID[$n]=$!
	PW_PIDS+=($!)
done

q() { sqlite3 "$1" "$2" 2>/dev/null || echo 0; }
# at start nothing is known of the neighbours' cosignatures: the dashboard
# says so, not "not witnessed" (unless a COSIGNED message came already)
wtext() { curl -sf -m 5 "http://127.0.0.1:${DASH[$1]}/api/state" | jq_e -r '.witnesses.text'; }
WAIT_SECONDS=30 wait_for wtext h2 >/dev/null
txt=$(wtext h2)
check "at start: the witnesses are not known yet, not none ($txt)" \
	grep -qE "^(witnesses not known yet \(none heard of since the agent started\)|witnesses being checked|log witnessed by)" <<<"$txt"
# a checkpoint cosigned by both agents, logged
both_cosigned() {
	[ "$(q "$T/exchange.db" "SELECT coalesce(max(n), 0) FROM (SELECT count(*) AS n FROM cosigns GROUP BY tree_size)")" -ge 2 ]
}
WAIT_SECONDS=90 wait_for both_cosigned
check "both agents cosign one checkpoint: two COSIGN entries of one size in the exchange's cosigns" both_cosigned
check "the cosignatures are log entries (type 5), the exact frames" test \
	"$(q "$T/exchange.db" "SELECT count(*) FROM cosigns c JOIN log l ON l.idx = c.log_idx AND l.frame = c.frame AND l.type = 5")" \
	= "$(q "$T/exchange.db" "SELECT count(*) FROM cosigns")"
for n in h1 h2; do
	check "$n: its COSIGNs are in its outbox (stream 4), numbered by tree size, ACKed with a kept receipt" test \
		"$(q "$T/$n.db" "SELECT count(*) FROM outbox o JOIN receipts r ON r.stream = o.stream AND r.seq = o.seq WHERE o.stream = 4 AND o.type = 5 AND o.state = 1")" -ge 1
	check "$n: logs what it cosigns" grep -q "witness: cosigning the checkpoint of tree size" "$T/$n.log"
done
check "every cosigned size is a checkpoint the exchange signed, with its root" test \
	"$(q "$T/exchange.db" "SELECT count(*) FROM cosigns c LEFT JOIN checkpoints k ON k.tree_size = c.tree_size WHERE k.frame IS NULL OR substr(c.frame, 75, 32) <> substr(k.frame, 83, 32)")" = 0
witnessed() { curl -sf "http://127.0.0.1:${DASH[$1]}/api/state" | jq_e '.witnesses.count >= 2' >/dev/null; }
WAIT_SECONDS=60 wait_for witnessed h1
check "dashboard: log witnessed by 2 neighbours (COSIGNED verified)" witnessed h1
txt=$(curl -sf "http://127.0.0.1:${DASH[h1]}/api/state" | jq -r '.witnesses.text')
check "... in words ($txt)" grep -q "^log witnessed by 2 neighbours (up to entry [0-9]*)$" <<<"$txt"
check "no log fork is seen by either agent" test \
	"$(q "$T/h1.db" "SELECT count(*) FROM disputes")$(q "$T/h2.db" "SELECT count(*) FROM disputes")" = 00

# the agents' databases first: what they hold the exchange had logged
for n in h1 h2; do sqlite3 "$T/$n.db" ".backup '$T/$n-copy.db'"; done
sqlite3 "$T/exchange.db" ".backup '$T/copy.db'"
"$AUDIT" verify "$T/copy.db" --witnesses 2 --agent "$T/h1-copy.db" "$T/h2-copy.db" >"$T/audit.txt"
rc=$?
check "peerwatt-audit verify --witnesses 2 with both agents' evidence: OK (exit $rc)" test $rc -eq 0
grep -q '^verdict       OK$' "$T/audit.txt" || cat "$T/audit.txt"
check "the report says how far the log is witnessed" grep -q "^\[ok\] witnessed    entries 0\.\." "$T/audit.txt"
"$AUDIT" verify "$T/copy.db" --witnesses 3 >"$T/audit3.txt"
check "--witnesses 3 with two households: FAIL (exit $?)" grep -q "^verdict       FAILED$" "$T/audit3.txt"

# h1's agent refused a cosignature by h2 over another history's root (kept
# in its disputes as cosign_fork): with h1's database as evidence, FAIL
cp "$T/h1-copy.db" "$T/h1-fork.db"
sz=$("$BUILD/pw-forge" "$T/copy.db" "$T/exchange.key" cosign-fork "$T/h2.key" "$T/h1-fork.db")
"$AUDIT" verify "$T/copy.db" --agent "$T/h1-fork.db" >"$T/audit-fork.txt"
rc=$?
check "a refused neighbour's cosignature over another root in an agent's evidence: FAIL (exit $rc)" test $rc -eq 1
check "... naming the agent database and h2 (${sz:-?})" \
	grep -q "^failure .*h1-fork.db: .*refused cosignature: fork: h2 cosigned root" "$T/audit-fork.txt"

# the count survives a restart (table witnesses): with the exchange
# stopped no COSIGNED message can bring it again, yet h1 says at once what
# it counted before its stop (its latest checkpoint's registered witnesses:
# 2, or 1 when a newer checkpoint had only one counted by then)
stop_pid "$EXPID"
stop_pid "${APID[h1]}"
read -r wsize wn < <(sqlite3 -separator ' ' "$T/h1.db" "SELECT tree_size, count(*) FROM witnesses
	WHERE tree_size = (SELECT max(tree_size) FROM witnesses)")
check "h1 kept its witnesses: ${wn:-0} of the checkpoint of tree size ${wsize:-?}" \
	test "${wn:-0}" -ge 1 -a "${wn:-0}" -le 2
[ "${wn:-0}" = 1 ] && wwords="1 neighbour" || wwords="${wn:-0} neighbours"
"$AGENT" -c "$T/h1.conf" >>"$T/h1.log" 2>&1 &
PW_PIDS+=($!)
WAIT_SECONDS=30 wait_for wtext h1 >/dev/null
txt=$(wtext h1)
check "restarted without the exchange, h1 still says: $txt" \
	test "$txt" = "log witnessed by $wwords (up to entry $((${wsize:-1} - 1)))"
check "... as counted before the restart" \
	grep -q "tree size ${wsize:-?} witnessed by ${wn:-?} neighbour(s), as counted before the restart" "$T/h1.log"
finish
