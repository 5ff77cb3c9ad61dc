/* SPDX-License-Identifier: MIT */
/* Core heap tests: one or more per rule in include/kheap/heap.h. */
#include <stdint.h>
#include <string.h>

#include "alloc_model.h"
#include "heap_model.h"
#include "kh_test.h"
#include "kheap/config.h"
#include "kheap/error.h"
#include "kheap/heap.h"
#include "seed_tests.h"

#define GRAIN KH_ALIGN_DEFAULT
#define WORD  sizeof(size_t)

/* Tests of realloc growth, alignments above GRAIN and the shrink policy assert,
 * under #if !KH_HEAP_FULL, what the minimal build documents instead (make
 * test-minimal): such calls return NULL (set_policy false) and change
 * nothing. */

static unsigned char *arena(size_t want)
{
    size_t n;
    unsigned char *m = kh_test_arena(&n);
    return n >= want ? m : NULL;
}

/* A heap over the first bytes of the test arena; NULL when the arena (on a
 * small target) is too small. */
static kheap *fresh_heap(size_t bytes)
{
    unsigned char *m = arena(bytes);
    return m ? kheap_init(m, bytes) : NULL;
}

/* ---- init ---- */

KH_TEST(heap_init_rejects_null_and_tiny)
{
    unsigned char *m = arena(4096);
    KH_ASSERT(m);
    KH_CHECK(kheap_init(NULL, 4096) == NULL);
    KH_CHECK(kheap_init(m, 0) == NULL);
    KH_CHECK(kheap_init(m, 16) == NULL);
    /* Exactly too small: control block plus less than a minimum block. */
    size_t ctl = kheap_control_bytes(256);
    KH_CHECK(kheap_init(m, ctl) == NULL);
    /* Large enough succeeds and can hand out a block. */
    kheap *h = kheap_init(m, 4096);
    KH_ASSERT(h);
    KH_CHECK(kheap_alloc(h, 1, 0) != NULL);
}

KH_TEST(heap_init_any_alignment_control_inside)
{
    unsigned char *m = arena(1 << 16);
    KH_ASSERT(m);
    for (size_t off = 0; off < 2 * GRAIN; off++) {
        size_t bytes = 8192 + off * 3;
        kheap *h = kheap_init(m + off, bytes);
        KH_ASSERT(h);
        KH_CHECK((unsigned char *)h >= m + off && (unsigned char *)h < m + off + bytes);
        KH_CHECK_EQ(kheap_check(h), 0);
        struct kheap_stats s = heap_stats(h);
        KH_CHECK(s.total_bytes + s.overhead_bytes == bytes);
        /* Every block the heap hands out lies inside the region. */
        unsigned char *p = kheap_alloc(h, s.largest_free_block, 0);
        KH_ASSERT(p);
        KH_CHECK(p >= m + off && p + s.largest_free_block <= m + off + bytes);
        KH_CHECK((uintptr_t)p % GRAIN == 0);
    }
}

KH_TEST(heap_independent_heaps)
{
    unsigned char *m = arena(1 << 16);
    KH_ASSERT(m);
    kheap *a = kheap_init(m, 1 << 15), *b = kheap_init(m + (1 << 15), 1 << 15);
    KH_ASSERT(a && b);
    void *pa = kheap_alloc(a, 100, 0), *pb = kheap_alloc(b, 100, 0);
    KH_ASSERT(pa && pb);
    KH_CHECK((unsigned char *)pa < m + (1 << 15));
    KH_CHECK((unsigned char *)pb >= m + (1 << 15));
    KH_CHECK_EQ(heap_stats(a).allocations, 1);
    KH_CHECK_EQ(heap_stats(b).allocations, 1);
    kheap_free(a, pa);
    KH_CHECK_EQ(heap_stats(a).allocations, 0);
    KH_CHECK_EQ(heap_stats(b).allocations, 1);
    KH_CHECK_EQ(kheap_check(a), 0);
    KH_CHECK_EQ(kheap_check(b), 0);
}

/* ---- alloc, alignment, size 0 ---- */

KH_TEST(heap_alloc_default_alignment_and_size0)
{
    kheap *h = fresh_heap(1 << 16);
    KH_ASSERT(h);
    void *p[64];
    for (int i = 0; i < 64; i++) {
        p[i] = kheap_alloc(h, 0, 0);
        KH_ASSERT(p[i]);
        KH_CHECK((uintptr_t)p[i] % GRAIN == 0);
        /* Level 2 gives exactly what was asked (its canary follows). */
        KH_CHECK(kheap_usable_size(h, p[i]) + (KH_CONFIG_HARDEN >= 2) >= 1);
        for (int j = 0; j < i; j++) KH_CHECK(p[i] != p[j]);
    }
    KH_CHECK_EQ(heap_stats(h).allocations, 64);
    for (int i = 0; i < 64; i++) kheap_free(h, p[i]);
    KH_CHECK_EQ(kheap_check(h), 0);
    KH_CHECK_EQ(heap_stats(h).free_blocks, 1);
}

KH_TEST(heap_alloc_every_power_of_two_alignment)
{
    size_t n;
    unsigned char *m = kh_test_arena(&n);
    kheap *h = kheap_init(m, n);
    KH_ASSERT(h);
    size_t max_align = n / 4; /* 16 MiB hosted: well past the 1 MiB promise */
    for (size_t a = 1; a && a <= max_align; a <<= 1) {
#if !KH_HEAP_FULL
        if (a > GRAIN) {
            /* Minimal build: NULL from every entry, and the heap unchanged. */
            struct kheap_stats before = heap_stats(h);
            KH_CHECK(kheap_alloc(h, 24, a) == NULL);
            KH_CHECK(kheap_zalloc(h, 24, a) == NULL);
            KH_CHECK(kheap_alloc_flags(h, a / 2 + 3, a, 0) == NULL);
            KH_CHECK(kheap_realloc(h, NULL, 24, a) == NULL);
            struct kheap_stats after = heap_stats(h);
            KH_CHECK(heap_stats_same_state(&before, &after));
            continue;
        }
#endif
        void *p = kheap_alloc(h, 24, a);
        KH_ASSERT(p);
        KH_CHECK((uintptr_t)p % a == 0);
        void *q = kheap_alloc(h, a / 2 + 3, a);
        KH_ASSERT(q);
        KH_CHECK((uintptr_t)q % a == 0);
        KH_CHECK_EQ(kheap_check(h), 0);
        kheap_free(h, p);
        kheap_free(h, q);
    }
    KH_CHECK(max_align >= (1u << 20) || n < (8u << 20));
    KH_CHECK_EQ(heap_stats(h).used_bytes, 0);
    KH_CHECK_EQ(heap_stats(h).free_blocks, 1);
}

KH_TEST(heap_alloc_rejects_non_power_of_two_alignment)
{
    kheap *h = fresh_heap(1 << 16);
    KH_ASSERT(h);
    struct kheap_stats before = heap_stats(h);
    size_t bad[] = {3, 5, 6, 12, 24, 48, 100, 1000, 4097, SIZE_MAX};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        KH_CHECK(kheap_alloc(h, 16, bad[i]) == NULL);
        KH_CHECK(kheap_zalloc(h, 16, bad[i]) == NULL);
    }
    void *p = kheap_alloc(h, 16, 0);
    KH_ASSERT(p);
    KH_CHECK(kheap_realloc(h, p, 100, 3) == NULL);
    KH_CHECK(kheap_usable_size(h, p) >= 16);
    kheap_free(h, p);
    struct kheap_stats after = heap_stats(h);
    KH_CHECK_EQ(after.used_bytes, before.used_bytes);
    KH_CHECK_EQ(after.free_blocks, before.free_blocks);
}

KH_TEST(heap_overflowing_sizes_fail_cleanly)
{
    kheap *h = fresh_heap(1 << 16);
    KH_ASSERT(h);
    void *keep = kheap_alloc(h, 100, 0);
    KH_ASSERT(keep);
    memset(keep, 0x5a, 100);
    struct kheap_stats before = heap_stats(h);
    size_t sizes[] = {SIZE_MAX,
                      SIZE_MAX - 1,
                      SIZE_MAX - WORD,
                      SIZE_MAX - GRAIN,
                      SIZE_MAX - 2 * GRAIN,
                      SIZE_MAX / 2,
                      SIZE_MAX / 2 + 1,
                      (size_t)1 << (sizeof(size_t) * 8 - 2)};
    size_t aligns[] = {0, 16, 4096, (size_t)1 << (sizeof(size_t) * 8 - 1)};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        for (size_t j = 0; j < sizeof(aligns) / sizeof(aligns[0]); j++) {
            KH_CHECK(kheap_alloc(h, sizes[i], aligns[j]) == NULL);
            KH_CHECK(kheap_zalloc(h, sizes[i], aligns[j]) == NULL);
            KH_CHECK(kheap_realloc(h, keep, sizes[i], aligns[j]) == NULL);
        }
    }
    /* Huge alignment with a small size: size + align + overhead wraps. */
    KH_CHECK(kheap_alloc(h, 1, (size_t)1 << (sizeof(size_t) * 8 - 1)) == NULL);
    KH_CHECK(kheap_alloc(h, 64, SIZE_MAX / 2 + 1) == NULL);
    struct kheap_stats after = heap_stats(h);
    KH_CHECK_EQ(after.used_bytes, before.used_bytes);
    KH_CHECK_EQ(after.allocations, before.allocations);
    KH_CHECK_EQ(after.free_blocks, before.free_blocks);
    for (int i = 0; i < 100; i++) KH_CHECK(((unsigned char *)keep)[i] == 0x5a);
    KH_CHECK_EQ(kheap_check(h), 0);
}

KH_TEST(heap_out_of_memory_returns_null_and_recovers)
{
    kheap *h = fresh_heap(1 << 16);
    KH_ASSERT(h);
    void *p[4096];
    size_t n = 0;
    while (n < 4096 && (p[n] = kheap_alloc(h, 100, 0)) != NULL) n++;
    KH_CHECK(n > 100 && n < 4096);
    KH_CHECK(kheap_alloc(h, 100, 0) == NULL);
    KH_CHECK_EQ(kheap_check(h), 0);
    for (size_t i = 0; i < n; i++) kheap_free(h, p[i]);
    KH_CHECK_EQ(heap_stats(h).free_blocks, 1);
    /* After freeing, the whole heap is one block again. */
    KH_CHECK(kheap_alloc(h, heap_stats(h).largest_free_block, 0) != NULL);
}

KH_TEST(heap_zalloc_zeroes)
{
    kheap *h = fresh_heap(1 << 16);
    KH_ASSERT(h);
    unsigned char *p = kheap_alloc(h, 4000, 0);
    KH_ASSERT(p);
    memset(p, 0xff, 4000);
    kheap_free(h, p);
#if KH_HEAP_FULL
    unsigned char *z = kheap_zalloc(h, 4000, 64);
#else
    KH_CHECK(kheap_zalloc(h, 4000, 64) == NULL); /* alignment above GRAIN */
    unsigned char *z = kheap_zalloc(h, 4000, 0);
#endif
    KH_ASSERT(z);
    int nonzero = 0;
    for (int i = 0; i < 4000; i++) nonzero += z[i] != 0;
    KH_CHECK_EQ(nonzero, 0);
}

/* ---- free ---- */

KH_TEST(heap_free_null_is_noop)
{
    kheap *h = fresh_heap(1 << 16);
    KH_ASSERT(h);
    struct kheap_stats before = heap_stats(h);
    kheap_free(h, NULL);
    kheap_free(NULL, NULL);
    struct kheap_stats after = heap_stats(h);
    KH_CHECK(heap_stats_same_state(&before, &after));
}

KH_TEST(heap_free_coalesces_immediately)
{
    kheap *h = fresh_heap(1 << 16);
    KH_ASSERT(h);
    void *a = kheap_alloc(h, 200, 0), *b = kheap_alloc(h, 200, 0), *c = kheap_alloc(h, 200, 0);
    void *d = kheap_alloc(h, 200, 0);
    KH_ASSERT(a && b && c && d);
    KH_CHECK_EQ(heap_stats(h).free_blocks, 1); /* the tail */
    kheap_free(h, a);
    KH_CHECK_EQ(heap_stats(h).free_blocks, 2);
    kheap_free(h, c);
    KH_CHECK_EQ(heap_stats(h).free_blocks, 3);
    kheap_free(h, b); /* merges a, b, c */
    KH_CHECK_EQ(heap_stats(h).free_blocks, 2);
    kheap_free(h, d); /* merges everything */
    KH_CHECK_EQ(heap_stats(h).free_blocks, 1);
    KH_CHECK_EQ(kheap_check(h), 0);
}

KH_TEST_TAGGED(heap_checked_free_reports_misuse_and_changes_nothing, "checks")
{
    unsigned char *m = arena(1 << 17);
    kheap *h = kheap_init(m, 1 << 16);
    KH_ASSERT(h);
    unsigned char *p = kheap_alloc(h, 64, 0), *q = kheap_alloc(h, 64, 0);
    KH_ASSERT(p && q);
    kheap_free(h, p);
    struct kheap_stats before = heap_stats(h);
    struct kh_test_reports r;
    kh_test_reports_start(&r);
    kheap_free(h, p); /* double free */
    KH_CHECK_EQ(r.count, 1);
    KH_CHECK_EQ(r.last_code, KH_EDOUBLE);
    kheap_free(h, m + (1 << 16) + 64); /* outside the heap */
    KH_CHECK_EQ(r.count, 2);
    KH_CHECK_EQ(r.last_code, KH_EFAULT);
    kheap_free(h, q + 1); /* inside, misaligned */
    KH_CHECK_EQ(r.last_code, KH_EFAULT);
    KH_CHECK_EQ(kheap_usable_size(h, m + (1 << 16) + 64), 0);
    KH_CHECK(kheap_realloc(h, p, 10, 0) == NULL); /* realloc of a freed block */
    KH_CHECK_EQ(r.last_code, KH_EDOUBLE);
    KH_CHECK_EQ(r.count, 5);
    kh_test_reports_stop();
    struct kheap_stats after = heap_stats(h);
    KH_CHECK(heap_stats_same_state(&before, &after));
    KH_CHECK_EQ(kheap_check(h), 0);
}

KH_TEST(heap_check_detects_corruption)
{
    kheap *h = fresh_heap(1 << 16);
    KH_ASSERT(h);
    size_t *p = kheap_alloc(h, 64, 0);
    size_t *q = kheap_alloc(h, 64, 0);
    KH_ASSERT(p && q);
    KH_CHECK_EQ(kheap_check(h), 0);
    size_t saved = heap_peek(p - 1);
    heap_poke(p - 1, saved + 1000 * GRAIN); /* header overwritten: size now runs past */
    KH_CHECK(kheap_check(h) < 0);
    heap_poke(p - 1, saved | 1); /* marked free while listed nowhere */
    KH_CHECK(kheap_check(h) < 0);
    heap_poke(p - 1, saved);
    q[0] = 12345; /* payload writes are not corruption */
    KH_CHECK_EQ(kheap_check(h), 0);
    kheap_free(h, q);
    size_t *link = q; /* q is free now: its first word is a list link */
    size_t keep = heap_peek(link);
    heap_poke(link, (size_t)p);
    KH_CHECK(kheap_check(h) < 0);
    heap_poke(link, keep);
    KH_CHECK_EQ(kheap_check(h), 0);
}

KH_TEST_TAGGED(heap_checked_free_of_corrupt_header_is_refused, "checks")
{
    kheap *h = fresh_heap(1 << 16);
    KH_ASSERT(h);
    size_t *p = kheap_alloc(h, 64, 0);
    void *q = kheap_alloc(h, 64, 0);
    KH_ASSERT(p && q);
    size_t saved = heap_peek(p - 1);
    struct kh_test_reports r;
    kh_test_reports_start(&r);
    heap_poke(p - 1, 3); /* flags say free, size nonsense, tag gone: not a header */
    kheap_free(h, p);
    KH_CHECK_EQ(r.count, 1);
    KH_CHECK_EQ(r.last_code, KH_EFAULT);
    heap_poke(p - 1, saved | 1); /* a valid header marked free */
    kheap_free(h, p);
    KH_CHECK_EQ(r.count, 2);
    KH_CHECK_EQ(r.last_code, KH_EDOUBLE);
    memset(q, 0, 64);
    heap_poke(p - 1, saved + 2 * GRAIN); /* tag kept, size runs into q's payload */
    kheap_free(h, p);
    KH_CHECK_EQ(r.count, 3);
    KH_CHECK_EQ(r.last_code, KH_ECORRUPT);
    heap_poke(p - 1, saved + ((size_t)1 << 20)); /* tag kept (64 KiB heap), runs past the region */
    kheap_free(h, p);
    KH_CHECK_EQ(r.count, 4);
    KH_CHECK(r.last_code == KH_ECORRUPT || r.last_code == KH_EFAULT);
    kh_test_reports_stop();
    heap_poke(p - 1, saved);
    KH_CHECK_EQ(kheap_check(h), 0);
    KH_CHECK_EQ(heap_stats(h).allocations, 2);
}

/* ---- realloc ---- */

KH_TEST(heap_realloc_null_allocates)
{
    kheap *h = fresh_heap(1 << 16);
    KH_ASSERT(h);
#if KH_HEAP_FULL
    void *p = kheap_realloc(h, NULL, 100, 256);
    KH_ASSERT(p);
    KH_CHECK((uintptr_t)p % 256 == 0);
#else
    KH_CHECK(kheap_realloc(h, NULL, 100, 256) == NULL); /* alignment above GRAIN */
    KH_CHECK_EQ(heap_stats(h).allocations, 0);
    void *p = kheap_realloc(h, NULL, 100, GRAIN);
    KH_ASSERT(p);
    KH_CHECK((uintptr_t)p % GRAIN == 0);
    KH_CHECK(kheap_usable_size(h, p) >= 100);
#endif
    KH_CHECK_EQ(heap_stats(h).allocations, 1);
}

KH_TEST(heap_realloc_shrinks_in_place)
{
    kheap *h = fresh_heap(1 << 16);
    KH_ASSERT(h);
    unsigned char *p = kheap_alloc(h, 1000, 0), *guard = kheap_alloc(h, 16, 0);
    KH_ASSERT(p && guard);
    for (int i = 0; i < 1000; i++) p[i] = (unsigned char)i;
    size_t free_before = heap_stats(h).free_bytes;
    KH_CHECK(kheap_realloc(h, p, 100, 0) == p);
    KH_CHECK(heap_stats(h).free_bytes > free_before + 800);
    KH_CHECK(kheap_usable_size(h, p) < 200);
    for (int i = 0; i < 100; i++) KH_CHECK(p[i] == (unsigned char)i);
    /* size 0 shrinks to a minimum block; it does not free. */
    KH_CHECK(kheap_realloc(h, p, 0, 0) == p);
    KH_CHECK_EQ(heap_stats(h).allocations, 2);
    KH_CHECK_EQ(kheap_check(h), 0);
}

/* Layout for the shrink-policy tests: [hole: 200 free] [16] [p: 3000] [16]
 * [rest free]. Returns p (NULL if the heap is too small); *hole is where the
 * free 200-byte block starts. */
static unsigned char *hole_before_block(kheap *h, unsigned char **hole)
{
    *hole = kheap_alloc(h, 200, 0);
    unsigned char *g1 = kheap_alloc(h, 16, 0), *p = kheap_alloc(h, 3000, 0);
    unsigned char *g2 = kheap_alloc(h, 16, 0);
    if (!*hole || !g1 || !p || !g2) return NULL;
    kheap_free(h, *hole);
    return p;
}

#if !KH_HEAP_FULL
/* kheap_set_policy(h, policy) refuses, reporting KH_EINVAL once: the only
 * answer for a nonzero policy in the minimal build. */
static bool policy_refused(kheap *h, unsigned policy)
{
    struct kh_test_reports r;
    kh_test_reports_start(&r);
    bool ok = kheap_set_policy(h, policy);
    kh_test_reports_stop();
    return !ok && r.count == 1 && r.last_code == KH_EINVAL;
}
#endif

KH_TEST(heap_policy_shrink_moves_into_a_smaller_free_block)
{
    kheap *h = fresh_heap(1 << 16);
    KH_ASSERT(h);
    unsigned char *hole, *p = hole_before_block(h, &hole);
    KH_ASSERT(p);
#if !KH_HEAP_FULL
    /* Minimal build: no policy, so the shrink stays in place. */
    KH_CHECK(policy_refused(h, KHEAP_SHRINK_MOVES));
    for (int i = 0; i < 3000; i++) p[i] = (unsigned char)(i * 5);
    size_t nfree0 = heap_stats(h).free_blocks;
    KH_CHECK(kheap_realloc(h, p, 190, 0) == p);
    for (int i = 0; i < 190; i++) KH_CHECK(p[i] == (unsigned char)(i * 5));
    KH_CHECK_EQ(heap_stats(h).free_blocks, nfree0 + 1); /* the hole, the trimmed tail */
    KH_CHECK_EQ(kheap_check(h), 0);
    (void)hole;
#else
    /* The default policy: no call needed. */
    for (int i = 0; i < 3000; i++) p[i] = (unsigned char)(i * 5);
    size_t nfree = heap_stats(h).free_blocks;
    unsigned char *q = kheap_realloc(h, p, 190, 0);
    KH_ASSERT(q);
    KH_CHECK(q == hole); /* moved into the smaller block, which it fills */
    for (int i = 0; i < 190; i++) KH_CHECK(q[i] == (unsigned char)(i * 5));
    /* p's block went back whole: one free block where p was, none at hole */
    KH_CHECK_EQ(heap_stats(h).free_blocks, nfree);
    KH_CHECK(heap_stats(h).largest_free_block >= 3000);
    KH_CHECK_EQ(heap_stats(h).allocations, 3);
    /* No smaller block fits now: trims in place. */
    unsigned char *r = kheap_realloc(h, q, 100, 0);
    KH_CHECK(r == q);
    for (int i = 0; i < 100; i++) KH_CHECK(r[i] == (unsigned char)(i * 5));
    KH_CHECK_EQ(kheap_check(h), 0);
#endif
}

KH_TEST(heap_policy_shrink_moves_never_for_resize_or_large_alignment)
{
    kheap *h = fresh_heap(1 << 17);
    KH_ASSERT(h);
#if !KH_HEAP_FULL
    /* Minimal build: no policy and no alignment above GRAIN; resize and realloc
     * shrink in place. */
    unsigned char *hole = kheap_alloc(h, 500, 0), *g1 = kheap_alloc(h, 16, 0);
    unsigned char *p = kheap_alloc(h, 3000, 0), *a = kheap_alloc(h, 3000, 0);
    unsigned char *g2 = kheap_alloc(h, 16, 0);
    KH_ASSERT(hole && g1 && p && a && g2);
    KH_CHECK(kheap_alloc(h, 3000, 256) == NULL);
    kheap_free(h, hole);
    KH_CHECK(policy_refused(h, KHEAP_SHRINK_MOVES));
    KH_CHECK(kheap_resize(h, p, 100));
    KH_CHECK(kheap_realloc(h, a, 100, 0) == a);
    KH_CHECK(kheap_realloc(h, a, 50, 256) == NULL); /* alignment above GRAIN */
    KH_CHECK_EQ(heap_stats(h).allocations, 4);
    KH_CHECK_EQ(kheap_check(h), 0);
#else
    unsigned char *hole = kheap_alloc(h, 500, 0), *g1 = kheap_alloc(h, 16, 0);
    unsigned char *p = kheap_alloc(h, 3000, 0), *a = kheap_alloc(h, 3000, 256);
    unsigned char *g2 = kheap_alloc(h, 16, 0);
    KH_ASSERT(hole && g1 && p && a && g2);
    kheap_free(h, hole);
    KH_ASSERT(kheap_set_policy(h, KHEAP_SHRINK_MOVES));
    KH_CHECK(kheap_resize(h, p, 100));            /* in place, always */
    KH_CHECK(kheap_realloc(h, a, 100, 256) == a); /* keeps its alignment in place */
    KH_CHECK_EQ(heap_stats(h).allocations, 4);
    KH_CHECK_EQ(kheap_check(h), 0);
#endif
}

KH_TEST(heap_set_policy_rejects_bad_input)
{
    kheap *h = fresh_heap(1 << 16);
    KH_ASSERT(h);
    struct kh_test_reports r;
    kh_test_reports_start(&r);
    KH_CHECK(!kheap_set_policy(NULL, KHEAP_SHRINK_MOVES));
    KH_CHECK(!kheap_set_policy(h, KHEAP_SHRINK_MOVES | 2u));
    kh_test_reports_stop();
    KH_CHECK_EQ(r.count, 2);
    KH_CHECK_EQ(r.last_code, KH_EINVAL);
    /* The refused calls left the default: a shrinking realloc moves into
     * the smaller hole (the minimal build has no policy: in place). */
    unsigned char *hole, *p = hole_before_block(h, &hole);
    KH_ASSERT(p);
#if KH_HEAP_FULL
    unsigned char *q = kheap_realloc(h, p, 150, 0);
    KH_CHECK(q == hole);
    KH_CHECK_EQ(kheap_check(h), 0);
    /* 0 keeps shrinking reallocs in place; the policy can come back. */
    h = fresh_heap(1 << 16);
    KH_ASSERT(h);
    KH_CHECK(kheap_set_policy(h, 0));
    unsigned char *hole2, *p2 = hole_before_block(h, &hole2);
    KH_ASSERT(p2);
    KH_CHECK(kheap_realloc(h, p2, 2000, 0) == p2);
    KH_CHECK(kheap_set_policy(h, KHEAP_SHRINK_MOVES));
    KH_CHECK(kheap_realloc(h, p2, 100, 0) == hole2);
#else
    KH_CHECK(kheap_realloc(h, p, 150, 0) == p);
    KH_CHECK(policy_refused(h, KHEAP_SHRINK_MOVES)); /* no policy in the minimal build */
    KH_CHECK(kheap_set_policy(h, 0));
    KH_CHECK(kheap_realloc(h, p, 100, 0) == p);
    (void)hole;
#endif
    KH_CHECK_EQ(kheap_check(h), 0);
}

#if !KH_HEAP_FULL
static uint32_t bytes_hash(const unsigned char *p, size_t n)
{
    uint32_t x = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < n; i++) x = (x ^ p[i]) * 16777619u;
    return x;
}

/* Minimal build: kheap_realloc (or with in_place kheap_resize) of p beyond
 * its block returns NULL (false) and changes nothing: the statistics, p's
 * usable size and every usable byte stay as they were; the heap checks. */
static bool refused(kheap *h, unsigned char *p, size_t size, size_t align, bool in_place)
{
    struct kheap_stats before = heap_stats(h), after;
    size_t usable = kheap_usable_size(h, p);
    uint32_t sum = bytes_hash(p, usable);
    bool failed = in_place ? !kheap_resize(h, p, size) : kheap_realloc(h, p, size, align) == NULL;
    after = heap_stats(h);
    return failed && usable > 0 && heap_stats_same_state(&before, &after) &&
           kheap_usable_size(h, p) == usable && bytes_hash(p, usable) == sum && kheap_check(h) == 0;
}
#endif

KH_TEST(heap_realloc_grows_into_next_free_block)
{
    unsigned char *m = arena(1 << 16);
    kheap *h = kheap_init(m, 1 << 16);
    KH_ASSERT(h);
    unsigned char *p = kheap_alloc(h, 100, 0), *mid = kheap_alloc(h, 500, 0);
    unsigned char *guard = kheap_alloc(h, 16, 0);
    KH_ASSERT(p && mid && guard);
    memset(p, 7, 100);
    kheap_free(h, mid);
#if !KH_HEAP_FULL
    /* Minimal build: no growth, not even into a free neighbour. Up to the
     * usable size the block stays where it is; the old block stays valid. */
    KH_CHECK(refused(h, p, 550, 0, false));
    KH_CHECK(refused(h, p, kheap_usable_size(h, p) + 1, 0, false));
    KH_CHECK(kheap_realloc(h, p, kheap_usable_size(h, p), 0) == p);
    for (int i = 0; i < 100; i++) KH_CHECK(p[i] == 7);
    kheap_free(h, p);
    KH_CHECK_EQ(heap_stats(h).allocations, 1);
    KH_CHECK_EQ(kheap_check(h), 0);
    h = kheap_init(m, 1 << 16);
    KH_ASSERT(h);
    p = kheap_alloc(h, 16, 0);
    KH_ASSERT(p);
    KH_CHECK(refused(h, p, 100, 0, false)); /* the rest of a fresh heap: still no */
#else
    KH_CHECK(kheap_realloc(h, p, 550, 0) == p);
    for (int i = 0; i < 100; i++) KH_CHECK(p[i] == 7);
    KH_CHECK(kheap_usable_size(h, p) >= 550);
    KH_CHECK_EQ(kheap_check(h), 0);
    /* Growing into the rest of a fresh heap: the peak counts what the block
     * keeps, not the whole free block it took before the tail went back. */
    h = kheap_init(m, 1 << 16);
    KH_ASSERT(h);
    p = kheap_alloc(h, 16, 0);
    KH_ASSERT(p);
    KH_CHECK(kheap_realloc(h, p, 100, 0) == p);
    KH_CHECK_EQ(heap_stats(h).peak_used_bytes, heap_stats(h).used_bytes);
    KH_CHECK_EQ(kheap_check(h), 0);
#endif
}

KH_TEST(heap_realloc_grows_into_previous_free_block)
{
    kheap *h = fresh_heap(1 << 16);
    KH_ASSERT(h);
    unsigned char *a = kheap_alloc(h, 500, 0), *p = kheap_alloc(h, 100, 0);
    unsigned char *guard = kheap_alloc(h, 16, 0);
    KH_ASSERT(a && p && guard);
    unsigned char *rest = kheap_alloc(h, heap_stats(h).largest_free_block, 0); /* heap now full */
    KH_ASSERT(rest);
    for (int i = 0; i < 100; i++) p[i] = (unsigned char)(i * 3);
    kheap_free(h, a);
#if !KH_HEAP_FULL
    KH_CHECK(refused(h, p, 550, 0, false)); /* minimal build: no growth */
    for (int i = 0; i < 100; i++) KH_CHECK(p[i] == (unsigned char)(i * 3));
    kheap_free(h, p); /* still a valid block: merges with a's */
    KH_CHECK_EQ(heap_stats(h).allocations, 2);
    KH_CHECK_EQ(kheap_check(h), 0);
#else
    unsigned char *q = kheap_realloc(h, p, 550, 0);
    KH_ASSERT(q);
    KH_CHECK(q == a); /* moved down into the freed neighbour */
    for (int i = 0; i < 100; i++) KH_CHECK(q[i] == (unsigned char)(i * 3));
    KH_CHECK_EQ(kheap_check(h), 0);
#endif
}

KH_TEST(heap_realloc_move_keeps_alignment)
{
    kheap *h = fresh_heap(1 << 18);
    KH_ASSERT(h);
#if !KH_HEAP_FULL
    /* Minimal build: no alignment above GRAIN, so nothing to keep or move to;
     * every such request returns NULL and leaves the block as it was. */
    KH_CHECK(kheap_alloc(h, 100, 4096) == NULL);
    unsigned char *r = kheap_alloc(h, 40, 0);
    KH_ASSERT(r);
    memset(r, 9, 40);
    for (size_t a = 2 * GRAIN; a <= 131072; a <<= 1) {
        KH_CHECK(refused(h, r, 40, a, false));
        KH_CHECK(refused(h, r, 20000, a, false));
    }
    KH_CHECK(refused(h, r, 20000, GRAIN, false)); /* growth */
    KH_CHECK(kheap_realloc(h, r, 20, GRAIN) == r);
    for (int i = 0; i < 20; i++) KH_CHECK(r[i] == 9);
    KH_CHECK_EQ(heap_stats(h).allocations, 1);
    KH_CHECK_EQ(kheap_check(h), 0);
#else
    unsigned char *p = kheap_alloc(h, 100, 4096);
    unsigned char *block = kheap_alloc(h, 16, 0); /* pins p's end */
    KH_ASSERT(p && block);
    for (int i = 0; i < 100; i++) p[i] = (unsigned char)(i ^ 0x33);
    unsigned char *q = kheap_realloc(h, p, 20000, 4096);
    KH_ASSERT(q);
    KH_CHECK((uintptr_t)q % 4096 == 0);
    for (int i = 0; i < 100; i++) KH_CHECK(q[i] == (unsigned char)(i ^ 0x33));
    /* A block not aligned to the newly requested alignment is moved. */
    unsigned char *r = kheap_alloc(h, 40, 0);
    KH_ASSERT(r);
    size_t big = (uintptr_t)r % 65536 ? 65536 : 131072;
    memset(r, 9, 40);
    unsigned char *s = kheap_realloc(h, r, 40, big);
    KH_ASSERT(s);
    KH_CHECK((uintptr_t)s % big == 0);
    for (int i = 0; i < 40; i++) KH_CHECK(s[i] == 9);
    KH_CHECK_EQ(kheap_check(h), 0);
#endif
}

KH_TEST(heap_resize_is_in_place_only)
{
    kheap *h = fresh_heap(1 << 16);
    KH_ASSERT(h);
    unsigned char *a = kheap_alloc(h, 300, 0), *p = kheap_alloc(h, 100, 0);
    unsigned char *mid = kheap_alloc(h, 400, 0), *guard = kheap_alloc(h, 16, 0);
    KH_ASSERT(a && p && mid && guard);
    memset(p, 0x42, 100);
    KH_CHECK(!kheap_resize(h, p, 200)); /* next block used: no */
    kheap_free(h, mid);
#if KH_HEAP_FULL
    KH_CHECK(kheap_resize(h, p, 450)); /* grows into the freed neighbour */
    KH_CHECK(kheap_usable_size(h, p) >= 450);
#else
    KH_CHECK(refused(h, p, 450, 0, true));                 /* minimal build: no growth */
    KH_CHECK(kheap_resize(h, p, kheap_usable_size(h, p))); /* within the block */
#endif
    KH_CHECK(!kheap_resize(h, p, 5000)); /* not enough room after it */
    kheap_free(h, a);
    KH_CHECK(!kheap_resize(h, p, 700)); /* free space before it is not used */
    KH_CHECK(kheap_resize(h, p, 50));   /* shrinks */
    KH_CHECK(kheap_usable_size(h, p) < 100);
    for (int i = 0; i < 50; i++) KH_CHECK(p[i] == 0x42);
    KH_CHECK(!kheap_resize(h, NULL, 10));
    KH_CHECK(!kheap_resize(h, p, SIZE_MAX));
    KH_CHECK_EQ(heap_stats(h).allocations, 2);
    KH_CHECK_EQ(kheap_check(h), 0);
}

KH_TEST(heap_realloc_failure_keeps_old_block)
{
    kheap *h = fresh_heap(1 << 16);
    KH_ASSERT(h);
    unsigned char *p = kheap_alloc(h, 300, 0);
    KH_ASSERT(p);
    for (int i = 0; i < 300; i++) p[i] = (unsigned char)(i * 7);
    struct kheap_stats before = heap_stats(h);
    KH_CHECK(kheap_realloc(h, p, 1 << 20, 0) == NULL);
    KH_CHECK(kheap_realloc(h, p, 1 << 15, 1 << 15) == NULL);
    struct kheap_stats after = heap_stats(h);
    KH_CHECK_EQ(after.used_bytes, before.used_bytes);
    KH_CHECK_EQ(after.allocations, before.allocations);
    for (int i = 0; i < 300; i++) KH_CHECK(p[i] == (unsigned char)(i * 7));
    kheap_free(h, p); /* still a valid block */
    KH_CHECK_EQ(heap_stats(h).allocations, 0);
    KH_CHECK_EQ(kheap_check(h), 0);
}

/* ---- regions ---- */

KH_TEST(heap_add_region_rejects_bad_input)
{
    unsigned char *m = arena(1 << 17);
    kheap *h = kheap_init(m, 1 << 16);
    KH_ASSERT(h);
    struct kheap_stats before = heap_stats(h);
    KH_CHECK(!kheap_add_region(NULL, m + (1 << 16), 4096));
    KH_CHECK(!kheap_add_region(h, NULL, 4096));
    KH_CHECK(!kheap_add_region(h, m + (1 << 16), 8));                  /* too small */
    KH_CHECK(!kheap_add_region(h, m + 100, 4096));                     /* overlaps */
    KH_CHECK(!kheap_add_region(h, m + (1 << 16) - 64, 4096));          /* overlaps the end */
    KH_CHECK(!kheap_add_region(h, (void *)(UINTPTR_MAX - 100), 4096)); /* wraps */
    struct kheap_stats after = heap_stats(h);
    KH_CHECK(heap_stats_same_state(&before, &after));
    KH_CHECK_EQ(kheap_check(h), 0);
}

KH_TEST(heap_add_region_separate_and_used)
{
    unsigned char *m = arena(1 << 18);
    kheap *h = kheap_init_ex(m, 8192, 1 << 18);
    KH_ASSERT(h);
    KH_CHECK(kheap_alloc(h, 50000, 0) == NULL);
    KH_CHECK(kheap_add_region(h, m + 100000 + 5, 70000));
    KH_CHECK_EQ(heap_stats(h).regions, 2);
    unsigned char *p = kheap_alloc(h, 50000, 0);
    KH_ASSERT(p);
    KH_CHECK(p >= m + 100000 && p + 50000 <= m + 170005);
    kheap_free(h, p);
    KH_CHECK_EQ(heap_stats(h).free_blocks, 2);
    KH_CHECK_EQ(kheap_check(h), 0);
}

KH_TEST(heap_add_region_adjacent_coalesces)
{
    unsigned char *m = arena(1 << 18);
    /* [0,A) initial, then [A,B) after it, [C,D) apart, then [B,C) fills the hole. */
    size_t A = 10000, B = 30000, C = 50000, D = 70001;
    kheap *h = kheap_init_ex(m, A, 1 << 18);
    KH_ASSERT(h);
    KH_CHECK(kheap_add_region(h, m + A, B - A));
    KH_CHECK_EQ(heap_stats(h).regions, 1);
    KH_CHECK_EQ(heap_stats(h).free_blocks, 1);
    KH_CHECK(kheap_add_region(h, m + C, D - C));
    KH_CHECK_EQ(heap_stats(h).regions, 2);
    KH_CHECK(kheap_add_region(h, m + B, C - B));
    KH_CHECK_EQ(heap_stats(h).regions, 1);
    KH_CHECK_EQ(heap_stats(h).free_blocks, 1);
    KH_CHECK_EQ(kheap_check(h), 0);
    /* One block spanning what were four regions. */
    struct kheap_stats s = heap_stats(h);
    KH_CHECK(s.total_bytes + s.overhead_bytes == D);
    void *p = kheap_alloc(h, 60000, 0);
    KH_CHECK(p != NULL);
    kheap_free(h, p);
    /* A region placed just before an existing one merges with it too. */
    kheap *h2 = kheap_init_ex(m + 100000, 10000, 1 << 18);
    KH_ASSERT(h2);
    KH_CHECK(kheap_add_region(h2, m + 150000, 20000));
    KH_CHECK(kheap_add_region(h2, m + 130000, 20000));
    KH_CHECK_EQ(heap_stats(h2).regions, 2);
    KH_CHECK_EQ(heap_stats(h2).free_blocks, 2);
    KH_CHECK(kheap_alloc(h2, 38000, 0) != NULL);
    KH_CHECK_EQ(kheap_check(h2), 0);
}

KH_TEST(heap_max_block_bounds_index)
{
    unsigned char *m = arena(1 << 20);
    memset(m, 0xff, 1 << 20);       /* stale memory must not look like free blocks */
    kheap *h = kheap_init(m, 4096); /* index sized for 4 KiB blocks */
    KH_ASSERT(h);
    size_t max = heap_stats(h).max_block;
    KH_CHECK(max >= 4096 - 512 && max < 8192);
    KH_CHECK(kheap_add_region(h, m + 8192, 100000));
    /* The region is carved into blocks no bigger than max_block. */
    KH_CHECK(heap_stats(h).free_blocks >= 100000 / max);
    KH_CHECK(kheap_alloc(h, max, 0) == NULL || max < 4096);
    void *p = kheap_alloc(h, max - 2 * GRAIN, 0);
    KH_CHECK(p != NULL);
    KH_CHECK(kheap_alloc(h, 50000, 0) == NULL);
    KH_CHECK_EQ(kheap_check(h), 0);
    /* A small heap has a small control block. */
    KH_CHECK(kheap_control_bytes(4096) < kheap_control_bytes(1 << 20));
    KH_CHECK(kheap_control_bytes(64 << 10) < 1024 + 64 * sizeof(void *) + 16 * 2 * sizeof(void *));
}

/* ---- stats and walk ---- */

static void walk_sum(void *block, size_t size, bool used, void *ctx)
{
    size_t *acc = ctx;
    acc[used ? 0 : 1] += size + WORD;
    acc[2]++;
    if (acc[3] && (uintptr_t)block <= acc[3]) acc[4]++; /* out of order */
    acc[3] = (uintptr_t)block;
}

KH_TEST(heap_stats_and_walk_agree)
{
    kheap *h = fresh_heap(1 << 18);
    KH_ASSERT(h);
    void *p[50];
    for (int i = 0; i < 50; i++) p[i] = kheap_alloc(h, (size_t)(i * 97 + 1), 0);
    for (int i = 0; i < 50; i += 3) kheap_free(h, p[i]);
    struct kheap_stats s = heap_stats(h);
    size_t acc[5] = {0};
    kheap_walk(h, walk_sum, acc);
    KH_CHECK_EQ(acc[0], s.used_bytes);
    KH_CHECK_EQ(acc[1], s.free_bytes);
    KH_CHECK_EQ(acc[4], 0);
    KH_CHECK_EQ(s.total_bytes, s.used_bytes + s.free_bytes);
    KH_CHECK_EQ(s.allocations, 50 - 17);
    KH_CHECK(s.peak_used_bytes >= s.used_bytes);
    size_t peak = s.peak_used_bytes;
    for (int i = 0; i < 50; i++)
        if (i % 3) kheap_free(h, p[i]);
    s = heap_stats(h);
    KH_CHECK_EQ(s.used_bytes, 0);
    KH_CHECK_EQ(s.peak_used_bytes, peak);
    KH_CHECK(kheap_alloc(h, s.largest_free_block, 0) != NULL);
}

/* ---- growth through a source ---- */

struct test_source {
    unsigned char *mem;
    size_t left, calls, granule;
};

static void *test_grow(void *ctx, size_t min_bytes, size_t *got)
{
    struct test_source *s = ctx;
    s->calls++;
    size_t n = (min_bytes + s->granule - 1) / s->granule * s->granule;
    if (n > s->left) return NULL;
    void *p = s->mem;
    s->mem += n + 64; /* never adjacent: a new region each time */
    s->left -= n + 64 > s->left ? s->left : n + 64;
    *got = n;
    return p;
}

static const struct kh_source_ops test_source_ops = {test_grow, NULL};

KH_TEST(heap_grows_through_source_once_per_failure)
{
    unsigned char *m = arena(1 << 20);
    kheap *h = kheap_init_ex(m, 4096, 1 << 20);
    KH_ASSERT(h);
    struct test_source ts = {m + 8192, 200000, 0, 4096};
    struct kh_source src = {&ts, &test_source_ops};
#if !KH_HEAP_FULL
    /* Minimal build: no growth. Attaching a source is refused and reported;
     * a failing allocation never calls it and changes nothing. */
    struct kh_test_reports r;
    kh_test_reports_start(&r);
    kheap_set_source(h, &src);
    KH_CHECK_EQ(r.count, 1);
    KH_CHECK_EQ(r.last_code, KH_EINVAL);
    kheap_set_source(h, NULL); /* detaching: nothing to do, nothing reported */
    KH_CHECK_EQ(r.count, 1);
    kheap_set_source(h, &src);
    kh_test_reports_stop();
    struct kheap_stats before = heap_stats(h);
    KH_CHECK(kheap_alloc(h, 10000, 0) == NULL);
    KH_CHECK(kheap_alloc_flags(h, 10000, 0, 0) == NULL);
    KH_CHECK(kheap_zalloc(h, 10000, 0) == NULL);
    KH_CHECK(kheap_realloc(h, NULL, 10000, 0) == NULL);
    struct kheap_stats after = heap_stats(h);
    KH_CHECK(heap_stats_same_state(&before, &after));
    KH_CHECK_EQ(ts.calls, 0);
    KH_CHECK_EQ(heap_stats(h).regions, 1);
    KH_CHECK(kheap_alloc(h, 100, 0) != NULL); /* what fits still succeeds */
    KH_CHECK_EQ(kheap_check(h), 0);
#else
    kheap_set_source(h, &src);
    void *p = kheap_alloc(h, 10000, 0);
    KH_ASSERT(p);
    KH_CHECK_EQ(ts.calls, 1);
    KH_CHECK_EQ(heap_stats(h).regions, 2);
    /* Atomic and no-grow requests never call the source, nor does one that
     * cannot succeed (bad alignment): the heap keeps the regions it has. */
    KH_CHECK(kheap_alloc_flags(h, 100000, 0, KH_GFP_ATOMIC) == NULL);
    KH_CHECK(kheap_alloc_flags(h, 100000, 0, KH_GFP_NOGROW) == NULL);
    KH_CHECK(kheap_alloc(h, 100000, 48) == NULL);
    KH_CHECK(kheap_realloc(h, p, 100000, 48) == NULL);
    KH_CHECK_EQ(ts.calls, 1);
    KH_CHECK_EQ(heap_stats(h).regions, 2);
    /* Beyond the source's limit: one call, clean failure. */
    KH_CHECK(kheap_alloc(h, 500000, 0) == NULL);
    KH_CHECK_EQ(ts.calls, 2);
    KH_CHECK_EQ(kheap_check(h), 0);
    kheap_set_source(h, NULL);
    KH_CHECK(kheap_alloc(h, 500000, 0) == NULL);
    KH_CHECK_EQ(ts.calls, 2);
#endif
}

/* ---- the model: random operations over several regions ---- */

static struct heap_model model;

static void run_model_policy(unsigned nregions, int adjacent, size_t ops, size_t bytes_cap,
                             unsigned policy)
{
    size_t n;
    unsigned char *m = kh_test_arena(&n);
    if (n > bytes_cap) n = bytes_cap;
    KH_ASSERT(heap_model_init(&model, m, n, nregions, adjacent) == 0);
#if KH_HEAP_FULL
    KH_ASSERT(kheap_set_policy(model.h, policy));
#else
    /* Minimal build: any policy is refused; the model runs with none. */
    KH_ASSERT(policy ? policy_refused(model.h, policy) : kheap_set_policy(model.h, 0));
#endif
    for (size_t i = 0; i < ops && !model.error; i++) {
        uint64_t r = kh_test_rand();
        heap_model_step(&model, (uint32_t)r, (uint32_t)(r >> 32), (uint32_t)kh_test_rand());
        if (i % 4096 == 0) heap_model_verify(&model);
    }
    heap_model_finish(&model);
    if (model.error) kh_test_fail(__FILE__, __LINE__, model.error);
    KH_CHECK(model.ops >= ops);
    /* The minimal build's refusals (large alignments, realloc beyond the
     * block) were exercised, and checked by the model. */
    KH_CHECK(KH_HEAP_FULL ? model.refused == 0 : model.refused > 0);
}

static void run_model(unsigned nregions, int adjacent, size_t ops, size_t bytes_cap)
{
    run_model_policy(nregions, adjacent, ops, bytes_cap, 0);
}

/* An index much smaller than the regions: free space comes in max_block
 * pieces side by side, which growth in place and merging must never join
 * past max_block (kheap_check and the model see every block). */
KH_TEST(heap_model_small_index_big_regions)
{
    size_t n;
    unsigned char *m = kh_test_arena(&n);
    if (n > (8u << 20)) n = 8u << 20;
    for (unsigned layout = 0; layout < 3; layout++) {
        KH_ASSERT(heap_model_init_ex(&model, m, n, 2 + layout, layout == 2, 4096 << layout) == 0);
        for (size_t i = 0; i < kh_test_iters(60000) && !model.error; i++) {
            uint64_t r = kh_test_rand();
            heap_model_step(&model, (uint32_t)r, (uint32_t)(r >> 32), (uint32_t)kh_test_rand());
            if (i % 2048 == 0) heap_model_verify(&model);
        }
        heap_model_finish(&model);
        if (model.error) kh_test_fail(__FILE__, __LINE__, model.error);
    }
}

KH_TEST(heap_model_one_region)
{
    run_model(1, 0, kh_test_iters(250000), (size_t)-1);
}

KH_TEST(heap_model_three_regions)
{
    run_model(3, 0, kh_test_iters(250000), (size_t)-1);
}

KH_TEST(heap_model_adjacent_regions)
{
    run_model(4, 1, kh_test_iters(250000), (size_t)-1);
}

KH_TEST(heap_model_small_heap_near_full)
{
    /* 256 KiB: allocations fail often; failures must change nothing. */
    run_model(2, 0, kh_test_iters(250000), 256 << 10);
    KH_CHECK(model.failures > 0);
    KH_CHECK_EQ(model.shrink_moves, 0); /* the default policy shrinks in place */
}

KH_TEST(heap_model_shrink_moves)
{
    /* The relocating-shrink policy under the same model, roomy and near full. */
    run_model_policy(3, 1, kh_test_iters(150000), (size_t)-1, KHEAP_SHRINK_MOVES);
    KH_CHECK(KH_HEAP_FULL ? model.shrink_moves > 0 : model.shrink_moves == 0);
    run_model_policy(1, 0, kh_test_iters(150000), 256 << 10, KHEAP_SHRINK_MOVES);
    KH_CHECK(model.failures > 0);
    /* The minimal build refused the policy: nothing moves on a shrink. */
    KH_CHECK(KH_HEAP_FULL ? model.shrink_moves > 0 : model.shrink_moves == 0);
}

/* ---- the model with misuse between the valid operations ---- */

/* Random valid operations, and after every few a misuse of every class
 * (stale, interior, misaligned, foreign, outside) through every entry
 * point; after each one the model checks the report, the statistics, every
 * live block's contents and kheap_check. */
static void run_adversarial(unsigned nregions, int adjacent, size_t ops, size_t bytes_cap,
                            unsigned policy)
{
    size_t n;
    unsigned char *m = kh_test_arena(&n);
    size_t other = 64 << 10;
    KH_ASSERT(n > 4 * other);
    unsigned char *foreign = m + n - other;
    n -= other;
    if (n > bytes_cap) n = bytes_cap;
    KH_ASSERT(heap_model_init(&model, m, n, nregions, adjacent) == 0);
    KH_ASSERT(heap_model_set_foreign(&model, foreign, other) == 0);
    if (policy) KH_ASSERT(kheap_set_policy(model.h, policy));
    for (size_t i = 0; i < ops && !model.error; i++) {
        uint64_t r = kh_test_rand();
        heap_model_step(&model, (uint32_t)r, (uint32_t)(r >> 32), (uint32_t)kh_test_rand());
        if (i % 4 == 0) {
            r = kh_test_rand();
            heap_model_misuse(&model, (unsigned)(i / 4), (uint32_t)r, (uint32_t)(r >> 32));
        }
    }
    heap_model_check_collisions(&model);
    unsigned long long tries = 0, hits = 0;
    for (unsigned c = 0; c < HEAP_MISUSE_CLASSES; c++)
        tries += model.misuses[c], hits += model.collisions[c];
    struct kheap_stats st;
    kheap_stats(model.h, &st);
    kh_test_print("  misuses ");
    kh_test_print_u(tries);
    kh_test_print(", taken for a live block ");
    kh_test_print_u(hits);
    kh_test_print(" (check bits ");
    kh_test_print_u(st.check_bits);
    kh_test_print(")\n");
    heap_model_finish(&model);
    if (model.error) kh_test_fail(__FILE__, __LINE__, model.error);
    for (unsigned c = 0; c < HEAP_MISUSE_CLASSES; c++) KH_CHECK(model.misuses[c] > ops / 64);
}

KH_TEST_TAGGED(heap_model_adversarial_one_region, "checks")
{
    run_adversarial(1, 0, kh_test_iters(40000), (size_t)-1, 0);
}

KH_TEST_TAGGED(heap_model_adversarial_regions_near_full, "checks")
{
    run_adversarial(3, 1, kh_test_iters(40000), 256 << 10, 0);
    KH_CHECK(model.failures > 0);
}

KH_TEST_TAGGED(heap_model_adversarial_shrink_moves, "checks full-heap")
{
    run_adversarial(4, 0, kh_test_iters(30000), 1 << 20, KHEAP_SHRINK_MOVES);
}

/* ---- the heap behind the kh_allocator interface ---- */

/* log2(GRAIN): the largest alignment the minimal build's models ask for. */
#define G_LOG2 (GRAIN == 16 ? 4u : GRAIN == 8 ? 3u : 2u)

static int heap_check_cb(void *ctx)
{
    return kheap_check(ctx);
}

static size_t heap_in_use(void *ctx)
{
    return heap_stats(ctx).allocations;
}

KH_TEST(heap_seed_tests)
{
    kheap *h = fresh_heap(KH_SEED_HEAP_SIZE);
    KH_ASSERT(h);
    kh_seed_check_all(kheap_allocator(h), KH_SEED_HEAP_SIZE);
    KH_CHECK_EQ(kheap_check(h), 0);
    KH_CHECK_EQ(heap_stats(h).allocations, 0);
}

KH_TEST(heap_interface_model)
{
    size_t n;
    unsigned char *m = kh_test_arena(&n);
    size_t bytes = n < (4u << 20) ? n : (4u << 20);
    kheap *h = kheap_init(m, bytes);
    KH_ASSERT(h);
    struct kh_model_config c = {.a = kheap_allocator(h),
                                .ops = kh_test_iters(50000),
                                .max_size = 8192,
                                .max_align_log2 = KH_HEAP_FULL ? 12 : G_LOG2,
                                .may_fail = true,
                                .check = heap_check_cb,
                                .check_ctx = h,
                                .check_every = 509};
    struct kh_model_result r = kh_model_run(&c);
    KH_CHECK(kh_model_ok("kheap", &r));
    KH_CHECK_EQ(heap_stats(h).allocations, 0);
    KH_CHECK_EQ(heap_stats(h).free_blocks, 1);
}

KH_TEST(heap_interface_fault_injection)
{
    kheap *h = fresh_heap(1u << 18);
    KH_ASSERT(h);
    struct kh_model_fault_config c = {.in_use = heap_in_use, .ctx = h};
    c.model.a = kheap_allocator(h);
    c.model.ops = 200;
    c.model.max_size = 1024;
    c.model.max_align_log2 = KH_HEAP_FULL ? 8 : G_LOG2;
    c.model.check = heap_check_cb;
    c.model.check_ctx = h;
    c.model.check_every = 10;
    struct kh_model_result r = kh_model_fault_run(&c);
    KH_CHECK(kh_model_ok("kheap faults", &r));
    KH_CHECK(r.fault_runs > 50);
    KH_CHECK_EQ(kheap_check(h), 0);
}
