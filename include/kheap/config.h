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

/* Core heap: 1 keeps kheap_realloc and alignments above the default. 0 drops
 * both (kheap_realloc then only allocates, frees or shrinks in place; larger
 * alignments return NULL) for the smallest code, near o1heap's. */
#ifndef KH_HEAP_FULL
#define KH_HEAP_FULL 1
#endif

/* Core heap: when the guaranteed-fit search finds nothing, look at up to this
 * many blocks of the request's own size class before failing. Bounded, so
 * allocation stays O(1); it turns near-full failures into successes. */
#ifndef KH_HEAP_FALLBACK_SCAN
#define KH_HEAP_FALLBACK_SCAN 8
#endif

#endif /* KHEAP_CONFIG_H */
