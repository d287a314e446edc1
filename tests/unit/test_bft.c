/* Unit tests for ledger/bft.c, the consensus core: commits with one and four validators, the
 * locking rules, round skip, growing timeouts, equivocation evidence, weighted proposer rotation
 * and refusal of malformed events. Messages are fed by hand, so each rule is seen in isolation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ledger/ul_bft.h"

static const ul_bft_config cfg = {{1000, 1000, 1000}, {500, 500, 500}};

static void make_set(ul_valset *set, size_t n, const uint64_t *powers)
{
    memset(set, 0, sizeof(*set));
    set->n = n;
    for (size_t i = 0; i < n; i++) {
        set->v[i].pubkey[0] = (uint8_t)(i + 1);
        set->v[i].power = powers != NULL ? powers[i] : 1;
    }
}

static void value(uint8_t out[UL_HASH_BYTES], uint8_t tag)
{
    memset(out, tag, UL_HASH_BYTES);
}

/* Returns: the index of the first action of kind (and vote type, when not 0), or -1. */
static int find(const ul_bft_actions *a, ul_bft_action_kind kind, uint32_t type)
{
    for (size_t i = 0; i < a->n; i++) {
        if (a->a[i].kind == kind && (type == 0 || a->a[i].vote_type == type)) {
            return (int)i;
        }
    }
    return -1;
}

static void start(ul_bft *b, ul_bft_actions *out, const ul_valset *set, int32_t self, uint8_t tag)
{
    ul_bft_rotation rot;
    uint8_t v[UL_HASH_BYTES];

    value(v, tag);
    assert_int_equal(ul_bft_init(b, &cfg), UL_OK);
    assert_int_equal(ul_bft_rotation_init(&rot, set), UL_OK);
    out->n = 0;
    assert_int_equal(ul_bft_start(b, out, 1, set, &rot, self, v), UL_OK);
}

static void test_single_validator(void **state)
{
    static ul_bft b;
    static ul_bft_actions out;
    ul_valset set;
    uint8_t v[UL_HASH_BYTES];
    int i;

    (void)state;
    make_set(&set, 1, NULL);
    start(&b, &out, &set, 0, 7);
    value(v, 7);
    assert_true(find(&out, UL_BFT_ACT_PROPOSAL, 0) >= 0);
    assert_true(find(&out, UL_BFT_ACT_VOTE, UL_VOTE_PREVOTE) >= 0);
    assert_true(find(&out, UL_BFT_ACT_VOTE, UL_VOTE_PRECOMMIT) >= 0);
    i = find(&out, UL_BFT_ACT_COMMIT, 0);
    assert_true(i >= 0);
    assert_int_equal(out.a[i].round, 0);
    assert_int_equal(out.a[i].height, 1);
    assert_int_equal(out.a[i].signers, 1);
    assert_memory_equal(out.a[i].value, v, UL_HASH_BYTES);
    assert_true(ul_bft_decided(&b));
}

/* Started without a value, the proposer is asked for one (a nil proposal action plus a propose
 * timeout, and no vote); the block it then feeds back as its own proposal decides the height. */
static void test_value_on_demand(void **state)
{
    static ul_bft b;
    static ul_bft_actions out;
    ul_valset set;
    ul_bft_rotation rot;
    uint8_t v[UL_HASH_BYTES];
    int i;

    (void)state;
    make_set(&set, 1, NULL);
    assert_int_equal(ul_bft_init(&b, &cfg), UL_OK);
    assert_int_equal(ul_bft_rotation_init(&rot, &set), UL_OK);
    out.n = 0;
    assert_int_equal(ul_bft_start(&b, &out, 1, &set, &rot, 0, NULL), UL_OK);
    i = find(&out, UL_BFT_ACT_PROPOSAL, 0);
    assert_true(i >= 0);
    assert_true(out.a[i].nil);
    assert_true(find(&out, UL_BFT_ACT_TIMEOUT, 0) >= 0);
    assert_int_equal(find(&out, UL_BFT_ACT_VOTE, 0), -1);
    assert_false(ul_bft_decided(&b));
    value(v, 9);
    out.n = 0;
    assert_int_equal(ul_bft_on_proposal(&b, &out, 0, 1, 0, v, -1, true), UL_OK);
    i = find(&out, UL_BFT_ACT_COMMIT, 0);
    assert_true(i >= 0);
    assert_memory_equal(out.a[i].value, v, UL_HASH_BYTES);

    /* Without the value the timeout moves on: a nil prevote, as for a silent proposer. */
    make_set(&set, 4, NULL);
    assert_int_equal(ul_bft_init(&b, &cfg), UL_OK);
    assert_int_equal(ul_bft_rotation_init(&rot, &set), UL_OK);
    out.n = 0;
    uint32_t self = 0;
    ul_bft_start(&b, &out, 1, &set, &rot, 0, NULL);
    self = ul_bft_proposer(&b, 0);
    assert_int_equal(ul_bft_init(&b, &cfg), UL_OK);
    out.n = 0;
    assert_int_equal(ul_bft_start(&b, &out, 1, &set, &rot, (int32_t)self, NULL), UL_OK);
    i = find(&out, UL_BFT_ACT_PROPOSAL, 0);
    assert_true(i >= 0 && out.a[i].nil);
    out.n = 0;
    assert_int_equal(ul_bft_on_timeout(&b, &out, UL_BFT_TIMEOUT_PROPOSE, 1, 0), UL_OK);
    i = find(&out, UL_BFT_ACT_VOTE, UL_VOTE_PREVOTE);
    assert_true(i >= 0 && out.a[i].nil);
}

/* A validator restarted mid-height resumes one round above its last signature, locked on what
 * it precommitted: as proposer it offers that value again (valid round -1); as a voter it
 * prevotes nil for another value and its locked value when that is proposed. */
static void test_resume_locked(void **state)
{
    static ul_bft b;
    static ul_bft_actions out;
    ul_valset set;
    ul_bft_rotation rot;
    uint8_t x[UL_HASH_BYTES], y[UL_HASH_BYTES];
    uint32_t proposer, voter;
    int i;

    (void)state;
    value(x, 0x58);
    value(y, 0x59);
    make_set(&set, 4, NULL);
    assert_int_equal(ul_bft_init(&b, &cfg), UL_OK);
    assert_int_equal(ul_bft_rotation_init(&rot, &set), UL_OK);
    out.n = 0;
    assert_int_equal(ul_bft_resume(&b, &out, 5, &set, &rot, -1, 2, -1, NULL), UL_OK);
    assert_int_equal(ul_bft_round_now(&b), 2);
    proposer = ul_bft_proposer(&b, 2);
    voter = (proposer + 1) % 4;

    /* Bad arguments: a lock not below the round, a round past the cap. */
    assert_int_equal(ul_bft_resume(&b, &out, 5, &set, &rot, 0, 2, 2, x), UL_E_ARG);
    assert_int_equal(ul_bft_resume(&b, &out, 5, &set, &rot, 0, UL_BFT_MAX_ROUND + 1, -1, NULL),
                     UL_E_ARG);

    out.n = 0;
    assert_int_equal(ul_bft_resume(&b, &out, 5, &set, &rot, (int32_t)proposer, 2, 1, x), UL_OK);
    i = find(&out, UL_BFT_ACT_PROPOSAL, 0);
    assert_true(i >= 0);
    assert_false(out.a[i].nil);
    assert_int_equal(out.a[i].round, 2);
    assert_int_equal(out.a[i].valid_round, -1);
    assert_memory_equal(out.a[i].value, x, UL_HASH_BYTES);

    out.n = 0;
    assert_int_equal(ul_bft_resume(&b, &out, 5, &set, &rot, (int32_t)voter, 2, 1, x), UL_OK);
    assert_int_equal(ul_bft_on_proposal(&b, &out, proposer, 5, 2, y, -1, true), UL_OK);
    i = find(&out, UL_BFT_ACT_VOTE, UL_VOTE_PREVOTE);
    assert_true(i >= 0);
    assert_true(out.a[i].nil); /* locked on x: y gets nil */

    out.n = 0;
    assert_int_equal(ul_bft_resume(&b, &out, 5, &set, &rot, (int32_t)voter, 2, 1, x), UL_OK);
    assert_int_equal(ul_bft_on_proposal(&b, &out, proposer, 5, 2, x, -1, true), UL_OK);
    i = find(&out, UL_BFT_ACT_VOTE, UL_VOTE_PREVOTE);
    assert_true(i >= 0);
    assert_false(out.a[i].nil);
    assert_memory_equal(out.a[i].value, x, UL_HASH_BYTES);
}

/* Four nodes, every message delivered to every other node in order until the network is quiet. */
static void test_four_happy_path(void **state)
{
    static ul_bft b[4];
    static ul_bft_actions out[4], in;
    uint8_t first[UL_HASH_BYTES];
    ul_valset set;
    int commits = 0;

    (void)state;
    make_set(&set, 4, NULL);
    for (int i = 0; i < 4; i++) {
        start(&b[i], &out[i], &set, i, (uint8_t)(10 + i));
    }
    for (int pass = 0; pass < 20; pass++) {
        for (int s = 0; s < 4; s++) {
            in = out[s];
            out[s].n = 0;
            for (size_t k = 0; k < in.n; k++) {
                const ul_bft_action *a = &in.a[k];
                for (int d = 0; d < 4; d++) {
                    if (d == s) {
                        continue;
                    }
                    if (a->kind == UL_BFT_ACT_PROPOSAL) {
                        ul_bft_on_proposal(&b[d], &out[d], (uint32_t)s, a->height, a->round,
                                           a->value, a->valid_round, true);
                    } else if (a->kind == UL_BFT_ACT_VOTE) {
                        ul_bft_on_vote(&b[d], &out[d], (uint32_t)s, a->vote_type, a->height,
                                       a->round, a->nil ? NULL : a->value);
                    }
                }
                if (a->kind == UL_BFT_ACT_COMMIT) {
                    assert_int_equal(a->round, 0);
                    assert_true(ul_bft_quorum(&set, a->signers));
                    if (commits++ == 0) {
                        memcpy(first, a->value, UL_HASH_BYTES);
                    }
                    assert_memory_equal(first, a->value, UL_HASH_BYTES);
                }
            }
        }
    }
    assert_int_equal(commits, 4);
}

/* X (index 3) is never the proposer of rounds 0-2 with four equal validators. */
static void test_locking(void **state)
{
    static ul_bft b;
    static ul_bft_actions out;
    ul_valset set;
    uint8_t v[UL_HASH_BYTES], w[UL_HASH_BYTES];
    uint32_t p[3];
    int i;

    (void)state;
    make_set(&set, 4, NULL);
    start(&b, &out, &set, 3, 3);
    value(v, 0xaa);
    value(w, 0xbb);
    for (uint32_t r = 0; r < 3; r++) {
        p[r] = ul_bft_proposer(&b, r);
        assert_int_not_equal(p[r], 3);
    }
    /* Round 0: v gets 2f+1 prevotes, so X locks on v and precommits it (lines 36-41). */
    out.n = 0;
    assert_int_equal(ul_bft_on_proposal(&b, &out, p[0], 1, 0, v, -1, true), UL_OK);
    i = find(&out, UL_BFT_ACT_VOTE, UL_VOTE_PREVOTE);
    assert_true(i >= 0 && !out.a[i].nil);
    for (uint32_t from = 0; from < 2; from++) {
        ul_bft_on_vote(&b, &out, from, UL_VOTE_PREVOTE, 1, 0, v);
    }
    i = find(&out, UL_BFT_ACT_VOTE, UL_VOTE_PRECOMMIT);
    assert_true(i >= 0 && !out.a[i].nil);
    assert_memory_equal(out.a[i].value, v, UL_HASH_BYTES);
    /* Round 1: a fresh proposal of w (valid round -1): locked on v, X prevotes nil (line 23). */
    out.n = 0;
    assert_int_equal(ul_bft_on_timeout(&b, &out, UL_BFT_TIMEOUT_PRECOMMIT, 1, 0), UL_OK);
    assert_int_equal(ul_bft_round_now(&b), 1);
    out.n = 0;
    ul_bft_on_proposal(&b, &out, p[1], 1, 1, w, -1, true);
    i = find(&out, UL_BFT_ACT_VOTE, UL_VOTE_PREVOTE);
    assert_true(i >= 0 && out.a[i].nil);
    /* Round 2: w again with valid round 1, but no proof yet: X waits (line 28). */
    ul_bft_on_timeout(&b, &out, UL_BFT_TIMEOUT_PRECOMMIT, 1, 1);
    out.n = 0;
    ul_bft_on_proposal(&b, &out, p[2], 1, 2, w, 1, true);
    assert_int_equal(find(&out, UL_BFT_ACT_VOTE, UL_VOTE_PREVOTE), -1);
    /* 2f+1 prevotes for w in round 1 >= locked round 0: X now prevotes w (lines 28-30). */
    for (uint32_t from = 0; from < 3; from++) {
        ul_bft_on_vote(&b, &out, from, UL_VOTE_PREVOTE, 1, 1, w);
    }
    i = find(&out, UL_BFT_ACT_VOTE, UL_VOTE_PREVOTE);
    assert_true(i >= 0 && !out.a[i].nil);
    assert_memory_equal(out.a[i].value, w, UL_HASH_BYTES);
}

/* A proof of lock from a round older than the lock does not unlock (line 29). */
static void test_lock_not_released_by_older_round(void **state)
{
    static ul_bft b;
    static ul_bft_actions out;
    ul_valset set;
    uint8_t v[UL_HASH_BYTES], w[UL_HASH_BYTES];
    int i;

    (void)state;
    make_set(&set, 4, NULL);
    start(&b, &out, &set, 3, 3);
    value(v, 0xaa);
    value(w, 0xbb);
    /* Round 0: 2f+1 prevotes for w, but X never saw the proposal, so it is not locked on w. */
    for (uint32_t from = 0; from < 3; from++) {
        ul_bft_on_vote(&b, &out, from, UL_VOTE_PREVOTE, 1, 0, w);
    }
    ul_bft_on_timeout(&b, &out, UL_BFT_TIMEOUT_PRECOMMIT, 1, 0);
    /* Round 1: lock on v. */
    ul_bft_on_proposal(&b, &out, ul_bft_proposer(&b, 1), 1, 1, v, -1, true);
    for (uint32_t from = 0; from < 2; from++) {
        ul_bft_on_vote(&b, &out, from, UL_VOTE_PREVOTE, 1, 1, v);
    }
    assert_int_equal(b.locked_round, 1);
    ul_bft_on_timeout(&b, &out, UL_BFT_TIMEOUT_PRECOMMIT, 1, 1);
    /* Round 2: w with valid round 0 < locked round 1: prevote nil. */
    out.n = 0;
    ul_bft_on_proposal(&b, &out, ul_bft_proposer(&b, 2), 1, 2, w, 0, true);
    i = find(&out, UL_BFT_ACT_VOTE, UL_VOTE_PREVOTE);
    assert_true(i >= 0 && out.a[i].nil);
}

static void test_round_skip(void **state)
{
    static ul_bft b;
    static ul_bft_actions out;
    ul_valset set;
    uint8_t v[UL_HASH_BYTES];

    (void)state;
    make_set(&set, 4, NULL);
    start(&b, &out, &set, 3, 3);
    value(v, 0xcc);
    out.n = 0;
    /* f = 1 validator in round 5 is not enough: it may be the Byzantine one. */
    ul_bft_on_vote(&b, &out, 0, UL_VOTE_PREVOTE, 1, 5, v);
    assert_int_equal(ul_bft_round_now(&b), 0);
    /* f+1 (line 55): move to round 5. */
    ul_bft_on_vote(&b, &out, 1, UL_VOTE_PRECOMMIT, 1, 5, NULL);
    assert_int_equal(ul_bft_round_now(&b), 5);
    assert_true(find(&out, UL_BFT_ACT_TIMEOUT, 0) >= 0 || find(&out, UL_BFT_ACT_PROPOSAL, 0) >= 0);
}

static void test_timeouts_grow(void **state)
{
    static ul_bft b;
    static ul_bft_actions out;
    ul_valset set;
    int i;

    (void)state;
    make_set(&set, 4, NULL);
    start(&b, &out, &set, 3, 3);
    i = find(&out, UL_BFT_ACT_TIMEOUT, 0);
    assert_true(i >= 0);
    assert_int_equal(out.a[i].timeout_kind, UL_BFT_TIMEOUT_PROPOSE);
    assert_int_equal(out.a[i].duration_ms, 1000);
    for (uint32_t r = 0; r < 3; r++) {
        out.n = 0;
        ul_bft_on_timeout(&b, &out, UL_BFT_TIMEOUT_PRECOMMIT, 1, r);
    }
    assert_int_equal(ul_bft_round_now(&b), 3);
    for (size_t k = 0; k < out.n; k++) {
        if (out.a[k].kind == UL_BFT_ACT_TIMEOUT) {
            assert_int_equal(out.a[k].duration_ms, 1000 + 3 * 500);
        }
    }
    assert_true(ul_bft_timeout_ms(&cfg, UL_BFT_TIMEOUT_PREVOTE, 10) >
                ul_bft_timeout_ms(&cfg, UL_BFT_TIMEOUT_PREVOTE, 9));
    /* A stale timeout (old round) does nothing. */
    out.n = 0;
    assert_int_equal(ul_bft_on_timeout(&b, &out, UL_BFT_TIMEOUT_PRECOMMIT, 1, 1), UL_OK);
    assert_int_equal(out.n, 0);
    assert_int_equal(ul_bft_round_now(&b), 3);
}

static void test_equivocation(void **state)
{
    static ul_bft b;
    static ul_bft_actions out;
    ul_valset set;
    uint8_t v[UL_HASH_BYTES], w[UL_HASH_BYTES];
    uint32_t p;
    int i;

    (void)state;
    make_set(&set, 4, NULL);
    start(&b, &out, &set, 3, 3);
    value(v, 0xaa);
    value(w, 0xbb);
    p = ul_bft_proposer(&b, 0);
    assert_int_not_equal(p, 1);
    out.n = 0;
    ul_bft_on_vote(&b, &out, 1, UL_VOTE_PRECOMMIT, 1, 0, w);
    ul_bft_on_vote(&b, &out, 1, UL_VOTE_PRECOMMIT, 1, 0, w); /* duplicate: silent */
    assert_int_equal(out.n, 0);
    ul_bft_on_vote(&b, &out, 1, UL_VOTE_PRECOMMIT, 1, 0, v);
    i = find(&out, UL_BFT_ACT_EVIDENCE, 0);
    assert_true(i >= 0);
    assert_int_equal(out.a[i].validator, 1);
    assert_int_equal(out.a[i].vote_type, UL_VOTE_PRECOMMIT);
    assert_memory_equal(out.a[i].value, w, UL_HASH_BYTES);
    assert_memory_equal(out.a[i].value2, v, UL_HASH_BYTES);
    out.n = 0;
    ul_bft_on_vote(&b, &out, 1, UL_VOTE_PRECOMMIT, 1, 0, NULL); /* reported once only */
    assert_int_equal(find(&out, UL_BFT_ACT_EVIDENCE, 0), -1);
    /* The second vote counts for its own value only (the paper counts messages per value, and
     * liveness needs a relayed proof of lock to count): X and 2 and 1's v are 2f+1. */
    ul_bft_on_proposal(&b, &out, p, 1, 0, v, -1, true);
    for (uint32_t from = 0; from < 3; from++) {
        if (from != 1) {
            ul_bft_on_vote(&b, &out, from, UL_VOTE_PREVOTE, 1, 0, v);
        }
    }
    i = find(&out, UL_BFT_ACT_VOTE, UL_VOTE_PRECOMMIT);
    assert_true(i >= 0 && !out.a[i].nil);
    assert_int_equal(find(&out, UL_BFT_ACT_COMMIT, 0), -1);
    ul_bft_on_vote(&b, &out, 2, UL_VOTE_PRECOMMIT, 1, 0, v);
    i = find(&out, UL_BFT_ACT_COMMIT, 0);
    assert_true(i >= 0);
    assert_int_equal(out.a[i].signers, (1u << 1) | (1u << 2) | (1u << 3));
    assert_true(ul_bft_quorum(&set, out.a[i].signers));
}

/* A third value from an equivocator is neither reported again nor counted. */
static void test_equivocation_third_value(void **state)
{
    static ul_bft b;
    static ul_bft_actions out;
    ul_valset set;
    uint8_t v[UL_HASH_BYTES], w[UL_HASH_BYTES], x[UL_HASH_BYTES];
    uint32_t p;

    (void)state;
    make_set(&set, 4, NULL);
    start(&b, &out, &set, 3, 3);
    value(v, 0xaa);
    value(w, 0xbb);
    value(x, 0xcc);
    p = ul_bft_proposer(&b, 0);
    out.n = 0;
    ul_bft_on_vote(&b, &out, 1, UL_VOTE_PRECOMMIT, 1, 0, w);
    ul_bft_on_vote(&b, &out, 1, UL_VOTE_PRECOMMIT, 1, 0, v);
    ul_bft_on_vote(&b, &out, 1, UL_VOTE_PRECOMMIT, 1, 0, x);
    assert_int_equal(out.n, 1);
    ul_bft_on_proposal(&b, &out, p, 1, 0, x, -1, true);
    for (uint32_t from = 0; from < 3; from++) {
        if (from != 1 && from != p) {
            ul_bft_on_vote(&b, &out, from, UL_VOTE_PRECOMMIT, 1, 0, x);
        }
    }
    ul_bft_on_vote(&b, &out, p, UL_VOTE_PRECOMMIT, 1, 0, x);
    /* Only 2 (and p when p != 1) precommitted x; 1's third value does not count. */
    assert_int_equal(find(&out, UL_BFT_ACT_COMMIT, 0), -1);
}

static void test_rotation_weighted(void **state)
{
    static ul_bft b;
    static ul_bft_actions out;
    const uint64_t powers[4] = {1, 2, 3, 4};
    ul_valset set;
    ul_bft_rotation rot, at;
    uint8_t v[UL_HASH_BYTES];
    uint32_t count[4] = {0}, who;

    (void)state;
    make_set(&set, 4, powers);
    value(v, 1);
    assert_int_equal(ul_bft_rotation_init(&rot, &set), UL_OK);
    assert_int_equal(ul_bft_init(&b, &cfg), UL_OK);
    for (int h = 0; h < 1000; h++) {
        at = rot;
        out.n = 0;
        assert_int_equal(ul_bft_start(&b, &out, (uint64_t)h + 1, &set, &at, -1, v), UL_OK);
        ul_bft_rotation_advance(&rot, &set, 1, &who);
        assert_int_equal(ul_bft_proposer(&b, 0), who); /* the core agrees with the rotation */
        count[who]++;
    }
    for (int i = 0; i < 4; i++) {
        assert_int_equal(count[i], 100 * powers[i]);
    }
}

static void test_malformed(void **state)
{
    static ul_bft b;
    static ul_bft_actions out;
    ul_valset set;
    ul_bft_rotation rot;
    uint8_t v[UL_HASH_BYTES];

    (void)state;
    make_set(&set, 4, NULL);
    value(v, 1);
    start(&b, &out, &set, 3, 3);
    out.n = 0;
    assert_int_equal(ul_bft_on_vote(&b, &out, 4, UL_VOTE_PREVOTE, 1, 0, v), UL_E_ARG);
    assert_int_equal(ul_bft_on_vote(&b, &out, 0, 3, 1, 0, v), UL_E_ARG);
    assert_int_equal(ul_bft_on_vote(&b, &out, 0, UL_VOTE_PREVOTE, 1, UL_BFT_MAX_ROUND + 1, v),
                     UL_E_ARG);
    assert_int_equal(ul_bft_on_vote(&b, &out, 0, UL_VOTE_PREVOTE, 2, 0, v), UL_E_HEIGHT);
    assert_int_equal(ul_bft_on_proposal(&b, &out, 0, 1, 1, v, 1, true), UL_E_ARG);
    assert_int_equal(ul_bft_on_timeout(&b, &out, 9, 1, 0), UL_E_ARG);
    assert_int_equal(out.n, 0);
    out.n = UL_BFT_MAX_ACTIONS - UL_BFT_ACTIONS_PER_EVENT + 1;
    assert_int_equal(ul_bft_on_vote(&b, &out, 0, UL_VOTE_PREVOTE, 1, 0, v), UL_E_BUFFER);
    /* Zero power, or a rotation for another set, is refused. */
    out.n = 0;
    assert_int_equal(ul_bft_rotation_init(&rot, &set), UL_OK);
    set.v[2].power = 0;
    assert_int_equal(ul_bft_start(&b, &out, 1, &set, &rot, 0, v), UL_E_ARG);
    set.v[2].power = 1;
    rot.n = 3;
    assert_int_equal(ul_bft_start(&b, &out, 1, &set, &rot, 0, v), UL_E_ARG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_single_validator),
        cmocka_unit_test(test_value_on_demand),
        cmocka_unit_test(test_resume_locked),
        cmocka_unit_test(test_four_happy_path),
        cmocka_unit_test(test_locking),
        cmocka_unit_test(test_lock_not_released_by_older_round),
        cmocka_unit_test(test_round_skip),
        cmocka_unit_test(test_timeouts_grow),
        cmocka_unit_test(test_equivocation),
        cmocka_unit_test(test_equivocation_third_value),
        cmocka_unit_test(test_rotation_weighted),
        cmocka_unit_test(test_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
