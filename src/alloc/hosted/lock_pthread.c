/* SPDX-License-Identifier: MIT */
/* pthread mutex lock ops for the locked wrapper: see kheap/lock_pthread.h. */
#include "kheap/lock_pthread.h"

#include <pthread.h>

#include "kheap/error.h"

static unsigned long mutex_lock(void *lock)
{
    /* A mutex that cannot be taken (EINVAL, EDEADLK) is a bug in the caller;
     * report it: there is no way to fail the allocation from here. */
    int e = pthread_mutex_lock(lock);
    if (e) kh_report(KH_EINVAL, "lock_pthread: pthread_mutex_lock failed", lock);
    return 0;
}

static void mutex_unlock(void *lock, unsigned long saved)
{
    (void)saved;
    int e = pthread_mutex_unlock(lock);
    if (e) kh_report(KH_EINVAL, "lock_pthread: pthread_mutex_unlock failed", lock);
}

const struct kh_lock_ops kh_pthread_lock_ops = {mutex_lock, mutex_unlock};
