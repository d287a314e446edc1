/* Equivocation evidence: the checks a UL_TX_EVIDENCE transaction must pass (ledger/exec.c runs
 * them in order with the nonce and signature checks every tx shares), its state record 'S' 'e'
 * under the state root, the builder a node uses to report what it saw, and the listing query.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Value: the height of the block that recorded it (8 BE) and the evidence tx id (32). */
#define EV_VAL_LEN (8 + UL_HASH_BYTES)
/* The largest evidence body: map head, nonce, key, two votes and two signatures with heads. */
#define EV_BODY_MAX (1 + 10 + 35 + 2 * (1 + 3 + UL_MAX_VOTE_BYTES) + 2 * (1 + 2 + UL_SIG_BYTES))

/* Every record's key starts so (docs/protocol.md section 6). */
static const uint8_t EV_PREFIX[2] = {UL_STATEKEY_PREFIX, UL_STATEKEY_EVIDENCE};

/* The key of ev's record into k[UL_KEY_MAX]. */
static ul_err ev_key(uint8_t *k, size_t *kl, const ul_evidence *ev)
{
    /* type is 1 or 2: the vote decoder allows nothing else. */
    return ul_schema_statekey_evidence(k, UL_KEY_MAX, kl, ev->validator, ev->a.height, ev->a.round,
                                       (uint8_t)ev->a.type);
}

static bool in_set(const ul_valset *vs, const uint8_t pub[UL_PUBKEY_BYTES])
{
    for (size_t i = 0; i < vs->n; i++) {
        if (memcmp(vs->v[i].pubkey, pub, UL_PUBKEY_BYTES) == 0) {
            return true;
        }
    }
    return false;
}

/* The accused must be in the set that signs the votes' height: a key outside it cannot sway
 * that height, so two of its votes prove nothing about the chain. */
static ul_err check_accused(ul_chain *c, const ul_evidence *ev)
{
    uint64_t h = ev->a.height;
    if (h == c->height + 1) {
        return in_set(&c->vals, ev->validator) ? UL_OK : UL_E_EVIDENCE_VALIDATOR;
    }
    ul_valset *vs = malloc(sizeof *vs);
    ul_err e = vs ? ul_chain_valset_at(c, h, vs) : UL_E_NOMEM;
    if (e == UL_OK && !in_set(vs, ev->validator)) {
        e = UL_E_EVIDENCE_VALIDATOR;
    }
    free(vs);
    return e;
}

ul_err ul_evidence_check(ul_chain *c, const ul_evidence *ev, const ul_tx *t)
{
    uint8_t k[UL_KEY_MAX], v[EV_VAL_LEN];
    size_t vlen;
    /* One reporter, a validator of the current set: only validators report, so a flood of
     * reports costs an attacker a validator key, and each report is one validator's word. */
    if (t->n_sigs != 1) {
        return UL_E_TX_INVALID;
    }
    if (!in_set(&c->vals, t->sigs[0].pubkey)) {
        return UL_E_VALIDATOR;
    }
    /* The decoder made the block hashes differ (a nil vote's zero hash is a value here too). */
    if (ev->a.type != ev->b.type || ev->a.height != ev->b.height || ev->a.round != ev->b.round) {
        return UL_E_EVIDENCE;
    }
    /* Heights up to the one being decided now: votes for later heights are nobody's yet. */
    if (ev->a.height == 0 || ev->a.height > c->height + 1) {
        return UL_E_HEIGHT;
    }
    size_t kl;
    ul_err e = check_accused(c, ev);
    if (e != UL_OK || (e = ev_key(k, &kl, ev)) != UL_OK) {
        return e;
    }
    e = ul_chain_read(c, k, kl, v, sizeof v, &vlen);
    return e == UL_OK ? UL_E_EVIDENCE_KNOWN : e == UL_E_NOT_FOUND ? UL_OK : e;
}

ul_err ul_evidence_verify(ul_chain *c, const ul_evidence *ev)
{
    ul_err e = ul_sig_verify(ev->sig_a, UL_DOMAIN_VOTE, c->chain_id, ev->vote_a.ptr, ev->vote_a.len,
                             ev->validator);
    if (e == UL_OK) {
        e = ul_sig_verify(ev->sig_b, UL_DOMAIN_VOTE, c->chain_id, ev->vote_b.ptr, ev->vote_b.len,
                          ev->validator);
    }
    return e;
}

ul_err ul_evidence_record(ul_chain *c, const ul_evidence *ev, const uint8_t id32[UL_HASH_BYTES])
{
    uint8_t k[UL_KEY_MAX], v[EV_VAL_LEN];
    size_t kl;
    ul_err e = ev_key(k, &kl, ev);
    ul_be64_put(v, c->height + 1);
    memcpy(v + 8, id32, UL_HASH_BYTES);
    return e != UL_OK ? e : ul_overlay_put(&c->ov, k, kl, v, sizeof v);
}

/* The reporter's last nonce including the pending block: nonces need only grow, so a report built
 * while an earlier one waits in the pending block takes the next (a gap, if that block is
 * dropped, is harmless). */
static ul_err last_nonce(ul_chain *c, const uint8_t pub[UL_PUBKEY_BYTES], uint64_t *nonce)
{
    uint8_t k[UL_KEY_MAX], v[8];
    size_t kl, vlen;
    ul_err e = ul_schema_statekey_nonce(k, sizeof k, &kl, pub);
    if (e == UL_OK) {
        e = ul_chain_read(c, k, kl, v, sizeof v, &vlen);
    }
    if (e == UL_E_NOT_FOUND) {
        *nonce = 0;
        return UL_OK;
    }
    if (e == UL_OK && vlen != 8) {
        e = UL_E_CORRUPT;
    }
    *nonce = e == UL_OK ? ul_be64_get(v) : 0;
    return e;
}

/* Fills ev with the two votes in canonical order (A's block hash below B's). */
static ul_err evidence_fill(ul_evidence *ev, const uint8_t accused32[UL_PUBKEY_BYTES],
                            const uint8_t *vote_a, size_t la, const uint8_t sig_a[UL_SIG_BYTES],
                            const uint8_t *vote_b, size_t lb, const uint8_t sig_b[UL_SIG_BYTES])
{
    ul_vote a, b;
    ul_err e = ul_schema_vote_decode(&a, vote_a, la);
    if (e != UL_OK || (e = ul_schema_vote_decode(&b, vote_b, lb)) != UL_OK) {
        return e;
    }
    bool swap = memcmp(a.block_hash, b.block_hash, UL_HASH_BYTES) > 0;
    memset(ev, 0, sizeof *ev);
    memcpy(ev->validator, accused32, UL_PUBKEY_BYTES);
    ev->vote_a = (ul_span){swap ? vote_b : vote_a, swap ? lb : la};
    ev->vote_b = (ul_span){swap ? vote_a : vote_b, swap ? la : lb};
    memcpy(ev->sig_a, swap ? sig_b : sig_a, UL_SIG_BYTES);
    memcpy(ev->sig_b, swap ? sig_a : sig_b, UL_SIG_BYTES);
    return UL_OK;
}

ul_err ul_chain_evidence_tx(ul_chain *c, const ul_key *reporter,
                            const uint8_t accused32[UL_PUBKEY_BYTES], const uint8_t *vote_a,
                            size_t la, const uint8_t sig_a[UL_SIG_BYTES], const uint8_t *vote_b,
                            size_t lb, const uint8_t sig_b[UL_SIG_BYTES], uint8_t **tx, size_t *len)
{
    ul_evidence ev;
    ul_tx t;
    uint8_t body[EV_BODY_MAX], out[EV_BODY_MAX + 128];
    size_t blen = 0;
    if (!c || !reporter || !accused32 || !vote_a || !sig_a || !vote_b || !sig_b || !tx || !len) {
        return UL_E_ARG;
    }
    *tx = NULL;
    *len = 0;
    if (la > UL_MAX_VOTE_BYTES || lb > UL_MAX_VOTE_BYTES) {
        return UL_E_LIMIT;
    }
    ul_err e = evidence_fill(&ev, accused32, vote_a, la, sig_a, vote_b, lb, sig_b);
    if (e == UL_OK && (e = last_nonce(c, ul_key_pubkey(reporter), &ev.nonce)) == UL_OK) {
        ev.nonce++;
        e = ul_schema_evidence_encode(body, sizeof body, &blen, &ev);
    }
    memset(&t, 0, sizeof t);
    t.kind = UL_TX_EVIDENCE;
    t.body = (ul_span){body, blen};
    t.n_sigs = 1;
    if (e == UL_OK) {
        memcpy(t.sigs[0].pubkey, ul_key_pubkey(reporter), UL_PUBKEY_BYTES);
        e = ul_key_sign(reporter, t.sigs[0].sig, UL_DOMAIN_TX, c->chain_id, body, blen);
    }
    if (e == UL_OK && (e = ul_schema_tx_encode(out, sizeof out, len, &t)) == UL_OK &&
        !(*tx = malloc(*len))) {
        e = UL_E_NOMEM;
    }
    if (e != UL_OK) {
        *len = 0;
        return e;
    }
    memcpy(*tx, out, *len);
    return UL_OK;
}

/* One stored record back into an entry; anything but the shapes written above is damage. */
static ul_err entry_of(const uint8_t *k, size_t kl, const uint8_t *v, size_t vl,
                       ul_evidence_entry *out)
{
    uint8_t type;
    if (vl != EV_VAL_LEN || ul_schema_statekey_evidence_read(k, kl, out->accused, &out->height,
                                                             &out->round, &type) != UL_OK) {
        return UL_E_CORRUPT;
    }
    out->type = type;
    out->recorded_at = ul_be64_get(v);
    memcpy(out->tx_id, v + 8, UL_HASH_BYTES);
    return UL_OK;
}

ul_err ul_chain_evidence_list(ul_chain *c, ul_evidence_entry *out, size_t cap, size_t *n)
{
    ul_store_iter *it = NULL;
    const uint8_t *k, *v;
    size_t kl, vl;
    if (!c || !n || (cap > 0 && !out)) {
        return UL_E_ARG;
    }
    *n = 0;
    ul_err e = ul_store_iter_create(&it, c->store, EV_PREFIX, sizeof EV_PREFIX, EV_PREFIX,
                                    sizeof EV_PREFIX);
    /* Bounded: at most cap + 1 entries are looked at. */
    while (e == UL_OK && ul_store_iter_next(it, &k, &kl, &v, &vl)) {
        if (*n == cap) {
            e = UL_E_LIMIT;
        } else if ((e = entry_of(k, kl, v, vl, &out[*n])) == UL_OK) {
            (*n)++;
        }
    }
    ul_store_iter_destroy(it);
    return e;
}
