/* upledgerd's query endpoint: decode a request, run it against the chain, encode the reply.
 * Every reply carries a ul_err under key 0; results use keys 1.. (see p2p/README.md). */
#include <stdlib.h>
#include <string.h>

#include "node.h"

/* Request fields (ul_mspec): required or optional, with their bounds. */
#define REQ(k, t, lo, hi) {k, t, true, false, lo, hi}
#define OPT(k, t, lo, hi) {k, t, false, false, lo, hi}
#define ANY(k, required) {k, UL_MV_UINT, required, false, 0, UINT64_MAX}
#define ID(k) REQ(k, UL_MV_BYTES, UL_HASH_BYTES, UL_HASH_BYTES)
#define NS(k) REQ(k, UL_MV_TEXT, 1, UL_MAX_NS_LEN)
#define HW(k) REQ(k, UL_MV_TEXT, 1, UL_MAX_LABEL_LEN)

typedef struct {
    ul_msg m;
    uint8_t *owned[UL_MAX_HISTORY + UL_MAX_BLOCK_RANGE * 2 + 4]; /* what the reply's spans
                                                                     point into */
    size_t n_owned;
    ul_span items[UL_MAX_SUBMIT_TXS];
    ul_span items2[UL_MAX_BLOCK_RANGE];
} reply;

static uint8_t *keep(reply *r, uint8_t *p)
{
    if (p && r->n_owned < sizeof r->owned / sizeof r->owned[0]) {
        r->owned[r->n_owned++] = p;
        return p;
    }
    free(p);
    return NULL;
}

static ul_err do_status(ul_node *n, const ul_msg *q, reply *r)
{
    ul_chain *c = n->chain;
    uint8_t *hdr = NULL;
    size_t hlen = 0;
    ul_msg_uint(&r->m, 1, ul_chain_height(c));
    ul_msg_bytes(&r->m, 2, ul_chain_id(c), UL_HASH_BYTES);
    uint64_t pooled, round;
    ul_peer_stats ps;
    ul_cons_figures(n, &pooled, &round, &ps);
    ul_msg_uint(&r->m, 3, ul_chain_log_size(c));
    ul_msg_uint(&r->m, 4, pooled);
    if (ul_chain_height(c) && ul_chain_header_bytes(c, ul_chain_height(c), &hdr, &hlen) == UL_OK) {
        ul_msg_item(&r->m, 5, (ul_span){keep(r, hdr), hlen});
    }
    /* Consensus round and the peer transport's counters (dropped messages by cause). */
    ul_msg_uint(&r->m, 6, round);
    ul_msg_uint(&r->m, 7, ps.received);
    ul_msg_uint(&r->m, 8, ps.malformed + ps.oversized);
    ul_msg_uint(&r->m, 9, ps.bad_sig);
    ul_msg_uint(&r->m, 10, ps.unknown_sender);
    ul_msg_uint(&r->m, 11, ps.send_dropped);
    /* The validator's sign state: last signed height, round, step; why it does not sign and
     * until when; signatures since it started. */
    uint64_t last[4], until;
    ul_err refusing;
    if (ul_cons_sign_status(n, last, &refusing, &until)) {
        ul_msg_uint(&r->m, 12, last[0]);
        ul_msg_uint(&r->m, 13, last[1]);
        ul_msg_uint(&r->m, 14, last[2]);
        ul_msg_uint(&r->m, 15, (uint64_t)refusing);
        ul_msg_uint(&r->m, 16, until);
        ul_msg_uint(&r->m, 17, last[3]);
    }
    uint64_t target, ignored;
    ul_cons_sync_status(n, &target, &ignored);
    ul_msg_uint(&r->m, 18, target);
    ul_msg_uint(&r->m, 19, ignored);
    /* The node's storage condition when it is not sound: the store's error and what LevelDB
     * said, else a sign-state file that cannot be written (a full disk shows either way). */
    const char *text; /* keys ascend: after 19 */
    ul_err fault = ul_store_fault(ul_chain_store(c), &text);
    if (fault == UL_OK) {
        fault = ul_cons_sign_fault(n, &text);
    }
    if (fault != UL_OK) {
        ul_msg_uint(&r->m, 20, (uint64_t)fault);
        ul_msg_text(&r->m, 21, ul_span_str(text));
    }
    return UL_OK;
}

static ul_err do_genesis(ul_node *n, const ul_msg *q, reply *r)
{
    ul_msg_item(&r->m, 1, ul_chain_genesis_bytes(n->chain));
    return UL_OK;
}

static ul_err do_submit(ul_node *n, const ul_msg *q, reply *r)
{
    ul_span arr, tx;
    size_t count, i = 0;
    ul_err e = ul_msg_get_list(q, 1, &arr, &count);
    if (e != UL_OK || count == 0 || count > UL_MAX_SUBMIT_TXS) {
        return e != UL_OK ? e : count ? UL_E_LIMIT : UL_E_PROTOCOL;
    }
    /* Each result is a small map {1: ul_err, 2: id}: 1 + 2 + 2 + 35 bytes. */
    uint8_t *res = keep(r, malloc(count * 48));
    if (!res) {
        return UL_E_NOMEM;
    }
    while (ul_msg_list_next(&arr, &tx)) {
        uint8_t id[UL_HASH_BYTES] = {0};
        e = ul_cons_submit(n, tx.ptr, tx.len, id);
        ul_msg one;
        size_t len;
        ul_msg_init(&one);
        ul_msg_uint(&one, 1, (uint64_t)e);
        ul_msg_bytes(&one, 2, id, UL_HASH_BYTES);
        if (ul_msg_encode(res + i * 48, 48, &len, &one) != UL_OK) {
            return UL_E_INTERNAL;
        }
        r->items[i] = (ul_span){res + i * 48, len};
        i++;
    }
    ul_msg_list(&r->m, 1, r->items, i);
    return UL_OK;
}

static ul_err do_tx_status(ul_node *n, const ul_msg *q, reply *r)
{
    uint8_t id[UL_HASH_BYTES];
    uint64_t h;
    ul_err e = ul_msg_get_fixed(q, 1, id, sizeof id);
    if (e != UL_OK || (e = ul_cons_tx_status(n, id, &h)) != UL_OK) {
        return e;
    }
    ul_msg_uint(&r->m, 1, h);
    return UL_OK;
}

static ul_err do_block(ul_node *n, const ul_msg *q, reply *r)
{
    uint64_t h, count = 1;
    size_t bytes = 0, i = 0;
    ul_err e = ul_msg_get_uint(q, 1, &h);
    if (e != UL_OK) {
        return e;
    }
    ul_msg_get_uint(q, 2, &count); /* optional */
    if (count == 0 || count > UL_MAX_BLOCK_RANGE) {
        return UL_E_LIMIT;
    }
    for (; i < count && h + i <= ul_chain_height(n->chain); i++) {
        uint8_t *b, *c;
        size_t bl, cl;
        if ((e = ul_chain_block_bytes(n->chain, h + i, &b, &bl)) != UL_OK) {
            return e;
        }
        if ((e = ul_chain_commit_bytes(n->chain, h + i, &c, &cl)) != UL_OK) {
            free(b);
            return e;
        }
        r->items[i] = (ul_span){keep(r, b), bl};
        r->items2[i] = (ul_span){keep(r, c), cl};
        bytes += bl + cl;
        if (bytes > UL_MAX_MSG_BYTES / 2) { /* the next block might not fit */
            i++;
            break;
        }
    }
    if (i == 0) {
        return UL_E_NOT_FOUND;
    }
    ul_msg_list(&r->m, 1, r->items, i);
    ul_msg_list(&r->m, 2, r->items2, i);
    return UL_OK;
}

/* Release id's record and where it is, into m: 1 publish tx (item), 2 log index, 3 height, 4 tx
 * index, 5 block time (ms). Out: *tx and *hdr, the buffers m's spans point into (the caller frees
 * them, also on failure). */
static ul_err release_fields(ul_node *n, const uint8_t id[UL_HASH_BYTES], ul_msg *m, uint8_t **tx,
                             uint8_t **hdr)
{
    size_t len, hlen;
    ul_release_loc loc;
    ul_header h;
    *tx = *hdr = NULL;
    ul_err e = ul_chain_release(n->chain, id, tx, &len, &loc);
    if (e != UL_OK || (e = ul_chain_header_bytes(n->chain, loc.height, hdr, &hlen)) != UL_OK) {
        return e;
    }
    if (ul_schema_header_decode(&h, *hdr, hlen) != UL_OK) {
        return UL_E_CORRUPT;
    }
    ul_msg_item(m, 1, (ul_span){*tx, len});
    ul_msg_uint(m, 2, loc.log_index);
    ul_msg_uint(m, 3, loc.height);
    ul_msg_uint(m, 4, loc.tx_index);
    ul_msg_uint(m, 5, h.time_ms);
    return UL_OK;
}

static ul_err do_release(ul_node *n, const ul_msg *q, reply *r)
{
    uint8_t id[UL_HASH_BYTES], *tx, *hdr;
    ul_msg_get_fixed(q, 1, id, sizeof id);
    ul_err e = release_fields(n, id, &r->m, &tx, &hdr);
    keep(r, tx);
    keep(r, hdr);
    return e;
}

static ul_err do_release_at(ul_node *n, const ul_msg *q, reply *r)
{
    uint64_t index;
    uint8_t *id = keep(r, malloc(UL_HASH_BYTES));
    ul_err e = ul_msg_get_uint(q, 1, &index);
    if (e != UL_OK || !id || (e = ul_chain_release_at(n->chain, index, id)) != UL_OK) {
        return e != UL_OK ? e : UL_E_NOMEM;
    }
    ul_msg_bytes(&r->m, 1, id, UL_HASH_BYTES);
    return UL_OK;
}

/* Each id's release fields (as method 5 answers them) as one encoded map, into r->items. */
static ul_err history_records(ul_node *n, const uint8_t (*ids)[UL_HASH_BYTES], size_t count,
                              reply *r)
{
    ul_err e = UL_OK;
    for (size_t i = 0; e == UL_OK && i < count; i++) {
        ul_msg one;
        uint8_t *tx, *hdr, *out = NULL;
        size_t len = 0;
        ul_msg_init(&one);
        if ((e = release_fields(n, ids[i], &one, &tx, &hdr)) == UL_OK) {
            out = keep(r, malloc(ul_msg_encoded_max(&one)));
            e = out ? ul_msg_encode(out, ul_msg_encoded_max(&one), &len, &one) : UL_E_NOMEM;
        }
        r->items[i] = (ul_span){out, len};
        free(tx);
        free(hdr);
    }
    return e;
}

/* One page of a namespace's release ids: ?2 the log index to start at, ?3 the page size, ?4 the
 * order (0 oldest first, 1 newest first), ?5 records (1: each release's fields too). The reply's
 * 2 starts the next page, when there is one. */
static ul_err do_history(ul_node *n, const ul_msg *q, reply *r)
{
    ul_span ns;
    uint64_t limit = UL_MAX_HISTORY, order = 0, records = 0, from, next = 0;
    size_t count;
    bool more;
    uint8_t(*ids)[UL_HASH_BYTES] = (uint8_t(*)[UL_HASH_BYTES])keep(r, malloc(UL_MAX_HISTORY * 32));
    ul_msg_get_text(q, 1, &ns);
    ul_msg_get_uint(q, 3, &limit);
    ul_msg_get_uint(q, 4, &order);
    ul_msg_get_uint(q, 5, &records);
    from = order ? UINT64_MAX : 0;
    ul_msg_get_uint(q, 2, &from);
    ul_err e = ids ? ul_chain_history(n->chain, ns, from, order == 1, ids, (size_t)limit, &count,
                                      &next, &more)
                   : UL_E_NOMEM;
    if (e == UL_OK && records) {
        e = history_records(n, ids, count, r);
    }
    if (e == UL_OK) {
        ul_msg_bytes(&r->m, 1, ids[0], count * UL_HASH_BYTES);
        if (more) {
            ul_msg_uint(&r->m, 2, next);
        }
        if (records) {
            ul_msg_list(&r->m, 3, r->items, count);
        }
    }
    return e;
}

/* The newest published release of (ns, hw), and the installable ones the state keeps. */
static ul_err do_latest(ul_node *n, const ul_msg *q, reply *r)
{
    ul_span ns, hw;
    uint64_t seq;
    size_t count;
    uint8_t *id = keep(r, malloc(UL_HASH_BYTES)), *inst = keep(r, malloc(UL_MAX_STATE_VALUE_BYTES));
    ul_msg_get_text(q, 1, &ns);
    ul_msg_get_text(q, 2, &hw);
    ul_err e = id && inst ? ul_chain_latest(n->chain, ns, hw, id, &seq) : UL_E_NOMEM;
    if (e == UL_OK && (e = ul_chain_installable(n->chain, ns, hw, inst, &count)) == UL_OK) {
        ul_msg_bytes(&r->m, 1, id, UL_HASH_BYTES);
        ul_msg_uint(&r->m, 2, seq);
        ul_msg_bytes(&r->m, 3, inst, count * 40);
    }
    return e;
}

/* A proof bundle (version 2) is a CBOR sequence of sections, not one item: sent as bytes. */
static ul_err do_bundle(ul_node *n, const ul_msg *q, reply *r)
{
    uint8_t id[UL_HASH_BYTES], *b;
    uint64_t h = 0;
    size_t len;
    ul_span hw;
    ul_err e = ul_msg_get_fixed(q, 1, id, sizeof id);
    ul_msg_get_uint(q, 2, &h);
    if (e != UL_OK || (e = ul_msg_get_text(q, 3, &hw)) != UL_OK ||
        (e = ul_chain_bundle(n->chain, id, hw, h, &b, &len)) != UL_OK) {
        return e;
    }
    ul_msg_bytes(&r->m, 1, keep(r, b), len);
    return UL_OK;
}

static ul_err do_namespace(ul_node *n, const ul_msg *q, reply *r)
{
    ul_span ns;
    uint8_t *body;
    size_t len;
    uint64_t h;
    ul_err e = ul_msg_get_text(q, 1, &ns);
    if (e != UL_OK || (e = ul_chain_namespace(n->chain, ns, &body, &len, &h)) != UL_OK) {
        return e;
    }
    ul_msg_item(&r->m, 1, (ul_span){keep(r, body), len});
    ul_msg_uint(&r->m, 2, h);
    return UL_OK;
}

static ul_err do_nonce(ul_node *n, const ul_msg *q, reply *r)
{
    uint8_t pub[UL_PUBKEY_BYTES];
    uint64_t nonce;
    ul_err e = ul_msg_get_fixed(q, 1, pub, sizeof pub);
    if (e != UL_OK || (e = ul_chain_nonce(n->chain, pub, &nonce)) != UL_OK) {
        return e;
    }
    ul_msg_uint(&r->m, 1, nonce);
    return UL_OK;
}

static ul_err do_consistency(ul_node *n, const ul_msg *q, reply *r)
{
    uint64_t s1, s2;
    size_t len;
    ul_consistency *p = malloc(sizeof *p);
    uint8_t *out = keep(r, malloc(UL_MAX_PROOF_DEPTH * 34 + 32));
    ul_err e = p && out ? UL_OK : UL_E_NOMEM;
    if (e == UL_OK && (e = ul_msg_get_uint(q, 1, &s1)) == UL_OK &&
        (e = ul_msg_get_uint(q, 2, &s2)) == UL_OK &&
        (e = ul_log_consistency(ul_chain_log(n->chain), s1, s2, p)) == UL_OK &&
        (e = ul_schema_consistency_encode(out, UL_MAX_PROOF_DEPTH * 34 + 32, &len, p)) == UL_OK) {
        ul_msg_item(&r->m, 1, (ul_span){out, len});
    }
    free(p);
    return e;
}

static ul_err do_release_status(ul_node *n, const ul_msg *q, reply *r)
{
    uint8_t id[UL_HASH_BYTES];
    ul_release_status st;
    ul_err e = ul_msg_get_fixed(q, 1, id, sizeof id);
    if (e != UL_OK || (e = ul_chain_release_status(n->chain, id, &st)) != UL_OK) {
        return e;
    }
    ul_msg_uint(&r->m, 1, st.installable);
    if (st.approvals) {
        ul_msg_bytes(&r->m, 2, keep(r, st.approvals), st.approvals_len);
    }
    ul_msg_uint(&r->m, 3, st.revoked_height);
    if (st.reason) {
        ul_msg_text(&r->m, 4, (ul_span){keep(r, st.reason), st.reason_len});
    }
    return UL_OK;
}

/* A state proof reads the fields its kind names, and only those (the first of each kind's list
 * is the kind itself). */
static const ul_mspec s_state_proof[] = {{1, UL_MV_UINT, true, true, 1, UL_STATE_VALIDATORS},
                                         OPT(2, UL_MV_TEXT, 1, UL_MAX_NS_LEN),
                                         OPT(3, UL_MV_TEXT, 1, UL_MAX_LABEL_LEN),
                                         OPT(4, UL_MV_BYTES, UL_HASH_BYTES, UL_HASH_BYTES),
                                         ANY(5, false)};
static const ul_mspec s_sp_installable[] = {ANY(1, true), NS(2), HW(3), ANY(5, false)};
static const ul_mspec s_sp_release[] = {ANY(1, true), ID(4), ANY(5, false)};
static const ul_mspec s_sp_namespace[] = {ANY(1, true), NS(2), ANY(5, false)};
static const ul_mspec s_sp_validators[] = {ANY(1, true), ANY(5, false)};

static ul_err state_proof_fields(const ul_msg *q, uint64_t kind)
{
    switch (kind) {
    case UL_STATE_INSTALLABLE:
        return ul_msg_check(q, s_sp_installable, 4);
    case UL_STATE_APPROVALS:
    case UL_STATE_REVOCATION:
        return ul_msg_check(q, s_sp_release, 3);
    case UL_STATE_NAMESPACE:
        return ul_msg_check(q, s_sp_namespace, 3);
    default:
        return ul_msg_check(q, s_sp_validators, 2);
    }
}

static ul_err do_state_proof(ul_node *n, const ul_msg *q, reply *r)
{
    uint64_t kind = 0, h = 0;
    ul_span ns = {0}, hw = {0}, hdr;
    uint8_t id[UL_HASH_BYTES] = {0}, *kh = keep(r, malloc(UL_HASH_BYTES)), *value = NULL, *out, *hb;
    size_t vlen, len, hlen;
    ul_state_proof *p = malloc(sizeof *p);
    ul_msg_get_uint(q, 1, &kind);
    ul_err e = state_proof_fields(q, kind);
    ul_msg_get_text(q, 2, &ns); /* present exactly when the kind reads it (checked above) */
    ul_msg_get_text(q, 3, &hw);
    ul_msg_get_fixed(q, 4, id, sizeof id);
    ul_msg_get_uint(q, 5, &h);
    out = keep(r, malloc(UL_SMT_DEPTH * 33 + 128));
    if (e == UL_OK && (!p || !kh || !out)) {
        e = UL_E_NOMEM;
    }
    if (e == UL_OK && (e = ul_chain_state_proof(n->chain, (ul_state_kind)kind, ns, hw, id, h, kh,
                                                &value, &vlen, p)) == UL_OK &&
        (e = ul_schema_state_proof_encode(out, UL_SMT_DEPTH * 33 + 128, &len, p)) == UL_OK &&
        (e = ul_chain_header_bytes(n->chain, h ? h : ul_chain_height(n->chain), &hb, &hlen)) ==
            UL_OK) {
        hdr = (ul_span){keep(r, hb), hlen};
        ul_msg_item(&r->m, 1, (ul_span){out, len});
        ul_msg_bytes(&r->m, 2, kh, UL_HASH_BYTES);
        if (value) {
            ul_msg_bytes(&r->m, 3, keep(r, value), vlen);
        }
        ul_msg_item(&r->m, 4, hdr);
    } else {
        free(value);
    }
    free(p);
    return e;
}

/* The validator set that signs a height (0: the next block) and the first height it signs. */
static ul_err do_validators(ul_node *n, const ul_msg *q, reply *r)
{
    uint64_t h = 0, from;
    size_t len;
    ul_valset *vs = malloc(sizeof *vs);
    uint8_t *out = keep(r, malloc(UL_MAX_VALSET_BYTES));
    ul_err e = vs && out ? UL_OK : UL_E_NOMEM;
    ul_msg_get_uint(q, 1, &h); /* optional */
    h = h ? h : ul_chain_height(n->chain) + 1;
    if (e == UL_OK && (e = ul_chain_valset_since(n->chain, h, vs, &from)) == UL_OK &&
        (e = ul_schema_valset_encode(out, UL_MAX_VALSET_BYTES, &len, vs)) == UL_OK) {
        ul_msg_uint(&r->m, 1, h);
        ul_msg_bytes(&r->m, 2, out, len);
        ul_msg_uint(&r->m, 3, from);
        ul_msg_uint(&r->m, 4, ul_chain_height(n->chain));
    }
    free(vs);
    return e;
}

/* Recorded equivocations as fixed-size entries (UL_RPC_EVIDENCE_ENTRY_BYTES each). */
static ul_err do_evidence(ul_node *n, const ul_msg *q, reply *r)
{
    size_t count = 0;
    ul_evidence_entry *ev = malloc(UL_MAX_EVIDENCE_LIST * sizeof *ev);
    uint8_t *out = keep(r, malloc(UL_MAX_EVIDENCE_LIST * UL_RPC_EVIDENCE_ENTRY_BYTES));
    ul_err e = ev && out ? ul_chain_evidence_list(n->chain, ev, UL_MAX_EVIDENCE_LIST, &count)
                         : UL_E_NOMEM;
    for (size_t i = 0; e == UL_OK && i < count; i++) {
        uint8_t *p = out + i * UL_RPC_EVIDENCE_ENTRY_BYTES;
        memcpy(p, ev[i].accused, UL_PUBKEY_BYTES);
        ul_be64_put(p + 32, ev[i].height);
        ul_be64_put(p + 40, ev[i].round);
        p[48] = (uint8_t)ev[i].type;
        ul_be64_put(p + 49, ev[i].recorded_at);
        memcpy(p + 57, ev[i].tx_id, UL_HASH_BYTES);
    }
    if (e == UL_OK) {
        ul_msg_bytes(&r->m, 1, out, count * UL_RPC_EVIDENCE_ENTRY_BYTES);
    }
    free(ev);
    return e;
}

typedef ul_err (*handler)(ul_node *, const ul_msg *, reply *);

/* What each method reads (p2p/README.md), checked by ul_msg_check before its handler runs: a
 * handler reads only fields that are there, of their type and within their bounds. */
typedef struct {
    handler fn;
    const ul_mspec *spec;
    size_t n;
} rpc_method;

static const ul_mspec s_submit[] = {REQ(1, UL_MV_LIST, 1, UL_MAX_SUBMIT_TXS)};
static const ul_mspec s_id[] = {ID(1)};
static const ul_mspec s_block[] = {ANY(1, true), OPT(2, UL_MV_UINT, 1, UL_MAX_BLOCK_RANGE)};
static const ul_mspec s_history[] = {NS(1), ANY(2, false), OPT(3, UL_MV_UINT, 1, UL_MAX_HISTORY),
                                     {4, UL_MV_UINT, false, true, 0, 1},
                                     {5, UL_MV_UINT, false, true, 0, 1}};
static const ul_mspec s_latest[] = {NS(1), HW(2)};
static const ul_mspec s_bundle[] = {ID(1), ANY(2, false), HW(3)};
static const ul_mspec s_ns[] = {NS(1)};
static const ul_mspec s_consistency[] = {ANY(1, true), ANY(2, true)};
static const ul_mspec s_uint[] = {ANY(1, true)};
static const ul_mspec s_height[] = {ANY(1, false)};

#define M(f, s) {f, s, sizeof s / sizeof s[0]}
static const rpc_method methods[] = {
    [UL_RPC_STATUS] = {do_status, NULL, 0},
    [UL_RPC_SUBMIT] = M(do_submit, s_submit),
    [UL_RPC_TX_STATUS] = M(do_tx_status, s_id),
    [UL_RPC_BLOCK] = M(do_block, s_block),
    [UL_RPC_RELEASE] = M(do_release, s_id),
    [UL_RPC_HISTORY] = M(do_history, s_history),
    [UL_RPC_LATEST] = M(do_latest, s_latest),
    [UL_RPC_BUNDLE] = M(do_bundle, s_bundle),
    [UL_RPC_NAMESPACE] = M(do_namespace, s_ns),
    [UL_RPC_NONCE] = M(do_nonce, s_id),
    [UL_RPC_GENESIS] = {do_genesis, NULL, 0},
    [UL_RPC_CONSISTENCY] = M(do_consistency, s_consistency),
    [UL_RPC_RELEASE_AT] = M(do_release_at, s_uint),
    [UL_RPC_RELEASE_STATUS] = M(do_release_status, s_id),
    [UL_RPC_STATE_PROOF] = M(do_state_proof, s_state_proof),
    [UL_RPC_VALIDATORS] = M(do_validators, s_height),
    [UL_RPC_EVIDENCE] = {do_evidence, NULL, 0},
};
#undef M

static void encode_reply(reply *r, ul_err e, uint8_t **out, size_t *out_len)
{
    ul_msg err_only;
    const ul_msg *m = &r->m;
    if (e != UL_OK) {
        ul_msg_init(&err_only);
        ul_msg_uint(&err_only, 0, (uint64_t)e);
        m = &err_only;
    }
    size_t cap = ul_msg_encoded_max(m);
    *out = malloc(cap);
    if (!*out || ul_msg_encode(*out, cap, out_len, m) != UL_OK) {
        /* Last resort: a fixed two-byte reply {0: UL_E_INTERNAL}. */
        free(*out);
        *out = malloc(3);
        if (*out) {
            (*out)[0] = 0xa1, (*out)[1] = 0x00, (*out)[2] = UL_E_INTERNAL;
        }
        *out_len = *out ? 3 : 0;
    }
}

void ul_node_handle(ul_node *n, const uint8_t *req, size_t len, uint8_t **out, size_t *out_len)
{
    reply *r = calloc(1, sizeof *r);
    ul_msg *q = malloc(sizeof *q);
    uint64_t method = 0;
    ul_err e = r && q ? UL_OK : UL_E_NOMEM;
    if (e == UL_OK && (ul_msg_decode(q, req, len) != UL_OK || ul_msg_get_uint(q, 0, &method))) {
        e = UL_E_PROTOCOL;
    }
    if (e == UL_OK && (method >= sizeof methods / sizeof methods[0] || !methods[method].fn)) {
        e = UL_E_PROTOCOL;
    }
    if (e == UL_OK && (e = ul_msg_check(q, methods[method].spec, methods[method].n)) == UL_OK) {
        ul_msg_init(&r->m);
        ul_msg_uint(&r->m, 0, UL_OK);
        e = methods[method].fn(n, q, r);
    }
    /* A read that met damage may have left out what it could not read: nothing from a damaged
     * store is served but its status (the node stops at the end of this turn). */
    if (e == UL_OK && method != UL_RPC_STATUS &&
        ul_store_fault(ul_chain_store(n->chain), NULL) == UL_E_CORRUPT) {
        e = UL_E_CORRUPT;
    }
    if (r) {
        encode_reply(r, e, out, out_len);
        for (size_t i = 0; i < r->n_owned; i++) {
            free(r->owned[i]);
        }
    } else {
        *out = NULL;
        *out_len = 0;
    }
    free(r);
    free(q);
}
