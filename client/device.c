/* What a device persists between updates (ul_device_state): its trust anchor from the genesis,
 * factory-installed components, and the A/B slot state machine — boot in trial, confirm, or fall
 * back to the other slot after an unconfirmed start.
 */
#include <string.h>

#include "internal.h"

ul_err ul_client_device_init(ul_device_state *st, const uint8_t *genesis, size_t len,
                             const uint8_t *hw, size_t hw_len)
{
    ul_span set;
    if (st == NULL || (genesis == NULL && len > 0) || (hw == NULL && hw_len > 0)) {
        return UL_E_ARG;
    }
    memset(st, 0, sizeof *st);
    /* The set's hash is SHA-256 of its canonical bytes, which the genesis embeds verbatim. */
    ul_err e = ul_schema_genesis_validators(&set, genesis, len);
    if (e != UL_OK) {
        return e;
    }
    if (hw_len == 0 || hw_len > UL_MAX_LABEL_LEN) {
        return UL_E_HW_CLASS;
    }
    for (size_t i = 0; i < hw_len; i++) {
        if (hw[i] < 0x20 || hw[i] > 0x7e) {
            return UL_E_HW_CLASS; /* labels are printable ASCII (schema/ul_schema.h) */
        }
    }
    st->version = 1;
    ul_client_sha256(st->chain_id, genesis, len);
    ul_client_sha256(st->valset_hash, set.ptr, set.len);
    memcpy(st->hw, hw, hw_len);
    st->hw_len = hw_len;
    return UL_OK;
}

const ul_component *ul_client_device_find(const ul_device_state *st, const uint8_t *ns,
                                          size_t ns_len)
{
    for (size_t i = 0; st != NULL && i < st->n_components && i < UL_MAX_COMPONENTS; i++) {
        if (st->comp[i].ns_len == ns_len && memcmp(st->comp[i].ns, ns, ns_len) == 0) {
            return &st->comp[i];
        }
    }
    return NULL;
}

/* Namespace order of the components (the device-state codec's): bytes, then shorter first. */
static int ns_cmp(const ul_component *c, const uint8_t *ns, size_t ns_len)
{
    size_t m = c->ns_len < ns_len ? c->ns_len : ns_len;
    int d = memcmp(c->ns, ns, m);
    if (d != 0) {
        return d;
    }
    return c->ns_len < ns_len ? -1 : c->ns_len > ns_len ? 1 : 0;
}

ul_err ul_client_device_add(ul_device_state *st, const uint8_t *ns, size_t ns_len,
                            const uint8_t *version, size_t version_len, uint64_t seq)
{
    ul_version v;
    size_t at = 0;
    if (st == NULL) {
        return UL_E_ARG;
    }
    if (ul_schema_ns_check((ul_span){ns, ns_len}) != UL_OK) {
        return UL_E_NS_NAME;
    }
    if (ul_client_device_find(st, ns, ns_len) != NULL) {
        return UL_E_EXISTS;
    }
    if (st->n_components >= UL_MAX_COMPONENTS) {
        return UL_E_LIMIT;
    }
    if (ul_client_version_parse(&v, version, version_len) != UL_OK ||
        version_len > UL_MAX_LABEL_LEN) {
        return UL_E_VERSION_STR;
    }
    while (at < st->n_components && ns_cmp(&st->comp[at], ns, ns_len) < 0) {
        at++;
    }
    memmove(&st->comp[at + 1], &st->comp[at], (st->n_components - at) * sizeof st->comp[0]);
    st->n_components++;
    ul_component *c = &st->comp[at];
    memset(c, 0, sizeof *c);
    memcpy(c->ns, ns, ns_len);
    c->ns_len = ns_len;
    c->slot[0].seq = seq;
    memcpy(c->slot[0].version, version, version_len);
    c->slot[0].version_len = version_len;
    return UL_OK;
}

/* A decimal sequence number: 1 or more digits, nothing else, no overflow (strtoull would take
 * a sign and spaces, and saturate). */
static ul_err parse_seq(uint64_t *out, const uint8_t *s, size_t len)
{
    uint64_t v = 0;
    if (len == 0) {
        return UL_E_ARG;
    }
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return UL_E_ARG;
        }
        uint64_t d = (uint64_t)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10) {
            return UL_E_ARG;
        }
        v = v * 10 + d;
    }
    *out = v;
    return UL_OK;
}

ul_err ul_client_device_add_spec(ul_device_state *st, const uint8_t *spec, size_t len)
{
    uint64_t seq = 0;
    if (st == NULL || spec == NULL || len == 0) {
        return UL_E_ARG;
    }
    const uint8_t *eq = memchr(spec, '=', len);
    if (eq == NULL || eq == spec) {
        return UL_E_ARG;
    }
    const uint8_t *version = eq + 1;
    size_t version_len = len - (size_t)(version - spec);
    for (size_t i = version_len; i > 0; i--) { /* the last '@' */
        if (version[i - 1] == '@') {
            ul_err e = parse_seq(&seq, version + i, version_len - i);
            if (e != UL_OK) {
                return e;
            }
            version_len = i - 1;
            break;
        }
    }
    if (version_len == 0) {
        return UL_E_ARG;
    }
    return ul_client_device_add(st, spec, (size_t)(eq - spec), version, version_len, seq);
}

size_t ul_client_device_boot(ul_device_state *st)
{
    size_t fell_back = 0;
    for (size_t i = 0; st != NULL && i < st->n_components && i < UL_MAX_COMPONENTS; i++) {
        ul_component *c = &st->comp[i];
        if (!c->trial) {
            continue;
        }
        if (c->boots == 0) {
            c->boots = 1; /* the first start of the new image */
            continue;
        }
        /* Started once already and never confirmed: the image does not work. */
        c->active = 1 - (c->active & 1);
        c->trial = false;
        c->boots = 0;
        fell_back++;
    }
    return fell_back;
}

ul_err ul_client_device_confirm(ul_device_state *st, const uint8_t *ns, size_t ns_len)
{
    ul_component *c = (ul_component *)ul_client_device_find(st, ns, ns_len);
    if (c == NULL) {
        return UL_E_NOT_FOUND;
    }
    if (!c->trial) {
        return UL_E_SEQUENCE_CALL;
    }
    c->trial = false;
    c->boots = 0;
    return UL_OK;
}
