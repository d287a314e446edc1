/* The equivocation evidence transaction body: two votes one validator signed that conflict, with
 * their signatures, as the exact canonical vote bytes that were signed. The decoder also decodes
 * both votes and fixes their order (by block hash), so one equivocation has one encoding.
 */
#include <stddef.h>
#include <string.h>

#include "internal.h"

#define REQ UL_FIELD_REQUIRED
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Largest body: nonce, key, two votes at the bound and two signatures, with their heads. */
_Static_assert(1 + 10 + 35 + 2 * (1 + 3 + UL_MAX_VOTE_BYTES) + 2 * (1 + 2 + UL_SIG_BYTES) +
                       UL_MAX_SIGS * 100 <=
                   UL_MAX_TX_BYTES,
               "an evidence transaction fits a transaction");

/* A vote's canonical bytes, kept as a span: a byte string of 1..UL_MAX_VOTE_BYTES. */
static ul_err vote_bytes_dec(ul_cbor_reader *r, void *obj, const ul_field *f)
{
    ul_cbor_item it;
    ul_span *s = (ul_span *)((char *)obj + f->off);
    ul_err e = ul_cbor_expect(r, UL_CBOR_BYTES, &it);
    if (e != UL_OK) {
        return e;
    }
    if (it.val > UL_MAX_VOTE_BYTES) {
        return UL_E_LIMIT;
    }
    if (it.val == 0) {
        return UL_E_SCHEMA_FIELD;
    }
    s->ptr = it.data;
    s->len = (size_t)it.val;
    return UL_OK;
}

static void vote_bytes_enc(ul_cbor_writer *w, const void *obj, const ul_field *f)
{
    ul_span s = *(const ul_span *)((const char *)obj + f->off);
    if (s.len > UL_MAX_VOTE_BYTES) {
        ul_cbor_fail(w, UL_E_LIMIT);
        return;
    }
    ul_cbor_put_bytes(w, s.ptr, s.len);
}

static const ul_codec codec_vote_bytes = {vote_bytes_dec, vote_bytes_enc};

static ul_err votes_decode(const ul_evidence *v, ul_vote *a, ul_vote *b)
{
    ul_err e = ul_schema_vote_decode(a, v->vote_a.ptr, v->vote_a.len);
    return e != UL_OK ? e : ul_schema_vote_decode(b, v->vote_b.ptr, v->vote_b.len);
}

/* Both votes must be canonical votes; A's hash strictly below B's. Equal hashes are two copies of
 * one vote (or two times for it), which is no conflict at all: UL_E_EVIDENCE. */
static ul_err evidence_check(const void *obj)
{
    ul_vote a, b;
    ul_err e = votes_decode((const ul_evidence *)obj, &a, &b);
    if (e != UL_OK) {
        return e;
    }
    int order = memcmp(a.block_hash, b.block_hash, UL_HASH_BYTES);
    return order < 0 ? UL_OK : order == 0 ? UL_E_EVIDENCE : UL_E_SCHEMA_FIELD;
}

static const ul_field evidence_fields[] = {
    {1, &ul_codec_uint, offsetof(ul_evidence, nonce), 0, REQ},
    {2, &ul_codec_fixed, offsetof(ul_evidence, validator), UL_PUBKEY_BYTES, REQ},
    {3, &codec_vote_bytes, offsetof(ul_evidence, vote_a), 0, REQ},
    {4, &ul_codec_fixed, offsetof(ul_evidence, sig_a), UL_SIG_BYTES, REQ},
    {5, &codec_vote_bytes, offsetof(ul_evidence, vote_b), 0, REQ},
    {6, &ul_codec_fixed, offsetof(ul_evidence, sig_b), UL_SIG_BYTES, REQ},
};

static const ul_record rec_evidence = {evidence_fields, COUNT(evidence_fields), sizeof(ul_evidence),
                                       UL_MAX_RECORD_BYTES, evidence_check};

ul_err ul_schema_evidence_encode(uint8_t *out, size_t cap, size_t *out_len, const ul_evidence *v)
{
    ul_evidence tmp;
    return ul_record_encode(&rec_evidence, v, &tmp, out, cap, out_len);
}

ul_err ul_schema_evidence_decode(ul_evidence *out, const uint8_t *in, size_t len)
{
    ul_err e = ul_record_decode(&rec_evidence, out, in, len);
    /* The check decoded both votes already; this keeps them (it cannot fail now). */
    return e != UL_OK ? e : votes_decode(out, &out->a, &out->b);
}
