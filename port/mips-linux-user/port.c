/* SPDX-License-Identifier: MIT */
/* kheap port hooks (kheap/port.h) for a single-threaded Linux user process:
 * there are no interrupts to mask, so, like the hosted port, a flag stands in
 * for "interrupts disabled" and save/restore nest exactly as on a CPU. */
#include <stdint.h>

#include "kheap/port.h"

static unsigned long irq_disabled;

unsigned long kh_port_irq_save(void)
{
    unsigned long old = irq_disabled;
    irq_disabled = 1;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    return old;
}

void kh_port_irq_restore(unsigned long flags)
{
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    irq_disabled = flags ? 1 : 0;
}

void kh_port_cpu_relax(void)
{
    /* One thread: a spin wait can only end by itself. A compiler barrier, no
     * PAUSE (it would wait on the LL bit). */
    __asm__ volatile("" ::: "memory");
}

unsigned long kh_port_context_id(void)
{
    /* One process, one thread: a constant (see kheap/port.h). */
    return 1;
}

/* getrandom(2), o32 number (Linux base 4000 + 353); flags GRND_NONBLOCK. */
#define NR_getrandom  4353
#define GRND_NONBLOCK 1

static long getrandom3(void *buf, unsigned long n, unsigned flags, int *failed)
{
    register long v0 __asm__("$2") = NR_getrandom;
    register long a0 __asm__("$4") = (long)buf;
    register long a1 __asm__("$5") = (long)n;
    register long a2 __asm__("$6") = (long)flags;
    register long a3 __asm__("$7");
    __asm__ volatile("syscall"
                     : "+r"(v0), "=r"(a3)
                     : "r"(a0), "r"(a1), "r"(a2)
                     : "$1", "$3", "$8", "$9", "$10", "$11", "$12", "$13", "$14", "$15", "$24",
                       "$25", "hi", "lo", "memory");
    *failed = a3 != 0;
    return v0;
}

/* splitmix64's finalizer: spreads every input bit over the output. */
static uint64_t mix64(uint64_t z)
{
    z += 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* A Linux process: the kernel's getrandom(). If it fails (old kernel, pool
 * not ready), a weak mix of a counter and addresses fills the rest. */
int kh_port_entropy(void *buf, size_t n)
{
    unsigned char *p = buf;
    size_t got = 0;
    while (got < n) {
        int failed;
        long r = getrandom3(p + got, (unsigned long)(n - got), GRND_NONBLOCK, &failed);
        if (failed || r <= 0) break;
        got += (size_t)r;
    }
    if (got == n) return KH_PORT_ENTROPY_STRONG;
    static uint32_t calls;
    volatile uint32_t here = 0;
    uint64_t s =
        mix64((uint64_t)++calls ^ (uint64_t)(uintptr_t)&here ^ ((uint64_t)(uintptr_t)buf << 32));
    for (size_t i = got; i < n; i++) {
        if ((i - got) % 8 == 0) s = mix64(s ^ i);
        p[i] = (unsigned char)(s >> (8 * ((i - got) % 8)));
    }
    return KH_PORT_ENTROPY_WEAK;
}
