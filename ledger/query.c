/* Read-only queries over the committed chain: blocks, releases, namespaces, proof bundles. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "../contracts/ul_contracts.h"
#include "internal.h"

/* A label a query keys by must be there and within its bound: the query endpoint checks both
 * first (ul_msg_check); this keeps any caller from building a key of nothing, or one past the
 * key buffer (UL_KEY_MAX). */
static ul_err label_ok(ul_span s, size_t max)
{
    return !s.ptr || s.len == 0 ? UL_E_ARG : s.len > max ? UL_E_LIMIT : UL_OK;
}

static ul_err get_h(ul_chain *c, uint8_t family, uint64_t h, uint8_t **v, size_t *len)
{
    uint8_t k[16];
    if (h == 0 || h > c->height) {
        return UL_E_NOT_FOUND;
    }
    return ul_store_get(c->store, k, ul_key_h(k, family, h), v, len);
}

ul_err ul_chain_header_bytes(ul_chain *c, uint64_t h, uint8_t **hdr, size_t *hlen)
{
    uint8_t *v;
    size_t len;
    ul_err e = get_h(c, UL_KEY_HEADER, h, &v, &len);
    if (e != UL_OK) {
        return e;
    }
    if (len < 4) {
        free(v);
        return UL_E_CORRUPT;
    }
    memmove(v, v + 4, len - 4);
    *hdr = v;
    *hlen = len - 4;
    return UL_OK;
}

ul_err ul_chain_commit_bytes(ul_chain *c, uint64_t h, uint8_t **cm, size_t *clen)
{
    return get_h(c, UL_KEY_COMMIT, h, cm, clen);
}

ul_err ul_chain_block_bytes(ul_chain *c, uint64_t h, uint8_t **blk, size_t *blen)
{
    uint8_t *rec = NULL, *out = NULL, k[16];
    ul_span *txs = NULL;
    size_t len, n = 0, total = 0;
    ul_err e = get_h(c, UL_KEY_HEADER, h, &rec, &len);
    if (e != UL_OK) {
        return e;
    }
    uint32_t n_txs = len >= 4 ? ul_be32_get(rec) : UINT32_MAX;
    if (n_txs > UL_MAX_BLOCK_TXS || !(txs = calloc(n_txs + 1, sizeof *txs))) {
        e = n_txs > UL_MAX_BLOCK_TXS ? UL_E_CORRUPT : UL_E_NOMEM;
        goto out;
    }
    for (; n < n_txs; n++) {
        uint8_t *t;
        size_t tl;
        if ((e = ul_store_get(c->store, k, ul_key_hi(k, UL_KEY_TX, h, (uint32_t)n), &t, &tl))) {
            e = e == UL_E_NOT_FOUND ? UL_E_CORRUPT : e;
            goto out;
        }
        txs[n] = (ul_span){t, tl};
        total += tl;
    }
    size_t cap = total + len + 64;
    if (!(out = malloc(cap))) {
        e = UL_E_NOMEM;
        goto out;
    }
    e = ul_schema_block_encode(out, cap, blen, (ul_span){rec + 4, len - 4}, txs, n_txs);
out:
    for (size_t i = 0; txs && i < n; i++) {
        free((void *)txs[i].ptr);
    }
    free(txs);
    free(rec);
    if (e != UL_OK) {
        free(out);
        return e;
    }
    *blk = out;
    return UL_OK;
}

static ul_err release_loc(ul_chain *c, const uint8_t id32[UL_HASH_BYTES], ul_release_loc *loc)
{
    uint8_t k[UL_KEY_MAX], v[20];
    ul_err e = ul_store_get_fixed(c->store, k, ul_key_id(k, UL_KEY_RELEASE, id32), v, sizeof v);
    if (e != UL_OK) {
        return e;
    }
    loc->log_index = ul_be64_get(v);
    loc->height = ul_be64_get(v + 8);
    loc->tx_index = ul_be32_get(v + 16);
    return UL_OK;
}

ul_err ul_chain_release(ul_chain *c, const uint8_t id32[UL_HASH_BYTES], uint8_t **tx, size_t *len,
                        ul_release_loc *loc)
{
    uint8_t k[UL_KEY_MAX];
    ul_err e = release_loc(c, id32, loc);
    if (e != UL_OK) {
        return e;
    }
    e = ul_store_get(c->store, k, ul_key_hi(k, UL_KEY_TX, loc->height, loc->tx_index), tx, len);
    return e == UL_E_NOT_FOUND ? UL_E_CORRUPT : e;
}

ul_err ul_chain_release_at(ul_chain *c, uint64_t index, uint8_t id32[UL_HASH_BYTES])
{
    uint8_t k[UL_KEY_MAX], v[12], *tx;
    size_t len;
    ul_tx t;
    if (index >= ul_chain_log_size(c)) {
        return UL_E_NOT_FOUND;
    }
    ul_err e = ul_store_get_fixed(c->store, k, ul_key_h(k, UL_KEY_LOGIDX, index), v, sizeof v);
    if (e != UL_OK) {
        return e == UL_E_NOT_FOUND ? UL_E_CORRUPT : e;
    }
    e = ul_store_get(c->store, k, ul_key_hi(k, UL_KEY_TX, ul_be64_get(v), ul_be32_get(v + 8)), &tx,
                     &len);
    if (e != UL_OK) {
        return e == UL_E_NOT_FOUND ? UL_E_CORRUPT : e;
    }
    if ((e = ul_schema_tx_decode(&t, tx, len)) == UL_OK) {
        ul_client_sha256(id32, t.body.ptr, t.body.len);
    }
    free(tx);
    return e;
}

ul_err ul_chain_page(ul_chain *c, const uint8_t *prefix, size_t plen, uint64_t from,
                     bool newest_first, uint8_t *out, size_t vsize, size_t cap, size_t *n,
                     uint64_t *next, bool *more)
{
    uint8_t first[UL_KEY_MAX];
    const uint8_t *k, *v;
    size_t kl, vl;
    ul_store_iter *it;
    *n = 0;
    *more = false;
    assert(plen + 8 <= sizeof first);
    memcpy(first, prefix, plen);
    ul_be64_put(first + plen, from);
    ul_err e = newest_first
                   ? ul_store_iter_create_desc(&it, c->store, prefix, plen, first, plen + 8)
                   : ul_store_iter_create(&it, c->store, prefix, plen, first, plen + 8);
    if (e != UL_OK) {
        return e;
    }
    while (!*more && ul_store_iter_next(it, &k, &kl, &v, &vl)) {
        if (vl != vsize || kl != plen + 8) {
            e = UL_E_CORRUPT;
            break;
        }
        if (*n == cap) {
            *more = true; /* the next page starts here */
            *next = ul_be64_get(k + plen);
        } else {
            memcpy(out + (*n)++ * vsize, v, vsize);
        }
    }
    ul_store_iter_destroy(it);
    return e;
}

ul_err ul_chain_history(ul_chain *c, ul_span ns, uint64_t from, bool newest_first,
                        uint8_t (*ids)[UL_HASH_BYTES], size_t cap, size_t *n, uint64_t *next,
                        bool *more)
{
    uint8_t prefix[UL_KEY_MAX];
    ul_err e = label_ok(ns, UL_MAX_NS_LEN);
    *n = 0;
    *more = false;
    if (e != UL_OK || cap == 0 || cap > UL_MAX_HISTORY) {
        return e != UL_OK ? e : UL_E_ARG;
    }
    size_t plen = ul_key_nshist(prefix, ns, 0) - 8;
    return ul_chain_page(c, prefix, plen, from, newest_first, ids[0], UL_HASH_BYTES, cap, n, next,
                         more);
}

ul_err ul_chain_latest(ul_chain *c, ul_span ns, ul_span hw, uint8_t id32[UL_HASH_BYTES],
                       uint64_t *seq)
{
    uint8_t k[UL_KEY_MAX], v[8 + UL_HASH_BYTES];
    size_t kl;
    ul_err e = label_ok(ns, UL_MAX_NS_LEN);
    if (e != UL_OK || (e = label_ok(hw, UL_MAX_LABEL_LEN)) != UL_OK ||
        (e = ul_schema_statekey_latest(k, sizeof k, &kl, ns, hw)) != UL_OK) {
        return e;
    }
    e = ul_store_get_fixed(c->store, k, kl, v, sizeof v);
    if (e == UL_OK) {
        *seq = ul_be64_get(v);
        memcpy(id32, v + 8, UL_HASH_BYTES);
    }
    return e;
}

ul_err ul_chain_namespace(ul_chain *c, ul_span ns, uint8_t **body, size_t *len, uint64_t *height)
{
    uint8_t k[UL_KEY_MAX], *v;
    size_t kl, vl;
    ul_err e = label_ok(ns, UL_MAX_NS_LEN);
    if (e != UL_OK || (e = ul_schema_statekey_ns(k, sizeof k, &kl, ns)) != UL_OK ||
        (e = ul_store_get(c->store, k, kl, &v, &vl)) != UL_OK) {
        return e;
    }
    if (vl < 8) {
        free(v);
        return UL_E_CORRUPT;
    }
    *height = ul_be64_get(v);
    memmove(v, v + 8, vl - 8);
    *body = v;
    *len = vl - 8;
    return UL_OK;
}

ul_err ul_chain_nonce(ul_chain *c, const uint8_t pubkey32[UL_PUBKEY_BYTES], uint64_t *nonce)
{
    uint8_t k[UL_KEY_MAX], v[8];
    size_t kl;
    ul_err e = ul_schema_statekey_nonce(k, sizeof k, &kl, pubkey32);
    if (e == UL_OK) {
        e = ul_store_get_fixed(c->store, k, kl, v, sizeof v);
    }
    *nonce = e == UL_OK ? ul_be64_get(v) : 0;
    return e == UL_E_NOT_FOUND ? UL_OK : e;
}

ul_err ul_chain_tx_status(ul_chain *c, const uint8_t id32[UL_HASH_BYTES], uint64_t *height)
{
    static const uint8_t families[] = {UL_KEY_RELEASE, UL_KEY_TXHASH};
    uint8_t k[UL_KEY_MAX], v[20];
    for (size_t i = 0; i < sizeof families; i++) {
        size_t kl = ul_key_id(k, families[i], id32), vl;
        if (ul_overlay_get(&c->ov, k, kl)) {
            *height = 0;
            return UL_OK;
        }
        ul_err e = ul_chain_read(c, k, kl, v, sizeof v, &vl);
        if (e == UL_OK) {
            *height = ul_be64_get(families[i] == UL_KEY_RELEASE ? v + 8 : v);
            return UL_OK;
        }
        if (e != UL_E_NOT_FOUND) {
            return e;
        }
    }
    return UL_E_NOT_FOUND;
}

void ul_release_status_free(ul_release_status *s)
{
    free(s->approvals);
    free(s->reason);
    memset(s, 0, sizeof *s);
}

/* Reads one state value (committed) into a malloc'd buffer; NULL when absent. */
static ul_err get_state(ul_chain *c, const uint8_t *k, size_t kl, uint8_t **v, size_t *vl)
{
    ul_err e = ul_store_get(c->store, k, kl, v, vl);
    if (e == UL_E_NOT_FOUND) {
        *v = NULL;
        *vl = 0;
        return UL_OK;
    }
    return e;
}

ul_err ul_chain_installable(ul_chain *c, ul_span ns, ul_span hw,
                            uint8_t out[UL_MAX_STATE_VALUE_BYTES], size_t *n)
{
    uint8_t k[UL_KEY_MAX], *v = NULL;
    size_t kl, vl = 0;
    ul_err e = label_ok(ns, UL_MAX_NS_LEN);
    *n = 0;
    if (e != UL_OK || (e = label_ok(hw, UL_MAX_LABEL_LEN)) != UL_OK ||
        (e = ul_schema_statekey_installable(k, sizeof k, &kl, ns, hw)) != UL_OK ||
        (e = get_state(c, k, kl, &v, &vl)) != UL_OK) {
        return e;
    }
    if (vl % 40 != 0 || vl > UL_MAX_STATE_VALUE_BYTES) {
        e = UL_E_CORRUPT;
    } else if (v) {
        memcpy(out, v, vl);
        *n = vl / 40;
    }
    free(v);
    return e;
}

ul_err ul_chain_release_status(ul_chain *c, const uint8_t id32[UL_HASH_BYTES],
                               ul_release_status *out)
{
    uint8_t k[UL_KEY_MAX], *tx = NULL, *ns = NULL, *rev = NULL;
    size_t tlen, nlen, rlen, kl;
    ul_release_loc loc;
    ul_tx t;
    ul_release *r = malloc(sizeof *r);
    ul_policy *p = malloc(sizeof *p);
    ul_approvals *a = malloc(sizeof *a);
    memset(out, 0, sizeof *out);
    ul_err e = r && p && a ? ul_chain_release(c, id32, &tx, &tlen, &loc) : UL_E_NOMEM;
    if (e == UL_OK && (ul_schema_tx_decode(&t, tx, tlen) ||
                       ul_schema_release_decode(r, t.body.ptr, t.body.len))) {
        e = UL_E_CORRUPT;
    }
    if (e == UL_OK && (e = ul_schema_statekey_ns(k, sizeof k, &kl, r->ns)) == UL_OK &&
        (e = get_state(c, k, kl, &ns, &nlen)) == UL_OK &&
        (!ns || nlen < 8 || ul_schema_policy_decode(p, ns + 8, nlen - 8) != UL_OK)) {
        e = UL_E_CORRUPT;
    }
    if (e == UL_OK && (e = ul_schema_statekey_approvals(k, sizeof k, &kl, id32)) == UL_OK &&
        (e = get_state(c, k, kl, &out->approvals, &out->approvals_len)) == UL_OK &&
        (e = ul_schema_statekey_revocation(k, sizeof k, &kl, id32)) == UL_OK &&
        (e = get_state(c, k, kl, &rev, &rlen)) == UL_OK) {
        a->n = 0;
        if (out->approvals &&
            ul_schema_approvals_decode(a, out->approvals, out->approvals_len) != UL_OK) {
            e = UL_E_CORRUPT;
        }
        out->installable = e == UL_OK && ul_policy_installable(p, r->kind, a);
    }
    if (e == UL_OK && rev && rlen >= 8) {
        out->revoked_height = ul_be64_get(rev);
        out->reason_len = rlen - 8;
        if ((out->reason = malloc(rlen - 8 + 1)) != NULL) {
            memcpy(out->reason, rev + 8, rlen - 8);
        }
    }
    free(tx);
    free(ns);
    free(rev);
    free(r);
    free(p);
    free(a);
    if (e != UL_OK) {
        ul_release_status_free(out);
    }
    return e;
}

ul_err ul_chain_state_proof(ul_chain *c, ul_state_kind kind, ul_span ns, ul_span hw,
                            const uint8_t id32[UL_HASH_BYTES], uint64_t h,
                            uint8_t key_hash32[UL_HASH_BYTES], uint8_t **value, size_t *vlen,
                            ul_state_proof *proof)
{
    uint8_t k[UL_KEY_MAX], *hdr;
    size_t kl, hlen;
    ul_header hd;
    ul_err e = UL_OK;
    switch (kind) {
    case UL_STATE_INSTALLABLE:
        if ((e = label_ok(ns, UL_MAX_NS_LEN)) != UL_OK ||
            (e = label_ok(hw, UL_MAX_LABEL_LEN)) != UL_OK) {
            return e;
        }
        e = ul_schema_statekey_installable(k, sizeof k, &kl, ns, hw);
        break;
    case UL_STATE_APPROVALS:
        e = ul_schema_statekey_approvals(k, sizeof k, &kl, id32);
        break;
    case UL_STATE_REVOCATION:
        e = ul_schema_statekey_revocation(k, sizeof k, &kl, id32);
        break;
    case UL_STATE_NAMESPACE:
        if ((e = label_ok(ns, UL_MAX_NS_LEN)) != UL_OK) {
            return e;
        }
        e = ul_schema_statekey_ns(k, sizeof k, &kl, ns);
        break;
    case UL_STATE_VALIDATORS:
        e = ul_schema_statekey_valset(k, sizeof k, &kl);
        break;
    default:
        return UL_E_ARG;
    }
    if (e != UL_OK) {
        return e;
    }
    if ((e = ul_chain_header_bytes(c, h ? h : c->height, &hdr, &hlen)) != UL_OK) {
        return e;
    }
    e = ul_schema_header_decode(&hd, hdr, hlen);
    free(hdr);
    ul_client_sha256(key_hash32, k, kl);
    *value = NULL;
    if (e == UL_OK && (e = ul_smt_prove(c->store, hd.state_root, key_hash32, proof)) == UL_OK) {
        e = ul_statehist_value(c, k, kl, key_hash32, hd.height, proof, value, vlen);
    }
    return e;
}
