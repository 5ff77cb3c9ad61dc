# SPDX-License-Identifier: MIT
# Adoption checks: what a project taking kheap in relies on.
#   test-cxx       every public header from C++ (g++, clang++, C++11 and
#                  later), a program using each layer built and run
TEST_STEPS += test-cxx
.PHONY: test-cxx

test-cxx: $(BUILD)/lib/libkheap.a
	@sh tests/adopt/cxx_check.sh $(BUILD)/lib/libkheap.a
