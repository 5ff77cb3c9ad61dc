/* SPDX-License-Identifier: MIT */
/* Bump (arena) allocator: see kheap/bump.h for the contract. */
#include "kheap/bump.h"

#include "../internal/kh_string.h"

#include "kheap/config.h"
#include "kheap/error.h"

#define BUMP_MAGIC 0x62756d70u /* "bump" */

#if KH_CONFIG_CHECKS
/* Best effort: catches use after destroy and double destroy. */
static bool bump_live(const struct kh_bump *b)
{
    if (b && b->magic == BUMP_MAGIC) return true;
    kh_report(KH_EINVAL, "bump: dead", b);
    return false;
}
#define BUMP_LIVE(b, ret)                                                                          \
    do {                                                                                           \
        if (!bump_live(b)) return ret;                                                             \
    } while (0)
#else
#define BUMP_LIVE(b, ret) ((void)0)
#endif

int kh_bump_init(struct kh_bump *b, void *mem, size_t bytes)
{
    if (!b || (!mem && bytes) || (uintptr_t)mem + bytes < (uintptr_t)mem) return KH_EINVAL;
    /* As integers: with mem NULL (then bytes is 0) there is no pointer
     * arithmetic on NULL. */
    char *base = mem, *end = (char *)((uintptr_t)mem + bytes);
    b->top = base;
    b->end = end;
    b->cur = &b->first;
    /* last_top is read only while last is set, src.ctx only while src.ops
     * is: neither needs a value here. */
    b->last = NULL;
    b->spare = NULL;
    b->src.ops = NULL;
    b->grow = NULL;
    b->first.base = base;
    b->first.end = end;
    b->first.prev = NULL;
    b->first.bytes = 0;
    b->magic = BUMP_MAGIC;
    return 0;
}

/* Aligned position for size bytes in [top, end), or NULL. align is a power of
 * two. Written as differences so nothing can wrap. */
static char *fit(char *top, char *end, size_t size, size_t align)
{
    size_t pad = (size_t)(-(uintptr_t)top & (align - 1));
    size_t room = (size_t)(end - top);
    if (!room || pad > room || size > room - pad) return NULL;
    return top + pad;
}

/* Slow path: continue in a spare chunk or a new one from the source. */
static void *bump_grow(struct kh_bump *b, size_t size, size_t align)
{
    struct kh_bump_chunk **pp = &b->spare, *c;
    char *p = NULL;
    while ((c = *pp) && !(p = fit(c->base, c->end, size, align))) pp = &c->prev;
    if (c) {
        *pp = c->prev;
    } else {
        const size_t hdr = sizeof(struct kh_bump_chunk);
        size_t got = 0;
        if (size > SIZE_MAX - hdr - (align - 1)) return NULL;
        c = b->src.ops->grow(b->src.ctx, hdr + (align - 1) + size, &got);
        if (!c) return NULL;
        /* A grant below the minimum is unusable: give it back. */
        if (got < hdr || !(p = fit((char *)(c + 1), (char *)c + got, size, align))) {
            if (b->src.ops->release) b->src.ops->release(b->src.ctx, c, got);
            return NULL;
        }
        c->base = (char *)(c + 1);
        c->end = (char *)c + got;
        c->bytes = got;
    }
    c->prev = b->cur;
    b->cur = c;
    b->end = c->end;
    b->last_top = c->base;
    b->last = p;
    b->top = p + size;
    return p;
}

/* The growth path is reached only through b->grow, which kh_bump_set_source
 * sets: a program that never attaches a source never links it. */
void kh_bump_set_source(struct kh_bump *b, const struct kh_source *src)
{
    BUMP_LIVE(b, );
    b->grow = NULL;
    b->src.ops = NULL;
    if (src && src->ops) {
        b->src = *src;
        b->grow = bump_grow;
    }
}

void *kh_bump_alloc(struct kh_bump *b, size_t size, size_t align)
{
    BUMP_LIVE(b, NULL);
    if (!align) align = KH_ALIGN_DEFAULT;
    if (align & (align - 1)) return NULL;
    /* fit() written out: the fast path stays one leaf function. */
    char *top = b->top;
    size_t pad = (size_t)(-(uintptr_t)top & (align - 1)), room = (size_t)(b->end - top);
    /* !room: a full (or empty, NULL) chunk has nothing, not even for size 0. */
    if (!room || pad > room || size > room - pad) return b->grow ? b->grow(b, size, align) : NULL;
    b->last_top = top;
    b->last = top + pad;
    b->top = top + pad + size;
    return top + pad;
}

void *kh_bump_alloc_flags(struct kh_bump *b, size_t size, size_t align, unsigned flags)
{
    BUMP_LIVE(b, NULL);
    void *(*grow)(struct kh_bump *, size_t, size_t) = b->grow;
    /* No source for atomic / no-grow requests: hide it for this call. */
    if (flags & (KH_GFP_ATOMIC | KH_GFP_NOGROW)) b->grow = NULL;
    void *p = kh_bump_alloc(b, size, align);
    b->grow = grow;
    if (p && (flags & KH_GFP_ZERO)) memset(p, 0, size);
    return p;
}

#if KH_CONFIG_CHECKS
/* The live chunk holding [p, p + size], or NULL. */
static const struct kh_bump_chunk *owner(const struct kh_bump *b, const char *p, size_t size)
{
    for (const struct kh_bump_chunk *c = b->cur; c; c = c->prev)
        if (p >= c->base && p <= c->end && size <= (size_t)(c->end - p)) return c;
    return NULL;
}

/* Report a pointer that cannot be a live block. */
static bool bad_block(const struct kh_bump *b, const char *p, size_t size)
{
    const struct kh_bump_chunk *c = owner(b, p, size);
    if (!c) {
        kh_report(KH_EFAULT, "bump: foreign pointer", p);
        return true;
    }
    if (c == b->cur && size > 0 && p + size > b->top) {
        kh_report(KH_EDOUBLE, "bump: already freed", p);
        return true;
    }
    /* The most recent block given back with another size. (A size-0 block
     * may share its address: size 0 is never taken for a wrong size.) */
    if (p == b->last && size > 0 && p + size != b->top) {
        kh_report(KH_EINVAL, "bump: wrong size for the most recent block", p);
        return true;
    }
    return false;
}
#endif

void kh_bump_free(struct kh_bump *b, void *ptr, size_t size)
{
    if (!ptr) return;
    BUMP_LIVE(b, );
#if KH_CONFIG_CHECKS
    if (bad_block(b, ptr, size)) return;
#endif
    /* The most recent block ends at top. The size tells it apart from a
     * size-0 block at the same address (allocated just before it). */
    if (ptr == b->last && (char *)ptr + size == b->top) {
        b->top = b->last_top;
        b->last = NULL;
    }
}

bool kh_bump_resize(struct kh_bump *b, void *ptr, size_t old_size, size_t new_size)
{
    BUMP_LIVE(b, false);
    if (!ptr) return false;
#if KH_CONFIG_CHECKS
    if (bad_block(b, ptr, old_size)) return false;
#endif
    char *p = ptr;
    if (p == b->last && p + old_size == b->top) { /* as in kh_bump_free */
        if (new_size > (size_t)(b->end - p)) return false;
        b->top = p + new_size;
        return true;
    }
    return new_size <= old_size;
}

struct kh_bump_mark kh_bump_mark(const struct kh_bump *b)
{
    struct kh_bump_mark m = {b->cur, b->top};
    return m;
}

/* Move every chunk above c to the spare list and continue in c at top. */
static void unwind(struct kh_bump *b, struct kh_bump_chunk *c, char *top)
{
    while (b->cur != c) {
        struct kh_bump_chunk *k = b->cur;
        b->cur = k->prev;
        k->prev = b->spare;
        b->spare = k;
    }
    b->top = top;
    b->end = c->end;
    b->last = NULL;
}

int kh_bump_rewind(struct kh_bump *b, struct kh_bump_mark m)
{
    BUMP_LIVE(b, KH_EINVAL);
    struct kh_bump_chunk *c = b->cur;
    while (c && c != m.chunk) c = c->prev;
    if (!c || m.top < c->base || m.top > (c == b->cur ? b->top : c->end)) {
#if KH_CONFIG_CHECKS
        kh_report(KH_EINVAL, "bump: bad mark", b);
#endif
        return KH_EINVAL;
    }
    unwind(b, c, m.top);
    return 0;
}

void kh_bump_reset(struct kh_bump *b)
{
    BUMP_LIVE(b, );
    struct kh_bump_chunk *c = b->cur;
    while (c->prev) c = c->prev;
    unwind(b, c, c->base);
}

int kh_bump_destroy(struct kh_bump *b)
{
#if KH_CONFIG_CHECKS
    BUMP_LIVE(b, KH_EINVAL);
#else
    if (!b || b->magic != BUMP_MAGIC) return KH_EINVAL;
#endif
    kh_bump_reset(b);
    struct kh_bump_chunk *c = b->spare;
    while (c) {
        struct kh_bump_chunk *next = c->prev;
        if (c->bytes && b->src.ops && b->src.ops->release)
            b->src.ops->release(b->src.ctx, c, c->bytes);
        c = next;
    }
    memset(b, 0, sizeof(*b));
    return 0;
}

void kh_bump_stats(const struct kh_bump *b, struct kh_bump_stats *out)
{
    memset(out, 0, sizeof(*out));
    BUMP_LIVE(b, );
    for (const struct kh_bump_chunk *c = b->cur; c; c = c->prev) {
        out->capacity_bytes += (size_t)(c->end - c->base);
        out->chunks++;
    }
    out->free_bytes = (size_t)(b->end - b->top);
    out->used_bytes = out->capacity_bytes - out->free_bytes;
    for (const struct kh_bump_chunk *c = b->spare; c; c = c->prev) {
        out->capacity_bytes += (size_t)(c->end - c->base);
        out->spare_chunks++;
    }
}

/* ---- kh_allocator adapter ---- */

static void *bump_a_alloc(void *ctx, size_t size, size_t align, unsigned flags)
{
    return kh_bump_alloc_flags(ctx, size, align, flags & ~KH_GFP_ZERO);
}

static bool bump_a_resize(void *ctx, void *ptr, size_t old_size, size_t new_size, size_t align)
{
    (void)align;
    return kh_bump_resize(ctx, ptr, old_size, new_size);
}

static void bump_a_free(void *ctx, void *ptr, size_t size, size_t align)
{
    (void)align;
    kh_bump_free(ctx, ptr, size);
}

static const kh_allocator_ops bump_ops = {bump_a_alloc, bump_a_resize, bump_a_free, NULL};

kh_allocator kh_bump_allocator(struct kh_bump *b)
{
    kh_allocator a = {b, &bump_ops};
    return a;
}
