#!/usr/bin/env bash
# agent_tmpl.sh: a household whose inverter and grid meter are separate
# devices read through templates trades on loopback.  h1's inverter is a
# Huawei SUN2000 (template huawei-sun2000, serial PWSIM-1-1) and its grid
# meter an Eastron SDM630 on its own link (template sdm630, serial 10000001,
# the one registered); h2 buys through a standing bid from a SunSpec device.
# Checks: h1's offers are acknowledged, trades happen, h1's signed readings
# are accepted (the exchange refuses a reading whose serial is not the
# registered meter's: it must name the SDM630 actually read, not the
# inverter) and settle exactly what they say, and --check-config refuses a
# [meter] template that does not exist and accepts the household's file.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/integration/lib.sh

AGENT=$BUILD/peerwatt-agent
EXCH=${PW_EXCHANGE:-$BUILD/peerwatt-exchange}
SPEED=60
L=3
T=$PW_TMP
TD=$PWD/templates

XPK=$("$AGENT" keygen --out "$T/x.key" | sed -n 's/^public key: //p')
mv "$T/x.key" "$T/exchange.key"

# the same household (seed 1) served twice: the inverter's and the meter's view
start_sim --speed $SPEED --start-time 11:00 --pv-peak 6000 --load 700 --seed 1 \
	--template huawei-sun2000 --template-dir "$TD" || not_ok "inverter simulator starts"
INV_PORT=$SIM_PORT
start_sim --speed $SPEED --start-time 11:00 --pv-peak 6000 --load 700 --seed 1 \
	--template sdm630 --template-dir "$TD" || not_ok "meter simulator starts"
MET_PORT=$SIM_PORT
start_sim --speed $SPEED --start-time 11:00 --pv-peak 0 --load 1500 --seed 2 ||
	not_ok "buyer's simulator starts"
H2_PORT=$SIM_PORT

pk1=$("$AGENT" keygen --out "$T/h1.key" | sed -n 's/^public key: //p')
pk2=$("$AGENT" keygen --out "$T/h2.key" | sed -n 's/^public key: //p')
cat >"$T/households" <<REG
h1 h1 $pk1 10000001 z1 1200000 1200000
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
url = tcp://127.0.0.1:$MET_PORT
template = sdm630
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

# --check-config opens the templates as the daemon does
sed 's/^template = sdm630/template = sdm999/' "$T/h1.conf" >"$T/bad.conf"
"$AGENT" -c "$T/bad.conf" --check-config >"$T/bad.out" 2>&1
rc=$?
check "--check-config refuses a [meter] template that does not exist (78, names it)" \
	test "$rc" -eq 78 -a -n "$(grep -F "[meter] template sdm999: no sdm999.ini in $TD" "$T/bad.out")"
"$AGENT" -c "$T/h1.conf" --check-config >"$T/good.out" 2>&1
check "--check-config accepts the household's templates" test $? -eq 0

declare -A APID
for n in h1 h2; do
	"$AGENT" -c "$T/$n.conf" >>"$T/$n.log" 2>&1 &
	APID[$n]=$!
	PW_PIDS+=($!)
done

q() { sqlite3 "$T/$1.db" "$2" 2>/dev/null || echo 0; }
at_least() { [ "$(q "$1" "$2")" -ge "$3" ]; }
WAIT_SECONDS=120 wait_for at_least h1 "select count(*) from trades where side = 2" 1
check "h1 (template inverter, separate template meter) sells" \
	at_least h1 "select count(*) from trades where side = 2" 1
check "h1's offers are acknowledged" at_least h1 "select count(*) from outbox where type = 1 and state = 1" 1
check "h2 bought" at_least h2 "select count(*) from trades where side = 1" 1
WAIT_SECONDS=120 wait_for at_least h1 "select count(*) from statements" 3
check "h1's readings are accepted (signed with the SDM630's serial)" \
	at_least h1 "select count(*) from outbox where stream = 1 and state = 1" 3
check "h1: no reading refused" test "$(q h1 "select count(*) from outbox where stream = 1 and state = 2")" = 0
check "h1 logs the meter read and its serial" grep -q "meter tcp://127.0.0.1:$MET_PORT: serial 10000001" "$T/h1.log"
check "h1 logs both devices" grep -q "device tcp://127.0.0.1:$INV_PORT (huawei-sun2000); grid meter tcp://127.0.0.1:$MET_PORT (template)" "$T/h1.log"
sqlite3 "$T/h1.db" "select s.interval, hex(s.frame), hex(o.frame) from statements s
	join outbox o on o.stream = 1 and o.state = 1 and o.interval = s.interval" >"$T/h1.pairs"
check "h1: statements settle exactly the metered energy, readings name meter 10000001" python3 - "$T/h1.pairs" <<'PY'
import sys
n = 0
for line in open(sys.argv[1]):
    iv, st, me = line.strip().split("|")
    st, me = bytes.fromhex(st)[34:], bytes.fromhex(me)[34:]
    u = lambda b, o: int.from_bytes(b[o:o + 8], "big")
    assert me[16:48].rstrip(b"\0") == b"10000001", me[16:48]
    flags = int.from_bytes(st[40:44], "big")
    exp_s, imp_s = u(st, 64), u(st, 72)
    exp_m, imp_m = u(me, 56) - u(me, 48), u(me, 72) - u(me, 64)
    if flags & 1:
        continue
    assert (exp_s, imp_s) == (exp_m, imp_m), (iv, exp_s, imp_s, exp_m, imp_m)
    n += 1
assert n >= 2, "too few statements compared: %d" % n
print(n, "statements match the signed readings")
PY
for n in h1 h2; do stop_pid "${APID[$n]}"; done
stop_pid "$EXPID"
finish
