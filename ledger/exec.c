/* Transaction validation and execution into the pending block. Cheap checks (decoding, state
 * look-ups) run before signature verification so that junk costs little; no write happens
 * until every check has passed, so a rejected transaction changes nothing. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "../contracts/ul_contracts.h"
#include "internal.h"

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

ul_domain ul_exec_domain(uint64_t kind)
{
    switch (kind) {
    case UL_TX_PUBLISH:
        return UL_DOMAIN_RELEASE;
    case UL_TX_TRANSFER:
        return UL_DOMAIN_TRANSFER;
    case UL_TX_REGISTER:
    case UL_TX_SET_POLICY:
    case UL_TX_APPROVE:
    case UL_TX_REVOKE:
    case UL_TX_ROTATE:
    case UL_TX_VALSET:
    case UL_TX_EVIDENCE:
        return UL_DOMAIN_TX;
    default:
        return UL_DOMAIN_COUNT_;
    }
}

/* Verifies t's signatures. They depend only on the tx bytes (kind, body, keys, signatures) and
 * the chain id, so a tx whose leaf hash is in the cache verified before with the same verdict;
 * callers check which keys may sign (state) before this, on every execution. */
static ul_err verify_sigs(ul_chain *c, const ul_tx *t)
{
    if (c->sigs_checked || ul_sigcache_has(&c->sigcache, c->exec_leaf)) {
        return UL_OK;
    }
    for (size_t i = 0; i < t->n_sigs; i++) {
        ul_err e = ul_sig_verify(t->sigs[i].sig, ul_exec_domain(t->kind), c->chain_id, t->body.ptr,
                                 t->body.len, t->sigs[i].pubkey);
        if (e != UL_OK) {
            return e;
        }
    }
    ul_sigcache_add(&c->sigcache, c->exec_leaf);
    return UL_OK;
}

/* ---- Nonces (replay protection of every transaction but publish) ---------------------------- */

static ul_err check_nonces(ul_chain *c, const ul_tx *t, uint64_t nonce)
{
    for (size_t i = 0; i < t->n_sigs; i++) {
        uint8_t k[UL_KEY_MAX], v[8];
        size_t kl, vlen;
        ul_err e = ul_schema_statekey_nonce(k, sizeof k, &kl, t->sigs[i].pubkey);
        if (e == UL_OK) {
            e = ul_chain_read(c, k, kl, v, sizeof v, &vlen);
        }
        if (e == UL_OK && vlen != 8) {
            return UL_E_CORRUPT;
        }
        if (e == UL_OK && ul_be64_get(v) >= nonce) {
            return UL_E_REPLAY;
        }
        if (e != UL_OK && e != UL_E_NOT_FOUND) {
            return e;
        }
    }
    return UL_OK;
}

/* The writes every nonce-protected transaction makes once it passed: signer nonces and the
 * tx-hash index that lets a client see it committed. */
static ul_err write_tx_common(ul_chain *c, const ul_tx *t, const ul_buf *tx, uint32_t tx_index,
                              uint64_t nonce, uint8_t id32[UL_HASH_BYTES])
{
    uint8_t k[UL_KEY_MAX], n8[8], loc[12];
    size_t kl;
    ul_err e = UL_OK;
    if (c->pre) {
        memcpy(id32, c->pre->id, UL_HASH_BYTES);
    } else {
        ul_client_sha256(id32, tx->bytes, tx->len);
    }
    ul_be64_put(n8, nonce);
    for (size_t i = 0; e == UL_OK && i < t->n_sigs; i++) {
        if ((e = ul_schema_statekey_nonce(k, sizeof k, &kl, t->sigs[i].pubkey)) == UL_OK) {
            e = ul_overlay_put(&c->ov, k, kl, n8, 8);
        }
    }
    ul_be64_put(loc, c->height + 1);
    ul_be32_put(loc + 8, tx_index);
    return e ? e : ul_overlay_put(&c->ov, k, ul_key_id(k, UL_KEY_TXHASH, id32), loc, sizeof loc);
}

/* ---- Policies ----------------------------------------------------------------------------------
 */

/* A namespace's state value: registration height (8) then the canonical policy. */
typedef struct {
    uint8_t buf[8 + UL_MAX_RECORD_BYTES]; /* the policy's spans point in here */
    uint64_t height;
    ul_policy p;
} ns_state;

/* Out: buf[0..*vlen), a namespace's stored state value (registration height, policy). */
static ul_err read_ns(ul_chain *c, ul_span ns, uint8_t buf[8 + UL_MAX_RECORD_BYTES], size_t *vlen)
{
    uint8_t k[UL_KEY_MAX];
    size_t kl;
    ul_err e = ul_schema_statekey_ns(k, sizeof k, &kl, ns); /* UL_E_LIMIT past UL_MAX_NS_LEN */
    if (e != UL_OK) {
        return e;
    }
    e = ul_chain_read(c, k, kl, buf, 8 + UL_MAX_RECORD_BYTES, vlen);
    if (e == UL_E_NOT_FOUND) {
        return UL_E_NS_UNKNOWN;
    }
    return e != UL_OK ? e : *vlen < 8 ? UL_E_CORRUPT : UL_OK;
}

/* Decodes s->buf[0..vlen), a state value read_ns gave, into s. */
static ul_err ns_decode(ns_state *s, size_t vlen)
{
    if (ul_schema_policy_decode(&s->p, s->buf + 8, vlen - 8) != UL_OK) {
        return UL_E_CORRUPT;
    }
    s->height = ul_be64_get(s->buf);
    return UL_OK;
}

static ul_err load_policy(ul_chain *c, ul_span ns, ns_state *s)
{
    size_t vlen;
    ul_err e = read_ns(c, ns, s->buf, &vlen);
    return e != UL_OK ? e : ns_decode(s, vlen);
}

/* Namespace states decoded for publishes, by the bytes they decode from. A block's releases come
 * from a few namespaces, and decoding a policy (~4,700 instructions) cost more than decoding the
 * release itself. A hit is bytes equal to those decoded, so it is exactly what decoding them
 * gives, and nothing needs dropping when a policy changes: a changed policy is other bytes. */
#define POLICY_MEMO_SLOTS 16

struct ul_policy_memo {
    size_t len[POLICY_MEMO_SLOTS]; /* bytes of st[i].buf decoded; 0: empty */
    ns_state st[POLICY_MEMO_SLOTS];
};

void ul_policy_memo_free(struct ul_policy_memo *m)
{
    free(m);
}

/* As load_policy, for a caller that reads the state before its next call on c.
 * Out: *out, the decoded state, in c's memo (valid until the next call). */
static ul_err load_policy_memo(ul_chain *c, ul_span ns, ns_state *scratch, const ns_state **out)
{
    size_t vlen, slot = 0;
    ul_err e = read_ns(c, ns, scratch->buf, &vlen);
    if (e == UL_OK && !c->policy_memo && !(c->policy_memo = calloc(1, sizeof *c->policy_memo))) {
        e = UL_E_NOMEM;
    }
    if (e != UL_OK) {
        return e;
    }
    for (size_t i = 0; i < ns.len; i++) { /* FNV-1a of the name: a namespace keeps its slot */
        slot = (slot ^ ns.ptr[i]) * 0x100000001b3u;
    }
    struct ul_policy_memo *m = c->policy_memo;
    ns_state *st = &m->st[slot % POLICY_MEMO_SLOTS];
    size_t *len = &m->len[slot % POLICY_MEMO_SLOTS];
    if (*len != vlen || memcmp(st->buf, scratch->buf, vlen) != 0) {
        *len = 0;
        memcpy(st->buf, scratch->buf, vlen);
        if ((e = ns_decode(st, vlen)) != UL_OK) {
            return e;
        }
        *len = vlen;
    }
    *out = st;
    return UL_OK;
}

static ul_err store_policy(ul_chain *c, ul_span ns, uint64_t height, const ul_policy *p)
{
    uint8_t k[UL_KEY_MAX], v[8 + UL_MAX_RECORD_BYTES];
    size_t kl, len;
    ul_err e = ul_schema_policy_encode(v + 8, sizeof v - 8, &len, p);
    if (e != UL_OK || (e = ul_schema_statekey_ns(k, sizeof k, &kl, ns)) != UL_OK) {
        return e;
    }
    ul_be64_put(v, height);
    return ul_overlay_put(&c->ov, k, kl, v, 8 + len);
}

/* ---- Namespace transactions ---------------------------------------------------------------------
 */

static ul_err exec_register(ul_chain *c, const ul_tx *t, const ul_buf *tx, uint32_t tx_index,
                            uint8_t id32[UL_HASH_BYTES])
{
    ul_register r;
    ns_state *old = malloc(sizeof *old);
    ul_err e = old ? ul_schema_register_decode(&r, t->body.ptr, t->body.len) : UL_E_NOMEM;
    if (e == UL_OK) { /* the decoder checked the namespace name */
        e = load_policy(c, r.ns, old);
        e = e == UL_OK ? UL_E_NS_EXISTS : e == UL_E_NS_UNKNOWN ? UL_OK : e;
    }
    /* The new policy, valid and of keys that can sign, its own owners must sign into being. */
    if (e == UL_OK && (e = ul_policy_register(&r.policy, t->sigs, t->n_sigs)) == UL_OK &&
        (e = check_nonces(c, t, r.nonce)) == UL_OK && (e = verify_sigs(c, t)) == UL_OK &&
        (e = store_policy(c, r.ns, c->height + 1, &r.policy)) == UL_OK) {
        e = write_tx_common(c, t, tx, tx_index, r.nonce, id32);
    }
    free(old);
    return e;
}

/* Set policy, rotate and transfer: load the policy, let the contract change it, store it. */
static ul_err exec_policy_change(ul_chain *c, const ul_tx *t, const ul_buf *tx, uint32_t tx_index,
                                 uint8_t id32[UL_HASH_BYTES])
{
    union {
        ul_set_policy set;
        ul_rotate rot;
        ul_transfer xfer;
    } b;
    ul_span ns = {0};
    uint64_t nonce = 0;
    ns_state *s = malloc(sizeof *s);
    ul_err e = s ? UL_OK : UL_E_NOMEM;
    if (e == UL_OK && t->kind == UL_TX_SET_POLICY) {
        e = ul_schema_set_policy_decode(&b.set, t->body.ptr, t->body.len);
        ns = b.set.ns, nonce = b.set.nonce;
    } else if (e == UL_OK && t->kind == UL_TX_ROTATE) {
        e = ul_schema_rotate_decode(&b.rot, t->body.ptr, t->body.len);
        ns = b.rot.ns, nonce = b.rot.nonce;
    } else if (e == UL_OK) {
        e = ul_schema_transfer_decode(&b.xfer, t->body.ptr, t->body.len);
        ns = b.xfer.ns, nonce = b.xfer.nonce;
    }
    if (e == UL_OK && (e = load_policy(c, ns, s)) == UL_OK) {
        if (t->kind == UL_TX_SET_POLICY) {
            e = ul_policy_set(&s->p, &b.set.policy, t->sigs, t->n_sigs);
            s->p = b.set.policy;
        } else if (t->kind == UL_TX_ROTATE) {
            e = ul_policy_rotate(&s->p, &b.rot, t->sigs, t->n_sigs);
        } else {
            e = ul_policy_transfer(&s->p, &b.xfer, t->sigs, t->n_sigs, &c->vals,
                                   c->next_time_ms / 1000);
        }
    }
    if (e == UL_OK && (e = check_nonces(c, t, nonce)) == UL_OK &&
        (e = verify_sigs(c, t)) == UL_OK && (e = store_policy(c, ns, s->height, &s->p)) == 0) {
        e = write_tx_common(c, t, tx, tx_index, nonce, id32);
    }
    free(s);
    return e;
}

/* ---- Releases
 * ------------------------------------------------------------------------------------ */

/* A published release, found by id in the pending block or the store. */
typedef struct {
    uint8_t *bytes; /* the publish tx (malloc'd) */
    ul_tx tx;
    ul_release r;
} release_ref;

static ul_err load_release(ul_chain *c, const uint8_t id32[UL_HASH_BYTES], release_ref *out)
{
    uint8_t k[UL_KEY_MAX], loc[20];
    size_t vlen, len;
    ul_err e = ul_chain_read(c, k, ul_key_id(k, UL_KEY_RELEASE, id32), loc, sizeof loc, &vlen);
    if (e != UL_OK || vlen != sizeof loc) {
        return e == UL_E_NOT_FOUND ? UL_E_RELEASE_UNKNOWN : e ? e : UL_E_CORRUPT;
    }
    uint64_t h = ul_be64_get(loc + 8);
    uint32_t i = ul_be32_get(loc + 16);
    if (h == c->height + 1) { /* published earlier in this very block */
        if (i >= c->n_txs || !(out->bytes = malloc(c->txs[i].len))) {
            return i >= c->n_txs ? UL_E_CORRUPT : UL_E_NOMEM;
        }
        memcpy(out->bytes, c->txs[i].bytes, c->txs[i].len);
        len = c->txs[i].len;
    } else if ((e = ul_store_get(c->store, k, ul_key_hi(k, UL_KEY_TX, h, i), &out->bytes, &len))) {
        return e == UL_E_NOT_FOUND ? UL_E_CORRUPT : e;
    }
    if (ul_schema_tx_decode(&out->tx, out->bytes, len) != UL_OK ||
        ul_schema_release_decode(&out->r, out->tx.body.ptr, out->tx.body.len) != UL_OK) {
        free(out->bytes);
        return UL_E_CORRUPT;
    }
    return UL_OK;
}

static ul_err is_revoked(ul_chain *c, const uint8_t id32[UL_HASH_BYTES])
{
    uint8_t k[UL_KEY_MAX], v[8 + UL_MAX_LABEL_LEN];
    size_t kl, vlen;
    ul_err e = ul_schema_statekey_revocation(k, sizeof k, &kl, id32);
    if (e == UL_OK) {
        e = ul_chain_read(c, k, kl, v, sizeof v, &vlen);
    }
    return e == UL_OK ? UL_E_REVOKED : e == UL_E_NOT_FOUND ? UL_OK : e;
}

/* The installable list of one (namespace, hardware class): up to UL_MAX_INSTALLABLE_KEPT
 * entries of (sequence 8 BE, release id 32), highest sequence first. */
#define INST_ENTRY (8 + UL_HASH_BYTES)

static ul_err read_installable(ul_chain *c, const uint8_t *k, size_t kl, uint8_t *v, size_t *n)
{
    size_t vlen;
    ul_err e = ul_chain_read(c, k, kl, v, UL_MAX_INSTALLABLE_KEPT * INST_ENTRY, &vlen);
    if (e == UL_E_NOT_FOUND) {
        *n = 0;
        return UL_OK;
    }
    if (e == UL_OK && vlen % INST_ENTRY != 0) {
        return UL_E_CORRUPT;
    }
    *n = vlen / INST_ENTRY;
    return e;
}

/* Inserts the release into the installable list of each of its hardware classes. */
static ul_err mark_installable(ul_chain *c, const ul_release *r, const uint8_t id32[UL_HASH_BYTES])
{
    uint8_t k[UL_KEY_MAX], v[(UL_MAX_INSTALLABLE_KEPT + 1) * INST_ENTRY];
    for (size_t h = 0; h < r->n_hw; h++) {
        size_t kl, n, at = 0;
        ul_err e = ul_schema_statekey_installable(k, sizeof k, &kl, r->ns, r->hw[h]);
        if (e == UL_OK) {
            e = read_installable(c, k, kl, v, &n);
        }
        if (e != UL_OK) {
            return e;
        }
        while (at < n && ul_be64_get(v + at * INST_ENTRY) > r->seq) {
            at++;
        }
        if (at == UL_MAX_INSTALLABLE_KEPT ||
            (at < n && memcmp(v + at * INST_ENTRY + 8, id32, UL_HASH_BYTES) == 0)) {
            continue; /* older than everything kept, or listed already (a later approval) */
        }
        memmove(v + (at + 1) * INST_ENTRY, v + at * INST_ENTRY, (n - at) * INST_ENTRY);
        ul_be64_put(v + at * INST_ENTRY, r->seq);
        memcpy(v + at * INST_ENTRY + 8, id32, UL_HASH_BYTES);
        n = n + 1 > UL_MAX_INSTALLABLE_KEPT ? UL_MAX_INSTALLABLE_KEPT : n + 1;
        if ((e = ul_overlay_put(&c->ov, k, kl, v, n * INST_ENTRY)) != UL_OK) {
            return e;
        }
    }
    return UL_OK;
}

/* Removes a revoked release from the installable lists: the next one becomes the latest. */
static ul_err unmark_installable(ul_chain *c, const ul_release *r,
                                 const uint8_t id32[UL_HASH_BYTES])
{
    uint8_t k[UL_KEY_MAX], v[UL_MAX_INSTALLABLE_KEPT * INST_ENTRY];
    for (size_t h = 0; h < r->n_hw; h++) {
        size_t kl, n, m = 0;
        ul_err e = ul_schema_statekey_installable(k, sizeof k, &kl, r->ns, r->hw[h]);
        if (e == UL_OK) {
            e = read_installable(c, k, kl, v, &n);
        }
        if (e != UL_OK) {
            return e;
        }
        for (size_t i = 0; i < n; i++) {
            if (memcmp(v + i * INST_ENTRY + 8, id32, UL_HASH_BYTES) != 0) {
                memmove(v + m++ * INST_ENTRY, v + i * INST_ENTRY, INST_ENTRY);
            }
        }
        if (m != n && (e = ul_overlay_put(&c->ov, k, kl, v, m * INST_ENTRY)) != UL_OK) {
            return e;
        }
    }
    return UL_OK;
}

static ul_err load_approvals(ul_chain *c, const uint8_t id32[UL_HASH_BYTES], uint8_t *buf,
                             size_t cap, ul_approvals *a)
{
    uint8_t k[UL_KEY_MAX];
    size_t kl, vlen;
    ul_err e = ul_schema_statekey_approvals(k, sizeof k, &kl, id32);
    if (e == UL_OK) {
        e = ul_chain_read(c, k, kl, buf, cap, &vlen);
    }
    if (e == UL_E_NOT_FOUND) {
        a->n = 0;
        return UL_OK;
    }
    return e != UL_OK ? e : ul_schema_approvals_decode(a, buf, vlen) ? UL_E_CORRUPT : UL_OK;
}

static ul_err exec_approve(ul_chain *c, const ul_tx *t, const ul_buf *tx, uint32_t tx_index,
                           uint8_t id32[UL_HASH_BYTES])
{
    ul_approve b;
    release_ref rel = {0};
    ns_state *s = malloc(sizeof *s);
    ul_approvals *a = malloc(sizeof *a);
    uint8_t *abuf = malloc(UL_MAX_RECORD_BYTES), k[UL_KEY_MAX];
    size_t alen, kl;
    ul_err e = s && a && abuf ? ul_schema_approve_decode(&b, t->body.ptr, t->body.len) : UL_E_NOMEM;
    if (e == UL_OK && (e = load_release(c, b.release, &rel)) == UL_OK &&
        (e = is_revoked(c, b.release)) == UL_OK && (e = load_policy(c, rel.r.ns, s)) == UL_OK &&
        (e = load_approvals(c, b.release, abuf, UL_MAX_RECORD_BYTES, a)) == UL_OK &&
        (e = ul_policy_approve(&s->p, b.role, t->sigs, t->n_sigs, a)) == UL_OK &&
        (e = check_nonces(c, t, b.nonce)) == UL_OK && (e = verify_sigs(c, t)) == UL_OK) {
        /* The approvals' role names point into s: encode before s goes. */
        uint8_t out[UL_MAX_RECORD_BYTES];
        if ((e = ul_search_index(c, NULL, t, b.release)) == UL_OK &&
            (e = ul_schema_approvals_encode(out, sizeof out, &alen, a)) == UL_OK &&
            (e = ul_schema_statekey_approvals(k, sizeof k, &kl, b.release)) == UL_OK &&
            (e = ul_overlay_put(&c->ov, k, kl, out, alen)) == UL_OK &&
            ul_policy_installable(&s->p, rel.r.kind, a)) {
            e = mark_installable(c, &rel.r, b.release);
        }
    }
    if (e == UL_OK) {
        e = write_tx_common(c, t, tx, tx_index, b.nonce, id32);
    }
    free(rel.bytes);
    free(s);
    free(a);
    free(abuf);
    return e;
}

static ul_err exec_revoke(ul_chain *c, const ul_tx *t, const ul_buf *tx, uint32_t tx_index,
                          uint8_t id32[UL_HASH_BYTES])
{
    ul_revoke b;
    release_ref rel = {0};
    ns_state *s = malloc(sizeof *s);
    uint8_t k[UL_KEY_MAX], v[8 + UL_MAX_LABEL_LEN];
    size_t kl;
    ul_err e = s ? ul_schema_revoke_decode(&b, t->body.ptr, t->body.len) : UL_E_NOMEM;
    if (e == UL_OK && (e = load_release(c, b.release, &rel)) == UL_OK &&
        (e = is_revoked(c, b.release)) == UL_OK && (e = load_policy(c, rel.r.ns, s)) == UL_OK &&
        (e = ul_policy_revoke(&s->p, t->sigs, t->n_sigs)) == UL_OK &&
        (e = check_nonces(c, t, b.nonce)) == UL_OK && (e = verify_sigs(c, t)) == UL_OK) {
        ul_be64_put(v, c->height + 1);
        memcpy(v + 8, b.reason.ptr, b.reason.len);
        if ((e = ul_schema_statekey_revocation(k, sizeof k, &kl, b.release)) == UL_OK) {
            e = ul_overlay_put(&c->ov, k, kl, v, 8 + b.reason.len);
        }
        if (e == UL_OK) {
            e = unmark_installable(c, &rel.r, b.release);
        }
    }
    if (e == UL_OK) {
        e = write_tx_common(c, t, tx, tx_index, b.nonce, id32);
    }
    free(rel.bytes);
    free(s);
    return e;
}

/* Dependencies name registered namespaces with constraints some version can meet. A
 * dependency's namespace is only looked up, its policy not decoded: the decoding, never used,
 * was about 0.8% of a validator's CPU at 1000 releases/s. */
static ul_err check_deps(ul_chain *c, const ul_release *r, ns_state *scratch)
{
    for (size_t i = 0; i < r->n_deps; i++) {
        size_t vlen;
        ul_err e = read_ns(c, r->deps[i].ns, scratch->buf, &vlen);
        if (e != UL_OK) {
            return e == UL_E_NS_UNKNOWN ? UL_E_DEPENDENCY : e;
        }
        e = ul_client_constraint_check(r->deps[i].constraint.ptr, r->deps[i].constraint.len);
        if (e != UL_OK) {
            return e;
        }
    }
    return UL_OK;
}

/* 'G' ns -> id of the namespace's newest release (an index, not state: it follows from the log). */
static size_t key_nslast(uint8_t *k, ul_span ns)
{
    k[0] = UL_KEY_NSLAST;
    memcpy(k + 1, ns.ptr, ns.len);
    return 1 + ns.len;
}

/* The distinct namespaces a dependency walk has reached, in the order reached. */
typedef struct {
    size_t n;
    size_t len[UL_MAX_DEP_CLOSURE];
    uint8_t ns[UL_MAX_DEP_CLOSURE][UL_MAX_NS_LEN];
} dep_walk;

static ul_err walk_add(dep_walk *w, ul_span ns, ul_span self)
{
    if (ul_span_eq(ns, self)) {
        return UL_E_DEP_CYCLE;
    }
    for (size_t i = 0; i < w->n; i++) {
        if (ul_span_eq(ns, (ul_span){w->ns[i], w->len[i]})) {
            return UL_OK;
        }
    }
    if (w->n == UL_MAX_DEP_CLOSURE || ns.len > UL_MAX_NS_LEN) {
        return UL_E_LIMIT;
    }
    memcpy(w->ns[w->n], ns.ptr, ns.len);
    w->len[w->n++] = ns.len;
    return UL_OK;
}

/* A release may not need its own namespace, directly or through the newest releases of the
 * namespaces it needs (A needs B, B needs A): no device could install either first. Walks the
 * distinct namespaces breadth first, one read each, at most UL_MAX_DEP_CLOSURE (UL_E_LIMIT). */
static ul_err check_dep_cycle(ul_chain *c, const ul_release *r)
{
    dep_walk *w = malloc(sizeof *w);
    ul_err e = w ? UL_OK : UL_E_NOMEM;
    if (w) {
        w->n = 0;
    }
    for (size_t i = 0; e == UL_OK && i < r->n_deps; i++) {
        e = walk_add(w, r->deps[i].ns, r->ns);
    }
    for (size_t at = 0; e == UL_OK && at < w->n; at++) {
        uint8_t k[UL_KEY_MAX], id[UL_HASH_BYTES];
        size_t vlen;
        release_ref rel = {0};
        e = ul_chain_read(c, k, key_nslast(k, (ul_span){w->ns[at], w->len[at]}), id, sizeof id,
                          &vlen);
        if (e == UL_E_NOT_FOUND) {
            e = UL_OK; /* no release yet: it needs nothing */
            continue;
        }
        if (e == UL_OK && vlen != UL_HASH_BYTES) {
            e = UL_E_CORRUPT;
        }
        if (e == UL_OK && (e = load_release(c, id, &rel)) == UL_OK) {
            for (size_t i = 0; e == UL_OK && i < rel.r.n_deps; i++) {
                e = walk_add(w, rel.r.deps[i].ns, r->ns);
            }
            free(rel.bytes);
        } else if (e == UL_E_RELEASE_UNKNOWN) {
            e = UL_E_CORRUPT; /* the index names a release the store does not hold */
        }
    }
    free(w);
    return e;
}

/* Checks a release against chain state: sequences growing per hardware class, and a new id.
 * A release already logged fails the sequence check too: its every class's latest sequence is at
 * least its own (write_release sets them, and only a higher sequence replaces them). So the id is
 * looked up only to name that failure: a publish that passes reads no release index at all, where
 * the miss it used to read cost every validator a LevelDB lookup per release. */
static ul_err check_release_state(ul_chain *c, const ul_release *r,
                                  const uint8_t id32[UL_HASH_BYTES])
{
    uint8_t k[UL_KEY_MAX], v[8 + UL_HASH_BYTES];
    size_t vlen;
    /* The decoder requires a class (UL_E_SCHEMA_FIELD): without one, no sequence check would
     * catch a duplicate. */
    assert(r->n_hw > 0);
    ul_err e = UL_OK;
    for (size_t i = 0; e == UL_OK && i < r->n_hw; i++) {
        size_t kl;
        if ((e = ul_schema_statekey_latest(k, sizeof k, &kl, r->ns, r->hw[i])) == UL_OK) {
            e = ul_chain_read(c, k, kl, v, sizeof v, &vlen);
        }
        if (e == UL_OK && (vlen != 8 + UL_HASH_BYTES)) {
            return UL_E_CORRUPT;
        }
        if (e == UL_OK && ul_be64_get(v) >= r->seq) {
            e = UL_E_SEQUENCE;
        } else if (e == UL_E_NOT_FOUND) {
            e = UL_OK;
        }
    }
    if (e != UL_E_SEQUENCE) {
        return e;
    }
    ul_err dup = ul_chain_read(c, k, ul_key_id(k, UL_KEY_RELEASE, id32), v, sizeof v, &vlen);
    if (dup == UL_OK || dup == UL_E_CORRUPT) {
        return UL_E_DUPLICATE;
    }
    return dup == UL_E_NOT_FOUND ? UL_E_SEQUENCE : dup;
}

static ul_err write_release(ul_chain *c, const ul_release *r, const ul_buf *tx, uint32_t tx_index,
                            const uint8_t id32[UL_HASH_BYTES])
{
    uint8_t k[UL_KEY_MAX], v[8 + UL_HASH_BYTES], loc[20];
    size_t kl;
    uint64_t index;
    ul_err e = UL_OK;
    ul_be64_put(v, r->seq);
    memcpy(v + 8, id32, UL_HASH_BYTES);
    for (size_t i = 0; e == UL_OK && i < r->n_hw; i++) {
        if ((e = ul_schema_statekey_latest(k, sizeof k, &kl, r->ns, r->hw[i])) == UL_OK) {
            e = ul_overlay_put(&c->ov, k, kl, v, sizeof v);
        }
    }
    if (e != UL_OK || (e = ul_log_append_hash(c->log, c->batch, tx->leaf, &index)) != UL_OK) {
        return e;
    }
    ul_be64_put(loc, index);
    ul_be64_put(loc + 8, c->height + 1);
    ul_be32_put(loc + 16, tx_index);
    if ((e = ul_overlay_put(&c->ov, k, ul_key_id(k, UL_KEY_RELEASE, id32), loc, 20)) != UL_OK ||
        (e = ul_overlay_put(&c->ov, k, ul_key_h(k, UL_KEY_LOGIDX, index), loc + 8, 12)) != UL_OK ||
        (e = ul_overlay_put(&c->ov, k, key_nslast(k, r->ns), id32, UL_HASH_BYTES)) != UL_OK) {
        return e;
    }
    return ul_overlay_put(&c->ov, k, ul_key_nshist(k, r->ns, index), id32, UL_HASH_BYTES);
}

/* Bounds tighter than the record's uint64 fields (ul_limits.h): a release time past the year
 * 9999 and a size no device holds are refused; the sequence may be any uint64. */
static ul_err check_release_bounds(const ul_release *r)
{
    return r->time > UL_MAX_RELEASE_TIME || r->size > UL_MAX_IMAGE_BYTES ? UL_E_LIMIT : UL_OK;
}

static ul_err exec_publish(ul_chain *c, const ul_tx *t, const ul_buf *tx, uint32_t tx_index,
                           uint8_t id32[UL_HASH_BYTES])
{
    ul_release *r = malloc(sizeof *r);
    ns_state *scratch = malloc(sizeof *scratch);
    const ns_state *s = NULL;
    ul_approvals none = {0};
    ul_err e = r && scratch ? ul_schema_release_decode(r, t->body.ptr, t->body.len) : UL_E_NOMEM;
    if (e == UL_OK) {
        if (c->pre) {
            memcpy(id32, c->pre->id, UL_HASH_BYTES);
        } else {
            ul_client_sha256(id32, t->body.ptr, t->body.len);
        }
    }
    if (e == UL_OK && (e = check_release_bounds(r)) == UL_OK &&
        (e = load_policy_memo(c, r->ns, scratch, &s)) == UL_OK &&
        (e = ul_policy_check_release(&s->p, r, t->sigs, t->n_sigs)) == UL_OK &&
        (e = check_release_state(c, r, id32)) == UL_OK && (e = check_deps(c, r, scratch)) == 0 &&
        (e = verify_sigs(c, t)) == UL_OK && (e = check_dep_cycle(c, r)) == UL_OK &&
        (e = write_release(c, r, tx, tx_index, id32)) == UL_OK &&
        (e = ul_search_index(c, r->digest, t, id32)) == UL_OK &&
        ul_policy_installable(&s->p, r->kind, &none)) {
        e = mark_installable(c, r, id32);
    }
    free(r);
    free(scratch);
    return e;
}

/* ---- Validator-set changes ------------------------------------------------------------------ */

/* Signed by validators of the set that signs this block holding more than 2/3 of its power
 * (UL_E_VALIDATOR for a signer outside it, UL_E_QUORUM for too little power); the new set signs
 * from the next height on. */
static ul_err exec_valset(ul_chain *c, const ul_tx *t, const ul_buf *tx, uint32_t tx_index,
                          uint8_t id32[UL_HASH_BYTES])
{
    uint8_t hash[UL_HASH_BYTES];
    ul_valset_change *b = malloc(sizeof *b);
    ul_err e = b ? ul_schema_valset_change_decode(b, t->body.ptr, t->body.len) : UL_E_NOMEM;
    if (e == UL_OK && (e = ul_policy_validators(&c->vals, t->sigs, t->n_sigs)) == UL_OK &&
        (e = check_nonces(c, t, b->nonce)) == UL_OK &&
        (e = ul_chain_valset_check(c, &b->validators, hash)) == UL_OK &&
        (e = verify_sigs(c, t)) == UL_OK &&
        (e = write_tx_common(c, t, tx, tx_index, b->nonce, id32)) == UL_OK) {
        e = ul_chain_valset_stage(c, &b->validators, hash); /* last: held once all else is in */
    }
    free(b);
    return e;
}

/* Equivocation evidence, reported by one validator (checks and record: ledger/evidence.c). The
 * accused's vote signatures are verified here every time: they are not the tx's own signatures,
 * which ul_verify_block_sigs and the signature cache cover. */
static ul_err exec_evidence(ul_chain *c, const ul_tx *t, const ul_buf *tx, uint32_t tx_index,
                            uint8_t id32[UL_HASH_BYTES])
{
    ul_evidence b;
    ul_err e = ul_schema_evidence_decode(&b, t->body.ptr, t->body.len);
    if (e == UL_OK && (e = ul_evidence_check(c, &b, t)) == UL_OK &&
        (e = check_nonces(c, t, b.nonce)) == UL_OK && (e = ul_evidence_verify(c, &b)) == UL_OK &&
        (e = verify_sigs(c, t)) == UL_OK &&
        (e = write_tx_common(c, t, tx, tx_index, b.nonce, id32)) == UL_OK) {
        e = ul_evidence_record(c, &b, id32);
    }
    return e;
}

ul_err ul_exec_tx(ul_chain *c, const ul_buf *tx, uint32_t tx_index, uint8_t id32[UL_HASH_BYTES])
{
    ul_tx t;
    ul_err e = ul_schema_tx_decode(&t, tx->bytes, tx->len);
    if (e != UL_OK) {
        return e;
    }
    c->exec_leaf = tx->leaf; /* for verify_sigs: tx outlives this call */
    switch (t.kind) {
    case UL_TX_REGISTER:
        return exec_register(c, &t, tx, tx_index, id32);
    case UL_TX_PUBLISH:
        return exec_publish(c, &t, tx, tx_index, id32);
    case UL_TX_SET_POLICY:
    case UL_TX_ROTATE:
    case UL_TX_TRANSFER:
        return exec_policy_change(c, &t, tx, tx_index, id32);
    case UL_TX_APPROVE:
        return exec_approve(c, &t, tx, tx_index, id32);
    case UL_TX_REVOKE:
        return exec_revoke(c, &t, tx, tx_index, id32);
    case UL_TX_VALSET:
        return exec_valset(c, &t, tx, tx_index, id32);
    case UL_TX_EVIDENCE:
        return exec_evidence(c, &t, tx, tx_index, id32);
    default:
        return UL_E_TX_KIND;
    }
}
