/* SPDX-License-Identifier: MIT */
/* vec: unit tests, sort, differential test against a plain array, fault
 * injection on every allocation of operation sequences. */
#include <stdint.h>
#include <string.h>

#include "coll_env.h"
#include "kh_test.h"
#include "kheap/error.h"
#include "kheap/heap.h"
#include "kheap/vec.h"

/* A core heap over the test arena behind a fault-injecting allocator, so
 * every test can prove it leaks nothing. */
static int cmp_int(const void *a, const void *b, void *ctx)
{
    (void)ctx;
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

static int cmp_u32_counting(const void *a, const void *b, void *ctx)
{
    unsigned long long *calls = ctx;
    (*calls)++;
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* True when v holds exactly the n ints of ref. */
static int vec_equals(const struct kh_vec *v, const int *ref, size_t n)
{
    if (kh_vec_len(v) != n) return 0;
    return n == 0 || memcmp(kh_vec_data(v), ref, n * sizeof(int)) == 0;
}

KH_VEC_DEFINE(intvec, int)

KH_TEST(vec_basic_ops)
{
    struct coll_env e;
    KH_ASSERT(coll_env_init(&e, 1 << 20) == 0);
    struct kh_vec v;
    KH_ASSERT_EQ(kh_vec_init(&v, e.a, sizeof(int)), 0);
    KH_CHECK(kh_vec_is_empty(&v));
    KH_CHECK_EQ(kh_vec_capacity(&v), 0);
    KH_CHECK_EQ(e.f.live_blocks, 0); /* init allocates nothing */
    for (int i = 0; i < 1000; i++) KH_ASSERT_EQ(kh_vec_push(&v, &i), 0);
    KH_CHECK_EQ(kh_vec_len(&v), 1000);
    KH_CHECK(kh_vec_capacity(&v) >= 1000);
    for (int i = 0; i < 1000; i++) {
        KH_ASSERT(kh_vec_get(&v, (size_t)i));
        KH_CHECK_EQ(*(int *)kh_vec_get(&v, (size_t)i), i);
        KH_CHECK_EQ(*(int *)kh_vec_at(&v, (size_t)i), i);
    }
    KH_CHECK_EQ(*(int *)kh_vec_last(&v), 999);
    int out = -1;
    KH_CHECK_EQ(kh_vec_pop(&v, &out), 0);
    KH_CHECK_EQ(out, 999);
    KH_CHECK_EQ(kh_vec_len(&v), 999);
    /* insert at front, middle, end */
    int x = -5;
    KH_CHECK_EQ(kh_vec_insert(&v, 0, &x), 0);
    x = -6;
    KH_CHECK_EQ(kh_vec_insert(&v, 500, &x), 0);
    x = -7;
    KH_CHECK_EQ(kh_vec_insert(&v, kh_vec_len(&v), &x), 0);
    KH_CHECK_EQ(*(int *)kh_vec_get(&v, 0), -5);
    KH_CHECK_EQ(*(int *)kh_vec_get(&v, 1), 0);
    KH_CHECK_EQ(*(int *)kh_vec_get(&v, 500), -6);
    KH_CHECK_EQ(*(int *)kh_vec_get(&v, 501), 499);
    KH_CHECK_EQ(*(int *)kh_vec_last(&v), -7);
    KH_CHECK_EQ(kh_vec_len(&v), 1002);
    /* remove keeps order */
    KH_CHECK_EQ(kh_vec_remove(&v, 500, &out), 0);
    KH_CHECK_EQ(out, -6);
    KH_CHECK_EQ(*(int *)kh_vec_get(&v, 500), 499);
    KH_CHECK_EQ(kh_vec_remove(&v, 0, NULL), 0);
    KH_CHECK_EQ(*(int *)kh_vec_get(&v, 0), 0);
    /* swap_remove moves the last element into the hole */
    KH_CHECK_EQ(kh_vec_swap_remove(&v, 3, &out), 0);
    KH_CHECK_EQ(out, 3);
    KH_CHECK_EQ(*(int *)kh_vec_get(&v, 3), -7);
    KH_CHECK_EQ(kh_vec_len(&v), 999);
    /* swap_remove of the last element */
    size_t last = kh_vec_len(&v) - 1;
    int lastval = *(int *)kh_vec_last(&v);
    KH_CHECK_EQ(kh_vec_swap_remove(&v, last, &out), 0);
    KH_CHECK_EQ(out, lastval);
    /* truncate, extend, clear */
    kh_vec_truncate(&v, 10);
    KH_CHECK_EQ(kh_vec_len(&v), 10);
    kh_vec_truncate(&v, 20); /* longer: nothing */
    KH_CHECK_EQ(kh_vec_len(&v), 10);
    int arr[5] = {100, 101, 102, 103, 104};
    KH_CHECK_EQ(kh_vec_extend(&v, arr, 5), 0);
    KH_CHECK_EQ(kh_vec_extend(&v, NULL, 0), 0);
    KH_CHECK_EQ(kh_vec_len(&v), 15);
    KH_CHECK_EQ(*(int *)kh_vec_get(&v, 14), 104);
    KH_CHECK_EQ(kh_vec_check(&v), 0);
    size_t cap = kh_vec_capacity(&v);
    kh_vec_clear(&v);
    KH_CHECK_EQ(kh_vec_len(&v), 0);
    KH_CHECK_EQ(kh_vec_capacity(&v), cap);
    KH_CHECK_EQ(kh_vec_pop(&v, &out), KH_ENOENT);
    kh_vec_destroy(&v);
    KH_CHECK_EQ(kh_vec_capacity(&v), 0);
    coll_env_no_leak(&e);
}

KH_TEST(vec_reserve_and_shrink)
{
    struct coll_env e;
    KH_ASSERT(coll_env_init(&e, 1 << 20) == 0);
    struct kh_vec v;
    KH_ASSERT_EQ(kh_vec_init(&v, e.a, 24), 0);
    KH_CHECK_EQ(kh_vec_reserve_exact(&v, 7), 0);
    KH_CHECK_EQ(kh_vec_capacity(&v), 7);
    KH_CHECK_EQ(kh_vec_reserve(&v, 7), 0); /* room already */
    KH_CHECK_EQ(kh_vec_capacity(&v), 7);
    KH_CHECK_EQ(kh_vec_reserve(&v, 8), 0); /* grows by doubling */
    KH_CHECK_EQ(kh_vec_capacity(&v), 14);
    KH_CHECK_EQ(e.f.live_bytes, 14 * 24);
    char elem[24];
    memset(elem, 0xab, sizeof elem);
    for (int i = 0; i < 3; i++) KH_CHECK_EQ(kh_vec_push(&v, elem), 0);
    KH_CHECK_EQ(kh_vec_shrink_to_fit(&v), 0);
    KH_CHECK_EQ(kh_vec_capacity(&v), 3);
    KH_CHECK_EQ(e.f.live_bytes, 3 * 24);
    KH_CHECK_EQ(memcmp(kh_vec_get(&v, 2), elem, 24), 0);
    kh_vec_clear(&v);
    KH_CHECK_EQ(kh_vec_shrink_to_fit(&v), 0); /* empty: frees the buffer */
    KH_CHECK_EQ(kh_vec_capacity(&v), 0);
    KH_CHECK_EQ(e.f.live_blocks, 0);
    KH_CHECK_EQ(kh_vec_check(&v), 0);
    /* push_slot hands out a slot to fill in */
    unsigned char *slot = kh_vec_push_slot(&v);
    KH_ASSERT(slot);
    memset(slot, 7, 24);
    KH_CHECK_EQ(kh_vec_len(&v), 1);
    KH_CHECK_EQ(((unsigned char *)kh_vec_get(&v, 0))[23], 7);
    kh_vec_destroy(&v);
    coll_env_no_leak(&e);
}

KH_TEST(vec_bad_input)
{
    struct coll_env e;
    KH_ASSERT(coll_env_init(&e, 1 << 20) == 0);
    struct kh_vec v;
    kh_allocator none = {NULL, NULL};
    KH_CHECK_EQ(kh_vec_init(NULL, e.a, 4), KH_EINVAL);
    KH_CHECK_EQ(kh_vec_init(&v, e.a, 0), KH_EINVAL);
    KH_CHECK_EQ(kh_vec_init(&v, none, 4), KH_EINVAL);
    KH_CHECK_EQ(kh_vec_init_aligned(&v, e.a, 4, 3), KH_EINVAL);
    kh_vec_destroy(&v); /* safe after a failed init */
    KH_CHECK_EQ(kh_vec_push(&v, &v), KH_EINVAL);
    KH_CHECK_EQ(kh_vec_push(NULL, &v), KH_EINVAL);
    KH_CHECK_EQ(kh_vec_pop(NULL, NULL), KH_EINVAL);
    KH_CHECK(kh_vec_get(NULL, 0) == NULL);

    KH_ASSERT_EQ(kh_vec_init(&v, e.a, sizeof(int)), 0);
    int vals[3] = {1, 2, 3};
    KH_ASSERT_EQ(kh_vec_extend(&v, vals, 3), 0);
    void *data = kh_vec_data(&v);
    size_t cap = kh_vec_capacity(&v);
    int x = 9;
    /* each bad call fails clearly and changes nothing */
    KH_CHECK_EQ(kh_vec_push(&v, NULL), KH_EINVAL);
    KH_CHECK_EQ(kh_vec_insert(&v, 4, &x), KH_EINVAL);
    KH_CHECK_EQ(kh_vec_insert(&v, 0, NULL), KH_EINVAL);
    KH_CHECK_EQ(kh_vec_extend(&v, NULL, 2), KH_EINVAL);
    KH_CHECK_EQ(kh_vec_remove(&v, 3, &x), KH_ENOENT);
    KH_CHECK_EQ(kh_vec_swap_remove(&v, 99, &x), KH_ENOENT);
    KH_CHECK_EQ(x, 9);
    KH_CHECK_EQ(kh_vec_reserve(&v, SIZE_MAX), KH_EOVERFLOW);
    KH_CHECK_EQ(kh_vec_reserve(&v, SIZE_MAX - 2), KH_EOVERFLOW);
    KH_CHECK_EQ(kh_vec_reserve_exact(&v, SIZE_MAX / 2), KH_EOVERFLOW);
    KH_CHECK_EQ(kh_vec_reserve(&v, SIZE_MAX / 8), KH_ENOMEM); /* fits size_t, not the heap */
    KH_CHECK(kh_vec_get(&v, 3) == NULL);
    KH_CHECK(vec_equals(&v, vals, 3));
    KH_CHECK(kh_vec_data(&v) == data);
    KH_CHECK_EQ(kh_vec_capacity(&v), cap);
    KH_CHECK_EQ(kh_vec_check(&v), 0);

    /* at() out of range is a reported bug; get() is a quiet miss */
    struct kh_test_reports r;
    kh_test_reports_start(&r);
    KH_CHECK(kh_vec_get(&v, 3) == NULL);
    KH_CHECK_EQ(r.count, 0);
    KH_CHECK(kh_vec_at(&v, 3) == NULL);
    kh_test_reports_stop();
#if KH_CONFIG_CHECKS
    KH_CHECK_EQ(r.count, 1);
    KH_CHECK_EQ(r.last_code, KH_EINVAL);
#endif
    kh_vec_destroy(&v);

    /* a huge element size overflows at the first push */
    KH_ASSERT_EQ(kh_vec_init(&v, e.a, SIZE_MAX / 2), 0);
    KH_CHECK_EQ(kh_vec_reserve_exact(&v, 3), KH_EOVERFLOW);
    KH_CHECK(kh_vec_push_slot(&v) == NULL); /* one element fits size_t, not the heap */
    KH_CHECK_EQ(kh_vec_capacity(&v), 0);
    kh_vec_destroy(&v);

    /* the failing allocator: ENOMEM, nothing changes */
    KH_ASSERT_EQ(kh_vec_init(&v, kh_failing_allocator(), 8), 0);
    KH_CHECK_EQ(kh_vec_push(&v, &cap), KH_ENOMEM);
    KH_CHECK_EQ(kh_vec_len(&v), 0);
    KH_CHECK_EQ(kh_vec_check(&v), 0);
    kh_vec_destroy(&v);

    /* check() catches a broken struct */
    KH_ASSERT_EQ(kh_vec_init(&v, e.a, 4), 0);
    v.len = 1;
    KH_CHECK_EQ(kh_vec_check(&v), KH_ECORRUPT);
    v.len = 0;
    KH_CHECK_EQ(kh_vec_check(&v), 0);
    KH_CHECK_EQ(kh_vec_check(NULL), KH_ECORRUPT);
    kh_vec_destroy(&v);
    coll_env_no_leak(&e);
}

/* Sources inside the vec itself stay valid across the reallocation the
 * call itself triggers. */
KH_TEST(vec_self_referencing_sources)
{
    struct coll_env e;
    KH_ASSERT(coll_env_init(&e, 1 << 20) == 0);
    struct kh_vec v;
    KH_ASSERT_EQ(kh_vec_init(&v, e.a, sizeof(int)), 0);
    int x = 42;
    KH_ASSERT_EQ(kh_vec_push(&v, &x), 0);
    for (int i = 0; i < 200; i++) KH_ASSERT_EQ(kh_vec_push(&v, kh_vec_get(&v, 0)), 0);
    for (size_t i = 0; i < kh_vec_len(&v); i++) KH_ASSERT_EQ(*(int *)kh_vec_get(&v, i), 42);
    kh_vec_clear(&v);
    KH_ASSERT_EQ(kh_vec_shrink_to_fit(&v), 0);
    for (x = 0; x < 4; x++) KH_ASSERT_EQ(kh_vec_push(&v, &x), 0);
    KH_ASSERT_EQ(kh_vec_capacity(&v), 4); /* full: the next calls move the buffer */
    KH_ASSERT_EQ(kh_vec_insert(&v, 1, kh_vec_get(&v, 3)), 0); /* 0 3 1 2 3 */
    KH_ASSERT_EQ(kh_vec_insert(&v, 4, kh_vec_get(&v, 1)), 0); /* 0 3 1 2 3 3 */
    KH_ASSERT_EQ(kh_vec_insert(&v, 0, kh_vec_get(&v, 2)), 0); /* 1 0 3 1 2 3 3 */
    KH_ASSERT_EQ(kh_vec_shrink_to_fit(&v), 0);
    KH_ASSERT_EQ(kh_vec_extend(&v, kh_vec_data(&v), kh_vec_len(&v)), 0); /* doubled */
    int want[] = {1, 0, 3, 1, 2, 3, 3, 1, 0, 3, 1, 2, 3, 3};
    KH_CHECK(vec_equals(&v, want, 14));
    kh_vec_destroy(&v);
    coll_env_no_leak(&e);
}

KH_TEST(vec_typed_wrapper)
{
    struct coll_env e;
    KH_ASSERT(coll_env_init(&e, 1 << 20) == 0);
    intvec v;
    KH_ASSERT_EQ(intvec_init(&v, e.a), 0);
    for (int i = 0; i < 100; i++) KH_ASSERT_EQ(intvec_push(&v, 99 - i), 0);
    KH_CHECK_EQ(intvec_len(&v), 100);
    KH_CHECK_EQ(*intvec_at(&v, 0), 99);
    intvec_sort(&v, cmp_int, NULL);
    for (int i = 0; i < 100; i++) KH_CHECK_EQ(intvec_data(&v)[i], i);
    size_t idx = 0;
    int key = 42;
    KH_CHECK_EQ(intvec_bsearch(&v, &key, cmp_int, NULL, &idx), 0);
    KH_CHECK_EQ(idx, 42);
    int out;
    KH_CHECK_EQ(intvec_pop(&v, &out), 0);
    KH_CHECK_EQ(out, 99);
    KH_CHECK_EQ(intvec_insert(&v, 0, -1), 0);
    KH_CHECK_EQ(intvec_remove(&v, 0, &out), 0);
    KH_CHECK_EQ(out, -1);
    KH_CHECK_EQ(intvec_swap_remove(&v, 0, &out), 0);
    KH_CHECK_EQ(out, 0);
    KH_CHECK_EQ(*intvec_get(&v, 0), 98);
    KH_CHECK(intvec_get(&v, 1000) == NULL);
    KH_CHECK_EQ(*intvec_last(&v), 97);
    int arr[2] = {7, 8};
    KH_CHECK_EQ(intvec_extend(&v, arr, 2), 0);
    intvec_truncate(&v, 5);
    KH_CHECK_EQ(intvec_len(&v), 5);
    KH_CHECK_EQ(intvec_shrink_to_fit(&v), 0);
    KH_CHECK_EQ(intvec_capacity(&v), 5);
    KH_CHECK_EQ(intvec_reserve(&v, 10), 0);
    KH_CHECK_EQ(intvec_check(&v), 0);
    intvec_clear(&v);
    intvec_destroy(&v);
    coll_env_no_leak(&e);
}

/* Over-aligned element type: the buffer honours its alignment. */
struct big_aligned {
    _Alignas(64) unsigned char b[64];
};
KH_VEC_DEFINE(bigvec, struct big_aligned)

KH_TEST_TAGGED(vec_overaligned_elements, "full-heap")
{
    struct coll_env e;
    KH_ASSERT(coll_env_init(&e, 1 << 20) == 0);
    bigvec v;
    KH_ASSERT_EQ(bigvec_init(&v, e.a), 0);
    for (int i = 0; i < 50; i++) {
        /* push_slot: big elements are built in place, not passed by value */
        struct big_aligned *x = bigvec_push_slot(&v);
        KH_ASSERT(x);
        memset(x->b, i, sizeof x->b);
        KH_CHECK_EQ((uintptr_t)bigvec_data(&v) % 64, 0);
    }
    for (int i = 0; i < 50; i++) KH_CHECK_EQ(bigvec_at(&v, (size_t)i)->b[63], i);
    KH_CHECK_EQ(bigvec_check(&v), 0);
    bigvec_destroy(&v);
    coll_env_no_leak(&e);
}

/* Fill a[0..n) with pattern p, values in [0, range). */
static void fill_pattern(uint32_t *a, size_t n, int p, uint32_t range)
{
    for (size_t i = 0; i < n; i++) {
        switch (p) {
        case 0: /* random */
            a[i] = (uint32_t)kh_test_rand_range(0, range - 1);
            break;
        case 1: /* sorted */
            a[i] = (uint32_t)i;
            break;
        case 2: /* reversed */
            a[i] = (uint32_t)(n - i);
            break;
        case 3: /* all equal */
            a[i] = 7;
            break;
        case 4: /* organ pipe */
            a[i] = (uint32_t)(i < n / 2 ? i : n - i);
            break;
        case 5: /* sorted with a few swaps */
            a[i] = (uint32_t)i;
            if (i && kh_test_rand_range(0, 50) == 0) {
                uint32_t t = a[i];
                a[i] = a[i - 1];
                a[i - 1] = t;
            }
            break;
        default: /* few distinct */
            a[i] = (uint32_t)kh_test_rand_range(0, 3);
            break;
        }
    }
}

/* Order-independent fingerprint of a multiset of u32. */
static uint64_t multiset_hash(const uint32_t *a, size_t n)
{
    uint64_t s = 0, x = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t h = (a[i] + 0x9e3779b97f4a7c15ull) * 0xbf58476d1ce4e5b9ull;
        h ^= h >> 31;
        s += h;
        x ^= h * 0x94d049bb133111ebull;
    }
    return s ^ (x << 1);
}

KH_TEST(vec_sort_patterns)
{
    size_t bytes;
    uint32_t *a = kh_test_arena(&bytes);
    size_t maxn = bytes / sizeof(uint32_t);
    static const size_t sizes[] = {0, 1, 2, 3, 5, 16, 17, 31, 100, 1000, 20000};
    for (int p = 0; p < 7; p++) {
        for (size_t si = 0; si < sizeof(sizes) / sizeof(sizes[0]); si++) {
            size_t n = sizes[si];
            if (n > maxn) continue;
            fill_pattern(a, n, p, (uint32_t)(n ? n : 1));
            uint64_t before = multiset_hash(a, n);
            unsigned long long calls = 0;
            kh_sort(a, n, sizeof(uint32_t), cmp_u32_counting, &calls);
            for (size_t i = 1; i < n; i++) KH_ASSERT(a[i - 1] <= a[i]);
            KH_CHECK_EQ(multiset_hash(a, n), before);
            /* O(n log n) comparisons on every pattern: 4 n log2 n + 2 n is
             * generous for introsort and far below the n^2 / 4 of a quicksort
             * gone quadratic. */
            unsigned lg = 1;
            while (((size_t)1 << lg) < n) lg++;
            KH_CHECK(calls <= 4ull * n * lg + 2ull * n);
        }
    }
}

/* McIlroy's adversary ("A killer adversary for quicksort", 1999): values
 * start undecided ("gas") and the comparator fixes them lazily so that
 * every pivot choice turns out bad. Any plain quicksort goes quadratic; the
 * depth limit must send introsort to heapsort and keep it O(n log n). The
 * order it defines is consistent, so the result must still be sorted. */
struct adversary {
    uint32_t *val;
    uint32_t gas, nsolid, candidate;
    unsigned long long calls;
};

static int cmp_adversary(const void *a, const void *b, void *ctx)
{
    struct adversary *ad = ctx;
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    ad->calls++;
    if (ad->val[x] == ad->gas && ad->val[y] == ad->gas) {
        if (x == ad->candidate)
            ad->val[x] = ad->nsolid++;
        else
            ad->val[y] = ad->nsolid++;
    }
    if (ad->val[x] == ad->gas)
        ad->candidate = x;
    else if (ad->val[y] == ad->gas)
        ad->candidate = y;
    return (ad->val[x] > ad->val[y]) - (ad->val[x] < ad->val[y]);
}

KH_TEST(vec_sort_survives_quicksort_adversary)
{
    size_t bytes;
    uint32_t *mem = kh_test_arena(&bytes);
    size_t n = 20000;
    if (n > bytes / (2 * sizeof(uint32_t))) n = bytes / (2 * sizeof(uint32_t));
    uint32_t *items = mem, *val = mem + n;
    struct adversary ad = {val, (uint32_t)n, 0, 0, 0};
    for (size_t i = 0; i < n; i++) {
        items[i] = (uint32_t)i;
        val[i] = (uint32_t)n; /* gas: above every frozen value */
    }
    kh_sort(items, n, sizeof(uint32_t), cmp_adversary, &ad);
    for (size_t i = 1; i < n; i++) KH_ASSERT(val[items[i - 1]] <= val[items[i]]);
    unsigned lg = 1;
    while (((size_t)1 << lg) < n) lg++;
    /* n log n scale (about 6 n log2 n: 2 log2 n partition levels, then
     * heapsort), far below the n^2 / 4 a quicksort would need here. */
    KH_CHECK(ad.calls <= 6ull * n * lg);
}

/* Elements with a size that is neither 4 nor 8 and carries a payload that
 * must travel with the key. */
struct rec {
    uint32_t key;
    uint32_t tag;
    unsigned char pad[29];
};

static int cmp_rec(const void *a, const void *b, void *ctx)
{
    (void)ctx;
    const struct rec *x = a, *y = b;
    return (x->key > y->key) - (x->key < y->key);
}

KH_TEST(vec_sort_records)
{
    size_t bytes;
    struct rec *r = kh_test_arena(&bytes);
    size_t n = bytes / sizeof(struct rec);
    if (n > 5000) n = 5000;
    for (size_t i = 0; i < n; i++) {
        r[i].key = (uint32_t)kh_test_rand_range(0, 500);
        r[i].tag = r[i].key * 2654435761u;
        memset(r[i].pad, (int)(r[i].key & 0xff), sizeof r[i].pad);
    }
    kh_sort(r, n, sizeof *r, cmp_rec, NULL);
    for (size_t i = 0; i < n; i++) {
        if (i) KH_ASSERT(r[i - 1].key <= r[i].key);
        KH_ASSERT_EQ(r[i].tag, r[i].key * 2654435761u);
        KH_ASSERT_EQ(r[i].pad[28], r[i].key & 0xff);
    }
    /* bad arguments do nothing */
    kh_sort(NULL, 5, 4, cmp_rec, NULL);
    kh_sort(r, 5, 0, cmp_rec, NULL);
    kh_sort(r, 5, sizeof *r, NULL, NULL);
}

KH_TEST(vec_bsearch)
{
    int a[] = {1, 3, 3, 5, 9};
    size_t idx = 99;
    int k = 5;
    KH_CHECK_EQ(kh_bsearch(a, 5, sizeof(int), &k, cmp_int, NULL, &idx), 0);
    KH_CHECK_EQ(idx, 3);
    k = 3;
    KH_CHECK_EQ(kh_bsearch(a, 5, sizeof(int), &k, cmp_int, NULL, &idx), 0);
    KH_CHECK(idx == 1 || idx == 2);
    /* misses report the insertion point */
    int misses[][2] = {{0, 0}, {2, 1}, {4, 3}, {6, 4}, {10, 5}};
    for (int i = 0; i < 5; i++) {
        k = misses[i][0];
        KH_CHECK_EQ(kh_bsearch(a, 5, sizeof(int), &k, cmp_int, NULL, &idx), KH_ENOENT);
        KH_CHECK_EQ(idx, misses[i][1]);
    }
    KH_CHECK_EQ(kh_bsearch(a, 0, sizeof(int), &k, cmp_int, NULL, &idx), KH_ENOENT);
    KH_CHECK_EQ(idx, 0);
    KH_CHECK_EQ(kh_bsearch(NULL, 0, sizeof(int), &k, cmp_int, NULL, NULL), KH_ENOENT);
    KH_CHECK_EQ(kh_bsearch(NULL, 3, sizeof(int), &k, cmp_int, NULL, &idx), KH_EINVAL);
    KH_CHECK_EQ(kh_bsearch(a, 5, sizeof(int), NULL, cmp_int, NULL, &idx), KH_EINVAL);
    KH_CHECK_EQ(kh_bsearch(a, 5, sizeof(int), &k, NULL, NULL, &idx), KH_EINVAL);
    KH_CHECK_EQ(kh_vec_bsearch(NULL, &k, cmp_int, NULL, &idx), KH_EINVAL);
}

/* Random operations on a vec and on a plain array kept beside it; they must
 * agree after every step. */
KH_TEST(vec_random_differential)
{
    struct coll_env e;
    KH_ASSERT(coll_env_init(&e, 8u << 20) == 0);
    size_t maxlen = 1500;
    if (maxlen > e.spare_bytes / sizeof(int) / 2) maxlen = e.spare_bytes / sizeof(int) / 2;
    int *ref = (int *)(void *)e.spare, *tmp = ref + maxlen;
    size_t n = 0;
    struct kh_vec v;
    KH_ASSERT_EQ(kh_vec_init(&v, e.a, sizeof(int)), 0);
    size_t iters = kh_test_iters(300000);
    for (size_t it = 0; it < iters; it++) {
        unsigned op = (unsigned)kh_test_rand_range(0, 99);
        int x = (int)kh_test_rand_range(0, 1000000);
        int out = -1, rc = 0;
        if (op < 30) { /* push */
            if (n == maxlen) continue;
            rc = kh_vec_push(&v, &x);
            ref[n++] = x;
        } else if (op < 45) { /* pop */
            rc = kh_vec_pop(&v, &out);
            if (n == 0) {
                KH_ASSERT_EQ(rc, KH_ENOENT);
            } else {
                KH_ASSERT_EQ(out, ref[--n]);
            }
            rc = 0;
        } else if (op < 57) { /* insert, sometimes a copy of an element of v */
            if (n == maxlen) continue;
            size_t i = (size_t)kh_test_rand_range(0, n);
            if (n && kh_test_rand_range(0, 2) == 0) {
                size_t j = (size_t)kh_test_rand_range(0, n - 1);
                x = ref[j];
                rc = kh_vec_insert(&v, i, kh_vec_get(&v, j));
            } else {
                rc = kh_vec_insert(&v, i, &x);
            }
            memmove(ref + i + 1, ref + i, (n - i) * sizeof(int));
            ref[i] = x;
            n++;
        } else if (op < 69) { /* remove */
            size_t i = (size_t)kh_test_rand_range(0, n);
            rc = kh_vec_remove(&v, i, &out);
            if (i >= n) {
                KH_ASSERT_EQ(rc, KH_ENOENT);
                rc = 0;
            } else {
                KH_ASSERT_EQ(out, ref[i]);
                memmove(ref + i, ref + i + 1, (n - i - 1) * sizeof(int));
                n--;
            }
        } else if (op < 79) { /* swap_remove */
            if (n == 0) continue;
            size_t i = (size_t)kh_test_rand_range(0, n - 1);
            rc = kh_vec_swap_remove(&v, i, &out);
            KH_ASSERT_EQ(out, ref[i]);
            ref[i] = ref[--n];
        } else if (op < 84) { /* extend, half the time from v itself */
            size_t k = (size_t)kh_test_rand_range(0, 20);
            if (n + k > maxlen) continue;
            if (k <= n && kh_test_rand_range(0, 1)) {
                size_t from = (size_t)kh_test_rand_range(0, n - k);
                rc = kh_vec_extend(&v, kh_vec_get(&v, from), k);
                memcpy(ref + n, ref + from, k * sizeof(int));
            } else {
                for (size_t j = 0; j < k; j++) tmp[j] = x + (int)j;
                rc = kh_vec_extend(&v, tmp, k);
                memcpy(ref + n, tmp, k * sizeof(int));
            }
            n += k;
        } else if (op < 88) { /* truncate */
            size_t k = (size_t)kh_test_rand_range(0, n + 2);
            kh_vec_truncate(&v, k);
            if (k < n) n = k;
        } else if (op < 90) {
            rc = kh_vec_shrink_to_fit(&v);
            KH_ASSERT_EQ(kh_vec_capacity(&v), n);
        } else if (op < 92) {
            rc = kh_vec_reserve(&v, (size_t)kh_test_rand_range(0, 100));
        } else if (op < 93) {
            if (kh_test_rand_range(0, 3) == 0) {
                kh_vec_clear(&v);
                n = 0;
            }
        } else if (op < 94) { /* sort + bsearch */
            kh_vec_sort(&v, cmp_int, NULL);
            kh_sort(ref, n, sizeof(int), cmp_int, NULL);
            size_t idx;
            int r = kh_vec_bsearch(&v, &x, cmp_int, NULL, &idx);
            KH_ASSERT(idx <= n);
            if (r == 0) {
                KH_ASSERT_EQ(ref[idx], x);
            } else {
                KH_ASSERT(idx == n || ref[idx] > x);
                KH_ASSERT(idx == 0 || ref[idx - 1] < x);
            }
        } else { /* get */
            size_t i = (size_t)kh_test_rand_range(0, n);
            int *p = kh_vec_get(&v, i);
            KH_ASSERT(i < n ? p && *p == ref[i] : p == NULL);
        }
        KH_ASSERT_EQ(rc, 0);
        KH_ASSERT_EQ(kh_vec_len(&v), n);
        if ((it & 63) == 0 || n < 8) {
            KH_ASSERT(vec_equals(&v, ref, n));
            KH_ASSERT_EQ(kh_vec_check(&v), 0);
        }
    }
    KH_CHECK(vec_equals(&v, ref, n));
    kh_vec_destroy(&v);
    coll_env_no_leak(&e);
}

/* One step of the fault-injection script; applies the same change to the
 * reference only when the vec reports success. */
static int vec_script_step(struct kh_vec *v, int *ref, size_t *n, int step)
{
    int x = step * 3 + 1, rc;
    switch (step % 7) {
    case 0:
    case 1:
    case 2:
        rc = kh_vec_push(v, &x);
        if (!rc) ref[(*n)++] = x;
        return rc;
    case 3: {
        size_t i = *n / 2;
        rc = kh_vec_insert(v, i, &x);
        if (!rc) {
            memmove(ref + i + 1, ref + i, (*n - i) * sizeof(int));
            ref[i] = x;
            (*n)++;
        }
        return rc;
    }
    case 4: {
        int arr[9];
        for (int j = 0; j < 9; j++) arr[j] = x + j;
        rc = kh_vec_extend(v, arr, 9);
        if (!rc) {
            memcpy(ref + *n, arr, sizeof arr);
            *n += 9;
        }
        return rc;
    }
    case 5:
        if (step % 3 == 0) return kh_vec_shrink_to_fit(v);
        return kh_vec_reserve_exact(v, (size_t)step);
    default:
        return kh_vec_reserve(v, 40);
    }
}

KH_TEST(vec_fault_every_allocation)
{
    struct coll_env e;
    KH_ASSERT(coll_env_init(&e, 1 << 20) == 0);
    int *ref = (int *)(void *)e.spare;
    const int steps = 60;
    /* mode 0: only the k-th attempt fails (growth then retries the exact
     * size); mode 1: every attempt from the k-th on fails. */
    for (int mode = 0; mode < 2; mode++) {
        for (unsigned long long k = 1;; k++) {
            struct kh_vec v;
            size_t n = 0, nfail = 0;
            KH_ASSERT_EQ(kh_vec_init(&v, e.a, sizeof(int)), 0);
            if (mode == 0)
                kh_fault_fail_nth(&e.f, k);
            else
                kh_fault_fail_after(&e.f, k - 1);
            for (int s = 0; s < steps; s++) {
                size_t cap = kh_vec_capacity(&v);
                int rc = vec_script_step(&v, ref, &n, s);
                KH_ASSERT(rc == 0 || rc == KH_ENOMEM);
                if (rc) {
                    nfail++;
                    KH_ASSERT_EQ(kh_vec_capacity(&v), cap);
                }
                KH_ASSERT_EQ(kh_vec_check(&v), 0);
                KH_ASSERT(vec_equals(&v, ref, n));
            }
            unsigned long long failures = e.f.failures;
            kh_fault_off(&e.f);
            kh_vec_destroy(&v);
            coll_env_no_leak(&e);
            if (kh_test_failed()) return;
            if (mode == 1 && failures) KH_CHECK(nfail > 0);
            if (failures == 0) {
                /* The script made several attempts (a growth the heap can do in
                 * place costs one attempt, one that moves costs two). */
                KH_CHECK(k > 5);
                break;
            }
        }
    }
}
