/* The node's transaction pool (node/pool.c): finding pooled txs by leaf hash and by bytes,
 * filling the chain's pending block from it in pool order, discarding that block as one
 * operation, removing a committed block's txs, and its bound. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "node/pool.h"
#include "nodefx.h"

static void add_raw(ul_pool *p, uint32_t i, bool gossip, ul_err want)
{
    uint8_t tx[8], leaf[UL_HASH_BYTES], id[UL_HASH_BYTES];
    ul_be32_put(tx, i);
    ul_be32_put(tx + 4, ~i);
    ul_client_merkle_leaf_hash(leaf, tx, sizeof tx);
    ul_client_sha256(id, tx, sizeof tx);
    assert_int_equal(ul_pool_add(p, tx, sizeof tx, leaf, id, gossip, 1000 + i), want);
}

static void test_find(void **state)
{
    (void)state;
    ul_pool *p;
    uint8_t tx[8], leaf[UL_HASH_BYTES], id[UL_HASH_BYTES];
    assert_int_equal(ul_pool_create(&p), UL_OK);
    for (uint32_t i = 0; i < 3; i++) {
        add_raw(p, i, i != 1, UL_OK);
    }
    assert_int_equal(p->n, 3);
    assert_int_equal(p->n_gossip, 2);
    assert_int_equal(p->first_pooled_ms, 1000); /* when it became non-empty */
    ul_be32_put(tx, 2);
    ul_be32_put(tx + 4, ~2u);
    ul_client_merkle_leaf_hash(leaf, tx, sizeof tx);
    ul_client_sha256(id, tx, sizeof tx);
    ul_pooled *t = ul_pool_find(p, leaf);
    assert_non_null(t);
    assert_ptr_equal(ul_pool_find_bytes(p, tx, sizeof tx), t);
    assert_memory_equal(t->id, id, UL_HASH_BYTES);
    assert_int_equal(ul_pool_status(p, id), UL_OK);
    ul_txhash h;
    assert_true(ul_pool_known(p, tx, sizeof tx, &h));
    assert_memory_equal(h.leaf, leaf, UL_HASH_BYTES);
    tx[7] ^= 1; /* other bytes, same length: not pooled */
    assert_null(ul_pool_find_bytes(p, tx, sizeof tx));
    assert_false(ul_pool_known(p, tx, sizeof tx, &h));
    leaf[0] ^= 1;
    assert_null(ul_pool_find(p, leaf));
    id[0] ^= 1;
    assert_int_equal(ul_pool_status(p, id), UL_E_NOT_FOUND);
    ul_pool_gossiped(p, t);
    ul_pool_gossiped(p, t); /* twice counts once */
    assert_int_equal(p->n_gossip, 1);
    ul_pool_destroy(p);
    ul_pool_destroy(NULL);
}

static void test_full(void **state)
{
    (void)state;
    ul_pool *p;
    assert_int_equal(ul_pool_create(&p), UL_OK);
    for (uint32_t i = 0; i < UL_MAX_MEMPOOL; i++) {
        add_raw(p, i, false, UL_OK);
    }
    add_raw(p, UL_MAX_MEMPOOL, false, UL_E_BUSY);
    assert_int_equal(p->n, UL_MAX_MEMPOOL);
    ul_pool_destroy(p);
}

/* Pools a checked tx the way the node does. Out: its id. */
static void pool_tx(ul_pool *p, ul_nodefx *f, const char *ns, uint64_t nonce,
                    uint8_t id[UL_HASH_BYTES])
{
    ul_chainfx_txbuf t;
    uint8_t leaf[UL_HASH_BYTES];
    ul_nodefx_register(f, &t, ns, nonce);
    assert_int_equal(ul_chain_check_tx(f->chain, t.b, t.len, id, leaf), UL_OK);
    assert_int_equal(ul_pool_add(p, t.b, t.len, leaf, id, true, UL_NODEFX_T0), UL_OK);
}

static void test_pending(void **state)
{
    (void)state;
    ul_nodefx f;
    ul_pool *p;
    uint8_t a[UL_HASH_BYTES], b[UL_HASH_BYTES], dup[UL_HASH_BYTES];
    ul_nodefx_open(&f, "pool");
    assert_int_equal(ul_pool_create(&p), UL_OK);
    pool_tx(p, &f, "acme/a", 1, a);
    pool_tx(p, &f, "acme/b", 2, b);
    pool_tx(p, &f, "acme/a", 3, dup); /* the same namespace again */
    assert_false(ul_pool_all_pending(p));

    /* The pending block takes the pool in order; the conflicting copy leaves, remembered. */
    ul_pool_take_pending(p, f.chain);
    assert_int_equal(p->n, 2);
    assert_int_equal(p->n_in_pending, 2);
    assert_true(ul_pool_all_pending(p));
    assert_int_equal(ul_chain_pending_count(f.chain), 2);
    assert_int_equal(ul_pool_status(p, a), UL_OK);
    assert_int_equal(ul_pool_status(p, dup), UL_E_NS_EXISTS);

    /* Discarding drops the chain's block and the pool's record of it at once; the txs stay. */
    ul_pool_discard_pending(p, f.chain);
    assert_int_equal(ul_chain_pending_count(f.chain), 0);
    assert_int_equal(p->n_in_pending, 0);
    assert_int_equal(p->n, 2);

    /* Committed: the block's txs leave the pool, which is empty again. */
    ul_pool_take_pending(p, f.chain);
    assert_int_equal(ul_chainfx_seal_commit(f.chain, NULL, (const ul_key *const[]){f.val}, 1,
                                            UL_NODEFX_T0 + 1000, NULL, NULL),
                     UL_OK);
    uint8_t *blk, *cm;
    size_t blen, clen;
    assert_int_equal(ul_chainfx_block(f.chain, 1, &blk, &blen, &cm, &clen), UL_OK);
    ul_pool_remove_block(p, blk, blen);
    free(blk);
    free(cm);
    assert_int_equal(p->n, 0);
    assert_int_equal(p->n_in_pending, 0);
    assert_int_equal(p->first_pooled_ms, 0);
    assert_int_equal(ul_pool_status(p, b), UL_E_NOT_FOUND);
    ul_pool_destroy(p);
    ul_nodefx_close(&f);
}

/* A committed block's txs leave the pool by the leaf hashes the chain held for them; a tx
 * pooled after the block was filled stays, found by leaf and by bytes. */
static void test_remove_leaves(void **state)
{
    (void)state;
    ul_nodefx f;
    ul_pool *p;
    uint8_t a[UL_HASH_BYTES], b[UL_HASH_BYTES], late[UL_HASH_BYTES];
    uint8_t leaves[3][UL_HASH_BYTES];
    ul_nodefx_open(&f, "pool-leaves");
    assert_int_equal(ul_pool_create(&p), UL_OK);
    pool_tx(p, &f, "acme/a", 1, a);
    pool_tx(p, &f, "acme/b", 2, b);
    ul_pool_take_pending(p, f.chain);
    pool_tx(p, &f, "acme/c", 3, late);
    assert_int_equal(ul_chain_pending_leaves(f.chain, leaves, 1), 1); /* bounded by cap */
    assert_int_equal(ul_chain_pending_leaves(f.chain, leaves, 3), 2);
    assert_memory_equal(leaves[0], p->tx[0].leaf, UL_HASH_BYTES);
    assert_memory_equal(leaves[1], p->tx[1].leaf, UL_HASH_BYTES);
    assert_int_equal(ul_chainfx_seal_commit(f.chain, NULL, (const ul_key *const[]){f.val}, 1,
                                            UL_NODEFX_T0 + 1000, NULL, NULL),
                     UL_OK);
    ul_pool_remove_leaves(p, (const uint8_t(*)[UL_HASH_BYTES])leaves, 2);
    assert_int_equal(p->n, 1);
    assert_int_equal(p->n_in_pending, 0);
    assert_int_equal(ul_pool_status(p, a), UL_E_NOT_FOUND);
    assert_int_equal(ul_pool_status(p, b), UL_E_NOT_FOUND);
    assert_int_equal(ul_pool_status(p, late), UL_OK);
    const ul_pooled *t = &p->tx[0];
    assert_ptr_equal(ul_pool_find(p, t->leaf), t);
    assert_ptr_equal(ul_pool_find_bytes(p, t->tx, t->len), t);
    ul_pool_destroy(p);
    ul_nodefx_close(&f);
}

/* Slots of an index in use: after compaction exactly one per pooled tx, none left behind. */
static size_t slots_used(const uint32_t *table, size_t cap)
{
    size_t used = 0;
    for (size_t i = 0; i < cap; i++) {
        used += table[i] != 0;
    }
    return used;
}

/* Taking the pending block drops what does not execute (here: bytes that are no tx) and
 * compacts the pool: few entries empty only their own index slots, many the whole index. Either
 * way every tx left is found by leaf and by bytes, the dropped are not, and no slot is stale. */
static void test_compact(void **state)
{
    (void)state;
    const uint32_t sizes[] = {40, 9000}; /* under and over the index's sixteenth */
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        ul_nodefx f;
        ul_pool *p;
        uint8_t ids[3][UL_HASH_BYTES];
        ul_nodefx_open(&f, "pool-compact");
        assert_int_equal(ul_pool_create(&p), UL_OK);
        for (uint32_t i = 0; i < sizes[k]; i++) {
            add_raw(p, i, false, UL_OK);
            if (i % (sizes[k] / 3) == 0 && i / (sizes[k] / 3) < 3) {
                char ns[32];
                snprintf(ns, sizeof ns, "acme/c%u", i);
                pool_tx(p, &f, ns, 1 + i, ids[i / (sizes[k] / 3)]);
            }
        }
        ul_pool_take_pending(p, f.chain);
        assert_int_equal(p->n, 3);
        assert_int_equal(slots_used(p->index, p->index_cap), 3);
        assert_int_equal(slots_used(p->bindex, p->index_cap), 3);
        for (size_t j = 0; j < 3; j++) {
            const ul_pooled *t = &p->tx[j];
            assert_ptr_equal(ul_pool_find(p, t->leaf), t);
            assert_ptr_equal(ul_pool_find_bytes(p, t->tx, t->len), t);
            assert_int_equal(ul_pool_status(p, ids[j]), UL_OK);
        }
        uint8_t tx[8], leaf[UL_HASH_BYTES];
        ul_be32_put(tx, 1);
        ul_be32_put(tx + 4, ~1u);
        ul_client_merkle_leaf_hash(leaf, tx, sizeof tx);
        assert_null(ul_pool_find(p, leaf));
        assert_null(ul_pool_find_bytes(p, tx, sizeof tx));
        ul_pool_destroy(p);
        ul_nodefx_close(&f);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_find),    cmocka_unit_test(test_full),
        cmocka_unit_test(test_pending), cmocka_unit_test(test_remove_leaves),
        cmocka_unit_test(test_compact),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
