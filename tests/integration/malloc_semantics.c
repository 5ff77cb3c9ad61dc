/* SPDX-License-Identifier: MIT */
/* The standard semantics of kheap's malloc drop-in, checked under it:
 *     LD_PRELOAD=build/lib/libkheap-malloc.so malloc_semantics
 * Every allocation function, with glibc's rules for the cases the standards
 * leave open: errno ENOMEM and EINVAL, overflow in calloc and reallocarray,
 * bad alignments, free(NULL), realloc(p, 0), usable sizes, huge blocks and
 * running out of memory. Refuses to run (fails) when the drop-in is not the
 * process's malloc, so a lost LD_PRELOAD cannot pass.
 * Ends with "semantics: N passed, N failed". */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static int passed, failed;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (cond) {                                                                                \
            passed++;                                                                              \
        } else {                                                                                   \
            failed++;                                                                              \
            printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);                                 \
        }                                                                                          \
    } while (0)

static size_t (*stats_line)(char *, size_t);

/* The failure cases call through these, so the compiler can neither see the
 * absurd sizes (-Walloc-size-larger-than) nor assume a failed realloc freed
 * its block (-Wuse-after-free): both are what is being tested. */
static void *(*volatile realloc_v)(void *, size_t) = realloc;
static void *(*volatile reallocarray_v)(void *, size_t, size_t) = reallocarray;
static void *(*volatile memalign_v)(size_t, size_t) = memalign;
static void *(*volatile aligned_alloc_v)(size_t, size_t) = aligned_alloc;
static void *(*volatile valloc_v)(size_t) = valloc;
static void *(*volatile pvalloc_v)(size_t) = pvalloc;
static void *(*volatile malloc_v)(size_t) = malloc;
static void *(*volatile calloc_v)(size_t, size_t) = calloc;

/* A field of the drop-in's statistics line. */
static size_t stat_field(const char *key)
{
    char line[512], pat[64];
    stats_line(line, sizeof(line));
    snprintf(pat, sizeof(pat), " %s=", key);
    const char *f = strstr(line, pat);
    return f ? strtoull(f + strlen(pat), NULL, 10) : (size_t)-1;
}

static int aligned(const void *p, size_t a)
{
    return ((uintptr_t)p & (a - 1)) == 0;
}

static void fill(void *p, size_t n, unsigned seed)
{
    unsigned char *c = p;
    for (size_t i = 0; i < n; i++) c[i] = (unsigned char)(seed + i * 7 + (i >> 8));
}

static int same(const void *p, size_t n, unsigned seed)
{
    const unsigned char *c = p;
    for (size_t i = 0; i < n; i++)
        if (c[i] != (unsigned char)(seed + i * 7 + (i >> 8))) return 0;
    return 1;
}

static int all_zero(const void *p, size_t n)
{
    const unsigned char *c = p;
    for (size_t i = 0; i < n; i++)
        if (c[i]) return 0;
    return 1;
}

static const size_t sizes[] = {0,
                               1,
                               7,
                               8,
                               15,
                               16,
                               17,
                               24,
                               25,
                               31,
                               32,
                               33,
                               100,
                               255,
                               256,
                               1000,
                               1024,
                               1032,
                               1033,
                               4095,
                               4096,
                               65536,
                               100000,
                               1 << 20,
                               (3u << 20) + 5,
                               4u << 20,
                               (5u << 20) + 3,
                               40u << 20};
#define NSIZES (sizeof(sizes) / sizeof(sizes[0]))

static void test_malloc_free(void)
{
    void *p[NSIZES];
    for (size_t i = 0; i < NSIZES; i++) {
        p[i] = malloc(sizes[i]);
        CHECK(p[i] != NULL);
        CHECK(aligned(p[i], 16));
        CHECK(malloc_usable_size(p[i]) >= sizes[i]);
        fill(p[i], malloc_usable_size(p[i]), (unsigned)i);
    }
    for (size_t i = 0; i < NSIZES; i++) {
        CHECK(same(p[i], malloc_usable_size(p[i]), (unsigned)i));
        for (size_t j = 0; j < i; j++) CHECK(p[i] != p[j]);
    }
    for (size_t i = 0; i < NSIZES; i++) free(p[i]);
    /* malloc(0): a unique pointer each time, freeable. */
    void *a = malloc(0), *b = malloc(0);
    CHECK(a && b && a != b);
    free(a);
    free(b);
    /* free(NULL) does nothing and keeps errno. */
    errno = 1234;
    free(NULL);
    CHECK(errno == 1234);
    CHECK(malloc_usable_size(NULL) == 0);
}

static void test_malloc_limits(void)
{
    const size_t bad[] = {SIZE_MAX, SIZE_MAX - 15, SIZE_MAX / 2, (size_t)PTRDIFF_MAX + 1,
                          (size_t)1 << 50};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        errno = 0;
        CHECK(malloc_v(bad[i]) == NULL);
        CHECK(errno == ENOMEM);
    }
}

static void test_calloc(void)
{
    /* Memory that held data comes back zeroed. */
    for (size_t i = 0; i < NSIZES; i++) {
        void *d = malloc(sizes[i]);
        CHECK(d != NULL);
        memset(d, 0xa5, sizes[i]);
        free(d);
        unsigned char *z = calloc(1, sizes[i]);
        CHECK(z != NULL && all_zero(z, sizes[i]));
        free(z);
    }
    unsigned char *z = calloc(1000, 33);
    CHECK(z && all_zero(z, 33000));
    free(z);
    z = calloc(0, 5);
    CHECK(z != NULL);
    free(z);
    /* n * size overflowing: NULL, ENOMEM. */
    const size_t pairs[][2] = {{SIZE_MAX, 2},
                               {2, SIZE_MAX},
                               {SIZE_MAX / 2 + 1, 2},
                               {(size_t)1 << 33, (size_t)1 << 33},
                               {65537, SIZE_MAX / 65536}};
    for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
        errno = 0;
        CHECK(calloc_v(pairs[i][0], pairs[i][1]) == NULL);
        CHECK(errno == ENOMEM);
    }
}

static void test_realloc(void)
{
    /* NULL: malloc. */
    char *p = realloc(NULL, 100);
    CHECK(p != NULL);
    fill(p, 100, 1);
    /* Grow and shrink through every size class, keeping the contents,
     * across the heap / huge boundary both ways. */
    size_t have = 100;
    for (size_t i = 0; i < NSIZES; i++) {
        size_t n = sizes[i] ? sizes[i] : 1;
        char *q = realloc(p, n);
        CHECK(q != NULL);
        if (!q) break;
        size_t keep = have < n ? have : n;
        CHECK(same(q, keep, 1));
        fill(q, n, 1);
        p = q;
        have = n;
    }
    for (size_t i = NSIZES; i-- > 1;) {
        char *q = realloc(p, sizes[i]);
        CHECK(q != NULL && same(q, sizes[i] < have ? sizes[i] : have, 1));
        if (!q) break;
        fill(q, sizes[i], 1);
        p = q;
        have = sizes[i];
    }
    /* Failure: NULL, ENOMEM, the block untouched. */
    errno = 0;
    CHECK(realloc_v(p, SIZE_MAX) == NULL);
    CHECK(errno == ENOMEM);
    errno = 0;
    CHECK(realloc_v(p, (size_t)1 << 50) == NULL);
    CHECK(errno == ENOMEM);
    CHECK(same(p, have, 1));
    /* realloc(p, 0) frees p and returns NULL (glibc). */
    size_t live = stat_field("live_blocks");
    CHECK(realloc_v(p, 0) == NULL);
    CHECK(stat_field("live_blocks") == live - 1);
    /* realloc(NULL, 0) is malloc(0). */
    p = realloc(NULL, 0);
    CHECK(p != NULL);
    free(p);
    /* A huge block grown and shrunk in place or moved without a copy. */
    p = malloc(8u << 20);
    CHECK(p != NULL);
    fill(p, 8u << 20, 9);
    p = realloc(p, 64u << 20);
    CHECK(p && same(p, 8u << 20, 9));
    p = realloc(p, 6u << 20);
    CHECK(p && same(p, 6u << 20, 9));
    free(p);
}

static void test_reallocarray(void)
{
    int *a = reallocarray(NULL, 10, sizeof(int));
    CHECK(a != NULL);
    for (int i = 0; i < 10; i++) a[i] = i * i;
    int *b = reallocarray(a, 1000, sizeof(int));
    CHECK(b != NULL);
    if (b) a = b;
    int ok = 1;
    for (int i = 0; i < 10; i++) ok &= a[i] == i * i;
    CHECK(ok);
    errno = 0;
    CHECK(reallocarray_v(a, SIZE_MAX / 2, 4) == NULL);
    CHECK(errno == ENOMEM);
    errno = 0;
    CHECK(reallocarray_v(a, (size_t)1 << 33, (size_t)1 << 33) == NULL);
    CHECK(errno == ENOMEM);
    ok = 1;
    for (int i = 0; i < 10; i++) ok &= a[i] == i * i; /* untouched */
    CHECK(ok);
    size_t live = stat_field("live_blocks");
    CHECK(reallocarray_v(a, 0, 4) == NULL); /* frees, as realloc(p, 0) */
    CHECK(stat_field("live_blocks") == live - 1);
}

static const size_t aligns[] = {32,    64,      128,      256,       4096,     8192,
                                65536, 1 << 20, 4u << 20, 16u << 20, 32u << 20};
#define NALIGNS (sizeof(aligns) / sizeof(aligns[0]))

static void test_memalign(void)
{
    for (size_t i = 0; i < NALIGNS; i++) {
        for (size_t s = 0; s < NSIZES; s += 3) {
            void *p = memalign(aligns[i], sizes[s]);
            CHECK(p != NULL && aligned(p, aligns[i]));
            CHECK(malloc_usable_size(p) >= sizes[s]);
            fill(p, sizes[s], 3);
            CHECK(same(p, sizes[s], 3));
            free(p);
        }
    }
    /* glibc: alignments up to 16 are malloc's; others not a power of two
     * round up to one. */
    const size_t odd[][2] = {{0, 16},  {1, 16},    {3, 16},     {24, 32},
                             {48, 64}, {100, 128}, {4097, 8192}};
    for (size_t i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
        void *p = memalign(odd[i][0], 40);
        CHECK(p != NULL && aligned(p, odd[i][1]));
        free(p);
    }
    errno = 0;
    CHECK(memalign_v(SIZE_MAX / 2 + 2, 10) == NULL);
    CHECK(errno == EINVAL);
    errno = 0;
    CHECK(memalign_v(SIZE_MAX, 10) == NULL);
    CHECK(errno == EINVAL);
    errno = 0;
    CHECK(memalign_v(64, SIZE_MAX - 100) == NULL);
    CHECK(errno == ENOMEM);
    errno = 0;
    CHECK(memalign_v(SIZE_MAX / 2 + 1, 10) == NULL); /* valid but impossible */
    CHECK(errno == ENOMEM);
}

static void test_aligned_alloc(void)
{
    for (size_t i = 0; i < NALIGNS; i++) {
        void *p = aligned_alloc(aligns[i], 3 * aligns[i]);
        CHECK(p != NULL && aligned(p, aligns[i]));
        free(p);
    }
    void *p = aligned_alloc(8, 5); /* small alignment, size not a multiple */
    CHECK(p != NULL && aligned(p, 8));
    free(p);
    const size_t bad[] = {0, 3, 24, 48, 1000, SIZE_MAX};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        errno = 0;
        CHECK(aligned_alloc_v(bad[i], 64) == NULL);
        CHECK(errno == EINVAL);
    }
    errno = 0;
    CHECK(aligned_alloc_v(4096, SIZE_MAX - 4096) == NULL);
    CHECK(errno == ENOMEM);
}

static void test_posix_memalign(void)
{
    for (size_t i = 0; i < NALIGNS; i++) {
        void *p = NULL;
        CHECK(posix_memalign(&p, aligns[i], 1000) == 0);
        CHECK(p != NULL && aligned(p, aligns[i]));
        free(p);
    }
    void *p = NULL;
    CHECK(posix_memalign(&p, sizeof(void *), 0) == 0 && p != NULL);
    free(p);
    /* Not a power of two, or not a multiple of sizeof(void *): EINVAL,
     * *out untouched. */
    const size_t bad[] = {0, 1, 2, sizeof(void *) / 2, 3, 24, 48, SIZE_MAX};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        void *sentinel = &p;
        p = sentinel;
        CHECK(posix_memalign(&p, bad[i], 64) == EINVAL);
        CHECK(p == sentinel);
    }
    /* Out of memory: ENOMEM returned, errno kept. */
    p = &p;
    errno = 77;
    CHECK(posix_memalign(&p, 64, SIZE_MAX - 10) == ENOMEM);
    CHECK(errno == 77);
    CHECK(p == (void *)&p);
}

static void test_valloc_pvalloc(void)
{
    size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    const size_t n[] = {0, 1, 100, pg - 1, pg, pg + 1, 1 << 20, 5u << 20};
    for (size_t i = 0; i < sizeof(n) / sizeof(n[0]); i++) {
        void *p = valloc(n[i]);
        CHECK(p != NULL && aligned(p, pg) && malloc_usable_size(p) >= n[i]);
        free(p);
        p = pvalloc(n[i]);
        size_t whole = (n[i] + pg - 1) / pg * pg;
        CHECK(p != NULL && aligned(p, pg) && malloc_usable_size(p) >= whole);
        if (p) memset(p, 1, whole);
        free(p);
    }
    errno = 0;
    CHECK(pvalloc_v(SIZE_MAX) == NULL);
    CHECK(errno == ENOMEM);
    errno = 0;
    CHECK(valloc_v(SIZE_MAX - 10) == NULL);
    CHECK(errno == ENOMEM);
}

/* Live bytes and blocks follow what the program holds. */
static void test_stats(void)
{
    size_t blocks = stat_field("live_blocks"), bytes = stat_field("live_bytes");
    size_t calls = stat_field("calls");
    void *p[10];
    for (int i = 0; i < 10; i++) p[i] = malloc(100000);
    CHECK(stat_field("live_blocks") == blocks + 10);
    CHECK(stat_field("live_bytes") >= bytes + 10 * 100000);
    CHECK(stat_field("calls") >= calls + 10);
    for (int i = 0; i < 10; i++) free(p[i]);
    CHECK(stat_field("live_blocks") == blocks);
    CHECK(stat_field("live_bytes") == bytes);
    CHECK(stat_field("os_bytes") >= stat_field("live_bytes"));
    CHECK(stat_field("peak_bytes") >= bytes + 10 * 100000);
}

static size_t rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long size = 0, resident = 0;
    if (f) {
        if (fscanf(f, "%lu %lu", &size, &resident) != 2) resident = 0;
        fclose(f);
    }
    return resident * (size_t)sysconf(_SC_PAGESIZE);
}

/* Freed memory goes back to the kernel: 128 MiB of small blocks, freed,
 * must leave the resident set well below its peak (the heap trims large
 * free spans with madvise), in this thread and in a thread that exits. */
enum { RSS_BLOCKS = 256 * 1024, RSS_BLOCK = 512 };
static void *rss_held[RSS_BLOCKS];

static size_t fill_and_free(void)
{
    for (size_t i = 0; i < RSS_BLOCKS; i++) {
        rss_held[i] = malloc(RSS_BLOCK);
        if (rss_held[i]) memset(rss_held[i], 1, RSS_BLOCK);
    }
    size_t peak = rss_bytes();
    for (size_t i = 0; i < RSS_BLOCKS; i++) free(rss_held[i]);
    return peak;
}

static void *rss_thread(void *arg)
{
    *(size_t *)arg = fill_and_free();
    return NULL;
}

static void test_memory_returned(void)
{
    size_t before = rss_bytes(), size = (size_t)RSS_BLOCKS * RSS_BLOCK;
    size_t peak = fill_and_free(), after = rss_bytes();
    printf("  rss: %zu MiB before, %zu MiB with 128 MiB of blocks, %zu MiB after freeing them\n",
           before >> 20, peak >> 20, after >> 20);
    CHECK(peak >= before + size / 2);
    /* Hardening level 2 keeps free memory poisoned, so resident: a page
     * given back would read as zeros, not poison. */
    const char *lvl = getenv("KHEAP_MALLOC_HARDEN");
    bool poisoned = lvl && lvl[0] == '2';
    if (poisoned)
        CHECK(after >= before + size / 2);
    else
        CHECK(after < before + size / 4);
    pthread_t t;
    size_t tpeak = 0;
    CHECK(pthread_create(&t, NULL, rss_thread, &tpeak) == 0);
    pthread_join(t, NULL);
    after = rss_bytes();
    printf("  rss: %zu MiB with a thread's 128 MiB of blocks, %zu MiB after it freed them and "
           "exited\n",
           tpeak >> 20, after >> 20);
    CHECK(tpeak >= before + size / 2);
    if (poisoned)
        CHECK(after >= before + size / 2);
    else
        CHECK(after < before + size / 4);
}

/* Running out: heap growth fails under an address-space limit; every
 * allocation function reports ENOMEM, nothing held is lost, and memory
 * freed is usable again. In a child process (the limit stays there). */
static int oom_child(void)
{
    int bad = 0;
    struct rlimit rl;
    getrlimit(RLIMIT_AS, &rl);
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long vm_pages = 0;
    if (!f || fscanf(f, "%lu", &vm_pages) != 1) return 1;
    fclose(f);
    rl.rlim_cur = vm_pages * (unsigned long)sysconf(_SC_PAGESIZE) + (64u << 20);
    if (setrlimit(RLIMIT_AS, &rl) != 0) return 1;
    enum { MAX = 1 << 20 };
    static void *held[MAX];
    size_t n = 0;
    while (n < MAX) {
        void *p = malloc(1000);
        if (!p) {
            bad |= errno != ENOMEM;
            break;
        }
        memset(p, (int)(n & 0xff), 1000);
        held[n++] = p;
    }
    bad |= (n == MAX || n < 1000) << 1; /* the limit was reached, after some work */
    errno = 0;
    bad |= (calloc(1, 1 << 22) != NULL || errno != ENOMEM) << 2;
    errno = 0;
    bad |= (memalign(4096, 1 << 22) != NULL || errno != ENOMEM) << 3;
    for (size_t i = 0; i < n; i++) {
        const unsigned char *c = held[i];
        bad |= c[0] != (unsigned char)(i & 0xff) || c[999] != (unsigned char)(i & 0xff);
    }
    /* Half the blocks freed: at least half of that space is found again
     * (the core heap's fit guarantee does not promise every last block of
     * a size class when memory is exhausted). */
    for (size_t i = 0; i < n; i += 2) free(held[i]);
    size_t again = 0;
    for (size_t i = 0; i < n; i += 2) {
        held[i] = malloc(1000);
        if (!held[i]) break;
        again++;
    }
    bad |= (again < n / 4) << 4;
    fflush(stdout);
    if (again < (n + 1) / 2)
        printf("  out of memory: %zu of %zu freed blocks found again\n", again, (n + 1) / 2);
    return bad;
}

static void test_out_of_memory(void)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) _exit(oom_child());
    int st = 0;
    CHECK(pid > 0 && waitpid(pid, &st, 0) == pid);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    if (WIFEXITED(st) && WEXITSTATUS(st))
        printf("  out-of-memory child: failed checks %#x\n", WEXITSTATUS(st));
}

int main(void)
{
    *(void **)&stats_line = dlsym(RTLD_DEFAULT, "kh_malloc_stats_line");
    if (!stats_line) {
        printf("malloc_semantics: kheap's malloc drop-in is not loaded (LD_PRELOAD it)\n");
        printf("semantics: 0 passed, 1 failed\n");
        return 1;
    }
    test_malloc_free();
    test_malloc_limits();
    test_calloc();
    test_realloc();
    test_reallocarray();
    test_memalign();
    test_aligned_alloc();
    test_posix_memalign();
    test_valloc_pvalloc();
    test_stats();
    test_memory_returned();
    test_out_of_memory();
    printf("semantics: %d passed, %d failed\n", passed, failed);
    return failed != 0;
}
