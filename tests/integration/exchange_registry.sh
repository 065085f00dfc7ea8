#!/usr/bin/env bash
# exchange_registry.sh: the market's rules and registry live in the log
# (issue 15 point 1, docs/exchange.md "Rules and registry in the log").
# A new database starts with the genesis MARKET entry at index 0 and one
# REGISTRY entry per household; QUERY REGISTRY / REGISTRY_PROOF answer a
# household with its logged entry (or, with the key field, any household's:
# a counterparty's zone), QUERY MARKET / MARKET_PROOF with the MARKET entry
# governing an interval; a reload appends one REGISTRY entry per
# new, changed or revoked household (none when nothing changed) and the
# exchange then runs on the log's registry; tables edited behind the log
# are rebuilt from it; a configuration whose rules differ from the log's is
# refused at start, one changing the tariffs appends a MARKET entry from the
# first interval no order can target yet (orders and settlement before it
# keep the old tariffs); and a database of the old format (tests/fixtures/
# exchange-v1, made by tests/fixtures/mk-exchange-v1.sh at commit 68f7f98)
# gets its MARKET and REGISTRY entries at its first open and then runs.
set -u
. "$(dirname "$0")/lib.sh"
B=$BUILD
L=3
T=$PW_TMP
FIX=$(cd "$(dirname "$0")/../fixtures/exchange-v1" && pwd)

q() { sqlite3 "$T/x.db" "$1"; }

"$B/peerwatt-exchange" keygen --out "$T/ex.key" >"$T/ex.pk" || exit 1
for h in a b c d e; do "$B/pw-client" keygen "$T/$h.key" >"$T/$h.pk" || exit 1; done
hh() { echo "$1 $2 $(cat "$T/$1.pk") SER-$1 $3 3600000 3600000"; }
{
	hh a alice north
	hh b bob south
	hh c carol north
} >"$T/households"
P1=$(free_port)
P2=$(free_port)
exchange_conf "$T/x.conf" reg-market 11 "$P1" "$P2" "$T/households" "$T/x.db" "$T/ex.key"
cat >>"$T/x.conf" <<CONF
[market]
interval_s = $L
gate_s = 1
grace_s = 2
[fees]
same_zone = 0.01
default = 0.02
south/north = 0.015
CONF
start_exchange() {
	"$B/peerwatt-exchange" -c "$T/x.conf" 2>>"$T/exchange.log" &
	XPID=$!
	PW_PIDS+=("$XPID")
	wait_port "$P1" 30 || { not_ok "exchange listens"; exit 1; }
}
start_exchange
C=("$B/pw-client" -e "tcp://127.0.0.1:$P1" -s "$(cat "$T/ex.pk")" -m 11 -L $L -t 20000)

# --- genesis -------------------------------------------------------------------------
check "genesis: entry 0 is the MARKET entry" test "$(q 'SELECT type FROM log WHERE idx = 0')" = 24
check "genesis: entries 1..3 are REGISTRY entries, one per household" \
	test "$(q 'SELECT group_concat(type) FROM log WHERE idx BETWEEN 1 AND 3')" = "25,25,25"
check "genesis: no other entry before them" test "$(q 'SELECT coalesce(min(idx), 4) FROM log WHERE type NOT IN (24, 25)')" -ge 4
check "genesis: the MARKET entry is signed by the exchange" test \
	"$(q 'SELECT lower(hex(substr(frame, 3, 32))) FROM log WHERE idx = 0')" = "$(cat "$T/ex.pk")"
check "genesis: the MARKET entry names the market and EUR" test \
	"$(q "SELECT substr(frame, 51, 10) || '/' || substr(frame, 83, 3) FROM log WHERE idx = 0")" \
	= "reg-market/EUR"
check "genesis: its fee table has the one explicit pair, north/south (canonical order)" test \
	"$(q 'SELECT hex(substr(frame, 118, 2)) || substr(frame, 120, 5) || substr(frame, 152, 5) FROM log WHERE idx = 0')" \
	= "0001northsouth"
check "genesis: the REGISTRY entries are households a, b, c in file order" test \
	"$(q "SELECT group_concat(hex(substr(frame, 75, 2)), ',') FROM (SELECT frame FROM log WHERE type = 25 ORDER BY idx)")" \
	= "6100,6200,6300"
check "tables follow the log: params currency EUR" test "$(q "SELECT value FROM params WHERE key = 'currency'")" = EUR
X=$(($(date +%s) / L + 6))
got=$("${C[@]}" -k "$T/a.key" order 1 "$X" sell 500 150000 +600)
check "alice's order follows the registry entries (got '$got')" test "${got%% *}" = ACK -a "${got#ACK }" -ge 4

# --- QUERY REGISTRY and REGISTRY_PROOF ------------------------------------------------
size=$(q 'SELECT count(*) FROM log')
leaf1=$(q 'SELECT lower(hex(leaf)) FROM log WHERE idx = 1')
got=$("${C[@]}" -k "$T/a.key" query registry 0 "$size")
check "QUERY REGISTRY: alice's logged entry (got '$got')" test \
	"$got" = "REGISTRY a north SER-a 3600000 3600000 0 $leaf1"
got=$("${C[@]}" -k "$T/a.key" query registry_proof 0 "$size")
check "QUERY REGISTRY_PROOF: inclusion of entry 1 in the tree of $size (got '${got:0:40}')" \
	test "$(echo "$got" | cut -d' ' -f1,3,4)" = "PROOF 1 $size"
got=$("${C[@]}" -k "$T/b.key" query registry 0 "$size")
check "QUERY REGISTRY: bob gets his own entry, not alice's" test "$(echo "$got" | cut -d' ' -f1-3)" = "REGISTRY b south"
got=$("${C[@]}" -k "$T/a.key" query registry 0 1)
check "QUERY REGISTRY in a tree holding only the MARKET entry: bad_query (got '$got')" test "$got" = "REJECT bad_query"
got=$("${C[@]}" -k "$T/a.key" query registry_proof 0 999999)
check "QUERY REGISTRY_PROOF beyond the log: bad_query (got '$got')" test "$got" = "REJECT bad_query"
# the key field: any household's entry (a counterparty's zone sets the fee)
got=$("${C[@]}" -k "$T/a.key" query registry 0 "$size" "$(cat "$T/b.pk")")
check "QUERY REGISTRY with bob's key, asked by alice: bob's entry (got '${got:0:20}')" test \
	"$(echo "$got" | cut -d' ' -f1-3)" = "REGISTRY b south"
got=$("${C[@]}" -k "$T/a.key" query registry_proof 0 "$size" "$(cat "$T/c.pk")")
check "QUERY REGISTRY_PROOF with carol's key: entry 3 in the tree of $size" \
	test "$(echo "$got" | cut -d' ' -f1,3,4)" = "PROOF 3 $size"
got=$("${C[@]}" -k "$T/a.key" query registry 0 "$size" "$(cat "$T/e.pk")")
check "QUERY REGISTRY with a key no entry names: bad_query (got '$got')" test "$got" = "REJECT bad_query"
leaf0=$(q 'SELECT lower(hex(leaf)) FROM log WHERE idx = 0')
got=$("${C[@]}" -k "$T/a.key" query market 123 "$size")
check "QUERY MARKET: the genesis entry governs (got '${got:0:40}')" test \
	"$(echo "$got" | cut -d' ' -f1,2,7,8)" = "MARKET 0 1 $leaf0"
got=$("${C[@]}" -k "$T/a.key" query market_proof 123 "$size")
check "QUERY MARKET_PROOF: entry 0 in the tree of $size" \
	test "$(echo "$got" | cut -d' ' -f1,3,4)" = "PROOF 0 $size"
got=$("${C[@]}" -k "$T/a.key" query market 123 999999)
check "QUERY MARKET beyond the log: bad_query (got '$got')" test "$got" = "REJECT bad_query"

# --- reloads ----------------------------------------------------------------------------
# the auction of alice's interval may append its own entries meanwhile: count
# only MARKET and REGISTRY entries
before=$(q 'SELECT count(*) FROM log')
rules_before=$(q 'SELECT count(*) FROM log WHERE type IN (24, 25)')
kill -HUP "$XPID"
WAIT_SECONDS=30 wait_for grep -q "0 REGISTRY entries appended" "$T/exchange.log"
check "SIGHUP, registry unchanged: no MARKET or REGISTRY entry appended" test \
	"$(q 'SELECT count(*) FROM log WHERE type IN (24, 25)')" -eq "$rules_before"
{
	hh a alice north
	hh b bob north
	hh d dave south
} >"$T/households"
kill -HUP "$XPID"
WAIT_SECONDS=30 wait_for grep -q "3 REGISTRY entries appended" "$T/exchange.log"
check "SIGHUP: bob changed, dave new, carol revoked: 3 REGISTRY entries" test \
	"$(q "SELECT count(*) FROM log WHERE type = 25 AND idx >= $before")" -eq 3
check "SIGHUP: each change logged with its index" grep -q "household c (carol) revoked: REGISTRY entry at log index" "$T/exchange.log"
check "SIGHUP: carol's entry says revoked" test \
	"$(q "SELECT hex(substr(frame, 211, 1)) FROM log WHERE type = 25 AND idx >= $before AND hex(substr(frame, 75, 1)) = '63'")" = 01
check "tables follow the log: carol revoked, bob in north" test \
	"$(q "SELECT group_concat(id || ':' || zone || ':' || revoked, ' ') FROM (SELECT * FROM households ORDER BY id)")" \
	= "a:north:0 b:north:0 c:north:1 d:south:0"
size=$(q 'SELECT count(*) FROM log')
got=$("${C[@]}" -k "$T/b.key" query registry 0 "$size")
check "QUERY REGISTRY: bob's latest entry says north" test "$(echo "$got" | cut -d' ' -f1-3)" = "REGISTRY b north"
got=$("${C[@]}" -k "$T/b.key" query registry 0 4)
check "QUERY REGISTRY at an older tree size: bob's genesis entry (south)" test "$(echo "$got" | cut -d' ' -f1-3)" = "REGISTRY b south"
got=$("${C[@]}" -k "$T/d.key" order 1 "$X" buy 300 200000 +600)
case $got in "ACK "*) ok "dave, new in the log's registry, trades ($got)" ;; *) not_ok "dave trades (got '$got')" ;; esac
sed -i 's/^grace_s = 2$/grace_s = 5/' "$T/x.conf"
# (the rules entries only: alice's and dave's orders for X may clear meanwhile)
before=$(q 'SELECT count(*) FROM log WHERE type IN (24, 25)')
kill -HUP "$XPID"
WAIT_SECONDS=30 wait_for grep -q "grace_s is 2 in the log (entry 0) and 5 in the configuration: it can never change" "$T/exchange.log"
check "SIGHUP changing grace_s: refused, naming it, nothing appended" test "$(q 'SELECT count(*) FROM log WHERE type IN (24, 25)')" -eq "$before"
sed -i 's/^grace_s = 5$/grace_s = 2/' "$T/x.conf"
stop_pid "$XPID"

# --- tables edited behind the log -------------------------------------------------------
q "UPDATE households SET max_export_w = 1 WHERE id = 'a'; UPDATE params SET value = 9 WHERE key = 'grace_s';
	INSERT INTO fees VALUES ('north', 'west', 1);"
: >"$T/exchange.log"
start_exchange
check "edited tables: a warning names them" grep -q "tables params, fees, households differed from the log" "$T/exchange.log"
check "edited tables: rebuilt from the log" test \
	"$(q "SELECT (SELECT max_export_w FROM households WHERE id = 'a') || ' ' || (SELECT value FROM params WHERE key = 'grace_s') || ' ' || (SELECT count(*) FROM fees WHERE zone_b = 'west')")" \
	= "3600000 2 0"
stop_pid "$XPID"
: >"$T/exchange.log"
start_exchange
check "tables equal to the log: no warning at the next start" bash -c "! grep -q 'differed from the log' '$T/exchange.log'"
stop_pid "$XPID"

# --- a configuration or registry that differs from the log at start ---------------------------
hh e erin south >>"$T/households"
before=$(q 'SELECT count(*) FROM log')
start_exchange
check "registry file changed while stopped: one REGISTRY entry appended at start" test \
	"$(q "SELECT count(*) FROM log WHERE idx >= $before AND type = 25")" -eq 1
stop_pid "$XPID"
sed -i 's/^interval_s = 3$/interval_s = 4/' "$T/x.conf"
timeout 30 "$B/peerwatt-exchange" -c "$T/x.conf" 2>"$T/refused.log"
rc=$?
check "interval_s differing from the log: refused at start (exit $rc)" test "$rc" -eq 78
check "  saying it can never change" grep -q "interval_s is 3 in the log (entry 0) and 4 in the configuration: it can never change" "$T/refused.log"
sed -i 's/^interval_s = 4$/interval_s = 3/' "$T/x.conf"
"$B/peerwatt-audit" verify "$T/x.db" >"$T/audit.txt" 2>&1
check "peerwatt-audit verifies the database with its MARKET and REGISTRY entries" grep -q '^verdict       OK$' "$T/audit.txt" ||
	cat "$T/audit.txt"

# --- migration of an old-format database ------------------------------------------------------
V=$T/v1
mkdir -p "$V"
cp "$FIX"/* "$V/"
chmod 600 "$V"/*.key
P3=$(free_port)
P4=$(free_port)
sed -e "s|@DIR@|$V|g" -e "s|@P1@|$P3|" -e "s|@P2@|$P4|" "$FIX/x.conf.in" >"$V/x.conf"
old=$(sqlite3 "$V/x.db" 'SELECT count(*) FROM log')
check "the fixture is an old-format database: $old entries, no MARKET entry, settled intervals" test \
	"$(sqlite3 "$V/x.db" 'SELECT (SELECT count(*) FROM log WHERE type IN (24, 25)) || (SELECT count(*) > 0 FROM intervals WHERE state = 2 AND volume_wh > 0)')" = 01
"$B/peerwatt-exchange" -c "$V/x.conf" 2>"$V/exchange.log" &
VPID=$!
PW_PIDS+=("$VPID")
wait_port "$P3" 30 || not_ok "the migrated exchange listens"
check "migration: a loud warning names the MARKET entry's index ($old)" \
	grep -q "old-format database (no MARKET entry in its $old log entries): appended the MARKET entry at log index $old and 4 REGISTRY entries" "$V/exchange.log"
check "migration: MARKET at $old, then the 4 households' REGISTRY entries, appended at the end" test \
	"$(sqlite3 "$V/x.db" "SELECT group_concat(type) FROM (SELECT type FROM log WHERE idx BETWEEN $old AND $((old + 4)) ORDER BY idx)")" = "24,25,25,25,25"
check "migration: the MARKET entry states the old tables' tariffs and pair fee" test \
	"$(sqlite3 "$V/x.db" "SELECT hex(substr(frame, 102, 8)) || hex(substr(frame, 118, 2)) || ':' || hex(substr(frame, 184, 4)) FROM log WHERE idx = $old")" \
	= "00013880000493E00001:00003A98"
check "migration: the node table with the former key (level, idx) is replaced by one keyed by completing leaf, rows n - popcount(n)" \
	python3 -c '
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
cols = [r[1] for r in db.execute("PRAGMA table_info(log_nodes)")]
n = db.execute("SELECT count(*) FROM log").fetchone()[0]
rows = db.execute("SELECT count(*) FROM log_nodes WHERE (leaf + 1) % (1 << level) = 0 AND leaf < ?", (n,)).fetchone()[0]
allrows = db.execute("SELECT count(*) FROM log_nodes").fetchone()[0]
sys.exit(not (cols == ["leaf", "level", "hash"] and rows == allrows == n - bin(n).count("1")))' "$V/x.db"
check "migration: logged once" grep -q "node table of an earlier version replaced" "$V/exchange.log"
CV=("$B/pw-client" -e "tcp://127.0.0.1:$P3" -s "$(cat "$V/ex.pk")" -m 7 -L $L -t 20000)
XV=$(($(date +%s) / L + 6))
got=$("${CV[@]}" -k "$V/a.key" order 2 "$XV" sell 300 150000 +600)
case $got in "ACK "*) ok "the migrated exchange runs: alice's order ($got)" ;; *) not_ok "the migrated exchange runs (got '$got')" ;; esac
size=$(sqlite3 "$V/x.db" 'SELECT count(*) FROM log')
got=$("${CV[@]}" -k "$V/c.key" query registry 0 "$size")
check "the migrated log answers QUERY REGISTRY (carol: $got)" test "$(echo "$got" | cut -d' ' -f1-3)" = "REGISTRY c north"
stop_pid "$VPID"
"$B/peerwatt-exchange" -c "$V/x.conf" 2>"$V/exchange2.log" &
VPID=$!
PW_PIDS+=("$VPID")
wait_port "$P3" 30 || not_ok "the migrated exchange restarts"
stop_pid "$VPID"
check "migration happens once: no new entries, no warning at the next start" test \
	"$(sqlite3 "$V/x.db" "SELECT count(*) FROM log WHERE type IN (24, 25)")$(grep -c 'old-format\|node table' "$V/exchange2.log")" = 50
"$B/peerwatt-audit" verify "$V/x.db" >"$V/audit.txt" 2>&1
check "peerwatt-audit verifies the migrated database" grep -q '^verdict       OK$' "$V/audit.txt" || cat "$V/audit.txt"

# --- tariffs changed by a reload: a MARKET entry effective from E -------------------------------
P5=$(free_port)
P6=$(free_port)
{
	hh a alice north
	hh b bob south
} >"$T/households-y"
exchange_conf "$T/y.conf" tariff-market 12 "$P5" "$P6" "$T/households-y" "$T/y.db" "$T/ex.key"
cat >>"$T/y.conf" <<CONF
[market]
interval_s = $L
gate_s = 1
grace_s = 2
max_ahead_s = 9
CONF
"$B/peerwatt-exchange" -c "$T/y.conf" 2>"$T/y.log" &
YPID=$!
PW_PIDS+=("$YPID")
wait_port "$P5" 30 || not_ok "the second exchange listens"
CY=("$B/pw-client" -e "tcp://127.0.0.1:$P5" -s "$(cat "$T/ex.pk")" -m 12 -L $L -t 20000)
sed -i 's/^retail = 0.30$/retail = 0.25/' "$T/y.conf"
kill -HUP "$YPID"
WAIT_SECONDS=30 wait_for grep -q "tariffs or fees changed: MARKET entry at log index" "$T/y.log"
t0=$(date +%s)
eff=$((16#$(sqlite3 "$T/y.db" 'SELECT hex(substr(frame, 43, 8)) FROM log WHERE type = 24 ORDER BY idx DESC LIMIT 1')))
check "new tariff: a second MARKET entry, effective from the first interval beyond now + max_ahead_s ($eff)" \
	test "$(sqlite3 "$T/y.db" 'SELECT count(*) FROM log WHERE type = 24')" -eq 2 -a $((eff * L)) -gt $((t0 + 9 - L)) \
	-a $(((eff - 1) * L)) -le $((t0 + 9))
check "  no entry before it concerns interval $eff or later" test \
	"$(sqlite3 "$T/y.db" "SELECT count(*) FROM orders WHERE interval >= $eff")" -eq 0
got=$("${CY[@]}" -k "$T/a.key" order 1 "$((eff - 1))" sell 100 280000 +600)
case $got in "ACK "*) ok "interval $((eff - 1)) keeps the old ceiling: an offer at 0.28 ($got)" ;;
*) not_ok "old ceiling before E (got '$got')" ;; esac
wait_until() { WAIT_SECONDS=60 wait_for bash -c "[ \$(date +%s) -ge $1 ]"; }
wait_until $((eff * L - 9))
got=$("${CY[@]}" -k "$T/a.key" order 2 "$eff" sell 100 280000 +600)
check "interval $eff has the new ceiling: an offer at 0.28 refused (got '$got')" test "$got" = "REJECT price_bounds"
got=$("${CY[@]}" -k "$T/a.key" order 3 "$eff" sell 100 250000 +600)
case $got in "ACK "*) ok "interval $eff: an offer at 0.25 accepted ($got)" ;; *) not_ok "new ceiling (got '$got')" ;; esac
# bob imports 1000 Wh in each interval without buying: extra import at the
# retail tariff of that interval
wait_until $((eff * L))
got=$("${CY[@]}" -k "$T/b.key" meter 1 "$((eff - 1))" SER-b 0 0 0 1000)
case $got in "ACK "*) ok "bob's reading for $((eff - 1))" ;; *) not_ok "bob's reading (got '$got')" ;; esac
wait_until $(((eff + 1) * L))
got=$("${CY[@]}" -k "$T/b.key" meter 2 "$eff" SER-b 0 0 1000 2000)
case $got in "ACK "*) ok "bob's reading for $eff" ;; *) not_ok "bob's reading (got '$got')" ;; esac
WAIT_SECONDS=60 wait_for bash -c \
	"[ \"\$(sqlite3 '$T/y.db' 'SELECT count(*) FROM statements WHERE interval >= $((eff - 1))')\" -ge 2 ]"
got=$("${CY[@]}" -k "$T/b.key" query statement "$((eff - 1))" 0)
check "settlement of $((eff - 1)) at the old retail tariff: 1 kWh = -0.30 (got '$got')" test "$got" = "STATEMENT $((eff - 1)) 0 -300000"
got=$("${CY[@]}" -k "$T/b.key" query statement "$eff" 0)
check "settlement of $eff at the new retail tariff: 1 kWh = -0.25 (got '$got')" test "$got" = "STATEMENT $eff 0 -250000"
# tree size 0: the latest checkpoint's (signed at the settlement above)
cps=$(sqlite3 "$T/y.db" 'SELECT max(tree_size) FROM checkpoints')
bidx=$(sqlite3 "$T/y.db" "SELECT max(idx) FROM log WHERE type = 25 AND idx < $cps AND hex(substr(frame, 75, 1)) = '62'")
got=$("${CY[@]}" -k "$T/b.key" query registry 0 0)
check "QUERY REGISTRY with tree size 0: bob's entry in the latest checkpoint's tree" test \
	"$(echo "$got" | cut -d' ' -f1-3,8)" = "REGISTRY b south $(sqlite3 "$T/y.db" "SELECT lower(hex(leaf)) FROM log WHERE idx = $bidx")"
got=$("${CY[@]}" -k "$T/b.key" query registry_proof 0 0)
# size 0 names the latest checkpoint when the query is answered: one may be
# signed between the read of $cps and the answer (seen once under the
# sanitizers), so the answer's size is a checkpoint's, at least $cps
gsize=$(echo "$got" | cut -d' ' -f4)
check "QUERY REGISTRY_PROOF with tree size 0: entry $bidx in the tree of the latest checkpoint ($gsize, $cps when asked)" test \
	"$(echo "$got" | cut -d' ' -f1,3)" = "PROOF $bidx" -a "${gsize:-0}" -ge "$cps" -a \
	"$(sqlite3 "$T/y.db" "SELECT count(*) FROM checkpoints WHERE tree_size = ${gsize:-0}")" = 1
# QUERY MARKET: each interval's own rules, as the log's first b entries say
m2=$(sqlite3 "$T/y.db" 'SELECT max(idx) FROM log WHERE type = 24')
got=$("${CY[@]}" -k "$T/b.key" query market "$((eff - 1))" 0)
check "QUERY MARKET for $((eff - 1)): the genesis entry, retail 0.30 (got '${got:0:40}')" test \
	"$(echo "$got" | cut -d' ' -f1-2,4)" = "MARKET 0 300000"
got=$("${CY[@]}" -k "$T/b.key" query market "$eff" 0)
check "QUERY MARKET for $eff: the entry effective from $eff, retail 0.25 (got '${got:0:40}')" test \
	"$(echo "$got" | cut -d' ' -f1-2,4)" = "MARKET $eff 250000"
got=$("${CY[@]}" -k "$T/b.key" query market_proof "$eff" "$cps")
check "QUERY MARKET_PROOF for $eff: entry $m2 in the tree of $cps" test \
	"$(echo "$got" | cut -d' ' -f1,3,4)" = "PROOF $m2 $cps"
got=$("${CY[@]}" -k "$T/b.key" query market "$eff" "$m2")
check "QUERY MARKET for $eff among the entries before the second MARKET entry: the genesis" test \
	"$(echo "$got" | cut -d' ' -f1-2)" = "MARKET 0"
got=$("${CY[@]}" -k "$T/b.key" query registry 0 0 "$(cat "$T/a.pk")")
check "QUERY REGISTRY with alice's key at tree size 0, asked by bob: alice in north" test \
	"$(echo "$got" | cut -d' ' -f1-3)" = "REGISTRY a north"
stop_pid "$YPID"
# a tariff differing from the log at start: appended as a reload would
sed -i 's/^retail = 0.25$/retail = 0.20/' "$T/y.conf"
"$B/peerwatt-exchange" -c "$T/y.conf" 2>"$T/y2.log" &
YPID=$!
PW_PIDS+=("$YPID")
wait_port "$P5" 30 || not_ok "the second exchange restarts"
stop_pid "$YPID"
check "a tariff changed while stopped: a third MARKET entry appended at start" test \
	"$(sqlite3 "$T/y.db" 'SELECT count(*) FROM log WHERE type = 24')$(grep -c 'tariffs or fees changed: MARKET entry' "$T/y2.log")" = 31
# the audit judges each interval by the MARKET entry governing it
"$B/peerwatt-audit" verify "$T/y.db" >"$T/y-audit.txt" 2>&1
check "peerwatt-audit verifies the market whose tariffs changed, each interval by its own rules" \
	grep -q '^verdict       OK$' "$T/y-audit.txt" || cat "$T/y-audit.txt"
check "the audit's report lists the three rule sets, each from its first interval" \
	grep -q "^rules         3 sets in the log, each in force from its first interval on" "$T/y-audit.txt"
check "the report: the second set from interval $eff, retail 0.25" bash -c \
	"grep -A1 '^from          interval $eff (' '$T/y-audit.txt' | grep -q 'retail 0.250000 EUR/kWh'"
finish
