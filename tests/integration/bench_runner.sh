#!/usr/bin/env bash
# bench_runner.sh: tests/bench/run.sh (the `make bench` runner) on fake
# benches: BENCH lines gathered, bench.json valid with the right "ok" flags,
# the verify ceiling passed on, failures and missed targets reported.
# Runs no real benchmark (benches are never part of make check).
set -u
. "$(dirname "$0")/lib.sh"

top=$(cd "$(dirname "$0")/../.." && pwd)
fb=$PW_TMP/build
scripts=$PW_TMP/scripts
mkdir -p "$fb/bench" "$scripts"

cat >"$fb/bench/bench_verify" <<'EOF'
#!/bin/sh
echo "BENCH verify_ceiling_per_s 20000 verifies/s"
echo "BENCH verify_all_cores_per_s 40000 verifies/s"
EOF
cat >"$fb/bench/bench_fast" <<'EOF'
#!/bin/sh
echo "some chatter"
echo "BENCH fast_ms 12.5 ms target <=100"
echo "BENCH fast_rate 900 ops/s target >=1000"
EOF
cat >"$scripts/ratio.sh" <<'EOF'
echo "BENCH seen_ceiling $PW_VERIFY_CEILING_PER_S verifies/s"
echo "BENCH ratio 0.9 x target >=0.85"
EOF
chmod +x "$fb/bench/bench_verify" "$fb/bench/bench_fast"

out=$PW_TMP/out.txt
BUILD=$fb BENCH_SCRIPTS=$scripts bash "$top/tests/bench/run.sh" >"$out" 2>&1
rc=$?
check "runner exits 0 when only a target is missed" test "$rc" -eq 0
check "BENCH lines echoed" grep -q '^BENCH fast_ms 12.5 ms target <=100$' "$out"
check "summary counts targets" grep -q '^6 figures, 3 with a target: 2 met, 1 missed (fast_rate)$' "$out"
check "ceiling exported to later benches" grep -q '^BENCH seen_ceiling 20000 ' "$out"
check "chatter goes to the log only" \
    sh -c "! grep -q 'some chatter' '$out' && grep -q 'some chatter' '$fb/bench-logs/bench_fast.log'"

json=$fb/bench.json
# sqlite3 (a project dependency) parses the JSON: no python needed.
check_json() {
	local got
	got=$(sqlite3 :memory: "SELECT json_valid(readfile('$json'));
	  SELECT json_extract(value, '\$.name') || ' ' || json_extract(value, '\$.value') || ' ' ||
	         json_extract(value, '\$.unit') || ' ' || json_type(value, '\$.target') || ' ' ||
	         ifnull(json_extract(value, '\$.target'), '-') || ' ' || json_type(value, '\$.ok')
	  FROM json_each(readfile('$json'));") || return 1
	[ "$got" = "1
verify_ceiling_per_s 20000 verifies/s null - true
verify_all_cores_per_s 40000 verifies/s null - true
fast_ms 12.5 ms text <=100 true
fast_rate 900 ops/s text >=1000 false
seen_ceiling 20000 verifies/s null - true
ratio 0.9 x text >=0.85 true" ] || { printf 'got:\n%s\n' "$got"; return 1; }
}
check "bench.json has every figure with its target and ok flag" check_json

BUILD=$fb BENCH_SCRIPTS=$scripts PW_BENCH_STRICT=1 bash "$top/tests/bench/run.sh" >"$out" 2>&1
check "PW_BENCH_STRICT=1 fails on a missed target" test $? -ne 0

cat >"$scripts/broken.sh" <<'EOF'
echo "BENCH half 1 ms"
exit 2
EOF
BUILD=$fb BENCH_SCRIPTS=$scripts bash "$top/tests/bench/run.sh" >"$out" 2>&1
rc=$?
check "a bench exiting non-zero fails the run" test "$rc" -ne 0
check "the failed bench is named" grep -q '^benches failed: broken$' "$out"
rm -f "$scripts/broken.sh"

printf 'echo nothing useful\n' >"$scripts/silent.sh"
BUILD=$fb BENCH_SCRIPTS=$scripts bash "$top/tests/bench/run.sh" >"$out" 2>&1
check "a bench without BENCH lines fails the run" test $? -ne 0
finish
