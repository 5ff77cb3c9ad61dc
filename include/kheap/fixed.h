/* SPDX-License-Identifier: MIT */
/* kheap fixed-size-block allocator: power-of-two block classes with one free
 * list each, over any backing kh_allocator.
 *
 * DATASHEET
 *
 * Algorithm   blog_os "Allocator Designs", fixed-size block allocator. A
 *             request goes to the smallest class of 8, 16, 32, ..., 2048 bytes
 *             that holds max(size, align) (align 0 = KH_ALIGN_DEFAULT). Each
 *             class keeps a singly linked list of free blocks, the link stored
 *             in the block itself. Allocation pops the list; when it is empty
 *             one block of the class size, aligned to the class size, is
 *             taken from the backing allocator. Free pushes the block on its
 *             list (blocks are never split or merged). Requests above 2048
 *             bytes or aligned above 2048 go straight to the backing
 *             allocator and back to it on free.
 *
 * Header-less Nothing in front of a block: free and resize need the size and
 *             alignment it was allocated with (the kh_allocator interface
 *             passes them), which select the class.
 *
 * Time        Alloc and free: O(1) when the class list is not empty; a refill
 *             or a large request costs one backing call. kh_fixed_shrink,
 *             kh_fixed_check: O(cached blocks).
 *
 * Memory      A block of class c holds any request with max(size, align) <= c:
 *             internal waste below 50% of the block, plus whatever the backing
 *             allocator adds per refill (one block per refill, so every cached
 *             block can be given back: kh_fixed_shrink). Freed blocks stay in
 *             their class until shrink: memory used by one class is not
 *             available to another (the design's price for O(1)).
 *             struct kh_fixed: 3 x 9 + 6 words, anywhere.
 *
 * Alignment   Class blocks are aligned to their class size, so any power of
 *             two up to the class is honoured; above 2048 the backing
 *             allocator handles it. A non-power-of-two align, or a size that
 *             overflows, returns NULL (the backing allocator does the same for
 *             large requests).
 *
 * Flags       Passed to the backing allocator (ATOMIC/NOGROW reach its source);
 *             KH_GFP_ZERO zeroes the size bytes requested.
 *
 * Misuse      Checked builds (KH_CONFIG_CHECKS) report through kh_report() and
 *             refuse the call, leaving everything as it was. Always, O(1):
 *              - a pointer not aligned to the class its size names
 *                (KH_EFAULT);
 *              - a double free at any depth of a free list, and a stale
 *                pointer whose block is still free (KH_EDOUBLE): a free
 *                block's second word holds link ^ address ^ a per-instance
 *                secret from kh_port_entropy, which a live block's never
 *                does (alloc breaks it; user data matches it by chance with
 *                probability 2^-W, on purpose only knowing the secret); a
 *                free into a class with no live block (KH_EDOUBLE);
 *              - a free block written after it was freed: alloc and shrink
 *                check that word before trusting the link (KH_ECORRUPT; the
 *                rest of that class's list is left to the backing).
 *             With a backing that has owns (kheap/alloc.h: kh_kmem, a slab
 *             cache, either locked), also, without reading at the pointer:
 *              - a foreign or interior pointer, or a stale one whose block
 *                went back to the backing (KH_EFAULT);
 *              - a size that names a bigger class than the block's
 *                (KH_EINVAL);
 *              - a large block that is not a live block of the backing
 *                (KH_EFAULT) or is smaller than the size (KH_EINVAL),
 *                checked before the large counters move;
 *              and kh_fixed_allocator has owns itself (live blocks only).
 *             Not caught: over a backing without owns (the core heap), a
 *             foreign, interior or stale-after-shrink pointer aligned to
 *             its class (nothing records which blocks fixed handed out;
 *             the two words at it are read, so it must be readable), and a
 *             large block's misuse is the backing's to catch (its counters
 *             move first); a size naming a smaller class (the block is big
 *             enough for it: it joins that class's list); a block of
 *             another fixed instance on the same backing (a live backing
 *             block); two large sizes the backing cannot tell apart. Use
 *             of an object not initialized or destroyed, double destroy:
 *             KH_EINVAL (best effort); destroy with blocks live: KH_EBUSY
 *             (destroyed anyway, live blocks stay with the backing).
 *             Cost: two stores per free, a compare per free and alloc.
 *
 * Threads     No locking: wrap it in kheap/locked.h.
 *
 * Setup       kheap *h = kheap_init(mem, bytes);
 *             struct kh_fixed f;
 *             kh_fixed_init(&f, kheap_allocator(h));
 *             kh_allocator a = kh_fixed_allocator(&f);
 */
#ifndef KHEAP_FIXED_H
#define KHEAP_FIXED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kheap/alloc.h"

#ifdef __cplusplus
extern "C" {
#endif

#define KH_FIXED_MIN_BLOCK 8u
#define KH_FIXED_MAX_BLOCK 2048u
#define KH_FIXED_CLASSES   9 /* 8 << 0 ... 8 << 8 */

/* A free block: the link, and a check word (see Misuse). */
struct kh_fixed_block {
    struct kh_fixed_block *next;
    uintptr_t check;
};

struct kh_fixed {
    struct kh_fixed_block *head[KH_FIXED_CLASSES]; /* free list per class */
    size_t live[KH_FIXED_CLASSES];                 /* blocks handed out per class */
    size_t cached[KH_FIXED_CLASSES];               /* blocks on each free list */
    kh_allocator backing;
    size_t large_live;  /* backing blocks handed out (large requests) */
    size_t large_bytes; /* and their bytes */
    size_t refills;     /* backing allocations made for classes */
    uintptr_t secret;   /* free blocks' check words are keyed with it */
    uint32_t magic;
};

struct kh_fixed_stats {
    size_t live_blocks;   /* class blocks handed out */
    size_t live_bytes;    /* their class bytes */
    size_t cached_blocks; /* class blocks on free lists */
    size_t cached_bytes;
    size_t large_blocks; /* requests passed to the backing allocator, live */
    size_t large_bytes;
    size_t refills; /* class blocks ever taken from the backing allocator */
};

/* Start with empty lists over backing (copied). Returns 0 or KH_EINVAL (NULL
 * f or a backing allocator without ops). */
int kh_fixed_init(struct kh_fixed *f, kh_allocator backing);

/* Class index for a request, or -1 when it goes to the backing allocator
 * (also -1 for a non-power-of-two align). */
int kh_fixed_class(size_t size, size_t align);

void *kh_fixed_alloc(struct kh_fixed *f, size_t size, size_t align, unsigned flags);

/* size and align as allocated. NULL does nothing. */
void kh_fixed_free(struct kh_fixed *f, void *ptr, size_t size, size_t align);

/* True when the new size stays in the block's class (class blocks) or the
 * backing allocator resizes in place (large blocks that stay large). */
bool kh_fixed_resize(struct kh_fixed *f, void *ptr, size_t old_size, size_t new_size, size_t align);

/* Give every cached block back to the backing allocator; returns the bytes
 * given back. */
size_t kh_fixed_shrink(struct kh_fixed *f);

/* Shrink, then mark f dead. 0, KH_EBUSY (blocks still live), KH_EINVAL (not
 * live: double destroy). */
int kh_fixed_destroy(struct kh_fixed *f);

void kh_fixed_stats(const struct kh_fixed *f, struct kh_fixed_stats *out);

/* Walk every list: blocks aligned to their class, list lengths equal to the
 * counters, no block twice at the head. 0 or KH_ECORRUPT. O(cached). */
int kh_fixed_check(const struct kh_fixed *f);

kh_allocator kh_fixed_allocator(struct kh_fixed *f);

#ifdef __cplusplus
}
#endif

#endif /* KHEAP_FIXED_H */
