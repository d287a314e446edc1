/* The chain state's compressed sparse Merkle tree in the store: batched updates that put new
 * nodes into a WriteBatch, and proofs and lookups under any root ever written (nodes are
 * content-addressed and never deleted). Hashing rules: client/ul_client.h.
 *
 * Storage: 'Z' hash(32) -> node(65), where node is 0x02 key32 value32 (a leaf) or 0x03 left32
 * right32 (an inner node), and hash = SHA-256(node): the stored bytes are the hash's preimage.
 * The empty subtree (32 zero bytes) is never stored. Every walk is bounded by the 256 key bits:
 * below depth 256 there is nothing to split, so a deeper inner node means a corrupt store.
 *
 * A store read costs microseconds and a proof at 10^6 keys walks ~21 levels, so the upper levels
 * (read by every proof and every update) are kept in a process-wide cache. Nodes are
 * content-addressed, so a cached node is never stale; only nodes read from a store enter it,
 * so nothing uncommitted becomes provable.
 */
#include <assert.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define NODE_BYTES (1 + 2 * UL_HASH_BYTES)
#define KEY_BYTES (1 + UL_HASH_BYTES)

enum { TAG_LEAF = 0x02, TAG_INNER = 0x03 };

/* What an updated subtree became. UNKNOWN: an untouched, non-empty child whose kind only
 * matters when its sibling empties (then a lone leaf moves up). */
typedef enum { SUB_EMPTY, SUB_LEAF, SUB_INNER, SUB_UNKNOWN } sub_kind;

typedef struct {
    uint8_t hash[UL_HASH_BYTES];
    sub_kind kind;
} sub;

/* One ul_smt_update_root call. It walks the tree once, top down: every node it reads is a
 * committed one (the old root or a child of a node read before), and a node it makes is only ever
 * handed up to its parent, so no table of made nodes is needed to read them back. */
typedef struct {
    ul_store *s;
    ul_batch *b;
    const ul_smt_update *u;
    size_t *live; /* live[i]: updates among u[0..i) that insert (not delete) */
} smt_ctx;

static const uint8_t zero32[UL_HASH_BYTES];

static bool is_zero(const uint8_t h[UL_HASH_BYTES])
{
    return memcmp(h, zero32, UL_HASH_BYTES) == 0;
}

/* Bit i of a key, most significant bit of byte 0 first: 0 goes left, 1 right. */
static unsigned key_bit(const uint8_t *key, size_t i)
{
    return (key[i >> 3] >> (7 - (i & 7))) & 1u;
}

/* ---- Upper-level node cache -------------------------------------------------------------- */

/* Nodes above CACHE_DEPTH: at 10^6 keys levels 0..16 hold ~131k nodes, which a 2-way cache of
 * 2^18 slots (~28 MiB, touched as used) keeps with few conflicts; a proof then reads ~5 nodes
 * from the store instead of ~21. Sets are picked by hash bits: a key chosen to collide only costs
 * cache misses, never a wrong node (the full hash is compared). */
#define CACHE_DEPTH 17
#define CACHE_SETS ((size_t)1 << 17)
#define CACHE_LOCKS 256 /* striped: provers on several threads rarely meet */

typedef struct {
    const ul_store *s; /* NULL: free; a node counts for the store it was read from */
    uint8_t hash[UL_HASH_BYTES];
    uint8_t node[NODE_BYTES];
} cache_slot;

static cache_slot (*g_cache)[2]; /* [set][way], way 0 most recently used */
static pthread_mutex_t g_cache_locks[CACHE_LOCKS];
static pthread_once_t g_cache_once = PTHREAD_ONCE_INIT;

static void cache_init(void)
{
    for (size_t i = 0; i < CACHE_LOCKS; i++) {
        pthread_mutex_init(&g_cache_locks[i], NULL);
    }
    g_cache = calloc(CACHE_SETS, sizeof *g_cache); /* NULL: run without a cache */
}

static size_t cache_set(const uint8_t hash[UL_HASH_BYTES])
{
    return (size_t)ul_be32_get(hash) & (CACHE_SETS - 1);
}

static bool cache_get(const ul_store *s, const uint8_t hash[UL_HASH_BYTES],
                      uint8_t node[NODE_BYTES])
{
    pthread_once(&g_cache_once, cache_init);
    if (g_cache == NULL) {
        return false;
    }
    size_t set = cache_set(hash);
    cache_slot *w = g_cache[set];
    bool hit = false;
    pthread_mutex_lock(&g_cache_locks[set % CACHE_LOCKS]);
    for (int i = 0; i < 2 && !hit; i++) {
        if (w[i].s == s && memcmp(w[i].hash, hash, UL_HASH_BYTES) == 0) {
            memcpy(node, w[i].node, NODE_BYTES);
            if (i == 1) { /* keep the most recently used in way 0 */
                cache_slot t = w[0];
                w[0] = w[1];
                w[1] = t;
            }
            hit = true;
        }
    }
    pthread_mutex_unlock(&g_cache_locks[set % CACHE_LOCKS]);
    return hit;
}

/* Adds a node just read from s, evicting the set's least recently used one. */
static void cache_put(const ul_store *s, const uint8_t hash[UL_HASH_BYTES],
                      const uint8_t node[NODE_BYTES])
{
    if (g_cache == NULL) {
        return;
    }
    size_t set = cache_set(hash);
    cache_slot *w = g_cache[set];
    pthread_mutex_lock(&g_cache_locks[set % CACHE_LOCKS]);
    w[1] = w[0];
    w[0].s = s;
    memcpy(w[0].hash, hash, UL_HASH_BYTES);
    memcpy(w[0].node, node, NODE_BYTES);
    pthread_mutex_unlock(&g_cache_locks[set % CACHE_LOCKS]);
}

/* Reads the committed node at depth; a missing or malformed one is corruption, since a root the
 * caller holds must have all its nodes stored. */
static ul_err node_read(ul_store *s, const uint8_t hash[UL_HASH_BYTES], size_t depth,
                        uint8_t node[NODE_BYTES])
{
    uint8_t k[KEY_BYTES];
    bool cached = depth < CACHE_DEPTH;
    if (cached && cache_get(s, hash, node)) {
        return UL_OK;
    }
    k[0] = UL_KEY_SMT;
    memcpy(k + 1, hash, UL_HASH_BYTES);
    ul_err e = ul_store_get_fixed(s, k, sizeof k, node, NODE_BYTES);
    if (e == UL_E_NOT_FOUND) {
        return UL_E_CORRUPT;
    }
    if (e == UL_OK && node[0] != TAG_LEAF && node[0] != TAG_INNER) {
        return UL_E_CORRUPT;
    }
    if (e == UL_OK && cached) {
        cache_put(s, hash, node);
    }
    return e;
}

/* Hashes node, puts it into the batch and describes it in *out. */
static void ctx_put(smt_ctx *c, const uint8_t node[NODE_BYTES], sub *out)
{
    uint8_t k[KEY_BYTES];
    ul_client_sha256(out->hash, node, NODE_BYTES);
    out->kind = node[0] == TAG_LEAF ? SUB_LEAF : SUB_INNER;
    k[0] = UL_KEY_SMT;
    memcpy(k + 1, out->hash, UL_HASH_BYTES);
    ul_batch_put(c->b, k, sizeof k, node, NODE_BYTES);
}

static void put_leaf(smt_ctx *c, const uint8_t key[UL_HASH_BYTES],
                     const uint8_t value[UL_HASH_BYTES], sub *out)
{
    uint8_t node[NODE_BYTES];
    node[0] = TAG_LEAF;
    memcpy(node + 1, key, UL_HASH_BYTES);
    memcpy(node + 1 + UL_HASH_BYTES, value, UL_HASH_BYTES);
    ctx_put(c, node, out);
}

/* Joins two updated children at depth + 1: nothing, a lone leaf moving up (the compressed tree
 * keeps a single leaf at the shallowest depth where it is alone), or an inner node. */
static ul_err join(smt_ctx *c, size_t depth, sub *l, sub *r, sub *out)
{
    uint8_t node[NODE_BYTES];
    if (l->kind == SUB_EMPTY || r->kind == SUB_EMPTY) {
        sub *other = l->kind == SUB_EMPTY ? r : l;
        if (other->kind == SUB_UNKNOWN) {
            ul_err e = node_read(c->s, other->hash, depth + 1, node);
            if (e != UL_OK) {
                return e;
            }
            other->kind = node[0] == TAG_LEAF ? SUB_LEAF : SUB_INNER;
        }
        if (other->kind != SUB_INNER) {
            *out = *other; /* empty, or a leaf whose sibling emptied */
            return UL_OK;
        }
    }
    node[0] = TAG_INNER;
    memcpy(node + 1, l->hash, UL_HASH_BYTES);
    memcpy(node + 1 + UL_HASH_BYTES, r->hash, UL_HASH_BYTES);
    ctx_put(c, node, out);
    return UL_OK;
}

/* First index in u[lo..hi) whose key has bit `bit` set. The keys share their first `bit` bits
 * and are sorted, so those with the bit clear come first. */
static size_t split(const ul_smt_update *u, size_t lo, size_t hi, size_t bit)
{
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (key_bit(u[mid].key, bit)) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    return lo;
}

/* Index of key in u[lo..hi), or SIZE_MAX. */
static size_t find(const ul_smt_update *u, size_t lo, size_t hi, const uint8_t *key)
{
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int d = memcmp(u[mid].key, key, UL_HASH_BYTES);
        if (d == 0) {
            return mid;
        }
        if (d < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return SIZE_MAX;
}

/* Builds, from nothing, the subtree at depth holding the inserts of u[lo..hi) plus leaf (a
 * stored leaf node pushed down from above, or NULL). Recursion depth <= 256: two or more
 * distinct keys under one prefix differ at a bit below 256. */
static ul_err build(smt_ctx *c, size_t depth, size_t lo, size_t hi, const uint8_t *leaf, sub *out)
{
    size_t n = c->live[hi] - c->live[lo] + (leaf != NULL ? 1 : 0);
    if (n == 0) {
        memset(out, 0, sizeof *out);
        out->kind = SUB_EMPTY;
        return UL_OK;
    }
    if (n == 1) {
        if (leaf != NULL) {
            put_leaf(c, leaf + 1, leaf + 1 + UL_HASH_BYTES, out);
            return UL_OK;
        }
        while (c->u[lo].del) {
            lo++; /* deletes of absent keys: nothing to remove */
        }
        put_leaf(c, c->u[lo].key, c->u[lo].value, out);
        return UL_OK;
    }
    assert(depth < UL_SMT_DEPTH);
    size_t mid = split(c->u, lo, hi, depth);
    bool leaf_right = leaf != NULL && key_bit(leaf + 1, depth);
    sub l, r;
    ul_err e = build(c, depth + 1, lo, mid, leaf_right ? NULL : leaf, &l);
    if (e == UL_OK) {
        e = build(c, depth + 1, mid, hi, leaf_right ? leaf : NULL, &r);
    }
    return e != UL_OK ? e : join(c, depth, &l, &r, out);
}

static void untouched(const uint8_t hash[UL_HASH_BYTES], sub *out)
{
    memcpy(out->hash, hash, UL_HASH_BYTES);
    out->kind = is_zero(hash) ? SUB_EMPTY : SUB_UNKNOWN;
}

/* Applies u[lo..hi) (non-empty, all under this subtree's prefix) to the subtree at depth whose
 * hash is hash. Recursion depth <= 257: one level per key bit, then a leaf or nothing. */
static ul_err update(smt_ctx *c, size_t depth, const uint8_t hash[UL_HASH_BYTES], size_t lo,
                     size_t hi, sub *out)
{
    uint8_t node[NODE_BYTES];
    if (is_zero(hash)) {
        return build(c, depth, lo, hi, NULL, out);
    }
    ul_err e = node_read(c->s, hash, depth, node);
    if (e != UL_OK) {
        return e;
    }
    if (node[0] == TAG_LEAF) {
        /* The stored leaf joins the inserts unless an update replaces or deletes it. */
        bool kept = find(c->u, lo, hi, node + 1) == SIZE_MAX;
        return build(c, depth, lo, hi, kept ? node : NULL, out);
    }
    if (depth >= UL_SMT_DEPTH) {
        return UL_E_CORRUPT; /* no bits left to branch on */
    }
    size_t mid = split(c->u, lo, hi, depth);
    sub l, r;
    untouched(node + 1, &l);
    untouched(node + 1 + UL_HASH_BYTES, &r);
    if (mid > lo) {
        e = update(c, depth + 1, node + 1, lo, mid, &l);
    }
    if (e == UL_OK && hi > mid) {
        e = update(c, depth + 1, node + 1 + UL_HASH_BYTES, mid, hi, &r);
    }
    return e != UL_OK ? e : join(c, depth, &l, &r, out);
}

static void check_sorted(const ul_smt_update *u, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        assert(memcmp(u[i - 1].key, u[i].key, UL_HASH_BYTES) < 0);
    }
}

ul_err ul_smt_update_root(ul_store *s, ul_batch *b, const uint8_t root32[UL_HASH_BYTES],
                          const ul_smt_update *u, size_t n, uint8_t new_root32[UL_HASH_BYTES])
{
    assert(s && b && root32 && new_root32 && (u || n == 0));
    check_sorted(u, n);
    if (n == 0) {
        memmove(new_root32, root32, UL_HASH_BYTES);
        return UL_OK;
    }
    smt_ctx c = {.s = s, .b = b, .u = u};
    c.live = malloc((n + 1) * sizeof *c.live);
    if (c.live == NULL) {
        return UL_E_NOMEM;
    }
    c.live[0] = 0;
    for (size_t i = 0; i < n; i++) {
        c.live[i + 1] = c.live[i] + (u[i].del ? 0 : 1);
    }
    sub root;
    ul_err e = update(&c, 0, root32, 0, n, &root);
    if (e == UL_OK) {
        memcpy(new_root32, root.hash, UL_HASH_BYTES); /* empty: all zero */
    }
    free(c.live);
    return e;
}

/* Walks from root32 along key32's bits to the path's end: an empty subtree or a leaf. Collects
 * the proof into p when non-NULL; *leaf (when set) holds the final leaf node. */
static ul_err walk(ul_store *s, const uint8_t root32[UL_HASH_BYTES],
                   const uint8_t key32[UL_HASH_BYTES], ul_state_proof *p, uint8_t leaf[NODE_BYTES],
                   bool *has_leaf, size_t *depth)
{
    uint8_t h[UL_HASH_BYTES];
    memcpy(h, root32, UL_HASH_BYTES);
    *has_leaf = false;
    for (size_t d = 0; d <= UL_SMT_DEPTH; d++) {
        *depth = d;
        if (is_zero(h)) {
            return UL_OK;
        }
        ul_err e = node_read(s, h, d, leaf);
        if (e != UL_OK || leaf[0] == TAG_LEAF) {
            *has_leaf = e == UL_OK;
            return e;
        }
        if (d == UL_SMT_DEPTH) {
            break;
        }
        unsigned bit = key_bit(key32, d);
        const uint8_t *next = leaf + 1 + (bit ? UL_HASH_BYTES : 0);
        const uint8_t *sib = leaf + 1 + (bit ? 0 : UL_HASH_BYTES);
        if (p != NULL && !is_zero(sib)) {
            p->bitmap[d >> 3] |= (uint8_t)(0x80u >> (d & 7));
            memcpy(p->siblings[p->n_siblings++], sib, UL_HASH_BYTES);
        }
        memcpy(h, next, UL_HASH_BYTES);
    }
    return UL_E_CORRUPT; /* an inner node at depth 256 */
}

ul_err ul_smt_prove(ul_store *s, const uint8_t root32[UL_HASH_BYTES],
                    const uint8_t key32[UL_HASH_BYTES], ul_state_proof *out)
{
    assert(s && root32 && key32 && out);
    uint8_t leaf[NODE_BYTES];
    bool has_leaf;
    size_t depth;
    /* The sibling array is filled from index 0 and read only up to n_siblings. */
    memset(out, 0, offsetof(ul_state_proof, siblings));
    memset(out->leaf_key, 0, sizeof out->leaf_key);
    memset(out->leaf_value, 0, sizeof out->leaf_value);
    out->has_leaf = false;
    ul_err e = walk(s, root32, key32, out, leaf, &has_leaf, &depth);
    if (e != UL_OK) {
        return e;
    }
    out->depth = depth;
    out->has_leaf = has_leaf;
    if (has_leaf) {
        memcpy(out->leaf_key, leaf + 1, UL_HASH_BYTES);
        memcpy(out->leaf_value, leaf + 1 + UL_HASH_BYTES, UL_HASH_BYTES);
    }
    return UL_OK;
}

ul_err ul_smt_get(ul_store *s, const uint8_t root32[UL_HASH_BYTES],
                  const uint8_t key32[UL_HASH_BYTES], uint8_t value32[UL_HASH_BYTES])
{
    assert(s && root32 && key32 && value32);
    uint8_t leaf[NODE_BYTES];
    bool has_leaf;
    size_t depth;
    ul_err e = walk(s, root32, key32, NULL, leaf, &has_leaf, &depth);
    if (e != UL_OK) {
        return e;
    }
    if (!has_leaf || memcmp(leaf + 1, key32, UL_HASH_BYTES) != 0) {
        return UL_E_NOT_FOUND;
    }
    memcpy(value32, leaf + 1 + UL_HASH_BYTES, UL_HASH_BYTES);
    return UL_OK;
}
