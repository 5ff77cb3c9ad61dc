# SPDX-License-Identifier: MIT
# Adoption checks: what a project taking kheap in relies on.
#   test-cxx       every public header from C++ (g++, clang++, C++11 and
#                  later), a program using each layer built and run
#   test-install   make lib cross builds, make install / uninstall
#   test-abi       the link-time configuration check
#   test-version   one version number everywhere
#   test-standalone  the core heap as two copied files
#   test-readme    README's C examples and adoption commands, as written
TEST_STEPS += test-cxx
.PHONY: test-cxx

test-cxx: $(BUILD)/lib/libkheap.a
	@sh tests/adopt/cxx_check.sh $(BUILD)/lib/libkheap.a

# make lib (cross builds) and make install (DESTDIR, pkg-config, options
# written into the installed config.h, uninstall).
TEST_STEPS += test-install
.PHONY: test-install
test-install:
	@sh tests/adopt/install_check.sh

# The link-time configuration check (kheap/abi.h): mismatches fail to link,
# naming the option, with and without --gc-sections, also on Cortex-M3.
TEST_STEPS += test-abi
.PHONY: test-abi
ADOPT_CM3 := $(BUILD)/adopt/lib-cm3
test-abi: $(BUILD)/lib/libkheap.a
	@if command -v $(ARM_CC) > /dev/null; then \
	  $(MAKE) --no-print-directory -s lib CC=$(ARM_CC) CFLAGS="-mcpu=cortex-m3 -mthumb -Os" BUILD=$(ADOPT_CM3) > /dev/null; fi
	@sh tests/adopt/abi_check.sh $(BUILD)/lib/libkheap.a $(ADOPT_CM3)/lib/libkheap.a

# One version: kheap/version.h, kh_version(), CHANGELOG.md, the CMake
# package version file and kheap.pc agree.
TEST_STEPS += test-version
.PHONY: test-version
test-version:
	@sh tests/adopt/version_check.sh

# The core heap as two files (src/core/heap.c, include/kheap/heap.h) copied
# alone into a scratch project: warning-free on the host and Cortex-M3, run
# on both (QEMU), heap.h's fallback options equal to config.h's.
TEST_STEPS += test-standalone
.PHONY: test-standalone
test-standalone:
	@sh tests/adopt/standalone_check.sh

# README.md: every C block compiles (and runs, with a main); the adoption
# commands run as written in a scratch project.
TEST_STEPS += test-readme
.PHONY: test-readme
test-readme: $(BUILD)/lib/libkheap.a
	@sh tests/adopt/readme_check.sh $(BUILD)/lib/libkheap.a
