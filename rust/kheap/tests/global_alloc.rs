// SPDX-License-Identifier: MIT
//! LockedHeap as this whole test process's #[global_allocator], exactly as a
//! blog_os kernel declares it: the test harness, its threads and every test
//! allocate from it. The heap is initialised from an .init_array constructor
//! (before Rust's runtime allocates), over a 32 MiB static arena.

use core::alloc::Layout;
use std::boxed::Box;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::string::String;
use std::vec::Vec;

use kheap::LockedHeap;

#[global_allocator]
static ALLOCATOR: LockedHeap = LockedHeap::empty();

const ARENA_BYTES: usize = 32 << 20;
#[repr(C, align(4096))]
struct Arena([u8; ARENA_BYTES]);
static mut ARENA: Arena = Arena([0; ARENA_BYTES]);

extern "C" fn init_heap() {
    // SAFETY: runs once, before main, on the static arena nothing else uses.
    unsafe {
        ALLOCATOR
            .lock()
            .init(core::ptr::addr_of_mut!(ARENA).cast(), ARENA_BYTES)
    };
}

#[used]
#[link_section = ".init_array"]
static INIT_HEAP: extern "C" fn() = init_heap;

fn in_arena<T: ?Sized>(p: *const T) -> bool {
    let base = core::ptr::addr_of!(ARENA) as usize;
    (base..base + ARENA_BYTES).contains(&(p as *const u8 as usize))
}

const HEAP_SIZE: usize = 100 * 1024; // blog_os's heap size, for its tests

// blog_os's heap tests (tests/heap_allocation.rs), as written there.
#[test]
fn simple_allocation() {
    let heap_value_1 = Box::new(41);
    let heap_value_2 = Box::new(13);
    assert_eq!(*heap_value_1, 41);
    assert_eq!(*heap_value_2, 13);
}

#[test]
fn large_vec() {
    let n = 1000;
    let mut vec = Vec::new();
    for i in 0..n {
        vec.push(i);
    }
    assert_eq!(vec.iter().sum::<u64>(), (n - 1) * n / 2);
}

#[test]
fn many_boxes() {
    for i in 0..HEAP_SIZE {
        let x = Box::new(i);
        assert_eq!(*x, i);
    }
}

#[test]
fn many_boxes_long_lived() {
    let long_lived = Box::new(1);
    for i in 0..HEAP_SIZE {
        let x = Box::new(i);
        assert_eq!(*x, i);
    }
    assert_eq!(*long_lived, 1);
}

#[test]
fn the_process_really_allocates_from_kheap() {
    let b = Box::new([7u8; 100]);
    let v: Vec<u64> = (0..10_000).collect();
    let s = String::from("kheap");
    assert!(in_arena(&*b) && in_arena(v.as_ptr()) && in_arena(s.as_ptr()));
    let g = ALLOCATOR.lock();
    assert!(g.used() >= 80_000 && g.stats().allocations >= 3);
    assert_eq!(g.size(), ARENA_BYTES);
}

#[test]
fn blog_os_rc_counts() {
    let reference_counted = Rc::new(vec![1, 2, 3]);
    let cloned_reference = reference_counted.clone();
    assert_eq!(Rc::strong_count(&cloned_reference), 2);
    core::mem::drop(reference_counted);
    assert_eq!(Rc::strong_count(&cloned_reference), 1);
}

#[test]
fn vec_try_reserve_on_a_small_heap_fails_cleanly() {
    let mut v: Vec<u8> = Vec::new();
    v.extend_from_slice(b"kept");
    // More than the whole heap: the allocator returns null, Vec reports it.
    let e = v.try_reserve(ARENA_BYTES + 1).unwrap_err();
    assert!(std::format!("{e:?}").contains("AllocError"), "{e:?}");
    assert_eq!(v, b"kept");
    // A size that overflows never reaches the allocator.
    assert!(v.try_reserve(usize::MAX).is_err());
    // The vector and the heap carry on.
    v.try_reserve(4096).unwrap();
    v.extend_from_slice(&[1; 4096]);
    assert_eq!(&v[..4], b"kept");
    let mut w: Vec<u64> = Vec::new();
    assert!(w.try_reserve_exact(ARENA_BYTES / 8).is_err());
    assert!(w.is_empty() && w.capacity() == 0);
}

#[test]
fn realloc_and_calloc_paths() {
    // Growth goes through GlobalAlloc::realloc (kheap_realloc).
    let mut v: Vec<u32> = Vec::with_capacity(1);
    for i in 0..50_000 {
        v.push(i);
    }
    assert!(v.iter().enumerate().all(|(i, &x)| x == i as u32));
    v.truncate(10);
    v.shrink_to_fit();
    assert_eq!(v, (0..10).collect::<Vec<_>>());
    // vec![0; n] goes through alloc_zeroed: dirty a block first.
    let mut d = Vec::<u8>::with_capacity(1 << 16);
    d.resize(1 << 16, 0xee);
    drop(d);
    let z = vec![0u8; 1 << 16];
    assert!(z.iter().all(|&b| b == 0));
}

#[test]
fn over_aligned_values() {
    #[repr(align(4096))]
    struct Page([u8; 4096]);
    let pages: Vec<Box<Page>> = (0..8).map(|i| Box::new(Page([i; 4096]))).collect();
    for (i, p) in pages.iter().enumerate() {
        assert_eq!(&**p as *const Page as usize % 4096, 0);
        assert!(p.0.iter().all(|&b| b == i as u8));
    }
    let l = Layout::from_size_align(10, 1 << 16).unwrap();
    // SAFETY: GlobalAlloc contract.
    unsafe {
        let p = std::alloc::alloc(l);
        assert!(!p.is_null() && p as usize % (1 << 16) == 0);
        std::alloc::dealloc(p, l);
    }
}

#[test]
fn global_alloc_from_several_threads() {
    let threads: Vec<_> = (0..4u64)
        .map(|t| {
            std::thread::spawn(move || {
                let mut map = BTreeMap::new();
                let mut strings = Vec::new();
                for i in 0..3_000u64 {
                    map.insert(i * 8 + t, Box::new(i ^ t));
                    strings.push(std::format!("thread {t} item {i}"));
                    if i % 3 == 0 {
                        map.remove(&((i / 2) * 8 + t));
                        strings.swap_remove((i / 2) as usize);
                    }
                }
                for (k, v) in &map {
                    assert_eq!(**v, ((k - t) / 8) ^ t);
                }
                for s in &strings {
                    assert!(s.starts_with(&std::format!("thread {t} item ")));
                }
                (map.len(), strings.len())
            })
        })
        .collect();
    for t in threads {
        let (m, s) = t.join().unwrap();
        assert!(m > 1500 && s > 1500);
    }
    assert_eq!(ALLOCATOR.lock().check(), Ok(()));
}
