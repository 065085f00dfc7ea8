#!/usr/bin/env bash
# audit_negative.sh: a market below zero on a real peerwatt-exchange (ZeroMQ
# + CURVE on loopback, pw-client as households).  The feed-in tariff is
# -0.05 per kWh; two sellers offer at negative limits and a buyer bids -1
# u/kWh, so the interval clears at floor((-1 + -20000) / 2) = -10001 (C's
# truncating division would say -10000): the sellers pay the buyer.  An ask
# below the negative feed-in is refused as price_bounds.  The interval is
# settled (excess export charged at the negative feed-in, a missing reading
# settled conservatively), and peerwatt-audit replays the auction and every
# statement exactly; the CSV export carries the signed figures.  Then a
# RESULT re-signed by the exchange's own key at another negative price
# (pw-forge result-price) is caught, naming the entry and both prices.
set -u
. "$(dirname "$0")/lib.sh"
B=$BUILD
L=3
T=$PW_TMP

"$B/peerwatt-exchange" keygen --out "$T/ex.key" >"$T/ex.pk" || exit 1
for h in a b c d; do "$B/pw-client" keygen "$T/$h.key" >"$T/$h.pk" || exit 1; done
{
	echo "a alice $(cat "$T/a.pk") SER-A north 3600000 3600000"
	echo "b bob $(cat "$T/b.pk") SER-B south 3600000 3600000"
	echo "c carol $(cat "$T/c.pk") SER-C north 3600000 3600000"
	echo "d dave $(cat "$T/d.pk") SER-D south 3600000 3600000"
} >"$T/households"
P1=$(free_port)
P2=$(free_port)
exchange_conf "$T/x.conf" audit-negative 9 "$P1" "$P2" "$T/households" "$T/x.db" "$T/ex.key"
# a key may not appear twice: the tariff of exchange_conf is replaced
sed -i 's/^feedin = 0.08$/feedin = -0.05/' "$T/x.conf"
cat >>"$T/x.conf" <<CONF
[market]
interval_s = $L
gate_s = 1
grace_s = 5
[fees]
same_zone = 0.01
default = 0.02
CONF
"$B/peerwatt-exchange" -c "$T/x.conf" --check-config >"$T/check.txt" 2>&1
check "a negative feed-in tariff is a valid configuration" test $? -eq 0 || cat "$T/check.txt"
"$B/peerwatt-exchange" -c "$T/x.conf" 2>"$T/exchange.log" &
XPID=$!
PW_PIDS+=("$XPID")
wait_port "$P1" 30 || { not_ok "exchange listens"; exit 1; }

C=("$B/pw-client" -e "tcp://127.0.0.1:$P1" -s "$(cat "$T/ex.pk")" -m 9 -L $L -t 20000)
answer() { # answer NAME WANT ARGS...: the reply starts with WANT
	local name=$1 want=$2 got
	shift 2
	got=$("${C[@]}" "$@" 2>&1)
	case $got in "$want"*) ok "$name" ;; *) not_ok "$name (got '$got')" ;; esac
}
wait_until() { WAIT_SECONDS=60 wait_for bash -c "[ \$(date +%s) -ge $1 ]"; }

X=$(($(date +%s) / L + 8)) # room for slow (sanitizer) clients before the gate
answer "a sells 1000 Wh at -30001 u/kWh" ACK -k "$T/a.key" order 1 "$X" sell 1000 -30001 +600
answer "c sells 500 Wh at -20000 u/kWh" ACK -k "$T/c.key" order 1 "$X" sell 500 -20000 +600
answer "b bids 1200 Wh at -1 u/kWh" ACK -k "$T/b.key" order 1 "$X" buy 1200 -1 +600
answer "an ask at the feed-in tariff -50000 is accepted" ACK \
	-k "$T/d.key" order 1 "$((X + 20))" sell 10 -50000 +600
answer "an ask below the negative feed-in is refused" "REJECT price_bounds" \
	-k "$T/d.key" order 2 "$((X + 20))" sell 10 -50001 +600
answer "a bid above retail is refused" "REJECT price_bounds" \
	-k "$T/d.key" order 3 "$((X + 21))" buy 10 300001 +600

wait_until $(((X + 1) * L))
answer "a's reading: exported 1200 Wh" ACK -k "$T/a.key" meter 1 "$X" SER-A 5000 6200 100 100
answer "b's reading: imported 1300 Wh" ACK -k "$T/b.key" meter 1 "$X" SER-B 0 0 700 2000
# c sends none: settled conservatively
WAIT_SECONDS=60 wait_for bash -c \
	"[ \"\$(sqlite3 '$T/x.db' 'SELECT count(*) FROM checkpoints WHERE interval >= $X')\" -ge 1 ]"
check "interval settled and checkpointed" test \
	"$(sqlite3 "$T/x.db" "SELECT count(*) FROM checkpoints WHERE interval >= $X")" -ge 1
check "cleared at floor((-1 + -20000) / 2) = -10001 with 1200 Wh" test \
	"$(sqlite3 "$T/x.db" "SELECT price_uper_kwh || ' ' || volume_wh FROM intervals WHERE interval = $X")" = "-10001 1200"
check "the exchange's log line shows the negative price" \
	grep -q "interval $X .*cleared: .* 1200 Wh at -1.0001 ct/kWh" "$T/exchange.log"

sqlite3 "$T/x.db" ".backup '$T/copy.db'"
stop_pid "$XPID"
"$B/peerwatt-audit" verify "$T/copy.db" >"$T/report.txt" 2>&1
rc=$?
check "peerwatt-audit verifies the negative-price market (exit $rc)" test $rc -eq 0
cat "$T/report.txt"
check "the auction was replayed" grep -qE '^\[ok\] auctions +[1-9][0-9]* replayed .* same [1-9][0-9]* trades' "$T/report.txt"
check "statements recomputed and balanced" grep -qE '^settlement +[1-9][0-9]* intervals recomputed and balanced' "$T/report.txt"
check "the report states the negative feed-in tariff" grep -q 'feed-in -0.050000 EUR/kWh' "$T/report.txt"
"$B/peerwatt-audit" verify "$T/copy.db" --json >"$T/report.json"
check "JSON: 1200 Wh traded, peer payments equal receipts, feed-in -50000" python3 -c '
import json,sys; d=json.load(open(sys.argv[1]))
assert d["ok"] and d["traded_wh"] == 1200, d
assert d["money_u"]["peer_paid"] == d["money_u"]["peer_received"] == 12001, d["money_u"]
assert d["rules"]["feedin_uper_kwh"] == -50000, d["rules"]' "$T/report.json"

# the figures, exactly (docs/market.md "The one rounding rule", true floor)
"$B/peerwatt-audit" export "$T/copy.db" --csv "$T/csv"
check "export: both trades at -10001 u/kWh" python3 -c '
import csv,sys
rows=list(csv.DictReader(open(sys.argv[1])))
assert len(rows) == 2 and all(r["price_uper_kwh"] == "-10001" for r in rows), rows
# amount(1000, -10001) = floor(-10000.5) = -10001; amount(200, -10001) = floor(-1999.7) = -2000
assert sorted(r["amount"] for r in rows) == ["-0.002000", "-0.010001"], rows' "$T/csv/trades.csv"
check "export: each statement as the rules give it" python3 -c '
import csv,sys
rows={r["household_name"]: r for r in csv.DictReader(open(sys.argv[1]))}
a, b, c = rows["alice"], rows["bob"], rows["carol"]
# alice sold 1000, exported 1200: pays 10001 u, her 200 Wh excess costs amount(200, -50000)
assert (a["peer"], a["grid"], a["net"]) == ("-0.010001", "-0.010000", "-0.020001"), a
assert a["baseline"] == "-0.060000" and a["saving"] == "0.039999", a
# bob bought 1200 and is paid 12001 u; fees 1000 Wh north/south 0.02 + 200 Wh 0.02
assert (b["peer"], b["fee"]) == ("0.012001", "0.024000"), b
# carol sent no reading: the 200 Wh she sold count as shortfall at retail
assert c["peer"] == "-0.002000" and c["shortfall_wh"] == "200" and c["flags_text"] == "reading missing", c
assert c["grid"] == "-0.060000", c
assert all(r["price_uper_kwh"] == "-10001" for r in (a, b, c))' "$T/csv/statements.csv"

# the exchange re-signs the RESULT at a lower (more negative) price: caught
cp "$T/copy.db" "$T/forged.db"
where=$("$B/pw-forge" "$T/forged.db" "$T/ex.key" result-price -2000)
"$B/peerwatt-audit" verify "$T/forged.db" >"$T/forged.txt" 2>&1
rc=$?
if [ $rc -eq 1 ] && grep -q "^failure       $where[ :(]" "$T/forged.txt"; then
	ok "a forged negative-price RESULT is caught: exit 1, names $where"
else
	not_ok "a forged negative-price RESULT: exit $rc, expected the failure to name $where"
	cat "$T/forged.txt"
fi
check "the failure states both prices" grep -q "price -12001 and volume 1200 Wh, the replay gives -10001" "$T/forged.txt"
finish
