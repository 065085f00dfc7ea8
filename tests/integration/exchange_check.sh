#!/usr/bin/env bash
# exchange_check.sh: `peerwatt-exchange --check-config` compares the
# configuration, the registry and the schedule files with the database's
# log, reading only (docs/exchange.md "Command line"):
#   no database yet: said so, exit 0;
#   an empty file (no tables of a start): said so, not compared, exit 0;
#   a stopped exchange's log, unchanged configuration: "appends nothing",
#   and the database is not written (its bytes, no -wal); a running one's:
#   the same answer;
#   a rule that can never change (gate_s): exit 78 naming it, as at start;
#   new tariffs, a changed, a new and a removed household: each listed; a
#   SIGHUP then appends exactly those entries, and the check says nothing
#   is left to append;
#   a tariff file: the rows it would publish (count, first and last
#   interval), again exactly what the SIGHUP appends; one that changes a
#   published interval: exit 78 with the start's message, nothing written;
#   another exchange key or market id: exit 69 naming the log entry.
set -u
. "$(dirname "$0")/lib.sh"
B=$BUILD
L=60
T=$PW_TMP
X=$B/peerwatt-exchange

"$X" keygen --out "$T/x.key" >/dev/null || exit 1
"$X" keygen --out "$T/other.key" >/dev/null || exit 1
for h in a b c d; do "$B/pw-client" keygen "$T/$h.key" >"$T/$h.pk" || exit 1; done
{
	echo "a alice $(cat "$T/a.pk") SER-A z1 5000 5000"
	echo "b bob $(cat "$T/b.pk") SER-B z1 5000 5000"
	echo "c carol $(cat "$T/c.pk") SER-C z1 5000 5000"
} >"$T/households"
P1=$(free_port)
P2=$(free_port)
exchange_conf "$T/x.conf" oak 7 "$P1" "$P2" "$T/households" "$T/x.db" "$T/x.key"
cat >>"$T/x.conf" <<CONF
[market]
interval_s = $L
gate_s = 10
max_ahead_s = 600
CONF
# run CONF: the check's stdout in $T/out, stderr in $T/err, exit in $rc
run() {
	"$X" -c "$1" --check-config >"$T/out" 2>"$T/err"
	rc=$?
}
# the log's MARKET and REGISTRY entries (the exchange appends others
# meanwhile: checkpoints, cleared intervals)
size() { sqlite3 "$T/x.db" 'SELECT count(*) FROM log WHERE type IN (24, 25)'; }

run "$T/x.conf"
check "no database yet: exit 0, said so (and not created)" \
	test "$rc" = 0 -a ! -e "$T/x.db" -a -n "$(grep -F "$T/x.db: no database yet" "$T/out")"
check "  the configuration line first" grep -qx "$T/x.conf: configuration ok, 3 households" "$T/out"
: >"$T/empty.db"
sed "s|$T/x.db|$T/empty.db|" "$T/x.conf" >"$T/empty.conf"
run "$T/empty.conf"
check "an empty database file: exit 0, not compared, said so (and left empty)" \
	test "$rc" = 0 -a ! -s "$T/empty.db" -a -n "$(grep "a start upgrades it; not compared" "$T/out")"

start_exchange() {
	"$X" -c "$T/x.conf" 2>>"$T/exchange.log" &
	XPID=$!
	PW_PIDS+=("$XPID")
	wait_port "$P1" 30
}
start_exchange || { not_ok "exchange listens"; exit 1; }
# genesis: one MARKET and three REGISTRY entries
WAIT_SECONDS=30 wait_for test "$(size)" -ge 4
stop_pid "$XPID"
n0=$(size)
sum0=$(md5sum <"$T/x.db")
run "$T/x.conf"
check "a stopped exchange's log, same configuration: exit 0, nothing to append" \
	test "$rc" = 0 -a -n "$(grep "appends nothing" "$T/out")"
check "  its rules named as agreeing (market, id, interval)" \
	grep -q "x.db: log of [0-9]* entries, market 'oak' (id 7), 60 s intervals: its rules agree" "$T/out"
check "  nothing written: the database's bytes unchanged, no -wal made" \
	test "$(md5sum <"$T/x.db")" = "$sum0" -a ! -s "$T/x.db-wal"
start_exchange || { not_ok "exchange listens again"; exit 1; }
run "$T/x.conf"
check "the running exchange's log: the same answer" \
	test "$rc" = 0 -a -n "$(grep "appends nothing" "$T/out")"

sed 's/^gate_s = 10$/gate_s = 20/' "$T/x.conf" >"$T/gate.conf"
run "$T/gate.conf"
check "gate_s changed: exit 78, named as never changing (the start's message)" \
	test "$rc" = 78 -a -n "$(grep -F "[market] gate_s is 10 in the log (entry 0) and 20 in the configuration: it can never change" "$T/err")"

# the registry edited (a's export limit, d new, c gone) and new tariffs
{
	echo "a alice $(cat "$T/a.pk") SER-A z1 6000 5000"
	echo "b bob $(cat "$T/b.pk") SER-B z1 5000 5000"
	echo "d dora $(cat "$T/d.pk") SER-D z1 5000 5000"
} >"$T/households"
sed -i 's/^retail = 0.30$/retail = 0.28/' "$T/x.conf"
run "$T/x.conf"
check "registry and tariffs changed: exit 0, 4 entries to append" \
	test "$rc" = 0 -a -n "$(grep "a start or SIGHUP now appends 4 entries:" "$T/out")"
e=$((($(date +%s) + 600) / L + 1))
check "  MARKET: the new tariffs, from E (the first interval no order can target)" \
	grep -Eq "MARKET: the changed tariffs and fees, effective from interval ($e|$((e + 1))) " "$T/out"
check "  REGISTRY: a changed (its export limit named), d new, c revoked" bash -c "grep -q 'household a (alice) changed (max_export_w 5000 -> 6000)' '$T/out' &&
	grep -q 'household d (dora) new' '$T/out' && grep -q 'household c (carol) revoked' '$T/out'"
check "  still nothing written" test "$(size)" = "$n0"
cp "$T/out" "$T/plan1"
kill -HUP "$XPID"
WAIT_SECONDS=30 wait_for grep -q "reload: configuration and 3 households loaded" "$T/exchange.log"
check "the SIGHUP appends exactly the 4 entries listed" test "$(size)" = $((n0 + 4))
check "  its log names what changed, as the check did" \
	grep -q "registry: household a (alice) changed: REGISTRY entry at log index [0-9]* (max_export_w 5000 -> 6000)" "$T/exchange.log"
eff=$(grep -o "MARKET entry at log index [0-9]*, effective from interval [0-9]*" "$T/exchange.log" | awk '{print $NF}')
# (one later when a minute began between the check and the SIGHUP)
named=$(grep -o "MARKET: the changed tariffs and fees, effective from interval [0-9]*" "$T/plan1" | awk '{print $NF}')
check "  the MARKET entry from the interval the check named ($named, appended from $eff)" \
	test -n "$named" -a \( "$eff" = "$named" -o "$eff" = "$((named + 1))" \)
run "$T/x.conf"
check "  checked again: nothing left to append" test "$rc" = 0 -a -n "$(grep "appends nothing" "$T/out")"

# a tariff file: rows in force (for the intervals up to what is published),
# then two rows beyond it
iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }
cur=$(($(date +%s) / L))
f1=$((cur + 20))
f2=$((cur + 30))
{
	echo "from,retail_ct_kwh,feedin_ct_kwh"
	echo "$(iso $((eff * L))),28,8"
	echo "$(iso $((f1 * L))),35,5"
	echo "$(iso $((f2 * L))),15,-3"
} >"$T/t.csv"
sed -i "s|^max_ahead_s = 600$|max_ahead_s = 600\ntariff_file = $T/t.csv|; s/^retail = 0.28$/retail = 0.30/" "$T/x.conf"
n1=$(size)
run "$T/x.conf"
check "a tariff file: its two new rows listed, from $f1 to $f2" \
	test "$rc" = 0 -a -n "$(grep "MARKET: 2 entries of the schedule, effective from interval $f1 (.*) to interval $f2 (" "$T/out")"
check "  nothing written" test "$(size)" = "$n1"
kill -HUP "$XPID"
WAIT_SECONDS=30 wait_for grep -q "schedule: 2 MARKET entries appended" "$T/exchange.log"
check "  the SIGHUP appends those 2 (from $f1 to $f2)" bash -c \
	"test $(size) = $((n1 + 2)) && grep -q 'schedule: 2 MARKET entries appended (log index [0-9]* to [0-9]*), effective from interval $f1 to $f2' '$T/exchange.log'"
# a row changing the current interval, published long ago
{
	echo "from,retail_ct_kwh,feedin_ct_kwh"
	echo "$(iso $((cur * L))),20,8"
} >"$T/t2.csv"
sed "s|$T/t.csv|$T/t2.csv|" "$T/x.conf" >"$T/t2.conf"
n2=$(size)
run "$T/t2.conf"
check "a row changing a passed interval: exit 78 with the start's message, file and line" \
	test "$rc" = 78 -a -n "$(grep -F "t2.csv line 2: interval" "$T/err" | grep "the schedule is refused, nothing changed")"
check "  nothing written" test "$(size)" = "$n2"

sed "s|$T/x.key|$T/other.key|" "$T/x.conf" >"$T/key.conf"
run "$T/key.conf"
check "another exchange key: exit 69, the log entry named" \
	test "$rc" = 69 -a -n "$(grep "log entry 0 (MARKET) is signed by another key than the exchange's" "$T/err")"
sed 's/^id = 7$/id = 8/' "$T/x.conf" >"$T/id.conf"
run "$T/id.conf"
check "another market id: exit 69, the log entry named" \
	test "$rc" = 69 -a -n "$(grep "log entry 0 (MARKET) does not open in market 8" "$T/err")"
check "the exchange ran on throughout" kill -0 "$XPID"

finish
