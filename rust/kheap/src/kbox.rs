// SPDX-License-Identifier: MIT
//! `KBox<T>`: a fallible box on kmalloc, in the style of Rust for Linux:
//! `KBox::new(x, GFP_KERNEL)?`. Allocation failure is an `Err`, never a
//! panic or an abort.

use core::fmt;
use core::marker::PhantomData;
use core::mem::{self, ManuallyDrop, MaybeUninit};
use core::ops::{Deref, DerefMut};
use core::pin::Pin;
use core::ptr::{self, NonNull};

use crate::error::AllocError;
use crate::kmalloc::{self, Flags};

/// kmalloc for one `T` (or nothing, for a zero-sized `T`).
pub(crate) fn alloc_for<T>(flags: Flags) -> Result<NonNull<T>, AllocError> {
    if mem::size_of::<T>() == 0 {
        return Ok(NonNull::dangling());
    }
    kmalloc::kmalloc(mem::size_of::<T>(), mem::align_of::<T>(), flags).map(NonNull::cast)
}

/// kfree of what alloc_for returned.
///
/// # Safety
/// p came from alloc_for::<T> and is not used afterwards.
pub(crate) unsafe fn free_for<T>(p: NonNull<T>) {
    if mem::size_of::<T>() != 0 {
        kmalloc::kfree(p.as_ptr().cast());
    }
}

/// An owned `T` in kmalloc'd memory.
pub struct KBox<T> {
    ptr: NonNull<T>,
    _owns: PhantomData<T>,
}

// SAFETY: KBox owns its T like Box does.
unsafe impl<T: Send> Send for KBox<T> {}
unsafe impl<T: Sync> Sync for KBox<T> {}

impl<T> KBox<T> {
    /// Move `x` into a new kmalloc'd block. `Err(AllocError)` (and `x`
    /// dropped) when out of memory.
    pub fn new(x: T, flags: Flags) -> Result<KBox<T>, AllocError> {
        let b = KBox::new_uninit(flags)?;
        Ok(KBox::write(b, x))
    }

    /// A block for a `T`, not yet written. With `__GFP_ZERO` it is zeroed.
    pub fn new_uninit(flags: Flags) -> Result<KBox<MaybeUninit<T>>, AllocError> {
        let p = alloc_for::<MaybeUninit<T>>(flags)?;
        Ok(KBox {
            ptr: p,
            _owns: PhantomData,
        })
    }

    /// `new`, pinned: the value never moves again.
    pub fn pin(x: T, flags: Flags) -> Result<Pin<KBox<T>>, AllocError> {
        Ok(KBox::into_pin(KBox::new(x, flags)?))
    }

    /// Pin a box.
    pub fn into_pin(b: KBox<T>) -> Pin<KBox<T>> {
        // SAFETY: the value is on the heap and the box is not handed out
        // unpinned again.
        unsafe { Pin::new_unchecked(b) }
    }

    /// Move the value out and free the block.
    pub fn into_inner(b: KBox<T>) -> T {
        let b = ManuallyDrop::new(b);
        // SAFETY: the block holds a valid T, read once, then freed.
        unsafe {
            let v = ptr::read(b.ptr.as_ptr());
            free_for(b.ptr);
            v
        }
    }

    /// The raw pointer; the caller owns the value and the block (give it back
    /// with `from_raw`).
    pub fn into_raw(b: KBox<T>) -> *mut T {
        ManuallyDrop::new(b).ptr.as_ptr()
    }

    /// A box again from `into_raw`'s pointer.
    ///
    /// # Safety
    /// `p` came from `KBox::<T>::into_raw` and is owned by nobody else.
    pub unsafe fn from_raw(p: *mut T) -> KBox<T> {
        KBox {
            ptr: NonNull::new_unchecked(p),
            _owns: PhantomData,
        }
    }

    /// Leak the box: the value lives (and its block stays allocated) forever.
    pub fn leak<'a>(b: KBox<T>) -> &'a mut T {
        // SAFETY: never freed, so valid for any lifetime.
        unsafe { &mut *KBox::into_raw(b) }
    }

    /// The address of the value.
    pub fn as_ptr(b: &KBox<T>) -> *const T {
        b.ptr.as_ptr()
    }
}

impl<T> KBox<MaybeUninit<T>> {
    /// Write the value and return the initialised box.
    pub fn write(b: KBox<MaybeUninit<T>>, x: T) -> KBox<T> {
        let p = ManuallyDrop::new(b).ptr;
        // SAFETY: p is a valid block for a T.
        unsafe {
            p.as_ptr().cast::<T>().write(x);
        }
        KBox {
            ptr: p.cast(),
            _owns: PhantomData,
        }
    }

    /// The box as initialised.
    ///
    /// # Safety
    /// The value must have been written (or all-zero bytes, from
    /// `__GFP_ZERO`, must be a valid `T`).
    pub unsafe fn assume_init(b: KBox<MaybeUninit<T>>) -> KBox<T> {
        let p = ManuallyDrop::new(b).ptr;
        KBox {
            ptr: p.cast(),
            _owns: PhantomData,
        }
    }
}

impl<T> Deref for KBox<T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the box owns a valid T.
        unsafe { self.ptr.as_ref() }
    }
}

impl<T> DerefMut for KBox<T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the box owns a valid T, exclusively.
        unsafe { self.ptr.as_mut() }
    }
}

impl<T> Drop for KBox<T> {
    fn drop(&mut self) {
        // SAFETY: we own the value and the block; neither is used again.
        unsafe {
            ptr::drop_in_place(self.ptr.as_ptr());
            free_for(self.ptr);
        }
    }
}

impl<T> AsRef<T> for KBox<T> {
    fn as_ref(&self) -> &T {
        self
    }
}

impl<T> AsMut<T> for KBox<T> {
    fn as_mut(&mut self) -> &mut T {
        self
    }
}

impl<T: fmt::Debug> fmt::Debug for KBox<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: fmt::Display> fmt::Display for KBox<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}

impl<T> fmt::Pointer for KBox<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Pointer::fmt(&self.ptr, f)
    }
}

impl<T: PartialEq> PartialEq for KBox<T> {
    fn eq(&self, other: &KBox<T>) -> bool {
        **self == **other
    }
}

impl<T: Eq> Eq for KBox<T> {}

// The box itself can move freely; only the value is pinned.
impl<T> Unpin for KBox<T> {}
