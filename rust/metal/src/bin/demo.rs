// SPDX-License-Identifier: MIT
//! The kheap Rust demo on bare metal: `kheap::LockedHeap` is the global
//! allocator over the RAM between the linker script's `_heap_start` and
//! `_heap_end`, and the program does what the seeds do (embedded-alloc's
//! `[42, 83]`, blog_os's Box, Vec and Rc), then the fallible kernel types on
//! the same heap, and checks that every byte came back.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::boxed::Box;
use alloc::rc::Rc;
use alloc::vec;
use alloc::vec::Vec;
use core::ffi::c_int;

use kheap::sync::Arc;
use kheap::{kmalloc, AllocError, KBox, KVec, LockedHeap, __GFP_NOWARN, GFP_KERNEL};
use kheap_metal::println;

#[global_allocator]
static ALLOCATOR: LockedHeap = LockedHeap::empty();

fn kernel_types(heap_size: usize) -> Result<(), AllocError> {
    let mut samples = KVec::with_capacity(16, GFP_KERNEL)?;
    for i in 0..100u32 {
        samples.push(i * i, GFP_KERNEL)?;
    }
    let shared = Arc::new(samples, GFP_KERNEL)?;
    let other = shared.clone();
    let sum: u32 = other.iter().sum();
    println!(
        "KVec of {} in a kheap::sync::Arc: count {}, sum {}",
        shared.len(),
        Arc::count(&shared),
        sum
    );
    let boxed = KBox::new([7u8; 64], GFP_KERNEL)?;
    println!("KBox at {:p}", boxed);
    // More than the whole heap: an Err, not a panic.
    let too_big = KVec::<u8>::with_capacity(heap_size, GFP_KERNEL | __GFP_NOWARN);
    println!(
        "KVec::with_capacity({} B) on a {} B heap: {:?}",
        heap_size,
        heap_size,
        too_big.err()
    );
    Ok(())
}

#[no_mangle]
pub extern "C" fn main() -> c_int {
    let (start, size) = kheap_metal::free_ram();
    // SAFETY: the linker script leaves this RAM to the heap.
    unsafe { ALLOCATOR.lock().init(start, size) };
    println!(
        "kheap Rust demo on {}: LockedHeap over {} B of RAM at {:p}",
        kheap_metal::TARGET,
        size,
        start
    );
    let used0 = ALLOCATOR.lock().used();

    // embedded-alloc's example.
    let mut xs = Vec::new();
    xs.push(42);
    xs.push(83);
    println!("{:?}", xs);

    // blog_os's kernel_main.
    let heap_value = Box::new(41);
    println!("heap_value at {:p}", heap_value);
    let mut vec = Vec::new();
    for i in 0..500 {
        vec.push(i);
    }
    println!("vec at {:p}", vec.as_ptr());
    let reference_counted = Rc::new(vec![1, 2, 3]);
    let cloned_reference = reference_counted.clone();
    println!(
        "current reference count is {}",
        Rc::strong_count(&cloned_reference)
    );
    core::mem::drop(reference_counted);
    println!(
        "reference count is {} now",
        Rc::strong_count(&cloned_reference)
    );

    // Rust-for-Linux-style fallible types, kmalloc'd from the same heap.
    if kmalloc::init(&ALLOCATOR).is_err() || kernel_types(size).is_err() {
        println!("kernel types failed");
        return 1;
    }

    {
        let h = ALLOCATOR.lock();
        let s = h.stats();
        println!(
            "heap: size {} B, used {} B, free {} B in {} block(s), peak used {} B, {} live allocations",
            h.size(),
            s.used_bytes,
            s.free_bytes,
            s.free_blocks,
            s.peak_used_bytes,
            s.allocations
        );
    }
    drop((xs, heap_value, vec, cloned_reference));
    let h = ALLOCATOR.lock();
    let (used, blocks, check) = (h.used(), h.stats().free_blocks, h.check());
    drop(h);
    println!(
        "after freeing everything: used {} B, {} free block(s), check {:?}",
        used, blocks, check
    );
    if used != used0 || blocks != 1 || check.is_err() || kmalloc::stats().live_blocks != 0 {
        return 2;
    }
    println!("It did not crash!");
    0
}
