// SPDX-License-Identifier: MIT
//! Atomic<T>, SpinLock<T> and Refcount through the C library's exported twins.

mod common;

use core::cell::UnsafeCell;
use std::sync::Arc as StdArc;
use std::vec::Vec;

use kheap::ffi;
use kheap::sync::atomic::{Acquire, Full, Relaxed, Release};
use kheap::sync::{Atomic, AtomicType, Refcount, SpinLock};
use kheap::Error;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(i32)]
enum State {
    Idle = 1,
    Busy = 2,
    Dead = -7,
}
// SAFETY: #[repr(i32)], no padding; the atomic only ever holds States.
unsafe impl AtomicType for State {
    type Repr = i32;
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(i64)]
enum Wide {
    Low = 1,
    High = 1 << 40,
}
// SAFETY: as State, 64-bit.
unsafe impl AtomicType for Wide {
    type Repr = i64;
}

#[test]
fn atomic_i32_every_operation_and_ordering() {
    let a = Atomic::new(5i32);
    assert_eq!((a.load(Relaxed), a.load(Acquire)), (5, 5));
    a.store(6, Relaxed);
    a.store(7, Release);
    assert_eq!(a.load(Relaxed), 7);
    assert_eq!(a.xchg(8, Full), 7);
    assert_eq!(a.xchg(9, Relaxed), 8);
    assert_eq!(a.xchg(10, Acquire), 9);
    assert_eq!(a.xchg(11, Release), 10);
    assert_eq!(a.cmpxchg(11, 12, Full), Ok(11));
    assert_eq!(a.cmpxchg(11, 13, Full), Err(12));
    assert_eq!(a.cmpxchg(12, 13, Relaxed), Ok(12));
    assert_eq!(a.cmpxchg(12, 14, Relaxed), Err(13));
    assert_eq!(a.cmpxchg(13, 14, Acquire), Ok(13));
    assert_eq!(a.cmpxchg(0, 1, Acquire), Err(14));
    assert_eq!(a.cmpxchg(14, 15, Release), Ok(14));
    assert_eq!(a.cmpxchg(0, 1, Release), Err(15));
    assert_eq!(a.load(Relaxed), 15);
    a.add(5, Relaxed);
    a.sub(1, Relaxed);
    assert_eq!(a.load(Relaxed), 19);
    assert_eq!(a.fetch_add(1, Full), 19);
    assert_eq!(a.fetch_add(1, Relaxed), 20);
    assert_eq!(a.fetch_add(1, Acquire), 21);
    assert_eq!(a.fetch_add(1, Release), 22);
    assert_eq!(a.fetch_sub(3, Full), 23);
    assert_eq!(a.fetch_sub(1, Relaxed), 20);
    assert_eq!(a.fetch_sub(1, Acquire), 19);
    assert_eq!(a.fetch_sub(1, Release), 18);
    assert_eq!(a.into_inner(), 17);
    // Wraps, never overflows.
    let w = Atomic::new(i32::MAX);
    assert_eq!(w.fetch_add(1, Full), i32::MAX);
    assert_eq!(w.load(Relaxed), i32::MIN);
}

#[test]
fn atomic_unsigned_and_pointer_sized_values() {
    let u = Atomic::new(u32::MAX);
    u.add(1, Relaxed);
    assert_eq!(u.load(Acquire), 0);
    assert_eq!(u.fetch_sub(1, Full), 0);
    assert_eq!(u.load(Relaxed), u32::MAX);
    let z = Atomic::new(usize::MAX - 1);
    assert_eq!(z.fetch_add(3, Full), usize::MAX - 1);
    assert_eq!(z.load(Relaxed), 1);
    assert_eq!(z.cmpxchg(1, usize::MAX, Full), Ok(1));
    assert_eq!(z.load(Relaxed), usize::MAX);
    let i = Atomic::new(isize::MIN);
    assert_eq!(i.xchg(-1, Full), isize::MIN);
    i.add(1, Relaxed);
    assert_eq!(i.load(Relaxed), 0);
    assert_eq!(
        core::mem::size_of::<Atomic<usize>>(),
        core::mem::size_of::<usize>()
    );
}

#[test]
fn atomic_64_bit_values_use_all_64_bits() {
    let a = Atomic::new(1i64 << 40);
    assert_eq!(core::mem::size_of_val(&a), 8);
    assert_eq!(core::mem::align_of_val(&a), 8);
    a.add(1 << 33, Relaxed);
    assert_eq!(a.load(Acquire), (1 << 40) + (1 << 33));
    assert_eq!(a.xchg(-(1 << 50), Full), (1 << 40) + (1 << 33));
    assert_eq!(a.cmpxchg(-(1 << 50), i64::MAX, Acquire), Ok(-(1 << 50)));
    assert_eq!(a.fetch_add(1, Release), i64::MAX);
    assert_eq!(a.load(Relaxed), i64::MIN);
    let u = Atomic::new(u64::MAX);
    assert_eq!(u.fetch_add(2, Relaxed), u64::MAX);
    assert_eq!(u.load(Relaxed), 1);
}

#[test]
fn atomic_repr_types() {
    let s = Atomic::new(State::Idle);
    assert_eq!(core::mem::size_of_val(&s), 4);
    assert_eq!(s.load(Acquire), State::Idle);
    assert_eq!(s.cmpxchg(State::Idle, State::Busy, Full), Ok(State::Idle));
    assert_eq!(s.cmpxchg(State::Idle, State::Dead, Full), Err(State::Busy));
    assert_eq!(s.xchg(State::Dead, Release), State::Busy);
    s.store(State::Idle, Release);
    assert_eq!(s.load(Relaxed), State::Idle);
    let w = Atomic::new(Wide::Low);
    assert_eq!(w.xchg(Wide::High, Full), Wide::Low);
    assert_eq!(w.load(Acquire), Wide::High);
    assert_eq!(w.cmpxchg(Wide::Low, Wide::Low, Full), Err(Wide::High));
}

#[test]
fn atomic_storage_is_the_c_atomic() {
    static A: Atomic<i32> = Atomic::new(40);
    // SAFETY: the storage is a kh_atomic_t.
    unsafe { ffi::kh_atomic_add(2, A.as_ptr().cast()) };
    assert_eq!(A.load(Relaxed), 42);
    let b = Atomic::new(7i64);
    // SAFETY: the storage is a kh_atomic64_t.
    assert_eq!(unsafe { ffi::kh_atomic64_read(b.as_ptr().cast()) }, 7);
    let mut m = Atomic::new(State::Busy);
    *m.get_mut() = State::Dead;
    assert_eq!(m.load(Relaxed), State::Dead);
}

#[test]
fn atomic_counters_from_several_threads_are_exact() {
    let a = StdArc::new((Atomic::new(0i32), Atomic::new(0i64), Atomic::new(0usize)));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let a = a.clone();
            std::thread::spawn(move || {
                for _ in 0..50_000 {
                    a.0.add(1, Relaxed);
                    a.1.fetch_add(1, Full);
                    // A compare-and-swap loop.
                    let mut cur = a.2.load(Relaxed);
                    while let Err(now) = a.2.cmpxchg(cur, cur + 1, Acquire) {
                        cur = now;
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(
        (a.0.load(Acquire), a.1.load(Acquire), a.2.load(Acquire)),
        (200_000, 200_000, 200_000)
    );
}

struct Mailbox {
    data: UnsafeCell<[u64; 4]>,
    ready: Atomic<i32>,
}
// SAFETY: data is written before the release store and read after the
// acquire load that sees it.
unsafe impl Sync for Mailbox {}

#[test]
fn release_store_publishes_to_an_acquire_load() {
    for round in 0..200u64 {
        let m = StdArc::new(Mailbox {
            data: UnsafeCell::new([0; 4]),
            ready: Atomic::new(0),
        });
        let r = m.clone();
        let reader = std::thread::spawn(move || {
            while r.ready.load(Acquire) == 0 {
                std::hint::spin_loop();
            }
            // SAFETY: published by the release store.
            unsafe { *r.data.get() }
        });
        // SAFETY: nobody reads before ready.
        unsafe { *m.data.get() = [round, round + 1, round + 2, round + 3] };
        m.ready.store(1, Release);
        assert_eq!(
            reader.join().unwrap(),
            [round, round + 1, round + 2, round + 3]
        );
    }
}

#[test]
fn spinlock_serialises_and_the_guard_unlocks_on_drop() {
    let l = StdArc::new(SpinLock::new(0u64));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let l = l.clone();
            std::thread::spawn(move || {
                for _ in 0..20_000 {
                    let mut g = l.lock();
                    // A read-modify-write that would lose updates unlocked.
                    let v = *g;
                    *g = v + 1;
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(*l.lock(), 80_000);
    assert!(!l.is_locked());
    {
        let _g = l.lock();
        assert!(l.is_locked());
        assert!(l.try_lock().is_none());
    }
    assert!(!l.is_locked());
    assert!(l.try_lock().is_some());
    let mut owned = SpinLock::new(std::string::String::from("a"));
    owned.get_mut().push('b');
    assert_eq!(owned.into_inner(), "ab");
}

#[test]
fn spinlock_reports_a_waiter() {
    let l = StdArc::new(SpinLock::new(()));
    let g = l.lock();
    let l2 = l.clone();
    let t = std::thread::spawn(move || {
        let _g = l2.lock();
    });
    while !l.is_contended() {
        std::thread::yield_now();
    }
    drop(g);
    t.join().unwrap();
    assert!(!l.is_locked() && !l.is_contended());
}

extern "C" {
    fn kh_port_hosted_irqs_disabled() -> core::ffi::c_int;
}

#[test]
fn spinlock_irqsave_guards_restore_the_interrupt_state() {
    // SAFETY: reads this thread's pretend interrupt flag.
    let off = || unsafe { kh_port_hosted_irqs_disabled() } != 0;
    let a = SpinLock::new(1);
    let b = SpinLock::new(2);
    assert!(!off());
    {
        let ga = a.lock_irqsave();
        assert!(off());
        {
            let gb = b.lock_irqsave();
            assert_eq!(*ga + *gb, 3);
        }
        assert!(off(), "the inner guard restores 'disabled'");
        assert!(a.try_lock_irqsave().is_none());
        assert!(off());
    }
    assert!(!off());
    assert!(a.try_lock_irqsave().is_some());
    assert!(!off());
    let g = a.try_lock_irqsave().unwrap();
    assert!(off());
    drop(g);
    assert!(!off());
}

#[test]
fn refcount_counts_and_tests() {
    let r = Refcount::new(1);
    r.inc();
    r.add(3);
    assert_eq!(r.read(), 5);
    assert!(r.inc_not_zero());
    assert!(r.add_not_zero(2));
    assert_eq!(r.read(), 8);
    r.dec();
    assert!(!r.dec_and_test());
    assert!(!r.sub_and_test(5));
    assert_eq!(r.read(), 1);
    assert!(r.dec_and_test());
    assert_eq!(r.read(), 0);
    assert!(!r.inc_not_zero(), "a dead object gets no new reference");
    assert!(!r.is_saturated());
    r.set(3);
    assert!(r.sub_and_test(3));
}

#[test]
fn refcount_saturates_instead_of_wrapping_and_reports_once() {
    let _g = common::hook();
    // Overflow past i32::MAX.
    let r = Refcount::new(i32::MAX);
    r.inc();
    assert!(r.is_saturated());
    assert_eq!(r.read(), Refcount::SATURATED);
    r.inc();
    assert!(!r.dec_and_test(), "a saturated object is never released");
    assert_eq!(r.read(), Refcount::SATURATED);
    assert_eq!(common::reports(Error::Range), 1);
    // Increment from 0 (use after free).
    let z = Refcount::new(0);
    z.inc();
    assert!(z.is_saturated());
    assert_eq!(common::reports(Error::Range), 2);
    // Underflow.
    let u = Refcount::new(0);
    assert!(!u.dec_and_test());
    assert!(u.is_saturated());
    // dec reaching 0 (a leak nobody will release).
    let d = Refcount::new(1);
    d.dec();
    assert!(d.is_saturated());
    // add_not_zero past the top.
    let t = Refcount::new(i32::MAX - 1);
    assert!(t.add_not_zero(5));
    assert!(t.is_saturated());
    assert_eq!(common::reports(Error::Range), 5);
    // Bad input: reported, nothing changes.
    let b = Refcount::new(2);
    b.add(0);
    b.add(-3);
    assert!(!b.sub_and_test(0));
    assert_eq!(b.read(), 2);
    assert_eq!(common::reports(Error::Inval), 3);
}

#[test]
fn refcount_from_several_threads() {
    let r = StdArc::new(Refcount::new(1));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let r = r.clone();
            std::thread::spawn(move || {
                for _ in 0..50_000 {
                    r.inc();
                    assert!(!r.dec_and_test());
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(r.read(), 1);
    assert!(r.dec_and_test());
}
