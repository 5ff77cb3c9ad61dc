# kheap top-level Makefile: the targets people type.
#   make test    every test: plain, ASan+UBSan, valgrind, TSan, fuzz smoke,
#                freestanding/cross builds, QEMU bare metal, bench smoke
#   make demo    the demo (boots on Cortex-M3 in QEMU when the tools are there)
#   make bench   the benchmark program, tables, CSV and plots
#   make deps    install the Debian packages the tests need (as root)
# Modules add their own steps in mk/*.mk (appending to TEST_STEPS).

CC      ?= cc
CLANG   ?= clang
BUILD   ?= build
WARN    := -std=c11 -Wall -Wextra -Wpedantic -Werror
INC     := -Iinclude -Isrc -Itests
LIB_SRC := $(sort $(wildcard src/*.c))
HOSTED_SRC := $(sort $(wildcard port/hosted/*.c))
TEST_FILES := $(sort $(wildcard tests/test_*.c))
# Support files: every tests/*.c that is not a test file or the hosted main
# (runner, shared models) goes into every test build, hosted and bare metal.
TEST_SUPPORT := $(sort $(filter-out tests/test_% tests/kh_test_main_hosted.c,$(wildcard tests/*.c)))
# What a bare-metal build compiles besides its port: runner, support, tests.
TEST_TARGET_SRC := $(TEST_SUPPORT) $(TEST_FILES)
TEST_SRC   := tests/kh_test_main_hosted.c $(TEST_SUPPORT) $(TEST_FILES)
HOST_LIBS  := -lpthread -lm
HOSTED_DEFS := -DKH_TEST_HOSTED=1 -D_GNU_SOURCE

# Test steps run in this order by `make test` (tests/run_all.sh sums them).
TEST_STEPS := test-plain test-asan test-valgrind test-nochecks test-compile test-cmake

.PHONY: all lib test demo bench deps clean format test-cmake test-nochecks $(TEST_STEPS)

all: lib $(BUILD)/plain/kh_tests

lib: $(BUILD)/lib/libkheap.a

$(BUILD)/lib/libkheap.a: $(LIB_SRC) $(HOSTED_SRC) $(wildcard include/kheap/*.h src/internal/*.h)
	@mkdir -p $(BUILD)/lib/obj
	@set -e; for f in $(LIB_SRC) $(HOSTED_SRC); do \
	  $(CC) $(WARN) -O2 -g $(INC) -D_GNU_SOURCE -c $$f -o $(BUILD)/lib/obj/$$(basename $$f .c).o; done
	@rm -f $@ && ar rcs $@ $(BUILD)/lib/obj/*.o
	@echo "built $@"

$(BUILD)/test_list_hosted.c: $(TEST_FILES) tests/gen_test_list.sh
	@mkdir -p $(BUILD)
	@sh tests/gen_test_list.sh --hosted $(TEST_FILES) > $@

ALL_TEST_DEPS = $(LIB_SRC) $(HOSTED_SRC) $(TEST_SRC) $(BUILD)/test_list_hosted.c \
	$(wildcard include/kheap/*.h src/internal/*.h tests/*.h)

$(BUILD)/plain/kh_tests: $(ALL_TEST_DEPS)
	@mkdir -p $(@D)
	$(CC) $(WARN) -O2 -g $(INC) $(HOSTED_DEFS) -o $@ $(sort $(LIB_SRC) $(HOSTED_SRC) $(TEST_SRC)) $(BUILD)/test_list_hosted.c $(HOST_LIBS)

$(BUILD)/asan/kh_tests: $(ALL_TEST_DEPS)
	@mkdir -p $(@D)
	$(CLANG) $(WARN) -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
	  -fno-sanitize-recover=all $(INC) $(HOSTED_DEFS) -o $@ $(sort $(LIB_SRC) $(HOSTED_SRC) $(TEST_SRC)) $(BUILD)/test_list_hosted.c $(HOST_LIBS)

$(BUILD)/tsan/kh_tests: $(ALL_TEST_DEPS)
	@mkdir -p $(@D)
	$(CLANG) $(WARN) -O1 -g -fsanitize=thread $(INC) $(HOSTED_DEFS) -o $@ $(sort $(LIB_SRC) $(HOSTED_SRC) $(TEST_SRC)) $(BUILD)/test_list_hosted.c $(HOST_LIBS)

test-plain: $(BUILD)/plain/kh_tests
	$(BUILD)/plain/kh_tests

test-asan: $(BUILD)/asan/kh_tests
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 $(BUILD)/asan/kh_tests --scale 2

# valgrind: 20x fewer iterations; any error is a failure. Modules may add
# "-name" filters to VALGRIND_FILTERS for tests that only make sense with
# real parallelism (valgrind runs one thread at a time).
test-valgrind: $(BUILD)/plain/kh_tests
	valgrind -q --error-exitcode=99 --leak-check=full $(BUILD)/plain/kh_tests --scale 20 $(VALGRIND_FILTERS)

# The whole suite again with the misuse checks compiled out
# (KH_CONFIG_CHECKS=0) and at -Os, which also runs the size build's code paths
# (SIZE_BUILD in src/heap.c): every documented rule must hold in both. Tests
# assert checked-build reports only under #if KH_CONFIG_CHECKS; the heap's
# refusal tests (heap_checked_*) need the checks and are left out, and the
# litmus tests run in the plain, emulated and TSan steps already.
$(BUILD)/nochecks/kh_tests: $(ALL_TEST_DEPS)
	@mkdir -p $(@D)
	$(CC) $(WARN) -Os -g $(INC) $(HOSTED_DEFS) -DKH_CONFIG_CHECKS=0 -o $@ $(sort $(LIB_SRC) $(HOSTED_SRC) $(TEST_SRC)) $(BUILD)/test_list_hosted.c $(HOST_LIBS)

test-nochecks: $(BUILD)/nochecks/kh_tests
	$(BUILD)/nochecks/kh_tests -heap_checked_ -atomic_litmus

# Every library source compiles warning-free with gcc and clang, 64- and
# 32-bit, and freestanding with no configuration.
test-compile:
	@sh tests/compile_checks.sh

# The CMake build: install + pkg-config, find_package, add_subdirectory.
test-cmake:
	@sh tests/cmake_check.sh

test:
	@sh tests/run_all.sh $(TEST_STEPS)

deps:
	@sh .ci/deps.sh

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD)

-include $(sort $(wildcard mk/*.mk))
