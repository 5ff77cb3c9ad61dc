/* SPDX-License-Identifier: MIT */
/* kheap global kernel-style API: kmalloc, kzalloc, kcalloc, kmalloc_array,
 * krealloc, kfree, ksize, kmalloc_aligned, the copy helpers (kmemdup,
 * kstrdup, kstrndup), kfree_sensitive, and the OOM handler.
 *
 * DATASHEET
 *
 * Names       Every function exists with a kh_ prefix (kh_kmalloc, kh_kfree,
 *             kh_ksize, ...). By default the library also defines the plain
 *             Linux names (kmalloc, kfree, ksize, ...) as the same functions.
 *             Build kheap (and include this header) with
 *             -DKH_CONFIG_KMALLOC_NAMES=0 (kheap/config.h) to leave them out:
 *             kheap then links into a kernel that has its own kmalloc and
 *             kfree, and callers use the kh_ names.
 *
 * Boot        One global kh_allocator, set once with kh_kmalloc_init() from
 *             any allocator (usually the locked kmalloc front end, struct kh_kmem in
 *             kheap/slab.h, over the core heap). Before that every call fails
 *             cleanly: NULL, ksize 0, kfree does nothing (checked builds
 *             report kfree of a non-NULL pointer). A second kh_kmalloc_init
 *             is refused and reported (KH_EBUSY). kh_kmalloc_shutdown()
 *             detaches it again (tests, orderly shutdown).
 *
 * Sizes       kfree and ksize get no size, so every block carries a small
 *             header just below the pointer returned: two words (requested
 *             size; a tag holding log2 of the alignment and a check value
 *             made from the address and size). It costs H = KH_ALIGN_DEFAULT
 *             bytes (16 on LP64, 8 on 32-bit) per block, or `align` bytes for
 *             kmalloc_aligned above that. The allocator below sees requests of
 *             size + H aligned to max(align, KH_ALIGN_DEFAULT) and gets the
 *             same size and align back on free, so it may be header-less
 *             (slab, struct kh_kmem). This works over every kh_allocator, locked or
 *             not; the price is H bytes per block (kmalloc(8) takes a 32-byte
 *             slab object from struct kh_kmem).
 *
 * ksize       The size requested (or last krealloc'ed): the bytes the caller
 *             may use.
 *
 * Flags       KH_GFP_* (kheap/alloc.h), or the kernel spellings below after
 *             #define KH_KMALLOC_KERNEL_NAMES (opt-in, so a kernel with its own
 *             GFP_* does not clash):
 *               KH_GFP_ZERO    zero the new bytes (krealloc: bytes past the
 *                              old size)
 *               KH_GFP_ATOMIC  never sleep: passed to the allocator (no source
 *                              is called) and the OOM handler is skipped
 *                              unless it was registered as atomic-safe
 *               KH_GFP_NOWARN  do not report the failure
 *               KH_GFP_NOGROW  passed to the allocator: do not call a source
 *             Unknown bits: NULL, reported as KH_EINVAL.
 *
 * Failure     NULL, and unless KH_GFP_NOWARN a report through kh_report:
 *             KH_ENOMEM (out of memory), KH_EOVERFLOW (n * size or size + H
 *             wraps), KH_EINVAL (bad flags or alignment). Before reporting
 *             an out-of-memory failure the OOM handler, when set, is called
 *             once with (size, align, flags); if it returns KH_OOM_RETRY the
 *             allocation is tried exactly once more. One context runs the
 *             handler at a time (contexts as kh_port_context_id tells
 *             them apart: CPUs or threads). A failure in the context
 *             already running it (the handler may kmalloc; an interrupt on
 *             its CPU) does not call it again. A non-atomic failure in
 *             another context waits for that run to end (spinning with
 *             kh_port_cpu_relax, like a spin lock) and then tries exactly
 *             once more; an atomic one fails without waiting. So, as
 *             with reclaim in Linux, a caller that holds a lock the
 *             handler takes must allocate with KH_GFP_ATOMIC.
 *             Nothing aborts, nothing loops.
 *
 * Misuse      Checked builds (KH_CONFIG_CHECKS): kfree, kfree_sensitive,
 *             ksize and krealloc vet a pointer before reading anything
 *             below it, and refuse and report anything that is not a live
 *             kmalloc block: nothing is freed, wiped or counted.
 *              - Over an allocator with owns (kheap/alloc.h: struct
 *                kh_kmem, alone or in the locked wrapper): the raw block
 *                must be live in the allocator before its header is read.
 *                A kmalloc block is p = raw + 2^l with raw aligned to 2^l;
 *                the candidates p - 16, p - 32, ... (while p is aligned to
 *                them) are asked in turn and the first live one is the only
 *                possible raw block. A foreign pointer, one into unmapped
 *                memory, an interior, freed or stale one: KH_EFAULT, and
 *                nothing at or below it is read. Then the header must
 *                check out (tag, alignment, a size within the block).
 *                Cost: one owns call per kfree, ksize or krealloc (a
 *                kmalloc_aligned block: up to log2(align / 16) + 1).
 *              - Over an allocator without owns (the core heap, llist):
 *                a pointer outside the span of every raw block kmalloc got
 *                from the allocator is refused unread (KH_EFAULT); inside
 *                it, the 16 bytes below must be readable and their tag
 *                must check out: a hash of address, size and alignment
 *                keyed with a secret from kh_port_entropy (drawn by
 *                kh_kmalloc_init), so other data passes by chance with
 *                probability 2^-58 (2^-26 on 32-bit targets), and a forged
 *                header needs the secret. A double free is KH_EDOUBLE
 *                while the freed tag is intact (the allocator may reuse
 *                those bytes), else KH_EFAULT.
 *              - A misaligned pointer: KH_EFAULT, unread. kfree(NULL) does
 *                nothing.
 *             Not caught: a stale pointer to a block handed out again at
 *             the same address (it is its new owner's, for any allocator).
 *
 * Threads     As thread-safe as the global allocator (wrap it in the locked
 *             allocator). kh_kmalloc_init, kh_kmalloc_shutdown and
 *             kh_kmalloc_set_oom_handler are boot-time calls: not locked.
 */
#ifndef KHEAP_KMALLOC_H
#define KHEAP_KMALLOC_H

#include <stdbool.h>
#include <stddef.h>

#include "kheap/alloc.h"
#include "kheap/config.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What an OOM handler returns. */
#define KH_OOM_FAIL  0 /* give up: the call fails (and reports unless NOWARN) */
#define KH_OOM_RETRY 1 /* memory was reclaimed: try once more */

typedef int (*kh_oom_handler_fn)(size_t size, size_t align, unsigned flags, void *ctx);

/* Set the global allocator. 0, or KH_EINVAL (a.ops NULL), or KH_EBUSY
 * (already set; reported, the first one stays). */
int kh_kmalloc_init(kh_allocator a);

/* Detach the global allocator; every call fails again until the next
 * kh_kmalloc_init. Blocks still allocated stay with the allocator. Returns 0
 * or KH_ENOENT when none was set. */
int kh_kmalloc_shutdown(void);

/* True once kh_kmalloc_init succeeded (and no shutdown since). */
bool kh_kmalloc_ready(void);

/* Install the OOM handler (NULL removes it). atomic_safe: the handler never
 * sleeps, so it is also called for KH_GFP_ATOMIC requests. */
void kh_kmalloc_set_oom_handler(kh_oom_handler_fn fn, void *ctx, bool atomic_safe);

void *kh_kmalloc(size_t size, unsigned flags);
void *kh_kzalloc(size_t size, unsigned flags);
/* n * size bytes; NULL (KH_EOVERFLOW) when the product wraps. */
void *kh_kmalloc_array(size_t n, size_t size, unsigned flags);
/* kmalloc_array, zeroed. */
void *kh_kcalloc(size_t n, size_t size, unsigned flags);
/* align: 0 (= KH_ALIGN_DEFAULT) or a power of two. kfree, ksize and krealloc
 * accept the result; krealloc keeps its alignment. */
void *kh_kmalloc_aligned(size_t size, size_t align, unsigned flags);
/* ptr NULL: kmalloc(size). Otherwise resize in place when the allocator can,
 * else allocate, copy min(old, new) bytes and free the old block. size 0 is
 * a valid size (the block is kept; use kfree to free). On failure NULL and
 * ptr is untouched and still owned by the caller. */
void *kh_krealloc(void *ptr, size_t size, unsigned flags);
/* krealloc for n elements of size bytes, overflow-checked. */
void *kh_krealloc_array(void *ptr, size_t n, size_t size, unsigned flags);
void kh_kfree(void *ptr);
/* kfree after zeroing the block's ksize bytes (keys, passwords), in a way
 * the compiler may not drop as a dead store. NULL does nothing. */
void kh_kfree_sensitive(void *ptr);
/* A kmalloc'd copy of len bytes at src (len 0: a valid empty block). src
 * NULL with len > 0: NULL, reported as KH_EINVAL. */
void *kh_kmemdup(const void *src, size_t len, unsigned flags);
/* A kmalloc'd copy of the string s, NUL included; NULL for a NULL s (not
 * reported, as in Linux). */
char *kh_kstrdup(const char *s, unsigned flags);
/* The same for at most max characters of s, always NUL-terminated. */
char *kh_kstrndup(const char *s, size_t max, unsigned flags);
/* Bytes usable at ptr (the size asked for); 0 for NULL or a bad pointer. */
size_t kh_ksize(const void *ptr);

#if KH_CONFIG_KMALLOC_NAMES
/* The Linux names: the same functions (see Names above). */
void *kmalloc(size_t size, unsigned flags);
void *kzalloc(size_t size, unsigned flags);
void *kmalloc_array(size_t n, size_t size, unsigned flags);
void *kcalloc(size_t n, size_t size, unsigned flags);
void *kmalloc_aligned(size_t size, size_t align, unsigned flags);
void *krealloc(void *ptr, size_t size, unsigned flags);
void *krealloc_array(void *ptr, size_t n, size_t size, unsigned flags);
void kfree(void *ptr);
void kfree_sensitive(void *ptr);
void *kmemdup(const void *src, size_t len, unsigned flags);
char *kstrdup(const char *s, unsigned flags);
char *kstrndup(const char *s, size_t max, unsigned flags);
size_t ksize(const void *ptr);
#endif

/* Counters since kh_kmalloc_init. The live counts cost two relaxed atomic
 * adds per allocation and per kfree: about 2 ns, 5-10%, of a kmalloc/kfree
 * pair on the x86-64 bench machine. They are as wide as size_t, so 32-bit
 * targets never take the 64-bit atomic fallback for them. */
struct kh_kmalloc_stats {
    size_t live_blocks, live_bytes; /* requested bytes, headers excluded */
    size_t failures;                /* calls that returned NULL */
    size_t oom_calls, oom_retries;  /* handler calls; retries it asked for */
    size_t oom_waits;               /* failures that waited for another
                                       context's handler run, then retried */
};
void kh_kmalloc_stats(struct kh_kmalloc_stats *out);

#ifdef KH_KMALLOC_KERNEL_NAMES
#define GFP_KERNEL   KH_GFP_KERNEL
#define GFP_ATOMIC   KH_GFP_ATOMIC
#define GFP_NOWAIT   KH_GFP_ATOMIC
#define __GFP_ZERO   KH_GFP_ZERO
#define __GFP_NOWARN KH_GFP_NOWARN
#endif

#ifdef __cplusplus
}
#endif

#endif /* KHEAP_KMALLOC_H */
