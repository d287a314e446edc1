/* Fixtures for the unit tests of the node's parts (node/): a one-validator chain in a fresh
 * directory and signed transactions for it. Every helper fails the running cmocka test on any
 * error. */
#ifndef UL_TESTS_NODEFX_H
#define UL_TESTS_NODEFX_H

#include "chainfx.h"
#include "node/io.h"

#define UL_NODEFX_T0 1767225600000ULL

typedef struct {
    char root[128];
    ul_key *val, *owner; /* the chain's (first) validator; the owner of the namespaces registered */
    ul_key *others[3];   /* ul_nodefx_open_n's other validators */
    size_t n_others;
    ul_chain *chain;
    uint8_t genesis[UL_MAX_VALSET_BYTES + 1024];
    size_t glen;
    uint8_t chain_id[UL_HASH_BYTES];
} ul_nodefx;

/* Out: f, a fresh chain "name" of one validator (power 1) at genesis time UL_NODEFX_T0. */
void ul_nodefx_open(ul_nodefx *f, const char *name);
/* The same with validators val and n_others more (at most 3), power 1 each. */
void ul_nodefx_open_n(ul_nodefx *f, const char *name, size_t n_others);
/* Closes f's chain and keys and removes its directory. */
void ul_nodefx_close(ul_nodefx *f);
/* Out: t, a transaction registering namespace ns, signed by f->owner with nonce (each must be
 * above the last executed), who owns and publishes it: a second one for the same ns conflicts
 * with the first once that executed. */
void ul_nodefx_register(const ul_nodefx *f, ul_chainfx_txbuf *t, const char *ns, uint64_t nonce);
/* Out: t, a transaction publishing release seq (version "1.0.SEQ", hardware class "board-a") in
 * ns, signed by f->owner (its publisher once ul_nodefx_register's tx executed). */
void ul_nodefx_publish(const ul_nodefx *f, ul_chainfx_txbuf *t, const char *ns, uint64_t seq);

/* A ul_node_io for one node in a test: the clock is now (set it), there is no peer transport
 * unless the test sets its functions, queries fail with UL_E_NET unless query is set, and the
 * sign state and chain are the real files, a sign state write failing with sign_fail while it is
 * not UL_OK. */
typedef struct {
    ul_node_io io;
    uint64_t now;
    ul_err sign_fail;
    unsigned sign_writes; /* successful ones */
} ul_nodefx_io;

/* The default query: the peer is down (UL_E_NET). */
ul_err ul_nodefx_io_query_down(void *ctx, size_t peer, const ul_msg *req, ul_msg *reply,
                               uint8_t **buf, int timeout_ms);
/* Gives t a peer transport that takes every peer allowed, has nothing queued and counts
 * nothing; its send, broadcast and recv are the test's to set. */
void ul_nodefx_io_peer(ul_nodefx_io *t);
/* Out: t, the io above at now = UL_NODEFX_T0 (io.ctx = t). */
void ul_nodefx_io_init(ul_nodefx_io *t);

#endif
