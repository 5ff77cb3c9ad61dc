// SPDX-License-Identifier: MIT
//! Raw declarations of the C library (include/kheap/*.h).
//!
//! Two checks keep this file honest:
//! - build.rs turns every `pub fn` below into a C function pointer of the
//!   declared type, initialised with the real function, and compiles that
//!   against the headers with -Werror: a wrong argument or return type, a
//!   missing `const`, or a name the library does not export breaks the build.
//!   So keep one declaration per `pub fn ... ;`, with the types listed in
//!   build.rs (`c_type`).
//! - `selftest::check_ffi_layout` compares the sizes, field offsets and
//!   constants below with the ones the C compiler computed (csrc/ffi_facts.c),
//!   on the machine that runs it (the hosted tests and the bare-metal suites).
#![allow(non_camel_case_types, missing_docs)]

use core::cell::UnsafeCell;
use core::ffi::{c_char, c_int, c_uint, c_ulong, c_void};
use core::marker::{PhantomData, PhantomPinned};

/// `kheap` (opaque): the core heap's control block, inside its first region.
#[repr(C)]
pub struct Kheap {
    _opaque: [u8; 0],
    _marker: PhantomData<(*mut u8, PhantomPinned)>,
}

/// `struct kheap_stats`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KheapStats {
    /// Bytes in blocks, all regions (= free + used).
    pub total_bytes: usize,
    /// Bytes in free blocks, headers included.
    pub free_bytes: usize,
    /// Bytes in allocated blocks, headers included.
    pub used_bytes: usize,
    /// Highest `used_bytes` seen.
    pub peak_used_bytes: usize,
    /// Largest request that would succeed now, approximately.
    pub largest_free_block: usize,
    /// Number of free blocks.
    pub free_blocks: usize,
    /// Live allocations.
    pub allocations: usize,
    /// Memory regions (adjacent ones count once).
    pub regions: usize,
    /// Control block, region end markers, alignment slack.
    pub overhead_bytes: usize,
    /// Largest block the index can hold.
    pub max_block: usize,
    /// Low-water mark: lowest `free_bytes` seen since init.
    pub min_free_bytes: usize,
    /// Allocations and reallocs that returned NULL.
    pub failed_allocations: usize,
    /// Largest size asked of alloc, realloc or resize.
    pub largest_request: usize,
    /// Regions the heap can hold.
    pub max_regions: usize,
    /// Hardening level now.
    pub hardening: c_uint,
    /// Bits of the per-heap tag on each header (0 at level 0).
    pub check_bits: c_uint,
}

/// `kh_allocator_ops`.
#[repr(C)]
pub struct KhAllocatorOps {
    pub alloc: Option<unsafe extern "C" fn(*mut c_void, usize, usize, c_uint) -> *mut c_void>,
    pub resize: Option<unsafe extern "C" fn(*mut c_void, *mut c_void, usize, usize, usize) -> bool>,
    pub free: Option<unsafe extern "C" fn(*mut c_void, *mut c_void, usize, usize)>,
    /// Optional: usable bytes of the live block at the pointer, 0 otherwise.
    pub owns: Option<unsafe extern "C" fn(*mut c_void, *const c_void) -> usize>,
}

/// `kh_allocator`: context pointer + operations table.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct KhAllocator {
    pub ctx: *mut c_void,
    pub ops: *const KhAllocatorOps,
}

/// `kh_atomic_t`: `struct { volatile int counter; }`.
#[repr(C)]
pub struct KhAtomic {
    pub counter: UnsafeCell<c_int>,
}

impl KhAtomic {
    pub const fn new(v: c_int) -> Self {
        KhAtomic {
            counter: UnsafeCell::new(v),
        }
    }
}

/// `kh_atomic64_t`: `struct { volatile int64_t counter __attribute__((aligned(8))); }`.
#[repr(C, align(8))]
pub struct KhAtomic64 {
    pub counter: UnsafeCell<i64>,
}

/// `kh_spinlock_t` (KH_CONFIG_SPINLOCK_DEBUG=0, the default): two tickets.
#[repr(C)]
pub struct KhSpinlock {
    pub next: KhAtomic,
    pub owner: KhAtomic,
}

impl KhSpinlock {
    /// `KH_SPINLOCK_INIT`: both tickets 0.
    pub const fn new() -> Self {
        KhSpinlock {
            next: KhAtomic::new(0),
            owner: KhAtomic::new(0),
        }
    }
}

impl Default for KhSpinlock {
    fn default() -> Self {
        KhSpinlock::new()
    }
}

/// `kh_refcount_t`.
#[repr(C)]
pub struct KhRefcount {
    pub refs: KhAtomic,
}

/// `struct kh_kmalloc_stats`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KhKmallocStats {
    /// Blocks allocated now.
    pub live_blocks: usize,
    /// Their requested bytes (kmalloc's headers excluded).
    pub live_bytes: usize,
    /// Calls that returned NULL.
    pub failures: usize,
    /// OOM handler calls.
    pub oom_calls: usize,
    /// Retries the OOM handler asked for.
    pub oom_retries: usize,
    /// Failures that waited for another context's handler run.
    pub oom_waits: usize,
}

/// `kh_error_hook_fn`.
pub type KhErrorHook = Option<unsafe extern "C" fn(c_int, *const c_char, *const c_void)>;

/// One row of csrc/ffi_facts.c: a size, offset or constant the C compiler computed.
#[repr(C)]
pub struct KhRsFact {
    pub name: *const c_char,
    pub value: usize,
}

pub const KH_GFP_KERNEL: c_uint = 0;
pub const KH_GFP_ATOMIC: c_uint = 1 << 0;
pub const KH_GFP_ZERO: c_uint = 1 << 1;
pub const KH_GFP_NOWARN: c_uint = 1 << 2;
pub const KH_GFP_NOGROW: c_uint = 1 << 3;
/// `KH_ALIGN_DEFAULT`: two pointers.
pub const KH_ALIGN_DEFAULT: usize = 2 * core::mem::size_of::<*const u8>();
pub const KH_REFCOUNT_SATURATED: c_int = -(c_int::MAX / 2) - 1;
pub const KH_REFCOUNT_MAX: c_int = c_int::MAX;

pub const KH_OK: c_int = 0;
pub const KH_ENOMEM: c_int = -1;
pub const KH_EINVAL: c_int = -2;
pub const KH_EOVERFLOW: c_int = -3;
pub const KH_EFAULT: c_int = -4;
pub const KH_EDOUBLE: c_int = -5;
pub const KH_ECORRUPT: c_int = -6;
pub const KH_EBUSY: c_int = -7;
pub const KH_ERANGE: c_int = -8;
pub const KH_ENOENT: c_int = -9;

pub const KH_EHEAP_BLOCK: c_int = -100;
pub const KH_EHEAP_FLAGS: c_int = -101;
pub const KH_EHEAP_ADJ: c_int = -102;
pub const KH_EHEAP_LIST: c_int = -103;
pub const KH_EHEAP_BITMAP: c_int = -104;
pub const KH_EHEAP_STATS: c_int = -105;

// Each `pub fn` is checked against the headers at build time (see above).
extern "C" {
    // kheap/heap.h (the error hook and kh_report included)
    pub fn kheap_init(mem: *mut c_void, bytes: usize) -> *mut Kheap;
    pub fn kheap_init_ex(mem: *mut c_void, bytes: usize, max_block: usize) -> *mut Kheap;
    pub fn kheap_add_region(h: *mut Kheap, mem: *mut c_void, bytes: usize) -> bool;
    pub fn kheap_alloc(h: *mut Kheap, size: usize, align: usize) -> *mut c_void;
    pub fn kheap_alloc_flags(
        h: *mut Kheap,
        size: usize,
        align: usize,
        flags: c_uint,
    ) -> *mut c_void;
    pub fn kheap_zalloc(h: *mut Kheap, size: usize, align: usize) -> *mut c_void;
    pub fn kheap_realloc(h: *mut Kheap, ptr: *mut c_void, size: usize, align: usize)
        -> *mut c_void;
    pub fn kheap_resize(h: *mut Kheap, ptr: *mut c_void, size: usize) -> bool;
    pub fn kheap_free(h: *mut Kheap, ptr: *mut c_void);
    pub fn kheap_usable_size(h: *const Kheap, ptr: *const c_void) -> usize;
    pub fn kheap_stats(h: *const Kheap, out: *mut KheapStats);
    pub fn kheap_check(h: *const Kheap) -> c_int;
    pub fn kheap_control_bytes(max_block: usize) -> usize;

    pub fn kh_set_error_hook(hook: KhErrorHook) -> KhErrorHook;
    pub fn kh_report(code: c_int, what: *const c_char, ptr: *const c_void);

    // kheap/error.h
    pub fn kh_strerror(code: c_int) -> *const c_char;

    // kheap/kmalloc.h
    pub fn kh_kmalloc_init(a: KhAllocator) -> c_int;
    pub fn kh_kmalloc_shutdown() -> c_int;
    pub fn kh_kmalloc_ready() -> bool;
    pub fn kmalloc(size: usize, flags: c_uint) -> *mut c_void;
    pub fn kzalloc(size: usize, flags: c_uint) -> *mut c_void;
    pub fn kmalloc_array(n: usize, size: usize, flags: c_uint) -> *mut c_void;
    pub fn kmalloc_aligned(size: usize, align: usize, flags: c_uint) -> *mut c_void;
    pub fn krealloc(ptr: *mut c_void, size: usize, flags: c_uint) -> *mut c_void;
    pub fn krealloc_array(ptr: *mut c_void, n: usize, size: usize, flags: c_uint) -> *mut c_void;
    pub fn kfree(ptr: *mut c_void);
    pub fn ksize(ptr: *const c_void) -> usize;
    pub fn kh_kmalloc_stats(out: *mut KhKmallocStats);

    // kheap/port.h (from the port: hosted, Cortex-M, RISC-V, or yours)
    pub fn kh_port_irq_save() -> c_ulong;
    pub fn kh_port_irq_restore(flags: c_ulong);
    pub fn kh_port_cpu_relax();
    pub fn kh_port_context_id() -> c_ulong;

    // kheap/atomic.h: the exported twins of the inline API, 32-bit (int)
    pub fn kh_atomic_read(v: *const KhAtomic) -> c_int;
    pub fn kh_atomic_read_acquire(v: *const KhAtomic) -> c_int;
    pub fn kh_atomic_set(v: *mut KhAtomic, i: c_int);
    pub fn kh_atomic_set_release(v: *mut KhAtomic, i: c_int);
    pub fn kh_atomic_add(i: c_int, v: *mut KhAtomic);
    pub fn kh_atomic_sub(i: c_int, v: *mut KhAtomic);
    pub fn kh_atomic_fetch_add(i: c_int, v: *mut KhAtomic) -> c_int;
    pub fn kh_atomic_fetch_add_relaxed(i: c_int, v: *mut KhAtomic) -> c_int;
    pub fn kh_atomic_fetch_add_acquire(i: c_int, v: *mut KhAtomic) -> c_int;
    pub fn kh_atomic_fetch_add_release(i: c_int, v: *mut KhAtomic) -> c_int;
    pub fn kh_atomic_fetch_sub(i: c_int, v: *mut KhAtomic) -> c_int;
    pub fn kh_atomic_fetch_sub_relaxed(i: c_int, v: *mut KhAtomic) -> c_int;
    pub fn kh_atomic_fetch_sub_acquire(i: c_int, v: *mut KhAtomic) -> c_int;
    pub fn kh_atomic_fetch_sub_release(i: c_int, v: *mut KhAtomic) -> c_int;
    pub fn kh_atomic_xchg(v: *mut KhAtomic, n: c_int) -> c_int;
    pub fn kh_atomic_xchg_relaxed(v: *mut KhAtomic, n: c_int) -> c_int;
    pub fn kh_atomic_xchg_acquire(v: *mut KhAtomic, n: c_int) -> c_int;
    pub fn kh_atomic_xchg_release(v: *mut KhAtomic, n: c_int) -> c_int;
    pub fn kh_atomic_try_cmpxchg(v: *mut KhAtomic, old: *mut c_int, n: c_int) -> bool;
    pub fn kh_atomic_try_cmpxchg_relaxed(v: *mut KhAtomic, old: *mut c_int, n: c_int) -> bool;
    pub fn kh_atomic_try_cmpxchg_acquire(v: *mut KhAtomic, old: *mut c_int, n: c_int) -> bool;
    pub fn kh_atomic_try_cmpxchg_release(v: *mut KhAtomic, old: *mut c_int, n: c_int) -> bool;

    // kheap/atomic.h, 64-bit (native, or the lock fallback on 32-bit CPUs)
    pub fn kh_atomic64_read(v: *const KhAtomic64) -> i64;
    pub fn kh_atomic64_read_acquire(v: *const KhAtomic64) -> i64;
    pub fn kh_atomic64_set(v: *mut KhAtomic64, i: i64);
    pub fn kh_atomic64_set_release(v: *mut KhAtomic64, i: i64);
    pub fn kh_atomic64_add(i: i64, v: *mut KhAtomic64);
    pub fn kh_atomic64_sub(i: i64, v: *mut KhAtomic64);
    pub fn kh_atomic64_fetch_add(i: i64, v: *mut KhAtomic64) -> i64;
    pub fn kh_atomic64_fetch_add_relaxed(i: i64, v: *mut KhAtomic64) -> i64;
    pub fn kh_atomic64_fetch_add_acquire(i: i64, v: *mut KhAtomic64) -> i64;
    pub fn kh_atomic64_fetch_add_release(i: i64, v: *mut KhAtomic64) -> i64;
    pub fn kh_atomic64_fetch_sub(i: i64, v: *mut KhAtomic64) -> i64;
    pub fn kh_atomic64_fetch_sub_relaxed(i: i64, v: *mut KhAtomic64) -> i64;
    pub fn kh_atomic64_fetch_sub_acquire(i: i64, v: *mut KhAtomic64) -> i64;
    pub fn kh_atomic64_fetch_sub_release(i: i64, v: *mut KhAtomic64) -> i64;
    pub fn kh_atomic64_xchg(v: *mut KhAtomic64, n: i64) -> i64;
    pub fn kh_atomic64_xchg_relaxed(v: *mut KhAtomic64, n: i64) -> i64;
    pub fn kh_atomic64_xchg_acquire(v: *mut KhAtomic64, n: i64) -> i64;
    pub fn kh_atomic64_xchg_release(v: *mut KhAtomic64, n: i64) -> i64;
    pub fn kh_atomic64_try_cmpxchg(v: *mut KhAtomic64, old: *mut i64, n: i64) -> bool;
    pub fn kh_atomic64_try_cmpxchg_relaxed(v: *mut KhAtomic64, old: *mut i64, n: i64) -> bool;
    pub fn kh_atomic64_try_cmpxchg_acquire(v: *mut KhAtomic64, old: *mut i64, n: i64) -> bool;
    pub fn kh_atomic64_try_cmpxchg_release(v: *mut KhAtomic64, old: *mut i64, n: i64) -> bool;

    // kheap/spinlock.h
    pub fn kh_spin_lock_init(l: *mut KhSpinlock);
    pub fn kh_spin_lock(l: *mut KhSpinlock);
    pub fn kh_spin_trylock(l: *mut KhSpinlock) -> bool;
    pub fn kh_spin_unlock(l: *mut KhSpinlock);
    pub fn kh_spin_lock_irqsave(l: *mut KhSpinlock) -> c_ulong;
    pub fn kh_spin_unlock_irqrestore(l: *mut KhSpinlock, flags: c_ulong);
    pub fn kh_spin_trylock_irqsave(l: *mut KhSpinlock, flags: *mut c_ulong) -> bool;
    pub fn kh_spin_is_locked(l: *const KhSpinlock) -> bool;
    pub fn kh_spin_is_contended(l: *const KhSpinlock) -> bool;

    // kheap/refcount.h
    pub fn kh_refcount_set(r: *mut KhRefcount, n: c_int);
    pub fn kh_refcount_read(r: *const KhRefcount) -> c_uint;
    pub fn kh_refcount_is_saturated(r: *const KhRefcount) -> bool;
    pub fn kh_refcount_inc(r: *mut KhRefcount);
    pub fn kh_refcount_add(r: *mut KhRefcount, n: c_int);
    pub fn kh_refcount_inc_not_zero(r: *mut KhRefcount) -> bool;
    pub fn kh_refcount_add_not_zero(r: *mut KhRefcount, n: c_int) -> bool;
    pub fn kh_refcount_dec(r: *mut KhRefcount);
    pub fn kh_refcount_dec_and_test(r: *mut KhRefcount) -> bool;
    pub fn kh_refcount_sub_and_test(r: *mut KhRefcount, n: c_int) -> bool;

    // csrc/ffi_facts.c (this crate's own C file, not in the checked headers)
    pub static kh_rs_facts: [KhRsFact; 0];
    pub static kh_rs_nfacts: usize;
}
