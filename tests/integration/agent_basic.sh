#!/usr/bin/env bash
# agent_basic.sh: peerwatt-agent without an exchange: keygen, config checks,
# the daemon reading peerwatt-sim, signing one METER per interval into its
# outbox and placing offers, SIGHUP (bad file kept out, good file taken),
# kill -9 and restart (readings numbered 1..N without gap or reuse, chained
# exactly), SIGTERM exits 0.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/integration/lib.sh

SIM=$BUILD/peerwatt-sim
AGENT=$BUILD/peerwatt-agent
SPEED=60

# keygen
out=$("$AGENT" keygen --out "$PW_TMP/h.key" --id h1 --name home --serial SIM-1 --zone z1 \
	--max-export-w 600000 --max-import-w 600000)
check "keygen creates a 0600 key file" test "$(stat -c %a "$PW_TMP/h.key")" = 600
pk=$(printf '%s\n' "$out" | sed -n 's/^public key: \([0-9a-f]\{64\}\)$/\1/p')
check "keygen prints the public key" test -n "$pk"
check "keygen prints the registry line" grep -q "^h1 home $pk SIM-1 z1 600000 600000\$" <<<"$out"
before=$(sha256sum <"$PW_TMP/h.key")
"$AGENT" keygen --out "$PW_TMP/h.key" >/dev/null 2>&1
rc=$?
check "keygen refuses to overwrite (exit 73)" test "$rc" = 73
check "the existing key is unchanged" test "$(sha256sum <"$PW_TMP/h.key")" = "$before"
"$AGENT" keygen >/dev/null 2>&1
check "keygen without --out is a usage error" test $? = 64
xpk=$("$AGENT" keygen --out "$PW_TMP/x.key" | sed -n 's/^public key: //p')

start_sim() {
	SIM_PORT=$(free_port)
	"$SIM" --listen "tcp://127.0.0.1:$SIM_PORT" --speed $SPEED --start-time 11:00 \
		--pv-peak 5000 --load 600 --seed 7 >"$PW_TMP/sim.out" 2>"$PW_TMP/sim.err" &
	SIM_PID=$!
	PW_PIDS+=("$SIM_PID")
	WAIT_SECONDS=60 wait_for grep -q "listening on" "$PW_TMP/sim.out"
}
start_sim || not_ok "simulator starts"

write_conf() { # $1 = safety_pct
	cat >"$PW_TMP/agent.conf" <<CONF
[household]
key_file = $PW_TMP/h.key
db = $PW_TMP/agent.db
max_export_w = 600000
max_import_w = 600000
[device]
modbus = tcp://127.0.0.1:$SIM_PORT
rated_power_w = 1200000
poll_ms = 250
[exchange]
; nothing listens here: everything stays in the outbox
request = tcp://127.0.0.1:$(free_port)
pub = tcp://127.0.0.1:$(free_port)
public_key = $xpk
market_id = 9
interval_s = 2
gate_s = 1
[policy]
safety_pct = $1
[dashboard]
enabled = no
[log]
level = debug
CONF
}
write_conf 80

"$AGENT" -c "$PW_TMP/agent.conf" --check-config >/dev/null
check "--check-config accepts the file" test $? = 0
printf '[policy]\nstrategy = cheapest\n' >"$PW_TMP/bad.conf"
msg=$("$AGENT" -c "$PW_TMP/bad.conf" --check-config 2>&1)
rc=$?
check "a bad config exits 78" test "$rc" = 78
check "config errors read file:line: message" grep -q "bad.conf:2: strategy" <<<"$msg"
"$AGENT" --help >/dev/null
check "--help exits 0" test $? = 0

start_agent() {
	"$AGENT" -c "$PW_TMP/agent.conf" >>"$PW_TMP/agent.log" 2>&1 &
	AGENT_PID=$!
	PW_PIDS+=("$AGENT_PID")
}
count() { sqlite3 "$PW_TMP/agent.db" "$1" 2>/dev/null || echo 0; }
at_least() { [ "$(count "$1")" -ge "$2" ]; }

start_agent
WAIT_SECONDS=60 wait_for at_least "select count(*) from outbox where stream = 1" 3
check "readings are signed and stored while the exchange is away" \
	at_least "select count(*) from outbox where stream = 1" 3
# the dashboard's energy chart: one row per reading, PV integrated from the
# inverter's power (the simulated noon sun), grid from the reading
check "each reading's energy is kept for the chart" \
	at_least "select count(*) from energy" 3
WAIT_SECONDS=30 wait_for at_least "select count(*) from energy where pv_wh > 0" 1
check "the chart's PV energy is measured (above 0 at noon, never above rated power)" \
	sh -c "[ \"\$(sqlite3 '$PW_TMP/agent.db' 'select count(*) from energy where pv_wh > 0 and pv_wh <= 1200000 * 2 / 3600 + 1')\" -ge 1 ]"
WAIT_SECONDS=30 wait_for at_least "select count(*) from outbox where stream = 0 and type = 1" 1
check "offers are made from the forecast" \
	at_least "select count(*) from outbox where stream = 0 and type = 1" 1

cp "$PW_TMP/bad.conf" "$PW_TMP/agent.conf"
kill -HUP "$AGENT_PID"
WAIT_SECONDS=20 wait_for grep -q "keeping the old configuration" "$PW_TMP/agent.log"
check "SIGHUP with a bad file keeps the old configuration" kill -0 "$AGENT_PID"
write_conf 50
kill -HUP "$AGENT_PID"
WAIT_SECONDS=20 wait_for grep -q "configuration reloaded" "$PW_TMP/agent.log"
check "SIGHUP with a good file reloads" grep -q "configuration reloaded" "$PW_TMP/agent.log"

n1=$(count "select count(*) from outbox where stream = 1")
kill -KILL "$AGENT_PID"
wait "$AGENT_PID" 2>/dev/null
start_agent
WAIT_SECONDS=60 wait_for at_least "select count(*) from outbox where stream = 1" $((n1 + 3))
check "after kill -9 the agent resumes readings" \
	at_least "select count(*) from outbox where stream = 1" $((n1 + 3))
check "resumed the chain from the stored readings" grep -q "resuming readings after interval" \
	"$PW_TMP/agent.log"
stop_pid "$AGENT_PID"
wait "$AGENT_PID" 2>/dev/null
rc=$?
check "SIGTERM stops the agent with exit 0" test "$rc" = 0

# Readings: numbers 1..N without gap, one per interval, frames chained
# exactly (METER body layout of docs/protocol.md); order numbers unique.
sqlite3 "$PW_TMP/agent.db" "select seq, interval, hex(frame) from outbox where stream = 1 order by seq" \
	>"$PW_TMP/readings.txt"
check "readings are numbered 1..N, chained, one per interval" python3 - "$PW_TMP/readings.txt" <<'PY'
import sys
rows = [l.strip().split("|") for l in open(sys.argv[1]) if l.strip()]
prev = None
for i, (seq, iv, hx) in enumerate(rows, 1):
    b = bytes.fromhex(hx)
    body = b[34:]
    u = lambda o: int.from_bytes(body[o:o + 8], "big")
    assert int(seq) == i == u(0), ("gap or reuse", seq, i)
    assert int(iv) == u(8)
    es, ee, is_, ie = u(48), u(56), u(64), u(72)
    assert ee >= es and ie >= is_
    if prev and u(8) == prev[0] + 1:
        assert (es, is_) == (prev[1], prev[2]), ("chain broken at", seq)
    assert prev is None or u(8) > prev[0], "interval repeated"
    prev = (u(8), ee, ie)
print(len(rows), "readings ok")
PY
check "order numbers are unique" test "$(count 'select count(distinct seq) = count(*) from outbox where stream = 0')" = 1
finish
