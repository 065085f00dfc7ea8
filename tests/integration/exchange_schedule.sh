#!/usr/bin/env bash
# exchange_schedule.sh: dynamic tariffs and grid fees (the dynamic-tariff
# issue; docs/market.md "Tariff schedule", docs/exchange.md "Tariff
# schedule", docs/protocol.md QUERY SCHEDULE and PUB topic MARKET).
# With fixed tariffs: QUERY SCHEDULE answers one message of exact logged
# MARKET frames, one per change of rules from interval a on, and PUB MARKET
# publishes it at every interval start and after a reload logged an entry.
# With a tariff_file and fee_file whose bounds change between intervals
# (one with a negative feed-in): each change is one MARKET entry (equal rows
# merged), orders are judged against their interval's bounds and cleared
# within them, HEARTBEAT carries the current interval's tariffs; a reload
# appends new rows, refuses changing a published row or one before E
# (naming the line and interval, nothing changed), ignores past rows, keeps
# published rows a shorter file lacks; at start a changed published row is
# exit 78; peerwatt-audit verifies the log clean and catches a forged
# MARKET entry for a traded interval and a clearing outside its bounds.
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

# --- a tariff and fee schedule ----------------------------------------------------------
# Rows (relative to interval K, beyond max_ahead_s when the exchange starts):
# K retail 40 / feed-in 10 ct; K+2 retail 25 / feed-in -5 (a negative
# feed-in: export costs money); K+4 the same (merged); K+5 retail 35 /
# feed-in 9.  Fees: from K same-zone 1, default 2, north/south 1.5 ct;
# from K+2 default 3 ct (same-zone back to [fees], 0).
P3=$(free_port)
P4=$(free_port)
exchange_conf "$T/z.conf" dyn-market 22 "$P3" "$P4" "$T/households" "$T/z.db" "$T/ex.key"
cat >>"$T/z.conf" <<CONF
[market]
interval_s = $L
gate_s = 1
grace_s = 2
max_ahead_s = 9
tariff_file = $T/tariffs.csv
fee_file = $T/fees.csv
[network]
heartbeat_ms = 500
CONF
iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }
K=$(($(date +%s) / L + 8))
: >"$T/rows"
row() { echo "$(((K + $1) * L)) $2 $3" >>"$T/rows"; }
render() {
	{
		echo "# tariffs of dyn-market (ct/kWh)"
		echo "from,retail_ct_kwh,feedin_ct_kwh"
		sort -n "$T/rows" | while read -r t r f; do echo "$(iso "$t"),$r,$f"; done
	} >"$T/tariffs.csv"
}
row 0 40 10
row 2 25 -5
row 4 25.0000 -5
row 5 35 9
render
cat >"$T/fees.csv" <<CSV
from,zone_a,zone_b,fee_ct_kwh
$(iso $((K * L))),=,=,1
$(iso $((K * L))),*,*,2
$(iso $((K * L))),south,north,1.5
$(iso $(((K + 2) * L))),*,*,3
CSV
"$B/peerwatt-exchange" -c "$T/z.conf" 2>>"$T/z.log" &
ZPID=$!
PW_PIDS+=("$ZPID")
wait_port "$P3" 30 || { not_ok "the scheduled exchange listens"; cat "$T/z.log"; exit 1; }
z() { sqlite3 "$T/z.db" "$1"; }
zleaf() { z "SELECT lower(hex(leaf)) FROM log WHERE idx = $1"; }
CZ=("$B/pw-client" -e "tcp://127.0.0.1:$P3" -s "$(cat "$T/ex.pk")" -m 22 -L $L -t 20000)
SZ=("$B/pw-client" -e "tcp://127.0.0.1:$P4" -s "$(cat "$T/ex.pk")" -m 22 -L $L -t 20000)
effs=$(z "SELECT group_concat(hex(substr(frame, 43, 8)), ' ') FROM (SELECT frame FROM log WHERE type = 24 ORDER BY idx)")
dec=""
for h in $effs; do dec="$dec $((16#$h))"; done
check "start: the schedule is 3 MARKET entries after the genesis, from K, K+2, K+5 (K+4 merged; got$dec)" \
	test "$dec" = " 0 $K $((K + 2)) $((K + 5))"
check "start: logged as one append" grep -q "schedule: 3 MARKET entries appended" "$T/z.log"
i1=$(z "SELECT idx FROM log WHERE type = 24 ORDER BY idx LIMIT 1 OFFSET 1")
i2=$(z "SELECT idx FROM log WHERE type = 24 ORDER BY idx LIMIT 1 OFFSET 2")
i3=$(z "SELECT idx FROM log WHERE type = 24 ORDER BY idx LIMIT 1 OFFSET 3")
got=$("${CZ[@]}" -k "$T/a.key" query schedule +0 0)
check "QUERY SCHEDULE: genesis, then K (40/10 ct, fees 1/2 ct, 1 pair), K+2 (25/-5, default 3), K+5 (35/9)" test \
	"$(echo "$got" | cut -d' ' -f1-7 | tr '\n' ';')" = \
	"MARKET 0 80000 300000 0 0 0;MARKET $K 100000 400000 10000 20000 1;MARKET $((K + 2)) -50000 250000 0 30000 0;MARKET $((K + 5)) 90000 350000 0 30000 0;"
check "QUERY SCHEDULE: the exact logged frames (leaf hashes)" test \
	"$(echo "$got" | cut -d' ' -f8 | tr '\n' ' ')" = "$(zleaf 0) $(zleaf "$i1") $(zleaf "$i2") $(zleaf "$i3") "
got=$("${CZ[@]}" -k "$T/a.key" query schedule $((K + 3)) 0)
check "QUERY SCHEDULE from K+3: the entry governing it (K+2), then K+5" test \
	"$(echo "$got" | cut -d' ' -f1-2 | tr '\n' ';')" = "MARKET $((K + 2));MARKET $((K + 5));"

# --- orders against each interval's bounds; clearing within them --------------------
wait_until() { WAIT_SECONDS=90 wait_for bash -c "[ \$(date +%s) -ge $1 ]"; }
wait_until $((K * L - 8))
got=$("${CZ[@]}" -k "$T/b.key" order 1 "$K" buy 500 410000 +600)
check "interval K: a bid at 41 ct, above its retail 40 ct, refused (got '$got')" test "$got" = "REJECT price_bounds"
got=$("${CZ[@]}" -k "$T/a.key" order 1 "$K" sell 500 90000 +600)
check "interval K: an offer at 9 ct, below its feed-in 10 ct, refused (got '$got')" test "$got" = "REJECT price_bounds"
got=$("${CZ[@]}" -k "$T/b.key" order 2 "$K" buy 500 400000 +600)
check "interval K: a bid at its retail 40 ct accepted (got '$got')" test "${got%% *}" = ACK
got=$("${CZ[@]}" -k "$T/a.key" order 2 "$K" sell 500 150000 +600)
check "interval K: an offer at 15 ct accepted (got '$got')" test "${got%% *}" = ACK
# as soon as max_ahead_s (9 s) lets them in: 7 s before the gate of K+2
wait_until $(((K + 2) * L - 8))
got=$("${CZ[@]}" -k "$T/a.key" order 3 $((K + 2)) sell 500 -60000 +600)
check "interval K+2: an offer at -6 ct, below its feed-in -5 ct, refused (got '$got')" test "$got" = "REJECT price_bounds"
got=$("${CZ[@]}" -k "$T/b.key" order 3 $((K + 2)) buy 500 260000 +600)
check "interval K+2: a bid at 26 ct, above its retail 25 ct, refused (got '$got')" test "$got" = "REJECT price_bounds"
got=$("${CZ[@]}" -k "$T/a.key" order 4 $((K + 2)) sell 500 -50000 +600)
check "interval K+2: an offer at its negative feed-in -5 ct accepted (got '$got')" test "${got%% *}" = ACK
got=$("${CZ[@]}" -k "$T/b.key" order 4 $((K + 2)) buy 500 -30000 +600)
check "interval K+2: a bid at -3 ct accepted (got '$got')" test "${got%% *}" = ACK
# HEARTBEAT: the tariffs of the interval it was signed in
tariffs_of() { # interval -> "feedin retail"
	if [ "$1" -lt "$K" ]; then echo "80000 300000"
	elif [ "$1" -lt $((K + 2)) ]; then echo "100000 400000"
	elif [ "$1" -lt $((K + 5)) ]; then echo "-50000 250000"
	else echo "90000 350000"; fi
}
hb_ok() {
	local hb
	hb=$("${SZ[@]}" -k "$T/a.key" sub HEARTBEAT 1) || return 1
	set -- $hb
	local iv=$(($2 / 1000 / L))
	[ "$iv" -ge "$K" ] && [ "$3 $4 $5" = "$L $(tariffs_of "$iv")" ] && echo "$iv $4 $5"
}
wait_until $((K * L))
got=$(hb_ok)
check "HEARTBEAT in interval K or later carries that interval's tariffs (got '$got')" test -n "$got"
wait_until $(((K + 2) * L))
got=$(hb_ok)
check "HEARTBEAT in a negative feed-in interval carries it (got '$got')" test "${got#* }" = "-50000 250000"
# PUB MARKET at an interval start: the outlook from the entry governing it
"${SZ[@]}" -k "$T/a.key" sub MARKET 1 >"$T/zsub.out"
check "PUB MARKET at the start of interval K+3: the entry of K+2, then K+5" test \
	"$(cut -d' ' -f1-2 "$T/zsub.out" | tr '\n' ';')" = "MARKET $((K + 2));MARKET $((K + 5));"
result() { "${CZ[@]}" -k "$T/a.key" query result "$1" 0; }
WAIT_SECONDS=30 wait_for bash -c "$(declare -p CZ T); \"\${CZ[@]}\" -k \"\$T/a.key\" query result $((K + 2)) 0 | grep -q ^RESULT"
set -- $(result "$K")
check "interval K cleared within its bounds [10, 40] ct and both limits (price $3, $4 Wh)" \
	test "$1 $2" = "RESULT $K" -a "$4" = 500 -a "$3" -ge 150000 -a "$3" -le 400000
set -- $(result $((K + 2)))
check "interval K+2 cleared at a negative price within [-5, 25] ct and both limits (price $3)" \
	test "$1 $2" = "RESULT $((K + 2))" -a "$4" = 500 -a "$3" -ge -50000 -a "$3" -le -30000

# --- reload: appending rows; changing published or near rows refused ---------------------
"${SZ[@]}" -k "$T/a.key" -t 60000 sub MARKET 4 >"$T/zsub2.out" &
ZSUB=$!
PW_PIDS+=("$ZSUB")
row 20 28 7
render
n24=$(z "SELECT count(*) FROM log WHERE type = 24")
kill -HUP "$ZPID"
WAIT_SECONDS=30 wait_for grep -q "schedule: 1 MARKET entries appended" "$T/z.log"
check "SIGHUP with a row appended at K+20: one MARKET entry" test "$(z "SELECT count(*) FROM log WHERE type = 24")" -eq $((n24 + 1))
i4=$(z "SELECT max(idx) FROM log WHERE type = 24")
got=$("${CZ[@]}" -k "$T/a.key" query schedule +0 0)
check "QUERY SCHEDULE ends with the appended row (28/7 ct from K+20)" test \
	"$(echo "$got" | tail -1 | cut -d' ' -f1-4)" = "MARKET $((K + 20)) 70000 280000"
WAIT_SECONDS=30 wait_for grep -q "^MARKET $((K + 20)) " "$T/zsub2.out"
check "PUB MARKET after the reload carries the appended row" grep -q "^MARKET $((K + 20)) 70000 280000 " "$T/zsub2.out"
# a published row changed: refused whole, naming the line and the interval
sed -i "s/^$(iso $(((K + 20) * L))),28,7$/$(iso $(((K + 20) * L))),29,7/" "$T/tariffs.csv"
line=$(grep -n "^$(iso $(((K + 20) * L)))," "$T/tariffs.csv" | cut -d: -f1)
n24=$(z "SELECT count(*) FROM log WHERE type = 24")
kill -HUP "$ZPID"
WAIT_SECONDS=30 wait_for grep -q "reload: .*tariffs.csv line $line: interval $((K + 20)) " "$T/z.log"
check "SIGHUP changing the published row of K+20: refused naming line $line, interval and log index $i4" \
	grep -q "tariffs.csv line $line: interval $((K + 20)) ([0-9T:Z-]*) already published at log index $i4 .*nothing changed" "$T/z.log"
check "  nothing appended" test "$(z "SELECT count(*) FROM log WHERE type = 24")" -eq "$n24"
render # back to the published rows
# a new row for an interval that holds an order (before E): an offer at
# 20 ct (within every row's bounds after K+4) is accepted for it first
cur=$(($(date +%s) / L))
near=$((cur + 2))
while grep -q "^$((near * L)) " "$T/rows"; do near=$((near + 1)); done
got=$("${CZ[@]}" -k "$T/a.key" order 9 "$near" sell 100 200000 +600)
check "an offer for interval $near accepted before the reload (got '$got')" test "${got%% *}" = ACK
echo "$((near * L)) 31 8" >>"$T/rows"
render
line=$(grep -n "^$(iso $((near * L)))," "$T/tariffs.csv" | cut -d: -f1)
kill -HUP "$ZPID"
WAIT_SECONDS=30 wait_for grep -q "reload: .*tariffs.csv line $line: " "$T/z.log"
check "SIGHUP with a row for interval $near (before E): refused naming line $line, may already hold orders" \
	grep -q "tariffs.csv line $line: interval $near (.*) may already hold orders under the logged rules" "$T/z.log"
check "  nothing appended" test "$(z "SELECT count(*) FROM log WHERE type = 24")" -eq "$n24"
sed -i "/^$((near * L)) /d" "$T/rows"
render
# a row entirely in the past is history: changed, it is not compared and
# changes nothing
reloads=$(grep -c "reload: configuration and" "$T/z.log")
sed -i "s/^$(iso $((K * L))),40,10$/$(iso $((K * L))),41,10/" "$T/tariffs.csv"
kill -HUP "$ZPID"
WAIT_SECONDS=30 wait_for bash -c "[ \$(grep -c 'reload: configuration and' '$T/z.log') -gt $reloads ]"
check "SIGHUP with a past row (interval K) changed: accepted as history, nothing appended" \
	test "$(z "SELECT count(*) FROM log WHERE type = 24")" -eq "$n24"
# a file shorter than what the log published: the published rows stay
grep -v "^$(iso $(((K + 20) * L)))," "$T/tariffs.csv" >"$T/short.csv"
cp "$T/short.csv" "$T/tariffs.csv"
kill -HUP "$ZPID"
WAIT_SECONDS=30 wait_for grep -q "a shorter file unpublishes nothing" "$T/z.log"
check "SIGHUP with the published row of K+20 removed: warned, the log's row stays" \
	grep -q "schedule: the files end with the row from interval $((K + 5)) .* the log already published rules up to interval $((K + 20)) (log index $i4): they stay" "$T/z.log"
got=$("${CZ[@]}" -k "$T/a.key" query schedule +0 0)
check "  nothing appended, the outlook still ends with K+20" test \
	"$(z "SELECT count(*) FROM log WHERE type = 24") $(echo "$got" | tail -1 | cut -d' ' -f1-2)" = "$n24 MARKET $((K + 20))"
render
got=$("${CZ[@]}" -k "$T/a.key" query schedule +0 0)
check "  the outlook still ends with the row published at K+20" test \
	"$(echo "$got" | tail -1 | cut -d' ' -f1-4)" = "MARKET $((K + 20)) 70000 280000"
# settlement of K+2 before the audit (its grace ends at (K+3)*L + 2)
got=$("${CZ[@]}" -k "$T/a.key" meter 1 $((K + 2)) SER-a 0 500 0 0)
got=$("${CZ[@]}" -k "$T/b.key" meter 1 $((K + 2)) SER-b 0 0 0 500)
WAIT_SECONDS=60 wait_for bash -c "[ \"\$(sqlite3 '$T/z.db' 'SELECT count(*) FROM statements WHERE interval = $((K + 2))')\" -ge 2 ]"
stop_pid "$ZPID"
# at start, a file changing a published row: exit 78 naming the line
sed -i "s/^$(iso $(((K + 20) * L))),28,7$/$(iso $(((K + 20) * L))),29,7/" "$T/tariffs.csv"
line=$(grep -n "^$(iso $(((K + 20) * L)))," "$T/tariffs.csv" | cut -d: -f1)
"$B/peerwatt-exchange" -c "$T/z.conf" 2>"$T/z2.log"
rc=$?
check "start with a published row changed: exit 78 (got $rc), naming the line" \
	grep -q "tariffs.csv line $line: interval $((K + 20)) .* already published at log index $i4" "$T/z2.log"
test "$rc" -eq 78 || not_ok "exit code $rc, not 78"

# --- the audit replays it; a tampered schedule is caught ------------------------------------
"$B/peerwatt-audit" verify "$T/z.db" >"$T/zaudit.txt" 2>&1
check "peerwatt-audit verifies the scheduled market clean" grep -q '^verdict       OK$' "$T/zaudit.txt" || cat "$T/zaudit.txt"
cp "$T/z.db" "$T/retro.db"
where=$("$B/pw-forge" "$T/retro.db" "$T/ex.key" retro-tariff)
"$B/peerwatt-audit" verify "$T/retro.db" >"$T/retro.txt" 2>&1
check "a MARKET entry changing a traded interval's rules is caught ($where)" \
	grep -q "^failure       $where (MARKET): MARKET entry effective from interval" "$T/retro.txt"
cp "$T/z.db" "$T/price.db"
where=$("$B/pw-forge" "$T/price.db" "$T/ex.key" result-price -20000)
"$B/peerwatt-audit" verify "$T/price.db" >"$T/price.txt" 2>&1
check "a clearing below the negative feed-in of its interval is caught ($where)" \
	grep -q "^failure       $where (RESULT): interval $((K + 2)) cleared at -[0-9]*, outside \[-50000, 250000\], the tariffs of MARKET entry $i2" "$T/price.txt"

# --- a new market: its schedule applies from its first open interval ---------------------
# max_ahead_s 60 puts E (by the clock) 20 intervals ahead; a market without
# any order takes rows from its first open interval on all the same
P5=$(free_port)
P6=$(free_port)
exchange_conf "$T/n.conf" new-market 23 "$P5" "$P6" "$T/households" "$T/n.db" "$T/ex.key"
first=$(($(date +%s) / L + 10))
{
	echo "from,retail_ct_kwh,feedin_ct_kwh"
	echo "$(iso $((first * L))),33,-1"
} >"$T/ntariffs.csv"
cat >>"$T/n.conf" <<CONF
[market]
interval_s = $L
gate_s = 1
grace_s = 2
max_ahead_s = 60
tariff_file = $T/ntariffs.csv
CONF
"$B/peerwatt-exchange" -c "$T/n.conf" 2>"$T/n.log" &
NPID=$!
PW_PIDS+=("$NPID")
wait_port "$P5" 30 || not_ok "the new market's exchange listens"
CN=("$B/pw-client" -e "tcp://127.0.0.1:$P5" -s "$(cat "$T/ex.pk")" -m 23 -L $L -t 20000)
got=$("${CN[@]}" -k "$T/a.key" query schedule "$first" 0 | tail -1 | cut -d' ' -f1-4)
check "a new market logs its schedule from its first open interval, before E (got '$got')" \
	test "$got" = "MARKET $first -10000 330000"
stop_pid "$NPID"
finish
