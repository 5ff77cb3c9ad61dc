/* SPDX-License-Identifier: MIT */
/* Bit arithmetic shared by the allocators: one definition of log2, with the
 * compiler's count-leading-zeros where there is one. */
#ifndef KH_INTERNAL_BITS_H
#define KH_INTERNAL_BITS_H

#include <stddef.h>

/* floor(log2(x)) for x > 0. */
static inline unsigned kh_log2_floor(size_t x)
{
#if defined(__GNUC__)
    /* A constant condition: one branch is compiled. */
    if (sizeof(size_t) <= sizeof(unsigned long))
        return (unsigned)(sizeof(unsigned long) * 8 - 1) -
               (unsigned)__builtin_clzl((unsigned long)x);
    return (unsigned)(sizeof(unsigned long long) * 8 - 1) -
           (unsigned)__builtin_clzll((unsigned long long)x);
#else
    unsigned r = 0;
    while (x >>= 1) r++;
    return r;
#endif
}

#endif /* KH_INTERNAL_BITS_H */
