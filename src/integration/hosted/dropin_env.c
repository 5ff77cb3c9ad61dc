/* SPDX-License-Identifier: MIT */
/* kheap malloc drop-in: options from the environment, hardening levels, the
 * statistics line and fatal errors. Nothing here allocates: it runs inside
 * malloc and at exit, when the C library may be half torn down, so output is
 * formatted by hand and written with write(2). */
#if defined(KH_MALLOC_DROPIN) && KH_MALLOC_DROPIN

#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dropin.h"
#include "kheap/error.h"
#include "kheap/malloc_dropin.h"
#include "kheap/port.h"

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

static _Noreturn void fatal(const char *code, const char *what, const void *ptr);

/* Find name=value in the environment. Before the C library has set up
 * environ (the dynamic loader allocates that early), the process's initial
 * environment is read from /proc/self/environ, which needs no allocation:
 * the hardening level must be known when the first heap is made. Copies at
 * most n - 1 bytes of the value into buf; false when the name is absent. */
static bool env_find(const char *name, char *buf, size_t n)
{
    extern char **environ;
    if (environ) {
        const char *v = getenv(name);
        if (!v) return false;
        size_t i = 0;
        for (; v[i] && i + 1 < n; i++) buf[i] = v[i];
        buf[i] = '\0';
        return true;
    }
    int fd = open("/proc/self/environ", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    size_t nl = strlen(name), at = 0, len = 0;
    bool match = true, found = false;
    char chunk[512];
    ssize_t got;
    while (!found && (got = read(fd, chunk, sizeof(chunk))) > 0) {
        for (ssize_t k = 0; k < got; k++) {
            char c = chunk[k];
            if (c == '\0') { /* end of one NAME=value entry */
                if (match && at > nl) {
                    found = true;
                    break;
                }
                at = len = 0;
                match = true;
                continue;
            }
            if (match && at < nl) {
                match = c == name[at];
            } else if (match && at == nl) {
                match = c == '=';
            } else if (match && len + 1 < n) {
                buf[len++] = c;
            }
            at++;
        }
    }
    close(fd);
    buf[found ? len : 0] = '\0';
    return found;
}

/* A single digit 0..max, else a warning on stderr and dflt. */
static int env_level(const char *name, int max, int dflt)
{
    char v[16];
    if (!env_find(name, v, sizeof(v))) return dflt;
    if (v[0] >= '0' && v[0] <= '0' + max && v[1] == '\0') return v[0] - '0';
    say("kheap-malloc: ignoring ");
    say(name);
    say("=");
    say(v);
    say(max == 1 ? " (expected 0 or 1)\n" : " (expected 0, 1 or 2)\n");
    return dflt;
}

/* Read once: from environ when the C library has set it up, else from the
 * initial environment (the first allocations may come before environ). */
void dropin_read_env(void)
{
    static int done;
    if (done) return;
    done = 1;
    dropin_opt.stats = env_level("KHEAP_MALLOC_STATS", 1, 0);
    dropin_opt.harden = env_level("KHEAP_MALLOC_HARDEN", 2, 0);
}

/* Apply hardening level 0, 1 or 2 to a new heap (no block allocated yet).
 *  - The core heap checks at that level (kheap_set_hardening): level 1
 *    validates every pointer handed back, level 2 adds canaries after each
 *    block and poisoned free memory. Misuse it finds ends the process with
 *    a message (dropin_misuse_hook), as glibc's checks do.
 *  - Level 0 keeps a small per-thread cache of freed small blocks in front
 *    of the core heap (fastest); levels 1 and 2 turn it off, so every free
 *    reaches the core heap's checks at once, and take the heap's lock on
 *    every core heap call, so another thread's free is checked at once too
 *    (not queued for the owner) and no check reads a neighbour the owner is
 *    rewriting. */
void dropin_apply_harden(struct dropin_heap *h, int level)
{
    if (!kheap_set_hardening(h->kh, (unsigned)level)) {
        dropin_fatal("cannot set the hardening level", h);
    }
    if (level > 0) (void)kheap_set_secret(h->kh, dropin_entropy());
    h->cache_on = level == 0;
    h->locked = level > 0;
    h->harden = level;
}

uint64_t dropin_entropy(void)
{
    uint64_t e = (uint64_t)(uintptr_t)&e;
    (void)kh_port_entropy(&e, sizeof(e));
    return e;
}

/* The core heap found misuse (a pointer it did not hand out, a double free,
 * an overwritten canary or poison): name it and end the process. Other
 * reports (none are expected from the drop-in's calls) are ignored. */
void dropin_misuse_hook(int code, const char *what, const void *ptr)
{
    switch (code) {
    case KH_EFAULT:
    case KH_EDOUBLE:
    case KH_ECORRUPT:
    case KH_EHEAP_CANARY:
    case KH_EHEAP_POISON:
        fatal(kh_strerror(code), what ? what : "misuse", ptr);
    default:
        break;
    }
}

/* "kheap-malloc: [code: ]what: 0x<ptr>" on stderr, then abort. */
static _Noreturn void fatal(const char *code, const char *what, const void *ptr)
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
    if (code) {
        say(code);
        say(": ");
    }
    say(what);
    say(": ");
    say(hex + i);
    abort();
}

_Noreturn void dropin_fatal(const char *what, const void *ptr)
{
    fatal(NULL, what, ptr);
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
