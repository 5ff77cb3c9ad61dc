// SPDX-License-Identifier: MIT
//! core::alloc::Allocator for LockedHeap (cargo feature `allocator_api`;
//! unstable Rust: `RUSTC_BOOTSTRAP=1 cargo test --features allocator_api`).
//! Without the feature this file compiles to nothing.
#![cfg_attr(feature = "allocator_api", feature(allocator_api))]

#[cfg(feature = "allocator_api")]
mod common;

#[cfg(feature = "allocator_api")]
mod tests {
    use super::common::leaked_heap;
    use core::alloc::{Allocator, Layout};
    use std::boxed::Box;
    use std::vec::Vec;

    #[test]
    fn vec_and_box_in_a_locked_heap() {
        let h = leaked_heap(256 * 1024);
        {
            let mut v: Vec<u32, _> = Vec::new_in(h);
            for i in 0..10_000 {
                v.push(i);
            }
            assert!(h.lock().used() >= 40_000);
            let b = Box::new_in([3u8; 100], h);
            assert_eq!(b[99], 3);
            assert!(v.iter().enumerate().all(|(i, &x)| x == i as u32));
        }
        assert_eq!(h.lock().used(), 0);
        assert_eq!(h.lock().check(), Ok(()));
    }

    #[test]
    fn try_reserve_on_a_small_heap_fails_cleanly() {
        let h = leaked_heap(16 * 1024);
        let mut v: Vec<u8, _> = Vec::new_in(h);
        v.extend_from_slice(b"kept");
        assert!(v.try_reserve(32 * 1024).is_err());
        assert_eq!(&v[..], b"kept");
        assert!(v.try_reserve(8 * 1024).is_ok());
        assert!(Box::try_new_in([0u8; 20 * 1024], h).is_err());
        drop(v);
        assert_eq!(h.lock().used(), 0);
        // 144 B per box (128 + header, rounded): about 100 fit in 16 KiB.
        let mut all = std::vec![];
        while let Ok(b) = Box::try_new_in([1u64; 16], h) {
            all.push(b);
        }
        assert!(all.len() > 90 && all.len() < 114, "{} boxes", all.len());
        assert!(all.iter().all(|b| **b == [1u64; 16]));
        drop(all);
        assert_eq!(h.lock().used(), 0);
    }

    #[test]
    fn grow_shrink_and_zeroing_keep_data_and_alignment() {
        let h = leaked_heap(256 * 1024);
        let l = Layout::from_size_align(64, 512).unwrap();
        let p = h.allocate(l).unwrap();
        assert_eq!(p.len(), 64);
        let base = p.as_ptr() as *mut u8;
        assert_eq!(base as usize % 512, 0);
        // SAFETY: Allocator contract: blocks from h, layouts as allocated.
        unsafe {
            for i in 0..64 {
                *base.add(i) = i as u8;
            }
            let blocker = h.allocate(Layout::new::<u64>()).unwrap();
            let l2 = Layout::from_size_align(10_000, 512).unwrap();
            let g = h.grow_zeroed(p.cast(), l, l2).unwrap();
            let gp = g.as_ptr() as *mut u8;
            assert_eq!(gp as usize % 512, 0);
            assert!((0..64).all(|i| *gp.add(i) == i as u8));
            assert!((64..10_000).all(|i| *gp.add(i) == 0));
            let l3 = Layout::from_size_align(16, 512).unwrap();
            let s = h.shrink(g.cast(), l2, l3).unwrap();
            assert!((0..16).all(|i| *(s.as_ptr() as *mut u8).add(i) == i as u8));
            // Growing to a larger alignment moves to an aligned block.
            let l4 = Layout::from_size_align(32, 8192).unwrap();
            let m = h.grow(s.cast(), l3, l4).unwrap();
            assert_eq!(m.as_ptr() as *mut u8 as usize % 8192, 0);
            assert!((0..16).all(|i| *(m.as_ptr() as *mut u8).add(i) == i as u8));
            // Failing growth leaves the block as it was.
            let huge = Layout::from_size_align(1 << 30, 8192).unwrap();
            assert!(h.grow(m.cast(), l4, huge).is_err());
            assert!((0..16).all(|i| *(m.as_ptr() as *mut u8).add(i) == i as u8));
            h.deallocate(m.cast(), l4);
            h.deallocate(blocker.cast(), Layout::new::<u64>());
            let z = h
                .allocate_zeroed(Layout::from_size_align(3000, 16).unwrap())
                .unwrap();
            assert!((0..3000).all(|i| *(z.as_ptr() as *mut u8).add(i) == 0));
            h.deallocate(z.cast(), Layout::from_size_align(3000, 16).unwrap());
            let e = h.allocate(Layout::from_size_align(0, 64).unwrap()).unwrap();
            assert_eq!(e.len(), 0);
            h.deallocate(e.cast(), Layout::from_size_align(0, 64).unwrap());
        }
        assert_eq!(h.lock().used(), 0);
    }
}
