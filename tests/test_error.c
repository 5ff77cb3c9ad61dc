/* SPDX-License-Identifier: MIT */
/* The error space and the misuse hook (kheap/heap.h, kheap/error.h):
 * kh_strerror names every code of enum kh_error by its own name and nothing
 * else; the hook gets each report as made; setting the hook while other
 * threads report loses and duplicates no report (hosted; TSan runs it). */
#include "kh_test.h"

#include "kheap/error.h"

#include <string.h>

/* Every enumerator of enum kh_error, by name. A switch with no default over
 * the enum: a code added to the enum and not here is a -Wswitch warning,
 * which the -Werror builds turn into a build failure. */
#define KH_ERROR_NAME(code)                                                                        \
    case code:                                                                                     \
        return #code
static const char *enum_name(enum kh_error e)
{
    switch (e) {
        KH_ERROR_NAME(KH_OK);
        KH_ERROR_NAME(KH_ENOMEM);
        KH_ERROR_NAME(KH_EINVAL);
        KH_ERROR_NAME(KH_EOVERFLOW);
        KH_ERROR_NAME(KH_EFAULT);
        KH_ERROR_NAME(KH_EDOUBLE);
        KH_ERROR_NAME(KH_ECORRUPT);
        KH_ERROR_NAME(KH_EBUSY);
        KH_ERROR_NAME(KH_ERANGE);
        KH_ERROR_NAME(KH_ENOENT);
        KH_ERROR_NAME(KH_EHEAP_BLOCK);
        KH_ERROR_NAME(KH_EHEAP_FLAGS);
        KH_ERROR_NAME(KH_EHEAP_ADJ);
        KH_ERROR_NAME(KH_EHEAP_LIST);
        KH_ERROR_NAME(KH_EHEAP_BITMAP);
        KH_ERROR_NAME(KH_EHEAP_STATS);
    }
    return NULL;
}

/* Every int in [-1000, 1000] (the codes and far around them): an enumerator
 * gets its own name, anything else "KH_E?". */
KH_TEST(strerror_names_every_code)
{
    unsigned named = 0;
    for (int c = -1000; c <= 1000; c++) {
        /* Short enums (the Arm EABI's bare-metal default) hold only the
         * enumerators' range: a value the enum type cannot hold is none. */
        enum kh_error e = (enum kh_error)c;
        const char *want = (int)e == c ? enum_name(e) : NULL;
        const char *got = kh_strerror(c);
        KH_ASSERT(got != NULL);
        if (want) {
            named++;
            if (strcmp(got, want) != 0) {
                kh_test_print("kh_strerror(");
                kh_test_print(want);
                kh_test_print(") = ");
                kh_test_print(got);
                kh_test_print("\n");
                KH_CHECK(strcmp(got, want) == 0);
            }
            KH_CHECK(strcmp(got, "KH_E?") != 0);
        } else if (strcmp(got, "KH_E?") != 0) {
            kh_test_print("kh_strerror names a code not in enum kh_error: ");
            kh_test_print(got);
            kh_test_print("\n");
            KH_CHECK(strcmp(got, "KH_E?") == 0);
        }
    }
    KH_CHECK_EQ(named, 16); /* the enumerators listed above */
    /* The far ends of int. */
    KH_CHECK(strcmp(kh_strerror(-__INT_MAX__ - 1), "KH_E?") == 0);
    KH_CHECK(strcmp(kh_strerror(__INT_MAX__), "KH_E?") == 0);
}

/* The kheap_check codes are kinds of corruption, below the general codes. */
KH_TEST(error_heap_check_codes_are_distinct)
{
    static const int heap_codes[] = {KH_EHEAP_BLOCK, KH_EHEAP_FLAGS,  KH_EHEAP_ADJ,
                                     KH_EHEAP_LIST,  KH_EHEAP_BITMAP, KH_EHEAP_STATS};
    for (size_t i = 0; i < sizeof heap_codes / sizeof heap_codes[0]; i++) {
        KH_CHECK(heap_codes[i] < KH_ENOENT);
        for (size_t j = 0; j < i; j++) KH_CHECK(heap_codes[i] != heap_codes[j]);
        KH_CHECK(strncmp(kh_strerror(heap_codes[i]), "KH_EHEAP_", 9) == 0);
    }
}

static struct {
    unsigned calls;
    int code;
    const char *what;
    const void *ptr;
} seen;

static void record_hook(int code, const char *what, const void *ptr)
{
    seen.calls++;
    seen.code = code;
    seen.what = what;
    seen.ptr = ptr;
}

static void other_hook(int code, const char *what, const void *ptr)
{
    (void)code;
    (void)what;
    (void)ptr;
}

KH_TEST(error_hook_gets_each_report)
{
    kh_error_hook_fn before = kh_set_error_hook(record_hook);
    memset(&seen, 0, sizeof seen);
    static const char what[] = "test report";
    int obj;
    kh_report(KH_EDOUBLE, what, &obj);
    KH_CHECK_EQ(seen.calls, 1);
    KH_CHECK_EQ(seen.code, KH_EDOUBLE);
    KH_CHECK(seen.what == what);
    KH_CHECK(seen.ptr == &obj);
    kh_report(KH_EINVAL, what, NULL);
    KH_CHECK_EQ(seen.calls, 2);
    KH_CHECK(seen.ptr == NULL);
    /* Setting returns the previous hook; NULL restores the default, which
     * ignores reports. */
    KH_CHECK(kh_set_error_hook(other_hook) == record_hook);
    kh_report(KH_EINVAL, what, NULL);
    KH_CHECK_EQ(seen.calls, 2);
    KH_CHECK(kh_set_error_hook(NULL) == other_hook);
    kh_report(KH_EINVAL, what, NULL);
    KH_CHECK_EQ(seen.calls, 2);
    KH_CHECK(kh_set_error_hook(before) == NULL);
}

#if KH_TEST_HOSTED
#include <pthread.h>
#include <sched.h>

#define ERROR_REPORTERS 3

static int race_marker;
static unsigned long race_a, race_b, race_bad;

static void race_hook_a(int code, const char *what, const void *ptr)
{
    if (code != KH_EINVAL || ptr != &race_marker || strcmp(what, "race") != 0)
        __atomic_fetch_add(&race_bad, 1, __ATOMIC_RELAXED);
    __atomic_fetch_add(&race_a, 1, __ATOMIC_RELAXED);
}

static void race_hook_b(int code, const char *what, const void *ptr)
{
    if (code != KH_EINVAL || ptr != &race_marker || strcmp(what, "race") != 0)
        __atomic_fetch_add(&race_bad, 1, __ATOMIC_RELAXED);
    __atomic_fetch_add(&race_b, 1, __ATOMIC_RELAXED);
}

static size_t race_reports;
static int race_go, race_done;

static void *race_reporter(void *arg)
{
    (void)arg;
    while (!__atomic_load_n(&race_go, __ATOMIC_ACQUIRE)) {
    }
    /* Yield now and then so reports and swaps interleave even on a busy
     * machine with fewer CPUs than threads. */
    for (size_t i = 0; i < race_reports; i++) {
        kh_report(KH_EINVAL, "race", &race_marker);
        if ((i & 255) == 0) sched_yield();
    }
    __atomic_fetch_add(&race_done, 1, __ATOMIC_RELEASE);
    return NULL;
}
#endif

/* Reporters and a setter at once: every report reaches exactly one of the
 * two hooks, with its arguments intact, and each set returns the hook the
 * setter installed before (no torn or lost update). */
KH_TEST_TAGGED(error_hook_set_while_others_report, "threads hosted")
{
#if KH_TEST_HOSTED
    race_reports = kh_test_iters(100000);
    race_a = race_b = race_bad = 0;
    race_go = race_done = 0;
    kh_error_hook_fn before = kh_set_error_hook(race_hook_a);
    pthread_t t[ERROR_REPORTERS];
    int started = 0;
    for (int i = 0; i < ERROR_REPORTERS; i++)
        if (pthread_create(&t[i], NULL, race_reporter, NULL) == 0) started++;
    KH_CHECK_EQ(started, ERROR_REPORTERS);
    __atomic_store_n(&race_go, 1, __ATOMIC_RELEASE);
    kh_error_hook_fn cur = race_hook_a;
    unsigned long wrong_old = 0, swaps = 0;
    /* Swap until the reporters are done, and at least a few thousand times. */
    while (__atomic_load_n(&race_done, __ATOMIC_ACQUIRE) < started || swaps < 2000) {
        kh_error_hook_fn next = cur == race_hook_a ? race_hook_b : race_hook_a;
        if (kh_set_error_hook(next) != cur) wrong_old++;
        cur = next;
        if ((++swaps & 63) == 0) sched_yield();
    }
    for (int i = 0; i < started; i++) pthread_join(t[i], NULL);
    KH_CHECK(kh_set_error_hook(before) == cur);
    KH_CHECK_EQ(wrong_old, 0);
    KH_CHECK_EQ(race_bad, 0);
    KH_CHECK_EQ(race_a + race_b, (unsigned long)started * race_reports);
#endif
}
