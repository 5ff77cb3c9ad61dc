/* SPDX-License-Identifier: MIT */
/* Locked wrapper: lock protocol, misuse, seed tests, model, fault injection
 * and multi-threaded stress (tests with _mt_ in the name run under TSan). */
#include "kh_test.h"

#include "alloc_model.h"
#include "seed_tests.h"

#include "kheap/config.h"
#include "kheap/error.h"
#include "kheap/fixed.h"
#include "kheap/heap.h"
#include "kheap/llist.h"
#include "kheap/locked.h"

#if KH_TEST_HOSTED
#include <pthread.h>

#include "kheap/lock_pthread.h"
#endif

/* Lock ops that record the protocol: lock hands out a distinct token as the
 * saved state, unlock must get the same token back, and nesting is caught. */
struct probe_lock {
    int held;
    unsigned long next_token, expect;
    unsigned locks, unlocks, bad;
};

static unsigned long probe_lock_fn(void *lock)
{
    struct probe_lock *p = lock;
    if (p->held) p->bad++;
    p->held = 1;
    p->locks++;
    p->expect = 0x1000 + p->next_token++;
    return p->expect;
}

static void probe_unlock_fn(void *lock, unsigned long saved)
{
    struct probe_lock *p = lock;
    if (!p->held || saved != p->expect) p->bad++;
    p->held = 0;
    p->unlocks++;
}

static const struct kh_lock_ops probe_ops = {probe_lock_fn, probe_unlock_fn};

/* An inner allocator that checks the lock is held during every call and
 * that no two callers are ever inside at once. */
struct excl {
    kh_allocator a;
    struct probe_lock *probe; /* NULL: only count overlap */
    int inside;
    unsigned calls, unlocked_calls, overlaps;
};

static void excl_enter(struct excl *e)
{
    if (e->inside++) e->overlaps++;
    e->calls++;
    if (e->probe && !e->probe->held) e->unlocked_calls++;
}

static void *excl_alloc(void *ctx, size_t size, size_t align, unsigned flags)
{
    struct excl *e = ctx;
    excl_enter(e);
    void *p = e->a.ops->alloc(e->a.ctx, size, align, flags);
    e->inside--;
    return p;
}

static bool excl_resize(void *ctx, void *ptr, size_t old_size, size_t new_size, size_t align)
{
    struct excl *e = ctx;
    excl_enter(e);
    bool ok = e->a.ops->resize(e->a.ctx, ptr, old_size, new_size, align);
    e->inside--;
    return ok;
}

static void excl_free(void *ctx, void *ptr, size_t size, size_t align)
{
    struct excl *e = ctx;
    excl_enter(e);
    e->a.ops->free(e->a.ctx, ptr, size, align);
    e->inside--;
}

static const kh_allocator_ops excl_ops = {excl_alloc, excl_resize, excl_free, NULL};

static kheap *arena_heap(size_t bytes)
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

KH_TEST_TAGGED(locked_every_call_holds_the_lock_and_restores_state, "full-heap")
{
    kheap *h = arena_heap(1u << 20);
    KH_ASSERT(h);
    struct probe_lock pl = {0};
    struct excl e = {kheap_allocator(h), &pl, 0, 0, 0, 0};
    kh_allocator inner = {&e, &excl_ops};
    struct kh_locked l;
    KH_ASSERT_EQ(kh_locked_init(&l, inner, &pl, &probe_ops), 0);
    kh_allocator a = kh_locked_allocator(&l);
    void *p = kh_alloc(a, 100, 0);
    KH_ASSERT(p);
    KH_CHECK(kh_resize(a, p, 100, 50, 0));
    void *q = kh_realloc(a, p, 50, 100000, 64, 0);
    KH_ASSERT(q);
    kh_free(a, q, 100000, 64);
    kh_free(a, NULL, 10, 0);             /* NULL: no inner call, no lock */
    KH_CHECK(kh_alloc(a, 8, 3) == NULL); /* refused before reaching the wrapper */
    KH_CHECK_EQ(pl.bad, 0);
    KH_CHECK_EQ(e.unlocked_calls, 0);
    KH_CHECK_EQ(e.overlaps, 0);
    KH_CHECK_EQ(pl.locks, pl.unlocks);
    KH_CHECK_EQ(pl.locks, e.calls);
    KH_CHECK(e.calls >= 4);
    struct kh_locked_stats st;
    kh_locked_stats(&l, &st);
    KH_CHECK_EQ(pl.held, 0);
    /* realloc grew in place (resize) or moved (alloc + free) */
    KH_CHECK_EQ(st.allocs, 1 + (q != p ? 1 : 0));
    KH_CHECK_EQ(st.alloc_failures, 0);
    KH_CHECK_EQ(st.frees, 1 + (q != p ? 1 : 0));
    KH_CHECK_EQ(heap_used(h), 0);
    KH_CHECK_EQ(kh_locked_destroy(&l), 0);
}

static void call_check(void *ctx, void *arg)
{
    *(int *)arg = kheap_check(ctx);
}

KH_TEST(locked_call_runs_under_the_lock)
{
    kheap *h = arena_heap(1u << 16);
    KH_ASSERT(h);
    struct probe_lock pl = {0};
    struct kh_locked l;
    kh_locked_init(&l, kheap_allocator(h), &pl, &probe_ops);
    int r = -1;
    kh_locked_call(&l, call_check, &r);
    KH_CHECK_EQ(r, 0);
    KH_CHECK_EQ(pl.locks, 1);
    KH_CHECK_EQ(pl.unlocks, 1);
    KH_CHECK_EQ(pl.bad, 0);
    kh_locked_destroy(&l);
}

KH_TEST(locked_bad_input_and_misuse)
{
    struct kh_locked l;
    kh_spinlock_t s = KH_SPINLOCK_INIT;
    kh_allocator none = {NULL, NULL};
    struct kh_lock_ops half = {kh_spin_lock_ops.lock, NULL};
    KH_CHECK_EQ(kh_locked_init(NULL, kh_failing_allocator(), &s, &kh_spin_lock_ops), KH_EINVAL);
    KH_CHECK_EQ(kh_locked_init(&l, none, &s, &kh_spin_lock_ops), KH_EINVAL);
    KH_CHECK_EQ(kh_locked_init(&l, kh_failing_allocator(), &s, NULL), KH_EINVAL);
    KH_CHECK_EQ(kh_locked_init(&l, kh_failing_allocator(), &s, &half), KH_EINVAL);
    KH_ASSERT_EQ(kh_locked_init(&l, kh_failing_allocator(), &s, &kh_spin_lock_ops), 0);
    kh_allocator a = kh_locked_allocator(&l);
    KH_CHECK(kh_alloc(a, 16, 0) == NULL); /* inner failure passes through */
    struct kh_locked_stats st;
    kh_locked_stats(&l, &st);
    KH_CHECK_EQ(st.allocs, 1);
    KH_CHECK_EQ(st.alloc_failures, 1);
    struct kh_test_reports r;
    kh_test_reports_start(&r);
    KH_CHECK_EQ(kh_locked_destroy(&l), 0);
    KH_CHECK_EQ(kh_locked_destroy(&l), KH_EINVAL); /* double destroy */
#if KH_CONFIG_CHECKS
    KH_CHECK_EQ(r.count, 1);
    KH_CHECK_EQ(r.last_code, KH_EINVAL);
    KH_CHECK(kh_alloc(a, 16, 0) == NULL); /* use after destroy: refused */
    KH_CHECK_EQ(r.count, 2);
#endif
    kh_test_reports_stop();
    /* The spin lock was left unlocked by every path. */
    KH_CHECK(!kh_spin_is_locked(&s));
}

KH_TEST(locked_spin_lock_ops)
{
    kh_spinlock_t s;
    kh_spin_lock_init(&s);
    unsigned long saved = kh_spin_lock_ops.lock(&s);
    KH_CHECK(kh_spin_is_locked(&s)); /* held */
    KH_CHECK(!kh_spin_trylock(&s));
    kh_spin_lock_ops.unlock(&s, saved);
    KH_CHECK(!kh_spin_is_locked(&s));
    saved = kh_spin_lock_ops.lock(&s); /* free again: no deadlock */
    kh_spin_lock_ops.unlock(&s, saved);
    KH_CHECK(!kh_spin_is_locked(&s));
}

KH_TEST(locked_seed_tests)
{
    kheap *h = arena_heap(KH_SEED_HEAP_SIZE);
    KH_ASSERT(h);
    kh_spinlock_t s = KH_SPINLOCK_INIT;
    struct kh_locked l;
    kh_locked_init(&l, kheap_allocator(h), &s, &kh_spin_lock_ops);
    kh_seed_check_all(kh_locked_allocator(&l), KH_SEED_HEAP_SIZE);
    KH_CHECK_EQ(heap_used(h), 0);
    kh_locked_destroy(&l);
}

static int llist_check_cb(void *ctx)
{
    return kh_llist_check(ctx);
}

static size_t llist_in_use(void *ctx)
{
    struct kh_llist_stats st;
    kh_llist_stats(ctx, &st);
    return st.used_bytes + st.allocations;
}

KH_TEST(locked_model_and_faults)
{
    size_t n;
    unsigned char *mem = kh_test_arena(&n);
    struct kh_llist ll;
    kh_llist_init(&ll, mem, n < (1u << 20) ? n : (1u << 20));
    kh_spinlock_t s = KH_SPINLOCK_INIT;
    struct kh_locked l;
    kh_locked_init(&l, kh_llist_allocator(&ll), &s, &kh_spin_lock_ops);
    struct kh_model_config c = {.a = kh_locked_allocator(&l),
                                .ops = kh_test_iters(10000),
                                .max_size = 1024,
                                .max_align_log2 = 8,
                                .may_fail = n < (1u << 20),
                                .check = llist_check_cb,
                                .check_ctx = &ll,
                                .check_every = 50};
    struct kh_model_result r = kh_model_run(&c);
    KH_CHECK(kh_model_ok("locked llist", &r));
    struct kh_model_fault_config fc = {.in_use = llist_in_use, .ctx = &ll};
    fc.model = c;
    fc.model.ops = 150;
    fc.model.may_fail = false;
    r = kh_model_fault_run(&fc);
    KH_CHECK(kh_model_ok("locked llist faults", &r));
    KH_CHECK(r.fault_runs > 20);
    KH_CHECK_EQ(llist_in_use(&ll), 0);
    kh_locked_destroy(&l);
}

#if KH_TEST_HOSTED
/* ---- threads ---- */

#define MT_THREADS 4
#define MT_SLOTS   64

struct mt_slot {
    unsigned char *p;
    size_t size, align;
};

struct mt_arg {
    kh_allocator a;
    size_t ops;
    uint64_t rng;
    unsigned char tag;
    size_t failures, corrupt, done;
    struct mt_slot slot[MT_SLOTS];
};

static uint64_t mt_rand(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static bool mt_intact(const struct mt_slot *s, size_t upto, unsigned char tag)
{
    for (size_t j = 0; j < upto; j++)
        if (s->p[j] != (unsigned char)(tag + j)) return false;
    return true;
}

static void mt_fill(struct mt_slot *s, size_t from, unsigned char tag)
{
    for (size_t j = from; j < s->size; j++) s->p[j] = (unsigned char)(tag + j);
}

static void *mt_worker(void *argp)
{
    struct mt_arg *m = argp;
    for (size_t op = 0; op < m->ops; op++) {
        uint64_t r = mt_rand(&m->rng);
        struct mt_slot *s = &m->slot[r % MT_SLOTS];
        size_t size = (r >> 8) % 8 == 0 ? (size_t)((r >> 16) % 4096) : (size_t)((r >> 16) % 256);
        unsigned char tag = (unsigned char)(m->tag + (r % MT_SLOTS));
        if (!s->p) {
            size_t align = (r >> 40) % 4 == 0 ? 64 : 0;
            s->p = kh_alloc(m->a, size, align);
            if (!s->p) {
                m->failures++;
                continue;
            }
            s->size = size;
            s->align = align;
            mt_fill(s, 0, tag);
        } else if ((r >> 32) % 4 == 0) {
            unsigned char *q = kh_realloc(m->a, s->p, s->size, size, s->align, 0);
            if (!q) {
                m->failures++;
                continue;
            }
            size_t keep = size < s->size ? size : s->size;
            s->p = q;
            if (!mt_intact(s, keep, tag)) m->corrupt++;
            s->size = size;
            mt_fill(s, keep, tag);
        } else {
            if (!mt_intact(s, s->size, tag)) m->corrupt++;
            kh_free(m->a, s->p, s->size, s->align);
            s->p = NULL;
        }
        m->done++;
    }
    for (size_t i = 0; i < MT_SLOTS; i++) {
        struct mt_slot *s = &m->slot[i];
        if (!s->p) continue;
        if (!mt_intact(s, s->size, (unsigned char)(m->tag + i))) m->corrupt++;
        kh_free(m->a, s->p, s->size, s->align);
        s->p = NULL;
    }
    return NULL;
}

/* Each of MT_THREADS threads runs total_ops / MT_THREADS random operations
 * on its own blocks through the shared allocator a. */
static void mt_run(kh_allocator a, size_t total_ops)
{
    static struct mt_arg args[MT_THREADS];
    pthread_t th[MT_THREADS];
    for (int t = 0; t < MT_THREADS; t++) {
        struct mt_arg *m = &args[t];
        *m = (struct mt_arg){0};
        m->a = a;
        m->ops = total_ops / MT_THREADS;
        m->rng = kh_test_rand() | 1;
        m->tag = (unsigned char)(t * 61);
    }
    for (int t = 0; t < MT_THREADS; t++)
        KH_ASSERT(pthread_create(&th[t], NULL, mt_worker, &args[t]) == 0);
    for (int t = 0; t < MT_THREADS; t++) pthread_join(th[t], NULL);
    for (int t = 0; t < MT_THREADS; t++) {
        KH_CHECK_EQ(args[t].failures, 0);
        KH_CHECK_EQ(args[t].corrupt, 0);
        KH_CHECK_EQ(args[t].done, total_ops / MT_THREADS);
    }
}
#endif

/* 4 threads x 1M operations in total on a core heap behind a pthread mutex. */
KH_TEST_TAGGED(locked_mt_pthread_heap, "hosted threads full-heap")
{
#if KH_TEST_HOSTED
    kheap *h = arena_heap(16u << 20);
    KH_ASSERT(h);
    pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    struct excl e = {kheap_allocator(h), NULL, 0, 0, 0, 0};
    kh_allocator inner = {&e, &excl_ops};
    struct kh_locked l;
    kh_locked_init(&l, inner, &mu, &kh_pthread_lock_ops);
    mt_run(kh_locked_allocator(&l), kh_test_iters(1000000));
    KH_CHECK_EQ(e.overlaps, 0);
    KH_CHECK_EQ(heap_used(h), 0);
    KH_CHECK_EQ(kheap_check(h), 0);
    kh_locked_destroy(&l);
    pthread_mutex_destroy(&mu);
#endif
}

/* The same with the spin lock ops, over fixed-size blocks over a core heap. */
KH_TEST_TAGGED(locked_mt_spin_fixed, "hosted threads full-heap")
{
#if KH_TEST_HOSTED
    kheap *h = arena_heap(16u << 20);
    KH_ASSERT(h);
    struct kh_fixed f;
    kh_fixed_init(&f, kheap_allocator(h));
    struct excl e = {kh_fixed_allocator(&f), NULL, 0, 0, 0, 0};
    kh_allocator inner = {&e, &excl_ops};
    kh_spinlock_t s = KH_SPINLOCK_INIT;
    struct kh_locked l;
    kh_locked_init(&l, inner, &s, &kh_spin_lock_ops);
    mt_run(kh_locked_allocator(&l), kh_test_iters(200000));
    KH_CHECK_EQ(e.overlaps, 0);
    KH_CHECK_EQ(kh_fixed_check(&f), 0);
    struct kh_fixed_stats st;
    kh_fixed_stats(&f, &st);
    KH_CHECK_EQ(st.live_blocks + st.large_blocks, 0);
    KH_CHECK_EQ(kh_fixed_destroy(&f), 0);
    KH_CHECK_EQ(heap_used(h), 0);
    kh_locked_destroy(&l);
#endif
}

/* ---- misuse through the wrapper: reported by the inner allocator, the
 * lock released every time (a report runs inside it), nothing changed ---- */

#include "kheap/slab.h"

#include <string.h>

static struct probe_lock adv_probe;

static int locked_kmem_check_cb(void *ctx)
{
    /* The lock was released after every call, and never taken twice. */
    if (adv_probe.held || adv_probe.bad || adv_probe.locks != adv_probe.unlocks) return -1;
    return kh_kmem_check(ctx);
}

static void locked_kmem_stats_cb(void *ctx, size_t out[KH_MODEL_STATS])
{
    struct kh_kmem_stats st;
    kh_kmem_stats(ctx, &st);
    out[0] = st.objects_in_use;
    out[1] = st.slabs;
    out[2] = st.slab_bytes;
    out[3] = st.used_bytes;
    out[4] = st.large_live;
    out[5] = st.large_bytes;
}

KH_TEST_TAGGED(locked_adversarial_model_over_kmem, "checks full-heap")
{
    size_t n;
    unsigned char *mem = kh_test_arena(&n);
    /* Sized by the arena (8 MiB on the QEMU targets), slabs need 64 KiB
     * starts; the other instance at the arena's end. */
    size_t ob = n / 8 < (512u << 10) ? n / 8 : (512u << 10),
           mb = n / 2 < (4u << 20) ? n / 2 : (4u << 20);
    size_t skip = (65536 - (uintptr_t)mem % 65536) % 65536;
    kheap *h = kheap_init(mem + skip, mb), *oh = kheap_init(mem + n - ob, ob);
    KH_ASSERT(h && oh);
    struct kh_kmem k, other;
    struct kh_kmem_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.pages = kheap_allocator(h);
    KH_ASSERT_EQ(kh_kmem_init(&k, &cfg), 0);
    cfg.pages = kheap_allocator(oh);
    KH_ASSERT_EQ(kh_kmem_init(&other, &cfg), 0);
    memset(&adv_probe, 0, sizeof(adv_probe));
    struct kh_locked l;
    KH_ASSERT_EQ(kh_locked_init(&l, kh_kmem_allocator(&k), &adv_probe, &probe_ops), 0);
    kh_allocator a = kh_locked_allocator(&l);
    KH_CHECK(a.ops->owns != NULL); /* the wrapper passes kh_kmem's owns on */
    struct kh_model_config c = {.a = a,
                                .ops = kh_test_iters(10000),
                                .max_size = 9000,
                                .max_align_log2 = 8,
                                .may_fail = mb < (4u << 20),
                                .check = locked_kmem_check_cb,
                                .check_ctx = &k,
                                .check_every = 100};
    c.misuse.classes = KH_MISUSE_DOUBLE | KH_MISUSE_STALE | KH_MISUSE_INTERIOR | KH_MISUSE_FOREIGN;
    c.misuse.reuse_ok = true;
    c.misuse.stats = locked_kmem_stats_cb;
    c.misuse.stats_ctx = &k;
    c.misuse.foreign = kh_kmem_allocator(&other);
    struct kh_model_result r = kh_model_run(&c);
    KH_CHECK(kh_model_misuse_ok("locked kmem adversarial", &c, &r, kh_test_iters(10000) / 1000));
    KH_CHECK_EQ(r.misuse_reported, r.misuses);
    KH_CHECK_EQ(adv_probe.locks, adv_probe.unlocks);
    KH_CHECK(!adv_probe.held && !adv_probe.bad);
    KH_CHECK_EQ(kh_locked_destroy(&l), 0);
    KH_CHECK_EQ(kh_kmem_destroy(&k), 0);
    KH_CHECK_EQ(kh_kmem_destroy(&other), 0);
}

KH_TEST_TAGGED(locked_adversarial_model_over_llist, "checks")
{
    size_t n;
    unsigned char *mem = kh_test_arena(&n);
    KH_ASSERT(n >= (1u << 20));
    struct kh_llist ll;
    kh_llist_init(&ll, mem, 1u << 19);
    kh_spinlock_t s = KH_SPINLOCK_INIT;
    struct kh_locked l;
    kh_locked_init(&l, kh_llist_allocator(&ll), &s, &kh_spin_lock_ops);
    struct kh_model_config c = {.a = kh_locked_allocator(&l),
                                .ops = kh_test_iters(10000),
                                .max_size = 1024,
                                .max_align_log2 = 6,
                                .may_fail = true,
                                .check = llist_check_cb,
                                .check_ctx = &ll,
                                .check_every = 50};
    c.misuse.classes = KH_MISUSE_DOUBLE | KH_MISUSE_FOREIGN;
    struct kh_model_result r = kh_model_run(&c);
    KH_CHECK(kh_model_misuse_ok("locked llist adversarial", &c, &r, kh_test_iters(10000) / 1000));
    KH_CHECK_EQ(r.misuse_reported, r.misuses);
    KH_CHECK(!kh_spin_is_locked(&s)); /* every report ran inside the lock, and it was released */
    KH_CHECK_EQ(llist_in_use(&ll), 0);
    kh_locked_destroy(&l);
}
