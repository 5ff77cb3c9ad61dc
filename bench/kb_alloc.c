/* kheap benchmark: allocator adapters (see kb_alloc.h). */
#include "kb_alloc.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kheap/heap.h"

/* ---- kheap core heap ---------------------------------------------------- */

static void *kheap_setup(void *mem, size_t bytes)
{
    return kheap_init(mem, bytes);
}
static void kheap_teardown(void *ctx)
{
    (void)ctx;
}
static void *kheap_a(void *ctx, size_t size, size_t align)
{
    return kheap_alloc(ctx, size, align);
}
static void *kheap_r(void *ctx, void *p, size_t old, size_t size, size_t align)
{
    (void)old;
    return kheap_realloc(ctx, p, size, align);
}
static void kheap_f(void *ctx, void *p, size_t size, size_t align)
{
    (void)size;
    (void)align;
    kheap_free(ctx, p);
}
static void kheap_w(void *ctx, void (*fn)(void *, size_t, bool, void *), void *c)
{
    kheap_walk(ctx, fn, c);
}
static bool kheap_fr(void *ctx, size_t *largest, size_t *freeb)
{
    struct kheap_stats st;
    kheap_stats(ctx, &st);
    *largest = st.largest_free_block;
    *freeb = st.free_bytes;
    return true;
}

static const kb_alloc kb_kheap = {"kheap", KB_ARENA, kheap_setup, kheap_teardown, kheap_a,
                                  kheap_r, kheap_f,  kheap_w,     kheap_fr};

/* ---- glibc malloc -------------------------------------------------------- */

/* malloc's own guarantee: 16 bytes on LP64 x86-64/aarch64, 8 on 32-bit. */
#define SYS_ALIGN (2 * sizeof(void *))

static void *sys_setup(void *mem, size_t bytes)
{
    (void)mem;
    (void)bytes;
    return (void *)1; /* no state; non-NULL means ready */
}
static void sys_teardown(void *ctx)
{
    (void)ctx;
}
static void *sys_a(void *ctx, size_t size, size_t align)
{
    (void)ctx;
    if (align <= SYS_ALIGN) return malloc(size);
    void *p = NULL;
    return posix_memalign(&p, align, size) == 0 ? p : NULL;
}
static void *sys_r(void *ctx, void *p, size_t old, size_t size, size_t align)
{
    if (align <= SYS_ALIGN) return realloc(p, size);
    /* realloc does not keep a larger alignment: move by hand. */
    void *q = sys_a(ctx, size, align);
    if (!q) return NULL;
    memcpy(q, p, old < size ? old : size);
    free(p);
    return q;
}
static void sys_f(void *ctx, void *p, size_t size, size_t align)
{
    (void)ctx;
    (void)size;
    (void)align;
    free(p);
}

static const kb_alloc kb_glibc = {
    "glibc", KB_SYSTEM | KB_THREADS, sys_setup, sys_teardown, sys_a, sys_r, sys_f, NULL, NULL};

/* ---- registry ------------------------------------------------------------ */

size_t kb_alloc_list(const kb_alloc **out, size_t max)
{
    size_t n = 0;
    if (n < max) out[n++] = &kb_kheap;
    if (n < max) out[n++] = &kb_glibc;
    return n;
}

const kb_alloc *kb_alloc_find(const char *name)
{
    const kb_alloc *all[32];
    size_t n = kb_alloc_list(all, 32);
    for (size_t i = 0; i < n; i++)
        if (strcmp(all[i]->name, name) == 0) return all[i];
    return NULL;
}
