/* Transaction validation and execution into the pending block. Cheap checks (decoding, state
 * look-ups) run before signature verification so that junk costs little; no write happens
 * until every check has passed, so a rejected transaction changes nothing. */
#include <string.h>

#include "internal.h"

size_t ul_key_ns(uint8_t *k, ul_span ns)
{
    k[0] = UL_KEY_STATE;
    k[1] = 'n';
    memcpy(k + 2, ns.ptr, ns.len);
    return 2 + ns.len;
}

size_t ul_key_nonce(uint8_t *k, const uint8_t pub32[UL_PUBKEY_BYTES])
{
    k[0] = UL_KEY_STATE;
    k[1] = 'a';
    memcpy(k + 2, pub32, UL_PUBKEY_BYTES);
    return 2 + UL_PUBKEY_BYTES;
}

size_t ul_key_latest(uint8_t *k, ul_span ns, ul_span hw)
{
    k[0] = UL_KEY_STATE;
    k[1] = 'q';
    memcpy(k + 2, ns.ptr, ns.len);
    k[2 + ns.len] = 0;
    memcpy(k + 3 + ns.len, hw.ptr, hw.len);
    return 3 + ns.len + hw.len;
}

size_t ul_key_nshist(uint8_t *k, ul_span ns, uint64_t index)
{
    k[0] = UL_KEY_NSHIST;
    memcpy(k + 1, ns.ptr, ns.len);
    k[1 + ns.len] = 0;
    ul_be64_put(k + 2 + ns.len, index);
    return 10 + ns.len;
}

size_t ul_key_h(uint8_t *k, uint8_t family, uint64_t h)
{
    k[0] = family;
    ul_be64_put(k + 1, h);
    return 9;
}

size_t ul_key_hi(uint8_t *k, uint8_t family, uint64_t h, uint32_t i)
{
    ul_key_h(k, family, h);
    ul_be32_put(k + 9, i);
    return 13;
}

size_t ul_key_id(uint8_t *k, uint8_t family, const uint8_t id32[UL_HASH_BYTES])
{
    k[0] = family;
    memcpy(k + 1, id32, UL_HASH_BYTES);
    return 1 + UL_HASH_BYTES;
}

static bool key_in(const uint8_t pub[UL_PUBKEY_BYTES], const uint8_t (*set)[UL_PUBKEY_BYTES],
                   size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (memcmp(pub, set[i], UL_PUBKEY_BYTES) == 0) {
            return true;
        }
    }
    return false;
}

ul_domain ul_exec_domain(uint64_t kind)
{
    return kind == UL_TX_PUBLISH ? UL_DOMAIN_RELEASE
           : kind == UL_TX_REGISTER ? UL_DOMAIN_TX
                                    : UL_DOMAIN_COUNT_;
}

static ul_err verify_sigs(ul_chain *c, const ul_tx *t, ul_domain d)
{
    if (c->sigs_checked) {
        return UL_OK;
    }
    for (size_t i = 0; i < t->n_sigs; i++) {
        ul_err e = ul_client_sig_verify(t->sigs[i].sig, d, c->chain_id, t->body.ptr, t->body.len,
                                        t->sigs[i].pubkey);
        if (e != UL_OK) {
            return e;
        }
    }
    return UL_OK;
}

static ul_err read_nonce(ul_chain *c, const uint8_t pub[UL_PUBKEY_BYTES], uint64_t *nonce)
{
    uint8_t k[UL_KEY_MAX], v[8];
    size_t vlen;
    ul_err e = ul_chain_read(c, k, ul_key_nonce(k, pub), v, sizeof v, &vlen);
    if (e == UL_E_NOT_FOUND) {
        *nonce = 0;
        return UL_OK;
    }
    if (e == UL_OK && vlen != 8) {
        return UL_E_CORRUPT;
    }
    *nonce = e == UL_OK ? ul_be64_get(v) : 0;
    return e;
}

static ul_err exec_register(ul_chain *c, const ul_tx *t, const ul_buf *tx, uint32_t tx_index,
                            uint8_t id32[UL_HASH_BYTES])
{
    ul_register r;
    uint8_t k[UL_KEY_MAX], v[8 + UL_MAX_RECORD_BYTES];
    size_t vlen;
    ul_err e = ul_schema_register_decode(&r, t->body.ptr, t->body.len);
    if (e != UL_OK) {
        return e;
    }
    if ((e = ul_schema_ns_check(r.ns)) != UL_OK) {
        return e;
    }
    e = ul_chain_read(c, k, ul_key_ns(k, r.ns), v, sizeof v, &vlen);
    if (e == UL_OK) {
        return UL_E_NS_EXISTS;
    }
    if (e != UL_E_NOT_FOUND) {
        return e;
    }
    for (size_t i = 0; i < t->n_sigs; i++) {
        uint64_t last;
        if (!key_in(t->sigs[i].pubkey, (const uint8_t(*)[32])r.owners, r.n_owners)) {
            return UL_E_NOT_OWNER;
        }
        if ((e = read_nonce(c, t->sigs[i].pubkey, &last)) != UL_OK) {
            return e;
        }
        if (r.nonce <= last) {
            return UL_E_REPLAY;
        }
    }
    if ((e = verify_sigs(c, t, UL_DOMAIN_TX)) != UL_OK) {
        return e;
    }
    /* Every check passed: write. */
    if (c->pre) {
        memcpy(id32, c->pre->id, UL_HASH_BYTES);
    } else {
        ul_client_sha256(id32, tx->bytes, tx->len);
    }
    ul_be64_put(v, c->height + 1);
    memcpy(v + 8, t->body.ptr, t->body.len);
    if ((e = ul_overlay_put(&c->ov, k, ul_key_ns(k, r.ns), v, 8 + t->body.len)) != UL_OK) {
        return e;
    }
    uint8_t n8[8];
    ul_be64_put(n8, r.nonce);
    for (size_t i = 0; i < t->n_sigs; i++) {
        if ((e = ul_overlay_put(&c->ov, k, ul_key_nonce(k, t->sigs[i].pubkey), n8, 8)) != UL_OK) {
            return e;
        }
    }
    uint8_t loc[12];
    ul_be64_put(loc, c->height + 1);
    ul_be32_put(loc + 8, tx_index);
    return ul_overlay_put(&c->ov, k, ul_key_id(k, UL_KEY_TXHASH, id32), loc, sizeof loc);
}

/* Checks a release against its namespace: signers are publishers, id is new, sequences grow. */
static ul_err check_release(ul_chain *c, const ul_tx *t, const ul_release *r,
                            const uint8_t id32[UL_HASH_BYTES])
{
    uint8_t k[UL_KEY_MAX], v[8 + UL_MAX_RECORD_BYTES];
    size_t vlen;
    ul_register ns;
    ul_err e = ul_chain_read(c, k, ul_key_ns(k, r->ns), v, sizeof v, &vlen);
    if (e == UL_E_NOT_FOUND) {
        return UL_E_NS_UNKNOWN;
    }
    if (e != UL_OK || vlen < 8 || ul_schema_register_decode(&ns, v + 8, vlen - 8) != UL_OK) {
        return e != UL_OK ? e : UL_E_CORRUPT;
    }
    for (size_t i = 0; i < t->n_sigs; i++) {
        if (!key_in(t->sigs[i].pubkey, (const uint8_t(*)[32])ns.publishers, ns.n_publishers)) {
            return UL_E_NOT_PUBLISHER;
        }
    }
    e = ul_chain_read(c, k, ul_key_id(k, UL_KEY_RELEASE, id32), v, sizeof v, &vlen);
    if (e == UL_OK) {
        return UL_E_DUPLICATE;
    }
    if (e != UL_E_NOT_FOUND) {
        return e;
    }
    for (size_t i = 0; i < r->n_hw; i++) {
        e = ul_chain_read(c, k, ul_key_latest(k, r->ns, r->hw[i]), v, sizeof v, &vlen);
        if (e == UL_OK && (vlen != 8 + UL_HASH_BYTES)) {
            return UL_E_CORRUPT;
        }
        if (e == UL_OK && ul_be64_get(v) >= r->seq) {
            return UL_E_SEQUENCE;
        }
        if (e != UL_OK && e != UL_E_NOT_FOUND) {
            return e;
        }
    }
    return UL_OK;
}

static ul_err exec_publish(ul_chain *c, const ul_tx *t, const ul_buf *tx, uint32_t tx_index,
                           uint8_t id32[UL_HASH_BYTES])
{
    ul_release r;
    uint8_t k[UL_KEY_MAX], v[8 + UL_HASH_BYTES];
    ul_err e = ul_schema_release_decode(&r, t->body.ptr, t->body.len);
    if (e != UL_OK) {
        return e;
    }
    if (c->pre) {
        memcpy(id32, c->pre->id, UL_HASH_BYTES);
    } else {
        ul_client_sha256(id32, t->body.ptr, t->body.len);
    }
    if ((e = check_release(c, t, &r, id32)) != UL_OK) {
        return e;
    }
    if ((e = verify_sigs(c, t, UL_DOMAIN_RELEASE)) != UL_OK) {
        return e;
    }
    /* Every check passed: write. */
    ul_be64_put(v, r.seq);
    memcpy(v + 8, id32, UL_HASH_BYTES);
    for (size_t i = 0; i < r.n_hw; i++) {
        if ((e = ul_overlay_put(&c->ov, k, ul_key_latest(k, r.ns, r.hw[i]), v, sizeof v))) {
            return e;
        }
    }
    uint64_t index;
    if ((e = ul_log_append_hash(c->log, c->batch, tx->leaf, &index)) != UL_OK) {
        return e;
    }
    uint8_t loc[20];
    ul_be64_put(loc, index);
    ul_be64_put(loc + 8, c->height + 1);
    ul_be32_put(loc + 16, tx_index);
    if ((e = ul_overlay_put(&c->ov, k, ul_key_id(k, UL_KEY_RELEASE, id32), loc, 20)) != UL_OK ||
        (e = ul_overlay_put(&c->ov, k, ul_key_h(k, UL_KEY_LOGIDX, index), loc + 8, 12)) != UL_OK) {
        return e;
    }
    return ul_overlay_put(&c->ov, k, ul_key_nshist(k, r.ns, index), id32, UL_HASH_BYTES);
}

ul_err ul_exec_tx(ul_chain *c, const ul_buf *tx, uint32_t tx_index, uint8_t id32[UL_HASH_BYTES])
{
    ul_tx t;
    ul_err e = ul_schema_tx_decode(&t, tx->bytes, tx->len);
    if (e != UL_OK) {
        return e;
    }
    switch (t.kind) {
    case UL_TX_REGISTER:
        return exec_register(c, &t, tx, tx_index, id32);
    case UL_TX_PUBLISH:
        return exec_publish(c, &t, tx, tx_index, id32);
    default:
        return UL_E_TX_KIND;
    }
}
