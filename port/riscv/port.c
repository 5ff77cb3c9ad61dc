/* SPDX-License-Identifier: MIT */
/* kheap port hooks for RISC-V in machine mode (kheap/port.h): interrupt
 * masking through mstatus.MIE. */
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
