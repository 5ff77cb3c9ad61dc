/* SPDX-License-Identifier: MIT */
/* Minimal <string.h> for freestanding RISC-V builds (and the big-endian
 * MIPS32 test build): the Debian riscv64-unknown-elf toolchain ships no C
 * library headers. kheap needs only the four mem* functions; tests also use
 * the str* ones. All are defined in port/baremetal/mem.c. Put this directory
 * on the include path with -isystem. */
#ifndef KH_PORT_RISCV_STRING_H
#define KH_PORT_RISCV_STRING_H

#include <stddef.h>

void *memcpy(void *restrict dst, const void *restrict src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
char *strcpy(char *restrict dst, const char *restrict src);
char *strncpy(char *restrict dst, const char *restrict src, size_t n);
char *strchr(const char *s, int c);

#endif /* KH_PORT_RISCV_STRING_H */
