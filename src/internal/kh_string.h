/* SPDX-License-Identifier: MIT */
/* The four libc functions the library uses, without needing a libc.
 *
 * <string.h> is not one of C11's freestanding headers, and Debian's
 * riscv64-unknown-elf toolchain (and arm-none-eabi without newlib) ship
 * none. Compilers assume these four exist in freestanding code too; the
 * port or the application provides them (port/<target>/mem.c does). */
#ifndef KH_INTERNAL_STRING_H
#define KH_INTERNAL_STRING_H

#include <stddef.h>

#if __STDC_HOSTED__
#include <string.h>
#else
void *memcpy(void *restrict dst, const void *restrict src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
#endif

#endif /* KH_INTERNAL_STRING_H */
