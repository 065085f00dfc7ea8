#!/usr/bin/env bash
# agent_p1.sh: a household whose grid meter is the utility's DSMR P1 meter
# trades on loopback.  h1's inverter is a Huawei SUN2000 read through its
# template; its grid meter is a P1 meter (peerwatt-sim --listen p1:, serial
# PWSIM-P1-5, the one registered) behind a socat pseudo-terminal pair,
# sending a telegram with a CRC error every third time; h2 buys through a
# standing bid from a SunSpec device.  Checks: h1's offers are
# acknowledged, trades happen, h1's signed readings name the P1 meter, are
# accepted and settle exactly what they say; the CRC errors were refused;
# when the P1 meter falls silent the agent reports the stalled meter.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/integration/lib.sh

AGENT=$BUILD/peerwatt-agent
SIM=$BUILD/peerwatt-sim
EXCH=${PW_EXCHANGE:-$BUILD/peerwatt-exchange}
SPEED=60
L=3
T=$(cd "$PW_TMP" && pwd)
TD=$PWD/templates
if ! command -v socat >/dev/null 2>&1; then
	not_ok "socat is installed (make deps)"
	finish
	exit 1
fi

XPK=$("$AGENT" keygen --out "$T/x.key" | sed -n 's/^public key: //p')
mv "$T/x.key" "$T/exchange.key"

start_sim --speed $SPEED --start-time 11:00 --pv-peak 6000 --load 700 --seed 1 \
	--template huawei-sun2000 --template-dir "$TD" || not_ok "inverter simulator starts"
INV_PORT=$SIM_PORT
start_sim --speed $SPEED --start-time 11:00 --pv-peak 0 --load 1500 --seed 2 ||
	not_ok "buyer's simulator starts"
H2_PORT=$SIM_PORT

# the P1 meter: exporting 1500 W, its registers at 60x, a CRC error every third telegram
socat "pty,raw,echo=0,link=$T/p1.sim" "pty,raw,echo=0,link=$T/p1.agent" 2>"$T/socat.err" &
PW_PIDS+=("$!")
WAIT_SECONDS=30 wait_for test -e "$T/p1.sim" -a -e "$T/p1.agent" || not_ok "pty pair"
"$SIM" --listen "p1:$T/p1.sim" --power -1500 --speed $SPEED --interval 300 --seed 5 \
	--fault crc >"$T/p1sim.out" 2>"$T/p1sim.err" &
P1PID=$!
PW_PIDS+=("$P1PID")
WAIT_SECONDS=30 wait_for grep -q "peerwatt-sim: writing p1 to" "$T/p1sim.out" || not_ok "P1 meter starts"

pk1=$("$AGENT" keygen --out "$T/h1.key" | sed -n 's/^public key: //p')
pk2=$("$AGENT" keygen --out "$T/h2.key" | sed -n 's/^public key: //p')
cat >"$T/households" <<REG
h1 h1 $pk1 PWSIM-P1-5 z1 1200000 1200000
h2 h2 $pk2 PWSIM-2-1 z1 1200000 1200000
REG

REQ=$(free_port)
PUB=$(free_port)
exchange_conf "$T/exchange.conf" itest 42 "$REQ" "$PUB" "$T/households" "$T/exchange.db" \
	"$T/exchange.key"
printf '[market]\ninterval_s = %s\ngate_s = 1\ngrace_s = 2\n' $L >>"$T/exchange.conf"
"$EXCH" -c "$T/exchange.conf" >>"$T/exchange.log" 2>&1 &
EXPID=$!
PW_PIDS+=($!)
wait_port "$REQ" 60 || not_ok "exchange starts"

agent_conf "$T/h1.conf" "$T/h1.key" "$T/h1.db" "$INV_PORT" "$REQ" "$PUB" "$XPK" 42 $L
cat >>"$T/h1.conf" <<CONF
[device]
template = huawei-sun2000
template_dir = $TD
[meter]
url = p1:$T/p1.agent
timeout_ms = 3000
[policy]
min_price = 0.10
safety_pct = 90
[dashboard]
enabled = no
[log]
level = debug
CONF
agent_conf "$T/h2.conf" "$T/h2.key" "$T/h2.db" "$H2_PORT" "$REQ" "$PUB" "$XPK" 42 $L
printf '[bid.always]\nqty_wh = 150\nmax_price = 0.25\n[dashboard]\nenabled = no\n' >>"$T/h2.conf"

"$AGENT" -c "$T/h1.conf" --check-config >"$T/good.out" 2>&1
check "--check-config accepts a p1: grid meter" test $? -eq 0
sed "s|^url = p1:.*|url = p1:$T/p1.agent:12345|" "$T/h1.conf" >"$T/bad.conf"
"$AGENT" -c "$T/bad.conf" --check-config >"$T/bad.out" 2>&1
check "--check-config refuses a p1: URL with a baud rate that does not exist (78)" test $? -eq 78

declare -A APID
for n in h1 h2; do
	"$AGENT" -c "$T/$n.conf" >>"$T/$n.log" 2>&1 &
	APID[$n]=$!
	PW_PIDS+=($!)
done

q() { sqlite3 "$T/$1.db" "$2" 2>/dev/null || echo 0; }
at_least() { [ "$(q "$1" "$2")" -ge "$3" ]; }
WAIT_SECONDS=120 wait_for at_least h1 "select count(*) from trades where side = 2" 1
check "h1 (template inverter, P1 grid meter) sells" \
	at_least h1 "select count(*) from trades where side = 2" 1
check "h1's offers are acknowledged" at_least h1 "select count(*) from outbox where type = 1 and state = 1" 1
check "h2 bought" at_least h2 "select count(*) from trades where side = 1" 1
WAIT_SECONDS=120 wait_for at_least h1 "select count(*) from statements" 3
check "h1's readings are accepted (signed with the P1 meter's id)" \
	at_least h1 "select count(*) from outbox where stream = 1 and state = 1" 3
check "h1: no reading refused" test "$(q h1 "select count(*) from outbox where stream = 1 and state = 2")" = 0
sqlite3 "$T/h1.db" "select s.interval, hex(s.frame), hex(o.frame) from statements s
	join outbox o on o.stream = 1 and o.state = 1 and o.interval = s.interval" >"$T/h1.pairs"
check "h1: statements settle exactly the P1 meter's energy, readings name PWSIM-P1-5" python3 - "$T/h1.pairs" <<'PY'
import sys
n = exported = 0
for line in open(sys.argv[1]):
    iv, st, me = line.strip().split("|")
    st, me = bytes.fromhex(st)[34:], bytes.fromhex(me)[34:]
    u = lambda b, o: int.from_bytes(b[o:o + 8], "big")
    assert me[16:48].rstrip(b"\0") == b"PWSIM-P1-5", me[16:48]
    flags = int.from_bytes(st[40:44], "big")
    exp_s, imp_s = u(st, 64), u(st, 72)
    exp_m, imp_m = u(me, 56) - u(me, 48), u(me, 72) - u(me, 64)
    # the P1 meter exports only: its import register never moves
    assert imp_m == 0, (iv, imp_m)
    if flags & 1:
        continue
    assert (exp_s, imp_s) == (exp_m, imp_m), (iv, exp_s, imp_s, exp_m, imp_m)
    exported += exp_m
    n += 1
assert n >= 2, "too few statements compared: %d" % n
assert exported > 0, "the P1 meter's export never reached a statement"
print(n, "statements match the signed readings,", exported, "Wh exported")
PY
check "h1 refused the P1 meter's telegrams with CRC errors (logged at debug)" \
	grep -q "frame refused: CRC mismatch" "$T/h1.log"

# the meter falls silent: the agent reports it stalled (no value is made up)
stop_pid "$P1PID"
WAIT_SECONDS=30 wait_for grep -q "no valid frame for 3000 ms" "$T/h1.log"
check "a silent P1 meter is reported as stalled" grep -q "no valid frame for 3000 ms" "$T/h1.log"
for n in h1 h2; do stop_pid "${APID[$n]}"; done
stop_pid "$EXPID"
check "no sanitizer report" test -z "$(grep -l 'Sanitizer\|runtime error' "$T"/*.log "$T"/*.err 2>/dev/null)"
finish
