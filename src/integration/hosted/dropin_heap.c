/* SPDX-License-Identifier: MIT */
/* kheap malloc drop-in: per-thread core heaps, their segments, cross-thread
 * frees, the pool of heaps left by exited threads, fork and trimming.
 * See dropin.h for the layout. */
#if defined(KH_MALLOC_DROPIN) && KH_MALLOC_DROPIN

#include <pthread.h>
#include <string.h>
#include <sys/mman.h>

#include "dropin.h"

DROPIN_TLS struct dropin_heap *dropin_tl_heap;

/* Guards the heap list and the pool; taken only when a thread gets or gives
 * up a heap, by the exit report, and around fork(). */
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static struct dropin_heap *all_heaps, *pool;
static pthread_key_t exit_key;
static pthread_once_t init_once = PTHREAD_ONCE_INIT;

/* --- Segments: the core heap's memory source ------------------------------
 * kheap asks its source for more memory when an allocation fails; this one
 * maps a DROPIN_SEG-aligned segment (through the kh_mmap_source, whose
 * power-of-two grants are aligned to their size), writes the owner into its
 * header and hands the rest to the heap as a region. */

static void *seg_grant(struct dropin_heap *h, size_t *got)
{
    struct kh_source os = kh_mmap_source(&h->os);
    size_t n = 0;
    struct dropin_seg *s = os.ops->grow(os.ctx, DROPIN_SEG, &n);
    if (!s) return NULL;
    if (n != DROPIN_SEG || ((uintptr_t)s & (DROPIN_SEG - 1))) {
        /* Cannot happen with the mmap source; refuse rather than break
         * the owner lookup. */
        os.ops->release(os.ctx, s, n);
        return NULL;
    }
    s->magic = DROPIN_MAGIC_HEAP;
    s->heap = h;
    *got = DROPIN_SEG;
    return s;
}

static void *seg_grow(void *ctx, size_t min_bytes, size_t *got_bytes)
{
    *got_bytes = 0;
    /* Larger requests never reach a heap (they are huge); refuse anyway. */
    if (min_bytes > DROPIN_SEG - DROPIN_HDR) return NULL;
    size_t n;
    char *s = seg_grant(ctx, &n);
    if (!s) return NULL;
    *got_bytes = n - DROPIN_HDR;
    return s + DROPIN_HDR;
}

static void seg_release(void *ctx, void *mem, size_t bytes)
{
    struct dropin_heap *h = ctx;
    struct kh_source os = kh_mmap_source(&h->os);
    os.ops->release(os.ctx, (char *)mem - DROPIN_HDR, bytes + DROPIN_HDR);
}

static const struct kh_source_ops seg_ops = {seg_grow, seg_release};

/* A new heap: the first segment holds the header, the heap struct and the
 * core heap (control block, then the first region). */
static struct dropin_heap *heap_create(void)
{
    struct kh_mmap_source os;
    kh_mmap_source_init(&os, 0);
    struct kh_source src = kh_mmap_source(&os);
    size_t n = 0;
    struct dropin_seg *s = src.ops->grow(src.ctx, DROPIN_SEG, &n);
    if (!s) return NULL;
    struct dropin_heap *h = (struct dropin_heap *)((char *)s + DROPIN_HDR);
    memset(h, 0, sizeof(*h));
    h->os = os; /* the source's counters move into the heap */
    s->magic = DROPIN_MAGIC_HEAP;
    s->heap = h;
    kh_spin_lock_init(&h->lock);
    /* A core heap starts at the level it was compiled for (2: all its free
     * memory poisoned, so every page touched): it starts small, takes this
     * process's level while it is empty, and then gets the rest of its
     * first segment as an adjacent region. */
    char *core = (char *)(h + 1);
    size_t avail = DROPIN_SEG - (size_t)(core - (char *)s);
    size_t first = (kheap_control_bytes(DROPIN_SEG) + DROPIN_FIRST_REGION + 4095) & ~(size_t)4095;
    h->kh = kheap_init_ex(core, first, DROPIN_SEG);
    if (!h->kh) {
        src = kh_mmap_source(&h->os);
        src.ops->release(src.ctx, s, n);
        return NULL;
    }
    dropin_apply_harden(h, dropin_opt.harden);
    if (!kheap_add_region(h->kh, core + first, avail - first))
        dropin_fatal("cannot add the first segment", s);
    struct kh_source grow = {h, &seg_ops};
    kheap_set_source(h->kh, &grow);
    kh_atomic_ptr_set(&h->xfree, NULL);
    return h;
}

/* --- Thread heaps ------------------------------------------------------------ */

static void thread_exit(void *arg);

static void init_once_fn(void)
{
    dropin_read_env();
    (void)dropin_page_size();
    /* The destructor gives the heap back when its thread exits.
     * pthread_key_create does not allocate. */
    if (pthread_key_create(&exit_key, thread_exit) != 0)
        dropin_fatal("pthread_key_create failed", NULL);
    (void)kh_set_error_hook(dropin_misuse_hook);
}

void dropin_global_init(void)
{
    pthread_once(&init_once, init_once_fn);
}

/* The calling thread's heap, made or taken from the pool on its first
 * allocation. NULL only when no memory can be mapped. */
struct dropin_heap *dropin_heap_acquire(void)
{
    dropin_global_init();
    pthread_mutex_lock(&pool_lock);
    struct dropin_heap *h = pool;
    if (h) {
        pool = h->next_pool;
        h->next_pool = NULL;
        h->state = DROPIN_OWNED;
    }
    pthread_mutex_unlock(&pool_lock);
    if (!h) {
        h = heap_create();
        if (!h) return NULL;
        pthread_mutex_lock(&pool_lock);
        h->state = DROPIN_OWNED;
        h->next_all = all_heaps;
        all_heaps = h;
        pthread_mutex_unlock(&pool_lock);
    }
    /* Set before pthread_setspecific, which may allocate (keys past the
     * first 32): that allocation then finds this heap. */
    dropin_tl_heap = h;
    pthread_setspecific(exit_key, h);
    dropin_heap_drain(h);
    return h;
}

/* Free (owner only) every block other threads handed back. */
void dropin_heap_drain(struct dropin_heap *h)
{
    void *p = kh_atomic_ptr_xchg_acquire(&h->xfree, NULL);
    uint64_t n = 0;
    dropin_lock(h);
    while (p) {
        void *next = *(void **)p;
        kheap_free(h->kh, p);
        p = next;
        n++;
    }
    dropin_unlock(h);
    kh_atomic64_set(&h->n.remote_frees, kh_atomic64_read(&h->n.remote_frees) + (int64_t)n);
}

/* A block of heap h freed by a thread that does not own h: queued for the
 * owner at level 0; freed at once, under the heap's lock, at levels 1 and 2
 * (the core heap checks the pointer before anything is written to it). */
void dropin_heap_free_remote(struct dropin_heap *h, void *p)
{
    if (h->locked) {
        kh_spin_lock(&h->lock);
        kheap_free(h->kh, p);
        kh_spin_unlock(&h->lock);
        kh_atomic64_inc(&h->n.remote_frees);
        return;
    }
    void *old = kh_atomic_ptr_read(&h->xfree);
    do {
        *(void **)p = old;
    } while (!kh_atomic_ptr_try_cmpxchg_release(&h->xfree, &old, p));
}

void dropin_heap_flush_cache(struct dropin_heap *h)
{
    dropin_lock(h);
    for (unsigned i = 0; i < DROPIN_CACHE_BINS; i++) {
        void *p = h->cache[i];
        while (p) {
            void *next = *(void **)p;
            kheap_free(h->kh, p);
            p = next;
        }
        h->cache[i] = NULL;
        h->cache_len[i] = 0;
    }
    h->cache_bytes = 0;
    dropin_unlock(h);
}

/* --- Giving memory back -------------------------------------------------------
 * The core heap keeps freed memory as free blocks, which stay resident. A
 * trim walks the heap and tells the kernel (MADV_DONTNEED) that the whole
 * pages inside large free blocks are not needed: they read as zero pages when
 * touched again. The block's own ends (where the heap keeps its links and
 * boundary tag) are left alone: a margin of TRIM_MARGIN bytes each side. */
#define TRIM_MARGIN   256
#define TRIM_MIN_SPAN ((size_t)64 * 1024)
#define TRIM_STEP     ((size_t)8 * 1024 * 1024)

struct trim_walk {
    size_t page;
    size_t released;
};

static void trim_block(void *block, size_t size, bool used, void *ctx)
{
    struct trim_walk *w = ctx;
    if (used || size < TRIM_MIN_SPAN) return;
    uintptr_t a = ((uintptr_t)block + TRIM_MARGIN + w->page - 1) & ~(uintptr_t)(w->page - 1);
    uintptr_t e = ((uintptr_t)block + size - TRIM_MARGIN) & ~(uintptr_t)(w->page - 1);
    if (e > a && e - a >= TRIM_MIN_SPAN / 2 && madvise((void *)a, e - a, MADV_DONTNEED) == 0)
        w->released += e - a;
}

/* Not at hardening level 2: there free memory holds poison, checked when
 * it is handed out again, and a released page reads back as zeros. */
static void heap_trim(struct dropin_heap *h)
{
    if (h->harden >= 2) return;
    struct trim_walk w = {dropin_page_size(), 0};
    struct kheap_stats st;
    dropin_lock(h);
    kheap_walk(h->kh, trim_block, &w);
    kheap_stats(h->kh, &st);
    dropin_unlock(h);
    h->trim_paid = 0;
    h->trim_mark = st.free_bytes;
}

/* Called by the owner every DROPIN_TRIM_INTERVAL frees into the core heap. Trims
 * when the heap's free bytes grew by TRIM_STEP since the last trim (or since
 * their lowest point after it), and only when the frees since the last trim
 * pay for the walk, which visits every block: at most one visit per four
 * frees, amortised. */
void dropin_heap_maybe_trim(struct dropin_heap *h)
{
    h->trim_tick = 0;
    h->trim_paid += DROPIN_TRIM_INTERVAL;
    struct kheap_stats st;
    dropin_lock(h);
    kheap_stats(h->kh, &st);
    dropin_unlock(h);
    if (st.free_bytes < h->trim_mark) h->trim_mark = st.free_bytes;
    if (st.free_bytes - h->trim_mark < TRIM_STEP ||
        h->trim_paid < 4 * (st.allocations + st.free_blocks))
        return;
    heap_trim(h);
}

/* pthread key destructor: the thread is exiting. Its heap goes to the pool
 * with its free memory trimmed; blocks still live in it stay valid (any
 * thread may free them) and the next thread that needs a heap takes it. */
static void thread_exit(void *arg)
{
    struct dropin_heap *h = arg;
    if (dropin_tl_heap == h) dropin_tl_heap = NULL;
    dropin_heap_drain(h);
    dropin_heap_flush_cache(h);
    heap_trim(h);
    pthread_mutex_lock(&pool_lock);
    h->state = DROPIN_ABANDONED;
    h->next_pool = pool;
    pool = h;
    pthread_mutex_unlock(&pool_lock);
}

/* --- fork ---------------------------------------------------------------------
 * Heaps are owned by one thread each and take no lock, so fork() needs only
 * the pool consistent. In the child the heaps of the other threads (which
 * do not exist there) are never handed out again: they are not in the pool,
 * their blocks stay valid, and frees of them queue on their lists. */
static void fork_prepare(void)
{
    pthread_mutex_lock(&pool_lock);
    /* Levels 1 and 2: no heap may be locked in the child. */
    for (struct dropin_heap *h = all_heaps; h; h = h->next_all) dropin_lock(h);
}

static void fork_parent(void)
{
    for (struct dropin_heap *h = all_heaps; h; h = h->next_all) dropin_unlock(h);
    pthread_mutex_unlock(&pool_lock);
}

static void fork_child(void)
{
    for (struct dropin_heap *h = all_heaps; h; h = h->next_all) kh_spin_lock_init(&h->lock);
    pthread_mutex_init(&pool_lock, NULL);
}

/* A constructor, not the allocation path: pthread_atfork may allocate. */
__attribute__((constructor)) static void dropin_ctor(void)
{
    dropin_global_init();
    pthread_atfork(fork_prepare, fork_parent, fork_child);
}

/* --- Report ------------------------------------------------------------------ */

void dropin_heap_totals(struct dropin_totals *t)
{
    pthread_mutex_lock(&pool_lock);
    for (struct dropin_heap *h = all_heaps; h; h = h->next_all) {
        struct kheap_stats st;
        dropin_lock(h);
        kheap_stats(h->kh, &st);
        dropin_unlock(h);
        size_t cached = 0, cached_blocks = 0;
        for (unsigned i = 0; i < DROPIN_CACHE_BINS; i++) {
            cached += (size_t)h->cache_len[i] * (16 * (i + 2));
            cached_blocks += h->cache_len[i];
        }
        struct kh_source_stats os;
        kh_mmap_source_stats(&h->os, &os);
        t->heaps++;
        t->abandoned += h->state == DROPIN_ABANDONED;
        t->used += st.used_bytes - cached;
        t->blocks += st.allocations - cached_blocks;
        t->peak_used += st.peak_used_bytes;
        t->os_bytes += os.granted_bytes;
        t->os_peak += os.peak_bytes;
        t->mallocs += (size_t)kh_atomic64_read(&h->n.mallocs);
        t->frees += (size_t)kh_atomic64_read(&h->n.frees);
        t->reallocs += (size_t)kh_atomic64_read(&h->n.reallocs);
        t->callocs += (size_t)kh_atomic64_read(&h->n.callocs);
        t->aligned += (size_t)kh_atomic64_read(&h->n.aligned);
        t->remote_frees += (size_t)kh_atomic64_read(&h->n.remote_frees);
    }
    pthread_mutex_unlock(&pool_lock);
}

#else
typedef int kh_dropin_heap_unused; /* built only for libkheap-malloc.so */
#endif
