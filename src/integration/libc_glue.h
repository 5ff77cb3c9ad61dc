/* SPDX-License-Identifier: MIT */
/* kheap as a firmware C library's malloc: the part newlib.c and picolibc.c
 * share (libc_heap.c), private to them. Every function here expects the C
 * library's malloc lock held: kh_libc_lock()/kh_libc_unlock(), which
 * newlib.c and picolibc.c define with that library's lock. */
#ifndef KH_LIBC_GLUE_H
#define KH_LIBC_GLUE_H

#include <stddef.h>

#include "kheap/libc_malloc.h"

void kh_libc_lock(void);
void kh_libc_unlock(void);

/* NULL with *err set to ENOMEM or EINVAL on failure. align 0 = default,
 * else a power of two. */
void *kh_libc_alloc(size_t size, size_t align, int *err);
void *kh_libc_calloc(size_t n, size_t size, int *err);
/* realloc: NULL p allocates; size 0 frees p and returns NULL (err 0). */
void *kh_libc_realloc(void *p, size_t size, int *err);
void kh_libc_free(void *p);
size_t kh_libc_usable(void *p);
/* memalign's rule: a non-power-of-two alignment is rounded up. */
size_t kh_libc_round_align(size_t align);
size_t kh_libc_page_size(void);

#endif /* KH_LIBC_GLUE_H */
