/* SPDX-License-Identifier: MIT */
/* kheap ordered map and set: a B-tree over a user comparator.
 *
 * DATASHEET
 *
 * Layout      A B-tree of minimum degree B: every node but the root holds
 *             B-1 .. 2B-1 keys, leaves all at the same depth. Keys and values
 *             are stored inline in the node (element-size generics: key_size
 *             and val_size bytes, copied in), keys in one array and values in
 *             another so a search touches only keys. B is picked from the
 *             element size so a node stays a few hundred bytes (B = 8, 15 keys,
 *             for 8-byte keys and values; B = 2 for elements over ~100 bytes).
 *             Leaves have no child array. Each node knows its parent, so
 *             iterators move both ways without a stack.
 * Time        insert, get, remove, lower/upper bound: O(log n) comparisons
 *             (binary search inside a node) and O(B) moves. Iterator step:
 *             O(1) amortized, O(log n) worst. first/last: O(log n).
 * Memory      Per node: 2 pointers-worth of header + (2B-1)(key + value)
 *             (+ 2B child pointers for internal nodes). Nodes are at least
 *             half full, so at most about 2x the raw element bytes plus small
 *             per-node overhead.
 * Failure     Insert works out before touching the tree how many nodes it
 *             will need (one per full node on the path that must split, plus
 *             a new root) and allocates them all first; if any allocation
 *             fails they are freed and the map is exactly as it was
 *             (KH_ENOMEM). Remove and replace never allocate and never fail.
 * Order       cmp(a, b, ctx) < 0, == 0, > 0 as a orders before, equal to, or
 *             after b; it must be a strict weak order and must not change
 *             while keys are in the map. cmp NULL = memcmp of key_size bytes
 *             (byte order: fine for byte strings and big-endian integers,
 *             NOT numeric order for little-endian integers: use
 *             kh_map_cmp_u64 and friends).
 * Iteration   A struct kh_map_iter points at one entry; first/last/
 *             lower_bound/upper_bound/find position it, next/prev move it.
 *             Any insert or remove invalidates every iterator.
 * Threads     None: protect a shared map with a lock.
 */
#ifndef KHEAP_MAP_H
#define KHEAP_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kheap/alloc.h"
#include "kheap/compiler.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Three-way comparison (identical to the one in kheap/vec.h). */
typedef int (*kh_cmp_fn)(const void *a, const void *b, void *ctx);

struct kh_map_node; /* private */

struct kh_map {
    kh_allocator a;
    kh_cmp_fn cmp; /* NULL: memcmp */
    void *ctx;
    size_t key_size, val_size;
    size_t len;
    size_t height; /* levels; 0 when empty */
    struct kh_map_node *root;
    /* node geometry, fixed at init */
    unsigned b, cap; /* minimum degree, max keys per node (2b - 1) */
    size_t key_off, val_off, child_off;
    size_t leaf_bytes, inner_bytes, node_align;
};

/* A position in the map: one entry, or the end (node NULL). */
struct kh_map_iter {
    const struct kh_map *m;
    struct kh_map_node *node;
    size_t idx;
};

/* Ready-made comparators for keys that are integers or C strings
 * (const char * keys, compared with strcmp order). */
int kh_map_cmp_u64(const void *a, const void *b, void *ctx);
int kh_map_cmp_i64(const void *a, const void *b, void *ctx);
int kh_map_cmp_u32(const void *a, const void *b, void *ctx);
int kh_map_cmp_i32(const void *a, const void *b, void *ctx);
int kh_map_cmp_size(const void *a, const void *b, void *ctx);
int kh_map_cmp_str(const void *a, const void *b, void *ctx);

/* Initialize an empty map (no allocation). key_size > 0; val_size may be 0
 * (a set). 0 or KH_EINVAL (NULL m, key_size 0, sizes too large). */
int kh_map_init(struct kh_map *m, kh_allocator a, size_t key_size, size_t val_size, kh_cmp_fn cmp,
                void *ctx);
/* Free every node. The map is left empty and usable. */
void kh_map_destroy(struct kh_map *m);
/* Same as destroy: a B-tree keeps nothing worth reusing. */
void kh_map_clear(struct kh_map *m);
size_t kh_map_len(const struct kh_map *m);

/* Insert key -> val, replacing the value when key is present (val NULL
 * stores zeroes). 0, KH_ENOMEM (map unchanged), KH_EINVAL. */
int kh_map_insert(struct kh_map *m, const void *key, const void *val);
/* Find key, inserting it with a zeroed value when absent; the value slot
 * (valid until the next insert/remove) or NULL on failure (map unchanged).
 * *inserted (may be NULL) tells whether it was added. */
void *kh_map_emplace(struct kh_map *m, const void *key, bool *inserted);
/* The value for key, or NULL. For a set, a non-NULL pointer when present. */
void *kh_map_get(const struct kh_map *m, const void *key);
bool kh_map_contains(const struct kh_map *m, const void *key);
/* Remove key, copying the stored key and value out first when key_out /
 * val_out are not NULL. 0 or KH_ENOENT (KH_EINVAL for NULL). */
int kh_map_remove(struct kh_map *m, const void *key, void *key_out, void *val_out);

/* Position it; each returns false (and it at the end) when there is no such
 * entry. lower_bound: first key >= key; upper_bound: first key > key;
 * find: key itself. */
bool kh_map_first(const struct kh_map *m, struct kh_map_iter *it);
bool kh_map_last(const struct kh_map *m, struct kh_map_iter *it);
bool kh_map_lower_bound(const struct kh_map *m, const void *key, struct kh_map_iter *it);
bool kh_map_upper_bound(const struct kh_map *m, const void *key, struct kh_map_iter *it);
bool kh_map_find(const struct kh_map *m, const void *key, struct kh_map_iter *it);
/* Move to the next / previous entry; false (and it at the end) when there
 * is none. On an iterator at the end they do nothing and return false. */
bool kh_map_iter_next(struct kh_map_iter *it);
bool kh_map_iter_prev(struct kh_map_iter *it);
/* The entry under it (NULL at the end). */
const void *kh_map_iter_key(const struct kh_map_iter *it);
void *kh_map_iter_val(const struct kh_map_iter *it);

/* Verify every invariant: node fill, equal leaf depth, strict key order
 * inside nodes and across separators, parent links, the entry count.
 * 0 or KH_ECORRUPT. O(n) comparisons. */
int kh_map_check(const struct kh_map *m);

/* ---- typed wrappers ----
 * KH_MAP_DEFINE(name, K, V, cmp) defines `name` (wrapping struct kh_map)
 * with cmp a kh_cmp_fn over K (NULL = memcmp), and the functions below. K and
 * V must be single type names (typedef pointer types such as const char *):
 * the macro writes `const K *`.
 *   int  name_init(name *m, kh_allocator a)      void name_destroy(name *m)
 *   size_t name_len(const name *m)
 *   int  name_insert(name *m, K key, V val)      V *name_get(const name *m, K key)
 *   V   *name_emplace(name *m, K key, bool *inserted)
 *   bool name_contains(const name *m, K key)     int name_remove(name *m, K key, V *val_out)
 *   bool name_first / name_last(const name *m, struct kh_map_iter *it)
 *   bool name_lower_bound / name_upper_bound(const name *m, K key, struct kh_map_iter *it)
 *   const K *name_key(const struct kh_map_iter *it)   V *name_val(const struct kh_map_iter *it)
 *   int  name_check(const name *m)
 * Iterators move with kh_map_iter_next / kh_map_iter_prev.
 * KH_SET_DEFINE(name, K, cmp) the same without values: insert(m, key),
 * remove(m, key), and no get/emplace/val. */
#define KH_MAP_DEFINE_COMMON_(name, K, cmp, vsize)                                                 \
    typedef struct name {                                                                          \
        struct kh_map m;                                                                           \
    } name;                                                                                        \
    static inline KH_UNUSED_FN int name##_init(name *m, kh_allocator a)                            \
    {                                                                                              \
        return kh_map_init(&m->m, a, sizeof(K), vsize, cmp, NULL);                                 \
    }                                                                                              \
    static inline KH_UNUSED_FN void name##_destroy(name *m)                                        \
    {                                                                                              \
        kh_map_destroy(&m->m);                                                                     \
    }                                                                                              \
    static inline KH_UNUSED_FN size_t name##_len(const name *m)                                    \
    {                                                                                              \
        return kh_map_len(&m->m);                                                                  \
    }                                                                                              \
    static inline KH_UNUSED_FN bool name##_contains(const name *m, K key)                          \
    {                                                                                              \
        return kh_map_contains(&m->m, &key);                                                       \
    }                                                                                              \
    static inline KH_UNUSED_FN bool name##_first(const name *m, struct kh_map_iter *it)            \
    {                                                                                              \
        return kh_map_first(&m->m, it);                                                            \
    }                                                                                              \
    static inline KH_UNUSED_FN bool name##_last(const name *m, struct kh_map_iter *it)             \
    {                                                                                              \
        return kh_map_last(&m->m, it);                                                             \
    }                                                                                              \
    static inline KH_UNUSED_FN bool name##_lower_bound(const name *m, K key,                       \
                                                       struct kh_map_iter *it)                     \
    {                                                                                              \
        return kh_map_lower_bound(&m->m, &key, it);                                                \
    }                                                                                              \
    static inline KH_UNUSED_FN bool name##_upper_bound(const name *m, K key,                       \
                                                       struct kh_map_iter *it)                     \
    {                                                                                              \
        return kh_map_upper_bound(&m->m, &key, it);                                                \
    }                                                                                              \
    static inline KH_UNUSED_FN const K *name##_key(const struct kh_map_iter *it)                   \
    {                                                                                              \
        return (const K *)kh_map_iter_key(it);                                                     \
    }                                                                                              \
    static inline KH_UNUSED_FN int name##_check(const name *m)                                     \
    {                                                                                              \
        return kh_map_check(&m->m);                                                                \
    }

#define KH_MAP_DEFINE(name, K, V, cmp)                                                             \
    KH_MAP_DEFINE_COMMON_(name, K, cmp, sizeof(V))                                                 \
    static inline KH_UNUSED_FN int name##_insert(name *m, K key, V val)                            \
    {                                                                                              \
        return kh_map_insert(&m->m, &key, &val);                                                   \
    }                                                                                              \
    static inline KH_UNUSED_FN V *name##_get(const name *m, K key)                                 \
    {                                                                                              \
        return (V *)kh_map_get(&m->m, &key);                                                       \
    }                                                                                              \
    static inline KH_UNUSED_FN V *name##_emplace(name *m, K key, bool *inserted)                   \
    {                                                                                              \
        return (V *)kh_map_emplace(&m->m, &key, inserted);                                         \
    }                                                                                              \
    static inline KH_UNUSED_FN int name##_remove(name *m, K key, V *val_out)                       \
    {                                                                                              \
        return kh_map_remove(&m->m, &key, NULL, val_out);                                          \
    }                                                                                              \
    static inline KH_UNUSED_FN V *name##_val(const struct kh_map_iter *it)                         \
    {                                                                                              \
        return (V *)kh_map_iter_val(it);                                                           \
    }

#define KH_SET_DEFINE(name, K, cmp)                                                                \
    KH_MAP_DEFINE_COMMON_(name, K, cmp, 0)                                                         \
    static inline KH_UNUSED_FN int name##_insert(name *m, K key)                                   \
    {                                                                                              \
        return kh_map_insert(&m->m, &key, NULL);                                                   \
    }                                                                                              \
    static inline KH_UNUSED_FN int name##_remove(name *m, K key)                                   \
    {                                                                                              \
        return kh_map_remove(&m->m, &key, NULL, NULL);                                             \
    }

#ifdef __cplusplus
}
#endif

#endif /* KHEAP_MAP_H */
