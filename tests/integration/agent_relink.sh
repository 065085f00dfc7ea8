#!/usr/bin/env bash
# agent_relink.sh: the agent's link to the exchange heals (docs/agent.md
# "Link to the exchange").
#   1. A fake exchange (pw-oversize, the exchange's real key, the exchange's
#      endpoints) sends the agent a 2 MiB message and then one of exactly
#      1 MiB (over ZMQ_MAXMSGSIZE with CURVE's overhead) on the request
#      socket and on the market-data socket.  libzmq ends such a connection
#      and never reconnects it: the agent must re-create its sockets after
#      each one (the fake sees four new connections).  Then the fake publishes
#      signed HEARTBEATs but answers no request: the agent's status says so
#      after 15 s, and it gives up on that request socket (3 reply timeouts,
#      at least 10 s) and re-creates it, twice.
#   2. The real exchange then starts on the same endpoints: the agent trades
#      normally (orders ACKed, a purchase settled in a statement), the
#      readings it queued meanwhile (fake or no exchange) arrive, in
#      their order, none refused, and its readings are exactly the
#      exchange's meters rows; /metrics counts the re-connections; the status
#      says the exchange is reachable.
#   3. The real exchange hangs (SIGSTOP): the agent notices the missing
#      HEARTBEATs, re-connects, and goes on when the exchange does (SIGCONT).
#   4. The real exchange is killed (SIGKILL) while the agent keeps queueing
#      readings, and restarted: they arrive in order, none lost or refused.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/integration/lib.sh

AGENT=$BUILD/peerwatt-agent
EXCH=${PW_EXCHANGE:-$BUILD/peerwatt-exchange}
OVER=$BUILD/pw-oversize
L=3
T=$PW_TMP

XPK=$("$AGENT" keygen --out "$T/exchange.key" | sed -n 's/^public key: //p')
declare -A SIMPORT PK
: >"$T/households"
# h2 is the agent under test (a standing bid, no PV); h1 sells to it
for spec in h1:6000:700 h2:0:1500; do
	IFS=: read -r n pv load <<<"$spec"
	start_sim --speed 60 --start-time 11:00 --pv-peak "$pv" --load "$load" --seed "${n#h}" ||
		not_ok "simulator $n starts"
	SIMPORT[$n]=$SIM_PORT
	PK[$n]=$("$AGENT" keygen --out "$T/$n.key" | sed -n 's/^public key: //p')
	echo "$n $n ${PK[$n]} PWSIM-${n#h}-1 z1 1200000 1200000" >>"$T/households"
done

REQ=$(free_port)
PUB=$(free_port)
exchange_conf "$T/exchange.conf" rtest 46 "$REQ" "$PUB" "$T/households" "$T/exchange.db" \
	"$T/exchange.key"
cat >>"$T/exchange.conf" <<CONF
[market]
interval_s = $L
gate_s = 1
grace_s = 2
[network]
heartbeat_ms = 1000
[fees]
same_zone = 0.01
default = 0.03
CONF

DASH=$(free_port)
for n in h1 h2; do
	agent_conf "$T/$n.conf" "$T/$n.key" "$T/$n.db" "${SIMPORT[$n]}" "$REQ" "$PUB" "$XPK" 46 $L
	cat >>"$T/$n.conf" <<CONF
[exchange]
reply_timeout_ms = 1000
[policy]
min_price = 0.10
safety_pct = 90
horizon = 2
[log]
level = info
CONF
done
printf '[bid.always]\nqty_wh = 150\nmax_price = 0.25\n[dashboard]\nlisten = 127.0.0.1:%s\n' \
	"$DASH" >>"$T/h2.conf"
printf '[dashboard]\nenabled = no\n' >>"$T/h1.conf"

start_agent() {
	"$AGENT" -c "$T/$1.conf" >>"$T/$1.log" 2>&1 &
	eval "APID_$1=$!"
	PW_PIDS+=($!)
}
start_exchange() {
	"$EXCH" -c "$T/exchange.conf" >>"$T/exchange.log" 2>&1 &
	EXPID=$!
	PW_PIDS+=($!)
	wait_port "$REQ" 60
}
q() { sqlite3 "$T/$1.db" "$2" 2>/dev/null || echo 0; }
qx() { sqlite3 "$T/exchange.db" "$1" 2>/dev/null; }
at_least() { [ "$(q "$1" "$2")" -ge "$3" ]; }
metric() { curl -sf "http://127.0.0.1:$DASH/metrics" | sed -n "s/^$1 //p"; }

# --- 1. oversize messages on both sockets ------------------------------------
"$OVER" "$T/exchange.key" "tcp://127.0.0.1:$REQ" "tcp://127.0.0.1:$PUB" 46 240 >"$T/over.out" \
	2>&1 &
OVPID=$!
PW_PIDS+=($OVPID)
WAIT_SECONDS=60 wait_for grep -q '^listening' "$T/over.out" || not_ok "pw-oversize starts"
start_agent h2
over_done() { ! kill -0 "$OVPID" 2>/dev/null; }
# while the fake answers no request but publishes HEARTBEATs, the status
# must not say "reachable": requests unanswered for 15 s are a problem
# (jq -e on empty input succeeds: the document is fetched first)
state_is() { local s; s=$(curl -sf -m 10 "http://127.0.0.1:$DASH/api/state") && [ -n "$s" ] &&
	echo "$s" | jq -e "$1" >/dev/null; }
requests_unanswered() {
	state_is '.exchange.reachable and
		any(.problems[]; .code == "exchange_unreachable" and
		(.message | test("answered no request")))'
}
WAIT_SECONDS=200 wait_for requests_unanswered
check "status: requests unanswered while market data flows is exchange_unreachable" \
	requests_unanswered
WAIT_SECONDS=260 wait_for over_done
wait "$OVPID"
over_rc=$?
new_conn() { grep -c "^$1: new connection" "$T/over.out"; }
figures=$(sed -n 's/^\(.*\): new connection \([0-9]*\) ms after the oversize.*/\1 \2 ms/p' \
	"$T/over.out" | paste -sd, -)
check "the agent re-connects after each oversize message, 2 per socket ($figures)" \
	test "$over_rc" = 0 -a "$(new_conn router)" = 4 -a "$(new_conn pub)" = 2
mute=$(sed -n 's/^router: new connection \([0-9]*\) ms after the first unanswered.*/\1 ms/p' \
	"$T/over.out" | paste -sd, -)
check "requests unanswered while HEARTBEATs flow: the request socket is re-created (${mute:-never})" \
	test "$(new_conn router)" = 4
check "... and logged with that cause" \
	grep -q "re-connecting both sockets to the exchange (re-connection [0-9]*): no verified reply to a request for [0-9]* ms" \
	"$T/h2.log"
check "the fake exchange sent 2 MiB and exactly 1 MiB on each socket" \
	test "$(grep -c '^router: sent \(2097152\|1048576\) bytes' "$T/over.out")" = 2 \
	-a "$(grep -c '^pub: sent \(2097152\|1048576\) bytes' "$T/over.out")" = 2
check "the agent survived" kill -0 "$APID_h2"
check "the re-connection is logged with its cause" \
	grep -q "re-connecting both sockets to the exchange (re-connection [0-9]*): the connection of the \(request\|market-data\) socket ended" \
	"$T/h2.log"
# nothing listens now: readings (and the standing bid's orders) queue up
WAIT_SECONDS=60 wait_for at_least h2 "select count(*) from outbox where stream = 1 and state = 0" 2
pre_readings=$(q h2 "select count(*) from outbox where stream = 1")
check "readings queue while no exchange answers ($pre_readings)" test "$pre_readings" -ge 2

# --- 2. the real exchange on the same endpoints: normal trading --------------
start_exchange || not_ok "exchange starts"
start_agent h1
WAIT_SECONDS=90 wait_for at_least h2 "select count(*) from trades where side = 1" 1
check "orders are acknowledged after the faults" \
	at_least h2 "select count(*) from outbox where type = 1 and state = 1" 1
check "the agent buys (a trade)" at_least h2 "select count(*) from trades where side = 1" 1
settled() {
	[ "$(q h2 "select count(*) from statements s join trades t on t.interval = s.interval
		where t.side = 1")" -ge 1 ]
}
WAIT_SECONDS=90 wait_for settled
check "a purchase is settled in a statement" settled
WAIT_SECONDS=30 wait_for at_least h2 "select count(*) from outbox where stream = 1 and state = 1" \
	$((pre_readings + 1))
check "the $pre_readings readings queued before the exchange came are acknowledged" \
	at_least h2 "select count(*) from outbox where stream = 1 and state = 1" $((pre_readings + 1))
reachable() {
	state_is '.exchange.reachable and
		([.problems[] | select(.code | startswith("exchange"))] | length == 0)'
}
WAIT_SECONDS=30 wait_for reachable
check "status: the exchange reachable, no exchange problem" reachable
relinks=$(metric peerwatt_agent_exchange_reconnects_total)
# each re-creation renews both sockets: four faults need two at least
check "/metrics counts the re-connections (${relinks:-none}, at least 2)" \
	test "${relinks:-0}" -ge 2

# The exchange's rows of household h2, in the order it accepted them (log
# index), must be h2's own numbers in increasing order without a gap for the
# readings: the outbox order was kept, nothing lost.
in_order() { # table: seqs by log index strictly increasing
	qx "select seq from $1 where hex(pk) = upper('${PK[h2]}') order by log_idx" >"$T/$1.seqs"
	sort -n -c -u "$T/$1.seqs" 2>/dev/null && [ -s "$T/$1.seqs" ]
}
readings_match() { # the agent's acknowledged readings are the exchange's meters rows
	q h2 "select seq || ' ' || interval from outbox where stream = 1 and state = 1
		order by seq" >"$T/h2.acked"
	qx "select seq || ' ' || interval from meters where hex(pk) = upper('${PK[h2]}')
		order by seq" >"$T/x.meters"
	# the exchange may hold one more (its ACK still on the way)
	head -n "$(wc -l <"$T/h2.acked")" "$T/x.meters" | cmp -s - "$T/h2.acked" &&
		[ "$(($(wc -l <"$T/x.meters") - $(wc -l <"$T/h2.acked")))" -le 1 ] &&
		[ "$(head -n1 "$T/x.meters" | cut -d' ' -f1)" = 1 ] &&
		[ "$(tail -n1 "$T/x.meters" | cut -d' ' -f1)" = "$(wc -l <"$T/x.meters")" ]
}
# A resend of a request the exchange had accepted before the fault (a hung
# exchange reads the old connection's bytes when it resumes) is answered
# `replay` and taken as delivered: fine, and readings_match shows the row is
# there.  A refused reading or a gap is not.
none_refused() {
	[ "$(q h2 "select count(*) from outbox where stream in (1, 3) and state = 2")" = 0 ] &&
		[ "$(q h2 "select count(*) from outbox where type = 1 and state = 2 and reason = 5")" = 0 ] &&
		! grep -q "meter_gap" "$T/h2.log"
}
check "orders reached the exchange in the agent's order" in_order orders
check "readings reached the exchange in order, without a gap" in_order meters
check "every acknowledged reading is the exchange's meters row (seq, interval)" readings_match
check "no reading refused, no gap, no order refused as a replay" none_refused

# --- 3. the exchange hung (SIGSTOP, its connections open): the silence on
# the market-data socket is a dead link, the sockets are re-created, and the
# agent goes on when the exchange does
hang_logged() {
	grep -q "re-connecting both sockets to the exchange (re-connection [0-9]*): no verified market data (HEARTBEAT) for [0-9]* ms" \
		"$T/h2.log"
}
acked_before=$(q h2 "select count(*) from outbox where stream = 1 and state = 1")
works() { grep -c "the link to the exchange works again" "$T/h2.log"; }
works_before=$(works)
kill -STOP "$EXPID"
WAIT_SECONDS=60 wait_for hang_logged
check "a hung exchange: no HEARTBEAT for 4 periods is detected and logged" hang_logged
kill -CONT "$EXPID"
WAIT_SECONDS=60 wait_for at_least h2 "select count(*) from outbox where stream = 1 and state = 1" \
	$((acked_before + 1))
check "after the hang, readings are acknowledged again" \
	at_least h2 "select count(*) from outbox where stream = 1 and state = 1" $((acked_before + 1))
# the log line follows the first verified frame; the ACK counted above may
# come first: polled, not looked at once
returned() { [ "$(works)" -gt "$works_before" ]; }
WAIT_SECONDS=30 wait_for returned
check "the return of verified frames is logged" returned

# --- 4. the exchange killed and restarted while the agent queues ------------
acked_before=$(q h2 "select count(*) from outbox where type = 1 and state = 1")
kill -KILL "$EXPID"
wait "$EXPID" 2>/dev/null
base=$(q h2 "select coalesce(max(seq), 0) from outbox where stream = 1")
WAIT_SECONDS=60 wait_for at_least h2 "select count(*) from outbox where stream = 1 and state = 0
	and seq > $base" 3
check "readings queue while the exchange is down" \
	at_least h2 "select count(*) from outbox where stream = 1 and state = 0 and seq > $base" 3
queued=$(q h2 "select group_concat(seq) from outbox where stream = 1 and state = 0")
last_q=$(q h2 "select max(seq) from outbox where stream = 1 and state = 0")
t0=$SECONDS
start_exchange || not_ok "exchange restarts"
queued_acked() {
	[ "$(q h2 "select count(*) from outbox where stream = 1 and seq <= $last_q
		and state != 1")" = 0 ]
}
WAIT_SECONDS=60 wait_for queued_acked
check "the readings queued during the outage ($queued) are acknowledged ($((SECONDS - t0)) s after the restart)" \
	queued_acked
orders_after() {
	at_least h2 "select count(*) from outbox where type = 1 and state = 1" $((acked_before + 1))
}
WAIT_SECONDS=60 wait_for orders_after
check "orders are acknowledged after the restart" orders_after
check "readings still in order, without a gap, after the restart" in_order meters
check "orders still in the agent's order" in_order orders
stop_pid "$APID_h2"
check "every acknowledged reading is the exchange's meters row, after the restart" readings_match
check "no sanitizer report (BUILD=build-san)" \
	bash -c "! grep -q 'runtime error\|AddressSanitizer' '$T/h2.log' '$T/h1.log' '$T/exchange.log'"
check "no reading refused, no gap, no order refused as a replay, after the restart ($(grep -c 'replay of a frame already accepted' "$T/h2.log") replay(s) of resent items taken as delivered)" \
	none_refused
finish
