/* SPDX-License-Identifier: MIT */
/* B-tree ordered map (kheap/map.h). */
#include "kheap/map.h"

#include "../internal/kh_string.h"

#include "kheap/error.h"

/* Node header; the key array, value array and (internal nodes) child array
 * follow at offsets fixed per map (key_off, val_off, child_off). */
struct kh_map_node {
    struct kh_map_node *parent;
    uint16_t pidx; /* index of this node in parent's child array */
    uint16_t n;    /* keys in use */
    uint16_t leaf;
};

/* Deepest tree: every non-root node has >= 2 children, so height <=
 * log2(len) + 1 <= bits in size_t + 1. One spare node per level for a split
 * plus a new root. */
#define MAP_MAX_HEIGHT (sizeof(size_t) * 8 + 1)

typedef struct kh_map_node node;

/* ---- comparators ---- */

#define CMP_BODY(T)                                                                                \
    T x, y;                                                                                        \
    (void)ctx;                                                                                     \
    memcpy(&x, a, sizeof x);                                                                       \
    memcpy(&y, b, sizeof y);                                                                       \
    return (x > y) - (x < y)

int kh_map_cmp_u64(const void *a, const void *b, void *ctx)
{
    CMP_BODY(uint64_t);
}
int kh_map_cmp_i64(const void *a, const void *b, void *ctx)
{
    CMP_BODY(int64_t);
}
int kh_map_cmp_u32(const void *a, const void *b, void *ctx)
{
    CMP_BODY(uint32_t);
}
int kh_map_cmp_i32(const void *a, const void *b, void *ctx)
{
    CMP_BODY(int32_t);
}
int kh_map_cmp_size(const void *a, const void *b, void *ctx)
{
    CMP_BODY(size_t);
}

int kh_map_cmp_str(const void *a, const void *b, void *ctx)
{
    const unsigned char *x, *y;
    (void)ctx;
    memcpy(&x, a, sizeof x);
    memcpy(&y, b, sizeof y);
    while (*x && *x == *y) x++, y++;
    return (*x > *y) - (*x < *y);
}

/* ---- geometry ---- */

static size_t size_align(size_t n)
{
    size_t a = n & (~n + 1);
    if (a == 0 || a > KH_ALIGN_DEFAULT) a = KH_ALIGN_DEFAULT;
    return a;
}

static size_t round_up(size_t n, size_t a)
{
    return (n + a - 1) & ~(a - 1);
}

int kh_map_init(struct kh_map *m, kh_allocator a, size_t key_size, size_t val_size, kh_cmp_fn cmp,
                void *ctx)
{
    if (!m) return KH_EINVAL;
    memset(m, 0, sizeof(*m)); /* a failed init still leaves a destroyable map */
    if (!key_size || !a.ops) return KH_EINVAL;
    /* Keep node arithmetic far from overflow: 15 keys + values per node. */
    if (key_size > SIZE_MAX / 64 || val_size > SIZE_MAX / 64) return KH_EINVAL;
    size_t elem = key_size + val_size;
    /* About 384 bytes of keys+values per node, B between 2 and 8. */
    size_t b = 384 / (2 * elem);
    if (b < 2) b = 2;
    if (b > 8) b = 8;
    size_t ka = size_align(key_size), va = val_size ? size_align(val_size) : 1;
    size_t cap = 2 * b - 1;
    m->a = a;
    m->cmp = cmp;
    m->ctx = ctx;
    m->key_size = key_size;
    m->val_size = val_size;
    m->b = (unsigned)b;
    m->cap = (unsigned)cap;
    m->key_off = round_up(sizeof(node), ka);
    m->val_off = round_up(m->key_off + cap * key_size, va);
    m->child_off = round_up(m->val_off + cap * val_size, _Alignof(node *));
    if (m->child_off > SIZE_MAX - (cap + 1) * sizeof(node *)) return KH_EINVAL;
    m->leaf_bytes = m->child_off;
    m->inner_bytes = m->child_off + (cap + 1) * sizeof(node *);
    size_t na = _Alignof(node);
    if (ka > na) na = ka;
    if (va > na) na = va;
    m->node_align = na;
    return 0;
}

static unsigned char *key_at(const struct kh_map *m, const node *x, size_t i)
{
    return (unsigned char *)x + m->key_off + i * m->key_size;
}

static unsigned char *val_at(const struct kh_map *m, const node *x, size_t i)
{
    return (unsigned char *)x + m->val_off + i * m->val_size;
}

static node **kids(const struct kh_map *m, const node *x)
{
    return (node **)(void *)((unsigned char *)x + m->child_off);
}

static int cmp_keys(const struct kh_map *m, const void *a, const void *b)
{
    return m->cmp ? m->cmp(a, b, m->ctx) : memcmp(a, b, m->key_size);
}

static void node_free(struct kh_map *m, node *x)
{
    kh_free(m->a, x, x->leaf ? m->leaf_bytes : m->inner_bytes, m->node_align);
}

static void free_subtree(struct kh_map *m, node *x)
{
    if (!x->leaf)
        for (size_t i = 0; i <= x->n; i++) free_subtree(m, kids(m, x)[i]);
    node_free(m, x);
}

void kh_map_destroy(struct kh_map *m)
{
    if (!m) return;
    if (m->root) free_subtree(m, m->root);
    m->root = NULL;
    m->height = 0;
    m->len = 0;
}

void kh_map_clear(struct kh_map *m)
{
    kh_map_destroy(m);
}

size_t kh_map_len(const struct kh_map *m)
{
    return m ? m->len : 0;
}

/* Binary search in x: index of the first key >= key; *found when equal. */
static size_t search(const struct kh_map *m, const node *x, const void *key, bool *found)
{
    size_t lo = 0, hi = x->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = cmp_keys(m, key, key_at(m, x, mid));
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    *found = false;
    return lo;
}

/* Node and index of key, or NULL. */
static node *lookup(const struct kh_map *m, const void *key, size_t *idx)
{
    node *x = m->root;
    while (x) {
        bool found;
        size_t i = search(m, x, key, &found);
        if (found) {
            *idx = i;
            return x;
        }
        x = x->leaf ? NULL : kids(m, x)[i];
    }
    return NULL;
}

void *kh_map_get(const struct kh_map *m, const void *key)
{
    if (!m || !key) return NULL;
    size_t i;
    node *x = lookup(m, key, &i);
    return x ? val_at(m, x, i) : NULL;
}

bool kh_map_contains(const struct kh_map *m, const void *key)
{
    return kh_map_get(m, key) != NULL;
}

/* ---- insertion ---- */

/* Set children [from, x->n] of internal node x to point back at x. */
static void adopt(const struct kh_map *m, node *x, size_t from)
{
    if (x->leaf) return;
    node **k = kids(m, x);
    for (size_t i = from; i <= x->n; i++) {
        k[i]->parent = x;
        k[i]->pidx = (uint16_t)i;
    }
}

/* Put key/val (val NULL = zeroes) at index i of x, which has room, with
 * right child `right` (internal nodes) at i + 1. */
static void node_put(const struct kh_map *m, node *x, size_t i, const void *key, const void *val,
                     node *right)
{
    size_t tail = x->n - i;
    memmove(key_at(m, x, i + 1), key_at(m, x, i), tail * m->key_size);
    memmove(val_at(m, x, i + 1), val_at(m, x, i), tail * m->val_size);
    memcpy(key_at(m, x, i), key, m->key_size);
    if (val)
        memcpy(val_at(m, x, i), val, m->val_size);
    else
        memset(val_at(m, x, i), 0, m->val_size);
    if (!x->leaf) {
        node **k = kids(m, x);
        memmove(&k[i + 2], &k[i + 1], tail * sizeof(node *));
        k[i + 1] = right;
    }
    x->n++;
    adopt(m, x, i + 1);
}

/* Move the upper half of full node x (keys b..cap-1, children b..cap) into
 * the empty node r; key b-1 (the median) stays at x's end for the caller. */
static void node_split(const struct kh_map *m, node *x, node *r)
{
    size_t b = m->b, moved = m->cap - b; /* b - 1 keys */
    r->leaf = x->leaf;
    r->n = (uint16_t)moved;
    memcpy(key_at(m, r, 0), key_at(m, x, b), moved * m->key_size);
    memcpy(val_at(m, r, 0), val_at(m, x, b), moved * m->val_size);
    if (!x->leaf) {
        memcpy(kids(m, r), &kids(m, x)[b], (moved + 1) * sizeof(node *));
        adopt(m, r, 0);
    }
    x->n = (uint16_t)b; /* b - 1 keys + the median at index b - 1 */
}

void *kh_map_emplace(struct kh_map *m, const void *key, bool *inserted)
{
    if (!m || !key) return NULL;
    if (!m->root) {
        node *r = kh_alloc(m->a, m->leaf_bytes, m->node_align);
        if (!r) return NULL;
        r->parent = NULL;
        r->pidx = 0;
        r->n = 0;
        r->leaf = 1;
        node_put(m, r, 0, key, NULL, NULL);
        m->root = r;
        m->height = 1;
        m->len = 1;
        if (inserted) *inserted = true;
        return val_at(m, r, 0);
    }
    /* Descend to the leaf, or stop at the key. */
    node *x = m->root;
    size_t i;
    for (;;) {
        bool found;
        i = search(m, x, key, &found);
        if (found) {
            if (inserted) *inserted = false;
            return val_at(m, x, i);
        }
        if (x->leaf) break;
        x = kids(m, x)[i];
    }
    if (m->len == SIZE_MAX) return NULL;
    /* Reserve: one node per full node from the leaf up, plus a new root. */
    node *spare[MAP_MAX_HEIGHT + 1];
    size_t need = 0;
    for (node *y = x; y && y->n == m->cap; y = y->parent) need++;
    bool new_root = need == m->height;
    size_t total = need + (new_root ? 1 : 0);
    for (size_t k = 0; k < total; k++) {
        /* spare[0] replaces the leaf's upper half; the rest are internal. */
        size_t bytes = k == 0 ? m->leaf_bytes : m->inner_bytes;
        spare[k] = kh_alloc(m->a, bytes, m->node_align);
        if (!spare[k]) {
            while (k--)
                kh_free(m->a, spare[k], k == 0 ? m->leaf_bytes : m->inner_bytes, m->node_align);
            return NULL;
        }
    }
    /* From here nothing can fail. */
    if (inserted) *inserted = true;
    m->len++;
    /* Split full nodes from the leaf up. Each split parks its median in
     * the last key slot of its new right node (always free: a right half
     * holds at most b keys, and b <= 2b - 2 for b >= 2) until the level
     * above takes it, so no scratch memory is needed. */
    size_t b = m->b, used = 0;
    node *cur = x, *pright = NULL, *home = NULL;
    size_t ci = i, hidx = 0;
    const void *pk = key, *pv = NULL; /* pending entry; pv NULL = zeroed value */
    for (;;) {
        if (cur->n < m->cap) {
            node_put(m, cur, ci, pk, pv, pright);
            if (!home) home = cur, hidx = ci;
            break;
        }
        node *r = spare[used++];
        node_split(m, cur, r);
        unsigned char *sk = key_at(m, r, m->cap - 1), *sv = val_at(m, r, m->cap - 1);
        memcpy(sk, key_at(m, cur, b - 1), m->key_size);
        memcpy(sv, val_at(m, cur, b - 1), m->val_size);
        cur->n = (uint16_t)(b - 1);
        /* Keys before the median (positions 0..b-1) go left, the rest right. */
        node *t = ci < b ? cur : r;
        size_t ti = ci < b ? ci : ci - b;
        node_put(m, t, ti, pk, pv, pright);
        if (!home) home = t, hidx = ti;
        pk = sk;
        pv = sv;
        pright = r;
        if (!cur->parent) {
            /* The root split: a new root over the two halves. */
            node *nr = spare[used++];
            nr->parent = NULL;
            nr->pidx = 0;
            nr->n = 0;
            nr->leaf = 0;
            kids(m, nr)[0] = cur;
            node_put(m, nr, 0, pk, pv, pright);
            adopt(m, nr, 0);
            m->root = nr;
            m->height++;
            break;
        }
        ci = cur->pidx;
        cur = cur->parent;
    }
    return val_at(m, home, hidx);
}

int kh_map_insert(struct kh_map *m, const void *key, const void *val)
{
    if (!m || !key) return KH_EINVAL;
    void *v = kh_map_emplace(m, key, NULL);
    if (!v) return m->len == SIZE_MAX ? KH_EOVERFLOW : KH_ENOMEM;
    if (val)
        memcpy(v, val, m->val_size);
    else
        memset(v, 0, m->val_size);
    return 0;
}

/* ---- removal ---- */

/* Remove key/val i of x and (internal) child i + 1. */
static void node_cut(const struct kh_map *m, node *x, size_t i)
{
    size_t tail = x->n - i - 1;
    memmove(key_at(m, x, i), key_at(m, x, i + 1), tail * m->key_size);
    memmove(val_at(m, x, i), val_at(m, x, i + 1), tail * m->val_size);
    if (!x->leaf) {
        node **k = kids(m, x);
        memmove(&k[i + 1], &k[i + 2], tail * sizeof(node *));
    }
    x->n--;
    adopt(m, x, i + 1);
}

/* x (not the root) has b - 2 keys: borrow from a sibling or merge. */
static void rebalance(struct kh_map *m, node *x)
{
    while (x->parent && x->n < m->b - 1) {
        node *p = x->parent, **pk = kids(m, p);
        size_t j = x->pidx;
        node *l = j > 0 ? pk[j - 1] : NULL, *r = j < p->n ? pk[j + 1] : NULL;
        if (l && l->n >= m->b) {
            /* Rotate right: separator down to x's front, l's last key up. */
            memmove(key_at(m, x, 1), key_at(m, x, 0), x->n * m->key_size);
            memmove(val_at(m, x, 1), val_at(m, x, 0), x->n * m->val_size);
            memcpy(key_at(m, x, 0), key_at(m, p, j - 1), m->key_size);
            memcpy(val_at(m, x, 0), val_at(m, p, j - 1), m->val_size);
            memcpy(key_at(m, p, j - 1), key_at(m, l, l->n - 1), m->key_size);
            memcpy(val_at(m, p, j - 1), val_at(m, l, l->n - 1), m->val_size);
            if (!x->leaf) {
                node **xk = kids(m, x);
                memmove(&xk[1], &xk[0], (x->n + 1u) * sizeof(node *));
                xk[0] = kids(m, l)[l->n];
            }
            x->n++;
            l->n--;
            adopt(m, x, 0);
            return;
        }
        if (r && r->n >= m->b) {
            /* Rotate left: separator down to x's end, r's first key up. */
            memcpy(key_at(m, x, x->n), key_at(m, p, j), m->key_size);
            memcpy(val_at(m, x, x->n), val_at(m, p, j), m->val_size);
            memcpy(key_at(m, p, j), key_at(m, r, 0), m->key_size);
            memcpy(val_at(m, p, j), val_at(m, r, 0), m->val_size);
            memmove(key_at(m, r, 0), key_at(m, r, 1), (r->n - 1u) * m->key_size);
            memmove(val_at(m, r, 0), val_at(m, r, 1), (r->n - 1u) * m->val_size);
            if (!x->leaf) {
                node **rk = kids(m, r);
                kids(m, x)[x->n + 1] = rk[0];
                memmove(&rk[0], &rk[1], r->n * sizeof(node *));
            }
            x->n++;
            r->n--;
            adopt(m, x, x->n);
            adopt(m, r, 0);
            return;
        }
        /* Merge a (left) + separator + c (right) into a, drop c. */
        node *a = l ? l : x, *c = l ? x : r;
        size_t s = l ? j - 1 : j;
        size_t an = a->n;
        memcpy(key_at(m, a, an), key_at(m, p, s), m->key_size);
        memcpy(val_at(m, a, an), val_at(m, p, s), m->val_size);
        memcpy(key_at(m, a, an + 1), key_at(m, c, 0), c->n * m->key_size);
        memcpy(val_at(m, a, an + 1), val_at(m, c, 0), c->n * m->val_size);
        if (!a->leaf) memcpy(&kids(m, a)[an + 1], kids(m, c), (c->n + 1u) * sizeof(node *));
        a->n = (uint16_t)(an + 1 + c->n);
        adopt(m, a, an + 1);
        node_cut(m, p, s);
        node_free(m, c);
        if (!p->parent && p->n == 0) {
            /* The root ran dry: its only child is the new root. */
            m->root = a;
            a->parent = NULL;
            a->pidx = 0;
            m->height--;
            node_free(m, p);
            return;
        }
        x = p;
    }
}

int kh_map_remove(struct kh_map *m, const void *key, void *key_out, void *val_out)
{
    if (!m || !key) return KH_EINVAL;
    size_t i;
    node *x = lookup(m, key, &i);
    if (!x) return KH_ENOENT;
    if (key_out) memcpy(key_out, key_at(m, x, i), m->key_size);
    if (val_out && m->val_size) memcpy(val_out, val_at(m, x, i), m->val_size);
    if (!x->leaf) {
        /* Replace with the predecessor, then remove that from its leaf. */
        node *y = kids(m, x)[i];
        while (!y->leaf) y = kids(m, y)[y->n];
        memcpy(key_at(m, x, i), key_at(m, y, y->n - 1), m->key_size);
        memcpy(val_at(m, x, i), val_at(m, y, y->n - 1), m->val_size);
        x = y;
        i = y->n - 1u;
    }
    node_cut(m, x, i);
    m->len--;
    if (x == m->root) {
        if (x->n == 0) {
            node_free(m, x);
            m->root = NULL;
            m->height = 0;
        }
        return 0;
    }
    rebalance(m, x);
    return 0;
}

/* ---- iteration ---- */

static bool it_end(struct kh_map_iter *it)
{
    it->node = NULL;
    it->idx = 0;
    return false;
}

static bool it_set(struct kh_map_iter *it, node *x, size_t i)
{
    it->node = x;
    it->idx = i;
    return true;
}

bool kh_map_first(const struct kh_map *m, struct kh_map_iter *it)
{
    if (!it) return false;
    it->m = m;
    if (!m || !m->root) return it_end(it);
    node *x = m->root;
    while (!x->leaf) x = kids(m, x)[0];
    return it_set(it, x, 0);
}

bool kh_map_last(const struct kh_map *m, struct kh_map_iter *it)
{
    if (!it) return false;
    it->m = m;
    if (!m || !m->root) return it_end(it);
    node *x = m->root;
    while (!x->leaf) x = kids(m, x)[x->n];
    return it_set(it, x, x->n - 1u);
}

bool kh_map_lower_bound(const struct kh_map *m, const void *key, struct kh_map_iter *it)
{
    if (!it) return false;
    it->m = m;
    it_end(it);
    if (!m || !key) return false;
    node *x = m->root;
    while (x) {
        bool found;
        size_t i = search(m, x, key, &found);
        if (found) return it_set(it, x, i);
        if (i < x->n) it_set(it, x, i); /* smallest key > key seen so far */
        x = x->leaf ? NULL : kids(m, x)[i];
    }
    return it->node != NULL;
}

bool kh_map_upper_bound(const struct kh_map *m, const void *key, struct kh_map_iter *it)
{
    if (!kh_map_lower_bound(m, key, it)) return false;
    if (cmp_keys(m, key, key_at(m, it->node, it->idx)) == 0) return kh_map_iter_next(it);
    return true;
}

bool kh_map_find(const struct kh_map *m, const void *key, struct kh_map_iter *it)
{
    if (!it) return false;
    it->m = m;
    it_end(it);
    if (!m || !key) return false;
    size_t i;
    node *x = lookup(m, key, &i);
    return x ? it_set(it, x, i) : false;
}

bool kh_map_iter_next(struct kh_map_iter *it)
{
    if (!it || !it->node) return false;
    const struct kh_map *m = it->m;
    node *x = it->node;
    size_t i = it->idx;
    if (!x->leaf) {
        x = kids(m, x)[i + 1];
        while (!x->leaf) x = kids(m, x)[0];
        return it_set(it, x, 0);
    }
    if (i + 1 < x->n) return it_set(it, x, i + 1);
    while (x->parent && x->pidx == x->parent->n) x = x->parent;
    if (!x->parent) return it_end(it);
    return it_set(it, x->parent, x->pidx);
}

bool kh_map_iter_prev(struct kh_map_iter *it)
{
    if (!it || !it->node) return false;
    const struct kh_map *m = it->m;
    node *x = it->node;
    size_t i = it->idx;
    if (!x->leaf) {
        x = kids(m, x)[i];
        while (!x->leaf) x = kids(m, x)[x->n];
        return it_set(it, x, x->n - 1u);
    }
    if (i > 0) return it_set(it, x, i - 1);
    while (x->parent && x->pidx == 0) x = x->parent;
    if (!x->parent) return it_end(it);
    return it_set(it, x->parent, x->pidx - 1u);
}

const void *kh_map_iter_key(const struct kh_map_iter *it)
{
    return it && it->node ? key_at(it->m, it->node, it->idx) : NULL;
}

void *kh_map_iter_val(const struct kh_map_iter *it)
{
    return it && it->node ? val_at(it->m, it->node, it->idx) : NULL;
}

/* ---- invariants ---- */

/* Check the subtree at x (depth d, 1 = root) whose keys must lie strictly
 * between lo and hi (NULL = unbounded). Returns its entry count, or
 * SIZE_MAX when broken. */
static size_t check_node(const struct kh_map *m, const node *x, size_t d, const void *lo,
                         const void *hi)
{
    if (x->n > m->cap) return SIZE_MAX;
    if (x != m->root && x->n < m->b - 1) return SIZE_MAX;
    if (x == m->root && x->n == 0) return SIZE_MAX;
    if ((x->leaf != 0) != (d == m->height)) return SIZE_MAX;
    for (size_t i = 0; i < x->n; i++) {
        const void *k = key_at(m, x, i);
        if (i > 0 && cmp_keys(m, key_at(m, x, i - 1), k) >= 0) return SIZE_MAX;
        if (lo && cmp_keys(m, lo, k) >= 0) return SIZE_MAX;
        if (hi && cmp_keys(m, k, hi) >= 0) return SIZE_MAX;
    }
    size_t count = x->n;
    if (x->leaf) return count;
    node **k = kids(m, x);
    for (size_t i = 0; i <= x->n; i++) {
        if (!k[i] || k[i]->parent != x || k[i]->pidx != i) return SIZE_MAX;
        size_t c = check_node(m, k[i], d + 1, i ? key_at(m, x, i - 1) : lo,
                              i < x->n ? key_at(m, x, i) : hi);
        if (c == SIZE_MAX) return SIZE_MAX;
        count += c;
    }
    return count;
}

int kh_map_check(const struct kh_map *m)
{
    if (!m || !m->key_size || m->cap != 2 * m->b - 1 || m->b < 2) return KH_ECORRUPT;
    if (!m->root) return (m->len || m->height) ? KH_ECORRUPT : 0;
    if (m->root->parent || m->height == 0 || m->height > MAP_MAX_HEIGHT) return KH_ECORRUPT;
    size_t c = check_node(m, m->root, 1, NULL, NULL);
    return c == m->len ? 0 : KH_ECORRUPT;
}
