#!/usr/bin/env bash
# audit_exchange.sh: peerwatt-audit on the database of a real peerwatt-exchange
# run (ZeroMQ + CURVE on loopback, pw-client as households): orders (one
# cancelled, one expiring at the gate), clearing across zones at the default
# fee, meter readings (dave only reads, never trades), settlement,
# checkpoint; a copy taken with sqlite3 .backup while the exchange runs must
# verify, and a tampered copy must fail naming the entry.  Then the
# operator's attacks of issue 15, each made with the exchange's own key on a
# copy (tests/tools/pw-forge/ rebuilds the log and re-signs every
# checkpoint, so the database alone is self-consistent), each caught with the
# household and entry named; households' evidence is an agent database per
# household in the agent's schema (signed ACKs, statements, checkpoints).
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
exchange_conf "$T/x.conf" audit-e2e 7 "$P1" "$P2" "$T/households" "$T/x.db" "$T/ex.key"
# grace 5 s: under the sanitizers the three readings (one pw-client each)
# can take longer than 2 s, and a reading after the deadline is not settled
cat >>"$T/x.conf" <<CONF
[market]
interval_s = $L
gate_s = 1
grace_s = 5
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

X=$(($(date +%s) / L + 8)) # room for slow (sanitizer) clients before the gate
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
acked "d's reading (no trade)" -k "$T/d.key" meter 1 "$X" SER-D 10 10 20 120
acked "d bids for a far interval" -k "$T/d.key" order 1 "$((X + 20))" buy 100 200000 +600
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
check "statements recomputed and balanced" grep -qE '^settlement +[1-9][0-9]* intervals recomputed and balanced' "$T/report.txt"
check "no report line wider than 96 columns" awk 'length($0) > 96 && !/^failure/ { bad = 1 } END { exit bad }' "$T/report.txt"
"$B/peerwatt-audit" verify "$T/copy.db" --json >"$T/report.json"
check "JSON: 6 orders, 1 cancel, 3 readings, 4 statements, 1200 Wh" python3 -c '
import json,sys; d=json.load(open(sys.argv[1])); e=d["entries"]
assert d["ok"] and e["orders"] == 6 and e["cancels"] == 1 and e["readings"] == 3, e
assert e["statements"] >= 4 and d["traded_wh"] == 1200, d
assert d["rules"]["grace_s"] == 5 and d["rules"]["gate_s"] == 1, d["rules"]
assert d["served"]["statements"] == e["statements"] and d["served"]["results"] == e["results"]
assert "unpinned_key" in d["warnings"] and d["market"]["exchange_key_source"] == "database"' "$T/report.json"

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

# --- the operator's attacks (issue 15), each on a fresh copy -------------------------
F=$B/pw-forge
caught() { # caught NAME WHERE DB [AUDIT ARGS...]: exit 1, the failure names WHERE
	local name=$1 where=$2 db=$3
	shift 3
	"$B/peerwatt-audit" verify "$db" "$@" >"$T/$name.txt" 2>&1
	local rc=$?
	if [ $rc -eq 1 ] && grep -qF -- "failure       $where" "$T/$name.txt"; then
		ok "attack $name caught: names $where"
	else
		not_ok "attack $name: exit $rc, expected the failure to name '$where'"
		cat "$T/$name.txt"
	fi
}
fresh() { cp "$T/copy.db" "$T/$1.db"; }
caught_row() { # caught_row NAME TEXT DB: exit 1, the failure line holds TEXT (row numbers vary)
	local name=$1 text=$2 db=$3
	"$B/peerwatt-audit" verify "$db" >"$T/$name.txt" 2>&1
	local rc=$?
	if [ $rc -eq 1 ] && grep "^failure       " "$T/$name.txt" | grep -qF -- "$text"; then
		ok "attack $name caught: names $text"
	else
		not_ok "attack $name: exit $rc, expected the failure to name '$text'"
		cat "$T/$name.txt"
	fi
}
DPK=$(cat "$T/d.pk")

# never clearing an interval, settling everyone as if nothing traded
fresh noclear
where=$("$F" "$T/noclear.db" "$T/ex.key" no-clear)
caught noclear "$where (STATEMENT)" "$T/noclear.db"
check "no-clear: said in plain words" grep -q "^problem .*without having cleared it" "$T/noclear.txt"
# omitting the statement of a household that read its meter but did not trade
fresh omit
where=$("$F" "$T/omit.db" "$T/ex.key" omit-statement "$DPK")
caught omit "$where (STATEMENT)" "$T/omit.db"
check "omitted statement: dave is named" grep -q "^failure .*dave .*has no statement" "$T/omit.txt"
# settlement signed before the readings were due (end + grace)
fresh early
where=$("$F" "$T/early.db" "$T/ex.key" settle-early)
caught settle-early "$where" "$T/early.db"
# the statements table serves another statement than the log
fresh served
"$F" "$T/served.db" "$T/ex.key" served-statement >/dev/null
caught served "statements row" "$T/served.db"
# the whole history re-signed under a new key written into params
fresh rekey
"$B/peerwatt-exchange" keygen --out "$T/new.key" >/dev/null
"$F" "$T/rekey.db" "$T/ex.key" rekey "$T/new.key" >/dev/null
"$B/peerwatt-audit" verify "$T/rekey.db" >"$T/rekey-alone.txt"
check "re-keyed history alone verifies, but says the key is not pinned" \
	grep -q "taken from the database itself (not pinned)" "$T/rekey-alone.txt"
caught rekey-pinned "entry 0 (MARKET): the first MARKET entry is signed by" "$T/rekey.db" \
	--exchange-key "$(cat "$T/ex.pk")"
cp "$T/ex.pk" "$T/ex.pub"
check "--exchange-key FILE: the untouched copy verifies, key pinned" bash -c \
	"'$B/peerwatt-audit' verify '$T/copy.db' --exchange-key '$T/ex.pub' | grep -q '^              pinned'"
# the exchange's tables (caches of the log's rules and registry) changed
# behind the log: each fails naming the table and row
fresh dupparam
sqlite3 "$T/dupparam.db" "CREATE TABLE p2 AS SELECT * FROM params; DROP TABLE params;
	ALTER TABLE p2 RENAME TO params; INSERT INTO params VALUES ('gate_s', 0);"
caught dup-param "params row gate_s: params: gate_s is stored twice" "$T/dupparam.db"
fresh gate
sqlite3 "$T/gate.db" "UPDATE params SET value = $L WHERE key = 'gate_s'"
caught gate-eq-interval "params row gate_s: params: gate_s is $L, the log says 1" "$T/gate.db"
fresh fees
sqlite3 "$T/fees.db" "INSERT INTO fees VALUES ('north', 'south', 10000), ('south', 'north', 30000)"
caught_row fee-added "(north/south): fees: a zone pair the log's rules" "$T/fees.db"
fresh hh
sqlite3 "$T/hh.db" "CREATE TABLE h2 AS SELECT * FROM households; DROP TABLE households;
	ALTER TABLE h2 RENAME TO households; INSERT INTO households SELECT * FROM households WHERE id = 'b';"
caught_row dup-household "(bob (b)): households: the key of bob (b) is listed twice" "$T/hh.db"
fresh capacity
sqlite3 "$T/capacity.db" "UPDATE households SET max_export_w = 7200000 WHERE id = 'a'"
caught_row table-capacity "(alice (a)): households: max_export_w is 7200000, REGISTRY entry" \
	"$T/capacity.db"
fresh zone
sqlite3 "$T/zone.db" "UPDATE households SET zone = 'north' WHERE id = 'b'"
caught_row table-zone "(bob (b)): households: zone is 'north', REGISTRY entry" "$T/zone.db"
fresh serial
sqlite3 "$T/serial.db" "UPDATE households SET serial = 'SER-X' WHERE id = 'd'"
caught_row table-serial "(dave (d)): households: serial is 'SER-X', REGISTRY entry" \
	"$T/serial.db"
# the log's rules and registry rewritten with the exchange's key (log,
# served tables, caches and every checkpoint rebuilt and re-signed)
BPK=$(cat "$T/b.pk")
fresh regrewrite
where=$("$F" "$T/regrewrite.db" "$T/ex.key" registry-rewrite "$BPK")
caught registry-rewrite "$where (METER): meter serial SER-B of bob (b) is not FORGED-1" "$T/regrewrite.db"
fresh late
where=$("$F" "$T/late.db" "$T/ex.key" register-late "$BPK")
caught register-late "$where (ORDER): ORDER by bob (b), registered only by REGISTRY entry" "$T/late.db"
fresh revoked
where=$("$F" "$T/revoked.db" "$T/ex.key" revoke "$DPK")
caught revoked "$where (ORDER): ORDER by dave (d), revoked by REGISTRY entry" "$T/revoked.db"
fresh retro
where=$("$F" "$T/retro.db" "$T/ex.key" retro-tariff)
caught retro-tariff "$where (MARKET): MARKET entry effective from interval $X, but entry" "$T/retro.db"
# the last traded interval cleared before its gate: its RESULT moved right
# after its orders, under a checkpoint signed before the gate
fresh clearearly
where=$("$F" "$T/clearearly.db" "$T/ex.key" clear-early)
frc=$?
check "clear-early forged (exit $frc): prints '$where'" bash -c "[ $frc = 0 ] && [[ '$where' =~ ^entry\ [0-9]+$ ]]"
caught clear-early "$where (RESULT): interval $X cleared before its gate $gate" "$T/clearearly.db"
"$B/peerwatt-audit" verify "$T/clearearly.db" --json >"$T/clearearly.json"
check "clear-early: JSON failure names the RESULT at $where" python3 -c '
import json,sys; d=json.load(open(sys.argv[1])); f=d["failure"]
assert d["ok"] is False and f["type"] == "RESULT" and "entry %d" % f["index"] == sys.argv[2], f
assert "cleared before its gate" in json.dumps(d), d' "$T/clearearly.json" "$where"
# without a checkpoint signed before the gate the tool refuses and changes nothing
fresh nocp
sqlite3 "$T/nocp.db" "DELETE FROM checkpoints WHERE interval < $X - 3"
sum=$(sha256sum <"$T/nocp.db")
"$F" "$T/nocp.db" "$T/ex.key" clear-early >"$T/nocp.out" 2>"$T/nocp.err"
rc=$?
check "clear-early without a checkpoint before the gate: exit 70 (got $rc), nothing forged" \
	bash -c "[ $rc = 70 ] && [ ! -s '$T/nocp.out' ] && grep -q 'no checkpoint signed before the gate' '$T/nocp.err' && [ \"\$(sha256sum <'$T/nocp.db')\" = '$sum' ]"
check "the untouched copy still verifies, key pinned" "$B/peerwatt-audit" verify "$T/copy.db" \
	--exchange-key "$(cat "$T/ex.pk")"
check "the log starts with the genesis MARKET entry and one REGISTRY entry per household" \
	test "$(sqlite3 "$T/copy.db" "SELECT group_concat(type) FROM (SELECT type FROM log ORDER BY idx LIMIT 5)")" = "24,25,25,25,25"

# households' evidence: one agent database per household
for h in a b c d; do
	"$F" "$T/copy.db" "$T/ex.key" agentdb "$T/agent-$h.db" "$T/$h.key" || not_ok "agentdb $h"
done
AG=(--agent "$T/agent-a.db" "$T/agent-b.db" "$T/agent-c.db" "$T/agent-d.db")
"$B/peerwatt-audit" verify "$T/copy.db" --exchange-key "$(cat "$T/ex.pk")" "${AG[@]}" >"$T/ev.txt"
check "untouched copy with the households' evidence verifies" grep -q '^verdict       OK$' "$T/ev.txt" ||
	cat "$T/ev.txt"
check "evidence counted: the four households' receipts" grep -qE '^\[ok\] evidence +4 agent databases: [1-9][0-9]* signed receipts' "$T/ev.txt"
check "no warning about evidence or the key" bash -c "! grep -qE 'not pinned|--agent\)' '$T/ev.txt'"
"$B/peerwatt-audit" verify "$T/copy.db" --json "${AG[@]}" >"$T/ev.json"
check "JSON: one signed receipt checked per household entry" python3 -c '
import json,sys; d=json.load(open(sys.argv[1])); e=d["entries"]
assert d["evidence"]["acks"] == e["orders"] + e["cancels"] + e["readings"], d["evidence"]
assert d["evidence"]["statements"] == e["statements"] and d["evidence"]["agents"] == 4' "$T/ev.json"
# the household's export of its evidence (peerwatt-agent evidence) is evidence too
"$B/peerwatt-agent" evidence --db "$T/agent-a.db" --out "$T/ev-a.db" >/dev/null
check "peerwatt-agent evidence writes a 0600 file" test "$(stat -c %a "$T/ev-a.db")" = 600
"$B/peerwatt-agent" evidence --db "$T/agent-a.db" --out "$T/ev-a.db" 2>/dev/null
check "peerwatt-agent evidence never overwrites (exit $?)" test $? -eq 73
"$B/peerwatt-audit" verify "$T/copy.db" --json --agent "$T/ev-a.db" >"$T/ev-a.json"
"$B/peerwatt-audit" verify "$T/copy.db" --json --agent "$T/agent-a.db" >"$T/agent-a.json"
check "the exported evidence verifies and counts as the whole database does" python3 -c '
import json,sys; a=json.load(open(sys.argv[1])); b=json.load(open(sys.argv[2]))
assert a["ok"] and b["ok"] and a["evidence"] == b["evidence"] and a["evidence"]["acks"] > 0, (a["evidence"], b["evidence"])' \
	"$T/ev-a.json" "$T/agent-a.json"
# a rollback of dave's ACKed bid, every checkpoint re-signed over the shorter log
fresh rollback
where=$("$F" "$T/rollback.db" "$T/ex.key" rollback "$T/d.key")
"$B/peerwatt-audit" verify "$T/rollback.db" >"$T/rollback-alone.txt"
check "rolled-back copy alone verifies (the attack is unseen without evidence)" \
	grep -q '^verdict       OK$' "$T/rollback-alone.txt"
# dave's database: a checkpoint it holds, or its receipt, names dave (which
# comes first depends on whether a checkpoint covered the bid before the copy)
"$B/peerwatt-audit" verify "$T/rollback.db" --agent "$T/agent-d.db" >"$T/rollback-d.txt"
check "rollback caught by dave's database, dave named (exit $?)" \
	grep -qE "^failure .*agent-d.db: dave \(d\), (checkpoint|ORDER)" "$T/rollback-d.txt"
# the same household's receipts alone (its checkpoints not kept) name the entry
cp "$T/agent-d.db" "$T/agent-d-nocp.db"
sqlite3 "$T/agent-d-nocp.db" "DELETE FROM checkpoints"
caught rollback "$where (ORDER)" "$T/rollback.db" --agent "$T/agent-d-nocp.db"
check "rollback: the household is named" grep -q "^failure .*dave" "$T/rollback.txt"
# the exchange told a household another statement than it logged
cp "$T/agent-a.db" "$T/agent-stmt.db"
where=$("$F" "$T/copy.db" "$T/ex.key" statement-differs "$T/agent-stmt.db")
caught statement-differs "$where (STATEMENT)" "$T/copy.db" --agent "$T/agent-stmt.db"
# a RESULT the agent refused and kept (table disputes) that the log lacks:
# the exchange showed it another clearing than it logged
cp "$T/agent-a.db" "$T/agent-res.db"
riv=$("$F" "$T/copy.db" "$T/ex.key" result-differs "$T/agent-res.db")
"$B/peerwatt-audit" verify "$T/copy.db" --agent "$T/agent-res.db" >"$T/result-differs.txt" 2>&1
rrc=$?
check "attack result-differs caught (exit $rrc): names the refused RESULT of interval $riv" \
	sh -c "[ $rrc = 1 ] && grep -q '^failure .*agent-res.db: .*refused RESULT of interval $riv part 0' '$T/result-differs.txt'"
# an order ACKed at its gate (accepted late)
cp "$T/agent-b.db" "$T/agent-late.db"
where=$("$F" "$T/copy.db" "$T/ex.key" late-ack "$T/agent-late.db")
caught late-ack "$where (ORDER)" "$T/copy.db" --agent "$T/agent-late.db"
# a REJECT gate_closed signed before the gate
cp "$T/agent-c.db" "$T/agent-rej.db"
"$F" "$T/copy.db" "$T/ex.key" reject-early "$T/agent-rej.db" "$T/c.key" >/dev/null
caught reject-early "$T/agent-rej.db: carol (c), ORDER 999999999" "$T/copy.db" --agent "$T/agent-rej.db"
# an old-format database (tests/fixtures/exchange-v1, written by an exchange
# before issue 15) is migrated by one start of this exchange and verifies
FX=$(dirname "$0")/../fixtures/exchange-v1
mkdir -p "$T/v1"
cp "$FX/x.db" "$FX/households" "$FX/ex.key" "$FX/ex.pk" "$T/v1/"
chmod 600 "$T/v1/ex.key"
P3=$(free_port)
P4=$(free_port)
sed -e "s|@DIR@|$T/v1|g" -e "s|@P1@|$P3|" -e "s|@P2@|$P4|" "$FX/x.conf.in" >"$T/v1/x.conf"
"$B/peerwatt-audit" verify "$T/v1/x.db" >"$T/v1-old.txt"
check "the old-format database fails before its migration (exit $?)" \
	grep -q "^failure       database: the log holds no MARKET entry (old format)" "$T/v1-old.txt"
"$B/peerwatt-exchange" -c "$T/v1/x.conf" 2>"$T/v1-exchange.log" &
V1PID=$!
PW_PIDS+=("$V1PID")
wait_port "$P3" 30 || not_ok "the exchange opens the old database"
stop_pid "$V1PID"
"$B/peerwatt-audit" verify "$T/v1/x.db" --exchange-key "$(cat "$T/v1/ex.pk")" >"$T/v1.txt"
check "the migrated database verifies (exit $?)" grep -q '^verdict       OK$' "$T/v1.txt" ||
	cat "$T/v1.txt" "$T/v1-exchange.log"
check "migrated: the report says the rules of the first entries were written at migration" \
	grep -qE "^- the rules and registry of the first [1-9][0-9]* entries were written into" "$T/v1.txt"
check "migrated: the fixture's trade was replayed" grep -qE '^\[ok\] auctions +[1-9][0-9]* replayed .* same [1-9]' "$T/v1.txt"

# an agent's database given as the exchange's
"$B/peerwatt-audit" verify "$T/agent-a.db" >"$T/notex.txt"
check "an agent database given as DB: not an exchange database (exit 1)" \
	grep -q "^problem       This is not an exchange database: it is a household agent's" "$T/notex.txt"
finish
