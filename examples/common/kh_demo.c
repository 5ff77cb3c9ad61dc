/* The kheap demo: what the Rust embedded-alloc and blog_os seeds show, in C.
 * A heap over plain memory, a vector, a boxed value, a shared object whose
 * reference count goes 2 then 1, the heap's statistics, and proof that every
 * byte came back. Freestanding: prints through the caller's write hook. */
#include "kh_demo.h"

#include <stdint.h>

#include "kheap/heap.h"

static void (*out)(const char *s, size_t n);

static void put(const char *s)
{
    size_t n = 0;
    while (s[n]) n++;
    out(s, n);
}

static void put_u(unsigned long long v)
{
    char buf[24];
    int i = (int)sizeof(buf);
    buf[--i] = 0;
    do {
        buf[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    put(buf + i);
}

static void put_p(const void *p)
{
    uintptr_t v = (uintptr_t)p;
    char buf[2 + 2 * sizeof(v) + 1];
    int i = (int)sizeof(buf);
    buf[--i] = 0;
    do {
        buf[--i] = "0123456789abcdef"[v & 15];
        v >>= 4;
    } while (v);
    buf[--i] = 'x';
    buf[--i] = '0';
    put(buf + i);
}

/* A growable vector of ints on the core heap, doubling its capacity. */
struct int_vec {
    int *data;
    size_t len, cap;
};

static int vec_push(kheap *h, struct int_vec *v, int x)
{
    if (v->len == v->cap) {
        size_t cap = v->cap ? 2 * v->cap : 4;
        if (cap > SIZE_MAX / sizeof(int)) return -1;
        int *p = kheap_realloc(h, v->data, cap * sizeof(int), 0);
        if (!p) return -1; /* the old block is still valid and still ours */
        v->data = p;
        v->cap = cap;
    }
    v->data[v->len++] = x;
    return 0;
}

static void vec_print(const struct int_vec *v)
{
    put("[");
    for (size_t i = 0; i < v->len; i++) {
        if (i) put(", ");
        put_u((unsigned long long)v->data[i]);
    }
    put("]\n");
}

/* A reference-counted object: count first, payload after. */
struct shared {
    size_t refs;
    int value;
};

static void print_stats(const kheap *h)
{
    struct kheap_stats st;
    kheap_stats(h, &st);
    put("heap stats: total ");
    put_u(st.total_bytes);
    put(" B, used ");
    put_u(st.used_bytes);
    put(" B, free ");
    put_u(st.free_bytes);
    put(" B in ");
    put_u(st.free_blocks);
    put(" blocks, peak used ");
    put_u(st.peak_used_bytes);
    put(" B, ");
    put_u(st.allocations);
    put(" live allocations, overhead ");
    put_u(st.overhead_bytes);
    put(" B\n");
}

int kh_demo(void *mem, size_t bytes, size_t vec_len, void (*write)(const char *s, size_t n))
{
    out = write;
    kheap *h = kheap_init(mem, bytes);
    if (!h) {
        put("kheap_init failed\n");
        return 1;
    }
    put("kheap demo: heap of ");
    put_u(bytes);
    put(" bytes at ");
    put_p(mem);
    put("\n");

    /* The embedded-alloc seed: a vector holding 42 and 83. */
    struct int_vec xs = {0};
    if (vec_push(h, &xs, 42) || vec_push(h, &xs, 83)) return 2;
    vec_print(&xs);

    /* The blog_os seed: a boxed value, a growing vector, a shared object. */
    int *heap_value = kheap_alloc(h, sizeof(int), 0);
    if (!heap_value) return 3;
    *heap_value = 41;
    put("heap_value at ");
    put_p(heap_value);
    put("\n");

    struct int_vec vec = {0};
    for (size_t i = 0; i < vec_len; i++)
        if (vec_push(h, &vec, (int)i)) return 4;
    long long sum = 0;
    for (size_t i = 0; i < vec.len; i++) sum += vec.data[i];
    put("vec at ");
    put_p(vec.data);
    put(", ");
    put_u(vec.len);
    put(" elements, sum ");
    put_u((unsigned long long)sum);
    put("\n");
    if (sum != (long long)(vec_len * (vec_len - 1) / 2)) return 5;

    struct shared *rc = kheap_alloc(h, sizeof(*rc), 0);
    if (!rc) return 6;
    rc->refs = 1;
    rc->value = 7;
    struct shared *cloned = rc;
    cloned->refs++;
    put("current reference count is ");
    put_u(rc->refs);
    put("\n");
    if (--cloned->refs == 0) kheap_free(h, cloned);
    put("reference count is ");
    put_u(rc->refs);
    put(" now\n");
    if (rc->refs != 1) return 7;

    print_stats(h);
    if (kheap_check(h) != 0) {
        put("kheap_check failed\n");
        return 8;
    }

    if (--rc->refs == 0) kheap_free(h, rc);
    kheap_free(h, vec.data);
    kheap_free(h, heap_value);
    kheap_free(h, xs.data);
    struct kheap_stats st;
    kheap_stats(h, &st);
    put("after freeing everything: used ");
    put_u(st.used_bytes);
    put(" B, ");
    put_u(st.free_blocks);
    put(" free block\n");
    if (st.used_bytes != 0 || st.free_blocks != 1 || kheap_check(h) != 0) return 9;

    put("It did not crash!\n");
    return 0;
}
