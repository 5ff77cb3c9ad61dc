/* SPDX-License-Identifier: MIT */
/* kheap benchmark: clocks, CPU pinning and report output (kb_util.h). */
#include "kb_util.h"

#include <sched.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

double kb_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

double kb_cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

#if !defined(__x86_64__) && !defined(__i386__) && !defined(__aarch64__)
uint64_t kb_cycles(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
#endif

uint64_t kb_cycles_overhead(void)
{
    uint64_t best = UINT64_MAX;
    for (int i = 0; i < 100000; i++) {
        uint64_t t0 = kb_cycles(), t1 = kb_cycles();
        if (t1 - t0 < best) best = t1 - t0;
    }
    return best;
}

void kb_pin_cpu(void)
{
    int cpu = sched_getcpu();
    if (cpu < 0) return;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    sched_setaffinity(0, sizeof set, &set);
}

static FILE *md;
static char targets[8192];
static size_t tlen;

void kb_summary_open(const char *out, const char *cmd, int argc, char **argv)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/summary-%s.md", out, cmd);
    md = fopen(path, "w");
    if (!md) {
        perror(path);
        exit(1);
    }
    fprintf(md, "Command: `");
    for (int i = 0; i < argc; i++) fprintf(md, "%s%s", i ? " " : "", argv[i]);
    fprintf(md, "`\n");
}

void kb_summary_close(void)
{
    if (tlen) {
        kb_section("Targets", NULL);
        kb_printf("\n| target | measured | |\n|---|---|---|\n%s", targets);
    }
    fclose(md);
    md = NULL;
}

void kb_printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    if (md) {
        va_start(ap, fmt);
        vfprintf(md, fmt, ap);
        va_end(ap);
    }
    fflush(stdout);
}

void kb_section(const char *title, const char *what)
{
    kb_printf("\n## %s\n", title);
    if (what) kb_printf("\n%s\n", what);
}

const char *kb_fmt(const char *fmt, ...)
{
    static char buf[4][128];
    static unsigned k;
    char *b = buf[k++ & 3];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b, sizeof buf[0], fmt, ap);
    va_end(ap);
    return b;
}

void kb_target(bool met, const char *measured, const char *fmt, ...)
{
    char d[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d, sizeof d, fmt, ap);
    va_end(ap);
    int n = snprintf(targets + tlen, sizeof targets - tlen, "| %s | %s | %s |\n", d, measured,
                     met ? "met" : "**not met**");
    if (n > 0 && (size_t)n < sizeof targets - tlen) tlen += (size_t)n;
}

FILE *kb_csv(const char *dir, const char *name, const char *header)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        exit(1);
    }
    fprintf(f, "%s\n", header);
    return f;
}
