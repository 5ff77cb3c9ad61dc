/* SPDX-License-Identifier: MIT */
/* kheap worst-case instruction counts: the most instructions one call of
 * kheap_alloc, kheap_free or kheap_realloc executes, on sequences built to
 * take every slow path at once.
 *
 * Built from the two core files alone (src/core/heap.c, kheap/heap.h) at the
 * hardening level given by -D flags, and run under valgrind's callgrind
 * (bench/worstcase.sh), which counts the instructions between a
 * CALLGRIND_ZERO_STATS and a CALLGRIND_DUMP_STATS_AT around each measured
 * call. Run alone, the client requests do nothing: the program then only
 * checks that every scenario really took the path it is named after (exit
 * status 1 otherwise), which make test does.
 *
 * Every scenario runs on a heap whose region table is full (KH_HEAP_MAX_REGIONS
 * regions): the pointer check's binary search then takes its most steps. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <valgrind/callgrind.h>

#include "kheap/heap.h"

#define ARENA   ((size_t)8 << 20)
#define SPARE   ((size_t)4 << 20) /* where the extra regions come from */
#define ALIGN_L ((size_t)4096)    /* the "large alignment" */

static unsigned char arena[ARENA] __attribute__((aligned(64)));
static unsigned char spare[SPARE] __attribute__((aligned(64)));
static int failures;

#define EXPECT(c)                                                                                  \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "worstcase: %s:%d: %s\n", __FILE__, __LINE__, #c);                     \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)

static struct kheap_stats st(const kheap *h)
{
    struct kheap_stats s;
    kheap_stats(h, &s);
    return s;
}

/* A heap over the arena, then as many separate small regions as the region
 * table takes. */
static kheap *full_heap(void)
{
    kheap *h = kheap_init(arena, ARENA);
    if (!h) return NULL;
    size_t step = SPARE / KH_HEAP_MAX_REGIONS, n = 1;
    /* Every other slot, so that no two regions touch (they would merge). */
    for (size_t off = 0; off + step <= SPARE && n < KH_HEAP_MAX_REGIONS; off += 2 * step)
        n += kheap_add_region(h, spare + off, step);
    /* Then in the gaps, smaller, leaving a hole each side. */
    for (size_t off = step + 64; off + step <= SPARE && n < KH_HEAP_MAX_REGIONS; off += 2 * step)
        n += kheap_add_region(h, spare + off, step - 128);
    EXPECT(n == KH_HEAP_MAX_REGIONS);
    return h;
}

#define G ((size_t)KH_ALIGN_DEFAULT)

/* The datasheet's size classes: exact below 16 granules, then per power of
 * two 2^KH_HEAP_SL_LOG2 linear sub-classes. */
static unsigned class_of(size_t bytes)
{
    size_t u = bytes / G;
    if (u < ((size_t)1 << KH_HEAP_SL_LOG2)) return (unsigned)u;
    unsigned fl = 0;
    while ((u >> fl) > 1) fl++;
    return (fl << KH_HEAP_SL_LOG2) |
           (unsigned)((u >> (fl - KH_HEAP_SL_LOG2)) & (((size_t)1 << KH_HEAP_SL_LOG2) - 1));
}

/* The block size a search for n bytes at alignment align looks for: the
 * block, plus room for a leading gap that can stand alone (2 granules). */
static size_t search_bytes(kheap *h, size_t n, size_t align)
{
    size_t b = kheap_block_bytes(h, n);
    return align > G ? b + 2 * G + align - G : b;
}

/* A request size n_top (at alignment align) and a smaller request n_low
 * whose block is one granule smaller than what n_top's search looks for, in
 * the same size class: free n_low blocks sit in the class that search scans
 * first, and none fits. */
static void class_pair(kheap *h, size_t near, size_t align, size_t *n_top, size_t *n_low)
{
    for (size_t n = near;; n += G) {
        size_t t = search_bytes(h, n, align);
        if (class_of(t - G) != class_of(t)) continue;
        size_t m = t - G;
        while (m && kheap_block_bytes(h, m) > t - G) m--;
        if (kheap_block_bytes(h, m) != t - G) continue;
        *n_top = n;
        *n_low = m;
        return;
    }
}

/* KH_HEAP_FALLBACK_SCAN free blocks of n_low bytes, each between used
 * guards, last freed first on the list: a request of n_top scans them all. */
static void too_small_blocks(kheap *h, size_t n_low)
{
    void *b[KH_HEAP_FALLBACK_SCAN + 1];
    for (int i = 0; i <= KH_HEAP_FALLBACK_SCAN; i++) {
        b[i] = kheap_alloc(h, n_low, 0);
        EXPECT(b[i] && kheap_alloc(h, 1, 0));
    }
    for (int i = 0; i <= KH_HEAP_FALLBACK_SCAN; i++) kheap_free(h, b[i]);
}

/* A used block of n bytes with free blocks on both sides. */
static void *between_free(kheap *h, size_t n)
{
    void *a = kheap_alloc(h, 300, 0), *p = kheap_alloc(h, n, 0), *c = kheap_alloc(h, 300, 0);
    EXPECT(a && p && c && kheap_alloc(h, 1, 0));
    kheap_free(h, a);
    kheap_free(h, c);
    return p;
}

static void run(void)
{
    kheap *h = full_heap();
    if (!h) {
        fprintf(stderr, "worstcase: no heap\n");
        exit(1);
    }
    /* What the counting itself costs: subtracted from every count. */
    CALLGRIND_ZERO_STATS;
    CALLGRIND_DUMP_STATS_AT("empty");

    size_t n_top, n_low, a_top, a_low;
    class_pair(h, 1000, 0, &n_top, &n_low);
    class_pair(h, 1000, ALIGN_L, &a_top, &a_low);

    /* alloc: the whole scan of its own class fails, the bitmap search finds
     * a block in a higher class, the large alignment splits off a leading
     * gap and a tail (two list inserts). */
    too_small_blocks(h, a_low);
    size_t fb = st(h).free_blocks;
    CALLGRIND_ZERO_STATS;
    void *p = kheap_alloc(h, a_top, ALIGN_L);
    CALLGRIND_DUMP_STATS_AT("alloc-scan-align");
    EXPECT(p && ((uintptr_t)p & (ALIGN_L - 1)) == 0);
    EXPECT(st(h).free_blocks == fb + 1); /* the gap is a new free block */
    EXPECT(kheap_check(h) == 0);

    /* alloc at the default alignment after the failed scan, with a split. */
    h = full_heap();
    too_small_blocks(h, n_low);
    CALLGRIND_ZERO_STATS;
    void *q = kheap_alloc(h, n_top, 0);
    CALLGRIND_DUMP_STATS_AT("alloc-scan");
    EXPECT(q && kheap_usable_size(h, q) >= n_top);

    /* free: both neighbours free (two unlinks, one insert), pointer
     * validated against the full region table. */
    h = full_heap();
    void *m = between_free(h, 500);
    fb = st(h).free_blocks;
    CALLGRIND_ZERO_STATS;
    kheap_free(h, m);
    CALLGRIND_DUMP_STATS_AT("free-merge-both");
    EXPECT(st(h).free_blocks == fb - 1);
    EXPECT(kheap_check(h) == 0);

    /* realloc that must move: neighbours free but too small together, the
     * new block at a large alignment after a failed scan of its class; the
     * old block merges with both neighbours. The copy is of the 1 byte
     * asked for at first (one kheap_usable_size worth, under 2 granules). */
    h = full_heap();
    too_small_blocks(h, a_low);
    void *r = between_free(h, 1);
    CALLGRIND_ZERO_STATS;
    void *r2 = kheap_realloc(h, r, a_top, ALIGN_L);
    CALLGRIND_DUMP_STATS_AT("realloc-move-align");
    EXPECT(r2 && r2 != r && ((uintptr_t)r2 & (ALIGN_L - 1)) == 0);
    EXPECT(kheap_check(h) == 0);

    /* realloc growing in place into both neighbours (data moved down). The
     * count includes the memmove of the block's bytes (16 on LP64). */
    h = full_heap();
    void *g = between_free(h, 1);
    CALLGRIND_ZERO_STATS;
    void *g2 = kheap_realloc(h, g, 500, 0);
    CALLGRIND_DUMP_STATS_AT("realloc-grow-both");
    EXPECT(g2 && g2 < g);
    EXPECT(kheap_check(h) == 0);

    /* realloc shrinking into a smaller hole (the default policy): a search,
     * a split, the copy of the kept 1 byte, the old block merging with both
     * neighbours. */
    h = full_heap();
    void *hole = kheap_alloc(h, 64, 0);
    EXPECT(hole && kheap_alloc(h, 1, 0));
    kheap_free(h, hole);
    void *s = between_free(h, 4000);
    CALLGRIND_ZERO_STATS;
    void *s2 = kheap_realloc(h, s, 1, 0);
    CALLGRIND_DUMP_STATS_AT("realloc-shrink-move");
    EXPECT(s2 && s2 != s);
    EXPECT(kheap_check(h) == 0);
    (void)p;
}

/* The typical call: talc's random actions (allocations of rand(4,
 * rand(16, 1000)) bytes, frees, reallocs to rand(1, 3000)), 300 to 600
 * live blocks, on one region. bench/worstcase.sh counts each function's
 * instructions over the run and divides by the calls printed here. */
static void random_run(void)
{
    enum { SLOTS = 600, OPS = 200000 };
    static void *slot[SLOTS];
    kheap *h = kheap_init(arena, ARENA);
    if (!h) exit(1);
    unsigned long long x = 0x9e3779b97f4a7c15ull;
    unsigned long calls[3] = {0, 0, 0};
    for (long i = 0; i < OPS; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        unsigned k = (unsigned)(x % SLOTS), op = (unsigned)((x >> 20) % 8);
        size_t n = 4 + (size_t)((x >> 32) % (16 + (x >> 44) % 985));
        if (!slot[k]) {
            slot[k] = kheap_alloc(h, n, 0), calls[0]++;
        } else if (op < 3) {
            void *q = kheap_realloc(h, slot[k], 1 + (size_t)((x >> 24) % 3000), 0);
            calls[2]++;
            if (q) slot[k] = q;
        } else if (op < 6 || k % 2) {
            kheap_free(h, slot[k]), calls[1]++;
            slot[k] = NULL;
        }
    }
    EXPECT(kheap_check(h) == 0);
    printf("calls alloc %lu free %lu realloc %lu\n", calls[0], calls[1], calls[2]);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "random") == 0) {
        random_run();
        return failures ? 1 : 0;
    }
    run();
    if (failures) return 1;
    printf("worstcase: every scenario took its path (level %u)\n", (unsigned)KH_CONFIG_HARDEN);
    return 0;
}
