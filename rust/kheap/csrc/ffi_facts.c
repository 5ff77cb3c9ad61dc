/* SPDX-License-Identifier: MIT */
/* Sizes, field offsets and constants of the structs and macros the Rust
 * crate mirrors (src/ffi.rs), as this C compiler sees them for this target.
 * selftest::check_ffi_layout compares each row with the Rust side by name. */
#include <stddef.h>

#include "kheap/alloc.h"
#include "kheap/atomic.h"
#include "kheap/error.h"
#include "kheap/heap.h"
#include "kheap/kmalloc.h"
#include "kheap/refcount.h"
#include "kheap/spinlock.h"

struct kh_rs_fact {
    const char *name;
    size_t value;
};

#define SIZE(t)                                                                                    \
    {                                                                                              \
        "size " #t, sizeof(t)                                                                      \
    }
#define ALIGN(t)                                                                                   \
    {                                                                                              \
        "align " #t, _Alignof(t)                                                                   \
    }
#define OFF(t, f)                                                                                  \
    {                                                                                              \
        "offset " #t "." #f, offsetof(t, f)                                                        \
    }
#define CONST(c)                                                                                   \
    {                                                                                              \
#c, (size_t)(c)                                                                            \
    }

const struct kh_rs_fact kh_rs_facts[] = {
    SIZE(struct kheap_stats),
    ALIGN(struct kheap_stats),
    OFF(struct kheap_stats, total_bytes),
    OFF(struct kheap_stats, free_bytes),
    OFF(struct kheap_stats, used_bytes),
    OFF(struct kheap_stats, peak_used_bytes),
    OFF(struct kheap_stats, largest_free_block),
    OFF(struct kheap_stats, free_blocks),
    OFF(struct kheap_stats, allocations),
    OFF(struct kheap_stats, regions),
    OFF(struct kheap_stats, overhead_bytes),
    OFF(struct kheap_stats, max_block),
    OFF(struct kheap_stats, min_free_bytes),
    OFF(struct kheap_stats, failed_allocations),
    OFF(struct kheap_stats, largest_request),
    OFF(struct kheap_stats, max_regions),
    OFF(struct kheap_stats, hardening),
    OFF(struct kheap_stats, check_bits),
    SIZE(kh_allocator_ops),
    OFF(kh_allocator_ops, alloc),
    OFF(kh_allocator_ops, resize),
    OFF(kh_allocator_ops, free),
    OFF(kh_allocator_ops, owns),
    SIZE(kh_allocator),
    ALIGN(kh_allocator),
    OFF(kh_allocator, ctx),
    OFF(kh_allocator, ops),
    SIZE(kh_atomic_t),
    ALIGN(kh_atomic_t),
    OFF(kh_atomic_t, counter),
    SIZE(kh_atomic64_t),
    ALIGN(kh_atomic64_t),
    OFF(kh_atomic64_t, counter),
    SIZE(kh_spinlock_t),
    ALIGN(kh_spinlock_t),
    OFF(kh_spinlock_t, next),
    OFF(kh_spinlock_t, owner),
    SIZE(kh_refcount_t),
    ALIGN(kh_refcount_t),
    OFF(kh_refcount_t, refs),
    SIZE(struct kh_kmalloc_stats),
    OFF(struct kh_kmalloc_stats, live_blocks),
    OFF(struct kh_kmalloc_stats, live_bytes),
    OFF(struct kh_kmalloc_stats, failures),
    OFF(struct kh_kmalloc_stats, oom_calls),
    OFF(struct kh_kmalloc_stats, oom_retries),
    OFF(struct kh_kmalloc_stats, oom_waits),
    SIZE(int),
    SIZE(unsigned long),
    SIZE(size_t),
    SIZE(void *),
    CONST(KH_GFP_KERNEL),
    CONST(KH_GFP_ATOMIC),
    CONST(KH_GFP_ZERO),
    CONST(KH_GFP_NOWARN),
    CONST(KH_GFP_NOGROW),
    CONST(KH_ALIGN_DEFAULT),
    CONST(KH_REFCOUNT_SATURATED),
    CONST(KH_REFCOUNT_MAX),
    CONST(KH_OK),
    CONST(KH_ENOMEM),
    CONST(KH_EINVAL),
    CONST(KH_EOVERFLOW),
    CONST(KH_EFAULT),
    CONST(KH_EDOUBLE),
    CONST(KH_ECORRUPT),
    CONST(KH_EBUSY),
    CONST(KH_ERANGE),
    CONST(KH_ENOENT),
    CONST(KH_EHEAP_BLOCK),
    CONST(KH_EHEAP_FLAGS),
    CONST(KH_EHEAP_ADJ),
    CONST(KH_EHEAP_LIST),
    CONST(KH_EHEAP_BITMAP),
    CONST(KH_EHEAP_STATS),
    CONST(KH_CONFIG_SPINLOCK_DEBUG),
};

const size_t kh_rs_nfacts = sizeof(kh_rs_facts) / sizeof(kh_rs_facts[0]);
