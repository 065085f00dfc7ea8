#!/usr/bin/env bash
# demo.sh: `make demo` for DEMO_SECONDS=60 in a state directory of its own:
# the build is one line, the demo starts everything, prints six dashboard
# URLs and one line per settled interval (its simulated times, each interval
# ending where the next begins), no line wider than 100 columns, households
# traded (trades and volume in the exchange's database, statements for buyers
# and sellers), the summary counts what the audit counts, every daemon
# stopped by the demo, the audit passed (exit 0, verdict OK, agents'
# checkpoint files checked), the two battery households' evening sales in the
# ticker's battery column, and the exchange's -wal is empty or gone so the
# .db alone verifies with every entry.  A tampered database shows the exit
# status is the audit's verdict.  A second demo runs under a pipe
# (`demo | tee`) until SIGINT reaches the whole process group, tee included:
# the summary and the audit still come out (on standard error).
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/integration/lib.sh

DIR=$PW_TMP/demo
OUT=$PW_TMP/demo.out
SECS=${DEMO_TEST_SECONDS:-125}
# from 10:30 the simulated day reaches the negative feed-in hour (12:00-13:00)
# after 30 s: the sellers curtail, then lift the limit; the evening peak
# (17:00-21:00, when the batteries sell) after 65 s, 22:30 at the end
START=10:30

# Through `make _demo` (the target behind `make demo`, without deps) when
# the build in $BUILD has the flags that make would use now: it compiles
# nothing then, while other tests run its programs.  Otherwise the script.
flags_match() {
	if [ -n "${SANITIZE:-}" ]; then grep -q -- "-fsanitize=$SANITIZE " "$BUILD/.flags"; else
		! grep -q -- -fsanitize "$BUILD/.flags"; fi
}
echo "# the demo runs for $SECS s"
if [ -z "${CFLAGS:-}" ] && [ -f "$BUILD/.flags" ] && flags_match; then
	via_make=1
	# Under `make -j2 check` MAKEFLAGS names a jobserver this script cannot
	# reach, and the nested make would warn about it: run it as a newcomer would.
	DEMO_DIR=$DIR DEMO_SECONDS=$SECS DEMO_START=$START timeout 600 env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
		make --no-print-directory _demo \
		BUILD="$BUILD" SANITIZE="${SANITIZE:-}" >"$OUT" 2>&1
else
	via_make=0
	DEMO_DIR=$DIR DEMO_SECONDS=$SECS DEMO_START=$START timeout 600 tests/demo.sh >"$OUT" 2>&1
fi
rc=$?
check "the demo exits 0 after DEMO_SECONDS=$SECS (audit passed) (exit $rc)" test "$rc" = 0
if [ "$rc" != 0 ]; then
	tail -n 40 "$OUT"
	for f in "$DIR"/exchange.log "$DIR"/*/agent.log; do
		[ -f "$f" ] && { echo "== $f"; tail -n 10 "$f"; }
	done
fi

q() { sqlite3 "file:$DIR/exchange.db?mode=ro" "$1" 2>/dev/null; }
TICK='^[0-2][0-9]:[0-5][0-9]-[0-2][0-9]:[0-5][0-9] '

if [ "$via_make" = 1 ]; then
	check "make demo: the build is one line before the demo's banner" \
		test "$(sed -n '1,/^peerwatt demo:/p' "$OUT" | grep -cv '^peerwatt demo:')" = 1 -a \
		"$(grep -c '^demo: programs built in ' "$OUT")" = 1
else
	ok "make demo: the build is one line # skip: $BUILD was built with other flags"
fi
widest=$(awk '{ if (length($0) > m) m = length($0) } END { print m + 0 }' "$OUT")
check "no line of the demo is wider than 100 columns (widest $widest)" test "$widest" -le 100
check "six dashboard URLs printed" \
	test "$(grep -c '^    [a-z]* *http://127\.0\.0\.1:[0-9]*/' "$OUT")" = 6
check "one ticker line per settled interval" \
	test "$(grep -cE "$TICK" "$OUT")" = "$(q 'SELECT count(*) FROM intervals WHERE state = 2')"
# 5 s intervals at x360: 30 simulated minutes each, one after the other
contiguous() {
	grep -E "$TICK" "$OUT" | awk '{ split($1, t, "-"); if (NR > 1 && t[1] != prev) bad = 1; prev = t[2] }
		END { exit !(NR >= 2 && !bad) }'
}
check "the ticker shows intervals as simulated times, each ending where the next begins" contiguous
trades=$(q 'SELECT count(*) FROM trades')
check "households traded (trades in the database: ${trades:-none})" test "${trades:-0}" -gt 0
# the dynamic day: the schedule in the log, curtailment in its negative hour
markets=$(q "SELECT count(*) FROM log WHERE type = 24")
check "the tariff schedule entered the log as MARKET entries ($markets)" test "${markets:-0}" -gt 8
check "the clearing prices moved with the schedule ($(q "SELECT count(DISTINCT price_uper_kwh) FROM intervals WHERE volume_wh > 0") prices)" \
	test "$(q "SELECT count(DISTINCT price_uper_kwh) FROM intervals WHERE volume_wh > 0")" -gt 1
check "a seller limited its export in the negative feed-in hour, written and read back" \
	grep -q "curtailment: model 123 WMaxLimPct .* written and read back" "$DIR"/alice/agent.log "$DIR"/bob/agent.log "$DIR"/carol/agent.log
check "... and lifted it when the feed-in turned positive" \
	grep -q "curtailment: export limit lifted" "$DIR"/alice/agent.log "$DIR"/bob/agent.log "$DIR"/carol/agent.log
# the batteries: stored at midday, sold to the neighbours in the evening
# (the ticker's last column: Wh sold from batteries in that interval)
evening_battery() {
	grep -E "$TICK" "$OUT" | awk '{ h = substr($1, 1, 2) + 0; if (h >= 17 && $NF ~ /^[0-9]+$/ && $NF > 0) n++ }
		END { exit !(n > 0) }'
}
check "the ticker shows energy sold from the batteries in the evening (17:00 on)" evening_battery
bat_sold=$(sed -n 's/^    \(alice\|carol\) *sold *\([0-9]*\) Wh from its battery.*/\2/p' "$OUT" |
	awk '{ n += $1 } END { print n + 0 }')
check "the summary says what alice and carol sold from their batteries (${bat_sold:-none} Wh)" \
	test "${bat_sold:-0}" -gt 0
check "their agents planned the battery (store, then sell) and logged why" \
	bash -c "grep -q 'battery: .*store' '$DIR/alice/agent.log' '$DIR/carol/agent.log' &&
	         grep -q 'battery: .*sell' '$DIR/alice/agent.log' '$DIR/carol/agent.log'"
check "a settled interval with volume has a clearing price" \
	test "$(q 'SELECT count(*) FROM intervals WHERE state = 2 AND volume_wh > 0 AND price_uper_kwh > 0')" -gt 0
check "sellers and buyers got statements" test "$(q "SELECT count(DISTINCT s.pk) FROM statements s
	JOIN trades t ON t.interval = s.interval AND (t.buyer = s.pk OR t.seller = s.pk)")" -ge 2
# the summary and the audit count the same things
aud_auctions=$(sed -n 's/^  auctions  *\([0-9]*\) replayed, \([0-9]*\) trades, \([0-9]*\) Wh$/\1 \2 \3/p' "$OUT")
sum_auctions=$(sed -n 's/^  auctions  *\([0-9]*\) cleared, \([0-9]*\) trades, \([0-9]*\) Wh between neighbours$/\1 \2 \3/p' "$OUT")
check "the summary's auctions, trades and Wh are the audit's ($sum_auctions / $aud_auctions)" \
	test -n "$aud_auctions" -a "$sum_auctions" = "$aud_auctions"
check "... and the database's trades" test "${sum_auctions#* }" = "$(q 'SELECT count(*) || " " || sum(qty_wh) FROM trades')"
aud_settled=$(sed -n 's/^  settlement  *\([0-9]*\) intervals recomputed and balanced, \([0-9]*\) not cleared yet$/\1 \2/p' "$OUT")
sum_settled=$(sed -n 's/^  settlement  *\([0-9]*\) intervals with statements.*/\1/p' "$OUT")
sum_open=$(sed -n 's/^  *\([0-9]*\) with orders, not cleared yet.*/\1/p' "$OUT")
check "the summary's settled intervals and those not cleared yet are the audit's ($sum_settled ${sum_open:-0} / $aud_settled)" \
	test -n "$aud_settled" -a "$sum_settled ${sum_open:-0}" = "$aud_settled"
# the audit's own breakdown of the intervals (audit.txt: the report unwrapped)
aud_iv=$(sed -n 's/^intervals  *\([0-9]*\) cleared = \([0-9]*\) settled with statements + \([0-9]*\) settled with nobody active + \([0-9]*\) not settled yet.*/\1 \2 \3 \4/p' "$DIR/audit.txt")
sum_nobody=$(sed -n 's/^  settlement  *[0-9]* intervals with statements, \([0-9]*\) settled with nobody active.*/\1/p' "$OUT")
sum_unsettled=$(sed -n 's/^  *\([0-9]*\) cleared, not settled yet:.*/\1/p' "$OUT")
if [ -n "$aud_iv" ]; then
	check "the summary's intervals are the audit's: cleared, with statements, with nobody, not settled ($aud_iv)" \
		test "${sum_auctions%% *} $sum_settled $sum_nobody ${sum_unsettled:-0}" = "$aud_iv"
else
	ok "the summary's intervals are the audit's # skip: this audit prints no intervals line"
fi
unsettled=$(q 'SELECT count(*) FROM intervals WHERE state = 1')
if [ "${unsettled:-0}" -gt 0 ]; then
	check "the summary says why cleared intervals are missing from the ticker ($unsettled)" \
		grep -q "^  *$unsettled cleared, not settled yet: an interval settles" "$OUT"
else
	check "no cleared interval unsettled, none explained" bash -c "! grep -q 'cleared, not settled yet' '$OUT'"
fi
check "the audit's verdict is OK" grep -q '^  verdict  *OK$' "$OUT"
check "the demo says the audit passed" grep -q '^audit verdict: PASSED' "$OUT"
check "the audit checked the agents' checkpoint files" \
	grep -qE '^  agent files  *[1-9][0-9]* checkpoints' "$OUT"
check "the audit checked the households' evidence (their agent databases)" \
	grep -qE '^  \[ok\] evidence  *[1-9][0-9]* agent databases: [1-9][0-9]* signed receipts' "$OUT"
none_alive() {
	local p
	[ -s "$DIR/pids" ] || return 1
	while read -r p; do kill -0 "$p" 2>/dev/null && return 1; done <"$DIR/pids"
	return 0
}
check "every daemon was stopped ($(wc -l <"$DIR/pids" 2>/dev/null) pids)" none_alive
check "the state directory holds the exchange's database and every agent's" \
	test -s "$DIR/exchange.db" -a "$(ls "$DIR"/*/agent.db | wc -l)" = 6
# log lines people read: prices in ct/kWh, intervals with their UTC start
ISO='[0-9]+ \([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z\)'
check "the exchange logs a clearing with the interval's UTC start and the price in ct/kWh" \
	grep -qE "market: interval $ISO cleared: .* Wh at [0-9]+\.[0-9]{2,4} ct/kWh" "$DIR/exchange.log"
check "the agents log orders likewise" \
	grep -qE "order [0-9]+: (sell|buy) [0-9]+ Wh at [0-9]+\.[0-9]{2,4} ct/kWh for interval $ISO" "$DIR"/alice/agent.log
check "... and readings and statements with the interval's UTC start" \
	bash -c "grep -qE 'reading [0-9]+ for interval $ISO: ' '$DIR/alice/agent.log' &&
	         grep -qE 'statement for interval $ISO: ' '$DIR/alice/agent.log'"
check "no price in micro-units in any log" bash -c "! grep -lE 'u/kWh|uper_kwh' '$DIR'/exchange.log '$DIR'/*/agent.log"
check "the stopped exchange left no WAL behind (exchange.db-wal gone or empty)" \
	test ! -s "$DIR/exchange.db-wal"
# the .db alone, as someone handed only that file would audit it
mkdir -p "$PW_TMP/alone" && cp "$DIR/exchange.db" "$PW_TMP/alone/exchange.db"
"$BUILD/peerwatt-audit" verify "$PW_TMP/alone/exchange.db" >"$PW_TMP/alone.out" 2>&1
rc=$?
check "the .db alone verifies (exit $rc)" test "$rc" = 0
check "... with every entry the demo's audit saw" \
	test -n "$(grep '^  entries ' "$OUT")" -a "$(grep '^entries ' "$PW_TMP/alone.out")" = "$(sed -n 's/^  entries /entries /p' "$OUT")"

# The exit status is the audit's verdict: a demo state whose database was
# tampered with must fail it (the same command the demo runs).
if [ -s "$DIR/exchange.db" ]; then
	cp "$DIR/exchange.db" "$PW_TMP/t.db"
	sqlite3 "$PW_TMP/t.db" "UPDATE log SET frame = zeroblob(length(frame)) WHERE idx = 3"
	"$BUILD/peerwatt-audit" verify "$PW_TMP/t.db" >/dev/null 2>&1
	check "a tampered copy fails the same audit" test $? = 1
fi

# Without DEMO_SECONDS the demo runs until a signal.  `demo | tee`, then
# Ctrl-C: SIGINT reaches the whole foreground process group, tee included,
# so the demo's standard output breaks.  The test script runs in the
# background, where SIGINT is ignored (and no trap can undo that): python3
# restores it and makes the pipeline a process group of its own.
DIR2=$PW_TMP/demo2
echo "# the second demo runs until SIGINT"
python3 -c 'import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.setpgid(0, 0)
os.execvp("bash", ["bash", "-c", sys.argv[1]])' \
	"{ DEMO_DIR=$DIR2 tests/demo.sh 2>$PW_TMP/demo2.err; echo \$? >$PW_TMP/demo2.rc; } | tee $PW_TMP/demo2.out >/dev/null" &
DPID=$!
PW_PIDS+=("$DPID")
WAIT_SECONDS=180 wait_for grep -qE "$TICK" "$PW_TMP/demo2.out"
check "without DEMO_SECONDS the demo runs and prints settled intervals" \
	grep -qE "$TICK" "$PW_TMP/demo2.out"
if ! grep -qE "$TICK" "$PW_TMP/demo2.out"; then
	echo "# the second demo's standard error (exit $(cat "$PW_TMP/demo2.rc" 2>/dev/null)):"
	tail -n 25 "$PW_TMP/demo2.err" | sed 's/^/# /'
fi
DEMO_DIR=$DIR2 DEMO_SECONDS=1 tests/demo.sh >"$PW_TMP/second.out" 2>&1
rc=$?
check "a second demo on the same state is refused (69) while the first runs" \
	test "$rc" = 69 -a -s "$DIR2/exchange.db"
check "... and says why" grep -q "another demo is running" "$PW_TMP/second.out"
kill -INT -- "-$DPID"
WAIT_SECONDS=120 wait_for bash -c "! kill -0 $DPID"
wait "$DPID"
rc=$(cat "$PW_TMP/demo2.rc" 2>/dev/null)
check "SIGINT to demo | tee: the demo stops everything, audits and exits 0 (exit ${rc:-none})" \
	test "$rc" = 0
check "SIGINT to demo | tee: the summary still comes out (standard error)" \
	grep -q '^  auctions  *[0-9]* cleared, ' "$PW_TMP/demo2.err"
audit_shown() { grep -q '^  verdict  *OK$' "$1" && grep -q '^audit verdict: PASSED' "$1"; }
check "SIGINT to demo | tee: the audit's report and verdict too" audit_shown "$PW_TMP/demo2.err"
DIR_SAVED=$DIR
DIR=$DIR2
check "SIGINT to demo | tee: every daemon was stopped" none_alive
DIR=$DIR_SAVED

# a non-demo directory is never deleted
mkdir -p "$PW_TMP/keep" && echo precious >"$PW_TMP/keep/file"
DEMO_DIR=$PW_TMP/keep DEMO_SECONDS=1 tests/demo.sh >"$PW_TMP/keep.out" 2>&1
rc=$?
check "a foreign DEMO_DIR is refused (69) and left alone" \
	test "$rc" = 69 -a "$(cat "$PW_TMP/keep/file")" = precious
DEMO_DIR=$PW_TMP/x DEMO_SECONDS=abc tests/demo.sh >/dev/null 2>&1
check "a bad DEMO_SECONDS is a usage error (64)" test $? = 64
finish
