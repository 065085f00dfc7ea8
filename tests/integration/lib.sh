# tests/integration/lib.sh: helpers for integration tests (source it).
#   free_port                 prints a free TCP port on 127.0.0.1
#   wait_port PORT [SECONDS]  polls until something listens on 127.0.0.1:PORT
#   wait_for CMD... (uses WAIT_SECONDS, default 20) polls until CMD succeeds
#   stop_pid PID              SIGTERM, wait up to 10 s, then SIGKILL
#   ok NAME / not_ok NAME     result lines read by tests/run.sh
#   check NAME CMD...         runs CMD, prints ok/not ok
#   start_sim ARGS...         starts peerwatt-sim ARGS on a free loopback port, sets
#                             SIM_PORT and SIM_PID (in PW_PIDS), waits for readiness
#   exchange_conf FILE NAME ID REQ_PORT PUB_PORT REGISTRY DB KEY
#                             writes an exchange configuration: [market] NAME, ID,
#                             tariffs 0.08/0.30; ROUTER and PUB on 127.0.0.1; [files];
#                             the rest default (interval 900 s...): append more
#                             sections to FILE (a section may appear again)
#   agent_conf FILE KEY DB SIM_PORT REQ_PORT PUB_PORT EXCHANGE_PK MARKET_ID INTERVAL_S
#                             writes an agent configuration: [household] KEY, DB,
#                             capacities of 1.2 MW (a simulator at 60x); [device] the
#                             simulator, polled every 250 ms; [exchange] the ports,
#                             key, market, gate 1 s, tariffs 0.08/0.30: append more
#                             sections to FILE ([exchange] reply_timeout_ms, [policy]...)
# Every script runs `set -u`, cleans up in an EXIT trap and keeps its files
# in a fresh directory under $BUILD/it/.  While it runs, a line
# "# NAME: still running, N s" every 20 s (tests/run.sh ignores '#' lines)
# shows that a long script has not hung.
BUILD=${BUILD:-build}
PW_TMP=$(mktemp -d "${BUILD}/it.XXXXXX" 2>/dev/null || { mkdir -p "$BUILD"; mktemp -d "${BUILD}/it.XXXXXX"; })
PW_PIDS=()
PW_FAILS=0

free_port() { "$BUILD/pw-freeport"; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_port() {
	local port=$1 secs=${2:-20} i=0
	while ! port_open "$port"; do
		i=$((i + 1))
		[ $i -gt $((secs * 20)) ] && return 1
		sleep 0.05
	done
}

# jq -e that fails on empty input: jq 1.6 exits 0 when it reads nothing, so
# `curl ... | jq -e COND` would pass with the server down.  Exported, so
# that `bash -c "... | jq_e ..."` checks have it too.
jq_e() {
	local in
	in=$(cat)
	[ -n "$in" ] || return 1
	printf '%s\n' "$in" | jq -e "$@"
}
export -f jq_e

# Polls up to WAIT_SECONDS (20) times 20 tries; each try's own time comes
# on top, which gives slow checks slack, but never for longer than three
# times WAIT_SECONDS of wall-clock time: under a heavy load a condition that
# never comes true (sqlite3 queries taking a second each) must not stretch a
# 60 s wait into the script's whole timeout.
wait_for() {
	local secs=${WAIT_SECONDS:-20} i=0 end
	end=$((SECONDS + 3 * secs))
	while ! "$@" >/dev/null 2>&1; do
		i=$((i + 1))
		[ $i -gt $((secs * 20)) ] && return 1
		[ "$SECONDS" -ge "$end" ] && return 1
		sleep 0.05
	done
}

stop_pid() {
	local pid=$1 i=0
	kill -TERM "$pid" 2>/dev/null || return 0
	while kill -0 "$pid" 2>/dev/null; do
		i=$((i + 1))
		if [ $i -gt 200 ]; then kill -KILL "$pid" 2>/dev/null; break; fi
		sleep 0.05
	done
	wait "$pid" 2>/dev/null
	return 0
}

# the progress line: a subshell that ends with the script (checked each second)
pw_progress() {
	local parent=$1 name=$2 n=0
	while kill -0 "$parent" 2>/dev/null; do
		sleep 1
		n=$((n + 1))
		[ $((n % 20)) = 0 ] && kill -0 "$parent" 2>/dev/null && echo "# $name: still running, $n s"
	done
}
pw_progress $$ "$(basename "$0" .sh)" &
PW_PROGRESS_PID=$!

pw_cleanup() {
	local p
	kill "$PW_PROGRESS_PID" 2>/dev/null
	for p in "${PW_PIDS[@]}"; do stop_pid "$p"; done
	[ "${PW_KEEP:-0}" = 1 ] || rm -rf "$PW_TMP"
}
trap pw_cleanup EXIT

ok() { echo "ok - $*"; }
not_ok() { echo "not ok - $*"; PW_FAILS=$((PW_FAILS + 1)); }
check() {
	local name=$1
	shift
	if "$@"; then ok "$name"; else not_ok "$name"; fi
}
finish() { [ "$PW_FAILS" -eq 0 ]; }

start_sim() {
	SIM_PORT=$(free_port)
	local out=$PW_TMP/sim.$SIM_PORT.out
	"$BUILD/peerwatt-sim" --listen "tcp://127.0.0.1:$SIM_PORT" "$@" >"$out" \
		2>"$PW_TMP/sim.$SIM_PORT.err" &
	SIM_PID=$!
	PW_PIDS+=("$SIM_PID")
	WAIT_SECONDS=60 wait_for grep -q "peerwatt-sim: listening on tcp://127.0.0.1:$SIM_PORT" "$out"
}

exchange_conf() {
	cat >"$1" <<CONF
[market]
name = $2
id = $3
feedin = 0.08
retail = 0.30
[network]
request = tcp://127.0.0.1:$4
publish = tcp://127.0.0.1:$5
[files]
registry = $6
db = $7
key = $8
CONF
}

agent_conf() {
	cat >"$1" <<CONF
[household]
key_file = $2
db = $3
max_export_w = 1200000
max_import_w = 1200000
[device]
modbus = tcp://127.0.0.1:$4
rated_power_w = 1500000
poll_ms = 250
timeout_ms = 1000
backoff_max_ms = 2000
[exchange]
request = tcp://127.0.0.1:$5
pub = tcp://127.0.0.1:$6
public_key = $7
market_id = $8
interval_s = $9
gate_s = 1
feedin_price = 0.08
retail_price = 0.30
CONF
}
