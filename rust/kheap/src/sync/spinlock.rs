// SPDX-License-Identifier: MIT
//! `SpinLock<T>`: kheap's ticket spin lock (`kh_spinlock_t`,
//! include/kheap/spinlock.h) around a value, through its exported functions.
//!
//! - [`SpinLock::lock`] spins (FIFO: waiters get it in arrival order) and
//!   returns a guard; dropping the guard unlocks.
//! - [`SpinLock::lock_irqsave`] first disables interrupts on this CPU
//!   (`kh_port_irq_save`), then spins; dropping its guard unlocks and restores
//!   the interrupt state it saved. Use it for any lock an interrupt handler
//!   also takes: on one core, a handler spinning on a lock held by the code
//!   it interrupted never gets it.
//! - Not recursive: locking a lock this context holds deadlocks.
//!
//! Hosted, the port has no interrupts (a per-thread flag stands in). The lock
//! spins rather than sleeps: with more threads than CPUs a preempted holder
//! stalls its waiters (kheap/spinlock.h, "Preemption").

use core::cell::UnsafeCell;
use core::ffi::c_ulong;
use core::fmt;
use core::marker::PhantomData;
use core::ops::{Deref, DerefMut};

use crate::ffi;

/// A value behind a kheap ticket spin lock. The lock is the C `kh_spinlock_t`
/// at offset 0 (`#[repr(C)]`), so C code can take it through `raw()`.
#[repr(C)]
pub struct SpinLock<T: ?Sized> {
    lock: UnsafeCell<ffi::KhSpinlock>,
    data: UnsafeCell<T>,
}

// SAFETY: the lock serialises every access to data.
unsafe impl<T: ?Sized + Send> Send for SpinLock<T> {}
unsafe impl<T: ?Sized + Send> Sync for SpinLock<T> {}

/// Holds a [`SpinLock`]; unlocks when dropped. Not `Send`: the context that
/// locked unlocks.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct SpinLockGuard<'a, T: ?Sized> {
    lock: &'a SpinLock<T>,
    _not_send: PhantomData<*mut ()>,
}

/// Holds a [`SpinLock`] with interrupts disabled; unlocks and restores the
/// saved interrupt state when dropped. Not `Send`.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct SpinLockIrqGuard<'a, T: ?Sized> {
    lock: &'a SpinLock<T>,
    flags: c_ulong,
    _not_send: PhantomData<*mut ()>,
}

// SAFETY: a guard only gives shared access to T to whoever shares the guard.
unsafe impl<T: ?Sized + Sync> Sync for SpinLockGuard<'_, T> {}
unsafe impl<T: ?Sized + Sync> Sync for SpinLockIrqGuard<'_, T> {}

impl<T> SpinLock<T> {
    /// An unlocked lock holding `data` (const: usable in statics).
    pub const fn new(data: T) -> Self {
        SpinLock {
            lock: UnsafeCell::new(ffi::KhSpinlock::new()),
            data: UnsafeCell::new(data),
        }
    }

    /// The value, consuming the lock.
    pub fn into_inner(self) -> T {
        self.data.into_inner()
    }
}

impl<T: ?Sized> SpinLock<T> {
    fn raw_lock(&self) -> *mut ffi::KhSpinlock {
        self.lock.get()
    }

    /// The C lock, for C code that shares it.
    pub fn raw(&self) -> *mut ffi::KhSpinlock {
        self.raw_lock()
    }

    /// Take the lock, spinning until it is this caller's turn.
    #[inline]
    pub fn lock(&self) -> SpinLockGuard<'_, T> {
        // SAFETY: the lock object is valid for self's lifetime.
        unsafe { ffi::kh_spin_lock(self.raw_lock()) };
        SpinLockGuard {
            lock: self,
            _not_send: PhantomData,
        }
    }

    /// Take the lock only if it is free and nobody is queued; never waits.
    #[inline]
    pub fn try_lock(&self) -> Option<SpinLockGuard<'_, T>> {
        // SAFETY: as lock.
        if unsafe { ffi::kh_spin_trylock(self.raw_lock()) } {
            Some(SpinLockGuard {
                lock: self,
                _not_send: PhantomData,
            })
        } else {
            None
        }
    }

    /// Disable interrupts on this CPU, then take the lock.
    #[inline]
    pub fn lock_irqsave(&self) -> SpinLockIrqGuard<'_, T> {
        // SAFETY: as lock.
        let flags = unsafe { ffi::kh_spin_lock_irqsave(self.raw_lock()) };
        SpinLockIrqGuard {
            lock: self,
            flags,
            _not_send: PhantomData,
        }
    }

    /// As `try_lock`, with interrupts disabled while it is held; when the lock
    /// is not free, interrupts are left as they were.
    #[inline]
    pub fn try_lock_irqsave(&self) -> Option<SpinLockIrqGuard<'_, T>> {
        let mut flags: c_ulong = 0;
        // SAFETY: as lock; flags is a valid out pointer.
        if unsafe { ffi::kh_spin_trylock_irqsave(self.raw_lock(), &mut flags) } {
            Some(SpinLockIrqGuard {
                lock: self,
                flags,
                _not_send: PhantomData,
            })
        } else {
            None
        }
    }

    /// Whether someone holds the lock (a snapshot, stale as soon as read).
    pub fn is_locked(&self) -> bool {
        // SAFETY: as lock.
        unsafe { ffi::kh_spin_is_locked(self.raw_lock()) }
    }

    /// Whether someone waits behind the holder (a snapshot).
    pub fn is_contended(&self) -> bool {
        // SAFETY: as lock.
        unsafe { ffi::kh_spin_is_contended(self.raw_lock()) }
    }

    /// The value, through exclusive access (no locking needed).
    pub fn get_mut(&mut self) -> &mut T {
        self.data.get_mut()
    }
}

impl<T: Default> Default for SpinLock<T> {
    fn default() -> Self {
        SpinLock::new(T::default())
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for SpinLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.try_lock() {
            Some(g) => f.debug_struct("SpinLock").field("data", &&*g).finish(),
            None => f.write_str("SpinLock { <locked> }"),
        }
    }
}

impl<T: ?Sized> Deref for SpinLockGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard holds the lock.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T: ?Sized> DerefMut for SpinLockGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard holds the lock.
        unsafe { &mut *self.lock.data.get() }
    }
}

impl<T: ?Sized> Drop for SpinLockGuard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: this guard took the lock.
        unsafe { ffi::kh_spin_unlock(self.lock.raw_lock()) }
    }
}

impl<T: ?Sized> Deref for SpinLockIrqGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard holds the lock.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T: ?Sized> DerefMut for SpinLockIrqGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard holds the lock.
        unsafe { &mut *self.lock.data.get() }
    }
}

impl<T: ?Sized> Drop for SpinLockIrqGuard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: this guard took the lock and saved these flags.
        unsafe { ffi::kh_spin_unlock_irqrestore(self.lock.raw_lock(), self.flags) }
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for SpinLockGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for SpinLockIrqGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}
