/* SPDX-License-Identifier: MIT */
/* Tests for box and rc (kheap/box.h). */
#include <stdint.h>
#include <string.h>

#if KH_TEST_HOSTED
#include <pthread.h>
#endif

#include "coll_env.h"
#include "kh_test.h"
#include "kheap/box.h"
#include "kheap/error.h"
#include "kheap/heap.h"

struct point {
    int x, y;
    long tag;
};
KH_BOX_DEFINE(point_box, struct point)
KH_RC_DEFINE(point_rc, struct point)
KH_ARC_DEFINE(point_arc, struct point)

static int drops;
static void count_drop(void *obj)
{
    (void)obj;
    drops++;
}

static int init_seven(void *obj, void *arg)
{
    struct point *p = obj;
    p->x = 7;
    p->y = *(int *)arg;
    p->tag = 0;
    return 0;
}

static int init_fail(void *obj, void *arg)
{
    (void)obj, (void)arg;
    return -1;
}

KH_TEST(box_new_init_copy_free)
{
    kheap *h = coll_heap(1 << 16, NULL);
    KH_ASSERT(h);
    kh_allocator a = kheap_allocator(h);
    int y = 9;
    struct point *p = kh_box_new(a, sizeof(struct point), 0, init_seven, &y);
    KH_ASSERT(p);
    KH_CHECK_EQ(p->x, 7);
    KH_CHECK_EQ(p->y, 9);
    struct point *z = kh_box_new(a, sizeof(struct point), 0, NULL, NULL);
    KH_ASSERT(z);
    KH_CHECK(z->x == 0 && z->y == 0 && z->tag == 0);
    struct point v = {1, 2, 3};
    struct point *c = point_box_new(a, v);
    KH_ASSERT(c);
    KH_CHECK(c->x == 1 && c->y == 2 && c->tag == 3);
    drops = 0;
    point_box_free(a, c, count_drop);
    kh_box_free(a, z, sizeof(struct point), 0, NULL);
    kh_box_free(a, p, sizeof(struct point), 0, count_drop);
    kh_box_free(a, NULL, 8, 0, count_drop); /* NULL: nothing, no drop */
    KH_CHECK_EQ(drops, 2);
    coll_heap_empty(h);
}

KH_TEST_TAGGED(box_align_and_bad_input, "full-heap")
{
    kheap *h = coll_heap(1 << 18, NULL);
    KH_ASSERT(h);
    kh_allocator a = kheap_allocator(h);
    void *p = kh_box_new(a, 100, 4096, NULL, NULL);
    KH_ASSERT(p);
    KH_CHECK_EQ((uintptr_t)p % 4096, 0);
    kh_box_free(a, p, 100, 4096, NULL);
    KH_CHECK(kh_box_new(a, 16, 3, NULL, NULL) == NULL);       /* not a power of two */
    KH_CHECK(kh_box_new(a, SIZE_MAX, 0, NULL, NULL) == NULL); /* too big */
    KH_CHECK(kh_box_new(a, 16, 0, init_fail, NULL) == NULL);  /* init refuses: freed */
    KH_CHECK(kh_box_new_copy(a, 16, 0, NULL) == NULL);
    KH_CHECK(kh_box_new(kh_failing_allocator(), 16, 0, NULL, NULL) == NULL);
    coll_heap_empty(h);
}

KH_TEST(rc_count_clone_release_drop_once)
{
    kheap *h = coll_heap(1 << 16, NULL);
    KH_ASSERT(h);
    kh_allocator a = kheap_allocator(h);
    drops = 0;
    struct point v = {5, 6, 0};
    struct point *p = point_rc_new(a, v, count_drop);
    KH_ASSERT(p);
    KH_CHECK_EQ(point_rc_count(p), 1);
    struct point *q = point_rc_clone(p);
    KH_CHECK(q == p);
    KH_CHECK_EQ(kh_rc_count(p), 2); /* blog_os: "current reference count is 2" */
    KH_CHECK(!point_rc_release(q));
    KH_CHECK_EQ(kh_rc_count(p), 1); /* "reference count is 1 now" */
    KH_CHECK_EQ(drops, 0);
    KH_CHECK(p->x == 5 && p->y == 6);
    for (int i = 0; i < 100; i++) KH_CHECK(kh_rc_clone(p) == p);
    KH_CHECK_EQ(kh_rc_count(p), 101);
    for (int i = 0; i < 100; i++) KH_CHECK(!kh_rc_release(p));
    KH_CHECK_EQ(drops, 0);
    KH_CHECK(kh_rc_release(p));
    KH_CHECK_EQ(drops, 1);
    coll_heap_empty(h);
    /* NULL is harmless */
    KH_CHECK(kh_rc_clone(NULL) == NULL);
    KH_CHECK(!kh_rc_release(NULL));
    KH_CHECK_EQ(kh_rc_count(NULL), 0);
}

KH_TEST_TAGGED(rc_alignment_and_init, "full-heap")
{
    kheap *h = coll_heap(1 << 18, NULL);
    KH_ASSERT(h);
    kh_allocator a = kheap_allocator(h);
    size_t aligns[] = {0, 1, 2, 8, 16, 64, 256, 4096};
    void *objs[8];
    for (int i = 0; i < 8; i++) {
        objs[i] = kh_rc_new(a, 40, aligns[i], NULL, NULL, NULL);
        KH_ASSERT(objs[i]);
        size_t al = aligns[i] ? aligns[i] : KH_ALIGN_DEFAULT;
        KH_CHECK_EQ((uintptr_t)objs[i] % al, 0);
        unsigned char *b = objs[i];
        for (int k = 0; k < 40; k++) KH_CHECK_EQ(b[k], 0);
        memset(objs[i], 0xab, 40); /* must not clobber the header */
    }
    for (int i = 0; i < 8; i++) KH_CHECK_EQ(kh_rc_count(objs[i]), 1);
    for (int i = 0; i < 8; i++) KH_CHECK(kh_rc_release(objs[i]));
    int y = 3;
    struct point *p = kh_rc_new(a, sizeof(struct point), 0, init_seven, &y, NULL);
    KH_ASSERT(p);
    KH_CHECK(p->x == 7 && p->y == 3);
    KH_CHECK(kh_rc_release(p));
    coll_heap_empty(h);
}

KH_TEST(rc_bad_input)
{
    kheap *h = coll_heap(1 << 16, NULL);
    KH_ASSERT(h);
    kh_allocator a = kheap_allocator(h);
    drops = 0;
    KH_CHECK(kh_rc_new(a, 8, 24, NULL, NULL, count_drop) == NULL);
    KH_CHECK(kh_rc_new(a, SIZE_MAX, 0, NULL, NULL, count_drop) == NULL);
    KH_CHECK(kh_rc_new(a, SIZE_MAX - 8, 0, NULL, NULL, count_drop) == NULL);
    KH_CHECK(kh_rc_new(a, 8, (SIZE_MAX >> 1) + 1, NULL, NULL, count_drop) == NULL);
    KH_CHECK(kh_rc_new(a, 8, 0, init_fail, NULL, count_drop) == NULL);
    KH_CHECK(kh_rc_new_copy(a, 8, 0, NULL, count_drop) == NULL);
    KH_CHECK(kh_rc_new(kh_failing_allocator(), 8, 0, NULL, NULL, NULL) == NULL);
    KH_CHECK_EQ(drops, 0); /* never constructed, never dropped */
    coll_heap_empty(h);
#if KH_CONFIG_CHECKS
    /* A pointer that is not an rc object: reported, refused. */
    size_t buf[16];
    memset(buf, 0, sizeof buf);
    struct kh_test_reports r;
    kh_test_reports_start(&r);
    KH_CHECK(kh_rc_clone(&buf[8]) == NULL);
    KH_CHECK(!kh_rc_release(&buf[8]));
    KH_CHECK_EQ(kh_rc_count(&buf[8]), 0);
    kh_test_reports_stop();
    KH_CHECK_EQ(r.count, 3);
    KH_CHECK_EQ(r.last_code, KH_EFAULT);
    KH_CHECK(r.last_ptr == &buf[8]);
#endif
}

KH_TEST(rc_box_fault_injection)
{
    kheap *h = coll_heap(1 << 16, NULL);
    KH_ASSERT(h);
    struct kh_fault f;
    kh_fault_init(&f, kheap_allocator(h));
    kh_allocator a = kh_fault_allocator(&f);
    kh_fault_fail_nth(&f, 1);
    drops = 0;
    KH_CHECK(kh_rc_new(a, 32, 0, NULL, NULL, count_drop) == NULL);
    KH_CHECK_EQ(f.failures, 1);
    kh_fault_fail_nth(&f, 1);
    KH_CHECK(kh_box_new(a, 32, 0, NULL, NULL) == NULL);
    KH_CHECK_EQ(f.failures, 1);
    kh_fault_off(&f);
    KH_CHECK_EQ(f.live_blocks, 0);
    void *p = kh_rc_new(a, 32, 0, NULL, NULL, count_drop);
    KH_ASSERT(p);
    KH_CHECK_EQ(f.live_blocks, 1);
    KH_CHECK(kh_rc_release(p));
    KH_CHECK_EQ(drops, 1);
    KH_CHECK_EQ(f.live_blocks, 0);
    KH_CHECK_EQ(f.live_bytes, 0);
    coll_heap_empty(h);
}

/* ---- arc ---- */

KH_TEST_TAGGED(arc_count_clone_release_drop_once, "full-heap")
{
    kheap *h = coll_heap(1 << 16, NULL);
    KH_ASSERT(h);
    kh_allocator a = kheap_allocator(h);
    drops = 0;
    struct point v = {1, 2, 3};
    struct point *p = point_arc_new(a, v, count_drop);
    KH_ASSERT(p);
    KH_CHECK(p->x == 1 && p->y == 2 && p->tag == 3);
    KH_CHECK_EQ(point_arc_count(p), 1);
    KH_CHECK(point_arc_clone(p) == p);
    KH_CHECK(point_arc_try_clone(p) == p);
    KH_CHECK_EQ(kh_arc_count(p), 3);
    KH_CHECK(!point_arc_release(p));
    KH_CHECK(!point_arc_release(p));
    KH_CHECK_EQ(kh_arc_count(p), 1);
    KH_CHECK_EQ(drops, 0);
    KH_CHECK(point_arc_release(p));
    KH_CHECK_EQ(drops, 1);
    coll_heap_empty(h);
    /* init callback, alignment, failures */
    int y = 4;
    struct point *q = kh_arc_new(a, sizeof(struct point), 256, init_seven, &y, NULL);
    KH_ASSERT(q);
    KH_CHECK_EQ((uintptr_t)q % 256, 0);
    KH_CHECK(q->x == 7 && q->y == 4);
    KH_CHECK(kh_arc_release(q));
    KH_CHECK(kh_arc_new(a, 8, 0, init_fail, NULL, count_drop) == NULL);
    KH_CHECK(kh_arc_new(a, SIZE_MAX - 4, 0, NULL, NULL, NULL) == NULL);
    KH_CHECK(kh_arc_new(a, 8, 12, NULL, NULL, NULL) == NULL);
    KH_CHECK(kh_arc_new_copy(a, 8, 0, NULL, NULL) == NULL);
    KH_CHECK(kh_arc_new(kh_failing_allocator(), 8, 0, NULL, NULL, NULL) == NULL);
    KH_CHECK(kh_arc_clone(NULL) == NULL && kh_arc_try_clone(NULL) == NULL);
    KH_CHECK(!kh_arc_release(NULL));
    KH_CHECK_EQ(kh_arc_count(NULL), 0);
    KH_CHECK_EQ(drops, 1);
    coll_heap_empty(h);
}

KH_TEST(arc_rc_not_interchangeable)
{
#if KH_CONFIG_CHECKS
    kheap *h = coll_heap(1 << 16, NULL);
    KH_ASSERT(h);
    kh_allocator a = kheap_allocator(h);
    void *r = kh_rc_new(a, 16, 0, NULL, NULL, NULL);
    void *s = kh_arc_new(a, 16, 0, NULL, NULL, NULL);
    KH_ASSERT(r && s);
    struct kh_test_reports rep;
    kh_test_reports_start(&rep);
    KH_CHECK(kh_arc_clone(r) == NULL); /* an rc object is not an arc */
    KH_CHECK(!kh_arc_release(r));
    KH_CHECK(kh_rc_clone(s) == NULL); /* and the other way round */
    KH_CHECK(!kh_rc_release(s));
    kh_test_reports_stop();
    KH_CHECK_EQ(rep.count, 4);
    KH_CHECK_EQ(rep.last_code, KH_EFAULT);
    KH_CHECK_EQ(kh_rc_count(r), 1); /* untouched */
    KH_CHECK_EQ(kh_arc_count(s), 1);
    KH_CHECK(kh_rc_release(r));
    KH_CHECK(kh_arc_release(s));
    coll_heap_empty(h);
#endif
}

#if KH_TEST_HOSTED
struct arc_mt_arg {
    struct point *obj;
    size_t iters;
};

static void *arc_mt_worker(void *p)
{
    struct arc_mt_arg *arg = p;
    for (size_t i = 0; i < arg->iters; i++) {
        struct point *c = point_arc_clone(arg->obj);
        if (c != arg->obj || c->x != 11) return (void *)1;
        if (kh_arc_release(c)) return (void *)1; /* we still hold our own: never the last */
    }
    kh_arc_release(arg->obj); /* our own reference: maybe the last one */
    return NULL;
}
#endif

/* Threads clone and release one object concurrently; the main thread lets go
 * of its reference first, so whichever worker finishes last drops it: the
 * destructor runs exactly once and the memory goes back. */
KH_TEST_TAGGED(arc_mt_clone_release_drop_once, "hosted threads")
{
#if KH_TEST_HOSTED
    kheap *h = coll_heap(1 << 16, NULL);
    KH_ASSERT(h);
    kh_allocator a = kheap_allocator(h);
    enum { NT = 4 };
    size_t rounds = kh_test_iters(20), iters = kh_test_iters(20000);
    for (size_t round = 0; round < rounds; round++) {
        drops = 0;
        struct point v = {11, 0, 0};
        struct point *obj = point_arc_new(a, v, count_drop);
        KH_ASSERT(obj);
        pthread_t t[NT];
        struct arc_mt_arg args[NT];
        int made = 0;
        for (int i = 0; i < NT; i++) {
            args[i].obj = point_arc_clone(obj); /* each worker owns one reference */
            args[i].iters = iters;
            if (pthread_create(&t[i], NULL, arc_mt_worker, &args[i]) != 0) {
                kh_arc_release(obj);
                break;
            }
            made++;
        }
        KH_CHECK(made > 0);
        if (made) kh_arc_release(obj); /* may be the last if every worker is done */
        bool ok = true;
        for (int i = 0; i < made; i++) {
            void *res;
            pthread_join(t[i], &res);
            if (res) ok = false;
        }
        KH_CHECK(ok);
        KH_CHECK_EQ(drops, 1);
        coll_heap_empty(h);
    }
#endif
}
