#!/usr/bin/env bash
# cli.sh: the command-line contract of DESIGN.md section 11, program by
# program: --help (stdout, 0), --version (0), unknown options and missing
# values (message on stderr, 64), missing config files (78, file named),
# config errors as "file:line: message" with 78, --check-config of the
# shipped examples, SIGHUP with a bad file keeping the old configuration,
# SIGTERM exiting 0, `make deps` as a non-root user naming the apt-get line,
# and the man pages' synopses matching --help.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/integration/lib.sh
B=$BUILD
T=$(pwd)/$PW_TMP
AGENT=$B/peerwatt-agent
EXCH=$B/peerwatt-exchange
AUDIT=$B/peerwatt-audit
SIM=$B/peerwatt-sim

# run CMD...: sets rc, and leaves stdout/stderr in $T/out and $T/err
run() {
	"$@" >"$T/out" 2>"$T/err"
	rc=$?
}

# --- --help / --version / usage errors, every program ------------------------------
for prog in "$AGENT" "$EXCH" "$AUDIT" "$SIM"; do
	name=$(basename "$prog")
	run "$prog" --help
	check "$name --help: usage on stdout, nothing on stderr, exit 0" \
		test "$rc" = 0 -a -s "$T/out" -a ! -s "$T/err" -a -n "$(grep -i '^usage:' "$T/out")"
	run "$prog" --version
	check "$name --version prints '$name VERSION' and exits 0" \
		test "$rc" = 0 -a -n "$(grep -E "^$name [0-9]+\.[0-9]+" "$T/out")"
	run "$prog" --no-such-option
	check "$name --no-such-option: exit 64, stderr calls it unknown, stdout empty" \
		test "$rc" = 64 -a ! -s "$T/out" -a -n "$(grep -iE -- "(unknown|unrecognized) .*--no-such-option" "$T/err")"
done

for sub in "$AGENT keygen" "$AGENT probe" "$EXCH keygen" "$AUDIT verify" "$AUDIT export"; do
	# shellcheck disable=SC2086 # program and subcommand
	run $sub --help
	check "$(basename "$sub") --help: usage on stdout, exit 0" \
		test "$rc" = 0 -a -n "$(grep -i '^usage:' "$T/out")" -a ! -s "$T/err"
done

# usage errors read alike everywhere: "NAME: what" then "Try 'NAME --help'." (the
# program's name with its subcommand, never argv[0], which here is a path: build/...)
try_help() { # NAME WHAT CMD...: exit 64, those two lines exactly
	local name=$1 what=$2
	shift 2
	run "$@"
	if [ "$rc" = 64 ] && [ ! -s "$T/out" ] && [ "$(wc -l <"$T/err")" = 2 ] &&
		[ "$(head -1 "$T/err")" = "$name: $what" ] &&
		[ "$(tail -1 "$T/err")" = "Try '$name --help'." ]; then
		ok "$name: '$what' + Try line, exit 64"
	else
		not_ok "$name: '$what' + Try line (rc $rc, stderr: $(tr '\n' '|' <"$T/err"))"
	fi
}
try_help peerwatt-agent "unknown option '--bogus'" "$AGENT" --bogus
try_help peerwatt-agent "unknown option '-x'" "$AGENT" -x
try_help peerwatt-agent "option '--config' needs a value" "$AGENT" --config
try_help peerwatt-agent "option '--check-config' takes no value" "$AGENT" -c x --check-config=1
try_help peerwatt-agent "unexpected argument 'extra'" "$AGENT" -c x extra
try_help "peerwatt-agent keygen" "unknown option '--bogus'" "$AGENT" keygen --bogus
try_help "peerwatt-agent keygen" "option '--out' needs a value" "$AGENT" keygen --out
try_help "peerwatt-agent probe" "unknown option '--bogus'" "$AGENT" probe --bogus
try_help "peerwatt-agent probe" "option '--unit' needs a value" "$AGENT" probe --unit
try_help peerwatt-exchange "unknown option '--bogus'" "$EXCH" --bogus
try_help peerwatt-exchange "unexpected argument 'extra'" "$EXCH" extra
try_help "peerwatt-exchange keygen" "unknown option '--bogus'" "$EXCH" keygen --bogus
try_help peerwatt-audit "unknown command 'check'" "$AUDIT" check x.db
try_help "peerwatt-audit verify" "unknown option '--bogus'" "$AUDIT" verify x.db --bogus
try_help "peerwatt-audit export" "option '--csv' needs a value" "$AUDIT" export x.db --csv
try_help peerwatt-sim "unknown option '--bogus'" "$SIM" --bogus
try_help peerwatt-sim "option '--unit' needs a value" "$SIM" --unit

# usage errors that are missing arguments: exit 64 and a message naming what
usage_err() { # NAME WORD CMD...: exit 64, WORD in stderr, nothing on stdout
	local name=$1 word=$2
	shift 2
	run "$@"
	if [ "$rc" = 64 ] && [ ! -s "$T/out" ] && grep -qiF -- "$word" "$T/err"; then
		ok "$name"
	else
		not_ok "$name (rc $rc, stderr: $(head -1 "$T/err"))"
	fi
}
usage_err "peerwatt-agent -c without FILE: 64" "-c" "$AGENT" -c
usage_err "peerwatt-exchange -c without FILE: 64" "-c" "$EXCH" -c
usage_err "peerwatt-agent without arguments: 64" "-c FILE" "$AGENT"
usage_err "peerwatt-exchange without arguments: 64" "-c FILE" "$EXCH"
usage_err "peerwatt-agent keygen --out without FILE: 64" "--out" "$AGENT" keygen --out
usage_err "peerwatt-agent probe without --modbus: 64" "--modbus" "$AGENT" probe
usage_err "peerwatt-audit verify without DB: 64" "DB" "$AUDIT" verify
usage_err "peerwatt-audit export without --csv: 64" "--csv" "$AUDIT" export "$T/x.db"
usage_err "peerwatt-audit export --csv without DIR: 64" "--csv" "$AUDIT" export "$T/x.db" --csv
usage_err "peerwatt-sim without --listen: 64" "--listen" "$SIM"
usage_err "peerwatt-sim --listen without a value: 64" "--listen" "$SIM" --listen
usage_err "peerwatt-sim --unit 999 is out of range: 64" "--unit" "$SIM" --listen tcp://127.0.0.1:1 --unit 999
usage_err "peerwatt-sim --epoch needs --start-time: 64" "--epoch needs --start-time" "$SIM" \
	--listen tcp://127.0.0.1:1 --epoch "$(date +%s)"
usage_err "peerwatt-sim --epoch a year ago: 64" "--epoch" "$SIM" --listen tcp://127.0.0.1:1 \
	--start-time 07:00 --epoch $(($(date +%s) - 365 * 86400))

# keygen where it cannot create the file: the path and why, 73 (EX_CANTCREAT)
for kg in "$AGENT keygen" "$EXCH keygen"; do
	name=$(basename "${kg% *}")" keygen"
	# shellcheck disable=SC2086 # program and subcommand
	run $kg --out "$T/no-such-dir/h.key"
	check "$name into a missing directory: exit 73, names the directory" \
		test "$rc" = 73 -a "$(cat "$T/err")" = "$name: cannot create $T/no-such-dir/h.key: directory $T/no-such-dir does not exist"
	: >"$T/kg-exists.key"
	# shellcheck disable=SC2086
	run $kg --out "$T/kg-exists.key"
	check "$name onto an existing file: exit 73, says it exists" \
		test "$rc" = 73 -a -n "$(grep -F "$T/kg-exists.key already exists" "$T/err")"
	rm -f "$T/kg-exists.key"
done

# a device nobody answers for: probe says so and exits 69 (EX_UNAVAILABLE)
NP=$(free_port)
run "$AGENT" probe --modbus "tcp://127.0.0.1:$NP" --unit 1 --timeout 500
check "peerwatt-agent probe of a dead address exits 69 naming it" \
	test "$rc" = 69 -a -n "$(grep -F "127.0.0.1:$NP" "$T/err")"

# --- missing files ----------------------------------------------------------------
for prog in "$AGENT" "$EXCH"; do
	name=$(basename "$prog")
	run "$prog" -c "$T/missing.conf" --check-config
	check "$name: a missing config exits 78 naming the file" \
		test "$rc" = 78 -a -n "$(grep -F "$T/missing.conf" "$T/err")"
	mkdir -p "$T/dir.conf"
	run "$prog" -c "$T/dir.conf" --check-config
	check "$name: an unreadable config (a directory) exits 78 naming the file" \
		test "$rc" = 78 -a -n "$(grep -F "$T/dir.conf" "$T/err")"
done
run "$AUDIT" verify "$T/missing.db"
check "peerwatt-audit verify: a missing database exits 66 naming it" \
	test "$rc" = 66 -a -n "$(grep -F "$T/missing.db" "$T/err")"
check "peerwatt-audit verify: a missing database is not created" test ! -e "$T/missing.db"

# --- the shipped example configurations, paths moved into $T ----------------------------
"$EXCH" keygen --out "$T/ex.key" >"$T/ex.pk" || not_ok "exchange keygen"
"$AGENT" keygen --out "$T/h.key" --id h1 --name home --serial SIM-0001 --zone north >"$T/h.out" ||
	not_ok "agent keygen"
grep '^h1 ' "$T/h.out" >"$T/households"
XP1=$(free_port)
XP2=$(free_port)
sed -e "s|/etc/peerwatt/households|$T/households|" -e "s|/var/lib/peerwatt/exchange.db|$T/x.db|" \
	-e "s|/var/lib/peerwatt/exchange.key|$T/ex.key|" \
	-e "s|tcp://127.0.0.1:7700|tcp://127.0.0.1:$XP1|" -e "s|tcp://127.0.0.1:7701|tcp://127.0.0.1:$XP2|" \
	config/exchange.conf.example >"$T/x.conf"
MB=$(free_port) # nothing listens: the agent keeps retrying the device
sed -e "s|/var/lib/peerwatt/household.key|$T/h.key|" -e "s|/var/lib/peerwatt/agent.db|$T/a.db|" \
	-e "s|/var/lib/peerwatt/checkpoints.txt|$T/cp.txt|" \
	-e "s|^public_key = .*|public_key = $(cat "$T/ex.pk")|" \
	-e "s|^modbus = .*|modbus = tcp://127.0.0.1:$MB|" \
	-e "s|^request = .*|request = tcp://127.0.0.1:$XP1|" -e "s|^pub = .*|pub = tcp://127.0.0.1:$XP2|" \
	-e "s|^enabled = yes|enabled = no|" \
	-e "s|/usr/local/share/peerwatt/web|$(pwd)/agent/web|" \
	config/agent.conf.example >"$T/a.conf"
run "$EXCH" -c "$T/x.conf" --check-config
check "peerwatt-exchange --check-config accepts config/exchange.conf.example (exit 0)" test "$rc" = 0
run "$AGENT" -c "$T/a.conf" --check-config
check "peerwatt-agent --check-config accepts config/agent.conf.example (exit 0)" test "$rc" = 0
check "--check-config creates no database" test ! -e "$T/x.db" -a ! -e "$T/a.db"
# what the daemons refuse at start must fail --check-config too
sed "s|^modbus = .*|modbus = udp://127.0.0.1:$MB|" "$T/a.conf" >"$T/a-url.conf"
run "$AGENT" -c "$T/a-url.conf" --check-config
check "peerwatt-agent --check-config refuses a bad [device] modbus URL (78)" \
	test "$rc" = 78 -a -n "$(grep -F "udp://" "$T/err")"
sed "s|^public_key = .*|public_key = $(printf '0%.0s' {1..64})|" "$T/a.conf" >"$T/a-zero.conf"
run "$AGENT" -c "$T/a-zero.conf" --check-config
check "peerwatt-agent --check-config refuses the example's all-zero exchange key (78, why)" \
	test "$rc" = 78 -a -n "$(grep -F "public_key is the all-zero placeholder" "$T/err")"
sed -e "s|^enabled = no|enabled = yes|" -e "s|^web_root = .*|web_root = $T/no-web|" "$T/a.conf" >"$T/a-web.conf"
run "$AGENT" -c "$T/a-web.conf" --check-config
check "peerwatt-agent --check-config refuses a web_root that does not exist (78, named)" \
	test "$rc" = 78 -a -n "$(grep -F "web_root $T/no-web is not a directory" "$T/err")"
sed -e "s|^enabled = no|enabled = yes|" "$T/a.conf" >"$T/a-web-ok.conf"
run "$AGENT" -c "$T/a-web-ok.conf" --check-config
check "... and accepts this tree's agent/web (exit 0)" test "$rc" = 0
sed "s|^key_file = .*|key_file = $T/no.key|" "$T/a.conf" >"$T/a-key.conf"
run "$AGENT" -c "$T/a-key.conf" --check-config
check "peerwatt-agent --check-config refuses a missing key file (78, named)" \
	test "$rc" = 78 -a -n "$(grep -F "$T/no.key" "$T/err")"
sed "s|^key = .*|key = $T/no.key|" "$T/x.conf" >"$T/x-key.conf"
run "$EXCH" -c "$T/x-key.conf" --check-config
check "peerwatt-exchange --check-config refuses a missing key file (78, named)" \
	test "$rc" = 78 -a -n "$(grep -F "key file $T/no.key: " "$T/err")"
check "peerwatt-exchange: a key file error is not dressed as a config line (no ':0:')" \
	test -z "$(grep -F "no.key:0:" "$T/err")"
sed "s|^registry = .*|registry = $T/no.reg|" "$T/x.conf" >"$T/x-reg.conf"
run "$EXCH" -c "$T/x-reg.conf" --check-config
check "peerwatt-exchange --check-config refuses a missing registry (78, named)" \
	test "$rc" = 78 -a -n "$(grep -F "$T/no.reg" "$T/err")"

# rules across keys: reported at the line of the later key, never line 0
sed "s|^gate_s = 60 |gate_s = 900|" "$T/x.conf" >"$T/x-gate.conf"
XGL=$(grep -n '^gate_s' "$T/x-gate.conf" | cut -d: -f1)
run "$EXCH" -c "$T/x-gate.conf" --check-config
check "peerwatt-exchange: gate_s = interval_s refused at its line (78, x-gate.conf:$XGL:)" \
	test "$rc" = 78 -a -n "$(grep -F "x-gate.conf:$XGL: [market] gate_s must be below interval_s" "$T/err")"
sed "s|^retail = .*|retail = 0.01|" "$T/x.conf" >"$T/x-tariff.conf"
XTL=$(grep -n '^retail' "$T/x-tariff.conf" | cut -d: -f1)
run "$EXCH" -c "$T/x-tariff.conf" --check-config
check "peerwatt-exchange: feedin above retail refused at the later key (78, :$XTL:)" \
	test "$rc" = 78 -a -n "$(grep -F "x-tariff.conf:$XTL: [market] feedin must not exceed retail" "$T/err")"
sed "s|^gate_s = .*|gate_s = 900|" "$T/a.conf" >"$T/a-gate.conf"
AGL=$(grep -n '^gate_s' "$T/a-gate.conf" | cut -d: -f1)
run "$AGENT" -c "$T/a-gate.conf" --check-config
check "peerwatt-agent: gate_s = interval_s refused at its line (78, a-gate.conf:$AGL:)" \
	test "$rc" = 78 -a -n "$(grep -F "a-gate.conf:$AGL: [exchange] gate_s must be below interval_s" "$T/err")"

# --- config errors: file:line: message and 78 --------------------------------------
# conf_err PROG NAME SECTION LINE: the bad line is line 3 of the file
conf_err() {
	local prog=$1 name=$2 section=$3 line=$4
	printf '; a comment\n[%s]\n%s\n' "$section" "$line" >"$T/bad.conf"
	run "$prog" -c "$T/bad.conf" --check-config
	if [ "$rc" = 78 ] && grep -qE "$T/bad.conf:3: .+" "$T/err"; then
		ok "$(basename "$prog"): $name: exit 78, 'file:3: message'"
	else
		not_ok "$(basename "$prog"): $name (rc $rc, stderr: $(head -1 "$T/err"))"
	fi
}
conf_err "$EXCH" "unknown key" market "bogus = 1"
conf_err "$EXCH" "value out of range" market "interval_s = -5"
conf_err "$EXCH" "integer overflow" market "id = 99999999999999999999"
conf_err "$EXCH" "not a number" network "batch_max = 12abc"
conf_err "$EXCH" "malformed line" market "this is not a key value line"
conf_err "$EXCH" "unknown section" nosuch "x = 1"
conf_err "$AGENT" "unknown key" device "bogus = 1"
conf_err "$AGENT" "value out of range" device "poll_ms = -5"
conf_err "$AGENT" "integer overflow" device "unit = 99999999999999999999"
conf_err "$AGENT" "not a number" device "timeout_ms = 12abc"
conf_err "$AGENT" "bad enumeration" policy "strategy = cheapest"
conf_err "$AGENT" "malformed line" device "this is not a key value line"
conf_err "$AGENT" "unknown section" nosuch "x = 1"

# --- daemons: SIGHUP with a bad file keeps the old one, SIGTERM exits 0 --------------
# daemon_signals NAME CONF LOG PIDVAR-prefix: started by the caller
hup_bad_keeps() { # NAME PID CONF LOG
	local name=$1 pid=$2 conf=$3 log=$4
	cp "$conf" "$conf.good"
	printf '[market]\nbogus = 1\n' >"$conf"
	kill -HUP "$pid"
	WAIT_SECONDS=30 wait_for grep -q "keeping the old configuration" "$log"
	check "$name: SIGHUP with a bad file logs 'keeping the old configuration'" \
		grep -q "keeping the old configuration" "$log"
	check "$name: the reload error names file:line" grep -q "$(basename "$conf"):2" "$log"
	check "$name: still running after the bad reload" kill -0 "$pid"
	# sd-daemon priorities: the refusal is a warning or an error, not info
	check "$name: the refusal is logged with priority <3> or <4>" \
		grep -qE "^<[34]>.*keeping the old configuration" "$log"
	cp "$conf.good" "$conf"
}
hup_good_reloads() { # NAME PID CONF LOG WANT
	local name=$1 pid=$2 log=$4 want=$5
	kill -HUP "$pid"
	WAIT_SECONDS=30 wait_for grep -q "$want" "$log"
	check "$name: SIGHUP with the good file again reloads it" grep -q "$want" "$log"
}
term_exits_0() { # NAME PID [SIGNAL]
	local name=$1 pid=$2 sig=${3:-TERM} i=0 rc
	kill -"$sig" "$pid"
	while kill -0 "$pid" 2>/dev/null && [ $i -lt 600 ]; do
		i=$((i + 1))
		sleep 0.05
	done
	wait "$pid"
	rc=$?
	check "$name: SIG$sig stops it with exit 0 (got $rc)" test "$rc" = 0
}

"$EXCH" -c "$T/x.conf" 2>"$T/exchange.log" &
XPID=$!
PW_PIDS+=("$XPID")
if wait_port "$XP1" 60; then
	ok "peerwatt-exchange starts from the example configuration"
	hup_bad_keeps peerwatt-exchange "$XPID" "$T/x.conf" "$T/exchange.log"
	check "peerwatt-exchange: still serves after the bad reload" port_open "$XP1"
	hup_good_reloads peerwatt-exchange "$XPID" "$T/x.conf" "$T/exchange.log" \
		"reload: configuration and 1 households loaded"
	term_exits_0 peerwatt-exchange "$XPID"
	# SIGINT is a graceful stop too; the database left by the first run is reused
	"$EXCH" -c "$T/x.conf" 2>"$T/exchange2.log" &
	XPID=$!
	PW_PIDS+=("$XPID")
	if wait_port "$XP1" 60; then
		term_exits_0 "peerwatt-exchange (restarted on its database)" "$XPID" INT
	else
		not_ok "peerwatt-exchange restarts on its database"
		tail -5 "$T/exchange2.log"
	fi
else
	not_ok "peerwatt-exchange starts from the example configuration"
	tail -5 "$T/exchange.log"
fi

"$AGENT" -c "$T/a.conf" 2>"$T/agent.log" &
APID=$!
PW_PIDS+=("$APID")
# the agent is up once its database exists and it has logged something
WAIT_SECONDS=60 wait_for test -s "$T/a.db"
if kill -0 "$APID" 2>/dev/null; then
	ok "peerwatt-agent starts from the example configuration (no device, no exchange)"
	# [market] is unknown to the agent too, so the same bad file serves
	hup_bad_keeps peerwatt-agent "$APID" "$T/a.conf" "$T/agent.log"
	hup_good_reloads peerwatt-agent "$APID" "$T/a.conf" "$T/agent.log" "configuration reloaded"
	term_exits_0 peerwatt-agent "$APID"
else
	not_ok "peerwatt-agent starts from the example configuration"
	tail -5 "$T/agent.log"
fi

SP=$(free_port)
"$SIM" --listen "tcp://127.0.0.1:$SP" >"$T/sim.out" 2>"$T/sim.err" &
SPID=$!
PW_PIDS+=("$SPID")
if WAIT_SECONDS=60 wait_for grep -q "listening on" "$T/sim.out"; then
	run "$SIM" --listen "tcp://127.0.0.1:$SP"
	check "peerwatt-sim: an address in use exits 69" test "$rc" = 69
	term_exits_0 peerwatt-sim "$SPID"
	"$SIM" --listen "tcp://127.0.0.1:$SP" >"$T/sim2.out" 2>"$T/sim2.err" &
	SPID=$!
	PW_PIDS+=("$SPID")
	WAIT_SECONDS=60 wait_for grep -q "listening on" "$T/sim2.out"
	term_exits_0 peerwatt-sim "$SPID" INT
else
	not_ok "peerwatt-sim starts"
fi

# --- make deps as a non-root user with nothing found ---------------------------------
if [ "$(id -u)" != 0 ]; then
	runas=()
elif command -v setpriv >/dev/null 2>&1 && setpriv --reuid=nobody --regid=nogroup --clear-groups test -r Makefile 2>/dev/null; then
	runas=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
else
	runas=(none)
fi
if [ "${runas[0]:-}" = none ]; then
	ok "make deps names the apt-get line # SKIP cannot run make as nobody here"
else
	"${runas[@]}" env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS PKG_CONFIG_LIBDIR=/nonexistent PKG_CONFIG_PATH= \
		make --no-print-directory -s deps >"$T/deps.out" 2>"$T/deps.err"
	rc=$?
	check "make deps (non-root, nothing found) fails with the recipe's exit 69" \
		bash -c "[ $rc -ne 0 ] && grep -q 'Error 69' '$T/deps.err'"
	check "make deps names the missing packages" grep -q "^deps: missing:.*libzmq" "$T/deps.out"
	check "make deps prints the exact apt-get install line" \
		grep -qE "apt-get install -y .*libzmq3-dev.*libsodium-dev" "$T/deps.out"
fi

# --- man pages: every option of the SYNOPSIS is one the program takes -------------------
syn_opts_in_help() { # PAGE CMD...
	local page=$1 help o missing=""
	shift
	help=$("$@" 2>&1)
	for o in $(sed -n '/^\.SH SYNOPSIS/,/^\.SH /p' "$page" | sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' |
		grep -oE -- '--[a-z][a-z0-9-]*' | sort -u); do
		grep -qF -- "$o" <<<"$help" || missing="$missing $o"
	done
	if [ -z "$missing" ]; then ok "$page: SYNOPSIS options are in --help"; else not_ok "$page: SYNOPSIS options not in --help:$missing"; fi
}
syn_opts_in_help docs/man/peerwatt-agent.8 bash -c "'$AGENT' --help; '$AGENT' keygen --help; '$AGENT' probe --help"
syn_opts_in_help docs/man/peerwatt-exchange.8 "$EXCH" --help
syn_opts_in_help docs/man/peerwatt-audit.1 "$AUDIT" --help
syn_opts_in_help docs/man/peerwatt-sim.1 "$SIM" --help
# and the other way: every option --help names is documented in the page
help_opts_in_man() { # PAGE CMD...
	local page=$1 o missing="" man
	shift
	man=$(sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' "$page")
	for o in $("$@" 2>&1 | grep -oE -- '--[a-z][a-z0-9-]*' | sort -u); do
		grep -qF -- "$o" <<<"$man" || missing="$missing $o"
	done
	if [ -z "$missing" ]; then ok "$page: every --help option is documented"; else not_ok "$page: --help options missing from the page:$missing"; fi
}
help_opts_in_man docs/man/peerwatt-agent.8 bash -c "'$AGENT' --help; '$AGENT' keygen --help; '$AGENT' probe --help"
help_opts_in_man docs/man/peerwatt-exchange.8 bash -c "'$EXCH' --help; '$EXCH' keygen --help"
help_opts_in_man docs/man/peerwatt-audit.1 "$AUDIT" --help
help_opts_in_man docs/man/peerwatt-sim.1 "$SIM" --help
check "peerwatt-sim.1 documents rtu: for --listen as --help does" grep -q 'rtu:' docs/man/peerwatt-sim.1
finish
