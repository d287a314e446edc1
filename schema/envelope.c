/* The signed envelope every message between nodes travels in (p2p/peer.c): kind, sender, payload,
 * the sender's signature and an optional attachment. The signed bytes are the map of kind, sender
 * and payload, described by the first three rows of the same field table, so both encodings share
 * one codec. The attachment is bound by hashes in the payload (node/consensus.c checks them).
 */
#include <stddef.h>

#include "internal.h"

#define REQ UL_FIELD_REQUIRED
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* The payload and the attachment: byte strings of at most UL_MAX_PEER_PAYLOAD bytes, kept as
 * spans (f->off names the member). */
static ul_err payload_dec(ul_cbor_reader *r, void *obj, const ul_field *f)
{
    ul_cbor_item it;
    ul_err e = ul_cbor_expect(r, UL_CBOR_BYTES, &it);
    if (e != UL_OK) {
        return e;
    }
    if (it.val > UL_MAX_PEER_PAYLOAD) {
        return UL_E_LIMIT;
    }
    *(ul_span *)((char *)obj + f->off) = (ul_span){it.data, (size_t)it.val};
    return UL_OK;
}

static void payload_enc(ul_cbor_writer *w, const void *obj, const ul_field *f)
{
    ul_span p = *(const ul_span *)((const char *)obj + f->off);
    if (p.len > UL_MAX_PEER_PAYLOAD) {
        ul_cbor_fail(w, UL_E_LIMIT); /* refused before a byte of it is copied */
        return;
    }
    ul_cbor_put_bytes(w, p.ptr, p.len);
}

static const ul_codec codec_payload = {payload_dec, payload_enc};

static ul_err envelope_check(const void *obj)
{
    const ul_envelope *e = obj;
    return (e->kind >= 1 && e->kind <= UL_PEER_KIND_MAX) ? UL_OK : UL_E_SCHEMA_FIELD;
}

/* The signed map is the first three rows; the envelope all five (the attachment optional). */
static const ul_field envelope_fields[] = {
    {1, &ul_codec_uint, offsetof(ul_envelope, kind), 0, REQ},
    {2, &ul_codec_fixed, offsetof(ul_envelope, from), UL_PUBKEY_BYTES, REQ},
    {3, &codec_payload, offsetof(ul_envelope, payload), 0, REQ},
    {4, &ul_codec_fixed, offsetof(ul_envelope, sig), UL_SIG_BYTES, REQ},
    {5, &codec_payload, offsetof(ul_envelope, attach), 0, offsetof(ul_envelope, has_attach)},
};

static const ul_record rec_envelope = {envelope_fields, COUNT(envelope_fields), sizeof(ul_envelope),
                                       UL_MAX_PEER_ENVELOPE_BYTES, envelope_check};
static const ul_record rec_signed = {envelope_fields, 3, sizeof(ul_envelope),
                                     UL_MAX_PEER_ENVELOPE_BYTES, envelope_check};

ul_err ul_schema_envelope_encode(uint8_t *out, size_t cap, size_t *out_len, const ul_envelope *e)
{
    ul_envelope tmp;
    return ul_record_encode(&rec_envelope, e, &tmp, out, cap, out_len);
}

ul_err ul_schema_envelope_decode(ul_envelope *out, const uint8_t *in, size_t len)
{
    return ul_record_decode(&rec_envelope, out, in, len);
}

ul_err ul_schema_envelope_signed_encode(uint8_t *out, size_t cap, size_t *out_len,
                                        const ul_envelope *e)
{
    ul_envelope tmp;
    return ul_record_encode(&rec_signed, e, &tmp, out, cap, out_len);
}
