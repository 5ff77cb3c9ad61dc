/* SPDX-License-Identifier: MIT */
/* A program using the headers whose inline code or types depend on build
 * options (kheap/abi.h): built against libraries with the same and with
 * other options by tests/adopt/abi_check.sh. */
#include <kheap/atomic.h>
#include <kheap/list.h>
#include <kheap/spinlock.h>

static kh_spinlock_t lock = KH_SPINLOCK_INIT;
static kh_atomic_t counter = KH_ATOMIC_INIT(0);

int main(void)
{
    KH_LIST_HEAD(head);
    struct kh_list_head a, b;
    kh_list_add(&a, &head);
    kh_list_add_tail(&b, &head);
    kh_list_del(&a);
    kh_spin_lock(&lock);
    kh_atomic_inc(&counter);
    kh_spin_unlock(&lock);
#if KH_ATOMIC64_MODE != KH_ATOMIC64_NONE
    static kh_atomic64_t big = KH_ATOMIC_INIT(0);
    kh_atomic64_add(1, &big);
    if (kh_atomic64_read(&big) != 1) return 1;
#endif
    return kh_list_count(&head) == 1 && kh_atomic_read(&counter) == 1 ? 0 : 1;
}
