/* kheap memory sources: where a heap gets more memory when it runs out.
 *
 * In a kernel a source allocates page frames and maps them (blog_os's
 * init_heap with a frame allocator and a mapper); hosted it is mmap; on a
 * microcontroller it can hand out a static array in pieces. The core heap,
 * the bump allocator and slab caches take an optional source and, when an
 * allocation fails, call grow() once, add what it returns, and retry once.
 * They never call a source for a KH_GFP_ATOMIC or KH_GFP_NOGROW request.
 */
#ifndef KHEAP_SOURCE_H
#define KHEAP_SOURCE_H

#include <stddef.h>

struct kh_source_ops {
    /* Return at least min_bytes of new memory and store its real size in
     * *got_bytes, or return NULL. Memory need not be zeroed or contiguous with
     * earlier grants. */
    void *(*grow)(void *ctx, size_t min_bytes, size_t *got_bytes);
    /* Take back memory grow() returned (whole grants only). NULL when the
     * source cannot take memory back. */
    void (*release)(void *ctx, void *mem, size_t bytes);
};

struct kh_source {
    void *ctx;
    const struct kh_source_ops *ops;
};

#endif /* KHEAP_SOURCE_H */
