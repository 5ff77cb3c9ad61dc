/* SPDX-License-Identifier: MIT */
/* A program using the core heap copied alone (heap.c + kheap/heap.h, no
 * other kheap file): tests/adopt/standalone_check.sh builds it for the host
 * and for a Cortex-M3 (QEMU, -DSTANDALONE_BARE: output and exit through the
 * board's semihosting). Exits 0 when every check holds. */
#include "kheap/heap.h"

#include <stdint.h>

#ifdef STANDALONE_BARE
#include "kh_bare.h"
static void say(const char *s)
{
    size_t n = 0;
    while (s[n]) n++;
    kh_bare_write(s, n);
}
#else
#include <stdio.h>
static void say(const char *s)
{
    fputs(s, stdout);
}
#endif

static int failures;
#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            say("standalone heap: FAIL " #c "\n");                                                 \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)

static unsigned char ram[48 * 1024];

static unsigned reports;
static int last_code;
static void hook(int code, const char *what, const void *ptr)
{
    (void)what;
    (void)ptr;
    reports++;
    last_code = code;
}

struct walk {
    size_t used, free;
};
static void walker(void *block, size_t size, bool used, void *ctx)
{
    struct walk *w = (struct walk *)ctx;
    (void)block;
    (void)size;
    if (used)
        w->used++;
    else
        w->free++;
}

static void fill(unsigned char *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++) p[i] = (unsigned char)(seed + i * 7u);
}
static int intact(const unsigned char *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != (unsigned char)(seed + i * 7u)) return 0;
    return 1;
}

int main(void)
{
    kh_set_error_hook(hook);
    kheap *h = kheap_init(ram, sizeof ram / 2);
    CHECK(h != NULL);
    if (!h) return 1;

    /* Many blocks of assorted sizes and alignments, each filled and kept. */
    enum { N = 40 };
    unsigned char *p[N];
    size_t sz[N];
    uint32_t rng = 12345;
    for (int i = 0; i < N; i++) {
        rng = rng * 1103515245u + 12345u;
        sz[i] = 1 + (rng >> 16) % 300;
#if KH_HEAP_FULL
        size_t align = (size_t)8 << (i % 5); /* 8 .. 128 */
#else
        size_t align = 0;
#endif
        p[i] = (unsigned char *)kheap_alloc(h, sz[i], align);
        CHECK(p[i] != NULL);
        if (!p[i]) return 1;
        CHECK(align == 0 || ((uintptr_t)p[i] & (align - 1)) == 0);
        fill(p[i], sz[i], (unsigned)i);
    }
    /* Free every other block; grow or shrink the rest (the minimal build
     * resizes within the block only). */
    for (int i = 0; i < N; i += 2) {
        kheap_free(h, p[i]);
        p[i] = NULL;
    }
    for (int i = 1; i < N; i += 2) {
#if KH_HEAP_FULL
        size_t n = sz[i] * 3;
#else
        size_t n = sz[i] / 2 + 1;
#endif
        unsigned char *q = (unsigned char *)kheap_realloc(h, p[i], n, 0);
        CHECK(q != NULL);
        if (!q) return 1;
        CHECK(intact(q, sz[i] < n ? sz[i] : n, (unsigned)i));
        p[i] = q;
        sz[i] = n;
        fill(q, n, (unsigned)i + 100u);
    }
    CHECK(kheap_check(h) == 0);

    struct kheap_stats st;
    kheap_stats(h, &st);
    CHECK(st.allocations == N / 2);
    struct walk w = {0, 0};
    kheap_walk(h, walker, &w);
    CHECK(w.used == st.allocations && w.free == st.free_blocks);

    /* A second region, then a request only it can hold. */
    CHECK(kheap_add_region(h, ram + sizeof ram / 2, sizeof ram / 2));
    void *big = kheap_alloc(h, sizeof ram / 2 - 1024, 0);
    CHECK(big != NULL);
    kheap_free(h, big);

    /* Misuse, in checked builds: reported through the hook, nothing done. */
#if KH_CONFIG_CHECKS
    kheap_free(h, ram + 8);
    CHECK(reports == 1 && last_code == KH_EFAULT);
    unsigned char *d = (unsigned char *)kheap_alloc(h, 24, 0);
    kheap_free(h, d);
    kheap_free(h, d);
    CHECK(reports == 2 && last_code == KH_EDOUBLE);
#endif
    CHECK(kheap_alloc(h, (size_t)-1, 0) == NULL); /* overflow: NULL, no abort */
    CHECK(kheap_alloc(h, 16, 3) == NULL);         /* not a power of two */

    for (int i = 1; i < N; i += 2) {
        CHECK(intact(p[i], sz[i], (unsigned)i + 100u));
        kheap_free(h, p[i]);
    }
    kheap_stats(h, &st);
    CHECK(st.allocations == 0 && st.used_bytes == 0 && st.regions == 1);
    CHECK(kheap_check(h) == 0);
    CHECK(kheap_control_bytes(64 * 1024) > 0);
    say(failures ? "standalone heap: FAILED\n" : "standalone heap: ok\n");
    return failures != 0;
}
