/* SPDX-License-Identifier: MIT */
/* Global kernel-style API over one kh_allocator (see kheap/kmalloc.h). */
#include "kheap/kmalloc.h"

#include "kheap/atomic.h"

#include <stdint.h>
#include "../internal/kh_bits.h"
#include "../internal/kh_string.h"

#include "kheap/config.h"
#include "kheap/error.h"
#include "kheap/port.h"

/* Header just below each block: [size][tag]. */
#define HDR_ALIGN ((size_t)KH_ALIGN_DEFAULT)
_Static_assert(2 * sizeof(size_t) <= KH_ALIGN_DEFAULT, "kmalloc header must fit in HDR_ALIGN");

#define KNOWN_FLAGS (KH_GFP_ATOMIC | KH_GFP_ZERO | KH_GFP_NOWARN | KH_GFP_NOGROW)
#define TAG_LIVE    ((size_t)0x6b6d616c6c6f6321ull)
#define TAG_FREED   ((size_t)0x66726565642e2e2eull)

static kh_allocator g_alloc;
/* Set at kh_kmalloc_init from the port's entropy: a tag cannot be forged
 * (or hit by chance by user data) without it. */
static size_t g_secret;
/* The allocator can vet a pointer (its owns op): then nothing below a
 * pointer is read before owns placed it in a live block. */
static bool g_vet;
/* Without owns: the span of every raw block handed out, [lo, hi). A
 * pointer outside it is refused without reading; inside it must be
 * readable (datasheet). */
static kh_atomic_ptr_t g_lo, g_hi;
static bool g_ready;
static kh_oom_handler_fn g_oom;
static void *g_oom_ctx;
static bool g_oom_atomic;
/* Slow-path state only: touched on failures, never on the fast path. The
 * context running the OOM handler (NULL: none), and how many handler runs
 * have finished, so a context that waited knows one ended. */
static kh_atomic_ptr_t g_oom_owner;
static kh_atomic_t g_oom_done;
/* Statistics counters (kernel atomics: 32-bit, they wrap after 2^32). */
static kh_atomic_t g_failures, g_oom_calls, g_oom_retries, g_oom_waits;
/* Live blocks and their requested bytes: relaxed adds on every successful
 * allocation, krealloc and kfree. The byte count is 64-bit where size_t is
 * (and 64-bit atomics exist), so it cannot wrap before size_t would. */
static kh_atomic_t g_live_blocks;
#if SIZE_MAX > UINT32_MAX && KH_ATOMIC64_MODE != KH_ATOMIC64_NONE
static kh_atomic64_t g_live_bytes;
#define live_bytes_add(n) kh_atomic64_add((int64_t)(n), &g_live_bytes)
#define live_bytes_sub(n) kh_atomic64_sub((int64_t)(n), &g_live_bytes)
#define live_bytes_set(n) kh_atomic64_set(&g_live_bytes, (int64_t)(n))
#define live_bytes_read() ((size_t)kh_atomic64_read(&g_live_bytes))
#else
static kh_atomic_t g_live_bytes;
#define live_bytes_add(n) kh_atomic_add((int)(unsigned)(n), &g_live_bytes)
#define live_bytes_sub(n) kh_atomic_sub((int)(unsigned)(n), &g_live_bytes)
#define live_bytes_set(n) kh_atomic_set(&g_live_bytes, (int)(n))
#define live_bytes_read() ((size_t)(unsigned)kh_atomic_read(&g_live_bytes))
#endif

int kh_kmalloc_init(kh_allocator a)
{
    if (!a.ops || !a.ops->alloc || !a.ops->free) return KH_EINVAL;
    if (g_ready) {
        kh_report(KH_EBUSY, "kh_kmalloc_init: global allocator already set", a.ctx);
        return KH_EBUSY;
    }
    g_alloc = a;
    g_vet = a.ops->owns != NULL;
    kh_port_entropy(&g_secret, sizeof(g_secret));
    kh_atomic_ptr_set(&g_lo, NULL);
    kh_atomic_ptr_set(&g_hi, NULL);
    kh_atomic_set(&g_failures, 0);
    kh_atomic_set(&g_oom_calls, 0);
    kh_atomic_set(&g_oom_retries, 0);
    kh_atomic_set(&g_oom_waits, 0);
    kh_atomic_set(&g_live_blocks, 0);
    live_bytes_set(0);
    g_ready = true;
    return KH_OK;
}

int kh_kmalloc_shutdown(void)
{
    if (!g_ready) return KH_ENOENT;
    g_ready = false;
    memset(&g_alloc, 0, sizeof(g_alloc));
    return KH_OK;
}

bool kh_kmalloc_ready(void)
{
    return g_ready;
}

void kh_kmalloc_set_oom_handler(kh_oom_handler_fn fn, void *ctx, bool atomic_safe)
{
    g_oom = fn;
    g_oom_ctx = ctx;
    g_oom_atomic = fn && atomic_safe;
}

void kh_kmalloc_stats(struct kh_kmalloc_stats *out)
{
    if (!out) return;
    memset(out, 0, sizeof(*out));
    out->failures = (unsigned)kh_atomic_read(&g_failures);
    out->oom_calls = (unsigned)kh_atomic_read(&g_oom_calls);
    out->oom_retries = (unsigned)kh_atomic_read(&g_oom_retries);
    out->oom_waits = (unsigned)kh_atomic_read(&g_oom_waits);
    out->live_blocks = (unsigned)kh_atomic_read(&g_live_blocks);
    out->live_bytes = live_bytes_read();
}

/* ---- header ---- */

static size_t tag_of(const void *p, size_t size, unsigned l, size_t kind)
{
    size_t m = ((size_t)(uintptr_t)p ^ g_secret) * (size_t)0x9e3779b97f4a7c15ull;
    m ^= size * (size_t)0xc2b2ae3d27d4eb4full;
    /* l goes into the hash too, not only into the low bits: otherwise a
     * corrupted l still matched, and kfree handed the wrong raw block
     * (p - 2^l) to the allocator. An underflow by one byte hits exactly
     * these bits on a big-endian CPU. l * odd constant keeps the lowest bit
     * where two l differ (below bit 6), so the shift below cannot lose it. */
    m ^= (size_t)l * (size_t)0x9e3779b97f4a7c15ull;
    m ^= m >> 29; /* the secret's high bits reach the kept low ones */
    return ((m ^ kind) << 6) | l;
}

static void header_put(void *p, size_t size, unsigned l)
{
    size_t hdr[2] = {size, tag_of(p, size, l, TAG_LIVE)};
    memcpy((unsigned char *)p - sizeof(hdr), hdr, sizeof(hdr));
}

/* The freed tag leaves the size out: the allocator's free-list link may
 * overwrite the size word (it is the first word of the raw block). */
static void header_mark_freed(void *p, unsigned l)
{
    size_t tag = tag_of(p, 0, l, TAG_FREED);
    memcpy((unsigned char *)p - sizeof(size_t), &tag, sizeof(tag));
}

#if KH_CONFIG_CHECKS
/* Widen the span to hold [raw, raw + bytes) (allocators without owns). */
static void span_add(unsigned char *raw, size_t bytes)
{
    void *lo = kh_atomic_ptr_read(&g_lo), *hi = kh_atomic_ptr_read(&g_hi);
    void *end = raw + bytes;
    while ((!lo || (void *)raw < lo) && !kh_atomic_ptr_try_cmpxchg(&g_lo, &lo, (void *)raw)) {
    }
    while ((uintptr_t)end > (uintptr_t)hi && !kh_atomic_ptr_try_cmpxchg(&g_hi, &hi, end)) {
    }
}

/* The usable bytes of the live raw block that p belongs to, and its
 * alignment log2 in *l, or 0. A kmalloc block is p = raw + 2^l with raw
 * aligned to 2^l (l >= 4 on LP64): the candidates are p - 16, p - 32, ...
 * while p is aligned to them, and the first one the allocator owns is the
 * only possible raw block (live blocks do not overlap). Nothing at p is
 * read. */
static size_t vet_raw(const void *p, unsigned *l)
{
    uintptr_t up = (uintptr_t)p;
    for (unsigned k = kh_log2_floor(HDR_ALIGN); k < sizeof(size_t) * 8 - 1; k++) {
        uintptr_t a = (uintptr_t)1 << k;
        if ((up & (a - 1)) || up < a) return 0;
        size_t u = g_alloc.ops->owns(g_alloc.ctx, (const void *)(up - a));
        if (u) {
            *l = k;
            return u >= a ? u : 0;
        }
    }
    return 0;
}
#endif

/* Check p and read its header: the size asked for and the block's
 * alignment log2. False, after a report as `who`, for anything that is not
 * a live kmalloc block. */
static bool header_get(const void *p, size_t *size, unsigned *l, const char *who)
{
    if ((uintptr_t)p & (HDR_ALIGN - 1)) {
#if KH_CONFIG_CHECKS
        kh_report(KH_EFAULT, who, p);
#endif
        return false;
    }
#if KH_CONFIG_CHECKS
    size_t usable = SIZE_MAX;
    unsigned raw_l = 0;
    if (g_vet) {
        usable = vet_raw(p, &raw_l);
        if (!usable) {
            kh_report(KH_EFAULT, who, p); /* foreign, interior, or freed */
            return false;
        }
    } else {
        const unsigned char *lo = kh_atomic_ptr_read(&g_lo), *hi = kh_atomic_ptr_read(&g_hi);
        if (!lo || (uintptr_t)p < (uintptr_t)lo + HDR_ALIGN || (uintptr_t)p > (uintptr_t)hi) {
            kh_report(KH_EFAULT, who, p);
            return false;
        }
    }
#endif
    size_t hdr[2];
    memcpy(hdr, (const unsigned char *)p - sizeof(hdr), sizeof(hdr));
    *size = hdr[0];
    *l = (unsigned)(hdr[1] & 63);
#if KH_CONFIG_CHECKS
    if (*l >= sizeof(size_t) * 8 || ((size_t)1 << *l) < HDR_ALIGN ||
        hdr[1] != tag_of(p, *size, *l, TAG_LIVE) || (g_vet && *l != raw_l) ||
        *size > usable - ((size_t)1 << *l)) {
        bool dbl = *l < sizeof(size_t) * 8 && hdr[1] == tag_of(p, 0, *l, TAG_FREED);
        kh_report(dbl ? KH_EDOUBLE : KH_EFAULT, who, p);
        return false;
    }
#else
    (void)who;
#endif
    return true;
}

/* ---- allocation with the OOM handler ---- */

static bool warn(unsigned flags, int code, const char *what)
{
    kh_atomic_inc(&g_failures);
    if (!(flags & KH_GFP_NOWARN)) kh_report(code, what, NULL);
    return false;
}

/* Check the call; false (reported unless NOWARN) when it must fail. */
static bool call_ok(size_t align, unsigned flags)
{
    if (!g_ready) return warn(flags, KH_ENOENT, "kmalloc: no global allocator (kh_kmalloc_init)");
    if (flags & ~KNOWN_FLAGS) return warn(flags, KH_EINVAL, "kmalloc: unknown flags");
    if (!kh_align_valid(align)) return warn(flags, KH_EINVAL, "kmalloc: bad alignment");
    return true;
}

static void *attempt(size_t bytes, size_t a, unsigned flags)
{
    return g_alloc.ops->alloc(g_alloc.ctx, bytes, a, flags & ~KH_GFP_ZERO);
}

/* After a failure: run the OOM handler and retry once if it asks. One
 * context runs the handler at a time. The context already running it (a
 * kmalloc inside the handler, or an interrupt on its CPU) does not re-enter
 * it; another context waits for the run to end and retries once, as the
 * memory it reclaimed may serve this request too; an atomic request never
 * waits. */
static void *reclaim_retry(kh_oom_handler_fn fn, size_t bytes, size_t a, size_t size, size_t align,
                           unsigned flags)
{
    void *me = (void *)(uintptr_t)kh_port_context_id();
    int done = kh_atomic_read_acquire(&g_oom_done);
    void *owner = kh_atomic_ptr_cmpxchg(&g_oom_owner, NULL, me);
    if (!owner) {
        kh_atomic_inc(&g_oom_calls);
        int r = fn(size, align ? align : KH_ALIGN_DEFAULT, flags, g_oom_ctx);
        /* Owner first: a context that saw us as the owner read the count
         * before this increment, so its wait ends. */
        kh_atomic_ptr_set_release(&g_oom_owner, NULL);
        kh_atomic_fetch_inc_release(&g_oom_done);
        if (r != KH_OOM_RETRY) return NULL;
        kh_atomic_inc(&g_oom_retries);
        return attempt(bytes, a, flags);
    }
    if (owner == me || (flags & KH_GFP_ATOMIC)) return NULL;
    kh_atomic_inc(&g_oom_waits);
    while (kh_atomic_read_acquire(&g_oom_done) == done) kh_port_cpu_relax();
    return attempt(bytes, a, flags);
}

/* Allocate bytes aligned to a; on failure let the OOM handler reclaim and
 * ask for exactly one retry. size/align are the caller's, for the handler. */
static void *alloc_raw(size_t bytes, size_t a, size_t size, size_t align, unsigned flags)
{
    void *raw = attempt(bytes, a, flags);
    if (!raw) {
        kh_oom_handler_fn fn = g_oom;
        if (fn && (!(flags & KH_GFP_ATOMIC) || g_oom_atomic))
            raw = reclaim_retry(fn, bytes, a, size, align, flags);
        if (!raw) warn(flags, KH_ENOMEM, "kmalloc: out of memory");
    }
#if KH_CONFIG_CHECKS
    if (raw && !g_vet) span_add(raw, bytes);
#endif
    return raw;
}

void *kh_kmalloc_aligned(size_t size, size_t align, unsigned flags)
{
    if (!call_ok(align, flags)) return NULL;
    size_t a = align > HDR_ALIGN ? align : HDR_ALIGN;
    if (size > SIZE_MAX - a) {
        warn(flags, KH_EOVERFLOW, "kmalloc: size overflows");
        return NULL;
    }
    unsigned char *raw = alloc_raw(size + a, a, size, align, flags);
    if (!raw) return NULL;
    unsigned char *p = raw + a;
    header_put(p, size, kh_log2_floor(a)); /* a: a power of two */
    kh_atomic_inc(&g_live_blocks);
    live_bytes_add(size);
    if (flags & KH_GFP_ZERO) memset(p, 0, size);
    return p;
}

void *kh_kmalloc(size_t size, unsigned flags)
{
    return kh_kmalloc_aligned(size, 0, flags);
}

void *kh_kzalloc(size_t size, unsigned flags)
{
    return kh_kmalloc_aligned(size, 0, flags | KH_GFP_ZERO);
}

void *kh_kmalloc_array(size_t n, size_t size, unsigned flags)
{
    if (size && n > SIZE_MAX / size) {
        warn(flags, KH_EOVERFLOW, "kmalloc_array: n * size overflows");
        return NULL;
    }
    return kh_kmalloc_aligned(n * size, 0, flags);
}

void *kh_kcalloc(size_t n, size_t size, unsigned flags)
{
    return kh_kmalloc_array(n, size, flags | KH_GFP_ZERO);
}

/* kfree, and with wipe kfree_sensitive: one header check; a bad pointer is
 * reported (as `who`) and nothing is written. */
static void free_block(void *ptr, bool wipe, const char *who)
{
    if (!ptr) return;
    if (!g_ready) {
#if KH_CONFIG_CHECKS
        kh_report(KH_ENOENT, "kfree: no global allocator", ptr);
#endif
        return;
    }
    size_t size;
    unsigned l;
    if (!header_get(ptr, &size, &l, who)) return;
    if (wipe) {
#if defined(__GNUC__)
        memset(ptr, 0, size);
        /* The zeroes are "read" here, so the memset is not a dead store. */
        __asm__ volatile("" : : "r"(ptr) : "memory");
#else
        for (volatile unsigned char *v = ptr, *e = v + size; v < e;) *v++ = 0;
#endif
    }
    size_t a = (size_t)1 << l;
    header_mark_freed(ptr, l);
    kh_atomic_dec(&g_live_blocks);
    live_bytes_sub(size);
    g_alloc.ops->free(g_alloc.ctx, (unsigned char *)ptr - a, size + a, a);
}

void kh_kfree(void *ptr)
{
    free_block(ptr, false, "kfree: not a kmalloc block");
}

void kh_kfree_sensitive(void *ptr)
{
    free_block(ptr, true, "kfree_sensitive: not a kmalloc block");
}

void *kh_kmemdup(const void *src, size_t len, unsigned flags)
{
    if (!src && len) {
        warn(flags, KH_EINVAL, "kmemdup: NULL source");
        return NULL;
    }
    void *p = kh_kmalloc(len, flags & ~KH_GFP_ZERO);
    if (p && len) memcpy(p, src, len);
    return p;
}

char *kh_kstrndup(const char *s, size_t max, unsigned flags)
{
    if (!s) return NULL;
    size_t n = 0;
    while (n < max && s[n]) n++;
    if (n == SIZE_MAX) {
        warn(flags, KH_EOVERFLOW, "kstrndup: length overflows");
        return NULL;
    }
    char *p = kh_kmalloc(n + 1, flags & ~KH_GFP_ZERO);
    if (!p) return NULL;
    memcpy(p, s, n);
    p[n] = 0;
    return p;
}

char *kh_kstrdup(const char *s, unsigned flags)
{
    return kh_kstrndup(s, SIZE_MAX, flags);
}

size_t kh_ksize(const void *ptr)
{
    if (!ptr || !g_ready) return 0;
    size_t size;
    unsigned l;
    return header_get(ptr, &size, &l, "ksize: not a kmalloc block") ? size : 0;
}

void *kh_krealloc(void *ptr, size_t size, unsigned flags)
{
    if (!ptr) return kh_kmalloc(size, flags);
    if (!call_ok(0, flags)) return NULL;
    size_t old;
    unsigned l;
    if (!header_get(ptr, &old, &l, "krealloc: not a kmalloc block")) return NULL;
    size_t a = (size_t)1 << l;
    if (size > SIZE_MAX - a) {
        warn(flags, KH_EOVERFLOW, "krealloc: size overflows");
        return NULL;
    }
    unsigned char *raw = (unsigned char *)ptr - a, *p = ptr;
    if (g_alloc.ops->resize && g_alloc.ops->resize(g_alloc.ctx, raw, old + a, size + a, a)) {
#if KH_CONFIG_CHECKS
        if (!g_vet) span_add(raw, size + a);
#endif
        header_put(p, size, l);
    } else {
        unsigned char *nraw = alloc_raw(size + a, a, size, a > HDR_ALIGN ? a : 0, flags);
        if (!nraw) return NULL;
        p = nraw + a;
        memcpy(p, ptr, old < size ? old : size);
        header_put(p, size, l);
        header_mark_freed(ptr, l);
        g_alloc.ops->free(g_alloc.ctx, raw, old + a, a);
    }
    if (size >= old)
        live_bytes_add(size - old);
    else
        live_bytes_sub(old - size);
    if ((flags & KH_GFP_ZERO) && size > old) memset(p + old, 0, size - old);
    return p;
}

void *kh_krealloc_array(void *ptr, size_t n, size_t size, unsigned flags)
{
    if (size && n > SIZE_MAX / size) {
        warn(flags, KH_EOVERFLOW, "krealloc_array: n * size overflows");
        return NULL;
    }
    return kh_krealloc(ptr, n * size, flags);
}

/* ---- the Linux-style names (KH_CONFIG_KMALLOC_NAMES) ---- */

#if KH_CONFIG_KMALLOC_NAMES
void *kmalloc(size_t size, unsigned flags)
{
    return kh_kmalloc(size, flags);
}

void *kzalloc(size_t size, unsigned flags)
{
    return kh_kzalloc(size, flags);
}

void *kmalloc_array(size_t n, size_t size, unsigned flags)
{
    return kh_kmalloc_array(n, size, flags);
}

void *kcalloc(size_t n, size_t size, unsigned flags)
{
    return kh_kcalloc(n, size, flags);
}

void *kmalloc_aligned(size_t size, size_t align, unsigned flags)
{
    return kh_kmalloc_aligned(size, align, flags);
}

void *krealloc(void *ptr, size_t size, unsigned flags)
{
    return kh_krealloc(ptr, size, flags);
}

void *krealloc_array(void *ptr, size_t n, size_t size, unsigned flags)
{
    return kh_krealloc_array(ptr, n, size, flags);
}

void kfree(void *ptr)
{
    kh_kfree(ptr);
}

void kfree_sensitive(void *ptr)
{
    kh_kfree_sensitive(ptr);
}

void *kmemdup(const void *src, size_t len, unsigned flags)
{
    return kh_kmemdup(src, len, flags);
}

char *kstrdup(const char *s, unsigned flags)
{
    return kh_kstrdup(s, flags);
}

char *kstrndup(const char *s, size_t max, unsigned flags)
{
    return kh_kstrndup(s, max, flags);
}

size_t ksize(const void *ptr)
{
    return kh_ksize(ptr);
}
#endif
