/* SPDX-License-Identifier: MIT */
/* Shared test environment for the collections (see coll_env.h). */
#include "coll_env.h"

#include "kh_test.h"

int coll_env_init(struct coll_env *e, size_t heap_bytes)
{
    size_t n;
    unsigned char *mem = kh_test_arena(&n);
    if (heap_bytes > n / 2) heap_bytes = n / 2;
    e->h = kheap_init(mem, heap_bytes);
    if (!e->h) return -1;
    kh_fault_init(&e->f, kheap_allocator(e->h));
    e->a = kh_fault_allocator(&e->f);
    e->spare = mem + heap_bytes;
    e->spare_bytes = n - heap_bytes;
    return 0;
}

void coll_env_no_leak(struct coll_env *e)
{
    struct kheap_stats st;
    KH_CHECK_EQ(e->f.live_blocks, 0);
    KH_CHECK_EQ(e->f.live_bytes, 0);
    kheap_stats(e->h, &st);
    KH_CHECK_EQ(st.used_bytes, 0);
    KH_CHECK_EQ(st.allocations, 0);
    KH_CHECK_EQ(kheap_check(e->h), 0);
}

kheap *coll_heap(size_t want, size_t *got)
{
    size_t n;
    void *mem = kh_test_arena(&n);
    if (want > n) want = n;
    if (got) *got = want;
    return kheap_init(mem, want);
}

void coll_heap_empty(kheap *h)
{
    struct kheap_stats st;
    kheap_stats(h, &st);
    KH_CHECK_EQ(st.used_bytes, 0);
    KH_CHECK_EQ(st.allocations, 0);
    KH_CHECK_EQ(kheap_check(h), 0);
}
