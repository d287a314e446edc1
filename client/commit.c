/* libupclient commits: the validator-set hash a header names, quorum verification of a
 * commit's precommit signatures, and the BFT block time (weighted median of the vote times).
 * Everything lives on the stack, bounded by UL_MAX_VALIDATORS.
 */
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "internal.h"

/* Canonical vote bytes: a 5-entry map of single-byte keys holding at most three 9-byte uints,
 * one small uint and a 34-byte bstr(32) is 68 bytes; the slack costs nothing. */
#define UL_VOTE_BUF_BYTES 128
/* One [key, power] piece: array head, bstr(32) with its 2-byte head, a 9-byte uint. */
#define UL_VALIDATOR_PIECE_BYTES 48

ul_err ul_client_valset_hash(uint8_t out32[UL_HASH_BYTES], const ul_valset *s)
{
    /* Hashed piece by piece (the same pieces a device hashes from a bundle's voters), so no
     * encoded set is ever held in memory. */
    uint8_t buf[UL_VALIDATOR_PIECE_BYTES];
    size_t len = 0;
    ul_sha256 h;
    uint64_t total = 0;

    ul_err e = ul_schema_valset_head_encode(buf, sizeof(buf), &len, s->n);
    ul_client_sha256_init(&h);
    for (size_t i = 0; e == UL_OK && i <= s->n; i++) {
        ul_client_sha256_update(&h, buf, len);
        if (i == s->n) {
            break;
        }
        /* The set must be one ul_schema_valset_encode accepts: ascending keys, bounded power. */
        if (i > 0 && memcmp(s->v[i - 1].pubkey, s->v[i].pubkey, UL_PUBKEY_BYTES) >= 0) {
            e = UL_E_SCHEMA_FIELD;
        } else if (s->v[i].power > UL_MAX_TOTAL_POWER - total) {
            e = UL_E_LIMIT;
        } else {
            total += s->v[i].power;
            e = ul_schema_validator_encode(buf, sizeof(buf), &len, &s->v[i]);
        }
    }
    if (e == UL_OK) {
        ul_client_sha256_final(&h, out32);
    }
    return e;
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
/* The indexes of n signature entries (stride bytes apart, each starting with its uint64_t
 * index: ul_commit_sig and ul_checkpoint_sig) name distinct members of s, strictly ascending. */
static ul_err check_indexes(const void *sigs, size_t n, size_t stride, const ul_valset *s)
{
    _Static_assert(offsetof(ul_commit_sig, index) == 0 && offsetof(ul_checkpoint_sig, index) == 0,
                   "both signature entries start with their index");
    /* More signatures than members cannot all be distinct; this also keeps the loop inside the
     * caller's sigs[UL_MAX_VALIDATORS]. */
    if (n > s->n) {
        return UL_E_VALIDATOR;
    }
    uint64_t prev = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t index;
        memcpy(&index, (const uint8_t *)sigs + i * stride, sizeof index);
        if (index >= s->n || (i > 0 && index <= prev)) {
            return UL_E_VALIDATOR;
        }
        prev = index;
    }
    return UL_OK;
}

/* Verifies one precommit: the signer signed the canonical vote with this height, round and
 * block hash and its own time. A prevote for the same block, or any other vote type, encodes
 * differently and fails here. */
/* The signed digest of a precommit, apart from the signature check (UL_NOINLINE: the vote's
 * encoding buffer is gone before libsecp256k1's deep frames). */
static UL_NOINLINE ul_err precommit_digest(uint8_t out32[UL_HASH_BYTES],
                                           const uint8_t chain_id32[UL_HASH_BYTES], uint64_t height,
                                           uint64_t round,
                                           const uint8_t block_hash32[UL_HASH_BYTES],
                                           uint64_t time_ms)
{
    uint8_t buf[UL_VOTE_BUF_BYTES];
    size_t len = 0;
    ul_vote v;

    memset(&v, 0, sizeof(v));
    v.type = UL_VOTE_PRECOMMIT;
    v.height = height;
    v.round = round;
    memcpy(v.block_hash, block_hash32, UL_HASH_BYTES);
    v.time_ms = time_ms;
    ul_err e = ul_schema_vote_encode(buf, sizeof(buf), &len, &v);
    if (e == UL_OK) {
        ul_client_signed_digest(out32, UL_DOMAIN_VOTE, chain_id32, buf, len);
    }
    return e;
}

ul_err ul_client_precommit_verify(const uint8_t sig64[UL_SIG_BYTES],
                                  const uint8_t pubkey32[UL_PUBKEY_BYTES],
                                  const uint8_t chain_id32[UL_HASH_BYTES], uint64_t height,
                                  uint64_t round, const uint8_t block_hash32[UL_HASH_BYTES],
                                  uint64_t time_ms)
{
    uint8_t digest[UL_HASH_BYTES];
    ul_err e = precommit_digest(digest, chain_id32, height, round, block_hash32, time_ms);
    if (e != UL_OK) {
        return e;
    }
    e = ul_client_sig_verify_digest(sig64, digest, pubkey32);
    /* A member whose key does not parse cannot have signed: report the signature as bad, the
     * one failure the contract names for a signature. */
    return e == UL_E_KEY ? UL_E_SIG : e;
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
    e = check_indexes(c->sigs, c->n_sigs, sizeof c->sigs[0], s);
    if (e != UL_OK) {
        return e;
    }
    /* Every signature must verify, even past the quorum: a commit is judged as a whole, and
     * a node must never store or relay one carrying a forgery. */
    for (size_t i = 0; i < c->n_sigs; i++) {
        const ul_validator *val = &s->v[c->sigs[i].index];

        e = ul_client_precommit_verify(c->sigs[i].sig, val->pubkey, chain_id32, c->height, c->round,
                                       c->block_hash, c->sigs[i].time_ms);
        if (e != UL_OK) {
            return e;
        }
        signed_power += val->power;
    }
    if (!ul_power_quorum(signed_power, total)) { /* total <= UL_MAX_TOTAL_POWER, checked above */
        return UL_E_QUORUM;
    }
    return UL_OK;
}

/* The signed digest of a checkpoint statement (UL_NOINLINE as precommit_digest). */
static UL_NOINLINE ul_err checkpoint_digest(uint8_t out32[UL_HASH_BYTES],
                                            const uint8_t chain_id32[UL_HASH_BYTES],
                                            const ul_checkpoint_vote *v)
{
    uint8_t buf[UL_VOTE_BUF_BYTES];
    size_t len = 0;
    ul_err e = ul_schema_checkpoint_vote_encode(buf, sizeof(buf), &len, v);
    if (e == UL_OK) {
        ul_client_signed_digest(out32, UL_DOMAIN_CHECKPOINT, chain_id32, buf, len);
    }
    return e;
}

ul_err ul_client_checkpoint_sig_verify(const uint8_t sig64[UL_SIG_BYTES],
                                       const uint8_t pubkey32[UL_PUBKEY_BYTES],
                                       const uint8_t chain_id32[UL_HASH_BYTES],
                                       const ul_checkpoint_vote *v)
{
    uint8_t digest[UL_HASH_BYTES];
    ul_err e = checkpoint_digest(digest, chain_id32, v);
    if (e != UL_OK) {
        return e;
    }
    e = ul_client_sig_verify_digest(sig64, digest, pubkey32);
    return e == UL_E_KEY ? UL_E_SIG : e;
}

ul_err ul_client_checkpoint_verify(const ul_checkpoint *c, const ul_valset *s,
                                   const uint8_t chain_id32[UL_HASH_BYTES], uint64_t height,
                                   const uint8_t header_hash32[UL_HASH_BYTES])
{
    uint64_t total = 0;
    uint64_t signed_power = 0;
    if (c->v.height != height || memcmp(c->v.header_hash, header_hash32, UL_HASH_BYTES) != 0) {
        return UL_E_CHECKPOINT;
    }
    ul_err e = ul_valset_total(&total, s);
    if (e != UL_OK) {
        return e;
    }
    if ((e = check_indexes(c->sigs, c->n_sigs, sizeof c->sigs[0], s)) != UL_OK) {
        return e;
    }
    for (size_t i = 0; i < c->n_sigs; i++) {
        const ul_validator *val = &s->v[c->sigs[i].index];
        e = ul_client_checkpoint_sig_verify(c->sigs[i].sig, val->pubkey, chain_id32, &c->v);
        if (e != UL_OK) {
            return e;
        }
        signed_power += val->power;
    }
    return ul_power_quorum(signed_power, total) ? UL_OK : UL_E_QUORUM;
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
