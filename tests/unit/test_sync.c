/* The node's block sync (node/sync.c), driven through the loop's entry point (ul_cons_step) of
 * an observer whose one peer's query endpoint is another node's own handler, in process: it
 * fetches and verifies the peer's blocks; a peer claiming a head it never serves (2^64 - 1) is
 * set aside after UL_CLAIM_MAX_STRIKES passes; a peer that does not answer is not a claim. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "node/io.h"
#include "node/node.h"
#include "nodefx.h"

typedef struct {
    ul_nodefx src;       /* the peer's chain, three blocks long */
    ul_nodefx_io src_io; /* for the peer's handler (no peers of its own) */
    ul_node peer;
    ul_nodefx_io io; /* the follower's, whose query calls the peer's handler */
    ul_node me;
    bool lie; /* the peer's status claims 2^64 - 1 and it serves no block */
    unsigned queries;
} fx;

static ul_err query(void *ctx, size_t peer, const ul_msg *req, ul_msg *reply, uint8_t **buf,
                    int timeout_ms)
{
    fx *x = (fx *)((char *)ctx - offsetof(fx, io));
    uint8_t in[4096];
    size_t len, out_len;
    uint64_t code;
    (void)timeout_ms;
    assert_int_equal(peer, 0);
    x->queries++;
    assert_int_equal(ul_msg_encode(in, sizeof in, &len, req), UL_OK);
    ul_node_handle(&x->peer, in, len, buf, &out_len);
    if (x->lie) { /* the same reply, but the head 2^64 - 1 and no block */
        ul_msg m, honest;
        uint64_t method = 0;
        ul_q_status_reply st;
        ul_q_block_reply none = {0};
        assert_int_equal(ul_msg_get_uint(req, UL_QK_METHOD, &method), UL_OK);
        assert_int_equal(ul_msg_decode(&honest, *buf, out_len), UL_OK);
        ul_msg_init(&m);
        ul_msg_uint(&m, UL_QK_ERR, UL_OK);
        if (method == UL_RPC_STATUS) {
            assert_int_equal(ul_q_status_reply_read(&honest, &st), UL_OK);
            st.height = UINT64_MAX;
            ul_q_status_reply_put(&m, &st);
        } else {
            ul_q_block_reply_put(&m, &none);
        }
        uint8_t *lie = malloc(4096);
        assert_int_equal(ul_msg_encode(lie, 4096, &out_len, &m), UL_OK);
        free(*buf);
        *buf = lie;
    }
    if (ul_msg_decode(reply, *buf, out_len) != UL_OK || ul_msg_get_uint(reply, 0, &code) != UL_OK) {
        return UL_E_PROTOCOL;
    }
    return (ul_err)code;
}

static int setup(void **state)
{
    fx *x = calloc(1, sizeof *x);
    ul_chainfx_txbuf t;
    uint8_t id[UL_HASH_BYTES];
    ul_nodefx_open(&x->src, "sync");
    for (uint64_t h = 1; h <= 3; h++) {
        char ns[32] = "acme/a";
        ns[5] = (char)('a' + h);
        ul_nodefx_register(&x->src, &t, ns, h);
        assert_int_equal(ul_chain_submit(x->src.chain, t.b, t.len, id), UL_OK);
        assert_int_equal(ul_chainfx_seal_commit(x->src.chain, NULL,
                                                (const ul_key *const[]){x->src.val}, 1,
                                                UL_NODEFX_T0 + 1000 * h, NULL, NULL),
                         UL_OK);
    }
    static const ul_node_cfg peer_cfg = {
        .observer = true, .heartbeat_ms = 1000, .round_timeout_ms = 1000};
    ul_nodefx_io_init(&x->src_io);
    x->peer = (ul_node){.io = &x->src_io.io, .chain = x->src.chain};
    assert_int_equal(ul_cons_open(&x->peer, &peer_cfg), UL_OK);

    static ul_node_cfg cfg = {
        .observer = true, .n_peers = 1, .heartbeat_ms = 1000, .round_timeout_ms = 1000};
    ul_nodefx_io_init(&x->io);
    x->io.io.query = query;
    x->me = (ul_node){.io = &x->io.io,
                      .chain = ul_chainfx_open(x->src.root, "me", x->src.genesis, x->src.glen)};
    assert_int_equal(ul_cons_open(&x->me, &cfg), UL_OK);
    *state = x;
    return 0;
}

static int teardown(void **state)
{
    fx *x = *state;
    ul_cons_close(&x->me);
    ul_chain_close(x->me.chain);
    ul_cons_close(&x->peer);
    ul_nodefx_close(&x->src);
    free(x);
    return 0;
}

static void test_fetch(void **state)
{
    fx *x = *state;
    long next;
    uint64_t target, ignored;
    ul_cons_step(&x->me, x->io.now, &next);
    assert_int_equal(ul_chain_height(x->me.chain), 3);
    ul_header a, b;
    ul_chainfx_header(x->me.chain, 3, &a);
    ul_chainfx_header(x->src.chain, 3, &b);
    assert_memory_equal(&a, &b, sizeof a);
    ul_cons_sync_status(&x->me, &target, &ignored);
    assert_int_equal(target, 3);
    assert_int_equal(ignored, 0);
    assert_true(next >= 0);
}

static void test_false_claim(void **state)
{
    fx *x = *state;
    long next;
    uint64_t target = 0, ignored = 0;
    x->lie = true;
    for (int i = 0; i < 2 * UL_CLAIM_MAX_STRIKES && ignored == 0; i++) {
        ul_cons_step(&x->me, x->io.now, &next);
        ul_cons_sync_status(&x->me, &target, &ignored);
        x->io.now += 1000;
    }
    assert_int_equal(ignored, 1); /* set aside */
    assert_int_equal(ul_chain_height(x->me.chain), 0);
    ul_cons_sync_status(&x->me, &target, &ignored);
    assert_int_equal(target, 0); /* it no longer steers sync */
    unsigned before = x->queries;
    ul_cons_step(&x->me, x->io.now, &next);
    assert_int_equal(x->queries, before); /* nor is it asked while set aside */
    /* Once the time is up, an honest answer counts again. */
    x->lie = false;
    x->io.now += UL_CLAIM_IGNORE_MS;
    ul_cons_step(&x->me, x->io.now, &next);
    assert_int_equal(ul_chain_height(x->me.chain), 3);
}

static void test_no_answer(void **state)
{
    fx *x = *state;
    long next;
    uint64_t target, ignored;
    x->io.io.query = ul_nodefx_io_query_down;
    ul_cons_step(&x->me, x->io.now, &next);
    ul_cons_sync_status(&x->me, &target, &ignored);
    assert_int_equal(ul_chain_height(x->me.chain), 0);
    assert_int_equal(target, 0);
    assert_int_equal(ignored, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_fetch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_false_claim, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_answer, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
