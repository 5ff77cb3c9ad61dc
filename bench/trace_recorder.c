/* SPDX-License-Identifier: MIT */
/* LD_PRELOAD allocation recorder for kheap's trace replayer.
 *
 *   KB_TRACE=/tmp/prog LD_PRELOAD=build/bench/kb_trace_recorder.so prog args
 *
 * writes /tmp/prog.<pid>.raw for every process that allocates (a compiler
 * driver and its cc1 each get a file). Records are fixed 32-byte raw events
 * (op, two arguments, result); `kh_trace convert` turns them into the compact
 * id-based format the replayer reads. The recorder itself never allocates:
 * it calls glibc's __libc_* entry points, buffers in static memory under a
 * spin lock and writes with write(2).
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);
extern void *__libc_memalign(size_t, size_t);

struct rec {
    uint64_t op; /* 'm' malloc, 'c' calloc, 'r' realloc, 'f' free, 'a' aligned */
    uint64_t a, b, r;
};

#define NBUF 4096
static struct rec buf[NBUF];
static size_t nbuf;
static int fd = -1;
static atomic_flag lock = ATOMIC_FLAG_INIT;
static int off; /* no KB_TRACE: record nothing */

static void flush_locked(void)
{
    if (fd < 0 && !off) {
        const char *p = getenv("KB_TRACE");
        char path[4096];
        if (!p) {
            off = 1;
        } else {
            snprintf(path, sizeof path, "%s.%ld.raw", p, (long)getpid());
            fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
            if (fd < 0) off = 1;
        }
    }
    if (fd >= 0) {
        const char *q = (const char *)buf;
        size_t left = nbuf * sizeof buf[0];
        while (left) {
            ssize_t w = write(fd, q, left);
            if (w <= 0) break;
            q += w;
            left -= (size_t)w;
        }
    }
    nbuf = 0;
}

static void record(uint64_t op, uint64_t a, uint64_t b, const void *r)
{
    if (off) return;
    while (atomic_flag_test_and_set_explicit(&lock, memory_order_acquire)) {
    }
    buf[nbuf++] = (struct rec){op, a, b, (uint64_t)(uintptr_t)r};
    if (nbuf == NBUF) flush_locked();
    atomic_flag_clear_explicit(&lock, memory_order_release);
}

/* The child of fork starts its own file; the parent's buffered events were
 * the parent's. */
static void at_fork_prepare(void)
{
    while (atomic_flag_test_and_set_explicit(&lock, memory_order_acquire)) {
    }
    flush_locked();
}
static void at_fork_parent(void)
{
    atomic_flag_clear_explicit(&lock, memory_order_release);
}
static void at_fork_child(void)
{
    if (fd >= 0) close(fd);
    fd = -1;
    nbuf = 0;
    atomic_flag_clear_explicit(&lock, memory_order_release);
}

__attribute__((constructor)) static void rec_init(void)
{
    pthread_atfork(at_fork_prepare, at_fork_parent, at_fork_child);
}

__attribute__((destructor)) static void rec_fini(void)
{
    while (atomic_flag_test_and_set_explicit(&lock, memory_order_acquire)) {
    }
    flush_locked();
    off = 1;
    atomic_flag_clear_explicit(&lock, memory_order_release);
}

void *malloc(size_t n)
{
    void *p = __libc_malloc(n);
    record('m', n, 0, p);
    return p;
}

void *calloc(size_t n, size_t s)
{
    void *p = __libc_calloc(n, s);
    record('c', n, s, p);
    return p;
}

void *realloc(void *old, size_t n)
{
    void *p = __libc_realloc(old, n);
    record('r', (uint64_t)(uintptr_t)old, n, p);
    return p;
}

void free(void *p)
{
    if (p) record('f', (uint64_t)(uintptr_t)p, 0, NULL);
    __libc_free(p);
}

void *memalign(size_t align, size_t n)
{
    void *p = __libc_memalign(align, n);
    record('a', align, n, p);
    return p;
}

void *aligned_alloc(size_t align, size_t n)
{
    return memalign(align, n);
}

void *valloc(size_t n)
{
    return memalign((size_t)sysconf(_SC_PAGESIZE), n);
}

int posix_memalign(void **out, size_t align, size_t n)
{
    if (align < sizeof(void *) || (align & (align - 1))) return 22; /* EINVAL */
    void *p = memalign(align, n);
    if (!p) return 12; /* ENOMEM */
    *out = p;
    return 0;
}
