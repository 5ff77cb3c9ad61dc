/* SPDX-License-Identifier: MIT */
/* str: unit tests, differential test against a plain char array, fault
 * injection on every allocation. */
#include <stdarg.h>
#include <stdint.h>
#include <string.h>

#include "coll_env.h"
#include "kh_test.h"
#include "kheap/error.h"
#include "kheap/heap.h"
#include "kheap/str.h"

/* s holds exactly the n bytes at ref, NUL after them. */
static int str_is(const struct kh_str *s, const char *ref, size_t n)
{
    return kh_str_len(s) == n && memcmp(kh_str_cstr(s), ref, n) == 0 && kh_str_cstr(s)[n] == 0;
}

/* printf without the compiler's format check (bad formats on purpose). */
static int sprintf_unchecked(struct kh_str *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = kh_str_vprintf(s, fmt, ap);
    va_end(ap);
    return r;
}

static int appendf_unchecked(struct kh_str *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = kh_str_vappendf(s, fmt, ap);
    va_end(ap);
    return r;
}

KH_TEST(str_basic_ops)
{
    struct coll_env e;
    KH_ASSERT(coll_env_init(&e, 1 << 20) == 0);
    struct kh_str s;
    KH_ASSERT_EQ(kh_str_init(&s, e.a), 0);
    KH_CHECK_EQ(kh_str_len(&s), 0);
    KH_CHECK(kh_str_cstr(&s)[0] == 0); /* valid C string before any allocation */
    KH_CHECK_EQ(e.f.live_blocks, 0);
    KH_CHECK_EQ(kh_str_check(&s), 0);
    KH_CHECK_EQ(kh_str_append(&s, "hello"), 0);
    KH_CHECK_EQ(kh_str_push(&s, ' '), 0);
    KH_CHECK_EQ(kh_str_append_n(&s, "world!!!", 5), 0);
    KH_CHECK(kh_str_eq(&s, "hello world"));
    KH_CHECK_EQ(kh_str_insert(&s, 5, ","), 0);
    KH_CHECK_EQ(kh_str_insert(&s, 0, ">> "), 0);
    KH_CHECK_EQ(kh_str_insert(&s, kh_str_len(&s), "."), 0);
    KH_CHECK(kh_str_eq(&s, ">> hello, world."));
    KH_CHECK(!kh_str_eq(&s, ">> hello, world"));
    KH_CHECK_EQ(kh_str_insert_n(&s, 3, "", 0), 0);
    KH_CHECK(kh_str_eq(&s, ">> hello, world."));
    kh_str_truncate(&s, 8);
    KH_CHECK(kh_str_eq(&s, ">> hello"));
    kh_str_truncate(&s, 100);
    KH_CHECK(kh_str_eq(&s, ">> hello"));
    /* embedded NUL bytes are bytes */
    KH_CHECK_EQ(kh_str_push(&s, 0), 0);
    KH_CHECK_EQ(kh_str_push(&s, 'x'), 0);
    KH_CHECK(str_is(&s, ">> hello\0x", 10));
    KH_CHECK_EQ(kh_str_check(&s), 0);
    size_t cap = kh_str_capacity(&s);
    kh_str_clear(&s);
    KH_CHECK(kh_str_eq(&s, ""));
    KH_CHECK_EQ(kh_str_capacity(&s), cap);
    KH_CHECK_EQ(kh_str_reserve(&s, 1000), 0);
    KH_CHECK(kh_str_capacity(&s) >= 1001);
    KH_CHECK_EQ(kh_str_append(&s, "abc"), 0);
    KH_CHECK_EQ(kh_str_shrink_to_fit(&s), 0);
    KH_CHECK_EQ(kh_str_capacity(&s), 4);
    KH_CHECK_EQ(e.f.live_bytes, 4);
    KH_CHECK(kh_str_eq(&s, "abc"));
    kh_str_clear(&s);
    KH_CHECK_EQ(kh_str_shrink_to_fit(&s), 0);
    KH_CHECK_EQ(e.f.live_blocks, 0);
    KH_CHECK_EQ(kh_str_check(&s), 0);
    kh_str_destroy(&s);
    coll_env_no_leak(&e);
}

/* Appending or inserting a string's own bytes works even when the call
 * moves the buffer. */
KH_TEST(str_self_referencing_sources)
{
    struct coll_env e;
    KH_ASSERT(coll_env_init(&e, 1 << 20) == 0);
    struct kh_str s;
    KH_ASSERT_EQ(kh_str_init(&s, e.a), 0);
    KH_ASSERT_EQ(kh_str_append(&s, "ab"), 0);
    for (int i = 0; i < 10; i++) KH_ASSERT_EQ(kh_str_append(&s, kh_str_cstr(&s)), 0);
    KH_CHECK_EQ(kh_str_len(&s), 2048);
    for (size_t i = 0; i < 2048; i++) KH_ASSERT_EQ(kh_str_cstr(&s)[i], i % 2 ? 'b' : 'a');
    KH_ASSERT_EQ(kh_str_printf(&s, "0123456789"), 0);
    KH_ASSERT_EQ(kh_str_shrink_to_fit(&s), 0);
    /* source before, after and straddling the insertion point */
    KH_ASSERT_EQ(kh_str_insert_n(&s, 5, kh_str_cstr(&s) + 1, 2), 0);
    KH_CHECK(kh_str_eq(&s, "012341256789"));
    KH_ASSERT_EQ(kh_str_insert_n(&s, 1, kh_str_cstr(&s) + 9, 3), 0);
    KH_CHECK(kh_str_eq(&s, "078912341256789"));
    KH_ASSERT_EQ(kh_str_insert_n(&s, 4, kh_str_cstr(&s) + 2, 4), 0); /* "8912" across 4 */
    KH_CHECK(kh_str_eq(&s, "0789891212341256789"));
    KH_CHECK_EQ(kh_str_check(&s), 0);
    kh_str_destroy(&s);
    coll_env_no_leak(&e);
}

KH_TEST(str_format)
{
    struct coll_env e;
    KH_ASSERT(coll_env_init(&e, 1 << 20) == 0);
    struct kh_str s;
    KH_ASSERT_EQ(kh_str_init(&s, e.a), 0);
    KH_CHECK_EQ(kh_str_appendf(&s, "%d-%s", 42, "x"), 0);
    KH_CHECK(kh_str_eq(&s, "42-x"));
    KH_CHECK_EQ(kh_str_appendf(&s, "|%5.2x|%-3c|", 0xabu, 'q'), 0);
    KH_CHECK(kh_str_eq(&s, "42-x|   ab|q  |"));
    KH_CHECK_EQ(kh_str_printf(&s, "%zu items", (size_t)3), 0);
    KH_CHECK(kh_str_eq(&s, "3 items"));
    /* growth through formatting: a long line in one go, then many small */
    KH_CHECK_EQ(kh_str_printf(&s, "%300d", 1), 0);
    KH_CHECK_EQ(kh_str_len(&s), 300);
    KH_CHECK_EQ(kh_str_cstr(&s)[299], '1');
    kh_str_clear(&s);
    for (int i = 0; i < 1000; i++) KH_ASSERT_EQ(kh_str_appendf(&s, "%d,", i % 10), 0);
    KH_CHECK_EQ(kh_str_len(&s), 2000);
    KH_CHECK_EQ(kh_str_cstr(&s)[1998], '9');
    KH_CHECK_EQ(kh_str_check(&s), 0);
    /* an empty format on an empty string */
    struct kh_str t;
    KH_ASSERT_EQ(kh_str_init(&t, e.a), 0);
    KH_CHECK_EQ(appendf_unchecked(&t, ""), 0);
    KH_CHECK_EQ(kh_str_check(&t), 0);
    KH_CHECK_EQ(sprintf_unchecked(&t, ""), 0);
    KH_CHECK(kh_str_eq(&t, ""));
    kh_str_destroy(&t);
    kh_str_destroy(&s);
    coll_env_no_leak(&e);
}

KH_TEST(str_bad_input)
{
    struct coll_env e;
    KH_ASSERT(coll_env_init(&e, 1 << 20) == 0);
    struct kh_str s;
    kh_allocator none = {NULL, NULL};
    KH_CHECK_EQ(kh_str_init(NULL, e.a), KH_EINVAL);
    KH_CHECK_EQ(kh_str_init(&s, none), KH_EINVAL);
    KH_CHECK_EQ(kh_str_append(&s, "x"), KH_EINVAL); /* failed init: still unusable */
    KH_CHECK_EQ(kh_str_check(&s), KH_ECORRUPT);
    kh_str_destroy(&s);
    KH_CHECK_EQ(kh_str_append(NULL, "x"), KH_EINVAL);
    KH_CHECK(kh_str_cstr(NULL)[0] == 0);

    KH_ASSERT_EQ(kh_str_init(&s, e.a), 0);
    KH_ASSERT_EQ(kh_str_append(&s, "keep"), 0);
    const char *data = kh_str_cstr(&s);
    size_t cap = kh_str_capacity(&s);
    KH_CHECK_EQ(kh_str_append(&s, NULL), KH_EINVAL);
    KH_CHECK_EQ(kh_str_append_n(&s, NULL, 3), KH_EINVAL);
    KH_CHECK_EQ(kh_str_append_n(&s, NULL, 0), 0);
    KH_CHECK_EQ(kh_str_insert(&s, 5, "x"), KH_EINVAL);
    KH_CHECK_EQ(kh_str_insert(&s, 0, NULL), KH_EINVAL);
    KH_CHECK_EQ(kh_str_reserve(&s, SIZE_MAX), KH_EOVERFLOW);
    KH_CHECK_EQ(kh_str_reserve(&s, SIZE_MAX - 4), KH_EOVERFLOW);
    KH_CHECK_EQ(kh_str_reserve(&s, SIZE_MAX / 2), KH_ENOMEM);
    KH_CHECK_EQ(appendf_unchecked(&s, "%d%n", 1, (int *)NULL), KH_EINVAL);
    KH_CHECK_EQ(sprintf_unchecked(&s, "%f", 1.0), KH_EINVAL);
    KH_CHECK_EQ(appendf_unchecked(&s, NULL), KH_EINVAL);
    KH_CHECK_EQ(sprintf_unchecked(&s, "%2000000000d%2000000000d", 1, 2), KH_EOVERFLOW);
    KH_CHECK(kh_str_eq(&s, "keep"));
    KH_CHECK(kh_str_cstr(&s) == data);
    KH_CHECK_EQ(kh_str_capacity(&s), cap);
    KH_CHECK_EQ(kh_str_check(&s), 0);
    /* check() notices a missing terminator */
    s.data[s.len] = 'x';
    KH_CHECK_EQ(kh_str_check(&s), KH_ECORRUPT);
    s.data[s.len] = 0;
    kh_str_destroy(&s);

    /* the failing allocator: ENOMEM, nothing changes */
    KH_ASSERT_EQ(kh_str_init(&s, kh_failing_allocator()), 0);
    KH_CHECK_EQ(kh_str_append(&s, "x"), KH_ENOMEM);
    KH_CHECK_EQ(kh_str_printf(&s, "%d", 5), KH_ENOMEM);
    KH_CHECK_EQ(kh_str_len(&s), 0);
    KH_CHECK_EQ(kh_str_check(&s), 0);
    kh_str_destroy(&s);
    coll_env_no_leak(&e);
}

KH_TEST(str_random_differential)
{
    struct coll_env e;
    KH_ASSERT(coll_env_init(&e, 4u << 20) == 0);
    size_t maxlen = 4000;
    if (maxlen > e.spare_bytes / 2) maxlen = e.spare_bytes / 2;
    char *ref = (char *)e.spare, *tmp = (char *)e.spare + maxlen;
    size_t n = 0;
    struct kh_str s;
    KH_ASSERT_EQ(kh_str_init(&s, e.a), 0);
    size_t iters = kh_test_iters(200000);
    for (size_t it = 0; it < iters; it++) {
        unsigned op = (unsigned)kh_test_rand_range(0, 99);
        size_t k = (size_t)kh_test_rand_range(0, 12);
        for (size_t j = 0; j < k; j++) tmp[j] = (char)kh_test_rand_range(1, 255);
        tmp[k] = 0;
        int rc = 0;
        if (n + 40 > maxlen) op = 90; /* too long: cut */
        if (op < 25) {
            rc = kh_str_append(&s, tmp);
            memcpy(ref + n, tmp, k);
            n += k;
        } else if (op < 40) {
            char c = (char)kh_test_rand_range(0, 255);
            rc = kh_str_push(&s, c);
            ref[n++] = c;
        } else if (op < 60) {
            size_t pos = (size_t)kh_test_rand_range(0, n);
            if (k <= n && kh_test_rand_range(0, 1)) {
                /* bytes from s itself, possibly straddling pos */
                size_t from = (size_t)kh_test_rand_range(0, n - k);
                memcpy(tmp, ref + from, k);
                rc = kh_str_insert_n(&s, pos, kh_str_cstr(&s) + from, k);
            } else {
                rc = kh_str_insert_n(&s, pos, tmp, k);
            }
            memmove(ref + pos + k, ref + pos, n - pos);
            memcpy(ref + pos, tmp, k);
            n += k;
        } else if (op < 75) {
            unsigned v = (unsigned)kh_test_rand();
            rc = kh_str_appendf(&s, "<%x:%5d>", v, (int)(v % 1000));
            int w = kh_snprintf(ref + n, maxlen - n, "<%x:%5d>", v, (int)(v % 1000));
            KH_ASSERT(w > 0);
            n += (size_t)w;
        } else if (op < 78) {
            rc = kh_str_printf(&s, "%s|%u", tmp, (unsigned)n);
            n = (size_t)kh_snprintf(tmp + k + 1, maxlen - k - 1, "%s|%u", tmp, (unsigned)n);
            memcpy(ref, tmp + k + 1, n);
        } else if (op < 80) {
            rc = kh_str_shrink_to_fit(&s);
            KH_ASSERT_EQ(kh_str_capacity(&s), n ? n + 1 : 0);
        } else if (op < 82) {
            kh_str_clear(&s);
            n = 0;
        } else {
            size_t t = (size_t)kh_test_rand_range(0, n + 3);
            kh_str_truncate(&s, t);
            if (t < n) n = t;
        }
        KH_ASSERT_EQ(rc, 0);
        KH_ASSERT(str_is(&s, ref, n));
        if ((it & 31) == 0) KH_ASSERT_EQ(kh_str_check(&s), 0);
    }
    kh_str_destroy(&s);
    coll_env_no_leak(&e);
}

static int str_script_step(struct kh_str *s, char *ref, size_t *n, int step)
{
    int rc;
    switch (step % 6) {
    case 0:
        rc = kh_str_append(s, "abcdefg");
        if (!rc) memcpy(ref + *n, "abcdefg", 7), *n += 7;
        return rc;
    case 1:
        rc = kh_str_push(s, (char)('A' + step % 26));
        if (!rc) ref[(*n)++] = (char)('A' + step % 26);
        return rc;
    case 2: {
        size_t pos = *n / 3;
        rc = kh_str_insert(s, pos, "[ins]");
        if (!rc) {
            memmove(ref + pos + 5, ref + pos, *n - pos);
            memcpy(ref + pos, "[ins]", 5);
            *n += 5;
        }
        return rc;
    }
    case 3:
        rc = kh_str_appendf(s, "%08d", step);
        if (!rc) *n += (size_t)kh_snprintf(ref + *n, 9, "%08d", step);
        return rc;
    case 4:
        if (step % 4 == 0) {
            /* replace everything; long enough to need a bigger block now and then */
            rc = kh_str_printf(s, "re%0*d", step * 2, step);
            if (!rc) *n = (size_t)kh_snprintf(ref, 1000, "re%0*d", step * 2, step);
            return rc;
        }
        return kh_str_shrink_to_fit(s);
    default:
        return kh_str_reserve(s, (size_t)step * 3);
    }
}

KH_TEST(str_fault_every_allocation)
{
    struct coll_env e;
    KH_ASSERT(coll_env_init(&e, 1 << 20) == 0);
    char *ref = (char *)e.spare;
    const int steps = 80;
    for (int mode = 0; mode < 2; mode++) {
        for (unsigned long long k = 1;; k++) {
            struct kh_str s;
            size_t n = 0;
            KH_ASSERT_EQ(kh_str_init(&s, e.a), 0);
            if (mode == 0)
                kh_fault_fail_nth(&e.f, k);
            else
                kh_fault_fail_after(&e.f, k - 1);
            for (int st = 0; st < steps; st++) {
                const char *before = kh_str_cstr(&s);
                size_t cap = kh_str_capacity(&s);
                int rc = str_script_step(&s, ref, &n, st);
                KH_ASSERT(rc == 0 || rc == KH_ENOMEM);
                if (rc) {
                    KH_ASSERT(kh_str_cstr(&s) == before);
                    KH_ASSERT_EQ(kh_str_capacity(&s), cap);
                }
                KH_ASSERT_EQ(kh_str_check(&s), 0);
                KH_ASSERT(str_is(&s, ref, n));
            }
            unsigned long long failures = e.f.failures;
            kh_fault_off(&e.f);
            kh_str_destroy(&s);
            coll_env_no_leak(&e);
            if (kh_test_failed()) return;
            if (failures == 0) {
                KH_CHECK(k > 10);
                break;
            }
        }
    }
}
