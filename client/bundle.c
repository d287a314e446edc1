/* Proof-bundle verification: from a trusted validator set to one signed release record, with
 * every step checked in the order DESIGN.md gives and nothing accepted until all have passed. */
#include <string.h>

#include "ul_client.h"

static ul_err check_header(ul_bundle_result *out, const ul_bundle *b, ul_valset *vs,
                           const uint8_t chain_id32[UL_HASH_BYTES],
                           const uint8_t valset_hash32[UL_HASH_BYTES])
{
    uint8_t h[UL_HASH_BYTES];
    ul_commit cm;
    ul_err e = ul_schema_valset_decode(vs, b->valset.ptr, b->valset.len);
    if (e != UL_OK || (e = ul_client_valset_hash(h, vs)) != UL_OK) {
        return e;
    }
    if (memcmp(h, valset_hash32, UL_HASH_BYTES) != 0) {
        return UL_E_VALIDATOR;
    }
    if ((e = ul_schema_header_decode(&out->header, b->header.ptr, b->header.len)) != UL_OK) {
        return e;
    }
    if (memcmp(out->header.chain_id, chain_id32, UL_HASH_BYTES) != 0) {
        return UL_E_CHAIN_ID;
    }
    if (memcmp(out->header.validators_hash, h, UL_HASH_BYTES) != 0) {
        return UL_E_VALIDATOR;
    }
    ul_client_sha256(out->header_hash, b->header.ptr, b->header.len);
    if ((e = ul_schema_commit_decode(&cm, b->commit.ptr, b->commit.len)) != UL_OK) {
        return e;
    }
    return ul_client_commit_verify(&cm, vs, chain_id32, out->header.height, out->header_hash);
}

static ul_err check_leaf(ul_bundle_result *out, const ul_bundle *b, ul_inclusion *p,
                         const uint8_t chain_id32[UL_HASH_BYTES])
{
    uint8_t lh[UL_HASH_BYTES];
    ul_tx t;
    ul_err e = ul_schema_inclusion_decode(p, b->inclusion.ptr, b->inclusion.len);
    if (e != UL_OK) {
        return e;
    }
    /* RFC 9162 paths do not pin the tree size by themselves: bind it to the header's. */
    if (p->size != out->header.log_size) {
        return UL_E_MERKLE_RANGE;
    }
    ul_client_merkle_leaf_hash(lh, b->leaf.ptr, b->leaf.len);
    e = ul_client_merkle_verify_inclusion(lh, p->index, p->size,
                                          (const uint8_t(*)[UL_HASH_BYTES])p->path, p->n_path,
                                          out->header.log_root);
    if (e != UL_OK || (e = ul_schema_tx_decode(&t, b->leaf.ptr, b->leaf.len)) != UL_OK) {
        return e;
    }
    if (t.kind != UL_TX_PUBLISH) {
        return UL_E_TX_KIND;
    }
    for (size_t i = 0; i < t.n_sigs; i++) {
        e = ul_client_sig_verify(t.sigs[i].sig, UL_DOMAIN_RELEASE, chain_id32, t.body.ptr,
                                 t.body.len, t.sigs[i].pubkey);
        if (e != UL_OK) {
            return e;
        }
    }
    out->leaf = b->leaf;
    out->leaf_index = p->index;
    out->record = t.body;
    return UL_OK;
}

ul_err ul_client_bundle_verify_v1(ul_bundle_result *out, const uint8_t *bundle, size_t len,
                               const uint8_t chain_id32[UL_HASH_BYTES],
                               const uint8_t valset_hash32[UL_HASH_BYTES])
{
    ul_bundle b;
    union { /* the two big decodes never live at once */
        ul_valset vs;
        ul_inclusion p;
    } ws;
    memset(out, 0, sizeof *out);
    ul_err e = ul_schema_bundle_decode(&b, bundle, len);
    if (e == UL_OK) {
        e = check_header(out, &b, &ws.vs, chain_id32, valset_hash32);
    }
    if (e == UL_OK) {
        e = check_leaf(out, &b, &ws.p, chain_id32);
    }
    if (e != UL_OK) {
        memset(out, 0, sizeof *out); /* fail closed: nothing half-verified leaks out */
    }
    return e;
}
