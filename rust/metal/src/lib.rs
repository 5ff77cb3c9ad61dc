// SPDX-License-Identifier: MIT
//! What the bare-metal Rust programs share: the port's console and exit
//! (port/baremetal/kh_bare.h), the free RAM from the linker script, a panic
//! handler that ends the QEMU run as a failure, and a tiny test runner whose
//! last line is `rust: N passed, N failed`.
#![no_std]

use core::ffi::c_int;
use core::fmt::{self, Write};
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

extern "C" {
    fn kh_bare_write(s: *const u8, n: usize);
    fn kh_bare_exit(code: c_int) -> !;
    static mut _heap_start: u8;
    static mut _heap_end: u8;
}

/// Write to the console (semihosting on Cortex-M3, the UART on RISC-V).
pub fn write_str(s: &str) {
    // SAFETY: the port's console takes any bytes.
    unsafe { kh_bare_write(s.as_ptr(), s.len()) }
}

/// `core::fmt` onto the console.
pub struct Console;

impl Write for Console {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        write_str(s);
        Ok(())
    }
}

/// `println!` for the console.
#[macro_export]
macro_rules! println {
    ($($arg:tt)*) => {{
        use core::fmt::Write as _;
        let _ = core::writeln!($crate::Console, $($arg)*);
    }};
}

/// Stop the machine; QEMU exits with `code` (0 = success).
pub fn exit(code: i32) -> ! {
    // SAFETY: the port's exit never returns.
    unsafe { kh_bare_exit(code) }
}

/// The free RAM the linker script leaves between .bss and the stack(s):
/// `[_heap_start, _heap_end)`.
pub fn free_ram() -> (*mut u8, usize) {
    // Only the addresses of the linker symbols are taken.
    let start = core::ptr::addr_of_mut!(_heap_start);
    let end = core::ptr::addr_of_mut!(_heap_end);
    (start, end as usize - start as usize)
}

/// The CPU, for banners.
pub const TARGET: &str = if cfg!(target_arch = "arm") {
    "Cortex-M3 (thumbv7m-none-eabi)"
} else if cfg!(target_arch = "riscv64") {
    "RISC-V rv64imac (riscv64imac-unknown-none-elf)"
} else if cfg!(target_arch = "riscv32") {
    "RISC-V rv32imac (riscv32imac-unknown-none-elf)"
} else {
    "an unnamed target"
};

static RUNNING: AtomicBool = AtomicBool::new(false);
static PASSED: AtomicUsize = AtomicUsize::new(0);
static FAILED: AtomicUsize = AtomicUsize::new(0);

/// A test: Ok, or Err with what failed.
pub type Test = fn() -> Result<(), &'static str>;

/// Run every test, print one line each and the totals; returns main's status.
pub fn run_tests(tests: &[(&str, Test)]) -> c_int {
    RUNNING.store(true, Ordering::SeqCst);
    for (name, t) in tests {
        write_str("test ");
        write_str(name);
        write_str(" ... ");
        match t() {
            Ok(()) => {
                PASSED.fetch_add(1, Ordering::SeqCst);
                write_str("ok\n");
            }
            Err(what) => {
                FAILED.fetch_add(1, Ordering::SeqCst);
                println!("FAILED: {}", what);
            }
        }
    }
    RUNNING.store(false, Ordering::SeqCst);
    let (p, f) = (PASSED.load(Ordering::SeqCst), FAILED.load(Ordering::SeqCst));
    println!("rust: {} passed, {} failed", p, f);
    if f == 0 {
        0
    } else {
        1
    }
}

/// `Err("file:line: condition")` unless the condition holds.
#[macro_export]
macro_rules! check {
    ($c:expr) => {
        if !$c {
            return Err(concat!(file!(), ":", line!(), ": ", stringify!($c)));
        }
    };
}

/// `Err` unless the two values are equal.
#[macro_export]
macro_rules! check_eq {
    ($a:expr, $b:expr) => {
        if $a != $b {
            return Err(concat!(
                file!(),
                ":",
                line!(),
                ": ",
                stringify!($a),
                " == ",
                stringify!($b)
            ));
        }
    };
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    println!("\npanic: {}", info);
    if RUNNING.load(Ordering::SeqCst) {
        // The test in progress failed; the totals line still comes out.
        println!(
            "rust: {} passed, {} failed",
            PASSED.load(Ordering::SeqCst),
            FAILED.load(Ordering::SeqCst) + 1
        );
    }
    exit(101)
}

/// Personality routine the Arm EHABI unwind tables of `core` name; with
/// panic=abort nothing unwinds, so it is never called.
#[cfg(target_arch = "arm")]
#[no_mangle]
pub extern "C" fn __aeabi_unwind_cpp_pr0() {
    exit(102)
}
