#!/usr/bin/env bash
# metering_faults.sh: the reader (probe --count, the same modbus_link +
# sunspec + energy code the agent daemon polls with) rides through every
# fault of peerwatt-sim: it reports errors, never prints a value it did not
# read (no zeros for "not implemented", values consistent with the physics),
# reconnects, and its energy accounting neither jumps nor double counts.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/integration/lib.sh

AGENT=$BUILD/peerwatt-agent

# check_run FILE FAULT COUNT: every line of a probe --count --json run, judged.
check_run() {
	python3 - "$@" <<'PY'
import json, sys
f, fault, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
lines = [json.loads(l) for l in open(f) if l.strip()]
def need(c, msg):
    if not c:
        print("check failed (%s): %s" % (fault, msg))
        for l in lines[-8:]:
            print("  ", json.dumps(l)[:300])
        sys.exit(1)
need(len(lines) == count + 1 and "summary" in lines[-1], "one line per poll and a summary")
s = lines[-1]["summary"]
reads = [l for l in lines[:-1] if "error" not in l]
errs = [i for i, l in enumerate(lines[:-1]) if "error" in l]
need(s["ok"] == len(reads) and s["errors"] == len(errs), "summary counts")
prev = None
for r in reads:
    inv, met = r["inverter"], r["meter"]
    for k in ("export_wh", "import_wh"):
        v = met[k]
        # "not implemented" is null, never 0; only the waking device shows it
        need(v is None or v >= 1, "accumulator %s = %r" % (k, v))
        need(v is not None or fault == "sleep", "accumulator %s missing" % k)
    need(inv["ac_energy_wh"] is None or inv["ac_energy_wh"] >= 1, "inverter energy")
    pv, grid = inv["ac_power_w"], met["power_w"]
    need(pv is not None and 0 <= pv <= 5000, "pv power %r" % pv)
    need(grid is not None, "meter power")
    # grid = load - pv: the two powers must imply a believable household load,
    # which a misapplied scale factor (x10, /10) would break
    need(-100 <= grid + pv <= 3000, "load implied %r" % (grid + pv))
    if prev is not None:
        for k in ("export_wh", "import_wh"):
            a, b = prev["meter"][k], met[k]
            if a is None or b is None:
                continue
            if fault == "reset" and b < 1000:
                continue
            slack = 10 if fault == "sfchange" else 0  # 10 Wh counts round down
            need(b >= a - slack, "%s went back %d -> %d" % (k, a, b))
            need(b - a <= 100, "%s jumped %d -> %d" % (k, a, b))
    prev = r
e = s["energy"]
need(e["rejected"] == 0, "energy steps rejected: %r" % e)
need(e["export_wh"] >= 0 and e["import_wh"] >= 0, "energy")
if fault in ("drop", "garbage", "slow", "sleep"):
    need(len(errs) >= 1, "the fault was reported")
    need(s["connects"] >= 2, "reconnected (connects %d)" % s["connects"])
    # recovery: a good reading after the first error
    first_read_after = [i for i, l in enumerate(lines[:-1]) if "error" not in l and i > errs[0]]
    need(first_read_after, "a reading after the first error")
if fault == "drop":
    need(s["malformed"] >= 1, "dropped connections seen")
if fault == "garbage":
    need(s["malformed"] + s["timeouts"] >= 1, "malformed replies seen")
if fault == "slow":
    need(s["timeouts"] >= 1, "late replies timed out")
if fault in ("sfchange", "reset"):
    need(len(errs) == 0, "no transport errors")
if fault == "reset":
    need(e["resets"] >= 1, "the reset was detected")
if fault == "sleep":
    need(errs[0] == 0, "asleep at the start")
    waking = [r for r in reads if r["meter"]["export_wh"] is None]
    need(waking, "zero accumulators at wake-up reported as null")
    need(reads[-1]["meter"]["export_wh"] is not None, "accumulators back after waking")
print("ok: %d readings, %d errors, %d connects" % (len(reads), len(errs), s["connects"]))
PY
}

run_fault() {
	local fault=$1 models=$2 count=$3
	shift 3
	if ! start_sim --fault "$fault" --models "$models" "$@"; then
		not_ok "sim with --fault $fault starts"
		return
	fi
	local out=$PW_TMP/$fault.$models.jsonl
	"$AGENT" probe --modbus "tcp://127.0.0.1:$SIM_PORT" --unit 1 --json --count "$count" \
		--interval 200 --timeout 1500 --rated-power 10000 >"$out" 2>"$out.err"
	local rc=$?
	check "probe survives --fault $fault ($models) and exits 0 (got $rc)" test "$rc" -eq 0
	check "readings under --fault $fault ($models) are real, errors reported, link recovers" \
		check_run "$out" "$fault" "$count"
	stop_pid "$SIM_PID"
}

run_fault drop int 25 --start-time 12:00
run_fault drop float 25 --start-time 12:00 --seed 2
run_fault garbage int 25 --start-time 12:00
run_fault garbage float 25 --start-time 12:00 --seed 3
run_fault slow int 20 --start-time 12:00
run_fault sfchange int 25 --start-time 12:00
run_fault reset int 30 --start-time 12:00
# asleep until 06:00 simulated, 2 s away at 30x; the rating covers 30x energy
start_sim --fault sleep --models int --start-time 05:59 --speed 30 || not_ok "sleep sim starts"
out=$PW_TMP/sleep.jsonl
"$AGENT" probe --modbus "tcp://127.0.0.1:$SIM_PORT" --unit 1 --json --count 35 \
	--interval 200 --timeout 1500 --rated-power 300000 >"$out" 2>"$out.err"
check "probe survives --fault sleep" test $? -eq 0
check "asleep: errors, no readings; awake: zero accumulators null, then values" check_run "$out" sleep 35
stop_pid "$SIM_PID"
finish
