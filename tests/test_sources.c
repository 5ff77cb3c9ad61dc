/* SPDX-License-Identifier: MIT */
/* Memory sources: static array (every rule, bad input, heap growth) and the
 * hosted mmap source (alignment, limit, release, heap growth to the limit). */
#include "kh_test.h"

#include "kheap/config.h"
#include "kheap/error.h"
#include "kheap/heap.h"
#include "kheap/sources.h"

static unsigned char *sources_arena(size_t want)
{
    size_t n;
    unsigned char *mem = kh_test_arena(&n);
    /* Page-aligned start, so granule tests can count pages. */
    size_t skip = (4096 - (uintptr_t)mem % 4096) % 4096;
    return n >= want + skip ? mem + skip : NULL;
}

KH_TEST(sources_static_bad_init)
{
    unsigned char *mem = sources_arena(64 * 1024);
    KH_ASSERT(mem);
    struct kh_static_source s;
    KH_CHECK_EQ(kh_static_source_init(NULL, mem, 4096, 0, 0), KH_EINVAL);
    KH_CHECK_EQ(kh_static_source_init(&s, NULL, 4096, 0, 0), KH_EINVAL);
    KH_CHECK_EQ(kh_static_source_init(&s, mem, 4096, 3000, 0), KH_EINVAL);
    /* Too small for one granule after aligning the start. */
    KH_CHECK_EQ(kh_static_source_init(&s, mem + 1, 4096, 4096, 0), KH_ENOMEM);
    /* Less than the default granule (KH_ALIGN_DEFAULT) on every target. */
    KH_CHECK_EQ(kh_static_source_init(&s, mem, sizeof(void *), 0, 0), KH_ENOMEM);
    KH_CHECK_EQ(kh_static_source_available(NULL), 0);
    /* Odd start: usable part starts aligned. */
    KH_ASSERT_EQ(kh_static_source_init(&s, mem + 1, 3 * 4096, 4096, 0), 0);
    KH_CHECK_EQ(kh_static_source_available(&s), 2 * 4096);
}

KH_TEST(sources_static_grants_are_granular_and_disjoint)
{
    unsigned char *mem = sources_arena(64 * 1024);
    KH_ASSERT(mem);
    struct kh_static_source s;
    KH_ASSERT_EQ(kh_static_source_init(&s, mem, 64 * 1024, 4096, 0), 0);
    struct kh_source src = kh_static_source(&s);
    size_t got = 0;
    unsigned char *a = src.ops->grow(src.ctx, 1, &got);
    KH_ASSERT(a);
    KH_CHECK_EQ(got, 4096);
    KH_CHECK_EQ((uintptr_t)a % 4096, 0);
    unsigned char *b = src.ops->grow(src.ctx, 5000, &got);
    KH_ASSERT(b);
    KH_CHECK_EQ(got, 8192);
    KH_CHECK(b >= a + 4096);
    KH_CHECK_EQ((uintptr_t)b % 4096, 0);
    /* Byte granule (0): default alignment, rounded to it. */
    struct kh_static_source s2;
    KH_ASSERT_EQ(kh_static_source_init(&s2, mem + 32768 + 3, 1000, 0, 0), 0);
    struct kh_source src2 = kh_static_source(&s2);
    unsigned char *c = src2.ops->grow(src2.ctx, 17, &got);
    KH_ASSERT(c);
    KH_CHECK_EQ((uintptr_t)c % KH_ALIGN_DEFAULT, 0);
    KH_CHECK_EQ(got % KH_ALIGN_DEFAULT, 0);
    KH_CHECK(got >= 17);
    struct kh_source_stats st;
    kh_static_source_stats(&s, &st);
    KH_CHECK_EQ(st.grants, 2);
    KH_CHECK_EQ(st.granted_bytes, 3 * 4096);
    KH_CHECK_EQ(st.peak_bytes, 3 * 4096);
    KH_CHECK_EQ(st.failures, 0);
}

KH_TEST(sources_static_limit_and_exhaustion_fail_cleanly)
{
    unsigned char *mem = sources_arena(64 * 1024);
    KH_ASSERT(mem);
    struct kh_static_source s;
    KH_ASSERT_EQ(kh_static_source_init(&s, mem, 64 * 1024, 4096, 3 * 4096), 0);
    struct kh_source src = kh_static_source(&s);
    size_t got = 123;
    void *a = src.ops->grow(src.ctx, 8192, &got);
    KH_ASSERT(a);
    KH_CHECK_EQ(kh_static_source_available(&s), 4096);
    /* Past the limit: NULL, got 0, nothing changed. */
    KH_CHECK(src.ops->grow(src.ctx, 8192, &got) == NULL);
    KH_CHECK_EQ(got, 0);
    KH_CHECK_EQ(kh_static_source_available(&s), 4096);
    void *b = src.ops->grow(src.ctx, 4096, &got);
    KH_CHECK(b != NULL);
    KH_CHECK(src.ops->grow(src.ctx, 1, &got) == NULL);
    /* Overflowing and zero requests. */
    KH_CHECK(src.ops->grow(src.ctx, SIZE_MAX, &got) == NULL);
    KH_CHECK(src.ops->grow(src.ctx, SIZE_MAX - 100, &got) == NULL);
    KH_CHECK(src.ops->grow(src.ctx, 0, &got) == NULL);
    struct kh_source_stats st;
    kh_static_source_stats(&s, &st);
    KH_CHECK_EQ(st.failures, 5);
    KH_CHECK_EQ(st.granted_bytes, 3 * 4096);
    /* Releasing makes room under the limit again. */
    src.ops->release(src.ctx, b, 4096);
    KH_CHECK(src.ops->grow(src.ctx, 4096, &got) == b);
    /* Without a limit the array's end is the limit. */
    struct kh_static_source s2;
    KH_ASSERT_EQ(kh_static_source_init(&s2, mem, 8192, 4096, 0), 0);
    struct kh_source src2 = kh_static_source(&s2);
    KH_CHECK(src2.ops->grow(src2.ctx, 8192, &got) != NULL);
    KH_CHECK(src2.ops->grow(src2.ctx, 1, &got) == NULL);
}

KH_TEST(sources_static_release_reuses_space)
{
    unsigned char *mem = sources_arena(64 * 1024);
    KH_ASSERT(mem);
    struct kh_static_source s;
    KH_ASSERT_EQ(kh_static_source_init(&s, mem, 16 * 4096, 4096, 0), 0);
    struct kh_source src = kh_static_source(&s);
    size_t got;
    unsigned char *a = src.ops->grow(src.ctx, 4096, &got);
    unsigned char *b = src.ops->grow(src.ctx, 4096, &got);
    KH_ASSERT(a && b);
    /* The most recent grant comes back at once. */
    src.ops->release(src.ctx, b, 4096);
    KH_CHECK(src.ops->grow(src.ctx, 4096, &got) == b);
    /* An older one only lowers the count until everything is back. */
    src.ops->release(src.ctx, a, 4096);
    struct kh_source_stats st;
    kh_static_source_stats(&s, &st);
    KH_CHECK_EQ(st.granted_bytes, 4096);
    unsigned char *c = src.ops->grow(src.ctx, 4096, &got);
    KH_CHECK(c > b);
    src.ops->release(src.ctx, c, 4096);
    src.ops->release(src.ctx, b, 4096);
    kh_static_source_stats(&s, &st);
    KH_CHECK_EQ(st.granted_bytes, 0);
    KH_CHECK_EQ(st.releases, 4);
    KH_CHECK(src.ops->grow(src.ctx, 16 * 4096, &got) == a); /* whole array again */
#if KH_CONFIG_CHECKS
    struct kh_test_reports r;
    kh_test_reports_start(&r);
    unsigned char other[64];
    src.ops->release(src.ctx, other, 64);    /* not from this array */
    src.ops->release(src.ctx, a + 1, 4096);  /* not a grant start */
    src.ops->release(src.ctx, a, 17 * 4096); /* more than granted */
    kh_test_reports_stop();
    KH_CHECK_EQ(r.count, 3);
    KH_CHECK_EQ(r.last_code, KH_EFAULT);
    kh_static_source_stats(&s, &st);
    KH_CHECK_EQ(st.granted_bytes, 16 * 4096); /* ignored */
#endif
    src.ops->release(src.ctx, NULL, 0); /* nothing */
}

KH_TEST_TAGGED(sources_static_grows_the_core_heap_to_its_limit, "full-heap")
{
    unsigned char *mem = sources_arena(256 * 1024);
    KH_ASSERT(mem);
    kheap *h = kheap_init_ex(mem, 8192, 1 << 20);
    KH_ASSERT(h);
    struct kh_static_source s;
    KH_ASSERT_EQ(kh_static_source_init(&s, mem + 8192, 200 * 1024, 0, 128 * 1024), 0);
    struct kh_source src = kh_static_source(&s);
    kheap_set_source(h, &src);
    size_t total = 0, n = 0;
    void *p;
    while ((p = kheap_alloc(h, 1000, 0)) != NULL) {
        total += 1000;
        n++;
        KH_ASSERT(n < 1000);
    }
    /* The heap grew through the source close to the limit, never past it. */
    struct kh_source_stats st;
    kh_static_source_stats(&s, &st);
    KH_CHECK(st.granted_bytes <= 128 * 1024);
    KH_CHECK(total > 120 * 1024);
    KH_CHECK(st.failures >= 1);
    KH_CHECK_EQ(kheap_check(h), 0);
    /* Atomic requests never call the source. */
    size_t grants = st.grants, fails = st.failures;
    KH_CHECK(kheap_alloc_flags(h, 100000, 0, KH_GFP_ATOMIC) == NULL);
    kh_static_source_stats(&s, &st);
    KH_CHECK_EQ(st.grants + st.failures, grants + fails);
}

#if KH_TEST_HOSTED
#include <unistd.h>
#endif

KH_TEST_TAGGED(sources_mmap_grants_limit_release, "hosted")
{
#if KH_TEST_HOSTED
    struct kh_mmap_source m;
    KH_CHECK_EQ(kh_mmap_source_init(NULL, 0), KH_EINVAL);
    KH_ASSERT_EQ(kh_mmap_source_init(&m, 1 << 20), 0);
    struct kh_source src = kh_mmap_source(&m);
    size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    size_t got = 0;
    unsigned char *a = src.ops->grow(src.ctx, 1, &got);
    KH_ASSERT(a);
    KH_CHECK_EQ(got, pg);
    KH_CHECK_EQ((uintptr_t)a % pg, 0);
    a[0] = 1;
    a[got - 1] = 2; /* writable */
    /* Power-of-two grants are aligned to their size. */
    unsigned char *b = src.ops->grow(src.ctx, 65536, &got);
    KH_ASSERT(b);
    KH_CHECK_EQ(got, 65536);
    KH_CHECK_EQ((uintptr_t)b % 65536, 0);
    b[65535] = 3;
    /* Past the limit: clean failure. */
    KH_CHECK(src.ops->grow(src.ctx, 1 << 20, &got) == NULL);
    KH_CHECK_EQ(got, 0);
    KH_CHECK(src.ops->grow(src.ctx, SIZE_MAX, &got) == NULL);
    KH_CHECK(src.ops->grow(src.ctx, 0, &got) == NULL);
    struct kh_source_stats st;
    kh_mmap_source_stats(&m, &st);
    KH_CHECK_EQ(st.granted_bytes, pg + 65536);
    KH_CHECK_EQ(st.failures, 3);
    src.ops->release(src.ctx, b, 65536);
    src.ops->release(src.ctx, a, pg);
    kh_mmap_source_stats(&m, &st);
    KH_CHECK_EQ(st.granted_bytes, 0);
    KH_CHECK_EQ(st.releases, 2);
    /* Now the whole limit fits. */
    unsigned char *c = src.ops->grow(src.ctx, 1 << 20, &got);
    KH_ASSERT(c);
    KH_CHECK_EQ((uintptr_t)c % (1 << 20), 0);
    struct kh_test_reports r;
    kh_test_reports_start(&r);
    src.ops->release(src.ctx, c + 1, pg);          /* not page-aligned */
    src.ops->release(src.ctx, c, (size_t)2 << 20); /* more than granted */
    kh_test_reports_stop();
    KH_CHECK_EQ(r.count, 2);
    KH_CHECK_EQ(r.last_code, KH_EFAULT);
    src.ops->release(src.ctx, c, 1 << 20);
    kh_mmap_source_stats(&m, &st);
    KH_CHECK_EQ(st.granted_bytes, 0);
#endif
}

KH_TEST_TAGGED(sources_mmap_grows_the_core_heap_to_its_limit, "hosted full-heap")
{
#if KH_TEST_HOSTED
    static _Alignas(64) unsigned char first[4096];
    kheap *h = kheap_init_ex(first, sizeof(first), (size_t)64 << 20);
    KH_ASSERT(h);
    struct kh_mmap_source m;
    KH_ASSERT_EQ(kh_mmap_source_init(&m, (size_t)4 << 20), 0);
    struct kh_source src = kh_mmap_source(&m);
    kheap_set_source(h, &src);
    static void *blocks[2048];
    size_t n = 0;
    while (n < 2048 && (blocks[n] = kheap_alloc(h, 16384, 0)) != NULL) n++;
    KH_CHECK(n < 2048);
    KH_CHECK(n * 16384 > (size_t)3 << 20); /* grew nearly to the limit */
    struct kh_source_stats st;
    kh_mmap_source_stats(&m, &st);
    KH_CHECK(st.granted_bytes <= (size_t)4 << 20);
    KH_CHECK(st.failures >= 1);
    KH_CHECK_EQ(kheap_check(h), 0);
    for (size_t i = 0; i < n; i++) kheap_free(h, blocks[i]);
    KH_CHECK_EQ(kheap_check(h), 0);
    /* After freeing, the memory is reused without asking the source again. */
    size_t grants = st.grants;
    void *p = kheap_alloc(h, 16384, 0);
    KH_CHECK(p != NULL);
    kh_mmap_source_stats(&m, &st);
    KH_CHECK_EQ(st.grants, grants);
    kheap_free(h, p);
    /* The heap keeps its regions (mappings): 4 MiB left mapped, by design. */
#endif
}
