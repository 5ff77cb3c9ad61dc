# SPDX-License-Identifier: MIT
# Fuzzing with libFuzzer (clang + libclang-rt-14-dev). Three targets:
#   fuzz_heap   the core heap's shadow model (tests/heap_model.c), valid
#               operations interleaved with misuse (see fuzz/fuzz_heap.c)
#   fuzz_heap2  the same at hardening level 2 (canaries, poisoned free memory)
#   fuzz_alloc  the allocator family through the alloc model's script mode
#               (tests/alloc_model.c): llist, fixed, slab cache, kh_kmem,
#               locked wrapper, bump, kheap_allocator, and the global kmalloc
#               API (see fuzz/fuzz_alloc.c)
#   make fuzz FUZZ_SECONDS=600   run every target for FUZZ_SECONDS each, one
#                                after the other (default 60 s each)
#   make fuzz FUZZ_TARGETS=alloc just one of them
#   test-fuzz (in make test)     a short run of each (FUZZ_TEST_SECONDS, 15 s
#                                each, 45 s in all) so the targets never rot
# Each target keeps its corpus in $(BUILD)/fuzz/corpus_<target>; a crash is
# written to $(BUILD)/fuzz/<target>-crash-<hash>; the last run's output is in
# $(BUILD)/fuzz/last_<target>.log.
FUZZ_SECONDS      ?= 60
FUZZ_TEST_SECONDS ?= 15
FUZZ_TARGETS      ?= heap heap2 alloc
FUZZ_CFLAGS := $(WARN) -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all $(INC)
FUZZ_HDRS   := $(LIB_HDRS) $(wildcard tests/*.h)

# What fuzz_alloc links: the allocators, their sources and locks, and the
# hosted port (pthread lock ops, context ids for the spin lock and kmalloc).
FUZZ_ALLOC_SRC := fuzz/fuzz_alloc.c tests/alloc_model.c $(wildcard src/core/*.c src/sync/*.c \
	src/alloc/*.c src/kmalloc/*.c) src/alloc/hosted/lock_pthread.c port/hosted/port_hosted.c

$(BUILD)/fuzz/fuzz_heap: fuzz/fuzz_heap.c tests/heap_model.c $(LIB_SRC) $(FUZZ_HDRS)
	@mkdir -p $(@D)
	$(CLANG) $(FUZZ_CFLAGS) -o $@ fuzz/fuzz_heap.c tests/heap_model.c $(wildcard src/core/*.c)

$(BUILD)/fuzz/fuzz_heap2: fuzz/fuzz_heap.c tests/heap_model.c $(LIB_SRC) $(FUZZ_HDRS)
	@mkdir -p $(@D)
	$(CLANG) $(FUZZ_CFLAGS) -DKH_CONFIG_HARDEN=2 -o $@ fuzz/fuzz_heap.c tests/heap_model.c $(wildcard src/core/*.c)

# -DKH_CONFIG_ASAN=0: the target reuses its arenas across inputs for other
# allocators than the core heap, which would find them poisoned by a heap
# of an earlier input (fuzz_heap keeps the annotations: kheap_init unpoisons).
$(BUILD)/fuzz/fuzz_alloc: $(FUZZ_ALLOC_SRC) $(FUZZ_HDRS)
	@mkdir -p $(@D)
	$(CLANG) $(FUZZ_CFLAGS) -D_GNU_SOURCE -DKH_CONFIG_ASAN=0 -o $@ $(FUZZ_ALLOC_SRC) -lpthread

# $(call fuzz_each,seconds,extra libFuzzer flags): run every target in
# FUZZ_TARGETS, print its last lines and "fuzz: no crash (...)" or the crash;
# fail when any target crashed (after running them all).
define fuzz_each
	@rc=0; for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(BUILD)/fuzz/corpus_$$t; \
	  echo "fuzz_$$t: $(1) s"; \
	  $(BUILD)/fuzz/fuzz_$$t -max_total_time=$(1) -max_len=4096 $(2) \
	    -artifact_prefix=$(BUILD)/fuzz/$$t- $(BUILD)/fuzz/corpus_$$t \
	    > $(BUILD)/fuzz/last_$$t.log 2>&1; r=$$?; \
	  tail -n 3 $(BUILD)/fuzz/last_$$t.log; \
	  if [ $$r -eq 0 ]; then echo "fuzz: no crash (fuzz_$$t)"; \
	  else grep -m1 -A5 'ERROR\|violation\|^fuzz_alloc \[' $(BUILD)/fuzz/last_$$t.log; \
	    rc=$$r; fi; \
	done; exit $$rc
endef

.PHONY: fuzz test-fuzz
fuzz: $(addprefix $(BUILD)/fuzz/fuzz_,$(FUZZ_TARGETS))
	$(call fuzz_each,$(FUZZ_SECONDS),)

test-fuzz: $(addprefix $(BUILD)/fuzz/fuzz_,$(FUZZ_TARGETS))
	$(call fuzz_each,$(FUZZ_TEST_SECONDS),-seed=1)

TEST_STEPS += test-fuzz
