/* Fixtures for the unit tests of the node's parts: a one-validator chain and register
 * transactions for it (nodefx.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "nodefx.h"

void ul_nodefx_open_n(ul_nodefx *f, const char *name, size_t n_others)
{
    ul_valset vs;
    const ul_key *keys[4];
    const uint64_t power[4] = {1, 1, 1, 1};
    memset(f, 0, sizeof *f);
    ul_chainfx_tmpdir(f->root, sizeof f->root, name);
    f->val = ul_chainfx_key("upledger node test", 1);
    f->owner = ul_chainfx_key("upledger node test", 2);
    keys[0] = f->val;
    assert_true(n_others <= 3);
    for (size_t i = 0; i < n_others; i++) {
        keys[i + 1] = f->others[i] = ul_chainfx_key("upledger node test", 3 + (unsigned)i);
    }
    f->n_others = n_others;
    ul_chainfx_valset(&vs, keys, power, 1 + n_others);
    ul_chainfx_genesis(f->genesis, sizeof f->genesis, &f->glen, f->chain_id, name, UL_NODEFX_T0,
                       &vs);
    f->chain = ul_chainfx_open(f->root, "db", f->genesis, f->glen);
}

void ul_nodefx_open(ul_nodefx *f, const char *name)
{
    ul_nodefx_open_n(f, name, 0);
}

void ul_nodefx_close(ul_nodefx *f)
{
    ul_chain_close(f->chain);
    ul_key_destroy(f->val);
    ul_key_destroy(f->owner);
    for (size_t i = 0; i < f->n_others; i++) {
        ul_key_destroy(f->others[i]);
    }
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

void ul_nodefx_publish(const ul_nodefx *f, ul_chainfx_txbuf *t, const char *ns, uint64_t seq)
{
    ul_release r;
    uint8_t body[UL_MAX_RECORD_BYTES];
    size_t blen;
    char version[32];
    snprintf(version, sizeof version, "1.0.%llu", (unsigned long long)seq);
    memset(&r, 0, sizeof r);
    r.ns = ul_span_str(ns);
    r.provider = ul_span_str("Acme Corp");
    r.time = 1700000000;
    r.version = ul_span_str(version);
    r.seq = seq;
    ul_client_sha256(r.digest, (const uint8_t *)version, strlen(version));
    r.size = 4096;
    r.file = ul_span_str("widget.bin");
    r.n_hw = 1;
    r.hw[0] = ul_span_str("board-a");
    r.kind = UL_KIND_FEATURE;
    assert_int_equal(ul_schema_release_encode(body, sizeof body, &blen, &r), UL_OK);
    ul_chainfx_tx(t, f->chain_id, UL_TX_PUBLISH, body, blen, (const ul_key *const[]){f->owner}, 1,
                  UL_DOMAIN_RELEASE);
}

static uint64_t fx_now(void *ctx)
{
    return ((ul_nodefx_io *)ctx)->now;
}

static bool fx_no_peer(void *ctx)
{
    (void)ctx;
    return false;
}

static int fx_no_socket(void *ctx)
{
    (void)ctx;
    return -1;
}

ul_err ul_nodefx_io_query_down(void *ctx, size_t peer, const ul_msg *req, ul_msg *reply,
                               uint8_t **buf, int timeout_ms)
{
    (void)ctx, (void)peer, (void)req, (void)reply, (void)timeout_ms;
    *buf = NULL;
    return UL_E_NET;
}

static void fx_query_free(void *ctx, uint8_t *buf)
{
    (void)ctx;
    free(buf);
}

static ul_err fx_sign_load(void *ctx, ul_sign_state *out, const char *path,
                           const uint8_t pubkey[UL_PUBKEY_BYTES])
{
    (void)ctx;
    return ul_signstate_load(out, path, pubkey);
}

static ul_err fx_sign_save(void *ctx, const char *path, const ul_sign_state *st)
{
    ul_nodefx_io *t = ctx;
    ul_err e = t->sign_fail ? t->sign_fail : ul_signstate_save(path, st);
    t->sign_writes += e == UL_OK;
    return e;
}

static ul_err fx_sign_advance(void *ctx, ul_sign_state *st, const char *path, uint64_t height,
                              uint64_t round, uint64_t step, const uint8_t *lock_hash)
{
    ul_nodefx_io *t = ctx;
    ul_err e = t->sign_fail ? t->sign_fail
                            : ul_signstate_advance(st, path, height, round, step, lock_hash);
    t->sign_writes += e == UL_OK;
    return e;
}

static ul_err fx_chain_open(void *ctx, ul_chain **out, const char *db, const uint8_t *genesis,
                            size_t glen)
{
    (void)ctx;
    return ul_chain_open(out, db, genesis, glen);
}

void ul_nodefx_io_init(ul_nodefx_io *t)
{
    memset(t, 0, sizeof *t);
    t->now = UL_NODEFX_T0;
    t->io = (ul_node_io){.ctx = t,
                         .now_ms = fx_now,
                         .has_peer = fx_no_peer,
                         .peer_socket = fx_no_socket,
                         .query = ul_nodefx_io_query_down,
                         .query_free = fx_query_free,
                         .sign_load = fx_sign_load,
                         .sign_save = fx_sign_save,
                         .sign_advance = fx_sign_advance,
                         .chain_open = fx_chain_open};
}

static bool fx_peer(void *ctx)
{
    (void)ctx;
    return true;
}

static ul_err fx_allow(void *ctx, const uint8_t (*keys)[UL_PUBKEY_BYTES], size_t n)
{
    (void)ctx, (void)keys, (void)n;
    return UL_OK;
}

static ul_err fx_flush(void *ctx)
{
    (void)ctx;
    return UL_OK;
}

static size_t fx_queued(void *ctx)
{
    (void)ctx;
    return 0;
}

static void fx_stats(void *ctx, ul_peer_stats *out)
{
    (void)ctx;
    memset(out, 0, sizeof *out);
}

void ul_nodefx_io_peer(ul_nodefx_io *t)
{
    t->io.has_peer = fx_peer;
    t->io.peer_allow = fx_allow;
    t->io.peer_flush = fx_flush;
    t->io.peer_queued = fx_queued;
    t->io.peer_stats = fx_stats;
}
