/* upledgerd's consensus driver, internals shared by its parts (node-internal): the driver's
 * state and the calls between its files — driver.c (the core's actions, heights), send.c and
 * recv.c (peer messages out, in), gossip.c (transactions), sync.c (block sync) and consensus.c
 * (the loop's entry points). All the state lives in ul_cons: nothing static, so a process can
 * run several nodes. */
#ifndef UL_NODE_INTERNAL_H
#define UL_NODE_INTERNAL_H

#include <string.h>

#include "../ledger/ul_bft.h"
#include "held.h"
#include "io.h"
#include "metrics.h"
#include "node.h"
#include "pool.h"
#include "signlog.h"

#define RESEND_MS 250  /* current-round votes go out again this often until decided */
#define MAX_TIMERS 32  /* pending core timeouts (3 kinds x a few rounds) */
#define MAX_UNSIGNED 8 /* votes and proposals whose sign-state write failed, kept to retry */

typedef struct {
    uint32_t kind;
    uint64_t height;
    uint32_t round;
    uint64_t due;
} timer;

typedef struct {
    uint32_t kind;
    uint8_t from[UL_PUBKEY_BYTES];
    uint8_t *payload; /* the payload, then the attachment */
    size_t len, alen;
    bool has_attach;
} future_msg;

struct ul_cons {
    ul_node_cfg cfg;
    const ul_node_io *io;
    bool peer;                         /* io has a peer transport */
    uint64_t sync_retry[UL_MAX_PEERS]; /* when a peer that failed may be asked again */
    ul_claims claims;     /* heads validators announce (by set index): what starts block sync */
    ul_claims rpc_claims; /* heads the peers' query endpoints answer (by peer): where it syncs */
    ul_bft bft;
    ul_bft_actions acts;
    bool started; /* the core runs height chain height + 1 */
    uint64_t last_commit_ms;
    int32_t self;
    ul_valset set; /* the set signing height chain height + 1 */
    uint8_t set_hash[UL_HASH_BYTES];
    ul_bft_rotation rot;
    uint64_t rot_height; /* height rot is for */
    ul_held *held;       /* votes and proposals of the height being decided */
    timer timers[MAX_TIMERS];
    size_t n_timers;
    future_msg future[UL_MAX_FUTURE_MSGS];
    size_t n_future, future_bytes;
    ul_pool *pool;
    uint64_t next_resend, next_status, next_sync, next_gossip;
    uint32_t resends; /* of this height */
    long flush_ms;    /* consensus.c: the next retry of queued peer messages, after this */
    bool want_sync;
    ul_signlog sign; /* a validator's (not an observer's) */
    /* A lone node (no peers) whose key cannot make a quorum: UL_E_QUORUM (too little power) or
     * UL_E_VALIDATOR (not in the set). It makes no blocks and refuses transactions with it. */
    ul_err alone;
    /* Writes failed (a full disk): the store's fault, said once; the decided block whose commit
     * failed (kind 0: none) is committed again once ul_chain_recover succeeds. */
    ul_err stalled;
    uint64_t next_recover;
    ul_bft_action stalled_commit;
    ul_ckpt *ckpt; /* freshness checkpoints (node/checkpoint.c) */
    /* The core's votes and proposals not signed because the sign state could not be written
     * (a full disk): the core counts them as done, so they are acted again once it can. */
    ul_bft_action unsigned_acts[MAX_UNSIGNED];
    size_t n_unsigned;
    uint64_t next_sign_retry;
    ul_metrics *metrics;      /* what /metrics shows (node/metrics.h), sampled every METRICS_MS */
    uint64_t next_metrics;    /* the next sample */
    uint64_t height_start_ms; /* when this height started: its commit latency counts from here */
};

static inline ul_cons *C(const ul_node *n)
{
    return n->cons;
}

static inline uint64_t ul_cons_now(const ul_node *n)
{
    return n->io->now_ms(n->io->ctx);
}

static inline int32_t ul_cons_set_index(const ul_valset *s, const uint8_t pub[UL_PUBKEY_BYTES])
{
    for (size_t i = 0; i < s->n; i++) {
        if (memcmp(s->v[i].pubkey, pub, UL_PUBKEY_BYTES) == 0) {
            return (int32_t)i;
        }
    }
    return -1;
}

static inline uint64_t ul_cons_next_height(const ul_node *n)
{
    return ul_chain_height(n->chain) + 1;
}

/* Whether the pending block is open to new transactions (not sealed, not a peer's proposal). */
static inline bool ul_cons_pending_open(ul_node *n)
{
    return !ul_chain_sealed(n->chain, NULL);
}

static inline void ul_cons_at_most(long *next, uint64_t now, uint64_t due)
{
    /* A due time of "never" (UINT64_MAX: no heartbeat) must not wrap into a negative wait. */
    long d = due > now ? (due - now < (uint64_t)*next ? (long)(due - now) : *next) : 0;
    *next = d < *next ? d : *next;
}

/* ---- driver.c: the core's actions and heights ---- */

/* Clears what the height held: votes, proposals, timers, re-send count; not started. */
void ul_cons_height_reset(ul_cons *s);
/* Feeds the core a proposal of (round, hash, valid round vr) by validator from, judged valid
 * or not, and performs what it asks. */
void ul_cons_feed_proposal(ul_node *n, uint32_t from, uint32_t round,
                           const uint8_t hash[UL_HASH_BYTES], int32_t vr, bool valid);
/* Makes the pending block the block of held proposal p (its last commit first). */
ul_err ul_cons_prepare_prop(ul_node *n, const ul_held_prop *p);
/* The core decided: assemble the commit from the held precommits and commit the block. */
void ul_cons_act_commit(ul_node *n, const ul_bft_action *a);
/* Performs the core's actions; acting may feed the core again (our own proposal), which appends
 * more: taken until none are left. Actions of a height already committed are void. */
void ul_cons_drain(ul_node *n);
/* Acts again, every STALL_RETRY_MS, the votes and proposals whose sign-state write failed. */
void ul_cons_retry_unsigned(ul_node *n, uint64_t now, long *next_ms);
/* Reloads the set signing the next height, our index in it and its proposer rotation. */
ul_err ul_cons_load_set(ul_node *n);
/* Starts the core at the next height (a restarted validator resumes). Returns: whether it
 * started; the caller then replays the messages kept for it (ul_recv_replay_future). */
bool ul_cons_start_height(ul_node *n);
/* A height starts when there is something to commit: pooled txs (after a short batching
 * pause and a gap after the last commit, unless a full block waits), the heartbeat interval,
 * or a peer already working on it. Out: *due, when. */
bool ul_cons_height_due(ul_node *n, uint64_t now, uint64_t *due);
/* Feeds the core the timeouts due at now. */
void ul_cons_expire_timers(ul_node *n, uint64_t now);
/* Re-sends our proposal of the current round and every vote held for the current round and
 * for the valid round (the proof of lock a peer may have lost). */
void ul_cons_resend(ul_node *n);

/* ---- send.c: consensus messages out ---- */

/* Sends m, and attach (NULL: none) outside the signature: m must bind it by hash. */
void ul_cons_send(ul_node *n, uint32_t kind, const ul_msg *m, const ul_span *attach);
/* Sends a held vote to every peer. */
void ul_cons_send_vote(ul_node *n, const ul_held_vote *v);
/* The signature covers the header (which names the txs by their tx root), not the block: a
 * receiver hashes the txs once, for that root, instead of once more for the signature. */
void ul_cons_send_proposal(ul_node *n, const ul_held_prop *p, uint32_t round, int32_t vr);
/* Tells every peer this node's head. */
void ul_cons_send_status(ul_node *n);

/* ---- recv.c: consensus messages in ---- */

/* Handles one peer message of kind from a peer (its key), attach NULL when none came. */
void ul_cons_handle_payload(ul_node *n, uint32_t kind, const uint8_t from[UL_PUBKEY_BYTES],
                            const uint8_t *p, size_t len, const ul_span *attach);
/* Replays what faster peers sent for the height just started before we were in it. */
void ul_recv_replay_future(ul_node *n);

/* ---- gossip.c: transactions ---- */

/* Checks a tx and pools it. A client's tx is executed into the open pending block when every
 * tx pooled before it is there too (so the client hears of a contract refusal at once); any
 * other is checked for its signatures only, and in full when a block takes it. */
ul_err ul_cons_take_tx(ul_node *n, const uint8_t *tx, size_t len, const uint8_t *given_leaf,
                       uint8_t id[UL_HASH_BYTES], bool from_client);
/* Gossiped txs: the signed payload lists their leaf hashes, the attachment carries them. Each
 * must hash to its entry before its signatures are checked; at the first that does not (not
 * what the peer sent), the rest are dropped. */
void ul_gossip_on_txs(ul_node *n, const uint8_t *p, size_t len, const ul_span *attach);
/* Sends the pooled txs not yet sent to every peer, in batches. */
void ul_gossip_send(ul_node *n);

/* ---- sync.c: block sync ---- */

/* One sync pass from now: fetches verified blocks from the peers ahead, within a budget. */
void ul_sync_now(ul_node *n, uint64_t now);
/* Block sync's turn in the loop: syncs when a peer's claim shows we are behind, when we are an
 * observer, or while a node that lost its sign state learns the network's head. Returns: the
 * time after it. */
uint64_t ul_sync_step(ul_node *n, uint64_t now, long *next_ms);

#endif
