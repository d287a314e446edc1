/* Publisher-side records: the release record and the signed
 * transaction envelope, each described by a field table that drives both directions.
 */
#include <stddef.h>
#include <string.h>

#include "internal.h"

#define REQ UL_FIELD_REQUIRED
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* ---- Lists of labels ---------------------------------------------------------------------- */

static ul_err span_list_dec(ul_cbor_reader *r, ul_span *spans, size_t *n, size_t min, size_t max,
                            size_t max_len)
{
    ul_err e = ul_cbor_enter_array(r, min, max, n);
    for (size_t i = 0; e == UL_OK && i < *n; i++) {
        e = ul_read_label(r, &spans[i], max_len);
    }
    if (e == UL_OK) {
        ul_cbor_leave(r);
    }
    return e;
}

static ul_err links_dec(ul_cbor_reader *r, void *obj, const ul_field *f)
{
    ul_release *rel = obj;
    return span_list_dec(r, rel->links, &rel->n_links, 0, UL_MAX_LINKS, UL_MAX_LINK_LEN);
}

static void links_enc(ul_cbor_writer *w, const void *obj, const ul_field *f)
{
    const ul_release *rel = obj;
    ul_labels_enc(w, rel->links, rel->n_links, UL_MAX_LINKS, UL_MAX_LINK_LEN);
}

static ul_err hw_dec(ul_cbor_reader *r, void *obj, const ul_field *f)
{
    ul_release *rel = obj;
    return span_list_dec(r, rel->hw, &rel->n_hw, 1, UL_MAX_HW, UL_MAX_LABEL_LEN);
}

static void hw_enc(ul_cbor_writer *w, const void *obj, const ul_field *f)
{
    const ul_release *rel = obj;
    ul_labels_enc(w, rel->hw, rel->n_hw, UL_MAX_HW, UL_MAX_LABEL_LEN);
}

/* ---- Dependencies: [* [ns, constraint]] --------------------------------------------------- */

static ul_err deps_dec(ul_cbor_reader *r, void *obj, const ul_field *f)
{
    ul_release *rel = obj;
    ul_err e = ul_cbor_enter_array(r, 0, UL_MAX_DEPS, &rel->n_deps);
    for (size_t i = 0; e == UL_OK && i < rel->n_deps; i++) {
        e = ul_cbor_enter_tuple(r, 2);
        if (e == UL_OK) {
            e = ul_read_ns(r, &rel->deps[i].ns);
        }
        if (e == UL_OK) {
            e = ul_read_label(r, &rel->deps[i].constraint, UL_MAX_LABEL_LEN);
        }
        if (e == UL_OK) {
            ul_cbor_leave(r);
        }
    }
    if (e == UL_OK) {
        ul_cbor_leave(r);
    }
    return e;
}

static void deps_enc(ul_cbor_writer *w, const void *obj, const ul_field *f)
{
    const ul_release *rel = obj;
    if (rel->n_deps > UL_MAX_DEPS) {
        ul_cbor_fail(w, UL_E_LIMIT);
        return;
    }
    ul_cbor_put_array(w, rel->n_deps);
    for (size_t i = 0; i < rel->n_deps; i++) {
        ul_cbor_put_array(w, 2);
        ul_put_label(w, rel->deps[i].ns, UL_MAX_NS_LEN);
        ul_put_label(w, rel->deps[i].constraint, UL_MAX_LABEL_LEN);
    }
}

/* ---- Encryption info: {1 alg, 2 chunk, 3 [+ [hw, sealed key]]} ---------------------------- */

static ul_err wrapped_dec(ul_cbor_reader *r, void *obj, const ul_field *f)
{
    ul_enc_info *enc = obj;
    ul_err e = ul_cbor_enter_array(r, 1, UL_MAX_WRAPPED_KEYS, &enc->n_keys);
    for (size_t i = 0; e == UL_OK && i < enc->n_keys; i++) {
        e = ul_cbor_enter_tuple(r, 2);
        if (e == UL_OK) {
            e = ul_read_label(r, &enc->keys[i].hw, UL_MAX_LABEL_LEN);
        }
        if (e == UL_OK) {
            ul_cbor_item it;
            e = ul_cbor_expect(r, UL_CBOR_BYTES, &it);
            if (e == UL_OK && it.val != UL_SEALED_KEY_BYTES) {
                e = UL_E_SCHEMA_FIELD;
            }
            enc->keys[i].sealed = (ul_span){it.data, (size_t)it.val};
        }
        if (e == UL_OK) {
            ul_cbor_leave(r);
        }
    }
    if (e == UL_OK) {
        ul_cbor_leave(r);
    }
    return e;
}

static void wrapped_enc(ul_cbor_writer *w, const void *obj, const ul_field *f)
{
    const ul_enc_info *enc = obj;
    if (enc->n_keys > UL_MAX_WRAPPED_KEYS) {
        ul_cbor_fail(w, UL_E_LIMIT);
        return;
    }
    ul_cbor_put_array(w, enc->n_keys);
    for (size_t i = 0; i < enc->n_keys; i++) {
        ul_cbor_put_array(w, 2);
        ul_put_label(w, enc->keys[i].hw, UL_MAX_LABEL_LEN);
        if (enc->keys[i].sealed.len != UL_SEALED_KEY_BYTES) {
            ul_cbor_fail(w, UL_E_SCHEMA_FIELD);
            return;
        }
        ul_cbor_put_bytes(w, enc->keys[i].sealed.ptr, UL_SEALED_KEY_BYTES);
    }
}

static ul_err enc_check(const void *obj)
{
    const ul_enc_info *enc = obj;
    if (enc->alg != UL_ENC_SECRETSTREAM || enc->chunk < 1 || enc->chunk > UL_MAX_ENC_CHUNK) {
        return UL_E_SCHEMA_FIELD;
    }
    for (size_t i = 0; i < enc->n_keys; i++) {
        for (size_t j = 0; j < i; j++) {
            if (ul_span_eq(enc->keys[i].hw, enc->keys[j].hw)) {
                return UL_E_SCHEMA_FIELD; /* two keys for one hardware class */
            }
        }
    }
    return UL_OK;
}

static const ul_codec codec_wrapped = {wrapped_dec, wrapped_enc};

static const ul_field enc_fields[] = {
    {1, &ul_codec_uint, offsetof(ul_enc_info, alg), 0, REQ},
    {2, &ul_codec_uint, offsetof(ul_enc_info, chunk), 0, REQ},
    {3, &codec_wrapped, 0, 0, REQ},
};

static const ul_record rec_enc = {enc_fields, COUNT(enc_fields), sizeof(ul_enc_info), SIZE_MAX,
                                  enc_check};

static ul_err enc_dec(ul_cbor_reader *r, void *obj, const ul_field *f)
{
    return ul_map_decode(r, &rec_enc, &((ul_release *)obj)->enc);
}

static void enc_enc(ul_cbor_writer *w, const void *obj, const ul_field *f)
{
    ul_map_encode(w, &rec_enc, &((const ul_release *)obj)->enc);
}

/* ---- Release record ----------------------------------------------------------------------- */

static bool hw_listed(const ul_release *rel, ul_span hw)
{
    for (size_t i = 0; i < rel->n_hw; i++) {
        if (ul_span_eq(rel->hw[i], hw)) {
            return true;
        }
    }
    return false;
}

static ul_err release_check(const void *obj)
{
    const ul_release *rel = obj;
    if (rel->kind > UL_KIND_MAX_) {
        return UL_E_SCHEMA_FIELD;
    }
    for (size_t i = 1; i < rel->n_hw; i++) {
        for (size_t j = 0; j < i; j++) {
            if (ul_span_eq(rel->hw[i], rel->hw[j])) {
                return UL_E_SCHEMA_FIELD; /* duplicated hardware class */
            }
        }
    }
    for (size_t i = 0; rel->has_enc && i < rel->enc.n_keys; i++) {
        if (!hw_listed(rel, rel->enc.keys[i].hw)) {
            return UL_E_SCHEMA_FIELD; /* a key for a class the release does not support */
        }
    }
    return UL_OK;
}

static const ul_codec codec_links = {links_dec, links_enc};
static const ul_codec codec_hw = {hw_dec, hw_enc};
static const ul_codec codec_deps = {deps_dec, deps_enc};
static const ul_codec codec_enc = {enc_dec, enc_enc};

static const ul_field release_fields[] = {
    {1, &ul_codec_ns, offsetof(ul_release, ns), 0, REQ},
    {2, &ul_codec_label, offsetof(ul_release, provider), 0, REQ},
    {3, &ul_codec_uint, offsetof(ul_release, time), 0, REQ},
    {4, &ul_codec_label, offsetof(ul_release, version), 0, REQ},
    {5, &ul_codec_uint, offsetof(ul_release, seq), 0, REQ},
    {6, &ul_codec_fixed, offsetof(ul_release, digest), UL_HASH_BYTES, REQ},
    {7, &ul_codec_uint, offsetof(ul_release, size), 0, REQ},
    {8, &ul_codec_label, offsetof(ul_release, file), 0, REQ},
    {9, &codec_links, 0, 0, REQ},
    {10, &codec_hw, 0, 0, REQ},
    {11, &codec_deps, 0, 0, REQ},
    {12, &ul_codec_uint, offsetof(ul_release, kind), 0, REQ},
    {13, &ul_codec_fixed, offsetof(ul_release, precursor), UL_HASH_BYTES,
     offsetof(ul_release, has_precursor)},
    {14, &codec_enc, 0, 0, offsetof(ul_release, has_enc)},
};

static const ul_record rec_release = {release_fields, COUNT(release_fields), sizeof(ul_release),
                                      UL_MAX_RECORD_BYTES, release_check};

ul_err ul_schema_release_encode(uint8_t *out, size_t cap, size_t *out_len, const ul_release *r)
{
    ul_release tmp;
    return ul_record_encode(&rec_release, r, &tmp, out, cap, out_len);
}

ul_err ul_schema_release_decode(ul_release *out, const uint8_t *in, size_t len)
{
    return ul_record_decode(&rec_release, out, in, len);
}

/* ---- Signed transaction ------------------------------------------------------------------- */

static ul_err sigs_dec(ul_cbor_reader *r, void *obj, const ul_field *f)
{
    ul_tx *t = obj;
    ul_err e = ul_cbor_enter_array(r, 1, UL_MAX_SIGS, &t->n_sigs);
    for (size_t i = 0; e == UL_OK && i < t->n_sigs; i++) {
        e = ul_cbor_enter_tuple(r, 2);
        if (e == UL_OK) {
            e = ul_cbor_read_fixed(r, t->sigs[i].pubkey, UL_PUBKEY_BYTES);
        }
        if (e == UL_OK) {
            e = ul_cbor_read_fixed(r, t->sigs[i].sig, UL_SIG_BYTES);
        }
        if (e == UL_OK && i > 0 &&
            memcmp(t->sigs[i - 1].pubkey, t->sigs[i].pubkey, UL_PUBKEY_BYTES) >= 0) {
            e = UL_E_SCHEMA_FIELD; /* unsorted, or two signatures by one key */
        }
        if (e == UL_OK) {
            ul_cbor_leave(r);
        }
    }
    if (e == UL_OK) {
        ul_cbor_leave(r);
    }
    return e;
}

/* The tx pieces (ul_schema_tx_prefix/middle/sig_encode): the one encoding of a transaction,
 * which ul_schema_tx_encode concatenates and a streaming verifier hashes piece by piece. */
static void tx_prefix_write(ul_cbor_writer *w, uint64_t kind)
{
    ul_cbor_put_map(w, 3);
    ul_cbor_put_uint(w, 1);
    ul_cbor_put_uint(w, kind);
    ul_cbor_put_uint(w, 2);
}

static void tx_sigs_head_write(ul_cbor_writer *w, size_t n_sigs)
{
    if (n_sigs > UL_MAX_SIGS) {
        ul_cbor_fail(w, UL_E_LIMIT);
        return;
    }
    ul_cbor_put_array(w, n_sigs);
}

static void tx_sig_write(ul_cbor_writer *w, const ul_sig *s)
{
    ul_cbor_put_array(w, 2);
    ul_cbor_put_bytes(w, s->pubkey, UL_PUBKEY_BYTES);
    ul_cbor_put_bytes(w, s->sig, UL_SIG_BYTES);
}

static void sigs_enc(ul_cbor_writer *w, const void *obj, const ul_field *f)
{
    const ul_tx *t = obj;
    tx_sigs_head_write(w, t->n_sigs);
    for (size_t i = 0; w->err == UL_OK && i < t->n_sigs; i++) {
        tx_sig_write(w, &t->sigs[i]);
    }
}

static ul_err tx_check(const void *obj)
{
    const ul_tx *t = obj;
    return (t->kind >= 1 && t->kind <= UL_TX_KIND_MAX_) ? UL_OK : UL_E_TX_KIND;
}

static const ul_codec codec_sigs = {sigs_dec, sigs_enc};

static const ul_field tx_fields[] = {
    {1, &ul_codec_uint, offsetof(ul_tx, kind), 0, REQ},
    {2, &ul_codec_inner, offsetof(ul_tx, body), UL_CBOR_MAP, REQ},
    {3, &codec_sigs, 0, 0, REQ},
};

static const ul_record rec_tx = {tx_fields, COUNT(tx_fields), sizeof(ul_tx), UL_MAX_TX_BYTES,
                                 tx_check};

ul_err ul_schema_tx_encode(uint8_t *out, size_t cap, size_t *out_len, const ul_tx *t)
{
    ul_tx tmp;
    ul_cbor_writer w;
    if (t == NULL || out_len == NULL) {
        return UL_E_ARG;
    }
    ul_cbor_writer_init(&w, out, cap);
    tx_prefix_write(&w, t->kind);
    ul_cbor_put_raw(&w, t->body);
    ul_cbor_put_uint(&w, 3);
    sigs_enc(&w, t, NULL);
    ul_err e = ul_record_finish(&w, out_len);
    if (e == UL_OK) {
        e = ul_schema_tx_decode(&tmp, out, w.len);
    }
    if (e != UL_OK) {
        *out_len = 0;
    }
    return e;
}

ul_err ul_schema_tx_prefix_encode(uint8_t *out, size_t cap, size_t *out_len, uint64_t kind)
{
    ul_cbor_writer w;
    ul_cbor_writer_init(&w, out, cap);
    if (kind < 1 || kind > UL_TX_KIND_MAX_) {
        ul_cbor_fail(&w, UL_E_TX_KIND);
    }
    tx_prefix_write(&w, kind);
    return ul_record_finish(&w, out_len);
}

ul_err ul_schema_tx_middle_encode(uint8_t *out, size_t cap, size_t *out_len, size_t n_sigs)
{
    ul_cbor_writer w;
    ul_cbor_writer_init(&w, out, cap);
    if (n_sigs == 0) {
        ul_cbor_fail(&w, UL_E_SCHEMA_FIELD);
    }
    ul_cbor_put_uint(&w, 3);
    tx_sigs_head_write(&w, n_sigs);
    return ul_record_finish(&w, out_len);
}

ul_err ul_schema_tx_sig_encode(uint8_t *out, size_t cap, size_t *out_len, const ul_sig *s)
{
    ul_cbor_writer w;
    ul_cbor_writer_init(&w, out, cap);
    if (s == NULL) {
        ul_cbor_fail(&w, UL_E_ARG);
    } else {
        tx_sig_write(&w, s);
    }
    return ul_record_finish(&w, out_len);
}

ul_err ul_schema_tx_decode(ul_tx *out, const uint8_t *in, size_t len)
{
    return ul_record_decode(&rec_tx, out, in, len);
}
