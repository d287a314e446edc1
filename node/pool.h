/* upledgerd's transaction pool (node-internal): the checked transactions waiting for a block,
 * found by leaf hash or by their bytes, the prefix of them executed into the chain's pending
 * block, those still to be gossiped, and the ids of those a block refused. */
#ifndef UL_NODE_POOL_H
#define UL_NODE_POOL_H

#include <stdbool.h>

#include <sodium.h>

#include "../ledger/ul_ledger.h"

typedef struct {
    uint8_t *tx;
    size_t len;
    uint8_t leaf[UL_HASH_BYTES];
    uint8_t id[UL_HASH_BYTES];
    uint64_t bytes_hash; /* keyed hash of tx: finds a proposal's tx here without SHA-256 */
    bool gossip;         /* still to be sent to peers */
} ul_pooled;

typedef struct {
    ul_pooled *tx; /* UL_MAX_MEMPOOL entries, n used, in the order they were pooled */
    size_t n;
    /* The first n_in_pending txs are executed, in pool order, into the chain's open pending
     * block. Always a prefix: a tx must never execute before one pooled earlier (a publisher's
     * sequence numbers, a signer's nonces arrive in order). */
    size_t n_in_pending;
    size_t n_gossip;  /* pooled txs still to be sent to peers (the loop skips the scan at 0) */
    uint32_t *index;  /* open addressing over tx by leaf hash: position + 1, 0 free */
    uint32_t *bindex; /* the same over tx by bytes_hash */
    size_t index_cap;
    uint8_t bytes_key[crypto_shorthash_KEYBYTES]; /* random: peers cannot aim at one slot */
    uint64_t first_pooled_ms;                     /* when the pool last became non-empty */
    struct {
        uint8_t id[UL_HASH_BYTES];
        ul_err e;
    } rejected[UL_MAX_REJECTED_KEPT];
    size_t n_rejected, rejected_next;
} ul_pool;

/* Allocates an empty pool in *out (NULL on failure). Returns: UL_OK; UL_E_NOMEM. */
ul_err ul_pool_create(ul_pool **out);
/* Frees p and every pooled tx. Accepts NULL. */
void ul_pool_destroy(ul_pool *p);

/* The pooled tx of this leaf hash, or NULL. */
ul_pooled *ul_pool_find(ul_pool *p, const uint8_t leaf[UL_HASH_BYTES]);
/* The pooled tx with exactly these bytes, found by a keyed short hash (SipHash) and compared
 * in full, or NULL: what a received proposal's txs are matched with. */
ul_pooled *ul_pool_find_bytes(ul_pool *p, const uint8_t *tx, size_t len);
/* For ul_chain_prepare_known (ctx: the pool): the pool holds only txs ul_chain_check_tx
 * passed, with the hashes it gave; a match is byte for byte. */
bool ul_pool_known(void *ctx, const uint8_t *tx, size_t len, ul_txhash *h);
/* Where id is: pooled (UL_OK), refused by a block (that error), or UL_E_NOT_FOUND. */
ul_err ul_pool_status(const ul_pool *p, const uint8_t id[UL_HASH_BYTES]);

/* Adds a checked tx (copied) at now_ms. Returns: UL_OK; UL_E_BUSY when the pool is full;
 * UL_E_NOMEM. */
ul_err ul_pool_add(ul_pool *p, const uint8_t *tx, size_t len, const uint8_t leaf[UL_HASH_BYTES],
                   const uint8_t id[UL_HASH_BYTES], bool gossip, uint64_t now_ms);
/* Whether the next tx added would be executed right after the pending prefix: every pooled tx
 * is in the pending block. */
bool ul_pool_all_pending(const ul_pool *p);
/* Counts the tx just added as executed into the pending block. */
void ul_pool_mark_pending(ul_pool *p);
/* Forgets which txs the pending block holds (the chain dropped it). */
void ul_pool_unmark_pending(ul_pool *p);
/* Drops the chain's pending block and, with it, the pool's record of what it holds: the one
 * way to discard a pending block the pool may have filled. */
void ul_pool_discard_pending(ul_pool *p, ul_chain *c);
/* Executes pooled txs after the pending prefix into c's pending block, in pool order, up to
 * UL_MAX_BLOCK_TXS: each either joins the block or, refused for a conflict, leaves the pool
 * (remembered for ul_pool_status). The node's own trouble (disk, memory) stops the filling and
 * keeps the tx. */
void ul_pool_take_pending(ul_pool *p, ul_chain *c);
/* Removes the txs of block[0..blen) (committed here or by block sync) and unmarks the pending
 * block. */
void ul_pool_remove_block(ul_pool *p, const uint8_t *block, size_t blen);
/* The same for a block whose txs' leaf hashes are known (ul_chain_pending_leaves before the
 * commit): nothing is decoded or hashed again. */
void ul_pool_remove_leaves(ul_pool *p, const uint8_t (*leaves)[UL_HASH_BYTES], size_t n);

/* Marks t sent to peers. */
void ul_pool_gossiped(ul_pool *p, ul_pooled *t);

#endif
