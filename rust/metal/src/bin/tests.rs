// SPDX-License-Identifier: MIT
//! The kheap Rust test suite on bare metal (Cortex-M3, rv32imac, rv64imac in
//! QEMU). The global allocator is `kheap::LockedHeap` over blog_os's heap
//! size (100 KiB) of the linker script's free RAM; kmalloc (KBox, KVec, Arc)
//! runs on a second LockedHeap of 32 KiB after it, small enough to exhaust.
//! The last line is `rust: N passed, N failed`; QEMU exits non-zero on any
//! failure.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::alloc::{alloc, alloc_zeroed, dealloc, realloc};
use alloc::boxed::Box;
use alloc::vec::Vec;
use core::alloc::Layout;
use core::ffi::c_int;
use core::sync::atomic::{AtomicUsize, Ordering};

use kheap::sync::atomic::{Acquire, Full, Relaxed, Release};
use kheap::sync::{Arc, Atomic, AtomicType, Refcount, SpinLock};
use kheap::{
    kmalloc, AllocError, KBox, KVec, LockedHeap, __GFP_NOWARN, __GFP_ZERO, GFP_ATOMIC, GFP_KERNEL,
};
use kheap_metal::{check, check_eq, println, Test};

#[global_allocator]
static ALLOCATOR: LockedHeap = LockedHeap::empty();
/// The heap behind kmalloc (KBox, KVec, Arc).
static KHEAP: LockedHeap = LockedHeap::empty();

const HEAP_SIZE: usize = 100 * 1024;
const KHEAP_SIZE: usize = 32 * 1024;

type R = Result<(), &'static str>;

// ---- blog_os's heap tests (tests/heap_allocation.rs), on this heap. ----

fn simple_allocation() -> R {
    let heap_value_1 = Box::new(41);
    let heap_value_2 = Box::new(13);
    check_eq!(*heap_value_1, 41);
    check_eq!(*heap_value_2, 13);
    Ok(())
}

fn large_vec() -> R {
    let n = 1000u64;
    let mut vec = Vec::new();
    for i in 0..n {
        vec.push(i);
    }
    check_eq!(vec.iter().sum::<u64>(), (n - 1) * n / 2);
    Ok(())
}

fn many_boxes() -> R {
    for i in 0..HEAP_SIZE {
        let x = Box::new(i);
        check_eq!(*x, i);
    }
    Ok(())
}

fn many_boxes_long_lived() -> R {
    let long_lived = Box::new(1);
    for i in 0..HEAP_SIZE {
        let x = Box::new(i);
        check_eq!(*x, i);
    }
    check_eq!(*long_lived, 1);
    Ok(())
}

// ---- The global allocator. ----

fn vec_try_reserve_fails_cleanly() -> R {
    let mut v: Vec<u8> = Vec::new();
    v.extend_from_slice(b"kept");
    check!(v.try_reserve(HEAP_SIZE).is_err());
    check!(v.try_reserve(usize::MAX).is_err());
    check_eq!(&v[..], b"kept");
    check!(v.try_reserve(1000).is_ok());
    let mut w: Vec<u32> = Vec::new();
    check!(w.try_reserve_exact(HEAP_SIZE / 4).is_err());
    check!(w.capacity() == 0);
    Ok(())
}

fn alignment_realloc_and_zeroing() -> R {
    let mut shift = 0;
    while shift <= 12 {
        let l = Layout::from_size_align(24, 1 << shift).unwrap();
        // SAFETY: GlobalAlloc contract; blocks freed once with their layout.
        unsafe {
            let p = alloc(l);
            check!(!p.is_null() && p as usize % (1 << shift) == 0);
            p.write_bytes(0xab, 24);
            let q = realloc(p, l, 3000);
            check!(!q.is_null() && q as usize % (1 << shift) == 0);
            check!((0..24).all(|i| *q.add(i) == 0xab));
            let big = Layout::from_size_align(3000, 1 << shift).unwrap();
            // A realloc that cannot succeed: null, old block intact.
            check!(realloc(q, big, 10 * HEAP_SIZE).is_null());
            check!((0..24).all(|i| *q.add(i) == 0xab));
            q.write_bytes(0xff, 3000);
            dealloc(q, big);
            let z = alloc_zeroed(big);
            check!(!z.is_null() && (0..3000).all(|i| *z.add(i) == 0));
            dealloc(z, big);
        }
        shift += 3;
    }
    Ok(())
}

fn heap_check_after_churn() -> R {
    let mut live: Vec<Vec<u8>> = Vec::new();
    let mut x = 12345u32;
    for i in 0..2000u32 {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        if live.len() < 40 && x & 1 == 0 {
            live.push(alloc::vec![i as u8; 1 + (x as usize >> 4) % 700]);
        } else if !live.is_empty() {
            let v = live.swap_remove((x as usize >> 8) % live.len());
            check!(v.iter().all(|&b| b == v[0]));
        }
    }
    drop(live);
    check!(ALLOCATOR.lock().check().is_ok());
    Ok(())
}

// ---- Fallible kernel types on the kmalloc heap. ----

fn kvec_exhaustion() -> R {
    let used0 = KHEAP.lock().used();
    let fill = || -> Result<KVec<u64>, &'static str> {
        let mut v = KVec::new();
        let mut i = 0u64;
        loop {
            let cap = v.capacity();
            match v.push(i, GFP_KERNEL | __GFP_NOWARN) {
                Ok(()) => i += 1,
                Err(AllocError) => {
                    check!(v.len() as u64 == i && v.capacity() == cap);
                    return Ok(v);
                }
            }
            check!(i < 1 << 20);
        }
    };
    let mut v = fill()?;
    let n = v.len();
    check!(n * 8 > KHEAP_SIZE / 2);
    check!(v.iter().enumerate().all(|(i, &x)| x == i as u64));
    check!(v
        .extend_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8], GFP_ATOMIC | __GFP_NOWARN)
        .is_err());
    check!(KBox::new([0u8; 512], GFP_KERNEL | __GFP_NOWARN).is_err());
    check_eq!(v.len(), n);
    check!(KHEAP.lock().check().is_ok());
    drop(v);
    check_eq!(KHEAP.lock().used(), used0);
    check_eq!(kmalloc::stats().live_blocks, 0);
    let again = fill()?;
    check_eq!(again.len(), n);
    Ok(())
}

fn kvec_sizes_that_overflow_are_errs() -> R {
    check!(KVec::<u64>::with_capacity(usize::MAX, GFP_KERNEL).is_err());
    check!(KVec::<u64>::with_capacity(usize::MAX / 8 + 1, GFP_KERNEL).is_err());
    let mut v = KVec::new();
    check!(v.push(1u16, GFP_KERNEL).is_ok());
    check!(v.reserve(usize::MAX, GFP_KERNEL).is_err());
    check!(v.extend_from_slice(&[2, 3], GFP_KERNEL).is_ok());
    check_eq!(&v[..], &[1, 2, 3]);
    Ok(())
}

fn kbox_and_arc() -> R {
    #[repr(align(256))]
    struct Aligned([u8; 40]);
    let b = KBox::new(Aligned([3; 40]), GFP_KERNEL).map_err(|_| "KBox::new")?;
    check!(KBox::as_ptr(&b) as usize % 256 == 0 && b.0[39] == 3);
    drop(KBox::new([0xeeu8; 200], GFP_KERNEL).map_err(|_| "KBox::new")?);
    let z = KBox::<[u8; 200]>::new_uninit(GFP_KERNEL | __GFP_ZERO).map_err(|_| "new_uninit")?;
    // SAFETY: zeroed bytes are a valid [u8; 200].
    let z = unsafe { KBox::assume_init(z) };
    check!(z.iter().all(|&x| x == 0));
    let a = Arc::new(KVec::<u8>::new(), GFP_KERNEL).map_err(|_| "Arc::new")?;
    let c = a.clone();
    check_eq!(Arc::count(&a), 2);
    drop(a);
    check_eq!(Arc::count(&c), 1);
    check_eq!(kmalloc::stats().live_blocks, 3);
    drop((b, z, c));
    check_eq!(kmalloc::stats().live_blocks, 0);
    Ok(())
}

// ---- Atomic<T>, SpinLock<T>, Refcount through the exported twins. ----

#[derive(Clone, Copy, PartialEq, Debug)]
#[repr(i32)]
enum State {
    Idle = 1,
    Busy = -2,
}
// SAFETY: #[repr(i32)]; the atomic only ever holds States.
unsafe impl AtomicType for State {
    type Repr = i32;
}

#[derive(Clone, Copy, PartialEq, Debug)]
#[repr(i64)]
enum Wide {
    Low = 1,
    High = 1 << 40,
}
// SAFETY: as State.
unsafe impl AtomicType for Wide {
    type Repr = i64;
}

fn atomic_i32_and_repr_types() -> R {
    let a = Atomic::new(5i32);
    a.store(6, Release);
    check_eq!(a.load(Acquire), 6);
    check_eq!(a.xchg(7, Full), 6);
    check_eq!(a.xchg(8, Relaxed), 7);
    check_eq!(a.cmpxchg(8, 9, Acquire), Ok(8));
    check_eq!(a.cmpxchg(8, 10, Release), Err(9));
    a.add(1, Relaxed);
    check_eq!(a.fetch_add(2, Full), 10);
    check_eq!(a.fetch_sub(12, Acquire), 12);
    let w = Atomic::new(i32::MAX);
    w.add(1, Relaxed);
    check_eq!(w.load(Relaxed), i32::MIN);
    let u = Atomic::new(usize::MAX);
    check_eq!(u.fetch_add(2, Full), usize::MAX);
    check_eq!(u.load(Relaxed), 1);
    let i = Atomic::new(-1isize);
    i.add(1, Relaxed);
    check_eq!(i.load(Relaxed), 0);
    let s = Atomic::new(State::Idle);
    check_eq!(s.cmpxchg(State::Idle, State::Busy, Full), Ok(State::Idle));
    check_eq!(s.cmpxchg(State::Idle, State::Idle, Full), Err(State::Busy));
    check_eq!(s.xchg(State::Idle, Acquire), State::Busy);
    Ok(())
}

/// On Cortex-M3 and rv32 these go through kheap's 64-bit lock fallback.
fn atomic_64_bit() -> R {
    let a = Atomic::new(1i64 << 40);
    check_eq!(core::mem::align_of_val(&a), 8);
    a.add(1 << 33, Relaxed);
    check_eq!(a.load(Acquire), (1 << 40) + (1 << 33));
    check_eq!(a.xchg(-(1 << 50), Full), (1 << 40) + (1 << 33));
    check_eq!(a.cmpxchg(-(1 << 50), i64::MAX, Acquire), Ok(-(1 << 50)));
    check_eq!(a.cmpxchg(0, 0, Relaxed), Err(i64::MAX));
    check_eq!(a.fetch_add(1, Release), i64::MAX);
    check_eq!(a.load(Relaxed), i64::MIN);
    let u = Atomic::new(u64::MAX);
    check_eq!(u.fetch_sub(u64::MAX, Full), u64::MAX);
    check_eq!(u.load(Relaxed), 0);
    let w = Atomic::new(Wide::Low);
    check_eq!(w.xchg(Wide::High, Full), Wide::Low);
    check_eq!(w.load(Acquire), Wide::High);
    Ok(())
}

fn spinlock_guard_unlocks_on_drop() -> R {
    static L: SpinLock<u32> = SpinLock::new(0);
    {
        let mut g = L.lock();
        *g += 1;
        check!(L.is_locked());
        check!(L.try_lock().is_none());
    }
    check!(!L.is_locked());
    match L.try_lock() {
        Some(mut g) => *g += 1,
        None => return Err("try_lock of a free lock failed"),
    }
    check_eq!(*L.lock(), 2);
    Ok(())
}

fn spinlock_irqsave_masks_interrupts() -> R {
    irq::enable();
    check!(irq::enabled());
    let l = SpinLock::new(());
    {
        let _g = l.lock_irqsave();
        check!(!irq::enabled());
        {
            let inner = SpinLock::new(());
            let _h = inner.lock_irqsave();
            check!(!irq::enabled());
        }
        check!(!irq::enabled());
        check!(l.try_lock_irqsave().is_none());
        check!(!irq::enabled());
    }
    check!(irq::enabled());
    {
        let _h = ALLOCATOR.lock();
        check!(!irq::enabled());
    }
    check!(irq::enabled());
    Ok(())
}

fn refcount_saturates() -> R {
    let r = Refcount::new(1);
    r.inc();
    check!(!r.dec_and_test());
    check!(r.dec_and_test());
    check!(!r.inc_not_zero());
    r.set(i32::MAX);
    r.inc();
    check!(r.is_saturated() && r.read() == Refcount::SATURATED);
    check!(!r.dec_and_test());
    let u = Refcount::new(0);
    check!(!u.dec_and_test() && u.is_saturated());
    Ok(())
}

// ---- An interrupt handler that allocates while thread code holds the heap. ----

static IRQ_RUNS: AtomicUsize = AtomicUsize::new(0);
static IRQ_ALLOCS_OK: AtomicUsize = AtomicUsize::new(0);

extern "C" fn on_irq() {
    let b = Box::new(0x5a5a_u32);
    let k = KBox::new(7u64, GFP_ATOMIC);
    if *b == 0x5a5a && matches!(k.as_deref(), Ok(&7)) {
        IRQ_ALLOCS_OK.fetch_add(1, Ordering::SeqCst);
    }
    IRQ_RUNS.fetch_add(1, Ordering::SeqCst);
}

fn wait_for_irq(runs: usize) -> bool {
    for _ in 0..100_000 {
        if IRQ_RUNS.load(Ordering::SeqCst) >= runs {
            return true;
        }
        core::hint::spin_loop();
    }
    false
}

fn interrupt_handler_allocates() -> R {
    irq::install(on_irq);
    irq::enable();
    // Heap free: the handler runs at once and allocates.
    irq::trigger();
    check!(wait_for_irq(1));
    check_eq!(IRQ_ALLOCS_OK.load(Ordering::SeqCst), 1);
    // Heap held: interrupts are off, so the handler waits for the guard
    // instead of spinning forever on a lock its own CPU holds.
    {
        let g = ALLOCATOR.lock();
        irq::trigger();
        check!(!wait_for_irq(2));
        check!(g.check().is_ok());
    }
    check!(wait_for_irq(2));
    check_eq!(IRQ_ALLOCS_OK.load(Ordering::SeqCst), 2);
    // The same for the kmalloc heap the handler's KBox uses.
    {
        let _g = KHEAP.lock();
        irq::trigger();
        check!(!wait_for_irq(3));
    }
    check!(wait_for_irq(3));
    check_eq!(IRQ_ALLOCS_OK.load(Ordering::SeqCst), 3);
    irq::uninstall();
    check_eq!(kmalloc::stats().live_blocks, 0);
    Ok(())
}

#[cfg(target_arch = "arm")]
mod irq {
    //! Cortex-M: PRIMASK, and PendSV as the interrupt, through a copy of the
    //! vector table in RAM (VTOR).
    use core::arch::asm;
    use core::ptr::{addr_of_mut, read_volatile, write_volatile};

    const ICSR: *mut u32 = 0xE000_ED04 as *mut u32;
    const VTOR: *mut u32 = 0xE000_ED08 as *mut u32;
    const PENDSVSET: u32 = 1 << 28;
    const PENDSV: usize = 14;

    #[repr(C, align(512))]
    struct Table([u32; 16]);
    static mut TABLE: Table = Table([0; 16]);
    static mut OLD_VTOR: u32 = 0;

    pub fn enabled() -> bool {
        let p: u32;
        // SAFETY: reads PRIMASK.
        unsafe { asm!("mrs {}, primask", out(reg) p) };
        p & 1 == 0
    }

    pub fn enable() {
        // SAFETY: clears PRIMASK.
        unsafe { asm!("cpsie i", options(nomem, nostack)) };
    }

    pub fn install(handler: extern "C" fn()) {
        // SAFETY: single-threaded test code; the table is 512-aligned RAM.
        unsafe {
            let old = read_volatile(VTOR);
            OLD_VTOR = old;
            let t = addr_of_mut!(TABLE) as *mut u32;
            for i in 0..16 {
                write_volatile(t.add(i), read_volatile((old as *const u32).add(i)));
            }
            write_volatile(t.add(PENDSV), handler as usize as u32);
            asm!("dsb", "isb");
            write_volatile(VTOR, t as u32);
            asm!("dsb", "isb");
        }
    }

    pub fn uninstall() {
        // SAFETY: back to the flash table.
        unsafe {
            write_volatile(VTOR, OLD_VTOR);
            asm!("dsb", "isb");
        }
    }

    pub fn trigger() {
        // SAFETY: pends PendSV.
        unsafe {
            write_volatile(ICSR, PENDSVSET);
            asm!("dsb", "isb");
        }
    }
}

#[cfg(any(target_arch = "riscv32", target_arch = "riscv64"))]
mod irq {
    //! RISC-V machine mode: mstatus.MIE, and the machine software interrupt
    //! (CLINT msip of hart 0 on QEMU virt) through our own trap entry.
    use core::arch::{asm, global_asm};
    use core::ptr::write_volatile;

    const MSIP0: *mut u32 = 0x0200_0000 as *mut u32;
    const MIE_MSIE: usize = 1 << 3;
    const MSTATUS_MIE: usize = 1 << 3;
    const MCAUSE_MSI: usize = (1 << (usize::BITS - 1)) | 3;

    static mut HANDLER: Option<extern "C" fn()> = None;
    static mut OLD_MTVEC: usize = 0;

    extern "C" {
        fn kh_rs_trap_entry();
        /// port/riscv/startup.c: reports a trap and ends the run.
        fn kh_rv_trap(cause: usize, epc: usize, tval: usize);
    }

    #[cfg(target_arch = "riscv64")]
    macro_rules! xlen_asm {
        () => {
            ".equ REGBYTES, 8\n.macro SREG a, b\nsd \\a, \\b\n.endm\n.macro LREG a, b\nld \\a, \\b\n.endm\n"
        };
    }
    #[cfg(target_arch = "riscv32")]
    macro_rules! xlen_asm {
        () => {
            ".equ REGBYTES, 4\n.macro SREG a, b\nsw \\a, \\b\n.endm\n.macro LREG a, b\nlw \\a, \\b\n.endm\n"
        };
    }

    // Save the caller-saved registers, call kh_rs_trap, restore, mret.
    global_asm!(
        xlen_asm!(),
        ".section .text.kh_rs_trap_entry, \"ax\"",
        ".balign 4",
        ".global kh_rs_trap_entry",
        "kh_rs_trap_entry:",
        "addi sp, sp, -16*REGBYTES",
        "SREG ra, 0*REGBYTES(sp)",
        "SREG t0, 1*REGBYTES(sp)",
        "SREG t1, 2*REGBYTES(sp)",
        "SREG t2, 3*REGBYTES(sp)",
        "SREG t3, 4*REGBYTES(sp)",
        "SREG t4, 5*REGBYTES(sp)",
        "SREG t5, 6*REGBYTES(sp)",
        "SREG t6, 7*REGBYTES(sp)",
        "SREG a0, 8*REGBYTES(sp)",
        "SREG a1, 9*REGBYTES(sp)",
        "SREG a2, 10*REGBYTES(sp)",
        "SREG a3, 11*REGBYTES(sp)",
        "SREG a4, 12*REGBYTES(sp)",
        "SREG a5, 13*REGBYTES(sp)",
        "SREG a6, 14*REGBYTES(sp)",
        "SREG a7, 15*REGBYTES(sp)",
        "csrr a0, mcause",
        "csrr a1, mepc",
        "csrr a2, mtval",
        "call kh_rs_trap",
        "LREG ra, 0*REGBYTES(sp)",
        "LREG t0, 1*REGBYTES(sp)",
        "LREG t1, 2*REGBYTES(sp)",
        "LREG t2, 3*REGBYTES(sp)",
        "LREG t3, 4*REGBYTES(sp)",
        "LREG t4, 5*REGBYTES(sp)",
        "LREG t5, 6*REGBYTES(sp)",
        "LREG t6, 7*REGBYTES(sp)",
        "LREG a0, 8*REGBYTES(sp)",
        "LREG a1, 9*REGBYTES(sp)",
        "LREG a2, 10*REGBYTES(sp)",
        "LREG a3, 11*REGBYTES(sp)",
        "LREG a4, 12*REGBYTES(sp)",
        "LREG a5, 13*REGBYTES(sp)",
        "LREG a6, 14*REGBYTES(sp)",
        "LREG a7, 15*REGBYTES(sp)",
        "addi sp, sp, 16*REGBYTES",
        "mret",
        ".text",
    );

    #[no_mangle]
    extern "C" fn kh_rs_trap(cause: usize, epc: usize, tval: usize) {
        if cause != MCAUSE_MSI {
            // SAFETY: the port's handler reports and exits.
            unsafe { kh_rv_trap(cause, epc, tval) };
            return;
        }
        // SAFETY: acknowledge: msip of hart 0 back to 0.
        unsafe { write_volatile(MSIP0, 0) };
        // SAFETY: set before the interrupt was enabled.
        if let Some(h) = unsafe { HANDLER } {
            h();
        }
    }

    pub fn enabled() -> bool {
        let s: usize;
        // SAFETY: reads mstatus.
        unsafe { asm!("csrr {}, mstatus", out(reg) s) };
        s & MSTATUS_MIE != 0
    }

    pub fn enable() {
        // SAFETY: sets mstatus.MIE; mie enables no source unless installed.
        unsafe { asm!("csrs mstatus, {}", in(reg) MSTATUS_MIE) };
    }

    pub fn install(handler: extern "C" fn()) {
        // SAFETY: single hart, interrupts for this source not yet enabled.
        unsafe {
            HANDLER = Some(handler);
            let old: usize;
            asm!("csrr {}, mtvec", out(reg) old);
            OLD_MTVEC = old;
            asm!("csrw mtvec, {}", in(reg) kh_rs_trap_entry as *const () as usize);
            asm!("csrs mie, {}", in(reg) MIE_MSIE);
        }
    }

    pub fn uninstall() {
        // SAFETY: disable the source, then restore the port's trap entry.
        unsafe {
            asm!("csrc mie, {}", in(reg) MIE_MSIE);
            asm!("csrw mtvec, {}", in(reg) OLD_MTVEC);
        }
    }

    pub fn trigger() {
        // SAFETY: raises hart 0's machine software interrupt.
        unsafe {
            write_volatile(MSIP0, 1);
            asm!("fence rw, rw");
        }
    }
}

fn ffi_layout() -> R {
    match kheap::selftest::check_ffi_layout() {
        Ok(n) if n == kheap::selftest::rust_facts().len() => Ok(()),
        Ok(_) => Err("not every fact compared"),
        Err(m) => {
            println!("{:?}", m);
            Err("the Rust FFI layout differs from the C headers on this target")
        }
    }
}

static BASELINE: AtomicUsize = AtomicUsize::new(0);

fn heap_back_to_baseline() -> R {
    let g = ALLOCATOR.lock();
    check_eq!(g.used(), BASELINE.load(Ordering::SeqCst));
    check!(g.check().is_ok());
    drop(g);
    check_eq!(KHEAP.lock().used(), 0);
    check!(KHEAP.lock().check().is_ok());
    Ok(())
}

const TESTS: &[(&str, Test)] = &[
    ("ffi_layout", ffi_layout),
    ("simple_allocation", simple_allocation),
    ("large_vec", large_vec),
    ("many_boxes", many_boxes),
    ("many_boxes_long_lived", many_boxes_long_lived),
    (
        "vec_try_reserve_fails_cleanly",
        vec_try_reserve_fails_cleanly,
    ),
    (
        "alignment_realloc_and_zeroing",
        alignment_realloc_and_zeroing,
    ),
    ("heap_check_after_churn", heap_check_after_churn),
    ("kvec_exhaustion", kvec_exhaustion),
    (
        "kvec_sizes_that_overflow_are_errs",
        kvec_sizes_that_overflow_are_errs,
    ),
    ("kbox_and_arc", kbox_and_arc),
    ("atomic_i32_and_repr_types", atomic_i32_and_repr_types),
    ("atomic_64_bit", atomic_64_bit),
    (
        "spinlock_guard_unlocks_on_drop",
        spinlock_guard_unlocks_on_drop,
    ),
    (
        "spinlock_irqsave_masks_interrupts",
        spinlock_irqsave_masks_interrupts,
    ),
    ("refcount_saturates", refcount_saturates),
    ("interrupt_handler_allocates", interrupt_handler_allocates),
    ("heap_back_to_baseline", heap_back_to_baseline),
];

#[no_mangle]
pub extern "C" fn main() -> c_int {
    let (start, size) = kheap_metal::free_ram();
    if size < HEAP_SIZE + KHEAP_SIZE {
        println!("only {} B of free RAM", size);
        return 1;
    }
    // SAFETY: the linker script leaves this RAM to us; the two heaps do not overlap.
    unsafe {
        ALLOCATOR.lock().init(start, HEAP_SIZE);
        KHEAP.lock().init(start.add(HEAP_SIZE), KHEAP_SIZE);
    }
    if kmalloc::init(&KHEAP).is_err() {
        println!("kmalloc::init failed");
        return 1;
    }
    BASELINE.store(ALLOCATOR.lock().used(), Ordering::SeqCst);
    println!(
        "kheap Rust tests on {}: global heap {} B, kmalloc heap {} B",
        kheap_metal::TARGET,
        HEAP_SIZE,
        KHEAP_SIZE
    );
    kheap_metal::run_tests(TESTS)
}
