/* SPDX-License-Identifier: MIT */
/* kheap benchmark program. Not a test: it measures and reports, it never
 * asserts a timing. Every allocator runs in this one process through its own
 * API (see kb_alloc.c), in the same run, interleaved trial by trial, so the
 * ratios are comparable even on a noisy machine.
 *
 *   kh_bench [options] efficiency|random|latency|threads|frag|collections|traces|all
 *   kh_bench [options] replay TRACE.kht[.gz]...
 *   kh_bench convert RAW KHT   (recorder output -> compact trace)
 *     --quick        few rounds, short trials (the make test smoke step)
 *     --out DIR      where CSV and summary.md go (default bench/results)
 *     --alloc a,b    only these allocators (default: all available)
 *     --seed N       RNG seed (default 1)
 *
 * Workloads follow talc's published benchmarks (heap efficiency, random
 * actions) so numbers can be set next to theirs; see docs/BENCHMARKS.md.
 */
#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <glob.h>
#include <pthread.h>

#include "kb_alloc.h"
#include "kb_coll.h"
#include "kb_trace.h"
#include "kb_util.h"

/* ---- options and shared state -------------------------------------------- */

static struct {
    bool quick;
    const char *out;
    const char *only;
    uint64_t seed;
} opt = {false, "bench/results", NULL, 1};

static const kb_alloc *allocs[32]; /* single-thread workloads */
static size_t nallocs;
static const kb_alloc *mt_allocs[32]; /* thread-safe forms */
static size_t nmt;

#define BIG_ARENA   ((size_t)128 << 20)
#define SMALL_ARENA ((size_t)128 << 10)

static unsigned char *big_arena;

/* The 128 MiB arena, mapped once and touched so no page fault is timed. */
static unsigned char *arena_get(void)
{
    if (big_arena) return big_arena;
    void *m = mmap(NULL, BIG_ARENA, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) {
        perror("mmap arena");
        exit(1);
    }
    memset(m, 0x5a, BIG_ARENA);
    big_arena = m;
    return big_arena;
}

static bool want(const kb_alloc *a)
{
    if (!opt.only) return true;
    size_t n = strlen(a->name);
    for (const char *s = opt.only; *s;) {
        const char *e = strchr(s, ',');
        size_t l = e ? (size_t)(e - s) : strlen(s);
        if (l == n && strncmp(s, a->name, n) == 0) return true;
        if (!e) break;
        s = e + 1;
    }
    return false;
}

/* ---- workload helpers ----------------------------------------------------- */

/* talc: size = rand(4, rand(16, max)), half-open ranges. */
static size_t gen_size(kb_rng *r, size_t max)
{
    size_t cap = kb_range(r, 16, max);
    return kb_range(r, 4, cap);
}

/* talc: sizeof(usize) << (ctz(rand u16) / 2), ctz(0) = 16. Mostly the word
 * size, sometimes up to 2 KiB. */
static size_t gen_align(kb_rng *r)
{
    unsigned v = (unsigned)(kb_next(r) & 0xffff);
    unsigned tz = v ? (unsigned)__builtin_ctz(v) : 16;
    return sizeof(size_t) << (tz / 2);
}

typedef struct blk {
    void *p;
    size_t size, align;
} blk;

static void check_align(const kb_alloc *a, const void *p, size_t align)
{
    if (align && ((uintptr_t)p & (align - 1)) != 0) {
        fprintf(stderr, "%s returned %p not aligned to %zu\n", a->name, p, align);
        exit(2);
    }
}

static void heap_map(const kb_alloc *a, void *ctx, const void *arena, size_t bytes,
                     const char *what);

/* ---- heap efficiency (talc's method) -------------------------------------- */

struct eff_cfg {
    const char *name;
    size_t arena, max, align; /* align 0: talc's random alignment */
    unsigned rounds, quick_rounds;
    double target32, target64; /* kheap target, percent, in a 32-/64-bit build */
};

static const struct eff_cfg eff_cfgs[] = {
    {"128MiB_max10000", BIG_ARENA, 10000, 0, 300, 3, 99.0, 99.0},
    {"128KiB_max256_align8", SMALL_ARENA, 256, 8, 300, 20, 92.5, 91.6},
};

static double efficiency_one(const kb_alloc *a, const struct eff_cfg *c, unsigned rounds)
{
    kb_rng r = kb_seed(opt.seed);
    unsigned char *mem = arena_get();
    size_t cap = 1 << 16;
    blk *v = malloc(cap * sizeof *v);
    double used = 0, total = 0;
    if (!v) exit(1);
    /* talc's method: one heap for all rounds, emptied between them */
    void *ctx = a->setup(mem, c->arena);
    if (!ctx) {
        fprintf(stderr, "%s: setup failed\n", a->name);
        exit(1);
    }
    for (unsigned round = 0; round < rounds; round++) {
        size_t n = 0;
        for (;;) {
            unsigned action = (unsigned)kb_range(&r, 0, 10);
            if (n == cap) {
                blk *nv = realloc(v, 2 * cap * sizeof *v);
                if (!nv) exit(1);
                v = nv;
                cap *= 2;
            }
            if (action < 5) {
                size_t size = gen_size(&r, c->max);
                size_t align = c->align ? c->align : gen_align(&r);
                void *p = a->alloc(ctx, size, align);
                if (!p) break;
                check_align(a, p, align);
                v[n++] = (blk){p, size, align};
            } else if (action == 5) {
                if (n) {
                    size_t i = kb_range(&r, 0, n);
                    a->free(ctx, v[i].p, v[i].size, v[i].align);
                    v[i] = v[--n];
                }
            } else if (n) {
                size_t i = kb_range(&r, 0, n);
                size_t size = kb_range(&r, 1, c->max * 10);
                void *p = a->realloc(ctx, v[i].p, v[i].size, size, v[i].align);
                if (!p) break;
                check_align(a, p, v[i].align);
                v[i].p = p;
                v[i].size = size;
            }
        }
        for (size_t i = 0; i < n; i++) used += (double)v[i].size;
        total += (double)c->arena;
        if (round + 1 == rounds && c->arena == SMALL_ARENA)
            heap_map(a, ctx, mem, c->arena, c->name);
        for (size_t i = 0; i < n; i++) a->free(ctx, v[i].p, v[i].size, v[i].align);
    }
    a->teardown(ctx);
    free(v);
    return 100.0 * used / total;
}

static void run_efficiency(void)
{
    FILE *csv = kb_csv(opt.out, "efficiency.csv", "config,allocator,rounds,efficiency_pct");
    kb_section("Heap efficiency (talc's method)",
               "Fill an arena with random alloc 50% / free 10% / realloc 40% until the first "
               "failure; efficiency = live requested bytes / arena bytes, summed over the rounds. "
               "One heap per allocator for all rounds, emptied between them, as talc does.");
    for (size_t k = 0; k < sizeof eff_cfgs / sizeof eff_cfgs[0]; k++) {
        const struct eff_cfg *c = &eff_cfgs[k];
        unsigned rounds = opt.quick ? c->quick_rounds : c->rounds;
        kb_printf("\n%s\n\n| allocator | efficiency | rounds |\n|---|---:|---:|\n", c->name);
        for (size_t i = 0; i < nallocs; i++) {
            const kb_alloc *a = allocs[i];
            if (!(a->flags & KB_ARENA)) continue;
            /* O(n) allocators: fewer rounds of the big arena (same seed, so the
             * same first rounds as everyone else) */
            unsigned ar =
                (a->flags & KB_SLOW) && c->arena == BIG_ARENA && rounds > 10 ? 10 : rounds;
            double t0 = kb_now();
            double e = efficiency_one(a, c, ar);
            kb_printf("| %s | %.2f%% | %u |\n", a->name, e, ar);
            fprintf(stderr, "  efficiency %s %s: %.2f%% (%.1f s)\n", c->name, a->name, e,
                    kb_now() - t0);
            fprintf(csv, "%s,%s,%u,%.3f\n", c->name, a->name, ar, e);
            double target = sizeof(void *) == 4 ? c->target32 : c->target64;
            if (strcmp(a->name, "kheap") == 0)
                kb_target(e >= target, kb_fmt("%.2f%%", e), "efficiency %s, %zu-bit: %s >= %.1f%%",
                          c->name, 8 * sizeof(void *), a->name, target);
        }
    }
    fclose(csv);
}

/* ---- random actions (talc's method) --------------------------------------- */

static const size_t ra_max[] = {200, 1000, 3000, 10000, 30000};
#define RA_NMAX (sizeof ra_max / sizeof ra_max[0])

/* Successful operations until clock() reaches end. The clock is read every
 * 1024 steps so its cost stays negligible and equal for everyone. */
enum { RA_CAP = 1 << 15 };

static uint64_t random_actions_v(const kb_alloc *a, void *ctx, size_t max, bool re, double end,
                                 double (*clock)(void), uint64_t seed, blk *v)
{
    kb_rng r = kb_seed(seed);
    enum { CAP = RA_CAP };
    size_t n = 0;
    uint64_t ops = 0;
    for (uint64_t step = 0;; step++) {
        if ((step & 1023) == 0 && clock() >= end) break;
        unsigned action = (unsigned)kb_range(&r, 0, re ? 7 : 6);
        if (action == 6) {
            if (!n) continue;
            size_t i = kb_range(&r, 0, n);
            size_t size = kb_range(&r, 1, max * 3);
            void *p = a->realloc(ctx, v[i].p, v[i].size, size, v[i].align);
            if (p) {
                v[i].p = p;
                v[i].size = size;
                ops++;
            }
        } else if ((action < 3 || n < 300) && n < CAP) {
            size_t size = gen_size(&r, max), align = gen_align(&r);
            void *p = a->alloc(ctx, size, align);
            if (p) {
                v[n++] = (blk){p, size, align};
                ops++;
            }
        } else if (n) {
            size_t i = kb_range(&r, 0, n);
            a->free(ctx, v[i].p, v[i].size, v[i].align);
            v[i] = v[--n];
            ops++;
        }
    }
    for (size_t i = 0; i < n; i++) a->free(ctx, v[i].p, v[i].size, v[i].align);
    return ops;
}

static uint64_t random_actions(const kb_alloc *a, void *ctx, size_t max, bool re, double secs,
                               uint64_t seed)
{
    static blk v[RA_CAP];
    /* talc's 2 ms warm-up on the same allocator, its blocks freed again */
    random_actions_v(a, ctx, max, re, kb_cpu_now() + 0.002, kb_cpu_now, seed + 1000, v);
    return random_actions_v(a, ctx, max, re, kb_cpu_now() + secs, kb_cpu_now, seed, v);
}

static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

static void run_random(void)
{
    unsigned trials = opt.quick ? 1 : 5;
    double secs = opt.quick ? 0.01 : 0.2;
    FILE *csv = kb_csv(opt.out, "random.csv",
                       "max_size,realloc,allocator,trials,ops_per_sec,ratio_vs_glibc");
    kb_section("Random actions (talc's method), 1 thread",
               "300+ live blocks; alloc (sizes rand(4, rand(16, max)), talc's alignments), free, "
               "and with realloc (to rand(1, 3*max)), after talc's 2 ms warm-up; successful "
               "operations per CPU second of "
               "the thread (so other load on the machine does not count), median of the "
               "trials, interleaved allocator by allocator. Ratio = ops/s over glibc's in the "
               "same run.");
    int gi = -1;
    for (size_t i = 0; i < nallocs; i++)
        if (strcmp(allocs[i]->name, "glibc") == 0) gi = (int)i;
    for (int re = 0; re <= 1; re++) {
        kb_printf("\n%s realloc: Mops/s (ratio vs glibc)\n\n| allocator |",
                  re ? "with" : "without");
        for (size_t m = 0; m < RA_NMAX; m++) kb_printf(" max %zu |", ra_max[m]);
        kb_printf("\n|---|");
        for (size_t m = 0; m < RA_NMAX; m++) kb_printf("---:|");
        kb_printf("\n");
        double res[32][RA_NMAX];
        for (size_t m = 0; m < RA_NMAX; m++) {
            double tr[32][16];
            for (unsigned t = 0; t < trials; t++) {
                for (size_t i = 0; i < nallocs; i++) {
                    const kb_alloc *a = allocs[i];
                    void *ctx = a->setup(arena_get(), BIG_ARENA);
                    uint64_t ops = random_actions(a, ctx, ra_max[m], re, secs, opt.seed + t);
                    a->teardown(ctx);
                    tr[i][t] = (double)ops / secs;
                }
            }
            for (size_t i = 0; i < nallocs; i++) {
                qsort(tr[i], trials, sizeof(double), cmp_double);
                res[i][m] = tr[i][trials / 2];
            }
        }
        for (size_t i = 0; i < nallocs; i++) {
            kb_printf("| %s |", allocs[i]->name);
            for (size_t m = 0; m < RA_NMAX; m++) {
                double ratio = gi >= 0 ? res[i][m] / res[gi][m] : 0;
                kb_printf(" %.1f (%.2fx) |", res[i][m] / 1e6, ratio);
                fprintf(csv, "%zu,%d,%s,%u,%.0f,%.3f\n", ra_max[m], re, allocs[i]->name, trials,
                        res[i][m], ratio);
            }
            kb_printf("\n");
        }
        for (size_t i = 0; i < nallocs && gi >= 0; i++) {
            if (strcmp(allocs[i]->name, "kheap") != 0) continue;
            double lo13 = 1e9;
            for (size_t m = 0; m < RA_NMAX; m++) {
                double ratio = res[i][m] / res[gi][m];
                if (ra_max[m] <= 3000 && ratio < lo13) lo13 = ratio;
            }
            kb_target(lo13 >= 1.5, kb_fmt("min %.2fx", lo13),
                      "random %s realloc, max 200..3000: kheap >= 1.5x glibc",
                      re ? "with" : "without");
        }
    }
    fclose(csv);
}

/* ---- latency --------------------------------------------------------------- */

static int cmp_u32(const void *x, const void *y)
{
    uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
    return (a > b) - (a < b);
}

static uint32_t pct(const uint32_t *s, size_t n, double q)
{
    if (!n) return 0;
    size_t i = (size_t)(q * (double)n + 0.999999);
    if (i == 0) i = 1;
    if (i > n) i = n;
    return s[i - 1];
}

/* One pass of the random-actions mix (no realloc, max 1000) with every alloc
 * and free timed; the same seed gives the same operation sequence. */
static void latency_pass(const kb_alloc *a, size_t nops, uint32_t *ta, size_t *na, uint32_t *tf,
                         size_t *nf)
{
    kb_rng r = kb_seed(opt.seed);
    enum { CAP = 1 << 15 };
    static blk v[CAP];
    size_t n = 0;
    void *ctx = a->setup(arena_get(), BIG_ARENA);
    *na = *nf = 0;
    for (size_t step = 0; step < nops; step++) {
        unsigned action = (unsigned)kb_range(&r, 0, 6);
        if ((action < 3 || n < 300) && n < CAP) {
            size_t size = gen_size(&r, 1000), align = gen_align(&r);
            uint64_t t0 = kb_cycles();
            void *p = a->alloc(ctx, size, align);
            uint64_t t1 = kb_cycles();
            ta[(*na)++] = (uint32_t)(t1 - t0 > UINT32_MAX ? UINT32_MAX : t1 - t0);
            if (p) v[n++] = (blk){p, size, align};
        } else if (n) {
            size_t i = kb_range(&r, 0, n);
            uint64_t t0 = kb_cycles();
            a->free(ctx, v[i].p, v[i].size, v[i].align);
            uint64_t t1 = kb_cycles();
            tf[(*nf)++] = (uint32_t)(t1 - t0 > UINT32_MAX ? UINT32_MAX : t1 - t0);
            v[i] = v[--n];
        }
    }
    for (size_t i = 0; i < n; i++) a->free(ctx, v[i].p, v[i].size, v[i].align);
    a->teardown(ctx);
}

#define HIST_BIN  10
#define HIST_BINS 200 /* 0..2000 cycles, then one overflow bin */

static void hist_rows(FILE *hist, const char *name, const char *mode, const uint32_t *ta, size_t na,
                      const uint32_t *tf, size_t nf)
{
    for (int op = 0; op < 2; op++) {
        const uint32_t *s = op ? tf : ta;
        size_t cnt = op ? nf : na;
        size_t bins[HIST_BINS + 1] = {0};
        for (size_t k = 0; k < cnt; k++) {
            size_t b = s[k] / HIST_BIN;
            bins[b > HIST_BINS ? HIST_BINS : b]++;
        }
        for (size_t b = 0; b <= HIST_BINS; b++)
            if (bins[b])
                fprintf(hist, "%s,%s,%s,%zu,%zu\n", name, op ? "free" : "alloc", mode, b * HIST_BIN,
                        bins[b]);
    }
}

static void run_latency(void)
{
    size_t nops = opt.quick ? 20000 : 2000000;
    unsigned reps = opt.quick ? 2 : 5;
    uint32_t *ta = malloc(nops * sizeof *ta), *tf = malloc(nops * sizeof *tf);
    uint32_t *ma = malloc(nops * sizeof *ma), *mf = malloc(nops * sizeof *mf);
    if (!ta || !tf || !ma || !mf) exit(1);
    kb_pin_cpu();
    uint64_t ovh = kb_cycles_overhead();
    FILE *csv = kb_csv(opt.out, "latency.csv",
                       "allocator,op,mode,samples,p50,p99,p99_9,p99_99,max,timer_overhead");
    FILE *hist = kb_csv(opt.out, "latency_hist.csv", "allocator,op,mode,bin_lo_cycles,count");
    kb_section("Latency per call, cycles",
               "Random-actions mix (max size 1000, no realloc, 300+ live blocks), 128 MiB "
               "pre-touched arena, thread pinned to one CPU; every alloc and free timed with the "
               "cycle counter (" KB_CYCLES_NAME "). `raw`: one pass. `min-of-N`: the same "
               "deterministic operation sequence run N times, per-call minimum: removes timer "
               "interrupts and VM exits that land on one call by chance but keeps anything the "
               "allocator does every time. Timer overhead is included in every number.");
    kb_printf("\ntimer overhead (empty measurement, min): %llu cycles; %zu operations\n\n",
              (unsigned long long)ovh, nops);
    kb_printf("| allocator | op | mode | p50 | p99 | p99.9 | p99.99 | max |\n"
              "|---|---|---|---:|---:|---:|---:|---:|\n");
    for (size_t i = 0; i < nallocs; i++) {
        const kb_alloc *a = allocs[i];
        size_t na = 0, nf = 0;
        latency_pass(a, nops / 4, ta, &na, tf, &nf); /* warm-up */
        for (unsigned rep = 0; rep < reps; rep++) {
            latency_pass(a, nops, ta, &na, tf, &nf);
            if (rep == 0) {
                memcpy(ma, ta, na * sizeof *ta);
                memcpy(mf, tf, nf * sizeof *tf);
                hist_rows(hist, a->name, "raw", ta, na, tf, nf);
            } else {
                for (size_t k = 0; k < na; k++) ma[k] = ta[k] < ma[k] ? ta[k] : ma[k];
                for (size_t k = 0; k < nf; k++) mf[k] = tf[k] < mf[k] ? tf[k] : mf[k];
            }
            if (rep == 0) {
                qsort(ta, na, sizeof *ta, cmp_u32);
                qsort(tf, nf, sizeof *tf, cmp_u32);
                for (int op = 0; op < 2; op++) {
                    uint32_t *s = op ? tf : ta;
                    size_t cnt = op ? nf : na;
                    kb_printf("| %s | %s | raw | %u | %u | %u | %u | %u |\n", a->name,
                              op ? "free" : "alloc", pct(s, cnt, .5), pct(s, cnt, .99),
                              pct(s, cnt, .999), pct(s, cnt, .9999), s[cnt ? cnt - 1 : 0]);
                    fprintf(csv, "%s,%s,raw,%zu,%u,%u,%u,%u,%u,%llu\n", a->name,
                            op ? "free" : "alloc", cnt, pct(s, cnt, .5), pct(s, cnt, .99),
                            pct(s, cnt, .999), pct(s, cnt, .9999), s[cnt ? cnt - 1 : 0],
                            (unsigned long long)ovh);
                }
            }
        }
        uint32_t p9999[2] = {0, 0}; /* alloc, free */
        hist_rows(hist, a->name, "min", ma, na, mf, nf);
        qsort(ma, na, sizeof *ma, cmp_u32);
        qsort(mf, nf, sizeof *mf, cmp_u32);
        for (int op = 0; op < 2; op++) {
            uint32_t *s = op ? mf : ma;
            size_t cnt = op ? nf : na;
            uint32_t p4 = pct(s, cnt, .9999);
            p9999[op] = p4;
            kb_printf("| %s | %s | min-of-%u | %u | %u | %u | %u | %u |\n", a->name,
                      op ? "free" : "alloc", reps, pct(s, cnt, .5), pct(s, cnt, .99),
                      pct(s, cnt, .999), p4, s[cnt ? cnt - 1 : 0]);
            fprintf(csv, "%s,%s,min-of-%u,%zu,%u,%u,%u,%u,%u,%llu\n", a->name,
                    op ? "free" : "alloc", reps, cnt, pct(s, cnt, .5), pct(s, cnt, .99),
                    pct(s, cnt, .999), p4, s[cnt ? cnt - 1 : 0], (unsigned long long)ovh);
        }
        if (strcmp(a->name, "kheap") == 0) {
            kb_target(p9999[0] <= 400, kb_fmt("%u cycles", p9999[0]),
                      "latency p99.99 alloc (min-of-%u): kheap <= 400 cycles", reps);
            kb_target(p9999[1] <= 250, kb_fmt("%u cycles", p9999[1]),
                      "latency p99.99 free (min-of-%u): kheap <= 250 cycles", reps);
        }
    }
    fclose(csv);
    fclose(hist);
    free(ta);
    free(tf);
    free(ma);
    free(mf);
}

/* ---- random actions, 1/2/4 threads ----------------------------------------- */

struct mt_arg {
    const kb_alloc *a;
    void *ctx;
    size_t max;
    double secs;
    uint64_t seed, ops;
    pthread_barrier_t *go;
    double *end;
};

static void *mt_worker(void *p)
{
    struct mt_arg *m = p;
    blk *v = malloc(RA_CAP * sizeof *v);
    if (!v) exit(1);
    random_actions_v(m->a, m->ctx, m->max, true, kb_now() + 0.002, kb_now, m->seed + 1000, v);
    /* one deadline for all: a thread that starts late does not run longer */
    if (pthread_barrier_wait(m->go) == PTHREAD_BARRIER_SERIAL_THREAD) *m->end = kb_now() + m->secs;
    pthread_barrier_wait(m->go);
    m->ops = random_actions_v(m->a, m->ctx, m->max, true, *m->end, kb_now, m->seed, v);
    free(v);
    return NULL;
}

static double random_mt(const kb_alloc *a, size_t max, unsigned threads, double secs, uint64_t seed)
{
    void *ctx = a->setup(arena_get(), BIG_ARENA);
    pthread_t th[8];
    struct mt_arg m[8];
    pthread_barrier_t go;
    double end = 0;
    pthread_barrier_init(&go, NULL, threads);
    for (unsigned t = 0; t < threads; t++) {
        m[t] = (struct mt_arg){a, ctx, max, secs, seed * 16 + t, 0, &go, &end};
        if (pthread_create(&th[t], NULL, mt_worker, &m[t]) != 0) exit(1);
    }
    uint64_t ops = 0;
    for (unsigned t = 0; t < threads; t++) {
        pthread_join(th[t], NULL);
        ops += m[t].ops;
    }
    pthread_barrier_destroy(&go);
    a->teardown(ctx);
    return (double)ops / secs;
}

static void run_threads(void)
{
    static const unsigned nth[] = {1, 2, 4};
    static const size_t maxes[] = {200, 1000, 10000};
    unsigned trials = opt.quick ? 1 : 3;
    double secs = opt.quick ? 0.01 : 0.2;
    FILE *csv = kb_csv(opt.out, "threads.csv", "max_size,threads,allocator,trials,ops_per_sec");
    kb_section("Random actions, 1, 2 and 4 threads",
               "The same workload with realloc, one shared allocator instance, each thread with "
               "its own 300+ live blocks; total successful operations per second (median of the "
               "trials). Each allocator in its thread-safe form: the core heap through "
               "kheap/locked.h (kh_locked) with a pthread mutex or with its C11 spin lock, "
               "glibc and the others as they are. The machine has 2 cores, so 4 threads are "
               "oversubscribed.");
    for (size_t mi = 0; mi < sizeof maxes / sizeof maxes[0]; mi++) {
        kb_printf("\nmax %zu: Mops/s\n\n| allocator | 1 thread | 2 threads | 4 threads |\n"
                  "|---|---:|---:|---:|\n",
                  maxes[mi]);
        double res[32][3];
        for (size_t k = 0; k < 3; k++) {
            double tr[32][16];
            for (unsigned t = 0; t < trials; t++)
                for (size_t i = 0; i < nmt; i++)
                    tr[i][t] = random_mt(mt_allocs[i], maxes[mi], nth[k], secs, opt.seed + t);
            for (size_t i = 0; i < nmt; i++) {
                qsort(tr[i], trials, sizeof(double), cmp_double);
                res[i][k] = tr[i][trials / 2];
            }
        }
        for (size_t i = 0; i < nmt; i++) {
            kb_printf("| %s |", mt_allocs[i]->name);
            for (size_t k = 0; k < 3; k++) {
                kb_printf(" %.1f |", res[i][k] / 1e6);
                fprintf(csv, "%zu,%u,%s,%u,%.0f\n", maxes[mi], nth[k], mt_allocs[i]->name, trials,
                        res[i][k]);
            }
            kb_printf("\n");
        }
    }
    fclose(csv);
}

/* ---- long-run fragmentation and heap maps ------------------------------------ */

struct map_ctx {
    FILE *f;
    const unsigned char *base;
};

static void map_block(void *block, size_t size, bool used, void *c)
{
    struct map_ctx *m = c;
    fprintf(m->f, "%td,%zu,%d\n", (const unsigned char *)block - m->base, size, used ? 1 : 0);
}

/* OUT/heapmap-NAME.csv: one line per block (payload offset in the arena,
 * usable size, used), drawn by bench/plots.py. */
static void heap_map(const kb_alloc *a, void *ctx, const void *arena, size_t bytes,
                     const char *what)
{
    if (!a->walk) return;
    char name[256];
    snprintf(name, sizeof name, "heapmap-%s-%s.csv", what, a->name);
    char hdr[128];
    snprintf(hdr, sizeof hdr, "# arena_bytes=%zu\noffset,size,used", bytes);
    FILE *f = kb_csv(opt.out, name, hdr);
    struct map_ctx m = {f, arena};
    a->walk(ctx, map_block, &m);
    fclose(f);
}

/* Churn: sizes log-uniform 16 B..16 KiB with one in 32 up to 256 KiB, live
 * bytes held near 70% of a 32 MiB arena, one operation in 8 a realloc. */
static size_t churn_size(kb_rng *r)
{
    unsigned top = kb_range(r, 0, 32) == 0 ? 18 : 14;
    unsigned lg = (unsigned)kb_range(r, 4, top);
    return kb_range(r, (size_t)1 << lg, (size_t)2 << lg);
}

static void run_frag(void)
{
    size_t all_ops = opt.quick ? 200000 : 10000000;
    const size_t arena = (size_t)32 << 20, target = arena / 10 * 7;
    FILE *csv = kb_csv(opt.out, "fragmentation.csv",
                       "allocator,ops,live_bytes,free_bytes,largest_free,failed_allocs");
    kb_section("Long-run fragmentation",
               "A churning workload on a 32 MiB arena: sizes log-uniform 16 B to 16 KiB, one in "
               "32 up to 256 KiB, live bytes held near 70% of the arena, one operation in 8 a "
               "realloc; largest free block and free bytes sampled 200 times over the run. A "
               "heap map of the arena at the end is in docs/.");
    kb_printf("\n| allocator | operations | failed allocs | largest free / free bytes (end) | "
              "worst largest free / free | end free bytes |\n|---|---:|---:|---:|---:|---:|\n");
    for (size_t i = 0; i < nallocs; i++) {
        const kb_alloc *a = allocs[i];
        if (!(a->flags & KB_ARENA) || !a->frag || (a->flags & KB_VARIANT)) continue;
        size_t nops = (a->flags & KB_SLOW) ? all_ops / 10 : all_ops, every = nops / 200;
        kb_rng r = kb_seed(opt.seed);
        unsigned char *mem = arena_get();
        void *ctx = a->setup(mem, arena);
        size_t cap = 1 << 16, n = 0, live = 0, failed = 0;
        blk *v = malloc(cap * sizeof *v);
        double worst = 1.0, last = 1.0;
        size_t lf = 0, fb = 0;
        if (!v || !ctx) exit(1);
        for (size_t op = 1; op <= nops; op++) {
            unsigned act = (unsigned)kb_range(&r, 0, 8);
            if (act == 0 && n) {
                size_t k = kb_range(&r, 0, n), size = churn_size(&r);
                void *p = a->realloc(ctx, v[k].p, v[k].size, size, v[k].align);
                if (p) {
                    live = live - v[k].size + size;
                    v[k].p = p;
                    v[k].size = size;
                } else {
                    failed++;
                }
            } else if (live < target && n < cap) {
                size_t size = churn_size(&r);
                void *p = a->alloc(ctx, size, 0);
                if (p) {
                    v[n++] = (blk){p, size, 0};
                    live += size;
                } else {
                    failed++;
                }
            } else if (n) {
                size_t k = kb_range(&r, 0, n);
                a->free(ctx, v[k].p, v[k].size, v[k].align);
                live -= v[k].size;
                v[k] = v[--n];
            }
            if (op % every == 0) {
                a->frag(ctx, &lf, &fb);
                last = fb ? (double)lf / (double)fb : 1.0;
                if (last < worst) worst = last;
                fprintf(csv, "%s,%zu,%zu,%zu,%zu,%zu\n", a->name, op, live, fb, lf, failed);
            }
        }
        kb_printf("| %s | %zu | %zu | %.3f | %.3f | %.1f MiB |\n", a->name, nops, failed, last,
                  worst, (double)fb / 1048576.0);
        heap_map(a, ctx, mem, arena, "churn");
        for (size_t k = 0; k < n; k++) a->free(ctx, v[k].p, v[k].size, v[k].align);
        a->teardown(ctx);
        free(v);
    }
    fclose(csv);
}

/* ---- collections ---------------------------------------------------------------- */

static void run_collections(void)
{
    FILE *csv = kb_csv(opt.out, "collections.csv", "allocator,op,n,seconds");
    kb_section("Collections",
               "kheap's vec, ordered map (B-tree) and hash map (Robin Hood, default byte hash) "
               "over the core heap "
               "(128 MiB pre-touched arena) and over glibc malloc behind the same kh_allocator "
               "interface.");
    kb_collections(arena_get(), BIG_ARENA, opt.quick, csv);
    fclose(csv);
}

/* ---- real-program traces --------------------------------------------------- */

static void run_traces(const char *const *files, size_t n)
{
    glob_t g = {0};
    if (!n) {
        glob("bench/traces/*.kht.gz", 0, NULL, &g);
        files = (const char *const *)g.gl_pathv;
        n = g.gl_pathc;
    }
    FILE *csv = kb_csv(opt.out, "traces.csv",
                       "trace,events,peak_live_bytes,allocator,seconds,footprint_bytes,"
                       "footprint_over_peak_live,failed_allocs");
    kb_section(
        "Real-program traces",
        "Allocation traces recorded with bench/trace_recorder.so from Debian programs "
        "(bench/traces/README.md), replayed through each allocator in a fresh process "
        "(fork + exec): best CPU time of the runs; footprint = peak resident memory the replay "
        "added (VmHWM after clear_refs; each block's pages are touched), over the trace's "
        "peak live requested bytes. Arena allocators get an untouched 4 GiB mapping.");
    if (!n)
        kb_printf("\n(no traces found)\n");
    else {
        /* Configuration variants of kheap: fit, speed and latency only. */
        const kb_alloc *base[32];
        size_t nb = 0;
        for (size_t i = 0; i < nallocs; i++)
            if (!(allocs[i]->flags & KB_VARIANT)) base[nb++] = allocs[i];
        kb_trace_replay(base, nb, files, n, opt.quick ? 1 : 3, opt.quick, csv);
        /* Fit on real traces: every configuration, hardening levels too. */
        FILE *mcsv = kb_csv(opt.out, "traces_arena.csv",
                            "trace,allocator,arena_bytes,peak_live_bytes,arena_over_peak_live");
        kb_printf("\n### Smallest arena per trace\n\nThe smallest arena in which the whole trace "
                  "replays (every allocation and realloc succeeds), found by bisection to 1/2000 "
                  "of the trace's peak live bytes, over those bytes. Blocks at the alignment the "
                  "trace asks for (malloc's 16 bytes by default on LP64).\n");
        kb_trace_min_arena(allocs, nallocs, files, n, mcsv);
        fclose(mcsv);
    }
    fclose(csv);
    globfree(&g);
}

/* ---- main ----------------------------------------------------------------- */

static void usage(void)
{
    fprintf(stderr, "usage: kh_bench [--quick] [--out DIR] [--alloc a,b] [--seed N] "
                    "efficiency|random|latency|threads|frag|collections|traces|all\n"
                    "       kh_bench [options] replay TRACE.kht[.gz]...\n"
                    "       kh_bench convert RAW KHT\n");
    exit(1);
}

/* jemalloc uses initial-exec TLS, which dlopen can only satisfy from glibc's
 * static TLS reserve: re-run once with a larger reserve (a glibc tunable, no
 * effect on anything else) so every competitor loads privately. */
static void reexec_for_tls(char **argv)
{
    if (getenv("KB_REEXEC")) return;
    const char *old = getenv("GLIBC_TUNABLES");
    char buf[1024];
    snprintf(buf, sizeof buf, "%s%sglibc.rtld.optional_static_tls=65536", old ? old : "",
             old ? ":" : "");
    setenv("GLIBC_TUNABLES", buf, 1);
    setenv("KB_REEXEC", "1", 1);
    execv("/proc/self/exe", argv);
    /* exec failed: carry on, jemalloc will be reported as not loaded */
}

int main(int argc, char **argv)
{
    const char *cmd = NULL;
    const char *files[64];
    size_t nfiles = 0;
    reexec_for_tls(argv);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0)
            opt.quick = true;
        else if (strcmp(argv[i], "--out") == 0 && i + 1 < argc)
            opt.out = argv[++i];
        else if (strcmp(argv[i], "--alloc") == 0 && i + 1 < argc)
            opt.only = argv[++i];
        else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc)
            opt.seed = strtoull(argv[++i], NULL, 0);
        else if (argv[i][0] != '-' && !cmd)
            cmd = argv[i];
        else if (argv[i][0] != '-' && nfiles < 64)
            files[nfiles++] = argv[i];
        else
            usage();
    }
    if (!cmd) usage();
    if (strcmp(cmd, "__replay") == 0) {
        if (nfiles != 3) usage();
        return kb_trace_replay_child(files[0], files[1], atoi(files[2]));
    }
    if (strcmp(cmd, "convert") == 0) {
        if (nfiles != 2) usage();
        return kb_trace_convert(files[0], files[1]);
    }
    const kb_alloc *all[32];
    size_t n = kb_alloc_list(all, 32);
    for (size_t i = 0; i < n; i++) {
        if (!want(all[i])) continue;
        if (!(all[i]->flags & KB_MT_ONLY)) allocs[nallocs++] = all[i];
        if (all[i]->flags & KB_THREADS) mt_allocs[nmt++] = all[i];
    }
    if (!nallocs) usage();

    mkdir(opt.out, 0777);
    kb_summary_open(opt.out, cmd, argc, argv);
    bool all_ = strcmp(cmd, "all") == 0, any = false;
    if (all_ || strcmp(cmd, "efficiency") == 0) run_efficiency(), any = true;
    if (all_ || strcmp(cmd, "random") == 0) run_random(), any = true;
    if (all_ || strcmp(cmd, "latency") == 0) run_latency(), any = true;
    if (all_ || strcmp(cmd, "threads") == 0) run_threads(), any = true;
    if (all_ || strcmp(cmd, "frag") == 0) run_frag(), any = true;
    if (all_ || strcmp(cmd, "collections") == 0) run_collections(), any = true;
    if (all_ || strcmp(cmd, "traces") == 0) run_traces(NULL, 0), any = true;
    if (strcmp(cmd, "replay") == 0 && nfiles) run_traces(files, nfiles), any = true;
    if (!any) usage();
    kb_summary_close();
    return 0;
}
