/* SPDX-License-Identifier: MIT */
/* kheap compiler helpers for public headers: each extension guarded, with a
 * plain C11 fallback. */
#ifndef KHEAP_COMPILER_H
#define KHEAP_COMPILER_H

/* Typed wrappers (KH_VEC_DEFINE and friends) are static inline functions
 * generated in the user's .c file; most programs use a few of them, so keep
 * compilers from warning about the rest. */
#if defined(__GNUC__) || defined(__clang__)
#define KH_UNUSED_FN __attribute__((unused))
#else
#define KH_UNUSED_FN
#endif

/* Alignment of a type in the typed wrappers: C11's _Alignof, C++'s alignof
 * (C++ has no _Alignof). */
#ifdef __cplusplus
#define KH_ALIGNOF(T) alignof(T)
#else
#define KH_ALIGNOF(T) _Alignof(T)
#endif

#endif /* KHEAP_COMPILER_H */
