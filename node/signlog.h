/* upledgerd's sign log (node-internal): a validator's use of its sign state file
 * (ledger/signstate.c) — whether it may sign a step, recording each signature before it leaves,
 * the floor a node that lost its file waits for, the lock record it re-proposes from, and the
 * one-time move from the chain database's old record. */
#ifndef UL_NODE_SIGNLOG_H
#define UL_NODE_SIGNLOG_H

#include "io.h"

/* What a validator signs, in order at one height and round (ul_sign_step). Before a signature
 * leaves, its (height, round, step) and lock are in the sign state file beside the key, so a
 * restarted node never signs a second, different message (no amnesia equivocation), whatever
 * happened to its database. */
enum {
    UL_SIGNLOG_PROPOSAL = UL_SIGN_PROPOSAL,
    UL_SIGNLOG_PREVOTE = UL_SIGN_PREVOTE,
    UL_SIGNLOG_PRECOMMIT = UL_SIGN_PRECOMMIT
};

typedef struct {
    const ul_node_io *io;
    ul_chain *chain;
    ul_sign_state st;             /* the last signature (mirrors the sign state file) */
    const char *path;             /* that file */
    uint64_t signed_count;        /* signatures since this start (STATUS) */
    uint64_t sync_count, sync_ns; /* sign state writes (each fsynced) and their time (metrics) */
    ul_err fault; /* why the last sign-state write failed; UL_OK once one succeeds */
    char fault_text[sizeof(((ul_node_cfg *)0)->sign_state) + 16]; /* "writing PATH" */
    /* The file was missing while the key exists: this key may have signed up to the network's
     * head + 1, so it signs nothing until it has synced (floor_known) and then only above
     * floor (that head + 1). */
    bool missing, floor_known;
    uint64_t floor;
    /* What the lock record of the last precommit for a block is made from: a copy of the block
     * and its last commit (lock: one malloc'd buffer holding both; NULL: none), kept in memory
     * until this validator signs again at lock_height (a later round: the record is encoded and
     * goes to the database first) or above (the height was decided: dropped), or closes
     * undecided (written). Most heights are decided in their first round, so the record is
     * seldom encoded at all: encoding checks the whole block again, about 1% of a validator's
     * CPU at 1000 releases/s when it was done for every precommit. */
    uint8_t *lock;
    ul_span lock_block, lock_lc;
    uint64_t lock_height;
    uint32_t lock_round;
    uint8_t lock_hash[UL_HASH_BYTES];
    /* Set by the driver for a validator whose own power is a quorum and that has peers: its
     * precommit alone commits the block (a peer, even an observer, may hold that commit), and
     * no other validator can propose the block again after a crash. Its lock record is then
     * written and synced before the precommit leaves, not kept in memory. (Without peers no
     * one can have seen the precommit, and a restart drops a lock it no longer holds.) */
    bool lock_durable;
} ul_signlog;

/* Loads the sign state of key at path into l: the file, or the chain database's old record
 * once (moved into the file), or (neither) refusal to sign until synced with peers (has_peers;
 * a node without any waits for an operator). io, chain and path must outlive l.
 * Returns: UL_OK; a damaged or foreign file's error (said: only its operator can judge it). */
ul_err ul_signlog_open(ul_signlog *l, const ul_node_io *io, ul_chain *chain, const ul_key *key,
                       const char *path, bool has_peers);
/* Allows and records a signature at (height, round, step) after the last one: the sign state
 * file is durable before this returns true. lock_hash (NULL: none) is the block a precommit is
 * for; block (len 0: none; copied, with lc, the last commit it carries) what its lock record
 * for re-proposing is made of (ul_signlog_lock_encode), kept in memory and written to the
 * database (unsynced) before the next signature at the same height, or at ul_signlog_stop:
 * most heights are decided in the round of the precommit, and their lock record, a copy of
 * the whole block, is then never written at all. With lock_durable it is written and synced
 * before this returns instead. False on a store that met damage, or when the copy cannot be
 * kept or the record written. */
bool ul_signlog_may_sign(ul_signlog *l, uint64_t height, uint32_t round, uint32_t step,
                         const uint8_t *lock_hash, ul_span block, ul_span lc);
/* A clean stop: writes the kept lock record when its height is above head (undecided). */
void ul_signlog_stop(ul_signlog *l, uint64_t head);
/* Frees the kept lock record (a crash loses it, as it may lose any unsynced write). */
void ul_signlog_close(ul_signlog *l);
/* Whether a node that lost its sign state still waits to learn the network's head. */
bool ul_signlog_learning(const ul_signlog *l);
/* After a block sync pass: whether some peer answered and whether one is (or may be) still
 * ahead of head. The first pass with an answer and none ahead sets the floor to head + 1. */
void ul_signlog_learn(ul_signlog *l, uint64_t head, bool answered, bool behind);

/* Out: *out (malloc'd) and *len, the lock record of a precommit at (height, round) for the
 * block hash: its bytes and the last commit it carries. Returns: UL_OK; UL_E_NOMEM. */
ul_err ul_signlog_lock_encode(uint8_t **out, size_t *len, uint64_t height, uint32_t round,
                              const uint8_t hash[UL_HASH_BYTES], ul_span block, ul_span lc);
/* The stored lock record, when it is for (height, round, hash): *rec (free it) holds it and
 * *block and *lc point into it. Returns: whether it is there and whole. */
bool ul_signlog_lock_load(ul_chain *chain, uint64_t height, uint32_t round,
                          const uint8_t hash[UL_HASH_BYTES], uint8_t **rec, ul_span *block,
                          ul_span *lc);

#endif
