/* SPDX-License-Identifier: MIT */
/* Ticket spin lock: API and guards single-threaded (bare metal too), then
 * mutual exclusion and FIFO handoff with threads (hosted). */
#include "kh_test.h"

#include "kheap/error.h"
#include "kheap/spinlock.h"

KH_TEST_FILE_TAGS("threads");

#if KH_TEST_HOSTED
#include <pthread.h>

#include "kheap/port.h"

#endif

static kh_spinlock_t static_lock = KH_SPINLOCK_INIT;

KH_TEST(spinlock_lock_trylock_unlock)
{
    kh_spinlock_t l;
    kh_spin_lock_init(&l);
    KH_CHECK(!kh_spin_is_locked(&l));
    kh_spin_lock(&l);
    KH_CHECK(kh_spin_is_locked(&l));
    KH_CHECK(!kh_spin_is_contended(&l));
    KH_CHECK(!kh_spin_trylock(&l)); /* held: trylock fails, never waits */
    kh_spin_unlock(&l);
    KH_CHECK(!kh_spin_is_locked(&l));
    KH_CHECK(kh_spin_trylock(&l));
    KH_CHECK(kh_spin_is_locked(&l));
    kh_spin_unlock(&l);
    /* Many rounds: tickets keep counting, the lock keeps working. */
    for (int i = 0; i < 1000; i++) {
        kh_spin_lock(&l);
        kh_spin_unlock(&l);
    }
    KH_CHECK(kh_spin_trylock(&l));
    kh_spin_unlock(&l);
    /* The static initialiser gives an unlocked lock. */
    KH_CHECK(!kh_spin_is_locked(&static_lock));
    KH_CHECK(kh_spin_trylock(&static_lock));
    kh_spin_unlock(&static_lock);
}

KH_TEST(spinlock_irqsave_variants)
{
    kh_spinlock_t l = KH_SPINLOCK_INIT;
    unsigned long flags = kh_spin_lock_irqsave(&l);
    KH_CHECK(kh_spin_is_locked(&l));
    unsigned long f2 = 12345;
    KH_CHECK(!kh_spin_trylock_irqsave(&l, &f2));
    KH_CHECK_EQ(f2, 12345); /* untouched when not taken */
    kh_spin_unlock_irqrestore(&l, flags);
    KH_CHECK(!kh_spin_is_locked(&l));
    KH_CHECK(kh_spin_trylock_irqsave(&l, &f2));
    KH_CHECK(kh_spin_is_locked(&l));
    kh_spin_unlock_irqrestore(&l, f2);
    KH_CHECK(!kh_spin_is_locked(&l));
}

#if KH_TEST_HOSTED
/* The hosted port's pretend interrupt flag (port/hosted/port_hosted.c). */
int kh_port_hosted_irqs_disabled(void);
#endif

/* irqsave really goes through the port hooks: interrupts are off while the
 * lock is held, nested pairs restore the outer state, a failed trylock
 * leaves them as they were, and the irqsave guard restores on scope exit. */
KH_TEST_TAGGED(spinlock_irqsave_port_hooks, "hosted")
{
#if KH_TEST_HOSTED
    kh_spinlock_t a = KH_SPINLOCK_INIT, b = KH_SPINLOCK_INIT;
    KH_ASSERT(!kh_port_hosted_irqs_disabled());
    unsigned long fa = kh_spin_lock_irqsave(&a);
    KH_CHECK(kh_port_hosted_irqs_disabled());
    unsigned long fb = kh_spin_lock_irqsave(&b);
    KH_CHECK(kh_port_hosted_irqs_disabled());
    kh_spin_unlock_irqrestore(&b, fb);
    KH_CHECK(kh_port_hosted_irqs_disabled()); /* the outer section still has them off */
    kh_spin_unlock_irqrestore(&a, fa);
    KH_CHECK(!kh_port_hosted_irqs_disabled());

    unsigned long f = 0;
    kh_spin_lock(&a);
    KH_CHECK(!kh_port_hosted_irqs_disabled()); /* plain lock leaves them alone */
    KH_CHECK(!kh_spin_trylock_irqsave(&a, &f));
    KH_CHECK(!kh_port_hosted_irqs_disabled());
    kh_spin_unlock(&a);
    KH_CHECK(kh_spin_trylock_irqsave(&a, &f));
    KH_CHECK(kh_port_hosted_irqs_disabled());
    kh_spin_unlock_irqrestore(&a, f);
    KH_CHECK(!kh_port_hosted_irqs_disabled());

#if KH_HAVE_CLEANUP
    {
        kh_guard(spinlock_irqsave)(&a);
        KH_CHECK(kh_port_hosted_irqs_disabled());
    }
    KH_CHECK(!kh_port_hosted_irqs_disabled());
#endif

#if KH_ATOMIC64_MODE != KH_ATOMIC64_NONE
    /* The 64-bit lock fallback (when built in) disables interrupts around each
     * op and restores them, including when they were already off. */
    kh_atomic64_t v = KH_ATOMIC_INIT(0);
    kh_atomic64_inc(&v);
    KH_CHECK(!kh_port_hosted_irqs_disabled());
    fa = kh_spin_lock_irqsave(&a);
    KH_CHECK_EQ(kh_atomic64_add_return(2, &v), 3);
    KH_CHECK(kh_port_hosted_irqs_disabled());
    kh_spin_unlock_irqrestore(&a, fa);
    KH_CHECK(!kh_port_hosted_irqs_disabled());
#endif
#endif
}

/* Unlocking a lock nobody holds is reported and ignored: the tickets stay
 * consistent and the lock still works afterwards. */
KH_TEST(spinlock_unlock_unlocked_reported)
{
    kh_spinlock_t l = KH_SPINLOCK_INIT;
    struct kh_test_reports r;
    kh_test_reports_start(&r);
#if KH_CONFIG_CHECKS || KH_CONFIG_SPINLOCK_DEBUG
    kh_spin_unlock(&l);
    KH_CHECK_EQ(r.count, 1);
    KH_CHECK_EQ(r.last_code, KH_EINVAL);
    KH_CHECK(r.last_ptr == &l);
#endif
    /* (Unchecked builds trust the caller: there the bad unlock would break
     * the lock, so it is not made.) */
    KH_CHECK(!kh_spin_is_locked(&l));
    KH_CHECK(kh_spin_trylock(&l));
    KH_CHECK(!kh_spin_trylock(&l));
    kh_spin_unlock(&l);
    KH_CHECK(!kh_spin_is_locked(&l));
    kh_test_reports_stop();
}

/* Debug builds catch recursion: the nested lock is refused (no deadlock) and
 * its unlock absorbed, so the outer section stays locked until its own
 * unlock. Without debug, trylock is how code finds out it holds the lock. */
KH_TEST(spinlock_debug_recursion)
{
    kh_spinlock_t l = KH_SPINLOCK_INIT;
    struct kh_test_reports r;
    kh_test_reports_start(&r);
    kh_spin_lock(&l);
#if KH_CONFIG_SPINLOCK_DEBUG
    kh_spin_lock(&l); /* would deadlock */
    KH_CHECK_EQ(r.count, 1);
    KH_CHECK_EQ(r.last_code, KH_EBUSY);
    KH_CHECK(r.last_ptr == &l);
    unsigned long f = kh_spin_lock_irqsave(&l);
    KH_CHECK_EQ(r.count, 2);
    kh_spin_unlock_irqrestore(&l, f); /* absorbed */
    kh_spin_unlock(&l);               /* absorbed */
    KH_CHECK(kh_spin_is_locked(&l));
    KH_CHECK(!kh_spin_is_contended(&l));
#else
    KH_CHECK(!kh_spin_trylock(&l));
#endif
    kh_spin_unlock(&l);
    KH_CHECK(!kh_spin_is_locked(&l));
    KH_CHECK_EQ(r.count, KH_CONFIG_SPINLOCK_DEBUG ? 2u : 0u);
    kh_test_reports_stop();
}

/* ---- guards ---- */
#if KH_HAVE_CLEANUP
static kh_spinlock_t glock = KH_SPINLOCK_INIT;

static int guard_return_early(int x)
{
    kh_guard(spinlock)(&glock);
    if (x > 0) return kh_spin_is_locked(&glock) ? x : -1;
    return 0;
}

static int scoped_return_inside(void)
{
    kh_scoped_guard(spinlock, &glock)
    {
        return kh_spin_is_locked(&glock);
    }
    return -1;
}
#endif

KH_TEST(spinlock_guard_every_exit_path)
{
#if KH_HAVE_CLEANUP
    /* return */
    KH_CHECK_EQ(guard_return_early(5), 5);
    KH_CHECK(!kh_spin_is_locked(&glock));
    KH_CHECK_EQ(guard_return_early(0), 0);
    KH_CHECK(!kh_spin_is_locked(&glock));
    KH_CHECK_EQ(scoped_return_inside(), 1);
    KH_CHECK(!kh_spin_is_locked(&glock));

    /* end of block, break and continue out of a loop body */
    int bodies = 0;
    for (int i = 0; i < 10; i++) {
        kh_guard(spinlock)(&glock);
        KH_CHECK(kh_spin_is_locked(&glock));
        bodies++;
        if (i == 2) continue;
        if (i == 4) break;
    }
    KH_CHECK_EQ(bodies, 5);
    KH_CHECK(!kh_spin_is_locked(&glock));

    /* goto out of the guarded block */
    int n = 0;
    {
        kh_guard(spinlock_irqsave)(&glock);
        n++;
        if (n == 1) goto out;
        n = 100;
    }
out:
    KH_CHECK_EQ(n, 1);
    KH_CHECK(!kh_spin_is_locked(&glock));

    /* scoped guard: body once, held inside, released after; break leaves it */
    int runs = 0;
    kh_scoped_guard(spinlock, &glock)
    {
        KH_CHECK(kh_spin_is_locked(&glock));
        runs++;
    }
    KH_CHECK_EQ(runs, 1);
    KH_CHECK(!kh_spin_is_locked(&glock));
    kh_scoped_guard(spinlock_irqsave, &glock)
    {
        runs++;
        if (runs == 2) break;
        runs = 100;
    }
    KH_CHECK_EQ(runs, 2);
    KH_CHECK(!kh_spin_is_locked(&glock));
    for (int i = 0; i < 3; i++) {
        kh_scoped_guard(spinlock, &glock)
        {
            if (i == 1) goto next;
            runs++;
        }
    next:;
    }
    KH_CHECK_EQ(runs, 4);
    KH_CHECK(!kh_spin_is_locked(&glock));

    /* spinlock_try: the body runs only when the lock was free */
    kh_spin_lock(&glock);
    kh_scoped_guard(spinlock_try, &glock)
    {
        runs = 1000;
    }
    KH_CHECK_EQ(runs, 4);
    kh_spin_unlock(&glock);
    kh_scoped_guard(spinlock_try, &glock)
    {
        KH_CHECK(kh_spin_is_locked(&glock));
        runs++;
    }
    KH_CHECK_EQ(runs, 5);
    KH_CHECK(!kh_spin_is_locked(&glock));

    /* Two guards in one block (distinct hidden names), released in reverse. */
    kh_spinlock_t a = KH_SPINLOCK_INIT, b = KH_SPINLOCK_INIT;
    {
        kh_guard(spinlock)(&a);
        kh_guard(spinlock)(&b);
        KH_CHECK(kh_spin_is_locked(&a) && kh_spin_is_locked(&b));
    }
    KH_CHECK(!kh_spin_is_locked(&a) && !kh_spin_is_locked(&b));
#else
    /* No cleanup attribute: the plain API is what there is. */
    KH_CHECK(kh_spin_trylock(&static_lock));
    kh_spin_unlock(&static_lock);
#endif
}

#if KH_TEST_HOSTED
/* ---- threads ---- */
static kh_spinlock_t mx_lock = KH_SPINLOCK_INIT;
static unsigned long mx_counter; /* plain: only the lock protects it */
static int mx_inside;            /* plain: must never be seen != 0 on entry */
static unsigned mx_overlaps;

struct mx_arg {
    int id;
    size_t iters;
};

static void mx_section(void)
{
    if (mx_inside != 0) mx_overlaps++;
    mx_inside = 1;
    /* A read-modify-write spread out so an overlap would lose updates. */
    unsigned long c = mx_counter;
    kh_barrier();
    mx_counter = c + 1;
    mx_inside = 0;
}

static void *mx_worker(void *p)
{
    struct mx_arg *a = p;
    for (size_t i = 0; i < a->iters; i++) {
        switch ((i + (size_t)a->id) % 4) {
        case 0:
            kh_spin_lock(&mx_lock);
            mx_section();
            kh_spin_unlock(&mx_lock);
            break;
        case 1: {
            unsigned long f = kh_spin_lock_irqsave(&mx_lock);
            mx_section();
            kh_spin_unlock_irqrestore(&mx_lock, f);
            break;
        }
        case 2:
            while (!kh_spin_trylock(&mx_lock)) kh_port_cpu_relax();
            mx_section();
            kh_spin_unlock(&mx_lock);
            break;
        default:
#if KH_HAVE_CLEANUP
        {
            kh_guard(spinlock)(&mx_lock);
            mx_section();
        }
#else
            kh_spin_lock(&mx_lock);
            mx_section();
            kh_spin_unlock(&mx_lock);
#endif
        break;
        }
    }
    return NULL;
}
#endif

KH_TEST_TAGGED(spinlock_threads_mutual_exclusion, "hosted")
{
#if KH_TEST_HOSTED
    static const int threads[] = {2, 4, 8};
    for (unsigned k = 0; k < 3; k++) {
        int n = threads[k];
        size_t iters = kh_test_iters(40000) / (size_t)n;
        struct mx_arg args[8];
        pthread_t tid[8];
        mx_counter = 0;
        mx_overlaps = 0;
        int made = 0;
        for (; made < n; made++) {
            args[made] = (struct mx_arg){made, iters};
            if (pthread_create(&tid[made], NULL, mx_worker, &args[made])) break;
        }
        for (int i = 0; i < made; i++) pthread_join(tid[i], NULL);
        KH_ASSERT_EQ(made, n);
        KH_CHECK_EQ(mx_overlaps, 0);
        KH_CHECK_EQ(mx_counter, (unsigned long)n * iters);
        KH_CHECK(!kh_spin_is_locked(&mx_lock));
    }
#endif
}

#if KH_TEST_HOSTED
/* FIFO: while the main thread holds the lock, waiters are started one at a
 * time, each only after the previous one has taken its ticket. They must
 * get the lock in exactly that order. */
#define FIFO_WAITERS 6
static kh_spinlock_t fifo_lock = KH_SPINLOCK_INIT;
static int fifo_order[FIFO_WAITERS];
static int fifo_pos;

static void *fifo_waiter(void *p)
{
    int id = *(int *)p;
    kh_spin_lock(&fifo_lock);
    fifo_order[fifo_pos++] = id;
    kh_spin_unlock(&fifo_lock);
    return NULL;
}
#endif

KH_TEST_TAGGED(spinlock_threads_fifo_handoff, "hosted")
{
#if KH_TEST_HOSTED
    size_t rounds = kh_test_iters(40);
    int ids[FIFO_WAITERS];
    for (size_t r = 0; r < rounds; r++) {
        pthread_t tid[FIFO_WAITERS];
        int made = 0;
        fifo_pos = 0;
        kh_spin_lock(&fifo_lock);
        int base = kh_atomic_read(&fifo_lock.next); /* tickets handed out so far */
        for (; made < FIFO_WAITERS; made++) {
            /* Vary who goes first so thread creation order is not the answer. */
            ids[made] = (int)((made * 5 + (int)r) % FIFO_WAITERS);
            if (pthread_create(&tid[made], NULL, fifo_waiter, &ids[made])) break;
            while (kh_atomic_read(&fifo_lock.next) != base + made + 1) kh_port_cpu_relax();
            KH_CHECK(kh_spin_is_contended(&fifo_lock));
        }
        kh_spin_unlock(&fifo_lock);
        for (int i = 0; i < made; i++) pthread_join(tid[i], NULL);
        KH_ASSERT_EQ(made, FIFO_WAITERS);
        KH_ASSERT_EQ(fifo_pos, FIFO_WAITERS);
        for (int i = 0; i < FIFO_WAITERS; i++) KH_CHECK_EQ(fifo_order[i], ids[i]);
    }
#endif
}

#if KH_TEST_HOSTED && KH_CONFIG_SPINLOCK_DEBUG
static kh_spinlock_t foreign_lock = KH_SPINLOCK_INIT;
static void *foreign_unlocker(void *p)
{
    (void)p;
    kh_spin_unlock(&foreign_lock); /* not ours: reported, ignored */
    return NULL;
}
#endif

/* Debug builds report an unlock by a context that does not hold the lock. */
KH_TEST_TAGGED(spinlock_threads_debug_foreign_unlock, "hosted")
{
#if KH_TEST_HOSTED
#if KH_CONFIG_SPINLOCK_DEBUG
    struct kh_test_reports r;
    kh_test_reports_start(&r);
    kh_spin_lock(&foreign_lock);
    pthread_t t;
    KH_ASSERT(pthread_create(&t, NULL, foreign_unlocker, NULL) == 0);
    pthread_join(t, NULL);
    KH_CHECK_EQ(r.count, 1);
    KH_CHECK_EQ(r.last_code, KH_EINVAL);
    KH_CHECK(kh_spin_is_locked(&foreign_lock)); /* still ours */
    kh_spin_unlock(&foreign_lock);
    KH_CHECK(!kh_spin_is_locked(&foreign_lock));
    KH_CHECK_EQ(r.count, 1);
    kh_test_reports_stop();
#else
    /* Without debug an unlock from anywhere releases: ownership is not tracked. */
    kh_spinlock_t l = KH_SPINLOCK_INIT;
    kh_spin_lock(&l);
    kh_spin_unlock(&l);
    KH_CHECK(!kh_spin_is_locked(&l));
#endif
#endif
}
