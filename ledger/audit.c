/* Audit: replay a whole chain from its genesis into a scratch store, re-executing every
 * transaction and re-checking every header and commit. A chain passes only if every block it
 * holds is exactly the block an honest node would have produced from the same transactions.
 * Two stages overlap: a fetcher reads blocks and verifies their signatures on all cores, a few
 * blocks ahead of the applier, which executes them in order. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define AUDIT_PROGRESS_EVERY 16 /* blocks between progress callbacks (callers throttle) */
#define AUDIT_AHEAD 4           /* blocks fetched and verified ahead of the applier */

typedef struct {
    uint8_t *blk, *cm;
    size_t blen, clen;
    ul_txhash *hashes; /* one per tx, computed while verifying */
    ul_err err;        /* UL_E_NOT_FOUND: past the head (end of chain) */
} fetched;

typedef struct {
    ul_chain *c;
    ul_block_source src;
    void *src_arg;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    fetched q[AUDIT_AHEAD];
    size_t head, count; /* ring buffer */
    bool stop;          /* the applier gave up: fetch no more */
} pipeline;

/* Reads block h and verifies its signatures. */
static void fetch_one(pipeline *p, uint64_t h, fetched *f)
{
    ul_block b;
    ul_span *txs = malloc(UL_MAX_BLOCK_TXS * sizeof *txs);
    memset(f, 0, sizeof *f);
    f->err = txs ? p->src(p->src_arg, h, &f->blk, &f->blen, &f->cm, &f->clen) : UL_E_NOMEM;
    if (f->err == UL_OK &&
        (f->err = ul_schema_block_decode(&b, txs, UL_MAX_BLOCK_TXS, f->blk, f->blen)) == UL_OK) {
        f->hashes = malloc((b.n_txs ? b.n_txs : 1) * sizeof *f->hashes);
        f->err = f->hashes ? ul_verify_block_sigs(p->c, b.txs, b.n_txs, f->hashes) : UL_E_NOMEM;
    }
    free(txs);
}

static void *fetcher(void *arg)
{
    pipeline *p = arg;
    for (uint64_t h = 1;; h++) {
        fetched f;
        fetch_one(p, h, &f);
        pthread_mutex_lock(&p->mu);
        while (p->count == AUDIT_AHEAD && !p->stop) {
            pthread_cond_wait(&p->cv, &p->mu);
        }
        bool stop = p->stop;
        if (!stop) {
            p->q[(p->head + p->count++) % AUDIT_AHEAD] = f;
            pthread_cond_broadcast(&p->cv);
        }
        pthread_mutex_unlock(&p->mu);
        if (stop) {
            free(f.blk);
            free(f.cm);
            free(f.hashes);
        }
        if (stop || f.err != UL_OK) {
            return NULL; /* the end of the chain, a failure, or the applier quit */
        }
    }
}

static fetched take(pipeline *p)
{
    pthread_mutex_lock(&p->mu);
    while (p->count == 0) {
        pthread_cond_wait(&p->cv, &p->mu);
    }
    fetched f = p->q[p->head];
    p->head = (p->head + 1) % AUDIT_AHEAD;
    p->count--;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    return f;
}

static void stop_and_drain(pipeline *p, pthread_t th)
{
    pthread_mutex_lock(&p->mu);
    p->stop = true;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    pthread_join(th, NULL);
    for (; p->count > 0; p->count--, p->head = (p->head + 1) % AUDIT_AHEAD) {
        free(p->q[p->head].blk);
        free(p->q[p->head].cm);
        free(p->q[p->head].hashes);
    }
}

/* Applies blocks in order as the fetcher delivers them. */
static ul_err apply_all(pipeline *p, ul_audit_progress progress, void *progress_arg,
                        ul_audit_result *res)
{
    for (uint64_t h = 1;; h++) {
        fetched f = take(p);
        if (f.err == UL_E_NOT_FOUND) {
            return UL_OK; /* past the source's head */
        }
        ul_err e = f.err;
        if (e == UL_OK) {
            e = ul_chain_apply_checked(p->c, f.blk, f.blen, f.cm, f.clen, f.hashes);
        }
        free(f.blk);
        free(f.cm);
        free(f.hashes);
        if (e != UL_OK) {
            res->fail_height = h;
            return e;
        }
        res->height = h;
        if (progress && h % AUDIT_PROGRESS_EVERY == 0) {
            progress(progress_arg, h, ul_chain_log_size(p->c));
        }
    }
}

ul_err ul_audit_run(const uint8_t *genesis, size_t glen, ul_block_source src, void *src_arg,
                    const char *scratch_dir, ul_audit_progress progress, void *progress_arg,
                    ul_audit_result *res)
{
    pipeline p = {.src = src, .src_arg = src_arg};
    pthread_t th;
    ul_memdisk *disk = NULL;
    memset(res, 0, sizeof *res);
    ul_err e =
        scratch_dir ? ul_chain_open(&p.c, scratch_dir, genesis, glen) : ul_memdisk_create(&disk);
    if (e == UL_OK && !scratch_dir) {
        e = ul_chain_open_mem(&p.c, disk, genesis, glen);
    }
    if (e != UL_OK) {
        ul_memdisk_destroy(disk);
        return e;
    }
    p.c->sync = false; /* the scratch store is thrown away; durability buys nothing here */
    pthread_mutex_init(&p.mu, NULL);
    pthread_cond_init(&p.cv, NULL);
    if (pthread_create(&th, NULL, fetcher, &p) != 0) {
        e = UL_E_NOMEM;
    } else {
        e = apply_all(&p, progress, progress_arg, res);
        stop_and_drain(&p, th);
    }
    pthread_cond_destroy(&p.cv);
    pthread_mutex_destroy(&p.mu);
    res->releases = ul_chain_log_size(p.c);
    memcpy(res->head, p.c->head_hash, UL_HASH_BYTES);
    ul_log_root(p.c->log, res->log_root);
    ul_chain_close(p.c);
    ul_memdisk_destroy(disk);
    return e;
}
