/* upledgerd internals: the request handlers, the consensus driver and the node state they
 * share with the loop. */
#ifndef UL_NODE_H
#define UL_NODE_H

#include <stdbool.h>

#include "../ledger/ul_ledger.h"
#include "../p2p/ul_p2p.h"
#include "log.h"

#define UL_NODE_EP_MAX 512 /* bytes of one endpoint string, NUL included */
/* Peer messages, then queries, are each handled for at most this long before the loop moves on
 * (timers, re-sends): a flood of either cannot starve consensus. */
#define UL_NODE_TURN_MS 20

/* How a node takes part: its peers, its role and its timing. */
typedef struct {
    char p2p[UL_NODE_EP_MAX]; /* peer endpoint to bind ("" for an observer or a lone node) */
    size_t n_peers;
    char peer_p2p[UL_MAX_PEERS][UL_NODE_EP_MAX]; /* the other nodes' peer endpoints */
    char peer_rpc[UL_MAX_PEERS][UL_NODE_EP_MAX]; /* and their query endpoints (block sync) */
    bool observer;                               /* follows the chain by block sync; never votes */
    long heartbeat_ms;     /* an empty block after this long without one (0: never) */
    long checkpoint_ms;    /* a validator signs a freshness checkpoint this often (0: never) */
    long round_timeout_ms; /* base propose timeout; the vote timeouts are half of it */
    char sign_state[4200]; /* a validator's sign state file: KEY.sign-state */
} ul_node_cfg;

typedef struct ul_cons ul_cons;
typedef struct ul_node_io ul_node_io; /* node/io.h */

typedef struct {
    const ul_node_io *io; /* the clock, the network and the disk */
    ul_chain *chain;
    ul_key *key; /* NULL for an observer */
    bool verbose;
    ul_cons *cons;
} ul_node;

/* Handles one request message and returns the reply (malloc'd) in *out. Never fails: a request
 * that cannot be served gets a reply carrying the error. */
void ul_node_handle(ul_node *n, const uint8_t *req, size_t len, uint8_t **out, size_t *out_len);
uint64_t ul_node_now_ms(void);
/* Logs one line at info (node/log.h: time, level, text or JSON); ul_node_logl at level lv. */
void ul_node_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void ul_node_logl(ul_nlog_level lv, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- node/consensus.c: Tendermint over the peer transport, the pool and block sync ---- */

/* Starts consensus for n (chain, key and io set): n->io's peer transport, if it has one, was
 * bound before anything was written. Derives the proposer rotation and starts the next height
 * when there is something to commit. */
ul_err ul_cons_open(ul_node *n, const ul_node_cfg *cfg);
void ul_cons_close(ul_node *n);
/* On stop: a lone validator commits what it pooled (it needs nobody's vote). */
void ul_cons_finish(ul_node *n);
/* The peer socket to poll (-1: none). */
int ul_cons_socket(const ul_node *n);
/* Handles the peer messages waiting (a bounded number per call). */
void ul_cons_on_peer(ul_node *n);
/* Does what is due at now: expired timeouts, re-sends, starting a height, transaction gossip,
 * block sync. Out: the milliseconds until something will be due (for the poll). */
void ul_cons_step(ul_node *n, uint64_t now, long *next_ms);
/* Takes a client's transaction: checks it (in full when the pending block is open), pools it
 * and gossips it. Out: its id. UL_E_READ_ONLY for an observer or a node outside the validator set.
 */
ul_err ul_cons_submit(ul_node *n, const uint8_t *tx, size_t len, uint8_t id32[UL_HASH_BYTES]);
/* Where a transaction is: committed at *height, pooled (*height 0) or refused later (its
 * error); UL_E_NOT_FOUND when unknown. */
ul_err ul_cons_tx_status(ul_node *n, const uint8_t id32[UL_HASH_BYTES], uint64_t *height);
/* The node's metrics (node/metrics.h): render with ul_metrics_write, count HTTP requests with
 * ul_metrics_http, from any thread. Valid from ul_cons_open to ul_cons_close; the node thread
 * refreshes them every second and before answering UL_RPC_METRICS. */
struct ul_metrics *ul_node_metrics(const ul_node *n);
/* Copies the node's figures (chain, pool, peers, sync, store, sign state) into its metrics.
 * Node thread only. */
void ul_cons_metrics_sample(ul_node *n);
/* Figures for STATUS: pooled transactions, current round, peer counters. */
void ul_cons_figures(const ul_node *n, uint64_t *pooled, uint64_t *round, ul_peer_stats *peers);
/* The sign state for STATUS. Returns false for a node that does not sign (an observer). Out:
 * last[0..2] the last (height, round, step) signed, last[3] signatures since this start;
 * *refusing UL_OK when it may sign, else why not (UL_E_SIGN_STATE) with *until the height it
 * waits to see committed (0: it waits for an operator). */
bool ul_cons_sign_status(const ul_node *n, uint64_t last[4], ul_err *refusing, uint64_t *until);
/* Why the validator's last sign-state write failed (UL_E_NO_SPACE on a full disk), with text
 * naming the file; UL_OK while writes succeed (or it has not signed). */
ul_err ul_cons_sign_fault(const ul_node *n, const char **text);
/* Block sync for STATUS. Out: the highest head a peer claims that steers block sync now (0:
 * none), and how many times a peer's claims were set aside (it claimed and did not serve). */
void ul_cons_sync_status(const ul_node *n, uint64_t *target, uint64_t *ignored);

/* ---- node/checkpoint.c: freshness checkpoints (docs/protocol.md section 7.4) ---- */

typedef struct ul_ckpt ul_ckpt;

/* A checkpoint collector signing every interval_ms (0: it only collects). Returns UL_E_NOMEM. */
ul_err ul_ckpt_open(ul_ckpt **out, long interval_ms);
void ul_ckpt_close(ul_ckpt *k);
/* What is due at now: with key (a validator of the head's set) and may_sign (not syncing), it
 * signs the current interval for chain c's head and sends it to the peers through io (NULL, or
 * an io without a peer transport: none). Lowers *next_ms to the next interval's start. */
struct ul_node_io;
void ul_ckpt_step(ul_ckpt *k, ul_chain *c, const ul_key *key, const struct ul_node_io *io,
                  bool may_sign, uint64_t now, long *next_ms);
/* A UL_PEER_CHECKPOINT payload from validator `from`: one signature for c's head, kept when it
 * verifies; a quorum for one statement is kept in c (ul_chain_checkpoint_put). */
void ul_ckpt_on_peer(ul_ckpt *k, ul_chain *c, const uint8_t from[UL_PUBKEY_BYTES], const uint8_t *p,
                     size_t len, uint64_t now);
/* Returns: checkpoints kept since the collector opened. */
uint64_t ul_ckpt_made(const ul_ckpt *k);

/* ---- node/init.c: `upledgerd init`, a new node home ---- */

/* `upledgerd init ARGS` (argv[0] is "init"). Returns the exit code: 0, 1 (a failure, nothing
 * kept) or 2 (bad arguments). */
int ul_node_init_main(int argc, char **argv);

#endif
