/* The device state (ul_device_state) a device persists between updates: its trust anchor, the
 * highest header it accepted, its hardware class and each component's A/B slots. The struct is
 * checked as a whole (device_check) both after decoding and before encoding.
 */
#include <stddef.h>
#include <string.h>

#include "internal.h"

#define REQ UL_FIELD_REQUIRED
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Component order: namespace bytes, a prefix before its extensions (as client/device.c keeps). */
static int ns_order(const ul_component *a, const ul_component *b)
{
    size_t m = a->ns_len < b->ns_len ? a->ns_len : b->ns_len;
    int d = memcmp(a->ns, b->ns, m);
    if (d != 0) {
        return d;
    }
    return a->ns_len < b->ns_len ? -1 : a->ns_len > b->ns_len ? 1 : 0;
}

/* A version label as a slot holds it: empty (unknown) or 1..UL_MAX_LABEL_LEN printable bytes. */
static ul_err slot_version_check(const ul_slot *s)
{
    if (s->version_len > UL_MAX_LABEL_LEN) {
        return UL_E_LIMIT;
    }
    return s->version_len == 0
               ? UL_OK
               : ul_label_check((ul_span){s->version, s->version_len}, UL_MAX_LABEL_LEN);
}

static ul_err component_check(const ul_component *c)
{
    ul_err e =
        c->ns_len > UL_MAX_NS_LEN ? UL_E_LIMIT : ul_ns_decode_check((ul_span){c->ns, c->ns_len});
    if (e == UL_OK && c->active > 1) {
        e = UL_E_SCHEMA_FIELD;
    }
    for (size_t i = 0; e == UL_OK && i < 2; i++) {
        e = slot_version_check(&c->slot[i]);
    }
    return e;
}

/* Every rule of the record on the struct itself: what decoding checks last, encoding first. */
static ul_err device_check(const void *obj)
{
    static const uint8_t zero[UL_HASH_BYTES];
    const ul_device_state *st = obj;
    if (st->version != 1) {
        return UL_E_VERSION;
    }
    if (st->height == 0 && memcmp(st->header_hash, zero, UL_HASH_BYTES) != 0) {
        return UL_E_SCHEMA_FIELD; /* no header accepted yet, so none to name */
    }
    if (st->hw_len > UL_MAX_LABEL_LEN) {
        return UL_E_LIMIT;
    }
    ul_err e = ul_label_check((ul_span){st->hw, st->hw_len}, UL_MAX_LABEL_LEN);
    if (e == UL_OK && st->n_components > UL_MAX_COMPONENTS) {
        e = UL_E_LIMIT;
    }
    for (size_t i = 0; e == UL_OK && i < st->n_components; i++) {
        e = component_check(&st->comp[i]);
        if (e == UL_OK && i > 0 && ns_order(&st->comp[i - 1], &st->comp[i]) >= 0) {
            e = UL_E_SCHEMA_FIELD; /* unsorted or repeated namespace */
        }
    }
    return e;
}

/* ---- Fields --------------------------------------------------------------------------------- */

static ul_err hw_dec(ul_cbor_reader *r, void *obj, const ul_field *f)
{
    ul_device_state *st = obj;
    ul_span s;
    ul_err e = ul_read_label(r, &s, UL_MAX_LABEL_LEN);
    if (e == UL_OK) {
        memcpy(st->hw, s.ptr, s.len);
        st->hw_len = s.len;
    }
    return e;
}

static void hw_enc(ul_cbor_writer *w, const void *obj, const ul_field *f)
{
    const ul_device_state *st = obj;
    ul_cbor_put_text(w, (ul_span){st->hw, st->hw_len});
}

/* slot = [seq, digest, size, version (empty: unknown)] */
static ul_err slot_dec(ul_cbor_reader *r, ul_slot *s)
{
    ul_cbor_item it;
    ul_err e = ul_cbor_enter_tuple(r, 4);
    if (e == UL_OK) {
        e = ul_cbor_read_uint(r, &s->seq);
    }
    if (e == UL_OK) {
        e = ul_cbor_read_fixed(r, s->digest, UL_HASH_BYTES);
    }
    if (e == UL_OK) {
        e = ul_cbor_read_uint(r, &s->size);
    }
    if (e == UL_OK) {
        e = ul_cbor_expect(r, UL_CBOR_TEXT, &it);
    }
    if (e == UL_OK && it.val > UL_MAX_LABEL_LEN) {
        e = UL_E_LIMIT;
    }
    if (e == UL_OK) {
        memcpy(s->version, it.data, (size_t)it.val);
        s->version_len = (size_t)it.val;
        ul_cbor_leave(r);
    }
    return e;
}

/* A 0/1 field (active slot, trial flag). */
static ul_err read_bit(ul_cbor_reader *r, uint64_t *v)
{
    ul_err e = ul_cbor_read_uint(r, v);
    return (e == UL_OK && *v > 1) ? UL_E_SCHEMA_FIELD : e;
}

/* component = [ns, active, trial, boots, [slot, slot]] */
static ul_err component_dec(ul_cbor_reader *r, ul_component *c)
{
    ul_span ns;
    uint64_t trial = 0;
    ul_err e = ul_cbor_enter_tuple(r, 5);
    if (e == UL_OK && (e = ul_read_ns(r, &ns)) == UL_OK) {
        memcpy(c->ns, ns.ptr, ns.len);
        c->ns_len = ns.len;
        e = read_bit(r, &c->active);
    }
    if (e == UL_OK && (e = read_bit(r, &trial)) == UL_OK) {
        c->trial = trial == 1;
        e = ul_cbor_read_uint(r, &c->boots);
    }
    if (e == UL_OK) {
        e = ul_cbor_enter_tuple(r, 2);
    }
    for (size_t i = 0; e == UL_OK && i < 2; i++) {
        e = slot_dec(r, &c->slot[i]);
    }
    if (e == UL_OK) {
        ul_cbor_leave(r);
        ul_cbor_leave(r);
    }
    return e;
}

static ul_err comps_dec(ul_cbor_reader *r, void *obj, const ul_field *f)
{
    ul_device_state *st = obj;
    ul_err e = ul_cbor_enter_array(r, 0, UL_MAX_COMPONENTS, &st->n_components);
    for (size_t i = 0; e == UL_OK && i < st->n_components; i++) {
        e = component_dec(r, &st->comp[i]);
    }
    if (e == UL_OK) {
        ul_cbor_leave(r);
    }
    return e;
}

static void comps_enc(ul_cbor_writer *w, const void *obj, const ul_field *f)
{
    const ul_device_state *st = obj;
    ul_cbor_put_array(w, st->n_components);
    for (size_t i = 0; i < st->n_components; i++) {
        const ul_component *c = &st->comp[i];
        ul_cbor_put_array(w, 5);
        ul_cbor_put_text(w, (ul_span){c->ns, c->ns_len});
        ul_cbor_put_uint(w, c->active);
        ul_cbor_put_uint(w, c->trial ? 1 : 0);
        ul_cbor_put_uint(w, c->boots);
        ul_cbor_put_array(w, 2);
        for (size_t j = 0; j < 2; j++) {
            const ul_slot *s = &c->slot[j];
            ul_cbor_put_array(w, 4);
            ul_cbor_put_uint(w, s->seq);
            ul_cbor_put_bytes(w, s->digest, UL_HASH_BYTES);
            ul_cbor_put_uint(w, s->size);
            ul_cbor_put_text(w, (ul_span){s->version, s->version_len});
        }
    }
}

static const ul_codec codec_hw = {hw_dec, hw_enc};
static const ul_codec codec_comps = {comps_dec, comps_enc};

static const ul_field device_fields[] = {
    {1, &ul_codec_uint, offsetof(ul_device_state, version), 0, REQ},
    {2, &ul_codec_fixed, offsetof(ul_device_state, chain_id), UL_HASH_BYTES, REQ},
    {3, &ul_codec_fixed, offsetof(ul_device_state, valset_hash), UL_HASH_BYTES, REQ},
    {4, &ul_codec_uint, offsetof(ul_device_state, height), 0, REQ},
    {5, &ul_codec_fixed, offsetof(ul_device_state, header_hash), UL_HASH_BYTES, REQ},
    {6, &codec_hw, 0, 0, REQ},
    {7, &codec_comps, 0, 0, REQ},
};

/* Bounded by its fields: fixed hashes, a label and at most UL_MAX_COMPONENTS components. */
static const ul_record rec_device = {device_fields, COUNT(device_fields), sizeof(ul_device_state),
                                     SIZE_MAX, device_check};

/* Unlike the other encoders this one does not decode its own output into a second copy: the
 * struct is about 4.4 KB and devices encode it, so device_check runs on the struct instead (the
 * same function the decoder ends with; the tests check that both directions agree). */
ul_err ul_schema_device_state_encode(uint8_t *out, size_t cap, size_t *out_len,
                                     const ul_device_state *st)
{
    ul_cbor_writer w;
    if (st == NULL || out_len == NULL) {
        return UL_E_ARG;
    }
    *out_len = 0;
    ul_err e = device_check(st);
    if (e != UL_OK) {
        return e;
    }
    ul_cbor_writer_init(&w, out, cap);
    ul_map_encode(&w, &rec_device, st);
    return ul_record_finish(&w, out_len);
}

ul_err ul_schema_device_state_decode(ul_device_state *out, const uint8_t *in, size_t len)
{
    return ul_record_decode(&rec_device, out, in, len);
}
