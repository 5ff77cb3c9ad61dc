/* SPDX-License-Identifier: MIT */
/* Core heap under misuse and at its limits: every pointer the heap did not
 * hand out (freed, merged, re-allocated, interior, foreign, misaligned,
 * outside every region) is reported and changes nothing; no operation makes
 * a block the index cannot hold; every public function takes NULL; the
 * datasheet's numbers and sizing queries match the heap. The rules are in
 * include/kheap/heap.h ("Misuse", "Failure"). */
#include <stdint.h>
#include <string.h>

#include "heap_model.h"
#include "kh_test.h"
#include "kheap/config.h"
#include "kheap/error.h"
#include "kheap/heap.h"

KH_TEST_FILE_TAGS("heap");

#define GRAIN KH_ALIGN_DEFAULT
#define WORD  sizeof(size_t)

static unsigned char *arena(size_t want)
{
    size_t n;
    unsigned char *m = kh_test_arena(&n);
    return n >= want ? m : NULL;
}

/* ---- Live blocks with known contents ------------------------------------- */

#define MAXB 16
struct live {
    unsigned char *p[MAXB];
    size_t n[MAXB];
    unsigned count;
};

static unsigned char pat(const void *p, size_t i)
{
    return (unsigned char)(((uintptr_t)p >> 4) * 31u + i * 7u + 1u);
}

static void *live_add(kheap *h, struct live *l, size_t n)
{
    unsigned char *p = kheap_alloc(h, n, 0);
    if (!p || l->count == MAXB) return NULL;
    for (size_t i = 0; i < n; i++) p[i] = pat(p, i);
    l->p[l->count] = p;
    l->n[l->count++] = n;
    return p;
}

static void live_forget(struct live *l, const void *p)
{
    for (unsigned i = 0; i < l->count; i++)
        if (l->p[i] == p) {
            l->p[i] = l->p[--l->count];
            l->n[i] = l->n[l->count];
            return;
        }
}

static bool live_intact(const struct live *l)
{
    for (unsigned i = 0; i < l->count; i++)
        for (size_t k = 0; k < l->n[i]; k++)
            if (l->p[i][k] != pat(l->p[i], k)) return false;
    return true;
}

/* Every way of handing p back, each reported once with a code in `codes`
 * (a bit per -code), and nothing changed: statistics, contents of the live
 * blocks, kheap_check. */
#define CODE(c) (1u << -(c))
#define STALE   (CODE(KH_EDOUBLE) | CODE(KH_EFAULT) | CODE(KH_ECORRUPT))

static bool refused_all_ex(kheap *h, const struct live *l, void *p, unsigned codes, bool check)
{
    struct kheap_stats before = heap_stats(h), after;
    struct kh_test_reports r;
    bool ok = true;
    kh_test_reports_start(&r);
    kheap_free(h, p);
    ok = ok && r.count == 1 && (codes & CODE(r.last_code)) && r.last_ptr == p;
    ok = ok && kheap_realloc(h, p, 8, 0) == NULL && r.count == 2 && (codes & CODE(r.last_code));
    ok = ok && kheap_realloc(h, p, 5000, 0) == NULL && r.count == 3;
    ok = ok && !kheap_resize(h, p, 16) && r.count == 4 && (codes & CODE(r.last_code));
    ok = ok && kheap_usable_size(h, p) == 0 && r.count == 5 && (codes & CODE(r.last_code));
    kh_test_reports_stop();
    after = heap_stats(h);
    return ok && memcmp(&before, &after, sizeof(before)) == 0 && live_intact(l) &&
           (!check || kheap_check(h) == 0);
}

static bool refused_all(kheap *h, const struct live *l, void *p, unsigned codes)
{
    return refused_all_ex(h, l, p, codes, true);
}

static kheap *small_heap(size_t bytes)
{
    unsigned char *m = arena(bytes);
    return m ? kheap_init(m, bytes) : NULL;
}

/* ---- Double free under every neighbour configuration --------------------- */

/* Blocks A B C D E (E pins the end). B, C and D are freed in every order,
 * and C again after each step once it is free: whatever merged with it,
 * the second free is reported and changes nothing. */
KH_TEST_TAGGED(heap_misuse_double_free_every_neighbour_and_order, "checks")
{
    static const unsigned char orders[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2},
                                               {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
    for (unsigned o = 0; o < 6; o++) {
        for (unsigned sz = 0; sz < 3; sz++) {
            kheap *h = small_heap(1 << 16);
            KH_ASSERT(h);
            struct live l = {0};
            size_t n = sz == 0 ? 24 : sz == 1 ? 200 : 3000;
            unsigned char *a = live_add(h, &l, n), *b = live_add(h, &l, n);
            unsigned char *c = live_add(h, &l, n), *d = live_add(h, &l, n);
            KH_ASSERT(a && b && c && d && live_add(h, &l, 40));
            unsigned char *bcd[3] = {b, c, d};
            bool c_free = false;
            for (unsigned k = 0; k < 3; k++) {
                unsigned char *x = bcd[orders[o][k]];
                live_forget(&l, x);
                kheap_free(h, x);
                KH_CHECK_EQ(kheap_check(h), 0);
                c_free = c_free || x == c;
                /* Every pointer freed so far, again: merged or not. */
                for (unsigned j = 0; j <= k; j++) {
                    unsigned char *y = bcd[orders[o][j]];
                    if (!refused_all(h, &l, y, CODE(KH_EDOUBLE))) {
                        kh_test_fail(__FILE__, __LINE__, "second free not refused");
                        kh_test_print_u(o), kh_test_print(" "), kh_test_print_u(k);
                        kh_test_print("\n");
                    }
                }
            }
            KH_CHECK(c_free);
            KH_CHECK_EQ(heap_stats(h).allocations, 2);
        }
    }
}

/* Fill p's n bytes with one of several kinds of data. */
static void fill_kind(unsigned char *p, size_t n, unsigned kind)
{
    for (size_t i = 0; i < n; i++) {
        switch (kind) {
        case 0:
            p[i] = 0;
            break;
        case 1:
            p[i] = 0xff;
            break;
        case 2:
            p[i] = (unsigned char)(i * 131 + 17);
            break;
        default: {
            /* Pointers into the block itself, as a linked structure holds. */
            uintptr_t v = (uintptr_t)(p + (i / WORD) * WORD);
            p[i] = (unsigned char)(v >> (8 * (i % WORD)));
        }
        }
    }
}

/* The freed (and merged) memory is allocated again before the second free:
 * the stale pointer is now inside someone else's block. It must not free
 * that block or anything else. */
KH_TEST_TAGGED(heap_misuse_double_free_after_reuse, "checks")
{
    for (unsigned merge = 0; merge < 3; merge++) {
        for (unsigned kind = 0; kind < 4; kind++) {
            kheap *h = small_heap(1 << 16);
            KH_ASSERT(h);
            struct live l = {0};
            unsigned char *a = live_add(h, &l, 100), *b = live_add(h, &l, 100);
            unsigned char *c = live_add(h, &l, 100);
            KH_ASSERT(a && b && c && live_add(h, &l, 40));
            /* merge 0: b with a (b's header absorbed); 1: b with c; 2: both.
             * The merged block, whole, is a request of its usable size. */
            size_t merged = kheap_usable_size(h, b);
            if (merge != 1) merged += kheap_usable_size(h, a) + WORD;
            if (merge != 0) merged += kheap_usable_size(h, c) + WORD;
            if (merge != 1) live_forget(&l, a), kheap_free(h, a);
            if (merge != 0) live_forget(&l, c), kheap_free(h, c);
            live_forget(&l, b);
            kheap_free(h, b);
            /* It comes back as one allocation starting at or before b, so
             * b points inside it. */
            unsigned char *x = live_add(h, &l, merged);
            KH_ASSERT(x);
            KH_ASSERT(x <= b && b < x + merged);
            if (x == b) continue; /* merge 1: the block starts at b again (see below) */
            fill_kind(x, merged, kind);
            live_forget(&l, x);
            unsigned char copy[512];
            memcpy(copy, x, merged);
            KH_CHECK(refused_all(h, &l, b, STALE));
            KH_CHECK(memcmp(copy, x, merged) == 0);
            KH_CHECK_EQ(kheap_usable_size(h, x) >= merged, 1);
        }
    }
}

/* What no check can catch (heap.h says so): a stale pointer that is again
 * the start of a live block is that block. */
KH_TEST(heap_misuse_stale_pointer_equal_to_a_live_block_is_that_block)
{
    kheap *h = small_heap(1 << 16);
    KH_ASSERT(h);
    void *a = kheap_alloc(h, 64, 0), *g = kheap_alloc(h, 64, 0);
    KH_ASSERT(a && g);
    kheap_free(h, a);
    void *b = kheap_alloc(h, 64, 0);
    KH_ASSERT(b == a); /* the same block again */
    kheap_free(h, a);  /* "a" is b now: b is freed, legitimately */
    KH_CHECK_EQ(heap_stats(h).allocations, 1);
    KH_CHECK_EQ(kheap_check(h), 0);
}

/* ---- Interior, misaligned, foreign, outside ------------------------------- */

KH_TEST_TAGGED(heap_misuse_interior_pointers, "checks")
{
    kheap *h = small_heap(1 << 16);
    KH_ASSERT(h);
    struct live l = {0};
    unsigned char *p = live_add(h, &l, 1000);
    KH_ASSERT(p && live_add(h, &l, 100) && live_add(h, &l, 10));
    for (size_t off = GRAIN; off < 1000; off += GRAIN)
        if (!refused_all(h, &l, p + off, CODE(KH_EFAULT) | CODE(KH_ECORRUPT))) {
            kh_test_fail(__FILE__, __LINE__, "interior pointer not refused");
            break;
        }
    /* The same after the block's bytes look like a header for a moment:
     * zeros, all ones, pointers. */
    for (unsigned kind = 0; kind < 4; kind++) {
        fill_kind(p, 1000, kind);
        unsigned char copy[1000];
        memcpy(copy, p, 1000);
        live_forget(&l, p);
        for (size_t off = GRAIN; off < 1000; off += 7 * GRAIN)
            KH_CHECK(refused_all(h, &l, p + off, STALE));
        KH_CHECK(memcmp(copy, p, 1000) == 0);
        for (size_t i = 0; i < 1000; i++) p[i] = pat(p, i);
        l.p[l.count] = p, l.n[l.count++] = 1000;
    }
}

KH_TEST_TAGGED(heap_misuse_misaligned_pointers, "checks")
{
    kheap *h = small_heap(1 << 16);
    KH_ASSERT(h);
    struct live l = {0};
    unsigned char *p = live_add(h, &l, 300);
    KH_ASSERT(p && live_add(h, &l, 10));
    for (size_t off = 1; off < GRAIN; off++) KH_CHECK(refused_all(h, &l, p + off, CODE(KH_EFAULT)));
    for (size_t off = 1; off < GRAIN; off++) KH_CHECK(refused_all(h, &l, p - off, CODE(KH_EFAULT)));
}

KH_TEST_TAGGED(heap_misuse_foreign_and_outside_pointers, "checks")
{
    unsigned char *m = arena(1 << 18);
    KH_ASSERT(m);
    /* Heap h: two regions with a gap; heap h2 elsewhere. */
    kheap *h = kheap_init_ex(m, 1 << 15, 1 << 17);
    KH_ASSERT(h);
    KH_ASSERT(kheap_add_region(h, m + (1 << 16), 1 << 15));
    kheap *h2 = kheap_init(m + (1 << 17), 1 << 16);
    KH_ASSERT(h2);
    struct live l = {0};
    KH_ASSERT(live_add(h, &l, 100) && live_add(h, &l, 20000));
    unsigned char *f = kheap_alloc(h2, 100, 0);
    KH_ASSERT(f);
    KH_CHECK(refused_all(h, &l, f, CODE(KH_EFAULT)));             /* another heap's block */
    KH_CHECK(refused_all(h, &l, m + 40000, CODE(KH_EFAULT)));     /* the gap between regions */
    KH_CHECK(refused_all(h, &l, m + (3 << 15), CODE(KH_EFAULT))); /* just past the end */
    KH_CHECK(refused_all(h, &l, (unsigned char *)h + 2 * GRAIN, CODE(KH_EFAULT))); /* control */
    KH_CHECK(refused_all(h, &l, (void *)(uintptr_t)GRAIN, CODE(KH_EFAULT)));
    KH_CHECK(refused_all(h, &l, (void *)(UINTPTR_MAX & ~(uintptr_t)(GRAIN - 1)), CODE(KH_EFAULT)));
    /* h2 refuses h's blocks the same way, and is unchanged too. */
    struct live l2 = {0};
    KH_ASSERT(live_add(h2, &l2, 50));
    KH_CHECK(refused_all(h2, &l2, l.p[0], CODE(KH_EFAULT)));
}

#if KH_TEST_HOSTED
#include <sys/mman.h>
#include <unistd.h>
#endif

/* A pointer into an unmapped gap between two regions, or just below or past
 * them, is refused without the heap reading the memory around it: reading
 * would fault here. */
KH_TEST_TAGGED(heap_misuse_pointer_in_unmapped_gap_is_not_read, "checks hosted")
{
#if KH_TEST_HOSTED
    size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    unsigned char *m =
        mmap(NULL, 5 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    KH_ASSERT(m != MAP_FAILED);
    KH_ASSERT(mprotect(m, pg, PROT_NONE) == 0);
    KH_ASSERT(mprotect(m + 2 * pg, pg, PROT_NONE) == 0);
    KH_ASSERT(mprotect(m + 4 * pg, pg, PROT_NONE) == 0);
    kheap *h = kheap_init_ex(m + pg, pg, 4 * pg);
    KH_ASSERT(h);
    KH_ASSERT(kheap_add_region(h, m + 3 * pg, pg));
    struct live l = {0};
    KH_ASSERT(live_add(h, &l, 100));
    for (size_t off = 0; off < pg; off += 256) {
        KH_CHECK(refused_all(h, &l, m + 2 * pg + off, CODE(KH_EFAULT)));
        KH_CHECK(refused_all(h, &l, m + off + 2 * GRAIN, CODE(KH_EFAULT)));
        KH_CHECK(refused_all(h, &l, m + 4 * pg + off, CODE(KH_EFAULT)));
    }
    munmap(m, 5 * pg);
#endif
}

/* Stale pointers from every kind of free, in a heap with several regions:
 * blocks freed with and without merging, a block that grew into its freed
 * neighbour (realloc, resize) and one that moved. */
KH_TEST_TAGGED(heap_misuse_stale_after_grow_and_move, "checks full-heap")
{
    kheap *h = small_heap(1 << 16);
    KH_ASSERT(h);
    struct live l = {0};
    unsigned char *a = live_add(h, &l, 100), *b = live_add(h, &l, 100);
    unsigned char *c = live_add(h, &l, 100);
    KH_ASSERT(a && b && c && live_add(h, &l, 10));
    live_forget(&l, b);
    kheap_free(h, b);
    /* a grows in place over b: b's header is gone. */
    live_forget(&l, a);
    KH_ASSERT(kheap_resize(h, a, 200));
    for (size_t i = 0; i < 200; i++) a[i] = pat(a, i);
    l.p[l.count] = a, l.n[l.count++] = 200;
    KH_CHECK(refused_all(h, &l, b, STALE));
    /* c moves (its neighbours are used): the old c is stale. */
    live_forget(&l, c);
    unsigned char *c2 = kheap_realloc(h, c, 5000, 0);
    KH_ASSERT(c2 && c2 != c);
    for (size_t i = 0; i < 5000; i++) c2[i] = pat(c2, i);
    l.p[l.count] = c2, l.n[l.count++] = 5000;
    KH_CHECK(refused_all(h, &l, c, STALE));
    /* Grow down: the block moves into its free predecessor. */
    unsigned char *d = live_add(h, &l, 300), *e = live_add(h, &l, 300);
    KH_ASSERT(d && e && live_add(h, &l, 200)); /* bigger than c's hole: after e */
    live_forget(&l, d);
    kheap_free(h, d);
    live_forget(&l, e);
    unsigned char *e2 = kheap_realloc(h, e, 500, 0);
    KH_ASSERT(e2 == d); /* moved down over d */
    for (size_t i = 0; i < 500; i++) e2[i] = pat(e2, i);
    l.p[l.count] = e2, l.n[l.count++] = 500;
    KH_CHECK(refused_all(h, &l, e, STALE));
}

/* A write after free into the last word of a free block (the boundary tag
 * its successor's free follows) must not send the successor's free astray;
 * nor may an overwritten successor header. */
KH_TEST_TAGGED(heap_misuse_clobbered_neighbours, "checks")
{
    kheap *h = small_heap(1 << 16);
    KH_ASSERT(h);
    struct live l = {0};
    unsigned char *a = live_add(h, &l, 200), *b = live_add(h, &l, 200);
    unsigned char *c = live_add(h, &l, 200);
    KH_ASSERT(a && b && c && live_add(h, &l, 10));
    live_forget(&l, a);
    kheap_free(h, a);
    size_t *tag = (size_t *)(void *)(b - 2 * WORD); /* b's prev_phys: a's last word */
    size_t keep = heap_peek(tag);
    size_t bogus[] = {0,
                      keep + GRAIN,
                      keep - GRAIN,
                      (size_t)(uintptr_t)c,
                      (size_t)(uintptr_t)b,
                      (size_t)(uintptr_t)h};
    for (unsigned i = 0; i < sizeof(bogus) / sizeof(bogus[0]); i++) {
        heap_poke(tag, bogus[i]);
        /* kheap_check sees the clobbered word; the calls must not act on it. */
        KH_CHECK(refused_all_ex(h, &l, b, CODE(KH_ECORRUPT), false));
        heap_poke(tag, keep);
        KH_CHECK_EQ(kheap_check(h), 0);
    }
    heap_poke(tag, keep);
    KH_CHECK_EQ(kheap_check(h), 0);
    /* c's header, seen from b: a successor that no longer looks like one. */
    size_t *ch = (size_t *)(void *)(c - WORD), ckeep = heap_peek(ch);
    heap_poke(ch, ckeep ^ ((size_t)1 << (8 * WORD - 1))); /* a tag bit */
    KH_CHECK(refused_all_ex(h, &l, b, CODE(KH_ECORRUPT), false));
    heap_poke(ch, ckeep | 2); /* says its predecessor b is free */
    struct kh_test_reports r;
    kh_test_reports_start(&r);
    kheap_free(h, b);
    KH_CHECK_EQ(r.count, 1);
    KH_CHECK_EQ(r.last_code, KH_ECORRUPT);
    kh_test_reports_stop();
    heap_poke(ch, ckeep);
    KH_CHECK_EQ(kheap_check(h), 0);
    KH_CHECK(live_intact(&l));
}

/* ---- Hard limits ------------------------------------------------------------ */

static void bigger_than_index(void *block, size_t size, bool used, void *ctx)
{
    (void)block, (void)used;
    size_t *a = ctx;
    if (size + WORD > a[0]) a[1]++;
}

/* The largest request whose block is `block` bytes (level 2 adds a canary
 * byte and a size word). */
static size_t req_for(const kheap *h, size_t block)
{
    return block - WORD - (heap_stats(h).hardening >= 2 ? WORD + 1 : 0);
}

/* Two free pieces of one region that max_block keeps apart: a block at the
 * end of the first grows into the second. The sum exceeds max_block by less
 * than a minimum block, so keeping everything would make a block the index
 * cannot hold: the heap must refuse (or move), never build it. */
KH_TEST_TAGGED(heap_limits_grow_never_past_max_block, "full-heap")
{
    unsigned char *m = arena(1 << 18);
    KH_ASSERT(m);
    kheap *h = kheap_init(m, 4096); /* index for about 8 KiB blocks */
    KH_ASSERT(h);
    size_t mb = heap_stats(h).max_block;
    /* Use up the first region. */
    while (kheap_alloc(h, 0, 0)) {
    }
    /* A region whose span is 2 * mb - GRAIN: pieces mb and mb - GRAIN. */
    unsigned char *r = m + 16384;
    r += (GRAIN - (uintptr_t)r % GRAIN) % GRAIN;
    KH_ASSERT(kheap_add_region(h, r, 2 * mb - GRAIN + 2 * WORD));
    KH_ASSERT_EQ(heap_stats(h).free_blocks, 2);
    unsigned char *x = kheap_alloc(h, req_for(h, mb), 0);         /* the first piece, whole */
    unsigned char *y = kheap_alloc(h, req_for(h, mb - GRAIN), 0); /* the second, whole */
    KH_ASSERT(x && y && y > x);
    KH_ASSERT(kheap_realloc(h, x, req_for(h, mb - 2 * GRAIN), 0) == x); /* frees 2 grains */
    unsigned char *p = kheap_alloc(h, req_for(h, 2 * GRAIN), 0);        /* takes them */
    KH_ASSERT(p && p > x && p < y);
    kheap_free(h, y); /* p's successor: free, mb - GRAIN */
    size_t n = req_for(h, 2 * GRAIN);
    memset(p, 0x77, n);
    size_t a[2] = {mb, 0};
    KH_CHECK(!kheap_resize(h, p, req_for(h, mb)));
    void *q = kheap_realloc(h, p, req_for(h, mb), 0);
    KH_CHECK_EQ(kheap_check(h), 0);
    kheap_walk(h, bigger_than_index, a);
    KH_CHECK_EQ(a[1], 0);
    unsigned char *keep = q ? q : p;
    for (size_t i = 0; i < n; i++) KH_CHECK(keep[i] == 0x77);
    /* Growing less, so that the tail can stand alone, works in place. */
    KH_CHECK(kheap_resize(h, keep, req_for(h, mb - 2 * GRAIN)) || q);
    KH_CHECK_EQ(kheap_check(h), 0);
}

struct counting_source {
    unsigned char *mem;
    size_t left, calls;
};

static void *counting_grow(void *ctx, size_t min_bytes, size_t *got)
{
    struct counting_source *s = ctx;
    s->calls++;
    if (min_bytes > s->left) return NULL;
    void *p = s->mem;
    s->mem += min_bytes + 256;
    s->left -= min_bytes + 256 > s->left ? s->left : min_bytes + 256;
    *got = min_bytes;
    return p;
}

static const struct kh_source_ops counting_ops = {counting_grow, NULL};

/* A request no block of the heap can ever hold fails without asking the
 * source (which would add a useless region each time). */
KH_TEST_TAGGED(heap_limits_impossible_requests_never_grow, "full-heap")
{
    unsigned char *m = arena(1 << 20);
    KH_ASSERT(m);
    kheap *h = kheap_init_ex(m, 8192, 1 << 16);
    KH_ASSERT(h);
    struct counting_source cs = {m + 16384, 900000, 0};
    struct kh_source src = {&cs, &counting_ops};
    KH_ASSERT(kheap_set_source(h, &src));
    size_t mb = heap_stats(h).max_block;
    struct kheap_stats before = heap_stats(h);
    for (int i = 0; i < 10; i++) {
        KH_CHECK(kheap_alloc(h, mb, 0) == NULL);
        KH_CHECK(kheap_alloc(h, mb / 2, mb / 2 + 1024) == NULL); /* with its alignment gap */
        KH_CHECK(kheap_zalloc(h, 1u << 20, 0) == NULL);
    }
    KH_CHECK_EQ(cs.calls, 0);
    KH_CHECK_EQ(heap_stats(h).regions, before.regions);
    KH_CHECK_EQ(heap_stats(h).failed_allocations, before.failed_allocations + 30);
    /* What can fit still grows the heap, once. */
    void *p = kheap_alloc(h, mb - 4 * GRAIN, 0);
    KH_CHECK(p != NULL);
    KH_CHECK_EQ(cs.calls, 1);
    KH_CHECK(kheap_realloc(h, p, mb, 0) == NULL); /* a realloc that cannot fit either */
    KH_CHECK_EQ(cs.calls, 1);
    KH_CHECK_EQ(kheap_check(h), 0);
}

/* Regions that touch coalesce, but never into a block past max_block. */
KH_TEST(heap_limits_adjacent_regions_stay_under_max_block)
{
    unsigned char *m = arena(1 << 20);
    KH_ASSERT(m);
    kheap *h = kheap_init(m, 4096);
    KH_ASSERT(h);
    size_t mb = heap_stats(h).max_block, step = 1024;
    unsigned char *base = m + 8192;
    for (unsigned i = 1; i < 4; i++) KH_ASSERT(kheap_add_region(h, base + i * 2 * step, step));
    KH_CHECK_EQ(heap_stats(h).regions, 4);
    /* Touching the last region: it coalesces, no entry needed; bigger than
     * max_block in all, carved into pieces the index holds. */
    KH_CHECK(kheap_add_region(h, base + 3 * 2 * step + step, 3 * mb));
    KH_CHECK_EQ(heap_stats(h).regions, 4);
    size_t a[2] = {mb, 0};
    kheap_walk(h, bigger_than_index, a);
    KH_CHECK_EQ(a[1], 0);
    KH_CHECK_EQ(kheap_check(h), 0);
    /* Filling a gap joins two regions into one entry. */
    KH_CHECK(kheap_add_region(h, base + 2 * step + step, step));
    KH_CHECK_EQ(heap_stats(h).regions, 3);
    KH_CHECK_EQ(kheap_check(h), 0);
}

static void find_used(void *block, size_t size, bool used, void *ctx)
{
    (void)size;
    if (used) *(void **)ctx = block;
}

/* Past the control block's entries the region table moves into a block of
 * the heap, doubling, up to KH_HEAP_MAX_REGIONS regions; then a region that
 * touches none is refused cleanly. The table's block is nobody's to free,
 * and its region cannot be removed. */
KH_TEST(heap_limits_region_table_grows_to_its_limit)
{
    size_t small = 256, stride = 512, big = 128 << 10;
    unsigned char *m = arena((size_t)KH_HEAP_MAX_REGIONS * stride + big + 65536);
    KH_ASSERT(m);
    kheap *h = kheap_init_ex(m, 8192, 1 << 20);
    KH_ASSERT(h);
    size_t cap0 = heap_stats(h).max_regions;
    KH_CHECK(cap0 >= 4 && cap0 < KH_HEAP_MAX_REGIONS);
    unsigned char *bigr = m + 16384, *base = bigr + big + stride;
    KH_ASSERT(kheap_add_region(h, bigr, big)); /* room for the table */
    size_t grown = 0, prev_cap = cap0;
    for (size_t i = 0; heap_stats(h).regions < KH_HEAP_MAX_REGIONS; i++) {
        if (!kheap_add_region(h, base + i * stride, small)) {
            kh_test_fail(__FILE__, __LINE__, "region refused before the table's limit");
            kh_test_print_u(heap_stats(h).regions), kh_test_print("\n");
            return;
        }
        if (heap_stats(h).max_regions != prev_cap) grown++, prev_cap = heap_stats(h).max_regions;
        if (i % 128 == 0) KH_CHECK_EQ(kheap_check(h), 0);
    }
    KH_CHECK(grown >= 1);
    KH_CHECK_EQ(heap_stats(h).max_regions, KH_HEAP_MAX_REGIONS);
    KH_CHECK_EQ(heap_stats(h).allocations, 0); /* the table is not an allocation */
    KH_CHECK_EQ(kheap_check(h), 0);
    /* Full: refused, nothing changed. */
    unsigned char *next = base + (size_t)KH_HEAP_MAX_REGIONS * stride + stride;
    struct kheap_stats before = heap_stats(h);
    KH_CHECK(!kheap_add_region(h, next, small));
    struct kheap_stats after = heap_stats(h);
    KH_CHECK(memcmp(&before, &after, sizeof(before)) == 0);
    /* Every region still works: blocks in the first and the last small one. */
    void *p = kheap_alloc(h, small / 2, 0);
    KH_CHECK(p != NULL);
    KH_CHECK_EQ(kheap_check(h), 0);
    kheap_free(h, p);
    /* The table's block: the only used block now. */
    void *tb = NULL;
    kheap_walk(h, find_used, &tb);
    KH_ASSERT(tb);
    KH_CHECK((unsigned char *)tb >= bigr && (unsigned char *)tb < bigr + big);
    struct kh_test_reports r;
    kh_test_reports_start(&r);
    KH_CHECK(!kheap_remove_region(h, bigr, big));
    KH_CHECK_EQ(r.last_code, KH_EBUSY);
#if KH_CONFIG_CHECKS
    kheap_free(h, tb);
    KH_CHECK_EQ(r.last_code, KH_EFAULT);
    KH_CHECK(kheap_realloc(h, tb, 10, 0) == NULL);
    KH_CHECK_EQ(r.count, 3);
    /* A pointer in a gap between two small regions: outside. */
    kheap_free(h, base + small + 2 * GRAIN);
    KH_CHECK_EQ(r.count, 4);
    KH_CHECK_EQ(r.last_code, KH_EFAULT);
#endif
    kh_test_reports_stop();
    /* A small region goes away, and another takes its entry. */
    KH_CHECK(kheap_remove_region(h, base + 7 * stride, small));
    KH_CHECK(kheap_add_region(h, next, small));
    KH_CHECK_EQ(kheap_check(h), 0);
}

/* ---- NULL arguments and failing settings ----------------------------------- */

static void count_walk(void *b, size_t s, bool u, void *ctx)
{
    (void)b, (void)s, (void)u;
    ++*(size_t *)ctx;
}

KH_TEST(heap_null_arguments_everywhere)
{
    kheap *h = small_heap(1 << 16);
    KH_ASSERT(h);
    struct kheap_stats s;
    memset(&s, 0xab, sizeof(s));
    kheap_stats(NULL, &s);
    KH_CHECK_EQ(s.total_bytes, 0);
    KH_CHECK_EQ(s.hardening, 0);
    kheap_stats(h, NULL);
    kheap_stats(NULL, NULL);
    KH_CHECK(kheap_init(NULL, 4096) == NULL);
    KH_CHECK(kheap_init_ex(NULL, 4096, 1 << 20) == NULL);
    KH_CHECK(!kheap_add_region(NULL, NULL, 0));
    KH_CHECK(!kheap_add_region(h, NULL, 4096));
    KH_CHECK(!kheap_remove_region(NULL, NULL, 0));
    KH_CHECK(kheap_alloc(NULL, 1, 0) == NULL);
    KH_CHECK(kheap_alloc_flags(NULL, 1, 0, KH_GFP_ZERO) == NULL);
    KH_CHECK(kheap_zalloc(NULL, 1, 0) == NULL);
    KH_CHECK(kheap_realloc(NULL, NULL, 1, 0) == NULL);
    void *p = kheap_alloc(h, 10, 0);
    KH_ASSERT(p);
    KH_CHECK(kheap_realloc(NULL, p, 1, 0) == NULL);
    KH_CHECK(!kheap_resize(NULL, p, 1));
    KH_CHECK(!kheap_resize(h, NULL, 1));
    kheap_free(NULL, p);
    kheap_free(h, NULL);
    KH_CHECK_EQ(kheap_usable_size(NULL, p), 0);
    KH_CHECK_EQ(kheap_usable_size(h, NULL), 0);
    KH_CHECK_EQ(kheap_check(NULL), KH_EINVAL);
    size_t n = 0;
    kheap_walk(NULL, count_walk, &n);
    kheap_walk(h, NULL, &n);
    KH_CHECK_EQ(n, 0);
    struct kh_test_reports r;
    kh_test_reports_start(&r);
    KH_CHECK(!kheap_set_policy(NULL, 0));
    KH_CHECK(!kheap_set_source(NULL, NULL));
    KH_CHECK(!kheap_set_hardening(NULL, 0));
    KH_CHECK(!kheap_set_secret(NULL, 1));
    KH_CHECK(!kheap_set_trace(NULL, NULL));
    kh_test_reports_stop();
    KH_CHECK_EQ(heap_stats(h).allocations, 1);
    KH_CHECK_EQ(kheap_check(h), 0);
}

static void *null_grow(void *ctx, size_t min, size_t *got)
{
    (void)ctx, (void)min, (void)got;
    return NULL;
}

KH_TEST(heap_set_source_says_when_it_fails)
{
    kheap *h = small_heap(1 << 16);
    KH_ASSERT(h);
    static const struct kh_source_ops no_grow = {NULL, NULL};
    static const struct kh_source_ops ops = {null_grow, NULL};
    struct kh_source bad1 = {NULL, NULL}, bad2 = {NULL, &no_grow}, good = {NULL, &ops};
    struct kh_test_reports r;
    kh_test_reports_start(&r);
    KH_CHECK(!kheap_set_source(h, &bad1));
    KH_CHECK(!kheap_set_source(h, &bad2));
    KH_CHECK_EQ(r.count, 2);
    KH_CHECK_EQ(r.last_code, KH_EINVAL);
    KH_CHECK(kheap_set_source(h, NULL)); /* detaching always works */
    KH_CHECK_EQ(kheap_set_source(h, &good), (bool)KH_HEAP_FULL);
    KH_CHECK_EQ(r.count, KH_HEAP_FULL ? 2 : 3);
    kh_test_reports_stop();
}

/* ---- Statistics ------------------------------------------------------------- */

KH_TEST(heap_stats_low_water_failures_largest_request)
{
    unsigned char *m = arena(1 << 17);
    KH_ASSERT(m);
    kheap *h = kheap_init_ex(m, 1 << 15, 1 << 16);
    KH_ASSERT(h);
    struct kheap_stats s = heap_stats(h);
    KH_CHECK_EQ(s.min_free_bytes, s.free_bytes);
    KH_CHECK_EQ(s.failed_allocations, 0);
    KH_CHECK_EQ(s.largest_request, 0);
    void *a = kheap_alloc(h, 10000, 0), *b = kheap_alloc(h, 5000, 0);
    KH_ASSERT(a && b);
    size_t low = heap_stats(h).free_bytes;
    KH_CHECK_EQ(heap_stats(h).min_free_bytes, low);
    kheap_free(h, a);
    KH_CHECK_EQ(heap_stats(h).min_free_bytes, low); /* a low-water mark stays */
    KH_CHECK(kheap_alloc(h, 1 << 20, 0) == NULL);
    KH_CHECK(kheap_alloc(h, 10, 3) == NULL); /* bad alignment: a failed request too */
    s = heap_stats(h);
    KH_CHECK_EQ(s.failed_allocations, 2);
    KH_CHECK_EQ(s.largest_request, 1 << 20);
    KH_CHECK(kheap_realloc(h, b, 1 << 19, 0) == NULL);
    KH_CHECK_EQ(heap_stats(h).failed_allocations, 3);
    /* A new region raises free bytes; the low-water mark keeps its past. */
    KH_ASSERT(kheap_add_region(h, m + (1 << 16), 1 << 15));
    s = heap_stats(h);
    KH_CHECK_EQ(s.min_free_bytes, low);
    KH_CHECK(s.free_bytes > low);
    void *c[64];
    unsigned nc = 0;
    while (nc < 64 && heap_stats(h).free_bytes >= low) KH_ASSERT(c[nc++] = kheap_alloc(h, 1000, 0));
    s = heap_stats(h);
    KH_CHECK(s.free_bytes < low);
    KH_CHECK_EQ(s.min_free_bytes, s.free_bytes);
    KH_CHECK(s.peak_used_bytes >= s.used_bytes);
    while (nc) kheap_free(h, c[--nc]);
    kheap_free(h, b);
    s = heap_stats(h);
    KH_CHECK(s.min_free_bytes < s.free_bytes);
    KH_CHECK_EQ(s.used_bytes, 0);
}

/* ---- Region removal --------------------------------------------------------- */

KH_TEST(heap_remove_region_only_when_empty)
{
    unsigned char *m = arena(1 << 18);
    KH_ASSERT(m);
    kheap *h = kheap_init_ex(m, 1 << 14, 1 << 17);
    KH_ASSERT(h);
    unsigned char *r = m + (1 << 15);
    size_t rb = 1 << 15;
    KH_ASSERT(kheap_add_region(h, r, rb));
    struct kheap_stats with = heap_stats(h);
    void *p = kheap_alloc(h, 20000, 0); /* only fits the new region */
    KH_ASSERT(p && (unsigned char *)p >= r);
    struct kh_test_reports rep;
    kh_test_reports_start(&rep);
    KH_CHECK(!kheap_remove_region(h, r, rb));
    KH_CHECK_EQ(rep.last_code, KH_EBUSY);
    KH_CHECK(!kheap_remove_region(h, r, rb - 16)); /* not a region as the heap holds it */
    KH_CHECK_EQ(rep.last_code, KH_EINVAL);
    KH_CHECK(!kheap_remove_region(h, m, 1 << 14)); /* the control block's region */
    KH_CHECK_EQ(rep.count, 3);
    kh_test_reports_stop();
    KH_CHECK_EQ(kheap_check(h), 0);
    kheap_free(h, p);
    KH_CHECK(kheap_remove_region(h, r, rb));
    struct kheap_stats s = heap_stats(h);
    KH_CHECK_EQ(s.regions, with.regions - 1);
    KH_CHECK(s.total_bytes < with.total_bytes);
    KH_CHECK_EQ(s.total_bytes + s.overhead_bytes, (size_t)1 << 14);
    KH_CHECK_EQ(kheap_check(h), 0);
#if KH_CONFIG_CHECKS
    /* Its memory is foreign now. */
    struct live l = {0};
    KH_CHECK(refused_all(h, &l, p, CODE(KH_EFAULT)));
#endif
    KH_CHECK(kheap_alloc(h, 20000, 0) == NULL);
    memset(r, 0x3c, rb); /* the caller's again */
    KH_CHECK_EQ(kheap_check(h), 0);
    /* And it can come back. */
    KH_CHECK(kheap_add_region(h, r, rb));
    KH_CHECK(kheap_alloc(h, 20000, 0) != NULL);
    KH_CHECK_EQ(kheap_check(h), 0);
}

/* ---- Hardening level and secret ------------------------------------------- */

KH_TEST(heap_set_hardening_and_secret_rules)
{
    kheap *h = small_heap(1 << 16);
    KH_ASSERT(h);
    KH_CHECK_EQ(heap_stats(h).hardening, KH_CONFIG_HARDEN);
    struct kh_test_reports r;
    kh_test_reports_start(&r);
    KH_CHECK(!kheap_set_hardening(h, KH_CONFIG_HARDEN + 1));
    KH_CHECK_EQ(r.last_code, KH_EINVAL);
    void *p = kheap_alloc(h, 100, 0);
    KH_ASSERT(p);
    KH_CHECK(!kheap_set_hardening(h, 0));
    KH_CHECK_EQ(r.last_code, KH_EBUSY);
    KH_CHECK(!kheap_set_secret(h, 12345));
    KH_CHECK_EQ(r.last_code, KH_EBUSY);
    KH_CHECK_EQ(r.count, 3);
    kh_test_reports_stop();
    kheap_free(h, p);
    for (unsigned lvl = 0; lvl <= KH_CONFIG_HARDEN; lvl++) {
        KH_CHECK(kheap_set_hardening(h, lvl));
        KH_CHECK_EQ(heap_stats(h).hardening, lvl);
        KH_CHECK(kheap_set_secret(h, 0x1234567890abcdefull + lvl));
        KH_CHECK_EQ(kheap_check(h), 0);
        /* The heap works at every level, with the new secret. */
        void *q[20];
        for (int i = 0; i < 20; i++) KH_ASSERT(q[i] = kheap_alloc(h, (size_t)(i * 37), 0));
        KH_CHECK_EQ(kheap_check(h), 0);
        for (int i = 0; i < 20; i += 2) kheap_free(h, q[i]);
        for (int i = 1; i < 20; i += 2) KH_CHECK(kheap_resize(h, q[i], (size_t)(i * 37 / 2)));
        KH_CHECK_EQ(kheap_check(h), 0);
        /* Start over for the next level. */
        h = small_heap(1 << 16);
        KH_ASSERT(h);
    }
#if KH_CONFIG_CHECKS
    /* At level 0 the heap trusts the caller; at level 1 a double free is
     * reported again. */
    KH_ASSERT(kheap_set_hardening(h, 1));
    void *a = kheap_alloc(h, 64, 0), *g = kheap_alloc(h, 64, 0);
    KH_ASSERT(a && g);
    kheap_free(h, a);
    kh_test_reports_start(&r);
    kheap_free(h, a);
    KH_CHECK_EQ(r.count, 1);
    kh_test_reports_stop();
#endif
}

/* The secret keys the tags: the same heap with another secret writes other
 * header words. */
KH_TEST_TAGGED(heap_secret_changes_the_tags, "checks")
{
    kheap *h = small_heap(1 << 16);
    KH_ASSERT(h);
    size_t *p = kheap_alloc(h, 64, 0);
    KH_ASSERT(p);
    size_t w1 = heap_peek(p - 1);
    kheap_free(h, p);
    KH_ASSERT(kheap_set_secret(h, 42));
    size_t *q = kheap_alloc(h, 64, 0);
    KH_ASSERT(q == p);
    size_t w2 = heap_peek(q - 1);
    KH_CHECK(w1 != w2);
    KH_CHECK_EQ(w1 & (GRAIN - 1) & 3, w2 & (GRAIN - 1) & 3); /* same flags */
    KH_CHECK(heap_stats(h).check_bits >= 8);
    KH_CHECK_EQ(kheap_check(h), 0);
}

/* ---- Datasheet numbers and sizing queries --------------------------------- */

/* kheap/heap.h states the control block for some sizes, for the default
 * configuration (KH_HEAP_SL_LOG2 4, KH_HEAP_MAX_REGIONS at least 24, no trace). */
KH_TEST(heap_datasheet_control_bytes)
{
    if (KH_HEAP_SL_LOG2 != 4 || KH_HEAP_MAX_REGIONS < 24 || KH_HEAP_TRACE || !KH_HEAP_FULL ||
        KH_CONFIG_HARDEN != 1)
        return; /* the numbers are for the default build */
    if (sizeof(size_t) == 4) {
        KH_CHECK_EQ(kheap_control_bytes(4 << 10), 648);
        KH_CHECK_EQ(kheap_control_bytes(64 << 10), 952);
        KH_CHECK_EQ(kheap_control_bytes(1 << 20), 1256);
    } else if (sizeof(size_t) == 8) {
        KH_CHECK_EQ(kheap_control_bytes(64 << 10), 1704);
        KH_CHECK_EQ(kheap_control_bytes(128u << 20), 3332);
    }
}

/* The datasheet's check bits: 2^-bits is the chance that a word the heap
 * did not write passes as a header. */
KH_TEST(heap_datasheet_check_bits)
{
    if (KH_HEAP_SL_LOG2 != 4 || KH_CONFIG_HARDEN < 1) return;
    unsigned char *m = arena(1 << 20);
    KH_ASSERT(m);
    kheap *h = kheap_init(m, 64 << 10);
    KH_ASSERT(h);
    KH_CHECK_EQ(heap_stats(h).check_bits, sizeof(size_t) == 4 ? 16 : 49);
    h = kheap_init(m, 4 << 10);
    KH_ASSERT(h);
    KH_CHECK_EQ(heap_stats(h).check_bits, sizeof(size_t) == 4 ? 20 : 53);
    h = kheap_init(m, 1 << 20);
    KH_ASSERT(h);
    KH_CHECK_EQ(heap_stats(h).check_bits, sizeof(size_t) == 4 ? 12 : 45);
}

KH_TEST(heap_sizing_queries_match_the_heap)
{
    unsigned char *m = arena(1 << 20);
    KH_ASSERT(m);
    /* Minimum region: works at every alignment; one byte less fails at one. */
    size_t minr = kheap_min_region_bytes();
    bool some_fail = false;
    kheap *h;
    for (size_t o = 0; o < 2 * GRAIN; o++) {
        h = kheap_init_ex(m, 1 << 14, 1 << 16);
        KH_ASSERT(h);
        KH_CHECK(kheap_add_region(h, m + 20000 + o, minr));
        some_fail = some_fail || !kheap_add_region(h, m + 30000 + o, minr - 1);
        KH_CHECK_EQ(kheap_check(h), 0);
    }
    KH_CHECK(some_fail);
    /* Minimum heap, largest allocation of a new heap, at every alignment. */
    size_t sizes[] = {0, 1000, 4096, 10000, 65536, 100000};
    for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
        size_t mb = sizes[k], mi = kheap_min_init_bytes(mb);
        bool tight = false;
        for (size_t o = 0; o < 2 * GRAIN; o++) {
            KH_CHECK(kheap_init_ex(m + o, mi, mb) != NULL);
            tight = tight || kheap_init_ex(m + 300000 + o, mi - 1, mb) == NULL;
        }
        KH_CHECK(tight);
        if (!mb) continue;
        size_t ma = kheap_max_alloc(mb);
        KH_CHECK(ma > 0);
        bool one_short = false;
        for (size_t o = 0; o < 2 * GRAIN; o++) {
            kheap *x = kheap_init(m + o, mb);
            KH_ASSERT(x);
            void *p = kheap_alloc(x, ma, 0);
            KH_CHECK(p != NULL);
            kheap_free(x, p);
            one_short = one_short || kheap_alloc(x, ma + 1, 0) == NULL;
        }
        KH_CHECK(one_short);
    }
    KH_CHECK_EQ(kheap_max_alloc(10), 0);
    /* Per-block overhead: the free bytes an allocation takes. */
    h = kheap_init(m, 1 << 16);
    KH_ASSERT(h);
    for (size_t n = 0; n < 300; n += 7) {
        size_t before = heap_stats(h).free_bytes;
        void *p = kheap_alloc(h, n, 0);
        KH_ASSERT(p);
        KH_CHECK_EQ(before - heap_stats(h).free_bytes, kheap_block_bytes(h, n));
        KH_CHECK(kheap_block_bytes(h, n) >= n + WORD);
        KH_CHECK(kheap_usable_size(h, p) >= n);
    }
    KH_CHECK_EQ(kheap_block_bytes(h, heap_stats(h).max_block), 0); /* can never fit */
    KH_CHECK_EQ(kheap_block_bytes(NULL, 24), kheap_block_bytes(h, 24));
}

/* ---- Trace hooks ------------------------------------------------------------ */

#if KH_HEAP_TRACE
struct trace_log {
    unsigned allocs, frees, reallocs, nulls;
    void *last_caller, *last_ptr;
    size_t last_size;
};
static void t_alloc(void *ctx, void *ptr, size_t size, size_t align, void *caller)
{
    struct trace_log *t = ctx;
    (void)align;
    t->allocs++, t->nulls += !ptr, t->last_ptr = ptr, t->last_size = size;
    t->last_caller = caller;
}
static void t_free(void *ctx, void *ptr, void *caller)
{
    struct trace_log *t = ctx;
    t->frees++, t->last_ptr = ptr, t->last_caller = caller;
}
static void t_realloc(void *ctx, void *old, void *np, size_t size, void *caller)
{
    struct trace_log *t = ctx;
    (void)old;
    t->reallocs++, t->nulls += !np, t->last_ptr = np, t->last_size = size;
    t->last_caller = caller;
}
#endif

/* A function of this file that calls the heap: the hooks must name a return
 * address inside it. */
static __attribute__((noinline)) void *traced_caller(kheap *h, size_t n)
{
    void *p = kheap_alloc(h, n, 0);
    __asm__ volatile("" ::: "memory");
    return p;
}

KH_TEST(heap_trace_hooks)
{
    kheap *h = small_heap(1 << 16);
    KH_ASSERT(h);
#if KH_HEAP_TRACE
    struct trace_log t = {0};
    struct kheap_trace tr = {t_alloc, t_free, t_realloc, &t};
    KH_ASSERT(kheap_set_trace(h, &tr));
    void *p = traced_caller(h, 100);
    KH_ASSERT(p);
    KH_CHECK_EQ(t.allocs, 1);
    KH_CHECK(t.last_ptr == p && t.last_size == 100);
    /* The caller's address lies in traced_caller's code (its first 256
     * bytes hold the call). */
    uintptr_t fn = (uintptr_t)traced_caller, c = (uintptr_t)t.last_caller;
    KH_CHECK(c > fn && c < fn + 256);
    void *q = kheap_zalloc(h, 50, 0);
    KH_CHECK_EQ(t.allocs, 2);
    q = kheap_realloc(h, q, 5000, 0);
    KH_CHECK_EQ(t.reallocs, 1);
    KH_CHECK(t.last_ptr == q && t.last_size == 5000);
    KH_CHECK(kheap_resize(h, q, 100));
    KH_CHECK_EQ(t.reallocs, 2);
    KH_CHECK(kheap_alloc(h, 1 << 20, 0) == NULL);
    KH_CHECK_EQ(t.nulls, 1);
    kheap_free(h, p);
    KH_CHECK_EQ(t.frees, 1);
    KH_CHECK(t.last_ptr == p);
#if KH_CONFIG_CHECKS
    kh_set_error_hook(NULL);
    kheap_free(h, p); /* refused misuse is not traced as a free */
    KH_CHECK_EQ(t.frees, 1);
#endif
    KH_CHECK(kheap_set_trace(h, NULL));
    kheap_free(h, q);
    KH_CHECK_EQ(t.frees, 1);
#else
    /* Compiled out: refused, and reported. */
    struct kh_test_reports r;
    kh_test_reports_start(&r);
    struct kheap_trace tr = {NULL, NULL, NULL, NULL};
    KH_CHECK(!kheap_set_trace(h, &tr));
    KH_CHECK_EQ(r.count, 1);
    KH_CHECK_EQ(r.last_code, KH_EINVAL);
    kh_test_reports_stop();
    KH_CHECK(traced_caller(h, 10) != NULL);
#endif
}

/* ---- Level 2: canaries and poison ------------------------------------------ */

#if KH_CONFIG_HARDEN < 2
/* Below level 2 (not compiled in), asking for it is refused. */
static bool level2_refused(kheap *h)
{
    struct kh_test_reports r;
    kh_test_reports_start(&r);
    bool refused = !kheap_set_hardening(h, 2);
    kh_test_reports_stop();
    return refused && r.count == 1 && r.last_code == KH_EINVAL;
}
#endif

KH_TEST_TAGGED(heap_level2_overflow_is_reported, "checks")
{
    kheap *h = small_heap(1 << 16);
    KH_ASSERT(h);
#if KH_CONFIG_HARDEN < 2
    KH_CHECK(level2_refused(h));
#else
    KH_ASSERT_EQ(heap_stats(h).hardening, 2);
    for (size_t n = 0; n < 70; n += 3) {
        unsigned char *p = kheap_alloc(h, n, 0), *g = kheap_alloc(h, 8, 0);
        KH_ASSERT(p && g);
        KH_CHECK_EQ(kheap_usable_size(h, p), n); /* exactly the request */
        memset(p, 0x11, n);
        KH_CHECK_EQ(kheap_check(h), 0);
        /* One byte past the request: a classic off-by-one (a NUL). */
        p[n] = 0;
        KH_CHECK_EQ(kheap_check(h), KH_EHEAP_CANARY);
        struct kh_test_reports r;
        kh_test_reports_start(&r);
        KH_CHECK_EQ(kheap_usable_size(h, p), 0);
        KH_CHECK_EQ(r.last_code, KH_EHEAP_CANARY);
        kheap_free(h, p); /* reported; the block still goes back */
        KH_CHECK_EQ(r.count, 2);
        KH_CHECK_EQ(r.last_code, KH_EHEAP_CANARY);
        KH_CHECK(r.last_ptr == p);
        kh_test_reports_stop();
        KH_CHECK_EQ(kheap_check(h), 0);
        kheap_free(h, g);
    }
    /* Caught at realloc too, in place or moving, and the data kept. */
    for (int move = 0; move < 2; move++) {
        unsigned char *p = kheap_alloc(h, 40, 0), *g = kheap_alloc(h, 8, 0);
        KH_ASSERT(p && g);
        memset(p, 0x22, 41); /* one too many */
        struct kh_test_reports r;
        kh_test_reports_start(&r);
        unsigned char *q = kheap_realloc(h, p, move ? 4000 : 20, 0);
        KH_CHECK_EQ(r.count, 1);
        KH_CHECK_EQ(r.last_code, KH_EHEAP_CANARY);
        kh_test_reports_stop();
        KH_ASSERT(q);
        KH_CHECK((q != p) == move);
        for (int i = 0; i < 20; i++) KH_CHECK(q[i] == 0x22);
        KH_CHECK_EQ(kheap_check(h), 0);
        kheap_free(h, q);
        kheap_free(h, g);
    }
    /* The word that keeps the size, overwritten too. */
    unsigned char *p = kheap_alloc(h, 32, 0), *g = kheap_alloc(h, 8, 0);
    KH_ASSERT(p && g);
    memset(p, 0x33, 32 + 1 + GRAIN);
    struct kh_test_reports r;
    kh_test_reports_start(&r);
    kheap_free(h, p);
    KH_CHECK(r.count >= 1);
    kh_test_reports_stop();
    KH_CHECK_EQ(kheap_check(h), 0);
#endif
}

KH_TEST_TAGGED(heap_level2_write_after_free_is_reported, "checks")
{
    kheap *h = small_heap(1 << 16);
    KH_ASSERT(h);
#if KH_CONFIG_HARDEN < 2
    KH_CHECK(level2_refused(h));
#else
    unsigned char *a = kheap_alloc(h, 500, 0), *g = kheap_alloc(h, 8, 0);
    KH_ASSERT(a && g);
    kheap_free(h, a);
    KH_CHECK_EQ(kheap_check(h), 0);
    a[200] = 1; /* a write after free, in what is poison now */
    KH_CHECK_EQ(kheap_check(h), KH_EHEAP_POISON);
    struct kh_test_reports r;
    kh_test_reports_start(&r);
    unsigned char *b = kheap_alloc(h, 500, 0); /* the same memory, handed out again */
    KH_CHECK(b == a);
    KH_CHECK_EQ(r.count, 1);
    KH_CHECK_EQ(r.last_code, KH_EHEAP_POISON);
    kh_test_reports_stop();
    KH_CHECK_EQ(kheap_check(h), 0);
    /* A stale pointer into poisoned memory reads as already freed. */
    unsigned char *c = kheap_alloc(h, 64, 0), *d = kheap_alloc(h, 64, 0);
    KH_ASSERT(c && d && kheap_alloc(h, 8, 0));
    kheap_free(h, c);
    kheap_free(h, d); /* merges into c: d's header is poison now */
    struct live l = {0};
    KH_CHECK(refused_all(h, &l, d, CODE(KH_EDOUBLE)));
    KH_CHECK(refused_all(h, &l, c, CODE(KH_EDOUBLE)));
    /* Growing in place into freed memory checks it as well. */
    h = small_heap(1 << 16);
    KH_ASSERT(h);
    unsigned char *e = kheap_alloc(h, 64, 0), *f = kheap_alloc(h, 300, 0);
    KH_ASSERT(e && f && kheap_alloc(h, 8, 0));
    kheap_free(h, f);
    f[100] = 7;
    kh_test_reports_start(&r);
    KH_CHECK(kheap_resize(h, e, 300));
    KH_CHECK_EQ(r.count, 1);
    KH_CHECK_EQ(r.last_code, KH_EHEAP_POISON);
    kh_test_reports_stop();
    KH_CHECK_EQ(kheap_check(h), 0);
#endif
}

KH_TEST_TAGGED(heap_level2_levels_at_run_time, "checks")
{
    kheap *h = small_heap(1 << 16);
    KH_ASSERT(h);
#if KH_CONFIG_HARDEN < 2
    KH_CHECK(level2_refused(h));
#else
    KH_ASSERT(kheap_set_hardening(h, 1));
    unsigned char *a = kheap_alloc(h, 500, 0);
    KH_ASSERT(a);
    KH_CHECK(kheap_usable_size(h, a) > 500); /* level 1: the whole block */
    memset(a, 0x44, kheap_usable_size(h, a));
    kheap_free(h, a);
    /* Back to 2: the free memory gets poisoned, so it checks clean. */
    KH_ASSERT(kheap_set_hardening(h, 2));
    KH_CHECK_EQ(kheap_check(h), 0);
    a = kheap_alloc(h, 500, 0);
    KH_ASSERT(a);
    KH_CHECK_EQ(kheap_usable_size(h, a), 500);
    kheap_free(h, a);
    KH_ASSERT(kheap_set_hardening(h, 0));
    KH_CHECK_EQ(heap_stats(h).check_bits, 0);
    KH_CHECK_EQ(kheap_check(h), 0);
#endif
}
