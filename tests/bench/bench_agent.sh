#!/usr/bin/env bash
# bench_agent.sh: one peerwatt-agent polling one peerwatt-sim every 100 ms,
# with its dashboard up and no exchange (the outbox grows as in an outage).
#   agent_rss_kb           peak resident set (VmHWM) over the run   target <= 8192
#   agent_cpu_ms_per_poll  CPU (user + system) per poll after warm-up target <= 1
#   agent_anon_rss_kb      anonymous resident memory (heap, stacks, SQLite cache):
#                          what the agent itself uses, without shared library pages
#   agent_rss_floor_kb     VmRSS of build/pw-rssfloor, the smallest program that
#                          uses each library the agent needs once, as the agent does
#   agent_rss_over_floor_kb  agent_rss_kb - agent_rss_floor_kb: what the agent adds
# Polls are counted by the agent itself (/metrics peerwatt_agent_polls_total).
# PW_BENCH_SECONDS sets the measured span (default 20 s).
set -u
BUILD=${BUILD:-build}
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
secs=${PW_BENCH_SECONDS:-20}
tmp=$(mktemp -d "$BUILD/bench-agent.XXXXXX")
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

port() { "$BUILD/pw-freeport"; }
wait_for() { # seconds cmd...
	local n=$(($1 * 20))
	shift
	while ! "$@" >/dev/null 2>&1; do
		n=$((n - 1))
		[ $n -le 0 ] && return 1
		sleep 0.05
	done
}

sim_port=$(port)
"$BUILD/peerwatt-sim" --listen "tcp://127.0.0.1:$sim_port" --start-time 12:00 >"$tmp/sim.out" 2>&1 &
pids+=($!)
wait_for 30 grep -q "listening on" "$tmp/sim.out" || { echo "simulator did not start" >&2; exit 1; }
"$BUILD/peerwatt-agent" keygen --out "$tmp/h.key" >/dev/null
xpk=$("$BUILD/peerwatt-agent" keygen --out "$tmp/x.key" | sed -n 's/^public key: //p')
dash_port=$(port)
cat >"$tmp/agent.conf" <<CONF
[household]
key_file = $tmp/h.key
db = $tmp/agent.db
max_export_w = 10000
max_import_w = 10000
[device]
modbus = tcp://127.0.0.1:$sim_port
rated_power_w = 20000
poll_ms = 100
[exchange]
request = tcp://127.0.0.1:$(port)
pub = tcp://127.0.0.1:$(port)
public_key = $xpk
market_id = 1
interval_s = 60
gate_s = 10
[dashboard]
listen = 127.0.0.1:$dash_port
web_root = agent/web
[log]
level = warning
CONF
"$BUILD/peerwatt-agent" -c "$tmp/agent.conf" >"$tmp/agent.log" 2>&1 &
apid=$!
pids+=($apid)

metric() { # name -> value from /metrics
	python3 - "$dash_port" "$1" <<'PY'
import sys, urllib.request
port, name = sys.argv[1], sys.argv[2]
body = urllib.request.urlopen("http://127.0.0.1:%s/metrics" % port, timeout=5).read().decode()
for line in body.splitlines():
    if line.startswith(name + " "):
        print(int(float(line.split()[1]))); break
else:
    sys.exit(1)
PY
}
# CPU time of every thread in ns (schedstat), finer than clock ticks
cpu_ns() { cat /proc/$apid/task/*/schedstat | awk '{s += $1} END {printf "%d\n", s}'; }

wait_for 30 metric peerwatt_agent_polls_total || { cat "$tmp/agent.log" >&2; exit 1; }
sleep 3 # warm-up: discovery, first queries, caches
p0=$(metric peerwatt_agent_polls_total)
c0=$(cpu_ns)
sleep "$secs"
[ -n "${PW_BENCH_SMAPS:-}" ] && cat "/proc/$apid/smaps" >"$PW_BENCH_SMAPS"
p1=$(metric peerwatt_agent_polls_total)
c1=$(cpu_ns)
errs=$(metric peerwatt_agent_poll_errors_total)
hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$apid/status")
anon=$(awk '/^RssAnon:/ {print $2}' "/proc/$apid/status")
file=$(awk '/^RssFile:/ {print $2}' "/proc/$apid/status")
polls=$((p1 - p0))
echo "polls $polls over ${secs}s, poll errors $errs, cpu $(((c1 - c0) / 1000)) us" >&2
[ "$polls" -gt 0 ] || { echo "no polls" >&2; exit 1; }
echo "resident: $anon kB anonymous (the agent's own), $file kB mapped files (shared library pages)" >&2
echo "BENCH agent_rss_kb $hwm kB target <=8192"
echo "BENCH agent_anon_rss_kb $anon kB"
floor=$("$BUILD/pw-rssfloor" "$tmp" | awk '$1 == "BENCH" {print $3}')
if [ -n "$floor" ]; then
	echo "BENCH agent_rss_floor_kb $floor kB"
	echo "BENCH agent_rss_over_floor_kb $((hwm - floor)) kB"
else
	echo "pw-rssfloor failed" >&2
	exit 1
fi
awk -v c=$((c1 - c0)) -v p="$polls" \
	'BEGIN { printf "BENCH agent_cpu_ms_per_poll %.3f ms target <=1\n", c / 1e6 / p }'
