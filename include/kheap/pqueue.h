/* SPDX-License-Identifier: MIT */
/* kheap pqueue: a priority queue as a binary heap in a vec (Rust's
 * BinaryHeap, fallible) with a user comparator.
 *
 * DATASHEET
 *
 * Order       A max-heap: pop and peek give the greatest element by cmp (the
 *             one every other element compares <= to). For a min-heap pass a
 *             comparator with the arguments swapped. Equal elements come out
 *             in no particular order.
 *
 * Layout      struct kh_pqueue { struct kh_vec v; cmp; ctx }: the elements
 *             in heap order in v (v.data[0] is the top). Movable.
 *
 * Failure     push / extend / reserve return 0 or KH_ENOMEM / KH_EOVERFLOW
 *             / KH_EINVAL and leave the queue exactly as it was on failure.
 *             pop and peek never allocate.
 *
 * Time        push, pop: O(log n) comparisons (amortized for push's growth).
 *             peek: O(1). extend of m elements and from_vec: O(n + m)
 *             (bottom-up heapify). kh_pqueue_check: O(n).
 *
 * Threads     No locking: one thread at a time per queue.
 */
#ifndef KHEAP_PQUEUE_H
#define KHEAP_PQUEUE_H

#include <stdbool.h>
#include <stddef.h>

#include "kheap/alloc.h"
#include "kheap/vec.h"

#ifdef __cplusplus
extern "C" {
#endif

struct kh_pqueue {
    struct kh_vec v;
    kh_cmp_fn cmp;
    void *ctx;
};

/* Empty queue of elem_size-byte elements ordered by cmp(a, b, ctx).
 * Allocates nothing. KH_EINVAL for q NULL, a without ops, elem_size 0, cmp
 * NULL or a non-power-of-two align. */
int kh_pqueue_init(struct kh_pqueue *q, kh_allocator a, size_t elem_size, kh_cmp_fn cmp, void *ctx);
int kh_pqueue_init_aligned(struct kh_pqueue *q, kh_allocator a, size_t elem_size, size_t align,
                           kh_cmp_fn cmp, void *ctx);
/* Build a queue that takes over the elements and the buffer of v (no copy,
 * no allocation, O(n)); v is left empty but still initialized. */
int kh_pqueue_from_vec(struct kh_pqueue *q, struct kh_vec *v, kh_cmp_fn cmp, void *ctx);
void kh_pqueue_destroy(struct kh_pqueue *q);

int kh_pqueue_reserve(struct kh_pqueue *q, size_t additional);
/* Add a copy of elem. */
int kh_pqueue_push(struct kh_pqueue *q, const void *elem);
/* Add n elements from arr (a bottom-up re-heapify when n is large compared
 * with the queue, else one sift per element). */
int kh_pqueue_extend(struct kh_pqueue *q, const void *arr, size_t n);
/* Remove the top element, copied to out when out is not NULL. KH_ENOENT
 * when empty. */
int kh_pqueue_pop(struct kh_pqueue *q, void *out);
/* The top element, NULL when empty. Do not change its ordering key. */
void *kh_pqueue_peek(const struct kh_pqueue *q);
size_t kh_pqueue_len(const struct kh_pqueue *q);
bool kh_pqueue_is_empty(const struct kh_pqueue *q);
void kh_pqueue_clear(struct kh_pqueue *q);

/* The vec's invariants plus the heap property (no child greater than its
 * parent). 0 or KH_ECORRUPT. */
int kh_pqueue_check(const struct kh_pqueue *q);

/* Turn any array into a max-heap by cmp in place, O(n). */
void kh_heapify(void *base, size_t n, size_t size, kh_cmp_fn cmp, void *ctx);

/* ---- typed wrapper ----
 * KH_PQUEUE_DEFINE(name, T): `typedef struct name { struct kh_pqueue q; } name;`
 * and static inline name_init(x, a, cmp, ctx), name_destroy, name_reserve,
 * name_push(x, T), name_extend(x, const T *, n), name_pop(x, T *out),
 * name_peek(x) -> T *, name_len, name_clear, name_check, over the generic
 * functions above. The comparator receives pointers to T. */
#define KH_PQUEUE_DEFINE(name, T)                                                                  \
    typedef struct name {                                                                          \
        struct kh_pqueue q;                                                                        \
    } name;                                                                                        \
    static inline KH_UNUSED_FN int name##_init(name *x, kh_allocator a, kh_cmp_fn cmp, void *ctx)  \
    {                                                                                              \
        return kh_pqueue_init_aligned(&x->q, a, sizeof(T), KH_ALIGNOF(T), cmp, ctx);               \
    }                                                                                              \
    static inline KH_UNUSED_FN void name##_destroy(name *x)                                        \
    {                                                                                              \
        kh_pqueue_destroy(&x->q);                                                                  \
    }                                                                                              \
    static inline KH_UNUSED_FN int name##_reserve(name *x, size_t n)                               \
    {                                                                                              \
        return kh_pqueue_reserve(&x->q, n);                                                        \
    }                                                                                              \
    static inline KH_UNUSED_FN int name##_push(name *x, T val)                                     \
    {                                                                                              \
        return kh_pqueue_push(&x->q, &val);                                                        \
    }                                                                                              \
    static inline KH_UNUSED_FN int name##_extend(name *x, const T *arr, size_t n)                  \
    {                                                                                              \
        return kh_pqueue_extend(&x->q, arr, n);                                                    \
    }                                                                                              \
    static inline KH_UNUSED_FN int name##_pop(name *x, T *out)                                     \
    {                                                                                              \
        return kh_pqueue_pop(&x->q, out);                                                          \
    }                                                                                              \
    static inline KH_UNUSED_FN T *name##_peek(const name *x)                                       \
    {                                                                                              \
        return (T *)kh_pqueue_peek(&x->q);                                                         \
    }                                                                                              \
    static inline KH_UNUSED_FN size_t name##_len(const name *x)                                    \
    {                                                                                              \
        return x->q.v.len;                                                                         \
    }                                                                                              \
    static inline KH_UNUSED_FN void name##_clear(name *x)                                          \
    {                                                                                              \
        kh_pqueue_clear(&x->q);                                                                    \
    }                                                                                              \
    static inline KH_UNUSED_FN int name##_check(const name *x)                                     \
    {                                                                                              \
        return kh_pqueue_check(&x->q);                                                             \
    }

#ifdef __cplusplus
}
#endif

#endif /* KHEAP_PQUEUE_H */
