/* upledgerd's reach into the world (node-internal): the clock, the peer transport, the peers'
 * query endpoints (block sync), the sign state file and the chain's store. The node's parts
 * call nothing else of the kind, so the same code runs on real sockets, files and LevelDB
 * (node/io.c) or on simulated ones: a simulator passes its own ul_node_io per node. */
#ifndef UL_NODE_IO_H
#define UL_NODE_IO_H

#include <stdbool.h>

#include "node.h"

typedef struct ul_node_io ul_node_io;

struct ul_node_io {
    void *ctx; /* passed to every function: the implementation's state */
    /* Milliseconds since the Unix epoch. */
    uint64_t (*now_ms)(void *ctx);

    /* The peer transport (p2p/peer.c's contract). has_peer: whether there is one at all (a
     * lone node or an observer without a p2p endpoint has none; the others are then not
     * called). */
    bool (*has_peer)(void *ctx);
    ul_err (*peer_allow)(void *ctx, const uint8_t (*keys)[UL_PUBKEY_BYTES], size_t n);
    ul_err (*peer_broadcast)(void *ctx, uint32_t kind, const uint8_t *payload, size_t len);
    ul_err (*peer_send)(void *ctx, uint32_t kind, const uint8_t *payload, size_t len,
                        const uint8_t *attach, size_t alen);
    ul_err (*peer_flush)(void *ctx);
    size_t (*peer_queued)(void *ctx);
    /* The next message; its payload and attachment (has_attach) stay valid until the next
     * call. */
    ul_err (*peer_recv)(void *ctx, uint32_t *kind, uint8_t from32[UL_PUBKEY_BYTES],
                        ul_span *payload, ul_span *attach, bool *has_attach);
    int (*peer_socket)(void *ctx); /* to poll; -1: none */
    void (*peer_stats)(void *ctx, ul_peer_stats *out);

    /* One request to configured peer i's query endpoint (block sync), answered within
     * timeout_ms: *reply's spans point into *buf, released with query_free. Returns UL_OK or
     * the transport's error (UL_E_TIMEOUT, UL_E_NET, UL_E_PROTOCOL: the connection is dropped
     * and reopened on the next call). */
    ul_err (*query)(void *ctx, size_t peer, const ul_msg *req, ul_msg *reply, uint8_t **buf,
                    int timeout_ms);
    void (*query_free)(void *ctx, uint8_t *buf);

    /* The sign state file (ledger/signstate.c's ul_signstate_load / _save / _advance). */
    ul_err (*sign_load)(void *ctx, ul_sign_state *out, const char *path,
                        const uint8_t pubkey[UL_PUBKEY_BYTES]);
    ul_err (*sign_save)(void *ctx, const char *path, const ul_sign_state *st);
    ul_err (*sign_advance)(void *ctx, ul_sign_state *st, const char *path, uint64_t height,
                           uint64_t round, uint64_t step, const uint8_t *lock_hash);

    /* Opens (creating) the chain of genesis in db: the store under it is the node's disk. */
    ul_err (*chain_open)(void *ctx, ul_chain **out, const char *db, const uint8_t *genesis,
                         size_t glen);
};

/* The real world: the system clock, peer (NULL: none; taken in any case, closed by
 * ul_node_io_close) and nanomsg REQ sockets to cfg's peer query endpoints (cfg is copied),
 * the sign state file and LevelDB. Returns: UL_OK; UL_E_NOMEM. */
ul_err ul_node_io_open(ul_node_io **out, ul_peer *peer, const ul_node_cfg *cfg);
/* Closes the peer transport and the query connections. Accepts NULL. */
void ul_node_io_close(ul_node_io *io);

#endif
