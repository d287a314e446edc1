/* The validator-set change transaction body: a nonce and the new set. The set is read with the
 * same codec as genesis's; a set that breaks one of its rules is reported as an invalid change
 * (UL_E_VALSET_CHANGE) so an operator sees why the node refused it, while bounds stay UL_E_LIMIT.
 */
#include <stddef.h>

#include "internal.h"

#define REQ UL_FIELD_REQUIRED
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static ul_err new_set_dec(ul_cbor_reader *r, void *obj, const ul_field *f)
{
    ul_err e = ul_valset_read(r, (ul_valset *)((char *)obj + f->off));
    /* The valset reader says UL_E_SCHEMA_FIELD for an empty set, unsorted or repeated keys, zero
     * power or a key of the wrong length: each makes this change invalid. */
    return e == UL_E_SCHEMA_FIELD ? UL_E_VALSET_CHANGE : e;
}

static void new_set_enc(ul_cbor_writer *w, const void *obj, const ul_field *f)
{
    ul_valset_write(w, (const ul_valset *)((const char *)obj + f->off));
}

static const ul_codec codec_new_set = {new_set_dec, new_set_enc};

static const ul_field valset_change_fields[] = {
    {1, &ul_codec_uint, offsetof(ul_valset_change, nonce), 0, REQ},
    {2, &codec_new_set, offsetof(ul_valset_change, validators), 0, REQ},
};

/* Bounded like every other transaction body (the largest set is well inside, see ul_limits.h). */
static const ul_record rec_valset_change = {valset_change_fields, COUNT(valset_change_fields),
                                            sizeof(ul_valset_change), UL_MAX_RECORD_BYTES, NULL};

ul_err ul_schema_valset_change_encode(uint8_t *out, size_t cap, size_t *out_len,
                                      const ul_valset_change *v)
{
    ul_valset_change tmp;
    return ul_record_encode(&rec_valset_change, v, &tmp, out, cap, out_len);
}

ul_err ul_schema_valset_change_decode(ul_valset_change *out, const uint8_t *in, size_t len)
{
    return ul_record_decode(&rec_valset_change, out, in, len);
}
