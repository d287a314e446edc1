/* The node's transaction intake and gossip (node/gossip.c): a client's transaction is checked,
 * pooled once and executed into the pending block; pooled client transactions go to peers once,
 * their leaf hashes signed and the transactions attached; received ones are pooled without
 * executing, and a batch whose attachment does not match its leaf hashes is dropped from there. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "node/internal.h"
#include "nodefx.h"

typedef struct {
    ul_nodefx f;
    ul_nodefx_io io;
    ul_node n;
    unsigned sent;
    uint8_t payload[4096], attach[UL_MAX_PEER_PAYLOAD];
    size_t plen, alen;
} fx;

static fx *g;

static ul_err send(void *ctx, uint32_t kind, const uint8_t *payload, size_t len,
                   const uint8_t *attach, size_t alen)
{
    (void)ctx;
    assert_int_equal(kind, UL_PEER_TXS);
    assert_true(len <= sizeof g->payload && alen <= sizeof g->attach);
    memcpy(g->payload, payload, len);
    memcpy(g->attach, attach, alen);
    g->plen = len, g->alen = alen;
    g->sent++;
    return UL_OK;
}

static int setup(void **state)
{
    static fx x;
    static ul_node_cfg cfg = {.heartbeat_ms = 1000, .round_timeout_ms = 1000};
    memset(&x, 0, sizeof x);
    ul_nodefx_open(&x.f, "gossip");
    snprintf(cfg.sign_state, sizeof cfg.sign_state, "%s/val.sign-state", x.f.root);
    ul_nodefx_io_init(&x.io);
    ul_nodefx_io_peer(&x.io);
    x.io.io.peer_send = send;
    x.n = (ul_node){.io = &x.io.io, .chain = x.f.chain, .key = x.f.val};
    assert_int_equal(ul_cons_open(&x.n, &cfg), UL_OK);
    g = &x;
    *state = &x;
    return 0;
}

static int teardown(void **state)
{
    fx *x = *state;
    ul_cons_close(&x->n);
    ul_nodefx_close(&x->f);
    return 0;
}

static void test_submit_and_send(void **state)
{
    fx *x = *state;
    ul_chainfx_txbuf t;
    uint8_t id[UL_HASH_BYTES], again[UL_HASH_BYTES];
    uint64_t h = 99;
    ul_nodefx_register(&x->f, &t, "acme/a", 1);
    assert_int_equal(ul_cons_submit(&x->n, t.b, t.len, id), UL_OK);
    assert_int_equal(ul_cons_submit(&x->n, t.b, t.len, again), UL_OK); /* a retry: same id */
    assert_memory_equal(id, again, UL_HASH_BYTES);
    assert_int_equal(C(&x->n)->pool->n, 1);
    assert_int_equal(ul_chain_pending_count(x->f.chain), 1); /* executed at once */
    assert_int_equal(ul_cons_tx_status(&x->n, id, &h), UL_OK);
    assert_int_equal(h, 0); /* pooled */
    t.b[t.len - 1] ^= 1;    /* a broken signature: refused, not pooled */
    assert_int_not_equal(ul_cons_submit(&x->n, t.b, t.len, again), UL_OK);
    assert_int_equal(C(&x->n)->pool->n, 1);

    ul_gossip_send(&x->n);
    assert_int_equal(x->sent, 1);
    ul_gossip_send(&x->n); /* once */
    assert_int_equal(x->sent, 1);
    ul_msg m, a;
    ul_span leaves, arr, tx;
    size_t count;
    uint8_t leaf[UL_HASH_BYTES];
    assert_int_equal(ul_msg_decode(&m, x->payload, x->plen), UL_OK);
    assert_int_equal(ul_msg_get_bytes(&m, 1, &leaves), UL_OK);
    assert_int_equal(ul_msg_decode(&a, x->attach, x->alen), UL_OK);
    assert_int_equal(ul_msg_get_list(&a, 1, &arr, &count), UL_OK);
    assert_int_equal(count, 1);
    assert_true(ul_msg_list_next(&arr, &tx));
    ul_client_merkle_leaf_hash(leaf, tx.ptr, tx.len);
    assert_int_equal(leaves.len, UL_HASH_BYTES);
    assert_memory_equal(leaves.ptr, leaf, UL_HASH_BYTES);
}

/* A gossip batch of txs[0..n) whose k-th leaf hash is wrong (k >= n: none). */
static void receive(fx *x, const ul_chainfx_txbuf *txs, size_t n, size_t k)
{
    ul_span items[4];
    uint8_t leaves[4][UL_HASH_BYTES], p[512], att[4 * UL_MAX_TX_BYTES];
    size_t plen, alen;
    ul_msg m, a;
    for (size_t i = 0; i < n; i++) {
        items[i] = (ul_span){txs[i].b, txs[i].len};
        ul_client_merkle_leaf_hash(leaves[i], txs[i].b, txs[i].len);
        leaves[i][0] ^= i == k;
    }
    ul_msg_init(&a);
    ul_msg_list(&a, 1, items, n);
    assert_int_equal(ul_msg_encode(att, sizeof att, &alen, &a), UL_OK);
    ul_msg_init(&m);
    ul_msg_bytes(&m, 1, leaves[0], n * UL_HASH_BYTES);
    assert_int_equal(ul_msg_encode(p, sizeof p, &plen, &m), UL_OK);
    ul_gossip_on_txs(&x->n, p, plen, &(ul_span){att, alen});
}

static void test_receive(void **state)
{
    fx *x = *state;
    ul_chainfx_txbuf t[3];
    uint8_t id[UL_HASH_BYTES];
    uint64_t h;
    for (size_t i = 0; i < 3; i++) {
        char ns[16] = "acme/x";
        ns[5] = (char)('a' + i);
        ul_nodefx_register(&x->f, &t[i], ns, i + 1);
    }
    receive(x, t, 3, 1); /* the second's leaf is wrong: only the first is taken */
    assert_int_equal(C(&x->n)->pool->n, 1);
    assert_int_equal(ul_chain_pending_count(x->f.chain), 0); /* a peer's: not executed */
    assert_int_equal(C(&x->n)->pool->n_gossip, 0);           /* nor sent back out */
    receive(x, t, 3, 3);
    assert_int_equal(C(&x->n)->pool->n, 3);
    ul_chain_check_tx(x->f.chain, t[2].b, t[2].len, id, (uint8_t[UL_HASH_BYTES]){0});
    assert_int_equal(ul_cons_tx_status(&x->n, id, &h), UL_OK);
    assert_int_equal(h, 0);
    ul_gossip_send(&x->n);
    assert_int_equal(x->sent, 0);
}

/* A gossip message of count copies of tx (each with its right leaf hash). */
static void receive_copies(fx *x, const ul_chainfx_txbuf *tx, size_t count)
{
    ul_span *items = malloc(count * sizeof *items);
    uint8_t(*leaves)[UL_HASH_BYTES] = malloc(count * sizeof *leaves);
    size_t plen, alen, cap = count * (tx->len + 8) + 64;
    uint8_t *p = malloc(count * UL_HASH_BYTES + 64), *att = malloc(cap);
    ul_msg m, a;
    assert_non_null(items && leaves && p && att);
    for (size_t i = 0; i < count; i++) {
        items[i] = (ul_span){tx->b, tx->len};
        ul_client_merkle_leaf_hash(leaves[i], tx->b, tx->len);
    }
    ul_msg_init(&a);
    ul_msg_list(&a, 1, items, count);
    assert_int_equal(ul_msg_encode(att, cap, &alen, &a), UL_OK);
    ul_msg_init(&m);
    ul_msg_bytes(&m, 1, leaves[0], count * UL_HASH_BYTES);
    assert_int_equal(ul_msg_encode(p, count * UL_HASH_BYTES + 64, &plen, &m), UL_OK);
    ul_gossip_on_txs(&x->n, p, plen, &(ul_span){att, alen});
    free(items);
    free(leaves);
    free(p);
    free(att);
}

/* A message carries at most UL_MAX_GOSSIP_TXS txs (p2p/README.md): one more and it is dropped
 * whole, before any tx is looked at. */
static void test_receive_bound(void **state)
{
    fx *x = *state;
    ul_chainfx_txbuf t;
    ul_nodefx_register(&x->f, &t, "acme/bound", 1);
    receive_copies(x, &t, UL_MAX_GOSSIP_TXS + 1);
    assert_int_equal(C(&x->n)->pool->n, 0);
    receive_copies(x, &t, UL_MAX_GOSSIP_TXS); /* at the bound: taken (the copies are one tx) */
    assert_int_equal(C(&x->n)->pool->n, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_submit_and_send, setup, teardown),
        cmocka_unit_test_setup_teardown(test_receive, setup, teardown),
        cmocka_unit_test_setup_teardown(test_receive_bound, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
