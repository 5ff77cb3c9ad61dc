// SPDX-License-Identifier: MIT
//! `Refcount`: Linux `refcount_t` semantics through kheap's `kh_refcount_*`
//! (include/kheap/refcount.h): the count saturates instead of wrapping.
//!
//! Instead of wrapping into a use-after-free, the counter pins at
//! [`Refcount::SATURATED`] (and the object leaks: it is never released) when
//! an increment starts from 0, an increment passes `i32::MAX`, a decrement
//! goes below 0, or [`Refcount::dec`] reaches 0. Each case is reported once
//! through the error hook (`KH_ERANGE`, see [`crate::set_error_hook`]).
//! Ordering as Linux: increments order nothing; decrements release, and a
//! `dec_and_test` that returns true also acquires.

use core::cell::UnsafeCell;
use core::ffi::c_int;

use crate::ffi;

/// A saturating reference count, laid out as the C `kh_refcount_t`.
#[repr(transparent)]
pub struct Refcount(UnsafeCell<ffi::KhRefcount>);

// SAFETY: every access goes through the C library's atomic operations.
unsafe impl Send for Refcount {}
unsafe impl Sync for Refcount {}

impl Refcount {
    /// What [`Refcount::read`] returns once saturated (`KH_REFCOUNT_SATURATED`
    /// as unsigned: `i32::MIN / 2`).
    pub const SATURATED: u32 = ffi::KH_REFCOUNT_SATURATED as u32;

    /// A count of `n` (const: usable in statics). `n` may be
    /// `i32::MIN / 2` (saturated: an immortal object).
    pub const fn new(n: i32) -> Self {
        Refcount(UnsafeCell::new(ffi::KhRefcount {
            refs: ffi::KhAtomic::new(n),
        }))
    }

    fn raw(&self) -> *mut ffi::KhRefcount {
        self.0.get()
    }

    /// Set the count (no checks).
    pub fn set(&self, n: i32) {
        // SAFETY: valid pointer; the C function is atomic.
        unsafe { ffi::kh_refcount_set(self.raw(), n as c_int) }
    }

    /// The count; [`Refcount::SATURATED`] once saturated.
    pub fn read(&self) -> u32 {
        // SAFETY: as set.
        unsafe { ffi::kh_refcount_read(self.raw()) }
    }

    /// Whether the counter has saturated.
    pub fn is_saturated(&self) -> bool {
        // SAFETY: as set.
        unsafe { ffi::kh_refcount_is_saturated(self.raw()) }
    }

    /// Take a reference. From 0 or past `i32::MAX`: saturate and report.
    pub fn inc(&self) {
        // SAFETY: as set.
        unsafe { ffi::kh_refcount_inc(self.raw()) }
    }

    /// Take `n` references. From 0 or past `i32::MAX`: saturate and report.
    /// `n <= 0` is reported (`KH_EINVAL`) and changes nothing.
    pub fn add(&self, n: i32) {
        // SAFETY: as set.
        unsafe { ffi::kh_refcount_add(self.raw(), n) }
    }

    /// Take a reference unless the count is 0: true when taken (acquire).
    pub fn inc_not_zero(&self) -> bool {
        // SAFETY: as set.
        unsafe { ffi::kh_refcount_inc_not_zero(self.raw()) }
    }

    /// As `inc_not_zero` for `n` (> 0) references.
    pub fn add_not_zero(&self, n: i32) -> bool {
        // SAFETY: as set.
        unsafe { ffi::kh_refcount_add_not_zero(self.raw(), n) }
    }

    /// Drop a reference known not to be the last. Reaching 0 here is a leak
    /// (nobody will release): saturate and report.
    pub fn dec(&self) {
        // SAFETY: as set.
        unsafe { ffi::kh_refcount_dec(self.raw()) }
    }

    /// Drop a reference: true when it was the last (the caller releases).
    /// Below 0: saturate, report, false.
    #[must_use = "true means this was the last reference: release the object"]
    pub fn dec_and_test(&self) -> bool {
        // SAFETY: as set.
        unsafe { ffi::kh_refcount_dec_and_test(self.raw()) }
    }

    /// Drop `n` (> 0) references: true when the count reached 0.
    #[must_use = "true means the count reached 0: release the object"]
    pub fn sub_and_test(&self, n: i32) -> bool {
        // SAFETY: as set.
        unsafe { ffi::kh_refcount_sub_and_test(self.raw(), n) }
    }

    /// The C counter, for C code that shares it.
    pub fn as_ptr(&self) -> *mut ffi::KhRefcount {
        self.raw()
    }
}

impl core::fmt::Debug for Refcount {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_tuple("Refcount").field(&self.read()).finish()
    }
}
