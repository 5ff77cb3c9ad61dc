// SPDX-License-Identifier: MIT
// Every public header from C++: included together, the typed wrappers and
// macros instantiated, and the core heap, the allocator interface, the
// collections and the sync primitives called and checked. Built with g++ and
// clang++ at C++11 and later, -Wall -Wextra -Wpedantic -Werror, linked
// against the C library (tests/adopt/cxx_check.sh), and run. Only C headers
// of the C library: freestanding C++ toolchains often ship no libstdc++.
// Every header in include/kheap/ (the hosted-only ones in hosted builds),
// listed by tests/adopt/cxx_check.sh, so a new header is covered at once.
#include "cxx_all_headers.h"

#include <stdio.h>
#include <string.h>

static int failures;
#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            printf("cxx_check: FAIL %s:%d: %s\n", __FILE__, __LINE__, #c);                    \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)

struct point {
    int x, y;
};

KH_VEC_DEFINE(intvec, int)
KH_DEQUE_DEFINE(ptdeque, point)
KH_PQUEUE_DEFINE(intheap, int)
KH_OLIST_DEFINE(intlist, int)
KH_HASHMAP_DEFINE(idmap, unsigned, point)
KH_HASHSET_DEFINE(idset, unsigned)
KH_BOX_DEFINE(ptbox, point)
KH_RC_DEFINE(ptrc, point)
KH_ARC_DEFINE(ptarc, point)

extern "C" int cmp_int(const void *a, const void *b, void *)
{
    int x = *static_cast<const int *>(a), y = *static_cast<const int *>(b);
    return (x > y) - (x < y);
}
KH_MAP_DEFINE(intmap, int, int, cmp_int)
KH_SET_DEFINE(intset, int, cmp_int)

struct node {
    int value;
    struct kh_list_head link;
};

static unsigned reports;
extern "C" void count_report(int, const char *, const void *)
{
    reports++;
}

static int released;
extern "C" void kref_release(struct kh_kref *)
{
    released++;
}

alignas(16) static unsigned char arena[256 * 1024];

static void core_heap()
{
    kheap *h = kheap_init(arena, sizeof arena / 2);
    CHECK(h != NULL);
    int *v = static_cast<int *>(kheap_alloc(h, 100 * sizeof(int), 0));
    void *dma = kheap_alloc(h, 512, 4096);
    CHECK(v && dma && (reinterpret_cast<uintptr_t>(dma) & 4095) == 0);
    int *w = static_cast<int *>(kheap_realloc(h, v, 1000 * sizeof(int), 0));
    if (w) v = w;
    CHECK(kheap_usable_size(h, v) >= 1000 * sizeof(int));
    struct kheap_stats st;
    kheap_stats(h, &st);
    CHECK(st.allocations == 2);
    kheap_free(h, v);
    kheap_free(h, dma);
    CHECK(kheap_check(h) == 0);
    // Misuse goes to the hook, and the heap is unharmed.
    kh_error_hook_fn old = kh_set_error_hook(count_report);
#if KH_CONFIG_CHECKS
    kheap_free(h, arena + sizeof arena - 64);
    CHECK(reports == 1);
#endif
    CHECK(kh_set_error_hook(old) == count_report);
    CHECK(strcmp(kh_strerror(KH_ENOMEM), "KH_ENOMEM") == 0);
    CHECK(strcmp(kh_strerror(KH_EHEAP_ADJ), "KH_EHEAP_ADJ") == 0);
    CHECK(kheap_control_bytes(64 * 1024) > 0);
}

static void allocators_and_collections(kh_allocator a)
{
    // The interface itself.
    void *p = kh_alloc(a, 40, 64);
    CHECK(p && (reinterpret_cast<uintptr_t>(p) & 63) == 0);
    p = kh_realloc(a, p, 40, 4000, 64, KH_GFP_KERNEL);
    CHECK(p != NULL);
    kh_free(a, p, 4000, 64);

    intvec v;
    CHECK(intvec_init(&v, a) == 0);
    for (int i = 0; i < 1000; i++) CHECK(intvec_push(&v, 999 - i) == 0);
    intvec_sort(&v, cmp_int, NULL);
    CHECK(intvec_len(&v) == 1000 && *intvec_at(&v, 0) == 0 && *intvec_last(&v) == 999);
    int key = 500;
    size_t at = 0;
    CHECK(intvec_bsearch(&v, &key, cmp_int, NULL, &at) == 0 && at == 500);
    CHECK(intvec_check(&v) == 0);
    intvec_destroy(&v);

    ptdeque d;
    CHECK(ptdeque_init(&d, a) == 0);
    point pt = {1, 2};
    CHECK(ptdeque_push_back(&d, pt) == 0);
    pt.x = 0;
    CHECK(ptdeque_push_front(&d, pt) == 0);
    CHECK(ptdeque_len(&d) == 2 && ptdeque_front(&d)->x == 0 && ptdeque_back(&d)->x == 1);
    ptdeque_destroy(&d);

    intheap q;
    CHECK(intheap_init(&q, a, cmp_int, NULL) == 0);
    for (int i = 0; i < 10; i++) CHECK(intheap_push(&q, (i * 7) % 10) == 0);
    int top = -1;
    CHECK(intheap_pop(&q, &top) == 0 && top == 9);
    intheap_destroy(&q);

    intlist l;
    CHECK(intlist_init(&l, a) == 0);
    CHECK(intlist_push_back(&l, 2) == 0 && intlist_push_front(&l, 1) == 0);
    int sum = 0;
    for (int *e = intlist_front(&l); e; e = intlist_next(&l, e)) sum = sum * 10 + *e;
    CHECK(sum == 12 && intlist_check(&l) == 0);
    intlist_destroy(&l);

    idmap m;
    CHECK(idmap_init(&m, a) == 0);
    for (unsigned i = 0; i < 100; i++) {
        point val = {static_cast<int>(i), -static_cast<int>(i)};
        CHECK(idmap_insert(&m, i, val) == 0);
    }
    CHECK(idmap_len(&m) == 100 && idmap_get(&m, 42u)->y == -42 && !idmap_get(&m, 1000u));
    idmap_destroy(&m);
    idset s;
    CHECK(idset_init(&s, a) == 0 && idset_insert(&s, 7u) == 0 && idset_contains(&s, 7u));
    idset_destroy(&s);

    intmap om;
    CHECK(intmap_init(&om, a) == 0);
    for (int i = 0; i < 50; i++) CHECK(intmap_insert(&om, 49 - i, i) == 0);
    struct kh_map_iter it;
    CHECK(intmap_first(&om, &it) && *intmap_key(&it) == 0 && *intmap_val(&it) == 49);
    intmap_destroy(&om);
    intset os;
    CHECK(intset_init(&os, a) == 0 && intset_insert(&os, 3) == 0 && intset_contains(&os, 3));
    intset_destroy(&os);

    point init = {3, 4};
    point *b = ptbox_new(a, init);
    CHECK(b && b->y == 4);
    ptbox_free(a, b, NULL);
    point *rc = ptrc_new(a, init, NULL);
    CHECK(rc && ptrc_clone(rc) == rc && ptrc_count(rc) == 2);
    CHECK(!ptrc_release(rc) && ptrc_release(rc));
    point *arc = ptarc_new(a, init, NULL);
    CHECK(arc && ptarc_try_clone(arc) == arc);
    CHECK(!ptarc_release(arc) && ptarc_release(arc));

    struct kh_str str;
    CHECK(kh_str_init(&str, a) == 0);
    CHECK(kh_str_printf(&str, "%d-%s", 42, "kheap") == 0);
    CHECK(kh_str_eq(&str, "42-kheap"));
    kh_str_destroy(&str);
    char buf[32];
    CHECK(kh_snprintf(buf, sizeof buf, "%zu", static_cast<size_t>(123)) == 3);

    // Intrusive list and its macros.
    KH_LIST_HEAD(head);
    node n1, n2;
    n1.value = 1;
    n2.value = 2;
    kh_list_add_tail(&n1.link, &head);
    kh_list_add_tail(&n2.link, &head);
    node *pos;
    int total = 0;
    kh_list_for_each_entry(pos, &head, node, link) total += pos->value;
    CHECK(total == 3 && kh_list_first_entry(&head, node, link) == &n1);
    kh_list_del(&n1.link);
    CHECK(kh_list_count(&head) == 1 && kh_list_check(&head) == 0);
}

static void sync_primitives()
{
    kh_atomic_t a = KH_ATOMIC_INIT(5);
    CHECK(kh_atomic_add_return(2, &a) == 7);
    CHECK(kh_atomic_fetch_sub_acquire(1, &a) == 7);
    CHECK(kh_atomic_cmpxchg(&a, 6, 10) == 6 && kh_atomic_read(&a) == 10);
    kh_atomic8_t b = KH_ATOMIC_INIT(0xf0);
    kh_atomic8_or(0x0f, &b);
    CHECK(kh_atomic8_read(&b) == 0xff);
    kh_atomic16_t c = KH_ATOMIC_INIT(1);
    CHECK(kh_atomic16_inc_return(&c) == 2);
#if KH_ATOMIC64_MODE != KH_ATOMIC64_NONE
    kh_atomic64_t d = KH_ATOMIC_INIT(0);
    CHECK(kh_atomic64_add_return(INT64_C(1) << 40, &d) == INT64_C(1) << 40);
#endif
    int x = 0;
    kh_atomic_ptr_t p = KH_ATOMIC_INIT(NULL);
    CHECK(kh_atomic_ptr_xchg(&p, &x) == NULL && kh_atomic_ptr_read(&p) == &x);
    KH_WRITE_ONCE(x, 3);
    CHECK(KH_READ_ONCE(x) == 3);
    kh_smp_store_release(&x, 4);
    CHECK(kh_smp_load_acquire(&x) == 4);
    kh_smp_mb();

    static kh_spinlock_t lock = KH_SPINLOCK_INIT;
#if KH_HAVE_CLEANUP
    {
        kh_guard(spinlock)(&lock);
        CHECK(kh_spin_is_locked(&lock));
    }
    CHECK(!kh_spin_is_locked(&lock));
    int ran = 0;
    kh_scoped_guard(spinlock_irqsave, &lock)
    {
        ran++;
        CHECK(kh_spin_is_locked(&lock));
    }
    CHECK(ran == 1 && !kh_spin_is_locked(&lock));
    kh_scoped_guard(spinlock_try, &lock) ran++;
    CHECK(ran == 2);
#endif
    CHECK(kh_spin_trylock(&lock) && !kh_spin_trylock(&lock));
    kh_spin_unlock(&lock);

    kh_refcount_t r = KH_REFCOUNT_INIT(1);
    kh_refcount_inc(&r);
    CHECK(!kh_refcount_dec_and_test(&r) && kh_refcount_dec_and_test(&r));
    struct kh_kref k = KH_KREF_INIT(1);
    kh_kref_get(&k);
    CHECK(kh_kref_put(&k, kref_release) == 0 && kh_kref_put(&k, kref_release) == 1);
    CHECK(released == 1);
}

int main()
{
    core_heap();
    kheap *h = kheap_init(arena + sizeof arena / 2, sizeof arena / 2);
    CHECK(h != NULL);
    if (!h) return 1;

    // The allocator family over the heap: a locked wrapper, a bump arena.
    static kh_spinlock_t lock = KH_SPINLOCK_INIT;
    struct kh_locked locked;
    CHECK(kh_locked_init(&locked, kheap_allocator(h), &lock, &kh_spin_lock_ops) == 0);
    allocators_and_collections(kh_locked_allocator(&locked));
    alignas(16) static unsigned char bump_mem[64 * 1024];
    struct kh_bump bump;
    CHECK(kh_bump_init(&bump, bump_mem, sizeof bump_mem) == 0);
    allocators_and_collections(kh_bump_allocator(&bump));

    // The global kmalloc API on the locked heap.
    CHECK(kh_kmalloc_init(kh_locked_allocator(&locked)) == 0);
    char *sdup = kstrdup("firmware", KH_GFP_KERNEL);
    CHECK(sdup && strcmp(sdup, "firmware") == 0 && ksize(sdup) >= 9);
    kfree(sdup);
    CHECK(kh_kmalloc_shutdown() == 0);

    sync_primitives();
    CHECK(kh_locked_destroy(&locked) == 0);
    CHECK(kheap_check(h) == 0);
    CHECK(strcmp(kh_version(), KHEAP_VERSION_STRING) == 0);

    printf("cxx_check (C++%ld): %s\n", static_cast<long>(__cplusplus / 100 % 100),
                failures ? "FAILED" : "ok");
    return failures != 0;
}
