#!/usr/bin/env bash
# agent_queries.sh: an agent whose queries the exchange refuses for a
# transient reason (its per-household rate limit) still gets every proof.
# One peerwatt-exchange (3 s intervals) with `[network] rate_per_s = 6`,
# `rate_burst = 2`, one peerwatt-sim at 60x speed, one agent sending only its
# readings (no offers, no bids).  After each checkpoint the agent asks its
# queries back to back, 100 ms apart (consistency, inclusion, statement
# proof, heads), faster than 6/s with a burst of 2 allow, so some are answered
# REJECT rate_limited (docs/agent.md "The daemon").  Checks: such refusals
# happen and are logged once at info level; each refused item is asked
# again and verified later; in the end every acknowledged reading's
# inclusion proof and every statement's proof verify, every checkpoint is
# trusted (the first as seen, the others proven), none failed, the agent holds
# every statement the exchange signed for it, and the dashboard shows every
# statement verified.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/integration/lib.sh

AGENT=$BUILD/peerwatt-agent
EXCH=${PW_EXCHANGE:-$BUILD/peerwatt-exchange}
L=3
T=$PW_TMP

XPK=$("$AGENT" keygen --out "$T/x2.key" | sed -n 's/^public key: //p')
mv "$T/x2.key" "$T/exchange.key"
PK=$("$AGENT" keygen --out "$T/h1.key" | sed -n 's/^public key: //p')
# capacities scaled by the simulator's speed (docs/agent.md)
echo "h1 h1 $PK PWSIM-1-1 z1 1200000 1200000" >"$T/households"

start_sim --speed 60 --start-time 11:00 --pv-peak 6000 --load 700 --seed 1 ||
	not_ok "simulator starts"

REQ=$(free_port)
PUB=$(free_port)
exchange_conf "$T/exchange.conf" qtest 43 "$REQ" "$PUB" "$T/households" "$T/exchange.db" \
	"$T/exchange.key"
cat >>"$T/exchange.conf" <<CONF
[market]
interval_s = $L
gate_s = 1
grace_s = 2
[network]
rate_per_s = 6
rate_burst = 2
CONF
"$EXCH" -c "$T/exchange.conf" >"$T/exchange.log" 2>&1 &
EXPID=$!
PW_PIDS+=("$EXPID")
wait_port "$REQ" 60 || not_ok "exchange starts"

DASH=$(free_port)
agent_conf "$T/h1.conf" "$T/h1.key" "$T/h1.db" "$SIM_PORT" "$REQ" "$PUB" "$XPK" 43 $L
cat >>"$T/h1.conf" <<CONF
[exchange]
reply_timeout_ms = 500
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

q() { sqlite3 "$T/h1.db" "$1" 2>/dev/null || echo 0; }
at_least() { [ "$(q "$1")" -ge "$2" ]; }
REFUSED='refused: rate_limited, asking again later'

# --- running: readings, statements, and queries over the rate ----------------
WAIT_SECONDS=90 wait_for at_least "select count(*) from statements" 5
check "the agent receives statements" at_least "select count(*) from statements" 5
WAIT_SECONDS=60 wait_for grep -q "$REFUSED" "$T/h1.log"
check "the exchange refuses some of the agent's queries as rate_limited (logged at info)" \
	grep -q "^<6>peerwatt-agent: query .* $REFUSED" "$T/h1.log"
check "... and counted by the exchange" test "$(sqlite3 "$T/exchange.db" \
	"select coalesce(sum(count), 0) from stats where name = 'rate_limited'" 2>/dev/null || echo 0)" -ge 1
check "a transient refusal is not logged as a warning" \
	sh -c "! grep -qE '^<[0-4]>.*query .* refused: (rate_limited|unavailable)' '$T/h1.log'"

# --- quiet: the device stops, so no more readings (nor statements) ----------
stop_pid "$SIM_PID"
# everything the agent can prove is proven: every acknowledged item with a
# log index inside the latest trusted checkpoint, every statement, every
# checkpoint but the first (it has no predecessor), and the agent holds every statement the exchange signed for
# it (a reading that reached the exchange after its interval was settled has
# none: docs/market.md)
missing_statements() {
	sqlite3 "$T/h1.db" "attach '$T/exchange.db' as x; select count(*) from x.statements e
		where e.pk = x'$PK' and not exists (select 1 from statements s
		where s.frame = e.frame and s.log_index = e.log_idx)" 2>/dev/null || echo 1
}
# an item is provable once the latest trusted checkpoint holds it: the
# COSIGN of the last checkpoint (logged after it) waits for a checkpoint
# the exchange only signs when there is something to settle, and once the
# device stops there is none
PROVABLE="(select max(tree_size) from checkpoints where consistent = 1)"
# the log is never quite quiet: each checkpoint the agent cosigns puts its
# COSIGN in the log, which a later checkpoint holds, so the newest one may
# have arrived a moment ago and still be waiting for its proof
NOT_NEWEST="arrival < (select max(arrival) from checkpoints)"
all_proven() {
	[ "$(missing_statements)" = 0 ] || return 1
	[ "$(q "select
		(select count(*) from outbox where state = 1 and log_index is not null and proof != 1
			and log_index < $PROVABLE)
		+ (select count(*) from statements where proof != 1)
		+ (select count(*) from checkpoints where consistent != 1 and $NOT_NEWEST))")" = 0 ]
}
WAIT_SECONDS=60 wait_for all_proven
check "every acknowledged reading's inclusion proof verifies" \
	test "$(q "select count(*) from outbox where state = 1 and log_index is not null
		and proof != 1 and log_index < $PROVABLE")" = 0
check "every statement's inclusion proof verifies" \
	test "$(q "select count(*) from statements where proof != 1")" = 0
check "every checkpoint is trusted (the first as seen, the others proven; the newest may still wait), none failed" \
	test "$(q "select count(*) from checkpoints where consistent = -1 or
		(consistent != 1 and $NOT_NEWEST)")" = 0
check "the agent holds every statement the exchange signed for it, at its log index" \
	test "$(missing_statements)" = 0
check "proofs were checked: at least 4 readings and 4 statements verified" sh -c \
	"[ \"\$(sqlite3 '$T/h1.db' 'select count(*) from outbox where proof = 1')\" -ge 4 ] &&
	 [ \"\$(sqlite3 '$T/h1.db' 'select count(*) from statements where proof = 1')\" -ge 4 ]"

# each item whose query was refused was asked again and verified: the
# log names the query's `a` (leaf index, statement interval, old tree size);
# which kinds hit the rate limit depends on the order the agent asks in
# (QUERY STATEMENT, RESULT and REGISTRY count too)
refused_items_verified() {
	local kind a n=0 top
	top=$(q "select $PROVABLE")
	while read -r kind a; do
		case $kind in
		inclusion) # beyond the latest trusted checkpoint nothing can be proven yet
			[ "$a" -ge "${top:-0}" ] && continue
			[ "$(q "select proof from outbox where log_index = $a")" = 1 ] || return 1 ;;
		statement-proof) [ "$(q "select proof from statements where interval = $a")" = 1 ] || return 1 ;;
		statement) # held and proven, unless the exchange signed none (a late reading)
			[ "$(q "select proof from statements where interval = $a")" = 1 ] ||
				[ "$(sqlite3 "$T/exchange.db" "select count(*) from statements
					where pk = x'$PK' and interval = $a" 2>/dev/null || echo 1)" = 0 ] ||
				return 1 ;;
		consistency) [ "$(q "select consistent from checkpoints where tree_size > $a
			order by tree_size limit 1")" = 1 ] || return 1 ;;
		*) continue ;;
		esac
		n=$((n + 1))
	done < <(sed -n -e "s/.*query \(inclusion\|statement\|consistency\) proof \([0-9]*\) $REFUSED.*/\1-proof \2/p" \
		-e "s/.*query statement \([0-9]*\) $REFUSED.*/statement \1/p" "$T/h1.log" |
		sed 's/^inclusion-proof /inclusion /; s/^consistency-proof /consistency /')
	echo "$n refused queries (proofs, statements) answered and verified later"
	[ "$n" -ge 1 ]
}
# (polled: a checkpoint signed after the quiet began is proven within a
# few queries, and a refused query about it may be the last one logged)
WAIT_SECONDS=30 wait_for refused_items_verified >/dev/null
check "every proof or statement query refused as rate_limited was asked again and verified" \
	refused_items_verified
check "no proof failed, no fork" \
	sh -c "! grep -E 'LOG FORK|EXCHANGE LIED|STATEMENT MISMATCH|INCLUSION PROOF FAILED|TWO DIFFERENT' '$T/h1.log'"

statements_verified() {
	curl -sf "http://127.0.0.1:$DASH/api/statements" | jq_e '(.statements | length) >= 4 and
		all(.statements[]; .verified == true and (.log_index | type) == "number")' >/dev/null
}
check "dashboard: every statement carries its verified badge" statements_verified

stop_pid "$APID"
stop_pid "$EXPID"
grep -c "$REFUSED" "$T/h1.log" | sed 's/^/# transient query refusals logged: /'
finish
