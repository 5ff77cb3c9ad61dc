/* SPDX-License-Identifier: MIT */
/* Tests for the Robin Hood hash map (kheap/hashmap.h). */
#include <stdint.h>
#include <string.h>

#include "coll_env.h"
#include "kh_test.h"
#include "kheap/error.h"
#include "kheap/hashmap.h"
#include "kheap/heap.h"

KH_HASHMAP_DEFINE(u64map, uint64_t, uint64_t)
KH_HASHSET_DEFINE(u32set, uint32_t)

KH_TEST(hashmap_basic_ops)
{
    kheap *h = coll_heap(1 << 20, NULL);
    KH_ASSERT(h);
    u64map m;
    KH_ASSERT_EQ(u64map_init(&m, kheap_allocator(h)), 0);
    KH_CHECK_EQ(u64map_len(&m), 0);
    KH_CHECK(u64map_get(&m, 5) == NULL);
    KH_CHECK_EQ(u64map_remove(&m, 5, NULL), KH_ENOENT);
    KH_CHECK_EQ(u64map_check(&m), 0);
    for (uint64_t i = 0; i < 1000; i++) KH_ASSERT_EQ(u64map_insert(&m, i * 7, i), 0);
    KH_CHECK_EQ(u64map_len(&m), 1000);
    KH_CHECK_EQ(u64map_check(&m), 0);
    for (uint64_t i = 0; i < 1000; i++) {
        uint64_t *v = u64map_get(&m, i * 7);
        KH_ASSERT(v);
        KH_CHECK_EQ(*v, i);
        KH_CHECK(!u64map_contains(&m, i * 7 + 1));
    }
    /* replace keeps len */
    KH_CHECK_EQ(u64map_insert(&m, 14, 999), 0);
    KH_CHECK_EQ(*u64map_get(&m, 14), 999);
    KH_CHECK_EQ(u64map_len(&m), 1000);
    /* emplace */
    bool ins = false;
    uint64_t *v = u64map_emplace(&m, 14, &ins);
    KH_CHECK(v && !ins && *v == 999);
    v = u64map_emplace(&m, 123456789, &ins);
    KH_ASSERT(v);
    KH_CHECK(ins && *v == 0);
    *v = 42;
    KH_CHECK_EQ(*u64map_get(&m, 123456789), 42);
    /* remove with out-params */
    uint64_t out = 0, kout = 0;
    KH_CHECK_EQ(kh_hashmap_remove(&m.m, &(uint64_t){123456789}, &kout, &out), 0);
    KH_CHECK_EQ(out, 42);
    KH_CHECK_EQ(kout, 123456789);
    for (uint64_t i = 0; i < 1000; i += 2) KH_CHECK_EQ(u64map_remove(&m, i * 7, &out), 0);
    KH_CHECK_EQ(u64map_len(&m), 500);
    KH_CHECK_EQ(u64map_check(&m), 0);
    for (uint64_t i = 0; i < 1000; i++) KH_CHECK_EQ(u64map_contains(&m, i * 7), (i & 1) != 0);
    /* iteration visits each entry once */
    size_t it = 0, seen = 0;
    const uint64_t *k;
    uint64_t sum = 0;
    while (u64map_next(&m, &it, &k, &v)) {
        KH_CHECK_EQ(*k, *v * 7);
        sum += *v;
        seen++;
    }
    KH_CHECK_EQ(seen, 500);
    KH_CHECK_EQ(sum, 250000); /* 1 + 3 + ... + 999 */
    u64map_clear(&m);
    KH_CHECK_EQ(u64map_len(&m), 0);
    KH_CHECK(!u64map_contains(&m, 7));
    KH_CHECK_EQ(u64map_check(&m), 0);
    it = 0;
    KH_CHECK(!u64map_next(&m, &it, NULL, NULL));
    u64map_destroy(&m);
    coll_heap_empty(h);
    /* destroyed map is empty and reusable */
    KH_CHECK_EQ(u64map_insert(&m, 1, 2), 0);
    KH_CHECK_EQ(*u64map_get(&m, 1), 2);
    u64map_destroy(&m);
    coll_heap_empty(h);
}

KH_TEST(hashmap_set_and_reserve)
{
    kheap *h = coll_heap(1 << 20, NULL);
    KH_ASSERT(h);
    u32set s;
    KH_ASSERT_EQ(u32set_init(&s, kheap_allocator(h)), 0);
    KH_ASSERT_EQ(u32set_reserve(&s, 3000), 0);
    size_t cap = kh_hashmap_capacity(&s.m);
    KH_CHECK(cap >= 3000);
    for (uint32_t i = 0; i < 3000; i++) KH_ASSERT_EQ(u32set_insert(&s, i * 2654435761u), 0);
    KH_CHECK_EQ(kh_hashmap_capacity(&s.m), cap); /* no regrowth */
    KH_CHECK_EQ(u32set_insert(&s, 0), 0);        /* duplicate */
    KH_CHECK_EQ(u32set_len(&s), 3000);
    KH_CHECK(kh_hashmap_get(&s.m, &(uint32_t){0}) != NULL);
    KH_CHECK_EQ(u32set_remove(&s, 0), 0);
    KH_CHECK_EQ(u32set_remove(&s, 0), KH_ENOENT);
    KH_CHECK_EQ(u32set_check(&s), 0);
    size_t it = 0, n = 0;
    const uint32_t *k;
    while (u32set_next(&s, &it, &k)) {
        KH_CHECK(*k != 0);
        n++;
    }
    KH_CHECK_EQ(n, 2999);
    KH_CHECK_EQ(u32set_reserve(&s, SIZE_MAX), KH_EOVERFLOW);
    /* a table whose byte size wraps on 32-bit targets: refused, not truncated */
    KH_CHECK_EQ(u32set_reserve(&s, SIZE_MAX / 16), KH_EOVERFLOW);
    KH_CHECK_EQ(u32set_len(&s), 2999);
    KH_CHECK_EQ(u32set_check(&s), 0);
    u32set_destroy(&s);
    coll_heap_empty(h);
}

KH_TEST(hashmap_bad_input)
{
    kheap *h = coll_heap(1 << 16, NULL);
    KH_ASSERT(h);
    kh_allocator a = kheap_allocator(h);
    struct kh_hashmap m;
    KH_CHECK_EQ(kh_hashmap_init(NULL, a, 4, 4, NULL, NULL, NULL), KH_EINVAL);
    KH_CHECK_EQ(kh_hashmap_init(&m, a, 0, 4, NULL, NULL, NULL), KH_EINVAL);
    KH_CHECK_EQ(kh_hashmap_init(&m, a, SIZE_MAX, 4, NULL, NULL, NULL), KH_EINVAL);
    KH_CHECK_EQ(kh_hashmap_init(&m, a, 4, SIZE_MAX - 2, NULL, NULL, NULL), KH_EINVAL);
    kh_hashmap_destroy(&m); /* destroy after a failed init is safe */
    KH_ASSERT_EQ(kh_hashmap_init(&m, a, 4, 4, NULL, NULL, NULL), 0);
    KH_CHECK_EQ(kh_hashmap_insert(&m, NULL, NULL), KH_EINVAL);
    KH_CHECK_EQ(kh_hashmap_insert(NULL, "abcd", NULL), KH_EINVAL);
    KH_CHECK_EQ(kh_hashmap_remove(&m, NULL, NULL, NULL), KH_EINVAL);
    KH_CHECK(kh_hashmap_get(&m, NULL) == NULL);
    KH_CHECK(kh_hashmap_emplace(&m, NULL, NULL) == NULL);
    KH_CHECK_EQ(kh_hashmap_set_seed(&m, 1234), 0);
    KH_CHECK_EQ(kh_hashmap_insert(&m, "abcd", NULL), 0); /* NULL value: zeroes */
    uint32_t *v = kh_hashmap_get(&m, "abcd");
    KH_ASSERT(v);
    KH_CHECK_EQ(*v, 0);
    KH_CHECK_EQ(kh_hashmap_set_seed(&m, 99), KH_EBUSY);
    KH_CHECK_EQ(kh_hashmap_len(NULL), 0);
    kh_hashmap_destroy(&m);
    kh_hashmap_destroy(NULL);
    /* An allocator that always fails: inserts fail, map stays empty. */
    KH_ASSERT_EQ(kh_hashmap_init(&m, kh_failing_allocator(), 4, 4, NULL, NULL, NULL), 0);
    KH_CHECK_EQ(kh_hashmap_insert(&m, "abcd", "efgh"), KH_ENOMEM);
    KH_CHECK_EQ(kh_hashmap_len(&m), 0);
    KH_CHECK_EQ(kh_hashmap_check(&m), 0);
    kh_hashmap_destroy(&m);
    coll_heap_empty(h);
}

/* Keys with padding and a string part: user hash and eq over the meaningful
 * fields only. */
struct name_key {
    char name[13];
    int id;
};

static uint64_t name_hash(const void *k, void *ctx)
{
    const struct name_key *n = k;
    (void)ctx;
    size_t len = 0;
    while (len < sizeof n->name && n->name[len]) len++;
    return kh_hash_bytes(n->name, len, (uint64_t)n->id);
}

static bool name_eq(const void *a, const void *b, void *ctx)
{
    const struct name_key *x = a, *y = b;
    (void)ctx;
    return x->id == y->id && strncmp(x->name, y->name, sizeof x->name) == 0;
}

/* Every key collides: the map must stay correct, just slow. */
static uint64_t const_hash(const void *k, void *ctx)
{
    (void)k, (void)ctx;
    return 77;
}

/* The identity: its low bits are all zero for the keys below. */
static uint64_t identity_hash(const void *k, void *ctx)
{
    uint64_t x;
    (void)ctx;
    memcpy(&x, k, sizeof x);
    return x;
}

KH_TEST(hashmap_weak_user_hash_is_remixed)
{
    kheap *h = coll_heap(1 << 20, NULL);
    KH_ASSERT(h);
    struct kh_hashmap m;
    KH_ASSERT_EQ(kh_hashmap_init(&m, kheap_allocator(h), 8, 0, identity_hash, NULL, NULL), 0);
    for (uint64_t i = 0; i < 4000; i++)
        KH_ASSERT_EQ(kh_hashmap_insert(&m, &(uint64_t){i << 12}, NULL), 0);
    KH_CHECK_EQ(kh_hashmap_check(&m), 0);
    /* Without the remix every key would share one home slot (distances up
     * to 4000); with it, probe runs stay short. */
    uint32_t worst = 0;
    for (size_t i = 0; i < m.cap; i++)
        if (m.meta[i].dist > worst) worst = m.meta[i].dist;
    KH_CHECK(worst > 0 && worst < 40);
    kh_hashmap_destroy(&m);
    coll_heap_empty(h);
}

KH_TEST(hashmap_user_hash_and_collisions)
{
    kheap *h = coll_heap(1 << 20, NULL);
    KH_ASSERT(h);
    struct kh_hashmap m;
    KH_ASSERT_EQ(kh_hashmap_init(&m, kheap_allocator(h), sizeof(struct name_key), sizeof(double),
                                 name_hash, name_eq, NULL),
                 0);
    struct name_key k1, k2;
    memset(&k1, 0xAA, sizeof k1); /* garbage padding and tail */
    memset(&k2, 0x55, sizeof k2);
    strcpy(k1.name, "alpha");
    strcpy(k2.name, "alpha");
    k1.id = k2.id = 3;
    double d = 2.5;
    KH_ASSERT_EQ(kh_hashmap_insert(&m, &k1, &d), 0);
    double *got = kh_hashmap_get(&m, &k2);
    KH_ASSERT(got);
    KH_CHECK(*got == 2.5);
    KH_CHECK_EQ((uintptr_t)got % _Alignof(double), 0);
    k2.id = 4;
    KH_CHECK(kh_hashmap_get(&m, &k2) == NULL);
    kh_hashmap_destroy(&m);

    KH_ASSERT_EQ(kh_hashmap_init(&m, kheap_allocator(h), 8, 8, const_hash, NULL, NULL), 0);
    for (uint64_t i = 0; i < 300; i++) KH_ASSERT_EQ(kh_hashmap_insert(&m, &i, &i), 0);
    KH_CHECK_EQ(kh_hashmap_check(&m), 0);
    for (uint64_t i = 0; i < 300; i += 3) KH_CHECK_EQ(kh_hashmap_remove(&m, &i, NULL, NULL), 0);
    KH_CHECK_EQ(kh_hashmap_check(&m), 0);
    for (uint64_t i = 0; i < 300; i++) {
        uint64_t *v = kh_hashmap_get(&m, &i);
        if (i % 3 == 0) {
            KH_CHECK(v == NULL);
        } else {
            KH_ASSERT(v);
            KH_CHECK_EQ(*v, i);
        }
    }
    kh_hashmap_destroy(&m);
    coll_heap_empty(h);
}

KH_TEST(hashmap_default_hash_quality)
{
    /* Bijective integer hash; byte hash depends on length, seed, every byte. */
    KH_CHECK(kh_hash_u64(1, 0) != kh_hash_u64(2, 0));
    KH_CHECK(kh_hash_u64(1, 0) != kh_hash_u64(1, 1));
    unsigned char buf[32] = {0};
    uint64_t base = kh_hash_bytes(buf, 32, 0);
    KH_CHECK(base != kh_hash_bytes(buf, 31, 0));
    KH_CHECK(base != kh_hash_bytes(buf, 32, 1));
    KH_CHECK(kh_hash_bytes(buf, 0, 0) != kh_hash_bytes(buf, 1, 0));
    /* Avalanche: flipping any one input bit flips about half the output bits. */
    unsigned total = 0, flips = 0;
    for (int bit = 0; bit < 256; bit++) {
        buf[bit / 8] ^= (unsigned char)(1u << (bit % 8));
        uint64_t x = kh_hash_bytes(buf, 32, 0) ^ base;
        buf[bit / 8] ^= (unsigned char)(1u << (bit % 8));
        unsigned c = 0;
        while (x) {
            c += (unsigned)(x & 1);
            x >>= 1;
        }
        KH_CHECK(c >= 12 && c <= 52);
        flips += c;
        total += 64;
    }
    KH_CHECK(flips * 100 / total >= 45 && flips * 100 / total <= 55);
    /* Sequential integers spread over the low bits used to pick slots. */
    unsigned buckets[64] = {0};
    for (uint64_t i = 0; i < 6400; i++) {
        uint64_t h = kh_hash_bytes(&i, sizeof i, 0);
        buckets[h & 63]++;
    }
    for (int b = 0; b < 64; b++) KH_CHECK(buckets[b] > 50 && buckets[b] < 150);
}

/* ---- differential test against a linear list ---- */

struct hm_ref {
    uint32_t keys[1024];
    uint32_t vals[1024];
    size_t n;
};

static size_t ref_find(const struct hm_ref *r, uint32_t k)
{
    for (size_t i = 0; i < r->n; i++)
        if (r->keys[i] == k) return i;
    return SIZE_MAX;
}

static bool hm_matches(const struct kh_hashmap *m, const struct hm_ref *r)
{
    if (kh_hashmap_len(m) != r->n) return false;
    for (size_t i = 0; i < r->n; i++) {
        const uint32_t *v = kh_hashmap_get(m, &r->keys[i]);
        if (!v || *v != r->vals[i]) return false;
    }
    size_t it = 0, seen = 0;
    const void *k;
    void *v;
    while (kh_hashmap_next(m, &it, &k, &v)) {
        size_t j = ref_find(r, *(const uint32_t *)k);
        if (j == SIZE_MAX || r->vals[j] != *(uint32_t *)v) return false;
        seen++;
    }
    return seen == r->n;
}

static struct hm_ref hm_ref_buf;

KH_TEST(hashmap_differential_vs_list)
{
    size_t bytes;
    kheap *h = coll_heap(4u << 20, &bytes);
    KH_ASSERT(h);
    struct hm_ref *r = &hm_ref_buf;
    /* key ranges: tiny (many replaces), medium, up to the reference size */
    const uint32_t ranges[] = {16, 200, 1024};
    const size_t ops_per[] = {100000, 150000, 100000};
    for (int round = 0; round < 3; round++) {
        struct kh_hashmap m;
        KH_ASSERT_EQ(kh_hashmap_init(&m, kheap_allocator(h), 4, 4, NULL, NULL, NULL), 0);
        r->n = 0;
        size_t ops = kh_test_iters(ops_per[round]);
        uint32_t range = ranges[round];
        for (size_t op = 0; op < ops; op++) {
            uint32_t k = (uint32_t)kh_test_rand_range(0, range - 1) * 0x9E3779B1u;
            uint32_t v = (uint32_t)kh_test_rand();
            size_t j = ref_find(r, k);
            switch (kh_test_rand_range(0, 9)) {
            case 0:
            case 1:
            case 2:
            case 3: /* insert / replace */
                KH_ASSERT_EQ(kh_hashmap_insert(&m, &k, &v), 0);
                if (j == SIZE_MAX) {
                    r->keys[r->n] = k;
                    r->vals[r->n++] = v;
                } else {
                    r->vals[j] = v;
                }
                break;
            case 4:
            case 5:
            case 6: { /* remove */
                uint32_t out = 0;
                int rc = kh_hashmap_remove(&m, &k, NULL, &out);
                if (j == SIZE_MAX) {
                    KH_ASSERT_EQ(rc, KH_ENOENT);
                } else {
                    KH_ASSERT_EQ(rc, 0);
                    KH_ASSERT_EQ(out, r->vals[j]);
                    r->keys[j] = r->keys[--r->n];
                    r->vals[j] = r->vals[r->n];
                }
                break;
            }
            case 7: { /* emplace */
                bool ins;
                uint32_t *p = kh_hashmap_emplace(&m, &k, &ins);
                KH_ASSERT(p);
                KH_ASSERT_EQ(ins, j == SIZE_MAX);
                if (ins) {
                    KH_ASSERT_EQ(*p, 0);
                    r->keys[r->n] = k;
                    r->vals[r->n++] = v;
                } else {
                    KH_ASSERT_EQ(*p, r->vals[j]);
                    r->vals[j] = v;
                }
                *p = v;
                break;
            }
            default: { /* lookup */
                const uint32_t *p = kh_hashmap_get(&m, &k);
                if (j == SIZE_MAX) {
                    KH_ASSERT(p == NULL);
                } else {
                    KH_ASSERT(p != NULL);
                    KH_ASSERT_EQ(*p, r->vals[j]);
                }
            }
            }
            if (op % 4096 == 0) {
                KH_ASSERT_EQ(kh_hashmap_check(&m), 0);
                KH_ASSERT(hm_matches(&m, r));
            }
        }
        KH_ASSERT_EQ(kh_hashmap_check(&m), 0);
        KH_ASSERT(hm_matches(&m, r));
        kh_hashmap_destroy(&m);
        coll_heap_empty(h);
    }
}

/* Grow to as many entries as the arena allows, shrink back: sized by bytes. */
KH_TEST(hashmap_large_grow)
{
    size_t bytes;
    kheap *h = coll_heap(64u << 20, &bytes);
    KH_ASSERT(h);
    u64map m;
    KH_ASSERT_EQ(u64map_init(&m, kheap_allocator(h)), 0);
    /* 16 bytes a slot; the old and new table coexist during a resize. */
    size_t n = kh_test_iters(bytes / 16 / 4);
    if (n > 200000) n = kh_test_iters(200000);
    for (uint64_t i = 0; i < n; i++) KH_ASSERT_EQ(u64map_insert(&m, i, ~i), 0);
    KH_CHECK_EQ(u64map_len(&m), n);
    KH_CHECK_EQ(u64map_check(&m), 0);
    for (uint64_t i = 0; i < n; i++) {
        uint64_t *v = u64map_get(&m, i);
        KH_ASSERT(v && *v == ~i);
    }
    for (uint64_t i = 0; i < n; i++) KH_ASSERT_EQ(u64map_remove(&m, i, NULL), 0);
    KH_CHECK_EQ(u64map_len(&m), 0);
    KH_CHECK_EQ(u64map_check(&m), 0);
    u64map_destroy(&m);
    coll_heap_empty(h);
}

/* Fail the k-th allocation of an insert/remove sequence for every k. */
KH_TEST(hashmap_fault_injection)
{
    kheap *h = coll_heap(1 << 20, NULL);
    KH_ASSERT(h);
    struct kh_fault f;
    kh_fault_init(&f, kheap_allocator(h));
    struct hm_ref *r = &hm_ref_buf;
    const size_t nops = 600;
    for (unsigned long long k = 1;; k++) {
        struct kh_hashmap m;
        KH_ASSERT_EQ(kh_hashmap_init(&m, kh_fault_allocator(&f), 4, 4, NULL, NULL, NULL), 0);
        r->n = 0;
        kh_fault_fail_nth(&f, k);
        kh_test_srand(k);
        unsigned failures = 0;
        for (size_t op = 0; op < nops; op++) {
            uint32_t key = (uint32_t)kh_test_rand_range(0, 499), v = (uint32_t)op;
            size_t j = ref_find(r, key);
            if (kh_test_rand_range(0, 3) != 0) {
                int rc = op % 50 == 49 ? kh_hashmap_reserve(&m, r->n + 100)
                                       : kh_hashmap_insert(&m, &key, &v);
                if (rc) {
                    KH_ASSERT_EQ(rc, KH_ENOMEM);
                    failures++;
                    KH_ASSERT_EQ(kh_hashmap_check(&m), 0);
                    KH_ASSERT(hm_matches(&m, r)); /* exactly what it held */
                    continue;
                }
                if (op % 50 == 49) continue;
                if (j == SIZE_MAX) {
                    r->keys[r->n] = key;
                    r->vals[r->n++] = v;
                } else {
                    r->vals[j] = v;
                }
            } else {
                int rc = kh_hashmap_remove(&m, &key, NULL, NULL);
                KH_ASSERT_EQ(rc, j == SIZE_MAX ? KH_ENOENT : 0);
                if (j != SIZE_MAX) {
                    r->keys[j] = r->keys[--r->n];
                    r->vals[j] = r->vals[r->n];
                }
            }
        }
        KH_ASSERT_EQ(kh_hashmap_check(&m), 0);
        KH_ASSERT(hm_matches(&m, r));
        KH_ASSERT_EQ(failures, f.failures);
        kh_hashmap_destroy(&m);
        KH_ASSERT_EQ(f.live_blocks, 0);
        KH_ASSERT_EQ(f.live_bytes, 0);
        coll_heap_empty(h);
        if (f.failures == 0) break; /* k passed the last allocation */
        KH_ASSERT(k < 1000);
    }
}
