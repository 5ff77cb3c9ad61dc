/* What a kheap program gets from the MIPS Linux user-mode port: console
 * output and an exit status for the host (here both are Linux system calls,
 * run by qemu-mips). The test arena is kh_test.c's own .bss array. */
#ifndef KH_BARE_H
#define KH_BARE_H

#include <stddef.h>

/* Write n bytes to standard output (write(2) on fd 1). */
void kh_bare_write(const char *s, size_t n);

/* End the process with status code (exit_group(2)); qemu-mips exits with it. */
_Noreturn void kh_bare_exit(int code);

/* The program: __start (start.S) calls kh_bare_exit(main()). */
int main(void);

#endif /* KH_BARE_H */
