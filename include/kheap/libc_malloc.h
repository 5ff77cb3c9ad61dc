/* SPDX-License-Identifier: MIT */
/* kheap as the malloc of a firmware's C library (newlib or picolibc).
 *
 * Add src/integration/libc_heap.c and, for newlib, src/integration/newlib.c
 * compiled with -DKH_MALLOC_NEWLIB=1 (or, for picolibc,
 * src/integration/picolibc.c with -DKH_MALLOC_PICOLIBC=1) to the firmware
 * with the library sources. They define every allocation entry point of that
 * C library, so the linker takes none of its own allocator, and the C
 * library's internal allocations (stdio buffers and FILEs, printf's %f
 * conversions, strdup) come from one kheap core heap:
 *   newlib    malloc free calloc realloc memalign valloc pvalloc
 *             malloc_usable_size aligned_alloc posix_memalign reallocarray
 *             reallocf cfree mallinfo mallopt malloc_stats malloc_trim, and
 *             the reentrant _malloc_r _free_r _calloc_r _realloc_r
 *             _memalign_r _valloc_r _pvalloc_r _malloc_usable_size_r
 *             _mallinfo_r _mallopt_r _malloc_stats_r _malloc_trim_r
 *   picolibc  the same plain names (picolibc has no _r entry points)
 *
 * Memory: the heap is made on the first allocation over the RAM between the
 * linker symbols __heap_start and __heap_end (picolibc's picolibc.ld defines
 * them; give your newlib linker script the two lines), no _sbrk involved.
 * Other symbol names: -DKH_LIBC_HEAP_START=my_start -DKH_LIBC_HEAP_END=my_end.
 * Or hand it memory yourself with kh_libc_malloc_init() before the first
 * allocation. Without either, every allocation fails with ENOMEM.
 *
 * Locking: every entry point runs under the C library's own malloc lock, so
 * an RTOS fills the usual hook and kheap is thread-safe:
 *   newlib    __malloc_lock(struct _reent *) / __malloc_unlock(...): define
 *             them (newlib's defaults in libc.a do nothing, or take its
 *             retargetable lock where newlib was built with one)
 *   picolibc  its retargetable locks: __retarget_lock_acquire_recursive /
 *             __retarget_lock_release_recursive on
 *             __lock___libc_recursive_mutex (the lock all of picolibc uses)
 *
 * Semantics: as the C library's own: errno ENOMEM on failure, calloc and
 * reallocarray overflow-checked (ENOMEM), realloc(p, 0) frees p and returns
 * NULL, malloc(0) a unique block, aligned_alloc and posix_memalign refuse an
 * alignment that is not a power of two (EINVAL), memalign rounds one up.
 * A pointer kheap did not hand out is refused by the core heap's checks
 * (KH_CONFIG_CHECKS builds), reported through kh_report().
 */
#ifndef KHEAP_LIBC_MALLOC_H
#define KHEAP_LIBC_MALLOC_H

#include <stdbool.h>
#include <stddef.h>

#include "kheap/heap.h"

#ifdef __cplusplus
extern "C" {
#endif

struct kh_libc_malloc_stats {
    struct kheap_stats heap; /* the core heap's statistics */
    size_t mallocs;          /* successful allocations, every entry point */
    size_t frees;            /* blocks freed (also by realloc(p, 0)) */
    size_t reallocs;         /* realloc calls on a block */
    size_t failures;         /* allocations that returned NULL */
};

/* Use [mem, mem + bytes) as the heap instead of the linker symbols. Only
 * before the first allocation: false (nothing changed) once the heap exists,
 * or when the memory cannot hold a heap. */
bool kh_libc_malloc_init(void *mem, size_t bytes);

/* The heap (made now if need be), e.g. for kheap_check or kheap_walk under
 * the C library's malloc lock. NULL when there is no memory for it. */
kheap *kh_libc_malloc_heap(void);

/* Statistics, taken under the C library's malloc lock. */
void kh_libc_malloc_stats(struct kh_libc_malloc_stats *out);

#ifdef __cplusplus
}
#endif

#endif /* KHEAP_LIBC_MALLOC_H */
