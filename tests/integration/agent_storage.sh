#!/usr/bin/env bash
# agent_storage.sh: `peerwatt-agent probe --json` reads a home battery from
# peerwatt-sim's SunSpec storage models (124, 713, 802): capacity, limits,
# reserve and state of health as configured, the battery charging from the
# midday surplus (the meter then sees almost nothing), discharging for the
# evening load, stopping at its reserve, its state of charge moving with the
# energy it takes; float models carry the same storage models; a template's
# battery values (capacity, limits, health) fill the same section; a sim without
# a battery has no "storage" section; bad battery options are usage errors.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/integration/lib.sh

SIM=$BUILD/peerwatt-sim
AGENT=$BUILD/peerwatt-agent
BAT=(--battery-wh 13500 --battery-charge-w 4000 --battery-discharge-w 4600
	--battery-reserve 15 --battery-efficiency 92)

# check FILE KIND: python assertions on the probe's JSON per situation
check_storage() {
	python3 - "$@" <<'PY'
import json, sys
f, kind = sys.argv[1:3]
d = json.load(open(f))
def need(c, msg):
    if not c:
        print("check failed:", kind, msg, json.dumps(d)); sys.exit(1)
if kind == "none":
    need("storage" not in d, "no storage section without a battery")
    # only the inverter's settings and controls (121, 123) follow the meter
    need([m["id"] for m in d["models"]][3:] == [121, 123], "no storage models")
    sys.exit(0)
ids = [m["id"] for m in d["models"]]
need(ids[3:6] == [124, 713, 802], "storage models after the meter: %s" % ids)
s, m = d["storage"], d["meter"]
need(s["model"] == 802, "values from the battery model")
need(s["capacity_wh"] == 13500, "capacity")
need(s["max_charge_w"] == 4000.0 and s["max_discharge_w"] == 4600.0, "limits")
need(s["reserve_pct"] == 15.0 and s["soh_pct"] == 100.0, "reserve and health")
need(s["controls"] == {"mode": 0, "in_rate_pct": 0.0, "out_rate_pct": 0.0, "revert_s": 0},
     "no controls active")
p, soc = s["power_w"], s["soc_pct"]
need(isinstance(p, float) and isinstance(soc, float), "power and soc are numbers")
if kind == "noon":
    # the surplus goes into the battery: the meter sees what the battery cannot take
    need(-4000.0 <= p < -500.0, "charging at noon")
    need(s["charge_status"] == "CHARGING", "status charging")
    need(29.0 <= soc <= 32.0, "soc near its start")
    need(m["power_w"] <= 50.0, "no import while charging")
    if p > -3990.0:
        need(abs(m["power_w"]) <= 50.0, "below its limit the battery takes the whole surplus")
elif kind == "evening":
    need(0.0 < p <= 4600.0, "discharging in the evening")
    need(s["charge_status"] == "DISCHARGING", "status discharging")
    need(abs(m["power_w"]) <= 50.0, "the battery covers the load: the meter sees ~0")
elif kind == "reserve":
    need(p == 0.0, "idle at its reserve")
    need(s["charge_status"] == "EMPTY", "status empty")
    need(m["power_w"] > 100.0, "the house imports its load")
PY
}

start_sim --start-time 12:00 --speed 0.001 --pv-peak 6000 --seed 3 --battery-soc 30 "${BAT[@]}"
"$AGENT" probe --json "tcp://127.0.0.1:$SIM_PORT" >"$PW_TMP/noon.json" 2>"$PW_TMP/noon.err"
check "probe --json at noon: the battery charges from the surplus, limits as configured" \
	check_storage "$PW_TMP/noon.json" noon
"$AGENT" probe "tcp://127.0.0.1:$SIM_PORT" >"$PW_TMP/noon.txt" 2>&1
check "the table shows the storage line" \
	grep -q "^storage     model 802: state of charge .*, capacity 13500 Wh, power -" "$PW_TMP/noon.txt"
stop_pid "$SIM_PID"

start_sim --start-time 20:30 --speed 0.001 --seed 3 --battery-soc 80 --models float "${BAT[@]}"
"$AGENT" probe --json "tcp://127.0.0.1:$SIM_PORT" >"$PW_TMP/evening.json" 2>"$PW_TMP/evening.err"
check "in the evening the battery discharges to cover the load (float models too)" \
	check_storage "$PW_TMP/evening.json" evening
stop_pid "$SIM_PID"

start_sim --start-time 21:00 --speed 0.001 --seed 3 --battery-soc 15 "${BAT[@]}"
"$AGENT" probe --json "tcp://127.0.0.1:$SIM_PORT" >"$PW_TMP/reserve.json" 2>"$PW_TMP/reserve.err"
check "at its reserve the battery stops and the house imports" \
	check_storage "$PW_TMP/reserve.json" reserve
stop_pid "$SIM_PID"

# 10 simulated minutes per second: the state of charge follows the energy
start_sim --start-time 11:00 --speed 600 --pv-peak 8000 --load 300 --seed 5 --battery-soc 20 "${BAT[@]}"
"$AGENT" probe --json --count 3 --interval 1000 "tcp://127.0.0.1:$SIM_PORT" >"$PW_TMP/fast.json" 2>"$PW_TMP/fast.err"
check "the state of charge rises while the battery charges (and never past 100 %)" python3 -c '
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{\"template")]
soc = [r["storage"]["soc_pct"] for r in rows]
ok = len(soc) == 3 and soc[0] < soc[1] < soc[2] <= 100.0
if not ok: print(soc)
sys.exit(0 if ok else 1)' "$PW_TMP/fast.json"
stop_pid "$SIM_PID"

start_sim --start-time 12:00 --speed 0.001 --seed 3
"$AGENT" probe --json "tcp://127.0.0.1:$SIM_PORT" >"$PW_TMP/none.json" 2>"$PW_TMP/none.err"
check "without a battery there is no storage section" check_storage "$PW_TMP/none.json" none
stop_pid "$SIM_PID"

# model 124's controls written over Modbus (function 16, a raw frame): the sim
# honours them and reverts to self-consumption by itself after
# InOutWRte_RvrtTms simulated seconds (60 x real time here)
mb_write() { # PORT ADDR VALUE...: one write-multiple-registers request, exit 0 on its echo
	python3 - "$@" <<'PY'
import socket, struct, sys
port, addr, vals = int(sys.argv[1]), int(sys.argv[2]), [int(v) for v in sys.argv[3:]]
pdu = struct.pack(">BHHB", 16, addr, len(vals), 2 * len(vals))
pdu += b"".join(struct.pack(">H", v & 0xFFFF) for v in vals)
s = socket.create_connection(("127.0.0.1", port), timeout=5)
s.sendall(struct.pack(">HHHB", 7, 0, len(pdu) + 1, 1) + pdu)
r = s.recv(64)
s.close()
sys.exit(0 if len(r) >= 12 and r[7] == 16 and struct.unpack(">H", r[8:10])[0] == addr else 1)
PY
}
storage_of() { # PORT: the probe's storage section as compact JSON
	"$AGENT" probe --json "tcp://127.0.0.1:$1" 2>/dev/null |
		python3 -c 'import json, sys; print(json.dumps(json.load(sys.stdin)["storage"], sort_keys=True))'
}
start_sim --start-time 20:30 --speed 60 --seed 3 --battery-soc 60 "${BAT[@]}"
a124=$("$AGENT" probe --json "tcp://127.0.0.1:$SIM_PORT" 2>/dev/null |
	python3 -c 'import json, sys; print([m["addr"] for m in json.load(sys.stdin)["models"] if m["id"] == 124][0])')
# StorCtl_Mod (offset 5) = DISCHARGE; OutWRte, InWRte, WinTms, RvrtTms (offsets 12-15)
# (a revert timeout of an hour while the checks read; then one of 60 s to see it)
mb_write "$SIM_PORT" $((a124 + 12)) 0 0 0 3600 && mb_write "$SIM_PORT" $((a124 + 5)) 2
check "a write of model 124's controls is answered" test $? -eq 0
st=$(storage_of "$SIM_PORT")
check "the controls read back, and a 0 % discharge limit holds the battery" python3 -c '
import json, sys
s = json.loads(sys.argv[1])
ok = s["controls"] == {"mode": 2, "in_rate_pct": 0.0, "out_rate_pct": 0.0, "revert_s": 3600} \
     and s["power_w"] == 0.0 and s["charge_status"] == "HOLDING"
if not ok: print(s)
sys.exit(0 if ok else 1)' "$st"
reverted() {
	storage_of "$SIM_PORT" | python3 -c '
import json, sys
s = json.load(sys.stdin)
sys.exit(0 if s["controls"]["mode"] == 0 and s["power_w"] > 0 else 1)'
}
mb_write "$SIM_PORT" $((a124 + 15)) 60
WAIT_SECONDS=30 wait_for reverted
check "after its revert timeout the battery goes back to self-consumption by itself" test $? -eq 0
# a forced charge (negative OutWRte) from the grid (ChaGriSet GRID, offset 17)
mb_write "$SIM_PORT" $((a124 + 17)) 1 && mb_write "$SIM_PORT" $((a124 + 12)) -500 0 0 600 &&
	mb_write "$SIM_PORT" $((a124 + 5)) 2
st=$(storage_of "$SIM_PORT")
check "a negative OutWRte with grid charging charges at that rate at night" python3 -c '
import json, sys
s = json.loads(sys.argv[1])
ok = s["power_w"] == -2300.0 and s["charge_status"] == "CHARGING"
if not ok: print(s)
sys.exit(0 if ok else 1)' "$st"
stop_pid "$SIM_PID"

# probe --battery-set: the agent's own setpoints (agent/storage_ctl.c), each
# with its revert timeout, read back, and honoured by the battery
start_sim --start-time 21:00 --speed 60 --seed 3 --battery-soc 60 "${BAT[@]}"
U=tcp://127.0.0.1:$SIM_PORT
"$AGENT" probe --battery-set discharge:2000 --revert 3600 --json "$U" >"$PW_TMP/set1.json" 2>"$PW_TMP/set1.err"
rc=$?
st=$(storage_of "$SIM_PORT")
check "probe --battery-set discharge:2000 writes model 124 and reads it back" python3 -c '
import json, sys
c = json.load(open(sys.argv[1]))["battery_control"]
ok = (int(sys.argv[2]) == 0 and c["result"] == "ok" and c["planned"] == "discharge"
      and c["written"] == c["read_back"] and c["written"]["revert_s"] == 3600
      and c["written"]["mode"] == 3 and c["written"]["grid"] == 0)
if not ok: print(c)
sys.exit(0 if ok else 1)' "$PW_TMP/set1.json" "$rc"
check "the battery discharges 2000 W, the excess over the load going to the grid" python3 -c '
import json, sys
s = json.loads(sys.argv[1])
ok = 2000.0 <= s["power_w"] <= 2005.0 and s["controls"]["revert_s"] == 3600
if not ok: print(s)
sys.exit(0 if ok else 1)' "$st"
"$AGENT" probe --battery-set discharge:2000 --revert 60 "$U" >/dev/null 2>&1
WAIT_SECONDS=30 wait_for reverted
check "nobody writes again: the battery reverts to self-consumption by itself" test $? -eq 0
"$AGENT" probe --battery-set charge:1500 --revert 3600 "$U" >"$PW_TMP/set2.out" 2>&1
st=$(storage_of "$SIM_PORT")
check "charge:1500 at night without --grid-charge: ChaGriSet PV, nothing drawn from the grid" \
	python3 -c 'import json, sys; s = json.loads(sys.argv[1]); sys.exit(0 if s["power_w"] == 0.0 else 1)' "$st"
"$AGENT" probe --battery-set charge:1500 --grid-charge --revert 3600 "$U" >"$PW_TMP/set3.out" 2>&1
st=$(storage_of "$SIM_PORT")
check "charge:1500 --grid-charge: the battery charges from the grid" python3 -c '
import json, sys
s = json.loads(sys.argv[1])
sys.exit(0 if -1505.0 <= s["power_w"] <= -1500.0 else 1)' "$st"
"$AGENT" probe --battery-set discharge:1000 --reserve 70 --revert 3600 "$U" >"$PW_TMP/set4.out" 2>&1
rc=$?
st=$(storage_of "$SIM_PORT")
check "below the configured reserve a discharge becomes no discharge, and says why" \
	test "$rc" -eq 0 -a -n "$(grep '^battery     protect: state of charge .* at or below the reserve 70.0 %' "$PW_TMP/set4.out")" \
	-a -n "$(echo "$st" | grep '"power_w": 0.0')"
stop_pid "$SIM_PID"
"$AGENT" probe --battery-set hold --reserve 5 tcp://127.0.0.1:1 >/dev/null 2>&1
check "--battery-set with no device exits 69" test $? -eq 69
"$AGENT" probe --battery-set sell:100 tcp://127.0.0.1:1 >/dev/null 2>&1
check "--battery-set with an unknown setpoint is a usage error" test $? -eq 64
"$AGENT" probe --revert 60 tcp://127.0.0.1:1 >/dev/null 2>&1
check "--revert without --battery-set is a usage error" test $? -eq 64
"$AGENT" probe --battery-set hold --revert 0 tcp://127.0.0.1:1 >/dev/null 2>&1
check "a revert timeout of 0 is a usage error" test $? -eq 64

# a template's battery values: the same storage section, without a SunSpec model
TD=$PW_TMP/templates
mkdir -p "$TD"
cat >"$TD/hybrid.ini" <<'INI'
[template]
name = hybrid
manual = peerwatt test map: a hybrid inverter's meter and battery
role = meter
[grid_power]
fc = 3
address = 0
type = s32
unit = W
[export_energy]
fc = 3
address = 2
type = u32
unit = Wh
[import_energy]
fc = 3
address = 4
type = u32
unit = Wh
[battery_soc]
fc = 3
address = 10
type = u16
unit = %
scale = -1
[battery_power]
fc = 3
address = 11
type = s16
unit = W
sign = charge_positive
[battery_capacity]
fc = 3
address = 12
type = u16
unit = kWh
scale = -2
[battery_max_charge]
fc = 3
address = 13
type = u16
unit = W
[battery_max_discharge]
fc = 3
address = 14
type = u16
unit = W
[battery_soh]
fc = 3
address = 15
type = u16
unit = %
INI
start_sim --start-time 12:00 --speed 0.001 --pv-peak 6000 --seed 3 --battery-soc 30 "${BAT[@]}" \
	--template hybrid --template-dir "$TD"
"$AGENT" probe --json --template hybrid --template-dir "$TD" "tcp://127.0.0.1:$SIM_PORT" \
	>"$PW_TMP/tmpl.json" 2>"$PW_TMP/tmpl.err"
check "a template's battery values: capacity, limits, health, state of charge, power" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
s = d.get("storage")
ok = (s is not None and s["model"] is None and s["capacity_wh"] == 13500
      and s["max_charge_w"] == 4000.0 and s["max_discharge_w"] == 4600.0
      and s["soh_pct"] == 100.0 and 29.0 <= s["soc_pct"] <= 32.0
      and -4000.0 <= s["power_w"] < -500.0 and s["reserve_pct"] is None
      and "controls" not in s)
if not ok: print(json.dumps(d))
sys.exit(0 if ok else 1)' "$PW_TMP/tmpl.json"
stop_pid "$SIM_PID"

"$SIM" --listen "tcp://127.0.0.1:1" --battery-soc 50 >/dev/null 2>"$PW_TMP/u1.err"
check "--battery-soc without --battery-wh is a usage error" \
	test $? -eq 64 -a -n "$(grep -- '--battery-wh' "$PW_TMP/u1.err")"
"$SIM" --listen "tcp://127.0.0.1:1" --battery-wh 5000 --battery-efficiency 0 >/dev/null 2>"$PW_TMP/u2.err"
check "a zero efficiency is a usage error" test $? -eq 64 -a -n "$(grep 'efficiency' "$PW_TMP/u2.err")"
"$SIM" --listen "tcp://127.0.0.1:1" --battery-wh 5000 --battery-reserve 100 >/dev/null 2>&1
check "a 100 % reserve is a usage error" test $? -eq 64
finish
