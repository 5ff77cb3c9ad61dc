/* SPDX-License-Identifier: MIT */
/* kheap benchmark: collections on the core heap vs the system malloc, and
 * the hash map under keys crafted to flood the old default hash.
 *
 * The same collection code runs over two kh_allocators: the core heap on the
 * pre-touched arena, and glibc malloc behind the interface (resize in place
 * is not something malloc offers, so it answers false and growth moves, as
 * the interface's contract says).
 */
#include "kb_coll.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kb_util.h"
#include "kheap/hashmap.h"
#include "kheap/heap.h"
#include "kheap/map.h"
#include "kheap/vec.h"

static void *mal_alloc(void *ctx, size_t size, size_t align, unsigned flags)
{
    (void)ctx;
    void *p = NULL;
    if (align <= 2 * sizeof(void *))
        p = malloc(size ? size : 1);
    else if (posix_memalign(&p, align, size ? size : 1) != 0)
        p = NULL;
    if (p && (flags & KH_GFP_ZERO)) memset(p, 0, size);
    return p;
}
static bool mal_resize(void *ctx, void *p, size_t old, size_t size, size_t align)
{
    (void)ctx;
    (void)p;
    (void)align;
    return size <= old; /* shrinking keeps the block; growing would move */
}
static void mal_free(void *ctx, void *p, size_t size, size_t align)
{
    (void)ctx;
    (void)size;
    (void)align;
    free(p);
}
static const kh_allocator_ops mal_ops = {mal_alloc, mal_resize, mal_free, NULL};

struct coll_res {
    double vec_push, map_insert, map_lookup, hash_insert, hash_lookup;
};

static void one(kh_allocator a, size_t nvec, size_t nkeys, struct coll_res *r)
{
    struct kh_vec v;
    double t0 = kb_cpu_now();
    kh_vec_init(&v, a, sizeof(int));
    for (size_t i = 0; i < nvec; i++) {
        int x = (int)i;
        if (kh_vec_push(&v, &x) != 0) exit(3);
    }
    r->vec_push = kb_cpu_now() - t0;
    kh_vec_destroy(&v);

    struct kh_map om;
    kb_rng rng = kb_seed(7);
    kh_map_init(&om, a, sizeof(uint64_t), sizeof(uint64_t), kh_map_cmp_u64, NULL);
    t0 = kb_cpu_now();
    for (size_t i = 0; i < nkeys; i++) {
        uint64_t k = kb_next(&rng), val = i;
        if (kh_map_insert(&om, &k, &val) != 0) exit(3);
    }
    r->map_insert = kb_cpu_now() - t0;
    rng = kb_seed(7);
    uint64_t osum = 0;
    t0 = kb_cpu_now();
    for (size_t i = 0; i < nkeys; i++) {
        uint64_t k = kb_next(&rng);
        const uint64_t *val = kh_map_get(&om, &k);
        if (!val) exit(3);
        osum += *val;
    }
    r->map_lookup = kb_cpu_now() - t0;
    if (osum != (uint64_t)nkeys * (nkeys - 1) / 2) exit(3);
    kh_map_destroy(&om);

    struct kh_hashmap m;
    rng = kb_seed(7);
    kh_hashmap_init(&m, a, sizeof(uint64_t), sizeof(uint64_t), NULL, NULL, NULL);
    t0 = kb_cpu_now();
    for (size_t i = 0; i < nkeys; i++) {
        uint64_t k = kb_next(&rng), val = i;
        if (kh_hashmap_insert(&m, &k, &val) != 0) exit(3);
    }
    r->hash_insert = kb_cpu_now() - t0;
    rng = kb_seed(7);
    uint64_t sum = 0;
    t0 = kb_cpu_now();
    for (size_t i = 0; i < nkeys; i++) {
        uint64_t k = kb_next(&rng);
        const uint64_t *val = kh_hashmap_get(&m, &k);
        if (!val) exit(3);
        sum += *val;
    }
    r->hash_lookup = kb_cpu_now() - t0;
    if (sum != (uint64_t)nkeys * (nkeys - 1) / 2) exit(3);
    kh_hashmap_destroy(&m);
}

/* ---- hash flooding ----
 * Keys crafted against kh_hash_bytes (the map's default hash before SipHash):
 * each 8-byte word w goes through h' = g(h ^ f(w)) with the bijections
 * f(w) = rotl(w * K2, 31) * K1 and g(x) = rotl(x, 27) * 5 + C. Flipping bit
 * 36 of f(w1) flips only bit 63 of g's output, whatever the state (adding
 * 2^63 carries out of the word), and flipping bit 63 of f(w2) in the next
 * word cancels it. So the two-word blocks (w1, w2) and (w1', w2'), with
 * f(w1') = f(w1) ^ 2^36 and f(w2') = f(w2) ^ 2^63, lead to the same state
 * from every state, for every seed: FLOOD_T blocks chosen either way give
 * 2^FLOOD_T keys of 16 FLOOD_T bytes with one 64-bit hash. */
#define FLOOD_T   17 /* 131072 keys of 272 bytes */
#define FLOOD_KEY (16 * FLOOD_T)
#define FLOOD_K1  0x9E3779B97F4A7C15ull
#define FLOOD_K2  0xC2B2AE3D27D4EB4Full

static uint64_t fl_rotl(uint64_t x, unsigned r)
{
    return (x << r) | (x >> (64 - r));
}

static uint64_t fl_inv(uint64_t a) /* a^-1 mod 2^64 for odd a (Newton) */
{
    uint64_t x = a;
    for (int i = 0; i < 5; i++) x *= 2 - a * x;
    return x;
}

static uint64_t fl_f(uint64_t w)
{
    return fl_rotl(w * FLOOD_K2, 31) * FLOOD_K1;
}

static uint64_t fl_f_inv(uint64_t y)
{
    return fl_rotl(y * fl_inv(FLOOD_K1), 33) * fl_inv(FLOOD_K2);
}

/* Crafted key i: block j is (w1, w2) or its twin, as bit j of i says. */
static void fl_crafted(unsigned char *out, uint32_t i)
{
    for (unsigned j = 0; j < FLOOD_T; j++) {
        uint64_t w1 = 0x1000 + j, w2 = 0x5eed0000 + 3 * j;
        if ((i >> j) & 1) {
            w1 = fl_f_inv(fl_f(w1) ^ (1ull << 36));
            w2 = fl_f_inv(fl_f(w2) ^ (1ull << 63));
        }
        memcpy(out + 16 * j, &w1, 8);
        memcpy(out + 16 * j + 8, &w2, 8);
    }
}

static uint64_t fl_old_hash(const void *k, void *ctx)
{
    return kh_hash_bytes(k, FLOOD_KEY, (uint64_t)(uintptr_t)ctx);
}

/* Insert then look up n keys of keys[]; CPU seconds of each phase. */
static void fl_run(kh_allocator a, bool old, const unsigned char *keys, size_t n, double *ins,
                   double *look)
{
    struct kh_hashmap m;
    kb_rng rng = kb_seed(n);
    /* The old hash with a random seed: the seed does not help against it. */
    if (kh_hashmap_init(&m, a, FLOOD_KEY, sizeof(uint32_t), old ? fl_old_hash : NULL, NULL,
                        (void *)(uintptr_t)kb_next(&rng)) != 0)
        exit(3);
    double t0 = kb_cpu_now();
    for (size_t i = 0; i < n; i++) {
        uint32_t v = (uint32_t)i;
        if (kh_hashmap_insert(&m, keys + i * FLOOD_KEY, &v) != 0) exit(3);
    }
    *ins = kb_cpu_now() - t0;
    uint64_t sum = 0;
    t0 = kb_cpu_now();
    for (size_t i = 0; i < n; i++) {
        const uint32_t *v = kh_hashmap_get(&m, keys + i * FLOOD_KEY);
        if (!v) exit(3);
        sum += *v;
    }
    *look = kb_cpu_now() - t0;
    if (sum != (uint64_t)n * (n - 1) / 2) exit(3);
    kh_hashmap_destroy(&m);
}

static void hash_flooding(void *arena, size_t bytes, bool quick, FILE *csv)
{
    static const size_t full_n[] = {5000, 10000, 20000, 50000, 100000};
    static const size_t quick_n[] = {1000, 2000};
    const size_t *ns = quick ? quick_n : full_n;
    size_t count = quick ? 2 : 5, nmax = ns[count - 1];
    /* The old hash on crafted keys is quadratic: 100000 would take minutes. */
    size_t old_crafted_max = quick ? 2000 : 20000;
    unsigned char *crafted = malloc(nmax * FLOOD_KEY), *random = malloc(nmax * FLOOD_KEY);
    if (!crafted || !random) exit(3);
    kb_rng rng = kb_seed(99);
    for (size_t i = 0; i < nmax; i++) {
        fl_crafted(crafted + i * FLOOD_KEY, (uint32_t)i);
        for (size_t j = 0; j < FLOOD_KEY; j += 8) {
            uint64_t w = kb_next(&rng);
            memcpy(random + i * FLOOD_KEY + j, &w, 8);
        }
    }
    if (kh_hash_bytes(crafted, FLOOD_KEY, 1) != kh_hash_bytes(crafted + FLOOD_KEY, FLOOD_KEY, 1))
        exit(3); /* the crafted keys must collide */
    kb_printf("\n### Hash flooding\n\n"
              "%d-byte keys crafted to collide under kh_hash_bytes, the hash map's old default "
              "(2^%d keys share one 64-bit hash for every seed: multicollisions from two bit "
              "flips per 16-byte block, see bench/kb_coll.c), against random keys of the same "
              "size; each inserted (key -> u32) into an empty map over the core heap, then "
              "looked up. `old` = kh_hash_bytes with a random seed as the user hash; `new` = the "
              "default, SipHash-1-3 under the map's own key. ns per key, best CPU time of %u "
              "runs; ratio = crafted / random with the same hash. The old hash on crafted keys "
              "is quadratic (every key in one probe run), so it stops at %zu keys.\n\n"
              "| keys | old random | old crafted | old ratio | new random | new crafted | new "
              "ratio |\n|---:|---:|---:|---:|---:|---:|---:|\n",
              FLOOD_KEY, FLOOD_T, quick ? 1u : 3u, old_crafted_max);
    unsigned reps = quick ? 1 : 3;
    for (size_t r = 0; r < count; r++) {
        size_t n = ns[r];
        /* best insert+lookup seconds: [old random, old crafted, new random, new crafted] */
        double best_ins[4] = {1e30, 1e30, 1e30, 1e30}, best_look[4] = {1e30, 1e30, 1e30, 1e30};
        for (unsigned k = 0; k < reps; k++) {
            for (int which = 0; which < 4; which++) {
                bool old = which < 2, craft = which & 1;
                if (old && craft && n > old_crafted_max) continue;
                kheap *h = kheap_init(arena, bytes);
                if (!h) exit(3);
                double ins, look;
                fl_run(kheap_allocator(h), old, craft ? crafted : random, n, &ins, &look);
                if (ins < best_ins[which]) best_ins[which] = ins;
                if (look < best_look[which]) best_look[which] = look;
            }
        }
        static const char *const names[4] = {"old_random", "old_crafted", "new_random",
                                             "new_crafted"};
        double per[4];
        for (int w = 0; w < 4; w++) {
            per[w] = best_ins[w] < 1e29 ? (best_ins[w] + best_look[w]) * 1e9 / (double)n : 0;
            if (!per[w]) continue;
            fprintf(csv, "kheap,flood_insert_%s,%zu,%.6f\n", names[w], n, best_ins[w]);
            fprintf(csv, "kheap,flood_lookup_%s,%zu,%.6f\n", names[w], n, best_look[w]);
        }
        kb_printf("| %zu | %.0f |", n, per[0]);
        if (per[1])
            kb_printf(" %.0f | %.1fx |", per[1], per[1] / per[0]);
        else
            kb_printf(" not run | |");
        kb_printf(" %.0f | %.0f | %.2fx |\n", per[2], per[3], per[3] / per[2]);
    }
    free(crafted);
    free(random);
}

void kb_collections(void *arena, size_t bytes, bool quick, FILE *csv)
{
    size_t nvec = quick ? 100000 : 10000000, nkeys = quick ? 10000 : 1000000;
    unsigned reps = quick ? 1 : 3;
    kb_printf("\n%zu int pushes; %zu random 64-bit keys inserted then looked up (u64 -> u64) "
              "in the ordered map (B-tree) and the hash map; best CPU time of %u runs, ms\n\n"
              "| allocator | vec push | map insert | map lookup | hashmap insert | hashmap "
              "lookup |\n|---|---:|---:|---:|---:|---:|\n",
              nvec, nkeys, reps);
    for (int which = 0; which < 2; which++) {
        double best[5] = {1e30, 1e30, 1e30, 1e30, 1e30};
        for (unsigned k = 0; k < reps; k++) {
            struct coll_res r;
            kh_allocator a = {NULL, &mal_ops};
            if (which == 0) {
                kheap *h = kheap_init(arena, bytes);
                if (!h) exit(3);
                a = kheap_allocator(h);
            }
            one(a, nvec, nkeys, &r);
            double t[5] = {r.vec_push, r.map_insert, r.map_lookup, r.hash_insert, r.hash_lookup};
            for (int i = 0; i < 5; i++)
                if (t[i] < best[i]) best[i] = t[i];
        }
        static const char *const ops[5] = {"vec_push", "map_insert", "map_lookup", "hashmap_insert",
                                           "hashmap_lookup"};
        const char *name = which == 0 ? "kheap" : "glibc";
        kb_printf("| %s |", name);
        for (int i = 0; i < 5; i++) {
            kb_printf(" %.1f |", best[i] * 1e3);
            fprintf(csv, "%s,%s,%zu,%.6f\n", name, ops[i], i ? nkeys : nvec, best[i]);
        }
        kb_printf("\n");
    }
    hash_flooding(arena, bytes, quick, csv);
}
