/* SPDX-License-Identifier: MIT */
/* kheap port hooks (kheap/port.h) for a single-threaded Linux user process:
 * there are no interrupts to mask, so, like the hosted port, a flag stands in
 * for "interrupts disabled" and save/restore nest exactly as on a CPU. */
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
