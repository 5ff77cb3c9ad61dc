# vec, str, fmt, deque, pqueue, lists: also run their tests in an unchecked
# build (KH_CONFIG_CHECKS=0). The tests assert the checked-build reports (and
# do the misuse that triggers them) only under #if KH_CONFIG_CHECKS.
TEST_STEPS += test-coll1-nochecks
.PHONY: test-coll1-nochecks

COLL1_NOCHK_TESTS := tests/test_vec.c tests/test_str.c tests/test_fmt.c tests/test_deque.c \
	tests/test_pqueue.c tests/test_list.c

$(BUILD)/coll1-nochecks/list.c: $(COLL1_NOCHK_TESTS) tests/gen_test_list.sh
	@mkdir -p $(@D)
	@sh tests/gen_test_list.sh --hosted $(COLL1_NOCHK_TESTS) > $@

$(BUILD)/coll1-nochecks/kh_tests: $(ALL_TEST_DEPS) $(BUILD)/coll1-nochecks/list.c
	@mkdir -p $(@D)
	$(CC) $(WARN) -O2 -g $(INC) $(HOSTED_DEFS) -DKH_CONFIG_CHECKS=0 -o $@ \
	  $(sort $(LIB_SRC) $(HOSTED_SRC) $(filter-out $(TEST_FILES),$(TEST_SRC)) $(COLL1_NOCHK_TESTS)) \
	  $(BUILD)/coll1-nochecks/list.c $(HOST_LIBS)

test-coll1-nochecks: $(BUILD)/coll1-nochecks/kh_tests
	$(BUILD)/coll1-nochecks/kh_tests
