# careline build. `make run` and `make test` are the two commands a newcomer needs;
# both install missing Debian packages first (deploy/install-deps.sh).
#   make            release build (build/release)
#   make run        broker + daemon on loopback with the embedded default config
#   make test       ASan+UBSan build, unit and integration tests
#   make bench      release build, benchmark figures (name value unit)
#   make fuzz       clang libFuzzer harnesses (build/fuzz), FUZZ_SECONDS each
#   make format     clang-format every source file
#   make prompts    the hotline's WAV prompts (config/prompts/, espeak-ng) for 46elks

BUILD ?= release
B := build/$(BUILD)

CC ?= cc
FUZZ_CC ?= clang
CSTD := -std=c11 -D_GNU_SOURCE
WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter
ifeq ($(BUILD),asan)
OPT := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else ifeq ($(BUILD),fuzz)
# Everything coverage-instrumented for libFuzzer; the harnesses link its main.
CC := $(FUZZ_CC)
OPT := -O1 -g -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer \
	-fno-sanitize-recover=undefined
else
OPT := -O2 -g
endif

CORE_PKGS := sqlite3 libsodium inih
GW_PKGS := libmicrohttpd jansson libcurl libmosquitto openssl libsystemd
PKG_CFLAGS = $(shell pkg-config --cflags $(CORE_PKGS) $(GW_PKGS) 2>/dev/null)
PKG_LIBS = $(shell pkg-config --libs $(CORE_PKGS) $(GW_PKGS) 2>/dev/null)

CFLAGS := $(CSTD) $(WARN) $(OPT) -Iinclude -MMD -MP
LDLIBS = $(PKG_LIBS) -lm
TEST_LDLIBS = $(LDLIBS) -lcmocka

CORE_SRC := $(wildcard core/*.c)
GW_SRC := $(filter-out gateway/main.c gateway/carelinectl.c,$(wildcard gateway/*.c))
CONFIG_FILES := config/careline.ini config/normalise.ini $(wildcard config/texts/*.ini)
PROMPTS_STAMP := config/prompts/.stamp
TESTLIB_SRC := $(wildcard tests/lib/*.c)
UNIT_SRC := $(wildcard tests/unit/*_test.c)
INTEG_SRC := $(wildcard tests/integration/[0-9]*.c)
BENCH_SRC := $(wildcard tests/bench/bench_*.c)
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)

CORE_OBJ := $(CORE_SRC:%.c=$(B)/%.o) $(B)/gen/embedded.o
GW_OBJ := $(GW_SRC:%.c=$(B)/%.o)
TESTLIB_OBJ := $(TESTLIB_SRC:%.c=$(B)/%.o)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/unit/%)
INTEG_BIN := $(INTEG_SRC:tests/integration/%.c=$(B)/tests/integration/%)
BENCH_BIN := $(BENCH_SRC:tests/bench/%.c=$(B)/tests/bench/%)
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=$(B)/tests/fuzz/%)
# A harness gets libFuzzer's main in build/fuzz, tests/fuzz/replay.c's elsewhere.
FUZZ_MAIN := $(if $(filter fuzz,$(BUILD)),,$(B)/tests/fuzz/replay.o)
FUZZ_LDFLAGS := $(if $(filter fuzz,$(BUILD)),-fsanitize=fuzzer)

.PHONY: all deps run test unit integration bench format clean prompts fuzz fuzz-build fuzz-replay
all: $(B)/careline $(B)/carelinectl prompts

deps:
	@./deploy/install-deps.sh

# V=1 shows the full commands.
Q := $(if $(V),,@)

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS) $(PKG_CFLAGS) -c $< -o $@

$(B)/gen/embedded.c: config/embed.sh $(CONFIG_FILES)
	@mkdir -p $(dir $@)
	$(Q)./config/embed.sh $@ $(CONFIG_FILES)

$(B)/gen/embedded.o: $(B)/gen/embedded.c
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

# Voice prompts as WAV for providers without text-to-speech, one directory per
# language; the same for every BUILD, so they live beside the texts.
prompts: $(PROMPTS_STAMP)
$(PROMPTS_STAMP): config/prompts.sh config/careline.ini $(wildcard config/texts/*.ini)
	@$(if $(Q),echo "  PROMPTS config/prompts")
	$(Q)./config/prompts.sh config/prompts config/texts config/careline.ini
	$(Q)touch $@

$(B)/libcareline_core.a: $(CORE_OBJ)
	$(Q)ar rcs $@ $^
$(B)/libcareline_gw.a: $(GW_OBJ)
	$(Q)ar rcs $@ $^

$(B)/careline: $(B)/gateway/main.o $(B)/libcareline_gw.a $(B)/libcareline_core.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(OPT) -o $@ $^ $(LDLIBS)
$(B)/carelinectl: $(B)/gateway/carelinectl.o $(B)/libcareline_gw.a $(B)/libcareline_core.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(OPT) -o $@ $^ $(LDLIBS)

$(B)/tests/unit/%: $(B)/tests/unit/%.o $(TESTLIB_OBJ) $(B)/libcareline_gw.a $(B)/libcareline_core.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(OPT) -o $@ $^ $(TEST_LDLIBS)
$(B)/tests/integration/%: $(B)/tests/integration/%.o $(TESTLIB_OBJ) $(B)/libcareline_gw.a $(B)/libcareline_core.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(OPT) -o $@ $^ $(TEST_LDLIBS)
$(B)/tests/bench/%: $(B)/tests/bench/%.o $(B)/tests/bench/common.o $(TESTLIB_OBJ) $(B)/libcareline_gw.a $(B)/libcareline_core.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(OPT) -o $@ $^ $(TEST_LDLIBS)
$(FUZZ_BIN): $(B)/tests/fuzz/%: $(B)/tests/fuzz/%.o $(B)/tests/fuzz/common.o $(FUZZ_MAIN) $(B)/libcareline_gw.a $(B)/libcareline_core.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(OPT) $(FUZZ_LDFLAGS) -o $@ $^ $(LDLIBS)

run: deps
	@$(MAKE) --no-print-directory BUILD=release all
	@./deploy/run-local.sh build/release

test: deps
	@$(MAKE) --no-print-directory BUILD=asan test-build
	@$(MAKE) --no-print-directory BUILD=asan unit fuzz-replay integration

test-build: all $(UNIT_BIN) $(INTEG_BIN) $(FUZZ_BIN)

unit: $(UNIT_BIN)
	@./tests/run-tests.sh unit $(UNIT_BIN)

# Every fuzz harness over its seed corpus (tests/fuzz/corpus/NAME), without clang.
fuzz-replay: $(FUZZ_BIN)
	@./tests/run-tests.sh fuzz-replay $(FUZZ_BIN)

integration: all $(INTEG_BIN)
	@CARELINE_BIN=$(B)/careline CARELINECTL_BIN=$(B)/carelinectl ./tests/run-tests.sh integration $(INTEG_BIN)

bench: deps
	@$(MAKE) --no-print-directory BUILD=release all bench-build
	@CARELINE_BIN=build/release/careline ./tests/run-bench.sh $(patsubst tests/bench/%.c,build/release/tests/bench/%,$(BENCH_SRC))

bench-build: $(BENCH_BIN)

# make fuzz [FUZZ_SECONDS=60] [FUZZ="form config"]: the harnesses one after
# another, each for FUZZ_SECONDS on build/fuzz/corpus/NAME (seeded from
# tests/fuzz/corpus/NAME); crashes go to build/fuzz/crashes/.
FUZZ_SECONDS ?= 60
FUZZ ?= $(FUZZ_SRC:tests/fuzz/fuzz_%.c=%)
fuzz: deps
	@$(MAKE) --no-print-directory BUILD=fuzz fuzz-build
	@FUZZ_SECONDS=$(FUZZ_SECONDS) ./tests/fuzz/run-fuzz.sh build/fuzz $(FUZZ)

fuzz-build: $(FUZZ_BIN)

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build config/prompts

-include $(shell find build -name '*.d' 2>/dev/null)
