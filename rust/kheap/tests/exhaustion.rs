// SPDX-License-Identifier: MIT
//! Running out of memory on a small kmalloc heap (64 KiB): every kernel-type
//! operation returns Err, the containers keep what they held, failures are
//! reported unless __GFP_NOWARN, and all of the memory comes back.

mod common;

use std::sync::{Mutex, MutexGuard, Once};

use kheap::kmalloc;
use kheap::sync::Arc;
use kheap::{AllocError, Error, KBox, KVec, LockedHeap, __GFP_NOWARN, GFP_ATOMIC, GFP_KERNEL};

const HEAP_BYTES: usize = 64 * 1024;
static HEAP: Mutex<Option<&'static LockedHeap>> = Mutex::new(None);
static INIT: Once = Once::new();
static SERIAL: Mutex<()> = Mutex::new(());

fn setup() -> (MutexGuard<'static, ()>, &'static LockedHeap) {
    let g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    INIT.call_once(|| {
        let h = common::leaked_heap(HEAP_BYTES);
        kmalloc::init(h).unwrap();
        *HEAP.lock().unwrap() = Some(h);
    });
    (g, HEAP.lock().unwrap().unwrap())
}

/// Push until the heap is full; returns the vector and the failures seen.
fn fill(flags: kheap::Flags) -> KVec<u64> {
    let mut v = KVec::new();
    let mut i = 0u64;
    loop {
        let cap = v.capacity();
        match v.push(i, flags) {
            Ok(()) => i += 1,
            Err(AllocError) => {
                assert_eq!(v.len() as u64, i, "a failed push changes nothing");
                assert_eq!(v.capacity(), cap);
                break;
            }
        }
        assert!(i < 1 << 20, "a 64 KiB heap cannot hold 8 MiB");
    }
    v
}

#[test]
fn kvec_push_until_exhausted_then_everything_comes_back() {
    let (_g, h) = setup();
    let used0 = h.lock().used();
    let blocks0 = kmalloc::stats().live_blocks;
    let v = fill(GFP_KERNEL | __GFP_NOWARN);
    let n = v.len();
    // The exact-size fallback gets close to the whole heap.
    assert!(n * 8 > HEAP_BYTES / 2, "only {n} u64 in a 64 KiB heap");
    assert!(v.iter().enumerate().all(|(i, &x)| x == i as u64));
    let mut v = v;
    assert_eq!(v.push(0, GFP_ATOMIC | __GFP_NOWARN), Err(AllocError));
    assert_eq!(
        v.extend_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8], GFP_KERNEL | __GFP_NOWARN),
        Err(AllocError)
    );
    assert_eq!(v.len(), n);
    assert!(KBox::new([0u8; 1024], GFP_KERNEL | __GFP_NOWARN).is_err());
    assert!(Arc::new([0u8; 1024], GFP_KERNEL | __GFP_NOWARN).is_err());
    assert_eq!(h.lock().check(), Ok(()));
    drop(v);
    assert_eq!(h.lock().used(), used0);
    assert_eq!(kmalloc::stats().live_blocks, blocks0);
    // Everything came back: the same vector fits again.
    let again = fill(GFP_KERNEL | __GFP_NOWARN);
    assert_eq!(again.len(), n);
}

#[test]
fn many_small_kboxes_until_exhausted() {
    let (_g, h) = setup();
    let used0 = h.lock().used();
    let mut boxes = KVec::with_capacity(1024, GFP_KERNEL).unwrap();
    while let Ok(b) = KBox::new([7u32; 8], GFP_KERNEL | __GFP_NOWARN) {
        if boxes.push_within_capacity(b).is_err() {
            break;
        }
    }
    // 64 B per box (32 + kmalloc and heap headers), 8 KiB for the vector.
    assert!(
        boxes.len() > 700 && boxes.len() < 1024,
        "{} boxes",
        boxes.len()
    );
    assert!(boxes.iter().all(|b| **b == [7u32; 8]));
    drop(boxes);
    assert_eq!(h.lock().used(), used0);
}

#[test]
fn failures_are_reported_unless_nowarn() {
    let (_g, _h) = setup();
    let _r = common::hook();
    let f0 = kmalloc::stats().failures;
    assert!(KVec::<u8>::with_capacity(HEAP_BYTES * 2, GFP_KERNEL).is_err());
    assert_eq!(common::reports(Error::NoMem), 1);
    assert!(KVec::<u8>::with_capacity(HEAP_BYTES * 2, GFP_KERNEL | __GFP_NOWARN).is_err());
    assert_eq!(common::reports(Error::NoMem), 1);
    assert_eq!(kmalloc::stats().failures, f0 + 2);
}

#[test]
fn a_growth_step_that_does_not_fit_falls_back_to_the_exact_size_quietly() {
    let (_g, _h) = setup();
    let _r = common::hook();
    let mut v = KVec::<u8>::with_capacity(40 * 1024, GFP_KERNEL).unwrap();
    v.resize(40 * 1024, 1, GFP_KERNEL).unwrap();
    // Doubling to 80 KiB cannot fit in a 64 KiB heap; 40 KiB + 1 can.
    v.push(2, GFP_KERNEL).unwrap();
    assert_eq!(v.capacity(), 40 * 1024 + 1);
    assert_eq!((v[0], v[40 * 1024]), (1, 2));
    assert_eq!(
        common::reports(Error::NoMem),
        0,
        "the speculative step is not a failure to report"
    );
}
