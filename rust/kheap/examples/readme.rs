// SPDX-License-Identifier: MIT
//! The README's firmware examples, compiled exactly as written: build.rs
//! copies every ```rust block marked for it into $OUT_DIR/readme_example.rs,
//! and `cargo test` builds this example (as an rlib: nothing runs).
#![no_std]
#![deny(unused)]

include!(concat!(env!("OUT_DIR"), "/readme_example.rs"));

// A README without marked examples would make this check vacuous.
const _: () = assert!(README_EXAMPLES > 0, "README.md has no marked Rust example");
