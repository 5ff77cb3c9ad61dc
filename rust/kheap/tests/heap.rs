// SPDX-License-Identifier: MIT
//! Heap and LockedHeap: the linked_list_allocator 0.10 API, GlobalAlloc on a
//! LockedHeap that is not the global allocator (so sizes are exact), limits,
//! misuse, and several threads on one heap.

mod common;

use core::alloc::{GlobalAlloc, Layout};
use core::ptr::NonNull;
use std::collections::HashSet;
use std::vec::Vec;

use common::{arena, hook, leaked_heap, reports};
use kheap::{Error, Heap, LockedHeap};

fn layout(size: usize, align: usize) -> Layout {
    Layout::from_size_align(size, align).unwrap()
}

#[test]
fn an_empty_heap_refuses_everything() {
    let mut h = Heap::empty();
    assert!(!h.is_initialized());
    assert!(h.allocate_first_fit(layout(8, 8)).is_err());
    assert_eq!((h.size(), h.used(), h.free()), (0, 0, 0));
    assert!(h.bottom().is_null());
    assert_eq!(h.check(), Ok(()));
    let l = LockedHeap::empty();
    // SAFETY: GlobalAlloc with a valid layout.
    unsafe {
        assert!(l.alloc(layout(16, 8)).is_null());
        assert!(l.alloc_zeroed(layout(16, 8)).is_null());
    }
}

#[test]
fn init_sizes_and_accounting() {
    let size = 64 * 1024;
    let mem = arena(size);
    let mut h = Heap::empty();
    // SAFETY: fresh memory.
    unsafe { h.init(mem, size) };
    assert!(h.is_initialized());
    assert_eq!(h.bottom(), mem);
    assert_eq!(h.size(), size);
    assert_eq!(h.top(), mem.wrapping_add(size));
    assert_eq!(h.used(), 0);
    assert_eq!(h.used() + h.free() + h.overhead(), h.size());
    let free0 = h.free();
    assert!(
        free0 > size - 2048,
        "control block too big: {} free of {size}",
        free0
    );

    let a = h.allocate_first_fit(layout(100, 8)).unwrap();
    let b = h.allocate_first_fit(layout(1000, 64)).unwrap();
    assert_eq!(b.as_ptr() as usize % 64, 0);
    assert!(h.used() >= 1100);
    assert_eq!(h.used() + h.free() + h.overhead(), h.size());
    assert_eq!(h.stats().allocations, 2);
    // SAFETY: both came from h.
    unsafe {
        assert!(h.usable_size(a) >= 100);
        h.deallocate(a, layout(100, 8));
        h.deallocate(b, layout(1000, 64));
    }
    assert_eq!(h.used(), 0);
    assert_eq!(h.free(), free0);
    assert_eq!(h.stats().free_blocks, 1);
    assert_eq!(h.check(), Ok(()));
}

#[test]
fn every_alignment_from_the_layout_is_honoured() {
    let size = 1 << 20;
    let mut h = Heap::empty();
    // SAFETY: fresh memory.
    unsafe { h.try_init(arena(size), size).unwrap() };
    let mut live = Vec::new();
    for shift in 0..=14 {
        let align = 1usize << shift;
        for s in [1usize, 7, 24, 100, 3000] {
            let l = layout(s, align);
            let p = h.allocate_first_fit(l).unwrap();
            assert_eq!(p.as_ptr() as usize % align, 0, "size {s} align {align}");
            // SAFETY: s bytes are ours.
            unsafe { p.as_ptr().write_bytes(shift as u8, s) };
            live.push((p, l, shift as u8));
        }
    }
    assert_eq!(h.check(), Ok(()));
    for (p, l, v) in live {
        // SAFETY: still ours, then freed once.
        unsafe {
            assert!(core::slice::from_raw_parts(p.as_ptr(), l.size())
                .iter()
                .all(|&b| b == v));
            h.deallocate(p, l);
        }
    }
    assert_eq!(h.used(), 0);
    assert_eq!(h.check(), Ok(()));
}

#[test]
fn exhaustion_returns_err_and_loses_nothing() {
    let size = 32 * 1024;
    let mut h = Heap::empty();
    // SAFETY: fresh memory.
    unsafe { h.try_init(arena(size), size).unwrap() };
    let mut blocks = Vec::new();
    while let Ok(p) = h.allocate_first_fit(layout(48, 16)) {
        // SAFETY: 48 bytes are ours.
        unsafe { p.as_ptr().write_bytes(0x5a, 48) };
        blocks.push(p);
    }
    assert!(
        blocks.len() > 400,
        "only {} blocks of 48 B in 32 KiB",
        blocks.len()
    );
    let distinct: HashSet<usize> = blocks.iter().map(|p| p.as_ptr() as usize).collect();
    assert_eq!(distinct.len(), blocks.len());
    assert!(h.allocate_first_fit(layout(size, 8)).is_err());
    assert!(h
        .allocate_first_fit(layout(isize::MAX as usize - 64, 8))
        .is_err());
    assert_eq!(h.check(), Ok(()));
    let n = blocks.len();
    for p in blocks.drain(..) {
        // SAFETY: ours, untouched by the failures.
        unsafe {
            assert!(core::slice::from_raw_parts(p.as_ptr(), 48)
                .iter()
                .all(|&b| b == 0x5a));
            h.deallocate(p, layout(48, 16));
        }
    }
    assert_eq!(h.used(), 0);
    // Everything came back: the same number fits again.
    while let Ok(p) = h.allocate_first_fit(layout(48, 16)) {
        blocks.push(p);
    }
    assert_eq!(blocks.len(), n);
}

#[test]
fn init_refuses_bad_regions_and_a_second_init() {
    let _g = hook();
    let mut h = Heap::empty();
    // SAFETY: the calls are refused before touching memory... or get valid memory.
    unsafe {
        assert_eq!(h.try_init(core::ptr::null_mut(), 4096), Err(Error::Inval));
        assert_eq!(h.try_init(arena(4096), 64), Err(Error::Inval));
        assert!(!h.is_initialized());
        h.init(arena(4096), 32); // the linked_list_allocator spelling: reports
        assert!(!h.is_initialized());
        assert_eq!(reports(Error::Inval), 1);

        let mem = arena(8192);
        h.try_init(mem, 8192).unwrap();
        assert_eq!(h.try_init(arena(8192), 8192), Err(Error::Busy));
        h.init(arena(8192), 8192);
        assert_eq!(reports(Error::Busy), 1);
        assert_eq!((h.bottom(), h.size()), (mem, 8192));
    }
}

#[test]
fn from_slice_and_new() {
    let mem: &'static mut [core::mem::MaybeUninit<u8>] =
        Box::leak(vec![core::mem::MaybeUninit::uninit(); 16384].into_boxed_slice());
    let p = mem.as_mut_ptr().cast::<u8>();
    let mut h = Heap::from_slice(mem);
    assert_eq!((h.bottom(), h.size()), (p, 16384));
    assert!(h.allocate_first_fit(layout(1000, 8)).is_ok());
    // SAFETY: fresh memory.
    let mut h2 = unsafe { Heap::new(arena(16384), 16384) };
    assert!(h2.allocate_first_fit(layout(1000, 8)).is_ok());
    let l = unsafe { LockedHeap::new(arena(16384), 16384) };
    assert_eq!(l.lock().size(), 16384);
}

#[test]
fn extend_grows_at_the_top_and_keeps_small_remainders() {
    let total = 256 * 1024;
    let mem = arena(total);
    let mut h = Heap::empty();
    // Index sized for the whole range, so one block can span the extension.
    // SAFETY: fresh memory; extensions stay inside it.
    unsafe { h.try_init_with_max_block(mem, 64 * 1024, total).unwrap() };
    let big = layout(100 * 1024, 8);
    assert!(h.allocate_first_fit(big).is_err());
    unsafe { h.extend(64 * 1024) };
    assert_eq!(h.size(), 128 * 1024);
    assert_eq!(h.top(), mem.wrapping_add(128 * 1024));
    let p = h
        .allocate_first_fit(big)
        .expect("extended memory is usable, coalesced");
    assert!((p.as_ptr() as usize) < mem as usize + 128 * 1024);
    // Too little for a region: kept for the next extend.
    unsafe { h.extend(16) };
    assert_eq!((h.size(), h.pending_extend()), (128 * 1024, 16));
    unsafe { h.extend(64 * 1024 - 16) };
    assert_eq!((h.size(), h.pending_extend()), (192 * 1024, 0));
    assert_eq!(h.used() + h.free() + h.overhead(), h.size());
    assert_eq!(h.check(), Ok(()));
    unsafe { h.deallocate(p, big) };
    assert_eq!(h.stats().free_blocks, 1);
}

#[test]
fn extend_on_an_empty_heap_is_refused() {
    let _g = hook();
    let mut h = Heap::empty();
    // SAFETY: refused before touching memory.
    unsafe { h.extend(4096) };
    assert_eq!((h.size(), h.is_initialized()), (0, false));
    assert_eq!(reports(Error::Inval), 1);
}

#[test]
fn add_region_anywhere_and_overlaps_are_refused() {
    let mut h = Heap::empty();
    let a = arena(16384);
    let b = arena(16384);
    // SAFETY: fresh memory.
    unsafe {
        h.try_init(a, 16384).unwrap();
        h.add_region(b, 16384).unwrap();
        assert_eq!(h.size(), 32768);
        assert_eq!(h.stats().regions, 2);
        assert_eq!(h.add_region(b.add(1024), 4096), Err(Error::Inval));
        assert_eq!(h.add_region(core::ptr::null_mut(), 4096), Err(Error::Inval));
        assert_eq!(h.size(), 32768);
    }
    // Both regions serve allocations.
    let mut n = 0;
    while h.allocate_first_fit(layout(1024, 8)).is_ok() {
        n += 1;
    }
    assert!(n >= 28, "{n} KiB blocks from 32 KiB in two regions");
    assert_eq!(h.check(), Ok(()));
}

#[test]
fn global_alloc_realloc_keeps_data_and_alignment() {
    let l = leaked_heap(256 * 1024);
    let lay = layout(100, 256);
    // SAFETY: GlobalAlloc contract: valid layouts, pointers from l.
    unsafe {
        let p = l.alloc(lay);
        assert!(!p.is_null() && p as usize % 256 == 0);
        for i in 0..100 {
            *p.add(i) = i as u8;
        }
        // Keep a neighbour so growth has to move the block.
        let q = l.alloc(layout(64, 8));
        let p2 = l.realloc(p, lay, 5000);
        assert!(!p2.is_null() && p2 as usize % 256 == 0);
        assert!((0..100).all(|i| *p2.add(i) == i as u8));
        let p3 = l.realloc(p2, layout(5000, 256), 10);
        assert!((0..10).all(|i| *p3.add(i) == i as u8));
        // A failing realloc returns null and the block is untouched.
        let p4 = l.realloc(p3, layout(10, 256), 10 << 20);
        assert!(p4.is_null());
        assert!((0..10).all(|i| *p3.add(i) == i as u8));
        l.dealloc(p3, layout(10, 256));
        l.dealloc(q, layout(64, 8));
    }
    assert_eq!(l.lock().used(), 0);
    assert_eq!(l.lock().check(), Ok(()));
}

#[test]
fn alloc_zeroed_zeroes_reused_memory() {
    let l = leaked_heap(64 * 1024);
    let lay = layout(4000, 16);
    // SAFETY: GlobalAlloc contract.
    unsafe {
        let p = l.alloc(lay);
        p.write_bytes(0xff, 4000);
        l.dealloc(p, lay);
        let z = l.alloc_zeroed(lay);
        assert_eq!(
            z, p,
            "the same block comes back (so zeroing is really tested)"
        );
        assert!(core::slice::from_raw_parts(z, 4000).iter().all(|&b| b == 0));
        l.dealloc(z, lay);
    }
}

#[test]
fn freeing_a_foreign_pointer_is_reported_and_ignored() {
    let _g = hook();
    let l = leaked_heap(64 * 1024);
    let mut other = [0u64; 8];
    // SAFETY: deliberately wrong pointer: checked builds refuse it.
    unsafe { l.dealloc(other.as_mut_ptr().cast(), layout(64, 8)) };
    assert_eq!(reports(Error::Fault), 1);
    let p = unsafe { l.alloc(layout(64, 8)) };
    unsafe {
        l.dealloc(p, layout(64, 8));
        l.dealloc(p, layout(64, 8)); // double free
    }
    assert!(reports(Error::Double) + reports(Error::Fault) >= 2);
    assert_eq!(l.lock().used(), 0);
    assert_eq!(l.lock().check(), Ok(()));
}

extern "C" {
    fn kh_port_hosted_irqs_disabled() -> core::ffi::c_int;
}

#[test]
fn lock_masks_interrupts_and_try_lock_sees_the_holder() {
    let l = leaked_heap(16 * 1024);
    // SAFETY: reads this thread's pretend interrupt flag.
    let irqs_off = || unsafe { kh_port_hosted_irqs_disabled() } != 0;
    assert!(!irqs_off());
    {
        let g = l.lock();
        assert!(irqs_off());
        assert!(l.try_lock().is_none());
        assert!(
            irqs_off(),
            "a failed try_lock leaves interrupts as they were"
        );
        assert_eq!(g.size(), 16 * 1024);
    }
    assert!(!irqs_off());
    assert!(l.try_lock().is_some());
    assert!(!irqs_off());
}

#[test]
fn several_threads_share_one_locked_heap() {
    let l = leaked_heap(4 << 20);
    let threads: Vec<_> = (0..4u8)
        .map(|t| {
            std::thread::spawn(move || {
                let mut live: Vec<(NonNull<u8>, Layout)> = Vec::new();
                let mut rng = 0x9e3779b9u32.wrapping_mul(t as u32 + 1);
                for i in 0..20_000u32 {
                    rng ^= rng << 13;
                    rng ^= rng >> 17;
                    rng ^= rng << 5;
                    if live.len() < 64 && (rng & 3 != 0 || live.is_empty()) {
                        let lay = layout(1 + (rng as usize >> 8) % 2000, 1 << (rng % 7));
                        // SAFETY: GlobalAlloc contract.
                        let p = unsafe { l.alloc(lay) };
                        let p = NonNull::new(p).expect("4 MiB is enough for 4 x 64 blocks");
                        unsafe { p.as_ptr().write_bytes(t, lay.size()) };
                        live.push((p, lay));
                    } else {
                        let (p, lay) = live.swap_remove(i as usize % live.len());
                        // SAFETY: ours; nobody else wrote it.
                        unsafe {
                            let s = core::slice::from_raw_parts(p.as_ptr(), lay.size());
                            assert!(s.iter().all(|&b| b == t), "thread {t}: block overwritten");
                            l.dealloc(p.as_ptr(), lay);
                        }
                    }
                }
                for (p, lay) in live {
                    unsafe { l.dealloc(p.as_ptr(), lay) };
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let g = l.lock();
    assert_eq!(g.used(), 0);
    assert_eq!(g.stats().allocations, 0);
    assert_eq!(g.check(), Ok(()));
}
