/* Proof bundles (version 2) for devices: the validator-set steps from genesis, the header with its
 * commit laid out voter by voter, the publish tx, its inclusion proof and the two state proofs,
 * as a stream of sections (schema/ul_schema.h) a device checks one at a time.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Everything one bundle build needs, on the heap (a state proof alone is 8 KB). */
typedef struct {
    uint8_t *out;
    size_t cap, len;
    ul_section s;
    ul_valset vs;
    ul_commit cm;
    ul_checkpoint cp;
    bool has_cp; /* the last header goes out as CHECKPOINT with cp's signatures */
    ul_inclusion inc;
    ul_state_proof sp;
    ul_tx tx;
    ul_release rel;
    ul_header hd;
    uint64_t steps[UL_MAX_VALSET_STEPS];
} ul_bundle_work;

/* Appends the section in b->s (hash lists from hashes). */
static ul_err emit(ul_bundle_work *b, const uint8_t (*hashes)[UL_HASH_BYTES])
{
    size_t n = 0;
    ul_err e = ul_schema_section_encode(b->out + b->len, b->cap - b->len, &n, &b->s, hashes);
    if (e == UL_OK) {
        b->len += n;
    }
    return e == UL_E_BUFFER ? UL_E_LIMIT : e;
}

/* The checkpoint's signatures in the commit's shape (one time for all), so that one pass lays
 * out either. */
static void cp_as_commit(ul_bundle_work *b)
{
    b->cm.n_sigs = b->cp.n_sigs;
    for (size_t i = 0; i < b->cp.n_sigs; i++) {
        b->cm.sigs[i].index = b->cp.sigs[i].index;
        b->cm.sigs[i].time_ms = b->cp.v.time_ms;
        memcpy(b->cm.sigs[i].sig, b->cp.sigs[i].sig, UL_SIG_BYTES);
    }
}

/* HEADER then one VOTER per member of the set that signs height h, in set order, with the
 * stored commit's time and signature for those that signed, until their power exceeds 2/3 of the
 * set's: a device verifies every signature it is given, and a quorum is all it needs. The last
 * header goes out as CHECKPOINT with the checkpoint's signatures instead when b->has_cp: as many
 * signatures as the commit's. The last header is kept in b->hd. */
static ul_err emit_header(ul_bundle_work *b, ul_chain *c, uint64_t h, bool last)
{
    uint8_t *hdr = NULL, *cm = NULL;
    size_t hlen, clen, j = 0;
    uint64_t total = 0, signed_power = 0;
    ul_err e = ul_chain_header_bytes(c, h, &hdr, &hlen);
    if (e == UL_OK && (e = ul_chain_commit_bytes(c, h, &cm, &clen)) == UL_OK &&
        (e = ul_schema_commit_decode(&b->cm, cm, clen)) == UL_OK) {
        e = ul_chain_valset_at(c, h, &b->vs);
    }
    for (size_t i = 0; e == UL_OK && i < b->vs.n; i++) {
        total += b->vs.v[i].power; /* a valid set's total stays below 2^60 */
    }
    bool cp = last && b->has_cp;
    if (e == UL_OK && cp) {
        cp_as_commit(b);
    }
    if (e == UL_OK) {
        memset(&b->s, 0, sizeof b->s);
        b->s.type = cp ? UL_SEC_CHECKPOINT : UL_SEC_HEADER;
        b->s.u.header.header = (ul_span){hdr, hlen};
        b->s.u.header.round = cp ? 0 : b->cm.round;
        b->s.u.header.time_ms = cp ? b->cp.v.time_ms : 0;
        b->s.u.header.n_voters = b->vs.n;
        e = emit(b, NULL);
    }
    for (size_t i = 0; e == UL_OK && i < b->vs.n; i++) {
        memset(&b->s, 0, sizeof b->s);
        b->s.type = UL_SEC_VOTER;
        memcpy(b->s.u.voter.key, b->vs.v[i].pubkey, UL_PUBKEY_BYTES);
        b->s.u.voter.power = b->vs.v[i].power;
        /* Commit indexes ascend, so one pass pairs them with the members. */
        if (j < b->cm.n_sigs && b->cm.sigs[j].index == i) {
            if (!ul_power_quorum(signed_power, total)) {
                b->s.u.voter.has_sig = true;
                b->s.u.voter.time_ms = b->cm.sigs[j].time_ms;
                memcpy(b->s.u.voter.sig, b->cm.sigs[j].sig, UL_SIG_BYTES);
                signed_power += b->vs.v[i].power;
            }
            j++;
        }
        e = emit(b, NULL);
    }
    if (e == UL_OK && j != b->cm.n_sigs) {
        e = UL_E_CORRUPT; /* a stored commit index outside its set */
    }
    if (e == UL_OK && last) {
        e = ul_schema_header_decode(&b->hd, hdr, hlen) == UL_OK ? UL_OK : UL_E_CORRUPT;
    }
    free(hdr);
    free(cm);
    return e;
}

/* LEAF, SIG... and INCLUSION for the publish tx (already decoded into b->tx). */
static ul_err emit_release(ul_bundle_work *b, ul_chain *c, const ul_release_loc *loc)
{
    memset(&b->s, 0, sizeof b->s);
    b->s.type = UL_SEC_LEAF;
    b->s.u.leaf.kind = b->tx.kind;
    b->s.u.leaf.body = b->tx.body;
    b->s.u.leaf.n_sigs = b->tx.n_sigs;
    ul_err e = emit(b, NULL);
    for (size_t i = 0; e == UL_OK && i < b->tx.n_sigs; i++) {
        b->s.type = UL_SEC_SIG;
        b->s.u.sig = b->tx.sigs[i];
        e = emit(b, NULL);
    }
    if (e == UL_OK) {
        e = ul_log_inclusion(ul_chain_log(c), loc->log_index, b->hd.log_size, &b->inc);
    }
    if (e == UL_OK) {
        memset(&b->s, 0, sizeof b->s);
        b->s.type = UL_SEC_INCLUSION;
        b->s.u.inclusion.index = b->inc.index;
        b->s.u.inclusion.size = b->inc.size;
        b->s.u.inclusion.n_path = b->inc.n_path;
        e = emit(b, (const uint8_t(*)[UL_HASH_BYTES])b->inc.path);
    }
    return e;
}

/* STATE then its siblings bottom up, at most UL_MAX_SIBLINGS_PER_SECTION per section. */
static ul_err emit_state_proof(ul_bundle_work *b, uint64_t which, ul_span hw,
                               const uint8_t key[UL_HASH_BYTES], const uint8_t *value, size_t vlen)
{
    ul_state_proof *p = &b->sp;
    memset(&b->s, 0, sizeof b->s);
    b->s.type = UL_SEC_STATE;
    b->s.u.state.which = which;
    b->s.u.state.hw = which == UL_PROOF_INSTALLABLE ? hw : (ul_span){NULL, 0};
    b->s.u.state.depth = p->depth;
    memcpy(b->s.u.state.bitmap, p->bitmap, sizeof p->bitmap);
    if (p->has_leaf && memcmp(p->leaf_key, key, UL_HASH_BYTES) == 0) {
        b->s.u.state.terminal = UL_TERM_VALUE;
        b->s.u.state.value = (ul_span){value, vlen};
    } else if (p->has_leaf) {
        b->s.u.state.terminal = UL_TERM_LEAF;
        memcpy(b->s.u.state.leaf_key, p->leaf_key, UL_HASH_BYTES);
        memcpy(b->s.u.state.leaf_value, p->leaf_value, UL_HASH_BYTES);
    }
    ul_err e = emit(b, NULL);
    /* The proof lists siblings from the root down; devices fold from the leaf up. */
    for (size_t i = 0; i < p->n_siblings / 2; i++) {
        uint8_t t[UL_HASH_BYTES];
        memcpy(t, p->siblings[i], UL_HASH_BYTES);
        memcpy(p->siblings[i], p->siblings[p->n_siblings - 1 - i], UL_HASH_BYTES);
        memcpy(p->siblings[p->n_siblings - 1 - i], t, UL_HASH_BYTES);
    }
    for (size_t at = 0; e == UL_OK && at < p->n_siblings; at += UL_MAX_SIBLINGS_PER_SECTION) {
        size_t n = p->n_siblings - at;
        memset(&b->s, 0, sizeof b->s);
        b->s.type = UL_SEC_SIBLINGS;
        b->s.u.siblings.n = n < UL_MAX_SIBLINGS_PER_SECTION ? n : UL_MAX_SIBLINGS_PER_SECTION;
        e = emit(b, (const uint8_t(*)[UL_HASH_BYTES])p->siblings[at]);
    }
    return e;
}

/* The state proof of one entry at height h, whatever it shows: a member with the value header h's
 * root holds (kept by the state history), or non-membership. */
static ul_err emit_state(ul_bundle_work *b, ul_chain *c, ul_state_kind kind, uint64_t which,
                         ul_span hw, const uint8_t id32[UL_HASH_BYTES])
{
    uint8_t key[UL_HASH_BYTES], *value = NULL;
    size_t vlen = 0;
    ul_err e = ul_chain_state_proof(c, kind, b->rel.ns, hw, id32, b->hd.height, key, &value, &vlen,
                                    &b->sp);
    if (e == UL_OK) {
        e = emit_state_proof(b, which, hw, key, value, vlen);
    }
    free(value);
    return e;
}

/* The publish tx of id, decoded into b; UL_E_NOT_FOUND when it was logged after header h. */
static ul_err load_release(ul_bundle_work *b, ul_chain *c, const uint8_t id32[UL_HASH_BYTES],
                           ul_span hw, uint8_t **tx, ul_release_loc *loc)
{
    size_t tlen;
    ul_err e = ul_chain_release(c, id32, tx, &tlen, loc);
    if (e != UL_OK) {
        return e;
    }
    if (ul_schema_tx_decode(&b->tx, *tx, tlen) != UL_OK ||
        ul_schema_release_decode(&b->rel, b->tx.body.ptr, b->tx.body.len) != UL_OK) {
        return UL_E_CORRUPT;
    }
    if (loc->log_index >= b->hd.log_size) {
        return UL_E_NOT_FOUND;
    }
    for (size_t i = 0; i < b->rel.n_hw; i++) {
        if (ul_span_eq(b->rel.hw[i], hw)) {
            return UL_OK;
        }
    }
    return UL_E_HW_MISMATCH;
}

/* BEGIN, then each step header (heights below h whose header changes the set) and header h. */
static ul_err emit_headers(ul_bundle_work *b, ul_chain *c, uint64_t h)
{
    size_t n = 0;
    ul_err e = h > 1 ? ul_chain_valset_steps(c, h - 1, b->steps, UL_MAX_VALSET_STEPS, &n) : UL_OK;
    if (e != UL_OK) {
        return e;
    }
    memset(&b->s, 0, sizeof b->s);
    b->s.type = UL_SEC_BEGIN;
    b->s.u.begin.version = UL_BUNDLE_VERSION;
    memcpy(b->s.u.begin.chain_id, ul_chain_id(c), UL_HASH_BYTES);
    b->s.u.begin.n_steps = n;
    e = emit(b, NULL);
    for (size_t i = 0; e == UL_OK && i < n; i++) {
        e = emit_header(b, c, b->steps[i], false);
    }
    return e != UL_OK ? e : emit_header(b, c, h, true);
}

ul_err ul_chain_bundle(ul_chain *c, const uint8_t id32[UL_HASH_BYTES], ul_span hw, uint64_t h,
                       uint8_t **out, size_t *len)
{
    ul_bundle_work *b = calloc(1, sizeof *b);
    uint8_t *tx = NULL;
    ul_release_loc loc;
    ul_err e = b ? UL_OK : UL_E_NOMEM;
    h = h ? h : ul_chain_height(c);
    if (e == UL_OK && (h == 0 || h > ul_chain_height(c))) {
        e = UL_E_NOT_FOUND;
    }
    if (e == UL_OK && hw.len > UL_MAX_LABEL_LEN) {
        e = UL_E_LIMIT;
    }
    if (e == UL_OK && !(b->out = malloc(UL_MAX_BUNDLE_BYTES))) {
        e = UL_E_NOMEM;
    }
    if (e == UL_OK) {
        b->cap = UL_MAX_BUNDLE_BYTES;
        /* The head's freshness comes from its newest checkpoint, when the node keeps one. */
        b->has_cp = h == ul_chain_height(c) && ul_chain_checkpoint_get(c, &b->cp) == UL_OK;
        e = emit_headers(b, c, h);
    }
    if (e == UL_OK && (e = load_release(b, c, id32, hw, &tx, &loc)) == UL_OK &&
        (e = emit_release(b, c, &loc)) == UL_OK &&
        (e = emit_state(b, c, UL_STATE_INSTALLABLE, UL_PROOF_INSTALLABLE, hw, id32)) == UL_OK) {
        e = emit_state(b, c, UL_STATE_REVOCATION, UL_PROOF_REVOCATION, hw, id32);
    }
    free(tx);
    if (e == UL_OK) {
        uint8_t *shrunk = realloc(b->out, b->len);
        *out = shrunk ? shrunk : b->out;
        *len = b->len;
    } else if (b) {
        free(b->out);
    }
    free(b);
    return e;
}
