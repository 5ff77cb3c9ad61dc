/* SPDX-License-Identifier: MIT */
/* Global kmalloc API: boot sequence, every flag, sizes, misuse, the OOM
 * handler's retry and give-up paths, growth through the mmap source. */
#define KH_KMALLOC_KERNEL_NAMES
#include "kh_test.h"

#include "alloc_model.h"
#include "seed_tests.h"

#include "kheap/config.h"
#include "kheap/error.h"
#include "kheap/heap.h"
#include "kheap/kmalloc.h"
#include "kheap/locked.h"
#include "kheap/slab.h"
#include "kheap/sources.h"

#include <string.h>

/* kmalloc boots on slab caches, whose pages are aligned to their size: the
 * minimal heap refuses them. */
KH_TEST_FILE_TAGS("full-heap");

/* Boot the global API on the kmalloc front end over a core heap of `bytes`
 * (at most the arena). Tests end with km_down(). */
static struct kh_kmem km_front;
static kheap *km_heap;

static int km_boot(size_t bytes)
{
    size_t n;
    unsigned char *mem = kh_test_arena(&n);
    size_t skip = (65536 - (uintptr_t)mem % 65536) % 65536; /* see test_slab.c */
    if (n < skip + 4096) return -1;
    if (bytes > n - skip) bytes = n - skip;
    kh_kmalloc_shutdown();
    kh_kmalloc_set_oom_handler(NULL, NULL, false);
    km_heap = kheap_init(mem + skip, bytes);
    if (!km_heap) return -1;
    struct kh_kmem_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.pages = kheap_allocator(km_heap);
    cfg.large = kheap_allocator(km_heap);
    int rc = kh_kmem_init(&km_front, &cfg);
    if (rc) return rc;
    return kh_kmalloc_init(kh_kmem_allocator(&km_front));
}

static void km_down(void)
{
    kh_kmalloc_set_oom_handler(NULL, NULL, false);
    kh_kmalloc_shutdown();
}

/* Everything freed: front end and heap hold nothing. */
static bool km_all_free(void)
{
    kh_kmem_shrink(&km_front);
    struct kheap_stats hs;
    kheap_stats(km_heap, &hs);
    return km_front.large_live == 0 && hs.used_bytes == 0;
}

KH_TEST(kmalloc_before_init_every_call_fails_cleanly)
{
    km_down();
    KH_CHECK(!kh_kmalloc_ready());
    struct kh_test_reports r;
    kh_test_reports_start(&r);
    KH_CHECK(kmalloc(16, 0) == NULL);
    KH_CHECK_EQ(r.last_code, KH_ENOENT);
    KH_CHECK(kzalloc(16, 0) == NULL);
    KH_CHECK(kcalloc(2, 8, 0) == NULL);
    KH_CHECK(kmalloc_aligned(16, 64, 0) == NULL);
    KH_CHECK(krealloc(NULL, 16, 0) == NULL);
    unsigned count = r.count;
    KH_CHECK(kmalloc(16, KH_GFP_NOWARN) == NULL); /* failure expected: silent */
    KH_CHECK_EQ(r.count, count);
    static _Alignas(16) unsigned char fake[64];
    KH_CHECK_EQ(ksize(fake + 16), 0);
    KH_CHECK(krealloc(fake + 16, 8, 0) == NULL);
    kfree(NULL);
    kfree(fake + 16);
#if KH_CONFIG_CHECKS
    KH_CHECK_EQ(r.last_code, KH_ENOENT);
#endif
    kh_test_reports_stop();
    KH_CHECK_EQ(kh_kmalloc_shutdown(), KH_ENOENT);
}

KH_TEST(kmalloc_boot_sequence_and_second_init)
{
    KH_ASSERT_EQ(km_boot(1 << 20), 0);
    KH_CHECK(kh_kmalloc_ready());
    kh_allocator none = {NULL, NULL};
    struct kh_test_reports r;
    kh_test_reports_start(&r);
    KH_CHECK_EQ(kh_kmalloc_init(kh_failing_allocator()), KH_EBUSY);
    KH_CHECK_EQ(r.count, 1);
    KH_CHECK_EQ(r.last_code, KH_EBUSY);
    KH_CHECK_EQ(kh_kmalloc_init(none), KH_EINVAL);
    kh_test_reports_stop();
    /* The first allocator stays in place. */
    char *p = kmalloc(100, GFP_KERNEL);
    KH_ASSERT(p);
    KH_CHECK_EQ(ksize(p), 100);
    KH_CHECK_EQ((uintptr_t)p % KH_ALIGN_DEFAULT, 0);
    memset(p, 1, 100);
    kfree(p);
    KH_CHECK(km_all_free());
    km_down();
    KH_CHECK(!kh_kmalloc_ready());
    KH_CHECK(kmalloc(8, KH_GFP_NOWARN) == NULL);
    /* After shutdown a new allocator may be set. */
    KH_CHECK_EQ(kh_kmalloc_init(kh_failing_allocator()), 0);
    KH_CHECK(kmalloc(8, KH_GFP_NOWARN) == NULL);
    km_down();
}

KH_TEST(kmalloc_sizes_and_alignment)
{
    KH_ASSERT_EQ(km_boot(4 << 20), 0);
    static unsigned char *ps[64];
    static const size_t sizes[] = {0, 1, 7, 8, 15, 16, 17, 100, 4000, 4096, 5000, 70000};
    size_t ns = sizeof(sizes) / sizeof(sizes[0]);
    for (size_t i = 0; i < ns; i++) {
        ps[i] = kmalloc(sizes[i], 0);
        KH_ASSERT(ps[i]);
        KH_CHECK_EQ(ksize(ps[i]), sizes[i]);
        KH_CHECK_EQ((uintptr_t)ps[i] % KH_ALIGN_DEFAULT, 0);
        memset(ps[i], (int)i, sizes[i]);
    }
    for (size_t i = 0; i < ns; i++) {
        for (size_t j = 0; j < sizes[i]; j++)
            if (ps[i][j] != (unsigned char)i) {
                KH_CHECK(!"contents changed");
                break;
            }
        kfree(ps[i]);
    }
    /* Aligned variant, up to well past a slab. */
    for (size_t al = 1; al <= 65536; al *= 2) {
        unsigned char *p = kmalloc_aligned(33, al, 0);
        KH_ASSERT(p);
        KH_CHECK_EQ((uintptr_t)p % al, 0);
        KH_CHECK_EQ(ksize(p), 33);
        memset(p, 0x5A, 33);
        /* krealloc keeps the alignment, even when it moves. */
        unsigned char *q = krealloc(p, 20000, 0);
        KH_ASSERT(q);
        KH_CHECK_EQ((uintptr_t)q % al, 0);
        KH_CHECK(q[0] == 0x5A && q[32] == 0x5A);
        kfree(q);
    }
    struct kh_test_reports r;
    kh_test_reports_start(&r);
    KH_CHECK(kmalloc_aligned(8, 48, 0) == NULL); /* not a power of two */
    KH_CHECK_EQ(r.last_code, KH_EINVAL);
    kh_test_reports_stop();
    KH_CHECK(km_all_free());
    km_down();
}

KH_TEST(kmalloc_every_flag)
{
    KH_ASSERT_EQ(km_boot(1 << 20), 0);
    struct kh_test_reports r;
    kh_test_reports_start(&r);
    /* ZERO: kmalloc, kzalloc, kcalloc (dirty the memory first). */
    unsigned char *d = kmalloc(3000, 0);
    KH_ASSERT(d);
    memset(d, 0xFF, 3000);
    kfree(d);
    unsigned char *z = kmalloc(3000, __GFP_ZERO);
    KH_ASSERT(z);
    KH_CHECK(z == d); /* same slab object, reused */
    for (size_t i = 0; i < 3000; i++)
        if (z[i]) {
            KH_CHECK(!"not zeroed");
            break;
        }
    memset(z, 0xFF, 3000);
    kfree(z);
    unsigned char *z2 = kzalloc(3000, 0);
    KH_ASSERT(z2);
    KH_CHECK(z2[0] == 0 && z2[2999] == 0);
    kfree(z2);
    unsigned int *c = kcalloc(100, sizeof(unsigned int), 0);
    KH_ASSERT(c);
    for (int i = 0; i < 100; i++) KH_CHECK_EQ(c[i], 0);
    kfree(c);
    /* Unknown bits are refused. */
    KH_CHECK(kmalloc(8, 1u << 20) == NULL);
    KH_CHECK_EQ(r.last_code, KH_EINVAL);
    KH_CHECK_EQ(r.count, 1);
    /* ATOMIC and NOGROW are passed down: a heap with a source does not grow. */
    kh_test_reports_stop();
    km_down();

    size_t n;
    unsigned char *mem = kh_test_arena(&n);
    KH_ASSERT(n >= 512 * 1024);
    kheap *h = kheap_init_ex(mem, 64 * 1024, 1 << 20);
    KH_ASSERT(h);
    struct kh_static_source s;
    KH_ASSERT_EQ(kh_static_source_init(&s, mem + 64 * 1024, 256 * 1024, 0, 0), 0);
    struct kh_source src = kh_static_source(&s);
    kheap_set_source(h, &src);
    KH_ASSERT_EQ(kh_kmalloc_init(kheap_allocator(h)), 0);
    kh_test_reports_start(&r);
    KH_CHECK(kmalloc(100000, GFP_ATOMIC) == NULL);
    KH_CHECK_EQ(r.last_code, KH_ENOMEM);
    KH_CHECK(kmalloc(100000, KH_GFP_NOGROW | __GFP_NOWARN) == NULL);
    struct kh_source_stats ss;
    kh_static_source_stats(&s, &ss);
    KH_CHECK_EQ(ss.grants + ss.failures, 0);
    /* Without them it grows. */
    void *big = kmalloc(100000, GFP_KERNEL);
    KH_CHECK(big != NULL);
    kh_static_source_stats(&s, &ss);
    KH_CHECK_EQ(ss.grants, 1);
    /* NOWARN: the failure is silent. */
    unsigned count = r.count;
    KH_CHECK(kmalloc(10 << 20, __GFP_NOWARN) == NULL);
    KH_CHECK_EQ(r.count, count);
    KH_CHECK(kmalloc(10 << 20, 0) == NULL);
    KH_CHECK_EQ(r.count, count + 1);
    KH_CHECK_EQ(r.last_code, KH_ENOMEM);
    kh_test_reports_stop();
    kfree(big);
    KH_CHECK_EQ(kheap_check(h), 0);
    km_down();
}

KH_TEST(kmalloc_overflow_is_checked)
{
    KH_ASSERT_EQ(km_boot(1 << 20), 0);
    struct kh_test_reports r;
    kh_test_reports_start(&r);
    KH_CHECK(kmalloc(SIZE_MAX, 0) == NULL);
    KH_CHECK_EQ(r.last_code, KH_EOVERFLOW);
    KH_CHECK(kmalloc(SIZE_MAX - KH_ALIGN_DEFAULT + 1, 0) == NULL);
    KH_CHECK_EQ(r.last_code, KH_EOVERFLOW);
    KH_CHECK(kmalloc_aligned(SIZE_MAX - 100, 4096, 0) == NULL);
    KH_CHECK(kmalloc_array(SIZE_MAX / 2 + 1, 2, 0) == NULL);
    KH_CHECK_EQ(r.last_code, KH_EOVERFLOW);
    KH_CHECK(kcalloc(SIZE_MAX / 8, 16, 0) == NULL);
    void *z0 = kmalloc_array(0, SIZE_MAX, 0); /* 0 bytes is a valid size */
    KH_CHECK(z0 != NULL);
    KH_CHECK_EQ(ksize(z0), 0);
    kfree(z0);
    unsigned count = r.count;
    KH_CHECK(kmalloc_array(SIZE_MAX, SIZE_MAX, __GFP_NOWARN) == NULL);
    KH_CHECK_EQ(r.count, count);
    char *p = kmalloc(10, 0);
    KH_ASSERT(p);
    memcpy(p, "0123456789", 10);
    KH_CHECK(krealloc(p, SIZE_MAX - 4, 0) == NULL);
    KH_CHECK_EQ(r.last_code, KH_EOVERFLOW);
    KH_CHECK(krealloc_array(p, SIZE_MAX / 4, 8, 0) == NULL);
    KH_CHECK(memcmp(p, "0123456789", 10) == 0); /* untouched */
    KH_CHECK_EQ(ksize(p), 10);
    char *q = krealloc_array(p, 4, 10, 0);
    KH_ASSERT(q);
    KH_CHECK_EQ(ksize(q), 40);
    kfree(q);
    kh_test_reports_stop();
    KH_CHECK(km_all_free());
    km_down();
}

KH_TEST(kmalloc_krealloc_rules)
{
    KH_ASSERT_EQ(km_boot(2 << 20), 0);
    unsigned char *p = krealloc(NULL, 20, 0); /* NULL: allocates */
    KH_ASSERT(p);
    for (int i = 0; i < 20; i++) p[i] = (unsigned char)i;
    /* In place inside the class (20 and 24 + header share a class on 32-
     * and 64-bit targets alike). */
    unsigned char *q = krealloc(p, 24, __GFP_ZERO);
    KH_ASSERT(q);
    KH_CHECK(q == p);
    KH_CHECK_EQ(ksize(q), 24);
    KH_CHECK_EQ(q[19], 19);
    KH_CHECK_EQ(q[20], 0);
    KH_CHECK_EQ(q[23], 0);
    /* Growing moves across classes; contents follow, tail zeroed. */
    unsigned char *g = krealloc(q, 9000, KH_GFP_ZERO);
    KH_ASSERT(g);
    for (int i = 0; i < 20; i++) KH_CHECK_EQ(g[i], i);
    KH_CHECK_EQ(g[8999], 0);
    KH_CHECK_EQ(ksize(g), 9000);
    /* Shrinking keeps the prefix. */
    unsigned char *s = krealloc(g, 5, 0);
    KH_ASSERT(s);
    KH_CHECK_EQ(ksize(s), 5);
    for (int i = 0; i < 5; i++) KH_CHECK_EQ(s[i], i);
    /* size 0 keeps a block (kfree frees). */
    unsigned char *e = krealloc(s, 0, 0);
    KH_ASSERT(e);
    KH_CHECK_EQ(ksize(e), 0);
    /* Failure leaves the old block intact and owned. */
    unsigned char *f = krealloc(e, 4, 0);
    KH_ASSERT(f);
    memcpy(f, "abcd", 4);
    KH_CHECK(krealloc(f, 64 << 20, KH_GFP_NOWARN) == NULL);
    KH_CHECK(memcmp(f, "abcd", 4) == 0);
    KH_CHECK_EQ(ksize(f), 4);
    kfree(f);
    KH_CHECK(km_all_free());
    km_down();
}

/* kh_kmalloc_stats counts live blocks and their requested bytes through
 * every call that allocates, resizes or frees (found by fuzz/fuzz_alloc.c:
 * both fields used to stay 0). */
static void km_live(size_t *blocks, size_t *bytes)
{
    struct kh_kmalloc_stats st;
    kh_kmalloc_stats(&st);
    *blocks = st.live_blocks;
    *bytes = st.live_bytes;
}

KH_TEST(kmalloc_stats_count_live_blocks_and_bytes)
{
    KH_ASSERT_EQ(km_boot(2 << 20), 0);
    size_t nb, by;
    km_live(&nb, &by);
    KH_CHECK_EQ(nb, 0);
    KH_CHECK_EQ(by, 0);
    unsigned char *a = kmalloc(100, 0), *b = kzalloc(7, 0), *c = kmalloc_aligned(300, 256, 0);
    unsigned char *d = kcalloc(3, 10, 0), *e = kmalloc(0, 0);
    KH_ASSERT(a && b && c && d && e);
    km_live(&nb, &by);
    KH_CHECK_EQ(nb, 5);
    KH_CHECK_EQ(by, 100 + 7 + 300 + 30);
    /* krealloc in place, moved, shrunk, and failed. */
    a = krealloc(a, 110, 0);
    KH_ASSERT(a);
    b = krealloc(b, 9000, 0);
    KH_ASSERT(b);
    c = krealloc(c, 10, 0);
    KH_ASSERT(c);
    KH_CHECK(krealloc(d, 64 << 20, KH_GFP_NOWARN) == NULL);
    KH_CHECK(kmalloc(64 << 20, KH_GFP_NOWARN) == NULL);
    km_live(&nb, &by);
    KH_CHECK_EQ(nb, 5);
    KH_CHECK_EQ(by, 110 + 9000 + 10 + 30);
    /* krealloc(NULL) allocates; kfree(NULL) and bad frees change nothing. */
    unsigned char *f = krealloc(NULL, 40, 0);
    KH_ASSERT(f);
    kfree(NULL);
    km_live(&nb, &by);
    KH_CHECK_EQ(nb, 6);
    KH_CHECK_EQ(by, 110 + 9000 + 10 + 30 + 40);
    kfree(a);
    kfree(b);
    kfree(c);
    kfree(d);
    kfree(e);
#if KH_CONFIG_CHECKS
    struct kh_test_reports r;
    kh_test_reports_start(&r);
    kfree(e); /* double free: reported (EDOUBLE or EFAULT) and ignored */
    KH_CHECK_EQ(r.count, 1);
    kh_test_reports_stop();
#endif
    km_live(&nb, &by);
    KH_CHECK_EQ(nb, 1);
    KH_CHECK_EQ(by, 40);
    kfree(f);
    km_live(&nb, &by);
    KH_CHECK_EQ(nb, 0);
    KH_CHECK_EQ(by, 0);
    KH_CHECK(km_all_free());
    km_down();
}

KH_TEST(kmalloc_misuse_is_reported)
{
    KH_ASSERT_EQ(km_boot(1 << 20), 0);
#if KH_CONFIG_CHECKS
    struct kh_test_reports r;
    kh_test_reports_start(&r);
    static _Alignas(64) unsigned char fake[128];
    memset(fake, 0x77, sizeof(fake));
    kfree(fake + 32); /* never from kmalloc */
    KH_CHECK_EQ(r.last_code, KH_EFAULT);
    KH_CHECK(r.last_ptr == fake + 32);
    kfree(fake + 33); /* misaligned: refused without reading */
    KH_CHECK_EQ(r.last_code, KH_EFAULT);
    KH_CHECK_EQ(ksize(fake + 32), 0);
    KH_CHECK(krealloc(fake + 32, 8, 0) == NULL);
    KH_CHECK_EQ(r.count, 4);
    unsigned char *p = kmalloc(24, 0);
    KH_ASSERT(p);
    kfree(p + 16); /* inside a block */
    KH_CHECK_EQ(r.last_code, KH_EFAULT);
    KH_CHECK_EQ(ksize(p), 24); /* still fine */
    kfree(p);
    KH_CHECK_EQ(r.count, 5);
    kfree(p); /* double free */
    KH_CHECK_EQ(r.count, 6);
    KH_CHECK(r.last_code == KH_EDOUBLE || r.last_code == KH_EFAULT);
    /* A large block's double free: its header is still intact. */
    unsigned char *big = kmalloc(20000, 0);
    KH_ASSERT(big);
    kfree(big);
    unsigned c = r.count;
    kfree(big);
    KH_CHECK_EQ(r.count, c + 1);
    /* Corrupted header (an underflow by the caller). */
    unsigned char *v = kmalloc(40, 0);
    KH_ASSERT(v);
    v[-1] ^= 0x10;
    kfree(v);
    KH_CHECK_EQ(r.last_code, KH_EFAULT);
    v[-1] ^= 0x10;
    /* The same in the alignment bits (the low bits of the word before the
     * block; v[-1] above hits them only big-endian): refused too, not
     * trusted to find the start of the raw block. */
    size_t tag;
    memcpy(&tag, v - sizeof(tag), sizeof(tag));
    tag ^= 0x10;
    memcpy(v - sizeof(tag), &tag, sizeof(tag));
    kfree(v);
    KH_CHECK_EQ(r.last_code, KH_EFAULT);
    tag ^= 0x10;
    memcpy(v - sizeof(tag), &tag, sizeof(tag));
    kfree(v);
    KH_CHECK_EQ(r.count, c + 3);
    kh_test_reports_stop();
#endif
    KH_CHECK(km_all_free());
    km_down();
}

KH_TEST(kmalloc_copy_helpers)
{
    KH_ASSERT_EQ(km_boot(2 << 20), 0);
    struct kh_test_reports r;
    kh_test_reports_start(&r);
    char *s = kstrdup("hello", 0);
    KH_ASSERT(s);
    KH_CHECK(memcmp(s, "hello", 6) == 0);
    KH_CHECK_EQ(ksize(s), 6);
    char *t = kstrndup("hello", 3, 0);
    KH_ASSERT(t);
    KH_CHECK(memcmp(t, "hel", 4) == 0);
    KH_CHECK_EQ(ksize(t), 4);
    char *u = kstrndup("hi", 10, 0), *e = kstrndup("", 0, 0);
    KH_ASSERT(u && e);
    KH_CHECK(memcmp(u, "hi", 3) == 0 && ksize(u) == 3);
    KH_CHECK(e[0] == 0 && ksize(e) == 1);
    /* NULL strings: NULL, not reported (Linux's rule). */
    KH_CHECK(kstrdup(NULL, 0) == NULL && kstrndup(NULL, 4, 0) == NULL);
    KH_CHECK_EQ(r.count, 0);
    static const unsigned char bytes[5] = {1, 0, 2, 0, 3};
    unsigned char *m = kmemdup(bytes, sizeof(bytes), KH_GFP_ZERO);
    KH_ASSERT(m);
    KH_CHECK(memcmp(m, bytes, sizeof(bytes)) == 0 && ksize(m) == 5);
    void *z = kmemdup(NULL, 0, 0); /* an empty copy is a valid block */
    KH_CHECK(z != NULL && ksize(z) == 0);
    /* Bad input: NULL source with a length, and a length that overflows;
     * each fails cleanly, reported, and takes nothing. */
    KH_CHECK(kmemdup(NULL, 5, 0) == NULL);
    KH_CHECK_EQ(r.last_code, KH_EINVAL);
    KH_CHECK(kmemdup(bytes, SIZE_MAX, 0) == NULL);
    KH_CHECK_EQ(r.last_code, KH_EOVERFLOW);
    KH_CHECK(kmemdup(NULL, 5, KH_GFP_NOWARN) == NULL);
    KH_CHECK_EQ(r.count, 2);
    kh_test_reports_stop();
    kfree(s), kfree(t), kfree(u), kfree(e), kfree(m), kfree(z);
    KH_CHECK(km_all_free());
    km_down();
}

KH_TEST(kmalloc_kfree_sensitive_zeroes_the_block)
{
    /* 8 KiB goes past the front end's classes to the core heap, which
     * writes its free-block links below the kmalloc header, not into the
     * caller's bytes: what is left there after the free is what the free
     * wrote. */
    KH_ASSERT_EQ(km_boot(2 << 20), 0);
    enum { N = 8192 };
    unsigned char *p = kmalloc(N, 0);
    KH_ASSERT(p);
    memset(p, 0xab, N);
    kfree(p); /* plain kfree leaves the bytes: the check below can fail */
    bool kept = true;
    for (size_t i = 0; i < N; i++) kept = kept && p[i] == 0xab;
    KH_CHECK(kept);
    unsigned char *q = kmalloc(N, 0);
    KH_ASSERT(q);
    memset(q, 0xab, N);
    kfree_sensitive(q);
    bool zero = true;
    for (size_t i = 0; i < N; i++) zero = zero && q[i] == 0;
    KH_CHECK(zero);
    kfree_sensitive(NULL); /* does nothing */
#if KH_CONFIG_CHECKS
    /* A pointer that is no kmalloc block: one report, nothing written. */
    struct kh_test_reports r;
    kh_test_reports_start(&r);
    static _Alignas(64) unsigned char fake[128];
    memset(fake, 0x77, sizeof(fake));
    kfree_sensitive(fake + 32);
    KH_CHECK_EQ(r.count, 1);
    KH_CHECK_EQ(r.last_code, KH_EFAULT);
    bool untouched = true;
    for (size_t i = 0; i < sizeof(fake); i++) untouched = untouched && fake[i] == 0x77;
    KH_CHECK(untouched);
    kh_test_reports_stop();
#endif
    KH_CHECK(km_all_free());
    km_down();
}

/* ---- OOM handler ---- */

struct oom_ctx {
    unsigned calls;
    size_t last_size, last_align;
    unsigned last_flags;
    int answer;
    void *reserve;                /* freed on the first call */
    struct kh_slab_cache *shrink; /* shrunk on every call */
    bool nested;                  /* kmalloc from inside the handler */
    void *nested_result;
};

static int oom_handler(size_t size, size_t align, unsigned flags, void *ctx)
{
    struct oom_ctx *o = ctx;
    o->calls++;
    o->last_size = size;
    o->last_align = align;
    o->last_flags = flags;
    if (o->reserve) {
        kfree(o->reserve);
        o->reserve = NULL;
    }
    if (o->shrink) kh_slab_shrink(o->shrink);
    if (o->nested) o->nested_result = kmalloc(1 << 30, KH_GFP_NOWARN);
    return o->answer;
}

KH_TEST_TAGGED(kmalloc_oom_handler_retry_and_give_up, "threads")
{
    KH_ASSERT_EQ(km_boot(256 * 1024), 0);
    struct kh_kmalloc_stats st;
    /* Fill the heap with one reserve block and small blocks. */
    void *reserve = kmalloc(64 * 1024, 0);
    KH_ASSERT(reserve);
    struct oom_ctx o;
    memset(&o, 0, sizeof(o));
    o.answer = KH_OOM_RETRY;
    o.reserve = reserve;
    kh_kmalloc_set_oom_handler(oom_handler, &o, false);
    /* A request that only fits once the reserve is gone. */
    struct kheap_stats hs;
    kheap_stats(km_heap, &hs);
    size_t want = hs.largest_free_block + 1024;
    void *p = kmalloc(want, 0);
    KH_CHECK(p != NULL);
    KH_CHECK_EQ(o.calls, 1);
    KH_CHECK_EQ(o.last_size, want);
    KH_CHECK_EQ(o.last_align, KH_ALIGN_DEFAULT);
    KH_CHECK_EQ(o.last_flags, 0);
    kh_kmalloc_stats(&st);
    KH_CHECK_EQ(st.oom_calls, 1);
    KH_CHECK_EQ(st.oom_retries, 1);
    /* Retry that fails again: one call, one retry, then NULL and a report;
     * never a loop. */
    struct kh_test_reports r;
    kh_test_reports_start(&r);
    KH_CHECK(kmalloc(1 << 30, 0) == NULL);
    KH_CHECK_EQ(o.calls, 2);
    KH_CHECK_EQ(r.count, 1);
    KH_CHECK_EQ(r.last_code, KH_ENOMEM);
    /* Give up: no retry. */
    o.answer = KH_OOM_FAIL;
    KH_CHECK(kmalloc_aligned(1 << 30, 128, __GFP_NOWARN) == NULL);
    KH_CHECK_EQ(o.calls, 3);
    KH_CHECK_EQ(o.last_align, 128);
    KH_CHECK_EQ(o.last_flags, (unsigned)__GFP_NOWARN);
    KH_CHECK_EQ(r.count, 1); /* NOWARN */
    kh_kmalloc_stats(&st);
    KH_CHECK_EQ(st.oom_retries, 2);
    /* Atomic requests skip a handler that may sleep... */
    KH_CHECK(kmalloc(1 << 30, GFP_ATOMIC | __GFP_NOWARN) == NULL);
    KH_CHECK_EQ(o.calls, 3);
    /* ...and call one registered as atomic-safe. */
    kh_kmalloc_set_oom_handler(oom_handler, &o, true);
    KH_CHECK(kmalloc(1 << 30, GFP_ATOMIC | __GFP_NOWARN) == NULL);
    KH_CHECK_EQ(o.calls, 4);
    KH_CHECK_EQ(o.last_flags, (unsigned)(GFP_ATOMIC | __GFP_NOWARN));
    /* A failing kmalloc inside the handler does not re-enter it. */
    o.nested = true;
    o.answer = KH_OOM_RETRY;
    KH_CHECK(kmalloc(1 << 30, __GFP_NOWARN) == NULL);
    KH_CHECK_EQ(o.calls, 5);
    KH_CHECK(o.nested_result == NULL);
    o.nested = false;
    /* krealloc goes through the handler too; the old block survives. */
    unsigned char *k = kmalloc(16, 0);
    KH_ASSERT(k);
    k[0] = 42;
    KH_CHECK(krealloc(k, 1 << 30, __GFP_NOWARN) == NULL);
    KH_CHECK_EQ(o.calls, 6);
    KH_CHECK_EQ(k[0], 42);
    kfree(k);
    /* Handler removed: plain failure. */
    kh_kmalloc_set_oom_handler(NULL, NULL, false);
    KH_CHECK(kmalloc(1 << 30, __GFP_NOWARN) == NULL);
    KH_CHECK_EQ(o.calls, 6);
    kh_test_reports_stop();
    kfree(p);
    KH_CHECK(km_all_free());
    km_down();
}

KH_TEST_TAGGED(kmalloc_oom_handler_reclaims_by_shrinking_slabs, "threads")
{
    KH_ASSERT_EQ(km_boot(512 * 1024), 0);
    /* A driver's own object cache on the same heap fills it, then frees its
     * objects: the empty slabs stay cached, so a large kmalloc fails until
     * the OOM handler shrinks that cache. (struct kh_kmem reclaims its own empty
     * slabs by itself.) */
    static struct kh_slab_cache drv;
    struct kh_slab_cache_config cc;
    memset(&cc, 0, sizeof(cc));
    cc.name = "driver";
    cc.size = 200;
    cc.pages = kheap_allocator(km_heap);
    KH_ASSERT_EQ(kh_slab_cache_create(&drv, &cc), 0);
    static void *objs[4096];
    size_t n = 0;
    while (n < 4096 && (objs[n] = kh_slab_alloc(&drv, 0)) != NULL) n++;
    KH_ASSERT(n > 100 && n < 4096);
    for (size_t i = 0; i < n; i++) kh_slab_free(&drv, objs[i]);
    struct oom_ctx o;
    memset(&o, 0, sizeof(o));
    o.answer = KH_OOM_RETRY;
    o.shrink = &drv;
    KH_CHECK(kmalloc(200 * 1024, __GFP_NOWARN) == NULL); /* no handler yet */
    kh_kmalloc_set_oom_handler(oom_handler, &o, false);
    void *big = kmalloc(200 * 1024, 0);
    KH_CHECK(big != NULL);
    KH_CHECK_EQ(o.calls, 1);
    kfree(big);
    KH_CHECK_EQ(kh_slab_cache_destroy(&drv), 0);
    KH_CHECK(km_all_free());
    km_down();
}

/* ---- the global API as an allocator, for the shared tests ---- */

static void *gk_alloc(void *ctx, size_t size, size_t align, unsigned flags)
{
    (void)ctx;
    return kmalloc_aligned(size, align, flags | KH_GFP_NOWARN);
}

static bool gk_resize(void *ctx, void *ptr, size_t old_size, size_t new_size, size_t align)
{
    (void)ctx, (void)ptr, (void)old_size, (void)new_size, (void)align;
    return false;
}

static void gk_free(void *ctx, void *ptr, size_t size, size_t align)
{
    (void)ctx, (void)align;
    if (ptr && ksize(ptr) != size) kh_test_fail(__FILE__, __LINE__, "ksize != size freed");
    kfree(ptr);
}

static const kh_allocator_ops gk_ops = {gk_alloc, gk_resize, gk_free, NULL};

KH_TEST(kmalloc_seed_tests_and_model)
{
    KH_ASSERT_EQ(km_boot(KH_SEED_HEAP_SIZE), 0);
    kh_allocator a = {NULL, &gk_ops};
    kh_seed_check_all(a, KH_SEED_HEAP_SIZE);
    KH_CHECK(km_all_free());
    km_down();
    KH_ASSERT_EQ(km_boot(8 << 20), 0);
    struct kh_model_config mc = {.a = a,
                                 .ops = kh_test_iters(20000),
                                 .max_size = 9000,
                                 .max_align_log2 = 12,
                                 .no_resize = true};
    struct kh_model_result r = kh_model_run(&mc);
    KH_CHECK(kh_model_ok("kmalloc", &r));
    KH_CHECK(km_all_free());
    km_down();
}

KH_TEST(kmalloc_fault_injection)
{
    /* The global allocator is a fault wrapper over the front end: for every
     * k the k-th allocation fails, and nothing leaks or breaks. */
    KH_ASSERT_EQ(km_boot(2 << 20), 0);
    kh_kmalloc_shutdown();
    static struct kh_fault f;
    kh_fault_init(&f, kh_kmem_allocator(&km_front));
    KH_ASSERT_EQ(kh_kmalloc_init(kh_fault_allocator(&f)), 0);
    kh_allocator a = {NULL, &gk_ops};
    size_t ops = kh_test_iters(200) < 60 ? 60 : kh_test_iters(200);
    for (unsigned long long k = 1; k < 200; k++) {
        kh_fault_fail_nth(&f, k);
        struct kh_model_config mc = {.a = a,
                                     .ops = ops,
                                     .max_size = 6000,
                                     .max_align_log2 = 7,
                                     .seed = 7,
                                     .may_fail = true,
                                     .no_resize = true};
        struct kh_model_result r = kh_model_run(&mc);
        KH_CHECK(kh_model_ok("kmalloc_fault", &r));
        KH_CHECK_EQ(f.live_blocks, 0);
        if (f.attempts < k) break;
    }
    KH_CHECK(km_all_free());
    km_down();
}

KH_TEST_TAGGED(kmalloc_grows_through_mmap_source_to_its_limit, "hosted")
{
#if KH_TEST_HOSTED
    /* Boot like a user-space kernel: a small static heap, an mmap source
     * with a 8 MiB limit, the front end over the heap. */
    static _Alignas(64) unsigned char first[16384];
    kh_kmalloc_shutdown();
    kheap *h = kheap_init_ex(first, sizeof(first), (size_t)64 << 20);
    KH_ASSERT(h);
    static struct kh_mmap_source m;
    KH_ASSERT_EQ(kh_mmap_source_init(&m, (size_t)8 << 20), 0);
    struct kh_source src = kh_mmap_source(&m);
    kheap_set_source(h, &src);
    static struct kh_kmem k;
    struct kh_kmem_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.pages = kheap_allocator(h);
    cfg.large = kheap_allocator(h);
    KH_ASSERT_EQ(kh_kmem_init(&k, &cfg), 0);
    KH_ASSERT_EQ(kh_kmalloc_init(kh_kmem_allocator(&k)), 0);
    static void *blocks[1 << 14];
    size_t n = 0, bytes = 0;
    struct kh_test_reports r;
    kh_test_reports_start(&r);
    while (n < (1u << 14)) {
        size_t sz = (n % 3 == 0) ? 20000 : 1000;
        void *p = kmalloc(sz, 0);
        if (!p) break;
        blocks[n++] = p;
        bytes += sz;
    }
    kh_test_reports_stop();
    KH_CHECK(n < (1u << 14));
    KH_CHECK_EQ(r.count, 1); /* the one failure, reported */
    KH_CHECK_EQ(r.last_code, KH_ENOMEM);
    struct kh_source_stats ss;
    kh_mmap_source_stats(&m, &ss);
    KH_CHECK(ss.granted_bytes <= (size_t)8 << 20);
    KH_CHECK(bytes > (size_t)6 << 20); /* grew nearly to the limit */
    KH_CHECK(ss.failures >= 1);
    /* Everything still intact and freeable; memory is reused afterwards. */
    for (size_t i = 0; i < n; i++) kfree(blocks[i]);
    kh_kmem_shrink(&k);
    KH_CHECK_EQ(kheap_check(h), 0);
    struct kheap_stats hs;
    kheap_stats(h, &hs);
    KH_CHECK_EQ(hs.used_bytes, 0);
    /* The mappings are not contiguous, so reuse is block by block. */
    size_t grants = ss.grants;
    for (size_t i = 0; i < n / 2; i++) {
        blocks[i] = kmalloc((i % 3 == 0) ? 20000 : 1000, 0);
        KH_CHECK(blocks[i] != NULL);
    }
    for (size_t i = 0; i < n / 2; i++) kfree(blocks[i]);
    kh_mmap_source_stats(&m, &ss);
    KH_CHECK(ss.grants <= grants + 1);
    kh_kmalloc_shutdown();
#endif
}

#if KH_TEST_HOSTED
#include <pthread.h>

static void *km_thread(void *arg)
{
    uintptr_t id = (uintptr_t)arg;
    uint64_t x = 0x9e3779b97f4a7c15ull * (id + 1);
    enum { SLOTS = 64 };
    unsigned char *slot[SLOTS] = {0};
    size_t iters = kh_test_iters(20000);
    uintptr_t bad = 0;
    for (size_t i = 0; i < iters; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        size_t k = (size_t)(x % SLOTS);
        if (slot[k]) {
            if (slot[k][0] != (unsigned char)id || ksize(slot[k]) == 0) bad++;
            if (x & 0x100) {
                unsigned char *q = krealloc(slot[k], (size_t)(x >> 40) % 6000 + 1, 0);
                if (q) slot[k] = q;
            } else {
                kfree(slot[k]);
                slot[k] = NULL;
            }
        } else {
            slot[k] = kmalloc((size_t)(x >> 40) % 3000 + 1, (x & 0x200) ? KH_GFP_ZERO : 0);
            if (slot[k]) slot[k][0] = (unsigned char)id;
        }
    }
    for (size_t k = 0; k < SLOTS; k++) kfree(slot[k]);
    return (void *)bad;
}
#endif

KH_TEST_TAGGED(kmalloc_four_threads_over_a_locked_front_end, "hosted threads")
{
#if KH_TEST_HOSTED
    /* The usual boot: core heap -> struct kh_kmem front end -> locked wrapper ->
     * global API. */
    KH_ASSERT_EQ(km_boot(16 << 20), 0);
    kh_kmalloc_shutdown();
    static kh_spinlock_t lock = KH_SPINLOCK_INIT;
    static struct kh_locked l;
    KH_ASSERT_EQ(kh_locked_init(&l, kh_kmem_allocator(&km_front), &lock, &kh_spin_lock_ops), 0);
    KH_ASSERT_EQ(kh_kmalloc_init(kh_locked_allocator(&l)), 0);
    pthread_t t[4];
    for (uintptr_t i = 0; i < 4; i++)
        KH_ASSERT_EQ(pthread_create(&t[i], NULL, km_thread, (void *)(i + 1)), 0);
    for (int i = 0; i < 4; i++) {
        void *bad = NULL;
        pthread_join(t[i], &bad);
        KH_CHECK(bad == NULL);
    }
    KH_CHECK(km_all_free());
    KH_CHECK_EQ(kheap_check(km_heap), 0);
    km_down();
    kh_locked_destroy(&l);
#endif
}

/* OOM handler for a locked front end: shrink under the allocator's lock
 * (the handler runs outside it, so taking it cannot deadlock). */
static void shrink_locked(void *inner_ctx, void *arg)
{
    *(size_t *)arg += kh_kmem_shrink(inner_ctx);
}

static int locked_oom(size_t size, size_t align, unsigned flags, void *ctx)
{
    (void)size, (void)align, (void)flags;
    size_t n = 0;
    kh_locked_call(ctx, shrink_locked, &n);
    return n ? KH_OOM_RETRY : KH_OOM_FAIL;
}

KH_TEST_TAGGED(kmalloc_oom_handler_shrinks_a_locked_front_end, "threads")
{
    KH_ASSERT_EQ(km_boot(512 * 1024), 0);
    kh_kmalloc_shutdown();
    static kh_spinlock_t lock = KH_SPINLOCK_INIT;
    static struct kh_locked l;
    KH_ASSERT_EQ(kh_locked_init(&l, kh_kmem_allocator(&km_front), &lock, &kh_spin_lock_ops), 0);
    KH_ASSERT_EQ(kh_kmalloc_init(kh_locked_allocator(&l)), 0);
    kh_kmalloc_set_oom_handler(locked_oom, &l, true);
    /* Fill with small blocks, free them: empty slabs everywhere. */
    static void *objs[8192];
    size_t n = 0;
    while (n < 8192 && (objs[n] = kmalloc(100, __GFP_NOWARN)) != NULL) n++;
    KH_ASSERT(n > 100 && n < 8192);
    for (size_t i = 0; i < n; i++) kfree(objs[i]);
    /* The front end reclaims by itself first; the handler is the second
     * line. Either way the big request succeeds and nothing deadlocks. */
    void *big = kmalloc(256 * 1024, 0);
    KH_CHECK(big != NULL);
    kfree(big);
    /* Hopeless: the handler finds nothing to shrink and gives up. */
    struct kh_test_reports r;
    kh_test_reports_start(&r);
    KH_CHECK(kmalloc(1 << 30, 0) == NULL);
    KH_CHECK_EQ(r.last_code, KH_ENOMEM);
    kh_test_reports_stop();
    struct kh_kmalloc_stats st;
    kh_kmalloc_stats(&st);
    KH_CHECK(st.oom_calls >= 1);
    KH_CHECK(km_all_free());
    km_down();
    kh_locked_destroy(&l);
}

/* ---- OOM handler across threads (hosted: two threads stand in for CPUs) ---- */

#if KH_TEST_HOSTED
#include <sched.h>
#include <time.h>

struct oom_race {
    kh_atomic_t in_handler, calls, other_done, saw_other;
    void *reserve;
    unsigned other_flags;
    void *mine, *other;
    struct kh_locked l;
    void *fill[256];
    size_t nfill;
};
static struct oom_race race;

/* Spin (yielding) until *flag is set or `secs` pass: bounded, so a guard
 * that makes the other thread wait for us fails the test instead of
 * hanging it. */
static bool wait_flag(kh_atomic_t *flag, int secs)
{
    time_t end = time(NULL) + secs;
    while (!kh_atomic_read_acquire(flag)) {
        if (time(NULL) > end) return false;
        sched_yield();
    }
    return true;
}

/* The handler holds its run open until the other thread has either started
 * waiting for it (oom_waits) or come back (other_done), then frees the
 * reserve and asks for a retry. */
static int race_handler(size_t size, size_t align, unsigned flags, void *ctx)
{
    (void)size, (void)align, (void)flags, (void)ctx;
    kh_atomic_inc(&race.calls);
    kh_atomic_set_release(&race.in_handler, 1);
    time_t end = time(NULL) + 10;
    for (;;) {
        struct kh_kmalloc_stats st;
        kh_kmalloc_stats(&st);
        if (st.oom_waits || kh_atomic_read_acquire(&race.other_done)) break;
        if (time(NULL) > end) break;
        sched_yield();
    }
    kh_atomic_set(&race.saw_other, 1);
    kfree(race.reserve);
    race.reserve = NULL;
    return KH_OOM_RETRY;
}

static void *race_first(void *arg)
{
    (void)arg;
    race.mine = kmalloc(32 * 1024, __GFP_NOWARN);
    return NULL;
}

static void *race_second(void *arg)
{
    (void)arg;
    race.other = kmalloc(32 * 1024, race.other_flags | __GFP_NOWARN);
    kh_atomic_set_release(&race.other_done, 1);
    return NULL;
}

/* Boot over a locked front end, keep a 96 KiB reserve and fill the rest,
 * then let two threads fail at once: the first runs the handler. The
 * kmalloc counters afterwards go to *st. */
static void oom_race_run(unsigned other_flags, struct kh_kmalloc_stats *st)
{
    static kh_spinlock_t lock = KH_SPINLOCK_INIT;
    memset(&race, 0, sizeof(race));
    memset(st, 0, sizeof(*st));
    race.other_flags = other_flags;
    KH_ASSERT_EQ(km_boot(512 * 1024), 0);
    kh_kmalloc_shutdown();
    KH_ASSERT_EQ(kh_locked_init(&race.l, kh_kmem_allocator(&km_front), &lock, &kh_spin_lock_ops),
                 0);
    KH_ASSERT_EQ(kh_kmalloc_init(kh_locked_allocator(&race.l)), 0);
    race.reserve = kmalloc(96 * 1024, 0);
    KH_ASSERT(race.reserve);
    size_t n = 0, cap = sizeof(race.fill) / sizeof(race.fill[0]);
    while (n < cap && (race.fill[n] = kmalloc(4096, __GFP_NOWARN)) != NULL) n++;
    KH_ASSERT(n > 0 && n < cap);
    race.nfill = n;
    KH_CHECK(kmalloc(32 * 1024, __GFP_NOWARN) == NULL); /* really full */
    kh_kmalloc_set_oom_handler(race_handler, NULL, true);
    pthread_t a, b;
    KH_ASSERT_EQ(pthread_create(&a, NULL, race_first, NULL), 0);
    KH_CHECK(wait_flag(&race.in_handler, 10));
    KH_ASSERT_EQ(pthread_create(&b, NULL, race_second, NULL), 0);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    kh_kmalloc_stats(st);
}

static void oom_race_end(void)
{
    kfree(race.mine);
    kfree(race.other);
    for (size_t i = 0; i < race.nfill; i++) kfree(race.fill[i]);
    KH_CHECK(km_all_free());
    km_down();
    kh_locked_destroy(&race.l);
}
#endif

KH_TEST_TAGGED(kmalloc_oom_other_cpu_waits_for_the_handler_then_retries, "hosted threads")
{
#if KH_TEST_HOSTED
    struct kh_kmalloc_stats st;
    oom_race_run(0, &st);
    /* One handler run served both: the second thread waited for it instead
     * of failing, then retried into the reclaimed reserve. */
    KH_CHECK_EQ(kh_atomic_read(&race.calls), 1);
    KH_CHECK_EQ(st.oom_calls, 1);
    KH_CHECK_EQ(st.oom_waits, 1);
    KH_CHECK_EQ(st.oom_retries, 1);
    KH_CHECK(race.mine != NULL);
    KH_CHECK(race.other != NULL);
    KH_CHECK(race.mine != race.other);
    oom_race_end();
#endif
}

KH_TEST_TAGGED(kmalloc_oom_atomic_request_never_waits_for_the_handler, "hosted threads")
{
#if KH_TEST_HOSTED
    struct kh_kmalloc_stats st;
    oom_race_run(GFP_ATOMIC, &st);
    /* The atomic request came back (NULL) while the handler still ran: it
     * neither waited nor ran the handler a second time. */
    KH_CHECK(kh_atomic_read(&race.other_done));
    KH_CHECK(race.other == NULL);
    KH_CHECK_EQ(st.oom_waits, 0);
    KH_CHECK_EQ(kh_atomic_read(&race.calls), 1);
    KH_CHECK(race.mine != NULL);
    oom_race_end();
#endif
}

/* ---- misuse: adversarial run over the global API ----
 * Valid calls (kmalloc, kzalloc, kmalloc_aligned, kstrdup, kmemdup, krealloc,
 * kfree) interleaved with misuse of every class through kfree,
 * kfree_sensitive, ksize and krealloc: a double free, a stale pointer (freed
 * earlier; never one a live block starts at again), a pointer into a live
 * block, a foreign pointer (a static buffer, a block of another allocator).
 * After each: reported, and nothing changed: kmalloc's counters, the front
 * end's counters and checker, every live block's contents. */

#define ADV_SLOTS 64

struct adv_blk {
    unsigned char *p;
    size_t size;
    unsigned char pat;
};

static struct adv_blk adv_live[ADV_SLOTS];
static size_t adv_n;
static unsigned char *adv_freed[32];
static size_t adv_nfreed;

static void adv_fill(struct adv_blk *b)
{
    for (size_t i = 0; i < b->size; i++) b->p[i] = (unsigned char)(b->pat + i * 3);
}

static bool adv_intact(void)
{
    for (size_t k = 0; k < adv_n; k++)
        for (size_t i = 0; i < adv_live[k].size; i++)
            if (adv_live[k].p[i] != (unsigned char)(adv_live[k].pat + i * 3)) return false;
    return true;
}

static bool adv_starts_live(const unsigned char *p)
{
    for (size_t k = 0; k < adv_n; k++)
        if (adv_live[k].p == p) return true;
    return false;
}

static void adv_free(size_t k)
{
    adv_freed[adv_nfreed++ % 32] = adv_live[k].p;
    kfree(adv_live[k].p);
    adv_live[k] = adv_live[--adv_n];
}

/* One misuse with p; false when something broke (recorded as a failure). */
static void adv_misuse(unsigned char *p, kh_allocator front, unsigned how)
{
    struct kh_kmalloc_stats ks0, ks1;
    struct kh_kmem_stats ms0, ms1;
    kh_kmalloc_stats(&ks0);
    kh_kmem_stats(&km_front, &ms0);
    struct kh_test_reports r;
    kh_test_reports_start(&r);
    switch (how % 4) {
    case 0:
        kfree(p);
        break;
    case 1:
        kfree_sensitive(p);
        break;
    case 2:
        KH_CHECK_EQ(ksize(p), 0);
        break;
    default:
        KH_CHECK(krealloc(p, 1 + how % 3000, 0) == NULL);
        break;
    }
    kh_test_reports_stop();
    KH_CHECK_EQ(r.count, 1);
    KH_CHECK(r.last_code == KH_EFAULT || r.last_code == KH_EDOUBLE);
    kh_kmalloc_stats(&ks1);
    kh_kmem_stats(&km_front, &ms1);
    KH_CHECK(memcmp(&ks0, &ks1, sizeof ks0) == 0);
    KH_CHECK(memcmp(&ms0, &ms1, sizeof ms0) == 0);
    KH_CHECK(adv_intact());
    KH_CHECK_EQ(kh_kmem_check(&km_front), 0);
    (void)front;
}

static void adv_run(kh_allocator foreign, size_t ops)
{
    static _Alignas(64) unsigned char outside[512];
    adv_n = adv_nfreed = 0;
    for (size_t op = 0; op < ops && !kh_test_failed(); op++) {
        unsigned w = (unsigned)kh_test_rand_range(0, 99);
        if (w < 12) { /* misuse */
            unsigned how = (unsigned)kh_test_rand();
            unsigned cls = (unsigned)kh_test_rand_range(0, 3);
            unsigned char *p = NULL, *theirs = NULL;
            if (cls == 0 && adv_n) { /* double free */
                size_t k = (size_t)kh_test_rand_range(0, adv_n - 1);
                p = adv_live[k].p;
                adv_free(k);
            } else if (cls == 1 && adv_nfreed) { /* stale */
                p = adv_freed[kh_test_rand_range(0, (adv_nfreed < 32 ? adv_nfreed : 32) - 1)];
                if (adv_starts_live(p)) p = NULL;
            } else if (cls == 2 && adv_n) { /* interior */
                struct adv_blk *b = &adv_live[kh_test_rand_range(0, adv_n - 1)];
                if (b->size > 16) p = b->p + 16 * kh_test_rand_range(1, (b->size - 1) / 16);
            } else if (cls == 3) { /* foreign */
                if (kh_test_rand() & 1) {
                    p = outside + 16 * kh_test_rand_range(1, 31);
                } else {
                    theirs = kh_alloc(foreign, 16 + kh_test_rand_range(0, 5000), 0);
                    p = theirs ? theirs + (kh_test_rand() & 1 ? 0 : 16) : NULL;
                }
            }
            if (p) adv_misuse(p, foreign, how);
            if (theirs) kh_free(foreign, theirs, 0, 0);
            continue;
        }
        if ((w < 55 && adv_n < ADV_SLOTS) || !adv_n) {
            size_t size = (size_t)kh_test_rand_range(0, kh_test_rand() & 1 ? 200 : 9000);
            unsigned char *p;
            if (w % 5 == 0)
                p = kmalloc_aligned(size, (size_t)1 << kh_test_rand_range(0, 12), 0);
            else if (w % 5 == 1)
                p = kzalloc(size, 0);
            else
                p = kmalloc(size, 0);
            KH_ASSERT(p);
            struct adv_blk *b = &adv_live[adv_n++];
            b->p = p;
            b->size = size;
            b->pat = (unsigned char)kh_test_rand();
            adv_fill(b);
        } else if (w < 80) {
            adv_free((size_t)kh_test_rand_range(0, adv_n - 1));
        } else {
            struct adv_blk *b = &adv_live[kh_test_rand_range(0, adv_n - 1)];
            size_t ns = (size_t)kh_test_rand_range(0, 9000);
            unsigned char *old = b->p, *q = krealloc(b->p, ns, 0);
            KH_ASSERT(q);
            size_t keep = ns < b->size ? ns : b->size;
            b->p = q;
            for (size_t i = 0; i < keep; i++) KH_CHECK_EQ(q[i], (unsigned char)(b->pat + i * 3));
            b->size = ns;
            adv_fill(b);
            if (q != old) adv_freed[adv_nfreed++ % 32] = old;
        }
    }
    while (adv_n) adv_free(adv_n - 1);
}

KH_TEST_TAGGED(kmalloc_adversarial_over_kmem, "checks")
{
    size_t n;
    unsigned char *mem = kh_test_arena(&n);
    /* Sized by the arena (8 MiB on the QEMU targets); the other allocator
     * at its end. */
    size_t ob = n / 8 < (1u << 20) ? n / 8 : (1u << 20);
    KH_ASSERT_EQ(km_boot(n / 2 < (8u << 20) ? n / 2 : (8u << 20)), 0);
    kheap *other = kheap_init(mem + n - ob, ob);
    KH_ASSERT(other);
    adv_run(kheap_allocator(other), kh_test_iters(20000));
    KH_CHECK(km_all_free());
    km_down();
}

KH_TEST_TAGGED(kmalloc_adversarial_over_a_locked_kmem, "checks")
{
    size_t n;
    unsigned char *mem = kh_test_arena(&n);
    size_t ob = n / 8 < (1u << 20) ? n / 8 : (1u << 20);
    KH_ASSERT_EQ(km_boot(n / 2 < (8u << 20) ? n / 2 : (8u << 20)), 0);
    kh_kmalloc_shutdown();
    static kh_spinlock_t lock = KH_SPINLOCK_INIT;
    static struct kh_locked l;
    KH_ASSERT_EQ(kh_locked_init(&l, kh_kmem_allocator(&km_front), &lock, &kh_spin_lock_ops), 0);
    KH_ASSERT_EQ(kh_kmalloc_init(kh_locked_allocator(&l)), 0);
    kheap *other = kheap_init(mem + n - ob, ob);
    KH_ASSERT(other);
    adv_run(kheap_allocator(other), kh_test_iters(10000));
    KH_CHECK(!kh_spin_is_locked(&lock));
    KH_CHECK(km_all_free());
    km_down();
    kh_locked_destroy(&l);
}

#if KH_TEST_HOSTED
#include <sys/mman.h>
#endif

/* A pointer into memory that is not mapped: kfree, kfree_sensitive, ksize
 * and krealloc report it and never read below it (the 16 bytes below a
 * page start lie in an inaccessible page). Over kh_kmem the owns query
 * places it first; over an allocator without owns, the span of kmalloc's
 * own blocks does. */
KH_TEST_TAGGED(kmalloc_pointer_into_unmapped_memory_is_reported, "checks hosted")
{
#if KH_TEST_HOSTED
    unsigned char *map = mmap(NULL, 1 << 18, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    KH_ASSERT(map != MAP_FAILED);
    for (int over_heap = 0; over_heap < 2; over_heap++) {
        KH_ASSERT_EQ(km_boot(1 << 20), 0);
        if (over_heap) {
            kh_kmalloc_shutdown();
            KH_ASSERT_EQ(kh_kmalloc_init(kheap_allocator(km_heap)), 0);
        }
        void *keep = kmalloc(100, 0);
        KH_ASSERT(keep);
        struct kh_test_reports r;
        kh_test_reports_start(&r);
        for (size_t off = 0; off < (1 << 18); off += 4096 + 16) {
            unsigned char *p = map + off - off % 16;
            kfree(p);
            kfree_sensitive(p);
            KH_CHECK_EQ(ksize(p), 0);
            KH_CHECK(krealloc(p, 10, 0) == NULL);
        }
        KH_CHECK(r.count > 0);
        KH_CHECK_EQ(r.last_code, KH_EFAULT);
        kh_test_reports_stop();
        KH_CHECK_EQ(ksize(keep), 100);
        kfree(keep);
        KH_CHECK(km_all_free());
        km_down();
    }
    munmap(map, 1 << 18);
#endif
}

/* Over an allocator that cannot vet pointers (the core heap), kmalloc still
 * refuses pointers outside the span of its blocks without reading them, and
 * within it checks the header: a keyed tag (not forgeable without the
 * secret), and a double free while the freed tag is intact. */
KH_TEST_TAGGED(kmalloc_over_an_allocator_without_owns, "checks")
{
    KH_ASSERT_EQ(km_boot(1 << 20), 0);
    kh_kmalloc_shutdown();
    KH_ASSERT_EQ(kh_kmalloc_init(kheap_allocator(km_heap)), 0);
    static _Alignas(64) unsigned char outside[256];
    unsigned char *a = kmalloc(64, 0), *b = kmalloc(64, 0);
    KH_ASSERT(a && b);
    memset(b, 0x3c, 64);
    struct kh_test_reports r;
    kh_test_reports_start(&r);
    kfree(outside + 64);
    KH_CHECK_EQ(r.last_code, KH_EFAULT);
    kfree(a);
    kfree(a); /* the heap's free-list links may have overwritten the freed tag */
    KH_CHECK(r.last_code == KH_EDOUBLE || r.last_code == KH_EFAULT);
    kfree(b + 32); /* inside b: its bytes are no header */
    KH_CHECK_EQ(r.last_code, KH_EFAULT);
    KH_CHECK_EQ(r.count, 3);
    kh_test_reports_stop();
    for (int i = 0; i < 64; i++) KH_CHECK_EQ(b[i], 0x3c);
    kfree(b);
    KH_CHECK(km_all_free());
    km_down();
}
