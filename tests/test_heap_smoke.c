#include "kh_test.h"
#include "kheap/heap.h"
KH_TEST(heap_smoke)
{
    size_t n;
    char *mem = kh_test_arena(&n);
    kheap *h = kheap_init(mem, 1 << 20);
    KH_ASSERT(h);
    KH_CHECK_EQ(kheap_check(h), 0);
    void *p[100];
    for (int i = 0; i < 100; i++) {
        p[i] = kheap_alloc(h, (size_t)i * 37, 0);
        KH_ASSERT(p[i]);
    }
    KH_CHECK_EQ(kheap_check(h), 0);
    for (int i = 0; i < 100; i += 2) kheap_free(h, p[i]);
    KH_CHECK_EQ(kheap_check(h), 0);
    for (int i = 1; i < 100; i += 2) {
        p[i] = kheap_realloc(h, p[i], 5000, 64);
        KH_ASSERT(p[i]);
    }
    KH_CHECK_EQ(kheap_check(h), 0);
    for (int i = 1; i < 100; i += 2) kheap_free(h, p[i]);
    KH_CHECK_EQ(kheap_check(h), 0);
    struct kheap_stats st;
    kheap_stats(h, &st);
    KH_CHECK_EQ(st.used_bytes, 0);
    KH_CHECK_EQ(st.free_blocks, 1);
}
