// SPDX-License-Identifier: MIT
//! `KVec<T>`: a fallible vector on kmalloc, in the style of Rust for Linux:
//! every operation that may allocate takes [`Flags`] and returns
//! `Result<_, AllocError>`; on `Err` the vector holds exactly what it held.
//! Nothing panics or aborts, on exhaustion or on a size that overflows.

use core::fmt;
use core::marker::PhantomData;
use core::mem::{self, ManuallyDrop, MaybeUninit};
use core::ops::{Deref, DerefMut};
use core::ptr::{self, NonNull};
use core::slice;

use crate::error::AllocError;
use crate::kmalloc::{self, Flags};

/// A growable array in kmalloc'd memory.
pub struct KVec<T> {
    ptr: NonNull<T>,
    cap: usize,
    len: usize,
    _owns: PhantomData<T>,
}

// SAFETY: KVec owns its elements like Vec does.
unsafe impl<T: Send> Send for KVec<T> {}
unsafe impl<T: Sync> Sync for KVec<T> {}

impl<T> KVec<T> {
    const IS_ZST: bool = mem::size_of::<T>() == 0;
    /// First capacity for small elements (as Vec: fewer tiny reallocations).
    const MIN_CAP: usize = if mem::size_of::<T>() == 1 {
        8
    } else if mem::size_of::<T>() <= 1024 {
        4
    } else {
        1
    };

    /// An empty vector; allocates nothing (const).
    pub const fn new() -> KVec<T> {
        KVec {
            ptr: NonNull::dangling(),
            cap: if Self::IS_ZST { usize::MAX } else { 0 },
            len: 0,
            _owns: PhantomData,
        }
    }

    /// An empty vector with room for `cap` elements.
    pub fn with_capacity(cap: usize, flags: Flags) -> Result<KVec<T>, AllocError> {
        let mut v = KVec::new();
        v.reserve_exact(cap, flags)?;
        Ok(v)
    }

    /// `n` clones of `value`.
    pub fn from_elem(value: T, n: usize, flags: Flags) -> Result<KVec<T>, AllocError>
    where
        T: Clone,
    {
        let mut v = KVec::with_capacity(n, flags)?;
        v.extend_with(n, value, flags)?;
        Ok(v)
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are no elements.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Elements the vector can hold without allocating.
    pub fn capacity(&self) -> usize {
        self.cap
    }

    /// The elements.
    pub fn as_slice(&self) -> &[T] {
        // SAFETY: ptr holds len initialised elements (dangling, aligned when 0).
        unsafe { slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }

    /// The elements, mutably.
    pub fn as_mut_slice(&mut self) -> &mut [T] {
        // SAFETY: as as_slice, exclusively.
        unsafe { slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }

    /// Pointer to the first element (dangling when nothing is allocated).
    pub fn as_ptr(&self) -> *const T {
        self.ptr.as_ptr()
    }

    /// Mutable pointer to the first element.
    pub fn as_mut_ptr(&mut self) -> *mut T {
        self.ptr.as_ptr()
    }

    /// The unused capacity, to be written before `set_len`.
    pub fn spare_capacity_mut(&mut self) -> &mut [MaybeUninit<T>] {
        // SAFETY: [len, cap) is allocated (or zero-sized) and uninitialised.
        unsafe {
            slice::from_raw_parts_mut(self.ptr.as_ptr().add(self.len).cast(), self.cap - self.len)
        }
    }

    /// Set the length.
    ///
    /// # Safety
    /// `new_len <= capacity()` and the elements up to it are initialised.
    pub unsafe fn set_len(&mut self, new_len: usize) {
        self.len = new_len;
    }

    /// Resize the block to hold exactly `new_cap` elements (>= len).
    fn realloc_to(&mut self, new_cap: usize, flags: Flags) -> Result<(), AllocError> {
        debug_assert!(!Self::IS_ZST && new_cap >= self.len);
        let bytes = new_cap
            .checked_mul(mem::size_of::<T>())
            .filter(|&b| b <= isize::MAX as usize)
            .ok_or(AllocError)?;
        let p = if self.cap == 0 {
            kmalloc::kmalloc(bytes, mem::align_of::<T>(), flags)?
        } else {
            // SAFETY: ptr is our kmalloc'd block; on Err it is untouched.
            unsafe { kmalloc::krealloc(self.ptr.as_ptr().cast(), bytes, flags)? }
        };
        self.ptr = p.cast();
        self.cap = new_cap;
        Ok(())
    }

    /// Make room for at least `additional` more elements, growing
    /// geometrically (amortised O(1) push). When the geometric step does not
    /// fit, it tries the exact size before giving up.
    pub fn reserve(&mut self, additional: usize, flags: Flags) -> Result<(), AllocError> {
        if self.cap - self.len >= additional {
            return Ok(());
        }
        let need = self.len.checked_add(additional).ok_or(AllocError)?;
        let want = need.max(self.cap.saturating_mul(2)).max(Self::MIN_CAP);
        // The growth step may fail where the exact size fits: it must not be
        // reported as a failure then (only the last attempt speaks).
        if want > need
            && self
                .realloc_to(want, flags | crate::kmalloc::__GFP_NOWARN)
                .is_ok()
        {
            return Ok(());
        }
        self.realloc_to(need, flags)
    }

    /// Make room for exactly `additional` more elements (no growth step).
    pub fn reserve_exact(&mut self, additional: usize, flags: Flags) -> Result<(), AllocError> {
        if self.cap - self.len >= additional {
            return Ok(());
        }
        let need = self.len.checked_add(additional).ok_or(AllocError)?;
        self.realloc_to(need, flags)
    }

    /// Append `v`. On `Err` the vector is unchanged and `v` is dropped.
    pub fn push(&mut self, v: T, flags: Flags) -> Result<(), AllocError> {
        self.reserve(1, flags)?;
        // SAFETY: there is room for one more.
        unsafe {
            self.ptr.as_ptr().add(self.len).write(v);
        }
        self.len += 1;
        Ok(())
    }

    /// Append `v` if there is room; `Err(v)` (not allocating) otherwise.
    pub fn push_within_capacity(&mut self, v: T) -> Result<(), T> {
        if self.len == self.cap {
            return Err(v);
        }
        // SAFETY: there is room for one more.
        unsafe {
            self.ptr.as_ptr().add(self.len).write(v);
        }
        self.len += 1;
        Ok(())
    }

    /// Remove and return the last element.
    pub fn pop(&mut self) -> Option<T> {
        if self.len == 0 {
            return None;
        }
        self.len -= 1;
        // SAFETY: the element at len was initialised and is now outside len.
        Some(unsafe { self.ptr.as_ptr().add(self.len).read() })
    }

    /// Remove the element at `i`, shifting the rest down; `None` when `i` is
    /// out of bounds.
    pub fn remove(&mut self, i: usize) -> Option<T> {
        if i >= self.len {
            return None;
        }
        // SAFETY: i < len; the tail is moved over the hole.
        unsafe {
            let p = self.ptr.as_ptr().add(i);
            let v = p.read();
            ptr::copy(p.add(1), p, self.len - i - 1);
            self.len -= 1;
            Some(v)
        }
    }

    /// Remove the element at `i`, replacing it by the last; `None` when out
    /// of bounds.
    pub fn swap_remove(&mut self, i: usize) -> Option<T> {
        if i >= self.len {
            return None;
        }
        let last = self.len - 1;
        self.as_mut_slice().swap(i, last);
        self.pop()
    }

    /// Keep the first `len` elements, dropping the rest.
    pub fn truncate(&mut self, len: usize) {
        if len >= self.len {
            return;
        }
        let tail = self.len - len;
        self.len = len;
        // SAFETY: the tail elements are initialised and now outside len.
        unsafe {
            ptr::drop_in_place(ptr::slice_from_raw_parts_mut(
                self.ptr.as_ptr().add(len),
                tail,
            ));
        }
    }

    /// Drop every element (the capacity stays).
    pub fn clear(&mut self) {
        self.truncate(0);
    }

    /// Append `n` clones of `value`.
    pub fn extend_with(&mut self, n: usize, value: T, flags: Flags) -> Result<(), AllocError>
    where
        T: Clone,
    {
        self.reserve(n, flags)?;
        for _ in 1..n {
            // SAFETY: reserved; len follows each write, so a panicking clone
            // leaves a consistent vector.
            unsafe {
                self.ptr.as_ptr().add(self.len).write(value.clone());
            }
            self.len += 1;
        }
        if n > 0 {
            // SAFETY: reserved.
            unsafe {
                self.ptr.as_ptr().add(self.len).write(value);
            }
            self.len += 1;
        }
        Ok(())
    }

    /// Append clones of every element of `other`.
    pub fn extend_from_slice(&mut self, other: &[T], flags: Flags) -> Result<(), AllocError>
    where
        T: Clone,
    {
        self.reserve(other.len(), flags)?;
        for x in other {
            // SAFETY: reserved; len follows each write.
            unsafe {
                self.ptr.as_ptr().add(self.len).write(x.clone());
            }
            self.len += 1;
        }
        Ok(())
    }

    /// Grow (with clones of `value`) or truncate to `new_len`.
    pub fn resize(&mut self, new_len: usize, value: T, flags: Flags) -> Result<(), AllocError>
    where
        T: Clone,
    {
        if new_len <= self.len {
            self.truncate(new_len);
            Ok(())
        } else {
            self.extend_with(new_len - self.len, value, flags)
        }
    }

    /// A copy in a new block (`Clone` cannot fail, so this is not `Clone`).
    pub fn try_clone(&self, flags: Flags) -> Result<KVec<T>, AllocError>
    where
        T: Clone,
    {
        let mut v = KVec::with_capacity(self.len, flags)?;
        v.extend_from_slice(self, flags)?;
        Ok(v)
    }

    /// Give back unused capacity (krealloc to the length; frees the block
    /// when empty). On `Err` nothing changed.
    pub fn shrink_to_fit(&mut self, flags: Flags) -> Result<(), AllocError> {
        if Self::IS_ZST || self.cap == self.len {
            return Ok(());
        }
        if self.len == 0 {
            // SAFETY: our block, not used again.
            unsafe { kmalloc::kfree(self.ptr.as_ptr().cast()) };
            self.ptr = NonNull::dangling();
            self.cap = 0;
            return Ok(());
        }
        self.realloc_to(self.len, flags)
    }
}

impl<T> Default for KVec<T> {
    fn default() -> Self {
        KVec::new()
    }
}

impl<T> Drop for KVec<T> {
    fn drop(&mut self) {
        // SAFETY: we own the elements and the block.
        unsafe {
            ptr::drop_in_place(ptr::slice_from_raw_parts_mut(self.ptr.as_ptr(), self.len));
            if !Self::IS_ZST && self.cap != 0 {
                kmalloc::kfree(self.ptr.as_ptr().cast());
            }
        }
    }
}

impl<T> Deref for KVec<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        self.as_slice()
    }
}

impl<T> DerefMut for KVec<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        self.as_mut_slice()
    }
}

impl<T> AsRef<[T]> for KVec<T> {
    fn as_ref(&self) -> &[T] {
        self
    }
}

impl<T: fmt::Debug> fmt::Debug for KVec<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_slice(), f)
    }
}

impl<T: PartialEq> PartialEq for KVec<T> {
    fn eq(&self, other: &KVec<T>) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl<T: PartialEq> PartialEq<[T]> for KVec<T> {
    fn eq(&self, other: &[T]) -> bool {
        self.as_slice() == other
    }
}

impl<T: PartialEq, const N: usize> PartialEq<[T; N]> for KVec<T> {
    fn eq(&self, other: &[T; N]) -> bool {
        self.as_slice() == other
    }
}

impl<T: Eq> Eq for KVec<T> {}

impl<'a, T> IntoIterator for &'a KVec<T> {
    type Item = &'a T;
    type IntoIter = slice::Iter<'a, T>;
    fn into_iter(self) -> slice::Iter<'a, T> {
        self.as_slice().iter()
    }
}

impl<'a, T> IntoIterator for &'a mut KVec<T> {
    type Item = &'a mut T;
    type IntoIter = slice::IterMut<'a, T>;
    fn into_iter(self) -> slice::IterMut<'a, T> {
        self.as_mut_slice().iter_mut()
    }
}

/// The elements of a [`KVec`], by value; frees the block when dropped.
pub struct IntoIter<T> {
    buf: NonNull<T>,
    cap: usize,
    start: usize,
    end: usize,
    _owns: PhantomData<T>,
}

// SAFETY: owns its remaining elements like KVec.
unsafe impl<T: Send> Send for IntoIter<T> {}
unsafe impl<T: Sync> Sync for IntoIter<T> {}

impl<T> IntoIterator for KVec<T> {
    type Item = T;
    type IntoIter = IntoIter<T>;
    fn into_iter(self) -> IntoIter<T> {
        let v = ManuallyDrop::new(self);
        IntoIter {
            buf: v.ptr,
            cap: v.cap,
            start: 0,
            end: v.len,
            _owns: PhantomData,
        }
    }
}

impl<T> Iterator for IntoIter<T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        if self.start == self.end {
            return None;
        }
        // SAFETY: start < end: an initialised element not yet moved out.
        let v = unsafe { self.buf.as_ptr().add(self.start).read() };
        self.start += 1;
        Some(v)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.end - self.start;
        (n, Some(n))
    }
}

impl<T> DoubleEndedIterator for IntoIter<T> {
    fn next_back(&mut self) -> Option<T> {
        if self.start == self.end {
            return None;
        }
        self.end -= 1;
        // SAFETY: as next.
        Some(unsafe { self.buf.as_ptr().add(self.end).read() })
    }
}

impl<T> ExactSizeIterator for IntoIter<T> {}

impl<T> Drop for IntoIter<T> {
    fn drop(&mut self) {
        // SAFETY: [start, end) are still ours; the block is ours.
        unsafe {
            ptr::drop_in_place(ptr::slice_from_raw_parts_mut(
                self.buf.as_ptr().add(self.start),
                self.end - self.start,
            ));
            if mem::size_of::<T>() != 0 && self.cap != 0 {
                kmalloc::kfree(self.buf.as_ptr().cast());
            }
        }
    }
}
