// SPDX-License-Identifier: MIT
//! [`Heap`] and [`LockedHeap`]: kheap's O(1) core heap (include/kheap/heap.h)
//! with the API of `linked_list_allocator` 0.10, so a kernel or firmware that
//! uses that crate switches by changing one `use` line.
//!
//! # The lock
//!
//! [`LockedHeap::lock`] takes kheap's ticket spin lock with interrupts
//! disabled on this CPU (`kh_spin_lock_irqsave`), and the guard restores
//! them when dropped. Every `GlobalAlloc`/`Allocator` call holds it for one
//! O(1) heap operation (plus the copy when a realloc moves).
//!
//! On single-core firmware this means an interrupt handler may allocate and
//! free: while thread code holds the heap lock, interrupts are masked, so a
//! handler never runs in the middle of a heap operation and never spins on a
//! lock its own CPU holds. The price is interrupt latency: interrupts wait at
//! most one heap operation (a few hundred cycles; longer while you hold a
//! guard from `lock()` yourself, or for a realloc that copies). A spin lock
//! that leaves interrupts on (`linked_list_allocator`'s `spinning_top`)
//! deadlocks instead when a handler allocates while the interrupted code
//! holds it. On several cores the others spin (FIFO) while one holds it.
//! Hosted, the port has no interrupts and the lock is a plain ticket lock.

use core::alloc::{GlobalAlloc, Layout};
use core::ffi::c_void;
use core::mem::MaybeUninit;
use core::ptr::{self, NonNull};

use crate::error::{AllocError, Error};
use crate::ffi;
use crate::sync::spinlock::{SpinLock, SpinLockIrqGuard};

/// Heap statistics (`struct kheap_stats`).
pub type HeapStats = ffi::KheapStats;

/// What [`Heap::check`] found wrong (`KH_EHEAP_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckError {
    /// A block size or position is invalid.
    Block,
    /// A prev-free flag or boundary tag is wrong.
    Flags,
    /// Two adjacent free blocks.
    Adjacent,
    /// Free list links or class wrong.
    List,
    /// Bitmap disagrees with the lists.
    Bitmap,
    /// Counters disagree with the blocks.
    Stats,
    /// Any other code.
    Other(i32),
}

/// A heap over memory you hand it, with no lock: `linked_list_allocator`'s
/// `Heap` API over kheap's two-level segregated-fit heap (O(1) alloc and
/// free, any power-of-two alignment, immediate coalescing).
///
/// The control block lives at the start of the memory; the `Heap` value
/// itself is four words and may be moved.
pub struct Heap {
    h: *mut ffi::Kheap,
    bottom: *mut u8,
    /// Bytes of [bottom, top) handed to the heap.
    span: usize,
    /// Bytes handed through add_region, outside [bottom, top).
    extra: usize,
    /// Bytes given to extend that are not yet enough for a region.
    pending: usize,
}

// SAFETY: the heap is plain memory; whoever has &mut Heap has it alone.
unsafe impl Send for Heap {}

impl Heap {
    /// A heap with no memory: every allocation fails until `init`.
    pub const fn empty() -> Heap {
        Heap {
            h: ptr::null_mut(),
            bottom: ptr::null_mut(),
            span: 0,
            extra: 0,
            pending: 0,
        }
    }

    /// Give the heap `[heap_bottom, heap_bottom + heap_size)`. Any address
    /// and size: the start is aligned internally and the control block (about
    /// 1 KiB for 64 KiB on a 32-bit CPU) comes out of the region.
    ///
    /// Unlike `linked_list_allocator`, nothing panics: a region too small for
    /// the control block and one block, a null bottom, or a second `init`
    /// leave the heap as it was, and the failure is reported through the error
    /// hook (`KH_EINVAL`/`KH_EBUSY`). [`Heap::try_init`] returns it instead.
    ///
    /// # Safety
    /// The memory must be valid for reads and writes, used for nothing else,
    /// and live as long as the heap is used (`'static` for a global allocator).
    pub unsafe fn init(&mut self, heap_bottom: *mut u8, heap_size: usize) {
        if let Err(e) = self.try_init(heap_bottom, heap_size) {
            ffi::kh_report(
                e.code(),
                c"kheap-rs: Heap::init refused".as_ptr(),
                heap_bottom as *const c_void,
            );
        }
    }

    /// `init`, with the failure as a value: `Err(Error::Busy)` when the heap
    /// has memory already, `Err(Error::Inval)` for a null or too-small region.
    ///
    /// # Safety
    /// As [`Heap::init`].
    pub unsafe fn try_init(&mut self, heap_bottom: *mut u8, heap_size: usize) -> Result<(), Error> {
        self.try_init_with_max_block(heap_bottom, heap_size, heap_size)
    }

    /// `init` with the size index built for blocks up to `max_block` bytes
    /// (at least `heap_size`). A heap that will grow through `extend` or
    /// `add_region` needs this for single blocks larger than the first
    /// region; each doubling of `max_block` costs 16 words of control block.
    ///
    /// # Safety
    /// As [`Heap::init`].
    pub unsafe fn try_init_with_max_block(
        &mut self,
        heap_bottom: *mut u8,
        heap_size: usize,
        max_block: usize,
    ) -> Result<(), Error> {
        if !self.h.is_null() {
            return Err(Error::Busy);
        }
        let h = ffi::kheap_init_ex(heap_bottom.cast(), heap_size, max_block);
        if h.is_null() {
            return Err(Error::Inval);
        }
        *self = Heap {
            h,
            bottom: heap_bottom,
            span: heap_size,
            extra: 0,
            pending: 0,
        };
        Ok(())
    }

    /// `init` over a `'static` slice.
    pub fn init_from_slice(&mut self, mem: &'static mut [MaybeUninit<u8>]) {
        // SAFETY: the slice is ours for 'static.
        unsafe { self.init(mem.as_mut_ptr().cast(), mem.len()) }
    }

    /// A heap over `[heap_bottom, heap_bottom + heap_size)` (see `init`).
    ///
    /// # Safety
    /// As [`Heap::init`].
    pub unsafe fn new(heap_bottom: *mut u8, heap_size: usize) -> Heap {
        let mut h = Heap::empty();
        h.init(heap_bottom, heap_size);
        h
    }

    /// A heap over a `'static` slice.
    pub fn from_slice(mem: &'static mut [MaybeUninit<u8>]) -> Heap {
        let mut h = Heap::empty();
        h.init_from_slice(mem);
        h
    }

    /// Whether the heap has memory.
    pub fn is_initialized(&self) -> bool {
        !self.h.is_null()
    }

    /// The C heap, when initialised (for the C API: `kheap_*`).
    pub fn raw(&self) -> Option<*mut ffi::Kheap> {
        if self.h.is_null() {
            None
        } else {
            Some(self.h)
        }
    }

    /// Allocate `layout.size()` bytes aligned to `layout.align()`. The name is
    /// `linked_list_allocator`'s; the fit is kheap's (O(1), good fit). `Err`
    /// when out of memory or not initialised.
    #[allow(clippy::result_unit_err)]
    pub fn allocate_first_fit(&mut self, layout: Layout) -> Result<NonNull<u8>, ()> {
        self.allocate(layout).map_err(|_| ())
    }

    /// As `allocate_first_fit`, with [`AllocError`].
    pub fn allocate(&mut self, layout: Layout) -> Result<NonNull<u8>, AllocError> {
        if self.h.is_null() {
            return Err(AllocError);
        }
        // SAFETY: h is a live heap and we have it exclusively.
        let p = unsafe { ffi::kheap_alloc(self.h, layout.size(), layout.align()) };
        NonNull::new(p.cast()).ok_or(AllocError)
    }

    /// As `allocate`, with the bytes zeroed.
    pub fn allocate_zeroed(&mut self, layout: Layout) -> Result<NonNull<u8>, AllocError> {
        if self.h.is_null() {
            return Err(AllocError);
        }
        // SAFETY: as allocate.
        let p = unsafe { ffi::kheap_zalloc(self.h, layout.size(), layout.align()) };
        NonNull::new(p.cast()).ok_or(AllocError)
    }

    /// Free a block. Checked builds refuse (and report) a pointer this heap
    /// did not hand out, or one freed already.
    ///
    /// # Safety
    /// `ptr` came from this heap and is not used afterwards.
    pub unsafe fn deallocate(&mut self, ptr: NonNull<u8>, _layout: Layout) {
        if !self.h.is_null() {
            ffi::kheap_free(self.h, ptr.as_ptr().cast());
        }
    }

    /// Resize to `new_size` bytes keeping `layout.align()`: in place when the
    /// neighbours allow, else moved (the data copied). On `Err` the block is
    /// untouched and still the caller's.
    ///
    /// # Safety
    /// `ptr` came from this heap.
    pub unsafe fn reallocate(
        &mut self,
        ptr: NonNull<u8>,
        layout: Layout,
        new_size: usize,
    ) -> Result<NonNull<u8>, AllocError> {
        if self.h.is_null() {
            return Err(AllocError);
        }
        let p = ffi::kheap_realloc(self.h, ptr.as_ptr().cast(), new_size, layout.align());
        NonNull::new(p.cast()).ok_or(AllocError)
    }

    /// Bytes usable at `ptr` (at least the size asked for).
    ///
    /// # Safety
    /// `ptr` came from this heap.
    pub unsafe fn usable_size(&self, ptr: NonNull<u8>) -> usize {
        if self.h.is_null() {
            0
        } else {
            ffi::kheap_usable_size(self.h, ptr.as_ptr().cast())
        }
    }

    /// The start of the memory given to `init` (null when empty).
    pub fn bottom(&self) -> *mut u8 {
        self.bottom
    }

    /// Bytes handed to the heap: `init` plus every `extend` and `add_region`
    /// that took effect (`used() + free() + overhead()`).
    pub fn size(&self) -> usize {
        self.span + self.extra
    }

    /// The end of `[bottom, top)`, the memory from `init` and `extend`.
    pub fn top(&self) -> *mut u8 {
        self.bottom.wrapping_add(self.span)
    }

    /// Bytes in allocated blocks, their headers included.
    pub fn used(&self) -> usize {
        self.stats().used_bytes
    }

    /// Bytes in free blocks: what allocations can still get, less a header
    /// per block.
    pub fn free(&self) -> usize {
        self.stats().free_bytes
    }

    /// Bytes of control block, region headers and alignment slack.
    pub fn overhead(&self) -> usize {
        self.stats().overhead_bytes
    }

    /// The heap's statistics (all zero when empty). O(1).
    pub fn stats(&self) -> HeapStats {
        let mut s = HeapStats::default();
        if !self.h.is_null() {
            // SAFETY: live heap, valid out pointer.
            unsafe { ffi::kheap_stats(self.h, &mut s) };
        }
        s
    }

    /// Verify every invariant of the heap (`kheap_check`). O(blocks): for
    /// tests and debugging.
    pub fn check(&self) -> Result<(), CheckError> {
        if self.h.is_null() {
            return Ok(());
        }
        // SAFETY: live heap.
        match unsafe { ffi::kheap_check(self.h) } {
            0 => Ok(()),
            ffi::KH_EHEAP_BLOCK => Err(CheckError::Block),
            ffi::KH_EHEAP_FLAGS => Err(CheckError::Flags),
            ffi::KH_EHEAP_ADJ => Err(CheckError::Adjacent),
            ffi::KH_EHEAP_LIST => Err(CheckError::List),
            ffi::KH_EHEAP_BITMAP => Err(CheckError::Bitmap),
            ffi::KH_EHEAP_STATS => Err(CheckError::Stats),
            c => Err(CheckError::Other(c)),
        }
    }

    /// Grow the heap by `by` bytes at `top()`. As in `linked_list_allocator`,
    /// bytes too few to form a region (kheap needs 4 minimum blocks: 64 B on
    /// 32-bit, 128 B on 64-bit) are kept and used by the next `extend`.
    /// Nothing happens on an empty heap (reported, `KH_EINVAL`).
    ///
    /// # Safety
    /// `[top(), top() + by)` is valid memory used for nothing else, for as
    /// long as the heap is used.
    pub unsafe fn extend(&mut self, by: usize) {
        if self.h.is_null() {
            ffi::kh_report(
                ffi::KH_EINVAL,
                c"kheap-rs: Heap::extend on an empty heap".as_ptr(),
                ptr::null(),
            );
            return;
        }
        let Some(total) = self.pending.checked_add(by) else {
            ffi::kh_report(
                ffi::KH_EOVERFLOW,
                c"kheap-rs: Heap::extend overflows".as_ptr(),
                ptr::null(),
            );
            return;
        };
        if ffi::kheap_add_region(self.h, self.top().cast(), total) {
            self.span += total;
            self.pending = 0;
        } else {
            self.pending = total;
        }
    }

    /// Bytes given to `extend` and not yet part of the heap.
    pub fn pending_extend(&self) -> usize {
        self.pending
    }

    /// Add memory anywhere (`kheap_add_region`): it coalesces with a region
    /// it touches. `Err(Error::Inval)` when the heap is empty, or the range is
    /// null, too small, wraps, or overlaps the heap's memory.
    ///
    /// # Safety
    /// As [`Heap::extend`], for `[mem, mem + bytes)`.
    pub unsafe fn add_region(&mut self, mem: *mut u8, bytes: usize) -> Result<(), Error> {
        if self.h.is_null() || !ffi::kheap_add_region(self.h, mem.cast(), bytes) {
            return Err(Error::Inval);
        }
        if mem == self.top() && self.pending == 0 {
            self.span += bytes;
        } else {
            self.extra += bytes;
        }
        Ok(())
    }
}

impl core::fmt::Debug for Heap {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Heap")
            .field("bottom", &self.bottom)
            .field("size", &self.size())
            .field("stats", &self.stats())
            .finish()
    }
}

/// A [`Heap`] behind kheap's spin lock, with interrupts off while it is held
/// (see the module documentation): the `#[global_allocator]`.
///
/// ```no_run
/// use kheap::LockedHeap;
///
/// #[global_allocator]
/// static ALLOCATOR: LockedHeap = LockedHeap::empty();
///
/// static mut HEAP: [u8; 64 * 1024] = [0; 64 * 1024];
///
/// fn main() {
///     // Before the first allocation (a kernel: after mapping the pages).
///     unsafe { ALLOCATOR.lock().init(core::ptr::addr_of_mut!(HEAP).cast(), 64 * 1024) };
/// }
/// ```
pub struct LockedHeap(SpinLock<Heap>);

/// The guard [`LockedHeap::lock`] returns: the heap, locked, interrupts off.
pub type HeapGuard<'a> = SpinLockIrqGuard<'a, Heap>;

impl LockedHeap {
    /// A locked heap with no memory (const: the `#[global_allocator]` static).
    pub const fn empty() -> LockedHeap {
        LockedHeap(SpinLock::new(Heap::empty()))
    }

    /// A locked heap over `[heap_bottom, heap_bottom + heap_size)`.
    ///
    /// # Safety
    /// As [`Heap::init`].
    pub unsafe fn new(heap_bottom: *mut u8, heap_size: usize) -> LockedHeap {
        LockedHeap(SpinLock::new(Heap::new(heap_bottom, heap_size)))
    }

    /// Lock the heap: interrupts off on this CPU, then the spin lock; both
    /// restored when the guard drops. Not recursive: do not allocate while
    /// you hold the guard (the allocation would wait for the guard forever).
    pub fn lock(&self) -> HeapGuard<'_> {
        self.0.lock_irqsave()
    }

    /// Lock only if the lock is free now; never waits.
    pub fn try_lock(&self) -> Option<HeapGuard<'_>> {
        self.0.try_lock_irqsave()
    }

    /// The spin lock, for C code that shares the heap (`kh_spinlock_t *`).
    pub fn raw_lock(&self) -> *mut ffi::KhSpinlock {
        self.0.raw()
    }
}

impl Default for LockedHeap {
    fn default() -> Self {
        LockedHeap::empty()
    }
}

// SAFETY: every method returns null (and changes nothing) or a block of at
// least layout.size() bytes aligned to layout.align(), from memory the heap
// owns; kheap_realloc keeps the contents up to the smaller size.
unsafe impl GlobalAlloc for LockedHeap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        match self.lock().allocate(layout) {
            Ok(p) => p.as_ptr(),
            Err(_) => ptr::null_mut(),
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        match self.lock().allocate_zeroed(layout) {
            Ok(p) => p.as_ptr(),
            Err(_) => ptr::null_mut(),
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if let Some(p) = NonNull::new(ptr) {
            self.lock().deallocate(p, layout);
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let Some(p) = NonNull::new(ptr) else {
            return ptr::null_mut();
        };
        match self.lock().reallocate(p, layout, new_size) {
            Ok(p) => p.as_ptr(),
            Err(_) => ptr::null_mut(),
        }
    }
}

#[cfg(feature = "allocator_api")]
mod allocator_api {
    use super::*;
    use core::alloc::{AllocError as CoreAllocError, Allocator};

    impl LockedHeap {
        /// `grow` and `shrink`: kheap_realloc to `new`'s size, keeping its
        /// alignment (the block may move; on `Err` it is untouched).
        unsafe fn resize_to(
            &self,
            ptr: NonNull<u8>,
            new: Layout,
        ) -> Result<NonNull<[u8]>, CoreAllocError> {
            let p = self
                .lock()
                .reallocate(ptr, new, new.size())
                .map_err(|_| CoreAllocError)?;
            Ok(NonNull::slice_from_raw_parts(p, new.size()))
        }
    }

    // SAFETY: blocks stay valid until deallocated; grow/shrink keep the
    // contents and the new layout's alignment (kheap_realloc moves a block
    // that does not have it), and on failure leave the old block untouched.
    unsafe impl Allocator for LockedHeap {
        fn allocate(&self, layout: Layout) -> Result<NonNull<[u8]>, CoreAllocError> {
            let p = self.lock().allocate(layout).map_err(|_| CoreAllocError)?;
            Ok(NonNull::slice_from_raw_parts(p, layout.size()))
        }

        fn allocate_zeroed(&self, layout: Layout) -> Result<NonNull<[u8]>, CoreAllocError> {
            let p = self
                .lock()
                .allocate_zeroed(layout)
                .map_err(|_| CoreAllocError)?;
            Ok(NonNull::slice_from_raw_parts(p, layout.size()))
        }

        unsafe fn deallocate(&self, ptr: NonNull<u8>, layout: Layout) {
            self.lock().deallocate(ptr, layout)
        }

        unsafe fn grow(
            &self,
            ptr: NonNull<u8>,
            _old: Layout,
            new: Layout,
        ) -> Result<NonNull<[u8]>, CoreAllocError> {
            self.resize_to(ptr, new)
        }

        unsafe fn grow_zeroed(
            &self,
            ptr: NonNull<u8>,
            old: Layout,
            new: Layout,
        ) -> Result<NonNull<[u8]>, CoreAllocError> {
            let p = self.grow(ptr, old, new)?;
            let base = p.as_ptr() as *mut u8;
            ptr::write_bytes(base.add(old.size()), 0, new.size() - old.size());
            Ok(p)
        }

        unsafe fn shrink(
            &self,
            ptr: NonNull<u8>,
            _old: Layout,
            new: Layout,
        ) -> Result<NonNull<[u8]>, CoreAllocError> {
            self.resize_to(ptr, new)
        }
    }
}
