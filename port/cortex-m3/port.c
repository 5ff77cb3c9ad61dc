/* SPDX-License-Identifier: MIT */
/* kheap port hooks for Cortex-M3 (kheap/port.h): interrupt masking through
 * PRIMASK, which is how a single-core MCU makes a critical section. */
#include <stdint.h>

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

/* splitmix64's finalizer: spreads every input bit over the output. */
static uint64_t mix64(uint64_t z)
{
    z += 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* SysTick's current value (0 when SysTick is not running). */
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)

/* No random number generator on a plain Cortex-M3: a weak mix of SysTick,
 * a call counter and stack and buffer addresses. It differs from call to
 * call, so two maps get different keys, but an attacker who knows the
 * firmware and its boot timing can guess it. A chip with a TRNG should
 * read it here and return KH_PORT_ENTROPY_STRONG. */
int kh_port_entropy(void *buf, size_t n)
{
    static uint32_t calls;
    unsigned long irq = kh_port_irq_save();
    uint32_t c = ++calls;
    kh_port_irq_restore(irq);
    volatile uint32_t here = 0;
    uint64_t s = mix64(((uint64_t)SYST_CVR << 32) ^ c);
    s = mix64(s ^ (uint64_t)(uintptr_t)&here ^ ((uint64_t)(uintptr_t)buf << 32));
    unsigned char *p = buf;
    for (size_t i = 0; i < n; i++) {
        if (i % 8 == 0) s = mix64(s ^ SYST_CVR ^ i);
        p[i] = (unsigned char)(s >> (8 * (i % 8)));
    }
    return KH_PORT_ENTROPY_WEAK;
}
