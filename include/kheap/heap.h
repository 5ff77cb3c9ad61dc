/* SPDX-License-Identifier: MIT */
/* kheap core heap: an O(1), fallible, alignment-aware heap over caller memory.
 *
 * DATASHEET
 *
 * Algorithm   Two-level segregated fit (the TLSF family) with immediate
 *             coalescing and boundary tags. Free blocks sit in size classes:
 *             exact classes for the smallest sizes, then one class per power
 *             of two split into 2^KH_HEAP_SL_LOG2 (16) linear sub-classes.
 *             A request first looks at up to KH_HEAP_FALLBACK_SCAN (8) blocks
 *             of its own class (best fit: big blocks stay whole), then two
 *             find-first-set instructions on the bitmaps find the first
 *             non-empty class whose every block fits. Splits keep the front
 *             and give back the tail.
 *
 * Time        kheap_alloc, kheap_free, kheap_usable_size: O(1), independent of
 *             the number of blocks; no loop runs over anything that grows with
 *             the heap's contents. kheap_realloc: O(1) plus the copy when it
 *             must move. kheap_init_ex/kheap_add_region: O(regions) + O(index).
 *             kheap_check, kheap_walk: O(blocks), for tests and debugging.
 *             With a source attached (kheap_set_source) a failing allocation
 *             calls the source once, which costs whatever the source costs.
 *
 * Memory      W = sizeof(size_t), G = KH_ALIGN_DEFAULT = 2 * sizeof(void *).
 *             Per allocated block: W bytes of header; block sizes are
 *             multiples of G with a minimum of 2G (32 B on LP64, 16 B on
 *             32-bit). A request of n bytes takes max(round_up(n + W, G), 2G).
 *             Control block, inside the first region:
 *               kheap_control_bytes(max_block) = ~16 W + nfl * (16 W + 4)
 *             with nfl = log2(max_block / G) - KH_HEAP_SL_LOG2 + 2 first-level
 *             classes (16 list heads each). 32-bit: 532 B for a 4 KiB heap,
 *             804 B for 64 KiB, 1076 B for 1 MiB; LP64: 1424 B for 64 KiB.
 *             KH_HEAP_SL_LOG2=3 halves the list heads for a slightly coarser
 *             fit.
 *             Per region: 3 W of header + 2 W end marker + alignment slack.
 *
 * Fit         Internal waste: at most G - 1 bytes of rounding plus W header.
 *             A request succeeds whenever a free block of round_up(n + W, G)
 *             rounded up to its class boundary exists (the guaranteed-fit
 *             search), and whenever one of the first KH_HEAP_FALLBACK_SCAN
 *             blocks of its own class is big enough.
 *             Free blocks are coalesced immediately: no two free blocks are
 *             ever adjacent (except where their sum would exceed max_block).
 *             Policy KHEAP_SHRINK_MOVES (kheap_set_policy) lets a shrinking
 *             realloc move into a smaller hole: talc's fit workload then
 *             keeps 98.9% (128 MiB) instead of 97.4% of the arena live.
 *
 * Alignment   align 0 means KH_ALIGN_DEFAULT (16 on LP64, 8 on 32-bit); any
 *             power of two is accepted as long as size + align + overhead does
 *             not overflow (tested up to 1 MiB and beyond); a non-power-of-two
 *             returns NULL. Alignments above G cost up to align + 2G bytes of
 *             search slack; the leading gap goes back to the heap as a free
 *             block. The minimal build accepts alignments up to G only.
 *
 * Failure     Every function that can fail reports it: NULL or false. No
 *             function aborts, loops unboundedly or writes outside the regions
 *             it was given. Every size computation is overflow-checked: sizes
 *             near SIZE_MAX and alignments that would wrap return NULL (the
 *             BadAlloc class of bugs, CISA ICSA-21-119-04, 2021).
 *
 * Misuse      In checked builds (KH_CONFIG_CHECKS, default on) kheap_free,
 *             kheap_realloc and kheap_usable_size validate the pointer:
 *             not from this heap (KH_EFAULT), already free (KH_EDOUBLE),
 *             header overwritten (KH_ECORRUPT). The error is reported through
 *             kh_report() (kheap/error.h) and the call does nothing (returns
 *             NULL / 0). Unchecked builds trust the caller.
 *
 * Minimal     -DKH_HEAP_FULL=0 (kheap/config.h) is the smallest build
 * build       (docs/SIZE.md). Init, regions, alloc, free, usable size,
 *             stats, check and walk work as described here; what tiny
 *             firmware seldom needs is left out, and asking for it fails
 *             cleanly instead:
 *              - alignments above G: every call asking for one (kheap_alloc,
 *                kheap_alloc_flags, kheap_zalloc, kheap_realloc) returns NULL
 *                and changes nothing;
 *              - kheap_realloc and kheap_resize work within the block only:
 *                to a size up to kheap_usable_size(ptr) they trim in place
 *                and never fail; beyond it they return NULL (false) and the
 *                block is untouched. No growth, no moving;
 *              - kheap_set_policy refuses every policy and kheap_set_source
 *                every source (both report KH_EINVAL): running out of memory
 *                is final; add memory with kheap_add_region.
 *
 * Threads     None of these functions lock. Wrap the heap in the locked
 *             allocator (kheap/locked.h) or hold your own lock. Independent
 *             heaps need no coordination: there is no static state.
 */
#ifndef KHEAP_HEAP_H
#define KHEAP_HEAP_H

#include <stdbool.h>
#include <stddef.h>

/* Options come from kheap/config.h when it is on the include path (the
 * library always has it); the core heap copied alone needs only this header
 * and heap.c, and then takes the defaults below or -D flags. */
#if defined(__has_include)
#if __has_include("kheap/config.h")
#include "kheap/config.h"
#define KHEAP_HEAP_HAVE_CONFIG_H 1
#endif
#endif
#if !defined(KHEAP_HEAP_HAVE_CONFIG_H) && defined(KH_CONFIG_HEADER)
#include KH_CONFIG_HEADER
#endif
/* The defaults kheap/config.h documents, for the heap built without it. */
#ifndef KH_CONFIG_CHECKS
#define KH_CONFIG_CHECKS 1
#endif
#ifndef KH_HEAP_SL_LOG2
#define KH_HEAP_SL_LOG2 4
#endif
#ifndef KH_HEAP_FULL
#define KH_HEAP_FULL 1
#endif
#ifndef KH_HEAP_FALLBACK_SCAN
#define KH_HEAP_FALLBACK_SCAN 8
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------
 * The vocabulary every kheap layer shares. It lives here, at the bottom, so
 * that the core heap stands alone; kheap/error.h, kheap/source.h and
 * kheap/alloc.h include this header for it.
 */

/* Error codes: results that are not pointers are int, 0 on success or one of
 * these negative codes (one code space for the whole library; kh_strerror in
 * kheap/error.h names each). Pointer results are NULL on failure. */
enum kh_error {
    KH_OK = 0,
    KH_ENOMEM = -1,    /* out of memory */
    KH_EINVAL = -2,    /* bad argument: size, alignment, flags, NULL object */
    KH_EOVERFLOW = -3, /* a size computation would wrap */
    KH_EFAULT = -4,    /* pointer not owned by this allocator */
    KH_EDOUBLE = -5,   /* object freed twice */
    KH_ECORRUPT = -6,  /* internal invariant broken (heap metadata overwritten?) */
    KH_EBUSY = -7,     /* object still in use (e.g. destroying a cache with live objects) */
    KH_ERANGE = -8,    /* counter saturated */
    KH_ENOENT = -9,    /* not found */
    /* What kheap_check found broken (all are kinds of KH_ECORRUPT): */
    KH_EHEAP_BLOCK = -100,  /* a block's size or position is invalid */
    KH_EHEAP_FLAGS = -101,  /* a prev-free flag or boundary tag is wrong */
    KH_EHEAP_ADJ = -102,    /* two adjacent free blocks */
    KH_EHEAP_LIST = -103,   /* free-list links or a block's class are wrong */
    KH_EHEAP_BITMAP = -104, /* a bitmap disagrees with the lists */
    KH_EHEAP_STATS = -105,  /* counters disagree with the blocks */
};

/* The misuse-reporting hook. Checked builds (KH_CONFIG_CHECKS) report misuse
 * that has no return value to carry it (a double free, a pointer the heap
 * never handed out, a refcount that would overflow): the library reports,
 * refuses the operation and carries on; what happens next (log, panic,
 * ignore) is the hook's decision. Called with the code, a short static
 * description and the offending object or pointer (may be NULL); it must not
 * allocate from the allocator that reported. */
typedef void (*kh_error_hook_fn)(int code, const char *what, const void *ptr);

/* Install a hook (NULL restores the default, which ignores reports) and
 * return the previous one. The hook pointer is read and written atomically,
 * so it may be changed while other threads report: each report goes to the
 * old hook or the new one. O(1). */
kh_error_hook_fn kh_set_error_hook(kh_error_hook_fn fn);

/* Report misuse through the current hook. Used by every kheap module. */
void kh_report(int code, const char *what, const void *ptr);

/* Default alignment when align is 0: two pointers, enough for any scalar on
 * the targets kheap supports (16 on LP64, 8 on 32-bit). */
#define KH_ALIGN_DEFAULT (2 * sizeof(void *))

/* Allocation flags, named after the kernel's gfp_t bits. */
#define KH_GFP_KERNEL 0u        /* may grow the heap, may call reclaim */
#define KH_GFP_ATOMIC (1u << 0) /* must not sleep: no source, no reclaim hook */
#define KH_GFP_ZERO   (1u << 1) /* zero the memory (helpers do it for every allocator) */
#define KH_GFP_NOWARN (1u << 2) /* failure is expected: do not report it */
#define KH_GFP_NOGROW (1u << 3) /* do not ask a source for more memory */

/* Memory sources: where a heap gets more memory when it runs out. In a
 * kernel a source allocates page frames and maps them; hosted it is mmap; on
 * a microcontroller it can hand out a static array in pieces
 * (kheap/sources.h has ready-made ones). The core heap, bump allocators and
 * slab caches take an optional source and, when an allocation fails, call
 * grow() once, add what it returns, and retry once. They never call a source
 * for a KH_GFP_ATOMIC or KH_GFP_NOGROW request. */
struct kh_source_ops {
    /* Return at least min_bytes of new memory and store its real size in
     * *got_bytes, or return NULL. Memory need not be zeroed or contiguous with
     * earlier grants. */
    void *(*grow)(void *ctx, size_t min_bytes, size_t *got_bytes);
    /* Take back memory grow() returned (whole grants only). NULL when the
     * source cannot take memory back. */
    void (*release)(void *ctx, void *mem, size_t bytes);
};

struct kh_source {
    void *ctx;
    const struct kh_source_ops *ops;
};

/* ---------------------------------------------------------------------------
 * The core heap.
 */
typedef struct kheap kheap;

struct kheap_stats {
    size_t total_bytes;        /* bytes in blocks, all regions (= free + used) */
    size_t free_bytes;         /* bytes in free blocks, headers included */
    size_t used_bytes;         /* bytes in allocated blocks (0 when everything is freed) */
    size_t peak_used_bytes;    /* highest used_bytes seen */
    size_t largest_free_block; /* largest request that would succeed now, approximately:
                                  usable bytes of the biggest block in the top class */
    size_t free_blocks;        /* number of free blocks */
    size_t allocations;        /* live allocations */
    size_t regions;            /* memory regions (adjacent ones count once) */
    size_t overhead_bytes;     /* control block, region headers, end markers, slack */
    size_t max_block;          /* largest block the index can hold (kheap_init_ex) */
};

/* Create a heap in [mem, mem + bytes). Any address and size: the start is
 * aligned internally and the control block lives at the start of the region.
 * The index is sized for blocks up to `bytes`; use kheap_init_ex when you
 * will add larger regions later. Returns the heap handle (somewhere inside
 * mem), or NULL when mem is NULL or the region cannot hold the control block
 * plus one minimum block. O(index). */
kheap *kheap_init(void *mem, size_t bytes);

/* As kheap_init, with the index sized for blocks up to max_block bytes
 * (at least `bytes`). A larger max_block costs W bytes per extra size class
 * (16 classes per doubling) and nothing else. */
kheap *kheap_init_ex(void *mem, size_t bytes, size_t max_block);

/* Add [mem, mem + bytes) to the heap. The memory may be anywhere; when it
 * touches an existing region (either end) they coalesce into one. Returns
 * false, adding nothing, when mem is NULL, bytes is too small for a minimum
 * block after alignment, the range wraps around the address space, or it
 * overlaps a region the heap already has. O(regions). */
bool kheap_add_region(kheap *h, void *mem, size_t bytes);

/* Allocate size bytes aligned to align (0 = KH_ALIGN_DEFAULT, else a power
 * of two). size 0 returns a unique minimum block. NULL when out of memory,
 * align is not a power of two (or, with KH_HEAP_FULL=0, above
 * KH_ALIGN_DEFAULT), or the request overflows. O(1). */
void *kheap_alloc(kheap *h, size_t size, size_t align);

/* kheap_alloc with KH_GFP_* flags: KH_GFP_ZERO zeroes, KH_GFP_ATOMIC and
 * KH_GFP_NOGROW never call the source. */
void *kheap_alloc_flags(kheap *h, size_t size, size_t align, unsigned flags);

/* kheap_alloc, then zero the size bytes. */
void *kheap_zalloc(kheap *h, size_t size, size_t align);

/* Resize the block at ptr to size bytes, keeping alignment align.
 *  - ptr NULL: same as kheap_alloc(h, size, align).
 *  - Shrinks in place (the tail goes back to the heap when it is big enough),
 *    unless the heap's policy has KHEAP_SHRINK_MOVES (see kheap_set_policy).
 *  - Grows in place into a following free block when it can, else into the
 *    preceding free block (data moved down with memmove), else moves: a new
 *    block with the requested alignment, the first min(old, size) bytes
 *    copied, the old block freed.
 *  - A ptr not aligned to align is moved to an aligned block.
 *  - On failure returns NULL and the old block is untouched and still valid.
 *  - size 0 shrinks to a minimum block (it does not free).
 * O(1) plus the copy. With KH_HEAP_FULL=0: ptr NULL allocates; otherwise
 * only a size up to kheap_usable_size(ptr) with align up to KH_ALIGN_DEFAULT
 * is done (in place, never failing); anything else returns NULL and the old
 * block is untouched. */
void *kheap_realloc(kheap *h, void *ptr, size_t size, size_t align);

/* Resize the block at ptr to size bytes IN PLACE: shrink (the tail goes back
 * to the heap), or grow into a following free block. Returns true when the
 * block now holds size bytes at the same address, false (block untouched)
 * otherwise; never moves data. The kh_allocator adapter's resize. O(1).
 * With KH_HEAP_FULL=0 it never grows: true only up to kheap_usable_size. */
bool kheap_resize(kheap *h, void *ptr, size_t size);

/* Free ptr. NULL does nothing. Coalesces with free neighbours at once. O(1).
 * Checked builds refuse and report pointers this heap does not own. */
void kheap_free(kheap *h, void *ptr);

/* Bytes usable at ptr (>= the size requested). 0 for NULL or (checked
 * builds) a pointer this heap does not own. O(1). */
size_t kheap_usable_size(const kheap *h, const void *ptr);

/* Statistics. O(1): every field is kept up to date by alloc and free. */
void kheap_stats(const kheap *h, struct kheap_stats *out);

/* Verify every invariant: block sizes and flags, boundary tags, no adjacent
 * free blocks, every free block in the right list and every listed block
 * free, bitmaps matching lists, statistics matching the blocks. Returns 0 or
 * a negative KH_EHEAP_* code (enum kh_error above) naming what is broken.
 * O(blocks). */
int kheap_check(const kheap *h);

/* Call fn for every block in address order, region by region: block is the
 * payload address, size the usable bytes, used whether it is allocated.
 * fn must not allocate from or free to h. O(blocks). */
typedef void (*kheap_walk_fn)(void *block, size_t size, bool used, void *ctx);
void kheap_walk(const kheap *h, kheap_walk_fn fn, void *ctx);

/* Per-heap placement policy (a bit set; 0, the default, is the contract
 * above).
 *  KHEAP_SHRINK_MOVES  kheap_realloc to a smaller size, with the default
 *      alignment, moves the data into a free block that fits and is smaller
 *      than the current block, when one is found as kheap_alloc would find it;
 *      the old block then goes back whole and coalesces. This keeps large
 *      free blocks large: on talc's efficiency workload the heap holds
 *      1.5 points more live data at the first failure (docs/BENCHMARKS.md).
 *      Costs a copy of the kept bytes per such shrink. Shrinking still never
 *      fails (it falls back to trimming in place); kheap_resize never moves.
 * Returns false and changes nothing for a NULL heap, unknown bits, or any
 * bit in a KH_HEAP_FULL=0 build (reported as KH_EINVAL). O(1). */
#define KHEAP_SHRINK_MOVES 1u
bool kheap_set_policy(kheap *h, unsigned policy);

/* Attach a source of more memory (NULL detaches). When an allocation fails,
 * the heap asks src->ops->grow() once for enough bytes, adds them as a region
 * and retries once. The source struct is copied. O(1).
 * With KH_HEAP_FULL=0 the heap never grows: a non-NULL src is refused,
 * reported as KH_EINVAL through kh_report() (kheap/error.h), and nothing is
 * attached, so a failing allocation just returns NULL; NULL does nothing. */
void kheap_set_source(kheap *h, const struct kh_source *src);

/* Bytes of control block kheap_init_ex(mem, bytes, max_block) will use,
 * for sizing math. */
size_t kheap_control_bytes(size_t max_block);

#ifdef __cplusplus
}
#endif

#endif /* KHEAP_HEAP_H */
