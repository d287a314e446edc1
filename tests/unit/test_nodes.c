/* Four whole validators (driver, pool, gossip, sync, sign log, ledger) in one process, each
 * with its own ul_node_io on one simulated clock and an in-memory network: what node/io.h is
 * for. A client's transaction given to one node is gossiped, proposed, voted on and committed
 * by all four at the same height with the same block; with one node cut off the other three
 * (more than 2/3 of the power) still commit. Nothing is shared between the nodes but the
 * network and the clock: a deterministic whole-node simulator builds on this. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "node/io.h"
#include "node/node.h"
#include "nodefx.h"

#define N 4
#define QMAX 4096 /* messages waiting per node */
#define STEP_MS 5

typedef struct {
    uint32_t kind;
    uint8_t from[UL_PUBKEY_BYTES];
    uint8_t *p, *a; /* payload, attachment (NULL: none) */
    size_t len, alen;
} msg;

typedef struct net net;

typedef struct {
    ul_nodefx_io io; /* first: its ctx is this box */
    net *net;
    size_t i;
    msg q[QMAX];
    size_t head, n;
    msg cur; /* the last received, valid until the next receive */
} box;

struct net {
    ul_nodefx f; /* the genesis, node 0's chain and the four keys */
    box b[N];
    ul_node node[N];
    ul_node_cfg cfg[N];
    bool cut[N]; /* a node that neither sends nor receives */
    uint64_t now;
};

static uint64_t clock_now(void *ctx)
{
    return ((box *)ctx)->net->now;
}

static bool has_peer(void *ctx)
{
    (void)ctx;
    return true;
}

static void deliver(box *from, uint32_t kind, const uint8_t *p, size_t len, const uint8_t *a,
                    size_t alen)
{
    net *w = from->net;
    for (size_t j = 0; j < N; j++) {
        box *to = &w->b[j];
        if (j == from->i || w->cut[j] || w->cut[from->i] || to->n == QMAX) {
            continue;
        }
        msg *m = &to->q[(to->head + to->n++) % QMAX];
        m->kind = kind;
        memcpy(m->from, ul_key_pubkey(w->node[from->i].key), UL_PUBKEY_BYTES);
        m->p = malloc(len ? len : 1);
        m->a = a ? malloc(alen ? alen : 1) : NULL;
        assert_non_null(m->p);
        memcpy(m->p, p, len);
        m->len = len;
        if (a) {
            memcpy(m->a, a, alen);
        }
        m->alen = alen;
    }
}

static ul_err broadcast(void *ctx, uint32_t kind, const uint8_t *p, size_t len)
{
    deliver(ctx, kind, p, len, NULL, 0);
    return UL_OK;
}

static ul_err send(void *ctx, uint32_t kind, const uint8_t *p, size_t len, const uint8_t *a,
                   size_t alen)
{
    deliver(ctx, kind, p, len, a, alen);
    return UL_OK;
}

static void msg_free(msg *m)
{
    free(m->p);
    free(m->a);
    memset(m, 0, sizeof *m);
}

static ul_err recv(void *ctx, uint32_t *kind, uint8_t from32[UL_PUBKEY_BYTES], ul_span *payload,
                   ul_span *attach, bool *has_attach)
{
    box *b = ctx;
    msg_free(&b->cur);
    if (b->n == 0) {
        return UL_E_TIMEOUT;
    }
    b->cur = b->q[b->head];
    b->head = (b->head + 1) % QMAX;
    b->n--;
    *kind = b->cur.kind;
    memcpy(from32, b->cur.from, UL_PUBKEY_BYTES);
    *payload = (ul_span){b->cur.p, b->cur.len};
    *has_attach = b->cur.a != NULL;
    *attach = (ul_span){b->cur.a, b->cur.alen};
    return UL_OK;
}

static int setup(void **state)
{
    net *w = calloc(1, sizeof *w);
    ul_nodefx_open_n(&w->f, "nodes", N - 1);
    w->now = UL_NODEFX_T0 + 1000;
    for (size_t i = 0; i < N; i++) {
        box *b = &w->b[i];
        ul_node_cfg *c = &w->cfg[i];
        ul_node *n = &w->node[i];
        char db[8];
        ul_nodefx_io_init(&b->io);
        ul_nodefx_io_peer(&b->io);
        b->io.io.ctx = b;
        b->io.io.now_ms = clock_now;
        b->io.io.has_peer = has_peer;
        b->io.io.peer_broadcast = broadcast;
        b->io.io.peer_send = send;
        b->io.io.peer_recv = recv;
        b->net = w;
        b->i = i;
        *c = (ul_node_cfg){.n_peers = N - 1, .heartbeat_ms = 60000, .round_timeout_ms = 200};
        n->key = i ? w->f.others[i - 1] : w->f.val;
        snprintf(c->sign_state, sizeof c->sign_state, "%s/%zu.sign-state", w->f.root, i);
        ul_sign_state st = {0};
        memcpy(st.pubkey, ul_key_pubkey(n->key), UL_PUBKEY_BYTES);
        assert_int_equal(ul_signstate_save(c->sign_state, &st), UL_OK);
        snprintf(db, sizeof db, "db%zu", i);
        n->chain = i ? ul_chainfx_open(w->f.root, db, w->f.genesis, w->f.glen) : w->f.chain;
        n->io = &b->io.io;
        assert_int_equal(ul_cons_open(n, c), UL_OK);
    }
    *state = w;
    return 0;
}

static int teardown(void **state)
{
    net *w = *state;
    for (size_t i = 0; i < N; i++) {
        ul_cons_close(&w->node[i]);
        if (i) {
            ul_chain_close(w->node[i].chain);
        }
        msg_free(&w->b[i].cur);
        while (w->b[i].n) {
            msg_free(&w->b[i].q[w->b[i].head]);
            w->b[i].head = (w->b[i].head + 1) % QMAX;
            w->b[i].n--;
        }
    }
    ul_nodefx_close(&w->f);
    free(w);
    return 0;
}

/* Runs every node's turn (messages, then the step) until the nodes not cut off reach height h
 * or max_ms of simulated time pass. Returns: whether they did. */
static bool run_until(net *w, uint64_t h, uint64_t max_ms)
{
    for (uint64_t t = 0; t < max_ms; t += STEP_MS, w->now += STEP_MS) {
        bool all = true;
        for (size_t i = 0; i < N; i++) {
            long next;
            if (w->cut[i]) {
                continue;
            }
            ul_cons_on_peer(&w->node[i]);
            ul_cons_step(&w->node[i], w->now, &next);
            all = all && ul_chain_height(w->node[i].chain) >= h;
        }
        if (all) {
            return true;
        }
    }
    return false;
}

static void same_block(net *w, uint64_t h)
{
    ul_header first, other;
    ul_chainfx_header(w->node[0].chain, h, &first);
    for (size_t i = 1; i < N; i++) {
        ul_chainfx_header(w->node[i].chain, h, &other);
        assert_memory_equal(&first, &other, sizeof first);
    }
}

static void test_commit_together(void **state)
{
    net *w = *state;
    ul_chainfx_txbuf t;
    uint8_t id[UL_HASH_BYTES];
    uint64_t h;
    ul_nodefx_register(&w->f, &t, "acme/a", 1);
    assert_int_equal(ul_cons_submit(&w->node[2], t.b, t.len, id), UL_OK);
    assert_true(run_until(w, 1, 10000));
    same_block(w, 1);
    for (size_t i = 0; i < N; i++) {
        assert_int_equal(ul_cons_tx_status(&w->node[i], id, &h), UL_OK);
        assert_int_equal(h, 1);
    }
}

static void test_three_of_four(void **state)
{
    net *w = *state;
    ul_chainfx_txbuf t;
    uint8_t id[UL_HASH_BYTES];
    w->cut[3] = true;
    ul_nodefx_register(&w->f, &t, "acme/b", 1);
    assert_int_equal(ul_cons_submit(&w->node[0], t.b, t.len, id), UL_OK);
    assert_true(run_until(w, 1, 20000));
    assert_int_equal(ul_chain_height(w->node[3].chain), 0);
    ul_nodefx_register(&w->f, &t, "acme/c", 2);
    assert_int_equal(ul_cons_submit(&w->node[1], t.b, t.len, id), UL_OK);
    assert_true(run_until(w, 2, 20000));
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(ul_chain_height(w->node[i].chain), 2);
    }
    assert_int_equal(ul_chain_height(w->node[3].chain), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_commit_together, setup, teardown),
        cmocka_unit_test_setup_teardown(test_three_of_four, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
