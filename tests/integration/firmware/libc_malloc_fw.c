/* SPDX-License-Identifier: MIT */
/* Firmware on a Cortex-M3 (QEMU mps2-an385) whose C library, newlib or
 * picolibc, allocates from kheap (src/integration/newlib.c, picolibc.c).
 * It uses the C library the way firmware does: printf with %f, a file
 * through semihosting (fopen, fprintf, fgets, fclose), strdup and qsort, and
 * the allocation functions directly; after each step kheap's statistics must
 * show the allocations the C library made, the heap must pass kheap_check,
 * and the lock hook the RTOS fills must have been taken and released around
 * every allocation. Ends with "newlib: N passed, N failed" (or picolibc:).
 * FW_OUT_FILE: the host file it writes (semihosting paths are the host's). */
#define _GNU_SOURCE /* strdup, posix_memalign */
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kheap/libc_malloc.h"

#ifdef __PICOLIBC__
#define LIBC "picolibc"
#else
#define LIBC "newlib"
#endif

static int passed, failed;
/* The overflow case goes through this so the compiler does not see it. */
static void *(*volatile calloc_v)(size_t, size_t) = calloc;

static void check(int ok, const char *what)
{
    if (ok) {
        passed++;
    } else {
        failed++;
        printf("FAIL %s\n", what);
    }
}

/* --- The lock hook an RTOS fills, here counting ------------------------- */

static int lock_calls, lock_depth, lock_max_depth, lock_bad;

static void lock_enter(void)
{
    lock_calls++;
    if (++lock_depth > lock_max_depth) lock_max_depth = lock_depth;
}

static void lock_leave(void)
{
    if (--lock_depth < 0) lock_bad = 1;
}

#ifdef __PICOLIBC__
/* picolibc's retargetable locks: defining all of them (and the C library
 * lock itself) keeps picolibc's empty defaults out. Only the C library lock
 * is counted; others (stdio's, if any) just work. */
#include <sys/lock.h>
struct __lock {
    int depth;
};
struct __lock __lock___libc_recursive_mutex;
static int is_libc_lock(_LOCK_T l)
{
    return l == &__lock___libc_recursive_mutex;
}
void __retarget_lock_init(_LOCK_T *l)
{
    (void)l;
}
void __retarget_lock_init_recursive(_LOCK_T *l)
{
    (void)l;
}
void __retarget_lock_close(_LOCK_T l)
{
    (void)l;
}
void __retarget_lock_close_recursive(_LOCK_T l)
{
    (void)l;
}
void __retarget_lock_acquire(_LOCK_T l)
{
    (void)l;
}
void __retarget_lock_acquire_recursive(_LOCK_T l)
{
    if (is_libc_lock(l)) lock_enter();
}
int __retarget_lock_try_acquire(_LOCK_T l)
{
    (void)l;
    return 1;
}
int __retarget_lock_try_acquire_recursive(_LOCK_T l)
{
    if (is_libc_lock(l)) lock_enter();
    return 1;
}
void __retarget_lock_release(_LOCK_T l)
{
    (void)l;
}
void __retarget_lock_release_recursive(_LOCK_T l)
{
    if (is_libc_lock(l)) lock_leave();
}
#else
/* newlib's malloc lock hook. */
void __malloc_lock(struct _reent *r)
{
    (void)r;
    lock_enter();
}
void __malloc_unlock(struct _reent *r)
{
    (void)r;
    lock_leave();
}
#endif

/* --- Helpers ------------------------------------------------------------- */

static struct kh_libc_malloc_stats snap(void)
{
    struct kh_libc_malloc_stats s;
    kh_libc_malloc_stats(&s);
    return s;
}

/* Every block in the heap came through the entry points, and the heap's own
 * invariants hold. */
static void heap_consistent(const char *when)
{
    struct kh_libc_malloc_stats s = snap();
    char what[96];
    snprintf(what, sizeof(what), "%s: heap check", when);
    check(kheap_check(kh_libc_malloc_heap()) == 0, what);
    snprintf(what, sizeof(what), "%s: mallocs - frees == live blocks", when);
    check(s.mallocs - s.frees == s.heap.allocations, what);
    snprintf(what, sizeof(what), "%s: lock taken and released", when);
    check(lock_depth == 0 && !lock_bad && lock_calls > 0, what);
}

static void report(const char *step, const struct kh_libc_malloc_stats *a,
                   const struct kh_libc_malloc_stats *b)
{
    printf("  %-28s kheap: %3u allocations, %3u frees, %6u bytes in use\n", step,
           (unsigned)(b->mallocs - a->mallocs), (unsigned)(b->frees - a->frees),
           (unsigned)b->heap.used_bytes);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static const char *const words[] = {"sigma", "alpha", "omega", "kappa", "delta",  "gamma",
                                    "theta", "beta",  "zeta",  "iota",  "lambda", "epsilon"};
#define NWORDS (sizeof(words) / sizeof(words[0]))

int main(void)
{
    struct kh_libc_malloc_stats s0 = snap(), s1;
    printf(LIBC " firmware with kheap as its malloc (heap %u bytes)\n",
           (unsigned)s0.heap.total_bytes);
    check(kh_libc_malloc_heap() != NULL && s0.heap.total_bytes > 100000,
          "the heap is the RAM between __heap_start and __heap_end");

    /* 1. printf with floating point. newlib's %f converts through _dtoa_r,
     *    whose big numbers are heap blocks, and stdout's buffer is one too;
     *    picolibc's printf needs no heap. */
    s0 = snap();
    printf("  pi %f, e %.12f, avogadro %e, tiny %g\n", 3.14159265358979, 2.718281828459045,
           6.02214076e23, 1.5e-300);
    s1 = snap();
    report("printf(\"%f\")", &s0, &s1);
#ifdef __PICOLIBC__
    check(s1.mallocs == s0.mallocs, "picolibc printf %f: no allocation");
#else
    check(s1.mallocs > s0.mallocs, "newlib printf %f: allocated from kheap");
#endif
    heap_consistent("printf");

    /* 2. A host file through semihosting: FILE and buffers come from the
     *    heap in both C libraries. */
    s0 = snap();
    FILE *f = fopen(FW_OUT_FILE, "w");
    check(f != NULL, "fopen for writing");
    if (f) {
        for (int i = 0; i < 10; i++) fprintf(f, "line %d: %f %s\n", i, i * 1.25, words[i]);
        check(fclose(f) == 0, "fclose after writing");
    }
    s1 = snap();
    report("fopen/fprintf/fclose", &s0, &s1);
    check(s1.mallocs > s0.mallocs, "fopen/fprintf: allocated from kheap");
    s0 = s1;
    f = fopen(FW_OUT_FILE, "r");
    check(f != NULL, "fopen for reading");
    if (f) {
        char line[80], want[80];
        int ok = 1;
        for (int i = 0; i < 10; i++) {
            snprintf(want, sizeof(want), "line %d: %f %s\n", i, i * 1.25, words[i]);
            ok &= fgets(line, sizeof(line), f) != NULL && strcmp(line, want) == 0;
        }
        ok &= fgets(line, sizeof(line), f) == NULL;
        check(ok, "the file reads back as written");
        check(fclose(f) == 0, "fclose after reading");
    }
    s1 = snap();
    report("fopen/fgets/fclose", &s0, &s1);
    heap_consistent("stdio");

    /* 3. strdup and qsort. */
    s0 = snap();
    char *dup[NWORDS];
    for (size_t i = 0; i < NWORDS; i++) dup[i] = strdup(words[i]);
    s1 = snap();
    report("strdup x12", &s0, &s1);
    check(s1.mallocs - s0.mallocs == NWORDS, "strdup: one kheap block each");
    qsort(dup, NWORDS, sizeof(dup[0]), cmp_str);
    int sorted = 1;
    for (size_t i = 1; i < NWORDS; i++) sorted &= strcmp(dup[i - 1], dup[i]) < 0;
    check(sorted, "qsort sorted the strings");
    printf("  sorted: %s %s %s ... %s\n", dup[0], dup[1], dup[2], dup[NWORDS - 1]);
    s0 = snap();
    for (size_t i = 0; i < NWORDS; i++) free(dup[i]);
    s1 = snap();
    check(s1.frees - s0.frees == NWORDS, "free: every strdup block back to kheap");
    heap_consistent("strdup");

    /* 4. The entry points themselves. */
    errno = 0;
    void *big = malloc(s1.heap.total_bytes + 1);
    check(big == NULL && errno == ENOMEM, "malloc beyond the heap: NULL, ENOMEM");
    errno = 0;
    check(calloc_v(SIZE_MAX / 2, 3) == NULL && errno == ENOMEM, "calloc overflow: ENOMEM");
    unsigned char *z = calloc(100, 7);
    int zero = z != NULL;
    for (int i = 0; z && i < 700; i++) zero &= z[i] == 0;
    check(zero, "calloc zeroes");
    unsigned char *r = realloc(z, 5000);
    check(r != NULL && malloc_usable_size(r) >= 5000, "realloc grows");
    for (int i = 0; r && i < 700; i++) zero &= r[i] == 0;
    check(zero, "realloc keeps the contents");
    check(realloc(r, 0) == NULL, "realloc(p, 0) frees and returns NULL");
    void *a = memalign(256, 100), *b = aligned_alloc(1024, 1024), *c = NULL;
    check(a && ((uintptr_t)a & 255) == 0, "memalign 256");
    check(b && ((uintptr_t)b & 1023) == 0, "aligned_alloc 1024");
    check(posix_memalign(&c, 64, 10) == 0 && c && ((uintptr_t)c & 63) == 0, "posix_memalign 64");
    void *keep = &c;
    check(posix_memalign(&keep, 24, 10) == EINVAL && keep == (void *)&c,
          "posix_memalign 24: EINVAL");
    errno = 0;
    check(aligned_alloc(48, 96) == NULL && errno == EINVAL, "aligned_alloc 48: EINVAL");
    void *m = memalign(48, 10); /* rounded up to 64 */
    check(m && ((uintptr_t)m & 63) == 0, "memalign 48 rounds up to 64");
    free(a);
    free(b);
    free(c);
    free(m);
    free(NULL);
    struct mallinfo mi = mallinfo();
    check(mi.uordblks == snap().heap.used_bytes && mi.arena >= mi.uordblks + mi.fordblks,
          "mallinfo from kheap's statistics");
    heap_consistent("entry points");

    s1 = snap();
    printf("  total: %u allocations, %u frees, %u reallocs, %u failures, peak %u bytes;"
           " lock taken %d times\n",
           (unsigned)s1.mallocs, (unsigned)s1.frees, (unsigned)s1.reallocs, (unsigned)s1.failures,
           (unsigned)s1.heap.peak_used_bytes, lock_calls);
    check(lock_max_depth >= 1, "the lock hook ran around the allocations");
    printf(LIBC ": %d passed, %d failed\n", passed, failed);
    fflush(stdout);
    return failed != 0;
}
