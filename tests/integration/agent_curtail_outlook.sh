#!/usr/bin/env bash
# agent_curtail_outlook.sh: curtailment on the signed price outlook when
# the exchange is out of reach (docs/agent-energy.md "Curtailment").  One
# simulator at noon (PV 5 kW, load 600 W: exporting), one agent with
# [device] control = on, not selling; a real exchange, 3 s intervals,
# fixed feed-in 0.08.  Checks:
#   a tariff file published by SIGHUP (feed-in -3 ct/kWh from interval N,
#   8 ct/kWh again from N+8) reaches the agent's outlook (three rules);
#   the exchange is then stopped before N: from N on the agent limits the
#   export all the same, saying the feed-in came from the signed outlook
#   (final for those intervals: a later rule follows), and the simulator's
#   inverter holds the limit;
#   from N+8, the outlook's last rule (a later entry could still change
#   it, and no HEARTBEAT comes): the tariff is not known, no limit is
#   written, and the inverter runs free once the last one's revert timeout
#   ran out.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/integration/lib.sh

AGENT=$BUILD/peerwatt-agent
EXCH=$BUILD/peerwatt-exchange
L=3
T=$PW_TMP

XPK=$("$AGENT" keygen --out "$T/exchange.key" | sed -n 's/^public key: //p')
start_sim --start-time 12:00 --pv-peak 5000 --load 600 --seed 1 || not_ok "simulator starts"
SIMERR=$T/sim.$SIM_PORT.err
PK=$("$AGENT" keygen --out "$T/on.key" | sed -n 's/^public key: //p')
echo "on on $PK PWSIM-1-1 z1 1200000 1200000" >"$T/households"

REQ=$(free_port)
PUB=$(free_port)
exchange_conf "$T/exchange.conf" curtail 48 "$REQ" "$PUB" "$T/households" "$T/exchange.db" \
	"$T/exchange.key"
printf '[market]\ninterval_s = %s\ngate_s = 1\ngrace_s = 2\nmax_ahead_s = 6\n' $L \
	>>"$T/exchange.conf"
"$EXCH" -c "$T/exchange.conf" >>"$T/exchange.log" 2>&1 &
EXPID=$!
PW_PIDS+=($!)
wait_port "$REQ" 60 || { not_ok "exchange starts: $(tail -3 "$T/exchange.log")"; exit 1; }

agent_conf "$T/on.conf" "$T/on.key" "$T/on.db" "$SIM_PORT" "$REQ" "$PUB" "$XPK" 48 $L
DASH=$(free_port)
printf '[device]\ncontrol = on\n[policy]\nauto_sell = no\n[dashboard]\nlisten = 127.0.0.1:%s\n[log]\nlevel = info\n' \
	"$DASH" >>"$T/on.conf"
"$AGENT" -c "$T/on.conf" >>"$T/on.log" 2>&1 &
PW_PIDS+=($!)

metric() { curl -s -m 5 "http://127.0.0.1:$DASH/metrics" | sed -n "s/^$1 //p"; }
controls() { "$AGENT" probe --json --timeout 1000 "tcp://127.0.0.1:$SIM_PORT" 2>/dev/null; }
limit_is() { # true|false
	controls | python3 -c '
import json, sys
c = json.load(sys.stdin).get("controls")
sys.exit(0 if c is not None and c["limit_enabled"] == (sys.argv[1] == "true") else 1)' "$1"
}

# the agent connected (its first outlook: the fixed tariffs, one rule)
WAIT_SECONDS=60 wait_for grep -q "price outlook: 1 rule(s)" "$T/on.log"
check "the agent holds the market's outlook (one rule: fixed tariffs)" \
	grep -q "price outlook: 1 rule(s)" "$T/on.log"
check "no limit with a positive feed-in" test -z "$(grep "export limited" "$T/on.log")"

# the schedule: negative feed-in for 8 intervals from N, then positive
iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }
N=$(($(date +%s) / L + 6))
printf 'from,retail_ct_kwh,feedin_ct_kwh\n%s,25,-3\n%s,28,8\n' "$(iso $((N * L)))" \
	"$(iso $(((N + 8) * L)))" >"$T/tariffs.csv"
sed -i "s|^max_ahead_s = 6$|max_ahead_s = 6\ntariff_file = $T/tariffs.csv|" "$T/exchange.conf"
kill -HUP "$EXPID"
WAIT_SECONDS=30 wait_for grep -q "price outlook: 3 rule(s)" "$T/on.log"
check "the tariff file's rows reach the agent's outlook (three rules)" \
	grep -q "price outlook: 3 rule(s)" "$T/on.log"
check "  received before interval N ($N)" test "$(($(date +%s) / L))" -lt "$N"
check "  /metrics: peerwatt_agent_outlook_rules 3, no outlook refused" \
	test "$(metric peerwatt_agent_outlook_rules)" = 3 -a "$(metric peerwatt_agent_outlook_refused_total)" = 0
stop_pid "$EXPID"
echo "# the exchange stopped in interval $(($(date +%s) / L)); N = $N"

WAIT_SECONDS=60 wait_for grep -q "feed-in from the signed price outlook, final for it" "$T/on.log"
check "exchange gone: from N the agent limits the export on the signed outlook" \
	grep -q "curtailment: interval .*feed-in -3.00 ct/kWh is below the floor 0.00 ct/kWh: export limited to the load .*(feed-in from the signed price outlook, final for it)" "$T/on.log"
WAIT_SECONDS=30 wait_for limit_is true
check "  the simulator's inverter holds the limit" limit_is true
WAIT_SECONDS=10 wait_for test "$(metric peerwatt_agent_curtailment_limiting)" = 1
check "  /metrics: peerwatt_agent_curtailment_limiting 1" \
	test "$(metric peerwatt_agent_curtailment_limiting)" = 1
check "  written and read back" grep -q "WMaxLimPct .* written and read back, revert in [1-9]" "$T/on.log"

# N+8: the outlook's last rule, not final, and no HEARTBEAT says otherwise:
# no new limit (the one of N+7 lapses by its revert timeout: with 3 s
# intervals the agent's 5 s wait for a HEARTBEAT outlasts the interval)
limited_ivs() { sed -n 's/.*curtailment: interval \([0-9]*\) .*export limited.*/\1/p' "$T/on.log" | sort -un; }
WAIT_SECONDS=60 wait_for test "$(($(date +%s) / L))" -ge $((N + 9))
# (an interval whose load could not be read, on a loaded machine, gets none)
check "limits in the intervals N to N+7 on the outlook, at least 4 of 8 ($(limited_ivs | tr '\n' ' '))" \
	test "$(limited_ivs | awk -v n=$N '$1 >= n && $1 < n + 8' | wc -l)" -ge 4
check "  none before N (feed-in 8 ct/kWh: the rule before, final too)" \
	test -z "$(limited_ivs | awk -v n=$N '$1 < n')"
check "  none from N+8 (the last rule, not final: the tariff is not known)" \
	test -z "$(limited_ivs | awk -v n=$((N + 8)) '$1 >= n')"
WAIT_SECONDS=30 wait_for limit_is false
check "  the simulator's inverter runs free again (revert timeout)" limit_is false
check "  /metrics: the intervals limited counted ($(metric peerwatt_agent_curtailment_intervals_total))" \
	test "$(metric peerwatt_agent_curtailment_intervals_total)" = "$(limited_ivs | wc -l)"
check "  the outlook's age grows while the exchange is gone ($(metric peerwatt_agent_outlook_age_seconds) s)" \
	test "$(metric peerwatt_agent_outlook_age_seconds)" -ge 20

finish
