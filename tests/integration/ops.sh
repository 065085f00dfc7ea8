#!/usr/bin/env bash
# ops.sh: operations artefacts.  Every man page renders without a warning,
# `make install` with PREFIX and DESTDIR puts programs, man pages, docs,
# examples and units where they belong (units rewritten to PREFIX), and the
# installed systemd units pass `systemd-analyze verify` with no output.
# `make install PREFIX=/usr DESTDIR=...` writes /usr into the installed
# examples (web_root included), and the installed programs accept the
# installed examples with --check-config once they point at loopback and
# this test's directory (never run against another network).
set -u
. tests/integration/lib.sh
top=$(pwd)
tmp=$top/$PW_TMP

pages=(docs/man/peerwatt-agent.8 docs/man/peerwatt-exchange.8 docs/man/peerwatt-audit.1
	docs/man/peerwatt-sim.1 docs/man/peerwatt.conf.5)

# --- man pages -----------------------------------------------------------------
if command -v man >/dev/null 2>&1; then
	for p in "${pages[@]}"; do
		if [ ! -f "$p" ]; then
			not_ok "man page $p exists"
			continue
		fi
		warn=$(MANWIDTH=80 man --warnings -l "$p" 2>&1 >/dev/null)
		text=$(MANWIDTH=80 man -l "$p" 2>/dev/null)
		name=$(basename "$p")
		name=${name%.*}
		if [ -z "$warn" ] && grep -q "^NAME" <<<"$text" && grep -q "$name" <<<"$text"; then
			ok "man -l $p renders without warnings"
		else
			not_ok "man -l $p renders without warnings: $warn"
		fi
	done
else
	ok "man pages # SKIP man is not installed"
fi

# --- every option a program's --help names is in its man page ---------------------
# (the man pages describe the programs as built: a new option needs its doc)
opts_in_page() { # page, then the command printing the usage
	local page=$1 help missing="" o text
	shift
	help=$("$@" 2>&1)
	if grep -q "not built yet" <<<"$help"; then
		ok "options of '$*' documented # SKIP not built yet"
		return
	fi
	text=$(sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' "$page")
	for o in $(grep -oE -- '--[a-z][a-z0-9-]*' <<<"$help" | sort -u); do
		grep -qF -- "$o" <<<"$text" || missing="$missing $o"
	done
	if [ -z "$missing" ]; then
		ok "options of '$*' documented in $page"
	else
		not_ok "options of '$*' missing from $page:$missing"
	fi
}
opts_in_page docs/man/peerwatt-agent.8 "$BUILD/peerwatt-agent" --help
opts_in_page docs/man/peerwatt-agent.8 "$BUILD/peerwatt-agent" keygen --help
opts_in_page docs/man/peerwatt-agent.8 "$BUILD/peerwatt-agent" probe --help
opts_in_page docs/man/peerwatt-exchange.8 "$BUILD/peerwatt-exchange" --help
opts_in_page docs/man/peerwatt-audit.1 "$BUILD/peerwatt-audit" --help
opts_in_page docs/man/peerwatt-sim.1 "$BUILD/peerwatt-sim" --help

# every configuration key the exchange lists in --help is in peerwatt.conf(5),
# with the same default
keys_in_conf() {
	local help missing="" line key def
	help=$("$BUILD/peerwatt-exchange" --help 2>&1)
	if grep -q "not built yet" <<<"$help"; then
		ok "exchange keys documented # SKIP not built yet"
		return
	fi
	while IFS= read -r line; do
		key=$(sed -E 's/^ +\[[a-z]+\] +([a-z_]+) .*/\1/' <<<"$line")
		def=$(sed -nE 's/.*\(default ([^)]*)\)$/\1/p' <<<"$line")
		if ! grep -qE "^\.(BR?|TP) +$key( |\$)" docs/man/peerwatt.conf.5; then
			missing="$missing $key"
		elif [ -n "$def" ] && ! grep -E "^\.BR? +$key " docs/man/peerwatt.conf.5 | grep -qF "default $def)"; then
			missing="$missing $key(default $def)"
		fi
	done < <(grep -E '^ +\[[a-z]+\] +[a-z_]+ ' <<<"$help")
	if [ -z "$missing" ]; then
		ok "every exchange key and default of --help is in peerwatt.conf.5"
	else
		not_ok "exchange keys missing or with another default in peerwatt.conf.5:$missing"
	fi
}
keys_in_conf

# --- make install into a DESTDIR -----------------------------------------------
dest=$tmp/dest
prefix=/opt/pw
# MAKEFLAGS from the outer make carries SANITIZE etc., so nothing is rebuilt.
if make --no-print-directory -s install DESTDIR="$dest" PREFIX="$prefix" \
	SANITIZE="${SANITIZE:-}" >"$tmp/install.log" 2>&1; then
	ok "make install DESTDIR PREFIX"
else
	not_ok "make install DESTDIR PREFIX"
	tail -20 "$tmp/install.log"
fi
missing=""
for f in bin/peerwatt-agent bin/peerwatt-exchange bin/peerwatt-audit \
	share/man/man8/peerwatt-agent.8 share/man/man8/peerwatt-exchange.8 \
	share/man/man1/peerwatt-audit.1 share/man/man1/peerwatt-sim.1 share/man/man5/peerwatt.conf.5 \
	share/doc/peerwatt/README.md share/doc/peerwatt/architecture.md \
	share/doc/peerwatt/operations.md \
	share/doc/peerwatt/examples/exchange.conf.example share/doc/peerwatt/examples/agent.conf.example \
	lib/systemd/system/peerwatt-exchange.service lib/systemd/system/peerwatt-agent.service; do
	[ -f "$dest$prefix/$f" ] || missing="$missing $f"
done
if [ -z "$missing" ]; then ok "installed files in place"; else not_ok "installed files missing:$missing"; fi
check "installed binaries are executable and run" \
	bash -c "[ -x '$dest$prefix/bin/peerwatt-exchange' ] && '$dest$prefix/bin/peerwatt-exchange' --version | grep -q '^peerwatt-exchange '"
check "nothing installed outside DESTDIR/PREFIX" \
	bash -c "[ -z \"\$(find '$dest' -mindepth 1 -maxdepth 1 ! -name opt)\" ]"
check "units point at PREFIX" \
	bash -c "grep -q '^ExecStart=$prefix/bin/peerwatt-exchange ' '$dest$prefix/lib/systemd/system/peerwatt-exchange.service' &&
	         grep -q '^ExecStart=$prefix/bin/peerwatt-agent ' '$dest$prefix/lib/systemd/system/peerwatt-agent.service' &&
	         ! grep -q '^[^#]*/usr/local' '$dest$prefix/lib/systemd/system/'*.service"
for u in exchange agent; do
	f=$dest$prefix/lib/systemd/system/peerwatt-$u.service
	check "peerwatt-$u.service: Type=notify, StateDirectory, RuntimeDirectory, hardening" \
		bash -c "grep -q '^Type=notify$' '$f' && grep -q '^StateDirectory=' '$f' &&
		         grep -q '^RuntimeDirectory=' '$f' && grep -q '^NoNewPrivileges=yes$' '$f' &&
		         grep -q '^ProtectSystem=strict$' '$f' && grep -q '^ExecReload=' '$f'"
done

# --- make install PREFIX=/usr: the installed examples work as installed -------------
dest2=$tmp/dest-usr
if make --no-print-directory -s install DESTDIR="$dest2" PREFIX=/usr \
	SANITIZE="${SANITIZE:-}" >"$tmp/install-usr.log" 2>&1; then
	ok "make install PREFIX=/usr DESTDIR"
else
	not_ok "make install PREFIX=/usr DESTDIR"
	tail -20 "$tmp/install-usr.log"
fi
ex=$dest2/usr/share/doc/peerwatt/examples
check "installed agent example: web_root is PREFIX's page (/usr/share/peerwatt/web)" \
	grep -q '^web_root = /usr/share/peerwatt/web *\(;.*\)\?$' "$ex/agent.conf.example"
check "... which make install put there (index.html)" test -f "$dest2/usr/share/peerwatt/web/index.html"
check "no /usr/local path left in the installed examples and units (comments aside)" \
	bash -c "! grep -h /usr/local/ '$ex'/*.example '$dest2'/usr/lib/systemd/system/*.service | grep -v '^[#;]'"
# the examples, modified only where they name this machine's state, the
# network and the placeholder key: paths under $tmp, loopback endpoints
st=$tmp/state
mkdir -p "$st"
"$dest2/usr/bin/peerwatt-exchange" keygen --out "$st/exchange.key" >"$st/exchange.pk" 2>&1
"$dest2/usr/bin/peerwatt-agent" keygen --out "$st/household.key" --id h1 --name alice \
	--serial SN-0001 --zone north --max-export-w 5000 --max-import-w 8000 >"$st/keygen.out" 2>&1
grep '^h1 alice ' "$st/keygen.out" >"$st/households"
xpk=$(tr -d ' \n' <"$st/exchange.pk" | sed 's/^public key://')
XP1=$(free_port)
XP2=$(free_port)
MB=$(free_port)
sed -e "s|/var/lib/peerwatt/|$st/|g" -e "s|/etc/peerwatt/households|$st/households|" \
	-e "s|tcp://127.0.0.1:7700|tcp://127.0.0.1:$XP1|" -e "s|tcp://127.0.0.1:7701|tcp://127.0.0.1:$XP2|" \
	"$ex/exchange.conf.example" >"$st/exchange.conf"
sed -e "s|/var/lib/peerwatt/|$st/|g" -e "s|tcp://exchange.example.net:7700|tcp://127.0.0.1:$XP1|" \
	-e "s|tcp://exchange.example.net:7701|tcp://127.0.0.1:$XP2|" \
	-e "s|tcp://192.168.1.50:502|tcp://127.0.0.1:$MB|" -e "s|^public_key = [0-9a-f]*|public_key = $xpk|" \
	-e "s|/usr/share/peerwatt/web|$dest2/usr/share/peerwatt/web|" \
	"$ex/agent.conf.example" >"$st/agent.conf"
check "the installed examples, pointed at loopback and $PW_TMP, name no other host" \
	bash -c "! grep -hE '^[a-z_]+ *= *tcp://' '$st/exchange.conf' '$st/agent.conf' | grep -v 'tcp://127\.0\.0\.1:'"
"$dest2/usr/bin/peerwatt-exchange" -c "$st/exchange.conf" --check-config >"$tmp/cc.out" 2>&1
rc=$?
check "installed peerwatt-exchange --check-config accepts the installed example (exit $rc)" test "$rc" = 0
[ "$rc" = 0 ] || cat "$tmp/cc.out"
"$dest2/usr/bin/peerwatt-agent" -c "$st/agent.conf" --check-config >"$tmp/cc.out" 2>&1
rc=$?
check "installed peerwatt-agent --check-config accepts the installed example, dashboard on (exit $rc)" \
	test "$rc" = 0 -a -n "$(grep -c '^enabled = yes' "$st/agent.conf")"
[ "$rc" = 0 ] || cat "$tmp/cc.out"
check "the example's household is the registry example's alice (serial, capacities)" \
	bash -c "grep -q '^h1 alice [0-9a-f]* SN-0001 north 5000 8000\$' '$ex/households.example' &&
	         grep -q '^serial = SN-0001 ' '$ex/agent.conf.example' &&
	         grep -q '^max_export_w = 5000 ' '$ex/agent.conf.example' &&
	         grep -q '^max_import_w = 8000\$' '$ex/agent.conf.example'"
check "the agent example's market is the exchange example's (id, interval, gate, tariffs)" \
	bash -c "for k in 'id|market_id' 'interval_s|interval_s' 'gate_s|gate_s' 'feedin|feedin_price' 'retail|retail_price'; do
	           a=\$(sed -nE \"s/^\${k%|*} *= *([0-9.]+).*/\\1/p\" '$ex/exchange.conf.example')
	           b=\$(sed -nE \"s/^\${k#*|} *= *([0-9.]+).*/\\1/p\" '$ex/agent.conf.example')
	           [ -n \"\$a\" ] && [ \"\$a\" = \"\$b\" ] || { echo \"\$k: \$a != \$b\"; exit 1; }
	         done"

# --- systemd-analyze verify ------------------------------------------------------
if command -v systemd-analyze >/dev/null 2>&1; then
	# verify needs the commands to exist: point the units at the DESTDIR copy,
	# and the Documentation= man pages at the installed pages.
	vdir=$tmp/units
	mkdir -p "$vdir"
	for u in exchange agent; do
		sed "s|$prefix/bin/|$dest$prefix/bin/|g" "$dest$prefix/lib/systemd/system/peerwatt-$u.service" \
			>"$vdir/peerwatt-$u.service"
	done
	out=$(cd "$vdir" && MANPATH="$dest$prefix/share/man" SYSTEMD_LOG_LEVEL=notice \
		systemd-analyze verify --man=yes ./peerwatt-exchange.service ./peerwatt-agent.service 2>&1)
	rc=$?
	if [ $rc -eq 0 ] && [ -z "$out" ]; then
		ok "systemd-analyze verify: both units clean"
	else
		not_ok "systemd-analyze verify (rc $rc)"
		printf '%s\n' "$out" | head -20
	fi
	# the check must be able to fail: a unit with an unknown key is reported
	sed 's/^Type=notify$/Type=notify\nNoSuchOption=1/' "$vdir/peerwatt-agent.service" >"$vdir/bad.service"
	bad=$(cd "$vdir" && systemd-analyze verify --man=no ./bad.service 2>&1)
	check "systemd-analyze verify reports a broken unit" grep -q NoSuchOption <<<"$bad"
	# the agent reads the clock's sync status (adjtimex, modes 0): its unit
	# allows that call but can still not set the clock (docs/operations.md)
	sec=$(cd "$vdir" && systemd-analyze security --offline=yes ./peerwatt-agent.service 2>&1)
	check "agent unit: adjtimex allowed (clock sync status readable)" \
		grep -q 'SystemCallFilter=~@clock.*adjtimex is allowed' <<<"$sec"
	check "agent unit: the clock cannot be set (no CAP_SYS_TIME)" \
		grep -q '✓ CapabilityBoundingSet=~CAP_SYS_TIME' <<<"$sec"
	echo "# $(grep 'Overall exposure' <<<"$sec")"
else
	ok "systemd-analyze verify # SKIP systemd-analyze is not installed"
fi
finish
