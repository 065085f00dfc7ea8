#!/usr/bin/env bash
# agent_curtail.sh: export curtailment against peerwatt-sim and a real
# exchange (docs/agent-energy.md "Curtailment").  The exchange's fixed feed-in
# tariff is negative (-2.1 ct/kWh), 4 s intervals, max_ahead_s 5 so that
# a reload's new tariffs apply two intervals later.  Two simulators at
# noon (PV 5 kW, load 600 W: exporting), one agent each, none selling:
# "on" has [device] control = on, "off" has control off; "bad" has control
# on against a simulator that acknowledges writes and keeps nothing
# (--controls ignore); "der" has control on against a simulated IEEE 1547
# DER: models 702 and 704 instead of 121 and 123 (--control-model 704).
# Checks:
#   on writes a limit (model 123 WMaxLimPct with WMaxLim_Ena and a revert
#   timeout), reads it back, says so in its log and on the dashboard
#   ("Export limited HH:MM-HH:MM: feed-in -2.10 ct/kWh"); the simulator's PV
#   is clipped to the limit;
#   after the exchange's feed-in turns positive (SIGHUP) on lifts the limit
#   (WMaxLim_Ena 0 read back), the simulator says it was lifted;
#   negative again: on limits again; killed with SIGKILL while limiting,
#   the simulator's inverter lifts the limit by itself when the revert
#   timeout runs out (its registers polled with probe --json, no fixed
#   sleeps); restarted, it limits again, the intervals it limited before
#   the kill still listed (table curtailments), ended, with their estimated
#   saving; a graceful stop (SIGTERM) lifts the limit at once;
#   off never writes: its simulator never saw a limit, its log says nothing
#   of curtailment;
#   bad's read-back differs: the control_failed problem on the dashboard
#   and in the log names the register and both values, the event is
#   marked unconfirmed;
#   der limits through model 704 (WMaxLimPctEna, WMaxLimPct of 702's
#   WMax, a reversion to 100 % disabled after WMaxLimPctRvrtTms), read
#   back, its simulator clips the PV; lifted (WMaxLimPctEna 0) when the
#   feed-in turns positive; killed while limiting, its inverter reverts by
#   itself when the reversion time runs out.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/integration/lib.sh

AGENT=$BUILD/peerwatt-agent
EXCH=$BUILD/peerwatt-exchange
L=4
T=$PW_TMP

XPK=$("$AGENT" keygen --out "$T/exchange.key" | sed -n 's/^public key: //p')
declare -A SIMPORT SIMERR APID PK DASH
: >"$T/households"
k=0
for n in on off bad der; do
	k=$((k + 1))
	extra=()
	[ $n = bad ] && extra=(--controls ignore)
	[ $n = der ] && extra=(--control-model 704)
	start_sim --start-time 12:00 --pv-peak 5000 --load 600 --seed $k "${extra[@]}" ||
		not_ok "simulator $n starts"
	SIMPORT[$n]=$SIM_PORT
	SIMERR[$n]=$T/sim.$SIM_PORT.err
	PK[$n]=$("$AGENT" keygen --out "$T/$n.key" | sed -n 's/^public key: //p')
	echo "$n $n ${PK[$n]} PWSIM-$k-1 z1 1200000 1200000" >>"$T/households"
done

REQ=$(free_port)
PUB=$(free_port)
xconf() {
	exchange_conf "$T/exchange.conf" curtail 47 "$REQ" "$PUB" "$T/households" \
		"$T/exchange.db" "$T/exchange.key"
	sed -i "s/^feedin = .*/feedin = $1/" "$T/exchange.conf"
	printf '[market]\ninterval_s = %s\ngate_s = 1\ngrace_s = 2\nmax_ahead_s = 5\n' $L \
		>>"$T/exchange.conf"
}
xconf -0.021
"$EXCH" -c "$T/exchange.conf" >>"$T/exchange.log" 2>&1 &
EXPID=$!
PW_PIDS+=($!)
wait_port "$REQ" 60 || not_ok "exchange starts"

for n in on off bad der; do
	DASH[$n]=$(free_port)
	agent_conf "$T/$n.conf" "$T/$n.key" "$T/$n.db" "${SIMPORT[$n]}" "$REQ" "$PUB" "$XPK" 47 $L
	sed -i 's/^feedin_price = .*/feedin_price = -0.021/' "$T/$n.conf"
	if [ $n != off ]; then
		printf '[device]\ncontrol = on\n' >>"$T/$n.conf"
	fi
	printf '[policy]\nauto_sell = no\n[dashboard]\nlisten = 127.0.0.1:%s\n[log]\nlevel = info\n' \
		"${DASH[$n]}" >>"$T/$n.conf"
	"$AGENT" -c "$T/$n.conf" >>"$T/$n.log" 2>&1 &
	APID[$n]=$!
	PW_PIDS+=($!)
done

# what peerwatt-agent probe --json reads of a simulator's controls
controls() { "$AGENT" probe --json --timeout 1000 "tcp://127.0.0.1:${SIMPORT[$1]}" 2>/dev/null; }
limit_is() { # SIM true|false
	controls "$1" | python3 -c '
import json, sys
c = json.load(sys.stdin).get("controls")
sys.exit(0 if c is not None and c["limit_enabled"] == (sys.argv[1] == "true") else 1)' "$2"
}
count() { grep -c "$1" "$2" 2>/dev/null || true; }
state() { curl -s -m 5 "http://127.0.0.1:${DASH[${1:-on}]}/api/state"; }

# --- the limit: written with a revert timeout, read back -------------------------
WAIT_SECONDS=40 wait_for grep -q "WMaxLimPct .* written and read back, revert in [1-9]" "$T/on.log"
check "on writes an export limit with a revert timeout and reads it back" \
	grep -q "WMaxLimPct .* written and read back, revert in [1-9]" "$T/on.log"
check "... the decision names the negative feed-in" \
	grep -q "curtailment: interval .*feed-in -2.10 ct/kWh is below the floor 0.00 ct/kWh: export limited to the load" "$T/on.log"
check "the simulator took the limit with its revert timeout" \
	grep -q "sim: export limit [0-9.]* % of 5000 W, revert in [1-9][0-9]* s" "${SIMERR[on]}"
has_event() {
	state | python3 -c '
import json, sys
c = json.load(sys.stdin)["curtailment"]
e = c["events"][0]
sys.exit(0 if c["enabled"] and c["limiting"] and e["text"].startswith("Export limited ")
         and e["text"].endswith("feed-in -2.10 ct/kWh") and e["feed_in_uper_kwh"] == -21000
         and e["estimate"] and e["ok"] else 1)'
}
WAIT_SECONDS=20 wait_for has_event
check "the dashboard shows when and why export is limited" has_event
# the statements view lists the limited intervals with their estimated saving
saved_listed() {
	curl -s -m 5 "http://127.0.0.1:${DASH[on]}/api/statements" | python3 -c '
import json, sys
c = json.load(sys.stdin)["curtailed"]
e = [x for x in c if x["saved_u"] is not None]
sys.exit(0 if e and all(x["estimate"] and x["not_exported_wh"] >= 0 and
         x["saved_u"] == x["not_exported_wh"] * 21000 // 1000 for x in e) else 1)'
}
WAIT_SECONDS=20 wait_for saved_listed
check "the statements view lists the limited intervals with an estimated saving" saved_listed
pv_clipped() {
	state "${1:-on}" | python3 -c '
import json, sys
s = json.load(sys.stdin)
c = s["curtailment"]
# the simulator clips its PV to the limit (load + 0 sold, rounded up to 0.01 %)
sys.exit(0 if s["pv_w"] is not None and c["limit_w"] is not None
         and s["pv_w"] <= c["limit_w"] + 60 and s["pv_w"] < 3000 else 1)'
}
WAIT_SECONDS=20 wait_for pv_clipped
check "the simulated inverter's output is clipped to the limit" pv_clipped

# the load comes from PV and grid power of one round: a PV power read before
# the limit with a grid power read after it would make the limit jump
limits_sane() {
	grep -o "WMaxLimPct [0-9]* (x 10^-2 %)" "$T/on.log" | awk '{ if ($2 >= 3000) bad = 1 } END { exit bad }'
}
check "every limit written is the load (about 600 W, below 30 % of 5 kW), never a stale PV power" limits_sane

# --- an IEEE 1547 DER: model 704 ----------------------------------------------------
WAIT_SECONDS=40 wait_for grep -q "model 704 WMaxLimPct .* written and read back, revert in [1-9]" "$T/der.log"
check "der writes its export limit through model 704 and reads it back" \
	grep -q "model 704 WMaxLimPct [0-9]* (x 10^-1 %) of WMax 5000 W written and read back, revert in [1-9]" "$T/der.log"
check "... its simulator took it, with the reversion time" \
	grep -q "sim: export limit [0-9.]* % of 5000 W, revert in [1-9][0-9]* s (model 704)" "${SIMERR[der]}"
der_limited() {
	controls der | python3 -c '
import json, sys
c = json.load(sys.stdin)["controls"]
# the limit is about the load (600 W of 5000 W: 12 %, at 0.1 %)
sys.exit(0 if c["model"] == 704 and c["limit_enabled"] and c["limit_pct_sf"] == -1
         and 0 < c["limit_pct_raw"] < 300 and c["revert_s"] > 0
         and 0 < c["revert_left_s"] <= c["revert_s"] else 1)'
}
check "... probe reads the limit from model 704, its reversion counting down" der_limited
WAIT_SECONDS=20 wait_for pv_clipped der
check "... the simulated DER's output is clipped to the limit" pv_clipped der

# --- restored when feed-in is no longer negative -----------------------------------
xconf 0.08
kill -HUP "$EXPID"
WAIT_SECONDS=40 wait_for grep -q "export limit lifted (model 123 WMaxLim_Ena 0 read back)" "$T/on.log"
check "on lifts the limit once the feed-in is positive, read back" \
	grep -q "export limit lifted (model 123 WMaxLim_Ena 0 read back)" "$T/on.log"
check "... the simulator's limit is lifted" grep -q "sim: export limit lifted" "${SIMERR[on]}"
not_limiting() { state | python3 -c '
import json, sys
sys.exit(0 if not json.load(sys.stdin)["curtailment"]["limiting"] else 1)'; }
check "... the dashboard no longer says limiting" not_limiting
WAIT_SECONDS=40 wait_for grep -q "export limit lifted (model 704 WMaxLimPctEna 0 read back)" "$T/der.log"
check "der lifts its model 704 limit (WMaxLimPctEna 0 read back)" \
	grep -q "export limit lifted (model 704 WMaxLimPctEna 0 read back)" "$T/der.log"
check "... its simulator's limit is lifted" grep -q "sim: export limit lifted (model 704)" "${SIMERR[der]}"

# --- killed while limiting: the inverter reverts by itself ---------------------------
before=$(count "written and read back" "$T/on.log")
der_before=$(count "written and read back" "$T/der.log")
xconf -0.021
kill -HUP "$EXPID"
more_writes() { [ "$(count "written and read back" "$T/${1:-on}.log")" -gt "${2:-$before}" ]; }
WAIT_SECONDS=40 wait_for more_writes
check "negative again: on limits again" more_writes
WAIT_SECONDS=40 wait_for more_writes der "$der_before"
check "... and der" more_writes der "$der_before"
# the limited intervals on record before the kill (newest limiting now)
curtailed() { curl -s -m 5 "http://127.0.0.1:${DASH[on]}/api/statements" | python3 -c '
import json, sys
print(" ".join(str(e["interval"]) for e in json.load(sys.stdin)["curtailed"]))'; }
ivs_before=$(curtailed)
kill -KILL "${APID[on]}" "${APID[der]}"
wait "${APID[on]}" "${APID[der]}" 2>/dev/null
check "right after SIGKILL the simulator's inverter is still limited" limit_is on true
check "... and the DER" limit_is der true
"$AGENT" probe --timeout 1000 "tcp://127.0.0.1:${SIMPORT[der]}" >"$T/der.probe" 2>&1
check "... probe's table says so: model 704, the limit, when the DER lifts it" \
	grep -qE "^controls    export limit: model 704, limited to [0-9.]+ % of WMax 5000 W \([0-9]+ W\), lifted by the device in [0-9]+ s$" "$T/der.probe"
"$AGENT" probe --timeout 1000 "tcp://127.0.0.1:${SIMPORT[off]}" >"$T/off.probe" 2>&1
check "... and of off's inverter: model 123, not limited" \
	grep -q "^controls    export limit: model 123, not limited (WMax 5000 W)$" "$T/off.probe"
WAIT_SECONDS=40 wait_for limit_is on false
check "... and lifts the limit by itself when the revert timeout runs out" limit_is on false
check "... as the simulator says" grep -q "revert timeout ran out: limit lifted" "${SIMERR[on]}"
der_reverted() {
	controls der | python3 -c '
import json, sys
c = json.load(sys.stdin)["controls"]
sys.exit(0 if not c["limit_enabled"] and c["revert_left_s"] == 0
         and c["limit_pct_raw"] == 1000 else 1)'
}
WAIT_SECONDS=40 wait_for der_reverted
check "... the DER takes its reversion (100 %, disabled) when WMaxLimPctRvrtTms runs out" der_reverted
check "... as its simulator says" grep -q "revert timeout ran out: limit lifted" "${SIMERR[der]}"

# --- a graceful stop lifts the limit at once -------------------------------------------
# (a record out of bounds in the database is left out at the restart, said so)
sqlite3 "$T/on.db" "INSERT INTO curtailments VALUES(7, -5, 0, 0, 0, 0, 0, 0, 0, 9, NULL)"
before=$(count "written and read back" "$T/on.log")
"$AGENT" -c "$T/on.conf" >>"$T/on.log" 2>&1 &
APID[on]=$!
PW_PIDS+=($!)
WAIT_SECONDS=40 wait_for more_writes
check "restarted, on limits again" more_writes
# the record of limited intervals survives the restart (table curtailments)
kept() {
	curl -s -m 5 "http://127.0.0.1:${DASH[on]}/api/statements" | python3 -c '
import json, sys
ev = {e["interval"]: e for e in json.load(sys.stdin)["curtailed"]}
before = [int(x) for x in sys.argv[1].split()]
# every interval limited before the kill is listed again, each ended (the
# one limited at the kill at the latest at its interval'"'"'s end), and
# those with a forecast still have their estimated saving
sys.exit(0 if before and all(i in ev and ev[i]["to"] is not None for i in before)
         and any(ev[i]["saved_u"] is not None for i in before) else 1)' "$ivs_before"
}
check "the limited intervals before the kill are still listed after the restart ($ivs_before)" kept
check "a record out of bounds in the database is not shown" bash -c "! grep -qw 7 <<<'$(curtailed)'"
check "... and logged" grep -q "curtailment: 1 record(s) of limited intervals out of bounds" "$T/on.log"
check "... from the agent's database" test \
	"$(sqlite3 "$T/on.db" 'SELECT count(*) FROM curtailments WHERE span_ms = 0')" -ge "$(wc -w <<<"$ivs_before")"
lifted=$(count "sim: export limit lifted" "${SIMERR[on]}")
lifted_log=$(count "export limit lifted" "$T/on.log")
stop_pid "${APID[on]}"
check "a graceful stop (SIGTERM) lifts the limit and reads it back" \
	test "$(count "export limit lifted" "$T/on.log")" -gt "$lifted_log"
check "... the simulator's limit is lifted at once, not by its revert timeout" \
	test "$(count "sim: export limit lifted" "${SIMERR[on]}")" -gt "$lifted"
check "... and holds no limit" limit_is on false
check "... the revert timeout ran out only once (after the SIGKILL)" \
	test "$(count "revert timeout ran out" "${SIMERR[on]}")" = 1

# --- control = off writes nothing --------------------------------------------------------
check "off's simulator never saw a limit" test "$(count "sim: export limit" "${SIMERR[off]}")" = 0
check "off's simulator holds no limit" limit_is off false
check "off's log says nothing of curtailment" test "$(count "curtailment" "$T/off.log")" = 0
check "off kept running" kill -0 "${APID[off]}"

# --- a read-back that differs is a problem, not ignored ------------------------------
bad_shown() {
	state bad | python3 -c '
import json, sys
s = json.load(sys.stdin)
p = [x for x in s["problems"] if x["code"] == "control_failed"]
e = s["curtailment"]["events"]
sys.exit(0 if p and "WMaxLimPct reads back 10000 after" in p[0]["message"]
         and e and not e[0]["ok"] else 1)'
}
WAIT_SECONDS=40 wait_for bad_shown
check "bad: a read-back that differs is the control_failed problem on the dashboard" bad_shown
check "... and in the log, naming the register and both values" \
	grep -q "status: control_failed: Writing the inverter's export limit failed: model 123 WMaxLimPct reads back 10000 after [0-9]* was written" "$T/bad.log"
check "... the simulator kept nothing" grep -q "acknowledged and ignored" "${SIMERR[bad]}"

finish
