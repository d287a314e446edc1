/* The node's BFT driver (node/driver.c) on the loop's entry points: a lone validator pools a
 * client's transaction and commits it in a block of its own, signing each step once; a
 * validator restarted in the middle of a height resumes one round above its last signature;
 * a lone key without more than 2/3 of the power makes no block and refuses transactions. */
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
    ul_node_cfg cfg;
} fx;

/* Opens f (one validator and n_others more) and a validator node of f->val whose sign state
 * file says (height, round, step), all zero: never signed. */
static fx *open_fx(size_t n_others, uint64_t height, uint64_t round, uint64_t step)
{
    fx *x = calloc(1, sizeof *x);
    ul_nodefx_open_n(&x->f, "driver", n_others);
    x->cfg = (ul_node_cfg){.heartbeat_ms = 60000, .round_timeout_ms = 1000};
    snprintf(x->cfg.sign_state, sizeof x->cfg.sign_state, "%s/val.sign-state", x->f.root);
    ul_sign_state st = {.height = height, .round = round, .step = step};
    memcpy(st.pubkey, ul_key_pubkey(x->f.val), UL_PUBKEY_BYTES);
    assert_int_equal(ul_signstate_save(x->cfg.sign_state, &st), UL_OK);
    ul_nodefx_io_init(&x->io);
    x->n = (ul_node){.io = &x->io.io, .chain = x->f.chain, .key = x->f.val};
    return x;
}

static void close_fx(fx *x)
{
    ul_cons_close(&x->n);
    ul_nodefx_close(&x->f);
    free(x);
}

static void test_lone_commit(void **state)
{
    (void)state;
    fx *x = open_fx(0, 0, 0, 0);
    ul_chainfx_txbuf t;
    uint8_t id[UL_HASH_BYTES];
    uint64_t h = 0, last[4];
    long next;
    ul_err refusing;
    assert_int_equal(ul_cons_open(&x->n, &x->cfg), UL_OK);
    ul_nodefx_register(&x->f, &t, "acme/a", 1);
    assert_int_equal(ul_cons_submit(&x->n, t.b, t.len, id), UL_OK);
    ul_cons_step(&x->n, x->io.now, &next); /* within the batching pause: no block yet */
    assert_int_equal(ul_chain_height(x->f.chain), 0);
    assert_true(next >= 0 && next <= 1000);
    x->io.now += 1000;
    ul_cons_step(&x->n, x->io.now, &next);
    assert_int_equal(ul_chain_height(x->f.chain), 1);
    assert_int_equal(ul_cons_tx_status(&x->n, id, &h), UL_OK);
    assert_int_equal(h, 1);
    assert_int_equal(C(&x->n)->pool->n, 0);
    assert_false(C(&x->n)->started);
    assert_true(ul_cons_sign_status(&x->n, last, &refusing, &h));
    assert_int_equal(last[0], 1);
    assert_int_equal(last[2], UL_SIGNLOG_PRECOMMIT);
    assert_int_equal(last[3], 3); /* proposal, prevote, precommit: once each */
    assert_int_equal(refusing, UL_OK);
    assert_int_equal(x->io.sign_writes, 3);
    close_fx(x);
}

static void test_resume(void **state)
{
    (void)state;
    fx *x = open_fx(1, 1, 2, UL_SIGNLOG_PREVOTE); /* signed at height 1 round 2, then stopped */
    assert_int_equal(ul_cons_open(&x->n, &x->cfg), UL_OK);
    ul_cons_start_height(&x->n);
    assert_true(C(&x->n)->started);
    assert_int_equal(ul_bft_round_now(&C(&x->n)->bft), 3);
    close_fx(x);
}

static void test_alone_without_quorum(void **state)
{
    (void)state;
    fx *x = open_fx(1, 0, 0, 0); /* half the power, no peers */
    ul_chainfx_txbuf t;
    uint8_t id[UL_HASH_BYTES];
    long next;
    assert_int_equal(ul_cons_open(&x->n, &x->cfg), UL_OK);
    ul_nodefx_register(&x->f, &t, "acme/a", 1);
    assert_int_equal(ul_cons_submit(&x->n, t.b, t.len, id), UL_E_QUORUM);
    x->io.now += 120000;
    ul_cons_step(&x->n, x->io.now, &next);
    assert_false(C(&x->n)->started);
    assert_int_equal(ul_chain_height(x->f.chain), 0);
    close_fx(x);
}

/* A lone validator killed after its precommit's sign state was written but before its block
 * was: the sign state holds the lock, the database neither the block nor its lock record. No
 * one else can have seen that precommit (it has no peers), so it drops the lock it cannot
 * propose and commits a new block at that height instead of waiting on it for ever. */
static void test_lone_lock_not_held(void **state)
{
    (void)state;
    fx *x = open_fx(0, 0, 0, 0);
    ul_sign_state st = {.height = 1,
                        .round = 0,
                        .step = UL_SIGNLOG_PRECOMMIT,
                        .has_lock = true,
                        .has_lock_hash = true,
                        .lock_round = 0};
    memcpy(st.pubkey, ul_key_pubkey(x->f.val), UL_PUBKEY_BYTES);
    memset(st.lock_hash, 0x5a, UL_HASH_BYTES); /* a block nobody holds */
    assert_int_equal(ul_signstate_save(x->cfg.sign_state, &st), UL_OK);
    ul_chainfx_txbuf t;
    uint8_t id[UL_HASH_BYTES];
    uint64_t h = 0;
    long next;
    assert_int_equal(ul_cons_open(&x->n, &x->cfg), UL_OK);
    ul_nodefx_register(&x->f, &t, "acme/a", 1);
    assert_int_equal(ul_cons_submit(&x->n, t.b, t.len, id), UL_OK);
    for (int i = 0; i < 20 && ul_chain_height(x->f.chain) == 0; i++) {
        x->io.now += 1000;
        ul_cons_step(&x->n, x->io.now, &next);
    }
    assert_int_equal(ul_chain_height(x->f.chain), 1);
    assert_int_equal(ul_cons_tx_status(&x->n, id, &h), UL_OK);
    assert_int_equal(h, 1);
    close_fx(x);
}

/* Only a validator whose own power is a quorum and that has peers makes its lock records
 * durable: alone, a restart drops a lock it cannot hold; with less power, others can propose. */
static void test_lock_durable_when_quorum_with_peers(void **state)
{
    (void)state;
    static const struct {
        size_t others, peers;
        bool durable;
    } cases[] = {{0, 1, true}, {0, 0, false}, {1, 1, false}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fx *x = open_fx(cases[i].others, 0, 0, 0);
        x->cfg.n_peers = cases[i].peers;
        if (cases[i].peers) {
            ul_nodefx_io_peer(&x->io);
        }
        assert_int_equal(ul_cons_open(&x->n, &x->cfg), UL_OK);
        assert_int_equal(C(&x->n)->sign.lock_durable, cases[i].durable);
        close_fx(x);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lone_commit),
        cmocka_unit_test(test_resume),
        cmocka_unit_test(test_alone_without_quorum),
        cmocka_unit_test(test_lone_lock_not_held),
        cmocka_unit_test(test_lock_durable_when_quorum_with_peers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
