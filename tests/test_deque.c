/* SPDX-License-Identifier: MIT */
/* deque: unit tests, wrap-around growth, differential test against a plain
 * array, fault injection on every allocation. */
#include <stdint.h>
#include <string.h>

#include "coll_env.h"
#include "kh_test.h"
#include "kheap/deque.h"
#include "kheap/error.h"
#include "kheap/heap.h"

/* d holds exactly ref[0..n) front to back. */
static int deque_equals(const struct kh_deque *d, const uint32_t *ref, size_t n)
{
    if (kh_deque_len(d) != n) return 0;
    for (size_t i = 0; i < n; i++) {
        const uint32_t *p = kh_deque_get(d, i);
        if (!p || *p != ref[i]) return 0;
    }
    return 1;
}

KH_DEQUE_DEFINE(u32deque, uint32_t)

KH_TEST(deque_basic_ops)
{
    struct coll_env e;
    KH_ASSERT(coll_env_init(&e, 1 << 20) == 0);
    struct kh_deque d;
    KH_ASSERT_EQ(kh_deque_init(&d, e.a, sizeof(uint32_t)), 0);
    KH_CHECK(kh_deque_is_empty(&d));
    KH_CHECK(kh_deque_front(&d) == NULL && kh_deque_back(&d) == NULL);
    uint32_t x, out = 0;
    for (x = 0; x < 10; x++) KH_ASSERT_EQ(kh_deque_push_back(&d, &x), 0);
    for (x = 100; x < 110; x++) KH_ASSERT_EQ(kh_deque_push_front(&d, &x), 0);
    /* 109 108 ... 100 0 1 ... 9 */
    KH_CHECK_EQ(kh_deque_len(&d), 20);
    KH_CHECK_EQ(*(uint32_t *)kh_deque_front(&d), 109);
    KH_CHECK_EQ(*(uint32_t *)kh_deque_back(&d), 9);
    KH_CHECK_EQ(*(uint32_t *)kh_deque_get(&d, 9), 100);
    KH_CHECK_EQ(*(uint32_t *)kh_deque_at(&d, 10), 0);
    KH_CHECK(kh_deque_get(&d, 20) == NULL);
    KH_CHECK_EQ(kh_deque_pop_front(&d, &out), 0);
    KH_CHECK_EQ(out, 109);
    KH_CHECK_EQ(kh_deque_pop_back(&d, &out), 0);
    KH_CHECK_EQ(out, 9);
    KH_CHECK_EQ(kh_deque_pop_back(&d, NULL), 0);
    KH_CHECK_EQ(kh_deque_len(&d), 17);
    KH_CHECK_EQ(kh_deque_check(&d), 0);
    /* drain from the front: FIFO order */
    uint32_t want[] = {108, 107, 106, 105, 104, 103, 102, 101, 100, 0, 1, 2, 3, 4, 5, 6, 7};
    for (size_t i = 0; i < 17; i++) {
        KH_ASSERT_EQ(kh_deque_pop_front(&d, &out), 0);
        KH_CHECK_EQ(out, want[i]);
    }
    KH_CHECK_EQ(kh_deque_pop_front(&d, &out), KH_ENOENT);
    KH_CHECK_EQ(kh_deque_pop_back(&d, &out), KH_ENOENT);
    /* steady-state queue: no growth once the ring is big enough */
    size_t cap = kh_deque_capacity(&d);
    for (x = 0; x < 10000; x++) {
        KH_ASSERT_EQ(kh_deque_push_back(&d, &x), 0);
        if (x >= 3) {
            KH_ASSERT_EQ(kh_deque_pop_front(&d, &out), 0);
            KH_ASSERT_EQ(out, x - 3);
        }
    }
    KH_CHECK_EQ(kh_deque_capacity(&d), cap);
    kh_deque_clear(&d);
    KH_CHECK_EQ(kh_deque_len(&d), 0);
    KH_CHECK_EQ(kh_deque_capacity(&d), cap);
    kh_deque_destroy(&d);
    coll_env_no_leak(&e);
}

/* Growth while the contents wrap around the end of the ring, for every
 * head position, keeps every element at its index. */
KH_TEST(deque_grow_while_wrapped)
{
    struct coll_env e;
    KH_ASSERT(coll_env_init(&e, 1 << 20) == 0);
    for (uint32_t shift = 0; shift < 8; shift++) {
        struct kh_deque d;
        KH_ASSERT_EQ(kh_deque_init(&d, e.a, sizeof(uint32_t)), 0);
        KH_ASSERT_EQ(kh_deque_reserve(&d, 8), 0);
        KH_ASSERT_EQ(kh_deque_capacity(&d), 8);
        uint32_t x, out;
        /* rotate the head to `shift`, then fill the ring exactly */
        for (x = 0; x < shift; x++) {
            KH_ASSERT_EQ(kh_deque_push_back(&d, &x), 0);
            KH_ASSERT_EQ(kh_deque_pop_front(&d, &out), 0);
        }
        for (x = 0; x < 8; x++) KH_ASSERT_EQ(kh_deque_push_back(&d, &x), 0);
        KH_ASSERT_EQ(kh_deque_capacity(&d), 8);
        x = 8;
        KH_ASSERT_EQ(kh_deque_push_back(&d, &x), 0); /* grows */
        KH_CHECK(kh_deque_capacity(&d) > 8);
        for (uint32_t i = 0; i < 9; i++) KH_ASSERT_EQ(*(uint32_t *)kh_deque_get(&d, i), i);
        x = 99;
        KH_ASSERT_EQ(kh_deque_push_front(&d, &x), 0);
        KH_CHECK_EQ(*(uint32_t *)kh_deque_front(&d), 99);
        KH_CHECK_EQ(kh_deque_check(&d), 0);
        /* shrink copies the wrapped contents into order */
        KH_ASSERT_EQ(kh_deque_shrink_to_fit(&d), 0);
        KH_CHECK_EQ(kh_deque_capacity(&d), 10);
        KH_CHECK_EQ(*(uint32_t *)kh_deque_get(&d, 0), 99);
        for (uint32_t i = 0; i < 9; i++) KH_CHECK_EQ(*(uint32_t *)kh_deque_get(&d, i + 1), i);
        KH_CHECK_EQ(kh_deque_check(&d), 0);
        kh_deque_destroy(&d);
    }
    coll_env_no_leak(&e);
}

KH_TEST(deque_bad_input)
{
    struct coll_env e;
    KH_ASSERT(coll_env_init(&e, 1 << 20) == 0);
    struct kh_deque d;
    kh_allocator none = {NULL, NULL};
    KH_CHECK_EQ(kh_deque_init(NULL, e.a, 4), KH_EINVAL);
    KH_CHECK_EQ(kh_deque_init(&d, e.a, 0), KH_EINVAL);
    KH_CHECK_EQ(kh_deque_init(&d, none, 4), KH_EINVAL);
    KH_CHECK_EQ(kh_deque_init_aligned(&d, e.a, 4, 12), KH_EINVAL);
    KH_CHECK_EQ(kh_deque_push_back(&d, &d), KH_EINVAL);
    kh_deque_destroy(&d);
    KH_CHECK_EQ(kh_deque_pop_front(NULL, NULL), KH_EINVAL);
    KH_CHECK(kh_deque_get(NULL, 0) == NULL);

    KH_ASSERT_EQ(kh_deque_init(&d, e.a, sizeof(uint32_t)), 0);
    uint32_t vals[3] = {1, 2, 3}, x = 7;
    for (int i = 0; i < 3; i++) KH_ASSERT_EQ(kh_deque_push_back(&d, &vals[i]), 0);
    void *data = d.data;
    size_t cap = d.cap;
    KH_CHECK_EQ(kh_deque_push_back(&d, NULL), KH_EINVAL);
    KH_CHECK_EQ(kh_deque_push_front(&d, NULL), KH_EINVAL);
    KH_CHECK_EQ(kh_deque_reserve(&d, SIZE_MAX), KH_EOVERFLOW);
    KH_CHECK_EQ(kh_deque_reserve(&d, SIZE_MAX / 2), KH_EOVERFLOW);
    KH_CHECK_EQ(kh_deque_reserve(&d, SIZE_MAX / 8), KH_ENOMEM);
    KH_CHECK(deque_equals(&d, vals, 3));
    KH_CHECK(d.data == data && d.cap == cap);
    struct kh_test_reports r;
    kh_test_reports_start(&r);
    KH_CHECK(kh_deque_get(&d, 3) == NULL);
    KH_CHECK_EQ(r.count, 0);
    KH_CHECK(kh_deque_at(&d, 3) == NULL);
    kh_test_reports_stop();
#if KH_CONFIG_CHECKS
    KH_CHECK_EQ(r.count, 1);
    KH_CHECK_EQ(r.last_code, KH_EINVAL);
#endif
    d.head = d.cap;
    KH_CHECK_EQ(kh_deque_check(&d), KH_ECORRUPT);
    d.head = 0;
    KH_CHECK_EQ(kh_deque_check(&d), 0);
    kh_deque_destroy(&d);

    KH_ASSERT_EQ(kh_deque_init(&d, kh_failing_allocator(), 4), 0);
    KH_CHECK_EQ(kh_deque_push_front(&d, &x), KH_ENOMEM);
    KH_CHECK_EQ(kh_deque_len(&d), 0);
    KH_CHECK_EQ(kh_deque_check(&d), 0);
    kh_deque_destroy(&d);
    coll_env_no_leak(&e);
}

KH_TEST(deque_typed_wrapper)
{
    struct coll_env e;
    KH_ASSERT(coll_env_init(&e, 1 << 20) == 0);
    u32deque q;
    KH_ASSERT_EQ(u32deque_init(&q, e.a), 0);
    KH_CHECK_EQ(u32deque_push_back(&q, 1), 0);
    KH_CHECK_EQ(u32deque_push_front(&q, 0), 0);
    KH_CHECK_EQ(u32deque_push_back(&q, 2), 0);
    KH_CHECK_EQ(u32deque_len(&q), 3);
    KH_CHECK_EQ(*u32deque_front(&q), 0);
    KH_CHECK_EQ(*u32deque_back(&q), 2);
    KH_CHECK_EQ(*u32deque_get(&q, 1), 1);
    KH_CHECK_EQ(*u32deque_at(&q, 2), 2);
    uint32_t out;
    KH_CHECK_EQ(u32deque_pop_front(&q, &out), 0);
    KH_CHECK_EQ(out, 0);
    KH_CHECK_EQ(u32deque_pop_back(&q, &out), 0);
    KH_CHECK_EQ(out, 2);
    KH_CHECK_EQ(u32deque_reserve(&q, 100), 0);
    KH_CHECK_EQ(u32deque_shrink_to_fit(&q), 0);
    KH_CHECK_EQ(u32deque_check(&q), 0);
    u32deque_clear(&q);
    u32deque_destroy(&q);
    coll_env_no_leak(&e);
}

KH_TEST(deque_random_differential)
{
    struct coll_env e;
    KH_ASSERT(coll_env_init(&e, 4u << 20) == 0);
    size_t maxlen = 1000;
    if (maxlen > e.spare_bytes / sizeof(uint32_t)) maxlen = e.spare_bytes / sizeof(uint32_t);
    uint32_t *ref = (uint32_t *)(void *)e.spare;
    size_t n = 0;
    struct kh_deque d;
    KH_ASSERT_EQ(kh_deque_init(&d, e.a, sizeof(uint32_t)), 0);
    size_t iters = kh_test_iters(300000);
    for (size_t it = 0; it < iters; it++) {
        unsigned op = (unsigned)kh_test_rand_range(0, 99);
        uint32_t x = (uint32_t)kh_test_rand(), out = 0;
        int rc = 0;
        if (op < 27) {
            if (n == maxlen) continue;
            rc = kh_deque_push_back(&d, &x);
            ref[n++] = x;
        } else if (op < 54) {
            if (n == maxlen) continue;
            /* a third of the time the source is an element of d itself */
            int self = n && kh_test_rand_range(0, 2) == 0;
            size_t j = self ? (size_t)kh_test_rand_range(0, n - 1) : 0;
            if (self) x = ref[j];
            const void *src = self ? kh_deque_get(&d, j) : &x;
            if (self && kh_test_rand_range(0, 1)) {
                rc = kh_deque_push_back(&d, src);
                ref[n++] = x;
            } else {
                rc = kh_deque_push_front(&d, src);
                memmove(ref + 1, ref, n * sizeof(uint32_t));
                ref[0] = x;
                n++;
            }
        } else if (op < 75) {
            rc = kh_deque_pop_front(&d, &out);
            if (!n) {
                KH_ASSERT_EQ(rc, KH_ENOENT);
                rc = 0;
            } else {
                KH_ASSERT_EQ(out, ref[0]);
                memmove(ref, ref + 1, --n * sizeof(uint32_t));
            }
        } else if (op < 96) {
            rc = kh_deque_pop_back(&d, &out);
            if (!n) {
                KH_ASSERT_EQ(rc, KH_ENOENT);
                rc = 0;
            } else {
                KH_ASSERT_EQ(out, ref[--n]);
            }
        } else if (op < 97) {
            rc = kh_deque_shrink_to_fit(&d);
            KH_ASSERT_EQ(kh_deque_capacity(&d), n);
        } else if (op < 98) {
            rc = kh_deque_reserve(&d, (size_t)kh_test_rand_range(0, 64));
        } else if (op < 99) {
            if (kh_test_rand_range(0, 7) == 0) {
                kh_deque_clear(&d);
                n = 0;
            }
        } else {
            size_t i = (size_t)kh_test_rand_range(0, n);
            uint32_t *p = kh_deque_get(&d, i);
            KH_ASSERT(i < n ? p && *p == ref[i] : p == NULL);
        }
        KH_ASSERT_EQ(rc, 0);
        KH_ASSERT_EQ(kh_deque_len(&d), n);
        if (n) {
            KH_ASSERT_EQ(*(uint32_t *)kh_deque_front(&d), ref[0]);
            KH_ASSERT_EQ(*(uint32_t *)kh_deque_back(&d), ref[n - 1]);
        }
        if ((it & 63) == 0 || n < 6) {
            KH_ASSERT(deque_equals(&d, ref, n));
            KH_ASSERT_EQ(kh_deque_check(&d), 0);
        }
    }
    KH_CHECK(deque_equals(&d, ref, n));
    kh_deque_destroy(&d);
    coll_env_no_leak(&e);
}

static int deque_script_step(struct kh_deque *d, uint32_t *ref, size_t *n, int step)
{
    uint32_t x = (uint32_t)step * 7u + 1, out;
    int rc;
    switch (step % 6) {
    case 0:
    case 1:
        rc = kh_deque_push_back(d, &x);
        if (!rc) ref[(*n)++] = x;
        return rc;
    case 2:
    case 3:
        rc = kh_deque_push_front(d, &x);
        if (!rc) {
            memmove(ref + 1, ref, *n * sizeof(uint32_t));
            ref[0] = x;
            (*n)++;
        }
        return rc;
    case 4:
        if (step % 4 == 0) return kh_deque_shrink_to_fit(d);
        rc = kh_deque_pop_front(d, &out);
        if (!rc) memmove(ref, ref + 1, --(*n) * sizeof(uint32_t));
        return rc == KH_ENOENT ? 0 : rc;
    default:
        return kh_deque_reserve(d, (size_t)step);
    }
}

KH_TEST(deque_fault_every_allocation)
{
    struct coll_env e;
    KH_ASSERT(coll_env_init(&e, 1 << 20) == 0);
    uint32_t *ref = (uint32_t *)(void *)e.spare;
    const int steps = 70;
    for (int mode = 0; mode < 2; mode++) {
        for (unsigned long long k = 1;; k++) {
            struct kh_deque d;
            size_t n = 0;
            KH_ASSERT_EQ(kh_deque_init(&d, e.a, sizeof(uint32_t)), 0);
            if (mode == 0)
                kh_fault_fail_nth(&e.f, k);
            else
                kh_fault_fail_after(&e.f, k - 1);
            for (int s = 0; s < steps; s++) {
                size_t cap = kh_deque_capacity(&d);
                int rc = deque_script_step(&d, ref, &n, s);
                KH_ASSERT(rc == 0 || rc == KH_ENOMEM);
                if (rc) KH_ASSERT_EQ(kh_deque_capacity(&d), cap);
                KH_ASSERT_EQ(kh_deque_check(&d), 0);
                KH_ASSERT(deque_equals(&d, ref, n));
            }
            unsigned long long failures = e.f.failures;
            kh_fault_off(&e.f);
            kh_deque_destroy(&d);
            coll_env_no_leak(&e);
            if (kh_test_failed()) return;
            if (failures == 0) {
                KH_CHECK(k > 5);
                break;
            }
        }
    }
}

/* Pushing a copy of an element of the deque while the push grows and
 * rearranges the wrapped ring. */
KH_TEST(deque_self_referencing_sources)
{
    struct coll_env e;
    KH_ASSERT(coll_env_init(&e, 1 << 20) == 0);
    struct kh_deque d;
    KH_ASSERT_EQ(kh_deque_init(&d, e.a, sizeof(uint32_t)), 0);
    KH_ASSERT_EQ(kh_deque_reserve(&d, 4), 0);
    uint32_t x;
    for (x = 1; x <= 2; x++) KH_ASSERT_EQ(kh_deque_push_back(&d, &x), 0);
    for (x = 3; x <= 4; x++) KH_ASSERT_EQ(kh_deque_push_front(&d, &x), 0);
    /* 4 3 1 2, wrapped, full: each push below reallocates or moves */
    KH_ASSERT_EQ(kh_deque_capacity(&d), 4);
    KH_ASSERT_EQ(kh_deque_push_back(&d, kh_deque_get(&d, 0)), 0);  /* 4 3 1 2 4 */
    KH_ASSERT_EQ(kh_deque_push_front(&d, kh_deque_get(&d, 3)), 0); /* 2 4 3 1 2 4 */
    KH_ASSERT_EQ(kh_deque_shrink_to_fit(&d), 0);
    KH_ASSERT_EQ(kh_deque_push_front(&d, kh_deque_back(&d)), 0); /* 4 2 4 3 1 2 4 */
    uint32_t want[] = {4, 2, 4, 3, 1, 2, 4};
    KH_CHECK(deque_equals(&d, want, 7));
    KH_CHECK_EQ(kh_deque_check(&d), 0);
    kh_deque_destroy(&d);
    coll_env_no_leak(&e);
}
