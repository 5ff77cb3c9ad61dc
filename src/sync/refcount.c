/* SPDX-License-Identifier: MIT */
/* Saturating refcount and kref (kheap/refcount.h). */
#include "kheap/refcount.h"

#include "kheap/error.h"

/* Pin the counter and report, unless it was already saturated (old < 0): a
 * saturated counter is reported once, when it got there. */
static void saturate(kh_refcount_t *r, int old, const char *what)
{
    kh_atomic_set(&r->refs, KH_REFCOUNT_SATURATED);
    if (old >= 0) kh_report(KH_ERANGE, what, r);
}

void kh_refcount_set(kh_refcount_t *r, int n)
{
    kh_atomic_set(&r->refs, n);
}

unsigned int kh_refcount_read(const kh_refcount_t *r)
{
    return (unsigned int)kh_atomic_read(&r->refs);
}

bool kh_refcount_is_saturated(const kh_refcount_t *r)
{
    return kh_atomic_read(&r->refs) < 0;
}

void kh_refcount_add(kh_refcount_t *r, int n)
{
    if (n <= 0) {
        kh_report(KH_EINVAL, "refcount: add of a non-positive count, ignored", r);
        return;
    }
    int old = kh_atomic_fetch_add_relaxed(n, &r->refs);
    if (old == 0)
        saturate(r, old, "refcount: increment from 0 (use after free), saturated");
    else if (old < 0 || old > KH_REFCOUNT_MAX - n)
        saturate(r, old, "refcount: overflow, saturated");
}

void kh_refcount_inc(kh_refcount_t *r)
{
    kh_refcount_add(r, 1);
}

bool kh_refcount_add_not_zero(kh_refcount_t *r, int n)
{
    if (n <= 0) {
        kh_report(KH_EINVAL, "refcount: add of a non-positive count, ignored", r);
        return false;
    }
    int old = kh_atomic_read(&r->refs), nv;
    do {
        if (old == 0) return false;
        if (old < 0) return true; /* saturated: stays so, the object never dies */
        nv = old > KH_REFCOUNT_MAX - n ? KH_REFCOUNT_SATURATED : old + n;
    } while (!kh_atomic_try_cmpxchg_acquire(&r->refs, &old, nv));
    if (nv < 0) kh_report(KH_ERANGE, "refcount: overflow, saturated", r);
    return true;
}

bool kh_refcount_inc_not_zero(kh_refcount_t *r)
{
    return kh_refcount_add_not_zero(r, 1);
}

bool kh_refcount_sub_and_test(kh_refcount_t *r, int n)
{
    if (n <= 0) {
        kh_report(KH_EINVAL, "refcount: sub of a non-positive count, ignored", r);
        return false;
    }
    int old = kh_atomic_fetch_sub_release(n, &r->refs);
    if (old == n) {
        /* Pairs with every other holder's release: an acquire load (rather
         * than a fence) that ThreadSanitizer also understands. */
        (void)kh_atomic_read_acquire(&r->refs);
        return true;
    }
    if (old < n) saturate(r, old, "refcount: underflow (use after free), saturated");
    return false;
}

bool kh_refcount_dec_and_test(kh_refcount_t *r)
{
    return kh_refcount_sub_and_test(r, 1);
}

void kh_refcount_dec(kh_refcount_t *r)
{
    int old = kh_atomic_fetch_sub_release(1, &r->refs);
    if (old == 1)
        saturate(r, old, "refcount: dec to 0 (leak: nobody will release), saturated");
    else if (old < 1)
        saturate(r, old, "refcount: underflow (use after free), saturated");
}

void kh_kref_init(struct kh_kref *k)
{
    kh_refcount_set(&k->refcount, 1);
}

unsigned int kh_kref_read(const struct kh_kref *k)
{
    return kh_refcount_read(&k->refcount);
}

void kh_kref_get(struct kh_kref *k)
{
    kh_refcount_inc(&k->refcount);
}

bool kh_kref_get_unless_zero(struct kh_kref *k)
{
    return kh_refcount_inc_not_zero(&k->refcount);
}

int kh_kref_put(struct kh_kref *k, void (*release)(struct kh_kref *k))
{
    if (!release) {
        kh_report(KH_EINVAL, "kref: put with a NULL release function, ignored", k);
        return 0;
    }
    if (!kh_refcount_dec_and_test(&k->refcount)) return 0;
    release(k);
    return 1;
}
