/* SPDX-License-Identifier: MIT */
/* Atomics: every op at every width single-threaded (runs on bare metal too),
 * then no-lost-update hammering and litmus tests with threads (hosted). */
#include "kh_test.h"

#include "kheap/atomic.h"

KH_TEST_FILE_TAGS("threads");

#if KH_TEST_HOSTED
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>

#include "kheap/port.h"

#endif

/* Every integer op at one width, from a start value, in one order form (O).
 * The values stay well inside 8 bits so one macro checks every width. */
#define ATOMIC_CHECK_ORDERED(P, T, V, O)                                                           \
    do {                                                                                           \
        T a = KH_ATOMIC_INIT(10);                                                                  \
        KH_CHECK_EQ(P##_add_return##O(5, &a), 15);                                                 \
        KH_CHECK_EQ(P##_sub_return##O(3, &a), 12);                                                 \
        KH_CHECK_EQ(P##_inc_return##O(&a), 13);                                                    \
        KH_CHECK_EQ(P##_dec_return##O(&a), 12);                                                    \
        KH_CHECK_EQ(P##_fetch_add##O(4, &a), 12);                                                  \
        KH_CHECK_EQ(P##_fetch_sub##O(6, &a), 16);                                                  \
        KH_CHECK_EQ(P##_fetch_inc##O(&a), 10);                                                     \
        KH_CHECK_EQ(P##_fetch_dec##O(&a), 11);                                                     \
        KH_CHECK_EQ(P##_read(&a), 10);                                                             \
        KH_CHECK_EQ(P##_fetch_or##O(0x41, &a), 10);       /* 0x0a | 0x41 = 0x4b */                 \
        KH_CHECK_EQ(P##_fetch_and##O(0x0f, &a), 0x4b);    /* -> 0x0b */                            \
        KH_CHECK_EQ(P##_fetch_xor##O(0x06, &a), 0x0b);    /* -> 0x0d */                            \
        KH_CHECK_EQ(P##_fetch_andnot##O(0x05, &a), 0x0d); /* -> 0x08 */                            \
        KH_CHECK_EQ(P##_read(&a), 0x08);                                                           \
        KH_CHECK_EQ(P##_xchg##O(&a, 33), 8);                                                       \
        KH_CHECK_EQ(P##_cmpxchg##O(&a, 32, 1), 33); /* fails: unchanged */                         \
        KH_CHECK_EQ(P##_read(&a), 33);                                                             \
        KH_CHECK_EQ(P##_cmpxchg##O(&a, 33, 44), 33); /* succeeds */                                \
        KH_CHECK_EQ(P##_read(&a), 44);                                                             \
        V old = 40;                                                                                \
        KH_CHECK(!P##_try_cmpxchg##O(&a, &old, 50));                                               \
        KH_CHECK_EQ(old, 44); /* failure reports the current value */                              \
        KH_CHECK(P##_try_cmpxchg##O(&a, &old, 50));                                                \
        KH_CHECK_EQ(old, 44); /* success leaves *old alone */                                      \
        KH_CHECK_EQ(P##_read(&a), 50);                                                             \
    } while (0)

#define ATOMIC_CHECK_WIDTH(P, T, V, BITS)                                                          \
    do {                                                                                           \
        T a = KH_ATOMIC_INIT(7);                                                                   \
        KH_CHECK_EQ(P##_read(&a), 7);                                                              \
        KH_CHECK_EQ(P##_read_acquire(&a), 7);                                                      \
        P##_set(&a, 9);                                                                            \
        KH_CHECK_EQ(P##_read(&a), 9);                                                              \
        P##_set_release(&a, 11);                                                                   \
        KH_CHECK_EQ(P##_read(&a), 11);                                                             \
        P##_add(4, &a);                                                                            \
        P##_sub(2, &a);                                                                            \
        P##_inc(&a);                                                                               \
        P##_inc(&a);                                                                               \
        P##_dec(&a);                                                                               \
        KH_CHECK_EQ(P##_read(&a), 14);                                                             \
        P##_or(0x30, &a);  /* 0x3e */                                                              \
        P##_and(0x3c, &a); /* 0x3c */                                                              \
        P##_xor(0x11, &a); /* 0x2d */                                                              \
        P##_andnot(0x0c, &a);                                                                      \
        KH_CHECK_EQ(P##_read(&a), 0x21);                                                           \
        ATOMIC_CHECK_ORDERED(P, T, V, );                                                           \
        ATOMIC_CHECK_ORDERED(P, T, V, _relaxed);                                                   \
        ATOMIC_CHECK_ORDERED(P, T, V, _acquire);                                                   \
        ATOMIC_CHECK_ORDERED(P, T, V, _release);                                                   \
        /* Test-and-conditional ops. */                                                            \
        P##_set(&a, 2);                                                                            \
        KH_CHECK(!P##_dec_and_test(&a));                                                           \
        KH_CHECK(P##_dec_and_test(&a));                                                            \
        KH_CHECK(!P##_inc_and_test(&a));                                                           \
        KH_CHECK(P##_sub_and_test(1, &a));                                                         \
        KH_CHECK(!P##_inc_not_zero(&a));                                                           \
        KH_CHECK_EQ(P##_read(&a), 0);                                                              \
        KH_CHECK(!P##_add_unless(&a, 5, 0));                                                       \
        KH_CHECK(P##_add_unless(&a, 5, 1));                                                        \
        KH_CHECK_EQ(P##_fetch_add_unless(&a, 2, 5), 5);                                            \
        KH_CHECK_EQ(P##_fetch_add_unless(&a, 2, 6), 5);                                            \
        KH_CHECK(P##_inc_not_zero(&a));                                                            \
        KH_CHECK_EQ(P##_read(&a), 8);                                                              \
        KH_CHECK(!P##_add_negative(1, &a));                                                        \
        /* Wrap-around at the width, both ways; add_negative is the sign bit. */                   \
        V top = (V)((uint64_t)1 << (BITS - 1));                                                    \
        V max = (V)(((uint64_t)1 << (BITS - 1)) - 1);                                              \
        P##_set(&a, max);                                                                          \
        KH_CHECK(P##_add_negative(1, &a));                                                         \
        KH_CHECK_EQ(P##_read(&a), top);                                                            \
        P##_set(&a, (V) ~(V)0);                                                                    \
        KH_CHECK(P##_inc_and_test(&a));                                                            \
        KH_CHECK_EQ(P##_dec_return(&a), (V) ~(V)0);                                                \
        KH_CHECK_EQ(P##_add_return(3, &a), 2);                                                     \
    } while (0)

KH_TEST(atomic_ops_every_width)
{
    ATOMIC_CHECK_WIDTH(kh_atomic8, kh_atomic8_t, uint8_t, 8);
    ATOMIC_CHECK_WIDTH(kh_atomic16, kh_atomic16_t, uint16_t, 16);
    ATOMIC_CHECK_WIDTH(kh_atomic, kh_atomic_t, int, 32);
#if KH_ATOMIC64_MODE != KH_ATOMIC64_NONE
    ATOMIC_CHECK_WIDTH(kh_atomic64, kh_atomic64_t, int64_t, 64);
#endif
}

KH_TEST(atomic_64bit_full_range)
{
#if KH_ATOMIC64_MODE != KH_ATOMIC64_NONE
    /* Values that need both halves, which a torn or 32-bit op would break. */
    kh_atomic64_t a = KH_ATOMIC_INIT(INT64_C(0x00000000ffffffff));
    KH_CHECK_EQ(kh_atomic64_inc_return(&a), INT64_C(0x100000000));
    KH_CHECK_EQ(kh_atomic64_fetch_sub(1, &a), INT64_C(0x100000000));
    KH_CHECK_EQ(kh_atomic64_read(&a), INT64_C(0xffffffff));
    KH_CHECK_EQ(kh_atomic64_xchg(&a, INT64_MIN), INT64_C(0xffffffff));
    KH_CHECK_EQ(kh_atomic64_cmpxchg(&a, INT64_MIN, INT64_MAX), INT64_MIN);
    KH_CHECK_EQ(kh_atomic64_fetch_xor(INT64_C(0x7fffffff00000000), &a), INT64_MAX);
    KH_CHECK_EQ(kh_atomic64_read(&a), INT64_C(0xffffffff));
    kh_atomic64_set(&a, -1);
    KH_CHECK(kh_atomic64_inc_and_test(&a));
#endif
}

/* Ops on one sub-word must not touch its neighbours in the same 32-bit word
 * (the emulated path rewrites the whole word). */
KH_TEST(atomic_subword_leaves_neighbours)
{
    static union {
        uint32_t word;
        kh_atomic8_t b[4];
        kh_atomic16_t h[2];
    } u;
    for (int i = 0; i < 4; i++) {
        u.word = 0xa5a5a5a5u;
        kh_atomic8_t *b = &u.b[i];
        KH_CHECK_EQ(kh_atomic8_xchg(b, 0x00), 0xa5);
        KH_CHECK_EQ(kh_atomic8_add_return(0xff, b), 0xff);
        KH_CHECK_EQ(kh_atomic8_inc_return(b), 0x00); /* wraps inside the byte, no carry out */
        KH_CHECK_EQ(kh_atomic8_dec_return(b), 0xff); /* no borrow from the neighbour */
        KH_CHECK_EQ(kh_atomic8_cmpxchg(b, 0xff, 0x3c), 0xff);
        kh_atomic8_or(0xc0, b);
        kh_atomic8_and(0xf0, b);
        KH_CHECK_EQ(kh_atomic8_read(b), 0xf0);
        for (int j = 0; j < 4; j++)
            if (j != i) KH_CHECK_EQ(kh_atomic8_read(&u.b[j]), 0xa5);
    }
    for (int i = 0; i < 2; i++) {
        u.word = 0x5a5a5a5au;
        kh_atomic16_t *h = &u.h[i];
        KH_CHECK_EQ(kh_atomic16_xchg(h, 0xffff), 0x5a5a);
        KH_CHECK_EQ(kh_atomic16_inc_return(h), 0);
        KH_CHECK_EQ(kh_atomic16_sub_return(1, h), 0xffff);
        uint16_t old = 1;
        KH_CHECK(!kh_atomic16_try_cmpxchg(h, &old, 7));
        KH_CHECK_EQ(old, 0xffff);
        KH_CHECK_EQ(kh_atomic16_read(&u.h[1 - i]), 0x5a5a);
    }
}

KH_TEST(atomic_ptr_ops)
{
    int x, y, z;
    kh_atomic_ptr_t p = KH_ATOMIC_INIT(&x);
    KH_CHECK(kh_atomic_ptr_read(&p) == &x);
    KH_CHECK(kh_atomic_ptr_read_acquire(&p) == &x);
    kh_atomic_ptr_set(&p, &y);
    KH_CHECK(kh_atomic_ptr_xchg(&p, &z) == &y);
    KH_CHECK(kh_atomic_ptr_xchg_relaxed(&p, &x) == &z);
    KH_CHECK(kh_atomic_ptr_cmpxchg(&p, &y, &z) == &x); /* fails */
    KH_CHECK(kh_atomic_ptr_cmpxchg_acquire(&p, &x, &y) == &x);
    void *old = &x;
    KH_CHECK(!kh_atomic_ptr_try_cmpxchg_release(&p, &old, NULL));
    KH_CHECK(old == &y);
    KH_CHECK(kh_atomic_ptr_try_cmpxchg_relaxed(&p, &old, NULL));
    kh_atomic_ptr_set_release(&p, &z);
    KH_CHECK(kh_atomic_ptr_xchg_acquire(&p, NULL) == &z);
    KH_CHECK(kh_atomic_ptr_xchg_release(&p, &x) == NULL);
    KH_CHECK(kh_atomic_ptr_cmpxchg_relaxed(&p, &x, &y) == &x);
    KH_CHECK(kh_atomic_ptr_cmpxchg_release(&p, &y, &z) == &y);
    KH_CHECK(kh_atomic_ptr_read(&p) == &z);
    KH_CHECK(kh_atomic_ptr_try_cmpxchg(&p, &old, &x) == false);
    KH_CHECK(kh_atomic_ptr_try_cmpxchg_acquire(&p, &old, &x));
    KH_CHECK(kh_atomic_ptr_read(&p) == &x);
}

/* The type-generic macros and their exported twins, plus the barriers. */
KH_TEST(atomic_once_macros_and_twins)
{
    uint8_t b = 1;
    uint16_t h = 2;
    uint32_t w = 3;
    void *p = &w;
    KH_CHECK_EQ(KH_READ_ONCE(b), 1);
    KH_WRITE_ONCE(h, 20);
    KH_CHECK_EQ(kh_read_once_u16(&h), 20);
    kh_write_once_u8(&b, 10);
    KH_CHECK_EQ(KH_READ_ONCE(b), 10);
    kh_smp_store_release(&w, 30u);
    KH_CHECK_EQ(kh_smp_load_acquire(&w), 30);
    kh_store_release_u32(&w, 31);
    KH_CHECK_EQ(kh_load_acquire_u32(&w), 31);
    KH_CHECK_EQ(kh_read_once_u32(&w), 31);
    kh_write_once_u32(&w, 32);
    KH_CHECK_EQ(kh_load_acquire_u8(&b), 10);
    kh_store_release_u8(&b, 11);
    kh_store_release_u16(&h, 21);
    KH_CHECK_EQ(kh_load_acquire_u16(&h), 21);
    KH_CHECK(kh_read_once_ptr(&p) == &w);
    kh_write_once_ptr(&p, &h);
    KH_CHECK(kh_load_acquire_ptr(&p) == &h);
    kh_store_release_ptr(&p, NULL);
    KH_CHECK(KH_READ_ONCE(p) == NULL);
#if KH_ATOMIC64_MODE == KH_ATOMIC64_NATIVE
    kh_atomic_u64a q = 0;
    kh_write_once_u64(&q, UINT64_C(0x123456789));
    KH_CHECK_EQ(kh_read_once_u64(&q), UINT64_C(0x123456789));
    kh_store_release_u64(&q, 5);
    KH_CHECK_EQ(kh_load_acquire_u64(&q), 5);
#endif
    /* Barriers have no observable single-thread effect; they must link. */
    kh_barrier();
    kh_mb();
    kh_rmb();
    kh_wmb();
    kh_smp_mb();
    kh_smp_rmb();
    kh_smp_wmb();
    kh_smp_mb__before_atomic();
    kh_smp_mb__after_atomic();
    kh_smp_acquire__after_ctrl_dep();
    KH_CHECK_EQ(KH_READ_ONCE(w), 32);
}

#if KH_TEST_HOSTED
/* ---- threaded tests ---- */

/* Start n threads on fn(args[i]) and join them. They all wait at a gate
 * until every one is running, so their loops really overlap even when the
 * machine is busy (a thread that finished before the next one started would
 * test nothing). */
struct gate_arg {
    void *(*fn)(void *);
    void *arg;
};
static kh_atomic_t gate_in, gate_need;

static void *gate_trampoline(void *p)
{
    struct gate_arg *g = p;
    kh_atomic_inc(&gate_in);
    while (kh_atomic_read_acquire(&gate_in) < kh_atomic_read(&gate_need)) kh_port_cpu_relax();
    return g->fn(g->arg);
}

static bool run_threads(int n, void *(*fn)(void *), void *args, size_t arg_size)
{
    pthread_t tid[8];
    struct gate_arg g[8];
    int made = 0;
    kh_atomic_set(&gate_in, 0);
    kh_atomic_set(&gate_need, n);
    for (; made < n; made++) {
        g[made] = (struct gate_arg){fn, (char *)args + (size_t)made * arg_size};
        if (pthread_create(&tid[made], NULL, gate_trampoline, &g[made])) break;
    }
    kh_atomic_set(&gate_need, made); /* release the gate if creation failed */
    for (int i = 0; i < made; i++) pthread_join(tid[i], NULL);
    return made == n;
}

/* Every thread runs every op. Arithmetic nets out to +4 per round, checked
 * at the end. Bitwise ops each own one bit per thread, so the old value a
 * fetch returns must show that bit exactly as this thread left it: a lost
 * update is caught in the act, whatever the width. xchg conserves a sum. */
struct hammer_arg {
    int id;
    size_t iters;
    unsigned bad;
    uint64_t xchg_got;
    uint64_t xchg_put;
};

#define ATOMIC_HAMMER_FN(P, T, V)                                                                  \
    static T P##_ham_sum, P##_ham_bits, P##_ham_x;                                                 \
    static void *P##_hammer(void *p)                                                               \
    {                                                                                              \
        struct hammer_arg *a = p;                                                                  \
        V bit = (V)((V)1 << a->id);                                                                \
        for (size_t i = 0; i < a->iters; i++) {                                                    \
            P##_inc(&P##_ham_sum);                                                                 \
            P##_add(2, &P##_ham_sum);                                                              \
            (void)P##_add_return_acquire(3, &P##_ham_sum);                                         \
            (void)P##_fetch_sub_release(2, &P##_ham_sum);                                          \
            (void)P##_inc_return_relaxed(&P##_ham_sum);                                            \
            (void)P##_fetch_dec(&P##_ham_sum);                                                     \
            (void)P##_sub_return(1, &P##_ham_sum);                                                 \
            V c = P##_read(&P##_ham_sum);                                                          \
            while (!P##_try_cmpxchg_relaxed(&P##_ham_sum, &c, (V)(c + 1))) {                       \
            }                                                                                      \
            V o = P##_read(&P##_ham_sum);                                                          \
            for (V s;; o = s) {                                                                    \
                s = P##_cmpxchg_acquire(&P##_ham_sum, o, (V)(o + 1));                              \
                if (s == o) break;                                                                 \
            }                                                                                      \
            P##_sub(1, &P##_ham_sum);                                                              \
            P##_dec(&P##_ham_sum);                                                                 \
            (void)P##_dec_return_release(&P##_ham_sum);                                            \
            (void)P##_fetch_add_relaxed(2, &P##_ham_sum);                                          \
            /* net +4 per round */                                                                 \
            if (P##_fetch_or(bit, &P##_ham_bits) & bit) a->bad++;                                  \
            if (!(P##_fetch_xor_acquire(bit, &P##_ham_bits) & bit)) a->bad++;                      \
            if (P##_fetch_xor_relaxed(bit, &P##_ham_bits) & bit) a->bad++;                         \
            if (!(P##_fetch_andnot_release(bit, &P##_ham_bits) & bit)) a->bad++;                   \
            P##_or(bit, &P##_ham_bits);                                                            \
            if (!(P##_fetch_and(~bit, &P##_ham_bits) & bit)) a->bad++;                             \
            P##_xor(bit, &P##_ham_bits);                                                           \
            P##_andnot(bit, &P##_ham_bits);                                                        \
            P##_xor(bit, &P##_ham_bits);                                                           \
            P##_and(~bit, &P##_ham_bits);                                                          \
            if (P##_read(&P##_ham_bits) & bit) a->bad++;                                           \
            V put = (V)(a->id * 1000 + (int)(i & 255));                                            \
            a->xchg_put += (uint64_t)put;                                                          \
            a->xchg_got += (uint64_t)P##_xchg(&P##_ham_x, put);                                    \
        }                                                                                          \
        return NULL;                                                                               \
    }                                                                                              \
    static void P##_hammer_run(int nthreads, size_t iters)                                         \
    {                                                                                              \
        struct hammer_arg args[8] = {{0}};                                                         \
        P##_set(&P##_ham_sum, 0);                                                                  \
        P##_set(&P##_ham_bits, 0);                                                                 \
        P##_set(&P##_ham_x, 0);                                                                    \
        for (int t = 0; t < nthreads; t++) {                                                       \
            args[t].id = t;                                                                        \
            args[t].iters = iters;                                                                 \
        }                                                                                          \
        KH_ASSERT(run_threads(nthreads, P##_hammer, args, sizeof(args[0])));                       \
        uint64_t got = 0, put = 0;                                                                 \
        for (int t = 0; t < nthreads; t++) {                                                       \
            KH_CHECK_EQ(args[t].bad, 0);                                                           \
            got += args[t].xchg_got;                                                               \
            put += args[t].xchg_put;                                                               \
        }                                                                                          \
        KH_CHECK_EQ(P##_read(&P##_ham_sum), (V)((uint64_t)nthreads * iters * 4u));                 \
        KH_CHECK_EQ(P##_read(&P##_ham_bits), 0);                                                   \
        /* Every value put was either fetched by a later xchg or is still there. */                \
        KH_CHECK_EQ((V)(got + (uint64_t)P##_read(&P##_ham_x)), (V)put);                            \
    }

ATOMIC_HAMMER_FN(kh_atomic8, kh_atomic8_t, uint8_t)
ATOMIC_HAMMER_FN(kh_atomic16, kh_atomic16_t, uint16_t)
ATOMIC_HAMMER_FN(kh_atomic, kh_atomic_t, int)
#if KH_ATOMIC64_MODE != KH_ATOMIC64_NONE
ATOMIC_HAMMER_FN(kh_atomic64, kh_atomic64_t, int64_t)
#endif
#endif /* KH_TEST_HOSTED */

KH_TEST_TAGGED(atomic_threads_no_lost_updates, "hosted")
{
#if KH_TEST_HOSTED
    static const int threads[] = {2, 4, 8};
    for (unsigned k = 0; k < sizeof(threads) / sizeof(threads[0]); k++) {
        size_t iters = kh_test_iters(16000) / (size_t)threads[k];
        kh_atomic8_hammer_run(threads[k], iters);
        kh_atomic16_hammer_run(threads[k], iters);
        kh_atomic_hammer_run(threads[k], iters);
#if KH_ATOMIC64_MODE != KH_ATOMIC64_NONE
        kh_atomic64_hammer_run(threads[k], iters);
#endif
    }
#endif
}

#if KH_TEST_HOSTED
/* Adjacent sub-words of one 32-bit word, one thread each: since only its
 * owner changes a sub-word, every fetch must return exactly what the owner
 * last wrote. In the emulated build this is a CAS loop on the shared word,
 * where a lost update would be a neighbour's write undone. */
static _Alignas(4) union {
    kh_atomic8_t b[4];
    kh_atomic16_t h[2];
} adj;

struct adj_arg {
    int idx;
    int kind; /* 8 or 16 */
    size_t iters;
    unsigned bad;
    int slot, nthreads;
};

/* Pacing: no thread runs more than 32 rounds ahead of the slowest, so the
 * threads keep colliding on the word even when one is preempted (it is
 * waited for, not raced past). The slowest never waits: no deadlock. */
static kh_atomic_t adj_progress[4];

static void adj_pace(const struct adj_arg *a, size_t i)
{
    kh_atomic_set(&adj_progress[a->slot], (int)i);
    for (int t = 0; t < a->nthreads; t++)
        while ((int)i > kh_atomic_read(&adj_progress[t]) + 32) kh_port_cpu_relax();
}

static void *adj_worker(void *p)
{
    struct adj_arg *a = p;
    if (a->kind == 8) {
        kh_atomic8_t *v = &adj.b[a->idx];
        uint8_t mine = kh_atomic8_read(v);
        for (size_t i = 0; i < a->iters; i++) {
            adj_pace(a, i);
            if (kh_atomic8_fetch_inc(v) != mine) a->bad++;
            mine++;
            if (kh_atomic8_fetch_add_relaxed(3, v) != mine) a->bad++;
            mine = (uint8_t)(mine + 3);
            if (kh_atomic8_xchg(v, (uint8_t)i) != mine) a->bad++;
            mine = (uint8_t)i;
            if (kh_atomic8_cmpxchg(v, mine, (uint8_t)(mine ^ 0x5a)) != mine) a->bad++;
            mine ^= 0x5a;
            if (kh_atomic8_fetch_xor_release(0xff, v) != mine) a->bad++;
            mine ^= 0xff;
        }
        if (kh_atomic8_read(v) != mine) a->bad++;
        kh_atomic_set(&adj_progress[a->slot], INT_MAX / 2); /* done: nobody waits for us */
    } else {
        kh_atomic16_t *v = &adj.h[a->idx];
        uint16_t mine = kh_atomic16_read(v);
        for (size_t i = 0; i < a->iters; i++) {
            adj_pace(a, i);
            if (kh_atomic16_fetch_sub(1, v) != mine) a->bad++;
            mine--;
            if (kh_atomic16_fetch_or_acquire(0x8001, v) != mine) a->bad++;
            mine |= 0x8001;
            uint16_t want = mine;
            if (!kh_atomic16_try_cmpxchg(v, &want, (uint16_t)(i * 7))) a->bad++;
            mine = (uint16_t)(i * 7);
            if (kh_atomic16_xchg_relaxed(v, 0x1234) != mine) a->bad++;
            mine = 0x1234;
        }
        if (kh_atomic16_read(v) != mine) a->bad++;
        kh_atomic_set(&adj_progress[a->slot], INT_MAX / 2);
    }
    return NULL;
}
#endif

KH_TEST_TAGGED(atomic_threads_adjacent_subwords, "hosted")
{
#if KH_TEST_HOSTED
    size_t iters = kh_test_iters(250000);
    struct adj_arg a8[4], a16[2];
    for (int i = 0; i < 4; i++) {
        kh_atomic8_set(&adj.b[i], (uint8_t)(i * 50));
        kh_atomic_set(&adj_progress[i], 0);
        a8[i] = (struct adj_arg){i, 8, iters, 0, i, 4};
    }
    KH_ASSERT(run_threads(4, adj_worker, a8, sizeof(a8[0])));
    for (int i = 0; i < 4; i++) KH_CHECK_EQ(a8[i].bad, 0);
    /* Exactly the case: two threads on two adjacent bytes of a word. */
    struct adj_arg two[2] = {{1, 8, iters, 0, 0, 2}, {2, 8, iters, 0, 1, 2}};
    kh_atomic_set(&adj_progress[0], 0);
    kh_atomic_set(&adj_progress[1], 0);
    KH_ASSERT(run_threads(2, adj_worker, two, sizeof(two[0])));
    KH_CHECK_EQ(two[0].bad + two[1].bad, 0);
    for (int i = 0; i < 2; i++) {
        kh_atomic_set(&adj_progress[i], 0);
        a16[i] = (struct adj_arg){i, 16, iters, 0, i, 2};
    }
    KH_ASSERT(run_threads(2, adj_worker, a16, sizeof(a16[0])));
    KH_CHECK_EQ(a16[0].bad + a16[1].bad, 0);
#endif
}

/* ---- litmus tests (names atomic_litmus_*: mk/sync.mk selects them) ---- */
#if KH_TEST_HOSTED
/* Message passing: the writer stores data = i then flag = i (release); a
 * reader that sees flag = f (acquire) must see data >= f. Continuous, no
 * per-iteration handshake, so it costs little even under valgrind. */
static kh_atomic_t mp_data, mp_flag;
static unsigned mp_plain_data, mp_plain_flag;
static size_t mp_n;

static void *mp_writer(void *p)
{
    (void)p;
    for (size_t i = 1; i <= mp_n; i++) {
        kh_atomic_set(&mp_data, (int)i);
        kh_atomic_set_release(&mp_flag, (int)i);
    }
    /* Same with the type-generic macros on plain variables. */
    for (size_t i = 1; i <= mp_n; i++) {
        KH_WRITE_ONCE(mp_plain_data, (unsigned)i);
        kh_smp_store_release(&mp_plain_flag, (unsigned)i);
    }
    return NULL;
}

struct mp_reader {
    unsigned long forbidden, seen;
};

static void *mp_read(void *p)
{
    struct mp_reader *r = p;
    int f;
    do {
        f = kh_atomic_read_acquire(&mp_flag);
        int d = kh_atomic_read(&mp_data);
        if (d < f) r->forbidden++;
        r->seen++;
    } while ((size_t)f != mp_n);
    unsigned g;
    do {
        g = kh_smp_load_acquire(&mp_plain_flag);
        unsigned d = KH_READ_ONCE(mp_plain_data);
        if (d < g) r->forbidden++;
        r->seen++;
    } while ((size_t)g != mp_n);
    return NULL;
}
#endif

KH_TEST_TAGGED(atomic_litmus_mp, "hosted parallel slow")
{
#if KH_TEST_HOSTED
    mp_n = kh_test_iters(1000000);
    kh_atomic_set(&mp_data, 0);
    kh_atomic_set(&mp_flag, 0);
    mp_plain_data = mp_plain_flag = 0;
    struct mp_reader r = {0, 0};
    pthread_t w, rd;
    KH_ASSERT(pthread_create(&rd, NULL, mp_read, &r) == 0);
    if (pthread_create(&w, NULL, mp_writer, NULL) != 0) {
        kh_test_fail(__FILE__, __LINE__, "pthread_create");
        mp_n = 0; /* let the reader finish */
    } else {
        pthread_join(w, NULL);
    }
    pthread_join(rd, NULL);
    KH_CHECK_EQ(r.forbidden, 0);
    KH_CHECK(r.seen >= 2);
#endif
}

#if KH_TEST_HOSTED
/* Store buffering with full barriers, run continuously: thread 0 does
 * x = i; mb; r0[i] = y and thread 1 does y = j; mb; r1[j] = x, for i, j = 1..n,
 * with no handshake beyond pacing: neither loop may run more than SB_AHEAD
 * iterations ahead of the other (a load before the store, outside the
 * litmus shape), so the two overlap all the time even on a loaded machine.
 * Values only grow, so reads by one thread never go backwards. The forbidden SB cycle is
 * "W x=i, R y < j" and "W y=j, R x < i" for some i, j; since r0 is monotonic
 * that is r0[r1[j] + 1] < j for some j. ATOMIC_LITMUS_SB_FENCE=0 drops the
 * barriers, and then x86 shows thousands of these: the test can fail. */
#ifndef ATOMIC_LITMUS_SB_FENCE
#define ATOMIC_LITMUS_SB_FENCE 1
#endif
#define SB_AHEAD 8
static kh_atomic_t sb_x, sb_y, sb_go;
static int *sb_r0, *sb_r1;
static size_t sb_n;

static void *sb_thread1(void *p)
{
    (void)p;
    kh_atomic_inc(&sb_go);
    while (kh_atomic_read_acquire(&sb_go) < 2) kh_port_cpu_relax();
    for (size_t j = 1; j <= sb_n; j++) {
        while (j > (size_t)kh_atomic_read(&sb_x) + SB_AHEAD) kh_port_cpu_relax();
        kh_atomic_set(&sb_y, (int)j);
#if ATOMIC_LITMUS_SB_FENCE
        kh_smp_mb();
#endif
        sb_r1[j] = kh_atomic_read(&sb_x);
    }
    return NULL;
}
#endif

KH_TEST_TAGGED(atomic_litmus_sb, "hosted parallel slow")
{
#if KH_TEST_HOSTED
    sb_n = kh_test_iters(1000000);
    sb_r0 = calloc(sb_n + 2, sizeof(int));
    sb_r1 = calloc(sb_n + 2, sizeof(int));
    KH_ASSERT(sb_r0 && sb_r1);
    kh_atomic_set(&sb_x, 0);
    kh_atomic_set(&sb_y, 0);
    kh_atomic_set(&sb_go, 0);
    pthread_t t;
    if (pthread_create(&t, NULL, sb_thread1, NULL) != 0) {
        free(sb_r0);
        free(sb_r1);
        KH_ASSERT(!"pthread_create");
    }
    kh_atomic_inc(&sb_go);
    while (kh_atomic_read_acquire(&sb_go) < 2) kh_port_cpu_relax();
    for (size_t i = 1; i <= sb_n; i++) {
        while (i > (size_t)kh_atomic_read(&sb_y) + SB_AHEAD) kh_port_cpu_relax();
        kh_atomic_set(&sb_x, (int)i);
#if ATOMIC_LITMUS_SB_FENCE
        kh_mb();
#endif
        sb_r0[i] = kh_atomic_read(&sb_y);
    }
    pthread_join(t, NULL);
    unsigned long forbidden = 0, backwards = 0;
    for (size_t j = 1; j <= sb_n; j++) {
        size_t b = (size_t)sb_r1[j];
        if (b < sb_n && (size_t)sb_r0[b + 1] < j) forbidden++;
        if (j > 1 && sb_r1[j] < sb_r1[j - 1]) backwards++; /* coherence */
        if (j > 1 && sb_r0[j] < sb_r0[j - 1]) backwards++;
    }
    free(sb_r0);
    free(sb_r1);
    KH_CHECK_EQ(forbidden, 0);
    KH_CHECK_EQ(backwards, 0);
#endif
}
