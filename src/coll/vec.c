/* SPDX-License-Identifier: MIT */
/* kheap vec: growable array over element size, plus the array sort/search. */
#include "kheap/vec.h"

#include <stdint.h>
#include "../internal/kh_string.h"

#include "kheap/config.h"
#include "kheap/error.h"

int kh_vec_init_aligned(struct kh_vec *v, kh_allocator a, size_t elem_size, size_t align)
{
    if (!v) return KH_EINVAL;
    memset(v, 0, sizeof(*v));
    if (!a.ops || elem_size == 0 || !kh_align_valid(align)) return KH_EINVAL;
    v->a = a;
    v->elem_size = elem_size;
    v->align = align <= KH_ALIGN_DEFAULT ? 0 : align;
    return 0;
}

int kh_vec_init(struct kh_vec *v, kh_allocator a, size_t elem_size)
{
    return kh_vec_init_aligned(v, a, elem_size, 0);
}

void kh_vec_destroy(struct kh_vec *v)
{
    if (!v) return;
    if (v->data) kh_free(v->a, v->data, v->cap * v->elem_size, v->align);
    v->data = NULL;
    v->len = 0;
    v->cap = 0;
}

/* Move the buffer to exactly new_cap elements (new_cap >= len). */
static int vec_set_cap(struct kh_vec *v, size_t new_cap)
{
    if (new_cap > SIZE_MAX / v->elem_size) return KH_EOVERFLOW;
    if (new_cap == v->cap) return 0;
    if (new_cap == 0) {
        kh_free(v->a, v->data, v->cap * v->elem_size, v->align);
        v->data = NULL;
        v->cap = 0;
        return 0;
    }
    void *p = kh_realloc(v->a, v->data, v->cap * v->elem_size, new_cap * v->elem_size, v->align, 0);
    if (!p) return KH_ENOMEM;
    v->data = p;
    v->cap = new_cap;
    return 0;
}

static int vec_grow(struct kh_vec *v, size_t additional, bool exact)
{
    if (!v || !v->elem_size) return KH_EINVAL;
    if (additional <= v->cap - v->len) return 0;
    if (additional > SIZE_MAX - v->len) return KH_EOVERFLOW;
    size_t need = v->len + additional;
    if (need > SIZE_MAX / v->elem_size) return KH_EOVERFLOW;
    size_t cap = need;
    if (!exact) {
        /* Double, but never past what the size arithmetic can express. */
        size_t dbl = v->cap <= SIZE_MAX / 2 ? v->cap * 2 : SIZE_MAX;
        if (dbl < 4) dbl = 4;
        if (dbl > SIZE_MAX / v->elem_size) dbl = SIZE_MAX / v->elem_size;
        if (dbl > cap) cap = dbl;
    }
    int rc = vec_set_cap(v, cap);
    /* A doubled request may be too big for the allocator while the exact one
     * fits: try the exact size before reporting failure. */
    if (rc == KH_ENOMEM && cap != need) rc = vec_set_cap(v, need);
    return rc;
}

int kh_vec_reserve(struct kh_vec *v, size_t additional)
{
    return vec_grow(v, additional, false);
}

int kh_vec_reserve_exact(struct kh_vec *v, size_t additional)
{
    return vec_grow(v, additional, true);
}

int kh_vec_shrink_to_fit(struct kh_vec *v)
{
    if (!v || !v->elem_size) return KH_EINVAL;
    return vec_set_cap(v, v->len);
}

static inline char *vec_ptr(const struct kh_vec *v, size_t i)
{
    return (char *)v->data + i * v->elem_size;
}

void *kh_vec_push_slot(struct kh_vec *v)
{
    if (vec_grow(v, 1, false)) return NULL;
    return vec_ptr(v, v->len++);
}

/* Byte offset of [p, p + n) inside [buf, buf + bytes), or SIZE_MAX when it
 * is not wholly inside. Compared as integers: relational operators between
 * unrelated objects are undefined in C. */
static size_t offset_in(const void *buf, size_t bytes, const void *p, size_t n)
{
    uintptr_t b = (uintptr_t)buf, q = (uintptr_t)p;
    if (!buf || q < b || q - b > bytes || n > bytes - (q - b)) return SIZE_MAX;
    return (size_t)(q - b);
}

/* Fill the gap [pos, pos + n) just opened by moving the bytes from pos on up
 * by n, with the n bytes that were at offset off before the move. */
static void fill_gap(char *data, size_t pos, size_t n, size_t off)
{
    if (off + n <= pos) {
        memcpy(data + pos, data + off, n);
    } else if (off >= pos) {
        memcpy(data + pos, data + off + n, n);
    } else { /* straddles pos: the front stayed, the rest moved up */
        size_t k = pos - off;
        memcpy(data + pos, data + off, k);
        memcpy(data + pos + k, data + pos + n, n - k);
    }
}

/* elem / arr may point into v itself (push(v, get(v, 0)) is natural): the
 * source is found again by its offset after the buffer moves. */
int kh_vec_extend(struct kh_vec *v, const void *arr, size_t n)
{
    if (!v || (!arr && n)) return KH_EINVAL;
    if (n == 0) return 0;
    if (!v->elem_size) return KH_EINVAL;
    size_t live = v->len * v->elem_size;
    size_t off =
        n <= SIZE_MAX / v->elem_size ? offset_in(v->data, live, arr, n * v->elem_size) : SIZE_MAX;
    int rc = vec_grow(v, n, false);
    if (rc) return rc;
    if (off != SIZE_MAX) arr = (const char *)v->data + off;
    memcpy(vec_ptr(v, v->len), arr, n * v->elem_size);
    v->len += n;
    return 0;
}

int kh_vec_push(struct kh_vec *v, const void *elem)
{
    if (!elem) return KH_EINVAL;
    /* Fast path: room left, nothing moves. Fixed-size copies for the common
     * element sizes compile to a load and a store instead of a call (memmove:
     * elem may be a piece of v's own last element). */
    if (v && v->len < v->cap) {
        char *dst = vec_ptr(v, v->len);
        switch (v->elem_size) {
        case 4:
            memmove(dst, elem, 4);
            break;
        case 8:
            memmove(dst, elem, 8);
            break;
        case 16:
            memmove(dst, elem, 16);
            break;
        default:
            memmove(dst, elem, v->elem_size);
            break;
        }
        v->len++;
        return 0;
    }
    return kh_vec_extend(v, elem, 1);
}

int kh_vec_insert(struct kh_vec *v, size_t i, const void *elem)
{
    if (!v || !elem || i > v->len || !v->elem_size) return KH_EINVAL;
    size_t es = v->elem_size;
    size_t off = offset_in(v->data, v->len * es, elem, es);
    int rc = vec_grow(v, 1, false);
    if (rc) return rc;
    memmove(vec_ptr(v, i + 1), vec_ptr(v, i), (v->len - i) * es);
    if (off != SIZE_MAX)
        fill_gap(v->data, i * es, es, off);
    else
        memcpy(vec_ptr(v, i), elem, es);
    v->len++;
    return 0;
}

int kh_vec_pop(struct kh_vec *v, void *out)
{
    if (!v) return KH_EINVAL;
    if (v->len == 0) return KH_ENOENT;
    v->len--;
    if (out) memcpy(out, vec_ptr(v, v->len), v->elem_size);
    return 0;
}

int kh_vec_remove(struct kh_vec *v, size_t i, void *out)
{
    if (!v) return KH_EINVAL;
    if (i >= v->len) return KH_ENOENT;
    if (out) memcpy(out, vec_ptr(v, i), v->elem_size);
    memmove(vec_ptr(v, i), vec_ptr(v, i + 1), (v->len - i - 1) * v->elem_size);
    v->len--;
    return 0;
}

int kh_vec_swap_remove(struct kh_vec *v, size_t i, void *out)
{
    if (!v) return KH_EINVAL;
    if (i >= v->len) return KH_ENOENT;
    if (out) memcpy(out, vec_ptr(v, i), v->elem_size);
    v->len--;
    if (i != v->len) memcpy(vec_ptr(v, i), vec_ptr(v, v->len), v->elem_size);
    return 0;
}

void kh_vec_truncate(struct kh_vec *v, size_t n)
{
    if (v && n < v->len) v->len = n;
}

void kh_vec_clear(struct kh_vec *v)
{
    if (v) v->len = 0;
}

void *kh_vec_get(const struct kh_vec *v, size_t i)
{
    if (!v || i >= v->len) return NULL;
    return vec_ptr(v, i);
}

void *kh_vec_at(const struct kh_vec *v, size_t i)
{
    if (!v || i >= v->len) {
#if KH_CONFIG_CHECKS
        kh_report(KH_EINVAL, "kh_vec_at: index out of range", v);
#endif
        return NULL;
    }
    return vec_ptr(v, i);
}

void *kh_vec_last(const struct kh_vec *v)
{
    if (!v || v->len == 0) return NULL;
    return vec_ptr(v, v->len - 1);
}

void *kh_vec_data(const struct kh_vec *v)
{
    return v ? v->data : NULL;
}

size_t kh_vec_len(const struct kh_vec *v)
{
    return v ? v->len : 0;
}

size_t kh_vec_capacity(const struct kh_vec *v)
{
    return v ? v->cap : 0;
}

bool kh_vec_is_empty(const struct kh_vec *v)
{
    return !v || v->len == 0;
}

void kh_vec_sort(struct kh_vec *v, kh_cmp_fn cmp, void *ctx)
{
    if (v && v->len > 1) kh_sort(v->data, v->len, v->elem_size, cmp, ctx);
}

int kh_vec_bsearch(const struct kh_vec *v, const void *key, kh_cmp_fn cmp, void *ctx, size_t *index)
{
    if (!v) return KH_EINVAL;
    return kh_bsearch(v->data, v->len, v->elem_size, key, cmp, ctx, index);
}

int kh_vec_check(const struct kh_vec *v)
{
    if (!v || !v->elem_size || !v->a.ops) return KH_ECORRUPT;
    if (v->len > v->cap) return KH_ECORRUPT;
    if ((v->data == NULL) != (v->cap == 0)) return KH_ECORRUPT;
    if (v->cap > SIZE_MAX / v->elem_size) return KH_ECORRUPT;
    if (!kh_align_valid(v->align) || (v->align && v->align <= KH_ALIGN_DEFAULT)) return KH_ECORRUPT;
    if (v->align && ((uintptr_t)v->data & (v->align - 1))) return KH_ECORRUPT;
    return 0;
}

/* ---- sort ---- */

/* Swap two non-overlapping elements of n bytes, word-wise when it can. */
static void swap_bytes(char *a, char *b, size_t n)
{
    if (n == sizeof(uint32_t)) {
        uint32_t t;
        memcpy(&t, a, sizeof t);
        memcpy(a, b, sizeof t);
        memcpy(b, &t, sizeof t);
        return;
    }
    if (n == sizeof(uint64_t)) {
        uint64_t t;
        memcpy(&t, a, sizeof t);
        memcpy(a, b, sizeof t);
        memcpy(b, &t, sizeof t);
        return;
    }
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

struct sorter {
    size_t size;
    kh_cmp_fn cmp;
    void *ctx;
};

static inline int cmp_at(const struct sorter *s, const char *a, const char *b)
{
    return s->cmp(a, b, s->ctx);
}

/* Insertion sort of [base, base + n) by adjacent swaps: used for short runs,
 * where it beats everything and needs no scratch element. */
static void insertion_sort(const struct sorter *s, char *base, size_t n)
{
    size_t sz = s->size;
    for (size_t i = 1; i < n; i++) {
        for (char *p = base + i * sz; p > base && cmp_at(s, p - sz, p) > 0; p -= sz)
            swap_bytes(p - sz, p, sz);
    }
}

static void sift_down(const struct sorter *s, char *base, size_t root, size_t n)
{
    size_t sz = s->size;
    for (;;) {
        size_t child = 2 * root + 1;
        if (child >= n) return;
        if (child + 1 < n && cmp_at(s, base + child * sz, base + (child + 1) * sz) < 0) child++;
        if (cmp_at(s, base + root * sz, base + child * sz) >= 0) return;
        swap_bytes(base + root * sz, base + child * sz, sz);
        root = child;
    }
}

static void heap_sort(const struct sorter *s, char *base, size_t n)
{
    for (size_t i = n / 2; i-- > 0;) sift_down(s, base, i, n);
    for (size_t end = n - 1; end > 0; end--) {
        swap_bytes(base, base + end * s->size, s->size);
        sift_down(s, base, 0, end);
    }
}

#define SORT_SMALL 16

/* Quicksort with median-of-three pivots kept at base[0] while partitioning;
 * recurse into the smaller side and loop on the larger, so the stack stays
 * O(log n); fall back to heapsort after 2*log2(n) bad splits (introsort). */
static void intro_sort(const struct sorter *s, char *base, size_t n, unsigned depth)
{
    size_t sz = s->size;
    while (n > SORT_SMALL) {
        if (depth == 0) {
            heap_sort(s, base, n);
            return;
        }
        depth--;
        char *lo = base, *mid = base + (n / 2) * sz, *hi = base + (n - 1) * sz;
        /* Order lo <= mid <= hi, then park the median at base[0]. */
        if (cmp_at(s, mid, lo) < 0) swap_bytes(mid, lo, sz);
        if (cmp_at(s, hi, mid) < 0) {
            swap_bytes(hi, mid, sz);
            if (cmp_at(s, mid, lo) < 0) swap_bytes(mid, lo, sz);
        }
        swap_bytes(base, mid, sz);
        /* Hoare partition around the pivot at base[0]: stop on equal keys on
         * both sides so runs of duplicates split evenly. The bounds checks
         * keep an inconsistent comparator from walking off the array. */
        size_t i = 0, j = n;
        for (;;) {
            do i++;
            while (i < n && cmp_at(s, base + i * sz, base) < 0);
            do j--;
            while (j > 0 && cmp_at(s, base + j * sz, base) > 0);
            if (i >= j) break;
            swap_bytes(base + i * sz, base + j * sz, sz);
        }
        /* base[1..j] <= pivot <= base[j+1..n); put the pivot at j. */
        swap_bytes(base, base + j * sz, sz);
        size_t left = j, right = n - j - 1;
        if (left < right) {
            intro_sort(s, base, left, depth);
            base += (j + 1) * sz;
            n = right;
        } else {
            intro_sort(s, base + (j + 1) * sz, right, depth);
            n = left;
        }
    }
    insertion_sort(s, base, n);
}

void kh_sort(void *base, size_t n, size_t size, kh_cmp_fn cmp, void *ctx)
{
    if (!base || n < 2 || !size || !cmp) return;
    struct sorter s = {size, cmp, ctx};
    unsigned depth = 0;
    for (size_t m = n; m > 1; m >>= 1) depth += 2;
    intro_sort(&s, base, n, depth);
}

int kh_bsearch(const void *base, size_t n, size_t size, const void *key, kh_cmp_fn cmp, void *ctx,
               size_t *index)
{
    if ((!base && n) || !key || !cmp || !size) return KH_EINVAL;
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = cmp((const char *)base + mid * size, key, ctx);
        if (c == 0) {
            if (index) *index = mid;
            return 0;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (index) *index = lo;
    return KH_ENOENT;
}
