/* SPDX-License-Identifier: MIT */
/* kheap malloc drop-in: options from the environment, hardening levels, the
 * statistics line and fatal errors. Nothing here allocates: it runs inside
 * malloc and at exit, when the C library may be half torn down, so output is
 * formatted by hand and written with write(2). */
#if defined(KH_MALLOC_DROPIN) && KH_MALLOC_DROPIN

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dropin.h"
#include "kheap/malloc_dropin.h"

struct dropin_options dropin_opt;
static kh_atomic64_t heapless_frees;

static void say(const char *s)
{
    size_t n = strlen(s);
    while (n) {
        ssize_t w = write(2, s, n);
        if (w <= 0) return;
        s += w;
        n -= (size_t)w;
    }
}

/* A single digit 0..max, else a warning on stderr and dflt. */
static int env_level(const char *name, int max, int dflt)
{
    const char *v = getenv(name);
    if (!v) return dflt;
    if (v[0] >= '0' && v[0] <= '0' + max && v[1] == '\0') return v[0] - '0';
    say("kheap-malloc: ignoring ");
    say(name);
    say("=");
    say(v);
    say(max == 1 ? " (expected 0 or 1)\n" : " (expected 0, 1 or 2)\n");
    return dflt;
}

/* Read once, as soon as the C library has set up the environment (the first
 * allocations may come before it has: they run with the defaults). */
void dropin_read_env(void)
{
    static int done;
    extern char **environ;
    if (done || !environ) return;
    done = 1;
    dropin_opt.stats = env_level("KHEAP_MALLOC_STATS", 1, 0);
    dropin_opt.harden = env_level("KHEAP_MALLOC_HARDEN", 2, 0);
}

/* Apply hardening level 0, 1 or 2 to a thread heap (when the heap is made or
 * taken over by a thread, so every heap runs at the process's level).
 *  - The drop-in's own part: level 0 keeps a small per-thread cache of freed
 *    small blocks in front of the core heap (fastest); levels 1 and 2 turn it
 *    off, so every free reaches the core heap, where its checks see double
 *    and invalid frees at once instead of when a cached block is reused.
 *  - The core heap's part: this is the one place that forwards the level to
 *    the core heap's per-heap hardening setting (kheap_set_harden(h->kh,
 *    level) once the core heap has that setting); the core heap then does
 *    the checks of that level on every call. */
void dropin_apply_harden(struct dropin_heap *h, int level)
{
    if (level > 0) dropin_heap_flush_cache(h);
    h->cache_on = level == 0;
    h->harden = level;
}

_Noreturn void dropin_fatal(const char *what, const void *ptr)
{
    char hex[2 + 2 * sizeof(void *) + 2];
    uintptr_t v = (uintptr_t)ptr;
    size_t i = sizeof(hex) - 1;
    hex[i--] = '\0';
    hex[i--] = '\n';
    do {
        hex[i--] = "0123456789abcdef"[v & 15];
        v >>= 4;
    } while (v && i > 1);
    hex[i--] = 'x';
    hex[i] = '0';
    say("kheap-malloc: ");
    say(what);
    say(": ");
    say(hex + i);
    abort();
}

void dropin_count_heapless_free(void)
{
    kh_atomic64_inc(&heapless_frees);
}

/* --- The statistics line -------------------------------------------------- */

struct out {
    char *buf;
    size_t size, len;
};

static void put(struct out *o, const char *s)
{
    for (; *s; s++, o->len++)
        if (o->len + 1 < o->size) o->buf[o->len] = *s;
}

static void put_field(struct out *o, const char *key, size_t v)
{
    char d[24];
    size_t i = sizeof(d) - 1;
    d[i] = '\0';
    do {
        d[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    put(o, " ");
    put(o, key);
    put(o, "=");
    put(o, d + i);
}

DROPIN_API size_t kh_malloc_stats_line(char *buf, size_t size)
{
    struct dropin_totals t;
    memset(&t, 0, sizeof(t));
    dropin_heap_totals(&t);
    dropin_huge_totals(&t);
    t.frees += (size_t)kh_atomic64_read(&heapless_frees);
    struct out o = {buf, size, 0};
    put(&o, "kheap-malloc:");
    put_field(&o, "calls", t.mallocs + t.callocs + t.reallocs + t.aligned + t.frees);
    put_field(&o, "malloc", t.mallocs);
    put_field(&o, "calloc", t.callocs);
    put_field(&o, "realloc", t.reallocs);
    put_field(&o, "aligned", t.aligned);
    put_field(&o, "free", t.frees);
    put_field(&o, "remote_free", t.remote_frees);
    put_field(&o, "live_bytes", t.used);
    put_field(&o, "live_blocks", t.blocks);
    put_field(&o, "peak_bytes", t.peak_used);
    put_field(&o, "os_bytes", t.os_bytes);
    put_field(&o, "os_peak_bytes", t.os_peak);
    put_field(&o, "heaps", t.heaps);
    put_field(&o, "idle_heaps", t.abandoned);
    put_field(&o, "huge", t.huge_allocs);
    put_field(&o, "huge_live", t.huge_live);
    put(&o, "\n");
    if (size) buf[o.len < size ? o.len : size - 1] = '\0';
    return o.len;
}

/* At exit (after the program's own destructors and atexit handlers). */
__attribute__((destructor)) static void dropin_report(void)
{
    if (!dropin_opt.stats) return;
    char line[512];
    kh_malloc_stats_line(line, sizeof(line));
    say(line);
}

#else
typedef int kh_dropin_env_unused; /* built only for libkheap-malloc.so */
#endif
