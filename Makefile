# peerwatt: one Makefile for the library, the programs, the tests and the benches.
#
# Sources are picked up by directory, so a new module needs no edit here:
#   common/*.c                      -> build/libpeerwatt.a
#   rules/*.c                       -> build/librules.a  (the market rules: validation, auction,
#                                      settlement; linked by the exchange, the audit and the agent,
#                                      which recomputes its statements with them)
#   agent/*.c    (but main.c)       -> build/libagent.a,    agent/main.c    -> build/peerwatt-agent
#   exchange/*.c (but main.c)       -> build/libexchange.a, exchange/main.c -> build/peerwatt-exchange
#   audit/*.c    (but main.c)       -> build/libaudit.a,    audit/main.c    -> build/peerwatt-audit
#                                      (rules and common only: nothing of the exchange's daemon)
#   tests/sim/*.c                   -> build/peerwatt-sim
#   tests/tools/NAME.c              -> build/NAME            (load generator, helpers)
#   tests/tools/NAME/*.c            -> build/NAME            (a tool of several files, one
#                                      of them with main(); its header beside them)
#   tests/unit/test_NAME.c          -> build/tests/test_NAME (cmocka)
#   tests/bench/NAME.c              -> build/bench/NAME
#   tests/fuzz/fuzz_NAME.c          -> build/fuzz/fuzz_NAME  (clang, libFuzzer)

VERSION   := 0.1.0
CC        ?= cc
BUILD     := build
SANITIZE  ?=
PREFIX    ?= /usr/local
DESTDIR   ?=

PKGS      := libmodbus libzmq sqlite3 libsodium libmicrohttpd jansson inih sml zlib
TEST_PKGS := cmocka
# Debian packages behind PKGS/TEST_PKGS and the tools the tests drive.
DEBS      := build-essential pkg-config libmodbus-dev libzmq3-dev libsqlite3-dev \
             libsodium-dev libmicrohttpd-dev libjansson-dev libinih-dev libsml-dev zlib1g-dev libcmocka-dev \
             sqlite3 socat clang libclang-rt-14-dev cppcheck clang-format clang-tidy \
             man-db systemd python3

WARN      := -std=c11 -Wall -Wextra -Wshadow -Wconversion -Wstrict-prototypes \
             -Wmissing-prototypes -Werror
CPPFLAGS  += -D_GNU_SOURCE -DPW_VERSION='"$(VERSION)"' -Iinclude -I.
CFLAGS    ?= -O2 -g
CFLAGS    += $(WARN)
ifneq ($(SANITIZE),)
CFLAGS    += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS   += -fsanitize=$(SANITIZE)
endif

# Recursive (=) so pkg-config runs only when a recipe needs it, after `deps`.
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) $(TEST_PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lm -lpthread
TEST_LIBS  = $(shell pkg-config --libs $(TEST_PKGS) 2>/dev/null)

COMMON_SRC   := $(sort $(wildcard common/*.c))
RULES_SRC    := $(sort $(wildcard rules/*.c))
AGENT_SRC    := $(filter-out agent/main.c,$(sort $(wildcard agent/*.c)))
EXCH_SRC     := $(filter-out exchange/main.c,$(sort $(wildcard exchange/*.c)))
AUDIT_SRC    := $(filter-out audit/main.c,$(sort $(wildcard audit/*.c)))
SIM_SRC      := $(sort $(wildcard tests/sim/*.c))
TOOL_SRC     := $(sort $(wildcard tests/tools/*.c))
TOOL_DIRS    := $(patsubst %/,%,$(sort $(dir $(wildcard tests/tools/*/*.c))))
UNIT_SRC     := $(sort $(wildcard tests/unit/test_*.c))
BENCH_SRC    := $(sort $(wildcard tests/bench/*.c))
FUZZ_SRC     := $(sort $(wildcard tests/fuzz/fuzz_*.c))

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

LIBPW    := $(BUILD)/libpeerwatt.a
LIBRULES := $(BUILD)/librules.a
LIBAGENT := $(BUILD)/libagent.a
LIBEXCH  := $(BUILD)/libexchange.a
LIBAUDIT := $(BUILD)/libaudit.a
LIBS_ALL := $(LIBAUDIT) $(LIBEXCH) $(LIBAGENT) $(LIBRULES) $(LIBPW)

PROGS := $(BUILD)/peerwatt-agent $(BUILD)/peerwatt-exchange $(BUILD)/peerwatt-audit
ifneq ($(SIM_SRC),)
PROGS += $(BUILD)/peerwatt-sim
endif
TOOLS  := $(patsubst tests/tools/%.c,$(BUILD)/%,$(TOOL_SRC)) \
          $(patsubst tests/tools/%,$(BUILD)/%,$(TOOL_DIRS))
UNITS  := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
BENCHES:= $(patsubst tests/bench/%.c,$(BUILD)/bench/%,$(BENCH_SRC))
FUZZERS:= $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRC))

.PHONY: all deps build tests check demo bench fuzz format lint clean install help _check _bench _demo FORCE browser-deps
.DEFAULT_GOAL := all
.SECONDARY:
.DELETE_ON_ERROR:

all: deps
	@$(MAKE) --no-print-directory build

help:
	@echo "make            build the library and every program into $(BUILD)/"
	@echo "make check      build and run every test (ends with 'N passed, N failed')"
	@echo "make demo       a simulated neighbourhood on loopback (DEMO_SECONDS=N to stop)"
	@echo "make bench      benchmarks: BENCH lines and $(BUILD)/bench.json"
	@echo "make fuzz       libFuzzer harnesses, FUZZ_SECONDS=N each (default 60)"
	@echo "make deps       install (as root) or name the missing Debian packages"
	@echo "make format | lint | install [PREFIX=... DESTDIR=...] | clean"
	@echo "SANITIZE=address,undefined builds everything with sanitizers"

# deps: a package counts as present when pkg-config (or the tool) finds it.
# DEPS_TOOLS names more commands to require (.ci/run adds the fuzz/lint tools).
DEPS_TOOLS ?=
deps:
	@missing=""; \
	command -v pkg-config >/dev/null 2>&1 || missing="pkg-config"; \
	for p in $(PKGS) $(TEST_PKGS); do \
	  pkg-config --exists $$p 2>/dev/null || missing="$$missing $$p"; \
	done; \
	for t in socat sqlite3 python3 $(DEPS_TOOLS); do command -v $$t >/dev/null 2>&1 || missing="$$missing $$t"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "deps: missing:$$missing; installing Debian packages"; \
	    export DEBIAN_FRONTEND=noninteractive; \
	    apt-get update -q && apt-get install -y -q --no-install-recommends $(DEBS) || exit 69; \
	  else \
	    echo "deps: missing:$$missing"; \
	    echo "deps: run as root: apt-get update && apt-get install -y $(DEBS)"; \
	    exit 69; \
	  fi; \
	fi

build: $(LIBS_ALL) $(PROGS) $(TOOLS)

tests: build $(UNITS) $(BENCHES)

# Rebuild everything when the flags change (plain <-> SANITIZE builds).  FORCE
# must be .PHONY: .SECONDARY makes a missing plain FORCE look up to date.
FLAGS_STAMP := $(BUILD)/.flags
$(FLAGS_STAMP): FORCE
	@mkdir -p $(BUILD)
	@echo '$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS)' | cmp -s - $@ || echo '$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS)' > $@
FORCE:

$(BUILD)/obj/%.o: %.c $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(PKG_CFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

$(LIBPW): $(call obj,$(COMMON_SRC))
	@mkdir -p $(BUILD); rm -f $@; printf '!<arch>\n' > $@; $(if $^,ar rcs $@ $^)
$(LIBRULES): $(call obj,$(RULES_SRC))
	@mkdir -p $(BUILD); rm -f $@; printf '!<arch>\n' > $@; $(if $^,ar rcs $@ $^)
$(LIBAGENT): $(call obj,$(AGENT_SRC))
	@mkdir -p $(BUILD); rm -f $@; printf '!<arch>\n' > $@; $(if $^,ar rcs $@ $^)
$(LIBEXCH): $(call obj,$(EXCH_SRC))
	@mkdir -p $(BUILD); rm -f $@; printf '!<arch>\n' > $@; $(if $^,ar rcs $@ $^)
$(LIBAUDIT): $(call obj,$(AUDIT_SRC))
	@mkdir -p $(BUILD); rm -f $@; printf '!<arch>\n' > $@; $(if $^,ar rcs $@ $^)

$(BUILD)/peerwatt-agent: $(call obj,agent/main.c) $(LIBAGENT) $(LIBRULES) $(LIBPW)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)
$(BUILD)/peerwatt-exchange: $(call obj,exchange/main.c) $(LIBEXCH) $(LIBRULES) $(LIBPW)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)
$(BUILD)/peerwatt-audit: $(call obj,audit/main.c) $(LIBAUDIT) $(LIBRULES) $(LIBPW)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)
$(BUILD)/peerwatt-sim: $(call obj,$(SIM_SRC)) $(LIBS_ALL)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)
$(BUILD)/%: $(BUILD)/obj/tests/tools/%.o $(LIBS_ALL)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)
define TOOL_DIR_RULE
$(BUILD)/$(notdir $(1)): $(call obj,$(sort $(wildcard $(1)/*.c))) $(LIBS_ALL)
	$$(CC) $$(LDFLAGS) -o $$@ $$^ $$(PKG_LIBS)
endef
$(foreach d,$(TOOL_DIRS),$(eval $(call TOOL_DIR_RULE,$(d))))
$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(LIBS_ALL)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(TEST_LIBS)
$(BUILD)/bench/%: $(BUILD)/obj/tests/bench/%.o $(LIBS_ALL)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

check: deps
	@$(MAKE) --no-print-directory _check
_check: tests
	@BUILD=$(BUILD) SANITIZE='$(SANITIZE)' tests/run.sh

bench: deps
	@$(MAKE) --no-print-directory _bench
_bench: tests
	@BUILD=$(BUILD) tests/bench/run.sh

# The demo's build is quiet: one line, the compiler's output in a log (its
# last lines shown when the build fails).
demo: deps
	@$(MAKE) --no-print-directory _demo
_demo:
	@mkdir -p $(BUILD); log=$(BUILD)/demo-build.log; \
	if $(MAKE) --no-print-directory build >$$log 2>&1; then \
	  echo "demo: programs built in $(BUILD)/ ($$(grep -c -- ' -c ' $$log) C files compiled now; output in $$log)"; \
	else \
	  tail -n 30 $$log; echo "demo: the build failed; its whole output is in $$log"; exit 1; \
	fi
	@BUILD=$(BUILD) tests/demo.sh

# --- fuzzing: every library source rebuilt with clang + libFuzzer -------------
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_FLAGS   := -g -O1 -fsanitize=fuzzer-no-link,address,undefined -std=c11 -D_GNU_SOURCE \
                -DPW_VERSION='"$(VERSION)"' -DPW_FUZZING -Iinclude -I.
FUZZ_LIBSRC  := $(COMMON_SRC) $(RULES_SRC) $(AGENT_SRC) $(EXCH_SRC) $(AUDIT_SRC)
FUZZ_OBJ     := $(patsubst %.c,$(BUILD)/fuzzobj/%.o,$(FUZZ_LIBSRC))
$(BUILD)/fuzzobj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) $(PKG_CFLAGS) -MMD -MP -c $< -o $@
$(BUILD)/fuzz/%: tests/fuzz/%.c $(FUZZ_OBJ)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) $(PKG_CFLAGS) -fsanitize=fuzzer $^ -o $@ $(PKG_LIBS)
fuzz: deps
	@$(MAKE) --no-print-directory $(FUZZERS)
	@set -e; for f in $(FUZZERS); do \
	  n=$$(basename $$f); mkdir -p $(BUILD)/fuzz/corpus-$$n; \
	  seeds=tests/fuzz/corpus/$$n; [ -d $$seeds ] || seeds=; \
	  echo "fuzz: $$n for $(FUZZ_SECONDS) s"; \
	  $$f -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 -print_final_stats=0 \
	      $(BUILD)/fuzz/corpus-$$n $$seeds 2>$(BUILD)/fuzz/$$n.log || { tail -40 $(BUILD)/fuzz/$$n.log; exit 1; }; \
	  grep -E '^Done [0-9]+ runs' $(BUILD)/fuzz/$$n.log | tail -1; \
	done

# --- dashboard browser tests: Debian chromium + playwright-core (no browser download)
browser-deps:
	@need=""; \
	[ -x /usr/bin/chromium ] || need="chromium"; \
	command -v node >/dev/null 2>&1 || need="$$need nodejs"; \
	command -v npm >/dev/null 2>&1 || need="$$need npm"; \
	if [ -n "$$need" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    DEBIAN_FRONTEND=noninteractive apt-get update -q && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$(echo $$need) || exit 69; \
	  else \
	    echo "browser-deps: run as root: apt-get update && apt-get install -y $$(echo $$need)"; exit 69; \
	  fi; \
	fi
	cd tests/browser && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund

# --- style --------------------------------------------------------------------
SRC_ALL = $(shell git ls-files '*.c' '*.h' 2>/dev/null | grep -v '^agent/web/')
format:
	clang-format -i $(SRC_ALL)
lint:
	clang-format --dry-run -Werror $(SRC_ALL)
	cppcheck --quiet --error-exitcode=1 --std=c11 --enable=warning,performance,portability \
	  --inline-suppr --suppress=missingIncludeSystem -D_GNU_SOURCE -Iinclude -I. \
	  $(filter %.c,$(SRC_ALL))

# install: programs, man pages, docs, example configs, the register-map
# templates, the dashboard's page and the systemd units (the /usr/local paths
# of examples and units, web_root included, rewritten to PREFIX).  Never
# touches /etc: docs/operations.md says what to copy there.
UNITDIR ?= $(PREFIX)/lib/systemd/system
DOCDIR  ?= $(PREFIX)/share/doc/peerwatt
install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 \
	  $(DESTDIR)$(PREFIX)/share/man/man5 $(DESTDIR)$(PREFIX)/share/man/man8 \
	  $(DESTDIR)$(DOCDIR)/examples $(DESTDIR)$(UNITDIR) $(DESTDIR)$(PREFIX)/share/peerwatt/web \
	  $(DESTDIR)$(PREFIX)/share/peerwatt/templates
	install -m 0755 $(PROGS) $(DESTDIR)$(PREFIX)/bin/
	install -m 0644 $(wildcard docs/man/*.1) $(DESTDIR)$(PREFIX)/share/man/man1/
	install -m 0644 $(wildcard docs/man/*.5) $(DESTDIR)$(PREFIX)/share/man/man5/
	install -m 0644 $(wildcard docs/man/*.8) $(DESTDIR)$(PREFIX)/share/man/man8/
	install -m 0644 README.md $(wildcard docs/*.md) $(DESTDIR)$(DOCDIR)/
	@set -e; for u in $(wildcard config/*.example); do \
	  sed -e 's|/usr/local/bin/|$(PREFIX)/bin/|g' -e 's|/usr/local/share/|$(PREFIX)/share/|g' \
	    $$u > $(DESTDIR)$(DOCDIR)/examples/$$(basename $$u); \
	  chmod 0644 $(DESTDIR)$(DOCDIR)/examples/$$(basename $$u); \
	  echo "install $$u -> $(DESTDIR)$(DOCDIR)/examples/"; \
	done
	install -m 0644 $(wildcard templates/*.ini) $(DESTDIR)$(PREFIX)/share/peerwatt/templates/
	@set -e; for u in $(wildcard config/*.service); do \
	  sed -e 's|/usr/local/bin/|$(PREFIX)/bin/|g' -e 's|/usr/local/share/|$(PREFIX)/share/|g' \
	    $$u > $(DESTDIR)$(UNITDIR)/$$(basename $$u); \
	  chmod 0644 $(DESTDIR)$(UNITDIR)/$$(basename $$u); \
	  echo "install $$u -> $(DESTDIR)$(UNITDIR)/"; \
	done
	@set -e; if [ -d agent/web ]; then cd agent/web && find . -type f | while read -r f; do \
	  install -D -m 0644 "$$f" "$(DESTDIR)$(PREFIX)/share/peerwatt/web/$$f"; done; fi

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD)/obj $(BUILD)/fuzzobj -name '*.d' 2>/dev/null)
