#!/usr/bin/env bash
# crash_diskfull.sh: peerwatt-exchange with its database on a full disk
# (a 32 MiB tmpfs filled up while it runs) refuses new work with a signed
# REJECT `unavailable`, keeps running and answering, loses no ACKed order,
# and accepts orders again once space is free; the log then verifies.
# Then the same disk read-only: the exchange refuses to start (exit 69,
# "cannot open the database") and the database is unchanged.
# Needs root for the tmpfs mount: skipped (one "ok" line saying so) otherwise.
set -u
. "$(dirname "$0")/lib.sh"
B=$BUILD
T=$PW_TMP
N=4
D=$T/disk
mkdir -p "$D"
if [ "$(id -u)" != 0 ] || ! mount -t tmpfs -o size=32m tmpfs "$D" 2>/dev/null; then
	ok "crash_diskfull skipped: cannot mount a tmpfs (not root)"
	exit 0
fi
XPID=
disk_cleanup() {
	[ -n "$XPID" ] && stop_pid "$XPID"
	umount "$D" 2>/dev/null || umount -l "$D"
	pw_cleanup
}
trap disk_cleanup EXIT

"$B/peerwatt-exchange" keygen --out "$T/ex.key" >"$T/ex.pk" || exit 1
SPK=$(cat "$T/ex.pk")
"$B/pw-loadgen" init "$T/hh" $N >/dev/null || exit 1
P1=$(free_port)
P2=$(free_port)
exchange_conf "$T/x.conf" diskfull 7 "$P1" "$P2" "$T/hh/households" "$D/x.db" "$T/ex.key"
EP="tcp://127.0.0.1:$P1"
LG=("$B/pw-loadgen" run -e "$EP" -s "$SPK" -m 7 -d "$T/hh" -n $N -T 60 -i 20000 -o "$T/acked")

"$B/peerwatt-exchange" -c "$T/x.conf" 2>"$T/exchange.log" &
XPID=$!
wait_port "$P1" 60 || { not_ok "exchange listens"; exit 1; }
"${LG[@]}" -c 200 >"$T/lg1.out" 2>&1
check "orders ACKed with space on the disk" grep -q "acked 200 rejected 0" "$T/lg1.out"

# fill the disk to the last block
dd if=/dev/zero of="$D/fill" bs=4k >/dev/null 2>&1
check "the disk is full" test "$(df --output=avail -k "$D" | tail -1 | tr -d ' ')" -le 4
"${LG[@]}" -c 400 >"$T/lg2.out" 2>&1
check "on a full disk orders are refused as unavailable ($(grep reject "$T/lg2.out" | tr '\n' ' '))" \
	grep -q "reject unavailable [1-9]" "$T/lg2.out"
check "the exchange keeps running on a full disk" kill -0 "$XPID"
got=$("$B/pw-client" -e "$EP" -s "$SPK" -m 7 -k "$T/hh/hh-0.key" -t 20000 \
	order "$(date +%s%6N)" +3 sell 1 100000 +600 2>&1)
check "a single order on a full disk gets a clear answer (got '$got')" \
	grep -Eq "^(REJECT unavailable|ACK [0-9]+)$" <<<"$got"

rm -f "$D/fill"
# (with a 4 MiB disk the WAL itself filled it again: commits after the
# space came back may fail, and must then be refused as unavailable)
"${LG[@]}" -c 200 >"$T/lg3.out" 2>&1
check "orders are ACKed again once space is free ($(head -1 "$T/lg3.out"))" \
	grep -q "acked [1-9]" "$T/lg3.out"
check "refusals after the space came back say unavailable" \
	test "$(grep '^reject' "$T/lg3.out" | grep -cv '^reject unavailable ')" = 0
"${LG[@]}" -c 200 >"$T/lg4.out" 2>&1
check "then every order is ACKed ($(head -1 "$T/lg4.out"))" \
	grep -q "acked 200 rejected 0" "$T/lg4.out"
stop_pid "$XPID"
XPID=
check "integrity_check ok" test "$(sqlite3 "$D/x.db" 'PRAGMA integrity_check')" = ok
missing=$(sqlite3 "$D/x.db" <<SQL 2>&1 | tail -1
CREATE TEMP TABLE acked(pk TEXT, seq INTEGER, idx INTEGER);
.separator " "
.import $T/acked acked
SELECT COUNT(*) FROM acked a LEFT JOIN orders o
  ON lower(hex(o.pk)) = a.pk AND o.seq = a.seq AND o.log_idx = a.idx
  WHERE o.log_idx IS NULL;
SQL
)
check "no ACKed order lost ($(wc -l <"$T/acked") ACKs, missing $missing)" test "$missing" = 0
check "the log has no gap" test "$(sqlite3 "$D/x.db" 'SELECT MAX(idx) + 1 - COUNT(*) FROM log')" = 0
"$B/peerwatt-audit" verify "$D/x.db" >"$T/audit.out" 2>&1
check "peerwatt-audit verifies the log after the full disk ($(grep verdict "$T/audit.out"))" \
	grep -q "verdict *OK" "$T/audit.out"

# a read-only database: the exchange refuses to start (69, a clear
# message) and leaves it as it was
entries=$(sqlite3 "$D/x.db" 'SELECT COUNT(*) FROM log')
if mount -o remount,ro "$D"; then
	timeout 60 "$B/peerwatt-exchange" -c "$T/x.conf" 2>"$T/exchange-ro.log"
	rc=$?
	mount -o remount,rw "$D"
	check "on a read-only database the exchange exits 69 (got $rc)" test "$rc" = 69
	check "and says why ($(tail -1 "$T/exchange-ro.log"))" \
		grep -q "cannot open the database" "$T/exchange-ro.log"
	check "the read-only database is unchanged" \
		test "$(sqlite3 "$D/x.db" 'SELECT COUNT(*) FROM log')" = "$entries"
else
	not_ok "remount the database's disk read-only"
fi
finish
