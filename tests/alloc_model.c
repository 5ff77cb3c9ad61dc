/* SPDX-License-Identifier: MIT */
/* Shadow-model random test and fault-injection driver: see alloc_model.h. */
#include "alloc_model.h"

#include "kh_test.h"

struct blk {
    unsigned char *p;
    size_t size;
    size_t align;
    unsigned char pat;
};

static struct blk live[KH_MODEL_MAX_LIVE];
static size_t nlive;
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
    b->p = p;
    b->size = ns;
    if (!intact(b, keep)) return "realloc lost the block's contents";
    if (overlaps(p, ns, i)) return "realloc result overlaps a live block";
    fill(b, keep);
    return NULL;
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
    for (op = 0; op < c->ops && !e && !script_done(); op++) {
        unsigned long long fb = r->fault ? r->fault->failures : 0;
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
    if (r->check_code) {
        kh_test_print(" check code ");
        kh_test_print_u((unsigned long long)(long long)r->check_code);
    }
    kh_test_print("\n");
    return false;
}
