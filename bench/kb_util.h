/* SPDX-License-Identifier: MIT */
/* kheap benchmark: RNG, clocks, cycle counter and report output. */
#ifndef KB_UTIL_H
#define KB_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* wyrand: fast, good enough for workloads, same sequence for everyone. */
typedef struct kb_rng {
    uint64_t s;
} kb_rng;

static inline kb_rng kb_seed(uint64_t seed)
{
    kb_rng r = {seed * 0x9e3779b97f4a7c15ull + 0x2545f4914f6cdd1dull};
    return r;
}

/* 64x64 -> 128 multiply: one instruction where the compiler has a 128-bit
 * type, else from 32-bit halves. The RNG runs several times per benchmark
 * operation, so its cost would otherwise dilute every allocator ratio. */
static inline void kb_mul128(uint64_t a, uint64_t b, uint64_t *lo, uint64_t *hi)
{
#ifdef __SIZEOF_INT128__
    __extension__ unsigned __int128 p = (unsigned __int128)a * b;
    *lo = (uint64_t)p;
    *hi = (uint64_t)(p >> 64);
#else
    uint64_t al = (uint32_t)a, ah = a >> 32, bl = (uint32_t)b, bh = b >> 32;
    uint64_t ll = al * bl, lh = al * bh, hl = ah * bl, hh = ah * bh;
    uint64_t mid = (ll >> 32) + (uint32_t)lh + (uint32_t)hl;
    *lo = (mid << 32) | (uint32_t)ll;
    *hi = hh + (lh >> 32) + (hl >> 32) + (mid >> 32);
#endif
}

static inline uint64_t kb_next(kb_rng *r)
{
    r->s += 0xa0761d6478bd642full;
    uint64_t a = r->s, b = r->s ^ 0xe7037ed1a0b428dbull;
    uint64_t lo, hi;
    kb_mul128(a, b, &lo, &hi);
    return lo ^ hi;
}

/* Uniform in [lo, hi) (lo when the range is empty), by Lemire's
 * multiply-high reduction instead of a 64-bit division. */
static inline size_t kb_range(kb_rng *r, size_t lo, size_t hi)
{
    if (hi <= lo) return lo;
    uint64_t l, h;
    kb_mul128(kb_next(r), (uint64_t)(hi - lo), &l, &h);
    (void)l;
    return lo + (size_t)h;
}

double kb_now(void);     /* monotonic seconds */
double kb_cpu_now(void); /* this thread's CPU seconds: immune to other load on the machine */

/* Cycle counter: rdtsc fenced with lfence (x86), cntvct_el0 after isb
 * (aarch64), else nanoseconds. */
#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#define KB_CYCLES_NAME "x86 rdtsc, lfence on both sides"
static inline uint64_t kb_cycles(void)
{
    _mm_lfence();
    uint64_t t = __rdtsc();
    _mm_lfence();
    return t;
}
#elif defined(__aarch64__)
#define KB_CYCLES_NAME "aarch64 cntvct_el0 after isb"
static inline uint64_t kb_cycles(void)
{
    uint64_t t;
    __asm__ __volatile__("isb; mrs %0, cntvct_el0" : "=r"(t)::"memory");
    return t;
}
#else
#define KB_CYCLES_NAME "clock_gettime nanoseconds"
uint64_t kb_cycles(void);
#endif

uint64_t kb_cycles_overhead(void); /* min cost of an empty measurement */
void kb_pin_cpu(void);             /* pin the calling thread to its current CPU */

/* Output: everything printed with kb_printf goes to stdout and to
 * OUT/summary.md; kb_target records a target and prints it with met/not met
 * in the summary's last section. */
void kb_summary_open(const char *out, const char *cmd, int argc, char **argv);
void kb_summary_close(void);
void kb_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void kb_section(const char *title, const char *what);
const char *kb_fmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void kb_target(bool met, const char *measured, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
FILE *kb_csv(const char *dir, const char *name, const char *header);

#endif /* KB_UTIL_H */
