// SPDX-License-Identifier: MIT
//! KBox, KVec, Flags and Arc over the kmalloc API, which is installed once
//! over a LockedHeap. Tests take one lock so kmalloc's live counters are
//! exact per test.

mod common;

use core::cell::Cell;
use core::mem::MaybeUninit;
use std::sync::{Mutex, MutexGuard, Once};
use std::vec::Vec;

use kheap::kmalloc;
use kheap::sync::Arc;
use kheap::{
    AllocError, Error, KBox, KVec, LockedHeap, __GFP_NOWARN, __GFP_ZERO, GFP_ATOMIC, GFP_KERNEL,
    GFP_NOWAIT,
};

static HEAP: Mutex<Option<&'static LockedHeap>> = Mutex::new(None);
static INIT: Once = Once::new();
static SERIAL: Mutex<()> = Mutex::new(());

/// kmalloc ready over a 16 MiB heap; the guard serialises the tests.
fn setup() -> (MutexGuard<'static, ()>, &'static LockedHeap) {
    let g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    INIT.call_once(|| {
        let h = common::leaked_heap(16 << 20);
        kmalloc::init(h).unwrap();
        *HEAP.lock().unwrap() = Some(h);
    });
    let h = HEAP.lock().unwrap().unwrap();
    (g, h)
}

fn live_blocks() -> usize {
    kmalloc::stats().live_blocks
}

/// Counts drops of its values.
#[derive(Clone)]
struct Tracked<'a>(u32, &'a Cell<u32>);
impl Drop for Tracked<'_> {
    fn drop(&mut self) {
        self.1.set(self.1.get() + 1);
    }
}

#[test]
fn kmalloc_has_one_global_allocator() {
    let (_g, h) = setup();
    assert!(kmalloc::is_ready());
    let _r = common::hook();
    assert_eq!(kmalloc::init(h), Err(Error::Busy));
    assert_eq!(common::reports(Error::Busy), 1);
}

#[test]
fn flags_combine_like_gfp_bits() {
    assert_eq!(GFP_KERNEL.as_raw(), 0);
    assert_eq!(GFP_NOWAIT, GFP_ATOMIC);
    let f = GFP_ATOMIC | __GFP_ZERO;
    assert!(f.contains(GFP_ATOMIC) && f.contains(__GFP_ZERO) && !f.contains(__GFP_NOWARN));
    assert!(f.contains(GFP_KERNEL));
    assert_eq!(std::format!("{f:?}"), "GFP_ATOMIC | __GFP_ZERO");
    assert_eq!(std::format!("{GFP_KERNEL:?}"), "GFP_KERNEL");
    let mut g = GFP_KERNEL;
    g |= __GFP_NOWARN;
    assert_eq!(g & __GFP_NOWARN, __GFP_NOWARN);
}

#[test]
fn kbox_owns_moves_and_frees() {
    let (_g, h) = setup();
    let before = (live_blocks(), h.lock().used());
    let drops = Cell::new(0);
    {
        let mut b = KBox::new(Tracked(41, &drops), GFP_KERNEL).unwrap();
        b.0 += 1;
        assert_eq!(b.0, 42);
        assert_eq!(live_blocks(), before.0 + 1);
        assert!(
            h.lock().used() > before.1,
            "KBox memory comes from the kmalloc heap"
        );
    }
    assert_eq!(drops.get(), 1);
    assert_eq!((live_blocks(), h.lock().used()), before);

    let b = KBox::new(Tracked(7, &drops), GFP_ATOMIC).unwrap();
    let t = KBox::into_inner(b);
    assert_eq!((t.0, drops.get()), (7, 1));
    drop(t);
    assert_eq!(live_blocks(), before.0);

    let raw = KBox::into_raw(KBox::new(5u64, GFP_KERNEL).unwrap());
    // SAFETY: from into_raw, given back once.
    let b = unsafe { KBox::from_raw(raw) };
    assert_eq!(*b, 5);
    drop(b);
    let p = KBox::pin(String::from("pinned"), GFP_KERNEL).unwrap();
    assert_eq!(&*p, "pinned");
    drop(p);
    assert_eq!(live_blocks(), before.0);
    let leaked = KBox::leak(KBox::new(9u8, GFP_KERNEL).unwrap());
    *leaked += 1;
    assert_eq!((*leaked, live_blocks()), (10, before.0 + 1));
}

use std::string::String;

#[test]
fn kbox_zeroed_zero_sized_and_over_aligned() {
    let (_g, _h) = setup();
    let before = live_blocks();
    // Dirty some memory first, so zeroing is observable.
    drop(KBox::new([0xffu8; 4096], GFP_KERNEL).unwrap());
    let z = KBox::<[u64; 512]>::new_uninit(GFP_KERNEL | __GFP_ZERO).unwrap();
    // SAFETY: __GFP_ZERO: all-zero bytes are a valid [u64; 512].
    let z = unsafe { KBox::assume_init(z) };
    assert!(z.iter().all(|&x| x == 0));
    let w = KBox::write(KBox::<u32>::new_uninit(GFP_KERNEL).unwrap(), 3);
    assert_eq!(*w, 3);

    let zst = KBox::new((), GFP_KERNEL).unwrap();
    assert_eq!(
        live_blocks(),
        before + 2,
        "a zero-sized KBox allocates nothing"
    );
    drop(zst);

    #[repr(align(4096))]
    struct Page([u8; 100]);
    #[repr(align(64))]
    struct Line(u8);
    let pages: Vec<KBox<Page>> = (0..4)
        .map(|i| KBox::new(Page([i; 100]), GFP_KERNEL).unwrap())
        .collect();
    let line = KBox::new(Line(1), GFP_KERNEL).unwrap();
    assert!(pages.iter().all(|p| KBox::as_ptr(p) as usize % 4096 == 0));
    assert!(pages
        .iter()
        .enumerate()
        .all(|(i, p)| p.0.iter().all(|&b| b == i as u8)));
    assert_eq!(KBox::as_ptr(&line) as usize % 64, 0);
    assert_eq!(line.0, 1);
    drop((z, w, pages, line));
    assert_eq!(live_blocks(), before);
}

#[test]
fn kbox_that_cannot_fit_is_an_err() {
    let (_g, _h) = setup();
    let before = kmalloc::stats();
    let r = KBox::<[u8; 32 << 20]>::new_uninit(GFP_KERNEL | __GFP_NOWARN);
    assert_eq!(r.err(), Some(AllocError));
    let after = kmalloc::stats();
    assert_eq!(after.failures, before.failures + 1);
    assert_eq!(after.live_blocks, before.live_blocks);
}

#[test]
fn kvec_push_pop_and_friends() {
    let (_g, _h) = setup();
    let before = live_blocks();
    let mut v = KVec::new();
    assert_eq!((v.len(), v.capacity()), (0, 0));
    for i in 0..1000u32 {
        v.push(i, GFP_KERNEL).unwrap();
    }
    assert_eq!(v.len(), 1000);
    assert!(v.capacity() >= 1000 && v.capacity() < 4000);
    assert!(v.iter().enumerate().all(|(i, &x)| x == i as u32));
    assert_eq!(live_blocks(), before + 1);
    assert_eq!(v.pop(), Some(999));
    assert_eq!(v.remove(0), Some(0));
    assert_eq!(v.remove(5000), None);
    assert_eq!(v.swap_remove(0), Some(1));
    assert_eq!(v[0], 998);
    assert_eq!(v.swap_remove(v.len()), None);
    v.truncate(10);
    assert_eq!(v.len(), 10);
    v.extend_from_slice(&[7, 8, 9], GFP_KERNEL).unwrap();
    assert_eq!(&v[10..], &[7, 8, 9]);
    v.resize(20, 5, GFP_KERNEL).unwrap();
    assert_eq!(v[19], 5);
    v.resize(2, 0, GFP_KERNEL).unwrap();
    assert_eq!(v.len(), 2);
    v.shrink_to_fit(GFP_KERNEL).unwrap();
    assert_eq!(v.capacity(), 2);
    let c = v.try_clone(GFP_KERNEL).unwrap();
    assert_eq!(c, v);
    assert_eq!(live_blocks(), before + 2);
    let mut w = KVec::with_capacity(3, GFP_KERNEL).unwrap();
    assert_eq!(w.capacity(), 3);
    for i in 0..3 {
        w.push_within_capacity(i).unwrap();
    }
    assert_eq!(w.push_within_capacity(3), Err(3));
    let back: Vec<i32> = w.into_iter().rev().collect();
    assert_eq!(back, [2, 1, 0]);
    let f = KVec::from_elem(String::from("x"), 4, GFP_KERNEL).unwrap();
    assert_eq!(f.len(), 4);
    assert!(f.iter().all(|s| s == "x"));
    v.clear();
    v.shrink_to_fit(GFP_KERNEL).unwrap();
    assert_eq!(v.capacity(), 0);
    drop((v, c, f));
    assert_eq!(live_blocks(), before);
}

#[test]
fn kvec_drops_every_element_once() {
    let (_g, _h) = setup();
    let drops = Cell::new(0);
    {
        let mut v = KVec::new();
        for i in 0..100 {
            v.push(Tracked(i, &drops), GFP_KERNEL).unwrap();
        }
        v.truncate(90);
        assert_eq!(drops.get(), 10);
        drop(v.pop());
        drop(v.remove(3));
        assert_eq!(drops.get(), 12);
        let mut it = v.into_iter();
        assert_eq!(it.next().map(|t| t.0), Some(0));
        assert_eq!(drops.get(), 13);
        // The rest dropped with the iterator.
    }
    assert_eq!(drops.get(), 100);
}

#[test]
fn kvec_sizes_that_overflow_are_errs_not_panics() {
    let (_g, _h) = setup();
    let before = live_blocks();
    assert_eq!(
        KVec::<u64>::with_capacity(usize::MAX, GFP_KERNEL).err(),
        Some(AllocError)
    );
    assert_eq!(
        KVec::<u64>::with_capacity(usize::MAX / 8 + 1, GFP_KERNEL).err(),
        Some(AllocError)
    );
    assert_eq!(
        KVec::<[u8; 1 << 20]>::with_capacity(1 << 44, GFP_KERNEL).err(),
        Some(AllocError)
    );
    let mut v = KVec::new();
    v.push(1u8, GFP_KERNEL).unwrap();
    assert_eq!(v.reserve(usize::MAX, GFP_KERNEL), Err(AllocError));
    assert_eq!(
        v.reserve_exact(isize::MAX as usize, GFP_KERNEL | __GFP_NOWARN),
        Err(AllocError)
    );
    assert_eq!(v, [1]);
    drop(v);
    assert_eq!(live_blocks(), before);
}

#[test]
fn kvec_zero_sized_and_over_aligned_elements() {
    let (_g, _h) = setup();
    let before = live_blocks();
    let mut z = KVec::new();
    for _ in 0..10_000 {
        z.push((), GFP_KERNEL).unwrap();
    }
    assert_eq!(
        (z.len(), z.capacity(), live_blocks()),
        (10_000, usize::MAX, before)
    );
    #[derive(Clone, Copy, PartialEq, Debug)]
    #[repr(align(256))]
    struct A(u32);
    let mut v = KVec::new();
    for i in 0..200 {
        v.push(A(i), GFP_KERNEL).unwrap();
        assert_eq!(
            v.as_ptr() as usize % 256,
            0,
            "krealloc keeps kmalloc_aligned's alignment"
        );
    }
    assert!(v.iter().enumerate().all(|(i, a)| a.0 == i as u32));
    drop(v);
    assert_eq!(live_blocks(), before);
}

#[test]
fn kvec_zero_flag_zeroes_new_capacity() {
    let (_g, _h) = setup();
    drop(KBox::new([0xa5u8; 8192], GFP_KERNEL).unwrap());
    let mut v = KVec::<u8>::with_capacity(8192, GFP_KERNEL | __GFP_ZERO).unwrap();
    assert!(v
        .spare_capacity_mut()
        .iter()
        .all(|b| unsafe { b.assume_init() } == 0));
    v.spare_capacity_mut()[0] = MaybeUninit::new(1);
    // SAFETY: element 0 written.
    unsafe { v.set_len(1) };
    assert_eq!(v[0], 1);
}

#[test]
fn arc_shares_counts_and_frees_once() {
    let (_g, _h) = setup();
    let before = live_blocks();
    let drops = Cell::new(0);
    {
        let a = Arc::new(Tracked(5, &drops), GFP_KERNEL).unwrap();
        let b = a.clone();
        assert_eq!(Arc::count(&b), 2);
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(b.0, 5);
        drop(a);
        assert_eq!((Arc::count(&b), drops.get()), (1, 0));
        assert_eq!(live_blocks(), before + 1);
    }
    assert_eq!(drops.get(), 1);
    assert_eq!(live_blocks(), before);

    let mut a = Arc::new(10u32, GFP_KERNEL).unwrap();
    *Arc::get_mut(&mut a).unwrap() += 1;
    let b = a.clone();
    assert!(Arc::get_mut(&mut a).is_none());
    let a = Arc::try_unwrap(a).unwrap_err();
    drop(b);
    assert_eq!(Arc::try_unwrap(a).ok(), Some(11));
    assert_eq!(live_blocks(), before);

    let raw = Arc::into_raw(Arc::new(String::from("raw"), GFP_KERNEL).unwrap());
    // SAFETY: from into_raw, given back once.
    let back = unsafe { Arc::from_raw(raw) };
    assert_eq!(&*back, "raw");
    drop(back);
    assert_eq!(live_blocks(), before);
}

#[test]
fn arc_clones_and_drops_across_threads() {
    let (_g, _h) = setup();
    let before = live_blocks();
    let shared = Arc::new(std::sync::atomic::AtomicUsize::new(0), GFP_KERNEL).unwrap();
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let s = shared.clone();
            std::thread::spawn(move || {
                for _ in 0..20_000 {
                    let c = s.clone();
                    c.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(Arc::count(&shared), 1);
    assert_eq!(shared.load(std::sync::atomic::Ordering::Relaxed), 80_000);
    drop(shared);
    assert_eq!(live_blocks(), before);
}

#[test]
fn an_arc_whose_count_saturates_is_leaked_not_freed() {
    let (_g, _h) = setup();
    let _r = common::hook();
    let before = live_blocks();
    let raw = Arc::into_raw(Arc::new(1u32, GFP_KERNEL).unwrap());
    // Forge the count a kernel would reach after 2^31 - 1 clones: the block
    // is #[repr(C)] { Refcount (4 bytes), u32 }, so the count sits 4 bytes
    // before the value.
    // SAFETY: that layout; only Refcount's API touches it.
    let rc = unsafe { &*(raw as *const u8).sub(4).cast::<kheap::sync::Refcount>() };
    assert_eq!(rc.read(), 1);
    rc.set(i32::MAX);
    // SAFETY: given back once.
    let a = unsafe { Arc::from_raw(raw) };
    let b = a.clone(); // would wrap: saturates instead, reported once
    assert_eq!(Arc::count(&a), kheap::sync::Refcount::SATURATED);
    let c = b.clone();
    assert_eq!(common::reports(Error::Range), 1);
    drop((a, b, c));
    // Never freed: a saturated object is leaked, not used after free.
    assert_eq!(live_blocks(), before + 1);
    assert_eq!(rc.read(), kheap::sync::Refcount::SATURATED);
}
