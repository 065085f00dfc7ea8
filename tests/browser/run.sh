#!/usr/bin/env bash
# tests/browser/run.sh: the dashboard's browser tests (called by tests/run.sh).
# Debian's chromium driven by playwright-core from npm; never a browser
# download.  Installs what is missing through `make browser-deps`, then runs
# every tests/browser/*.mjs test file (lib.mjs is the helper) and prints
# their "ok - NAME" / "not ok - NAME" lines.  BROWSER_TESTS=pattern picks files.
set -u
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$top/$BUILD ;; esac
export BUILD

if [ ! -d "$here/node_modules/playwright-core" ] || [ ! -x /usr/bin/chromium ]; then
	echo "# browser: installing chromium and playwright-core (make browser-deps)"
	if ! make -C "$top" --no-print-directory browser-deps >"$BUILD/browser-deps.log" 2>&1; then
		tail -20 "$BUILD/browser-deps.log"
		echo "not ok - browser test dependencies (chromium, playwright-core) could not be installed"
		exit 1
	fi
fi
if [ ! -x "$BUILD/pw-dashdemo" ]; then
	echo "not ok - $BUILD/pw-dashdemo is not built (make tests)"
	exit 1
fi
rc=0
for t in "$here"/*.mjs; do
	name=$(basename "$t" .mjs)
	[ "$name" = lib ] && continue
	[ -n "${BROWSER_TESTS:-}" ] && [[ $name != *$BROWSER_TESTS* ]] && continue
	echo "# browser: $name"
	if ! (cd "$here" && timeout 900 node "$t"); then
		rc=1
	fi
done
exit $rc
