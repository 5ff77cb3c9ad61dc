# Fuzzing the core heap with libFuzzer (clang + libclang-rt-14-dev).
#   make fuzz FUZZ_SECONDS=600   run for a given time (default 60 s)
#   test-fuzz (in make test)    a short run (20 s) so the target never rots
FUZZ_SECONDS ?= 60
FUZZ_CORPUS  := $(BUILD)/fuzz/corpus_heap

$(BUILD)/fuzz/fuzz_heap: fuzz/fuzz_heap.c tests/heap_model.c $(LIB_SRC) $(wildcard include/kheap/*.h tests/*.h)
	@mkdir -p $(@D)
	$(CLANG) $(WARN) -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	  $(INC) -o $@ fuzz/fuzz_heap.c tests/heap_model.c src/heap.c src/error.c

.PHONY: fuzz test-fuzz
fuzz: $(BUILD)/fuzz/fuzz_heap
	@mkdir -p $(FUZZ_CORPUS)
	$(BUILD)/fuzz/fuzz_heap -max_total_time=$(FUZZ_SECONDS) -max_len=4096 $(FUZZ_CORPUS)

test-fuzz: $(BUILD)/fuzz/fuzz_heap
	@mkdir -p $(FUZZ_CORPUS)
	@$(BUILD)/fuzz/fuzz_heap -max_total_time=20 -max_len=4096 -seed=1 $(FUZZ_CORPUS) \
	  > $(BUILD)/fuzz/last.log 2>&1; rc=$$?; tail -n 3 $(BUILD)/fuzz/last.log; \
	  [ $$rc -eq 0 ] && echo "fuzz: no crash" || { grep -m1 -A5 'ERROR\|violation' $(BUILD)/fuzz/last.log; exit $$rc; }

TEST_STEPS += test-fuzz
