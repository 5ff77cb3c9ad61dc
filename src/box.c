/* box and rc: owned and reference-counted objects (kheap/box.h). */
#include "kheap/box.h"

#include <stdint.h>
#include "internal/kh_string.h"

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

/* ---- rc ----
 * Layout of one allocation (alignment A = max(align, alignof header)):
 *   base                       base + off - sizeof(hdr)      base + off
 *   | padding ...              | struct rc_hdr               | object (size bytes)
 * off = round_up(sizeof(hdr), A), so the header always sits right before the
 * object and the object keeps its alignment. */

#define RC_MAGIC ((size_t)0x6b6852c1u) /* "khR" + tag */

struct rc_hdr {
    size_t count;
    size_t size;
    size_t align; /* effective alignment of the whole block */
    kh_allocator a;
    kh_drop_fn drop;
#if KH_CONFIG_CHECKS
    size_t magic;
#endif
};

static size_t rc_offset(size_t align)
{
    return (sizeof(struct rc_hdr) + align - 1) & ~(align - 1);
}

static struct rc_hdr *rc_hdr_of(const void *obj, const char *what)
{
    if (!obj) return NULL;
    struct rc_hdr *h = (struct rc_hdr *)((uintptr_t)obj - sizeof(struct rc_hdr));
#if KH_CONFIG_CHECKS
    if (h->magic != RC_MAGIC || h->count == 0) {
        kh_report(KH_EFAULT, what, obj);
        return NULL;
    }
#else
    (void)what;
#endif
    return h;
}

void *kh_rc_new(kh_allocator a, size_t size, size_t align, kh_init_fn init, void *arg,
                kh_drop_fn drop)
{
    if (!kh_align_valid(align)) return NULL;
    align = eff_align(align);
    if (align < _Alignof(struct rc_hdr)) align = _Alignof(struct rc_hdr);
    if (align > SIZE_MAX / 2) return NULL;
    size_t off = rc_offset(align);
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
    struct rc_hdr *h = (struct rc_hdr *)(void *)(base + off - sizeof(struct rc_hdr));
    h->count = 1;
    h->size = size;
    h->align = align;
    h->a = a;
    h->drop = drop;
#if KH_CONFIG_CHECKS
    h->magic = RC_MAGIC;
#endif
    return obj;
}

struct rc_copy {
    const void *src;
    size_t size;
};

static int copy_init(void *obj, void *arg)
{
    const struct rc_copy *c = arg;
    memcpy(obj, c->src, c->size);
    return 0;
}

void *kh_rc_new_copy(kh_allocator a, size_t size, size_t align, const void *src, kh_drop_fn drop)
{
    if (!src) return NULL;
    struct rc_copy c = {src, size};
    return kh_rc_new(a, size, align, copy_init, &c, drop);
}

void *kh_rc_clone(void *obj)
{
    struct rc_hdr *h = rc_hdr_of(obj, "kh_rc_clone: not a live rc object");
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
    struct rc_hdr *h = rc_hdr_of(obj, "kh_rc_release: not a live rc object");
    if (!h) return false;
    if (--h->count) return false;
    /* Copy what free needs: drop may not touch the header, but be safe. */
    kh_allocator a = h->a;
    size_t size = h->size, align = h->align, off = rc_offset(align);
    if (h->drop) h->drop(obj);
#if KH_CONFIG_CHECKS
    h->magic = 0;
#endif
    kh_free(a, (char *)obj - off, off + size, align);
    return true;
}

size_t kh_rc_count(const void *obj)
{
    const struct rc_hdr *h = rc_hdr_of(obj, "kh_rc_count: not a live rc object");
    return h ? h->count : 0;
}
