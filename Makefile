# careline build. `make run` and `make test` are the two commands a newcomer needs;
# both install missing Debian packages first (deploy/install-deps.sh).
#   make            release build (build/release)
#   make run        broker + daemon on loopback with the embedded default config
#   make test       ASan+UBSan build, unit and integration tests
#   make bench      release build, benchmark figures (name value unit)
#   make format     clang-format every source file
#   make prompts    the hotline's WAV prompts (config/prompts/, espeak-ng) for 46elks

BUILD ?= release
B := build/$(BUILD)

CC ?= cc
CSTD := -std=c11 -D_GNU_SOURCE
WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter
ifeq ($(BUILD),asan)
OPT := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else
OPT := -O2 -g
endif

CORE_PKGS := sqlite3 libsodium inih
GW_PKGS := libmicrohttpd jansson libcurl libmosquitto openssl
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

CORE_OBJ := $(CORE_SRC:%.c=$(B)/%.o) $(B)/gen/embedded.o
GW_OBJ := $(GW_SRC:%.c=$(B)/%.o)
TESTLIB_OBJ := $(TESTLIB_SRC:%.c=$(B)/%.o)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/unit/%)
INTEG_BIN := $(INTEG_SRC:tests/integration/%.c=$(B)/tests/integration/%)
BENCH_BIN := $(BENCH_SRC:tests/bench/%.c=$(B)/tests/bench/%)

.PHONY: all deps run test unit integration bench format clean prompts
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

run: deps
	@$(MAKE) --no-print-directory BUILD=release all
	@./deploy/run-local.sh build/release

test: deps
	@$(MAKE) --no-print-directory BUILD=asan test-build
	@$(MAKE) --no-print-directory BUILD=asan unit integration

test-build: all $(UNIT_BIN) $(INTEG_BIN)

unit: $(UNIT_BIN)
	@./tests/run-tests.sh unit $(UNIT_BIN)

integration: all $(INTEG_BIN)
	@CARELINE_BIN=$(B)/careline CARELINECTL_BIN=$(B)/carelinectl ./tests/run-tests.sh integration $(INTEG_BIN)

bench: deps
	@$(MAKE) --no-print-directory BUILD=release all bench-build
	@CARELINE_BIN=build/release/careline ./tests/run-bench.sh $(patsubst tests/bench/%.c,build/release/tests/bench/%,$(BENCH_SRC))

bench-build: $(BENCH_BIN)

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build config/prompts

-include $(shell find build -name '*.d' 2>/dev/null)
