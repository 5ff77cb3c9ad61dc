/* SPDX-License-Identifier: MIT */
/* Hosted port hooks (kheap/port.h): a per-thread pretend interrupt flag, a
 * pause/yield spin hint, and a per-thread id as the lock-debug owner. */
#include <sched.h>
#include <stdint.h>

#include "kheap/port.h"

/* No interrupts on a host, but each thread keeps a pretend "interrupts
 * disabled" flag, so tests can check that irqsave/irqrestore pairs nest and
 * restore what they saved. flags = the previous state (1 = was disabled). */
static _Thread_local unsigned long irq_disabled;

unsigned long kh_port_irq_save(void)
{
    unsigned long old = irq_disabled;
    irq_disabled = 1;
    return old;
}

void kh_port_irq_restore(unsigned long flags)
{
    irq_disabled = flags ? 1 : 0;
}

/* Hosted only (tests): the calling thread's pretend interrupt state. */
int kh_port_hosted_irqs_disabled(void)
{
    return irq_disabled != 0;
}

void kh_port_cpu_relax(void)
{
    /* With more threads than cores (CI: 8 threads on 2), or under valgrind,
     * which runs one thread at a time, the thread we wait for may not be
     * running: give up the CPU every 64 spins instead of burning a time slice. */
    static _Thread_local unsigned spins;
    if ((++spins & 63u) == 0) {
        sched_yield();
        return;
    }
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__) || (defined(__arm__) && defined(__ARM_ARCH) && __ARM_ARCH >= 7)
    __asm__ __volatile__("yield" ::: "memory");
#endif
}

unsigned long kh_port_context_id(void)
{
    /* The address of a thread-local: unique per live thread and never 0. */
    static _Thread_local char self;
    return (unsigned long)(uintptr_t)&self;
}
