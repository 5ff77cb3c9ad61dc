# coll2 (map, hashmap, box/rc/arc): the threaded arc tests run under TSan too
# (test-tsan is defined by mk/sync.mk).
TSAN_FILTERS += arc_mt_

# map, hashmap, box/rc/arc: also run their tests in an unchecked build
# (KH_CONFIG_CHECKS=0); the misuse-report assertions sit under #if KH_CONFIG_CHECKS.
TEST_STEPS += test-coll2-nochecks
.PHONY: test-coll2-nochecks

COLL2_NOCHK_TESTS := tests/test_map.c tests/test_hashmap.c tests/test_box.c

$(BUILD)/coll2-nochecks/list.c: $(COLL2_NOCHK_TESTS) tests/gen_test_list.sh
	@mkdir -p $(@D)
	@sh tests/gen_test_list.sh --hosted $(COLL2_NOCHK_TESTS) > $@

$(BUILD)/coll2-nochecks/kh_tests: $(ALL_TEST_DEPS) $(BUILD)/coll2-nochecks/list.c
	@mkdir -p $(@D)
	$(CC) $(WARN) -O2 -g $(INC) $(HOSTED_DEFS) -DKH_CONFIG_CHECKS=0 -o $@ \
	  $(sort $(LIB_SRC) $(HOSTED_SRC) $(filter-out $(TEST_FILES),$(TEST_SRC)) $(COLL2_NOCHK_TESTS)) \
	  $(BUILD)/coll2-nochecks/list.c $(HOST_LIBS)

test-coll2-nochecks: $(BUILD)/coll2-nochecks/kh_tests
	$(BUILD)/coll2-nochecks/kh_tests
