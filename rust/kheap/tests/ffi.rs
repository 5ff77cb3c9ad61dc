// SPDX-License-Identifier: MIT
//! The Rust declarations against the C library as built: sizes, offsets,
//! constants (csrc/ffi_facts.c), error codes and names.

use kheap::selftest::{self, Mismatch};
use kheap::Error;

#[test]
fn every_c_fact_matches_rust() {
    let n = selftest::check_ffi_layout().expect("FFI layout differs from the C headers");
    assert_eq!(n, selftest::rust_facts().len());
    assert!(n >= 60, "only {n} facts compared");
}

#[test]
fn the_comparison_catches_each_kind_of_mismatch() {
    let c = [("size a", 8usize), ("size b", 4)];
    assert_eq!(
        selftest::compare(c.iter().copied(), &[("size a", 8), ("size b", 4)]),
        Ok(2)
    );
    assert_eq!(
        selftest::compare(c.iter().copied(), &[("size a", 8), ("size b", 8)]),
        Err(Mismatch::Value {
            name: "size b",
            c: 4,
            rust: 8
        })
    );
    assert_eq!(
        selftest::compare(c.iter().copied(), &[("size a", 8)]),
        Err(Mismatch::MissingInRust("size b"))
    );
    assert_eq!(
        selftest::compare(
            c.iter().copied(),
            &[("size a", 8), ("size b", 4), ("size c", 1)]
        ),
        Err(Mismatch::MissingInC("size c"))
    );
}

#[test]
fn every_ffi_function_was_checked_against_the_headers() {
    let n: usize = selftest::FFI_FUNCTIONS_CHECKED.parse().unwrap();
    // kheap_*, kmalloc, port, 2 x 22 atomics, spin locks, refcounts.
    assert!(n >= 90, "build.rs checked only {n} declarations");
}

#[test]
fn error_codes_round_trip_and_have_the_c_names() {
    let all = [
        (Error::NoMem, "KH_ENOMEM"),
        (Error::Inval, "KH_EINVAL"),
        (Error::Overflow, "KH_EOVERFLOW"),
        (Error::Fault, "KH_EFAULT"),
        (Error::Double, "KH_EDOUBLE"),
        (Error::Corrupt, "KH_ECORRUPT"),
        (Error::Busy, "KH_EBUSY"),
        (Error::Range, "KH_ERANGE"),
        (Error::NoEnt, "KH_ENOENT"),
    ];
    for (e, name) in all {
        assert_eq!(Error::from_code(e.code()), e);
        assert_eq!(e.name(), name);
        assert_eq!(std::format!("{e}"), name);
        assert_eq!(Error::check(e.code()), Err(e));
    }
    assert_eq!(Error::check(0), Ok(()));
    assert_eq!(Error::from_code(-42), Error::Other(-42));
    assert_eq!(Error::Other(-42).name(), "KH_E?");
    assert_eq!(Error::from(kheap::AllocError), Error::NoMem);
}
