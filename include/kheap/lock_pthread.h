/* SPDX-License-Identifier: MIT */
/* Hosted lock ops for the locked wrapper (kheap/locked.h): a pthread mutex.
 *
 * Lock object: a pthread_mutex_t the caller initialized (and destroys after
 * the wrapper). lock returns 0; a mutex has no interrupt state. A mutex may
 * sleep: fine for threads of a hosted program, not for interrupt handlers
 * or KH_GFP_ATOMIC contexts. Compiled into the hosted library only
 * (src/alloc/hosted/lock_pthread.c); installed with the hosted build only.
 *
 *     static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
 *     kh_locked_init(&l, inner, &mu, &kh_pthread_lock_ops);
 */
#ifndef KHEAP_LOCK_PTHREAD_H
#define KHEAP_LOCK_PTHREAD_H

#include "kheap/locked.h"

#ifdef __cplusplus
extern "C" {
#endif

extern const struct kh_lock_ops kh_pthread_lock_ops;

#ifdef __cplusplus
}
#endif

#endif /* KHEAP_LOCK_PTHREAD_H */
