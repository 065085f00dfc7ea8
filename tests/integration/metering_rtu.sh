#!/usr/bin/env bash
# metering_rtu.sh: Modbus RTU end to end through a pseudo-terminal pair
# (socat): peerwatt-sim serves one end, `peerwatt-agent probe` reads the other.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/integration/lib.sh

SIM=$BUILD/peerwatt-sim
AGENT=$BUILD/peerwatt-agent
if ! command -v socat >/dev/null 2>&1; then
	not_ok "socat is installed (make deps)"
	finish
	exit 1
fi
dir=$(cd "$PW_TMP" && pwd)

# rtu_pair NAME: a fresh pty pair $dir/NAME.sim <-> $dir/NAME.agent
rtu_pair() {
	socat "pty,raw,echo=0,link=$dir/$1.sim" "pty,raw,echo=0,link=$dir/$1.agent" 2>"$dir/$1.socat.err" &
	PW_PIDS+=("$!")
	WAIT_SECONDS=30 wait_for test -e "$dir/$1.sim" -a -e "$dir/$1.agent"
}

start_sim() {
	local out=$dir/sim.$1.out
	local name=$1
	shift
	"$SIM" --listen "rtu:$dir/$name.sim:$RTU_LINE" "$@" >"$out" 2>"$out.err" &
	SIM_PID=$!
	PW_PIDS+=("$SIM_PID")
	WAIT_SECONDS=30 wait_for grep -q "peerwatt-sim: listening on rtu:" "$out"
}

check_json() {
	python3 - "$@" <<'PY'
import json, sys
f, base, unit, inv, meter = sys.argv[1:6]
d = json.load(open(f))
assert d["base"] == int(base), d["base"]
assert d["unit"] == int(unit)
# the inverter's settings and controls (121, 123) follow the meter
assert [m["id"] for m in d["models"]][:5] == [1, int(inv), int(meter), 121, 123]
assert d["common"]["serial"].endswith("-" + unit)
assert 0 < d["inverter"]["ac_power_w"] <= 5000
assert d["inverter"]["ac_energy_wh"] >= 12345678
assert d["meter"]["export_wh"] >= 4000000 and d["meter"]["import_wh"] >= 2500000
assert -100 <= d["meter"]["power_w"] + d["inverter"]["ac_power_w"] <= 3000
PY
}

n=0
for variant in "40000 int 1 9600:8N1" "0 float 7 19200:8E1" "50000 int 247 115200:8N2"; do
	set -- $variant
	base=$1 models=$2 unit=$3 RTU_LINE=$4
	n=$((n + 1))
	rtu_pair "p$n" || { not_ok "pty pair $n"; continue; }
	start_sim "p$n" --base "$base" --models "$models" --unit "$unit" --start-time 12:00 ||
		{ not_ok "rtu sim $n starts"; continue; }
	inv=103 meter=203
	[ "$models" = float ] && inv=113 meter=213
	out=$dir/probe.$n.json
	"$AGENT" probe --modbus "rtu:$dir/p$n.agent:$RTU_LINE" --unit "$unit" --json >"$out" 2>"$out.err"
	check "probe over RTU $RTU_LINE reads base $base $models unit $unit (exit $?)" check_json "$out" "$base" "$unit" "$inv" "$meter"
	# Repeated polls on the serial line.
	"$AGENT" probe --modbus "rtu:$dir/p$n.agent:$RTU_LINE" --unit "$unit" --json --count 5 --interval 50 >"$out.l" 2>&1
	check "five RTU polls in a row succeed" python3 -c '
import json, sys
l = [json.loads(x) for x in open(sys.argv[1])]
assert l[-1]["summary"]["ok"] == 5, l[-1]' "$out.l"
	# Another slave address on the bus stays silent: timeout, 69, a message.
	"$AGENT" probe --modbus "rtu:$dir/p$n.agent:$RTU_LINE" --unit $((unit % 247 + 1)) --timeout 300 >/dev/null 2>"$out.wrong"
	rc=$?
	check "a silent RTU slave address exits 69 (got $rc)" test "$rc" -eq 69
	check "and says it timed out" grep -q "timed out" "$out.wrong"
	stop_pid "$SIM_PID"
done
finish
