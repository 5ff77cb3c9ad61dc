/* SPDX-License-Identifier: MIT */
/* kheap pqueue: binary max-heap over a vec. */
#include "kheap/pqueue.h"

#include <stdint.h>
#include "../internal/kh_string.h"

#include "kheap/error.h"

static void swap_elems(char *a, char *b, size_t n)
{
    unsigned char t[64];
    while (n) {
        size_t k = n < sizeof t ? n : sizeof t;
        memcpy(t, a, k);
        memcpy(a, b, k);
        memcpy(b, t, k);
        a += k;
        b += k;
        n -= k;
    }
}

static void sift_up(char *base, size_t i, size_t size, kh_cmp_fn cmp, void *ctx)
{
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        char *pi = base + i * size, *pp = base + parent * size;
        if (cmp(pp, pi, ctx) >= 0) return;
        swap_elems(pp, pi, size);
        i = parent;
    }
}

static void sift_down(char *base, size_t i, size_t n, size_t size, kh_cmp_fn cmp, void *ctx)
{
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n) return;
        if (c + 1 < n && cmp(base + c * size, base + (c + 1) * size, ctx) < 0) c++;
        if (cmp(base + i * size, base + c * size, ctx) >= 0) return;
        swap_elems(base + i * size, base + c * size, size);
        i = c;
    }
}

void kh_heapify(void *base, size_t n, size_t size, kh_cmp_fn cmp, void *ctx)
{
    if (!base || n < 2 || !size || !cmp) return;
    for (size_t i = n / 2; i-- > 0;) sift_down(base, i, n, size, cmp, ctx);
}

int kh_pqueue_init_aligned(struct kh_pqueue *q, kh_allocator a, size_t elem_size, size_t align,
                           kh_cmp_fn cmp, void *ctx)
{
    if (!q) return KH_EINVAL;
    int rc = kh_vec_init_aligned(&q->v, a, elem_size, align);
    q->cmp = cmp;
    q->ctx = ctx;
    if (!rc && !cmp) rc = KH_EINVAL;
    return rc;
}

int kh_pqueue_init(struct kh_pqueue *q, kh_allocator a, size_t elem_size, kh_cmp_fn cmp, void *ctx)
{
    return kh_pqueue_init_aligned(q, a, elem_size, 0, cmp, ctx);
}

int kh_pqueue_from_vec(struct kh_pqueue *q, struct kh_vec *v, kh_cmp_fn cmp, void *ctx)
{
    if (!q || !v || !cmp || kh_vec_check(v)) return KH_EINVAL;
    q->v = *v;
    q->cmp = cmp;
    q->ctx = ctx;
    v->data = NULL;
    v->len = v->cap = 0;
    kh_heapify(q->v.data, q->v.len, q->v.elem_size, cmp, ctx);
    return 0;
}

void kh_pqueue_destroy(struct kh_pqueue *q)
{
    if (q) kh_vec_destroy(&q->v);
}

int kh_pqueue_reserve(struct kh_pqueue *q, size_t additional)
{
    if (!q) return KH_EINVAL;
    return kh_vec_reserve(&q->v, additional);
}

int kh_pqueue_push(struct kh_pqueue *q, const void *elem)
{
    if (!q || !q->cmp) return KH_EINVAL;
    int rc = kh_vec_push(&q->v, elem);
    if (rc) return rc;
    sift_up(q->v.data, q->v.len - 1, q->v.elem_size, q->cmp, q->ctx);
    return 0;
}

int kh_pqueue_extend(struct kh_pqueue *q, const void *arr, size_t n)
{
    if (!q || !q->cmp) return KH_EINVAL;
    size_t old = q->v.len;
    int rc = kh_vec_extend(&q->v, arr, n);
    if (rc || n == 0) return rc;
    /* Sifting each new element costs about n log(len); rebuilding costs
     * about 2 len. Rebuild when the batch is a good part of the result. */
    if (n >= old / 4) {
        kh_heapify(q->v.data, q->v.len, q->v.elem_size, q->cmp, q->ctx);
    } else {
        for (size_t i = old; i < q->v.len; i++)
            sift_up(q->v.data, i, q->v.elem_size, q->cmp, q->ctx);
    }
    return 0;
}

int kh_pqueue_pop(struct kh_pqueue *q, void *out)
{
    if (!q) return KH_EINVAL;
    if (q->v.len == 0) return KH_ENOENT;
    char *base = q->v.data;
    size_t sz = q->v.elem_size, last = q->v.len - 1;
    if (out) memcpy(out, base, sz);
    if (last) memcpy(base, base + last * sz, sz);
    q->v.len = last;
    sift_down(base, 0, last, sz, q->cmp, q->ctx);
    return 0;
}

void *kh_pqueue_peek(const struct kh_pqueue *q)
{
    return q ? kh_vec_get(&q->v, 0) : NULL;
}

size_t kh_pqueue_len(const struct kh_pqueue *q)
{
    return q ? q->v.len : 0;
}

bool kh_pqueue_is_empty(const struct kh_pqueue *q)
{
    return !q || q->v.len == 0;
}

void kh_pqueue_clear(struct kh_pqueue *q)
{
    if (q) kh_vec_clear(&q->v);
}

int kh_pqueue_check(const struct kh_pqueue *q)
{
    if (!q || !q->cmp) return KH_ECORRUPT;
    int rc = kh_vec_check(&q->v);
    if (rc) return rc;
    const char *base = q->v.data;
    size_t sz = q->v.elem_size;
    for (size_t i = 1; i < q->v.len; i++)
        if (q->cmp(base + ((i - 1) / 2) * sz, base + i * sz, q->ctx) < 0) return KH_ECORRUPT;
    return 0;
}
