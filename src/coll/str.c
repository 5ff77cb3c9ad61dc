/* SPDX-License-Identifier: MIT */
/* kheap str: owned, always NUL-terminated byte string. */
#include "kheap/str.h"

#include <stdint.h>
#include "../internal/kh_string.h"

#include "kheap/error.h"

#define STR_MIN_CAP 16

/* strlen is not in the freestanding set kheap allows itself. */
static size_t cstr_len(const char *s)
{
    size_t n = 0;
    while (s[n]) n++;
    return n;
}

int kh_str_init(struct kh_str *s, kh_allocator a)
{
    if (!s) return KH_EINVAL;
    memset(s, 0, sizeof(*s));
    if (!a.ops) return KH_EINVAL;
    s->a = a;
    return 0;
}

void kh_str_destroy(struct kh_str *s)
{
    if (!s) return;
    kh_free(s->a, s->data, s->cap, 1);
    s->data = NULL;
    s->len = 0;
    s->cap = 0;
}

static int str_set_cap(struct kh_str *s, size_t cap)
{
    bool was_empty = s->data == NULL;
    char *p = kh_realloc(s->a, s->data, s->cap, cap, 1, 0);
    if (!p) return KH_ENOMEM;
    if (was_empty) p[0] = '\0';
    s->data = p;
    s->cap = cap;
    return 0;
}

/* Room for `additional` more bytes plus the NUL. */
static int str_room(struct kh_str *s, size_t additional)
{
    if (!s || !s->a.ops) return KH_EINVAL;
    if (additional >= SIZE_MAX - s->len) return KH_EOVERFLOW;
    size_t need = s->len + additional + 1;
    if (need <= s->cap) return 0;
    size_t cap = s->cap <= SIZE_MAX / 2 ? s->cap * 2 : SIZE_MAX;
    if (cap < STR_MIN_CAP) cap = STR_MIN_CAP;
    if (cap < need) cap = need;
    int rc = str_set_cap(s, cap);
    if (rc && cap != need) rc = str_set_cap(s, need);
    return rc;
}

int kh_str_reserve(struct kh_str *s, size_t additional)
{
    return str_room(s, additional);
}

int kh_str_shrink_to_fit(struct kh_str *s)
{
    if (!s || !s->a.ops) return KH_EINVAL;
    if (s->len == 0) {
        kh_str_destroy(s);
        return 0;
    }
    if (s->cap == s->len + 1) return 0;
    return str_set_cap(s, s->len + 1);
}

int kh_str_append_n(struct kh_str *s, const char *p, size_t n)
{
    return kh_str_insert_n(s, s ? s->len : 0, p, n);
}

int kh_str_append(struct kh_str *s, const char *cstr)
{
    if (!cstr) return KH_EINVAL;
    return kh_str_append_n(s, cstr, cstr_len(cstr));
}

int kh_str_push(struct kh_str *s, char c)
{
    return kh_str_append_n(s, &c, 1);
}

/* Byte offset of [p, p + n) inside [buf, buf + bytes), or SIZE_MAX when it
 * is not wholly inside (integer compares: relational operators between
 * unrelated objects are undefined in C). */
static size_t offset_in(const char *buf, size_t bytes, const char *p, size_t n)
{
    uintptr_t b = (uintptr_t)buf, q = (uintptr_t)p;
    if (!buf || q < b || q - b > bytes || n > bytes - (q - b)) return SIZE_MAX;
    return (size_t)(q - b);
}

/* p may point into s itself (appending a string to itself is natural): the
 * source is found again by offset after the buffer moves and the tail
 * shifts. */
int kh_str_insert_n(struct kh_str *s, size_t pos, const char *p, size_t n)
{
    if (!s || (!p && n) || pos > s->len) return KH_EINVAL;
    size_t off = n ? offset_in(s->data, s->len + 1, p, n) : SIZE_MAX;
    int rc = str_room(s, n);
    if (rc) return rc;
    char *d = s->data;
    /* Move the tail and its NUL up, then drop the new bytes in. */
    memmove(d + pos + n, d + pos, s->len - pos + 1);
    if (off == SIZE_MAX) {
        if (n) memcpy(d + pos, p, n);
    } else if (off + n <= pos) {
        memcpy(d + pos, d + off, n);
    } else if (off >= pos) {
        memcpy(d + pos, d + off + n, n);
    } else { /* straddles pos: the front stayed, the rest moved up */
        size_t k = pos - off;
        memcpy(d + pos, d + off, k);
        memcpy(d + pos + k, d + pos + n, n - k);
    }
    s->len += n;
    return 0;
}

int kh_str_insert(struct kh_str *s, size_t pos, const char *cstr)
{
    if (!cstr) return KH_EINVAL;
    return kh_str_insert_n(s, pos, cstr, cstr_len(cstr));
}

void kh_str_truncate(struct kh_str *s, size_t n)
{
    if (s && n < s->len) {
        s->len = n;
        s->data[n] = '\0';
    }
}

void kh_str_clear(struct kh_str *s)
{
    kh_str_truncate(s, 0);
}

/* Bytes fmt/ap would produce, or a negative KH_E*. */
static int measure(const char *fmt, va_list ap)
{
    va_list cp;
    va_copy(cp, ap);
    int n = kh_vsnprintf(NULL, 0, fmt, cp);
    va_end(cp);
    return n;
}

int kh_str_vappendf(struct kh_str *s, const char *fmt, va_list ap)
{
    if (!s || !fmt) return KH_EINVAL;
    int n = measure(fmt, ap);
    if (n < 0) return n;
    int rc = str_room(s, (size_t)n);
    if (rc) return rc;
    va_list cp;
    va_copy(cp, ap);
    int w = kh_vsnprintf(s->data + s->len, (size_t)n + 1, fmt, cp);
    va_end(cp);
    /* Same output twice unless an argument aliased s; stay consistent anyway. */
    s->len += w >= 0 && w < n ? (size_t)w : (size_t)n;
    s->data[s->len] = '\0';
    return 0;
}

int kh_str_appendf(struct kh_str *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = kh_str_vappendf(s, fmt, ap);
    va_end(ap);
    return r;
}

int kh_str_vprintf(struct kh_str *s, const char *fmt, va_list ap)
{
    if (!s || !s->a.ops || !fmt) return KH_EINVAL;
    int n = measure(fmt, ap);
    if (n < 0) return n;
    size_t need = (size_t)n + 1;
    char *dst = s->data;
    size_t cap = s->cap;
    if (need > s->cap) {
        /* A fresh block: the old bytes are not worth copying, and the old
         * contents must survive a failure. */
        cap = need < STR_MIN_CAP ? STR_MIN_CAP : need;
        dst = kh_alloc(s->a, cap, 1);
        if (!dst && cap != need) dst = kh_alloc(s->a, cap = need, 1);
        if (!dst) return KH_ENOMEM;
    }
    va_list cp;
    va_copy(cp, ap);
    int w = kh_vsnprintf(dst, need, fmt, cp);
    va_end(cp);
    if (dst != s->data) {
        kh_free(s->a, s->data, s->cap, 1);
        s->data = dst;
        s->cap = cap;
    }
    s->len = w >= 0 && w < n ? (size_t)w : (size_t)n;
    s->data[s->len] = '\0';
    return 0;
}

int kh_str_printf(struct kh_str *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = kh_str_vprintf(s, fmt, ap);
    va_end(ap);
    return r;
}

const char *kh_str_cstr(const struct kh_str *s)
{
    return s && s->data ? s->data : "";
}

size_t kh_str_len(const struct kh_str *s)
{
    return s ? s->len : 0;
}

size_t kh_str_capacity(const struct kh_str *s)
{
    return s ? s->cap : 0;
}

int kh_str_eq(const struct kh_str *s, const char *cstr)
{
    if (!s || !cstr) return 0;
    size_t n = cstr_len(cstr);
    return n == s->len && memcmp(kh_str_cstr(s), cstr, n) == 0;
}

int kh_str_check(const struct kh_str *s)
{
    if (!s || !s->a.ops) return KH_ECORRUPT;
    if ((s->data == NULL) != (s->cap == 0)) return KH_ECORRUPT;
    if (s->data == NULL) return s->len == 0 ? 0 : KH_ECORRUPT;
    if (s->len >= s->cap) return KH_ECORRUPT;
    if (s->data[s->len] != '\0') return KH_ECORRUPT;
    return 0;
}
