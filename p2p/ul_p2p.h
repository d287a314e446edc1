/* p2p/: nanomsg transport, the query endpoint protocol and the peer transport between nodes.
 *
 * p2p/transport.c (query endpoint, polling) and p2p/peer.c (signed peer messages) are the only
 * files that include nanomsg. Messages received here are never larger than UL_MAX_MSG_BYTES
 * (enforced by nanomsg before any decoder sees them); received buffers are released with
 * ul_p2p_free.
 */
#ifndef UL_P2P_H
#define UL_P2P_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../ledger/ul_ledger.h"
#include "../schema/ul_schema.h"
#include "ul_query.h"

#define UL_P2P_DEFAULT_ENDPOINT "tcp://127.0.0.1:7400"

/* The query endpoint's methods, keys, builders and readers: p2p/ul_query.h. */

/* A reply (REP) socket bound to endpoint; *sock >= 0 on success. */
ul_err ul_p2p_listen(int *sock, const char *endpoint);
/* A request (REQ) socket connected to endpoint, with send/receive timeouts. */
ul_err ul_p2p_connect(int *sock, const char *endpoint, int timeout_ms);
/* Sets a socket's send and receive timeouts (-1: none). Returns: UL_OK or UL_E_NET. */
ul_err ul_p2p_set_timeout(int sock, int timeout_ms);
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

/* Sockets one ul_p2p_poll call waits on at most. */
#define UL_P2P_POLL_MAX 16

/* Waits until one of the nanomsg sockets has a message to read, or timeout_ms passes.
 * Returns: UL_OK with ready[i] set for each socket that has input; UL_E_TIMEOUT when none did
 *          in time; UL_E_NET when a signal interrupted the wait (the caller re-checks its stop
 *          flag and calls again) or nanomsg failed; UL_E_LIMIT for more than UL_P2P_POLL_MAX.
 * Args:    socks: n nanomsg sockets (a REP query socket, ul_peer_socket, ...); entries of -1 are
 *          ignored (never ready), so a node without a peer socket passes -1 for it.
 *          timeout_ms: -1 waits without end, 0 only looks.
 * Out:     ready: n flags, all written. */
ul_err ul_p2p_poll(const int *socks, size_t n, int timeout_ms, bool *ready);

/* A fixed set of sockets to wait on again and again, each one's receive descriptor looked up
 * once: nn_poll asks nanomsg for it on every call (a lock of the socket each, which its worker
 * thread also takes, and an allocation), and a node's loop waits a few hundred times a second.
 * The sockets must stay open while the set is used. */
typedef struct {
    size_t n;
    int fd[UL_P2P_POLL_MAX]; /* the socket's NN_RCVFD; -1: never ready */
} ul_p2p_pollset;

/* Fills ps for socks (as ul_p2p_poll's; -1 entries are never ready).
 * Returns: UL_OK; UL_E_LIMIT for more than UL_P2P_POLL_MAX; UL_E_NET when nanomsg gives no
 * descriptor for one. */
ul_err ul_p2p_pollset_init(ul_p2p_pollset *ps, const int *socks, size_t n);
/* As ul_p2p_poll, over the first n sockets of ps (n at most ps->n). */
ul_err ul_p2p_pollset_wait(const ul_p2p_pollset *ps, size_t n, int timeout_ms, bool *ready);

/* ---- Peer transport: signed envelopes between nodes (p2p/peer.c) ----------------------------
 *
 * Each node binds one PULL socket (its peer endpoint) and connects one PUSH socket to each peer
 * it names (the other validators of its genesis or config); nanomsg connects, and reconnects,
 * in the background, so a peer that is down simply does not receive. Every message is a
 * ul_envelope (schema/ul_schema.h; kinds ul_peer_kind there) signed with the node's key for
 * the chain id. Sending never blocks: a message a peer's queue (UL_PEER_SNDBUF plus the message
 * in flight) has no room for is dropped and counted; re-sending is the caller's business.
 * Receiving drops and counts malformed, oversized, unsigned or foreign messages and never
 * fails on them. A ul_peer is used by one thread at a time. */

typedef struct {
    uint64_t sent;           /* envelopes handed to nanomsg (one per peer per broadcast) */
    uint64_t send_dropped;   /* envelopes a peer lost: its queue was full */
    uint64_t received;       /* valid envelopes returned by ul_peer_recv */
    uint64_t malformed;      /* not a canonical envelope (garbage, non-canonical CBOR, bad kind) */
    uint64_t oversized;      /* longer than UL_MAX_PEER_ENVELOPE_BYTES or payload over the limit */
    uint64_t bad_sig;        /* signature does not verify (tampered, or signed for another chain) */
    uint64_t unknown_sender; /* from a key ul_peer_allow did not name */
    uint64_t connected;      /* peers sent to with a live connection now (nanomsg's count) */
} ul_peer_stats;

typedef struct ul_peer ul_peer;

/* Opens the peer transport.
 * Returns: UL_OK; UL_E_EXISTS when listen is already bound by someone; UL_E_CONFIG for an
 *          endpoint nanomsg refuses (syntax, unknown transport, unknown local address);
 *          UL_E_LIMIT for more than UL_MAX_PEERS peers; UL_E_ARG for a NULL chain id or peers;
 *          UL_E_NOMEM; UL_E_NET when nanomsg cannot make a socket.
 * Out:     *out: the transport (close with ul_peer_close); NULL on failure.
 * Args:    chain_id32: the chain id every envelope is signed and checked for.
 *          key: signs what this node sends; NULL: receive only (ul_peer_broadcast refuses). Not
 *          copied: it must outlive the transport.
 *          listen: nanomsg endpoint to bind the PULL socket to ("tcp://0.0.0.0:7401",
 *          "ipc:///run/x.sock"); NULL: no receiving (ul_peer_socket is -1).
 *          peers: n_peers endpoints to send to, one PUSH socket each; an endpoint may name the
 *          local address to connect from, as nanomsg allows: "tcp://127.0.0.11;127.0.0.12:7401".
 * No sender is allowed until ul_peer_allow names some. */
ul_err ul_peer_open(ul_peer **out, const uint8_t chain_id32[UL_HASH_BYTES], const ul_key *key,
                    const char *listen, const char *const *peers, size_t n_peers);
/* Closes every socket (unsent messages are dropped) and frees p. NULL is ignored. */
void ul_peer_close(ul_peer *p);

/* Replaces the set of senders whose envelopes are accepted (the node passes its validator set
 * on every set change); envelopes from any other key are dropped and counted unknown_sender.
 * Returns: UL_OK; UL_E_LIMIT for more than UL_MAX_PEERS keys; UL_E_ARG for keys NULL with n > 0.
 * Args:    keys: n x-only public keys (copied; any order, duplicates harmless). */
ul_err ul_peer_allow(ul_peer *p, const uint8_t (*keys)[UL_PUBKEY_BYTES], size_t n);

/* Signs one envelope and appends it to every peer's queue, then flushes (ul_peer_flush); never
 * waits. A peer whose queue is full (UL_PEER_QUEUE_MSGS or UL_PEER_QUEUE_BYTES) loses this
 * message: counted send_dropped, still UL_OK.
 * Returns: UL_OK; UL_E_LIMIT when len > UL_MAX_PEER_PAYLOAD; UL_E_ARG without a key, for a kind
 *          outside 1..UL_PEER_KIND_MAX, or payload NULL with len > 0; UL_E_NOMEM; UL_E_NET when
 *          nanomsg fails otherwise (the socket closed under us).
 * Args:    kind: a ul_peer_kind. payload: len bytes, copied (the caller keeps it). */
ul_err ul_peer_broadcast(ul_peer *p, uint32_t kind, const uint8_t *payload, size_t len);
/* ul_peer_broadcast with an attachment (attach NULL: none): alen bytes sent with the payload
 * but not signed. The payload must bind it by hash; receivers check that (see p2p/README.md).
 * Returns: as ul_peer_broadcast; UL_E_LIMIT when len + alen > UL_MAX_PEER_PAYLOAD; UL_E_ARG for
 *          attach NULL with alen > 0. */
ul_err ul_peer_send(ul_peer *p, uint32_t kind, const uint8_t *payload, size_t len,
                    const uint8_t *attach, size_t alen);
/* Hands queued envelopes to nanomsg, in order per peer, until each peer's connection is busy
 * (or absent: a peer that is down keeps its queue until it is full). Call it often (every turn
 * of the node's loop) while ul_peer_queued is not 0.
 * Returns: UL_OK; UL_E_NET when nanomsg refused a message otherwise (dropped, counted). */
ul_err ul_peer_flush(ul_peer *p);
/* Returns: envelopes waiting in all peers' queues. */
size_t ul_peer_queued(const ul_peer *p);

/* Returns: the nanomsg socket to wait on for input (ul_p2p_poll), or -1 without a listen
 * endpoint. */
int ul_peer_socket(const ul_peer *p);

/* Takes waiting messages, without blocking, until one is a valid envelope: canonical, within
 * the limits, from an allowed sender, its signature good for this chain. The others are
 * dropped and counted (malformed, oversized, unknown_sender, bad_sig, checked in that order).
 * At most UL_PEER_RECV_BATCH messages are examined per call; the rest wait for the next one
 * (the socket stays ready).
 * Returns: UL_OK; UL_E_TIMEOUT when no valid message is waiting (or the batch ran out);
 *          UL_E_NET when nanomsg fails.
 * Out:     kind (a ul_peer_kind), from32 (the sender's key), payload: points into a buffer p
 *          owns, valid until the next ul_peer_recv or ul_peer_close. */
ul_err ul_peer_recv(ul_peer *p, uint32_t *kind, uint8_t from32[UL_PUBKEY_BYTES], ul_span *payload);
/* Returns: whether the message the last ul_peer_recv returned has an attachment; if so, and
 *          attach is not NULL, *attach points into it (same lifetime as the payload). The
 *          attachment is not covered by the signature: check it against the payload. */
bool ul_peer_attachment(const ul_peer *p, ul_span *attach);

/* Out: the counters since ul_peer_open. */
void ul_peer_stats_get(const ul_peer *p, ul_peer_stats *out);

/* ---- Peer claims (p2p/claims.c): what block sync may believe of a peer's head ---- */

/* A peer's claimed head may steer block sync only while the peer serves what it claims: a
 * claimer whose claims start UL_CLAIM_MAX_STRIKES sync passes in a row that gain no verified
 * block is set aside for UL_CLAIM_IGNORE_MS (and counted); a claim not repeated within
 * UL_CLAIM_TTL_MS decays to nothing. Pure: time is an argument; slots are the caller's (a
 * validator's index, a peer endpoint's). */
typedef struct {
    uint64_t height;       /* the claimed head (0: none) */
    uint64_t at_ms;        /* when it was last claimed */
    uint64_t ignore_until; /* claims are set aside until then (ms) */
    uint32_t strikes;      /* sync passes in a row it started that gained nothing */
} ul_claim;

typedef struct {
    ul_claim slot[UL_MAX_PEERS];
    uint64_t set_aside; /* times a claimer was set aside */
} ul_claims;

void ul_claims_init(ul_claims *c);
/* slot (< UL_MAX_PEERS) claims head height at now_ms. A claimer set aside is not heard. */
void ul_claims_hear(ul_claims *c, size_t slot, uint64_t height, uint64_t now_ms);
/* Returns: the head slot's claim may steer sync to now (0: none, decayed or set aside). */
uint64_t ul_claims_get(const ul_claims *c, size_t slot, uint64_t now_ms);
/* Returns: the highest claim that may steer sync now (0: none). */
uint64_t ul_claims_max(const ul_claims *c, uint64_t now_ms);
/* Whether slot's claims are set aside at now_ms. */
bool ul_claims_set_aside(const ul_claims *c, size_t slot, uint64_t now_ms);
/* After a whole sync pass from head `before` to head `after` (verified blocks applied): each
 * claim above `after` takes a strike when the pass gained nothing, and is set aside at the bound;
 * a claim not above `after` is cleared of strikes.
 * Returns: a bit per slot set aside by this call (bit i: slot i). */
uint64_t ul_claims_pass(ul_claims *c, uint64_t before, uint64_t after, uint64_t now_ms);
/* After slot alone was asked for blocks from head `before` and we reached `after`: its claim
 * is judged as by a whole pass (a strike when it served nothing, cleared when reached), so a
 * claimer whose requests time out past the pass's budget is struck all the same.
 * Returns: whether this call set slot aside. */
bool ul_claims_served(ul_claims *c, size_t slot, uint64_t before, uint64_t after, uint64_t now_ms);

#endif
