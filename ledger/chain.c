/* The chain: one store, its genesis, the committed head and one pending block. Every block,
 * produced here or received, is committed by the same path as one synced WriteBatch. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static const uint8_t META_GENESIS[] = "Mgenesis";
static const uint8_t META_HEAD[] = "Mhead";

void ul_chain_pending_reset(ul_chain *c)
{
    for (size_t i = 0; i < c->n_txs; i++) {
        free(c->txs[i].bytes);
    }
    c->n_txs = 0;
    c->sealed = false;
    c->change_pending = false;
    ul_overlay_clear(&c->ov);
    ul_batch_clear(c->batch);
}

void ul_chain_discard(ul_chain *c)
{
    ul_log_rollback(c->log);
    ul_chain_pending_reset(c);
}

static ul_err load_head(ul_chain *c)
{
    uint8_t v[8 + UL_HASH_BYTES];
    ul_err e = ul_store_get_fixed(c->store, META_HEAD, sizeof META_HEAD - 1, v, sizeof v);
    if (e == UL_E_NOT_FOUND) {
        c->height = 0;
        memcpy(c->head_hash, c->chain_id, UL_HASH_BYTES);
        c->next_time_ms = c->genesis.time_ms;
        return ul_chain_valset_load(c);
    }
    if (e != UL_OK) {
        return e;
    }
    c->height = ul_be64_get(v);
    memcpy(c->head_hash, v + 8, UL_HASH_BYTES);
    uint8_t *hdr = NULL, *cm = NULL;
    size_t hlen, clen;
    ul_commit commit;
    ul_valset *signers = malloc(sizeof *signers); /* the set that signed the head */
    e = signers ? UL_OK : UL_E_NOMEM;
    if (e == UL_OK && (e = ul_chain_header_bytes(c, c->height, &hdr, &hlen)) == UL_OK &&
        (e = ul_schema_header_decode(&c->head, hdr, hlen)) == UL_OK &&
        (e = ul_chain_valset_load(c)) == UL_OK &&
        (e = ul_chain_valset_at(c, c->height, signers)) == UL_OK &&
        (e = ul_chain_commit_bytes(c, c->height, &cm, &clen)) == UL_OK &&
        (e = ul_schema_commit_decode(&commit, cm, clen)) == UL_OK) {
        c->next_time_ms = ul_client_commit_time(&commit, signers);
    }
    free(signers);
    free(hdr);
    free(cm);
    return e == UL_E_NOT_FOUND ? UL_E_CORRUPT : e;
}

/* Stores the genesis in a new store, or checks that an existing store holds the same one. */
static ul_err bind_genesis(ul_chain *c, const uint8_t *genesis, size_t glen)
{
    uint8_t *stored = NULL;
    size_t slen;
    ul_err e = ul_store_get(c->store, META_GENESIS, sizeof META_GENESIS - 1, &stored, &slen);
    if (e == UL_E_NOT_FOUND && genesis) {
        ul_batch_put(c->batch, META_GENESIS, sizeof META_GENESIS - 1, genesis, glen);
        ul_search_mark(c->batch); /* a new store indexes every release it commits */
        e = ul_store_write(c->store, c->batch, true);
        ul_batch_clear(c->batch);
        if (e != UL_OK) {
            return e;
        }
        stored = malloc(glen);
        if (!stored) {
            return UL_E_NOMEM;
        }
        memcpy(stored, genesis, glen);
        slen = glen;
    } else if (e != UL_OK) {
        return e;
    } else if (genesis && (slen != glen || memcmp(stored, genesis, glen) != 0)) {
        free(stored);
        return UL_E_CHAIN_ID;
    }
    c->genesis_bytes = stored;
    c->genesis_len = slen;
    if ((e = ul_schema_genesis_decode(&c->genesis, stored, slen)) != UL_OK) {
        return e == UL_E_VERSION ? e : UL_E_CORRUPT;
    }
    ul_client_sha256(c->chain_id, stored, slen);
    return ul_client_valset_hash(c->valset_hash, &c->genesis.validators);
}

/* Opens the chain on the store in dir, or (dir NULL) on memory disk disk. */
static ul_err chain_open(ul_chain **out, const char *dir, ul_memdisk *disk, const uint8_t *genesis,
                         size_t genesis_len)
{
    *out = NULL;
    ul_err e = ul_client_init();
    if (e != UL_OK) {
        return e;
    }
    if (genesis) { /* a new chain: refused before anything is written */
        ul_genesis g;
        if ((e = ul_schema_genesis_decode(&g, genesis, genesis_len)) != UL_OK ||
            (e = ul_chain_valset_keys_check(&g.validators)) != UL_OK) {
            return e;
        }
    }
    ul_chain *c = calloc(1, sizeof *c);
    if (!c) {
        return UL_E_NOMEM;
    }
    if (ul_sigcache_init(&c->sigcache) != UL_OK) {
        free(c);
        return UL_E_NOMEM;
    }
    c->sync = true;
    e = dir ? ul_store_open(&c->store, dir, genesis != NULL, 0)
            : ul_store_open_mem(&c->store, disk, genesis != NULL);
    if (e != UL_OK) {
        goto out;
    }
    if (!(c->batch = ul_batch_create()) || ul_overlay_init(&c->ov) != UL_OK) {
        e = UL_E_NOMEM;
        goto out;
    }
    if ((e = bind_genesis(c, genesis, genesis_len)) != UL_OK || (e = load_head(c)) != UL_OK) {
        goto out;
    }
    if ((e = ul_log_open(&c->log, c->store, c->height ? c->head.log_size : 0)) == UL_OK) {
        e = ul_search_open(c);
    }
out:
    if (e != UL_OK) {
        ul_chain_close(c);
        return e;
    }
    *out = c;
    return UL_OK;
}

ul_err ul_chain_open(ul_chain **out, const char *dir, const uint8_t *genesis, size_t genesis_len)
{
    return chain_open(out, dir, NULL, genesis, genesis_len);
}

ul_err ul_chain_open_mem(ul_chain **out, ul_memdisk *disk, const uint8_t *genesis,
                         size_t genesis_len)
{
    return chain_open(out, NULL, disk, genesis, genesis_len);
}

ul_err ul_chain_recover(ul_chain *c)
{
    uint64_t height = c->height;
    uint8_t hash[UL_HASH_BYTES];
    ul_err e = ul_store_recover(c->store);
    if (e != UL_OK) {
        return e;
    }
    /* A write whose sync failed may still have reached the log the reopen replayed: the head is
     * what the store holds, not what this process last saw. */
    memcpy(hash, c->head_hash, UL_HASH_BYTES);
    ul_chain_discard(c);
    if ((e = load_head(c)) != UL_OK) {
        return e;
    }
    if (c->height == height && memcmp(c->head_hash, hash, UL_HASH_BYTES) == 0) {
        return UL_OK;
    }
    ul_log *l = NULL;
    if ((e = ul_log_open(&l, c->store, c->height ? c->head.log_size : 0)) != UL_OK) {
        return e;
    }
    ul_log_close(c->log);
    c->log = l;
    return UL_OK;
}

void ul_chain_close(ul_chain *c)
{
    if (!c) {
        return;
    }
    if (c->batch) {
        ul_chain_pending_reset(c);
        ul_batch_destroy(c->batch);
    }
    ul_overlay_free(&c->ov);
    ul_log_close(c->log);
    ul_store_close(c->store);
    free(c->genesis_bytes);
    ul_sigcache_free(&c->sigcache);
    ul_policy_memo_free(c->policy_memo);
    free(c);
}

const uint8_t *ul_chain_id(const ul_chain *c)
{
    return c->chain_id;
}
const ul_genesis *ul_chain_genesis(const ul_chain *c)
{
    return &c->genesis;
}
ul_span ul_chain_genesis_bytes(const ul_chain *c)
{
    return (ul_span){c->genesis_bytes, c->genesis_len};
}
const ul_valset *ul_chain_valset(const ul_chain *c)
{
    return &c->vals;
}
uint64_t ul_chain_height(const ul_chain *c)
{
    return c->height;
}
uint64_t ul_chain_log_size(const ul_chain *c)
{
    return c->height ? c->head.log_size : 0;
}
size_t ul_chain_pending_count(const ul_chain *c)
{
    return c->n_txs;
}

size_t ul_chain_pending_leaves(const ul_chain *c, uint8_t (*out)[UL_HASH_BYTES], size_t cap)
{
    size_t n = c->n_txs < cap ? c->n_txs : cap;
    for (size_t i = 0; i < n; i++) {
        memcpy(out[i], c->txs[i].leaf, UL_HASH_BYTES);
    }
    return n;
}

uint64_t ul_chain_txs_committed(const ul_chain *c)
{
    return c->txs_committed;
}

ul_store *ul_chain_store(ul_chain *c)
{
    return c->store;
}
ul_log *ul_chain_log(ul_chain *c)
{
    return c->log;
}
uint64_t ul_chain_next_time(const ul_chain *c)
{
    return c->next_time_ms;
}

ul_err ul_chain_read(ul_chain *c, const uint8_t *key, size_t klen, uint8_t *buf, size_t cap,
                     size_t *vlen)
{
    const ul_ov_entry *o = ul_overlay_get(&c->ov, key, klen);
    if (o) {
        if (o->vlen > cap) {
            return UL_E_CORRUPT;
        }
        memcpy(buf, o->val, o->vlen);
        *vlen = o->vlen;
        return UL_OK;
    }
    uint8_t *v;
    ul_err e = ul_store_get(c->store, key, klen, &v, vlen);
    if (e != UL_OK) {
        return e;
    }
    if (*vlen > cap) {
        free(v);
        return UL_E_CORRUPT;
    }
    memcpy(buf, v, *vlen);
    free(v);
    return UL_OK;
}

ul_err ul_chain_submit(ul_chain *c, const uint8_t *tx, size_t len, uint8_t id32[UL_HASH_BYTES])
{
    if (c->sealed) {
        return UL_E_BUSY;
    }
    if (c->n_txs >= UL_MAX_BLOCK_TXS) {
        return UL_E_BUSY;
    }
    if (len > UL_MAX_TX_BYTES) {
        return UL_E_LIMIT;
    }
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy) {
        return UL_E_NOMEM;
    }
    memcpy(copy, tx, len);
    ul_buf *b = &c->txs[c->n_txs];
    *b = (ul_buf){.bytes = copy, .len = len};
    if (c->pre) {
        memcpy(b->leaf, c->pre->leaf, UL_HASH_BYTES);
    } else {
        ul_client_merkle_leaf_hash(b->leaf, copy, len);
    }
    ul_err e = ul_exec_tx(c, b, (uint32_t)c->n_txs, id32);
    if (e == UL_E_NOMEM) {
        /* A write may have half happened: the pending block cannot be trusted any more. */
        free(copy);
        ul_chain_discard(c);
        return e;
    }
    if (e != UL_OK) {
        free(copy);
        return e;
    }
    c->n_txs++;
    return UL_OK;
}

ul_err ul_chain_submit_known(ul_chain *c, const uint8_t *tx, size_t len, const ul_txhash *h,
                             uint8_t id32[UL_HASH_BYTES])
{
    c->pre = h;
    ul_err e = ul_chain_submit(c, tx, len, id32);
    c->pre = NULL;
    return e;
}

/* A block of one tx: the same decode, kind and signature checks, hashes and cache fill as every
 * received block gets, on this thread (one tx makes one worker); h->leaf given or computed. */
static ul_err check_one(ul_chain *c, const uint8_t *tx, size_t len, ul_txhash *h, bool leaf_given)
{
    if (len > UL_MAX_TX_BYTES) {
        return UL_E_LIMIT;
    }
    ul_span s = {tx, len};
    return leaf_given ? ul_verify_sigs_leaf_given(c, &s, 1, h) : ul_verify_block_sigs(c, &s, 1, h);
}

ul_err ul_chain_check_tx(ul_chain *c, const uint8_t *tx, size_t len, uint8_t id32[UL_HASH_BYTES],
                         uint8_t leaf32[UL_HASH_BYTES])
{
    ul_txhash h;
    ul_err e = check_one(c, tx, len, &h, false);
    if (e == UL_OK) {
        memcpy(id32, h.id, UL_HASH_BYTES);
        if (leaf32) {
            memcpy(leaf32, h.leaf, UL_HASH_BYTES);
        }
    }
    return e;
}

ul_err ul_chain_check_tx_leaf(ul_chain *c, const uint8_t *tx, size_t len,
                              const uint8_t leaf32[UL_HASH_BYTES], uint8_t id32[UL_HASH_BYTES])
{
    ul_txhash h;
    memcpy(h.leaf, leaf32, UL_HASH_BYTES);
    ul_err e = check_one(c, tx, len, &h, true);
    if (e == UL_OK) {
        memcpy(id32, h.id, UL_HASH_BYTES);
    }
    return e;
}

const uint8_t *ul_chain_pending_leaf(const ul_chain *c, size_t i)
{
    return i < c->n_txs ? c->txs[i].leaf : NULL;
}
