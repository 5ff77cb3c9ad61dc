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
};

struct kh_model_result {
    const char *error; /* NULL when everything held, else what broke (static) */
    size_t op;         /* operation index at which it broke */
    size_t k;          /* fault runs: the injected failure (1-based) that broke it */
    int check_code;    /* the check callback's non-zero return, if that broke it */
    size_t allocs, alloc_failures, frees, resizes, resize_failures, reallocs, realloc_failures;
    size_t checks;
    size_t fault_runs; /* kh_model_fault_run: runs made (one per k, plus the last) */
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

#endif /* KH_ALLOC_MODEL_H */
