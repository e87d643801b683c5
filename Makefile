# shokai: GNU Makefile. Flavours build into their own folders so flags never mix:
#   build/          release (hardened -O2): shokaid, shokaictl
#   build/fault/    release flags + test fault hooks (SHOKAI_FAULT): used by integration tests
#   build/asan/     clang ASan + UBSan + fault hooks: used by `make check`
#   build/tsan/     clang ThreadSanitizer + fault hooks: used by `make check` after ASan
-include config.mk
.DEFAULT_GOAL := all

CC	?= cc
PKGS	:= libevent libevent_pthreads libevent_openssl jansson libcjson libssl libcrypto \
	   sqlite3 yaml-0.1
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lpthread
CMOCKA_LIBS := $(shell pkg-config --libs cmocka 2>/dev/null || echo -lcmocka)

WARN	:= -std=c17 -Wall -Wextra -Wpedantic -Werror -Wformat=2 -Wshadow -Wpointer-arith \
	   -Wcast-qual -Wstrict-prototypes -Wmissing-prototypes -Wmissing-declarations \
	   -Wwrite-strings -Wundef
BASE_CFLAGS := $(WARN) -D_GNU_SOURCE -MMD -MP $(PKG_CFLAGS)
HARDEN	:= -O2 -g -D_FORTIFY_SOURCE=3 -fstack-protector-strong -fPIE
HARDEN_LD := -pie -Wl,-z,relro,-z,now
ASAN	:= -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
TSAN	:= -O1 -g -fsanitize=thread -fno-omit-frame-pointer

CTL_SRC    := $(wildcard daemon/ctl/*.c)
# Generated sources live under build/gen/, never in the tree.
GEN_SRC    := build/gen/default_wording.c build/gen/console_assets.c
DAEMON_SRC := $(filter-out daemon/main.c $(CTL_SRC),$(wildcard daemon/*.c daemon/*/*.c)) \
	      $(wildcard handlers/*.c) $(GEN_SRC)
UNIT_SRC   := $(wildcard tests/unit/test_*.c)

# $(call flavour,DIR,CC,CFLAGS,LDFLAGS) defines the objects and programs of one flavour.
define flavour
$(1)/obj/%.o: %.c
	@mkdir -p $$(dir $$@)
	@printf '  CC      %s\n' $$@
	@$(2) $(BASE_CFLAGS) $(3) -c $$< -o $$@
$(1)/shokaid: $(patsubst %.c,$(1)/obj/%.o,$(DAEMON_SRC) daemon/main.c)
	@printf '  LD      %s\n' $$@
	@$(2) $(4) -o $$@ $$^ $(PKG_LIBS)
$(1)/shokaictl: $(patsubst %.c,$(1)/obj/%.o,$(DAEMON_SRC) $(CTL_SRC))
	@printf '  LD      %s\n' $$@
	@$(2) $(4) -o $$@ $$^ $(PKG_LIBS)
$(1)/tests/%: $(1)/obj/tests/unit/%.o $(1)/obj/tests/unit/handler_world.o \
    $(patsubst %.c,$(1)/obj/%.o,$(DAEMON_SRC))
	@mkdir -p $$(dir $$@)
	@printf '  LD      %s\n' $$@
	@$(2) $(4) -o $$@ $$^ $(PKG_LIBS) $(CMOCKA_LIBS)
-include $$(wildcard $(1)/obj/*/*.d $(1)/obj/*/*/*.d $(1)/obj/*/*/*/*.d)
endef

# The product's default wording (daemon/config/default_wording.yaml), built into the
# binaries as a byte array that config_load reads before the operator's files.
build/gen/default_wording.c: daemon/config/default_wording.yaml scripts/embed.sh
	@mkdir -p $(dir $@)
	@printf '  GEN     %s\n' $@
	@scripts/embed.sh cfg_default_wording $< >$@.tmp && mv $@.tmp $@

# The console's pages (console/web/) and its API's OpenAPI file, built into shokaid.
CONSOLE_FILES := $(shell find console/web -type f ! -name '.*' 2>/dev/null) console/openapi.yaml
build/gen/console_assets.c: $(CONSOLE_FILES) scripts/embed-dir.sh
	@mkdir -p $(dir $@)
	@printf '  GEN     %s\n' $@
	@scripts/embed-dir.sh console/web console/openapi.yaml=openapi.yaml >$@.tmp && mv $@.tmp $@

$(eval $(call flavour,build,$(CC),$(HARDEN),$(HARDEN_LD)))
$(eval $(call flavour,build/fault,$(CC),$(HARDEN) -DSHOKAI_FAULT_HOOKS,$(HARDEN_LD)))
$(eval $(call flavour,build/asan,clang,$(ASAN) -DSHOKAI_FAULT_HOOKS,$(ASAN)))
$(eval $(call flavour,build/tsan,clang,$(TSAN) -DSHOKAI_FAULT_HOOKS,$(TSAN)))

# The local platform simulator (plays the LINE and LINE WORKS APIs; sends webhooks).
SIM_SRC := $(wildcard tests/sim/*.c)
SIM_SHARED := daemon/base/xmalloc.c daemon/base/log.c daemon/base/sig.c daemon/base/clock.c
build/shokaisim: $(SIM_SRC) $(SIM_SHARED) $(wildcard tests/sim/*.h) daemon/base/base.h
	@mkdir -p $(dir $@)
	@printf '  LD      %s\n' $@
	@$(CC) $(BASE_CFLAGS) $(HARDEN) $(HARDEN_LD) -o $@ $(SIM_SRC) $(SIM_SHARED) $(PKG_LIBS)

UNIT_BINS = $(patsubst tests/unit/%.c,$(1)/tests/%,$(UNIT_SRC))

.SECONDARY:
PORT ?= 8080
ADMIN_PORT ?= 8081
SIM_PORT ?= 8091
DEMO_EXIT ?= 0
.PHONY: all run demo test soak check bench bench-instr bench-scale fuzz deps clean install uninstall deb
all: build/shokaid build/shokaictl

deps:
	@scripts/install-deps.sh

# `make run`: the simulator plays LINE and LINE WORKS on 127.0.0.1:8091 (where the example
# config points), the daemon serves webhooks on 127.0.0.1:8080 and its console on
# 127.0.0.1:8081/admin/, and scripts/demo.sh makes the demo accounts and, into a database
# without referrals, plays a demo referral program (its times shifted back for the
# console's figures). `make demo`: the same servers on a fresh database of their own
# (var/demo/), and scripts/journey.py tells one referral journey step by step, then
# leaves the console showing it (DEMO_EXIT=1: stop after it, for CI).
# PORT=, ADMIN_PORT= and SIM_PORT= choose other ports; a port that is taken stops both
# before anything starts. Ctrl-C drains the daemon and stops the simulator. See
# scripts/run.sh.
run: all build/shokaisim
	@PORT=$(PORT) ADMIN_PORT=$(ADMIN_PORT) SIM_PORT=$(SIM_PORT) scripts/run.sh run

demo: all build/shokaisim
	@PORT=$(PORT) ADMIN_PORT=$(ADMIN_PORT) SIM_PORT=$(SIM_PORT) DEMO_EXIT=$(DEMO_EXIT) \
	  scripts/run.sh demo

test: build/shokaid build/shokaictl build/shokaisim build/fault/shokaid build/fault/shokaictl \
      $(call UNIT_BINS,build/fault)
	@tests/run.sh build/fault

# The soak suite alone (tests/soak): long loads, each bounded in time. `make test` runs it
# too; `make check` does not (ASan is too slow for load), but it runs the integration
# suite's drain-under-load test.
soak: build/shokaid build/shokaictl build/shokaisim build/fault/shokaid build/fault/shokaictl
	@SHOKAID=$(CURDIR)/build/fault/shokaid SHOKAICTL=$(CURDIR)/build/fault/shokaictl \
	  SHOKAISIM=$(CURDIR)/build/shokaisim SHOKAI_TEST_TIMEOUT=$${SHOKAI_SOAK_TIMEOUT:-300} \
	  python3 tests/integration/run.py --soak

# `make check`: the unit and integration suites under ASan + UBSan, then again under
# ThreadSanitizer (the WAL checkpointer is a thread of its own). halt_on_error makes the
# first race end the process (exit 66), and the integration harness fails any test whose
# daemon printed a sanitizer report. libevent, libcurl, sqlite and OpenSSL are not built
# with TSan; tests/tsan.supp would hold suppressions for races inside them (none so far).
TSAN_OPTS := halt_on_error=1 second_deadlock_stack=1 suppressions=$(CURDIR)/tests/tsan.supp
check: build/shokaisim build/asan/shokaid build/asan/shokaictl $(call UNIT_BINS,build/asan) \
       build/tsan/shokaid build/tsan/shokaictl $(call UNIT_BINS,build/tsan)
	@rc=0; \
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  SOAK=0 tests/run.sh build/asan || rc=1; \
	TSAN_OPTIONS="$(TSAN_OPTS)" SOAK=0 tests/run.sh build/tsan || rc=1; \
	exit $$rc

# The ceiling server of `make bench`: the same per-request work as shokaid's LINE webhook
# (evhttp, keyed HMAC-SHA256, jansson) without storage or handlers. See tests/bench/bare.c.
BARE_PKGS := libevent jansson libcrypto
build/bench-bare: tests/bench/bare.c
	@mkdir -p $(dir $@)
	@printf '  LD      %s\n' $@
	@$(CC) $(WARN) -D_GNU_SOURCE $(HARDEN) $(HARDEN_LD) \
	  $(shell pkg-config --cflags $(BARE_PKGS) 2>/dev/null) -o $@ $< \
	  $(shell pkg-config --libs $(BARE_PKGS) 2>/dev/null)

# The console's figures queries timed on a database (tests/bench/figures_time.c).
build/figures-time: build/obj/tests/bench/figures_time.o $(patsubst %.c,build/obj/%.o,$(DAEMON_SRC))
	@printf '  LD      %s\n' $@
	@$(CC) $(HARDEN_LD) -o $@ $^ $(PKG_LIBS)

bench: build/shokaid build/shokaictl build/shokaisim build/bench-bare
	@tests/bench/run.sh

# `make bench-instr`: instructions per webhook under callgrind, for comparing builds on a
# machine whose timings are noisy: tests/bench/instr.sh [SHOKAID ...].
bench-instr: build/shokaid build/shokaictl build/shokaisim
	@tests/bench/instr.sh

# `make bench-scale`: a year of data (1 million customers, 5 million referral events,
# 2 million inbox rows) in build/bench-scale/, then webhook throughput against an empty
# database, a claim's handler time and the report's wall time on it. See tests/bench/scale.sh.
bench-scale: build/shokaid build/shokaictl build/shokaisim build/figures-time
	@tests/bench/scale.sh

FUZZ_TARGETS := $(patsubst tests/fuzz/%.c,build/fuzz/%,$(wildcard tests/fuzz/fuzz_*.c))
build/fuzz/%: tests/fuzz/%.c $(DAEMON_SRC)
	@mkdir -p $(dir $@)
	clang $(BASE_CFLAGS) -O1 -g -fsanitize=fuzzer,address,undefined -DSHOKAI_FAULT_HOOKS \
	  -o $@ $< $(DAEMON_SRC) $(PKG_LIBS)
fuzz: $(FUZZ_TARGETS)
	@tests/fuzz/run.sh $(FUZZ_TARGETS)

# `make install`: the binaries, the systemd unit (its paths made for this PREFIX), the man
# pages and, once, the production config in /etc/shokai (scripts/install-config.sh never
# overwrites the operator's files). Only into this machine (no DESTDIR) and as root does it
# create the shokai user and its state directory: a staged tree is a package's, whose
# maintainer scripts do that.
PREFIX	?= /usr/local
SBINDIR	?= $(PREFIX)/sbin
BINDIR	?= $(PREFIX)/bin
MANDIR	?= $(PREFIX)/share/man
UNITDIR	?= $(PREFIX)/lib/systemd/system
CONFDIR	:= /etc/shokai
install: build/shokaid build/shokaictl
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(UNITDIR) \
	  $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8
	install -m 755 build/shokaid $(DESTDIR)$(SBINDIR)/shokaid
	install -m 755 build/shokaictl $(DESTDIR)$(BINDIR)/shokaictl
	sed 's|@SBINDIR@|$(SBINDIR)|g' scripts/shokaid.service.in >$(DESTDIR)$(UNITDIR)/shokaid.service
	chmod 644 $(DESTDIR)$(UNITDIR)/shokaid.service
	install -m 644 man/shokaid.8 man/shokaictl.8 $(DESTDIR)$(MANDIR)/man8/
	install -m 644 man/shokai.yaml.5 $(DESTDIR)$(MANDIR)/man5/
	@scripts/install-config.sh $(DESTDIR)$(CONFDIR)
	@if [ -z "$(DESTDIR)" ]; then scripts/install-user.sh; fi
	@echo
	@echo "Next (as root):"
	@echo "  1. the secrets the config names, mode 0600, owned by shokai:"
	@echo "       install -m 600 -o shokai -g shokai /dev/null $(CONFDIR)/secrets/line-channel-secret"
	@echo "     (and the others; or LoadCredential=, see shokai.yaml(5))"
	@echo "  2. edit $(CONFDIR)/shokai.yaml, then check it:"
	@echo "       runuser -u shokai -- $(SBINDIR)/shokaid -t -c $(CONFDIR)/shokai.yaml"
	@echo "  3. systemctl daemon-reload && systemctl enable --now shokaid"

# `make uninstall`: the binaries, unit and man pages; the config and the data stay.
uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/shokaid $(DESTDIR)$(BINDIR)/shokaictl \
	  $(DESTDIR)$(UNITDIR)/shokaid.service $(DESTDIR)$(MANDIR)/man8/shokaid.8 \
	  $(DESTDIR)$(MANDIR)/man8/shokaictl.8 $(DESTDIR)$(MANDIR)/man5/shokai.yaml.5
	@echo "uninstall: $(CONFDIR) and /var/lib/shokai are kept"

# `make deb`: build/deb/shokai_VERSION_ARCH.deb, staged by `make install` into
# build/deb/root with Debian's paths, assembled by scripts/mkdeb.sh with dpkg-deb.
deb: build/shokaid build/shokaictl
	@rm -rf build/deb/root
	@$(MAKE) --no-print-directory install DESTDIR=$(CURDIR)/build/deb/root PREFIX=/usr \
	  UNITDIR=/lib/systemd/system >/dev/null
	@scripts/mkdeb.sh build/deb/root build/deb

clean:
	rm -rf build
