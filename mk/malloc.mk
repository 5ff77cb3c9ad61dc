# SPDX-License-Identifier: MIT
# kheap as the process malloc, and as newlib's and picolibc's malloc.
#   make malloc          build/lib/libkheap-malloc.so (LD_PRELOAD or link it)
#   make test-malloc     the malloc semantics and thread stress programs, and
#                        real programs (python3's own tests, sqlite3, git)
#                        with and without the drop-in: same results
#   make test-libc-malloc  newlib and picolibc firmware on a QEMU Cortex-M3
#                        whose every allocation comes from kheap
#   make bench-programs  time and peak RSS of those programs on kheap, glibc,
#                        jemalloc, mimalloc, tcmalloc -> docs/BENCHMARKS.md table

MALLOC_SO := $(BUILD)/lib/libkheap-malloc.so
MO := $(BUILD)/malloc

# The drop-in is every library source plus the hosted adapters, found by
# folder: library sources are src/**/*.c (each hosted/ folder only in hosted
# builds like this one) and port/hosted/. Unused code is dropped at link time
# (--gc-sections); only the C library's allocation names and
# kh_malloc_stats_line are exported (-fvisibility=hidden). The core heap is
# built without its pointer checks (KH_CONFIG_CHECKS=0): a checked free walks
# the heap's region list, and the drop-in validates pointers by their
# segment header instead.
MALLOC_SRC := $(sort $(shell find src -name '*.c') $(wildcard port/hosted/*.c))
MALLOC_HDRS := $(sort $(shell find src include -name '*.h'))
MALLOC_CFLAGS := $(WARN) -O2 -g -fPIC -fvisibility=hidden -ftls-model=initial-exec \
	-ffunction-sections -fdata-sections -fno-builtin-malloc -fno-builtin-calloc \
	-fno-builtin-realloc -fno-builtin-free $(INC) -D_GNU_SOURCE -DKH_CONFIG_CHECKS=0 \
	-DKH_MALLOC_DROPIN=1

.PHONY: malloc

malloc: $(MALLOC_SO)

$(MALLOC_SO): $(MALLOC_SRC) $(MALLOC_HDRS) mk/malloc.mk
	@mkdir -p $(@D) $(MO)/obj && rm -f $(MO)/obj/*.o
	@set -e; for f in $(MALLOC_SRC); do \
	  $(CC) $(MALLOC_CFLAGS) -c $$f -o $(MO)/obj/$$(echo $$f | tr / _ | sed 's/\.c$$//').o; done
	@$(CC) -shared -o $@ $(MO)/obj/*.o -Wl,--gc-sections -Wl,-z,now -lpthread
	@echo "built $@"

# --- Test programs and the real-program step ----------------------------------

MALLOC_TEST_CFLAGS := $(WARN) -O2 -g

$(MO)/malloc_semantics: tests/integration/malloc_semantics.c
	@mkdir -p $(@D)
	$(CC) $(MALLOC_TEST_CFLAGS) -o $@ $< -ldl

$(MO)/malloc_stress: tests/integration/malloc_stress.c
	@mkdir -p $(@D)
	$(CC) $(MALLOC_TEST_CFLAGS) -pthread -o $@ $<

TEST_STEPS += test-malloc
.PHONY: test-malloc

test-malloc: $(MALLOC_SO) $(MO)/malloc_semantics $(MO)/malloc_stress
	@sh tests/integration/real_programs.sh $(MALLOC_SO) $(MO) $(MO)/work

# --- Real-program benchmark -------------------------------------------------------
# Not part of make test: ~15 minutes. Rewrites the real-program section of
# docs/BENCHMARKS.md (between its programs:begin/end markers).
BENCH_PROGRAMS_REPS ?= 3
.PHONY: bench-programs

bench-programs: $(MALLOC_SO) $(MO)/malloc_stress
	sh tests/integration/bench_programs.sh $(MALLOC_SO) $(MO) $(MO)/bench $(MO)/bench-programs.md \
	  $(BENCH_PROGRAMS_REPS) docs/BENCHMARKS.md
