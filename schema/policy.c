/* The namespace policy contract and the transaction bodies that act on it (register, set policy,
 * approve, revoke, rotate, transfer), plus a release's recorded approvals. Canonical CBOR via the
 * table-driven codec of fields.c; consistency rules live here so a decoded policy is usable. */
#include <stddef.h>
#include <string.h>

#include "internal.h"

#define REQ UL_FIELD_REQUIRED
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))
#define AT(type, obj, f) ((type *)((char *)(obj) + (f)->off))
#define CAT(type, obj, f) ((const type *)((const char *)(obj) + (f)->off))

/* Byte order of labels: shorter first on a common prefix. Canonical lists are strictly rising. */
static int label_cmp(ul_span a, ul_span b)
{
    size_t n = a.len < b.len ? a.len : b.len;
    int c = memcmp(a.ptr, b.ptr, n);
    return c ? c : (a.len > b.len) - (a.len < b.len);
}

static ul_err sorted_labels_dec(ul_cbor_reader *r, ul_span *spans, size_t *n, size_t min,
                                size_t max)
{
    ul_err e = ul_cbor_enter_array(r, min, max, n);
    for (size_t i = 0; e == UL_OK && i < *n; i++) {
        e = ul_read_label(r, &spans[i], UL_MAX_LABEL_LEN);
        if (e == UL_OK && i > 0 && label_cmp(spans[i - 1], spans[i]) >= 0) {
            e = UL_E_SCHEMA_FIELD; /* unsorted or repeated */
        }
    }
    if (e == UL_OK) {
        ul_cbor_leave(r);
    }
    return e;
}

/* ---- Key set --------------------------------------------------------------------------------- */

static ul_err keyset_check(const void *obj)
{
    const ul_keyset *k = obj;
    return (k->threshold >= 1 && k->threshold <= k->n) ? UL_OK : UL_E_POLICY;
}

static const ul_field keyset_fields[] = {
    {1, &ul_codec_keys, offsetof(ul_keyset, n), offsetof(ul_keyset, keys), REQ},
    {2, &ul_codec_uint, offsetof(ul_keyset, threshold), 0, REQ},
};
static const ul_record rec_keyset = {keyset_fields, COUNT(keyset_fields), sizeof(ul_keyset),
                                     SIZE_MAX, keyset_check};

static ul_err keyset_dec(ul_cbor_reader *r, void *obj, const ul_field *f)
{
    return ul_map_decode(r, &rec_keyset, AT(ul_keyset, obj, f));
}

static void keyset_enc(ul_cbor_writer *w, const void *obj, const ul_field *f)
{
    ul_map_encode(w, &rec_keyset, CAT(ul_keyset, obj, f));
}

static const ul_codec codec_keyset = {keyset_dec, keyset_enc};

/* ---- Roles, requirements, label lists of the policy ------------------------------------------ */

static const ul_field role_fields[] = {
    {1, &ul_codec_label, offsetof(ul_role, name), 0, REQ},
    {2, &codec_keyset, offsetof(ul_role, keys), 0, REQ},
};
static const ul_record rec_role = {role_fields, COUNT(role_fields), sizeof(ul_role), SIZE_MAX,
                                   NULL};

static bool reserved_name(ul_span n)
{
    return ul_span_eq_str(n, "owners") || ul_span_eq_str(n, "publishers");
}

static ul_err roles_dec(ul_cbor_reader *r, void *obj, const ul_field *f)
{
    ul_policy *p = obj;
    ul_err e = ul_cbor_enter_array(r, 0, UL_MAX_ROLES, &p->n_roles);
    for (size_t i = 0; e == UL_OK && i < p->n_roles; i++) {
        e = ul_map_decode(r, &rec_role, &p->roles[i]);
        if (e == UL_OK && reserved_name(p->roles[i].name)) {
            e = UL_E_POLICY;
        }
        if (e == UL_OK && i > 0 && label_cmp(p->roles[i - 1].name, p->roles[i].name) >= 0) {
            e = UL_E_SCHEMA_FIELD;
        }
    }
    if (e == UL_OK) {
        ul_cbor_leave(r);
    }
    return e;
}

static void roles_enc(ul_cbor_writer *w, const void *obj, const ul_field *f)
{
    const ul_policy *p = obj;
    if (p->n_roles > UL_MAX_ROLES) {
        ul_cbor_fail(w, UL_E_LIMIT);
        return;
    }
    ul_cbor_put_array(w, p->n_roles);
    for (size_t i = 0; i < p->n_roles; i++) {
        ul_map_encode(w, &rec_role, &p->roles[i]);
    }
}

static ul_err require_dec(ul_cbor_reader *r, void *obj, const ul_field *f)
{
    ul_policy *p = obj;
    ul_err e = ul_cbor_enter_array(r, 0, UL_KIND_MAX_ + 1, &p->n_require);
    for (size_t i = 0; e == UL_OK && i < p->n_require; i++) {
        ul_requirement *q = &p->require[i];
        e = ul_cbor_enter_tuple(r, 2);
        if (e == UL_OK && (e = ul_cbor_read_uint(r, &q->kind)) == UL_OK) {
            e = sorted_labels_dec(r, q->roles, &q->n, 1, UL_MAX_ROLES);
        }
        if (e == UL_OK &&
            (q->kind > UL_KIND_MAX_ || (i > 0 && p->require[i - 1].kind >= q->kind))) {
            e = UL_E_SCHEMA_FIELD;
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

static void require_enc(ul_cbor_writer *w, const void *obj, const ul_field *f)
{
    const ul_policy *p = obj;
    if (p->n_require > UL_KIND_MAX_ + 1) {
        ul_cbor_fail(w, UL_E_LIMIT);
        return;
    }
    ul_cbor_put_array(w, p->n_require);
    for (size_t i = 0; i < p->n_require; i++) {
        ul_cbor_put_array(w, 2);
        ul_cbor_put_uint(w, p->require[i].kind);
        ul_labels_enc(w, p->require[i].roles, p->require[i].n, UL_MAX_ROLES, UL_MAX_LABEL_LEN);
    }
}

static ul_err hw_dec(ul_cbor_reader *r, void *obj, const ul_field *f)
{
    ul_policy *p = obj;
    return sorted_labels_dec(r, p->hw, &p->n_hw, 0, UL_MAX_HW);
}

static void hw_enc(ul_cbor_writer *w, const void *obj, const ul_field *f)
{
    const ul_policy *p = obj;
    ul_labels_enc(w, p->hw, p->n_hw, UL_MAX_HW, UL_MAX_LABEL_LEN);
}

static ul_err revokers_dec(ul_cbor_reader *r, void *obj, const ul_field *f)
{
    ul_policy *p = obj;
    return sorted_labels_dec(r, p->revokers, &p->n_revokers, 1, UL_MAX_ROLES + 2);
}

static void revokers_enc(ul_cbor_writer *w, const void *obj, const ul_field *f)
{
    const ul_policy *p = obj;
    ul_labels_enc(w, p->revokers, p->n_revokers, UL_MAX_ROLES + 2, UL_MAX_LABEL_LEN);
}

/* ---- Policy -----------------------------------------------------------------------------------
 */

static bool role_defined(const ul_policy *p, ul_span name)
{
    for (size_t i = 0; i < p->n_roles; i++) {
        if (ul_span_eq(p->roles[i].name, name)) {
            return true;
        }
    }
    return false;
}

/* Every name the policy uses must denote a key set it defines. */
static ul_err policy_check(const void *obj)
{
    const ul_policy *p = obj;
    for (size_t i = 0; i < p->n_require; i++) {
        for (size_t j = 0; j < p->require[i].n; j++) {
            if (!role_defined(p, p->require[i].roles[j])) {
                return UL_E_POLICY;
            }
        }
    }
    for (size_t i = 0; i < p->n_revokers; i++) {
        if (!reserved_name(p->revokers[i]) && !role_defined(p, p->revokers[i])) {
            return UL_E_POLICY;
        }
    }
    return UL_OK;
}

static const ul_codec codec_roles = {roles_dec, roles_enc};
static const ul_codec codec_require = {require_dec, require_enc};
static const ul_codec codec_hw = {hw_dec, hw_enc};
static const ul_codec codec_revokers = {revokers_dec, revokers_enc};

static const ul_field policy_fields[] = {
    {1, &codec_keyset, offsetof(ul_policy, owners), 0, REQ},
    {2, &codec_keyset, offsetof(ul_policy, publishers), 0, REQ},
    {3, &codec_roles, 0, 0, REQ},
    {4, &codec_require, 0, 0, REQ},
    {5, &codec_hw, 0, 0, REQ},
    {6, &codec_revokers, 0, 0, REQ},
    {7, &ul_codec_uint, offsetof(ul_policy, eos), 0, offsetof(ul_policy, has_eos)},
};
static const ul_record rec_policy = {policy_fields, COUNT(policy_fields), sizeof(ul_policy),
                                     UL_MAX_RECORD_BYTES, policy_check};

ul_err ul_schema_policy_encode(uint8_t *out, size_t cap, size_t *out_len, const ul_policy *p)
{
    ul_policy tmp;
    return ul_record_encode(&rec_policy, p, &tmp, out, cap, out_len);
}

ul_err ul_schema_policy_decode(ul_policy *out, const uint8_t *in, size_t len)
{
    return ul_record_decode(&rec_policy, out, in, len);
}

static ul_err policy_dec(ul_cbor_reader *r, void *obj, const ul_field *f)
{
    return ul_map_decode(r, &rec_policy, AT(ul_policy, obj, f));
}

static void policy_enc(ul_cbor_writer *w, const void *obj, const ul_field *f)
{
    ul_map_encode(w, &rec_policy, CAT(ul_policy, obj, f));
}

static const ul_codec codec_policy = {policy_dec, policy_enc};

/* ---- Transaction bodies ------------------------------------------------------------------------
 */

/* Defines the field table, record and encode/decode pair of one body type. */
#define BODY(name, type, ...)                                                                      \
    static const ul_field name##_fields[] = {__VA_ARGS__};                                         \
    static const ul_record rec_##name = {name##_fields, COUNT(name##_fields), sizeof(type),        \
                                         UL_MAX_RECORD_BYTES, NULL};                               \
    ul_err ul_schema_##name##_encode(uint8_t *out, size_t cap, size_t *out_len, const type *v)     \
    {                                                                                              \
        type tmp;                                                                                  \
        return ul_record_encode(&rec_##name, v, &tmp, out, cap, out_len);                          \
    }                                                                                              \
    ul_err ul_schema_##name##_decode(type *out, const uint8_t *in, size_t len)                     \
    {                                                                                              \
        return ul_record_decode(&rec_##name, out, in, len);                                        \
    }

BODY(register, ul_register, {1, &ul_codec_ns, offsetof(ul_register, ns), 0, REQ},
     {2, &ul_codec_uint, offsetof(ul_register, nonce), 0, REQ},
     {3, &codec_policy, offsetof(ul_register, policy), 0, REQ})

BODY(set_policy, ul_set_policy, {1, &ul_codec_ns, offsetof(ul_set_policy, ns), 0, REQ},
     {2, &ul_codec_uint, offsetof(ul_set_policy, nonce), 0, REQ},
     {3, &codec_policy, offsetof(ul_set_policy, policy), 0, REQ})

BODY(approve, ul_approve, {1, &ul_codec_fixed, offsetof(ul_approve, release), UL_HASH_BYTES, REQ},
     {2, &ul_codec_label, offsetof(ul_approve, role), 0, REQ},
     {3, &ul_codec_uint, offsetof(ul_approve, nonce), 0, REQ})

BODY(revoke, ul_revoke, {1, &ul_codec_fixed, offsetof(ul_revoke, release), UL_HASH_BYTES, REQ},
     {2, &ul_codec_label, offsetof(ul_revoke, reason), 0, REQ},
     {3, &ul_codec_uint, offsetof(ul_revoke, nonce), 0, REQ})

BODY(rotate, ul_rotate, {1, &ul_codec_ns, offsetof(ul_rotate, ns), 0, REQ},
     {2, &ul_codec_uint, offsetof(ul_rotate, nonce), 0, REQ},
     {3, &ul_codec_label, offsetof(ul_rotate, target), 0, REQ},
     {4, &codec_keyset, offsetof(ul_rotate, keys), 0, REQ})

BODY(transfer, ul_transfer, {1, &ul_codec_ns, offsetof(ul_transfer, ns), 0, REQ},
     {2, &ul_codec_uint, offsetof(ul_transfer, nonce), 0, REQ},
     {3, &codec_keyset, offsetof(ul_transfer, owners), 0, REQ},
     {4, &codec_keyset, offsetof(ul_transfer, publishers), 0, REQ})

/* ---- Approvals (a state value) -----------------------------------------------------------------
 */

ul_err ul_schema_approvals_decode(ul_approvals *out, const uint8_t *in, size_t len)
{
    ul_cbor_reader r;
    ul_field keys = {0, &ul_codec_keys, offsetof(ul_role_approvals, n),
                     offsetof(ul_role_approvals, keys), REQ};
    ul_cbor_reader_init(&r, in, len, 0);
    ul_err e = ul_cbor_enter_array(&r, 0, UL_MAX_ROLES, &out->n);
    for (size_t i = 0; e == UL_OK && i < out->n; i++) {
        ul_role_approvals *a = &out->roles[i];
        e = ul_cbor_enter_tuple(&r, 2);
        if (e == UL_OK && (e = ul_read_label(&r, &a->role, UL_MAX_LABEL_LEN)) == UL_OK) {
            e = keys.codec->dec(&r, a, &keys);
        }
        if (e == UL_OK && i > 0 && label_cmp(out->roles[i - 1].role, a->role) >= 0) {
            e = UL_E_SCHEMA_FIELD;
        }
        if (e == UL_OK) {
            ul_cbor_leave(&r);
        }
    }
    if (e == UL_OK) {
        ul_cbor_leave(&r);
        e = ul_cbor_done(&r);
    }
    return e;
}

ul_err ul_schema_approvals_encode(uint8_t *out, size_t cap, size_t *out_len, const ul_approvals *a)
{
    ul_cbor_writer w;
    ul_field keys = {0, &ul_codec_keys, offsetof(ul_role_approvals, n),
                     offsetof(ul_role_approvals, keys), REQ};
    *out_len = 0;
    if (a->n > UL_MAX_ROLES) {
        return UL_E_LIMIT;
    }
    ul_cbor_writer_init(&w, out, cap);
    ul_cbor_put_array(&w, a->n);
    for (size_t i = 0; i < a->n; i++) {
        ul_cbor_put_array(&w, 2);
        ul_put_label(&w, a->roles[i].role, UL_MAX_LABEL_LEN);
        keys.codec->enc(&w, &a->roles[i], &keys);
    }
    if (w.err != UL_OK) {
        return w.err;
    }
    ul_approvals check; /* only canonical approvals leave the encoder */
    ul_err e = ul_schema_approvals_decode(&check, out, w.len);
    if (e == UL_OK) {
        *out_len = w.len;
    }
    return e;
}
