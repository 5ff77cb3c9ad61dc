/* SPDX-License-Identifier: MIT */
/* A shadow model of the core heap, shared by the random test
 * (tests/test_heap.c) and the fuzz target (fuzz/fuzz_heap.c).
 *
 * The model keeps every live block (pointer, requested size, alignment, a
 * fill seed) sorted by address and checks after every operation: alignment,
 * bounds (inside one of the regions handed to the heap), no overlap with the
 * neighbours, contents intact (first and last 64 bytes carry a pattern), and
 * that a failed operation changed nothing.
 *
 * In a KH_HEAP_FULL=0 build it checks the minimal heap's rules instead of
 * the features it lacks: an alignment above KH_ALIGN_DEFAULT returns NULL
 * and changes nothing (the driver then asks again at the default alignment);
 * kheap_realloc within the block (size <= kheap_usable_size, alignment up to
 * the default) stays in place, and any other kheap_realloc returns NULL,
 * changing nothing and leaving the old block intact. */
#ifndef KH_HEAP_MODEL_H
#define KH_HEAP_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kheap/heap.h"

#define HEAP_MODEL_MAX_LIVE    1024
#define HEAP_MODEL_MAX_REGIONS 8
#define HEAP_MODEL_STALE       64

/* Misuse classes heap_model_misuse() tries (see there). */
enum heap_model_misuse_class {
    HEAP_MISUSE_STALE,      /* a pointer freed earlier, whatever happened since */
    HEAP_MISUSE_INTERIOR,   /* inside a live block, aligned */
    HEAP_MISUSE_MISALIGNED, /* a live block's pointer, plus 1..GRAIN-1 */
    HEAP_MISUSE_FOREIGN,    /* a live block of another heap */
    HEAP_MISUSE_OUTSIDE,    /* between, before or after the regions; the control block */
    HEAP_MISUSE_CLASSES
};

struct heap_model_block {
    unsigned char *p;
    size_t size;
    size_t align;
    uint32_t seed;
};

struct heap_model {
    kheap *h;
    struct heap_model_block live[HEAP_MODEL_MAX_LIVE];
    size_t nlive;
    unsigned char *lo[HEAP_MODEL_MAX_REGIONS], *hi[HEAP_MODEL_MAX_REGIONS];
    unsigned nregions;
    size_t max_size; /* largest request the driver makes */
    uint32_t next_seed;
    unsigned long long ops, failures;
    unsigned long long refused;      /* minimal build: calls it must refuse (and did) */
    unsigned long long shrink_moves; /* same-alignment reallocs to a smaller size that moved */
    const char *error;               /* first violation seen, NULL while all is well */
    /* Misuse (heap_model_misuse): pointers freed lately, another heap with
     * live blocks, and what happened. A probe the heap accepted as a live
     * block (possible for stale and interior pointers, with the datasheet's
     * probability) is a collision: counted, and the misuse not carried out. */
    unsigned char *stale[HEAP_MODEL_STALE];
    unsigned nstale;
    kheap *other;
    unsigned char *other_blocks[4];
    unsigned long long misuses[HEAP_MISUSE_CLASSES], collisions[HEAP_MISUSE_CLASSES];
    unsigned long long skipped; /* stale pointers that are a live block's start again */
};

/* Whether two kheap_stats snapshots show the same heap: every field but
 * the request counters (failed_allocations, largest_request), which a
 * refused request moves. */
bool heap_stats_same_state(const struct kheap_stats *a, const struct kheap_stats *b);

/* kheap_stats(h) by value. */
struct kheap_stats heap_stats(const kheap *h);

/* Read and write a word of the heap's own memory (a header, a list link),
 * as a stray write would: also in an AddressSanitizer build, where the heap
 * poisons that memory. */
size_t heap_peek(const void *p);
void heap_poke(void *p, size_t v);

/* Heap over [mem, mem + bytes) split into nregions regions with gaps between
 * them (the first via kheap_init, the rest via kheap_add_region; when
 * adjacent is nonzero the last region touches the one before it). */
int heap_model_init(struct heap_model *m, unsigned char *mem, size_t bytes, unsigned nregions,
                    int adjacent);
/* The same with the index sized for blocks of index_bytes (0: bytes) and
 * the first region no bigger: later regions are carved into max_block
 * pieces, and growth must never build a block past max_block. */
int heap_model_init_ex(struct heap_model *m, unsigned char *mem, size_t bytes, unsigned nregions,
                       int adjacent, size_t index_bytes);
/* One operation chosen by op (alloc / free / realloc / zalloc / usable
 * size), with a and b as raw randomness for index, size and alignment. */
void heap_model_step(struct heap_model *m, uint32_t op, uint32_t a, uint32_t b);
/* A second heap over [mem, mem + bytes), whose blocks the model hands to
 * the first one as foreign pointers. */
int heap_model_set_foreign(struct heap_model *m, unsigned char *mem, size_t bytes);
/* One misuse of class cls (enum heap_model_misuse_class) through one of
 * kheap_free, kheap_realloc (smaller or bigger), kheap_resize and
 * kheap_usable_size (chosen by a), b picking the pointer. Checks that it
 * is reported once and changes nothing: statistics, every live block's
 * contents, kheap_check(), no live block touched. */
void heap_model_misuse(struct heap_model *m, unsigned cls, uint32_t a, uint32_t b);
/* The collision bound: for classes that can collide (stale, interior), at
 * most a few times what 2^-check_bits per try predicts; for the others none. */
void heap_model_check_collisions(struct heap_model *m);

/* Full check: every live block intact plus kheap_check(). */
void heap_model_verify(struct heap_model *m);
/* Free everything and check the heap is back to one free block per region
 * with every byte returned. */
void heap_model_finish(struct heap_model *m);

#endif
