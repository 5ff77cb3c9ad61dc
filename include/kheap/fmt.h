/* SPDX-License-Identifier: MIT */
/* kheap fmt: a freestanding printf-style formatter (no libc, no allocation).
 *
 * Conversions  %d %i %u %x %X %o %c %s %p %%
 * Length       hh h l ll z j t (on d i u x X o); none on c s p
 * Flags        - (left-justify)  0 (zero-pad)  + (sign)  ' ' (space for sign)
 *              # (0x / 0X prefix for x X, leading 0 for o)
 * Width        decimal or *, precision .decimal or .* (a negative * width
 *              means '-' and its absolute value; a negative * precision means
 *              none), all with C99 meaning: precision is the minimum number
 *              of digits for integers (0 with .0 prints nothing) and the
 *              maximum number of bytes for %s.
 * %s NULL      prints "(null)"; %p prints 0x + lowercase hex, NULL as
 *              "(nil)" (as glibc does, so logs read the same everywhere).
 *
 * Not supported (the call returns KH_EINVAL, output stops there): floating
 * point (%f %e %g %a), %n (a classic format-string exploit), wide %lc %ls,
 * positional %1$d, and any unknown conversion.
 *
 * Results      The number of bytes the whole output has (C99 snprintf:
 *              the would-be length, whatever fits), or a negative KH_E*:
 *              KH_EINVAL for a NULL or unsupported format, KH_EOVERFLOW when
 *              the length would exceed INT_MAX. The buffer variants always
 *              NUL-terminate when n > 0, also on error.
 * Time/stack   O(output length); a few hundred bytes of stack, no recursion.
 * Threads      Reentrant: no static state.
 */
#ifndef KHEAP_FMT_H
#define KHEAP_FMT_H

#include <stdarg.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* printf format checking on compilers that have it (guarded extension). */
#if defined(__GNUC__) || defined(__clang__)
#define KH_PRINTF_LIKE(fmt_index, first_arg) __attribute__((format(printf, fmt_index, first_arg)))
#else
#define KH_PRINTF_LIKE(fmt_index, first_arg)
#endif

/* Output sink: called with chunks of output (not NUL-terminated, n > 0). */
typedef void (*kh_put_fn)(void *ctx, const char *s, size_t n);

/* Format to a sink, e.g. a UART writer. Returns the bytes produced or a
 * negative KH_E* (output already sent stays sent). */
int kh_vcbprintf(kh_put_fn put, void *ctx, const char *fmt, va_list ap);
int kh_cbprintf(kh_put_fn put, void *ctx, const char *fmt, ...) KH_PRINTF_LIKE(3, 4);

/* Format into buf[0..n), C99 snprintf semantics: writes at most n - 1 bytes
 * plus a NUL, returns the length the full output would have. buf may be
 * NULL only when n is 0 (to measure). */
int kh_vsnprintf(char *buf, size_t n, const char *fmt, va_list ap);
int kh_snprintf(char *buf, size_t n, const char *fmt, ...) KH_PRINTF_LIKE(3, 4);

#ifdef __cplusplus
}
#endif

#endif /* KHEAP_FMT_H */
