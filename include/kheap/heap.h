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
 * Time        kheap_alloc, kheap_free, kheap_realloc, kheap_resize,
 *             kheap_usable_size: O(1), independent of the number of blocks;
 *             an ownership test is a binary search over the region table (at
 *             most KH_HEAP_MAX_REGIONS entries, 1024 by default: 10 steps; one
 *             comparison while the heap has one region). No loop runs over
 *             the blocks. kheap_realloc: O(1) plus the
 *             copy when it must move. Hardening level 2 adds O(block size):
 *             freed memory is poisoned, handed-out memory checked.
 *             kheap_init_ex/kheap_add_region: O(regions) + O(index) (level 2:
 *             + O(bytes)). kheap_check, kheap_walk: O(blocks), for
 *             tests and debugging. With a source attached (kheap_set_source) a
 *             failing allocation calls the source once, which costs whatever
 *             the source costs.
 *             Instructions per call, average (callgrind, x86-64 -O2, talc's
 *             random actions, sizes up to 1000, 300+ live blocks; realloc's
 *             copy included; bench/worstcase.sh): level 0: alloc 125, free 72,
 *             realloc 345; level 1: 125, 134, 433. Throughput and latency of
 *             each level: docs/BENCHMARKS.md.
 *             Worst case per call (callgrind, x86-64 -O2, bench/worstcase.c:
 *             a full region table, every slow path of the call at once),
 *             level 0 / level 1: kheap_alloc 233 / 239 instructions (its own
 *             class scanned in full, a higher class found, split), 298 / 310
 *             at 4096-byte alignment (plus a leading gap); kheap_free 141 /
 *             351 (merged both sides; level 1 searches the region table);
 *             kheap_realloc 478 / 726 (a move to an aligned block, old block
 *             merged both sides), plus the copy. Level 2 adds O(block size).
 *
 * Memory      W = sizeof(size_t), G = KH_ALIGN_DEFAULT = 2 * sizeof(void *).
 *             Per allocated block: W bytes of header (hardening level 2:
 *             2W + 1, a canary byte and the size requested); block sizes are
 *             multiples of G with a minimum of 2G (32 B on LP64, 16 B on
 *             32-bit). A request of n bytes takes max(round_up(n + W, G), 2G)
 *             (level 2: max(round_up(n + 2W + 1, G), 2G)); kheap_block_bytes
 *             says it for a given heap. Control block, inside the first region:
 *               kheap_control_bytes(max_block) = S + nfl * (16 W + 4) + R * 2W
 *             with nfl = log2(max_block / G) - KH_HEAP_SL_LOG2 + 2 first-level
 *             classes (16 list heads each), R = nfl region-table entries (at
 *             least 4; a heap with more regions moves its table into a heap
 *             block of 2W per entry, doubling, up to KH_HEAP_MAX_REGIONS) and
 *             S = 28-29 W of fields.
 *             32-bit: 648 B for a 4 KiB heap, 952 B for 64 KiB, 1256 B for
 *             1 MiB; LP64: 1704 B for 64 KiB, 3332 B for 128 MiB (a test checks
 *             these against kheap_control_bytes). KH_HEAP_SL_LOG2=3 halves the
 *             list heads for a slightly coarser fit.
 *             Per region: 2 W end marker + alignment slack (under 2G); the
 *             region's bounds live in the control block's table.
 *             Smallest region kheap_add_region takes, at any alignment:
 *             kheap_min_region_bytes() (63 B on LP64, 31 B on 32-bit).
 *
 * Fit         Internal waste: at most G - 1 bytes of rounding plus W header.
 *             A request succeeds whenever a free block of round_up(n + W, G)
 *             rounded up to its class boundary exists (the guaranteed-fit
 *             search), and whenever one of the first KH_HEAP_FALLBACK_SCAN
 *             blocks of its own class is big enough.
 *             Free blocks are coalesced immediately: no two free blocks are
 *             ever adjacent (except where their sum would exceed max_block).
 *             By default a shrinking kheap_realloc moves into a smaller hole
 *             when there is one (policy KHEAP_SHRINK_MOVES; kheap_set_policy
 *             (h, 0) keeps it in place): talc's fit workload then keeps 98.9%
 *             (128 MiB) instead of 97.4% of the arena live.
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
 *             Hard limits: no operation (allocation, realloc or resize growing
 *             in place either way, regions coalescing, growth through a
 *             source) makes a block larger than max_block, the largest the
 *             index holds; a request that can never fit fails at once without
 *             calling the source. Every configuration macro is range-checked
 *             when the heap is built (#error). Every function takes NULL
 *             pointer arguments (kheap_stats(h, NULL) does nothing).
 *
 * Misuse      Hardening levels (KH_CONFIG_HARDEN compiles one in, default 1;
 *             KH_CONFIG_CHECKS=0 is level 0; kheap_set_hardening picks a lower
 *             one, or back up, per heap at run time):
 *
 *             Level 0 trusts the caller: a pointer the heap did not hand out
 *             corrupts it.
 *
 *             Level 1: kheap_free, kheap_realloc, kheap_resize and
 *             kheap_usable_size validate the pointer in O(1) before touching
 *             anything, and refuse one the heap did not hand out or has taken
 *             back: reported through kh_report (KH_EFAULT not a block of this
 *             heap, KH_EDOUBLE already free, KH_ECORRUPT a header or its
 *             neighbour does not agree), and the call does nothing (returns
 *             NULL / false / 0): no block overlaps another, live contents and
 *             statistics stay as they were, kheap_check still passes.
 *             Each block header carries a tag: the bits above the largest
 *             size the index holds, and the spare bits below G, are
 *             (block address * m + a) for a per-heap secret (m, a). A pointer
 *             is taken for a live block only when it is G-aligned, inside one
 *             of the heap's regions (the table: no memory outside the heap is
 *             read), the word below it carries the tag for its address and
 *             says "used", its successor lies in the region, carries its own
 *             tag and records a used predecessor, and a free predecessor
 *             ends exactly there. Every header the heap absorbs (merging,
 *             growing in place) is rewritten to "free, size 0" first.
 *               Always caught: a misaligned pointer; a pointer outside every
 *             region (another heap's block, a gap between regions, the
 *             control block, anything else), without reading it; a double
 *             free of a block not handed out again since, whatever merges
 *             happened; any pointer whose header word is one the heap wrote
 *             (a live block's neighbours, wiped headers, level-2 poison).
 *               Caught with probability 1 - p: an interior pointer of a live
 *             block, or a stale pointer into memory handed out again, where
 *             the word below the pointer is the program's data. It passes
 *             only if that word equals the tag for its address, p = 2^-b for
 *             data that does not depend on the secret, and its successor
 *             check must pass too (for random data about 2^-2b). b is
 *             kheap_stats' check_bits, 8W - floor(log2(max_block)) + log2(G)
 *             - 3, for a heap of max_block bytes (a test checks these):
 *                 max_block    4 KiB  64 KiB  1 MiB  16 MiB  128 MiB
 *                 32-bit b       20     16     12      8       5
 *                 LP64 b         53     49     45     41      38
 *             i.e. p = 1.5e-5 for a 32-bit build with a 64 KiB heap. The
 *             test suite's adversarial model (tens of thousands of interior
 *             and stale pointers among live blocks, 32-bit and 64-bit builds)
 *             has had none accepted. A 32-bit heap with a large max_block has
 *             few check bits: its misuse detection is weak, and says so in
 *             check_bits.
 *               Never caught: a stale pointer that is again the start of a
 *             live block is that block (freeing it frees the new owner's
 *             block); a header rewritten with the right tag (needs the
 *             secret: kheap_init derives it from the heap's address;
 *             kheap_set_secret mixes in entropy the program cannot know);
 *             writes inside a block's own slack (level 2 catches those).
 *               Cost: no byte per block; the control block's region table
 *             and tag fields (S and R above); about 60 instructions more per
 *             kheap_free and 85 per kheap_realloc than level 0 (x86-64, up to
 *             three multiplications), one multiplication per split.
 *
 *             Level 2 adds, for debugging: a canary after each block's
 *             requested size (at least one byte, never 0, keyed by the
 *             secret; the size kept in the block's last word), checked at
 *             kheap_free, kheap_realloc, kheap_resize, kheap_usable_size and
 *             by kheap_check (KH_EHEAP_CANARY: the block was written past its
 *             size; the call carries on: the heap's own structure is intact);
 *             freed memory filled with 0xa5 and checked when it is handed out
 *             again, by allocation or growth in place, and by kheap_check
 *             (KH_EHEAP_POISON: written after it was freed). kheap_usable_size
 *             is then exactly the size requested. Costs W + 1 bytes per block
 *             before rounding and O(block size) per allocation and free.
 *
 * Sanitizers  Built with -fsanitize=address, the heap poisons its control
 *             block, headers and free memory and unpoisons the bytes it hands
 *             out (the requested size; kheap_usable_size makes the bytes it
 *             returns addressable), so ASan reports overflows and use after
 *             free inside a kheap arena. -DKH_CONFIG_ASAN=0 turns that off.
 *             Memory handed to kheap_init is unpoisoned first (it may come
 *             from an abandoned heap); kheap_remove_region unpoisons what it
 *             gives back. With -DKH_CONFIG_VALGRIND=1 the heap makes its
 *             memory no-access to Memcheck and describes every block with
 *             client requests (MALLOCLIKE, FREELIKE, RESIZEINPLACE; the size
 *             is the requested one at level 2, the usable one below), so
 *             Memcheck reports overflows, use after free and leaked blocks.
 *             Needs <valgrind/memcheck.h>.
 *
 * Tracing     With -DKH_HEAP_TRACE=1, kheap_set_trace installs callbacks for
 *             every allocation, free and realloc, with the caller's address.
 *             Compiled out otherwise.
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
 *
 * Two files   heap.c and this header are the whole core heap: copied alone
 *             into another project they compile and work (kheap/config.h is
 *             used when it is on the include path, else the defaults below
 *             or -D flags).
 */
#ifndef KHEAP_HEAP_H
#define KHEAP_HEAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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
#ifndef KH_CONFIG_HARDEN
#define KH_CONFIG_HARDEN (KH_CONFIG_CHECKS ? 1 : 0)
#endif
#ifndef KH_HEAP_MAX_REGIONS
#define KH_HEAP_MAX_REGIONS 1024
#endif
#ifndef KH_CONFIG_ASAN
#define KH_CONFIG_ASAN 1
#endif
#ifndef KH_CONFIG_VALGRIND
#define KH_CONFIG_VALGRIND 0
#endif
#ifndef KH_HEAP_TRACE
#define KH_HEAP_TRACE 0
#endif

/* Every option in range, or the build stops here. */
#if KH_CONFIG_CHECKS != 0 && KH_CONFIG_CHECKS != 1
#error "KH_CONFIG_CHECKS must be 0 or 1"
#endif
#if KH_CONFIG_HARDEN < 0 || KH_CONFIG_HARDEN > 2
#error "KH_CONFIG_HARDEN must be 0, 1 or 2"
#endif
#if KH_CONFIG_HARDEN > 0 && !KH_CONFIG_CHECKS
#error "KH_CONFIG_CHECKS=0 is hardening level 0: KH_CONFIG_HARDEN must be 0 too"
#endif
#if KH_HEAP_SL_LOG2 < 1 || KH_HEAP_SL_LOG2 > 5
#error "KH_HEAP_SL_LOG2 must be 1..5 (2..32 second-level classes; the bitmaps are 32 bits)"
#endif
#if KH_HEAP_FULL != 0 && KH_HEAP_FULL != 1
#error "KH_HEAP_FULL must be 0 or 1"
#endif
#if KH_HEAP_FALLBACK_SCAN < 0 || KH_HEAP_FALLBACK_SCAN > 255
#error "KH_HEAP_FALLBACK_SCAN must be 0..255 (a bounded scan keeps kheap_alloc O(1))"
#endif
#if KH_HEAP_MAX_REGIONS < 4 || KH_HEAP_MAX_REGIONS > 65536
#error "KH_HEAP_MAX_REGIONS must be 4..65536"
#endif
#if KH_CONFIG_ASAN != 0 && KH_CONFIG_ASAN != 1
#error "KH_CONFIG_ASAN must be 0 or 1"
#endif
#if KH_CONFIG_VALGRIND != 0 && KH_CONFIG_VALGRIND != 1
#error "KH_CONFIG_VALGRIND must be 0 or 1"
#endif
#if KH_HEAP_TRACE != 0 && KH_HEAP_TRACE != 1
#error "KH_HEAP_TRACE must be 0 or 1"
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
    KH_EHEAP_CANARY = -106, /* hardening level 2: a block was written past its requested size */
    KH_EHEAP_POISON = -107, /* hardening level 2: a free block was written after it was freed */
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
    size_t overhead_bytes;     /* control block, region end markers, alignment slack */
    size_t max_block;          /* largest block the index can hold (kheap_init_ex) */
    size_t min_free_bytes;     /* low-water mark: lowest free_bytes seen since init */
    size_t failed_allocations; /* kheap_alloc* and kheap_realloc calls that returned NULL
                                  for want of memory or for a bad size or alignment */
    size_t largest_request;    /* largest size asked of kheap_alloc* / kheap_realloc /
                                  kheap_resize */
    size_t max_regions;        /* regions the heap's table holds now (it grows: add_region) */
    unsigned hardening;        /* hardening level now (kheap_set_hardening) */
    unsigned check_bits;       /* bits of the per-heap tag on each header (0 at level 0):
                                  a foreign word passes as a header with p = 2^-check_bits */
};

/* Create a heap in [mem, mem + bytes). Any address and size: the start is
 * aligned internally and the control block lives at the start of the region.
 * The index is sized for blocks up to `bytes`; use kheap_init_ex when you
 * will add larger regions later. Returns the heap handle (somewhere inside
 * mem), or NULL when mem is NULL or the region cannot hold the control block
 * plus one minimum block (kheap_min_init_bytes). The heap starts at
 * hardening level KH_CONFIG_HARDEN with a secret derived from its address.
 * O(index). */
kheap *kheap_init(void *mem, size_t bytes);

/* As kheap_init, with the index sized for blocks up to max_block bytes
 * (at least `bytes`). A larger max_block costs W bytes per extra size class
 * (16 classes per doubling) and, in checked builds, one check bit per
 * doubling. */
kheap *kheap_init_ex(void *mem, size_t bytes, size_t max_block);

/* Add [mem, mem + bytes) to the heap. The memory may be anywhere; when it
 * touches an existing region (either end) they coalesce into one. Returns
 * false, adding nothing, when h or mem is NULL, bytes is too small for a
 * minimum block after alignment (kheap_min_region_bytes), the range wraps
 * around the address space, it overlaps a region or the control block, or
 * the region table is full and this range touches no region. The table
 * holds one entry per first-level size class (at least 4) in the control
 * block; when those are used, it moves into a block of the heap twice as big
 * (overhead, not an allocation), up to KH_HEAP_MAX_REGIONS entries, as long
 * as the heap has that much free memory. O(regions); at hardening level 2
 * also O(bytes) (the new memory is poisoned). */
bool kheap_add_region(kheap *h, void *mem, size_t bytes);

/* Take back the region [mem, mem + bytes) from the heap, when no block in it
 * is allocated. mem and bytes name a whole region as the heap holds it: one
 * kheap_add_region's range, or the union of adjacent ones that coalesced.
 * Returns false and changes nothing for a NULL h, a range that is not one
 * of the heap's regions (reported as KH_EINVAL; the region kheap_init made
 * holds the control block and is never one), or a region with a live block
 * (reported as KH_EBUSY; the region holding the heap's region table, once
 * it moved out of the control block, counts as busy). Afterwards pointers
 * into it are foreign to the heap. O(regions + bytes / max_block). */
bool kheap_remove_region(kheap *h, void *mem, size_t bytes);

/* Allocate size bytes aligned to align (0 = KH_ALIGN_DEFAULT, else a power
 * of two). size 0 returns a unique minimum block. NULL when out of memory,
 * align is not a power of two (or, with KH_HEAP_FULL=0, above
 * KH_ALIGN_DEFAULT), or the request overflows. A request that can never fit
 * (its block would exceed max_block) fails at once, without asking the
 * source. O(1); at hardening level 2 O(size) (the poison is checked). */
void *kheap_alloc(kheap *h, size_t size, size_t align);

/* kheap_alloc with KH_GFP_* flags: KH_GFP_ZERO zeroes, KH_GFP_ATOMIC and
 * KH_GFP_NOGROW never call the source. */
void *kheap_alloc_flags(kheap *h, size_t size, size_t align, unsigned flags);

/* kheap_alloc, then zero the size bytes. */
void *kheap_zalloc(kheap *h, size_t size, size_t align);

/* Resize the block at ptr to size bytes, keeping alignment align.
 *  - ptr NULL: same as kheap_alloc(h, size, align).
 *  - Shrinking (the default policy, KHEAP_SHRINK_MOVES): moves the kept bytes
 *    into a smaller free block when one is found, so the old block goes back
 *    whole; else shrinks in place (the tail goes back to the heap when it is
 *    big enough). Never fails. Policy 0 always shrinks in place; kheap_resize
 *    never moves.
 *  - Grows in place into a following free block when it can, else into the
 *    preceding free block (data moved down with memmove), else moves: a new
 *    block with the requested alignment, the kept bytes copied, the old
 *    block freed.
 *  - A ptr not aligned to align is moved to an aligned block.
 *  - On failure returns NULL and the old block is untouched and still valid.
 *  - size 0 shrinks to a minimum block (it does not free).
 *  - A ptr the heap did not hand out is reported (checked builds, "Misuse"
 *    above) and NULL returned, nothing changed.
 * No block ever grows past max_block. O(1) plus the copy. With
 * KH_HEAP_FULL=0: ptr NULL allocates; otherwise only a size up to
 * kheap_usable_size(ptr) with align up to KH_ALIGN_DEFAULT is done (in
 * place, never failing); anything else returns NULL and the old block is
 * untouched. */
void *kheap_realloc(kheap *h, void *ptr, size_t size, size_t align);

/* Resize the block at ptr to size bytes IN PLACE: shrink (the tail goes back
 * to the heap), or grow into a following free block. Returns true when the
 * block now holds size bytes at the same address, false (block untouched)
 * otherwise; never moves data. The kh_allocator adapter's resize. O(1).
 * With KH_HEAP_FULL=0 it never grows: true only up to kheap_usable_size. */
bool kheap_resize(kheap *h, void *ptr, size_t size);

/* Free ptr. NULL does nothing. Coalesces with free neighbours at once. O(1)
 * (level 2: O(block size), the freed memory is poisoned). Checked builds
 * refuse and report pointers this heap did not hand out ("Misuse"). */
void kheap_free(kheap *h, void *ptr);

/* Bytes usable at ptr (>= the size requested; exactly the size requested at
 * hardening level 2, whose canary follows it). 0 for a NULL h or ptr, or
 * (checked builds, reported) a pointer this heap did not hand out. O(1).
 * In an AddressSanitizer build the bytes it returns become addressable. */
size_t kheap_usable_size(const kheap *h, const void *ptr);

/* Statistics. O(1): every field is kept up to date by alloc and free.
 * A NULL out does nothing; a NULL h fills *out with zeros. */
void kheap_stats(const kheap *h, struct kheap_stats *out);

/* Verify every invariant: block sizes and flags, header tags, boundary tags,
 * no adjacent free blocks, every free block in the right list and every
 * listed block free, bitmaps matching lists, statistics matching the blocks;
 * at hardening level 2 also every canary and all free memory's poison.
 * Returns 0 or a negative KH_EHEAP_* code (enum kh_error above) naming what
 * is broken, KH_EINVAL for a NULL h. O(blocks); level 2: O(heap bytes). */
int kheap_check(const kheap *h);

/* Call fn for every block in address order, region by region: block is the
 * payload address, size the bytes from there to the next block's header
 * (block size minus one word of header; what kheap_usable_size returns below
 * level 2), used whether it is allocated. fn must not allocate from or free to h. A NULL h
 * or fn does nothing. O(blocks). */
typedef void (*kheap_walk_fn)(void *block, size_t size, bool used, void *ctx);
void kheap_walk(const kheap *h, kheap_walk_fn fn, void *ctx);

/* Per-heap placement policy, a bit set. A new heap has KHEAP_SHRINK_MOVES
 * (the minimal build, KH_HEAP_FULL=0, has no policy: 0); 0 keeps every
 * shrinking kheap_realloc in place.
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
 * and retries once. The source struct is copied. Returns true when done;
 * false for a NULL h, a source without a grow function (reported as
 * KH_EINVAL; nothing changes), or, with KH_HEAP_FULL=0, any non-NULL src
 * (reported as KH_EINVAL, nothing attached: the minimal heap never grows,
 * so a failing allocation just returns NULL). O(1). */
bool kheap_set_source(kheap *h, const struct kh_source *src);

/* Hardening level of this heap, 0..KH_CONFIG_HARDEN (see "Misuse" above):
 * a program built at level 2 may run a heap at 1 or 0, e.g. chosen from its
 * environment. Only while no block is allocated (blocks carry the layout of
 * the level they were allocated at). Returns false and changes nothing for a
 * NULL h, a level above KH_CONFIG_HARDEN (reported as KH_EINVAL) or a heap
 * with live blocks (reported as KH_EBUSY). O(free blocks); raising to 2 is
 * O(heap bytes) (the free memory gets poisoned). */
bool kheap_set_hardening(kheap *h, unsigned level);

/* Mix caller entropy (e.g. a hardware random number) into the heap's secret,
 * which keys the header tags of the misuse checks and the level-2 canaries.
 * kheap_init derives the secret from the heap's address alone; a secret the
 * program cannot know makes a forged or stale header a guess. Only while no
 * block is allocated. Returns false and changes nothing for a NULL h or a
 * heap with live blocks (reported as KH_EBUSY); true (nothing to key) in a
 * level-0 build. O(free blocks). */
bool kheap_set_secret(kheap *h, uint64_t entropy);

/* Trace hooks, compiled in with KH_HEAP_TRACE=1 (kheap/config.h). Each is
 * optional (NULL: not called) and gets the caller's address (the return
 * address of the kheap_* call, NULL where the compiler cannot tell):
 *  alloc    every kheap_alloc / kheap_alloc_flags / kheap_zalloc and
 *           kheap_realloc(h, NULL, ...): ptr is the result (NULL: failed);
 *  free     every kheap_free the heap carried out (not refused misuse);
 *  realloc  every kheap_realloc of a block and every kheap_resize: new_ptr is
 *           the result (NULL: failed, the old block kept; kheap_resize
 *           reports old_ptr or NULL).
 * Hooks run after the heap's work, outside it: they may allocate from h. */
struct kheap_trace {
    void (*alloc)(void *ctx, void *ptr, size_t size, size_t align, void *caller);
    void (*free)(void *ctx, void *ptr, void *caller);
    void (*realloc)(void *ctx, void *old_ptr, void *new_ptr, size_t size, void *caller);
    void *ctx;
};

/* Install trace hooks (copied; NULL removes them). Returns false for a NULL
 * h, or in a build without KH_HEAP_TRACE (reported as KH_EINVAL). O(1). */
bool kheap_set_trace(kheap *h, const struct kheap_trace *trace);

/* Sizing queries, O(1). Each is checked against the heap by the tests.
 *  kheap_control_bytes(max_block): bytes of control block kheap_init_ex
 *      (mem, bytes, max_block) uses (max_block = bytes for kheap_init).
 *  kheap_min_init_bytes(max_block): the smallest bytes for which
 *      kheap_init_ex(mem, bytes, max_block) succeeds whatever mem's
 *      alignment (max_block 0: for kheap_init).
 *  kheap_min_region_bytes(): the smallest bytes for which kheap_add_region
 *      succeeds whatever mem's alignment (with room in the region table).
 *  kheap_block_bytes(h, n): bytes of heap one kheap_alloc(h, n, 0) takes,
 *      header, rounding and (level 2) canary included: the per-block
 *      overhead is kheap_block_bytes(h, n) - n. 0 when n can never fit.
 *      h NULL: for a new heap (level KH_CONFIG_HARDEN).
 *  kheap_max_alloc(bytes): the largest n for which kheap_alloc(kheap_init
 *      (mem, bytes), n, 0) succeeds on the new heap whatever mem's
 *      alignment; 0 when bytes is too small for kheap_init. */
size_t kheap_control_bytes(size_t max_block);
size_t kheap_min_init_bytes(size_t max_block);
size_t kheap_min_region_bytes(void);
size_t kheap_block_bytes(const kheap *h, size_t n);
size_t kheap_max_alloc(size_t bytes);

#ifdef __cplusplus
}
#endif

#endif /* KHEAP_HEAP_H */
