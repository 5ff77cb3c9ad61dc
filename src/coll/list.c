/* SPDX-License-Identifier: MIT */
/* kheap lists: the exported twins of the intrusive list's inline functions,
 * and the owning list. */
#include "kheap/list.h"

#include <stdint.h>
#include "../internal/kh_string.h"

/* One external definition of each inline function (C99 6.7.4). */
extern inline void kh_list_init(struct kh_list_head *h);
extern inline void kh_list__link(struct kh_list_head *n, struct kh_list_head *prev,
                                 struct kh_list_head *next);
extern inline void kh_list_add(struct kh_list_head *n, struct kh_list_head *head);
extern inline void kh_list_add_tail(struct kh_list_head *n, struct kh_list_head *head);
extern inline bool kh_list__unlink_ok(const struct kh_list_head *e);
extern inline void kh_list__unlink(struct kh_list_head *e);
extern inline void kh_list_del(struct kh_list_head *e);
extern inline void kh_list_del_init(struct kh_list_head *e);
extern inline void kh_list_move(struct kh_list_head *e, struct kh_list_head *head);
extern inline void kh_list_move_tail(struct kh_list_head *e, struct kh_list_head *head);
extern inline void kh_list_replace(struct kh_list_head *old, struct kh_list_head *n);
extern inline bool kh_list_empty(const struct kh_list_head *head);
extern inline bool kh_list_is_singular(const struct kh_list_head *head);
extern inline bool kh_list_is_first(const struct kh_list_head *e, const struct kh_list_head *head);
extern inline bool kh_list_is_last(const struct kh_list_head *e, const struct kh_list_head *head);
extern inline struct kh_list_head *kh_list_first(const struct kh_list_head *head);
extern inline struct kh_list_head *kh_list_last(const struct kh_list_head *head);
extern inline void kh_list_splice_init(struct kh_list_head *list, struct kh_list_head *head);
extern inline void kh_list_splice_tail_init(struct kh_list_head *list, struct kh_list_head *head);

void *kh_container_of_ptr(const void *ptr, size_t offset)
{
    return ptr ? (void *)((uintptr_t)ptr - offset) : NULL;
}

size_t kh_list_count(const struct kh_list_head *head)
{
    size_t n = 0;
    for (const struct kh_list_head *p = head->next; p != head; p = p->next) n++;
    return n;
}

int kh_list_check(const struct kh_list_head *head)
{
    if (!head) return KH_ECORRUPT;
    const struct kh_list_head *p = head;
    do {
        if (!p->next || !p->prev || p->next->prev != p || p->prev->next != p) return KH_ECORRUPT;
        p = p->next;
    } while (p != head);
    return 0;
}

/* ---- owning list ---- */

int kh_olist_init_aligned(struct kh_olist *l, kh_allocator a, size_t elem_size, size_t align)
{
    if (!l) return KH_EINVAL;
    memset(l, 0, sizeof(*l));
    kh_list_init(&l->head);
    if (!a.ops || elem_size == 0 || !kh_align_valid(align)) return KH_EINVAL;
    /* Elements start at the node alignment past the links, so they are as
     * aligned as a malloc'd object (or as requested). */
    size_t na = align > KH_ALIGN_DEFAULT ? align : KH_ALIGN_DEFAULT;
    size_t off = (sizeof(struct kh_list_head) + na - 1) & ~(na - 1);
    if (elem_size > SIZE_MAX - off) return KH_EOVERFLOW;
    l->a = a;
    l->elem_size = elem_size;
    l->align = align > KH_ALIGN_DEFAULT ? align : 0;
    l->elem_off = off;
    l->node_size = off + elem_size;
    return 0;
}

int kh_olist_init(struct kh_olist *l, kh_allocator a, size_t elem_size)
{
    return kh_olist_init_aligned(l, a, elem_size, 0);
}

static inline void *node_elem(const struct kh_olist *l, const struct kh_list_head *n)
{
    return (char *)(uintptr_t)n + l->elem_off;
}

static inline struct kh_list_head *elem_node(const struct kh_olist *l, const void *e)
{
    return (struct kh_list_head *)(void *)((char *)(uintptr_t)e - l->elem_off);
}

/* A new node holding a copy of elem, not yet linked. */
static struct kh_list_head *node_new(struct kh_olist *l, const void *elem)
{
    struct kh_list_head *n = kh_alloc(l->a, l->node_size, l->align);
    if (!n) return NULL;
    memcpy(node_elem(l, n), elem, l->elem_size);
    return n;
}

static void node_free(struct kh_olist *l, struct kh_list_head *n)
{
    kh_free(l->a, n, l->node_size, l->align);
}

/* Checked builds: pos's node must be linked consistently. */
static bool pos_ok(const struct kh_olist *l, const void *pos)
{
#if KH_CONFIG_CHECKS
    const struct kh_list_head *n = elem_node(l, pos);
    if (!n->next || !n->prev || n->next->prev != n || n->prev->next != n) {
        kh_report(KH_EFAULT, "kh_olist: element not on a list", pos);
        return false;
    }
#else
    (void)l, (void)pos;
#endif
    return true;
}

static int olist_insert(struct kh_olist *l, struct kh_list_head *prev, const void *elem)
{
    struct kh_list_head *n = node_new(l, elem);
    if (!n) return KH_ENOMEM;
    kh_list__link(n, prev, prev->next);
    l->len++;
    return 0;
}

static bool olist_usable(const struct kh_olist *l, const void *elem)
{
    return l && l->elem_size && elem;
}

int kh_olist_push_back(struct kh_olist *l, const void *elem)
{
    if (!olist_usable(l, elem)) return KH_EINVAL;
    return olist_insert(l, l->head.prev, elem);
}

int kh_olist_push_front(struct kh_olist *l, const void *elem)
{
    if (!olist_usable(l, elem)) return KH_EINVAL;
    return olist_insert(l, &l->head, elem);
}

int kh_olist_insert_before(struct kh_olist *l, void *pos, const void *elem)
{
    if (!olist_usable(l, elem)) return KH_EINVAL;
    if (!pos) return olist_insert(l, l->head.prev, elem);
    if (!pos_ok(l, pos)) return KH_EFAULT;
    return olist_insert(l, elem_node(l, pos)->prev, elem);
}

int kh_olist_insert_after(struct kh_olist *l, void *pos, const void *elem)
{
    if (!olist_usable(l, elem)) return KH_EINVAL;
    if (!pos) return olist_insert(l, &l->head, elem);
    if (!pos_ok(l, pos)) return KH_EFAULT;
    return olist_insert(l, elem_node(l, pos), elem);
}

static void olist_take(struct kh_olist *l, struct kh_list_head *n, void *out)
{
    if (out) memcpy(out, node_elem(l, n), l->elem_size);
    kh_list__unlink(n);
    l->len--;
    node_free(l, n);
}

int kh_olist_pop_back(struct kh_olist *l, void *out)
{
    if (!l || !l->elem_size) return KH_EINVAL;
    if (!l->len) return KH_ENOENT;
    olist_take(l, l->head.prev, out);
    return 0;
}

int kh_olist_pop_front(struct kh_olist *l, void *out)
{
    if (!l || !l->elem_size) return KH_EINVAL;
    if (!l->len) return KH_ENOENT;
    olist_take(l, l->head.next, out);
    return 0;
}

int kh_olist_remove(struct kh_olist *l, void *pos, void *out)
{
    if (!l || !l->elem_size || !pos) return KH_EINVAL;
    if (!l->len || !pos_ok(l, pos)) return KH_EFAULT;
    olist_take(l, elem_node(l, pos), out);
    return 0;
}

void kh_olist_clear(struct kh_olist *l)
{
    if (!l || !l->elem_size) return;
    struct kh_list_head *p, *n;
    kh_list_for_each_safe(p, n, &l->head) node_free(l, p);
    kh_list_init(&l->head);
    l->len = 0;
}

void kh_olist_destroy(struct kh_olist *l)
{
    kh_olist_clear(l);
}

void *kh_olist_front(const struct kh_olist *l)
{
    return l && l->len ? node_elem(l, l->head.next) : NULL;
}

void *kh_olist_back(const struct kh_olist *l)
{
    return l && l->len ? node_elem(l, l->head.prev) : NULL;
}

void *kh_olist_next(const struct kh_olist *l, const void *elem)
{
    if (!l || !elem) return NULL;
    const struct kh_list_head *n = elem_node(l, elem)->next;
    return n == &l->head ? NULL : node_elem(l, n);
}

void *kh_olist_prev(const struct kh_olist *l, const void *elem)
{
    if (!l || !elem) return NULL;
    const struct kh_list_head *n = elem_node(l, elem)->prev;
    return n == &l->head ? NULL : node_elem(l, n);
}

size_t kh_olist_len(const struct kh_olist *l)
{
    return l ? l->len : 0;
}

bool kh_olist_is_empty(const struct kh_olist *l)
{
    return !l || l->len == 0;
}

int kh_olist_check(const struct kh_olist *l)
{
    if (!l || !l->a.ops || !l->elem_size) return KH_ECORRUPT;
    if (l->node_size != l->elem_off + l->elem_size) return KH_ECORRUPT;
    int rc = kh_list_check(&l->head);
    if (rc) return rc;
    return kh_list_count(&l->head) == l->len ? 0 : KH_ECORRUPT;
}
