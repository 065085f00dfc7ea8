#!/usr/bin/env bash
# bench_audit.sh: peerwatt-audit verify throughput (docs/audit.md, docs/performance.md).
#
#   BENCH audit_entries_per_s   log entries verified per second by
#                               `peerwatt-audit verify` (every signature, leaf,
#                               root, auction and statement replay, balance),
#                               process start and database reads included
#   BENCH audit_vs_ceiling      that rate over the Ed25519 verify ceiling of the
#                               same run (PW_VERIFY_CEILING_PER_S from
#                               tests/bench/run.sh, else bench_verify is run
#                               here); target >= 0.85: the audit costs little
#                               more than checking the signatures alone
#
# The database comes from tests/tools/pw-mkdb (64 households, 4 orders each
# per interval, PW_AUDIT_INTERVALS intervals, default 40: about 15700
# entries).  Best of three runs, as the ceiling is (other processes only ever
# slow a run down).
set -u
BUILD=${BUILD:-build}
tmp=$(mktemp -d "$BUILD/bench-audit.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
intervals=${PW_AUDIT_INTERVALS:-40}

"$BUILD/pw-mkdb" gen --out "$tmp/bench.db" --households 64 --intervals "$intervals" \
	--orders 4 >/dev/null || { echo "pw-mkdb failed" >&2; exit 1; }

best=0
for run in 1 2 3; do
	t0=$(date +%s%N)
	"$BUILD/peerwatt-audit" verify "$tmp/bench.db" >"$tmp/report.txt" || {
		cat "$tmp/report.txt" >&2
		exit 1
	}
	t1=$(date +%s%N)
	ns=$((t1 - t0))
	if [ "$best" -eq 0 ] || [ "$ns" -lt "$best" ]; then best=$ns; fi
	echo "run $run: $ns ns" >&2
done
entries=$(awk '$1 == "entries" { print $2 }' "$tmp/report.txt")
[ -n "$entries" ] && [ "$entries" -gt 0 ] || { echo "no entry count" >&2; exit 1; }

ceiling=${PW_VERIFY_CEILING_PER_S:-}
if [ -z "$ceiling" ]; then
	ceiling=$("$BUILD/bench/bench_verify" | awk '$2 == "verify_ceiling_per_s" { print $3 }')
fi
[ -n "$ceiling" ] || { echo "no verify ceiling" >&2; exit 1; }

awk -v e="$entries" -v ns="$best" -v c="$ceiling" 'BEGIN {
	rate = e * 1e9 / ns
	printf "BENCH audit_entries_per_s %.0f entries/s\n", rate
	printf "BENCH audit_vs_ceiling %.3f ratio target >=0.85\n", rate / c
}'
echo "$entries entries, best $best ns, ceiling $ceiling verifies/s" >&2
