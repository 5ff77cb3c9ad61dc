// SPDX-License-Identifier: MIT
//! Checks that the Rust declarations in `ffi` match the C library as this
//! target's C compiler built it: every size, alignment, field offset and
//! constant in csrc/ffi_facts.c against the Rust side, by name. The hosted
//! tests and the bare-metal suites run it.

use core::ffi::CStr;
use core::mem::{align_of, offset_of, size_of};

use crate::ffi::*;

/// A disagreement between the C and the Rust side.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mismatch {
    /// Both sides know the fact; the values differ.
    Value {
        /// The fact, as csrc/ffi_facts.c names it.
        name: &'static str,
        /// What the C compiler says.
        c: usize,
        /// What Rust says.
        rust: usize,
    },
    /// The C side has a fact the Rust side does not check.
    MissingInRust(&'static str),
    /// The Rust side checks a fact the C side does not provide.
    MissingInC(&'static str),
}

/// The Rust side of every fact: (name as in csrc/ffi_facts.c, value).
pub fn rust_facts() -> &'static [(&'static str, usize)] {
    const F: &[(&str, usize)] = &[
        ("size struct kheap_stats", size_of::<KheapStats>()),
        ("align struct kheap_stats", align_of::<KheapStats>()),
        (
            "offset struct kheap_stats.total_bytes",
            offset_of!(KheapStats, total_bytes),
        ),
        (
            "offset struct kheap_stats.free_bytes",
            offset_of!(KheapStats, free_bytes),
        ),
        (
            "offset struct kheap_stats.used_bytes",
            offset_of!(KheapStats, used_bytes),
        ),
        (
            "offset struct kheap_stats.peak_used_bytes",
            offset_of!(KheapStats, peak_used_bytes),
        ),
        (
            "offset struct kheap_stats.largest_free_block",
            offset_of!(KheapStats, largest_free_block),
        ),
        (
            "offset struct kheap_stats.free_blocks",
            offset_of!(KheapStats, free_blocks),
        ),
        (
            "offset struct kheap_stats.allocations",
            offset_of!(KheapStats, allocations),
        ),
        (
            "offset struct kheap_stats.regions",
            offset_of!(KheapStats, regions),
        ),
        (
            "offset struct kheap_stats.overhead_bytes",
            offset_of!(KheapStats, overhead_bytes),
        ),
        (
            "offset struct kheap_stats.max_block",
            offset_of!(KheapStats, max_block),
        ),
        (
            "offset struct kheap_stats.min_free_bytes",
            offset_of!(KheapStats, min_free_bytes),
        ),
        (
            "offset struct kheap_stats.failed_allocations",
            offset_of!(KheapStats, failed_allocations),
        ),
        (
            "offset struct kheap_stats.largest_request",
            offset_of!(KheapStats, largest_request),
        ),
        (
            "offset struct kheap_stats.max_regions",
            offset_of!(KheapStats, max_regions),
        ),
        (
            "offset struct kheap_stats.hardening",
            offset_of!(KheapStats, hardening),
        ),
        (
            "offset struct kheap_stats.check_bits",
            offset_of!(KheapStats, check_bits),
        ),
        ("size kh_allocator_ops", size_of::<KhAllocatorOps>()),
        (
            "offset kh_allocator_ops.alloc",
            offset_of!(KhAllocatorOps, alloc),
        ),
        (
            "offset kh_allocator_ops.resize",
            offset_of!(KhAllocatorOps, resize),
        ),
        (
            "offset kh_allocator_ops.free",
            offset_of!(KhAllocatorOps, free),
        ),
        (
            "offset kh_allocator_ops.owns",
            offset_of!(KhAllocatorOps, owns),
        ),
        ("size kh_allocator", size_of::<KhAllocator>()),
        ("align kh_allocator", align_of::<KhAllocator>()),
        ("offset kh_allocator.ctx", offset_of!(KhAllocator, ctx)),
        ("offset kh_allocator.ops", offset_of!(KhAllocator, ops)),
        ("size kh_atomic_t", size_of::<KhAtomic>()),
        ("align kh_atomic_t", align_of::<KhAtomic>()),
        ("offset kh_atomic_t.counter", offset_of!(KhAtomic, counter)),
        ("size kh_atomic64_t", size_of::<KhAtomic64>()),
        ("align kh_atomic64_t", align_of::<KhAtomic64>()),
        (
            "offset kh_atomic64_t.counter",
            offset_of!(KhAtomic64, counter),
        ),
        ("size kh_spinlock_t", size_of::<KhSpinlock>()),
        ("align kh_spinlock_t", align_of::<KhSpinlock>()),
        ("offset kh_spinlock_t.next", offset_of!(KhSpinlock, next)),
        ("offset kh_spinlock_t.owner", offset_of!(KhSpinlock, owner)),
        ("size kh_refcount_t", size_of::<KhRefcount>()),
        ("align kh_refcount_t", align_of::<KhRefcount>()),
        ("offset kh_refcount_t.refs", offset_of!(KhRefcount, refs)),
        ("size struct kh_kmalloc_stats", size_of::<KhKmallocStats>()),
        (
            "offset struct kh_kmalloc_stats.live_blocks",
            offset_of!(KhKmallocStats, live_blocks),
        ),
        (
            "offset struct kh_kmalloc_stats.live_bytes",
            offset_of!(KhKmallocStats, live_bytes),
        ),
        (
            "offset struct kh_kmalloc_stats.failures",
            offset_of!(KhKmallocStats, failures),
        ),
        (
            "offset struct kh_kmalloc_stats.oom_calls",
            offset_of!(KhKmallocStats, oom_calls),
        ),
        (
            "offset struct kh_kmalloc_stats.oom_retries",
            offset_of!(KhKmallocStats, oom_retries),
        ),
        (
            "offset struct kh_kmalloc_stats.oom_waits",
            offset_of!(KhKmallocStats, oom_waits),
        ),
        ("size int", size_of::<core::ffi::c_int>()),
        ("size unsigned long", size_of::<core::ffi::c_ulong>()),
        ("size size_t", size_of::<usize>()),
        ("size void *", size_of::<*const u8>()),
        ("KH_GFP_KERNEL", KH_GFP_KERNEL as usize),
        ("KH_GFP_ATOMIC", KH_GFP_ATOMIC as usize),
        ("KH_GFP_ZERO", KH_GFP_ZERO as usize),
        ("KH_GFP_NOWARN", KH_GFP_NOWARN as usize),
        ("KH_GFP_NOGROW", KH_GFP_NOGROW as usize),
        ("KH_ALIGN_DEFAULT", KH_ALIGN_DEFAULT),
        (
            "KH_REFCOUNT_SATURATED",
            KH_REFCOUNT_SATURATED as isize as usize,
        ),
        ("KH_REFCOUNT_MAX", KH_REFCOUNT_MAX as isize as usize),
        ("KH_OK", KH_OK as isize as usize),
        ("KH_ENOMEM", KH_ENOMEM as isize as usize),
        ("KH_EINVAL", KH_EINVAL as isize as usize),
        ("KH_EOVERFLOW", KH_EOVERFLOW as isize as usize),
        ("KH_EFAULT", KH_EFAULT as isize as usize),
        ("KH_EDOUBLE", KH_EDOUBLE as isize as usize),
        ("KH_ECORRUPT", KH_ECORRUPT as isize as usize),
        ("KH_EBUSY", KH_EBUSY as isize as usize),
        ("KH_ERANGE", KH_ERANGE as isize as usize),
        ("KH_ENOENT", KH_ENOENT as isize as usize),
        ("KH_EHEAP_BLOCK", KH_EHEAP_BLOCK as isize as usize),
        ("KH_EHEAP_FLAGS", KH_EHEAP_FLAGS as isize as usize),
        ("KH_EHEAP_ADJ", KH_EHEAP_ADJ as isize as usize),
        ("KH_EHEAP_LIST", KH_EHEAP_LIST as isize as usize),
        ("KH_EHEAP_BITMAP", KH_EHEAP_BITMAP as isize as usize),
        ("KH_EHEAP_STATS", KH_EHEAP_STATS as isize as usize),
        // The Rust SpinLock mirrors the two-ticket lock only.
        ("KH_CONFIG_SPINLOCK_DEBUG", 0),
    ];
    F
}

/// The C side: csrc/ffi_facts.c as compiled into the library.
pub fn c_facts() -> impl Iterator<Item = (&'static str, usize)> + Clone {
    // SAFETY: kh_rs_facts has kh_rs_nfacts rows of static strings and values.
    let (base, n) = unsafe {
        (
            core::ptr::addr_of!(kh_rs_facts) as *const KhRsFact,
            kh_rs_nfacts,
        )
    };
    (0..n).map(move |i| {
        // SAFETY: i < n; names are static NUL-terminated strings.
        let f = unsafe { &*base.add(i) };
        let name = unsafe { CStr::from_ptr(f.name) }
            .to_str()
            .unwrap_or("<not UTF-8>");
        (name, f.value)
    })
}

/// Compare two fact lists by name: every name on both sides, equal values.
/// Returns the number of facts compared.
pub fn compare(
    c: impl Iterator<Item = (&'static str, usize)> + Clone,
    rust: &[(&'static str, usize)],
) -> Result<usize, Mismatch> {
    let mut n = 0;
    for (name, cv) in c.clone() {
        match rust.iter().find(|(r, _)| *r == name) {
            Some(&(_, rv)) if rv == cv => n += 1,
            Some(&(_, rv)) => {
                return Err(Mismatch::Value {
                    name,
                    c: cv,
                    rust: rv,
                })
            }
            None => return Err(Mismatch::MissingInRust(name)),
        }
    }
    for &(name, _) in rust {
        if !c.clone().any(|(cn, _)| cn == name) {
            return Err(Mismatch::MissingInC(name));
        }
    }
    Ok(n)
}

/// Check every fact; `Ok(number of facts)`.
pub fn check_ffi_layout() -> Result<usize, Mismatch> {
    compare(c_facts(), rust_facts())
}

/// How many `pub fn` declarations build.rs checked against the C headers.
pub const FFI_FUNCTIONS_CHECKED: &str = env!("KHEAP_FFI_CHECKED");
