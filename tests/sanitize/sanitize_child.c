/* SPDX-License-Identifier: MIT */
/* A program that misuses memory from the core heap on purpose, for
 * tests/sanitize_check.sh: built with AddressSanitizer (the heap's own
 * annotations) or with -DKH_CONFIG_VALGRIND=1 and run under Memcheck, each
 * mode must end in the tool's report. Mode "ok" uses the heap correctly and
 * must end clean.
 *   sanitize_child ok|overflow|underflow|uaf|uaf-merged|leak|realloc */
#include <stdio.h>
#include <string.h>

#include "kheap/heap.h"

static _Alignas(64) unsigned char mem[1 << 16];

/* Keeps the compiler from dropping the faulty accesses. */
static volatile unsigned char sink;

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "ok";
    kheap *h = kheap_init(mem, sizeof(mem));
    if (!h) return 2;
    /* The bytes past the request: at level 2 the request itself, below it
     * the block's usable bytes (what Memcheck and ASan are told). */
    unsigned char *p = kheap_alloc(h, 40, 0), *q = kheap_alloc(h, 100, 0);
    unsigned char *g = kheap_alloc(h, 8, 0);
    if (!p || !q || !g) return 2;
    size_t n = kheap_usable_size(h, p);
    memset(p, 1, n);
    memset(q, 2, 100);
    if (!strcmp(mode, "ok")) {
        p = kheap_realloc(h, p, 300, 0);
        if (!p || p[39] != 1) return 3;
        memset(p, 3, 300);
        kheap_free(h, p);
        kheap_free(h, q);
        kheap_free(h, g);
        return kheap_check(h) == 0 ? 0 : 4;
    }
    if (!strcmp(mode, "overflow")) {
        p[n] = 9; /* one byte past what the caller may touch */
    } else if (!strcmp(mode, "underflow")) {
        p[-1] = 9; /* into the block's header */
    } else if (!strcmp(mode, "uaf")) {
        kheap_free(h, q);
        sink = q[50];
    } else if (!strcmp(mode, "uaf-merged")) {
        kheap_free(h, p);
        kheap_free(h, q); /* merges into p */
        q[10] = 5;
    } else if (!strcmp(mode, "realloc")) {
        unsigned char *r = kheap_realloc(h, q, 5000, 0); /* moves */
        if (!r || r == q) return 3;
        sink = q[0]; /* the old block */
    } else if (!strcmp(mode, "leak")) {
        static unsigned char *keep;
        kheap_free(h, p);
        kheap_free(h, q);
        kheap_free(h, g);
        keep = kheap_alloc(h, 777, 0);
        keep = NULL; /* the only pointer to it is gone */
        (void)keep;
    } else {
        return 2;
    }
    printf("%s: not detected\n", mode);
    return 0;
}
