/* SPDX-License-Identifier: MIT */
/* Locked wrapper: see kheap/locked.h for the contract. */
#include "kheap/locked.h"

#include "kheap/config.h"
#include "kheap/error.h"

#define LOCKED_MAGIC 0x6c6f636bu /* "lock" */

static bool locked_bad(const struct kh_locked *l)
{
    if (l && l->magic == LOCKED_MAGIC) return false;
#if KH_CONFIG_CHECKS
    kh_report(KH_EINVAL, "locked: dead", l);
#endif
    return true;
}

#if KH_CONFIG_CHECKS
#define LOCKED_LIVE(l, ret)                                                                        \
    do {                                                                                           \
        if (locked_bad(l)) return ret;                                                             \
    } while (0)
#else
#define LOCKED_LIVE(l, ret) ((void)0)
#endif

int kh_locked_init(struct kh_locked *l, kh_allocator inner, void *lock,
                   const struct kh_lock_ops *ops)
{
    if (!l || !ops || !ops->lock || !ops->unlock || !inner.ops) return KH_EINVAL;
    l->inner = inner;
    l->lock = lock;
    l->ops = ops;
    l->allocs = l->alloc_failures = l->frees = l->resizes = 0;
    l->magic = LOCKED_MAGIC;
    return 0;
}

static void *lk_alloc(void *ctx, size_t size, size_t align, unsigned flags)
{
    struct kh_locked *l = ctx;
    LOCKED_LIVE(l, NULL);
    unsigned long s = l->ops->lock(l->lock);
    void *p = l->inner.ops->alloc(l->inner.ctx, size, align, flags & ~KH_GFP_ZERO);
    l->allocs++;
    if (!p) l->alloc_failures++;
    l->ops->unlock(l->lock, s);
    return p;
}

static bool lk_resize(void *ctx, void *ptr, size_t old_size, size_t new_size, size_t align)
{
    struct kh_locked *l = ctx;
    LOCKED_LIVE(l, false);
    if (!l->inner.ops->resize) return false;
    unsigned long s = l->ops->lock(l->lock);
    bool ok = l->inner.ops->resize(l->inner.ctx, ptr, old_size, new_size, align);
    l->resizes++;
    l->ops->unlock(l->lock, s);
    return ok;
}

static void lk_free(void *ctx, void *ptr, size_t size, size_t align)
{
    struct kh_locked *l = ctx;
    if (!ptr) return;
    LOCKED_LIVE(l, );
    unsigned long s = l->ops->lock(l->lock);
    l->inner.ops->free(l->inner.ctx, ptr, size, align);
    l->frees++;
    l->ops->unlock(l->lock, s);
}

static size_t lk_owns(void *ctx, const void *ptr)
{
    struct kh_locked *l = ctx;
    LOCKED_LIVE(l, 0);
    unsigned long s = l->ops->lock(l->lock);
    size_t n = l->inner.ops->owns(l->inner.ctx, ptr);
    l->ops->unlock(l->lock, s);
    return n;
}

/* With owns only when the inner allocator has it. */
static const kh_allocator_ops locked_ops = {lk_alloc, lk_resize, lk_free, NULL};
static const kh_allocator_ops locked_owns_ops = {lk_alloc, lk_resize, lk_free, lk_owns};

kh_allocator kh_locked_allocator(struct kh_locked *l)
{
    bool owns = l && l->inner.ops && l->inner.ops->owns;
    kh_allocator a = {l, owns ? &locked_owns_ops : &locked_ops};
    return a;
}

void kh_locked_stats(struct kh_locked *l, struct kh_locked_stats *out)
{
    out->allocs = out->alloc_failures = out->frees = out->resizes = 0;
    LOCKED_LIVE(l, );
    unsigned long s = l->ops->lock(l->lock);
    out->allocs = l->allocs;
    out->alloc_failures = l->alloc_failures;
    out->frees = l->frees;
    out->resizes = l->resizes;
    l->ops->unlock(l->lock, s);
}

void kh_locked_call(struct kh_locked *l, void (*fn)(void *inner_ctx, void *arg), void *arg)
{
    LOCKED_LIVE(l, );
    unsigned long s = l->ops->lock(l->lock);
    fn(l->inner.ctx, arg);
    l->ops->unlock(l->lock, s);
}

int kh_locked_destroy(struct kh_locked *l)
{
    if (locked_bad(l)) return KH_EINVAL;
    l->magic = 0;
    return 0;
}

/* ---- spin lock ops (kheap/spinlock.h) ---- */

static unsigned long spin_lock(void *lock)
{
    return kh_spin_lock_irqsave(lock);
}

static void spin_unlock(void *lock, unsigned long saved)
{
    kh_spin_unlock_irqrestore(lock, saved);
}

const struct kh_lock_ops kh_spin_lock_ops = {spin_lock, spin_unlock};
