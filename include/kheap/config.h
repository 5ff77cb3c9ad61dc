/* SPDX-License-Identifier: MIT */
/* kheap build-time configuration.
 *
 * Every option has a default here. Override any of them by defining it on the
 * compiler command line (-DKH_CONFIG_CHECKS=0) or by pointing
 * -DKH_CONFIG_HEADER="my_config.h" at a header of your own, which is included
 * first and may define any subset.
 */
#ifndef KHEAP_CONFIG_H
#define KHEAP_CONFIG_H

#ifdef KH_CONFIG_HEADER
#include KH_CONFIG_HEADER
#endif

/* Checked build: validate pointers handed back to the library (double free,
 * foreign pointer, corrupted header) and report misuse through the error hook
 * (kheap/error.h) instead of corrupting memory. Cheap (a few compares per call). */
#ifndef KH_CONFIG_CHECKS
#define KH_CONFIG_CHECKS 1
#endif

/* Core heap hardening level compiled in (kheap/heap.h, "Misuse"):
 *   0  no checks: the heap trusts every pointer it is given (the default
 *      when KH_CONFIG_CHECKS=0);
 *   1  O(1) validation of every pointer given to kheap_free, kheap_realloc,
 *      kheap_resize and kheap_usable_size (the default);
 *   2  level 1 plus a canary after each block's requested size and poisoned
 *      free memory, both checked (overflows and writes after free reported).
 * A heap starts at this level; kheap_set_hardening lowers it (or raises it
 * back) at run time. */
#ifndef KH_CONFIG_HARDEN
#define KH_CONFIG_HARDEN (KH_CONFIG_CHECKS ? 1 : 0)
#endif

/* Core heap: most memory regions one heap can hold (kheap_init's plus
 * kheap_add_region's; adjacent ones coalesce and count once). The region
 * table (2 pointers per entry) starts in the control block with one entry
 * per first-level size class of the heap's index (at least 4) and moves
 * into a heap block twice as big each time it fills, up to this many
 * entries: the ownership test's binary search takes log2 of it steps. */
#ifndef KH_HEAP_MAX_REGIONS
#define KH_HEAP_MAX_REGIONS 1024
#endif

/* Core heap: AddressSanitizer annotations (free memory and headers
 * poisoned, handed-out bytes unpoisoned). Only has an effect in a build with
 * -fsanitize=address; 0 turns them off there. */
#ifndef KH_CONFIG_ASAN
#define KH_CONFIG_ASAN 1
#endif

/* Core heap: Valgrind Memcheck client requests, so Memcheck reports
 * overflows, use after free and leaks of kheap blocks. Needs
 * <valgrind/memcheck.h> (Debian: valgrind). Off by default. */
#ifndef KH_CONFIG_VALGRIND
#define KH_CONFIG_VALGRIND 0
#endif

/* Core heap: trace hooks (kheap_set_trace). Off by default: compiled out. */
#ifndef KH_HEAP_TRACE
#define KH_HEAP_TRACE 0
#endif

/* Core heap: log2 of the number of second-level size classes per power of two.
 * 4 (16 classes) bounds internal fit waste at 1/16 of a block; 5 halves it at
 * the cost of twice the list heads in the control block. */
#ifndef KH_HEAP_SL_LOG2
#define KH_HEAP_SL_LOG2 4
#endif

/* Core heap: 1 is everything kheap/heap.h describes. 0 is the minimal build,
 * for the smallest code (docs/SIZE.md; `make test-minimal` runs the suite on
 * it). It drops, and refuses cleanly:
 *   - alignments above KH_ALIGN_DEFAULT: such requests return NULL;
 *   - realloc growth and moves: kheap_realloc/kheap_resize only resize within
 *     the block (up to kheap_usable_size), else NULL/false, block untouched;
 *   - growth through a memory source: kheap_set_source reports KH_EINVAL and
 *     attaches nothing (add memory with kheap_add_region);
 *   - placement policies: kheap_set_policy refuses any nonzero policy.
 * heap.h, "Minimal build", states the rules. */
#ifndef KH_HEAP_FULL
#define KH_HEAP_FULL 1
#endif

/* Core heap: when the guaranteed-fit search finds nothing, look at up to this
 * many blocks of the request's own size class before failing. Bounded, so
 * allocation stays O(1); it turns near-full failures into successes. 0 turns
 * it off (36 B less on Cortex-M3), but then a request for a free block's
 * whole size, e.g. kheap_stats' largest_free_block, can fail. */
#ifndef KH_HEAP_FALLBACK_SCAN
#define KH_HEAP_FALLBACK_SCAN 8
#endif

/* kmalloc family (kheap/kmalloc.h): its functions always exist with a kh_
 * prefix (kh_kmalloc, kh_kfree, ...); 1 also defines the plain Linux names
 * (kmalloc, kfree, ksize, kstrdup, ...), 0 leaves them out so kheap links
 * into a kernel that has its own. Build the library and its users with the
 * same value. */
#ifndef KH_CONFIG_KMALLOC_NAMES
#define KH_CONFIG_KMALLOC_NAMES 1
#endif
#if KH_CONFIG_KMALLOC_NAMES != 0 && KH_CONFIG_KMALLOC_NAMES != 1
#error "KH_CONFIG_KMALLOC_NAMES must be 0 or 1"
#endif

#endif /* KHEAP_CONFIG_H */
