#!/usr/bin/env bash
# agent_bsell.sh: a battery household sells stored energy at night to a
# neighbour's standing bid (issue 20 points 3-4; docs/agent.md "Selling
# policy", docs/agent-energy.md "Offers of stored energy").  A real exchange
# with a tariff file whose evening retail is high, intervals of 5 s, the
# simulators' clock 180 x faster ([sim]: an interval is 15 simulated
# minutes), from 18:00, after sunset (the day ends after 24 intervals).
#   "a": no PV, a small load, a battery of 13.5 kWh at 90 %, [battery]
#   control = on, strategy = plan, reserve_pct 30, horizon_h 6;
#   "off": the same simulator and agent with [battery] control = off;
#   "b": a neighbour without a battery whose standing bid (600 Wh at the
#   retail tariff less 0.02) stands every night interval.
# Checks:
#   a's offers of stored energy (logged "(battery)", no PV at night) are
#   placed at night, accepted, priced at least at the plan's keep value and
#   within the interval's tariffs, and trade with b's bid;
#   a's statements of the intervals it sold from the battery show the
#   energy delivered (export - import) at least the energy sold: no
#   shortfall;
#   /api/today (per interval, the day, all time) and /api/statements say
#   battery_sold_wh > 0, never above what was sold; /api/state's
#   battery.today says what the battery discharged and sold today;
#   a's state of charge, sampled all along, never below its reserve;
#   no order of a refused by the exchange (capacity or any other reason);
#   "off" offers nothing at night;
#   the exchange sums a household's sells of one interval against its
#   registered export capacity: a PV offer and a battery offer above it
#   together are refused, up to it accepted (pw-client as household "cap").
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/integration/lib.sh

AGENT=$BUILD/peerwatt-agent
EXCH=$BUILD/peerwatt-exchange
L=5
SPEED=180
START=18:00
RESERVE=30
T=$PW_TMP
EPOCH=$(($(date +%s) / L * L))

XPK=$("$AGENT" keygen --out "$T/exchange.key" | sed -n 's/^public key: //p')
declare -A SIMPORT APID PK DASH
: >"$T/households"
k=0
for n in a off b; do
	k=$((k + 1))
	case $n in
	a | off)
		extra=(--pv-peak 0 --load 100 --battery-wh 13500 --battery-charge-w 4000
			--battery-discharge-w 4600 --battery-reserve 15 --battery-soc 90)
		;;
	b) extra=(--pv-peak 0 --load 1200) ;;
	esac
	start_sim --start-time $START --epoch "$EPOCH" --speed $SPEED --seed $k "${extra[@]}" ||
		not_ok "simulator $n starts"
	SIMPORT[$n]=$SIM_PORT
	PK[$n]=$("$AGENT" keygen --out "$T/$n.key" | sed -n 's/^public key: //p')
	echo "$n $n ${PK[$n]} PWSIM-$k-1 z1 1200000 1200000" >>"$T/households"
done
# "cap": no agent, pw-client's orders; 720000 W x 5 s = 1000 Wh per interval
"$BUILD/pw-client" keygen "$T/cap.key" >"$T/cap.pk" || not_ok "pw-client keygen"
echo "cap cap $(cat "$T/cap.pk") SER-CAP z1 720000 720000" >>"$T/households"

# The tariffs by the devices' hour (ct/kWh, retail then feed-in): a high
# evening retail, a cheaper night, from the interval after next for a
# simulated day and a half (docs/market.md "Tariff schedule").
tariff_of_hour() {
	case $1 in
	1[7-9] | 2[0-2]) TARIFF=42.0,10.0 ;;
	23 | [0-5]) TARIFF=30.0,8.0 ;;
	*) TARIFF=28.0,7.0 ;;
	esac
}
{
	echo "from,retail_ct_kwh,feedin_ct_kwh"
	first=$(($(date +%s) / L + 2)) prev=""
	start_s=$((10#${START%%:*} * 3600 + 10#${START##*:} * 60))
	for ((i = 0; i < 36 * 3600 / (L * SPEED); i++)); do
		t=$(((first + i) * L))
		sod=$(((start_s + (t - EPOCH) * SPEED) % 86400))
		tariff_of_hour $((sod / 3600))
		[ "$TARIFF" = "$prev" ] && continue
		prev=$TARIFF
		TZ=UTC printf '%(%Y-%m-%dT%H:%M:%SZ)T,%s\n' "$t" "$TARIFF"
	done
} >"$T/tariffs.csv"

REQ=$(free_port)
PUB=$(free_port)
exchange_conf "$T/exchange.conf" bsell 49 "$REQ" "$PUB" "$T/households" "$T/exchange.db" \
	"$T/exchange.key"
printf '[market]\ninterval_s = %s\ngate_s = 1\ngrace_s = 2\ntariff_file = %s\n' $L \
	"$T/tariffs.csv" >>"$T/exchange.conf"
"$EXCH" -c "$T/exchange.conf" >>"$T/exchange.log" 2>&1 &
PW_PIDS+=($!)
wait_port "$REQ" 60 || not_ok "exchange starts"

for n in a off b; do
	DASH[$n]=$(free_port)
	agent_conf "$T/$n.conf" "$T/$n.key" "$T/$n.db" "${SIMPORT[$n]}" "$REQ" "$PUB" "$XPK" 49 $L
	# the tariffs follow the exchange's schedule, interval by interval
	sed -i -e 's/^rated_power_w = .*/rated_power_w = 100000000/' \
		-e 's/^feedin_price = .*/feedin_price = 0/' -e 's/^retail_price = .*/retail_price = 0/' \
		"$T/$n.conf"
	printf '[sim]\nepoch = %s\nstart = %s\nspeed = %s\n' "$EPOCH" $START $SPEED >>"$T/$n.conf"
	case $n in
	a)
		# a plan over the night only (6 h): tomorrow evening's load does not
		# hold the stored energy back
		printf '[battery]\ncontrol = on\nstrategy = plan\nreserve_pct = %s\nhorizon_h = 6\n' \
			$RESERVE >>"$T/$n.conf"
		;;
	off) printf '[battery]\ncontrol = off\n' >>"$T/$n.conf" ;;
	b)
		printf '[policy]\nauto_sell = no\n[bid.night]\nqty_wh = 600\nmax_price = retail-0.02\n' \
			>>"$T/$n.conf"
		printf 'from = 17:00\nto = 07:00\n' >>"$T/$n.conf"
		;;
	esac
	printf '[dashboard]\nlisten = 127.0.0.1:%s\n[log]\nlevel = info\n' "${DASH[$n]}" \
		>>"$T/$n.conf"
	"$AGENT" -c "$T/$n.conf" >>"$T/$n.log" 2>&1 &
	APID[$n]=$!
	PW_PIDS+=($!)
done

api() { curl -s -m 5 "http://127.0.0.1:${DASH[${2:-a}]}/api/$1"; }
# every look at the dashboard samples a's state of charge
soc_sample() {
	api state | python3 -c '
import json, sys
b = json.load(sys.stdin).get("battery") or {}
if b.get("soc_pct") is not None:
    print(b["soc_pct"])' >>"$T/soc" 2>/dev/null
}

# --- the exchange's capacity: PV + battery offers of one household ------------------
C=("$BUILD/pw-client" -e "tcp://127.0.0.1:$REQ" -s "$XPK" -m 49 -L $L -t 20000 -k "$T/cap.key")
Y=$(($(date +%s) / L + 6))
got=$("${C[@]}" order 1 "$Y" sell 600 100000 +600 2>&1)
check "capacity: a PV offer of 600 of the 1000 Wh is accepted" test "${got%% *}" = ACK
got=$("${C[@]}" order 2 "$Y" sell 500 150000 +600 2>&1)
check "... a battery offer of 500 more (1100 in all) is refused: $got" \
	test "$got" = "REJECT capacity"
got=$("${C[@]}" order 3 "$Y" sell 400 150000 +600 2>&1)
check "... one of 400 (1000 in all, the capacity) is accepted" test "${got%% *}" = ACK

# --- a's offers of stored energy at night ---------------------------------------------
# "order N: sell Q Wh at P for interval I (battery)" lines of a's log
bat_orders() { grep -E "order [0-9]+: sell [0-9]+ Wh at .* \(battery\)$" "$T/a.log"; }
placed() { soc_sample; bat_orders >/dev/null; }
WAIT_SECONDS=60 wait_for placed
check "a places offers of stored energy at night (no PV)" placed

# a's open sell orders (no PV: all of them stored energy) against the plan's
# steps of their intervals: at least the keep value, within the tariffs, the
# quantity the step sells (within the hysteresis of docs/agent.md "Selling
# policy": 10 %); both read at once, polled: the agent follows a changed
# plan within a second
price_vs_keep() {
	soc_sample
	local o p
	o=$(api orders)
	p=$(api plan)
	python3 -c '
import json, sys
o, p = json.loads(sys.argv[1]), json.loads(sys.argv[2])
steps = {x["interval"]: x for x in p["steps"]}
sells = [x for x in o["orders"] if x["side"] == "sell" and x["status"] in ("pending", "acked")
         and x["interval"] in steps]
def fits(x, s):
    return (s["action"] == "sell" and abs(x["qty_wh"] - s["sell_wh"]) <= max(x["qty_wh"] // 10, 1)
            and x["price_uper_kwh"] >= s["keep_uper_kwh"]
            and s["feedin_uper_kwh"] <= x["price_uper_kwh"] <= s["retail_uper_kwh"])
for x in sells:
    if not fits(x, steps[x["interval"]]):
        print("order", x, "step", steps[x["interval"]], file=sys.stderr)
sys.exit(0 if p["state"] == "planned" and sells
         and all(fits(x, steps[x["interval"]]) for x in sells) else 1)' "$o" "$p"
}
# (a snapshot that holds is what counts: a second look could fall in the
# second the agent takes to follow a changed plan; on failure the last
# look says what differed)
WAIT_SECONDS=30 wait_for price_vs_keep
rc=$?
check "a's open offers: the step's sell_wh, at least its keep value, within its tariffs" test $rc -eq 0
[ $rc -eq 0 ] || price_vs_keep 2>&1

# every statement of a (all pages, newest first)
statements() {
	python3 - "http://127.0.0.1:${DASH[a]}/api/statements" <<'PY'
import json, sys, urllib.request
url, rows, before = sys.argv[1], [], None
while True:
    d = json.load(urllib.request.urlopen(url + ("?before=%d" % before if before else ""), timeout=5))
    rows += d["statements"]
    if not d["more"]:
        break
    before = d["before"]
print(json.dumps(rows))
PY
}
# a sale from the battery, settled: /api/statements names it
settled_sale() {
	soc_sample
	statements | python3 -c '
import json, sys
sys.exit(0 if any(x["battery_sold_wh"] > 0 for x in json.load(sys.stdin)) else 1)'
}
WAIT_SECONDS=60 wait_for settled_sale
check "a's stored energy traded with b's bid, and its statement came" settled_sale

# the house while the battery discharges past its load into the grid: what
# it uses is PV + import + the battery's discharge, never below zero (the
# export alone would make it negative)
house_ok() {
	api state | python3 -c '
import json, sys
s = json.load(sys.stdin)
b, h, pv, g = s["battery"], s["house_w"], s["pv_w"], s["grid_w"]
ok = (b is not None and b["power_w"] is not None and b["power_w"] > 0 and g is not None and g < 0
      and h is not None and h >= 0 and abs(h - (pv + g + b["power_w"])) <= 2)
sys.exit(0 if ok else 1)'
}
WAIT_SECONDS=60 wait_for house_ok
check "/api/state while a exports from its battery: house_w = PV + grid + battery, not negative" \
	test $? -eq 0

# /api/today while it is still the day of the sales (the day ends at the
# devices' midnight, 24 intervals after the start)
today_ok() {
	soc_sample
	api today | python3 -c '
import json, sys
d = json.load(sys.stdin)
iv = [x for x in d["intervals"] if x["battery_sold_wh"] > 0]
ok = (iv and all(x["battery_sold_wh"] <= x["sold_wh"] for x in iv)
      and 0 < d["battery_sold_wh"] <= d["sold_wh"]
      and d["battery_sold_wh"] <= d["all_time"]["battery_sold_wh"] <= d["all_time"]["sold_wh"])
sys.exit(0 if ok else 1)'
}
WAIT_SECONDS=20 wait_for today_ok
check "/api/today: battery_sold_wh > 0 per interval, the day and all time, never above sold" \
	today_ok
state_today() {
	local t s
	t=$(api today)
	s=$(api state)
	python3 -c '
import json, sys
d, b = json.loads(sys.argv[1]), json.loads(sys.argv[2])["battery"]["today"]
sys.exit(0 if b["sold_wh"] >= d["battery_sold_wh"] > 0 and b["discharged_wh"] > 0
         and b["charged_wh"] >= 0 else 1)' "$t" "$s"
}
WAIT_SECONDS=20 wait_for state_today
check "/api/state battery.today: sold_wh (at least the settled), discharged_wh > 0" state_today
check "... b bought it: b's trades hold purchases" \
	test "$(api trades b | python3 -c 'import json,sys; print(sum(1 for t in json.load(sys.stdin)["trades"] if t["side"] == "buy"))')" -gt 0

# every battery offer of the log: within the tariffs (7..42 ct/kWh)
python3 - "$T/a.log" <<'PY' >"$T/prices.out" 2>&1
import re, sys
n = 0
for m in re.finditer(r"order (\d+): sell (\d+) Wh at ([-0-9.]+) ct/kWh for interval .* \(battery\)",
                     open(sys.argv[1]).read()):
    n += 1
    price = float(m.group(3))
    if not (7.0 <= price <= 42.0):
        print("order", m.group(1), "priced", price, "outside every tariff"); sys.exit(1)
if n == 0:
    print("no battery offer in the log"); sys.exit(1)
print(n, "battery offers within the tariffs")
PY
check "every battery offer lies within the tariffs ($(tail -1 "$T/prices.out"))" \
	grep -q "battery offers within the tariffs" "$T/prices.out"
check "no PV offer of a at night (no auto-sell order: its export is the battery's)" \
	test -z "$(grep -E 'order [0-9]+: sell .* \(auto\)$' "$T/a.log")"
check "no order of a refused by the exchange (capacity or any reason)" \
	test -z "$(grep -E 'ORDER [0-9]+ for interval .* rejected' "$T/a.log")"

# --- statements: delivered >= sold --------------------------------------------------------
no_shortfall() {
	statements | python3 -c '
import json, sys
s = [x for x in json.load(sys.stdin) if x["battery_sold_wh"] > 0]
# traded_wh < 0 is sold; delivered = export - import
bad = [x for x in s if x["delivered_wh"] < -x["traded_wh"] or x["battery_sold_wh"] > -x["traded_wh"]]
for x in s:
    print("interval", x["interval"], "sold", -x["traded_wh"], "battery", x["battery_sold_wh"],
          "delivered", x["delivered_wh"], "bad" if x in bad else "")
sys.exit(0 if s and not bad else 1)'
}
no_shortfall >"$T/shortfall.out" 2>&1
check "a's statements of battery sales: delivered >= sold, no shortfall ($(grep -c interval "$T/shortfall.out") intervals)" \
	no_shortfall

# --- the reserve, and control off ------------------------------------------------------
soc_sample
check "a's state of charge never below its reserve of $RESERVE % ($(wc -l <"$T/soc") samples, \
lowest $(sort -n "$T/soc" | head -1))" \
	awk -v r=$RESERVE 'NR > 0 { if ($1 < r - 0.5) bad = 1 } END { exit bad || NR == 0 }' "$T/soc"
check "control off: no offer at night (no sell order in its log)" \
	test -z "$(grep -E 'order [0-9]+: sell' "$T/off.log")"
check "... nor a plan (/api/plan state off)" \
	test "$(api plan off | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])')" = off
for n in a off b; do stop_pid "${APID[$n]}"; done
finish
