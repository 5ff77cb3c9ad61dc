# SPDX-License-Identifier: MIT
# The core heap in its other configurations (include/kheap/heap.h):
#   test-heap-harden2  the whole suite with hardening level 2 compiled in and
#                      on (-DKH_CONFIG_HARDEN=2: canaries after every block,
#                      poisoned free memory) and the trace hooks compiled in
#                      (-DKH_HEAP_TRACE=1), at -O2 and -Os: the modules above
#                      run over the level-2 heap (but slab and kmalloc, whose
#                      tests assert the default heap's exact packing and the
#                      bytes a free leaves), and the heap's own tests check
#                      what level 2 and the hooks add
#   test-heap-config   the build-time contract: every configuration macro out
#                      of range stops the build (#error), and heap.c with
#                      heap.h alone (no other kheap file) compiles warning-free
#                      and passes a smoke test
HEAP2_DEFS := -DKH_CONFIG_HARDEN=2 -DKH_HEAP_TRACE=1

$(BUILD)/harden2/kh_tests: $(ALL_TEST_DEPS) mk/heap.mk
	@mkdir -p $(@D)
	$(CC) $(WARN) -O2 -g $(INC) $(HOSTED_DEFS) $(HEAP2_DEFS) -o $@ $(sort $(LIB_SRC) $(HOSTED_SRC) $(TEST_SRC)) $(BUILD)/test_list_hosted.c $(HOST_LIBS)

$(BUILD)/harden2-os/kh_tests: $(ALL_TEST_DEPS) mk/heap.mk
	@mkdir -p $(@D)
	$(CC) $(WARN) -Os -g $(INC) $(HOSTED_DEFS) $(HEAP2_DEFS) -o $@ $(sort $(LIB_SRC) $(HOSTED_SRC) $(TEST_SRC)) $(BUILD)/test_list_hosted.c $(HOST_LIBS)

.PHONY: test-heap-harden2 test-heap-config
test-heap-harden2: $(BUILD)/harden2/kh_tests $(BUILD)/harden2-os/kh_tests
	$(BUILD)/harden2/kh_tests -@slow -@slab -@kmalloc
	$(BUILD)/harden2-os/kh_tests @heap

test-heap-config:
	@sh tests/heap_config_check.sh

TEST_STEPS += test-heap-harden2 test-heap-config
