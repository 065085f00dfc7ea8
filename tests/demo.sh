#!/usr/bin/env bash
# tests/demo.sh: `make demo`, a simulated neighbourhood trading on loopback.
#
# One exchange and six households, each a peerwatt-sim device (SunSpec over
# Modbus TCP) read by its own peerwatt-agent; all ports are free loopback
# ports.  Intervals of DEMO_INTERVAL seconds (default 5, gate 1 s) and
# simulated devices DEMO_SPEED times faster than real time (default 360: a
# simulated day in 4 minutes, half an hour of sunshine per interval).  Three
# households have solar panels and offer their surplus automatically, three
# buy with standing bids.  Two of the sellers (alice, carol) have a home
# battery that their agents plan: stored at the cheap midday, sold to the
# neighbours in the evening (docs/agent-energy.md "Battery plan"); the
# ticker's "battery" column shows what was sold from it.  pw-demo-watch prints one line per settled interval,
# the interval shown as the devices' simulated time of day, at most 100
# columns.  Ctrl-C (or DEMO_SECONDS=N) stops every process by pid with
# SIGTERM, then pw-demo-watch prints its summary (counted as the audit counts)
# and peerwatt-audit verifies the exchange's database and the agents'
# checkpoint files and databases (their evidence); the exit status is the
# audit's (0 only when it passed).
# Under a pipe (`make demo | tee log`) a Ctrl-C reaches tee too: once the pipe
# is broken, the rest (summary, audit) goes to standard error.
#
# State: DEMO_DIR (default $BUILD/demo) is recreated on every run (only if it
# is a previous demo's directory) and kept afterwards for inspection:
# exchange.db (what an auditor checks), exchange.conf, households, keys, and
# per household NAME/: agent.conf, household.key, agent.db, checkpoints.txt,
# agent.log, sim.log; DEMO_DIR.lock keeps two demos off the same state.
# README.md ("What you see") tells what the output means.
#
# Environment: BUILD, DEMO_DIR, DEMO_SECONDS (0 = until Ctrl-C),
# DEMO_INTERVAL, DEMO_SPEED, DEMO_START (simulated time of day, HH:MM),
# DEMO_DAYS (simulated days of the tariff schedule, default 30).
# Exit: audit's status (0 passed, 1 failed), 64 bad environment value,
# 69 a program is missing or would not start, 70 a daemon died while running.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 69
BUILD=${BUILD:-build}
D=${DEMO_DIR:-$BUILD/demo}
SECONDS_TO_RUN=${DEMO_SECONDS:-0}
L=${DEMO_INTERVAL:-5}
SPEED=${DEMO_SPEED:-360}
START=${DEMO_START:-07:00}
GATE=1
GRACE=3
MARKET_ID=7

# Standard output, or standard error once standard output is a broken pipe
# (tee killed by the same Ctrl-C): the summary and the audit are never lost.
OUT_FD=1
say() {
	if [ "$OUT_FD" = 1 ]; then
		printf '%s\n' "$*" 2>/dev/null && return 0
		OUT_FD=2
	fi
	printf '%s\n' "$*" >&2
}
# A handler (not SIG_IGN, which every daemon started here would inherit)
# keeps a write to a broken pipe from killing the script: the write fails.
trap ':' PIPE
die() { # die CODE MESSAGE
	printf 'demo: %s\n' "$2" >&2
	exit "$1"
}

# --- checks -----------------------------------------------------------------
[[ $SECONDS_TO_RUN =~ ^[0-9]{1,6}$ ]] || die 64 "DEMO_SECONDS must be a number of seconds (got '$SECONDS_TO_RUN')"
[[ $L =~ ^[0-9]{1,4}$ ]] && [ "$L" -ge 3 ] && [ "$L" -le 3600 ] ||
	die 64 "DEMO_INTERVAL must be 3..3600 seconds (got '$L')"
[[ $SPEED =~ ^[0-9]{1,5}$ ]] && [ "$SPEED" -ge 1 ] && [ "$SPEED" -le 3600 ] ||
	die 64 "DEMO_SPEED must be 1..3600 (got '$SPEED')"
[[ $START =~ ^([01][0-9]|2[0-3]):[0-5][0-9]$ ]] || die 64 "DEMO_START must be HH:MM (got '$START')"
[[ ${DEMO_DAYS:-30} =~ ^[0-9]{1,3}$ ]] && [ "${DEMO_DAYS:-30}" -ge 1 ] && [ "${DEMO_DAYS:-30}" -le 365 ] ||
	die 64 "DEMO_DAYS must be 1..365 simulated days (got '${DEMO_DAYS:-}')"
[ $((L * SPEED)) -le 86400 ] ||
	die 64 "DEMO_INTERVAL x DEMO_SPEED must not exceed a simulated day (got $L x $SPEED)"
for p in peerwatt-exchange peerwatt-agent peerwatt-sim peerwatt-audit pw-freeport pw-demo-watch; do
	[ -x "$BUILD/$p" ] || die 69 "$BUILD/$p is missing: build first (make demo builds everything)"
done

# One demo per state directory: the lock (next to it, as the directory is
# replaced) is held by this script only (closed in every daemon it starts).
mkdir -p "$(dirname "$D")" || die 69 "cannot create $(dirname "$D")"
exec 9>"${D%/}.lock" || die 69 "cannot create ${D%/}.lock"
flock -n 9 || die 69 "another demo is running in $D (lock ${D%/}.lock)"

# Fresh state each run: a previous demo's directory is replaced, anything
# else is left alone.
if [ -e "$D" ]; then
	[ -f "$D/.peerwatt-demo" ] || [ -z "$(ls -A "$D" 2>/dev/null)" ] ||
		die 69 "$D exists and is not a demo directory: remove it or set DEMO_DIR"
	rm -rf "$D"
fi
mkdir -p "$D" || die 69 "cannot create $D"
D=$(cd "$D" && pwd)
touch "$D/.peerwatt-demo"

# --- processes ---------------------------------------------------------------
# Monitor mode puts every background process in its own process group, so a
# Ctrl-C on the terminal reaches only this script, which then stops the
# daemons in order (agents, devices, exchange) by pid.
set -m
PIDS=()
stopping=0
on_signal() { stopping=1; }
trap on_signal INT TERM

stop_pid() { # SIGTERM, up to 20 s, then SIGKILL; returns the exit status
	local pid=$1 i=0
	kill -TERM "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return $?; }
	while kill -0 "$pid" 2>/dev/null; do
		i=$((i + 1))
		if [ $i -gt 400 ]; then
			say "demo: pid $pid did not stop in 20 s, killing it" >&2
			kill -KILL "$pid" 2>/dev/null
			break
		fi
		sleep 0.05
	done
	wait "$pid" 2>/dev/null
}
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill -0 "$p" 2>/dev/null && stop_pid "$p"; done
}
trap cleanup EXIT

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# wait_until SECONDS PID CMD...: poll CMD every 0.1 s while PID lives
wait_until() {
	local secs=$1 pid=$2 i=0
	shift 2
	until "$@" >/dev/null 2>&1; do
		kill -0 "$pid" 2>/dev/null || return 1
		[ "$stopping" = 1 ] && return 1
		i=$((i + 1))
		[ $i -gt $((secs * 10)) ] && return 1
		sleep 0.1
	done
}
USED_PORTS=" "
new_port() { # a free loopback port not handed out before in this run
	local p i
	for i in 1 2 3 4 5 6 7 8 9 10; do
		p=$("$BUILD/pw-freeport") || break
		case $USED_PORTS in *" $p "*) continue ;; esac
		USED_PORTS="$USED_PORTS$p "
		echo "$p"
		return 0
	done
	die 69 "no free TCP port on 127.0.0.1"
}
failed_start() { # NAME LOG
	say "demo: $1 did not start; the last lines of $2:" >&2
	tail -n 15 "$2" >&2
	exit 69
}

# --- the neighbourhood ---------------------------------------------------------
# name zone pv_peak_w load_w role price battery
#   seller: auto-sell with strategy:price (min price or fixed price)
#   battery: usable Wh of a home battery (charge and discharge power at half
#     its capacity per hour, 90 % round trip) planned by its agent, or "-"
#   buyer:  a standing bid all day at most at price for ~80 % of its load
# Prices follow each interval's tariffs where written relative to them
# (docs/agent-energy.md "Prices relative to the interval's bounds").
HOUSES=(
	"alice north 6000 500 seller min:feedin+0.03 10000"
	"bob north 4000 700 seller follow:feedin+0.02 -"
	"carol south 5000 400 seller fixed:retail-0.06 8000"
	"dave north 0 1500 buyer retail-0.02 -"
	"erin south 1000 1200 buyer retail-0.05 -"
	"frank south 0 1000 buyer 0.18 -"
)

"$BUILD/peerwatt-exchange" keygen --out "$D/exchange.key" >"$D/exchange.pk" 2>"$D/exchange.keygen.err" ||
	{ cat "$D/exchange.keygen.err" >&2; die 69 "peerwatt-exchange keygen failed (is the exchange built?)"; }
XPK=$(tr -d ' \n' <"$D/exchange.pk" | sed 's/^public key://')
[[ $XPK =~ ^[0-9a-f]{64}$ ]] || die 69 "unexpected output of peerwatt-exchange keygen: $(cat "$D/exchange.pk")"

XREQ=$(new_port)
XPUB=$(new_port)
: >"$D/households"
k=0
for h in "${HOUSES[@]}"; do
	read -r name zone pv load role price bat <<<"$h"
	k=$((k + 1))
	mkdir -p "$D/$name"
	# peerwatt-sim --speed X makes the apparent power X times the simulated
	# one: capacities and rated power scale with it (docs/agent.md).  The
	# registered export capacity covers PV and battery discharge together
	# (docs/market.md "Export capacity").
	bat_w=0
	[ "$bat" != - ] && bat_w=$((bat / 2))
	max_export_w=$(((pv + 100 + bat_w) * SPEED))
	max_import_w=$((load * 4 * SPEED))
	rated_w=$((max_export_w > max_import_w ? 2 * max_export_w : 2 * max_import_w))
	"$BUILD/peerwatt-agent" keygen --out "$D/$name/household.key" --id "h$k" --name "$name" \
		--serial "SIM-$name" --zone "$zone" --max-export-w "$max_export_w" \
		--max-import-w "$max_import_w" >"$D/$name/keygen.out" 2>&1 ||
		{ cat "$D/$name/keygen.out" >&2; die 69 "peerwatt-agent keygen failed for $name"; }
	grep "^h$k $name [0-9a-f]\{64\} " "$D/$name/keygen.out" >>"$D/households" ||
		die 69 "peerwatt-agent keygen printed no registry line for $name"
	sim_port=$(new_port)
	dash_port=$(new_port)
	echo "$sim_port" >"$D/$name/sim.port"
	echo "$dash_port" >"$D/$name/dash.port"
	if [ "$role" = seller ]; then
		strategy=${price%%:*} p=${price#*:}
		policy="auto_sell = yes
strategy = $strategy
min_price = $p
fixed_price = $p
safety_pct = 80
horizon = 2"
	else
		# ~80 % of the average load of one interval (simulated Wh)
		bid_wh=$((load * L * SPEED * 4 / 5 / 3600))
		policy="auto_sell = no

[bid.standing]
qty_wh = $bid_wh
max_price = $price"
	fi
	cat >"$D/$name/agent.conf" <<CONF
; peerwatt-agent for $name ($role, PV ${pv} W peak, load ${load} W, zone $zone)
; written by tests/demo.sh; docs/agent.md lists every key
[household]
key_file = $D/$name/household.key
db = $D/$name/agent.db
serial = SIM-$name
max_export_w = $max_export_w
max_import_w = $max_import_w

[device]
modbus = tcp://127.0.0.1:$sim_port
rated_power_w = $rated_w
poll_ms = 250
timeout_ms = 2000
backoff_max_ms = 2000
; curtailment (docs/agent.md): export limited in intervals with a negative
; feed-in tariff; nothing is written while the feed-in is positive
control = on

[exchange]
request = tcp://127.0.0.1:$XREQ
pub = tcp://127.0.0.1:$XPUB
public_key = $XPK
market_id = $MARKET_ID
interval_s = $L
gate_s = $GATE
; the tariffs follow the exchange's schedule (0: learned, interval by interval)
feedin_price = 0
retail_price = 0
reply_timeout_ms = 2000
checkpoints = $D/$name/checkpoints.txt

[policy]
$policy
$([ "$bat" != - ] && printf '\n%s\n' "[battery]
; the agent plans the battery (docs/agent-energy.md \"Battery plan\"):
; store cheap midday surplus, sell to the neighbours in the evening
control = on
strategy = plan
reserve_pct = 20")

[dashboard]
enabled = yes
listen = 127.0.0.1:$dash_port
web_root = $top/agent/web

[log]
level = info
CONF
done

# --- the day's prices --------------------------------------------------------------
# A dynamic day (docs/market.md "Tariff schedule"): retail (the auction's
# ceiling) and feed-in (its floor) in ct/kWh by the devices' simulated hour:
# a morning and an evening peak, a cheap midday and one hour (12:00-13:00)
# whose feed-in is negative, when exporting costs money and households that
# opted in limit their export.  One row per change, for every interval of
# DEMO_DAYS simulated days from the next interval on; the exchange logs each
# change as a MARKET entry, and the agents show the outlook.
SIM_EPOCH=$(($(date +%s) / L * L)) # an interval boundary: intervals are whole half hours
START_S=$((10#${START%%:*} * 3600 + 10#${START##*:} * 60))
DAYS=${DEMO_DAYS:-30}
tariff_of_hour() { # HOUR -> TARIFF="retail,feedin" in ct/kWh (no subshell)
	case $1 in
	[0-5]) TARIFF=24.5,7.2 ;;
	[6-8]) TARIFF=38.9,9.8 ;;
	9 | 10) TARIFF=27.4,6.1 ;;
	11 | 13 | 14) TARIFF=16.8,0.9 ;;
	12) TARIFF=13.2,-2.4 ;;
	15 | 16) TARIFF=26.3,6.4 ;;
	1[7-9] | 20) TARIFF=42.6,11.5 ;;
	*) TARIFF=29.9,7.6 ;;
	esac
}
write_tariffs() { # FILE: the schedule, from the interval after next on
	local first=$(($(date +%s) / L + 2)) n=$((DAYS * 86400 / (L * SPEED))) i t sod prev=""
	{
		echo "# the demo's dynamic day, written by tests/demo.sh"
		echo "from,retail_ct_kwh,feedin_ct_kwh"
		for ((i = 0; i < n; i++)); do
			t=$(((first + i) * L))
			sod=$(((START_S + (t - SIM_EPOCH) * SPEED) % 86400))
			tariff_of_hour $((sod / 3600))
			[ "$TARIFF" = "$prev" ] && continue
			prev=$TARIFF
			TZ=UTC printf '%(%Y-%m-%dT%H:%M:%SZ)T,%s\n' "$t" "$TARIFF"
		done
	} >"$1"
}
write_tariffs "$D/tariffs.csv"

cat >"$D/exchange.conf" <<CONF
; peerwatt-exchange of the demo, written by tests/demo.sh (docs/exchange.md)
[market]
name = demo-street
id = $MARKET_ID
interval_s = $L
gate_s = $GATE
grace_s = $GRACE
feedin = 0.08
retail = 0.30
tariff_file = $D/tariffs.csv

[fees]
same_zone = 0.01
default = 0.03

[network]
request = tcp://127.0.0.1:$XREQ
publish = tcp://127.0.0.1:$XPUB
depth_ms = 1000

[files]
registry = $D/households
db = $D/exchange.db
key = $D/exchange.key

[log]
level = info
CONF

"$BUILD/peerwatt-exchange" -c "$D/exchange.conf" --check-config >/dev/null 2>"$D/exchange.log" ||
	failed_start "peerwatt-exchange --check-config" "$D/exchange.log"

# --- start -------------------------------------------------------------------
"$BUILD/peerwatt-exchange" -c "$D/exchange.conf" >>"$D/exchange.log" 2>&1 9>&- &
XPID=$!
PIDS+=("$XPID")
wait_until 60 "$XPID" port_open "$XREQ" || failed_start "peerwatt-exchange" "$D/exchange.log"

# One time base: the agents' forecasts, standing bids and dashboards follow
# the simulators' clock, given the same epoch, start and speed as each
# peerwatt-sim and pw-demo-watch (docs/agent.md "Time of day").
for h in "${HOUSES[@]}"; do
	read -r name _ <<<"$h"
	printf '\n[sim]\nepoch = %s\nstart = %s\nspeed = %s\n' "$SIM_EPOCH" "$START" "$SPEED" \
		>>"$D/$name/agent.conf"
done
SIM_PIDS=()
k=0
for h in "${HOUSES[@]}"; do
	read -r name zone pv load role price bat <<<"$h"
	k=$((k + 1))
	batopt=()
	# a battery a third full at the start, its own reserve 10 %
	[ "$bat" != - ] && batopt=(--battery-wh "$bat" --battery-charge-w $((bat / 2))
		--battery-discharge-w $((bat / 2)) --battery-efficiency 90 --battery-soc 33
		--battery-reserve 10)
	"$BUILD/peerwatt-sim" --listen "tcp://127.0.0.1:$(cat "$D/$name/sim.port")" --speed "$SPEED" \
		--start-time "$START" --epoch "$SIM_EPOCH" --pv-peak "$pv" --load "$load" --seed "$k" \
		"${batopt[@]}" >"$D/$name/sim.log" 2>&1 9>&- &
	SIM_PIDS+=($!)
	PIDS+=($!)
done
k=0
for h in "${HOUSES[@]}"; do
	read -r name _ <<<"$h"
	wait_until 60 "${SIM_PIDS[$k]}" grep -q "listening on" "$D/$name/sim.log" ||
		failed_start "peerwatt-sim of $name" "$D/$name/sim.log"
	k=$((k + 1))
done

AGENT_PIDS=()
for h in "${HOUSES[@]}"; do
	read -r name _ <<<"$h"
	"$BUILD/peerwatt-agent" -c "$D/$name/agent.conf" >"$D/$name/agent.log" 2>&1 9>&- &
	AGENT_PIDS+=($!)
	PIDS+=($!)
done
k=0
for h in "${HOUSES[@]}"; do
	read -r name _ <<<"$h"
	wait_until 60 "${AGENT_PIDS[$k]}" port_open "$(cat "$D/$name/dash.port")" ||
		failed_start "peerwatt-agent of $name" "$D/$name/agent.log"
	k=$((k + 1))
done

# --- banner ----------------------------------------------------------------------
say "peerwatt demo: a neighbourhood of ${#HOUSES[@]} households trading on 127.0.0.1"
say "  exchange      market 'demo-street', intervals of $L s (gate ${GATE} s before),"
say "                requests tcp://127.0.0.1:$XREQ, market data tcp://127.0.0.1:$XPUB"
say "  devices       peerwatt-sim x$SPEED: a simulated day every $((86400 / SPEED)) s, from $START,"
say "                $((L * SPEED / 60)) simulated minutes per interval"
say "  state         $D  (exchange.db is what an auditor checks)"
say "  dashboards    open one in a browser:"
for h in "${HOUSES[@]}"; do
	read -r name zone pv load role price bat <<<"$h"
	if [ "$role" = seller ]; then
		what="PV ${pv} W, sells its surplus (${price%%:*} ${price#*:} per kWh)"
		[ "$bat" != - ] && what="PV ${pv} W, battery $((bat / 1000)) kWh, sells surplus and stored energy"
	else
		what="PV ${pv} W, load ${load} W, standing bid up to ${price} per kWh"
		[ "$pv" = 0 ] && what="no PV, load ${load} W, standing bid up to ${price} per kWh"
	fi
	say "$(printf '    %-6s http://127.0.0.1:%s/   %s' "$name" "$(cat "$D/$name/dash.port")" "$what")"
done
if [ "$SECONDS_TO_RUN" -gt 0 ]; then
	say "  running for $SECONDS_TO_RUN s (DEMO_SECONDS), then the audit; Ctrl-C stops earlier"
else
	say "  Ctrl-C stops everything and runs the audit"
fi
say "  one line per settled interval (settled $GRACE s after its end), the interval as the"
say "  devices' simulated time of day; the first trades come once the agents have"
say "  measured an interval of surplus:"
say ""

# the pids, for whoever wants to check that the demo stopped them all
printf '%s\n' "$XPID" "${SIM_PIDS[@]}" "${AGENT_PIDS[@]}" >"$D/pids"

batwatch=()
for h in "${HOUSES[@]}"; do
	read -r name _ _ _ _ _ bat <<<"$h"
	[ "$bat" != - ] && batwatch+=(--battery "$name=$D/$name/agent.db")
done
"$BUILD/pw-demo-watch" --db "$D/exchange.db" --sim-epoch "$SIM_EPOCH" --sim-start "$START" \
	--speed "$SPEED" "${batwatch[@]}" 9>&- &
WPID=$!
PIDS+=("$WPID")

# --- run -------------------------------------------------------------------------
died=""
t0=$(date +%s)
while [ "$stopping" = 0 ]; do
	sleep 0.5
	if [ "$SECONDS_TO_RUN" -gt 0 ] && [ $(($(date +%s) - t0)) -ge "$SECONDS_TO_RUN" ]; then
		break
	fi
	for p in "$XPID" "${SIM_PIDS[@]}" "${AGENT_PIDS[@]}"; do
		if ! kill -0 "$p" 2>/dev/null; then
			died=$p
			break 2
		fi
	done
done

# --- stop ------------------------------------------------------------------------
say ""
[ -n "$died" ] && say "demo: a daemon (pid $died) stopped on its own; see the logs in $D" >&2
say "stopping: agents, devices, exchange (SIGTERM, by pid) ..."
rc_daemons=0
for p in "${AGENT_PIDS[@]}" "${SIM_PIDS[@]}" "$XPID"; do
	stop_pid "$p"
	rc=$?
	# 0: a clean stop; 143 is a daemon killed by the signal without handling it
	[ "$rc" = 0 ] || { say "demo: pid $p exited with status $rc" >&2; rc_daemons=70; }
done
# the ticker reads what was settled meanwhile and prints its summary
stop_pid "$WPID"
PIDS=()

# run_bg CMD...: CMD in a process group of its own (set -m), waited for even
# when a second Ctrl-C interrupts the wait, so that it cannot kill CMD.
run_bg() {
	local p rc
	"$@" 9>&- &
	p=$!
	while :; do
		wait "$p"
		rc=$?
		kill -0 "$p" 2>/dev/null || return "$rc"
	done
}
say ""
say "audit: peerwatt-audit verify exchange.db --checkpoints (the agents' files) --agent (their"
say "       databases: the receipts, statements and checkpoints each household holds), in the state dir"
cps=()
ags=()
for h in "${HOUSES[@]}"; do
	read -r name _ <<<"$h"
	[ -s "$D/$name/checkpoints.txt" ] && cps+=(--checkpoints "$D/$name/checkpoints.txt")
	[ -s "$D/$name/agent.db" ] && ags+=(--agent "$D/$name/agent.db")
done
run_bg "$BUILD/peerwatt-audit" verify "$D/exchange.db" "${cps[@]}" "${ags[@]}" >"$D/audit.txt" 2>&1
rc_audit=$?
# Within 100 columns: 64-digit hashes and keys cut to 16 digits, longer
# lines wrapped at a space, continued under the value column of the line
# (after its label); the whole report stays in audit.txt.
say_wrapped() {
	local line=$1 ind=4 pad cut
	if [[ $line =~ ^(\ +) ]]; then
		ind=${#BASH_REMATCH[1]}
	elif [[ $line =~ ^\[..\]\  ]]; then
		ind=18 # "[ok] " and a label of 12
	elif [[ $line =~ ^-\  ]]; then
		ind=2
	elif [[ $line =~ ^([a-z]+(\ [a-z]+)?\ \ +) ]]; then
		ind=${#BASH_REMATCH[1]}
	fi
	[ "$ind" -le 40 ] || ind=4
	printf -v pad '%*s' "$ind" ''
	while [ ${#line} -gt 98 ]; do
		cut=${line:0:98}
		cut=${cut% *}
		[ ${#cut} -gt "$ind" ] && [ ${#cut} -lt 98 ] || break
		say "  $cut"
		line="$pad${line:$((${#cut} + 1))}"
	done
	say "  $line"
}
while IFS= read -r line; do
	[[ $line =~ ^(.*[^0-9a-f])?([0-9a-f]{16})[0-9a-f]{48}(.*)$ ]] &&
		line="${BASH_REMATCH[1]}${BASH_REMATCH[2]}...${BASH_REMATCH[3]}"
	say_wrapped "$line"
done <"$D/audit.txt"
if [ "$rc_audit" = 0 ]; then
	say "audit verdict: PASSED (the log, every signature, auction and statement check out)"
else
	say "audit verdict: FAILED (exit $rc_audit; report in $D/audit.txt)"
fi
say "state kept in $D (the audit's whole report: audit.txt)"
[ "$rc_audit" = 0 ] || exit 1
[ "$rc_daemons" = 0 ] && [ -z "$died" ] || exit 70
exit 0
