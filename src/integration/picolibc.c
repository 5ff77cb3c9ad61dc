/* SPDX-License-Identifier: MIT */
/* kheap as picolibc's malloc: picolibc's allocation entry points (plain
 * names only: picolibc has no _r variants) over libc_heap.c, each under
 * picolibc's own C library lock (__LIBC_LOCK: the retargetable recursive
 * lock __lock___libc_recursive_mutex, which an RTOS implements). See
 * kheap/libc_malloc.h. Compiled only with -DKH_MALLOC_PICOLIBC=1 and
 * picolibc's headers; empty otherwise. */
#if defined(KH_MALLOC_PICOLIBC) && KH_MALLOC_PICOLIBC

#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/lock.h>

#include "libc_glue.h"

#if !defined(__PICOLIBC__)
#error "src/integration/picolibc.c is for picolibc; newlib has src/integration/newlib.c"
#endif

void kh_libc_lock(void)
{
    __LIBC_LOCK();
}

void kh_libc_unlock(void)
{
    __LIBC_UNLOCK();
}

#define LOCKED_ALLOC(expr)                                                                         \
    do {                                                                                           \
        int err_ = 0;                                                                              \
        __LIBC_LOCK();                                                                             \
        void *p_ = (expr);                                                                         \
        __LIBC_UNLOCK();                                                                           \
        if (err_) errno = err_;                                                                    \
        return p_;                                                                                 \
    } while (0)

void *malloc(size_t n)
{
    LOCKED_ALLOC(kh_libc_alloc(n, 0, &err_));
}

void *calloc(size_t n, size_t size)
{
    LOCKED_ALLOC(kh_libc_calloc(n, size, &err_));
}

void *realloc(void *p, size_t n)
{
    LOCKED_ALLOC(kh_libc_realloc(p, n, &err_));
}

void free(void *p)
{
    if (!p) return;
    __LIBC_LOCK();
    kh_libc_free(p);
    __LIBC_UNLOCK();
}

void cfree(void *p)
{
    free(p);
}

void *memalign(size_t align, size_t n)
{
    align = kh_libc_round_align(align);
    if (!align) {
        errno = EINVAL;
        return NULL;
    }
    LOCKED_ALLOC(kh_libc_alloc(n, align, &err_));
}

void *aligned_alloc(size_t align, size_t n)
{
    if (align == 0 || (align & (align - 1))) {
        errno = EINVAL;
        return NULL;
    }
    return memalign(align, n);
}

int posix_memalign(void **out, size_t align, size_t n)
{
    if (align == 0 || (align & (align - 1)) || align % sizeof(void *)) return EINVAL;
    int saved = errno;
    void *p = memalign(align, n);
    errno = saved;
    if (!p) return ENOMEM;
    *out = p;
    return 0;
}

void *valloc(size_t n)
{
    return memalign(kh_libc_page_size(), n);
}

void *pvalloc(size_t n)
{
    size_t pg = kh_libc_page_size();
    if (n > SIZE_MAX - (pg - 1)) {
        errno = ENOMEM;
        return NULL;
    }
    return memalign(pg, (n + pg - 1) & ~(pg - 1));
}

void *reallocarray(void *p, size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size) {
        errno = ENOMEM;
        return NULL;
    }
    return realloc(p, n * size);
}

void *reallocf(void *p, size_t n)
{
    void *q = realloc(p, n);
    if (!q && n) free(p);
    return q;
}

size_t malloc_usable_size(void *p)
{
    __LIBC_LOCK();
    size_t n = kh_libc_usable(p);
    __LIBC_UNLOCK();
    return n;
}

struct mallinfo mallinfo(void)
{
    struct kh_libc_malloc_stats st;
    kh_libc_malloc_stats(&st);
    struct mallinfo mi = {0};
    mi.arena = st.heap.total_bytes + st.heap.overhead_bytes;
    mi.ordblks = st.heap.free_blocks;
    mi.uordblks = st.heap.used_bytes;
    mi.fordblks = st.heap.free_bytes;
    return mi;
}

void malloc_stats(void)
{
    struct kh_libc_malloc_stats st;
    kh_libc_malloc_stats(&st);
    fprintf(stderr, "kheap: heap %lu bytes, in use %lu (peak %lu), free %lu in %lu blocks\n",
            (unsigned long)st.heap.total_bytes, (unsigned long)st.heap.used_bytes,
            (unsigned long)st.heap.peak_used_bytes, (unsigned long)st.heap.free_bytes,
            (unsigned long)st.heap.free_blocks);
}

/* No tunables (0: unsupported). */
int mallopt(int option, int value)
{
    (void)option, (void)value;
    return 0;
}

#else
typedef int kh_picolibc_unused; /* only with -DKH_MALLOC_PICOLIBC=1 */
#endif
