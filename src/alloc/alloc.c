/* SPDX-License-Identifier: MIT */
/* Allocator-interface helpers, the failing allocator and fault injection. */
#include "kheap/alloc.h"

#include "../internal/kh_string.h"

#include "kheap/error.h"

bool kh_align_valid(size_t align)
{
    return (align & (align - 1)) == 0;
}

void *kh_alloc_flags(kh_allocator a, size_t size, size_t align, unsigned flags)
{
    if (!a.ops || !kh_align_valid(align)) return NULL;
    void *p = a.ops->alloc(a.ctx, size, align, flags);
    if (p && (flags & KH_GFP_ZERO)) memset(p, 0, size);
    return p;
}

void *kh_alloc(kh_allocator a, size_t size, size_t align)
{
    return kh_alloc_flags(a, size, align, 0);
}

void *kh_zalloc(kh_allocator a, size_t size, size_t align)
{
    return kh_alloc_flags(a, size, align, KH_GFP_ZERO);
}

void *kh_alloc_array(kh_allocator a, size_t n, size_t size, size_t align, unsigned flags)
{
    if (size && n > SIZE_MAX / size) return NULL;
    return kh_alloc_flags(a, n * size, align, flags);
}

bool kh_resize(kh_allocator a, void *ptr, size_t old_size, size_t new_size, size_t align)
{
    if (!a.ops || !ptr || !a.ops->resize || !kh_align_valid(align)) return false;
    return a.ops->resize(a.ctx, ptr, old_size, new_size, align);
}

void *kh_realloc(kh_allocator a, void *ptr, size_t old_size, size_t new_size, size_t align,
                 unsigned flags)
{
    if (!ptr) return kh_alloc_flags(a, new_size, align, flags);
    if (!a.ops || !kh_align_valid(align)) return NULL;
    if (a.ops->resize && a.ops->resize(a.ctx, ptr, old_size, new_size, align)) {
        if ((flags & KH_GFP_ZERO) && new_size > old_size)
            memset((char *)ptr + old_size, 0, new_size - old_size);
        return ptr;
    }
    /* Before copying from ptr: an allocator that can vet pointers says
     * whether old_size bytes at ptr are a live block of its own (its
     * resize reported it otherwise). */
    size_t usable = a.ops->owns ? a.ops->owns(a.ctx, ptr) : SIZE_MAX;
    if (!usable || usable < old_size) {
        if (!a.ops->resize) kh_report(KH_EFAULT, "kh_realloc: not a live block of that size", ptr);
        return NULL;
    }
    void *p = a.ops->alloc(a.ctx, new_size, align, flags & ~KH_GFP_ZERO);
    if (!p) return NULL;
    /* Memory of a live block is never handed out: a new block over the old
     * one's bytes means ptr was not live (freed already). Undo, report,
     * refuse. A zero-byte block holds no bytes: the new block may start at
     * its address (bump), and then there is nothing to give back. */
    if ((char *)p < (char *)ptr + old_size && (char *)ptr < (char *)p + (new_size ? new_size : 1)) {
        a.ops->free(a.ctx, p, new_size, align);
        kh_report(KH_EDOUBLE, "kh_realloc: the block is not live (freed already?)", ptr);
        return NULL;
    }
    if (p == ptr) return p; /* old_size 0: nothing to copy or free */
    memcpy(p, ptr, old_size < new_size ? old_size : new_size);
    if ((flags & KH_GFP_ZERO) && new_size > old_size)
        memset((char *)p + old_size, 0, new_size - old_size);
    a.ops->free(a.ctx, ptr, old_size, align);
    return p;
}

void *kh_realloc_array(kh_allocator a, void *ptr, size_t old_n, size_t new_n, size_t elem_size,
                       size_t align, unsigned flags)
{
    if (elem_size && (old_n > SIZE_MAX / elem_size || new_n > SIZE_MAX / elem_size)) return NULL;
    return kh_realloc(a, ptr, old_n * elem_size, new_n * elem_size, align, flags);
}

void kh_free(kh_allocator a, void *ptr, size_t size, size_t align)
{
    if (ptr && a.ops) a.ops->free(a.ctx, ptr, size, align);
}

size_t kh_owns(kh_allocator a, const void *ptr)
{
    if (!a.ops || !a.ops->owns) return SIZE_MAX;
    return ptr ? a.ops->owns(a.ctx, ptr) : 0;
}

/* ---- failing allocator ---- */

static void *failing_alloc(void *ctx, size_t size, size_t align, unsigned flags)
{
    (void)ctx, (void)size, (void)align, (void)flags;
    return NULL;
}

static bool failing_resize(void *ctx, void *ptr, size_t old_size, size_t new_size, size_t align)
{
    (void)ctx, (void)ptr, (void)old_size, (void)new_size, (void)align;
    return false;
}

static void failing_free(void *ctx, void *ptr, size_t size, size_t align)
{
    (void)ctx, (void)ptr, (void)size, (void)align;
}

static size_t failing_owns(void *ctx, const void *ptr)
{
    (void)ctx, (void)ptr;
    return 0;
}

static const kh_allocator_ops failing_ops = {failing_alloc, failing_resize, failing_free,
                                             failing_owns};

kh_allocator kh_failing_allocator(void)
{
    kh_allocator a = {NULL, &failing_ops};
    return a;
}

/* ---- fault injection ---- */

static void fault_arm(struct kh_fault *f, enum kh_fault_mode mode)
{
    f->mode = mode;
    f->attempts = 0;
    f->failures = 0;
}

void kh_fault_init(struct kh_fault *f, kh_allocator backing)
{
    memset(f, 0, sizeof(*f));
    f->backing = backing;
}

void kh_fault_fail_nth(struct kh_fault *f, unsigned long long n)
{
    fault_arm(f, KH_FAULT_NTH);
    f->n = n;
}

void kh_fault_fail_after(struct kh_fault *f, unsigned long long n)
{
    fault_arm(f, KH_FAULT_AFTER);
    f->n = n;
}

void kh_fault_fail_random(struct kh_fault *f, uint32_t ppm, uint64_t seed)
{
    fault_arm(f, KH_FAULT_RANDOM);
    f->ppm = ppm;
    f->rng = seed ? seed : 0x9e3779b97f4a7c15ull;
}

void kh_fault_off(struct kh_fault *f)
{
    fault_arm(f, KH_FAULT_OFF);
}

/* One allocation attempt: true when this one must fail. */
static bool fault_should_fail(struct kh_fault *f)
{
    unsigned long long k = ++f->attempts;
    bool fail = false;
    switch (f->mode) {
    case KH_FAULT_OFF:
        break;
    case KH_FAULT_NTH:
        fail = k == f->n;
        break;
    case KH_FAULT_AFTER:
        fail = k > f->n;
        break;
    case KH_FAULT_RANDOM:
        /* xorshift64*: deterministic per seed, no libc. */
        f->rng ^= f->rng >> 12;
        f->rng ^= f->rng << 25;
        f->rng ^= f->rng >> 27;
        fail = (uint32_t)((f->rng * 0x2545F4914F6CDD1Dull) >> 32) % 1000000u < f->ppm;
        break;
    }
    if (fail) f->failures++;
    return fail;
}

static void *fault_alloc(void *ctx, size_t size, size_t align, unsigned flags)
{
    struct kh_fault *f = ctx;
    if (fault_should_fail(f)) return NULL;
    void *p = f->backing.ops->alloc(f->backing.ctx, size, align, flags);
    if (p) {
        f->live_blocks++;
        f->live_bytes += size;
    }
    return p;
}

static bool fault_resize(void *ctx, void *ptr, size_t old_size, size_t new_size, size_t align)
{
    struct kh_fault *f = ctx;
    if (!f->backing.ops->resize) return false;
    if (new_size > old_size && fault_should_fail(f)) return false;
    if (!f->backing.ops->resize(f->backing.ctx, ptr, old_size, new_size, align)) return false;
    f->live_bytes = f->live_bytes - old_size + new_size;
    return true;
}

static void fault_free(void *ctx, void *ptr, size_t size, size_t align)
{
    struct kh_fault *f = ctx;
    if (!ptr) return;
    f->live_blocks--;
    f->live_bytes -= size;
    f->backing.ops->free(f->backing.ctx, ptr, size, align);
}

static size_t fault_owns(void *ctx, const void *ptr)
{
    struct kh_fault *f = ctx;
    return f->backing.ops->owns(f->backing.ctx, ptr);
}

/* With owns only when the backing allocator has it. */
static const kh_allocator_ops fault_ops = {fault_alloc, fault_resize, fault_free, NULL};
static const kh_allocator_ops fault_owns_ops = {fault_alloc, fault_resize, fault_free, fault_owns};

kh_allocator kh_fault_allocator(struct kh_fault *f)
{
    kh_allocator a = {f, f->backing.ops && f->backing.ops->owns ? &fault_owns_ops : &fault_ops};
    return a;
}
