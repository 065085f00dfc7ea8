#!/usr/bin/env bash
# agent_wire.sh: what the exchange's market-data socket sends is bounded too
# (docs/agent.md "Bounds and files").  A fake exchange (tests/tools/
# pw-fakepub, the exchange's own key) floods the agent's SUB socket with
# badly signed DEPTH frames for 8 s and, every 100 ms, publishes a correctly
# signed DEPTH for interval 2^62.  The agent drops both kinds, logs each kind
# once per 10 s with a count instead of one line per frame, keeps its
# dashboard answering and never computes with the interval (run it with
# BUILD=build-san for the sanitizers).
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/integration/lib.sh

AGENT=$BUILD/peerwatt-agent
T=$PW_TMP
XPK=$("$AGENT" keygen --out "$T/ex.key" | sed -n 's/^public key: //p')
"$AGENT" keygen --out "$T/h1.key" >/dev/null

start_sim --speed 60 --start-time 11:00 --pv-peak 6000 --load 700 --seed 1 ||
	not_ok "simulator starts"
PUB=$(free_port)
"$BUILD/pw-fakepub" "$T/ex.key" "tcp://127.0.0.1:$PUB" 45 4611686018427387904 8 \
	>"$T/fakepub.out" 2>&1 &
FPID=$!
PW_PIDS+=("$FPID")
WAIT_SECONDS=30 wait_for grep -q listening "$T/fakepub.out" || not_ok "fake exchange starts"

DASH=$(free_port)
agent_conf "$T/h1.conf" "$T/h1.key" "$T/h1.db" "$SIM_PORT" "$(free_port)" "$PUB" "$XPK" 45 2
cat >>"$T/h1.conf" <<CONF
[policy]
auto_sell = no
[dashboard]
listen = 127.0.0.1:$DASH
[log]
level = info
CONF
"$AGENT" -c "$T/h1.conf" >"$T/h1.log" 2>&1 &
APID=$!
PW_PIDS+=("$APID")
wait_port "$DASH" 60 || not_ok "agent starts"

answers=0
for i in $(seq 1 6); do
	[ "$(curl -s -o /dev/null -m 10 -w '%{http_code}' "http://127.0.0.1:$DASH/api/state")" = 200 ] &&
		answers=$((answers + 1))
	sleep 1
done
wait "$FPID"
echo "# $(cat "$T/fakepub.out" | tail -1)"
check "the dashboard answers during the flood ($answers of 6)" test "$answers" = 6
# lines PATTERN / dropped PATTERN: log lines of a kind, and the frames they
# stand for (each line one, plus the count it carries of the ones not logged)
lines() { grep -c "$1" "$T/h1.log"; }
dropped() {
	grep "$1" "$T/h1.log" | sed -n 's/.*(\([0-9]*\) more like it.*/\1/p' |
		awk -v n="$(lines "$1")" '{ s += $1 } END { print s + n }'
}
BAD="xlink: dropped a .*-byte frame from the exchange"
FAR="dropped a DEPTH of the exchange for interval 4611686018427387904: out of range"
echo "# bad frames: $(lines "$BAD") line(s) for $(dropped "$BAD") frames;" \
	"far DEPTH: $(lines "$FAR") line(s) for $(dropped "$FAR")"
check "badly signed frames are dropped and logged" test "$(lines "$BAD")" -ge 1
# a line per 10 s (the flood's queues drain for longer on a loaded machine),
# while thousands of frames arrive per second
sent_bad=$(sed -n 's/^fakepub sent \([0-9]*\) bad.*/\1/p' "$T/fakepub.out")
check "... one line per 10 s, not one per frame ($(lines "$BAD") line(s), $sent_bad sent)" \
	test "$(($(lines "$BAD") * 1000))" -le "${sent_bad:-0}"
# a line after the first carries the count of those not logged (test_log
# checks the count itself)
if [ "$(lines "$BAD")" -ge 2 ]; then
	check "... each later line with the count of the frames not logged" \
		test "$(grep "$BAD" "$T/h1.log" | sed -n '2,$p' | grep -vc 'more like it')" = 0
fi
check "a signed DEPTH for interval 2^62 is dropped as out of range" test "$(lines "$FAR")" -ge 1
sent_far=$(sed -n 's/.* bad \([0-9]*\) depth$/\1/p' "$T/fakepub.out")
check "... logged once per 10 s, not once per frame ($(lines "$FAR") line(s), $sent_far sent)" \
	test "$(($(lines "$FAR") * 10))" -le "${sent_far:-0}"
check "the market document leaves it out" \
	bash -c "curl -s -m 10 http://127.0.0.1:$DASH/api/market | jq_e '[.depth[] | select(.interval > 1000000000000)] | length == 0' >/dev/null"
check "the agent is still running" kill -0 "$APID"
check "no sanitizer report" bash -c "! grep -q 'runtime error\|AddressSanitizer' '$T/h1.log'"
finish
