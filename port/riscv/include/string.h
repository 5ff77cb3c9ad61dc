/* Minimal <string.h> for freestanding RISC-V builds: the Debian
 * riscv64-unknown-elf toolchain ships no C library headers, and kheap needs
 * only these four functions (defined in port/riscv/mem.c). Put this directory
 * on the include path with -isystem. */
#ifndef KH_PORT_RISCV_STRING_H
#define KH_PORT_RISCV_STRING_H

#include <stddef.h>

void *memcpy(void *restrict dst, const void *restrict src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);

#endif /* KH_PORT_RISCV_STRING_H */
