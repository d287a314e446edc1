/* The whole-node simulator's world (tests/sim/world.c): one simulated clock, an in-memory
 * network and query endpoints, memory disks and sign states kept as files would keep them, all
 * behind one ul_node_io per node and all randomness (libsodium's randombytes included) drawn from
 * one seeded stream, so a seed replays exactly. nodesim.c drives it. */
#ifndef UL_SIM_WORLD_H
#define UL_SIM_WORLD_H

#include <stdbool.h>
#include <stdint.h>

#include "ledger/ul_ledger.h"
#include "node/io.h"
#include "node/node.h"

#define SIM_MAXN 8      /* validators (n = 3f+1 <= 7) and one twin */
#define SIM_QMAX 1024   /* messages waiting per node: the transport's queue (UL_PEER_QUEUE_MSGS) */
#define SIM_LOGLINES 40 /* log lines kept for a failing seed's report */

typedef struct {
    uint32_t kind;
    uint8_t from[UL_PUBKEY_BYTES];
    uint8_t *p, *a; /* payload, attachment (NULL: none) */
    size_t len, alen;
    uint64_t at, seq; /* due time, send order */
} sim_msg;

typedef struct sim_world sim_world;

typedef struct {
    sim_world *w;
    size_t i;
    ul_node_io io;
    ul_node node;
    ul_node_cfg cfg;
    ul_memdisk *disk;
    bool up;
    bool byz;      /* a Byzantine validator (or the twin) */
    size_t val;    /* validator index (a twin shares its sibling's) */
    int64_t skew;  /* clock skew, ms */
    uint64_t busy; /* local time while its turn runs: queries cost time */
    uint64_t restart_at, full_until;
    int group; /* partition side */
    sim_msg q[SIM_QMAX];
    size_t nq;
    sim_msg cur;
    ul_sign_state sign; /* the sign state "file": durable once a save returns */
    bool sign_exists;
    size_t peer_node[UL_MAX_PEERS]; /* cfg peer i -> node index */
    uint64_t checked;               /* heights checked so far */
} sim_node;

typedef struct {
    uint32_t drop_pct, dup_pct, delay_max;     /* while faults are on */
    bool claim, withhold, silent, flood, twin; /* the Byzantine validator's behaviours */
} sim_faults;

struct sim_world {
    ul_rng rng;
    uint64_t now, seq;
    size_t n, nn;      /* validators, nodes (n + twin) */
    size_t byz;        /* the first Byzantine validator (twinned); n: none */
    uint32_t byz_mask; /* the Byzantine validators, at most f = (n - 1) / 3 */
    sim_node node[SIM_MAXN];
    ul_key *keys[SIM_MAXN];
    uint8_t genesis[UL_MAX_VALSET_BYTES + 1024];
    size_t glen;
    uint8_t chain_id[UL_HASH_BYTES];
    sim_faults f;
    bool faults_on;
    bool sign_full; /* a full disk refuses sign-state writes too (--sign-full) */
    int verbose;
    size_t cur; /* the node whose code runs (log tag); SIZE_MAX: the simulator */
    char logs[SIM_LOGLINES][260];
    size_t nlogs;
    uint64_t n_msgs, n_drop, n_dup, n_query;
};

/* Seeds libsodium's randombytes from the world's stream: call once before anything uses
 * libsodium; every later draw comes from sim_world_seed's seed. */
void sim_random_install(void);
/* Starts w afresh (memset) for seed: its rng and randombytes reseeded. */
void sim_world_seed(sim_world *w, uint64_t seed);
/* Out: nd->io, node nd's io (ctx nd) on w's clock, network, query endpoints and sign state. */
void sim_io_init(sim_node *nd);
/* Sends kind/payload from node a to every other node (not a's twin) that a reaches. */
void sim_deliver(sim_node *a, uint32_t kind, const uint8_t *p, size_t len, const uint8_t *at,
                 size_t alen);
/* Announces a head of 2^64-1 from node a to every node it reaches (a Byzantine status). */
void sim_claim_max(sim_node *a);
/* Drops every message waiting for nd. */
void sim_queue_clear(sim_node *nd);
/* The local time of nd (its skew included). */
uint64_t sim_node_now(const sim_node *nd);
/* Prints the kept log lines (a failing seed). */
void sim_log_dump(const sim_world *w);

#endif
