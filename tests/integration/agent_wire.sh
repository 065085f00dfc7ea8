#!/usr/bin/env bash
# agent_wire.sh: what the exchange's market-data socket sends is bounded too
# (docs/agent.md "Bounds and files").  A fake exchange (tests/tools/
# pw-fakepub, the exchange's own key) floods the agent's SUB socket with
# badly signed DEPTH frames for 8 s and, every 100 ms, publishes a correctly
# signed DEPTH for interval 2^62.  The agent drops both kinds, logs each kind
# about once per 10 s with a count instead of one line per frame, keeps its
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
bad=$(grep -c "xlink: dropped a .*-byte frame from the exchange" "$T/h1.log")
echo "# $bad log line(s) for bad frames; $(grep -m1 "more like it" "$T/h1.log")"
check "badly signed frames are dropped and logged" test "$bad" -ge 1
check "... about once per 10 s, not once per frame ($bad lines)" test "$bad" -le 3
check "... with a count of the ones not logged" \
	grep -q "xlink: dropped a .*-byte frame.*more like it in the last" "$T/h1.log"
check "a signed DEPTH for interval 2^62 is dropped as out of range" \
	grep -q "dropped a DEPTH of the exchange for interval 4611686018427387904: out of range" "$T/h1.log"
check "... and logged about once per 10 s ($(grep -c 'interval 4611686018427387904' "$T/h1.log") lines)" \
	test "$(grep -c 'interval 4611686018427387904' "$T/h1.log")" -le 3
check "the market document leaves it out" \
	bash -c "curl -s -m 10 http://127.0.0.1:$DASH/api/market | jq -e '[.depth[] | select(.interval > 1000000000000)] | length == 0' >/dev/null"
check "the agent is still running" kill -0 "$APID"
check "no sanitizer report" bash -c "! grep -q 'runtime error\|AddressSanitizer' '$T/h1.log'"
finish
