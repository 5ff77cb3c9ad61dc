# Slab caches, kmalloc API, sources: also run their tests in an unchecked
# build (KH_CONFIG_CHECKS=0), where misuse checks compile out and the fast
# paths must still hold every documented rule. Only these three test files
# are built that way (other modules' tests assume checked builds).
TEST_STEPS += test-slab-nochecks
.PHONY: test-slab-nochecks

SLAB_NOCHK_TESTS := tests/test_slab.c tests/test_kmalloc.c tests/test_sources.c

$(BUILD)/nochecks/list.c: $(SLAB_NOCHK_TESTS) tests/gen_test_list.sh
	@mkdir -p $(@D)
	@sh tests/gen_test_list.sh --hosted $(SLAB_NOCHK_TESTS) > $@

$(BUILD)/nochecks/kh_tests: $(ALL_TEST_DEPS) $(BUILD)/nochecks/list.c
	@mkdir -p $(@D)
	$(CC) $(WARN) -O2 -g $(INC) $(HOSTED_DEFS) -DKH_CONFIG_CHECKS=0 -o $@ \
	  $(sort $(LIB_SRC) $(HOSTED_SRC) $(filter-out $(TEST_FILES),$(TEST_SRC)) $(SLAB_NOCHK_TESTS)) \
	  $(BUILD)/nochecks/list.c $(HOST_LIBS)

test-slab-nochecks: $(BUILD)/nochecks/kh_tests
	$(BUILD)/nochecks/kh_tests

# The global API shared by four threads through the locked front end, under
# ThreadSanitizer (test-tsan in mk/sync.mk runs the TSAN_FILTERS tests).
TSAN_FILTERS += kmalloc_four_threads
