#!/usr/bin/env bash
# agent_battery.sh: the agent daemon's battery setpoints (docs/agent-energy.md
# "Battery") against peerwatt-sim's battery at 21:00 (it discharges for
# the evening load when left to itself), state of charge 60 %.
#   "on" has [battery] control = on and reserve_pct = 70: it writes "no
#   discharge" (StorCtl_Mod DISCHARGE, OutWRte 0) with a revert timeout,
#   reads it back and says so in its log; the battery stops discharging.
#   Killed with SIGKILL, the agent writes nothing more: the battery goes
#   back to its own controller by itself when the revert timeout ends.
#   "off" (control off) never writes: its simulator never saw a control.
#   "nobat" has control on but a device without model 124: the problem
#   battery_control_failed, named in its log.
# Their [battery] strategy is self (the battery's own controller with the
# reserve kept): this test is about the setpoint path, not the plan
# (agent_bplan.sh tests the plan).
# No exchange is needed for this: the agents poll their devices regardless.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/integration/lib.sh

AGENT=$BUILD/peerwatt-agent
T=$PW_TMP
BAT=(--battery-wh 13500 --battery-charge-w 4000 --battery-discharge-w 4600
	--battery-reserve 15 --battery-soc 60)
XPK=$("$AGENT" keygen --out "$T/exchange.key" | sed -n 's/^public key: //p')
declare -A SIMPORT SIMERR APID

storage_of() { # PORT: the probe's storage section as compact JSON
	"$AGENT" probe --json "tcp://127.0.0.1:$1" 2>/dev/null |
		python3 -c 'import json, sys; print(json.dumps(json.load(sys.stdin)["storage"], sort_keys=True))'
}

for n in on off nobat; do
	if [ "$n" = nobat ]; then
		start_sim --start-time 21:00 --seed 4 || not_ok "simulator $n starts"
	else
		start_sim --start-time 21:00 --seed 4 "${BAT[@]}" || not_ok "simulator $n starts"
	fi
	SIMPORT[$n]=$SIM_PORT
	SIMERR[$n]=$T/sim.$SIM_PORT.err
	"$AGENT" keygen --out "$T/$n.key" >/dev/null
	agent_conf "$T/$n.conf" "$T/$n.key" "$T/$n.db" "$SIM_PORT" "$(free_port)" "$(free_port)" \
		"$XPK" 47 4
	if [ "$n" != off ]; then
		printf '[battery]\ncontrol = on\nstrategy = self\nreserve_pct = 70\n' >>"$T/$n.conf"
	fi
	"$AGENT" -c "$T/$n.conf" >"$T/$n.log" 2>&1 &
	APID[$n]=$!
	PW_PIDS+=($!)
done

WAIT_SECONDS=30 wait_for grep -q "battery: protect: the configured reserve 70.0 % is reached" "$T/on.log"
check "control on: the agent writes 'no discharge' below its reserve, reads it back, says so" \
	test $? -eq 0
check "... with a revert timeout, read back" \
	grep -q "battery: protect: .*(revert timeout [0-9]* s, read back)" "$T/on.log"
held() {
	storage_of "${SIMPORT[on]}" | python3 -c '
import json, sys
s = json.load(sys.stdin)
c = s["controls"]
sys.exit(0 if c["mode"] == 2 and c["out_rate_pct"] == 0.0 and 1 <= c["revert_s"] <= 14
         and s["power_w"] == 0.0 else 1)'
}
WAIT_SECONDS=20 wait_for held
check "the battery holds: StorCtl_Mod DISCHARGE, OutWRte 0, revert <= interval + 10 s" test $? -eq 0

kill -KILL "${APID[on]}"
wait "${APID[on]}" 2>/dev/null
reverted() {
	storage_of "${SIMPORT[on]}" | python3 -c '
import json, sys
s = json.load(sys.stdin)
sys.exit(0 if s["controls"]["mode"] == 0 and s["power_w"] > 0 else 1)'
}
WAIT_SECONDS=40 wait_for reverted
check "agent killed: the battery reverts to its own controller by itself" test $? -eq 0

check "control off: the agent read its battery ..." \
	grep -q "SunSpec at base 40000" "$T/off.log"
check "... and never wrote a control" test -z "$(grep 'battery controls' "${SIMERR[off]}")"
check "... nor logged a setpoint" test -z "$(grep 'battery: ' "$T/off.log")"
WAIT_SECONDS=30 wait_for grep -q "status: battery_control_failed: The battery's setpoint is not in force: .*no model 124" "$T/nobat.log"
check "control on without model 124: the battery_control_failed problem, named" test $? -eq 0
stop_pid "${APID[off]}"
stop_pid "${APID[nobat]}"
finish
