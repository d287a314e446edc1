/* upledgerd's transaction pool: checked transactions in the order they came, indexed by leaf
 * hash and by a keyed hash of their bytes, and which prefix of them the chain's pending block
 * holds. The pool and the pending block change together here, never by hand elsewhere. */
#include <stdlib.h>
#include <string.h>

#include "pool.h"

static size_t slot_of(const ul_pool *p, const uint8_t leaf[UL_HASH_BYTES])
{
    uint64_t h;
    memcpy(&h, leaf, sizeof h); /* leaf hashes are uniform; a peer cannot choose them */
    return (size_t)h & (p->index_cap - 1);
}

ul_pooled *ul_pool_find(ul_pool *p, const uint8_t leaf[UL_HASH_BYTES])
{
    for (size_t i = slot_of(p, leaf), k = 0; k < p->index_cap;
         i = (i + 1) & (p->index_cap - 1), k++) {
        if (p->index[i] == 0) {
            return NULL;
        }
        ul_pooled *t = &p->tx[p->index[i] - 1];
        if (memcmp(t->leaf, leaf, UL_HASH_BYTES) == 0) {
            return t;
        }
    }
    return NULL;
}

static uint64_t bytes_hash(const ul_pool *p, const uint8_t *tx, size_t len)
{
    uint8_t h[crypto_shorthash_BYTES];
    uint64_t v;
    crypto_shorthash(h, tx, len, p->bytes_key);
    memcpy(&v, h, sizeof v);
    return v;
}

ul_pooled *ul_pool_find_bytes(ul_pool *p, const uint8_t *tx, size_t len)
{
    uint64_t bh = bytes_hash(p, tx, len);
    for (size_t i = (size_t)bh & (p->index_cap - 1), k = 0; k < p->index_cap;
         i = (i + 1) & (p->index_cap - 1), k++) {
        if (p->bindex[i] == 0) {
            return NULL;
        }
        ul_pooled *t = &p->tx[p->bindex[i] - 1];
        if (t->bytes_hash == bh && t->len == len && memcmp(t->tx, tx, len) == 0) {
            return t;
        }
    }
    return NULL;
}

static void index_put(ul_pool *p, size_t pos)
{
    size_t i = slot_of(p, p->tx[pos].leaf);
    while (p->index[i] != 0) {
        i = (i + 1) & (p->index_cap - 1);
    }
    p->index[i] = (uint32_t)pos + 1;
    i = (size_t)p->tx[pos].bytes_hash & (p->index_cap - 1);
    while (p->bindex[i] != 0) {
        i = (i + 1) & (p->index_cap - 1);
    }
    p->bindex[i] = (uint32_t)pos + 1;
}

bool ul_pool_known(void *ctx, const uint8_t *tx, size_t len, ul_txhash *h)
{
    ul_pooled *t = ul_pool_find_bytes(ctx, tx, len);
    if (t) {
        memcpy(h->leaf, t->leaf, UL_HASH_BYTES);
        memcpy(h->id, t->id, UL_HASH_BYTES);
    }
    return t != NULL;
}

ul_err ul_pool_status(const ul_pool *p, const uint8_t id[UL_HASH_BYTES])
{
    for (size_t i = 0; i < p->n; i++) {
        if (memcmp(p->tx[i].id, id, UL_HASH_BYTES) == 0) {
            return UL_OK;
        }
    }
    for (size_t i = 0; i < p->n_rejected; i++) {
        if (memcmp(p->rejected[i].id, id, UL_HASH_BYTES) == 0) {
            return p->rejected[i].e;
        }
    }
    return UL_E_NOT_FOUND;
}

static void remember_rejected(ul_pool *p, const uint8_t id[UL_HASH_BYTES], ul_err e)
{
    memcpy(p->rejected[p->rejected_next].id, id, UL_HASH_BYTES);
    p->rejected[p->rejected_next].e = e;
    p->rejected_next = (p->rejected_next + 1) % UL_MAX_REJECTED_KEPT;
    p->n_rejected += p->n_rejected < UL_MAX_REJECTED_KEPT;
}

/* Drops marked entries (tx == NULL) and rebuilds the index. */
/* Empties the slot of table that holds position pos, probing from home: pos is in the table,
 * within the run of slots that were taken when it went in, and a slot emptied since does not
 * end the search. */
static void slot_clear(uint32_t *table, size_t cap, size_t home, size_t pos)
{
    for (size_t i = home, k = 0; k < cap; i = (i + 1) & (cap - 1), k++) {
        if (table[i] == pos + 1) {
            table[i] = 0;
            return;
        }
    }
}

static void compact(ul_pool *p)
{
    /* Both indexes are 2 * UL_MAX_MEMPOOL slots (1 MiB): emptied whole, they cost a block's
     * commit a megabyte of writes and the cache they evicted, for a few hundred entries. */
    bool few = p->n < p->index_cap / 16;
    for (size_t i = 0; few && i < p->n; i++) {
        slot_clear(p->index, p->index_cap, slot_of(p, p->tx[i].leaf), i);
        slot_clear(p->bindex, p->index_cap, (size_t)p->tx[i].bytes_hash & (p->index_cap - 1), i);
    }
    if (!few) {
        memset(p->index, 0, p->index_cap * sizeof *p->index);
        memset(p->bindex, 0, p->index_cap * sizeof *p->bindex);
    }
    size_t m = 0;
    for (size_t i = 0; i < p->n; i++) {
        if (p->tx[i].tx) {
            p->tx[m++] = p->tx[i];
        }
    }
    p->n = m;
    for (size_t i = 0; i < m; i++) {
        index_put(p, i);
    }
    if (m == 0) {
        p->first_pooled_ms = 0;
    }
}

static void drop(ul_pool *p, ul_pooled *t)
{
    p->n_gossip -= t->gossip;
    free(t->tx);
    t->tx = NULL;
}

ul_err ul_pool_add(ul_pool *p, const uint8_t *tx, size_t len, const uint8_t leaf[UL_HASH_BYTES],
                   const uint8_t id[UL_HASH_BYTES], bool gossip, uint64_t now_ms)
{
    if (p->n >= UL_MAX_MEMPOOL) {
        return UL_E_BUSY;
    }
    ul_pooled *t = &p->tx[p->n];
    if (!(t->tx = malloc(len ? len : 1))) {
        return UL_E_NOMEM;
    }
    memcpy(t->tx, tx, len);
    t->len = len;
    memcpy(t->leaf, leaf, UL_HASH_BYTES);
    memcpy(t->id, id, UL_HASH_BYTES);
    t->bytes_hash = bytes_hash(p, tx, len);
    t->gossip = gossip;
    p->n_gossip += gossip;
    index_put(p, p->n++);
    if (p->first_pooled_ms == 0) {
        p->first_pooled_ms = now_ms;
    }
    return UL_OK;
}

bool ul_pool_all_pending(const ul_pool *p)
{
    return p->n_in_pending == p->n;
}

void ul_pool_mark_pending(ul_pool *p)
{
    p->n_in_pending++;
}

void ul_pool_unmark_pending(ul_pool *p)
{
    p->n_in_pending = 0;
}

void ul_pool_discard_pending(ul_pool *p, ul_chain *c)
{
    ul_chain_discard(c);
    ul_pool_unmark_pending(p);
}

void ul_pool_take_pending(ul_pool *p, ul_chain *c)
{
    size_t executed = p->n_in_pending;
    for (size_t i = p->n_in_pending; i < p->n && ul_chain_pending_count(c) < UL_MAX_BLOCK_TXS;
         i++) {
        ul_pooled *t = &p->tx[i];
        uint8_t id[UL_HASH_BYTES];
        ul_txhash known;
        memcpy(known.leaf, t->leaf, UL_HASH_BYTES);
        memcpy(known.id, t->id, UL_HASH_BYTES);
        ul_err e = ul_chain_submit_known(c, t->tx, t->len, &known, id);
        if (e == UL_OK) {
            executed++;
        } else if (e == UL_E_BUSY || e == UL_E_NOMEM || e == UL_E_NO_SPACE || e == UL_E_STORE ||
                   e == UL_E_CORRUPT) {
            break; /* the node's trouble, not the tx's: it stays pooled */
        } else {   /* a conflict with what was committed or pooled earlier */
            remember_rejected(p, t->id, e);
            drop(p, t);
        }
    }
    compact(p);
    p->n_in_pending = executed;
}

void ul_pool_remove_block(ul_pool *p, const uint8_t *block, size_t blen)
{
    ul_block b;
    if (p->n == 0) {
        return;
    }
    ul_span *txs = malloc(UL_MAX_BLOCK_TXS * sizeof *txs);
    if (txs && ul_schema_block_split(&b, txs, UL_MAX_BLOCK_TXS, block, blen) == UL_OK) {
        for (size_t i = 0; i < b.n_txs; i++) {
            ul_pooled *t = ul_pool_find_bytes(p, txs[i].ptr, txs[i].len);
            if (t) {
                drop(p, t);
            }
        }
    }
    free(txs);
    ul_pool_unmark_pending(p);
    compact(p);
}

void ul_pool_remove_leaves(ul_pool *p, const uint8_t (*leaves)[UL_HASH_BYTES], size_t n)
{
    for (size_t i = 0; p->n > 0 && i < n; i++) {
        ul_pooled *t = ul_pool_find(p, leaves[i]);
        if (t) {
            drop(p, t);
        }
    }
    ul_pool_unmark_pending(p);
    compact(p);
}

void ul_pool_gossiped(ul_pool *p, ul_pooled *t)
{
    p->n_gossip -= t->gossip;
    t->gossip = false;
}

ul_err ul_pool_create(ul_pool **out)
{
    ul_pool *p = calloc(1, sizeof *p);
    *out = NULL;
    if (!p) {
        return UL_E_NOMEM;
    }
    p->index_cap = 2 * (size_t)UL_MAX_MEMPOOL; /* a power of two, at most half full */
    p->tx = malloc(UL_MAX_MEMPOOL * sizeof *p->tx);
    p->index = calloc(p->index_cap, sizeof *p->index);
    p->bindex = calloc(p->index_cap, sizeof *p->bindex);
    if (!p->tx || !p->index || !p->bindex) {
        ul_pool_destroy(p);
        return UL_E_NOMEM;
    }
    randombytes_buf(p->bytes_key, sizeof p->bytes_key);
    *out = p;
    return UL_OK;
}

void ul_pool_destroy(ul_pool *p)
{
    if (!p) {
        return;
    }
    for (size_t i = 0; i < p->n; i++) {
        free(p->tx[i].tx);
    }
    free(p->tx);
    free(p->index);
    free(p->bindex);
    free(p);
}
