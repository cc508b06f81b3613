# quartermaster build.
#
#   make            release build of qmd, qmctl, qm-agent, qm-bench, libqm
#                   (build/release)
#   make deps       install missing Debian packages (root) or print the line
#   make run        start a local 3-node cluster and show it working
#   make test       ASan+UBSan build, every unit and cluster test
#   make bench      the speed table of a local 3-node cluster, and the agent's
#                   cost (make bench-agent)
#   make bench-queue  the queue state machine holding 1,000,000 requests
#   make fuzz       libFuzzer targets for the decoders (FUZZ_SECONDS each)
#   make install    PREFIX=/usr/local
#
# MODE selects the build folder and flags: release (default), asan, fuzz.

MODE ?= release
# B: the build folder; helpers running builds side by side may give their own.
B ?= build/$(MODE)
PREFIX ?= /usr/local
CC ?= cc

DEPS := gcc make pkg-config clang-format libraft-dev libuv1-dev libnng-dev libmsgpack-dev \
	liblmdb-dev libinih-dev libxxhash-dev libcmocka-dev
FUZZ_DEPS := clang libclang-rt-14-dev

WARN := -Wall -Wextra -Werror -Wpedantic -Wshadow -Wconversion \
	-Wstrict-prototypes -Wmissing-prototypes -Wformat=2 \
	-Wimplicit-fallthrough -Wcast-align -Wvla
# Error texts are cut to their buffers on purpose (snprintf), so gcc's
# guesses about truncation are noise here.
WARN += -Wno-format-truncation
CFLAGS_BASE := -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE \
	-g -pthread $(WARN) -MMD -MP
INCLUDES := -Ilib -Itransport -Istatemachine -Iconsensus -Inode -Icli \
	-Ibench -Iagent

ifeq ($(MODE),release)
  CFLAGS_MODE := -O2 -D_FORTIFY_SOURCE=2 -fstack-protector-strong
else ifeq ($(MODE),asan)
  CFLAGS_MODE := -O1 -fno-omit-frame-pointer \
	-fsanitize=address,undefined -fno-sanitize-recover=all
  LDFLAGS_MODE := -fsanitize=address,undefined
else ifeq ($(MODE),fuzz)
  CC := clang
  # clang does not know gcc's -Wno-format-truncation (WARN).
  CFLAGS_MODE := -O1 -fno-omit-frame-pointer \
	-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all \
	-Wno-unknown-warning-option
  LDFLAGS_MODE := -fsanitize=fuzzer,address,undefined
else
  $(error MODE must be release, asan or fuzz)
endif

CFLAGS ?=
CFLAGS_ALL := $(CFLAGS_BASE) $(CFLAGS_MODE) $(INCLUDES) $(CFLAGS)
LDFLAGS_ALL := -pthread $(LDFLAGS_MODE) $(LDFLAGS)
LIBS_SERVER := -lraft -luv -lnng -lmsgpackc -llmdb -linih -lxxhash
LIBS_CLIENT := -lnng -lmsgpackc
LIBS_AGENT := -lnng -lmsgpackc -linih -lm

# ---- sources, one concern per folder ----
BASE_SRC := lib/qm_err.c lib/qm_log.c lib/qm_alloc.c lib/qm_mp.c \
	lib/qm_codec.c transport/tp_msg.c transport/tp_msg_host.c
CLIENT_SRC := $(filter-out $(BASE_SRC),$(wildcard lib/*.c)) \
	$(wildcard transport/tp_client*.c)
TP_SRC := $(filter-out $(BASE_SRC) $(CLIENT_SRC),$(wildcard transport/*.c))
FSM_SRC := $(wildcard statemachine/*.c)
CONS_SRC := $(wildcard consensus/*.c)
NODE_SRC := $(wildcard node/*.c)
CLI_SRC := $(wildcard cli/*.c)
# The agent: a library of its modules, and the program's entry point.
AGENT_SRC := $(filter-out agent/agent_main.c,$(wildcard agent/*.c))
# qm_queue_bench.c is a program of its own (QMQBENCH), not part of qm-bench.
BENCH_SRC := $(filter-out bench/qm_queue_bench.c,$(wildcard bench/*.c))

obj = $(patsubst %.c,$(B)/obj/%.o,$(1))

LIBQM := $(B)/libqm.a
LIBSERVER := $(B)/libqmserver.a
LIBAGENT := $(B)/libqmagent.a
QMD := $(B)/bin/qmd
QMCTL := $(B)/bin/qmctl
QMBENCH := $(B)/bin/qm-bench
QMAGENT := $(B)/bin/qm-agent
BINS := $(QMD) $(QMCTL) $(QMBENCH) $(QMAGENT)
# The queue state machine at scale, in process; not part of all.
QMQBENCH := $(B)/bin/qm-queue-bench

# ---- tests ----
UNIT_SRC := $(wildcard tests/unit/*/test_*.c)
# Test processes the agent's tests watch (fd, socket and thread patterns).
TEST_PROGS_SRC := $(wildcard tests/progs/*.c)
TEST_PROGS := $(patsubst tests/progs/%.c,$(B)/tests/progs/%,$(TEST_PROGS_SRC))
UNIT_BINS := $(patsubst tests/unit/%.c,$(B)/tests/unit/%,$(UNIT_SRC))
UNIT_HELPERS := $(wildcard tests/unit/helpers/*.c)
IT_SRC := $(wildcard tests/integration/test_*.c)
IT_BINS := $(patsubst tests/integration/%.c,$(B)/tests/integration/%,$(IT_SRC))
IT_HELPERS := $(filter-out $(IT_SRC),$(wildcard tests/integration/*.c))
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS := $(patsubst tests/fuzz/%.c,$(B)/fuzz/%,$(FUZZ_SRC))
FUZZ_SECONDS ?= 60

# Keep the objects of test helpers make would treat as intermediate.
.SECONDARY:

.PHONY: all deps run test check unit integration fuzz install clean \
	format format-check bench bench-agent bench-queue

all: $(BINS) $(LIBQM)

$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -c $< -o $@

$(LIBQM): $(call obj,$(BASE_SRC) $(CLIENT_SRC))
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(LIBSERVER): $(call obj,$(TP_SRC) $(FSM_SRC) $(CONS_SRC))
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(QMD): $(call obj,$(NODE_SRC)) $(LIBSERVER) $(LIBQM)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LIBS_SERVER)

$(LIBAGENT): $(call obj,$(AGENT_SRC))
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

# The local API serves with the node's request/reply server.
$(QMAGENT): $(call obj,agent/agent_main.c transport/tp_server.c) $(LIBAGENT) \
		$(LIBQM)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LIBS_AGENT)

$(QMCTL): $(call obj,$(CLI_SRC)) $(LIBQM)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LIBS_CLIENT)

# Test programs compile and link in one step, so their .d files list
# headers as prerequisites of the program: keep those off the command line.
$(QMBENCH): $(call obj,$(BENCH_SRC)) $(LIBQM)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LIBS_CLIENT)

# Links like a unit test: the state machine in process, no raft, no network.
$(QMQBENCH): bench/qm_queue_bench.c $(LIBSERVER) $(LIBQM)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(LDFLAGS_ALL) -o $@ $(filter-out %.h,$^) \
		$(LIBS_SERVER)

# The agent's unit tests link the agent and libqm only, not the server,
# and of the test helpers those that need no server (objects, like the
# other unit tests' helpers: the .d files list only headers, which the
# link line filters out).
AGENT_TEST_HELPERS := $(addprefix tests/unit/helpers/,th_tmpdir.c th_rng.c \
	th_log.c)
$(B)/tests/unit/agent/%: tests/unit/agent/%.c \
		$(call obj,$(AGENT_TEST_HELPERS)) $(LIBAGENT) \
		$(call obj,transport/tp_server.c) $(LIBQM) \
		| $(TEST_PROGS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -Itests/unit/helpers $(LDFLAGS_ALL) -o $@ \
		$(filter-out %.h,$^) $(LIBS_AGENT) -lcmocka

$(B)/tests/progs/%: tests/progs/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(LDFLAGS_ALL) -o $@ $< -lm

$(B)/tests/unit/%: tests/unit/%.c $(call obj,$(UNIT_HELPERS)) $(LIBSERVER) \
		$(LIBQM)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -Itests/unit/helpers $(LDFLAGS_ALL) -o $@ \
		$(filter-out %.h,$^) \
		$(LIBS_SERVER) -lcmocka

$(B)/tests/integration/%: tests/integration/%.c $(call obj,$(IT_HELPERS)) \
		$(LIBQM)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -Itests/integration $(LDFLAGS_ALL) -o $@ \
		$(filter-out %.h,$^) \
		$(LIBS_CLIENT)

$(B)/fuzz/%: tests/fuzz/%.c $(LIBSERVER) $(LIBQM)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(LDFLAGS_ALL) -o $@ $(filter-out %.h,$^) \
		$(LIBS_SERVER)

# ---- set-up ----
deps:
	@missing=""; for p in $(DEPS) $(EXTRA_DEPS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | \
	    grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then \
	  echo "deps: installing$$missing"; \
	  apt-get update -qq || true; \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    --no-install-recommends $$missing; \
	else \
	  echo "deps: missing$$missing; run as root:"; \
	  echo "  apt-get install -y$$missing"; exit 1; \
	fi

# ---- the two commands of README ----
run: deps
	@$(MAKE) --no-print-directory MODE=release all
	@deploy/local-cluster.sh build/release/bin

test: deps format-check
	@$(MAKE) --no-print-directory MODE=asan check

check: $(BINS) $(UNIT_BINS) $(IT_BINS) $(TEST_PROGS)
	@tests/run.sh $(B)

unit: $(UNIT_BINS)
	@tests/run.sh $(B) unit

integration: $(BINS) $(IT_BINS) $(TEST_PROGS)
	@tests/run.sh $(B) integration

fuzz:
	@$(MAKE) --no-print-directory EXTRA_DEPS="$(FUZZ_DEPS)" deps
	@$(MAKE) --no-print-directory MODE=fuzz fuzz-build
	@for f in $(patsubst tests/fuzz/%.c,build/fuzz/fuzz/%,$(FUZZ_SRC)); do \
	  name=$$(basename $$f); mkdir -p build/fuzz/corpus/$$name; \
	  echo "fuzz: $$name for $(FUZZ_SECONDS)s"; \
	  $$f -max_total_time=$(FUZZ_SECONDS) -max_len=4096 \
	    build/fuzz/corpus/$$name tests/fuzz/seeds/$$name || exit 1; \
	done

fuzz-build: $(FUZZ_BINS)

bench: deps
	@$(MAKE) --no-print-directory MODE=release all
	@bench/run.sh build/release/bin build/bench
	@$(MAKE) --no-print-directory bench-agent

# The agent's own cost watching 200 processes (README "Performance").
bench-agent: deps
	@$(MAKE) --no-print-directory MODE=release all \
		build/release/tests/progs/qm_testproc
	@bench/agent.sh build/release/bin build/release/tests/progs build/bench

# Submit, dispatch, TICK, snapshot and restore with 1,000,000 requests
# queued, in process (README "Queues of work"); QUEUE_REQUESTS to change.
QUEUE_REQUESTS ?= 1000000
bench-queue: deps
	@$(MAKE) --no-print-directory MODE=release build/release/bin/qm-queue-bench
	@mkdir -p build/bench
	@build/release/bin/qm-queue-bench --requests $(QUEUE_REQUESTS) \
		--dir build/bench

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib \
		$(DESTDIR)$(PREFIX)/include/quartermaster
	install -m 755 $(BINS) $(DESTDIR)$(PREFIX)/bin/
	install -m 644 $(LIBQM) $(DESTDIR)$(PREFIX)/lib/
	install -m 644 lib/qm.h lib/qm_err.h lib/qm_limits.h \
		$(DESTDIR)$(PREFIX)/include/quartermaster/

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

format-check:
	@clang-format --dry-run -Werror $$(git ls-files '*.c' '*.h') && \
	  echo "format: clean"


clean:
	rm -rf build

-include $(shell find $(B) -name '*.d' 2>/dev/null)
