/* SPDX-License-Identifier: MIT */
/* Shadow-model random test and fault-injection driver over any kh_allocator.
 *
 * kh_model_run() performs a seeded random sequence of kh_alloc / kh_free /
 * kh_resize (in place) / kh_realloc with random sizes and alignments and
 * keeps a shadow record of every live block (pointer, size, alignment, fill
 * pattern). It checks, as it goes:
 *   - every pointer returned is aligned as requested;
 *   - a new or moved block overlaps no other live block;
 *   - every block's contents are intact (each block is filled with its own
 *     pattern; checked on free, resize, realloc and at every check interval);
 *   - a failed kh_realloc leaves the old block intact;
 *   - the allocator's own check callback (e.g. kheap_check) returns 0, every
 *     check_every operations and at the end.
 * At the end it frees every live block (so the allocator should be empty).
 *
 * kh_model_fault_run() drives the same sequence through a kh_fault wrapper
 * (kheap/alloc.h) and, for k = 1, 2, 3, ..., fails the k-th allocation
 * attempt, until a run completes without reaching the k-th attempt. After
 * the injected failure every live block must still be intact, the rest of
 * the sequence must run normally, and after freeing everything the fault
 * wrapper must count 0 live blocks and the allocator's own in_use callback
 * must return 0 (nothing leaked). Cost: about ops^2 / 2 operations, so keep
 * ops in the hundreds.
 *
 * Usage:
 *     struct kh_model_config c = {.a = my_allocator, .ops = kh_test_iters(20000),
 *                                 .max_size = 512, .max_align_log2 = 7,
 *                                 .check = my_check, .check_ctx = my_obj,
 *                                 .check_every = 100};
 *     struct kh_model_result r = kh_model_run(&c);
 *     KH_CHECK(kh_model_ok("my_model", &r));
 *
 * Adversarial mode (cfg.misuse.classes != 0): about one operation in
 * cfg.misuse.every (8 when 0) is a misuse instead of a valid call, of a
 * class drawn from cfg.misuse.classes, given back through kh_free, kh_resize
 * or kh_realloc (a draw picks which):
 *   KH_MISUSE_DOUBLE     a live block freed, then given back again; half the
 *                        time its address neighbours are freed in between,
 *                        so an allocator that coalesces has merged it;
 *   KH_MISUSE_STALE      a block freed earlier (with any operations since)
 *                        given back again. Never one whose address a live
 *                        block now starts at: nobody can tell that from its
 *                        new owner. Unless cfg.misuse.reuse_ok, also never
 *                        one whose memory a live block now overlaps;
 *   KH_MISUSE_INTERIOR   a pointer into a live block (odd offsets and
 *                        aligned ones);
 *   KH_MISUSE_FOREIGN    a pointer outside the allocator: into the model's
 *                        own static buffer, or a live block of another
 *                        instance (cfg.misuse.foreign, when set);
 *   KH_MISUSE_WRONG_SIZE a live block given back with a size the allocator
 *                        does not take for its own (cfg.misuse.same_size
 *                        says which are; the extra bytes of a bigger size
 *                        never overlap another live block).
 * After every misuse it checks that the call was reported (kh_report, at
 * least once; classes in cfg.misuse.silent may go unreported: the
 * allocator's datasheet says it ignores them) and harmless: the allocator's
 * statistics (cfg.misuse.stats) are unchanged, every live block is intact,
 * and the check callback passes. A kh_realloc of a bad pointer may return
 * NULL, the bad pointer itself (an allocator that ignores it), or a new
 * block (kh_realloc moves when resize refuses and the allocator cannot vet
 * pointers): that block must overlap nothing live; the model frees it and
 * skips the statistics comparison for that call.
 *
 * The helpers keep their shadow table in static storage (no malloc, runs on
 * bare metal): one run at a time, not from several threads. They never call
 * KH_CHECK themselves, so a test can also expect a failure.
 */
#ifndef KH_ALLOC_MODEL_H
#define KH_ALLOC_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kheap/alloc.h"

#define KH_MODEL_MAX_LIVE 512

/* Misuse classes (adversarial mode, above). */
#define KH_MISUSE_DOUBLE     (1u << 0)
#define KH_MISUSE_STALE      (1u << 1)
#define KH_MISUSE_INTERIOR   (1u << 2)
#define KH_MISUSE_FOREIGN    (1u << 3)
#define KH_MISUSE_WRONG_SIZE (1u << 4)
#define KH_MISUSE_ALL        0x1fu

/* Statistics words compared around each misuse. */
#define KH_MODEL_STATS 12

struct kh_model_misuse {
    unsigned classes; /* KH_MISUSE_* to inject; 0 = adversarial mode off */
    unsigned silent;  /* of those, the ones the allocator may leave unreported */
    unsigned every;   /* about one misuse per `every` operations (0 = 8) */
    bool reuse_ok;    /* stale pointers into reused memory are caught too */
    bool bigger_only; /* wrong sizes only bigger than the block (a smaller one
                         is not caught: it frees part of the block) */
    /* True when the allocator takes sizes a and b (same align) for the same
     * block; NULL = only a == b. Wrong sizes are drawn where it is false. */
    bool (*same_size)(size_t a, size_t b, size_t align);
    /* Bytes a request really occupies (header-less allocators round);
     * NULL = the size. */
    size_t (*extent)(size_t size, size_t align);
    /* The allocator's statistics, KH_MODEL_STATS words (unused ones 0). */
    void (*stats)(void *ctx, size_t out[KH_MODEL_STATS]);
    void *stats_ctx;
    kh_allocator foreign; /* another instance, for foreign pointers (ops NULL: none) */
};

struct kh_model_config {
    kh_allocator a;          /* allocator under test */
    size_t ops;              /* random operations to run */
    size_t max_live;         /* live blocks at most (0 = 256, capped at KH_MODEL_MAX_LIVE) */
    size_t max_size;         /* largest request (0 = 1024); most requests are small */
    unsigned max_align_log2; /* align is 0 or 1 << [0, max_align_log2]; 0 = align 0 only */
    uint64_t seed;           /* 0 = take one from kh_test_rand() */
    bool may_fail;           /* allocation failure (out of memory) is acceptable */
    bool no_resize;          /* skip kh_resize (allocator without resize) */
    /* Optional invariant check, run every check_every ops (0 = only at the
     * end) and after freeing everything; must return 0. */
    int (*check)(void *check_ctx);
    void *check_ctx;
    size_t check_every;
    /* Optional byte source (fuzzing): when script is set, every random draw
     * (operation, block index, size, alignment, fill pattern) takes the next
     * bytes of the script instead of the seeded PRNG, and seed is unused. A
     * draw in [0, n) reads the fewest bytes that can hold n - 1 (1 byte for
     * n <= 256, 2 for n <= 65536, ...), little-endian, modulo n; a fill
     * pattern reads 1 byte. The run stops cleanly when the script is used up
     * (or after ops operations, whichever comes first): a draw that runs past
     * the end reads zero bytes, the operation in progress completes, then
     * everything is freed and the final checks run as usual. Fault runs
     * replay the script from its start for every k. script NULL: the PRNG,
     * exactly as before. */
    const uint8_t *script;
    size_t script_len;
    struct kh_model_misuse misuse; /* adversarial mode (classes 0: off) */
};

struct kh_model_result {
    const char *error; /* NULL when everything held, else what broke (static) */
    size_t op;         /* operation index at which it broke */
    size_t k;          /* fault runs: the injected failure (1-based) that broke it */
    int check_code;    /* the check callback's non-zero return, if that broke it */
    size_t allocs, alloc_failures, frees, resizes, resize_failures, reallocs, realloc_failures;
    size_t checks;
    size_t fault_runs;      /* kh_model_fault_run: runs made (one per k, plus the last) */
    size_t misuses;         /* misuse calls made (adversarial mode) */
    size_t misuse_reported; /* of which reported */
    size_t misuse_by_class[5];
    unsigned misuse_class; /* KH_MISUSE_* of the misuse that broke it, 0: none */
    unsigned misuse_how;   /* and how: 0 free, 1 resize, 2 realloc */
};

struct kh_model_result kh_model_run(const struct kh_model_config *cfg);

struct kh_model_fault_config {
    struct kh_model_config model; /* the sequence; model.a is the allocator under test */
    /* Optional: called before every run (e.g. reset a bump arena). */
    void (*reset)(void *ctx);
    /* Optional: the allocator's own count of live blocks or bytes; must be
     * 0 after everything is freed. */
    size_t (*in_use)(void *ctx);
    void *ctx;
};

struct kh_model_result kh_model_fault_run(const struct kh_model_fault_config *cfg);

/* Print a failed result ("  model <name>: <error> at op N (k K)") and return
 * whether it passed; for KH_CHECK(kh_model_ok("x", &r)). */
bool kh_model_ok(const char *name, const struct kh_model_result *r);

/* kh_model_ok, and every class of c->misuse.classes was injected at least
 * min_each times (so a run that could not inject cannot pass). */
bool kh_model_misuse_ok(const char *name, const struct kh_model_config *c,
                        const struct kh_model_result *r, size_t min_each);

#endif /* KH_ALLOC_MODEL_H */
