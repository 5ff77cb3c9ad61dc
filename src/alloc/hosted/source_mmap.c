/* SPDX-License-Identifier: MIT */
/* Hosted mmap memory source (see kheap/sources.h). */
#include "kheap/sources.h"

#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kheap/error.h"

int kh_mmap_source_init(struct kh_mmap_source *s, size_t limit)
{
    if (!s) return KH_EINVAL;
    memset(s, 0, sizeof(*s));
    long pg = sysconf(_SC_PAGESIZE);
    s->page = pg > 0 ? (size_t)pg : 4096;
    s->limit = limit;
    return KH_OK;
}

static void *map(size_t n)
{
    void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

static void *mmap_grow(void *ctx, size_t min_bytes, size_t *got_bytes)
{
    struct kh_mmap_source *s = ctx;
    size_t pg = s->page;
    if (got_bytes) *got_bytes = 0;
    if (min_bytes == 0 || min_bytes > SIZE_MAX - (pg - 1)) goto fail;
    size_t n = (min_bytes + (pg - 1)) & ~(pg - 1);
    if (s->limit && (s->stats.granted_bytes > s->limit || n > s->limit - s->stats.granted_bytes))
        goto fail;
    void *p;
    if ((n & (n - 1)) == 0 && n > pg) {
        /* Power of two: map twice, keep the aligned half, unmap the rest. */
        if (n > SIZE_MAX / 2) goto fail;
        unsigned char *raw = map(2 * n);
        if (!raw) goto fail;
        uintptr_t a = ((uintptr_t)raw + (n - 1)) & ~(uintptr_t)(n - 1);
        unsigned char *al = raw + (a - (uintptr_t)raw);
        size_t head = (size_t)(al - raw), tail = n - head;
        if (head) munmap(raw, head);
        if (tail) munmap(al + n, tail);
        p = al;
    } else {
        p = map(n);
        if (!p) goto fail;
    }
    s->stats.granted_bytes += n;
    if (s->stats.granted_bytes > s->stats.peak_bytes) s->stats.peak_bytes = s->stats.granted_bytes;
    s->stats.grants++;
    if (got_bytes) *got_bytes = n;
    return p;
fail:
    s->stats.failures++;
    return NULL;
}

static void mmap_release(void *ctx, void *mem, size_t bytes)
{
    struct kh_mmap_source *s = ctx;
    if (!mem) return;
    if (bytes > s->stats.granted_bytes || ((uintptr_t)mem & (s->page - 1)) != 0 ||
        munmap(mem, bytes) != 0) {
        kh_report(KH_EFAULT, "kh_mmap_source: release of memory it did not grant", mem);
        return;
    }
    s->stats.granted_bytes -= bytes;
    s->stats.releases++;
}

static const struct kh_source_ops mmap_ops = {mmap_grow, mmap_release};

struct kh_source kh_mmap_source(struct kh_mmap_source *s)
{
    struct kh_source src = {s, &mmap_ops};
    return src;
}

void kh_mmap_source_stats(const struct kh_mmap_source *s, struct kh_source_stats *out)
{
    if (!out) return;
    if (!s) {
        memset(out, 0, sizeof(*out));
        return;
    }
    *out = s->stats;
}
