/* Following the ledger: the tracker asks a node's query endpoint (p2p/ul_query.h) for what the
 * fleet's classification needs — the latest installable release of every (namespace, class) its
 * devices run, and whether each release they run is revoked — and writes the answers to the
 * store, which reclassifies the components they touch. No device takes part. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "../ledger/ul_ledger.h"
#include "../p2p/ul_p2p.h"
#include "../p2p/ul_query.h"
#include "internal.h"

ul_err ul_tnode_open(ul_tnode *n, const char *endpoint, int timeout_ms)
{
    memset(n, 0, sizeof(*n));
    n->timeout_ms = timeout_ms;
    n->sock = -1;
    return ul_p2p_connect(&n->sock, endpoint, timeout_ms);
}

void ul_tnode_close(ul_tnode *n)
{
    if (n->sock >= 0) {
        ul_p2p_close(n->sock);
    }
    n->sock = -1;
}

ul_err ul_tnode_status(ul_tnode *n, uint64_t *height, uint8_t chain_id32[UL_HASH_BYTES])
{
    ul_msg q, r;
    uint8_t *buf = NULL;
    ul_q_status_reply st;
    ul_q_status_req(&q);
    ul_err e = ul_p2p_call(n->sock, &q, &r, &buf);
    if (e == UL_OK && (e = ul_q_status_reply_read(&r, &st)) == UL_OK) {
        *height = st.height;
        memcpy(chain_id32, st.chain_id.ptr, UL_HASH_BYTES);
    }
    ul_p2p_free(buf);
    return e;
}

/* The newest installable release of (ns, hw): *seq 0 when none is (a namespace unknown to the
 * chain included). */
static ul_err node_latest(ul_tnode *n, const char *ns, const char *hw, uint8_t id32[32],
                          uint64_t *seq)
{
    ul_msg q, r;
    uint8_t *buf = NULL;
    ul_q_latest_reply l;
    ul_q_latest_req(&q, (ul_span){(const uint8_t *)ns, strlen(ns)},
                    (ul_span){(const uint8_t *)hw, strlen(hw)});
    ul_err e = ul_p2p_call(n->sock, &q, &r, &buf);
    *seq = 0;
    if (e == UL_OK && (e = ul_q_latest_reply_read(&r, &l)) == UL_OK &&
        l.installable.len >= UL_RPC_INSTALLABLE_ENTRY_BYTES) {
        *seq = ul_be64_get(l.installable.ptr);
        memcpy(id32, l.installable.ptr + 8, UL_HASH_BYTES);
    }
    ul_p2p_free(buf);
    return e == UL_E_NOT_FOUND ? UL_OK : e;
}

/* The height a release was revoked at (0: not revoked, or unknown to the chain). */
static ul_err node_revoked(ul_tnode *n, const uint8_t id32[32], uint64_t *height)
{
    ul_msg q, r;
    uint8_t *buf = NULL;
    ul_q_release_status_reply rs;
    ul_q_release_status_req(&q, id32);
    ul_err e = ul_p2p_call(n->sock, &q, &r, &buf);
    *height = 0;
    if (e == UL_OK && (e = ul_q_release_status_reply_read(&r, &rs)) == UL_OK) {
        *height = rs.revoked_height;
    }
    ul_p2p_free(buf);
    return e == UL_E_NOT_FOUND ? UL_OK : e;
}

/* What the store asks about, copied out so the node is asked without holding the store. */
typedef struct {
    char (*pairs)[2][UL_MAX_LABEL_LEN + 1];
    size_t n_pairs, cap_pairs;
    uint8_t (*ids)[UL_HASH_BYTES];
    size_t n_ids, cap_ids;
} asks;

static ul_err grow(void **p, size_t *cap, size_t n, size_t size)
{
    if (n < *cap) {
        return UL_OK;
    }
    size_t c = *cap ? *cap * 2 : 16;
    void *q = realloc(*p, c * size);
    if (!q) {
        return UL_E_NOMEM;
    }
    *p = q;
    *cap = c;
    return UL_OK;
}

static ul_err add_pair(void *ctx, const char *ns, const char *hw)
{
    asks *a = ctx;
    ul_err e = grow((void **)&a->pairs, &a->cap_pairs, a->n_pairs, sizeof(*a->pairs));
    if (e == UL_OK) {
        snprintf(a->pairs[a->n_pairs][0], UL_MAX_LABEL_LEN + 1, "%s", ns);
        snprintf(a->pairs[a->n_pairs][1], UL_MAX_LABEL_LEN + 1, "%s", hw);
        a->n_pairs++;
    }
    return e;
}

static ul_err add_id(void *ctx, const uint8_t id32[UL_HASH_BYTES])
{
    asks *a = ctx;
    ul_err e = grow((void **)&a->ids, &a->cap_ids, a->n_ids, sizeof(*a->ids));
    if (e == UL_OK) {
        memcpy(a->ids[a->n_ids++], id32, UL_HASH_BYTES);
    }
    return e;
}

static void lock(pthread_mutex_t *mu)
{
    if (mu) {
        pthread_mutex_lock(mu);
    }
}

static void unlock(pthread_mutex_t *mu)
{
    if (mu) {
        pthread_mutex_unlock(mu);
    }
}

/* Asks the node about every pair, then every release, writing each answer as it comes. */
static ul_err poll_asks(ul_tnode *n, ul_tstore *s, pthread_mutex_t *mu, const asks *a,
                        ul_tpoll_stats *out)
{
    ul_err e = UL_OK;
    for (size_t i = 0; e == UL_OK && i < a->n_pairs; i++) {
        uint8_t id[UL_HASH_BYTES];
        uint64_t seq;
        bool changed = false;
        e = node_latest(n, a->pairs[i][0], a->pairs[i][1], id, &seq);
        if (e == UL_OK) {
            lock(mu);
            e = ul_tstore_set_latest(s, a->pairs[i][0], a->pairs[i][1], seq ? id : NULL, seq,
                                     &changed);
            unlock(mu);
            out->latest_changed += changed;
        }
    }
    for (size_t i = 0; e == UL_OK && i < a->n_ids; i++) {
        uint64_t h;
        e = node_revoked(n, a->ids[i], &h);
        if (e == UL_OK && h > 0) {
            lock(mu);
            e = ul_tstore_set_revoked(s, a->ids[i], h);
            unlock(mu);
            out->revoked += e == UL_OK;
        }
    }
    return e;
}

ul_err ul_tnode_poll(ul_tnode *n, ul_tstore *s, pthread_mutex_t *mu, const uint8_t *chain_id32,
                     ul_tpoll_stats *out)
{
    asks a = {0};
    memset(out, 0, sizeof(*out));
    ul_err e = ul_tnode_status(n, &out->height, out->chain_id);
    if (e == UL_OK && chain_id32 && memcmp(chain_id32, out->chain_id, UL_HASH_BYTES) != 0) {
        e = UL_E_CHAIN_ID; /* another chain's releases never classify this fleet */
    }
    if (e == UL_OK) {
        lock(mu);
        e = ul_tstore_each_pair(s, add_pair, &a);
        if (e == UL_OK) {
            e = ul_tstore_each_unrevoked(s, add_id, &a);
        }
        unlock(mu);
    }
    if (e == UL_OK) {
        out->pairs = a.n_pairs;
        out->releases = a.n_ids;
        e = poll_asks(n, s, mu, &a, out);
    }
    free(a.pairs);
    free(a.ids);
    return e;
}
