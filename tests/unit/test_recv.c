/* The node's consensus messages (node/recv.c, node/send.c), received through ul_node_io's peer
 * transport by ul_cons_on_peer on a validator of a two-validator chain: a peer's signed vote is
 * held once; a forged, repeated or outsider's vote is not; one for the next height waits for it;
 * one far ahead asks for block sync; a validator's status is a claim; our status goes to every
 * peer. */
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

#define QMAX 8

typedef struct {
    ul_nodefx f;
    ul_nodefx_io io;
    ul_node n;
    struct {
        uint32_t kind;
        uint8_t from[UL_PUBKEY_BYTES];
        uint8_t p[1024];
        size_t len;
    } q[QMAX];
    size_t nq, next;
    uint32_t last_broadcast;
    uint8_t bcast[1024];
    size_t blen;
} fx;

static fx *g;

static ul_err broadcast(void *ctx, uint32_t kind, const uint8_t *payload, size_t len)
{
    (void)ctx;
    g->last_broadcast = kind;
    if (len <= sizeof g->bcast) {
        memcpy(g->bcast, payload, len);
        g->blen = len;
    }
    return UL_OK;
}

static ul_err send(void *ctx, uint32_t kind, const uint8_t *payload, size_t len,
                   const uint8_t *attach, size_t alen)
{
    (void)attach, (void)alen;
    return broadcast(ctx, kind, payload, len);
}

static ul_err recv(void *ctx, uint32_t *kind, uint8_t from32[UL_PUBKEY_BYTES], ul_span *payload,
                   ul_span *attach, bool *has_attach)
{
    (void)ctx, (void)attach;
    if (g->next == g->nq) {
        return UL_E_TIMEOUT;
    }
    *kind = g->q[g->next].kind;
    memcpy(from32, g->q[g->next].from, UL_PUBKEY_BYTES);
    *payload = (ul_span){g->q[g->next].p, g->q[g->next].len};
    *has_attach = false;
    g->next++;
    return UL_OK;
}

static int setup(void **state)
{
    static fx x;
    static ul_node_cfg cfg = {.n_peers = 1, .heartbeat_ms = 1000, .round_timeout_ms = 1000};
    memset(&x, 0, sizeof x);
    ul_nodefx_open_n(&x.f, "recv", 1);
    snprintf(cfg.sign_state, sizeof cfg.sign_state, "%s/val.sign-state", x.f.root);
    ul_sign_state st = {0};
    memcpy(st.pubkey, ul_key_pubkey(x.f.val), UL_PUBKEY_BYTES);
    assert_int_equal(ul_signstate_save(cfg.sign_state, &st), UL_OK);
    ul_nodefx_io_init(&x.io);
    ul_nodefx_io_peer(&x.io);
    x.io.io.peer_send = send;
    x.io.io.peer_broadcast = broadcast;
    x.io.io.peer_recv = recv;
    x.n = (ul_node){.io = &x.io.io, .chain = x.f.chain, .key = x.f.val};
    g = &x;
    assert_int_equal(ul_cons_open(&x.n, &cfg), UL_OK);
    ul_cons_start_height(&x.n);
    assert_true(C(&x.n)->started);
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

/* Queues a nil prevote at (height, round 0) by signer, from peer key from; bad: a forged
 * signature. */
static void queue_vote(fx *x, const ul_key *signer, const ul_key *from, uint64_t height, bool bad)
{
    ul_vote v = {.type = UL_VOTE_PREVOTE, .height = height, .time_ms = UL_NODEFX_T0 + 1};
    uint8_t bytes[UL_MAX_VOTE_BYTES], sig[UL_SIG_BYTES];
    size_t len;
    ul_msg m;
    assert_int_equal(ul_schema_vote_encode(bytes, sizeof bytes, &len, &v), UL_OK);
    assert_int_equal(ul_key_sign(signer, sig, UL_DOMAIN_VOTE, x->f.chain_id, bytes, len), UL_OK);
    sig[0] ^= bad;
    ul_msg_init(&m);
    ul_msg_bytes(&m, 1, ul_key_pubkey(signer), UL_PUBKEY_BYTES);
    ul_msg_bytes(&m, 2, bytes, len);
    ul_msg_bytes(&m, 3, sig, UL_SIG_BYTES);
    assert_true(x->nq < QMAX);
    x->q[x->nq].kind = UL_PEER_VOTE;
    memcpy(x->q[x->nq].from, ul_key_pubkey(from), UL_PUBKEY_BYTES);
    assert_int_equal(ul_msg_encode(x->q[x->nq].p, sizeof x->q[x->nq].p, &x->q[x->nq].len, &m),
                     UL_OK);
    x->nq++;
}

static void test_votes(void **state)
{
    fx *x = *state;
    ul_cons *s = C(&x->n);
    const ul_key *other = x->f.others[0];
    size_t base = s->held->n_votes;
    int32_t idx = ul_cons_set_index(&s->set, ul_key_pubkey(other));
    assert_true(idx >= 0);
    queue_vote(x, other, other, 1, false);
    ul_cons_on_peer(&x->n);
    assert_int_equal(s->held->n_votes, base + 1);
    assert_non_null(ul_held_vote_find(s->held, 0, UL_VOTE_PREVOTE, (uint32_t)idx, NULL));
    queue_vote(x, other, x->f.val, 1, false);   /* relayed again by another peer */
    queue_vote(x, other, other, 1, true);       /* forged */
    queue_vote(x, x->f.owner, other, 1, false); /* not a validator */
    ul_cons_on_peer(&x->n);
    assert_int_equal(s->held->n_votes, base + 1);
    assert_int_equal(s->n_future, 0);
    queue_vote(x, other, other, 2, false); /* the next height: kept for it */
    ul_cons_on_peer(&x->n);
    assert_int_equal(s->n_future, 1);
    s->want_sync = false;
    queue_vote(x, other, other, 9, false); /* far ahead: block sync instead */
    ul_cons_on_peer(&x->n);
    assert_true(s->want_sync);
    assert_int_equal(s->n_future, 1);
}

static void test_status(void **state)
{
    fx *x = *state;
    ul_msg m;
    uint64_t target, ignored, h = 99;
    ul_msg_init(&m);
    ul_msg_uint(&m, 1, 7);
    x->q[0].kind = UL_PEER_STATUS;
    memcpy(x->q[0].from, ul_key_pubkey(x->f.others[0]), UL_PUBKEY_BYTES);
    assert_int_equal(ul_msg_encode(x->q[0].p, sizeof x->q[0].p, &x->q[0].len, &m), UL_OK);
    x->q[1] = x->q[0]; /* the same claimed by an outsider: not heard */
    memcpy(x->q[1].from, ul_key_pubkey(x->f.owner), UL_PUBKEY_BYTES);
    ul_msg_init(&m);
    ul_msg_uint(&m, 1, 50);
    assert_int_equal(ul_msg_encode(x->q[1].p, sizeof x->q[1].p, &x->q[1].len, &m), UL_OK);
    x->nq = 2;
    ul_cons_on_peer(&x->n);
    ul_cons_sync_status(&x->n, &target, &ignored);
    assert_int_equal(target, 7);
    ul_cons_send_status(&x->n);
    assert_int_equal(x->last_broadcast, UL_PEER_STATUS);
    assert_int_equal(ul_msg_decode(&m, x->bcast, x->blen), UL_OK);
    assert_int_equal(ul_msg_get_uint(&m, 1, &h), UL_OK);
    assert_int_equal(h, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_votes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_status, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
