/* SPDX-License-Identifier: MIT */
/* Linked-list first-fit allocator: see kheap/llist.h for the contract. */
#include "kheap/llist.h"

#include "kheap/config.h"
#include "kheap/error.h"

#define LL_MAGIC 0x6c6c7374u /* "llst" */
#define UNIT     sizeof(struct kh_llist_hole)

typedef struct kh_llist_hole hole;

#if KH_CONFIG_CHECKS
static bool ll_bad(const struct kh_llist *l)
{
    if (l && l->magic == LL_MAGIC) return false;
    kh_report(KH_EINVAL, "llist: dead", l);
    return true;
}
#define LL_LIVE(l, ret)                                                                            \
    do {                                                                                           \
        if (ll_bad(l)) return ret;                                                                 \
    } while (0)
#else
#define LL_LIVE(l, ret) ((void)0)
#endif

/* Block bytes for a request: max(round_up(n, UNIT), UNIT); 0 when it overflows. */
static size_t bsize(size_t n)
{
    if (n > SIZE_MAX - (UNIT - 1)) return 0;
    n = (n + UNIT - 1) & ~(UNIT - 1);
    return n ? n : UNIT;
}

/* Put [p, p + n) into the list at its address, merging with neighbours.
 * Returns false (and changes nothing) when it overlaps a hole. */
static bool insert(struct kh_llist *l, char *p, size_t n)
{
    hole **pp = &l->head, *prev = NULL, *next;
    while ((next = *pp) && (char *)next < p) {
        prev = next;
        pp = &next->next;
    }
    if ((prev && (char *)prev + prev->size > p) || (next && p + n > (char *)next)) return false;
    hole *h = (hole *)p;
    if (prev && (char *)prev + prev->size == p) {
        h = prev;
        h->size += n;
    } else {
        h->size = n;
        *pp = h;
    }
    h->next = next;
    if (next && (char *)h + h->size == (char *)next) {
        h->size += next->size;
        h->next = next->next;
    }
    return true;
}

/* Record [lo, hi) as a region, merged with the regions it touches. With
 * KH_LLIST_REGIONS disjoint ones already, they collapse into their span
 * (l->lo, l->hi, already widened): the checks then see only the span. */
static void add_region(struct kh_llist *l, char *lo, char *hi)
{
    size_t n = l->nregions;
    for (size_t i = 0; i < n;) {
        if (l->region[i].hi == lo || l->region[i].lo == hi) {
            if (l->region[i].lo < lo) lo = l->region[i].lo;
            if (l->region[i].hi > hi) hi = l->region[i].hi;
            l->region[i] = l->region[--n];
        } else {
            i++;
        }
    }
    if (n == KH_LLIST_REGIONS) {
        lo = l->lo;
        hi = l->hi;
        n = 0;
    }
    l->region[n].lo = lo;
    l->region[n].hi = hi;
    l->nregions = n + 1;
}

int kh_llist_extend(struct kh_llist *l, void *mem, size_t bytes)
{
    LL_LIVE(l, KH_EINVAL);
    uintptr_t s = (uintptr_t)mem, e = s + bytes;
    if (!mem || e < s) return KH_EINVAL;
    s = (s + UNIT - 1) & ~(uintptr_t)(UNIT - 1);
    e &= ~(uintptr_t)(UNIT - 1);
    if (e <= s) return KH_EINVAL;
    char *p = (char *)mem + (s - (uintptr_t)mem);
    size_t n = (size_t)(e - s);
    if (!insert(l, p, n)) return KH_EINVAL;
    if (!l->lo || p < l->lo) l->lo = p;
    if (p + n > l->hi) l->hi = p + n;
    add_region(l, p, p + n);
    l->total_bytes += n;
    return 0;
}

int kh_llist_init(struct kh_llist *l, void *mem, size_t bytes)
{
    if (!l) return KH_EINVAL;
    l->head = NULL;
    l->lo = l->hi = NULL;
    l->total_bytes = l->used_bytes = l->allocations = 0;
    l->nregions = 0;
    l->magic = LL_MAGIC;
    if (!mem && !bytes) return 0;
    int r = kh_llist_extend(l, mem, bytes);
    if (r) l->magic = 0;
    return r;
}

void *kh_llist_alloc(struct kh_llist *l, size_t size, size_t align)
{
    LL_LIVE(l, NULL);
    size_t n = bsize(size);
    if (align & (align - 1) || !n) return NULL;
    if (align < UNIT) align = UNIT;
    for (hole **pp = &l->head, *h; (h = *pp); pp = &h->next) {
        size_t pad = (size_t)(-(uintptr_t)h & (align - 1));
        if (pad > h->size || h->size - pad < n) continue;
        size_t back = h->size - pad - n;
        char *p = (char *)h + pad;
        hole *rest = h->next;
        if (back) {
            hole *t = (hole *)(p + n);
            t->size = back;
            t->next = rest;
            rest = t;
        }
        if (pad) {
            h->size = pad;
            h->next = rest;
        } else {
            *pp = rest;
        }
        l->used_bytes += n;
        l->allocations++;
        return p;
    }
    return NULL;
}

#if KH_CONFIG_CHECKS
/* True when [p, p + n) lies inside lo..hi. */
static bool within(const char *lo, const char *hi, const char *p, size_t n)
{
    return p >= lo && p <= hi && n <= (size_t)(hi - p);
}

/* A block [p, p + n) that cannot be ours: not U-aligned, or not inside one
 * region (between two regions counts as foreign). Reported. O(regions). */
static bool foreign(const struct kh_llist *l, const char *p, size_t n)
{
    bool in = false;
    if (n && !((uintptr_t)p & (UNIT - 1)))
        for (size_t i = 0; i < l->nregions && !in; i++)
            in = within(l->region[i].lo, l->region[i].hi, p, n);
    if (!in) kh_report(KH_EFAULT, "llist: foreign pointer", p);
    return !in;
}
#endif

void kh_llist_free(struct kh_llist *l, void *ptr, size_t size)
{
    if (!ptr) return;
    LL_LIVE(l, );
    size_t n = bsize(size);
#if KH_CONFIG_CHECKS
    if (foreign(l, ptr, n)) return;
    if (!insert(l, ptr, n)) {
        kh_report(KH_EDOUBLE, "llist: double free", ptr);
        return;
    }
#else
    insert(l, ptr, n);
#endif
    l->used_bytes -= n;
    l->allocations--;
}

bool kh_llist_resize(struct kh_llist *l, void *ptr, size_t old_size, size_t new_size)
{
    LL_LIVE(l, false);
    char *p = ptr;
    size_t on = bsize(old_size), nn = bsize(new_size);
    if (!p || !nn) return false;
#if KH_CONFIG_CHECKS
    if (foreign(l, p, on)) return false;
#endif
    /* The holes before the block's end; one that reaches into the block
     * means the block is (partly) free: a freed pointer or a wrong size. */
    hole **pp = &l->head, *h;
    while ((h = *pp) && (char *)h < p + on) {
        if ((char *)h + h->size > p) {
#if KH_CONFIG_CHECKS
            kh_report(KH_EDOUBLE, "llist: resize of a block that is free", p);
#endif
            return false;
        }
        pp = &h->next;
    }
    if (nn < on) {
        if (!insert(l, p + nn, on - nn)) return false;
    } else if (nn > on) {
        size_t need = nn - on;
        if ((char *)h != p + on || h->size < need) return false;
        hole *rest = h->next;
        if (h->size > need) {
            hole *t = (hole *)(p + nn);
            t->size = h->size - need;
            t->next = rest;
            rest = t;
        }
        *pp = rest;
    }
    l->used_bytes = l->used_bytes - on + nn;
    return true;
}

int kh_llist_destroy(struct kh_llist *l)
{
    LL_LIVE(l, KH_EINVAL);
#if !KH_CONFIG_CHECKS
    if (!l || l->magic != LL_MAGIC) return KH_EINVAL;
#endif
    l->magic = 0;
    if (l->allocations) {
#if KH_CONFIG_CHECKS
        kh_report(KH_EBUSY, "llist: destroy while in use", l);
#endif
        return KH_EBUSY;
    }
    return 0;
}

void kh_llist_stats(const struct kh_llist *l, struct kh_llist_stats *out)
{
    out->total_bytes = l->total_bytes;
    out->used_bytes = l->used_bytes;
    out->free_bytes = l->total_bytes - l->used_bytes;
    out->allocations = l->allocations;
    out->holes = out->largest_hole = 0;
    for (const hole *h = l->head; h; h = h->next) {
        out->holes++;
        if (h->size > out->largest_hole) out->largest_hole = h->size;
    }
}

int kh_llist_check(const struct kh_llist *l)
{
    if (!l || l->magic != LL_MAGIC) return KH_EINVAL;
    size_t free_bytes = 0;
    const char *end = NULL; /* end of the previous hole */
    for (const hole *h = l->head; h; h = h->next) {
        const char *p = (const char *)h;
        if (((uintptr_t)p & (UNIT - 1)) || h->size < UNIT || (h->size & (UNIT - 1)) || p <= end ||
            p < l->lo || h->size > (size_t)(l->hi - p))
            return KH_ECORRUPT;
        end = p + h->size;
        free_bytes += h->size;
        bool in = false; /* every hole inside a region */
        for (size_t i = 0; i < l->nregions && !in; i++)
            in = p >= l->region[i].lo && h->size <= (size_t)(l->region[i].hi - p);
        if (!in) return KH_ECORRUPT;
    }
    return free_bytes + l->used_bytes == l->total_bytes ? 0 : KH_ECORRUPT;
}

/* ---- kh_allocator adapter ---- */

static void *ll_a_alloc(void *ctx, size_t size, size_t align, unsigned flags)
{
    (void)flags;
    return kh_llist_alloc(ctx, size, align);
}

static bool ll_a_resize(void *ctx, void *ptr, size_t old_size, size_t new_size, size_t align)
{
    (void)align;
    return kh_llist_resize(ctx, ptr, old_size, new_size);
}

static void ll_a_free(void *ctx, void *ptr, size_t size, size_t align)
{
    (void)align;
    kh_llist_free(ctx, ptr, size);
}

static const kh_allocator_ops ll_ops = {ll_a_alloc, ll_a_resize, ll_a_free, NULL};

kh_allocator kh_llist_allocator(struct kh_llist *l)
{
    kh_allocator a = {l, &ll_ops};
    return a;
}
