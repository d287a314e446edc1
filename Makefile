# upledger build. `make` builds into build/; `make help` lists the targets.
#
# Layers (each a folder, arrows only point down):
#   node/ (upledgerd), cli/ (upledger)  ->  p2p/  ->  ledger/  ->  contracts/  ->  client/, schema/
#   ledger/  ->  keys/ (the keystore file format; libsodium and jansson only)  ->  schema/
#   device/ (upledger-device)  ->  keys/, client/, schema/ (libupclient.a) and libcurl only
#   tracker/ (upledger-tracker)  ->  p2p/, ledger/ (libupledger.a)  ->  client/, schema/; SQLite,
#   libmicrohttpd
# libupclient.a, libupclient.so = client/ + schema/ (allocation-free, what devices link)
# libupledger.a = keys/ + contracts/ + ledger/ + p2p/ (node side, may allocate); upledger-device
# links keys/'s objects too

CC      ?= cc
PREFIX  ?= /usr/local
DESTDIR ?=
SANITIZER ?=
FUZZ_SECONDS ?= 30
# libupclient's SHA-256: openssl (libcrypto, the CPU's SHA extensions; the host default) or
# sodium (libsodium's portable C; what a microcontroller uses). client/sha256_$(SHA256).c.
SHA256 ?= openssl
SEEDS ?= 200
comma := ,
# The release version is defined once, in schema/ul_version.h (every binary's --version).
VERSION := $(shell sed -n 's/^\#define UL_VERSION_STRING "\(.*\)"$$/\1/p' schema/ul_version.h)

BUILD ?= build
ifneq ($(SANITIZER),)
BUILD := build/san-$(subst $(comma),-,$(SANITIZER))
SANFLAGS := -fsanitize=$(SANITIZER) -fno-omit-frame-pointer -fno-sanitize-recover=all
endif
ifeq ($(SHA256),openssl)
SHA256_OTHER := sodium
else ifeq ($(SHA256),sodium)
SHA256_OTHER := openssl
BUILD := $(BUILD)/sha256-sodium
else
$(error SHA256 must be openssl or sodium, not "$(SHA256)")
endif

OPT     ?= -O2
WARN    := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wvla -Wformat=2 -Wno-unused-parameter -Wno-missing-field-initializers \
           -Werror
CFLAGS  ?= $(OPT) -g
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE $(WARN) $(CFLAGS) $(SANFLAGS) -I. -MMD -MP
ALL_LDFLAGS = $(LDFLAGS) $(SANFLAGS)
SHA256_LIBS_openssl := -lcrypto
SHA256_LIBS_sodium :=
LIBS    := -lsecp256k1 -lsodium -lcbor $(SHA256_LIBS_$(SHA256))
NODE_LIBS := -lleveldb -lnanomsg -ljansson -lmicrohttpd -lpthread

CLIENT_SRC := $(filter-out client/sha256_$(SHA256_OTHER).c,$(sort $(wildcard client/*.c schema/*.c)))
KEYS_SRC   := $(sort $(wildcard keys/*.c))
LEDGER_SRC := $(KEYS_SRC) $(sort $(wildcard contracts/*.c ledger/*.c p2p/*.c))
NODE_SRC   := $(sort $(wildcard node/*.c))
CLI_SRC    := $(sort $(wildcard cli/*.c))
DEVICE_SRC := $(sort $(wildcard device/*.c))
TRACKER_SRC := $(sort $(wildcard tracker/*.c))
UNIT_SRC   := $(sort $(wildcard tests/unit/test_*.c))
UNIT_HELP  := $(filter-out $(UNIT_SRC),$(sort $(wildcard tests/unit/*.c)))
BENCH_SRC  := $(sort $(wildcard tests/bench/*.c))
FUZZ_SRC   := $(sort $(wildcard tests/fuzz/fuzz_*.c))

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

CLIENT_LIB := $(BUILD)/libupclient.a
# The shared library: libupclient.so.VERSION, soname libupclient.so.MAJOR (the ABI: ul_update's
# layout included; a change to it takes a new major version).
SO_MAJOR   := $(firstword $(subst ., ,$(VERSION)))
CLIENT_SO_NAME := libupclient.so.$(SO_MAJOR)
CLIENT_SO  := $(BUILD)/libupclient.so.$(VERSION)
LEDGER_LIB := $(BUILD)/libupledger.a
UPLEDGERD  := $(BUILD)/upledgerd
UPLEDGER   := $(BUILD)/upledger
UPDEVICE   := $(BUILD)/upledger-device
# A simulated fleet for tracker tests and benchmarks: device keys and signed reports
# (tests/fleet/reportgen.c; reportgen --help).
REPORTGEN  := $(BUILD)/reportgen
UPTRACKER  := $(BUILD)/upledger-tracker
TRACKER_LIBS := -lsqlite3 -lmicrohttpd -lcurl
# test_sha256 runs twice: built with this build's backend and with the other one. test_cxx is
# C++ (tests/unit/test_cxx.cpp): client/ul_client.h as a C++ program includes it.
UNIT_BINS  := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC)) $(BUILD)/tests/test_sha256_$(SHA256_OTHER) \
              $(BUILD)/tests/test_cxx
BENCH_BINS := $(patsubst tests/bench/%.c,$(BUILD)/bench/%,$(BENCH_SRC))
FUZZ_REPLAY := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz-replay/%,$(FUZZ_SRC))
PC_FILE    := $(BUILD)/upclient.pc

.PHONY: explorer format check-format check-braces testnet testnet-down sim check-banned check-device all deps test unit system fuzz fuzz-replay bench demo install clean help check-client sim
.DEFAULT_GOAL := all

all: $(CLIENT_LIB) $(CLIENT_SO) $(LEDGER_LIB) $(UPLEDGERD) $(UPLEDGER) $(UPDEVICE) $(UPTRACKER) $(REPORTGEN) \
     $(PC_FILE) check-client check-banned check-device

help:
	@echo "make            build everything into build/"
	@echo "make deps       install missing Debian packages (idempotent)"
	@echo "make test       deps, build, unit + fuzz-corpus replay + system tests, one summary line"
	@echo "make test SANITIZER=address,undefined   the same under sanitizers (build/san-*)"
	@echo "make fuzz FUZZ_SECONDS=N   run each libFuzzer target for N seconds (clang)"
	@echo "make bench      benchmarks; print figures"
	@echo "make format     format the tree with .clang-format (make test checks it, and braces)"
	@echo "make mcu        libupclient and the example firmware for a Cortex-M4 (build/mcu)"
	@echo "make sim SEEDS=N   both simulators (consensus core, whole node) over N seeds each"
	@echo "make demo       a dev chain end to end in a temp dir"
	@echo "make explorer   the provenance explorer's static files (npm ci + esbuild) in build/explorer;"
	@echo "                its npm packages also run the fleet page's browser test"
	@echo "make testnet N=4   start N validators on loopback (testnet/run); make testnet-down"
	@echo "make install PREFIX=/usr/local DESTDIR="
	@echo "make SHA256=sodium   libupclient's SHA-256 from libsodium, not libcrypto (build/sha256-sodium)"

deps:
	@scripts/deps.sh

# V=1 shows full commands.
Q := $(if $(V),,@)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(V),true,echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) -MT $(patsubst $(CURDIR)/%,%,$@) -MT $(abspath $@) -c $< -o $@

# libupclient's objects are position-independent: the same ones make the static and the shared
# library (in an executable the linker turns their GOT/PLT references back into direct ones).
$(call obj,$(CLIENT_SRC) client/sha256_$(SHA256_OTHER).c): ALL_CFLAGS += -fPIC

$(CLIENT_LIB): $(call obj,$(CLIENT_SRC))
	@mkdir -p $(dir $@)
	@echo "  AR      $@"
	$(Q)rm -f $@ && ar rcs $@ $^

# -z defs: every symbol it needs resolves in the libraries it names, so a program links with
# just -lupclient (pkg-config --libs upclient).
$(CLIENT_SO): $(call obj,$(CLIENT_SRC))
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) $(ALL_LDFLAGS) -shared -Wl,-soname,$(CLIENT_SO_NAME) -Wl,-z,defs -o $@ $^ $(LIBS)
	$(Q)ln -sf $(notdir $@) $(BUILD)/$(CLIENT_SO_NAME) && ln -sf $(CLIENT_SO_NAME) $(BUILD)/libupclient.so

$(LEDGER_LIB): $(call obj,$(LEDGER_SRC))
	@mkdir -p $(dir $@)
	@echo "  AR      $@"
	$(Q)rm -f $@ && ar rcs $@ $^

$(UPLEDGERD): $(call obj,$(NODE_SRC)) $(LEDGER_LIB) $(CLIENT_LIB)
	@echo "  LD      $@"
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(NODE_LIBS) $(LIBS)

$(UPLEDGER): $(call obj,$(CLI_SRC)) $(LEDGER_LIB) $(CLIENT_LIB)
	@echo "  LD      $@"
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(NODE_LIBS) $(LIBS)

# The host device program links only what a device has: libupclient and libcurl, keys/ for its
# report key, and jansson for its --json output and keys/ (the program's, never libupclient's:
# check-client keeps that clean).
$(UPDEVICE): $(call obj,$(DEVICE_SRC) $(KEYS_SRC)) $(CLIENT_LIB)
	@echo "  LD      $@"
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ -lcurl -ljansson $(LIBS)

$(REPORTGEN): $(BUILD)/obj/tests/fleet/reportgen.o $(CLIENT_LIB)
	@echo "  LD      $@"
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ -lcurl -lpthread $(LIBS)

# The status tracker: SQLite for its store, libmicrohttpd (GnuTLS) for its HTTP(S) API.
$(UPTRACKER): $(call obj,$(TRACKER_SRC)) $(LEDGER_LIB) $(CLIENT_LIB)
	@echo "  LD      $@"
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(TRACKER_LIBS) $(NODE_LIBS) $(LIBS)

# The fleet page is assembled into tracker/page.c's object (.incbin).
$(BUILD)/obj/tracker/page.o: tracker/fleet.html

# device/ includes client/ul_client.h (and what it includes), keys/ul_keys.h and libcurl, nothing
# of the node side; keys/ includes nothing of ours but schema/ (the device program links it).
check-device:
	@bad=$$(grep -nE '^#include "\.\./(cli|ledger|node|p2p|contracts|tracker)/' device/*.c device/*.h); \
	if [ -n "$$bad" ]; then echo "device/ includes node-side code: $$bad" >&2; exit 1; fi
	@bad=$$(grep -nE '^#include "' keys/*.c keys/*.h | grep -vE '"(\.\./schema/[a-z_]+\.h|ul_keys\.h)"'); \
	if [ -n "$$bad" ]; then echo "keys/ includes more than schema/: $$bad" >&2; exit 1; fi

# client/ must never allocate, print or use glibc's assert: devices link it. Its public header
# also compiles as C++ (extern "C"), for device firmware written in C++.
check-client: $(CLIENT_LIB)
	@bad=$$(nm -u $(CLIENT_LIB) | awk '{print $$2}' | grep -E '^(malloc|calloc|realloc|free|strdup|strndup|printf|fprintf|puts|fputs|fwrite|posix_memalign|aligned_alloc|secp256k1_context_create|cbor_new_.*|cbor_load|__assert_fail)$$' | sort -u); \
	if [ -n "$$bad" ]; then echo "libupclient.a references forbidden symbols: $$bad" >&2; exit 1; fi
	@if command -v $(CXX) >/dev/null 2>&1; then \
	  printf '#include "client/ul_client.h"\nint main() { return ul_client_init() != UL_OK || *ul_err_name(UL_OK) != 85; }\n' | \
	  $(CXX) -std=c++11 -Wall -Wextra -Werror -I. -c -x c++ - -o $(BUILD)/check-client-cxx.o && \
	  $(CC) $(ALL_LDFLAGS) -o $(BUILD)/check-client-cxx $(BUILD)/check-client-cxx.o $(CLIENT_LIB) $(LIBS) || \
	  { echo "client/ul_client.h does not compile or link as C++ ($(CXX))" >&2; exit 1; }; fi

check-banned:
	@scripts/check-banned.sh

# The tree stays formatted with .clang-format: `make format` rewrites, `make check-format` (run by
# `make test`) only looks.
FORMAT_SRC = $(shell find cli client contracts device examples keys ledger node p2p schema tests tracker \
                 -path tests/fuzz/corpus -prune -o \( -name '*.[ch]' -o -name '*.cpp' \) -print | sort)
format:
	@clang-format -i $(FORMAT_SRC)

check-format:
	@clang-format --dry-run -Werror $(FORMAT_SRC) 2>/dev/null || { \
	    clang-format --dry-run $(FORMAT_SRC) 2>&1 | grep 'warning:' | cut -d: -f1 | sort | uniq -c >&2; \
	    echo "check-format: the files above differ from .clang-format (make format fixes them)" >&2; exit 1; }

# Braces always (STYLE): clang-tidy's readability-braces-around-statements over every C file and
# the headers they include; `make test` runs it (about 2 s).
BRACES_SRC = $(filter %.c,$(FORMAT_SRC))
check-braces:
	@printf '%s\n' $(BRACES_SRC) | xargs -P2 -n25 sh -c 'clang-tidy --quiet \
	    -checks="-*,readability-braces-around-statements" --warnings-as-errors="*" \
	    -header-filter="^(cli|client|contracts|device|examples|keys|ledger|node|p2p|schema|tests|tracker)/" \
	    "$$@" -- -std=c11 -D_GNU_SOURCE -I. 2>/dev/null' _ || { \
	    echo "check-braces: a statement above lacks braces (clang-tidy readability-braces-around-statements)" >&2; exit 1; }

$(PC_FILE): Makefile schema/ul_version.h
	@mkdir -p $(dir $@)
	@printf 'prefix=%s\nlibdir=$${prefix}/lib\nincludedir=$${prefix}/include\n\nName: upclient\nDescription: upledger device verification library\nVersion: %s\nLibs: -L$${libdir} -lupclient\nLibs.private: $(LIBS)\nCflags: -I$${includedir}/upledger\n' '$(PREFIX)' '$(VERSION)' > $@

# ---- tests ------------------------------------------------------------------------------------
$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(call obj,$(UNIT_HELP)) $(LEDGER_LIB) $(CLIENT_LIB)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ -lcmocka $(NODE_LIBS) $(LIBS)

# The other SHA-256 backend's test binary: libupclient's objects with client/sha256_$(SHA256).c
# swapped for the other one. The test calls both libraries directly as references.
$(BUILD)/tests/test_sha256_$(SHA256_OTHER): $(BUILD)/obj/tests/unit/test_sha256.o \
    $(call obj,$(filter-out client/sha256_$(SHA256).c,$(CLIENT_SRC)) client/sha256_$(SHA256_OTHER).c)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ -lcmocka -lsecp256k1 -lsodium -lcbor -lcrypto

$(BUILD)/tests/test_sha256: LIBS += $(SHA256_LIBS_openssl)

$(BUILD)/tests/test_cxx: tests/unit/test_cxx.cpp client/ul_client.h $(wildcard schema/*.h) $(CLIENT_LIB)
	@mkdir -p $(dir $@)
	@echo "  CXX     $@"
	$(Q)$(CXX) -std=c++11 -Wall -Wextra -pedantic -Werror $(CFLAGS) $(SANFLAGS) -I. -o $@ $< \
	    $(CLIENT_LIB) -lcmocka $(LIBS)

# Unit tests that call the node's own code (node/ but main.c), one per part of the node; they
# reach the world through a test ul_node_io (tests/unit/nodefx.c).
NODE_TEST_OBJ = $(call obj,$(filter-out node/main.c node/init.c,$(NODE_SRC)))
NODE_TESTS = test_nodelog test_http test_rpc test_metrics test_pool test_signlog test_held test_sync test_gossip test_recv test_driver test_nodes\
             test_checkpoint
$(patsubst %,$(BUILD)/tests/%,$(NODE_TESTS)): $(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(NODE_TEST_OBJ) $(call obj,$(UNIT_HELP)) $(LEDGER_LIB) $(CLIENT_LIB)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ -lcmocka $(NODE_LIBS) $(LIBS)

# Unit tests of the tracker's store and classifier: tracker/ but its main.
TRACKER_TEST_OBJ = $(call obj,$(filter-out tracker/main.c,$(TRACKER_SRC)))
$(BUILD)/tests/test_tracker: $(BUILD)/obj/tests/unit/test_tracker.o $(TRACKER_TEST_OBJ) $(call obj,$(UNIT_HELP)) $(LEDGER_LIB) $(CLIENT_LIB)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ -lcmocka $(TRACKER_LIBS) $(NODE_LIBS) $(LIBS)

# Fuzz targets built with a plain main() that replays a corpus directory (tests/fuzz/replay.c).
$(BUILD)/fuzz-replay/%: $(BUILD)/obj/tests/fuzz/%.o $(BUILD)/obj/tests/fuzz/replay.o $(LEDGER_LIB) $(CLIENT_LIB)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(NODE_LIBS) $(LIBS)

# Benchmarks bind every symbol at start-up (-z now): lazy binding would run the dynamic linker's
# resolver, and its register-saving frame, on the stack bench_device measures.
$(BUILD)/bench/%: $(BUILD)/obj/tests/bench/%.o $(LEDGER_LIB) $(CLIENT_LIB)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) $(ALL_LDFLAGS) -Wl,-z,now -o $@ $^ $(NODE_LIBS) $(LIBS)

# bench_device prints both SHA-256 backends' speeds, whichever libupclient uses.
$(BUILD)/bench/bench_device: LIBS += $(SHA256_LIBS_openssl)

# bench_query calls the node's query handler in process, as test_rpc does.
$(BUILD)/bench/bench_query: $(BUILD)/obj/tests/bench/bench_query.o $(NODE_TEST_OBJ) $(LEDGER_LIB) $(CLIENT_LIB)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) $(ALL_LDFLAGS) -Wl,-z,now -o $@ $^ $(NODE_LIBS) $(LIBS)

# bench_tracker calls the tracker's store and HTTP server in process.
$(BUILD)/bench/bench_tracker: $(BUILD)/obj/tests/bench/bench_tracker.o $(TRACKER_TEST_OBJ) $(LEDGER_LIB) $(CLIENT_LIB)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) $(ALL_LDFLAGS) -Wl,-z,now -o $@ $^ $(TRACKER_LIBS) $(NODE_LIBS) $(LIBS)

# The consensus simulator: SEEDS seeded runs of n = 4 and 7 validators (tests/sim/README.md).
$(BUILD)/sim: $(BUILD)/obj/tests/sim/sim.o $(LEDGER_LIB) $(CLIENT_LIB)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(NODE_LIBS) $(LIBS)

# The whole-node simulator: the node's parts (not node/io.c nor main.c: tests/sim/world.c is its
# world) on a simulated clock, network and memory disks (tests/sim/README.md).
NODESIM_OBJ = $(call obj,tests/sim/nodesim.c tests/sim/world.c tests/unit/chainfx.c tests/unit/nodefx.c \
              $(filter-out node/main.c node/init.c node/io.c,$(NODE_SRC)))
$(BUILD)/nodesim: $(NODESIM_OBJ) $(LEDGER_LIB) $(CLIENT_LIB)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ -lcmocka $(NODE_LIBS) $(LIBS)

sim: $(BUILD)/sim $(BUILD)/nodesim
	@$(BUILD)/sim --seeds $(SEEDS)
	@$(BUILD)/nodesim --seeds $(SEEDS)

unit: all $(UNIT_BINS)
fuzz-replay: all $(FUZZ_REPLAY)

test: deps
	@$(MAKE) -s --no-print-directory all $(UNIT_BINS) $(FUZZ_REPLAY) $(BUILD)/sim $(BUILD)/nodesim $(BUILD)/bench/bench_device
	@$(MAKE) -s --no-print-directory explorer
	@$(MAKE) -s --no-print-directory mcu check-format check-braces
	@BUILD=$(BUILD) SANITIZER=$(SANITIZER) SHA256=$(SHA256) SIM=$(BUILD)/sim NODESIM=$(BUILD)/nodesim \
	    BENCH_DEVICE=$(BUILD)/bench/bench_device tests/run.sh $(UNIT_BINS) -- $(FUZZ_REPLAY)

# libFuzzer needs clang; each target runs FUZZ_SECONDS and adds new inputs to its corpus.
fuzz: deps
	@BUILD=$(BUILD) FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run.sh

bench: deps
	@$(MAKE) --no-print-directory all $(BENCH_BINS)
	@BUILD=$(BUILD) tests/bench/run.sh

demo: deps
	@$(MAKE) --no-print-directory all explorer
	@BUILD=$(BUILD) scripts/demo.sh

# The provenance explorer (web/explorer/README.md): static files in $(BUILD)/explorer that the node
# serves (upledgerd --explorer DIR) or any web server can. npm ci installs the locked packages
# (again only when package-lock.json changes, so an offline rebuild works); esbuild bundles.
# Its playwright-core also drives the fleet page's browser test (tests/tracker-web/fleet.mjs).
EXPLORER_SRC := $(sort $(wildcard web/explorer/src/*)) web/explorer/build.mjs
EXPLORER_NPM := web/explorer/node_modules/.package-lock.json
explorer: $(BUILD)/explorer/index.html

$(EXPLORER_NPM): web/explorer/package-lock.json web/explorer/package.json
	@echo "  NPM     web/explorer"
	$(Q)cd web/explorer && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --prefer-offline --no-audit --no-fund --loglevel=error
	$(Q)touch $@

$(BUILD)/explorer/index.html: $(EXPLORER_NPM) $(EXPLORER_SRC)
	@echo "  ESBUILD $(BUILD)/explorer"
	$(Q)node web/explorer/build.mjs $(BUILD)/explorer

# A loopback testnet of N validators in testnet/run (testnet/up.sh --help; TESTNET_ARGS passes
# more options, e.g. TESTNET_ARGS="--observers 1 --port 28400").
N ?= 4
testnet: all
	@BUILD=$(BUILD) testnet/up.sh $(N) $(TESTNET_ARGS)

testnet-down:
	@BUILD=$(BUILD) testnet/down.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/pkgconfig \
	    $(DESTDIR)$(PREFIX)/include/upledger/client $(DESTDIR)$(PREFIX)/include/upledger/schema
	install -m 755 $(UPLEDGERD) $(UPLEDGER) $(UPDEVICE) $(UPTRACKER) $(DESTDIR)$(PREFIX)/bin/
	install -m 644 $(CLIENT_LIB) $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(CLIENT_SO) $(DESTDIR)$(PREFIX)/lib/
	ln -sf $(notdir $(CLIENT_SO)) $(DESTDIR)$(PREFIX)/lib/$(CLIENT_SO_NAME)
	ln -sf $(CLIENT_SO_NAME) $(DESTDIR)$(PREFIX)/lib/libupclient.so
	install -m 644 $(PC_FILE) $(DESTDIR)$(PREFIX)/lib/pkgconfig/
	install -m 644 client/ul_client.h $(DESTDIR)$(PREFIX)/include/upledger/client/
	install -m 644 schema/ul_schema.h schema/ul_err.h schema/ul_limits.h schema/ul_version.h \
	    $(DESTDIR)$(PREFIX)/include/upledger/schema/
	install -d $(DESTDIR)$(PREFIX)/lib/systemd/system $(DESTDIR)$(PREFIX)/share/upledger
	sed 's#/usr/local/bin/#$(PREFIX)/bin/#' packaging/upledgerd.service \
	    > $(DESTDIR)$(PREFIX)/lib/systemd/system/upledgerd.service
	chmod 644 $(DESTDIR)$(PREFIX)/lib/systemd/system/upledgerd.service
	install -m 644 packaging/upledgerd.example.json $(DESTDIR)$(PREFIX)/share/upledger/

clean:
	rm -rf build

include scripts/mcu.mk

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
