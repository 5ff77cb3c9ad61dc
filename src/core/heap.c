/* SPDX-License-Identifier: MIT */
/* kheap core heap: two-level segregated fit with boundary tags.
 * See include/kheap/heap.h for the contract; this file explains the how.
 *
 * Block layout (WORD = sizeof(size_t), GRAIN = 2W, every block address GRAIN-aligned):
 *
 *   b + 0    prev_phys   last word of the PREVIOUS block; holds a pointer to
 *                        the previous block only while that block is free
 *   b + WORD size|flags  distance to the next block; bit 0 = this block free,
 *                        bit 1 = previous block free; in checked builds the
 *                        bits above the largest size (and the spare low bits)
 *                        hold a tag keyed by the block's address and the
 *                        heap's secret
 *   b + 2W   payload     (free blocks: next_free, prev_free list links)
 *
 * The payload (b + 2W) is GRAIN-aligned and usable for size - WORD bytes: it runs
 * over the next block's prev_phys word, which only matters once this block
 * is free. Each region ends with a zero-size used block, the end marker, so
 * "next block" never needs a bounds check. The regions themselves are a
 * sorted table in the control block: no header inside the region.
 *
 * Why a pointer given back is trusted (hardening level 1 and up): it is
 * GRAIN-aligned and inside a region (binary search over the table, no memory
 * outside the heap is read); the word below it carries the tag for its
 * address; the block is used; its successor is inside the region, carries its
 * own tag and records a used predecessor; a free predecessor ends exactly
 * here. Every header the heap absorbs (a merge, a grow in place) is wiped to
 * "free, size 0" first, so a stale pointer never finds its old header.
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
#define GRAIN_LOG2  (WORD == 8 ? 4u : WORD == 4 ? 3u : 2u)
#define MIN_BLOCK   (2 * GRAIN)
#define SL_LOG2     KH_HEAP_SL_LOG2
#define SL_COUNT    (1u << SL_LOG2)
#define F_FREE      ((size_t)1)
#define F_PREV_FREE ((size_t)2)
#define F_FLAGS     ((size_t)3)
#define LEVEL_MAX   KH_CONFIG_HARDEN
/* Level 2: freed memory is filled with this byte. Its words have bit 0 (the
 * free flag) set, so a stale pointer landing in poison is always refused. */
#define POISON      0xa5
#define POISON_WORD ((size_t)-1 / 0xff * POISON)

/* ---- Sanitizer and Valgrind glue ---------------------------------------- */

#if defined(__SANITIZE_ADDRESS__)
#define HAVE_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HAVE_ASAN 1
#endif
#endif
#ifndef HAVE_ASAN
#define HAVE_ASAN 0
#endif
#define USE_ASAN (HAVE_ASAN && KH_CONFIG_ASAN)

#if USE_ASAN
#include <sanitizer/asan_interface.h>
/* The heap reads and writes its own metadata inside poisoned memory: none
 * of its functions is instrumented. The memory functions it calls are
 * (they are intercepted), so it unpoisons around them. */
#define NOSAN               __attribute__((no_sanitize_address))
#define ASAN_POISON(p, n)   __asan_poison_memory_region((p), (n))
#define ASAN_UNPOISON(p, n) __asan_unpoison_memory_region((p), (n))
#else
#define NOSAN
#define ASAN_POISON(p, n)   ((void)(p), (void)(n))
#define ASAN_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#if KH_CONFIG_VALGRIND
#include <valgrind/memcheck.h>
/* Headers, free memory and the control block are no-access to Memcheck;
 * the heap's own accesses run with error reporting off. */
#define VG_ENTER() VALGRIND_DISABLE_ERROR_REPORTING
#define VG_LEAVE() VALGRIND_ENABLE_ERROR_REPORTING
#else
#define VG_ENTER() ((void)0)
#define VG_LEAVE() ((void)0)
#endif

/* Inlining only, never logic: speed builds make kheap_alloc, kheap_free
 * one function each (every helper on their path inlined),
 * size builds (-Os) keep one copy of every helper. Both run the same code
 * paths; the rare ones (growth through a source) stay calls in both. */
#if defined(__GNUC__) && !defined(__OPTIMIZE_SIZE__)
#define HOTPATH __attribute__((flatten))
#else
#define HOTPATH
#endif
#if defined(__GNUC__)
#define COLD __attribute__((noinline))
#else
#define COLD
#endif

#if KH_HEAP_TRACE && defined(__GNUC__)
#define CALLER() __builtin_return_address(0)
#else
#define CALLER() NULL
#endif

typedef struct block {
    struct block *prev_phys;
    size_t size;
    struct block *next_free;
    struct block *prev_free;
} block;

/* One region as given (raw bounds): its first block is the first GRAIN
 * boundary at or after start, its end marker the last one 2W before end. */
struct heap_region {
    char *start;
    char *end;
};

struct kheap {
    /* Read by every allocation and free. */
    uint32_t fl_bitmap;
    uint32_t nfl;     /* first-level classes */
    size_t max_block; /* largest block size the index holds */
#if LEVEL_MAX
    size_t smask;   /* the size bits of a header word */
    size_t tmask;   /* the tag bits: ~(smask | F_FLAGS) */
    size_t tag_mul; /* the secret: the tag of block b is */
    size_t tag_add; /*   (b * tag_mul + tag_add) & tmask */
    unsigned level; /* hardening level now */
    /* Payload addresses p with p - own_lo <= own_span lie between the first
     * region's start and the last one's end: with one region, the O(1)
     * ownership test needs nothing else. */
    uintptr_t own_lo;
    size_t own_span;
#endif
    size_t used, peak_used, allocations, free_blocks, largest_request, failed;
    uint32_t *sl;                /* second-level bitmaps, nfl words, after regions[] */
    struct heap_region *regions; /* sorted by address: after heads[], or table_block */
    size_t nregions, region_cap;
    /* The region table once it outgrew the control block: a used block of
     * the heap, counted as overhead, never handed out (NULL until then). */
    block *table_block;
    /* Bookkeeping. peak_used is the peak since total last changed; the
     * peak and the low-water mark before that are kept apart, so that the
     * allocation path updates one counter only. */
    size_t total, given, peak_before, min_free_before;
#if KH_HEAP_FULL
    struct kh_source source;
    /* alloc_grow while a source is attached, else NULL: called through
     * this pointer, so a program that never attaches a source does not
     * link the growth code (nor kheap_add_region). */
    block *(*grow)(kheap *h, size_t size, size_t align, unsigned flags);
    unsigned policy; /* KHEAP_SHRINK_MOVES */
#endif
#if KH_HEAP_TRACE
    struct kheap_trace trace;
#endif
    /* followed by: block *heads[nfl * SL_COUNT];
     * struct heap_region regions[regions_for(nfl)]; uint32_t sl[nfl]; */
    block *heads[];
};

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

/* ---- Headers ------------------------------------------------------------- */

NOSAN static inline unsigned level(const kheap *h)
{
#if LEVEL_MAX
    return h->level;
#else
    (void)h;
    return 0;
#endif
}

NOSAN static inline size_t smask(const kheap *h)
{
#if LEVEL_MAX
    return h->smask;
#else
    (void)h;
    return ~(size_t)(GRAIN - 1);
#endif
}

/* The tag bits the header of a block at b carries (0 in unchecked builds). */
NOSAN static inline size_t tag_of(const kheap *h, const void *b)
{
#if LEVEL_MAX
    return ((size_t)(uintptr_t)b * h->tag_mul + h->tag_add) & h->tmask;
#else
    (void)h, (void)b;
    return 0;
#endif
}

NOSAN static inline size_t bsize(const kheap *h, const block *b)
{
    return b->size & smask(h);
}
NOSAN static inline block *bnext(const kheap *h, const block *b)
{
    return (block *)((char *)b + bsize(h, b));
}
NOSAN static inline void *payload(const block *b)
{
    return (char *)b + 2 * WORD;
}
/* In integers: p may be any pointer a caller hands in, not yet validated. */
NOSAN static inline block *from_payload(const void *p)
{
    return (block *)((uintptr_t)p - 2 * WORD);
}
/* A new header: size, flags and the tag for its address. */
NOSAN static inline void hdr_set(const kheap *h, block *b, size_t size_flags)
{
    b->size = size_flags | tag_of(h, b);
}
/* A new size for an existing header: tag and flags kept. */
NOSAN static inline void hdr_resize(const kheap *h, block *b, size_t size)
{
    b->size = (b->size & ~smask(h)) | size;
}
/* A header absorbed into a bigger block reads "free, size 0" afterwards (its
 * tag kept): a stale pointer to it is refused as already free. */
NOSAN static inline void wipe(const kheap *h, block *b)
{
    if (LEVEL_MAX) b->size = (b->size & ~smask(h)) | F_FREE;
}

/* Region geometry, from raw bounds. */
NOSAN static inline block *first_block(const char *start)
{
    return (block *)(((uintptr_t)start + GRAIN - 1) & ~(uintptr_t)(GRAIN - 1));
}
NOSAN static inline block *end_marker(const char *end)
{
    return (block *)(((uintptr_t)end - 2 * WORD) & ~(uintptr_t)(GRAIN - 1));
}
NOSAN static inline char *ctl_end(const kheap *h)
{
    return (char *)(h->sl + h->nfl);
}

/* Size class of a block of u units of GRAIN bytes: exact below SL_COUNT units, then
 * SL_COUNT linear steps per power of two. */
NOSAN static unsigned class_of_units(size_t u)
{
    if (u < SL_COUNT) return (unsigned)u;
    unsigned f = log2_floor(u);
    return ((f - SL_LOG2 + 1) << SL_LOG2) | (unsigned)((u >> (f - SL_LOG2)) & (SL_COUNT - 1));
}

NOSAN static unsigned class_of(size_t size)
{
    return class_of_units(size / GRAIN);
}

/* ---- Level 2: poison and canaries --------------------------------------- */

/* Fill [p, e) with the poison byte. The memory is poisoned for ASan: the
 * memset (an intercepted call) runs on unpoisoned memory. */
NOSAN static void poison(char *p, char *e)
{
    if (e <= p) return;
    ASAN_UNPOISON(p, (size_t)(e - p));
    memset(p, POISON, (size_t)(e - p));
    ASAN_POISON(p, (size_t)(e - p));
}

/* Whether [p, e) still holds the poison. */
NOSAN static bool poisoned(const char *p, const char *e)
{
    for (; p < e && ((uintptr_t)p & (WORD - 1)); p++)
        if ((unsigned char)*p != POISON) return false;
    for (; p + WORD <= e; p += WORD)
        if (*(const size_t *)(const void *)p != POISON_WORD) return false;
    for (; p < e; p++)
        if ((unsigned char)*p != POISON) return false;
    return true;
}

/* Level 2 hands out [payload, payload + n), then canary bytes up to the
 * next block, whose prev_phys word (the block's last word) keeps n, keyed. */
NOSAN static size_t canary_key(const kheap *h, const block *b)
{
#if LEVEL_MAX
    return ((size_t)(uintptr_t)b >> GRAIN_LOG2) * h->tag_add + h->tag_mul;
#else
    (void)h, (void)b;
    return 0;
#endif
}
static inline unsigned char canary_byte(size_t key, const char *at)
{
    return (unsigned char)(key >> (8 * ((uintptr_t)at % WORD)) | 1); /* never 0 */
}

NOSAN static void set_canary(const kheap *h, block *b, size_t n)
{
    block *nx = bnext(h, b);
    size_t key = canary_key(h, b);
    for (char *c = (char *)payload(b) + n; c < (char *)nx; c++) *c = (char)canary_byte(key, c);
    nx->prev_phys = (block *)(uintptr_t)(n ^ key);
}

/* The size requested of used block b at level 2, or (size_t)-1 when the
 * canary or the stored size was overwritten. */
NOSAN static size_t canary_size(const kheap *h, const block *b)
{
    const block *nx = bnext(h, b);
    size_t key = canary_key(h, b), n = (size_t)(uintptr_t)nx->prev_phys ^ key;
    if (n >= bsize(h, b) - 2 * WORD) return (size_t)-1; /* at least one canary byte */
    for (const char *c = (const char *)payload(b) + n; c < (const char *)nx; c++)
        if ((unsigned char)*c != canary_byte(key, c)) return (size_t)-1;
    return n;
}

/* The size requested of b at level 2, reporting an overwritten canary. A
 * broken canary leaves the heap's own structure intact (the neighbour's
 * header was checked): the caller carries on with the whole block. */
NOSAN static size_t requested(const kheap *h, const block *b)
{
    size_t n = canary_size(h, b);
    if (n == (size_t)-1) {
        kh_report(KH_EHEAP_CANARY, "kheap: block written past its requested size", payload(b));
        n = bsize(h, b) - 2 * WORD - 1;
    }
    return n;
}

/* Bytes a user may touch in used block b: the request at level 2, else
 * everything up to the next header. */
NOSAN static size_t usable(const kheap *h, const block *b)
{
    if (LEVEL_MAX >= 2 && level(h) >= 2) return requested(h, b);
    return bsize(h, b) - WORD;
}

/* ---- Free lists ----------------------------------------------------------- */

NOSAN static void list_insert(kheap *h, block *b)
{
    unsigned c = class_of(bsize(h, b));
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

NOSAN static void list_remove(kheap *h, block *b)
{
    block *next = b->next_free, *prev = b->prev_free;
    if (next) next->prev_free = prev;
    if (prev) {
        prev->next_free = next;
    } else {
        unsigned c = class_of(bsize(h, b));
        if ((h->heads[c] = next) == NULL) {
            uint32_t *sl = h->sl;
            if (!(sl[c >> SL_LOG2] &= ~(1u << (c & (SL_COUNT - 1)))))
                h->fl_bitmap &= ~(1u << (c >> SL_LOG2));
        }
    }
    h->free_blocks--;
}

/* Mark b (not counted as used, header valid) free, merge with free
 * neighbours (never past max_block), list it. At level 2 the memory that
 * becomes free inside the merged block is poisoned: b's own payload when
 * dirty (it held data), and the headers merging absorbs. */
NOSAN static void release(kheap *h, block *b, bool dirty)
{
    size_t size = bsize(h, b), s;
    block *b0 = b, *n = (block *)((char *)b + size), *n0 = n;
    char *pz = (char *)b + 2 * GRAIN;
    bool merged_next = false;
    if ((b->size & F_PREV_FREE) && (s = bsize(h, b->prev_phys) + size) <= h->max_block) {
        block *p = b->prev_phys;
        list_remove(h, p);
        wipe(h, b);
        pz = (char *)b;
        b = p;
        size = s;
    }
    if ((n->size & F_FREE) && (s = size + bsize(h, n)) <= h->max_block) {
        list_remove(h, n);
        wipe(h, n);
        merged_next = true;
        size = s;
        n = (block *)((char *)b + size);
    }
    if (LEVEL_MAX >= 2 && level(h) >= 2) {
        poison(pz, dirty ? (char *)n0 : (char *)b0 + 2 * GRAIN);
        if (merged_next) poison((char *)n0, (char *)n0 + 2 * GRAIN);
    }
    b->size = (b->size & ~smask(h)) | size | F_FREE;
    n->size |= F_PREV_FREE;
    n->prev_phys = b;
    list_insert(h, b);
}

/* Cut used block b down to size bytes; the tail goes back to the heap. */
NOSAN static void trim(kheap *h, block *b, size_t size)
{
    size_t have = bsize(h, b);
    if (have - size < MIN_BLOCK) return;
    block *t = (block *)((char *)b + size);
    hdr_resize(h, b, size);
    hdr_set(h, t, have - size);
    h->used -= have - size;
    release(h, t, true);
}

/* b was just taken off its list: its first size bytes become a used block,
 * the rest (when big enough) a free block. The rest cannot touch a free
 * block (b was coalesced) unless max_block kept them apart: then merge. */
NOSAN static void take(kheap *h, block *b, size_t size)
{
    size_t have = bsize(h, b);
    block *n = (block *)((char *)b + have);
    if (LEVEL_MAX >= 2 && level(h) >= 2 && !poisoned((char *)b + 2 * GRAIN, (char *)b + size))
        kh_report(KH_EHEAP_POISON, "kheap: free memory written after it was freed", payload(b));
    b->size &= ~F_FREE;
    if (have - size >= MIN_BLOCK) {
        block *t = (block *)((char *)b + size);
        hdr_resize(h, b, size);
        if (n->size & F_FREE) {
            hdr_set(h, t, have - size);
            release(h, t, false);
        } else {
            hdr_set(h, t, (have - size) | F_FREE);
            n->prev_phys = t;
            list_insert(h, t);
        }
        have = size;
    } else {
        n->size &= ~F_PREV_FREE;
    }
    h->allocations++;
    if ((h->used += have) > h->peak_used) h->peak_used = h->used;
}

/* Block size for a request of n bytes, 0 on overflow. Level 2 adds room for
 * one canary byte and the word that keeps n. */
NOSAN static size_t adjust(const kheap *h, size_t n)
{
    if (LEVEL_MAX >= 2 && (h ? level(h) : LEVEL_MAX) >= 2) {
        if (n > SIZE_MAX - WORD - 1) return 0;
        n += WORD + 1;
    }
    if (n > SIZE_MAX - WORD - GRAIN) return 0;
    n = (n + WORD + GRAIN - 1) & ~(size_t)(GRAIN - 1);
    return n < MIN_BLOCK ? MIN_BLOCK : n;
}

/* A free block of at least size bytes, still on its list, or NULL. */
NOSAN static block *find(kheap *h, size_t size)
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
            if (bsize(h, b) >= size) return b;
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

/* The block size a search needs so that a block of size bytes aligned to
 * align fits, or 0 when it would overflow. */
NOSAN static size_t search_size(size_t size, size_t align)
{
    if (!KH_HEAP_FULL || align <= GRAIN) return size;
    /* Room for a leading gap of 0 or >= MIN_BLOCK bytes. */
    if (size > SIZE_MAX - MIN_BLOCK - align) return 0;
    return size + MIN_BLOCK + align - GRAIN;
}

/* A used block of size bytes (from adjust()) whose payload is aligned to
 * align (a power of two), without growing; NULL when none fits. */
NOSAN static block *alloc_block(kheap *h, size_t size, size_t align)
{
    size_t want = search_size(size, align);
    block *b = want ? find(h, want) : NULL;
    if (!b) return NULL;
    list_remove(h, b);
    uintptr_t p = (uintptr_t)payload(b);
    if (KH_HEAP_FULL && align > GRAIN && (p & (align - 1))) {
        /* The gap goes back to the heap as a free block. */
        uintptr_t a = (p + MIN_BLOCK + align - 1) & ~(uintptr_t)(align - 1);
        block *ab = from_payload((void *)a);
        hdr_set(h, ab, bsize(h, b) - (size_t)(a - p));
        hdr_resize(h, b, (size_t)(a - p));
        release(h, b, false); /* also flags ab's previous block as free */
        b = ab;
    }
    take(h, b, size);
    return b;
}

#if KH_HEAP_FULL
/* Out of memory: grow through the source once and retry once. A request
 * no block of this heap can ever hold never reaches the source: the region
 * it added would stay in the heap, useless. */
NOSAN COLD static block *alloc_grow(kheap *h, size_t size, size_t align, unsigned flags)
{
    size_t want = search_size(size, align);
    if ((flags & (KH_GFP_ATOMIC | KH_GFP_NOGROW)) || !want || want > h->max_block) return NULL;
    /* Enough for the block and a region's alignment slack and end marker. */
    size_t got = 0;
    void *mem = h->source.ops->grow(h->source.ctx, want + 2 * GRAIN + 2 * WORD, &got);
    if (!mem) return NULL;
    if (!kheap_add_region(h, mem, got)) {
        if (h->source.ops->release) h->source.ops->release(h->source.ctx, mem, got);
        return NULL;
    }
    return alloc_block(h, size, align);
}
#endif

/* Growth through the attached source, if any. The minimal build has no
 * sources: out of memory is final. */
NOSAN static inline block *grow(kheap *h, size_t size, size_t align, unsigned flags)
{
#if KH_HEAP_FULL
    return h->grow ? h->grow(h, size, align, flags) : NULL;
#else
    (void)h, (void)size, (void)align, (void)flags;
    return NULL;
#endif
}

/* What Memcheck knows as the size of used block b: the request at level 2,
 * else the usable bytes. */
#if KH_CONFIG_VALGRIND
NOSAN static size_t vg_size(const kheap *h, const block *b, size_t n)
{
    return LEVEL_MAX >= 2 && level(h) >= 2 ? n : bsize(h, b) - WORD;
}
#endif

/* Used block b goes to the caller, who asked for n bytes. */
NOSAN static void *hand_out(kheap *h, block *b, size_t n, unsigned flags)
{
    void *p = payload(b);
    if (LEVEL_MAX >= 2 && level(h) >= 2) set_canary(h, b, n);
    ASAN_UNPOISON(p, n);
#if KH_CONFIG_VALGRIND
    VALGRIND_MALLOCLIKE_BLOCK(p, vg_size(h, b, n), 0, 0);
#endif
    if (flags & KH_GFP_ZERO) memset(p, 0, n);
    return p;
}

/* Requests are validated here, once: a bad alignment (in the minimal build
 * also one above GRAIN) never reaches the search or the source. */
NOSAN static void *alloc_impl(kheap *h, size_t n, size_t align, unsigned flags, void *caller)
{
    if (!h) return NULL;
    VG_ENTER();
    void *p = NULL;
    if (n > h->largest_request) h->largest_request = n;
    size_t size = adjust(h, n);
    if (size && !(align & (align - 1)) && (KH_HEAP_FULL || align <= GRAIN)) {
        block *b = alloc_block(h, size, align);
        if (!b) b = grow(h, size, align, flags);
        if (b) p = hand_out(h, b, n, flags);
    }
    if (!p) h->failed++;
    VG_LEAVE();
#if KH_HEAP_TRACE
    if (h->trace.alloc) h->trace.alloc(h->trace.ctx, p, n, align, caller);
#else
    (void)caller;
#endif
    return p;
}

NOSAN void *kheap_alloc_flags(kheap *h, size_t n, size_t align, unsigned flags)
{
    return alloc_impl(h, n, align, flags, CALLER());
}

NOSAN HOTPATH void *kheap_alloc(kheap *h, size_t n, size_t align)
{
    return alloc_impl(h, n, align, 0, CALLER());
}

NOSAN void *kheap_zalloc(kheap *h, size_t n, size_t align)
{
    return alloc_impl(h, n, align, KH_GFP_ZERO, CALLER());
}

/* ---- Validation ----------------------------------------------------------- */

#if LEVEL_MAX
/* The region holding payload address p (GRAIN-aligned, nonzero) as a block,
 * or NULL: binary search over the table, no memory of the regions read.
 * p's block b = p - 2W is inside when start <= b and b < end marker; for
 * GRAIN-aligned b that is start + GRAIN <= p && p <= end - GRAIN. */
NOSAN static const struct heap_region *region_of(const kheap *h, uintptr_t p)
{
    const struct heap_region *r = h->regions;
    size_t n = h->nregions;
    while (n > 1) {
        size_t half = n / 2;
        if ((uintptr_t)r[half].start <= p - GRAIN)
            r += half, n -= half;
        else
            n = half;
    }
    if (!n || (uintptr_t)r->start > p - GRAIN || p > (uintptr_t)r->end - GRAIN) return NULL;
    return r;
}

#endif

/* Whether the word at b is a header of this heap for its address. */
NOSAN static inline bool tag_ok(const kheap *h, const block *b)
{
#if LEVEL_MAX
    return !((b->size ^ ((size_t)(uintptr_t)b * h->tag_mul + h->tag_add)) & h->tmask);
#else
    (void)h;
    return !(b->size & (GRAIN - 1) & ~F_FLAGS);
#endif
}

/* The used block behind ptr, or NULL (reported) when ptr is not one the heap
 * handed out. Levels 1 and 2; level 0 trusts the caller. */
NOSAN static block *owned(const kheap *h, const void *ptr)
{
    block *b = from_payload(ptr);
#if LEVEL_MAX
    if (!h->level) return b;
    uintptr_t p = (uintptr_t)ptr, off = p - h->own_lo;
    /* room: bytes from p to the end of its region. */
    size_t room = h->own_span - off + GRAIN;
    const char *start = (const char *)h->own_lo - GRAIN;
    if (!(p & (GRAIN - 1)) && off <= h->own_span && h->nregions > 1) {
        const struct heap_region *r = region_of(h, p);
        room = r ? (size_t)(r->end - (const char *)ptr) : 0;
        start = r ? r->start : NULL;
    }
    if ((p & (GRAIN - 1)) || off > h->own_span || !room) {
        kh_report(KH_EFAULT, "kheap: pointer not from this heap", ptr);
        return NULL;
    }
    size_t w = b->size;
    if (!tag_ok(h, b)) {
        if (w == POISON_WORD)
            kh_report(KH_EDOUBLE, "kheap: block already free", ptr);
        else
            kh_report(KH_EFAULT, "kheap: not a block this heap handed out", ptr);
        return NULL;
    }
    if (w & F_FREE) {
        kh_report(KH_EDOUBLE, "kheap: block already free", ptr);
        return NULL;
    }
    if (b == h->table_block) {
        kh_report(KH_EFAULT, "kheap: not a block this heap handed out", ptr);
        return NULL;
    }
    /* The successor lies inside the region (b + s <= end marker), carries
     * its tag and records b as used. */
    size_t s = w & h->smask;
    const block *n = (const block *)((const char *)b + s);
    if (s < MIN_BLOCK || s > room || !tag_ok(h, n) || (n->size & F_PREV_FREE)) {
        kh_report(KH_ECORRUPT, "kheap: block header or its successor corrupt", ptr);
        return NULL;
    }
    /* A free predecessor, inside the region, ends exactly here. */
    if (w & F_PREV_FREE) {
        const block *pv = b->prev_phys;
        if ((uintptr_t)pv < (uintptr_t)start || (uintptr_t)pv >= (uintptr_t)b ||
            ((uintptr_t)pv & (GRAIN - 1)) || !tag_ok(h, pv) || !(pv->size & F_FREE) ||
            bnext(h, pv) != b) {
            kh_report(KH_ECORRUPT, "kheap: block's free predecessor corrupt", ptr);
            return NULL;
        }
    }
#else
    (void)h;
#endif
    return b;
}

/* ---- Free ---------------------------------------------------------------- */

/* Give used block b (validated, canary checked) back. */
NOSAN static void free_block(kheap *h, block *b)
{
    void *p = payload(b);
    ASAN_POISON(p, bsize(h, b) - WORD);
#if KH_CONFIG_VALGRIND
    VALGRIND_FREELIKE_BLOCK(p, 0);
#endif
    h->allocations--;
    h->used -= bsize(h, b);
    release(h, b, true);
}

NOSAN HOTPATH void kheap_free(kheap *h, void *ptr)
{
    if (!h || !ptr) return;
    VG_ENTER();
    block *b = owned(h, ptr);
    if (b) {
        if (LEVEL_MAX >= 2 && level(h) >= 2) (void)requested(h, b);
        free_block(h, b);
    }
    VG_LEAVE();
#if KH_HEAP_TRACE
    if (b && h->trace.free) h->trace.free(h->trace.ctx, ptr, CALLER());
#endif
}

NOSAN size_t kheap_usable_size(const kheap *h, const void *ptr)
{
    if (!h || !ptr) return 0;
    VG_ENTER();
    const block *b = owned(h, ptr);
    size_t n = b ? bsize(h, b) - WORD : 0;
    if (b && LEVEL_MAX >= 2 && level(h) >= 2) {
        n = canary_size(h, b);
        if (n == (size_t)-1) {
            kh_report(KH_EHEAP_CANARY, "kheap: block written past its requested size", ptr);
            n = 0;
        }
    }
    ASAN_UNPOISON(ptr, n);
    VG_LEAVE();
    return n;
}

/* ---- Resize: shrink, grow in place, move --------------------------------- */

#if KH_HEAP_FULL || LEVEL_MAX >= 2 || USE_ASAN || KH_CONFIG_VALGRIND
/* The sanitizers' view of used block b at p after a resize in place from
 * old bytes (as Memcheck knew them) to a request of n. */
NOSAN static void resized(kheap *h, block *b, void *p, size_t old, size_t n)
{
    ASAN_POISON(p, bsize(h, b) - WORD);
    ASAN_UNPOISON(p, n);
#if KH_CONFIG_VALGRIND
    VALGRIND_RESIZEINPLACE_BLOCK(p, old, vg_size(h, b, n), 0);
#endif
    (void)h, (void)b, (void)p, (void)old, (void)n;
}
#endif

/* Memcheck's size of used block b, whose request was old_n. */
NOSAN static size_t vg_old(const kheap *h, const block *b, size_t old_n)
{
#if KH_CONFIG_VALGRIND
    return vg_size(h, b, old_n);
#else
    (void)h, (void)b;
    return old_n;
#endif
}

/* Shrink (or resize within the block) in place; never fails. */
NOSAN static void *shrink_in_place(kheap *h, block *b, void *ptr, size_t n, size_t size,
                                   size_t old_n)
{
    size_t old = vg_old(h, b, old_n);
    trim(h, b, size);
    if (LEVEL_MAX >= 2 && level(h) >= 2) set_canary(h, b, n);
#if KH_HEAP_FULL || LEVEL_MAX >= 2 || USE_ASAN || KH_CONFIG_VALGRIND
    resized(h, b, ptr, old, n);
#else
    (void)old;
#endif
    return ptr;
}

#if KH_HEAP_FULL
/* Copy the kept bytes of used block b (request old_n) to np, free b. */
NOSAN static void copy_and_free(kheap *h, block *b, void *ptr, size_t old_n, void *np, size_t n)
{
    ASAN_UNPOISON(ptr, bsize(h, b) - WORD); /* the copy may read the slack */
    memcpy(np, ptr, old_n < n ? old_n : n);
    free_block(h, b);
}

/* KHEAP_SHRINK_MOVES: a smaller free block that fits takes the data, so
 * this one goes back whole and can coalesce. NULL when there is none. */
NOSAN static void *shrink_move(kheap *h, block *b, void *ptr, size_t n, size_t size, size_t old_n)
{
    block *s = find(h, size);
    if (!s || bsize(h, s) >= bsize(h, b)) return NULL;
    list_remove(h, s);
    take(h, s, size);
    void *np = hand_out(h, s, n, 0);
    copy_and_free(h, b, ptr, old_n, np, n);
    return np;
}

/* Whether a block of total bytes can become one of size bytes (the tail
 * going back) without any block exceeding max_block. */
NOSAN static bool fits(const kheap *h, size_t total, size_t size)
{
    return size <= total && size <= h->max_block &&
           (total <= h->max_block || total - size >= MIN_BLOCK);
}

/* Grow into the following free block, else (down allowed) also into the
 * preceding one, moving the data down. NULL when they are not enough. */
NOSAN static void *grow_in_place(kheap *h, block *b, void *ptr, size_t n, size_t size, size_t align,
                                 bool down, size_t old_n)
{
    size_t have = bsize(h, b);
    block *nx = bnext(h, b), *nb = b;
    size_t total = have + ((nx->size & F_FREE) ? bsize(h, nx) : 0);
    if (!fits(h, total, size)) {
        /* prev_phys is the previous block's last word: read it only when
         * that block is free, else it is its owner's data. */
        if (!down || !(b->size & F_PREV_FREE)) return NULL;
        nb = b->prev_phys;
        total += bsize(h, nb);
        if (!fits(h, total, size) || ((uintptr_t)payload(nb) & (align - 1))) return NULL;
    }
    size_t old = vg_old(h, b, old_n);
    /* Keep size bytes and give the tail back when it can stand alone,
     * else keep it all (fits() said that is at most max_block): no header
     * ever holds more than the index can. */
    size_t keep = total - size >= MIN_BLOCK ? size : total;
    if (nx->size & F_FREE) {
        /* Level 2: the part of the free block handed out must still be
         * poison (the tail stays free, and poisoned). */
        char *ne = (char *)bnext(h, nx), *ke = (char *)nb + keep;
        if (LEVEL_MAX >= 2 && level(h) >= 2 && !poisoned((char *)nx + 2 * GRAIN, ke < ne ? ke : ne))
            kh_report(KH_EHEAP_POISON, "kheap: free memory written after it was freed",
                      payload(nx));
        list_remove(h, nx);
        wipe(h, nx);
    }
    if (nb != b) {
        if (LEVEL_MAX >= 2 && level(h) >= 2 && !poisoned((char *)nb + 2 * GRAIN, (char *)b))
            kh_report(KH_EHEAP_POISON, "kheap: free memory written after it was freed",
                      payload(nb));
        list_remove(h, nb);
        wipe(h, b);
        /* Source and destination overlap: one unpoisoned span for ASan. */
        ASAN_UNPOISON(payload(nb), (size_t)((char *)ptr + have - WORD - (char *)payload(nb)));
        memmove(payload(nb), ptr, have - WORD);
        nb->size &= ~F_FREE;
    }
    hdr_resize(h, nb, keep);
    h->used += keep - have;
    if (keep < total) {
        /* The tail: part of the next free block (poison already, at level
         * 2), or, when the data moved down, maybe some of the old bytes. */
        block *t = (block *)((char *)nb + keep);
        hdr_set(h, t, total - keep);
        release(h, t, nb != b);
    } else {
        bnext(h, nb)->size &= ~F_PREV_FREE;
    }
    if (h->used > h->peak_used) h->peak_used = h->used;
    if (LEVEL_MAX >= 2 && level(h) >= 2) set_canary(h, nb, n);
    void *np = payload(nb);
    if (nb == b) {
        resized(h, nb, np, old, n);
    } else {
        ASAN_POISON(np, bsize(h, nb) - WORD);
        ASAN_UNPOISON(np, n);
#if KH_CONFIG_VALGRIND
        VALGRIND_FREELIKE_BLOCK(ptr, 0);
        VALGRIND_MALLOCLIKE_BLOCK(np, vg_size(h, nb, n), 0, 0);
        VALGRIND_MAKE_MEM_DEFINED(np, old < n ? old : n);
#endif
    }
    return np;
}

/* A new block with the requested alignment takes the data. */
NOSAN HOTPATH static void *move_block(kheap *h, block *b, void *ptr, size_t n, size_t align,
                                      size_t old_n)
{
    size_t size = adjust(h, n);
    block *nb = alloc_block(h, size, align);
    if (!nb) nb = grow(h, size, align, 0);
    if (!nb) return NULL;
    void *np = hand_out(h, nb, n, 0);
    copy_and_free(h, b, ptr, old_n, np, n);
    return np;
}
#endif

/* realloc of validated used block b, or with may_move false the
 * in-place-only resize. */
NOSAN static void *resize_impl(kheap *h, block *b, void *ptr, size_t n, size_t align, bool may_move)
{
    if (n > h->largest_request) h->largest_request = n;
    size_t size = adjust(h, n);
    if (!size || (align & (align - 1))) return NULL;
    /* What the caller may have written: the bytes to keep. */
    size_t old_n = usable(h, b);
#if !KH_HEAP_FULL
    /* Minimal build: only within what the block offers, at alignments
     * every block has (up to GRAIN); anything else leaves it as it is. */
    (void)may_move;
    if (align > GRAIN || n > old_n || size > bsize(h, b)) return NULL;
    return shrink_in_place(h, b, ptr, n, size, old_n);
#else
    if (align < GRAIN) align = GRAIN;
    if (!((uintptr_t)ptr & (align - 1))) {
        if (size <= bsize(h, b)) {
            void *np = NULL;
            if (may_move && (h->policy & KHEAP_SHRINK_MOVES) && align == GRAIN)
                np = shrink_move(h, b, ptr, n, size, old_n);
            return np ? np : shrink_in_place(h, b, ptr, n, size, old_n);
        }
        void *np = grow_in_place(h, b, ptr, n, size, align, may_move, old_n);
        if (np) return np;
    }
    return may_move ? move_block(h, b, ptr, n, align, old_n) : NULL;
#endif
}

NOSAN void *kheap_realloc(kheap *h, void *ptr, size_t n, size_t align)
{
    if (!ptr) return alloc_impl(h, n, align, 0, CALLER());
    if (!h) return NULL;
    VG_ENTER();
    void *np = NULL;
    block *b = owned(h, ptr);
    if (b) {
        np = resize_impl(h, b, ptr, n, align, true);
        if (!np) h->failed++;
    }
    VG_LEAVE();
#if KH_HEAP_TRACE
    if (b && h->trace.realloc) h->trace.realloc(h->trace.ctx, ptr, np, n, CALLER());
#endif
    return np;
}

NOSAN bool kheap_resize(kheap *h, void *ptr, size_t n)
{
    if (!h || !ptr) return false;
    VG_ENTER();
    block *b = owned(h, ptr);
    bool ok = b && resize_impl(h, b, ptr, n, 0, false) == ptr;
    VG_LEAVE();
#if KH_HEAP_TRACE
    if (b && h->trace.realloc) h->trace.realloc(h->trace.ctx, ptr, ok ? ptr : NULL, n, CALLER());
#endif
    return ok;
}

/* ---- Init and regions ------------------------------------------------------ */

/* First-level classes needed for blocks up to max_block bytes. */
static unsigned nfl_for(size_t max_block)
{
    size_t u = max_block / GRAIN;
    unsigned n = u < SL_COUNT ? 1 : log2_floor(u) - SL_LOG2 + 2;
    return n > 32 ? 32 : n;
}

/* Region table entries in the control block: one per first-level class (at
 * least 4, at most KH_HEAP_MAX_REGIONS). When they are all used the table
 * moves into a block of the heap twice its size (table_grow), up to
 * KH_HEAP_MAX_REGIONS. */
static unsigned regions_for(unsigned nfl)
{
    unsigned n = nfl < 4 ? 4 : nfl;
    return n < KH_HEAP_MAX_REGIONS ? n : KH_HEAP_MAX_REGIONS;
}

/* Control block bytes for nfl first-level classes. */
static size_t ctl_bytes(unsigned nfl)
{
    return sizeof(kheap) + nfl * SL_COUNT * sizeof(block *) +
           regions_for(nfl) * sizeof(struct heap_region) + nfl * sizeof(uint32_t);
}

size_t kheap_control_bytes(size_t max_block)
{
    return ctl_bytes(nfl_for(max_block));
}

/* Bits of a header word the sizes of a heap with nfl classes need (all
 * sizes are below 2^bits), at most the word. */
static unsigned size_bits(unsigned nfl)
{
    unsigned b = nfl + SL_LOG2 - 1 + GRAIN_LOG2;
    return b < 8 * WORD ? b : 8 * WORD;
}

/* Tag bits per header: above the sizes, and the spare bits between the
 * flags and GRAIN. */
static unsigned check_bits(unsigned nfl)
{
    return (unsigned)(8 * WORD) - size_bits(nfl) + GRAIN_LOG2 - 2;
}

#if LEVEL_MAX
/* A mixing function (a multiply-xorshift finalizer) in the native word, for
 * the secret: no 64-bit arithmetic on 32-bit targets. */
static size_t mix(size_t x)
{
    if (sizeof(size_t) > 4) {
        /* (A constant condition: the shifts below 64 bits are never run.) */
        x ^= x >> (sizeof(size_t) > 4 ? 31 : 0);
        x *= (size_t)0x7fb5d329728ea185ull;
        x ^= x >> (sizeof(size_t) > 4 ? 27 : 0);
        x *= (size_t)0x81dadef4bc2dd44dull;
        x ^= x >> (sizeof(size_t) > 4 ? 33 : 0);
    } else {
        x ^= x >> 16;
        x *= (size_t)0x7feb352du;
        x ^= x >> 15;
        x *= (size_t)0x846ca68bu;
        x ^= x >> 16;
    }
    return x;
}

/* Write the tag of every header in the heap (no block is live). */
NOSAN static void retag_all(kheap *h)
{
    for (size_t i = 0; i < h->nregions; i++) {
        block *b = first_block(h->regions[i].start);
        for (;; b = bnext(h, b)) {
            b->size = (b->size & (h->smask | F_FLAGS)) | tag_of(h, b);
            if (!bsize(h, b)) break;
        }
    }
}

NOSAN static void set_secret(kheap *h, size_t seed)
{
    size_t x = mix(seed);
    h->tag_mul = x | 1;
    h->tag_add = mix(x ^ (size_t)0x6b68656170ull);
}
#endif

/* The memory the heap took over becomes off-limits to the program. */
NOSAN static void seal(void *p, size_t n)
{
    ASAN_POISON(p, n);
#if KH_CONFIG_VALGRIND
    VALGRIND_MAKE_MEM_NOACCESS(p, n);
#endif
    (void)p, (void)n;
}

static bool first_region(kheap *h, char *m, size_t bytes);

NOSAN kheap *kheap_init_ex(void *mem, size_t bytes, size_t max_block)
{
    if (!mem) return NULL;
    kheap *h = (kheap *)(((uintptr_t)mem + WORD - 1) & ~(uintptr_t)(WORD - 1));
    size_t skip = (size_t)((char *)h - (char *)mem);
    if (bytes < skip) return NULL;
    unsigned nfl = nfl_for(max_block < bytes ? bytes : max_block);
    size_t ctl = ctl_bytes(nfl);
    if (bytes - skip < ctl) return NULL;
    VG_ENTER();
    /* The memory may still be poisoned by an earlier heap the program
     * abandoned: it is the caller's to give again. */
    ASAN_UNPOISON(mem, bytes);
    memset(h, 0, ctl);
    h->nfl = nfl;
    h->regions = (struct heap_region *)(void *)(h->heads + nfl * SL_COUNT);
    h->region_cap = regions_for(nfl);
    h->sl = (uint32_t *)(void *)(h->regions + h->region_cap);
    /* The biggest block whose class index stays below nfl (cannot wrap:
     * nfl is at most 26 on 32-bit targets and 32 on 64-bit ones). */
    h->max_block = (((size_t)1 << (nfl + SL_LOG2 - 1)) - 1) * GRAIN;
#if LEVEL_MAX
    unsigned sb = size_bits(nfl);
    h->smask = (sb < 8 * WORD ? ((size_t)1 << sb) - 1 : (size_t)-1) & ~(size_t)(GRAIN - 1);
    h->tmask = ~(h->smask | F_FLAGS);
    h->level = LEVEL_MAX;
    set_secret(h, (size_t)(uintptr_t)h);
#endif
    h->min_free_before = SIZE_MAX;
#if KH_HEAP_FULL
    h->policy = KHEAP_SHRINK_MOVES;
#endif
    h->given = skip + ctl;
    bool ok = first_region(h, (char *)h + ctl, bytes - skip - ctl);
    if (ok) seal(mem, skip + ctl);
    VG_LEAVE();
    return ok ? h : NULL;
}

NOSAN kheap *kheap_init(void *mem, size_t bytes)
{
    return kheap_init_ex(mem, bytes, bytes);
}

/* The regions changed: the bounds of the fast ownership test follow. */
NOSAN static void own_bounds(kheap *h)
{
#if LEVEL_MAX
    const struct heap_region *t = h->regions;
    h->own_lo = (uintptr_t)t[0].start + GRAIN;
    h->own_span = (uintptr_t)t[h->nregions - 1].end - GRAIN - h->own_lo;
#else
    (void)h;
#endif
}

/* total is about to change: fold the peak and the low-water mark so far. */
NOSAN static void fold_marks(kheap *h)
{
    if (h->total) {
        if (h->total - h->peak_used < h->min_free_before)
            h->min_free_before = h->total - h->peak_used;
        if (h->peak_used > h->peak_before) h->peak_before = h->peak_used;
    }
    h->peak_used = h->used;
}

/* Move n region-table entries from src to dst. The control block is
 * poisoned for ASan and memmove is an intercepted call: unpoison around it. */
NOSAN static void table_move(struct heap_region *dst, struct heap_region *src, size_t n)
{
    struct heap_region *lo = dst < src ? dst : src;
    ASAN_UNPOISON(lo, (n + 1) * sizeof(*lo));
    memmove(dst, src, n * sizeof(*src));
    ASAN_POISON(lo, (n + 1) * sizeof(*lo));
}

/* The regions changed (n entries now), bytes more were given: the bounds
 * of the fast ownership test and the statistics follow. */
NOSAN static void regions_changed(kheap *h, size_t n, size_t bytes)
{
    h->nregions = n;
    own_bounds(h);
    fold_marks(h);
    h->given += bytes;
}

/* [first, last) of a region (headers set: first's prev-free flag, last is
 * a used block) becomes free blocks no bigger than max_block. */
NOSAN static void carve(kheap *h, block *first, block *last)
{
    size_t span = (size_t)((char *)last - (char *)first);
    h->total += span;
    do { /* span >= MIN_BLOCK to start with */
        size_t piece = span;
        if (piece > h->max_block) {
            piece = h->max_block;
            if (span - piece < MIN_BLOCK) piece = span - MIN_BLOCK;
        }
        hdr_resize(h, first, piece);
        span -= piece;
        /* The next piece's header is still raw memory: make it look used
         * so release() does not merge with garbage. */
        block *nb = (block *)((char *)first + piece);
        if (span) hdr_set(h, nb, 0);
        release(h, first, true);
        first = nb;
    } while (span);
}

/* The region right after the control block of a new heap: the table's first
 * entry. (kheap_add_region's general case, without a table to search, so
 * that kheap_init alone links no more than it needs.) */
NOSAN static bool first_region(kheap *h, char *m, size_t bytes)
{
    if (bytes > UINTPTR_MAX - (uintptr_t)m) return false;
    char *e = m + bytes;
    block *first = first_block(m), *last = end_marker(e);
    if ((uintptr_t)last < (uintptr_t)first + MIN_BLOCK) return false;
    seal(m, bytes);
    hdr_set(h, last, 0);  /* end marker: used, size 0 */
    hdr_set(h, first, 0); /* no previous block */
    h->regions[0].start = m;
    h->regions[0].end = e;
    h->nregions = 1;
    own_bounds(h);
    h->given += bytes; /* no marks to fold: nothing was ever allocated */
    carve(h, first, last);
    return true;
}

NOSAN static bool add_region(kheap *h, void *mem, size_t bytes)
{
    if (!h || !mem || bytes > UINTPTR_MAX - (uintptr_t)mem) return false;
    char *m = mem, *e = m + bytes;
    if (m < ctl_end(h) && e > (char *)h) return false; /* the control block */
    /* The table is sorted and its regions disjoint: i is the first region
     * that ends after m; it must start at or after e. */
    struct heap_region *t = h->regions;
    size_t n = h->nregions, i = 0;
    while (i < n && t[i].end <= m) i++;
    if (i < n && t[i].start < e) return false; /* overlap */
    struct heap_region *after = i > 0 && t[i - 1].end == m ? &t[i - 1] : NULL;
    struct heap_region *before = i < n && t[i].start == e ? &t[i] : NULL;
    if (!after && !before && n == h->region_cap) return false; /* table full */
    /* [first, last) becomes free blocks: from the end marker of the region
     * we extend (or our own first block) to the first block of the region
     * that follows (or our own end marker). */
    block *first = after ? end_marker(after->end) : first_block(m);
    block *last = before ? first_block(before->start) : end_marker(e);
    if ((uintptr_t)last < (uintptr_t)first + MIN_BLOCK) return false;
    seal(m, bytes);
    if (!before) hdr_set(h, last, 0); /* end marker: used, size 0 */
    if (!after) hdr_set(h, first, 0); /* no previous block */
    /* The new range joins the region before it, or becomes entry i; then
     * that entry joins the one after when they touch. */
    if (after) {
        after->end = e;
        i--;
    } else {
        table_move(t + i + 1, t + i, n - i);
        t[i].start = m;
        t[i].end = e;
        n++;
    }
    if (before) {
        t[i].end = t[i + 1].end;
        table_move(t + i + 1, t + i + 2, n - i - 2);
        n--;
    }
    regions_changed(h, n, bytes);
    carve(h, first, last);
    return true;
}

/* The region table is full: move it into a block of the heap with twice the
 * entries (at most KH_HEAP_MAX_REGIONS), so the next region that touches no
 * other finds room. Done right after a region was added, while the heap has
 * free memory; when it has none, the table stays full and the next such
 * kheap_add_region fails cleanly. The block is overhead, not an allocation:
 * out of used_bytes, allocations and total_bytes. */
NOSAN static void table_grow(kheap *h)
{
    size_t cap = 2 * h->region_cap;
    if (h->nregions < h->region_cap || h->region_cap >= KH_HEAP_MAX_REGIONS) return;
    if (cap > KH_HEAP_MAX_REGIONS) cap = KH_HEAP_MAX_REGIONS;
    size_t size = adjust(NULL, cap * sizeof(struct heap_region));
    size_t peak = h->peak_used;
    block *b = size > h->max_block ? NULL : alloc_block(h, size, GRAIN);
    if (!b) return;
    h->allocations--, h->used -= bsize(h, b), h->total -= bsize(h, b);
    h->peak_used = peak;
    struct heap_region *t = (struct heap_region *)payload(b);
    ASAN_UNPOISON(t, h->nregions * sizeof(*t));
    ASAN_UNPOISON(h->regions, h->nregions * sizeof(*t));
    memcpy(t, h->regions, h->nregions * sizeof(*t));
    ASAN_POISON(t, cap * sizeof(*t));
    ASAN_POISON(h->regions, h->nregions * sizeof(*t));
    block *old = h->table_block;
    h->regions = t;
    h->region_cap = cap;
    h->table_block = b;
    if (old) { /* the old table's block goes back to the heap */
        h->total += bsize(h, old);
        release(h, old, true);
    }
}

NOSAN bool kheap_add_region(kheap *h, void *mem, size_t bytes)
{
    VG_ENTER();
    bool ok = add_region(h, mem, bytes);
    if (ok) table_grow(h);
    VG_LEAVE();
    return ok;
}

NOSAN bool kheap_remove_region(kheap *h, void *mem, size_t bytes)
{
    if (!h) return false;
    VG_ENTER();
    struct heap_region *t = h->regions;
    size_t i = 0, n = h->nregions;
    while (i < n && !(t[i].start == (char *)mem && (size_t)(t[i].end - t[i].start) == bytes)) i++;
    int err = i == n || t[i].start == ctl_end(h) ? KH_EINVAL : 0;
    /* Only free blocks, up to the end marker (no two are adjacent unless
     * max_block kept them apart: a short walk). */
    block *b = err ? NULL : first_block(t[i].start);
    size_t span = 0;
    for (; b && bsize(h, b); b = bnext(h, b)) {
        if (!(b->size & F_FREE)) {
            err = KH_EBUSY;
            break;
        }
        span += bsize(h, b);
    }
    if (!err) {
        for (b = first_block(t[i].start); bsize(h, b); b = bnext(h, b)) list_remove(h, b);
        fold_marks(h);
        h->total -= span;
        h->given -= bytes;
        table_move(t + i, t + i + 1, n - i - 1);
        h->nregions--;
        own_bounds(h);
        /* The memory is the caller's again. */
        ASAN_UNPOISON(mem, bytes);
#if KH_CONFIG_VALGRIND
        VALGRIND_MAKE_MEM_UNDEFINED(mem, bytes);
#endif
    }
    VG_LEAVE();
    if (err == KH_EBUSY) kh_report(KH_EBUSY, "kheap: region still has live blocks", mem);
    if (err == KH_EINVAL) kh_report(KH_EINVAL, "kheap: not a region of this heap", mem);
    return !err;
}

/* ---- Settings -------------------------------------------------------------- */

NOSAN bool kheap_set_policy(kheap *h, unsigned policy)
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

NOSAN bool kheap_set_source(kheap *h, const struct kh_source *src)
{
    if (!h) return false;
#if KH_HEAP_FULL
    if (src && (!src->ops || !src->ops->grow)) {
        kh_report(KH_EINVAL, "kheap: memory source without a grow function", h);
        return false;
    }
    if (src)
        h->source = *src;
    else
        h->source.ctx = NULL, h->source.ops = NULL;
    h->grow = src ? alloc_grow : NULL;
    return true;
#else
    /* No growth in the minimal build: attaching a source is refused (and
     * no source stays attached); detaching is a no-op. */
    if (!src) return true;
    kh_report(KH_EINVAL, "kheap: no memory sources in a KH_HEAP_FULL=0 build", h);
    return false;
#endif
}

NOSAN bool kheap_set_hardening(kheap *h, unsigned lvl)
{
    if (!h) return false;
    if (lvl > LEVEL_MAX) {
        kh_report(KH_EINVAL, "kheap: hardening level above the compiled one", h);
        return false;
    }
    if (h->allocations) {
        kh_report(KH_EBUSY, "kheap: hardening level changed with live blocks", h);
        return false;
    }
#if LEVEL_MAX
    VG_ENTER();
    if (LEVEL_MAX >= 2 && lvl >= 2 && h->level < 2) {
        /* Free memory was not poisoned below level 2. */
        for (size_t i = 0; i < h->nregions; i++)
            for (block *b = first_block(h->regions[i].start); bsize(h, b); b = bnext(h, b))
                poison((char *)b + 2 * GRAIN, (char *)bnext(h, b));
    }
    h->level = lvl;
    VG_LEAVE();
#endif
    return true;
}

NOSAN bool kheap_set_secret(kheap *h, uint64_t entropy)
{
    if (!h) return false;
    if (h->allocations) {
        kh_report(KH_EBUSY, "kheap: secret changed with live blocks", h);
        return false;
    }
#if LEVEL_MAX
    VG_ENTER();
    /* Fold the 64 bits into the word, mixed with the secret so far. */
    size_t e = (size_t)entropy ^ (size_t)(entropy >> 16 >> 16);
    set_secret(h, mix(e ^ mix(h->tag_mul ^ (h->tag_add << 1))));
    retag_all(h);
    VG_LEAVE();
#else
    (void)entropy;
#endif
    return true;
}

NOSAN bool kheap_set_trace(kheap *h, const struct kheap_trace *trace)
{
    if (!h) return false;
#if KH_HEAP_TRACE
    if (trace)
        h->trace = *trace;
    else
        memset(&h->trace, 0, sizeof(h->trace));
    return true;
#else
    (void)trace;
    kh_report(KH_EINVAL, "kheap: trace hooks not compiled in (KH_HEAP_TRACE=0)", h);
    return false;
#endif
}

/* ---- Queries --------------------------------------------------------------- */

NOSAN void kheap_stats(const kheap *h, struct kheap_stats *out)
{
    if (!out) return;
    memset(out, 0, sizeof(*out));
    if (!h) return;
    VG_ENTER();
    out->total_bytes = h->total;
    out->free_bytes = h->total - h->used;
    out->used_bytes = h->used;
    out->peak_used_bytes = h->peak_used > h->peak_before ? h->peak_used : h->peak_before;
    out->min_free_bytes = h->total - h->peak_used;
    if (h->min_free_before < out->min_free_bytes) out->min_free_bytes = h->min_free_before;
    out->free_blocks = h->free_blocks;
    out->allocations = h->allocations;
    out->failed_allocations = h->failed;
    out->largest_request = h->largest_request;
    out->regions = h->nregions;
    out->max_regions = h->region_cap;
    out->overhead_bytes = h->given - h->total;
    out->max_block = h->max_block;
    out->hardening = level(h);
    out->check_bits = level(h) ? check_bits(h->nfl) : 0;
    if (h->fl_bitmap) {
        unsigned fl = log2_floor(h->fl_bitmap);
        unsigned c = (fl << SL_LOG2) | log2_floor(h->sl[fl]);
        /* The head of the top non-empty class: approximate, O(1). */
        size_t s = bsize(h, h->heads[c]);
        out->largest_free_block = s - WORD;
        if (LEVEL_MAX >= 2 && level(h) >= 2) out->largest_free_block = s - 2 * WORD - 1;
    }
    VG_LEAVE();
}

NOSAN void kheap_walk(const kheap *h, kheap_walk_fn fn, void *ctx)
{
    if (!h || !fn) return;
    for (size_t i = 0; i < h->nregions; i++) {
        for (block *b = first_block(h->regions[i].start); bsize(h, b); b = bnext(h, b)) {
            fn(payload(b), bsize(h, b) - WORD, !(b->size & F_FREE), ctx);
        }
    }
}

NOSAN static int check_impl(const kheap *h)
{
    /* The region table: sorted, disjoint, within bounds. */
    if (h->nregions > h->region_cap || h->region_cap > KH_HEAP_MAX_REGIONS) return KH_EHEAP_BLOCK;
    for (size_t i = 1; i < h->nregions; i++)
        if (h->regions[i - 1].end > h->regions[i].start) return KH_EHEAP_BLOCK;
    /* Counters count down to 0 over the blocks. */
    size_t total = h->total, used = h->used, nused = h->allocations, nfree = 0;
    bool l2 = LEVEL_MAX >= 2 && level(h) >= 2;
    for (size_t i = 0; i < h->nregions; i++) {
        const struct heap_region *r = &h->regions[i];
        const block *prev = NULL, *b = first_block(r->start), *end = end_marker(r->end);
        for (size_t pf = 0;; pf = (prev->size & F_FREE) << 1) {
            /* Every header lies inside the region and carries its tag; the
             * walk ends exactly at the end marker (used, size 0). */
            if (b > end || !tag_ok(h, b)) return KH_EHEAP_BLOCK;
            if ((b->size & F_PREV_FREE) != pf || (pf && b->prev_phys != prev))
                return KH_EHEAP_FLAGS;
            if (b == end) {
                if (b->size & smask(h) & ~F_PREV_FREE) return KH_EHEAP_BLOCK;
                if (b->size & F_FREE) return KH_EHEAP_BLOCK;
                break;
            }
            size_t s = bsize(h, b);
            if (s < MIN_BLOCK || s > h->max_block) return KH_EHEAP_BLOCK;
            if (b == h->table_block) {
                if (b->size & F_FREE) return KH_EHEAP_BLOCK;
                total += s; /* overhead: not counted in total */
            } else if (b->size & F_FREE) {
                if (pf && bsize(h, prev) + s <= h->max_block) return KH_EHEAP_ADJ;
                if (l2 && !poisoned((const char *)b + 2 * GRAIN, (const char *)b + s))
                    return KH_EHEAP_POISON;
                nfree++;
            } else {
                if (l2 && canary_size(h, b) == (size_t)-1) return KH_EHEAP_CANARY;
                used -= s;
                nused--;
            }
            total -= s;
            prev = b;
            b = bnext(h, b);
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
            if (!(b->size & F_FREE) || class_of(bsize(h, b)) != c || b->prev_free != p || !nfree--)
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

NOSAN int kheap_check(const kheap *h)
{
    if (!h) return KH_EINVAL;
    VG_ENTER();
    int r = check_impl(h);
    VG_LEAVE();
    return r;
}

/* ---- Sizing ---------------------------------------------------------------- */

/* Region bytes needed at a start address r (mod GRAIN) for one minimum
 * block: first block at the next GRAIN boundary, end marker 2W before the
 * end, rounded down. */
static size_t region_need(size_t r)
{
    return r ? GRAIN - r + MIN_BLOCK + 2 * WORD : MIN_BLOCK + 2 * WORD;
}

size_t kheap_min_region_bytes(void)
{
    return region_need(1);
}

size_t kheap_min_init_bytes(size_t max_block)
{
    size_t mb = max_block, need = 0;
    for (int iter = 0; iter < 4; iter++) {
        size_t ctl = ctl_bytes(nfl_for(mb));
        need = 0;
        for (size_t o = 0; o < GRAIN; o++) {
            size_t skip = (WORD - o % WORD) % WORD;
            size_t n = skip + ctl + region_need((o + skip + ctl) % GRAIN);
            if (n > need) need = n;
        }
        if (need <= mb) break;
        mb = need; /* kheap_init_ex sizes the index for max(bytes, max_block) */
    }
    return need;
}

NOSAN size_t kheap_block_bytes(const kheap *h, size_t n)
{
    size_t s = adjust(h, n);
    return h && s > h->max_block ? 0 : s;
}

size_t kheap_max_alloc(size_t bytes)
{
    size_t ctl = ctl_bytes(nfl_for(bytes)), best = SIZE_MAX;
    for (size_t o = 0; o < GRAIN; o++) {
        size_t skip = (WORD - o % WORD) % WORD;
        if (bytes < skip + ctl) return 0;
        uintptr_t m = o + skip + ctl, e = o + bytes;
        size_t first = (m + GRAIN - 1) & ~(uintptr_t)(GRAIN - 1);
        size_t last = (e - 2 * WORD) & ~(uintptr_t)(GRAIN - 1);
        if (e < 2 * WORD || last < first + MIN_BLOCK) return 0;
        if (last - first < best) best = last - first;
    }
    /* One free block of best bytes (max_block covers it). Without the
     * fallback scan a request is rounded up to its class boundary first. */
    size_t u = best / GRAIN;
    if (!KH_HEAP_FALLBACK_SCAN && u >= SL_COUNT)
        best = (u >> (log2_floor(u) - SL_LOG2) << (log2_floor(u) - SL_LOG2)) * GRAIN;
    size_t over = WORD + (LEVEL_MAX >= 2 ? WORD + 1 : 0);
    return best - over;
}
