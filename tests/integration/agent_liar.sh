#!/usr/bin/env bash
# agent_liar.sh: the household checks what is signed to it (docs/agent-checks.md
# "What the agent checks").  A fake exchange (tests/tools/pw-fakexch, the
# REAL exchange key, written from docs/protocol.md) answers the agent like an
# exchange and, per scenario, signs one lie: a RESULT giving the household 50
# times its bid at 3 times its limit; a trade for an order number it never
# placed; two different RESULTs for one interval; statements with invented
# money (net not peer + grid - fee; energy bought without a trade); "reading
# missing" for an ACKed reading; a forked checkpoint whose consistency proof
# it refuses; a checkpoint between two held sizes that does not fit the
# larger; a split view (a neighbour's cosignature over another history, then
# that history's checkpoint: the agent refuses to cosign it); an ACK whose
# head is a tree with a phantom entry after the order (its inclusion path
# true, the head never extended by a published checkpoint); a cosignature
# by a key no household has (not counted as a witness).  For each: the alarm (problem code in /api/state, a loud log line),
# the lie not in the agent's trades, statements or balance (its database),
# the lie kept as evidence (table disputes, `peerwatt-agent evidence`), and
# the honest frames before and after it still accepted.  An honest run of
# the same fake (every RESULT delivered twice, byte for byte) raises no
# alarm, nor does one whose retail tariff changes from an interval on (a
# MARKET entry).  Every statement's grid fee is recomputed to the micro-unit
# from the fake's MARKET entry and the REGISTRY entries of the household
# (north) and its counterparty (south, a zone-pair fee of 0.02): one fee 1
# micro-unit off is refused; a MARKET entry whose inclusion proof does not
# verify, or another household's REGISTRY entry given for the household's
# key, is an alarm, and no statement passes unchecked.  The agent has a standing bid of 100 Wh at
# 0.25 every interval; the fake fills it in even intervals.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/integration/lib.sh

AGENT=$BUILD/peerwatt-agent
T=$PW_TMP
IV=3
XPK=$("$AGENT" keygen --out "$T/ex.key" | sed -n 's/^public key: //p')

start_sim --speed 60 --start-time 11:00 --pv-peak 6000 --load 700 --seed 7 ||
	not_ok "simulator starts"

# LIAR_ONLY=NAME runs one scenario (debugging)
want() { [ -z "${LIAR_ONLY:-}" ] || [ "$LIAR_ONLY" = "$1" ]; }

# scenario NAME: starts the fake exchange and an agent; sets FX_PID, A_PID,
# DASH, DB, LOG, FOUT
scenario() {
	local n=$1 req pub
	FOUT=$T/$n.fake DB=$T/$n.db LOG=$T/$n.log DASH=$(free_port)
	# ports 0: the fake binds ports the kernel picks and prints them
	"$BUILD/pw-fakexch" "$T/ex.key" 0 0 45 "$IV" "$n" >"$FOUT" 2>&1 &
	FX_PID=$!
	PW_PIDS+=("$FX_PID")
	if ! WAIT_SECONDS=30 wait_for grep -q listening "$FOUT"; then
		not_ok "$n: the fake exchange starts"
		sed 's/^/# fake: /' "$FOUT"
	fi
	read -r req pub < <(sed -n 's/^fakexch: listening ([a-z_]*) \([0-9]*\) \([0-9]*\)$/\1 \2/p' "$FOUT")
	"$AGENT" keygen --out "$T/$n.key" >/dev/null
	agent_conf "$T/$n.conf" "$T/$n.key" "$DB" "$SIM_PORT" "$req" "$pub" "$XPK" 45 "$IV"
	cat >>"$T/$n.conf" <<CONF
reply_timeout_ms = 1000
${OBSOLETE:-}
[policy]
auto_sell = no
[bid.all]
qty_wh = 100
max_price = 0.25
[dashboard]
listen = 127.0.0.1:$DASH
[log]
level = info
CONF
	"$AGENT" -c "$T/$n.conf" >"$LOG" 2>&1 &
	A_PID=$!
	PW_PIDS+=("$A_PID")
	wait_port "$DASH" 60 || not_ok "$n: the agent starts"
}
done_scenario() {
	stop_pid "$A_PID"
	stop_pid "$FX_PID"
	check "$1: no sanitizer report" bash -c "! grep -q 'runtime error\|AddressSanitizer' '$LOG'"
}
q() { sqlite3 "$DB" "$1" 2>/dev/null; }
state() { curl -sf -m 10 "http://127.0.0.1:$DASH/api/state"; }
has_problem() { state | jq_e --arg c "$1" 'any(.problems[]; .code == $c)' >/dev/null; }
says() { state | jq_e --arg c "$1" --arg re "$2" \
	'any(.problems[]; .code == $c and (.message | test($re)))' >/dev/null; }
lie() { sed -n "s/^lie $1 \([0-9]*\)$/\1/p" "$FOUT" | head -1; }
# the statement of an interval after N: the honest frames still count
accepted_after() { [ "$(q "select count(*) from statements where interval > $1")" -ge 1 ]; }
evidence_has() {
	rm -f "$T/ev.db"
	"$AGENT" evidence --db "$DB" --out "$T/ev.db" >/dev/null &&
		[ "$(sqlite3 "$T/ev.db" "select count(*) from disputes where $1")" -ge 1 ]
}

# ---- honest: nothing to refuse ------------------------------------------
if want honest; then
# an old configuration: the fee bounds are obsolete, loaded with a warning
OBSOLETE=$'fee_min = 0.01\nfee_max = 0.03' scenario honest
proven3() { [ "$(q "select count(*) from statements where proof = 1")" -ge 3 ]; }
WAIT_SECONDS=60 wait_for proven3 || not_ok "honest: three statements proven"
check "honest: statements accepted and proven in the log" \
	test "$(q "select count(*) from statements where proof = 1")" -ge 3
check "honest: trades of the even intervals accepted" test "$(q "select count(*) from trades")" -ge 1
check "honest: every checkpoint trusted" test "$(q "select count(*) from checkpoints
	where consistent != 1 and tree_size < (select max(tree_size) from checkpoints)")" = 0
check "honest: no problem in /api/state" bash -c "curl -sf -m 10 http://127.0.0.1:$DASH/api/state |
	jq_e '.problems | length == 0' >/dev/null"
check "honest: nothing refused" test "$(q "select count(*) from disputes")" = 0
check "honest: no alarm in the log" bash -c "! grep -E 'EXCHANGE|LOG FORK|MISMATCH' '$LOG'"
check "honest: fee_min/fee_max loaded with a warning that they are obsolete" \
	grep -q "fee_min and fee_max are obsolete and ignored" "$LOG"
bought() { [ "$(q "select count(*) from statements where bought_wh > 0")" -ge 1 ]; }
WAIT_SECONDS=60 wait_for bought || not_ok "honest: a statement with a purchase"
check "honest: cross-zone purchases accepted at the north/south fee (0.02/kWh, exact)" \
	test "$(q "select count(*) from statements where bought_wh > 0 and fee_u = bought_wh * 20")" -ge 1
check "honest: ... every statement's fee exactly that" \
	test "$(q "select count(*) from statements where fee_u != bought_wh * 20")" = 0
check "honest: the MARKET and both REGISTRY entries fetched and proven" \
	test "$(q "select count(distinct kind || hex(key)) from rule_entries where state = 1")" -ge 3
done_scenario honest
fi

# ---- a RESULT: 50 x the bid at 3 x its limit ----------------------------
if want overfill; then
scenario overfill
WAIT_SECONDS=60 wait_for has_problem exchange_lied || not_ok "overfill: no alarm"
N=$(lie overfill)
echo "# overfill: lie in interval ${N:-?}"
check "overfill: exchange_lied in /api/state, the figures side by side" \
	says exchange_lied "5000 Wh.*100 Wh"
check "overfill: a loud log line" grep -q "EXCHANGE LIED: RESULT for interval ${N:-x} .*result_overfill" "$LOG"
check "overfill: the trade is not the household's" \
	test "$(q "select count(*) from trades where interval = ${N:-0} or qty_wh = 5000")" = 0
check "overfill: its price is not in the price history" \
	test "$(q "select count(*) from prices where interval = ${N:-0}")" = 0
WAIT_SECONDS=60 wait_for accepted_after "${N:-0}" || not_ok "overfill: a later statement"
check "overfill: the statement that settles the lie is refused too" \
	test "$(q "select count(*) from disputes where type = 19 and interval = ${N:-0}")" = 1
check "overfill: ... and not in the balance" \
	test "$(q "select count(*) from statements where interval = ${N:-0} or bought_wh >= 5000")" = 0
check "overfill: the honest statements before and after are accepted" accepted_after "${N:-0}"
check "overfill: the RESULT is kept as evidence (peerwatt-agent evidence)" \
	evidence_has "type = 18 and interval = ${N:-0}"
done_scenario overfill
fi

# ---- a trade for an order never placed ----------------------------------
if want unknown; then
scenario unknown
WAIT_SECONDS=60 wait_for has_problem exchange_lied || not_ok "unknown: no alarm"
N=$(lie unknown)
check "unknown: exchange_lied names the order number" says exchange_lied "424242"
check "unknown: logged" grep -q "EXCHANGE LIED: RESULT for interval ${N:-x} .*result_unknown_order" "$LOG"
check "unknown: no trade of that interval is the household's" \
	test "$(q "select count(*) from trades where interval = ${N:-0} or buy_seq = 424242")" = 0
check "unknown: kept as evidence" evidence_has "type = 18 and code = 'result_unknown_order'"
WAIT_SECONDS=60 wait_for accepted_after "${N:-0}" || not_ok "unknown: a later statement"
check "unknown: honest statements after it accepted" accepted_after "${N:-0}"
done_scenario unknown
fi

# ---- two different RESULTs for one interval ------------------------------
if want equivocate; then
scenario equivocate
WAIT_SECONDS=60 wait_for has_problem exchange_lied || not_ok "equivocate: no alarm"
N=$(lie equivocate)
check "equivocate: exchange_lied says a second RESULT" says exchange_lied "second, different RESULT"
check "equivocate: both RESULTs kept as evidence" \
	test "$(q "select count(*) from disputes where type = 18 and interval = ${N:-0}")" = 2
check "equivocate: neither is the household's truth" \
	test "$(q "select count(*) from trades where interval = ${N:-0}")" = 0
check "equivocate: logged" grep -q "EXCHANGE LIED: RESULT for interval ${N:-x} .*result_equivocation" "$LOG"
WAIT_SECONDS=60 wait_for accepted_after "${N:-0}" || not_ok "equivocate: a later statement"
check "equivocate: honest statements after it accepted" accepted_after "${N:-0}"
done_scenario equivocate
fi

# ---- invented money ------------------------------------------------------
if want money; then
scenario money
WAIT_SECONDS=90 wait_for bash -c "[ \"\$(sqlite3 '$DB' 'select count(*) from disputes where type = 19')\" -ge 2 ]" ||
	not_ok "money: both statements refused"
NB=$(lie money_bought) NN=$(lie money_net)
echo "# money: bought without trade in ${NB:-?}, net invented in ${NN:-?}"
check "money: statement_mismatch in /api/state" has_problem statement_mismatch
check "money: net not peer + grid - fee refused, figures side by side" \
	grep -q "EXCHANGE LIED: STATEMENT for interval ${NN:-x} .*net_u signed -[0-9]*, computed" "$LOG"
check "money: 5000 Wh bought without a trade refused" \
	grep -q "EXCHANGE LIED: STATEMENT for interval ${NB:-x} .*bought_wh signed 5000, computed 0" "$LOG"
check "money: neither statement is in the balance" \
	test "$(q "select count(*) from statements where interval in (${NB:-0}, ${NN:-0})
		or net_u < -90000000 or bought_wh = 5000")" = 0
check "money: the today totals hold no invented money" bash -c \
	"curl -sf -m 10 http://127.0.0.1:$DASH/api/today | jq_e '.all_time.paid_u < 1000000' >/dev/null"
check "money: both kept as evidence" evidence_has "type = 19 and interval in (${NB:-0}, ${NN:-0})"
check "money: other statements accepted" \
	test "$(q "select count(*) from statements")" -ge 1
done_scenario money
fi

# ---- "reading missing" for an ACKed reading --------------------------------
if want missing; then
scenario missing
WAIT_SECONDS=60 wait_for has_problem statement_mismatch || not_ok "missing: no alarm"
N=$(lie missing)
check "missing: statement_mismatch says the reading was acknowledged" \
	says statement_mismatch "reading missing.*acknowledged"
check "missing: logged" grep -q "EXCHANGE LIED: STATEMENT for interval ${N:-x} .*statement_reading_missing" "$LOG"
check "missing: not in the household's statements" \
	test "$(q "select count(*) from statements where interval = ${N:-0}")" = 0
WAIT_SECONDS=60 wait_for accepted_after "${N:-0}" || not_ok "missing: a later statement"
check "missing: honest statements after it accepted" accepted_after "${N:-0}"
done_scenario missing
fi

# ---- a forked checkpoint whose proof the exchange refuses ------------------
if want fork_refuse; then
scenario fork_refuse
WAIT_SECONDS=60 wait_for has_problem log_unproven || not_ok "fork_refuse: no alarm"
F=$(lie fork_refuse)
check "fork_refuse: log_unproven in /api/state names the size" says log_unproven "tree size ${F:-x}"
check "fork_refuse: logged as a suspected fork" grep -q "LOG FORK SUSPECTED: the exchange refused" "$LOG"
check "fork_refuse: the forked checkpoint is not trusted" \
	test "$(q "select consistent from checkpoints where tree_size = ${F:-0}")" = 0
WAIT_SECONDS=60 wait_for grep -q "still refuses the consistency proof of checkpoint ${F:-x}" "$LOG" ||
	not_ok "fork_refuse: asked again"
check "fork_refuse: asked again with backoff" \
	grep -q "still refuses the consistency proof of checkpoint ${F:-x}" "$LOG"
later_trusted() { [ "$(q "select count(*) from checkpoints where consistent = 1
	and tree_size > ${F:-0}")" -ge 1 ]; }
WAIT_SECONDS=60 wait_for later_trusted || not_ok "fork_refuse: a later checkpoint"
check "fork_refuse: later honest checkpoints are proven and trusted" \
	test "$(q "select count(*) from checkpoints where consistent = 1 and tree_size > ${F:-0}")" -ge 1
check "fork_refuse: still not trusted, still the alarm" has_problem log_unproven
done_scenario fork_refuse
fi

# ---- a checkpoint between two held sizes, inconsistent with the larger -----
if want fork_between; then
scenario fork_between
WAIT_SECONDS=60 wait_for has_problem log_fork || not_ok "fork_between: no alarm"
F=$(lie fork_between)
check "fork_between: log_fork in /api/state" says log_fork "not consistent"
check "fork_between: logged" grep -q "LOG FORK" "$LOG"
check "fork_between: the checkpoint is recorded inconsistent, never trusted" \
	test "$(q "select consistent from checkpoints where tree_size = ${F:-0}")" = -1
check "fork_between: the checkpoints around it stay trusted" \
	test "$(q "select count(*) from checkpoints where consistent = -1")" = 1
check "fork_between: kept as evidence" evidence_has "type = 20"
done_scenario fork_between
fi

# ---- an ACK whose head is a history the exchange never publishes --------
if want forkhead; then
scenario forkhead
WAIT_SECONDS=90 wait_for has_problem log_fork || not_ok "forkhead: no alarm"
F=$(lie forkhead)
check "forkhead: the fake ACKed an order with a head of size ${F:-?} over a phantom entry" \
	test -n "$F"
check "forkhead: the ACK itself counted (its inclusion path is true)" \
	test "$(q "select count(*) from outbox where type = 1 and state = 1")" -ge 1
check "forkhead: log_fork in /api/state, naming the ACK's head" says log_fork "signed into an ACK"
check "forkhead: LOG FORK logged" grep -q "LOG FORK.*head_inconsistent" "$LOG"
check "forkhead: the head is kept as evidence (head_inconsistent, the CHECKPOINT frame)" \
	evidence_has "code = 'head_inconsistent' and type = 20"
check "forkhead: the head is marked a fork, never proven" \
	test "$(q "select state from heads where tree_size = ${F:-0}")" = -1
check "forkhead: the other heads are proven (none left that a trusted checkpoint covers)" \
	test "$(q "select count(*) from heads h where state = 0 and tree_size < \
		(select max(tree_size) from checkpoints where consistent = 1) - 20")" = 0
done_scenario forkhead
fi
# ---- a fee 1 micro-unit off ---------------------------------------------------
if want fee; then
scenario fee
WAIT_SECONDS=90 wait_for has_problem statement_mismatch || not_ok "fee: no alarm"
N=$(lie fee)
echo "# fee: 1 micro-unit more fee in ${N:-?}"
check "fee: statement_mismatch, the fee figures side by side" \
	says statement_mismatch "fee_u signed [0-9]+, computed [0-9]+"
check "fee: logged loudly as statement_fee" \
	grep -q "EXCHANGE LIED: STATEMENT for interval ${N:-x} .*statement_fee.*fee_u signed" "$LOG"
check "fee: not in the household's statements" \
	test "$(q "select count(*) from statements where interval = ${N:-0}")" = 0
check "fee: kept as evidence" evidence_has "type = 19 and code = 'statement_fee'"
WAIT_SECONDS=60 wait_for accepted_after "${N:-0}" || not_ok "fee: a later statement"
check "fee: honest statements after it accepted" accepted_after "${N:-0}"
done_scenario fee
fi

# ---- a MARKET entry whose inclusion proof fails ----------------------------
if want badmarket; then
scenario badmarket
WAIT_SECONDS=90 wait_for has_problem statement_mismatch || not_ok "badmarket: no alarm"
check "badmarket: the failed proof is logged" \
	grep -q "INCLUSION PROOF FAILED: the MARKET entry" "$LOG"
check "badmarket: statement_mismatch says the MARKET entry cannot be trusted" \
	says statement_mismatch "MARKET entry.*inclusion proof"
check "badmarket: no statement passes unchecked" test "$(q "select count(*) from statements")" = 0
check "badmarket: the refused statements kept as evidence" \
	evidence_has "type = 19 and code = 'statement_rules_unproven'"
done_scenario badmarket
fi


# ---- a split view: a neighbour shown another history, then that history ----
if want split; then
scenario split
WAIT_SECONDS=60 wait_for has_problem log_fork || not_ok "split: no alarm"
WAIT_SECONDS=30 wait_for grep -q "^lie split" "$FOUT"
F=$(lie split)
S=$(sed -n 's/^cosign \([0-9]*\)$/\1/p' "$FOUT" | head -1)
check "split: the agent cosigned the true checkpoint first (size ${S:-?})" test -n "$S"
check "split: a neighbour's cosignature of size $S over another root: LOG FORK logged" \
	grep -q "LOG FORK: neighbour .* cosigned the checkpoint of tree size $S with another root" "$LOG"
check "split: ... kept as evidence (cosign_fork, the COSIGN frame)" \
	evidence_has "type = 5 and code = 'cosign_fork' and length(frame) = 178"
split_refused() { [ "$(q "select consistent from checkpoints where tree_size = ${F:-0}")" = -1 ]; }
WAIT_SECONDS=30 wait_for split_refused
check "split: the other history's checkpoint (size ${F:-?}) is proven inconsistent, never trusted" split_refused
check "split: the agent refuses to cosign it: no COSIGN of size ${F:-?} sent or stored" \
	bash -c "! grep -q '^cosign ${F:-0}\$' '$FOUT' && test \"\$(sqlite3 '$DB' 'select count(*) from outbox where stream = 4 and seq = ${F:-0}')\" = 0"
check "split: log_fork in /api/state" has_problem log_fork
later_cosigned() { sed -n 's/^cosign \([0-9]*\)$/\1/p' "$FOUT" | awk -v f="${F:-0}" '$1 > f { ok = 1 } END { exit !ok }'; }
WAIT_SECONDS=60 wait_for later_cosigned
check "split: later true checkpoints, proven consistent, are cosigned again" later_cosigned
check "split: every size it cosigned is a true one, growing" bash -c \
	"sed -n 's/^cosign \([0-9]*\)\$/\1/p' '$FOUT' | awk -v f=${F:-0} 'NR > 1 && \$1 <= p { exit 1 } \$1 == f { exit 1 } { p = \$1 }'"
done_scenario split
fi
# ---- a made-up witness: a cosignature by a key no household has -----------
if want fakewitness; then
scenario fakewitness
WAIT_SECONDS=60 wait_for grep -q "^lie fakewitness" "$FOUT" || not_ok "fakewitness: not shown"
S=$(lie fakewitness)
notcounted() { grep -q "EXCHANGE: a cosignature of the checkpoint of tree size $S by 34b4d9043156cb6d... is not counted" "$LOG"; }
WAIT_SECONDS=60 wait_for notcounted
check "fakewitness: the made-up key's cosignature of size ${S:-?} is not counted, said so" notcounted
check "... because the exchange cannot show it a REGISTRY entry of that key" \
	grep -q "cosignature of the checkpoint of tree size $S by .* is not counted: the REGISTRY entry of household .* cannot be trusted: the exchange refused to show it" "$LOG"
own() { state | jq_e '.witnesses.count == 1 and (.witnesses.text | test("^log witnessed by 1 neighbour "))' >/dev/null; }
WAIT_SECONDS=60 wait_for own
check "fakewitness: the dashboard counts the household's own cosignature only (1, not 2)" own
check "fakewitness: the own one counted as a registered household" \
	grep -q "witness: .* (a registered household) witnessed the checkpoint of tree size $S: 1 neighbour" "$LOG"
done_scenario fakewitness
fi

# ---- another household's REGISTRY entry for the household's key -----------
if want wrongentry; then
scenario wrongentry
WAIT_SECONDS=90 wait_for has_problem statement_mismatch || not_ok "wrongentry: no alarm"
check "wrongentry: logged as an answer that does not answer the query" \
	grep -q "EXCHANGE: the answer to QUERY REGISTRY .* does not answer it" "$LOG"
check "wrongentry: statement_mismatch says the REGISTRY entry cannot be trusted" \
	says statement_mismatch "REGISTRY entry of household.*another entry"
check "wrongentry: no statement with a trade passes unchecked" \
	test "$(q "select count(*) from statements where bought_wh > 0 or sold_wh > 0")" = 0
check "wrongentry: kept as evidence" evidence_has "type = 19 and code = 'statement_rules_unproven'"
done_scenario wrongentry
fi

# ---- honest again: the tariffs change (as a MARKET entry sets them) -------
if want retariff; then
scenario retariff
after_change() {
	local c
	c=$(sed -n 's/^retariff \([0-9]*\)$/\1/p' "$FOUT")
	[ -n "$c" ] && [ "$(q "select count(*) from statements where interval >= $c")" -ge 2 ]
}
WAIT_SECONDS=90 wait_for after_change || not_ok "retariff: statements after the change"
C=$(sed -n 's/^retariff \([0-9]*\)$/\1/p' "$FOUT")
check "retariff: statements settled at the new tariff are accepted (from interval ${C:-?})" after_change
check "retariff: ... and those before it" \
	test "$(q "select count(*) from statements where interval < ${C:-0}")" -ge 1
check "retariff: nothing refused" test "$(q "select count(*) from disputes")" = 0
check "retariff: the changed tariff is named (market_mismatch), no lie alarm" bash -c \
	"curl -sf -m 10 http://127.0.0.1:$DASH/api/state | jq_e '[.problems[].code] |
	 (index(\"market_mismatch\") != null) and (map(select(. == \"exchange_lied\" or
	 . == \"statement_mismatch\")) | length == 0)' >/dev/null"
# a restart after the change: the statement of an interval under the new
# tariff, read before the stop and settled after it, is checked with the
# MARKET entry's tariff, not the configured retail_price (a false alarm
# when the tariffs came from HEARTBEATs held in memory)
wait_pending() {
	P=$(q "select min(interval) from outbox where type = 3 and state = 1 and
		interval >= ${C:-0} and interval not in (select interval from statements)")
	[ -n "$P" ]
}
WAIT_SECONDS=30 wait_for wait_pending
stop_pid "$A_PID"
P=$(q "select min(interval) from outbox where type = 3 and state = 1 and
	interval >= ${C:-0} and interval not in (select interval from statements)")
echo "# retariff: the statement of interval ${P:-none} pending across the restart"
"$AGENT" -c "$T/retariff.conf" >>"$LOG" 2>&1 &
A_PID=$!
PW_PIDS+=("$A_PID")
wait_port "$DASH" 60 || not_ok "retariff: the agent restarts"
settled_p() { [ "$(q "select count(*) from statements where interval = ${P:-0}")" = 1 ]; }
WAIT_SECONDS=60 wait_for settled_p
check "retariff: after a restart, the statement read before it (interval ${P:-?}) accepted" settled_p
check "retariff: ... still nothing refused" test "$(q "select count(*) from disputes")" = 0
done_scenario retariff
fi
finish
