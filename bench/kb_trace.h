/* SPDX-License-Identifier: MIT */
/* kheap benchmark: trace conversion and replay (see kb_trace.c). */
#ifndef KB_TRACE_H
#define KB_TRACE_H

#include <stdbool.h>
#include <stdio.h>

#include "kb_alloc.h"

/* Raw recorder output -> compact .kht trace. 0 on success. */
int kb_trace_convert(const char *in, const char *out);

/* Replay every trace through every allocator (each in a fresh child, best
 * time of reps; O(n) allocators once, none in quick mode), print a table
 * and append CSV rows. */
void kb_trace_replay(const kb_alloc *const *allocs, size_t nallocs, const char *const *files,
                     size_t nfiles, unsigned reps, bool quick, FILE *csv);

/* The smallest arena each arena allocator (not the O(n) ones) replays each
 * trace in, by bisection to 1/2000 of the trace's peak live bytes: a table
 * and CSV rows (trace,allocator,arena_bytes,peak_live_bytes,ratio). */
void kb_trace_min_arena(const kb_alloc *const *allocs, size_t nallocs, const char *const *files,
                        size_t nfiles, FILE *csv);

/* Child side of one replay (kh_bench __replay PATH ALLOC FD): writes
 * "seconds footprint failed" to fd and exits. */
int kb_trace_replay_child(const char *path, const char *alloc, int fd);

#endif /* KB_TRACE_H */
