/* SPDX-License-Identifier: MIT */
/* kheap malloc drop-in: huge blocks, each its own mapping straight from the
 * kernel (unmapped on free, grown and shrunk with mremap), and the aligned
 * mappings segments are made of. See dropin.h for the layout. */
#if defined(KH_MALLOC_DROPIN) && KH_MALLOC_DROPIN

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "dropin.h"

static size_t page_size;
/* Huge mappings now, their peak, and calls: shared by all threads. */
static kh_atomic64_t huge_bytes, huge_peak, huge_allocs, huge_frees, huge_live;

size_t dropin_page_size(void)
{
    if (DROPIN_UNLIKELY(!page_size)) {
        long p = sysconf(_SC_PAGESIZE);
        page_size = p > 0 ? (size_t)p : 4096;
    }
    return page_size;
}

static void count_mapped(size_t add, size_t sub)
{
    int64_t now = kh_atomic64_add_return((int64_t)add - (int64_t)sub, &huge_bytes);
    int64_t peak = kh_atomic64_read(&huge_peak);
    while (now > peak && !kh_atomic64_try_cmpxchg(&huge_peak, &peak, now)) {
    }
}

void *dropin_map_aligned(size_t bytes, size_t align)
{
    size_t pg = dropin_page_size();
    if (align < pg) align = pg;
    if (bytes > SIZE_MAX - align) return NULL;
    char *raw =
        mmap(NULL, bytes + align - pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) return NULL;
    char *al = (char *)(((uintptr_t)raw + align - 1) & ~(uintptr_t)(align - 1));
    size_t head = (size_t)(al - raw), tail = align - pg - head;
    if (head) munmap(raw, head);
    if (tail) munmap(al + bytes, tail);
    return al;
}

void dropin_unmap(void *p, size_t bytes)
{
    munmap(p, bytes);
}

/* Payload offset from the mapping start for an alignment. */
static size_t huge_offset(size_t align)
{
    return align <= DROPIN_HDR ? DROPIN_HDR : align;
}

void *dropin_huge_alloc(size_t size, size_t align, int zero)
{
    (void)zero; /* fresh mappings read as zero */
    size_t pg = dropin_page_size(), off = huge_offset(align);
    size_t map_align = align > DROPIN_SEG ? align : DROPIN_SEG;
    if (align > SIZE_MAX / 4 || size > SIZE_MAX / 2 - off) goto nomem;
    size_t bytes = (off + size + pg - 1) & ~(pg - 1);
    char *base = dropin_map_aligned(bytes, map_align);
    if (!base) goto nomem;
    char *p = base + off;
    /* For alignments of a segment and more the header sits DROPIN_SEG below
     * the payload (see dropin_seg_of), still inside the mapping. */
    struct dropin_seg *s = dropin_seg_of(p);
    s->magic = DROPIN_MAGIC_HUGE;
    s->heap = NULL;
    s->map_base = base;
    s->map_bytes = bytes;
    s->usable = bytes - off;
    count_mapped(bytes, 0);
    kh_atomic64_inc(&huge_allocs);
    kh_atomic64_inc(&huge_live);
    return p;
nomem:
    errno = ENOMEM;
    return NULL;
}

void dropin_huge_free(struct dropin_seg *s)
{
    size_t bytes = s->map_bytes;
    munmap(s->map_base, bytes);
    count_mapped(0, bytes);
    kh_atomic64_inc(&huge_frees);
    kh_atomic64_dec(&huge_live);
}

size_t dropin_huge_usable(const struct dropin_seg *s)
{
    return s->usable;
}

/* Resize a huge block with the default alignment in place or by moving its
 * pages (no copy) to a new segment-aligned address. NULL (errno untouched)
 * when it cannot; the caller then allocates and copies. */
void *dropin_huge_realloc(struct dropin_seg *s, void *p, size_t size)
{
    size_t pg = dropin_page_size();
    if ((char *)p != (char *)s + DROPIN_HDR || s->map_base != (void *)s ||
        size > SIZE_MAX / 2 - DROPIN_HDR)
        return NULL;
    size_t old = s->map_bytes, bytes = (DROPIN_HDR + size + pg - 1) & ~(pg - 1);
    if (bytes <= old) {
        if (bytes < old) munmap((char *)s + bytes, old - bytes);
        count_mapped(0, old - bytes);
    } else if (mremap(s, old, bytes, 0) != MAP_FAILED) {
        count_mapped(bytes - old, 0);
    } else {
        void *to = dropin_map_aligned(bytes, DROPIN_SEG);
        if (!to) return NULL;
        void *moved = mremap(s, old, bytes, MREMAP_MAYMOVE | MREMAP_FIXED, to);
        if (moved == MAP_FAILED) {
            munmap(to, bytes);
            return NULL;
        }
        s = moved;
        count_mapped(bytes - old, 0);
    }
    s->map_base = s;
    s->map_bytes = bytes;
    s->usable = bytes - DROPIN_HDR;
    return (char *)s + DROPIN_HDR;
}

void dropin_huge_totals(struct dropin_totals *t)
{
    int64_t live = kh_atomic64_read(&huge_live);
    int64_t mapped = kh_atomic64_read(&huge_bytes);
    t->huge_allocs += (size_t)kh_atomic64_read(&huge_allocs);
    t->huge_live += live > 0 ? (size_t)live : 0;
    t->blocks += live > 0 ? (size_t)live : 0;
    t->used += mapped > 0 ? (size_t)mapped : 0;
    t->os_bytes += mapped > 0 ? (size_t)mapped : 0;
    t->os_peak += (size_t)kh_atomic64_read(&huge_peak);
    t->peak_used += (size_t)kh_atomic64_read(&huge_peak);
}

#else
typedef int kh_dropin_huge_unused; /* built only for libkheap-malloc.so */
#endif
