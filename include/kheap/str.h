/* SPDX-License-Identifier: MIT */
/* kheap str: an owned, growable byte string on any allocator (Rust's String,
 * fallible, without the UTF-8 rule: bytes are bytes).
 *
 * DATASHEET
 *
 * Layout      struct kh_str { allocator, data, len, cap }. The bytes are
 *             data[0..len) followed by a NUL, always: kh_str_cstr() is a
 *             valid C string at every moment (the static "" while nothing is
 *             allocated). Embedded NUL bytes are allowed (append_n, push);
 *             len counts them. cap counts allocated bytes, the NUL included.
 *             The struct may be moved freely.
 *
 * Formatting  kh_str_appendf / kh_str_printf use the freestanding formatter
 *             (kheap/fmt.h, same conversions). The output is measured first,
 *             room reserved once, then written: a failure changes nothing.
 *             Arguments must not point into the string being written (as
 *             with snprintf's restrict); the write is bounded either way.
 *
 * Growth      Doubling (at least 16 bytes), through kh_realloc().
 *
 * Failure     Calls that may allocate return 0 or KH_ENOMEM / KH_EOVERFLOW /
 *             KH_EINVAL and leave the string exactly as it was on failure.
 *
 * Time        push, append (amortized): O(bytes added). insert: O(len).
 */
#ifndef KHEAP_STR_H
#define KHEAP_STR_H

#include <stdarg.h>
#include <stddef.h>

#include "kheap/alloc.h"
#include "kheap/fmt.h"

#ifdef __cplusplus
extern "C" {
#endif

struct kh_str {
    kh_allocator a;
    char *data; /* NULL while cap == 0 */
    size_t len; /* bytes, NUL excluded */
    size_t cap; /* bytes allocated, NUL included (0 or > len) */
};

/* Empty string on allocator a; allocates nothing. KH_EINVAL when s is NULL
 * or a has no ops. */
int kh_str_init(struct kh_str *s, kh_allocator a);
/* Free the bytes; s becomes the empty string and may be reused. */
void kh_str_destroy(struct kh_str *s);

/* Room for `additional` more bytes (plus the NUL) without reallocating. */
int kh_str_reserve(struct kh_str *s, size_t additional);
/* Give unused capacity back (an empty string frees everything). */
int kh_str_shrink_to_fit(struct kh_str *s);

/* Append the C string cstr / n bytes at p (which may contain NULs) / one
 * byte. cstr and p may point into s itself (kh_str_append(s, kh_str_cstr(s))
 * doubles s); NULL with n > 0 is KH_EINVAL. */
int kh_str_append(struct kh_str *s, const char *cstr);
int kh_str_append_n(struct kh_str *s, const char *p, size_t n);
int kh_str_push(struct kh_str *s, char c);
/* Insert cstr / n bytes at byte offset pos (0 <= pos <= len); KH_EINVAL when
 * pos > len. The bytes may come from s itself, even across pos. */
int kh_str_insert(struct kh_str *s, size_t pos, const char *cstr);
int kh_str_insert_n(struct kh_str *s, size_t pos, const char *p, size_t n);
/* Keep the first n bytes (nothing when n >= len). Keeps capacity. */
void kh_str_truncate(struct kh_str *s, size_t n);
/* Empty the string. Keeps capacity. */
void kh_str_clear(struct kh_str *s);

/* Append formatted output (kheap/fmt.h). Returns 0 or a negative KH_E*:
 * the formatter's KH_EINVAL / KH_EOVERFLOW, or KH_ENOMEM. */
int kh_str_appendf(struct kh_str *s, const char *fmt, ...) KH_PRINTF_LIKE(2, 3);
int kh_str_vappendf(struct kh_str *s, const char *fmt, va_list ap);
/* Replace the contents with formatted output; on failure the old contents
 * stay. */
int kh_str_printf(struct kh_str *s, const char *fmt, ...) KH_PRINTF_LIKE(2, 3);
int kh_str_vprintf(struct kh_str *s, const char *fmt, va_list ap);

/* The bytes as a NUL-terminated C string, never NULL. Valid until the next
 * call that changes s. */
const char *kh_str_cstr(const struct kh_str *s);
size_t kh_str_len(const struct kh_str *s);
size_t kh_str_capacity(const struct kh_str *s);
/* 1/0: the bytes equal cstr exactly (length and content). */
int kh_str_eq(const struct kh_str *s, const char *cstr);

/* Invariants: len < cap or both 0, data NULL iff cap 0, data[len] == NUL.
 * 0 or KH_ECORRUPT. */
int kh_str_check(const struct kh_str *s);

#ifdef __cplusplus
}
#endif

#endif /* KHEAP_STR_H */
