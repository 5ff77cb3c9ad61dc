/* SPDX-License-Identifier: MIT */
/* kheap locked wrapper: makes any kh_allocator safe to share between CPUs,
 * threads and interrupt handlers.
 *
 * DATASHEET
 *
 * Design      Every alloc, resize and free of the inner allocator runs with a
 *             lock held, taken and released through a small ops table whose
 *             lock returns a saved state that unlock restores (the shape of
 *             Linux's spin_lock_irqsave / spin_unlock_irqrestore): a lock that
 *             also disables interrupts returns the previous interrupt flags.
 *             The wrapper is itself a kh_allocator, so it composes: locked
 *             heap, locked fixed blocks over a heap, locked bump arena, ...
 *             This is Rust's `Locked<A>` / `LockedHeap` in C.
 *
 * Lock ops    kh_spin_lock_ops (here): lock object is a kh_spinlock_t
 *             (kheap/spinlock.h), taken with kh_spin_lock_irqsave so the
 *             saved state is the CPU's interrupt flags. Hosted:
 *             kh_pthread_lock_ops (kheap/lock_pthread.h),
 *             lock object a pthread_mutex_t. Any other lock: fill in a struct
 *             kh_lock_ops (an RTOS mutex, a "disable interrupts" lock on a
 *             single-core MCU whose lock returns PRIMASK).
 *
 * Cost        One lock/unlock pair around each inner call, plus a few counter
 *             increments inside the lock. kh_realloc on the wrapper takes the
 *             lock for resize, then for alloc and free separately (it is
 *             built from the ops), so other threads may run in between; each
 *             step is still atomic.
 *
 * Context     With a spin lock the wrapper never sleeps; with a mutex it may,
 *             so do not use a mutex-locked allocator from interrupt handlers
 *             or for KH_GFP_ATOMIC requests. Flags are passed through to the
 *             inner allocator unchanged.
 *
 * Misuse      The inner allocator's checks run under the lock: what it
 *             catches (its header's Misuse), the wrapper catches. Its
 *             reports (kh_report) are made with the lock held, so the error
 *             hook must not allocate from this allocator; the lock is
 *             released after every call, refused or not. owns is the
 *             inner's, under the lock, when the inner has one. Checked
 *             builds also report use of a wrapper that is not initialized
 *             or was destroyed, and double destroy (KH_EINVAL; the call
 *             does nothing / returns NULL or false).
 *
 * Setup       static kh_spinlock_t lock = KH_SPINLOCK_INIT;
 *             struct kh_locked l;
 *             kh_locked_init(&l, kheap_allocator(h), &lock, &kh_spin_lock_ops);
 *             kh_allocator a = kh_locked_allocator(&l);   // share this one
 */
#ifndef KHEAP_LOCKED_H
#define KHEAP_LOCKED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kheap/alloc.h"
#include "kheap/spinlock.h"

#ifdef __cplusplus
extern "C" {
#endif

struct kh_lock_ops {
    /* Take the lock; return state for unlock (e.g. saved interrupt flags). */
    unsigned long (*lock)(void *lock);
    /* Release the lock and restore what lock returned. */
    void (*unlock)(void *lock, unsigned long saved);
};

struct kh_locked {
    kh_allocator inner;
    void *lock;
    const struct kh_lock_ops *ops;
    /* Counters, updated with the lock held (read them with it held, or
     * through kh_locked_stats). */
    size_t allocs, alloc_failures, frees, resizes;
    uint32_t magic;
};

struct kh_locked_stats {
    size_t allocs;         /* alloc calls */
    size_t alloc_failures; /* of which returned NULL */
    size_t frees;          /* free calls with a non-NULL pointer */
    size_t resizes;        /* resize calls */
};

/* Wrap inner. lock is the lock object ops work on; it must be initialized
 * and outlive the wrapper. Returns 0 or KH_EINVAL (NULL l, ops, ops->lock,
 * ops->unlock or inner.ops). */
int kh_locked_init(struct kh_locked *l, kh_allocator inner, void *lock,
                   const struct kh_lock_ops *ops);

/* The wrapper as a kh_allocator: share this one among threads/CPUs. */
kh_allocator kh_locked_allocator(struct kh_locked *l);

/* Counters, read under the lock. */
void kh_locked_stats(struct kh_locked *l, struct kh_locked_stats *out);

/* Run fn(inner_ctx, arg) with the lock held: for an allocator's own
 * functions that are not in kh_allocator (stats, check, shrink, reset). */
void kh_locked_call(struct kh_locked *l, void (*fn)(void *inner_ctx, void *arg), void *arg);

/* Mark the wrapper dead (the inner allocator and the lock are untouched).
 * 0, or KH_EINVAL for a wrapper that is not live (double destroy). */
int kh_locked_destroy(struct kh_locked *l);

/* Lock ops over a kh_spinlock_t (kheap/spinlock.h): lock is
 * kh_spin_lock_irqsave (interrupts off on this CPU, then the ticket lock),
 * unlock kh_spin_unlock_irqrestore with the saved flags. Never sleeps: safe
 * from interrupt handlers and for KH_GFP_ATOMIC requests. */
extern const struct kh_lock_ops kh_spin_lock_ops;

#ifdef __cplusplus
}
#endif

#endif /* KHEAP_LOCKED_H */
