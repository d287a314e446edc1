/* Freshness checkpoints: the statement each validator signs for its head every freshness
 * interval, and the record a node keeps of the newest one a quorum signed (docs/protocol.md
 * section 7.4).
 */
#include <stddef.h>
#include <stdint.h>

#include "internal.h"

#define REQ UL_FIELD_REQUIRED
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

_Static_assert(1 + 10 + 35 + 10 + 3 + UL_MAX_VALIDATORS * (1 + 2 + 66) <= UL_MAX_CHECKPOINT_BYTES,
               "the largest checkpoint fits its bound");

static ul_err checkpoint_vote_check(const void *obj)
{
    return ((const ul_checkpoint_vote *)obj)->height >= 1 ? UL_OK : UL_E_SCHEMA_FIELD;
}

static const ul_field checkpoint_vote_fields[] = {
    {1, &ul_codec_uint, offsetof(ul_checkpoint_vote, height), 0, REQ},
    {2, &ul_codec_fixed, offsetof(ul_checkpoint_vote, header_hash), UL_HASH_BYTES, REQ},
    {3, &ul_codec_uint, offsetof(ul_checkpoint_vote, time_ms), 0, REQ},
};

static const ul_record rec_checkpoint_vote = {checkpoint_vote_fields, COUNT(checkpoint_vote_fields),
                                              sizeof(ul_checkpoint_vote), SIZE_MAX,
                                              checkpoint_vote_check};

ul_err ul_schema_checkpoint_vote_encode(uint8_t *out, size_t cap, size_t *out_len,
                                        const ul_checkpoint_vote *v)
{
    ul_checkpoint_vote tmp;
    return ul_record_encode(&rec_checkpoint_vote, v, &tmp, out, cap, out_len);
}

/* ---- The record: sigs [1*64 [index, sig]] ------------------------------------------------- */

static ul_err cp_sig_read(ul_cbor_reader *r, ul_checkpoint_sig *s)
{
    ul_err e = ul_cbor_enter_tuple(r, 2);
    if (e == UL_OK) {
        e = ul_cbor_read_uint(r, &s->index);
    }
    if (e == UL_OK) {
        e = ul_cbor_read_fixed(r, s->sig, UL_SIG_BYTES);
    }
    if (e == UL_OK) {
        ul_cbor_leave(r);
    }
    return e;
}

static ul_err cp_sigs_dec(ul_cbor_reader *r, void *obj, const ul_field *f)
{
    ul_checkpoint *c = obj;
    (void)f;
    ul_err e = ul_cbor_enter_array(r, 1, UL_MAX_VALIDATORS, &c->n_sigs);
    for (size_t i = 0; e == UL_OK && i < c->n_sigs; i++) {
        e = cp_sig_read(r, &c->sigs[i]);
        if (e == UL_OK && (c->sigs[i].index >= UL_MAX_VALIDATORS ||
                           (i > 0 && c->sigs[i - 1].index >= c->sigs[i].index))) {
            e = UL_E_SCHEMA_FIELD;
        }
    }
    if (e == UL_OK) {
        ul_cbor_leave(r);
    }
    return e;
}

static void cp_sigs_enc(ul_cbor_writer *w, const void *obj, const ul_field *f)
{
    const ul_checkpoint *c = obj;
    (void)f;
    if (c->n_sigs > UL_MAX_VALIDATORS) {
        ul_cbor_fail(w, UL_E_LIMIT);
        return;
    }
    ul_cbor_put_array(w, c->n_sigs);
    for (size_t i = 0; i < c->n_sigs; i++) {
        ul_cbor_put_array(w, 2);
        ul_cbor_put_uint(w, c->sigs[i].index);
        ul_cbor_put_bytes(w, c->sigs[i].sig, UL_SIG_BYTES);
    }
}

static const ul_codec codec_cp_sigs = {cp_sigs_dec, cp_sigs_enc};

static const ul_field checkpoint_fields[] = {
    {1, &ul_codec_uint, offsetof(ul_checkpoint, v.height), 0, REQ},
    {2, &ul_codec_fixed, offsetof(ul_checkpoint, v.header_hash), UL_HASH_BYTES, REQ},
    {3, &ul_codec_uint, offsetof(ul_checkpoint, v.time_ms), 0, REQ},
    {4, &codec_cp_sigs, 0, 0, REQ},
};

static ul_err checkpoint_check(const void *obj)
{
    return checkpoint_vote_check(&((const ul_checkpoint *)obj)->v);
}

static const ul_record rec_checkpoint = {checkpoint_fields, COUNT(checkpoint_fields),
                                         sizeof(ul_checkpoint), UL_MAX_CHECKPOINT_BYTES,
                                         checkpoint_check};

ul_err ul_schema_checkpoint_encode(uint8_t *out, size_t cap, size_t *out_len,
                                   const ul_checkpoint *c)
{
    ul_checkpoint tmp;
    return ul_record_encode(&rec_checkpoint, c, &tmp, out, cap, out_len);
}

ul_err ul_schema_checkpoint_decode(ul_checkpoint *out, const uint8_t *in, size_t len)
{
    return ul_record_decode(&rec_checkpoint, out, in, len);
}
