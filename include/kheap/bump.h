/* SPDX-License-Identifier: MIT */
/* kheap bump (arena) allocator: the smallest and fastest way to hand out memory
 * that is freed all at once.
 *
 * DATASHEET
 *
 * Algorithm   A pointer `top` moves up through a region. An allocation aligns
 *             top, returns it and adds the size. Nothing is ever reused except
 *             by going backwards: freeing the most recent block, rewinding to
 *             a mark, or resetting. Freeing any other block does nothing (the
 *             memory comes back at the next reset or rewind below it).
 *
 * Time        kh_bump_alloc, kh_bump_free, kh_bump_resize, kh_bump_mark: O(1).
 *             With a source attached an allocation that does not fit costs one
 *             grow() call, or O(spare chunks) when a spare chunk is reused.
 *             kh_bump_rewind/kh_bump_reset: O(chunks above the mark).
 *             kh_bump_stats, and free in checked builds: O(chunks).
 *
 * Memory      struct kh_bump is 14 words, placed wherever the caller likes;
 *             the initial region carries no header. A request of n bytes with
 *             alignment a costs n bytes plus at most a - 1 bytes of padding.
 *             Each chunk from a source starts with a 4-word struct
 *             kh_bump_chunk header. Size the region as the sum of
 *             round_up(n_i, a_i) over everything live at once.
 *
 * Free        Only the most recent allocation can be freed (the pointer and
 *             the top are restored to what they were before it), and only
 *             once: after that, frees do nothing until the next allocation.
 *             This is why a loop that allocates and frees many boxes in
 *             turn (blog_os's `many_boxes` test) runs out on a bump
 *             allocator: it does not reuse memory in any other order.
 *
 * Resize      The most recent block grows or shrinks in place while it fits in
 *             its chunk. Any other block can shrink (true, memory not
 *             reclaimed) and never grow (false).
 *
 * Growth      With a struct kh_source attached (kh_bump_set_source), an
 *             allocation that does not fit the current chunk first reuses a
 *             spare chunk big enough (one left by an earlier rewind), else asks
 *             grow() once for at least header + size + align - 1 bytes. New
 *             chunks are chained, so mark/rewind/reset work across chunks:
 *             rewinding below a chunk empties it and keeps it as a spare for
 *             later growth. The tail left in the previous chunk is not used
 *             again until a rewind reaches it. KH_GFP_ATOMIC and KH_GFP_NOGROW
 *             requests never call the source. kh_bump_destroy gives every
 *             chunk back through the source's release() (when it has one).
 *
 * Alignment   align 0 = KH_ALIGN_DEFAULT; any power of two; anything else and
 *             any size/align whose arithmetic would overflow returns NULL.
 *             size 0 returns an aligned pointer that may equal the next one,
 *             or NULL when the chunk is full. Free and resize tell such a
 *             pair apart by the size passed (the most recent block ends at
 *             top), so freeing or growing the size-0 block never touches
 *             the block after it.
 *
 * Misuse      Free rewinds only the most recent block and does nothing for
 *             any other, so no misuse of free or resize can make blocks
 *             overlap or corrupt the arena: a double, stale, interior or
 *             wrong-size free of a block that is not the most recent is a
 *             no-op, and goes unreported (telling it from a valid free
 *             would need a record of every block, which a bump allocator
 *             does not keep). Checked builds (KH_CONFIG_CHECKS) report
 *             through kh_report() and refuse what would move top:
 *              - a pointer outside every chunk (KH_EFAULT; free and resize
 *                walk the chunks, O(chunks));
 *              - a block above top, i.e. freed already (KH_EDOUBLE);
 *              - the most recent block with a size other than its own
 *                (KH_EINVAL; size 0 is never taken for a wrong size, as a
 *                size-0 block may share its address);
 *              - use of an object that is not initialized or was destroyed
 *                (KH_EINVAL; the call does nothing), init of a live object
 *                (KH_EBUSY, refused), a mark that is not from this arena
 *                or lies above the current top (KH_EINVAL, rewind refused).
 *
 * Threads     No locking: wrap it in kheap/locked.h or keep one per CPU.
 *
 * Size        Cortex-M3 -Os, linked with -ffunction-sections --gc-sections:
 *             kh_bump_alloc alone 141 B (default, checked build);
 *             kh_bump_init + kh_bump_alloc + kh_bump_free 148 B with
 *             KH_CONFIG_CHECKS=0, 456 B checked (the free check walks the
 *             chunks). The growth path is reached only through a pointer
 *             that kh_bump_set_source installs, so it is not linked unless
 *             a source is attached.
 *
 * Setup       static unsigned char arena[4096];
 *             struct kh_bump b;
 *             kh_bump_init(&b, arena, sizeof arena);
 *             kh_allocator a = kh_bump_allocator(&b);
 */
#ifndef KHEAP_BUMP_H
#define KHEAP_BUMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kheap/alloc.h"
#include "kheap/source.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One piece of memory the arena bumps through. The initial region's lives in
 * struct kh_bump; chunks from a source carry one at their start. */
struct kh_bump_chunk {
    char *base;                 /* first usable byte */
    char *end;                  /* one past the last usable byte */
    struct kh_bump_chunk *prev; /* older chunk (NULL for the initial region) */
    size_t bytes;               /* whole grant as grow() returned it (0: initial) */
};

struct kh_bump {
    char *top;                   /* next free byte in cur */
    char *end;                   /* cur->end, cached */
    struct kh_bump_chunk *cur;   /* chunk being bumped through */
    char *last;                  /* most recent block, NULL when it cannot be freed */
    char *last_top;              /* top before that block */
    struct kh_bump_chunk *spare; /* emptied chunks kept for reuse */
    struct kh_source src;        /* ops NULL: no source */
    /* growth path, set by kh_bump_set_source (NULL: none) */
    void *(*grow)(struct kh_bump *b, size_t size, size_t align);
    struct kh_bump_chunk first; /* the initial region */
    uint32_t magic;             /* checked builds: live object marker */
};

/* A saved position: everything allocated after it goes at kh_bump_rewind. */
struct kh_bump_mark {
    struct kh_bump_chunk *chunk;
    char *top;
};

struct kh_bump_stats {
    size_t capacity_bytes; /* usable bytes in every chunk, spares included */
    size_t used_bytes;     /* capacity of live chunks minus free_bytes: padding and the
                              tails left behind in older chunks count as used */
    size_t free_bytes;     /* bytes left in the current chunk */
    size_t chunks;         /* live chunks, the initial region included */
    size_t spare_chunks;   /* emptied chunks kept for reuse */
};

/* Start an arena over [mem, mem + bytes). mem may be NULL with bytes 0 when a
 * source will provide everything. Returns 0 or KH_EINVAL (NULL b, NULL mem
 * with bytes != 0, or a range that wraps). Re-initializing a live arena
 * forgets its chunks without releasing them: destroy first. O(1). */
int kh_bump_init(struct kh_bump *b, void *mem, size_t bytes);

/* Attach (src non-NULL, copied) or detach (NULL) a source of more chunks. */
void kh_bump_set_source(struct kh_bump *b, const struct kh_source *src);

/* Allocate size bytes aligned to align (0 = KH_ALIGN_DEFAULT). NULL when it
 * does not fit (and the source, if any, cannot grow), align is not a power of
 * two, or the arithmetic overflows. May call the source. O(1). */
void *kh_bump_alloc(struct kh_bump *b, size_t size, size_t align);

/* kh_bump_alloc with KH_GFP_* flags (ATOMIC/NOGROW: no source; ZERO zeroes). */
void *kh_bump_alloc_flags(struct kh_bump *b, size_t size, size_t align, unsigned flags);

/* Rewind over ptr when it is the most recent block; otherwise nothing (see
 * Free above). size must be the block's size: the most recent block is the
 * one that starts at ptr and ends at top, which tells it apart from a size-0
 * block at the same address. NULL does nothing. */
void kh_bump_free(struct kh_bump *b, void *ptr, size_t size);

/* In-place resize (see Resize above). */
bool kh_bump_resize(struct kh_bump *b, void *ptr, size_t old_size, size_t new_size);

/* The current position, for kh_bump_rewind. */
struct kh_bump_mark kh_bump_mark(const struct kh_bump *b);

/* Free everything allocated since mark m. Chunks above m's chunk become
 * spares. Returns 0, or KH_EINVAL (reported in checked builds) for a mark
 * that is not a position of this arena at or below the current top. */
int kh_bump_rewind(struct kh_bump *b, struct kh_bump_mark m);

/* Free everything: back to the start of the initial region (or, without one,
 * of the oldest chunk); every grown chunk becomes a spare. */
void kh_bump_reset(struct kh_bump *b);

/* Give every grown chunk back to the source (when it has release()) and mark
 * b dead. Returns 0, or KH_EINVAL for an object that is not live (double
 * destroy; reported in checked builds). Outstanding blocks become invalid. */
int kh_bump_destroy(struct kh_bump *b);

void kh_bump_stats(const struct kh_bump *b, struct kh_bump_stats *out);

/* The arena as a kh_allocator: alloc/resize/free as above. */
kh_allocator kh_bump_allocator(struct kh_bump *b);

#ifdef __cplusplus
}
#endif

#endif /* KHEAP_BUMP_H */
