/* SPDX-License-Identifier: MIT */
/* Misuse the malloc drop-in must catch at hardening levels 1 and 2
 * (KHEAP_MALLOC_HARDEN): one case per run, named by argv[1]. A caught case
 * ends the process (abort, with a "kheap-malloc:" line on stderr); a case
 * that is not caught prints "not caught" and exits 0, which the test
 * script counts as a failure.
 *   double       free a block twice after it merged with both neighbours
 *                (KH_EDOUBLE)
 *   interior     free a pointer into the middle of a live block (KH_EFAULT)
 *   realloc      realloc a freed block (KH_EDOUBLE)
 *   remote       free twice a block of another thread's heap (KH_EDOUBLE)
 *   overflow     write one byte past the requested size, then free (level 2:
 *                KH_EHEAP_CANARY)
 *   uaf          write to a freed block, then allocate again (level 2:
 *                KH_EHEAP_POISON) */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Keeps the compiler from seeing (and warning about) the misuse. */
static void *launder(void *p)
{
    __asm__ volatile("" : "+r"(p));
    return p;
}

static void *made_by_thread;

static void *make_block(void *arg)
{
    (void)arg;
    made_by_thread = malloc(200);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 2) return 2;
    const char *c = argv[1];
    char *a = malloc(100), *b = malloc(100), *d = malloc(100), *keep = malloc(100);
    if (!a || !b || !d || !keep) return 2;
    /* Program data everywhere: the word below an interior pointer is data,
     * not anything the heap wrote. */
    memset(a, 0x5a, 100), memset(b, 0x5a, 100), memset(d, 0x5a, 100), memset(keep, 0x5a, 100);
    char *stale = launder(b); /* the same pointer, for use after free */
    if (!strcmp(c, "double")) {
        free(a);
        free(d);
        free(b); /* merges with both neighbours */
        free(stale);
    } else if (!strcmp(c, "interior")) {
        free(launder((char *)b + 32));
    } else if (!strcmp(c, "realloc")) {
        free(b);
        void *q = realloc(stale, 50);
        printf("realloc gave %p\n", q);
    } else if (!strcmp(c, "remote")) {
        pthread_t t;
        if (pthread_create(&t, NULL, make_block, NULL) || pthread_join(t, NULL)) return 2;
        void *m = launder(made_by_thread);
        free(made_by_thread);
        free(m);
    } else if (!strcmp(c, "overflow")) {
        memset(stale, 'x', 101);
        free(b);
    } else if (!strcmp(c, "uaf")) {
        free(b);
        stale[40] = 1;
        for (int i = 0; i < 64; i++) free(launder(malloc(96)));
        for (int i = 0; i < 64; i++) (void)launder(malloc(96));
    } else {
        return 2;
    }
    puts("not caught");
    return 0;
}
