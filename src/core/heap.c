/* SPDX-License-Identifier: MIT */
/* kheap core heap: two-level segregated fit with boundary tags.
 * See include/kheap/heap.h for the contract; this file explains the how.
 *
 * Block layout (WORD = sizeof(size_t), GRAIN = 2W, every block address GRAIN-aligned):
 *
 *   b + 0    prev_phys   last word of the PREVIOUS block; holds a pointer to
 *                        the previous block only while that block is free
 *   b + WORD    size|flags  distance to the next block; bit 0 = this block free,
 *                        bit 1 = previous block free
 *   b + 2W   payload     (free blocks: next_free, prev_free list links)
 *
 * The payload (b + 2W) is GRAIN-aligned and usable for size - WORD bytes: it runs
 * over the next block's prev_phys word, which only matters once this block
 * is free. Each region ends with a zero-size used block, the end marker, so
 * "next block" never needs a bounds check.
 */
#include "kheap/heap.h"

#include <stdint.h>

/* memcpy, memmove, memset: <string.h> where there is a C library; compilers
 * expect these three from the platform in freestanding code too, and some
 * freestanding toolchains ship no <string.h>. */
#if __STDC_HOSTED__
#include <string.h>
#else
void *memcpy(void *restrict dst, const void *restrict src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
#endif

#define WORD        sizeof(size_t)
#define GRAIN       (2 * sizeof(size_t))
#define MIN_BLOCK   (2 * GRAIN)
#define SL_LOG2     KH_HEAP_SL_LOG2
#define SL_COUNT    (1u << SL_LOG2)
#define F_FREE      ((size_t)1)
#define F_PREV_FREE ((size_t)2)
#define F_MASK      ((size_t)GRAIN - 1)

typedef struct block {
    struct block *prev_phys;
    size_t size;
    struct block *next_free;
    struct block *prev_free;
} block;

typedef struct region {
    struct region *next;
    char *start; /* raw bounds as given, for adjacency and ownership */
    char *end;
} region;

struct kheap {
    uint32_t fl_bitmap;
    uint32_t nfl;     /* first-level classes */
    size_t max_block; /* largest block size the index holds */
    region *regions;
#if KH_HEAP_FULL
    struct kh_source source;
#endif
    size_t total, used, peak_used, free_blocks, allocations, nregions;
    size_t given; /* bytes handed to the heap, control block included */
#if KH_HEAP_FULL
    unsigned policy; /* KHEAP_SHRINK_MOVES */
#endif
    uint32_t *sl; /* second-level bitmaps, nfl words, after heads[] */
    /* followed by: block *heads[nfl * SL_COUNT]; uint32_t sl[nfl]; */
    block *heads[];
};

/* Hot helpers are forced inline in speed builds; -Os builds keep one copy
 * of each for size. Side paths (large alignment, growth) stay out of line so
 * the common path keeps few registers to save. SHARED helpers are inlined in
 * speed builds and kept as one out-of-line copy at -Os, where gcc would
 * otherwise inline them into each caller. */
#ifdef __OPTIMIZE_SIZE__
#define SIZE_BUILD 1
#else
#define SIZE_BUILD 0
#endif
#if defined(__GNUC__) && !SIZE_BUILD
#define HOT    static inline __attribute__((always_inline))
#define SIDE   static __attribute__((noinline))
#define SHARED HOT
#elif defined(__GNUC__)
#define HOT    static
#define SIDE   static
#define SHARED static __attribute__((noinline))
#else
#define HOT    static
#define SIDE   static
#define SHARED static
#endif

/* Index of the lowest set bit of x != 0, and floor(log2(x)) for x > 0:
 * the compiler's count-zeros instructions where there are some. */
#if defined(__GNUC__)
static unsigned ffs32(uint32_t x)
{
    return (unsigned)__builtin_ctz(x);
}
static unsigned log2_floor(size_t x)
{
    /* A constant condition: one branch is compiled (no 64-bit libcall on
     * 32-bit targets). */
    if (sizeof(size_t) <= sizeof(unsigned long))
        return (unsigned)(sizeof(unsigned long) * 8 - 1) -
               (unsigned)__builtin_clzl((unsigned long)x);
    return (unsigned)(sizeof(unsigned long long) * 8 - 1) -
           (unsigned)__builtin_clzll((unsigned long long)x);
}
#else
static unsigned ffs32(uint32_t x)
{
    unsigned r = 0;
    while (!(x & 1)) x >>= 1, r++;
    return r;
}
static unsigned log2_floor(size_t x)
{
    unsigned r = 0;
    while (x >>= 1) r++;
    return r;
}
#endif

/* ---- The error hook (kheap/heap.h): shared by every layer, kept here so
 * the heap stands alone. An atomic pointer: set while others report, each
 * report sees the old hook or the new one, never a torn value. ---- */
static kh_error_hook_fn error_hook;

kh_error_hook_fn kh_set_error_hook(kh_error_hook_fn fn)
{
#if defined(__GNUC__)
    /* A load then a store (not an exchange): word-sized atomic loads and
     * stores exist on every target, exchange needs a CAS (not on ARMv6-M). */
    kh_error_hook_fn old = __atomic_load_n(&error_hook, __ATOMIC_ACQUIRE);
    __atomic_store_n(&error_hook, fn, __ATOMIC_RELEASE);
#else
    kh_error_hook_fn old = error_hook;
    error_hook = fn;
#endif
    return old;
}

void kh_report(int code, const char *what, const void *ptr)
{
#if defined(__GNUC__)
    kh_error_hook_fn fn = __atomic_load_n(&error_hook, __ATOMIC_ACQUIRE);
#else
    kh_error_hook_fn fn = error_hook;
#endif
    if (fn) fn(code, what, ptr);
}

static size_t bsize(const block *b)
{
    return b->size & ~F_MASK;
}
static block *bnext(const block *b)
{
    return (block *)((char *)b + bsize(b));
}
static void *payload(const block *b)
{
    return (char *)b + 2 * WORD;
}
static block *from_payload(const void *p)
{
    return (block *)((char *)p - 2 * WORD);
}

/* Region geometry: header at the start (WORD-aligned), first block after it,
 * end marker in the last GRAIN-aligned 2W bytes. All derived from raw bounds. */
static region *region_at(const char *start)
{
    return (region *)(((uintptr_t)start + WORD - 1) & ~(uintptr_t)(WORD - 1));
}
static block *first_block(const region *r)
{
    return (block *)(((uintptr_t)r + sizeof(region) + GRAIN - 1) & ~(uintptr_t)(GRAIN - 1));
}
static block *end_marker(const char *end)
{
    return (block *)(((uintptr_t)end - 2 * WORD) & ~(uintptr_t)(GRAIN - 1));
}

/* Size class of a block of u units of GRAIN bytes: exact below SL_COUNT units, then
 * SL_COUNT linear steps per power of two. */
static unsigned class_of_units(size_t u)
{
    if (u < SL_COUNT) return (unsigned)u;
    unsigned f = log2_floor(u);
    return ((f - SL_LOG2 + 1) << SL_LOG2) | (unsigned)((u >> (f - SL_LOG2)) & (SL_COUNT - 1));
}

static unsigned class_of(size_t size)
{
    return class_of_units(size / GRAIN);
}

HOT void list_insert(kheap *h, block *b)
{
    unsigned c = class_of(bsize(b));
    block *head = h->heads[c];
    b->next_free = head;
    b->prev_free = NULL;
    if (head) {
        head->prev_free = b;
    } else {
        h->sl[c >> SL_LOG2] |= 1u << (c & (SL_COUNT - 1));
        h->fl_bitmap |= 1u << (c >> SL_LOG2);
    }
    h->heads[c] = b;
    h->free_blocks++;
}

HOT void list_remove(kheap *h, block *b)
{
    block *next = b->next_free, *prev = b->prev_free;
    if (next) next->prev_free = prev;
    if (prev) {
        prev->next_free = next;
    } else {
        unsigned c = class_of(bsize(b));
        if ((h->heads[c] = next) == NULL) {
            uint32_t *sl = h->sl;
            if (!(sl[c >> SL_LOG2] &= ~(1u << (c & (SL_COUNT - 1)))))
                h->fl_bitmap &= ~(1u << (c >> SL_LOG2));
        }
    }
    h->free_blocks--;
}

/* Mark b (not counted as used) free, merge with free neighbours, list it. */
HOT void release(kheap *h, block *b)
{
    size_t size = bsize(b), s;
    if ((b->size & F_PREV_FREE) && (s = bsize(b->prev_phys) + size) <= h->max_block) {
        b = b->prev_phys;
        list_remove(h, b);
        size = s;
    }
    block *n = (block *)((char *)b + size);
    if ((n->size & F_FREE) && (s = size + bsize(n)) <= h->max_block) {
        list_remove(h, n);
        size = s;
        n = (block *)((char *)b + size);
    }
    b->size = size | F_FREE | (b->size & F_PREV_FREE);
    n->size |= F_PREV_FREE;
    n->prev_phys = b;
    list_insert(h, b);
}

/* Cut used block b down to size bytes; the tail goes back to the heap. */
static void trim(kheap *h, block *b, size_t size)
{
    size_t have = bsize(b);
    if (have - size < MIN_BLOCK) return;
    block *t = (block *)((char *)b + size);
    b->size -= have - size;
    t->size = have - size;
    h->used -= have - size;
    release(h, t);
}

/* b was just taken off its list: its first size bytes become a used block,
 * the rest (when big enough) a free block. The rest cannot touch a free
 * block (b was coalesced) unless max_block kept them apart: then merge.
 * release() also does what the plain insert does, so size builds use it
 * for both; speed builds keep the insert, which measured faster. */
HOT void *take(kheap *h, block *b, size_t size)
{
    size_t have = bsize(b);
    block *n = (block *)((char *)b + have);
    b->size &= ~F_FREE;
    if (have - size >= MIN_BLOCK) {
        block *t = (block *)((char *)b + size);
        b->size -= have - size;
        if (SIZE_BUILD || (n->size & F_FREE)) {
            t->size = have - size;
            release(h, t);
        } else {
            t->size = (have - size) | F_FREE;
            n->prev_phys = t;
            list_insert(h, t);
        }
        have = size;
    } else {
        n->size &= ~F_PREV_FREE;
    }
    h->allocations++;
    if ((h->used += have) > h->peak_used) h->peak_used = h->used;
    return payload(b);
}

/* Block size for a request of n bytes, 0 on overflow. */
HOT size_t adjust(size_t n)
{
    if (n > SIZE_MAX - WORD - GRAIN) return 0;
    n = (n + WORD + GRAIN - 1) & ~(size_t)(GRAIN - 1);
    return n < MIN_BLOCK ? MIN_BLOCK : n;
}

/* A free block of at least size bytes, still on its list, or NULL. */
HOT block *find(kheap *h, size_t size)
{
    if (size > h->max_block) return NULL;
    size_t u = size / GRAIN;
    unsigned c = class_of_units(u);
    if (u >= SL_COUNT) {
        /* Inexact class: a few of its own blocks first (best fit keeps big
         * blocks whole), then round up to the next class boundary so that
         * any block found there fits. (#if: a scan of 0 compiles cleanly.) */
#if KH_HEAP_FALLBACK_SCAN > 0
        block *b = h->heads[c];
        for (unsigned i = 0; b && i < KH_HEAP_FALLBACK_SCAN; i++, b = b->next_free)
            if (bsize(b) >= size) return b;
#endif
        c = class_of_units(u + ((size_t)1 << (log2_floor(u) - SL_LOG2)) - 1);
    }
    unsigned fl = c >> SL_LOG2;
    if (fl >= h->nfl) return NULL;
    uint32_t bits = h->sl[fl] & (~0u << (c & (SL_COUNT - 1)));
    if (!bits) {
        uint32_t fls = h->fl_bitmap & ((~0u << fl) << 1); /* fl may be 31 */
        if (!fls) return NULL;
        fl = ffs32(fls);
        bits = h->sl[fl];
    }
    return h->heads[(fl << SL_LOG2) | ffs32(bits)];
}

/* Allocate a block of size bytes (from adjust()) aligned to align (a power
 * of two), without growing. */
HOT void *alloc_search(kheap *h, size_t size, size_t align)
{
    size_t want = size;
    if (KH_HEAP_FULL && align > GRAIN) { /* the minimal build refused it already */
        /* Search with room for a leading gap of 0 or >= MIN_BLOCK bytes. */
        if (size > SIZE_MAX - MIN_BLOCK - align) return NULL;
        want = size + MIN_BLOCK + align - GRAIN;
    }
    block *b = find(h, want);
    if (!b) return NULL;
    list_remove(h, b);
    uintptr_t p = (uintptr_t)payload(b);
    if (KH_HEAP_FULL && align > GRAIN && (p & (align - 1))) {
        /* The gap goes back to the heap as a free block. */
        uintptr_t a = (p + MIN_BLOCK + align - 1) & ~(uintptr_t)(align - 1);
        block *ab = from_payload((void *)a);
        ab->size = bsize(b) - (size_t)(a - p);
        b->size = (size_t)(a - p) | (b->size & F_PREV_FREE);
        release(h, b); /* also flags ab's previous block as free */
        b = ab;
    }
    return take(h, b, size);
}

/* The large-alignment search, out of line in speed builds. */
SIDE void *alloc_aligned(kheap *h, size_t size, size_t align)
{
    return alloc_search(h, size, align);
}

/* alloc_search for a valid alignment. Speed builds keep alignments above GRAIN
 * out of line, so the common path saves fewer registers; size builds share
 * one search. */
HOT void *alloc_block(kheap *h, size_t size, size_t align)
{
    if (!SIZE_BUILD && align > GRAIN) return alloc_aligned(h, size, align);
    return alloc_search(h, size, align);
}

#if KH_HEAP_FULL
/* Out of memory: grow through the source once and retry once. */
SIDE void *alloc_grow(kheap *h, size_t size, size_t align, unsigned flags)
{
    /* An absurd size must not take memory from the source: the region
     * would stay in the heap. */
    if (!h->source.ops || (flags & (KH_GFP_ATOMIC | KH_GFP_NOGROW)) || align > SIZE_MAX / 4 ||
        size > SIZE_MAX / 2 - align)
        return NULL;
    /* Enough for the block, its alignment slack and a region's overhead. */
    size_t got = 0;
    void *mem = h->source.ops->grow(h->source.ctx, size + align + 8 * GRAIN, &got);
    if (!mem) return NULL;
    if (!kheap_add_region(h, mem, got)) {
        if (h->source.ops->release) h->source.ops->release(h->source.ctx, mem, got);
        return NULL;
    }
    return alloc_block(h, size, align);
}
#else
/* The minimal build has no sources: out of memory is final. */
static void *alloc_grow(kheap *h, size_t size, size_t align, unsigned flags)
{
    (void)h, (void)size, (void)align, (void)flags;
    return NULL;
}
#endif

/* Requests are validated here, once: a bad alignment (in the minimal build
 * also one above GRAIN) never reaches the search or the source. */
void *kheap_alloc_flags(kheap *h, size_t n, size_t align, unsigned flags)
{
    size_t size = adjust(n);
    if (!h || !size || (align & (align - 1)) || (!KH_HEAP_FULL && align > GRAIN)) return NULL;
    void *p = alloc_block(h, size, align);
    if (!p) p = alloc_grow(h, size, align, flags);
    if (p && (flags & KH_GFP_ZERO)) memset(p, 0, n);
    return p;
}

void *kheap_alloc(kheap *h, size_t n, size_t align)
{
#if SIZE_BUILD
    return kheap_alloc_flags(h, n, align, 0);
#else
    /* Speed builds: the common path without the flags tests. */
    size_t size = adjust(n);
    if (!h || !size || (align & (align - 1)) || (!KH_HEAP_FULL && align > GRAIN)) return NULL;
    void *p = alloc_block(h, size, align);
    return p ? p : alloc_grow(h, size, align, 0);
#endif
}

void *kheap_zalloc(kheap *h, size_t n, size_t align)
{
    return kheap_alloc_flags(h, n, align, KH_GFP_ZERO);
}

/* The used block behind ptr, or NULL when ptr is not one (reported, except
 * for a NULL h or ptr). */
HOT block *owned(const kheap *h, const void *ptr)
{
    if (!h || !ptr) return NULL; /* not reported */
    block *b = from_payload(ptr);
#if KH_CONFIG_CHECKS
    const region *r = h->regions;
    while (r && !((const char *)ptr > r->start && (const char *)ptr < r->end)) r = r->next;
    if (!r || ((uintptr_t)ptr & (GRAIN - 1))) {
        kh_report(KH_EFAULT, "kheap: pointer not from this heap", ptr);
        return NULL;
    }
    if (b->size & F_FREE) {
        kh_report(KH_EDOUBLE, "kheap: block already free", ptr);
        return NULL;
    }
    size_t s = bsize(b);
    if (s < MIN_BLOCK || s > (size_t)(r->end - (char *)b) || (bnext(b)->size & F_PREV_FREE)) {
        kh_report(KH_ECORRUPT, "kheap: block header corrupt", ptr);
        return NULL;
    }
#endif
    return b;
}

/* Give used block b back: kheap_free after the checks. */
SHARED void free_block(kheap *h, block *b)
{
    h->allocations--;
    h->used -= bsize(b);
    release(h, b);
}

void kheap_free(kheap *h, void *ptr)
{
    block *b = owned(h, ptr);
    if (b) free_block(h, b);
}

size_t kheap_usable_size(const kheap *h, const void *ptr)
{
    const block *b = owned(h, ptr);
    return b ? bsize(b) - WORD : 0;
}

/* realloc, or with may_move false the in-place-only resize. */
static void *resize(kheap *h, void *ptr, size_t n, size_t align, bool may_move)
{
    block *b = owned(h, ptr); /* NULL for a NULL h */
    size_t size = adjust(n);
    if (!b || !size || (align & (align - 1))) return NULL;
#if !KH_HEAP_FULL
    /* Minimal build: only within the block, at alignments every block has
     * (up to GRAIN); anything else leaves the block as it is. */
    (void)may_move;
    if (align > GRAIN || size > bsize(b)) return NULL;
    trim(h, b, size);
    return ptr;
#else
    if (align < GRAIN) align = GRAIN;
    size_t have = bsize(b);
    void *np;
    if (!((uintptr_t)ptr & (align - 1))) {
        block *nb = b;
        if (size <= have) {
            /* KHEAP_SHRINK_MOVES: a smaller free block that fits takes the
             * data, so this one goes back whole and can coalesce. */
            block *s = NULL;
            if (may_move && (h->policy & KHEAP_SHRINK_MOVES) && align == GRAIN) s = find(h, size);
            if (s && bsize(s) < have) {
                list_remove(h, s);
                np = take(h, s, size);
                goto copy; /* n <= have - WORD: copies n bytes */
            }
        } else {
            /* Grow into the next block, else also into the previous one. */
            block *nx = bnext(b);
            size_t add = (nx->size & F_FREE) ? bsize(nx) : 0;
            if (have + add < size || size > h->max_block) {
                /* prev_phys is the previous block's last word: read it only
                 * when that block is free, else it is its owner's data. */
                block *pv = (b->size & F_PREV_FREE) ? b->prev_phys : NULL;
                size_t prev_free = pv ? bsize(pv) : 0;
                add += prev_free;
                if (!may_move || !prev_free || have + add < size || have + add > h->max_block ||
                    ((uintptr_t)payload(pv) & (align - 1)))
                    goto move;
                nb = pv;
            }
            if (nx->size & F_FREE) list_remove(h, nx);
            if (nb != b) {
                list_remove(h, nb);
                memmove(payload(nb), ptr, have - WORD);
                ptr = payload(nb);
            }
            nb->size = (have + add) | (nb->size & F_PREV_FREE);
            bnext(nb)->size &= ~F_PREV_FREE;
            h->used += add;
        }
        /* Shrunk, or grown past size: the tail goes back, then the peak
         * sees what the block really keeps. */
        trim(h, nb, size);
        if (h->used > h->peak_used) h->peak_used = h->used;
        return ptr;
    }
move:
    if (!may_move) return NULL;
    np = kheap_alloc(h, n, align);
    if (!np) return NULL;
copy:
    memcpy(np, ptr, have - WORD < n ? have - WORD : n);
    free_block(h, b);
    return np;
#endif
}

void *kheap_realloc(kheap *h, void *ptr, size_t n, size_t align)
{
    return ptr ? resize(h, ptr, n, align, true) : kheap_alloc(h, n, align);
}

bool kheap_resize(kheap *h, void *ptr, size_t n)
{
    return ptr && resize(h, ptr, n, 0, false) == ptr;
}

/* First-level classes needed for blocks up to max_block bytes. */
SHARED unsigned nfl_for(size_t max_block)
{
    size_t u = max_block / GRAIN;
    unsigned n = u < SL_COUNT ? 1 : log2_floor(u) - SL_LOG2 + 2;
    return n > 32 ? 32 : n;
}

/* Control block bytes for nfl first-level classes. */
static size_t ctl_bytes(unsigned nfl)
{
    return sizeof(kheap) + nfl * (SL_COUNT * sizeof(block *) + sizeof(uint32_t));
}

size_t kheap_control_bytes(size_t max_block)
{
    return ctl_bytes(nfl_for(max_block));
}

kheap *kheap_init_ex(void *mem, size_t bytes, size_t max_block)
{
    kheap *h = (kheap *)region_at(mem);
    size_t skip = (size_t)((char *)h - (char *)mem);
    if (!mem || bytes < skip) return NULL;
    unsigned nfl = nfl_for(max_block < bytes ? bytes : max_block);
    size_t ctl = ctl_bytes(nfl);
    if (bytes - skip < ctl) return NULL;
    memset(h, 0, ctl);
    h->nfl = nfl;
    h->sl = (uint32_t *)(h->heads + nfl * SL_COUNT);
    /* The biggest block whose class index stays below nfl (cannot wrap:
     * nfl is at most 26 on 32-bit targets and 32 on 64-bit ones). */
    h->max_block = (((size_t)1 << (nfl + SL_LOG2 - 1)) - 1) * GRAIN;
    h->given = skip + ctl;
    return kheap_add_region(h, (char *)h + ctl, bytes - skip - ctl) ? h : NULL;
}

kheap *kheap_init(void *mem, size_t bytes)
{
    return kheap_init_ex(mem, bytes, bytes);
}

bool kheap_add_region(kheap *h, void *mem, size_t bytes)
{
    if (!h || !mem || bytes < 4 * MIN_BLOCK || bytes > UINTPTR_MAX - (uintptr_t)mem) return false;
    char *m = mem, *e = m + bytes;
    /* The control block ends where sl[] ends. */
    if (m < (char *)(h->sl + h->nfl) && e > (char *)h) return false;
    region *after = NULL, *before = NULL, **before_link = NULL;
    for (region **l = &h->regions; *l; l = &(*l)->next) {
        region *r = *l;
        if (m < r->end && e > r->start) return false; /* overlap */
        if (r->end == m) after = r;
        if (r->start == e) before = r, before_link = l;
    }
    /* [first, last) becomes free blocks: from the end marker of the region
     * we extend (or our own first block) to the first block of the region
     * that follows (or our own end marker). */
    region *nr = region_at(m);
    block *first = after ? end_marker(after->end) : first_block(nr);
    block *last = before ? first_block(before) : end_marker(e);
    if ((uintptr_t)last < (uintptr_t)first + MIN_BLOCK) return false;
    if (before) {
        *before_link = before->next;
        h->nregions--;
        e = before->end;
    } else {
        last->size = 0; /* end marker: used, size 0 */
    }
    if (!after) {
        first->size = 0; /* no previous block */
        nr->start = m;
        nr->next = h->regions;
        h->regions = after = nr;
        h->nregions++;
    }
    after->end = e;
    h->given += bytes;
    /* Carve the span into blocks no bigger than max_block and release them;
     * each piece keeps the prev-free flag its header already has. */
    size_t span = (size_t)((char *)last - (char *)first);
    h->total += span;
    do { /* span >= MIN_BLOCK to start with */
        size_t piece = span;
        if (piece > h->max_block) {
            piece = h->max_block;
            if (span - piece < MIN_BLOCK) piece -= MIN_BLOCK;
        }
        first->size = piece | (first->size & F_PREV_FREE);
        span -= piece;
        /* The next piece's header is still raw memory: make it look used
         * so release() does not merge with garbage. */
        block *n = (block *)((char *)first + piece);
        if (span) n->size = 0;
        release(h, first);
        first = n;
    } while (span);
    return true;
}

bool kheap_set_policy(kheap *h, unsigned policy)
{
    if (!h || (policy & ~(unsigned)KHEAP_SHRINK_MOVES) || (policy && !KH_HEAP_FULL)) {
        kh_report(KH_EINVAL, "kheap: unknown or unsupported policy", h);
        return false;
    }
#if KH_HEAP_FULL
    h->policy = policy;
#endif
    return true;
}

void kheap_set_source(kheap *h, const struct kh_source *src)
{
#if KH_HEAP_FULL
    if (h) h->source = src ? *src : (struct kh_source){0};
#else
    /* No growth in the minimal build: attaching a source is refused (and
     * no source stays attached); detaching is a no-op. */
    if (src) kh_report(KH_EINVAL, "kheap: no memory sources in a KH_HEAP_FULL=0 build", h);
#endif
}

void kheap_stats(const kheap *h, struct kheap_stats *out)
{
    memset(out, 0, sizeof(*out));
    if (!h) return;
    out->total_bytes = h->total;
    out->free_bytes = h->total - h->used;
    out->used_bytes = h->used;
    out->peak_used_bytes = h->peak_used;
    out->free_blocks = h->free_blocks;
    out->allocations = h->allocations;
    out->regions = h->nregions;
    out->overhead_bytes = h->given - h->total;
    out->max_block = h->max_block;
    if (h->fl_bitmap) {
        unsigned fl = log2_floor(h->fl_bitmap);
        unsigned c = (fl << SL_LOG2) | log2_floor(h->sl[fl]);
        /* The head of the top non-empty class: approximate, O(1). */
        out->largest_free_block = bsize(h->heads[c]) - WORD;
    }
}

void kheap_walk(const kheap *h, kheap_walk_fn fn, void *ctx)
{
    if (!h || !fn) return;
    for (const region *r = h->regions; r; r = r->next) {
        block *b = first_block(r);
        for (; bsize(b); b = bnext(b)) fn(payload(b), bsize(b) - WORD, !(b->size & F_FREE), ctx);
    }
}

int kheap_check(const kheap *h)
{
    if (!h) return KH_EINVAL;
    /* Counters count down to 0 over the blocks. */
    size_t total = h->total, used = h->used, nused = h->allocations, nfree = 0;
    for (const region *r = h->regions; r; r = r->next) {
        const block *prev = NULL, *b = first_block(r), *end = end_marker(r->end);
        for (size_t pf = 0;; pf = (prev->size & F_FREE) << 1) {
            /* Every header lies inside the region; the walk ends exactly
             * at the end marker (used, size 0). */
            if (b > end) return KH_EHEAP_BLOCK;
            if ((b->size & F_PREV_FREE) != pf || (pf && b->prev_phys != prev))
                return KH_EHEAP_FLAGS;
            if (b == end) {
                if (b->size & ~F_PREV_FREE) return KH_EHEAP_BLOCK;
                break;
            }
            size_t s = bsize(b);
            if (s < MIN_BLOCK || s > h->max_block) return KH_EHEAP_BLOCK;
            if (b->size & F_FREE) {
                if (pf && bsize(prev) + s <= h->max_block) return KH_EHEAP_ADJ;
                nfree++;
            } else {
                used -= s;
                nused--;
            }
            total -= s;
            prev = b;
            b = bnext(b);
        }
    }
    if (total | used | nused || nfree != h->free_blocks) return KH_EHEAP_STATS;
    /* Every listed block is free and in its class, the back links match, no
     * list is longer than the free blocks (no cycles), every free block is
     * listed; the bitmaps are exactly the non-empty lists. */
    uint32_t flm = 0, slm = 0;
    for (unsigned c = 0; c < h->nfl * SL_COUNT; c++) {
        const block *p = NULL;
        for (const block *b = h->heads[c]; b; p = b, b = b->next_free)
            if (!(b->size & F_FREE) || class_of(bsize(b)) != c || b->prev_free != p || !nfree--)
                return KH_EHEAP_LIST;
        if (p) slm |= 1u << (c & (SL_COUNT - 1));
        if ((c & (SL_COUNT - 1)) == SL_COUNT - 1) {
            if (h->sl[c >> SL_LOG2] != slm) return KH_EHEAP_BITMAP;
            if (slm) flm |= 1u << (c >> SL_LOG2);
            slm = 0;
        }
    }
    if (h->fl_bitmap != flm) return KH_EHEAP_BITMAP;
    if (nfree) return KH_EHEAP_STATS;
    return 0;
}
