# SPDX-License-Identifier: MIT
# The core heap's AddressSanitizer and Valgrind annotations (hosted):
#   test-asan-heap          the suite built with -fsanitize=address,undefined
#                           and the heap's annotations on (the default under
#                           ASan): the heap's own metadata accesses never trip
#                           ASan, and no test touches memory the heap holds.
#                           Tests of slab and kmalloc are left out here: their
#                           misuse paths read below pointers they are handed
#                           (memory a freed heap block poisons); test-asan
#                           runs them with the annotations off
#   test-sanitize-reports   child processes that misuse heap memory must end
#                           in the tool's report (tests/sanitize_check.sh)
$(BUILD)/asan-heap/kh_tests: $(ALL_TEST_DEPS) mk/sanitize.mk
	@mkdir -p $(@D)
	$(CLANG) $(WARN) -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
	  -fno-sanitize-recover=all $(INC) $(HOSTED_DEFS) -o $@ $(sort $(LIB_SRC) $(HOSTED_SRC) $(TEST_SRC)) $(BUILD)/test_list_hosted.c $(HOST_LIBS)

.PHONY: test-asan-heap test-sanitize-reports
test-asan-heap: $(BUILD)/asan-heap/kh_tests
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 $(BUILD)/asan-heap/kh_tests --scale 2 -@slab -@kmalloc

test-sanitize-reports:
	@sh tests/sanitize_check.sh

TEST_STEPS += test-asan-heap test-sanitize-reports
