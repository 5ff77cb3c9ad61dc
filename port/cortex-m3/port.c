/* SPDX-License-Identifier: MIT */
/* kheap port hooks for Cortex-M3 (kheap/port.h): interrupt masking through
 * PRIMASK, which is how a single-core MCU makes a critical section. */
#include "kheap/port.h"

unsigned long kh_port_irq_save(void)
{
    unsigned long primask;
    __asm__ volatile("mrs %0, primask\n\tcpsid i" : "=r"(primask)::"memory");
    return primask;
}

void kh_port_irq_restore(unsigned long flags)
{
    /* Restores the saved state, so nested save/restore pairs work. */
    __asm__ volatile("msr primask, %0" ::"r"(flags) : "memory");
}

void kh_port_cpu_relax(void)
{
    __asm__ volatile("yield" ::: "memory");
}

unsigned long kh_port_context_id(void)
{
    /* One core, no threads: a constant (see kheap/port.h). */
    return 1;
}
