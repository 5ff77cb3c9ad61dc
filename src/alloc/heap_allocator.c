/* SPDX-License-Identifier: MIT */
/* The core heap behind the kh_allocator interface (kheap/alloc.h). */
#include "kheap/alloc.h"

static void *heap_alloc(void *ctx, size_t size, size_t align, unsigned flags)
{
    return kheap_alloc_flags(ctx, size, align, flags);
}

static bool heap_resize(void *ctx, void *ptr, size_t old_size, size_t new_size, size_t align)
{
    (void)old_size, (void)align; /* the block keeps its address, so its alignment */
    return kheap_resize(ctx, ptr, new_size);
}

static void heap_free(void *ctx, void *ptr, size_t size, size_t align)
{
    (void)size, (void)align;
    kheap_free(ctx, ptr);
}

/* No owns: vetting a pointer needs the core heap's own checks. */
static const kh_allocator_ops heap_ops = {heap_alloc, heap_resize, heap_free, NULL};

kh_allocator kheap_allocator(kheap *h)
{
    kh_allocator a = {h, &heap_ops};
    return a;
}
