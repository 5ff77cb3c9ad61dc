/* SPDX-License-Identifier: MIT */
/* kheap as the process malloc: what libkheap-malloc.so adds to the standard
 * allocation functions it provides.
 *
 * Build it with `make malloc` (build/lib/libkheap-malloc.so) and use it with
 *     LD_PRELOAD=build/lib/libkheap-malloc.so program
 * or link it. It provides malloc, free, calloc, realloc, reallocarray,
 * memalign, posix_memalign, aligned_alloc, valloc, pvalloc and
 * malloc_usable_size with glibc's semantics (C++ new/delete reach them
 * through malloc). Environment:
 *     KHEAP_MALLOC_STATS=1      one line starting "kheap-malloc:" on stderr
 *                               at exit (the line kh_malloc_stats_line gives)
 *     KHEAP_MALLOC_HARDEN=0|1|2 hardening level (0, the default: fastest;
 *                               1 and 2: every free reaches the core heap's
 *                               checks; see dropin_apply_harden)
 * Programs may look kh_malloc_stats_line up with dlsym(RTLD_DEFAULT, ...) to
 * learn whether they run on kheap.
 */
#ifndef KHEAP_MALLOC_DROPIN_H
#define KHEAP_MALLOC_DROPIN_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Write the statistics line (NUL-terminated, ending in a newline, cut to
 * size - 1 bytes) into buf: key=value fields
 *   calls       allocation and free calls of every kind
 *   malloc calloc realloc aligned free   calls per function family
 *   remote_free blocks freed by a thread other than their heap's owner
 *   live_bytes live_blocks   blocks the program holds (headers included)
 *   peak_bytes  highest live bytes of each heap, summed over heaps
 *   os_bytes os_peak_bytes   memory mapped from the kernel now and at most
 *   heaps idle_heaps         thread heaps, and those waiting for a thread
 *   huge huge_live           blocks mapped on their own: made, still live
 * Returns the length of the full line (as snprintf). Does not allocate. */
size_t kh_malloc_stats_line(char *buf, size_t size);

#ifdef __cplusplus
}
#endif

#endif /* KHEAP_MALLOC_DROPIN_H */
