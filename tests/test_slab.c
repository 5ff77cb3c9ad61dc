/* SPDX-License-Identifier: MIT */
/* Slab caches and the kmalloc front end (struct kh_kmem): every documented rule, bad
 * input, misuse reports, sources, seed tests, shadow model, fault injection. */
#include "kh_test.h"

#include "alloc_model.h"
#include "seed_tests.h"

#include "kheap/config.h"
#include "kheap/error.h"
#include "kheap/heap.h"
#include "kheap/slab.h"
#include "kheap/sources.h"

#include <string.h>

/* Slab pages are aligned to their size: the minimal heap refuses them. */
KH_TEST_FILE_TAGS("full-heap");

/* A core heap over the first `bytes` of the test arena, or NULL. */
static kheap *slab_test_heap(size_t bytes)
{
    size_t n;
    unsigned char *mem = kh_test_arena(&n);
    /* Start on a 64 KiB boundary: results do not depend on where the arena
     * lies, and a heap pointer rounded down to any slab size stays inside
     * the arena (the checked free reads there). */
    size_t skip = (65536 - (uintptr_t)mem % 65536) % 65536;
    if (n < skip + 4096) return NULL;
    if (n - skip < bytes) bytes = n - skip; /* small targets: size by the arena */
    return kheap_init(mem + skip, bytes);
}

static struct kh_slab_cache_config heap_cfg(kheap *h, size_t size, size_t align)
{
    struct kh_slab_cache_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.name = "test";
    cfg.size = size;
    cfg.align = align;
    cfg.pages = kheap_allocator(h);
    return cfg;
}

KH_TEST(slab_create_rejects_bad_config)
{
    kheap *h = slab_test_heap(256 * 1024);
    KH_ASSERT(h);
    struct kh_slab_cache c;
    struct kh_slab_cache_config cfg = heap_cfg(h, 64, 0);
    KH_CHECK_EQ(kh_slab_cache_create(NULL, &cfg), KH_EINVAL);
    KH_CHECK_EQ(kh_slab_cache_create(&c, NULL), KH_EINVAL);
    cfg.size = 0;
    KH_CHECK_EQ(kh_slab_cache_create(&c, &cfg), KH_EINVAL);
    cfg.size = 64;
    cfg.align = 24;
    KH_CHECK_EQ(kh_slab_cache_create(&c, &cfg), KH_EINVAL);
    cfg.align = 0;
    cfg.slab_bytes = 5000; /* not a power of two */
    KH_CHECK_EQ(kh_slab_cache_create(&c, &cfg), KH_EINVAL);
    cfg.slab_bytes = 128; /* too small */
    KH_CHECK_EQ(kh_slab_cache_create(&c, &cfg), KH_EINVAL);
    cfg.slab_bytes = 4096;
    cfg.size = 8000; /* does not fit the given slab */
    KH_CHECK_EQ(kh_slab_cache_create(&c, &cfg), KH_EINVAL);
    cfg.slab_bytes = 0;
    cfg.size = (size_t)KH_SLAB_MAX_BYTES; /* no automatic slab holds it */
    KH_CHECK_EQ(kh_slab_cache_create(&c, &cfg), KH_EOVERFLOW);
    cfg.size = SIZE_MAX - 3; /* rounding would wrap */
    KH_CHECK_EQ(kh_slab_cache_create(&c, &cfg), KH_EOVERFLOW);
    cfg.size = 64;
    cfg.align = (size_t)1 << 20; /* alignment above the slab */
    KH_CHECK_EQ(kh_slab_cache_create(&c, &cfg), KH_EOVERFLOW);
    cfg.align = 0;
    cfg.pages.ops = NULL; /* no backing */
    KH_CHECK_EQ(kh_slab_cache_create(&c, &cfg), KH_EINVAL);
    /* A good one still works after all that. */
    cfg = heap_cfg(h, 64, 0);
    KH_ASSERT_EQ(kh_slab_cache_create(&c, &cfg), 0);
    KH_CHECK(kh_slab_alloc(&c, 0) != NULL);
}

KH_TEST(slab_geometry_and_lists)
{
    kheap *h = slab_test_heap(1 << 20);
    KH_ASSERT(h);
    struct kh_slab_cache c;
    struct kh_slab_cache_config cfg = heap_cfg(h, 100, 32);
    KH_ASSERT_EQ(kh_slab_cache_create(&c, &cfg), 0);
    struct kh_slab_cache_stats st;
    kh_slab_cache_stats(&c, &st);
    KH_CHECK_EQ(st.object_size, 100);
    KH_CHECK_EQ(st.stride, 128);
    KH_CHECK(st.slab_bytes >= KH_SLAB_MIN_BYTES);
    KH_CHECK_EQ(st.slab_bytes & (st.slab_bytes - 1), 0);
    /* Waste at most 1/4 of a slab. */
    KH_CHECK(st.slab_bytes - st.objs_per_slab * st.stride <= st.slab_bytes / 4);
    KH_CHECK_EQ(st.slabs, 0); /* nothing allocated until the first alloc */
    size_t per = st.objs_per_slab;
    KH_ASSERT(per >= 2 && per <= 64);
    static unsigned char *objs[200];
    /* Fill one slab and one more object. */
    for (size_t i = 0; i <= per; i++) {
        objs[i] = kh_slab_alloc(&c, 0);
        KH_ASSERT(objs[i]);
        KH_CHECK_EQ((uintptr_t)objs[i] % 32, 0);
        memset(objs[i], (int)i, 100);
        for (size_t j = 0; j < i; j++)
            KH_CHECK(objs[j] + 100 <= objs[i] || objs[i] + 100 <= objs[j]);
        KH_CHECK(kh_slab_owns(&c, objs[i]));
    }
    kh_slab_cache_stats(&c, &st);
    KH_CHECK_EQ(st.slabs, 2);
    KH_CHECK_EQ(st.slabs_full, 1);
    KH_CHECK_EQ(st.slabs_partial, 1);
    KH_CHECK_EQ(st.objects_in_use, per + 1);
    KH_CHECK_EQ(kh_slab_cache_check(&c), 0);
    /* The full slab is on no list: check finds a count that misses it. */
    c.stats.slabs_full--;
    KH_CHECK_EQ(kh_slab_cache_check(&c), KH_ECORRUPT);
    c.stats.slabs_full++;
    c.stats.objects_in_use--;
    KH_CHECK_EQ(kh_slab_cache_check(&c), KH_ECORRUPT);
    c.stats.objects_in_use++;
    KH_CHECK_EQ(kh_slab_cache_check(&c), 0);
    /* One object of the same slab shares its aligned slab address. */
    uintptr_t mask = ~(uintptr_t)(st.slab_bytes - 1);
    KH_CHECK_EQ((uintptr_t)objs[0] & mask, (uintptr_t)objs[1] & mask);
    /* Free from the full slab: it becomes partial. */
    kh_slab_free(&c, objs[0]);
    kh_slab_cache_stats(&c, &st);
    KH_CHECK_EQ(st.slabs_full, 0);
    KH_CHECK_EQ(st.slabs_partial, 2);
    /* The freed object is reused first (LIFO), contents of others intact. */
    KH_CHECK(kh_slab_alloc(&c, 0) == objs[0]);
    for (size_t i = 1; i <= per; i++) KH_CHECK_EQ(objs[i][99], (unsigned char)i);
    /* Free everything: both slabs go to the empty list and stay there. */
    for (size_t i = 0; i <= per; i++) kh_slab_free(&c, objs[i]);
    kh_slab_cache_stats(&c, &st);
    KH_CHECK_EQ(st.slabs_empty, 2);
    KH_CHECK_EQ(st.objects_in_use, 0);
    KH_CHECK_EQ(st.peak_in_use, per + 1);
    KH_CHECK_EQ(st.allocs, per + 2);
    KH_CHECK_EQ(st.frees, per + 2);
    KH_CHECK_EQ(kh_slab_cache_check(&c), 0);
    /* Empty slabs are reused before the backing is asked again. */
    struct kheap_stats hs;
    kheap_stats(h, &hs);
    size_t used = hs.used_bytes;
    void *p = kh_slab_alloc(&c, 0);
    KH_CHECK(p != NULL);
    kheap_stats(h, &hs);
    KH_CHECK_EQ(hs.used_bytes, used);
    kh_slab_free(&c, p);
    /* Shrink gives both back to the heap. */
    KH_CHECK_EQ(kh_slab_shrink(&c), 2);
    kheap_stats(h, &hs);
    KH_CHECK_EQ(hs.used_bytes, 0);
    kh_slab_cache_stats(&c, &st);
    KH_CHECK_EQ(st.slabs, 0);
    KH_CHECK_EQ(st.slabs_released, 2);
    KH_CHECK_EQ(st.backing_bytes, 0);
    KH_CHECK_EQ(kh_slab_cache_destroy(&c), 0);
}

struct ctor_count {
    unsigned calls;
};

static void pattern_ctor(void *obj, void *arg)
{
    struct ctor_count *cc = arg;
    cc->calls++;
    memset(obj, 0xC5, 24);
}

KH_TEST(slab_ctor_runs_once_per_object_and_survives_free)
{
    kheap *h = slab_test_heap(256 * 1024);
    KH_ASSERT(h);
    struct ctor_count cc = {0};
    struct kh_slab_cache c;
    struct kh_slab_cache_config cfg = heap_cfg(h, 24, 8);
    cfg.ctor = pattern_ctor;
    cfg.ctor_arg = &cc;
    KH_ASSERT_EQ(kh_slab_cache_create(&c, &cfg), 0);
    KH_CHECK_EQ(cc.calls, 0);
    unsigned char *a = kh_slab_alloc(&c, 0);
    KH_ASSERT(a);
    struct kh_slab_cache_stats st;
    kh_slab_cache_stats(&c, &st);
    KH_CHECK_EQ(cc.calls, st.objs_per_slab); /* whole slab constructed at once */
    for (int i = 0; i < 24; i++) KH_CHECK_EQ(a[i], 0xC5);
    /* Free keeps the constructed state: the link lives outside the object. */
    kh_slab_free(&c, a);
    unsigned char *b = kh_slab_alloc(&c, 0);
    KH_CHECK(b == a);
    for (int i = 0; i < 24; i++) KH_CHECK_EQ(b[i], 0xC5);
    KH_CHECK_EQ(cc.calls, st.objs_per_slab); /* not on every alloc */
    /* KH_GFP_ZERO still zeroes when asked. */
    unsigned char *z = kh_slab_alloc(&c, KH_GFP_ZERO);
    KH_ASSERT(z);
    for (int i = 0; i < 24; i++) KH_CHECK_EQ(z[i], 0);
    kh_slab_free(&c, z);
    kh_slab_free(&c, b);
    KH_CHECK_EQ(kh_slab_cache_check(&c), 0);
    KH_CHECK_EQ(kh_slab_cache_destroy(&c), 0);
}

KH_TEST(slab_misuse_is_reported_and_refused)
{
    kheap *h = slab_test_heap(512 * 1024);
    KH_ASSERT(h);
    struct kh_slab_cache c, d;
    struct kh_slab_cache_config cfg = heap_cfg(h, 64, 0);
    KH_ASSERT_EQ(kh_slab_cache_create(&c, &cfg), 0);
    KH_ASSERT_EQ(kh_slab_cache_create(&d, &cfg), 0);
    unsigned char *a = kh_slab_alloc(&c, 0), *b = kh_slab_alloc(&d, 0);
    KH_ASSERT(a && b);
    unsigned char *heap_block = kheap_alloc(h, 64, 0);
    KH_ASSERT(heap_block);
    struct kh_slab_cache_stats before;
    kh_slab_cache_stats(&c, &before);
    kh_slab_free(&c, NULL); /* fine, nothing */
#if KH_CONFIG_CHECKS
    struct kh_test_reports r;
    kh_test_reports_start(&r);
    kh_slab_free(&c, b); /* another cache's object */
    KH_CHECK_EQ(r.last_code, KH_EFAULT);
    KH_CHECK(r.last_ptr == b);
    kh_slab_free(&c, a + 8); /* inside an object */
    KH_CHECK_EQ(r.last_code, KH_EFAULT);
    kh_slab_free(&c, heap_block); /* a heap block */
    KH_CHECK_EQ(r.last_code, KH_EFAULT);
    uintptr_t base = (uintptr_t)a & ~(uintptr_t)(before.slab_bytes - 1);
    kh_slab_free(&c, (unsigned char *)(base + c.hdr_off));
    KH_CHECK_EQ(r.last_code, KH_EFAULT); /* the slab header */
    KH_CHECK_EQ(r.count, 4);
    struct kh_slab_cache_stats after;
    kh_slab_cache_stats(&c, &after);
    KH_CHECK_EQ(after.objects_in_use, 1); /* all refused */
    kh_slab_free(&c, a);
    KH_CHECK_EQ(r.count, 4);
    kh_slab_free(&c, a); /* double free */
    KH_CHECK_EQ(r.count, 5);
    KH_CHECK_EQ(r.last_code, KH_EDOUBLE);
    KH_CHECK_EQ(kh_slab_cache_check(&c), 0);
    KH_CHECK(!kh_slab_owns(&c, a));
    KH_CHECK(!kh_slab_owns(&c, b));
    KH_CHECK(!kh_slab_owns(&c, NULL));
    /* Destroy with a live object: refused, reported, cache still usable. */
    KH_CHECK_EQ(kh_slab_cache_destroy(&d), KH_EBUSY);
    KH_CHECK_EQ(r.last_code, KH_EBUSY);
    KH_CHECK(kh_slab_alloc(&d, 0) != NULL);
    KH_CHECK_EQ(kh_slab_cache_check(&d), 0);
    /* Destroy twice, use after destroy. */
    KH_CHECK_EQ(kh_slab_cache_destroy(&c), 0);
    KH_CHECK_EQ(kh_slab_cache_destroy(&c), KH_EDOUBLE);
    KH_CHECK_EQ(r.last_code, KH_EDOUBLE);
    unsigned n = r.count;
    KH_CHECK(kh_slab_alloc(&c, 0) == NULL);
    KH_CHECK_EQ(r.count, n + 1);
    KH_CHECK_EQ(r.last_code, KH_EINVAL);
    kh_slab_free(&c, b);
    KH_CHECK_EQ(r.count, n + 2);
    KH_CHECK_EQ(kh_slab_cache_destroy(NULL), KH_EINVAL);
    struct kh_slab_cache zeroed;
    memset(&zeroed, 0, sizeof(zeroed));
    KH_CHECK_EQ(kh_slab_cache_destroy(&zeroed), KH_EINVAL);
    KH_CHECK(kh_slab_alloc(&zeroed, 0) == NULL);
    kh_test_reports_stop();
#endif
    kheap_free(h, heap_block);
}

/* A source with no release: shrink must keep its slabs. */
struct norel_src {
    struct kh_static_source s;
    unsigned grows;
};

static void *norel_grow(void *ctx, size_t min, size_t *got)
{
    struct norel_src *n = ctx;
    n->grows++;
    struct kh_source s = kh_static_source(&n->s);
    return s.ops->grow(s.ctx, min, got);
}

static const struct kh_source_ops norel_ops = {norel_grow, NULL};

KH_TEST(slab_page_sources_aligned_misaligned_and_without_release)
{
    size_t n;
    unsigned char *mem = kh_test_arena(&n);
    KH_ASSERT(n >= 512 * 1024);
    mem += (65536 - (uintptr_t)mem % 65536) % 65536; /* slab-aligned array */
    /* Granule = slab size: every grant is a slab, no waste. */
    struct kh_static_source s;
    KH_ASSERT_EQ(kh_static_source_init(&s, mem, 64 * 1024, 8192, 0), 0);
    struct kh_slab_cache c;
    struct kh_slab_cache_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.size = 1000;
    cfg.slab_bytes = 8192;
    cfg.source = kh_static_source(&s);
    KH_ASSERT_EQ(kh_slab_cache_create(&c, &cfg), 0);
    /* Room for more than 8 full slabs (8 objects each on 32-bit targets, 7
     * on 64-bit), so the loop always ends on the one failure. */
    void *objs[80];
    size_t k = 0;
    while (k < 80 && (objs[k] = kh_slab_alloc(&c, 0)) != NULL) k++;
    struct kh_slab_cache_stats st;
    kh_slab_cache_stats(&c, &st);
    KH_CHECK_EQ(st.slabs, 8); /* 64 KiB / 8 KiB, all used */
    KH_CHECK_EQ(k, 8 * st.objs_per_slab);
    KH_CHECK_EQ(st.alloc_failures, 1);
    /* Atomic never calls the source. */
    struct kh_source_stats ss;
    kh_static_source_stats(&s, &ss);
    size_t calls = ss.grants + ss.failures;
    KH_CHECK(kh_slab_alloc(&c, KH_GFP_ATOMIC) == NULL);
    KH_CHECK(kh_slab_alloc(&c, KH_GFP_NOGROW) == NULL);
    kh_static_source_stats(&s, &ss);
    KH_CHECK_EQ(ss.grants + ss.failures, calls);
    for (size_t i = 0; i < k; i++) kh_slab_free(&c, objs[i]);
    KH_CHECK_EQ(kh_slab_cache_destroy(&c), 0);
    kh_static_source_stats(&s, &ss);
    KH_CHECK_EQ(ss.granted_bytes, 0);

    /* Granule 4 KiB, slab 16 KiB: misaligned grants are traded for bigger
     * ones; the slab stays aligned and everything goes back on destroy. */
    KH_ASSERT_EQ(kh_static_source_init(&s, mem + 4096, 256 * 1024, 4096, 0), 0);
    cfg.slab_bytes = 16384;
    cfg.source = kh_static_source(&s);
    KH_ASSERT_EQ(kh_slab_cache_create(&c, &cfg), 0);
    unsigned char *o = kh_slab_alloc(&c, 0);
    KH_ASSERT(o);
    kh_slab_cache_stats(&c, &st);
    KH_CHECK_EQ(((uintptr_t)o & ~(uintptr_t)16383) % 16384, 0);
    KH_CHECK(st.backing_bytes >= 16384);
    KH_CHECK_EQ(kh_slab_cache_check(&c), 0);
    kh_slab_free(&c, o);
    KH_CHECK_EQ(kh_slab_cache_destroy(&c), 0);
    kh_static_source_stats(&s, &ss);
    KH_CHECK_EQ(ss.granted_bytes, 0);

    /* No release: shrink gives nothing back and the slabs stay usable. */
    struct norel_src nr;
    memset(&nr, 0, sizeof(nr));
    KH_ASSERT_EQ(kh_static_source_init(&nr.s, mem, 64 * 1024, 4096, 0), 0);
    cfg.slab_bytes = 4096;
    cfg.size = 64;
    cfg.source.ctx = &nr;
    cfg.source.ops = &norel_ops;
    KH_ASSERT_EQ(kh_slab_cache_create(&c, &cfg), 0);
    void *x = kh_slab_alloc(&c, 0);
    KH_ASSERT(x);
    kh_slab_free(&c, x);
    KH_CHECK_EQ(kh_slab_shrink(&c), 0);
    KH_CHECK(kh_slab_alloc(&c, 0) == x);
    KH_CHECK_EQ(nr.grows, 1);
    kh_slab_free(&c, x);
    KH_CHECK_EQ(kh_slab_cache_destroy(&c), 0);
}

KH_TEST(slab_backing_failure_is_clean)
{
    kheap *h = slab_test_heap(256 * 1024);
    KH_ASSERT(h);
    struct kh_fault f;
    kh_fault_init(&f, kheap_allocator(h));
    struct kh_slab_cache c;
    struct kh_slab_cache_config cfg = heap_cfg(h, 256, 0);
    cfg.pages = kh_fault_allocator(&f);
    KH_ASSERT_EQ(kh_slab_cache_create(&c, &cfg), 0);
    kh_fault_fail_nth(&f, 1);
    KH_CHECK(kh_slab_alloc(&c, 0) == NULL);
    struct kh_slab_cache_stats st;
    kh_slab_cache_stats(&c, &st);
    KH_CHECK_EQ(st.slabs, 0);
    KH_CHECK_EQ(st.alloc_failures, 1);
    KH_CHECK_EQ(kh_slab_cache_check(&c), 0);
    void *p = kh_slab_alloc(&c, 0); /* next attempt succeeds */
    KH_CHECK(p != NULL);
    kh_slab_free(&c, p);
    KH_CHECK_EQ(kh_slab_cache_destroy(&c), 0);
    KH_CHECK_EQ(f.live_blocks, 0);
    /* A backing allocator that ignores alignment is refused, not trusted. */
    struct kh_slab_cache c2;
    struct kh_slab_cache_config cfg2 = heap_cfg(h, 32, 0);
    cfg2.slab_bytes = (size_t)1 << 20; /* the 256 KiB heap cannot align this */
    KH_ASSERT_EQ(kh_slab_cache_create(&c2, &cfg2), 0);
    KH_CHECK(kh_slab_alloc(&c2, KH_GFP_NOWARN) == NULL);
    KH_CHECK_EQ(kh_slab_cache_destroy(&c2), 0);
}

static int slab_cache_check_cb(void *ctx)
{
    return kh_slab_cache_check(ctx);
}

static size_t slab_cache_in_use(void *ctx)
{
    struct kh_slab_cache_stats st;
    kh_slab_cache_stats(ctx, &st);
    return st.objects_in_use;
}

KH_TEST(slab_cache_allocator_model_and_faults)
{
    kheap *h = slab_test_heap(4 << 20);
    KH_ASSERT(h);
    struct kh_slab_cache c;
    struct kh_slab_cache_config cfg = heap_cfg(h, 200, 16);
    KH_ASSERT_EQ(kh_slab_cache_create(&c, &cfg), 0);
    kh_allocator a = kh_slab_cache_allocator(&c);
    /* Bad requests for this cache. */
    KH_CHECK(kh_alloc(a, 201, 0) == NULL);
    KH_CHECK(kh_alloc(a, 8, 32) == NULL);
    KH_CHECK(!kh_resize(a, kh_alloc(a, 1, 0), 1, 300, 0));
    struct kh_model_config mc = {.a = a,
                                 .ops = kh_test_iters(20000),
                                 .max_size = 200,
                                 .max_align_log2 = 4,
                                 .check = slab_cache_check_cb,
                                 .check_ctx = &c,
                                 .check_every = 500};
    struct kh_model_result r = kh_model_run(&mc);
    KH_CHECK(kh_model_ok("slab_cache", &r));
    KH_CHECK_EQ(slab_cache_in_use(&c), 1); /* the probe block above */

    /* Fault injection: the cache over a failing backing. */
    struct kh_fault f;
    kh_fault_init(&f, kheap_allocator(h));
    struct kh_slab_cache c2;
    struct kh_slab_cache_config cfg2 = heap_cfg(h, 48, 16);
    cfg2.pages = kh_fault_allocator(&f);
    KH_ASSERT_EQ(kh_slab_cache_create(&c2, &cfg2), 0);
    struct kh_model_fault_config fc = {
        .model = {.a = kh_slab_cache_allocator(&c2),
                  .ops = kh_test_iters(300) < 60 ? 60 : kh_test_iters(300),
                  .max_size = 48,
                  .max_align_log2 = 4,
                  .may_fail = true,
                  .check = slab_cache_check_cb,
                  .check_ctx = &c2},
        .in_use = slab_cache_in_use,
        .ctx = &c2};
    r = kh_model_fault_run(&fc);
    KH_CHECK(kh_model_ok("slab_cache_fault", &r));
    KH_CHECK_EQ(kh_slab_shrink(&c2) > 0, 1);
    KH_CHECK_EQ(kh_slab_cache_destroy(&c2), 0);
    KH_CHECK_EQ(f.live_blocks, 0);
}

/* ---- front end ---- */

static int kmem_check_cb(void *ctx)
{
    return kh_kmem_check(ctx); /* every cache, and the table (checked builds) */
}

static size_t kmem_in_use(void *ctx)
{
    struct kh_kmem *k = ctx;
    size_t n = k->large_live;
    for (unsigned i = 0; i < k->nclasses; i++) n += k->caches[i].stats.objects_in_use;
    return n;
}

static int kmem_setup(struct kh_kmem *k, kheap **hp, size_t heap_bytes)
{
    kheap *h = slab_test_heap(heap_bytes);
    if (!h) return -1;
    struct kh_kmem_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.pages = kheap_allocator(h);
    cfg.large = kheap_allocator(h);
    *hp = h;
    return kh_kmem_init(k, &cfg);
}

KH_TEST(slab_kmem_init_rejects_bad_config)
{
    struct kh_kmem k;
    struct kh_kmem_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    KH_CHECK_EQ(kh_kmem_init(NULL, &cfg), KH_EINVAL);
    KH_CHECK_EQ(kh_kmem_init(&k, NULL), KH_EINVAL);
    KH_CHECK_EQ(kh_kmem_init(&k, &cfg), KH_EINVAL); /* no backing at all */
    /* Source only, no large allocator: refused too. */
    size_t n;
    unsigned char *mem = kh_test_arena(&n);
    struct kh_static_source s;
    KH_ASSERT_EQ(kh_static_source_init(&s, mem, 64 * 1024, 4096, 0), 0);
    cfg.source = kh_static_source(&s);
    KH_CHECK_EQ(kh_kmem_init(&k, &cfg), KH_EINVAL);
    KH_CHECK(kh_kmem_cache_for(NULL, 8, 0) == NULL);
}

KH_TEST(slab_kmem_routes_by_class)
{
    struct kh_kmem k;
    kheap *h;
    KH_ASSERT_EQ(kmem_setup(&k, &h, 2 << 20), 0);
    kh_allocator a = kh_kmem_allocator(&k);
    /* Class = smallest power of two >= max(size, align or default). */
    KH_CHECK(kh_kmem_cache_for(&k, 1, 8) == &k.caches[0]);
    KH_CHECK(kh_kmem_cache_for(&k, 0, 0) == &k.caches[KH_ALIGN_DEFAULT == 16 ? 1 : 0]);
    KH_CHECK(kh_kmem_cache_for(&k, 100, 0) == &k.caches[4]);
    KH_CHECK(kh_kmem_cache_for(&k, 8, 512) == &k.caches[6]);
    KH_CHECK(kh_kmem_cache_for(&k, 4096, 0) == &k.caches[9]);
    KH_CHECK(kh_kmem_cache_for(&k, 4097, 0) == NULL);
    KH_CHECK(kh_kmem_cache_for(&k, 8, 8192) == NULL);
    /* Every size up to one past the largest class, against the definition. */
    for (size_t sz = 1; sz <= 4097; sz++) {
        unsigned i = 0;
        while (((size_t)KH_KMEM_MIN_CLASS << i) < sz) i++;
        KH_CHECK(kh_kmem_cache_for(&k, sz, 1) == (i < k.nclasses ? &k.caches[i] : NULL));
    }
    /* Every class: naturally aligned objects. */
    for (size_t sz = 8; sz <= 4096; sz *= 2) {
        unsigned char *p = kh_alloc(a, sz, sz);
        KH_ASSERT(p);
        KH_CHECK_EQ((uintptr_t)p % sz, 0);
        KH_CHECK(kh_slab_owns(kh_kmem_cache_for(&k, sz, sz), p));
        memset(p, 0xAB, sz);
        kh_free(a, p, sz, sz);
    }
    /* Large: from the heap, any alignment. */
    unsigned char *big = kh_alloc(a, 10000, 0);
    KH_ASSERT(big);
    KH_CHECK_EQ(k.large_live, 1);
    KH_CHECK(kheap_usable_size(h, big) >= 10000);
    unsigned char *bigal = kh_alloc(a, 100, 16384);
    KH_ASSERT(bigal);
    KH_CHECK_EQ((uintptr_t)bigal % 16384, 0);
    /* Resize: in place inside a class, never across classes. */
    unsigned char *p = kh_alloc(a, 40, 0);
    KH_ASSERT(p);
    KH_CHECK(kh_resize(a, p, 40, 64, 0));
    KH_CHECK(kh_resize(a, p, 64, 33, 0));
    KH_CHECK(!kh_resize(a, p, 33, 65, 0));
    KH_CHECK(!kh_resize(a, p, 33, 5000, 0));
    KH_CHECK(!kh_resize(a, big, 10000, 100, 0)); /* large -> class */
    unsigned char *q = kh_realloc(a, p, 33, 3000, 0, KH_GFP_ZERO);
    KH_ASSERT(q);
    KH_CHECK(kh_slab_owns(&k.caches[9], q));
    KH_CHECK_EQ(q[2999], 0);
    kh_free(a, q, 3000, 0);
    kh_free(a, big, 10000, 0);
    kh_free(a, bigal, 100, 16384);
    KH_CHECK_EQ(kmem_in_use(&k), 0);
    KH_CHECK_EQ(kmem_check_cb(&k), 0);
    /* Zero flag for classes and large. */
    unsigned char *z = kh_alloc_flags(a, 500, 0, KH_GFP_ZERO);
    unsigned char *zl = kh_alloc_flags(a, 9000, 0, KH_GFP_ZERO);
    KH_ASSERT(z && zl);
    KH_CHECK(z[0] == 0 && z[499] == 0 && zl[0] == 0 && zl[8999] == 0);
    kh_free(a, z, 500, 0);
    kh_free(a, zl, 9000, 0);
    KH_CHECK(kh_kmem_shrink(&k) > 0);
    struct kheap_stats hs;
    kheap_stats(h, &hs);
    KH_CHECK_EQ(hs.used_bytes, 0);
    KH_CHECK_EQ(kh_kmem_destroy(&k), 0);
}

KH_TEST(slab_kmem_destroy_rules)
{
    struct kh_kmem k;
    kheap *h;
    KH_ASSERT_EQ(kmem_setup(&k, &h, 1 << 20), 0);
    kh_allocator a = kh_kmem_allocator(&k);
    void *p = kh_alloc(a, 64, 0), *big = kh_alloc(a, 8000, 0);
    KH_ASSERT(p && big);
    struct kh_test_reports r;
    kh_test_reports_start(&r);
    KH_CHECK_EQ(kh_kmem_destroy(&k), KH_EBUSY);
    KH_CHECK_EQ(r.last_code, KH_EBUSY);
    kh_free(a, p, 64, 0);
    KH_CHECK_EQ(kh_kmem_destroy(&k), KH_EBUSY); /* the large block */
    kh_free(a, big, 8000, 0);
    KH_CHECK_EQ(kh_kmem_destroy(&k), 0);
    KH_CHECK_EQ(kh_kmem_destroy(&k), KH_EDOUBLE);
    KH_CHECK_EQ(r.last_code, KH_EDOUBLE);
    KH_CHECK(kh_alloc(a, 8, 0) == NULL); /* destroyed: fails cleanly */
#if KH_CONFIG_CHECKS
    unsigned before = r.count;
    kh_free(a, &r, 8, 0); /* free to a destroyed front end: reported */
    KH_CHECK_EQ(r.count, before + 1);
    KH_CHECK_EQ(r.last_code, KH_EINVAL);
#endif
    kh_test_reports_stop();
    struct kheap_stats hs;
    kheap_stats(h, &hs);
    KH_CHECK_EQ(hs.used_bytes, 0);
}

KH_TEST(slab_kmem_seed_tests)
{
    struct kh_kmem k;
    kheap *h;
    KH_ASSERT_EQ(kmem_setup(&k, &h, KH_SEED_HEAP_SIZE), 0);
    kh_seed_check_all(kh_kmem_allocator(&k), KH_SEED_HEAP_SIZE);
    KH_CHECK_EQ(kmem_in_use(&k), 0);
    KH_CHECK_EQ(kh_kmem_destroy(&k), 0);
}

KH_TEST(slab_kmem_model)
{
    struct kh_kmem k;
    kheap *h;
    KH_ASSERT_EQ(kmem_setup(&k, &h, 8 << 20), 0);
    struct kh_model_config mc = {.a = kh_kmem_allocator(&k),
                                 .ops = kh_test_iters(30000),
                                 .max_size = 12000,
                                 .max_align_log2 = 13,
                                 .check = kmem_check_cb,
                                 .check_ctx = &k,
                                 .check_every = 1000};
    struct kh_model_result r = kh_model_run(&mc);
    KH_CHECK(kh_model_ok("kmem", &r));
    KH_CHECK_EQ(kmem_in_use(&k), 0);
    kh_kmem_shrink(&k);
    KH_CHECK_EQ(kheap_check(h), 0);
    struct kheap_stats hs;
    kheap_stats(h, &hs);
    KH_CHECK_EQ(hs.used_bytes, 0);
    KH_CHECK_EQ(kh_kmem_destroy(&k), 0);
}

KH_TEST(slab_kmem_fault_injection)
{
    size_t n;
    unsigned char *mem = kh_test_arena(&n);
    KH_ASSERT(n >= (1u << 20));
    kheap *h = kheap_init(mem, 1 << 20);
    KH_ASSERT(h);
    /* Failures below the front end (slab refills, large blocks). */
    struct kh_fault f;
    kh_fault_init(&f, kheap_allocator(h));
    struct kh_kmem_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.pages = kh_fault_allocator(&f);
    struct kh_kmem k;
    KH_ASSERT_EQ(kh_kmem_init(&k, &cfg), 0);
    size_t ops = kh_test_iters(200) < 60 ? 60 : kh_test_iters(200);
    /* For every k: fail the k-th request to the heap. */
    for (unsigned long long kk = 1; kk < 40; kk++) {
        kh_fault_fail_nth(&f, kk);
        struct kh_model_config mc = {.a = kh_kmem_allocator(&k),
                                     .ops = ops,
                                     .max_size = 6000,
                                     .max_align_log2 = 6,
                                     .seed = 42,
                                     .may_fail = true,
                                     .check = kmem_check_cb,
                                     .check_ctx = &k};
        struct kh_model_result r = kh_model_run(&mc);
        KH_CHECK(kh_model_ok("kmem_below", &r));
        KH_CHECK_EQ(kmem_in_use(&k), 0);
        kh_kmem_shrink(&k);
        KH_CHECK_EQ(f.live_blocks, 0);
        if (f.attempts < kk) break;
    }
    kh_fault_off(&f);
    /* And the model's own fault run above the front end. */
    struct kh_model_fault_config fc = {.model = {.a = kh_kmem_allocator(&k),
                                                 .ops = ops,
                                                 .max_size = 6000,
                                                 .max_align_log2 = 6,
                                                 .may_fail = true,
                                                 .check = kmem_check_cb,
                                                 .check_ctx = &k},
                                       .in_use = kmem_in_use,
                                       .ctx = &k};
    struct kh_model_result r = kh_model_fault_run(&fc);
    KH_CHECK(kh_model_ok("kmem_fault", &r));
    kh_kmem_shrink(&k);
    KH_CHECK_EQ(f.live_blocks, 0);
    KH_CHECK_EQ(kh_kmem_destroy(&k), 0);
}

KH_TEST(slab_kmem_over_page_source)
{
    size_t n;
    unsigned char *mem = kh_test_arena(&n);
    KH_ASSERT(n >= 512 * 1024);
    /* Slabs from a page source, large blocks from a heap. */
    kheap *h = kheap_init(mem, 128 * 1024);
    KH_ASSERT(h);
    struct kh_static_source s;
    KH_ASSERT_EQ(kh_static_source_init(&s, mem + 128 * 1024, 320 * 1024, 4096, 256 * 1024), 0);
    struct kh_kmem_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.source = kh_static_source(&s);
    cfg.large = kheap_allocator(h);
    struct kh_kmem k;
    KH_ASSERT_EQ(kh_kmem_init(&k, &cfg), 0);
    kh_allocator a = kh_kmem_allocator(&k);
    static void *objs[8192];
    size_t cnt = 0;
    while (cnt < 8192 && (objs[cnt] = kh_alloc(a, 100, 0)) != NULL) cnt++;
    KH_CHECK(cnt < 8192); /* the source's limit stops it */
    struct kh_source_stats ss;
    kh_static_source_stats(&s, &ss);
    KH_CHECK(ss.granted_bytes <= 256 * 1024);
    KH_CHECK(cnt * 128 > 200 * 1024);
    /* Large requests still work: they come from the heap. */
    void *big = kh_alloc(a, 20000, 0);
    KH_CHECK(big != NULL);
    kh_free(a, big, 20000, 0);
    for (size_t i = 0; i < cnt; i++) kh_free(a, objs[i], 100, 0);
    KH_CHECK(kh_kmem_shrink(&k) > 0);
    kh_static_source_stats(&s, &ss);
    KH_CHECK_EQ(ss.granted_bytes, 0);
    KH_CHECK_EQ(kh_kmem_destroy(&k), 0);
}

KH_TEST(slab_kmem_reclaims_its_empty_slabs_before_failing)
{
    struct kh_kmem k;
    kheap *h;
    KH_ASSERT_EQ(kmem_setup(&k, &h, 256 * 1024), 0);
    kh_allocator a = kh_kmem_allocator(&k);
    /* Fill the heap with 4 KiB slabs of one class, then free every object:
     * the slabs stay cached on the empty list. */
    static void *objs[4096];
    size_t n = 0;
    while (n < 4096 && (objs[n] = kh_alloc(a, 200, 0)) != NULL) n++;
    KH_ASSERT(n > 100 && n < 4096);
    for (size_t i = 0; i < n; i++) kh_free(a, objs[i], 200, 0);
    struct kh_slab_cache *c = kh_kmem_cache_for(&k, 200, 0);
    struct kh_slab_cache_stats st;
    kh_slab_cache_stats(c, &st);
    KH_CHECK(st.slabs_empty > 10);
    /* A large request only fits once they are gone: the front end gives
     * them back by itself and retries once. */
    void *big = kh_alloc(a, 128 * 1024, 0);
    KH_CHECK(big != NULL);
    kh_slab_cache_stats(c, &st);
    KH_CHECK_EQ(st.slabs_empty, 0);
    KH_CHECK(st.slabs_released > 10);
    /* Nothing left to give back: a hopeless request fails at once. */
    KH_CHECK(kh_alloc(a, 1 << 20, 0) == NULL);
    struct kh_kmem_stats ks;
    kh_kmem_stats(&k, &ks);
    KH_CHECK_EQ(ks.large_live, 1);
    KH_CHECK_EQ(ks.large_bytes, 128 * 1024);
    KH_CHECK_EQ(ks.objects_in_use, 0);
    void *o = kh_alloc(a, 100, 0);
    KH_ASSERT(o);
    kh_kmem_stats(&k, &ks);
    KH_CHECK_EQ(ks.objects_in_use, 1);
    KH_CHECK_EQ(ks.used_bytes, 128);
    KH_CHECK(ks.slabs >= 1 && ks.slab_bytes >= 4000); /* a slab minus its tail */
    kh_free(a, o, 100, 0);
    kh_free(a, big, 128 * 1024, 0);
    KH_CHECK_EQ(kh_kmem_destroy(&k), 0);
    kh_kmem_stats(&k, &ks);
    KH_CHECK_EQ(ks.slabs, 0); /* destroyed: all zero */
    struct kheap_stats hs;
    kheap_stats(h, &hs);
    KH_CHECK_EQ(hs.used_bytes, 0);
}

KH_TEST(slab_kmem_atomic_never_calls_its_page_source)
{
    size_t n;
    unsigned char *mem = kh_test_arena(&n);
    KH_ASSERT(n >= 512 * 1024);
    mem += (65536 - (uintptr_t)mem % 65536) % 65536;
    kheap *h = kheap_init(mem, 128 * 1024);
    KH_ASSERT(h);
    struct kh_static_source s;
    KH_ASSERT_EQ(kh_static_source_init(&s, mem + 128 * 1024, 256 * 1024, 4096, 0), 0);
    struct kh_kmem_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.source = kh_static_source(&s);
    cfg.large = kheap_allocator(h);
    struct kh_kmem k;
    KH_ASSERT_EQ(kh_kmem_init(&k, &cfg), 0);
    kh_allocator a = kh_kmem_allocator(&k);
    /* No slab yet: an atomic request cannot get one. */
    KH_CHECK(kh_alloc_flags(a, 64, 0, KH_GFP_ATOMIC) == NULL);
    struct kh_source_stats ss;
    kh_static_source_stats(&s, &ss);
    KH_CHECK_EQ(ss.grants + ss.failures, 0);
    /* Once a slab exists, atomic requests are served from it. */
    void *p = kh_alloc(a, 64, 0);
    KH_ASSERT(p);
    void *q = kh_alloc_flags(a, 64, 0, KH_GFP_ATOMIC);
    KH_CHECK(q != NULL);
    kh_free(a, q, 64, 0);
    kh_free(a, p, 64, 0);
    /* An empty slab is cached; an atomic failure must not release it. */
    KH_CHECK(kh_alloc_flags(a, 1 << 20, 0, KH_GFP_ATOMIC) == NULL);
    kh_static_source_stats(&s, &ss);
    KH_CHECK_EQ(ss.releases, 0);
    KH_CHECK_EQ(ss.grants, 1);
    KH_CHECK_EQ(kh_kmem_destroy(&k), 0);
    kh_static_source_stats(&s, &ss);
    KH_CHECK_EQ(ss.granted_bytes, 0);
}

KH_TEST(slab_slabs_from_a_heap_pack_without_gaps)
{
    kheap *h = slab_test_heap(256 * 1024);
    KH_ASSERT(h);
    struct kh_slab_cache c;
    struct kh_slab_cache_config cfg = heap_cfg(h, 64, 0);
    /* The checked build's slab table elsewhere: this is about the slabs. */
    static _Alignas(16) unsigned char table_mem[8192];
    kheap *th = kheap_init(table_mem, sizeof table_mem);
    KH_ASSERT(th);
    cfg.table = kheap_allocator(th);
    KH_ASSERT_EQ(kh_slab_cache_create(&c, &cfg), 0);
    struct kh_slab_cache_stats st;
    kh_slab_cache_stats(&c, &st);
    size_t per = st.objs_per_slab, S = st.slab_bytes;
    /* Objects sit from the slab start: the first one is slab-aligned. */
    void *first = kh_slab_alloc(&c, 0);
    KH_ASSERT(first);
    KH_CHECK_EQ((uintptr_t)first % S, 0);
    for (size_t i = 1; i < 40 * per; i++) KH_ASSERT(kh_slab_alloc(&c, 0));
    kh_slab_cache_stats(&c, &st);
    KH_CHECK_EQ(st.slabs, 40);
    /* 40 slabs in 40 slab-sized windows (plus at most one alignment gap at
     * the start): a slab leaves room for the heap's next block header. */
    struct kheap_stats hs;
    kheap_stats(h, &hs);
    KH_CHECK(hs.used_bytes <= 40 * S);
    KH_CHECK(hs.total_bytes - hs.free_bytes <= 41 * S);
    KH_CHECK(hs.largest_free_block >= 256 * 1024 - 42 * S);
}

KH_TEST(slab_kmem_max_class_sends_bigger_requests_to_large)
{
    size_t n;
    unsigned char *mem = kh_test_arena(&n);
    KH_ASSERT(n >= 256 * 1024);
    kheap *h = kheap_init(mem, 128 * 1024);
    KH_ASSERT(h);
    struct kh_kmem_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.pages = kheap_allocator(h);
    struct kh_kmem k;
    static const size_t bad[] = {4, 1000, 8192, (size_t)1 << 20};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cfg.max_class = bad[i];
        KH_CHECK_EQ(kh_kmem_init(&k, &cfg), KH_EINVAL);
    }
    cfg.max_class = 1024;
    KH_ASSERT_EQ(kh_kmem_init(&k, &cfg), 0);
    KH_CHECK_EQ(k.nclasses, 8);
    kh_allocator a = kh_kmem_allocator(&k);
    KH_CHECK(kh_kmem_cache_for(&k, 1024, 0) == &k.caches[7]);
    KH_CHECK(kh_kmem_cache_for(&k, 1025, 0) == NULL);
    KH_CHECK(kh_kmem_cache_for(&k, 8, 2048) == NULL);
    void *p = kh_alloc(a, 2000, 0), *q = kh_alloc(a, 1000, 0);
    KH_ASSERT(p && q);
    KH_CHECK_EQ(k.large_live, 1);
    KH_CHECK(kh_slab_owns(&k.caches[7], q));
    KH_CHECK(!kh_resize(a, q, 1000, 1100, 0)); /* class -> large: no */
    void *r = kh_realloc(a, q, 1000, 1100, 0, 0);
    KH_ASSERT(r);
    KH_CHECK_EQ(k.large_live, 2);
    kh_free(a, r, 1100, 0);
    kh_free(a, p, 2000, 0);
    struct kh_model_config mc = {.a = a,
                                 .ops = kh_test_iters(5000),
                                 .max_size = 3000,
                                 .max_align_log2 = 11,
                                 .may_fail = true,
                                 .check = kmem_check_cb,
                                 .check_ctx = &k,
                                 .check_every = 500};
    struct kh_model_result res = kh_model_run(&mc);
    KH_CHECK(kh_model_ok("kmem_max_class", &res));
    KH_CHECK_EQ(kmem_in_use(&k), 0);
    KH_CHECK_EQ(kh_kmem_destroy(&k), 0);
    struct kheap_stats hs;
    kheap_stats(h, &hs);
    KH_CHECK_EQ(hs.used_bytes, 0);
}

/* ---- misuse: deterministic, one class at a time, and adversarial ---- */

static void cache_stats_cb(void *ctx, size_t out[KH_MODEL_STATS])
{
    struct kh_slab_cache_stats st;
    kh_slab_cache_stats(ctx, &st);
    out[0] = st.slabs;
    out[1] = st.slabs_partial;
    out[2] = st.slabs_full;
    out[3] = st.slabs_empty;
    out[4] = st.objects_in_use;
    out[5] = st.allocs;
    out[6] = st.frees;
    out[7] = st.backing_bytes;
}

static void kmem_stats_cb(void *ctx, size_t out[KH_MODEL_STATS])
{
    struct kh_kmem *k = ctx;
    struct kh_kmem_stats st;
    kh_kmem_stats(k, &st);
    out[0] = st.objects_in_use;
    out[1] = st.slabs;
    out[2] = st.slab_bytes;
    out[3] = st.used_bytes;
    out[4] = st.large_live;
    out[5] = st.large_bytes;
    size_t frees = 0;
    for (unsigned i = 0; i < k->nclasses; i++) frees += k->caches[i].stats.frees;
    out[6] = frees;
    out[7] = k->table.count;
}

static struct kh_kmem *same_class_kmem;

static bool kmem_same_size(size_t a, size_t b, size_t align)
{
    struct kh_slab_cache *ca = kh_kmem_cache_for(same_class_kmem, a, align);
    struct kh_slab_cache *cb = kh_kmem_cache_for(same_class_kmem, b, align);
    return ca == cb && (ca || a == b);
}

KH_TEST_TAGGED(slab_misuse_one_class_at_a_time, "checks")
{
    kheap *h = slab_test_heap(1 << 20);
    KH_ASSERT(h);
    struct kh_slab_cache c, other;
    struct kh_slab_cache_config cfg = heap_cfg(h, 48, 0);
    KH_ASSERT_EQ(kh_slab_cache_create(&c, &cfg), 0);
    KH_ASSERT_EQ(kh_slab_cache_create(&other, &cfg), 0);
    unsigned char *a = kh_slab_alloc(&c, 0), *b = kh_slab_alloc(&c, 0),
                  *x = kh_slab_alloc(&other, 0);
    KH_ASSERT(a && b && x);
    memset(b, 0x5a, 48);
    kh_allocator ca = kh_slab_cache_allocator(&c);
    KH_CHECK(ca.ops->owns != NULL);
    KH_CHECK_EQ(ca.ops->owns(ca.ctx, a), 48);
    KH_CHECK_EQ(ca.ops->owns(ca.ctx, a + 16), 0);
    KH_CHECK_EQ(ca.ops->owns(ca.ctx, x), 0);
    size_t before[KH_MODEL_STATS] = {0}, now[KH_MODEL_STATS] = {0};
    struct kh_test_reports r;
    kh_slab_free(&c, a);
    cache_stats_cb(&c, before);
    kh_test_reports_start(&r);
    static _Alignas(65536) unsigned char outside[256];
    struct {
        unsigned char *p;
        int code;
    } cases[] = {
        {a, KH_EDOUBLE},      /* double free */
        {b + 16, KH_EFAULT},  /* interior, aligned */
        {b + 1, KH_EFAULT},   /* interior */
        {x, KH_EFAULT},       /* another cache's object */
        {outside, KH_EFAULT}, /* no slab there: the table says so, nothing is read */
    };
    unsigned count = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        kh_slab_free(&c, cases[i].p);
        KH_CHECK_EQ(r.count, ++count);
        KH_CHECK_EQ(r.last_code, cases[i].code);
        KH_CHECK(!kh_resize(ca, cases[i].p, 48, 40, 0)); /* resize of it: refused too */
        KH_CHECK_EQ(r.count, ++count);
        KH_CHECK(kh_realloc(ca, cases[i].p, 48, 40, 0, 0) == NULL);
        KH_CHECK_EQ(r.count, ++count); /* resize reported it; no copy was made */
        KH_CHECK_EQ(ca.ops->owns(ca.ctx, cases[i].p), 0);
        cache_stats_cb(&c, now);
        KH_CHECK(memcmp(now, before, sizeof now) == 0);
        KH_CHECK_EQ(kh_slab_cache_check(&c), 0);
    }
    kh_test_reports_stop();
    for (int i = 0; i < 48; i++) KH_CHECK_EQ(b[i], 0x5a);
    /* A stale pointer into a slab given back: not a slab any more. */
    kh_slab_free(&c, b);
    KH_CHECK_EQ(kh_slab_shrink(&c), 1);
    kh_test_reports_start(&r);
    kh_slab_free(&c, b);
    KH_CHECK_EQ(r.count, 1);
    KH_CHECK_EQ(r.last_code, KH_EFAULT);
    kh_test_reports_stop();
    kh_slab_free(&other, x);
    KH_CHECK_EQ(kh_slab_cache_destroy(&c), 0);
    KH_CHECK_EQ(kh_slab_cache_destroy(&other), 0);
    KH_CHECK_EQ(kheap_check(h), 0);
}

KH_TEST_TAGGED(slab_kmem_misuse_one_class_at_a_time, "checks")
{
    struct kh_kmem k;
    kheap *h;
    KH_ASSERT_EQ(kmem_setup(&k, &h, 4 << 20), 0);
    kh_allocator a = kh_kmem_allocator(&k);
    unsigned char *s1 = kh_alloc(a, 100, 0), *s2 = kh_alloc(a, 100, 0);
    unsigned char *l1 = kh_alloc(a, 10000, 0), *l2 = kh_alloc(a, 20000, 0);
    KH_ASSERT(s1 && s2 && l1 && l2);
    KH_CHECK_EQ(kh_owns(a, s1), 128);
    KH_CHECK_EQ(kh_owns(a, l1), 10000);
    KH_CHECK_EQ(kh_owns(a, l1 + 16), 0);
    kh_free(a, s2, 100, 0);
    kh_free(a, l2, 20000, 0);
    size_t before[KH_MODEL_STATS] = {0}, now[KH_MODEL_STATS] = {0};
    kmem_stats_cb(&k, before);
    static _Alignas(16) unsigned char outside[256];
    struct {
        unsigned char *p;
        size_t size;
        int code;
    } cases[] = {
        {s2, 100, KH_EDOUBLE},       /* double free, small */
        {l2, 20000, KH_EFAULT},      /* double free, large: no longer in the table */
        {s1 + 16, 80, KH_EFAULT},    /* interior */
        {l1 + 4096, 100, KH_EFAULT}, /* interior of a large block, small size */
        {l1 + 64, 9000, KH_EFAULT},  /* interior of a large block */
        {s1, 1000, KH_EFAULT},       /* wrong size: another class */
        {s1, 9000, KH_EFAULT},       /* wrong size: a small object freed as large */
        {l1, 10001, KH_EINVAL},      /* wrong size: large, not the recorded one */
        {l1, 64, KH_EFAULT},         /* a large block freed as small */
        {outside, 64, KH_EFAULT},    /* foreign */
        {outside, 9000, KH_EFAULT},  /* foreign, large */
    };
    struct kh_test_reports r;
    kh_test_reports_start(&r);
    unsigned count = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        kh_free(a, cases[i].p, cases[i].size, 0);
        KH_CHECK_EQ(r.count, ++count);
        KH_CHECK_EQ(r.last_code, cases[i].code);
        KH_CHECK(!kh_resize(a, cases[i].p, cases[i].size, cases[i].size + 1, 0));
        KH_CHECK_EQ(r.count, ++count);
        /* kh_realloc: resize refused (reported), then NULL. Only where the
         * wrong size names a block kmem does have at that address (a large
         * block given back as small) does the helper move: the new block is
         * the caller's, the old one stays (its free refused, reported). */
        unsigned char *q = kh_realloc(a, cases[i].p, cases[i].size, 50000, 0, 0);
        count = r.count;
        if (q) {
            KH_CHECK(cases[i].p == l1 && cases[i].size == 64);
            kh_free(a, q, 50000, 0);
        }
        KH_CHECK_EQ(r.count, count);
        kmem_stats_cb(&k, now);
        KH_CHECK(memcmp(now, before, sizeof now) == 0);
        KH_CHECK_EQ(kh_kmem_check(&k), 0);
    }
    kh_test_reports_stop();
    kh_free(a, s1, 100, 0);
    kh_free(a, l1, 10000, 0);
    KH_CHECK_EQ(kmem_in_use(&k), 0);
    kh_kmem_shrink(&k);
    KH_CHECK_EQ(k.table.count, 0);
    struct kheap_stats hs;
    kheap_stats(h, &hs);
    KH_CHECK_EQ(hs.used_bytes, 0); /* the table went back once empty */
    KH_CHECK_EQ(kh_kmem_destroy(&k), 0);
}

#if KH_TEST_HOSTED
#include <sys/mman.h>
#endif

KH_TEST_TAGGED(slab_kmem_pointer_into_unmapped_memory_is_reported, "checks hosted")
{
#if KH_TEST_HOSTED
    struct kh_kmem k;
    kheap *h;
    KH_ASSERT_EQ(kmem_setup(&k, &h, 1 << 20), 0);
    kh_allocator a = kh_kmem_allocator(&k);
    void *keep = kh_alloc(a, 64, 0); /* the table exists */
    KH_ASSERT(keep);
    /* 64 KiB aligned, every page inaccessible: any read would fault. */
    unsigned char *map = mmap(NULL, 1 << 17, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    KH_ASSERT(map != MAP_FAILED);
    unsigned char *p = map + ((65536 - (uintptr_t)map % 65536) % 65536) + 4096;
    struct kh_test_reports r;
    kh_test_reports_start(&r);
    kh_free(a, p, 64, 0);
    kh_free(a, p, 10000, 0);
    KH_CHECK(!kh_resize(a, p, 64, 32, 0));
    KH_CHECK_EQ(kh_owns(a, p), 0);
    KH_CHECK_EQ(r.count, 3);
    KH_CHECK_EQ(r.last_code, KH_EFAULT);
    kh_test_reports_stop();
    munmap(map, 1 << 17);
    kh_free(a, keep, 64, 0);
    KH_CHECK_EQ(kh_kmem_destroy(&k), 0);
#endif
}

KH_TEST_TAGGED(slab_cache_adversarial_model, "checks")
{
    kheap *h = slab_test_heap(4 << 20);
    KH_ASSERT(h);
    struct kh_slab_cache c, other;
    struct kh_slab_cache_config cfg = heap_cfg(h, 200, 64);
    KH_ASSERT_EQ(kh_slab_cache_create(&c, &cfg), 0);
    KH_ASSERT_EQ(kh_slab_cache_create(&other, &cfg), 0);
    struct kh_model_config mc = {.a = kh_slab_cache_allocator(&c),
                                 .ops = kh_test_iters(20000),
                                 .max_size = 200,
                                 .max_align_log2 = 6,
                                 .check = slab_cache_check_cb,
                                 .check_ctx = &c,
                                 .check_every = 500};
    mc.misuse.classes = KH_MISUSE_DOUBLE | KH_MISUSE_STALE | KH_MISUSE_INTERIOR | KH_MISUSE_FOREIGN;
    mc.misuse.reuse_ok = true;
    mc.misuse.stats = cache_stats_cb;
    mc.misuse.stats_ctx = &c;
    mc.misuse.foreign = kh_slab_cache_allocator(&other);
    struct kh_model_result r = kh_model_run(&mc);
    KH_CHECK(kh_model_misuse_ok("slab cache adversarial", &mc, &r, kh_test_iters(20000) / 1000));
    KH_CHECK_EQ(r.misuse_reported, r.misuses);
    KH_CHECK_EQ(slab_cache_in_use(&c), 0);
    KH_CHECK_EQ(kh_slab_cache_destroy(&c), 0);
    KH_CHECK_EQ(kh_slab_cache_destroy(&other), 0);
    KH_CHECK_EQ(kheap_check(h), 0);
}

KH_TEST_TAGGED(slab_kmem_adversarial_model, "checks")
{
    struct kh_kmem k, other;
    kheap *h, *oh;
    size_t n;
    unsigned char *mem = kh_test_arena(&n);
    /* Sized by the arena (8 MiB on the QEMU targets): the other instance
     * at its end. */
    size_t ob = n / 8 < (1u << 20) ? n / 8 : (1u << 20),
           mb = n / 2 < (8u << 20) ? n / 2 : (8u << 20);
    KH_ASSERT_EQ(kmem_setup(&k, &h, mb), 0);
    oh = kheap_init(mem + n - ob, ob);
    KH_ASSERT(oh);
    struct kh_kmem_config ocfg;
    memset(&ocfg, 0, sizeof(ocfg));
    ocfg.pages = kheap_allocator(oh);
    KH_ASSERT_EQ(kh_kmem_init(&other, &ocfg), 0);
    same_class_kmem = &k;
    struct kh_model_config mc = {.a = kh_kmem_allocator(&k),
                                 .ops = kh_test_iters(30000),
                                 .max_size = 12000,
                                 .max_align_log2 = 10,
                                 .may_fail = mb < (8u << 20),
                                 .check = kmem_check_cb,
                                 .check_ctx = &k,
                                 .check_every = 1000};
    mc.misuse.classes = KH_MISUSE_ALL;
    mc.misuse.reuse_ok = true;
    mc.misuse.same_size = kmem_same_size;
    mc.misuse.stats = kmem_stats_cb;
    mc.misuse.stats_ctx = &k;
    mc.misuse.foreign = kh_kmem_allocator(&other);
    struct kh_model_result r = kh_model_run(&mc);
    KH_CHECK(kh_model_misuse_ok("kmem adversarial", &mc, &r, kh_test_iters(30000) / 1500));
    KH_CHECK_EQ(r.misuse_reported, r.misuses);
    KH_CHECK_EQ(kmem_in_use(&k), 0);
    kh_kmem_shrink(&k);
    struct kheap_stats hs;
    kheap_stats(h, &hs);
    KH_CHECK_EQ(hs.used_bytes, 0);
    KH_CHECK_EQ(kh_kmem_destroy(&k), 0);
    KH_CHECK_EQ(kh_kmem_destroy(&other), 0);
}
