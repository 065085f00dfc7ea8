#!/usr/bin/env bash
# agent_bplan.sh: the battery's plan carried out by the running agent
# (docs/agent-energy.md "Battery") against peerwatt-sim and a real exchange.
# Intervals of 5 s, the simulators' clock 360 x faster ([sim]): an interval
# is 30 simulated minutes, the test starts at 20:00 (no PV, the evening
# load).  Fixed tariffs 0.08 / 0.30 per kWh.
#   "bat": a battery of 13.5 kWh at 90 %, [battery] control = on, strategy
#   plan (the default), reserve_pct 30, horizon_h 6 (what it holds is more
#   than the next 6 hours of its small load need: the rest is for sale);
#   "nb": a neighbour without a battery whose standing bid (500 Wh at 0.28)
#   stands in every interval.
# Checks:
#   (a) /api/plan says "planned" with steps (interval, time of day, action,
#       reason, the state of charge at the end of each step never below the
#       reserve); the setpoint of the current interval is the one of its
#       step (store: charge, sell: discharge, or the own controller when
#       nothing of the offer sold, cover: the own controller, hold: hold),
#       written and read back (the agent's log, /api/state "setpoint",
#       the simulator's registers as its log of each write says);
#   (b) the battery's offer sells to the neighbour's bid: the interval's
#       setpoint is a discharge (need + sold); killed with SIGKILL while that
#       discharge is in force, the agent writes nothing more: the
#       simulator's battery reverts to its own controller (StorCtl_Mod 0) by
#       itself when the revert timeout ends;
#   the battery's energy charged and discharged per interval is stored with
#   the interval's energy row;
#   (c) the state of charge, sampled on the dashboard all along, never below
#       the reserve; "low", a third household with the same battery at 32 %
#       (reserve 30 %) and strategy self, lets the battery's own controller
#       cover its load down to the reserve, where the agent writes "no
#       discharge" within the interval: at most 0.5 points below (a full
#       poll's discharge).  (The plan itself never plans below the reserve:
#       test_bplan; it holds "low"'s last points for later loads.)
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/integration/lib.sh

AGENT=$BUILD/peerwatt-agent
EXCH=$BUILD/peerwatt-exchange
L=5
SPEED=360
START=20:00
T=$PW_TMP
EPOCH=$(($(date +%s) / L * L))

XPK=$("$AGENT" keygen --out "$T/exchange.key" | sed -n 's/^public key: //p')
declare -A SIMPORT SIMERR APID PK DASH
: >"$T/households"
k=0
for n in bat nb low; do
	k=$((k + 1))
	extra=(--load 100)
	[ $n = bat ] && extra=(--load 100 --battery-wh 13500 --battery-charge-w 4000
		--battery-discharge-w 4600 --battery-reserve 15 --battery-soc 90)
	[ $n = nb ] && extra=(--load 1200)
	[ $n = low ] && extra=(--load 100 --battery-wh 13500 --battery-charge-w 4000
		--battery-discharge-w 4600 --battery-reserve 15 --battery-soc 32)
	start_sim --start-time $START --epoch "$EPOCH" --speed $SPEED --pv-peak 3000 --seed $k \
		"${extra[@]}" || not_ok "simulator $n starts"
	SIMPORT[$n]=$SIM_PORT
	SIMERR[$n]=$T/sim.$SIM_PORT.err
	PK[$n]=$("$AGENT" keygen --out "$T/$n.key" | sed -n 's/^public key: //p')
	echo "$n $n ${PK[$n]} PWSIM-$k-1 z1 1200000 1200000" >>"$T/households"
done

REQ=$(free_port)
PUB=$(free_port)
exchange_conf "$T/exchange.conf" bplan 48 "$REQ" "$PUB" "$T/households" "$T/exchange.db" \
	"$T/exchange.key"
printf '[market]\ninterval_s = %s\ngate_s = 1\ngrace_s = 2\n' $L >>"$T/exchange.conf"
"$EXCH" -c "$T/exchange.conf" >>"$T/exchange.log" 2>&1 &
PW_PIDS+=($!)
wait_port "$REQ" 60 || not_ok "exchange starts"

for n in bat nb low; do
	DASH[$n]=$(free_port)
	agent_conf "$T/$n.conf" "$T/$n.key" "$T/$n.db" "${SIMPORT[$n]}" "$REQ" "$PUB" "$XPK" 48 $L
	sed -i 's/^rated_power_w = .*/rated_power_w = 100000000/' "$T/$n.conf"
	printf '[sim]\nepoch = %s\nstart = %s\nspeed = %s\n' "$EPOCH" $START $SPEED >>"$T/$n.conf"
	if [ $n != nb ]; then
		printf '[battery]\ncontrol = on\nreserve_pct = 30\nhorizon_h = 6\n' >>"$T/$n.conf"
		[ $n = low ] && printf 'strategy = self\n' >>"$T/$n.conf"
	else
		printf '[policy]\nauto_sell = no\n[bid.evening]\nqty_wh = 500\nmax_price = 0.28\n' \
			>>"$T/$n.conf"
		printf 'from = 00:00\nto = 23:59\n' >>"$T/$n.conf"
	fi
	printf '[dashboard]\nlisten = 127.0.0.1:%s\n[log]\nlevel = info\n' "${DASH[$n]}" \
		>>"$T/$n.conf"
	"$AGENT" -c "$T/$n.conf" >>"$T/$n.log" 2>&1 &
	APID[$n]=$!
	PW_PIDS+=($!)
done

api() { curl -s -m 5 "http://127.0.0.1:${DASH[${2:-bat}]}/api/$1"; }
# every look at the dashboard samples the state of charge of both battery
# households for (c)
soc_sample() {
	local n
	for n in bat low; do
		api state $n | python3 -c '
import json, sys
b = json.load(sys.stdin).get("battery") or {}
if b.get("soc_pct") is not None:
    print(b["soc_pct"])' >>"$T/soc.$n" 2>/dev/null
	done
}

# --- (a) the plan ----------------------------------------------------------------
planned() {
	soc_sample
	api plan | python3 -c '
import json, sys
p = json.load(sys.stdin)
s = p["steps"]
ok = (p["state"] == "planned" and len(s) >= 12 and len(s) <= 14
      and all(x["action"] in ("store", "sell", "cover", "hold") and x["reason"]
              and len(x["time_of_day"]) == 5 and x["soc_end_pct"] >= 30 - 0.5
              and x["feedin_uper_kwh"] == 80000 and x["retail_uper_kwh"] == 300000
              and 80000 <= x["local_uper_kwh"] <= 300000 for x in s)
      and p["value_u"] is not None and p["value_u"] >= p["none_value_u"]
      and p["battery"]["strategy"] == "plan")
sys.exit(0 if ok else 1)'
}
WAIT_SECONDS=60 wait_for planned
check "(a) /api/plan: planned, steps with time of day, action, reason, above the reserve" planned
sells() {
	soc_sample
	api plan | python3 -c '
import json, sys
s = json.load(sys.stdin)["steps"]
sys.exit(0 if any(x["action"] == "sell" and x["sell_wh"] > 0 and x["keep_uper_kwh"] <= 280000
                  for x in s) else 1)'
}
WAIT_SECONDS=60 wait_for sells
check "... the neighbour's evening bid (0.28): the plan sells stored energy, kept below 0.28" sells
WAIT_SECONDS=30 wait_for grep -q "battery: interval .* -> setpoint [a-z]*.*: ." "$T/bat.log"
check "... the agent logs the action carried out with its reason" \
	grep -q "battery: interval .* -> setpoint [a-z]*.*: ." "$T/bat.log"

# the setpoint in force (read back) is the one of the current interval's
# step; the simulator's registers as it logs each write (a probe would take
# the simulator's one Modbus connection from the agent)
sim_mode() { # the StorCtl_Mod the simulator took last (none: 0)
	sed -n 's/.*sim: battery controls: StorCtl_Mod \([0-9]*\) .*/\1/p' "${SIMERR[bat]}" |
		tail -1 | grep . || echo 0
}
matches() {
	soc_sample
	local p s
	p=$(api plan)
	s=$(api state)
	python3 -c '
import json, sys
p, s = json.loads(sys.argv[1]), json.loads(sys.argv[2])
mode = int(sys.argv[3])
now = [x for x in p["steps"] if x["interval"] == p["now_interval"]]
sp = (s.get("battery") or {}).get("setpoint")
if not now or sp is None:
    print("# no step for now or no setpoint:", p["now_interval"], sp, file=sys.stderr)
    sys.exit(1)
a = now[0]["action"]
want = {"store": ("charge",), "sell": ("discharge", "auto", "protect"),
        "cover": ("auto", "protect"), "hold": ("hold",)}[a]
ok = sp in want and ((sp == "auto") == (mode == 0))
if not ok:
    print("# step", a, "setpoint", sp, "registers mode", mode, file=sys.stderr)
sys.exit(0 if ok else 1)' "$p" "$s" "$(sim_mode)"
}
# (a snapshot that holds is what counts: a second look could fall across an
# interval's start, before the new setpoint is written)
WAIT_SECONDS=40 wait_for matches
rc=$?
check "(a) the setpoint written and read back is the current step's (plan, state, simulator)" test $rc -eq 0
[ $rc -eq 0 ] || matches 2>&1
check "... read back, with a revert timeout" \
	grep -q "battery: [a-z]*.*(revert timeout [0-9]* s, read back)" "$T/bat.log"

# --- (b) killed while its setpoint is in force --------------------------------------
discharging() { soc_sample; grep -q -- "-> setpoint discharge [0-9]* W" "$T/bat.log"; }
WAIT_SECONDS=60 wait_for discharging
check "the battery's offer sold to the neighbour: a discharge setpoint (sold + need)" discharging
# the controls the simulator's battery got last match $1 (a state-of-charge
# sample is taken too, for (c)); when they do not, the last three go to
# the log
controls_in_force() {
	soc_sample
	grep "sim: battery controls: " "${SIMERR[bat]}" | tail -1 | grep -q "$1"
}
controls_check() {
	local rc=0
	WAIT_SECONDS=60 wait_for controls_in_force "$2"
	controls_in_force "$2" || rc=1
	check "$1" test $rc -eq 0
	[ $rc -eq 0 ] || grep "sim: battery controls: " "${SIMERR[bat]}" | tail -3 | sed 's/^/# /'
}
# a discharge window in force: StorCtl_Mod 3, InWRte -x %, OutWRte x %;
# looked for while the sale's window is open (it closes when the sold
# energy is delivered, and later windows depend on later bids)
controls_check "the simulator's battery discharges under the agent's setpoint (revert timeout set)" \
	"StorCtl_Mod 3 InWRte -[0-9.]*% OutWRte [0-9.]*% revert [1-9]"
# the battery's energy per interval, stored with the interval's energy row
# once the interval closes
energy_recorded() {
	soc_sample
	python3 -c '
import sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
n, top = db.execute("SELECT count(*), max(bat_discharge_wh) FROM energy"
                    " WHERE bat_discharge_wh IS NOT NULL AND bat_charge_wh IS NOT NULL").fetchone()
sys.exit(0 if n >= 3 and top >= 200 else 1)' "$T/bat.db"
}
WAIT_SECONDS=60 wait_for energy_recorded
check "the battery's energy per interval is recorded (a sale's discharge among them)" \
	energy_recorded
# the agent is killed while a setpoint of its own is in force: any window
# (StorCtl_Mod 1-3) with a revert timeout, as the simulator last got it
controls_check "... a setpoint of the agent's in force (revert timeout set) when it is killed" \
	"StorCtl_Mod [1-3] .*revert [1-9]"
soc_sample
kill -KILL "${APID[bat]}"
wait "${APID[bat]}" 2>/dev/null
writes=$(grep -c "sim: battery controls: " "${SIMERR[bat]}")
reverted() {
	"$AGENT" probe --json --timeout 1000 "tcp://127.0.0.1:${SIMPORT[bat]}" 2>/dev/null |
		python3 -c '
import json, sys
sys.exit(0 if json.load(sys.stdin)["storage"]["controls"]["mode"] == 0 else 1)'
}
WAIT_SECONDS=40 wait_for reverted
check "(b) agent killed: the battery reverts to its own controller by itself" reverted
check "... nothing was written after the kill" \
	test "$(grep -c "sim: battery controls: " "${SIMERR[bat]}")" = "$writes"

# --- (c) the reserve --------------------------------------------------------------------
min_soc() { # FILE MIN: at least 5 samples, none below MIN
	python3 -c '
import sys
v = [float(x) for x in open(sys.argv[1]) if x.strip()]
sys.exit(0 if len(v) >= 5 and min(v) >= float(sys.argv[2]) else 1)' "$1" "$2"
}
check "(c) bat's state of charge never below the reserve of 30 % ($(wc -l <"$T/soc.bat") samples)" \
	min_soc "$T/soc.bat" 30
# low started 2 points above its reserve and its own controller covers the
# load: the reserve
# reached within an interval is written at once (protect, read back); the
# storage is read every 8th poll (2 s, 0.3 points of this load at 360 x)
WAIT_SECONDS=60 wait_for grep -q "battery: protect: .*(revert timeout [0-9]* s, read back)" \
	"$T/low.log"
check "(c) low reached its reserve: discharge stopped (protect), read back" \
	grep -q "battery: protect: .*(revert timeout [0-9]* s, read back)" "$T/low.log"
soc_sample
check "(c) ... its state of charge never more than 0.5 points below the reserve ($(wc -l <"$T/soc.low") samples)" \
	min_soc "$T/soc.low" 29.5
stop_pid "${APID[nb]}"
stop_pid "${APID[low]}"
finish
