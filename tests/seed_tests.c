/* SPDX-License-Identifier: MIT */
/* The seed's heap tests over any kh_allocator: see seed_tests.h. */
#include "seed_tests.h"

#include <stdint.h>

#include "kh_test.h"

static struct kh_seed_result result(bool oom, size_t done, const char *what)
{
    struct kh_seed_result r = {what == NULL, oom, done, what};
    return r;
}

struct kh_seed_result kh_seed_simple_allocation(kh_allocator a)
{
    uint64_t *x = kh_alloc(a, sizeof(*x), 0);
    if (!x) return result(true, 0, "first box: out of memory");
    *x = 41;
    uint64_t *y = kh_alloc(a, sizeof(*y), 0);
    if (!y) {
        kh_free(a, x, sizeof(*x), 0);
        return result(true, 1, "second box: out of memory");
    }
    *y = 13;
    const char *what = NULL;
    if (x == y)
        what = "both boxes at the same address";
    else if (*x != 41 || *y != 13)
        what = "boxed values changed";
    kh_free(a, y, sizeof(*y), 0);
    kh_free(a, x, sizeof(*x), 0);
    return result(false, 2, what);
}

struct kh_seed_result kh_seed_large_vec(kh_allocator a)
{
    const size_t n = 1000;
    uint64_t *v = NULL;
    size_t len = 0, cap = 0;
    const char *what = NULL;
    bool oom = false;
    for (size_t i = 0; i < n; i++) {
        if (len == cap) {
            size_t ncap = cap ? 2 * cap : 4;
            uint64_t *nv = kh_realloc_array(a, v, cap, ncap, sizeof(*v), 0, 0);
            if (!nv) {
                oom = true;
                what = "vector growth: out of memory";
                break;
            }
            v = nv;
            cap = ncap;
        }
        v[len++] = i;
    }
    if (!what) {
        uint64_t sum = 0;
        for (size_t i = 0; i < len; i++) sum += v[i];
        if (sum != (uint64_t)n * (n - 1) / 2) what = "sum of elements wrong";
    }
    if (v) kh_free(a, v, cap * sizeof(*v), 0);
    return result(oom, len, what);
}

struct kh_seed_result kh_seed_many_boxes(kh_allocator a, size_t heap_size)
{
    uint64_t *long_lived = kh_alloc(a, sizeof(*long_lived), 0);
    if (!long_lived) return result(true, 0, "long-lived box: out of memory");
    *long_lived = 1;
    uint64_t *prev = NULL;
    const char *what = NULL;
    bool oom = false;
    size_t i;
    for (i = 0; i < heap_size; i++) {
        uint64_t *x = kh_alloc(a, sizeof(*x), 0);
        if (!x) {
            oom = true;
            what = "out of memory: freed boxes are not reused";
            break;
        }
        *x = i;
        if (prev) {
            if (*prev != i - 1) {
                kh_free(a, x, sizeof(*x), 0);
                what = "previous box changed";
                break;
            }
            kh_free(a, prev, sizeof(*prev), 0);
        }
        prev = x;
    }
    if (prev) kh_free(a, prev, sizeof(*prev), 0);
    if (!what && *long_lived != 1) what = "long-lived box changed";
    kh_free(a, long_lived, sizeof(*long_lived), 0);
    return result(oom, i, what);
}

bool kh_seed_ok(const char *name, struct kh_seed_result r)
{
    if (r.ok) return true;
    kh_test_print("  seed ");
    kh_test_print(name);
    kh_test_print(": ");
    kh_test_print(r.what ? r.what : "failed");
    kh_test_print(" after ");
    kh_test_print_u(r.done);
    kh_test_print(" steps\n");
    return false;
}

void kh_seed_check_all(kh_allocator a, size_t heap_size)
{
    KH_CHECK(kh_seed_ok("simple_allocation", kh_seed_simple_allocation(a)));
    KH_CHECK(kh_seed_ok("large_vec", kh_seed_large_vec(a)));
    KH_CHECK(kh_seed_ok("many_boxes", kh_seed_many_boxes(a, heap_size)));
}
