#!/usr/bin/env bash
# bench_start.sh: how long the exchange takes to start, and --check-config to
# answer, on a market with a year of quarter-hour tariff rows in its log
# (docs/exchange.md "Rules and registry in the log", docs/performance.md).
#
#   BENCH exchange_start_ms_35k_market   from exec to the "serving" log line
#                                        (the log opened and checked, the
#                                        rules and registry read, the
#                                        engine ready), median of 3
#   BENCH check_config_ms_35k_market     `peerwatt-exchange --check-config`
#                                        against that log, median of 3
#
# The database comes from tests/tools/pw-mkdb: 8 households, 4 intervals,
# and 35,040 MARKET entries (--tariff-rows) under its checkpoints, which
# the exchange checked one signature each before the signed checkpoint
# vouched for them (2-8 s on the 2-CPU VM).  Loopback only; the exchange
# is stopped by its pid.
set -u
BUILD=${BUILD:-build}
tmp=$(mktemp -d "$BUILD/bench-start.XXXXXX") || exit 1
xpid=
trap '[ -n "$xpid" ] && kill "$xpid" 2>/dev/null; rm -rf "$tmp"' EXIT
X=$BUILD/peerwatt-exchange

"$BUILD/pw-mkdb" gen --out "$tmp/x.db" --households 8 --intervals 4 --orders 2 \
	--tariff-rows 35040 --exchange-key-out "$tmp/x.key" >"$tmp/mkdb.out" ||
	{ echo "pw-mkdb failed" >&2; exit 1; }
# the registry and configuration the database states (a start appends nothing)
sqlite3 "$tmp/x.db" "SELECT id, name, lower(hex(pk)), serial, zone FROM households" |
	tr '|' ' ' | awk '{ print $0, 5000000, 5000000 }' >"$tmp/households"
param() { sqlite3 "$tmp/x.db" "SELECT value FROM params WHERE key = '$1'"; }
req=$("$BUILD/pw-freeport")
pub=$("$BUILD/pw-freeport")
cat >"$tmp/x.conf" <<CONF
[market]
name = $(param market_name)
id = $(param market_id)
interval_s = $(param interval_s)
gate_s = $(param gate_s)
grace_s = $(param grace_s)
max_ahead_s = $(param max_ahead_s)
feedin = 0.08
retail = 0.30
[network]
request = tcp://127.0.0.1:$req
publish = tcp://127.0.0.1:$pub
[files]
registry = $tmp/households
db = $tmp/x.db
key = $tmp/x.key
CONF

median() { sort -n | sed -n 2p; }
starts=()
for run in 1 2 3; do
	: >"$tmp/x.log"
	t0=$(date +%s%N)
	"$X" -c "$tmp/x.conf" 2>"$tmp/x.log" &
	xpid=$!
	while ! grep -q " serving " "$tmp/x.log"; do
		kill -0 "$xpid" 2>/dev/null || { cat "$tmp/x.log" >&2; exit 1; }
		sleep 0.005
	done
	t1=$(date +%s%N)
	kill "$xpid"
	wait "$xpid"
	xpid=
	starts+=($(((t1 - t0) / 1000000)))
	echo "start $run: $(((t1 - t0) / 1000000)) ms" >&2
done
checks=()
for run in 1 2 3; do
	t0=$(date +%s%N)
	"$X" -c "$tmp/x.conf" --check-config >"$tmp/check.out" 2>&1 ||
		{ cat "$tmp/check.out" >&2; exit 1; }
	t1=$(date +%s%N)
	checks+=($(((t1 - t0) / 1000000)))
	echo "check $run: $(((t1 - t0) / 1000000)) ms" >&2
done
cat "$tmp/check.out" >&2
grep -q "appends nothing" "$tmp/check.out" || { echo "the check would append" >&2; exit 1; }
echo "BENCH exchange_start_ms_35k_market $(printf '%s\n' "${starts[@]}" | median) ms"
echo "BENCH check_config_ms_35k_market $(printf '%s\n' "${checks[@]}" | median) ms"
