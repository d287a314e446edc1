/* The node's query handler (node/rpc.c, ul_node_handle) called directly on a small chain: every
 * method with each field it reads missing, of the wrong type, oversized (and undersized), and
 * with a field it does not read; each answer must be a specific code, never a reply built from
 * a field that was not there (issue 10 item 1: a state proof without its namespace copied from
 * NULL). Run under ASan + UBSan by `make test SANITIZER=address,undefined`. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "chainfx.h"
#include "node/io.h"
#include "node/node.h"

#define NS "acme/widget"
#define HW "board-a"
#define T0 1767225600000ULL

typedef struct {
    char root[128];
    ul_key *val, *owner;
    ul_node node;
    ul_node_io *io;
    uint8_t chain_id[UL_HASH_BYTES];
    uint8_t rel_id[UL_HASH_BYTES];
} fx;

static fx *g;

static void submit_tx(fx *f, ul_tx_kind kind, const uint8_t *body, size_t blen, ul_domain d,
                      uint8_t id[UL_HASH_BYTES])
{
    static ul_chainfx_txbuf t;
    uint8_t scratch[UL_HASH_BYTES];
    ul_chainfx_tx(&t, f->chain_id, kind, body, blen, (const ul_key *const[]){f->owner}, 1, d);
    assert_int_equal(ul_chain_submit(f->node.chain, t.b, t.len, id ? id : scratch), UL_OK);
}

/* A namespace NS owned and published by f->owner, and one release of it for HW. */
static void fill_chain(fx *f)
{
    static ul_register reg;
    static ul_release rel;
    static uint8_t body[UL_MAX_RECORD_BYTES];
    size_t blen;
    uint64_t h;
    memset(&reg, 0, sizeof reg);
    reg.ns = ul_span_str(NS);
    reg.nonce = 1;
    reg.policy.owners.n = reg.policy.publishers.n = 1;
    reg.policy.owners.threshold = reg.policy.publishers.threshold = 1;
    memcpy(reg.policy.owners.keys[0], ul_key_pubkey(f->owner), UL_PUBKEY_BYTES);
    memcpy(reg.policy.publishers.keys[0], ul_key_pubkey(f->owner), UL_PUBKEY_BYTES);
    reg.policy.n_revokers = 1;
    reg.policy.revokers[0] = ul_span_str("owners");
    assert_int_equal(ul_schema_register_encode(body, sizeof body, &blen, &reg), UL_OK);
    submit_tx(f, UL_TX_REGISTER, body, blen, UL_DOMAIN_TX, NULL);
    memset(&rel, 0, sizeof rel);
    rel.ns = ul_span_str(NS);
    rel.provider = ul_span_str("Acme");
    rel.time = 1700000000;
    rel.version = ul_span_str("1.0.0");
    rel.seq = 1;
    rel.size = 4;
    rel.file = ul_span_str("w.bin");
    rel.n_hw = 1;
    rel.hw[0] = ul_span_str(HW);
    rel.kind = UL_KIND_SECURITY;
    assert_int_equal(ul_schema_release_encode(body, sizeof body, &blen, &rel), UL_OK);
    submit_tx(f, UL_TX_PUBLISH, body, blen, UL_DOMAIN_RELEASE, f->rel_id);
    assert_int_equal(ul_chain_produce(f->node.chain, f->val, T0 + 1000, &h), UL_OK);
    assert_int_equal(h, 1);
}

static int setup(void **state)
{
    static fx f;
    static uint8_t genesis[UL_MAX_VALSET_BYTES + 1024];
    ul_valset vs;
    size_t glen;
    memset(&f, 0, sizeof f);
    ul_chainfx_tmpdir(f.root, sizeof f.root, "rpc");
    f.val = ul_chainfx_key("upledger rpc test", 1);
    f.owner = ul_chainfx_key("upledger rpc test", 2);
    ul_chainfx_valset(&vs, (const ul_key *const[]){f.val}, (const uint64_t[]){1}, 1);
    ul_chainfx_genesis(genesis, sizeof genesis, &glen, f.chain_id, "rpc-test", T0, &vs);
    f.node.chain = ul_chainfx_open(f.root, "db", genesis, glen);
    fill_chain(&f);
    /* An observer: it serves every query and takes no transaction (submit answers per tx). */
    static ul_node_cfg cfg = {.observer = true, .heartbeat_ms = 1000, .round_timeout_ms = 1000};
    assert_int_equal(ul_node_io_open(&f.io, NULL, &cfg), UL_OK);
    f.node.io = f.io;
    assert_int_equal(ul_cons_open(&f.node, &cfg), UL_OK);
    g = &f;
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    ul_cons_close(&f->node);
    ul_node_io_close(f->io);
    ul_chain_close(f->node.chain);
    ul_key_destroy(f->val);
    ul_key_destroy(f->owner);
    ul_chainfx_rm_tree(f->root);
    return 0;
}

/* Sends m to the handler. Returns: the reply's ul_err (key 0). */
static ul_err call(const ul_msg *m)
{
    static uint8_t req[UL_MAX_TX_BYTES * 2];
    uint8_t *out = NULL;
    size_t len, out_len = 0;
    uint64_t code = UINT64_MAX;
    ul_msg rep;
    assert_int_equal(ul_msg_encode(req, sizeof req, &len, m), UL_OK);
    ul_node_handle(&g->node, req, len, &out, &out_len);
    assert_non_null(out);
    assert_int_equal(ul_msg_decode(&rep, out, out_len), UL_OK);
    assert_int_equal(ul_msg_get_uint(&rep, UL_QK_ERR, &code), UL_OK);
    free(out);
    return (ul_err)code;
}

/* ---- the protocol's request fields (p2p/README.md), as this test reads them: the keys by the
 * names p2p/ul_query.h gives them, the types and bounds written here again ------------------ */

typedef enum { F_UINT, F_TEXT, F_ID, F_LIST } ftype;

typedef struct {
    uint64_t key;
    ftype t;
    bool required;
    const char *text; /* F_TEXT: the valid value */
    uint64_t u;       /* F_UINT: the valid value */
    uint64_t max;     /* F_UINT: largest value taken (0: any); F_TEXT: longest; F_LIST: count */
    ul_err over;      /* F_UINT: the answer to max + 1 */
} field;

typedef struct {
    const char *name;
    uint64_t method;
    size_t n;
    field f[6];
} method;

#define NS_F(k)                                                                                    \
    {                                                                                              \
        k, F_TEXT, true, NS, 0, UL_MAX_NS_LEN, 0                                                   \
    }
#define HW_F(k)                                                                                    \
    {                                                                                              \
        k, F_TEXT, true, HW, 0, UL_MAX_LABEL_LEN, 0                                                \
    }
#define ID_F(k)                                                                                    \
    {                                                                                              \
        k, F_ID, true, NULL, 0, 0, 0                                                               \
    }
#define KIND_F(kind, max, over)                                                                    \
    {                                                                                              \
        UL_QREQ_STATE_PROOF_KIND, F_UINT, true, NULL, kind, max, over                              \
    }
#define SP_HEIGHT_F                                                                                \
    {                                                                                              \
        UL_QREQ_STATE_PROOF_HEIGHT, F_UINT, false, NULL, 1, 0, 0                                   \
    }
/* A key no method reads: above every key of every request. */
#define UNREAD_KEY 14

static const method methods[] = {
    {"status", UL_RPC_STATUS, 0, {{0}}},
    {"submit",
     UL_RPC_SUBMIT,
     1,
     {{UL_QREQ_SUBMIT_TXS, F_LIST, true, NULL, 0, UL_MAX_SUBMIT_TXS, 0}}},
    {"tx status", UL_RPC_TX_STATUS, 1, {ID_F(UL_QREQ_TX_STATUS_ID)}},
    {"block",
     UL_RPC_BLOCK,
     2,
     {{UL_QREQ_BLOCK_HEIGHT, F_UINT, true, NULL, 1, 0, 0},
      {UL_QREQ_BLOCK_COUNT, F_UINT, false, NULL, 1, UL_MAX_BLOCK_RANGE, UL_E_LIMIT}}},
    {"release", UL_RPC_RELEASE, 1, {ID_F(UL_QREQ_RELEASE_ID)}},
    {"history",
     UL_RPC_HISTORY,
     5,
     {NS_F(UL_QREQ_HISTORY_NS),
      {UL_QREQ_HISTORY_CURSOR, F_UINT, false, NULL, 0, 0, 0},
      {UL_QREQ_HISTORY_LIMIT, F_UINT, false, NULL, 1, UL_MAX_HISTORY, UL_E_LIMIT},
      {UL_QREQ_HISTORY_ORDER, F_UINT, false, NULL, 1, 1, UL_E_ARG},
      {UL_QREQ_HISTORY_RECORDS, F_UINT, false, NULL, 1, 1, UL_E_ARG}}},
    {"latest", UL_RPC_LATEST, 2, {NS_F(UL_QREQ_LATEST_NS), HW_F(UL_QREQ_LATEST_HW)}},
    {"bundle",
     UL_RPC_BUNDLE,
     3,
     {ID_F(UL_QREQ_BUNDLE_ID),
      {UL_QREQ_BUNDLE_HEIGHT, F_UINT, false, NULL, 1, 0, 0},
      HW_F(UL_QREQ_BUNDLE_HW)}},
    {"namespace", UL_RPC_NAMESPACE, 1, {NS_F(UL_QREQ_NAMESPACE_NS)}},
    {"nonce", UL_RPC_NONCE, 1, {ID_F(UL_QREQ_NONCE_PUBKEY)}},
    {"genesis", UL_RPC_GENESIS, 0, {{0}}},
    {"consistency",
     UL_RPC_CONSISTENCY,
     2,
     {{UL_QREQ_CONSISTENCY_SIZE1, F_UINT, true, NULL, 1, 0, 0},
      {UL_QREQ_CONSISTENCY_SIZE2, F_UINT, true, NULL, 1, 0, 0}}},
    {"release at", UL_RPC_RELEASE_AT, 1, {{UL_QREQ_RELEASE_AT_INDEX, F_UINT, true, NULL, 0, 0, 0}}},
    {"release status", UL_RPC_RELEASE_STATUS, 1, {ID_F(UL_QREQ_RELEASE_STATUS_ID)}},
    {"state proof installable",
     UL_RPC_STATE_PROOF,
     4,
     {KIND_F(UL_STATE_INSTALLABLE, 0, 0), NS_F(UL_QREQ_STATE_PROOF_NS),
      HW_F(UL_QREQ_STATE_PROOF_HW), SP_HEIGHT_F}},
    {"state proof approvals",
     UL_RPC_STATE_PROOF,
     3,
     {KIND_F(UL_STATE_APPROVALS, 0, 0), ID_F(UL_QREQ_STATE_PROOF_ID), SP_HEIGHT_F}},
    {"state proof revocation",
     UL_RPC_STATE_PROOF,
     2,
     {KIND_F(UL_STATE_REVOCATION, 0, 0), ID_F(UL_QREQ_STATE_PROOF_ID)}},
    {"state proof namespace",
     UL_RPC_STATE_PROOF,
     2,
     {KIND_F(UL_STATE_NAMESPACE, 0, 0), NS_F(UL_QREQ_STATE_PROOF_NS)}},
    {"state proof validators",
     UL_RPC_STATE_PROOF,
     2,
     {KIND_F(UL_STATE_VALIDATORS, UL_STATE_VALIDATORS, UL_E_ARG), SP_HEIGHT_F}},
    {"validators",
     UL_RPC_VALIDATORS,
     1,
     {{UL_QREQ_VALIDATORS_HEIGHT, F_UINT, false, NULL, 1, 0, 0}}},
    {"evidence", UL_RPC_EVIDENCE, 0, {{0}}},
    {"metrics", UL_RPC_METRICS, 0, {{0}}},
    /* Exactly one of digest and signer: either one left out leaves none, a missing field. */
    {"search digest",
     UL_RPC_SEARCH,
     4,
     {ID_F(UL_QREQ_SEARCH_DIGEST),
      {UL_QREQ_SEARCH_CURSOR, F_UINT, false, NULL, 0, 0, 0},
      {UL_QREQ_SEARCH_LIMIT, F_UINT, false, NULL, 1, UL_MAX_SEARCH, UL_E_LIMIT},
      {UL_QREQ_SEARCH_ORDER, F_UINT, false, NULL, 1, 1, UL_E_ARG}}},
    {"search signer", UL_RPC_SEARCH, 1, {ID_F(UL_QREQ_SEARCH_SIGNER)}},
};

typedef enum { V_OK, V_MISSING, V_TYPE, V_OVER, V_UNDER } variant;

static char long_text[UL_MAX_MSG_BYTES / 1024];
static uint8_t id_buf[UL_HASH_BYTES + 1];
static ul_span items[UL_MAX_SUBMIT_TXS + 1];
static const uint8_t empty_map[] = {0xa0};

/* Adds field f to q as variant v (V_OK: its valid value). */
static void put(ul_msg *q, const field *f, variant v)
{
    if (v == V_MISSING) {
        return;
    }
    if (v == V_TYPE) { /* a uint where text, bytes or a list goes; text where a uint goes */
        if (f->t == F_UINT) {
            ul_msg_text(q, f->key, ul_span_str("7"));
        } else {
            ul_msg_uint(q, f->key, 7);
        }
        return;
    }
    switch (f->t) {
    case F_UINT:
        ul_msg_uint(q, f->key, v == V_OVER ? f->max + 1 : v == V_UNDER ? 0 : f->u);
        break;
    case F_TEXT:
        ul_msg_text(q, f->key,
                    v == V_OVER    ? (ul_span){(const uint8_t *)long_text, f->max + 1}
                    : v == V_UNDER ? (ul_span){(const uint8_t *)"", 0}
                                   : ul_span_str(f->text));
        break;
    case F_ID:
        memcpy(id_buf, g->rel_id, UL_HASH_BYTES);
        ul_msg_bytes(q, f->key, id_buf,
                     v == V_OVER    ? UL_HASH_BYTES + 1
                     : v == V_UNDER ? UL_HASH_BYTES - 1
                                    : UL_HASH_BYTES);
        break;
    case F_LIST:
        for (size_t i = 0; i < UL_MAX_SUBMIT_TXS + 1; i++) {
            items[i] = (ul_span){empty_map, sizeof empty_map};
        }
        ul_msg_list(q, f->key, items, v == V_OVER ? f->max + 1 : v == V_UNDER ? 0 : 1);
        break;
    }
}

/* The request of method m with field `which` (-1: none) as variant v, the others valid; extra
 * adds a field the method does not read (UNREAD_KEY). */
static ul_err send_variant(const method *m, int which, variant v, bool extra)
{
    ul_msg q;
    ul_msg_init(&q);
    ul_msg_uint(&q, UL_QK_METHOD, m->method);
    for (size_t i = 0; i < m->n; i++) {
        put(&q, &m->f[i], (int)i == which ? v : V_OK);
    }
    if (extra) {
        ul_msg_uint(&q, UNREAD_KEY, 1);
    }
    return call(&q);
}

static bool is_field_error(ul_err e)
{
    return e == UL_E_SCHEMA_FIELD || e == UL_E_CBOR_TYPE || e == UL_E_LIMIT || e == UL_E_ARG ||
           e == UL_E_PROTOCOL;
}

static void expect(const method *m, const char *what, ul_err got, ul_err want)
{
    if (got != want) {
        fail_msg("%s: %s: got %s, want %s", m->name, what, ul_err_name(got), ul_err_name(want));
    }
}

static void test_every_field(void **state)
{
    (void)state;
    memset(long_text, 'a', sizeof long_text);
    for (size_t k = 0; k < sizeof methods / sizeof methods[0]; k++) {
        const method *m = &methods[k];
        ul_err e = send_variant(m, -1, V_OK, false);
        if (is_field_error(e)) {
            fail_msg("%s: a valid request got %s", m->name, ul_err_name(e));
        }
        expect(m, "a field it does not read", send_variant(m, -1, V_OK, true), UL_E_SCHEMA_FIELD);
        for (size_t i = 0; i < m->n; i++) {
            const field *f = &m->f[i];
            char what[64];
            snprintf(what, sizeof what, "key %llu", (unsigned long long)f->key);
            if (f->required) {
                expect(m, "required field missing", send_variant(m, (int)i, V_MISSING, false),
                       UL_E_SCHEMA_FIELD);
            } else {
                e = send_variant(m, (int)i, V_MISSING, false);
                if (is_field_error(e)) {
                    fail_msg("%s: optional %s left out got %s", m->name, what, ul_err_name(e));
                }
            }
            expect(m, "wrong type", send_variant(m, (int)i, V_TYPE, false), UL_E_CBOR_TYPE);
            if (f->t != F_UINT || f->max) {
                expect(m, "oversized", send_variant(m, (int)i, V_OVER, false),
                       f->t == F_UINT ? f->over : UL_E_LIMIT);
            }
            if (f->t != F_UINT) {
                expect(m, "empty or short", send_variant(m, (int)i, V_UNDER, false),
                       UL_E_SCHEMA_FIELD);
            }
        }
    }
}

/* The three requests: a state proof of installable releases without its namespace or
 * hardware class, and of a namespace without one. */
static void test_state_proof_missing(void **state)
{
    (void)state;
    ul_msg q;
    for (int k = 0; k < 3; k++) {
        ul_msg_init(&q);
        ul_msg_uint(&q, UL_QK_METHOD, UL_RPC_STATE_PROOF);
        ul_msg_uint(&q, UL_QREQ_STATE_PROOF_KIND,
                    k == 1 ? UL_STATE_NAMESPACE : UL_STATE_INSTALLABLE);
        if (k == 2) {
            ul_msg_text(&q, UL_QREQ_STATE_PROOF_NS, ul_span_str("a/b"));
        }
        assert_int_equal(call(&q), UL_E_SCHEMA_FIELD);
    }
    /* Kinds outside 1..5 and kind 0. */
    ul_msg_init(&q);
    ul_msg_uint(&q, UL_QK_METHOD, UL_RPC_STATE_PROOF);
    ul_msg_uint(&q, UL_QREQ_STATE_PROOF_KIND, 0);
    assert_int_equal(call(&q), UL_E_ARG);
}

/* The ledger's queries refuse an absent or oversized label themselves, whoever calls them. */
static void test_ledger_labels(void **state)
{
    fx *f = *state;
    uint8_t kh[UL_HASH_BYTES], id[UL_HASH_BYTES] = {0}, ids[1][UL_HASH_BYTES], *v = NULL, *body;
    size_t vlen, n, len;
    uint64_t seq, h;
    bool more;
    static ul_state_proof p;
    ul_span none = {NULL, 0}, big = {(const uint8_t *)long_text, UL_MAX_NS_LEN + 1};
    ul_chain *c = f->node.chain;
    memset(long_text, 'a', sizeof long_text);
    assert_int_equal(
        ul_chain_state_proof(c, UL_STATE_INSTALLABLE, none, none, id, 0, kh, &v, &vlen, &p),
        UL_E_ARG);
    assert_int_equal(ul_chain_state_proof(c, UL_STATE_INSTALLABLE, ul_span_str(NS), none, id, 0, kh,
                                          &v, &vlen, &p),
                     UL_E_ARG);
    assert_int_equal(
        ul_chain_state_proof(c, UL_STATE_NAMESPACE, big, none, id, 0, kh, &v, &vlen, &p),
        UL_E_LIMIT);
    assert_null(v);
    assert_int_equal(ul_chain_history(c, none, 0, false, ids, 1, &n, &h, &more), UL_E_ARG);
    assert_int_equal(ul_chain_history(c, big, 0, true, ids, 1, &n, &h, &more), UL_E_LIMIT);
    assert_int_equal(ul_chain_latest(c, ul_span_str(NS), none, id, &seq), UL_E_ARG);
    assert_int_equal(ul_chain_namespace(c, big, &body, &len, &h), UL_E_LIMIT);
}

/* Search answers the fixture's release by its digest (zeros) and by its signer, with its height;
 * metrics answers a Prometheus page with the chain's height. */
static void test_search_and_metrics(void **state)
{
    fx *f = *state;
    static uint8_t req[256];
    uint8_t *out = NULL, zeros[UL_HASH_BYTES] = {0};
    size_t len, out_len;
    ul_msg q, rep;
    for (int k = 0; k < 2; k++) {
        ul_q_search_req(&q, k ? NULL : zeros, k ? ul_key_pubkey(f->owner) : NULL, NULL, 0, false);
        assert_int_equal(ul_msg_encode(req, sizeof req, &len, &q), UL_OK);
        ul_node_handle(&f->node, req, len, &out, &out_len);
        ul_q_search_reply sr;
        assert_int_equal(ul_msg_decode(&rep, out, out_len), UL_OK);
        assert_int_equal(ul_q_search_reply_read(&rep, &sr), UL_OK);
        assert_int_equal(sr.entries.len, UL_RPC_SEARCH_ENTRY_BYTES);
        assert_memory_equal(sr.entries.ptr, f->rel_id, UL_HASH_BYTES);
        assert_int_equal(ul_be64_get(sr.entries.ptr + UL_HASH_BYTES), 1);
        assert_false(UL_Q_HAS(&sr, UL_QREP_SEARCH_NEXT));
        free(out);
    }
    ul_q_metrics_req(&q);
    assert_int_equal(ul_msg_encode(req, sizeof req, &len, &q), UL_OK);
    ul_node_handle(&f->node, req, len, &out, &out_len);
    ul_q_metrics_reply mr;
    assert_int_equal(ul_msg_decode(&rep, out, out_len), UL_OK);
    assert_int_equal(ul_q_metrics_reply_read(&rep, &mr), UL_OK);
    static char text[UL_MAX_METRICS_BYTES + 1];
    memcpy(text, mr.text.ptr, mr.text.len);
    text[mr.text.len] = '\0';
    assert_non_null(strstr(text, "\nupledger_height 1\n"));
    assert_non_null(strstr(text, "\nupledger_release_log_size 1\n"));
    free(out);
}

/* A request that is no request: no method, an unknown one, a method that is not a uint. */
static void test_method(void **state)
{
    (void)state;
    ul_msg q;
    ul_msg_init(&q);
    ul_msg_uint(&q, 1, 1); /* no key 0 */
    assert_int_equal(call(&q), UL_E_PROTOCOL);
    ul_msg_init(&q);
    ul_msg_uint(&q, UL_QK_METHOD, 99);
    assert_int_equal(call(&q), UL_E_PROTOCOL);
    ul_msg_init(&q);
    ul_msg_text(&q, UL_QK_METHOD, ul_span_str("status"));
    assert_int_equal(call(&q), UL_E_PROTOCOL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_field),
        cmocka_unit_test(test_state_proof_missing),
        cmocka_unit_test(test_method),
        cmocka_unit_test(test_ledger_labels),
        cmocka_unit_test(test_search_and_metrics),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
