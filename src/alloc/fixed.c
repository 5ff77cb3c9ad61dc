/* SPDX-License-Identifier: MIT */
/* Fixed-size-block allocator: see kheap/fixed.h for the contract. */
#include "kheap/fixed.h"

#include "../internal/kh_string.h"

#include "kheap/config.h"
#include "kheap/error.h"

#define FIXED_MAGIC 0x66697864u /* "fixd" */

typedef struct kh_fixed_block blk;

static bool fixed_bad(const struct kh_fixed *f)
{
    if (f && f->magic == FIXED_MAGIC) return false;
#if KH_CONFIG_CHECKS
    kh_report(KH_EINVAL, "fixed: dead", f);
#endif
    return true;
}

#if KH_CONFIG_CHECKS
#define FIXED_LIVE(f, ret)                                                                         \
    do {                                                                                           \
        if (fixed_bad(f)) return ret;                                                              \
    } while (0)
#else
#define FIXED_LIVE(f, ret) ((void)0)
#endif

static size_t class_bytes(int c)
{
    return (size_t)KH_FIXED_MIN_BLOCK << c;
}

int kh_fixed_class(size_t size, size_t align)
{
    if (align & (align - 1)) return -1;
    size_t need = align ? align : KH_ALIGN_DEFAULT;
    if (size > need) need = size;
    int c = 0;
    while (c < KH_FIXED_CLASSES && class_bytes(c) < need) c++;
    return c < KH_FIXED_CLASSES ? c : -1;
}

int kh_fixed_init(struct kh_fixed *f, kh_allocator backing)
{
    if (!f || !backing.ops) return KH_EINVAL;
    for (int c = 0; c < KH_FIXED_CLASSES; c++) {
        f->head[c] = NULL;
        f->live[c] = f->cached[c] = 0;
    }
    f->backing = backing;
    f->large_live = f->large_bytes = f->refills = 0;
    f->magic = FIXED_MAGIC;
    return 0;
}

static void *fixed_get(struct kh_fixed *f, size_t size, size_t align, unsigned flags)
{
    if (align & (align - 1)) return NULL;
    int c = kh_fixed_class(size, align);
    kh_allocator b = f->backing;
    void *p;
    if (c < 0) {
        p = b.ops->alloc(b.ctx, size, align, flags);
        if (p) {
            f->large_live++;
            f->large_bytes += size;
        }
        return p;
    }
    blk *k = f->head[c];
    if (k) {
        f->head[c] = k->next;
        f->cached[c]--;
    } else {
        size_t cb = class_bytes(c);
        k = b.ops->alloc(b.ctx, cb, cb, flags);
        if (!k) return NULL;
        f->refills++;
    }
    f->live[c]++;
    return k;
}

void *kh_fixed_alloc(struct kh_fixed *f, size_t size, size_t align, unsigned flags)
{
    FIXED_LIVE(f, NULL);
    void *p = fixed_get(f, size, align, flags & ~KH_GFP_ZERO);
    if (p && (flags & KH_GFP_ZERO)) memset(p, 0, size);
    return p;
}

void kh_fixed_free(struct kh_fixed *f, void *ptr, size_t size, size_t align)
{
    if (!ptr) return;
    FIXED_LIVE(f, );
    int c = kh_fixed_class(size, align);
    if (c < 0) {
        f->backing.ops->free(f->backing.ctx, ptr, size, align);
        f->large_live--;
        f->large_bytes -= size;
        return;
    }
#if KH_CONFIG_CHECKS
    if ((uintptr_t)ptr & (class_bytes(c) - 1)) {
        kh_report(KH_EFAULT, "fixed: foreign pointer", ptr);
        return;
    }
    if (!f->live[c] || f->head[c] == ptr) {
        kh_report(KH_EDOUBLE, "fixed: double free", ptr);
        return;
    }
#endif
    blk *k = ptr;
    k->next = f->head[c];
    f->head[c] = k;
    f->live[c]--;
    f->cached[c]++;
}

bool kh_fixed_resize(struct kh_fixed *f, void *ptr, size_t old_size, size_t new_size, size_t align)
{
    FIXED_LIVE(f, false);
    int c = kh_fixed_class(old_size, align);
    if (!ptr || c != kh_fixed_class(new_size, align)) return false;
    if (c >= 0) return true;
    kh_allocator b = f->backing;
    if (!b.ops->resize || !b.ops->resize(b.ctx, ptr, old_size, new_size, align)) return false;
    f->large_bytes = f->large_bytes - old_size + new_size;
    return true;
}

size_t kh_fixed_shrink(struct kh_fixed *f)
{
    FIXED_LIVE(f, 0);
    size_t bytes = 0;
    for (int c = 0; c < KH_FIXED_CLASSES; c++) {
        size_t cb = class_bytes(c);
        blk *k;
        while ((k = f->head[c])) {
            f->head[c] = k->next;
            f->backing.ops->free(f->backing.ctx, k, cb, cb);
            bytes += cb;
        }
        f->cached[c] = 0;
    }
    return bytes;
}

int kh_fixed_destroy(struct kh_fixed *f)
{
    if (fixed_bad(f)) return KH_EINVAL;
    kh_fixed_shrink(f);
    struct kh_fixed_stats st;
    kh_fixed_stats(f, &st);
    f->magic = 0;
    if (st.live_blocks || st.large_blocks) {
#if KH_CONFIG_CHECKS
        kh_report(KH_EBUSY, "fixed: destroy while in use", f);
#endif
        return KH_EBUSY;
    }
    return 0;
}

void kh_fixed_stats(const struct kh_fixed *f, struct kh_fixed_stats *out)
{
    out->live_blocks = out->live_bytes = out->cached_blocks = out->cached_bytes = 0;
    for (int c = 0; c < KH_FIXED_CLASSES; c++) {
        out->live_blocks += f->live[c];
        out->live_bytes += f->live[c] * class_bytes(c);
        out->cached_blocks += f->cached[c];
        out->cached_bytes += f->cached[c] * class_bytes(c);
    }
    out->large_blocks = f->large_live;
    out->large_bytes = f->large_bytes;
    out->refills = f->refills;
}

int kh_fixed_check(const struct kh_fixed *f)
{
    if (!f || f->magic != FIXED_MAGIC) return KH_EINVAL;
    for (int c = 0; c < KH_FIXED_CLASSES; c++) {
        size_t n = 0;
        for (const blk *k = f->head[c]; k; k = k->next) {
            /* n > cached also stops a cycle (a block freed twice). */
            if (((uintptr_t)k & (class_bytes(c) - 1)) || ++n > f->cached[c]) return KH_ECORRUPT;
        }
        if (n != f->cached[c]) return KH_ECORRUPT;
    }
    return 0;
}

/* ---- kh_allocator adapter ---- */

static void *fx_a_alloc(void *ctx, size_t size, size_t align, unsigned flags)
{
    return kh_fixed_alloc(ctx, size, align, flags & ~KH_GFP_ZERO); /* kh_alloc_flags zeroes */
}

static bool fx_a_resize(void *ctx, void *ptr, size_t old_size, size_t new_size, size_t align)
{
    return kh_fixed_resize(ctx, ptr, old_size, new_size, align);
}

static void fx_a_free(void *ctx, void *ptr, size_t size, size_t align)
{
    kh_fixed_free(ctx, ptr, size, align);
}

static const kh_allocator_ops fx_ops = {fx_a_alloc, fx_a_resize, fx_a_free};

kh_allocator kh_fixed_allocator(struct kh_fixed *f)
{
    kh_allocator a = {f, &fx_ops};
    return a;
}
