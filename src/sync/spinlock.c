/* SPDX-License-Identifier: MIT */
/* Ticket spin lock (kheap/spinlock.h). Tickets are ints that wrap: only
 * equality is ever compared, and the arithmetic goes through unsigned. */
#define KH_SPINLOCK_EXTERN_INLINE 1
#include "kheap/spinlock.h"

#include "kheap/error.h"
#include "kheap/port.h"

static int ticket_next(int t)
{
    return (int)((unsigned)t + 1u);
}

#if KH_CONFIG_SPINLOCK_DEBUG
static void *context_self(void)
{
    return (void *)(uintptr_t)kh_port_context_id();
}
#endif

void kh_spin_lock_init(kh_spinlock_t *l)
{
    kh_atomic_set(&l->next, 0);
    kh_atomic_set(&l->owner, 0);
#if KH_CONFIG_SPINLOCK_DEBUG
    kh_atomic_ptr_set(&l->holder, NULL);
    kh_atomic_set(&l->refused, 0);
#endif
}

void kh_spin_lock(kh_spinlock_t *l)
{
#if KH_CONFIG_SPINLOCK_DEBUG
    void *self = context_self();
    /* Only this context can have stored self, so the check cannot race. */
    if (kh_atomic_ptr_read(&l->holder) == self) {
        kh_report(KH_EBUSY, "spinlock: recursive lock (would deadlock), refused", l);
        kh_atomic_inc(&l->refused);
        return;
    }
#endif
    /* The ticket needs no ordering of its own: the acquire is the load of
     * owner that sees our number. */
    int t = kh_atomic_fetch_inc_relaxed(&l->next);
    while (kh_atomic_read_acquire(&l->owner) != t) kh_port_cpu_relax();
#if KH_CONFIG_SPINLOCK_DEBUG
    kh_atomic_ptr_set(&l->holder, self);
#endif
}

bool kh_spin_trylock(kh_spinlock_t *l)
{
    /* Free when owner == next. If next still equals that value at the CAS,
     * nobody took a ticket in between, so the lock is still free and ours. */
    int o = kh_atomic_read_acquire(&l->owner);
    int n = o;
    if (!kh_atomic_try_cmpxchg_acquire(&l->next, &n, ticket_next(o))) return false;
#if KH_CONFIG_SPINLOCK_DEBUG
    kh_atomic_ptr_set(&l->holder, context_self());
#endif
    return true;
}

void kh_spin_unlock(kh_spinlock_t *l)
{
    /* Only the holder writes owner, so a relaxed read of it is current. */
    int o = kh_atomic_read(&l->owner);
#if KH_CONFIG_CHECKS || KH_CONFIG_SPINLOCK_DEBUG
    if (kh_atomic_read(&l->next) == o) {
        kh_report(KH_EINVAL, "spinlock: unlock of a lock that is not locked, ignored", l);
        return;
    }
#endif
#if KH_CONFIG_SPINLOCK_DEBUG
    if (kh_atomic_ptr_read(&l->holder) != context_self()) {
        kh_report(KH_EINVAL, "spinlock: unlock by a context that does not hold it, ignored", l);
        return;
    }
    /* The unlock matching a refused recursive lock: the outer holder keeps it. */
    if (kh_atomic_read(&l->refused) > 0) {
        kh_atomic_dec(&l->refused);
        return;
    }
    kh_atomic_ptr_set(&l->holder, NULL);
#endif
    kh_atomic_set_release(&l->owner, ticket_next(o));
}

unsigned long kh_spin_lock_irqsave(kh_spinlock_t *l)
{
    /* Interrupts go off before we queue: a handler on this CPU must not
     * queue behind us while we spin or hold the lock. */
    unsigned long flags = kh_port_irq_save();
    kh_spin_lock(l);
    return flags;
}

void kh_spin_unlock_irqrestore(kh_spinlock_t *l, unsigned long flags)
{
    kh_spin_unlock(l);
    kh_port_irq_restore(flags);
}

bool kh_spin_trylock_irqsave(kh_spinlock_t *l, unsigned long *flags)
{
    unsigned long f = kh_port_irq_save();
    if (kh_spin_trylock(l)) {
        *flags = f;
        return true;
    }
    kh_port_irq_restore(f);
    return false;
}

/* Read owner first: next only grows past it, so the difference is never
 * negative however the two reads interleave with lockers. */
bool kh_spin_is_locked(const kh_spinlock_t *l)
{
    int o = kh_atomic_read_acquire(&l->owner);
    return kh_atomic_read(&l->next) != o;
}

bool kh_spin_is_contended(const kh_spinlock_t *l)
{
    /* More than one ticket outstanding: a holder and at least one waiter. */
    unsigned o = (unsigned)kh_atomic_read_acquire(&l->owner);
    unsigned d = (unsigned)kh_atomic_read(&l->next) - o;
    return d > 1u;
}
