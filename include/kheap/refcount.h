/* SPDX-License-Identifier: MIT */
/* kheap refcounts: Linux refcount_t semantics (saturate, never wrap) and a
 * kref-style get/put with a release callback.
 *
 * DATASHEET
 *
 * Counter     kh_refcount_t wraps a kh_atomic_t (kheap/atomic.h): 4 bytes,
 *             lock-free on every target kheap supports. Static initialiser
 *             KH_REFCOUNT_INIT(n), run time kh_refcount_set(r, n).
 * Range       0 .. INT_MAX references. Any value with the sign bit set is
 *             "saturated": KH_REFCOUNT_SATURATED (INT_MIN / 2), far from both
 *             ends, so racing increments and decrements cannot move it back
 *             into the valid range.
 * Saturation  Instead of wrapping into a use-after-free, the counter pins to
 *             KH_REFCOUNT_SATURATED, and the object leaks (is never released),
 *             when an operation would
 *               - increment from 0 (kh_refcount_inc/add on a dead object),
 *               - overflow past INT_MAX,
 *               - underflow below 0 (more puts than gets),
 *               - reach 0 through kh_refcount_dec (which cannot free).
 *             Each is reported once per counter, on the transition, through
 *             kh_report(KH_ERANGE, what, r) (kheap/error.h). Later operations
 *             on a saturated counter keep it saturated silently; reads return
 *             (unsigned)KH_REFCOUNT_SATURATED. A leak is a bug you can find;
 *             a use-after-free is an exploit.
 * Bad input   n <= 0 to kh_refcount_add/sub_and_test, or a NULL release to
 *             kh_kref_put: reported as KH_EINVAL, the counter is untouched.
 * Ordering    As Linux: inc/add/inc_not_zero order nothing (taking a reference
 *             needs an existing one); dec/dec_and_test/sub_and_test release
 *             everything before them, and a dec_and_test that returns true
 *             also acquires, so the releasing thread sees every other
 *             holder's writes before it frees the object.
 * Twins       All functions are out of line. KH_REFCOUNT_INIT's twin is
 *             kh_refcount_set, KH_KREF_INIT's is kh_kref_init.
 */
#ifndef KHEAP_REFCOUNT_H
#define KHEAP_REFCOUNT_H

#include <stdbool.h>

#include "kheap/atomic.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    kh_atomic_t refs;
} kh_refcount_t;

/* INT_MIN / 2 and INT_MAX, from the compiler's own macros: no <limits.h>,
 * which some freestanding toolchains do not ship. */
#define KH_REFCOUNT_SATURATED (-(__INT_MAX__ / 2) - 1)
#define KH_REFCOUNT_MAX       __INT_MAX__
#define KH_REFCOUNT_INIT(n)                                                                        \
    {                                                                                              \
        KH_ATOMIC_INIT(n)                                                                          \
    }

/* Set the count (no checks; KH_REFCOUNT_SATURATED makes an object immortal). */
void kh_refcount_set(kh_refcount_t *r, int n);
/* The count; (unsigned)KH_REFCOUNT_SATURATED once saturated. */
unsigned int kh_refcount_read(const kh_refcount_t *r);
/* True when the counter has saturated. */
bool kh_refcount_is_saturated(const kh_refcount_t *r);

/* Take a reference. From 0 or past INT_MAX: saturate and report. */
void kh_refcount_inc(kh_refcount_t *r);
/* Take n (> 0) references. From 0 or past INT_MAX: saturate and report. */
void kh_refcount_add(kh_refcount_t *r, int n);
/* Take a reference unless the count is 0 (object being released): true when
 * taken. Acquire on success, so the caller sees the object as published. */
bool kh_refcount_inc_not_zero(kh_refcount_t *r);
/* As kh_refcount_inc_not_zero for n (> 0) references. */
bool kh_refcount_add_not_zero(kh_refcount_t *r, int n);

/* Drop a reference that is known not to be the last. Reaching 0 here is a
 * leak (nobody will free): saturate and report. */
void kh_refcount_dec(kh_refcount_t *r);
/* Drop a reference: true when it was the last (the caller frees). Below 0:
 * saturate, report, false. */
bool kh_refcount_dec_and_test(kh_refcount_t *r);
/* Drop n (> 0) references: true when the count reached 0. */
bool kh_refcount_sub_and_test(kh_refcount_t *r, int n);

/* ---- kref: a refcount embedded in an object, with a release callback. ---- */
struct kh_kref {
    kh_refcount_t refcount;
};
#define KH_KREF_INIT(n)                                                                            \
    {                                                                                              \
        KH_REFCOUNT_INIT(n)                                                                        \
    }

/* Count 1: the creator's reference. */
void kh_kref_init(struct kh_kref *k);
unsigned int kh_kref_read(const struct kh_kref *k);
void kh_kref_get(struct kh_kref *k);
/* Take a reference unless the object is already being released. */
bool kh_kref_get_unless_zero(struct kh_kref *k);
/* Drop a reference; on the last one call release(k) (which frees the object,
 * typically through container_of) and return 1; otherwise return 0. A NULL
 * release is reported (KH_EINVAL) and nothing is dropped. */
int kh_kref_put(struct kh_kref *k, void (*release)(struct kh_kref *k));

#ifdef __cplusplus
}
#endif

#endif /* KHEAP_REFCOUNT_H */
