/* SPDX-License-Identifier: MIT */
/* Saturating refcount and kref: rules single-threaded (bare metal too), then
 * release-exactly-once races with threads (hosted). */
#include "kh_test.h"

#include "kheap/error.h"
#include "kheap/refcount.h"

KH_TEST_FILE_TAGS("threads");

#if KH_TEST_HOSTED
#include <pthread.h>

#include "kheap/port.h"

#endif

#define SAT ((unsigned)KH_REFCOUNT_SATURATED)

KH_TEST(refcount_basic_counting)
{
    struct kh_test_reports rep;
    kh_test_reports_start(&rep);
    kh_refcount_t r = KH_REFCOUNT_INIT(1);
    KH_CHECK_EQ(kh_refcount_read(&r), 1);
    kh_refcount_inc(&r);
    kh_refcount_add(&r, 3);
    KH_CHECK_EQ(kh_refcount_read(&r), 5);
    KH_CHECK(kh_refcount_inc_not_zero(&r));
    KH_CHECK(kh_refcount_add_not_zero(&r, 2));
    KH_CHECK_EQ(kh_refcount_read(&r), 8);
    kh_refcount_dec(&r);
    KH_CHECK(!kh_refcount_dec_and_test(&r));
    KH_CHECK(!kh_refcount_sub_and_test(&r, 5));
    KH_CHECK_EQ(kh_refcount_read(&r), 1);
    KH_CHECK(kh_refcount_dec_and_test(&r));
    KH_CHECK_EQ(kh_refcount_read(&r), 0);
    /* A dead object cannot be revived by inc_not_zero. */
    KH_CHECK(!kh_refcount_inc_not_zero(&r));
    KH_CHECK(!kh_refcount_add_not_zero(&r, 4));
    KH_CHECK_EQ(kh_refcount_read(&r), 0);
    kh_refcount_set(&r, 10);
    KH_CHECK(kh_refcount_sub_and_test(&r, 10));
    KH_CHECK(!kh_refcount_is_saturated(&r));
    KH_CHECK_EQ(rep.count, 0);
    kh_test_reports_stop();
}

KH_TEST(refcount_saturates_on_overflow)
{
    struct kh_test_reports rep;
    kh_test_reports_start(&rep);
    kh_refcount_t r = KH_REFCOUNT_INIT(KH_REFCOUNT_MAX);
    kh_refcount_inc(&r);
    KH_CHECK_EQ(kh_refcount_read(&r), SAT);
    KH_CHECK(kh_refcount_is_saturated(&r));
    KH_CHECK_EQ(rep.count, 1);
    KH_CHECK_EQ(rep.last_code, KH_ERANGE);
    KH_CHECK(rep.last_ptr == &r);
    /* Once saturated it stays there, quietly, whatever happens next: the
     * object leaks rather than being freed under someone. */
    kh_refcount_inc(&r);
    KH_CHECK(!kh_refcount_dec_and_test(&r));
    KH_CHECK(!kh_refcount_sub_and_test(&r, 1000));
    kh_refcount_dec(&r);
    KH_CHECK(kh_refcount_inc_not_zero(&r));
    KH_CHECK_EQ(kh_refcount_read(&r), SAT);
    KH_CHECK_EQ(rep.count, 1);
    /* add past the top */
    kh_refcount_set(&r, KH_REFCOUNT_MAX - 2);
    kh_refcount_add(&r, 2);
    KH_CHECK_EQ(kh_refcount_read(&r), (unsigned)KH_REFCOUNT_MAX);
    KH_CHECK_EQ(rep.count, 1);
    kh_refcount_set(&r, KH_REFCOUNT_MAX - 2);
    kh_refcount_add(&r, 3);
    KH_CHECK_EQ(kh_refcount_read(&r), SAT);
    KH_CHECK_EQ(rep.count, 2);
    /* add_not_zero past the top */
    kh_refcount_set(&r, KH_REFCOUNT_MAX);
    KH_CHECK(kh_refcount_inc_not_zero(&r));
    KH_CHECK_EQ(kh_refcount_read(&r), SAT);
    KH_CHECK_EQ(rep.count, 3);
    KH_CHECK_EQ(rep.last_code, KH_ERANGE);
    kh_test_reports_stop();
}

KH_TEST(refcount_saturates_on_underflow)
{
    struct kh_test_reports rep;
    kh_test_reports_start(&rep);
    /* one put too many */
    kh_refcount_t r = KH_REFCOUNT_INIT(0);
    KH_CHECK(!kh_refcount_dec_and_test(&r));
    KH_CHECK_EQ(kh_refcount_read(&r), SAT);
    KH_CHECK_EQ(rep.count, 1);
    KH_CHECK_EQ(rep.last_code, KH_ERANGE);
    /* sub more than there is: no release, saturate */
    kh_refcount_set(&r, 2);
    KH_CHECK(!kh_refcount_sub_and_test(&r, 3));
    KH_CHECK_EQ(kh_refcount_read(&r), SAT);
    KH_CHECK_EQ(rep.count, 2);
    /* increment from zero: a use after free */
    kh_refcount_set(&r, 0);
    kh_refcount_inc(&r);
    KH_CHECK_EQ(kh_refcount_read(&r), SAT);
    KH_CHECK_EQ(rep.count, 3);
    kh_refcount_set(&r, 0);
    kh_refcount_add(&r, 7);
    KH_CHECK_EQ(kh_refcount_read(&r), SAT);
    KH_CHECK_EQ(rep.count, 4);
    /* plain dec reaching zero: nobody would free, so it is a leak */
    kh_refcount_set(&r, 1);
    kh_refcount_dec(&r);
    KH_CHECK_EQ(kh_refcount_read(&r), SAT);
    KH_CHECK_EQ(rep.count, 5);
    kh_refcount_set(&r, 0);
    kh_refcount_dec(&r);
    KH_CHECK_EQ(kh_refcount_read(&r), SAT);
    KH_CHECK_EQ(rep.count, 6);
    KH_CHECK_EQ(rep.last_code, KH_ERANGE);
    KH_CHECK(rep.last_ptr == &r);
    kh_test_reports_stop();
}

static int release_calls;
static struct kh_kref *released;
static void count_release(struct kh_kref *k)
{
    release_calls++;
    released = k;
}

KH_TEST(refcount_bad_input_changes_nothing)
{
    struct kh_test_reports rep;
    kh_test_reports_start(&rep);
    kh_refcount_t r = KH_REFCOUNT_INIT(3);
    kh_refcount_add(&r, 0);
    kh_refcount_add(&r, -5);
    KH_CHECK(!kh_refcount_add_not_zero(&r, 0));
    KH_CHECK(!kh_refcount_sub_and_test(&r, 0));
    KH_CHECK(!kh_refcount_sub_and_test(&r, -3));
    KH_CHECK_EQ(rep.count, 5);
    KH_CHECK_EQ(rep.last_code, KH_EINVAL);
    KH_CHECK_EQ(kh_refcount_read(&r), 3);
    struct kh_kref k = KH_KREF_INIT(1);
    KH_CHECK_EQ(kh_kref_put(&k, NULL), 0);
    KH_CHECK_EQ(rep.count, 6);
    KH_CHECK_EQ(rep.last_code, KH_EINVAL);
    KH_CHECK_EQ(kh_kref_read(&k), 1);
    kh_test_reports_stop();
}

KH_TEST(refcount_kref_release_exactly_once)
{
    struct kh_test_reports rep;
    kh_test_reports_start(&rep);
    struct kh_kref k;
    release_calls = 0;
    released = NULL;
    kh_kref_init(&k);
    KH_CHECK_EQ(kh_kref_read(&k), 1);
    for (int i = 0; i < 10; i++) kh_kref_get(&k);
    KH_CHECK(kh_kref_get_unless_zero(&k));
    for (int i = 0; i < 11; i++) KH_CHECK_EQ(kh_kref_put(&k, count_release), 0);
    KH_CHECK_EQ(release_calls, 0);
    KH_CHECK_EQ(kh_kref_put(&k, count_release), 1);
    KH_CHECK_EQ(release_calls, 1);
    KH_CHECK(released == &k);
    KH_CHECK_EQ(rep.count, 0);
    /* After release: no revival, and an extra put neither releases again
     * nor wraps; it saturates and is reported. */
    KH_CHECK(!kh_kref_get_unless_zero(&k));
    KH_CHECK_EQ(kh_kref_put(&k, count_release), 0);
    KH_CHECK_EQ(release_calls, 1);
    KH_CHECK_EQ(rep.count, 1);
    KH_CHECK_EQ(rep.last_code, KH_ERANGE);
    KH_CHECK_EQ(kh_kref_read(&k), SAT);
    kh_test_reports_stop();
}

#if KH_TEST_HOSTED
/* Threads get and put one shared kref; every thread then drops its own
 * reference at once. Exactly one put must release, and nobody's
 * get_unless_zero may succeed on an object that was released. */
struct obj {
    struct kh_kref ref;
    kh_atomic_t released;
    kh_atomic_t payload;
};
static kh_atomic_t obj_release_calls;
static void obj_release(struct kh_kref *k)
{
    struct obj *o = (struct obj *)(void *)((char *)k - offsetof(struct obj, ref));
    kh_atomic_inc(&obj_release_calls);
    kh_atomic_set(&o->released, 1);
}

struct rc_arg {
    struct obj *o;
    size_t iters;
    unsigned bad;
    int releases;
};

static void *rc_worker(void *p)
{
    struct rc_arg *a = p;
    for (size_t i = 0; i < a->iters; i++) {
        kh_kref_get(&a->o->ref);
        kh_atomic_inc(&a->o->payload);
        if (kh_kref_put(&a->o->ref, obj_release)) a->bad++; /* we still hold one */
        if (kh_kref_get_unless_zero(&a->o->ref)) {
            if (kh_atomic_read(&a->o->released)) a->bad++;
            a->releases += kh_kref_put(&a->o->ref, obj_release);
        }
    }
    a->releases += kh_kref_put(&a->o->ref, obj_release); /* our own reference */
    return NULL;
}

/* A late getter racing with the final put: it may win (and then owns the
 * release) or lose (and must see 0), never revive a released object. */
static void *rc_late_getter(void *p)
{
    struct rc_arg *a = p;
    for (size_t i = 0; i < a->iters; i++) {
        if (kh_kref_get_unless_zero(&a->o->ref)) {
            if (kh_atomic_read(&a->o->released)) a->bad++;
            a->releases += kh_kref_put(&a->o->ref, obj_release);
        }
        if (kh_atomic_read(&a->o->released)) break;
    }
    return NULL;
}
#endif

KH_TEST_TAGGED(refcount_threads_release_once, "hosted")
{
#if KH_TEST_HOSTED
    struct kh_test_reports rep;
    kh_test_reports_start(&rep);
    size_t rounds = kh_test_iters(200);
    for (size_t round = 0; round < rounds; round++) {
        int n = 2 + (int)(round % 7); /* 2..8 threads */
        struct obj o;
        kh_kref_init(&o.ref);
        kh_atomic_set(&o.released, 0);
        kh_atomic_set(&o.payload, 0);
        kh_atomic_set(&obj_release_calls, 0);
        for (int t = 1; t < n; t++) kh_kref_get(&o.ref); /* one reference per worker */
        struct rc_arg args[9];
        pthread_t tid[9];
        int made = 0;
        for (; made < n; made++) {
            args[made] = (struct rc_arg){&o, 200, 0, 0};
            if (pthread_create(&tid[made], NULL, rc_worker, &args[made])) break;
        }
        /* Failed creation: drop the references of threads that never ran. */
        for (int t = made; t < n; t++) kh_kref_put(&o.ref, obj_release);
        struct rc_arg late = {&o, kh_test_iters(100000), 0, 0};
        pthread_t lt;
        bool have_late = pthread_create(&lt, NULL, rc_late_getter, &late) == 0;
        for (int i = 0; i < made; i++) pthread_join(tid[i], NULL);
        if (have_late) pthread_join(lt, NULL);
        KH_ASSERT_EQ(made, n);
        int releases = late.releases;
        unsigned bad = late.bad;
        for (int i = 0; i < n; i++) {
            releases += args[i].releases;
            bad += args[i].bad;
        }
        KH_CHECK_EQ(releases, 1);
        KH_CHECK_EQ(kh_atomic_read(&obj_release_calls), 1);
        KH_CHECK_EQ(bad, 0);
        KH_CHECK_EQ(kh_atomic_read(&o.payload), n * 200);
        KH_CHECK_EQ(kh_kref_read(&o.ref), 0);
        if (kh_test_failed()) break;
    }
    KH_CHECK_EQ(rep.count, 0);
    kh_test_reports_stop();
#endif
}

#if KH_TEST_HOSTED
/* The test runner's report hook is not thread-safe; count here instead. */
static kh_atomic_t sat_reports, sat_last_code;
static void sat_hook(int code, const char *what, const void *ptr)
{
    (void)what;
    (void)ptr;
    kh_atomic_inc(&sat_reports);
    kh_atomic_set(&sat_last_code, code);
}

static kh_refcount_t sat_ref;
static void *sat_worker(void *p)
{
    size_t n = *(size_t *)p;
    for (size_t i = 0; i < n; i++) {
        kh_refcount_inc(&sat_ref);
        kh_refcount_add(&sat_ref, 2);
    }
    return NULL;
}
#endif

/* Threads racing past INT_MAX: the counter ends saturated (never wrapped to a
 * small or zero count) and the saturation is reported. */
KH_TEST_TAGGED(refcount_threads_saturate_not_wrap, "hosted")
{
#if KH_TEST_HOSTED
    kh_atomic_set(&sat_reports, 0);
    kh_error_hook_fn old = kh_set_error_hook(sat_hook);
    size_t n = kh_test_iters(20000);
    kh_refcount_set(&sat_ref, KH_REFCOUNT_MAX - 1000);
    pthread_t t[4];
    int made = 0;
    for (; made < 4; made++)
        if (pthread_create(&t[made], NULL, sat_worker, &n)) break;
    for (int i = 0; i < made; i++) pthread_join(t[i], NULL);
    KH_ASSERT_EQ(made, 4);
    KH_CHECK(kh_refcount_is_saturated(&sat_ref));
    KH_CHECK_EQ(kh_refcount_read(&sat_ref), SAT);
    KH_CHECK(!kh_refcount_dec_and_test(&sat_ref));
    kh_set_error_hook(old);
    /* Each thread that saw the crossing may report it, but at least one did. */
    KH_CHECK(kh_atomic_read(&sat_reports) >= 1);
    KH_CHECK(kh_atomic_read(&sat_reports) <= 4);
    KH_CHECK_EQ(kh_atomic_read(&sat_last_code), KH_ERANGE);
#endif
}
