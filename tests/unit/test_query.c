/* Unit tests for the query protocol's builders and readers (p2p/query.c): every request and reply
 * makes a round trip through the wire; a few are checked byte for byte against p2p/README.md
 * (the wire format did not change when the keys moved to one place); and each reply reader
 * refuses each of its fields missing, of another type, and past its bound. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "p2p/ul_query.h"

static uint8_t id_a[32], id_b[32], big[UL_MAX_MSG_BYTES / 8];
static const uint8_t empty_map[] = {0xa0}, small_map[] = {0xa1, 0x01, 0x02};

static void setup_bytes(void)
{
    for (int i = 0; i < 32; i++) {
        id_a[i] = (uint8_t)i;
        id_b[i] = (uint8_t)(0xff - i);
    }
    memset(big, 'a', sizeof big);
}

/* Encodes m and decodes it again into out: what the other side reads. */
static void wire(const ul_msg *m, ul_msg *out)
{
    static uint8_t buf[1 << 16];
    size_t len;
    assert_int_equal(ul_msg_encode(buf, sizeof buf, &len, m), UL_OK);
    assert_int_equal(ul_msg_decode(out, buf, len), UL_OK);
}

static ul_q_req read_req(const ul_msg *m)
{
    ul_msg back;
    ul_q_req q;
    memset(&q, 0, sizeof q);
    wire(m, &back);
    assert_int_equal(ul_q_req_read(&back, &q), UL_OK);
    return q;
}

static void assert_span(ul_span s, const void *p, size_t n)
{
    assert_int_equal(s.len, n);
    assert_memory_equal(s.ptr, p, n);
}

/* ---- requests ----------------------------------------------------------------------------- */

static void test_request_round_trips(void **state)
{
    (void)state;
    ul_msg m;
    ul_q_req q;
    ul_span txs[2] = {{small_map, sizeof small_map}, {empty_map, sizeof empty_map}};
    uint64_t cursor = 77;

    ul_q_status_req(&m);
    assert_int_equal(read_req(&m).method, UL_RPC_STATUS);
    ul_q_genesis_req(&m);
    assert_int_equal(read_req(&m).method, UL_RPC_GENESIS);
    ul_q_evidence_req(&m);
    assert_int_equal(read_req(&m).method, UL_RPC_EVIDENCE);
    ul_q_metrics_req(&m);
    assert_int_equal(read_req(&m).method, UL_RPC_METRICS);
    assert_int_equal(m.n, 1);

    /* Search: the one key given, and the optional fields only when asked. */
    ul_q_search_req(&m, id_a, NULL, NULL, 0, false);
    assert_int_equal(m.n, 2);
    q = read_req(&m);
    assert_int_equal(q.method, UL_RPC_SEARCH);
    assert_true(UL_Q_HAS(&q, UL_QREQ_SEARCH_DIGEST) && !UL_Q_HAS(&q, UL_QREQ_SEARCH_SIGNER));
    assert_span(q.digest, id_a, 32);
    ul_q_search_req(&m, NULL, id_b, &cursor, 5, true);
    assert_int_equal(m.n, 5);
    q = read_req(&m);
    assert_true(UL_Q_HAS(&q, UL_QREQ_SEARCH_SIGNER) && !UL_Q_HAS(&q, UL_QREQ_SEARCH_DIGEST));
    assert_span(q.signer, id_b, 32);
    assert_int_equal(q.cursor * 100 + q.limit * 10 + q.order, 7751);

    ul_q_submit_req(&m, txs, 2);
    q = read_req(&m);
    assert_int_equal(q.method, UL_RPC_SUBMIT);
    assert_int_equal(q.txs.n, 2);
    assert_span(q.txs.wire, "\xa1\x01\x02\xa0", 4);

    ul_q_tx_status_req(&m, id_a);
    q = read_req(&m);
    assert_int_equal(q.method, UL_RPC_TX_STATUS);
    assert_span(q.id, id_a, 32);

    ul_q_block_req(&m, 9, 3);
    q = read_req(&m);
    assert_int_equal(q.height, 9);
    assert_int_equal(q.count, 3);
    ul_q_block_req(&m, 9, 0); /* method and height only: the node's default count */
    assert_int_equal(m.n, 2);

    ul_q_release_req(&m, id_b);
    assert_span(read_req(&m).id, id_b, 32);

    ul_q_history_req(&m, ul_span_str("acme/widget"), &cursor, 10, true, true);
    q = read_req(&m);
    assert_int_equal(q.method, UL_RPC_HISTORY);
    assert_span(q.ns, "acme/widget", 11);
    assert_true(UL_Q_HAS(&q, UL_QREQ_HISTORY_CURSOR));
    assert_int_equal(q.cursor, 77);
    assert_int_equal(q.limit, 10);
    assert_int_equal(q.order, 1);
    assert_int_equal(q.records, 1);
    ul_q_history_req(&m, ul_span_str("a/b"), NULL, 0, false, false);
    q = read_req(&m);
    assert_false(UL_Q_HAS(&q, UL_QREQ_HISTORY_CURSOR));
    assert_false(UL_Q_HAS(&q, UL_QREQ_HISTORY_LIMIT));
    assert_int_equal(m.n, 2);

    ul_q_latest_req(&m, ul_span_str("a/b"), ul_span_str("board"));
    q = read_req(&m);
    assert_span(q.ns, "a/b", 3);
    assert_span(q.hw, "board", 5);

    ul_q_bundle_req(&m, id_a, 5, ul_span_str("board"));
    q = read_req(&m);
    assert_span(q.id, id_a, 32);
    assert_int_equal(q.height, 5);
    assert_span(q.hw, "board", 5);

    ul_q_namespace_req(&m, ul_span_str("a/b"));
    assert_span(read_req(&m).ns, "a/b", 3);
    ul_q_nonce_req(&m, id_b);
    assert_span(read_req(&m).pubkey, id_b, 32);
    ul_q_consistency_req(&m, 3, 8);
    q = read_req(&m);
    assert_int_equal(q.size1, 3);
    assert_int_equal(q.size2, 8);
    ul_q_release_at_req(&m, 42);
    assert_int_equal(read_req(&m).index, 42);
    ul_q_release_status_req(&m, id_a);
    assert_span(read_req(&m).id, id_a, 32);
    ul_q_validators_req(&m, 12);
    assert_int_equal(read_req(&m).height, 12);
    ul_q_validators_req(&m, 0);
    assert_int_equal(m.n, 1);

    /* A state proof writes exactly the keys its kind reads: the node takes each. */
    ul_q_state_proof_req(&m, UL_STATE_INSTALLABLE, ul_span_str("a/b"), ul_span_str("hw"), NULL, 4);
    q = read_req(&m);
    assert_int_equal(q.kind, UL_STATE_INSTALLABLE);
    assert_span(q.ns, "a/b", 3);
    assert_span(q.hw, "hw", 2);
    assert_int_equal(q.height, 4);
    ul_q_state_proof_req(&m, UL_STATE_APPROVALS, ul_span_str("x"), ul_span_str("y"), id_a, 0);
    q = read_req(&m);
    assert_span(q.id, id_a, 32);
    assert_false(UL_Q_HAS(&q, UL_QREQ_STATE_PROOF_NS));
    ul_q_state_proof_req(&m, UL_STATE_REVOCATION, (ul_span){0}, (ul_span){0}, id_b, 0);
    assert_span(read_req(&m).id, id_b, 32);
    ul_q_state_proof_req(&m, UL_STATE_NAMESPACE, ul_span_str("a/b"), (ul_span){0}, NULL, 0);
    assert_span(read_req(&m).ns, "a/b", 3);
    ul_q_state_proof_req(&m, UL_STATE_VALIDATORS, (ul_span){0}, (ul_span){0}, NULL, 2);
    q = read_req(&m);
    assert_int_equal(q.kind, UL_STATE_VALIDATORS);
    assert_int_equal(q.height, 2);
}

/* The bytes of a few requests, written from p2p/README.md's table by hand. */
static void assert_encodes(const ul_msg *m, const char *hex)
{
    uint8_t out[256], want[128];
    size_t len, n = strlen(hex) / 2;
    for (size_t i = 0; i < n; i++) {
        char b[3] = {hex[2 * i], hex[2 * i + 1], 0};
        want[i] = (uint8_t)strtoul(b, NULL, 16);
    }
    assert_int_equal(ul_msg_encode(out, sizeof out, &len, m), UL_OK);
    assert_int_equal(len, n);
    assert_memory_equal(out, want, n);
}

static void test_request_bytes(void **state)
{
    (void)state;
    ul_msg m;
    uint64_t cursor = 5;
    ul_q_status_req(&m);
    assert_encodes(&m, "a10001"); /* {0: 1} */
    ul_q_block_req(&m, 7, 64);
    assert_encodes(&m, "a3000401070218"
                       "40"); /* {0: 4, 1: 7, 2: 64} */
    ul_q_history_req(&m, ul_span_str("ab"), &cursor, 10, true, true);
    assert_encodes(&m, "a60006016261620205030a04010501"); /* {0: 6, 1: "ab", 2..5} */
    ul_q_state_proof_req(&m, UL_STATE_APPROVALS, (ul_span){0}, (ul_span){0}, id_a, 3);
    assert_encodes(&m, "a4000f010204"
                       "5820"
                       "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
                       "0503"); /* {0: 15, 1: 2, 4: id, 5: 3} */
}

/* The node's side: a request the method does not read, or one field of it bad, is refused. */
static void test_request_refused(void **state)
{
    (void)state;
    ul_msg m;
    ul_q_req q;
    ul_q_latest_req(&m, ul_span_str("a/b"), ul_span_str("hw"));
    m.n = 1; /* the hardware class left out */
    assert_int_equal(ul_q_req_read(&m, &q), UL_E_SCHEMA_FIELD);
    ul_q_latest_req(&m, ul_span_str("a/b"), (ul_span){big, UL_MAX_LABEL_LEN + 1});
    assert_int_equal(ul_q_req_read(&m, &q), UL_E_LIMIT);
    ul_q_latest_req(&m, ul_span_str("a/b"), ul_span_str("hw"));
    m.f[2].type = UL_MV_UINT;
    assert_int_equal(ul_q_req_read(&m, &q), UL_E_CBOR_TYPE);
    ul_q_release_at_req(&m, 1);
    ul_msg_uint(&m, 9, 1); /* a key release-at does not read */
    assert_int_equal(ul_q_req_read(&m, &q), UL_E_SCHEMA_FIELD);
    ul_msg_init(&m);
    ul_msg_uint(&m, UL_QK_METHOD, UL_RPC_METHOD_MAX + 1);
    assert_int_equal(ul_q_req_read(&m, &q), UL_E_PROTOCOL);
    ul_q_state_proof_req(&m, UL_STATE_NAMESPACE, ul_span_str("a/b"), (ul_span){0}, NULL, 0);
    ul_msg_text(&m, UL_QREQ_STATE_PROOF_HW, ul_span_str("hw")); /* not read by this kind */
    assert_int_equal(ul_q_req_read(&m, &q), UL_E_SCHEMA_FIELD);
    /* Search: exactly one of digest and signer, each 32 bytes; a page of 1..UL_MAX_SEARCH. */
    ul_q_search_req(&m, id_a, NULL, NULL, 0, false);
    ul_msg_bytes(&m, UL_QREQ_SEARCH_SIGNER, id_b, 32);
    assert_int_equal(ul_q_req_read(&m, &q), UL_E_SCHEMA_FIELD);
    ul_q_search_req(&m, id_a, NULL, NULL, 9, false);
    m.f[1] = m.f[2]; /* the digest gone: the limit alone */
    m.n = 2;
    assert_int_equal(ul_q_req_read(&m, &q), UL_E_SCHEMA_FIELD);
    ul_q_search_req(&m, id_a, NULL, NULL, UL_MAX_SEARCH + 1, false);
    assert_int_equal(ul_q_req_read(&m, &q), UL_E_LIMIT);
    ul_q_search_req(&m, NULL, id_a, NULL, 0, false);
    m.f[1].s.len = 31;
    assert_int_equal(ul_q_req_read(&m, &q), UL_E_SCHEMA_FIELD);
    ul_q_search_req(&m, NULL, id_a, NULL, 0, true);
    m.f[2].u = 2; /* order is 0 or 1 */
    assert_int_equal(ul_q_req_read(&m, &q), UL_E_ARG);
}

/* ---- replies ------------------------------------------------------------------------------ */

static ul_span two_items[2] = {{small_map, sizeof small_map}, {empty_map, sizeof empty_map}};
static const ul_span item = {small_map, sizeof small_map};

static void b_status(ul_msg *m)
{
    ul_q_status_reply r = {.height = 3,
                           .chain_id = {id_a, 32},
                           .log_size = 4,
                           .pooled = 5,
                           .head = item,
                           .round = 6,
                           .peer_received = 7,
                           .peer_malformed = 8,
                           .peer_bad_sig = 9,
                           .peer_unknown = 10,
                           .send_dropped = 11,
                           .sign_height = 12,
                           .sign_round = 13,
                           .sign_step = 2,
                           .sign_refusing = UL_E_SIGN_STATE,
                           .sign_until = 16,
                           .signed_count = 17,
                           .sync_target = UINT64_MAX, /* a claim may be any uint64 */
                           .claims_ignored = 19,
                           .store_fault = UL_E_NO_SPACE,
                           .store_text = {(const uint8_t *)"full", 4}};
    r.has = UL_Q_BIT(UL_QREP_STATUS_HEAD) | UL_Q_BIT(UL_QREP_STATUS_STORE_FAULT) |
            UL_Q_BIT(UL_QREP_STATUS_STORE_TEXT);
    for (unsigned k = UL_QREP_STATUS_SIGN_HEIGHT; k <= UL_QREP_STATUS_CLAIMS_IGNORED; k++) {
        r.has |= UL_Q_BIT(k);
    }
    ul_q_status_reply_put(m, &r);
}

static void b_submit(ul_msg *m)
{
    ul_q_submit_reply_put(m, &(ul_q_submit_reply){.results = {two_items, 2, {0}}});
}

static void b_submit_result(ul_msg *m)
{
    ul_q_submit_result_put(m, &(ul_q_submit_result){.err = UL_E_REPLAY, .id = {id_b, 32}});
}

static void b_tx_status(ul_msg *m)
{
    ul_q_tx_status_reply_put(m, &(ul_q_tx_status_reply){.height = 12});
}

static void b_block(ul_msg *m)
{
    ul_q_block_reply_put(
        m, &(ul_q_block_reply){.blocks = {two_items, 2, {0}}, .commits = {two_items, 2, {0}}});
}

static void b_release(ul_msg *m)
{
    ul_q_release_reply_put(
        m, &(ul_q_release_reply){
               .tx = item, .log_index = 1, .height = 2, .tx_index = 3, .time_ms = 4});
}

static void b_history(ul_msg *m)
{
    static uint8_t ids[64];
    ul_q_history_reply r = {.ids = {ids, 64}, .next = 9, .records = {two_items, 2, {0}}};
    r.has = UL_Q_BIT(UL_QREP_HISTORY_NEXT) | UL_Q_BIT(UL_QREP_HISTORY_RECORDS);
    ul_q_history_reply_put(m, &r);
}

static void b_latest(ul_msg *m)
{
    ul_q_latest_reply_put(
        m, &(ul_q_latest_reply){.id = {id_a, 32}, .seq = 2, .installable = {big, 2 * 40}});
}

static void b_bundle(ul_msg *m)
{
    ul_q_bundle_reply_put(m, &(ul_q_bundle_reply){.bundle = {big, 100}});
}

static void b_namespace(ul_msg *m)
{
    ul_q_namespace_reply_put(m, &(ul_q_namespace_reply){.body = item, .height = 8});
}

static void b_nonce(ul_msg *m)
{
    ul_q_nonce_reply_put(m, &(ul_q_nonce_reply){.nonce = 17});
}

static void b_genesis(ul_msg *m)
{
    ul_q_genesis_reply_put(m, &(ul_q_genesis_reply){.genesis = item});
}

static void b_consistency(ul_msg *m)
{
    ul_q_consistency_reply_put(m, &(ul_q_consistency_reply){.proof = item});
}

static void b_release_at(ul_msg *m)
{
    ul_q_release_at_reply_put(m, &(ul_q_release_at_reply){.id = {id_b, 32}});
}

static void b_release_status(ul_msg *m)
{
    ul_q_release_status_reply r = {.installable = 1,
                                   .approvals = {big, 10},
                                   .revoked_height = 4,
                                   .reason = {(const uint8_t *)"bad", 3}};
    r.has = UL_Q_BIT(UL_QREP_RELEASE_STATUS_APPROVALS) | UL_Q_BIT(UL_QREP_RELEASE_STATUS_REASON);
    ul_q_release_status_reply_put(m, &r);
}

static void b_state_proof(ul_msg *m)
{
    ul_q_state_proof_reply r = {
        .proof = item, .key_hash = {id_a, 32}, .value = {big, 40}, .header = item};
    r.has = UL_Q_BIT(UL_QREP_STATE_PROOF_VALUE);
    ul_q_state_proof_reply_put(m, &r);
}

static void b_validators(ul_msg *m)
{
    ul_q_validators_reply_put(
        m, &(ul_q_validators_reply){.height = 5, .valset = {big, 64}, .from = 1, .head = 4});
}

static void b_evidence(ul_msg *m)
{
    ul_q_evidence_reply_put(m, &(ul_q_evidence_reply){.entries = {big, 2 * 89}});
}

static void b_metrics(ul_msg *m)
{
    ul_q_metrics_reply_put(m, &(ul_q_metrics_reply){.text = {big, 100}});
}

static void b_search(ul_msg *m)
{
    ul_q_search_reply r = {.entries = {big, 2 * 40}, .next = 9};
    r.has = UL_Q_BIT(UL_QREP_SEARCH_NEXT);
    ul_q_search_reply_put(m, &r);
}

/* Each reader as one type, for the table. */
#define RD(name)                                                                                   \
    static ul_err rd_##name(const ul_msg *m)                                                       \
    {                                                                                              \
        ul_q_##name r;                                                                             \
        return ul_q_##name##_read(m, &r);                                                          \
    }
RD(status_reply)
RD(submit_reply)
RD(submit_result)
RD(tx_status_reply)
RD(block_reply)
RD(release_reply)
RD(history_reply)
RD(latest_reply)
RD(bundle_reply)
RD(namespace_reply)
RD(nonce_reply)
RD(genesis_reply)
RD(consistency_reply)
RD(release_at_reply)
RD(release_status_reply)
RD(state_proof_reply)
RD(validators_reply)
RD(evidence_reply)
RD(metrics_reply)
RD(search_reply)

/* A field of a reply as p2p/README.md states it: over is a value (uint), a length (bytes,
 * text) or a count (list) past its bound, answered by over_err (0: unbounded). */
typedef struct {
    uint64_t key;
    bool required;
    uint64_t over;
    ul_err over_err;
} rfield;

typedef struct {
    const char *name;
    ul_err (*read)(const ul_msg *);
    void (*build)(ul_msg *);
    size_t n;
    rfield f[21];
} rcase;

#define REQD(k)                                                                                    \
    {                                                                                              \
        k, true, 0, UL_OK                                                                          \
    }
#define OVER(k, n)                                                                                 \
    {                                                                                              \
        k, true, n, UL_E_LIMIT                                                                     \
    }
static const rcase replies[] = {
    {"status",
     rd_status_reply,
     b_status,
     21,
     {REQD(1),
      OVER(2, 33),
      REQD(3),
      REQD(4),
      {5, false, 0, UL_OK},
      REQD(6),
      REQD(7),
      REQD(8),
      REQD(9),
      REQD(10),
      REQD(11),
      {12, false, 0, UL_OK},
      {13, false, (uint64_t)UINT32_MAX + 1, UL_E_LIMIT},
      {14, false, 4, UL_E_LIMIT}, /* steps are 0..3 */
      {15, false, (uint64_t)UINT32_MAX + 1, UL_E_LIMIT},
      {16, false, 0, UL_OK},
      {17, false, 0, UL_OK},
      {18, false, 0, UL_OK},
      {19, false, 0, UL_OK},
      {20, false, (uint64_t)UINT32_MAX + 1, UL_E_LIMIT},
      {21, false, UL_MAX_MSG_BYTES + 1, UL_E_LIMIT}}},
    {"submit", rd_submit_reply, b_submit, 1, {OVER(1, UL_MAX_SUBMIT_TXS + 1)}},
    {"submit result", rd_submit_result, b_submit_result, 2, {REQD(1), OVER(2, 33)}},
    {"tx status", rd_tx_status_reply, b_tx_status, 1, {REQD(1)}},
    {"block",
     rd_block_reply,
     b_block,
     2,
     {OVER(1, UL_MAX_BLOCK_RANGE + 1), OVER(2, UL_MAX_BLOCK_RANGE + 1)}},
    {"release", rd_release_reply, b_release, 5, {REQD(1), REQD(2), REQD(3), REQD(4), REQD(5)}},
    {"history",
     rd_history_reply,
     b_history,
     3,
     {OVER(1, (UL_MAX_HISTORY + 1) * 32),
      {2, false, 0, UL_OK},
      {3, false, UL_MAX_HISTORY + 1, UL_E_LIMIT}}},
    {"latest", rd_latest_reply, b_latest, 3, {OVER(1, 33), REQD(2), OVER(3, 9 * 40)}},
    {"bundle", rd_bundle_reply, b_bundle, 1, {OVER(1, UL_MAX_MSG_BYTES + 1)}},
    {"namespace", rd_namespace_reply, b_namespace, 2, {REQD(1), REQD(2)}},
    {"nonce", rd_nonce_reply, b_nonce, 1, {REQD(1)}},
    {"genesis", rd_genesis_reply, b_genesis, 1, {REQD(1)}},
    {"consistency", rd_consistency_reply, b_consistency, 1, {REQD(1)}},
    {"release at", rd_release_at_reply, b_release_at, 1, {OVER(1, 33)}},
    {"release status",
     rd_release_status_reply,
     b_release_status,
     4,
     {{1, true, 2, UL_E_ARG},
      {2, false, UL_MAX_MSG_BYTES + 1, UL_E_LIMIT},
      REQD(3),
      {4, false, UL_MAX_RECORD_BYTES + 1, UL_E_LIMIT}}},
    {"state proof",
     rd_state_proof_reply,
     b_state_proof,
     4,
     {REQD(1), OVER(2, 33), {3, false, UL_MAX_STATE_VALUE_BYTES + 1, UL_E_LIMIT}, REQD(4)}},
    {"validators",
     rd_validators_reply,
     b_validators,
     4,
     {REQD(1), OVER(2, UL_MAX_VALSET_BYTES + 1), REQD(3), REQD(4)}},
    {"evidence", rd_evidence_reply, b_evidence, 1, {OVER(1, (UL_MAX_EVIDENCE_LIST + 1) * 89)}},
    {"metrics", rd_metrics_reply, b_metrics, 1, {OVER(1, UL_MAX_METRICS_BYTES + 1)}},
    {"search",
     rd_search_reply,
     b_search,
     2,
     {OVER(1, (UL_MAX_SEARCH + 1) * 40), {2, false, 0, UL_OK}}},
};

static ul_mfield *field_of(ul_msg *m, uint64_t key)
{
    for (size_t i = 0; i < m->n; i++) {
        if (m->f[i].key == key) {
            return &m->f[i];
        }
    }
    fail_msg("key %llu not in the reply", (unsigned long long)key);
    return NULL;
}

typedef enum { V_MISSING, V_TYPE, V_OVER } variant;

/* A valid reply of c (with key 0), as decoded, then field f changed as v says. */
static void variant_of(const rcase *c, const rfield *f, variant v, ul_msg *m)
{
    ul_msg built;
    ul_msg_init(&built);
    ul_msg_uint(&built, UL_QK_ERR, UL_OK);
    c->build(&built);
    wire(&built, m);
    ul_mfield *x = field_of(m, f->key);
    if (v == V_MISSING) {
        memmove(x, x + 1, (size_t)(&m->f[m->n] - (x + 1)) * sizeof *x);
        m->n--;
    } else if (v == V_TYPE) {
        x->type = x->type == UL_MV_UINT ? UL_MV_TEXT : UL_MV_UINT;
        x->s = ul_span_str("7");
        x->u = 7;
    } else if (x->type == UL_MV_UINT) {
        x->u = f->over;
    } else if (x->type == UL_MV_LIST) {
        x->n = (size_t)f->over;
    } else {
        x->s = (ul_span){big, (size_t)f->over}; /* only its length is read: it is refused */
    }
}

static void expect(const rcase *c, const rfield *f, const char *what, ul_err got, ul_err want)
{
    if (got != want) {
        fail_msg("%s reply, key %llu %s: got %s, want %s", c->name, (unsigned long long)f->key,
                 what, ul_err_name(got), ul_err_name(want));
    }
}

static void test_reply_fields_refused(void **state)
{
    (void)state;
    ul_msg m;
    for (size_t k = 0; k < sizeof replies / sizeof replies[0]; k++) {
        const rcase *c = &replies[k];
        ul_msg built;
        ul_msg_init(&built);
        c->build(&built);
        assert_int_equal(built.n, c->n); /* the table names every key the builder wrote */
        for (size_t i = 0; i < c->n; i++) {
            const rfield *f = &c->f[i];
            variant_of(c, f, V_MISSING, &m);
            expect(c, f, "missing", c->read(&m), f->required ? UL_E_SCHEMA_FIELD : UL_OK);
            variant_of(c, f, V_TYPE, &m);
            expect(c, f, "of another type", c->read(&m), UL_E_CBOR_TYPE);
            if (f->over_err != UL_OK) {
                variant_of(c, f, V_OVER, &m);
                expect(c, f, "past its bound", c->read(&m), f->over_err);
            }
        }
        /* A key a newer node appends is left alone. */
        ul_msg_init(&built);
        c->build(&built);
        ul_msg_uint(&built, 30, 1);
        wire(&built, &m);
        assert_int_equal(c->read(&m), UL_OK);
    }
}

/* Lists and bytes that do not agree: ids not whole, records not one per id, blocks without
 * their commits, installable entries not whole. */
static void test_reply_agreement(void **state)
{
    (void)state;
    ul_msg m;
    ul_q_history_reply h;
    ul_q_block_reply b;
    ul_q_latest_reply l;
    ul_q_evidence_reply e;
    ul_msg_init(&m);
    ul_q_history_reply_put(&m, &(ul_q_history_reply){.ids = {big, 33}});
    assert_int_equal(ul_q_history_reply_read(&m, &h), UL_E_SCHEMA_FIELD);
    ul_msg_init(&m);
    ul_q_history_reply_put(&m, &(ul_q_history_reply){.ids = {big, 96},
                                                     .records = {two_items, 2, {0}},
                                                     .has = UL_Q_BIT(UL_QREP_HISTORY_RECORDS)});
    assert_int_equal(ul_q_history_reply_read(&m, &h), UL_E_SCHEMA_FIELD);
    ul_msg_init(&m);
    ul_q_block_reply_put(
        &m, &(ul_q_block_reply){.blocks = {two_items, 2, {0}}, .commits = {two_items, 1, {0}}});
    assert_int_equal(ul_q_block_reply_read(&m, &b), UL_E_SCHEMA_FIELD);
    ul_msg_init(&m);
    ul_q_latest_reply_put(&m, &(ul_q_latest_reply){.id = {id_a, 32}, .installable = {big, 41}});
    assert_int_equal(ul_q_latest_reply_read(&m, &l), UL_E_SCHEMA_FIELD);
    ul_msg_init(&m);
    ul_q_evidence_reply_put(&m, &(ul_q_evidence_reply){.entries = {big, 90}});
    assert_int_equal(ul_q_evidence_reply_read(&m, &e), UL_E_SCHEMA_FIELD);
    ul_q_search_reply sr;
    ul_msg_init(&m);
    ul_q_search_reply_put(&m, &(ul_q_search_reply){.entries = {big, 41}});
    assert_int_equal(ul_q_search_reply_read(&m, &sr), UL_E_SCHEMA_FIELD);
}

/* What each reader keeps is what the builder wrote. */
static void test_reply_round_trips(void **state)
{
    (void)state;
    ul_msg built, m, scratch;
    ul_span one;
#define BACK(name)                                                                                 \
    ul_msg_init(&built);                                                                           \
    b_##name(&built);                                                                              \
    wire(&built, &m);                                                                              \
    ul_q_##name##_reply name;                                                                      \
    assert_int_equal(ul_q_##name##_reply_read(&m, &name), UL_OK)
    BACK(status);
    assert_int_equal(status.height, 3);
    assert_span(status.chain_id, id_a, 32);
    assert_int_equal(status.log_size + status.pooled + status.round, 4 + 5 + 6);
    assert_int_equal(status.peer_received + status.peer_malformed + status.peer_bad_sig, 24);
    assert_int_equal(status.peer_unknown + status.send_dropped, 21);
    assert_span(status.head, small_map, sizeof small_map);
    assert_int_equal(status.sign_height + status.sign_round + status.sign_step, 12 + 13 + 2);
    assert_int_equal(status.sign_refusing, UL_E_SIGN_STATE);
    assert_int_equal(status.sign_until + status.signed_count, 16 + 17);
    assert_true(status.sync_target == UINT64_MAX);
    assert_int_equal(status.claims_ignored, 19);
    assert_int_equal(status.store_fault, UL_E_NO_SPACE);
    assert_span(status.store_text, "full", 4);
    BACK(submit);
    assert_int_equal(submit.results.n, 2);
    assert_true(ul_msg_list_next(&submit.results.wire, &one));
    ul_msg_init(&built);
    b_submit_result(&built);
    static uint8_t enc[64];
    size_t len;
    assert_int_equal(ul_msg_encode(enc, sizeof enc, &len, &built), UL_OK);
    ul_q_submit_result sr;
    assert_int_equal(ul_q_submit_result_decode(&scratch, (ul_span){enc, len}, &sr), UL_OK);
    assert_int_equal(sr.err, UL_E_REPLAY);
    assert_span(sr.id, id_b, 32);
    BACK(tx_status);
    assert_int_equal(tx_status.height, 12);
    BACK(block);
    assert_int_equal(block.blocks.n, 2);
    assert_true(ul_msg_list_next(&block.commits.wire, &one));
    assert_span(one, small_map, sizeof small_map);
    BACK(release);
    assert_span(release.tx, small_map, sizeof small_map);
    assert_int_equal(release.log_index * 1000 + release.height * 100 + release.tx_index * 10 +
                         release.time_ms,
                     1234);
    BACK(history);
    assert_int_equal(history.ids.len, 64);
    assert_int_equal(history.next, 9);
    assert_int_equal(history.records.n, 2);
    BACK(latest);
    assert_span(latest.id, id_a, 32);
    assert_int_equal(latest.seq, 2);
    assert_int_equal(latest.installable.len, 80);
    BACK(bundle);
    assert_span(bundle.bundle, big, 100);
    BACK(namespace);
    assert_span(namespace.body, small_map, sizeof small_map);
    assert_int_equal(namespace.height, 8);
    BACK(nonce);
    assert_int_equal(nonce.nonce, 17);
    BACK(genesis);
    assert_span(genesis.genesis, small_map, sizeof small_map);
    BACK(consistency);
    assert_span(consistency.proof, small_map, sizeof small_map);
    BACK(release_at);
    assert_span(release_at.id, id_b, 32);
    BACK(release_status);
    assert_int_equal(release_status.installable, 1);
    assert_int_equal(release_status.revoked_height, 4);
    assert_span(release_status.approvals, big, 10);
    assert_span(release_status.reason, "bad", 3);
    BACK(state_proof);
    assert_span(state_proof.key_hash, id_a, 32);
    assert_true(UL_Q_HAS(&state_proof, UL_QREP_STATE_PROOF_VALUE));
    assert_span(state_proof.value, big, 40);
    assert_span(state_proof.header, small_map, sizeof small_map);
    BACK(validators);
    assert_int_equal(validators.height * 100 + validators.from * 10 + validators.head, 514);
    assert_span(validators.valset, big, 64);
    BACK(evidence);
    assert_int_equal(evidence.entries.len, 178);
    BACK(metrics);
    assert_span(metrics.text, big, 100);
    BACK(search);
    assert_span(search.entries, big, 80);
    assert_true(UL_Q_HAS(&search, UL_QREP_SEARCH_NEXT));
    assert_int_equal(search.next, 9);
#undef BACK
}

int main(void)
{
    setup_bytes();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_round_trips),  cmocka_unit_test(test_request_bytes),
        cmocka_unit_test(test_request_refused),      cmocka_unit_test(test_reply_round_trips),
        cmocka_unit_test(test_reply_fields_refused), cmocka_unit_test(test_reply_agreement),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
