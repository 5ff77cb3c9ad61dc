/* SPDX-License-Identifier: MIT */
/* kheap benchmark: collections on the core heap vs the system malloc.
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
static const kh_allocator_ops mal_ops = {mal_alloc, mal_resize, mal_free};

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
}
