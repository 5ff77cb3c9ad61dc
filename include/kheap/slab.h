/* SPDX-License-Identifier: MIT */
/* kheap slab caches and the kmalloc-style size-class front end.
 *
 * DATASHEET
 *
 * Cache       struct kh_slab_cache: objects of one size and alignment (Linux
 *             kmem_cache, Redox slab_allocator). Objects live in slabs: blocks
 *             of slab_bytes (a power of two), aligned to slab_bytes, so the
 *             slab of an object is `ptr & ~(slab_bytes - 1)`: free is O(1)
 *             with no lookup.
 *
 * Layout      [objects from offset 0, one every `stride` bytes][header][G]
 *             The header (list links, owner, free list, an allocation bitmap)
 *             sits after the objects, so objects are aligned to anything up
 *             to the slab size at no cost; the last G = KH_ALIGN_DEFAULT
 *             bytes are left alone, so a heap can put its next block header
 *             there and aligned slabs taken one after another from a heap
 *             pack without gaps.
 *
 * Slab size   The smallest power of two >= KH_SLAB_MIN_BYTES (4 KiB) that
 *             wastes at most 1/4 of the slab (header, tail, rounding),
 *             capped at KH_SLAB_MAX_BYTES (64 KiB); or the caller's
 *             slab_bytes. Objects per slab = (slab_bytes - G - header) /
 *             stride, at most KH_SLAB_MAX_OBJECTS. For the kmalloc classes:
 *             4 KiB slabs up to 1024-byte objects, 8 KiB for 2048, 16 KiB
 *             for 4096 (3 objects each for the last three).
 *
 * Memory      Slabs come from, in this order of preference:
 *               - a page source (kheap/source.h): grow(slab_bytes), one
 *                 grant per slab. A grant aligned to slab_bytes (the mmap
 *                 source; a static source whose granule equals slab_bytes)
 *                 is used as is; else the cache gives it back and asks for
 *                 2 * slab_bytes, using the aligned slab inside (up to
 *                 slab_bytes of waste per slab). Bytes of a grant beyond the
 *                 slab are not used (a granule above slab_bytes wastes them);
 *               - a backing kh_allocator: alloc(slab_bytes - G, align
 *                 slab_bytes), e.g. the core heap (kheap_allocator).
 *             shrink and destroy give empty slabs back (release / free). A
 *             source without release keeps its empty slabs on the empty list.
 *
 * Lists       partial (some objects free; allocation takes from here first)
 *             and empty (kept for reuse until shrink). Allocation order:
 *             partial, then empty, then a new slab. Full slabs are on no list,
 *             as in Linux's SLUB: free finds a slab by address, and no list
 *             move is made when a slab fills up or its first object is freed.
 *
 * Time        alloc and free O(1); a new slab costs the backing's alloc plus
 *             O(objects per slab) to build its free list and run the
 *             constructor, and in checked builds, when the slab table is
 *             full, its doubling: O(slabs) then, O(1) amortized (a kh_kmem
 *             large block the same). shrink O(empty slabs); destroy
 *             O(slabs).
 *
 * Constructor Linux semantics: ctor(obj, arg) runs once per object when its
 *             slab is created, not on every alloc. Give objects back in their
 *             constructed state. When there is a ctor, the free-list link is
 *             kept after the object so free never clobbers constructed bytes.
 *
 * Flags       KH_GFP_ATOMIC / KH_GFP_NOGROW: never call the page source (the
 *             allocator backing is still used, with the flags passed on, so a
 *             core heap does not grow). KH_GFP_ZERO zeroes the object.
 *
 * Misuse      Checked builds (KH_CONFIG_CHECKS) report through kh_report and
 *             refuse, leaving the cache as it was, in O(1):
 *              - a pointer in no slab of this cache: foreign, another
 *                cache's object, a stale one into a slab given back
 *                (KH_EFAULT). The cache's address table (struct
 *                kh_slab_table) answers without reading at the pointer, so
 *                a pointer into unmapped memory is reported, not faulted on;
 *              - a pointer inside a slab but not at an object start:
 *                interior (KH_EFAULT);
 *              - an object that is free: a double free, a stale pointer
 *                (KH_EDOUBLE, from the slab's bitmap);
 *              - a slab header overwritten (KH_ECORRUPT): its check word
 *                (its address ^ a per-cache secret from kh_port_entropy)
 *                or its owner is wrong;
 *              - resize through the cache's kh_allocator of any of these;
 *                use of a destroyed cache (KH_EINVAL), destroying it twice
 *                (KH_EDOUBLE).
 *             The table: 2 words per slab, at most half full, in one block
 *             of the page allocator (or of cfg.table) that doubles when
 *             full and goes back when the cache holds no slab; for 4 KiB
 *             slabs 16 B per slab on LP64 (0.4%), twice that counting the
 *             free half. A free costs one hash lookup more (a multiply and
 *             a load). kh_slab_cache_allocator has owns (kheap/alloc.h).
 *             A cache fed by a source alone keeps no table unless
 *             cfg.table names an allocator (a table of its own would cost
 *             a whole grant): its owner test reads the slab header at
 *             ptr & ~(slab_bytes - 1), which must be readable, and a
 *             foreign pointer passes only if that memory holds the
 *             header's check word (by chance 2^-W; on purpose only with
 *             the secret) and a pointer to the cache.
 *             Not caught: a stale pointer to an object handed out again
 *             (the same address: its new owner's, for any allocator).
 *
 * Destroy     Refused with KH_EBUSY (returned and reported) while objects are
 *             allocated; the cache stays usable so the caller can free them
 *             and try again. Empty slabs are given back either way.
 *
 * Threads     No locking. Wrap the front end's kh_allocator in the locked
 *             allocator, or hold your own lock around a cache.
 */
#ifndef KHEAP_SLAB_H
#define KHEAP_SLAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kheap/alloc.h"
#include "kheap/config.h"
#include "kheap/source.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Slab size bounds for automatic sizing (override like config.h options). */
#ifndef KH_SLAB_MIN_BYTES
#define KH_SLAB_MIN_BYTES 4096u
#endif
#ifndef KH_SLAB_MAX_BYTES
#define KH_SLAB_MAX_BYTES 65536u
#endif
/* Bitmap bits in each slab header; objects per slab are capped at this. */
#define KH_SLAB_MAX_OBJECTS 1024u

struct kh_slab;

/* An address table (open addressing, linear probing, load at most 1/2): the
 * slabs a cache holds, or for struct kh_kmem the slabs of all its classes
 * and its large blocks. It lets free tell in O(1), without reading the
 * memory at the pointer, whether the pointer lies in one of them: checked
 * builds (KH_CONFIG_CHECKS) keep it, unchecked builds leave it empty. It
 * lives in one block from the cache's page allocator (or source), kh_kmem's
 * in one from its large allocator: 2 words per entry, so 16 B (LP64) per
 * slab of 4 KiB or more, twice that counting the free half. Private. */
struct kh_slab_table {
    uintptr_t *slot; /* cap (key, value) pairs; key 0: empty */
    size_t cap, count;
    size_t bytes;         /* of the block holding slot[] */
    unsigned shift;       /* 64 - log2(cap): the hash's top bits pick the slot */
    kh_allocator mem;     /* where slot[] comes from ... */
    struct kh_source src; /* ... or, when mem.ops is NULL, from here */
};

struct kh_slab_cache_stats {
    size_t object_size; /* size given at create */
    size_t stride;      /* bytes per object slot in a slab */
    size_t slab_bytes;  /* bytes per slab */
    size_t objs_per_slab;
    size_t slabs; /* slabs held (partial + full + empty) */
    size_t slabs_partial, slabs_full, slabs_empty;
    size_t objects_in_use; /* allocated now */
    size_t peak_in_use;
    size_t allocs, frees;  /* successful calls since create */
    size_t alloc_failures; /* alloc calls that returned NULL */
    size_t slabs_grown;    /* slabs obtained from the backing */
    size_t slabs_released; /* slabs given back (shrink, destroy) */
    size_t backing_bytes;  /* bytes held from the backing now (grants, not just slabs) */
};

struct kh_slab_cache_config {
    const char *name; /* for reports and stats; not copied (keep it alive) */
    size_t size;      /* object size, > 0 */
    size_t align;     /* 0 = KH_ALIGN_DEFAULT; else a power of two <= slab_bytes / 2 */
    void (*ctor)(void *obj, void *arg);
    void *ctor_arg;
    size_t slab_bytes; /* 0 = automatic (see datasheet); else a power of two */
    /* Backing: source when source.ops is set, else allocator. */
    struct kh_source source;
    kh_allocator pages;
    /* Checked builds: where the cache keeps its table of slabs (see
     * Misuse). ops NULL = pages, when the cache has pages; a cache fed by
     * a source alone keeps no table unless given an allocator here. */
    kh_allocator table;
};

/* The cache object. Place it anywhere (static, inside another object); the
 * fields are private but public so it can be embedded. */
struct kh_slab_cache {
    uint32_t magic;
    const char *name;
    size_t size, align, stride, link_off, hdr_off, slab_bytes;
    unsigned objs_per_slab;
    int stride_shift; /* log2(stride) when a power of two (no division), else -1 */
    void (*ctor)(void *obj, void *arg);
    void *ctor_arg;
    struct kh_source source;
    kh_allocator pages;
    struct kh_slab *partial, *empty; /* full slabs: on no list */
    struct kh_slab_cache_stats stats;
    struct kh_slab_table *table; /* its slabs: &own, kh_kmem's, or NULL (none) */
    struct kh_slab_table own;
    uintptr_t secret; /* slab headers hold their address ^ secret */
};

/* Set up a cache in c. Returns 0, or KH_EINVAL (c or cfg NULL, size 0, bad
 * alignment or slab_bytes, no backing), or KH_EOVERFLOW (size too large
 * for any slab). Allocates nothing: the first slab comes with the first
 * alloc. */
int kh_slab_cache_create(struct kh_slab_cache *c, const struct kh_slab_cache_config *cfg);

/* One object (cfg.size bytes, cfg.align aligned), or NULL when the backing
 * has no memory (or, checked builds, c is not a live cache). O(1). */
void *kh_slab_alloc(struct kh_slab_cache *c, unsigned flags);

/* Give obj back. NULL does nothing. Checked builds refuse and report foreign
 * pointers and double frees. O(1). */
void kh_slab_free(struct kh_slab_cache *c, void *obj);

/* True when ptr is the start of a live object of c (checked with the slab
 * header and the bitmap; ptr must be in readable memory). O(1). */
bool kh_slab_owns(const struct kh_slab_cache *c, const void *ptr);

/* Give every empty slab back to the backing (if it can take it). Returns the
 * number of slabs given back. O(empty slabs). */
size_t kh_slab_shrink(struct kh_slab_cache *c);

/* Destroy: 0 and every slab given back when no object is allocated; else
 * KH_EBUSY, reported, and the cache stays usable. KH_EDOUBLE (reported) for
 * a cache destroyed already, KH_EINVAL for NULL or a never-created cache. */
int kh_slab_cache_destroy(struct kh_slab_cache *c);

void kh_slab_cache_stats(const struct kh_slab_cache *c, struct kh_slab_cache_stats *out);

/* Walk the partial and empty slabs and check list membership, counts, free
 * lists and bitmaps; full slabs (on no list) must account for the remaining
 * slabs and objects. 0 or KH_ECORRUPT. O(objects). For tests and debugging. */
int kh_slab_cache_check(const struct kh_slab_cache *c);

/* The cache as a kh_allocator: alloc succeeds for size <= cfg.size and
 * align <= the cache's alignment; free/resize take the same. */
kh_allocator kh_slab_cache_allocator(struct kh_slab_cache *c);

/* --- kmalloc-style front end ----------------------------------------------
 *
 * struct kh_kmem: slab caches for the power-of-two size classes 8, 16, ... 4096
 * (ten; fewer with config max_class), objects aligned to their class size as
 * Linux guarantees for kmalloc, and a `large` allocator (usually the core
 * heap) for anything bigger or aligned above the largest class. As a
 * kh_allocator it is header-less: a request of
 * (size, align) goes to the smallest class >= max(size, align'), where
 * align' is align or KH_ALIGN_DEFAULT when align is 0; free and resize get
 * the same size and align back and find the same class. When a request
 * fails, the front end shrinks every class cache (empty slabs back to the
 * backing) and, if that gave anything back, tries once more (not for a
 * KH_GFP_ATOMIC request when slabs come from a source: no source calls then).
 * resize succeeds in
 * place when the new size stays in the same class (or both are large and the
 * large allocator resizes). The global kmalloc API (kheap/kmalloc.h) adds the
 * size lookup kfree and ksize need.
 *
 * Typical boot over one core heap (growing from mmap when hosted), shared
 * between CPUs through the locked wrapper, as the global kmalloc allocator:
 *   kheap *h = kheap_init(mem, bytes);  kheap_set_source(h, &src);
 *   struct kh_kmem_config cfg = {.pages = kheap_allocator(h),
 *                                .large = kheap_allocator(h)};
 *   kh_kmem_init(&km, &cfg);
 *   kh_locked_init(&l, kh_kmem_allocator(&km), &lock, &kh_spin_lock_ops);
 *   kh_kmalloc_init(kh_locked_allocator(&l));
 * An OOM handler can shrink it with kh_locked_call(&l, fn, arg) where fn
 * calls kh_kmem_shrink(inner_ctx): the handler runs outside the lock.
 *
 * Misuse (checked builds): one address table (struct kh_slab_table) holds
 * every class's slabs and every large block with its size, in a block of
 * the large allocator, so free, resize and owns vet a pointer in O(1)
 * without reading at it, including pointers into unmapped memory. Refused
 * and reported, nothing changed: a pointer that is not a live block of the
 * class its size names (foreign, interior, freed, stale, another class's
 * object, a small object given back as large or the reverse: KH_EFAULT, or
 * KH_EDOUBLE for a free object of that class); a large block given back
 * with a size other than the one recorded (KH_EINVAL). Sizes of one class
 * are one block to kh_kmem: a wrong size within the class is accepted and
 * harmless. owns costs one lookup for a large block, else one per distinct
 * slab size among the classes (three for the default ones). A large block
 * is handed out only once the table has room for it.
 */
#define KH_KMEM_MIN_CLASS 8u
#define KH_KMEM_MAX_CLASS 4096u
#define KH_KMEM_CLASSES   10

struct kh_kmem_config {
    /* Slab pages: source when source.ops is set, else pages. */
    struct kh_source source;
    kh_allocator pages;
    /* Largest class: a power of two in [8, 4096]; 0 = 4096. Small heaps
     * (tens of KiB) do better with 512 or 1024: bigger requests then go to
     * `large` instead of each class holding its own 8-16 KiB slabs. */
    size_t max_class;
    /* Requests above max_class; ops NULL = use pages. */
    kh_allocator large;
};

struct kh_kmem {
    uint32_t magic;
    unsigned nclasses; /* classes in use: 8 << (nclasses - 1) is max_class */
    struct kh_slab_cache caches[KH_KMEM_CLASSES];
    kh_allocator large;
    size_t large_live;  /* large blocks allocated now */
    size_t large_bytes; /* their requested bytes */
    /* Checked builds: every class's slabs and every large block (with its
     * size), so free and owns vet a pointer in O(1) without reading it. */
    struct kh_slab_table table;
    size_t slab_sizes[KH_KMEM_CLASSES]; /* the distinct slab sizes, smallest first */
    unsigned nslab_sizes;
};

/* 0, or KH_EINVAL (NULL, neither pages nor source given, no large
 * allocator, bad max_class). */
int kh_kmem_init(struct kh_kmem *k, const struct kh_kmem_config *cfg);
kh_allocator kh_kmem_allocator(struct kh_kmem *k);
/* Class cache for a request, NULL when it goes to the large allocator. */
struct kh_slab_cache *kh_kmem_cache_for(struct kh_kmem *k, size_t size, size_t align);
struct kh_kmem_stats {
    size_t objects_in_use; /* class objects allocated now */
    size_t slabs;          /* slabs held by all classes (empty ones included) */
    size_t slab_bytes;     /* bytes held from the page backing for them */
    size_t used_bytes;     /* class objects in use * their class size */
    size_t large_live;     /* blocks from the large allocator */
    size_t large_bytes;    /* their requested bytes */
};
/* Sum over the classes plus the large counters. O(classes). */
void kh_kmem_stats(const struct kh_kmem *k, struct kh_kmem_stats *out);
/* Every class cache's kh_slab_cache_check, and (checked builds) the table
 * of slabs and large blocks against the counters. 0, KH_ECORRUPT or
 * KH_EINVAL (not a live front end). O(slabs + objects). */
int kh_kmem_check(const struct kh_kmem *k);
/* Shrink every class cache; returns slabs given back. */
size_t kh_kmem_shrink(struct kh_kmem *k);
/* As kh_slab_cache_destroy for every cache: KH_EBUSY (reported) when any
 * object or large block is still allocated (nothing destroyed then). */
int kh_kmem_destroy(struct kh_kmem *k);

#ifdef __cplusplus
}
#endif

#endif /* KHEAP_SLAB_H */
