/* SPDX-License-Identifier: MIT */
/* The kheap demo, one body for every target: the hosted program
 * (examples/hosted), Cortex-M3 (examples/cortex-m3) and RISC-V
 * (examples/riscv) only supply the memory and the console. */
#ifndef KH_DEMO_H
#define KH_DEMO_H

#include <stddef.h>

/* Build a heap over [mem, mem + bytes), exercise it and print what happens
 * through write. vec_len is how far the second vector grows (500 hosted;
 * smaller boards pass less). Returns 0 when every check held, else the
 * number of the step that failed. */
int kh_demo(void *mem, size_t bytes, size_t vec_len, void (*write)(const char *s, size_t n));

#endif /* KH_DEMO_H */
