/* SPDX-License-Identifier: MIT */
/* kheap lists: an intrusive doubly-linked list that never allocates (the
 * Linux list_head), and an owning list on top of it that allocates one node
 * per element (Rust's LinkedList, fallible).
 *
 * INTRUSIVE LIST (kh_list_head)
 *
 *   struct task { int id; struct kh_list_head link; };
 *   KH_LIST_HEAD(run_queue);                       // an empty list
 *   kh_list_add_tail(&t->link, &run_queue);        // O(1), cannot fail
 *   struct task *t;
 *   kh_list_for_each_entry(t, &run_queue, struct task, link) { ... }
 *
 *   Circular, with a sentinel head: an empty list is a head pointing at
 *   itself. Entries live inside the caller's objects; the list never
 *   allocates, so every operation is O(1) (kh_list_count and kh_list_check
 *   are O(n)) and none can fail. C11 has no typeof, so the *_entry macros
 *   take the containing type as an argument.
 *
 *   Misuse      Checked builds (KH_CONFIG_CHECKS) verify the neighbours'
 *               links before kh_list_del / kh_list_move (Linux's
 *               CONFIG_DEBUG_LIST): deleting an entry twice is reported as
 *               KH_EDOUBLE, broken links as KH_ECORRUPT, through kh_report(),
 *               and the call does nothing. kh_list_del leaves the entry's
 *               links NULL so a use after delete faults or is reported.
 *
 *   Twins       Every function is C99 `inline` in this header and also
 *               exported under the same name from src/coll/list.c (one extern
 *               inline definition), so FFI code and -O0 builds link to it.
 *               Needs C99 inline semantics (not -fgnu89-inline).
 *               KH_LIST_HEAD_INIT's twin is kh_list_init(); kh_container_of
 *               and kh_list_entry's twin is kh_container_of_ptr(ptr, offset);
 *               the iteration macros only follow the public next/prev
 *               fields, which FFI code can do directly.
 *
 * OWNING LIST (struct kh_olist)
 *
 *   Each element lives in its own node (allocated from the list's
 *   allocator), so element pointers stay valid until that element is
 *   removed, whatever else happens to the list. push / insert return 0 or
 *   KH_ENOMEM / KH_EOVERFLOW / KH_EINVAL and leave the list unchanged on
 *   failure. The struct holds a list head that points to itself: it must not
 *   be copied or moved after kh_olist_init (a struct holding it can be
 *   placed anywhere, but stays put). Typed wrapper: KH_OLIST_DEFINE.
 *
 *   Time        push / pop / insert / remove / next / prev: O(1).
 *               clear, destroy, check: O(n).
 */
#ifndef KHEAP_LIST_H
#define KHEAP_LIST_H

#include <stdbool.h>
#include <stddef.h>

#include "kheap/alloc.h"
#include "kheap/config.h"
#include "kheap/error.h"
#include "kheap/compiler.h"
#include "kheap/abi.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The inline operations below depend on KH_CONFIG_CHECKS: link-time check
 * that the library agrees (kheap/abi.h). */
#if KH_CONFIG_CHECKS
KH_ABI_REQUIRE(kh_abi_KH_CONFIG_CHECKS_1)
#else
KH_ABI_REQUIRE(kh_abi_KH_CONFIG_CHECKS_0)
#endif

struct kh_list_head {
    struct kh_list_head *next, *prev;
};

/* Static initializer of an empty list named `name`, and a definition. */
#define KH_LIST_HEAD_INIT(name)                                                                    \
    {                                                                                              \
        &(name), &(name)                                                                           \
    }
#define KH_LIST_HEAD(name) struct kh_list_head name = KH_LIST_HEAD_INIT(name)

/* The object of type `type` whose field `member` is at ptr. */
#define kh_container_of(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))
#define kh_list_entry(ptr, type, member)   kh_container_of(ptr, type, member)
/* First / last entry of a non-empty list. */
#define kh_list_first_entry(head, type, member) kh_list_entry((head)->next, type, member)
#define kh_list_last_entry(head, type, member)  kh_list_entry((head)->prev, type, member)

/* pos walks the links of head; do not remove pos inside the loop. */
#define kh_list_for_each(pos, head) for ((pos) = (head)->next; (pos) != (head); (pos) = (pos)->next)
#define kh_list_for_each_prev(pos, head)                                                           \
    for ((pos) = (head)->prev; (pos) != (head); (pos) = (pos)->prev)
/* As kh_list_for_each, with n holding the next link so pos may be removed. */
#define kh_list_for_each_safe(pos, n, head)                                                        \
    for ((pos) = (head)->next, (n) = (pos)->next; (pos) != (head); (pos) = (n), (n) = (pos)->next)
/* pos (a `type *`) walks the objects linked through `member`. */
#define kh_list_for_each_entry(pos, head, type, member)                                            \
    for ((pos) = kh_list_entry((head)->next, type, member); &(pos)->member != (head);              \
         (pos) = kh_list_entry((pos)->member.next, type, member))
#define kh_list_for_each_entry_safe(pos, n, head, type, member)                                    \
    for ((pos) = kh_list_entry((head)->next, type, member),                                        \
        (n) = kh_list_entry((pos)->member.next, type, member);                                     \
         &(pos)->member != (head);                                                                 \
         (pos) = (n), (n) = kh_list_entry((n)->member.next, type, member))

/* The twin of kh_container_of: ptr minus offset bytes. */
void *kh_container_of_ptr(const void *ptr, size_t offset);

/* Make h an empty list (or a detached entry). */
inline void kh_list_init(struct kh_list_head *h)
{
    h->next = h;
    h->prev = h;
}

inline void kh_list__link(struct kh_list_head *n, struct kh_list_head *prev,
                          struct kh_list_head *next)
{
    next->prev = n;
    n->next = next;
    n->prev = prev;
    prev->next = n;
}

/* Insert n right after head (a stack push) / right before head (at the
 * tail: a queue). n must not be on a list. */
inline void kh_list_add(struct kh_list_head *n, struct kh_list_head *head)
{
    kh_list__link(n, head, head->next);
}

inline void kh_list_add_tail(struct kh_list_head *n, struct kh_list_head *head)
{
    kh_list__link(n, head->prev, head);
}

/* Checked builds: true when e may be unlinked (reports otherwise). */
inline bool kh_list__unlink_ok(const struct kh_list_head *e)
{
#if KH_CONFIG_CHECKS
    if (!e->next || !e->prev) {
        kh_report(KH_EDOUBLE, "kh_list_del: entry not on a list (deleted twice?)", e);
        return false;
    }
    if (e->next->prev != e || e->prev->next != e) {
        kh_report(KH_ECORRUPT, "kh_list_del: neighbours' links are broken", e);
        return false;
    }
#else
    (void)e;
#endif
    return true;
}

inline void kh_list__unlink(struct kh_list_head *e)
{
    e->next->prev = e->prev;
    e->prev->next = e->next;
}

/* Remove e from its list; its links become NULL. */
inline void kh_list_del(struct kh_list_head *e)
{
    if (!kh_list__unlink_ok(e)) return;
    kh_list__unlink(e);
    e->next = NULL;
    e->prev = NULL;
}

/* Remove e from its list and make it an empty list of its own, so it can be
 * deleted again or tested with kh_list_empty. */
inline void kh_list_del_init(struct kh_list_head *e)
{
    if (!kh_list__unlink_ok(e)) return;
    kh_list__unlink(e);
    kh_list_init(e);
}

/* Move e from its list to right after head / before head. */
inline void kh_list_move(struct kh_list_head *e, struct kh_list_head *head)
{
    if (!kh_list__unlink_ok(e)) return;
    kh_list__unlink(e);
    kh_list_add(e, head);
}

inline void kh_list_move_tail(struct kh_list_head *e, struct kh_list_head *head)
{
    if (!kh_list__unlink_ok(e)) return;
    kh_list__unlink(e);
    kh_list_add_tail(e, head);
}

/* Put n where old is (old's links are left as they were). */
inline void kh_list_replace(struct kh_list_head *old, struct kh_list_head *n)
{
    n->next = old->next;
    n->next->prev = n;
    n->prev = old->prev;
    n->prev->next = n;
}

inline bool kh_list_empty(const struct kh_list_head *head)
{
    return head->next == head;
}

/* Exactly one entry. */
inline bool kh_list_is_singular(const struct kh_list_head *head)
{
    return head->next != head && head->next == head->prev;
}

inline bool kh_list_is_first(const struct kh_list_head *e, const struct kh_list_head *head)
{
    return e->prev == head;
}

inline bool kh_list_is_last(const struct kh_list_head *e, const struct kh_list_head *head)
{
    return e->next == head;
}

/* First / last link, NULL when empty. */
inline struct kh_list_head *kh_list_first(const struct kh_list_head *head)
{
    return head->next == head ? NULL : head->next;
}

inline struct kh_list_head *kh_list_last(const struct kh_list_head *head)
{
    return head->prev == head ? NULL : head->prev;
}

/* Move every entry of list to the front / the back of head; list becomes
 * empty. */
inline void kh_list_splice_init(struct kh_list_head *list, struct kh_list_head *head)
{
    if (list->next == list) return;
    struct kh_list_head *first = list->next, *last = list->prev, *at = head->next;
    first->prev = head;
    head->next = first;
    last->next = at;
    at->prev = last;
    kh_list_init(list);
}

inline void kh_list_splice_tail_init(struct kh_list_head *list, struct kh_list_head *head)
{
    if (list->next == list) return;
    struct kh_list_head *first = list->next, *last = list->prev, *at = head->prev;
    first->prev = at;
    at->next = first;
    last->next = head;
    head->prev = last;
    kh_list_init(list);
}

/* Number of entries. O(n). */
size_t kh_list_count(const struct kh_list_head *head);
/* Walk the whole list checking next->prev == self at every link; 0, or
 * KH_ECORRUPT (also for a NULL link). O(n); always terminates: consistent
 * back links make the forward walk return to head. */
int kh_list_check(const struct kh_list_head *head);

/* ---- owning list ---- */

struct kh_olist {
    kh_allocator a;
    struct kh_list_head head; /* self-referential: do not move the struct */
    size_t len;
    size_t elem_size;
    size_t align;     /* node allocation alignment (0 = KH_ALIGN_DEFAULT) */
    size_t elem_off;  /* element offset inside a node */
    size_t node_size; /* bytes per node */
};

/* Empty list of elem_size-byte elements; allocates nothing. KH_EINVAL for l
 * NULL, a without ops, elem_size 0 or a non-power-of-two align;
 * KH_EOVERFLOW when a node's size would wrap. */
int kh_olist_init(struct kh_olist *l, kh_allocator a, size_t elem_size);
int kh_olist_init_aligned(struct kh_olist *l, kh_allocator a, size_t elem_size, size_t align);
/* Free every node; l becomes empty and may be reused. */
void kh_olist_destroy(struct kh_olist *l);

/* Add a copy of elem at the back / front: one allocation. */
int kh_olist_push_back(struct kh_olist *l, const void *elem);
int kh_olist_push_front(struct kh_olist *l, const void *elem);
/* Add a copy of elem before / after the element pos of this list (pos NULL:
 * at the back / at the front). */
int kh_olist_insert_before(struct kh_olist *l, void *pos, const void *elem);
int kh_olist_insert_after(struct kh_olist *l, void *pos, const void *elem);
/* Remove the back / front element, copied to out when out is not NULL, and
 * free its node. KH_ENOENT when empty. */
int kh_olist_pop_back(struct kh_olist *l, void *out);
int kh_olist_pop_front(struct kh_olist *l, void *out);
/* Remove element pos (an element pointer from this list). Checked builds
 * refuse a pos whose node links are broken (KH_EFAULT). */
int kh_olist_remove(struct kh_olist *l, void *pos, void *out);
/* Free every node; keeps nothing. */
void kh_olist_clear(struct kh_olist *l);

/* Element pointers, NULL at the ends / when empty. */
void *kh_olist_front(const struct kh_olist *l);
void *kh_olist_back(const struct kh_olist *l);
void *kh_olist_next(const struct kh_olist *l, const void *elem);
void *kh_olist_prev(const struct kh_olist *l, const void *elem);
size_t kh_olist_len(const struct kh_olist *l);
bool kh_olist_is_empty(const struct kh_olist *l);

/* Links consistent, node count == len. 0 or KH_ECORRUPT. O(n). */
int kh_olist_check(const struct kh_olist *l);

/* ---- typed wrapper ----
 * KH_OLIST_DEFINE(name, T): `typedef struct name { struct kh_olist l; } name;`
 * and static inline name_init(x, a), name_destroy, name_push_back(x, T),
 * name_push_front(x, T), name_insert_before(x, T *pos, T),
 * name_insert_after(x, T *pos, T), name_pop_back(x, T *out),
 * name_pop_front(x, T *out), name_remove(x, T *pos, T *out),
 * name_front / name_back(x) -> T *, name_next / name_prev(x, T *) -> T *,
 * name_len, name_clear, name_check. Iterate with
 *   for (T *p = name_front(&x); p; p = name_next(&x, p)) ...
 */
#define KH_OLIST_DEFINE(name, T)                                                                   \
    typedef struct name {                                                                          \
        struct kh_olist l;                                                                         \
    } name;                                                                                        \
    static inline KH_UNUSED_FN int name##_init(name *x, kh_allocator a)                            \
    {                                                                                              \
        return kh_olist_init_aligned(&x->l, a, sizeof(T), KH_ALIGNOF(T));                          \
    }                                                                                              \
    static inline KH_UNUSED_FN void name##_destroy(name *x)                                        \
    {                                                                                              \
        kh_olist_destroy(&x->l);                                                                   \
    }                                                                                              \
    static inline KH_UNUSED_FN int name##_push_back(name *x, T val)                                \
    {                                                                                              \
        return kh_olist_push_back(&x->l, &val);                                                    \
    }                                                                                              \
    static inline KH_UNUSED_FN int name##_push_front(name *x, T val)                               \
    {                                                                                              \
        return kh_olist_push_front(&x->l, &val);                                                   \
    }                                                                                              \
    static inline KH_UNUSED_FN int name##_insert_before(name *x, T *pos, T val)                    \
    {                                                                                              \
        return kh_olist_insert_before(&x->l, pos, &val);                                           \
    }                                                                                              \
    static inline KH_UNUSED_FN int name##_insert_after(name *x, T *pos, T val)                     \
    {                                                                                              \
        return kh_olist_insert_after(&x->l, pos, &val);                                            \
    }                                                                                              \
    static inline KH_UNUSED_FN int name##_pop_back(name *x, T *out)                                \
    {                                                                                              \
        return kh_olist_pop_back(&x->l, out);                                                      \
    }                                                                                              \
    static inline KH_UNUSED_FN int name##_pop_front(name *x, T *out)                               \
    {                                                                                              \
        return kh_olist_pop_front(&x->l, out);                                                     \
    }                                                                                              \
    static inline KH_UNUSED_FN int name##_remove(name *x, T *pos, T *out)                          \
    {                                                                                              \
        return kh_olist_remove(&x->l, pos, out);                                                   \
    }                                                                                              \
    static inline KH_UNUSED_FN T *name##_front(const name *x)                                      \
    {                                                                                              \
        return (T *)kh_olist_front(&x->l);                                                         \
    }                                                                                              \
    static inline KH_UNUSED_FN T *name##_back(const name *x)                                       \
    {                                                                                              \
        return (T *)kh_olist_back(&x->l);                                                          \
    }                                                                                              \
    static inline KH_UNUSED_FN T *name##_next(const name *x, const T *p)                           \
    {                                                                                              \
        return (T *)kh_olist_next(&x->l, p);                                                       \
    }                                                                                              \
    static inline KH_UNUSED_FN T *name##_prev(const name *x, const T *p)                           \
    {                                                                                              \
        return (T *)kh_olist_prev(&x->l, p);                                                       \
    }                                                                                              \
    static inline KH_UNUSED_FN size_t name##_len(const name *x)                                    \
    {                                                                                              \
        return x->l.len;                                                                           \
    }                                                                                              \
    static inline KH_UNUSED_FN void name##_clear(name *x)                                          \
    {                                                                                              \
        kh_olist_clear(&x->l);                                                                     \
    }                                                                                              \
    static inline KH_UNUSED_FN int name##_check(const name *x)                                     \
    {                                                                                              \
        return kh_olist_check(&x->l);                                                              \
    }

#ifdef __cplusplus
}
#endif

#endif /* KHEAP_LIST_H */
