/* SPDX-License-Identifier: MIT */
/* Shadow model of the core heap: see heap_model.h. */
#include "heap_model.h"

#include <string.h>

#include "kheap/config.h"

#define PAT 64

#if defined(__SANITIZE_ADDRESS__)
#define HEAP_MODEL_NOSAN __attribute__((no_sanitize_address))
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HEAP_MODEL_NOSAN __attribute__((no_sanitize_address))
#endif
#endif
#ifndef HEAP_MODEL_NOSAN
#define HEAP_MODEL_NOSAN
#endif

HEAP_MODEL_NOSAN size_t heap_peek(const void *p)
{
    return *(const volatile size_t *)p;
}

HEAP_MODEL_NOSAN void heap_poke(void *p, size_t v)
{
    *(volatile size_t *)p = v;
}

struct kheap_stats heap_stats(const kheap *h)
{
    struct kheap_stats s;
    kheap_stats(h, &s);
    return s;
}

bool heap_stats_same_state(const struct kheap_stats *a, const struct kheap_stats *b)
{
    struct kheap_stats x = *a, y = *b;
    x.failed_allocations = y.failed_allocations = 0;
    x.largest_request = y.largest_request = 0;
    return memcmp(&x, &y, sizeof(x)) == 0;
}

static void fail(struct heap_model *m, const char *why)
{
    if (!m->error) m->error = why;
}

static unsigned char pat_byte(uint32_t seed, size_t i)
{
    return (unsigned char)((seed * 2654435761u) >> 24 ^ (uint32_t)i * 131u);
}

/* Fill [from, size) of the pattern zones (first and last PAT bytes). */
static void fill(unsigned char *p, size_t size, uint32_t seed, size_t from)
{
    for (size_t i = from; i < size && i < PAT; i++) p[i] = pat_byte(seed, i);
    size_t t = size > PAT ? size - PAT : 0;
    if (t < from) t = from;
    for (size_t i = t; i < size; i++) p[i] = pat_byte(seed, i);
}

/* The pattern bytes of a block of `size` that lie below `upto` are intact. */
static int intact(const unsigned char *p, size_t size, uint32_t seed, size_t upto)
{
    size_t n = size < upto ? size : upto;
    for (size_t i = 0; i < n && i < PAT; i++)
        if (p[i] != pat_byte(seed, i)) return 0;
    for (size_t i = size > PAT ? size - PAT : 0; i < n; i++)
        if (p[i] != pat_byte(seed, i)) return 0;
    return 1;
}

static size_t find_pos(const struct heap_model *m, const unsigned char *p)
{
    size_t lo = 0, hi = m->nlive;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (m->live[mid].p < p)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Validate a fresh block and insert it in address order. */
static void add_block(struct heap_model *m, unsigned char *p, size_t size, size_t align)
{
    size_t a = align ? align : KH_ALIGN_DEFAULT;
    if ((uintptr_t)p % a) fail(m, "block misaligned");
    unsigned r;
    for (r = 0; r < m->nregions; r++)
        if (p >= m->lo[r] && p + size <= m->hi[r]) break;
    if (r == m->nregions) fail(m, "block outside every region");
    if (kheap_usable_size(m->h, p) < size) fail(m, "usable size below request");
    size_t i = find_pos(m, p);
    if (i > 0) {
        const struct heap_model_block *b = &m->live[i - 1];
        if (b->p + (b->size ? b->size : 1) > p) fail(m, "block overlaps its predecessor");
    }
    if (i < m->nlive && p + (size ? size : 1) > m->live[i].p) fail(m, "block overlaps successor");
    memmove(&m->live[i + 1], &m->live[i], (m->nlive - i) * sizeof(m->live[0]));
    m->live[i].p = p;
    m->live[i].size = size;
    m->live[i].align = align;
    m->live[i].seed = ++m->next_seed;
    m->nlive++;
    fill(p, size, m->live[i].seed, 0);
}

static void remember_stale(struct heap_model *m, unsigned char *p)
{
    m->stale[m->nstale++ % HEAP_MODEL_STALE] = p;
}

static void remove_at(struct heap_model *m, size_t i)
{
    memmove(&m->live[i], &m->live[i + 1], (m->nlive - i - 1) * sizeof(m->live[0]));
    m->nlive--;
}

int heap_model_init(struct heap_model *m, unsigned char *mem, size_t bytes, unsigned nregions,
                    int adjacent)
{
    return heap_model_init_ex(m, mem, bytes, nregions, adjacent, 0);
}

int heap_model_init_ex(struct heap_model *m, unsigned char *mem, size_t bytes, unsigned nregions,
                       int adjacent, size_t index_bytes)
{
    memset(m, 0, sizeof(*m));
    if (nregions < 1) nregions = 1;
    if (nregions > HEAP_MODEL_MAX_REGIONS) nregions = HEAP_MODEL_MAX_REGIONS;
    size_t piece = bytes / nregions;
    for (unsigned r = 0; r < nregions; r++) {
        /* Odd offsets and a gap so regions do not touch (unless asked). */
        size_t off = r * piece + (r ? 24 + r : 3);
        size_t len = piece - 48 - r;
        if (adjacent && r == nregions - 1 && r > 0) {
            off = (size_t)(m->hi[r - 1] - mem);
            len = bytes - off;
        }
        unsigned char *p = mem + off;
        if (r == 0) {
            /* A small index: the first region that small too (kheap_init_ex
             * sizes the index for at least its region). */
            if (index_bytes && len > index_bytes) len = index_bytes;
            m->h = kheap_init_ex(p, len, index_bytes ? index_bytes : bytes);
            if (!m->h) return -1;
        } else if (!kheap_add_region(m->h, p, len)) {
            return -1;
        }
        if (adjacent && r == nregions - 1 && r > 0) {
            m->hi[m->nregions - 1] = p + len; /* coalesced with the one before */
            continue;
        }
        m->lo[m->nregions] = p;
        m->hi[m->nregions] = p + len;
        m->nregions++;
    }
    m->max_size = bytes / 64 < (1u << 20) ? bytes / 64 : (1u << 20);
    return 0;
}

static size_t pick_size(const struct heap_model *m, uint32_t b)
{
    size_t max = m->max_size;
    switch (b % 8) {
    case 0:
        return 0;
    case 1:
    case 2:
    case 3:
        return (b >> 3) % 257;
    case 4:
    case 5:
        return (b >> 3) % 4097 % (max + 1);
    case 6:
        return (b >> 3) % 65537 % (max + 1);
    default:
        return (b >> 3) % (max + 1);
    }
}

static size_t pick_align(uint32_t a)
{
    switch (a % 16) {
    case 0:
    case 1:
    case 2:
    case 3:
    case 4:
    case 5:
        return 0;
    case 6:
    case 7:
    case 8:
        return (size_t)1 << (a >> 4) % 5; /* 1..16 */
    default:
        return (size_t)1 << (a >> 4) % 17; /* up to 64 KiB */
    }
}

void heap_model_step(struct heap_model *m, uint32_t op, uint32_t a, uint32_t b)
{
    struct kheap_stats before, after;
    m->ops++;
    op %= 16;
    if (m->nlive == 0 || (op < 7 && m->nlive < HEAP_MODEL_MAX_LIVE)) {
        if (m->nlive >= HEAP_MODEL_MAX_LIVE) return;
        size_t size = pick_size(m, b), align = pick_align(a);
        if (!KH_HEAP_FULL && align > KH_ALIGN_DEFAULT) {
            /* The minimal build has no alignments above the default: NULL
             * and the heap unchanged. Then the same request at the default
             * alignment, so the heap fills up as the full build's does. */
            kheap_stats(m->h, &before);
            if ((op == 1 ? kheap_zalloc(m->h, size, align) : kheap_alloc(m->h, size, align)))
                fail(m, "minimal build allocated an alignment above the default");
            kheap_stats(m->h, &after);
            if (!heap_stats_same_state(&before, &after)) fail(m, "refused alloc changed the heap");
            m->refused++;
            align = 0;
        }
        kheap_stats(m->h, &before);
        unsigned char *p =
            op == 1 ? kheap_zalloc(m->h, size, align) : kheap_alloc(m->h, size, align);
        if (!p) {
            m->failures++;
            kheap_stats(m->h, &after);
            if (after.used_bytes != before.used_bytes || after.allocations != before.allocations)
                fail(m, "failed alloc changed the heap");
            return;
        }
        if (op == 1)
            for (size_t i = 0; i < size; i++)
                if (p[i]) {
                    fail(m, "zalloc memory not zero");
                    break;
                }
        add_block(m, p, size, align);
        return;
    }
    size_t i = a % m->nlive;
    struct heap_model_block blk = m->live[i];
    if (!intact(blk.p, blk.size, blk.seed, blk.size)) fail(m, "block contents changed");
    if (op < 12) {
        remove_at(m, i);
        kheap_free(m->h, blk.p);
        remember_stale(m, blk.p);
        return;
    }
    if (op == 15) {
        if (kheap_usable_size(m->h, blk.p) < blk.size) fail(m, "usable size shrank");
        return;
    }
    /* realloc: up or down, sometimes to a new alignment */
    size_t size = op == 12 ? blk.size / 2 : pick_size(m, b);
    size_t align = op == 14 ? pick_align(a >> 8) : blk.align;
    /* The minimal build resizes only within the block (size up to the usable
     * size) and at alignments up to the default: in place, never failing.
     * Anything else it refuses (NULL, nothing changed; checked below). */
    int fits = size <= kheap_usable_size(m->h, blk.p) && align <= KH_ALIGN_DEFAULT;
    kheap_stats(m->h, &before);
    unsigned char *p = kheap_realloc(m->h, blk.p, size, align);
    if (!KH_HEAP_FULL && fits && p != blk.p) fail(m, "minimal build: in-block realloc moved");
    if (!KH_HEAP_FULL && !fits) {
        if (p) fail(m, "minimal build: realloc beyond the block did not return NULL");
        kheap_stats(m->h, &after);
        if (!heap_stats_same_state(&before, &after)) fail(m, "refused realloc changed the heap");
        m->refused++;
    }
    if (!p) {
        if (KH_HEAP_FULL || fits) m->failures++; /* out of memory, not a refusal */
        kheap_stats(m->h, &after);
        if (after.allocations != before.allocations || after.used_bytes != before.used_bytes)
            fail(m, "failed realloc changed the heap");
        if (!intact(blk.p, blk.size, blk.seed, blk.size)) fail(m, "failed realloc lost data");
        return;
    }
    if (!intact(p, blk.size, blk.seed, size)) fail(m, "realloc lost data");
    if (p != blk.p && size <= blk.size && align == blk.align) m->shrink_moves++;
    if (p != blk.p) remember_stale(m, blk.p);
    /* The kept prefix was checked above; add_block refills with a new seed. */
    remove_at(m, i);
    add_block(m, p, size, align);
}

void heap_model_verify(struct heap_model *m)
{
    for (size_t i = 0; i < m->nlive; i++) {
        const struct heap_model_block *b = &m->live[i];
        if (!intact(b->p, b->size, b->seed, b->size)) fail(m, "block contents changed");
    }
    if (kheap_check(m->h) != 0) fail(m, "kheap_check failed");
    struct kheap_stats st;
    kheap_stats(m->h, &st);
    if (st.allocations != m->nlive) fail(m, "allocation count wrong");
    if (st.total_bytes != st.free_bytes + st.used_bytes) fail(m, "stats do not add up");
}

void heap_model_finish(struct heap_model *m)
{
    heap_model_verify(m);
    while (m->nlive) {
        size_t i = m->nlive - 1;
        kheap_free(m->h, m->live[i].p);
        remove_at(m, i);
    }
    if (kheap_check(m->h) != 0) fail(m, "kheap_check failed after freeing all");
    struct kheap_stats st;
    kheap_stats(m->h, &st);
    if (st.used_bytes != 0 || st.allocations != 0) fail(m, "bytes still used after freeing all");
    if (st.free_bytes != st.total_bytes) fail(m, "free bytes != total after freeing all");
    /* One free block per region, unless max_block splits a region (then
     * kheap_check has seen that no two of its pieces could merge). */
    size_t biggest = 0;
    for (unsigned r = 0; r < m->nregions; r++)
        if ((size_t)(m->hi[r] - m->lo[r]) > biggest) biggest = (size_t)(m->hi[r] - m->lo[r]);
    if (biggest <= st.max_block ? st.free_blocks != st.regions : st.free_blocks < st.regions)
        fail(m, "not one free block per region");
}

/* ---- Misuse ------------------------------------------------------------- */

static unsigned misuse_reports;
static int misuse_last;
static void misuse_hook(int code, const char *what, const void *ptr)
{
    (void)what, (void)ptr;
    misuse_reports++;
    misuse_last = code;
}

int heap_model_set_foreign(struct heap_model *m, unsigned char *mem, size_t bytes)
{
    m->other = kheap_init(mem, bytes);
    if (!m->other) return -1;
    for (unsigned i = 0; i < 4; i++) {
        m->other_blocks[i] = kheap_alloc(m->other, 16 + i * 100, 0);
        if (!m->other_blocks[i]) return -1;
    }
    return 0;
}

/* The live block whose bytes (or header) hold address p, or -1. */
static long live_around(const struct heap_model *m, const unsigned char *p)
{
    size_t i = find_pos(m, p + 1);
    if (i == 0) return -1;
    const struct heap_model_block *b = &m->live[i - 1];
    size_t n = kheap_usable_size(m->h, b->p);
    return p < b->p + (n > b->size ? n : b->size) + 2 * sizeof(size_t) ? (long)(i - 1) : -1;
}

static unsigned char *misuse_pointer(struct heap_model *m, unsigned cls, uint32_t b)
{
    const size_t g = KH_ALIGN_DEFAULT;
    switch (cls) {
    case HEAP_MISUSE_STALE: {
        unsigned n = m->nstale < HEAP_MODEL_STALE ? m->nstale : HEAP_MODEL_STALE;
        return n ? m->stale[b % n] : NULL;
    }
    case HEAP_MISUSE_INTERIOR: {
        if (!m->nlive) return NULL;
        const struct heap_model_block *x = &m->live[b % m->nlive];
        size_t span = x->size / g;
        return span ? x->p + g * (1 + (b >> 10) % span) : NULL;
    }
    case HEAP_MISUSE_MISALIGNED:
        return m->nlive ? m->live[b % m->nlive].p + 1 + (b >> 10) % (g - 1) : NULL;
    case HEAP_MISUSE_FOREIGN:
        return m->other ? m->other_blocks[b % 4] : NULL;
    default: {
        /* Past a region's end (before the next one, or after the last), or
         * inside the control block at the first region's start. */
        unsigned r = b % (m->nregions + 1);
        if (r == m->nregions) return (unsigned char *)m->h + g;
        uintptr_t e = (uintptr_t)m->hi[r];
        return (unsigned char *)((e + g - 1) & ~(uintptr_t)(g - 1)) + g * ((b >> 8) % 2);
    }
    }
}

void heap_model_misuse(struct heap_model *m, unsigned cls, uint32_t a, uint32_t b)
{
    cls %= HEAP_MISUSE_CLASSES;
    unsigned char *p = misuse_pointer(m, cls, b);
    if (!p) return;
    if (cls == HEAP_MISUSE_STALE) {
        size_t i = find_pos(m, p);
        if (i < m->nlive && m->live[i].p == p) {
            m->skipped++; /* a live block again: nothing can tell (heap.h says so) */
            return;
        }
    }
    struct kheap_stats before, after;
    kheap_stats(m->h, &before);
    if (!before.hardening) {
        fail(m, "misuse needs a checked heap (hardening level 1 or 2)");
        return;
    }
    m->misuses[cls]++;
    kh_error_hook_fn old = kh_set_error_hook(misuse_hook);
    misuse_reports = 0;
    /* Probe first: a pointer the heap takes for a live block is a collision
     * (allowed with the stated probability): the misuse is not carried
     * out, the heap would free someone else's bytes. */
    size_t got = kheap_usable_size(m->h, p);
    if (got) {
        m->collisions[cls]++;
        if (misuse_reports) fail(m, "probe accepted and reported");
    } else if (misuse_reports != 1) {
        fail(m, "misuse probe not reported once");
    } else {
        misuse_reports = 0;
        long around = live_around(m, p);
        switch (a % 5) {
        case 0:
            kheap_free(m->h, p);
            break;
        case 1:
            if (kheap_realloc(m->h, p, (a >> 8) % 64, 0)) fail(m, "misuse realloc succeeded");
            break;
        case 2:
            if (kheap_realloc(m->h, p, 1000 + (a >> 8) % 100000, (size_t)1 << (a >> 3) % 8))
                fail(m, "misuse realloc succeeded");
            break;
        case 3:
            if (kheap_resize(m->h, p, (a >> 8) % 4096)) fail(m, "misuse resize succeeded");
            break;
        default:
            if (kheap_usable_size(m->h, p)) fail(m, "misuse usable_size answered");
        }
        if (misuse_reports != 1) fail(m, "misuse not reported once");
        if (misuse_last != KH_EFAULT && misuse_last != KH_EDOUBLE && misuse_last != KH_ECORRUPT)
            fail(m, "misuse reported with an unexpected code");
        if (around >= 0) {
            const struct heap_model_block *x = &m->live[around];
            if (!intact(x->p, x->size, x->seed, x->size)) fail(m, "misuse changed a live block");
        }
    }
    kh_set_error_hook(old);
    kheap_stats(m->h, &after);
    if (memcmp(&before, &after, sizeof(before)) != 0) fail(m, "misuse changed the statistics");
    heap_model_verify(m);
    if (m->other && kheap_check(m->other) != 0) fail(m, "misuse changed the other heap");
}

void heap_model_check_collisions(struct heap_model *m)
{
    struct kheap_stats st;
    kheap_stats(m->h, &st);
    for (unsigned c = 0; c < HEAP_MISUSE_CLASSES; c++) {
        if (c != HEAP_MISUSE_STALE && c != HEAP_MISUSE_INTERIOR) {
            if (m->collisions[c]) fail(m, "a misuse that is always caught passed");
            continue;
        }
        if (!st.check_bits) continue;
        /* Expected: tries * 2^-bits. Allowed: 4x that plus 4 (in integers:
         * no floating point on every target). */
        unsigned long long allowed = 4 * m->misuses[c];
        for (unsigned k = 0; k < st.check_bits && allowed; k++) allowed >>= 1;
        if (m->collisions[c] > allowed + 4) fail(m, "more collisions than 2^-bits");
    }
}
