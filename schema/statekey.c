/* State keys (docs/protocol.md section 6): the one place their layouts are written. The node
 * stores and proves state under these bytes; a device hashes the same bytes into its SMT keys.
 * Allocation-free: every builder writes into the caller's buffer.
 */
#include <string.h>

#include "ul_schema.h"

/* Appends in[0..len) at out + *at (the caller checked the room). */
static void put(uint8_t *out, size_t *at, const uint8_t *in, size_t len)
{
    if (len > 0) {
        memcpy(out + *at, in, len);
        *at += len;
    }
}

static void put_be64(uint8_t *out, size_t *at, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        out[(*at)++] = (uint8_t)(v >> (8 * i));
    }
}

/* 'S' family a [0x00 b]: the layout of every family but evidence. Labels past their bounds are
 * UL_E_LIMIT, a key longer than cap UL_E_BUFFER; *len is 0 on failure. */
static ul_err build(uint8_t *out, size_t cap, size_t *len, uint8_t family, ul_span a, size_t a_max,
                    bool pair, ul_span b, size_t b_max)
{
    size_t need = 2 + a.len + (pair ? 1 + b.len : 0), at = 0;
    static const uint8_t nul = 0;

    *len = 0;
    if (a.len > a_max || (pair && b.len > b_max)) {
        return UL_E_LIMIT;
    }
    if (need > cap) {
        return UL_E_BUFFER;
    }
    out[at++] = UL_STATEKEY_PREFIX;
    out[at++] = family;
    put(out, &at, a.ptr, a.len);
    if (pair) {
        put(out, &at, &nul, 1);
        put(out, &at, b.ptr, b.len);
    }
    *len = at;
    return UL_OK;
}

static const ul_span NONE = {NULL, 0};

ul_err ul_schema_statekey_ns(uint8_t *out, size_t cap, size_t *len, ul_span ns)
{
    return build(out, cap, len, UL_STATEKEY_NAMESPACE, ns, UL_MAX_NS_LEN, false, NONE, 0);
}

ul_err ul_schema_statekey_nonce(uint8_t *out, size_t cap, size_t *len,
                                const uint8_t pub32[UL_PUBKEY_BYTES])
{
    ul_span k = {pub32, UL_PUBKEY_BYTES};
    return build(out, cap, len, UL_STATEKEY_NONCE, k, UL_PUBKEY_BYTES, false, NONE, 0);
}

ul_err ul_schema_statekey_latest(uint8_t *out, size_t cap, size_t *len, ul_span ns, ul_span hw)
{
    return build(out, cap, len, UL_STATEKEY_LATEST, ns, UL_MAX_NS_LEN, true, hw, UL_MAX_LABEL_LEN);
}

ul_err ul_schema_statekey_installable(uint8_t *out, size_t cap, size_t *len, ul_span ns, ul_span hw)
{
    return build(out, cap, len, UL_STATEKEY_INSTALLABLE, ns, UL_MAX_NS_LEN, true, hw,
                 UL_MAX_LABEL_LEN);
}

ul_err ul_schema_statekey_approvals(uint8_t *out, size_t cap, size_t *len,
                                    const uint8_t id32[UL_HASH_BYTES])
{
    ul_span id = {id32, UL_HASH_BYTES};
    return build(out, cap, len, UL_STATEKEY_APPROVALS, id, UL_HASH_BYTES, false, NONE, 0);
}

ul_err ul_schema_statekey_revocation(uint8_t *out, size_t cap, size_t *len,
                                     const uint8_t id32[UL_HASH_BYTES])
{
    ul_span id = {id32, UL_HASH_BYTES};
    return build(out, cap, len, UL_STATEKEY_REVOCATION, id, UL_HASH_BYTES, false, NONE, 0);
}

ul_err ul_schema_statekey_valset(uint8_t *out, size_t cap, size_t *len)
{
    return build(out, cap, len, UL_STATEKEY_VALSET, NONE, 0, false, NONE, 0);
}

ul_err ul_schema_statekey_evidence(uint8_t *out, size_t cap, size_t *len,
                                   const uint8_t accused32[UL_PUBKEY_BYTES], uint64_t height,
                                   uint64_t round, uint8_t type)
{
    ul_span acc = {accused32, UL_PUBKEY_BYTES};
    ul_err e = cap < UL_STATEKEY_EVIDENCE_BYTES ? UL_E_BUFFER
                                                : build(out, cap, len, UL_STATEKEY_EVIDENCE, acc,
                                                        UL_PUBKEY_BYTES, false, NONE, 0);
    size_t at = e == UL_OK ? *len : 0;

    if (e != UL_OK) {
        *len = 0;
        return e;
    }
    put_be64(out, &at, height);
    put_be64(out, &at, round);
    out[at++] = type;
    *len = at;
    return UL_OK;
}

ul_err ul_schema_statekey_evidence_read(const uint8_t *k, size_t len,
                                        uint8_t accused32[UL_PUBKEY_BYTES], uint64_t *height,
                                        uint64_t *round, uint8_t *type)
{
    uint64_t h = 0, r = 0;

    if (len != UL_STATEKEY_EVIDENCE_BYTES || k[0] != UL_STATEKEY_PREFIX ||
        k[1] != UL_STATEKEY_EVIDENCE) {
        return UL_E_ARG;
    }
    for (size_t i = 0; i < 8; i++) {
        h = h << 8 | k[2 + UL_PUBKEY_BYTES + i];
        r = r << 8 | k[10 + UL_PUBKEY_BYTES + i];
    }
    memcpy(accused32, k + 2, UL_PUBKEY_BYTES);
    *height = h;
    *round = r;
    *type = k[18 + UL_PUBKEY_BYTES];
    return UL_OK;
}
