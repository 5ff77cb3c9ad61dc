/* SPDX-License-Identifier: MIT */
/* kheap benchmark: the core heap compiled once more, in another
 * configuration, inside the benchmark program, so that configurations run
 * side by side in one process (same run, same machine state).
 *
 * A translation unit defines KBV_SYM(x) (a prefix for every public symbol),
 * KBV_NAME (the allocator's name in the tables), KBV_VAR (the kb_alloc it
 * defines) and the configuration macros (KH_CONFIG_HARDEN...), then includes
 * this file. It must include no other kheap header. */
#ifndef KB_HEAPVAR_H
#define KB_HEAPVAR_H

#include "kb_alloc.h"

#define kheap_init             KBV_SYM(kheap_init)
#define kheap_init_ex          KBV_SYM(kheap_init_ex)
#define kheap_add_region       KBV_SYM(kheap_add_region)
#define kheap_remove_region    KBV_SYM(kheap_remove_region)
#define kheap_alloc            KBV_SYM(kheap_alloc)
#define kheap_alloc_flags      KBV_SYM(kheap_alloc_flags)
#define kheap_zalloc           KBV_SYM(kheap_zalloc)
#define kheap_realloc          KBV_SYM(kheap_realloc)
#define kheap_resize           KBV_SYM(kheap_resize)
#define kheap_free             KBV_SYM(kheap_free)
#define kheap_usable_size      KBV_SYM(kheap_usable_size)
#define kheap_stats            KBV_SYM(kheap_stats)
#define kheap_check            KBV_SYM(kheap_check)
#define kheap_walk             KBV_SYM(kheap_walk)
#define kheap_set_policy       KBV_SYM(kheap_set_policy)
#define kheap_set_source       KBV_SYM(kheap_set_source)
#define kheap_set_hardening    KBV_SYM(kheap_set_hardening)
#define kheap_set_secret       KBV_SYM(kheap_set_secret)
#define kheap_set_trace        KBV_SYM(kheap_set_trace)
#define kheap_control_bytes    KBV_SYM(kheap_control_bytes)
#define kheap_min_init_bytes   KBV_SYM(kheap_min_init_bytes)
#define kheap_min_region_bytes KBV_SYM(kheap_min_region_bytes)
#define kheap_block_bytes      KBV_SYM(kheap_block_bytes)
#define kheap_max_alloc        KBV_SYM(kheap_max_alloc)
#define kh_report              KBV_SYM(kh_report)
#define kh_set_error_hook      KBV_SYM(kh_set_error_hook)

#ifndef KBV_HEAP_C
#define KBV_HEAP_C "../src/core/heap.c"
#endif
#include KBV_HEAP_C

static void *kbv_setup(void *mem, size_t bytes)
{
    return kheap_init(mem, bytes);
}
static void kbv_teardown(void *ctx)
{
    (void)ctx;
}
static void *kbv_alloc(void *ctx, size_t size, size_t align)
{
    return kheap_alloc(ctx, size, align);
}
static void *kbv_realloc(void *ctx, void *p, size_t old, size_t size, size_t align)
{
    (void)old;
    return kheap_realloc(ctx, p, size, align);
}
static void kbv_free(void *ctx, void *p, size_t size, size_t align)
{
    (void)size, (void)align;
    kheap_free(ctx, p);
}
static void kbv_walk(void *ctx, void (*fn)(void *, size_t, bool, void *), void *c)
{
    kheap_walk(ctx, fn, c);
}
static bool kbv_frag(void *ctx, size_t *largest, size_t *freeb)
{
    struct kheap_stats st;
    kheap_stats(ctx, &st);
    *largest = st.largest_free_block;
    *freeb = st.free_bytes;
    return true;
}

const kb_alloc KBV_VAR = {KBV_NAME,  KB_ARENA | KB_VARIANT, kbv_setup, kbv_teardown,
                          kbv_alloc, kbv_realloc,           kbv_free,  kbv_walk,
                          kbv_frag};

#endif
