/* Sealing and committing blocks: header roots (tx tree, release log, state), the commit check,
 * and the single WriteBatch that makes a block durable all at once. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "ul_bft.h"

static const uint8_t META_HEAD[] = "Mhead";

/* The RFC 9162 root of n leaf hashes, the first at leaf0 and each stride bytes after the last. */
static ul_err root_of(uint8_t out32[UL_HASH_BYTES], const uint8_t *leaf0, size_t stride, size_t n)
{
    /* Bottom-up pairing with the odd last node carried up unchanged builds exactly the RFC 9162
     * tree (its left subtrees are always the largest power of two). */
    if (n == 0) {
        ul_client_merkle_empty_root(out32);
        return UL_OK;
    }
    uint8_t(*lv)[UL_HASH_BYTES] = malloc(n * UL_HASH_BYTES);
    if (!lv) {
        return UL_E_NOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        memcpy(lv[i], leaf0 + i * stride, UL_HASH_BYTES);
    }
    while (n > 1) {
        size_t m = 0;
        for (size_t i = 0; i + 1 < n; i += 2) {
            ul_client_merkle_node_hash(lv[m++], lv[i], lv[i + 1]);
        }
        if (n & 1) {
            memcpy(lv[m++], lv[n - 1], UL_HASH_BYTES);
        }
        n = m;
    }
    memcpy(out32, lv[0], UL_HASH_BYTES);
    free(lv);
    return UL_OK;
}

ul_err ul_merkle_root_of(uint8_t out32[UL_HASH_BYTES], const ul_buf *leaves, size_t n)
{
    return root_of(out32, n ? leaves[0].leaf : NULL, sizeof *leaves, n);
}

/* UL_E_TX_ROOT unless the n txs hashed in h make the header's tx root. */
static ul_err tx_root_check(const ul_txhash *h, size_t n, const uint8_t tx_root[UL_HASH_BYTES])
{
    uint8_t root[UL_HASH_BYTES];
    ul_err e = root_of(root, n ? h[0].leaf : NULL, sizeof *h, n);
    return e != UL_OK ? e : memcmp(root, tx_root, UL_HASH_BYTES) != 0 ? UL_E_TX_ROOT : UL_OK;
}

static int cmp_update(const void *a, const void *b)
{
    return memcmp(((const ul_smt_update *)a)->key, ((const ul_smt_update *)b)->key, UL_HASH_BYTES);
}

/* State root: the sparse Merkle tree over every state entry ('S' keys), keyed by SHA-256 of the
 * state key with SHA-256 of the value, updated with this block's state writes. */
static ul_err state_root(ul_chain *c, uint8_t out32[UL_HASH_BYTES])
{
    static const uint8_t empty[UL_HASH_BYTES] = {0};
    ul_smt_update *u = malloc((c->ov.n + 1) * sizeof *u);
    size_t n = 0;
    if (!u) {
        return UL_E_NOMEM;
    }
    for (size_t i = 0; i < c->ov.cap; i++) {
        const ul_ov_entry *e = &c->ov.slots[i];
        if (e->key && e->key[0] == UL_KEY_STATE) {
            ul_client_sha256(u[n].key, e->key, e->klen);
            ul_client_sha256(u[n].value, e->val, e->vlen);
            u[n++].del = false;
        }
    }
    qsort(u, n, sizeof *u, cmp_update);
    ul_err e =
        ul_smt_update_root(c->store, c->batch, c->height ? c->head.state_root : empty, u, n, out32);
    free(u);
    return e;
}

ul_err ul_chain_seal(ul_chain *c, const uint8_t proposer32[UL_PUBKEY_BYTES], uint64_t time_ms,
                     ul_header *out, uint8_t hash32[UL_HASH_BYTES])
{
    ul_header *h = &c->sealed_h;
    memset(h, 0, sizeof *h);
    h->version = UL_SCHEMA_VERSION;
    memcpy(h->chain_id, c->chain_id, UL_HASH_BYTES);
    h->height = c->height + 1;
    h->time_ms = time_ms;
    memcpy(h->prev, c->head_hash, UL_HASH_BYTES);
    ul_log_root(c->log, h->log_root);
    h->log_size = ul_log_size(c->log);
    ul_err e = ul_merkle_root_of(h->tx_root, c->txs, c->n_txs);
    if (e != UL_OK || (e = state_root(c, h->state_root)) != UL_OK) {
        return e;
    }
    /* A set change in this block signs from the next height on: this header commits to it. */
    memcpy(h->validators_hash, c->valset_hash, UL_HASH_BYTES);
    memcpy(h->next_validators_hash, c->change_pending ? c->next_valset_hash : c->valset_hash,
           UL_HASH_BYTES);
    memcpy(h->proposer, proposer32, UL_PUBKEY_BYTES);
    e = ul_schema_header_encode(c->sealed_hdr, sizeof c->sealed_hdr, &c->sealed_len, h);
    if (e != UL_OK) {
        return e;
    }
    ul_client_sha256(c->sealed_hash, c->sealed_hdr, c->sealed_len);
    c->sealed = true;
    if (out) {
        *out = *h;
    }
    if (hash32) {
        memcpy(hash32, c->sealed_hash, UL_HASH_BYTES);
    }
    return UL_OK;
}

/* Puts the sealed block, its commit and the pending writes (state also as this height's version in
 * the state history) into the batch. */
static void fill_batch(ul_chain *c, const uint8_t *commit, size_t commit_len)
{
    uint64_t h = c->sealed_h.height;
    uint8_t k[UL_KEY_MAX], v[4 + UL_MAX_HEADER_BYTES];
    ul_be32_put(v, (uint32_t)c->n_txs);
    memcpy(v + 4, c->sealed_hdr, c->sealed_len);
    ul_batch_put(c->batch, k, ul_key_h(k, UL_KEY_HEADER, h), v, 4 + c->sealed_len);
    ul_batch_put(c->batch, k, ul_key_h(k, UL_KEY_COMMIT, h), commit, commit_len);
    for (size_t i = 0; i < c->n_txs; i++) {
        ul_batch_put(c->batch, k, ul_key_hi(k, UL_KEY_TX, h, (uint32_t)i), c->txs[i].bytes,
                     c->txs[i].len);
    }
    uint8_t h8[8];
    ul_be64_put(h8, h);
    ul_batch_put(c->batch, k, ul_key_id(k, UL_KEY_HASH, c->sealed_hash), h8, 8);
    for (size_t i = 0; i < c->ov.cap; i++) {
        const ul_ov_entry *e = &c->ov.slots[i];
        if (e->key) {
            ul_batch_put(c->batch, e->key, e->klen, e->val, e->vlen);
        }
    }
    ul_statehist_put(c, h);
    memcpy(v, h8, 8);
    memcpy(v + 8, c->sealed_hash, UL_HASH_BYTES);
    ul_batch_put(c->batch, META_HEAD, sizeof META_HEAD - 1, v, 8 + UL_HASH_BYTES);
}

ul_err ul_chain_commit(ul_chain *c, const uint8_t *commit, size_t commit_len)
{
    ul_commit cm;
    ul_err e = UL_E_ARG;
    if (!c->sealed) {
        goto fail;
    }
    if ((e = ul_schema_commit_decode(&cm, commit, commit_len)) != UL_OK ||
        (e = ul_client_commit_verify(&cm, &c->vals, c->chain_id, c->sealed_h.height,
                                     c->sealed_hash)) != UL_OK) {
        goto fail;
    }
    fill_batch(c, commit, commit_len);
    if ((e = ul_store_write(c->store, c->batch, c->sync)) != UL_OK) {
        goto fail;
    }
    ul_log_commit(c->log);
    c->txs_committed += c->n_txs;
    c->height = c->sealed_h.height;
    c->head = c->sealed_h;
    memcpy(c->head_hash, c->sealed_hash, UL_HASH_BYTES);
    c->next_time_ms = ul_client_commit_time(&cm, &c->vals);
    if (c->change_pending) { /* the next height is signed by the new set */
        c->vals = c->next_vals;
        memcpy(c->valset_hash, c->next_valset_hash, UL_HASH_BYTES);
    }
    ul_chain_pending_reset(c);
    return UL_OK;
fail:
    ul_chain_discard(c);
    return e;
}

static ul_err valset_index(const ul_valset *s, const uint8_t pub[UL_PUBKEY_BYTES], size_t *idx)
{
    for (size_t i = 0; i < s->n; i++) {
        if (memcmp(s->v[i].pubkey, pub, UL_PUBKEY_BYTES) == 0) {
            *idx = i;
            return UL_OK;
        }
    }
    return UL_E_VALIDATOR;
}

ul_err ul_chain_produce(ul_chain *c, const ul_key *key, uint64_t now_ms, uint64_t *height)
{
    size_t idx;
    ul_header h;
    uint8_t hash[UL_HASH_BYTES], vote_bytes[128], commit_bytes[UL_MAX_COMMIT_BYTES];
    size_t vlen, clen;
    ul_err e = valset_index(&c->vals, ul_key_pubkey(key), &idx);
    if (e == UL_OK && !ul_bft_quorum(&c->vals, 1ULL << idx)) {
        e = UL_E_QUORUM; /* its one precommit cannot commit: the other validators must vote */
    }
    if (e != UL_OK || (e = ul_chain_seal(c, ul_key_pubkey(key), c->next_time_ms, &h, hash))) {
        ul_chain_discard(c);
        return e;
    }
    /* Vote times feed the next block's BFT time, which must move forward. */
    ul_vote v = {.type = UL_VOTE_PRECOMMIT,
                 .height = h.height,
                 .round = 0,
                 .time_ms = now_ms > h.time_ms ? now_ms : h.time_ms + 1};
    memcpy(v.block_hash, hash, UL_HASH_BYTES);
    ul_commit cm = {.height = h.height, .round = 0, .n_sigs = 1};
    memcpy(cm.block_hash, hash, UL_HASH_BYTES);
    cm.sigs[0].index = idx;
    cm.sigs[0].time_ms = v.time_ms;
    if ((e = ul_schema_vote_encode(vote_bytes, sizeof vote_bytes, &vlen, &v)) != UL_OK ||
        (e = ul_key_sign(key, cm.sigs[0].sig, UL_DOMAIN_VOTE, c->chain_id, vote_bytes, vlen)) ||
        (e = ul_schema_commit_encode(commit_bytes, sizeof commit_bytes, &clen, &cm)) != UL_OK) {
        ul_chain_discard(c);
        return e;
    }
    if ((e = ul_chain_commit(c, commit_bytes, clen)) == UL_OK && height) {
        *height = h.height;
    }
    return e;
}

/* Names the first header field where a re-executed block differs from the received one. */
static ul_err header_diff(const ul_header *got, const ul_header *want)
{
    if (got->height != want->height) {
        return UL_E_HEIGHT;
    }
    if (memcmp(got->prev, want->prev, UL_HASH_BYTES) != 0) {
        return UL_E_HEADER_LINK;
    }
    if (memcmp(got->chain_id, want->chain_id, UL_HASH_BYTES) != 0) {
        return UL_E_CHAIN_ID;
    }
    if (got->time_ms != want->time_ms) {
        return UL_E_TIME;
    }
    /* The block's transactions decide the next set; the header must name the one they made. */
    if (memcmp(got->validators_hash, want->validators_hash, UL_HASH_BYTES) != 0 ||
        memcmp(got->next_validators_hash, want->next_validators_hash, UL_HASH_BYTES) != 0) {
        return UL_E_VALSET_CHANGE;
    }
    return UL_E_ROOT_MISMATCH;
}

ul_err ul_chain_apply(ul_chain *c, const uint8_t *block, size_t block_len, const uint8_t *commit,
                      size_t commit_len)
{
    return ul_chain_apply_checked(c, block, block_len, commit, commit_len, NULL);
}

/* Executes block into the pending block and seals it, with signatures already verified (pre) or
 * not (NULL: verified here, on all cores, skipping cached txs). On error the pending block is
 * empty. */
/* The hashes of a block's txs: the caller's for those known names, computed for the others,
 * whose signatures are then verified on every core (exec takes the known ones' signatures from
 * the cache, or verifies them if it no longer holds them). The txs must make the header's tx
 * root before any signature is checked: a proposal's txs travel outside its signature, and a
 * swapped list is refused for the price of its hashes. */
static ul_err hash_known(ul_chain *c, const ul_block *b, const uint8_t tx_root[UL_HASH_BYTES],
                         ul_tx_known_fn known, void *ctx, ul_txhash *own)
{
    size_t m = 0;
    ul_span *sub = malloc((b->n_txs ? b->n_txs : 1) * sizeof *sub);
    ul_txhash *subh = malloc((b->n_txs ? b->n_txs : 1) * sizeof *subh);
    size_t *at = malloc((b->n_txs ? b->n_txs : 1) * sizeof *at);
    ul_err e = sub && subh && at ? UL_OK : UL_E_NOMEM;
    for (size_t i = 0; e == UL_OK && i < b->n_txs; i++) {
        if (!known(ctx, b->txs[i].ptr, b->txs[i].len, &own[i])) {
            ul_client_merkle_leaf_hash(own[i].leaf, b->txs[i].ptr, b->txs[i].len);
            sub[m] = b->txs[i];
            memcpy(subh[m].leaf, own[i].leaf, UL_HASH_BYTES);
            at[m++] = i;
        }
    }
    if (e == UL_OK) {
        e = tx_root_check(own, b->n_txs, tx_root);
    }
    if (e == UL_OK && m > 0 && (e = ul_verify_sigs_leaf_given(c, sub, m, subh)) == UL_OK) {
        for (size_t j = 0; j < m; j++) {
            own[at[j]] = subh[j];
        }
    }
    free(sub);
    free(subh);
    free(at);
    return e;
}

static ul_err prepare(ul_chain *c, const uint8_t *block, size_t block_len, const ul_txhash *pre,
                      ul_tx_known_fn known, void *ctx)
{
    ul_txhash *own = NULL;
    ul_block b;
    ul_header want;
    uint8_t id[UL_HASH_BYTES];
    size_t proposer;
    ul_span *txs = malloc(UL_MAX_BLOCK_TXS * sizeof *txs);
    ul_err e = txs ? UL_OK : UL_E_NOMEM;
    ul_chain_discard(c);
    /* Split only: every tx is decoded in full when it executes below. */
    if (e != UL_OK || (e = ul_schema_block_split(&b, txs, UL_MAX_BLOCK_TXS, block, block_len)) ||
        (e = ul_schema_header_decode(&want, b.header.ptr, b.header.len)) != UL_OK) {
        goto out;
    }
    if (want.height != c->height + 1) {
        e = UL_E_HEIGHT;
        goto out;
    }
    if ((e = valset_index(&c->vals, want.proposer, &proposer)) != UL_OK) {
        goto out;
    }
    if (!pre) {
        own = malloc((b.n_txs ? b.n_txs : 1) * sizeof *own);
        e = !own    ? UL_E_NOMEM
            : known ? hash_known(c, &b, want.tx_root, known, ctx, own)
                    : ul_verify_block_sigs(c, b.txs, b.n_txs, own);
        if (e != UL_OK) {
            goto out;
        }
        pre = own;
    }
    /* The txs must be those the header names before any executes (hash_known checked already,
     * before any signature). */
    if (!known && (e = tx_root_check(pre, b.n_txs, want.tx_root)) != UL_OK) {
        goto out;
    }
    c->sigs_checked = !known;
    for (size_t i = 0; i < b.n_txs && e == UL_OK; i++) {
        c->pre = &pre[i];
        e = ul_chain_submit(c, b.txs[i].ptr, b.txs[i].len, id);
    }
    c->sigs_checked = false;
    c->pre = NULL;
    if (e != UL_OK) {
        goto out;
    }
    if ((e = ul_chain_seal(c, want.proposer, c->next_time_ms, NULL, NULL)) != UL_OK) {
        goto out;
    }
    if (c->sealed_len != b.header.len || memcmp(c->sealed_hdr, b.header.ptr, b.header.len)) {
        e = header_diff(&c->sealed_h, &want);
    }
out:
    if (e != UL_OK) {
        ul_chain_discard(c);
    }
    free(txs);
    free(own);
    return e;
}

ul_err ul_chain_prepare(ul_chain *c, const uint8_t *block, size_t len,
                        uint8_t hash32[UL_HASH_BYTES])
{
    return ul_chain_prepare_known(c, block, len, NULL, NULL, hash32);
}

ul_err ul_chain_prepare_known(ul_chain *c, const uint8_t *block, size_t len, ul_tx_known_fn known,
                              void *ctx, uint8_t hash32[UL_HASH_BYTES])
{
    ul_err e = prepare(c, block, len, NULL, known, ctx);
    if (e == UL_OK && hash32) {
        memcpy(hash32, c->sealed_hash, UL_HASH_BYTES);
    }
    return e;
}

ul_err ul_chain_apply_checked(ul_chain *c, const uint8_t *block, size_t block_len,
                              const uint8_t *commit, size_t commit_len, const ul_txhash *pre)
{
    ul_err e = prepare(c, block, block_len, pre, NULL, NULL);
    return e != UL_OK ? e : ul_chain_commit(c, commit, commit_len);
}

bool ul_chain_sealed(const ul_chain *c, uint8_t hash32[UL_HASH_BYTES])
{
    if (c->sealed && hash32) {
        memcpy(hash32, c->sealed_hash, UL_HASH_BYTES);
    }
    return c->sealed;
}

ul_err ul_chain_pending_block(ul_chain *c, uint8_t **blk, size_t *len)
{
    if (!c->sealed) {
        return UL_E_ARG;
    }
    ul_span *txs = malloc((c->n_txs ? c->n_txs : 1) * sizeof *txs);
    size_t cap = c->sealed_len + 64; /* + the block map's and tx array's framing */
    for (size_t i = 0; txs && i < c->n_txs; i++) {
        txs[i] = (ul_span){c->txs[i].bytes, c->txs[i].len};
        cap += c->txs[i].len;
    }
    uint8_t *out = txs ? malloc(cap) : NULL;
    ul_err e = out ? ul_schema_block_encode(out, cap, len, (ul_span){c->sealed_hdr, c->sealed_len},
                                            txs, c->n_txs)
                   : UL_E_NOMEM;
    free(txs);
    if (e != UL_OK) {
        free(out);
        return e;
    }
    *blk = out;
    return UL_OK;
}

/* Verifies commit (canonical bytes, decoded into cm) for the head block against the set that
 * signed it (out: signers). */
static ul_err head_commit_check(ul_chain *c, const uint8_t *commit, size_t len, ul_commit *cm,
                                ul_valset *signers)
{
    ul_err e = ul_schema_commit_decode(cm, commit, len);
    if (e != UL_OK) {
        return e;
    }
    if (c->height == 0 || cm->height != c->height) {
        return UL_E_HEIGHT; /* the genesis has no commit to replace */
    }
    if ((e = ul_chain_valset_at(c, c->height, signers)) != UL_OK) {
        return e == UL_E_NOT_FOUND ? UL_E_CORRUPT : e;
    }
    return ul_client_commit_verify(cm, signers, c->chain_id, c->height, c->head_hash);
}

ul_err ul_chain_replace_commit(ul_chain *c, const uint8_t *commit, size_t len)
{
    if (c->sealed) {
        return UL_E_BUSY; /* the sealed header's time came from the stored commit */
    }
    ul_commit cm;
    uint8_t k[UL_KEY_MAX], *old = NULL;
    size_t olen = 0;
    ul_batch *b = NULL;
    ul_valset *signers = NULL;
    /* Most proposals carry the very commit this node stored, and verified, for its head: then
     * there is nothing to check or write. Verifying it first cost each validator its
     * precommits' signatures again for every block. */
    ul_err stored =
        c->height > 0 ? ul_chain_commit_bytes(c, c->height, &old, &olen) : UL_E_NOT_FOUND;
    if (stored == UL_OK && olen == len && memcmp(old, commit, len) == 0) {
        free(old);
        return UL_OK;
    }
    signers = malloc(sizeof *signers);
    ul_err e = signers ? head_commit_check(c, commit, len, &cm, signers) : UL_E_NOMEM;
    e = e == UL_OK ? stored : e; /* the head has a stored commit to replace */
    if (e != UL_OK) {
        e = e == UL_E_NOT_FOUND ? UL_E_CORRUPT : e;
        goto out;
    }
    if (!(b = ul_batch_create())) {
        e = UL_E_NOMEM;
        goto out;
    }
    ul_batch_put(b, k, ul_key_h(k, UL_KEY_COMMIT, c->height), commit, len);
    if ((e = ul_store_write(c->store, b, c->sync)) != UL_OK) {
        goto out;
    }
    c->next_time_ms = ul_client_commit_time(&cm, signers);
out:
    ul_batch_destroy(b);
    free(signers);
    free(old);
    return e;
}
