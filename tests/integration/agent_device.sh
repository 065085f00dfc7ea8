#!/usr/bin/env bash
# agent_device.sh: device input that cannot poison (issue 16 point 3,
# docs/agent.md "Meter samples that cannot poison" and "Threads").
# One exchange (3 s intervals) and three households, each with a hostile
# simulated device (peerwatt-sim at 60x), trading on loopback:
#   h1  the meter's export register jumps by 10^9 Wh while the agent is
#       stopped (SIGUSR1 to the sim): the first samples after the restart
#       are refused (meter_implausible), the jump becomes the base after 5
#       agreeing samples, no reading spans it, none is refused by the
#       exchange, and no offer follows the garbage;
#   h2  every 10th reply dribbles one byte every 450 ms (libmodbus's byte
#       timeout restarts at every byte): each such transaction ends at its
#       deadline; meanwhile the dashboard answers 20 of 20 probes, the
#       standing bid's orders are placed and acknowledged every interval,
#       readings are signed;
#   h3  every reply comes after 900 ms (timeout 1000 ms): the same.
# Everywhere: no reading above rated power x interval, no offer above it.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/integration/lib.sh

AGENT=$BUILD/peerwatt-agent
EXCH=${PW_EXCHANGE:-$BUILD/peerwatt-exchange}
L=3
T=$PW_TMP
# lib.sh's agent_conf: rated 1.5 MW, capacity 1.2 MW: 1250 Wh per 3 s
# interval with 10 % (every sample's tolerance) and 1000 Wh offered at most
MAX_READING_WH=1375
MAX_OFFER_WH=1000

XPK=$("$AGENT" keygen --out "$T/exchange.key" | sed -n 's/^public key: //p')
declare -A SIMPORT SIMPID APID DASH
start_house_sim() { # name args...
	local n=$1
	shift
	start_sim --speed 60 --start-time 11:00 --pv-peak 6000 --load 700 --seed "${n#h}" "$@" ||
		return 1
	SIMPORT[$n]=$SIM_PORT
	SIMPID[$n]=$SIM_PID
}
start_house_sim h1 || not_ok "simulator h1 starts"
start_house_sim h2 --fault trickle --trickle-ms 450 || not_ok "simulator h2 starts"
start_house_sim h3 --reply-delay 900 || not_ok "simulator h3 starts"
: >"$T/households"
for n in h1 h2 h3; do
	pk=$("$AGENT" keygen --out "$T/$n.key" | sed -n 's/^public key: //p')
	echo "$n $n $pk PWSIM-${n#h}-1 z1 1200000 1200000" >>"$T/households"
done

REQ=$(free_port)
PUB=$(free_port)
exchange_conf "$T/exchange.conf" itest 42 "$REQ" "$PUB" "$T/households" "$T/exchange.db" \
	"$T/exchange.key"
printf '[market]\ninterval_s = %s\ngate_s = 1\ngrace_s = 2\n' $L >>"$T/exchange.conf"
"$EXCH" -c "$T/exchange.conf" >"$T/exchange.log" 2>&1 &
PW_PIDS+=($!)
wait_port "$REQ" 60 || not_ok "exchange starts"

for n in h1 h2 h3; do
	DASH[$n]=$(free_port)
	agent_conf "$T/$n.conf" "$T/$n.key" "$T/$n.db" "${SIMPORT[$n]}" "$REQ" "$PUB" "$XPK" 42 $L
	cat >>"$T/$n.conf" <<CONF
[exchange]
reply_timeout_ms = 1500
[policy]
min_price = 0.10
horizon = 2
[dashboard]
listen = 127.0.0.1:${DASH[$n]}
[log]
level = info
CONF
	# the buyers: orders every interval whatever the device does
	[ "$n" != h1 ] && printf '[bid.always]\nqty_wh = 50\nmax_price = 0.25\n' >>"$T/$n.conf"
done
start_agent() {
	"$AGENT" -c "$T/$1.conf" >>"$T/$1.log" 2>&1 &
	APID[$1]=$!
	PW_PIDS+=($!)
}
for n in h1 h2 h3; do start_agent $n; done

q() { sqlite3 "$T/$1.db" "$2" 2>/dev/null || echo 0; }
at_least() { [ "$(q "$1" "$2")" -ge "$3" ]; }
ACKED_READINGS="select count(*) from outbox where type = 3 and state = 1"
ACKED_ORDERS="select count(*) from outbox where type = 1 and state = 1"
# probes N NAME: /api/state of NAME's dashboard N times, 0.5 s apart; prints
# how many were answered (200) within 3 s each
probes() {
	local i ok=0
	for i in $(seq 1 "$1"); do
		[ "$(curl -s -o /dev/null -m 3 -w '%{http_code}' \
			"http://127.0.0.1:${DASH[$2]}/api/state")" = 200 ] && ok=$((ok + 1))
		sleep 0.5
	done
	echo "$ok"
}
readings_max() { # the largest export or import of NAME's signed readings
	sed -n 's/.*reading [0-9]* for interval .*: export \([0-9]*\) Wh, import \([0-9]*\) Wh.*/\1\n\2/p' \
		"$T/$1.log" | sort -n | tail -1
}
offers_max() {
	sed -n 's/.*order [0-9]*: sell \([0-9]*\) Wh.*/\1/p' "$T/$1.log" | sort -n | tail -1
}

# --- h1: a jump of 10^9 Wh while the agent is stopped -------------------------
WAIT_SECONDS=90 wait_for at_least h1 "$ACKED_READINGS" 3 || not_ok "h1 signs readings"
WAIT_SECONDS=60 wait_for grep -q "order [0-9]*: sell" "$T/h1.log" || not_ok "h1 offers"
before_offer=$(offers_max h1)
before_orders=$(grep -c "order [0-9]*: sell" "$T/h1.log")
stop_pid "${APID[h1]}"
kill -USR1 "${SIMPID[h1]}"
acked=$(q h1 "$ACKED_READINGS")
start_agent h1
WAIT_SECONDS=60 wait_for grep -q "meter: implausible sample refused" "$T/h1.log"
check "h1: the first sample after the restart is refused (+10^9 Wh)" \
	grep -q "meter: implausible sample refused (export +1000000" "$T/h1.log"
WAIT_SECONDS=30 wait_for grep -q "meter: registers jumped" "$T/h1.log"
check "h1: after 5 agreeing samples the jump is the new base" \
	grep -q "meter: registers jumped (export +1000000.*5 samples agree" "$T/h1.log"
check "h1: the dashboard says so (meter_implausible)" \
	grep -q "status: meter_implausible" "$T/h1.log"
check "h1: auto-sell paused meanwhile" grep -q "auto-sell paused: the meter's samples" "$T/h1.log"
WAIT_SECONDS=90 wait_for at_least h1 "$ACKED_READINGS" $((acked + 4)) ||
	not_ok "h1 signs readings again"
WAIT_SECONDS=30 wait_for bash -c "[ \$(grep -c 'order [0-9]*: sell' '$T/h1.log') -ge $((before_orders + 3)) ]"
check "h1: readings are signed and acknowledged after the jump ($acked -> $(q h1 "$ACKED_READINGS"))" \
	at_least h1 "$ACKED_READINGS" $((acked + 4))
check "h1: no reading was refused by the exchange" bash -c "! grep -q 'reading [0-9]* for interval .* rejected' '$T/h1.log'"
check "h1: no reading spans the jump (largest $(readings_max h1) Wh <= $MAX_READING_WH)" \
	test "$(readings_max h1)" -le $MAX_READING_WH
after_offer=$(offers_max h1)
check "h1: offers after the jump follow the meter, not the garbage (largest $after_offer Wh; $before_offer before; capacity $MAX_OFFER_WH)" \
	test "$after_offer" -le $((before_offer * 3 / 2 + 50)) -a "$after_offer" -lt $MAX_OFFER_WH
check "h1: status meter_implausible clears with the next reading" \
	grep -q "status: meter_implausible cleared" "$T/h1.log"
metric() { # name metric
	curl -s -m 5 "http://127.0.0.1:${DASH[$1]}/metrics" | sed -n "s/^$2 //p"
}
refused=$(metric h1 peerwatt_agent_meter_samples_refused_total)
rebased=$(metric h1 peerwatt_agent_meter_rebased_total)
check "h1: /metrics counts the refused samples ($refused) and one rebase ($rebased)" \
	test "${refused:-0}" -ge 5 -a "${rebased:-0}" = 1

# --- h2 (a dribbling device) and h3 (replies just under the timeout) --------
for n in h2 h3; do
	WAIT_SECONDS=90 wait_for at_least $n "$ACKED_READINGS" 2 || not_ok "$n signs readings"
	WAIT_SECONDS=60 wait_for at_least $n "$ACKED_ORDERS" 2 || not_ok "$n's bids are acknowledged"
done
WAIT_SECONDS=60 wait_for grep -q "deadline" "$T/h2.log" || not_ok "h2: a dribbled reply happens"
for n in h2 h3; do
	orders=$(q $n "$ACKED_ORDERS")
	readings=$(q $n "$ACKED_READINGS")
	answered=$(probes 20 $n)
	check "$n: the dashboard answers every probe during the fault ($answered of 20)" \
		test "$answered" = 20
	check "$n: orders keep being placed and acknowledged ($orders -> $(q $n "$ACKED_ORDERS"))" \
		at_least $n "$ACKED_ORDERS" $((orders + 2))
	check "$n: readings keep being signed and acknowledged ($readings -> $(q $n "$ACKED_READINGS"))" \
		at_least $n "$ACKED_READINGS" $((readings + 2))
	check "$n: no reading above rated power x interval (largest $(readings_max $n) Wh)" \
		test "$(readings_max $n)" -le $MAX_READING_WH
	check "$n: no reading refused by the exchange" \
		bash -c "! grep -q 'reading [0-9]* for interval .* rejected' '$T/$n.log'"
done
dribbles=$(grep -c "trickling a" "$T/sim.${SIMPORT[h2]}.err")
ended=$(grep -c "no whole reply within the transaction's deadline" "$T/h2.log")
echo "# h2: the device dribbled $dribbles replies; $ended transactions ended at their deadline"
check "h2: dribbled replies end at the transaction's deadline ($ended of $dribbles)" \
	test "$ended" -ge 1
check "h3: no transaction of the slow device hit its deadline" \
	bash -c "! grep -q 'transaction.s deadline' '$T/h3.log'"
for n in h1 h2 h3; do
	off=$(offers_max $n)
	check "$n: no offer above rated power x interval (largest ${off:-none} Wh)" \
		test "${off:-0}" -le $MAX_OFFER_WH
done
for n in h1 h2 h3; do
	check "$n: the agent is still running" kill -0 "${APID[$n]}"
done
# a graceful stop, whatever the device is doing (the device thread is
# interrupted and joined)
for n in h2 h3; do
	stop_pid "${APID[$n]}"
	check "$n: stops gracefully" grep -q "peerwatt-agent.*stopping" "$T/$n.log"
done
check "no sanitizer report" bash -c "! grep -q 'runtime error\|AddressSanitizer\|ThreadSanitizer' $T/h*.log"
finish
