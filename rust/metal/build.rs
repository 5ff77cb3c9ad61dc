// SPDX-License-Identifier: MIT
//! Links the bare-metal programs with the project's own start-up code and
//! linker scripts (the ones the C demo and tests boot with, mk/metal.mk):
//!   thumbv7m     port/cortex-m3/{start.S,startup.c}; demo on lm3s6965evb.ld,
//!                tests on mps2-an385.ld (their arena needs more than 64 KiB)
//!   riscv*imac   port/riscv/{start.S,startup.c}, virt.ld
//! The start-up objects are passed to the linker directly (not in an archive:
//! nothing references the vector table, the linker script keeps it). Link
//! arguments live here rather than in rustflags, which would rebuild core and
//! alloc whenever they change.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let target = env::var("TARGET").unwrap();
    let out = PathBuf::from(env::var("OUT_DIR").unwrap());
    // The kheap crate's build script reports the repository root (links = "kheap_c").
    let root =
        PathBuf::from(env::var("DEP_KHEAP_C_ROOT").expect("kheap's build script sets its root"));
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed={}", root.join("port").display());

    if env::var("CARGO_CFG_TARGET_OS")
        .map(|o| o != "none")
        .unwrap_or(true)
    {
        // A host build (cargo check on the host): nothing to link.
        return;
    }

    let (cc, arch, dir, start): (&str, &[&str], &str, &[&str]) = if target.starts_with("thumbv7m") {
        (
            "arm-none-eabi-gcc",
            &["-mcpu=cortex-m3", "-mthumb"],
            "port/cortex-m3",
            &["start.S", "startup.c"],
        )
    } else if target.starts_with("riscv32imac") {
        (
            "riscv64-unknown-elf-gcc",
            &["-march=rv32imac", "-mabi=ilp32", "-mcmodel=medany"],
            "port/riscv",
            &["start.S", "startup.c"],
        )
    } else if target.starts_with("riscv64imac") {
        (
            "riscv64-unknown-elf-gcc",
            &["-march=rv64imac", "-mabi=lp64", "-mcmodel=medany"],
            "port/riscv",
            &["start.S", "startup.c"],
        )
    } else {
        eprintln!("error: kheap-metal: no board for target {target} (thumbv7m-none-eabi, riscv32imac/riscv64imac-unknown-none-elf)");
        std::process::exit(1);
    };
    let port = root.join(dir);
    for f in start {
        let src = port.join(f);
        let obj = out.join(format!("{}.o", f.replace('.', "_")));
        let mut cmd = Command::new(cc);
        cmd.args(arch)
            .args([
                "-std=c11",
                "-O2",
                "-ffreestanding",
                "-ffunction-sections",
                "-fdata-sections",
            ])
            .arg(format!("-I{}", root.join("include").display()))
            .arg(format!("-I{}", root.join("port/baremetal").display()))
            .arg(format!("-I{}", port.display()));
        if target.starts_with("riscv") {
            cmd.arg("-isystem").arg(port.join("include"));
        }
        cmd.arg("-c").arg(&src).arg("-o").arg(&obj);
        run(&mut cmd);
        println!("cargo:rustc-link-arg={}", obj.display());
    }
    for a in arch {
        // The gcc driver picks the linker emulation (rv32/rv64) from these.
        println!("cargo:rustc-link-arg={a}");
    }
    println!("cargo:rustc-link-arg=-nostartfiles");
    println!("cargo:rustc-link-arg=-nostdlib");
    println!("cargo:rustc-link-arg=-Wl,--no-warn-rwx-segments");
    println!("cargo:rustc-link-arg=-L{}", port.display());
    if target.starts_with("thumbv7m") {
        script("demo", &port.join("lm3s6965evb.ld"));
        script("tests", &port.join("mps2-an385.ld"));
    } else {
        script("demo", &port.join("virt.ld"));
        script("tests", &port.join("virt.ld"));
    }
}

fn script(bin: &str, ld: &Path) {
    println!("cargo:rustc-link-arg-bin={bin}=-T{}", ld.display());
}

fn run(cmd: &mut Command) {
    match cmd.status() {
        Ok(s) if s.success() => {}
        Ok(_) => {
            eprintln!("error: kheap-metal: {cmd:?} failed");
            std::process::exit(1);
        }
        Err(e) => {
            eprintln!("error: kheap-metal: {cmd:?}: {e}");
            std::process::exit(1);
        }
    }
}
