/* SPDX-License-Identifier: MIT */
/* kheap hash map and hash set: open addressing with Robin Hood probing.
 *
 * DATASHEET
 *
 * Layout      One allocation per table: cap metadata words (probe distance +
 *             32 hash bits, 8 bytes each), then cap slots holding key and value
 *             side by side. cap is a power of two (8 minimum); the table grows
 *             (doubles) when it would pass 7/8 full. Keys and values are
 *             copied in (element-size generics); their alignment is derived
 *             from their sizes (the largest power of two dividing the size,
 *             capped at KH_ALIGN_DEFAULT), which covers every C object type.
 * Probing     Robin Hood: within a run, entries stay ordered by home slot, so
 *             a lookup stops as soon as it meets an entry closer to its home
 *             than the probe; removal shifts the run back (no tombstones).
 *             The stored 32 hash bits are compared before calling eq and are
 *             reused on resize, so the user hash runs once per insert.
 * Hash        hash NULL = SipHash-1-3 of the key's key_size bytes under a
 *             128-bit key drawn for each map from the port's entropy hook
 *             (kh_port_entropy, kheap/port.h) at init; kh_hashmap_set_key
 *             sets it explicitly (reproducible runs). eq NULL = memcmp of
 *             key_size bytes. Keys with padding bytes or pointers to data
 *             need a user hash and eq. A user hash may be weak in its low
 *             bits: it is remixed (Fibonacci multiply).
 * Flooding    With the default hash, keys chosen by an adversary who does
 *             not know the map's key land in slots as random keys do: SipHash
 *             is a pseudorandom function, so finding keys that collide
 *             without the key is as hard as breaking it (no multicollision
 *             holds for every key, unlike kh_hash_bytes below). Insert and
 *             lookup of crafted keys then cost what random keys cost
 *             (docs/BENCHMARKS.md, "Hash flooding"). The key is only as
 *             secret as the port's entropy: strong hosted (getrandom), weak
 *             on the bare-metal ports without a hardware generator (see
 *             kheap/port.h). A user hash gives this up unless it is keyed.
 * Time        Expected O(1) for insert/get/remove with a good hash; resize
 *             O(n). Worst case O(n) per operation (all keys colliding).
 * Memory      8 + slot bytes per slot; at most 7/8 of slots used, at least
 *             7/16 just after a doubling (dense tables: call reserve first).
 * Failure     Operations that may allocate (insert, emplace, reserve) return
 *             KH_ENOMEM / KH_EOVERFLOW / NULL and then leave the map exactly
 *             as it was: a resize allocates the new table first and moves the
 *             entries only once it has it. Replacing the value of an existing
 *             key never allocates and never fails.
 * Iteration   kh_hashmap_next() in slot order (unspecified). Do not insert or
 *             remove while iterating.
 * Threads     None: protect a shared map with a lock.
 */
#ifndef KHEAP_HASHMAP_H
#define KHEAP_HASHMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kheap/alloc.h"
#include "kheap/compiler.h"

#ifdef __cplusplus
extern "C" {
#endif

/* User hash of one key (ctx is the pointer given at init). */
typedef uint64_t (*kh_hash_fn)(const void *key, void *ctx);
/* User key equality: true when the keys are equal. */
typedef bool (*kh_eq_fn)(const void *a, const void *b, void *ctx);

struct kh_hashmap_meta {
    uint32_t dist; /* 0 = empty slot, else probe distance + 1 */
    uint32_t hash; /* 32 remixed hash bits; the home slot is hash & (cap - 1) */
};

struct kh_hashmap {
    kh_allocator a;
    kh_hash_fn hash; /* NULL: kh_siphash13 under key */
    kh_eq_fn eq;     /* NULL: memcmp */
    void *ctx;
    uint64_t key[2]; /* the default hash's SipHash key (k0, k1) */
    size_t key_size, val_size;
    size_t val_off, slot_size, slot_align;
    size_t cap; /* 0 or a power of two */
    size_t len;
    struct kh_hashmap_meta *meta; /* cap entries, then the slots */
    unsigned char *slots;
};

/* ---- hashes ----
 * kh_siphash13, kh_siphash24: SipHash-1-3 and SipHash-2-4 (Aumasson and
 * Bernstein, 2012) of n bytes under the 128-bit key (k0, k1), where k0 and
 * k1 are the key's bytes 0-7 and 8-15 read little-endian. Verified against
 * the reference test vectors of the SipHash paper (tests/test_hashmap.c);
 * the same value on every target, whatever its byte order. SipHash-1-3 is
 * the map's default (as in Rust's HashMap): five SipRounds for an 8-byte
 * key, one more per further 8 bytes (the map's cost with it is in
 * docs/BENCHMARKS.md, "Collections"); SipHash-2-4 is the paper's
 * conservative choice.
 *
 * kh_hash_bytes: a fast unkeyed multiply-rotate hash over 8-byte words with
 * murmur3's fmix64 finalizer (full avalanche). NOT flood-resistant: it has
 * multicollisions that hold for every seed (two 16-byte blocks that differ in
 * two chosen bits lead to the same state whatever came before), so an
 * adversary can craft any number of keys with one hash value. Use it as a
 * user hash only for keys no adversary chooses. kh_hash_u64 is
 * fmix64(x ^ seed-derived constant), a bijection: distinct integers never
 * collide before reduction (and are as easy to collide after it). */
uint64_t kh_siphash13(const void *data, size_t n, uint64_t k0, uint64_t k1);
uint64_t kh_siphash24(const void *data, size_t n, uint64_t k0, uint64_t k1);
uint64_t kh_hash_bytes(const void *data, size_t n, uint64_t seed);
uint64_t kh_hash_u64(uint64_t x, uint64_t seed);

/* Initialize an empty map (no allocation). key_size must be > 0; val_size
 * may be 0 (a set). hash/eq NULL pick the byte defaults; with hash NULL the
 * map draws its SipHash key from kh_port_entropy. Returns 0 or KH_EINVAL
 * (m NULL, key_size 0, a sizes sum that overflows). */
int kh_hashmap_init(struct kh_hashmap *m, kh_allocator a, size_t key_size, size_t val_size,
                    kh_hash_fn hash, kh_eq_fn eq, void *ctx);
/* Set the default hash's 128-bit SipHash key, replacing the one drawn at
 * init: the same key and the same operations give the same table (tests,
 * reproducible runs). A key known to an adversary gives up the flooding
 * guarantee. Only while the map is empty: KH_EBUSY otherwise. */
int kh_hashmap_set_key(struct kh_hashmap *m, uint64_t k0, uint64_t k1);
/* kh_hashmap_set_key with a key derived from a 64-bit seed. */
int kh_hashmap_set_seed(struct kh_hashmap *m, uint64_t seed);
/* Free the table. The map is left empty and usable. */
void kh_hashmap_destroy(struct kh_hashmap *m);
/* Remove every entry, keep the table. */
void kh_hashmap_clear(struct kh_hashmap *m);
size_t kh_hashmap_len(const struct kh_hashmap *m);
/* Entries the current table holds before it must grow. */
size_t kh_hashmap_capacity(const struct kh_hashmap *m);
/* Make room for n entries in total without another allocation.
 * 0, KH_ENOMEM, KH_EOVERFLOW. */
int kh_hashmap_reserve(struct kh_hashmap *m, size_t n);

/* Insert key -> val, replacing the value when key is present (val NULL
 * stores zeroes). 0, KH_ENOMEM, KH_EOVERFLOW, KH_EINVAL (NULL m/key). */
int kh_hashmap_insert(struct kh_hashmap *m, const void *key, const void *val);
/* Find key, inserting it with a zeroed value when absent. Returns the value
 * slot (valid until the next insert/remove), NULL on failure (map
 * unchanged). *inserted (may be NULL) tells whether it was added. */
void *kh_hashmap_emplace(struct kh_hashmap *m, const void *key, bool *inserted);
/* The value stored for key, or NULL. For a set (val_size 0) a non-NULL
 * pointer to an empty value. */
void *kh_hashmap_get(const struct kh_hashmap *m, const void *key);
/* The stored copy of key, or NULL. */
const void *kh_hashmap_get_key(const struct kh_hashmap *m, const void *key);
bool kh_hashmap_contains(const struct kh_hashmap *m, const void *key);
/* Remove key, copying the stored key and value out first when key_out /
 * val_out are not NULL. 0 or KH_ENOENT (or KH_EINVAL). Never allocates. */
int kh_hashmap_remove(struct kh_hashmap *m, const void *key, void *key_out, void *val_out);

/* Iterate: size_t it = 0; const void *k; void *v;
 *   while (kh_hashmap_next(m, &it, &k, &v)) { ... }
 * key/val may be NULL. */
bool kh_hashmap_next(const struct kh_hashmap *m, size_t *it, const void **key, void **val);

/* Verify every invariant (sizes, distances, Robin Hood order, stored hash,
 * count, each key findable). 0 or KH_ECORRUPT. O(n) plus a lookup per key. */
int kh_hashmap_check(const struct kh_hashmap *m);

/* ---- typed wrappers ----
 * KH_HASHMAP_DEFINE(name, K, V) defines `name` (a struct wrapping
 * struct kh_hashmap) and static inline functions:
 *   int  name_init(name *m, kh_allocator a)                 byte hash + memcmp
 *   int  name_init_with(name *m, kh_allocator a, kh_hash_fn, kh_eq_fn, void *ctx)
 *   void name_destroy(name *m); void name_clear(name *m); size_t name_len(const name *m)
 *   int  name_reserve(name *m, size_t n)
 *   int  name_insert(name *m, K key, V val)
 *   V   *name_get(const name *m, K key)                     NULL when absent
 *   V   *name_emplace(name *m, K key, bool *inserted)
 *   bool name_contains(const name *m, K key)
 *   int  name_remove(name *m, K key, V *val_out)            0 / KH_ENOENT
 *   bool name_next(const name *m, size_t *it, const K **key, V **val)
 *   int  name_check(const name *m)
 * KH_HASHSET_DEFINE(name, K) the same without values (insert(m, key),
 * remove(m, key), next(m, &it, &key)). */

#define KH_HASHMAP_DEFINE(name, K, V)                                                              \
    typedef struct name {                                                                          \
        struct kh_hashmap m;                                                                       \
    } name;                                                                                        \
    static inline KH_UNUSED_FN int name##_init_with(name *m, kh_allocator a, kh_hash_fn h,         \
                                                    kh_eq_fn e, void *ctx)                         \
    {                                                                                              \
        return kh_hashmap_init(&m->m, a, sizeof(K), sizeof(V), h, e, ctx);                         \
    }                                                                                              \
    static inline KH_UNUSED_FN int name##_init(name *m, kh_allocator a)                            \
    {                                                                                              \
        return name##_init_with(m, a, NULL, NULL, NULL);                                           \
    }                                                                                              \
    static inline KH_UNUSED_FN void name##_destroy(name *m)                                        \
    {                                                                                              \
        kh_hashmap_destroy(&m->m);                                                                 \
    }                                                                                              \
    static inline KH_UNUSED_FN void name##_clear(name *m)                                          \
    {                                                                                              \
        kh_hashmap_clear(&m->m);                                                                   \
    }                                                                                              \
    static inline KH_UNUSED_FN size_t name##_len(const name *m)                                    \
    {                                                                                              \
        return kh_hashmap_len(&m->m);                                                              \
    }                                                                                              \
    static inline KH_UNUSED_FN int name##_reserve(name *m, size_t n)                               \
    {                                                                                              \
        return kh_hashmap_reserve(&m->m, n);                                                       \
    }                                                                                              \
    static inline KH_UNUSED_FN int name##_insert(name *m, K key, V val)                            \
    {                                                                                              \
        return kh_hashmap_insert(&m->m, &key, &val);                                               \
    }                                                                                              \
    static inline KH_UNUSED_FN V *name##_get(const name *m, K key)                                 \
    {                                                                                              \
        return (V *)kh_hashmap_get(&m->m, &key);                                                   \
    }                                                                                              \
    static inline KH_UNUSED_FN V *name##_emplace(name *m, K key, bool *inserted)                   \
    {                                                                                              \
        return (V *)kh_hashmap_emplace(&m->m, &key, inserted);                                     \
    }                                                                                              \
    static inline KH_UNUSED_FN bool name##_contains(const name *m, K key)                          \
    {                                                                                              \
        return kh_hashmap_contains(&m->m, &key);                                                   \
    }                                                                                              \
    static inline KH_UNUSED_FN int name##_remove(name *m, K key, V *val_out)                       \
    {                                                                                              \
        return kh_hashmap_remove(&m->m, &key, NULL, val_out);                                      \
    }                                                                                              \
    static inline KH_UNUSED_FN bool name##_next(const name *m, size_t *it, const K **key, V **val) \
    {                                                                                              \
        const void *k_;                                                                            \
        void *v_;                                                                                  \
        if (!kh_hashmap_next(&m->m, it, &k_, &v_)) return false;                                   \
        if (key) *key = (const K *)k_;                                                             \
        if (val) *val = (V *)v_;                                                                   \
        return true;                                                                               \
    }                                                                                              \
    static inline KH_UNUSED_FN int name##_check(const name *m)                                     \
    {                                                                                              \
        return kh_hashmap_check(&m->m);                                                            \
    }

#define KH_HASHSET_DEFINE(name, K)                                                                 \
    typedef struct name {                                                                          \
        struct kh_hashmap m;                                                                       \
    } name;                                                                                        \
    static inline KH_UNUSED_FN int name##_init_with(name *m, kh_allocator a, kh_hash_fn h,         \
                                                    kh_eq_fn e, void *ctx)                         \
    {                                                                                              \
        return kh_hashmap_init(&m->m, a, sizeof(K), 0, h, e, ctx);                                 \
    }                                                                                              \
    static inline KH_UNUSED_FN int name##_init(name *m, kh_allocator a)                            \
    {                                                                                              \
        return name##_init_with(m, a, NULL, NULL, NULL);                                           \
    }                                                                                              \
    static inline KH_UNUSED_FN void name##_destroy(name *m)                                        \
    {                                                                                              \
        kh_hashmap_destroy(&m->m);                                                                 \
    }                                                                                              \
    static inline KH_UNUSED_FN void name##_clear(name *m)                                          \
    {                                                                                              \
        kh_hashmap_clear(&m->m);                                                                   \
    }                                                                                              \
    static inline KH_UNUSED_FN size_t name##_len(const name *m)                                    \
    {                                                                                              \
        return kh_hashmap_len(&m->m);                                                              \
    }                                                                                              \
    static inline KH_UNUSED_FN int name##_reserve(name *m, size_t n)                               \
    {                                                                                              \
        return kh_hashmap_reserve(&m->m, n);                                                       \
    }                                                                                              \
    static inline KH_UNUSED_FN int name##_insert(name *m, K key)                                   \
    {                                                                                              \
        return kh_hashmap_insert(&m->m, &key, NULL);                                               \
    }                                                                                              \
    static inline KH_UNUSED_FN bool name##_contains(const name *m, K key)                          \
    {                                                                                              \
        return kh_hashmap_contains(&m->m, &key);                                                   \
    }                                                                                              \
    static inline KH_UNUSED_FN int name##_remove(name *m, K key)                                   \
    {                                                                                              \
        return kh_hashmap_remove(&m->m, &key, NULL, NULL);                                         \
    }                                                                                              \
    static inline KH_UNUSED_FN bool name##_next(const name *m, size_t *it, const K **key)          \
    {                                                                                              \
        const void *k_;                                                                            \
        if (!kh_hashmap_next(&m->m, it, &k_, NULL)) return false;                                  \
        if (key) *key = (const K *)k_;                                                             \
        return true;                                                                               \
    }                                                                                              \
    static inline KH_UNUSED_FN int name##_check(const name *m)                                     \
    {                                                                                              \
        return kh_hashmap_check(&m->m);                                                            \
    }

#ifdef __cplusplus
}
#endif

#endif /* KHEAP_HASHMAP_H */
