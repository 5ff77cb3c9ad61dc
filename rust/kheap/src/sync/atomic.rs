// SPDX-License-Identifier: MIT
//! `Atomic<T>`: the kernel's atomics with the kernel's orderings, through the
//! exported twins of kheap's inline atomic API (`kh_atomic_*` for 32-bit
//! values, `kh_atomic64_*` for 64-bit ones; include/kheap/atomic.h).
//!
//! The ordering is a type, so a combination the kernel does not have does not
//! compile: `load` takes [`Relaxed`] or [`Acquire`], `store` takes [`Relaxed`]
//! or [`Release`], `add`/`sub` (no result) take [`Relaxed`] only, and
//! `xchg`, `cmpxchg`, `fetch_add`, `fetch_sub` take any of [`Relaxed`],
//! [`Acquire`], [`Release`] and [`Full`] (fully ordered, the kernel's
//! unsuffixed form).
//!
//! ```
//! use kheap::sync::atomic::{Atomic, Acquire, Full, Release};
//! static READY: Atomic<i32> = Atomic::new(0);
//! READY.store(1, Release);
//! assert_eq!(READY.load(Acquire), 1);
//! assert_eq!(READY.cmpxchg(1, 2, Full), Ok(1));
//! ```
//!
//! Orderings the kernel does not have are compile errors:
//!
//! ```compile_fail,E0277
//! use kheap::sync::atomic::{Atomic, Release};
//! let a = Atomic::new(0i32);
//! a.load(Release); // a load cannot be a release
//! ```
//!
//! ```compile_fail,E0277
//! use kheap::sync::atomic::{Acquire, Atomic};
//! let a = Atomic::new(0i32);
//! a.store(1, Acquire); // a store cannot be an acquire
//! ```
//!
//! ```compile_fail,E0308
//! use kheap::sync::atomic::{Atomic, Full};
//! let a = Atomic::new(0i32);
//! a.add(1, Full); // add without a result is relaxed only
//! ```
//!
//! ```compile_fail,E0599
//! use kheap::sync::atomic::{Atomic, AtomicType, Full};
//! #[derive(Clone, Copy)]
//! #[repr(i32)]
//! enum State { A = 1, B = 2 }
//! unsafe impl AtomicType for State { type Repr = i32; }
//! let s = Atomic::new(State::A);
//! s.fetch_add(State::B, Full); // no arithmetic on an enum
//! ```
//!
//! Values: `i32`, `u32`, `i64`, `u64`, `isize`, `usize`, and your own
//! `#[repr(i32)]`/`#[repr(i64)]`-style types through `unsafe impl AtomicType`.
//! On 32-bit CPUs without a 64-bit compare-and-swap (Cortex-M3, rv32) the
//! 64-bit operations take kheap's lock fallback with interrupts off: correct
//! against interrupt handlers and other CPUs, but not lock-free.

use core::cell::UnsafeCell;
use core::ffi::c_int;
use core::marker::PhantomData;

use crate::ffi;

mod private {
    pub trait Sealed {}
}

/// The four orderings, as values of a plain enum (what the types map to).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrderingKind {
    /// No ordering.
    Relaxed,
    /// Later accesses stay after this one.
    Acquire,
    /// Earlier accesses stay before this one.
    Release,
    /// Fully ordered (sequentially consistent read-modify-write).
    Full,
}

/// An ordering type: [`Relaxed`], [`Acquire`], [`Release`] or [`Full`].
pub trait Ordering: private::Sealed + Copy {
    /// Which ordering.
    const KIND: OrderingKind;
}
/// Orderings a load may have.
pub trait AcquireOrRelaxed: Ordering {}
/// Orderings a store may have.
pub trait ReleaseOrRelaxed: Ordering {}

/// No ordering (`_relaxed`).
#[derive(Clone, Copy, Debug)]
pub struct Relaxed;
/// Acquire (`_acquire`).
#[derive(Clone, Copy, Debug)]
pub struct Acquire;
/// Release (`_release`).
#[derive(Clone, Copy, Debug)]
pub struct Release;
/// Fully ordered (the kernel's unsuffixed value-returning operations).
#[derive(Clone, Copy, Debug)]
pub struct Full;

impl private::Sealed for Relaxed {}
impl private::Sealed for Acquire {}
impl private::Sealed for Release {}
impl private::Sealed for Full {}
impl Ordering for Relaxed {
    const KIND: OrderingKind = OrderingKind::Relaxed;
}
impl Ordering for Acquire {
    const KIND: OrderingKind = OrderingKind::Acquire;
}
impl Ordering for Release {
    const KIND: OrderingKind = OrderingKind::Release;
}
impl Ordering for Full {
    const KIND: OrderingKind = OrderingKind::Full;
}
impl AcquireOrRelaxed for Relaxed {}
impl AcquireOrRelaxed for Acquire {}
impl ReleaseOrRelaxed for Relaxed {}
impl ReleaseOrRelaxed for Release {}

/// Alignment marker for 64-bit storage (kh_atomic64_t is 8-byte aligned).
#[repr(align(8))]
#[derive(Clone, Copy)]
pub struct Align8;

/// A representation the C library has atomics for: `i32` (`kh_atomic_t`)
/// and `i64` (`kh_atomic64_t`). Sealed.
pub trait AtomicRepr: private::Sealed + Copy + 'static {
    /// Zero-sized type that gives the storage the C type's alignment.
    type Align: Copy;
    #[doc(hidden)]
    unsafe fn load(p: *mut Self, o: OrderingKind) -> Self;
    #[doc(hidden)]
    unsafe fn store(p: *mut Self, v: Self, o: OrderingKind);
    #[doc(hidden)]
    unsafe fn xchg(p: *mut Self, v: Self, o: OrderingKind) -> Self;
    #[doc(hidden)]
    unsafe fn try_cmpxchg(p: *mut Self, old: &mut Self, new: Self, o: OrderingKind) -> bool;
    #[doc(hidden)]
    unsafe fn add(p: *mut Self, v: Self);
    #[doc(hidden)]
    unsafe fn sub(p: *mut Self, v: Self);
    #[doc(hidden)]
    unsafe fn fetch_add(p: *mut Self, v: Self, o: OrderingKind) -> Self;
    #[doc(hidden)]
    unsafe fn fetch_sub(p: *mut Self, v: Self, o: OrderingKind) -> Self;
}

macro_rules! repr_impl {
    ($t:ty, $c:ty, $align:ty, $read:ident, $read_acq:ident, $set:ident, $set_rel:ident,
     $add:ident, $sub:ident,
     [$xchg:ident, $xchg_r:ident, $xchg_a:ident, $xchg_l:ident],
     [$cx:ident, $cx_r:ident, $cx_a:ident, $cx_l:ident],
     [$fa:ident, $fa_r:ident, $fa_a:ident, $fa_l:ident],
     [$fs:ident, $fs_r:ident, $fs_a:ident, $fs_l:ident]) => {
        impl private::Sealed for $t {}
        impl AtomicRepr for $t {
            type Align = $align;
            unsafe fn load(p: *mut Self, o: OrderingKind) -> Self {
                match o {
                    OrderingKind::Acquire => ffi::$read_acq(p.cast()),
                    _ => ffi::$read(p.cast()),
                }
            }
            unsafe fn store(p: *mut Self, v: Self, o: OrderingKind) {
                match o {
                    OrderingKind::Release => ffi::$set_rel(p.cast(), v),
                    _ => ffi::$set(p.cast(), v),
                }
            }
            unsafe fn xchg(p: *mut Self, v: Self, o: OrderingKind) -> Self {
                match o {
                    OrderingKind::Full => ffi::$xchg(p.cast(), v),
                    OrderingKind::Relaxed => ffi::$xchg_r(p.cast(), v),
                    OrderingKind::Acquire => ffi::$xchg_a(p.cast(), v),
                    OrderingKind::Release => ffi::$xchg_l(p.cast(), v),
                }
            }
            unsafe fn try_cmpxchg(
                p: *mut Self,
                old: &mut Self,
                new: Self,
                o: OrderingKind,
            ) -> bool {
                let old: *mut $c = old;
                match o {
                    OrderingKind::Full => ffi::$cx(p.cast(), old, new),
                    OrderingKind::Relaxed => ffi::$cx_r(p.cast(), old, new),
                    OrderingKind::Acquire => ffi::$cx_a(p.cast(), old, new),
                    OrderingKind::Release => ffi::$cx_l(p.cast(), old, new),
                }
            }
            unsafe fn add(p: *mut Self, v: Self) {
                ffi::$add(v, p.cast())
            }
            unsafe fn sub(p: *mut Self, v: Self) {
                ffi::$sub(v, p.cast())
            }
            unsafe fn fetch_add(p: *mut Self, v: Self, o: OrderingKind) -> Self {
                match o {
                    OrderingKind::Full => ffi::$fa(v, p.cast()),
                    OrderingKind::Relaxed => ffi::$fa_r(v, p.cast()),
                    OrderingKind::Acquire => ffi::$fa_a(v, p.cast()),
                    OrderingKind::Release => ffi::$fa_l(v, p.cast()),
                }
            }
            unsafe fn fetch_sub(p: *mut Self, v: Self, o: OrderingKind) -> Self {
                match o {
                    OrderingKind::Full => ffi::$fs(v, p.cast()),
                    OrderingKind::Relaxed => ffi::$fs_r(v, p.cast()),
                    OrderingKind::Acquire => ffi::$fs_a(v, p.cast()),
                    OrderingKind::Release => ffi::$fs_l(v, p.cast()),
                }
            }
        }
    };
}

repr_impl!(
    i32,
    c_int,
    i32,
    kh_atomic_read,
    kh_atomic_read_acquire,
    kh_atomic_set,
    kh_atomic_set_release,
    kh_atomic_add,
    kh_atomic_sub,
    [
        kh_atomic_xchg,
        kh_atomic_xchg_relaxed,
        kh_atomic_xchg_acquire,
        kh_atomic_xchg_release
    ],
    [
        kh_atomic_try_cmpxchg,
        kh_atomic_try_cmpxchg_relaxed,
        kh_atomic_try_cmpxchg_acquire,
        kh_atomic_try_cmpxchg_release
    ],
    [
        kh_atomic_fetch_add,
        kh_atomic_fetch_add_relaxed,
        kh_atomic_fetch_add_acquire,
        kh_atomic_fetch_add_release
    ],
    [
        kh_atomic_fetch_sub,
        kh_atomic_fetch_sub_relaxed,
        kh_atomic_fetch_sub_acquire,
        kh_atomic_fetch_sub_release
    ]
);
repr_impl!(
    i64,
    i64,
    Align8,
    kh_atomic64_read,
    kh_atomic64_read_acquire,
    kh_atomic64_set,
    kh_atomic64_set_release,
    kh_atomic64_add,
    kh_atomic64_sub,
    [
        kh_atomic64_xchg,
        kh_atomic64_xchg_relaxed,
        kh_atomic64_xchg_acquire,
        kh_atomic64_xchg_release
    ],
    [
        kh_atomic64_try_cmpxchg,
        kh_atomic64_try_cmpxchg_relaxed,
        kh_atomic64_try_cmpxchg_acquire,
        kh_atomic64_try_cmpxchg_release
    ],
    [
        kh_atomic64_fetch_add,
        kh_atomic64_fetch_add_relaxed,
        kh_atomic64_fetch_add_acquire,
        kh_atomic64_fetch_add_release
    ],
    [
        kh_atomic64_fetch_sub,
        kh_atomic64_fetch_sub_relaxed,
        kh_atomic64_fetch_sub_acquire,
        kh_atomic64_fetch_sub_release
    ]
);

/// A type that can live in an [`Atomic`]: stored as its [`AtomicRepr`]
/// (`i32` or `i64`) and converted back bit for bit.
///
/// # Safety
/// `Self` must have the same size as `Self::Repr`, no padding or
/// uninitialised bytes, and an alignment no larger than `Self::Repr`'s; and
/// every `Repr` value that an `Atomic<Self>` can hold must be a valid `Self`.
/// Without [`AtomicAdd`] the atomic only ever holds values that were `Self`,
/// so a `#[repr(i32)]` enum or a `#[repr(transparent)]` wrapper of an `i32`
/// qualifies. The size is also checked when an `Atomic<Self>` is built.
pub unsafe trait AtomicType: Copy {
    /// The C atomic the value lives in.
    type Repr: AtomicRepr;
}

/// Types whose atomic add/sub is the two's complement addition of their
/// representation (the integers): unlocks `add`, `sub`, `fetch_add`,
/// `fetch_sub`, which wrap on overflow as the kernel's do.
///
/// # Safety
/// Adding two `Repr` values (wrapping) must give the `Repr` of the wrapped
/// sum of the two `Self` values, and every `Repr` value must be a valid `Self`.
pub unsafe trait AtomicAdd: AtomicType {}

// SAFETY: same size, every bit pattern valid, two's complement.
unsafe impl AtomicType for i32 {
    type Repr = i32;
}
unsafe impl AtomicType for u32 {
    type Repr = i32;
}
unsafe impl AtomicType for i64 {
    type Repr = i64;
}
unsafe impl AtomicType for u64 {
    type Repr = i64;
}
#[cfg(target_pointer_width = "32")]
unsafe impl AtomicType for isize {
    type Repr = i32;
}
#[cfg(target_pointer_width = "32")]
unsafe impl AtomicType for usize {
    type Repr = i32;
}
#[cfg(target_pointer_width = "64")]
unsafe impl AtomicType for isize {
    type Repr = i64;
}
#[cfg(target_pointer_width = "64")]
unsafe impl AtomicType for usize {
    type Repr = i64;
}
unsafe impl AtomicAdd for i32 {}
unsafe impl AtomicAdd for u32 {}
unsafe impl AtomicAdd for i64 {}
unsafe impl AtomicAdd for u64 {}
unsafe impl AtomicAdd for isize {}
unsafe impl AtomicAdd for usize {}

union Cast<A: Copy, B: Copy> {
    a: A,
    b: B,
}

struct SameSize<T, R>(PhantomData<(T, R)>);
impl<T, R> SameSize<T, R> {
    const OK: () = assert!(
        core::mem::size_of::<T>() == core::mem::size_of::<R>()
            && core::mem::align_of::<T>() <= core::mem::align_of::<R>(),
        "AtomicType: the type must have its Repr's size and at most its alignment"
    );
}

#[inline(always)]
const fn to_repr<T: AtomicType>(v: T) -> T::Repr {
    let () = SameSize::<T, T::Repr>::OK;
    // SAFETY: same size (checked above) and no padding (AtomicType contract).
    unsafe { Cast::<T, T::Repr> { a: v }.b }
}

#[inline(always)]
const fn from_repr<T: AtomicType>(r: T::Repr) -> T {
    let () = SameSize::<T, T::Repr>::OK;
    // SAFETY: the atomic only holds valid T values (AtomicType contract).
    unsafe { Cast::<T::Repr, T> { a: r }.b }
}

/// An atomic `T`, laid out as the C library's `kh_atomic_t` (T::Repr = i32)
/// or `kh_atomic64_t` (i64), so C code can share it through a pointer.
#[repr(C)]
pub struct Atomic<T: AtomicType> {
    _align: [<T::Repr as AtomicRepr>::Align; 0],
    v: UnsafeCell<T::Repr>,
    _t: PhantomData<T>,
}

// SAFETY: every access goes through the C library's atomic operations.
unsafe impl<T: AtomicType + Send> Sync for Atomic<T> {}
unsafe impl<T: AtomicType + Send> Send for Atomic<T> {}

impl<T: AtomicType> Atomic<T> {
    /// A new atomic holding `v` (const: usable in statics).
    pub const fn new(v: T) -> Self {
        Atomic {
            _align: [],
            v: UnsafeCell::new(to_repr(v)),
            _t: PhantomData,
        }
    }

    /// The storage, for C code that takes a `kh_atomic_t *`/`kh_atomic64_t *`.
    pub const fn as_ptr(&self) -> *mut T::Repr {
        self.v.get()
    }

    /// The value, through exclusive access (no atomic operation needed).
    pub fn get_mut(&mut self) -> &mut T {
        let () = SameSize::<T, T::Repr>::OK;
        // SAFETY: the storage holds a valid T of the same size, aligned at
        // least as T needs (AtomicType contract), and we have it exclusively.
        unsafe { &mut *self.v.get().cast::<T>() }
    }

    /// The value, consuming the atomic.
    pub fn into_inner(self) -> T {
        from_repr(self.v.into_inner())
    }

    /// Load: `read` (Relaxed) or `read_acquire` (Acquire).
    #[inline]
    pub fn load<O: AcquireOrRelaxed>(&self, _o: O) -> T {
        // SAFETY: the pointer is valid and every access is atomic.
        from_repr(unsafe { T::Repr::load(self.v.get(), O::KIND) })
    }

    /// Store: `set` (Relaxed) or `set_release` (Release).
    #[inline]
    pub fn store<O: ReleaseOrRelaxed>(&self, v: T, _o: O) {
        // SAFETY: as load.
        unsafe { T::Repr::store(self.v.get(), to_repr(v), O::KIND) }
    }

    /// Exchange: store `v`, return the old value (`xchg{,_relaxed,_acquire,_release}`).
    #[inline]
    pub fn xchg<O: Ordering>(&self, v: T, _o: O) -> T {
        // SAFETY: as load.
        from_repr(unsafe { T::Repr::xchg(self.v.get(), to_repr(v), O::KIND) })
    }

    /// Compare and exchange: when the value is `old`, store `new` and return
    /// `Ok(old)`; otherwise change nothing and return `Err(current)`. A failed
    /// compare is relaxed (acquire for Acquire), as in the kernel.
    #[inline]
    pub fn cmpxchg<O: Ordering>(&self, old: T, new: T, _o: O) -> Result<T, T> {
        let mut cur = to_repr(old);
        // SAFETY: as load.
        if unsafe { T::Repr::try_cmpxchg(self.v.get(), &mut cur, to_repr(new), O::KIND) } {
            Ok(old)
        } else {
            Err(from_repr(cur))
        }
    }
}

impl<T: AtomicAdd> Atomic<T> {
    /// Add `v` (wrapping), no result: the kernel's `atomic_add`, relaxed.
    #[inline]
    pub fn add(&self, v: T, _o: Relaxed) {
        // SAFETY: as load.
        unsafe { T::Repr::add(self.v.get(), to_repr(v)) }
    }

    /// Subtract `v` (wrapping), no result, relaxed.
    #[inline]
    pub fn sub(&self, v: T, _o: Relaxed) {
        // SAFETY: as load.
        unsafe { T::Repr::sub(self.v.get(), to_repr(v)) }
    }

    /// Add `v` (wrapping) and return the old value.
    #[inline]
    pub fn fetch_add<O: Ordering>(&self, v: T, _o: O) -> T {
        // SAFETY: as load.
        from_repr(unsafe { T::Repr::fetch_add(self.v.get(), to_repr(v), O::KIND) })
    }

    /// Subtract `v` (wrapping) and return the old value.
    #[inline]
    pub fn fetch_sub<O: Ordering>(&self, v: T, _o: O) -> T {
        // SAFETY: as load.
        from_repr(unsafe { T::Repr::fetch_sub(self.v.get(), to_repr(v), O::KIND) })
    }
}

impl<T: AtomicType + Default> Default for Atomic<T> {
    fn default() -> Self {
        Atomic::new(T::default())
    }
}

impl<T: AtomicType + core::fmt::Debug> core::fmt::Debug for Atomic<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        core::fmt::Debug::fmt(&self.load(Relaxed), f)
    }
}
