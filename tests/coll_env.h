/* SPDX-License-Identifier: MIT */
/* Shared test environment for the collections: a core heap over the test
 * arena behind a fault injector, and the leak check every test ends with. */
#ifndef KH_COLL_ENV_H
#define KH_COLL_ENV_H

#include <stddef.h>

#include "kheap/alloc.h"
#include "kheap/heap.h"

struct coll_env {
    kheap *h;
    struct kh_fault f;
    kh_allocator a;       /* the fault injector over the heap */
    unsigned char *spare; /* arena bytes after the heap, for reference models */
    size_t spare_bytes;
};

/* Heap of heap_bytes (at most half the test arena); -1 when it cannot be made. */
int coll_env_init(struct coll_env *e, size_t heap_bytes);
/* Every block given back: the injector and the heap both show nothing live,
 * and the heap passes its checker. Records failures in the running test. */
void coll_env_no_leak(struct coll_env *e);

/* A plain core heap over the first min(want, arena) bytes of the test arena
 * (*got, when not NULL, says how many), or NULL. */
kheap *coll_heap(size_t want, size_t *got);
/* The heap holds nothing and passes its checker. */
void coll_heap_empty(kheap *h);

#endif
