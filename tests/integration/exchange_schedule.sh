#!/usr/bin/env bash
# exchange_schedule.sh: the price outlook (the dynamic-tariff issue,
# docs/market.md "Tariff schedule", docs/protocol.md QUERY SCHEDULE and PUB
# topic MARKET).  QUERY SCHEDULE answers one message of exact logged MARKET
# frames, one per change of rules from interval a on; PUB MARKET publishes
# the same outlook at the start of every interval and after a MARKET entry
# was logged.
set -u
. "$(dirname "$0")/lib.sh"
B=$BUILD
L=3
T=$PW_TMP

q() { sqlite3 "$T/x.db" "$1"; }

"$B/peerwatt-exchange" keygen --out "$T/ex.key" >"$T/ex.pk" || exit 1
for h in a b; do "$B/pw-client" keygen "$T/$h.key" >"$T/$h.pk" || exit 1; done
hh() { echo "$1 $2 $(cat "$T/$1.pk") SER-$1 $3 3600000 3600000"; }
{
	hh a alice north
	hh b bob south
} >"$T/households"
P1=$(free_port)
P2=$(free_port)
exchange_conf "$T/x.conf" sched-market 21 "$P1" "$P2" "$T/households" "$T/x.db" "$T/ex.key"
cat >>"$T/x.conf" <<CONF
[market]
interval_s = $L
gate_s = 1
grace_s = 2
max_ahead_s = 9
CONF
"$B/peerwatt-exchange" -c "$T/x.conf" 2>>"$T/exchange.log" &
XPID=$!
PW_PIDS+=("$XPID")
wait_port "$P1" 30 || { not_ok "exchange listens"; exit 1; }
C=("$B/pw-client" -e "tcp://127.0.0.1:$P1" -s "$(cat "$T/ex.pk")" -m 21 -L $L -t 20000)
S=("$B/pw-client" -e "tcp://127.0.0.1:$P2" -s "$(cat "$T/ex.pk")" -m 21 -L $L -t 20000)
leaf() { q "SELECT lower(hex(leaf)) FROM log WHERE idx = $1"; }

# --- QUERY SCHEDULE and PUB MARKET with fixed tariffs ----------------------------------
got=$("${C[@]}" -k "$T/a.key" query schedule +0 0)
check "QUERY SCHEDULE, fixed tariffs: one frame, the genesis entry (got '${got:0:60}')" test \
	"$(echo "$got" | cut -d' ' -f1-4,8)" = "MARKET 0 80000 300000 $(leaf 0)"
# a subscriber gets the outlook at the start of the next interval
"${S[@]}" -k "$T/a.key" sub MARKET 1 >"$T/sub1.out" &
SUB=$!
PW_PIDS+=("$SUB")
WAIT_SECONDS=30 wait_for test -s "$T/sub1.out"
check "PUB MARKET at the start of an interval: the genesis entry" test \
	"$(cut -d' ' -f1-4,8 "$T/sub1.out")" = "MARKET 0 80000 300000 $(leaf 0)"

# --- a tariff change by reload: two frames, published at once ------------------------------
"${S[@]}" -k "$T/a.key" -t 60000 sub MARKET 3 >"$T/sub2.out" &
SUB2=$!
PW_PIDS+=("$SUB2")
WAIT_SECONDS=30 wait_for test -s "$T/sub2.out" # subscribed (an interval start)
sed -i 's/^retail = 0.30$/retail = 0.25/' "$T/x.conf"
kill -HUP "$XPID"
WAIT_SECONDS=30 wait_for grep -q "tariffs or fees changed: MARKET entry at log index" "$T/exchange.log"
m1=$(q 'SELECT max(idx) FROM log WHERE type = 24')
eff=$((16#$(q "SELECT hex(substr(frame, 43, 8)) FROM log WHERE idx = $m1")))
got=$("${C[@]}" -k "$T/a.key" query schedule +0 0)
check "QUERY SCHEDULE after the change: the genesis then the entry from $eff (got '$(echo $got)')" test \
	"$(echo "$got" | cut -d' ' -f1-4,8 | tr '\n' ';')" = \
	"MARKET 0 80000 300000 $(leaf 0);MARKET $eff 80000 250000 $(leaf "$m1");"
got=$("${C[@]}" -k "$T/a.key" query schedule "$eff" 0)
check "QUERY SCHEDULE from $eff: only the entry governing it" test \
	"$(echo "$got" | cut -d' ' -f1-2 | tr '\n' ';')" = "MARKET $eff;"
got=$("${C[@]}" -k "$T/a.key" query schedule 999999999 0)
check "QUERY SCHEDULE far ahead: the latest entry governs it" test \
	"$(echo "$got" | cut -d' ' -f1-2 | tr '\n' ';')" = "MARKET $eff;"
WAIT_SECONDS=30 wait_for grep -q "^MARKET $eff " "$T/sub2.out"
check "PUB MARKET after the reload: the two-frame outlook, published within the interval" \
	grep -q "^MARKET $eff 80000 250000 " "$T/sub2.out"
check "  its first frame is the genesis entry" test \
	"$(grep -B1 "^MARKET $eff " "$T/sub2.out" | head -1 | cut -d' ' -f1-2)" = "MARKET 0"

stop_pid "$XPID"
finish
