// SPDX-License-Identifier: MIT
//! Builds the kheap C library for the crate, with the target's own C compiler
//! and archiver (no `cc` crate: nothing can be downloaded where kheap builds).
//!
//! - Sources: every `src/**/*.c` of the repository outside a `hosted/`
//!   folder, plus `port/hosted/port_hosted.c` on hosted targets, or the CPU's
//!   port hooks on bare metal (feature `port`: `port/cortex-m3/port.c`,
//!   `port/riscv/port.c`), plus this crate's `csrc/ffi_facts.c`.
//! - Compiler: `KHEAP_CC` if set, else `cc` for the host, `arm-none-eabi-gcc`
//!   for `thumbv*`, `riscv64-unknown-elf-gcc` for `riscv*`; archiver
//!   `KHEAP_AR`, else the compiler's name with `gcc`/`cc` replaced by `ar`.
//!   `KHEAP_CFLAGS` adds flags (e.g. `-DKH_CONFIG_CHECKS=0`; options that
//!   change a struct the crate mirrors fail the layout self-test).
//! - Checks: every `pub fn` in src/ffi.rs is compiled against the C headers as
//!   a function pointer of the declared type, with -Werror.
//! - Writes the README's marked Rust examples to `$OUT_DIR/readme_example.rs`
//!   for `examples/readme.rs`.
//!
//! `KHEAP_ROOT` points at the repository when the crate is not in `rust/kheap`.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let root = match env::var_os("KHEAP_ROOT") {
        Some(r) => PathBuf::from(r),
        None => manifest.join("../.."),
    };
    let root = root.canonicalize().unwrap_or(root);
    if !root.join("include/kheap/heap.h").is_file() {
        fail(&format!(
            "the kheap C sources are not at {} (expected include/kheap/heap.h there); \
             set KHEAP_ROOT to the repository",
            root.display()
        ));
    }
    let out = PathBuf::from(env::var("OUT_DIR").unwrap());
    let target = env::var("TARGET").unwrap();
    let host = env::var("HOST").unwrap();
    let hosted = env::var("CARGO_CFG_TARGET_OS")
        .map(|o| o != "none")
        .unwrap_or(true);

    for v in ["KHEAP_ROOT", "KHEAP_CC", "KHEAP_AR", "KHEAP_CFLAGS"] {
        println!("cargo:rerun-if-env-changed={v}");
    }
    for p in ["src", "include", "port", "README.md"] {
        println!("cargo:rerun-if-changed={}", root.join(p).display());
    }
    println!("cargo:rerun-if-changed=csrc");
    println!("cargo:rerun-if-changed=src/ffi.rs");
    println!("cargo:rerun-if-changed=build.rs");

    let cc = env::var("KHEAP_CC").unwrap_or_else(|_| default_cc(&target, &host, hosted));
    let ar = env::var("KHEAP_AR").unwrap_or_else(|_| default_ar(&cc));

    let mut flags: Vec<String> = arch_flags(&target, hosted);
    flags.extend(
        [
            "-std=c11",
            "-Wall",
            "-Wextra",
            "-ffunction-sections",
            "-fdata-sections",
        ]
        .iter()
        .map(|s| s.to_string()),
    );
    let opt = env::var("OPT_LEVEL").unwrap_or_else(|_| "2".into());
    flags.push(match opt.as_str() {
        "s" | "z" => "-Os".into(),
        "0" => "-O1".into(), // the C library is never the thing being debugged here
        _ => "-O2".into(),
    });
    if env::var("DEBUG")
        .map(|d| d != "false" && d != "0")
        .unwrap_or(false)
    {
        flags.push("-g".into());
    }
    if hosted {
        flags.extend(["-fPIC", "-D_GNU_SOURCE"].iter().map(|s| s.to_string()));
    } else {
        flags.push("-ffreestanding".into());
        if target.starts_with("riscv") {
            // Debian's riscv64-unknown-elf has no libc headers: the port's
            // minimal <string.h> stands in (as in mk/metal.mk).
            flags.push("-isystem".into());
            flags.push(root.join("port/riscv/include").display().to_string());
        }
    }
    flags.push(format!("-I{}", root.join("include").display()));
    flags.push(format!("-I{}", root.join("src").display()));
    if let Ok(extra) = env::var("KHEAP_CFLAGS") {
        flags.extend(extra.split_whitespace().map(|s| s.to_string()));
    }

    let mut sources = Vec::new();
    library_sources(&root.join("src"), &mut sources);
    sources.sort();
    if sources.is_empty() {
        fail(&format!(
            "no C sources found under {}",
            root.join("src").display()
        ));
    }
    if hosted {
        sources.push(root.join("port/hosted/port_hosted.c"));
    } else if env::var_os("CARGO_FEATURE_PORT").is_some() {
        match port_for(&target) {
            Some(p) => sources.push(root.join(p)),
            None => fail(&format!(
                "no kheap port for target {target}: disable the `port` feature and \
                 define the kh_port_* hooks (include/kheap/port.h) yourself"
            )),
        }
    }
    sources.push(manifest.join("csrc/ffi_facts.c"));

    check_tool(&cc, &target, "KHEAP_CC");
    let objs = compile_all(&cc, &flags, &sources, &root, &out);
    let lib = out.join("libkheap_c.a");
    let _ = fs::remove_file(&lib);
    let mut cmd = Command::new(&ar);
    cmd.arg("crs").arg(&lib).args(&objs);
    run(&mut cmd, "archive the C library");
    println!("cargo:rustc-link-search=native={}", out.display());
    println!("cargo:rustc-link-lib=static=kheap_c");
    println!("cargo:root={}", root.display());

    check_ffi(&cc, &flags, &manifest.join("src/ffi.rs"), &out);
    readme_examples(&root.join("README.md"), &out.join("readme_example.rs"));
}

fn fail(msg: &str) -> ! {
    eprintln!("error: kheap build: {msg}");
    std::process::exit(1);
}

/// Every .c under dir, skipping folders named `hosted` (hosted adapters).
fn library_sources(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => fail(&format!("cannot read {}: {e}", dir.display())),
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            if p.file_name().map(|n| n != "hosted").unwrap_or(true) {
                library_sources(&p, out);
            }
        } else if p.extension().map(|x| x == "c").unwrap_or(false) {
            out.push(p);
        }
    }
}

fn default_cc(target: &str, host: &str, hosted: bool) -> String {
    if hosted {
        if target == host {
            return "cc".into();
        }
        return format!("{target}-gcc");
    }
    if target.starts_with("thumb") || target.starts_with("arm") {
        "arm-none-eabi-gcc".into()
    } else if target.starts_with("riscv") {
        "riscv64-unknown-elf-gcc".into()
    } else {
        fail(&format!(
            "no default C compiler for target {target}: set KHEAP_CC"
        ))
    }
}

fn default_ar(cc: &str) -> String {
    // arm-none-eabi-gcc -> arm-none-eabi-ar; cc, clang -> ar.
    match cc.strip_suffix("gcc") {
        Some(stem) => format!("{stem}ar"),
        None => "ar".into(),
    }
}

/// What the C compiler needs to produce objects with the Rust target's ABI.
fn arch_flags(target: &str, hosted: bool) -> Vec<String> {
    let f: &[&str] = if hosted {
        if target.starts_with("i686") || target.starts_with("i586") {
            &["-m32"]
        } else {
            &[]
        }
    } else if target.starts_with("thumbv6m") {
        &["-mcpu=cortex-m0", "-mthumb", "-mfloat-abi=soft"]
    } else if target.starts_with("thumbv7m") {
        &["-mcpu=cortex-m3", "-mthumb", "-mfloat-abi=soft"]
    } else if target.starts_with("thumbv7em") && target.ends_with("eabihf") {
        &[
            "-mcpu=cortex-m4",
            "-mthumb",
            "-mfloat-abi=hard",
            "-mfpu=fpv4-sp-d16",
        ]
    } else if target.starts_with("thumbv7em") {
        &["-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=soft"]
    } else if target.starts_with("thumbv8m.base") {
        &["-march=armv8-m.base", "-mthumb", "-mfloat-abi=soft"]
    } else if target.starts_with("thumbv8m.main") && target.ends_with("eabihf") {
        &[
            "-march=armv8-m.main+fp",
            "-mthumb",
            "-mfloat-abi=hard",
            "-mfpu=fpv5-sp-d16",
        ]
    } else if target.starts_with("thumbv8m.main") {
        &["-march=armv8-m.main", "-mthumb", "-mfloat-abi=soft"]
    } else if target.starts_with("riscv32imac") {
        &["-march=rv32imac", "-mabi=ilp32", "-mcmodel=medany"]
    } else if target.starts_with("riscv32imc") {
        &["-march=rv32imc", "-mabi=ilp32", "-mcmodel=medany"]
    } else if target.starts_with("riscv32i-") {
        &["-march=rv32i", "-mabi=ilp32", "-mcmodel=medany"]
    } else if target.starts_with("riscv64imac") {
        &["-march=rv64imac", "-mabi=lp64", "-mcmodel=medany"]
    } else if target.starts_with("riscv64gc") {
        &["-march=rv64imafdc", "-mabi=lp64d", "-mcmodel=medany"]
    } else {
        fail(&format!(
            "unknown bare-metal target {target}: set KHEAP_CC and KHEAP_CFLAGS \
             (CPU and ABI flags matching the Rust target)"
        ))
    };
    f.iter().map(|s| s.to_string()).collect()
}

fn port_for(target: &str) -> Option<&'static str> {
    if target.starts_with("thumb") {
        Some("port/cortex-m3/port.c") // PRIMASK: every Cortex-M
    } else if target.starts_with("riscv") {
        Some("port/riscv/port.c") // machine mode, mstatus.MIE
    } else {
        None
    }
}

fn check_tool(cc: &str, target: &str, var: &str) {
    match Command::new(cc).arg("--version").output() {
        Ok(o) if o.status.success() => {}
        _ => fail(&format!(
            "C compiler `{cc}` for target {target} not found: install it or set {var}"
        )),
    }
}

fn run(cmd: &mut Command, what: &str) {
    match cmd.output() {
        Ok(o) if o.status.success() => {
            let err = String::from_utf8_lossy(&o.stderr);
            for line in err.lines().filter(|l| !l.trim().is_empty()) {
                println!("cargo:warning={line}");
            }
        }
        Ok(o) => {
            eprintln!("{}", String::from_utf8_lossy(&o.stdout));
            eprintln!("{}", String::from_utf8_lossy(&o.stderr));
            fail(&format!("failed to {what}: {cmd:?}"));
        }
        Err(e) => fail(&format!("failed to {what}: {cmd:?}: {e}")),
    }
}

/// Compile every source in parallel (cargo's job count); objects named after
/// their path so src/a/x.c and src/b/x.c do not collide.
fn compile_all(
    cc: &str,
    flags: &[String],
    sources: &[PathBuf],
    root: &Path,
    out: &Path,
) -> Vec<PathBuf> {
    let objdir = out.join("obj");
    let _ = fs::remove_dir_all(&objdir);
    fs::create_dir_all(&objdir).unwrap();
    let objs: Vec<PathBuf> = sources
        .iter()
        .map(|s| {
            let rel = s.strip_prefix(root).unwrap_or(s);
            let name = rel.to_string_lossy().replace(['/', '\\', '.'], "_");
            objdir.join(format!("{name}.o"))
        })
        .collect();
    let jobs = env::var("NUM_JOBS")
        .ok()
        .and_then(|j| j.parse::<usize>().ok())
        .unwrap_or(1)
        .clamp(1, 16);
    let next = AtomicUsize::new(0);
    let errors = Mutex::new(Vec::<String>::new());
    std::thread::scope(|s| {
        for _ in 0..jobs {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= sources.len() {
                    break;
                }
                let mut cmd = Command::new(cc);
                cmd.args(flags)
                    .arg("-c")
                    .arg(&sources[i])
                    .arg("-o")
                    .arg(&objs[i]);
                match cmd.output() {
                    Ok(o) if o.status.success() => {
                        let err = String::from_utf8_lossy(&o.stderr);
                        for line in err.lines().filter(|l| !l.trim().is_empty()) {
                            println!("cargo:warning={line}");
                        }
                    }
                    Ok(o) => errors
                        .lock()
                        .unwrap()
                        .push(format!("{cmd:?}\n{}", String::from_utf8_lossy(&o.stderr))),
                    Err(e) => errors.lock().unwrap().push(format!("{cmd:?}: {e}")),
                }
            });
        }
    });
    let errors = errors.into_inner().unwrap();
    if !errors.is_empty() {
        for e in &errors {
            eprintln!("{e}");
        }
        fail("the C library did not compile");
    }
    objs
}

/// The C spelling of a Rust type used in src/ffi.rs.
fn c_type(rust: &str) -> Option<String> {
    let t = rust.trim();
    if let Some(rest) = t.strip_prefix("*mut ") {
        return c_type(rest).map(|c| format!("{c} *"));
    }
    if let Some(rest) = t.strip_prefix("*const ") {
        return c_type(rest).map(|c| format!("const {c} *"));
    }
    let c = match t {
        "" | "()" => "void",
        "c_void" => "void",
        "c_char" => "char",
        "c_int" => "int",
        "c_uint" => "unsigned int",
        "c_ulong" => "unsigned long",
        "usize" => "size_t",
        "i64" => "int64_t",
        "bool" => "bool",
        "Kheap" => "kheap",
        "KheapStats" => "struct kheap_stats",
        "KhKmallocStats" => "struct kh_kmalloc_stats",
        "KhAllocator" => "kh_allocator",
        "KhAtomic" => "kh_atomic_t",
        "KhAtomic64" => "kh_atomic64_t",
        "KhSpinlock" => "kh_spinlock_t",
        "KhRefcount" => "kh_refcount_t",
        "KhErrorHook" => "kh_error_hook_fn",
        _ => return None,
    };
    Some(c.to_string())
}

/// Split "a: T, b: U" at top-level commas.
fn split_args(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut cur = String::new();
    for ch in s.chars() {
        match ch {
            '(' | '<' => depth += 1,
            ')' | '>' => depth -= 1,
            ',' if depth == 0 => {
                out.push(cur.trim().to_string());
                cur.clear();
                continue;
            }
            _ => {}
        }
        cur.push(ch);
    }
    if !cur.trim().is_empty() {
        out.push(cur.trim().to_string());
    }
    out
}

/// Every `pub fn name(args) -> ret;` of src/ffi.rs as a C function pointer of
/// that type initialised with the real function, compiled with -Werror.
fn check_ffi(cc: &str, flags: &[String], ffi: &Path, out: &Path) {
    let text = fs::read_to_string(ffi).unwrap_or_else(|e| fail(&format!("{}: {e}", ffi.display())));
    // Declarations are lines starting with `pub fn` (comments are not),
    // possibly continued up to the `;`.
    let mut decls = Vec::new();
    let mut cur: Option<String> = None;
    for line in text.lines() {
        let t = line.trim();
        if cur.is_none() {
            if let Some(rest) = t.strip_prefix("pub fn ") {
                cur = Some(String::from(rest));
            } else {
                continue;
            }
        } else if let Some(c) = cur.as_mut() {
            c.push(' ');
            c.push_str(t);
        }
        if let Some(c) = cur.take() {
            match c.find(';') {
                Some(end) => decls.push(c[..end].split_whitespace().collect::<Vec<_>>().join(" ")),
                None => cur = Some(c),
            }
        }
    }
    if cur.is_some() {
        fail("src/ffi.rs: `pub fn` without `;`");
    }
    let mut c = String::from(
        "/* Generated by build.rs from src/ffi.rs: each declaration as a C function\n\
         * pointer initialised with the library's function. */\n\
         #include <stdbool.h>\n#include <stddef.h>\n#include <stdint.h>\n\
         #include \"kheap/atomic.h\"\n#include \"kheap/error.h\"\n#include \"kheap/heap.h\"\n\
         #include \"kheap/kmalloc.h\"\n#include \"kheap/port.h\"\n#include \"kheap/refcount.h\"\n\
         #include \"kheap/spinlock.h\"\n\n",
    );
    for d in &decls {
        let open = d
            .find('(')
            .unwrap_or_else(|| fail(&format!("src/ffi.rs: cannot parse `{d}`")));
        let name = d[..open].trim();
        let close = d.rfind(')').unwrap();
        let args = &d[open + 1..close];
        let ret = d[close + 1..]
            .trim()
            .strip_prefix("->")
            .unwrap_or("")
            .trim();
        let ret_c = c_type(ret)
            .unwrap_or_else(|| fail(&format!("src/ffi.rs: {name}: no C type known for `{ret}`")));
        let mut arg_c = Vec::new();
        for a in split_args(args) {
            let ty = a.split_once(':').map(|(_, t)| t).unwrap_or(&a);
            arg_c.push(c_type(ty).unwrap_or_else(|| {
                fail(&format!(
                    "src/ffi.rs: {name}: no C type known for `{}`",
                    ty.trim()
                ))
            }));
        }
        let args_c = if arg_c.is_empty() {
            "void".to_string()
        } else {
            arg_c.join(", ")
        };
        c.push_str(&format!(
            "{ret_c} (*const kh_rs_check_{name})({args_c}) __attribute__((unused)) = {name};\n"
        ));
    }
    let file = out.join("ffi_check.c");
    fs::write(&file, c).unwrap();
    let mut cmd = Command::new(cc);
    cmd.args(flags)
        .args(["-Werror", "-Wno-unused-variable", "-fsyntax-only"])
        .arg(&file);
    match cmd.output() {
        Ok(o) if o.status.success() => {}
        Ok(o) => {
            eprintln!("{}", String::from_utf8_lossy(&o.stderr));
            fail(&format!(
                "src/ffi.rs does not match the C headers (see {}): fix the declaration",
                file.display()
            ));
        }
        Err(e) => fail(&format!("{cmd:?}: {e}")),
    }
    println!("cargo:rustc-env=KHEAP_FFI_CHECKED={}", decls.len());
}

/// The ```rust blocks of README.md preceded by the marker line, each in its
/// own module, for examples/readme.rs. No README (crate copied elsewhere):
/// an empty file.
fn readme_examples(readme: &Path, dest: &Path) {
    const MARK: &str = "<!-- compiled by rust/kheap/examples/readme.rs -->";
    let text = fs::read_to_string(readme).unwrap_or_default();
    let mut out = String::from("// Generated by build.rs from README.md.\n");
    let mut lines = text.lines();
    let mut n = 0;
    while let Some(l) = lines.next() {
        if l.trim() != MARK {
            continue;
        }
        match lines.next() {
            Some(f) if f.trim() == "```rust" => {}
            _ => fail("README.md: the example marker must be followed by a ```rust block"),
        }
        out.push_str(&format!("pub mod readme_example_{n} {{\n"));
        for l in lines.by_ref() {
            if l.trim() == "```" {
                break;
            }
            out.push_str(l);
            out.push('\n');
        }
        out.push_str("}\n");
        n += 1;
    }
    out.push_str(&format!("pub const README_EXAMPLES: usize = {n};\n"));
    fs::write(dest, out).unwrap();
}
