#!/usr/bin/env bash
# audit_exchange.sh: peerwatt-audit on the database of a real peerwatt-exchange
# run (ZeroMQ + CURVE on loopback, pw-client as households): orders (one
# cancelled, one expiring at the gate), clearing across zones at the default
# fee, meter readings, settlement,
# checkpoint; a copy taken with sqlite3 .backup while the exchange runs must
# verify, and a tampered copy must fail naming the entry.
set -u
. "$(dirname "$0")/lib.sh"
B=$BUILD
L=3
T=$PW_TMP

"$B/peerwatt-exchange" keygen --out "$T/ex.key" >"$T/ex.pk" || exit 1
for h in a b c; do "$B/pw-client" keygen "$T/$h.key" >"$T/$h.pk" || exit 1; done
{
	echo "a alice $(cat "$T/a.pk") SER-A north 3600000 3600000"
	echo "b bob $(cat "$T/b.pk") SER-B south 3600000 3600000"
	echo "c carol $(cat "$T/c.pk") SER-C north 3600000 3600000"
} >"$T/households"
P1=$(free_port)
P2=$(free_port)
exchange_conf "$T/x.conf" audit-e2e 7 "$P1" "$P2" "$T/households" "$T/x.db" "$T/ex.key"
cat >>"$T/x.conf" <<CONF
[market]
interval_s = $L
gate_s = 1
grace_s = 2
[fees]
same_zone = 0.01
default = 0.02
CONF
"$B/peerwatt-exchange" -c "$T/x.conf" 2>"$T/exchange.log" &
XPID=$!
PW_PIDS+=("$XPID")
wait_port "$P1" 30 || { not_ok "exchange listens"; exit 1; }

C=("$B/pw-client" -e "tcp://127.0.0.1:$P1" -s "$(cat "$T/ex.pk")" -m 7 -L $L -t 20000)
acked() { # acked NAME ARGS...
	local name=$1 got
	shift
	got=$("${C[@]}" "$@" 2>&1)
	case $got in "ACK "*) ok "$name" ;; *) not_ok "$name (got '$got')" ;; esac
}
wait_until() { WAIT_SECONDS=60 wait_for bash -c "[ \$(date +%s) -ge $1 ]"; }

X=$(($(date +%s) / L + 4))
gate=$((X * L - 1))
acked "a sells 1000" -k "$T/a.key" order 1 "$X" sell 1000 150000 +600
acked "a sells 200 expiring at the gate" -k "$T/a.key" order 2 "$X" sell 200 90000 "$gate"
acked "c sells 500" -k "$T/c.key" order 1 "$X" sell 500 120000 +600
acked "c sells 100 more" -k "$T/c.key" order 2 "$X" sell 100 250000 +600
acked "c cancels it" -k "$T/c.key" cancel 3 "$X" 2
acked "b buys 1200" -k "$T/b.key" order 1 "$X" buy 1200 200000 +600

wait_until $(((X + 1) * L))
acked "a's reading" -k "$T/a.key" meter 1 "$X" SER-A 5000 5800 100 100
acked "b's reading" -k "$T/b.key" meter 1 "$X" SER-B 0 0 700 1900
# c sends none: settled conservatively
WAIT_SECONDS=60 wait_for bash -c \
	"[ \"\$(sqlite3 '$T/x.db' 'SELECT count(*) FROM checkpoints WHERE interval >= $X')\" -ge 1 ]"
check "interval settled and checkpointed" test \
	"$(sqlite3 "$T/x.db" "SELECT count(*) FROM checkpoints WHERE interval >= $X")" -ge 1

sqlite3 "$T/x.db" ".backup '$T/copy.db'"
"$B/peerwatt-audit" verify "$T/copy.db" >"$T/report.txt" 2>&1
rc=$?
check "peerwatt-audit verifies the live exchange's database (exit $rc)" test $rc -eq 0
cat "$T/report.txt"
check "the auction was replayed" grep -qE '^\[ok\] auctions +[1-9][0-9]* replayed .* same [1-9][0-9]* trades' "$T/report.txt"
check "statements recomputed and balanced" grep -qE '^\[ok\] settlement +[1-9][0-9]* statements recomputed .*; [1-9][0-9]* intervals balance' "$T/report.txt"
"$B/peerwatt-audit" verify "$T/copy.db" --json >"$T/report.json"
check "JSON: 5 orders, 1 cancel, 2 readings, 3 statements, 1200 Wh" python3 -c '
import json,sys; d=json.load(open(sys.argv[1])); e=d["entries"]
assert d["ok"] and e["orders"] == 5 and e["cancels"] == 1 and e["readings"] == 2, e
assert e["statements"] >= 3 and d["traded_wh"] == 1200, d' "$T/report.json"

cp "$T/copy.db" "$T/tampered.db"
where=$("$B/pw-mkdb" tamper "$T/tampered.db" delete)
"$B/peerwatt-audit" verify "$T/tampered.db" >"$T/tampered.txt"
rc=$?
check "a deleted entry in the exchange's database is named ($where, exit $rc)" \
	grep -q "^failure       $where: " "$T/tampered.txt"
"$B/peerwatt-audit" export "$T/copy.db" --csv "$T/csv"
check "export of the real run: one trade line per trade" test \
	"$(($(wc -l <"$T/csv/trades.csv") - 1))" -eq "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["trades"])' "$T/report.json")"
stop_pid "$XPID"
finish
