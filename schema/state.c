/* State proofs (ul_state_proof): the canonical CBOR form of a path through the chain state's
 * sparse Merkle tree, described with the table-driven map codec. Field rules are in
 * schema/ul_schema.h and schema/upledger.cddl; the verifier is client/state.c.
 */
#include <stddef.h>
#include <string.h>

#include "internal.h"

#define REQ UL_FIELD_REQUIRED
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Bytes of a bitmap covering depth levels. */
static size_t bitmap_bytes(uint64_t depth)
{
    return (size_t)((depth + 7) / 8);
}

/* The depth sizes the bitmap and the sibling array, so past UL_SMT_DEPTH it is a limit. */
static ul_err depth_dec(ul_cbor_reader *r, void *obj, const ul_field *f)
{
    ul_state_proof *p = obj;
    ul_err e = ul_cbor_read_uint(r, &p->depth);
    return (e == UL_OK && p->depth > UL_SMT_DEPTH) ? UL_E_LIMIT : e;
}

static void depth_enc(ul_cbor_writer *w, const void *obj, const ul_field *f)
{
    ul_cbor_put_uint(w, ((const ul_state_proof *)obj)->depth);
}

/* Keys arrive ascending, so depth (key 1) is known when the bitmap (key 2) is read. */
static ul_err bitmap_dec(ul_cbor_reader *r, void *obj, const ul_field *f)
{
    ul_state_proof *p = obj;
    ul_cbor_item it;
    ul_err e = ul_cbor_expect(r, UL_CBOR_BYTES, &it);
    if (e != UL_OK) {
        return e;
    }
    if (it.val != bitmap_bytes(p->depth)) {
        return UL_E_SCHEMA_FIELD;
    }
    memcpy(p->bitmap, it.data, (size_t)it.val);
    return UL_OK;
}

static void bitmap_enc(ul_cbor_writer *w, const void *obj, const ul_field *f)
{
    const ul_state_proof *p = obj;
    if (p->depth > UL_SMT_DEPTH) {
        ul_cbor_fail(w, UL_E_LIMIT);
        return;
    }
    ul_cbor_put_bytes(w, p->bitmap, bitmap_bytes(p->depth));
}

static ul_err siblings_dec(ul_cbor_reader *r, void *obj, const ul_field *f)
{
    ul_state_proof *p = obj;
    ul_err e = ul_cbor_enter_array(r, 0, UL_SMT_DEPTH, &p->n_siblings);
    for (size_t i = 0; e == UL_OK && i < p->n_siblings; i++) {
        e = ul_cbor_read_fixed(r, p->siblings[i], UL_HASH_BYTES);
    }
    if (e == UL_OK) {
        ul_cbor_leave(r);
    }
    return e;
}

static void siblings_enc(ul_cbor_writer *w, const void *obj, const ul_field *f)
{
    const ul_state_proof *p = obj;
    if (p->n_siblings > UL_SMT_DEPTH) {
        ul_cbor_fail(w, UL_E_LIMIT);
        return;
    }
    ul_cbor_put_array(w, p->n_siblings);
    for (size_t i = 0; i < p->n_siblings; i++) {
        ul_cbor_put_bytes(w, p->siblings[i], UL_HASH_BYTES);
    }
}

/* The path's terminal leaf: [key, value hash]. */
static ul_err leaf_dec(ul_cbor_reader *r, void *obj, const ul_field *f)
{
    ul_state_proof *p = obj;
    ul_err e = ul_cbor_enter_tuple(r, 2);
    if (e == UL_OK) {
        e = ul_cbor_read_fixed(r, p->leaf_key, UL_HASH_BYTES);
    }
    if (e == UL_OK) {
        e = ul_cbor_read_fixed(r, p->leaf_value, UL_HASH_BYTES);
    }
    if (e == UL_OK) {
        ul_cbor_leave(r);
    }
    return e;
}

static void leaf_enc(ul_cbor_writer *w, const void *obj, const ul_field *f)
{
    const ul_state_proof *p = obj;
    ul_cbor_put_array(w, 2);
    ul_cbor_put_bytes(w, p->leaf_key, UL_HASH_BYTES);
    ul_cbor_put_bytes(w, p->leaf_value, UL_HASH_BYTES);
}

/* Canonical: no bitmap bit at or past depth, and one sibling per bit set (so a proof has exactly
 * one encoding and the verifier never meets a count the bitmap does not explain). */
static ul_err state_proof_check(const void *obj)
{
    const ul_state_proof *p = obj;
    size_t set = 0;
    for (size_t i = 0; i < UL_SMT_DEPTH; i++) {
        if ((p->bitmap[i / 8] >> (7 - i % 8)) & 1) {
            if (i >= p->depth) {
                return UL_E_SCHEMA_FIELD;
            }
            set++;
        }
    }
    return set == p->n_siblings ? UL_OK : UL_E_SCHEMA_FIELD;
}

static const ul_codec codec_depth = {depth_dec, depth_enc};
static const ul_codec codec_bitmap = {bitmap_dec, bitmap_enc};
static const ul_codec codec_siblings = {siblings_dec, siblings_enc};
static const ul_codec codec_leaf = {leaf_dec, leaf_enc};

static const ul_field state_proof_fields[] = {
    {1, &codec_depth, 0, 0, REQ},
    {2, &codec_bitmap, 0, 0, REQ},
    {3, &codec_siblings, 0, 0, REQ},
    {4, &codec_leaf, 0, 0, offsetof(ul_state_proof, has_leaf)},
};

/* Bounded by its fields: a depth, a bitmap of at most 32 bytes, at most UL_SMT_DEPTH hashes and
 * one leaf, about 8.8 KB at the deepest. */
static const ul_record rec_state_proof = {state_proof_fields, COUNT(state_proof_fields),
                                          sizeof(ul_state_proof), UL_MAX_STATE_PROOF_BYTES,
                                          state_proof_check};

ul_err ul_schema_state_proof_encode(uint8_t *out, size_t cap, size_t *out_len,
                                    const ul_state_proof *p)
{
    ul_state_proof tmp;
    return ul_record_encode(&rec_state_proof, p, &tmp, out, cap, out_len);
}

ul_err ul_schema_state_proof_decode(ul_state_proof *out, const uint8_t *in, size_t len)
{
    return ul_record_decode(&rec_state_proof, out, in, len);
}
