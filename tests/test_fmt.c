/* SPDX-License-Identifier: MIT */
/* fmt: the freestanding formatter. Table tests run everywhere; the
 * differential test against the host's snprintf runs hosted only. */
#include <stdarg.h>
#include <stdint.h>
#include <string.h>

#include "kh_test.h"
#include "kheap/error.h"
#include "kheap/fmt.h"

/* Format through the va_list entry point, without compile-time format
 * checking, so tests can hand it formats the compiler would reject. */
static int vsn(char *buf, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = kh_vsnprintf(buf, n, fmt, ap);
    va_end(ap);
    return r;
}

static void expect(const char *file, int line, const char *got, int r, const char *want)
{
    size_t n = 0;
    while (want[n]) n++;
    if (r != (int)n || memcmp(got, want, n + 1) != 0) {
        kh_test_fail(file, line, "formatted output differs");
        kh_test_print("    got  \"");
        kh_test_print(got);
        kh_test_print("\"\n    want \"");
        kh_test_print(want);
        kh_test_print("\"\n");
    }
}

#define EXPECT(want, ...)                                                                          \
    do {                                                                                           \
        char b_[128];                                                                              \
        int r_ = kh_snprintf(b_, sizeof b_, __VA_ARGS__);                                          \
        expect(__FILE__, __LINE__, b_, r_, want);                                                  \
    } while (0)
/* The same without the compiler's format check, for formats it warns about
 * on purpose (flags the standard says are ignored, NULL strings). */
#define EXPECTV(want, ...)                                                                         \
    do {                                                                                           \
        char b_[128];                                                                              \
        int r_ = vsn(b_, sizeof b_, __VA_ARGS__);                                                  \
        expect(__FILE__, __LINE__, b_, r_, want);                                                  \
    } while (0)

KH_TEST(fmt_integers)
{
    EXPECT("0", "%d", 0);
    EXPECT("-1", "%d", -1);
    EXPECT("2147483647 -2147483648", "%d %d", 2147483647, (int)-2147483647 - 1);
    EXPECT("42", "%i", 42);
    EXPECT("4294967295", "%u", 4294967295u);
    EXPECT("ff FF 377", "%x %X %o", 255u, 255u, 255u);
    EXPECT("-9223372036854775808", "%lld", (long long)(-9223372036854775807ll - 1));
    EXPECT("18446744073709551615", "%llu", 18446744073709551615ull);
    EXPECT("ffffffffffffffff", "%llx", 18446744073709551615ull);
    EXPECT("1777777777777777777777", "%llo", 18446744073709551615ull);
    EXPECT("123456", "%zu", (size_t)123456);
    EXPECT("-5", "%zd", (ptrdiff_t)-5);
    EXPECT("-7 7", "%td %tu", (ptrdiff_t)-7, (ptrdiff_t)7);
    EXPECT("-3 3", "%jd %ju", (intmax_t)-3, (uintmax_t)3);
    EXPECTV("-1 255", "%hhd %hhu", 255, 255);
    EXPECTV("-1 65535", "%hd %hu", 65535, 65535);
    EXPECT("-123 123", "%ld %lu", -123l, 123ul);
}

KH_TEST(fmt_width_precision_flags)
{
    EXPECT("   42", "%5d", 42);
    EXPECT("42   |", "%-5d|", 42);
    EXPECT("00042", "%05d", 42);
    EXPECT("-0042", "%05d", -42);
    EXPECT("+42 +0", "%+d %+d", 42, 0);
    EXPECT(" 42", "% d", 42);
    EXPECTV("+42", "%+ d", 42); /* + wins over space */
    EXPECT("  042", "%5.3d", 42);
    EXPECTV("  042", "%05.3d", 42); /* 0 ignored with a precision */
    EXPECT("", "%.0d", 0);
    EXPECT("     ", "%5.0d", 0);
    EXPECT("0x1f 0X1F", "%#x %#X", 31u, 31u);
    EXPECT("0", "%#x", 0u); /* no prefix for 0 */
    EXPECT("0x001f", "%#06x", 31u);
    EXPECT("017 0", "%#o %#o", 15u, 0u);
    EXPECT("0", "%#.0o", 0u);
    EXPECT("00017", "%#.5o", 15u);
    EXPECT("   42", "%*d", 5, 42);
    EXPECT("42   |", "%*d|", -5, 42); /* negative * width: left-justify */
    EXPECT("00042", "%.*d", 5, 42);
    EXPECT("42", "%.*d", -1, 42); /* negative * precision: none */
    EXPECT("%", "%%");
    EXPECT("100%", "%d%%", 100);
}

KH_TEST(fmt_chars_strings_pointers)
{
    EXPECT("a", "%c", 'a');
    EXPECT("  a|a  |", "%3c|%-3c|", 'a', 'a');
    EXPECT("hello", "%s", "hello");
    EXPECT("hel", "%.3s", "hello");
    EXPECT("  hel", "%5.3s", "hello");
    EXPECT("hi   |", "%-5s|", "hi");
    EXPECTV("(null)", "%s", (char *)NULL);
    EXPECTV("", "%.3s", (char *)NULL);
    EXPECT("(nil)", "%p", (void *)NULL);
    EXPECT("0x1234", "%p", (void *)(uintptr_t)0x1234);
    EXPECT("  0xab|", "%6p|", (void *)(uintptr_t)0xab);
    EXPECT("0xab  |", "%-6p|", (void *)(uintptr_t)0xab);
    /* precision bounds the read: the bytes need not be NUL-terminated */
    char raw[3] = {'x', 'y', 'z'};
    EXPECT("xy", "%.2s", raw);
    EXPECT("xyz", "%.3s", raw);
    /* %c can write a NUL byte; the return value counts it */
    char b[8];
    KH_CHECK_EQ(kh_snprintf(b, sizeof b, "a%cb", 0), 3);
    KH_CHECK(b[0] == 'a' && b[1] == 0 && b[2] == 'b' && b[3] == 0);
}

KH_TEST(fmt_truncation_semantics)
{
    char b[16];
    memset(b, 'X', sizeof b);
    /* would-be length returned, output cut, always NUL-terminated */
    KH_CHECK_EQ(kh_snprintf(b, 4, "%d", 123456), 6);
    KH_CHECK(memcmp(b, "123\0XX", 6) == 0);
    memset(b, 'X', sizeof b);
    KH_CHECK_EQ(kh_snprintf(b, 1, "abc"), 3);
    KH_CHECK(b[0] == 0 && b[1] == 'X');
    memset(b, 'X', sizeof b);
    KH_CHECK_EQ(kh_snprintf(b, 0, "abc"), 3);
    KH_CHECK(b[0] == 'X');
    KH_CHECK_EQ(kh_snprintf(NULL, 0, "%s-%d", "ab", 5), 4);
    /* a huge width into a small buffer: counted, not written */
    memset(b, 'X', sizeof b);
    KH_CHECK_EQ(kh_snprintf(b, 8, "%100000000d|", 1), 100000001);
    KH_CHECK(memcmp(b, "       \0X", 9) == 0);
    KH_CHECK_EQ(kh_snprintf(b, 8, "%-*d|", 100000000, 1), 100000001);
    KH_CHECK(memcmp(b, "1      \0X", 9) == 0);
    KH_CHECK_EQ(kh_snprintf(b, sizeof b, "%.20d", 7), 20);
    KH_CHECK(memcmp(b, "000000000000000", 16) == 0);
    KH_CHECK_EQ(vsn(b, sizeof b, ""), 0);
    KH_CHECK_EQ(b[0], 0);
}

KH_TEST(fmt_bad_formats)
{
    char b[16];
    /* unsupported conversions fail with KH_EINVAL, keep what came before */
    static const char *const bad[] = {"ab%n",  "ab%f",  "ab%e",  "ab%g",   "ab%a",
                                      "ab%lc", "ab%ls", "ab%hp", "ab%1$d", "ab%",
                                      "ab%l",  "ab%q",  "ab%5",  "ab%-",   "ab%.*"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(b, 'X', sizeof b);
        int dummy = 0;
        KH_CHECK_EQ(vsn(b, sizeof b, bad[i], 1, &dummy), KH_EINVAL);
        KH_CHECK(memcmp(b, "ab\0", 3) == 0);
    }
    memset(b, 'X', sizeof b);
    KH_CHECK_EQ(vsn(b, sizeof b, NULL), KH_EINVAL);
    KH_CHECK_EQ(b[0], 0); /* still NUL-terminated */
    KH_CHECK_EQ(vsn(NULL, 5, "abc"), KH_EINVAL);
    /* widths and precisions past INT_MAX, and totals past INT_MAX */
    KH_CHECK_EQ(vsn(b, sizeof b, "%99999999999d", 1), KH_EOVERFLOW);
    KH_CHECK_EQ(vsn(b, sizeof b, "%.99999999999d", 1), KH_EOVERFLOW);
    KH_CHECK_EQ(vsn(b, sizeof b, "%*d", (int)(~0u >> 1) * -1 - 1, 1), KH_EOVERFLOW);
    KH_CHECK_EQ(vsn(b, sizeof b, "%2000000000d%2000000000d", 1, 2), KH_EOVERFLOW);
    KH_CHECK_EQ(b[sizeof b - 1], 0);
    KH_CHECK_EQ(kh_cbprintf(NULL, NULL, "x"), KH_EINVAL);
}

struct sink {
    char buf[256];
    size_t len;
    unsigned calls;
};

static void sink_put(void *ctx, const char *s, size_t n)
{
    struct sink *k = ctx;
    if (n == 0) k->calls += 1000; /* the contract: never empty chunks */
    for (size_t i = 0; i < n && k->len < sizeof(k->buf) - 1; i++) k->buf[k->len++] = s[i];
    k->buf[k->len] = 0;
    k->calls++;
}

KH_TEST(fmt_callback_sink)
{
    struct sink k;
    memset(&k, 0, sizeof k);
    int r = kh_cbprintf(sink_put, &k, "uart: %s=%#06x [%-4d] %c%%", "reg", 0x2au, 7, '!');
    KH_CHECK_EQ(r, 26);
    KH_CHECK_EQ(k.len, 26);
    KH_CHECK(memcmp(k.buf, "uart: reg=0x002a [7   ] !%", 27) == 0);
    KH_CHECK(k.calls > 0 && k.calls < 1000);
    /* a long padding arrives in chunks, all of it */
    memset(&k, 0, sizeof k);
    KH_CHECK_EQ(kh_cbprintf(sink_put, &k, "%100d", 5), 100);
    KH_CHECK_EQ(k.len, 100);
    KH_CHECK_EQ(k.buf[99], '5');
    KH_CHECK_EQ(k.buf[0], ' ');
}

#if KH_TEST_HOSTED
#include <stdio.h>

enum argt { T_INT, T_UINT, T_LONG, T_ULONG, T_LL, T_ULL, T_PD, T_SIZE, T_IM, T_UIM, T_STR, T_PTR };

/* Draw a value with a random bit length so small and huge ones both show. */
static unsigned long long rand_bits(void)
{
    unsigned bits = (unsigned)kh_test_rand_range(0, 64);
    unsigned long long v = kh_test_rand();
    if (bits < 64) v &= (1ull << bits) - 1;
    return v;
}

static const char *const strs[] = {"", "a", "hello", "with space", "0123456789abcdef!", NULL};

static void append(char *f, size_t *n, const char *s)
{
    while (*s) f[(*n)++] = *s++;
    f[*n] = 0;
}
#endif

/* Random formats and values, compared byte for byte (and return value)
 * against the C library's snprintf, with random buffer sizes. */
KH_TEST_TAGGED(fmt_differential_vs_libc, "hosted")
{
#if KH_TEST_HOSTED
    size_t iters = kh_test_iters(200000);
    char b1[512], b2[512];
    for (size_t it = 0; it < iters; it++) {
        char fmt[64];
        size_t fl = 0;
        fmt[0] = 0;
        if (kh_test_rand_range(0, 2) == 0) append(fmt, &fl, "<");
        append(fmt, &fl, "%");
        static const char *const convs = "diuxXocsp";
        char conv = convs[kh_test_rand_range(0, 8)];
        int is_int = conv != 'c' && conv != 's' && conv != 'p';
        /* flags: any for integers; only '-' elsewhere (the rest is undefined
         * or glibc-specific there) */
        static const char *const flagset = "-0+ #";
        for (int i = 0; i < 5; i++)
            if (kh_test_rand_range(0, 3) == 0 && (is_int || flagset[i] == '-')) {
                char one[2] = {flagset[i], 0};
                append(fmt, &fl, one);
            }
        int nstar = 0, s1 = 0, s2 = 0;
        unsigned wsel = (unsigned)kh_test_rand_range(0, 3);
        if (wsel == 1) {
            char w[8];
            kh_snprintf(w, sizeof w, "%u", (unsigned)kh_test_rand_range(0, 30));
            append(fmt, &fl, w);
        } else if (wsel == 2) {
            append(fmt, &fl, "*");
            s1 = (int)kh_test_rand_range(0, 60) - 30;
            nstar++;
        }
        unsigned psel = (unsigned)kh_test_rand_range(0, 4);
        if (conv == 'c' || conv == 'p') psel = 0; /* undefined / glibc-specific */
        if (psel == 1) {
            char p[8];
            kh_snprintf(p, sizeof p, ".%u", (unsigned)kh_test_rand_range(0, 25));
            append(fmt, &fl, p);
        } else if (psel == 2) {
            append(fmt, &fl, ".");
        } else if (psel == 3) {
            append(fmt, &fl, ".*");
            if (nstar)
                s2 = (int)kh_test_rand_range(0, 30) - 5;
            else
                s1 = (int)kh_test_rand_range(0, 30) - 5;
            nstar++;
        }
        enum argt t = T_INT;
        if (is_int) {
            static const char *const lens[] = {"", "hh", "h", "l", "ll", "z", "j", "t"};
            unsigned li = (unsigned)kh_test_rand_range(0, 7);
            append(fmt, &fl, lens[li]);
            int sgn = conv == 'd' || conv == 'i';
            static const enum argt st[] = {T_INT, T_INT, T_INT, T_LONG, T_LL, T_PD, T_IM, T_PD};
            static const enum argt ut[] = {T_UINT, T_UINT, T_UINT, T_ULONG,
                                           T_ULL,  T_SIZE, T_UIM,  T_PD};
            t = sgn ? st[li] : ut[li];
        } else if (conv == 's') {
            t = T_STR;
        } else if (conv == 'p') {
            t = T_PTR;
        }
        char cs[2] = {conv, 0};
        append(fmt, &fl, cs);
        if (kh_test_rand_range(0, 2) == 0) append(fmt, &fl, ">|");

        unsigned long long r = rand_bits();
        if (kh_test_rand_range(0, 1)) r = 0ull - r; /* negatives */
        const char *str = strs[kh_test_rand_range(0, 5)];
        if (!str && psel) str = "fallback"; /* NULL with a precision: glibc-specific */
        void *ptr = (void *)(uintptr_t)r;
        if (conv == 'c') r = (unsigned long long)kh_test_rand_range(32, 126);
        size_t n = (size_t)kh_test_rand_range(0, 80);
        int r1 = 0, r2 = 0;
        memset(b1, 'Z', sizeof b1);
        memset(b2, 'Z', sizeof b2);
#define DUO(...) (r1 = vsn(b1, n, fmt, __VA_ARGS__), r2 = snprintf(b2, n, fmt, __VA_ARGS__))
#define STARS(v)                                                                                   \
    do {                                                                                           \
        if (nstar == 0)                                                                            \
            DUO(v);                                                                                \
        else if (nstar == 1)                                                                       \
            DUO(s1, v);                                                                            \
        else                                                                                       \
            DUO(s1, s2, v);                                                                        \
    } while (0)
        switch (t) {
        case T_INT:
            STARS((int)r);
            break;
        case T_UINT:
            STARS((unsigned)r);
            break;
        case T_LONG:
            STARS((long)r);
            break;
        case T_ULONG:
            STARS((unsigned long)r);
            break;
        case T_LL:
            STARS((long long)r);
            break;
        case T_ULL:
            STARS((unsigned long long)r);
            break;
        case T_PD:
            STARS((ptrdiff_t)r);
            break;
        case T_SIZE:
            STARS((size_t)r);
            break;
        case T_IM:
            STARS((intmax_t)r);
            break;
        case T_UIM:
            STARS((uintmax_t)r);
            break;
        case T_STR:
            STARS(str);
            break;
        case T_PTR:
            STARS(ptr);
            break;
        }
#undef STARS
#undef DUO
        size_t cmp = n == 0 ? 0 : (size_t)r2 + 1 < n ? (size_t)r2 + 1 : n;
        if (r1 != r2 || memcmp(b1, b2, cmp + 1) != 0) {
            kh_test_fail(__FILE__, __LINE__, "kh_snprintf differs from snprintf");
            kh_test_print("    format \"");
            kh_test_print(fmt);
            kh_test_print("\" n=");
            kh_test_print_u(n);
            kh_test_print("\n    kheap: \"");
            kh_test_print(n ? b1 : "");
            kh_test_print("\"\n    libc:  \"");
            kh_test_print(n ? b2 : "");
            kh_test_print("\"\n");
            return;
        }
    }
#endif
}
