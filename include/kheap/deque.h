/* SPDX-License-Identifier: MIT */
/* kheap deque: a double-ended queue in a ring buffer (Rust's VecDeque,
 * fallible) on any allocator.
 *
 * DATASHEET
 *
 * Layout      struct kh_deque { allocator, data, head, len, cap, elem_size,
 *             align }. Element i lives at slot (head + i) mod cap; the
 *             elements may wrap around the end of the buffer, so they are not
 *             one contiguous array (use kh_deque_get per index). The struct
 *             may be moved freely.
 *
 * Generic     Implemented once over elem_size; KH_DEQUE_DEFINE(name, T)
 *             generates a typed wrapper (see the end of this header).
 *
 * Growth      Capacity doubles (at least 4) when a push needs room: push at
 *             either end is amortized O(1). Growing goes through kh_realloc()
 *             and then moves the wrapped-around front part to the new end.
 *
 * Failure     Calls that may allocate return 0 or KH_ENOMEM / KH_EOVERFLOW /
 *             KH_EINVAL and leave the deque exactly as it was on failure.
 *
 * Time        push/pop at both ends (amortized), get, front, back: O(1).
 *             Growth and shrink_to_fit: O(len).
 *
 * Threads     No locking: one thread at a time per deque.
 */
#ifndef KHEAP_DEQUE_H
#define KHEAP_DEQUE_H

#include <stdbool.h>
#include <stddef.h>

#include "kheap/alloc.h"
#include "kheap/compiler.h"

#ifdef __cplusplus
extern "C" {
#endif

struct kh_deque {
    kh_allocator a;
    void *data;       /* NULL while cap == 0 */
    size_t head;      /* slot of element 0 (< cap, 0 when cap == 0) */
    size_t len;       /* elements in use */
    size_t cap;       /* slots allocated */
    size_t elem_size; /* bytes per element, > 0 */
    size_t align;     /* allocation alignment (0 = KH_ALIGN_DEFAULT) */
};

/* Empty deque; allocates nothing. KH_EINVAL for d NULL, a without ops,
 * elem_size 0 or (aligned) a non-power-of-two align. */
int kh_deque_init(struct kh_deque *d, kh_allocator a, size_t elem_size);
int kh_deque_init_aligned(struct kh_deque *d, kh_allocator a, size_t elem_size, size_t align);
/* Free the buffer; d becomes empty and may be reused. */
void kh_deque_destroy(struct kh_deque *d);

/* Room for at least `additional` more elements. */
int kh_deque_reserve(struct kh_deque *d, size_t additional);
/* Capacity down to len (0 frees the buffer). Needs a new block of len
 * elements; KH_ENOMEM leaves the deque unchanged. */
int kh_deque_shrink_to_fit(struct kh_deque *d);

/* Add a copy of the elem_size bytes at elem at the back / front. elem may
 * be an element of d itself (it is found again if the buffer moves). */
int kh_deque_push_back(struct kh_deque *d, const void *elem);
int kh_deque_push_front(struct kh_deque *d, const void *elem);
/* Remove the back / front element, copied to out when out is not NULL.
 * KH_ENOENT when empty. Never allocates. */
int kh_deque_pop_back(struct kh_deque *d, void *out);
int kh_deque_pop_front(struct kh_deque *d, void *out);

/* Element i counted from the front, NULL when i >= len. */
void *kh_deque_get(const struct kh_deque *d, size_t i);
/* As get, but an index out of range is a bug: checked builds report it
 * (KH_EINVAL through kh_report); both builds return NULL. */
void *kh_deque_at(const struct kh_deque *d, size_t i);
void *kh_deque_front(const struct kh_deque *d); /* NULL when empty */
void *kh_deque_back(const struct kh_deque *d);  /* NULL when empty */
size_t kh_deque_len(const struct kh_deque *d);
size_t kh_deque_capacity(const struct kh_deque *d);
bool kh_deque_is_empty(const struct kh_deque *d);
/* Drop every element; keeps capacity. */
void kh_deque_clear(struct kh_deque *d);

/* Invariants: len <= cap, head < cap (or 0), data NULL iff cap 0, sizes do
 * not overflow. 0 or KH_ECORRUPT. */
int kh_deque_check(const struct kh_deque *d);

/* ---- typed wrapper ----
 * KH_DEQUE_DEFINE(name, T): `typedef struct name { struct kh_deque d; } name;`
 * and static inline name_init(x, a), name_destroy, name_reserve,
 * name_shrink_to_fit, name_push_back(x, T), name_push_front(x, T),
 * name_pop_back(x, T *out), name_pop_front(x, T *out), name_get(x, i) -> T *,
 * name_at(x, i) -> T *, name_front(x) -> T *, name_back(x) -> T *,
 * name_len, name_clear, name_check, over the generic functions above. */
#define KH_DEQUE_DEFINE(name, T)                                                                   \
    typedef struct name {                                                                          \
        struct kh_deque d;                                                                         \
    } name;                                                                                        \
    static inline KH_UNUSED_FN int name##_init(name *x, kh_allocator a)                            \
    {                                                                                              \
        return kh_deque_init_aligned(&x->d, a, sizeof(T), KH_ALIGNOF(T));                          \
    }                                                                                              \
    static inline KH_UNUSED_FN void name##_destroy(name *x)                                        \
    {                                                                                              \
        kh_deque_destroy(&x->d);                                                                   \
    }                                                                                              \
    static inline KH_UNUSED_FN int name##_reserve(name *x, size_t n)                               \
    {                                                                                              \
        return kh_deque_reserve(&x->d, n);                                                         \
    }                                                                                              \
    static inline KH_UNUSED_FN int name##_shrink_to_fit(name *x)                                   \
    {                                                                                              \
        return kh_deque_shrink_to_fit(&x->d);                                                      \
    }                                                                                              \
    static inline KH_UNUSED_FN int name##_push_back(name *x, T val)                                \
    {                                                                                              \
        return kh_deque_push_back(&x->d, &val);                                                    \
    }                                                                                              \
    static inline KH_UNUSED_FN int name##_push_front(name *x, T val)                               \
    {                                                                                              \
        return kh_deque_push_front(&x->d, &val);                                                   \
    }                                                                                              \
    static inline KH_UNUSED_FN int name##_pop_back(name *x, T *out)                                \
    {                                                                                              \
        return kh_deque_pop_back(&x->d, out);                                                      \
    }                                                                                              \
    static inline KH_UNUSED_FN int name##_pop_front(name *x, T *out)                               \
    {                                                                                              \
        return kh_deque_pop_front(&x->d, out);                                                     \
    }                                                                                              \
    static inline KH_UNUSED_FN T *name##_get(const name *x, size_t i)                              \
    {                                                                                              \
        return (T *)kh_deque_get(&x->d, i);                                                        \
    }                                                                                              \
    static inline KH_UNUSED_FN T *name##_at(const name *x, size_t i)                               \
    {                                                                                              \
        return (T *)kh_deque_at(&x->d, i);                                                         \
    }                                                                                              \
    static inline KH_UNUSED_FN T *name##_front(const name *x)                                      \
    {                                                                                              \
        return (T *)kh_deque_front(&x->d);                                                         \
    }                                                                                              \
    static inline KH_UNUSED_FN T *name##_back(const name *x)                                       \
    {                                                                                              \
        return (T *)kh_deque_back(&x->d);                                                          \
    }                                                                                              \
    static inline KH_UNUSED_FN size_t name##_len(const name *x)                                    \
    {                                                                                              \
        return x->d.len;                                                                           \
    }                                                                                              \
    static inline KH_UNUSED_FN void name##_clear(name *x)                                          \
    {                                                                                              \
        kh_deque_clear(&x->d);                                                                     \
    }                                                                                              \
    static inline KH_UNUSED_FN int name##_check(const name *x)                                     \
    {                                                                                              \
        return kh_deque_check(&x->d);                                                              \
    }

#ifdef __cplusplus
}
#endif

#endif /* KHEAP_DEQUE_H */
