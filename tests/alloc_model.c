/* SPDX-License-Identifier: MIT */
/* Shadow-model random test and fault-injection driver: see alloc_model.h. */
#include "alloc_model.h"

#include "kh_test.h"
#include "kheap/error.h"

struct blk {
    unsigned char *p;
    size_t size;
    size_t align;
    unsigned char pat;
};

static struct blk live[KH_MODEL_MAX_LIVE];
static size_t nlive;
/* Recently freed blocks: the stale pointers of adversarial mode. */
#define MODEL_HIST 64
static struct blk hist[MODEL_HIST];
static size_t nhist, hist_pos;
/* Memory no allocator owns: foreign pointers point here. */
static _Alignas(4096) unsigned char foreign_buf[8192];
static uint64_t rng;
/* Script mode (cfg->script set): draws read bytes from here instead. */
static const uint8_t *script;
static size_t script_len, script_pos;

static uint64_t next_rand(void)
{
    uint64_t z = (rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* The next `bytes` script bytes, little-endian; 0 past the end. */
static uint64_t script_take(unsigned bytes)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < bytes && script_pos < script_len; i++)
        v |= (uint64_t)script[script_pos++] << (8 * i);
    return v;
}

/* A draw in [0, n): one next_rand() (exactly as before scripts existed, so
 * seeded runs keep their sequence), or the fewest script bytes that can
 * express n - 1. */
static size_t below(size_t n)
{
    if (!n) return 0;
    if (!script) return (size_t)(next_rand() % n);
    unsigned bytes = 1;
    while (bytes < 8 && ((uint64_t)(n - 1) >> (8 * bytes)) != 0) bytes++;
    return (size_t)(script_take(bytes) % n);
}

/* A fill pattern: one next_rand(), or one script byte. */
static unsigned char rand_byte(void)
{
    return script ? (unsigned char)script_take(1) : (unsigned char)next_rand();
}

static bool script_done(void)
{
    return script && script_pos >= script_len;
}

static void fill(struct blk *b, size_t from)
{
    for (size_t j = from; j < b->size; j++) b->p[j] = (unsigned char)(b->pat + j);
}

static bool intact(const struct blk *b, size_t upto)
{
    for (size_t j = 0; j < upto; j++)
        if (b->p[j] != (unsigned char)(b->pat + j)) return false;
    return true;
}

static bool aligned(const void *p, size_t align)
{
    return ((uintptr_t)p & ((align ? align : KH_ALIGN_DEFAULT) - 1)) == 0;
}

/* True when [p, p + size) overlaps a live block other than skip. */
static bool overlaps(const unsigned char *p, size_t size, size_t skip)
{
    if (!size) return false;
    for (size_t i = 0; i < nlive; i++) {
        if (i == skip || !live[i].size) continue;
        if (p < live[i].p + live[i].size && live[i].p < p + size) return true;
    }
    return false;
}

/* Mostly small sizes, sometimes up to max. */
static size_t rand_size(size_t max)
{
    size_t r = below(10), lim = r < 6 ? 64 : r < 9 ? 512 : max;
    if (lim > max) lim = max;
    return below(lim + 1);
}

struct run {
    const struct kh_model_config *cfg;
    kh_allocator a;
    struct kh_fault *fault; /* NULL: failures are real */
    struct kh_model_result *res;
    size_t max_size;
};

/* A failure is acceptable when the configuration says so or it was injected. */
static bool may_fail(struct run *r, unsigned long long failures_before)
{
    return r->cfg->may_fail || (r->fault && r->fault->failures != failures_before);
}

static const char *all_intact(void)
{
    for (size_t i = 0; i < nlive; i++)
        if (!intact(&live[i], live[i].size)) return "block contents changed";
    return NULL;
}

static const char *run_check(struct run *r)
{
    const char *e = all_intact();
    if (e) return e;
    r->res->checks++;
    if (r->cfg->check) {
        int c = r->cfg->check(r->cfg->check_ctx);
        if (c) {
            r->res->check_code = c;
            return "allocator check callback failed";
        }
    }
    return NULL;
}

static const char *op_alloc(struct run *r)
{
    const struct kh_model_config *c = r->cfg;
    size_t size = rand_size(r->max_size), align = 0;
    if (c->max_align_log2 && below(2)) align = (size_t)1 << below(c->max_align_log2 + 1);
    unsigned long long fb = r->fault ? r->fault->failures : 0;
    unsigned char *p = kh_alloc(r->a, size, align);
    r->res->allocs++;
    if (!p) {
        r->res->alloc_failures++;
        return may_fail(r, fb) ? NULL : "allocation failed unexpectedly";
    }
    if (!aligned(p, align)) return "allocation misaligned";
    if (overlaps(p, size, (size_t)-1)) return "allocation overlaps a live block";
    struct blk *b = &live[nlive++];
    b->p = p;
    b->size = size;
    b->align = align;
    b->pat = rand_byte();
    fill(b, 0);
    return NULL;
}

static void remember_freed(const struct blk *b)
{
    hist[hist_pos] = *b;
    hist_pos = (hist_pos + 1) % MODEL_HIST;
    if (nhist < MODEL_HIST) nhist++;
}

static void drop(size_t i)
{
    live[i] = live[--nlive];
}

static const char *op_free(struct run *r, size_t i)
{
    struct blk *b = &live[i];
    if (!intact(b, b->size)) return "block contents changed before free";
    kh_free(r->a, b->p, b->size, b->align);
    r->res->frees++;
    remember_freed(b);
    drop(i);
    return NULL;
}

static const char *op_resize(struct run *r, size_t i)
{
    struct blk *b = &live[i];
    size_t ns = rand_size(r->max_size);
    r->res->resizes++;
    if (!kh_resize(r->a, b->p, b->size, ns, b->align)) {
        r->res->resize_failures++;
        return intact(b, b->size) ? NULL : "failed resize changed the block";
    }
    size_t keep = ns < b->size ? ns : b->size;
    if (!intact(b, keep)) return "resize changed the block's contents";
    b->size = ns;
    if (overlaps(b->p, ns, i)) return "resized block overlaps a live block";
    fill(b, keep);
    return NULL;
}

static const char *op_realloc(struct run *r, size_t i)
{
    struct blk *b = &live[i];
    size_t ns = rand_size(r->max_size);
    unsigned long long fb = r->fault ? r->fault->failures : 0;
    unsigned char *p = kh_realloc(r->a, b->p, b->size, ns, b->align, 0);
    r->res->reallocs++;
    if (!p) {
        r->res->realloc_failures++;
        if (!intact(b, b->size)) return "failed realloc changed the old block";
        return may_fail(r, fb) ? NULL : "realloc failed unexpectedly";
    }
    if (!aligned(p, b->align)) return "realloc result misaligned";
    size_t keep = ns < b->size ? ns : b->size;
    if (p != b->p) remember_freed(b); /* moved: the old pointer is stale */
    b->p = p;
    b->size = ns;
    if (!intact(b, keep)) return "realloc lost the block's contents";
    if (overlaps(p, ns, i)) return "realloc result overlaps a live block";
    fill(b, keep);
    return NULL;
}

/* ---- adversarial mode ---- */

static unsigned mu_reports;

static void mu_hook(int code, const char *what, const void *ptr)
{
    (void)code, (void)what, (void)ptr;
    mu_reports++;
}

static size_t extent_of(const struct kh_model_config *c, size_t size, size_t align)
{
    return c->misuse.extent ? c->misuse.extent(size, align) : size;
}

/* True when [p, p + n) overlaps the extent of a live block other than skip. */
static bool overlaps_extent(const struct kh_model_config *c, const unsigned char *p, size_t n,
                            size_t skip)
{
    if (!n) return false;
    for (size_t i = 0; i < nlive; i++) {
        if (i == skip) continue;
        size_t e = extent_of(c, live[i].size, live[i].align);
        if (e && p < live[i].p + e && live[i].p < p + n) return true;
    }
    return false;
}

static bool starts_live(const unsigned char *p)
{
    for (size_t i = 0; i < nlive; i++)
        if (live[i].p == p) return true;
    return false;
}

static int class_index_of(unsigned cls)
{
    int i = 0;
    while (!(cls & 1u)) {
        cls >>= 1;
        i++;
    }
    return i;
}

/* Give (p, size, align) back the wrong way, through free, resize or
 * realloc, and check that it was reported (unless silent) and harmless. */
static const char *misuse_call(struct run *r, unsigned cls, unsigned char *p, size_t size,
                               size_t align)
{
    const struct kh_model_misuse *m = &r->cfg->misuse;
    size_t before[KH_MODEL_STATS] = {0}, after[KH_MODEL_STATS] = {0};
    if (m->stats) m->stats(m->stats_ctx, before);
    bool silent = (m->silent & cls) != 0, compare = true;
    const char *e = NULL;
    unsigned how = (unsigned)below(3);
    size_t ns = rand_size(r->max_size);
    mu_reports = 0;
    kh_error_hook_fn prev = kh_set_error_hook(mu_hook);
    if (how == 0) {
        kh_free(r->a, p, size, align);
    } else if (how == 1) {
        if (kh_resize(r->a, p, size, ns, align) && !silent) e = "misuse: resize accepted";
    } else {
        unsigned char *q = kh_realloc(r->a, p, size, ns, align, 0);
        if (q == p && !mu_reports && size) {
            /* Accepted in place without a word: only an allocator that
             * ignores the call (bump shrinking a block that is not last). */
            if (!silent) e = "misuse: realloc accepted the pointer";
        } else if (q) {
            /* A new block from kh_realloc's move (the allocator cannot vet
             * pointers; at the same address when the bad one was free, or
             * held no bytes). */
            compare = false;
            if (overlaps(q, ns, (size_t)-1)) e = "misuse: realloc result overlaps a live block";
            kh_free(r->a, q, ns, align);
        }
    }
    kh_set_error_hook(prev);
    r->res->misuses++;
    r->res->misuse_by_class[class_index_of(cls)]++;
    if (mu_reports) r->res->misuse_reported++;
    if (!e && !mu_reports && !silent) e = "misuse not reported";
    if (!e && compare && m->stats) {
        m->stats(m->stats_ctx, after);
        for (unsigned i = 0; i < KH_MODEL_STATS; i++)
            if (before[i] != after[i]) e = "misuse changed the allocator's statistics";
    }
    if (!e && all_intact()) e = "misuse changed a live block";
    if (!e && r->cfg->check) {
        int cc = r->cfg->check(r->cfg->check_ctx);
        if (cc) {
            r->res->check_code = cc;
            e = "allocator check failed after a misuse";
        }
    }
    if (e) {
        r->res->misuse_class = cls;
        r->res->misuse_how = how;
    }
    return e;
}

/* Free live block i validly; with `merge`, its address neighbours too, so
 * a coalescing allocator merges it. Returns the freed block. */
static struct blk free_for_double(struct run *r, size_t i, bool merge, const char **e)
{
    struct blk b = live[i];
    *e = op_free(r, i);
    if (*e || !merge) return b;
    size_t below_i = (size_t)-1, above_i = (size_t)-1;
    for (size_t j = 0; j < nlive; j++) {
        if (live[j].p < b.p && (below_i == (size_t)-1 || live[j].p > live[below_i].p)) below_i = j;
        if (live[j].p > b.p && (above_i == (size_t)-1 || live[j].p < live[above_i].p)) above_i = j;
    }
    /* Free the higher index first: drop() moves the last entry. */
    size_t first = below_i, second = above_i;
    if (first != (size_t)-1 && second != (size_t)-1 && first < second) {
        first = above_i;
        second = below_i;
    }
    if (first != (size_t)-1) *e = op_free(r, first);
    if (!*e && second != (size_t)-1) *e = op_free(r, second);
    return b;
}

static const char *op_misuse(struct run *r)
{
    const struct kh_model_config *c = r->cfg;
    const struct kh_model_misuse *m = &c->misuse;
    unsigned cls = 0;
    for (int tries = 0; tries < 8 && !(cls & m->classes); tries++) cls = 1u << below(5);
    if (!(cls & m->classes)) return NULL;
    const char *e = NULL;
    switch (cls) {
    case KH_MISUSE_DOUBLE: {
        if (!nlive) return NULL;
        struct blk b = free_for_double(r, below(nlive), below(2) != 0, &e);
        if (e) return e;
        if (starts_live(b.p)) return NULL; /* cannot happen: nothing allocated since */
        return misuse_call(r, cls, b.p, b.size, b.align);
    }
    case KH_MISUSE_STALE: {
        if (!nhist) return NULL;
        const struct blk *b = &hist[below(nhist)];
        if (starts_live(b->p)) return NULL; /* handed out again: its owner's now */
        if (!m->reuse_ok && overlaps_extent(c, b->p, extent_of(c, b->size, b->align), (size_t)-1))
            return NULL;
        struct blk copy = *b;
        return misuse_call(r, cls, copy.p, copy.size, copy.align);
    }
    case KH_MISUSE_INTERIOR: {
        if (!nlive) return NULL;
        struct blk *b = &live[below(nlive)];
        if (b->size < 2) return NULL;
        size_t off = 1 + below(b->size - 1);
        if (below(2) && b->size > KH_ALIGN_DEFAULT)
            off = KH_ALIGN_DEFAULT * (1 + below((b->size - 1) / KH_ALIGN_DEFAULT));
        return misuse_call(r, cls, b->p + off, b->size - off, 0);
    }
    case KH_MISUSE_FOREIGN: {
        size_t size = 1 + below(256);
        if (m->foreign.ops && below(2)) {
            unsigned char *q = kh_alloc(m->foreign, size, 0);
            if (!q) return NULL;
            e = misuse_call(r, cls, q, size, 0);
            kh_free(m->foreign, q, size, 0);
            return e;
        }
        unsigned char *q =
            foreign_buf + KH_ALIGN_DEFAULT * below((sizeof foreign_buf - 256) / KH_ALIGN_DEFAULT);
        return misuse_call(r, cls, q, size, 0);
    }
    default: { /* KH_MISUSE_WRONG_SIZE */
        if (!nlive) return NULL;
        size_t i = below(nlive);
        struct blk b = live[i];
        size_t ext = extent_of(c, b.size, b.align);
        for (int tries = 0; tries < 8; tries++) {
            size_t ws = below(2) ? rand_size(r->max_size) : b.size * 2 + 1 + below(64);
            if (ws == b.size || (m->same_size && m->same_size(b.size, ws, b.align))) continue;
            size_t wext = extent_of(c, ws, b.align);
            if (m->bigger_only && wext <= ext) continue;
            if (wext > ext && overlaps_extent(c, b.p + ext, wext - ext, i)) continue;
            return misuse_call(r, cls, b.p, ws, b.align);
        }
        return NULL;
    }
    }
}

/* One full sequence; frees everything at the end. */
static void run_sequence(struct run *r)
{
    const struct kh_model_config *c = r->cfg;
    size_t max_live = c->max_live ? c->max_live : 256;
    if (max_live > KH_MODEL_MAX_LIVE) max_live = KH_MODEL_MAX_LIVE;
    const char *e = NULL;
    size_t op;
    r->max_size = c->max_size ? c->max_size : 1024;
    nlive = 0;
    nhist = hist_pos = 0;
    /* No misuse under fault injection: the fault wrapper counts every free. */
    bool adversarial = c->misuse.classes && !r->fault;
    size_t every = c->misuse.every ? c->misuse.every : 8;
    for (op = 0; op < c->ops && !e && !script_done(); op++) {
        unsigned long long fb = r->fault ? r->fault->failures : 0;
        if (adversarial && below(every) == 0) {
            e = op_misuse(r);
            continue;
        }
        size_t w = below(100);
        if (nlive == 0 || (w < 45 && nlive < max_live))
            e = op_alloc(r);
        else if (w < 75 || nlive >= max_live)
            e = op_free(r, below(nlive));
        else if (w < 87 && !c->no_resize)
            e = op_resize(r, below(nlive));
        else
            e = op_realloc(r, below(nlive));
        /* Right after an injected failure everything must still be intact. */
        if (!e && r->fault && r->fault->failures != fb) e = all_intact();
        if (!e && c->check_every && (op + 1) % c->check_every == 0) e = run_check(r);
    }
    if (!e) e = run_check(r);
    while (nlive) {
        const char *fe = op_free(r, nlive - 1);
        if (!e) e = fe;
        if (fe) drop(nlive - 1); /* op_free left it: still drop it */
    }
    if (!e && c->check) {
        int cc = c->check(c->check_ctx);
        if (cc) {
            r->res->check_code = cc;
            e = "allocator check failed after freeing everything";
        }
    }
    if (e && !r->res->error) {
        r->res->error = e;
        r->res->op = op;
    }
}

static uint64_t pick_seed(const struct kh_model_config *c)
{
    if (c->script) return 0; /* unused: draws come from the script */
    return c->seed ? c->seed : kh_test_rand() | 1;
}

/* Before each sequence: the PRNG from seed, or the script from its start. */
static void start_draws(const struct kh_model_config *c, uint64_t seed)
{
    rng = seed;
    script = c->script;
    script_len = c->script ? c->script_len : 0;
    script_pos = 0;
}

struct kh_model_result kh_model_run(const struct kh_model_config *cfg)
{
    struct kh_model_result res = {0};
    struct run r = {cfg, cfg->a, NULL, &res, 0};
    start_draws(cfg, pick_seed(cfg));
    run_sequence(&r);
    return res;
}

struct kh_model_result kh_model_fault_run(const struct kh_model_fault_config *cfg)
{
    struct kh_model_result res = {0};
    uint64_t seed = pick_seed(&cfg->model);
    for (unsigned long long k = 1;; k++) {
        struct kh_fault f;
        if (cfg->reset) cfg->reset(cfg->ctx);
        kh_fault_init(&f, cfg->model.a);
        kh_fault_fail_nth(&f, k);
        struct run r = {&cfg->model, kh_fault_allocator(&f), &f, &res, 0};
        start_draws(&cfg->model, seed);
        res.fault_runs++;
        run_sequence(&r);
        if (!res.error && f.live_blocks != 0) res.error = "fault wrapper counts leaked blocks";
        if (!res.error && cfg->in_use && cfg->in_use(cfg->ctx) != 0)
            res.error = "allocator's own stats show memory still in use after freeing all";
        if (res.error) {
            res.k = (size_t)k;
            break;
        }
        if (f.attempts < k) break; /* the k-th attempt never came: every k covered */
    }
    return res;
}

bool kh_model_misuse_ok(const char *name, const struct kh_model_config *c,
                        const struct kh_model_result *r, size_t min_each)
{
    if (!kh_model_ok(name, r)) return false;
    bool ok = true;
    for (unsigned i = 0; i < 5; i++) {
        if (!(c->misuse.classes & (1u << i)) || r->misuse_by_class[i] >= min_each) continue;
        kh_test_print("  model ");
        kh_test_print(name);
        kh_test_print(": too few misuses of class ");
        kh_test_print_u(i);
        kh_test_print(": ");
        kh_test_print_u(r->misuse_by_class[i]);
        kh_test_print("\n");
        ok = false;
    }
    return ok;
}

bool kh_model_ok(const char *name, const struct kh_model_result *r)
{
    if (!r->error) return true;
    kh_test_print("  model ");
    kh_test_print(name);
    kh_test_print(": ");
    kh_test_print(r->error);
    kh_test_print(" at op ");
    kh_test_print_u(r->op);
    if (r->k) {
        kh_test_print(" (failing allocation attempt ");
        kh_test_print_u(r->k);
        kh_test_print(")");
    }
    if (r->misuse_class) {
        static const char *const names[5] = {"double free", "stale pointer", "interior pointer",
                                             "foreign pointer", "wrong size"};
        static const char *const hows[3] = {"free", "resize", "realloc"};
        kh_test_print(" (");
        kh_test_print(names[class_index_of(r->misuse_class)]);
        kh_test_print(" through ");
        kh_test_print(hows[r->misuse_how % 3]);
        kh_test_print(")");
    }
    if (r->check_code) {
        kh_test_print(" check code ");
        kh_test_print_u((unsigned long long)(long long)r->check_code);
    }
    kh_test_print("\n");
    return false;
}
