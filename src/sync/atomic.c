/* SPDX-License-Identifier: MIT */
/* kheap atomics: the exported copies of every inline in kheap/atomic.h, the
 * twins of its macros, and the 64-bit lock fallback. */
#define KH_ATOMIC_EXTERN_INLINE 1
#include "kheap/atomic.h"

#include "kheap/port.h"

#if KH_ATOMIC64_MODE == KH_ATOMIC64_LOCK
/* 64-bit fallback: a small table of test-and-set locks picked by address,
 * held with interrupts off so an interrupt handler touching the same bucket
 * cannot deadlock against the code it interrupted. Critical sections are a
 * few instructions, so test-and-set is fair enough here. */
#if (KH_ATOMIC64_LOCKS & (KH_ATOMIC64_LOCKS - 1)) != 0 || KH_ATOMIC64_LOCKS < 1
#error "KH_ATOMIC64_LOCKS must be a power of two"
#endif
static struct {
    uint32_t locked;
    /* One lock per cache line would waste RAM on an MCU; 8 bytes apart is
     * enough to stop neighbouring buckets sharing an LL/SC granule on most. */
    uint32_t pad;
} atomic64_locks[KH_ATOMIC64_LOCKS];

static uint32_t *atomic64_lock_for(const volatile void *p)
{
    uintptr_t a = (uintptr_t)p >> 3;
    return &atomic64_locks[(a ^ (a >> 5)) & (KH_ATOMIC64_LOCKS - 1)].locked;
}

static unsigned long atomic64_lock(const volatile void *p)
{
    unsigned long flags = kh_port_irq_save();
    uint32_t *l = atomic64_lock_for(p);
    while (__atomic_exchange_n(l, 1u, __ATOMIC_ACQUIRE)) {
        while (__atomic_load_n(l, __ATOMIC_RELAXED)) kh_port_cpu_relax();
    }
    return flags;
}

static void atomic64_unlock(const volatile void *p, unsigned long flags)
{
    __atomic_store_n(atomic64_lock_for(p), 0u, __ATOMIC_RELEASE);
    kh_port_irq_restore(flags);
}

/* The lock orders everything (acquire + release), which is at least what any
 * memory order asks for, so mo is not needed. Accesses under the lock are
 * volatile so the compiler keeps them inside it. */
uint64_t kh_atomic_raw_load_u64(const volatile kh_atomic_u64a *p, int mo)
{
    (void)mo;
    unsigned long f = atomic64_lock(p);
    uint64_t v = *p;
    atomic64_unlock(p, f);
    return v;
}

void kh_atomic_raw_store_u64(volatile kh_atomic_u64a *p, kh_atomic_u64a v, int mo)
{
    (void)mo;
    unsigned long f = atomic64_lock(p);
    *p = v;
    atomic64_unlock(p, f);
}

bool kh_atomic_raw_cmpxchg_u64(volatile kh_atomic_u64a *p, kh_atomic_u64a *old, kh_atomic_u64a v,
                               int mo)
{
    (void)mo;
    unsigned long f = atomic64_lock(p);
    uint64_t cur = *p;
    bool ok = cur == *old;
    if (ok)
        *p = v;
    else
        *old = cur;
    atomic64_unlock(p, f);
    return ok;
}

#define ATOMIC64_LOCKED_OP(name, expr)                                                             \
    uint64_t kh_atomic_raw_##name##_u64(volatile kh_atomic_u64a *p, kh_atomic_u64a v, int mo)      \
    {                                                                                              \
        (void)mo;                                                                                  \
        unsigned long f = atomic64_lock(p);                                                        \
        uint64_t old = *p;                                                                         \
        *p = (expr);                                                                               \
        atomic64_unlock(p, f);                                                                     \
        return old;                                                                                \
    }
ATOMIC64_LOCKED_OP(xchg, v)
ATOMIC64_LOCKED_OP(fetch_add, old + v)
ATOMIC64_LOCKED_OP(fetch_sub, old - v)
ATOMIC64_LOCKED_OP(fetch_and, old &v)
ATOMIC64_LOCKED_OP(fetch_or, old | v)
ATOMIC64_LOCKED_OP(fetch_xor, old ^ v)
#endif /* KH_ATOMIC64_MODE == KH_ATOMIC64_LOCK */

/* Twins of KH_READ_ONCE, KH_WRITE_ONCE, kh_smp_load_acquire, kh_smp_store_release. */
#define ATOMIC_ONCE_DEF(S, U)                                                                      \
    U kh_read_once_##S(const volatile U *p)                                                        \
    {                                                                                              \
        return __atomic_load_n(p, __ATOMIC_RELAXED);                                               \
    }                                                                                              \
    void kh_write_once_##S(volatile U *p, U v)                                                     \
    {                                                                                              \
        __atomic_store_n(p, v, __ATOMIC_RELAXED);                                                  \
    }                                                                                              \
    U kh_load_acquire_##S(const volatile U *p)                                                     \
    {                                                                                              \
        return __atomic_load_n(p, __ATOMIC_ACQUIRE);                                               \
    }                                                                                              \
    void kh_store_release_##S(volatile U *p, U v)                                                  \
    {                                                                                              \
        __atomic_store_n(p, v, __ATOMIC_RELEASE);                                                  \
    }
ATOMIC_ONCE_DEF(u8, uint8_t)
ATOMIC_ONCE_DEF(u16, uint16_t)
ATOMIC_ONCE_DEF(u32, uint32_t)
#if KH_ATOMIC64_MODE == KH_ATOMIC64_NATIVE
ATOMIC_ONCE_DEF(u64, kh_atomic_u64a)
#endif
ATOMIC_ONCE_DEF(ptr, kh_atomic_vp)
