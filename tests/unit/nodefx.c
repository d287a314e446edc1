/* Fixtures for the unit tests of the node's parts: a one-validator chain and register
 * transactions for it (nodefx.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "nodefx.h"

void ul_nodefx_open(ul_nodefx *f, const char *name)
{
    ul_valset vs;
    memset(f, 0, sizeof *f);
    ul_chainfx_tmpdir(f->root, sizeof f->root, name);
    f->val = ul_chainfx_key("upledger node test", 1);
    f->owner = ul_chainfx_key("upledger node test", 2);
    ul_chainfx_valset(&vs, (const ul_key *const[]){f->val}, (const uint64_t[]){1}, 1);
    ul_chainfx_genesis(f->genesis, sizeof f->genesis, &f->glen, f->chain_id, name, UL_NODEFX_T0,
                       &vs);
    f->chain = ul_chainfx_open(f->root, "db", f->genesis, f->glen);
}

void ul_nodefx_close(ul_nodefx *f)
{
    ul_chain_close(f->chain);
    ul_key_destroy(f->val);
    ul_key_destroy(f->owner);
    ul_chainfx_rm_tree(f->root);
}

void ul_nodefx_register(const ul_nodefx *f, ul_chainfx_txbuf *t, const char *ns, uint64_t nonce)
{
    ul_register reg;
    uint8_t body[UL_MAX_RECORD_BYTES];
    size_t blen;
    memset(&reg, 0, sizeof reg);
    reg.ns = ul_span_str(ns);
    reg.nonce = nonce;
    reg.policy.owners.n = reg.policy.publishers.n = 1;
    reg.policy.owners.threshold = reg.policy.publishers.threshold = 1;
    memcpy(reg.policy.owners.keys[0], ul_key_pubkey(f->owner), UL_PUBKEY_BYTES);
    memcpy(reg.policy.publishers.keys[0], ul_key_pubkey(f->owner), UL_PUBKEY_BYTES);
    reg.policy.n_revokers = 1;
    reg.policy.revokers[0] = ul_span_str("owners");
    assert_int_equal(ul_schema_register_encode(body, sizeof body, &blen, &reg), UL_OK);
    ul_chainfx_tx(t, f->chain_id, UL_TX_REGISTER, body, blen, (const ul_key *const[]){f->owner}, 1,
                  UL_DOMAIN_TX);
}
