/* SPDX-License-Identifier: MIT */
/* kheap memory sources: ready-made implementations of struct kh_source
 * (kheap/source.h) for the core heap, bump allocators and slab caches.
 *
 *   kh_static_source  hands out a caller array in pieces (firmware, early boot)
 *   kh_mmap_source    hosted only: anonymous mmap, for tests and user space
 *
 * Both honour a byte limit: grow() fails cleanly (NULL, nothing changed) when
 * the grant would take the bytes currently granted past the limit. Both count
 * what they did (grants, failures, bytes out) so tests can see it.
 *
 * Neither locks. A source is called by the allocator that owns it, under that
 * allocator's lock; share one source between allocators only under one lock.
 */
#ifndef KHEAP_SOURCES_H
#define KHEAP_SOURCES_H

#include <stdbool.h>
#include <stddef.h>

#include "kheap/source.h"

#ifdef __cplusplus
extern "C" {
#endif

struct kh_source_stats {
    size_t granted_bytes; /* bytes handed out and not released */
    size_t peak_bytes;    /* highest granted_bytes seen */
    size_t grants;        /* successful grow() calls */
    size_t failures;      /* grow() calls refused (limit, exhausted, bad size) */
    size_t releases;      /* release() calls accepted */
};

/* --- Static-array source ---------------------------------------------------
 *
 * Carves [mem, mem + bytes) front to back. Each grant starts at an address
 * aligned to `granule` and its size is min_bytes rounded up to a multiple of
 * `granule`:
 *   granule 0          KH_ALIGN_DEFAULT (pieces for a heap or a bump arena)
 *   granule 4096 etc.  page-granular: page-aligned whole pages (slab caches:
 *                      a granule equal to the slab size makes every grant
 *                      exactly one aligned slab)
 * The granule must be a power of two.
 *
 * Release: an array cannot be unmapped, but released space is reused when it
 * can be without bookkeeping inside the grants: releasing the most recent
 * grant gives its space back at once, and once every grant is released the
 * whole array is free again. Other releases only lower granted_bytes (so the
 * limit counts them as returned); their space comes back with the rest.
 * Checked builds report (KH_EFAULT) a release of memory this source never
 * granted and ignore it.
 *
 * Cost: O(1) per call. The struct is the whole state; place it anywhere. */
struct kh_static_source {
    unsigned char *base; /* aligned start of the array */
    size_t bytes;        /* usable bytes from base */
    size_t top;          /* bytes carved from base (high-water mark of live grants) */
    size_t granule;
    size_t limit;        /* most bytes granted at once */
    unsigned char *last; /* most recent live grant (stack-order release) */
    struct kh_source_stats stats;
};

/* Set up s over [mem, mem + bytes). limit 0 means no limit beyond the array.
 * Returns 0, or KH_EINVAL when s or mem is NULL or granule is not a power of
 * two, or KH_ENOMEM when not even one granule fits after alignment. */
int kh_static_source_init(struct kh_static_source *s, void *mem, size_t bytes, size_t granule,
                          size_t limit);

/* The source handle to give to kheap_set_source, a bump allocator or a slab
 * cache. It points at s: keep s alive as long as the handle is in use. */
struct kh_source kh_static_source(struct kh_static_source *s);

/* Bytes still available for grants (array space and limit both counted). */
size_t kh_static_source_available(const struct kh_static_source *s);

void kh_static_source_stats(const struct kh_static_source *s, struct kh_source_stats *out);

/* --- Hosted mmap source (src/alloc/hosted/source_mmap.c) -------------------------
 *
 * Each grant is its own anonymous private mapping of min_bytes rounded up to
 * the page size, so release() unmaps it (whole grants only, as source.h
 * says). A grant whose size is a power of two is also aligned to that size
 * (it maps twice the size and unmaps the slack), so a slab cache asking for
 * one aligned slab gets exactly that. grow() fails cleanly past the limit or
 * when mmap fails. Only in hosted builds (a C library with mmap). */
#if defined(__STDC_HOSTED__) && __STDC_HOSTED__
struct kh_mmap_source {
    size_t limit; /* most bytes mapped at once, 0 = no limit */
    size_t page;
    struct kh_source_stats stats;
};

/* limit 0 means unlimited. Returns 0 or KH_EINVAL (s NULL). */
int kh_mmap_source_init(struct kh_mmap_source *s, size_t limit);
struct kh_source kh_mmap_source(struct kh_mmap_source *s);
void kh_mmap_source_stats(const struct kh_mmap_source *s, struct kh_source_stats *out);
#endif

#ifdef __cplusplus
}
#endif

#endif /* KHEAP_SOURCES_H */
