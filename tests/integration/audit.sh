#!/usr/bin/env bash
# audit.sh: peerwatt-audit end to end on databases written by pw-mkdb (a fake
# exchange run through the real store, log, auction and settlement modules):
# an honest run verifies (text and JSON reports equal the golden files), every
# way of cheating fails naming the entry, a forked history is caught by an
# agent's checkpoint file, CSV export balances, exit codes follow sysexits.
# UPDATE_GOLDEN=1 rewrites the golden files.
set -u
. "$(dirname "$0")/lib.sh"
AUDIT=$BUILD/peerwatt-audit
MKDB=$BUILD/pw-mkdb
GOLDEN=tests/golden/audit
T=$PW_TMP

golden() { # golden NAME FILE
	if [ "${UPDATE_GOLDEN:-0}" = 1 ]; then cp "$2" "$GOLDEN/$1"; fi
	if diff -u "$GOLDEN/$1" "$2"; then ok "report equals golden $1"; else not_ok "report equals golden $1"; fi
}

"$MKDB" gen --out "$T/honest.db" --checkpoints "$T/agent.cp" >/dev/null
check "pw-mkdb wrote a database" test -s "$T/honest.db"

"$AUDIT" verify "$T/honest.db" --checkpoints "$T/agent.cp" >"$T/ok.txt"
check "honest run verifies (exit 0)" test $? -eq 0
check "honest report says OK" grep -q '^verdict       OK$' "$T/ok.txt"
golden ok.txt "$T/ok.txt"
"$AUDIT" verify "$T/honest.db" --json --checkpoints "$T/agent.cp" >"$T/ok.json"
check "JSON report exit 0" test $? -eq 0
golden ok.json "$T/ok.json"
check "JSON report parses and says ok" python3 -c '
import json,sys; d=json.load(open(sys.argv[1])); assert d["ok"] is True and d["failure"] is None
assert d["entries"]["total"] == d["signatures"] > 0
assert d["money_u"]["peer_paid"] == d["money_u"]["peer_received"]' "$T/ok.json"

# a -wal file beside the database: the copy may be partial, the report says so
python3 -c '
import sqlite3,shutil,sys
src,dst=sys.argv[1],sys.argv[2]
shutil.copy(src, dst+".tmp")
c=sqlite3.connect(dst+".tmp"); c.execute("PRAGMA journal_mode=WAL"); c.execute("CREATE TABLE scratch(x)")
c.execute("INSERT INTO scratch VALUES (1)"); c.commit()
shutil.copy(dst+".tmp", dst); shutil.copy(dst+".tmp-wal", dst+"-wal"); c.close()' "$T/honest.db" "$T/wal.db"
"$AUDIT" verify "$T/wal.db" >"$T/wal.txt"
check "a -wal beside the database is a warning" grep -q '^- a -wal file lies beside the database' "$T/wal.txt"
check "no -wal beside the honest database: no such warning" bash -c "! grep -q -- '-wal file lies' '$T/ok.txt'"
# entries after the latest checkpoint are counted and flagged
cp "$T/honest.db" "$T/lastcp.db"
sqlite3 "$T/lastcp.db" "DELETE FROM checkpoints WHERE tree_size = (SELECT max(tree_size) FROM checkpoints)"
"$AUDIT" verify "$T/lastcp.db" --json >"$T/lastcp.json"
check "entries after the latest checkpoint: counted and warned" python3 -c '
import json,sys; d=json.load(open(sys.argv[1]))
assert d["ok"] and d["entries_after_checkpoint"] > 0 and "entries_after_checkpoint" in d["warnings"], d["warnings"]' "$T/lastcp.json"

# multi-part RESULTs (3 trades per part) verify too
"$MKDB" gen --out "$T/parts.db" --households 12 --part-trades 3 >/dev/null
check "RESULT in many parts verifies" "$AUDIT" verify "$T/parts.db"

# every way of cheating fails and names the entry pw-mkdb altered
for kind in order-price delete reorder reading reading-resign result-price statement checkpoint; do
	cp "$T/honest.db" "$T/$kind.db"
	where=$("$MKDB" tamper "$T/$kind.db" "$kind")
	"$AUDIT" verify "$T/$kind.db" >"$T/$kind.txt"
	rc=$?
	if [ $rc -eq 1 ] && grep -q "^failure       $where[ :(]" "$T/$kind.txt"; then
		ok "tamper $kind: exit 1, names $where"
	else
		not_ok "tamper $kind: exit $rc, expected to name $where"
		cat "$T/$kind.txt"
	fi
done
golden statement.txt "$T/statement.txt"
"$AUDIT" verify "$T/statement.db" --json >"$T/statement.json"
check "JSON failure names index and type" python3 -c '
import json,sys; d=json.load(open(sys.argv[1])); f=d["failure"]
assert d["ok"] is False and f["type"] == "STATEMENT" and isinstance(f["index"], int)' "$T/statement.json"

# a fork: the exchange rewrote the last interval and re-signed everything
"$MKDB" gen --out "$T/fork.db" --fork >/dev/null
check "forked database alone verifies" "$AUDIT" verify "$T/fork.db"
"$AUDIT" verify "$T/fork.db" --checkpoints "$T/agent.cp" >"$T/fork.txt"
rc=$?
if [ $rc -eq 1 ] && grep -q "^failure       $T/agent.cp:7: " "$T/fork.txt"; then
	ok "fork caught by the agent's checkpoint file (exit 1, names agent.cp:7)"
else
	not_ok "fork not caught (exit $rc)"
	cat "$T/fork.txt"
fi
# a checkpoint file with a forged line (not signed by the exchange)
sed '2s/^\(.\{80\}\)./\10/' "$T/agent.cp" >"$T/forged.cp"
if ! cmp -s "$T/agent.cp" "$T/forged.cp"; then
	"$AUDIT" verify "$T/honest.db" --checkpoints "$T/forged.cp" >"$T/forged.txt"
	rc=$?
	check "forged checkpoint in a file rejected (exit $rc)" grep -q "forged.cp:2: " "$T/forged.txt"
fi

# the binary form of a checkpoint file verifies too; a truncated last line does not
python3 -c 'import sys
sys.stdout.buffer.write(b"".join(bytes.fromhex(l) for l in open(sys.argv[1]) if not l.startswith("#")))' \
	"$T/agent.cp" >"$T/agent.bin"
check "binary checkpoint file accepted" "$AUDIT" verify "$T/honest.db" --checkpoints "$T/agent.bin"
{ cat "$T/agent.cp"; tail -1 "$T/agent.cp" | cut -c1-100; } >"$T/torn.cp"
"$AUDIT" verify "$T/honest.db" --checkpoints "$T/torn.cp" >"$T/torn.txt"
rc=$?
check "a torn last line is malformed, not accepted (exit $rc)" grep -q "torn.cp:8: malformed" "$T/torn.txt"
# inputs the auditor needs: a missing parameter or fee fails, it is not guessed
cp "$T/honest.db" "$T/noparam.db"
sqlite3 "$T/noparam.db" "DELETE FROM params WHERE key = 'gate_s'"
"$AUDIT" verify "$T/noparam.db" >"$T/noparam.txt"
rc=$?
check "missing params.gate_s fails (exit $rc)" grep -q "^failure       database: params: gate_s is missing" "$T/noparam.txt"
cp "$T/honest.db" "$T/nofee.db"
sqlite3 "$T/nofee.db" "DELETE FROM fees"
"$AUDIT" verify "$T/nofee.db" >"$T/nofee.txt"
rc=$?
check "a fee row missing from the exchange's table fails (exit $rc)" \
	grep -q "^failure       database: fees: no row for zones north/south of MARKET entry 0" "$T/nofee.txt"

# --- the market's rules and registry come from the log (issue 15 point 1) ------------
# a database of an exchange before MARKET/REGISTRY entries: not audited, said plainly
"$MKDB" gen --out "$T/old.db" --old-format >/dev/null
"$AUDIT" verify "$T/old.db" >"$T/old.txt"
rc=$?
check "an old-format database fails (exit $rc) and says to migrate it" \
	grep -q "^problem       This database has not been opened by peerwatt-exchange" "$T/old.txt"
check "old format: the failure names the missing MARKET entry" \
	grep -q "^failure       database: the log holds no MARKET entry (old format)" "$T/old.txt"
# migrated: the rules and registry written at the end of the log govern what came before
"$MKDB" gen --out "$T/mig.db" --migrated >/dev/null
"$AUDIT" verify "$T/mig.db" >"$T/mig.txt"
check "a migrated database verifies (exit $?)" grep -q '^verdict       OK$' "$T/mig.txt"
check "migrated: the report says the rules were written at migration" \
	grep -qE "^- the rules and registry of the first [1-9][0-9]* entries were written into" "$T/mig.txt"
"$AUDIT" verify "$T/mig.db" --json >"$T/mig.json"
check "migrated: JSON warning and migration index" python3 -c '
import json,sys; d=json.load(open(sys.argv[1]))
assert d["ok"] and "rules_written_at_migration" in d["warnings"], d["warnings"]
assert d["migration"]["log_index"] == d["migration"]["entries_before"] > 0, d["migration"]' "$T/mig.json"
check "a new database has no migration warning" bash -c "! grep -q 'written into the log at migration' '$T/ok.txt'"
# a reload that raised the tariffs for later intervals: both sets listed, each applied
"$MKDB" gen --out "$T/chg.db" --tariff-change >/dev/null
"$AUDIT" verify "$T/chg.db" >"$T/chg.txt"
check "tariffs changed for later intervals: verifies (exit $?)" grep -q '^verdict       OK$' "$T/chg.txt"
golden changed.txt "$T/chg.txt"
"$AUDIT" verify "$T/chg.db" --json >"$T/chg.json"
check "JSON: two rule sets, each with its first interval" python3 -c '
import json,sys; d=json.load(open(sys.argv[1])); s=d["rules"]["sets"]
assert len(s) == 2 and s[0]["first_interval"] == 0 and s[1]["first_interval"] == 1003, s
assert s[1]["retail_uper_kwh"] == s[0]["retail_uper_kwh"] + 20000' "$T/chg.json"

# the operator's attacks on the rules and registry, with the exchange's key
"$MKDB" gen --out "$T/reg.db" --exchange-key-out "$T/ex.key" >/dev/null
PK1=$(sqlite3 "$T/reg.db" "SELECT lower(hex(pk)) FROM households WHERE id = 'h1'")
forged() { # forged NAME EXPECT ATTACK...: pw-forge on a copy, the audit names EXPECT
	local name=$1 expect=$2 where rc
	shift 2
	cp "$T/reg.db" "$T/$name.db"
	where=$("$BUILD/pw-forge" "$T/$name.db" "$T/ex.key" "$@")
	"$AUDIT" verify "$T/$name.db" >"$T/$name.txt"
	rc=$?
	if [ $rc -eq 1 ] && grep -qF -- "failure       $where $expect" "$T/$name.txt"; then
		ok "attack $name caught (exit 1): $where $expect"
	else
		not_ok "attack $name: exit $rc, expected '$where $expect'"
		cat "$T/$name.txt"
	fi
}
forged registry-rewrite "(METER): meter serial MTR-0001 of House1 (h1) is not FORGED-1" \
	registry-rewrite "$PK1"
forged register-late "(ORDER): ORDER by House1 (h1), registered only by REGISTRY entry" \
	register-late "$PK1"
forged revoked "(CANCEL): CANCEL by House1 (h1), revoked by REGISTRY entry" revoke "$PK1"
check "revoked: the report counts the revoked household" \
	grep -q "^households    8 registered in the log, 1 of them revoked" "$T/revoked.txt"
forged retro-tariff "(MARKET): MARKET entry effective from interval 1005, but entry" retro-tariff
check "retro-tariff: said in plain words" grep -q "^problem .*changed the market's tariffs or fees" "$T/retro-tariff.txt"
# the exchange's tables (its caches) changed, the log untouched
table() { # table NAME EXPECT SQL
	cp "$T/reg.db" "$T/$1.db"
	sqlite3 "$T/$1.db" "$3"
	"$AUDIT" verify "$T/$1.db" >"$T/$1.txt"
	local rc=$?
	if [ $rc -eq 1 ] && grep -qF -- "failure       $2" "$T/$1.txt"; then
		ok "table $1 changed: caught (exit 1), names $2"
	else
		not_ok "table $1 changed: exit $rc, expected '$2'"
		cat "$T/$1.txt"
	fi
}
table capacity "households row 2 (House1 (h1)): households: max_export_w is 9000, REGISTRY entry 2 says 6000" \
	"UPDATE households SET max_export_w = 9000 WHERE id = 'h1'"
table zone "households row 3 (House2 (h2)): households: zone is 'north', REGISTRY entry 3 says 'south'" \
	"UPDATE households SET zone = 'north' WHERE id = 'h2'"
table serial "households row 2 (House1 (h1)): households: serial is 'OTHER', REGISTRY entry 2 says 'MTR-0001'" \
	"UPDATE households SET serial = 'OTHER' WHERE id = 'h1'"
table extra-household "households row 9 (" \
	"INSERT INTO households VALUES (zeroblob(32), 'x', 'x', 'S-X', 'north', 1, 1, 0)"
table tariff "params row retail_uper_kwh: params: retail_uper_kwh is 310000, the log says 300000" \
	"UPDATE params SET value = 310000 WHERE key = 'retail_uper_kwh'"
table fee "fees row 1 (north/south): fees: fee 1, the log (MARKET entry 0) says 20000" \
	"UPDATE fees SET fee_uper_kwh = 1"
check "table attacks are said in plain words" grep -q "^problem       The exchange's own table households" "$T/capacity.txt"
# the whole history, its rules and registry included, re-signed under a new key
cp "$T/reg.db" "$T/rekey.db"
"$BUILD/peerwatt-exchange" keygen --out "$T/new.key" >/dev/null
"$BUILD/pw-forge" "$T/rekey.db" "$T/ex.key" rekey "$T/new.key" >/dev/null
check "re-keyed history alone verifies (not pinned)" "$AUDIT" verify "$T/rekey.db"
XPK=$(sqlite3 "$T/reg.db" "SELECT value FROM params WHERE key = 'exchange_pk'")
"$AUDIT" verify "$T/rekey.db" --exchange-key "$XPK" >"$T/rekey.txt"
check "re-signed genesis caught with --exchange-key (exit $?)" \
	grep -q "^failure       entry 0 (MARKET): the first MARKET entry is signed by .*, not by the key pinned" "$T/rekey.txt"
check "the untouched database verifies with its key pinned" "$AUDIT" verify "$T/reg.db" --exchange-key "$XPK"

# export
"$AUDIT" export "$T/honest.db" --csv "$T/csv"
check "export exit 0" test $? -eq 0
for f in trades readings statements households; do
	check "export wrote $f.csv" test -s "$T/csv/$f.csv"
done
trades=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["trades"])' "$T/ok.json")
check "trades.csv has one line per trade" test "$(($(wc -l <"$T/csv/trades.csv") - 1))" -eq "$trades"
check "CSV: household names, ISO 8601 interval times, prices per kWh, decoded flags" python3 -c '
import csv,sys,re
d=sys.argv[1]; iso=re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
t=list(csv.DictReader(open(d+"/trades.csv")))
assert t and all(r["buyer_name"].startswith("House") and r["seller_name"].startswith("House") for r in t)
assert all(iso.match(r["interval_start"]) and iso.match(r["interval_end"]) for r in t)
assert all(int(round(float(r["price_per_kwh"])*1e6)) == int(r["price_uper_kwh"]) and r["currency"] == "EUR" for r in t)
s=list(csv.DictReader(open(d+"/statements.csv")))
assert all((r["flags_text"] == "reading missing") == (int(r["flags"]) & 1 == 1) for r in s)
assert any(r["flags_text"] == "reading missing" for r in s)
m=list(csv.DictReader(open(d+"/readings.csv")))
assert all(r["time_status_text"] == "clock synchronised" for r in m if r["time_status"] == "0")' "$T/csv"
check "households.csv: peer money sums to zero" python3 -c '
import csv,sys
from decimal import Decimal
rows=list(csv.DictReader(open(sys.argv[1])))
assert len(rows) == 8
assert sum(Decimal(r["peer"]) for r in rows) == 0
assert sum(int(r["bought_wh"]) for r in rows) == sum(int(r["sold_wh"]) for r in rows) > 0' "$T/csv/households.csv"

# exit codes
"$AUDIT" >/dev/null 2>&1
check "no arguments: exit 64" test $? -eq 64
"$AUDIT" verify "$T/honest.db" --bogus >/dev/null 2>&1
check "unknown option: exit 64" test $? -eq 64
"$AUDIT" verify "$T/missing.db" >/dev/null 2>&1
check "missing database: exit 66" test $? -eq 66
echo "not a database" >"$T/junk.db"
"$AUDIT" verify "$T/junk.db" >/dev/null 2>&1
check "not a database: exit 66" test $? -eq 66
"$AUDIT" verify "$T/honest.db" --checkpoints "$T/missing.cp" >/dev/null 2>&1
check "missing checkpoint file: exit 66" test $? -eq 66
"$AUDIT" --version | grep -q '^peerwatt-audit '
check "--version" test $? -eq 0
"$AUDIT" --help | grep -q 'usage: peerwatt-audit verify'
check "--help" test $? -eq 0
# read-only: verify does not change the database
sum1=$(sha256sum <"$T/honest.db")
"$AUDIT" verify "$T/honest.db" >/dev/null
check "verify leaves the database unchanged" test "$sum1" = "$(sha256sum <"$T/honest.db")"
finish
