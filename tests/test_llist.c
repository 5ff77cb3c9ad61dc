/* SPDX-License-Identifier: MIT */
/* Linked-list allocator: every documented rule, bad input, seed tests,
 * model and fault injection. */
#include "kh_test.h"

#include "alloc_model.h"
#include "seed_tests.h"

#include "kheap/config.h"
#include "kheap/error.h"
#include "kheap/llist.h"

#define UNIT KH_ALIGN_DEFAULT

static unsigned char *arena(size_t *bytes)
{
    return kh_test_arena(bytes);
}

static int ll_check_cb(void *ctx)
{
    return kh_llist_check(ctx);
}

static size_t ll_in_use(void *ctx)
{
    struct kh_llist_stats st;
    kh_llist_stats(ctx, &st);
    return st.used_bytes + st.allocations;
}

KH_TEST(llist_first_fit_and_coalescing)
{
    size_t n;
    unsigned char *mem = arena(&n);
    struct kh_llist l;
    KH_ASSERT_EQ(kh_llist_init(&l, mem, 1024), 0);
    struct kh_llist_stats st;
    kh_llist_stats(&l, &st);
    KH_CHECK_EQ(st.total_bytes, 1024);
    KH_CHECK_EQ(st.holes, 1);
    unsigned char *a = kh_llist_alloc(&l, 100, 0);
    unsigned char *b = kh_llist_alloc(&l, 100, 0);
    unsigned char *c = kh_llist_alloc(&l, 100, 0);
    KH_ASSERT(a && b && c);
    KH_CHECK(a == mem); /* first fit from the lowest address */
    KH_CHECK(b == a + ((100 + UNIT - 1) / UNIT) * UNIT);
    kh_llist_free(&l, b, 100);
    kh_llist_stats(&l, &st);
    KH_CHECK_EQ(st.holes, 2);
    /* First fit: a smaller request lands in b's hole, not after c. */
    unsigned char *d = kh_llist_alloc(&l, 10, 0);
    KH_CHECK(d == b);
    kh_llist_free(&l, d, 10);
    /* Free a and c: everything merges back into one hole. */
    kh_llist_free(&l, a, 100);
    kh_llist_free(&l, c, 100);
    kh_llist_stats(&l, &st);
    KH_CHECK_EQ(st.holes, 1);
    KH_CHECK_EQ(st.largest_hole, 1024);
    KH_CHECK_EQ(st.used_bytes, 0);
    KH_CHECK_EQ(kh_llist_check(&l), 0);
    /* The whole region in one block, exactly. */
    void *all = kh_llist_alloc(&l, 1024, 0);
    KH_CHECK(all == mem);
    KH_CHECK(kh_llist_alloc(&l, 0, 0) == NULL);
    kh_llist_free(&l, all, 1024);
    KH_CHECK_EQ(kh_llist_destroy(&l), 0);
}

KH_TEST(llist_alignment_leaves_the_gap_as_a_hole)
{
    size_t n;
    unsigned char *mem = arena(&n);
    struct kh_llist l;
    kh_llist_init(&l, mem + 3, 8192); /* trimmed to UNIT boundaries */
    struct kh_llist_stats st;
    kh_llist_stats(&l, &st);
    KH_CHECK(st.total_bytes <= 8192 && st.total_bytes >= 8192 - 2 * UNIT);
    for (size_t shift = 0; shift <= 11; shift++) {
        size_t al = (size_t)1 << shift;
        unsigned char *p = kh_llist_alloc(&l, 1, al);
        KH_ASSERT(p);
        KH_CHECK_EQ((uintptr_t)p % al, 0);
        KH_CHECK_EQ((uintptr_t)p % UNIT, 0);
        KH_CHECK_EQ(kh_llist_check(&l), 0);
    }
    /* Gaps in front of aligned blocks are holes a small request can use. */
    unsigned char *small = kh_llist_alloc(&l, UNIT, 0);
    KH_CHECK(small != NULL && small < mem + 3 + 4096);
    KH_CHECK_EQ(kh_llist_check(&l), 0);
    kh_llist_destroy(&l);
}

KH_TEST(llist_bad_requests_fail_and_lose_nothing)
{
    size_t n;
    unsigned char *mem = arena(&n);
    struct kh_llist l;
    kh_llist_init(&l, mem, 4096);
    KH_CHECK(kh_llist_alloc(&l, 8, 3) == NULL);
    KH_CHECK(kh_llist_alloc(&l, 8, 24) == NULL);
    KH_CHECK(kh_llist_alloc(&l, SIZE_MAX, 0) == NULL);
    KH_CHECK(kh_llist_alloc(&l, SIZE_MAX - UNIT + 2, 0) == NULL); /* rounding wraps */
    KH_CHECK(kh_llist_alloc(&l, 16, (size_t)1 << (sizeof(size_t) * 8 - 1)) == NULL);
    KH_CHECK(kh_llist_alloc(&l, 4097, 0) == NULL);
    struct kh_llist_stats st;
    kh_llist_stats(&l, &st);
    KH_CHECK_EQ(st.used_bytes, 0);
    KH_CHECK_EQ(st.holes, 1);
    KH_CHECK(kh_llist_alloc(&l, 4096, 0) == mem);
    /* Invalid init / extend arguments. */
    struct kh_llist m;
    KH_CHECK_EQ(kh_llist_init(NULL, mem, 64), KH_EINVAL);
    KH_CHECK_EQ(kh_llist_init(&m, mem + 1, UNIT), KH_EINVAL); /* too small after trimming */
    KH_CHECK_EQ(kh_llist_init(&m, (void *)(uintptr_t)(UINTPTR_MAX - 15), 64), KH_EINVAL);
    KH_CHECK_EQ(kh_llist_init(&m, NULL, 0), 0); /* empty, extend later */
    KH_CHECK(kh_llist_alloc(&m, 1, 0) == NULL);
    KH_CHECK_EQ(kh_llist_extend(&m, NULL, 64), KH_EINVAL);
    KH_CHECK_EQ(kh_llist_extend(&m, mem + 8192, 1024), 0);
    KH_CHECK_EQ(kh_llist_extend(&m, mem + 8192 + 512, 1024), KH_EINVAL); /* overlaps a hole */
    KH_CHECK(kh_llist_alloc(&m, 1, 0) == mem + 8192);
    kh_llist_destroy(&m);
}

KH_TEST(llist_extend_merges_adjacent_regions)
{
    size_t n;
    unsigned char *mem = arena(&n);
    struct kh_llist l;
    kh_llist_init(&l, mem, 1024);
    KH_CHECK(kh_llist_alloc(&l, 2048, 0) == NULL);
    KH_CHECK_EQ(kh_llist_extend(&l, mem + 1024, 1024), 0); /* grow upward */
    struct kh_llist_stats st;
    kh_llist_stats(&l, &st);
    KH_CHECK_EQ(st.holes, 1);
    KH_CHECK_EQ(st.total_bytes, 2048);
    void *p = kh_llist_alloc(&l, 2048, 0);
    KH_CHECK(p == mem);
    /* A separate bank: a second hole, used when the first is full. */
    KH_CHECK_EQ(kh_llist_extend(&l, mem + 65536, 4096), 0);
    void *q = kh_llist_alloc(&l, 100, 0);
    KH_CHECK(q == mem + 65536);
    kh_llist_free(&l, q, 100);
    kh_llist_free(&l, p, 2048);
    kh_llist_stats(&l, &st);
    KH_CHECK_EQ(st.holes, 2);
    KH_CHECK_EQ(kh_llist_check(&l), 0);
    /* Filling the gap between the banks merges everything. */
    KH_CHECK_EQ(kh_llist_extend(&l, mem + 2048, 65536 - 2048), 0);
    kh_llist_stats(&l, &st);
    KH_CHECK_EQ(st.holes, 1);
    KH_CHECK_EQ(st.largest_hole, 65536 + 4096);
    kh_llist_destroy(&l);
}

KH_TEST(llist_resize_in_place)
{
    size_t n;
    unsigned char *mem = arena(&n);
    struct kh_llist l;
    kh_llist_init(&l, mem, 1024);
    unsigned char *a = kh_llist_alloc(&l, 64, 0);
    unsigned char *b = kh_llist_alloc(&l, 64, 0);
    KH_ASSERT(a && b);
    KH_CHECK(!kh_llist_resize(&l, a, 64, 65)); /* b is in the way */
    KH_CHECK(kh_llist_resize(&l, b, 64, 500)); /* hole after b */
    KH_CHECK(kh_llist_resize(&l, b, 500, 1024 - 64));
    KH_CHECK(!kh_llist_resize(&l, b, 1024 - 64, 1024 - 63));
    KH_CHECK(kh_llist_resize(&l, b, 1024 - 64, 1)); /* shrink: tail back */
    KH_CHECK_EQ(kh_llist_check(&l), 0);
    KH_CHECK(kh_llist_resize(&l, a, 64, 16));
    KH_CHECK(kh_llist_resize(&l, a, 16, 64)); /* and back into its own tail */
    KH_CHECK(kh_llist_resize(&l, a, 64, 60)); /* same rounded size */
    KH_CHECK(!kh_llist_resize(&l, a, 64, SIZE_MAX));
    KH_CHECK(!kh_llist_resize(&l, NULL, 0, 16));
    kh_llist_free(&l, a, 64);
    kh_llist_free(&l, b, 1);
    struct kh_llist_stats st;
    kh_llist_stats(&l, &st);
    KH_CHECK_EQ(st.holes, 1);
    KH_CHECK_EQ(st.used_bytes, 0);
    KH_CHECK_EQ(kh_llist_check(&l), 0);
    kh_llist_destroy(&l);
}

KH_TEST(llist_misuse_is_reported)
{
    size_t n;
    unsigned char *mem = arena(&n);
    struct kh_llist l;
    struct kh_test_reports r;
    _Alignas(16) unsigned char local[64];
    kh_llist_init(&l, mem, 4096);
    unsigned char *a = kh_llist_alloc(&l, 64, 0);
    unsigned char *b = kh_llist_alloc(&l, 64, 0);
    KH_ASSERT(a && b);
    kh_test_reports_start(&r);
#if KH_CONFIG_CHECKS
    kh_llist_free(&l, local, sizeof local); /* foreign */
    KH_CHECK_EQ(r.count, 1);
    KH_CHECK_EQ(r.last_code, KH_EFAULT);
    KH_CHECK(r.last_ptr == local);
    kh_llist_free(&l, a + 1, 16); /* misaligned inside the region */
    KH_CHECK_EQ(r.count, 2);
    KH_CHECK_EQ(r.last_code, KH_EFAULT);
    kh_llist_free(&l, a, 64);
    kh_llist_free(&l, a, 64); /* double free */
    KH_CHECK_EQ(r.count, 3);
    KH_CHECK_EQ(r.last_code, KH_EDOUBLE);
    kh_llist_free(&l, b, 4096); /* wrong size: runs into the hole after b */
    KH_CHECK_EQ(r.count, 4);
    KH_CHECK(!kh_llist_resize(&l, local, 64, 32));
    KH_CHECK_EQ(r.count, 5);
    /* Nothing refused above changed the allocator. */
    KH_CHECK_EQ(kh_llist_check(&l), 0);
    struct kh_llist_stats st;
    kh_llist_stats(&l, &st);
    KH_CHECK_EQ(st.allocations, 1);
    /* Destroy with a live block, then again. */
    KH_CHECK_EQ(kh_llist_destroy(&l), KH_EBUSY);
    KH_CHECK_EQ(r.last_code, KH_EBUSY);
    KH_CHECK_EQ(kh_llist_destroy(&l), KH_EINVAL);
    KH_CHECK_EQ(r.last_code, KH_EINVAL);
    KH_CHECK(kh_llist_alloc(&l, 8, 0) == NULL);
    KH_CHECK_EQ(r.count, 8);
#else
    (void)local;
    kh_llist_free(&l, a, 64);
    KH_CHECK_EQ(kh_llist_destroy(&l), KH_EBUSY);
    KH_CHECK_EQ(kh_llist_destroy(&l), KH_EINVAL);
    KH_CHECK_EQ(r.count, 0);
#endif
    kh_test_reports_stop();
}

KH_TEST(llist_seed_tests)
{
    size_t n;
    unsigned char *mem = arena(&n);
    struct kh_llist l;
    kh_llist_init(&l, mem, KH_SEED_HEAP_SIZE);
    kh_seed_check_all(kh_llist_allocator(&l), KH_SEED_HEAP_SIZE);
    KH_CHECK_EQ(kh_llist_check(&l), 0);
    KH_CHECK_EQ(kh_llist_destroy(&l), 0);
}

KH_TEST(llist_model)
{
    size_t n;
    unsigned char *mem = arena(&n);
    struct kh_llist l;
    size_t bytes = n < (1u << 20) ? n : (1u << 20);
    kh_llist_init(&l, mem, bytes);
    struct kh_model_config c = {.a = kh_llist_allocator(&l),
                                .ops = kh_test_iters(20000),
                                .max_size = 2048,
                                .max_align_log2 = 10,
                                .may_fail = bytes < (1u << 20),
                                .check = ll_check_cb,
                                .check_ctx = &l,
                                .check_every = 97};
    struct kh_model_result r = kh_model_run(&c);
    KH_CHECK(kh_model_ok("llist", &r));
    KH_CHECK_EQ(ll_in_use(&l), 0);
    struct kh_llist_stats st;
    kh_llist_stats(&l, &st);
    KH_CHECK_EQ(st.holes, 1); /* everything merged back */
    KH_CHECK_EQ(kh_llist_destroy(&l), 0);
}

KH_TEST(llist_model_near_full)
{
    /* A small heap so allocations fail often: failure paths of resize and
     * realloc, and fragmentation. */
    size_t n;
    unsigned char *mem = arena(&n);
    struct kh_llist l;
    kh_llist_init(&l, mem, 16384);
    struct kh_model_config c = {.a = kh_llist_allocator(&l),
                                .ops = kh_test_iters(10000),
                                .max_size = 1024,
                                .max_align_log2 = 8,
                                .may_fail = true,
                                .check = ll_check_cb,
                                .check_ctx = &l,
                                .check_every = 31};
    struct kh_model_result r = kh_model_run(&c);
    KH_CHECK(kh_model_ok("llist near full", &r));
    KH_CHECK(kh_test_iters(10000) < 1000 || r.alloc_failures > 0);
    KH_CHECK_EQ(ll_in_use(&l), 0);
    KH_CHECK_EQ(kh_llist_destroy(&l), 0);
}

KH_TEST(llist_fault_injection)
{
    size_t n;
    unsigned char *mem = arena(&n);
    struct kh_llist l;
    kh_llist_init(&l, mem, 1u << 18);
    struct kh_model_fault_config c = {.in_use = ll_in_use, .ctx = &l};
    c.model.a = kh_llist_allocator(&l);
    c.model.ops = 200;
    c.model.max_size = 512;
    c.model.max_align_log2 = 6;
    c.model.check = ll_check_cb;
    c.model.check_ctx = &l;
    c.model.check_every = 10;
    struct kh_model_result r = kh_model_fault_run(&c);
    KH_CHECK(kh_model_ok("llist faults", &r));
    KH_CHECK(r.fault_runs > 50);
    KH_CHECK_EQ(kh_llist_destroy(&l), 0);
}

/* ---- misuse: deterministic, one class at a time, and adversarial ---- */

static size_t ll_extent(size_t size, size_t align)
{
    (void)align;
    size_t n = (size + UNIT - 1) & ~(size_t)(UNIT - 1);
    return n ? n : UNIT;
}

static bool ll_same(size_t a, size_t b, size_t align)
{
    return ll_extent(a, align) == ll_extent(b, align);
}

static void ll_stats_cb(void *ctx, size_t out[KH_MODEL_STATS])
{
    struct kh_llist_stats st;
    kh_llist_stats(ctx, &st);
    out[0] = st.total_bytes;
    out[1] = st.used_bytes;
    out[2] = st.free_bytes;
    out[3] = st.allocations;
    out[4] = st.holes;
    out[5] = st.largest_hole;
}

/* The allocator is exactly as it was (stats), passes its check, and the
 * misuse was reported once with code. */
static void ll_unchanged(struct kh_llist *l, const size_t *before, struct kh_test_reports *r,
                         unsigned count, int code)
{
    size_t now[KH_MODEL_STATS] = {0};
    ll_stats_cb(l, now);
    for (int i = 0; i < 6; i++) KH_CHECK_EQ(now[i], before[i]);
    KH_CHECK_EQ(kh_llist_check(l), 0);
    KH_CHECK_EQ(r->count, count);
    KH_CHECK_EQ(r->last_code, code);
}

KH_TEST_TAGGED(llist_double_free_after_merging_every_neighbour_case, "checks")
{
    size_t n;
    unsigned char *mem = arena(&n);
    /* Blocks a b c in a row; free b's neighbours in each combination and
     * order, then b, then b again: its range lies in a (merged) hole. */
    for (unsigned mask = 0; mask < 4; mask++) {
        for (int order = 0; order < 2; order++) {
            struct kh_llist l;
            KH_ASSERT_EQ(kh_llist_init(&l, mem, 4096), 0);
            unsigned char *a = kh_llist_alloc(&l, 64, 0), *b = kh_llist_alloc(&l, 64, 0);
            unsigned char *c = kh_llist_alloc(&l, 64, 0), *d = kh_llist_alloc(&l, 64, 0);
            KH_ASSERT(a && b && c && d && b == a + 64 && c == b + 64);
            unsigned char *first = order ? c : a, *second = order ? a : c;
            bool f1 = mask & (order ? 2u : 1u), f2 = mask & (order ? 1u : 2u);
            if (f1) kh_llist_free(&l, first, 64);
            kh_llist_free(&l, b, 64);
            if (f2) kh_llist_free(&l, second, 64);
            for (int j = 0; j < 64; j++) d[j] = (unsigned char)j;
            size_t before[KH_MODEL_STATS] = {0};
            ll_stats_cb(&l, before);
            struct kh_test_reports r;
            kh_test_reports_start(&r);
            kh_llist_free(&l, b, 64);
            ll_unchanged(&l, before, &r, 1, KH_EDOUBLE);
            KH_CHECK(!kh_llist_resize(&l, b, 64, 32)); /* resize of it: the same */
            ll_unchanged(&l, before, &r, 2, KH_EDOUBLE);
            KH_CHECK(!kh_llist_resize(&l, b, 64, 128));
            ll_unchanged(&l, before, &r, 3, KH_EDOUBLE);
            KH_CHECK(kh_realloc(kh_llist_allocator(&l), b, 64, 256, 0, 0) == NULL ||
                     r.count >= 4); /* realloc: resize refused, the free refused */
            kh_test_reports_stop();
            for (int j = 0; j < 64; j++) KH_CHECK_EQ(d[j], (unsigned char)j);
            KH_CHECK_EQ(kh_llist_check(&l), 0);
        }
    }
}

KH_TEST_TAGGED(llist_foreign_and_wrong_size_are_refused, "checks")
{
    size_t n;
    unsigned char *mem = arena(&n);
    KH_ASSERT(n >= 65536);
    struct kh_llist l, other;
    /* Two regions with a gap between them, and another instance in it. */
    KH_ASSERT_EQ(kh_llist_init(&l, mem, 4096), 0);
    KH_ASSERT_EQ(kh_llist_extend(&l, mem + 16384, 4096), 0);
    KH_ASSERT_EQ(kh_llist_init(&other, mem + 8192, 4096), 0);
    unsigned char *a = kh_llist_alloc(&l, 100, 0), *x = kh_llist_alloc(&other, 64, 0);
    KH_ASSERT(a && x);
    size_t before[KH_MODEL_STATS] = {0};
    ll_stats_cb(&l, before);
    struct kh_test_reports r;
    kh_test_reports_start(&r);
    kh_llist_free(&l, x, 64); /* another instance's block, between l's regions */
    ll_unchanged(&l, before, &r, 1, KH_EFAULT);
    kh_llist_free(&l, mem + 4096 - 32, 64); /* runs past the first region's end */
    ll_unchanged(&l, before, &r, 2, KH_EFAULT);
    kh_llist_free(&l, a, 4096); /* wrong size: into the hole after a */
    ll_unchanged(&l, before, &r, 3, KH_EDOUBLE);
    KH_CHECK(!kh_llist_resize(&l, x, 64, 128));
    ll_unchanged(&l, before, &r, 4, KH_EFAULT);
    KH_CHECK(!kh_llist_resize(&l, a, 4096, 8)); /* wrong old size */
    ll_unchanged(&l, before, &r, 5, KH_EDOUBLE);
    kh_test_reports_stop();
    kh_llist_free(&other, x, 64);
    kh_llist_free(&l, a, 100);
    KH_CHECK_EQ(kh_llist_check(&l), 0);
    KH_CHECK_EQ(kh_llist_destroy(&l), 0);
    KH_CHECK_EQ(kh_llist_destroy(&other), 0);
}

KH_TEST_TAGGED(llist_adversarial_model, "checks")
{
    size_t n;
    unsigned char *mem = arena(&n);
    KH_ASSERT(n >= (1u << 20) + 65536);
    struct kh_llist l, other;
    kh_llist_init(&l, mem, 1u << 19);
    kh_llist_extend(&l, mem + (1u << 19) + 65536, 1u << 19); /* a gap between two regions */
    kh_llist_init(&other, mem + (1u << 19), 65536);          /* another instance in it */
    struct kh_model_config c = {.a = kh_llist_allocator(&l),
                                .ops = kh_test_iters(20000),
                                .max_size = 2048,
                                .max_align_log2 = 8,
                                .may_fail = true,
                                .check = ll_check_cb,
                                .check_ctx = &l,
                                .check_every = 97};
    c.misuse.classes =
        KH_MISUSE_DOUBLE | KH_MISUSE_STALE | KH_MISUSE_FOREIGN | KH_MISUSE_WRONG_SIZE;
    c.misuse.same_size = ll_same;
    c.misuse.extent = ll_extent;
    c.misuse.bigger_only = true;
    c.misuse.stats = ll_stats_cb;
    c.misuse.stats_ctx = &l;
    c.misuse.foreign = kh_llist_allocator(&other);
    struct kh_model_result r = kh_model_run(&c);
    KH_CHECK(kh_model_misuse_ok("llist adversarial", &c, &r, kh_test_iters(20000) / 1000));
    KH_CHECK_EQ(r.misuse_reported, r.misuses);
    KH_CHECK_EQ(ll_in_use(&l), 0);
    KH_CHECK_EQ(kh_llist_destroy(&l), 0);
    KH_CHECK_EQ(kh_llist_destroy(&other), 0);
}

KH_TEST_TAGGED(llist_many_regions_collapse_into_their_span, "checks")
{
    size_t n;
    unsigned char *mem = arena(&n);
    KH_ASSERT(n >= 65536);
    struct kh_llist l;
    KH_ASSERT_EQ(kh_llist_init(&l, mem, 1024), 0);
    /* Four more disjoint regions, then one that touches the first. */
    for (int i = 1; i <= 4; i++) KH_ASSERT_EQ(kh_llist_extend(&l, mem + 4096 * i, 1024), 0);
    KH_CHECK_EQ(l.nregions, 1); /* the fifth collapsed them into the span */
    KH_ASSERT_EQ(kh_llist_extend(&l, mem + 1024, 1024), 0);
    KH_CHECK_EQ(kh_llist_check(&l), 0);
    struct kh_test_reports r;
    kh_test_reports_start(&r);
    kh_llist_free(&l, mem + 32768, 64); /* outside the span: still caught */
    KH_CHECK_EQ(r.count, 1);
    KH_CHECK_EQ(r.last_code, KH_EFAULT);
    kh_test_reports_stop();
    void *p[6];
    for (int i = 0; i < 6; i++) KH_CHECK((p[i] = kh_llist_alloc(&l, 900, 0)) != NULL);
    for (int i = 0; i < 6; i++) kh_llist_free(&l, p[i], 900);
    KH_CHECK_EQ(kh_llist_check(&l), 0);
    KH_CHECK_EQ(kh_llist_destroy(&l), 0);
}
