/* SPDX-License-Identifier: MIT */
/* What a kheap bare-metal program gets from its port (port/cortex-m3,
 * port/riscv, and port/mips-linux-user for the big-endian run): console
 * output, an exit status for the host, and on the machine ports the RAM the
 * linker script leaves between the end of .bss and the stack(s). */
#ifndef KH_BARE_H
#define KH_BARE_H

#include <stddef.h>

/* Write n bytes to the console (semihosting on Cortex-M3, UART on RISC-V,
 * write(2) under qemu-user). */
void kh_bare_write(const char *s, size_t n);

/* Stop the machine (or process); QEMU exits with status code (0 = success). */
_Noreturn void kh_bare_exit(int code);

/* Free RAM for a heap, from the machine ports' linker scripts. */
extern unsigned char _heap_start[], _heap_end[];

/* The program: the reset code calls kh_bare_exit(main()). */
int main(void);

#endif /* KH_BARE_H */
