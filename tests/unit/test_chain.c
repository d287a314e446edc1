/* Unit tests for ledger/ chain: transaction validation and execution, blocks, queries and proof
 * bundles, persistence, applying blocks from elsewhere, audit and crash atomicity at the API, and
 * every rule of the namespace policy contract at chain level (accepted when met; rejected when
 * not, with the pending block and, once produced, every header unchanged).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "chainfx.h"
#include "ledger/internal.h" /* ul_chain_read and state keys: installable, approvals, revoked */
#include "ledger/ul_ledger.h"

#define T0 1700000000000ULL         /* genesis time, unix ms */
#define NOW(h) (T0 + 1000ULL * (h)) /* the wall clock we claim when producing block h */
#define NS "acme/widget"
#define T0_S (T0 / 1000) /* genesis time in the unix seconds policies speak */
#define NX 8             /* extra keys: co-signers, successors, rotated-in keys */

/* A signer list and its length, for the tx builders: KEYS(f->owner, f->x[0]). */
#define KEYS(...)                                                                                  \
    (const ul_key *const[]){__VA_ARGS__},                                                          \
        sizeof((const ul_key *const[]){__VA_ARGS__}) / sizeof(const ul_key *)

typedef ul_chainfx_txbuf txbuf;

typedef struct {
    char root[64]; /* mkdtemp directory holding every store of the test */
    ul_key *val;   /* the one validator */
    ul_key *owner; /* owner of NS */
    ul_key *pub;   /* publisher of NS */
    ul_key *other; /* neither owner nor publisher */
    ul_key *x[NX]; /* more keys, given roles test by test */
    uint8_t genesis[1024];
    size_t glen;
    uint8_t chain_id[UL_HASH_BYTES];
} fx;

/* ---- helpers ------------------------------------------------------------------------------ */

static ul_key *test_key(unsigned n)
{
    return ul_chainfx_key("upledger chain test key", n);
}

/* A genesis at T0 whose one validator is val, power 10. */
static void make_genesis(uint8_t *out, size_t cap, size_t *len, const ul_key *val, const char *name)
{
    static ul_valset vs;
    ul_chainfx_valset(&vs, &val, (const uint64_t[]){10}, 1);
    ul_chainfx_genesis(out, cap, len, NULL, name, T0, &vs);
}

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);

    assert_non_null(f);
    ul_chainfx_tmpdir(f->root, sizeof f->root, "chain");
    f->val = test_key(1);
    f->owner = test_key(2);
    f->pub = test_key(3);
    f->other = test_key(4);
    for (unsigned i = 0; i < NX; i++) {
        f->x[i] = test_key(10 + i);
    }
    make_genesis(f->genesis, sizeof f->genesis, &f->glen, f->val, "test-chain");
    ul_client_sha256(f->chain_id, f->genesis, f->glen);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;

    ul_chainfx_rm_tree(f->root);
    ul_key_destroy(f->val);
    ul_key_destroy(f->owner);
    ul_key_destroy(f->pub);
    ul_key_destroy(f->other);
    for (unsigned i = 0; i < NX; i++) {
        ul_key_destroy(f->x[i]);
    }
    free(f);
    return 0;
}

static void path_of(const fx *f, const char *name, char *out, size_t cap)
{
    snprintf(out, cap, "%s/%s", f->root, name);
}

static ul_chain *open_chain(const fx *f, const char *name)
{
    ul_chain *c = ul_chainfx_open(f->root, name, f->genesis, f->glen);

    assert_memory_equal(ul_chain_id(c), f->chain_id, UL_HASH_BYTES);
    return c;
}

/* A key set of the n keys (any order; sorted here, as canonical) with a threshold. */
static void keyset_of(ul_keyset *ks, const ul_key *const *keys, size_t n, uint64_t threshold)
{
    memset(ks, 0, sizeof *ks);
    ks->n = n;
    ks->threshold = threshold;
    for (size_t i = 0; i < n; i++) {
        memcpy(ks->keys[i], ul_key_pubkey(keys[i]), UL_PUBKEY_BYTES);
        for (size_t j = i; j > 0 && memcmp(ks->keys[j - 1], ks->keys[j], UL_PUBKEY_BYTES) > 0;
             j--) {
            uint8_t tmp[UL_PUBKEY_BYTES];
            memcpy(tmp, ks->keys[j], UL_PUBKEY_BYTES);
            memcpy(ks->keys[j], ks->keys[j - 1], UL_PUBKEY_BYTES);
            memcpy(ks->keys[j - 1], tmp, UL_PUBKEY_BYTES);
        }
    }
}

/* The default policy: owners {owner}, publishers {publisher}, each threshold 1; no co-signer
 * roles, no requirements (releases are installable at once), any hardware class, and owners or
 * publishers may revoke. */
static void default_policy(ul_policy *p, const ul_key *owner, const ul_key *publisher)
{
    memset(p, 0, sizeof *p);
    keyset_of(&p->owners, &owner, 1, 1);
    keyset_of(&p->publishers, &publisher, 1, 1);
    p->n_revokers = 2;
    p->revokers[0] = ul_span_str("owners");
    p->revokers[1] = ul_span_str("publishers");
}

/* Adds co-signer role name with keys and threshold (roles are added in name order). */
static void add_role(ul_policy *p, const char *name, const ul_key *const *keys, size_t n,
                     uint64_t threshold)
{
    ul_role *r = &p->roles[p->n_roles++];
    r->name = ul_span_str(name);
    keyset_of(&r->keys, keys, n, threshold);
}

/* Makes role name (added already) required before a release of update kind `kind` is
 * installable (kinds are added in ascending order, one role each). */
static void require_role(ul_policy *p, uint64_t kind, const char *name)
{
    ul_requirement *q = &p->require[p->n_require++];
    q->kind = kind;
    q->n = 1;
    q->roles[0] = ul_span_str(name);
}

/* A register tx for ns with policy p, signed by signers under domain d. */
static void reg_policy_tx(txbuf *t, const uint8_t *chain, const char *ns, uint64_t nonce,
                          const ul_policy *p, const ul_key *const *signers, size_t n, ul_domain d)
{
    static ul_register r;
    uint8_t body[UL_MAX_RECORD_BYTES];
    size_t blen;

    memset(&r, 0, sizeof r);
    r.ns = ul_span_str(ns);
    r.nonce = nonce;
    r.policy = *p;
    assert_int_equal(ul_schema_register_encode(body, sizeof body, &blen, &r), UL_OK);
    ul_chainfx_tx(t, chain, UL_TX_REGISTER, body, blen, signers, n, d);
}

/* A register tx for ns with the default policy of owner and publisher, signed by signer under
 * domain d. */
static void reg_tx(txbuf *t, const uint8_t *chain, const char *ns, uint64_t nonce,
                   const ul_key *owner, const ul_key *publisher, const ul_key *signer, ul_domain d)
{
    static ul_policy p;
    default_policy(&p, owner, publisher);
    reg_policy_tx(t, chain, ns, nonce, &p, &signer, 1, d);
}

/* A publish tx of release (ns, seq, version) for the n_hw classes in hw. */
static void pub_tx(txbuf *t, const uint8_t *chain, const char *ns, uint64_t seq,
                   const char *const *hw, size_t n_hw, const char *version, const ul_key *signer,
                   ul_domain d)
{
    ul_release r;
    uint8_t body[UL_MAX_RECORD_BYTES];
    size_t blen;

    memset(&r, 0, sizeof r);
    r.ns = ul_span_str(ns);
    r.provider = ul_span_str("Acme Corp");
    r.time = 1700000000;
    r.version = ul_span_str(version);
    r.seq = seq;
    ul_client_sha256(r.digest, (const uint8_t *)version, strlen(version));
    r.size = 4096;
    r.file = ul_span_str("widget.bin");
    r.n_hw = n_hw;
    for (size_t i = 0; i < n_hw; i++) {
        r.hw[i] = ul_span_str(hw[i]);
    }
    r.kind = UL_KIND_FEATURE;
    assert_int_equal(ul_schema_release_encode(body, sizeof body, &blen, &r), UL_OK);
    ul_chainfx_tx(t, chain, UL_TX_PUBLISH, body, blen, &signer, 1, d);
}

/* The default publish: NS, hardware class "board-a", signed correctly. */
static void pub_a(txbuf *t, const fx *f, uint64_t seq, const char *version)
{
    static const char *const hw[] = {"board-a"};
    pub_tx(t, f->chain_id, NS, seq, hw, 1, version, f->pub, UL_DOMAIN_RELEASE);
}

static ul_span tx_body(const txbuf *t)
{
    ul_tx tx;
    assert_int_equal(ul_schema_tx_decode(&tx, t->b, t->len), UL_OK);
    return tx.body;
}

static ul_err submit(ul_chain *c, const txbuf *t, uint8_t id[UL_HASH_BYTES])
{
    uint8_t scratch[UL_HASH_BYTES];
    return ul_chain_submit(c, t->b, t->len, id ? id : scratch);
}

static void submit_ok(ul_chain *c, const txbuf *t, uint8_t id[UL_HASH_BYTES])
{
    assert_int_equal(submit(c, t, id), UL_OK);
}

static uint64_t produce(const fx *f, ul_chain *c)
{
    uint64_t h = 0;
    assert_int_equal(ul_chain_produce(c, f->val, NOW(ul_chain_height(c) + 1), &h), UL_OK);
    assert_int_equal(h, ul_chain_height(c));
    return h;
}

static void head_hash(ul_chain *c, uint8_t out[UL_HASH_BYTES])
{
    uint8_t *hdr;
    size_t len;
    assert_int_equal(ul_chain_header_bytes(c, ul_chain_height(c), &hdr, &len), UL_OK);
    ul_client_sha256(out, hdr, len);
    free(hdr);
}

/* Every committed header of a equals b's (hence every root, time and link). */
static void assert_same_chain(ul_chain *a, ul_chain *b)
{
    assert_int_equal(ul_chain_height(a), ul_chain_height(b));
    assert_int_equal(ul_chain_log_size(a), ul_chain_log_size(b));
    assert_int_equal(ul_chain_next_time(a), ul_chain_next_time(b));
    for (uint64_t h = 1; h <= ul_chain_height(a); h++) {
        uint8_t *x, *y;
        size_t xl, yl;
        assert_int_equal(ul_chain_header_bytes(a, h, &x, &xl), UL_OK);
        assert_int_equal(ul_chain_header_bytes(b, h, &y, &yl), UL_OK);
        assert_int_equal(xl, yl);
        assert_memory_equal(x, y, xl);
        free(x);
        free(y);
    }
}

/* Signs a one-validator precommit commit for (height, hash) with vote time time_ms. */
static void make_commit(const fx *f, uint64_t height, const uint8_t hash[UL_HASH_BYTES],
                        uint64_t time_ms, uint8_t *out, size_t cap, size_t *len)
{
    static ul_valset vs;
    const ul_key *val[] = {f->val};
    ul_chainfx_valset(&vs, val, (const uint64_t[]){10}, 1);
    assert_int_equal(
        ul_chainfx_commit(out, cap, len, f->chain_id, &vs, height, hash, val, 1, time_ms), 1);
}

static const uint8_t *find_bytes(const uint8_t *hay, size_t hlen, const uint8_t *needle,
                                 size_t nlen)
{
    for (size_t i = 0; i + nlen <= hlen; i++) {
        if (memcmp(hay + i, needle, nlen) == 0) {
            return hay + i;
        }
    }
    return NULL;
}

/* A fresh device of class hw trusting genesis g verifies bundle b of a release of NS (no
 * dependencies, so none need be installed). Returns the device's verdict; info may be NULL. */
static ul_err device_verify(const uint8_t *g, size_t glen, const char *hw, const uint8_t *b,
                            size_t n, ul_release_info *info)
{
    static ul_device_state st;
    static ul_update u;
    assert_int_equal(ul_client_device_init(&st, g, glen, (const uint8_t *)hw, strlen(hw)), UL_OK);
    ul_err e = ul_client_bundle_verify(&u, info, &st, (const uint8_t *)NS, strlen(NS), b, n);
    ul_client_update_abort(&u);
    return e;
}

/* The verdict of a device of this chain on the bundle c serves for release id, class hw, at
 * height h (0: the head). The device trusts the test's genesis, not the chain's copy, so a chain
 * cannot vouch for itself. */
static ul_err bundle_verdict(const fx *f, ul_chain *c, const uint8_t id[UL_HASH_BYTES],
                             const char *hw, uint64_t h, ul_release_info *info)
{
    uint8_t *b = NULL;
    size_t n = 0;
    assert_int_equal(ul_chain_bundle(c, id, ul_span_str(hw), h, &b, &n), UL_OK);
    ul_err e = device_verify(f->genesis, f->glen, hw, b, n, info);
    free(b);
    return e;
}

/* ---- register, publish, queries, bundles -------------------------------------------------- */

static void test_register_publish_queries(void **state)
{
    fx *f = *state;
    ul_chain *c = open_chain(f, "a");
    static const char *const hw_ab[] = {"board-a", "board-b"};
    txbuf reg, p1, p2;
    uint8_t id_reg[UL_HASH_BYTES], id1[UL_HASH_BYTES], id2[UL_HASH_BYTES], id[UL_HASH_BYTES];
    uint8_t want[UL_HASH_BYTES], unknown[UL_HASH_BYTES] = {0x55};
    uint64_t h, n64;

    assert_int_equal(ul_chain_height(c), 0);
    assert_int_equal(ul_chain_next_time(c), T0);
    reg_tx(&reg, f->chain_id, NS, 1, f->owner, f->pub, f->owner, UL_DOMAIN_TX);
    submit_ok(c, &reg, id_reg);
    ul_client_sha256(want, reg.b, reg.len);
    assert_memory_equal(id_reg, want, UL_HASH_BYTES);
    assert_int_equal(ul_chain_pending_count(c), 1);
    assert_int_equal(ul_chain_tx_status(c, id_reg, &h), UL_OK);
    assert_int_equal(h, 0);
    assert_int_equal(ul_chain_nonce(c, ul_key_pubkey(f->owner), &n64), UL_OK);
    assert_int_equal(n64, 0); /* queries read committed state only */
    assert_int_equal(produce(f, c), 1);
    assert_int_equal(ul_chain_pending_count(c), 0);
    assert_int_equal(ul_chain_tx_status(c, id_reg, &h), UL_OK);
    assert_int_equal(h, 1);
    assert_int_equal(ul_chain_nonce(c, ul_key_pubkey(f->owner), &n64), UL_OK);
    assert_int_equal(n64, 1);
    assert_int_equal(ul_chain_nonce(c, ul_key_pubkey(f->pub), &n64), UL_OK);
    assert_int_equal(n64, 0);

    /* The namespace's state is its policy: the register body's, in canonical bytes. */
    uint8_t *body, want_pol[UL_MAX_RECORD_BYTES];
    size_t blen, wlen;
    static ul_register rb;
    ul_span reg_body = tx_body(&reg);
    assert_int_equal(ul_schema_register_decode(&rb, reg_body.ptr, reg_body.len), UL_OK);
    assert_int_equal(ul_schema_policy_encode(want_pol, sizeof want_pol, &wlen, &rb.policy), UL_OK);
    assert_int_equal(ul_chain_namespace(c, ul_span_str(NS), &body, &blen, &h), UL_OK);
    assert_int_equal(h, 1);
    assert_int_equal(blen, wlen);
    assert_memory_equal(body, want_pol, blen);
    assert_non_null(find_bytes(reg_body.ptr, reg_body.len, body, blen)); /* embedded verbatim */
    free(body);
    assert_int_equal(ul_chain_namespace(c, ul_span_str("acme/none"), &body, &blen, &h),
                     UL_E_NOT_FOUND);

    /* Publish seq 1 on board-a. */
    pub_a(&p1, f, 1, "1.0.0");
    submit_ok(c, &p1, id1);
    ul_span b1 = tx_body(&p1);
    ul_client_sha256(want, b1.ptr, b1.len);
    assert_memory_equal(id1, want, UL_HASH_BYTES);
    assert_int_equal(ul_chain_tx_status(c, id1, &h), UL_OK);
    assert_int_equal(h, 0);
    uint8_t *tx;
    size_t tlen;
    ul_release_loc loc;
    assert_int_equal(ul_chain_release(c, id1, &tx, &tlen, &loc), UL_E_NOT_FOUND);
    assert_int_equal(produce(f, c), 2);
    assert_int_equal(ul_chain_tx_status(c, id1, &h), UL_OK);
    assert_int_equal(h, 2);
    assert_int_equal(ul_chain_release(c, id1, &tx, &tlen, &loc), UL_OK);
    assert_int_equal(tlen, p1.len);
    assert_memory_equal(tx, p1.b, tlen);
    free(tx);
    assert_int_equal(loc.log_index, 0);
    assert_int_equal(loc.height, 2);
    assert_int_equal(loc.tx_index, 0);
    assert_int_equal(ul_chain_log_size(c), 1);
    assert_int_equal(ul_chain_release_at(c, 0, id), UL_OK);
    assert_memory_equal(id, id1, UL_HASH_BYTES);
    assert_int_equal(ul_chain_release_at(c, 1, id), UL_E_NOT_FOUND);
    /* A device accepts its bundle: the chain's first release, at the head. */
    ul_release_info info;
    assert_int_equal(bundle_verdict(f, c, id1, "board-a", 0, &info), UL_OK);
    assert_int_equal(info.height, 2);
    assert_int_equal(info.log_index, 0);
    assert_memory_equal(info.id, id1, UL_HASH_BYTES); /* the hash of b1, the record signed */
    assert_int_equal(info.seq, 1);
    assert_int_equal(info.version_len, 5);
    assert_memory_equal(info.version, "1.0.0", 5);

    /* Seq 2 on board-a and board-b, then an empty heartbeat block. */
    pub_tx(&p2, f->chain_id, NS, 2, hw_ab, 2, "2.0.0", f->pub, UL_DOMAIN_RELEASE);
    submit_ok(c, &p2, id2);
    assert_int_equal(produce(f, c), 3);
    assert_int_equal(produce(f, c), 4);
    assert_int_equal(ul_chain_log_size(c), 2);
    assert_int_equal(ul_chain_release_at(c, 1, id), UL_OK);
    assert_memory_equal(id, id2, UL_HASH_BYTES);

    uint8_t ids[4][UL_HASH_BYTES], inst[UL_MAX_STATE_VALUE_BYTES];
    size_t n;
    uint64_t next = 99;
    bool more;
    assert_int_equal(ul_chain_history(c, ul_span_str(NS), 0, false, ids, 4, &n, &next, &more),
                     UL_OK);
    assert_int_equal(n, 2);
    assert_false(more);
    assert_memory_equal(ids[0], id1, UL_HASH_BYTES);
    assert_memory_equal(ids[1], id2, UL_HASH_BYTES);
    assert_int_equal(ul_chain_history(c, ul_span_str(NS), 1, false, ids, 4, &n, &next, &more),
                     UL_OK);
    assert_int_equal(n, 1);
    assert_memory_equal(ids[0], id2, UL_HASH_BYTES);
    assert_int_equal(ul_chain_history(c, ul_span_str(NS), 0, false, ids, 1, &n, &next, &more),
                     UL_OK);
    assert_int_equal(n, 1);
    assert_true(more);
    assert_int_equal(next, 1);
    /* Newest first, a page of one at a time: the cursor leads down to the oldest. */
    assert_int_equal(
        ul_chain_history(c, ul_span_str(NS), UINT64_MAX, true, ids, 1, &n, &next, &more), UL_OK);
    assert_int_equal(n, 1);
    assert_memory_equal(ids[0], id2, UL_HASH_BYTES);
    assert_true(more);
    assert_int_equal(next, 0);
    assert_int_equal(ul_chain_history(c, ul_span_str(NS), next, true, ids, 1, &n, &next, &more),
                     UL_OK);
    assert_int_equal(n, 1);
    assert_memory_equal(ids[0], id1, UL_HASH_BYTES);
    assert_false(more);
    assert_int_equal(ul_chain_history(c, ul_span_str(NS), 5, true, ids, 4, &n, &next, &more),
                     UL_OK);
    assert_int_equal(n, 2);
    assert_memory_equal(ids[0], id2, UL_HASH_BYTES);
    assert_int_equal(ul_chain_history(c, ul_span_str(NS), 0, false, ids, 0, &n, &next, &more),
                     UL_E_ARG);
    assert_int_equal(
        ul_chain_history(c, ul_span_str("acme/widge"), 0, false, ids, 4, &n, &next, &more), UL_OK);
    assert_int_equal(n, 0);
    assert_int_equal(
        ul_chain_history(c, ul_span_str("acme/widge"), UINT64_MAX, true, ids, 4, &n, &next, &more),
        UL_OK);
    assert_int_equal(n, 0);
    assert_int_equal(
        ul_chain_history(c, ul_span_str("acme/widgets"), 0, false, ids, 4, &n, &next, &more),
        UL_OK);
    assert_int_equal(n, 0);
    assert_int_equal(ul_chain_history(c, ul_span_str("acme/widgets"), UINT64_MAX, true, ids, 4, &n,
                                      &next, &more),
                     UL_OK);
    assert_int_equal(n, 0);
    /* The installable index: seq 2 above seq 1 on board-a, seq 2 alone on board-b. */
    assert_int_equal(ul_chain_installable(c, ul_span_str(NS), ul_span_str("board-a"), inst, &n),
                     UL_OK);
    assert_int_equal(n, 2);
    assert_int_equal(ul_be64_get(inst), 2);
    assert_memory_equal(inst + 8, id2, UL_HASH_BYTES);
    assert_memory_equal(inst + 48, id1, UL_HASH_BYTES);
    assert_int_equal(ul_chain_installable(c, ul_span_str(NS), ul_span_str("board-c"), inst, &n),
                     UL_OK);
    assert_int_equal(n, 0);

    uint64_t seq;
    assert_int_equal(ul_chain_latest(c, ul_span_str(NS), ul_span_str("board-a"), id, &seq), UL_OK);
    assert_int_equal(seq, 2);
    assert_memory_equal(id, id2, UL_HASH_BYTES);
    assert_int_equal(ul_chain_latest(c, ul_span_str(NS), ul_span_str("board-b"), id, &seq), UL_OK);
    assert_int_equal(seq, 2);
    assert_int_equal(ul_chain_latest(c, ul_span_str(NS), ul_span_str("board-c"), id, &seq),
                     UL_E_NOT_FOUND);
    assert_int_equal(ul_chain_tx_status(c, unknown, &h), UL_E_NOT_FOUND);

    /* Bundles of seq 2: at the head, and at the height it was logged. Seq 1's bundle still
     * proves everything, and the device learns from it that seq 2 has superseded it. */
    assert_int_equal(bundle_verdict(f, c, id2, "board-a", 0, &info), UL_OK);
    assert_int_equal(info.height, 4);
    assert_int_equal(info.log_index, 1);
    assert_memory_equal(info.id, id2, UL_HASH_BYTES);
    assert_int_equal(bundle_verdict(f, c, id2, "board-b", 3, &info), UL_OK);
    assert_int_equal(info.height, 3);
    assert_int_equal(bundle_verdict(f, c, id1, "board-a", 0, NULL), UL_E_NOT_INSTALLABLE);
    /* The trust anchor is the genesis, whose hash is the chain id: a device of another chain
     * (another name, or the same name with another validator) refuses at the first section. */
    uint8_t *bun, g2[1024];
    size_t bl, g2len;
    assert_int_equal(ul_chain_bundle(c, id2, ul_span_str("board-a"), 0, &bun, &bl), UL_OK);
    make_genesis(g2, sizeof g2, &g2len, f->val, "another-chain");
    assert_int_equal(device_verify(g2, g2len, "board-a", bun, bl, NULL), UL_E_CHAIN_ID);
    make_genesis(g2, sizeof g2, &g2len, f->other, "test-chain");
    assert_int_equal(device_verify(g2, g2len, "board-a", bun, bl, NULL), UL_E_CHAIN_ID);
    free(bun);
    /* id1 at height 2, where it was the newest installable (board-a's list has changed since:
     * the state history keeps the list header 2's root holds). What the node cannot prove: id2
     * before it was logged, an unknown id, a height past the head. */
    const ul_span hw_a = ul_span_str("board-a");
    assert_int_equal(bundle_verdict(f, c, id1, "board-a", 2, &info), UL_OK);
    assert_int_equal(info.height, 2);
    assert_int_equal(ul_chain_bundle(c, id2, hw_a, 2, &bun, &bl), UL_E_NOT_FOUND);
    assert_int_equal(ul_chain_bundle(c, unknown, hw_a, 0, &bun, &bl), UL_E_NOT_FOUND);
    assert_int_equal(ul_chain_bundle(c, id1, hw_a, 99, &bun, &bl), UL_E_NOT_FOUND);
    ul_chain_close(c);
}

/* ---- rejections --------------------------------------------------------------------------- */

/* Submits a bad tx to a and checks the error and that a's pending block did not change. */
static void reject(ul_chain *a, const txbuf *t, ul_err want)
{
    size_t before = ul_chain_pending_count(a);
    uint64_t height = ul_chain_height(a);
    assert_int_equal(submit(a, t, NULL), want);
    assert_int_equal(ul_chain_pending_count(a), before);
    assert_int_equal(ul_chain_height(a), height);
}

static void both(ul_chain *a, ul_chain *r, const txbuf *t)
{
    submit_ok(a, t, NULL);
    submit_ok(r, t, NULL);
}

static void test_rejections_change_nothing(void **state)
{
    fx *f = *state;
    ul_chain *a = open_chain(f, "a"), *r = open_chain(f, "ref");
    static const char *const hw_ab[] = {"board-a", "board-b"};
    static const char *const hw_b[] = {"board-b"};
    uint8_t other_chain[UL_HASH_BYTES];
    txbuf reg, good, bad;

    memcpy(other_chain, f->chain_id, UL_HASH_BYTES);
    other_chain[5] ^= 0x80;

    /* Block 1: register NS. Rejected: a register signed by a non-owner, for another chain,
     * under the release domain, with a broken signature; a publish to the pending namespace
     * by a non-publisher. */
    reg_tx(&reg, f->chain_id, NS, 1, f->owner, f->pub, f->owner, UL_DOMAIN_TX);
    reg_tx(&bad, f->chain_id, "acme/other", 1, f->owner, f->pub, f->other, UL_DOMAIN_TX);
    reject(a, &bad, UL_E_NOT_OWNER);
    reg_tx(&bad, other_chain, NS, 1, f->owner, f->pub, f->owner, UL_DOMAIN_TX);
    reject(a, &bad, UL_E_SIG);
    reg_tx(&bad, f->chain_id, NS, 1, f->owner, f->pub, f->owner, UL_DOMAIN_RELEASE);
    reject(a, &bad, UL_E_SIG);
    bad = reg;
    bad.b[bad.len - 1] ^= 0x01; /* last byte of the only signature */
    reject(a, &bad, UL_E_SIG);
    both(a, r, &reg);
    reject(a, &reg, UL_E_NS_EXISTS); /* the same tx again, in the same block */
    pub_tx(&bad, f->chain_id, NS, 1, hw_ab, 1, "0.9", f->other, UL_DOMAIN_RELEASE);
    reject(a, &bad, UL_E_NOT_PUBLISHER);
    assert_int_equal(produce(f, a), 1);
    assert_int_equal(produce(f, r), 1);
    assert_same_chain(a, r);

    /* Block 2: seq 3 on board-a and seq 10 on board-b. */
    pub_a(&good, f, 3, "3.0.0");
    both(a, r, &good);
    pub_tx(&good, f->chain_id, NS, 10, hw_b, 1, "b-10", f->pub, UL_DOMAIN_RELEASE);
    both(a, r, &good);
    assert_int_equal(produce(f, a), 2);
    assert_int_equal(produce(f, r), 2);

    /* Block 3: one good publish pending, then every kind of bad transaction. */
    txbuf p4;
    pub_a(&p4, f, 4, "4.0.0");
    both(a, r, &p4);

    reg_tx(&bad, f->chain_id, NS, 2, f->owner, f->pub, f->owner, UL_DOMAIN_TX);
    reject(a, &bad, UL_E_NS_EXISTS);
    pub_tx(&bad, f->chain_id, "acme/unknown", 1, hw_b, 1, "1.0", f->pub, UL_DOMAIN_RELEASE);
    reject(a, &bad, UL_E_NS_UNKNOWN);
    pub_tx(&bad, f->chain_id, NS, 9, hw_b, 1, "9.0", f->other, UL_DOMAIN_RELEASE);
    reject(a, &bad, UL_E_NOT_PUBLISHER);
    pub_tx(&bad, f->chain_id, NS, 9, hw_b, 1, "9.0", f->owner, UL_DOMAIN_RELEASE);
    reject(a, &bad, UL_E_NOT_PUBLISHER); /* owning is not publishing */
    reg_tx(&bad, f->chain_id, "acme/other", 2, f->owner, f->pub, f->other, UL_DOMAIN_TX);
    reject(a, &bad, UL_E_NOT_OWNER);
    reg_tx(&bad, f->chain_id, "acme/gadget", 1, f->owner, f->pub, f->owner, UL_DOMAIN_TX);
    reject(a, &bad, UL_E_REPLAY); /* the owner's nonce 1 is used */
    reg_tx(&bad, f->chain_id, "acme/gadget", 0, f->owner, f->pub, f->owner, UL_DOMAIN_TX);
    reject(a, &bad, UL_E_REPLAY);
    reject(a, &p4, UL_E_DUPLICATE); /* pending duplicate */
    pub_a(&bad, f, 3, "3.0.0");
    reject(a, &bad, UL_E_DUPLICATE); /* committed release, signed afresh */
    pub_a(&bad, f, 4, "4.0.1");
    reject(a, &bad, UL_E_SEQUENCE); /* equal to the pending seq */
    pub_a(&bad, f, 3, "3.0.1");
    reject(a, &bad, UL_E_SEQUENCE); /* equal to the committed seq */
    pub_a(&bad, f, 2, "2.0.0");
    reject(a, &bad, UL_E_SEQUENCE); /* lower */
    pub_tx(&bad, f->chain_id, NS, 5, hw_ab, 2, "ab-5", f->pub, UL_DOMAIN_RELEASE);
    reject(a, &bad, UL_E_SEQUENCE); /* second of two classes: board-a 4 < 5, board-b 10 >= 5 */
    pub_tx(&bad, f->chain_id, NS, 4, hw_ab, 2, "ab-4", f->pub, UL_DOMAIN_RELEASE);
    reject(a, &bad, UL_E_SEQUENCE); /* first of two: board-a is at 4 (pending) */
    pub_tx(&bad, f->chain_id, NS, 10, hw_b, 1, "b-10.1", f->pub, UL_DOMAIN_RELEASE);
    reject(a, &bad, UL_E_SEQUENCE); /* equal, on the committed board-b */
    /* Otherwise valid (seq 5 on board-a), but badly signed. */
    pub_a(&bad, f, 5, "5.0.0");
    bad.b[bad.len - 1] ^= 0x01;
    reject(a, &bad, UL_E_SIG);
    pub_tx(&bad, other_chain, NS, 5, hw_ab, 1, "5.0.0", f->pub, UL_DOMAIN_RELEASE);
    reject(a, &bad, UL_E_SIG);
    pub_tx(&bad, f->chain_id, NS, 5, hw_ab, 1, "5.0.0", f->pub, UL_DOMAIN_TX);
    reject(a, &bad, UL_E_SIG);
    pub_tx(&bad, f->chain_id, NS, 5, hw_ab, 1, "5.0.0", f->pub, UL_DOMAIN_VOTE);
    reject(a, &bad, UL_E_SIG);

    /* Unknown kind: the envelope's first field (kind) patched from 2 to one past the last. */
    pub_a(&bad, f, 5, "5.0.0");
    assert_int_equal(bad.b[1], 0x01);
    assert_int_equal(bad.b[2], 0x02);
    bad.b[2] = UL_TX_KIND_MAX_ + 1;
    reject(a, &bad, UL_E_TX_KIND);
    /* A publish body under every other kind: it decodes as none of their bodies. */
    for (uint8_t k = UL_TX_SET_POLICY; k <= UL_TX_KIND_MAX_; k++) {
        bad.b[2] = k;
        assert_int_not_equal(submit(a, &bad, NULL), UL_OK);
    }
    /* A publish body under the register kind. */
    bad.b[2] = 0x01;
    assert_int_not_equal(submit(a, &bad, NULL), UL_OK);
    assert_int_equal(ul_chain_pending_count(a), 1);

    /* Oversized and junk inputs. */
    uint8_t *big = calloc(1, UL_MAX_TX_BYTES + 1);
    uint8_t id[UL_HASH_BYTES];
    assert_non_null(big);
    memcpy(big, p4.b, p4.len);
    assert_int_equal(ul_chain_submit(a, big, UL_MAX_TX_BYTES + 1, id), UL_E_LIMIT);
    assert_int_not_equal(ul_chain_submit(a, big, UL_MAX_TX_BYTES, id), UL_OK);
    assert_int_not_equal(ul_chain_submit(a, big, 0, id), UL_OK);
    assert_int_not_equal(ul_chain_submit(a, p4.b, p4.len - 1, id), UL_OK);
    free(big);
    assert_int_equal(ul_chain_pending_count(a), 1);

    assert_int_equal(produce(f, a), 3);
    assert_int_equal(produce(f, r), 3);
    assert_same_chain(a, r);

    /* State queries agree too. */
    uint64_t sa, sr, n1, n2;
    uint8_t ia[UL_HASH_BYTES], ir[UL_HASH_BYTES];
    assert_int_equal(ul_chain_latest(a, ul_span_str(NS), ul_span_str("board-a"), ia, &sa), UL_OK);
    assert_int_equal(ul_chain_latest(r, ul_span_str(NS), ul_span_str("board-a"), ir, &sr), UL_OK);
    assert_int_equal(sa, 4);
    assert_int_equal(sa, sr);
    assert_memory_equal(ia, ir, UL_HASH_BYTES);
    assert_int_equal(ul_chain_nonce(a, ul_key_pubkey(f->owner), &n1), UL_OK);
    assert_int_equal(ul_chain_nonce(r, ul_key_pubkey(f->owner), &n2), UL_OK);
    assert_int_equal(n1, 1);
    assert_int_equal(n2, 1);
    assert_int_equal(ul_chain_nonce(a, ul_key_pubkey(f->other), &n1), UL_OK);
    assert_int_equal(n1, 0);
    ul_chain_close(a);
    ul_chain_close(r);
}

/* A register with a fresh nonce for a new namespace is fine after a replay was refused. */
static void test_nonce_grows(void **state)
{
    fx *f = *state;
    ul_chain *c = open_chain(f, "a");
    txbuf t;
    uint64_t n;

    reg_tx(&t, f->chain_id, NS, 5, f->owner, f->pub, f->owner, UL_DOMAIN_TX);
    submit_ok(c, &t, NULL);
    reg_tx(&t, f->chain_id, "acme/b", 5, f->owner, f->pub, f->owner, UL_DOMAIN_TX);
    reject(c, &t, UL_E_REPLAY); /* same block */
    reg_tx(&t, f->chain_id, "acme/b", 6, f->owner, f->pub, f->owner, UL_DOMAIN_TX);
    submit_ok(c, &t, NULL);
    produce(f, c);
    assert_int_equal(ul_chain_nonce(c, ul_key_pubkey(f->owner), &n), UL_OK);
    assert_int_equal(n, 6);
    reg_tx(&t, f->chain_id, "acme/c", 6, f->owner, f->pub, f->owner, UL_DOMAIN_TX);
    reject(c, &t, UL_E_REPLAY);
    reg_tx(&t, f->chain_id, "acme/c", 100, f->owner, f->pub, f->owner, UL_DOMAIN_TX);
    submit_ok(c, &t, NULL);
    ul_chain_close(c);
}

/* ---- transactions of one pending block see each other ------------------------------------- */

static void test_same_block(void **state)
{
    fx *f = *state;
    ul_chain *c = open_chain(f, "a");
    txbuf reg, p1, p2, bad;
    uint8_t id1[UL_HASH_BYTES], id2[UL_HASH_BYTES], id[UL_HASH_BYTES];
    uint64_t h, seq;

    reg_tx(&reg, f->chain_id, NS, 1, f->owner, f->pub, f->owner, UL_DOMAIN_TX);
    submit_ok(c, &reg, NULL);
    pub_a(&p1, f, 1, "1.0.0");
    submit_ok(c, &p1, id1); /* sees the pending namespace */
    pub_a(&p2, f, 2, "2.0.0");
    submit_ok(c, &p2, id2); /* sees the pending seq 1 */
    pub_a(&bad, f, 1, "1.0.1");
    reject(c, &bad, UL_E_SEQUENCE);
    pub_a(&bad, f, 2, "2.0.1");
    reject(c, &bad, UL_E_SEQUENCE);
    reg_tx(&bad, f->chain_id, NS, 2, f->owner, f->pub, f->owner, UL_DOMAIN_TX);
    reject(c, &bad, UL_E_NS_EXISTS);
    assert_int_equal(ul_chain_pending_count(c), 3);
    assert_int_equal(ul_chain_tx_status(c, id1, &h), UL_OK);
    assert_int_equal(h, 0);
    assert_int_equal(produce(f, c), 1);

    ul_release_loc loc;
    uint8_t *tx;
    size_t tl;
    assert_int_equal(ul_chain_release(c, id2, &tx, &tl, &loc), UL_OK);
    free(tx);
    assert_int_equal(loc.height, 1);
    assert_int_equal(loc.tx_index, 2);
    assert_int_equal(loc.log_index, 1);
    assert_int_equal(ul_chain_latest(c, ul_span_str(NS), ul_span_str("board-a"), id, &seq), UL_OK);
    assert_int_equal(seq, 2);
    assert_memory_equal(id, id2, UL_HASH_BYTES);
    assert_int_equal(ul_chain_log_size(c), 2);
    ul_header hd;
    ul_chainfx_header(c, 1, &hd);
    assert_int_equal(hd.log_size, 2);
    ul_chain_close(c);
}

/* ---- a full pending block ----------------------------------------------------------------- */

static void test_block_full(void **state)
{
    fx *f = *state;
    ul_chain *c = open_chain(f, "a");
    txbuf *t = malloc(sizeof *t);
    char version[32];

    assert_non_null(t);
    reg_tx(t, f->chain_id, NS, 1, f->owner, f->pub, f->owner, UL_DOMAIN_TX);
    submit_ok(c, t, NULL);
    produce(f, c);
    for (uint64_t i = 1; i <= UL_MAX_BLOCK_TXS; i++) {
        snprintf(version, sizeof version, "1.%u", (unsigned)i);
        pub_a(t, f, i, version);
        submit_ok(c, t, NULL);
    }
    assert_int_equal(ul_chain_pending_count(c), UL_MAX_BLOCK_TXS);
    pub_a(t, f, UL_MAX_BLOCK_TXS + 1, "2.0");
    reject(c, t, UL_E_BUSY);
    assert_int_equal(produce(f, c), 2);
    assert_int_equal(ul_chain_log_size(c), UL_MAX_BLOCK_TXS);
    submit_ok(c, t, NULL); /* room again after the commit */
    assert_int_equal(produce(f, c), 3);
    assert_int_equal(ul_chain_log_size(c), UL_MAX_BLOCK_TXS + 1);
    free(t);
    ul_chain_close(c);
}

/* ---- persistence -------------------------------------------------------------------------- */

static void test_persistence(void **state)
{
    fx *f = *state;
    ul_chain *c = open_chain(f, "a");
    txbuf t;
    uint8_t id1[UL_HASH_BYTES], head[UL_HASH_BYTES], head2[UL_HASH_BYTES], id[UL_HASH_BYTES];
    char dir[128];

    reg_tx(&t, f->chain_id, NS, 1, f->owner, f->pub, f->owner, UL_DOMAIN_TX);
    submit_ok(c, &t, NULL);
    produce(f, c);
    pub_a(&t, f, 1, "1.0.0");
    submit_ok(c, &t, id1);
    produce(f, c);
    produce(f, c);
    uint64_t height = ul_chain_height(c), next = ul_chain_next_time(c);
    head_hash(c, head);
    ul_chain_close(c);

    path_of(f, "a", dir, sizeof dir);
    for (int pass = 0; pass < 2; pass++) {
        /* With the genesis, then without it (the store remembers). */
        const uint8_t *g = pass ? NULL : f->genesis;
        assert_int_equal(ul_chainfx_chain_open(&c, dir, g, pass ? 0 : f->glen), UL_OK);
        assert_memory_equal(ul_chain_id(c), f->chain_id, UL_HASH_BYTES);
        assert_int_equal(ul_chain_height(c), height);
        assert_int_equal(ul_chain_next_time(c), next);
        assert_int_equal(ul_chain_log_size(c), 1);
        head_hash(c, head2);
        assert_memory_equal(head, head2, UL_HASH_BYTES);
        assert_int_equal(ul_chain_release_at(c, 0, id), UL_OK);
        assert_memory_equal(id, id1, UL_HASH_BYTES);
        uint64_t seq, n;
        assert_int_equal(ul_chain_latest(c, ul_span_str(NS), ul_span_str("board-a"), id, &seq),
                         UL_OK);
        assert_int_equal(seq, 1);
        assert_int_equal(ul_chain_nonce(c, ul_key_pubkey(f->owner), &n), UL_OK);
        assert_int_equal(n, 1);
        ul_span gb = ul_chain_genesis_bytes(c);
        assert_int_equal(gb.len, f->glen);
        assert_memory_equal(gb.ptr, f->genesis, f->glen);
        assert_int_equal(bundle_verdict(f, c, id1, "board-a", 0, NULL), UL_OK);
        ul_chain_close(c);
    }

    /* The chain continues after a reopen: next block links to the old head. */
    assert_int_equal(ul_chainfx_chain_open(&c, dir, NULL, 0), UL_OK);
    pub_a(&t, f, 2, "2.0.0");
    submit_ok(c, &t, NULL);
    assert_int_equal(produce(f, c), height + 1);
    ul_header hd;
    ul_chainfx_header(c, height + 1, &hd);
    assert_memory_equal(hd.prev, head, UL_HASH_BYTES);
    assert_int_equal(hd.time_ms, next);
    assert_int_equal(hd.log_size, 2);
    ul_chain_close(c);

    /* Another genesis: refused, and the store is left as it was. */
    uint8_t g2[1024];
    size_t g2len;
    make_genesis(g2, sizeof g2, &g2len, f->val, "another-chain");
    c = (ul_chain *)1;
    assert_int_equal(ul_chainfx_chain_open(&c, dir, g2, g2len), UL_E_CHAIN_ID);
    assert_null(c);
    assert_int_equal(ul_chainfx_chain_open(&c, dir, NULL, 0), UL_OK);
    assert_int_equal(ul_chain_height(c), height + 1);
    ul_chain_close(c);
}

/* No store at all and no genesis to create one: fails, with UL_E_NOT_FOUND as ul_ledger.h
 * documents for ul_chain_open. */
static void test_open_missing_store(void **state)
{
    fx *f = *state;
    ul_chain *c = (ul_chain *)1;
    char dir[128];

    path_of(f, "missing", dir, sizeof dir);
    ul_err e = ul_chainfx_chain_open(&c, dir, NULL, 0);
    assert_int_not_equal(e, UL_OK);
    assert_null(c);
    assert_int_equal(e, UL_E_NOT_FOUND);
}

/* Two openers of one store: the second is refused while the first holds it. */
static void test_locked(void **state)
{
    fx *f = *state;
    ul_chain *c = open_chain(f, "a"), *d = NULL;
    char dir[128];

    path_of(f, "a", dir, sizeof dir);
    assert_int_equal(ul_chainfx_chain_open(&d, dir, NULL, 0), UL_E_LOCKED);
    assert_null(d);
    ul_chain_close(c);
    ul_chain_close(NULL);
}

/* ---- applying blocks from elsewhere ------------------------------------------------------- */

/* Chain a: register, two publishes, an empty block, a publish: 4 blocks. */
static ul_chain *build_source(const fx *f, const char *name)
{
    ul_chain *a = open_chain(f, name);
    txbuf t;

    reg_tx(&t, f->chain_id, NS, 1, f->owner, f->pub, f->owner, UL_DOMAIN_TX);
    submit_ok(a, &t, NULL);
    produce(f, a);
    pub_a(&t, f, 1, "1.0.0");
    submit_ok(a, &t, NULL);
    pub_a(&t, f, 2, "2.0.0");
    submit_ok(a, &t, NULL);
    produce(f, a);
    produce(f, a);
    pub_a(&t, f, 3, "3.0.0");
    submit_ok(a, &t, NULL);
    produce(f, a);
    return a;
}

static void get_block(ul_chain *a, uint64_t h, uint8_t **blk, size_t *bl, uint8_t **cm, size_t *cl)
{
    assert_int_equal(ul_chainfx_block(a, h, blk, bl, cm, cl), UL_OK);
}

/* The block of height h with its header's time moved by delta, and a valid commit for it. */
static void retimed_block(const fx *f, ul_chain *a, uint64_t h, int64_t delta, uint8_t **blk,
                          size_t *bl, uint8_t *cm, size_t ccap, size_t *cl)
{
    uint8_t *orig, hdr[UL_MAX_HEADER_BYTES], hash[UL_HASH_BYTES];
    size_t olen, hlen;
    ul_span *txs = calloc(UL_MAX_BLOCK_TXS, sizeof *txs);
    ul_block b;
    ul_header hd;

    assert_non_null(txs);
    assert_int_equal(ul_chain_block_bytes(a, h, &orig, &olen), UL_OK);
    assert_int_equal(ul_schema_block_decode(&b, txs, UL_MAX_BLOCK_TXS, orig, olen), UL_OK);
    assert_int_equal(ul_schema_header_decode(&hd, b.header.ptr, b.header.len), UL_OK);
    hd.time_ms = (uint64_t)((int64_t)hd.time_ms + delta);
    assert_int_equal(ul_schema_header_encode(hdr, sizeof hdr, &hlen, &hd), UL_OK);
    ul_client_sha256(hash, hdr, hlen);
    *blk = malloc(olen + 64);
    assert_non_null(*blk);
    assert_int_equal(
        ul_schema_block_encode(*blk, olen + 64, bl, (ul_span){hdr, hlen}, txs, b.n_txs), UL_OK);
    make_commit(f, h, hash, NOW(h), cm, ccap, cl);
    free(orig);
    free(txs);
}

static void test_apply(void **state)
{
    fx *f = *state;
    ul_chain *a = build_source(f, "a"), *b = open_chain(f, "b");
    uint8_t *blk, *cm, *tx;
    size_t bl, cl, tl;
    ul_release_loc loc;
    uint8_t id[UL_HASH_BYTES];

    /* Block 1 applies; applied twice it is refused for its height. */
    get_block(a, 1, &blk, &bl, &cm, &cl);
    assert_int_equal(ul_chain_apply(b, blk, bl, cm, cl), UL_OK);
    assert_int_equal(ul_chain_apply(b, blk, bl, cm, cl), UL_E_HEIGHT);
    assert_int_equal(ul_chain_height(b), 1);
    free(blk);
    free(cm);

    /* Block 2 with one tx byte changed (inside the last signature): refused. */
    get_block(a, 2, &blk, &bl, &cm, &cl);
    assert_int_equal(ul_chain_release_at(a, 1, id), UL_OK);
    assert_int_equal(ul_chain_release(a, id, &tx, &tl, &loc), UL_OK);
    uint8_t *at = (uint8_t *)find_bytes(blk, bl, tx, tl);
    assert_non_null(at);
    free(tx);
    at[tl - 1] ^= 0x01;
    assert_int_not_equal(ul_chain_apply(b, blk, bl, cm, cl), UL_OK);
    assert_int_equal(ul_chain_height(b), 1);
    assert_int_equal(ul_chain_pending_count(b), 0);
    /* A byte of the signed release body changed: the signature no longer holds either. */
    at[tl - 1] ^= 0x01;
    at[tl / 3] ^= 0x01;
    assert_int_not_equal(ul_chain_apply(b, blk, bl, cm, cl), UL_OK);
    at[tl / 3] ^= 0x01;
    assert_int_equal(ul_chain_height(b), 1);

    /* The right block with a commit whose signature is wrong: refused. */
    cm[cl - 1] ^= 0x01;
    ul_err e = ul_chain_apply(b, blk, bl, cm, cl);
    assert_true(e == UL_E_SIG || e == UL_E_QUORUM);
    assert_int_equal(ul_chain_height(b), 1);
    assert_int_equal(ul_chain_log_size(b), 0);
    cm[cl - 1] ^= 0x01;
    /* A commit for block 1 under block 2: refused. */
    uint8_t *cm1;
    size_t cl1;
    assert_int_equal(ul_chain_commit_bytes(a, 1, &cm1, &cl1), UL_OK);
    assert_int_not_equal(ul_chain_apply(b, blk, bl, cm1, cl1), UL_OK);
    free(cm1);
    assert_int_equal(ul_chain_height(b), 1);

    /* A block signed correctly whose header time is not the BFT time: refused. */
    uint8_t *rblk, rcm[UL_MAX_COMMIT_BYTES];
    size_t rbl, rcl;
    retimed_block(f, a, 2, 1, &rblk, &rbl, rcm, sizeof rcm, &rcl);
    assert_int_equal(ul_chain_apply(b, rblk, rbl, rcm, rcl), UL_E_TIME);
    free(rblk);
    retimed_block(f, a, 2, -1, &rblk, &rbl, rcm, sizeof rcm, &rcl);
    assert_int_equal(ul_chain_apply(b, rblk, rbl, rcm, rcl), UL_E_TIME);
    free(rblk);
    assert_int_equal(ul_chain_height(b), 1);

    /* Block 3 before block 2: wrong height. */
    uint8_t *blk3, *cm3;
    size_t bl3, cl3;
    get_block(a, 3, &blk3, &bl3, &cm3, &cl3);
    assert_int_equal(ul_chain_apply(b, blk3, bl3, cm3, cl3), UL_E_HEIGHT);
    free(blk3);
    free(cm3);

    /* After all those refusals, the untouched block still applies. */
    assert_int_equal(ul_chain_apply(b, blk, bl, cm, cl), UL_OK);
    free(blk);
    free(cm);
    for (uint64_t h = 3; h <= ul_chain_height(a); h++) {
        get_block(a, h, &blk, &bl, &cm, &cl);
        assert_int_equal(ul_chain_apply(b, blk, bl, cm, cl), UL_OK);
        free(blk);
        free(cm);
    }
    assert_same_chain(a, b);
    uint8_t ha[UL_HASH_BYTES], hb[UL_HASH_BYTES];
    head_hash(a, ha);
    head_hash(b, hb);
    assert_memory_equal(ha, hb, UL_HASH_BYTES);

    /* b serves the same bundles, byte for byte, and keeps producing on top. */
    uint8_t *bun_a, *bun_b;
    size_t na, nb;
    assert_int_equal(ul_chain_release_at(b, 2, id), UL_OK);
    assert_int_equal(bundle_verdict(f, b, id, "board-a", 0, NULL), UL_OK);
    assert_int_equal(ul_chain_bundle(a, id, ul_span_str("board-a"), 0, &bun_a, &na), UL_OK);
    assert_int_equal(ul_chain_bundle(b, id, ul_span_str("board-a"), 0, &bun_b, &nb), UL_OK);
    assert_int_equal(na, nb);
    assert_memory_equal(bun_a, bun_b, na);
    free(bun_a);
    free(bun_b);
    txbuf t;
    pub_a(&t, f, 4, "4.0.0");
    submit_ok(b, &t, NULL);
    submit_ok(a, &t, NULL);
    produce(f, b);
    produce(f, a);
    assert_same_chain(a, b);
    ul_chain_close(a);
    ul_chain_close(b);
}

/* ---- audit -------------------------------------------------------------------------------- */

typedef struct {
    ul_chain *c;
    uint64_t bad_height; /* 0: none */
    bool bad_commit;     /* flip in the commit instead of the block */
} source;

static ul_err src_block(void *arg, uint64_t h, uint8_t **blk, size_t *blen, uint8_t **cm,
                        size_t *clen)
{
    source *s = arg;
    ul_err e = ul_chainfx_block(s->c, h, blk, blen, cm, clen);
    if (e != UL_OK) {
        return e;
    }
    if (h == s->bad_height) {
        if (s->bad_commit) {
            (*cm)[*clen / 2] ^= 0x04;
        } else {
            (*blk)[*blen / 2] ^= 0x04;
        }
    }
    return UL_OK;
}

static void test_audit(void **state)
{
    fx *f = *state;
    ul_chain *a = build_source(f, "a");
    char scratch[128];
    ul_audit_result res;
    ul_header hd;
    uint8_t head[UL_HASH_BYTES];

    source s = {a, 0, false};
    path_of(f, "scratch0", scratch, sizeof scratch);
    assert_int_equal(ul_audit_run(f->genesis, f->glen, src_block, &s, scratch, NULL, NULL, &res),
                     UL_OK);
    ul_chainfx_rm_tree(scratch);
    assert_int_equal(res.height, ul_chain_height(a));
    assert_int_equal(res.releases, ul_chain_log_size(a));
    assert_int_equal(res.releases, 3);
    assert_int_equal(res.fail_height, 0);
    head_hash(a, head);
    assert_memory_equal(res.head, head, UL_HASH_BYTES);
    ul_chainfx_header(a, ul_chain_height(a), &hd);
    assert_memory_equal(res.log_root, hd.log_root, UL_HASH_BYTES);

    for (uint64_t k = 1; k <= ul_chain_height(a); k++) {
        for (int in_commit = 0; in_commit < 2; in_commit++) {
            s = (source){a, k, in_commit != 0};
            snprintf(scratch, sizeof scratch, "%s/scratch-%u-%d", f->root, (unsigned)k, in_commit);
            assert_int_not_equal(
                ul_audit_run(f->genesis, f->glen, src_block, &s, scratch, NULL, NULL, &res), UL_OK);
            ul_chainfx_rm_tree(scratch);
            assert_int_equal(res.fail_height, k);
            assert_int_equal(res.height, k - 1);
        }
    }

    /* Another chain's genesis: block 1 does not fit it. */
    uint8_t g2[1024];
    size_t g2len;
    make_genesis(g2, sizeof g2, &g2len, f->val, "another-chain");
    s = (source){a, 0, false};
    path_of(f, "scratch-g2", scratch, sizeof scratch);
    assert_int_not_equal(ul_audit_run(g2, g2len, src_block, &s, scratch, NULL, NULL, &res), UL_OK);
    ul_chainfx_rm_tree(scratch);
    assert_int_equal(res.fail_height, 1);
    ul_chain_close(a);
}

/* ---- crash atomicity at the API ----------------------------------------------------------- */

static void test_unwritten_block_is_gone(void **state)
{
    fx *f = *state;
    ul_chain *c = open_chain(f, "a");
    txbuf reg, p1, p2;
    uint8_t id1[UL_HASH_BYTES], id[UL_HASH_BYTES], head[UL_HASH_BYTES], h2[UL_HASH_BYTES];
    char dir[128];
    uint64_t h, seq;

    path_of(f, "a", dir, sizeof dir);
    reg_tx(&reg, f->chain_id, NS, 1, f->owner, f->pub, f->owner, UL_DOMAIN_TX);
    submit_ok(c, &reg, NULL);
    produce(f, c);
    head_hash(c, head);

    /* A pending block closed before it was committed. */
    pub_a(&p1, f, 1, "1.0.0");
    submit_ok(c, &p1, id1);
    ul_chain_close(c);
    assert_int_equal(ul_chainfx_chain_open(&c, dir, NULL, 0), UL_OK);
    assert_int_equal(ul_chain_height(c), 1);
    assert_int_equal(ul_chain_pending_count(c), 0);
    assert_int_equal(ul_chain_log_size(c), 0);
    head_hash(c, h2);
    assert_memory_equal(head, h2, UL_HASH_BYTES);
    assert_int_equal(ul_chain_tx_status(c, id1, &h), UL_E_NOT_FOUND);
    assert_int_equal(ul_chain_latest(c, ul_span_str(NS), ul_span_str("board-a"), id, &seq),
                     UL_E_NOT_FOUND);

    /* A sealed block closed before its commit. */
    submit_ok(c, &p1, NULL);
    ul_header sealed;
    assert_int_equal(ul_chain_seal(c, ul_key_pubkey(f->val), ul_chain_next_time(c), &sealed, id),
                     UL_OK);
    assert_int_equal(sealed.height, 2);
    assert_int_equal(sealed.log_size, 1);
    pub_a(&p2, f, 2, "2.0.0");
    reject(c, &p2, UL_E_BUSY); /* sealed: nothing more goes in */
    ul_chain_close(c);
    assert_int_equal(ul_chainfx_chain_open(&c, dir, NULL, 0), UL_OK);
    assert_int_equal(ul_chain_height(c), 1);
    assert_int_equal(ul_chain_log_size(c), 0);

    /* A sealed block whose commit is refused: discarded, the chain goes on. */
    submit_ok(c, &p1, NULL);
    assert_int_equal(ul_chain_seal(c, ul_key_pubkey(f->val), ul_chain_next_time(c), NULL, id),
                     UL_OK);
    uint8_t cm[UL_MAX_COMMIT_BYTES];
    size_t cl;
    make_commit(f, 2, id, NOW(2), cm, sizeof cm, &cl);
    cm[cl - 1] ^= 0x01;
    assert_int_not_equal(ul_chain_commit(c, cm, cl), UL_OK);
    assert_int_equal(ul_chain_pending_count(c), 0);
    assert_int_equal(ul_chain_height(c), 1);
    assert_int_equal(ul_chain_log_size(c), 0);
    assert_int_not_equal(ul_chain_commit(c, cm, cl), UL_OK); /* nothing sealed any more */

    /* A commit signed here for the sealed block is accepted. */
    submit_ok(c, &p1, NULL);
    assert_int_equal(ul_chain_seal(c, ul_key_pubkey(f->val), ul_chain_next_time(c), NULL, id),
                     UL_OK);
    make_commit(f, 2, id, NOW(2), cm, sizeof cm, &cl);
    assert_int_equal(ul_chain_commit(c, cm, cl), UL_OK);
    assert_int_equal(ul_chain_height(c), 2);
    assert_int_equal(ul_chain_log_size(c), 1);
    assert_int_equal(ul_chain_next_time(c), NOW(2));
    submit_ok(c, &p2, NULL);
    produce(f, c);
    assert_int_equal(ul_chain_log_size(c), 2);
    /* Both releases prove against the head; seq 2 has superseded seq 1 on the device. */
    assert_int_equal(ul_chain_release_at(c, 1, id), UL_OK);
    assert_int_equal(bundle_verdict(f, c, id, "board-a", 0, NULL), UL_OK);
    assert_int_equal(bundle_verdict(f, c, id1, "board-a", 0, NULL), UL_E_NOT_INSTALLABLE);
    ul_chain_close(c);

    /* And after a reopen, the log and the head agree with what was committed. */
    assert_int_equal(ul_chainfx_chain_open(&c, dir, NULL, 0), UL_OK);
    assert_int_equal(ul_chain_height(c), 3);
    assert_int_equal(ul_chain_log_size(c), 2);
    ul_chain_close(c);
}

/* Submits the next release of NS for "board-a" (seq one past the newest c holds). */
static void submit_next(const fx *f, ul_chain *c)
{
    uint8_t id[UL_HASH_BYTES];
    uint64_t seq = 0;
    char version[32];
    txbuf t;
    ul_err e = ul_chain_latest(c, ul_span_str(NS), ul_span_str("board-a"), id, &seq);
    assert_true(e == UL_OK || e == UL_E_NOT_FOUND);
    snprintf(version, sizeof version, "1.%llu.0", (unsigned long long)seq + 1);
    pub_a(&t, f, seq + 1, version);
    submit_ok(c, &t, NULL);
}

/* Audits c (the chain must reach c's height) into a scratch store under f's root. */
static void audit_ok(const fx *f, ul_chain *c, const char *name)
{
    char scratch[160];
    ul_audit_result res;
    uint8_t head[UL_HASH_BYTES];
    source s = {c, 0, false};
    path_of(f, name, scratch, sizeof scratch);
    assert_int_equal(ul_audit_run(f->genesis, f->glen, src_block, &s, scratch, NULL, NULL, &res),
                     UL_OK);
    ul_chainfx_rm_tree(scratch);
    assert_int_equal(res.height, ul_chain_height(c));
    head_hash(c, head);
    assert_memory_equal(res.head, head, UL_HASH_BYTES);
    /* The same on a memory disk (scratch NULL), as the simulator audits. */
    assert_int_equal(ul_audit_run(f->genesis, f->glen, src_block, &s, NULL, NULL, NULL, &res),
                     UL_OK);
    assert_int_equal(res.height, ul_chain_height(c));
    assert_memory_equal(res.head, head, UL_HASH_BYTES);
}

/* A chain on a memory disk: a crash loses exactly the blocks committed without sync (all of
 * them, or with dice a suffix of them, each block whole); the chain reopens at the last block
 * that survived, with that block's head, its store verifies, it audits and it goes on. */
static void test_mem_crash_reopens_at_synced(void **state)
{
    fx *f = *state;
    ul_memdisk *d;
    ul_chain *c;
    txbuf t;
    uint8_t heads[16][UL_HASH_BYTES], head[UL_HASH_BYTES];
    uint64_t entries;
    assert_int_equal(ul_memdisk_create(&d), UL_OK);
    assert_int_equal(ul_chain_open_mem(&c, d, f->genesis, f->glen), UL_OK);
    reg_tx(&t, f->chain_id, NS, 1, f->owner, f->pub, f->owner, UL_DOMAIN_TX);
    submit_ok(c, &t, NULL);
    produce(f, c);
    submit_next(f, c);
    head_hash(c, heads[produce(f, c)]);
    uint64_t synced = ul_chain_height(c);
    for (int round = 0; round < 2; round++) {
        c->sync = false; /* as the audit's scratch chain writes */
        for (unsigned i = 0; i < 4; i++) {
            submit_next(f, c);
            head_hash(c, heads[produce(f, c)]);
        }
        assert_int_equal(ul_memdisk_unsynced(d), 4);
        ul_rng rng;
        ul_rng_seed(&rng, 5);
        assert_int_equal(ul_memdisk_crash(d, round ? &rng : NULL), UL_OK);
        ul_chain_close(c); /* the process died: nothing of it reaches the disk */
        assert_int_equal(ul_chain_open_mem(&c, d, NULL, 0), UL_OK);
        /* All four lost; then seed 5's dice keep the first three. */
        assert_int_equal(ul_chain_height(c), synced + (round ? 3 : 0));
        head_hash(c, head);
        assert_memory_equal(head, heads[ul_chain_height(c)], UL_HASH_BYTES);
        assert_int_equal(ul_store_verify(ul_chain_store(c), &entries), UL_OK);
        audit_ok(f, c, round ? "audit-1" : "audit-0");
        /* The chain goes on from there, synced again. */
        submit_next(f, c);
        head_hash(c, heads[produce(f, c)]);
        synced = ul_chain_height(c);
        assert_int_equal(ul_memdisk_unsynced(d), 0);
    }
    ul_chain_close(c);
    ul_memdisk_destroy(d);
}

/* A chain on a full memory disk: the commit fails with UL_E_NO_SPACE and nothing of the block
 * is stored; once the disk has room, ul_chain_recover makes it writable and it goes on. */
static void test_mem_full_disk_recovers(void **state)
{
    fx *f = *state;
    ul_memdisk *d;
    ul_chain *c;
    txbuf t;
    uint64_t h = 0;
    assert_int_equal(ul_memdisk_create(&d), UL_OK);
    assert_int_equal(ul_chain_open_mem(&c, d, f->genesis, f->glen), UL_OK);
    reg_tx(&t, f->chain_id, NS, 1, f->owner, f->pub, f->owner, UL_DOMAIN_TX);
    submit_ok(c, &t, NULL);
    ul_memdisk_set_full(d, true);
    assert_int_equal(ul_chain_produce(c, f->val, NOW(1), &h), UL_E_NO_SPACE);
    assert_int_equal(ul_chain_height(c), 0);
    assert_int_equal(ul_store_fault(ul_chain_store(c), NULL), UL_E_NO_SPACE);
    assert_int_equal(ul_chain_recover(c), UL_E_NO_SPACE);
    ul_memdisk_set_full(d, false);
    assert_int_equal(ul_chain_recover(c), UL_OK);
    assert_int_equal(ul_chain_height(c), 0);
    submit_ok(c, &t, NULL);
    assert_int_equal(produce(f, c), 1);
    audit_ok(f, c, "audit");
    /* A damaged read under the chain is UL_E_CORRUPT and the store's fault. (Reopened: what
     * the audit read is in the store's read cache, which answers without reading.) */
    ul_chain_close(c);
    assert_int_equal(ul_chain_open_mem(&c, d, f->genesis, f->glen), UL_OK);
    ul_memdisk_corrupt_reads(d, 1);
    uint8_t *blk, *cm;
    size_t bl, cl;
    assert_int_equal(ul_chainfx_block(c, 1, &blk, &bl, &cm, &cl), UL_E_CORRUPT);
    assert_int_equal(ul_store_fault(ul_chain_store(c), NULL), UL_E_CORRUPT);
    ul_chain_close(c);
    ul_memdisk_destroy(d);
}

/* A validator that is not in the set cannot produce; the pending block is dropped. */
static void test_produce_not_validator(void **state)
{
    fx *f = *state;
    ul_chain *c = open_chain(f, "a");
    txbuf t;

    reg_tx(&t, f->chain_id, NS, 1, f->owner, f->pub, f->owner, UL_DOMAIN_TX);
    submit_ok(c, &t, NULL);
    assert_int_equal(ul_chain_produce(c, f->other, NOW(1), NULL), UL_E_VALIDATOR);
    assert_int_equal(ul_chain_height(c), 0);
    assert_int_equal(ul_chain_pending_count(c), 0);
    ul_chain_close(c);
}

/* ---- policy contracts: builders and state probes ------------------------------------------ */

/* A publish tx of release (ns, seq) of update kind `kind` for one hardware class, with one
 * dependency when dep_ns is not NULL, signed by signers. Version "seq.0". */
static void rel_tx(txbuf *t, const fx *f, const char *ns, uint64_t seq, const char *hw,
                   uint64_t kind, const char *dep_ns, const char *dep_c,
                   const ul_key *const *signers, size_t n)
{
    static ul_release r;
    uint8_t body[UL_MAX_RECORD_BYTES];
    char version[32];
    size_t blen;

    memset(&r, 0, sizeof r);
    snprintf(version, sizeof version, "%u.0", (unsigned)seq);
    r.ns = ul_span_str(ns);
    r.provider = ul_span_str("Acme Corp");
    r.time = 1700000000;
    r.version = ul_span_str(version);
    r.seq = seq;
    ul_client_sha256(r.digest, (const uint8_t *)version, strlen(version));
    r.size = 4096;
    r.file = ul_span_str("widget.bin");
    r.n_hw = 1;
    r.hw[0] = ul_span_str(hw);
    r.kind = kind;
    if (dep_ns) {
        r.n_deps = 1;
        r.deps[0].ns = ul_span_str(dep_ns);
        r.deps[0].constraint = ul_span_str(dep_c);
    }
    assert_int_equal(ul_schema_release_encode(body, sizeof body, &blen, &r), UL_OK);
    ul_chainfx_tx(t, f->chain_id, UL_TX_PUBLISH, body, blen, signers, n, UL_DOMAIN_RELEASE);
}

/* A feature release of NS on board-a by the publisher. */
static void feature_tx(txbuf *t, const fx *f, uint64_t seq)
{
    rel_tx(t, f, NS, seq, "board-a", UL_KIND_FEATURE, NULL, NULL, KEYS(f->pub));
}

static void set_policy_tx(txbuf *t, const fx *f, const char *ns, uint64_t nonce, const ul_policy *p,
                          const ul_key *const *signers, size_t n, ul_domain d)
{
    static ul_set_policy v;
    uint8_t body[UL_MAX_RECORD_BYTES];
    size_t blen;

    memset(&v, 0, sizeof v);
    v.ns = ul_span_str(ns);
    v.nonce = nonce;
    v.policy = *p;
    assert_int_equal(ul_schema_set_policy_encode(body, sizeof body, &blen, &v), UL_OK);
    ul_chainfx_tx(t, f->chain_id, UL_TX_SET_POLICY, body, blen, signers, n, d);
}

static void approve_tx(txbuf *t, const fx *f, const uint8_t id[UL_HASH_BYTES], const char *role,
                       uint64_t nonce, const ul_key *const *signers, size_t n, ul_domain d)
{
    ul_approve v = {.role = ul_span_str(role), .nonce = nonce};
    uint8_t body[512];
    size_t blen;

    memcpy(v.release, id, UL_HASH_BYTES);
    assert_int_equal(ul_schema_approve_encode(body, sizeof body, &blen, &v), UL_OK);
    ul_chainfx_tx(t, f->chain_id, UL_TX_APPROVE, body, blen, signers, n, d);
}

static void revoke_tx(txbuf *t, const fx *f, const uint8_t id[UL_HASH_BYTES], const char *reason,
                      uint64_t nonce, const ul_key *const *signers, size_t n)
{
    ul_revoke v = {.reason = ul_span_str(reason), .nonce = nonce};
    uint8_t body[512];
    size_t blen;

    memcpy(v.release, id, UL_HASH_BYTES);
    assert_int_equal(ul_schema_revoke_encode(body, sizeof body, &blen, &v), UL_OK);
    ul_chainfx_tx(t, f->chain_id, UL_TX_REVOKE, body, blen, signers, n, UL_DOMAIN_TX);
}

/* Rotates target of ns to the key set ks. */
static void rotate_set_tx(txbuf *t, const fx *f, const char *ns, uint64_t nonce, const char *target,
                          const ul_keyset *ks, const ul_key *const *signers, size_t n)
{
    static ul_rotate v;
    uint8_t body[1024];
    size_t blen;

    memset(&v, 0, sizeof v);
    v.ns = ul_span_str(ns);
    v.nonce = nonce;
    v.target = ul_span_str(target);
    v.keys = *ks;
    assert_int_equal(ul_schema_rotate_encode(body, sizeof body, &blen, &v), UL_OK);
    ul_chainfx_tx(t, f->chain_id, UL_TX_ROTATE, body, blen, signers, n, UL_DOMAIN_TX);
}

/* Rotates target of ns to the key set {keys, threshold}. */
static void rotate_tx(txbuf *t, const fx *f, const char *ns, uint64_t nonce, const char *target,
                      const ul_key *const *keys, size_t nk, uint64_t threshold,
                      const ul_key *const *signers, size_t n)
{
    ul_keyset ks;
    keyset_of(&ks, keys, nk, threshold);
    rotate_set_tx(t, f, ns, nonce, target, &ks, signers, n);
}

/* Transfers ns to the key sets owners and publishers. */
static void transfer_set_tx(txbuf *t, const fx *f, const char *ns, uint64_t nonce,
                            const ul_keyset *owners, const ul_keyset *publishers,
                            const ul_key *const *signers, size_t n, ul_domain d)
{
    static ul_transfer v;
    uint8_t body[1024];
    size_t blen;

    memset(&v, 0, sizeof v);
    v.ns = ul_span_str(ns);
    v.nonce = nonce;
    v.owners = *owners;
    v.publishers = *publishers;
    assert_int_equal(ul_schema_transfer_encode(body, sizeof body, &blen, &v), UL_OK);
    ul_chainfx_tx(t, f->chain_id, UL_TX_TRANSFER, body, blen, signers, n, d);
}

/* Transfers ns to owner {owner} and publishers {publisher}, each threshold 1. */
static void transfer_tx(txbuf *t, const fx *f, const char *ns, uint64_t nonce, const ul_key *owner,
                        const ul_key *publisher, const ul_key *const *signers, size_t n,
                        ul_domain d)
{
    ul_keyset o, p;
    keyset_of(&o, &owner, 1, 1);
    keyset_of(&p, &publisher, 1, 1);
    transfer_set_tx(t, f, ns, nonce, &o, &p, signers, n, d);
}

/* The installable list of (ns, hw) as c sees it (pending block included): up to
 * UL_MAX_INSTALLABLE_KEPT entries of (seq 8 BE, id 32), newest first. Returns the entry count
 * (0 when the state key is absent: nothing installable). */
static size_t installable_list(ul_chain *c, const char *ns, const char *hw,
                               uint8_t ids[UL_MAX_INSTALLABLE_KEPT][UL_HASH_BYTES], uint64_t *seqs)
{
    uint8_t k[UL_KEY_MAX], v[UL_MAX_INSTALLABLE_KEPT * (8 + UL_HASH_BYTES)];
    size_t kl, vl;
    assert_int_equal(
        ul_schema_statekey_installable(k, sizeof k, &kl, ul_span_str(ns), ul_span_str(hw)), UL_OK);
    ul_err e = ul_chain_read(c, k, kl, v, sizeof v, &vl);
    if (e == UL_E_NOT_FOUND) {
        return 0;
    }
    assert_int_equal(e, UL_OK);
    assert_int_equal(vl % (8 + UL_HASH_BYTES), 0);
    size_t n = vl / (8 + UL_HASH_BYTES);
    for (size_t i = 0; i < n; i++) {
        const uint8_t *at = v + i * (8 + UL_HASH_BYTES);
        memcpy(ids[i], at + 8, UL_HASH_BYTES);
        seqs[i] = ul_be64_get(at);
        if (i > 0) {
            assert_true(seqs[i - 1] >= seqs[i]); /* newest first */
        }
    }
    return n;
}

/* The newest installable release of (ns, hw): UL_OK with its id, or UL_E_NOT_FOUND. */
static ul_err installable(ul_chain *c, const char *ns, const char *hw, uint8_t id[UL_HASH_BYTES])
{
    uint8_t ids[UL_MAX_INSTALLABLE_KEPT][UL_HASH_BYTES];
    uint64_t seqs[UL_MAX_INSTALLABLE_KEPT];
    size_t n = installable_list(c, ns, hw, ids, seqs);
    if (n == 0) {
        return UL_E_NOT_FOUND;
    }
    memcpy(id, ids[0], UL_HASH_BYTES);
    return UL_OK;
}

static void assert_installable(ul_chain *c, const char *ns, const char *hw,
                               const uint8_t want[UL_HASH_BYTES])
{
    uint8_t id[UL_HASH_BYTES];
    assert_int_equal(installable(c, ns, hw, id), UL_OK);
    assert_memory_equal(id, want, UL_HASH_BYTES);
}

static void assert_not_installable(ul_chain *c, const char *ns, const char *hw)
{
    uint8_t id[UL_HASH_BYTES];
    assert_int_equal(installable(c, ns, hw, id), UL_E_NOT_FOUND);
}

/* How many keys approved release id in role (0 when none), as c sees it. */
static size_t approvals(ul_chain *c, const uint8_t id[UL_HASH_BYTES], const char *role)
{
    static uint8_t v[UL_MAX_RECORD_BYTES];
    static ul_approvals a;
    uint8_t k[UL_KEY_MAX];
    size_t kl, vl;
    assert_int_equal(ul_schema_statekey_approvals(k, sizeof k, &kl, id), UL_OK);
    ul_err e = ul_chain_read(c, k, kl, v, sizeof v, &vl);
    if (e == UL_E_NOT_FOUND) {
        return 0;
    }
    assert_int_equal(e, UL_OK);
    assert_int_equal(ul_schema_approvals_decode(&a, v, vl), UL_OK);
    for (size_t i = 0; i < a.n; i++) {
        if (ul_span_eq_str(a.roles[i].role, role)) {
            return a.roles[i].n;
        }
    }
    return 0;
}

/* Whether release id is revoked as c sees it; when it is, checks the recorded reason. */
static bool revoked(ul_chain *c, const uint8_t id[UL_HASH_BYTES], const char *reason)
{
    uint8_t k[UL_KEY_MAX], v[8 + UL_MAX_LABEL_LEN];
    size_t kl, vl;
    assert_int_equal(ul_schema_statekey_revocation(k, sizeof k, &kl, id), UL_OK);
    ul_err e = ul_chain_read(c, k, kl, v, sizeof v, &vl);
    if (e == UL_E_NOT_FOUND) {
        return false;
    }
    assert_int_equal(e, UL_OK);
    assert_int_equal(vl, 8 + strlen(reason));
    assert_memory_equal(v + 8, reason, strlen(reason));
    return true;
}

/* The committed policy of ns. */
static void policy_of(ul_chain *c, const char *ns, ul_policy *p, uint8_t *buf, size_t cap)
{
    uint8_t *body;
    size_t len;
    uint64_t h;
    assert_int_equal(ul_chain_namespace(c, ul_span_str(ns), &body, &len, &h), UL_OK);
    assert_true(len <= cap);
    memcpy(buf, body, len);
    free(body);
    assert_int_equal(ul_schema_policy_decode(p, buf, len), UL_OK);
}

static bool keyset_has(const ul_keyset *ks, const ul_key *k)
{
    for (size_t i = 0; i < ks->n; i++) {
        if (memcmp(ks->keys[i], ul_key_pubkey(k), UL_PUBKEY_BYTES) == 0) {
            return true;
        }
    }
    return false;
}

/* Produces one block on a and on the reference r and checks they are the same chain. */
static void produce_both(const fx *f, ul_chain *a, ul_chain *r)
{
    assert_int_equal(ul_chain_pending_count(a), ul_chain_pending_count(r));
    produce(f, a);
    produce(f, r);
    assert_same_chain(a, r);
}

/* Registers ns with policy p (signed by its first owner, f->owner) on a and r, then produces. */
static void register_both(const fx *f, ul_chain *a, ul_chain *r, const char *ns, uint64_t nonce,
                          const ul_policy *p)
{
    txbuf t;
    reg_policy_tx(&t, f->chain_id, ns, nonce, p, KEYS(f->owner), UL_DOMAIN_TX);
    both(a, r, &t);
    produce_both(f, a, r);
}

/* ---- policy contracts: each rule met and broken ------------------------------------------- */

/* A feature release needs a certifier's co-signature: published, but not installable until the
 * certifier approves. Approvals by a stranger, for an unknown role or release, or signed under
 * the release domain are refused and count for nothing. */
static void test_cosign_missing(void **state)
{
    fx *f = *state;
    ul_chain *a = open_chain(f, "a"), *r = open_chain(f, "ref");
    static ul_policy p;
    txbuf t, r1, r2, sec;
    uint8_t id1[UL_HASH_BYTES], id2[UL_HASH_BYTES], ids[UL_HASH_BYTES], unknown[UL_HASH_BYTES];
    uint64_t n = 1, seq;

    default_policy(&p, f->owner, f->pub);
    add_role(&p, "certifier", KEYS(f->x[0]), 1);
    require_role(&p, UL_KIND_FEATURE, "certifier");
    register_both(f, a, r, NS, n++, &p);

    /* Block 2: the feature release is logged and latest, but not installable; a security
     * release (nothing required for its kind) is installable at once. */
    feature_tx(&r1, f, 1);
    submit_ok(a, &r1, id1);
    submit_ok(r, &r1, NULL);
    assert_not_installable(a, NS, "board-a");
    rel_tx(&sec, f, NS, 1, "board-b", UL_KIND_SECURITY, NULL, NULL, KEYS(f->pub));
    submit_ok(a, &sec, ids);
    submit_ok(r, &sec, NULL);
    assert_installable(a, NS, "board-b", ids);
    approve_tx(&t, f, id1, "certifier", n, KEYS(f->other), UL_DOMAIN_TX);
    reject(a, &t, UL_E_NOT_ROLE);
    approve_tx(&t, f, id1, "certifier", n, KEYS(f->pub), UL_DOMAIN_TX);
    reject(a, &t, UL_E_NOT_ROLE); /* publishing is not certifying */
    approve_tx(&t, f, id1, "certifier", n, KEYS(f->x[0], f->other), UL_DOMAIN_TX);
    reject(a, &t, UL_E_NOT_ROLE); /* a stranger among the signers */
    approve_tx(&t, f, id1, "auditor", n, KEYS(f->x[0]), UL_DOMAIN_TX);
    reject(a, &t, UL_E_ROLE_UNKNOWN);
    approve_tx(&t, f, id1, "owners", n, KEYS(f->owner), UL_DOMAIN_TX);
    reject(a, &t, UL_E_ROLE_UNKNOWN); /* owners are not a co-signer role */
    approve_tx(&t, f, id1, "certifier", n, KEYS(f->x[0]), UL_DOMAIN_RELEASE);
    reject(a, &t, UL_E_SIG);
    approve_tx(&t, f, id1, "certifier", n, KEYS(f->x[0]), UL_DOMAIN_TRANSFER);
    reject(a, &t, UL_E_SIG);
    memset(unknown, 0x5a, sizeof unknown);
    approve_tx(&t, f, unknown, "certifier", n, KEYS(f->x[0]), UL_DOMAIN_TX);
    reject(a, &t, UL_E_RELEASE_UNKNOWN);
    approve_tx(&t, f, ids, "certifier", n, KEYS(f->x[0]), UL_DOMAIN_TX);
    submit_ok(a, &t, NULL); /* approving what needs no approval is allowed; it changes nothing */
    submit_ok(r, &t, NULL);
    n++;
    assert_int_equal(approvals(a, id1, "certifier"), 0);
    assert_not_installable(a, NS, "board-a");
    produce_both(f, a, r);
    assert_not_installable(a, NS, "board-a");
    assert_int_equal(ul_chain_latest(a, ul_span_str(NS), ul_span_str("board-a"), id2, &seq), UL_OK);
    assert_memory_equal(id2, id1, UL_HASH_BYTES);
    assert_installable(a, NS, "board-b", ids);

    /* Block 3: the certifier approves: installable. */
    approve_tx(&t, f, id1, "certifier", n++, KEYS(f->x[0]), UL_DOMAIN_TX);
    both(a, r, &t);
    assert_int_equal(approvals(a, id1, "certifier"), 1);
    assert_installable(a, NS, "board-a", id1);
    /* Published and approved in one block: the approval sees the pending release. */
    feature_tx(&r2, f, 2);
    submit_ok(a, &r2, id2);
    submit_ok(r, &r2, NULL);
    assert_installable(a, NS, "board-a", id1);
    approve_tx(&t, f, id2, "certifier", n++, KEYS(f->x[0]), UL_DOMAIN_TX);
    both(a, r, &t);
    assert_installable(a, NS, "board-a", id2);
    produce_both(f, a, r);
    assert_installable(a, NS, "board-a", id2);
    assert_installable(r, NS, "board-a", id2);
    ul_chain_close(a);
    ul_chain_close(r);
}

/* A 2-of-3 certifier role: one approval is one short; the same key again is refused and counted
 * once; the next distinct key makes the release installable. Two keys in one tx count twice. */
static void test_cosign_threshold(void **state)
{
    fx *f = *state;
    ul_chain *a = open_chain(f, "a"), *r = open_chain(f, "ref");
    static ul_policy p;
    txbuf t;
    uint8_t id1[UL_HASH_BYTES], id2[UL_HASH_BYTES];
    uint64_t n = 1;

    default_policy(&p, f->owner, f->pub);
    add_role(&p, "certifier", KEYS(f->x[0], f->x[1], f->x[2]), 2);
    require_role(&p, UL_KIND_FEATURE, "certifier");
    register_both(f, a, r, NS, n++, &p);
    feature_tx(&t, f, 1);
    submit_ok(a, &t, id1);
    submit_ok(r, &t, NULL);
    produce_both(f, a, r);

    approve_tx(&t, f, id1, "certifier", n++, KEYS(f->x[0]), UL_DOMAIN_TX);
    both(a, r, &t);
    assert_int_equal(approvals(a, id1, "certifier"), 1);
    assert_not_installable(a, NS, "board-a"); /* one short */
    approve_tx(&t, f, id1, "certifier", n++, KEYS(f->x[0]), UL_DOMAIN_TX);
    reject(a, &t, UL_E_APPROVED); /* the same key, a fresh nonce: counted once */
    assert_int_equal(approvals(a, id1, "certifier"), 1);
    assert_not_installable(a, NS, "board-a");
    produce_both(f, a, r);
    approve_tx(&t, f, id1, "certifier", n++, KEYS(f->x[0]), UL_DOMAIN_TX);
    reject(a, &t, UL_E_APPROVED); /* committed approvals too */
    approve_tx(&t, f, id1, "certifier", n++, KEYS(f->x[1], f->other), UL_DOMAIN_TX);
    reject(a, &t, UL_E_NOT_ROLE);
    assert_int_equal(approvals(a, id1, "certifier"), 1);
    approve_tx(&t, f, id1, "certifier", n++, KEYS(f->x[1]), UL_DOMAIN_TX);
    both(a, r, &t);
    assert_int_equal(approvals(a, id1, "certifier"), 2);
    assert_installable(a, NS, "board-a", id1);
    produce_both(f, a, r);

    /* Two distinct keys in one tx meet the threshold at once; an old key with a new one adds
     * just the new one; keys that all approved already add nothing. */
    feature_tx(&t, f, 2);
    submit_ok(a, &t, id2);
    submit_ok(r, &t, NULL);
    approve_tx(&t, f, id2, "certifier", n++, KEYS(f->x[2], f->x[0]), UL_DOMAIN_TX);
    both(a, r, &t);
    assert_int_equal(approvals(a, id2, "certifier"), 2);
    assert_installable(a, NS, "board-a", id2);
    approve_tx(&t, f, id2, "certifier", n++, KEYS(f->x[0], f->x[1]), UL_DOMAIN_TX);
    both(a, r, &t);
    assert_int_equal(approvals(a, id2, "certifier"), 3);
    approve_tx(&t, f, id2, "certifier", n++, KEYS(f->x[1], f->x[2]), UL_DOMAIN_TX);
    reject(a, &t, UL_E_APPROVED);
    assert_int_equal(approvals(a, id2, "certifier"), 3);
    produce_both(f, a, r);
    assert_installable(a, NS, "board-a", id2);
    ul_chain_close(a);
    ul_chain_close(r);
}

/* Publish rules: allowed hardware classes, sequences, dependencies, the publisher threshold. */
static void test_publish_rules(void **state)
{
    fx *f = *state;
    ul_chain *a = open_chain(f, "a"), *r = open_chain(f, "ref");
    static ul_policy p;
    txbuf t;
    uint64_t n = 1;

    default_policy(&p, f->owner, f->pub);
    p.n_hw = 2;
    p.hw[0] = ul_span_str("board-a");
    p.hw[1] = ul_span_str("board-b");
    register_both(f, a, r, NS, n++, &p);
    default_policy(&p, f->owner, f->pub);
    register_both(f, a, r, "acme/lib", n++, &p);
    default_policy(&p, f->owner, f->pub);
    keyset_of(&p.publishers, KEYS(f->pub, f->x[0]), 2); /* 2 of 2 */
    register_both(f, a, r, "acme/dual", n++, &p);

    /* Hardware classes. */
    rel_tx(&t, f, NS, 1, "board-c", UL_KIND_FEATURE, NULL, NULL, KEYS(f->pub));
    reject(a, &t, UL_E_HW_CLASS);
    rel_tx(&t, f, NS, 1, "board-b", UL_KIND_FEATURE, NULL, NULL, KEYS(f->pub));
    both(a, r, &t);
    rel_tx(&t, f, "acme/lib", 1, "board-c", UL_KIND_FEATURE, NULL, NULL, KEYS(f->pub));
    both(a, r, &t); /* no list: any class */

    /* Sequences strictly increase per class. */
    rel_tx(&t, f, NS, 5, "board-a", UL_KIND_FEATURE, NULL, NULL, KEYS(f->pub));
    both(a, r, &t);
    produce_both(f, a, r);
    rel_tx(&t, f, NS, 5, "board-a", UL_KIND_BUGFIX, NULL, NULL, KEYS(f->pub));
    reject(a, &t, UL_E_SEQUENCE); /* equal (another release: another kind) */
    rel_tx(&t, f, NS, 4, "board-a", UL_KIND_FEATURE, NULL, NULL, KEYS(f->pub));
    reject(a, &t, UL_E_SEQUENCE);
    rel_tx(&t, f, NS, 2, "board-b", UL_KIND_FEATURE, NULL, NULL, KEYS(f->pub));
    both(a, r, &t); /* board-b is at 1 */

    /* Dependencies: a registered namespace and a constraint that parses and can be met. */
    rel_tx(&t, f, NS, 6, "board-a", UL_KIND_FEATURE, "acme/none", ">=1.0", KEYS(f->pub));
    reject(a, &t, UL_E_DEPENDENCY); /* dangling */
    rel_tx(&t, f, NS, 6, "board-a", UL_KIND_FEATURE, "acme/lib", ">2 <1", KEYS(f->pub));
    reject(a, &t, UL_E_DEPENDENCY); /* unsatisfiable */
    rel_tx(&t, f, NS, 6, "board-a", UL_KIND_FEATURE, "acme/lib", ">=2 <=1.9", KEYS(f->pub));
    reject(a, &t, UL_E_DEPENDENCY);
    rel_tx(&t, f, NS, 6, "board-a", UL_KIND_FEATURE, "acme/lib", "bogus", KEYS(f->pub));
    reject(a, &t, UL_E_VERSION_STR); /* unparsable */
    rel_tx(&t, f, NS, 6, "board-a", UL_KIND_FEATURE, "acme/lib", ">=1.x", KEYS(f->pub));
    reject(a, &t, UL_E_VERSION_STR);
    rel_tx(&t, f, NS, 6, "board-a", UL_KIND_FEATURE, "acme/lib", ">=1.0 <2", KEYS(f->pub));
    both(a, r, &t);
    rel_tx(&t, f, NS, 7, "board-a", UL_KIND_FEATURE, NS, "=6", KEYS(f->pub));
    reject(a, &t, UL_E_DEP_CYCLE); /* its own namespace: a device could never install it */

    /* Publisher threshold 2 of 2. */
    rel_tx(&t, f, "acme/dual", 1, "board-a", UL_KIND_FEATURE, NULL, NULL, KEYS(f->pub));
    reject(a, &t, UL_E_THRESHOLD);
    rel_tx(&t, f, "acme/dual", 1, "board-a", UL_KIND_FEATURE, NULL, NULL, KEYS(f->x[0]));
    reject(a, &t, UL_E_THRESHOLD);
    rel_tx(&t, f, "acme/dual", 1, "board-a", UL_KIND_FEATURE, NULL, NULL, KEYS(f->pub, f->other));
    reject(a, &t, UL_E_NOT_PUBLISHER);
    rel_tx(&t, f, "acme/dual", 1, "board-a", UL_KIND_FEATURE, NULL, NULL,
           KEYS(f->pub, f->x[0], f->owner));
    reject(a, &t, UL_E_NOT_PUBLISHER);
    rel_tx(&t, f, "acme/dual", 1, "board-a", UL_KIND_FEATURE, NULL, NULL, KEYS(f->x[0], f->pub));
    both(a, r, &t);
    produce_both(f, a, r);
    assert_int_equal(ul_chain_log_size(a), 6);
    ul_chain_close(a);
    ul_chain_close(r);
}

/* A release of NS needing dep_ns (any version), signed by the publisher. */
static void dep_tx(txbuf *t, const fx *f, const char *ns, uint64_t seq, const char *dep_ns)
{
    rel_tx(t, f, ns, seq, "board-a", UL_KIND_FEATURE, dep_ns, dep_ns ? ">=0" : NULL, KEYS(f->pub));
}

/* Dependency cycles: a release may not need its own namespace, directly or through the newest
 * releases of the namespaces it needs, in the store or earlier in the same block; the walk is
 * bounded by UL_MAX_DEP_CLOSURE namespaces. */
static void test_dep_cycles(void **state)
{
    fx *f = *state;
    ul_chain *a = open_chain(f, "a");
    static ul_policy p;
    txbuf t;
    uint64_t n = 1;
    char names[UL_MAX_DEP_CLOSURE + 1][32];

    default_policy(&p, f->owner, f->pub);
    for (const char *const *ns = (const char *const[]){"acme/a", "acme/b", "acme/c", NULL}; *ns;
         ns++) {
        reg_policy_tx(&t, f->chain_id, *ns, n++, &p, KEYS(f->owner), UL_DOMAIN_TX);
        submit_ok(a, &t, NULL);
    }
    produce(f, a);
    dep_tx(&t, f, "acme/a", 1, "acme/a");
    reject(a, &t, UL_E_DEP_CYCLE); /* itself */
    dep_tx(&t, f, "acme/a", 1, "acme/b");
    submit_ok(a, &t, NULL); /* b has no release yet */
    dep_tx(&t, f, "acme/b", 1, "acme/a");
    reject(a, &t, UL_E_DEP_CYCLE); /* a's newest (pending) needs b */
    produce(f, a);
    reject(a, &t, UL_E_DEP_CYCLE); /* ... and committed */
    dep_tx(&t, f, "acme/c", 1, "acme/a");
    submit_ok(a, &t, NULL); /* c -> a -> b */
    dep_tx(&t, f, "acme/b", 1, "acme/c");
    reject(a, &t, UL_E_DEP_CYCLE); /* b -> c -> a -> b, c still pending */
    produce(f, a);
    /* a's newest release no longer needs b: b may now need a (and c, through a). */
    dep_tx(&t, f, "acme/a", 2, NULL);
    submit_ok(a, &t, NULL);
    dep_tx(&t, f, "acme/b", 1, "acme/c");
    submit_ok(a, &t, NULL);
    produce(f, a);
    dep_tx(&t, f, "acme/a", 3, "acme/b");
    reject(a, &t, UL_E_DEP_CYCLE); /* a -> b -> c -> a */

    /* A chain d0 -> d1 -> ... -> d64 (d64 without a release): a release needing d1 reaches 64
     * namespaces (the bound), one needing d0 reaches 65. */
    for (size_t i = 0; i <= UL_MAX_DEP_CLOSURE; i++) {
        snprintf(names[i], sizeof names[i], "deep/d%zu", i);
        reg_policy_tx(&t, f->chain_id, names[i], n++, &p, KEYS(f->owner), UL_DOMAIN_TX);
        submit_ok(a, &t, NULL);
    }
    produce(f, a);
    for (size_t i = UL_MAX_DEP_CLOSURE; i-- > 0;) {
        dep_tx(&t, f, names[i], 1, names[i + 1]);
        submit_ok(a, &t, NULL);
    }
    produce(f, a);
    dep_tx(&t, f, "acme/c", 2, names[1]);
    submit_ok(a, &t, NULL);
    dep_tx(&t, f, "acme/a", 3, names[0]);
    reject(a, &t, UL_E_LIMIT);
    produce(f, a);
    ul_chain_close(a);
}

/* Revocation: only the listed revoker sets, once; a revoked release takes no approvals. */
static void test_revoke(void **state)
{
    fx *f = *state;
    ul_chain *a = open_chain(f, "a"), *r = open_chain(f, "ref");
    static ul_policy p;
    txbuf t;
    uint8_t id1[UL_HASH_BYTES], id2[UL_HASH_BYTES], unknown[UL_HASH_BYTES];
    uint64_t n = 1;

    default_policy(&p, f->owner, f->pub);
    add_role(&p, "certifier", KEYS(f->x[0]), 1);
    add_role(&p, "enterprise", KEYS(f->x[1], f->x[2]), 2);
    require_role(&p, UL_KIND_FEATURE, "enterprise");
    p.n_revokers = 2; /* publishers may not revoke here */
    p.revokers[0] = ul_span_str("certifier");
    p.revokers[1] = ul_span_str("owners");
    register_both(f, a, r, NS, n++, &p);
    feature_tx(&t, f, 1);
    submit_ok(a, &t, id1);
    submit_ok(r, &t, NULL);
    feature_tx(&t, f, 2);
    submit_ok(a, &t, id2);
    submit_ok(r, &t, NULL);
    produce_both(f, a, r);

    revoke_tx(&t, f, id1, "bricks devices", n, KEYS(f->pub));
    reject(a, &t, UL_E_NOT_REVOKER);
    revoke_tx(&t, f, id1, "bricks devices", n, KEYS(f->other));
    reject(a, &t, UL_E_NOT_REVOKER);
    revoke_tx(&t, f, id1, "bricks devices", n, KEYS(f->x[0], f->other));
    reject(a, &t, UL_E_NOT_REVOKER); /* a stranger among the signers */
    revoke_tx(&t, f, id1, "bricks devices", n, KEYS(f->x[1]));
    reject(a, &t, UL_E_NOT_REVOKER); /* not a revoker set */
    memset(unknown, 0x5a, sizeof unknown);
    revoke_tx(&t, f, unknown, "bricks devices", n, KEYS(f->x[0]));
    reject(a, &t, UL_E_RELEASE_UNKNOWN);
    approve_tx(&t, f, unknown, "enterprise", n, KEYS(f->x[1]), UL_DOMAIN_TX);
    reject(a, &t, UL_E_RELEASE_UNKNOWN);
    assert_false(revoked(a, id1, ""));
    revoke_tx(&t, f, id1, "bricks devices", n++, KEYS(f->x[0]));
    both(a, r, &t);
    assert_true(revoked(a, id1, "bricks devices"));
    revoke_tx(&t, f, id1, "again", n++, KEYS(f->owner));
    reject(a, &t, UL_E_REVOKED); /* pending revocation */
    produce_both(f, a, r);
    assert_true(revoked(a, id1, "bricks devices"));
    revoke_tx(&t, f, id1, "again", n++, KEYS(f->owner));
    reject(a, &t, UL_E_REVOKED); /* committed revocation */
    approve_tx(&t, f, id1, "enterprise", n++, KEYS(f->x[1], f->x[2]), UL_DOMAIN_TX);
    reject(a, &t, UL_E_REVOKED);
    assert_int_equal(approvals(a, id1, "enterprise"), 0);
    assert_not_installable(a, NS, "board-a");
    /* The other release: approved, then revoked by the owners. */
    approve_tx(&t, f, id2, "enterprise", n++, KEYS(f->x[1], f->x[2]), UL_DOMAIN_TX);
    both(a, r, &t);
    assert_installable(a, NS, "board-a", id2);
    revoke_tx(&t, f, id2, "superseded", n++, KEYS(f->owner));
    both(a, r, &t);
    assert_true(revoked(a, id2, "superseded"));
    assert_not_installable(a, NS, "board-a"); /* revoked: out of the installable list */
    produce_both(f, a, r);
    assert_true(revoked(a, id2, "superseded"));
    assert_true(revoked(r, id2, "superseded"));
    ul_chain_close(a);
    ul_chain_close(r);
}

/* A policy change needs the current owners' threshold: 2 of 3 here. */
static void test_policy_change(void **state)
{
    fx *f = *state;
    ul_chain *a = open_chain(f, "a"), *r = open_chain(f, "ref");
    static ul_policy p, q, got;
    static uint8_t buf[UL_MAX_RECORD_BYTES];
    txbuf t;
    uint64_t n = 1;

    default_policy(&p, f->owner, f->pub);
    keyset_of(&p.owners, KEYS(f->owner, f->x[0], f->x[1]), 2);
    /* Registering takes the new policy's own owner threshold too. */
    reg_policy_tx(&t, f->chain_id, NS, n, &p, KEYS(f->owner), UL_DOMAIN_TX);
    reject(a, &t, UL_E_THRESHOLD);
    reg_policy_tx(&t, f->chain_id, NS, n, &p, KEYS(f->owner, f->other), UL_DOMAIN_TX);
    reject(a, &t, UL_E_NOT_OWNER);
    reg_policy_tx(&t, f->chain_id, NS, n, &p, KEYS(f->x[1], f->owner), UL_DOMAIN_TX);
    both(a, r, &t);
    n++;
    produce_both(f, a, r);

    /* The new policy adds a second publisher. */
    q = p;
    keyset_of(&q.publishers, KEYS(f->pub, f->x[2]), 1);
    rel_tx(&t, f, NS, 1, "board-a", UL_KIND_FEATURE, NULL, NULL, KEYS(f->x[2]));
    reject(a, &t, UL_E_NOT_PUBLISHER);
    set_policy_tx(&t, f, NS, n, &q, KEYS(f->owner), UL_DOMAIN_TX);
    reject(a, &t, UL_E_THRESHOLD); /* one short */
    set_policy_tx(&t, f, NS, n, &q, KEYS(f->other), UL_DOMAIN_TX);
    reject(a, &t, UL_E_NOT_OWNER);
    set_policy_tx(&t, f, NS, n, &q, KEYS(f->owner, f->other), UL_DOMAIN_TX);
    reject(a, &t, UL_E_NOT_OWNER);
    set_policy_tx(&t, f, NS, n, &q, KEYS(f->x[2], f->pub), UL_DOMAIN_TX);
    reject(a, &t, UL_E_NOT_OWNER);
    set_policy_tx(&t, f, NS, n, &q, KEYS(f->owner, f->x[0]), UL_DOMAIN_RELEASE);
    reject(a, &t, UL_E_SIG);
    set_policy_tx(&t, f, "acme/none", n, &q, KEYS(f->owner, f->x[0]), UL_DOMAIN_TX);
    reject(a, &t, UL_E_NS_UNKNOWN);
    produce_both(f, a, r);
    policy_of(a, NS, &got, buf, sizeof buf);
    assert_false(keyset_has(&got.publishers, f->x[2]));

    set_policy_tx(&t, f, NS, n++, &q, KEYS(f->x[0], f->x[1]), UL_DOMAIN_TX);
    both(a, r, &t);
    rel_tx(&t, f, NS, 1, "board-a", UL_KIND_FEATURE, NULL, NULL, KEYS(f->x[2]));
    both(a, r, &t); /* sees the pending policy */
    produce_both(f, a, r);
    policy_of(a, NS, &got, buf, sizeof buf);
    assert_true(keyset_has(&got.publishers, f->x[2]));
    assert_int_equal(got.owners.threshold, 2);
    ul_chain_close(a);
    ul_chain_close(r);
}

/* Rotation: a rotated-out key loses its power at once; rotated-in keys hold it. */
static void test_rotation(void **state)
{
    fx *f = *state;
    ul_chain *a = open_chain(f, "a"), *r = open_chain(f, "ref");
    static ul_policy p, got;
    static uint8_t buf[UL_MAX_RECORD_BYTES];
    txbuf t;
    uint8_t id1[UL_HASH_BYTES], id[UL_HASH_BYTES];
    uint64_t n = 1;

    default_policy(&p, f->owner, f->pub);
    add_role(&p, "certifier", KEYS(f->x[0], f->x[1]), 2);
    require_role(&p, UL_KIND_FEATURE, "certifier");
    register_both(f, a, r, NS, n++, &p);
    feature_tx(&t, f, 1);
    submit_ok(a, &t, id1);
    submit_ok(r, &t, NULL);
    approve_tx(&t, f, id1, "certifier", n++, KEYS(f->x[0]), UL_DOMAIN_TX);
    both(a, r, &t);
    assert_not_installable(a, NS, "board-a");
    produce_both(f, a, r);

    /* Publishers rotated to {x4}: the old key's publish is refused, the new key's accepted. */
    rotate_tx(&t, f, NS, n, "publishers", KEYS(f->x[4]), 1, KEYS(f->other));
    reject(a, &t, UL_E_NOT_OWNER);
    rotate_tx(&t, f, NS, n, "publishers", KEYS(f->x[4]), 1, KEYS(f->pub));
    reject(a, &t, UL_E_NOT_OWNER);
    rotate_tx(&t, f, NS, n, "auditor", KEYS(f->x[4]), 1, KEYS(f->owner));
    reject(a, &t, UL_E_ROLE_UNKNOWN);
    rotate_tx(&t, f, NS, n, "publishers", KEYS(f->x[4]), 1, KEYS(f->owner));
    both(a, r, &t);
    n++;
    rel_tx(&t, f, NS, 2, "board-b", UL_KIND_SECURITY, NULL, NULL, KEYS(f->pub));
    reject(a, &t, UL_E_NOT_PUBLISHER); /* pending rotation */
    produce_both(f, a, r);
    reject(a, &t, UL_E_NOT_PUBLISHER); /* committed rotation */
    rel_tx(&t, f, NS, 2, "board-b", UL_KIND_SECURITY, NULL, NULL, KEYS(f->x[4]));
    both(a, r, &t);
    produce_both(f, a, r);

    /* The certifier role rotated to {x2, x3}, 2 of 2: x1 no longer holds it, and x0's earlier
     * approval no longer counts toward installability. */
    rotate_tx(&t, f, NS, n++, "certifier", KEYS(f->x[2], f->x[3]), 2, KEYS(f->owner));
    both(a, r, &t);
    approve_tx(&t, f, id1, "certifier", n++, KEYS(f->x[1]), UL_DOMAIN_TX);
    reject(a, &t, UL_E_NOT_ROLE);
    approve_tx(&t, f, id1, "certifier", n++, KEYS(f->x[0]), UL_DOMAIN_TX);
    reject(a, &t, UL_E_NOT_ROLE);
    produce_both(f, a, r);
    approve_tx(&t, f, id1, "certifier", n++, KEYS(f->x[2]), UL_DOMAIN_TX);
    both(a, r, &t);
    assert_int_equal(approvals(a, id1, "certifier"), 2); /* x0 is still on record */
    assert_not_installable(a, NS, "board-a");            /* but counts no more */
    approve_tx(&t, f, id1, "certifier", n++, KEYS(f->x[3]), UL_DOMAIN_TX);
    both(a, r, &t);
    assert_installable(a, NS, "board-a", id1);
    produce_both(f, a, r);

    /* Owners rotated to {x5}: the old owner can no longer rotate or change the policy. */
    rotate_tx(&t, f, NS, n++, "owners", KEYS(f->x[5]), 1, KEYS(f->owner));
    both(a, r, &t);
    rotate_tx(&t, f, NS, n, "publishers", KEYS(f->x[6]), 1, KEYS(f->owner));
    reject(a, &t, UL_E_NOT_OWNER);
    produce_both(f, a, r);
    reject(a, &t, UL_E_NOT_OWNER);
    set_policy_tx(&t, f, NS, n, &p, KEYS(f->owner), UL_DOMAIN_TX);
    reject(a, &t, UL_E_NOT_OWNER);
    transfer_tx(&t, f, NS, n, f->owner, f->pub, KEYS(f->owner), UL_DOMAIN_TRANSFER);
    reject(a, &t, UL_E_NOT_OWNER);
    rotate_tx(&t, f, NS, n++, "publishers", KEYS(f->x[6]), 1, KEYS(f->x[5]));
    both(a, r, &t);
    produce_both(f, a, r);
    policy_of(a, NS, &got, buf, sizeof buf);
    assert_int_equal(got.owners.n, 1);
    assert_true(keyset_has(&got.owners, f->x[5]));
    assert_true(keyset_has(&got.publishers, f->x[6]));
    assert_true(keyset_has(&got.roles[0].keys, f->x[3]));
    assert_false(keyset_has(&got.roles[0].keys, f->x[0]));
    uint64_t seq;
    assert_int_equal(ul_chain_latest(a, ul_span_str(NS), ul_span_str("board-b"), id, &seq), UL_OK);
    assert_int_equal(seq, 2);
    ul_chain_close(a);
    ul_chain_close(r);
}

/* Transfer: before the end of support only the owners; from it on, validators holding more than
 * 2/3 of the power (the one genesis validator holds all of it). Block time is the genesis time
 * at height 1, then the time of the last commit: NOW(h) for block h + 1. */
static void test_transfer_eos(void **state)
{
    fx *f = *state;
    ul_chain *a = open_chain(f, "a"), *r = open_chain(f, "ref");
    static ul_policy p, got;
    static uint8_t buf[UL_MAX_RECORD_BYTES];
    const uint64_t eos = T0_S + 4; /* the block time of block 5 */
    txbuf t;
    uint64_t n = 1;

    default_policy(&p, f->owner, f->pub);
    p.has_eos = true;
    p.eos = eos;
    register_both(f, a, r, NS, n++, &p);

    /* Block 2 (time eos - 3): validators are refused, owners transfer. */
    assert_int_equal(ul_chain_next_time(a) / 1000, eos - 3);
    transfer_tx(&t, f, NS, n, f->x[0], f->x[1], KEYS(f->val), UL_DOMAIN_TRANSFER);
    reject(a, &t, UL_E_EOS);
    transfer_tx(&t, f, NS, n, f->x[0], f->x[1], KEYS(f->other), UL_DOMAIN_TRANSFER);
    reject(a, &t, UL_E_NOT_OWNER);
    transfer_tx(&t, f, NS, n, f->x[0], f->x[1], KEYS(f->owner), UL_DOMAIN_TX);
    reject(a, &t, UL_E_SIG); /* transfers have their own domain */
    transfer_tx(&t, f, NS, n, f->x[0], f->x[1], KEYS(f->owner), UL_DOMAIN_RELEASE);
    reject(a, &t, UL_E_SIG);
    transfer_tx(&t, f, "acme/none", n, f->x[0], f->x[1], KEYS(f->owner), UL_DOMAIN_TRANSFER);
    reject(a, &t, UL_E_NS_UNKNOWN);
    transfer_tx(&t, f, NS, n++, f->x[0], f->x[1], KEYS(f->owner), UL_DOMAIN_TRANSFER);
    both(a, r, &t);
    rel_tx(&t, f, NS, 1, "board-a", UL_KIND_FEATURE, NULL, NULL, KEYS(f->pub));
    reject(a, &t, UL_E_NOT_PUBLISHER);
    rel_tx(&t, f, NS, 1, "board-a", UL_KIND_FEATURE, NULL, NULL, KEYS(f->x[1]));
    both(a, r, &t);
    transfer_tx(&t, f, NS, n, f->x[2], f->x[3], KEYS(f->owner), UL_DOMAIN_TRANSFER);
    reject(a, &t, UL_E_NOT_OWNER); /* no longer the owner */
    produce_both(f, a, r);
    policy_of(a, NS, &got, buf, sizeof buf);
    assert_true(keyset_has(&got.owners, f->x[0]));
    assert_true(keyset_has(&got.publishers, f->x[1]));
    assert_true(got.has_eos);
    assert_int_equal(got.eos, eos); /* the rules stay */

    /* Blocks 3 and 4 (times eos - 2, eos - 1): still too early for validators. */
    for (uint64_t left = 2; left >= 1; left--) {
        assert_int_equal(ul_chain_next_time(a) / 1000, eos - left);
        transfer_tx(&t, f, NS, n, f->x[2], f->x[3], KEYS(f->val), UL_DOMAIN_TRANSFER);
        reject(a, &t, UL_E_EOS);
        produce_both(f, a, r);
    }

    /* Block 5 (time eos): the validator transfers to a successor; strangers still cannot. */
    assert_int_equal(ul_chain_next_time(a) / 1000, eos);
    transfer_tx(&t, f, NS, n, f->x[2], f->x[3], KEYS(f->other), UL_DOMAIN_TRANSFER);
    reject(a, &t, UL_E_EOS);
    transfer_tx(&t, f, NS, n, f->x[2], f->x[3], KEYS(f->val, f->other), UL_DOMAIN_TRANSFER);
    reject(a, &t, UL_E_EOS);
    transfer_tx(&t, f, NS, n, f->x[2], f->x[3], KEYS(f->val), UL_DOMAIN_TX);
    reject(a, &t, UL_E_SIG);
    transfer_tx(&t, f, NS, n++, f->x[2], f->x[3], KEYS(f->val), UL_DOMAIN_TRANSFER);
    both(a, r, &t);
    rel_tx(&t, f, NS, 2, "board-a", UL_KIND_FEATURE, NULL, NULL, KEYS(f->x[1]));
    reject(a, &t, UL_E_NOT_PUBLISHER);
    rel_tx(&t, f, NS, 2, "board-a", UL_KIND_FEATURE, NULL, NULL, KEYS(f->x[3]));
    both(a, r, &t);
    produce_both(f, a, r);
    policy_of(a, NS, &got, buf, sizeof buf);
    assert_true(keyset_has(&got.owners, f->x[2]));
    assert_true(keyset_has(&got.publishers, f->x[3]));

    /* After the end of support the current owners may still hand over. */
    transfer_tx(&t, f, NS, n++, f->x[4], f->x[5], KEYS(f->x[2]), UL_DOMAIN_TRANSFER);
    both(a, r, &t);
    produce_both(f, a, r);
    ul_chain_close(a);
    ul_chain_close(r);
}

/* ---- keys that can never sign ------------------------------------------------------------- */

/* Adds bad to ks where it keeps the keys ascending: first for all zeros, last for all 0xff. */
static void add_bad(ul_keyset *ks, const uint8_t bad[UL_PUBKEY_BYTES])
{
    assert_true(ks->n < UL_MAX_KEYS);
    if (bad[0] == 0) {
        memmove(ks->keys[1], ks->keys[0], ks->n * UL_PUBKEY_BYTES);
    }
    memcpy(ks->keys[bad[0] == 0 ? 0 : ks->n], bad, UL_PUBKEY_BYTES);
    ks->n++;
}

/* Out: vs, the set {val: 10, bad: 1} in canonical order. */
static void valset_with_bad(ul_valset *vs, const fx *f, const uint8_t bad[UL_PUBKEY_BYTES])
{
    memset(vs, 0, sizeof *vs);
    vs->n = 2;
    size_t at = bad[0] == 0 ? 0 : 1;
    memcpy(vs->v[at].pubkey, bad, UL_PUBKEY_BYTES);
    vs->v[at].power = 1;
    memcpy(vs->v[1 - at].pubkey, ul_key_pubkey(f->val), UL_PUBKEY_BYTES);
    vs->v[1 - at].power = 10;
}

/* The transactions a hand-built tx can carry an unsignable key in (owners and publishers of a
 * register, a policy change, a role, a rotation, a transfer; a validator), each rightly signed
 * otherwise; every one refused with UL_E_KEY, nothing pending. */
static void reject_bad_key_txs(const fx *f, ul_chain *a, const ul_policy *p, uint64_t n,
                               const uint8_t bad[UL_PUBKEY_BYTES])
{
    static ul_policy q;
    static ul_valset_change vc;
    static uint8_t body[UL_MAX_VALSET_BYTES + 64];
    ul_keyset ks, good;
    size_t blen;
    txbuf t;

    for (int set = 0; set < 3; set++) {
        q = *p;
        if (set == 2) {
            add_role(&q, "certifier", KEYS(f->x[0]), 1);
        }
        add_bad(set == 0 ? &q.owners : set == 1 ? &q.publishers : &q.roles[0].keys, bad);
        reg_policy_tx(&t, f->chain_id, "acme/other", n, &q, KEYS(f->owner), UL_DOMAIN_TX);
        reject(a, &t, UL_E_KEY);
        set_policy_tx(&t, f, NS, n, &q, KEYS(f->owner), UL_DOMAIN_TX);
        reject(a, &t, UL_E_KEY);
    }
    keyset_of(&good, KEYS(f->x[1]), 1);
    keyset_of(&ks, KEYS(f->x[0]), 1);
    add_bad(&ks, bad);
    rotate_set_tx(&t, f, NS, n, "publishers", &ks, KEYS(f->owner));
    reject(a, &t, UL_E_KEY);
    rotate_set_tx(&t, f, NS, n, "owners", &ks, KEYS(f->owner));
    reject(a, &t, UL_E_KEY);
    transfer_set_tx(&t, f, NS, n, &ks, &good, KEYS(f->owner), UL_DOMAIN_TRANSFER);
    reject(a, &t, UL_E_KEY);
    transfer_set_tx(&t, f, NS, n, &good, &ks, KEYS(f->owner), UL_DOMAIN_TRANSFER);
    reject(a, &t, UL_E_KEY);
    memset(&vc, 0, sizeof vc);
    vc.nonce = n;
    valset_with_bad(&vc.validators, f, bad);
    assert_int_equal(ul_schema_valset_change_encode(body, sizeof body, &blen, &vc), UL_OK);
    ul_chainfx_tx(&t, f->chain_id, UL_TX_VALSET, body, blen, KEYS(f->val), UL_DOMAIN_TX);
    reject(a, &t, UL_E_KEY);
}

/* 32 bytes that are not an x-only point (all zeros, all 0xff) can never sign, so they never
 * enter the chain as an owner, publisher, role or validator key: each transaction carrying one
 * is refused with UL_E_KEY whoever signs it, in the pending block and after a commit, and a
 * genesis naming one as a validator opens no chain (its directory is not created). The same
 * transactions with good keys commit. */
static void test_unsignable_keys(void **state)
{
    fx *f = *state;
    ul_chain *a = open_chain(f, "a"), *r = open_chain(f, "ref"), *c = NULL;
    static ul_policy p, got;
    static ul_valset vs;
    static uint8_t g[UL_MAX_VALSET_BYTES + 256], buf[UL_MAX_RECORD_BYTES];
    char path[256];
    txbuf t;
    uint64_t n = 1;

    default_policy(&p, f->owner, f->pub);
    register_both(f, a, r, NS, n++, &p);
    for (int fill = 0; fill <= 0xff; fill += 0xff) {
        uint8_t bad[UL_PUBKEY_BYTES];
        size_t glen;
        memset(bad, fill, sizeof bad);
        reject_bad_key_txs(f, a, &p, n, bad);
        valset_with_bad(&vs, f, bad);
        ul_chainfx_genesis(g, sizeof g, &glen, NULL, "bad-genesis", T0, &vs);
        snprintf(path, sizeof path, "%s/bad-genesis-%d", f->root, fill);
        assert_int_equal(ul_chainfx_chain_open(&c, path, g, glen), UL_E_KEY);
        assert_null(c);
        assert_int_equal(access(path, F_OK), -1);
    }
    produce_both(f, a, r);
    reject_bad_key_txs(f, a, &p, n, (const uint8_t[UL_PUBKEY_BYTES]){0});
    policy_of(a, NS, &got, buf, sizeof buf);
    assert_memory_equal(&got.owners, &p.owners, sizeof p.owners);
    assert_memory_equal(&got.publishers, &p.publishers, sizeof p.publishers);
    assert_int_equal(got.n_roles, 0);
    rotate_tx(&t, f, NS, n++, "publishers", KEYS(f->x[0], f->pub), 1, KEYS(f->owner));
    both(a, r, &t);
    produce_both(f, a, r);
    ul_chain_close(a);
    ul_chain_close(r);
}

/* Every kind but publish carries a nonce per signer that must grow: a replay of each new kind
 * is refused, in the same block and after it. */
static void test_replay_new_kinds(void **state)
{
    fx *f = *state;
    ul_chain *a = open_chain(f, "a"), *r = open_chain(f, "ref");
    static ul_policy p, q;
    txbuf t;
    uint8_t id1[UL_HASH_BYTES], id2[UL_HASH_BYTES], id3[UL_HASH_BYTES];
    uint64_t nn;

    default_policy(&p, f->owner, f->pub);
    add_role(&p, "certifier", KEYS(f->x[0]), 1);
    require_role(&p, UL_KIND_FEATURE, "certifier");
    register_both(f, a, r, NS, 1, &p);
    feature_tx(&t, f, 1);
    submit_ok(a, &t, id1);
    submit_ok(r, &t, NULL);
    feature_tx(&t, f, 2);
    submit_ok(a, &t, id2);
    submit_ok(r, &t, NULL);
    feature_tx(&t, f, 3);
    submit_ok(a, &t, id3);
    submit_ok(r, &t, NULL);
    produce_both(f, a, r);

    /* Set policy (owner nonce 2): the same nonce again, and a lower one, with other content. */
    q = p;
    q.has_eos = true;
    q.eos = T0_S + 1000;
    set_policy_tx(&t, f, NS, 2, &q, KEYS(f->owner), UL_DOMAIN_TX);
    both(a, r, &t);
    q.eos++;
    set_policy_tx(&t, f, NS, 2, &q, KEYS(f->owner), UL_DOMAIN_TX);
    reject(a, &t, UL_E_REPLAY);
    set_policy_tx(&t, f, NS, 1, &q, KEYS(f->owner), UL_DOMAIN_TX);
    reject(a, &t, UL_E_REPLAY);
    /* Approve (certifier nonce 5). */
    approve_tx(&t, f, id1, "certifier", 5, KEYS(f->x[0]), UL_DOMAIN_TX);
    both(a, r, &t);
    approve_tx(&t, f, id2, "certifier", 5, KEYS(f->x[0]), UL_DOMAIN_TX);
    reject(a, &t, UL_E_REPLAY);
    approve_tx(&t, f, id2, "certifier", 4, KEYS(f->x[0]), UL_DOMAIN_TX);
    reject(a, &t, UL_E_REPLAY);
    /* Revoke (owner nonce 6). */
    revoke_tx(&t, f, id1, "first", 6, KEYS(f->owner));
    both(a, r, &t);
    revoke_tx(&t, f, id2, "second", 6, KEYS(f->owner));
    reject(a, &t, UL_E_REPLAY);
    /* Rotate (owner nonce 7). */
    rotate_tx(&t, f, NS, 7, "certifier", KEYS(f->x[0], f->x[1]), 1, KEYS(f->owner));
    both(a, r, &t);
    rotate_tx(&t, f, NS, 7, "certifier", KEYS(f->x[1]), 1, KEYS(f->owner));
    reject(a, &t, UL_E_REPLAY);
    /* Transfer (owner nonce 8), keeping the owner. */
    transfer_tx(&t, f, NS, 8, f->owner, f->x[2], KEYS(f->owner), UL_DOMAIN_TRANSFER);
    both(a, r, &t);
    transfer_tx(&t, f, NS, 8, f->owner, f->pub, KEYS(f->owner), UL_DOMAIN_TRANSFER);
    reject(a, &t, UL_E_REPLAY);
    /* A multi-signature tx is refused when any one signer's nonce is used. */
    approve_tx(&t, f, id2, "certifier", 6, KEYS(f->x[0], f->x[1]), UL_DOMAIN_TX);
    both(a, r, &t); /* x0 at 6, x1 at 6 */
    approve_tx(&t, f, id3, "certifier", 6, KEYS(f->x[1]), UL_DOMAIN_TX);
    reject(a, &t, UL_E_REPLAY);
    produce_both(f, a, r);
    assert_int_equal(ul_chain_nonce(a, ul_key_pubkey(f->owner), &nn), UL_OK);
    assert_int_equal(nn, 8);
    assert_int_equal(ul_chain_nonce(a, ul_key_pubkey(f->x[0]), &nn), UL_OK);
    assert_int_equal(nn, 6);

    /* After the commit, every used nonce stays used. */
    set_policy_tx(&t, f, NS, 8, &q, KEYS(f->owner), UL_DOMAIN_TX);
    reject(a, &t, UL_E_REPLAY);
    approve_tx(&t, f, id3, "certifier", 6, KEYS(f->x[0]), UL_DOMAIN_TX);
    reject(a, &t, UL_E_REPLAY);
    revoke_tx(&t, f, id3, "third", 8, KEYS(f->owner));
    reject(a, &t, UL_E_REPLAY);
    rotate_tx(&t, f, NS, 3, "publishers", KEYS(f->x[3]), 1, KEYS(f->owner));
    reject(a, &t, UL_E_REPLAY);
    transfer_tx(&t, f, NS, 8, f->owner, f->x[3], KEYS(f->owner), UL_DOMAIN_TRANSFER);
    reject(a, &t, UL_E_REPLAY);
    transfer_tx(&t, f, NS, 9, f->owner, f->x[3], KEYS(f->owner), UL_DOMAIN_TRANSFER);
    both(a, r, &t);
    produce_both(f, a, r);
    ul_chain_close(a);
    ul_chain_close(r);
}

/* The installable list keeps the newest releases of a class, newest first, each once; revoking
 * the newest falls back to the one before it. Approving a release that is installable already
 * (a co-signer beyond the threshold) must not enter it again: duplicates would push older
 * installable releases out of the list, and revoking the newest would then leave nothing. */
/* The list keeps UL_MAX_INSTALLABLE_KEPT entries: at the bound nothing is dropped, one past it
 * the oldest goes, newest first throughout. */
static void test_installable_list_bound(void **state)
{
    fx *f = *state;
    ul_chain *a = open_chain(f, "a"), *r = open_chain(f, "ref");
    static ul_policy p;
    txbuf t;
    uint8_t id[UL_MAX_INSTALLABLE_KEPT + 1][UL_HASH_BYTES];
    uint8_t ids[UL_MAX_INSTALLABLE_KEPT][UL_HASH_BYTES];
    uint64_t seqs[UL_MAX_INSTALLABLE_KEPT];

    default_policy(&p, f->owner, f->pub); /* no approvals required: installable at once */
    register_both(f, a, r, NS, 1, &p);
    for (uint64_t s = 1; s <= UL_MAX_INSTALLABLE_KEPT; s++) {
        feature_tx(&t, f, s);
        submit_ok(a, &t, id[s - 1]);
        submit_ok(r, &t, NULL);
    }
    assert_int_equal(installable_list(a, NS, "board-a", ids, seqs), UL_MAX_INSTALLABLE_KEPT);
    assert_int_equal(seqs[UL_MAX_INSTALLABLE_KEPT - 1], 1);
    feature_tx(&t, f, UL_MAX_INSTALLABLE_KEPT + 1);
    submit_ok(a, &t, id[UL_MAX_INSTALLABLE_KEPT]);
    submit_ok(r, &t, NULL);
    assert_int_equal(installable_list(a, NS, "board-a", ids, seqs), UL_MAX_INSTALLABLE_KEPT);
    assert_memory_equal(ids[0], id[UL_MAX_INSTALLABLE_KEPT], UL_HASH_BYTES);
    assert_int_equal(seqs[0], UL_MAX_INSTALLABLE_KEPT + 1);
    assert_int_equal(seqs[UL_MAX_INSTALLABLE_KEPT - 1], 2); /* seq 1 dropped */
    produce_both(f, a, r);
    ul_chain_close(a);
    ul_chain_close(r);
}

static void test_installable_list(void **state)
{
    fx *f = *state;
    ul_chain *a = open_chain(f, "a"), *r = open_chain(f, "ref");
    static ul_policy p;
    txbuf t;
    uint8_t id1[UL_HASH_BYTES], id2[UL_HASH_BYTES], id3[UL_HASH_BYTES];
    uint8_t ids[UL_MAX_INSTALLABLE_KEPT][UL_HASH_BYTES];
    uint64_t seqs[UL_MAX_INSTALLABLE_KEPT], n = 1;

    default_policy(&p, f->owner, f->pub);
    add_role(&p, "certifier", (const ul_key *const *)f->x, NX, 1);
    require_role(&p, UL_KIND_FEATURE, "certifier");
    register_both(f, a, r, NS, n++, &p);
    feature_tx(&t, f, 1);
    submit_ok(a, &t, id1);
    submit_ok(r, &t, NULL);
    feature_tx(&t, f, 2);
    submit_ok(a, &t, id2);
    submit_ok(r, &t, NULL);
    feature_tx(&t, f, 3);
    submit_ok(a, &t, id3);
    submit_ok(r, &t, NULL);
    approve_tx(&t, f, id2, "certifier", n++, KEYS(f->x[0]), UL_DOMAIN_TX);
    both(a, r, &t);
    approve_tx(&t, f, id1, "certifier", n++, KEYS(f->x[0]), UL_DOMAIN_TX);
    both(a, r, &t); /* approved out of order: still sorted by sequence */
    assert_int_equal(installable_list(a, NS, "board-a", ids, seqs), 2);
    assert_memory_equal(ids[0], id2, UL_HASH_BYTES);
    assert_memory_equal(ids[1], id1, UL_HASH_BYTES);
    assert_int_equal(seqs[0], 2);
    assert_int_equal(seqs[1], 1);
    produce_both(f, a, r);

    /* Revoking the newest installable falls back to the previous one (id3, not approved yet,
     * was never installable). */
    revoke_tx(&t, f, id2, "recalled", n++, KEYS(f->owner));
    both(a, r, &t);
    assert_installable(a, NS, "board-a", id1);
    assert_int_equal(installable_list(a, NS, "board-a", ids, seqs), 1);
    produce_both(f, a, r);
    assert_installable(a, NS, "board-a", id1);

    /* All NX certifiers co-sign id3: the first makes it installable, the rest only add
     * approvals. */
    for (size_t i = 0; i < NX; i++) {
        approve_tx(&t, f, id3, "certifier", n++, KEYS(f->x[i]), UL_DOMAIN_TX);
        both(a, r, &t);
    }
    assert_int_equal(approvals(a, id3, "certifier"), NX);
    assert_installable(a, NS, "board-a", id3);
    /* Approvals after the threshold must not insert id3 again (it would push id1 out). */
    assert_int_equal(installable_list(a, NS, "board-a", ids, seqs), 2);
    produce_both(f, a, r);
    revoke_tx(&t, f, id3, "recalled", n++, KEYS(f->owner));
    both(a, r, &t);
    assert_installable(a, NS, "board-a", id1);
    produce_both(f, a, r);
    ul_chain_close(a);
    ul_chain_close(r);
}

/* ---- state proofs at every past height ------------------------------------------------------ */

#define PAST_KEYS 7    /* state entries followed through the heights */
#define PAST_HEIGHTS 8 /* blocks the test commits */
#define PAST_VALUE_MAX 4096

typedef struct {
    ul_state_kind kind;
    const char *ns, *hw;
    const uint8_t *id;
} past_key;

/* What one state entry held at one height: read from the store right after that block. */
typedef struct {
    bool present;
    size_t len;
    uint8_t v[PAST_VALUE_MAX];
} past_value;

static size_t past_raw_key(uint8_t *k, const past_key *q)
{
    size_t kl = 0;
    ul_err e;
    switch (q->kind) {
    case UL_STATE_INSTALLABLE:
        e = ul_schema_statekey_installable(k, UL_KEY_MAX, &kl, ul_span_str(q->ns),
                                           ul_span_str(q->hw));
        break;
    case UL_STATE_APPROVALS:
        e = ul_schema_statekey_approvals(k, UL_KEY_MAX, &kl, q->id);
        break;
    case UL_STATE_REVOCATION:
        e = ul_schema_statekey_revocation(k, UL_KEY_MAX, &kl, q->id);
        break;
    case UL_STATE_NAMESPACE:
        e = ul_schema_statekey_ns(k, UL_KEY_MAX, &kl, ul_span_str(q->ns));
        break;
    default:
        e = ul_schema_statekey_valset(k, UL_KEY_MAX, &kl);
        break;
    }
    assert_int_equal(e, UL_OK);
    return kl;
}

/* Records what each entry holds now (the head just committed: nothing pending). */
static void past_record(ul_chain *c, const past_key *q, past_value *out)
{
    uint8_t k[UL_KEY_MAX];
    for (size_t i = 0; i < PAST_KEYS; i++) {
        ul_err e =
            ul_chain_read(c, k, past_raw_key(k, &q[i]), out[i].v, sizeof out[i].v, &out[i].len);
        assert_true(e == UL_OK || e == UL_E_NOT_FOUND);
        out[i].present = e == UL_OK;
    }
}

/* At every height 1..n, every entry's proof shows what it held then (membership with that value,
 * or non-membership), checked by the client's verifier against that header's state root. */
static void past_check(ul_chain *c, const past_key *q, past_value (*want)[PAST_KEYS], uint64_t n)
{
    static ul_state_proof p;
    for (uint64_t h = 1; h <= n; h++) {
        ul_header hd;
        ul_chainfx_header(c, h, &hd);
        for (size_t i = 0; i < PAST_KEYS; i++) {
            uint8_t k[UL_KEY_MAX], kh[UL_HASH_BYTES], want_kh[UL_HASH_BYTES], vh[UL_HASH_BYTES];
            uint8_t *value = NULL;
            size_t vlen = 0;
            const uint8_t id0[UL_HASH_BYTES] = {0};
            ul_client_sha256(want_kh, k, past_raw_key(k, &q[i]));
            ul_err e = ul_chain_state_proof(c, q[i].kind, ul_span_str(q[i].ns ? q[i].ns : ""),
                                            ul_span_str(q[i].hw ? q[i].hw : ""),
                                            q[i].id ? q[i].id : id0, h, kh, &value, &vlen, &p);
            if (e != UL_OK) {
                fail_msg("height %llu entry %zu: %s", (unsigned long long)h, i, ul_err_name(e));
            }
            assert_memory_equal(kh, want_kh, UL_HASH_BYTES);
            const past_value *w = &want[h - 1][i];
            if (!w->present) {
                assert_null(value);
                assert_int_equal(ul_client_state_verify(&p, hd.state_root, kh, NULL), UL_OK);
                continue;
            }
            assert_non_null(value);
            assert_int_equal(vlen, w->len);
            assert_memory_equal(value, w->v, vlen);
            ul_client_sha256(vh, value, vlen);
            assert_int_equal(ul_client_state_verify(&p, hd.state_root, kh, vh), UL_OK);
            assert_int_not_equal(ul_client_state_verify(&p, hd.state_root, kh, NULL), UL_OK);
            free(value);
        }
    }
}

/* Every committed state root still proves every entry as it stood at that height: the same keys
 * change block after block (installable list, approvals, revocations, the policy), appear and
 * (the installable list) empty again, and each past value is proven, not only the current one.
 * Bundles against past headers carry those past values; all of it survives a reopen. */
static void test_past_state_proofs(void **state)
{
    fx *f = *state;
    ul_chain *c = open_chain(f, "a");
    static ul_policy p;
    static past_value want[PAST_HEIGHTS][PAST_KEYS];
    txbuf t;
    uint8_t id1[UL_HASH_BYTES], id2[UL_HASH_BYTES];
    uint64_t n = 1, h = 0;

    memset(id1, 0, sizeof id1); /* not yet known: filled in by the publishes below */
    memset(id2, 0, sizeof id2);
    const past_key keys[PAST_KEYS] = {
        {UL_STATE_INSTALLABLE, NS, "board-a", NULL}, {UL_STATE_APPROVALS, NULL, NULL, id1},
        {UL_STATE_APPROVALS, NULL, NULL, id2},       {UL_STATE_REVOCATION, NULL, NULL, id1},
        {UL_STATE_REVOCATION, NULL, NULL, id2},      {UL_STATE_NAMESPACE, NS, NULL, NULL},
        {UL_STATE_VALIDATORS, NULL, NULL, NULL},
    };
    default_policy(&p, f->owner, f->pub);
    add_role(&p, "certifier", KEYS(f->x[0]), 1);
    require_role(&p, UL_KIND_FEATURE, "certifier");
    /* 1: registered. 2: seq 1 published, not yet installable. */
    reg_policy_tx(&t, f->chain_id, NS, n++, &p, KEYS(f->owner), UL_DOMAIN_TX);
    submit_ok(c, &t, NULL);
    past_record(c, keys, want[(h = produce(f, c)) - 1]);
    feature_tx(&t, f, 1);
    submit_ok(c, &t, id1);
    past_record(c, keys, want[(h = produce(f, c)) - 1]);
    /* 3: seq 1 approved (installable [1]). 4: seq 2 published and approved ([2, 1]). */
    approve_tx(&t, f, id1, "certifier", n++, KEYS(f->x[0]), UL_DOMAIN_TX);
    submit_ok(c, &t, NULL);
    past_record(c, keys, want[(h = produce(f, c)) - 1]);
    feature_tx(&t, f, 2);
    submit_ok(c, &t, id2);
    approve_tx(&t, f, id2, "certifier", n++, KEYS(f->x[0]), UL_DOMAIN_TX);
    submit_ok(c, &t, NULL);
    past_record(c, keys, want[(h = produce(f, c)) - 1]);
    /* 5: seq 2 revoked ([1]). 6: the policy changes. 7: seq 1 revoked ([]). 8: empty block. */
    revoke_tx(&t, f, id2, "recalled", n++, KEYS(f->owner));
    submit_ok(c, &t, NULL);
    past_record(c, keys, want[(h = produce(f, c)) - 1]);
    add_role(&p, "enterprise", KEYS(f->x[1]), 1);
    set_policy_tx(&t, f, NS, n++, &p, KEYS(f->owner), UL_DOMAIN_TX);
    submit_ok(c, &t, NULL);
    past_record(c, keys, want[(h = produce(f, c)) - 1]);
    revoke_tx(&t, f, id1, "recalled too", n++, KEYS(f->owner));
    submit_ok(c, &t, NULL);
    past_record(c, keys, want[(h = produce(f, c)) - 1]);
    past_record(c, keys, want[(h = produce(f, c)) - 1]);
    assert_int_equal(h, PAST_HEIGHTS);
    /* The entries did change: the installable list holds four different values over the run. */
    assert_false(want[1][0].present);
    assert_true(want[2][0].present && want[3][0].present && want[4][0].present);
    assert_int_equal(want[6][0].len, 0);
    assert_true(want[3][0].len != want[2][0].len && want[4][0].len == want[2][0].len);
    assert_true(!want[5][3].present && want[6][3].present);
    assert_true(want[4][5].len != want[5][5].len ||
                memcmp(want[4][5].v, want[5][5].v, want[4][5].len) != 0);
    past_check(c, keys, want, h);

    /* Bundles at past heights show the state of their header: seq 1 was the newest installable
     * at 3, superseded at 4, the newest again at 5 and 6 (seq 2 revoked), revoked at 7. */
    assert_int_equal(bundle_verdict(f, c, id1, "board-a", 3, NULL), UL_OK);
    assert_int_equal(bundle_verdict(f, c, id1, "board-a", 4, NULL), UL_E_NOT_INSTALLABLE);
    assert_int_equal(bundle_verdict(f, c, id2, "board-a", 4, NULL), UL_OK);
    assert_int_equal(bundle_verdict(f, c, id1, "board-a", 5, NULL), UL_OK);
    assert_int_equal(bundle_verdict(f, c, id2, "board-a", 5, NULL), UL_E_REVOKED);
    assert_int_equal(bundle_verdict(f, c, id1, "board-a", 7, NULL), UL_E_REVOKED);
    ul_chain_close(c);

    /* The history is in the store: a reopened chain proves every height the same way. */
    char dir[200];
    ul_chain *r;
    path_of(f, "a", dir, sizeof dir);
    assert_int_equal(ul_chainfx_chain_open(&r, dir, NULL, 0), UL_OK);
    past_check(r, keys, want, h);
    assert_int_equal(bundle_verdict(f, r, id1, "board-a", 3, NULL), UL_OK);
    ul_chain_close(r);
}

/* The state history as a store may hold it: missing (a data directory written before it
 * existed) or disagreeing with the tree. Values still current keep being proven; a changed one
 * is UL_E_NOT_FOUND when its version is missing and UL_E_CORRUPT when the kept bytes are not
 * the ones the root holds; non-membership needs no value at all. */
static void test_state_history_missing(void **state)
{
    fx *f = *state;
    ul_chain *c = open_chain(f, "a");
    static ul_state_proof p;
    txbuf t;
    uint8_t id1[UL_HASH_BYTES], kh[UL_HASH_BYTES], *v = NULL, prefix[1] = {UL_KEY_STATEHIST};
    size_t vl;
    const ul_span ns = ul_span_str(NS), hw = ul_span_str("board-a");

    reg_tx(&t, f->chain_id, NS, 1, f->owner, f->pub, f->owner, UL_DOMAIN_TX);
    submit_ok(c, &t, NULL);
    produce(f, c);
    pub_a(&t, f, 1, "1.0");
    submit_ok(c, &t, id1);
    produce(f, c); /* 2: installable [1] */
    pub_a(&t, f, 2, "2.0");
    submit_ok(c, &t, NULL);
    produce(f, c); /* 3: installable [2, 1] */
    ul_store *s = ul_chain_store(c);
    ul_batch *b = ul_batch_create();
    ul_store_iter *it;
    const uint8_t *k, *val;
    size_t kl, n = 0;
    assert_non_null(b);
    assert_int_equal(ul_store_iter_create(&it, s, prefix, 1, prefix, 1), UL_OK);
    while (ul_store_iter_next(it, &k, &kl, &val, &vl)) {
        assert_int_equal(kl, 1 + UL_HASH_BYTES + 8);
        ul_batch_delete(b, k, kl);
        n++;
    }
    ul_store_iter_destroy(it);
    assert_true(n >= 4); /* namespace, and per publish the list and the newest release */
    assert_int_equal(ul_store_write(s, b, true), UL_OK);

    assert_int_equal(
        ul_chain_state_proof(c, UL_STATE_INSTALLABLE, ns, hw, NULL, 3, kh, &v, &vl, &p),
        UL_OK); /* current */
    free(v);
    assert_int_equal(ul_chain_state_proof(c, UL_STATE_NAMESPACE, ns, hw, NULL, 1, kh, &v, &vl, &p),
                     UL_OK); /* unchanged since 1 */
    free(v);
    assert_int_equal(ul_chain_state_proof(c, UL_STATE_REVOCATION, ns, hw, id1, 2, kh, &v, &vl, &p),
                     UL_OK);
    assert_null(v); /* absent */
    assert_int_equal(
        ul_chain_state_proof(c, UL_STATE_INSTALLABLE, ns, hw, NULL, 2, kh, &v, &vl, &p),
        UL_E_NOT_FOUND);
    assert_null(v);

    /* A kept version whose bytes the root does not hold. */
    uint8_t hk[1 + UL_HASH_BYTES + 8], junk[40] = {1};
    hk[0] = UL_KEY_STATEHIST;
    memcpy(hk + 1, kh, UL_HASH_BYTES);
    ul_be64_put(hk + 1 + UL_HASH_BYTES, 2);
    ul_batch_clear(b);
    ul_batch_put(b, hk, sizeof hk, junk, sizeof junk);
    assert_int_equal(ul_store_write(s, b, true), UL_OK);
    assert_int_equal(
        ul_chain_state_proof(c, UL_STATE_INSTALLABLE, ns, hw, NULL, 2, kh, &v, &vl, &p),
        UL_E_CORRUPT);
    assert_null(v);
    ul_batch_destroy(b);
    ul_chain_close(c);
}

/* ---- search indexes ------------------------------------------------------------------------ */

/* Every search entry of key (up to 8) in out, oldest first, in pages of one: the cursor each page
 * gives leads to the next. Returns: how many. */
static size_t search_all(ul_chain *c, ul_search_kind kind, const uint8_t key[UL_HASH_BYTES],
                         uint8_t (*out)[UL_SEARCH_ENTRY_BYTES])
{
    uint64_t from = 0, next = 0;
    size_t total = 0, n;
    bool more = true;
    while (more && total < 8) {
        assert_int_equal(
            ul_chain_search(c, kind, key, from, false, out + total, 1, &n, &next, &more), UL_OK);
        assert_true(n <= 1);
        total += n;
        assert_true(!more || next > from);
        from = next;
    }
    return total;
}

static void assert_entry(const uint8_t *e, const uint8_t id[UL_HASH_BYTES], uint64_t height)
{
    assert_memory_equal(e, id, UL_HASH_BYTES);
    assert_int_equal(ul_be64_get(e + UL_HASH_BYTES), height);
}

/* Deletes every search index entry of the store of chain `name` (closed), and the mark that
 * they are whole: the store as a node before them wrote it. */
static void strip_search_indexes(const fx *f, const char *name)
{
    char dir[256];
    ul_store *st;
    ul_store_iter *it;
    const uint8_t *k, *v;
    size_t kl, vl, n = 0;
    ul_batch *b = ul_batch_create();
    snprintf(dir, sizeof dir, "%s/%s", f->root, name);
    assert_int_equal(ul_chainfx_store_open(&st, dir, false), UL_OK);
    for (int fam = 0; fam < 2; fam++) {
        uint8_t p = fam ? UL_KEY_SIGNER : UL_KEY_DIGEST;
        assert_int_equal(ul_store_iter_create(&it, st, &p, 1, &p, 1), UL_OK);
        while (ul_store_iter_next(it, &k, &kl, &v, &vl)) {
            ul_batch_delete(b, k, kl);
            n++;
        }
        ul_store_iter_destroy(it);
    }
    assert_int_equal(n, 3 + 4); /* a digest per release; the publisher's three, the co-signer's */
    ul_batch_delete(b, (const uint8_t *)"Msearch", 7);
    assert_int_equal(ul_store_write(st, b, true), UL_OK);
    ul_batch_destroy(b);
    ul_store_close(st);
}

/* Search by image digest and by signer key: written with the block that commits the release or
 * its approval, read a page at a time either way, and rebuilt byte for byte by block sync. */
static void test_search_indexes(void **state)
{
    fx *f = *state;
    ul_chain *a = open_chain(f, "a"), *r = open_chain(f, "ref"), *b = open_chain(f, "b");
    static ul_policy p;
    txbuf p1, p2, p3, t;
    uint8_t id1[UL_HASH_BYTES], id2[UL_HASH_BYTES], id3[UL_HASH_BYTES], dig[UL_HASH_BYTES];
    uint8_t got[8][UL_SEARCH_ENTRY_BYTES], again[8][UL_SEARCH_ENTRY_BYTES];
    uint64_t next;
    size_t n;
    bool more;

    default_policy(&p, f->owner, f->pub);
    add_role(&p, "certifier", KEYS(f->x[0]), 1);
    register_both(f, a, r, NS, 1, &p);
    /* Block 2: two releases of one image (pub_tx's digest is SHA-256 of the version), a third of
     * another. Nothing is found before the block commits. */
    pub_a(&p1, f, 1, "1.0.0");
    pub_a(&p2, f, 2, "1.0.0");
    pub_a(&p3, f, 3, "3.0.0");
    submit_ok(a, &p1, id1);
    submit_ok(a, &p2, id2);
    submit_ok(a, &p3, id3);
    ul_client_sha256(dig, (const uint8_t *)"1.0.0", 5);
    assert_int_equal(search_all(a, UL_SEARCH_DIGEST, dig, got), 0);
    assert_int_equal(produce(f, a), 2);
    assert_int_equal(search_all(a, UL_SEARCH_DIGEST, dig, got), 2);
    assert_entry(got[0], id1, 2);
    assert_entry(got[1], id2, 2);
    /* Newest first: from the newest (UINT64_MAX) down, and from a cursor. */
    assert_int_equal(
        ul_chain_search(a, UL_SEARCH_DIGEST, dig, UINT64_MAX, true, got, 1, &n, &next, &more),
        UL_OK);
    assert_int_equal(n, 1);
    assert_entry(got[0], id2, 2);
    assert_true(more);
    assert_int_equal(next, 0); /* id1's log index */
    assert_int_equal(
        ul_chain_search(a, UL_SEARCH_DIGEST, dig, next, true, got, 8, &n, &next, &more), UL_OK);
    assert_int_equal(n, 1);
    assert_entry(got[0], id1, 2);
    assert_false(more);

    /* Block 3: the certifier co-signs release 2; a stranger's approval is refused and indexes
     * nothing. The co-signer's entry names the release's own height, not the approval's. */
    approve_tx(&t, f, id2, "certifier", 1, KEYS(f->other), UL_DOMAIN_TX);
    reject(a, &t, UL_E_NOT_ROLE);
    approve_tx(&t, f, id2, "certifier", 1, KEYS(f->x[0]), UL_DOMAIN_TX);
    submit_ok(a, &t, NULL);
    assert_int_equal(produce(f, a), 3);
    assert_int_equal(search_all(a, UL_SEARCH_SIGNER, ul_key_pubkey(f->x[0]), got), 1);
    assert_entry(got[0], id2, 2);
    assert_int_equal(search_all(a, UL_SEARCH_SIGNER, ul_key_pubkey(f->pub), got), 3);
    assert_entry(got[0], id1, 2);
    assert_entry(got[1], id2, 2);
    assert_entry(got[2], id3, 2);
    assert_int_equal(search_all(a, UL_SEARCH_SIGNER, ul_key_pubkey(f->other), got), 0);
    assert_int_equal(search_all(a, UL_SEARCH_SIGNER, ul_key_pubkey(f->owner), got), 0);
    assert_int_equal(search_all(a, UL_SEARCH_DIGEST, ul_key_pubkey(f->pub), got), 0);

    /* Bounds: a page of 1..UL_MAX_SEARCH, one of the two kinds. */
    assert_int_equal(ul_chain_search(a, UL_SEARCH_DIGEST, dig, 0, false, got, 0, &n, &next, &more),
                     UL_E_ARG);
    assert_int_equal(ul_chain_search(a, UL_SEARCH_DIGEST, dig, 0, false, got, UL_MAX_SEARCH + 1, &n,
                                     &next, &more),
                     UL_E_ARG);
    assert_int_equal(
        ul_chain_search(a, (ul_search_kind)'N', dig, 0, false, got, 1, &n, &next, &more), UL_E_ARG);

    /* Block sync (apply) rebuilds the same indexes from the blocks alone. */
    for (uint64_t h = 1; h <= ul_chain_height(a); h++) {
        uint8_t *blk, *cm;
        size_t bl, cl;
        get_block(a, h, &blk, &bl, &cm, &cl);
        assert_int_equal(ul_chain_apply(b, blk, bl, cm, cl), UL_OK);
        free(blk);
        free(cm);
    }
    const uint8_t *keys[] = {dig, ul_key_pubkey(f->pub), ul_key_pubkey(f->x[0])};
    for (size_t i = 0; i < 3; i++) {
        ul_search_kind k = i == 0 ? UL_SEARCH_DIGEST : UL_SEARCH_SIGNER;
        size_t na = search_all(a, k, keys[i], got);
        assert_int_equal(search_all(b, k, keys[i], again), na);
        assert_memory_equal(got, again, na * UL_SEARCH_ENTRY_BYTES);
    }
    ul_chain_close(r);
    ul_chain_close(b);

    /* A store written before the indexes (none, and no mark): opening it builds them from its
     * transactions, the same as the blocks wrote them. */
    uint8_t want[3][8][UL_SEARCH_ENTRY_BYTES];
    size_t nwant[3];
    for (size_t i = 0; i < 3; i++) {
        nwant[i] = search_all(a, i ? UL_SEARCH_SIGNER : UL_SEARCH_DIGEST, keys[i], want[i]);
    }
    uint8_t pub[UL_PUBKEY_BYTES], x0[UL_PUBKEY_BYTES];
    memcpy(pub, ul_key_pubkey(f->pub), UL_PUBKEY_BYTES); /* keys[] outlives nothing it names */
    memcpy(x0, ul_key_pubkey(f->x[0]), UL_PUBKEY_BYTES);
    const uint8_t *keys2[] = {dig, pub, x0};
    ul_chain_close(a);
    strip_search_indexes(f, "a");
    a = open_chain(f, "a");
    for (size_t i = 0; i < 3; i++) {
        ul_search_kind k = i == 0 ? UL_SEARCH_DIGEST : UL_SEARCH_SIGNER;
        assert_int_equal(search_all(a, k, keys2[i], again), nwant[i]);
        assert_memory_equal(want[i], again, nwant[i] * UL_SEARCH_ENTRY_BYTES);
    }
    ul_chain_close(a);
}

/* The pending block's overlay keeps its keys and values in an arena: puts spanning several
 * chunks, a value larger than a chunk and keys written again all read back what was put last,
 * and a cleared overlay holds nothing and takes puts again. */
static void test_overlay_arena(void **state)
{
    (void)state;
    ul_overlay o;
    static uint8_t big[300 << 10];
    assert_int_equal(ul_overlay_init(&o), UL_OK);
    for (int round = 0; round < 2; round++) {
        for (uint32_t i = 0; i < 4000; i++) {
            uint8_t k[8], v[200];
            ul_be32_put(k, i);
            ul_be32_put(k + 4, (uint32_t)round);
            memset(v, (int)(i & 0xff), sizeof v);
            assert_int_equal(ul_overlay_put(&o, k, sizeof k, v, 1 + i % sizeof v), UL_OK);
        }
        memset(big, 0xb0 + round, sizeof big);
        assert_int_equal(ul_overlay_put(&o, (const uint8_t *)"big", 3, big, sizeof big), UL_OK);
        for (uint32_t i = 0; i < 4000; i += 7) { /* written again, shorter */
            uint8_t k[8], v = 0xee;
            ul_be32_put(k, i);
            ul_be32_put(k + 4, (uint32_t)round);
            assert_int_equal(ul_overlay_put(&o, k, sizeof k, &v, 1), UL_OK);
        }
        assert_int_equal(o.n, 4001);
        for (uint32_t i = 0; i < 4000; i++) {
            uint8_t k[8];
            ul_be32_put(k, i);
            ul_be32_put(k + 4, (uint32_t)round);
            const ul_ov_entry *e = ul_overlay_get(&o, k, sizeof k);
            assert_non_null(e);
            assert_int_equal(e->vlen, i % 7 == 0 ? 1 : 1 + i % 200);
            for (size_t j = 0; j < e->vlen; j++) {
                assert_int_equal(e->val[j], i % 7 == 0 ? 0xee : (i & 0xff));
            }
        }
        const ul_ov_entry *b = ul_overlay_get(&o, (const uint8_t *)"big", 3);
        assert_non_null(b);
        assert_int_equal(b->vlen, sizeof big);
        assert_memory_equal(b->val, big, sizeof big);
        ul_overlay_clear(&o);
        assert_int_equal(o.n, 0);
        assert_null(ul_overlay_get(&o, (const uint8_t *)"big", 3));
    }
    ul_overlay_free(&o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_register_publish_queries, setup, teardown),
        cmocka_unit_test(test_overlay_arena),
        cmocka_unit_test_setup_teardown(test_search_indexes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rejections_change_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nonce_grows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_same_block, setup, teardown),
        cmocka_unit_test_setup_teardown(test_block_full, setup, teardown),
        cmocka_unit_test_setup_teardown(test_persistence, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_missing_store, setup, teardown),
        cmocka_unit_test_setup_teardown(test_locked, setup, teardown),
        cmocka_unit_test_setup_teardown(test_apply, setup, teardown),
        cmocka_unit_test_setup_teardown(test_audit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unwritten_block_is_gone, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mem_crash_reopens_at_synced, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mem_full_disk_recovers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_produce_not_validator, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cosign_missing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cosign_threshold, setup, teardown),
        cmocka_unit_test_setup_teardown(test_publish_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dep_cycles, setup, teardown),
        cmocka_unit_test_setup_teardown(test_revoke, setup, teardown),
        cmocka_unit_test_setup_teardown(test_policy_change, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rotation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_transfer_eos, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unsignable_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replay_new_kinds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_installable_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_installable_list_bound, setup, teardown),
        cmocka_unit_test_setup_teardown(test_past_state_proofs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_state_history_missing, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
