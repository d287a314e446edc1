/* p2p/: nanomsg transport and the query endpoint protocol.
 *
 * p2p/transport.c is the only file that includes nanomsg. Messages received here are never
 * larger than UL_MAX_MSG_BYTES (enforced by nanomsg before any decoder sees them); received
 * buffers are released with ul_p2p_free.
 */
#ifndef UL_P2P_H
#define UL_P2P_H

#include <stddef.h>
#include <stdint.h>

#include "../schema/ul_schema.h"

#define UL_P2P_DEFAULT_ENDPOINT "tcp://127.0.0.1:7400"

/* Query-endpoint methods (key 0 of a request). Append only. Arguments and results use keys
 * 1.. as listed in p2p/README.md. */
typedef enum {
    UL_RPC_STATUS = 1,
    UL_RPC_SUBMIT = 2,
    UL_RPC_TX_STATUS = 3,
    UL_RPC_BLOCK = 4,
    UL_RPC_RELEASE = 5,
    UL_RPC_HISTORY = 6,
    UL_RPC_LATEST = 7,
    UL_RPC_BUNDLE = 8, /* (id, height, hw class) -> bundle v2 bytes (ul_chain_bundle) */
    UL_RPC_NAMESPACE = 9,
    UL_RPC_NONCE = 10,
    UL_RPC_GENESIS = 11,
    UL_RPC_CONSISTENCY = 12,
    UL_RPC_RELEASE_AT = 13,
    UL_RPC_RELEASE_STATUS = 14,
    UL_RPC_STATE_PROOF = 15,
    UL_RPC_VALIDATORS = 16,
} ul_rpc_method;

/* A reply (REP) socket bound to endpoint; *sock >= 0 on success. */
ul_err ul_p2p_listen(int *sock, const char *endpoint);
/* A request (REQ) socket connected to endpoint, with send/receive timeouts. */
ul_err ul_p2p_connect(int *sock, const char *endpoint, int timeout_ms);
void ul_p2p_close(int sock);
/* Waits up to timeout_ms (-1: forever) for a message. Returns: UL_OK (readable), UL_E_TIMEOUT,
 * or UL_E_NET (interrupted by a signal, or the socket failed). */
ul_err ul_p2p_wait(int sock, int timeout_ms);
/* Receives one message (nanomsg-owned buffer; release with ul_p2p_free). UL_E_TIMEOUT when none
 * arrived within the socket's timeout. */
ul_err ul_p2p_recv(int sock, uint8_t **msg, size_t *len);
ul_err ul_p2p_send(int sock, const uint8_t *msg, size_t len);
void ul_p2p_free(uint8_t *msg);

/* One request/reply exchange: encodes req, sends it, waits for the reply and decodes it into
 * *reply, whose spans point into *buf (release with ul_p2p_free). Returns the transport error,
 * UL_E_PROTOCOL for a malformed reply, or else the ul_err the node put in the reply. */
ul_err ul_p2p_call(int sock, const ul_msg *req, ul_msg *reply, uint8_t **buf);

#endif
