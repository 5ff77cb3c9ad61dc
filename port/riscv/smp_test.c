/* SPDX-License-Identifier: MIT */
/* Two harts hammer one heap behind one spin lock (QEMU virt -smp 2, MTTCG:
 * the harts really run at once, on a weakly ordered ISA).
 *
 * Each hart allocates, fills, checks and frees random blocks under the lock.
 * What would show a broken lock or broken atomics:
 *   - a block handed to both harts at once (its fill pattern is overwritten
 *     by the other hart's tag);
 *   - heap metadata corrupted by two harts in kheap_alloc/free at once
 *     (kheap_check, or live bytes not back to zero at the end);
 *   - a plain counter incremented inside the lock losing updates;
 *   - an atomic counter incremented outside the lock losing updates.
 * Prints "smp: 1 passed, 0 failed" (or 0 passed, 1 failed) and exits with
 * the status. Built with -DKH_SMP_NO_LOCK the lock is skipped, and this test
 * must fail: that is how it was checked to be able to. */
#include <stdint.h>
#include <string.h>

#include "kh_bare.h"
#include "kheap/atomic.h"
#include "kheap/fmt.h"
#include "kheap/heap.h"
#include "kheap/port.h"
#include "kheap/spinlock.h"

#ifndef KH_SMP_ITERS
#define KH_SMP_ITERS 20000
#endif
#define SLOTS 48

#ifndef KH_SMP_NO_LOCK
static kh_spinlock_t lock = KH_SPINLOCK_INIT;
#endif
static kheap *heap;
static unsigned long in_lock_count; /* only touched with the lock held */
static kh_atomic_t atomic_count = KH_ATOMIC_INIT(0);
static kh_atomic_t arrived = KH_ATOMIC_INIT(0);
static kh_atomic_t go = KH_ATOMIC_INIT(0);
static kh_atomic_t done = KH_ATOMIC_INIT(0);
static kh_atomic_t errors = KH_ATOMIC_INIT(0);
static unsigned long long alloc_fail[2];

static void lock_heap(void)
{
#ifndef KH_SMP_NO_LOCK
    kh_spin_lock(&lock);
#endif
}

static void unlock_heap(void)
{
#ifndef KH_SMP_NO_LOCK
    kh_spin_unlock(&lock);
#endif
}

static uint32_t xorshift(uint32_t *s)
{
    uint32_t x = *s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *s = x;
}

static void hammer(unsigned hart)
{
    unsigned char *slot[SLOTS] = {0};
    size_t size[SLOTS] = {0};
    uint32_t rng = 0x9e3779b9u * (hart + 1);
    for (unsigned long i = 0; i < KH_SMP_ITERS; i++) {
        unsigned k = xorshift(&rng) % SLOTS;
        unsigned char tag = (unsigned char)(hart << 7 | k);
        if (slot[k]) {
            for (size_t j = 0; j < size[k]; j++) {
                if (slot[k][j] != tag) {
                    kh_atomic_inc(&errors);
                    break;
                }
            }
            lock_heap();
            kheap_free(heap, slot[k]);
            in_lock_count++;
            unlock_heap();
            slot[k] = NULL;
        } else {
            size_t n = 1 + xorshift(&rng) % 700;
            lock_heap();
            unsigned char *p = kheap_alloc(heap, n, 0);
            in_lock_count++;
            unlock_heap();
            if (!p) {
                alloc_fail[hart]++;
                continue;
            }
            memset(p, tag, n);
            slot[k] = p;
            size[k] = n;
        }
        kh_atomic_inc(&atomic_count);
    }
    for (unsigned k = 0; k < SLOTS; k++) {
        if (!slot[k]) continue;
        lock_heap();
        kheap_free(heap, slot[k]);
        unlock_heap();
    }
}

/* Hart 1 (start.S calls this on every hart but 0 once .bss is clear). */
void kh_rv_secondary(unsigned long hartid)
{
    if (hartid != 1) return;
    kh_atomic_set_release(&arrived, 1);
    while (!kh_atomic_read_acquire(&go)) kh_port_cpu_relax();
    hammer(1);
    kh_atomic_set_release(&done, 1);
}

static void put(void *ctx, const char *s, size_t n)
{
    (void)ctx;
    kh_bare_write(s, n);
}

int main(void)
{
    kh_cbprintf(put, NULL, "kheap SMP test: 2 harts, one heap, one spin lock, %d iterations each\n",
                KH_SMP_ITERS);
    /* A heap small enough that the harts compete for the same blocks. */
    heap = kheap_init(_heap_start, 256 * 1024);
    if (!heap) return 2;
    /* Bounded wait: with -smp 1 hart 1 never comes, and that is a failure,
     * not a hang. */
    unsigned long spins = 0;
    while (!kh_atomic_read_acquire(&arrived)) {
        if (++spins > 100000000ul) {
            kh_cbprintf(put, NULL,
                        "hart 1 did not start (run with -smp 2)\nsmp: 0 passed, 1 failed\n");
            return 1;
        }
        kh_port_cpu_relax();
    }
    kh_atomic_set_release(&go, 1);
    hammer(0);
    while (!kh_atomic_read_acquire(&done)) kh_port_cpu_relax();

    struct kheap_stats st;
    kheap_stats(heap, &st);
    int check = kheap_check(heap);
    unsigned long ops = (unsigned long)kh_atomic_read(&atomic_count);
    unsigned long expect_ops = 2ul * KH_SMP_ITERS - (unsigned long)(alloc_fail[0] + alloc_fail[1]);
    int bad = kh_atomic_read(&errors) != 0 || check != 0 || st.used_bytes != 0 ||
              ops != expect_ops || in_lock_count != 2ul * KH_SMP_ITERS;
    kh_cbprintf(put, NULL,
                "pattern errors %d, kheap_check %d, used after %zu B, peak %zu B, "
                "alloc failures %llu + %llu, atomic ops %lu of %lu, locked ops %lu\n",
                kh_atomic_read(&errors), check, st.used_bytes, st.peak_used_bytes, alloc_fail[0],
                alloc_fail[1], ops, expect_ops, in_lock_count);
    kh_cbprintf(put, NULL, "smp: %d passed, %d failed\n", !bad, bad);
    return bad;
}
