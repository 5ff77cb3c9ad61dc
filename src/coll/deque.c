/* SPDX-License-Identifier: MIT */
/* kheap deque: ring buffer over element size. */
#include "kheap/deque.h"

#include <stdint.h>
#include "../internal/kh_string.h"

#include "kheap/config.h"
#include "kheap/error.h"

int kh_deque_init_aligned(struct kh_deque *d, kh_allocator a, size_t elem_size, size_t align)
{
    if (!d) return KH_EINVAL;
    memset(d, 0, sizeof(*d));
    if (!a.ops || elem_size == 0 || !kh_align_valid(align)) return KH_EINVAL;
    d->a = a;
    d->elem_size = elem_size;
    d->align = align <= KH_ALIGN_DEFAULT ? 0 : align;
    return 0;
}

int kh_deque_init(struct kh_deque *d, kh_allocator a, size_t elem_size)
{
    return kh_deque_init_aligned(d, a, elem_size, 0);
}

void kh_deque_destroy(struct kh_deque *d)
{
    if (!d) return;
    if (d->data) kh_free(d->a, d->data, d->cap * d->elem_size, d->align);
    d->data = NULL;
    d->head = d->len = d->cap = 0;
}

/* Slot of element i (i < cap), without forming head + i, which could wrap
 * size_t for 1-byte elements. */
static inline size_t slot(const struct kh_deque *d, size_t i)
{
    return i < d->cap - d->head ? d->head + i : i - (d->cap - d->head);
}

static inline char *slot_ptr(const struct kh_deque *d, size_t s)
{
    return (char *)d->data + s * d->elem_size;
}

/* Grow to new_cap slots (> cap) keeping every element at its index. */
static int deque_set_cap(struct kh_deque *d, size_t new_cap)
{
    size_t es = d->elem_size;
    if (new_cap > SIZE_MAX / es) return KH_EOVERFLOW;
    char *p = kh_realloc(d->a, d->data, d->cap * es, new_cap * es, d->align, 0);
    if (!p) return KH_ENOMEM;
    size_t old_cap = d->cap;
    d->data = p;
    d->cap = new_cap;
    /* Wrapped: move the front run [head, old_cap) up to the new end. */
    if (d->len > old_cap - d->head) {
        size_t front = old_cap - d->head;
        size_t nh = new_cap - front;
        memmove(p + nh * es, p + d->head * es, front * es);
        d->head = nh;
    }
    return 0;
}

int kh_deque_reserve(struct kh_deque *d, size_t additional)
{
    if (!d || !d->elem_size) return KH_EINVAL;
    if (additional <= d->cap - d->len) return 0;
    if (additional > SIZE_MAX - d->len) return KH_EOVERFLOW;
    size_t need = d->len + additional;
    if (need > SIZE_MAX / d->elem_size) return KH_EOVERFLOW;
    size_t cap = d->cap <= SIZE_MAX / 2 ? d->cap * 2 : SIZE_MAX;
    if (cap < 4) cap = 4;
    if (cap > SIZE_MAX / d->elem_size) cap = SIZE_MAX / d->elem_size;
    if (cap < need) cap = need;
    int rc = deque_set_cap(d, cap);
    if (rc == KH_ENOMEM && cap != need) rc = deque_set_cap(d, need);
    return rc;
}

int kh_deque_shrink_to_fit(struct kh_deque *d)
{
    if (!d || !d->elem_size) return KH_EINVAL;
    if (d->cap == d->len) return 0;
    size_t es = d->elem_size;
    if (d->len == 0) {
        kh_deque_destroy(d);
        return 0;
    }
    /* A fresh block holding the elements in order: the old one stays intact
     * until the copy is done, so failure changes nothing. */
    char *p = kh_alloc(d->a, d->len * es, d->align);
    if (!p) return KH_ENOMEM;
    size_t first = d->cap - d->head < d->len ? d->cap - d->head : d->len;
    memcpy(p, slot_ptr(d, d->head), first * es);
    memcpy(p + first * es, d->data, (d->len - first) * es);
    kh_free(d->a, d->data, d->cap * es, d->align);
    d->data = p;
    d->cap = d->len;
    d->head = 0;
    return 0;
}

/* Make room for one more element. elem may point into d (pushing a copy of
 * an element of d itself): growing can move the buffer and the front run,
 * so the source is returned re-found by its logical index. */
static const void *deque_room_for(struct kh_deque *d, const void *elem, int *rc)
{
    size_t es = d->elem_size, bytes = d->cap * es;
    uintptr_t b = (uintptr_t)d->data, q = (uintptr_t)elem;
    bool inside = d->data && q >= b && q - b < bytes;
    size_t off = inside ? (size_t)(q - b) : 0;
    /* Logical index of the slot holding it (>= len for a free slot). */
    size_t s = off / es, in = off % es;
    size_t idx = s >= d->head ? s - d->head : s + (d->cap - d->head);
    *rc = kh_deque_reserve(d, 1);
    if (*rc || !inside) return elem;
    if (idx < d->len) return slot_ptr(d, slot(d, idx)) + in;
    return (const char *)d->data + off; /* a free slot: same bytes, still inside */
}

int kh_deque_push_back(struct kh_deque *d, const void *elem)
{
    if (!d || !elem || !d->elem_size) return KH_EINVAL;
    int rc;
    elem = deque_room_for(d, elem, &rc);
    if (rc) return rc;
    memmove(slot_ptr(d, slot(d, d->len)), elem, d->elem_size);
    d->len++;
    return 0;
}

int kh_deque_push_front(struct kh_deque *d, const void *elem)
{
    if (!d || !elem || !d->elem_size) return KH_EINVAL;
    int rc;
    elem = deque_room_for(d, elem, &rc);
    if (rc) return rc;
    d->head = d->head ? d->head - 1 : d->cap - 1;
    memmove(slot_ptr(d, d->head), elem, d->elem_size);
    d->len++;
    return 0;
}

int kh_deque_pop_back(struct kh_deque *d, void *out)
{
    if (!d) return KH_EINVAL;
    if (!d->len) return KH_ENOENT;
    d->len--;
    if (out) memcpy(out, slot_ptr(d, slot(d, d->len)), d->elem_size);
    return 0;
}

int kh_deque_pop_front(struct kh_deque *d, void *out)
{
    if (!d) return KH_EINVAL;
    if (!d->len) return KH_ENOENT;
    if (out) memcpy(out, slot_ptr(d, d->head), d->elem_size);
    d->head = d->head + 1 == d->cap ? 0 : d->head + 1;
    d->len--;
    return 0;
}

void *kh_deque_get(const struct kh_deque *d, size_t i)
{
    if (!d || i >= d->len) return NULL;
    return slot_ptr(d, slot(d, i));
}

void *kh_deque_at(const struct kh_deque *d, size_t i)
{
    if (!d || i >= d->len) {
#if KH_CONFIG_CHECKS
        kh_report(KH_EINVAL, "kh_deque_at: index out of range", d);
#endif
        return NULL;
    }
    return slot_ptr(d, slot(d, i));
}

void *kh_deque_front(const struct kh_deque *d)
{
    return kh_deque_get(d, 0);
}

void *kh_deque_back(const struct kh_deque *d)
{
    return d && d->len ? kh_deque_get(d, d->len - 1) : NULL;
}

size_t kh_deque_len(const struct kh_deque *d)
{
    return d ? d->len : 0;
}

size_t kh_deque_capacity(const struct kh_deque *d)
{
    return d ? d->cap : 0;
}

bool kh_deque_is_empty(const struct kh_deque *d)
{
    return !d || d->len == 0;
}

void kh_deque_clear(struct kh_deque *d)
{
    if (!d) return;
    d->len = 0;
    d->head = 0;
}

int kh_deque_check(const struct kh_deque *d)
{
    if (!d || !d->a.ops || !d->elem_size) return KH_ECORRUPT;
    if ((d->data == NULL) != (d->cap == 0)) return KH_ECORRUPT;
    if (d->len > d->cap) return KH_ECORRUPT;
    if (d->cap ? d->head >= d->cap : d->head != 0) return KH_ECORRUPT;
    if (d->cap > SIZE_MAX / d->elem_size) return KH_ECORRUPT;
    if (!kh_align_valid(d->align) || (d->align && d->align <= KH_ALIGN_DEFAULT)) return KH_ECORRUPT;
    if (d->align && ((uintptr_t)d->data & (d->align - 1))) return KH_ECORRUPT;
    return 0;
}
