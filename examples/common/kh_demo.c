/* SPDX-License-Identifier: MIT */
/* The kheap demo: what the Rust embedded-alloc and blog_os examples show, in C.
 * A heap over plain memory, a vector, a boxed value, a shared object whose
 * reference count goes 2 then 1, the heap's statistics, and proof that every
 * byte came back. Freestanding: prints through the caller's write hook with
 * kheap's own formatter. */
#include "kh_demo.h"

#include "kheap/box.h"
#include "kheap/fmt.h"
#include "kheap/heap.h"
#include "kheap/vec.h"

KH_VEC_DEFINE(int_vec, int)
KH_BOX_DEFINE(box_int, int)
KH_RC_DEFINE(rc_int, int)

static void put(void *ctx, const char *s, size_t n)
{
    void (*write)(const char *, size_t) = *(void (**)(const char *, size_t))ctx;
    write(s, n);
}

/* printf to the demo's console. */
#define say(...) kh_cbprintf(put, &write, __VA_ARGS__)

static int vec_print(void (*write)(const char *, size_t), const int_vec *v)
{
    say("[");
    for (size_t i = 0; i < int_vec_len(v); i++) say(i ? ", %d" : "%d", *int_vec_at(v, i));
    return say("]\n");
}

static void print_stats(void (*write)(const char *, size_t), const kheap *h)
{
    struct kheap_stats st;
    kheap_stats(h, &st);
    say("heap stats: total %zu B, used %zu B, free %zu B in %zu block(s), peak used %zu B, "
        "%zu live allocations, overhead %zu B\n",
        st.total_bytes, st.used_bytes, st.free_bytes, st.free_blocks, st.peak_used_bytes,
        st.allocations, st.overhead_bytes);
}

int kh_demo(void *mem, size_t bytes, size_t vec_len, void (*write)(const char *s, size_t n))
{
    kheap *h = kheap_init(mem, bytes);
    if (!h) {
        say("kheap_init failed\n");
        return 1;
    }
    kh_allocator a = kheap_allocator(h);
    say("kheap demo: heap of %zu bytes at %p\n", bytes, mem);

    /* As embedded-alloc's example: a vector holding 42 and 83. Every push can
     * fail and says so; nothing aborts. */
    int_vec xs;
    if (int_vec_init(&xs, a) || int_vec_push(&xs, 42) || int_vec_push(&xs, 83)) return 2;
    vec_print(write, &xs);

    /* As blog_os's heap chapter: a boxed value, a growing vector, a shared object. */
    int *heap_value = box_int_new(a, 41);
    if (!heap_value) return 3;
    say("heap_value at %p\n", (void *)heap_value);

    int_vec vec;
    if (int_vec_init(&vec, a)) return 4;
    for (size_t i = 0; i < vec_len; i++)
        if (int_vec_push(&vec, (int)i)) return 4;
    long long sum = 0;
    for (size_t i = 0; i < int_vec_len(&vec); i++) sum += *int_vec_at(&vec, i);
    say("vec at %p, %zu elements, capacity %zu, sum %lld\n", (void *)int_vec_data(&vec),
        int_vec_len(&vec), int_vec_capacity(&vec), sum);
    if (sum != (long long)(vec_len * (vec_len - 1) / 2)) return 5;

    int *shared = rc_int_new(a, 7, NULL);
    if (!shared) return 6;
    int *cloned = rc_int_clone(shared);
    if (!cloned) return 6;
    say("current reference count is %zu\n", rc_int_count(shared));
    if (rc_int_release(cloned)) return 7; /* not the last reference */
    say("reference count is %zu now\n", rc_int_count(shared));
    if (rc_int_count(shared) != 1) return 7;

    print_stats(write, h);
    if (kheap_check(h) != 0) {
        say("kheap_check failed\n");
        return 8;
    }

    if (!rc_int_release(shared)) return 9; /* the last reference frees it */
    int_vec_destroy(&vec);
    box_int_free(a, heap_value, NULL);
    int_vec_destroy(&xs);
    struct kheap_stats st;
    kheap_stats(h, &st);
    say("after freeing everything: used %zu B, %zu free block(s)\n", st.used_bytes, st.free_blocks);
    if (st.used_bytes != 0 || st.free_blocks != 1 || kheap_check(h) != 0) return 9;

    say("It did not crash!\n");
    return 0;
}
