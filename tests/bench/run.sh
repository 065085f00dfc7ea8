#!/usr/bin/env bash
# tests/bench/run.sh: the benchmark suite behind `make bench` (docs/performance.md).
#
# Runs $BUILD/bench/bench_verify first, then every other executable in
# $BUILD/bench/ and every tests/bench/*.sh (this script excepted), each from the
# repository top with BUILD exported and a timeout (PW_BENCH_TIMEOUT, default
# 900 s).  A bench prints lines
#
#     BENCH name value unit [target <=X|>=X]
#
# on stdout; everything else it prints goes to $BUILD/bench-logs/NAME.log.
# The BENCH lines are echoed as they come, gathered into $BUILD/bench.json
#
#     [{"name":..,"value":..,"unit":..,"target":"<=100"|null,"ok":true|false}, ...]
#
# ("ok" is whether the value meets its target; true when there is none) and
# summed up at the end.
#
# The verify ceiling measured at the start of the run is exported to the
# benches that follow, so that ratios compare figures of the same run:
#     PW_VERIFY_CEILING_PER_S     Ed25519 verifies/s on one core
#     PW_VERIFY_ALL_CORES_PER_S   the same on every online CPU
#
# Environment: BENCH=pattern runs only the benches whose name matches
# (bench_verify always runs); BENCH_SCRIPTS=DIR takes the scripts from DIR
# instead of tests/bench (the runner's own test uses it); PW_BENCH_SECONDS is passed on (length of one
# measurement in the benches that honour it); PW_BENCH_STRICT=1 makes a
# missed target fail the run.  Exit status: 0, or 1 when a bench failed (exit
# status not 0, or no BENCH line), or a target was missed under PW_BENCH_STRICT.
set -u
BUILD=${BUILD:-build}
export BUILD
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
logdir=$BUILD/bench-logs
mkdir -p "$logdir"
timeout_s=${PW_BENCH_TIMEOUT:-900}
pattern=${BENCH:-}
scripts=${BENCH_SCRIPTS:-tests/bench}
lines=$BUILD/bench-logs/bench-lines.txt
: >"$lines"
failed=()

# run_one NAME CMD...: run a bench, keep its BENCH lines, log the rest.
run_one() {
	local name=$1 log=$logdir/$1.log out rc
	shift
	echo "== $name"
	out=$(timeout "$timeout_s" "$@" 2>"$log.err")
	rc=$?
	printf '%s\n' "$out" >"$log"
	cat "$log.err" >>"$log"
	rm -f "$log.err"
	local bench
	bench=$(printf '%s\n' "$out" | grep -E '^BENCH [A-Za-z0-9_.-]+ ' || true)
	if [ -n "$bench" ]; then
		printf '%s\n' "$bench"
		printf '%s\n' "$bench" >>"$lines"
	fi
	if [ "$rc" -ne 0 ] || [ -z "$bench" ]; then
		echo "bench: $name failed (exit $rc; log $log)"
		tail -5 "$log" | sed 's/^/  | /'
		failed+=("$name")
	fi
}

# The value of BENCH line NAME from this run, or nothing.
bench_value() {
	awk -v n="$1" '$1 == "BENCH" && $2 == n { v = $3 } END { if (v != "") print v }' "$lines"
}

if [ -x "$BUILD/bench/bench_verify" ]; then
	run_one bench_verify "$BUILD/bench/bench_verify"
	PW_VERIFY_CEILING_PER_S=$(bench_value verify_ceiling_per_s)
	PW_VERIFY_ALL_CORES_PER_S=$(bench_value verify_all_cores_per_s)
	export PW_VERIFY_CEILING_PER_S PW_VERIFY_ALL_CORES_PER_S
else
	echo "bench: $BUILD/bench/bench_verify not built (run make bench)"
	failed+=(bench_verify)
fi

for bin in "$BUILD"/bench/*; do
	[ -f "$bin" ] && [ -x "$bin" ] || continue
	name=$(basename "$bin")
	case $name in bench_verify | *.d | *.o) continue ;; esac
	[ -n "$pattern" ] && [[ $name != *$pattern* ]] && continue
	run_one "$name" "$bin"
done
for script in "$scripts"/*.sh; do
	[ -f "$script" ] || continue
	name=$(basename "$script" .sh)
	[ "$name" = run ] && continue
	[ -n "$pattern" ] && [[ $name != *$pattern* ]] && continue
	run_one "$name" bash "$script"
done

# bench.json and the summary.  A target is "<=X" or ">=X"; a value that is
# not a number is reported and left out of the JSON.
awk -v json="$BUILD/bench.json" '
function jstr(s) { gsub(/\\/, "\\\\", s); gsub(/"/, "\\\"", s); return "\"" s "\"" }
$1 == "BENCH" {
	name = $2; value = $3; unit = $4; target = ""
	if ($5 == "target") target = $6
	if (value !~ /^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$/) {
		printf "bench: %s: value \"%s\" is not a number, skipped\n", name, value
		bad++
		next
	}
	ok = 1
	if (target ~ /^<=/) ok = (value + 0 <= substr(target, 3) + 0)
	else if (target ~ /^>=/) ok = (value + 0 >= substr(target, 3) + 0)
	else if (target != "") { printf "bench: %s: target \"%s\" not understood\n", name, target; target = "" }
	n++
	if (target != "") { t++; if (ok) met++; else missed = missed " " name }
	row[n] = sprintf("{\"name\":%s,\"value\":%s,\"unit\":%s,\"target\":%s,\"ok\":%s}",
	    jstr(name), value ~ /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?$/ ? value : sprintf("%.15g", value + 0), jstr(unit),
	    target == "" ? "null" : jstr(target), ok ? "true" : "false")
	sum[n] = sprintf("  %-28s %14s %-12s %-10s %s", name, value, unit,
	    target == "" ? "-" : target, target == "" ? "" : (ok ? "ok" : "MISSED"))
}
END {
	printf "[" > json
	for (i = 1; i <= n; i++) printf "%s\n %s", (i > 1 ? "," : ""), row[i] > json
	printf "\n]\n" > json
	print ""
	print "bench summary:"
	for (i = 1; i <= n; i++) print sum[i]
	printf "%d figures, %d with a target: %d met, %d missed%s\n", n, t, met, t - met,
	    (t - met > 0 ? " (" substr(missed, 2) ")" : "")
	print "written " json
	if (bad > 0) exit 4
	if (t - met > 0) exit 3
}' "$lines"
arc=$?

if [ ${#failed[@]} -ne 0 ]; then
	echo "benches failed: ${failed[*]}"
	exit 1
fi
if [ "$arc" -eq 4 ]; then
	exit 1
fi
if [ "$arc" -eq 3 ] && [ "${PW_BENCH_STRICT:-0}" = 1 ]; then
	exit 1
fi
exit 0
