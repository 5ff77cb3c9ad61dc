/* SPDX-License-Identifier: MIT */
/* kheap malloc drop-in: the C library's allocation functions (malloc, free,
 * calloc, realloc, reallocarray, memalign, posix_memalign, aligned_alloc,
 * valloc, pvalloc, malloc_usable_size) over per-thread kheap core heaps.
 * Built as build/lib/libkheap-malloc.so (make malloc), used with LD_PRELOAD
 * or by linking. Semantics are glibc's, listed at each function; dropin.h
 * describes the memory layout, dropin_heap.c the threads. */
#if defined(KH_MALLOC_DROPIN) && KH_MALLOC_DROPIN

#include <errno.h>
#include <string.h>

#include "dropin.h"
#include "kheap/malloc_dropin.h"

/* Relaxed increment of a counter only its heap's owner writes. */
static inline void count(kh_atomic64_t *c)
{
    kh_atomic64_set(c, kh_atomic64_read(c) + 1);
}

/* Front cache bin of a request (n <= DROPIN_CACHE_MAX) and of a block's
 * usable size u (16k + 8, at least 24: the core heap's block sizes). */
static inline size_t bin_of_request(size_t n)
{
    return ((n < 24 ? 24 : n) + 23) / 16 - 2;
}
static inline size_t bin_of_usable(size_t u)
{
    return (u + 8) / 16 - 2;
}

/* The calling thread's heap; NULL with errno ENOMEM when none can be made
 * (no memory can be mapped). */
static inline struct dropin_heap *my_heap(void)
{
    struct dropin_heap *h = dropin_tl_heap;
    if (DROPIN_LIKELY(h != NULL)) return h;
    h = dropin_heap_acquire();
    if (!h) errno = ENOMEM;
    return h;
}

/* A block from heap h (the caller's own) for n < DROPIN_HUGE_MIN bytes. */
static inline void *heap_alloc(struct dropin_heap *h, size_t n, size_t align)
{
    if (align == 0 && n <= DROPIN_CACHE_MAX) {
        size_t b = bin_of_request(n);
        void *p = h->cache[b];
        if (p) {
            h->cache[b] = *(void **)p;
            h->cache_len[b]--;
            h->cache_bytes -= 16 * (b + 2);
            return p;
        }
    }
    if (kh_atomic_ptr_read(&h->xfree)) dropin_heap_drain(h);
    dropin_lock(h);
    void *p = kheap_alloc(h->kh, n, align);
    dropin_unlock(h);
    if (DROPIN_UNLIKELY(!p)) errno = ENOMEM;
    return p;
}

/* Give a block of the caller's own heap back: to the front cache when it is
 * small and the bin has room, else to the core heap. */
static inline void heap_release(struct dropin_heap *h, void *p)
{
    if (!h->cache_on) {
        dropin_lock(h);
        kheap_free(h->kh, p);
        dropin_unlock(h);
        if (DROPIN_UNLIKELY(++h->trim_tick >= DROPIN_TRIM_INTERVAL)) dropin_heap_maybe_trim(h);
        return;
    }
    size_t u = kheap_usable_size(h->kh, p);
    if (u <= DROPIN_CACHE_MAX) {
        size_t b = bin_of_usable(u);
        if (h->cache_len[b] < DROPIN_CACHE_COUNT && h->cache_bytes + u + 8 <= DROPIN_CACHE_BYTES) {
            *(void **)p = h->cache[b];
            h->cache[b] = p;
            h->cache_len[b]++;
            h->cache_bytes += u + 8;
            return;
        }
    }
    kheap_free(h->kh, p);
    if (DROPIN_UNLIKELY(++h->trim_tick >= DROPIN_TRIM_INTERVAL)) dropin_heap_maybe_trim(h);
}

static inline bool is_huge_request(size_t n, size_t align)
{
    return n >= DROPIN_HUGE_MIN || align >= DROPIN_HUGE_MIN || n + align >= DROPIN_HUGE_MIN;
}

/* n bytes aligned to align (0 or a power of two above 16), counted by the
 * caller. */
static void *alloc_any(struct dropin_heap *h, size_t n, size_t align)
{
    if (DROPIN_UNLIKELY(is_huge_request(n, align))) return dropin_huge_alloc(n, align, 0);
    return heap_alloc(h, n, align);
}

static void *do_malloc(size_t n)
{
    struct dropin_heap *h = my_heap();
    if (DROPIN_UNLIKELY(!h)) return NULL;
    count(&h->n.mallocs);
    if (DROPIN_LIKELY(n < DROPIN_HUGE_MIN)) return heap_alloc(h, n, 0);
    return dropin_huge_alloc(n, 0, 0);
}

/* A block that is not in the caller's heap (or the caller has none). */
static DROPIN_NOINLINE void free_other(struct dropin_seg *s, void *p)
{
    if (s->magic == DROPIN_MAGIC_HUGE) {
        dropin_huge_free(s);
    } else if (s->magic == DROPIN_MAGIC_HEAP && s->heap) {
        dropin_heap_free_remote(s->heap, p);
    } else {
        dropin_fatal("free(): pointer not from this allocator", p);
    }
}

static inline void do_free(void *p)
{
    if (!p) return;
    struct dropin_seg *s = dropin_seg_of(p);
    struct dropin_heap *h = dropin_tl_heap;
    if (DROPIN_LIKELY(h && s->heap == h && s->magic == DROPIN_MAGIC_HEAP)) {
        count(&h->n.frees);
        heap_release(h, p);
        return;
    }
    if (h)
        count(&h->n.frees);
    else
        dropin_count_heapless_free();
    free_other(s, p);
}

/* Usable bytes of a live block of any thread (the size bits of a used
 * block's header do not change while it is allocated). */
static size_t usable_of(struct dropin_seg *s, void *p)
{
    if (s->magic == DROPIN_MAGIC_HUGE) return dropin_huge_usable(s);
    if (s->magic != DROPIN_MAGIC_HEAP || !s->heap)
        dropin_fatal("pointer not from this allocator", p);
    struct dropin_heap *h = s->heap;
    dropin_lock(h);
    size_t u = kheap_usable_size(h->kh, p);
    dropin_unlock(h);
    return u;
}

/* The aligned allocation every aligned entry point ends in: align is a power
 * of two. */
static void *do_aligned(size_t align, size_t n)
{
    struct dropin_heap *h = my_heap();
    if (DROPIN_UNLIKELY(!h)) return NULL;
    count(&h->n.aligned);
    return alloc_any(h, n, align <= 16 ? 0 : align);
}

DROPIN_API void *malloc(size_t n)
{
    return do_malloc(n);
}

DROPIN_API void free(void *p)
{
    do_free(p);
}

/* Overflow of n * size: ENOMEM. Heap blocks are zeroed here; huge blocks are
 * fresh mappings, already zero. */
DROPIN_API void *calloc(size_t n, size_t size)
{
    size_t total;
    if (DROPIN_UNLIKELY(__builtin_mul_overflow(n, size, &total))) {
        errno = ENOMEM;
        return NULL;
    }
    struct dropin_heap *h = my_heap();
    if (DROPIN_UNLIKELY(!h)) return NULL;
    count(&h->n.callocs);
    if (DROPIN_UNLIKELY(total >= DROPIN_HUGE_MIN)) return dropin_huge_alloc(total, 0, 1);
    void *p = heap_alloc(h, total, 0);
    if (p) memset(p, 0, total);
    return p;
}

/* As glibc: realloc(NULL, n) is malloc(n); realloc(p, 0) frees p and returns
 * NULL; on failure NULL with errno ENOMEM and p untouched. The block stays
 * in place when it can (core heap: kheap_realloc grows into free
 * neighbours; huge: mremap). */
DROPIN_API void *realloc(void *p, size_t n)
{
    if (!p) return do_malloc(n);
    if (n == 0) {
        do_free(p);
        return NULL;
    }
    struct dropin_heap *h = my_heap();
    if (DROPIN_UNLIKELY(!h)) return NULL;
    count(&h->n.reallocs);
    struct dropin_seg *s = dropin_seg_of(p);
    size_t have;
    if (s->magic == DROPIN_MAGIC_HUGE) {
        if (n >= DROPIN_HUGE_MIN / 2) {
            void *q = dropin_huge_realloc(s, p, n);
            if (q) return q;
        }
        have = dropin_huge_usable(s);
    } else if (s->magic == DROPIN_MAGIC_HEAP && s->heap == h) {
        if (n < DROPIN_HUGE_MIN) {
            if (kh_atomic_ptr_read(&h->xfree)) dropin_heap_drain(h);
            dropin_lock(h);
            void *q = kheap_realloc(h->kh, p, n, 0);
            dropin_unlock(h);
            if (!q) errno = ENOMEM;
            return q;
        }
        have = usable_of(s, p);
    } else {
        /* Another thread's block: keep it when it still fits well, else
         * move it into this thread's heap. */
        have = usable_of(s, p);
        if (n <= have && n >= have / 2) return p;
    }
    void *q = alloc_any(h, n, 0);
    if (!q) return NULL;
    memcpy(q, p, have < n ? have : n);
    if (s->magic == DROPIN_MAGIC_HEAP && s->heap == h)
        heap_release(h, p);
    else
        free_other(s, p);
    return q;
}

/* n * size overflowing: NULL with errno ENOMEM, p untouched. Otherwise
 * realloc(p, n * size), so a zero product frees p as realloc does. */
DROPIN_API void *reallocarray(void *p, size_t n, size_t size)
{
    size_t total;
    if (__builtin_mul_overflow(n, size, &total)) {
        errno = ENOMEM;
        return NULL;
    }
    return realloc(p, total);
}

/* As glibc: alignments up to 16 are malloc's; an alignment above
 * SIZE_MAX / 2 + 1 is EINVAL; one that is not a power of two is rounded up
 * to the next power of two. */
DROPIN_API void *memalign(size_t align, size_t n)
{
    if (align > SIZE_MAX / 2 + 1) {
        errno = EINVAL;
        return NULL;
    }
    if (align & (align - 1)) {
        size_t a = 32;
        while (a < align) a <<= 1;
        align = a;
    }
    return do_aligned(align, n);
}

/* C17: an alignment that is not a power of two (0 included) is EINVAL. */
DROPIN_API void *aligned_alloc(size_t align, size_t n)
{
    if (align == 0 || (align & (align - 1))) {
        errno = EINVAL;
        return NULL;
    }
    return do_aligned(align, n);
}

/* POSIX: EINVAL (returned, *out untouched) unless align is a power of two
 * and a multiple of sizeof(void *); ENOMEM when out of memory. errno is
 * left as it was. */
DROPIN_API int posix_memalign(void **out, size_t align, size_t n)
{
    if (align == 0 || (align & (align - 1)) || (align % sizeof(void *)) != 0) return EINVAL;
    int saved = errno;
    void *p = do_aligned(align, n);
    errno = saved;
    if (!p) return ENOMEM;
    *out = p;
    return 0;
}

DROPIN_API void *valloc(size_t n)
{
    return do_aligned(dropin_page_size(), n);
}

/* valloc with the size rounded up to whole pages (overflow: ENOMEM). */
DROPIN_API void *pvalloc(size_t n)
{
    size_t pg = dropin_page_size();
    if (n > SIZE_MAX - (pg - 1)) {
        errno = ENOMEM;
        return NULL;
    }
    return do_aligned(pg, (n + pg - 1) & ~(pg - 1));
}

DROPIN_API size_t malloc_usable_size(void *p)
{
    if (!p) return 0;
    return usable_of(dropin_seg_of(p), p);
}

#else
typedef int kh_malloc_dropin_unused; /* built only for libkheap-malloc.so */
#endif
