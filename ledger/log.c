/* The release log: an RFC 9162 Merkle tree of every published release, kept in the store as the
 * hashes of its perfect subtrees. Appends touch the right frontier; roots and proofs for any
 * committed size are assembled from O(log n) stored (or cached) perfect-subtree hashes.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "ul_ledger.h"

/* A tree of fewer than 2^64 leaves has perfect subtrees at levels 0..63. */
#define LOG_LEVELS 64
/* 'L' level(1) index(8 BE) */
#define LOG_KEY_BYTES 10
/* Perfect nodes at levels >= LOG_CACHE_LEVEL are held in memory. Level L has n/2^L nodes, so
 * all cached levels together hold fewer than n/2 hashes: 16 bytes per leaf (16 MB at 10^6
 * releases), about 4% of the ~400 bytes the node already stores for each release. A proof then
 * reads at most LOG_CACHE_LEVEL stored siblings (those below the cache) instead of ~log2(n).
 * A LevelDB read of a random node costs ~5 us here, so at 10^6 leaves level 4 (4 reads) measured
 * ~45k inclusion proofs/s on one core and level 2 (2 reads) ~64k/s. Each level lower doubles the
 * memory and saves one read per proof. */
#define LOG_CACHE_LEVEL 2
/* Hard bound on cached hashes (64 MiB): a log beyond ~1.6e7 leaves keeps its top levels (and
 * the oldest part of the next one) in memory and reads the rest from the store, so memory never
 * grows without bound and proofs degrade by one read per uncached level. */
#define LOG_CACHE_MAX_NODES ((uint64_t)1 << 21)
_Static_assert(LOG_CACHE_LEVEL >= 1, "cache_load counts levels down to LOG_CACHE_LEVEL");
/* Ranges in a proof: one per tree level plus the final subtree of a consistency proof. */
#define LOG_MAX_RANGES (LOG_LEVELS + 2)

typedef uint8_t log_hash[UL_HASH_BYTES];

typedef struct {
    log_hash *h;  /* h[i] is node (level, i) for i < n */
    uint64_t n;   /* filled entries; may run ahead of the committed size (pending appends) */
    uint64_t cap; /* allocated entries */
} log_level_cache;

struct ul_log {
    ul_store *s;
    uint64_t size;            /* leaves including pending appends */
    uint64_t csize;           /* committed leaves */
    log_hash fr[LOG_LEVELS];  /* fr[L] is the frontier subtree at level L when bit L of size */
    log_hash cfr[LOG_LEVELS]; /* the same for csize: restored by rollback */
    log_level_cache cache[LOG_LEVELS]; /* used for levels >= LOG_CACHE_LEVEL */
    uint64_t cached;                   /* total cached hashes, <= LOG_CACHE_MAX_NODES */
    uint64_t reads;                    /* store reads made for roots and proofs */
};

/* A subtree [a, b) of leaves whose hash a proof needs. */
typedef struct {
    uint64_t a;
    uint64_t b;
} log_range;

static void node_key(uint8_t key[LOG_KEY_BYTES], unsigned level, uint64_t index)
{
    assert(level < LOG_LEVELS);
    key[0] = UL_KEY_LOGNODE;
    key[1] = (uint8_t)level;
    ul_be64_put(key + 2, index);
}

static bool bit(uint64_t v, unsigned level)
{
    return (v >> level) & 1;
}

/* Largest power of two strictly below n (n >= 2): RFC 9162's split point k. */
static uint64_t split(uint64_t n)
{
    assert(n >= 2);
    return (uint64_t)1 << (63 - __builtin_clzll(n - 1));
}

/* Appends node (level, index) to the level's cache when it is the next entry and fits the
 * bound. Failing to cache (memory, bound, a gap) only costs later store reads. */
static void cache_push(ul_log *l, unsigned level, uint64_t index, const uint8_t h[UL_HASH_BYTES])
{
    log_level_cache *c = &l->cache[level];
    if (level < LOG_CACHE_LEVEL || index != c->n || l->cached >= LOG_CACHE_MAX_NODES) {
        return;
    }
    if (c->n == c->cap) {
        uint64_t cap = c->cap ? c->cap * 2 : 64;
        log_hash *p = realloc(c->h, (size_t)cap * sizeof(log_hash));
        if (!p) {
            return;
        }
        c->h = p;
        c->cap = cap;
    }
    memcpy(c->h[c->n], h, UL_HASH_BYTES);
    c->n++;
    l->cached++;
}

/* Reads committed node (level, index): the frontier, the cache, or the store. */
static ul_err get_node(ul_log *l, unsigned level, uint64_t index, uint8_t out[UL_HASH_BYTES])
{
    assert(level < LOG_LEVELS && index < (l->csize >> level));
    if (bit(l->csize, level) && index == (l->csize >> level) - 1) {
        memcpy(out, l->cfr[level], UL_HASH_BYTES);
        return UL_OK;
    }
    if (level >= LOG_CACHE_LEVEL && index < l->cache[level].n) {
        memcpy(out, l->cache[level].h[index], UL_HASH_BYTES);
        return UL_OK;
    }
    uint8_t key[LOG_KEY_BYTES];
    node_key(key, level, index);
    l->reads++;
    ul_err rc = ul_store_get_fixed(l->s, key, sizeof(key), out, UL_HASH_BYTES);
    /* Every committed perfect node was written with its block: absence means damage. */
    return rc == UL_E_NOT_FOUND ? UL_E_CORRUPT : rc;
}

/* MTH(D[a:b]) for a range of RFC 9162 shape: a is aligned so that [a, b) splits into perfect
 * subtrees of strictly decreasing size (a perfect range, or one ending at the tree's right
 * edge). Folds those subtrees right to left: at most 64 reads, and none above the cache. */
static ul_err range_hash(ul_log *l, log_range r, uint8_t out[UL_HASH_BYTES])
{
    assert(r.a < r.b && r.b <= l->csize);
    unsigned lv[LOG_LEVELS];
    uint64_t ix[LOG_LEVELS];
    unsigned n = 0;
    for (uint64_t pos = r.a; pos < r.b; n++) {
        assert(n < LOG_LEVELS);
        unsigned by_len = 63 - (unsigned)__builtin_clzll(r.b - pos);
        unsigned by_align = pos ? (unsigned)__builtin_ctzll(pos) : 63;
        unsigned level = by_len < by_align ? by_len : by_align;
        assert(n == 0 || level < lv[n - 1]); /* RFC shape: the caller's range is well formed */
        lv[n] = level;
        ix[n] = pos >> level;
        pos += (uint64_t)1 << level;
    }
    ul_err rc = get_node(l, lv[n - 1], ix[n - 1], out);
    for (unsigned i = n - 1; rc == UL_OK && i > 0; i--) {
        uint8_t left[UL_HASH_BYTES], right[UL_HASH_BYTES];
        memcpy(right, out, UL_HASH_BYTES);
        rc = get_node(l, lv[i - 1], ix[i - 1], left);
        if (rc == UL_OK) {
            ul_client_merkle_node_hash(out, left, right);
        }
    }
    return rc;
}

/* Fills path[0..n) with the hashes of ranges r[0..n) (already in output order). */
static ul_err hash_ranges(ul_log *l, const log_range *r, size_t n, uint8_t (*path)[UL_HASH_BYTES])
{
    for (size_t i = 0; i < n; i++) {
        ul_err rc = range_hash(l, r[i], path[i]);
        if (rc != UL_OK) {
            return rc;
        }
    }
    return UL_OK;
}

static void log_free(ul_log *l)
{
    for (unsigned i = 0; i < LOG_LEVELS; i++) {
        free(l->cache[i].h);
    }
    free(l);
}

void ul_log_close(ul_log *l)
{
    if (l) {
        log_free(l);
    }
}

/* Loads the cached levels from the store, top level first so the most used nodes win when
 * the bound cuts in. One iterator seek per level: the nodes of a level are adjacent keys. */
static ul_err cache_load(ul_log *l)
{
    for (unsigned level = LOG_LEVELS - 1; level >= LOG_CACHE_LEVEL; level--) {
        uint64_t want = l->csize >> level;
        uint64_t room = LOG_CACHE_MAX_NODES - l->cached;
        uint64_t take = want < room ? want : room;
        if (take == 0) {
            continue;
        }
        uint8_t start[LOG_KEY_BYTES];
        node_key(start, level, 0);
        ul_store_iter *it = NULL;
        ul_err rc = ul_store_iter_create(&it, l->s, start, 2, start, sizeof(start));
        if (rc != UL_OK) {
            return rc;
        }
        const uint8_t *k, *v;
        size_t klen, vlen;
        for (uint64_t i = 0; i < take; i++) {
            if (!ul_store_iter_next(it, &k, &klen, &v, &vlen) || klen != LOG_KEY_BYTES ||
                ul_be64_get(k + 2) != i || vlen != UL_HASH_BYTES) {
                rc = UL_E_CORRUPT;
                break;
            }
            cache_push(l, level, i, v);
        }
        ul_store_iter_destroy(it);
        if (rc != UL_OK) {
            return rc;
        }
    }
    return UL_OK;
}

ul_err ul_log_open(ul_log **out, ul_store *s, uint64_t size)
{
    assert(out && s);
    *out = NULL;
    ul_err rc = UL_E_NOMEM;
    ul_log *l = calloc(1, sizeof(*l));
    if (!l) {
        goto out;
    }
    l->s = s;
    l->size = l->csize = size;
    for (unsigned level = 0; level < LOG_LEVELS; level++) {
        if (!bit(size, level)) {
            continue;
        }
        uint8_t key[LOG_KEY_BYTES];
        node_key(key, level, (size >> level) - 1);
        rc = ul_store_get_fixed(s, key, sizeof(key), l->cfr[level], UL_HASH_BYTES);
        if (rc != UL_OK) {
            rc = rc == UL_E_NOT_FOUND ? UL_E_CORRUPT : rc;
            goto out;
        }
    }
    memcpy(l->fr, l->cfr, sizeof(l->fr));
    rc = cache_load(l);
    if (rc != UL_OK) {
        goto out;
    }
    *out = l;
    l = NULL;
out:
    if (l) {
        log_free(l);
    }
    return rc;
}

uint64_t ul_log_size(const ul_log *l)
{
    assert(l);
    return l->size;
}

uint64_t ul_log_store_reads(const ul_log *l)
{
    assert(l);
    return l->reads;
}

static void put_node(ul_log *l, ul_batch *b, unsigned level, uint64_t index,
                     const uint8_t h[UL_HASH_BYTES])
{
    uint8_t key[LOG_KEY_BYTES];
    node_key(key, level, index);
    ul_batch_put(b, key, sizeof(key), h, UL_HASH_BYTES);
    cache_push(l, level, index, h);
}

ul_err ul_log_append(ul_log *l, ul_batch *b, const uint8_t *leaf, size_t len, uint64_t *index)
{
    assert(leaf || len == 0);
    uint8_t h[UL_HASH_BYTES];
    ul_client_merkle_leaf_hash(h, leaf, len);
    return ul_log_append_hash(l, b, h, index);
}

ul_err ul_log_append_hash(ul_log *l, ul_batch *b, const uint8_t leaf_hash32[UL_HASH_BYTES],
                          uint64_t *index)
{
    assert(l && b && leaf_hash32);
    uint64_t n = l->size;
    if (n == UINT64_MAX) {
        return UL_E_LIMIT;
    }
    uint8_t h[UL_HASH_BYTES];
    memcpy(h, leaf_hash32, UL_HASH_BYTES);
    put_node(l, b, 0, n, h);
    /* Each set low bit of n is a frontier subtree the new node completes a pair with. */
    unsigned level = 0;
    for (; level < LOG_LEVELS - 1 && bit(n, level); level++) {
        uint8_t right[UL_HASH_BYTES];
        memcpy(right, h, UL_HASH_BYTES);
        ul_client_merkle_node_hash(h, l->fr[level], right);
        put_node(l, b, level + 1, n >> (level + 1), h);
    }
    memcpy(l->fr[level], h, UL_HASH_BYTES);
    l->size = n + 1;
    if (index) {
        *index = n;
    }
    return UL_OK;
}

void ul_log_commit(ul_log *l)
{
    assert(l);
    l->csize = l->size;
    memcpy(l->cfr, l->fr, sizeof(l->cfr));
}

void ul_log_rollback(ul_log *l)
{
    assert(l);
    l->size = l->csize;
    memcpy(l->fr, l->cfr, sizeof(l->fr));
    for (unsigned level = LOG_CACHE_LEVEL; level < LOG_LEVELS; level++) {
        uint64_t keep = l->csize >> level;
        if (l->cache[level].n > keep) {
            l->cached -= l->cache[level].n - keep;
            l->cache[level].n = keep;
        }
    }
}

void ul_log_root(const ul_log *l, uint8_t out32[UL_HASH_BYTES])
{
    assert(l && out32);
    if (l->size == 0) {
        ul_client_merkle_empty_root(out32);
        return;
    }
    /* The frontier's subtrees, smallest (rightmost) first, each folded in as a left child. */
    unsigned level = (unsigned)__builtin_ctzll(l->size);
    memcpy(out32, l->fr[level], UL_HASH_BYTES);
    for (level++; level < LOG_LEVELS; level++) {
        if (bit(l->size, level)) {
            uint8_t right[UL_HASH_BYTES];
            memcpy(right, out32, UL_HASH_BYTES);
            ul_client_merkle_node_hash(out32, l->fr[level], right);
        }
    }
}

ul_err ul_log_root_at(ul_log *l, uint64_t size, uint8_t out32[UL_HASH_BYTES])
{
    assert(l && out32);
    if (size > l->csize) {
        return UL_E_MERKLE_RANGE;
    }
    if (size == 0) {
        ul_client_merkle_empty_root(out32);
        return UL_OK;
    }
    return range_hash(l, (log_range){0, size}, out32);
}

ul_err ul_log_leaf_hash(ul_log *l, uint64_t index, uint8_t out32[UL_HASH_BYTES])
{
    assert(l && out32);
    if (index >= l->csize) {
        return UL_E_MERKLE_RANGE;
    }
    return get_node(l, 0, index, out32);
}

/* RFC 9162 section 2.1.3.1 PATH(m, D[0:size]) without recursion: walking down from the root,
 * each step records the sibling subtree; the proof lists them bottom up. */
ul_err ul_log_inclusion(ul_log *l, uint64_t index, uint64_t size, ul_inclusion *out)
{
    assert(l && out);
    if (size > l->csize || index >= size) {
        return UL_E_MERKLE_RANGE;
    }
    log_range sib[LOG_LEVELS];
    size_t n = 0;
    uint64_t lo = 0, hi = size;
    while (hi - lo > 1) {
        assert(n < LOG_LEVELS); /* each step at least halves a range of < 2^64 leaves */
        uint64_t k = split(hi - lo);
        if (index - lo < k) {
            sib[n++] = (log_range){lo + k, hi};
            hi = lo + k;
        } else {
            sib[n++] = (log_range){lo, lo + k};
            lo += k;
        }
    }
    log_range r[LOG_LEVELS];
    for (size_t i = 0; i < n; i++) {
        r[i] = sib[n - 1 - i];
    }
    _Static_assert(LOG_LEVELS <= UL_MAX_PROOF_DEPTH, "a path fits ul_inclusion");
    out->index = index;
    out->size = size;
    out->n_path = n;
    return hash_ranges(l, r, n, out->path);
}

/* RFC 9162 section 2.1.4.1 SUBPROOF(m, D[0:size2], true) without recursion: walking down, each
 * step records the subtree the verifier cannot derive; the walk ends at the subtree equal to the
 * old tree (recorded unless it is the old root itself); the proof lists them bottom up. */
ul_err ul_log_consistency(ul_log *l, uint64_t size1, uint64_t size2, ul_consistency *out)
{
    assert(l && out);
    if (size1 > size2 || size2 > l->csize) {
        return UL_E_MERKLE_RANGE;
    }
    out->size1 = size1;
    out->size2 = size2;
    out->n_path = 0;
    if (size1 == 0 || size1 == size2) {
        return UL_OK;
    }
    log_range down[LOG_MAX_RANGES];
    size_t n = 0;
    uint64_t m = size1, lo = 0, hi = size2;
    bool whole = true; /* still on the path where the subtree is the old tree's root */
    while (m != hi - lo) {
        assert(n < LOG_LEVELS && m < hi - lo);
        uint64_t k = split(hi - lo);
        if (m <= k) {
            down[n++] = (log_range){lo + k, hi};
            hi = lo + k;
        } else {
            down[n++] = (log_range){lo, lo + k};
            lo += k;
            m -= k;
            whole = false;
        }
    }
    log_range r[LOG_MAX_RANGES];
    size_t total = 0;
    if (!whole) {
        r[total++] = (log_range){lo, hi};
    }
    for (size_t i = 0; i < n; i++) {
        r[total++] = down[n - 1 - i];
    }
    if (total > UL_MAX_PROOF_DEPTH) {
        return UL_E_LIMIT; /* only for trees near 2^64 leaves */
    }
    out->n_path = total;
    return hash_ranges(l, r, total, out->path);
}
