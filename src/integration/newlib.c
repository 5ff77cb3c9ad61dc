/* SPDX-License-Identifier: MIT */
/* kheap as newlib's malloc: every allocation entry point of newlib, plain and
 * reentrant, over libc_heap.c, each under newlib's malloc lock hook
 * (__malloc_lock / __malloc_unlock, which an RTOS defines). See
 * kheap/libc_malloc.h. Compiled only with -DKH_MALLOC_NEWLIB=1 and newlib's
 * headers; empty otherwise. */
#if defined(KH_MALLOC_NEWLIB) && KH_MALLOC_NEWLIB

#include <errno.h>
#include <malloc.h>
#include <reent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "libc_glue.h"

#if !defined(_NEWLIB_VERSION) || defined(__PICOLIBC__)
#error "src/integration/newlib.c is for newlib; picolibc has src/integration/picolibc.c"
#endif

void kh_libc_lock(void)
{
    __malloc_lock(_REENT);
}

void kh_libc_unlock(void)
{
    __malloc_unlock(_REENT);
}

/* Run an allocation under the lock; a failure sets r's errno. */
#define LOCKED_ALLOC(r, expr)                                                                      \
    do {                                                                                           \
        int err_ = 0;                                                                              \
        __malloc_lock(r);                                                                          \
        void *p_ = (expr);                                                                         \
        __malloc_unlock(r);                                                                        \
        if (err_) (r)->_errno = err_;                                                              \
        return p_;                                                                                 \
    } while (0)

void *_malloc_r(struct _reent *r, size_t n)
{
    LOCKED_ALLOC(r, kh_libc_alloc(n, 0, &err_));
}

void *_calloc_r(struct _reent *r, size_t n, size_t size)
{
    LOCKED_ALLOC(r, kh_libc_calloc(n, size, &err_));
}

void *_realloc_r(struct _reent *r, void *p, size_t n)
{
    LOCKED_ALLOC(r, kh_libc_realloc(p, n, &err_));
}

void _free_r(struct _reent *r, void *p)
{
    if (!p) return;
    __malloc_lock(r);
    kh_libc_free(p);
    __malloc_unlock(r);
}

void _cfree_r(struct _reent *r, void *p)
{
    _free_r(r, p);
}

void *_memalign_r(struct _reent *r, size_t align, size_t n)
{
    align = kh_libc_round_align(align);
    if (!align) {
        r->_errno = EINVAL;
        return NULL;
    }
    LOCKED_ALLOC(r, kh_libc_alloc(n, align, &err_));
}

void *_valloc_r(struct _reent *r, size_t n)
{
    return _memalign_r(r, kh_libc_page_size(), n);
}

void *_pvalloc_r(struct _reent *r, size_t n)
{
    size_t pg = kh_libc_page_size();
    if (n > SIZE_MAX - (pg - 1)) {
        r->_errno = ENOMEM;
        return NULL;
    }
    return _memalign_r(r, pg, (n + pg - 1) & ~(pg - 1));
}

size_t _malloc_usable_size_r(struct _reent *r, void *p)
{
    __malloc_lock(r);
    size_t n = kh_libc_usable(p);
    __malloc_unlock(r);
    return n;
}

struct mallinfo _mallinfo_r(struct _reent *r)
{
    (void)r;
    struct kh_libc_malloc_stats st;
    kh_libc_malloc_stats(&st);
    struct mallinfo mi = {0};
    mi.arena = st.heap.total_bytes + st.heap.overhead_bytes;
    mi.ordblks = st.heap.free_blocks;
    mi.uordblks = st.heap.used_bytes;
    mi.fordblks = st.heap.free_bytes;
    return mi;
}

void _malloc_stats_r(struct _reent *r)
{
    (void)r;
    struct kh_libc_malloc_stats st;
    kh_libc_malloc_stats(&st);
    fprintf(stderr, "kheap: heap %lu bytes, in use %lu (peak %lu), free %lu in %lu blocks\n",
            (unsigned long)st.heap.total_bytes, (unsigned long)st.heap.used_bytes,
            (unsigned long)st.heap.peak_used_bytes, (unsigned long)st.heap.free_bytes,
            (unsigned long)st.heap.free_blocks);
}

/* No tunables: mallopt reports every option unsupported (0), malloc_trim
 * has nothing to give back (the heap is the RAM between the symbols). */
int _mallopt_r(struct _reent *r, int option, int value)
{
    (void)r, (void)option, (void)value;
    return 0;
}

int _malloc_trim_r(struct _reent *r, size_t pad)
{
    (void)r, (void)pad;
    return 0;
}

/* --- The plain names: the reentrant ones on the current thread's _reent. */

void *malloc(size_t n)
{
    return _malloc_r(_REENT, n);
}

void free(void *p)
{
    _free_r(_REENT, p);
}

void cfree(void *p)
{
    _free_r(_REENT, p);
}

void *calloc(size_t n, size_t size)
{
    return _calloc_r(_REENT, n, size);
}

void *realloc(void *p, size_t n)
{
    return _realloc_r(_REENT, p, n);
}

/* realloc that frees p when it fails (BSD). */
void *reallocf(void *p, size_t n)
{
    void *q = _realloc_r(_REENT, p, n);
    if (!q && n) _free_r(_REENT, p);
    return q;
}

void *reallocarray(void *p, size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size) {
        errno = ENOMEM;
        return NULL;
    }
    return _realloc_r(_REENT, p, n * size);
}

void *memalign(size_t align, size_t n)
{
    return _memalign_r(_REENT, align, n);
}

void *aligned_alloc(size_t align, size_t n)
{
    if (align == 0 || (align & (align - 1))) {
        errno = EINVAL;
        return NULL;
    }
    return _memalign_r(_REENT, align, n);
}

int posix_memalign(void **out, size_t align, size_t n)
{
    if (align == 0 || (align & (align - 1)) || align % sizeof(void *)) return EINVAL;
    int saved = errno;
    void *p = _memalign_r(_REENT, align, n);
    errno = saved;
    if (!p) return ENOMEM;
    *out = p;
    return 0;
}

void *valloc(size_t n)
{
    return _valloc_r(_REENT, n);
}

void *pvalloc(size_t n)
{
    return _pvalloc_r(_REENT, n);
}

size_t malloc_usable_size(void *p)
{
    return _malloc_usable_size_r(_REENT, p);
}

struct mallinfo mallinfo(void)
{
    return _mallinfo_r(_REENT);
}

void malloc_stats(void)
{
    _malloc_stats_r(_REENT);
}

int mallopt(int option, int value)
{
    return _mallopt_r(_REENT, option, value);
}

int malloc_trim(size_t pad)
{
    return _malloc_trim_r(_REENT, pad);
}

#else
typedef int kh_newlib_unused; /* only with -DKH_MALLOC_NEWLIB=1 */
#endif
