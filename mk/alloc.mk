# Bump, linked list, fixed blocks, locked wrapper: also run their tests in an
# unchecked build (KH_CONFIG_CHECKS=0). The tests assert the checked-build
# reports only under #if KH_CONFIG_CHECKS, and every other rule in both.
TEST_STEPS += test-alloc-nochecks
.PHONY: test-alloc-nochecks

ALLOC_NOCHK_TESTS := tests/test_bump.c tests/test_llist.c tests/test_fixed.c tests/test_locked.c

$(BUILD)/alloc-nochecks/list.c: $(ALLOC_NOCHK_TESTS) tests/gen_test_list.sh
	@mkdir -p $(@D)
	@sh tests/gen_test_list.sh --hosted $(ALLOC_NOCHK_TESTS) > $@

$(BUILD)/alloc-nochecks/kh_tests: $(ALL_TEST_DEPS) $(BUILD)/alloc-nochecks/list.c
	@mkdir -p $(@D)
	$(CC) $(WARN) -O2 -g $(INC) $(HOSTED_DEFS) -DKH_CONFIG_CHECKS=0 -o $@ \
	  $(sort $(LIB_SRC) $(HOSTED_SRC) $(filter-out $(TEST_FILES),$(TEST_SRC)) $(ALLOC_NOCHK_TESTS)) \
	  $(BUILD)/alloc-nochecks/list.c $(HOST_LIBS)

test-alloc-nochecks: $(BUILD)/alloc-nochecks/kh_tests
	$(BUILD)/alloc-nochecks/kh_tests

# The locked wrapper's threaded tests (named *_mt_*) run in the sync TSan step.
TSAN_FILTERS += _mt_
