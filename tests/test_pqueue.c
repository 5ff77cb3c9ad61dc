/* SPDX-License-Identifier: MIT */
/* pqueue: unit tests, differential test against an unsorted array (linear
 * max search), fault injection on every allocation. */
#include <stdint.h>
#include <string.h>

#include "coll_env.h"
#include "kh_test.h"
#include "kheap/error.h"
#include "kheap/heap.h"
#include "kheap/pqueue.h"

static int cmp_u32(const void *a, const void *b, void *ctx)
{
    (void)ctx;
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

static int cmp_u32_rev(const void *a, const void *b, void *ctx)
{
    return cmp_u32(b, a, ctx);
}

/* A job with a priority: the payload must travel with the key. */
struct job {
    int prio;
    unsigned id;
};

static int cmp_job(const void *a, const void *b, void *ctx)
{
    (void)ctx;
    const struct job *x = a, *y = b;
    return (x->prio > y->prio) - (x->prio < y->prio);
}

KH_PQUEUE_DEFINE(jobq, struct job)

KH_TEST(pqueue_basic_ops)
{
    struct coll_env e;
    KH_ASSERT(coll_env_init(&e, 1 << 20) == 0);
    struct kh_pqueue q;
    KH_ASSERT_EQ(kh_pqueue_init(&q, e.a, sizeof(uint32_t), cmp_u32, NULL), 0);
    KH_CHECK(kh_pqueue_is_empty(&q));
    KH_CHECK(kh_pqueue_peek(&q) == NULL);
    uint32_t x, out, prev = UINT32_MAX;
    for (int i = 0; i < 2000; i++) {
        x = (uint32_t)kh_test_rand_range(0, 500); /* many duplicates */
        KH_ASSERT_EQ(kh_pqueue_push(&q, &x), 0);
    }
    KH_CHECK_EQ(kh_pqueue_len(&q), 2000);
    KH_CHECK_EQ(kh_pqueue_check(&q), 0);
    for (int i = 0; i < 2000; i++) {
        uint32_t top = *(uint32_t *)kh_pqueue_peek(&q);
        KH_ASSERT_EQ(kh_pqueue_pop(&q, &out), 0);
        KH_ASSERT_EQ(out, top);
        KH_ASSERT(out <= prev); /* non-increasing: a max-heap */
        prev = out;
    }
    KH_CHECK_EQ(kh_pqueue_pop(&q, &out), KH_ENOENT);
    kh_pqueue_destroy(&q);

    /* min-heap by swapping the comparator's arguments */
    KH_ASSERT_EQ(kh_pqueue_init(&q, e.a, sizeof(uint32_t), cmp_u32_rev, NULL), 0);
    uint32_t vals[] = {5, 1, 9, 3, 7};
    KH_ASSERT_EQ(kh_pqueue_extend(&q, vals, 5), 0);
    for (uint32_t want = 1; want <= 9; want += 2) {
        KH_ASSERT_EQ(kh_pqueue_pop(&q, &out), 0);
        KH_CHECK_EQ(out, want);
    }
    kh_pqueue_clear(&q);
    kh_pqueue_destroy(&q);
    coll_env_no_leak(&e);
}

KH_TEST(pqueue_extend_and_from_vec)
{
    struct coll_env e;
    KH_ASSERT(coll_env_init(&e, 1 << 20) == 0);
    struct kh_vec v;
    KH_ASSERT_EQ(kh_vec_init(&v, e.a, sizeof(uint32_t)), 0);
    for (uint32_t i = 0; i < 1000; i++) {
        uint32_t x = (i * 7919u) % 1000u; /* a permutation of 0..999 */
        KH_ASSERT_EQ(kh_vec_push(&v, &x), 0);
    }
    size_t blocks = e.f.live_blocks;
    unsigned long long attempts = e.f.attempts;
    struct kh_pqueue q;
    KH_ASSERT_EQ(kh_pqueue_from_vec(&q, &v, cmp_u32, NULL), 0);
    KH_CHECK_EQ(e.f.live_blocks, blocks); /* took the buffer: no copy */
    KH_CHECK_EQ(e.f.attempts, attempts);
    KH_CHECK_EQ(kh_vec_len(&v), 0);
    KH_CHECK_EQ(kh_vec_check(&v), 0);
    KH_CHECK_EQ(kh_pqueue_check(&q), 0);
    KH_CHECK_EQ(*(uint32_t *)kh_pqueue_peek(&q), 999);
    /* small batch: sifted in; big batch: rebuilt */
    uint32_t small[3] = {5000, 3, 4000}, big[2000];
    KH_ASSERT_EQ(kh_pqueue_extend(&q, small, 3), 0);
    KH_CHECK_EQ(kh_pqueue_check(&q), 0);
    KH_CHECK_EQ(*(uint32_t *)kh_pqueue_peek(&q), 5000);
    for (uint32_t i = 0; i < 2000; i++) big[i] = 2000 + i;
    KH_ASSERT_EQ(kh_pqueue_extend(&q, big, 2000), 0);
    KH_CHECK_EQ(kh_pqueue_check(&q), 0);
    KH_CHECK_EQ(kh_pqueue_len(&q), 3003);
    uint32_t out, prev = UINT32_MAX;
    size_t popped = 0;
    while (kh_pqueue_pop(&q, &out) == 0) {
        KH_ASSERT(out <= prev);
        prev = out;
        popped++;
    }
    KH_CHECK_EQ(popped, 3003);
    kh_pqueue_destroy(&q);
    kh_vec_destroy(&v);

    /* kh_heapify on a plain array */
    uint32_t arr[100];
    for (uint32_t i = 0; i < 100; i++) arr[i] = i;
    kh_heapify(arr, 100, sizeof(uint32_t), cmp_u32, NULL);
    KH_CHECK_EQ(arr[0], 99);
    for (size_t i = 1; i < 100; i++) KH_CHECK(arr[(i - 1) / 2] >= arr[i]);
    coll_env_no_leak(&e);
}

KH_TEST(pqueue_bad_input)
{
    struct coll_env e;
    KH_ASSERT(coll_env_init(&e, 1 << 20) == 0);
    struct kh_pqueue q;
    kh_allocator none = {NULL, NULL};
    KH_CHECK_EQ(kh_pqueue_init(NULL, e.a, 4, cmp_u32, NULL), KH_EINVAL);
    KH_CHECK_EQ(kh_pqueue_init(&q, e.a, 4, NULL, NULL), KH_EINVAL);
    KH_CHECK_EQ(kh_pqueue_push(&q, &q), KH_EINVAL); /* no comparator */
    KH_CHECK_EQ(kh_pqueue_init(&q, e.a, 0, cmp_u32, NULL), KH_EINVAL);
    KH_CHECK_EQ(kh_pqueue_init(&q, none, 4, cmp_u32, NULL), KH_EINVAL);
    kh_pqueue_destroy(&q);
    KH_CHECK_EQ(kh_pqueue_pop(NULL, NULL), KH_EINVAL);
    KH_CHECK(kh_pqueue_peek(NULL) == NULL);
    KH_CHECK_EQ(kh_pqueue_from_vec(&q, NULL, cmp_u32, NULL), KH_EINVAL);

    KH_ASSERT_EQ(kh_pqueue_init(&q, e.a, sizeof(uint32_t), cmp_u32, NULL), 0);
    uint32_t vals[4] = {4, 8, 1, 2};
    KH_ASSERT_EQ(kh_pqueue_extend(&q, vals, 4), 0);
    KH_CHECK_EQ(kh_pqueue_push(&q, NULL), KH_EINVAL);
    KH_CHECK_EQ(kh_pqueue_extend(&q, NULL, 3), KH_EINVAL);
    KH_CHECK_EQ(kh_pqueue_extend(&q, NULL, 0), 0);
    KH_CHECK_EQ(kh_pqueue_reserve(&q, SIZE_MAX), KH_EOVERFLOW);
    KH_CHECK_EQ(kh_pqueue_reserve(&q, SIZE_MAX / 8), KH_ENOMEM);
    KH_CHECK_EQ(kh_pqueue_len(&q), 4);
    KH_CHECK_EQ(*(uint32_t *)kh_pqueue_peek(&q), 8);
    KH_CHECK_EQ(kh_pqueue_check(&q), 0);
    /* check() finds a broken heap order */
    uint32_t *top = kh_pqueue_peek(&q);
    *top = 0;
    KH_CHECK_EQ(kh_pqueue_check(&q), KH_ECORRUPT);
    *top = 8;
    kh_pqueue_destroy(&q);

    KH_ASSERT_EQ(kh_pqueue_init(&q, kh_failing_allocator(), 4, cmp_u32, NULL), 0);
    KH_CHECK_EQ(kh_pqueue_push(&q, vals), KH_ENOMEM);
    KH_CHECK_EQ(kh_pqueue_len(&q), 0);
    kh_pqueue_destroy(&q);
    coll_env_no_leak(&e);
}

KH_TEST(pqueue_typed_wrapper)
{
    struct coll_env e;
    KH_ASSERT(coll_env_init(&e, 1 << 20) == 0);
    jobq q;
    KH_ASSERT_EQ(jobq_init(&q, e.a, cmp_job, NULL), 0);
    struct job j = {3, 30};
    KH_CHECK_EQ(jobq_push(&q, j), 0);
    j.prio = 9, j.id = 90;
    KH_CHECK_EQ(jobq_push(&q, j), 0);
    struct job more[2] = {{1, 10}, {5, 50}};
    KH_CHECK_EQ(jobq_extend(&q, more, 2), 0);
    KH_CHECK_EQ(jobq_len(&q), 4);
    KH_CHECK_EQ(jobq_peek(&q)->id, 90);
    unsigned order[4] = {90, 50, 30, 10};
    for (int i = 0; i < 4; i++) {
        KH_ASSERT_EQ(jobq_pop(&q, &j), 0);
        KH_CHECK_EQ(j.id, order[i]);
    }
    KH_CHECK_EQ(jobq_reserve(&q, 10), 0);
    KH_CHECK_EQ(jobq_check(&q), 0);
    jobq_clear(&q);
    jobq_destroy(&q);
    coll_env_no_leak(&e);
}

KH_TEST(pqueue_random_differential)
{
    struct coll_env e;
    KH_ASSERT(coll_env_init(&e, 4u << 20) == 0);
    size_t maxlen = 600;
    if (maxlen > e.spare_bytes / sizeof(uint32_t) / 2)
        maxlen = e.spare_bytes / sizeof(uint32_t) / 2;
    uint32_t *ref = (uint32_t *)(void *)e.spare, *tmp = ref + maxlen;
    size_t n = 0;
    struct kh_pqueue q;
    KH_ASSERT_EQ(kh_pqueue_init(&q, e.a, sizeof(uint32_t), cmp_u32, NULL), 0);
    size_t iters = kh_test_iters(300000);
    for (size_t it = 0; it < iters; it++) {
        unsigned op = (unsigned)kh_test_rand_range(0, 99);
        uint32_t x = (uint32_t)kh_test_rand_range(0, 1000), out;
        if (op < 50) {
            if (n == maxlen) continue;
            KH_ASSERT_EQ(kh_pqueue_push(&q, &x), 0);
            ref[n++] = x;
        } else if (op < 95) {
            int rc = kh_pqueue_pop(&q, &out);
            if (!n) {
                KH_ASSERT_EQ(rc, KH_ENOENT);
                continue;
            }
            KH_ASSERT_EQ(rc, 0);
            size_t mi = 0;
            for (size_t i = 1; i < n; i++)
                if (ref[i] > ref[mi]) mi = i;
            KH_ASSERT_EQ(out, ref[mi]);
            ref[mi] = ref[--n];
        } else if (op < 98) {
            size_t k = (size_t)kh_test_rand_range(0, 40);
            if (n + k > maxlen) continue;
            for (size_t i = 0; i < k; i++) tmp[i] = (uint32_t)kh_test_rand_range(0, 1000);
            KH_ASSERT_EQ(kh_pqueue_extend(&q, tmp, k), 0);
            memcpy(ref + n, tmp, k * sizeof(uint32_t));
            n += k;
        } else if (kh_test_rand_range(0, 9) == 0) {
            kh_pqueue_clear(&q);
            n = 0;
        }
        KH_ASSERT_EQ(kh_pqueue_len(&q), n);
        if ((it & 255) == 0) KH_ASSERT_EQ(kh_pqueue_check(&q), 0);
    }
    kh_pqueue_destroy(&q);
    coll_env_no_leak(&e);
}

/* The multiset in q equals ref[0..n) (order-free: sort a copy of both). */
static int pq_same(const struct kh_pqueue *q, uint32_t *ref, size_t n, uint32_t *scratch)
{
    if (kh_pqueue_len(q) != n) return 0;
    if (n == 0) return 1;
    memcpy(scratch, q->v.data, n * sizeof(uint32_t));
    kh_sort(scratch, n, sizeof(uint32_t), cmp_u32, NULL);
    kh_sort(ref, n, sizeof(uint32_t), cmp_u32, NULL);
    return memcmp(scratch, ref, n * sizeof(uint32_t)) == 0;
}

KH_TEST(pqueue_fault_every_allocation)
{
    struct coll_env e;
    KH_ASSERT(coll_env_init(&e, 1 << 20) == 0);
    uint32_t *ref = (uint32_t *)(void *)e.spare, *scratch = ref + 4096;
    const int steps = 60;
    for (int mode = 0; mode < 2; mode++) {
        for (unsigned long long k = 1;; k++) {
            struct kh_pqueue q;
            size_t n = 0;
            KH_ASSERT_EQ(kh_pqueue_init(&q, e.a, sizeof(uint32_t), cmp_u32, NULL), 0);
            if (mode == 0)
                kh_fault_fail_nth(&e.f, k);
            else
                kh_fault_fail_after(&e.f, k - 1);
            for (int s = 0; s < steps; s++) {
                uint32_t x = (uint32_t)(s * 37 % 101), batch[12];
                int rc;
                if (s % 5 == 4) {
                    for (int i = 0; i < 12; i++) batch[i] = x + (uint32_t)i;
                    rc = kh_pqueue_extend(&q, batch, 12);
                    if (!rc) memcpy(ref + n, batch, sizeof batch), n += 12;
                } else if (s % 7 == 6) {
                    uint32_t out;
                    rc = kh_pqueue_pop(&q, &out); /* never allocates */
                    if (n == 0) {
                        KH_ASSERT_EQ(rc, KH_ENOENT);
                        rc = 0;
                    } else {
                        KH_ASSERT_EQ(rc, 0);
                        kh_sort(ref, n, sizeof(uint32_t), cmp_u32, NULL);
                        KH_ASSERT_EQ(out, ref[--n]);
                    }
                } else {
                    rc = kh_pqueue_push(&q, &x);
                    if (!rc) ref[n++] = x;
                }
                KH_ASSERT(rc == 0 || rc == KH_ENOMEM);
                KH_ASSERT_EQ(kh_pqueue_check(&q), 0);
                KH_ASSERT(pq_same(&q, ref, n, scratch));
            }
            unsigned long long failures = e.f.failures;
            kh_fault_off(&e.f);
            kh_pqueue_destroy(&q);
            coll_env_no_leak(&e);
            if (kh_test_failed()) return;
            if (failures == 0) {
                KH_CHECK(k > 5);
                break;
            }
        }
    }
}
