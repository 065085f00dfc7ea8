#!/usr/bin/env bash
# agent_status.sh: the agent's status never lies (docs/agent.md "Status").
# One peerwatt-exchange (3 s intervals, HEARTBEAT every second), one
# peerwatt-sim, and one agent per state, each provoking it:
#   good     right settings: no problems, the exchange reachable
#   wrongkey [exchange] public_key of another key -> exchange_refused
#   unreg    a key the registry does not hold      -> exchange_refused
#   serial   [household] serial not the registered -> meter_serial_refused
#   interval interval_s 4 where the market has 3   -> market_mismatch (and
#            its standing bid is no longer placed)
#   skew     [test] clock_offset_s = -300           -> clock_skew
#   devdown  [device] modbus where nothing listens -> device_unreachable
#   unit     [device] unit 3 (the simulator is 1)  -> no_sunspec_device
# Each state is asserted in /api/state (a stable code, a message, an action)
# and in the agent's log (logged once).  Then the exchange hangs (SIGSTOP)
# and comes back (SIGCONT), then is killed: each time the good agent says
# exchange_unreachable within 30 s (cleared when it is back); its new standing bids
# read "queued: not yet at the exchange" and, once their gate passed unsent,
# "missed: exchange unreachable" (never "pending", "sent" or "expired").
# The exchange's log names the refused key and each REJECT (household,
# reason, interval, both serials for meter_serial).
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/integration/lib.sh

AGENT=$BUILD/peerwatt-agent
EXCH=${PW_EXCHANGE:-$BUILD/peerwatt-exchange}
L=3
T=$PW_TMP

XPK=$("$AGENT" keygen --out "$T/exchange.key" | sed -n 's/^public key: //p')
OTHER=$("$AGENT" keygen --out "$T/other.key" | sed -n 's/^public key: //p')
NAMES="good wrongkey unreg serial interval skew devdown unit"
: >"$T/households"
n=0
for a in $NAMES; do
	n=$((n + 1))
	pk=$("$AGENT" keygen --out "$T/$a.key" | sed -n 's/^public key: //p')
	serial=REG-$a
	[ "$a" = good ] && serial=PWSIM-1-1
	[ "$a" = unreg ] && continue
	echo "$a $a $pk $serial z1 1200000 1200000" >>"$T/households"
done

start_sim --speed 60 --start-time 11:00 --pv-peak 6000 --load 700 --seed 1 ||
	not_ok "simulator starts"
REQ=$(free_port)
PUB=$(free_port)
exchange_conf "$T/exchange.conf" stest 44 "$REQ" "$PUB" "$T/households" "$T/exchange.db" \
	"$T/exchange.key"
cat >>"$T/exchange.conf" <<CONF
[market]
interval_s = $L
gate_s = 1
grace_s = 2
[network]
heartbeat_ms = 1000
CONF
"$EXCH" -c "$T/exchange.conf" >"$T/exchange.log" 2>&1 &
EXPID=$!
PW_PIDS+=("$EXPID")
wait_port "$REQ" 60 || not_ok "exchange starts"

declare -A DASH
for a in $NAMES; do
	DASH[$a]=$(free_port)
	agent_conf "$T/$a.conf" "$T/$a.key" "$T/$a.db" "$SIM_PORT" "$REQ" "$PUB" "$XPK" 44 $L
	{
		printf '[exchange]\nreply_timeout_ms = 500\n'
		printf '[policy]\nauto_sell = no\n'
		printf '[dashboard]\nlisten = 127.0.0.1:%s\n' "${DASH[$a]}"
		printf '[log]\nlevel = info\n'
		case $a in
		good) printf '[bid.always]\nqty_wh = 100\nmax_price = 0.25\n' ;;
		serial) printf '[household]\nserial = WRONG-serial\n' ;;
		interval) printf '[household]\nserial = REG-interval\n[bid.always]\nqty_wh = 100\nmax_price = 0.25\n' ;;
		skew) printf '[household]\nserial = REG-skew\n[test]\nclock_offset_s = -300\n' ;;
		devdown) printf '[household]\nserial = REG-devdown\n' ;;
		unit) printf '[household]\nserial = REG-unit\n[device]\nunit = 3\n' ;;
		esac
	} >>"$T/$a.conf"
	# a key may not be given twice: these replace the line
	case $a in
	wrongkey) sed -i "s/^public_key = .*/public_key = $OTHER/" "$T/$a.conf" ;;
	interval) sed -i "s/^interval_s = .*/interval_s = 4/" "$T/$a.conf" ;;
	devdown) sed -i "s|^modbus = .*|modbus = tcp://127.0.0.1:$(free_port)|" "$T/$a.conf" ;;
	esac
	"$AGENT" -c "$T/$a.conf" --check-config >/dev/null || not_ok "$a: configuration refused"
	"$AGENT" -c "$T/$a.conf" >"$T/$a.log" 2>&1 &
	PW_PIDS+=("$!")
	eval "PID_$a=$!"
done

# (jq -e on empty input succeeds: the document is fetched first)
state() { curl -sf "http://127.0.0.1:${DASH[$1]}/api/state"; }
jqs() { local s; s=$(state "$1") && [ -n "$s" ] && shift && echo "$s" | jq -e "$@" >/dev/null; }
has_problem() { jqs "$1" --arg c "$2" 'any(.problems[]; .code == $c)'; }
# the problem's message and action name the cause and what to do
says() { jqs "$1" --arg c "$2" --arg re "$3" \
	'any(.problems[]; .code == $c and ((.message + " " + .action) | test($re)))'; }
logged_once() { [ "$(grep -c "status: $2: " "$T/$1.log")" = 1 ]; }

expect() { # AGENT CODE REGEX WHAT
	WAIT_SECONDS=60 wait_for has_problem "$1" "$2"
	check "$4: /api/state lists $2" has_problem "$1" "$2"
	check "$4: the message names the cause and what to do" says "$1" "$2" "$3"
	check "$4: logged once (status: $2)" logged_once "$1" "$2"
}

# --- the good agent: nothing wrong ------------------------------------------
reachable_clean() { jqs good '.exchange.reachable and (.problems | length) == 0'; }
WAIT_SECONDS=60 wait_for reachable_clean
check "good agent: the exchange reachable, no problems" reachable_clean

# --- each state, provoked --------------------------------------------------
expect wrongkey exchange_refused 'public_key.*not registered' "wrong exchange key"
check "exchange: the failed handshake of a client with another exchange key is logged" \
	grep -q "gateway: a CURVE handshake on the request socket failed: the client's \[exchange\] public_key is not this exchange's key" \
	"$T/exchange.log"
expect unreg exchange_refused 'public_key.*not registered.*revoked' "unregistered household"
check "unregistered household: the ZAP refusal is recorded (status 400)" \
	says unreg exchange_refused 'status 400'
check "exchange: the refused handshake is logged with the key" \
	grep -q "gateway: ZAP refuses a connection from .*: CURVE key [0-9a-f]\{64\} is not a registered" \
	"$T/exchange.log"
expect serial meter_serial_refused 'WRONG-serial.*PWSIM-1-1' "meter serial refused"
check "exchange: the REJECT is logged at info with household, interval and both serials" \
	grep -q '^<6>peerwatt-exchange: engine: REJECT METER seq [0-9]* of household serial for interval [0-9]*: meter_serial: reading serial "WRONG-serial", registered "REG-serial"' \
	"$T/exchange.log"
expect interval market_mismatch 'interval_s 4 here, 3 at the exchange.*interval_s = 3' \
	"interval mismatch"
n_orders() { sqlite3 "$T/$1.db" "select count(*) from outbox where type = 1" 2>/dev/null; }
before=$(n_orders interval)
# three intervals pass (the good agent's standing bid places one order each)
good_before=$(n_orders good)
good_more() { [ "$(n_orders good)" -ge $((good_before + 3)) ]; }
WAIT_SECONDS=60 wait_for good_more
check "interval mismatch: no orders placed once the mismatch is known ($before, then $(n_orders interval))" \
	test -n "$before" -a "$(n_orders interval)" = "$before"
expect skew clock_skew '300 s behind' "clock skew"
expect devdown device_unreachable 'Inverter unreachable.*\[device\] modbus' "device down"
expect unit no_sunspec_device 'No SunSpec device at unit 3.*peerwatt-agent probe' "wrong unit id"
check "good agent: still no problems" reachable_clean

# --- the exchange killed ---------------------------------------------------
acked() { state good >/dev/null && [ "$(sqlite3 "$T/good.db" \
	"select count(*) from outbox where type = 1 and state = 1" 2>/dev/null || echo 0)" -ge 1 ]; }
WAIT_SECONDS=60 wait_for acked
check "good agent: its standing bids reach the exchange" acked
# hung: the process stopped, its sockets open (TCP still connected)
kill -STOP "$EXPID"
t0=$(date +%s)
WAIT_SECONDS=40 wait_for has_problem good exchange_unreachable
secs=$(($(date +%s) - t0))
check "exchange hung (SIGSTOP): exchange_unreachable within 30 s (took ${secs} s)" \
	test "$secs" -le 30 -a "$(grep -c "status: exchange_unreachable: " "$T/good.log")" = 1
kill -CONT "$EXPID"
WAIT_SECONDS=40 wait_for reachable_clean
check "exchange back (SIGCONT): the problem clears, logged once" \
	test "$(grep -c "status: exchange_unreachable cleared" "$T/good.log")" = 1
# stopped for good
kill -KILL "$EXPID"
wait "$EXPID" 2>/dev/null
killed=$(date +%s)
WAIT_SECONDS=40 wait_for has_problem good exchange_unreachable
secs=$(($(date +%s) - killed))
check "exchange killed: exchange_unreachable in /api/state within 30 s (took ${secs} s)" \
	test "$secs" -le 30
check "exchange killed: reachable false" jqs good '.exchange.reachable == false'
check "exchange killed: /metrics has peerwatt_agent_problem{code=\"exchange_unreachable\"} 1" \
	grep -qx 'peerwatt_agent_problem{code="exchange_unreachable"} 1' \
	<(curl -sf "http://127.0.0.1:${DASH[good]}/metrics")
check "exchange killed: the message says so" says good exchange_unreachable 'stopped, hung.*queued'
check "exchange killed: logged once more" \
	test "$(grep -c "status: exchange_unreachable: " "$T/good.log")" = 2
orders() { curl -sf "http://127.0.0.1:${DASH[good]}/api/orders"; }
any_status() { local o; o=$(orders) && [ -n "$o" ] && echo "$o" | jq -e --arg s "$1" --arg r "$2" \
	'any(.orders[]; .status == $s and .reason == $r)' >/dev/null; }
WAIT_SECONDS=20 wait_for any_status queued "not yet at the exchange"
check "a bid placed meanwhile reads queued: not yet at the exchange" \
	any_status queued "not yet at the exchange"
check "... never pending" test "$(orders | jq '[.orders[] | select(.status == "pending")] | length')" = 0
WAIT_SECONDS=30 wait_for any_status missed "exchange unreachable"
check "a bid whose gate passed unsent reads missed: exchange unreachable" \
	any_status missed "exchange unreachable"
check "... and no unsent bid reads expired" test "$(sqlite3 "$T/good.db" \
	"select count(*) from outbox where type = 1 and state = 3" 2>/dev/null || echo 0)" -ge 1 \
	-a "$(orders | jq '[.orders[] | select(.status == "expired" and .reason != "")] | length')" = 0
check "the log says the agent warned, not only the dashboard" \
	grep -q "^<4>peerwatt-agent: status: exchange_unreachable: Exchange unreachable" "$T/good.log"
finish
