/* SPDX-License-Identifier: MIT */
/* Slab caches and the kmalloc-style size-class front end (see kheap/slab.h). */
#include "kheap/slab.h"

#include "../internal/kh_bits.h"
#include "../internal/kh_string.h"

#include "kheap/error.h"
#include "kheap/port.h"

#define CACHE_LIVE 0x5ab1cac7u
#define CACHE_DEAD 0xdeadcac7u
#define KMEM_LIVE  0x6b6d656du
#define KMEM_DEAD  0xdead6d65u

enum { LIST_PARTIAL, LIST_FULL, LIST_EMPTY }; /* LIST_FULL: on no list */

struct kh_slab {
    struct kh_slab *prev, *next;
    struct kh_slab_cache *cache;
    unsigned char *free; /* first free object; links at obj + link_off */
    uintptr_t cookie;
    void *grant; /* what the backing handed out (may start before the slab) */
    size_t grant_bytes;
    unsigned inuse;
    unsigned char list;
    unsigned char map[KH_SLAB_MAX_OBJECTS / 8]; /* bit set = allocated */
};

static size_t round_up(size_t n, size_t a, bool *ok)
{
    if (n > SIZE_MAX - (a - 1)) {
        *ok = false;
        return 0;
    }
    return (n + (a - 1)) & ~(a - 1);
}

static bool cache_live(const struct kh_slab_cache *c, const char *what)
{
    if (c && c->magic == CACHE_LIVE) return true;
#if KH_CONFIG_CHECKS
    kh_report(KH_EINVAL, what, c);
#else
    (void)what;
#endif
    return false;
}

/* ---- address table (checked builds) ----
 * Keys are slab bases or block addresses (never 0), values the owning
 * cache (a pointer: low bit 0) or a large block's size (size << 1 | 1). */

#if KH_CONFIG_CHECKS
#define TAB_MIN_CAP 16u

static inline size_t tab_home(const struct kh_slab_table *t, uintptr_t key)
{
    return (size_t)(((uint64_t)key * 0x9E3779B97F4A7C15ull) >> t->shift);
}

/* Slot holding key, or SIZE_MAX. */
static inline size_t tab_find(const struct kh_slab_table *t, uintptr_t key)
{
    if (!t->cap) return SIZE_MAX;
    size_t mask = t->cap - 1;
    for (size_t i = tab_home(t, key);; i = (i + 1) & mask) {
        uintptr_t k = t->slot[2 * i];
        if (k == key) return i;
        if (!k) return SIZE_MAX;
    }
}

static inline uintptr_t tab_get(const struct kh_slab_table *t, uintptr_t key)
{
    size_t i = tab_find(t, key);
    return i == SIZE_MAX ? 0 : t->slot[2 * i + 1];
}

static void tab_insert(struct kh_slab_table *t, uintptr_t key, uintptr_t val)
{
    size_t mask = t->cap - 1, i = tab_home(t, key);
    while (t->slot[2 * i]) i = (i + 1) & mask;
    t->slot[2 * i] = key;
    t->slot[2 * i + 1] = val;
    t->count++;
}

#endif

static void tab_release(struct kh_slab_table *t, uintptr_t *slot, size_t bytes)
{
    if (!slot) return;
    if (t->mem.ops)
        t->mem.ops->free(t->mem.ctx, slot, bytes, 0);
    else if (t->src.ops->release)
        t->src.ops->release(t->src.ctx, slot, bytes);
}

#if KH_CONFIG_CHECKS
/* Room for one more entry: doubles the table (a new block, entries moved,
 * the old block given back). False, nothing changed, when there is no
 * memory, or the memory would come from a source and flags forbid that. */
static bool tab_reserve(struct kh_slab_table *t, unsigned flags)
{
    if (2 * (t->count + 1) <= t->cap) return true;
    size_t cap = t->cap ? 2 * t->cap : TAB_MIN_CAP;
    if (cap > SIZE_MAX / (2 * sizeof(uintptr_t))) return false;
    size_t bytes = cap * 2 * sizeof(uintptr_t), got = bytes;
    uintptr_t *slot;
    if (t->mem.ops) {
        slot = t->mem.ops->alloc(t->mem.ctx, bytes, 0, flags & ~KH_GFP_ZERO);
    } else {
        if (!t->src.ops || (flags & (KH_GFP_ATOMIC | KH_GFP_NOGROW))) return false;
        slot = t->src.ops->grow(t->src.ctx, bytes, &got);
        if (slot && got < bytes) {
            if (t->src.ops->release) t->src.ops->release(t->src.ctx, slot, got);
            slot = NULL;
        }
        /* A grant bigger than asked: use all of it (a power of two). */
        while (slot && got / 2 >= bytes && cap <= SIZE_MAX / (4 * sizeof(uintptr_t))) {
            cap *= 2;
            bytes *= 2;
        }
    }
    if (!slot) return false;
    struct kh_slab_table old = *t;
    memset(slot, 0, bytes);
    t->slot = slot;
    t->cap = cap;
    t->bytes = got;
    t->count = 0;
    t->shift = 64 - kh_log2_floor(cap);
    for (size_t i = 0; i < old.cap; i++)
        if (old.slot[2 * i]) tab_insert(t, old.slot[2 * i], old.slot[2 * i + 1]);
    tab_release(t, old.slot, old.bytes);
    return true;
}

static bool tab_add(struct kh_slab_table *t, uintptr_t key, uintptr_t val, unsigned flags)
{
    if (!tab_reserve(t, flags)) return false;
    tab_insert(t, key, val);
    return true;
}

#endif

/* Give the table's block back; the table is empty and usable again. */
static void tab_destroy(struct kh_slab_table *t)
{
    tab_release(t, t->slot, t->bytes);
    t->slot = NULL;
    t->cap = t->count = t->bytes = 0;
}

#if KH_CONFIG_CHECKS
/* Remove key (present): backward shift, so lookups need no tombstones. */
static void tab_del(struct kh_slab_table *t, uintptr_t key)
{
    size_t i = tab_find(t, key);
    if (i == SIZE_MAX) return;
    size_t mask = t->cap - 1;
    for (size_t j = (i + 1) & mask; t->slot[2 * j]; j = (j + 1) & mask) {
        size_t home = tab_home(t, t->slot[2 * j]);
        /* Entry j may move to the hole at i unless its home lies in (i, j]. */
        bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (stays) continue;
        t->slot[2 * i] = t->slot[2 * j];
        t->slot[2 * i + 1] = t->slot[2 * j + 1];
        i = j;
    }
    t->slot[2 * i] = 0;
    t->slot[2 * i + 1] = 0;
    /* An empty table gives its block back: nothing is left behind once
     * every slab and block is gone. */
    if (--t->count == 0) tab_destroy(t);
}

#endif

static void tab_init(struct kh_slab_table *t, kh_allocator mem, struct kh_source src)
{
    memset(t, 0, sizeof(*t));
    t->mem = mem;
    if (!mem.ops) t->src = src;
}

/* ---- geometry ---- */

/* Slab layout: objects from offset 0 (so every alignment up to the slab's
 * comes free), the header after them, then TAIL bytes left unused: a heap
 * puts the next block's header there, so aligned slabs taken one after
 * another from a heap pack with no gap between them (a full-size slab would
 * push the next aligned one a whole slab further and waste half the heap). */
#define TAIL ((size_t)KH_ALIGN_DEFAULT)

/* Offset of the header in a slab of slab_bytes, or 0 when it does not fit. */
static size_t hdr_off_for(size_t slab_bytes)
{
    if (slab_bytes < TAIL + sizeof(struct kh_slab)) return 0;
    return (slab_bytes - TAIL - sizeof(struct kh_slab)) & ~(TAIL - 1);
}

static size_t objs_for(size_t slab_bytes, size_t stride)
{
    size_t n = hdr_off_for(slab_bytes) / stride;
    return n > KH_SLAB_MAX_OBJECTS ? KH_SLAB_MAX_OBJECTS : n;
}

int kh_slab_cache_create(struct kh_slab_cache *c, const struct kh_slab_cache_config *cfg)
{
    if (!c || !cfg || cfg->size == 0 || !kh_align_valid(cfg->align)) return KH_EINVAL;
    bool have_source = cfg->source.ops && cfg->source.ops->grow;
    if (!have_source && !(cfg->pages.ops && cfg->pages.ops->alloc)) return KH_EINVAL;
    if (cfg->slab_bytes && (!kh_align_valid(cfg->slab_bytes) || cfg->slab_bytes < 256))
        return KH_EINVAL;
    size_t align = cfg->align ? cfg->align : KH_ALIGN_DEFAULT;
    bool ok = true;
    size_t link_off = 0, stride;
    if (cfg->ctor) {
        /* Link after the object so free keeps constructed bytes intact. */
        link_off = round_up(cfg->size, sizeof(void *), &ok);
        stride = ok && link_off <= SIZE_MAX - sizeof(void *) ? link_off + sizeof(void *) : 0;
        if (!stride) ok = false;
        stride = round_up(stride, align, &ok);
    } else {
        stride = round_up(cfg->size < sizeof(void *) ? sizeof(void *) : cfg->size, align, &ok);
    }
    if (!ok) return KH_EOVERFLOW;

    size_t slab_bytes = cfg->slab_bytes;
    if (!slab_bytes) {
        /* Smallest slab wasting at most 1/4 (header, alignment, tail): small
         * slabs keep the footprint of a sparse cache low on small heaps. */
        for (size_t s = KH_SLAB_MIN_BYTES; s <= KH_SLAB_MAX_BYTES; s *= 2) {
            size_t n = objs_for(s, stride);
            if (n && s - n * stride <= s / 4) {
                slab_bytes = s;
                break;
            }
            if (s == KH_SLAB_MAX_BYTES && n) slab_bytes = s;
        }
        if (!slab_bytes) return KH_EOVERFLOW;
    }
    size_t n = objs_for(slab_bytes, stride);
    if (!n) return cfg->slab_bytes ? KH_EINVAL : KH_EOVERFLOW;

    memset(c, 0, sizeof(*c));
    c->name = cfg->name ? cfg->name : "slab";
    c->size = cfg->size;
    c->align = align;
    c->stride = stride;
    c->link_off = link_off;
    c->hdr_off = hdr_off_for(slab_bytes);
    c->slab_bytes = slab_bytes;
    c->objs_per_slab = (unsigned)n;
    c->stride_shift = -1;
    if ((stride & (stride - 1)) == 0)
        for (int sh = 0; sh < (int)(sizeof(size_t) * 8); sh++)
            if (((size_t)1 << sh) == stride) c->stride_shift = sh;
    c->ctor = cfg->ctor;
    c->ctor_arg = cfg->ctor_arg;
    if (have_source)
        c->source = cfg->source;
    else
        c->pages = cfg->pages;
    c->stats.object_size = cfg->size;
    c->stats.stride = stride;
    c->stats.slab_bytes = slab_bytes;
    c->stats.objs_per_slab = n;
    /* The slab table: in the given allocator, else in pages (a source
     * alone would spend a whole grant on it: no table then). */
    kh_allocator tmem = cfg->table.ops ? cfg->table : have_source ? cfg->table : cfg->pages;
    tab_init(&c->own, tmem, cfg->source);
    c->table = tmem.ops ? &c->own : NULL;
    /* Slab headers carry their address ^ secret: data at a slab-aligned
     * address is not taken for a slab header unless it holds the secret. */
    kh_port_entropy(&c->secret, sizeof(c->secret));
    c->magic = CACHE_LIVE;
    return KH_OK;
}

/* ---- lists ---- */

/* Lists hold partial and empty slabs only. A full slab is on no list (as in
 * Linux's SLUB): nothing allocates from it, free finds it by address, so
 * keeping a full list would only cost list moves on the hot paths. */
static struct kh_slab **head_of(struct kh_slab_cache *c, unsigned list)
{
    return list == LIST_PARTIAL ? &c->partial : &c->empty;
}

static size_t *count_of(struct kh_slab_cache *c, unsigned list)
{
    return list == LIST_PARTIAL ? &c->stats.slabs_partial : &c->stats.slabs_empty;
}

static void list_del(struct kh_slab_cache *c, struct kh_slab *s)
{
    if (s->prev)
        s->prev->next = s->next;
    else
        *head_of(c, s->list) = s->next;
    if (s->next) s->next->prev = s->prev;
    s->prev = s->next = NULL;
    (*count_of(c, s->list))--;
}

static void list_add(struct kh_slab_cache *c, struct kh_slab *s, unsigned list)
{
    struct kh_slab **h = head_of(c, list);
    s->list = (unsigned char)list;
    s->prev = NULL;
    s->next = *h;
    if (*h) (*h)->prev = s;
    *h = s;
    (*count_of(c, list))++;
}

static void list_move(struct kh_slab_cache *c, struct kh_slab *s, unsigned list)
{
    list_del(c, s);
    list_add(c, s, list);
}

/* ---- objects ---- */

static unsigned char *first_obj(const struct kh_slab_cache *c, const struct kh_slab *s)
{
    return (unsigned char *)s - c->hdr_off;
}

static unsigned char *get_link(const struct kh_slab_cache *c, const unsigned char *obj)
{
    unsigned char *next;
    memcpy(&next, obj + c->link_off, sizeof(next));
    return next;
}

static void set_link(const struct kh_slab_cache *c, unsigned char *obj, unsigned char *next)
{
    memcpy(obj + c->link_off, &next, sizeof(next));
}

static inline bool bit_get(const struct kh_slab *s, size_t i)
{
    return (s->map[i / 8] >> (i % 8)) & 1u;
}

static void bit_flip(struct kh_slab *s, size_t i)
{
    s->map[i / 8] ^= (unsigned char)(1u << (i % 8));
}

static inline struct kh_slab *slab_of(const struct kh_slab_cache *c, const void *ptr)
{
    uintptr_t base = (uintptr_t)ptr & ~(uintptr_t)(c->slab_bytes - 1);
    return (struct kh_slab *)(base + c->hdr_off);
}

#if KH_CONFIG_CHECKS
static uintptr_t slab_base(const struct kh_slab_cache *c, const void *ptr)
{
    return (uintptr_t)ptr & ~(uintptr_t)(c->slab_bytes - 1);
}
#endif

static inline bool slab_valid(const struct kh_slab_cache *c, const struct kh_slab *s)
{
    return s->cookie == ((uintptr_t)s ^ c->secret) && s->cache == c;
}

/* Index of ptr in its slab, or -1 when it is not at an object start. */
static inline long obj_index(const struct kh_slab_cache *c, const struct kh_slab *s,
                             const void *ptr)
{
    uintptr_t first = (uintptr_t)s - c->hdr_off, p = (uintptr_t)ptr;
    if (p < first) return -1;
    size_t off = (size_t)(p - first), i;
    if (c->stride_shift >= 0) {
        if (off & (c->stride - 1)) return -1;
        i = off >> c->stride_shift;
    } else {
        if (off % c->stride) return -1;
        i = off / c->stride;
    }
    return i < c->objs_per_slab ? (long)i : -1;
}

/* ---- slabs from the backing ---- */

static void give_back(struct kh_slab_cache *c, void *grant, size_t bytes)
{
    if (c->source.ops) {
        if (c->source.ops->release) c->source.ops->release(c->source.ctx, grant, bytes);
    } else {
        c->pages.ops->free(c->pages.ctx, grant, bytes, c->slab_bytes);
    }
}

/* The slab-aligned slab inside [mem, mem + got), or NULL. */
static unsigned char *aligned_inside(const struct kh_slab_cache *c, void *mem, size_t got)
{
    uintptr_t a = (uintptr_t)mem, S = c->slab_bytes;
    uintptr_t al = (a + (S - 1)) & ~(S - 1);
    if (al < a || al - a > got || got - (size_t)(al - a) < S - TAIL) return NULL;
    return (unsigned char *)mem + (al - a);
}

static struct kh_slab *new_slab(struct kh_slab_cache *c, unsigned flags)
{
    unsigned char *slab = NULL;
    void *grant = NULL;
    size_t got = 0, S = c->slab_bytes;
    if (c->source.ops) {
        if (flags & (KH_GFP_ATOMIC | KH_GFP_NOGROW)) return NULL;
        grant = c->source.ops->grow(c->source.ctx, S, &got);
        if (!grant) return NULL;
        slab = aligned_inside(c, grant, got);
        if (!slab) {
            /* Misaligned grant: trade it for one that surely holds an
             * aligned slab. Without release the first grant is lost. */
            if (c->source.ops->release) c->source.ops->release(c->source.ctx, grant, got);
            if (S > SIZE_MAX / 2) return NULL;
            grant = c->source.ops->grow(c->source.ctx, 2 * S, &got);
            if (!grant) return NULL;
            slab = aligned_inside(c, grant, got);
            if (!slab) {
                give_back(c, grant, got);
                return NULL;
            }
        }
    } else {
        grant = c->pages.ops->alloc(c->pages.ctx, S - TAIL, S, flags & ~KH_GFP_ZERO);
        if (!grant) return NULL;
        if ((uintptr_t)grant & (S - 1)) {
            /* An allocator that ignored the alignment: unusable. */
            c->pages.ops->free(c->pages.ctx, grant, S - TAIL, S);
            return NULL;
        }
        slab = grant;
        got = S - TAIL;
    }
#if KH_CONFIG_CHECKS
    /* Known before anything is built in it: a free vets pointers here. */
    if (c->table && !tab_add(c->table, (uintptr_t)slab, (uintptr_t)c, flags)) {
        give_back(c, grant, got);
        return NULL;
    }
#endif
    struct kh_slab *s = (struct kh_slab *)(void *)(slab + c->hdr_off);
    memset(s, 0, sizeof(*s));
    s->cache = c;
    s->cookie = (uintptr_t)s ^ c->secret;
    s->grant = grant;
    s->grant_bytes = got;
    unsigned char *first = first_obj(c, s), *free = NULL;
    for (size_t i = c->objs_per_slab; i-- > 0;) {
        unsigned char *obj = first + i * c->stride;
        if (c->ctor) c->ctor(obj, c->ctor_arg);
        set_link(c, obj, free);
        free = obj;
    }
    s->free = free;
    c->stats.slabs++;
    c->stats.slabs_grown++;
    c->stats.backing_bytes += got;
    return s;
}

static void release_slab(struct kh_slab_cache *c, struct kh_slab *s)
{
    void *grant = s->grant;
    size_t bytes = s->grant_bytes;
    /* Wipe the cookie so a stale pointer into given-back memory is foreign. */
    s->cookie = 0;
#if KH_CONFIG_CHECKS
    if (c->table) tab_del(c->table, slab_base(c, s));
#endif
    c->stats.slabs--;
    c->stats.slabs_released++;
    c->stats.backing_bytes -= bytes;
    give_back(c, grant, bytes);
}

static bool can_give_back(const struct kh_slab_cache *c)
{
    return !c->source.ops || c->source.ops->release;
}

/* ---- public ---- */

void *kh_slab_alloc(struct kh_slab_cache *c, unsigned flags)
{
    if (!cache_live(c, "kh_slab_alloc: not a live cache")) return NULL;
    struct kh_slab *s = c->partial;
    if (!s) {
        s = c->empty;
        if (s) {
            list_move(c, s, LIST_PARTIAL);
        } else {
            s = new_slab(c, flags);
            if (!s) {
                c->stats.alloc_failures++;
                return NULL;
            }
            list_add(c, s, LIST_PARTIAL);
        }
    }
    unsigned char *obj = s->free;
    s->free = get_link(c, obj);
    size_t off = (size_t)(obj - first_obj(c, s));
    bit_flip(s, c->stride_shift >= 0 ? off >> c->stride_shift : off / c->stride);
    if (++s->inuse == c->objs_per_slab) {
        list_del(c, s);
        s->list = LIST_FULL;
        c->stats.slabs_full++;
    }
    c->stats.allocs++;
    if (++c->stats.objects_in_use > c->stats.peak_in_use)
        c->stats.peak_in_use = c->stats.objects_in_use;
    if (flags & KH_GFP_ZERO) memset(obj, 0, c->size);
    return obj;
}

#if KH_CONFIG_CHECKS
/* The slab holding obj when obj is a live object of c, else NULL after a
 * report (as `who`): EFAULT for a pointer outside c's slabs (found in the
 * table, so nothing at obj is read) or not at an object start, ECORRUPT for
 * a slab header that was overwritten, EDOUBLE for a free object. */
static struct kh_slab *vet(const struct kh_slab_cache *c, const void *obj, long *index,
                           const char *who)
{
    struct kh_slab *s = slab_of(c, obj);
    if (c->table) {
        if (tab_get(c->table, slab_base(c, obj)) != (uintptr_t)c) {
            kh_report(KH_EFAULT, who, obj);
            return NULL;
        }
        if (!slab_valid(c, s)) { /* one of our slabs, its header overwritten */
            kh_report(KH_ECORRUPT, who, obj);
            return NULL;
        }
    } else if (!slab_valid(c, s)) { /* read at obj's slab base: must be readable */
        kh_report(KH_EFAULT, who, obj);
        return NULL;
    }
    long i = obj_index(c, s, obj);
    if (i < 0) {
        kh_report(KH_EFAULT, who, obj);
        return NULL;
    }
    if (!bit_get(s, (size_t)i)) {
        kh_report(KH_EDOUBLE, who, obj);
        return NULL;
    }
    *index = i;
    return s;
}
#endif

void kh_slab_free(struct kh_slab_cache *c, void *obj)
{
    if (!obj) return;
    if (!cache_live(c, "kh_slab_free: not a live cache")) return;
    long i;
#if KH_CONFIG_CHECKS
    struct kh_slab *s = vet(c, obj, &i, "kh_slab_free: not a live object of this cache");
    if (!s) return;
#else
    struct kh_slab *s = slab_of(c, obj);
    i = obj_index(c, s, obj);
#endif
    bit_flip(s, (size_t)i);
    set_link(c, obj, s->free);
    s->free = obj;
    if (s->list == LIST_FULL) {
        c->stats.slabs_full--;
        list_add(c, s, LIST_PARTIAL);
    }
    if (--s->inuse == 0) list_move(c, s, LIST_EMPTY);
    c->stats.frees++;
    c->stats.objects_in_use--;
}

bool kh_slab_owns(const struct kh_slab_cache *c, const void *ptr)
{
    if (!ptr || !c || c->magic != CACHE_LIVE) return false;
#if KH_CONFIG_CHECKS
    if (c->table && tab_get(c->table, slab_base(c, ptr)) != (uintptr_t)c) return false;
#endif
    const struct kh_slab *s = slab_of(c, ptr);
    if (!slab_valid(c, s)) return false;
    long i = obj_index(c, s, ptr);
    return i >= 0 && bit_get(s, (size_t)i);
}

size_t kh_slab_shrink(struct kh_slab_cache *c)
{
    if (!cache_live(c, "kh_slab_shrink: not a live cache") || !can_give_back(c)) return 0;
    size_t n = 0;
    while (c->empty) {
        struct kh_slab *s = c->empty;
        list_del(c, s);
        release_slab(c, s);
        n++;
    }
    return n;
}

int kh_slab_cache_destroy(struct kh_slab_cache *c)
{
    if (!c) return KH_EINVAL;
    if (c->magic == CACHE_DEAD) {
        kh_report(KH_EDOUBLE, "kh_slab_cache_destroy: cache destroyed twice", c);
        return KH_EDOUBLE;
    }
    if (c->magic != CACHE_LIVE) {
        kh_report(KH_EINVAL, "kh_slab_cache_destroy: not a cache", c);
        return KH_EINVAL;
    }
    kh_slab_shrink(c);
    if (c->stats.objects_in_use) {
        kh_report(KH_EBUSY, "kh_slab_cache_destroy: objects still allocated", c);
        return KH_EBUSY;
    }
    /* Only empty slabs a release-less source could not take remain. */
    while (c->empty) {
        struct kh_slab *s = c->empty;
        list_del(c, s);
        s->cookie = 0;
#if KH_CONFIG_CHECKS
        if (c->table) tab_del(c->table, slab_base(c, s));
#endif
    }
    if (c->table == &c->own) tab_destroy(&c->own);
    c->magic = CACHE_DEAD;
    return KH_OK;
}

void kh_slab_cache_stats(const struct kh_slab_cache *c, struct kh_slab_cache_stats *out)
{
    if (!out) return;
    if (!c || c->magic != CACHE_LIVE) {
        memset(out, 0, sizeof(*out));
        return;
    }
    *out = c->stats;
}

static int check_list(const struct kh_slab_cache *c, const struct kh_slab *s, unsigned list,
                      size_t *slabs, size_t *inuse)
{
    const struct kh_slab *prev = NULL;
    size_t guard = c->stats.slabs + 1;
    for (; s; prev = s, s = s->next) {
        if (!guard--) return KH_ECORRUPT; /* cycle */
        if (!slab_valid(c, s) || s->list != list || s->prev != prev) return KH_ECORRUPT;
        if (((uintptr_t)s - c->hdr_off) & (c->slab_bytes - 1)) return KH_ECORRUPT;
        size_t bits = 0;
        for (size_t i = 0; i < c->objs_per_slab; i++) bits += bit_get(s, i);
        if (bits != s->inuse) return KH_ECORRUPT;
        size_t nfree = 0;
        for (const unsigned char *o = s->free; o; o = get_link(c, o)) {
            long i = obj_index(c, s, o);
            if (slab_of(c, o) != s || i < 0 || bit_get(s, (size_t)i) || ++nfree > c->objs_per_slab)
                return KH_ECORRUPT;
        }
        if (nfree + s->inuse != c->objs_per_slab) return KH_ECORRUPT;
        if (list == LIST_EMPTY && s->inuse != 0) return KH_ECORRUPT;
        if (list == LIST_PARTIAL && (s->inuse == 0 || s->inuse == c->objs_per_slab))
            return KH_ECORRUPT;
        ++*slabs;
        *inuse += s->inuse;
    }
    return KH_OK;
}

int kh_slab_cache_check(const struct kh_slab_cache *c)
{
    if (!c || c->magic != CACHE_LIVE) return KH_EINVAL;
    size_t np = 0, ne = 0, inuse = 0;
    if (check_list(c, c->partial, LIST_PARTIAL, &np, &inuse) ||
        check_list(c, c->empty, LIST_EMPTY, &ne, &inuse))
        return KH_ECORRUPT;
    /* Full slabs are on no list: they must account for every other slab
     * and object. */
    const struct kh_slab_cache_stats *st = &c->stats;
    size_t nf = st->slabs_full;
    if (np != st->slabs_partial || ne != st->slabs_empty || np + nf + ne != st->slabs ||
        inuse > st->objects_in_use || st->objects_in_use - inuse != nf * c->objs_per_slab)
        return KH_ECORRUPT;
#if KH_CONFIG_CHECKS
    /* The table: exactly this cache's slabs (full ones included), each
     * with a valid header whose bitmap matches its count. */
    const struct kh_slab_table *t = c->table;
    size_t mine = 0, full = 0;
    if (!t) return KH_OK;
    if ((t->cap && (t->cap & (t->cap - 1))) || 2 * t->count > t->cap) return KH_ECORRUPT;
    for (size_t i = 0; i < t->cap; i++) {
        uintptr_t key = t->slot[2 * i];
        if (!key) continue;
        if (tab_find(t, key) != i) return KH_ECORRUPT;
        if (t->slot[2 * i + 1] != (uintptr_t)c) continue;
        const struct kh_slab *s = slab_of(c, (const void *)key);
        if ((key & (c->slab_bytes - 1)) || !slab_valid(c, s)) return KH_ECORRUPT;
        size_t bits = 0;
        for (size_t j = 0; j < c->objs_per_slab; j++) bits += bit_get(s, j);
        if (bits != s->inuse) return KH_ECORRUPT;
        if (s->list == LIST_FULL) {
            if (s->inuse != c->objs_per_slab) return KH_ECORRUPT;
            full++;
        }
        mine++;
    }
    if (mine != st->slabs || full != nf) return KH_ECORRUPT;
    if (t == &c->own && t->count != mine) return KH_ECORRUPT;
#endif
    return KH_OK;
}

/* ---- one cache as a kh_allocator ---- */

static bool fits_cache(const struct kh_slab_cache *c, size_t size, size_t align)
{
    return size <= c->size && (align ? align : KH_ALIGN_DEFAULT) <= c->align;
}

static void *cache_a_alloc(void *ctx, size_t size, size_t align, unsigned flags)
{
    struct kh_slab_cache *c = ctx;
    if (!c || c->magic != CACHE_LIVE || !fits_cache(c, size, align)) return NULL;
    return kh_slab_alloc(c, flags);
}

static bool cache_a_resize(void *ctx, void *ptr, size_t old_size, size_t new_size, size_t align)
{
    (void)old_size;
    const struct kh_slab_cache *c = ctx;
    if (!c || c->magic != CACHE_LIVE) return false;
#if KH_CONFIG_CHECKS
    long i;
    if (!vet(c, ptr, &i, "kh_slab_cache resize: not a live object of this cache")) return false;
#else
    (void)ptr;
#endif
    return fits_cache(c, new_size, align);
}

static size_t cache_a_owns(void *ctx, const void *ptr)
{
    const struct kh_slab_cache *c = ctx;
    return kh_slab_owns(c, ptr) ? c->size : 0;
}

static void cache_a_free(void *ctx, void *ptr, size_t size, size_t align)
{
    (void)size, (void)align;
    kh_slab_free(ctx, ptr);
}

/* owns only where it can answer without reading at the pointer: checked
 * builds, with a table. */
static const kh_allocator_ops cache_ops = {cache_a_alloc, cache_a_resize, cache_a_free, NULL};
static const kh_allocator_ops cache_owns_ops = {cache_a_alloc, cache_a_resize, cache_a_free,
                                                cache_a_owns};

kh_allocator kh_slab_cache_allocator(struct kh_slab_cache *c)
{
    bool owns = KH_CONFIG_CHECKS && c && c->magic == CACHE_LIVE && c->table;
    kh_allocator a = {c, owns ? &cache_owns_ops : &cache_ops};
    return a;
}

/* ---- kmalloc-style front end ---- */

static const char *const class_names[KH_KMEM_CLASSES] = {
    "kmalloc-8",   "kmalloc-16",  "kmalloc-32",   "kmalloc-64",   "kmalloc-128",
    "kmalloc-256", "kmalloc-512", "kmalloc-1024", "kmalloc-2048", "kmalloc-4096",
};

int kh_kmem_init(struct kh_kmem *k, const struct kh_kmem_config *cfg)
{
    if (!k || !cfg) return KH_EINVAL;
    bool have_source = cfg->source.ops && cfg->source.ops->grow;
    bool have_pages = cfg->pages.ops && cfg->pages.ops->alloc;
    if (!have_source && !have_pages) return KH_EINVAL;
    kh_allocator large = cfg->large.ops ? cfg->large : cfg->pages;
    if (!large.ops || !large.ops->alloc) return KH_EINVAL;
    size_t max_class = cfg->max_class ? cfg->max_class : KH_KMEM_MAX_CLASS;
    if (!kh_align_valid(max_class) || max_class < KH_KMEM_MIN_CLASS ||
        max_class > KH_KMEM_MAX_CLASS)
        return KH_EINVAL;
    memset(k, 0, sizeof(*k));
    /* One table for every class's slabs and the large blocks, in a block
     * of the large allocator (the only one kh_kmem always has). */
    tab_init(&k->table, large, cfg->source);
    while (((size_t)KH_KMEM_MIN_CLASS << k->nclasses) <= max_class) k->nclasses++;
    for (unsigned i = 0; i < k->nclasses; i++) {
        struct kh_slab_cache_config cc;
        memset(&cc, 0, sizeof(cc));
        cc.name = class_names[i];
        cc.size = cc.align = (size_t)KH_KMEM_MIN_CLASS << i;
        cc.source = cfg->source;
        cc.pages = cfg->pages;
        int rc = kh_slab_cache_create(&k->caches[i], &cc);
        if (rc) return rc;
        k->caches[i].table = &k->table;
        size_t sb = k->caches[i].slab_bytes;
        if (!k->nslab_sizes || k->slab_sizes[k->nslab_sizes - 1] != sb)
            k->slab_sizes[k->nslab_sizes++] = sb; /* classes grow: sizes never shrink */
    }
    k->large = large;
    k->magic = KMEM_LIVE;
    return KH_OK;
}

static int class_index(const struct kh_kmem *k, size_t size, size_t align)
{
    size_t need = align ? align : KH_ALIGN_DEFAULT;
    if (size > need) need = size;
    if (need > ((size_t)KH_KMEM_MIN_CLASS << (k->nclasses - 1))) return -1;
    /* Class i holds MIN_CLASS << i bytes: i = ceil(log2(need / MIN_CLASS)). */
    if (need <= KH_KMEM_MIN_CLASS) return 0;
    return (int)kh_log2_floor((need - 1) / KH_KMEM_MIN_CLASS) + 1;
}

struct kh_slab_cache *kh_kmem_cache_for(struct kh_kmem *k, size_t size, size_t align)
{
    if (!k || k->magic != KMEM_LIVE) return NULL;
    int i = class_index(k, size, align);
    return i >= 0 ? &k->caches[i] : NULL;
}

/* Large blocks in the table: the value is size << 1 | 1 (a cache pointer,
 * the value of a slab, has its low bit clear). */
#define LARGE_VAL(size) (((uintptr_t)(size) << 1) | 1u)

static void *kmem_large_alloc(struct kh_kmem *k, size_t size, size_t align, unsigned flags)
{
#if KH_CONFIG_CHECKS
    /* Room in the table first: a block that cannot be recorded is not
     * handed out (its free could not be vetted). */
    if (size > SIZE_MAX / 2 || !tab_reserve(&k->table, flags)) return NULL;
#endif
    void *p = k->large.ops->alloc(k->large.ctx, size, align, flags);
#if KH_CONFIG_CHECKS
    if (p)
        tab_insert(&k->table, (uintptr_t)p, LARGE_VAL(size));
    else if (!k->table.count)
        tab_destroy(&k->table); /* made for this block only */
#endif
    return p;
}

static void *kmem_alloc(void *ctx, size_t size, size_t align, unsigned flags)
{
    struct kh_kmem *k = ctx;
    if (!k || k->magic != KMEM_LIVE || !kh_align_valid(align)) return NULL;
    int i = class_index(k, size, align);
    void *p =
        i >= 0 ? kh_slab_alloc(&k->caches[i], flags) : kmem_large_alloc(k, size, align, flags);
    /* Out of memory: empty slabs of every class go back to the backing and
     * the request is tried once more. Giving slabs back to a page source is
     * a source call, which an atomic request must not make. */
    bool may_reclaim = !(flags & KH_GFP_ATOMIC) || !k->caches[0].source.ops;
    if (!p && may_reclaim && kh_kmem_shrink(k) > 0)
        p = i >= 0 ? kh_slab_alloc(&k->caches[i], flags) : kmem_large_alloc(k, size, align, flags);
    if (p && i < 0) {
        k->large_live++;
        k->large_bytes += size;
    }
    return p;
}

#if KH_CONFIG_CHECKS
/* A block freed or resized as (ptr, size, align) must be what kmem handed
 * out for that size: in the class's slabs (vetted like kh_slab_free), or a
 * large block recorded with exactly that size. Reports and returns false
 * otherwise: EFAULT (not a live block: foreign, interior, freed, or a slab
 * object given back with a large size), EINVAL (a large block with another
 * size). */
static bool kmem_vet(const struct kh_kmem *k, int i, const void *ptr, size_t size, const char *who)
{
    if (i >= 0) {
        long idx;
        return vet(&k->caches[i], ptr, &idx, who) != NULL;
    }
    uintptr_t v = tab_get(&k->table, (uintptr_t)ptr);
    if (!(v & 1u)) {
        kh_report(KH_EFAULT, who, ptr);
        return false;
    }
    if (v != LARGE_VAL(size)) {
        kh_report(KH_EINVAL, who, ptr);
        return false;
    }
    return true;
}
#endif

static bool kmem_resize(void *ctx, void *ptr, size_t old_size, size_t new_size, size_t align)
{
    struct kh_kmem *k = ctx;
    if (!k || k->magic != KMEM_LIVE) return false;
    int a = class_index(k, old_size, align), b = class_index(k, new_size, align);
#if KH_CONFIG_CHECKS
    if (!kmem_vet(k, a, ptr, old_size, "struct kh_kmem resize: not a live block of that size"))
        return false;
    if (a < 0 && b < 0 && new_size > SIZE_MAX / 2) return false;
#endif
    if (a >= 0 || b >= 0) return a == b;
    if (!k->large.ops->resize ||
        !k->large.ops->resize(k->large.ctx, ptr, old_size, new_size, align))
        return false;
#if KH_CONFIG_CHECKS
    k->table.slot[2 * tab_find(&k->table, (uintptr_t)ptr) + 1] = LARGE_VAL(new_size);
#endif
    k->large_bytes = k->large_bytes - old_size + new_size;
    return true;
}

static void kmem_free(void *ctx, void *ptr, size_t size, size_t align)
{
    struct kh_kmem *k = ctx;
    if (!ptr) return;
    if (!k || k->magic != KMEM_LIVE) {
#if KH_CONFIG_CHECKS
        kh_report(KH_EINVAL, "struct kh_kmem free: not a live front end", ptr);
#endif
        return;
    }
    int i = class_index(k, size, align);
    if (i >= 0) {
        kh_slab_free(&k->caches[i], ptr);
        return;
    }
#if KH_CONFIG_CHECKS
    if (!kmem_vet(k, i, ptr, size, "struct kh_kmem free: not a live block of that size")) return;
    tab_del(&k->table, (uintptr_t)ptr);
#endif
    k->large_live--;
    k->large_bytes -= size;
    k->large.ops->free(k->large.ctx, ptr, size, align);
}

#if KH_CONFIG_CHECKS
/* Usable bytes of the live block at ptr, else 0; reads nothing at ptr
 * before the table has placed it in a slab of ours. */
static size_t kmem_owns(void *ctx, const void *ptr)
{
    const struct kh_kmem *k = ctx;
    if (!k || k->magic != KMEM_LIVE || !ptr) return 0;
    /* A slab object first (most blocks are small): one lookup per distinct
     * slab size, smallest first; then a large block. */
    for (unsigned i = 0; i < k->nslab_sizes; i++) {
        uintptr_t base = (uintptr_t)ptr & ~(uintptr_t)(k->slab_sizes[i] - 1);
        uintptr_t v = tab_get(&k->table, base);
        if (!v || (v & 1u)) continue;
        const struct kh_slab_cache *c = (const struct kh_slab_cache *)v;
        /* A smaller slab starting at this base does not hold ptr: each slab
         * is found in the round of its own size. */
        if (c->slab_bytes != k->slab_sizes[i]) continue;
        const struct kh_slab *s = slab_of(c, ptr);
        long idx = obj_index(c, s, ptr);
        if (slab_valid(c, s) && idx >= 0 && bit_get(s, (size_t)idx)) return c->size;
        /* Not an object: it may still be a large block in the slab-sized
         * window past the slab's end (the tail the heap packs into). */
    }
    uintptr_t v = tab_get(&k->table, (uintptr_t)ptr);
    if (v & 1u) return v > 1u ? (size_t)(v >> 1) : 1; /* never 0 for a live block */
    return 0;
}
#define KMEM_OWNS kmem_owns
#else
#define KMEM_OWNS NULL /* no table: it could not answer without reading */
#endif

static const kh_allocator_ops kmem_ops = {kmem_alloc, kmem_resize, kmem_free, KMEM_OWNS};

kh_allocator kh_kmem_allocator(struct kh_kmem *k)
{
    kh_allocator a = {k, &kmem_ops};
    return a;
}

void kh_kmem_stats(const struct kh_kmem *k, struct kh_kmem_stats *out)
{
    if (!out) return;
    memset(out, 0, sizeof(*out));
    if (!k || k->magic != KMEM_LIVE) return;
    for (unsigned i = 0; i < k->nclasses; i++) {
        const struct kh_slab_cache_stats *st = &k->caches[i].stats;
        out->objects_in_use += st->objects_in_use;
        out->slabs += st->slabs;
        out->slab_bytes += st->backing_bytes;
        out->used_bytes += st->objects_in_use * k->caches[i].size;
    }
    out->large_live = k->large_live;
    out->large_bytes = k->large_bytes;
}

int kh_kmem_check(const struct kh_kmem *k)
{
    if (!k || k->magic != KMEM_LIVE) return KH_EINVAL;
    size_t slabs = 0;
    for (unsigned i = 0; i < k->nclasses; i++) {
        int rc = kh_slab_cache_check(&k->caches[i]);
        if (rc) return rc;
        slabs += k->caches[i].stats.slabs;
    }
#if KH_CONFIG_CHECKS
    /* The table holds every slab (each cache checked its own) and exactly
     * the large blocks, whose sizes add up to large_bytes. */
    size_t large = 0, bytes = 0;
    for (size_t i = 0; i < k->table.cap; i++) {
        uintptr_t v = k->table.slot[2 * i + 1];
        if (!k->table.slot[2 * i] || !(v & 1u)) continue;
        large++;
        bytes += (size_t)(v >> 1);
    }
    if (k->table.count != slabs + large || large != k->large_live || bytes != k->large_bytes)
        return KH_ECORRUPT;
#else
    (void)slabs;
#endif
    return KH_OK;
}

size_t kh_kmem_shrink(struct kh_kmem *k)
{
    if (!k || k->magic != KMEM_LIVE) return 0;
    size_t n = 0;
    for (unsigned i = 0; i < k->nclasses; i++) n += kh_slab_shrink(&k->caches[i]);
    return n;
}

int kh_kmem_destroy(struct kh_kmem *k)
{
    if (!k) return KH_EINVAL;
    if (k->magic == KMEM_DEAD) {
        kh_report(KH_EDOUBLE, "kh_kmem_destroy: destroyed twice", k);
        return KH_EDOUBLE;
    }
    if (k->magic != KMEM_LIVE) return KH_EINVAL;
    bool busy = k->large_live != 0;
    for (unsigned i = 0; i < k->nclasses; i++) busy |= k->caches[i].stats.objects_in_use != 0;
    if (busy) {
        kh_kmem_shrink(k);
        kh_report(KH_EBUSY, "kh_kmem_destroy: objects still allocated", k);
        return KH_EBUSY;
    }
    for (unsigned i = 0; i < k->nclasses; i++) kh_slab_cache_destroy(&k->caches[i]);
    tab_destroy(&k->table);
    k->magic = KMEM_DEAD;
    return KH_OK;
}
