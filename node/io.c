/* upledgerd's real world behind node/io.h: the system clock, the nanomsg peer transport
 * (p2p/peer.c), REQ sockets to the peers' query endpoints, the sign state file and LevelDB.
 * Everything the node's parts do outside memory goes through here. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "io.h"

typedef struct {
    ul_node_io io;
    ul_peer *peer;
    size_t n_peers;
    char peer_rpc[UL_MAX_PEERS][UL_NODE_EP_MAX];
    int sync_sock[UL_MAX_PEERS];
} real_io;

uint64_t ul_node_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void ul_node_log(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ul_nlog_vwrite(UL_LOG_INFO, fmt, ap);
    va_end(ap);
}

void ul_node_logl(ul_nlog_level lv, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ul_nlog_vwrite(lv, fmt, ap);
    va_end(ap);
}

static uint64_t now_ms(void *ctx)
{
    (void)ctx;
    return ul_node_now_ms();
}

static bool has_peer(void *ctx)
{
    return ((real_io *)ctx)->peer != NULL;
}

static ul_err peer_allow(void *ctx, const uint8_t (*keys)[UL_PUBKEY_BYTES], size_t n)
{
    return ul_peer_allow(((real_io *)ctx)->peer, keys, n);
}

static ul_err peer_broadcast(void *ctx, uint32_t kind, const uint8_t *payload, size_t len)
{
    return ul_peer_broadcast(((real_io *)ctx)->peer, kind, payload, len);
}

static ul_err peer_send(void *ctx, uint32_t kind, const uint8_t *payload, size_t len,
                        const uint8_t *attach, size_t alen)
{
    return ul_peer_send(((real_io *)ctx)->peer, kind, payload, len, attach, alen);
}

static ul_err peer_flush(void *ctx)
{
    return ul_peer_flush(((real_io *)ctx)->peer);
}

static size_t peer_queued(void *ctx)
{
    return ul_peer_queued(((real_io *)ctx)->peer);
}

static ul_err peer_recv(void *ctx, uint32_t *kind, uint8_t from32[UL_PUBKEY_BYTES],
                        ul_span *payload, ul_span *attach, bool *has_attach)
{
    real_io *r = ctx;
    ul_err e = ul_peer_recv(r->peer, kind, from32, payload);
    if (e == UL_OK) {
        *has_attach = ul_peer_attachment(r->peer, attach);
    }
    return e;
}

static int peer_socket(void *ctx)
{
    real_io *r = ctx;
    return r->peer ? ul_peer_socket(r->peer) : -1;
}

static void peer_stats(void *ctx, ul_peer_stats *out)
{
    ul_peer_stats_get(((real_io *)ctx)->peer, out);
}

static ul_err query(void *ctx, size_t peer, const ul_msg *req, ul_msg *reply, uint8_t **buf,
                    int timeout_ms)
{
    real_io *r = ctx;
    ul_err e;
    if (peer >= r->n_peers) {
        return UL_E_ARG;
    }
    if (r->sync_sock[peer] < 0 &&
        (e = ul_p2p_connect(&r->sync_sock[peer], r->peer_rpc[peer], timeout_ms)) != UL_OK) {
        return e;
    }
    if ((e = ul_p2p_set_timeout(r->sync_sock[peer], timeout_ms)) == UL_OK) {
        e = ul_p2p_call(r->sync_sock[peer], req, reply, buf);
    }
    if (e == UL_E_TIMEOUT || e == UL_E_NET || e == UL_E_PROTOCOL) {
        ul_p2p_close(r->sync_sock[peer]); /* a REQ socket stuck on a lost reply is reopened */
        r->sync_sock[peer] = -1;
    }
    return e;
}

static void query_free(void *ctx, uint8_t *buf)
{
    (void)ctx;
    ul_p2p_free(buf);
}

static ul_err sign_load(void *ctx, ul_sign_state *out, const char *path,
                        const uint8_t pubkey[UL_PUBKEY_BYTES])
{
    (void)ctx;
    return ul_signstate_load(out, path, pubkey);
}

static ul_err sign_save(void *ctx, const char *path, const ul_sign_state *st)
{
    (void)ctx;
    return ul_signstate_save(path, st);
}

static ul_err sign_advance(void *ctx, ul_sign_state *st, const char *path, uint64_t height,
                           uint64_t round, uint64_t step, const uint8_t *lock_hash)
{
    (void)ctx;
    return ul_signstate_advance(st, path, height, round, step, lock_hash);
}

static ul_err chain_open(void *ctx, ul_chain **out, const char *db, const uint8_t *genesis,
                         size_t glen)
{
    (void)ctx;
    return ul_chain_open(out, db, genesis, glen);
}

ul_err ul_node_io_open(ul_node_io **out, ul_peer *peer, const ul_node_cfg *cfg)
{
    real_io *r = calloc(1, sizeof *r);
    *out = NULL;
    if (!r) {
        ul_peer_close(peer);
        return UL_E_NOMEM;
    }
    r->peer = peer;
    r->n_peers = cfg->n_peers;
    memcpy(r->peer_rpc, cfg->peer_rpc, sizeof r->peer_rpc);
    for (size_t i = 0; i < UL_MAX_PEERS; i++) {
        r->sync_sock[i] = -1;
    }
    r->io = (ul_node_io){.ctx = r,
                         .now_ms = now_ms,
                         .has_peer = has_peer,
                         .peer_allow = peer_allow,
                         .peer_broadcast = peer_broadcast,
                         .peer_send = peer_send,
                         .peer_flush = peer_flush,
                         .peer_queued = peer_queued,
                         .peer_recv = peer_recv,
                         .peer_socket = peer_socket,
                         .peer_stats = peer_stats,
                         .query = query,
                         .query_free = query_free,
                         .sign_load = sign_load,
                         .sign_save = sign_save,
                         .sign_advance = sign_advance,
                         .chain_open = chain_open};
    *out = &r->io;
    return UL_OK;
}

void ul_node_io_close(ul_node_io *io)
{
    real_io *r = io ? io->ctx : NULL;
    if (!r) {
        return;
    }
    for (size_t i = 0; i < UL_MAX_PEERS; i++) {
        if (r->sync_sock[i] >= 0) {
            ul_p2p_close(r->sync_sock[i]);
        }
    }
    ul_peer_close(r->peer);
    free(r);
}
