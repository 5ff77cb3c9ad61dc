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

/* ---- SipHash and hostile keys ---- */

/* SipHash-2-4 with the key 00 01 .. 0f over the messages 00, 00 01, ..,
 * 00 01 .. 3e (lengths 0 to 63): the reference test vectors published with
 * the SipHash paper (Aumasson and Bernstein, 2012; entry 15 is the paper's
 * worked example in its appendix A). */
static const uint64_t sip24_vectors[64] = {
    0x726fdb47dd0e0e31ull, 0x74f839c593dc67fdull, 0x0d6c8009d9a94f5aull, 0x85676696d7fb7e2dull,
    0xcf2794e0277187b7ull, 0x18765564cd99a68dull, 0xcbc9466e58fee3ceull, 0xab0200f58b01d137ull,
    0x93f5f5799a932462ull, 0x9e0082df0ba9e4b0ull, 0x7a5dbbc594ddb9f3ull, 0xf4b32f46226bada7ull,
    0x751e8fbc860ee5fbull, 0x14ea5627c0843d90ull, 0xf723ca908e7af2eeull, 0xa129ca6149be45e5ull,
    0x3f2acc7f57c29bdbull, 0x699ae9f52cbe4794ull, 0x4bc1b3f0968dd39cull, 0xbb6dc91da77961bdull,
    0xbed65cf21aa2ee98ull, 0xd0f2cbb02e3b67c7ull, 0x93536795e3a33e88ull, 0xa80c038ccd5ccec8ull,
    0xb8ad50c6f649af94ull, 0xbce192de8a85b8eaull, 0x17d835b85bbb15f3ull, 0x2f2e6163076bcfadull,
    0xde4daaaca71dc9a5ull, 0xa6a2506687956571ull, 0xad87a3535c49ef28ull, 0x32d892fad841c342ull,
    0x7127512f72f27cceull, 0xa7f32346f95978e3ull, 0x12e0b01abb051238ull, 0x15e034d40fa197aeull,
    0x314dffbe0815a3b4ull, 0x027990f029623981ull, 0xcadcd4e59ef40c4dull, 0x9abfd8766a33735cull,
    0x0e3ea96b5304a7d0ull, 0xad0c42d6fc585992ull, 0x187306c89bc215a9ull, 0xd4a60abcf3792b95ull,
    0xf935451de4f21df2ull, 0xa9538f0419755787ull, 0xdb9acddff56ca510ull, 0xd06c98cd5c0975ebull,
    0xe612a3cb9ecba951ull, 0xc766e62cfcadaf96ull, 0xee64435a9752fe72ull, 0xa192d576b245165aull,
    0x0a8787bf8ecb74b2ull, 0x81b3e73d20b49b6full, 0x7fa8220ba3b2eceaull, 0x245731c13ca42499ull,
    0xb78dbfaf3a8d83bdull, 0xea1ad565322a1a0bull, 0x60e61c23a3795013ull, 0x6606d7e446282b93ull,
    0x6ca4ecb15c5f91e1ull, 0x9f626da15c9625f3ull, 0xe51b38608ef25f57ull, 0x958a324ceb064572ull,
};

KH_TEST(hashmap_siphash_reference_vectors)
{
    unsigned char msg[64];
    for (unsigned i = 0; i < 64; i++) msg[i] = (unsigned char)i;
    /* The key bytes 00 .. 0f, read little-endian as the paper does. */
    const uint64_t k0 = 0x0706050403020100ull, k1 = 0x0f0e0d0c0b0a0908ull;
    for (size_t n = 0; n < 64; n++) KH_CHECK_EQ(kh_siphash24(msg, n, k0, k1), sip24_vectors[n]);
    /* SipHash-1-3 is the same code with fewer rounds; with the all-zero key
     * the empty message gives the value other implementations publish. */
    KH_CHECK_EQ(kh_siphash13("", 0, 0, 0), 0xd1fba762150c532cull);
    /* Every input bit and every key bit matters. */
    uint64_t base = kh_siphash13(msg, 40, k0, k1);
    KH_CHECK(base != kh_siphash24(msg, 40, k0, k1));
    for (unsigned bit = 0; bit < 40 * 8; bit += 7) {
        msg[bit / 8] ^= (unsigned char)(1u << (bit % 8));
        KH_CHECK(kh_siphash13(msg, 40, k0, k1) != base);
        msg[bit / 8] ^= (unsigned char)(1u << (bit % 8));
    }
    for (unsigned bit = 0; bit < 64; bit += 5) {
        KH_CHECK(kh_siphash13(msg, 40, k0 ^ (1ull << bit), k1) != base);
        KH_CHECK(kh_siphash13(msg, 40, k0, k1 ^ (1ull << bit)) != base);
    }
}

KH_TEST(hashmap_each_map_has_its_own_key)
{
    kheap *h = coll_heap(1 << 16, NULL);
    KH_ASSERT(h);
    struct kh_hashmap a, b;
    KH_ASSERT_EQ(kh_hashmap_init(&a, kheap_allocator(h), 8, 8, NULL, NULL, NULL), 0);
    KH_ASSERT_EQ(kh_hashmap_init(&b, kheap_allocator(h), 8, 8, NULL, NULL, NULL), 0);
    /* Drawn from the port's entropy hook: even the weak bare-metal mixes
     * differ from call to call. */
    KH_CHECK(a.key[0] != b.key[0] || a.key[1] != b.key[1]);
    /* An explicit key makes the table reproducible: same key, same inserts,
     * same slots. */
    KH_CHECK_EQ(kh_hashmap_set_key(&a, 11, 22), 0);
    KH_CHECK_EQ(kh_hashmap_set_key(&b, 11, 22), 0);
    for (uint64_t i = 0; i < 100; i++) {
        KH_ASSERT_EQ(kh_hashmap_insert(&a, &i, &i), 0);
        KH_ASSERT_EQ(kh_hashmap_insert(&b, &i, &i), 0);
    }
    KH_ASSERT_EQ(a.cap, b.cap);
    KH_CHECK(memcmp(a.meta, b.meta, a.cap * sizeof *a.meta) == 0);
    KH_CHECK_EQ(kh_hashmap_set_key(&a, 1, 2), KH_EBUSY); /* not while holding entries */
    KH_CHECK_EQ(kh_hashmap_set_key(NULL, 1, 2), KH_EINVAL);
    kh_hashmap_destroy(&a);
    kh_hashmap_destroy(&b);
    coll_heap_empty(h);
}

/* Keys crafted against kh_hash_bytes. Each of its 8-byte words w goes
 * through h' = g(h ^ f(w)), f(w) = rotl(w * K2, 31) * K1 and
 * g(x) = rotl(x, 27) * 5 + C, all bijections. Flipping bit 36 of f(w1) flips
 * bit 63 of rotl(h ^ f(w1), 27) whatever h is, and adding 2^63 before the
 * multiply by 5 and the add of C flips bit 63 of the result and nothing
 * else (no carry leaves the top bit). Flipping bit 63 of f(w2) in the next
 * word cancels it: the two-word blocks (w1, w2) and (w1', w2') with
 * f(w1') = f(w1) ^ 2^36, f(w2') = f(w2) ^ 2^63 leave the same state for
 * every state before them, so for every seed. t such blocks, each taken
 * one way or the other, give 2^t keys of 16t bytes with one hash. */
#define FLOOD_K1 0x9E3779B97F4A7C15ull
#define FLOOD_K2 0xC2B2AE3D27D4EB4Full

static uint64_t flood_inv(uint64_t a) /* a^-1 mod 2^64, a odd (Newton) */
{
    uint64_t x = a;
    for (int i = 0; i < 5; i++) x *= 2 - a * x;
    return x;
}

static uint64_t flood_rotl(uint64_t x, unsigned r)
{
    return (x << r) | (x >> (64 - r));
}

static uint64_t flood_f(uint64_t w)
{
    return flood_rotl(w * FLOOD_K2, 31) * FLOOD_K1;
}

static uint64_t flood_f_inv(uint64_t y)
{
    return flood_rotl(y * flood_inv(FLOOD_K1), 33) * flood_inv(FLOOD_K2);
}

/* Key i (bit j picks block j's variant) into out[16 * t]; words in the CPU's
 * byte order, as kh_hash_bytes reads them. */
static void flood_key(unsigned char *out, unsigned t, uint32_t i)
{
    for (unsigned j = 0; j < t; j++) {
        uint64_t w1 = 0x1000 + j, w2 = 0x5eed0000 + 3 * j;
        if ((i >> j) & 1) {
            w1 = flood_f_inv(flood_f(w1) ^ (1ull << 36));
            w2 = flood_f_inv(flood_f(w2) ^ (1ull << 63));
        }
        memcpy(out + 16 * j, &w1, 8);
        memcpy(out + 16 * j + 8, &w2, 8);
    }
}

static uint64_t old_hash(const void *k, void *ctx)
{
    return kh_hash_bytes(k, 16 * 10, (uint64_t)(uintptr_t)ctx);
}

static uint32_t max_probe(const struct kh_hashmap *m)
{
    uint32_t worst = 0;
    for (size_t i = 0; i < m->cap; i++)
        if (m->meta[i].dist > worst) worst = m->meta[i].dist;
    return worst;
}

/* The structural guarantee behind flood resistance (timings are in make
 * bench): 1024 keys that all collide under kh_hash_bytes, for any seed, form
 * one probe run of 1024 there; under the default keyed SipHash they spread
 * like random keys, so every probe run stays short. */
KH_TEST(hashmap_crafted_keys_do_not_flood_the_default_hash)
{
    enum { T = 10, N = 1 << T, KEY = 16 * T };
    kheap *h = coll_heap(4u << 20, NULL);
    KH_ASSERT(h);
    kh_allocator a = kheap_allocator(h);
    unsigned char key[KEY];
    /* The crafted keys are distinct and collide under the old hash for
     * several seeds. */
    flood_key(key, T, 0);
    for (uint64_t seed = 0; seed < 3; seed++) {
        uint64_t want = kh_hash_bytes(key, KEY, seed * 0x9e3779b97f4a7c15ull);
        for (uint32_t i = 1; i < N; i += 37) {
            unsigned char other[KEY];
            flood_key(other, T, i);
            KH_CHECK(memcmp(other, key, KEY) != 0);
            KH_CHECK_EQ(kh_hash_bytes(other, KEY, seed * 0x9e3779b97f4a7c15ull), want);
        }
    }
    /* Old hash as the user hash: one run holding every key. */
    struct kh_hashmap m;
    KH_ASSERT_EQ(kh_hashmap_init(&m, a, KEY, 0, old_hash, NULL, (void *)(uintptr_t)12345), 0);
    for (uint32_t i = 0; i < N; i++) {
        flood_key(key, T, i);
        KH_ASSERT_EQ(kh_hashmap_insert(&m, key, NULL), 0);
    }
    KH_CHECK_EQ(kh_hashmap_len(&m), N);
    KH_CHECK_EQ(max_probe(&m), N);
    kh_hashmap_destroy(&m);
    /* The default hash, with the key drawn at init and with fixed keys:
     * short runs, every key found. */
    for (int round = 0; round < 3; round++) {
        KH_ASSERT_EQ(kh_hashmap_init(&m, a, KEY, 0, NULL, NULL, NULL), 0);
        if (round) KH_ASSERT_EQ(kh_hashmap_set_key(&m, (uint64_t)round, 0x0123456789abcdefull), 0);
        for (uint32_t i = 0; i < N; i++) {
            flood_key(key, T, i);
            KH_ASSERT_EQ(kh_hashmap_insert(&m, key, NULL), 0);
        }
        KH_CHECK_EQ(kh_hashmap_len(&m), N);
        /* 1024 random keys at load 1/2: the longest run is about 10; 32
         * would be a one-in-astronomical event. */
        KH_CHECK(max_probe(&m) <= 32);
        for (uint32_t i = 0; i < N; i++) {
            flood_key(key, T, i);
            KH_CHECK(kh_hashmap_contains(&m, key));
        }
        KH_CHECK_EQ(kh_hashmap_check(&m), 0);
        kh_hashmap_destroy(&m);
    }
    coll_heap_empty(h);
}
