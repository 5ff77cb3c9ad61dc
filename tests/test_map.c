/* SPDX-License-Identifier: MIT */
/* Tests for the B-tree ordered map (kheap/map.h). */
#include <stdint.h>
#include <string.h>

#include "coll_env.h"
#include "kh_test.h"
#include "kheap/error.h"
#include "kheap/heap.h"
#include "kheap/map.h"

KH_MAP_DEFINE(u64tree, uint64_t, uint64_t, kh_map_cmp_u64)
typedef const char *map_cstr; /* K must be one type name: typedef pointer types */
KH_SET_DEFINE(strset, map_cstr, kh_map_cmp_str)

KH_TEST(map_basic_ops_and_order)
{
    kheap *h = coll_heap(1 << 20, NULL);
    KH_ASSERT(h);
    u64tree t;
    KH_ASSERT_EQ(u64tree_init(&t, kheap_allocator(h)), 0);
    struct kh_map_iter it;
    KH_CHECK(!u64tree_first(&t, &it));
    KH_CHECK(!u64tree_last(&t, &it));
    KH_CHECK(u64tree_get(&t, 1) == NULL);
    KH_CHECK_EQ(u64tree_remove(&t, 1, NULL), KH_ENOENT);
    KH_CHECK_EQ(u64tree_check(&t), 0);
    /* 2000 keys in a scrambled order: 0, 10, ..., 19990 */
    for (uint64_t i = 0; i < 2000; i++) {
        uint64_t k = (i * 7919) % 2000 * 10;
        KH_ASSERT_EQ(u64tree_insert(&t, k, k + 1), 0);
    }
    KH_CHECK_EQ(u64tree_len(&t), 2000);
    KH_CHECK_EQ(u64tree_check(&t), 0);
    KH_CHECK(t.m.height >= 3);
    for (uint64_t k = 0; k < 20000; k += 5) {
        uint64_t *v = u64tree_get(&t, k);
        if (k % 10) {
            KH_CHECK(v == NULL);
        } else {
            KH_ASSERT(v);
            KH_CHECK_EQ(*v, k + 1);
        }
    }
    /* forward and backward iteration are sorted and complete */
    size_t n = 0;
    uint64_t expect = 0;
    for (bool ok = u64tree_first(&t, &it); ok; ok = kh_map_iter_next(&it), n++, expect += 10) {
        KH_ASSERT_EQ(*u64tree_key(&it), expect);
        KH_ASSERT_EQ(*u64tree_val(&it), expect + 1);
    }
    KH_CHECK_EQ(n, 2000);
    KH_CHECK(kh_map_iter_key(&it) == NULL);
    KH_CHECK(!kh_map_iter_next(&it)); /* end stays end */
    n = 0;
    expect = 19990;
    for (bool ok = u64tree_last(&t, &it); ok; ok = kh_map_iter_prev(&it), n++, expect -= 10)
        KH_ASSERT_EQ(*u64tree_key(&it), expect);
    KH_CHECK_EQ(n, 2000);
    /* bounds */
    KH_CHECK(u64tree_lower_bound(&t, 25, &it) && *u64tree_key(&it) == 30);
    KH_CHECK(u64tree_lower_bound(&t, 30, &it) && *u64tree_key(&it) == 30);
    KH_CHECK(u64tree_upper_bound(&t, 30, &it) && *u64tree_key(&it) == 40);
    KH_CHECK(u64tree_upper_bound(&t, 29, &it) && *u64tree_key(&it) == 30);
    KH_CHECK(u64tree_lower_bound(&t, 0, &it) && *u64tree_key(&it) == 0);
    KH_CHECK(!u64tree_lower_bound(&t, 19991, &it));
    KH_CHECK(!u64tree_upper_bound(&t, 19990, &it));
    KH_CHECK(u64tree_lower_bound(&t, 19990, &it) && kh_map_iter_prev(&it) &&
             *u64tree_key(&it) == 19980);
    KH_CHECK(kh_map_find(&t.m, &(uint64_t){500}, &it) && *u64tree_val(&it) == 501);
    KH_CHECK(!kh_map_find(&t.m, &(uint64_t){505}, &it));
    /* replace, emplace */
    KH_CHECK_EQ(u64tree_insert(&t, 100, 7), 0);
    KH_CHECK_EQ(*u64tree_get(&t, 100), 7);
    KH_CHECK_EQ(u64tree_len(&t), 2000);
    bool ins = true;
    uint64_t *v = u64tree_emplace(&t, 100, &ins);
    KH_CHECK(v && !ins && *v == 7);
    v = u64tree_emplace(&t, 105, &ins);
    KH_ASSERT(v);
    KH_CHECK(ins && *v == 0);
    *v = 55;
    KH_CHECK_EQ(*u64tree_get(&t, 105), 55);
    /* remove with outputs, every other key */
    uint64_t ko = 0, vo = 0;
    KH_CHECK_EQ(kh_map_remove(&t.m, &(uint64_t){105}, &ko, &vo), 0);
    KH_CHECK(ko == 105 && vo == 55);
    for (uint64_t k = 0; k < 20000; k += 20) KH_ASSERT_EQ(u64tree_remove(&t, k, &vo), 0);
    KH_CHECK_EQ(u64tree_len(&t), 1000);
    KH_CHECK_EQ(u64tree_check(&t), 0);
    KH_CHECK(u64tree_first(&t, &it) && *u64tree_key(&it) == 10);
    /* remove the rest from the front: the tree shrinks to nothing */
    while (u64tree_first(&t, &it)) {
        uint64_t k = *u64tree_key(&it);
        KH_ASSERT_EQ(u64tree_remove(&t, k, NULL), 0);
    }
    KH_CHECK_EQ(u64tree_len(&t), 0);
    KH_CHECK_EQ(t.m.height, 0);
    KH_CHECK_EQ(u64tree_check(&t), 0);
    coll_heap_empty(h);
    KH_CHECK_EQ(u64tree_insert(&t, 3, 4), 0); /* usable again */
    u64tree_destroy(&t);
    coll_heap_empty(h);
}

KH_TEST(map_set_of_strings)
{
    kheap *h = coll_heap(1 << 16, NULL);
    KH_ASSERT(h);
    strset s;
    KH_ASSERT_EQ(strset_init(&s, kheap_allocator(h)), 0);
    const char *words[] = {"pear", "apple", "fig", "banana", "cherry", "date", "kiwi", "lime"};
    for (int i = 0; i < 8; i++) KH_ASSERT_EQ(strset_insert(&s, words[i]), 0);
    char buf[8] = "fig";
    KH_CHECK(strset_contains(&s, buf)); /* compared by content, not pointer */
    KH_CHECK_EQ(strset_insert(&s, buf), 0);
    KH_CHECK_EQ(strset_len(&s), 8);
    const char *sorted[] = {"apple", "banana", "cherry", "date", "fig", "kiwi", "lime", "pear"};
    struct kh_map_iter it;
    int i = 0;
    for (bool ok = strset_first(&s, &it); ok; ok = kh_map_iter_next(&it), i++)
        KH_CHECK(strcmp(*strset_key(&it), sorted[i]) == 0);
    KH_CHECK_EQ(i, 8);
    KH_CHECK(strset_lower_bound(&s, "c", &it) && strcmp(*strset_key(&it), "cherry") == 0);
    KH_CHECK(strset_upper_bound(&s, "kiwi", &it) && strcmp(*strset_key(&it), "lime") == 0);
    KH_CHECK_EQ(strset_remove(&s, "kiwi"), 0);
    KH_CHECK_EQ(strset_remove(&s, "kiwi"), KH_ENOENT);
    KH_CHECK(kh_map_get(&s.m, &sorted[0]) != NULL); /* set: non-NULL when present */
    KH_CHECK_EQ(strset_check(&s), 0);
    strset_destroy(&s);
    coll_heap_empty(h);
}

KH_TEST(map_bad_input_and_memcmp_default)
{
    kheap *h = coll_heap(1 << 16, NULL);
    KH_ASSERT(h);
    kh_allocator a = kheap_allocator(h);
    struct kh_map m;
    KH_CHECK_EQ(kh_map_init(NULL, a, 4, 4, NULL, NULL), KH_EINVAL);
    KH_CHECK_EQ(kh_map_init(&m, a, 0, 4, NULL, NULL), KH_EINVAL);
    KH_CHECK_EQ(kh_map_init(&m, a, SIZE_MAX / 2, 4, NULL, NULL), KH_EINVAL);
    KH_CHECK_EQ(kh_map_init(&m, a, 4, SIZE_MAX / 2, NULL, NULL), KH_EINVAL);
    kh_map_destroy(&m);                         /* destroy after a failed init is safe */
    KH_CHECK_EQ(kh_map_check(&m), KH_ECORRUPT); /* never initialized: not a map */
    /* cmp NULL: byte order */
    KH_ASSERT_EQ(kh_map_init(&m, a, 3, 1, NULL, NULL), 0);
    KH_CHECK_EQ(kh_map_insert(&m, "bcd", "2"), 0);
    KH_CHECK_EQ(kh_map_insert(&m, "abc", "1"), 0);
    KH_CHECK_EQ(kh_map_insert(&m, "bca", NULL), 0);
    struct kh_map_iter it;
    KH_ASSERT(kh_map_first(&m, &it));
    KH_CHECK(memcmp(kh_map_iter_key(&it), "abc", 3) == 0);
    KH_CHECK(kh_map_iter_next(&it) && memcmp(kh_map_iter_key(&it), "bca", 3) == 0);
    KH_CHECK_EQ(*(char *)kh_map_iter_val(&it), 0);
    KH_CHECK_EQ(kh_map_insert(&m, NULL, "x"), KH_EINVAL);
    KH_CHECK_EQ(kh_map_insert(NULL, "abc", "x"), KH_EINVAL);
    KH_CHECK_EQ(kh_map_remove(&m, NULL, NULL, NULL), KH_EINVAL);
    KH_CHECK(kh_map_get(&m, NULL) == NULL);
    KH_CHECK(kh_map_emplace(&m, NULL, NULL) == NULL);
    KH_CHECK(!kh_map_lower_bound(&m, NULL, &it));
    KH_CHECK(!kh_map_first(NULL, &it));
    KH_CHECK(!kh_map_iter_next(NULL));
    KH_CHECK(!kh_map_iter_prev(NULL));
    KH_CHECK_EQ(kh_map_len(NULL), 0);
    KH_CHECK_EQ(kh_map_len(&m), 3);
    kh_map_destroy(&m);
    kh_map_destroy(NULL);
    /* failing allocator: nothing inserted, nothing broken */
    KH_ASSERT_EQ(kh_map_init(&m, kh_failing_allocator(), 4, 4, NULL, NULL), 0);
    KH_CHECK_EQ(kh_map_insert(&m, "abcd", "efgh"), KH_ENOMEM);
    KH_CHECK_EQ(kh_map_len(&m), 0);
    KH_CHECK_EQ(kh_map_check(&m), 0);
    coll_heap_empty(h);
    /* comparators */
    int64_t x = -5, y = 3;
    KH_CHECK(kh_map_cmp_i64(&x, &y, NULL) < 0 && kh_map_cmp_i64(&y, &x, NULL) > 0);
    int32_t p = -5, q = 3;
    KH_CHECK(kh_map_cmp_i32(&p, &q, NULL) < 0 && kh_map_cmp_i32(&p, &p, NULL) == 0);
    uint32_t r = 7, s = 0xffffffffu;
    KH_CHECK(kh_map_cmp_u32(&r, &s, NULL) < 0);
    size_t z1 = 1, z2 = 2;
    KH_CHECK(kh_map_cmp_size(&z2, &z1, NULL) > 0);
}

/* ---- differential test against a sorted array ---- */

#define MAP_REF_MAX 2048
#define BIGV        120 /* value bytes in the wide variant: B = 2, deep trees */

struct map_ref {
    uint32_t keys[MAP_REF_MAX];
    uint32_t vals[MAP_REF_MAX];
    size_t n;
};
static struct map_ref map_ref_buf;

/* First index with keys[i] >= k. */
static size_t ref_lb(const struct map_ref *r, uint32_t k)
{
    size_t lo = 0, hi = r->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (r->keys[mid] < k)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* The map's value for a key: the first 4 bytes (wide values repeat them). */
static uint32_t map_val32(const void *v)
{
    uint32_t x;
    memcpy(&x, v, 4);
    return x;
}

static void make_val(unsigned char *buf, size_t vs, uint32_t v)
{
    for (size_t i = 0; i < vs; i += 4) memcpy(buf + i, &v, vs - i < 4 ? vs - i : 4);
}

static bool map_matches(const struct kh_map *m, const struct map_ref *r)
{
    if (kh_map_len(m) != r->n || kh_map_check(m) != 0) return false;
    struct kh_map_iter it;
    size_t i = 0;
    for (bool ok = kh_map_first(m, &it); ok; ok = kh_map_iter_next(&it), i++) {
        if (i >= r->n) return false;
        if (map_val32(kh_map_iter_key(&it)) != r->keys[i]) return false;
        if (map_val32(kh_map_iter_val(&it)) != r->vals[i]) return false;
    }
    if (i != r->n) return false;
    for (bool ok = kh_map_last(m, &it); ok; ok = kh_map_iter_prev(&it)) {
        if (i == 0 || map_val32(kh_map_iter_key(&it)) != r->keys[--i]) return false;
    }
    return i == 0;
}

static void map_diff_round(kheap *h, size_t vs, uint32_t range, size_t ops)
{
    struct map_ref *r = &map_ref_buf;
    unsigned char vbuf[BIGV], obuf[BIGV];
    struct kh_map m;
    KH_ASSERT_EQ(kh_map_init(&m, kheap_allocator(h), 4, vs, kh_map_cmp_u32, NULL), 0);
    r->n = 0;
    for (size_t op = 0; op < ops; op++) {
        uint32_t k = (uint32_t)kh_test_rand_range(0, range - 1) * 3;
        uint32_t v = (uint32_t)kh_test_rand();
        size_t j = ref_lb(r, k);
        bool present = j < r->n && r->keys[j] == k;
        make_val(vbuf, vs, v);
        switch (kh_test_rand_range(0, 9)) {
        case 0:
        case 1:
        case 2:
        case 3:
            KH_ASSERT_EQ(kh_map_insert(&m, &k, vbuf), 0);
            if (!present) {
                memmove(&r->keys[j + 1], &r->keys[j], (r->n - j) * 4);
                memmove(&r->vals[j + 1], &r->vals[j], (r->n - j) * 4);
                r->keys[j] = k;
                r->n++;
            }
            r->vals[j] = v;
            break;
        case 4:
        case 5:
        case 6: {
            uint32_t ko = 0;
            int rc = kh_map_remove(&m, &k, &ko, obuf);
            if (!present) {
                KH_ASSERT_EQ(rc, KH_ENOENT);
                break;
            }
            KH_ASSERT_EQ(rc, 0);
            KH_ASSERT_EQ(ko, k);
            KH_ASSERT_EQ(map_val32(obuf), r->vals[j]);
            memmove(&r->keys[j], &r->keys[j + 1], (r->n - j - 1) * 4);
            memmove(&r->vals[j], &r->vals[j + 1], (r->n - j - 1) * 4);
            r->n--;
            break;
        }
        case 7: { /* lower_bound / upper_bound of a key that may be absent */
            uint32_t q = k + (uint32_t)kh_test_rand_range(0, 2) - 1;
            struct kh_map_iter it;
            size_t lb = ref_lb(r, q);
            bool got = kh_map_lower_bound(&m, &q, &it);
            KH_ASSERT_EQ(got, lb < r->n);
            if (got) KH_ASSERT_EQ(map_val32(kh_map_iter_key(&it)), r->keys[lb]);
            size_t ub = lb < r->n && r->keys[lb] == q ? lb + 1 : lb;
            got = kh_map_upper_bound(&m, &q, &it);
            KH_ASSERT_EQ(got, ub < r->n);
            if (got) {
                KH_ASSERT_EQ(map_val32(kh_map_iter_key(&it)), r->keys[ub]);
                /* one step back is the last key <= q */
                bool back = kh_map_iter_prev(&it);
                KH_ASSERT_EQ(back, ub > 0);
                if (back) KH_ASSERT_EQ(map_val32(kh_map_iter_key(&it)), r->keys[ub - 1]);
            }
            break;
        }
        default: {
            const void *p = kh_map_get(&m, &k);
            KH_ASSERT_EQ(p != NULL, present);
            if (p) KH_ASSERT_EQ(map_val32(p), r->vals[j]);
        }
        }
        if (op % 8192 == 0) KH_ASSERT(map_matches(&m, r));
    }
    KH_ASSERT(map_matches(&m, r));
    kh_map_destroy(&m);
    coll_heap_empty(h);
}

KH_TEST(map_differential_vs_sorted_array)
{
    kheap *h = coll_heap(8u << 20, NULL);
    KH_ASSERT(h);
    map_diff_round(h, 4, 40, kh_test_iters(60000));     /* tiny: root splits and merges */
    map_diff_round(h, 4, 2000, kh_test_iters(250000));  /* B = 8, three levels */
    map_diff_round(h, BIGV, 600, kh_test_iters(80000)); /* B = 2: deep, many rebalances */
}

/* Sequential and reverse fills as large as the arena allows. */
KH_TEST(map_large_sequential)
{
    size_t bytes;
    kheap *h = coll_heap(32u << 20, &bytes);
    KH_ASSERT(h);
    u64tree t;
    KH_ASSERT_EQ(u64tree_init(&t, kheap_allocator(h)), 0);
    /* nodes at least half full: < 64 bytes per entry */
    size_t n = bytes / 64 / 2;
    if (n > 200000) n = 200000;
    n = kh_test_iters(n);
    for (uint64_t i = 0; i < n; i++) KH_ASSERT_EQ(u64tree_insert(&t, n - i, i), 0);
    KH_CHECK_EQ(u64tree_len(&t), n);
    KH_CHECK_EQ(u64tree_check(&t), 0);
    struct kh_map_iter it;
    uint64_t expect = 1;
    for (bool ok = u64tree_first(&t, &it); ok; ok = kh_map_iter_next(&it), expect++)
        KH_ASSERT_EQ(*u64tree_key(&it), expect);
    KH_CHECK_EQ(expect, n + 1);
    for (uint64_t i = 1; i <= n; i += 2) KH_ASSERT_EQ(u64tree_remove(&t, i, NULL), 0);
    KH_CHECK_EQ(u64tree_check(&t), 0);
    u64tree_destroy(&t);
    coll_heap_empty(h);
}

/* Fail the k-th allocation of an insert/remove sequence, for every k. */
KH_TEST(map_fault_injection)
{
    kheap *h = coll_heap(1 << 20, NULL);
    KH_ASSERT(h);
    struct kh_fault f;
    kh_fault_init(&f, kheap_allocator(h));
    struct map_ref *r = &map_ref_buf;
    const size_t vs_list[] = {4, BIGV};
    for (int variant = 0; variant < 2; variant++) {
        size_t vs = vs_list[variant];
        unsigned char vbuf[BIGV];
        for (unsigned long long k = 1;; k++) {
            struct kh_map m;
            KH_ASSERT_EQ(kh_map_init(&m, kh_fault_allocator(&f), 4, vs, kh_map_cmp_u32, NULL), 0);
            r->n = 0;
            kh_fault_fail_nth(&f, k);
            kh_test_srand(k);
            unsigned failures = 0;
            for (size_t op = 0; op < 400; op++) {
                uint32_t key = (uint32_t)kh_test_rand_range(0, 299);
                size_t j = ref_lb(r, key);
                bool present = j < r->n && r->keys[j] == key;
                if (kh_test_rand_range(0, 3) != 0) {
                    make_val(vbuf, vs, (uint32_t)op);
                    int rc = kh_map_insert(&m, &key, vbuf);
                    if (rc) {
                        KH_ASSERT_EQ(rc, KH_ENOMEM);
                        failures++;
                        KH_ASSERT(map_matches(&m, r)); /* unchanged, still valid */
                        continue;
                    }
                    if (!present) {
                        memmove(&r->keys[j + 1], &r->keys[j], (r->n - j) * 4);
                        memmove(&r->vals[j + 1], &r->vals[j], (r->n - j) * 4);
                        r->keys[j] = key;
                        r->n++;
                    }
                    r->vals[j] = (uint32_t)op;
                } else {
                    KH_ASSERT_EQ(kh_map_remove(&m, &key, NULL, NULL), present ? 0 : KH_ENOENT);
                    if (present) {
                        memmove(&r->keys[j], &r->keys[j + 1], (r->n - j - 1) * 4);
                        memmove(&r->vals[j], &r->vals[j + 1], (r->n - j - 1) * 4);
                        r->n--;
                    }
                }
            }
            KH_ASSERT(map_matches(&m, r));
            KH_ASSERT_EQ(failures, f.failures);
            kh_map_destroy(&m);
            KH_ASSERT_EQ(f.live_blocks, 0);
            KH_ASSERT_EQ(f.live_bytes, 0);
            coll_heap_empty(h);
            if (f.failures == 0) break;
            KH_ASSERT(k < 5000);
        }
    }
}

/* A failed insert that needed several splits (full path + new root) frees
 * every node it reserved and changes nothing. */
KH_TEST(map_fault_multi_split)
{
    kheap *h = coll_heap(1 << 20, NULL);
    KH_ASSERT(h);
    struct kh_fault f;
    kh_fault_init(&f, kheap_allocator(h));
    struct kh_map m;
    unsigned char v[BIGV] = {0};
    KH_ASSERT_EQ(kh_map_init(&m, kh_fault_allocator(&f), 4, BIGV, kh_map_cmp_u32, NULL), 0);
    KH_ASSERT_EQ(m.b, 2);
    /* Ascending inserts with B = 2 leave the right spine full at times:
     * find a key whose insert needs >= 3 nodes, then fail each of them. */
    size_t tested = 0;
    for (uint32_t key = 0; key < 4000 && tested < 3; key++) {
        size_t before = f.live_blocks;
        for (unsigned long long k = 1;; k++) {
            kh_fault_fail_nth(&f, k);
            int rc = kh_map_insert(&m, &key, v);
            if (rc == 0) {
                KH_ASSERT_EQ(f.failures, 0);
                if (k - 1 >= 3) tested++; /* needed >= 3 nodes, each failure tried */
                break;
            }
            KH_ASSERT_EQ(rc, KH_ENOMEM);
            KH_ASSERT_EQ(f.live_blocks, before); /* every reserved node freed */
            KH_ASSERT(!kh_map_contains(&m, &key));
            KH_ASSERT_EQ(kh_map_len(&m), key);
            KH_ASSERT_EQ(kh_map_check(&m), 0);
            KH_ASSERT(k < 100);
        }
        kh_fault_off(&f);
    }
    KH_CHECK_EQ(tested, 3);
    kh_map_destroy(&m);
    KH_CHECK_EQ(f.live_blocks, 0);
    coll_heap_empty(h);
}
