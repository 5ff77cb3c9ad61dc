/* SPDX-License-Identifier: MIT */
/* Robin Hood hash map (kheap/hashmap.h). */
#include "kheap/hashmap.h"

#include "../internal/kh_string.h"

#include "kheap/error.h"
#include "kheap/port.h"

#define HM_MIN_CAP 8u
/* Largest table: distances and the home slot fit the 32-bit metadata. */
#define HM_MAX_CAP ((size_t)1 << 31)

/* ---- hashing ---- */

#define K1 0x9E3779B97F4A7C15ull
#define K2 0xC2B2AE3D27D4EB4Full
#define K3 0x165667B19E3779F9ull

static uint64_t rotl64(uint64_t x, unsigned r)
{
    return (x << r) | (x >> (64 - r));
}

static uint64_t fmix64(uint64_t k)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdull;
    k ^= k >> 33;
    k *= 0xc4ceb9fe1a85ec53ull;
    k ^= k >> 33;
    return k;
}

static uint64_t mix_word(uint64_t h, uint64_t w)
{
    h ^= rotl64(w * K2, 31) * K1;
    return rotl64(h, 27) * 5 + 0x52dce729u;
}

uint64_t kh_hash_bytes(const void *data, size_t n, uint64_t seed)
{
    const unsigned char *p = data;
    uint64_t h = seed ^ K3 ^ ((uint64_t)n * K1);
    size_t left = n;
    while (left >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        h = mix_word(h, w);
        p += 8;
        left -= 8;
    }
    if (left) {
        uint64_t w = 0;
        memcpy(&w, p, left);
        h = mix_word(h, w ^ ((uint64_t)left << 56));
    }
    return fmix64(h ^ (uint64_t)n);
}

uint64_t kh_hash_u64(uint64_t x, uint64_t seed)
{
    return fmix64(x ^ seed ^ K3);
}

/* SipHash-c-d (Aumasson and Bernstein, "SipHash: a fast short-input PRF",
 * INDOCRYPT 2012), written from the paper's specification. Words are read
 * little-endian, so big-endian targets give the same hashes. */
static uint64_t load_le64(const unsigned char *p)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint64_t w;
    memcpy(&w, p, 8);
    return w;
#else
    uint64_t w = 0;
    for (unsigned i = 0; i < 8; i++) w |= (uint64_t)p[i] << (8 * i);
    return w;
#endif
}

#define SIP_ROUND(v0, v1, v2, v3)                                                                  \
    do {                                                                                           \
        v0 += v1;                                                                                  \
        v2 += v3;                                                                                  \
        v1 = rotl64(v1, 13);                                                                       \
        v3 = rotl64(v3, 16);                                                                       \
        v1 ^= v0;                                                                                  \
        v3 ^= v2;                                                                                  \
        v0 = rotl64(v0, 32);                                                                       \
        v2 += v1;                                                                                  \
        v0 += v3;                                                                                  \
        v1 = rotl64(v1, 17);                                                                       \
        v3 = rotl64(v3, 21);                                                                       \
        v1 ^= v2;                                                                                  \
        v3 ^= v0;                                                                                  \
        v2 = rotl64(v2, 32);                                                                       \
    } while (0)

/* c and d are constants at both call sites: inlined, the round loops
 * unroll and the state stays in registers. */
static inline uint64_t siphash(const void *data, size_t n, uint64_t k0, uint64_t k1, unsigned c,
                               unsigned d)
{
    const unsigned char *p = data;
    /* The constants spell "somepseudorandomlygeneratedbytes". */
    uint64_t v0 = k0 ^ 0x736f6d6570736575ull, v1 = k1 ^ 0x646f72616e646f6dull;
    uint64_t v2 = k0 ^ 0x6c7967656e657261ull, v3 = k1 ^ 0x7465646279746573ull;
    size_t left = n;
    for (; left >= 8; left -= 8, p += 8) {
        uint64_t m = load_le64(p);
        v3 ^= m;
        for (unsigned i = 0; i < c; i++) SIP_ROUND(v0, v1, v2, v3);
        v0 ^= m;
    }
    /* Last block: the remaining bytes, and the length mod 256 on top. */
    uint64_t m = (uint64_t)(n & 0xff) << 56;
    for (size_t i = 0; i < left; i++) m |= (uint64_t)p[i] << (8 * i);
    v3 ^= m;
    for (unsigned i = 0; i < c; i++) SIP_ROUND(v0, v1, v2, v3);
    v0 ^= m;
    v2 ^= 0xff;
    for (unsigned i = 0; i < d; i++) SIP_ROUND(v0, v1, v2, v3);
    return v0 ^ v1 ^ v2 ^ v3;
}

uint64_t kh_siphash13(const void *data, size_t n, uint64_t k0, uint64_t k1)
{
    return siphash(data, n, k0, k1, 1, 3);
}

uint64_t kh_siphash24(const void *data, size_t n, uint64_t k0, uint64_t k1)
{
    return siphash(data, n, k0, k1, 2, 4);
}

/* ---- layout ---- */

/* Largest power of two dividing n, capped at the default alignment: every
 * C type's alignment divides its size, so this is a valid alignment. */
static size_t size_align(size_t n)
{
    size_t a = n & (~n + 1);
    if (a == 0 || a > KH_ALIGN_DEFAULT) a = KH_ALIGN_DEFAULT;
    return a;
}

int kh_hashmap_init(struct kh_hashmap *m, kh_allocator a, size_t key_size, size_t val_size,
                    kh_hash_fn hash, kh_eq_fn eq, void *ctx)
{
    if (!m) return KH_EINVAL;
    memset(m, 0, sizeof(*m)); /* a failed init still leaves a destroyable map */
    if (key_size == 0 || !a.ops) return KH_EINVAL;
    size_t ka = size_align(key_size), va = val_size ? size_align(val_size) : 1;
    size_t sa = ka > va ? ka : va;
    if (key_size > SIZE_MAX / 4 || val_size > SIZE_MAX / 4) return KH_EINVAL;
    size_t off = (key_size + va - 1) & ~(va - 1);
    size_t slot = (off + val_size + sa - 1) & ~(sa - 1);
    m->a = a;
    m->hash = hash;
    m->eq = eq;
    m->ctx = ctx;
    m->key_size = key_size;
    m->val_size = val_size;
    m->val_off = off;
    m->slot_size = slot;
    m->slot_align = sa;
    /* A secret key per map: keys an attacker chooses cannot be made to
     * collide without it (SipHash is a PRF). */
    if (!hash) {
        unsigned char k[16];
        kh_port_entropy(k, sizeof k);
        memcpy(m->key, k, sizeof k);
    }
    return 0;
}

int kh_hashmap_set_key(struct kh_hashmap *m, uint64_t k0, uint64_t k1)
{
    if (!m) return KH_EINVAL;
    if (m->len) return KH_EBUSY;
    m->key[0] = k0;
    m->key[1] = k1;
    return 0;
}

int kh_hashmap_set_seed(struct kh_hashmap *m, uint64_t seed)
{
    return kh_hashmap_set_key(m, seed, fmix64(seed ^ K3));
}

/* Bytes of a table with cap slots, 0 when it would overflow. */
static size_t table_bytes(const struct kh_hashmap *m, size_t cap)
{
    if (cap > SIZE_MAX / sizeof(struct kh_hashmap_meta)) return 0; /* 32-bit targets */
    size_t meta = cap * sizeof(struct kh_hashmap_meta);
    if (cap && m->slot_size > (SIZE_MAX - meta) / cap) return 0;
    return meta + cap * m->slot_size;
}

static size_t table_align(const struct kh_hashmap *m)
{
    return m->slot_align > _Alignof(struct kh_hashmap_meta) ? m->slot_align
                                                            : _Alignof(struct kh_hashmap_meta);
}

static void table_free(struct kh_hashmap *m)
{
    if (m->meta) kh_free(m->a, m->meta, table_bytes(m, m->cap), table_align(m));
}

void kh_hashmap_destroy(struct kh_hashmap *m)
{
    if (!m) return;
    table_free(m);
    m->meta = NULL;
    m->slots = NULL;
    m->cap = 0;
    m->len = 0;
}

void kh_hashmap_clear(struct kh_hashmap *m)
{
    if (!m) return;
    if (m->meta) memset(m->meta, 0, m->cap * sizeof(struct kh_hashmap_meta));
    m->len = 0;
}

size_t kh_hashmap_len(const struct kh_hashmap *m)
{
    return m ? m->len : 0;
}

static size_t max_load(size_t cap)
{
    return cap - cap / 8;
}

size_t kh_hashmap_capacity(const struct kh_hashmap *m)
{
    return m ? max_load(m->cap) : 0;
}

static unsigned char *slot_at(const struct kh_hashmap *m, size_t i)
{
    return m->slots + i * m->slot_size;
}

static uint32_t hash_of(const struct kh_hashmap *m, const void *key)
{
    uint64_t h =
        m->hash ? m->hash(key, m->ctx) : kh_siphash13(key, m->key_size, m->key[0], m->key[1]);
    /* Fibonacci remix: the top half of h * K1 depends on every bit of h. */
    return (uint32_t)((h * K1) >> 32);
}

static bool keys_equal(const struct kh_hashmap *m, const void *a, const void *b)
{
    return m->eq ? m->eq(a, b, m->ctx) : memcmp(a, b, m->key_size) == 0;
}

/* Slot of key, or SIZE_MAX when absent. */
static size_t find(const struct kh_hashmap *m, const void *key, uint32_t h)
{
    if (!m->cap) return SIZE_MAX;
    size_t mask = m->cap - 1, i = h & mask;
    for (uint32_t d = 1;; d++, i = (i + 1) & mask) {
        const struct kh_hashmap_meta *e = &m->meta[i];
        if (e->dist < d) return SIZE_MAX; /* empty, or an entry nearer home: absent */
        if (e->hash == h && keys_equal(m, slot_at(m, i), key)) return i;
    }
}

/* Place a key known to be absent, in a table with a free slot. Returns the
 * slot, whose value bytes the caller fills. Entries in a run stay sorted by
 * home slot, so inserting = shifting the tail of the run up by one. */
static size_t place(struct kh_hashmap *m, const void *key, uint32_t h)
{
    size_t mask = m->cap - 1, i = h & mask;
    uint32_t d = 1;
    while (m->meta[i].dist >= d) {
        i = (i + 1) & mask;
        d++;
    }
    size_t e = i;
    while (m->meta[e].dist) e = (e + 1) & mask;
    while (e != i) {
        size_t p = (e - 1) & mask;
        memcpy(slot_at(m, e), slot_at(m, p), m->slot_size);
        m->meta[e].hash = m->meta[p].hash;
        m->meta[e].dist = m->meta[p].dist + 1;
        e = p;
    }
    m->meta[i].dist = d;
    m->meta[i].hash = h;
    memcpy(slot_at(m, i), key, m->key_size);
    m->len++;
    return i;
}

/* Move every entry into a fresh table of new_cap slots. The new table is
 * allocated first; on failure nothing has changed. */
static int rehash(struct kh_hashmap *m, size_t new_cap)
{
    size_t bytes = table_bytes(m, new_cap);
    if (!bytes) return KH_EOVERFLOW;
    void *mem = kh_alloc(m->a, bytes, table_align(m));
    if (!mem) return KH_ENOMEM;
    struct kh_hashmap old = *m;
    m->meta = mem;
    m->slots = (unsigned char *)mem + new_cap * sizeof(struct kh_hashmap_meta);
    m->cap = new_cap;
    m->len = 0;
    memset(m->meta, 0, new_cap * sizeof(struct kh_hashmap_meta));
    for (size_t i = 0; i < old.cap; i++) {
        if (!old.meta[i].dist) continue;
        size_t s = place(m, slot_at(&old, i), old.meta[i].hash);
        if (m->val_size)
            memcpy(slot_at(m, s) + m->val_off, slot_at(&old, i) + m->val_off, m->val_size);
    }
    table_free(&old);
    return 0;
}

int kh_hashmap_reserve(struct kh_hashmap *m, size_t n)
{
    if (!m) return KH_EINVAL;
    if (n <= max_load(m->cap)) return 0;
    size_t cap = m->cap ? m->cap : HM_MIN_CAP;
    while (max_load(cap) < n) {
        if (cap >= HM_MAX_CAP) return KH_EOVERFLOW;
        cap *= 2;
    }
    return rehash(m, cap);
}

/* Room for one more entry (grow if needed). */
static int room_for_one(struct kh_hashmap *m)
{
    if (m->len < max_load(m->cap)) return 0;
    if (m->len == SIZE_MAX) return KH_EOVERFLOW;
    return kh_hashmap_reserve(m, m->len + 1);
}

static void *emplace(struct kh_hashmap *m, const void *key, bool *inserted, int *err)
{
    uint32_t h = hash_of(m, key);
    size_t i = find(m, key, h);
    if (i != SIZE_MAX) {
        if (inserted) *inserted = false;
        return slot_at(m, i) + m->val_off;
    }
    int rc = room_for_one(m);
    if (rc) {
        *err = rc;
        return NULL;
    }
    i = place(m, key, h);
    memset(slot_at(m, i) + m->val_off, 0, m->val_size);
    if (inserted) *inserted = true;
    return slot_at(m, i) + m->val_off;
}

int kh_hashmap_insert(struct kh_hashmap *m, const void *key, const void *val)
{
    if (!m || !key) return KH_EINVAL;
    int err = 0;
    void *v = emplace(m, key, NULL, &err);
    if (!v) return err;
    if (m->val_size) {
        if (val)
            memcpy(v, val, m->val_size);
        else
            memset(v, 0, m->val_size);
    }
    return 0;
}

void *kh_hashmap_emplace(struct kh_hashmap *m, const void *key, bool *inserted)
{
    if (!m || !key) return NULL;
    int err = 0;
    return emplace(m, key, inserted, &err);
}

void *kh_hashmap_get(const struct kh_hashmap *m, const void *key)
{
    if (!m || !key) return NULL;
    size_t i = find(m, key, hash_of(m, key));
    return i == SIZE_MAX ? NULL : slot_at(m, i) + m->val_off;
}

const void *kh_hashmap_get_key(const struct kh_hashmap *m, const void *key)
{
    if (!m || !key) return NULL;
    size_t i = find(m, key, hash_of(m, key));
    return i == SIZE_MAX ? NULL : slot_at(m, i);
}

bool kh_hashmap_contains(const struct kh_hashmap *m, const void *key)
{
    return kh_hashmap_get_key(m, key) != NULL;
}

int kh_hashmap_remove(struct kh_hashmap *m, const void *key, void *key_out, void *val_out)
{
    if (!m || !key) return KH_EINVAL;
    size_t i = find(m, key, hash_of(m, key));
    if (i == SIZE_MAX) return KH_ENOENT;
    if (key_out) memcpy(key_out, slot_at(m, i), m->key_size);
    if (val_out && m->val_size) memcpy(val_out, slot_at(m, i) + m->val_off, m->val_size);
    /* Backward shift: pull the rest of the run one slot nearer home. */
    size_t mask = m->cap - 1, n = (i + 1) & mask;
    while (m->meta[n].dist > 1) {
        memcpy(slot_at(m, i), slot_at(m, n), m->slot_size);
        m->meta[i].hash = m->meta[n].hash;
        m->meta[i].dist = m->meta[n].dist - 1;
        i = n;
        n = (n + 1) & mask;
    }
    m->meta[i].dist = 0;
    m->meta[i].hash = 0;
    m->len--;
    return 0;
}

bool kh_hashmap_next(const struct kh_hashmap *m, size_t *it, const void **key, void **val)
{
    if (!m || !it) return false;
    for (size_t i = *it; i < m->cap; i++) {
        if (!m->meta[i].dist) continue;
        *it = i + 1;
        if (key) *key = slot_at(m, i);
        if (val) *val = slot_at(m, i) + m->val_off;
        return true;
    }
    *it = m->cap;
    return false;
}

int kh_hashmap_check(const struct kh_hashmap *m)
{
    if (!m || !m->key_size) return KH_ECORRUPT;
    if (!m->cap) return (m->len || m->meta) ? KH_ECORRUPT : 0;
    if ((m->cap & (m->cap - 1)) || m->cap < HM_MIN_CAP || m->cap > HM_MAX_CAP) return KH_ECORRUPT;
    if (m->len > max_load(m->cap)) return KH_ECORRUPT;
    size_t mask = m->cap - 1, count = 0;
    for (size_t i = 0; i < m->cap; i++) {
        const struct kh_hashmap_meta *e = &m->meta[i];
        if (!e->dist) continue;
        count++;
        if (e->dist > m->cap) return KH_ECORRUPT;
        if (((i - (e->dist - 1)) & mask) != (e->hash & mask)) return KH_ECORRUPT;
        if (hash_of(m, slot_at(m, i)) != e->hash) return KH_ECORRUPT;
        /* Robin Hood order: the previous slot is at most one step less displaced. */
        if (e->dist > 1 && m->meta[(i - 1) & mask].dist + 1 < e->dist) return KH_ECORRUPT;
        if (find(m, slot_at(m, i), e->hash) != i) return KH_ECORRUPT;
    }
    return count == m->len ? 0 : KH_ECORRUPT;
}
