/* SPDX-License-Identifier: MIT */
/* kheap benchmark: one small adapter per allocator under test.
 *
 * Every workload drives allocators only through this table, so each one pays
 * the same indirect call. Arena allocators (kheap's) get their memory from
 * the workload (pre-touched); system allocators (glibc, jemalloc, mimalloc,
 * tcmalloc) ignore it. free and realloc get the size and alignment back so
 * header-less allocators can take part.
 */
#ifndef KB_ALLOC_H
#define KB_ALLOC_H

#include <stdbool.h>
#include <stddef.h>

enum {
    KB_ARENA = 1u << 0,     /* manages caller memory: takes part in the fit workloads */
    KB_SYSTEM = 1u << 1,    /* gets memory from the OS (glibc & co.) */
    KB_THREADS = 1u << 2,   /* one instance may be shared by threads */
    KB_SLOW = 1u << 3,      /* O(n) allocator: skip the biggest workloads */
    KB_NOREALLOC = 1u << 4, /* realloc is alloc + copy + free (still measured) */
    KB_MT_ONLY = 1u << 5,   /* a thread-safe wrapper: only in the threaded workloads */
    KB_VARIANT = 1u << 6    /* kheap in another configuration (bench/kb_heapvar.h): only in
                               the fit, random-actions and latency workloads */
};

typedef struct kb_alloc {
    const char *name;
    unsigned flags;
    /* Prepare an instance over [mem, mem + bytes) (ignored by system
     * allocators) and return its context, or NULL. */
    void *(*setup)(void *mem, size_t bytes);
    void (*teardown)(void *ctx);
    void *(*alloc)(void *ctx, size_t size, size_t align);
    void *(*realloc)(void *ctx, void *p, size_t old_size, size_t size, size_t align);
    void (*free)(void *ctx, void *p, size_t size, size_t align);
    /* Optional: call fn for each block in address order (heap maps). */
    void (*walk)(void *ctx, void (*fn)(void *block, size_t size, bool used, void *c), void *c);
    /* Optional: largest free block and free bytes now (fragmentation). */
    bool (*frag)(void *ctx, size_t *largest_free, size_t *free_bytes);
} kb_alloc;

/* All allocators available in this build/run (competitors that fail to
 * load are left out with a note on stderr). Returns the count. */
size_t kb_alloc_list(const kb_alloc **out, size_t max);

/* Find one by name, NULL when it is not available. */
const kb_alloc *kb_alloc_find(const char *name);

#endif /* KB_ALLOC_H */
