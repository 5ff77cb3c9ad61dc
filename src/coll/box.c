/* SPDX-License-Identifier: MIT */
/* box, rc and arc: owned and reference-counted objects (kheap/box.h). */
#include "kheap/box.h"

#include <stdint.h>
#include "../internal/kh_string.h"

#include "kheap/error.h"

static size_t eff_align(size_t align)
{
    return align ? align : KH_ALIGN_DEFAULT;
}

void *kh_box_new(kh_allocator a, size_t size, size_t align, kh_init_fn init, void *arg)
{
    if (!kh_align_valid(align)) return NULL;
    void *p = kh_alloc(a, size, align);
    if (!p) return NULL;
    if (!init) {
        memset(p, 0, size);
    } else if (init(p, arg) != 0) {
        kh_free(a, p, size, align);
        return NULL;
    }
    return p;
}

void *kh_box_new_copy(kh_allocator a, size_t size, size_t align, const void *src)
{
    if (!src || !kh_align_valid(align)) return NULL;
    void *p = kh_alloc(a, size, align);
    if (p) memcpy(p, src, size);
    return p;
}

void kh_box_free(kh_allocator a, void *obj, size_t size, size_t align, kh_drop_fn drop)
{
    if (!obj) return;
    if (drop) drop(obj);
    kh_free(a, obj, size, align);
}

/* ---- rc and arc ----
 * Layout of one allocation (alignment A = max(align, alignof header)):
 *   base                       base + off - sizeof(hdr)      base + off
 *   | padding ...              | struct shared_hdr           | object (size bytes)
 * off = round_up(sizeof(hdr), A), so the header always sits right before the
 * object and the object keeps its alignment. rc and arc share the header;
 * rc uses count, arc refs, and the magic word tells them apart. */

#define RC_MAGIC  ((size_t)0x6b6852c1u)
#define ARC_MAGIC ((size_t)0x6b6841c1u)

struct shared_hdr {
    size_t size;
    size_t align; /* effective alignment of the whole block */
    kh_allocator a;
    kh_drop_fn drop;
    size_t count;       /* rc */
    kh_refcount_t refs; /* arc */
#if KH_CONFIG_CHECKS
    size_t magic;
#endif
};

static size_t hdr_offset(size_t align)
{
    return (sizeof(struct shared_hdr) + align - 1) & ~(align - 1);
}

static struct shared_hdr *hdr_of(const void *obj, size_t magic, const char *what)
{
    if (!obj) return NULL;
    struct shared_hdr *h = (struct shared_hdr *)((uintptr_t)obj - sizeof(struct shared_hdr));
#if KH_CONFIG_CHECKS
    if (h->magic != magic || (magic == RC_MAGIC && h->count == 0)) {
        kh_report(KH_EFAULT, what, obj);
        return NULL;
    }
#else
    (void)magic, (void)what;
#endif
    return h;
}

static void *shared_new(kh_allocator a, size_t size, size_t align, kh_init_fn init, void *arg,
                        kh_drop_fn drop, size_t magic)
{
    if (!kh_align_valid(align)) return NULL;
    align = eff_align(align);
    if (align < _Alignof(struct shared_hdr)) align = _Alignof(struct shared_hdr);
    if (align > SIZE_MAX / 2) return NULL;
    size_t off = hdr_offset(align);
    if (size > SIZE_MAX - off) return NULL;
    char *base = kh_alloc(a, off + size, align);
    if (!base) return NULL;
    void *obj = base + off;
    if (!init) {
        memset(obj, 0, size);
    } else if (init(obj, arg) != 0) {
        kh_free(a, base, off + size, align);
        return NULL;
    }
    struct shared_hdr *h = (struct shared_hdr *)(void *)(base + off - sizeof(struct shared_hdr));
    h->size = size;
    h->align = align;
    h->a = a;
    h->drop = drop;
    h->count = 1;
    kh_refcount_set(&h->refs, 1);
#if KH_CONFIG_CHECKS
    h->magic = magic;
#else
    (void)magic;
#endif
    return obj;
}

/* The last reference is gone: drop, then free. */
static void shared_free(void *obj, struct shared_hdr *h)
{
    /* Copy what free needs first: drop may scribble over anything. */
    kh_allocator a = h->a;
    size_t size = h->size, align = h->align, off = hdr_offset(align);
    if (h->drop) h->drop(obj);
#if KH_CONFIG_CHECKS
    h->magic = 0;
#endif
    kh_free(a, (char *)obj - off, off + size, align);
}

struct copy_arg {
    const void *src;
    size_t size;
};

static int copy_init(void *obj, void *arg)
{
    const struct copy_arg *c = arg;
    memcpy(obj, c->src, c->size);
    return 0;
}

/* rc/arc holding a copy of size bytes at src (NULL src: NULL). */
static void *shared_new_copy(kh_allocator a, size_t size, size_t align, const void *src,
                             kh_drop_fn drop, size_t magic)
{
    if (!src) return NULL;
    struct copy_arg c = {src, size};
    return shared_new(a, size, align, copy_init, &c, drop, magic);
}

void *kh_rc_new(kh_allocator a, size_t size, size_t align, kh_init_fn init, void *arg,
                kh_drop_fn drop)
{
    return shared_new(a, size, align, init, arg, drop, RC_MAGIC);
}

void *kh_rc_new_copy(kh_allocator a, size_t size, size_t align, const void *src, kh_drop_fn drop)
{
    return shared_new_copy(a, size, align, src, drop, RC_MAGIC);
}

void *kh_rc_clone(void *obj)
{
    struct shared_hdr *h = hdr_of(obj, RC_MAGIC, "kh_rc_clone: not a live rc object");
    if (!h) return NULL;
    if (h->count == SIZE_MAX) {
        kh_report(KH_ERANGE, "kh_rc_clone: reference count would overflow", obj);
        return NULL;
    }
    h->count++;
    return obj;
}

bool kh_rc_release(void *obj)
{
    struct shared_hdr *h = hdr_of(obj, RC_MAGIC, "kh_rc_release: not a live rc object");
    if (!h) return false;
    if (--h->count) return false;
    shared_free(obj, h);
    return true;
}

size_t kh_rc_count(const void *obj)
{
    const struct shared_hdr *h = hdr_of(obj, RC_MAGIC, "kh_rc_count: not a live rc object");
    return h ? h->count : 0;
}

void *kh_arc_new(kh_allocator a, size_t size, size_t align, kh_init_fn init, void *arg,
                 kh_drop_fn drop)
{
    return shared_new(a, size, align, init, arg, drop, ARC_MAGIC);
}

void *kh_arc_new_copy(kh_allocator a, size_t size, size_t align, const void *src, kh_drop_fn drop)
{
    return shared_new_copy(a, size, align, src, drop, ARC_MAGIC);
}

void *kh_arc_clone(void *obj)
{
    struct shared_hdr *h = hdr_of(obj, ARC_MAGIC, "kh_arc_clone: not an arc object");
    if (!h) return NULL;
    kh_refcount_inc(&h->refs); /* saturates and reports instead of wrapping */
    return obj;
}

void *kh_arc_try_clone(void *obj)
{
    struct shared_hdr *h = hdr_of(obj, ARC_MAGIC, "kh_arc_try_clone: not an arc object");
    return h && kh_refcount_inc_not_zero(&h->refs) ? obj : NULL;
}

bool kh_arc_release(void *obj)
{
    struct shared_hdr *h = hdr_of(obj, ARC_MAGIC, "kh_arc_release: not an arc object");
    if (!h || !kh_refcount_dec_and_test(&h->refs)) return false;
    shared_free(obj, h);
    return true;
}

size_t kh_arc_count(const void *obj)
{
    const struct shared_hdr *h = hdr_of(obj, ARC_MAGIC, "kh_arc_count: not an arc object");
    return h ? kh_refcount_read(&h->refs) : 0;
}
