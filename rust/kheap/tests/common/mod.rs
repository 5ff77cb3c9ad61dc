// SPDX-License-Identifier: MIT
//! Shared by the integration tests: leaked arenas and an error-hook recorder.
#![allow(dead_code)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

/// `bytes` of fresh memory, 4096-aligned, never freed (a heap may keep it).
pub fn arena(bytes: usize) -> *mut u8 {
    let layout = std::alloc::Layout::from_size_align(bytes, 4096).unwrap();
    // SAFETY: non-zero size.
    let p = unsafe { std::alloc::alloc(layout) };
    assert!(!p.is_null());
    p
}

/// A LockedHeap of `bytes`, leaked so it can be shared as &'static.
pub fn leaked_heap(bytes: usize) -> &'static kheap::LockedHeap {
    let h: &'static kheap::LockedHeap = Box::leak(Box::new(kheap::LockedHeap::empty()));
    // SAFETY: fresh memory, ours forever.
    unsafe { h.lock().try_init(arena(bytes), bytes).unwrap() };
    h
}

/// Reports seen by the hook, per code: index -code (0..=9).
pub static REPORTS: [AtomicUsize; 10] = [const { AtomicUsize::new(0) }; 10];

unsafe extern "C" fn record(
    code: core::ffi::c_int,
    _what: *const core::ffi::c_char,
    _p: *const core::ffi::c_void,
) {
    let i = (-code) as usize;
    if i < REPORTS.len() {
        REPORTS[i].fetch_add(1, Ordering::SeqCst);
    }
}

static HOOK_LOCK: Mutex<()> = Mutex::new(());

/// Serialises the tests that count reports; installs the recorder, zeroed.
pub fn hook() -> MutexGuard<'static, ()> {
    let g = HOOK_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    for r in &REPORTS {
        r.store(0, Ordering::SeqCst);
    }
    // SAFETY: tests that report hold this lock.
    unsafe { kheap::set_error_hook(Some(record)) };
    g
}

/// Reports of `e` since `hook()`.
pub fn reports(e: kheap::Error) -> usize {
    REPORTS[(-e.code()) as usize].load(Ordering::SeqCst)
}
