/* SPDX-License-Identifier: MIT */
/* The test runner core: no libc beyond the compiler's freestanding set. */
#include "kh_test.h"

#include "kheap/error.h"

/* In an AddressSanitizer build the core heap poisons the memory it manages;
 * tests leave heaps behind, so the arena is handed out unpoisoned. */
#if defined(__SANITIZE_ADDRESS__)
#define KH_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define KH_TEST_ASAN 1
#endif
#endif
#ifdef KH_TEST_ASAN
#include <sanitizer/asan_interface.h>
#endif

#ifndef KH_TEST_ARENA_BYTES
#define KH_TEST_ARENA_BYTES (64u << 20)
#endif

static _Alignas(64) unsigned char test_arena[KH_TEST_ARENA_BYTES];
static bool cur_failed;
static unsigned cur_fail_lines;
static const char *cur_name;
static uint64_t rng_state;
static unsigned scale_div = 1;

void *kh_test_arena(size_t *bytes)
{
    *bytes = sizeof(test_arena);
#ifdef KH_TEST_ASAN
    __asan_unpoison_memory_region(test_arena, sizeof(test_arena));
#endif
    return test_arena;
}

static size_t str_len(const char *s)
{
    size_t n = 0;
    while (s[n]) n++;
    return n;
}

void kh_test_print(const char *s)
{
    kh_test_port_write(s, str_len(s));
}

static void print_base(unsigned long long v, unsigned base)
{
    char buf[24];
    int i = (int)sizeof(buf);
    buf[--i] = 0;
    do {
        buf[--i] = "0123456789abcdef"[v % base];
        v /= base;
    } while (v);
    kh_test_print(buf + i);
}

void kh_test_print_u(unsigned long long v)
{
    print_base(v, 10);
}
void kh_test_print_x(unsigned long long v)
{
    kh_test_print("0x");
    print_base(v, 16);
}

static void fail_head(const char *file, int line)
{
    cur_failed = true;
    kh_test_print("  ");
    kh_test_print(cur_name);
    kh_test_print(": ");
    kh_test_print(file);
    kh_test_print(":");
    kh_test_print_u((unsigned long long)line);
    kh_test_print(": ");
}

void kh_test_fail(const char *file, int line, const char *expr)
{
    if (cur_fail_lines++ >= 10) {
        cur_failed = true;
        return;
    }
    fail_head(file, line);
    kh_test_print("check failed: ");
    kh_test_print(expr);
    kh_test_print("\n");
}

void kh_test_fail_eq(const char *file, int line, const char *expr, unsigned long long a,
                     unsigned long long b)
{
    if (cur_fail_lines++ >= 10) {
        cur_failed = true;
        return;
    }
    fail_head(file, line);
    kh_test_print("check failed: ");
    kh_test_print(expr);
    kh_test_print(" (");
    kh_test_print_u(a);
    kh_test_print(" vs ");
    kh_test_print_u(b);
    kh_test_print(")\n");
}

bool kh_test_failed(void)
{
    return cur_failed;
}

void kh_test_srand(uint64_t seed)
{
    rng_state = seed;
}

uint64_t kh_test_rand(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

uint64_t kh_test_rand_range(uint64_t lo, uint64_t hi)
{
    uint64_t span = hi - lo + 1;
    return span ? lo + kh_test_rand() % span : kh_test_rand();
}

size_t kh_test_iters(size_t n)
{
    size_t r = n / scale_div;
    return r ? r : 1;
}

static struct kh_test_reports *reports;

static void report_hook(int code, const char *what, const void *ptr)
{
    (void)what;
    if (!reports) return;
    reports->count++;
    reports->last_code = code;
    reports->last_ptr = ptr;
}

void kh_test_reports_start(struct kh_test_reports *r)
{
    r->count = 0;
    r->last_code = 0;
    r->last_ptr = 0;
    reports = r;
    kh_set_error_hook(report_hook);
}

void kh_test_reports_stop(void)
{
    reports = 0;
    kh_set_error_hook(0);
}

static bool contains(const char *hay, const char *needle)
{
    size_t n = str_len(needle);
    for (; *hay; hay++) {
        size_t i = 0;
        while (i < n && hay[i] == needle[i]) i++;
        if (i == n) return true;
    }
    return n == 0;
}

static uint64_t name_seed(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    while (*s) h = (h ^ (unsigned char)*s++) * 1099511628211ull;
    return h;
}

/* True when the space-separated list has the word tag. */
static bool has_tag(const char *tags, const char *tag)
{
    size_t n = str_len(tag);
    while (*tags) {
        while (*tags == ' ') tags++;
        size_t i = 0;
        while (tags[i] && tags[i] != ' ') i++;
        if (i == n && n) {
            size_t k = 0;
            while (k < n && tags[k] == tag[k]) k++;
            if (k == n) return true;
        }
        tags += i;
    }
    return false;
}

/* A filter matches by name, or by tag when it starts with '@'. */
static bool filter_matches(const struct kh_test_case *t, const char *f)
{
    return f[0] == '@' ? has_tag(t->tags, f + 1) : contains(t->name, f);
}

int kh_test_run(int nfilters, const char *const *filters, uint64_t seed, unsigned scale)
{
    unsigned passed = 0, failed = 0;
    scale_div = scale ? scale : 1;
    for (size_t i = 0; i < kh_tests_count; i++) {
        const struct kh_test_case *t = &kh_tests[i];
        /* Plain filters select (any match); "-" filters exclude. */
        bool selected = true, any_plain = false, matched = false;
        for (int f = 0; f < nfilters; f++) {
            if (filters[f][0] == '-') {
                if (filter_matches(t, filters[f] + 1)) selected = false;
            } else {
                any_plain = true;
                matched = matched || filter_matches(t, filters[f]);
            }
        }
        if (!selected || (any_plain && !matched)) continue;
        cur_name = t->name;
        cur_failed = false;
        cur_fail_lines = 0;
        kh_test_srand(seed ? seed : name_seed(t->name));
        t->fn();
        kh_test_reports_stop();
        if (cur_failed) {
            failed++;
            kh_test_print("FAIL ");
        } else {
            passed++;
            kh_test_print("ok   ");
        }
        kh_test_print(t->name);
        kh_test_print("\n");
    }
    kh_test_print_u(passed);
    kh_test_print(" passed, ");
    kh_test_print_u(failed);
    kh_test_print(" failed\n");
    return (int)failed;
}
