// SPDX-License-Identifier: MIT
//! Errors as values: [`AllocError`] for allocations, [`Error`] for the C
//! library's `KH_E*` codes, and the misuse-report hook.

use core::ffi::{c_char, c_int, c_void, CStr};
use core::fmt;

use crate::ffi;

/// An allocation failed: out of memory, or a size that cannot be represented
/// (overflow). Returned by every fallible allocation; nothing panics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AllocError;

impl fmt::Display for AllocError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("memory allocation failed")
    }
}

/// The C library's error codes (`enum kh_error`, include/kheap/heap.h).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// `KH_ENOMEM`: out of memory.
    NoMem,
    /// `KH_EINVAL`: bad argument (size, alignment, flags, NULL object).
    Inval,
    /// `KH_EOVERFLOW`: a size computation would wrap.
    Overflow,
    /// `KH_EFAULT`: pointer not owned by this allocator.
    Fault,
    /// `KH_EDOUBLE`: object freed twice.
    Double,
    /// `KH_ECORRUPT`: internal invariant broken.
    Corrupt,
    /// `KH_EBUSY`: object in use, or set up already.
    Busy,
    /// `KH_ERANGE`: counter saturated.
    Range,
    /// `KH_ENOENT`: not found.
    NoEnt,
    /// Any other negative code.
    Other(i32),
}

impl Error {
    /// The error for a negative `KH_E*` code.
    pub const fn from_code(code: i32) -> Error {
        match code {
            ffi::KH_ENOMEM => Error::NoMem,
            ffi::KH_EINVAL => Error::Inval,
            ffi::KH_EOVERFLOW => Error::Overflow,
            ffi::KH_EFAULT => Error::Fault,
            ffi::KH_EDOUBLE => Error::Double,
            ffi::KH_ECORRUPT => Error::Corrupt,
            ffi::KH_EBUSY => Error::Busy,
            ffi::KH_ERANGE => Error::Range,
            ffi::KH_ENOENT => Error::NoEnt,
            c => Error::Other(c),
        }
    }

    /// `Ok(())` for 0, the error otherwise (the C library's int results).
    pub const fn check(code: i32) -> Result<(), Error> {
        if code == 0 {
            Ok(())
        } else {
            Err(Error::from_code(code))
        }
    }

    /// The `KH_E*` code.
    pub const fn code(self) -> i32 {
        match self {
            Error::NoMem => ffi::KH_ENOMEM,
            Error::Inval => ffi::KH_EINVAL,
            Error::Overflow => ffi::KH_EOVERFLOW,
            Error::Fault => ffi::KH_EFAULT,
            Error::Double => ffi::KH_EDOUBLE,
            Error::Corrupt => ffi::KH_ECORRUPT,
            Error::Busy => ffi::KH_EBUSY,
            Error::Range => ffi::KH_ERANGE,
            Error::NoEnt => ffi::KH_ENOENT,
            Error::Other(c) => c,
        }
    }

    /// The C library's name for the code (`"KH_ENOMEM"`), from `kh_strerror`.
    pub fn name(self) -> &'static str {
        strerror(self.code())
    }
}

impl From<AllocError> for Error {
    fn from(_: AllocError) -> Error {
        Error::NoMem
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// `kh_strerror`: the static name of a code, `"KH_E?"` for unknown ones.
pub fn strerror(code: i32) -> &'static str {
    // SAFETY: kh_strerror returns a pointer to a static NUL-terminated string.
    let s = unsafe { CStr::from_ptr(ffi::kh_strerror(code)) };
    s.to_str().unwrap_or("KH_E?")
}

/// A misuse-report hook: `(code, static description, offending object)`.
/// Called by checked builds for misuse that has no return value to carry it
/// (a foreign pointer freed, a double free, a refcount saturating). It may be
/// called with a heap lock held: it must not allocate from that heap.
pub type ErrorHook = unsafe extern "C" fn(code: c_int, what: *const c_char, ptr: *const c_void);

/// Install the misuse-report hook (`kh_set_error_hook`); `None` restores the
/// default, which ignores reports. Returns the previous hook.
///
/// # Safety
/// Not synchronised with reports in flight: set it at boot, before other
/// threads or interrupt handlers use the library.
pub unsafe fn set_error_hook(hook: Option<ErrorHook>) -> Option<ErrorHook> {
    ffi::kh_set_error_hook(hook)
}
