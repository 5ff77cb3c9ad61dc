/* SPDX-License-Identifier: MIT */
/* kheap port hooks for RISC-V in machine mode (kheap/port.h): interrupt
 * masking through mstatus.MIE. */
#include <stdint.h>

#include "kheap/port.h"

#define MSTATUS_MIE 0x8ul

/* Zicsr named here rather than in -march, which would lose the libgcc
 * multilib (see start.S). */
#define ZICSR(insn) ".option push\n\t.option arch, +zicsr\n\t" insn "\n\t.option pop"

unsigned long kh_port_irq_save(void)
{
    unsigned long old;
    /* Atomically clear MIE and return the old mstatus. */
    __asm__ volatile(ZICSR("csrrci %0, mstatus, %1") : "=r"(old) : "i"(MSTATUS_MIE) : "memory");
    return old & MSTATUS_MIE;
}

void kh_port_irq_restore(unsigned long flags)
{
    /* Set MIE back only if it was set: nested pairs keep interrupts off. */
    __asm__ volatile(ZICSR("csrs mstatus, %0")::"r"(flags & MSTATUS_MIE) : "memory");
}

void kh_port_cpu_relax(void)
{
    /* Zihintpause's "pause" is a FENCE hint, a no-op on older harts. */
    __asm__ volatile(".insn i 0x0f, 0, x0, x0, 0x010" ::: "memory");
}

unsigned long kh_port_context_id(void)
{
    /* The hart: each runs one context in machine mode. Nonzero by +1. */
    unsigned long id;
    __asm__ volatile(ZICSR("csrr %0, mhartid") : "=r"(id));
    return id + 1;
}

/* splitmix64's finalizer: spreads every input bit over the output. */
static uint64_t mix64(uint64_t z)
{
    z += 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static unsigned long cycles(void)
{
    unsigned long c;
    __asm__ volatile(ZICSR("csrr %0, mcycle") : "=r"(c));
    return c;
}

/* No random number generator on the virt board's harts (Zkr's seed CSR is
 * optional): a weak mix of mcycle, the hart id, a call counter and stack
 * and buffer addresses. It differs from call to call, but an attacker who
 * knows the firmware and its timing can guess it. A core with Zkr should
 * read the seed CSR here and return KH_PORT_ENTROPY_STRONG. */
int kh_port_entropy(void *buf, size_t n)
{
    static unsigned long calls;
    unsigned long c = __atomic_add_fetch(&calls, 1, __ATOMIC_RELAXED);
    volatile unsigned long here = 0;
    uint64_t s = mix64((uint64_t)cycles() ^ ((uint64_t)c << 40));
    s = mix64(s ^ kh_port_context_id() ^ (uint64_t)(uintptr_t)&here ^
              ((uint64_t)(uintptr_t)buf << 24));
    unsigned char *p = buf;
    for (size_t i = 0; i < n; i++) {
        if (i % 8 == 0) s = mix64(s ^ cycles() ^ i);
        p[i] = (unsigned char)(s >> (8 * (i % 8)));
    }
    return KH_PORT_ENTROPY_WEAK;
}
