/* node/checkpoint.c, the freshness-checkpoint collector, against a real chain of 4 validators
 * (power 10 each): when a validator signs, which peer signatures it takes, and that a quorum of
 * one statement, and only that, becomes the chain's newest checkpoint. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "chainfx.h"
#include "node/node.h"

#define T0 1767225600000ULL
#define NV 4
#define IV 1000 /* checkpoint interval, ms */

typedef struct {
    char root[256];
    ul_key *val[NV]; /* in set order */
    ul_valset vs;
    uint8_t chain_id[UL_HASH_BYTES];
    ul_chain *c;
    ul_ckpt *k;
} fx;

static int key_cmp(const void *a, const void *b)
{
    return memcmp(ul_key_pubkey(*(ul_key *const *)a), ul_key_pubkey(*(ul_key *const *)b),
                  UL_PUBKEY_BYTES);
}

static void commit_one(fx *f)
{
    ul_header h;
    size_t n;
    assert_int_equal(ul_chainfx_seal_commit(f->c, NULL, (const ul_key *const *)f->val, NV,
                                            ul_chain_next_time(f->c) + 1, &h, &n),
                     UL_OK);
}

static int setup(void **state)
{
    static fx f;
    uint8_t genesis[1024];
    size_t glen;
    memset(&f, 0, sizeof f);
    for (unsigned i = 0; i < NV; i++) {
        f.val[i] = ul_chainfx_key("upledger checkpoint test", i + 1);
    }
    qsort(f.val, NV, sizeof f.val[0], key_cmp);
    ul_chainfx_valset(&f.vs, (const ul_key *const *)f.val, (const uint64_t[NV]){10, 10, 10, 10},
                      NV);
    ul_chainfx_genesis(genesis, sizeof genesis, &glen, f.chain_id, "ckpt-test", T0, &f.vs);
    ul_chainfx_tmpdir(f.root, sizeof f.root, "ckpt");
    f.c = ul_chainfx_open(f.root, "db", genesis, glen);
    commit_one(&f);
    assert_int_equal(ul_ckpt_open(&f.k, IV), UL_OK);
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    ul_ckpt_close(f->k);
    ul_chain_close(f->c);
    for (size_t i = 0; i < NV; i++) {
        ul_key_destroy(f->val[i]);
    }
    ul_chainfx_rm_tree(f->root);
    return 0;
}

static void head_hash(fx *f, uint8_t out[UL_HASH_BYTES])
{
    uint8_t *hdr = NULL;
    size_t len = 0;
    assert_int_equal(ul_chain_header_bytes(f->c, ul_chain_height(f->c), &hdr, &len), UL_OK);
    ul_client_sha256(out, hdr, len);
    free(hdr);
}

/* Validator i's peer message for (head or hash, t), under domain d, claiming index idx. */
static size_t msg(fx *f, uint8_t *out, size_t i, uint64_t idx, uint64_t t, ul_domain d,
                  const uint8_t *hash)
{
    static ul_checkpoint m;
    uint8_t vb[UL_MAX_VOTE_BYTES];
    size_t vlen = 0, len = 0;
    memset(&m, 0, sizeof m);
    m.v.height = ul_chain_height(f->c);
    m.v.time_ms = t;
    head_hash(f, m.v.header_hash);
    if (hash) {
        memcpy(m.v.header_hash, hash, UL_HASH_BYTES);
    }
    assert_int_equal(ul_schema_checkpoint_vote_encode(vb, sizeof vb, &vlen, &m.v), UL_OK);
    assert_int_equal(ul_key_sign(f->val[i], m.sigs[0].sig, d, f->chain_id, vb, vlen), UL_OK);
    m.n_sigs = 1;
    m.sigs[0].index = idx;
    assert_int_equal(ul_schema_checkpoint_encode(out, UL_MAX_CHECKPOINT_BYTES, &len, &m), UL_OK);
    return len;
}

static void feed(fx *f, size_t from, const uint8_t *m, size_t len, uint64_t now)
{
    ul_ckpt_on_peer(f->k, f->c, ul_key_pubkey(f->val[from]), m, len, now);
}

static void test_collect(void **state)
{
    fx *f = *state;
    static uint8_t m[UL_MAX_CHECKPOINT_BYTES];
    uint8_t other[UL_HASH_BYTES] = {7};
    static ul_checkpoint kept;
    long next = 100000;
    uint64_t now = T0 + 50 * IV + 300, t = T0 + 50 * IV;
    size_t len;
    /* The first step only notes the interval; the next interval is signed (validator 0). */
    ul_ckpt_step(f->k, f->c, f->val[0], NULL, true, now, &next);
    assert_int_equal(next, IV - 300);
    now += IV, t += IV;
    ul_ckpt_step(f->k, f->c, f->val[0], NULL, true, now, &next);
    assert_int_equal(ul_ckpt_made(f->k), 0); /* 10 of 40 */
    assert_int_equal(ul_chain_checkpoint_get(f->c, &kept), UL_E_NOT_FOUND);
    /* Signatures a node must not take: another index than the sender's, another domain, another
     * header, dated past the clock skew, or from a key outside the set. */
    len = msg(f, m, 1, 2, t, UL_DOMAIN_CHECKPOINT, NULL);
    feed(f, 1, m, len, now);
    len = msg(f, m, 1, 1, t, UL_DOMAIN_VOTE, NULL);
    feed(f, 1, m, len, now);
    len = msg(f, m, 1, 1, t, UL_DOMAIN_CHECKPOINT, other);
    feed(f, 1, m, len, now);
    len = msg(f, m, 2, 2, now + UL_MAX_CLOCK_SKEW_MS + 1, UL_DOMAIN_CHECKPOINT, NULL);
    feed(f, 2, m, len, now);
    ul_key *stranger = ul_chainfx_key("upledger checkpoint stranger", 1);
    len = msg(f, m, 1, 1, t, UL_DOMAIN_CHECKPOINT, NULL);
    ul_ckpt_on_peer(f->k, f->c, ul_key_pubkey(stranger), m, len, now);
    ul_key_destroy(stranger);
    m[len - 1] ^= 1; /* a flipped signature */
    feed(f, 1, m, len, now);
    assert_int_equal(ul_ckpt_made(f->k), 0);
    /* Validator 1 genuinely: 20 of 40, no quorum; validator 2 at another time: none either. */
    len = msg(f, m, 1, 1, t, UL_DOMAIN_CHECKPOINT, NULL);
    feed(f, 1, m, len, now);
    len = msg(f, m, 2, 2, t - IV, UL_DOMAIN_CHECKPOINT, NULL);
    feed(f, 2, m, len, now);
    assert_int_equal(ul_ckpt_made(f->k), 0);
    /* Validator 2 for t: 30 of 40 on one statement, kept once. */
    len = msg(f, m, 2, 2, t, UL_DOMAIN_CHECKPOINT, NULL);
    feed(f, 2, m, len, now);
    assert_int_equal(ul_ckpt_made(f->k), 1);
    assert_int_equal(ul_chain_checkpoint_get(f->c, &kept), UL_OK);
    assert_int_equal(kept.v.time_ms, t);
    assert_int_equal(kept.n_sigs, 3);
    len = msg(f, m, 3, 3, t, UL_DOMAIN_CHECKPOINT, NULL);
    feed(f, 3, m, len, now);
    assert_int_equal(ul_ckpt_made(f->k), 1); /* as new as the kept one */
    /* A validator that knows it is behind signs nothing; one interval later it signs again. */
    now += IV, t += IV;
    ul_ckpt_step(f->k, f->c, f->val[0], NULL, false, now, &next);
    len = msg(f, m, 1, 1, t, UL_DOMAIN_CHECKPOINT, NULL);
    feed(f, 1, m, len, now);
    len = msg(f, m, 2, 2, t, UL_DOMAIN_CHECKPOINT, NULL);
    feed(f, 2, m, len, now);
    assert_int_equal(ul_ckpt_made(f->k), 1);
    ul_ckpt_step(f->k, f->c, f->val[0], NULL, true, now, &next);
    assert_int_equal(ul_ckpt_made(f->k), 2);
    assert_int_equal(ul_chain_checkpoint_get(f->c, &kept), UL_OK);
    assert_int_equal(kept.v.time_ms, t);
    /* A new head: the kept checkpoint and the signatures gathered are for the old one. */
    len = msg(f, m, 1, 1, t + IV, UL_DOMAIN_CHECKPOINT, NULL); /* signed for the old head */
    commit_one(f);
    assert_int_equal(ul_chain_checkpoint_get(f->c, &kept), UL_E_NOT_FOUND);
    feed(f, 1, m, len, now + IV);
    len = msg(f, m, 2, 2, t + IV, UL_DOMAIN_CHECKPOINT, NULL);
    feed(f, 2, m, len, now + IV);
    len = msg(f, m, 3, 3, t + IV, UL_DOMAIN_CHECKPOINT, NULL);
    feed(f, 3, m, len, now + IV);
    assert_int_equal(ul_ckpt_made(f->k), 2); /* 20 of 40 for the new head */
    len = msg(f, m, 1, 1, t + IV, UL_DOMAIN_CHECKPOINT, NULL);
    feed(f, 1, m, len, now + IV);
    assert_int_equal(ul_ckpt_made(f->k), 3);
    assert_int_equal(ul_chain_checkpoint_get(f->c, &kept), UL_OK);
    assert_int_equal(kept.v.height, ul_chain_height(f->c));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_collect),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
