/* SPDX-License-Identifier: MIT */
/* kheap vec: a growable array on any allocator (Rust's Vec, fallible).
 *
 * DATASHEET
 *
 * Layout      struct kh_vec { allocator, data, len, cap, elem_size, align }.
 *             Elements are contiguous: kh_vec_data() is a plain array of len
 *             elements. The struct may be copied or moved freely (it holds no
 *             pointer to itself); only one copy may be used afterwards.
 *
 * Generic     Implemented once over elem_size: functions take `const void *`
 *             elements and return `void *`. KH_VEC_DEFINE(name, T) at the end
 *             of this header generates a typed wrapper so callers never cast.
 *
 * Growth      Capacity doubles (at least 4 elements) when a push or insert
 *             needs room: push is amortized O(1). Growth goes through
 *             kh_realloc(), so an allocator that can resize in place does.
 *
 * Failure     Every call that may allocate returns 0 or a negative KH_E*:
 *             KH_ENOMEM (the allocator failed), KH_EOVERFLOW (len + n or
 *             cap * elem_size would wrap), KH_EINVAL (bad argument). On
 *             failure the vec is exactly as it was (strong guarantee): no
 *             element added, moved or lost, same capacity. Nothing aborts.
 *
 * Pointers    Element pointers (kh_vec_get, kh_vec_data) stay valid until the
 *             next call that may reallocate (reserve, push, insert, extend,
 *             shrink_to_fit) or remove elements.
 *
 * Time        get/at/push (amortized)/pop/swap_remove/truncate: O(1).
 *             insert/remove: O(len - i). sort: O(n log n) worst case
 *             (introsort: quicksort, heapsort fallback, insertion sort for
 *             small ranges; not stable). bsearch: O(log n).
 *
 * Threads     No locking: one thread at a time per vec.
 */
#ifndef KHEAP_VEC_H
#define KHEAP_VEC_H

#include <stdbool.h>
#include <stddef.h>

#include "kheap/alloc.h"
#include "kheap/compiler.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Three-way comparison: negative when *a orders before *b, 0 when equal,
 * positive after. ctx is passed through unchanged. Shared by vec sort and
 * bsearch and by pqueue. */
typedef int (*kh_cmp_fn)(const void *a, const void *b, void *ctx);

struct kh_vec {
    kh_allocator a;
    void *data;       /* NULL while cap == 0 */
    size_t len;       /* elements in use */
    size_t cap;       /* elements allocated */
    size_t elem_size; /* bytes per element, > 0 */
    size_t align;     /* allocation alignment (0 = KH_ALIGN_DEFAULT) */
};

/* Empty vec of elem_size-byte elements on allocator a; allocates nothing.
 * KH_EINVAL when v is NULL, a has no ops or elem_size is 0 (v is then left
 * empty and safe to destroy, when not NULL). */
int kh_vec_init(struct kh_vec *v, kh_allocator a, size_t elem_size);
/* As kh_vec_init, with the buffer aligned to align (a power of two; 0 or
 * anything up to KH_ALIGN_DEFAULT means the default). KH_EINVAL for a
 * non-power-of-two. */
int kh_vec_init_aligned(struct kh_vec *v, kh_allocator a, size_t elem_size, size_t align);
/* Free the buffer; v becomes empty (len 0, cap 0) and may be reused. */
void kh_vec_destroy(struct kh_vec *v);

/* Make room for at least `additional` more elements (growing by doubling,
 * so repeated reserves stay amortized O(1)). 0 if there already is room. */
int kh_vec_reserve(struct kh_vec *v, size_t additional);
/* As reserve but allocates exactly len + additional when it must grow. */
int kh_vec_reserve_exact(struct kh_vec *v, size_t additional);
/* Give unused capacity back (cap = len; len 0 frees the buffer). May fail
 * with KH_ENOMEM when the allocator must move the block to shrink it; the
 * vec is then unchanged. */
int kh_vec_shrink_to_fit(struct kh_vec *v);

/* Append a copy of the elem_size bytes at elem, which may be an element of
 * v itself (push(v, get(v, 0)) is fine even when the buffer moves).
 * KH_EINVAL for elem NULL. */
int kh_vec_push(struct kh_vec *v, const void *elem);
/* Append one uninitialized element and return its address (the caller
 * fills it in), or NULL on failure (vec unchanged). */
void *kh_vec_push_slot(struct kh_vec *v);
/* Append n elements copied from arr (which may lie inside v itself).
 * n == 0 succeeds and does nothing; arr NULL with n > 0 is KH_EINVAL. */
int kh_vec_extend(struct kh_vec *v, const void *arr, size_t n);
/* Insert a copy of elem at index i (0 <= i <= len), shifting the tail up;
 * elem may be an element of v. KH_EINVAL when i > len or elem is NULL. */
int kh_vec_insert(struct kh_vec *v, size_t i, const void *elem);

/* Remove the last element, copying it to out when out is not NULL.
 * KH_ENOENT when empty. Never allocates, never shrinks. */
int kh_vec_pop(struct kh_vec *v, void *out);
/* Remove element i, shifting the tail down (order kept). out as pop.
 * KH_ENOENT when i >= len. */
int kh_vec_remove(struct kh_vec *v, size_t i, void *out);
/* Remove element i by moving the last element into its place: O(1),
 * order not kept. KH_ENOENT when i >= len. */
int kh_vec_swap_remove(struct kh_vec *v, size_t i, void *out);
/* Drop elements from index n on (nothing when n >= len). Keeps capacity. */
void kh_vec_truncate(struct kh_vec *v, size_t n);
/* Drop every element. Keeps capacity. */
void kh_vec_clear(struct kh_vec *v);

/* Address of element i, or NULL when i >= len (no report: an expected miss). */
void *kh_vec_get(const struct kh_vec *v, size_t i);
/* Address of element i. An index out of range is a bug: checked builds
 * report it (KH_EINVAL through kh_report) and both builds return NULL. */
void *kh_vec_at(const struct kh_vec *v, size_t i);
/* Address of the last element, NULL when empty. */
void *kh_vec_last(const struct kh_vec *v);
void *kh_vec_data(const struct kh_vec *v);
size_t kh_vec_len(const struct kh_vec *v);
size_t kh_vec_capacity(const struct kh_vec *v);
bool kh_vec_is_empty(const struct kh_vec *v);

/* Sort the elements with cmp (introsort, in place, not stable). */
void kh_vec_sort(struct kh_vec *v, kh_cmp_fn cmp, void *ctx);
/* Binary search a vec sorted by cmp for key. Returns 0 and the index of a
 * matching element in *index, or KH_ENOENT and the index where key would be
 * inserted to keep the order (Rust's binary_search). index may be NULL. */
int kh_vec_bsearch(const struct kh_vec *v, const void *key, kh_cmp_fn cmp, void *ctx,
                   size_t *index);

/* Invariants: len <= cap, data NULL iff cap 0, elem_size > 0, cap *
 * elem_size does not overflow, valid alignment. 0 or KH_ECORRUPT. */
int kh_vec_check(const struct kh_vec *v);

/* The same sort and search on any array of n elements of size bytes. */
void kh_sort(void *base, size_t n, size_t size, kh_cmp_fn cmp, void *ctx);
int kh_bsearch(const void *base, size_t n, size_t size, const void *key, kh_cmp_fn cmp, void *ctx,
               size_t *index);

/* ---- typed wrapper ----
 * KH_VEC_DEFINE(name, T) defines `typedef struct name { struct kh_vec v; } name;`
 * and static inline functions over the generic ones above (which are their
 * exported, FFI-callable twins):
 *   int  name_init(name *x, kh_allocator a);    void name_destroy(name *x);
 *   int  name_reserve(name *x, size_t n);       int  name_shrink_to_fit(name *x);
 *   int  name_push(name *x, T val);             int  name_pop(name *x, T *out);
 *   T   *name_push_slot(name *x);               (new uninitialized last element, NULL on failure)
 *   int  name_insert(name *x, size_t i, T val); int  name_remove(name *x, size_t i, T *out);
 *   int  name_swap_remove(name *x, size_t i, T *out);
 *   int  name_extend(name *x, const T *arr, size_t n);
 *   void name_truncate(name *x, size_t n);      void name_clear(name *x);
 *   T   *name_get(const name *x, size_t i);     T   *name_at(const name *x, size_t i);
 *   T   *name_data(const name *x);              T   *name_last(const name *x);
 *   size_t name_len(const name *x);             size_t name_capacity(const name *x);
 *   void name_sort(name *x, kh_cmp_fn cmp, void *ctx);
 *   int  name_bsearch(const name *x, const T *key, kh_cmp_fn cmp, void *ctx, size_t *index);
 *   int  name_check(const name *x);
 * Example:
 *   KH_VEC_DEFINE(intvec, int)
 *   intvec v; intvec_init(&v, a); if (intvec_push(&v, 42)) handle_oom();
 *   int x = *intvec_at(&v, 0);
 */
#define KH_VEC_DEFINE(name, T)                                                                     \
    typedef struct name {                                                                          \
        struct kh_vec v;                                                                           \
    } name;                                                                                        \
    static inline KH_UNUSED_FN int name##_init(name *x, kh_allocator a)                            \
    {                                                                                              \
        return kh_vec_init_aligned(&x->v, a, sizeof(T), KH_ALIGNOF(T));                            \
    }                                                                                              \
    static inline KH_UNUSED_FN void name##_destroy(name *x)                                        \
    {                                                                                              \
        kh_vec_destroy(&x->v);                                                                     \
    }                                                                                              \
    static inline KH_UNUSED_FN int name##_reserve(name *x, size_t n)                               \
    {                                                                                              \
        return kh_vec_reserve(&x->v, n);                                                           \
    }                                                                                              \
    static inline KH_UNUSED_FN int name##_shrink_to_fit(name *x)                                   \
    {                                                                                              \
        return kh_vec_shrink_to_fit(&x->v);                                                        \
    }                                                                                              \
    static inline KH_UNUSED_FN int name##_push(name *x, T val)                                     \
    {                                                                                              \
        /* Room left: a plain store, as fast as appending to an array. */                          \
        if (x->v.len < x->v.cap) {                                                                 \
            ((T *)x->v.data)[x->v.len++] = val;                                                    \
            return 0;                                                                              \
        }                                                                                          \
        return kh_vec_push(&x->v, &val);                                                           \
    }                                                                                              \
    static inline KH_UNUSED_FN T *name##_push_slot(name *x)                                        \
    {                                                                                              \
        return (T *)kh_vec_push_slot(&x->v);                                                       \
    }                                                                                              \
    static inline KH_UNUSED_FN int name##_pop(name *x, T *out)                                     \
    {                                                                                              \
        return kh_vec_pop(&x->v, out);                                                             \
    }                                                                                              \
    static inline KH_UNUSED_FN int name##_insert(name *x, size_t i, T val)                         \
    {                                                                                              \
        return kh_vec_insert(&x->v, i, &val);                                                      \
    }                                                                                              \
    static inline KH_UNUSED_FN int name##_remove(name *x, size_t i, T *out)                        \
    {                                                                                              \
        return kh_vec_remove(&x->v, i, out);                                                       \
    }                                                                                              \
    static inline KH_UNUSED_FN int name##_swap_remove(name *x, size_t i, T *out)                   \
    {                                                                                              \
        return kh_vec_swap_remove(&x->v, i, out);                                                  \
    }                                                                                              \
    static inline KH_UNUSED_FN int name##_extend(name *x, const T *arr, size_t n)                  \
    {                                                                                              \
        return kh_vec_extend(&x->v, arr, n);                                                       \
    }                                                                                              \
    static inline KH_UNUSED_FN void name##_truncate(name *x, size_t n)                             \
    {                                                                                              \
        kh_vec_truncate(&x->v, n);                                                                 \
    }                                                                                              \
    static inline KH_UNUSED_FN void name##_clear(name *x)                                          \
    {                                                                                              \
        kh_vec_clear(&x->v);                                                                       \
    }                                                                                              \
    static inline KH_UNUSED_FN T *name##_get(const name *x, size_t i)                              \
    {                                                                                              \
        return (T *)kh_vec_get(&x->v, i);                                                          \
    }                                                                                              \
    static inline KH_UNUSED_FN T *name##_at(const name *x, size_t i)                               \
    {                                                                                              \
        return (T *)kh_vec_at(&x->v, i);                                                           \
    }                                                                                              \
    static inline KH_UNUSED_FN T *name##_data(const name *x)                                       \
    {                                                                                              \
        return (T *)kh_vec_data(&x->v);                                                            \
    }                                                                                              \
    static inline KH_UNUSED_FN T *name##_last(const name *x)                                       \
    {                                                                                              \
        return (T *)kh_vec_last(&x->v);                                                            \
    }                                                                                              \
    static inline KH_UNUSED_FN size_t name##_len(const name *x)                                    \
    {                                                                                              \
        return x->v.len;                                                                           \
    }                                                                                              \
    static inline KH_UNUSED_FN size_t name##_capacity(const name *x)                               \
    {                                                                                              \
        return x->v.cap;                                                                           \
    }                                                                                              \
    static inline KH_UNUSED_FN void name##_sort(name *x, kh_cmp_fn cmp, void *ctx)                 \
    {                                                                                              \
        kh_vec_sort(&x->v, cmp, ctx);                                                              \
    }                                                                                              \
    static inline KH_UNUSED_FN int name##_bsearch(const name *x, const T *key, kh_cmp_fn cmp,      \
                                                  void *ctx, size_t *index)                        \
    {                                                                                              \
        return kh_vec_bsearch(&x->v, key, cmp, ctx, index);                                        \
    }                                                                                              \
    static inline KH_UNUSED_FN int name##_check(const name *x)                                     \
    {                                                                                              \
        return kh_vec_check(&x->v);                                                                \
    }

#ifdef __cplusplus
}
#endif

#endif /* KHEAP_VEC_H */
