/* SPDX-License-Identifier: MIT */
/* kheap spin locks: a fair ticket lock with irqsave variants and Linux
 * cleanup.h-style scope guards.
 *
 * DATASHEET
 *
 * Lock        kh_spinlock_t, 8 bytes (12/16 with KH_CONFIG_SPINLOCK_DEBUG).
 *             Static: `kh_spinlock_t l = KH_SPINLOCK_INIT;`, or
 *             kh_spin_lock_init(&l). No destroy: an unlocked lock owns nothing.
 * Fairness    Ticket lock: waiters get the lock in the order they called
 *             kh_spin_lock (FIFO), so none starves. 2^32 waiters at once
 *             before the tickets wrap.
 * Cost        Uncontended lock: one atomic fetch-and-add; unlock: one
 *             release store. Waiters spin on a load, calling kh_port_cpu_relax.
 * Ordering    kh_spin_lock / a successful trylock is an acquire, unlock a
 *             release: everything written in one critical section is visible
 *             in the next.
 * Interrupts  kh_spin_lock_irqsave disables interrupts on this CPU
 *             (kh_port_irq_save, kheap/port.h) before it spins and returns the
 *             previous state; kh_spin_unlock_irqrestore gives it back. Use
 *             them for any lock that an interrupt handler also takes. Hosted:
 *             no interrupts, the hooks do nothing.
 * Not         recursive (taking a lock you hold deadlocks), not sleeping, not
 *             a reader-writer lock. Hold it for short, bounded work.
 * Preemption  Meant for CPUs that cannot be preempted while they hold or wait
 *             for the lock (kernels with preemption or interrupts off). Under
 *             a preempting scheduler with more threads than CPUs, FIFO
 *             handoff to a descheduled waiter stalls everyone: the bench
 *             measured the core heap behind this lock falling from 18 to 0.4
 *             Mops/s with 4 threads on 2 vCPUs. Hosted programs should use the
 *             pthread mutex lock ops (kheap/lock_pthread.h) instead.
 *
 * Misuse      With KH_CONFIG_CHECKS (default), unlocking a lock that is not
 *             locked is reported (KH_EINVAL via kh_report, kheap/error.h) and
 *             ignored instead of corrupting the ticket counters.
 *             With KH_CONFIG_SPINLOCK_DEBUG=1 the lock also records its holder
 *             (kh_port_context_id(), kheap/port.h) and reports:
 *               - recursion: locking a lock this context holds (KH_EBUSY).
 *                 The nested lock is refused instead of deadlocking, and its
 *                 matching unlock is absorbed, so the outer critical section
 *                 stays protected;
 *               - unlocking a lock another context holds (KH_EINVAL), ignored.
 *
 * Guards      Where the compiler has __attribute__((cleanup)) (GCC, Clang;
 *             KH_HAVE_CLEANUP is then 1), in the style of Linux cleanup.h:
 *               kh_guard(spinlock)(&l);           held until the end of the
 *                                                 enclosing block
 *               kh_guard(spinlock_irqsave)(&l);   same, interrupts off
 *               kh_scoped_guard(spinlock, &l) { ... }          held in { }
 *               kh_scoped_guard(spinlock_irqsave, &l) { ... }
 *               kh_scoped_guard(spinlock_try, &l) { ... }      { } runs only
 *                                                 if the trylock succeeded
 *             The lock is released on every way out of the scope: falling
 *             off the end, return, break, continue, goto. As in Linux, break
 *             and continue directly inside kh_scoped_guard's { } leave the
 *             guard, not an enclosing loop. Plain lock/unlock is always
 *             available. Each guard's constructor/destructor is an exported
 *             function too (kh_guard_<name>_ctor/_dtor).
 */
#ifndef KHEAP_SPINLOCK_H
#define KHEAP_SPINLOCK_H

#include <stdbool.h>
#include <stddef.h>

#include "kheap/abi.h"
#include "kheap/atomic.h"
#include "kheap/config.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifndef KH_CONFIG_SPINLOCK_DEBUG
#define KH_CONFIG_SPINLOCK_DEBUG 0
#endif
/* The lock's layout depends on it: link-time check that the library agrees
 * (kheap/abi.h). */
#if KH_CONFIG_SPINLOCK_DEBUG
KH_ABI_REQUIRE(kh_abi_KH_CONFIG_SPINLOCK_DEBUG_1)
#else
KH_ABI_REQUIRE(kh_abi_KH_CONFIG_SPINLOCK_DEBUG_0)
#endif

typedef struct kh_spinlock {
    kh_atomic_t next;  /* next ticket to hand out */
    kh_atomic_t owner; /* ticket being served; locked while owner != next */
#if KH_CONFIG_SPINLOCK_DEBUG
    kh_atomic_ptr_t holder; /* kh_port_context_id() of the holder, NULL when free */
    kh_atomic_t refused;    /* nested locks refused, whose unlocks to absorb */
#endif
} kh_spinlock_t;

#if KH_CONFIG_SPINLOCK_DEBUG
#define KH_SPINLOCK_INIT                                                                           \
    {                                                                                              \
        KH_ATOMIC_INIT(0), KH_ATOMIC_INIT(0), KH_ATOMIC_INIT(NULL), KH_ATOMIC_INIT(0)              \
    }
#else
#define KH_SPINLOCK_INIT                                                                           \
    {                                                                                              \
        KH_ATOMIC_INIT(0), KH_ATOMIC_INIT(0)                                                       \
    }
#endif

/* Initialise an unlocked lock (the run-time form of KH_SPINLOCK_INIT). */
void kh_spin_lock_init(kh_spinlock_t *l);

/* Take the lock, spinning until it is this caller's turn. */
void kh_spin_lock(kh_spinlock_t *l);

/* Take the lock only if it is free right now and nobody is queued: true when
 * taken. Never waits. */
bool kh_spin_trylock(kh_spinlock_t *l);

/* Release the lock: the next waiter in line gets it. */
void kh_spin_unlock(kh_spinlock_t *l);

/* Disable interrupts, then take the lock; returns the interrupt state to
 * hand to kh_spin_unlock_irqrestore. */
unsigned long kh_spin_lock_irqsave(kh_spinlock_t *l);

/* Release the lock, then restore the interrupt state saved by the matching
 * kh_spin_lock_irqsave (or kh_spin_trylock_irqsave). */
void kh_spin_unlock_irqrestore(kh_spinlock_t *l, unsigned long flags);

/* Trylock with interrupts disabled: true and *flags set when taken; false
 * with interrupts as they were when not. */
bool kh_spin_trylock_irqsave(kh_spinlock_t *l, unsigned long *flags);

/* Snapshot queries, for assertions and statistics (stale as soon as read). */
bool kh_spin_is_locked(const kh_spinlock_t *l);
/* True when someone is waiting behind the holder. */
bool kh_spin_is_contended(const kh_spinlock_t *l);

/* ---------------------------------------------------------------------------
 * Scope guards. A guard class NAME is a type kh_guard_NAME_t plus
 * kh_guard_NAME_ctor(args) (takes the lock, returns the guard),
 * kh_guard_NAME_dtor(&guard) (releases it) and kh_guard_NAME_ptr(&guard)
 * (non-NULL when the guard holds the lock).
 */
#ifdef KH_SPINLOCK_EXTERN_INLINE
#define KH_SPINLOCK_INLINE extern inline
#else
#define KH_SPINLOCK_INLINE inline
#endif

typedef kh_spinlock_t *kh_guard_spinlock_t;
KH_SPINLOCK_INLINE kh_guard_spinlock_t kh_guard_spinlock_ctor(kh_spinlock_t *l)
{
    kh_spin_lock(l);
    return l;
}
KH_SPINLOCK_INLINE void kh_guard_spinlock_dtor(kh_guard_spinlock_t *g)
{
    if (*g) kh_spin_unlock(*g);
}
KH_SPINLOCK_INLINE void *kh_guard_spinlock_ptr(kh_guard_spinlock_t *g)
{
    return *g;
}

typedef struct {
    kh_spinlock_t *lock;
    unsigned long flags;
} kh_guard_spinlock_irqsave_t;
KH_SPINLOCK_INLINE kh_guard_spinlock_irqsave_t kh_guard_spinlock_irqsave_ctor(kh_spinlock_t *l)
{
    kh_guard_spinlock_irqsave_t g;
    g.flags = kh_spin_lock_irqsave(l);
    g.lock = l;
    return g;
}
KH_SPINLOCK_INLINE void kh_guard_spinlock_irqsave_dtor(kh_guard_spinlock_irqsave_t *g)
{
    if (g->lock) kh_spin_unlock_irqrestore(g->lock, g->flags);
}
KH_SPINLOCK_INLINE void *kh_guard_spinlock_irqsave_ptr(kh_guard_spinlock_irqsave_t *g)
{
    return g->lock;
}

typedef kh_spinlock_t *kh_guard_spinlock_try_t;
KH_SPINLOCK_INLINE kh_guard_spinlock_try_t kh_guard_spinlock_try_ctor(kh_spinlock_t *l)
{
    return kh_spin_trylock(l) ? l : NULL;
}
KH_SPINLOCK_INLINE void kh_guard_spinlock_try_dtor(kh_guard_spinlock_try_t *g)
{
    if (*g) kh_spin_unlock(*g);
}
KH_SPINLOCK_INLINE void *kh_guard_spinlock_try_ptr(kh_guard_spinlock_try_t *g)
{
    return *g;
}

#ifndef KH_HAVE_CLEANUP
#if defined(__has_attribute)
#if __has_attribute(cleanup)
#define KH_HAVE_CLEANUP 1
#endif
#elif defined(__GNUC__)
#define KH_HAVE_CLEANUP 1
#endif
#endif
#ifndef KH_HAVE_CLEANUP
#define KH_HAVE_CLEANUP 0
#endif

#if KH_HAVE_CLEANUP
#define KH__GUARD_CAT2(a, b) a##b
#define KH__GUARD_CAT(a, b)  KH__GUARD_CAT2(a, b)
#define KH__GUARD_ID(p)      KH__GUARD_CAT(p, __COUNTER__)

/* kh_guard(name)(args...); : a hidden variable holding the guard until the
 * end of the enclosing block. */
#define kh_guard(name) KH__GUARD_DECL(name, KH__GUARD_ID(kh_guard_var_))
#define KH__GUARD_DECL(name, var)                                                                  \
    kh_guard_##name##_t var __attribute__((unused, cleanup(kh_guard_##name##_dtor))) =             \
        kh_guard_##name##_ctor

/* kh_scoped_guard(name, args...) { body } : body runs once with the guard
 * held (not at all when the guard's ptr is NULL, e.g. a failed trylock). */
#define kh_scoped_guard(name, ...)        KH__SCOPED_GUARD2(name, KH__GUARD_ID(kh_scope_var_), __VA_ARGS__)
#define KH__SCOPED_GUARD2(name, var, ...) KH__SCOPED_GUARD3(name, var, __VA_ARGS__)
#define KH__SCOPED_GUARD3(name, var, ...)                                                          \
    for (kh_guard_##name##_t var __attribute__((unused, cleanup(kh_guard_##name##_dtor))) =        \
             kh_guard_##name##_ctor(__VA_ARGS__),                                                  \
                                                        *var##_done = NULL;                        \
         !var##_done && kh_guard_##name##_ptr(&var); var##_done = &var)
#endif /* KH_HAVE_CLEANUP */

#ifdef __cplusplus
}
#endif

#endif /* KHEAP_SPINLOCK_H */
