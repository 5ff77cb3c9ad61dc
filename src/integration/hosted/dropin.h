/* SPDX-License-Identifier: MIT */
/* kheap's malloc drop-in: shared definitions of its parts (private).
 *
 * Memory layout. Every mapping the drop-in makes starts on a DROPIN_SEG
 * boundary with a struct dropin_seg header, so the header of any block is at
 * seg_of(ptr) = (ptr - 1) rounded down to DROPIN_SEG: an O(1) owner lookup
 * with no table.
 *  - Heap segments (DROPIN_SEG bytes) are regions of one thread heap's core
 *    kheap; their header names the heap. The first segment of a heap also
 *    holds the struct dropin_heap and the kheap control block.
 *  - Huge blocks (requests of DROPIN_HUGE_MIN bytes and more, or alignments
 *    that would not fit a segment) are mappings of their own, unmapped on
 *    free. The payload is less than DROPIN_SEG past the header, or exactly
 *    DROPIN_SEG past it for alignments of DROPIN_SEG and more, which the
 *    "ptr - 1" in seg_of() also covers.
 *
 * Threads. Each thread allocates from its own heap (found through an
 * initial-exec TLS pointer) without locks. A block freed by another thread
 * goes on its heap's lock-free list (xfree) and the owner frees it on its
 * next slow-path allocation. A heap whose thread exited goes to a pool and
 * the next thread that needs a heap takes it over, pending frees included.
 */
#ifndef KH_DROPIN_H
#define KH_DROPIN_H

#include <stddef.h>
#include <stdint.h>

#include "kheap/atomic.h"
#include "kheap/heap.h"
#include "kheap/sources.h"
#include "kheap/spinlock.h"

#if defined(__GNUC__)
#define DROPIN_API         __attribute__((visibility("default")))
#define DROPIN_LIKELY(x)   __builtin_expect(!!(x), 1)
#define DROPIN_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define DROPIN_NOINLINE    __attribute__((noinline))
#define DROPIN_TLS         __thread __attribute__((tls_model("initial-exec")))
#else
#error "the malloc drop-in needs GCC or Clang (visibility, initial-exec TLS)"
#endif

/* Segments: 16 MiB on 64-bit (address space is plentiful; pages are touched
 * only as the heap uses them), 1 MiB on 32-bit. Requests of a quarter
 * segment and more are huge. */
#if UINTPTR_MAX > 0xffffffffu
#define DROPIN_SEG_LOG2 24
#else
#define DROPIN_SEG_LOG2 20
#endif
#define DROPIN_SEG      ((size_t)1 << DROPIN_SEG_LOG2)
#define DROPIN_HUGE_MIN (DROPIN_SEG / 4)
/* Header of every mapping; also the payload offset of huge blocks with an
 * alignment up to it. A multiple of every alignment malloc must give. */
#define DROPIN_HDR 64

#define DROPIN_MAGIC_HEAP 0x6b68706du /* "khpm" */
#define DROPIN_MAGIC_HUGE 0x6b68676du /* "khgm" */

/* Front cache: freed small blocks kept per thread in front of the core heap,
 * in 64 bins of 16-byte steps of usable size (24 to 1032 bytes), at most 16
 * blocks a bin and 64 KiB a thread, taken again by the next request of that
 * bin without touching the core heap (malloc_dropin.c). The blocks stay
 * allocated in the core heap meanwhile. Measured: on random replacement of
 * 16-512-byte blocks the core heap alone is about 2x slower than glibc (every
 * free coalesces, every allocation splits, over a scattered heap); with the
 * cache kheap is faster than glibc (docs/BENCHMARKS.md). */
#define DROPIN_CACHE_BINS  64
#define DROPIN_CACHE_MAX   ((size_t)(DROPIN_CACHE_BINS + 1) * 16 - 8)
#define DROPIN_CACHE_COUNT 16
#define DROPIN_CACHE_BYTES ((size_t)64 * 1024)

/* Core heap frees between two looks at whether a trim is due. */
#define DROPIN_TRIM_INTERVAL 1024u
/* A new heap's first region, before it gets the rest of its segment. */
#define DROPIN_FIRST_REGION ((size_t)64 * 1024)

struct dropin_heap;

struct dropin_seg {
    uint32_t magic;
    uint32_t unused;
    struct dropin_heap *heap; /* heap segments: the owner */
    void *map_base;           /* huge: the whole mapping */
    size_t map_bytes;
    size_t usable; /* huge: usable bytes from the payload */
};

/* Counters of one heap, written only by the thread that owns the heap
 * (relaxed atomics so that the exit report may read them). */
struct dropin_counts {
    kh_atomic64_t mallocs, frees, reallocs, callocs, aligned, remote_frees;
};

enum { DROPIN_OWNED = 1, DROPIN_ABANDONED = 2 };

struct dropin_heap {
    kheap *kh;
    struct kh_mmap_source os;      /* segments come from here (owner only) */
    struct dropin_heap *next_all;  /* every heap, for the report (pool lock) */
    struct dropin_heap *next_pool; /* abandoned heaps (pool lock) */
    int state;                     /* pool lock */
    int harden;                    /* the core heap's hardening level */
    int cache_on;                  /* front cache in use (hardening level 0) */
    /* Levels 1 and 2: every core heap call, the owner's and other threads'
     * frees and size queries, holds this lock, so the core heap's pointer
     * checks never read a neighbour the owner is rewriting. */
    int locked;
    kh_spinlock_t lock;
    size_t trim_mark;   /* free bytes after the last trim */
    size_t trim_paid;   /* core heap frees since the last trim */
    unsigned trim_tick; /* core heap frees since the last look */
    struct dropin_counts n;
    /* Per-bin free lists of small blocks (owner only). */
    void *cache[DROPIN_CACHE_BINS];
    unsigned char cache_len[DROPIN_CACHE_BINS];
    size_t cache_bytes; /* block bytes in the cache */
    /* Blocks freed by other threads: a lock-free list (first word = next),
     * pushed by anyone, taken whole by the owner. Own cache line: other
     * threads write it. */
    _Alignas(64) kh_atomic_ptr_t xfree;
    char pad[64 - sizeof(kh_atomic_ptr_t)];
};

static inline struct dropin_seg *dropin_seg_of(const void *p)
{
    return (struct dropin_seg *)(((uintptr_t)p - 1) & ~(uintptr_t)(DROPIN_SEG - 1));
}

/* The calling thread's heap, NULL until it first allocates (and again while
 * it exits). */
extern DROPIN_TLS struct dropin_heap *dropin_tl_heap;

/* dropin_heap.c */
struct dropin_heap *dropin_heap_acquire(void);
void dropin_heap_drain(struct dropin_heap *h);
void dropin_heap_free_remote(struct dropin_heap *h, void *p);
void dropin_heap_maybe_trim(struct dropin_heap *h);
void dropin_heap_flush_cache(struct dropin_heap *h);
void dropin_global_init(void);
/* Sum over every heap: core heap statistics and call counters. */
struct dropin_totals {
    size_t heaps, abandoned;
    size_t used, peak_used, blocks, os_bytes, os_peak;
    size_t mallocs, frees, reallocs, callocs, aligned, remote_frees;
    size_t huge_allocs, huge_live;
};
void dropin_heap_totals(struct dropin_totals *t);

/* dropin_huge.c */
void *dropin_huge_alloc(size_t size, size_t align, int zero);
void dropin_huge_free(struct dropin_seg *s);
void *dropin_huge_realloc(struct dropin_seg *s, void *p, size_t size);
size_t dropin_huge_usable(const struct dropin_seg *s);
void dropin_huge_totals(struct dropin_totals *t);
size_t dropin_page_size(void);
/* A DROPIN_SEG-aligned anonymous mapping of bytes (a multiple of the page
 * size), or NULL. Counts it in the OS bytes. */
void *dropin_map_aligned(size_t bytes, size_t align);
void dropin_unmap(void *p, size_t bytes);

/* dropin_env.c */
struct dropin_options {
    int stats;  /* KHEAP_MALLOC_STATS=1: one line at exit */
    int harden; /* KHEAP_MALLOC_HARDEN=0|1|2 */
};
extern struct dropin_options dropin_opt;
void dropin_read_env(void);
void dropin_apply_harden(struct dropin_heap *h, int level);
void dropin_misuse_hook(int code, const char *what, const void *ptr);
/* Entropy for a new heap's secret (getrandom). */
uint64_t dropin_entropy(void);

static inline void dropin_lock(struct dropin_heap *h)
{
    if (h->locked) kh_spin_lock(&h->lock);
}

static inline void dropin_unlock(struct dropin_heap *h)
{
    if (h->locked) kh_spin_unlock(&h->lock);
}
_Noreturn void dropin_fatal(const char *what, const void *ptr);
void dropin_count_heapless_free(void);

#endif /* KH_DROPIN_H */
