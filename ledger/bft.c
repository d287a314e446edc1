/* The consensus core: Algorithm 1 of "The latest gossip on BFT consensus" (Buchman, Kwon,
 * Milosevic 2018) as a pure state machine, plus CometBFT's weighted proposer rotation. Comments
 * "line N" cite the line of Algorithm 1 a rule implements. */
#include <assert.h>
#include <string.h>

#include "ul_bft.h"

/* ---- proposer rotation (CometBFT IncrementProposerPriority) ---------------------------------- */

static uint64_t power_sum(const uint64_t *power, size_t n)
{
    uint64_t t = 0;

    for (size_t i = 0; i < n; i++) {
        t += power[i];
    }
    return t;
}

/* One step: rescale so priorities stay within 2 x total, centre on zero, add each power, pick
 * the highest (lowest index on ties: the set is sorted by key) and charge it the total. With
 * total <= 2^60 every priority stays within +-2^62, so int64 never overflows. */
static uint32_t rotation_step(int64_t *prio, const uint64_t *power, size_t n)
{
    int64_t total = (int64_t)power_sum(power, n);
    int64_t lo = prio[0], hi = prio[0];
    __int128 sum = 0;
    uint32_t best = 0;

    for (size_t i = 1; i < n; i++) {
        lo = prio[i] < lo ? prio[i] : lo;
        hi = prio[i] > hi ? prio[i] : hi;
    }
    if ((uint64_t)(hi - lo) > 2 * (uint64_t)total) {
        int64_t ratio =
            (int64_t)(((uint64_t)(hi - lo) + 2 * (uint64_t)total - 1) / (2 * (uint64_t)total));
        for (size_t i = 0; i < n; i++) {
            prio[i] /= ratio;
        }
    }
    for (size_t i = 0; i < n; i++) {
        sum += prio[i];
    }
    for (size_t i = 0; i < n; i++) {
        prio[i] -= (int64_t)(sum / (__int128)n);
        prio[i] += (int64_t)power[i];
        if (prio[i] > prio[best]) {
            best = (uint32_t)i;
        }
    }
    prio[best] -= total;
    return best;
}

ul_err ul_bft_rotation_init(ul_bft_rotation *rot, const ul_valset *set)
{
    if (set->n == 0 || set->n > UL_MAX_VALIDATORS) {
        return UL_E_ARG;
    }
    memset(rot, 0, sizeof(*rot));
    rot->n = set->n;
    return UL_OK;
}

void ul_bft_rotation_advance(ul_bft_rotation *rot, const ul_valset *set, uint64_t steps,
                             uint32_t *chosen)
{
    uint64_t power[UL_MAX_VALIDATORS];
    uint32_t c = 0;

    assert(rot->n == set->n && set->n >= 1 && set->n <= UL_MAX_VALIDATORS);
    for (size_t i = 0; i < set->n; i++) {
        power[i] = set->v[i].power;
    }
    for (uint64_t s = 0; s < steps; s++) {
        c = rotation_step(rot->prio, power, set->n);
    }
    if (chosen != NULL) {
        *chosen = c;
    }
}

bool ul_bft_quorum(const ul_valset *set, uint64_t signers)
{
    uint64_t total = 0, got = 0;

    for (size_t i = 0; i < set->n && i < UL_MAX_VALIDATORS; i++) {
        total += set->v[i].power;
        if (signers & (1ULL << i)) {
            got += set->v[i].power;
        }
    }
    return ul_power_quorum(got, total);
}

/* Round r's proposer is the (r+1)-th step from the height's rotation state, as CometBFT
 * increments a copy of the set by the round. Cached for the current round. */
uint32_t ul_bft_proposer(ul_bft *b, uint32_t round)
{
    int64_t prio[UL_MAX_VALIDATORS];
    uint32_t c = 0;

    assert(b->started && round <= UL_BFT_MAX_ROUND);
    if (b->proposer_idx >= 0 && b->proposer_round == round) {
        return (uint32_t)b->proposer_idx;
    }
    memcpy(prio, b->rot.prio, sizeof(prio));
    for (uint32_t s = 0; s <= round; s++) {
        c = rotation_step(prio, b->power, b->n);
    }
    if (round == b->round) {
        b->proposer_round = round;
        b->proposer_idx = (int32_t)c;
    }
    return c;
}

/* ---- thresholds, slots, tallies ------------------------------------------------------------ */

/* > 2/3 of the power: the paper's 2f+1. */
static bool is_quorum(const ul_bft *b, uint64_t p)
{
    return ul_power_quorum(p, b->total);
}

/* > 1/3 of the power: the paper's f+1, at least one correct validator. */
static bool is_f1(const ul_bft *b, uint64_t p)
{
    return ul_power_over_third(p, b->total);
}

static ul_bft_round *slot_find(ul_bft *b, int64_t round)
{
    for (size_t i = 0; i < UL_BFT_ROUND_SLOTS; i++) {
        if (b->slots[i].round == round) {
            return &b->slots[i];
        }
    }
    return NULL;
}

/* Rounds we must not forget: the current and future ones, and the rounds whose prevotes are
 * our proof of lock and of the valid value (lines 28-29 and 36 refer back to them). */
static bool slot_pinned(const ul_bft *b, int64_t round)
{
    if (round >= (int64_t)b->round || round == b->locked_round || round == b->valid_round) {
        return true;
    }
    /* The valid round named by the current proposal: line 28 waits for its prevotes. */
    for (size_t i = 0; i < UL_BFT_ROUND_SLOTS; i++) {
        const ul_bft_round *s = &b->slots[i];
        if (s->round == (int64_t)b->round) {
            return s->has_proposal && s->proposal_vr == round;
        }
    }
    return false;
}

static void slot_reset(ul_bft_round *s, int64_t round)
{
    memset(s, 0, sizeof(*s));
    s->round = round;
    s->proposal_vr = -1;
}

/* Returns: round's slot, taking a free one or the oldest unpinned one; NULL when round is
 * older than every round we could evict (its messages are no longer useful). */
static ul_bft_round *slot_get(ul_bft *b, uint32_t round)
{
    ul_bft_round *s = slot_find(b, round), *victim = NULL;

    if (s != NULL) {
        return s;
    }
    for (size_t i = 0; i < UL_BFT_ROUND_SLOTS; i++) {
        ul_bft_round *c = &b->slots[i];
        if (c->round < 0) {
            victim = c;
            break;
        }
        if (!slot_pinned(b, c->round) && (victim == NULL || c->round < victim->round)) {
            victim = c;
        }
    }
    if (victim == NULL || (victim->round > (int64_t)round && !slot_pinned(b, round))) {
        return NULL;
    }
    slot_reset(victim, round);
    return victim;
}

/* Power of the votes of type ti in s for value (NULL: nil); any: every vote counts. */
static uint64_t tally(const ul_bft *b, const ul_bft_round *s, int ti, const uint8_t *value,
                      bool any)
{
    uint64_t p = 0;

    for (size_t i = 0; i < b->n; i++) {
        const ul_bft_vote_rec *v = &s->votes[ti][i];
        if (!v->have) {
            continue;
        }
        if (any || (value == NULL && v->nil) ||
            (value != NULL && !v->nil && memcmp(v->value, value, UL_HASH_BYTES) == 0) ||
            (v->reported && value == NULL && v->nil2) ||
            (v->reported && value != NULL && !v->nil2 &&
             memcmp(v->value2, value, UL_HASH_BYTES) == 0)) {
            p += b->power[i];
        }
    }
    return p;
}

/* ---- actions ------------------------------------------------------------------------------ */

static ul_bft_action *emit(ul_bft_actions *out, ul_bft_action_kind kind, uint64_t height,
                           uint32_t round)
{
    ul_bft_action *a;

    /* Events check for UL_BFT_ACTIONS_PER_EVENT free slots before they change anything. */
    assert(out->n < UL_BFT_MAX_ACTIONS);
    a = &out->a[out->n++];
    memset(a, 0, sizeof(*a));
    a->kind = kind;
    a->height = height;
    a->round = round;
    a->valid_round = -1;
    return a;
}

uint64_t ul_bft_timeout_ms(const ul_bft_config *cfg, uint32_t kind, uint32_t round)
{
    assert(kind < UL_BFT_TIMEOUT_COUNT_);
    return cfg->base_ms[kind] + (uint64_t)round * cfg->delta_ms[kind];
}

static void schedule(ul_bft *b, ul_bft_actions *out, uint32_t kind)
{
    ul_bft_action *a = emit(out, UL_BFT_ACT_TIMEOUT, b->height, b->round);

    a->timeout_kind = kind;
    a->duration_ms = ul_bft_timeout_ms(&b->cfg, kind, b->round);
}

/* Records a vote. A second, different vote of one validator for one (round, type) is
 * equivocation: reported once as evidence, and kept for its own value only (see
 * ul_bft_vote_rec); later values are ignored. */
static void record_vote(ul_bft *b, ul_bft_actions *out, uint32_t from, int ti, uint32_t round,
                        const uint8_t *value)
{
    ul_bft_round *s = slot_get(b, round);
    ul_bft_vote_rec *v;
    ul_bft_action *a;

    if (s == NULL) {
        return;
    }
    v = &s->votes[ti][from];
    if (!v->have) {
        v->have = 1;
        v->nil = value == NULL;
        if (value != NULL) {
            memcpy(v->value, value, UL_HASH_BYTES);
        }
        return;
    }
    if ((value == NULL && v->nil) ||
        (value != NULL && !v->nil && memcmp(v->value, value, UL_HASH_BYTES) == 0) || v->reported) {
        return; /* a duplicate, or evidence already given */
    }
    v->reported = 1;
    v->nil2 = value == NULL;
    if (value != NULL) {
        memcpy(v->value2, value, UL_HASH_BYTES);
    }
    a = emit(out, UL_BFT_ACT_EVIDENCE, b->height, round);
    a->vote_type = ti == 0 ? UL_VOTE_PREVOTE : UL_VOTE_PRECOMMIT;
    a->validator = from;
    a->nil = v->nil;
    memcpy(a->value, v->value, UL_HASH_BYTES);
    a->nil2 = value == NULL;
    if (value != NULL) {
        memcpy(a->value2, value, UL_HASH_BYTES);
    }
}

/* broadcast <type, h_p, round_p, value or nil>; our own vote counts like anyone's. */
static void broadcast_vote(ul_bft *b, ul_bft_actions *out, uint32_t type, const uint8_t *value)
{
    ul_bft_action *a;

    if (b->self < 0) {
        return; /* an observer follows the steps but never votes */
    }
    a = emit(out, UL_BFT_ACT_VOTE, b->height, b->round);
    a->vote_type = type;
    a->nil = value == NULL;
    if (value != NULL) {
        memcpy(a->value, value, UL_HASH_BYTES);
    }
    record_vote(b, out, (uint32_t)b->self, type == UL_VOTE_PREVOTE ? 0 : 1, b->round, value);
}

/* StartRound, lines 11-21. */
static void start_round(ul_bft *b, ul_bft_actions *out, uint32_t round)
{
    ul_bft_round *s;
    ul_bft_action *a;

    b->round = round;              /* line 12 */
    b->step = UL_BFT_STEP_PROPOSE; /* line 13 */
    b->proposer_idx = -1;
    s = slot_get(b, round);
    assert(s != NULL); /* the current round is pinned and slots outnumber pinned rounds */
    if (b->self >= 0 && ul_bft_proposer(b, round) == (uint32_t)b->self && !b->valid &&
        !b->own_set) {
        /* getValue() is the caller's: it builds a block, broadcasts it and feeds it back as
         * our own proposal; the timeout covers a build that fails. */
        a = emit(out, UL_BFT_ACT_PROPOSAL, b->height, round);
        a->nil = true;
        a->valid_round = -1;
        schedule(b, out, UL_BFT_TIMEOUT_PROPOSE);
    } else if (b->self >= 0 && ul_bft_proposer(b, round) == (uint32_t)b->self) { /* line 14 */
        const uint8_t *v = b->valid ? b->valid_value : b->own_value;             /* lines 15-18 */
        a = emit(out, UL_BFT_ACT_PROPOSAL, b->height, round);                    /* line 19 */
        memcpy(a->value, v, UL_HASH_BYTES);
        a->valid_round = b->valid ? b->valid_round : -1;
        s->has_proposal = true;
        s->proposal_valid = true;
        s->proposal_vr = a->valid_round;
        memcpy(s->proposal, v, UL_HASH_BYTES);
    } else {
        schedule(b, out, UL_BFT_TIMEOUT_PROPOSE); /* line 21 */
    }
}

/* ---- the upon rules ------------------------------------------------------------------------- */

/* Lines 22-33: prevote for the proposal of this round, or nil. */
static bool rule_prevote(ul_bft *b, ul_bft_actions *out, ul_bft_round *s)
{
    int32_t vr = s->proposal_vr;
    bool ok;

    if (b->step != UL_BFT_STEP_PROPOSE || !s->has_proposal) {
        return false;
    }
    if (vr == -1) { /* line 22 */
        ok = s->proposal_valid &&
             (!b->locked || memcmp(b->locked_value, s->proposal, UL_HASH_BYTES) == 0); /* 23 */
    } else if (vr >= 0 && (uint32_t)vr < b->round) {                                   /* line 28 */
        ul_bft_round *vs = slot_find(b, vr);
        if (vs == NULL || !is_quorum(b, tally(b, vs, 0, s->proposal, false))) {
            return false; /* wait for the proof of lock, or for the propose timeout */
        }
        ok = s->proposal_valid && (b->locked_round <= vr || /* line 29 */
                                   memcmp(b->locked_value, s->proposal, UL_HASH_BYTES) == 0);
    } else {
        return false; /* a valid round >= round is malformed; the timeout moves us on */
    }
    broadcast_vote(b, out, UL_VOTE_PREVOTE, ok ? s->proposal : NULL); /* lines 24/26, 30/32 */
    b->step = UL_BFT_STEP_PREVOTE;                                    /* lines 27, 33 */
    return true;
}

/* Lines 34-46 for the current round. */
static bool rules_prevotes(ul_bft *b, ul_bft_actions *out, ul_bft_round *s)
{
    if (b->step == UL_BFT_STEP_PREVOTE && !s->prevote_timeout_done &&
        is_quorum(b, tally(b, s, 0, NULL, true))) { /* line 34 */
        s->prevote_timeout_done = true;
        schedule(b, out, UL_BFT_TIMEOUT_PREVOTE); /* line 35 */
        return true;
    }
    if (s->has_proposal && s->proposal_valid && b->step >= UL_BFT_STEP_PREVOTE && !s->line36_done &&
        is_quorum(b, tally(b, s, 0, s->proposal, false))) { /* line 36 */
        s->line36_done = true;
        if (b->step == UL_BFT_STEP_PREVOTE) { /* lines 37-41 */
            b->locked = true;
            b->locked_round = (int32_t)b->round;
            memcpy(b->locked_value, s->proposal, UL_HASH_BYTES);
            broadcast_vote(b, out, UL_VOTE_PRECOMMIT, s->proposal);
            b->step = UL_BFT_STEP_PRECOMMIT;
        }
        b->valid = true; /* lines 42-43 */
        b->valid_round = (int32_t)b->round;
        memcpy(b->valid_value, s->proposal, UL_HASH_BYTES);
        return true;
    }
    if (b->step == UL_BFT_STEP_PREVOTE && is_quorum(b, tally(b, s, 0, NULL, false))) { /* 44 */
        broadcast_vote(b, out, UL_VOTE_PRECOMMIT, NULL);                               /* line 45 */
        b->step = UL_BFT_STEP_PRECOMMIT;                                               /* line 46 */
        return true;
    }
    if (!s->precommit_timeout_done && is_quorum(b, tally(b, s, 1, NULL, true))) { /* line 47 */
        s->precommit_timeout_done = true;
        schedule(b, out, UL_BFT_TIMEOUT_PRECOMMIT); /* line 48 */
        return true;
    }
    return false;
}

/* Lines 49-54 in any kept round: a valid proposal with 2f+1 precommits for it decides. The next
 * height starts when the caller has applied the block and calls ul_bft_start (lines 52-54). */
static bool rule_decide(ul_bft *b, ul_bft_actions *out)
{
    for (size_t i = 0; i < UL_BFT_ROUND_SLOTS; i++) {
        ul_bft_round *s = &b->slots[i];
        ul_bft_action *a;

        if (s->round < 0 || !s->has_proposal || !s->proposal_valid || /* line 50 */
            !is_quorum(b, tally(b, s, 1, s->proposal, false))) {
            continue;
        }
        a = emit(out, UL_BFT_ACT_COMMIT, b->height, (uint32_t)s->round);
        memcpy(a->value, s->proposal, UL_HASH_BYTES);
        for (size_t v = 0; v < b->n; v++) {
            const ul_bft_vote_rec *r = &s->votes[1][v];
            if ((r->have && !r->nil && memcmp(r->value, s->proposal, UL_HASH_BYTES) == 0) ||
                (r->reported && !r->nil2 && memcmp(r->value2, s->proposal, UL_HASH_BYTES) == 0)) {
                a->signers |= 1ULL << v;
            }
        }
        b->decided = true; /* line 51 */
        return true;
    }
    return false;
}

/* Line 55: f+1 power seen in rounds above ours. A validator counts at its highest round seen,
 * so we move to the highest round R that more than 1/3 of the power has reached: at least one
 * correct validator is there, and Byzantine ones alone cannot drag us forward. */
static void rule_skip(ul_bft *b, ul_bft_actions *out)
{
    uint32_t best = b->round;

    for (size_t i = 0; i < b->n; i++) {
        uint32_t r = b->max_round[i];
        uint64_t p = 0;
        if (r <= best) {
            continue;
        }
        for (size_t j = 0; j < b->n; j++) {
            p += b->max_round[j] >= r ? b->power[j] : 0;
        }
        if (is_f1(b, p)) {
            best = r;
        }
    }
    if (best > b->round) {
        start_round(b, out, best); /* line 56 */
    }
}

/* Re-evaluates every upon rule until none fires. Each firing advances the step or sets a
 * once-per-round flag, so the loop ends within a few passes; the bound asserts it. */
static void evaluate(ul_bft *b, ul_bft_actions *out)
{
    for (int pass = 0; pass < 16; pass++) {
        ul_bft_round *s;
        if (b->decided || rule_decide(b, out)) {
            return;
        }
        s = slot_find(b, b->round);
        assert(s != NULL);
        if (!rule_prevote(b, out, s) && !rules_prevotes(b, out, s)) {
            return;
        }
    }
    assert(!"upon rules did not settle");
}

/* ---- events ---------------------------------------------------------------------------------- */

ul_err ul_bft_init(ul_bft *b, const ul_bft_config *cfg)
{
    for (int k = 0; k < UL_BFT_TIMEOUT_COUNT_; k++) {
        if (cfg->base_ms[k] == 0) {
            return UL_E_ARG;
        }
    }
    memset(b, 0, sizeof(*b));
    b->cfg = *cfg;
    b->self = -1;
    return UL_OK;
}

/* Lines 52-53 and 10 / 54: a fresh height, nothing locked or valid, then StartRound(round). */
static ul_err begin(ul_bft *b, ul_bft_actions *out, uint64_t height, const ul_valset *set,
                    const ul_bft_rotation *rot, int32_t self, const uint8_t value32[UL_HASH_BYTES])
{
    uint64_t total = 0;

    if (set->n == 0 || set->n > UL_MAX_VALIDATORS || rot->n != set->n || self < -1 ||
        self >= (int32_t)set->n) {
        return UL_E_ARG;
    }
    for (size_t i = 0; i < set->n; i++) {
        if (set->v[i].power == 0 || set->v[i].power > UL_MAX_TOTAL_POWER - total) {
            return UL_E_ARG;
        }
        total += set->v[i].power;
    }
    if (UL_BFT_MAX_ACTIONS - out->n < UL_BFT_ACTIONS_PER_EVENT) {
        return UL_E_BUFFER;
    }
    b->started = true;
    b->decided = false;
    b->height = height;
    b->self = self;
    b->n = set->n;
    b->total = total;
    for (size_t i = 0; i < set->n; i++) {
        b->power[i] = set->v[i].power;
    }
    b->rot = *rot;
    b->own_set = value32 != NULL;
    if (value32 != NULL) {
        memcpy(b->own_value, value32, UL_HASH_BYTES);
    }
    b->locked = b->valid = false;
    b->locked_round = b->valid_round = -1;
    memset(b->max_round, 0, sizeof(b->max_round));
    for (size_t i = 0; i < UL_BFT_ROUND_SLOTS; i++) {
        slot_reset(&b->slots[i], -1);
    }
    return UL_OK;
}

ul_err ul_bft_start(ul_bft *b, ul_bft_actions *out, uint64_t height, const ul_valset *set,
                    const ul_bft_rotation *rot, int32_t self, const uint8_t value32[UL_HASH_BYTES])
{
    ul_err e = begin(b, out, height, set, rot, self, value32);

    if (e != UL_OK) {
        return e;
    }
    start_round(b, out, 0); /* line 10 / 54 */
    evaluate(b, out);
    return UL_OK;
}

ul_err ul_bft_resume(ul_bft *b, ul_bft_actions *out, uint64_t height, const ul_valset *set,
                     const ul_bft_rotation *rot, int32_t self, uint32_t round, int32_t locked_round,
                     const uint8_t *locked32)
{
    ul_err e;

    if (round > UL_BFT_MAX_ROUND ||
        (locked32 != NULL && (locked_round < 0 || (uint32_t)locked_round >= round))) {
        return UL_E_ARG;
    }
    if ((e = begin(b, out, height, set, rot, self, NULL)) != UL_OK) {
        return e;
    }
    if (locked32 != NULL) {
        /* The lock survives the restart (safety); the proof of lock does not, so the value is
         * offered again as a fresh proposal (valid round -1): a peer locked on it prevotes it
         * (line 23), one locked on another value refuses, as the paper requires. */
        b->locked = b->valid = true;
        b->locked_round = locked_round;
        memcpy(b->locked_value, locked32, UL_HASH_BYTES);
        memcpy(b->valid_value, locked32, UL_HASH_BYTES);
    }
    start_round(b, out, round);
    evaluate(b, out);
    return UL_OK;
}

/* Common admission of a message: height, index, round checks and the round-skip rule.
 * Returns: UL_OK when the message should be recorded (in the window of kept rounds). */
static ul_err admit(ul_bft *b, ul_bft_actions *out, uint32_t from, uint64_t height, uint32_t round,
                    bool *keep)
{
    *keep = false;
    if (!b->started) {
        return UL_E_HEIGHT;
    }
    if (from >= b->n || round > UL_BFT_MAX_ROUND) {
        return UL_E_ARG;
    }
    if (height != b->height) {
        return UL_E_HEIGHT;
    }
    if (UL_BFT_MAX_ACTIONS - out->n < UL_BFT_ACTIONS_PER_EVENT) {
        return UL_E_BUFFER;
    }
    if (b->decided) {
        return UL_OK;
    }
    if (round > b->max_round[from]) {
        b->max_round[from] = round;
        rule_skip(b, out);
    }
    *keep = round <= b->round + UL_BFT_FUTURE_ROUNDS;
    return UL_OK;
}

ul_err ul_bft_on_proposal(ul_bft *b, ul_bft_actions *out, uint32_t from, uint64_t height,
                          uint32_t round, const uint8_t value32[UL_HASH_BYTES], int32_t valid_round,
                          bool valid)
{
    bool keep;
    ul_err e = admit(b, out, from, height, round, &keep);
    ul_bft_round *s;

    if (e != UL_OK || !keep) {
        return e;
    }
    if (valid_round < -1 || valid_round >= (int32_t)round) {
        return UL_E_ARG;
    }
    if (ul_bft_proposer(b, round) != from || (s = slot_get(b, round)) == NULL) {
        return UL_OK; /* only proposer(h_p, round) may propose (lines 22, 28, 36, 49) */
    }
    if (!s->has_proposal) {
        s->has_proposal = true;
        s->proposal_valid = valid;
        s->proposal_vr = valid_round;
        memcpy(s->proposal, value32, UL_HASH_BYTES);
    } else if (memcmp(s->proposal, value32, UL_HASH_BYTES) != 0 && !s->proposal_reported &&
               (int32_t)from != b->self) {
        ul_bft_action *a = emit(out, UL_BFT_ACT_EVIDENCE, height, round);
        s->proposal_reported = true; /* two proposals for one round: keep the first */
        a->validator = from;
        memcpy(a->value, s->proposal, UL_HASH_BYTES);
        memcpy(a->value2, value32, UL_HASH_BYTES);
    }
    evaluate(b, out);
    return UL_OK;
}

ul_err ul_bft_on_vote(ul_bft *b, ul_bft_actions *out, uint32_t from, uint32_t type, uint64_t height,
                      uint32_t round, const uint8_t *value32)
{
    bool keep;
    ul_err e;

    if (type != UL_VOTE_PREVOTE && type != UL_VOTE_PRECOMMIT) {
        return UL_E_ARG;
    }
    e = admit(b, out, from, height, round, &keep);
    if (e != UL_OK || !keep) {
        return e;
    }
    record_vote(b, out, from, type == UL_VOTE_PREVOTE ? 0 : 1, round, value32);
    evaluate(b, out);
    return UL_OK;
}

/* OnTimeoutPropose / Prevote / Precommit, lines 57-67. */
ul_err ul_bft_on_timeout(ul_bft *b, ul_bft_actions *out, uint32_t kind, uint64_t height,
                         uint32_t round)
{
    if (kind >= UL_BFT_TIMEOUT_COUNT_) {
        return UL_E_ARG;
    }
    if (!b->started || height != b->height) {
        return UL_E_HEIGHT;
    }
    if (UL_BFT_MAX_ACTIONS - out->n < UL_BFT_ACTIONS_PER_EVENT) {
        return UL_E_BUFFER;
    }
    if (b->decided || round != b->round) {
        return UL_OK; /* lines 58, 62, 66: only the current height and round */
    }
    if (kind == UL_BFT_TIMEOUT_PROPOSE && b->step == UL_BFT_STEP_PROPOSE) {
        broadcast_vote(b, out, UL_VOTE_PREVOTE, NULL); /* line 59 */
        b->step = UL_BFT_STEP_PREVOTE;                 /* line 60 */
    } else if (kind == UL_BFT_TIMEOUT_PREVOTE && b->step == UL_BFT_STEP_PREVOTE) {
        broadcast_vote(b, out, UL_VOTE_PRECOMMIT, NULL); /* line 63 */
        b->step = UL_BFT_STEP_PRECOMMIT;                 /* line 64 */
    } else if (kind == UL_BFT_TIMEOUT_PRECOMMIT && b->round < UL_BFT_MAX_ROUND) {
        start_round(b, out, b->round + 1); /* line 67 */
    }
    evaluate(b, out);
    return UL_OK;
}

bool ul_bft_vote_get(const ul_bft *b, uint32_t round, uint32_t type, uint32_t from, uint32_t nth,
                     bool *nil, uint8_t value32[UL_HASH_BYTES])
{
    for (size_t i = 0; i < UL_BFT_ROUND_SLOTS; i++) {
        const ul_bft_round *s = &b->slots[i];
        const ul_bft_vote_rec *v;
        if (s->round != (int64_t)round || from >= b->n ||
            (type != UL_VOTE_PREVOTE && type != UL_VOTE_PRECOMMIT)) {
            continue;
        }
        v = &s->votes[type == UL_VOTE_PREVOTE ? 0 : 1][from];
        if (!v->have || (nth == 1 && !v->reported) || nth > 1) {
            return false;
        }
        *nil = nth == 0 ? v->nil : v->nil2;
        memcpy(value32, nth == 0 ? v->value : v->value2, UL_HASH_BYTES);
        return true;
    }
    return false;
}

int32_t ul_bft_valid_round(const ul_bft *b)
{
    return b->valid_round;
}

uint64_t ul_bft_height(const ul_bft *b)
{
    return b->height;
}

uint32_t ul_bft_round_now(const ul_bft *b)
{
    return b->round;
}

bool ul_bft_decided(const ul_bft *b)
{
    return b->decided;
}
