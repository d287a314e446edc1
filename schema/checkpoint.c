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

static const ul_field checkpoint_fields[] = {
    {1, &ul_codec_uint, offsetof(ul_checkpoint, v.height), 0, REQ},
    {2, &ul_codec_fixed, offsetof(ul_checkpoint, v.header_hash), UL_HASH_BYTES, REQ},
    {3, &ul_codec_uint, offsetof(ul_checkpoint, v.time_ms), 0, REQ},
    {4, &ul_codec_sigs, offsetof(ul_checkpoint, n_sigs), offsetof(ul_checkpoint, sigs), REQ},
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
