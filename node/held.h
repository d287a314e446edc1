/* upledgerd's held votes and proposals (node-internal): what the consensus driver keeps of the
 * height it runs — every vote it accepted (to assemble a commit, re-send, prove equivocation)
 * and the proposals' blocks (to prepare, re-propose and commit) — bounded, freed per height. */
#ifndef UL_NODE_HELD_H
#define UL_NODE_HELD_H

#include "../ledger/ul_ledger.h"

typedef struct {
    uint32_t round, type, idx;
    uint8_t hash[UL_HASH_BYTES]; /* all zero: nil */
    uint64_t time_ms;
    uint8_t vote[UL_MAX_VOTE_BYTES];
    size_t vlen;
    uint8_t sig[UL_SIG_BYTES];
} ul_held_vote;

typedef struct {
    uint32_t round;
    int32_t vr;
    uint8_t hash[UL_HASH_BYTES];
    uint8_t *block, *lc; /* block bytes; the proposer's commit of the previous height or NULL */
    size_t blen, lclen;
} ul_held_prop;

typedef struct {
    ul_held_vote *votes; /* UL_MAX_HELD_VOTES */
    size_t n_votes;
    ul_held_prop props[UL_MAX_HELD_PROPOSALS];
    size_t n_props;
} ul_held;

/* Allocates an empty ul_held in *out (NULL on failure). Returns: UL_OK; UL_E_NOMEM. */
ul_err ul_held_create(ul_held **out);
/* Frees h and what it holds. Accepts NULL. */
void ul_held_destroy(ul_held *h);
/* Lets go of every vote and proposal (a new height). */
void ul_held_clear(ul_held *h);

/* The held vote of (round, type, validator idx) for hash (NULL: for any), or NULL. */
ul_held_vote *ul_held_vote_find(ul_held *h, uint32_t round, uint32_t type, uint32_t idx,
                                const uint8_t *hash);
/* Keeps vote v of validator idx, its bytes[len] and sig (copied). Returns: the held vote; NULL
 * when UL_MAX_HELD_VOTES are held or the bytes are too long. */
ul_held_vote *ul_held_vote_add(ul_held *h, const ul_vote *v, uint32_t idx, const uint8_t *bytes,
                               size_t len, const uint8_t sig[UL_SIG_BYTES]);

/* The held proposal of block hash (NULL: any) in round (< 0: any), or NULL. */
ul_held_prop *ul_held_prop_find(ul_held *h, const uint8_t *hash, int64_t round);
/* Keeps a proposal (copies block and lc). The oldest round goes when all slots are taken.
 * Returns: the held proposal; NULL when out of memory. */
ul_held_prop *ul_held_prop_add(ul_held *h, uint32_t round, int32_t vr,
                               const uint8_t hash[UL_HASH_BYTES], ul_span block, ul_span lc);
/* Lets go of p, a proposal held by mistake. */
void ul_held_prop_drop(ul_held *h, ul_held_prop *p);

#endif
