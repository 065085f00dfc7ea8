#!/usr/bin/env bash
# smeter.sh: utility smart meters end to end through pseudo-terminal pairs
# (socat): peerwatt-sim writes SML or DSMR P1 telegrams into one end,
# `peerwatt-agent probe sml:|p1:` reads the other.  Clean streams, CRC
# errors, truncated and garbled telegrams and a stalled stream: every value
# printed must be the meter's (never a corrupted one), every fault counted,
# the stall reported and ridden through.
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

# pty_pair NAME: a fresh pty pair $dir/NAME.sim <-> $dir/NAME.agent
pty_pair() {
	socat "pty,raw,echo=0,link=$dir/$1.sim" "pty,raw,echo=0,link=$dir/$1.agent" 2>"$dir/$1.socat.err" &
	PW_PIDS+=("$!")
	WAIT_SECONDS=30 wait_for test -e "$dir/$1.sim" -a -e "$dir/$1.agent"
}

# meter NAME KIND ARGS...: a simulated meter writing into pair NAME
meter() {
	local name=$1 kind=$2
	shift 2
	"$SIM" --listen "$kind:$dir/$name.sim" --interval 150 "$@" >"$dir/$name.sim.out" 2>"$dir/$name.sim.err" &
	SIM_PID=$!
	PW_PIDS+=("$SIM_PID")
	WAIT_SECONDS=30 wait_for grep -q "peerwatt-sim: writing $kind to" "$dir/$name.sim.out"
}

# check_lines FILE KIND SERIAL MIN_OK FAULT SEED: every reading is the meter's,
# the summary counts what the fault should have caused
check_lines() {
	python3 - "$@" <<'PY'
import json, sys
f, kind, serial, min_ok, fault, seed = sys.argv[1:7]
imp0, exp0 = 2500000 + 100 * int(seed), 4000000 + 100 * int(seed)
lines = [json.loads(x) for x in open(f)]
summ = lines[-1]["summary"]
reads = [l for l in lines[:-1] if "meter" in l]
assert len(reads) >= int(min_ok), (len(reads), summ)
assert summ["ok"] == len(reads), summ
prev = None
for r in reads:
    m = r["meter"]
    assert r["template"] == kind, r
    assert r["common"]["serial"] == serial, r
    # the sim exports 1500 W from exp0 Wh; import stays at imp0 Wh
    assert m["power_w"] == -1500, m
    assert m["import_wh"] == imp0, m
    assert exp0 <= m["export_wh"] <= exp0 + 200, m
    if prev is not None:
        assert m["export_wh"] >= prev, (prev, m)
    prev = m["export_wh"]
if fault == "crc":
    assert summ["crc_errors"] >= 1, summ
elif fault == "truncate":
    assert summ["truncated"] >= 1, summ
elif fault == "garble":
    assert summ["crc_errors"] + summ["malformed"] + summ["truncated"] >= 1, summ
elif fault == "stall":
    errs = [l for l in lines[:-1] if "error" in l]
    assert any(e["stalled"] for e in errs), lines
    assert summ["stalls"] >= 1, summ
    # and it came back: the last read is a good one
    assert "meter" in lines[-2], lines[-2]
else:
    assert summ["crc_errors"] + summ["malformed"] + summ["truncated"] == 0, summ
PY
}

n=0
for kind in sml p1; do
	serial=0a015057530000000007
	[ $kind = p1 ] && serial=PWSIM-P1-7
	for fault in none crc truncate garble stall; do
		n=$((n + 1))
		pty_pair "m$n" || { not_ok "pty pair $n"; continue; }
		meter "m$n" $kind --fault $fault --seed 7 || { not_ok "$kind sim ($fault) starts"; continue; }
		out=$dir/probe.$n
		if [ $fault = stall ]; then
			# the sim goes quiet for 4 s after 3 telegrams: reads time out
			# (1 s each), the reader calls it stalled, then reads again
			"$AGENT" probe --json --count 9 --wait 1000 --stall 1500 "$kind:$dir/m$n.agent" >"$out" 2>"$out.err"
			check "$kind stalled stream: reported as stalled, no value while silent, then read again" \
				check_lines "$out" $kind $serial 4 stall 7
		else
			"$AGENT" probe --json --count 6 --wait 3000 "$kind:$dir/m$n.agent" >"$out" 2>"$out.err"
			check "$kind stream with fault '$fault': six reads, every value the meter's, fault counted (exit $?)" \
				check_lines "$out" $kind $serial 6 $fault 7
		fi
		stop_pid "$SIM_PID"
	done
done

# One read, JSON and table, with the probe's keys and the template named.
pty_pair one || not_ok "pty pair one"
meter one p1 --power 2100 --seed 3
"$AGENT" probe --json --template p1 "p1:$dir/one.agent:115200" >"$dir/one.json" 2>"$dir/one.err"
check "probe --json p1: one object with template p1 and meter{power_w,export_wh,import_wh}" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["template"] == "p1" and d["baud"] == 115200, d
assert set(d["meter"]) == {"power_w", "export_wh", "import_wh"}, d
assert d["meter"]["power_w"] == 2100 and d["meter"]["export_wh"] == 4000300, d
assert d["common"]["serial"] == "PWSIM-P1-3", d' "$dir/one.json"
"$AGENT" probe "p1:$dir/one.agent" >"$dir/one.txt" 2>&1
check "probe p1: a table naming the template and the values" grep -q "meter       power 2100 W, export 4000300 Wh" "$dir/one.txt"
stop_pid "$SIM_PID"

# A device nobody writes to: no value, exit 69, a reason.
"$AGENT" probe --wait 500 "sml:$dir/one.agent" >"$dir/quiet.out" 2>"$dir/quiet.err"
rc=$?
check "a silent meter: exit 69 (got $rc), nothing on stdout" test "$rc" -eq 69 -a ! -s "$dir/quiet.out"
check "and it says no valid telegram came" grep -q "no valid telegram in time" "$dir/quiet.err"
"$AGENT" probe "sml:$dir/no-such-device" >/dev/null 2>"$dir/nodev.err"
rc=$?
check "a missing device: exit 69 (got $rc), 'cannot open'" test "$rc" -eq 69
grep -q "cannot open" "$dir/nodev.err" || not_ok "missing device message: $(cat "$dir/nodev.err")"
for bad in "sml:dev/ttyUSB0" "p1:/dev/ttyUSB0:12345" "p1:" "sml:/dev/../etc/passwd" "p1:/dev/ttyUSB0:"; do
	"$AGENT" probe "$bad" >/dev/null 2>&1
	rc=$?
	check "probe '$bad' is a usage error (exit $rc)" test "$rc" -eq 64
done
"$AGENT" probe --template sml "p1:$dir/one.agent" >/dev/null 2>&1
rc=$?
check "--template sml with a p1: URL is a usage error (exit $rc)" test "$rc" -eq 64
# under SANITIZE the readers' and sims' stderr would carry any report
check "no sanitizer report from the probes or the simulated meters" \
	test -z "$(grep -l 'Sanitizer\|runtime error' "$dir"/*.err "$dir"/*/*.err 2>/dev/null)"
finish
