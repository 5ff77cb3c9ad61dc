/* SPDX-License-Identifier: MIT */
/* The seed's three heap tests (blog_os "Heap Allocation" / "Allocator
 * Designs": simple_allocation, large_vec, many_boxes) as functions over any
 * kh_allocator, so every allocator runs the same checks.
 *
 * Usage, for an allocator set up over KH_SEED_HEAP_SIZE bytes:
 *
 *     KH_TEST(myalloc_seed)
 *     {
 *         ... set up `a` over a 100 KiB region ...
 *         kh_seed_check_all(a, KH_SEED_HEAP_SIZE);   // KH_CHECKs all three
 *     }
 *
 * or run one and look at the result (the bump allocator expects many_boxes
 * to run out):
 *
 *     struct kh_seed_result r = kh_seed_many_boxes(a, KH_SEED_HEAP_SIZE);
 *     KH_CHECK(!r.ok && r.out_of_memory);
 *
 * The functions never call KH_CHECK themselves (so a test can expect a
 * failure); they free everything they allocated before returning, whatever
 * the outcome. Freestanding: they run on bare metal too.
 */
#ifndef KH_SEED_TESTS_H
#define KH_SEED_TESTS_H

#include <stdbool.h>
#include <stddef.h>

#include "kheap/alloc.h"

#define KH_SEED_HEAP_SIZE (100u * 1024u)

struct kh_seed_result {
    bool ok;            /* ran to the end and every value read back right */
    bool out_of_memory; /* stopped because an allocation returned NULL */
    size_t done;        /* steps (boxes, pushes) completed before stopping */
    const char *what;   /* NULL when ok, else what went wrong (static string) */
};

/* Two boxed values, 41 and 13, read back and freed. */
struct kh_seed_result kh_seed_simple_allocation(kh_allocator a);

/* A vector of uint64_t grown by kh_realloc (capacity doubling, like Rust's
 * Vec) to 1000 elements holding 0..999; the sum must be n(n-1)/2. */
struct kh_seed_result kh_seed_large_vec(kh_allocator a);

/* One long-lived box, then heap_size times: allocate box i, free box i-1.
 * The total allocated is many times the heap, so it passes only if freed
 * memory is reused. Frees are deliberately not LIFO (box i is still live
 * when box i-1 is freed), so an allocator that can only rewind its most
 * recent block (bump) runs out, as it must. The long-lived box is checked
 * at the end. */
struct kh_seed_result kh_seed_many_boxes(kh_allocator a, size_t heap_size);

/* Print r ("  seed <name>: <what> after <done> steps") when it is not ok and
 * return r.ok; for KH_CHECK(kh_seed_ok("large_vec", r)). */
bool kh_seed_ok(const char *name, struct kh_seed_result r);

/* All three, each KH_CHECKed with kh_seed_ok. */
void kh_seed_check_all(kh_allocator a, size_t heap_size);

#endif /* KH_SEED_TESTS_H */
