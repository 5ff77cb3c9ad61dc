/* SPDX-License-Identifier: MIT */
/* Static-array memory source (see kheap/sources.h). */
#include "kheap/sources.h"

#include <stdint.h>
#include "../internal/kh_string.h"

#include "kheap/alloc.h"
#include "kheap/config.h"
#include "kheap/error.h"

static size_t granule_of(const struct kh_static_source *s)
{
    return s->granule < KH_ALIGN_DEFAULT ? KH_ALIGN_DEFAULT : s->granule;
}

int kh_static_source_init(struct kh_static_source *s, void *mem, size_t bytes, size_t granule,
                          size_t limit)
{
    if (!s || !mem || !kh_align_valid(granule)) return KH_EINVAL;
    memset(s, 0, sizeof(*s));
    s->granule = granule;
    size_t g = granule_of(s);
    uintptr_t start = (uintptr_t)mem;
    /* Align the start; refuse ranges that wrap or hold no granule. */
    uintptr_t aligned = (start + (g - 1)) & ~(uintptr_t)(g - 1);
    if (aligned < start || aligned - start >= bytes) return KH_ENOMEM;
    size_t usable = (bytes - (size_t)(aligned - start)) & ~(g - 1);
    if (usable == 0) return KH_ENOMEM;
    s->base = (unsigned char *)mem + (aligned - start);
    s->bytes = usable;
    s->limit = limit;
    return KH_OK;
}

size_t kh_static_source_available(const struct kh_static_source *s)
{
    if (!s || !s->base) return 0;
    size_t room = s->bytes - s->top;
    if (s->limit) {
        size_t left = s->limit > s->stats.granted_bytes ? s->limit - s->stats.granted_bytes : 0;
        if (left < room) room = left;
    }
    return room & ~(granule_of(s) - 1);
}

static void *static_grow(void *ctx, size_t min_bytes, size_t *got_bytes)
{
    struct kh_static_source *s = ctx;
    size_t g = granule_of(s);
    if (got_bytes) *got_bytes = 0;
    /* Round up with an overflow check: min_bytes near SIZE_MAX must fail. */
    if (min_bytes == 0 || min_bytes > SIZE_MAX - (g - 1)) goto fail;
    size_t n = (min_bytes + (g - 1)) & ~(g - 1);
    if (n > s->bytes - s->top) goto fail;
    if (s->limit && (s->stats.granted_bytes > s->limit || n > s->limit - s->stats.granted_bytes))
        goto fail;
    unsigned char *p = s->base + s->top;
    s->top += n;
    s->last = p;
    s->stats.granted_bytes += n;
    if (s->stats.granted_bytes > s->stats.peak_bytes) s->stats.peak_bytes = s->stats.granted_bytes;
    s->stats.grants++;
    if (got_bytes) *got_bytes = n;
    return p;
fail:
    s->stats.failures++;
    return NULL;
}

static void static_release(void *ctx, void *mem, size_t bytes)
{
    struct kh_static_source *s = ctx;
    unsigned char *p = mem;
    if (!p) return;
#if KH_CONFIG_CHECKS
    /* Compare as integers: p may point anywhere. */
    uintptr_t lo = (uintptr_t)s->base, hi = lo + s->top, a = (uintptr_t)p;
    if (a < lo || a >= hi || bytes > hi - a || bytes > s->stats.granted_bytes ||
        ((a - lo) & (granule_of(s) - 1)) != 0) {
        kh_report(KH_EFAULT, "kh_static_source: release of memory it did not grant", mem);
        return;
    }
#endif
    s->stats.granted_bytes -= bytes;
    s->stats.releases++;
    if (s->stats.granted_bytes == 0) {
        s->top = 0;
        s->last = NULL;
    } else if (p == s->last && (size_t)(p - s->base) + bytes == s->top) {
        s->top = (size_t)(p - s->base);
        s->last = NULL;
    }
}

static const struct kh_source_ops static_ops = {static_grow, static_release};

struct kh_source kh_static_source(struct kh_static_source *s)
{
    struct kh_source src = {s, &static_ops};
    return src;
}

void kh_static_source_stats(const struct kh_static_source *s, struct kh_source_stats *out)
{
    if (!out) return;
    if (!s) {
        memset(out, 0, sizeof(*out));
        return;
    }
    *out = s->stats;
}
