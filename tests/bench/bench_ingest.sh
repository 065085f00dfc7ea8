#!/usr/bin/env bash
# bench_ingest.sh: order ingest of peerwatt-exchange (docs/performance.md).
# Signed orders over CURVE from pw-loadgen (pre-signed, 32 households),
# verified, validated, durably committed (WAL, synchronous=FULL, group
# commit) and acknowledged with a signed ACK:
#   ingest_orders_per_s   peak rate (no pacing, 64 unanswered per household;
#                         the generator reads replies every PW_GATHER_MS, 5)
#   ingest_vs_ceiling     peak / Ed25519 verifies per second on all cores
#   ingest_vs_one_core    peak / verifies per second on one core
#   ingest_ceiling_all_cores_per_s
#                         that ceiling, from bench_verify run right after the
#                         peak: this VM's speed drifts by up to a third
#                         within minutes, so a ceiling taken earlier in the
#                         suite (bench_verify's own figures) can make the
#                         ratio say more or less than the exchange did
#   ack_p99_ms            99th percentile ACK latency at half the peak rate
#   ingest_half_busy_pct  share of all CPUs busy during the half-rate run
#                         (/proc/stat; the generator's and the exchange's
#                         work together): what the ACK tail queues behind
#   ingest_half_ctxsw_per_order
#                         the exchange's context switches per order in it
#   disk_fdatasync_p50_ms, disk_fdatasync_p99_ms
#                         this disk's own time to make a 4 KiB write durable,
#                         probed just before the half-rate run: an ACK waits
#                         for its COMMIT's fdatasync, so no ACK tail can be
#                         shorter than the disk's (pw-fsyncprobe)
#   disk_fdatasync_paced_p99_ms
#                         the same with 1 ms between flushes, as the COMMITs
#                         of the half-rate run come: a disk left idle
#                         between flushes can answer much later
# The exchange's per-stage histograms (SIGUSR1, cumulative: after the peak,
# then after the half-rate run) go to stderr, i.e. build/bench-logs/.
set -u
BUILD=${BUILD:-build}
B=$BUILD
secs=${PW_BENCH_SECONDS:-5}
T=$(mktemp -d "$B/bench-ingest.XXXXXX")
XPID=
cleanup() {
	[ -n "$XPID" ] && kill "$XPID" 2>/dev/null && wait "$XPID" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
N=32
"$B/peerwatt-exchange" keygen --out "$T/ex.key" >"$T/ex.pk" || exit 1
"$B/pw-loadgen" init "$T/hh" $N >/dev/null || exit 1
P1=$("$B/pw-freeport")
P2=$("$B/pw-freeport")
cat >"$T/x.conf" <<CONF
[market]
name = bench
id = 8
interval_s = 900
feedin = 0.08
retail = 0.30
[network]
request = tcp://127.0.0.1:$P1
publish = tcp://127.0.0.1:$P2
batch_max = ${PW_BATCH_MAX:-256}
threads = ${PW_THREADS:-0}
[files]
registry = $T/hh/households
db = $T/x.db
key = $T/ex.key
[log]
level = info
CONF
"$B/peerwatt-exchange" -c "$T/x.conf" 2>"$T/exchange.log" &
XPID=$!
for _ in $(seq 1 200); do (exec 3<>"/dev/tcp/127.0.0.1/$P1") 2>/dev/null && break; sleep 0.05; done
LG=("$B/pw-loadgen" run -e "tcp://127.0.0.1:$P1" -s "$(cat "$T/ex.pk")" -m 8 -d "$T/hh" -n $N -T 120)

# warm-up, then the peak
"${LG[@]}" -c 2000 >/dev/null 2>&1
"${LG[@]}" -c $((12000 * secs)) -w 64 -g "${PW_GATHER_MS:-5}" >"$T/peak.out" 2>&1
cat "$T/peak.out" >&2
stats() { # print the exchange's stage histograms logged since line $1
	kill -USR1 "$XPID"
	for _ in $(seq 1 100); do
		[ "$(tail -n +"$1" "$T/exchange.log" | grep -c 'stats: batch:')" -gt 0 ] && break
		sleep 0.05
	done
	tail -n +"$1" "$T/exchange.log" | grep 'stats: ' | sed 's/.*stats: /  exchange /' >&2
}
stats 1
mark=$(($(wc -l <"$T/exchange.log") + 1))
peak=$(sed -n 's/^rate \([0-9.]*\)\/s.*/\1/p' "$T/peak.out")
[ -n "$peak" ] || exit 1
half=$(awk -v p="$peak" 'BEGIN { printf "%d", p / 2 }')
v=$("$B/bench/bench_verify" 2>/dev/null)
one=$(sed -n 's/^BENCH verify_ceiling_per_s \([0-9.]*\).*/\1/p' <<<"$v")
all=$(sed -n 's/^BENCH verify_all_cores_per_s \([0-9.]*\).*/\1/p' <<<"$v")
[ -n "$one" ] && [ -n "$all" ] || exit 1
echo "verify ceiling right after the peak: $one on one core, $all on all cores" >&2
disk=$("$B/pw-fsyncprobe" "$T" 2000) || exit 1
echo "disk: $disk" >&2
paced=$("$B/pw-fsyncprobe" "$T" 2000 1000) || exit 1
echo "disk, 1 ms between flushes: $paced" >&2
cpu() { awk '/^cpu /{ print $2+$3+$4+$7+$8+$9, $5+$6 }' /proc/stat; }
ctxsw() { cat /proc/"$XPID"/task/*/status 2>/dev/null | awk '/ctxt_switches/{ s += $2 } END { print s + 0 }'; }
cpu0=$(cpu)
cs0=$(ctxsw)
"${LG[@]}" -c $((half * secs)) -r "$half" -w 1000 >"$T/half.out" 2>&1
cpu1=$(cpu)
cs1=$(ctxsw)
cat "$T/half.out" >&2
stats "$mark"
p99=$(sed -n 's/.* p99 \([0-9.]*\) ms.*/\1/p' "$T/half.out")

echo "BENCH ingest_orders_per_s $peak orders/s"
awk -v p="$peak" -v c="$all" 'BEGIN { printf "BENCH ingest_vs_ceiling %.3f ratio target >=0.5\n", p / c }'
awk -v p="$peak" -v c="$one" 'BEGIN { printf "BENCH ingest_vs_one_core %.3f ratio\n", p / c }'
echo "BENCH ingest_ceiling_all_cores_per_s $all verifies/s"
echo "BENCH ack_p99_ms $p99 ms target <=5"
awk -v a="$cpu0" -v b="$cpu1" 'BEGIN { split(a, x, " "); split(b, y, " ");
	busy = y[1] - x[1]; idle = y[2] - x[2];
	if (busy + idle > 0) printf "BENCH ingest_half_busy_pct %.0f %%\n", 100 * busy / (busy + idle) }'
awk -v a="$cs0" -v b="$cs1" -v n=$((half * secs)) 'BEGIN { if (n > 0) printf "BENCH ingest_half_ctxsw_per_order %.2f switches\n", (b - a) / n }'
echo "BENCH disk_fdatasync_p50_ms $(sed -n 's/.* p50 \([0-9.]*\) ms.*/\1/p' <<<"$disk") ms"
echo "BENCH disk_fdatasync_p99_ms $(sed -n 's/.* p99 \([0-9.]*\) ms.*/\1/p' <<<"$disk") ms"
echo "BENCH disk_fdatasync_paced_p99_ms $(sed -n 's/.* p99 \([0-9.]*\) ms.*/\1/p' <<<"$paced") ms"
