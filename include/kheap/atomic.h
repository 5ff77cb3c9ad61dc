/* SPDX-License-Identifier: MIT */
/* kheap atomics: the Linux kernel's atomic_t API, freestanding, in C11.
 *
 * DATASHEET
 *
 * Types       kh_atomic8_t   uint8_t   prefix kh_atomic8_
 *             kh_atomic16_t  uint16_t  prefix kh_atomic16_
 *             kh_atomic_t    int       prefix kh_atomic_     (the kernel's atomic_t)
 *             kh_atomic64_t  int64_t   prefix kh_atomic64_   (the kernel's atomic64_t)
 *             kh_atomic_ptr_t void *   prefix kh_atomic_ptr_ (read/set/xchg/cmpxchg only)
 *             Each is a struct around its counter so plain accesses do not
 *             compile by accident. Static initialiser: KH_ATOMIC_INIT(v).
 *             8/16-bit are unsigned (bytes, flags, small counters); 32/64-bit
 *             are signed like the kernel's; arithmetic wraps (two's complement)
 *             at every width, never undefined.
 *
 * Names       Kernel names and argument order, with the width after "atomic":
 *               kh_atomic_add(1, &v)            kernel atomic_add(1, &v)
 *               kh_atomic8_fetch_or_acquire(m, &b)
 *               kh_atomic64_cmpxchg(&v, old, new)
 *             Arithmetic and bitwise ops take (i, v); read/set/xchg/cmpxchg
 *             and the conditional ops take (v, ...). Swapping them does not
 *             compile (int vs pointer), so a kernel habit cannot go wrong.
 *
 * Operations  (X = add sub and or xor andnot; Y = add sub inc dec)
 *   read, read_acquire, set, set_release
 *   X, inc, dec                         no value, unordered (relaxed)
 *   Y_return{,_relaxed,_acquire,_release}         new value
 *   fetch_{X,inc,dec}{,_relaxed,_acquire,_release} old value
 *   xchg{...}, cmpxchg{...} (returns old), try_cmpxchg{...} (bool; on
 *   failure stores the current value in *old, as the kernel's)
 *   inc_and_test, dec_and_test, sub_and_test, add_negative (sign bit of the
 *   result), add_unless, inc_not_zero, fetch_add_unless: fully ordered
 *
 * Ordering    No suffix on a value-returning op: fully ordered (sequentially
 *             consistent RMW: lock-prefixed on x86, LDADDAL/LDREX+DMB on Arm,
 *             amo*.aqrl on RISC-V, as the kernel's). _acquire/_release/
 *             _relaxed: as named. A failed cmpxchg is relaxed (acquire for
 *             _acquire). Non-value ops and read/set are relaxed, as in the
 *             kernel; use read_acquire/set_release or the barriers to order.
 *             Barriers: kh_mb (full), kh_rmb (loads), kh_wmb (stores),
 *             kh_smp_mb/rmb/wmb (same: kheap has no I/O-only flavour; device
 *             ordering belongs to the port), kh_barrier (compiler only),
 *             kh_smp_mb__before_atomic/__after_atomic,
 *             kh_smp_acquire__after_ctrl_dep. Plus the type-generic macros
 *             KH_READ_ONCE(x), KH_WRITE_ONCE(x, v), kh_smp_load_acquire(p),
 *             kh_smp_store_release(p, v) for scalars up to pointer size.
 *
 * Targets     Built on the compiler's __atomic builtins (GCC and Clang) and never
 *             calls libatomic (__atomic_* / __sync_* helpers): CI checks the
 *             objects for Cortex-M3, rv64imac and rv32imac with nm.
 *             - 32-bit and pointer atomics use the CPU's 32-bit compare-
 *               and-swap (__GCC_HAVE_SYNC_COMPARE_AND_SWAP_4); CPUs without
 *               one get KH_ATOMIC_UP_IRQ (below).
 *             - 8/16-bit: native where the CPU has sub-word atomics (x86,
 *               Armv7-M LDREXB/H). Elsewhere (RISC-V without Zabha) they are
 *               a compare-and-swap loop on the aligned 32-bit word that holds
 *               them. KH_ATOMIC_EMULATE_SUBWORD=1 forces that anywhere (the
 *               hosted tests build a second binary with it).
 *             - CPUs with no compare-and-swap at all (ARMv6-M: Cortex-M0/M0+/
 *               M1; rv32i without A): KH_ATOMIC_UP_IRQ (automatic there)
 *               runs every read-modify-write, at every width, with interrupts
 *               off through kh_port_irq_save/restore (kheap/port.h). Correct
 *               on a single CPU only, which is what those parts are. The
 *               sync tests run this way on a QEMU Cortex-M0 (make test-qemu).
 *             - 64-bit, KH_ATOMIC64_MODE:
 *                 1 native (default where the CPU has 64-bit CAS: x86, i686,
 *                   rv64, AArch64);
 *                 2 lock fallback (default otherwise: Cortex-M3, rv32): every
 *                   64-bit op takes one of KH_ATOMIC64_LOCKS spin locks
 *                   chosen by address, with interrupts disabled through
 *                   kh_port_irq_save (kheap/port.h), so it is safe against
 *                   interrupt handlers and other CPUs that use kh_atomic64_*
 *                   on the same variable. Not lock-free: do not use from NMI.
 *                 3 interrupts off (default with KH_ATOMIC_UP_IRQ);
 *                 0 none: kh_atomic64_t is not declared; code that uses it
 *                   fails to compile.
 *
 * Linking     Every inline function here is also exported from src/sync/atomic.c
 *             under the same name (C99 inline + one extern inline definition),
 *             so Rust, Zig, ctypes or C built without inlining can call
 *             kh_atomic_add_return and friends. The macros have exported
 *             twins too: KH_READ_ONCE -> kh_read_once_u8/u16/u32/u64/ptr,
 *             KH_WRITE_ONCE -> kh_write_once_*, kh_smp_load_acquire ->
 *             kh_load_acquire_*, kh_smp_store_release -> kh_store_release_*
 *             (u64 only with native 64-bit atomics); KH_ATOMIC_INIT ->
 *             kh_atomic*_set. Needs C99 inline semantics (not -fgnu89-inline).
 *
 * Sub-word and 64-bit fallbacks are outside the C memory model (mixed-size
 * accesses, a lock around plain accesses) but match what the hardware and the
 * kernel do. Access a variable only through one kh_atomic type.
 */
#ifndef KHEAP_ATOMIC_H
#define KHEAP_ATOMIC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kheap/abi.h"
#include "kheap/config.h"
#include "kheap/port.h"

#ifdef __cplusplus
extern "C" {
#endif

#if !defined(__GNUC__) && !defined(__clang__)
#error "kheap/atomic.h needs GCC or Clang (__atomic builtins)"
#endif
#if defined(__GNUC_GNU_INLINE__) && !defined(__GNUC_STDC_INLINE__) && !defined(__cplusplus)
#error "kheap/atomic.h needs C99 inline semantics (remove -fgnu89-inline / -std=gnu89)"
#endif
/* Uniprocessor targets without a 32-bit compare-and-swap (ARMv6-M, rv32i
 * without A): every read-modify-write runs with interrupts off through the
 * port hooks (kheap/port.h). KH_ATOMIC_UP_IRQ=1 forces it anywhere (a hosted
 * test step does); it is only correct on a single CPU. */
#ifndef KH_ATOMIC_UP_IRQ
#ifdef __GCC_HAVE_SYNC_COMPARE_AND_SWAP_4
#define KH_ATOMIC_UP_IRQ 0
#else
#define KH_ATOMIC_UP_IRQ 1
#endif
#endif

#ifndef KH_ATOMIC_EMULATE_SUBWORD
#if defined(__GCC_HAVE_SYNC_COMPARE_AND_SWAP_1) && defined(__GCC_HAVE_SYNC_COMPARE_AND_SWAP_2)
#define KH_ATOMIC_EMULATE_SUBWORD 0
#else
#define KH_ATOMIC_EMULATE_SUBWORD 1
#endif
#endif

#define KH_ATOMIC64_NONE   0
#define KH_ATOMIC64_NATIVE 1
#define KH_ATOMIC64_LOCK   2
#define KH_ATOMIC64_IRQ    3
#ifndef KH_ATOMIC64_MODE
#if KH_ATOMIC_UP_IRQ
#define KH_ATOMIC64_MODE KH_ATOMIC64_IRQ
#elif defined(__GCC_HAVE_SYNC_COMPARE_AND_SWAP_8)
#define KH_ATOMIC64_MODE KH_ATOMIC64_NATIVE
#else
#define KH_ATOMIC64_MODE KH_ATOMIC64_LOCK
#endif
#endif
#if KH_ATOMIC64_MODE == KH_ATOMIC64_NATIVE && !defined(__GCC_HAVE_SYNC_COMPARE_AND_SWAP_8)
#error "KH_ATOMIC64_MODE=1 (native) but this target has no 64-bit compare-and-swap: use 2 or 0"
#endif
#if KH_ATOMIC64_MODE == KH_ATOMIC64_IRQ && !KH_ATOMIC_UP_IRQ
#error "KH_ATOMIC64_MODE=3 (interrupts off) needs KH_ATOMIC_UP_IRQ=1 (a single CPU)"
#endif
#if KH_ATOMIC64_MODE < KH_ATOMIC64_NONE || KH_ATOMIC64_MODE > KH_ATOMIC64_IRQ
#error "KH_ATOMIC64_MODE must be 0 (none), 1 (native), 2 (lock fallback) or 3 (interrupts off)"
#endif
/* Inline native 64-bit atomics and the library's lock fallback must not mix
 * on one variable: link-time check that the library agrees (kheap/abi.h). */
#if KH_ATOMIC64_MODE == KH_ATOMIC64_NATIVE
KH_ABI_REQUIRE(kh_abi_KH_ATOMIC64_MODE_1)
#elif KH_ATOMIC64_MODE == KH_ATOMIC64_LOCK
KH_ABI_REQUIRE(kh_abi_KH_ATOMIC64_MODE_2)
#elif KH_ATOMIC64_MODE == KH_ATOMIC64_IRQ
KH_ABI_REQUIRE(kh_abi_KH_ATOMIC64_MODE_3)
#endif
/* Number of locks the 64-bit fallback hashes addresses onto (power of two). */
#ifndef KH_ATOMIC64_LOCKS
#define KH_ATOMIC64_LOCKS 16
#endif

/* src/sync/atomic.c defines KH_ATOMIC_EXTERN_INLINE before including this header,
 * which turns every inline definition below into the exported one. Always
 * inlined, even at -O0/-Os: an atomic op is a few instructions, and inlining
 * is what makes the memory-order argument of the raw layer a constant. */
#ifdef KH_ATOMIC_EXTERN_INLINE
#define KH_ATOMIC_INLINE extern inline __attribute__((always_inline))
#else
#define KH_ATOMIC_INLINE inline __attribute__((always_inline))
#endif

/* A 64-bit counter is 8-byte aligned even where int64_t is not (i386), so
 * the compiler can use its native 64-bit instructions instead of a libcall.
 * The 32-bit alias type lets the sub-word emulation touch the containing word. */
typedef uint64_t kh_atomic_u64a __attribute__((aligned(8)));
typedef uint32_t kh_atomic_u32w __attribute__((may_alias));
/* A name for void * so macros can qualify what it points at (const vp *). */
typedef void *kh_atomic_vp;

typedef struct {
    volatile uint8_t counter;
} kh_atomic8_t;
typedef struct {
    volatile uint16_t counter;
} kh_atomic16_t;
typedef struct {
    volatile int counter;
} kh_atomic_t;
#if KH_ATOMIC64_MODE != KH_ATOMIC64_NONE
typedef struct {
    volatile int64_t counter __attribute__((aligned(8)));
} kh_atomic64_t;
#endif
typedef struct {
    void *volatile ptr;
} kh_atomic_ptr_t;

#define KH_ATOMIC_INIT(v)                                                                          \
    {                                                                                              \
        (v)                                                                                        \
    }

/* ---------------------------------------------------------------------------
 * Raw layer: one set of primitives per size, on plain unsigned storage, with
 * the memory order as an argument (a constant after inlining). The typed API
 * below is written once on top of it. Exported like everything else; prefer
 * the typed API.
 */
KH_ATOMIC_INLINE int kh_atomic_fail_order(int mo)
{
    return mo == __ATOMIC_RELEASE   ? __ATOMIC_RELAXED
           : mo == __ATOMIC_ACQ_REL ? __ATOMIC_ACQUIRE
                                    : mo;
}

#define KH__ATOMIC_RAW_NATIVE(S, U)                                                                \
    KH_ATOMIC_INLINE U kh_atomic_raw_load_##S(const volatile U *p, int mo)                         \
    {                                                                                              \
        return __atomic_load_n(p, mo);                                                             \
    }                                                                                              \
    KH_ATOMIC_INLINE void kh_atomic_raw_store_##S(volatile U *p, U v, int mo)                      \
    {                                                                                              \
        __atomic_store_n(p, v, mo);                                                                \
    }                                                                                              \
    KH_ATOMIC_INLINE U kh_atomic_raw_xchg_##S(volatile U *p, U v, int mo)                          \
    {                                                                                              \
        return __atomic_exchange_n(p, v, mo);                                                      \
    }                                                                                              \
    KH_ATOMIC_INLINE bool kh_atomic_raw_cmpxchg_##S(volatile U *p, U *old, U v, int mo)            \
    {                                                                                              \
        return __atomic_compare_exchange_n(p, old, v, false, mo, kh_atomic_fail_order(mo));        \
    }                                                                                              \
    KH_ATOMIC_INLINE U kh_atomic_raw_fetch_add_##S(volatile U *p, U v, int mo)                     \
    {                                                                                              \
        return __atomic_fetch_add(p, v, mo);                                                       \
    }                                                                                              \
    KH_ATOMIC_INLINE U kh_atomic_raw_fetch_sub_##S(volatile U *p, U v, int mo)                     \
    {                                                                                              \
        return __atomic_fetch_sub(p, v, mo);                                                       \
    }                                                                                              \
    KH_ATOMIC_INLINE U kh_atomic_raw_fetch_and_##S(volatile U *p, U v, int mo)                     \
    {                                                                                              \
        return __atomic_fetch_and(p, v, mo);                                                       \
    }                                                                                              \
    KH_ATOMIC_INLINE U kh_atomic_raw_fetch_or_##S(volatile U *p, U v, int mo)                      \
    {                                                                                              \
        return __atomic_fetch_or(p, v, mo);                                                        \
    }                                                                                              \
    KH_ATOMIC_INLINE U kh_atomic_raw_fetch_xor_##S(volatile U *p, U v, int mo)                     \
    {                                                                                              \
        return __atomic_fetch_xor(p, v, mo);                                                       \
    }

/* Declarations only: the 64-bit lock fallback lives in src/sync/atomic.c. */
#define KH__ATOMIC_RAW_DECL(S, U)                                                                  \
    U kh_atomic_raw_load_##S(const volatile U *p, int mo);                                         \
    void kh_atomic_raw_store_##S(volatile U *p, U v, int mo);                                      \
    U kh_atomic_raw_xchg_##S(volatile U *p, U v, int mo);                                          \
    bool kh_atomic_raw_cmpxchg_##S(volatile U *p, U *old, U v, int mo);                            \
    U kh_atomic_raw_fetch_add_##S(volatile U *p, U v, int mo);                                     \
    U kh_atomic_raw_fetch_sub_##S(volatile U *p, U v, int mo);                                     \
    U kh_atomic_raw_fetch_and_##S(volatile U *p, U v, int mo);                                     \
    U kh_atomic_raw_fetch_or_##S(volatile U *p, U v, int mo);                                      \
    U kh_atomic_raw_fetch_xor_##S(volatile U *p, U v, int mo);

/* Uniprocessor, no CAS: plain accesses with interrupts off around every
 * read-modify-write (and around 64-bit loads and stores, which take two
 * accesses). Signal fences keep the compiler from moving memory accesses
 * across; one CPU needs no hardware barrier. */
#define KH__ATOMIC_RAW_IRQ(S, U, SAVE)                                                             \
    KH_ATOMIC_INLINE U kh_atomic_raw_load_##S(const volatile U *p, int mo)                         \
    {                                                                                              \
        (void)mo;                                                                                  \
        __atomic_signal_fence(__ATOMIC_SEQ_CST);                                                   \
        unsigned long f = SAVE ? kh_port_irq_save() : 0;                                           \
        U v = *p;                                                                                  \
        if (SAVE) kh_port_irq_restore(f);                                                          \
        __atomic_signal_fence(__ATOMIC_SEQ_CST);                                                   \
        return v;                                                                                  \
    }                                                                                              \
    KH_ATOMIC_INLINE void kh_atomic_raw_store_##S(volatile U *p, U v, int mo)                      \
    {                                                                                              \
        (void)mo;                                                                                  \
        __atomic_signal_fence(__ATOMIC_SEQ_CST);                                                   \
        unsigned long f = SAVE ? kh_port_irq_save() : 0;                                           \
        *p = v;                                                                                    \
        if (SAVE) kh_port_irq_restore(f);                                                          \
        __atomic_signal_fence(__ATOMIC_SEQ_CST);                                                   \
    }                                                                                              \
    KH_ATOMIC_INLINE bool kh_atomic_raw_cmpxchg_##S(volatile U *p, U *old, U v, int mo)            \
    {                                                                                              \
        (void)mo;                                                                                  \
        __atomic_signal_fence(__ATOMIC_SEQ_CST);                                                   \
        unsigned long f = kh_port_irq_save();                                                      \
        U cur = *p;                                                                                \
        bool ok = cur == *old;                                                                     \
        if (ok) *p = v;                                                                            \
        kh_port_irq_restore(f);                                                                    \
        __atomic_signal_fence(__ATOMIC_SEQ_CST);                                                   \
        if (!ok) *old = cur;                                                                       \
        return ok;                                                                                 \
    }                                                                                              \
    KH__ATOMIC_RAW_IRQ_RMW(S, U, xchg, v)                                                          \
    KH__ATOMIC_RAW_IRQ_RMW(S, U, fetch_add, (U)(old + v))                                          \
    KH__ATOMIC_RAW_IRQ_RMW(S, U, fetch_sub, (U)(old - v))                                          \
    KH__ATOMIC_RAW_IRQ_RMW(S, U, fetch_and, (U)(old & v))                                          \
    KH__ATOMIC_RAW_IRQ_RMW(S, U, fetch_or, (U)(old | v))                                           \
    KH__ATOMIC_RAW_IRQ_RMW(S, U, fetch_xor, (U)(old ^ v))

/* One read-modify-write returning the old value; NEW is an expression of
 * old and v. */
#define KH__ATOMIC_RAW_IRQ_RMW(S, U, OP, NEW)                                                      \
    KH_ATOMIC_INLINE U kh_atomic_raw_##OP##_##S(volatile U *p, U v, int mo)                        \
    {                                                                                              \
        (void)mo;                                                                                  \
        __atomic_signal_fence(__ATOMIC_SEQ_CST);                                                   \
        unsigned long f = kh_port_irq_save();                                                      \
        U old = *p;                                                                                \
        *p = NEW;                                                                                  \
        kh_port_irq_restore(f);                                                                    \
        __atomic_signal_fence(__ATOMIC_SEQ_CST);                                                   \
        return old;                                                                                \
    }

#if KH_ATOMIC_UP_IRQ
/* Loads and stores up to 32 bits are single accesses: no need to mask. */
KH__ATOMIC_RAW_IRQ(u8, uint8_t, 0)
KH__ATOMIC_RAW_IRQ(u16, uint16_t, 0)
KH__ATOMIC_RAW_IRQ(u32, uint32_t, 0)
#elif KH_ATOMIC_EMULATE_SUBWORD
/* Sub-word emulation: a CAS loop on the aligned 32-bit word holding the
 * byte or halfword. Neighbouring bytes may change under us; the CAS then
 * fails and we retry, so their updates are never lost. Loads and stores of a
 * byte or halfword are native everywhere. */
enum {
    KH_ATOMIC_EMU_ADD,
    KH_ATOMIC_EMU_SUB,
    KH_ATOMIC_EMU_AND,
    KH_ATOMIC_EMU_OR,
    KH_ATOMIC_EMU_XOR,
    KH_ATOMIC_EMU_XCHG,
};

KH_ATOMIC_INLINE volatile kh_atomic_u32w *kh_atomic_emu_word(const volatile void *p)
{
    uintptr_t a = (uintptr_t)p & ~(uintptr_t)3;
    /* Hide where the address came from: otherwise GCC, seeing a 4-byte
     * access derived from a 1- or 2-byte object, warns -Wstringop-overflow
     * in user code once this is inlined. The word access itself is sound:
     * an aligned word never crosses a page or an allocation granule. */
    __asm__("" : "+r"(a));
    return (volatile kh_atomic_u32w *)a;
}

/* Bit position of a size-byte object at p inside its word. */
KH_ATOMIC_INLINE unsigned kh_atomic_emu_shift(const volatile void *p, unsigned size)
{
    unsigned off = (unsigned)((uintptr_t)p & 3u);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    off = 4u - size - off;
#else
    (void)size;
#endif
    return off * 8u;
}

KH_ATOMIC_INLINE uint32_t kh_atomic_emu_fetch_op(volatile void *p, unsigned size, int op,
                                                 uint32_t v, int mo)
{
    volatile kh_atomic_u32w *w = kh_atomic_emu_word(p);
    unsigned sh = kh_atomic_emu_shift(p, size);
    uint32_t m = (size == 1 ? 0xffu : 0xffffu) << sh;
    uint32_t old = __atomic_load_n(w, __ATOMIC_RELAXED), cur, res, nv;
    do {
        cur = (old & m) >> sh;
        switch (op) {
        case KH_ATOMIC_EMU_ADD:
            res = cur + v;
            break;
        case KH_ATOMIC_EMU_SUB:
            res = cur - v;
            break;
        case KH_ATOMIC_EMU_AND:
            res = cur & v;
            break;
        case KH_ATOMIC_EMU_OR:
            res = cur | v;
            break;
        case KH_ATOMIC_EMU_XOR:
            res = cur ^ v;
            break;
        default:
            res = v;
            break;
        }
        nv = (old & ~m) | ((res << sh) & m);
    } while (!__atomic_compare_exchange_n(w, &old, nv, true, mo, __ATOMIC_RELAXED));
    return cur;
}

/* Strong compare-and-swap of the sub-word: fails only when the sub-word
 * itself differs from *expected (then stores it there). */
KH_ATOMIC_INLINE bool kh_atomic_emu_cmpxchg(volatile void *p, unsigned size, uint32_t *expected,
                                            uint32_t v, int mo)
{
    volatile kh_atomic_u32w *w = kh_atomic_emu_word(p);
    unsigned sh = kh_atomic_emu_shift(p, size);
    uint32_t m = (size == 1 ? 0xffu : 0xffffu) << sh;
    uint32_t old = __atomic_load_n(w, __ATOMIC_RELAXED);
    for (;;) {
        uint32_t cur = (old & m) >> sh;
        if (cur != *expected) {
            if (mo == __ATOMIC_ACQUIRE || mo == __ATOMIC_ACQ_REL || mo == __ATOMIC_SEQ_CST)
                __atomic_thread_fence(__ATOMIC_ACQUIRE);
            *expected = cur;
            return false;
        }
        uint32_t nv = (old & ~m) | ((v << sh) & m);
        if (__atomic_compare_exchange_n(w, &old, nv, true, mo, __ATOMIC_RELAXED)) return true;
    }
}

#define KH__ATOMIC_RAW_EMU(S, U)                                                                   \
    KH_ATOMIC_INLINE U kh_atomic_raw_load_##S(const volatile U *p, int mo)                         \
    {                                                                                              \
        return __atomic_load_n(p, mo);                                                             \
    }                                                                                              \
    KH_ATOMIC_INLINE void kh_atomic_raw_store_##S(volatile U *p, U v, int mo)                      \
    {                                                                                              \
        __atomic_store_n(p, v, mo);                                                                \
    }                                                                                              \
    KH_ATOMIC_INLINE U kh_atomic_raw_xchg_##S(volatile U *p, U v, int mo)                          \
    {                                                                                              \
        return (U)kh_atomic_emu_fetch_op(p, sizeof(U), KH_ATOMIC_EMU_XCHG, v, mo);                 \
    }                                                                                              \
    KH_ATOMIC_INLINE bool kh_atomic_raw_cmpxchg_##S(volatile U *p, U *old, U v, int mo)            \
    {                                                                                              \
        uint32_t e = *old;                                                                         \
        bool ok = kh_atomic_emu_cmpxchg(p, sizeof(U), &e, v, mo);                                  \
        *old = (U)e;                                                                               \
        return ok;                                                                                 \
    }                                                                                              \
    KH_ATOMIC_INLINE U kh_atomic_raw_fetch_add_##S(volatile U *p, U v, int mo)                     \
    {                                                                                              \
        return (U)kh_atomic_emu_fetch_op(p, sizeof(U), KH_ATOMIC_EMU_ADD, v, mo);                  \
    }                                                                                              \
    KH_ATOMIC_INLINE U kh_atomic_raw_fetch_sub_##S(volatile U *p, U v, int mo)                     \
    {                                                                                              \
        return (U)kh_atomic_emu_fetch_op(p, sizeof(U), KH_ATOMIC_EMU_SUB, v, mo);                  \
    }                                                                                              \
    KH_ATOMIC_INLINE U kh_atomic_raw_fetch_and_##S(volatile U *p, U v, int mo)                     \
    {                                                                                              \
        return (U)kh_atomic_emu_fetch_op(p, sizeof(U), KH_ATOMIC_EMU_AND, v, mo);                  \
    }                                                                                              \
    KH_ATOMIC_INLINE U kh_atomic_raw_fetch_or_##S(volatile U *p, U v, int mo)                      \
    {                                                                                              \
        return (U)kh_atomic_emu_fetch_op(p, sizeof(U), KH_ATOMIC_EMU_OR, v, mo);                   \
    }                                                                                              \
    KH_ATOMIC_INLINE U kh_atomic_raw_fetch_xor_##S(volatile U *p, U v, int mo)                     \
    {                                                                                              \
        return (U)kh_atomic_emu_fetch_op(p, sizeof(U), KH_ATOMIC_EMU_XOR, v, mo);                  \
    }

KH__ATOMIC_RAW_EMU(u8, uint8_t)
KH__ATOMIC_RAW_EMU(u16, uint16_t)
#else
KH__ATOMIC_RAW_NATIVE(u8, uint8_t)
KH__ATOMIC_RAW_NATIVE(u16, uint16_t)
#endif

#if !KH_ATOMIC_UP_IRQ
KH__ATOMIC_RAW_NATIVE(u32, uint32_t)
#endif

#if KH_ATOMIC64_MODE == KH_ATOMIC64_IRQ
KH__ATOMIC_RAW_IRQ(u64, kh_atomic_u64a, 1)
#elif KH_ATOMIC64_MODE == KH_ATOMIC64_NATIVE
KH__ATOMIC_RAW_NATIVE(u64, kh_atomic_u64a)
#elif KH_ATOMIC64_MODE == KH_ATOMIC64_LOCK
KH__ATOMIC_RAW_DECL(u64, kh_atomic_u64a)
#endif

/* ---------------------------------------------------------------------------
 * Typed API. P: name prefix, T: atomic type, V: value type, S: raw size,
 * U: raw storage type. Arithmetic happens on U, so it wraps.
 */
#define KH__ATOMIC_P(v, U) ((volatile U *)&(v)->counter)

/* The ops that come in fully ordered (O empty), _relaxed, _acquire and
 * _release forms. */
#define KH__ATOMIC_ORDERED(P, T, V, S, U, O, MO)                                                   \
    KH_ATOMIC_INLINE V P##_add_return##O(V i, T *v)                                                \
    {                                                                                              \
        return (V)(U)(kh_atomic_raw_fetch_add_##S(KH__ATOMIC_P(v, U), (U)i, MO) + (U)i);           \
    }                                                                                              \
    KH_ATOMIC_INLINE V P##_sub_return##O(V i, T *v)                                                \
    {                                                                                              \
        return (V)(U)(kh_atomic_raw_fetch_sub_##S(KH__ATOMIC_P(v, U), (U)i, MO) - (U)i);           \
    }                                                                                              \
    KH_ATOMIC_INLINE V P##_inc_return##O(T *v)                                                     \
    {                                                                                              \
        return (V)(U)(kh_atomic_raw_fetch_add_##S(KH__ATOMIC_P(v, U), 1, MO) + 1u);                \
    }                                                                                              \
    KH_ATOMIC_INLINE V P##_dec_return##O(T *v)                                                     \
    {                                                                                              \
        return (V)(U)(kh_atomic_raw_fetch_sub_##S(KH__ATOMIC_P(v, U), 1, MO) - 1u);                \
    }                                                                                              \
    KH_ATOMIC_INLINE V P##_fetch_add##O(V i, T *v)                                                 \
    {                                                                                              \
        return (V)kh_atomic_raw_fetch_add_##S(KH__ATOMIC_P(v, U), (U)i, MO);                       \
    }                                                                                              \
    KH_ATOMIC_INLINE V P##_fetch_sub##O(V i, T *v)                                                 \
    {                                                                                              \
        return (V)kh_atomic_raw_fetch_sub_##S(KH__ATOMIC_P(v, U), (U)i, MO);                       \
    }                                                                                              \
    KH_ATOMIC_INLINE V P##_fetch_inc##O(T *v)                                                      \
    {                                                                                              \
        return (V)kh_atomic_raw_fetch_add_##S(KH__ATOMIC_P(v, U), 1, MO);                          \
    }                                                                                              \
    KH_ATOMIC_INLINE V P##_fetch_dec##O(T *v)                                                      \
    {                                                                                              \
        return (V)kh_atomic_raw_fetch_sub_##S(KH__ATOMIC_P(v, U), 1, MO);                          \
    }                                                                                              \
    KH_ATOMIC_INLINE V P##_fetch_and##O(V i, T *v)                                                 \
    {                                                                                              \
        return (V)kh_atomic_raw_fetch_and_##S(KH__ATOMIC_P(v, U), (U)i, MO);                       \
    }                                                                                              \
    KH_ATOMIC_INLINE V P##_fetch_andnot##O(V i, T *v)                                              \
    {                                                                                              \
        return (V)kh_atomic_raw_fetch_and_##S(KH__ATOMIC_P(v, U), (U) ~(U)i, MO);                  \
    }                                                                                              \
    KH_ATOMIC_INLINE V P##_fetch_or##O(V i, T *v)                                                  \
    {                                                                                              \
        return (V)kh_atomic_raw_fetch_or_##S(KH__ATOMIC_P(v, U), (U)i, MO);                        \
    }                                                                                              \
    KH_ATOMIC_INLINE V P##_fetch_xor##O(V i, T *v)                                                 \
    {                                                                                              \
        return (V)kh_atomic_raw_fetch_xor_##S(KH__ATOMIC_P(v, U), (U)i, MO);                       \
    }                                                                                              \
    KH_ATOMIC_INLINE V P##_xchg##O(T *v, V n)                                                      \
    {                                                                                              \
        return (V)kh_atomic_raw_xchg_##S(KH__ATOMIC_P(v, U), (U)n, MO);                            \
    }                                                                                              \
    KH_ATOMIC_INLINE V P##_cmpxchg##O(T *v, V old, V n)                                            \
    {                                                                                              \
        U o = (U)old;                                                                              \
        kh_atomic_raw_cmpxchg_##S(KH__ATOMIC_P(v, U), &o, (U)n, MO);                               \
        return (V)o;                                                                               \
    }                                                                                              \
    KH_ATOMIC_INLINE bool P##_try_cmpxchg##O(T *v, V *old, V n)                                    \
    {                                                                                              \
        U o = (U)*old;                                                                             \
        bool ok = kh_atomic_raw_cmpxchg_##S(KH__ATOMIC_P(v, U), &o, (U)n, MO);                     \
        if (!ok) *old = (V)o;                                                                      \
        return ok;                                                                                 \
    }

#define KH__ATOMIC_INT_API(P, T, V, S, U)                                                          \
    KH_ATOMIC_INLINE V P##_read(const T *v)                                                        \
    {                                                                                              \
        return (V)kh_atomic_raw_load_##S((const volatile U *)&v->counter, __ATOMIC_RELAXED);       \
    }                                                                                              \
    KH_ATOMIC_INLINE V P##_read_acquire(const T *v)                                                \
    {                                                                                              \
        return (V)kh_atomic_raw_load_##S((const volatile U *)&v->counter, __ATOMIC_ACQUIRE);       \
    }                                                                                              \
    KH_ATOMIC_INLINE void P##_set(T *v, V i)                                                       \
    {                                                                                              \
        kh_atomic_raw_store_##S(KH__ATOMIC_P(v, U), (U)i, __ATOMIC_RELAXED);                       \
    }                                                                                              \
    KH_ATOMIC_INLINE void P##_set_release(T *v, V i)                                               \
    {                                                                                              \
        kh_atomic_raw_store_##S(KH__ATOMIC_P(v, U), (U)i, __ATOMIC_RELEASE);                       \
    }                                                                                              \
    KH_ATOMIC_INLINE void P##_add(V i, T *v)                                                       \
    {                                                                                              \
        kh_atomic_raw_fetch_add_##S(KH__ATOMIC_P(v, U), (U)i, __ATOMIC_RELAXED);                   \
    }                                                                                              \
    KH_ATOMIC_INLINE void P##_sub(V i, T *v)                                                       \
    {                                                                                              \
        kh_atomic_raw_fetch_sub_##S(KH__ATOMIC_P(v, U), (U)i, __ATOMIC_RELAXED);                   \
    }                                                                                              \
    KH_ATOMIC_INLINE void P##_inc(T *v)                                                            \
    {                                                                                              \
        kh_atomic_raw_fetch_add_##S(KH__ATOMIC_P(v, U), 1, __ATOMIC_RELAXED);                      \
    }                                                                                              \
    KH_ATOMIC_INLINE void P##_dec(T *v)                                                            \
    {                                                                                              \
        kh_atomic_raw_fetch_sub_##S(KH__ATOMIC_P(v, U), 1, __ATOMIC_RELAXED);                      \
    }                                                                                              \
    KH_ATOMIC_INLINE void P##_and(V i, T *v)                                                       \
    {                                                                                              \
        kh_atomic_raw_fetch_and_##S(KH__ATOMIC_P(v, U), (U)i, __ATOMIC_RELAXED);                   \
    }                                                                                              \
    KH_ATOMIC_INLINE void P##_andnot(V i, T *v)                                                    \
    {                                                                                              \
        kh_atomic_raw_fetch_and_##S(KH__ATOMIC_P(v, U), (U) ~(U)i, __ATOMIC_RELAXED);              \
    }                                                                                              \
    KH_ATOMIC_INLINE void P##_or(V i, T *v)                                                        \
    {                                                                                              \
        kh_atomic_raw_fetch_or_##S(KH__ATOMIC_P(v, U), (U)i, __ATOMIC_RELAXED);                    \
    }                                                                                              \
    KH_ATOMIC_INLINE void P##_xor(V i, T *v)                                                       \
    {                                                                                              \
        kh_atomic_raw_fetch_xor_##S(KH__ATOMIC_P(v, U), (U)i, __ATOMIC_RELAXED);                   \
    }                                                                                              \
    KH__ATOMIC_ORDERED(P, T, V, S, U, , __ATOMIC_SEQ_CST)                                          \
    KH__ATOMIC_ORDERED(P, T, V, S, U, _relaxed, __ATOMIC_RELAXED)                                  \
    KH__ATOMIC_ORDERED(P, T, V, S, U, _acquire, __ATOMIC_ACQUIRE)                                  \
    KH__ATOMIC_ORDERED(P, T, V, S, U, _release, __ATOMIC_RELEASE)                                  \
    KH_ATOMIC_INLINE bool P##_inc_and_test(T *v)                                                   \
    {                                                                                              \
        return P##_inc_return(v) == 0;                                                             \
    }                                                                                              \
    KH_ATOMIC_INLINE bool P##_dec_and_test(T *v)                                                   \
    {                                                                                              \
        return P##_dec_return(v) == 0;                                                             \
    }                                                                                              \
    KH_ATOMIC_INLINE bool P##_sub_and_test(V i, T *v)                                              \
    {                                                                                              \
        return P##_sub_return(i, v) == 0;                                                          \
    }                                                                                              \
    KH_ATOMIC_INLINE bool P##_add_negative(V i, T *v)                                              \
    {                                                                                              \
        return ((U)P##_add_return(i, v) >> (sizeof(U) * 8 - 1)) != 0;                              \
    }                                                                                              \
    /* Add a unless the value is u; returns the old value. */                                      \
    KH_ATOMIC_INLINE V P##_fetch_add_unless(T *v, V a, V u)                                        \
    {                                                                                              \
        V c = P##_read(v);                                                                         \
        do {                                                                                       \
            if (c == u) break;                                                                     \
        } while (!P##_try_cmpxchg(v, &c, (V)(U)((U)c + (U)a)));                                    \
        return c;                                                                                  \
    }                                                                                              \
    KH_ATOMIC_INLINE bool P##_add_unless(T *v, V a, V u)                                           \
    {                                                                                              \
        return P##_fetch_add_unless(v, a, u) != u;                                                 \
    }                                                                                              \
    KH_ATOMIC_INLINE bool P##_inc_not_zero(T *v)                                                   \
    {                                                                                              \
        return P##_add_unless(v, 1, 0);                                                            \
    }

KH__ATOMIC_INT_API(kh_atomic8, kh_atomic8_t, uint8_t, u8, uint8_t)
KH__ATOMIC_INT_API(kh_atomic16, kh_atomic16_t, uint16_t, u16, uint16_t)
KH__ATOMIC_INT_API(kh_atomic, kh_atomic_t, int, u32, uint32_t)
#if KH_ATOMIC64_MODE != KH_ATOMIC64_NONE
KH__ATOMIC_INT_API(kh_atomic64, kh_atomic64_t, int64_t, u64, kh_atomic_u64a)
#endif

/* Pointers: read/set/xchg/cmpxchg. */
#if KH_ATOMIC_UP_IRQ
/* One CPU, no CAS: the exchange with interrupts off. */
KH_ATOMIC_INLINE bool kh_atomic_ptr_irq_cmpxchg(kh_atomic_ptr_t *v, void **old, void *n, bool any)
{
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    unsigned long f = kh_port_irq_save();
    void *cur = *(void *volatile *)&v->ptr;
    bool ok = any || cur == *old;
    if (ok) *(void *volatile *)&v->ptr = n;
    kh_port_irq_restore(f);
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    if (!ok || any) *old = cur;
    return ok;
}
#define KH__ATOMIC_PTR_ORDERED(O, MO)                                                              \
    KH_ATOMIC_INLINE void *kh_atomic_ptr_xchg##O(kh_atomic_ptr_t *v, void *n)                      \
    {                                                                                              \
        void *old = NULL;                                                                          \
        kh_atomic_ptr_irq_cmpxchg(v, &old, n, true);                                               \
        return old;                                                                                \
    }                                                                                              \
    KH_ATOMIC_INLINE void *kh_atomic_ptr_cmpxchg##O(kh_atomic_ptr_t *v, void *old, void *n)        \
    {                                                                                              \
        kh_atomic_ptr_irq_cmpxchg(v, &old, n, false);                                              \
        return old;                                                                                \
    }                                                                                              \
    KH_ATOMIC_INLINE bool kh_atomic_ptr_try_cmpxchg##O(kh_atomic_ptr_t *v, void **old, void *n)    \
    {                                                                                              \
        return kh_atomic_ptr_irq_cmpxchg(v, old, n, false);                                        \
    }
#else
#define KH__ATOMIC_PTR_ORDERED(O, MO)                                                              \
    KH_ATOMIC_INLINE void *kh_atomic_ptr_xchg##O(kh_atomic_ptr_t *v, void *n)                      \
    {                                                                                              \
        return __atomic_exchange_n(&v->ptr, n, MO);                                                \
    }                                                                                              \
    KH_ATOMIC_INLINE void *kh_atomic_ptr_cmpxchg##O(kh_atomic_ptr_t *v, void *old, void *n)        \
    {                                                                                              \
        __atomic_compare_exchange_n(&v->ptr, &old, n, false, MO, kh_atomic_fail_order(MO));        \
        return old;                                                                                \
    }                                                                                              \
    KH_ATOMIC_INLINE bool kh_atomic_ptr_try_cmpxchg##O(kh_atomic_ptr_t *v, void **old, void *n)    \
    {                                                                                              \
        return __atomic_compare_exchange_n(&v->ptr, old, n, false, MO, kh_atomic_fail_order(MO));  \
    }
#endif

KH_ATOMIC_INLINE void *kh_atomic_ptr_read(const kh_atomic_ptr_t *v)
{
    return __atomic_load_n(&v->ptr, __ATOMIC_RELAXED);
}
KH_ATOMIC_INLINE void *kh_atomic_ptr_read_acquire(const kh_atomic_ptr_t *v)
{
    return __atomic_load_n(&v->ptr, __ATOMIC_ACQUIRE);
}
KH_ATOMIC_INLINE void kh_atomic_ptr_set(kh_atomic_ptr_t *v, void *p)
{
    __atomic_store_n(&v->ptr, p, __ATOMIC_RELAXED);
}
KH_ATOMIC_INLINE void kh_atomic_ptr_set_release(kh_atomic_ptr_t *v, void *p)
{
    __atomic_store_n(&v->ptr, p, __ATOMIC_RELEASE);
}
KH__ATOMIC_PTR_ORDERED(, __ATOMIC_SEQ_CST)
KH__ATOMIC_PTR_ORDERED(_relaxed, __ATOMIC_RELAXED)
KH__ATOMIC_PTR_ORDERED(_acquire, __ATOMIC_ACQUIRE)
KH__ATOMIC_PTR_ORDERED(_release, __ATOMIC_RELEASE)

/* ---------------------------------------------------------------------------
 * Barriers. Fences order the atomic accesses around them (and, in practice,
 * plain ones: they compile to the CPU's fence plus a compiler barrier).
 */
/* Compiler barrier: no CPU fence. */
KH_ATOMIC_INLINE void kh_barrier(void)
{
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
}
/* Full barrier: orders every earlier access before every later one. */
KH_ATOMIC_INLINE void kh_mb(void)
{
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
}
/* Read barrier: earlier loads before later loads (acquire fence). */
KH_ATOMIC_INLINE void kh_rmb(void)
{
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
}
/* Write barrier: earlier stores before later stores (release fence). */
KH_ATOMIC_INLINE void kh_wmb(void)
{
    __atomic_thread_fence(__ATOMIC_RELEASE);
}
KH_ATOMIC_INLINE void kh_smp_mb(void)
{
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
}
KH_ATOMIC_INLINE void kh_smp_rmb(void)
{
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
}
KH_ATOMIC_INLINE void kh_smp_wmb(void)
{
    __atomic_thread_fence(__ATOMIC_RELEASE);
}
/* Make a non-value-returning (relaxed) RMW fully ordered. */
KH_ATOMIC_INLINE void kh_smp_mb__before_atomic(void)
{
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
}
KH_ATOMIC_INLINE void kh_smp_mb__after_atomic(void)
{
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
}
/* After a branch on a loaded value: upgrade that load to acquire. */
KH_ATOMIC_INLINE void kh_smp_acquire__after_ctrl_dep(void)
{
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
}

/* Type-generic single-copy-atomic access to a plain scalar or pointer of at
 * most pointer size (larger ones would need libatomic: use kh_atomic64_t).
 * Relaxed atomics rather than volatile, so ThreadSanitizer sees them. */
#define KH_READ_ONCE(x)            __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define KH_WRITE_ONCE(x, val)      __atomic_store_n(&(x), (val), __ATOMIC_RELAXED)
#define kh_smp_load_acquire(p)     __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define kh_smp_store_release(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)

/* Out-of-line twins of the four macros above (src/sync/atomic.c). */
#define KH__ATOMIC_ONCE_DECL(S, U)                                                                 \
    U kh_read_once_##S(const volatile U *p);                                                       \
    void kh_write_once_##S(volatile U *p, U v);                                                    \
    U kh_load_acquire_##S(const volatile U *p);                                                    \
    void kh_store_release_##S(volatile U *p, U v);
KH__ATOMIC_ONCE_DECL(u8, uint8_t)
KH__ATOMIC_ONCE_DECL(u16, uint16_t)
KH__ATOMIC_ONCE_DECL(u32, uint32_t)
#if KH_ATOMIC64_MODE == KH_ATOMIC64_NATIVE
KH__ATOMIC_ONCE_DECL(u64, kh_atomic_u64a)
#endif
KH__ATOMIC_ONCE_DECL(ptr, kh_atomic_vp)

#ifdef __cplusplus
}
#endif

#endif /* KHEAP_ATOMIC_H */
