/* SPDX-License-Identifier: MIT */
/* kheap linked-list allocator: first fit over an address-ordered free list,
 * the smallest general-purpose allocator of the family.
 *
 * DATASHEET
 *
 * Algorithm   The design of Rust's linked_list_allocator crate. Free memory
 *             is a singly linked list of holes sorted by address; each hole
 *             stores its size and the next hole in its own first two words.
 *             Allocation walks the list and takes the first hole that fits
 *             (after aligning inside it): the part before the aligned start
 *             and the part after the block stay holes. Free inserts the block
 *             at its address and merges it with the holes right before and
 *             after it, so no two holes are ever adjacent.
 *
 * Header-less The allocator keeps nothing in front of a block: free and resize
 *             take the size back (the kh_allocator interface passes it), as in
 *             Rust's dealloc(ptr, layout). Pass exactly the size the block was
 *             allocated (or last resized) with; alignment is not needed.
 *
 * Time        kh_llist_alloc: O(holes) (first fit). kh_llist_free,
 *             kh_llist_resize, kh_llist_extend: O(holes before the block).
 *             kh_llist_stats, kh_llist_check: O(holes). Slow with many holes:
 *             people choose it for its size, not its speed.
 *
 * Memory      U = KH_ALIGN_DEFAULT = 2 * sizeof(void *) (16 B on LP64, 8 B on
 *             32-bit). Every block is a multiple of U and at least U: a request
 *             of n bytes takes max(round_up(n, U), U). No per-block header.
 *             Alignments above U take the block from an aligned address; the
 *             gap in front stays a hole (no waste if something fits there
 *             later). Regions are trimmed to U boundaries (up to 2U - 2 bytes
 *             lost per region). struct kh_llist is 16 words, anywhere.
 *
 * Fit         Fragmentation is possible (first fit): a request of n bytes with
 *             alignment a succeeds when some hole holds round_up(n, U) bytes
 *             starting at an a-aligned address.
 *
 * Alignment   align 0 = U; any power of two; anything else, and any size whose
 *             rounding would overflow, returns NULL. size 0 takes U bytes and
 *             returns a unique pointer.
 *
 * Misuse      Checked builds (KH_CONFIG_CHECKS) report through kh_report() and
 *             refuse the call, leaving the allocator exactly as it was:
 *              - a foreign pointer: not U-aligned, or [ptr, ptr + size) not
 *                inside one region, pointers between two regions included
 *                (KH_EFAULT). KH_LLIST_REGIONS (4) disjoint regions are
 *                tracked one by one (adjacent ones merge); adding a fifth
 *                collapses them into their span, which the check then uses;
 *              - a double free, also after the block merged with free
 *                neighbours, and a stale pointer whose memory is still
 *                free: the block overlaps a hole (KH_EDOUBLE);
 *              - a size bigger than the block's that runs into free memory
 *                (KH_EDOUBLE) or past its region (KH_EFAULT);
 *              - resize of any of these (the same codes);
 *              - use of an object not initialized or destroyed, double
 *                destroy (KH_EINVAL, best effort via a marker); destroy
 *                while blocks are allocated (KH_EBUSY, destroyed anyway).
 *             Free and resize walk the holes anyway (O(holes)); the checks
 *             ride on that walk, plus O(regions) compares.
 *             Not caught, because the allocator is header-less (nothing
 *             records where a block starts or ends, so these look like a
 *             valid free of some block): a pointer into the middle of a
 *             live block, a stale pointer whose memory was handed out
 *             again, a size smaller than the block's (the rest leaks), a
 *             bigger size that runs into the next live block. They corrupt
 *             the hole list: give back what alloc returned, with its size.
 *             The core heap (kheap/heap.h) catches them, for a header per
 *             block.
 *
 * Threads     No locking: wrap it in kheap/locked.h.
 *
 * Size        Cortex-M3 -Os, linked with -ffunction-sections --gc-sections:
 *             kh_llist_init + kh_llist_alloc + kh_llist_free 794 B in the
 *             default (checked) build, 528 B with KH_CONFIG_CHECKS=0 (the
 *             region records cost ~130 B of that, checked or not). The
 *             whole module, resize/stats/check/adapter included, is ~1.3 KiB
 *             checked.
 *
 * Setup       static unsigned char heap[16384];
 *             struct kh_llist l;
 *             kh_llist_init(&l, heap, sizeof heap);
 *             kh_allocator a = kh_llist_allocator(&l);
 */
#ifndef KHEAP_LLIST_H
#define KHEAP_LLIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kheap/alloc.h"

#ifdef __cplusplus
extern "C" {
#endif

struct kh_llist_hole {
    struct kh_llist_hole *next; /* next hole, higher address */
    size_t size;                /* bytes in this hole, a multiple of U */
};

/* Disjoint regions tracked one by one (adjacent ones merge); past this
 * many they collapse into the span of all of them (see Misuse). */
#define KH_LLIST_REGIONS 4

struct kh_llist {
    struct kh_llist_hole *head; /* lowest hole */
    char *lo, *hi;              /* span of every region added */
    struct {
        char *lo, *hi;
    } region[KH_LLIST_REGIONS]; /* the regions added (merged), or their span */
    size_t nregions;
    size_t total_bytes; /* bytes in all regions (after trimming) */
    size_t used_bytes;  /* bytes in allocated blocks (rounded) */
    size_t allocations; /* live blocks */
    uint32_t magic;     /* live object marker */
};

struct kh_llist_stats {
    size_t total_bytes;  /* usable bytes in all regions */
    size_t used_bytes;   /* bytes in allocated blocks, rounded to U */
    size_t free_bytes;   /* total - used */
    size_t allocations;  /* live blocks */
    size_t holes;        /* free list length */
    size_t largest_hole; /* biggest hole: the largest U-aligned request that fits */
};

/* Start over [mem, mem + bytes) (trimmed to U boundaries). mem NULL with
 * bytes 0 starts empty (add memory with kh_llist_extend). Returns 0 or
 * KH_EINVAL (NULL l, range wraps, or non-empty but too small for one U). */
int kh_llist_init(struct kh_llist *l, void *mem, size_t bytes);

/* Add [mem, mem + bytes) anywhere (e.g. grow the heap upward, or a second
 * RAM bank). It merges with holes it touches. Returns 0, or KH_EINVAL
 * (NULL, wraps, too small for one U, or overlaps a hole: nothing added).
 * Overlap with allocated blocks cannot be detected: do not do that. */
int kh_llist_extend(struct kh_llist *l, void *mem, size_t bytes);

/* First-fit allocation; NULL when nothing fits or the request is invalid. */
void *kh_llist_alloc(struct kh_llist *l, size_t size, size_t align);

/* Give back a block of size bytes (as allocated). NULL does nothing. */
void kh_llist_free(struct kh_llist *l, void *ptr, size_t size);

/* In place: shrinking always succeeds (the tail becomes a hole); growing
 * succeeds when a hole starts right after the block and holds the rest. */
bool kh_llist_resize(struct kh_llist *l, void *ptr, size_t old_size, size_t new_size);

/* Mark l dead. Returns 0, KH_EBUSY when blocks were still allocated, or
 * KH_EINVAL for an object that is not live (double destroy). */
int kh_llist_destroy(struct kh_llist *l);

void kh_llist_stats(const struct kh_llist *l, struct kh_llist_stats *out);

/* Verify: holes sorted, U-aligned, multiples of U, inside the span, never
 * adjacent; hole bytes + used bytes = total. 0 or KH_ECORRUPT. O(holes). */
int kh_llist_check(const struct kh_llist *l);

kh_allocator kh_llist_allocator(struct kh_llist *l);

#ifdef __cplusplus
}
#endif

#endif /* KHEAP_LLIST_H */
