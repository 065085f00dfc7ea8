#!/usr/bin/env bash
# demo.sh: `make demo` for DEMO_SECONDS=60 in a state directory of its own:
# the demo starts everything, prints six dashboard URLs and one line per
# settled interval, households traded (trades and volume in the exchange's
# database, statements for buyers and sellers), every daemon stopped by the
# demo, and the audit passed (exit 0, verdict OK, agents' checkpoint
# files checked).  A second run with a tampered database shows the exit
# status is the audit's verdict.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/integration/lib.sh

DIR=$PW_TMP/demo
OUT=$PW_TMP/demo.out
SECS=${DEMO_TEST_SECONDS:-60}

DEMO_DIR=$DIR DEMO_SECONDS=$SECS timeout 600 tests/demo.sh >"$OUT" 2>&1
rc=$?
check "the demo exits 0 after DEMO_SECONDS=$SECS (audit passed) (exit $rc)" test "$rc" = 0
if [ "$rc" != 0 ]; then
	tail -n 40 "$OUT"
	for f in "$DIR"/exchange.log "$DIR"/*/agent.log; do
		[ -f "$f" ] && { echo "== $f"; tail -n 10 "$f"; }
	done
fi

q() { sqlite3 "file:$DIR/exchange.db?mode=ro" "$1" 2>/dev/null; }

check "six dashboard URLs printed" \
	test "$(grep -c '^    [a-z]* *http://127\.0\.0\.1:[0-9]*/' "$OUT")" = 6
check "one ticker line per settled interval" \
	test "$(grep -cE '^ *[0-9]+ [0-9]{2}:[0-9]{2} ' "$OUT")" = "$(q 'SELECT count(*) FROM intervals WHERE state = 2')"
trades=$(q 'SELECT count(*) FROM trades')
check "households traded (trades in the database: ${trades:-none})" test "${trades:-0}" -gt 0
check "a settled interval with volume has a clearing price" \
	test "$(q 'SELECT count(*) FROM intervals WHERE state = 2 AND volume_wh > 0 AND price_uper_kwh > 0')" -gt 0
check "sellers and buyers got statements" test "$(q "SELECT count(DISTINCT s.pk) FROM statements s
	JOIN trades t ON t.interval = s.interval AND (t.buyer = s.pk OR t.seller = s.pk)")" -ge 2
check "the ticker's summary counts the database's trades" \
	grep -q "^summary: [0-9]* intervals settled, $(q 'SELECT count(*) FROM trades t JOIN intervals i USING (interval) WHERE i.state = 2') trades" "$OUT"
check "the audit's verdict is OK" grep -q '^  verdict  *OK$' "$OUT"
check "the demo says the audit passed" grep -q '^audit verdict: PASSED' "$OUT"
check "the audit checked the agents' checkpoint files" \
	grep -qE '^  agent files  *[1-9][0-9]* checkpoints' "$OUT"
none_alive() {
	local p
	[ -s "$DIR/pids" ] || return 1
	while read -r p; do kill -0 "$p" 2>/dev/null && return 1; done <"$DIR/pids"
	return 0
}
check "every daemon was stopped ($(wc -l <"$DIR/pids" 2>/dev/null) pids)" none_alive
check "the state directory holds the exchange's database and every agent's" \
	test -s "$DIR/exchange.db" -a "$(ls "$DIR"/*/agent.db | wc -l)" = 6

# The exit status is the audit's verdict: a demo state whose database was
# tampered with must fail it (the same command the demo runs).
if [ -s "$DIR/exchange.db" ]; then
	cp "$DIR/exchange.db" "$PW_TMP/t.db"
	sqlite3 "$PW_TMP/t.db" "UPDATE log SET frame = zeroblob(length(frame)) WHERE idx = 3"
	"$BUILD/peerwatt-audit" verify "$PW_TMP/t.db" >/dev/null 2>&1
	check "a tampered copy fails the same audit" test $? = 1
fi

# Without DEMO_SECONDS the demo runs until a signal (Ctrl-C on a terminal
# reaches only the script: its daemons run in their own process groups; a
# background script ignores SIGINT, so SIGTERM stands in for it here).
DIR2=$PW_TMP/demo2
DEMO_DIR=$DIR2 tests/demo.sh >"$PW_TMP/demo2.out" 2>&1 &
DPID=$!
PW_PIDS+=("$DPID")
WAIT_SECONDS=180 wait_for grep -qE '^ *[0-9]+ [0-9]{2}:[0-9]{2} ' "$PW_TMP/demo2.out"
check "without DEMO_SECONDS the demo runs and prints settled intervals" \
	grep -qE '^ *[0-9]+ [0-9]{2}:[0-9]{2} ' "$PW_TMP/demo2.out"
DEMO_DIR=$DIR2 DEMO_SECONDS=1 tests/demo.sh >"$PW_TMP/second.out" 2>&1
rc=$?
check "a second demo on the same state is refused (69) while the first runs" \
	test "$rc" = 69 -a -s "$DIR2/exchange.db"
check "... and says why" grep -q "another demo is running" "$PW_TMP/second.out"
kill -TERM "$DPID"
WAIT_SECONDS=120 wait_for bash -c "! kill -0 $DPID"
wait "$DPID"
rc=$?
check "SIGTERM: the demo stops everything, audits and exits 0 (exit $rc)" test "$rc" = 0
check "SIGTERM: the audit passed" grep -q '^audit verdict: PASSED' "$PW_TMP/demo2.out"
DIR_SAVED=$DIR
DIR=$DIR2
check "SIGTERM: every daemon was stopped" none_alive
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
