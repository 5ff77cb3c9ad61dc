/* SPDX-License-Identifier: MIT */
/* kheap version. The CMake package (kheapConfigVersion.cmake) and the
 * pkg-config file (kheap.pc) take it from here; CHANGELOG.md's newest entry
 * and the Rust crate (rust/kheap/Cargo.toml) name it too, and `make test`
 * checks that all of them agree.
 *
 * Versions follow semantic versioning. Before 1.0 a minor release may change
 * the API, so the CMake package accepts a request for the same major.minor
 * only: find_package(kheap 0.1) finds 0.1.x and refuses 0.2.
 *
 * kh_version() returns the version the library was built as: compare it with
 * KHEAP_VERSION_STRING to catch headers and a library from different
 * releases.
 */
#ifndef KHEAP_VERSION_H
#define KHEAP_VERSION_H

#define KHEAP_VERSION_MAJOR  0
#define KHEAP_VERSION_MINOR  1
#define KHEAP_VERSION_PATCH  0
#define KHEAP_VERSION_STRING "0.1.0"
/* One number for #if: MAJOR * 10000 + MINOR * 100 + PATCH. */
#define KHEAP_VERSION_NUMBER                                                                       \
    (KHEAP_VERSION_MAJOR * 10000 + KHEAP_VERSION_MINOR * 100 + KHEAP_VERSION_PATCH)

#ifdef __cplusplus
extern "C" {
#endif

/* The library's KHEAP_VERSION_STRING, as it was built. */
const char *kh_version(void);

#ifdef __cplusplus
}
#endif

#endif /* KHEAP_VERSION_H */
