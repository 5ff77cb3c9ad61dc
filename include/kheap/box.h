/* SPDX-License-Identifier: MIT */
/* kheap box, rc, arc: owned and reference-counted heap objects on any allocator.
 *
 * Rust's Box<T>, Rc<T> and Arc<T> for C, with fallible construction. Every object
 * lives in memory from the kh_allocator given at creation; nothing uses a
 * global allocator.
 *
 * box   kh_box_new() allocates size bytes aligned to align and initializes
 *       them (an init callback, a copy of a value, or zeroes). The box is a
 *       plain pointer with no header; kh_box_free() takes the allocator, size
 *       and align back (Zig style) and runs an optional drop callback first.
 *
 * rc    kh_rc_new() allocates a small header (count, allocator, size, align,
 *       drop callback) right before the object and returns the object's
 *       address. kh_rc_clone() adds a reference, kh_rc_release() drops one;
 *       the release that takes the count to zero calls the drop callback
 *       exactly once and frees the memory. Not thread-safe: for objects
 *       shared between threads use arc.
 *
 * arc   The same with an atomic count: kheap's refcount (kheap/refcount.h,
 *       Linux refcount_t semantics). Clones and releases may race freely
 *       from any number of threads; exactly one release sees the count reach
 *       zero, runs drop and frees, after every other holder's writes (the
 *       refcount's release/acquire ordering). A count that would overflow
 *       or go below zero saturates instead (reported as KH_ERANGE by the
 *       refcount): the object then leaks rather than being freed while in
 *       use. The allocator must be safe to call from the thread that drops
 *       the last reference (wrap a heap in a lock if several threads do).
 *
 * Typed use: KH_BOX_DEFINE(name, T), KH_RC_DEFINE(name, T) and
 * KH_ARC_DEFINE(name, T) generate static inline wrappers (name_new(a, value)
 * -> T *, ...) over the generic functions below, which are the exported,
 * FFI-friendly entry points.
 *
 * Errors      Constructors return NULL when the allocator fails, size/align
 *             would overflow, align is not a power of two, or init fails
 *             (returns non-zero); nothing is leaked in any of these cases.
 * Misuse      Checked builds (KH_CONFIG_CHECKS) keep a magic word in the
 *             header, different for rc and arc: kh_rc_* of a pointer that is
 *             not a live rc object, or kh_arc_* of one that is not an arc
 *             object (or whose header was overwritten), is reported as
 *             KH_EFAULT and refused. An rc count that would overflow is
 *             reported as KH_ERANGE and the clone refused (NULL); an arc
 *             count saturates (see arc above) and the clone still succeeds.
 * Time        O(1) plus init/drop callbacks and the allocator.
 */
#ifndef KHEAP_BOX_H
#define KHEAP_BOX_H

#include <stdbool.h>
#include <stddef.h>

#include "kheap/alloc.h"
#include "kheap/compiler.h"
#include "kheap/config.h"
#include "kheap/refcount.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Initialize a fresh object in place; return 0, or non-zero to abandon the
 * construction (the memory is freed and the constructor returns NULL). */
typedef int (*kh_init_fn)(void *obj, void *arg);
/* Release what an object owns, just before its memory is freed. */
typedef void (*kh_drop_fn)(void *obj);

/* ---- box ---- */

/* Allocate size bytes aligned to align (0 = KH_ALIGN_DEFAULT) and run
 * init(obj, arg); init NULL zeroes the object. NULL on failure. */
void *kh_box_new(kh_allocator a, size_t size, size_t align, kh_init_fn init, void *arg);
/* Allocate and copy size bytes from src. NULL on failure or src NULL. */
void *kh_box_new_copy(kh_allocator a, size_t size, size_t align, const void *src);
/* Call drop(obj) (if not NULL), then free obj, which was created with the
 * same allocator, size and align. obj NULL does nothing. */
void kh_box_free(kh_allocator a, void *obj, size_t size, size_t align, kh_drop_fn drop);

/* ---- rc (non-atomic reference count) ---- */

/* A new object with count 1: size bytes aligned to align, initialized by
 * init(obj, arg) (NULL = zeroes); drop(obj) (may be NULL) runs when the last
 * reference is released. NULL on failure. */
void *kh_rc_new(kh_allocator a, size_t size, size_t align, kh_init_fn init, void *arg,
                kh_drop_fn drop);
/* A new object with count 1 holding a copy of size bytes at src. */
void *kh_rc_new_copy(kh_allocator a, size_t size, size_t align, const void *src, kh_drop_fn drop);
/* Add a reference; returns obj, or NULL when obj is NULL, not an rc object
 * (checked builds) or the count would overflow. */
void *kh_rc_clone(void *obj);
/* Drop a reference. When it was the last: drop(obj), free, return true.
 * Otherwise return false. obj NULL returns false. */
bool kh_rc_release(void *obj);
/* Current number of references (0 for NULL or, checked builds, a bad pointer). */
size_t kh_rc_count(const void *obj);

/* ---- arc (atomic reference count) ---- */

/* As kh_rc_new / kh_rc_new_copy, with an atomic count starting at 1. */
void *kh_arc_new(kh_allocator a, size_t size, size_t align, kh_init_fn init, void *arg,
                 kh_drop_fn drop);
void *kh_arc_new_copy(kh_allocator a, size_t size, size_t align, const void *src, kh_drop_fn drop);
/* Add a reference (the caller holds one); returns obj, NULL for NULL or
 * (checked builds) a pointer that is not an arc object. */
void *kh_arc_clone(void *obj);
/* Add a reference unless the count already reached zero (the object is
 * being dropped): obj, or NULL. For objects found through a table that does
 * not hold its own reference. */
void *kh_arc_try_clone(void *obj);
/* Drop a reference; the last one runs drop(obj), frees and returns true. */
bool kh_arc_release(void *obj);
/* Current count: a snapshot, stale as soon as another thread moves it.
 * (unsigned)KH_REFCOUNT_SATURATED once saturated, 0 for NULL or a bad
 * pointer (checked builds). */
size_t kh_arc_count(const void *obj);

/* ---- typed wrappers ----
 * KH_BOX_DEFINE(name, T) gives:
 *   T *name_new(kh_allocator a, T value);      copy of value, NULL on failure
 *   void name_free(kh_allocator a, T *obj, kh_drop_fn drop);
 * KH_RC_DEFINE(name, T) gives:
 *   T *name_new(kh_allocator a, T value, kh_drop_fn drop);
 *   T *name_clone(T *obj);  bool name_release(T *obj);  size_t name_count(const T *obj);
 * KH_ARC_DEFINE(name, T) gives the same set as KH_RC_DEFINE plus
 *   T *name_try_clone(T *obj);
 */

#define KH_BOX_DEFINE(name, T)                                                                     \
    static inline KH_UNUSED_FN T *name##_new(kh_allocator a, T value)                              \
    {                                                                                              \
        return (T *)kh_box_new_copy(a, sizeof(T), KH_ALIGNOF(T), &value);                          \
    }                                                                                              \
    static inline KH_UNUSED_FN void name##_free(kh_allocator a, T *obj, kh_drop_fn drop)           \
    {                                                                                              \
        kh_box_free(a, obj, sizeof(T), KH_ALIGNOF(T), drop);                                       \
    }

#define KH_RC_DEFINE(name, T)                                                                      \
    static inline KH_UNUSED_FN T *name##_new(kh_allocator a, T value, kh_drop_fn drop)             \
    {                                                                                              \
        return (T *)kh_rc_new_copy(a, sizeof(T), KH_ALIGNOF(T), &value, drop);                     \
    }                                                                                              \
    static inline KH_UNUSED_FN T *name##_clone(T *obj)                                             \
    {                                                                                              \
        return (T *)kh_rc_clone(obj);                                                              \
    }                                                                                              \
    static inline KH_UNUSED_FN bool name##_release(T *obj)                                         \
    {                                                                                              \
        return kh_rc_release(obj);                                                                 \
    }                                                                                              \
    static inline KH_UNUSED_FN size_t name##_count(const T *obj)                                   \
    {                                                                                              \
        return kh_rc_count(obj);                                                                   \
    }

#define KH_ARC_DEFINE(name, T)                                                                     \
    static inline KH_UNUSED_FN T *name##_new(kh_allocator a, T value, kh_drop_fn drop)             \
    {                                                                                              \
        return (T *)kh_arc_new_copy(a, sizeof(T), KH_ALIGNOF(T), &value, drop);                    \
    }                                                                                              \
    static inline KH_UNUSED_FN T *name##_clone(T *obj)                                             \
    {                                                                                              \
        return (T *)kh_arc_clone(obj);                                                             \
    }                                                                                              \
    static inline KH_UNUSED_FN T *name##_try_clone(T *obj)                                         \
    {                                                                                              \
        return (T *)kh_arc_try_clone(obj);                                                         \
    }                                                                                              \
    static inline KH_UNUSED_FN bool name##_release(T *obj)                                         \
    {                                                                                              \
        return kh_arc_release(obj);                                                                \
    }                                                                                              \
    static inline KH_UNUSED_FN size_t name##_count(const T *obj)                                   \
    {                                                                                              \
        return kh_arc_count(obj);                                                                  \
    }

#ifdef __cplusplus
}
#endif

#endif /* KHEAP_BOX_H */
