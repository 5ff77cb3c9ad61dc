/* SPDX-License-Identifier: MIT */
/* libFuzzer target for the allocator family: the input drives the shadow
 * model of tests/alloc_model.c (through its script mode) over one allocator
 * stack, or a small interpreter of the global kmalloc API.
 *
 * Input: [stack][p1][p2][p3][m] then the script.
 *   stack % 9 picks the stack:
 *     0 llist                     4 locked (pthread or spin) over llist or heap
 *     1 fixed over a heap         5 bump, optionally growing from a source
 *     2 slab cache over a heap    6 the heap through kheap_allocator()
 *     3 struct kh_kmem over a heap       7, 8 kmalloc API over struct kh_kmem over a heap
 *   p1..p3 are its parameters (see run_*): arena size (small, so
 *   out-of-memory paths are common), largest request, alignment range,
 *   live-block limit, check interval, policies, and for stacks with a
 *   backing allocator optional random failure injection below the allocator
 *   under test. Everything else is consumed by the model's draws (see
 *   struct kh_model_config.script) or by the kmalloc interpreter
 *   (run_kmalloc: kmalloc, kzalloc, kmalloc_aligned, kcalloc, kmemdup,
 *   kstrndup, overflowing kmalloc_array, krealloc, kfree, kfree_sensitive,
 *   ksize with random KH_GFP_* flags, an optional OOM handler that
 *   reclaims).
 *   m puts misuse in the input: its low 5 bits are the misuse classes
 *   (KH_MISUSE_*, tests/alloc_model.h) the model interleaves with the valid
 *   operations, limited to those the stack's allocator reports or ignores
 *   harmlessly (its datasheet), about one in 2 + (m >> 5) * 3 operations;
 *   the kmalloc interpreter gets misuse operations (kfree, kfree_sensitive,
 *   ksize, krealloc of freed, interior and foreign pointers) when m is odd.
 *   Every misuse must be reported and leave everything as it was.
 *
 * Reproduce a crash: build/fuzz/fuzz_alloc build/fuzz/alloc-crash-<hash>
 *
 * Every stack runs with its own check callback, may_fail where running out of
 * memory is legitimate, and ends with everything freed, the object destroyed
 * and its backing empty. Any violation, and any kh_report() from the library
 * the stack does not expect, aborts with a message, which libFuzzer reports
 * as a crash with the input that reproduces it. All state lives in static
 * storage and is reset at the start of every input. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc_model.h"

#include "kheap/bump.h"
#include "kheap/error.h"
#include "kheap/fixed.h"
#include "kheap/heap.h"
#include "kheap/kmalloc.h"
#include "kheap/llist.h"
#include "kheap/lock_pthread.h"
#include "kheap/locked.h"
#include "kheap/slab.h"
#include "kheap/sources.h"

/* ---- what alloc_model.c needs from the test runner (kh_test.c has a main
 * table and a 64 MiB arena we do not want) ---- */

uint64_t kh_test_rand(void)
{
    return 1; /* unused: the model draws from the script */
}

void kh_test_print(const char *s)
{
    fputs(s, stderr);
}

void kh_test_print_u(unsigned long long v)
{
    fprintf(stderr, "%llu", v);
}

/* ---- failure and reports ---- */

#define ARENA_BYTES (1u << 20)
/* 64 KiB aligned: a slab free rounds a pointer down to its slab (up to
 * KH_SLAB_MAX_BYTES), which must stay inside the arena. */
static _Alignas(65536) unsigned char arena[ARENA_BYTES];

static const char *stack_name = "?";

static void die(const char *what)
{
    fprintf(stderr, "fuzz_alloc [%s]: %s\n", stack_name, what);
    abort();
}

#define REQUIRE(cond)                                                                              \
    do {                                                                                           \
        if (!(cond)) die("check failed: " #cond);                                                  \
    } while (0)

/* Reports: the model stacks expect none (they never misuse an allocator);
 * the kmalloc interpreter expects exactly the failure reports it asks for. */
static int reports, last_code;
static bool reports_allowed;

static void on_report(int code, const char *what, const void *ptr)
{
    reports++;
    last_code = code;
    if (!reports_allowed) {
        fprintf(stderr, "fuzz_alloc [%s]: unexpected report %d (%s) ptr %p\n", stack_name, code,
                what, ptr);
        abort();
    }
}

/* ---- input header ---- */

struct params {
    uint8_t p1, p2, p3, m;
};

static const size_t max_sizes[8] = {8, 32, 128, 512, 1024, 3000, 4096, 9000};

/* The model config every stack starts from. */
static struct kh_model_config model_cfg(const struct params *p, kh_allocator a,
                                        const uint8_t *script, size_t len)
{
    struct kh_model_config c;
    memset(&c, 0, sizeof(c));
    c.a = a;
    c.ops = (size_t)-1; /* until the script runs out */
    c.max_size = max_sizes[p->p2 & 7];
    c.max_align_log2 = (p->p2 >> 3) % 14; /* up to 8 KiB */
    c.max_live = 1 + (size_t)(p->p3 & 0x3f) * 8;
    c.may_fail = true;
    c.check_every = 1 + (p->p3 >> 6) * 5; /* 1, 6, 11, 16 */
    c.script = script;
    c.script_len = len;
    c.misuse.every = 2 + (size_t)(p->m >> 5) * 3;
    return c;
}

/* Misuse classes for a stack: those of the input among `supported`. */
static unsigned misuse_classes(const struct params *p, unsigned supported)
{
    return (p->m & KH_MISUSE_ALL) & supported;
}

static void run_model(const struct kh_model_config *c)
{
    struct kh_model_result r = kh_model_run(c);
    if (!kh_model_ok(stack_name, &r)) abort(); /* prints what broke, and the misuse */
}

/* Small arenas: 1 KiB << [0, 7] for the list/bump allocators, 4 KiB << [0,
 * 7] (4 KiB .. 512 KiB) for a core heap. */
static size_t small_bytes(uint8_t p1)
{
    return (size_t)1024 << (p1 & 7);
}

static size_t heap_bytes(uint8_t p1)
{
    return (size_t)4096 << (p1 & 7);
}

/* Optional failure injection between an allocator and its backing: p1 bit 7
 * on, probability from p1 bits 3..5 (1/64 .. 1/2), seeded from the input. */
static struct kh_fault backing_fault;

static kh_allocator maybe_faulty(kh_allocator a, uint8_t p1, uint8_t seed)
{
    if (!(p1 & 0x80)) return a;
    kh_fault_init(&backing_fault, a);
    kh_fault_fail_random(&backing_fault, (uint32_t)(1000000u >> (6 - ((p1 >> 3) & 7) % 6)),
                         (uint64_t)seed + 1);
    return kh_fault_allocator(&backing_fault);
}

static void heap_empty(kheap *h)
{
    struct kheap_stats st;
    REQUIRE(kheap_check(h) == 0);
    kheap_stats(h, &st);
    REQUIRE(st.used_bytes == 0);
    REQUIRE(st.allocations == 0);
}

static int heap_check_cb(void *ctx)
{
    return kheap_check(ctx);
}

/* ---- llist ---- */

static struct kh_llist ll;

static int ll_check_cb(void *ctx)
{
    return kh_llist_check(ctx);
}

static size_t ll_extent(size_t size, size_t align)
{
    (void)align;
    size_t u = KH_ALIGN_DEFAULT, n = (size + u - 1) & ~(u - 1);
    return n ? n : u;
}

static bool ll_same(size_t a, size_t b, size_t align)
{
    return ll_extent(a, align) == ll_extent(b, align);
}

static void ll_stats_cb(void *ctx, size_t out[KH_MODEL_STATS])
{
    struct kh_llist_stats st;
    kh_llist_stats(ctx, &st);
    out[0] = st.used_bytes;
    out[1] = st.allocations;
    out[2] = st.holes;
    out[3] = st.largest_hole;
}

static void ll_empty(struct kh_llist *l)
{
    struct kh_llist_stats st;
    REQUIRE(kh_llist_check(l) == 0);
    kh_llist_stats(l, &st);
    REQUIRE(st.used_bytes == 0 && st.allocations == 0);
    REQUIRE(st.holes == 1); /* everything merged back */
}

static void run_llist(const struct params *p, const uint8_t *s, size_t n)
{
    stack_name = "llist";
    memset(&ll, 0, sizeof(ll));
    if (kh_llist_init(&ll, arena, small_bytes(p->p1)) != 0) die("llist init");
    struct kh_model_config c = model_cfg(p, kh_llist_allocator(&ll), s, n);
    c.check = ll_check_cb;
    c.check_ctx = &ll;
    /* Header-less: interior pointers and smaller wrong sizes go unchecked. */
    c.misuse.classes = misuse_classes(p, KH_MISUSE_DOUBLE | KH_MISUSE_STALE | KH_MISUSE_FOREIGN |
                                             KH_MISUSE_WRONG_SIZE);
    c.misuse.extent = ll_extent;
    c.misuse.same_size = ll_same;
    c.misuse.bigger_only = true;
    c.misuse.stats = ll_stats_cb;
    c.misuse.stats_ctx = &ll;
    run_model(&c);
    ll_empty(&ll);
    REQUIRE(kh_llist_destroy(&ll) == 0);
}

/* ---- fixed-size blocks over a core heap ---- */

static struct kh_fixed fx;
static kheap *fx_heap;

static int fixed_check_cb(void *ctx)
{
    int rc = kh_fixed_check(ctx);
    return rc ? rc : kheap_check(fx_heap);
}

static void fixed_stats_cb(void *ctx, size_t out[KH_MODEL_STATS])
{
    struct kh_fixed_stats st;
    kh_fixed_stats(ctx, &st);
    out[0] = st.live_blocks;
    out[1] = st.cached_blocks;
    out[2] = st.large_blocks;
    out[3] = st.large_bytes;
    out[4] = st.refills;
}

static void run_fixed(const struct params *p, const uint8_t *s, size_t n)
{
    stack_name = "fixed";
    fx_heap = kheap_init(arena, heap_bytes(p->p1));
    if (!fx_heap) die("heap init");
    memset(&fx, 0, sizeof(fx));
    if (kh_fixed_init(&fx, maybe_faulty(kheap_allocator(fx_heap), p->p1, p->p3)) != 0)
        die("fixed init");
    struct kh_model_config c = model_cfg(p, kh_fixed_allocator(&fx), s, n);
    c.check = fixed_check_cb;
    c.check_ctx = &fx;
    /* Over the core heap (no owns): double and stale frees of class blocks;
     * large blocks are the heap's (its checks, its fuzz target). */
    c.misuse.classes = misuse_classes(p, KH_MISUSE_DOUBLE | KH_MISUSE_STALE);
    c.misuse.reuse_ok = true;
    c.misuse.stats = fixed_stats_cb;
    c.misuse.stats_ctx = &fx;
    if (c.misuse.classes && c.max_size > KH_FIXED_MAX_BLOCK) c.max_size = KH_FIXED_MAX_BLOCK;
    if (c.misuse.classes && c.max_align_log2 > 11) c.max_align_log2 = 11;
    run_model(&c);
    struct kh_fixed_stats st;
    kh_fixed_stats(&fx, &st);
    REQUIRE(st.live_blocks == 0 && st.large_blocks == 0 && st.large_bytes == 0);
    if (p->p2 & 0x80) kh_fixed_shrink(&fx);
    REQUIRE(kh_fixed_destroy(&fx) == 0);
    heap_empty(fx_heap);
}

/* ---- one slab cache over a core heap ---- */

static struct kh_slab_cache sc;
static kheap *sc_heap;
static unsigned ctor_calls;

static void slab_ctor(void *obj, void *arg)
{
    (void)arg;
    ctor_calls++;
    memset(obj, 0xA5, 1);
}

static int slab_check_cb(void *ctx)
{
    int rc = kh_slab_cache_check(ctx);
    return rc ? rc : kheap_check(sc_heap);
}

static void cache_stats_cb(void *ctx, size_t out[KH_MODEL_STATS])
{
    struct kh_slab_cache_stats st;
    kh_slab_cache_stats(ctx, &st);
    out[0] = st.slabs;
    out[1] = st.objects_in_use;
    out[2] = st.frees;
    out[3] = st.backing_bytes;
    out[4] = st.slabs_full;
}

static void run_slab(const struct params *p, const uint8_t *s, size_t n)
{
    stack_name = "slab";
    sc_heap = kheap_init(arena, heap_bytes(p->p1));
    if (!sc_heap) die("heap init");
    struct kh_slab_cache_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.name = "fuzz";
    /* Object size 1 .. 2048 (mostly small), alignment 0 or 1 << [0, 9],
     * slab_bytes automatic or 512 << [0, 7]. */
    cfg.size = 1 + ((size_t)p->p2 << ((p->p3 >> 4) & 3));
    cfg.align = (p->p3 & 1) ? (size_t)1 << ((p->p3 >> 1) & 7) : 0;
    cfg.slab_bytes = (p->p1 & 0x40) ? (size_t)512 << ((p->p1 >> 3) & 7) : 0;
    if (p->p3 & 0x40) cfg.ctor = slab_ctor;
    cfg.pages = maybe_faulty(kheap_allocator(sc_heap), p->p1, p->p3);
    memset(&sc, 0, sizeof(sc));
    if (kh_slab_cache_create(&sc, &cfg) != 0) return; /* a bad geometry: refused cleanly */
    struct kh_model_config c = model_cfg(p, kh_slab_cache_allocator(&sc), s, n);
    c.max_size = cfg.size;
    c.max_align_log2 = 0;
    if (cfg.align)
        while (((size_t)1 << c.max_align_log2) < cfg.align) c.max_align_log2++;
    c.check = slab_check_cb;
    c.check_ctx = &sc;
    c.misuse.classes = misuse_classes(p, KH_MISUSE_DOUBLE | KH_MISUSE_STALE | KH_MISUSE_INTERIOR |
                                             KH_MISUSE_FOREIGN);
    c.misuse.reuse_ok = true;
    c.misuse.stats = cache_stats_cb;
    c.misuse.stats_ctx = &sc;
    run_model(&c);
    struct kh_slab_cache_stats st;
    kh_slab_cache_stats(&sc, &st);
    REQUIRE(st.objects_in_use == 0);
    if (p->p3 & 0x80) kh_slab_shrink(&sc);
    REQUIRE(kh_slab_cache_destroy(&sc) == 0);
    heap_empty(sc_heap);
}

/* ---- struct kh_kmem over a core heap (slabs from the heap or a static source) ---- */

static struct kh_kmem km;
static kheap *km_heap;
static struct kh_static_source km_src;

static int kmem_check_cb(void *ctx)
{
    int rc = kh_kmem_check(ctx); /* every class cache and the table */
    return rc ? rc : kheap_check(km_heap);
}

static void kmem_stats_cb(void *ctx, size_t out[KH_MODEL_STATS])
{
    struct kh_kmem_stats st;
    kh_kmem_stats(ctx, &st);
    out[0] = st.objects_in_use;
    out[1] = st.slabs;
    out[2] = st.slab_bytes;
    out[3] = st.large_live;
    out[4] = st.large_bytes;
}

static bool kmem_same(size_t a, size_t b, size_t align)
{
    struct kh_slab_cache *ca = kh_kmem_cache_for(&km, a, align);
    struct kh_slab_cache *cb = kh_kmem_cache_for(&km, b, align);
    return ca == cb && (ca || a == b);
}

/* Set up km over km_heap; p1 bit 6: slabs from a static source in the upper
 * half of the arena. Returns false when the configuration is refused. */
static bool kmem_setup(uint8_t p1, uint8_t p3, bool faults)
{
    km_heap = kheap_init(arena, heap_bytes(p1));
    if (!km_heap) die("heap init");
    struct kh_kmem_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.max_class = (p3 & 0x80) ? (size_t)8 << ((p3 >> 4) & 7) : 0; /* 8 .. 1024, or 4096 */
    if (p1 & 0x40) {
        if (kh_static_source_init(&km_src, arena + ARENA_BYTES / 2, heap_bytes(p1), 4096, 0))
            die("source init");
        cfg.source = kh_static_source(&km_src);
    } else {
        cfg.pages =
            faults ? maybe_faulty(kheap_allocator(km_heap), p1, p3) : kheap_allocator(km_heap);
    }
    cfg.large = kheap_allocator(km_heap);
    memset(&km, 0, sizeof(km));
    return kh_kmem_init(&km, &cfg) == 0;
}

static void kmem_teardown(void)
{
    struct kh_kmem_stats st;
    kh_kmem_stats(&km, &st);
    REQUIRE(st.objects_in_use == 0 && st.large_live == 0 && st.large_bytes == 0);
    REQUIRE(kmem_check_cb(&km) == 0);
    REQUIRE(kh_kmem_destroy(&km) == 0);
    heap_empty(km_heap);
    if (km_src.base) {
        struct kh_source_stats ss;
        kh_static_source_stats(&km_src, &ss);
        REQUIRE(ss.granted_bytes == 0);
    }
}

static void run_kmem(const struct params *p, const uint8_t *s, size_t n)
{
    stack_name = "kmem";
    memset(&km_src, 0, sizeof(km_src));
    if (!kmem_setup(p->p1, p->p3, true)) die("kmem init");
    struct kh_model_config c = model_cfg(p, kh_kmem_allocator(&km), s, n);
    c.check = kmem_check_cb;
    c.check_ctx = &km;
    c.misuse.classes = misuse_classes(p, KH_MISUSE_ALL);
    c.misuse.reuse_ok = true;
    c.misuse.same_size = kmem_same;
    c.misuse.stats = kmem_stats_cb;
    c.misuse.stats_ctx = &km;
    run_model(&c);
    if (p->p2 & 0x80) kh_kmem_shrink(&km);
    kmem_teardown();
}

/* ---- locked wrapper over llist or a core heap, pthread or spin lock ---- */

static struct kh_locked lk;
static pthread_mutex_t lk_mutex = PTHREAD_MUTEX_INITIALIZER;
static kh_spinlock_t lk_spin;
static kheap *lk_heap;

static void run_locked(const struct params *p, const uint8_t *s, size_t n)
{
    bool over_heap = p->p1 & 0x40, spin = p->p1 & 0x80;
    stack_name = over_heap ? (spin ? "locked(spin)/heap" : "locked(pthread)/heap")
                           : (spin ? "locked(spin)/llist" : "locked(pthread)/llist");
    kh_allocator inner;
    struct kh_model_config c;
    if (over_heap) {
        lk_heap = kheap_init(arena, heap_bytes(p->p1));
        if (!lk_heap) die("heap init");
        inner = kheap_allocator(lk_heap);
    } else {
        memset(&ll, 0, sizeof(ll));
        if (kh_llist_init(&ll, arena, small_bytes(p->p1)) != 0) die("llist init");
        inner = kh_llist_allocator(&ll);
    }
    kh_spin_lock_init(&lk_spin);
    memset(&lk, 0, sizeof(lk));
    if (kh_locked_init(&lk, inner, spin ? (void *)&lk_spin : (void *)&lk_mutex,
                       spin ? &kh_spin_lock_ops : &kh_pthread_lock_ops) != 0)
        die("locked init");
    c = model_cfg(p, kh_locked_allocator(&lk), s, n);
    c.check = over_heap ? heap_check_cb : ll_check_cb;
    c.check_ctx = over_heap ? (void *)lk_heap : (void *)&ll;
    if (!over_heap) { /* the core heap's misuse is its own fuzz target's */
        c.misuse.classes = misuse_classes(p, KH_MISUSE_DOUBLE | KH_MISUSE_FOREIGN);
        c.misuse.stats = ll_stats_cb;
        c.misuse.stats_ctx = &ll;
    }
    struct kh_model_result r = kh_model_run(&c);
    if (r.error) {
        fprintf(stderr, "fuzz_alloc [%s]: model: %s at op %zu\n", stack_name, r.error, r.op);
        abort();
    }
    struct kh_locked_stats st;
    kh_locked_stats(&lk, &st);
    /* Every model call went through the wrapper (realloc may add calls). */
    REQUIRE(st.allocs >= r.allocs && st.frees >= r.frees);
    REQUIRE(st.alloc_failures >= r.alloc_failures && st.alloc_failures <= st.allocs);
    if (spin) REQUIRE(!kh_spin_is_locked(&lk_spin));
    REQUIRE(kh_locked_destroy(&lk) == 0);
    if (over_heap)
        heap_empty(lk_heap);
    else {
        ll_empty(&ll);
        REQUIRE(kh_llist_destroy(&ll) == 0);
    }
}

/* ---- bump, optionally growing from a static source ---- */

static struct kh_bump bp;
static struct kh_static_source bp_src;

/* The bump allocator has no checker: its pointers must stay ordered. */
static int bump_check_cb(void *ctx)
{
    struct kh_bump *b = ctx;
    if (!b->cur || b->top < b->cur->base || b->top > b->end || b->end != b->cur->end) return -1;
    if (b->last && (b->last < b->cur->base || b->last > b->top)) return -2;
    struct kh_bump_stats st;
    kh_bump_stats(b, &st);
    if (st.free_bytes != (size_t)(b->end - b->top)) return -3;
    if (st.used_bytes + st.free_bytes > st.capacity_bytes) return -4;
    return 0;
}

static void bump_stats_cb(void *ctx, size_t out[KH_MODEL_STATS])
{
    struct kh_bump_stats st;
    kh_bump_stats(ctx, &st);
    out[0] = st.capacity_bytes;
    out[1] = st.used_bytes;
    out[2] = st.chunks;
    out[3] = st.spare_chunks;
}

static void run_bump(const struct params *p, const uint8_t *s, size_t n)
{
    bool grows = p->p1 & 0x40;
    stack_name = grows ? "bump+source" : "bump";
    memset(&bp, 0, sizeof(bp));
    if (kh_bump_init(&bp, arena, small_bytes(p->p1)) != 0) die("bump init");
    if (grows) {
        /* Chunks from the upper half; granule 256 .. 32 KiB, a limit sometimes. */
        size_t granule = (size_t)256 << ((p->p1 >> 3) & 7);
        size_t limit = (p->p1 & 0x80) ? 64 * 1024 : 0;
        if (kh_static_source_init(&bp_src, arena + ARENA_BYTES / 2, ARENA_BYTES / 2, granule,
                                  limit))
            die("source init");
        struct kh_source src = kh_static_source(&bp_src);
        kh_bump_set_source(&bp, &src);
    }
    struct kh_model_config c = model_cfg(p, kh_bump_allocator(&bp), s, n);
    c.check = bump_check_cb;
    c.check_ctx = &bp;
    /* Frees of anything but the last block do nothing: harmless, silent. */
    c.misuse.classes = misuse_classes(p, KH_MISUSE_ALL);
    c.misuse.silent =
        KH_MISUSE_DOUBLE | KH_MISUSE_STALE | KH_MISUSE_INTERIOR | KH_MISUSE_WRONG_SIZE;
    c.misuse.reuse_ok = true;
    c.misuse.stats = bump_stats_cb;
    c.misuse.stats_ctx = &bp;
    run_model(&c);
    REQUIRE(bump_check_cb(&bp) == 0);
    kh_bump_reset(&bp);
    struct kh_bump_stats st;
    kh_bump_stats(&bp, &st);
    REQUIRE(st.used_bytes == 0);
    REQUIRE(kh_bump_destroy(&bp) == 0);
    if (grows) {
        struct kh_source_stats ss;
        kh_static_source_stats(&bp_src, &ss);
        REQUIRE(ss.granted_bytes == 0);
    }
}

/* ---- the core heap as a kh_allocator ---- */

static void run_heap(const struct params *p, const uint8_t *s, size_t n)
{
    stack_name = "kheap_allocator";
    size_t bytes = heap_bytes(p->p1);
    /* p1 bit 6: an index sized for bigger blocks than the region. */
    kheap *h = (p->p1 & 0x40) ? kheap_init_ex(arena, bytes, bytes << ((p->p1 >> 3) & 7))
                              : kheap_init(arena, bytes);
    if (!h) die("heap init");
    if ((p->p1 & 0x80) && !kheap_set_policy(h, KHEAP_SHRINK_MOVES)) die("policy");
    struct kh_model_config c = model_cfg(p, kheap_allocator(h), s, n);
    c.check = heap_check_cb;
    c.check_ctx = h;
    run_model(&c);
    heap_empty(h);
}

/* ---- the global kmalloc API over struct kh_kmem over a core heap ---- */

#define KM_SLOTS  64
#define HDR_ALIGN ((size_t)KH_ALIGN_DEFAULT)

struct kblk {
    unsigned char *p;
    size_t size, align;
    unsigned char pat;
};

static struct kblk kb[KM_SLOTS];
static size_t kn;
static const uint8_t *ks; /* interpreter input */
static size_t ks_len, ks_pos;
static size_t km_max_size;
static unsigned char *km_busy; /* block being krealloc'ed: the OOM handler keeps it */
static size_t oom_calls_seen, km_nulls;
static bool oom_reclaims, oom_atomic_safe;

static unsigned take(unsigned bytes)
{
    unsigned v = 0;
    for (unsigned i = 0; i < bytes && ks_pos < ks_len; i++) v |= (unsigned)ks[ks_pos++] << (8 * i);
    return v;
}

static size_t take_size(void)
{
    unsigned v = take(2);
    /* Mostly small; a quarter up to the maximum. */
    size_t lim = (v & 0xC000) == 0xC000 ? km_max_size : 256;
    return (size_t)(v & 0x3fff) % (lim + 1);
}

static unsigned take_flags(void)
{
    unsigned b = take(1), f = 0;
    if (b & 1) f |= KH_GFP_ZERO;
    if (b & 2) f |= KH_GFP_NOWARN;
    if (b & 4) f |= KH_GFP_ATOMIC;
    if (b & 8) f |= KH_GFP_NOGROW;
    if ((b & 0xF0) == 0xF0) f |= 1u << 9; /* unknown: must fail with KH_EINVAL */
    return f;
}

static void kfill(struct kblk *b, size_t from)
{
    for (size_t j = from; j < b->size; j++) b->p[j] = (unsigned char)(b->pat + j * 7);
}

static bool kintact(const struct kblk *b, size_t upto)
{
    for (size_t j = 0; j < upto; j++)
        if (b->p[j] != (unsigned char)(b->pat + j * 7)) return false;
    return true;
}

static void kcheck_all(void)
{
    size_t bytes = 0;
    for (size_t i = 0; i < kn; i++) {
        if (!kintact(&kb[i], kb[i].size)) die("kmalloc block contents changed");
        if (ksize(kb[i].p) != kb[i].size) die("ksize != requested size");
        bytes += kb[i].size;
    }
    struct kh_kmalloc_stats st;
    kh_kmalloc_stats(&st);
    if (st.live_blocks != kn) die("kh_kmalloc_stats live_blocks != blocks allocated");
    if (st.live_bytes != bytes) die("kh_kmalloc_stats live_bytes != bytes allocated");
}

/* A new block (or a moved one at index skip): aligned, no overlap. */
static void kcheck_new(const unsigned char *p, size_t size, size_t align, size_t skip)
{
    size_t a = align > HDR_ALIGN ? align : HDR_ALIGN;
    if ((uintptr_t)p % a) die("kmalloc result misaligned");
    if (ksize(p) != size) die("ksize != requested size of a new block");
    for (size_t i = 0; i < kn; i++) {
        if (i == skip) continue;
        /* Headers included: [p - HDR_ALIGN, p + size) must be disjoint. */
        if (p - HDR_ALIGN < kb[i].p + kb[i].size && kb[i].p - HDR_ALIGN < p + size)
            die("kmalloc block overlaps a live block");
    }
}

/* The reports of one call that returned NULL (expect: the code, when the
 * call is not NOWARN), or succeeded (none). */
static void kexpect(bool failed, unsigned flags, int code)
{
    if (!failed || (flags & KH_GFP_NOWARN)) {
        if (reports) die("unexpected report from a kmalloc call");
    } else if (reports != 1 || last_code != code) {
        fprintf(stderr, "reports %d last %d want %d\n", reports, last_code, code);
        die("a failed kmalloc call did not report exactly once with the right code");
    }
}

/* Freed pointers (kfree, or krealloc that moved): stale ones to misuse. */
static unsigned char *kfreed[16];
static size_t nkfreed;

static void kdrop(size_t i)
{
    kb[i] = kb[--kn];
}

static void kforget(unsigned char *p)
{
    kfreed[nkfreed++ % 16] = p;
}

/* A misuse of the global API: kfree, kfree_sensitive, ksize or krealloc of
 * a freed, stale, interior or foreign pointer. Exactly one report, and
 * nothing changed: counters, contents, the front end and heap checks. */
static void km_misuse_op(void)
{
    static _Alignas(64) unsigned char outside[512];
    unsigned kind = take(1), how = take(1);
    unsigned char *p = NULL;
    switch (kind % 4) {
    case 0: /* double free */
        if (kn) {
            size_t i = take(1) % kn;
            p = kb[i].p;
            reports = 0;
            kfree(p);
            if (reports) die("kfree reported");
            kdrop(i);
            kforget(p);
        }
        break;
    case 1: /* stale */
        if (nkfreed) {
            p = kfreed[take(1) % (nkfreed < 16 ? nkfreed : 16)];
            for (size_t i = 0; i < kn && p; i++)
                if (kb[i].p == p) p = NULL; /* handed out again: its owner's now */
        }
        break;
    case 2: /* interior */
        if (kn) {
            const struct kblk *b = &kb[take(1) % kn];
            if (b->size > 16) p = b->p + 16 * (1 + take(2) % ((b->size - 1) / 16));
        }
        break;
    default: /* foreign */
        p = outside + 16 * (take(1) % 32);
        break;
    }
    if (!p) return;
    struct kh_kmalloc_stats before, after;
    struct kh_kmem_stats kbefore, kafter;
    kh_kmalloc_stats(&before);
    kh_kmem_stats(&km, &kbefore);
    reports = 0;
    switch (how % 4) {
    case 0:
        kfree(p);
        break;
    case 1:
        kfree_sensitive(p);
        break;
    case 2:
        if (ksize(p) != 0) die("ksize of a bad pointer is not 0");
        break;
    default:
        if (krealloc(p, take_size(), 0) != NULL) die("krealloc of a bad pointer succeeded");
        break;
    }
    if (reports != 1 || (last_code != KH_EFAULT && last_code != KH_EDOUBLE))
        die("a kmalloc misuse was not reported exactly once as EFAULT/EDOUBLE");
    kh_kmalloc_stats(&after);
    kh_kmem_stats(&km, &kafter);
    if (memcmp(&before, &after, sizeof before) || memcmp(&kbefore, &kafter, sizeof kbefore))
        die("a kmalloc misuse changed the counters");
}

/* OOM handler: frees the oldest block (not the one being reallocated) and
 * empty slabs, and asks for a retry. */
static int km_oom(size_t size, size_t align, unsigned flags, void *ctx)
{
    (void)size, (void)align, (void)ctx;
    oom_calls_seen++;
    if ((flags & KH_GFP_ATOMIC) && !oom_atomic_safe)
        die("OOM handler called for an atomic request");
    if (!oom_reclaims) return KH_OOM_FAIL;
    for (size_t i = 0; i < kn; i++) {
        if (kb[i].p == km_busy) continue;
        if (!kintact(&kb[i], kb[i].size)) die("block changed before the OOM handler freed it");
        kfree(kb[i].p);
        kdrop(i);
        kh_kmem_shrink(&km);
        return KH_OOM_RETRY;
    }
    kh_kmem_shrink(&km);
    return KH_OOM_FAIL;
}

static void km_alloc_op(unsigned kind)
{
    if (kn == KM_SLOTS) return;
    unsigned flags = take_flags();
    size_t size = take_size(), align = 0;
    unsigned char *p;
    bool zero = flags & KH_GFP_ZERO, bad = flags & (1u << 9);
    int code = KH_ENOMEM;
    reports = 0;
    switch (kind % 7) {
    case 0:
        p = kmalloc(size, flags);
        break;
    case 1:
        p = kzalloc(size, flags);
        zero = true;
        break;
    case 2: {
        unsigned a = take(1);
        align = (a & 0x80) ? (size_t)a & 0x7f : (size_t)1 << (a % 14); /* some invalid */
        if (align && (align & (align - 1))) bad = true;
        p = kmalloc_aligned(size, align, flags);
        break;
    }
    case 3: {
        size_t m = 1 + take(1) % 16;
        size = size / m;
        p = kcalloc(m, size, flags);
        size *= m;
        zero = true;
        break;
    }
    case 5: {
        /* kmemdup of a live block's first bytes (kept from the OOM handler),
         * or of a static buffer; the copy must match the source. */
        static const unsigned char fixed_src[64] = "kmemdup source bytes";
        const unsigned char *src = fixed_src;
        if (kn) {
            const struct kblk *sb = &kb[take(1) % kn];
            src = sb->p;
            if (size > sb->size) size = sb->size;
        } else if (size > sizeof(fixed_src)) {
            size = sizeof(fixed_src);
        }
        km_busy = (unsigned char *)src;
        unsigned char copy[4096];
        size_t chk = size < sizeof(copy) ? size : sizeof(copy);
        memcpy(copy, src, chk);
        p = kmemdup(src, size, flags);
        km_busy = NULL;
        if (p && memcmp(p, copy, chk) != 0) die("kmemdup copy differs from its source");
        zero = false; /* kmemdup ignores KH_GFP_ZERO: the copy is the content */
        break;
    }
    case 6: {
        /* kstrndup of a string of take(1) characters, cut at max. */
        static char str[257];
        size_t len = take(1), max = take(1);
        memset(str, 'k', len);
        str[len] = 0;
        p = (unsigned char *)kstrndup(str, max, flags);
        size = (len < max ? len : max) + 1;
        if (p && (p[size - 1] != 0 || memchr(p, 0, size - 1) != NULL))
            die("kstrndup result is not the string cut at max");
        zero = false;
        break;
    }
    default: {
        /* n * size that wraps: must fail with KH_EOVERFLOW. */
        p = kmalloc_array(SIZE_MAX / 2 + 1 + size, 2 + (size & 1), flags);
        if (p) die("kmalloc_array overflow returned a block");
        km_nulls++;
        kexpect(true, flags, KH_EOVERFLOW);
        return;
    }
    }
    if (!p) km_nulls++;
    if (bad) {
        if (p) die("kmalloc accepted bad flags or alignment");
        kexpect(true, flags, KH_EINVAL);
        return;
    }
    kexpect(!p, flags, code);
    if (!p) return;
    kcheck_new(p, size, align, (size_t)-1);
    if (zero)
        for (size_t j = 0; j < size; j++)
            if (p[j]) die("zeroed allocation is not zero");
    struct kblk *b = &kb[kn++];
    b->p = p;
    b->size = size;
    b->align = align;
    b->pat = (unsigned char)take(1);
    kfill(b, 0);
}

static void km_realloc_op(size_t i)
{
    struct kblk *b = &kb[i];
    unsigned flags = take_flags();
    size_t ns = take_size();
    bool bad = flags & (1u << 9);
    if (!kintact(b, b->size)) die("block changed before krealloc");
    reports = 0;
    unsigned char *oldp = b->p;
    km_busy = oldp;
    unsigned char *p = krealloc(oldp, ns, flags);
    km_busy = NULL;
    if (!p) km_nulls++;
    /* The OOM handler may have dropped other blocks: find ours again. */
    for (i = 0; i < kn && kb[i].p != oldp; i++) {
    }
    if (i == kn) die("the OOM handler freed the block being reallocated");
    b = &kb[i];
    if (bad) {
        if (p) die("krealloc accepted bad flags");
        kexpect(true, flags, KH_EINVAL);
    } else {
        kexpect(!p, flags, KH_ENOMEM);
    }
    if (!p) {
        if (!kintact(b, b->size)) die("failed krealloc changed the old block");
        if (ksize(b->p) != b->size) die("failed krealloc changed the old size");
        return;
    }
    size_t keep = ns < b->size ? ns : b->size, old = b->size;
    if (p != b->p) kforget(b->p);
    b->p = p;
    b->size = ns;
    if (!kintact(b, keep)) die("krealloc lost the block's contents");
    if ((flags & KH_GFP_ZERO) && ns > old)
        for (size_t j = old; j < ns; j++)
            if (p[j]) die("krealloc with KH_GFP_ZERO left the new bytes dirty");
    kcheck_new(p, ns, b->align, i);
    kfill(b, keep);
}

static void run_kmalloc(const struct params *p, const uint8_t *s, size_t n)
{
    stack_name = "kmalloc/kmem/heap";
    kh_kmalloc_shutdown(); /* an earlier input that crashed may have left it set */
    kh_kmalloc_set_oom_handler(NULL, NULL, false);
    memset(&km_src, 0, sizeof(km_src));
    if (!kmem_setup(p->p1 & 0x47, p->p3, false)) die("kmem init");
    if (kh_kmalloc_init(kh_kmem_allocator(&km)) != 0) die("kmalloc init");
    km_max_size = max_sizes[p->p2 & 7] * (1 + ((p->p2 >> 3) & 3));
    oom_calls_seen = km_nulls = 0;
    oom_reclaims = p->p1 & 0x10;
    oom_atomic_safe = p->p1 & 0x20;
    if (p->p1 & 0x08) kh_kmalloc_set_oom_handler(km_oom, NULL, oom_atomic_safe);
    ks = s;
    ks_len = n;
    ks_pos = 0;
    kn = 0;
    nkfreed = 0;
    reports_allowed = true;
    while (ks_pos < ks_len) {
        unsigned op = take(1);
        struct kh_kmalloc_stats before, after;
        kh_kmalloc_stats(&before);
        size_t nulls = km_nulls, oom_calls = oom_calls_seen;
        switch (op % 8) {
        case 0:
        case 1:
        case 2:
            km_alloc_op(op >> 3);
            break;
        case 3:
        case 4:
            if (kn) {
                size_t i = take(1) % kn;
                if (!kintact(&kb[i], kb[i].size)) die("block changed before kfree");
                reports = 0;
                unsigned char *fp = kb[i].p;
                if (op & 0x80)
                    kfree_sensitive(fp);
                else
                    kfree(fp);
                if (reports) die("kfree reported");
                kdrop(i);
                kforget(fp);
            }
            break;
        case 5:
        case 6:
            if (kn) km_realloc_op(take(1) % kn);
            break;
        default:
            if (p->m & 1) {
                km_misuse_op();
                break;
            }
            reports = 0;
            kfree(NULL);
            if (ksize(NULL) != 0 || reports) die("kfree/ksize of NULL");
            kh_kmem_shrink(&km);
            break;
        }
        kh_kmalloc_stats(&after);
        if (after.failures - before.failures != km_nulls - nulls)
            die("kh_kmalloc_stats failures != calls that returned NULL");
        if (after.oom_calls - before.oom_calls != oom_calls_seen - oom_calls)
            die("kh_kmalloc_stats oom_calls != handler calls");
        kcheck_all();
        if (kmem_check_cb(&km)) die("kmem/heap check failed");
    }
    while (kn) {
        reports = 0;
        kfree(kb[kn - 1].p);
        if (reports) die("kfree reported");
        kn--;
    }
    kcheck_all();
    reports_allowed = false;
    kh_kmalloc_set_oom_handler(NULL, NULL, false);
    if (kh_kmalloc_shutdown() != 0) die("kmalloc shutdown");
    kh_kmem_shrink(&km);
    kmem_teardown();
}

/* ---- entry ---- */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 5) return 0;
    static bool hooked;
    if (!hooked) {
        kh_set_error_hook(on_report);
        hooked = true;
    }
    reports_allowed = false;
    struct params p = {data[1], data[2], data[3], data[4]};
    const uint8_t *s = data + 5;
    size_t n = size - 5;
    switch (data[0] % 9) {
    case 0:
        run_llist(&p, s, n);
        break;
    case 1:
        run_fixed(&p, s, n);
        break;
    case 2:
        run_slab(&p, s, n);
        break;
    case 3:
        run_kmem(&p, s, n);
        break;
    case 4:
        run_locked(&p, s, n);
        break;
    case 5:
        run_bump(&p, s, n);
        break;
    case 6:
        run_heap(&p, s, n);
        break;
    default:
        run_kmalloc(&p, s, n);
        break;
    }
    return 0;
}
