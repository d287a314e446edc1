/* upledger consensus core: Tendermint (Buchman, Kwon, Milosevic, "The latest gossip on BFT
 * consensus", 2018, Algorithm 1) as a pure state machine. Events in, actions out; no I/O, no
 * clock, no signatures, no allocation: a node and the simulator drive the very same code. */
#ifndef UL_BFT_H
#define UL_BFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../schema/ul_err.h"
#include "../schema/ul_limits.h"
#include "../schema/ul_schema.h"

/* Rules of this API (written once, as LevelDB's c.h does):
 * - The caller owns every struct; ul_bft_init fills one in place and nothing allocates after.
 * - The caller verifies signatures and decodes messages before feeding them in; the core works
 *   on 32-byte value ids (block hashes) and validator indexes into the height's set.
 * - Each event appends at most UL_BFT_ACTIONS_PER_EVENT actions to a caller-provided
 *   ul_bft_actions. An event refuses with UL_E_BUFFER, before changing any state, when fewer
 *   slots are free, so the caller drains the buffer (performs the actions) and retries.
 * - A nil vote is passed and reported as value == NULL / nil == true.
 * - Returns: UL_OK when the event was taken (or harmlessly ignored: a duplicate, a stale
 *   round), UL_E_ARG for a malformed event (index, type or round out of range), UL_E_HEIGHT
 *   when it is for another height (a higher one tells the caller to block-sync), UL_E_BUFFER
 *   as above. Malformed input from peers is never a crash. */

/* Rounds are capped so that timeouts (base + round * delta) and the proposer computation
 * (round steps of the rotation) stay bounded; a peer claiming a higher round is malformed. */
#define UL_BFT_MAX_ROUND 4096
/* Vote and proposal bookkeeping is kept for this many rounds of the current height: the
 * current round, UL_BFT_FUTURE_ROUNDS above it (early votes of fast peers), the locked and
 * valid rounds (needed by line 28 and 36 proofs) and the most recent past rounds. Messages of
 * older rounds are dropped; higher rounds only feed the round-skip rule (line 55). */
#define UL_BFT_ROUND_SLOTS 12
#define UL_BFT_FUTURE_ROUNDS 2
/* One event triggers at most: evidence, a proposal or propose timeout, a prevote, a prevote
 * timeout, a precommit, a precommit timeout, a commit, and the same again after a round skip. */
#define UL_BFT_ACTIONS_PER_EVENT 16
#define UL_BFT_MAX_ACTIONS 64

_Static_assert(UL_MAX_VALIDATORS <= 64, "commit signers are a 64-bit mask");
_Static_assert(UL_BFT_ROUND_SLOTS >= UL_BFT_FUTURE_ROUNDS + 4, "room for pinned rounds");
_Static_assert(UL_BFT_MAX_ACTIONS >= UL_BFT_ACTIONS_PER_EVENT, "one event fits");

typedef enum {
    UL_BFT_TIMEOUT_PROPOSE = 0,
    UL_BFT_TIMEOUT_PREVOTE = 1,
    UL_BFT_TIMEOUT_PRECOMMIT = 2,
    UL_BFT_TIMEOUT_COUNT_
} ul_bft_timeout_kind;

typedef enum {
    UL_BFT_ACT_PROPOSAL = 1, /* broadcast <PROPOSAL, height, round, value, valid_round>; nil:
                                build a block (getValue), broadcast it, and pass it back in with
                                ul_bft_on_proposal(from = self, valid_round -1) */
    UL_BFT_ACT_VOTE = 2,     /* broadcast <vote_type, height, round, value or nil> */
    UL_BFT_ACT_TIMEOUT = 3,  /* call ul_bft_on_timeout(kind, height, round) after duration_ms */
    UL_BFT_ACT_COMMIT = 4,   /* value decided at height in round; signers hold > 2/3 power */
    UL_BFT_ACT_EVIDENCE = 5  /* validator signed two different votes (or proposals) */
} ul_bft_action_kind;

typedef struct {
    ul_bft_action_kind kind;
    uint64_t height;
    uint32_t round;
    uint32_t vote_type;    /* VOTE, EVIDENCE: UL_VOTE_PREVOTE / PRECOMMIT; 0: a proposal */
    int32_t valid_round;   /* PROPOSAL: -1 or the round of the proof-of-lock */
    uint32_t timeout_kind; /* TIMEOUT: a ul_bft_timeout_kind */
    uint64_t duration_ms;  /* TIMEOUT */
    bool nil;              /* VOTE, EVIDENCE (first value): a nil vote */
    uint8_t value[UL_HASH_BYTES];
    uint64_t signers;   /* COMMIT: bit i set = validator i precommitted value in round */
    uint32_t validator; /* EVIDENCE: the equivocating validator */
    bool nil2;          /* EVIDENCE: the second, conflicting value */
    uint8_t value2[UL_HASH_BYTES];
} ul_bft_action;

typedef struct {
    size_t n;
    ul_bft_action a[UL_BFT_MAX_ACTIONS];
} ul_bft_actions;

/* Timeouts grow per round: timeoutX(r) = base[X] + r * delta[X] (paper, section 3). */
typedef struct {
    uint64_t base_ms[UL_BFT_TIMEOUT_COUNT_];
    uint64_t delta_ms[UL_BFT_TIMEOUT_COUNT_];
} ul_bft_config;

/* Proposer rotation state (CometBFT's proposer priorities). Part of the chain state: the node
 * persists it with each block; ul_bft_rotation_advance by one per height. */
typedef struct {
    size_t n;
    int64_t prio[UL_MAX_VALIDATORS];
} ul_bft_rotation;

/* One validator's vote in one round, as remembered by the core. An equivocator's second value
 * is kept too: it is the evidence, and it counts for that value alone (never twice for one
 * value, never twice in "any" tallies). The paper counts 2f+1 *messages* per value, and its
 * liveness needs this: a peer locked on v through a polka that included an equivocator's vote
 * can only convince others by relaying that vote (simulator seed 487 stalls without it;
 * CometBFT keeps such votes for the same reason). Third and later values are dropped. */
typedef struct {
    uint8_t have;     /* 0 none, 1 voted */
    uint8_t nil;      /* 1 for a nil vote */
    uint8_t reported; /* equivocation seen and reported; nil2 / value2 hold the second vote */
    uint8_t nil2;
    uint8_t value[UL_HASH_BYTES];
    uint8_t value2[UL_HASH_BYTES];
} ul_bft_vote_rec;

/* Everything the core knows about one round of the current height. */
typedef struct {
    int64_t round;                               /* -1: slot free */
    ul_bft_vote_rec votes[2][UL_MAX_VALIDATORS]; /* [0] prevotes, [1] precommits */
    bool has_proposal;
    bool proposal_valid;
    bool proposal_reported;
    int32_t proposal_vr;
    uint8_t proposal[UL_HASH_BYTES];
    bool prevote_timeout_done;   /* line 34 fired */
    bool precommit_timeout_done; /* line 47 fired */
    bool line36_done;            /* line 36 fired */
} ul_bft_round;

typedef enum {
    UL_BFT_STEP_PROPOSE = 0,
    UL_BFT_STEP_PREVOTE = 1,
    UL_BFT_STEP_PRECOMMIT = 2
} ul_bft_step;

/* The state machine. Opaque in spirit: read only through the functions below. */
typedef struct {
    ul_bft_config cfg;
    bool started;
    bool decided;
    uint64_t height;
    int32_t self; /* our index in the set, or -1 for an observer that never votes */
    size_t n;
    uint64_t power[UL_MAX_VALIDATORS];
    uint64_t total;
    ul_bft_rotation rot;              /* priorities at the start of this height */
    bool own_set;                     /* own_value given at start */
    uint8_t own_value[UL_HASH_BYTES]; /* getValue() of the paper, given by the application */
    uint32_t round;
    ul_bft_step step;
    bool locked;
    int32_t locked_round;
    uint8_t locked_value[UL_HASH_BYTES];
    bool valid;
    int32_t valid_round;
    uint8_t valid_value[UL_HASH_BYTES];
    uint32_t proposer_round; /* cache: the proposer of round proposer_round */
    int32_t proposer_idx;
    uint32_t max_round[UL_MAX_VALIDATORS]; /* highest round seen from each, for line 55 */
    ul_bft_round slots[UL_BFT_ROUND_SLOTS];
} ul_bft;

/* Fills *b for use; it takes no input until ul_bft_start.
 * Returns: UL_OK, or UL_E_ARG when a base timeout is zero. */
ul_err ul_bft_init(ul_bft *b, const ul_bft_config *cfg);

/* Starts consensus at height (after the previous height was applied or loaded from the
 * store): StartRound(0) of the paper (line 10) with fresh lock/valid state (line 53).
 * Args: set: the validators of this height; rot: their rotation state at this height;
 * self: our index in set or -1; value32: what we propose when we are the proposer and hold no
 * valid value (getValue(), line 18), or NULL to be asked by a nil UL_BFT_ACT_PROPOSAL when a
 * value is needed (a node builds its block only when it proposes).
 * Returns: UL_OK; UL_E_ARG for an empty or oversized set, bad self or mismatched rotation;
 * UL_E_BUFFER. */
ul_err ul_bft_start(ul_bft *b, ul_bft_actions *out, uint64_t height, const ul_valset *set,
                    const ul_bft_rotation *rot, int32_t self, const uint8_t value32[UL_HASH_BYTES]);

/* Resumes a height after a restart, from what the node persisted before it signed: starts at
 * `round` (one above the last round it signed in, so it never signs twice in a round) and, when
 * it had precommitted a value, locked on it (locked_round < round, locked32) so that it never
 * prevotes another value unless the paper's rules release the lock. The locked value is also
 * the one it proposes (valid round -1: the proof of lock is gone with the restart).
 * Returns: as ul_bft_start; UL_E_ARG for a round above UL_BFT_MAX_ROUND or a bad lock. */
ul_err ul_bft_resume(ul_bft *b, ul_bft_actions *out, uint64_t height, const ul_valset *set,
                     const ul_bft_rotation *rot, int32_t self, uint32_t round, int32_t locked_round,
                     const uint8_t *locked32);

/* A proposal signed by validator `from`. valid: the application's verdict valid(v) on the
 * proposed block (the caller checks it before calling). valid_round: -1 or a round < round. */
ul_err ul_bft_on_proposal(ul_bft *b, ul_bft_actions *out, uint32_t from, uint64_t height,
                          uint32_t round, const uint8_t value32[UL_HASH_BYTES], int32_t valid_round,
                          bool valid);

/* A prevote or precommit signed by validator `from`; value32 == NULL for nil. */
ul_err ul_bft_on_vote(ul_bft *b, ul_bft_actions *out, uint32_t from, uint32_t type, uint64_t height,
                      uint32_t round, const uint8_t *value32);

/* A timeout scheduled by an earlier UL_BFT_ACT_TIMEOUT has expired. */
ul_err ul_bft_on_timeout(ul_bft *b, ul_bft_actions *out, uint32_t kind, uint64_t height,
                         uint32_t round);

/* Returns: the timeout of kind in round: base + round * delta. */
uint64_t ul_bft_timeout_ms(const ul_bft_config *cfg, uint32_t kind, uint32_t round);

/* Returns: the index of the proposer of `round` at the current height. */
uint32_t ul_bft_proposer(ul_bft *b, uint32_t round);

/* Current height and round; decided is true once this height committed (the core then ignores
 * input until the next ul_bft_start). */
uint64_t ul_bft_height(const ul_bft *b);
uint32_t ul_bft_round_now(const ul_bft *b);
bool ul_bft_decided(const ul_bft *b);

/* For gossip: the first (nth 0) or conflicting second (nth 1) vote of type by `from` in round,
 * when the core still keeps it: a node relays the signed originals so that peers which lost
 * them (a proof of lock above all) catch up.
 * Returns: true and *nil / value32 when kept. */
bool ul_bft_vote_get(const ul_bft *b, uint32_t round, uint32_t type, uint32_t from, uint32_t nth,
                     bool *nil, uint8_t value32[UL_HASH_BYTES]);
/* Returns: validRound of the paper (-1 when none): the round whose votes are worth relaying. */
int32_t ul_bft_valid_round(const ul_bft *b);

/* Rotation: zero priorities for a set (its first height). */
ul_err ul_bft_rotation_init(ul_bft_rotation *rot, const ul_valset *set);
/* Advances the rotation `steps` times (CometBFT IncrementProposerPriority); *chosen (may be
 * NULL) receives the last proposer chosen. One step per height. */
void ul_bft_rotation_advance(ul_bft_rotation *rot, const ul_valset *set, uint64_t steps,
                             uint32_t *chosen);

/* Returns: true when the validators in signers hold more than 2/3 of the set's power. */
bool ul_bft_quorum(const ul_valset *set, uint64_t signers);

#endif
