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
TEST_STEPS := test-plain test-asan test-valgrind test-nochecks test-minimal test-compile test-cmake

.PHONY: all lib test demo bench deps clean format test-cmake test-nochecks test-minimal $(TEST_STEPS)

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

# The whole suite over the minimal core heap (-DKH_HEAP_FULL=0, no checks,
# -Os: the smallest build, docs/SIZE.md). The heap's own tests and its shadow
# model assert the minimal build's rules (#if !KH_HEAP_FULL in tests/):
# alignments above the default and kheap_realloc beyond the block return NULL
# and change nothing, kheap_set_policy refuses. Every other module runs over
# the minimal heap too, except the tests below that need from it what the
# minimal build does not have, plus the steps test-nochecks leaves out.
# Alignment above the default (over-aligned objects, 64-byte blocks):
MINIMAL_SKIP := box_align_and_bad_input rc_alignment_and_init arc_count_clone_release_drop_once \
	list_owning_typed_and_aligned vec_overaligned_elements \
	locked_every_call_holds_the_lock_and_restores_state locked_mt_pthread_heap
# The fixed-block allocator over the heap: each class block is aligned to its size.
MINIMAL_SKIP += fixed_blocks_are_reused_per_class fixed_every_class_and_alignment \
	fixed_large_requests_go_to_backing fixed_resize_within_class fixed_misuse_is_reported \
	fixed_seed_tests fixed_model fixed_fault_injection fixed_backing_faults_lose_nothing \
	locked_mt_spin_fixed
# Slab caches, and kmalloc's tests, which boot on the kh_kmem front end with
# the heap as page source: slabs are aligned to the slab size. Left out by
# module (a substring filter), so a new test there cannot break this step;
# the few that also pass over the minimal heap run in every other step.
MINIMAL_SKIP += slab_ kmalloc_
# Growth through a memory source (the minimal heap refuses kheap_set_source;
# heap_grows_through_source_once_per_failure checks that).
MINIMAL_SKIP += sources_static_grows_the_core_heap_to_its_limit \
	sources_mmap_grows_the_core_heap_to_its_limit
$(BUILD)/minimal/kh_tests: $(ALL_TEST_DEPS)
	@mkdir -p $(@D)
	$(CC) $(WARN) -Os -g $(INC) $(HOSTED_DEFS) -DKH_HEAP_FULL=0 -DKH_CONFIG_CHECKS=0 -o $@ $(sort $(LIB_SRC) $(HOSTED_SRC) $(TEST_SRC)) $(BUILD)/test_list_hosted.c $(HOST_LIBS)

test-minimal: $(BUILD)/minimal/kh_tests
	$(BUILD)/minimal/kh_tests -heap_checked_ -atomic_litmus $(addprefix -,$(MINIMAL_SKIP))

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
