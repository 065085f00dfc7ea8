#!/usr/bin/env bash
# metering.sh: `peerwatt-agent probe` reads peerwatt-sim in every variant
# (base 40000/0/50000, int/float models, unit ids) and exits 69 with a clear
# message when there is no device or the unit is wrong, followed by the next
# step to take (the port, the unit id); a URL without a port is a usage error
# that shows the URL with one.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/integration/lib.sh

SIM=$BUILD/peerwatt-sim
AGENT=$BUILD/peerwatt-agent

# check_json FILE BASE UNIT INV METER MODELNAME: the probe's JSON says what the sim serves.
check_json() {
	python3 - "$@" <<'PY'
import json, sys
f, base, unit, inv, meter, md = sys.argv[1:7]
d = json.load(open(f))
def need(c, msg):
    if not c:
        print("check failed:", msg, json.dumps(d)); sys.exit(1)
need(d["base"] == int(base), "base")
need(d["unit"] == int(unit), "unit")
ids = [m["id"] for m in d["models"]]
# the inverter's settings and controls (121, 123) follow the meter
need(ids[:5] == [1, int(inv), int(meter), 121, 123], "model ids %s" % ids)
# probe reads the export limit (never writes it): the simulator holds none
ctl = d["controls"]
need(ctl["limit_enabled"] is False and ctl["wmax_w"] == 5000, "controls %s" % ctl)
need(d["models"][0]["addr"] == int(base) + 2, "common addr")
need(d["models"][0]["len"] in (65, 66), "common len")
a = d["models"][0]["addr"] + 2 + d["models"][0]["len"]
need(d["models"][1]["addr"] == a, "chain addr")
c = d["common"]
need(c["manufacturer"] == "peerwatt" and c["model"] == md, "common strings")
need(c["serial"].startswith("PWSIM-") and c["serial"].endswith("-" + unit), "serial")
i = d["inverter"]
need(i["model"] == int(inv), "inverter model")
# 12:00 clear sky with 5 kW peak: PV between cloud floor and peak, never invented
need(isinstance(i["ac_power_w"], float) and 0 < i["ac_power_w"] <= 5000, "pv power")
need(isinstance(i["ac_energy_wh"], int) and i["ac_energy_wh"] >= 12345678, "pv energy")
need(i["status"] == "MPPT", "status")
m = d["meter"]
need(m["model"] == int(meter), "meter model")
need(isinstance(m["power_w"], float) and -5000 <= m["power_w"] <= 5000, "meter power")
need(isinstance(m["export_wh"], int) and m["export_wh"] >= 4000000, "export")
need(isinstance(m["import_wh"], int) and m["import_wh"] >= 2500000, "import")
PY
}

n=0
for variant in "40000 int 1" "0 float 3" "50000 int 247" "50000 float 1" "0 int 2" "40000 float 17"; do
	set -- $variant
	base=$1 models=$2 unit=$3
	n=$((n + 1))
	if ! start_sim --base "$base" --models "$models" --unit "$unit" --start-time 12:00 --seed "$n"; then
		not_ok "sim base $base $models unit $unit starts"
		continue
	fi
	inv=103 meter=203 md=sim-int
	[ "$models" = float ] && inv=113 meter=213 md=sim-float
	out=$PW_TMP/probe.$n.json
	if "$AGENT" probe --modbus "tcp://127.0.0.1:$SIM_PORT" --unit "$unit" --json >"$out" 2>"$PW_TMP/probe.$n.err"; then
		check "probe --json reads base $base $models unit $unit" check_json "$out" "$base" "$unit" "$inv" "$meter" "$md"
	else
		not_ok "probe --json reads base $base $models unit $unit (exit $?)"
		cat "$PW_TMP/probe.$n.err"
	fi
	# The readable table says the same.
	"$AGENT" probe --modbus "tcp://127.0.0.1:$SIM_PORT" --unit "$unit" >"$out.txt" 2>&1
	check "probe table for base $base $models unit $unit" grep -q "meter       model $meter: power .* W, export [0-9]* Wh" "$out.txt"
	# Another unit id on the same device: no answer we can use.
	wrong=$((unit % 247 + 1))
	"$AGENT" probe --modbus "tcp://127.0.0.1:$SIM_PORT" --unit "$wrong" --json >"$out.wrong" 2>"$out.wrong.err"
	rc=$?
	check "probe of unit $wrong on a unit-$unit device exits 69" test "$rc" -eq 69
	check "... and suggests another unit id as the next step" \
		grep -q "^next step: .*wrong unit id; try --unit 1, 126 or 255" "$out.wrong.err"
	stop_pid "$SIM_PID"
done

# Nobody listening: 69 and a message naming what was tried.
port=$(free_port)
"$AGENT" probe --modbus "tcp://127.0.0.1:$port" --unit 1 --json >"$PW_TMP/none.out" 2>"$PW_TMP/none.err"
rc=$?
check "probe without a device exits 69" test "$rc" -eq 69
check "the message names the URL and the bases tried" grep -q "tcp://127.0.0.1:$port unit 1: tried bases 40000, 0, 50000" "$PW_TMP/none.err"
check "nothing on stdout when nothing was read" test ! -s "$PW_TMP/none.out"
check "the next step is the address and the port" \
	grep -q "^next step: nothing accepts connections there: check the device's address and its Modbus TCP port (502" "$PW_TMP/none.err"
"$AGENT" probe --modbus "tcp://127.0.0.1" --unit 1 >/dev/null 2>"$PW_TMP/noport.err"
rc=$?
check "a URL without a port is a usage error (exit $rc) showing it with one" \
	test "$rc" -eq 64 -a -n "$(grep -F 'tcp://127.0.0.1: no port: Modbus TCP needs one, e.g. tcp://127.0.0.1:502' "$PW_TMP/noport.err")"

# Usage errors are 64.
"$AGENT" probe --modbus "udp://127.0.0.1:1" --unit 1 >/dev/null 2>&1
check "a bad URL is a usage error" test $? -eq 64
"$AGENT" probe --modbus "tcp://127.0.0.1:1" --unit 1x >/dev/null 2>&1
check "a bad unit is a usage error" test $? -eq 64
"$SIM" --listen "tcp://127.0.0.1:1" --fault nosuch >/dev/null 2>&1
check "the sim refuses an unknown fault" test $? -eq 64
"$SIM" --help | grep -q -- "--fault sleep|drop|sfchange|reset|slow|garbage"
check "the sim documents its flags" test $? -eq 0
finish
