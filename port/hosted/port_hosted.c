/* SPDX-License-Identifier: MIT */
/* Hosted port hooks (kheap/port.h): a per-thread pretend interrupt flag, a
 * pause/yield spin hint, a per-thread id as the lock-debug owner, and the
 * kernel's getrandom() as the entropy source. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* getrandom, clock_gettime with -std=c11 */
#endif
#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

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

/* splitmix64's finalizer: spreads every input bit over the output. */
static uint64_t mix64(uint64_t z)
{
    z += 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

int kh_port_entropy(void *buf, size_t n)
{
    unsigned char *p = buf;
    size_t got = 0;
    /* GRND_NONBLOCK: never wait for the pool at early boot; fall back. */
    while (got < n) {
        ssize_t r = getrandom(p + got, n - got, GRND_NONBLOCK);
        if (r > 0) {
            got += (size_t)r;
        } else if (r < 0 && errno == EINTR) {
            continue;
        } else {
            break;
        }
    }
    if (got == n) return KH_PORT_ENTROPY_STRONG;
    /* No getrandom (old kernel, seccomp) or pool not ready: a weak mix of
     * the clocks, a counter and addresses (ASLR) for the rest. */
    static _Thread_local uint64_t calls;
    struct timespec ts = {0, 0};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t s = mix64((uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec);
    clock_gettime(CLOCK_REALTIME, &ts);
    s = mix64(s ^ (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30));
    s = mix64(s ^ (uint64_t)(uintptr_t)&calls ^ ((uint64_t)(uintptr_t)buf << 17) ^ ++calls);
    while (got < n) {
        s = mix64(s + got);
        size_t k = n - got < sizeof(s) ? n - got : sizeof(s);
        memcpy(p + got, &s, k);
        got += k;
    }
    return KH_PORT_ENTROPY_WEAK;
}
