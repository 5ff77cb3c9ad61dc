/* SPDX-License-Identifier: MIT */
/* kheap as a firmware C library's malloc: the heap over the linker's RAM
 * symbols, the allocation rules and the statistics that newlib.c and
 * picolibc.c share. Freestanding: only the core heap, memset and memcpy.
 * Built (with one of those two files) when KH_MALLOC_NEWLIB or
 * KH_MALLOC_PICOLIBC is set; empty otherwise, so library builds that pick up
 * every source are unaffected. */
#if (defined(KH_MALLOC_NEWLIB) && KH_MALLOC_NEWLIB) ||                                             \
    (defined(KH_MALLOC_PICOLIBC) && KH_MALLOC_PICOLIBC)

#include <stdint.h>

#include "internal/kh_string.h"
#include "libc_glue.h"

#ifndef KH_LIBC_HEAP_START
#define KH_LIBC_HEAP_START __heap_start
#endif
#ifndef KH_LIBC_HEAP_END
#define KH_LIBC_HEAP_END __heap_end
#endif
/* Weak: a firmware without them calls kh_libc_malloc_init instead. */
extern char KH_LIBC_HEAP_START[] __attribute__((weak));
extern char KH_LIBC_HEAP_END[] __attribute__((weak));

#define KH_LIBC_ENOMEM 12 /* errno values of newlib and picolibc */
#define KH_LIBC_EINVAL 22

static kheap *heap;
static int heap_tried;
static struct kh_libc_malloc_stats counts;

bool kh_libc_malloc_init(void *mem, size_t bytes)
{
    kh_libc_lock();
    bool ok = false;
    if (!heap) {
        heap = kheap_init(mem, bytes);
        ok = heap != NULL;
        heap_tried = ok;
    }
    kh_libc_unlock();
    return ok;
}

static kheap *get_heap(void)
{
    if (!heap && !heap_tried) {
        heap_tried = 1;
        char *s = KH_LIBC_HEAP_START, *e = KH_LIBC_HEAP_END;
        if (s && e > s) heap = kheap_init(s, (size_t)(e - s));
    }
    return heap;
}

kheap *kh_libc_malloc_heap(void)
{
    kh_libc_lock();
    kheap *h = get_heap();
    kh_libc_unlock();
    return h;
}

void kh_libc_malloc_stats(struct kh_libc_malloc_stats *out)
{
    kh_libc_lock();
    *out = counts;
    kheap_stats(get_heap(), &out->heap);
    kh_libc_unlock();
}

size_t kh_libc_page_size(void)
{
    return 4096; /* what valloc and pvalloc round to: both C libraries say 4096 */
}

size_t kh_libc_round_align(size_t align)
{
    if (align & (align - 1)) {
        size_t a = 1;
        while (a && a < align) a <<= 1;
        align = a; /* 0 when no power of two is that large: refused */
    }
    return align;
}

void *kh_libc_alloc(size_t size, size_t align, int *err)
{
    kheap *h = get_heap();
    void *p = h ? kheap_alloc(h, size, align) : NULL;
    if (p) {
        counts.mallocs++;
    } else {
        counts.failures++;
        *err = KH_LIBC_ENOMEM;
    }
    return p;
}

void *kh_libc_calloc(size_t n, size_t size, int *err)
{
    if (size && n > SIZE_MAX / size) {
        counts.failures++;
        *err = KH_LIBC_ENOMEM;
        return NULL;
    }
    void *p = kh_libc_alloc(n * size, 0, err);
    if (p) memset(p, 0, n * size);
    return p;
}

void kh_libc_free(void *p)
{
    if (!p) return;
    counts.frees++;
    kheap_free(heap, p);
}

void *kh_libc_realloc(void *p, size_t size, int *err)
{
    if (!p) return kh_libc_alloc(size, 0, err);
    if (size == 0) {
        kh_libc_free(p);
        return NULL;
    }
    counts.reallocs++;
    void *q = kheap_realloc(heap, p, size, 0);
    if (!q) {
        counts.failures++;
        *err = KH_LIBC_ENOMEM;
    }
    return q;
}

size_t kh_libc_usable(void *p)
{
    return p ? kheap_usable_size(heap, p) : 0;
}

#else
typedef int kh_libc_heap_unused; /* only with newlib.c or picolibc.c */
#endif
