#!/usr/bin/env bash
# bench_cosigned.sh: what one subscriber of PUB topic COSIGNED receives when
# every household of a neighbourhood cosigns the same checkpoint at once
# (docs/exchange.md "Cosignatures", docs/performance.md).
#
#   BENCH cosigned_messages_100   COSIGNED messages published for that
#                                 checkpoint while 100 households cosign it
#                                 (16 at a time, as agents do when the
#                                 CHECKPOINT reaches them together)
#   BENCH cosigned_frames_per_cosign_100
#                                 COSIGN frames one subscriber received,
#                                 divided by the cosignatures: each is a
#                                 signature every agent verifies
#
# Every COSIGNED message carries the checkpoint and all of its
# cosignatures so far, so a publication per cosignature would cost each
# agent about n/2 verifications per cosignature, n^2/2 per checkpoint.
# PW_COSIGN_HOUSEHOLDS changes the 100.  Loopback only; the exchange is
# stopped by its pid.
set -u
BUILD=${BUILD:-build}
H=${PW_COSIGN_HOUSEHOLDS:-100}
tmp=$(mktemp -d "$BUILD/bench-cosigned.XXXXXX") || exit 1
xpid=
spid=
trap '[ -n "$spid" ] && kill "$spid" 2>/dev/null; [ -n "$xpid" ] && kill "$xpid" 2>/dev/null
rm -rf "$tmp"' EXIT
X=$BUILD/peerwatt-exchange
C=$BUILD/pw-client
q() { sqlite3 "$tmp/x.db" "$1"; }

"$X" keygen --out "$tmp/x.key" >"$tmp/x.pk" || exit 1
xpk=$(tr -d '\n' <"$tmp/x.pk")
for i in $(seq 1 "$H"); do
	pk=$("$C" keygen "$tmp/h$i.key") || exit 1
	echo "h$i house$i $pk SER-$i z1 3600000 3600000"
done >"$tmp/households"
req=$("$BUILD/pw-freeport")
pub=$("$BUILD/pw-freeport")
cat >"$tmp/x.conf" <<CONF
[market]
name = bench-cosigned
id = 31
interval_s = 3
gate_s = 1
grace_s = 1
feedin = 0.08
retail = 0.30
[network]
request = tcp://127.0.0.1:$req
publish = tcp://127.0.0.1:$pub
[files]
registry = $tmp/households
db = $tmp/x.db
key = $tmp/x.key
[log]
level = info
CONF
"$X" -c "$tmp/x.conf" 2>"$tmp/x.log" &
xpid=$!
for _ in $(seq 1 300); do
	[ -s "$tmp/x.db" ] && [ "$(q 'SELECT count(*) FROM checkpoints' 2>/dev/null)" -ge 1 ] 2>/dev/null &&
		break
	kill -0 "$xpid" 2>/dev/null || { cat "$tmp/x.log" >&2; exit 1; }
	sleep 0.1
done
size=$(q 'SELECT min(tree_size) FROM checkpoints')
[ -n "$size" ] || { echo "no checkpoint" >&2; exit 1; }
opts=(-s "$xpk" -m 31 -L 3 -t 4000)
"$C" -e "tcp://127.0.0.1:$pub" "${opts[@]}" -k "$tmp/h1.key" sub COSIGNED 1000000 >"$tmp/sub.out" 2>&1 &
spid=$!
# the subscription is in place once a first cosignature's publication arrives
"$C" -e "tcp://127.0.0.1:$req" "${opts[@]}" -k "$tmp/h1.key" cosign "$size" >/dev/null 2>&1 ||
	{ echo "the first COSIGN failed" >&2; exit 1; }
for _ in $(seq 1 100); do
	grep -q "^CHECKPOINT $size " "$tmp/sub.out" && break
	sleep 0.05
done
grep -q "^CHECKPOINT $size " "$tmp/sub.out" || { echo "the subscriber saw nothing" >&2; exit 1; }
before_msgs=$(grep -c "^CHECKPOINT $size " "$tmp/sub.out")
before_frames=$(grep -c "^COSIGN $size " "$tmp/sub.out")
t0=$(date +%s%N)
seq 2 "$H" | xargs -P 16 -I{} "$C" -e "tcp://127.0.0.1:$req" "${opts[@]}" -k "$tmp/h{}.key" \
	cosign "$size" >"$tmp/cosign.out" 2>&1
t1=$(date +%s%N)
acked=$(grep -c '^ACK' "$tmp/cosign.out")
[ "$acked" -eq $((H - 1)) ] || { echo "$acked of $((H - 1)) COSIGNs ACKed" >&2; head "$tmp/cosign.out" >&2; exit 1; }
# the subscriber ends 4 s after the last message
wait "$spid"
spid=
msgs=$(($(grep -c "^CHECKPOINT $size " "$tmp/sub.out") - before_msgs))
frames=$(($(grep -c "^COSIGN $size " "$tmp/sub.out") - before_frames))
last=$(awk '/^CHECKPOINT/ { n = 0; next } /^COSIGN/ { n++ } END { print n + 0 }' "$tmp/sub.out")
echo "# $((H - 1)) cosignatures in $(((t1 - t0) / 1000000)) ms; $msgs messages, $frames COSIGN frames; the last message held $last" >&2
[ "$last" -eq "$H" ] || { echo "the last message held $last of $H cosignatures" >&2; exit 1; }
echo "BENCH cosigned_messages_$H $msgs messages"
awk -v f="$frames" -v n="$((H - 1))" 'BEGIN { printf "BENCH cosigned_frames_per_cosign_%d %.1f frames target <=5\n", n + 1, f / n }'
