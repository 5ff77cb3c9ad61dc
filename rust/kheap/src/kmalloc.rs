// SPDX-License-Identifier: MIT
//! The global kmalloc API (include/kheap/kmalloc.h) and the allocation flags
//! the kernel-style types take.
//!
//! kmalloc has one global allocator, set once at boot. [`init`] makes it a
//! [`LockedHeap`], usually the same one that is the `#[global_allocator]`,
//! so `Box`/`Vec` and [`KBox`](crate::KBox)/[`KVec`](crate::KVec) share one
//! heap and one lock. Until then every kmalloc fails cleanly (the kernel
//! types return [`AllocError`]).

use core::ffi::{c_uint, c_void};
use core::ops::{BitAnd, BitOr, BitOrAssign};
use core::ptr::NonNull;

use crate::error::{AllocError, Error};
use crate::ffi;
use crate::heap::LockedHeap;

/// Allocation flags, the kernel's `gfp_t` (a set of bits; combine with `|`).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Flags(c_uint);

impl Flags {
    /// The raw `KH_GFP_*` bits.
    pub const fn as_raw(self) -> u32 {
        self.0
    }

    /// Whether every bit of `other` is set in `self`.
    pub const fn contains(self, other: Flags) -> bool {
        self.0 & other.0 == other.0
    }
}

impl BitOr for Flags {
    type Output = Flags;
    fn bitor(self, rhs: Flags) -> Flags {
        Flags(self.0 | rhs.0)
    }
}

impl BitOrAssign for Flags {
    fn bitor_assign(&mut self, rhs: Flags) {
        self.0 |= rhs.0;
    }
}

impl BitAnd for Flags {
    type Output = Flags;
    fn bitand(self, rhs: Flags) -> Flags {
        Flags(self.0 & rhs.0)
    }
}

impl core::fmt::Debug for Flags {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let names = [
            (GFP_ATOMIC, "GFP_ATOMIC"),
            (__GFP_ZERO, "__GFP_ZERO"),
            (__GFP_NOWARN, "__GFP_NOWARN"),
            (__GFP_NOGROW, "__GFP_NOGROW"),
        ];
        let mut first = true;
        for (flag, name) in names {
            if self.contains(flag) {
                f.write_str(if first { "" } else { " | " })?;
                f.write_str(name)?;
                first = false;
            }
        }
        if first {
            f.write_str("GFP_KERNEL")?;
        }
        Ok(())
    }
}

/// May grow the heap and call the OOM handler (the usual flags).
pub const GFP_KERNEL: Flags = Flags(ffi::KH_GFP_KERNEL);
/// Must not sleep (interrupt handlers, spin locks held): no memory source,
/// no OOM handler unless it is registered as atomic-safe.
pub const GFP_ATOMIC: Flags = Flags(ffi::KH_GFP_ATOMIC);
/// The kernel's other name for [`GFP_ATOMIC`].
pub const GFP_NOWAIT: Flags = Flags(ffi::KH_GFP_ATOMIC);
/// Zero the new memory (for `KVec`: the whole new capacity).
pub const __GFP_ZERO: Flags = Flags(ffi::KH_GFP_ZERO);
/// Failure is expected: do not report it through the error hook.
pub const __GFP_NOWARN: Flags = Flags(ffi::KH_GFP_NOWARN);
/// Do not ask a memory source for more (kheap's own flag).
pub const __GFP_NOGROW: Flags = Flags(ffi::KH_GFP_NOGROW);

/// kmalloc's counters (`struct kh_kmalloc_stats`).
pub type KmallocStats = ffi::KhKmallocStats;

unsafe extern "C" fn ops_alloc(
    ctx: *mut c_void,
    size: usize,
    align: usize,
    flags: c_uint,
) -> *mut c_void {
    // SAFETY: ctx is the &'static LockedHeap given to init.
    let heap = unsafe { &*(ctx as *const LockedHeap) };
    let g = heap.lock();
    match g.raw() {
        // SAFETY: the heap is initialised and we hold its lock.
        Some(h) => unsafe { ffi::kheap_alloc_flags(h, size, align, flags) },
        None => core::ptr::null_mut(),
    }
}

unsafe extern "C" fn ops_resize(
    ctx: *mut c_void,
    ptr: *mut c_void,
    _old: usize,
    new: usize,
    _align: usize,
) -> bool {
    // SAFETY: as ops_alloc.
    let heap = unsafe { &*(ctx as *const LockedHeap) };
    let g = heap.lock();
    match g.raw() {
        // SAFETY: as ops_alloc; ptr came from this heap.
        Some(h) => unsafe { ffi::kheap_resize(h, ptr, new) },
        None => false,
    }
}

unsafe extern "C" fn ops_free(ctx: *mut c_void, ptr: *mut c_void, _size: usize, _align: usize) {
    // SAFETY: as ops_alloc.
    let heap = unsafe { &*(ctx as *const LockedHeap) };
    let g = heap.lock();
    if let Some(h) = g.raw() {
        // SAFETY: as ops_resize.
        unsafe { ffi::kheap_free(h, ptr) }
    }
}

static HEAP_OPS: ffi::KhAllocatorOps = ffi::KhAllocatorOps {
    alloc: Some(ops_alloc),
    resize: Some(ops_resize),
    free: Some(ops_free),
    // The core heap cannot vet a pointer without reading it: kmalloc then
    // checks its own span and header (kheap/kmalloc.h, Misuse).
    owns: None,
};

/// Make `heap` kmalloc's global allocator (`kh_kmalloc_init`). Every kmalloc
/// then takes `heap`'s lock (interrupts off, see [`LockedHeap`]), so kmalloc
/// works from interrupt handlers and with `GFP_ATOMIC`. The heap may be
/// initialised before or after this call; until it is, kmalloc fails.
///
/// Returns `Err(Error::Busy)` when a global allocator is set already (the
/// first one stays; reported through the error hook).
pub fn init(heap: &'static LockedHeap) -> Result<(), Error> {
    let a = ffi::KhAllocator {
        ctx: heap as *const LockedHeap as *mut c_void,
        ops: &HEAP_OPS,
    };
    // SAFETY: ctx and ops outlive the program ('static).
    Error::check(unsafe { ffi::kh_kmalloc_init(a) })
}

/// Whether kmalloc has a global allocator.
pub fn is_ready() -> bool {
    // SAFETY: reads a flag.
    unsafe { ffi::kh_kmalloc_ready() }
}

/// Detach the global allocator (`kh_kmalloc_shutdown`): every kmalloc fails
/// again until the next [`init`]. Blocks still allocated stay in their heap.
/// `Err(Error::NoEnt)` when none was set.
///
/// # Safety
/// A boot/shutdown-time call, not locked: nothing may be in a kmalloc call,
/// and nothing allocated may be freed through kmalloc until the next `init`
/// installs the same heap.
pub unsafe fn shutdown() -> Result<(), Error> {
    Error::check(ffi::kh_kmalloc_shutdown())
}

/// kmalloc's counters (live blocks and bytes, failures, OOM handler calls).
pub fn stats() -> KmallocStats {
    let mut s = KmallocStats::default();
    // SAFETY: s is a valid out pointer.
    unsafe { ffi::kh_kmalloc_stats(&mut s) };
    s
}

/// `kmalloc_aligned(size, align, flags)`: `align` 0 or a power of two.
/// `Err` when out of memory, or for a bad alignment or size.
pub fn kmalloc(size: usize, align: usize, flags: Flags) -> Result<NonNull<u8>, AllocError> {
    // SAFETY: plain allocation.
    NonNull::new(unsafe { ffi::kmalloc_aligned(size, align, flags.0) }.cast()).ok_or(AllocError)
}

/// `krealloc`: resize in place when possible, else move; keeps the block's
/// alignment. On `Err` the old block is untouched and still the caller's.
///
/// # Safety
/// `ptr` is null or a live block from kmalloc.
pub unsafe fn krealloc(ptr: *mut u8, size: usize, flags: Flags) -> Result<NonNull<u8>, AllocError> {
    NonNull::new(ffi::krealloc(ptr.cast(), size, flags.0).cast()).ok_or(AllocError)
}

/// `kfree`. Null does nothing.
///
/// # Safety
/// `ptr` is null or a live block from kmalloc, not used afterwards.
pub unsafe fn kfree(ptr: *mut u8) {
    ffi::kfree(ptr.cast())
}

/// `ksize`: the bytes usable at `ptr` (the size asked for); 0 for null.
///
/// # Safety
/// `ptr` is null or a live block from kmalloc.
pub unsafe fn ksize(ptr: *const u8) -> usize {
    ffi::ksize(ptr.cast())
}
