#!/usr/bin/env bash
# sdnotify.sh: both daemons speak systemd's notify protocol, as their
# Type=notify units need: READY=1 once serving, RELOADING=1 then READY=1
# around a SIGHUP, STOPPING=1 on SIGTERM (then exit 0).  A python3 datagram
# socket stands in for systemd's $NOTIFY_SOCKET.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/integration/lib.sh
tmp=$(cd "$PW_TMP" && pwd)

if ! command -v python3 >/dev/null 2>&1; then
	ok "sd_notify # SKIP python3 is not installed"
	exit 0
fi

# listen SOCKET LOG: append every datagram received on SOCKET as one line to LOG
listen() {
	python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a") as f:
    print("bound", file=f, flush=True)
    while True:
        m = s.recv(4096).decode("ascii", "replace").replace("\n", "|")
        print(m, file=f, flush=True)
' "$1" "$2" &
	PW_PIDS+=($!)
	WAIT_SECONDS=30 wait_for grep -q '^bound$' "$2"
}

# notify_cycle NAME CMD...: run CMD with NOTIFY_SOCKET set and check the cycle
notify_cycle() {
	local name=$1 log=$tmp/$1.notify sock=$tmp/$1.sock pid rc
	shift
	listen "$sock" "$log" || { not_ok "$name: notify listener starts"; return; }
	NOTIFY_SOCKET=$sock "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" &
	pid=$!
	PW_PIDS+=("$pid")
	if WAIT_SECONDS=60 wait_for grep -q '^READY=1' "$log"; then
		ok "$name sends READY=1 when serving"
	else
		not_ok "$name sends READY=1 when serving"
		tail -5 "$tmp/$name.err"
		return
	fi
	kill -HUP "$pid"
	if WAIT_SECONDS=60 wait_for bash -c "grep -A1 '^RELOADING=1' '$log' | grep -q '^READY=1'"; then
		ok "$name sends RELOADING=1 then READY=1 on SIGHUP"
	else
		not_ok "$name sends RELOADING=1 then READY=1 on SIGHUP"
	fi
	kill -TERM "$pid"
	wait "$pid"
	rc=$?
	check "$name exits 0 on SIGTERM" test "$rc" = 0
	check "$name sends STOPPING=1 on SIGTERM" grep -q '^STOPPING=1' "$log"
}

# --- exchange -------------------------------------------------------------------
EX=$BUILD/peerwatt-exchange
AG=$BUILD/peerwatt-agent
"$EX" keygen --out "$tmp/ex.key" >/dev/null || not_ok "exchange keygen"
hpk=$("$AG" keygen --out "$tmp/h.key" --id h1 --name home --serial SIM-1 --zone z1 \
	--max-export-w 5000 --max-import-w 5000 | sed -n 's/^public key: //p')
printf 'h1 home %s SIM-1 z1 5000 5000\n' "$hpk" >"$tmp/households"
exchange_conf "$tmp/exchange.conf" notifytest 77 "$(free_port)" "$(free_port)" \
	"$tmp/households" "$tmp/exchange.db" "$tmp/ex.key"
printf '[market]\ninterval_s = 5\ngate_s = 1\n' >>"$tmp/exchange.conf"
notify_cycle exchange "$EX" -c "$tmp/exchange.conf"

# --- agent (no device, no exchange: it still serves and keeps trying) -------------
xpk=$("$EX" -c "$tmp/exchange.conf" --print-public-key)
cat >"$tmp/agent.conf" <<CONF
[household]
key_file = $tmp/h.key
db = $tmp/agent.db
max_export_w = 5000
max_import_w = 5000
[device]
modbus = tcp://127.0.0.1:$(free_port)
rated_power_w = 10000
[exchange]
request = tcp://127.0.0.1:$(free_port)
pub = tcp://127.0.0.1:$(free_port)
public_key = $xpk
market_id = 77
interval_s = 5
gate_s = 1
[dashboard]
enabled = no
CONF
notify_cycle agent "$AG" -c "$tmp/agent.conf"
finish
