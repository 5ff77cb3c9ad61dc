/* SPDX-License-Identifier: MIT */
/* Fixed-size-block allocator: see kheap/fixed.h for the contract. */
#include "kheap/fixed.h"

#include "../internal/kh_string.h"

#include "kheap/config.h"
#include "kheap/error.h"
#include "kheap/port.h"

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

/* Bytes of a class-c block: a free block holds two words (the link and its
 * check), so the 8-byte class takes 16 on 64-bit targets. */
static size_t block_bytes(int c)
{
    size_t b = class_bytes(c);
    return b < sizeof(blk) ? sizeof(blk) : b;
}

/* What a free block's second word holds: its link and address under the
 * instance's secret. A live block has anything else there (alloc breaks
 * it), so a free of a block that is already free is caught in O(1), and
 * user data cannot pass for a free block without the secret. */
static uintptr_t free_mark(const struct kh_fixed *f, const blk *k)
{
    return (uintptr_t)k->next ^ (uintptr_t)k ^ f->secret;
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
    kh_port_entropy(&f->secret, sizeof(f->secret));
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
#if KH_CONFIG_CHECKS
    if (k && k->check != free_mark(f, k)) {
        /* Written after it was freed: its link cannot be trusted. Drop the
         * list (its blocks stay with the backing) and refill. */
        kh_report(KH_ECORRUPT, "fixed: free block overwritten (use after free?)", k);
        f->head[c] = k = NULL;
        f->cached[c] = 0;
    }
#endif
    if (k) {
        f->head[c] = k->next;
        f->cached[c]--;
        k->check = ~k->check; /* no longer a free block */
    } else {
        k = b.ops->alloc(b.ctx, block_bytes(c), class_bytes(c), flags);
        if (!k) return NULL;
        k->check = ~free_mark(f, k);
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

#if KH_CONFIG_CHECKS
/* A class-c block given back (free or resize) must be one fixed handed
 * out for that class: aligned to it; when the backing can vet pointers
 * (owns), a live backing block at least that big (so a foreign, interior,
 * or shrunk-away pointer is refused without reading it); and not marked
 * free. Reports and returns false otherwise. */
static bool vet_block(const struct kh_fixed *f, int c, const blk *k, const char *who)
{
    if ((uintptr_t)k & (class_bytes(c) - 1)) {
        kh_report(KH_EFAULT, who, k);
        return false;
    }
    const kh_allocator *b = &f->backing;
    if (b->ops->owns) {
        size_t u = b->ops->owns(b->ctx, k);
        if (u < block_bytes(c)) {
            kh_report(u ? KH_EINVAL : KH_EFAULT, who, k); /* too small: wrong size */
            return false;
        }
    }
    if (k->check == free_mark(f, k)) {
        kh_report(KH_EDOUBLE, who, k);
        return false;
    }
    return true;
}
#endif

#if KH_CONFIG_CHECKS
/* A large block (the backing's) given back: vetted before the counters
 * move, when the backing can (owns); otherwise the backing's own checks
 * are all there is. */
static bool vet_large(const struct kh_fixed *f, const void *ptr, size_t size, const char *who)
{
    const kh_allocator *b = &f->backing;
    size_t u = b->ops->owns ? b->ops->owns(b->ctx, ptr) : SIZE_MAX;
    if (u < size || !u || !f->large_live) {
        kh_report(u ? KH_EINVAL : KH_EFAULT, who, ptr);
        return false;
    }
    return true;
}
#endif

void kh_fixed_free(struct kh_fixed *f, void *ptr, size_t size, size_t align)
{
    if (!ptr) return;
    FIXED_LIVE(f, );
    int c = kh_fixed_class(size, align);
    if (c < 0) {
#if KH_CONFIG_CHECKS
        /* Vetted before the counters move, when the backing can. */
        const kh_allocator *b = &f->backing;
        size_t u = b->ops->owns ? b->ops->owns(b->ctx, ptr) : SIZE_MAX;
        if (u < size || !f->large_live) {
            kh_report(u ? KH_EINVAL : KH_EFAULT, "fixed: not a live large block of that size", ptr);
            return;
        }
#endif
        f->backing.ops->free(f->backing.ctx, ptr, size, align);
        f->large_live--;
        f->large_bytes -= size;
        return;
    }
    blk *k = ptr;
#if KH_CONFIG_CHECKS
    if (!f->live[c]) {
        kh_report(KH_EDOUBLE, "fixed: free into a class with no live block", ptr);
        return;
    }
    if (!vet_block(f, c, k, "fixed: not a live block of that size")) return;
#endif
    k->next = f->head[c];
    k->check = free_mark(f, k);
    f->head[c] = k;
    f->live[c]--;
    f->cached[c]++;
}

bool kh_fixed_resize(struct kh_fixed *f, void *ptr, size_t old_size, size_t new_size, size_t align)
{
    FIXED_LIVE(f, false);
    int c = kh_fixed_class(old_size, align);
    if (!ptr) return false;
#if KH_CONFIG_CHECKS
    if (c >= 0 ? !vet_block(f, c, ptr, "fixed: resize of a block that is not live")
               : !vet_large(f, ptr, old_size, "fixed: resize of a block that is not live"))
        return false;
#endif
    if (c != kh_fixed_class(new_size, align)) return false;
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
        size_t bb = block_bytes(c);
        blk *k;
        while ((k = f->head[c])) {
#if KH_CONFIG_CHECKS
            if (k->check != free_mark(f, k)) {
                kh_report(KH_ECORRUPT, "fixed: free block overwritten (use after free?)", k);
                break; /* the rest of the list cannot be trusted */
            }
#endif
            f->head[c] = k->next;
            f->backing.ops->free(f->backing.ctx, k, bb, class_bytes(c));
            bytes += bb;
        }
        f->head[c] = NULL;
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
        out->live_bytes += f->live[c] * block_bytes(c);
        out->cached_blocks += f->cached[c];
        out->cached_bytes += f->cached[c] * block_bytes(c);
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
            if (k->check != free_mark(f, k)) return KH_ECORRUPT; /* written after free */
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

/* Usable bytes of a live block: the backing's answer, unless fixed holds
 * the block on a free list. Only with a backing that has owns. */
static size_t fx_a_owns(void *ctx, const void *ptr)
{
    const struct kh_fixed *f = ctx;
    if (!f || f->magic != FIXED_MAGIC || !ptr) return 0;
    size_t u = f->backing.ops->owns(f->backing.ctx, ptr);
    if (u >= sizeof(blk) && ((const blk *)ptr)->check == free_mark(f, ptr)) return 0;
    return u;
}

static const kh_allocator_ops fx_ops = {fx_a_alloc, fx_a_resize, fx_a_free, NULL};
static const kh_allocator_ops fx_owns_ops = {fx_a_alloc, fx_a_resize, fx_a_free, fx_a_owns};

kh_allocator kh_fixed_allocator(struct kh_fixed *f)
{
    bool owns = f && f->magic == FIXED_MAGIC && f->backing.ops->owns;
    kh_allocator a = {f, owns ? &fx_owns_ops : &fx_ops};
    return a;
}
