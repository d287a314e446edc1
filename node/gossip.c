/* upledgerd's transaction intake and gossip: checks a client's or a peer's transaction and
 * pools it, sends pooled transactions to peers in signed batches, and answers where a
 * transaction is. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Checks a tx and pools it. A client's tx is executed into the open pending block when every
 * tx pooled before it is there too (so the client hears of a contract refusal at once); any
 * other is checked for its signatures only, and in full when a block takes it. */
ul_err ul_cons_take_tx(ul_node *n, const uint8_t *tx, size_t len, const uint8_t *given_leaf,
                       uint8_t id[UL_HASH_BYTES], bool from_client)
{
    ul_cons *s = C(n);
    ul_txhash h;
    ul_pooled *dup;
    if (given_leaf && (dup = ul_pool_find(s->pool, given_leaf)) != NULL) {
        memcpy(id, dup->id, UL_HASH_BYTES); /* pooled already: nothing to check again */
        return UL_OK;
    }
    /* Signatures are cached when seen before; a leaf hash the caller computed is not redone. */
    ul_err e = given_leaf ? ul_chain_check_tx_leaf(n->chain, tx, len, given_leaf, id)
                          : ul_chain_check_tx(n->chain, tx, len, id, h.leaf);
    if (given_leaf) {
        memcpy(h.leaf, given_leaf, UL_HASH_BYTES);
    }
    if (e != UL_OK || (!given_leaf && ul_pool_find(s->pool, h.leaf))) {
        return e; /* a copy of a pooled tx gets its id: a client's retry is harmless */
    }
    memcpy(h.id, id, UL_HASH_BYTES);
    if (s->pool->n >= UL_MAX_MEMPOOL) {
        return UL_E_BUSY;
    }
    bool execute = from_client && ul_cons_pending_open(n) && ul_pool_all_pending(s->pool) &&
                   ul_chain_pending_count(n->chain) < UL_MAX_BLOCK_TXS;
    if (execute && (e = ul_chain_submit_known(n->chain, tx, len, &h, id)) != UL_OK) {
        return e;
    }
    e = ul_pool_add(s->pool, tx, len, h.leaf, id, from_client, ul_cons_now(n));
    if (e != UL_OK) {
        if (execute) { /* the pending block holds a tx the pool lost */
            ul_pool_discard_pending(s->pool, n->chain);
        }
        return e;
    }
    if (execute) {
        ul_pool_mark_pending(s->pool);
    }
    return UL_OK;
}

/* Gossiped txs: the signed payload lists their leaf hashes, the attachment carries them. Each
 * must hash to its entry before its signatures are checked; at the first that does not (not
 * what the peer sent), the rest are dropped. */
void ul_gossip_on_txs(ul_node *n, const uint8_t *p, size_t len, const ul_span *attach)
{
    ul_msg m, a;
    ul_span leaves, txs[UL_MAX_GOSSIP_TXS]; /* the decode's walk leaves each tx's span here */
    size_t count;
    if (!attach || ul_msg_decode(&m, p, len) != UL_OK ||
        ul_msg_get_bytes(&m, 1, &leaves) != UL_OK ||
        ul_msg_decode_items(&a, attach->ptr, attach->len, 1, txs, UL_MAX_GOSSIP_TXS, &count) !=
            UL_OK ||
        leaves.len != count * UL_HASH_BYTES) {
        return;
    }
    for (size_t i = 0; i < count; i++) {
        uint8_t id[UL_HASH_BYTES], leaf[UL_HASH_BYTES];
        ul_client_merkle_leaf_hash(leaf, txs[i].ptr, txs[i].len);
        if (memcmp(leaf, leaves.ptr + i * UL_HASH_BYTES, UL_HASH_BYTES) != 0) {
            return;
        }
        (void)ul_cons_take_tx(n, txs[i].ptr, txs[i].len, leaf, id,
                              false); /* invalid ones are simply not pooled */
    }
}

/* Signs the txs' leaf hashes (kept in the pool) and attaches the txs themselves. */
static void send_txs(ul_node *n, const ul_span *items, const uint8_t *leaves, size_t k)
{
    ul_msg m, a;
    ul_msg_init(&a);
    ul_msg_list(&a, 1, items, k);
    size_t cap = ul_msg_encoded_max(&a), len;
    uint8_t *buf = malloc(cap);
    if (!buf || ul_msg_encode(buf, cap, &len, &a) != UL_OK) {
        free(buf);
        return;
    }
    ul_span attach = {buf, len};
    ul_msg_init(&m);
    ul_msg_bytes(&m, 1, leaves, k * UL_HASH_BYTES);
    ul_cons_send(n, UL_PEER_TXS, &m, &attach);
    free(buf);
}

void ul_gossip_send(ul_node *n)
{
    ul_cons *s = C(n);
    ul_span *items = NULL;
    uint8_t(*leaves)[UL_HASH_BYTES] = NULL;
    size_t k = 0, bytes = 0;
    for (size_t i = 0; s->peer && s->pool->n_gossip > 0 && i < s->pool->n; i++) {
        ul_pooled *p = &s->pool->tx[i];
        if (!p->gossip) {
            continue;
        }
        if (!items && (!(items = malloc(UL_MAX_GOSSIP_TXS * sizeof *items)) ||
                       !(leaves = malloc(UL_MAX_GOSSIP_TXS * sizeof *leaves)))) {
            free(items);
            return;
        }
        ul_pool_gossiped(s->pool, p);
        memcpy(leaves[k], p->leaf, UL_HASH_BYTES);
        items[k++] = (ul_span){p->tx, p->len};
        bytes += p->len + UL_HASH_BYTES + 8;
        if (k == UL_MAX_GOSSIP_TXS || bytes + UL_MAX_TX_BYTES + 64 > UL_MAX_PEER_PAYLOAD) {
            send_txs(n, items, leaves[0], k);
            k = 0, bytes = 0;
        }
    }
    if (k) {
        send_txs(n, items, leaves[0], k);
    }
    free(items);
    free(leaves);
}

ul_err ul_cons_submit(ul_node *n, const uint8_t *tx, size_t len, uint8_t id32[UL_HASH_BYTES])
{
    ul_cons *s = C(n);
    if (s->alone) {
        return s->alone;
    }
    if (s->cfg.observer || s->self < 0) {
        return UL_E_READ_ONLY;
    }
    return ul_cons_take_tx(n, tx, len, NULL, id32, true);
}

ul_err ul_cons_tx_status(ul_node *n, const uint8_t id32[UL_HASH_BYTES], uint64_t *height)
{
    ul_cons *s = C(n);
    ul_err e = ul_chain_tx_status(n->chain, id32, height);
    if (e == UL_OK && *height > 0) {
        return UL_OK;
    }
    e = ul_pool_status(s->pool, id32);
    if (e == UL_OK) {
        *height = 0;
    }
    return e;
}
