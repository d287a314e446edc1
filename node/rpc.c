/* upledgerd's query endpoint: decode a request, run it against the chain, encode the reply.
 * Every reply carries a ul_err under key 0; requests are read and replies written through the
 * protocol's one definition, p2p/ul_query.h. */
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "node.h"

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

static ul_err do_status(ul_node *n, const ul_q_req *q, reply *r)
{
    (void)q;
    ul_chain *c = n->chain;
    uint8_t *hdr = NULL;
    size_t hlen = 0;
    ul_q_status_reply st = {.height = ul_chain_height(c), .log_size = ul_chain_log_size(c)};
    st.chain_id = (ul_span){ul_chain_id(c), UL_HASH_BYTES};
    ul_peer_stats ps;
    ul_cons_figures(n, &st.pooled, &st.round, &ps);
    if (st.height && ul_chain_header_bytes(c, st.height, &hdr, &hlen) == UL_OK) {
        st.head = (ul_span){keep(r, hdr), hlen};
        st.has |= UL_Q_BIT(UL_QREP_STATUS_HEAD);
    }
    /* The peer transport's counters (dropped messages by cause). */
    st.peer_received = ps.received;
    st.peer_malformed = ps.malformed + ps.oversized;
    st.peer_bad_sig = ps.bad_sig;
    st.peer_unknown = ps.unknown_sender;
    st.send_dropped = ps.send_dropped;
    /* The validator's sign state: last signed height, round, step; why it does not sign and
     * until when; signatures since it started. */
    uint64_t last[4], until;
    ul_err refusing;
    if (ul_cons_sign_status(n, last, &refusing, &until)) {
        st.sign_height = last[0], st.sign_round = last[1], st.sign_step = last[2];
        st.sign_refusing = (uint64_t)refusing, st.sign_until = until, st.signed_count = last[3];
        st.has |= UL_Q_BIT(UL_QREP_STATUS_SIGN_HEIGHT) | UL_Q_BIT(UL_QREP_STATUS_SIGN_ROUND) |
                  UL_Q_BIT(UL_QREP_STATUS_SIGN_STEP) | UL_Q_BIT(UL_QREP_STATUS_SIGN_REFUSING) |
                  UL_Q_BIT(UL_QREP_STATUS_SIGN_UNTIL) | UL_Q_BIT(UL_QREP_STATUS_SIGNED);
    }
    ul_cons_sync_status(n, &st.sync_target, &st.claims_ignored);
    st.has |= UL_Q_BIT(UL_QREP_STATUS_SYNC_TARGET) | UL_Q_BIT(UL_QREP_STATUS_CLAIMS_IGNORED);
    /* The node's storage condition when it is not sound: the store's error and what LevelDB
     * said, else a sign-state file that cannot be written (a full disk shows either way). */
    const char *text;
    ul_err fault = ul_store_fault(ul_chain_store(c), &text);
    if (fault == UL_OK) {
        fault = ul_cons_sign_fault(n, &text);
    }
    if (fault != UL_OK) {
        st.store_fault = (uint64_t)fault;
        st.store_text = ul_span_str(text);
        st.has |= UL_Q_BIT(UL_QREP_STATUS_STORE_FAULT) | UL_Q_BIT(UL_QREP_STATUS_STORE_TEXT);
    }
    ul_q_status_reply_put(&r->m, &st);
    return UL_OK;
}

static ul_err do_genesis(ul_node *n, const ul_q_req *q, reply *r)
{
    (void)q;
    ul_q_genesis_reply_put(&r->m,
                           &(ul_q_genesis_reply){.genesis = ul_chain_genesis_bytes(n->chain)});
    return UL_OK;
}

static ul_err do_submit(ul_node *n, const ul_q_req *q, reply *r)
{
    ul_span arr = q->txs.wire, tx;
    size_t i = 0;
    /* Each result is a small map {1: ul_err, 2: id}: 1 + 2 + 2 + 35 bytes. */
    uint8_t *res = keep(r, malloc(q->txs.n * 48));
    if (!res) {
        return UL_E_NOMEM;
    }
    while (ul_msg_list_next(&arr, &tx)) {
        uint8_t id[UL_HASH_BYTES] = {0};
        ul_q_submit_result one = {.id = {id, UL_HASH_BYTES}};
        one.err = (uint64_t)ul_cons_submit(n, tx.ptr, tx.len, id);
        ul_msg m;
        size_t len;
        ul_msg_init(&m);
        ul_q_submit_result_put(&m, &one);
        if (ul_msg_encode(res + i * 48, 48, &len, &m) != UL_OK) {
            return UL_E_INTERNAL;
        }
        r->items[i] = (ul_span){res + i * 48, len};
        i++;
    }
    ul_q_submit_reply_put(&r->m, &(ul_q_submit_reply){.results = {r->items, i, {0}}});
    return UL_OK;
}

static ul_err do_tx_status(ul_node *n, const ul_q_req *q, reply *r)
{
    ul_q_tx_status_reply st = {0};
    ul_err e = ul_cons_tx_status(n, q->id.ptr, &st.height);
    if (e == UL_OK) {
        ul_q_tx_status_reply_put(&r->m, &st);
    }
    return e;
}

static ul_err do_block(ul_node *n, const ul_q_req *q, reply *r)
{
    uint64_t h = q->height, count = q->count; /* 1.. UL_MAX_BLOCK_RANGE, by its spec */
    size_t bytes = 0, i = 0;
    ul_err e;
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
    ul_q_block_reply_put(
        &r->m, &(ul_q_block_reply){.blocks = {r->items, i, {0}}, .commits = {r->items2, i, {0}}});
    return UL_OK;
}

/* Release id's record and where it is, into m (ul_q_release_reply). Out: *tx and *hdr, the
 * buffers m's spans point into (the caller frees them, also on failure). */
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
    ul_q_release_reply_put(m, &(ul_q_release_reply){.tx = {*tx, len},
                                                    .log_index = loc.log_index,
                                                    .height = loc.height,
                                                    .tx_index = loc.tx_index,
                                                    .time_ms = h.time_ms});
    return UL_OK;
}

static ul_err do_release(ul_node *n, const ul_q_req *q, reply *r)
{
    uint8_t *tx, *hdr;
    ul_err e = release_fields(n, q->id.ptr, &r->m, &tx, &hdr);
    keep(r, tx);
    keep(r, hdr);
    return e;
}

static ul_err do_release_at(ul_node *n, const ul_q_req *q, reply *r)
{
    uint8_t *id = keep(r, malloc(UL_HASH_BYTES));
    ul_err e = id ? ul_chain_release_at(n->chain, q->index, id) : UL_E_NOMEM;
    if (e == UL_OK) {
        ul_q_release_at_reply_put(&r->m, &(ul_q_release_at_reply){.id = {id, UL_HASH_BYTES}});
    }
    return e;
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

/* One page of a namespace's release ids from the cursor (default: the oldest, or the newest
 * when newest first), and each release's fields when asked; the reply names the next page's
 * cursor when there is one. */
static ul_err do_history(ul_node *n, const ul_q_req *q, reply *r)
{
    uint64_t from = q->cursor, next = 0;
    size_t count;
    bool more;
    uint8_t(*ids)[UL_HASH_BYTES] = (uint8_t(*)[UL_HASH_BYTES])keep(r, malloc(UL_MAX_HISTORY * 32));
    if (!UL_Q_HAS(q, UL_QREQ_HISTORY_CURSOR)) {
        from = q->order ? UINT64_MAX : 0;
    }
    ul_err e = ids ? ul_chain_history(n->chain, q->ns, from, q->order == 1, ids, (size_t)q->limit,
                                      &count, &next, &more)
                   : UL_E_NOMEM;
    if (e == UL_OK && q->records) {
        e = history_records(n, ids, count, r);
    }
    if (e == UL_OK) {
        ul_q_history_reply h = {.ids = {ids[0], count * UL_HASH_BYTES}, .next = next};
        h.records = (ul_q_list){r->items, count, {0}};
        h.has = (more ? UL_Q_BIT(UL_QREP_HISTORY_NEXT) : 0) |
                (q->records ? UL_Q_BIT(UL_QREP_HISTORY_RECORDS) : 0);
        ul_q_history_reply_put(&r->m, &h);
    }
    return e;
}

/* The newest published release of (ns, hw), and the installable ones the state keeps. */
static ul_err do_latest(ul_node *n, const ul_q_req *q, reply *r)
{
    ul_q_latest_reply l = {0};
    size_t count;
    uint8_t *id = keep(r, malloc(UL_HASH_BYTES)), *inst = keep(r, malloc(UL_MAX_STATE_VALUE_BYTES));
    ul_err e = id && inst ? ul_chain_latest(n->chain, q->ns, q->hw, id, &l.seq) : UL_E_NOMEM;
    if (e == UL_OK && (e = ul_chain_installable(n->chain, q->ns, q->hw, inst, &count)) == UL_OK) {
        l.id = (ul_span){id, UL_HASH_BYTES};
        l.installable = (ul_span){inst, count * UL_RPC_INSTALLABLE_ENTRY_BYTES};
        ul_q_latest_reply_put(&r->m, &l);
    }
    return e;
}

/* A proof bundle (version 2) is a CBOR sequence of sections, not one item: sent as bytes. */
static ul_err do_bundle(ul_node *n, const ul_q_req *q, reply *r)
{
    uint8_t *b;
    size_t len;
    ul_err e = ul_chain_bundle(n->chain, q->id.ptr, q->hw, q->height, &b, &len);
    if (e == UL_OK) {
        ul_q_bundle_reply_put(&r->m, &(ul_q_bundle_reply){.bundle = {keep(r, b), len}});
    }
    return e;
}

static ul_err do_namespace(ul_node *n, const ul_q_req *q, reply *r)
{
    uint8_t *body;
    size_t len;
    ul_q_namespace_reply ns = {0};
    ul_err e = ul_chain_namespace(n->chain, q->ns, &body, &len, &ns.height);
    if (e == UL_OK) {
        ns.body = (ul_span){keep(r, body), len};
        ul_q_namespace_reply_put(&r->m, &ns);
    }
    return e;
}

static ul_err do_nonce(ul_node *n, const ul_q_req *q, reply *r)
{
    ul_q_nonce_reply nr = {0};
    ul_err e = ul_chain_nonce(n->chain, q->pubkey.ptr, &nr.nonce);
    if (e == UL_OK) {
        ul_q_nonce_reply_put(&r->m, &nr);
    }
    return e;
}

static ul_err do_consistency(ul_node *n, const ul_q_req *q, reply *r)
{
    size_t len;
    ul_consistency *p = malloc(sizeof *p);
    uint8_t *out = keep(r, malloc(UL_MAX_PROOF_DEPTH * 34 + 32));
    ul_err e = p && out ? UL_OK : UL_E_NOMEM;
    if (e == UL_OK &&
        (e = ul_log_consistency(ul_chain_log(n->chain), q->size1, q->size2, p)) == UL_OK &&
        (e = ul_schema_consistency_encode(out, UL_MAX_PROOF_DEPTH * 34 + 32, &len, p)) == UL_OK) {
        ul_q_consistency_reply_put(&r->m, &(ul_q_consistency_reply){.proof = {out, len}});
    }
    free(p);
    return e;
}

static ul_err do_release_status(ul_node *n, const ul_q_req *q, reply *r)
{
    ul_release_status st;
    ul_err e = ul_chain_release_status(n->chain, q->id.ptr, &st);
    if (e != UL_OK) {
        return e;
    }
    ul_q_release_status_reply rs = {.installable = st.installable,
                                    .revoked_height = st.revoked_height};
    if (st.approvals) {
        rs.approvals = (ul_span){keep(r, st.approvals), st.approvals_len};
        rs.has |= UL_Q_BIT(UL_QREP_RELEASE_STATUS_APPROVALS);
    }
    if (st.reason) {
        rs.reason = (ul_span){keep(r, st.reason), st.reason_len};
        rs.has |= UL_Q_BIT(UL_QREP_RELEASE_STATUS_REASON);
    }
    ul_q_release_status_reply_put(&r->m, &rs);
    return UL_OK;
}

static ul_err do_state_proof(ul_node *n, const ul_q_req *q, reply *r)
{
    uint64_t h = q->height;
    uint8_t id[UL_HASH_BYTES] = {0}, *kh = keep(r, malloc(UL_HASH_BYTES)), *value = NULL, *out, *hb;
    size_t vlen, len, hlen;
    ul_state_proof *p = malloc(sizeof *p);
    if (UL_Q_HAS(q, UL_QREQ_STATE_PROOF_ID)) { /* there exactly when the kind reads it */
        memcpy(id, q->id.ptr, UL_HASH_BYTES);
    }
    out = keep(r, malloc(UL_SMT_DEPTH * 33 + 128));
    ul_err e = p && kh && out ? UL_OK : UL_E_NOMEM;
    if (e == UL_OK &&
        (e = ul_chain_state_proof(n->chain, (ul_state_kind)q->kind, q->ns, q->hw, id, h, kh, &value,
                                  &vlen, p)) == UL_OK &&
        (e = ul_schema_state_proof_encode(out, UL_SMT_DEPTH * 33 + 128, &len, p)) == UL_OK &&
        (e = ul_chain_header_bytes(n->chain, h ? h : ul_chain_height(n->chain), &hb, &hlen)) ==
            UL_OK) {
        ul_q_state_proof_reply sp = {.proof = {out, len}, .key_hash = {kh, UL_HASH_BYTES}};
        sp.header = (ul_span){keep(r, hb), hlen};
        if (value) {
            sp.value = (ul_span){keep(r, value), vlen};
            sp.has |= UL_Q_BIT(UL_QREP_STATE_PROOF_VALUE);
        }
        ul_q_state_proof_reply_put(&r->m, &sp);
    } else {
        free(value);
    }
    free(p);
    return e;
}

/* The validator set that signs a height (0: the next block) and the first height it signs. */
static ul_err do_validators(ul_node *n, const ul_q_req *q, reply *r)
{
    size_t len;
    ul_valset *vs = malloc(sizeof *vs);
    uint8_t *out = keep(r, malloc(UL_MAX_VALSET_BYTES));
    ul_err e = vs && out ? UL_OK : UL_E_NOMEM;
    ul_q_validators_reply v = {.height = q->height ? q->height : ul_chain_height(n->chain) + 1,
                               .head = ul_chain_height(n->chain)};
    if (e == UL_OK && (e = ul_chain_valset_since(n->chain, v.height, vs, &v.from)) == UL_OK &&
        (e = ul_schema_valset_encode(out, UL_MAX_VALSET_BYTES, &len, vs)) == UL_OK) {
        v.valset = (ul_span){out, len};
        ul_q_validators_reply_put(&r->m, &v);
    }
    free(vs);
    return e;
}

/* Recorded equivocations as fixed-size entries (UL_RPC_EVIDENCE_ENTRY_BYTES each). */
static ul_err do_evidence(ul_node *n, const ul_q_req *q, reply *r)
{
    (void)q;
    size_t count = 0;
    ul_evidence_entry *ev = malloc(UL_MAX_EVIDENCE_LIST * sizeof *ev);
    uint8_t *out = keep(r, malloc(UL_MAX_EVIDENCE_LIST * UL_RPC_EVIDENCE_ENTRY_BYTES));
    ul_err e =
        ev && out ? ul_chain_evidence_list(n->chain, ev, UL_MAX_EVIDENCE_LIST, &count) : UL_E_NOMEM;
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
        ul_q_evidence_reply_put(
            &r->m, &(ul_q_evidence_reply){.entries = {out, count * UL_RPC_EVIDENCE_ENTRY_BYTES}});
    }
    free(ev);
    return e;
}

/* The Prometheus page, its figures refreshed first (the node thread is the one here). */
static ul_err do_metrics(ul_node *n, const ul_q_req *q, reply *r)
{
    (void)q;
    size_t len;
    char *text = (char *)keep(r, malloc(UL_MAX_METRICS_BYTES));
    ul_metrics *m = ul_node_metrics(n);
    if (!text) {
        return UL_E_NOMEM;
    }
    ul_cons_metrics_sample(n);
    ul_err e = ul_metrics_write(m, text, UL_MAX_METRICS_BYTES, &len);
    if (e == UL_OK) {
        ul_q_metrics_reply_put(&r->m, &(ul_q_metrics_reply){.text = {(uint8_t *)text, len}});
    }
    return e;
}

/* One page of the releases of an image digest, or that a key signed (ul_chain_search). */
static ul_err do_search(ul_node *n, const ul_q_req *q, reply *r)
{
    bool digest = UL_Q_HAS(q, UL_QREQ_SEARCH_DIGEST);
    uint64_t from = q->cursor, next = 0;
    size_t cap = UL_Q_HAS(q, UL_QREQ_SEARCH_LIMIT) ? (size_t)q->limit : UL_MAX_SEARCH, count;
    bool more;
    uint8_t(*out)[UL_SEARCH_ENTRY_BYTES] =
        (uint8_t(*)[UL_SEARCH_ENTRY_BYTES])keep(r, malloc(UL_MAX_SEARCH * UL_SEARCH_ENTRY_BYTES));
    if (!UL_Q_HAS(q, UL_QREQ_SEARCH_CURSOR)) {
        from = q->order ? UINT64_MAX : 0;
    }
    ul_err e = out ? ul_chain_search(n->chain, digest ? UL_SEARCH_DIGEST : UL_SEARCH_SIGNER,
                                     digest ? q->digest.ptr : q->signer.ptr, from, q->order == 1,
                                     out, cap, &count, &next, &more)
                   : UL_E_NOMEM;
    if (e == UL_OK) {
        ul_q_search_reply sr = {.entries = {out[0], count * UL_SEARCH_ENTRY_BYTES}, .next = next};
        sr.has = more ? UL_Q_BIT(UL_QREP_SEARCH_NEXT) : 0;
        ul_q_search_reply_put(&r->m, &sr);
    }
    return e;
}

typedef ul_err (*handler)(ul_node *, const ul_q_req *, reply *);

/* Each method's handler; ul_q_req_read has checked every field it reads (p2p/query.c) before it
 * runs: a handler reads only fields that are there, of their type and within their bounds. */
static const handler methods[UL_RPC_METHOD_MAX + 1] = {
    [UL_RPC_STATUS] = do_status,           [UL_RPC_SUBMIT] = do_submit,
    [UL_RPC_TX_STATUS] = do_tx_status,     [UL_RPC_BLOCK] = do_block,
    [UL_RPC_RELEASE] = do_release,         [UL_RPC_HISTORY] = do_history,
    [UL_RPC_LATEST] = do_latest,           [UL_RPC_BUNDLE] = do_bundle,
    [UL_RPC_NAMESPACE] = do_namespace,     [UL_RPC_NONCE] = do_nonce,
    [UL_RPC_GENESIS] = do_genesis,         [UL_RPC_CONSISTENCY] = do_consistency,
    [UL_RPC_RELEASE_AT] = do_release_at,   [UL_RPC_RELEASE_STATUS] = do_release_status,
    [UL_RPC_STATE_PROOF] = do_state_proof, [UL_RPC_VALIDATORS] = do_validators,
    [UL_RPC_EVIDENCE] = do_evidence,       [UL_RPC_METRICS] = do_metrics,
    [UL_RPC_SEARCH] = do_search,
};

static void encode_reply(reply *r, ul_err e, uint8_t **out, size_t *out_len)
{
    ul_msg err_only;
    const ul_msg *m = &r->m;
    if (e != UL_OK) {
        ul_msg_init(&err_only);
        ul_msg_uint(&err_only, UL_QK_ERR, (uint64_t)e);
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
    ul_msg *m = malloc(sizeof *m);
    /* Defaults of the optional fields a method reads (p2p/README.md). */
    ul_q_req q = {.count = 1, .limit = UL_MAX_HISTORY};
    ul_err e = r && m ? UL_OK : UL_E_NOMEM;
    if (e == UL_OK && ul_msg_decode(m, req, len) != UL_OK) {
        e = UL_E_PROTOCOL;
    }
    if (e == UL_OK && (e = ul_q_req_read(m, &q)) == UL_OK) {
        ul_msg_init(&r->m);
        ul_msg_uint(&r->m, UL_QK_ERR, UL_OK);
        e = methods[q.method](n, &q, r);
    }
    /* A read that met damage may have left out what it could not read: nothing from a damaged
     * store is served but its status (the node stops at the end of this turn). */
    if (e == UL_OK && q.method != UL_RPC_STATUS &&
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
    free(m);
}
