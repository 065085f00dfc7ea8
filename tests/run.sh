#!/usr/bin/env bash
# tests/run.sh: runs every test of `make check` and ends with "N passed, N failed".
#
#   unit:        build/tests/test_*      cmocka; every test case counts
#   integration: tests/integration/*.sh  print "ok - NAME" / "not ok - NAME";
#                                        a script that exits non-zero without a
#                                        "not ok" line counts one failure
#   browser:     tests/browser/run.sh    same convention, when present
# Scripts run PW_TEST_JOBS at a time (default 3); their results print in order,
# and while they run a progress line every 30 s names those still running.
# TESTS=pattern runs only the scripts/binaries whose name matches.
set -u
BUILD=${BUILD:-build}
export BUILD
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
logdir=$BUILD/test-logs
mkdir -p "$logdir"
passed=0 failed=0
failures=()
pattern=${TESTS:-}

run_unit() {
	local bin=$1 name log p f
	name=$(basename "$bin")
	log=$logdir/$name.log
	CMOCKA_MESSAGE_OUTPUT=stdout timeout 600 "$bin" >"$log" 2>&1
	local rc=$?
	p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
	f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
	p=${p:-0} f=${f:-0}
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
	passed=$((passed + p)) failed=$((failed + f))
	if [ "$f" -ne 0 ]; then
		failures+=("$name (see $log)")
		grep -E '^\[  (FAILED|ERROR) ' "$log" | head -20
		tail -5 "$log"
	fi
	printf '%-40s %3d passed %3d failed\n' "$name" "$p" "$f"
}

# A script runs in the background; its verdict is read from its log later so
# that scripts (mostly waiting on intervals and sockets) overlap.
start_script() {
	local script=$1 name
	name=$(basename "$script" .sh)
	[ "$name" = run ] && name=browser
	date +%s >"$logdir/$name.start"
	(
		s=$(date +%s)
		timeout 1200 bash "$script" >"$logdir/$name.log" 2>&1
		echo "$? $(($(date +%s) - s))" >"$logdir/$name.rc"
	) &
}

# wait_scripts N: until fewer than N scripts run (0: none), printing every
# 30 s which scripts still run and for how long, so that a long `make check`
# never looks hung.
t_scripts=$(date +%s)
next_progress=$((t_scripts + 30))
wait_scripts() {
	local now n r
	while [ "$(jobs -rp | wc -l)" -ge "$1" ] && [ "$(jobs -rp | wc -l)" -gt 0 ]; do
		sleep 1
		now=$(date +%s)
		[ "$now" -ge "$next_progress" ] || continue
		next_progress=$((now + 30))
		r="" n=0
		for name in "${names[@]}"; do
			if [ -f "$logdir/$name.rc" ]; then
				n=$((n + 1))
			else
				r="$r $name ($((now - $(cat "$logdir/$name.start" 2>/dev/null || echo "$now"))) s)"
			fi
		done
		echo "... $((now - t_scripts)) s: $n of ${#names[@]} scripts done, running:$r"
	done
}

report_script() {
	local name=$1 log rc secs p f
	log=$logdir/$name.log
	read -r rc secs <"$logdir/$name.rc" || { rc=1 secs=0; }
	p=$(grep -c '^ok ' "$log")
	f=$(grep -c '^not ok ' "$log")
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
	if [ "$rc" -eq 0 ] && [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then p=1; fi
	passed=$((passed + p)) failed=$((failed + f))
	if [ "$f" -ne 0 ]; then
		failures+=("$name (see $log)")
		grep '^not ok ' "$log" | head -20
		tail -15 "$log"
	fi
	printf '%-40s %3d passed %3d failed %4ss\n' "$name" "$p" "$f" "$secs"
}

for bin in "$BUILD"/tests/test_*; do
	[ -x "$bin" ] || continue
	case $bin in *.d | *.o) continue ;; esac
	[ -n "$pattern" ] && [[ $bin != *$pattern* ]] && continue
	run_unit "$bin"
done
# PW_TEST_JOBS scripts at a time (default 3): they spend most of their time
# waiting for intervals, so they overlap well even on two cores.
jobs=${PW_TEST_JOBS:-3}
names=()
for script in tests/integration/*.sh tests/browser/run.sh; do
	[ -f "$script" ] || continue
	case $script in */lib.sh) continue ;; esac
	[ -n "$pattern" ] && [[ $script != *$pattern* ]] && continue
	wait_scripts "$jobs"
	name=$(basename "$script" .sh)
	[ "$name" = run ] && name=browser
	rm -f "$logdir/$name.rc"
	start_script "$script"
	names+=("$name")
done
wait_scripts 1
wait
for name in "${names[@]}"; do report_script "$name"; done

if [ ${#failures[@]} -ne 0 ]; then
	echo "failed:"
	printf '  %s\n' "${failures[@]}"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
