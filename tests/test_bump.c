/* SPDX-License-Identifier: MIT */
/* Bump allocator: every documented rule, bad input, seed tests, model, faults. */
#include "kh_test.h"

#include "alloc_model.h"
#include "seed_tests.h"

#include "kheap/bump.h"
#include "kheap/config.h"
#include "kheap/error.h"

#include <string.h>

/* A source handing out pieces of a caller array, counting calls. */
struct piece_src {
    unsigned char *mem;
    size_t bytes, used, piece;
    unsigned grows, releases;
    size_t released_bytes;
};

static void *piece_grow(void *ctx, size_t min_bytes, size_t *got)
{
    struct piece_src *s = ctx;
    size_t n = min_bytes > s->piece ? min_bytes : s->piece;
    s->grows++;
    if (n > s->bytes - s->used) return NULL;
    void *p = s->mem + s->used;
    s->used += n;
    *got = n;
    return p;
}

static void piece_release(void *ctx, void *mem, size_t bytes)
{
    struct piece_src *s = ctx;
    (void)mem;
    s->releases++;
    s->released_bytes += bytes;
}

static const struct kh_source_ops piece_ops = {piece_grow, piece_release};

static unsigned char *arena(size_t *bytes)
{
    return kh_test_arena(bytes);
}

KH_TEST(bump_alloc_aligns_and_never_overlaps)
{
    size_t n;
    unsigned char *mem = arena(&n);
    struct kh_bump b;
    KH_ASSERT_EQ(kh_bump_init(&b, mem + 1, 8192), 0); /* odd start on purpose */
    unsigned char *prev_end = mem + 1;
    for (size_t shift = 0; shift <= 10; shift++) {
        size_t align = (size_t)1 << shift;
        unsigned char *p = kh_bump_alloc(&b, 3, align);
        KH_ASSERT(p);
        KH_CHECK_EQ((uintptr_t)p % align, 0);
        KH_CHECK(p >= prev_end);
        prev_end = p + 3;
    }
    unsigned char *d = kh_bump_alloc(&b, 1, 0);
    KH_ASSERT(d);
    KH_CHECK_EQ((uintptr_t)d % KH_ALIGN_DEFAULT, 0);
    KH_CHECK(d + 1 <= mem + 1 + 8192);
    kh_bump_destroy(&b);
}

KH_TEST(bump_bad_requests_fail_and_lose_nothing)
{
    size_t n;
    unsigned char *mem = arena(&n);
    struct kh_bump b;
    KH_ASSERT_EQ(kh_bump_init(&b, mem, 4096), 0);
    void *first = kh_bump_alloc(&b, 16, 16);
    struct kh_bump_mark m = kh_bump_mark(&b);
    KH_CHECK(kh_bump_alloc(&b, 8, 3) == NULL);               /* not a power of two */
    KH_CHECK(kh_bump_alloc(&b, 8, 48) == NULL);              /* not a power of two */
    KH_CHECK(kh_bump_alloc(&b, SIZE_MAX, 0) == NULL);        /* too big */
    KH_CHECK(kh_bump_alloc(&b, SIZE_MAX - 8, 4096) == NULL); /* size + padding wraps */
    KH_CHECK(kh_bump_alloc(&b, 1, (size_t)1 << (sizeof(size_t) * 8 - 1)) == NULL);
    KH_CHECK(kh_bump_alloc(&b, 4097, 0) == NULL); /* bigger than the region */
    struct kh_bump_mark m2 = kh_bump_mark(&b);
    KH_CHECK(m.top == m2.top && m.chunk == m2.chunk); /* nothing consumed */
    KH_CHECK(first != NULL);
    /* The rest of the region is still there, exactly. */
    void *all = kh_bump_alloc(&b, 4096 - 16, 16);
    KH_CHECK(all == mem + 16);
    KH_CHECK(kh_bump_alloc(&b, 1, 1) == NULL);
    KH_CHECK(kh_bump_alloc(&b, 0, 1) == NULL); /* full: not even size 0 */
    /* Invalid init arguments. */
    struct kh_bump c;
    KH_CHECK_EQ(kh_bump_init(NULL, mem, 16), KH_EINVAL);
    KH_CHECK_EQ(kh_bump_init(&c, NULL, 16), KH_EINVAL);
    KH_CHECK_EQ(kh_bump_init(&c, (void *)(uintptr_t)(UINTPTR_MAX - 15), 64), KH_EINVAL);
    KH_CHECK_EQ(kh_bump_init(&c, NULL, 0), 0); /* empty arena: everything fails */
    KH_CHECK(kh_bump_alloc(&c, 0, 0) == NULL);
    KH_CHECK(kh_bump_alloc(&c, 1, 0) == NULL);
    kh_bump_destroy(&c);
    kh_bump_destroy(&b);
}

KH_TEST(bump_free_rewinds_only_the_last_block)
{
    size_t n;
    unsigned char *mem = arena(&n);
    struct kh_bump b;
    kh_bump_init(&b, mem, 4096);
    unsigned char *x = kh_bump_alloc(&b, 10, 1);
    unsigned char *y = kh_bump_alloc(&b, 100, 64);
    KH_ASSERT(x && y);
    kh_bump_free(&b, y, 100);
    unsigned char *z = kh_bump_alloc(&b, 1, 1);
    KH_CHECK(z == x + 10);   /* the padding before y came back too */
    kh_bump_free(&b, x, 10); /* not the last: nothing happens */
    unsigned char *w = kh_bump_alloc(&b, 1, 1);
    KH_CHECK(w == z + 1);
    kh_bump_free(&b, w, 1);
    kh_bump_free(&b, z, 1); /* only one level of rewind */
    KH_CHECK(kh_bump_alloc(&b, 1, 1) == w);
    kh_bump_free(&b, NULL, 5); /* NULL is a no-op */
    kh_bump_destroy(&b);
}

/* A size-0 block may share its address with the next block. Freeing or
 * growing the size-0 one must not act on the next one, which is the most
 * recent (found by fuzz/fuzz_alloc.c: the free rewound over the live next
 * block, and the resize grew into it). */
KH_TEST(bump_zero_size_block_is_not_the_next_block)
{
    size_t n;
    unsigned char *mem = arena(&n);
    struct kh_bump b;
    kh_bump_init(&b, mem, 4096);
    unsigned char *z = kh_bump_alloc(&b, 0, 0);
    unsigned char *x = kh_bump_alloc(&b, 32, 0);
    KH_ASSERT(z && x);
    KH_ASSERT(z == x);      /* size 0 does not move top */
    kh_bump_free(&b, z, 0); /* z is not the most recent block: nothing */
    unsigned char *y = kh_bump_alloc(&b, 32, 0);
    KH_CHECK(y == x + 32); /* x is still allocated */
    /* Growing z in place would grow over y: refused (not the last block). */
    unsigned char *z2 = kh_bump_alloc(&b, 0, 0);
    unsigned char *x2 = kh_bump_alloc(&b, 16, 0);
    KH_ASSERT(z2 == x2);
    KH_CHECK(!kh_bump_resize(&b, z2, 0, 8));
    KH_CHECK(kh_bump_alloc(&b, 1, 1) == x2 + 16);
    /* The most recent block itself still rewinds and resizes. */
    unsigned char *w = kh_bump_alloc(&b, 40, 0);
    KH_ASSERT(w);
    KH_CHECK(kh_bump_resize(&b, w, 40, 80));
    kh_bump_free(&b, w, 80);
    KH_CHECK(kh_bump_alloc(&b, 40, 0) == w);
    kh_bump_destroy(&b);
}

KH_TEST(bump_misuse_is_reported)
{
    size_t n;
    unsigned char *mem = arena(&n);
    struct kh_bump b;
    struct kh_test_reports r;
    unsigned char local[32];
    kh_bump_init(&b, mem, 4096);
    unsigned char *x = kh_bump_alloc(&b, 64, 0);
    KH_ASSERT(x);
    kh_test_reports_start(&r);
    kh_bump_free(&b, local, sizeof local); /* foreign */
#if KH_CONFIG_CHECKS
    KH_CHECK_EQ(r.count, 1);
    KH_CHECK_EQ(r.last_code, KH_EFAULT);
    KH_CHECK(r.last_ptr == local);
#endif
    kh_bump_free(&b, x, 64);
    KH_CHECK_EQ(r.count, KH_CONFIG_CHECKS ? 1 : 0);
    kh_bump_free(&b, x, 64); /* freed twice: it now lies above top */
#if KH_CONFIG_CHECKS
    KH_CHECK_EQ(r.count, 2);
    KH_CHECK_EQ(r.last_code, KH_EDOUBLE);
#endif
#if KH_CONFIG_CHECKS
    KH_CHECK(!kh_bump_resize(&b, local, 32, 16)); /* foreign resize refused */
#endif
    /* A mark from another arena, or above top, is refused. */
    struct kh_bump other;
    kh_bump_init(&other, mem + 8192, 4096);
    unsigned before = r.count;
    KH_CHECK_EQ(kh_bump_rewind(&b, kh_bump_mark(&other)), KH_EINVAL);
    struct kh_bump_mark high = kh_bump_mark(&b);
    high.top += 16;
    KH_CHECK_EQ(kh_bump_rewind(&b, high), KH_EINVAL);
#if KH_CONFIG_CHECKS
    KH_CHECK_EQ(r.count, before + 2);
    KH_CHECK_EQ(r.last_code, KH_EINVAL);
#endif
    /* Destroy twice, use after destroy. */
    KH_CHECK_EQ(kh_bump_destroy(&b), 0);
    before = r.count;
    KH_CHECK_EQ(kh_bump_destroy(&b), KH_EINVAL);
    KH_CHECK(kh_bump_alloc(&b, 8, 0) == NULL);
#if KH_CONFIG_CHECKS
    KH_CHECK_EQ(r.count, before + 2);
    KH_CHECK_EQ(r.last_code, KH_EINVAL);
#endif
    (void)before;
    kh_test_reports_stop();
    kh_bump_destroy(&other);
}

KH_TEST(bump_mark_rewind_reset)
{
    size_t n;
    unsigned char *mem = arena(&n);
    struct kh_bump b;
    kh_bump_init(&b, mem, 4096);
    unsigned char *a0 = kh_bump_alloc(&b, 100, 0);
    struct kh_bump_mark m = kh_bump_mark(&b);
    unsigned char *a1 = kh_bump_alloc(&b, 100, 0);
    for (int i = 0; i < 10; i++) KH_ASSERT(kh_bump_alloc(&b, 200, 0));
    KH_CHECK_EQ(kh_bump_rewind(&b, m), 0);
    KH_CHECK(kh_bump_alloc(&b, 100, 0) == a1);
    KH_CHECK_EQ(kh_bump_rewind(&b, m), 0); /* rewinding to the same mark again is fine */
    kh_bump_reset(&b);
    KH_CHECK(kh_bump_alloc(&b, 100, 0) == a0);
    struct kh_bump_stats st;
    kh_bump_stats(&b, &st);
    KH_CHECK_EQ(st.capacity_bytes, 4096);
    KH_CHECK_EQ(st.used_bytes, 100);
    KH_CHECK_EQ(st.free_bytes, 4096 - 100);
    KH_CHECK_EQ(st.chunks, 1);
    KH_CHECK_EQ(st.spare_chunks, 0);
    kh_bump_destroy(&b);
}

KH_TEST(bump_resize_in_place)
{
    size_t n;
    unsigned char *mem = arena(&n);
    struct kh_bump b;
    kh_bump_init(&b, mem, 1024);
    unsigned char *x = kh_bump_alloc(&b, 100, 0);
    unsigned char *y = kh_bump_alloc(&b, 100, 0);
    KH_ASSERT(x && y);
    KH_CHECK(kh_bump_resize(&b, y, 100, 500));   /* last block grows */
    KH_CHECK(!kh_bump_resize(&b, y, 500, 1024)); /* past the end: no */
    KH_CHECK(kh_bump_resize(&b, y, 500, 10));    /* and shrinks */
    KH_CHECK(kh_bump_alloc(&b, 1, 1) == y + 10); /* top follows it */
    KH_CHECK(!kh_bump_resize(&b, x, 100, 101));  /* older block cannot grow */
    KH_CHECK(kh_bump_resize(&b, x, 100, 50));    /* but may shrink */
    KH_CHECK(!kh_bump_resize(&b, NULL, 0, 10));
    /* Through the interface, kh_realloc of the last block stays in place. */
    kh_allocator a = kh_bump_allocator(&b);
    unsigned char *z = kh_alloc(a, 10, 0);
    KH_ASSERT(z);
    KH_CHECK(kh_realloc(a, z, 10, 200, 0, 0) == z);
    kh_bump_destroy(&b);
}

KH_TEST(bump_grows_from_source_and_rewinds_across_chunks)
{
    size_t n;
    unsigned char *mem = arena(&n);
    struct piece_src ps = {mem + 4096, 64 * 1024, 0, 4096, 0, 0, 0};
    struct kh_source src = {&ps, &piece_ops};
    struct kh_bump b;
    kh_bump_init(&b, mem, 1024);
    kh_bump_set_source(&b, &src);
    struct kh_bump_mark m = kh_bump_mark(&b);
    unsigned char *x = kh_bump_alloc(&b, 1000, 0);
    KH_ASSERT(x == mem);
    /* Does not fit: atomic and nogrow requests must not call the source. */
    KH_CHECK(kh_bump_alloc_flags(&b, 1000, 0, KH_GFP_ATOMIC) == NULL);
    KH_CHECK(kh_bump_alloc_flags(&b, 1000, 0, KH_GFP_NOGROW) == NULL);
    KH_CHECK_EQ(ps.grows, 0);
    unsigned char *y = kh_bump_alloc(&b, 1000, 0);
    KH_ASSERT(y);
    KH_CHECK_EQ(ps.grows, 1);
    KH_CHECK(y > mem + 4096 && y + 1000 <= mem + 4096 + 4096);
    /* A request bigger than the source's usual piece gets a big enough one. */
    unsigned char *big = kh_bump_alloc(&b, 10000, 256);
    KH_ASSERT(big);
    KH_CHECK_EQ((uintptr_t)big % 256, 0);
    KH_CHECK_EQ(ps.grows, 2);
    struct kh_bump_stats st;
    kh_bump_stats(&b, &st);
    KH_CHECK_EQ(st.chunks, 3);
    /* Free of the last block works inside a grown chunk. */
    kh_bump_free(&b, big, 10000);
    KH_CHECK(kh_bump_alloc(&b, 10000, 256) == big);
    /* Rewind to the start: both chunks become spares, reused without growing. */
    KH_CHECK_EQ(kh_bump_rewind(&b, m), 0);
    kh_bump_stats(&b, &st);
    KH_CHECK_EQ(st.chunks, 1);
    KH_CHECK_EQ(st.spare_chunks, 2);
    KH_CHECK(kh_bump_alloc(&b, 1000, 0) == x);
    KH_CHECK(kh_bump_alloc(&b, 5000, 0) != NULL); /* reuses the big spare */
    KH_CHECK_EQ(ps.grows, 2);
    /* The source runs dry: clean failure, arena intact. */
    struct kh_bump_mark m2 = kh_bump_mark(&b);
    KH_CHECK(kh_bump_alloc(&b, 100000, 0) == NULL);
    KH_CHECK_EQ(ps.grows, 3);
    struct kh_bump_mark m3 = kh_bump_mark(&b);
    KH_CHECK(m2.top == m3.top);
    /* Destroy gives every grown chunk back. */
    KH_CHECK_EQ(kh_bump_destroy(&b), 0);
    KH_CHECK_EQ(ps.releases, 2);
    KH_CHECK_EQ(ps.released_bytes, ps.used);
}

KH_TEST(bump_without_initial_region_uses_source)
{
    size_t n;
    unsigned char *mem = arena(&n);
    struct piece_src ps = {mem, 16384, 0, 4096, 0, 0, 0};
    struct kh_source src = {&ps, &piece_ops};
    struct kh_bump b;
    KH_ASSERT_EQ(kh_bump_init(&b, NULL, 0), 0);
    kh_bump_set_source(&b, &src);
    void *p = kh_bump_alloc(&b, 64, 0);
    KH_CHECK(p != NULL);
    kh_bump_reset(&b);
    KH_CHECK(kh_bump_alloc(&b, 64, 0) == p); /* spare reused after reset */
    KH_CHECK_EQ(ps.grows, 1);
    kh_bump_set_source(&b, NULL);
    KH_CHECK(kh_bump_alloc(&b, 8192, 0) == NULL); /* detached: no growth */
    KH_CHECK_EQ(ps.grows, 1);
    kh_bump_set_source(&b, &src);
    kh_bump_destroy(&b);
    KH_CHECK_EQ(ps.releases, 1);
}

KH_TEST(bump_seed_tests)
{
    size_t n;
    unsigned char *mem = arena(&n);
    struct kh_bump b;
    kh_bump_init(&b, mem, KH_SEED_HEAP_SIZE);
    kh_allocator a = kh_bump_allocator(&b);
    KH_CHECK(kh_seed_ok("simple_allocation", kh_seed_simple_allocation(a)));
    kh_bump_reset(&b);
    KH_CHECK(kh_seed_ok("large_vec", kh_seed_large_vec(a)));
    kh_bump_reset(&b);
    /* A bump allocator never reuses freed memory (other than the last block),
     * so many_boxes must run out before it allocated HEAP_SIZE boxes. */
    struct kh_seed_result r = kh_seed_many_boxes(a, KH_SEED_HEAP_SIZE);
    KH_CHECK(!r.ok);
    KH_CHECK(r.out_of_memory);
    KH_CHECK(r.done < KH_SEED_HEAP_SIZE);
    KH_CHECK(r.done >= KH_SEED_HEAP_SIZE / KH_ALIGN_DEFAULT - 2);
    kh_test_print("  bump many_boxes ran out after ");
    kh_test_print_u(r.done);
    kh_test_print(" boxes, as expected: a bump allocator does not reuse freed memory\n");
    kh_bump_destroy(&b);
}

KH_TEST(bump_model)
{
    size_t n;
    unsigned char *mem = arena(&n);
    struct kh_bump b;
    kh_bump_init(&b, mem, n);
    /* Each op consumes at most max_size + 4096 bytes of arena. */
    size_t ops = kh_test_iters(20000);
    if (ops > n / (2048 + 4096)) ops = n / (2048 + 4096);
    struct kh_model_config c = {.ops = ops};
    c.a = kh_bump_allocator(&b);
    c.ops = ops;
    c.max_size = 2048;
    c.max_align_log2 = 12;
    struct kh_model_result r = kh_model_run(&c);
    KH_CHECK(kh_model_ok("bump", &r));
    KH_CHECK(r.allocs > ops / 3);
    kh_bump_destroy(&b);
}

static void bump_reset_cb(void *ctx)
{
    kh_bump_reset(ctx);
}

KH_TEST(bump_fault_injection)
{
    size_t n;
    unsigned char *mem = arena(&n);
    struct kh_bump b;
    kh_bump_init(&b, mem, 1u << 20);
    struct kh_model_fault_config c = {.reset = bump_reset_cb, .ctx = &b};
    c.model.a = kh_bump_allocator(&b);
    c.model.ops = 200;
    c.model.max_size = 512;
    c.model.max_align_log2 = 6;
    struct kh_model_result r = kh_model_fault_run(&c);
    KH_CHECK(kh_model_ok("bump faults", &r));
    KH_CHECK(r.fault_runs > 50);
    kh_bump_destroy(&b);
}

/* The shared model must be able to fail: an adapter whose free resets the
 * whole arena hands out blocks over live ones, and the model says so. */
static void broken_free(void *ctx, void *ptr, size_t size, size_t align)
{
    (void)ptr, (void)size, (void)align;
    kh_bump_reset(ctx);
}

KH_TEST(bump_model_catches_a_broken_allocator)
{
    size_t n;
    unsigned char *mem = arena(&n);
    struct kh_bump b;
    kh_bump_init(&b, mem, 1u << 20);
    kh_allocator good = kh_bump_allocator(&b);
    kh_allocator_ops ops = *good.ops;
    ops.free = broken_free;
    kh_allocator bad = {&b, &ops};
    struct kh_model_config c = {.a = bad, .ops = 2000, .max_size = 256};
    struct kh_model_result r = kh_model_run(&c);
    KH_CHECK(r.error != NULL);
    /* And the seed test notices the long-lived box being overwritten. */
    kh_bump_reset(&b);
    struct kh_seed_result s = kh_seed_many_boxes(bad, 1000);
    KH_CHECK(!s.ok && !s.out_of_memory);
    kh_bump_destroy(&b);
}

/* ---- misuse: adversarial model ---- */

static void bump_stats_cb(void *ctx, size_t out[KH_MODEL_STATS])
{
    struct kh_bump *b = ctx;
    struct kh_bump_stats st;
    kh_bump_stats(b, &st);
    out[0] = st.capacity_bytes;
    out[1] = st.used_bytes;
    out[2] = st.free_bytes;
    out[3] = st.chunks;
    out[4] = st.spare_chunks;
}

/* The arena's pointers stay ordered. */
static int bump_check_cb(void *ctx)
{
    struct kh_bump *b = ctx;
    if (!b->cur || b->top < b->cur->base || b->top > b->end || b->end != b->cur->end) return -1;
    if (b->last && (b->last < b->cur->base || b->last > b->top)) return -2;
    return 0;
}

/* A bump arena frees only its most recent block, so most misuse is
 * harmless by design: a double, stale, interior or wrong-size free of any
 * other block does nothing (and is not reported: telling it apart would
 * need a record of every block). What would move top is checked: a block
 * above top (freed already) and the last block with a wrong size are
 * reported, and a pointer outside every chunk is reported. The model checks
 * that nothing of it changes the arena. */
KH_TEST_TAGGED(bump_adversarial_model, "checks")
{
    size_t n;
    unsigned char *mem = arena(&n);
    struct kh_bump b, other;
    size_t half = n / 2;
    kh_bump_init(&b, mem, half);
    kh_bump_init(&other, mem + half, n - half);
    size_t ops = kh_test_iters(20000);
    if (ops > half / (2048 + 4096)) ops = half / (2048 + 4096);
    struct kh_model_config c = {.a = kh_bump_allocator(&b),
                                .ops = ops,
                                .max_size = 2048,
                                .max_align_log2 = 8,
                                .may_fail = true,
                                .check = bump_check_cb,
                                .check_ctx = &b};
    c.misuse.classes = KH_MISUSE_ALL;
    c.misuse.silent =
        KH_MISUSE_DOUBLE | KH_MISUSE_STALE | KH_MISUSE_INTERIOR | KH_MISUSE_WRONG_SIZE;
    c.misuse.reuse_ok = true;
    c.misuse.stats = bump_stats_cb;
    c.misuse.stats_ctx = &b;
    c.misuse.foreign = kh_bump_allocator(&other);
    struct kh_model_result r = kh_model_run(&c);
    KH_CHECK(kh_model_misuse_ok("bump adversarial", &c, &r, ops / 1000));
    /* Some misuse is reported: every foreign pointer, and more. */
    KH_CHECK(r.misuse_reported >= r.misuse_by_class[3]);
    kh_bump_destroy(&b);
    kh_bump_destroy(&other);
}

KH_TEST_TAGGED(bump_misuse_that_would_move_top_is_refused, "checks")
{
    size_t n;
    unsigned char *mem = arena(&n);
    struct kh_bump b;
    kh_bump_init(&b, mem, 4096);
    unsigned char *x = kh_bump_alloc(&b, 100, 0), *y = kh_bump_alloc(&b, 50, 0);
    KH_ASSERT(x && y);
    struct kh_bump_stats before, now;
    kh_bump_stats(&b, &before);
    struct kh_test_reports r;
    kh_test_reports_start(&r);
    kh_bump_free(&b, y, 49); /* the last block, wrong size */
    KH_CHECK_EQ(r.count, 1);
    KH_CHECK_EQ(r.last_code, KH_EINVAL);
    KH_CHECK(!kh_bump_resize(&b, y, 60, 70)); /* its resize with a wrong old size */
    KH_CHECK_EQ(r.count, 2);
    kh_bump_free(&b, x + 8, 92); /* interior of a block that is not last: nothing */
    kh_bump_free(&b, x, 100);    /* not the last block: nothing, twice */
    kh_bump_free(&b, x, 100);
    KH_CHECK_EQ(r.count, 2);
    kh_bump_stats(&b, &now);
    KH_CHECK(memcmp(&now, &before, sizeof now) == 0);
    kh_bump_free(&b, y, 50); /* valid: top goes back */
    kh_bump_free(&b, y, 50); /* freed already: above top */
    KH_CHECK_EQ(r.count, 3);
    KH_CHECK_EQ(r.last_code, KH_EDOUBLE);
    kh_test_reports_stop();
    kh_bump_destroy(&b);
}
