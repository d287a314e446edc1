/* Block signature pre-verification on every core. Signature checks are ~70% of applying a block
 * and independent of state, so workers verify them all first; execution then runs in order
 * without repeating them. Txs found in the chain's signature cache are not verified again. */
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

#define MAX_WORKERS 8 /* beyond this the block's txs are too few to share out */

typedef struct {
    ul_chain *c;
    const ul_span *txs;
    ul_txhash *hashes;
    size_t n, first, stride;
    bool leaf_given; /* hashes[i].leaf holds the caller's leaf hash of txs[i] */
    ul_err err;
    size_t err_index;
} worker;

static void *verify_some(void *arg)
{
    worker *w = arg;
    w->err = UL_OK;
    for (size_t i = w->first; i < w->n && w->err == UL_OK; i += w->stride) {
        ul_tx t;
        ul_err e = ul_schema_tx_decode(&t, w->txs[i].ptr, w->txs[i].len);
        ul_domain d = e == UL_OK ? ul_exec_domain(t.kind) : UL_DOMAIN_COUNT_;
        if (e == UL_OK && d == UL_DOMAIN_COUNT_) {
            e = UL_E_TX_KIND;
        }
        if (e == UL_OK) {
            ul_txhash *h = &w->hashes[i];
            if (!w->leaf_given) {
                ul_client_merkle_leaf_hash(h->leaf, w->txs[i].ptr, w->txs[i].len);
            }
            if (t.kind == UL_TX_PUBLISH) {
                ul_client_sha256(h->id, t.body.ptr, t.body.len);
            } else {
                ul_client_sha256(h->id, w->txs[i].ptr, w->txs[i].len);
            }
        }
        bool cached = e == UL_OK && ul_sigcache_has(&w->c->sigcache, w->hashes[i].leaf);
        for (size_t k = 0; e == UL_OK && !cached && k < t.n_sigs; k++) {
            e = ul_sig_verify(t.sigs[k].sig, d, w->c->chain_id, t.body.ptr, t.body.len,
                              t.sigs[k].pubkey);
        }
        if (e != UL_OK) {
            w->err = e;
            w->err_index = i;
        }
    }
    return NULL;
}

static ul_err verify_sigs(ul_chain *c, const ul_span *txs, size_t n, ul_txhash *hashes,
                          bool leaf_given)
{
    long cores = n > 1 ? sysconf(_SC_NPROCESSORS_ONLN) : 1; /* one tx (check_tx): no file read */
    size_t nw = cores < 1 ? 1 : cores > MAX_WORKERS ? MAX_WORKERS : (size_t)cores;
    nw = nw > n ? (n ? n : 1) : nw;
    worker w[MAX_WORKERS];
    pthread_t th[MAX_WORKERS];
    bool started[MAX_WORKERS] = {false};
    for (size_t i = 0; i < nw; i++) {
        w[i] = (worker){.c = c,
                        .txs = txs,
                        .hashes = hashes,
                        .n = n,
                        .first = i,
                        .stride = nw,
                        .leaf_given = leaf_given};
        /* Worker 0 runs on this thread; if a thread cannot start, this thread does its share. */
        started[i] = i > 0 && pthread_create(&th[i], NULL, verify_some, &w[i]) == 0;
    }
    for (size_t i = 0; i < nw; i++) {
        if (!started[i]) {
            verify_some(&w[i]);
        }
    }
    ul_err e = UL_OK;
    size_t first_bad = n;
    for (size_t i = 0; i < nw; i++) {
        if (started[i]) {
            pthread_join(th[i], NULL);
        }
        /* Report the error of the earliest bad tx, so the result does not depend on timing. */
        if (w[i].err != UL_OK && w[i].err_index < first_bad) {
            first_bad = w[i].err_index;
            e = w[i].err;
        }
    }
    /* Only a block that verified whole is cached: a failed worker stopped early, so txs after
     * its failure were not all checked. */
    for (size_t i = 0; e == UL_OK && i < n; i++) {
        ul_sigcache_add(&c->sigcache, hashes[i].leaf);
    }
    return e;
}

ul_err ul_verify_block_sigs(ul_chain *c, const ul_span *txs, size_t n, ul_txhash *hashes)
{
    return verify_sigs(c, txs, n, hashes, false);
}

ul_err ul_verify_sigs_leaf_given(ul_chain *c, const ul_span *txs, size_t n, ul_txhash *hashes)
{
    return verify_sigs(c, txs, n, hashes, true);
}
