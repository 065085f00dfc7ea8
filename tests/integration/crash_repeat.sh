#!/usr/bin/env bash
# crash_repeat.sh: peerwatt-exchange killed with SIGKILL again and again at
# random points under load (PW_CRASH_ROUNDS, default 8) and restarted on the
# same database each time.  After every kill: PRAGMA integrity_check is ok,
# every order pw-loadgen saw ACKed (key, seq, log index) is stored with that
# log index, the log has no gap, and log indexes continue from the previous
# round.  At the end: per household, sequence numbers rise with the log
# index (none reused across restarts), an ACKed sequence is refused as a
# replay, new orders are ACKed and peerwatt-audit verifies the whole log.
set -u
. "$(dirname "$0")/lib.sh"
B=$BUILD
T=$PW_TMP
N=8
ROUNDS=${PW_CRASH_ROUNDS:-8}

"$B/peerwatt-exchange" keygen --out "$T/ex.key" >"$T/ex.pk" || exit 1
SPK=$(cat "$T/ex.pk")
"$B/pw-loadgen" init "$T/hh" $N >/dev/null || exit 1
P1=$(free_port)
P2=$(free_port)
exchange_conf "$T/x.conf" crashrep 6 "$P1" "$P2" "$T/hh/households" "$T/x.db" "$T/ex.key"
EP="tcp://127.0.0.1:$P1"
LG=("$B/pw-loadgen" run -e "$EP" -s "$SPK" -m 6 -d "$T/hh" -n $N)
: >"$T/acked"

# missing_acks: ACKed orders not stored with the log index their ACK named
missing_acks() {
	sqlite3 "$T/x.db" <<SQL 2>&1 | tail -1
CREATE TEMP TABLE acked(pk TEXT, seq INTEGER, idx INTEGER);
.separator " "
.import $T/acked acked
SELECT COUNT(*) FROM acked a LEFT JOIN orders o
  ON lower(hex(o.pk)) = a.pk AND o.seq = a.seq AND o.log_idx = a.idx
  WHERE o.log_idx IS NULL;
SQL
}

start_exchange() {
	"$B/peerwatt-exchange" -c "$T/x.conf" 2>>"$T/exchange.log" &
	XPID=$!
	PW_PIDS+=("$XPID")
	wait_port "$P1" 60
}

fails_before=$PW_FAILS
prev_idx=-1
for r in $(seq 1 "$ROUNDS"); do
	start_exchange || { not_ok "round $r: exchange restarts"; break; }
	before=$(wc -l <"$T/acked")
	# a random kill point: 50..449 more ACKs into this round's load
	target=$((before + 50 + RANDOM % 400))
	"${LG[@]}" -c 200000 -r 2000 -T 60 -i 3000 -o "$T/acked" >"$T/lg$r.out" 2>&1 &
	LGPID=$!
	PW_PIDS+=("$LGPID")
	WAIT_SECONDS=60 wait_for bash -c "[ \$(wc -l <'$T/acked') -ge $target ]"
	kill -KILL "$XPID"
	wait "$XPID" 2>/dev/null
	wait "$LGPID"
	now=$(wc -l <"$T/acked")
	[ "$now" -gt "$before" ] || not_ok "round $r: load was ACKed before the kill"
	ic=$(sqlite3 "$T/x.db" 'PRAGMA integrity_check' 2>&1)
	[ "$ic" = ok ] || not_ok "round $r: integrity_check says '$ic'"
	m=$(missing_acks)
	[ "$m" = 0 ] || not_ok "round $r: $m ACKed orders missing"
	gap=$(sqlite3 "$T/x.db" 'SELECT MAX(idx) + 1 - COUNT(*) FROM log')
	[ "$gap" = 0 ] || not_ok "round $r: the log has a gap ($gap)"
	first=$(sed -n "$((before + 1))p" "$T/acked" | cut -d' ' -f3)
	[ "$first" -gt "$prev_idx" ] || not_ok "round $r: log index $first after $prev_idx"
	prev_idx=$(tail -1 "$T/acked" | cut -d' ' -f3)
	echo "# round $r: $((now - before)) ACKs, killed at log index $prev_idx"
done
check "$ROUNDS kills under load: integrity ok, no ACKed order lost, no gap, indexes continue" \
	test "$PW_FAILS" = "$fails_before"
check "ACKs over all rounds ($(wc -l <"$T/acked"))" test "$(wc -l <"$T/acked")" -ge $((ROUNDS * 50))
check "per household, sequences rise with the log index (none reused)" test "$(sqlite3 "$T/x.db" \
	'SELECT COUNT(*) FROM (SELECT seq, LAG(seq) OVER (PARTITION BY pk ORDER BY log_idx) AS p
	 FROM orders) WHERE p IS NOT NULL AND seq <= p')" = 0

start_exchange || { not_ok "exchange restarts after the last kill"; exit 1; }
read -r pk seq idx < <(tail -1 "$T/acked")
for i in $(seq 0 $((N - 1))); do
	[ "$("$B/pw-client" pubkey "$T/hh/hh-$i.key")" = "$pk" ] && key="$T/hh/hh-$i.key"
done
got=$("$B/pw-client" -e "$EP" -s "$SPK" -m 6 -k "$key" -t 20000 \
	order "$seq" +3 sell 1 100000 +600 2>&1)
check "an ACKed sequence is a replay after the restarts (got '$got')" test "$got" = "REJECT replay"
"${LG[@]}" -c 400 -T 60 -o "$T/acked2" >"$T/lgz.out" 2>&1
check "new orders are ACKed after the restarts" grep -q "acked 400 rejected 0" "$T/lgz.out"
check "log indexes continue" test "$(head -1 "$T/acked2" | cut -d' ' -f3)" -gt "$idx"
stop_pid "$XPID"
"$B/peerwatt-audit" verify "$T/x.db" >"$T/audit.out" 2>&1
check "peerwatt-audit verifies the log after $ROUNDS kills ($(grep verdict "$T/audit.out"))" \
	grep -q "verdict *OK" "$T/audit.out"
finish
