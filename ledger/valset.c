/* Validator sets over the chain's history: the set that signs the next block (in memory, and in
 * state 'Sw' under the state root), the history index 'V' of every change, which set signs a
 * height, and the heights whose headers change the set (the steps a device walks from its anchor).
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static const uint8_t VALSET_FAMILY[1] = {UL_KEY_VALSET};

/* A stored set is canonical bytes the chain wrote itself: anything else is damage. */
static ul_err decode_stored(ul_valset *out, const uint8_t *v, size_t len)
{
    return ul_schema_valset_decode(out, v, len) == UL_OK ? UL_OK : UL_E_CORRUPT;
}

ul_err ul_chain_valset_load(ul_chain *c)
{
    uint8_t k[UL_KEY_MAX], *v = NULL;
    size_t kl, vlen;
    ul_err e = ul_schema_statekey_valset(k, sizeof k, &kl);
    if (e == UL_OK) {
        e = ul_store_get(c->store, k, kl, &v, &vlen);
    }
    if (e == UL_E_NOT_FOUND) {
        c->vals = c->genesis.validators;
        e = UL_OK;
    } else if (e == UL_OK) {
        e = decode_stored(&c->vals, v, vlen);
    }
    free(v);
    c->change_pending = false;
    if (e == UL_OK) {
        e = ul_client_valset_hash(c->valset_hash, &c->vals);
    }
    /* The head header committed to the set that signs the next block: they must agree. */
    if (e == UL_OK && c->height > 0 &&
        memcmp(c->valset_hash, c->head.next_validators_hash, UL_HASH_BYTES) != 0) {
        e = UL_E_CORRUPT;
    }
    return e;
}

ul_err ul_chain_valset_keys_check(const ul_valset *vs)
{
    for (size_t i = 0; i < vs->n && i < UL_MAX_VALIDATORS; i++) {
        if (ul_client_pubkey_check(vs->v[i].pubkey) != UL_OK) {
            return UL_E_KEY;
        }
    }
    return UL_OK;
}

ul_err ul_chain_valset_check(const ul_chain *c, const ul_valset *next,
                             uint8_t hash32[UL_HASH_BYTES])
{
    /* Each header names one next set, so a block holds at most one change. */
    if (c->change_pending) {
        return UL_E_VALSET_CHANGE;
    }
    ul_err e = ul_client_valset_hash(hash32, next);
    if (e != UL_OK) {
        return e == UL_E_LIMIT ? e : UL_E_VALSET_CHANGE;
    }
    if ((e = ul_chain_valset_keys_check(next)) != UL_OK) {
        return e;
    }
    /* A "change" to the same set would make a step that changes nothing: refused. */
    return memcmp(hash32, c->valset_hash, UL_HASH_BYTES) == 0 ? UL_E_VALSET_CHANGE : UL_OK;
}

ul_err ul_chain_valset_stage(ul_chain *c, const ul_valset *next,
                             const uint8_t hash32[UL_HASH_BYTES])
{
    uint8_t k[UL_KEY_MAX], v[UL_MAX_VALSET_BYTES];
    size_t kl, len;
    ul_err e = ul_schema_valset_encode(v, sizeof v, &len, next);
    if (e == UL_OK && (e = ul_schema_statekey_valset(k, sizeof k, &kl)) == UL_OK) {
        e = ul_overlay_put(&c->ov, k, kl, v, len);
    }
    if (e == UL_OK) {
        e = ul_overlay_put(&c->ov, k, ul_key_h(k, UL_KEY_VALSET, c->height + 1), v, len);
    }
    if (e == UL_OK) {
        c->next_vals = *next;
        memcpy(c->next_valset_hash, hash32, UL_HASH_BYTES);
        c->change_pending = true;
    }
    return e;
}

ul_err ul_chain_valset_since(ul_chain *c, uint64_t h, ul_valset *out, uint64_t *from)
{
    uint8_t key[UL_KEY_MAX], found[UL_KEY_MAX], *v = NULL;
    size_t klen, flen, vlen;
    if (h == 0 || h > c->height + 1) {
        return UL_E_NOT_FOUND;
    }
    /* The set of the last change made by a block below h ('V' keys sort by height). */
    klen = ul_key_h(key, UL_KEY_VALSET, h - 1);
    ul_err e = ul_store_get_floor(c->store, VALSET_FAMILY, sizeof VALSET_FAMILY, key, klen, found,
                                  sizeof found, &flen, &v, &vlen);
    if (e == UL_E_NOT_FOUND) {
        *out = c->genesis.validators;
        *from = 1;
        return UL_OK;
    }
    if (e == UL_OK) {
        e = flen == klen ? decode_stored(out, v, vlen) : UL_E_CORRUPT;
        *from = ul_be64_get(found + 1) + 1;
    }
    free(v);
    return e;
}

ul_err ul_chain_valset_at(ul_chain *c, uint64_t h, ul_valset *out)
{
    uint64_t from;
    return ul_chain_valset_since(c, h, out, &from);
}

ul_err ul_chain_valset_steps(ul_chain *c, uint64_t h, uint64_t *heights, size_t cap, size_t *n)
{
    ul_store_iter *it = NULL;
    const uint8_t *k, *v;
    size_t kl, vl;
    *n = 0;
    if (h > c->height) {
        return UL_E_NOT_FOUND;
    }
    ul_err e = ul_store_iter_create(&it, c->store, VALSET_FAMILY, sizeof VALSET_FAMILY,
                                    VALSET_FAMILY, sizeof VALSET_FAMILY);
    /* Bounded: at most cap + 1 entries are looked at. */
    while (e == UL_OK && ul_store_iter_next(it, &k, &kl, &v, &vl)) {
        if (kl != 9) {
            e = UL_E_CORRUPT;
        } else if (ul_be64_get(k + 1) > h) {
            break;
        } else if (*n == cap) {
            e = UL_E_LIMIT;
        } else {
            heights[(*n)++] = ul_be64_get(k + 1);
        }
    }
    ul_store_iter_destroy(it);
    return e;
}
