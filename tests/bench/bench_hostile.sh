#!/usr/bin/env bash
# bench_hostile.sh: honest households' ACK latency with and without hostile
# peers (docs/performance.md, hardening).  Runs tests/integration/hostile.sh
# in bench mode (PW_HOSTILE_BENCH=1: 4 honest households at 100 orders/s in
# total, three blocks of 2 x PW_BENCH_SECONDS each, first alone, then while
# garbage connections, 500 stalled handshakes, unknown CURVE keys, oversize
# frames, a rate-limited flood and a replay storm run; the attackers on CPUs
# of their own, the exchange and the honest households on CPU 0,
# PW_HOSTILE_PIN=0 unpinned) and keeps its BENCH lines:
#   ack_p99_unloaded_ms      honest ACK p99 without attack (median of 3 blocks)
#   hostile_ack_p99_ms       honest ACK p99 under attack (median of 3 blocks)
#   hostile_ack_p99_ratio    their ratio, target <= 2
# Fails (exit 1) when a check of the test fails.
set -u
BUILD=${BUILD:-build}
export BUILD
out=$(PW_HOSTILE_BENCH=1 bash "$(dirname "$0")/../integration/hostile.sh")
rc=$?
printf '%s\n' "$out" | grep -v '^BENCH' >&2
printf '%s\n' "$out" | grep '^BENCH'
printf '%s\n' "$out" | grep -q '^not ok' && exit 1
exit $rc
