/* SPDX-License-Identifier: MIT */
/* MIPS32 Linux user-mode glue: the write and exit_group system calls. A
 * crash needs no handler here: the kernel (qemu-mips) kills the process with
 * a signal, which the test step sees as a non-zero status. */
#include "kh_bare.h"

/* Catch a build for the wrong byte order: the point of this port. */
#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_BIG_ENDIAN__
#error "port/mips-linux-user is for big-endian MIPS (clang --target=mips-linux-gnu)"
#endif

/* o32 system call numbers (Linux base 4000). */
#define NR_write      4004
#define NR_exit_group 4246

void kh_mips_boot(void);

/* syscall: number in $2 (v0), arguments in $4-$6 (a0-a2). The result comes
 * back in $2 and $7 (a3) is nonzero on error (then $2 is the errno); the
 * kernel may clobber $1, $3, $8-$15, $24, $25, hi and lo. */
static long mips_syscall3(long nr, long a, long b, long c, int *failed)
{
    register long v0 __asm__("$2") = nr;
    register long a0 __asm__("$4") = a;
    register long a1 __asm__("$5") = b;
    register long a2 __asm__("$6") = c;
    register long a3 __asm__("$7");
    __asm__ volatile("syscall"
                     : "+r"(v0), "=r"(a3)
                     : "r"(a0), "r"(a1), "r"(a2)
                     : "$1", "$3", "$8", "$9", "$10", "$11", "$12", "$13", "$14", "$15", "$24",
                       "$25", "hi", "lo", "memory");
    *failed = a3 != 0;
    return v0;
}

void kh_mips_boot(void)
{
    kh_bare_exit(main());
}

void kh_bare_write(const char *s, size_t n)
{
    /* write(2) may write less than asked: loop; give up on an error. */
    while (n) {
        int failed;
        long k = mips_syscall3(NR_write, 1, (long)s, (long)n, &failed);
        if (failed || k <= 0) return;
        s += k;
        n -= (size_t)k;
    }
}

_Noreturn void kh_bare_exit(int code)
{
    int failed;
    for (;;) mips_syscall3(NR_exit_group, code, 0, 0, &failed);
}
