/* SPDX-License-Identifier: MIT */
/* kheap fmt: freestanding printf-style formatter. */
#include "kheap/fmt.h"

#include <stdbool.h>
#include <stdint.h>
#include "../internal/kh_string.h"

#include "kheap/error.h"

/* FMT_INT_MAX without <limits.h>, which some freestanding setups lack. */
#define FMT_INT_MAX ((int)(~0u >> 1))

/* Output state. Bytes past `limit` are counted but not sent, so a snprintf
 * into a small buffer with a huge width costs O(buffer), not O(width). */
struct out {
    kh_put_fn put;
    void *ctx;
    size_t count; /* would-be length so far, saturating */
    size_t limit; /* bytes the sink accepts */
};

static void count_add(struct out *o, size_t n)
{
    o->count = n > SIZE_MAX - o->count ? SIZE_MAX : o->count + n;
}

static void emit(struct out *o, const char *s, size_t n)
{
    if (o->count < o->limit && n) {
        size_t k = o->limit - o->count;
        if (k > n) k = n;
        o->put(o->ctx, s, k);
    }
    count_add(o, n);
}

static void pad(struct out *o, char c, size_t n)
{
    static const char spaces[] = "                                ";
    static const char zeros[] = "00000000000000000000000000000000";
    const char *src = c == '0' ? zeros : spaces;
    while (n && o->count < o->limit) {
        size_t k = n < sizeof(spaces) - 1 ? n : sizeof(spaces) - 1;
        emit(o, src, k);
        n -= k;
    }
    count_add(o, n);
}

enum {
    F_MINUS = 1,
    F_ZERO = 2,
    F_PLUS = 4,
    F_SPACE = 8,
    F_HASH = 16,
};

enum len_mod { L_NONE, L_HH, L_H, L_L, L_LL, L_Z, L_J, L_T };

struct spec {
    unsigned flags;
    size_t width;
    int prec; /* -1: none */
};

/* Pad to the width around a body of `len` bytes (prefix + zeros + digits for
 * numbers): the three layouts of C99 7.19.6.1. */
static void put_number(struct out *o, const struct spec *sp, const char *prefix, size_t plen,
                       size_t zeros, const char *digits, size_t ndig)
{
    size_t body = plen + zeros + ndig;
    size_t fill = sp->width > body ? sp->width - body : 0;
    if (sp->flags & F_MINUS) {
        emit(o, prefix, plen);
        pad(o, '0', zeros);
        emit(o, digits, ndig);
        pad(o, ' ', fill);
    } else if ((sp->flags & F_ZERO) && sp->prec < 0) {
        emit(o, prefix, plen);
        pad(o, '0', fill + zeros);
        emit(o, digits, ndig);
    } else {
        pad(o, ' ', fill);
        emit(o, prefix, plen);
        pad(o, '0', zeros);
        emit(o, digits, ndig);
    }
}

static void fmt_integer(struct out *o, const struct spec *sp, char conv, unsigned long long u,
                        bool neg)
{
    char buf[24]; /* 64-bit octal is 22 digits */
    size_t ndig = 0;
    unsigned base = conv == 'o' ? 8 : (conv == 'x' || conv == 'X' || conv == 'p') ? 16 : 10;
    const char *xd = conv == 'X' ? "0123456789ABCDEF" : "0123456789abcdef";
    /* .0 with value 0 prints no digits at all. */
    if (!(u == 0 && sp->prec == 0)) {
        do {
            buf[sizeof(buf) - 1 - ndig++] = xd[u % base];
            u /= base;
        } while (u);
    }
    const char *digits = buf + sizeof(buf) - ndig;
    size_t zeros = sp->prec > 0 && (size_t)sp->prec > ndig ? (size_t)sp->prec - ndig : 0;
    char prefix[2];
    size_t plen = 0;
    if (conv == 'd' || conv == 'i') {
        if (neg)
            prefix[plen++] = '-';
        else if (sp->flags & F_PLUS)
            prefix[plen++] = '+';
        else if (sp->flags & F_SPACE)
            prefix[plen++] = ' ';
    } else if (conv == 'o') {
        /* '#' raises the precision so the first digit is 0. */
        if ((sp->flags & F_HASH) && zeros == 0 && (ndig == 0 || digits[0] != '0')) zeros = 1;
    } else if ((conv == 'x' || conv == 'X' || conv == 'p') && (sp->flags & F_HASH) && ndig &&
               !(ndig == 1 && digits[0] == '0')) {
        prefix[plen++] = '0';
        prefix[plen++] = conv == 'X' ? 'X' : 'x';
    }
    put_number(o, sp, prefix, plen, zeros, digits, ndig);
}

static void fmt_bytes(struct out *o, const struct spec *sp, const char *s, size_t n)
{
    size_t fill = sp->width > n ? sp->width - n : 0;
    if (!(sp->flags & F_MINUS)) pad(o, ' ', fill);
    emit(o, s, n);
    if (sp->flags & F_MINUS) pad(o, ' ', fill);
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Parse a decimal field; false when it exceeds FMT_INT_MAX. */
static bool parse_num(const char **pp, size_t *out)
{
    const char *p = *pp;
    size_t v = 0;
    while (is_digit(*p)) {
        size_t d = (size_t)(*p++ - '0');
        /* Check before multiplying: v * 10 wraps a 32-bit size_t. */
        if (v > ((size_t)FMT_INT_MAX - d) / 10) return false;
        v = v * 10 + d;
    }
    *pp = p;
    *out = v;
    return true;
}

static int format(struct out *o, const char *fmt, va_list *ap)
{
    const char *p = fmt;
    while (*p) {
        if (o->count > FMT_INT_MAX) return KH_EOVERFLOW;
        if (*p != '%') {
            const char *q = p;
            while (*q && *q != '%') q++;
            emit(o, p, (size_t)(q - p));
            p = q;
            continue;
        }
        p++;
        if (*p == '%') {
            emit(o, "%", 1);
            p++;
            continue;
        }
        struct spec sp = {0, 0, -1};
        for (;; p++) {
            unsigned f = *p == '-'   ? F_MINUS
                         : *p == '0' ? F_ZERO
                         : *p == '+' ? F_PLUS
                         : *p == ' ' ? F_SPACE
                         : *p == '#' ? F_HASH
                                     : 0;
            if (!f) break;
            sp.flags |= f;
        }
        if (*p == '*') {
            int w = va_arg(*ap, int);
            p++;
            if (w < 0) {
                sp.flags |= F_MINUS;
                /* -INT_MIN does not fit an int; it is too wide anyway. */
                if (w < -FMT_INT_MAX) return KH_EOVERFLOW;
                w = -w;
            }
            sp.width = (size_t)w;
        } else if (!parse_num(&p, &sp.width)) {
            return KH_EOVERFLOW;
        }
        if (*p == '.') {
            p++;
            if (*p == '*') {
                int pr = va_arg(*ap, int);
                p++;
                sp.prec = pr < 0 ? -1 : pr;
            } else {
                size_t pr;
                if (!parse_num(&p, &pr)) return KH_EOVERFLOW;
                sp.prec = (int)pr;
            }
        }
        enum len_mod len = L_NONE;
        switch (*p) {
        case 'h':
            p++;
            len = L_H;
            if (*p == 'h') p++, len = L_HH;
            break;
        case 'l':
            p++;
            len = L_L;
            if (*p == 'l') p++, len = L_LL;
            break;
        case 'z':
            p++, len = L_Z;
            break;
        case 'j':
            p++, len = L_J;
            break;
        case 't':
            p++, len = L_T;
            break;
        default:
            break;
        }
        char conv = *p;
        if (conv == '\0') return KH_EINVAL;
        p++;
        switch (conv) {
        case 'd':
        case 'i': {
            long long v;
            switch (len) {
            case L_HH:
                v = (signed char)va_arg(*ap, int);
                break;
            case L_H:
                v = (short)va_arg(*ap, int);
                break;
            case L_L:
                v = va_arg(*ap, long);
                break;
            case L_LL:
                v = va_arg(*ap, long long);
                break;
            case L_Z:
            case L_T:
                v = va_arg(*ap, ptrdiff_t);
                break;
            case L_J:
                v = (long long)va_arg(*ap, intmax_t);
                break;
            default:
                v = va_arg(*ap, int);
                break;
            }
            unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
            fmt_integer(o, &sp, conv, u, v < 0);
            break;
        }
        case 'u':
        case 'x':
        case 'X':
        case 'o': {
            unsigned long long u;
            switch (len) {
            case L_HH:
                u = (unsigned char)va_arg(*ap, unsigned);
                break;
            case L_H:
                u = (unsigned short)va_arg(*ap, unsigned);
                break;
            case L_L:
                u = va_arg(*ap, unsigned long);
                break;
            case L_LL:
                u = va_arg(*ap, unsigned long long);
                break;
            case L_Z:
                u = va_arg(*ap, size_t);
                break;
            case L_T:
                u = (size_t)va_arg(*ap, ptrdiff_t);
                break;
            case L_J:
                u = (unsigned long long)va_arg(*ap, uintmax_t);
                break;
            default:
                u = va_arg(*ap, unsigned);
                break;
            }
            fmt_integer(o, &sp, conv, u, false);
            break;
        }
        case 'c': {
            if (len != L_NONE) return KH_EINVAL;
            char c = (char)va_arg(*ap, int);
            fmt_bytes(o, &sp, &c, 1);
            break;
        }
        case 's': {
            if (len != L_NONE) return KH_EINVAL;
            const char *s = va_arg(*ap, const char *);
            if (!s) s = sp.prec < 0 || sp.prec >= 6 ? "(null)" : "";
            /* Never read past the precision: s need not be NUL-terminated. */
            size_t n = 0;
            size_t max = sp.prec < 0 ? SIZE_MAX : (size_t)sp.prec;
            while (n < max && s[n]) n++;
            fmt_bytes(o, &sp, s, n);
            break;
        }
        case 'p': {
            if (len != L_NONE) return KH_EINVAL;
            const void *ptr = va_arg(*ap, const void *);
            if (!ptr) {
                fmt_bytes(o, &sp, "(nil)", 5);
            } else {
                sp.flags = (sp.flags | F_HASH) & ~(unsigned)(F_PLUS | F_SPACE);
                fmt_integer(o, &sp, 'p', (unsigned long long)(uintptr_t)ptr, false);
            }
            break;
        }
        default:
            return KH_EINVAL; /* %n, floating point, unknown */
        }
    }
    if (o->count > FMT_INT_MAX) return KH_EOVERFLOW;
    return (int)o->count;
}

int kh_vcbprintf(kh_put_fn put, void *ctx, const char *fmt, va_list ap)
{
    if (!put || !fmt) return KH_EINVAL;
    struct out o = {put, ctx, 0, SIZE_MAX};
    va_list cp;
    va_copy(cp, ap);
    int r = format(&o, fmt, &cp);
    va_end(cp);
    return r;
}

int kh_cbprintf(kh_put_fn put, void *ctx, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = kh_vcbprintf(put, ctx, fmt, ap);
    va_end(ap);
    return r;
}

struct bufsink {
    char *buf;
    size_t pos;
};

static void buf_put(void *ctx, const char *s, size_t n)
{
    struct bufsink *b = ctx;
    memcpy(b->buf + b->pos, s, n);
    b->pos += n;
}

int kh_vsnprintf(char *buf, size_t n, const char *fmt, va_list ap)
{
    if (!buf && n) return KH_EINVAL;
    if (!fmt) {
        if (n) buf[0] = '\0';
        return KH_EINVAL;
    }
    struct bufsink b = {buf, 0};
    struct out o = {buf_put, &b, 0, n ? n - 1 : 0};
    va_list cp;
    va_copy(cp, ap);
    int r = format(&o, fmt, &cp);
    va_end(cp);
    if (n) buf[b.pos] = '\0';
    return r;
}

int kh_snprintf(char *buf, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = kh_vsnprintf(buf, n, fmt, ap);
    va_end(ap);
    return r;
}
