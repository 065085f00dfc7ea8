#!/usr/bin/env bash
# agent_registry.sh: the household checks its own registry entry in the
# exchange's log (docs/agent.md "Registry entry").  One peerwatt-exchange
# (3 s intervals), one peerwatt-sim and two agents:
#   good  registered as alice in zone z1, meter PWSIM-1-1 (the simulator's):
#         /api/state shows the entry, proven at its log index, no problem;
#         the registry file changed (name, zone) and the exchange reloaded
#         (SIGHUP): the agent sees the new entry, proven; then the meter
#         serial changed: registry_mismatch naming both serials, logged loudly
#   zone  [household] zone = z9, registered in z1: registry_mismatch naming
#         both zones
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/integration/lib.sh

AGENT=$BUILD/peerwatt-agent
EXCH=$BUILD/peerwatt-exchange
L=3
T=$PW_TMP

XPK=$("$AGENT" keygen --out "$T/exchange.key" | sed -n 's/^public key: //p')
PKG=$("$AGENT" keygen --out "$T/good.key" | sed -n 's/^public key: //p')
PKZ=$("$AGENT" keygen --out "$T/zone.key" | sed -n 's/^public key: //p')
registry() { # registry NAME ZONE SERIAL: good's entry; zone's stays
	{
		echo "good $1 $PKG $3 $2 1200000 1200000"
		echo "zone zone $PKZ REG-zone z1 1200000 1200000"
	} >"$T/households"
}
registry alice z1 PWSIM-1-1

start_sim --speed 60 --start-time 11:00 --pv-peak 6000 --load 700 --seed 1 ||
	not_ok "simulator starts"
REQ=$(free_port)
PUB=$(free_port)
exchange_conf "$T/exchange.conf" rtest 45 "$REQ" "$PUB" "$T/households" "$T/exchange.db" \
	"$T/exchange.key"
cat >>"$T/exchange.conf" <<CONF
[market]
interval_s = $L
gate_s = 1
grace_s = 1
[network]
heartbeat_ms = 1000
CONF
"$EXCH" -c "$T/exchange.conf" >"$T/exchange.log" 2>&1 &
EXPID=$!
PW_PIDS+=("$EXPID")
wait_port "$REQ" 60 || not_ok "exchange starts"

declare -A DASH
for a in good zone; do
	DASH[$a]=$(free_port)
	agent_conf "$T/$a.conf" "$T/$a.key" "$T/$a.db" "$SIM_PORT" "$REQ" "$PUB" "$XPK" 45 $L
	{
		printf '[exchange]\nreply_timeout_ms = 500\n'
		printf '[policy]\nauto_sell = no\n'
		printf '[dashboard]\nlisten = 127.0.0.1:%s\n' "${DASH[$a]}"
		printf '[log]\nlevel = info\n'
	} >>"$T/$a.conf"
	[ "$a" = zone ] && sed -i 's/^max_import_w = .*/&\nserial = REG-zone\nzone = z9/' "$T/$a.conf"
	"$AGENT" -c "$T/$a.conf" --check-config >/dev/null || not_ok "$a: configuration refused"
	"$AGENT" -c "$T/$a.conf" >"$T/$a.log" 2>&1 &
	PW_PIDS+=("$!")
done

state() { curl -sf "http://127.0.0.1:${DASH[$1]}/api/state"; }
jqs() { local s; s=$(state "$1") && [ -n "$s" ] && shift && echo "$s" | jq -e "$@" >/dev/null; }
has_problem() { jqs "$1" --arg c "$2" 'any(.problems[]; .code == $c)'; }
says() { jqs "$1" --arg c "$2" --arg re "$3" \
	'any(.problems[]; .code == $c and ((.message + " " + .action) | test($re)))'; }
# the log index of a household's latest REGISTRY entry in the exchange's log
# (the key is at frame offset 42: header 34 + time_s 8)
logged_at() { sqlite3 "$T/exchange.db" \
	"SELECT max(idx) FROM log WHERE type = 25 AND substr(frame, 43, 32) = x'$1'" 2>/dev/null; }

# --- the entry shown and proven --------------------------------------------------
proven() { jqs good --arg n "$1" '.registry.proven and .registry.name == $n'; }
WAIT_SECONDS=60 wait_for proven alice
check "good: its registry entry is in /api/state, proven" proven alice
idx=$(logged_at "$PKG")
check "good: the sentence names name, id, zone, meter, capacities and the log index ($idx)" \
	jqs good --arg t "Registered as alice (good) in zone z1, meter PWSIM-1-1, export up to 1.2 MW, import up to 1.2 MW; in the log at index $idx, proven" \
	'.registry.text == $t'
check "good: log_index is the entry's index in the exchange's log" \
	jqs good --argjson i "${idx:-null}" '.registry.log_index == $i and .registry.revoked == false'
check "good: no problem" jqs good '(.problems | length) == 0 and .registry.mismatch == null'
check "good: the header shows the registered name" jqs good '.household == "alice"'
check "good: the agent logged the entry" grep -q "registry: registered as alice (good) in zone z1" \
	"$T/good.log"

# --- the registry file changed, the exchange reloaded --------------------------------
registry alicia z2 PWSIM-1-1
kill -HUP "$EXPID"
changed() { jqs good '.registry.proven and .registry.name == "alicia" and .registry.zone == "z2"'; }
WAIT_SECONDS=60 wait_for changed
check "after SIGHUP: the agent holds the new entry (alicia, zone z2), proven" changed
idx2=$(logged_at "$PKG")
check "after SIGHUP: proven at the new entry's index ($idx2, was $idx)" \
	jqs good --argjson i "${idx2:-null}" --argjson o "${idx:-null}" \
	'.registry.log_index == $i and $i > $o'
check "after SIGHUP: still no problem" jqs good '(.problems | length) == 0'

# --- a serial mismatch ---------------------------------------------------------------
registry alicia z2 OTHER-1
kill -HUP "$EXPID"
WAIT_SECONDS=60 wait_for has_problem good registry_mismatch
check "serial changed in the registry: registry_mismatch" has_problem good registry_mismatch
check "serial mismatch: both serials named" \
	says good registry_mismatch 'meter serial "OTHER-1" in the log, "PWSIM-1-1" here'
check "serial mismatch: /api/state registry.mismatch says it" \
	jqs good '.registry.mismatch | test("OTHER-1")'
check "serial mismatch: logged loudly" grep -q "REGISTRY MISMATCH: .*meter serial \"OTHER-1\"" \
	"$T/good.log"
check "serial mismatch: /metrics has peerwatt_agent_problem{code=\"registry_mismatch\"} 1" \
	grep -qx 'peerwatt_agent_problem{code="registry_mismatch"} 1' \
	<(curl -sf "http://127.0.0.1:${DASH[good]}/metrics")

# --- a zone mismatch -----------------------------------------------------------------
WAIT_SECONDS=60 wait_for has_problem zone registry_mismatch
check "zone: [household] zone z9, registered z1: registry_mismatch" has_problem zone registry_mismatch
check "zone mismatch: both zones named" says zone registry_mismatch 'zone z1 in the log, z9 here'
finish
