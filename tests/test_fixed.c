/* SPDX-License-Identifier: MIT */
/* Fixed-size-block allocator: classes, reuse, fallback, misuse, seed tests,
 * model and fault injection. The backing allocator is the core heap. */
#include "kh_test.h"

#include "alloc_model.h"
#include "seed_tests.h"

#include "kheap/config.h"
#include "kheap/error.h"
#include "kheap/fixed.h"
#include "kheap/heap.h"

#include <string.h>

/* A core heap over the first `bytes` of the test arena. */
static kheap *backing_heap(size_t bytes)
{
    size_t n;
    unsigned char *mem = kh_test_arena(&n);
    return kheap_init(mem, bytes < n ? bytes : n);
}

static size_t heap_used(kheap *h)
{
    struct kheap_stats st;
    kheap_stats(h, &st);
    return st.used_bytes;
}

static int fixed_check_cb(void *ctx)
{
    return kh_fixed_check(ctx);
}

static size_t fixed_in_use(void *ctx)
{
    struct kh_fixed_stats st;
    kh_fixed_stats(ctx, &st);
    return st.live_blocks + st.large_blocks + st.large_bytes;
}

KH_TEST(fixed_class_selection)
{
    KH_CHECK_EQ(kh_fixed_class(1, 1), 0);
    KH_CHECK_EQ(kh_fixed_class(0, 1), 0);
    KH_CHECK_EQ(kh_fixed_class(8, 8), 0);
    KH_CHECK_EQ(kh_fixed_class(9, 1), 1);
    KH_CHECK_EQ(kh_fixed_class(1, 64), 3); /* alignment picks the class too */
    KH_CHECK_EQ(kh_fixed_class(8, 0), kh_fixed_class(KH_ALIGN_DEFAULT, 1));
    KH_CHECK_EQ(kh_fixed_class(2048, 1), 8);
    KH_CHECK_EQ(kh_fixed_class(1, 2048), 8);
    KH_CHECK_EQ((unsigned)kh_fixed_class(2049, 1), (unsigned)-1);
    KH_CHECK_EQ((unsigned)kh_fixed_class(1, 4096), (unsigned)-1);
    KH_CHECK_EQ((unsigned)kh_fixed_class(1, 3), (unsigned)-1);
    KH_CHECK_EQ((unsigned)kh_fixed_class(SIZE_MAX, 1), (unsigned)-1);
}

KH_TEST_TAGGED(fixed_blocks_are_reused_per_class, "full-heap")
{
    kheap *h = backing_heap(1u << 20);
    KH_ASSERT(h);
    struct kh_fixed f;
    KH_ASSERT_EQ(kh_fixed_init(&f, kheap_allocator(h)), 0);
    void *a = kh_fixed_alloc(&f, 24, 8, 0);
    KH_ASSERT(a);
    KH_CHECK_EQ((uintptr_t)a % 32, 0);
    kh_fixed_free(&f, a, 24, 8);
    void *b = kh_fixed_alloc(&f, 17, 1, 0); /* same class (32): same block */
    KH_CHECK(b == a);
    void *c = kh_fixed_alloc(&f, 100, 1, 0); /* other class: new block */
    KH_CHECK(c && c != a);
    struct kh_fixed_stats st;
    kh_fixed_stats(&f, &st);
    KH_CHECK_EQ(st.refills, 2);
    KH_CHECK_EQ(st.live_blocks, 2);
    KH_CHECK_EQ(st.live_bytes, 32 + 128);
    KH_CHECK_EQ(st.cached_blocks, 0);
    kh_fixed_free(&f, b, 17, 1);
    kh_fixed_free(&f, c, 100, 1);
    kh_fixed_stats(&f, &st);
    KH_CHECK_EQ(st.cached_blocks, 2);
    KH_CHECK(heap_used(h) > 0); /* cached blocks still belong to f */
    KH_CHECK_EQ(kh_fixed_shrink(&f), 32 + 128);
    KH_CHECK_EQ(heap_used(h), 0);
    KH_CHECK_EQ(kh_fixed_check(&f), 0);
    KH_CHECK_EQ(kh_fixed_destroy(&f), 0);
}

KH_TEST_TAGGED(fixed_every_class_and_alignment, "full-heap")
{
    kheap *h = backing_heap(1u << 22);
    KH_ASSERT(h);
    struct kh_fixed f;
    kh_fixed_init(&f, kheap_allocator(h));
    static void *blocks[12][13];
    for (size_t s = 0; s < 12; s++) {
        for (size_t al = 0; al < 13; al++) {
            size_t size = ((size_t)1 << s) - 1, align = (size_t)1 << al;
            unsigned char *p = kh_fixed_alloc(&f, size, align, KH_GFP_ZERO);
            blocks[s][al] = p;
            KH_ASSERT(p);
            KH_CHECK_EQ((uintptr_t)p % align, 0);
            for (size_t i = 0; i < size; i++) KH_ASSERT(p[i] == 0);
            for (size_t i = 0; i < size; i++) p[i] = (unsigned char)(s + al);
        }
    }
    for (size_t s = 0; s < 12; s++)
        for (size_t al = 0; al < 13; al++) {
            size_t size = ((size_t)1 << s) - 1;
            unsigned char *p = blocks[s][al];
            for (size_t i = 0; i < size; i++) KH_ASSERT(p[i] == (unsigned char)(s + al));
            kh_fixed_free(&f, p, size, (size_t)1 << al);
        }
    KH_CHECK_EQ(kh_fixed_check(&f), 0);
    KH_CHECK_EQ(fixed_in_use(&f), 0);
    KH_CHECK_EQ(kh_fixed_destroy(&f), 0);
    KH_CHECK_EQ(heap_used(h), 0);
}

KH_TEST_TAGGED(fixed_large_requests_go_to_backing, "full-heap")
{
    kheap *h = backing_heap(1u << 20);
    KH_ASSERT(h);
    struct kh_fixed f;
    kh_fixed_init(&f, kheap_allocator(h));
    void *big = kh_fixed_alloc(&f, 5000, 0, 0);
    void *aligned = kh_fixed_alloc(&f, 16, 8192, 0);
    KH_ASSERT(big && aligned);
    KH_CHECK_EQ((uintptr_t)aligned % 8192, 0);
    struct kh_fixed_stats st;
    kh_fixed_stats(&f, &st);
    KH_CHECK_EQ(st.large_blocks, 2);
    KH_CHECK_EQ(st.large_bytes, 5016);
    KH_CHECK_EQ(st.refills, 0);
    /* Large stays large: the heap resizes in place (or says no). */
    KH_CHECK(kh_fixed_resize(&f, big, 5000, 4000, 0));
    KH_CHECK(!kh_fixed_resize(&f, big, 4000, 100, 0)); /* would change class */
    kh_fixed_free(&f, aligned, 16, 8192);
    kh_fixed_free(&f, big, 4000, 0);
    KH_CHECK_EQ(heap_used(h), 0);
    KH_CHECK_EQ(kh_fixed_destroy(&f), 0);
}

KH_TEST_TAGGED(fixed_resize_within_class, "full-heap")
{
    kheap *h = backing_heap(1u << 20);
    KH_ASSERT(h);
    struct kh_fixed f;
    kh_fixed_init(&f, kheap_allocator(h));
    void *p = kh_fixed_alloc(&f, 33, 1, 0); /* class 64 */
    KH_ASSERT(p);
    KH_CHECK(kh_fixed_resize(&f, p, 33, 64, 1));
    KH_CHECK(kh_fixed_resize(&f, p, 64, 40, 1));
    KH_CHECK(!kh_fixed_resize(&f, p, 40, 65, 1));
    KH_CHECK(!kh_fixed_resize(&f, p, 40, 32, 1)); /* a smaller class cannot take it */
    KH_CHECK(!kh_fixed_resize(&f, NULL, 0, 8, 1));
    /* kh_realloc moves across classes, keeping the contents. */
    kh_allocator a = kh_fixed_allocator(&f);
    ((unsigned char *)p)[0] = 0x5a;
    unsigned char *q = kh_realloc(a, p, 40, 3000, 1, 0);
    KH_ASSERT(q);
    KH_CHECK_EQ(q[0], 0x5a);
    kh_free(a, q, 3000, 1);
    KH_CHECK_EQ(fixed_in_use(&f), 0);
    kh_fixed_destroy(&f);
    KH_CHECK_EQ(heap_used(h), 0);
}

KH_TEST(fixed_backing_failure_is_clean)
{
    struct kh_fixed f;
    kh_fixed_init(&f, kh_failing_allocator());
    KH_CHECK(kh_fixed_alloc(&f, 8, 0, 0) == NULL);
    KH_CHECK(kh_fixed_alloc(&f, 8000, 0, 0) == NULL);
    KH_CHECK(kh_fixed_alloc(&f, 8, 3, 0) == NULL);
    KH_CHECK(kh_fixed_alloc(&f, SIZE_MAX, 0, 0) == NULL);
    struct kh_fixed_stats st;
    kh_fixed_stats(&f, &st);
    KH_CHECK_EQ(st.live_blocks + st.large_blocks + st.refills, 0);
    KH_CHECK_EQ(kh_fixed_destroy(&f), 0);
    KH_CHECK_EQ(kh_fixed_init(NULL, kh_failing_allocator()), KH_EINVAL);
    kh_allocator none = {NULL, NULL};
    KH_CHECK_EQ(kh_fixed_init(&f, none), KH_EINVAL);
}

KH_TEST_TAGGED(fixed_misuse_is_reported, "full-heap")
{
    kheap *h = backing_heap(1u << 20);
    KH_ASSERT(h);
    struct kh_fixed f;
    struct kh_test_reports r;
    kh_fixed_init(&f, kheap_allocator(h));
    unsigned char *a = kh_fixed_alloc(&f, 64, 1, 0);
    unsigned char *b = kh_fixed_alloc(&f, 64, 1, 0);
    KH_ASSERT(a && b);
    kh_test_reports_start(&r);
#if KH_CONFIG_CHECKS
    kh_fixed_free(&f, a + 8, 64, 1); /* not a block of the class */
    KH_CHECK_EQ(r.count, 1);
    KH_CHECK_EQ(r.last_code, KH_EFAULT);
    kh_fixed_free(&f, a, 64, 1);
    kh_fixed_free(&f, a, 64, 1); /* double free at the head of the list */
    KH_CHECK_EQ(r.count, 2);
    KH_CHECK_EQ(r.last_code, KH_EDOUBLE);
    kh_fixed_free(&f, b, 16, 1); /* wrong class, nothing live there */
    KH_CHECK_EQ(r.count, 3);
    KH_CHECK_EQ(r.last_code, KH_EDOUBLE);
    KH_CHECK_EQ(kh_fixed_check(&f), 0);
    KH_CHECK_EQ(kh_fixed_destroy(&f), KH_EBUSY); /* b still live */
    KH_CHECK_EQ(r.last_code, KH_EBUSY);
    KH_CHECK_EQ(kh_fixed_destroy(&f), KH_EINVAL);
    KH_CHECK(kh_fixed_alloc(&f, 8, 0, 0) == NULL);
    KH_CHECK_EQ(r.count, 6);
    KH_CHECK_EQ(r.last_code, KH_EINVAL);
#else
    kh_fixed_free(&f, a, 64, 1);
    KH_CHECK_EQ(kh_fixed_destroy(&f), KH_EBUSY);
    KH_CHECK_EQ(kh_fixed_destroy(&f), KH_EINVAL);
    KH_CHECK_EQ(r.count, 0);
#endif
    kh_test_reports_stop();
    kheap_free(h, b);
    KH_CHECK_EQ(heap_used(h), 0);
}

KH_TEST(fixed_deep_double_free_is_caught)
{
    kheap *h = backing_heap(1u << 20);
    KH_ASSERT(h);
    struct kh_fixed f;
    struct kh_test_reports r;
    kh_fixed_init(&f, kheap_allocator(h));
    void *a = kh_fixed_alloc(&f, 8, 8, 0);
    void *b = kh_fixed_alloc(&f, 8, 8, 0);
    void *c = kh_fixed_alloc(&f, 8, 8, 0);
    KH_ASSERT(a && b && c);
    kh_fixed_free(&f, a, 8, 8);
    kh_fixed_free(&f, b, 8, 8);
    kh_test_reports_start(&r);
    kh_fixed_free(&f, a, 8, 8); /* not at the head of its list, a block still live */
#if KH_CONFIG_CHECKS
    /* Caught by the free block's check word, O(1): nothing changed. */
    KH_CHECK_EQ(r.count, 1);
    KH_CHECK_EQ(r.last_code, KH_EDOUBLE);
    KH_CHECK_EQ(kh_fixed_check(&f), 0);
    struct kh_fixed_stats st;
    kh_fixed_stats(&f, &st);
    KH_CHECK_EQ(st.live_blocks, 1);
    KH_CHECK_EQ(st.cached_blocks, 2);
    /* The two free blocks come back once each, then new memory. */
    void *x = kh_fixed_alloc(&f, 8, 8, 0), *y = kh_fixed_alloc(&f, 8, 8, 0);
    void *z = kh_fixed_alloc(&f, 8, 8, 0);
    KH_CHECK((x == a && y == b) || (x == b && y == a));
    KH_CHECK(z != a && z != b && z != c);
    kh_fixed_free(&f, x, 8, 8);
    kh_fixed_free(&f, y, 8, 8);
    kh_fixed_free(&f, z, 8, 8);
    kh_fixed_free(&f, c, 8, 8);
    KH_CHECK_EQ(kh_fixed_destroy(&f), 0);
    KH_CHECK_EQ(heap_used(h), 0);
#else
    /* Unchecked: the list now has a cycle, which the checker finds. */
    KH_CHECK_EQ(kh_fixed_check(&f), KH_ECORRUPT);
    /* f is corrupt: abandon it (its memory belongs to the test arena). */
#endif
    kh_test_reports_stop();
}

KH_TEST_TAGGED(fixed_seed_tests, "full-heap")
{
    kheap *h = backing_heap(KH_SEED_HEAP_SIZE);
    KH_ASSERT(h);
    struct kh_fixed f;
    kh_fixed_init(&f, kheap_allocator(h));
    kh_seed_check_all(kh_fixed_allocator(&f), KH_SEED_HEAP_SIZE);
    KH_CHECK_EQ(kh_fixed_check(&f), 0);
    KH_CHECK_EQ(kh_fixed_destroy(&f), 0);
    KH_CHECK_EQ(heap_used(h), 0);
}

KH_TEST_TAGGED(fixed_model, "full-heap")
{
    size_t n;
    kh_test_arena(&n);
    size_t bytes = n < (8u << 20) ? n : (8u << 20);
    kheap *h = backing_heap(bytes);
    KH_ASSERT(h);
    struct kh_fixed f;
    kh_fixed_init(&f, kheap_allocator(h));
    struct kh_model_config c = {.a = kh_fixed_allocator(&f),
                                .ops = kh_test_iters(20000),
                                .max_size = 6000,
                                .max_align_log2 = 12,
                                .may_fail = bytes < (8u << 20),
                                .check = fixed_check_cb,
                                .check_ctx = &f,
                                .check_every = 101};
    struct kh_model_result r = kh_model_run(&c);
    KH_CHECK(kh_model_ok("fixed", &r));
    KH_CHECK_EQ(fixed_in_use(&f), 0);
    KH_CHECK_EQ(kh_fixed_destroy(&f), 0);
    KH_CHECK_EQ(heap_used(h), 0);
    KH_CHECK_EQ(kheap_check(h), 0);
}

KH_TEST_TAGGED(fixed_fault_injection, "full-heap")
{
    kheap *h = backing_heap(1u << 20);
    KH_ASSERT(h);
    struct kh_fixed f;
    kh_fixed_init(&f, kheap_allocator(h));
    struct kh_model_fault_config c = {.in_use = fixed_in_use, .ctx = &f};
    c.model.a = kh_fixed_allocator(&f);
    c.model.ops = 200;
    c.model.max_size = 3000;
    c.model.max_align_log2 = 12;
    c.model.check = fixed_check_cb;
    c.model.check_ctx = &f;
    c.model.check_every = 10;
    struct kh_model_result r = kh_model_fault_run(&c);
    KH_CHECK(kh_model_ok("fixed faults", &r));
    KH_CHECK(r.fault_runs > 20);
    KH_CHECK_EQ(kh_fixed_destroy(&f), 0);
    KH_CHECK_EQ(heap_used(h), 0);
}

/* Fault injection below the allocator: the backing heap fails, the fixed
 * allocator must return NULL and count nothing. */
KH_TEST_TAGGED(fixed_backing_faults_lose_nothing, "full-heap")
{
    kheap *h = backing_heap(1u << 20);
    KH_ASSERT(h);
    struct kh_fault fl;
    kh_fault_init(&fl, kheap_allocator(h));
    struct kh_fixed f;
    kh_fixed_init(&f, kh_fault_allocator(&fl));
    for (unsigned long long k = 1; k <= 20; k++) {
        kh_fault_fail_nth(&fl, k);
        void *p[20];
        size_t got = 0;
        for (size_t i = 0; i < 20; i++) {
            p[i] = kh_fixed_alloc(&f, 8u << (i % 10), 0, 0);
            if (p[i]) got++;
        }
        KH_CHECK_EQ(got, 20 - (k <= 20 && fl.failures ? 1 : 0));
        for (size_t i = 0; i < 20; i++) kh_fixed_free(&f, p[i], 8u << (i % 10), 0);
        KH_CHECK_EQ(fixed_in_use(&f), 0);
        kh_fixed_shrink(&f);
        KH_CHECK_EQ(fl.live_blocks, 0);
    }
    KH_CHECK_EQ(kh_fixed_destroy(&f), 0);
    KH_CHECK_EQ(heap_used(h), 0);
}

/* ---- misuse: adversarial model, over a core heap and over kh_kmem ---- */

#include "kheap/slab.h"

static void fixed_stats_cb(void *ctx, size_t out[KH_MODEL_STATS])
{
    struct kh_fixed_stats st;
    kh_fixed_stats(ctx, &st);
    out[0] = st.live_blocks;
    out[1] = st.live_bytes;
    out[2] = st.cached_blocks;
    out[3] = st.cached_bytes;
    out[4] = st.large_blocks;
    out[5] = st.large_bytes;
    out[6] = st.refills;
}

static size_t fixed_block_bytes(size_t size, size_t align)
{
    int c = kh_fixed_class(size, align);
    if (c < 0) return 0;
    size_t b = (size_t)KH_FIXED_MIN_BLOCK << c;
    return b < sizeof(struct kh_fixed_block) ? sizeof(struct kh_fixed_block) : b;
}

/* The backing when it is a kh_kmem (fixed_same_size below). */
static struct kh_kmem *fixed_kmem;

/* Sizes fixed cannot tell apart: the same class, or classes whose blocks
 * are equally big (8 and 16 on 64-bit targets); large sizes (the backing's
 * blocks) that the backing cannot tell apart either: one kh_kmem class. */
static bool fixed_same_size(size_t a, size_t b, size_t align)
{
    size_t x = fixed_block_bytes(a, align), y = fixed_block_bytes(b, align);
    if (x || y) return x == y;
    struct kh_slab_cache *ca = kh_kmem_cache_for(fixed_kmem, a, align);
    return ca ? ca == kh_kmem_cache_for(fixed_kmem, b, align) : a == b;
}

KH_TEST_TAGGED(fixed_adversarial_model_over_a_heap, "checks full-heap")
{
    kheap *h = backing_heap(4u << 20);
    KH_ASSERT(h);
    struct kh_fixed f;
    kh_fixed_init(&f, kheap_allocator(h));
    /* Class blocks only: large requests are the heap's blocks and its
     * checks. Without an owns in the backing, fixed catches double and
     * stale frees (its free blocks carry a check word); foreign, interior
     * and wrong-size pointers aligned to a class are unchecked (fixed.h). */
    struct kh_model_config c = {.a = kh_fixed_allocator(&f),
                                .ops = kh_test_iters(20000),
                                .max_size = KH_FIXED_MAX_BLOCK,
                                .max_align_log2 = 8,
                                .check = fixed_check_cb,
                                .check_ctx = &f,
                                .check_every = 200};
    c.misuse.classes = KH_MISUSE_DOUBLE | KH_MISUSE_STALE;
    c.misuse.reuse_ok = true; /* class blocks never change size: reuse is at the same address */
    c.misuse.stats = fixed_stats_cb;
    c.misuse.stats_ctx = &f;
    struct kh_model_result r = kh_model_run(&c);
    KH_CHECK(kh_model_misuse_ok("fixed/heap adversarial", &c, &r, kh_test_iters(20000) / 1000));
    KH_CHECK_EQ(r.misuse_reported, r.misuses);
    KH_CHECK_EQ(fixed_in_use(&f), 0);
    KH_CHECK_EQ(kh_fixed_destroy(&f), 0);
    KH_CHECK_EQ(heap_used(h), 0);
}

KH_TEST_TAGGED(fixed_adversarial_model_over_kmem, "checks full-heap")
{
    size_t n;
    unsigned char *mem = kh_test_arena(&n);
    /* Sized by the arena (8 MiB on the QEMU targets); the other backing at
     * its end. kh_kmem's slabs are aligned to their size: 64 KiB starts. */
    size_t ob = n / 8 < (1u << 20) ? n / 8 : (1u << 20),
           mb = n / 2 < (8u << 20) ? n / 2 : (8u << 20);
    size_t skip = (65536 - (uintptr_t)mem % 65536) % 65536;
    kheap *h = kheap_init(mem + skip, mb), *oh = kheap_init(mem + n - ob, ob);
    KH_ASSERT(h && oh);
    struct kh_kmem k, ok;
    struct kh_kmem_config kc;
    memset(&kc, 0, sizeof(kc));
    kc.pages = kheap_allocator(h);
    KH_ASSERT_EQ(kh_kmem_init(&k, &kc), 0);
    kc.pages = kheap_allocator(oh);
    KH_ASSERT_EQ(kh_kmem_init(&ok, &kc), 0);
    /* Over a backing with owns, every class is caught; another instance
     * over another backing supplies foreign blocks. */
    struct kh_fixed f, other;
    kh_fixed_init(&f, kh_kmem_allocator(&k));
    kh_fixed_init(&other, kh_kmem_allocator(&ok));
    KH_CHECK(kh_fixed_allocator(&f).ops->owns != NULL);
    fixed_kmem = &k;
    struct kh_model_config c = {.a = kh_fixed_allocator(&f),
                                .ops = kh_test_iters(20000),
                                .max_size = 6000,
                                .max_align_log2 = 8,
                                .may_fail = mb < (8u << 20),
                                .check = fixed_check_cb,
                                .check_ctx = &f,
                                .check_every = 200};
    c.misuse.classes = KH_MISUSE_ALL;
    c.misuse.reuse_ok = true;
    c.misuse.bigger_only = true; /* a smaller class's block fits in it: not caught */
    c.misuse.same_size = fixed_same_size;
    c.misuse.stats = fixed_stats_cb;
    c.misuse.stats_ctx = &f;
    c.misuse.foreign = kh_fixed_allocator(&other);
    struct kh_model_result r = kh_model_run(&c);
    KH_CHECK(kh_model_misuse_ok("fixed/kmem adversarial", &c, &r, kh_test_iters(20000) / 1000));
    KH_CHECK_EQ(r.misuse_reported, r.misuses);
    KH_CHECK_EQ(fixed_in_use(&f), 0);
    KH_CHECK_EQ(kh_fixed_destroy(&f), 0);
    KH_CHECK_EQ(kh_fixed_destroy(&other), 0);
    KH_CHECK_EQ(kh_kmem_check(&k), 0);
    KH_CHECK_EQ(kh_kmem_destroy(&k), 0);
    KH_CHECK_EQ(kh_kmem_destroy(&ok), 0);
    KH_CHECK_EQ(heap_used(h), 0);
}
