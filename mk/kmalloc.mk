# SPDX-License-Identifier: MIT
# The kmalloc family's build option KH_CONFIG_KMALLOC_NAMES (kheap/kmalloc.h):
# with 0 a program with its own kmalloc/kfree links with kheap, with the
# default 1 it clashes (tests/kmalloc_names_check.sh).
TEST_STEPS += test-kmalloc-names
.PHONY: test-kmalloc-names

test-kmalloc-names:
	@CC="$(CC)" sh tests/kmalloc_names_check.sh
