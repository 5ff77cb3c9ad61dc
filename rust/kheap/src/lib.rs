// SPDX-License-Identifier: MIT
//! # kheap for Rust
//!
//! The kheap C library (a freestanding O(1) heap, a kernel-style kmalloc, and
//! kernel sync primitives) as the heap and the primitives behind Rust code,
//! hosted and on bare metal. `#![no_std]`, no dependencies; `build.rs`
//! compiles the C library with the target's C compiler.
//!
//! - [`LockedHeap`] / [`Heap`]: the `#[global_allocator]`, with the API of
//!   `linked_list_allocator` 0.10 (`empty`, `lock().init(bottom, size)`,
//!   `extend`, `size`, `used`, `free`), over kheap's core heap. Its lock is
//!   kheap's ticket spin lock with interrupts off (see [`heap`]).
//! - `core::alloc::Allocator` for `LockedHeap` with the `allocator_api`
//!   feature (unstable Rust: nightly, or `RUSTC_BOOTSTRAP=1` on stable).
//! - Fallible kernel-style types on the kmalloc API, in the style of Rust
//!   for Linux: [`KBox`], [`KVec`], [`Flags`] ([`GFP_KERNEL`], [`GFP_ATOMIC`],
//!   [`__GFP_ZERO`]...), errors as values ([`AllocError`]). Install the heap
//!   behind kmalloc with [`kmalloc::init`].
//! - Kernel primitives through the exported twins of the C inline API:
//!   [`sync::Atomic`], [`sync::SpinLock`], [`sync::Refcount`], [`sync::Arc`].
//!
//! Nothing here panics or aborts when memory runs out: allocations return
//! `Err`/null. (Rust's own `Box::new` and `Vec::push` still call the
//! allocation-error handler when the global allocator returns null; use
//! `Vec::try_reserve`, the `Allocator` API or the K-types where that matters.)
#![no_std]
#![cfg_attr(feature = "allocator_api", feature(allocator_api))]
#![warn(missing_docs)]

#[cfg(test)]
extern crate std;

pub mod error;
pub mod ffi;
pub mod heap;
pub mod kbox;
pub mod kmalloc;
pub mod kvec;
pub mod selftest;
pub mod sync;

pub use error::{set_error_hook, AllocError, Error, ErrorHook};
pub use heap::{CheckError, Heap, HeapGuard, HeapStats, LockedHeap};
pub use kbox::KBox;
pub use kmalloc::{
    Flags, __GFP_NOGROW, __GFP_NOWARN, __GFP_ZERO, GFP_ATOMIC, GFP_KERNEL, GFP_NOWAIT,
};
pub use kvec::KVec;
