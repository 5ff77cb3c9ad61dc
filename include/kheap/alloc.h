/* SPDX-License-Identifier: MIT */
/* kheap allocator interface: one two-word handle for every allocator.
 *
 * A kh_allocator is a context pointer plus a const table of operations, like
 * Zig's std.mem.Allocator and Rust's GlobalAlloc. Collections, the kmalloc
 * global API and the wrappers (locked, fault-injecting) take any allocator
 * through it. Pass it by value; it is two words.
 *
 * Contract every implementation follows:
 *   - alloc(ctx, size, align, flags): a block of at least size bytes aligned
 *     to align (0 = KH_ALIGN_DEFAULT; otherwise a power of two), or NULL.
 *     size 0 is a valid request. Never aborts. A non-power-of-two align, or a
 *     size/align whose bookkeeping would overflow, returns NULL.
 *   - resize(ctx, ptr, old_size, new_size, align): change the block's size IN
 *     PLACE and return true, or return false and leave it untouched. Shrinking
 *     may still return false for allocators that cannot shrink; callers then
 *     keep using the block at its old size. May be NULL in the table (= never).
 *   - free(ctx, ptr, size, align): give the block back. size and align are the
 *     ones it was allocated (or last resized) with, so header-less allocators
 *     (bump, fixed blocks, slab) can work. free(NULL, ...) does nothing.
 *   - owns(ctx, ptr): optional (NULL = cannot tell). When ptr is the start
 *     of a block this allocator handed out and has not taken back, the bytes
 *     usable from ptr (at least the size requested, never 0); 0 for every
 *     other pointer: interior, already freed, another allocator's, wild. It
 *     answers without reading memory the allocator does not manage, in O(1),
 *     and reports nothing: it is how a layer above vets a pointer before it
 *     reads anything near it (kmalloc reads its header only after owns said
 *     yes). Implemented by the slab caches and struct kh_kmem (exact, from
 *     their slab and block tables), the failing allocator (owns nothing), and
 *     the locked, fault and fixed wrappers when what they wrap has it.
 *   - flags: KH_GFP_* below. Allocators that can grow (call a source) or take a
 *     lock that may sleep must not do so when KH_GFP_ATOMIC is set.
 *
 * Misuse (checked builds, KH_CONFIG_CHECKS): every allocator's header says
 * which of these it reports (kh_report) and refuses, and which it cannot see:
 * a double free (also after the block merged with free neighbours); a
 * pointer into the middle of a live block; a stale pointer (freed, its
 * memory since handed out again or given back); a foreign pointer (another
 * allocator's, or outside all its memory); a wrong size given back to a
 * header-less allocator; resize or realloc of any of these. No allocator can
 * tell a stale pointer from its new owner's when the memory was handed out
 * again at the very same address: that free frees the new owner's block.
 */
#ifndef KHEAP_ALLOC_H
#define KHEAP_ALLOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* KH_ALIGN_DEFAULT and the KH_GFP_* flags. */
#include "kheap/heap.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct kh_allocator_ops {
    void *(*alloc)(void *ctx, size_t size, size_t align, unsigned flags);
    bool (*resize)(void *ctx, void *ptr, size_t old_size, size_t new_size, size_t align);
    void (*free)(void *ctx, void *ptr, size_t size, size_t align);
    size_t (*owns)(void *ctx, const void *ptr); /* optional, see above */
} kh_allocator_ops;

typedef struct kh_allocator {
    void *ctx;
    const kh_allocator_ops *ops;
} kh_allocator;

/* True when align is 0 or a power of two. */
bool kh_align_valid(size_t align);

/* Helpers that work on every allocator. All return NULL (or false) on failure
 * and never abort. */
void *kh_alloc(kh_allocator a, size_t size, size_t align);
void *kh_alloc_flags(kh_allocator a, size_t size, size_t align, unsigned flags);
void *kh_zalloc(kh_allocator a, size_t size, size_t align);
/* n * size bytes, NULL when the product overflows. flags as kh_alloc_flags. */
void *kh_alloc_array(kh_allocator a, size_t n, size_t size, size_t align, unsigned flags);
bool kh_resize(kh_allocator a, void *ptr, size_t old_size, size_t new_size, size_t align);
/* Resize in place, else allocate new_size with the same align, copy
 * min(old, new) bytes and free the old block. ptr NULL allocates. On failure
 * returns NULL and the old block is untouched and still owned by the caller.
 * KH_GFP_ZERO zeroes the bytes past old_size. Before it copies, an allocator
 * with owns is asked whether ptr is a live block of old_size bytes: if not,
 * NULL (the allocator's resize has reported it). A new block that overlaps
 * the old one proves the old one was not live: it is freed again, reported
 * (KH_EDOUBLE) and the call returns NULL. */
void *kh_realloc(kh_allocator a, void *ptr, size_t old_size, size_t new_size, size_t align,
                 unsigned flags);
/* kh_realloc for n elements of elem_size, overflow-checked. */
void *kh_realloc_array(kh_allocator a, void *ptr, size_t old_n, size_t new_n, size_t elem_size,
                       size_t align, unsigned flags);
void kh_free(kh_allocator a, void *ptr, size_t size, size_t align);
/* a's owns(ptr): usable bytes of the live block at ptr, 0 when it is not
 * one. SIZE_MAX when a cannot tell (no owns in its table). */
size_t kh_owns(kh_allocator a, const void *ptr);

/* The core heap (kheap/heap.h) as a kh_allocator: alloc, resize in place
 * and free map to kheap_alloc_flags, kheap_resize and kheap_free. */
kh_allocator kheap_allocator(kheap *h);

/* --- The failing allocator: every allocation fails (a stand-in for "no
 * memory at all", e.g. Rust's alloc::alloc::Global before a heap exists). --- */
kh_allocator kh_failing_allocator(void);

/* --- Fault injection over any allocator: the tool every OOM test uses. ---
 * Counts allocation attempts (alloc, and resize that grows) and fails them by
 * rule. It also tracks live blocks and bytes from the sizes given back to
 * free, so a test can prove a container released everything it owned. */
enum kh_fault_mode {
    KH_FAULT_OFF = 0, /* pass everything through */
    KH_FAULT_NTH,     /* fail only the n-th attempt (1-based) after arming */
    KH_FAULT_AFTER,   /* let n attempts through, fail every later one */
    KH_FAULT_RANDOM,  /* fail each attempt with probability ppm / 1e6 (seeded) */
};

struct kh_fault {
    kh_allocator backing;
    enum kh_fault_mode mode;
    unsigned long long n;        /* NTH / AFTER parameter */
    uint32_t ppm;                /* RANDOM probability, parts per million */
    uint64_t rng;                /* RANDOM state */
    unsigned long long attempts; /* attempts since arming */
    unsigned long long failures; /* injected failures since arming */
    size_t live_blocks;          /* allocated and not yet freed */
    size_t live_bytes;
};

void kh_fault_init(struct kh_fault *f, kh_allocator backing);
void kh_fault_fail_nth(struct kh_fault *f, unsigned long long n);
void kh_fault_fail_after(struct kh_fault *f, unsigned long long n);
void kh_fault_fail_random(struct kh_fault *f, uint32_t ppm, uint64_t seed);
void kh_fault_off(struct kh_fault *f);
kh_allocator kh_fault_allocator(struct kh_fault *f);

#ifdef __cplusplus
}
#endif

#endif /* KHEAP_ALLOC_H */
