#!/usr/bin/env bash
# hostile.sh: peerwatt-exchange keeps serving honest households while hostile
# peers attack it at once (docs/performance.md, hardening):
#   - raw TCP connections sending garbage instead of a ZMTP greeting
#   - many half-open handshakes (half a greeting, then silence), held open
#   - CURVE handshakes with keys the registry does not know (ZAP refuses)
#   - a registered household sending frames above max_msg_bytes
#   - a registered household flooding fresh orders far above its rate,
#     never waiting for answers (one REJECT rate_limited per second, the
#     rest dropped unanswered and counted: "rate_limited dropped N")
#   - a replay storm: one signed order sent over and over without waiting
#     (ACKed once at most; within the rate REJECT replay, then dropped)
# The honest households send the same paced load before and during the
# attack; every honest order is ACKed both times, and their ACK p99 is
# measured.  With PW_HOSTILE_BENCH=1 (tests/bench/bench_hostile.sh) the run is
# longer and BENCH lines are printed.
set -u
. "$(dirname "$0")/lib.sh"
B=$BUILD
T=$PW_TMP
BENCH_MODE=${PW_HOSTILE_BENCH:-0}
NH=4 # honest households
PIN_X=() # the exchange and the honest households
PIN_A=() # the attackers
if [ "$BENCH_MODE" = 1 ]; then
	HCOUNT=$((${PW_BENCH_SECONDS:-5} * 2 * 100))
	HRATE=100
	NB=3 # blocks per phase: a p99 is the median of three blocks' p99
	# Real attackers sit on other machines.  On one test machine they would
	# otherwise take the CPU the exchange runs on: garbage connections aimed
	# at a second exchange process, not at this one, still tripled the
	# honest p99 (docs/performance.md).  So the bench gives the attackers
	# CPUs of their own: the exchange and the honest households share CPU 0,
	# the attackers the others.  PW_HOSTILE_PIN=0 runs everything unpinned.
	ncpu=$(nproc)
	if [ "${PW_HOSTILE_PIN:-1}" = 1 ] && [ "$ncpu" -ge 2 ] && command -v taskset >/dev/null; then
		PIN_X=(taskset -c 0)
		PIN_A=(taskset -c "1-$((ncpu - 1))")
	fi
else
	HCOUNT=300
	HRATE=60
	NB=1
fi
ATT_T=$((NB * HCOUNT / HRATE + 30)) # attackers outlast the honest run
FRATE=${PW_HOSTILE_FLOOD_RATE:-5000}

"$B/peerwatt-exchange" keygen --out "$T/ex.key" >"$T/ex.pk" || exit 1
SPK=$(cat "$T/ex.pk")
"$B/pw-loadgen" init "$T/hon" $NH >/dev/null || exit 1
"$B/pw-loadgen" init "$T/atk" 3 >/dev/null || exit 1
# one registry: the attackers get their own ids and meter serials
{
	cat "$T/hon/households"
	sed -e 's/^hh\([0-9]*\) load/atk\1 evil/' -e 's/ LG-/ ATK-/' "$T/atk/households"
} >"$T/households"
P1=$(free_port)
P2=$(free_port)
cat >"$T/x.conf" <<CONF
[market]
name = hostile
id = 9
interval_s = 900
feedin = 0.08
retail = 0.30
[network]
request = tcp://127.0.0.1:$P1
publish = tcp://127.0.0.1:$P2
rate_per_s = 50
rate_burst = 100
max_msg_bytes = 4096
[files]
registry = $T/households
db = $T/x.db
key = $T/ex.key
CONF
EP="tcp://127.0.0.1:$P1"

"${PIN_X[@]}" "$B/peerwatt-exchange" -c "$T/x.conf" 2>"$T/exchange.log" &
XPID=$!
PW_PIDS+=("$XPID")
wait_port "$P1" 60 || { not_ok "exchange listens"; exit 1; }

honest() { # honest NAME: NB blocks of paced load of the honest households, $T/NAME.1..NB
	for b in $(seq 1 $NB); do
		"${PIN_X[@]}" "$B/pw-loadgen" run -e "$EP" -s "$SPK" -m 9 -d "$T/hon" -n $NH -c $HCOUNT \
			-r $HRATE -T 120 -i 20000 >"$T/$1.$b" 2>&1
	done
}
acked() { # acked NAME: every block of NAME had all its orders ACKed
	for b in $(seq 1 $NB); do grep -q "acked $HCOUNT rejected 0" "$T/$1.$b" || return 1; done
}
summary() { for b in $(seq 1 $NB); do head -1 "$T/$1.$b"; done | paste -sd ';'; }
# the phase's ACK p99: the median of its blocks' p99 (a single stall of the
# virtual disk or of the host decides one block's p99 on its own)
blocks() { for b in $(seq 1 $NB); do sed -n 's/.* p99 \([0-9.]*\) ms.*/\1/p' "$T/$1.$b"; done | paste -sd ' '; }
p99() { blocks "$1" | tr ' ' '\n' | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

if [ "$BENCH_MODE" = 1 ]; then
	# warm-up (connections, ZAP, the database's first pages), not measured
	"${PIN_X[@]}" "$B/pw-loadgen" run -e "$EP" -s "$SPK" -m 9 -d "$T/hon" -n $NH -c 400 \
		-r $HRATE -T 60 >"$T/warm.out" 2>&1
fi
honest calm
# the exchange's per-stage figures of the calm run (SIGUSR1), for the bench log
kill -USR1 "$XPID"
wait_for grep -q "stats: batch:" "$T/exchange.log"
check "honest orders ACKed without attack ($(summary calm))" acked calm

# the attack: every hostile peer at once
# attackers run at nice 19: on a 2-CPU test machine they would otherwise
# measure the CPU they take from the exchange, not the exchange (real
# attackers sit on other machines)
A=("${PIN_A[@]}" nice -n 19 "$B/pw-attack")
"${A[@]}" stall -e "$EP" -c 500 -T $ATT_T >"$T/stall.out" 2>&1 &
PW_PIDS+=($!)
STALL=$!
WAIT_SECONDS=60 wait_for grep -q "stall connections" "$T/stall.out"
"${A[@]}" garbage -e "$EP" -c 100000000 -T $ATT_T >"$T/garbage.out" 2>&1 &
GARBAGE=$!
PW_PIDS+=("$GARBAGE")
"${A[@]}" unknown -e "$EP" -s "$SPK" -c 100000000 -T $ATT_T >"$T/unknown.out" 2>&1 &
UNKNOWN=$!
PW_PIDS+=("$UNKNOWN")
"${A[@]}" oversize -e "$EP" -s "$SPK" -k "$T/atk/hh-0.key" -c 100000000 -b 65536 \
	-T $ATT_T >"$T/oversize.out" 2>&1 &
OVERSIZE=$!
PW_PIDS+=("$OVERSIZE")
"${A[@]}" flood -e "$EP" -s "$SPK" -k "$T/atk/hh-0.key" -m 9 -c 100000000 -r $FRATE -T $ATT_T \
	>"$T/flood.out" 2>&1 &
FLOOD=$!
PW_PIDS+=("$FLOOD")
"${A[@]}" replay -e "$EP" -s "$SPK" -k "$T/atk/hh-1.key" -m 9 -c 100000000 -r $FRATE \
	-T $ATT_T \
	>"$T/replay.out" 2>&1 &
REPLAY=$!
PW_PIDS+=("$REPLAY")

honest attack
check "honest orders ACKed under attack ($(summary attack))" acked attack
stop_pid "$FLOOD"
stop_pid "$REPLAY"
# over its rate a household gets one REJECT rate_limited per second (the
# attack lasted less than ATT_T s) and no answer to the other frames
check "the flooding household is rate limited, its excess dropped ($(cat "$T/flood.out"))" \
	awk -v t=$ATT_T '/^flood sent/ { for (i = 8; i <= NF; i++) if ($i ~ /^rate_limited=/) {
		split($i, kv, "="); r = kv[2] }
		ok = $5 < $3 && r >= 1 && r <= t + 1 } END { exit !ok }' "$T/flood.out"
check "the replay storm is ACKed once at most, its excess dropped ($(cat "$T/replay.out"))" \
	awk '/^replay sent/ { ok = $5 >= 1 && $5 < $3 && $7 <= 1
		for (i = 8; i <= NF; i++) if ($i !~ /^(replay|rate_limited)=/) ok = 0 } END { exit !ok }' \
	"$T/replay.out"
kill -USR1 "$XPID"
check "the exchange counts the dropped frames" \
	wait_for grep -Eq "rate_limited dropped [1-9]" "$T/exchange.log"
check "the stalled handshakes did not stop the exchange" kill -0 "$XPID"
got=$("$B/pw-client" -e "$EP" -s "$SPK" -m 9 -k "$T/hon/hh-0.key" -t 20000 \
	order "$(date +%s%6N)" +3 sell 1 100000 +600 2>&1)
check "a new order is ACKed while attackers still hold connections (got '$got')" \
	grep -q "^ACK" <<<"$got"
# an honest agent resending an order whose ACK it lost gets an answer
seq=$(date +%s%6N)
got=$("$B/pw-client" -e "$EP" -s "$SPK" -m 9 -k "$T/hon/hh-1.key" -t 20000 -r 2 \
	order "$seq" +3 buy 1 100000 +600 2>&1)
check "an order sent twice is ACKed, then answered replay (got '$(echo $got)')" \
	grep -qz "^ACK [0-9]*.REJECT replay" <<<"$got"
for p in "$UNKNOWN" "$OVERSIZE" "$GARBAGE"; do stop_pid "$p"; done
check "garbage connections were accepted and dropped ($(cat "$T/garbage.out"))" \
	grep -q "^garbage connections [1-9]" "$T/garbage.out"
check "unregistered keys never got an answer ($(cat "$T/unknown.out"))" \
	grep -q "^unknown handshakes [1-9][0-9]* answered 0$" "$T/unknown.out"
check "oversize frames never got an answer ($(cat "$T/oversize.out"))" \
	grep -q "^oversize sent [1-9][0-9]* answered 0$" "$T/oversize.out"
stop_pid "$STALL"

c=$(p99 calm)
a=$(p99 attack)
echo "# honest ack p99: unloaded $c ms (blocks: $(blocks calm)), under attack $a ms (blocks: $(blocks attack))"
if [ "$BENCH_MODE" = 1 ]; then
	echo "# attackers ${PIN_A[*]:-unpinned}, exchange and honest households ${PIN_X[*]:-unpinned}"
	echo "BENCH ack_p99_unloaded_ms $c ms"
	echo "BENCH hostile_ack_p99_ms $a ms"
	# a long COMMIT (fsync, WAL checkpoint) stalls every ACK behind it and
	# decides a p99 on its own: show the worst one of each phase
	grep -E "stats: (commit|batch):" "$T/exchange.log" | sed -n '1,2s/^/# calm: /p;3,4s/^/# calm+attack: /p'
	awk -v a="$a" -v c="$c" 'BEGIN { if (c <= 0) c = 0.001;
		printf "BENCH hostile_ack_p99_ratio %.2f ratio target <=2\n", a / c }'
fi

stop_pid "$XPID"
"$B/peerwatt-audit" verify "$T/x.db" >"$T/audit.out" 2>&1
check "peerwatt-audit verifies the log after the attack ($(grep verdict "$T/audit.out"))" \
	grep -q "verdict *OK" "$T/audit.out"
finish
