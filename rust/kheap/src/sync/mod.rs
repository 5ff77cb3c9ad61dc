// SPDX-License-Identifier: MIT
//! Kernel primitives through the C library's exported twins of its inline
//! API: [`Atomic`], [`SpinLock`], [`Refcount`], and [`Arc`] on top of them.

pub mod arc;
pub mod atomic;
pub mod refcount;
pub mod spinlock;

pub use arc::Arc;
pub use atomic::{Atomic, AtomicAdd, AtomicType};
pub use refcount::Refcount;
pub use spinlock::{SpinLock, SpinLockGuard, SpinLockIrqGuard};
