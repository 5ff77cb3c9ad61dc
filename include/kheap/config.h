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
