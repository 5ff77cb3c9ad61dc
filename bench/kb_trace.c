/* SPDX-License-Identifier: MIT */
/* kheap benchmark: allocation traces of real programs.
 *
 * convert: raw recorder events (trace_recorder.c) -> compact trace (.kht):
 *   "KHT1\n", then one record per event, an op byte and LEB128 varints:
 *     'm' size          allocate (malloc, calloc: zeroed by the replayer)
 *     'z' size          allocate zeroed (calloc)
 *     'a' align size    allocate aligned
 *     'r' id size       reallocate block id (the old id dies)
 *     'f' id            free block id
 *   Every allocation (m, z, a, r) creates the next id, counting from 0.
 *   Events on pointers the program got before recording began are dropped.
 * replay: runs a trace through an allocator in a fresh exec'd process (so
 *   each one starts clean) and reports the time and the peak resident
 *   memory the replay added (VmHWM after clear_refs), over the trace's peak
 *   live requested bytes. Every new block gets one byte written per 4 KiB so
 *   its pages count as resident, like a program that uses its memory.
 */
#include "kb_trace.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kb_util.h"

/* Memory for the tools' own big arrays comes from mmap, so the replayed
 * allocator's footprint is not mixed with glibc's. */
static void *map(size_t bytes)
{
    void *p = mmap(NULL, bytes ? bytes : 1, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) {
        perror("mmap");
        exit(1);
    }
    return p;
}

/* Whole file (gunzipped through gzip -dc when it ends in .gz). */
static unsigned char *slurp(const char *path, size_t *len)
{
    size_t l = strlen(path), cap = 1 << 20, n = 0;
    bool gz = l > 3 && strcmp(path + l - 3, ".gz") == 0;
    FILE *f;
    if (gz) {
        char cmd[4200];
        int k = snprintf(cmd, sizeof cmd, "gzip -dc '%s'", path);
        f = k > 0 && (size_t)k < sizeof cmd ? popen(cmd, "r") : NULL;
    } else {
        f = fopen(path, "rb");
    }
    if (!f) {
        perror(path);
        exit(1);
    }
    unsigned char *b = map(cap);
    for (;;) {
        if (n == cap) {
            unsigned char *nb = map(cap * 2);
            memcpy(nb, b, n);
            munmap(b, cap);
            b = nb;
            cap *= 2;
        }
        size_t r = fread(b + n, 1, cap - n, f);
        if (r == 0) break;
        n += r;
    }
    if (gz ? pclose(f) != 0 : fclose(f) != 0) {
        fprintf(stderr, "%s: read error\n", path);
        exit(1);
    }
    *len = n;
    return b;
}

/* ---- convert --------------------------------------------------------------- */

struct raw {
    uint64_t op, a, b, r;
};

/* pointer -> id, open addressing with deletion by backward shift */
struct pmap {
    uint64_t *key, *val;
    size_t cap, n;
};

static size_t ph(uint64_t k, size_t cap)
{
    return (size_t)((k >> 4) * 0x9e3779b97f4a7c15ull) & (cap - 1);
}

static void pm_put(struct pmap *m, uint64_t k, uint64_t v);

static void pm_grow(struct pmap *m)
{
    struct pmap o = *m;
    m->cap = o.cap ? o.cap * 2 : 1 << 16;
    m->key = map(m->cap * 8);
    m->val = map(m->cap * 8);
    m->n = 0;
    for (size_t i = 0; i < o.cap; i++)
        if (o.key[i]) pm_put(m, o.key[i], o.val[i]);
    if (o.cap) {
        munmap(o.key, o.cap * 8);
        munmap(o.val, o.cap * 8);
    }
}

static void pm_put(struct pmap *m, uint64_t k, uint64_t v)
{
    if ((m->n + 1) * 2 > m->cap) pm_grow(m);
    size_t i = ph(k, m->cap);
    while (m->key[i] && m->key[i] != k) i = (i + 1) & (m->cap - 1);
    if (!m->key[i]) m->n++;
    m->key[i] = k;
    m->val[i] = v;
}

/* Remove k; returns its id or -1. */
static int64_t pm_take(struct pmap *m, uint64_t k)
{
    if (!m->cap) return -1;
    size_t i = ph(k, m->cap);
    while (m->key[i] != k) {
        if (!m->key[i]) return -1;
        i = (i + 1) & (m->cap - 1);
    }
    int64_t v = (int64_t)m->val[i];
    m->key[i] = 0;
    m->n--;
    for (size_t j = (i + 1) & (m->cap - 1); m->key[j]; j = (j + 1) & (m->cap - 1)) {
        size_t h = ph(m->key[j], m->cap);
        /* move j back to i when its home is not in (i, j] */
        if ((j > i && (h <= i || h > j)) || (j < i && (h <= i && h > j))) {
            m->key[i] = m->key[j];
            m->val[i] = m->val[j];
            m->key[j] = 0;
            i = j;
        }
    }
    return v;
}

static void put_var(FILE *f, uint64_t v)
{
    do {
        unsigned char c = v & 0x7f;
        v >>= 7;
        if (v) c |= 0x80;
        fputc(c, f);
    } while (v);
}

int kb_trace_convert(const char *in, const char *out)
{
    size_t len;
    unsigned char *b = slurp(in, &len);
    FILE *f = fopen(out, "wb");
    if (!f) {
        perror(out);
        return 1;
    }
    fputs("KHT1\n", f);
    struct pmap m = {0};
    uint64_t next = 0, events = 0;
    for (size_t off = 0; off + sizeof(struct raw) <= len; off += sizeof(struct raw)) {
        struct raw e;
        memcpy(&e, b + off, sizeof e);
        switch (e.op) {
        case 'm':
        case 'c':
        case 'a': {
            if (!e.r) break;
            uint64_t size = e.a;
            if (e.op == 'c') {
                if (e.b && e.a > UINT64_MAX / e.b) break;
                size = e.a * e.b;
            }
            fputc(e.op == 'c' ? 'z' : (int)e.op, f);
            if (e.op == 'a') {
                put_var(f, e.a);
                size = e.b;
            }
            put_var(f, size);
            pm_put(&m, e.r, next++);
            events++;
            break;
        }
        case 'r': {
            if (e.b && !e.r) break; /* failed: the old block stays */
            int64_t id = e.a ? pm_take(&m, e.a) : -1;
            if (!e.b) { /* realloc(p, 0) freed p */
                if (id >= 0) fputc('f', f), put_var(f, (uint64_t)id), events++;
                break;
            }
            if (id >= 0) {
                fputc('r', f);
                put_var(f, (uint64_t)id);
            } else {
                fputc('m', f);
            }
            put_var(f, e.b);
            pm_put(&m, e.r, next++);
            events++;
            break;
        }
        case 'f': {
            int64_t id = pm_take(&m, e.a);
            if (id >= 0) fputc('f', f), put_var(f, (uint64_t)id), events++;
            break;
        }
        default:
            fprintf(stderr, "%s: bad record at %zu\n", in, off);
            return 1;
        }
    }
    fclose(f);
    fprintf(stderr, "%s: %llu events, %llu blocks, %zu still live at exit\n", out,
            (unsigned long long)events, (unsigned long long)next, m.n);
    return 0;
}

/* ---- replay ---------------------------------------------------------------- */

struct op {
    uint32_t id, old; /* new id; old id for realloc/free */
    uint32_t align;   /* 0 default */
    char kind;        /* m z a r f */
    uint64_t size;
};

struct trace {
    struct op *ops;
    size_t nops, nids, ops_bytes;
    uint64_t peak_live, total_alloc;
};

static uint64_t get_var(const unsigned char *b, size_t len, size_t *i)
{
    uint64_t v = 0;
    for (unsigned sh = 0; *i < len && sh < 64; sh += 7) {
        unsigned char c = b[(*i)++];
        v |= (uint64_t)(c & 0x7f) << sh;
        if (!(c & 0x80)) break;
    }
    return v;
}

static bool load(const char *path, struct trace *t)
{
    size_t len;
    unsigned char *b = slurp(path, &len);
    if (len < 5 || memcmp(b, "KHT1\n", 5) != 0) {
        fprintf(stderr, "%s: not a KHT1 trace\n", path);
        return false;
    }
    size_t cap = len; /* at least 2 bytes per record */
    t->ops_bytes = cap / 2 * sizeof(struct op) + sizeof(struct op);
    t->ops = map(t->ops_bytes);
    uint64_t *sizes = NULL, live = 0;
    t->nops = t->nids = 0;
    t->peak_live = t->total_alloc = 0;
    size_t nalloc_ids = len; /* upper bound on ids */
    sizes = map(nalloc_ids * sizeof *sizes);
    for (size_t i = 5; i < len;) {
        struct op o = {0};
        o.kind = (char)b[i++];
        if (o.kind == 'a') o.align = (uint32_t)get_var(b, len, &i);
        if (o.kind == 'r' || o.kind == 'f') {
            o.old = (uint32_t)get_var(b, len, &i);
            if (o.old >= t->nids) {
                fprintf(stderr, "%s: bad id\n", path);
                return false;
            }
            live -= sizes[o.old];
        }
        if (o.kind != 'f') {
            o.size = get_var(b, len, &i);
            o.id = (uint32_t)t->nids++;
            sizes[o.id] = o.size;
            live += o.size;
            t->total_alloc += o.size;
            if (live > t->peak_live) t->peak_live = live;
        }
        t->ops[t->nops++] = o;
    }
    munmap(sizes, nalloc_ids * sizeof *sizes);
    munmap(b, len);
    return true;
}

static long status_kb(const char *key)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long v = -1;
    size_t kl = strlen(key);
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, key, kl) == 0) v = strtol(line + kl, NULL, 10);
    if (f) fclose(f);
    return v;
}

struct blkinfo {
    void *p;
    uint64_t size;
    uint32_t align;
};

static void touch(unsigned char *p, uint64_t size)
{
    for (uint64_t o = 0; o < size; o += 4096) p[o] = 1;
    if (size) p[size - 1] = 1;
}

/* In the child: replay once, report seconds and footprint through fd. */
static void replay_child(const kb_alloc *a, const struct trace *t, int fd)
{
    size_t arena_bytes = (size_t)4 << 30;
    void *arena = NULL;
    if (a->flags & KB_ARENA) arena = map(arena_bytes); /* untouched: counts as it is used */
    struct blkinfo *v = map(t->nids * sizeof *v + 1);
    memset(v, 0, t->nids * sizeof *v);
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (f) fputs("5", f), fclose(f);
    long base = status_kb("VmRSS:");
    void *ctx = a->setup(arena, arena_bytes);
    uint64_t failed = 0;
    double t0 = kb_cpu_now();
    for (size_t i = 0; i < t->nops; i++) {
        const struct op *o = &t->ops[i];
        switch (o->kind) {
        case 'f':
            a->free(ctx, v[o->old].p, v[o->old].size, v[o->old].align);
            v[o->old].p = NULL;
            break;
        case 'r': {
            struct blkinfo *b = &v[o->old];
            void *p = b->p ? a->realloc(ctx, b->p, b->size, o->size, b->align)
                           : a->alloc(ctx, o->size, 0);
            if (!p) {
                failed++;
                v[o->id] = *b;
                b->p = NULL;
                break;
            }
            if (o->size > b->size) touch((unsigned char *)p + b->size, o->size - b->size);
            v[o->id] = (struct blkinfo){p, o->size, b->align};
            b->p = NULL;
            break;
        }
        default: {
            void *p = a->alloc(ctx, o->size, o->align);
            if (!p) {
                failed++;
                break;
            }
            if (o->kind == 'z')
                memset(p, 0, o->size);
            else
                touch(p, o->size);
            v[o->id] = (struct blkinfo){p, o->size, o->align};
        }
        }
    }
    double secs = kb_cpu_now() - t0;
    long hwm = status_kb("VmHWM:");
    char msg[128];
    int n = snprintf(msg, sizeof msg, "%.6f %ld %llu\n", secs, (hwm - base) * 1024,
                     (unsigned long long)failed);
    if (write(fd, msg, (size_t)n) != n) _exit(1);
    _exit(0);
}

/* Each replay runs in a freshly exec'd kh_bench (`__replay` subcommand), not a
 * plain fork: memory that glibc or a competitor cached for earlier workloads
 * of this process would otherwise be reused without showing as new RSS. */
static bool replay_once(const kb_alloc *a, const char *path, double *secs, double *foot,
                        uint64_t *failed)
{
    int p[2];
    if (pipe(p) != 0) return false;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) return false;
    if (pid == 0) {
        char fd[16];
        close(p[0]);
        snprintf(fd, sizeof fd, "%d", p[1]);
        execl("/proc/self/exe", "kh_bench", "__replay", path, a->name, fd, (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    char msg[128] = {0};
    ssize_t n = read(p[0], msg, sizeof msg - 1);
    close(p[0]);
    int st;
    waitpid(pid, &st, 0);
    unsigned long long fl = 0;
    if (n <= 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0 ||
        sscanf(msg, "%lf %lf %llu", secs, foot, &fl) != 3)
        return false;
    *failed = fl;
    return true;
}

/* A trace's name in the tables: its file name without directory and .kht. */
static void trace_name(const char *path, char *name, size_t size)
{
    const char *base = strrchr(path, '/');
    snprintf(name, size, "%s", base ? base + 1 : path);
    char *dot = strstr(name, ".kht");
    if (dot) *dot = 0;
}

int kb_trace_replay_child(const char *path, const char *alloc, int fd)
{
    struct trace t;
    const kb_alloc *a = kb_alloc_find(alloc);
    if (!a || !load(path, &t)) return 1;
    replay_child(a, &t, fd);
    return 1; /* not reached */
}

void kb_trace_replay(const kb_alloc *const *allocs, size_t nallocs, const char *const *files,
                     size_t nfiles, unsigned reps, bool quick, FILE *csv)
{
    kb_printf("\n| trace | events | peak live | allocator | time ms | footprint | "
              "footprint / peak live |\n|---|---:|---:|---|---:|---:|---:|\n");
    for (size_t k = 0; k < nfiles; k++) {
        struct trace t;
        if (!load(files[k], &t)) continue;
        char name[256];
        trace_name(files[k], name, sizeof name);
        for (size_t i = 0; i < nallocs; i++) {
            const kb_alloc *a = allocs[i];
            /* O(n) allocators take seconds on the big trace: once, and not in --quick */
            unsigned nrep = (a->flags & KB_SLOW) ? 1 : reps;
            if ((a->flags & KB_SLOW) && quick) continue;
            double best = 1e30, foot = 0;
            uint64_t failed = 0;
            bool ok = true;
            for (unsigned r = 0; r < nrep && ok; r++) {
                double s, fp;
                ok = replay_once(a, files[k], &s, &fp, &failed);
                if (ok && s < best) best = s, foot = fp;
            }
            if (!ok) {
                kb_printf("| %s | | | %s | failed | | |\n", name, a->name);
                continue;
            }
            kb_printf("| %s | %zu | %.1f MiB | %s | %.1f | %.1f MiB | %.2f |\n", name, t.nops,
                      (double)t.peak_live / 1048576.0, a->name, best * 1e3, foot / 1048576.0,
                      foot / (double)t.peak_live);
            fprintf(csv, "%s,%zu,%llu,%s,%.6f,%.0f,%.4f,%llu\n", name, t.nops,
                    (unsigned long long)t.peak_live, a->name, best, foot,
                    foot / (double)t.peak_live, (unsigned long long)failed);
        }
        munmap(t.ops, t.ops_bytes);
    }
}

/* ---- smallest arena ----------------------------------------------------------
 * Whether the whole trace replays in an arena of bytes: every allocation and
 * realloc succeeds. In this process (the arena allocators keep no state
 * outside their arena), the blocks' contents untouched. */
static bool fits_in(const kb_alloc *a, const struct trace *t, unsigned char *arena, size_t bytes,
                    struct blkinfo *v)
{
    void *ctx = a->setup(arena, bytes);
    if (!ctx) return false;
    memset(v, 0, t->nids * sizeof *v);
    bool ok = true;
    for (size_t i = 0; i < t->nops && ok; i++) {
        const struct op *o = &t->ops[i];
        if (o->kind == 'f') {
            a->free(ctx, v[o->old].p, v[o->old].size, v[o->old].align);
            v[o->old].p = NULL;
        } else if (o->kind == 'r') {
            struct blkinfo *b = &v[o->old];
            void *p = b->p ? a->realloc(ctx, b->p, b->size, o->size, b->align)
                           : a->alloc(ctx, o->size, 0);
            ok = p != NULL;
            v[o->id] = (struct blkinfo){p, o->size, b->align};
            b->p = NULL;
        } else {
            void *p = a->alloc(ctx, o->size, o->align);
            ok = p != NULL;
            v[o->id] = (struct blkinfo){p, o->size, o->align};
        }
    }
    a->teardown(ctx);
    return ok;
}

/* TLSF 3.1's smallest arena over peak live bytes on the project's traces,
 * measured the same way outside this repository (docs/BENCHMARKS.md,
 * "Targets and peers"): the target kheap's default build is held to. */
static const struct {
    const char *trace;
    double ratio;
} tlsf_ratio[] = {{"python3-json", 1.1584}, {"sqlite3-batch", 1.0131}, {"gcc-cc1-heap", 1.0255}};

void kb_trace_min_arena(const kb_alloc *const *allocs, size_t nallocs, const char *const *files,
                        size_t nfiles, FILE *csv)
{
    kb_printf(
        "\n| trace | allocator | smallest arena | arena / peak live |\n|---|---|---:|---:|\n");
    for (size_t k = 0; k < nfiles; k++) {
        struct trace t;
        if (!load(files[k], &t)) continue;
        char name[256];
        trace_name(files[k], name, sizeof name);
        size_t hi_cap = (size_t)t.peak_live * 4 + ((size_t)1 << 20);
        unsigned char *arena = map(hi_cap);
        struct blkinfo *v = map(t.nids * sizeof *v + 1);
        for (size_t i = 0; i < nallocs; i++) {
            const kb_alloc *a = allocs[i];
            if (!(a->flags & KB_ARENA) || (a->flags & KB_SLOW)) continue;
            /* Bisection between the peak live bytes (never enough: headers)
             * and four times that, to 1/2000 of the peak. */
            size_t lo = (size_t)t.peak_live, hi = hi_cap, tol = lo / 2000 + 64;
            if (!fits_in(a, &t, arena, hi, v)) {
                kb_printf("| %s | %s | over %zu | |\n", name, a->name, hi);
                continue;
            }
            while (hi - lo > tol) {
                size_t mid = lo + (hi - lo) / 2;
                if (fits_in(a, &t, arena, mid, v))
                    hi = mid;
                else
                    lo = mid;
            }
            kb_printf("| %s | %s | %zu | %.4f |\n", name, a->name, hi,
                      (double)hi / (double)t.peak_live);
            double r = (double)hi / (double)t.peak_live;
            fprintf(csv, "%s,%s,%zu,%llu,%.4f\n", name, a->name, hi,
                    (unsigned long long)t.peak_live, r);
            for (size_t j = 0; j < sizeof tlsf_ratio / sizeof tlsf_ratio[0]; j++)
                if (strcmp(a->name, "kheap") == 0 && strcmp(name, tlsf_ratio[j].trace) == 0)
                    kb_target(r <= tlsf_ratio[j].ratio, kb_fmt("%.4f", r),
                              "smallest arena / peak live, %s: kheap <= TLSF 3.1's %.4f", name,
                              tlsf_ratio[j].ratio);
        }
        munmap(v, t.nids * sizeof *v + 1);
        munmap(arena, hi_cap);
        munmap(t.ops, t.ops_bytes);
    }
}
