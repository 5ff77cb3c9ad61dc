/* SPDX-License-Identifier: MIT */
/* kheap benchmark: allocator adapters (see kb_alloc.h). */
#include "kb_alloc.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kheap/fixed.h"
#include "kheap/heap.h"
#include "kheap/llist.h"
#include "kheap/lock_pthread.h"
#include "kheap/locked.h"
#include "kheap/slab.h"

/* ---- kheap core heap ---------------------------------------------------- */

static void *kheap_setup(void *mem, size_t bytes)
{
    return kheap_init(mem, bytes);
}
static void kheap_teardown(void *ctx)
{
    (void)ctx;
}
static void *kheap_a(void *ctx, size_t size, size_t align)
{
    return kheap_alloc(ctx, size, align);
}
static void *kheap_r(void *ctx, void *p, size_t old, size_t size, size_t align)
{
    (void)old;
    return kheap_realloc(ctx, p, size, align);
}
static void kheap_f(void *ctx, void *p, size_t size, size_t align)
{
    (void)size;
    (void)align;
    kheap_free(ctx, p);
}
static void kheap_w(void *ctx, void (*fn)(void *, size_t, bool, void *), void *c)
{
    kheap_walk(ctx, fn, c);
}
static bool kheap_fr(void *ctx, size_t *largest, size_t *freeb)
{
    struct kheap_stats st;
    kheap_stats(ctx, &st);
    *largest = st.largest_free_block;
    *freeb = st.free_bytes;
    return true;
}

static const kb_alloc kb_kheap = {"kheap", KB_ARENA, kheap_setup, kheap_teardown, kheap_a,
                                  kheap_r, kheap_f,  kheap_w,     kheap_fr};

/* The same heap with shrinking reallocs kept in place (policy 0). */
static void *kheap_ip_setup(void *mem, size_t bytes)
{
    kheap *h = kheap_init(mem, bytes);
    return h && kheap_set_policy(h, 0) ? h : NULL;
}

static const kb_alloc kb_kheap_ip = {"kheap-inplace", KB_ARENA, kheap_ip_setup,
                                     kheap_teardown,  kheap_a,  kheap_r,
                                     kheap_f,         kheap_w,  kheap_fr};

/* The core heap compiled at hardening levels 0 and 2 (bench/kb_heap_h*.c):
 * the cost of each level beside the default (level 1), in one run. */
extern const kb_alloc kb_kheap_h0, kb_kheap_h2;

/* ---- kheap linked list (first fit, header-less) ------------------------- */

struct llist_ctx {
    struct kh_llist l;
    kh_allocator a;
};

static void *ll_setup(void *mem, size_t bytes)
{
    struct llist_ctx *c = malloc(sizeof *c);
    if (!c) return NULL;
    if (kh_llist_init(&c->l, mem, bytes) != 0) {
        free(c);
        return NULL;
    }
    c->a = kh_llist_allocator(&c->l);
    return c;
}
static void ll_teardown(void *ctx)
{
    struct llist_ctx *c = ctx;
    kh_llist_destroy(&c->l);
    free(c);
}
static void *ll_a(void *ctx, size_t size, size_t align)
{
    return kh_llist_alloc(&((struct llist_ctx *)ctx)->l, size, align);
}
/* In place when it can, else allocate, copy, free (kh_realloc). */
static void *ll_r(void *ctx, void *p, size_t old, size_t size, size_t align)
{
    return kh_realloc(((struct llist_ctx *)ctx)->a, p, old, size, align, 0);
}
static void ll_f(void *ctx, void *p, size_t size, size_t align)
{
    (void)align;
    kh_llist_free(&((struct llist_ctx *)ctx)->l, p, size);
}
static bool ll_fr(void *ctx, size_t *largest, size_t *freeb)
{
    struct kh_llist_stats st;
    kh_llist_stats(&((struct llist_ctx *)ctx)->l, &st);
    *largest = st.largest_hole;
    *freeb = st.free_bytes;
    return true;
}

/* llist has no walk function, but its holes are a public, address-ordered
 * list: report the space between holes as used (adjacent blocks show as one). */
static void ll_w(void *ctx, void (*fn)(void *, size_t, bool, void *), void *c)
{
    struct kh_llist *l = &((struct llist_ctx *)ctx)->l;
    char *at = l->lo;
    for (struct kh_llist_hole *h = l->head; h; h = h->next) {
        if ((char *)h > at) fn(at, (size_t)((char *)h - at), true, c);
        fn(h, h->size, false, c);
        at = (char *)h + h->size;
    }
    if (l->hi > at) fn(at, (size_t)(l->hi - at), true, c);
}

static const kb_alloc kb_llist = {
    "llist", KB_ARENA | KB_SLOW, ll_setup, ll_teardown, ll_a, ll_r, ll_f, ll_w, ll_fr};

/* ---- kheap fixed-size blocks over the core heap ---------------------------- */

struct fixed_ctx {
    struct kh_fixed f;
    kh_allocator a;
};

static void *fx_setup(void *mem, size_t bytes)
{
    struct fixed_ctx *c = malloc(sizeof *c);
    kheap *h = kheap_init(mem, bytes);
    if (!c || !h || kh_fixed_init(&c->f, kheap_allocator(h)) != 0) {
        free(c);
        return NULL;
    }
    c->a = kh_fixed_allocator(&c->f);
    return c;
}
static void fx_teardown(void *ctx)
{
    struct fixed_ctx *c = ctx;
    kh_fixed_destroy(&c->f);
    free(c);
}
static void *fx_a(void *ctx, size_t size, size_t align)
{
    return kh_fixed_alloc(&((struct fixed_ctx *)ctx)->f, size, align, 0);
}
static void *fx_r(void *ctx, void *p, size_t old, size_t size, size_t align)
{
    return kh_realloc(((struct fixed_ctx *)ctx)->a, p, old, size, align, 0);
}
static void fx_f(void *ctx, void *p, size_t size, size_t align)
{
    kh_fixed_free(&((struct fixed_ctx *)ctx)->f, p, size, align);
}

static const kb_alloc kb_fixed = {"fixed/kheap", KB_ARENA, fx_setup, fx_teardown, fx_a,
                                  fx_r,          fx_f,     NULL,     NULL};

/* ---- kheap slab front end (struct kh_kmem) over the core heap ---------------------- */

struct kmem_ctx {
    struct kh_kmem k;
    kh_allocator a;
};

static void *km_setup(void *mem, size_t bytes)
{
    struct kmem_ctx *c = malloc(sizeof *c);
    kheap *h = kheap_init(mem, bytes);
    if (!c || !h) {
        free(c);
        return NULL;
    }
    struct kh_kmem_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.pages = kheap_allocator(h);
    cfg.large = kheap_allocator(h);
    if (kh_kmem_init(&c->k, &cfg) != 0) {
        free(c);
        return NULL;
    }
    c->a = kh_kmem_allocator(&c->k);
    return c;
}
static void km_teardown(void *ctx)
{
    struct kmem_ctx *c = ctx;
    kh_kmem_destroy(&c->k);
    free(c);
}
static void *km_a(void *ctx, size_t size, size_t align)
{
    struct kmem_ctx *c = ctx;
    return c->a.ops->alloc(c->a.ctx, size, align, 0);
}
static void *km_r(void *ctx, void *p, size_t old, size_t size, size_t align)
{
    return kh_realloc(((struct kmem_ctx *)ctx)->a, p, old, size, align, 0);
}
static void km_f(void *ctx, void *p, size_t size, size_t align)
{
    struct kmem_ctx *c = ctx;
    c->a.ops->free(c->a.ctx, p, size, align);
}

static const kb_alloc kb_kmem = {"kmem/kheap", KB_ARENA, km_setup, km_teardown, km_a,
                                 km_r,         km_f,     NULL,     NULL};

/* ---- kheap through the locked wrapper (kheap/locked.h): its thread-safe form */

struct locked_ctx {
    struct kh_locked l;
    kh_allocator a;
    pthread_mutex_t mu;
    kh_spinlock_t spin;
};

static void *lk_setup_ops(void *mem, size_t bytes, bool mutex)
{
    struct locked_ctx *c = malloc(sizeof *c);
    kheap *h = kheap_init(mem, bytes);
    if (!c || !h) {
        free(c);
        return NULL;
    }
    pthread_mutex_init(&c->mu, NULL);
    kh_spin_lock_init(&c->spin);
    if (kh_locked_init(&c->l, kheap_allocator(h), mutex ? (void *)&c->mu : (void *)&c->spin,
                       mutex ? &kh_pthread_lock_ops : &kh_spin_lock_ops) != 0) {
        free(c);
        return NULL;
    }
    c->a = kh_locked_allocator(&c->l);
    return c;
}
static void *lkm_setup(void *mem, size_t bytes)
{
    return lk_setup_ops(mem, bytes, true);
}
static void *lks_setup(void *mem, size_t bytes)
{
    return lk_setup_ops(mem, bytes, false);
}
static void lk_teardown(void *ctx)
{
    struct locked_ctx *c = ctx;
    kh_locked_destroy(&c->l);
    pthread_mutex_destroy(&c->mu);
    free(c);
}
static void *lk_a(void *ctx, size_t size, size_t align)
{
    struct locked_ctx *c = ctx;
    return c->a.ops->alloc(c->a.ctx, size, align, 0);
}
/* resize in place under the lock, else alloc + copy + free (kh_realloc) */
static void *lk_r(void *ctx, void *p, size_t old, size_t size, size_t align)
{
    return kh_realloc(((struct locked_ctx *)ctx)->a, p, old, size, align, 0);
}
static void lk_f(void *ctx, void *p, size_t size, size_t align)
{
    struct locked_ctx *c = ctx;
    c->a.ops->free(c->a.ctx, p, size, align);
}

static const kb_alloc kb_kheap_mx = {"kheap+mutex", KB_ARENA | KB_THREADS | KB_MT_ONLY,
                                     lkm_setup,     lk_teardown,
                                     lk_a,          lk_r,
                                     lk_f,          NULL,
                                     NULL};
static const kb_alloc kb_kheap_spin = {"kheap+spin", KB_ARENA | KB_THREADS | KB_MT_ONLY,
                                       lks_setup,    lk_teardown,
                                       lk_a,         lk_r,
                                       lk_f,         NULL,
                                       NULL};

/* ---- glibc malloc -------------------------------------------------------- */

/* malloc's own guarantee: 16 bytes on LP64 x86-64/aarch64, 8 on 32-bit. */
#define SYS_ALIGN (2 * sizeof(void *))

static void *sys_setup(void *mem, size_t bytes)
{
    (void)mem;
    (void)bytes;
    return (void *)1; /* no state; non-NULL means ready */
}
static void sys_teardown(void *ctx)
{
    (void)ctx;
}
static void *sys_a(void *ctx, size_t size, size_t align)
{
    (void)ctx;
    if (align <= SYS_ALIGN) return malloc(size);
    void *p = NULL;
    return posix_memalign(&p, align, size) == 0 ? p : NULL;
}
static void *sys_r(void *ctx, void *p, size_t old, size_t size, size_t align)
{
    if (align <= SYS_ALIGN) return realloc(p, size);
    /* realloc does not keep a larger alignment: move by hand. */
    void *q = sys_a(ctx, size, align);
    if (!q) return NULL;
    memcpy(q, p, old < size ? old : size);
    free(p);
    return q;
}
static void sys_f(void *ctx, void *p, size_t size, size_t align)
{
    (void)ctx;
    (void)size;
    (void)align;
    free(p);
}

static const kb_alloc kb_glibc = {
    "glibc", KB_SYSTEM | KB_THREADS, sys_setup, sys_teardown, sys_a, sys_r, sys_f, NULL, NULL};

/* ---- jemalloc, mimalloc, tcmalloc: dlopen'd with RTLD_LOCAL ---------------
 *
 * Each library is loaded privately: its malloc/free symbols do not enter the
 * global scope, so glibc stays the process's malloc (for glibc's own numbers
 * and for everything libc allocates), and each competitor is driven only
 * through its own entry points, looked up with dlsym. */

static struct {
    void *(*mallocx)(size_t, int);
    void *(*rallocx)(void *, size_t, int);
    void (*sdallocx)(void *, size_t, int);
} je;
static struct {
    void *(*malloc)(size_t);
    void *(*malloc_aligned)(size_t, size_t);
    void *(*realloc)(void *, size_t);
    void *(*realloc_aligned)(void *, size_t, size_t);
    void (*free)(void *);
} mi;
static struct {
    void *(*malloc)(size_t);
    void *(*memalign)(size_t, size_t);
    void *(*realloc)(void *, size_t);
    void (*free)(void *);
} tc;

/* jemalloc's MALLOCX_LG_ALIGN(la) is la in the low bits; 0 = default. */
static int je_flags(size_t align)
{
    return align <= SYS_ALIGN ? 0 : __builtin_ctzl((unsigned long)align);
}
static void *je_a(void *ctx, size_t size, size_t align)
{
    (void)ctx;
    return je.mallocx(size, je_flags(align));
}
static void *je_r(void *ctx, void *p, size_t old, size_t size, size_t align)
{
    (void)ctx;
    (void)old;
    return je.rallocx(p, size, je_flags(align));
}
static void je_f(void *ctx, void *p, size_t size, size_t align)
{
    (void)ctx;
    je.sdallocx(p, size, je_flags(align));
}

static void *mi_a(void *ctx, size_t size, size_t align)
{
    (void)ctx;
    return align <= SYS_ALIGN ? mi.malloc(size) : mi.malloc_aligned(size, align);
}
static void *mi_r(void *ctx, void *p, size_t old, size_t size, size_t align)
{
    (void)ctx;
    (void)old;
    return align <= SYS_ALIGN ? mi.realloc(p, size) : mi.realloc_aligned(p, size, align);
}
static void mi_f(void *ctx, void *p, size_t size, size_t align)
{
    (void)ctx;
    (void)size;
    (void)align;
    mi.free(p);
}

static void *tc_a(void *ctx, size_t size, size_t align)
{
    (void)ctx;
    return align <= SYS_ALIGN ? tc.malloc(size) : tc.memalign(align, size);
}
static void *tc_r(void *ctx, void *p, size_t old, size_t size, size_t align)
{
    if (align <= SYS_ALIGN) return tc.realloc(p, size);
    /* tc_realloc does not keep a larger alignment: move by hand. */
    void *q = tc_a(ctx, size, align);
    if (!q) return NULL;
    memcpy(q, p, old < size ? old : size);
    tc.free(p);
    return q;
}
static void tc_f(void *ctx, void *p, size_t size, size_t align)
{
    (void)ctx;
    (void)size;
    (void)align;
    tc.free(p);
}

static const kb_alloc kb_jemalloc = {
    "jemalloc", KB_SYSTEM | KB_THREADS, sys_setup, sys_teardown, je_a, je_r, je_f, NULL, NULL};
static const kb_alloc kb_mimalloc = {
    "mimalloc", KB_SYSTEM | KB_THREADS, sys_setup, sys_teardown, mi_a, mi_r, mi_f, NULL, NULL};
static const kb_alloc kb_tcmalloc = {
    "tcmalloc", KB_SYSTEM | KB_THREADS, sys_setup, sys_teardown, tc_a, tc_r, tc_f, NULL, NULL};

/* dlsym returns void *; converting it to a function pointer is what POSIX
 * requires to work. memcpy keeps -Wpedantic quiet about it. */
static bool sym(void *lib, const char *name, void *fnp, size_t fnsize)
{
    void *s = dlsym(lib, name);
    if (!s) return false;
    memcpy(fnp, &s, fnsize);
    return true;
}
#define SYM(lib, f, name) sym(lib, name, &(f), sizeof(f))

static void *open_lib(const char *const *names)
{
    for (; *names; names++) {
        void *h = dlopen(*names, RTLD_NOW | RTLD_LOCAL);
        if (h) return h;
    }
    return NULL;
}

static bool load_jemalloc(void)
{
    static const char *const n[] = {"libjemalloc.so.2", "libjemalloc.so", NULL};
    void *l = open_lib(n);
    return l && SYM(l, je.mallocx, "mallocx") && SYM(l, je.rallocx, "rallocx") &&
           SYM(l, je.sdallocx, "sdallocx");
}
static bool load_mimalloc(void)
{
    static const char *const n[] = {"libmimalloc.so.2", "libmimalloc.so", NULL};
    void *l = open_lib(n);
    return l && SYM(l, mi.malloc, "mi_malloc") && SYM(l, mi.malloc_aligned, "mi_malloc_aligned") &&
           SYM(l, mi.realloc, "mi_realloc") && SYM(l, mi.realloc_aligned, "mi_realloc_aligned") &&
           SYM(l, mi.free, "mi_free");
}
static bool load_tcmalloc(void)
{
    static const char *const n[] = {"libtcmalloc_minimal.so.4", "libtcmalloc_minimal.so", NULL};
    void *l = open_lib(n);
    return l && SYM(l, tc.malloc, "tc_malloc") && SYM(l, tc.memalign, "tc_memalign") &&
           SYM(l, tc.realloc, "tc_realloc") && SYM(l, tc.free, "tc_free");
}

/* ---- registry ------------------------------------------------------------ */

size_t kb_alloc_list(const kb_alloc **out, size_t max)
{
    size_t n = 0;
    if (n < max) out[n++] = &kb_kheap;
    if (n < max) out[n++] = &kb_kheap_ip;
    if (n < max) out[n++] = &kb_kheap_h0;
    if (n < max) out[n++] = &kb_kheap_h2;
    if (n < max) out[n++] = &kb_llist;
    if (n < max) out[n++] = &kb_fixed;
    if (n < max) out[n++] = &kb_kmem;
    if (n < max) out[n++] = &kb_kheap_mx;
    if (n < max) out[n++] = &kb_kheap_spin;
    if (n < max) out[n++] = &kb_glibc;
#ifdef KB_NO_COMPETITORS
    /* The 32-bit build (make bench): only the arena allocators matter. */
    static int loaded = 1;
#else
    static int loaded; /* bit 0 tried, then one bit per competitor */
#endif
    if (!loaded) {
        loaded = 1 | (load_jemalloc() << 1) | (load_mimalloc() << 2) | (load_tcmalloc() << 3);
        if (!(loaded & 2)) fprintf(stderr, "kh_bench: jemalloc not loaded (make bench-deps)\n");
        if (!(loaded & 4)) fprintf(stderr, "kh_bench: mimalloc not loaded (make bench-deps)\n");
        if (!(loaded & 8)) fprintf(stderr, "kh_bench: tcmalloc not loaded (make bench-deps)\n");
    }
    if ((loaded & 2) && n < max) out[n++] = &kb_jemalloc;
    if ((loaded & 4) && n < max) out[n++] = &kb_mimalloc;
    if ((loaded & 8) && n < max) out[n++] = &kb_tcmalloc;
    return n;
}

const kb_alloc *kb_alloc_find(const char *name)
{
    const kb_alloc *all[32];
    size_t n = kb_alloc_list(all, 32);
    for (size_t i = 0; i < n; i++)
        if (strcmp(all[i]->name, name) == 0) return all[i];
    return NULL;
}
