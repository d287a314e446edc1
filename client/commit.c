/* libupclient commits: the validator-set hash a header names, quorum verification of a
 * commit's precommit signatures, and the BFT block time (weighted median of the vote times).
 * Everything lives on the stack, bounded by UL_MAX_VALIDATORS.
 */
#include <stdbool.h>
#include <string.h>

#include "ul_client.h"

/* Canonical vote bytes: a 5-entry map of single-byte keys holding at most three 9-byte uints,
 * one small uint and a 34-byte bstr(32) is 68 bytes; the slack costs nothing. */
#define UL_VOTE_BUF_BYTES 128

ul_err ul_client_valset_hash(uint8_t out32[UL_HASH_BYTES], const ul_valset *s)
{
    uint8_t buf[UL_MAX_VALSET_BYTES];
    size_t len = 0;
    ul_err e;

    e = ul_schema_valset_encode(buf, sizeof(buf), &len, s);
    if (e != UL_OK) {
        return e;
    }
    ul_client_sha256(out32, buf, len);
    return UL_OK;
}

/* Sums the set's voting power. A set that breaks ul_schema.h's rules (too many members, zero
 * power, total above UL_MAX_TOTAL_POWER) cannot back any commit: the 3x quorum product below
 * relies on the bound to stay inside uint64. */
static ul_err ul_valset_total(uint64_t *total, const ul_valset *s)
{
    uint64_t sum = 0;

    if (s->n > UL_MAX_VALIDATORS) {
        return UL_E_VALIDATOR;
    }
    for (size_t i = 0; i < s->n; i++) {
        uint64_t p = s->v[i].power;

        if (p == 0 || p > UL_MAX_TOTAL_POWER - sum) {
            return UL_E_VALIDATOR;
        }
        sum += p;
    }
    *total = sum;
    return UL_OK;
}

/* Checks every index before any signature, so a malformed commit costs no curve arithmetic.
 * Strictly ascending indexes below s->n are what makes each signer distinct. */
static ul_err ul_commit_check_indexes(const ul_commit *c, const ul_valset *s)
{
    /* More signatures than members cannot all be distinct; this also keeps the loop inside
     * c->sigs[UL_MAX_VALIDATORS]. */
    if (c->n_sigs > s->n) {
        return UL_E_VALIDATOR;
    }
    for (size_t i = 0; i < c->n_sigs; i++) {
        if (c->sigs[i].index >= s->n) {
            return UL_E_VALIDATOR;
        }
        if (i > 0 && c->sigs[i].index <= c->sigs[i - 1].index) {
            return UL_E_VALIDATOR;
        }
    }
    return UL_OK;
}

/* Verifies one precommit: the signer signed the canonical vote with the commit's height,
 * round and block hash and its own time. A prevote for the same block, or any other vote
 * type, encodes differently and fails here. */
static ul_err ul_commit_check_sig(const ul_commit *c, const ul_commit_sig *cs,
                                  const ul_validator *val, const uint8_t chain_id32[UL_HASH_BYTES])
{
    uint8_t buf[UL_VOTE_BUF_BYTES];
    size_t len = 0;
    ul_vote v;
    ul_err e;

    memset(&v, 0, sizeof(v));
    v.type = UL_VOTE_PRECOMMIT;
    v.height = c->height;
    v.round = c->round;
    memcpy(v.block_hash, c->block_hash, UL_HASH_BYTES);
    v.time_ms = cs->time_ms;
    e = ul_schema_vote_encode(buf, sizeof(buf), &len, &v);
    if (e != UL_OK) {
        return e;
    }
    e = ul_client_sig_verify(cs->sig, UL_DOMAIN_VOTE, chain_id32, buf, len, val->pubkey);
    /* A member whose key does not parse cannot have signed: report the signature as bad, the
     * one failure the contract names for a signature. */
    if (e == UL_E_KEY) {
        return UL_E_SIG;
    }
    return e;
}

ul_err ul_client_commit_verify(const ul_commit *c, const ul_valset *s,
                               const uint8_t chain_id32[UL_HASH_BYTES], uint64_t height,
                               const uint8_t block_hash32[UL_HASH_BYTES])
{
    uint64_t total = 0;
    uint64_t signed_power = 0;
    ul_err e;

    if (c->height != height) {
        return UL_E_HEIGHT;
    }
    if (memcmp(c->block_hash, block_hash32, UL_HASH_BYTES) != 0) {
        return UL_E_HEADER_LINK;
    }
    e = ul_valset_total(&total, s);
    if (e != UL_OK) {
        return e;
    }
    e = ul_commit_check_indexes(c, s);
    if (e != UL_OK) {
        return e;
    }
    /* Every signature must verify, even past the quorum: a commit is judged as a whole, and
     * a node must never store or relay one carrying a forgery. */
    for (size_t i = 0; i < c->n_sigs; i++) {
        const ul_validator *val = &s->v[c->sigs[i].index];

        e = ul_commit_check_sig(c, &c->sigs[i], val, chain_id32);
        if (e != UL_OK) {
            return e;
        }
        signed_power += val->power;
    }
    /* total <= UL_MAX_TOTAL_POWER <= UINT64_MAX / 3, so neither product overflows. */
    if (signed_power * 3 <= total * 2) {
        return UL_E_QUORUM;
    }
    return UL_OK;
}

typedef struct {
    uint64_t time_ms;
    uint64_t power;
} ul_timed_power;

uint64_t ul_client_commit_time(const ul_commit *c, const ul_valset *s)
{
    ul_timed_power tp[UL_MAX_VALIDATORS];
    size_t n = 0;
    uint64_t signing = 0;
    uint64_t cum = 0;
    size_t n_sigs = c->n_sigs < UL_MAX_VALIDATORS ? c->n_sigs : UL_MAX_VALIDATORS;

    /* Insertion sort by time as the pairs are collected: at most 64 of them, and no heap.
     * Indexes outside the set are skipped so a broken precondition cannot read out of bounds. */
    for (size_t i = 0; i < n_sigs; i++) {
        uint64_t idx = c->sigs[i].index;
        size_t j = n;

        if (idx >= s->n || idx >= UL_MAX_VALIDATORS) {
            continue;
        }
        while (j > 0 && tp[j - 1].time_ms > c->sigs[i].time_ms) {
            tp[j] = tp[j - 1];
            j--;
        }
        tp[j].time_ms = c->sigs[i].time_ms;
        tp[j].power = s->v[idx].power;
        n++;
        signing += s->v[idx].power;
    }
    /* The first time by which more than half the signing power has voted: validators holding
     * at most half cannot move it past every honest vote. cum > signing - cum is 2*cum >
     * signing without the doubling. */
    for (size_t i = 0; i < n; i++) {
        cum += tp[i].power;
        if (cum > signing - cum) {
            return tp[i].time_ms;
        }
    }
    return 0;
}
