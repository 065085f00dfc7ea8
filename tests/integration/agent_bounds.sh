#!/usr/bin/env bash
# agent_bounds.sh: the agent checks the bounds of what it is given and keeps
# its files to itself (docs/agent.md "Bounds and files", docs/dashboard.md).
# One peerwatt-exchange (2 s intervals), one peerwatt-sim at 60x, one agent
# with its dashboard on loopback with a token, its config readable by others.
#   - the token's file readable by others is warned about;
#   - agent.db (and its -wal, -shm) are 0600;
#   - the checkpoints file is a planted symlink: never written through;
#   - dashboard bids for intervals 2^62 and 2^63-1 (and a standing bid
#     crossing 24 h) are refused 400, nothing stored (under BUILD=build-san
#     no arithmetic on them aborts);
#   - another process holds agent.db locked for 12 s: the dashboard keeps
#     answering, and afterwards the readings are numbered 1..N, one per
#     interval, none missing (kept in memory, stored later);
#   - SIGHUP with a changed token ends the old session and the old token;
#   - a restart over stored rows with out-of-range intervals runs on.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/integration/lib.sh

AGENT=$BUILD/peerwatt-agent
EXCH=$BUILD/peerwatt-exchange
L=2
T=$PW_TMP
TOKEN1=first-token-0123456789abcdef
TOKEN2=second-token-0123456789abcdef

XPK=$("$AGENT" keygen --out "$T/x2.key" | sed -n 's/^public key: //p')
mv "$T/x2.key" "$T/exchange.key"
PK=$("$AGENT" keygen --out "$T/h1.key" | sed -n 's/^public key: //p')
echo "h1 h1 $PK PWSIM-1-1 z1 1200000 1200000" >"$T/households"

start_sim --speed 60 --start-time 11:00 --pv-peak 6000 --load 700 --seed 1 ||
	not_ok "simulator starts"
REQ=$(free_port)
PUB=$(free_port)
exchange_conf "$T/exchange.conf" bounds 44 "$REQ" "$PUB" "$T/households" "$T/exchange.db" \
	"$T/exchange.key"
cat >>"$T/exchange.conf" <<CONF
[market]
interval_s = $L
gate_s = 1
grace_s = 30
CONF
"$EXCH" -c "$T/exchange.conf" >"$T/exchange.log" 2>&1 &
PW_PIDS+=("$!")
wait_port "$REQ" 60 || not_ok "exchange starts"

# the checkpoints file is a symlink planted towards a file of the victim's
echo "victim's own data" >"$T/victim.txt"
ln -s "$T/victim.txt" "$T/checkpoints.txt"

DASH=$(free_port)
write_conf() { # TOKEN
	agent_conf "$T/h1.conf" "$T/h1.key" "$T/h1.db" "$SIM_PORT" "$REQ" "$PUB" "$XPK" 44 $L
	cat >>"$T/h1.conf" <<CONF
[exchange]
checkpoints = $T/checkpoints.txt
[policy]
auto_sell = no
[dashboard]
listen = 127.0.0.1:$DASH
token = $1
[log]
level = info
CONF
	chmod 0644 "$T/h1.conf"
}
write_conf "$TOKEN1"
start_agent() {
	"$AGENT" -c "$T/h1.conf" >>"$T/h1.log" 2>&1 &
	APID=$!
	PW_PIDS+=("$APID")
	wait_port "$DASH" 60
}
start_agent || not_ok "agent starts"

q() { sqlite3 "$T/h1.db" "$1" 2>/dev/null || echo 0; }
at_least() { [ "$(q "$1")" -ge "$2" ]; }
api() { # METHOD PATH [BODY] [HEADER]: prints the HTTP status, body in $T/body
	curl -s -o "$T/body" -m 10 -w '%{http_code}' -X "$1" \
		-H "Authorization: Bearer ${BEARER:-$TOKEN1}" -H "Origin: http://127.0.0.1:$DASH" \
		-H "Content-Type: application/json" -H "X-CSRF-Token: ${CSRF:-}" \
		${4:+-H "$4"} ${3:+--data "$3"} "http://127.0.0.1:$DASH$2"
}

check "a token in a file others can read is warned about" \
	grep -q "token sits in a file others can read (mode 644)" "$T/h1.log"
WAIT_SECONDS=60 wait_for at_least "select count(*) from outbox where stream = 1" 2
mode=$(stat -c %a "$T/h1.db")
check "agent.db is created 0600 (mode $mode)" test "$mode" = 600
check "its -wal and -shm are 0600 too" \
	bash -c "[ \"\$(stat -c %a '$T/h1.db-wal')\" = 600 ] && [ \"\$(stat -c %a '$T/h1.db-shm')\" = 600 ]"

# --- far-future intervals from the dashboard ---------------------------------
[ "$(api GET /api/state)" = 200 ] || not_ok "dashboard answers with the token"
CSRF=$(jq -r .csrf "$T/body")
orders_before=$(q "select count(*) from outbox where stream = 0")
for iv in 4611686018427387904 9223372036854775807; do
	st=$(api POST /api/orders "{\"qty_wh\":100,\"max_price_uper_kwh\":200000,\"interval\":$iv}")
	check "a bid for interval $iv is refused 400 ($st: $(cat "$T/body"))" test "$st" = 400
done
nxt=$(api GET /api/market >/dev/null; jq -r .next_interval "$T/body")
st=$(api POST /api/orders "{\"qty_wh\":100,\"max_price_uper_kwh\":200000,\"interval\":$((nxt + 43190)),\"intervals\":96}")
check "a standing bid reaching past 24 h is refused 400 ($st)" test "$st" = 400
check "no order was stored for them" test "$(q "select count(*) from outbox where stream = 0")" = "$orders_before"
st=$(api POST /api/orders "{\"qty_wh\":100,\"max_price_uper_kwh\":200000,\"intervals\":3}")
check "a sane standing bid is still taken (201)" test "$st" = 201

# --- checkpoints through a symlink -------------------------------------------
WAIT_SECONDS=90 wait_for grep -q "checkpoints file $T/checkpoints.txt" "$T/h1.log"
check "the checkpoints file symlink is refused (logged)" \
	grep -q "checkpoints file $T/checkpoints.txt: .*symlink: refused" "$T/h1.log"
check "... and the file behind it is untouched" test "$(cat "$T/victim.txt")" = "victim's own data"

# --- a database locked by another process for 12 s -------------------------
last_before=$(q "select max(interval) from outbox where stream = 1")
python3 - "$T/h1.db" 12 >"$T/lock.out" 2>&1 <<'PY' &
import sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], timeout=30, isolation_level=None)
c.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
c.execute("ROLLBACK")
print("released", flush=True)
PY
LOCKPID=$!
WAIT_SECONDS=30 wait_for grep -q locked "$T/lock.out"
slow=0
for i in $(seq 1 8); do
	# each probe must be answered (the loop is not stuck in SQLite's busy wait)
	[ "$(BEARER=$TOKEN1 api GET /api/state)" = 200 ] || slow=$((slow + 1))
	sleep 1
done
check "the dashboard answers while the database is locked ($slow of 8 missed)" test "$slow" = 0
wait "$LOCKPID"
check "the agent said the readings wait for the database" \
	grep -q "cannot store the reading of interval .* yet" "$T/h1.log"
WAIT_SECONDS=30 wait_for grep -q "stored [0-9]* reading(s) kept while the database refused them" "$T/h1.log"
check "... and stored them once it was free" \
	grep -q "stored [0-9]* reading(s) kept while the database refused them" "$T/h1.log"
target=$((last_before + 12 / L + 4))
WAIT_SECONDS=60 wait_for at_least "select max(interval) from outbox where stream = 1" "$target"
check "readings numbered 1..N without a gap" \
	test "$(q "select count(*) = max(seq) and min(seq) = 1 from outbox where stream = 1")" = 1
check "one reading per interval, none missing across the lock" \
	test "$(q "select count(*) = max(interval) - min(interval) + 1 from outbox where stream = 1")" = 1
check "no reading lost" bash -c "! grep -q 'lost: .* readings already wait' '$T/h1.log'"
echo "# readings (seq:interval:state): $(q "select group_concat(seq || ':' || interval || ':' || state, ' ') from outbox where stream = 1")"
grep -E "reading .* rejected|renumbered|cannot store|stored [0-9]" "$T/h1.log" | head -5 | sed 's/^/# /'

# --- token reload -------------------------------------------------------------
body="{\"token\":\"$TOKEN1\"}"
curl -s -m 10 -c "$T/cookies" -H "Origin: http://127.0.0.1:$DASH" -H "Content-Type: application/json" \
	--data "$body" "http://127.0.0.1:$DASH/api/login" >/dev/null
cookie() { curl -s -o /dev/null -m 10 -w '%{http_code}' -b "$T/cookies" "http://127.0.0.1:$DASH/api/state"; }
check "the session of a login works" test "$(cookie)" = 200
write_conf "$TOKEN2"
kill -HUP "$APID"
WAIT_SECONDS=30 wait_for grep -q "token changed; every session ended" "$T/h1.log"
check "SIGHUP with a changed token ends the old session" test "$(cookie)" = 401
check "... and the old token" test "$(BEARER=$TOKEN1 api GET /api/state)" = 401
check "the new token works" test "$(BEARER=$TOKEN2 api GET /api/state)" = 200

# --- a restart over stored rows out of range ------------------------------------
stop_pid "$APID"
sqlite3 "$T/h1.db" "update outbox set interval = 4611686018427387904
	where stream = 1 and seq = (select max(seq) from outbox where stream = 1);
	insert or ignore into prices(interval, price, volume_wh) values (9223372036854775807, 1, 1);" ||
	not_ok "rows planted"
start_agent || not_ok "agent restarts"
check "the agent runs on over out-of-range rows" \
	test "$(BEARER=$TOKEN2 api GET /api/market)" = 200
sleep 1
check "... still alive" kill -0 "$APID"
check "no sanitizer report" bash -c "! grep -q 'runtime error\|AddressSanitizer' '$T/h1.log'"
finish
