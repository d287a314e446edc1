/* Reports in: verification in the caller's thread (parallel across the HTTP threads), then a
 * group commit: verified reports queue, and one thread at a time stores everything queued in one
 * transaction (bench_tracker: 16 reports a transaction store ~5x faster than one). A report's
 * answer leaves only after the transaction holding it has committed. */
#include <string.h>

#include "internal.h"

void ul_tracker_state_init(ul_tracker_state *t)
{
    memset(t, 0, sizeof(*t));
    pthread_mutex_init(&t->mu, NULL);
    pthread_mutex_init(&t->read_mu, NULL);
    pthread_mutex_init(&t->q_mu, NULL);
    pthread_cond_init(&t->q_cv, NULL);
}

void ul_tracker_state_destroy(ul_tracker_state *t)
{
    pthread_cond_destroy(&t->q_cv);
    pthread_mutex_destroy(&t->q_mu);
    pthread_mutex_destroy(&t->read_mu);
    pthread_mutex_destroy(&t->mu);
}

/* Stores the queue's first reports (at most UL_MAX_TRACKER_BATCH) in one transaction; called
 * with q_mu held and q_writing set by the caller, returns with q_mu held and their verdicts set. */
static void commit_batch(ul_tracker_state *t)
{
    ul_tpending *batch[UL_MAX_TRACKER_BATCH];
    ul_taccept items[UL_MAX_TRACKER_BATCH];
    size_t n = 0;
    while (t->q_head && n < UL_MAX_TRACKER_BATCH) {
        batch[n] = t->q_head;
        items[n] = t->q_head->it;
        t->q_head = t->q_head->next;
        n++;
    }
    t->q_tail = t->q_head ? t->q_tail : NULL;
    pthread_mutex_unlock(&t->q_mu);
    pthread_mutex_lock(&t->mu);
    ul_tstore_accept_many(t->store, items, n, ul_tracker_now_ms());
    for (size_t i = 0; i < n; i++) {
        t->accepted += items[i].err == UL_OK;
        t->refused += items[i].err != UL_OK;
    }
    pthread_mutex_unlock(&t->mu);
    pthread_mutex_lock(&t->q_mu);
    for (size_t i = 0; i < n; i++) {
        batch[i]->it = items[i];
        batch[i]->done = true;
    }
}

/* Queues p and returns once its batch has committed (this thread may be the one writing it). */
static void store_grouped(ul_tracker_state *t, ul_tpending *p)
{
    pthread_mutex_lock(&t->q_mu);
    if (t->q_tail) {
        t->q_tail->next = p;
    } else {
        t->q_head = p;
    }
    t->q_tail = p;
    while (!p->done) {
        if (t->q_writing) {
            pthread_cond_wait(&t->q_cv, &t->q_mu);
            continue;
        }
        t->q_writing = true;
        commit_batch(t);
        t->q_writing = false;
        pthread_cond_broadcast(&t->q_cv);
    }
    pthread_mutex_unlock(&t->q_mu);
}

ul_err ul_tracker_ingest(ul_tracker_state *t, const uint8_t *body, size_t len, uint8_t *answer,
                         size_t cap, size_t *answer_len)
{
    ul_treport r;
    ul_tpending p = {.it = {.r = &r, .raw = body, .raw_len = len}};
    ul_err e = len > ul_treport_max_bytes() ? UL_E_LIMIT : UL_OK;
    if (e == UL_OK) {
        e = ul_treport_verify(&t->ident, body, len, &r); /* no lock: verification is parallel */
    }
    if (e != UL_OK) {
        pthread_mutex_lock(&t->mu);
        t->refused++;
        pthread_mutex_unlock(&t->mu);
        return e;
    }
    store_grouped(t, &p);
    e = p.it.err;
    return e == UL_OK ? ul_treport_answer(&t->ident, &r, &p.it.advice, answer, cap, answer_len) : e;
}
