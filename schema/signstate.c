/* A validator's sign state record: the last (height, round, step) its key signed and its lock,
 * which upledgerd keeps in its own file beside the key (the double-sign guard, node/consensus.c).
 */
#include <stddef.h>
#include <stdint.h>

#include "internal.h"

#define REQ UL_FIELD_REQUIRED
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

_Static_assert(1 + 2 + 34 + 4 * 9 + 2 + 34 <= UL_MAX_SIGN_STATE_BYTES,
               "the largest sign state fits its bound");

/* Height 0 means nothing signed; a lock comes whole (round and hash) and is at most the last
 * round signed. */
static ul_err sign_state_check(const void *obj)
{
    const ul_sign_state *st = obj;
    if (st->round > UINT32_MAX || st->step > UL_SIGN_PRECOMMIT ||
        st->has_lock != st->has_lock_hash || (st->has_lock && st->lock_round > st->round)) {
        return UL_E_SCHEMA_FIELD;
    }
    if ((st->height == 0) != (st->step == UL_SIGN_NONE) ||
        (st->height == 0 && (st->round != 0 || st->has_lock))) {
        return UL_E_SCHEMA_FIELD;
    }
    return UL_OK;
}

static const ul_field sign_state_fields[] = {
    {1, &ul_codec_fixed, offsetof(ul_sign_state, pubkey), UL_PUBKEY_BYTES, REQ},
    {2, &ul_codec_uint, offsetof(ul_sign_state, height), 0, REQ},
    {3, &ul_codec_uint, offsetof(ul_sign_state, round), 0, REQ},
    {4, &ul_codec_uint, offsetof(ul_sign_state, step), 0, REQ},
    {5, &ul_codec_uint, offsetof(ul_sign_state, lock_round), 0, offsetof(ul_sign_state, has_lock)},
    {6, &ul_codec_fixed, offsetof(ul_sign_state, lock_hash), UL_HASH_BYTES,
     offsetof(ul_sign_state, has_lock_hash)},
};

static const ul_record rec_sign_state = {sign_state_fields, COUNT(sign_state_fields),
                                         sizeof(ul_sign_state), UL_MAX_SIGN_STATE_BYTES,
                                         sign_state_check};

ul_err ul_schema_sign_state_encode(uint8_t *out, size_t cap, size_t *out_len,
                                   const ul_sign_state *st)
{
    ul_sign_state tmp;
    return ul_record_encode(&rec_sign_state, st, &tmp, out, cap, out_len);
}

ul_err ul_schema_sign_state_decode(ul_sign_state *out, const uint8_t *in, size_t len)
{
    return ul_record_decode(&rec_sign_state, out, in, len);
}

/* The block and its last commit are records embedded whole, each counting its own nesting as in
 * a block carried by a query message (a register's policy sits deep inside a block). */
static ul_err embedded_map_dec(ul_cbor_reader *r, void *obj, const ul_field *f)
{
    ul_cbor_type t;
    ul_err e = ul_cbor_skip_wire(r, (ul_span *)((char *)obj + f->off), &t);
    return e == UL_OK && t != UL_CBOR_MAP ? UL_E_CBOR_TYPE : e;
}

static void embedded_map_enc(ul_cbor_writer *w, const void *obj, const ul_field *f)
{
    ul_cbor_put_raw(w, *(const ul_span *)((const char *)obj + f->off));
}

static const ul_codec codec_embedded_map = {embedded_map_dec, embedded_map_enc};

/* A lock is for a block of a height that has one: height 1 and up. */
static ul_err lock_record_check(const void *obj)
{
    const ul_lock_record *r = obj;
    return r->height == 0 || r->round > UINT32_MAX ? UL_E_SCHEMA_FIELD : UL_OK;
}

static const ul_field lock_record_fields[] = {
    {1, &ul_codec_uint, offsetof(ul_lock_record, height), 0, REQ},
    {2, &ul_codec_uint, offsetof(ul_lock_record, round), 0, REQ},
    {3, &ul_codec_fixed, offsetof(ul_lock_record, hash), UL_HASH_BYTES, REQ},
    {4, &codec_embedded_map, offsetof(ul_lock_record, block), 0, REQ},
    {5, &codec_embedded_map, offsetof(ul_lock_record, last_commit), 0,
     offsetof(ul_lock_record, has_last_commit)},
};

static const ul_record rec_lock_record = {lock_record_fields, COUNT(lock_record_fields),
                                          sizeof(ul_lock_record), UL_MAX_LOCK_RECORD_BYTES,
                                          lock_record_check};

ul_err ul_schema_lock_record_encode(uint8_t *out, size_t cap, size_t *out_len,
                                    const ul_lock_record *r)
{
    ul_lock_record tmp;
    return ul_record_encode(&rec_lock_record, r, &tmp, out, cap, out_len);
}

ul_err ul_schema_lock_record_decode(ul_lock_record *out, const uint8_t *in, size_t len)
{
    return ul_record_decode(&rec_lock_record, out, in, len);
}
