/* The query endpoint's protocol (p2p/ul_query.h): one table per request and reply naming each
 * key's type, presence, bounds and place in its typed struct. The node's request check, every
 * reader and every builder are the same few loops over these tables, so a key is defined once. */
#include <assert.h>
#include <stddef.h>
#include <string.h>

#include "ul_query.h"

#define N(t) (sizeof t / sizeof t[0])

/* ---- the tables ---------------------------------------------------------------------------- */

/* A key of struct T at field: required or optional, its bounds, whole units of bytes. */
#define KEY(T, k, t, req, lo, hi, field)                                                           \
    {                                                                                              \
        k, t, req, false, lo, hi, 0, offsetof(T, field)                                            \
    }
#define UNITS(T, k, req, unit, hi, field)                                                          \
    {                                                                                              \
        k, UL_MV_BYTES, req, false, 0, hi, unit, offsetof(T, field)                                \
    }
#define FLAG(T, k, req, hi, field)                                                                 \
    {                                                                                              \
        k, UL_MV_UINT, req, true, 0, hi, 0, offsetof(T, field)                                     \
    }
#define ANY(T, k, req, field) KEY(T, k, UL_MV_UINT, req, 0, UINT64_MAX, field)
#define ID(T, k, field) KEY(T, k, UL_MV_BYTES, true, UL_HASH_BYTES, UL_HASH_BYTES, field)
#define ITEM(T, k, req, field) KEY(T, k, UL_MV_ITEM, req, 0, 0, field)

/* Requests: what each method reads (p2p/README.md). */
#define Q ul_q_req
#define NS(k, req) KEY(Q, k, UL_MV_TEXT, req, 1, UL_MAX_NS_LEN, ns)
#define HW(k, req) KEY(Q, k, UL_MV_TEXT, req, 1, UL_MAX_LABEL_LEN, hw)

static const ul_mspec q_submit[] = {
    KEY(Q, UL_QREQ_SUBMIT_TXS, UL_MV_LIST, true, 1, UL_MAX_SUBMIT_TXS, txs)};
static const ul_mspec q_tx_status[] = {ID(Q, UL_QREQ_TX_STATUS_ID, id)};
static const ul_mspec q_block[] = {
    ANY(Q, UL_QREQ_BLOCK_HEIGHT, true, height),
    KEY(Q, UL_QREQ_BLOCK_COUNT, UL_MV_UINT, false, 1, UL_MAX_BLOCK_RANGE, count)};
static const ul_mspec q_release[] = {ID(Q, UL_QREQ_RELEASE_ID, id)};
static const ul_mspec q_history[] = {
    NS(UL_QREQ_HISTORY_NS, true), ANY(Q, UL_QREQ_HISTORY_CURSOR, false, cursor),
    KEY(Q, UL_QREQ_HISTORY_LIMIT, UL_MV_UINT, false, 1, UL_MAX_HISTORY, limit),
    FLAG(Q, UL_QREQ_HISTORY_ORDER, false, 1, order),
    FLAG(Q, UL_QREQ_HISTORY_RECORDS, false, 1, records)};
static const ul_mspec q_latest[] = {NS(UL_QREQ_LATEST_NS, true), HW(UL_QREQ_LATEST_HW, true)};
static const ul_mspec q_bundle[] = {ID(Q, UL_QREQ_BUNDLE_ID, id),
                                    ANY(Q, UL_QREQ_BUNDLE_HEIGHT, false, height),
                                    HW(UL_QREQ_BUNDLE_HW, true)};
static const ul_mspec q_namespace[] = {NS(UL_QREQ_NAMESPACE_NS, true)};
static const ul_mspec q_nonce[] = {
    KEY(Q, UL_QREQ_NONCE_PUBKEY, UL_MV_BYTES, true, UL_PUBKEY_BYTES, UL_PUBKEY_BYTES, pubkey)};
static const ul_mspec q_consistency[] = {ANY(Q, UL_QREQ_CONSISTENCY_SIZE1, true, size1),
                                         ANY(Q, UL_QREQ_CONSISTENCY_SIZE2, true, size2)};
static const ul_mspec q_release_at[] = {ANY(Q, UL_QREQ_RELEASE_AT_INDEX, true, index)};
static const ul_mspec q_release_status[] = {ID(Q, UL_QREQ_RELEASE_STATUS_ID, id)};
/* A state proof reads the fields its kind names, and only those: this table first, then the
 * kind's own below. */
static const ul_mspec q_state_proof[] = {
    {UL_QREQ_STATE_PROOF_KIND, UL_MV_UINT, true, true, 1, UL_STATE_VALIDATORS, 0,
     offsetof(Q, kind)},
    NS(UL_QREQ_STATE_PROOF_NS, false),
    HW(UL_QREQ_STATE_PROOF_HW, false),
    KEY(Q, UL_QREQ_STATE_PROOF_ID, UL_MV_BYTES, false, UL_HASH_BYTES, UL_HASH_BYTES, id),
    ANY(Q, UL_QREQ_STATE_PROOF_HEIGHT, false, height)};
static const ul_mspec q_sp_installable[] = {
    ANY(Q, UL_QREQ_STATE_PROOF_KIND, true, kind), NS(UL_QREQ_STATE_PROOF_NS, true),
    HW(UL_QREQ_STATE_PROOF_HW, true), ANY(Q, UL_QREQ_STATE_PROOF_HEIGHT, false, height)};
static const ul_mspec q_sp_release[] = {ANY(Q, UL_QREQ_STATE_PROOF_KIND, true, kind),
                                        ID(Q, UL_QREQ_STATE_PROOF_ID, id),
                                        ANY(Q, UL_QREQ_STATE_PROOF_HEIGHT, false, height)};
static const ul_mspec q_sp_namespace[] = {ANY(Q, UL_QREQ_STATE_PROOF_KIND, true, kind),
                                          NS(UL_QREQ_STATE_PROOF_NS, true),
                                          ANY(Q, UL_QREQ_STATE_PROOF_HEIGHT, false, height)};
static const ul_mspec q_sp_validators[] = {ANY(Q, UL_QREQ_STATE_PROOF_KIND, true, kind),
                                           ANY(Q, UL_QREQ_STATE_PROOF_HEIGHT, false, height)};
static const ul_mspec q_validators[] = {ANY(Q, UL_QREQ_VALIDATORS_HEIGHT, false, height)};
/* Both keys optional here; ul_q_req_read wants exactly one of them. */
static const ul_mspec q_search[] = {
    KEY(Q, UL_QREQ_SEARCH_DIGEST, UL_MV_BYTES, false, UL_HASH_BYTES, UL_HASH_BYTES, digest),
    KEY(Q, UL_QREQ_SEARCH_SIGNER, UL_MV_BYTES, false, UL_PUBKEY_BYTES, UL_PUBKEY_BYTES, signer),
    ANY(Q, UL_QREQ_SEARCH_CURSOR, false, cursor),
    KEY(Q, UL_QREQ_SEARCH_LIMIT, UL_MV_UINT, false, 1, UL_MAX_SEARCH, limit),
    FLAG(Q, UL_QREQ_SEARCH_ORDER, false, 1, order)};
#undef NS
#undef HW

typedef struct {
    const ul_mspec *f;
    size_t n;
} qdef;

#define DEF(t)                                                                                     \
    {                                                                                              \
        t, N(t)                                                                                    \
    }
static const qdef requests[UL_RPC_METHOD_MAX + 1] = {
    [UL_RPC_STATUS] = {NULL, 0},
    [UL_RPC_SUBMIT] = DEF(q_submit),
    [UL_RPC_TX_STATUS] = DEF(q_tx_status),
    [UL_RPC_BLOCK] = DEF(q_block),
    [UL_RPC_RELEASE] = DEF(q_release),
    [UL_RPC_HISTORY] = DEF(q_history),
    [UL_RPC_LATEST] = DEF(q_latest),
    [UL_RPC_BUNDLE] = DEF(q_bundle),
    [UL_RPC_NAMESPACE] = DEF(q_namespace),
    [UL_RPC_NONCE] = DEF(q_nonce),
    [UL_RPC_GENESIS] = {NULL, 0},
    [UL_RPC_CONSISTENCY] = DEF(q_consistency),
    [UL_RPC_RELEASE_AT] = DEF(q_release_at),
    [UL_RPC_RELEASE_STATUS] = DEF(q_release_status),
    [UL_RPC_STATE_PROOF] = DEF(q_state_proof),
    [UL_RPC_VALIDATORS] = DEF(q_validators),
    [UL_RPC_EVIDENCE] = {NULL, 0},
    [UL_RPC_METRICS] = {NULL, 0},
    [UL_RPC_SEARCH] = DEF(q_search),
};
#undef Q

/* Replies: what the node writes. Lists and bytes are bounded by what the node may send. */
#define R ul_q_status_reply
static const ul_mspec r_status[] = {
    ANY(R, UL_QREP_STATUS_HEIGHT, true, height),
    ID(R, UL_QREP_STATUS_CHAIN_ID, chain_id),
    ANY(R, UL_QREP_STATUS_LOG_SIZE, true, log_size),
    ANY(R, UL_QREP_STATUS_POOLED, true, pooled),
    ITEM(R, UL_QREP_STATUS_HEAD, false, head),
    ANY(R, UL_QREP_STATUS_ROUND, true, round),
    ANY(R, UL_QREP_STATUS_PEER_RECEIVED, true, peer_received),
    ANY(R, UL_QREP_STATUS_PEER_MALFORMED, true, peer_malformed),
    ANY(R, UL_QREP_STATUS_PEER_BAD_SIG, true, peer_bad_sig),
    ANY(R, UL_QREP_STATUS_PEER_UNKNOWN, true, peer_unknown),
    ANY(R, UL_QREP_STATUS_SEND_DROPPED, true, send_dropped),
    ANY(R, UL_QREP_STATUS_SIGN_HEIGHT, false, sign_height),
    KEY(R, UL_QREP_STATUS_SIGN_ROUND, UL_MV_UINT, false, 0, UINT32_MAX, sign_round),
    KEY(R, UL_QREP_STATUS_SIGN_STEP, UL_MV_UINT, false, 0, 3, sign_step),
    KEY(R, UL_QREP_STATUS_SIGN_REFUSING, UL_MV_UINT, false, 0, UINT32_MAX, sign_refusing),
    ANY(R, UL_QREP_STATUS_SIGN_UNTIL, false, sign_until),
    ANY(R, UL_QREP_STATUS_SIGNED, false, signed_count),
    ANY(R, UL_QREP_STATUS_SYNC_TARGET, false, sync_target),
    ANY(R, UL_QREP_STATUS_CLAIMS_IGNORED, false, claims_ignored),
    KEY(R, UL_QREP_STATUS_STORE_FAULT, UL_MV_UINT, false, 1, UINT32_MAX, store_fault),
    KEY(R, UL_QREP_STATUS_STORE_TEXT, UL_MV_TEXT, false, 0, UL_MAX_MSG_BYTES, store_text)};
#undef R
static const ul_mspec r_submit[] = {KEY(ul_q_submit_reply, UL_QREP_SUBMIT_RESULTS, UL_MV_LIST, true,
                                        1, UL_MAX_SUBMIT_TXS, results)};
static const ul_mspec r_submit_result[] = {
    KEY(ul_q_submit_result, UL_QREP_SUBMIT_RESULT_ERR, UL_MV_UINT, true, 0, UINT32_MAX, err),
    ID(ul_q_submit_result, UL_QREP_SUBMIT_RESULT_ID, id)};
static const ul_mspec r_tx_status[] = {
    ANY(ul_q_tx_status_reply, UL_QREP_TX_STATUS_HEIGHT, true, height)};
static const ul_mspec r_block[] = {
    KEY(ul_q_block_reply, UL_QREP_BLOCK_BLOCKS, UL_MV_LIST, true, 1, UL_MAX_BLOCK_RANGE, blocks),
    KEY(ul_q_block_reply, UL_QREP_BLOCK_COMMITS, UL_MV_LIST, true, 1, UL_MAX_BLOCK_RANGE, commits)};
#define R ul_q_release_reply
static const ul_mspec r_release[] = {
    ITEM(R, UL_QREP_RELEASE_TX, true, tx), ANY(R, UL_QREP_RELEASE_LOG_INDEX, true, log_index),
    ANY(R, UL_QREP_RELEASE_HEIGHT, true, height), ANY(R, UL_QREP_RELEASE_TX_INDEX, true, tx_index),
    ANY(R, UL_QREP_RELEASE_TIME_MS, true, time_ms)};
#undef R
#define R ul_q_history_reply
static const ul_mspec r_history[] = {
    UNITS(R, UL_QREP_HISTORY_IDS, true, UL_HASH_BYTES, UL_MAX_HISTORY *UL_HASH_BYTES, ids),
    ANY(R, UL_QREP_HISTORY_NEXT, false, next),
    KEY(R, UL_QREP_HISTORY_RECORDS, UL_MV_LIST, false, 0, UL_MAX_HISTORY, records)};
#undef R
#define R ul_q_latest_reply
static const ul_mspec r_latest[] = {
    ID(R, UL_QREP_LATEST_ID, id), ANY(R, UL_QREP_LATEST_SEQ, true, seq),
    UNITS(R, UL_QREP_LATEST_INSTALLABLE, true, UL_RPC_INSTALLABLE_ENTRY_BYTES,
          UL_MAX_INSTALLABLE_KEPT *UL_RPC_INSTALLABLE_ENTRY_BYTES, installable)};
#undef R
static const ul_mspec r_bundle[] = {
    KEY(ul_q_bundle_reply, UL_QREP_BUNDLE_BUNDLE, UL_MV_BYTES, true, 1, UL_MAX_MSG_BYTES, bundle)};
static const ul_mspec r_namespace[] = {
    ITEM(ul_q_namespace_reply, UL_QREP_NAMESPACE_BODY, true, body),
    ANY(ul_q_namespace_reply, UL_QREP_NAMESPACE_HEIGHT, true, height)};
static const ul_mspec r_nonce[] = {ANY(ul_q_nonce_reply, UL_QREP_NONCE_NONCE, true, nonce)};
static const ul_mspec r_genesis[] = {
    ITEM(ul_q_genesis_reply, UL_QREP_GENESIS_GENESIS, true, genesis)};
static const ul_mspec r_consistency[] = {
    ITEM(ul_q_consistency_reply, UL_QREP_CONSISTENCY_PROOF, true, proof)};
static const ul_mspec r_release_at[] = {ID(ul_q_release_at_reply, UL_QREP_RELEASE_AT_ID, id)};
#define R ul_q_release_status_reply
static const ul_mspec r_release_status[] = {
    FLAG(R, UL_QREP_RELEASE_STATUS_INSTALLABLE, true, 1, installable),
    KEY(R, UL_QREP_RELEASE_STATUS_APPROVALS, UL_MV_BYTES, false, 1, UL_MAX_MSG_BYTES, approvals),
    ANY(R, UL_QREP_RELEASE_STATUS_REVOKED, true, revoked_height),
    KEY(R, UL_QREP_RELEASE_STATUS_REASON, UL_MV_TEXT, false, 0, UL_MAX_RECORD_BYTES, reason)};
#undef R
#define R ul_q_state_proof_reply
static const ul_mspec r_state_proof[] = {
    ITEM(R, UL_QREP_STATE_PROOF_PROOF, true, proof), ID(R, UL_QREP_STATE_PROOF_KEY_HASH, key_hash),
    KEY(R, UL_QREP_STATE_PROOF_VALUE, UL_MV_BYTES, false, 0, UL_MAX_STATE_VALUE_BYTES, value),
    ITEM(R, UL_QREP_STATE_PROOF_HEADER, true, header)};
#undef R
#define R ul_q_validators_reply
static const ul_mspec r_validators[] = {
    ANY(R, UL_QREP_VALIDATORS_HEIGHT, true, height),
    KEY(R, UL_QREP_VALIDATORS_SET, UL_MV_BYTES, true, 1, UL_MAX_VALSET_BYTES, valset),
    ANY(R, UL_QREP_VALIDATORS_FROM, true, from), ANY(R, UL_QREP_VALIDATORS_HEAD, true, head)};
#undef R
static const ul_mspec r_evidence[] = {
    UNITS(ul_q_evidence_reply, UL_QREP_EVIDENCE_ENTRIES, true, UL_RPC_EVIDENCE_ENTRY_BYTES,
          UL_MAX_EVIDENCE_LIST *UL_RPC_EVIDENCE_ENTRY_BYTES, entries)};

static const ul_mspec r_metrics[] = {KEY(ul_q_metrics_reply, UL_QREP_METRICS_TEXT, UL_MV_BYTES,
                                         true, 0, UL_MAX_METRICS_BYTES, text)};
#define R ul_q_search_reply
static const ul_mspec r_search[] = {UNITS(R, UL_QREP_SEARCH_ENTRIES, true,
                                          UL_RPC_SEARCH_ENTRY_BYTES,
                                          UL_MAX_SEARCH *UL_RPC_SEARCH_ENTRY_BYTES, entries),
                                    ANY(R, UL_QREP_SEARCH_NEXT, false, next)};
#undef R

/* ---- the loops ----------------------------------------------------------------------------- */

/* Writes the fields of v that spec[n] names, in key order: required ones, optional ones in has. */
static void put_fields(ul_msg *m, const ul_mspec *spec, size_t n, const void *v, uint32_t has)
{
    const char *base = v;
    for (size_t i = 0; i < n; i++) {
        const ul_mspec *s = &spec[i];
        const char *p = base + s->off;
        assert(s->key < 32);
        if (!s->required && !(has & UL_Q_BIT(s->key))) {
            continue;
        }
        const ul_span *sp = (const ul_span *)(const void *)p;
        switch (s->type) {
        case UL_MV_UINT:
            ul_msg_uint(m, s->key, *(const uint64_t *)(const void *)p);
            break;
        case UL_MV_BYTES:
            ul_msg_bytes(m, s->key, sp->ptr, sp->len);
            break;
        case UL_MV_TEXT:
            ul_msg_text(m, s->key, *sp);
            break;
        case UL_MV_ITEM:
            ul_msg_item(m, s->key, *sp);
            break;
        case UL_MV_LIST: {
            const ul_q_list *l = (const ul_q_list *)(const void *)p;
            ul_msg_list(m, s->key, l->items, l->n);
            break;
        }
        }
    }
}

/* Checks m against spec[n] (strict: no other key), then keeps each field there into v. */
static ul_err read_fields(const ul_msg *m, const ul_mspec *spec, size_t n, void *v, uint32_t *has,
                          bool strict)
{
    ul_err e = strict ? ul_msg_check(m, spec, n) : ul_msg_check_known(m, spec, n);
    char *base = v;
    for (size_t i = 0; e == UL_OK && i < n; i++) {
        const ul_mspec *s = &spec[i];
        void *p = base + s->off;
        ul_q_list l = {0};
        bool there;
        switch (s->type) {
        case UL_MV_UINT:
            there = ul_msg_get_uint(m, s->key, p) == UL_OK;
            break;
        case UL_MV_BYTES:
            there = ul_msg_get_bytes(m, s->key, p) == UL_OK;
            break;
        case UL_MV_TEXT:
            there = ul_msg_get_text(m, s->key, p) == UL_OK;
            break;
        case UL_MV_ITEM:
            there = ul_msg_get_item(m, s->key, p) == UL_OK;
            break;
        default:
            if ((there = ul_msg_get_list(m, s->key, &l.wire, &l.n) == UL_OK)) {
                memcpy(p, &l, sizeof l);
            }
            break;
        }
        *has |= there ? UL_Q_BIT(s->key) : 0;
    }
    return e;
}

/* ---- requests ------------------------------------------------------------------------------ */

/* The table a state proof of kind also reads by (checked valid by q_state_proof). */
static const qdef *state_proof_kind(uint64_t kind)
{
    static const qdef kinds[] = {DEF(q_sp_installable), DEF(q_sp_release), DEF(q_sp_release),
                                 DEF(q_sp_namespace), DEF(q_sp_validators)};
    _Static_assert(UL_STATE_INSTALLABLE == 1 && UL_STATE_APPROVALS == 2 &&
                       UL_STATE_REVOCATION == 3 && UL_STATE_NAMESPACE == 4 &&
                       UL_STATE_VALIDATORS == 5,
                   "kinds[] follows ul_state_kind");
    return &kinds[kind - 1];
}

ul_err ul_q_req_read(const ul_msg *m, ul_q_req *out)
{
    uint64_t method;
    if (ul_msg_get_uint(m, UL_QK_METHOD, &method) != UL_OK || method == 0 ||
        method > UL_RPC_METHOD_MAX) {
        return UL_E_PROTOCOL;
    }
    const qdef *d = &requests[method];
    out->method = method;
    out->has = UL_Q_BIT(UL_QK_METHOD);
    ul_err e = read_fields(m, d->f, d->n, out, &out->has, true);
    if (e == UL_OK && method == UL_RPC_STATE_PROOF) {
        d = state_proof_kind(out->kind);
        e = ul_msg_check(m, d->f, d->n);
    }
    if (e == UL_OK && method == UL_RPC_SEARCH &&
        UL_Q_HAS(out, UL_QREQ_SEARCH_DIGEST) == UL_Q_HAS(out, UL_QREQ_SEARCH_SIGNER)) {
        e = UL_E_SCHEMA_FIELD;
    }
    return e;
}

void ul_q_req_put(ul_msg *m, const ul_q_req *r)
{
    assert(r->method >= 1 && r->method <= UL_RPC_METHOD_MAX);
    const qdef *d = &requests[r->method];
    ul_msg_init(m);
    ul_msg_uint(m, UL_QK_METHOD, r->method);
    put_fields(m, d->f, d->n, r, r->has);
}

static void put_req(ul_msg *m, ul_q_req *r, uint64_t method)
{
    r->method = method;
    ul_q_req_put(m, r);
}

void ul_q_status_req(ul_msg *m)
{
    put_req(m, &(ul_q_req){0}, UL_RPC_STATUS);
}

void ul_q_submit_req(ul_msg *m, const ul_span *txs, size_t n)
{
    put_req(m, &(ul_q_req){.txs = {txs, n, {0}}}, UL_RPC_SUBMIT);
}

static ul_span id_span(const uint8_t *id32)
{
    return (ul_span){id32, UL_HASH_BYTES};
}

void ul_q_tx_status_req(ul_msg *m, const uint8_t id32[UL_HASH_BYTES])
{
    put_req(m, &(ul_q_req){.id = id_span(id32)}, UL_RPC_TX_STATUS);
}

void ul_q_block_req(ul_msg *m, uint64_t height, uint64_t count)
{
    ul_q_req r = {.height = height, .count = count};
    r.has = count ? UL_Q_BIT(UL_QREQ_BLOCK_COUNT) : 0;
    put_req(m, &r, UL_RPC_BLOCK);
}

void ul_q_release_req(ul_msg *m, const uint8_t id32[UL_HASH_BYTES])
{
    put_req(m, &(ul_q_req){.id = id_span(id32)}, UL_RPC_RELEASE);
}

void ul_q_history_req(ul_msg *m, ul_span ns, const uint64_t *cursor, uint64_t limit,
                      bool newest_first, bool records)
{
    ul_q_req r = {.ns = ns, .limit = limit, .order = newest_first, .records = records};
    r.has = (cursor ? UL_Q_BIT(UL_QREQ_HISTORY_CURSOR) : 0) |
            (limit ? UL_Q_BIT(UL_QREQ_HISTORY_LIMIT) : 0) |
            (newest_first ? UL_Q_BIT(UL_QREQ_HISTORY_ORDER) : 0) |
            (records ? UL_Q_BIT(UL_QREQ_HISTORY_RECORDS) : 0);
    r.cursor = cursor ? *cursor : 0;
    put_req(m, &r, UL_RPC_HISTORY);
}

void ul_q_latest_req(ul_msg *m, ul_span ns, ul_span hw)
{
    put_req(m, &(ul_q_req){.ns = ns, .hw = hw}, UL_RPC_LATEST);
}

void ul_q_bundle_req(ul_msg *m, const uint8_t id32[UL_HASH_BYTES], uint64_t height, ul_span hw)
{
    ul_q_req r = {.id = id_span(id32), .height = height, .hw = hw};
    r.has = height ? UL_Q_BIT(UL_QREQ_BUNDLE_HEIGHT) : 0;
    put_req(m, &r, UL_RPC_BUNDLE);
}

void ul_q_namespace_req(ul_msg *m, ul_span ns)
{
    put_req(m, &(ul_q_req){.ns = ns}, UL_RPC_NAMESPACE);
}

void ul_q_nonce_req(ul_msg *m, const uint8_t pubkey32[UL_PUBKEY_BYTES])
{
    put_req(m, &(ul_q_req){.pubkey = {pubkey32, UL_PUBKEY_BYTES}}, UL_RPC_NONCE);
}

void ul_q_genesis_req(ul_msg *m)
{
    put_req(m, &(ul_q_req){0}, UL_RPC_GENESIS);
}

void ul_q_consistency_req(ul_msg *m, uint64_t size1, uint64_t size2)
{
    put_req(m, &(ul_q_req){.size1 = size1, .size2 = size2}, UL_RPC_CONSISTENCY);
}

void ul_q_release_at_req(ul_msg *m, uint64_t index)
{
    put_req(m, &(ul_q_req){.index = index}, UL_RPC_RELEASE_AT);
}

void ul_q_release_status_req(ul_msg *m, const uint8_t id32[UL_HASH_BYTES])
{
    put_req(m, &(ul_q_req){.id = id_span(id32)}, UL_RPC_RELEASE_STATUS);
}

void ul_q_state_proof_req(ul_msg *m, uint64_t kind, ul_span ns, ul_span hw, const uint8_t *id32,
                          uint64_t height)
{
    ul_q_req r = {.kind = kind, .ns = ns, .hw = hw, .height = height};
    bool reads_ns = kind == UL_STATE_INSTALLABLE || kind == UL_STATE_NAMESPACE;
    bool reads_id = kind == UL_STATE_APPROVALS || kind == UL_STATE_REVOCATION;
    r.has = (reads_ns ? UL_Q_BIT(UL_QREQ_STATE_PROOF_NS) : 0) |
            (kind == UL_STATE_INSTALLABLE ? UL_Q_BIT(UL_QREQ_STATE_PROOF_HW) : 0) |
            (reads_id ? UL_Q_BIT(UL_QREQ_STATE_PROOF_ID) : 0) |
            (height ? UL_Q_BIT(UL_QREQ_STATE_PROOF_HEIGHT) : 0);
    if (reads_id) {
        assert(id32);
        r.id = id_span(id32);
    }
    put_req(m, &r, UL_RPC_STATE_PROOF);
}

void ul_q_validators_req(ul_msg *m, uint64_t height)
{
    ul_q_req r = {.height = height};
    r.has = height ? UL_Q_BIT(UL_QREQ_VALIDATORS_HEIGHT) : 0;
    put_req(m, &r, UL_RPC_VALIDATORS);
}

void ul_q_evidence_req(ul_msg *m)
{
    put_req(m, &(ul_q_req){0}, UL_RPC_EVIDENCE);
}

void ul_q_metrics_req(ul_msg *m)
{
    put_req(m, &(ul_q_req){0}, UL_RPC_METRICS);
}

void ul_q_search_req(ul_msg *m, const uint8_t *digest32, const uint8_t *signer32,
                     const uint64_t *cursor, uint64_t limit, bool newest_first)
{
    assert((digest32 == NULL) != (signer32 == NULL));
    ul_q_req r = {.limit = limit, .order = newest_first, .cursor = cursor ? *cursor : 0};
    r.has = (digest32 ? UL_Q_BIT(UL_QREQ_SEARCH_DIGEST) : UL_Q_BIT(UL_QREQ_SEARCH_SIGNER)) |
            (cursor ? UL_Q_BIT(UL_QREQ_SEARCH_CURSOR) : 0) |
            (limit ? UL_Q_BIT(UL_QREQ_SEARCH_LIMIT) : 0) |
            (newest_first ? UL_Q_BIT(UL_QREQ_SEARCH_ORDER) : 0);
    if (digest32) {
        r.digest = id_span(digest32);
    } else {
        r.signer = (ul_span){signer32, UL_PUBKEY_BYTES};
    }
    put_req(m, &r, UL_RPC_SEARCH);
}

/* ---- replies ------------------------------------------------------------------------------- */

static ul_err agree_none(const void *r)
{
    (void)r;
    return UL_OK;
}

static ul_err agree_block(const void *v)
{
    const ul_q_block_reply *r = v;
    return r->blocks.n == r->commits.n ? UL_OK : UL_E_SCHEMA_FIELD;
}

static ul_err agree_history(const void *v)
{
    const ul_q_history_reply *r = v;
    bool ok = !UL_Q_HAS(r, UL_QREP_HISTORY_RECORDS) || r->records.n * UL_HASH_BYTES == r->ids.len;
    return ok ? UL_OK : UL_E_SCHEMA_FIELD;
}

/* Reads a reply of struct T by table t (zeroing it first); agree checks what spans keys. */
#define REPLY(name, t, agree)                                                                      \
    void ul_q_##name##_put(ul_msg *m, const ul_q_##name *r)                                        \
    {                                                                                              \
        put_fields(m, t, N(t), r, r->has);                                                         \
    }                                                                                              \
    ul_err ul_q_##name##_read(const ul_msg *m, ul_q_##name *out)                                   \
    {                                                                                              \
        memset(out, 0, sizeof *out);                                                               \
        ul_err e = read_fields(m, t, N(t), out, &out->has, false);                                 \
        return e == UL_OK ? agree(out) : e;                                                        \
    }

REPLY(status_reply, r_status, agree_none)
REPLY(submit_reply, r_submit, agree_none)
REPLY(submit_result, r_submit_result, agree_none)
REPLY(tx_status_reply, r_tx_status, agree_none)
REPLY(block_reply, r_block, agree_block)
REPLY(release_reply, r_release, agree_none)
REPLY(history_reply, r_history, agree_history)
REPLY(latest_reply, r_latest, agree_none)
REPLY(bundle_reply, r_bundle, agree_none)
REPLY(namespace_reply, r_namespace, agree_none)
REPLY(nonce_reply, r_nonce, agree_none)
REPLY(genesis_reply, r_genesis, agree_none)
REPLY(consistency_reply, r_consistency, agree_none)
REPLY(release_at_reply, r_release_at, agree_none)
REPLY(release_status_reply, r_release_status, agree_none)
REPLY(state_proof_reply, r_state_proof, agree_none)
REPLY(validators_reply, r_validators, agree_none)
REPLY(evidence_reply, r_evidence, agree_none)
REPLY(metrics_reply, r_metrics, agree_none)
REPLY(search_reply, r_search, agree_none)

ul_err ul_q_submit_result_decode(ul_msg *scratch, ul_span item, ul_q_submit_result *out)
{
    ul_err e = ul_msg_decode(scratch, item.ptr, item.len);
    return e == UL_OK ? ul_q_submit_result_read(scratch, out) : e;
}

ul_err ul_q_release_record_decode(ul_msg *scratch, ul_span item, ul_q_release_reply *out)
{
    ul_err e = ul_msg_decode(scratch, item.ptr, item.len);
    return e == UL_OK ? ul_q_release_reply_read(scratch, out) : e;
}
