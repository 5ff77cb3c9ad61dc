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
 *     KHEAP_MALLOC_HARDEN=0|1|2 the core heap's hardening level
 *                               (kheap/heap.h, "Misuse"), for every heap:
 *         0 (default) fastest: no checks, a per-thread cache of small
 *           freed blocks in front of the core heap; misuse corrupts memory.
 *         1 every free, realloc and malloc_usable_size is validated, also
 *           another thread's (under that heap's lock, taken at levels 1 and
 *           2 only): a double, interior, stale or foreign pointer ends the
 *           process with a "kheap-malloc: KH_E...: ..." line on stderr
 *           (abort), as glibc's checks do. About 5x slower than level 0
 *           (no front cache, a lock per call): 5M operations of
 *           malloc_stress's bench take 0.54 s against 0.11 s (glibc 0.16 s);
 *           level 2 0.79 s.
 *         2 level 1, plus a canary after every block (a write past the
 *           requested size is reported at free) and poisoned free memory
 *           (a write after free is reported when the memory is handed out
 *           again). Free memory then stays resident: it is never given back
 *           to the kernel (a released page would lose its poison).
 *       Misuse that leaves no trace in the heap (a write inside a block's
 *       own size, a stale pointer that is again the start of a live block)
 *       is not caught at any level.
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
