/* SPDX-License-Identifier: MIT */
/* lists: the intrusive list (every operation, misuse reports, random
 * differential test against an array of ids) and the owning list (unit,
 * differential, fault injection). */
#include <stdint.h>
#include <string.h>

#include "coll_env.h"
#include "kh_test.h"
#include "kheap/error.h"
#include "kheap/heap.h"
#include "kheap/list.h"

struct item {
    unsigned id;
    struct kh_list_head link;
};

/* The ids along the list, front to back, into out; returns the count (or
 * max + 1 when the walk is longer than max). */
static size_t ids(const struct kh_list_head *head, unsigned *out, size_t max)
{
    size_t n = 0;
    const struct kh_list_head *p;
    kh_list_for_each(p, head)
    {
        if (n == max) return max + 1;
        out[n++] = kh_list_entry(p, const struct item, link)->id;
    }
    return n;
}

/* The list reads want[0..n) both forwards and backwards. */
static int list_is(const struct kh_list_head *head, const unsigned *want, size_t n)
{
    unsigned got[64];
    if (n > 64 || ids(head, got, 64) != n) return 0;
    for (size_t i = 0; i < n; i++)
        if (got[i] != want[i]) return 0;
    size_t i = n;
    const struct kh_list_head *p;
    kh_list_for_each_prev(p, head)
    {
        if (i == 0 || kh_list_entry(p, const struct item, link)->id != want[--i]) return 0;
    }
    return i == 0 && kh_list_check(head) == 0;
}

KH_TEST(list_intrusive_ops)
{
    KH_LIST_HEAD(head);
    struct item it[6];
    for (unsigned i = 0; i < 6; i++) it[i].id = i;
    KH_CHECK(kh_list_empty(&head));
    KH_CHECK(!kh_list_is_singular(&head));
    KH_CHECK(kh_list_first(&head) == NULL && kh_list_last(&head) == NULL);
    KH_CHECK_EQ(kh_list_count(&head), 0);
    KH_CHECK_EQ(kh_list_check(&head), 0);

    kh_list_add_tail(&it[1].link, &head);
    KH_CHECK(kh_list_is_singular(&head));
    kh_list_add_tail(&it[2].link, &head);
    kh_list_add(&it[0].link, &head);
    unsigned w1[] = {0, 1, 2};
    KH_CHECK(list_is(&head, w1, 3));
    KH_CHECK(kh_list_is_first(&it[0].link, &head));
    KH_CHECK(kh_list_is_last(&it[2].link, &head));
    KH_CHECK(!kh_list_is_last(&it[1].link, &head));
    KH_CHECK(kh_list_first_entry(&head, struct item, link) == &it[0]);
    KH_CHECK(kh_list_last_entry(&head, struct item, link) == &it[2]);
    KH_CHECK(kh_list_first(&head) == &it[0].link);
    KH_CHECK_EQ(kh_list_count(&head), 3);

    kh_list_del(&it[1].link);
    KH_CHECK(it[1].link.next == NULL && it[1].link.prev == NULL);
    unsigned w2[] = {0, 2};
    KH_CHECK(list_is(&head, w2, 2));
    kh_list_move_tail(&it[0].link, &head);
    unsigned w3[] = {2, 0};
    KH_CHECK(list_is(&head, w3, 2));
    kh_list_move(&it[0].link, &head);
    KH_CHECK(list_is(&head, w2, 2));
    kh_list_replace(&it[2].link, &it[3].link);
    unsigned w4[] = {0, 3};
    KH_CHECK(list_is(&head, w4, 2));
    kh_list_del_init(&it[3].link);
    KH_CHECK(kh_list_empty(&it[3].link)); /* detached and self-linked */
    kh_list_del_init(&it[3].link);        /* deleting it again is fine */

    /* splice another list in front and at the back */
    KH_LIST_HEAD(other);
    kh_list_add_tail(&it[4].link, &other);
    kh_list_add_tail(&it[5].link, &other);
    kh_list_splice_init(&other, &head);
    KH_CHECK(kh_list_empty(&other));
    unsigned w5[] = {4, 5, 0};
    KH_CHECK(list_is(&head, w5, 3));
    kh_list_del(&it[4].link);
    kh_list_del(&it[5].link);
    kh_list_add_tail(&it[4].link, &other);
    kh_list_add_tail(&it[5].link, &other);
    kh_list_splice_tail_init(&other, &head);
    unsigned w6[] = {0, 4, 5};
    KH_CHECK(list_is(&head, w6, 3));
    kh_list_splice_init(&other, &head); /* empty: nothing */
    kh_list_splice_tail_init(&other, &head);
    KH_CHECK(list_is(&head, w6, 3));

    /* entry iteration */
    unsigned sum = 0;
    struct item *pos, *nx;
    kh_list_for_each_entry(pos, &head, struct item, link) sum += pos->id;
    KH_CHECK_EQ(sum, 9);
    /* _safe iteration may delete the current entry */
    kh_list_for_each_entry_safe(pos, nx, &head, struct item, link)
    {
        if (pos->id != 4) kh_list_del(&pos->link);
    }
    unsigned w7[] = {4};
    KH_CHECK(list_is(&head, w7, 1));
    struct kh_list_head *p, *n;
    kh_list_for_each_safe(p, n, &head) kh_list_del(p);
    KH_CHECK(kh_list_empty(&head));

    /* runtime init and container_of's twin */
    struct kh_list_head h2;
    kh_list_init(&h2);
    KH_CHECK(kh_list_empty(&h2));
    KH_CHECK(kh_container_of_ptr(&it[2].link, offsetof(struct item, link)) == &it[2]);
    KH_CHECK(kh_container_of_ptr(NULL, 8) == NULL);
}

/* The out-of-line twins exist and behave like the inline versions: call
 * them through function pointers, which needs the exported symbols. */
KH_TEST(list_intrusive_twins_link)
{
    void (*init)(struct kh_list_head *) = kh_list_init;
    void (*add)(struct kh_list_head *, struct kh_list_head *) = kh_list_add;
    void (*add_tail)(struct kh_list_head *, struct kh_list_head *) = kh_list_add_tail;
    void (*del)(struct kh_list_head *) = kh_list_del;
    bool (*empty)(const struct kh_list_head *) = kh_list_empty;
    struct kh_list_head *(*first)(const struct kh_list_head *) = kh_list_first;
    struct kh_list_head h;
    struct item a = {1, {0, 0}}, b = {2, {0, 0}};
    init(&h);
    KH_CHECK(empty(&h));
    add_tail(&a.link, &h);
    add(&b.link, &h);
    unsigned w[] = {2, 1};
    KH_CHECK(list_is(&h, w, 2));
    KH_CHECK(first(&h) == &b.link);
    del(&b.link);
    del(&a.link);
    KH_CHECK(empty(&h));
}

KH_TEST(list_intrusive_misuse_reported)
{
    KH_LIST_HEAD(head);
    struct item a = {1, {0, 0}}, b = {2, {0, 0}};
    kh_list_add_tail(&a.link, &head);
    kh_list_add_tail(&b.link, &head);
    struct kh_test_reports r;
    kh_test_reports_start(&r);
    kh_list_del(&a.link);
    KH_CHECK_EQ(r.count, 0);
#if KH_CONFIG_CHECKS      /* unchecked builds trust the caller: these would fault */
    kh_list_del(&a.link); /* twice */
    KH_CHECK_EQ(r.count, 1);
    KH_CHECK_EQ(r.last_code, KH_EDOUBLE);
    KH_CHECK(r.last_ptr == &a.link);
    /* a neighbour overwrote its link: the delete is refused */
    struct kh_list_head *saved = b.link.prev;
    b.link.prev = &a.link;
    kh_list_del(&b.link);
    KH_CHECK_EQ(r.count, 2);
    KH_CHECK_EQ(r.last_code, KH_ECORRUPT);
    KH_CHECK_EQ(kh_list_check(&head), KH_ECORRUPT);
    b.link.prev = saved;
    kh_list_move(&a.link, &head); /* not on a list */
    KH_CHECK_EQ(r.count, 3);
#endif
    kh_test_reports_stop();
    unsigned w[] = {2};
    KH_CHECK(list_is(&head, w, 1)); /* nothing was damaged */
    KH_CHECK_EQ(kh_list_check(NULL), KH_ECORRUPT);
}

/* Random operations on 48 items over 3 lists, checked against arrays of
 * ids. */
KH_TEST(list_intrusive_random_differential)
{
    enum { NITEMS = 48, NLISTS = 3 };
    struct item it[NITEMS];
    struct kh_list_head heads[NLISTS];
    unsigned ref[NLISTS][NITEMS];
    size_t len[NLISTS] = {0, 0, 0};
    int where[NITEMS]; /* list index, -1 when detached */
    for (int l = 0; l < NLISTS; l++) kh_list_init(&heads[l]);
    for (unsigned i = 0; i < NITEMS; i++) {
        it[i].id = i;
        kh_list_init(&it[i].link);
        where[i] = -1;
    }
    size_t iters = kh_test_iters(200000);
    for (size_t k = 0; k < iters; k++) {
        unsigned i = (unsigned)kh_test_rand_range(0, NITEMS - 1);
        int l = (int)kh_test_rand_range(0, NLISTS - 1);
        unsigned op = (unsigned)kh_test_rand_range(0, 3);
        if (where[i] >= 0) { /* unlink from the reference first */
            int o = where[i];
            size_t j = 0;
            while (ref[o][j] != i) j++;
            memmove(&ref[o][j], &ref[o][j + 1], (len[o] - j - 1) * sizeof(unsigned));
            len[o]--;
        }
        if (op == 0) { /* delete */
            if (where[i] >= 0) kh_list_del_init(&it[i].link);
            where[i] = -1;
            continue;
        }
        if (op == 1 || op == 2) { /* add at the front (add / move) */
            if (where[i] >= 0)
                kh_list_move(&it[i].link, &heads[l]);
            else
                kh_list_add(&it[i].link, &heads[l]);
            memmove(&ref[l][1], &ref[l][0], len[l] * sizeof(unsigned));
            ref[l][0] = i;
        } else { /* add at the back */
            if (where[i] >= 0)
                kh_list_move_tail(&it[i].link, &heads[l]);
            else
                kh_list_add_tail(&it[i].link, &heads[l]);
            ref[l][len[l]] = i;
        }
        len[l]++;
        where[i] = l;
        if ((k & 15) == 0) {
            for (int m = 0; m < NLISTS; m++) KH_ASSERT(list_is(&heads[m], ref[m], len[m]));
        }
    }
    for (int m = 0; m < NLISTS; m++) KH_CHECK(list_is(&heads[m], ref[m], len[m]));
}

/* ---- owning list ---- */

/* l holds ref[0..n) in order, walking both ways. */
static int olist_is(const struct kh_olist *l, const int *ref, size_t n)
{
    if (kh_olist_len(l) != n) return 0;
    size_t i = 0;
    for (const int *p = kh_olist_front(l); p; p = kh_olist_next(l, p))
        if (i >= n || *p != ref[i++]) return 0;
    if (i != n) return 0;
    for (const int *p = kh_olist_back(l); p; p = kh_olist_prev(l, p))
        if (i == 0 || *p != ref[--i]) return 0;
    return i == 0;
}

struct point {
    double x, y;
};
KH_OLIST_DEFINE(pointlist, struct point)

KH_TEST(list_owning_ops)
{
    struct coll_env e;
    KH_ASSERT(coll_env_init(&e, 1 << 20) == 0);
    struct kh_olist l;
    KH_ASSERT_EQ(kh_olist_init(&l, e.a, sizeof(int)), 0);
    KH_CHECK(kh_olist_is_empty(&l));
    KH_CHECK(kh_olist_front(&l) == NULL && kh_olist_back(&l) == NULL);
    int x = 2, out = 0;
    KH_CHECK_EQ(kh_olist_push_back(&l, &x), 0);
    x = 1;
    KH_CHECK_EQ(kh_olist_push_front(&l, &x), 0);
    x = 4;
    KH_CHECK_EQ(kh_olist_push_back(&l, &x), 0);
    int *two = kh_olist_next(&l, kh_olist_front(&l));
    KH_ASSERT(two && *two == 2);
    x = 3;
    KH_CHECK_EQ(kh_olist_insert_after(&l, two, &x), 0);
    x = 0;
    KH_CHECK_EQ(kh_olist_insert_before(&l, kh_olist_front(&l), &x), 0);
    x = 5;
    KH_CHECK_EQ(kh_olist_insert_before(&l, NULL, &x), 0); /* NULL: at the back */
    x = -1;
    KH_CHECK_EQ(kh_olist_insert_after(&l, NULL, &x), 0); /* NULL: at the front */
    int w1[] = {-1, 0, 1, 2, 3, 4, 5};
    KH_CHECK(olist_is(&l, w1, 7));
    KH_CHECK_EQ(e.f.live_blocks, 7); /* one node per element */
    /* element pointers are stable: *two survives everything but its removal */
    for (int i = 0; i < 100; i++) KH_ASSERT_EQ(kh_olist_push_back(&l, &i), 0);
    KH_CHECK_EQ(*two, 2);
    for (int i = 0; i < 100; i++) KH_ASSERT_EQ(kh_olist_pop_back(&l, &out), 0);
    KH_CHECK_EQ(kh_olist_remove(&l, two, &out), 0);
    KH_CHECK_EQ(out, 2);
    int w2[] = {-1, 0, 1, 3, 4, 5};
    KH_CHECK(olist_is(&l, w2, 6));
    KH_CHECK_EQ(kh_olist_pop_front(&l, &out), 0);
    KH_CHECK_EQ(out, -1);
    KH_CHECK_EQ(kh_olist_pop_back(&l, &out), 0);
    KH_CHECK_EQ(out, 5);
    KH_CHECK_EQ(kh_olist_check(&l), 0);
    KH_CHECK_EQ(kh_olist_len(&l), 4);
    kh_olist_clear(&l);
    KH_CHECK_EQ(kh_olist_len(&l), 0);
    KH_CHECK_EQ(e.f.live_blocks, 0);
    KH_CHECK_EQ(kh_olist_pop_front(&l, &out), KH_ENOENT);
    KH_CHECK_EQ(kh_olist_pop_back(&l, &out), KH_ENOENT);
    for (int i = 0; i < 10; i++) KH_ASSERT_EQ(kh_olist_push_back(&l, &i), 0);
    kh_olist_destroy(&l); /* frees the nodes */
    coll_env_no_leak(&e);
}

KH_TEST_TAGGED(list_owning_typed_and_aligned, "full-heap")
{
    struct coll_env e;
    KH_ASSERT(coll_env_init(&e, 1 << 20) == 0);
    pointlist pl;
    KH_ASSERT_EQ(pointlist_init(&pl, e.a), 0);
    struct point p = {1.5, -2.0};
    KH_CHECK_EQ(pointlist_push_back(&pl, p), 0);
    p.x = 0.5;
    KH_CHECK_EQ(pointlist_push_front(&pl, p), 0);
    p.x = 9;
    KH_CHECK_EQ(pointlist_insert_after(&pl, pointlist_front(&pl), p), 0);
    p.x = 10;
    KH_CHECK_EQ(pointlist_insert_before(&pl, pointlist_back(&pl), p), 0);
    double want[] = {0.5, 9, 10, 1.5};
    int i = 0;
    for (struct point *q = pointlist_front(&pl); q; q = pointlist_next(&pl, q), i++) {
        KH_CHECK(q->x == want[i]);
        KH_CHECK_EQ((uintptr_t)q % _Alignof(struct point), 0);
    }
    KH_CHECK_EQ(i, 4);
    KH_CHECK(pointlist_prev(&pl, pointlist_front(&pl)) == NULL);
    KH_CHECK_EQ(pointlist_len(&pl), 4);
    KH_CHECK_EQ(pointlist_remove(&pl, pointlist_front(&pl), &p), 0);
    KH_CHECK(p.x == 0.5);
    KH_CHECK_EQ(pointlist_pop_back(&pl, &p), 0);
    KH_CHECK(p.x == 1.5 && p.y == -2.0);
    KH_CHECK_EQ(pointlist_pop_front(&pl, &p), 0);
    KH_CHECK(p.x == 9);
    KH_CHECK_EQ(pointlist_check(&pl), 0);
    pointlist_clear(&pl);
    pointlist_destroy(&pl);

    /* an over-aligned element: every element lands on a 256-byte boundary */
    struct kh_olist l;
    KH_ASSERT_EQ(kh_olist_init_aligned(&l, e.a, 3, 256), 0);
    for (int k = 0; k < 20; k++) KH_ASSERT_EQ(kh_olist_push_back(&l, "ab"), 0);
    for (char *q = kh_olist_front(&l); q; q = kh_olist_next(&l, q)) {
        KH_CHECK_EQ((uintptr_t)q % 256, 0);
        KH_CHECK(memcmp(q, "ab", 3) == 0);
    }
    kh_olist_destroy(&l);
    coll_env_no_leak(&e);
}

KH_TEST(list_owning_bad_input)
{
    struct coll_env e;
    KH_ASSERT(coll_env_init(&e, 1 << 20) == 0);
    struct kh_olist l;
    kh_allocator none = {NULL, NULL};
    int x = 1, out = 0;
    KH_CHECK_EQ(kh_olist_init(NULL, e.a, 4), KH_EINVAL);
    KH_CHECK_EQ(kh_olist_init(&l, e.a, 0), KH_EINVAL);
    KH_CHECK_EQ(kh_olist_push_back(&l, &x), KH_EINVAL); /* failed init: unusable */
    kh_olist_destroy(&l);                               /* but safe to destroy */
    KH_CHECK_EQ(kh_olist_init(&l, none, 4), KH_EINVAL);
    KH_CHECK_EQ(kh_olist_init_aligned(&l, e.a, 4, 48), KH_EINVAL);
    KH_CHECK_EQ(kh_olist_init(&l, e.a, SIZE_MAX - 4), KH_EOVERFLOW);
    KH_CHECK_EQ(kh_olist_pop_front(NULL, NULL), KH_EINVAL);
    KH_CHECK(kh_olist_front(NULL) == NULL && kh_olist_next(NULL, &x) == NULL);

    KH_ASSERT_EQ(kh_olist_init(&l, e.a, sizeof(int)), 0);
    KH_ASSERT_EQ(kh_olist_push_back(&l, &x), 0);
    KH_CHECK_EQ(kh_olist_push_back(&l, NULL), KH_EINVAL);
    KH_CHECK_EQ(kh_olist_insert_after(&l, kh_olist_front(&l), NULL), KH_EINVAL);
    KH_CHECK_EQ(kh_olist_remove(&l, NULL, &out), KH_EINVAL);
    KH_CHECK_EQ(kh_olist_len(&l), 1);
#if KH_CONFIG_CHECKS
    /* a pointer that is not an element of a list: refused and reported */
    _Alignas(64) unsigned char fake[128] = {0}; /* zeroed "links" before it */
    void *pos = fake + l.elem_off;
    struct kh_test_reports r;
    kh_test_reports_start(&r);
    KH_CHECK_EQ(kh_olist_remove(&l, pos, &out), KH_EFAULT);
    KH_CHECK_EQ(kh_olist_insert_before(&l, pos, &x), KH_EFAULT);
    KH_CHECK_EQ(kh_olist_insert_after(&l, pos, &x), KH_EFAULT);
    kh_test_reports_stop();
    KH_CHECK_EQ(r.count, 3);
    KH_CHECK_EQ(r.last_code, KH_EFAULT);
    KH_CHECK_EQ(kh_olist_len(&l), 1);
#endif
    KH_CHECK_EQ(kh_olist_check(&l), 0);
    l.len = 5;
    KH_CHECK_EQ(kh_olist_check(&l), KH_ECORRUPT);
    l.len = 1;
    kh_olist_destroy(&l);

    KH_ASSERT_EQ(kh_olist_init(&l, kh_failing_allocator(), sizeof(int)), 0);
    KH_CHECK_EQ(kh_olist_push_front(&l, &x), KH_ENOMEM);
    KH_CHECK_EQ(kh_olist_len(&l), 0);
    KH_CHECK_EQ(kh_olist_check(&l), 0);
    kh_olist_destroy(&l);
    coll_env_no_leak(&e);
}

KH_TEST(list_owning_random_differential)
{
    struct coll_env e;
    KH_ASSERT(coll_env_init(&e, 4u << 20) == 0);
    size_t maxlen = 500;
    if (maxlen > e.spare_bytes / sizeof(int)) maxlen = e.spare_bytes / sizeof(int);
    int *ref = (int *)(void *)e.spare;
    size_t n = 0;
    struct kh_olist l;
    KH_ASSERT_EQ(kh_olist_init(&l, e.a, sizeof(int)), 0);
    size_t iters = kh_test_iters(200000);
    for (size_t it = 0; it < iters; it++) {
        unsigned op = (unsigned)kh_test_rand_range(0, 99);
        int x = (int)kh_test_rand_range(0, 1000000), out = -1;
        if (op < 20) {
            if (n == maxlen) continue;
            KH_ASSERT_EQ(kh_olist_push_back(&l, &x), 0);
            ref[n++] = x;
        } else if (op < 40) {
            if (n == maxlen) continue;
            KH_ASSERT_EQ(kh_olist_push_front(&l, &x), 0);
            memmove(ref + 1, ref, n * sizeof(int));
            ref[0] = x;
            n++;
        } else if (op < 55) {
            int rc = kh_olist_pop_front(&l, &out);
            if (!n) {
                KH_ASSERT_EQ(rc, KH_ENOENT);
                continue;
            }
            KH_ASSERT_EQ(out, ref[0]);
            memmove(ref, ref + 1, --n * sizeof(int));
        } else if (op < 70) {
            int rc = kh_olist_pop_back(&l, &out);
            if (!n) {
                KH_ASSERT_EQ(rc, KH_ENOENT);
                continue;
            }
            KH_ASSERT_EQ(out, ref[--n]);
        } else if (op < 99) {
            /* insert or remove around the i-th element, reached from the
             * nearer end */
            if (n == 0 || n == maxlen) continue;
            size_t i = (size_t)kh_test_rand_range(0, n - 1);
            int *p;
            if (i < n / 2) {
                p = kh_olist_front(&l);
                for (size_t j = 0; j < i; j++) p = kh_olist_next(&l, p);
            } else {
                p = kh_olist_back(&l);
                for (size_t j = n - 1; j > i; j--) p = kh_olist_prev(&l, p);
            }
            KH_ASSERT(p && *p == ref[i]);
            if (op < 80) {
                KH_ASSERT_EQ(kh_olist_insert_before(&l, p, &x), 0);
                memmove(ref + i + 1, ref + i, (n - i) * sizeof(int));
                ref[i] = x;
                n++;
            } else if (op < 88) {
                KH_ASSERT_EQ(kh_olist_insert_after(&l, p, &x), 0);
                memmove(ref + i + 2, ref + i + 1, (n - i - 1) * sizeof(int));
                ref[i + 1] = x;
                n++;
            } else {
                KH_ASSERT_EQ(kh_olist_remove(&l, p, &out), 0);
                KH_ASSERT_EQ(out, ref[i]);
                memmove(ref + i, ref + i + 1, (n - i - 1) * sizeof(int));
                n--;
            }
        } else if (kh_test_rand_range(0, 9) == 0) {
            kh_olist_clear(&l);
            n = 0;
        }
        KH_ASSERT_EQ(kh_olist_len(&l), n);
        if ((it & 127) == 0 || n < 4) {
            KH_ASSERT(olist_is(&l, ref, n));
            KH_ASSERT_EQ(kh_olist_check(&l), 0);
        }
    }
    KH_CHECK(olist_is(&l, ref, n));
    kh_olist_destroy(&l);
    coll_env_no_leak(&e);
}

KH_TEST(list_owning_fault_every_allocation)
{
    struct coll_env e;
    KH_ASSERT(coll_env_init(&e, 1 << 20) == 0);
    int *ref = (int *)(void *)e.spare;
    const int steps = 50;
    for (int mode = 0; mode < 2; mode++) {
        for (unsigned long long k = 1;; k++) {
            struct kh_olist l;
            size_t n = 0;
            KH_ASSERT_EQ(kh_olist_init(&l, e.a, sizeof(int)), 0);
            if (mode == 0)
                kh_fault_fail_nth(&e.f, k);
            else
                kh_fault_fail_after(&e.f, k - 1);
            for (int s = 0; s < steps; s++) {
                int x = s * 11, rc, out;
                switch (s % 5) {
                case 0:
                case 1:
                    rc = kh_olist_push_back(&l, &x);
                    if (!rc) ref[n++] = x;
                    break;
                case 2:
                    rc = kh_olist_push_front(&l, &x);
                    if (!rc) {
                        memmove(ref + 1, ref, n * sizeof(int));
                        ref[0] = x;
                        n++;
                    }
                    break;
                case 3:
                    rc = kh_olist_insert_after(&l, kh_olist_front(&l), &x);
                    if (!rc) {
                        size_t at = n ? 1 : 0;
                        memmove(ref + at + 1, ref + at, (n - at) * sizeof(int));
                        ref[at] = x;
                        n++;
                    }
                    break;
                default:
                    rc = kh_olist_pop_back(&l, &out);
                    if (n) {
                        KH_ASSERT_EQ(rc, 0);
                        KH_ASSERT_EQ(out, ref[--n]);
                    } else {
                        KH_ASSERT_EQ(rc, KH_ENOENT);
                        rc = 0;
                    }
                    break;
                }
                KH_ASSERT(rc == 0 || rc == KH_ENOMEM);
                KH_ASSERT_EQ(kh_olist_check(&l), 0);
                KH_ASSERT(olist_is(&l, ref, n));
                KH_ASSERT_EQ(e.f.live_blocks, n); /* a failed push leaked no node */
            }
            unsigned long long failures = e.f.failures;
            kh_fault_off(&e.f);
            kh_olist_destroy(&l);
            coll_env_no_leak(&e);
            if (kh_test_failed()) return;
            if (failures == 0) {
                KH_CHECK(k > 10);
                break;
            }
        }
    }
}
