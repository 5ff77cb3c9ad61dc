// SPDX-License-Identifier: MIT
//! `Arc<T>`: a shared, reference-counted `T` in kmalloc'd memory, counted by
//! a saturating [`Refcount`] (kernel `refcount_t`), in the style of Rust for
//! Linux's `kernel::sync::Arc`: creating one is fallible
//! (`Arc::new(x, GFP_KERNEL)?`), cloning never fails.
//!
//! If the count ever saturates (more than `i32::MAX` clones, or a bug that
//! drops more references than it took), the object is leaked, never freed
//! while still in use; the error hook hears of it once (`KH_ERANGE`).

use core::fmt;
use core::marker::PhantomData;
use core::mem::ManuallyDrop;
use core::ops::Deref;
use core::ptr::{self, NonNull};

use crate::error::AllocError;
use crate::kbox::{alloc_for, free_for};
use crate::kmalloc::Flags;
use crate::sync::refcount::Refcount;

#[repr(C)]
struct ArcInner<T> {
    refcount: Refcount,
    data: T,
}

/// A shared `T`; the last reference dropped frees it.
pub struct Arc<T> {
    ptr: NonNull<ArcInner<T>>,
    _owns: PhantomData<ArcInner<T>>,
}

// SAFETY: as std's Arc: the T is shared between threads (Sync) and dropped by
// whichever drops last (Send); the count is atomic.
unsafe impl<T: Send + Sync> Send for Arc<T> {}
unsafe impl<T: Send + Sync> Sync for Arc<T> {}

impl<T> Arc<T> {
    /// Move `x` into a new shared block with a count of 1. `Err(AllocError)`
    /// (and `x` dropped) when out of memory.
    pub fn new(x: T, flags: Flags) -> Result<Arc<T>, AllocError> {
        let p = alloc_for::<ArcInner<T>>(flags)?;
        // SAFETY: p is a fresh block for an ArcInner<T>.
        unsafe {
            p.as_ptr().write(ArcInner {
                refcount: Refcount::new(1),
                data: x,
            })
        };
        Ok(Arc {
            ptr: p,
            _owns: PhantomData,
        })
    }

    fn inner(&self) -> &ArcInner<T> {
        // SAFETY: the block lives while a reference (this one) exists.
        unsafe { self.ptr.as_ref() }
    }

    /// The number of references (`Refcount::SATURATED` once saturated).
    pub fn count(this: &Arc<T>) -> u32 {
        this.inner().refcount.read()
    }

    /// Whether two `Arc`s share one object.
    pub fn ptr_eq(a: &Arc<T>, b: &Arc<T>) -> bool {
        a.ptr == b.ptr
    }

    /// The value, mutably, when this is the only reference.
    pub fn get_mut(this: &mut Arc<T>) -> Option<&mut T> {
        if this.inner().refcount.read() == 1 {
            // SAFETY: the only reference, held exclusively.
            Some(unsafe { &mut (*this.ptr.as_ptr()).data })
        } else {
            None
        }
    }

    /// The value, when this is the only reference; otherwise the `Arc` back.
    pub fn try_unwrap(this: Arc<T>) -> Result<T, Arc<T>> {
        if this.inner().refcount.read() != 1 {
            return Err(this);
        }
        let this = ManuallyDrop::new(this);
        // SAFETY: the only reference: nobody can clone it meanwhile. The
        // value is read out once and the block freed without dropping it.
        unsafe {
            let v = ptr::read(&(*this.ptr.as_ptr()).data);
            free_for(this.ptr);
            Ok(v)
        }
    }

    /// The raw pointer to the value; the reference it stood for is the
    /// caller's (give it back with `from_raw`).
    pub fn into_raw(this: Arc<T>) -> *const T {
        let this = ManuallyDrop::new(this);
        // SAFETY: the block is live.
        unsafe { ptr::addr_of!((*this.ptr.as_ptr()).data) }
    }

    /// An `Arc` again from `into_raw`'s pointer.
    ///
    /// # Safety
    /// `p` came from `Arc::<T>::into_raw`, and its reference is given back once.
    pub unsafe fn from_raw(p: *const T) -> Arc<T> {
        let off = core::mem::offset_of!(ArcInner<T>, data);
        let inner = (p as *const u8).sub(off) as *mut ArcInner<T>;
        Arc {
            ptr: NonNull::new_unchecked(inner),
            _owns: PhantomData,
        }
    }
}

impl<T> Clone for Arc<T> {
    fn clone(&self) -> Arc<T> {
        // Saturates (and leaks) instead of wrapping past i32::MAX.
        self.inner().refcount.inc();
        Arc {
            ptr: self.ptr,
            _owns: PhantomData,
        }
    }
}

impl<T> Drop for Arc<T> {
    fn drop(&mut self) {
        if self.inner().refcount.dec_and_test() {
            // SAFETY: the last reference: nobody else can reach the block.
            unsafe {
                ptr::drop_in_place(ptr::addr_of_mut!((*self.ptr.as_ptr()).data));
                free_for(self.ptr);
            }
        }
    }
}

impl<T> Deref for Arc<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.inner().data
    }
}

impl<T> AsRef<T> for Arc<T> {
    fn as_ref(&self) -> &T {
        self
    }
}

impl<T: fmt::Debug> fmt::Debug for Arc<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: fmt::Display> fmt::Display for Arc<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}

impl<T> fmt::Pointer for Arc<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Pointer::fmt(&(&**self as *const T), f)
    }
}
