/* Unit tests for validator-set changes: the transaction body's codec (round trip, every rejection,
 * bounds), the contract rule (> 2/3 of the current set's power), and the chain: a change accepted
 * and taking effect at the next height, each rejection leaving the chain unchanged, headers and
 * commits around a change, restart, the history queries (ul_chain_valset_at / _steps), apply and
 * audit over changes, and the single-validator producer that can no longer commit alone.
 * Multi-validator chains are committed by signing every precommit here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "chainfx.h"
#include "contracts/ul_contracts.h"
#include "ledger/ul_ledger.h"
#include "schema/internal.h" /* the CBOR writer, to build bodies the encoder refuses */

#define T0 1700000000000ULL         /* genesis time, unix ms */
#define NOW(h) (T0 + 1000ULL * (h)) /* vote time we claim for block h */
#define NK 8                        /* keys the tests hold: k[0..3] form the genesis set */

typedef ul_chainfx_txbuf txbuf;

typedef struct {
    char root[64];
    ul_key *k[NK];
    uint8_t genesis[UL_MAX_VALSET_BYTES + 256];
    size_t glen;
    uint8_t chain_id[UL_HASH_BYTES];
    ul_valset gset; /* genesis set: k0..k3, power 1 each */
} fx;

/* ---- helpers ------------------------------------------------------------------------------ */

static ul_key *test_key(unsigned n)
{
    return ul_chainfx_key("upledger valset test key", n);
}

/* Out: keys[i] = f->k[idx[i]] for i < n. */
static void keys_at(const fx *f, const ul_key **keys, const unsigned *idx, size_t n)
{
    assert_true(n <= NK);
    for (size_t i = 0; i < n; i++) {
        keys[i] = f->k[idx[i]];
    }
}

/* A set of keys k[idx[i]] with powers pw[i], sorted as canonical. */
static void set_of(const fx *f, ul_valset *vs, size_t n, const unsigned *idx, const uint64_t *pw)
{
    const ul_key *keys[NK];
    keys_at(f, keys, idx, n);
    ul_chainfx_valset(vs, keys, pw, n);
}

static void make_genesis(fx *f, const ul_valset *vs, const char *name)
{
    ul_chainfx_genesis(f->genesis, sizeof f->genesis, &f->glen, f->chain_id, name, T0, vs);
}

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    ul_chainfx_tmpdir(f->root, sizeof f->root, "valset");
    for (unsigned i = 0; i < NK; i++) {
        f->k[i] = test_key(i + 1);
    }
    set_of(f, &f->gset, 4, (unsigned[]){0, 1, 2, 3}, (uint64_t[]){1, 1, 1, 1});
    make_genesis(f, &f->gset, "valset-test");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    ul_chainfx_rm_tree(f->root);
    for (unsigned i = 0; i < NK; i++) {
        ul_key_destroy(f->k[i]);
    }
    free(f);
    return 0;
}

static ul_chain *open_chain(const fx *f, const char *name)
{
    return ul_chainfx_open(f->root, name, f->genesis, f->glen);
}

static ul_chain *reopen(const fx *f, ul_chain *c, const char *name)
{
    char dir[128];
    ul_chain_close(c);
    snprintf(dir, sizeof dir, "%s/%s", f->root, name);
    assert_int_equal(ul_chainfx_chain_open(&c, dir, NULL, 0), UL_OK);
    return c;
}

/* Wraps body in a tx of kind with one signature per signer (sorted by key). */
static void sign_tx(txbuf *t, const fx *f, uint64_t kind, const uint8_t *body, size_t blen,
                    const unsigned *signers, size_t n, ul_domain d)
{
    const ul_key *keys[NK];
    keys_at(f, keys, signers, n);
    ul_chainfx_tx(t, f->chain_id, kind, body, blen, keys, n, d);
}

/* A set change to vs with nonce, signed by keys signers[0..n). */
static void change_tx(txbuf *t, const fx *f, uint64_t nonce, const ul_valset *vs,
                      const unsigned *signers, size_t n)
{
    ul_valset_change b = {.nonce = nonce, .validators = *vs};
    uint8_t body[UL_MAX_RECORD_BYTES];
    size_t blen;
    assert_int_equal(ul_schema_valset_change_encode(body, sizeof body, &blen, &b), UL_OK);
    sign_tx(t, f, UL_TX_VALSET, body, blen, signers, n, UL_DOMAIN_TX);
}

#define SIGNERS(...) (unsigned[]){__VA_ARGS__}, sizeof((unsigned[]){__VA_ARGS__}) / sizeof(unsigned)

static ul_err submit(ul_chain *c, const txbuf *t)
{
    uint8_t id[UL_HASH_BYTES];
    return ul_chain_submit(c, t->b, t->len, id);
}

/* A commit of (h, hash) by the members of vs among keys signers[0..n) (index = place in vs). */
static void sign_commit(const fx *f, const ul_valset *vs, uint64_t h,
                        const uint8_t hash[UL_HASH_BYTES], const unsigned *signers, size_t n,
                        uint8_t *out, size_t cap, size_t *len)
{
    const ul_key *keys[NK];
    keys_at(f, keys, signers, n);
    ul_chainfx_commit(out, cap, len, f->chain_id, vs, h, hash, keys, n, NOW(h));
}

/* Seals the pending block (proposer: the first validator of the set that signs it) and commits it
 * with precommits signed as members of vs (NULL: that set). Out: the sealed header (optional). */
static ul_err commit_with(const fx *f, ul_chain *c, const ul_valset *vs, const unsigned *signers,
                          size_t n, ul_header *hdr)
{
    const ul_key *keys[NK];
    keys_at(f, keys, signers, n);
    return ul_chainfx_seal_commit(c, vs, keys, n, NOW(ul_chain_height(c) + 1), hdr, NULL);
}

static void head_hash(ul_chain *c, uint8_t out[UL_HASH_BYTES])
{
    uint8_t *hdr;
    size_t len;
    if (ul_chain_height(c) == 0) {
        memcpy(out, ul_chain_id(c), UL_HASH_BYTES);
        return;
    }
    assert_int_equal(ul_chain_header_bytes(c, ul_chain_height(c), &hdr, &len), UL_OK);
    ul_client_sha256(out, hdr, len);
    free(hdr);
}

static void vhash(uint8_t out[UL_HASH_BYTES], const ul_valset *vs)
{
    assert_int_equal(ul_client_valset_hash(out, vs), UL_OK);
}

static void assert_same_set(const ul_valset *a, const ul_valset *b)
{
    uint8_t x[UL_HASH_BYTES], y[UL_HASH_BYTES];
    vhash(x, a);
    vhash(y, b);
    assert_memory_equal(x, y, UL_HASH_BYTES);
}

/* What a rejection must not change. */
typedef struct {
    uint64_t height;
    size_t pending;
    uint8_t head[UL_HASH_BYTES];
    uint8_t vals[UL_HASH_BYTES];
} snapshot;

static void snap(ul_chain *c, snapshot *s)
{
    s->height = ul_chain_height(c);
    s->pending = ul_chain_pending_count(c);
    head_hash(c, s->head);
    vhash(s->vals, ul_chain_valset(c));
}

static void reject(ul_chain *c, const txbuf *t, ul_err want)
{
    snapshot before, after;
    snap(c, &before);
    assert_int_equal(submit(c, t), want);
    snap(c, &after);
    assert_memory_equal(&before, &after, sizeof before);
}

/* ---- schema: the set-change body ------------------------------------------------------------ */

static void write_validator(ul_cbor_writer *w, const uint8_t *key, size_t klen, uint64_t power)
{
    ul_cbor_put_array(w, 2);
    ul_cbor_put_bytes(w, key, klen);
    ul_cbor_put_uint(w, power);
}

/* Body bytes {1: nonce, 2: [[key_i, power_i]...]} written as given (not validated). */
static size_t raw_body(uint8_t *out, size_t cap, uint64_t nonce, const ul_valset *vs, size_t n)
{
    ul_cbor_writer w;
    ul_cbor_writer_init(&w, out, cap);
    ul_cbor_put_map(&w, 2);
    ul_cbor_put_uint(&w, 1);
    ul_cbor_put_uint(&w, nonce);
    ul_cbor_put_uint(&w, 2);
    ul_cbor_put_array(&w, n);
    for (size_t i = 0; i < n; i++) {
        write_validator(&w, vs->v[i].pubkey, UL_PUBKEY_BYTES, vs->v[i].power);
    }
    assert_int_equal(w.err, UL_OK);
    return w.len;
}

/* Body bytes with count validators of power 1, keys 1..count ascending (count may pass the
 * limit: the writer does not check). */
static size_t raw_body_big(uint8_t *out, size_t cap, size_t count)
{
    ul_cbor_writer w;
    ul_cbor_writer_init(&w, out, cap);
    ul_cbor_put_map(&w, 2);
    ul_cbor_put_uint(&w, 1);
    ul_cbor_put_uint(&w, 1);
    ul_cbor_put_uint(&w, 2);
    ul_cbor_put_array(&w, count);
    for (size_t i = 0; i < count; i++) {
        uint8_t key[UL_PUBKEY_BYTES] = {0};
        key[30] = (uint8_t)((i + 1) >> 8);
        key[31] = (uint8_t)(i + 1);
        write_validator(&w, key, sizeof key, 1);
    }
    assert_int_equal(w.err, UL_OK);
    return w.len;
}

/* n validators with keys 1..n (big-endian in the last bytes: ascending) and the given power. */
static void big_set(ul_valset *vs, size_t n, uint64_t power)
{
    memset(vs, 0, sizeof *vs);
    vs->n = n;
    for (size_t i = 0; i < n && i < UL_MAX_VALIDATORS; i++) {
        vs->v[i].pubkey[30] = (uint8_t)((i + 1) >> 8);
        vs->v[i].pubkey[31] = (uint8_t)(i + 1);
        vs->v[i].power = power;
    }
}

static void test_schema_round_trip(void **state)
{
    (void)state;
    static ul_valset_change v, d;
    static uint8_t out[UL_MAX_RECORD_BYTES], out2[UL_MAX_RECORD_BYTES];
    size_t n, n2;
    for (size_t count = 1; count <= UL_MAX_VALIDATORS; count += UL_MAX_VALIDATORS - 1) {
        big_set(&v.validators, count, count == 1 ? UL_MAX_TOTAL_POWER : 7);
        v.nonce = count == 1 ? 0 : UINT64_MAX;
        assert_int_equal(ul_schema_valset_change_encode(out, sizeof out, &n, &v), UL_OK);
        assert_int_equal(ul_schema_valset_change_decode(&d, out, n), UL_OK);
        assert_int_equal(d.nonce, v.nonce);
        assert_int_equal(d.validators.n, count);
        assert_memory_equal(&d.validators.v[0], &v.validators.v[0], count * sizeof(ul_validator));
        assert_int_equal(ul_schema_valset_change_encode(out2, sizeof out2, &n2, &d), UL_OK);
        assert_int_equal(n2, n);
        assert_memory_equal(out2, out, n);
        /* The body is raw_body's layout: the codec adds nothing of its own. */
        assert_int_equal(raw_body(out2, sizeof out2, v.nonce, &v.validators, count), n);
        assert_memory_equal(out2, out, n);
        /* Too small a buffer, one byte short. */
        assert_int_equal(ul_schema_valset_change_encode(out2, n - 1, &n2, &v), UL_E_BUFFER);
    }
    /* The largest set with 8 signatures fits one transaction; kind 8 is known, past the last
     * kind is not. */
    ul_tx t = {.kind = UL_TX_VALSET, .body = {out, n}, .n_sigs = UL_MAX_SIGS};
    for (size_t i = 0; i < UL_MAX_SIGS; i++) {
        memset(t.sigs[i].pubkey, (int)i + 1, UL_PUBKEY_BYTES);
    }
    static uint8_t tx[UL_MAX_TX_BYTES];
    ul_tx dt;
    assert_int_equal(ul_schema_tx_encode(tx, sizeof tx, &n2, &t), UL_OK);
    assert_int_equal(ul_schema_tx_decode(&dt, tx, n2), UL_OK);
    assert_int_equal(dt.kind, UL_TX_VALSET);
    t.kind = UL_TX_KIND_MAX_ + 1;
    assert_int_equal(ul_schema_tx_encode(tx, sizeof tx, &n2, &t), UL_E_TX_KIND);
}

/* Each rule of the new set, through the decoder (raw bytes) and the encoder (a struct). */
static void test_schema_rejections(void **state)
{
    (void)state;
    static ul_valset_change v, d;
    static uint8_t out[2 * UL_MAX_RECORD_BYTES];
    size_t n, len;
    big_set(&v.validators, 3, 1);
    v.nonce = 5;
    /* empty */
    len = raw_body(out, sizeof out, 5, &v.validators, 0);
    assert_int_equal(ul_schema_valset_change_decode(&d, out, len), UL_E_VALSET_CHANGE);
    v.validators.n = 0;
    assert_int_equal(ul_schema_valset_change_encode(out, sizeof out, &n, &v), UL_E_VALSET_CHANGE);
    /* duplicate key, then unsorted keys */
    big_set(&v.validators, 3, 1);
    v.validators.v[2].pubkey[31] = v.validators.v[1].pubkey[31];
    len = raw_body(out, sizeof out, 5, &v.validators, 3);
    assert_int_equal(ul_schema_valset_change_decode(&d, out, len), UL_E_VALSET_CHANGE);
    assert_int_equal(ul_schema_valset_change_encode(out, sizeof out, &n, &v), UL_E_VALSET_CHANGE);
    big_set(&v.validators, 3, 1);
    v.validators.v[0].pubkey[31] = 9;
    len = raw_body(out, sizeof out, 5, &v.validators, 3);
    assert_int_equal(ul_schema_valset_change_decode(&d, out, len), UL_E_VALSET_CHANGE);
    /* zero power */
    big_set(&v.validators, 3, 1);
    v.validators.v[1].power = 0;
    len = raw_body(out, sizeof out, 5, &v.validators, 3);
    assert_int_equal(ul_schema_valset_change_decode(&d, out, len), UL_E_VALSET_CHANGE);
    assert_int_equal(ul_schema_valset_change_encode(out, sizeof out, &n, &v), UL_E_VALSET_CHANGE);
    /* a 31-byte key */
    ul_cbor_writer w;
    ul_cbor_writer_init(&w, out, sizeof out);
    ul_cbor_put_map(&w, 2);
    ul_cbor_put_uint(&w, 1);
    ul_cbor_put_uint(&w, 5);
    ul_cbor_put_uint(&w, 2);
    ul_cbor_put_array(&w, 1);
    write_validator(&w, v.validators.v[0].pubkey, UL_PUBKEY_BYTES - 1, 1);
    assert_int_equal(ul_schema_valset_change_decode(&d, out, w.len), UL_E_VALSET_CHANGE);
    /* Validators not an array; nonce missing; an unknown field 3; nonce 5 in two bytes. */
    static const char *const bad[] = {
        "a20105020a",
        "a10281825820000000000000000000000000000000000000000000000000000000000000000101",
        "a3010502818258200000000000000000000000000000000000000000000000000000000000000001010300",
        "a20118050281825820000000000000000000000000000000000000000000000000000000000000000101",
    };
    static const ul_err want[] = {UL_E_CBOR_TYPE, UL_E_SCHEMA_FIELD, UL_E_SCHEMA_FIELD,
                                  UL_E_CBOR_NONCANONICAL};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        size_t hl = strlen(bad[i]) / 2;
        assert_int_equal(ul_hex_decode(out, hl, bad[i]), UL_OK);
        assert_int_equal(ul_schema_valset_change_decode(&d, out, hl), want[i]);
    }
    big_set(&v.validators, 2, 1);
    len = raw_body(out, sizeof out, 5, &v.validators, 2);
    out[len] = 0x00;
    assert_int_equal(ul_schema_valset_change_decode(&d, out, len + 1), UL_E_CBOR_TRAILING);
    assert_int_equal(ul_schema_valset_change_decode(&d, out, len), UL_OK);
}

/* Bounds: UL_MAX_VALIDATORS members and UL_MAX_TOTAL_POWER, at the bound and one past it. */
static void test_schema_bounds(void **state)
{
    (void)state;
    static ul_valset_change v, d;
    static uint8_t out[2 * UL_MAX_RECORD_BYTES];
    size_t n, len;
    big_set(&v.validators, UL_MAX_VALIDATORS, 1);
    assert_int_equal(ul_schema_valset_change_encode(out, sizeof out, &n, &v), UL_OK);
    v.validators.n = UL_MAX_VALIDATORS + 1;
    assert_int_equal(ul_schema_valset_change_encode(out, sizeof out, &n, &v), UL_E_LIMIT);
    /* 64 and 65 on the wire */
    len = raw_body_big(out, sizeof out, UL_MAX_VALIDATORS);
    assert_int_equal(ul_schema_valset_change_decode(&d, out, len), UL_OK);
    len = raw_body_big(out, sizeof out, UL_MAX_VALIDATORS + 1);
    assert_int_equal(ul_schema_valset_change_decode(&d, out, len), UL_E_LIMIT);
    /* total power: 2^59 + 2^59 is the bound; one more is past it */
    big_set(&v.validators, 2, UL_MAX_TOTAL_POWER / 2);
    assert_int_equal(ul_schema_valset_change_encode(out, sizeof out, &n, &v), UL_OK);
    v.validators.v[1].power++;
    assert_int_equal(ul_schema_valset_change_encode(out, sizeof out, &n, &v), UL_E_LIMIT);
    len = raw_body(out, sizeof out, 1, &v.validators, 2);
    assert_int_equal(ul_schema_valset_change_decode(&d, out, len), UL_E_LIMIT);
    big_set(&v.validators, 1, UL_MAX_TOTAL_POWER + 1);
    len = raw_body(out, sizeof out, 1, &v.validators, 1);
    assert_int_equal(ul_schema_valset_change_decode(&d, out, len), UL_E_LIMIT);
    /* a body above the record bound is refused before it is parsed */
    memset(out, 0, UL_MAX_RECORD_BYTES + 1);
    assert_int_equal(ul_schema_valset_change_decode(&d, out, UL_MAX_RECORD_BYTES + 1), UL_E_LIMIT);
}

/* ---- the contract rule ---------------------------------------------------------------------- */

static void test_contract_rule(void **state)
{
    fx *f = *state;
    ul_valset vs;
    ul_sig s[UL_MAX_SIGS];
    set_of(f, &vs, 4, (unsigned[]){0, 1, 2, 3}, (uint64_t[]){1, 2, 3, 6}); /* total 12 */
    memset(s, 0, sizeof s);
    /* Every subset: accepted exactly when its power is above 8. */
    for (unsigned mask = 0; mask < 16; mask++) {
        size_t n = 0;
        uint64_t power = 0;
        for (unsigned i = 0; i < 4; i++) {
            if (mask & (1u << i)) {
                memcpy(s[n++].pubkey, vs.v[i].pubkey, UL_PUBKEY_BYTES);
                power += vs.v[i].power;
            }
        }
        assert_int_equal(ul_policy_validators(&vs, s, n), power * 3 > 24 ? UL_OK : UL_E_QUORUM);
    }
    /* A non-member among enough members is refused; a repeated member counts once. */
    memcpy(s[0].pubkey, ul_key_pubkey(f->k[3]), UL_PUBKEY_BYTES); /* power 6 */
    memcpy(s[1].pubkey, ul_key_pubkey(f->k[2]), UL_PUBKEY_BYTES); /* power 3 */
    memcpy(s[2].pubkey, ul_key_pubkey(f->k[5]), UL_PUBKEY_BYTES);
    assert_int_equal(ul_policy_validators(&vs, s, 3), UL_E_VALIDATOR);
    assert_int_equal(ul_policy_validators(&vs, s, 2), UL_OK);
    memcpy(s[1].pubkey, s[0].pubkey, UL_PUBKEY_BYTES);
    assert_int_equal(ul_policy_validators(&vs, s, 2), UL_E_QUORUM); /* 6 + 6 counted as 6 */
    assert_int_equal(ul_policy_validators(&vs, s, 0), UL_E_QUORUM);
}

/* ---- chain: a change and its headers --------------------------------------------------------- */

static void test_change_accepted(void **state)
{
    fx *f = *state;
    ul_chain *c = open_chain(f, "a");
    ul_valset next, got;
    ul_header h1, h2;
    txbuf t;
    uint8_t gh[UL_HASH_BYTES], nh[UL_HASH_BYTES];
    set_of(f, &next, 3, (unsigned[]){0, 1, 4}, (uint64_t[]){1, 1, 2});
    vhash(gh, &f->gset);
    vhash(nh, &next);
    change_tx(&t, f, 1, &next, SIGNERS(0, 1, 2)); /* 3 of 4 */
    assert_int_equal(submit(c, &t), UL_OK);
    assert_same_set(ul_chain_valset(c), &f->gset); /* still pending */
    assert_int_equal(commit_with(f, c, NULL, SIGNERS(0, 1, 2), &h1), UL_OK);
    assert_memory_equal(h1.validators_hash, gh, UL_HASH_BYTES);
    assert_memory_equal(h1.next_validators_hash, nh, UL_HASH_BYTES);
    assert_same_set(ul_chain_valset(c), &next);

    /* Block 2 is signed by the new set: the old set's commit (3 of its 4) is refused and drops
     * the block; the new set's (k0 + k4 = 3 of 4) commits it. */
    assert_int_not_equal(commit_with(f, c, &f->gset, SIGNERS(0, 1, 2), NULL), UL_OK);
    assert_int_equal(ul_chain_height(c), 1);
    assert_int_equal(ul_chain_pending_count(c), 0);
    assert_int_equal(commit_with(f, c, NULL, SIGNERS(0, 1), NULL), UL_E_QUORUM); /* 2 of 4 */
    assert_int_equal(commit_with(f, c, NULL, SIGNERS(0, 4), &h2), UL_OK);
    assert_memory_equal(h2.validators_hash, nh, UL_HASH_BYTES);
    assert_memory_equal(h2.next_validators_hash, nh, UL_HASH_BYTES);
    ul_chainfx_header(c, 1, &h1);
    assert_memory_equal(h1.next_validators_hash, h2.validators_hash, UL_HASH_BYTES);

    /* History: height 1 was signed by genesis, 2 and 3 by the new set; steps: block 1 only. */
    assert_int_equal(ul_chain_valset_at(c, 1, &got), UL_OK);
    assert_same_set(&got, &f->gset);
    assert_int_equal(ul_chain_valset_at(c, 2, &got), UL_OK);
    assert_same_set(&got, &next);
    assert_int_equal(ul_chain_valset_at(c, 3, &got), UL_OK);
    assert_same_set(&got, &next);
    assert_int_equal(ul_chain_valset_at(c, 4, &got), UL_E_NOT_FOUND);
    assert_int_equal(ul_chain_valset_at(c, 0, &got), UL_E_NOT_FOUND);
    uint64_t steps[4], from;
    size_t n;
    assert_int_equal(ul_chain_valset_steps(c, 2, steps, 4, &n), UL_OK);
    assert_int_equal(n, 1);
    assert_int_equal(steps[0], 1);
    assert_int_equal(ul_chain_valset_since(c, 3, &got, &from), UL_OK);
    assert_int_equal(from, 2);
    ul_chain_close(c);
}

/* Every way a change can be wrong is refused and leaves height, head, pending and set alone. */
static void test_change_rejected(void **state)
{
    fx *f = *state;
    ul_chain *c = open_chain(f, "a");
    ul_valset next, bad;
    txbuf t;
    uint8_t body[2 * UL_MAX_RECORD_BYTES];
    size_t blen;
    set_of(f, &next, 2, (unsigned[]){0, 4}, (uint64_t[]){1, 1});
    assert_int_equal(commit_with(f, c, NULL, SIGNERS(0, 1, 2), NULL), UL_OK); /* a head */

    change_tx(&t, f, 1, &next, SIGNERS(0, 1)); /* 2 of 4: not more than 2/3 */
    reject(c, &t, UL_E_QUORUM);
    change_tx(&t, f, 1, &next, SIGNERS(0, 1, 5)); /* k5 is no validator */
    reject(c, &t, UL_E_VALIDATOR);
    change_tx(&t, f, 1, &next, SIGNERS(4, 5, 6));
    reject(c, &t, UL_E_VALIDATOR);
    change_tx(&t, f, 1, &f->gset, SIGNERS(0, 1, 2)); /* the current set again */
    reject(c, &t, UL_E_VALSET_CHANGE);
    change_tx(&t, f, 1, &next, SIGNERS(0, 1, 2));
    t.b[t.len - 1] ^= 0x01; /* a bad signature */
    reject(c, &t, UL_E_SIG);
    ul_valset_change vc = {.nonce = 1, .validators = next};
    assert_int_equal(ul_schema_valset_change_encode(body, sizeof body, &blen, &vc), UL_OK);
    sign_tx(&t, f, UL_TX_VALSET, body, blen, SIGNERS(0, 1, 2), UL_DOMAIN_TRANSFER);
    reject(c, &t, UL_E_SIG); /* signed under another domain */

    /* Invalid sets, signed by a quorum: empty, duplicate key, zero power, over the limit. */
    bad = next;
    blen = raw_body(body, sizeof body, 1, &bad, 0);
    sign_tx(&t, f, UL_TX_VALSET, body, blen, SIGNERS(0, 1, 2), UL_DOMAIN_TX);
    reject(c, &t, UL_E_VALSET_CHANGE);
    memcpy(bad.v[1].pubkey, bad.v[0].pubkey, UL_PUBKEY_BYTES);
    blen = raw_body(body, sizeof body, 1, &bad, 2);
    sign_tx(&t, f, UL_TX_VALSET, body, blen, SIGNERS(0, 1, 2), UL_DOMAIN_TX);
    reject(c, &t, UL_E_VALSET_CHANGE);
    bad = next;
    bad.v[0].power = 0;
    blen = raw_body(body, sizeof body, 1, &bad, 2);
    sign_tx(&t, f, UL_TX_VALSET, body, blen, SIGNERS(0, 1, 2), UL_DOMAIN_TX);
    reject(c, &t, UL_E_VALSET_CHANGE);
    blen = raw_body_big(body, sizeof body, UL_MAX_VALIDATORS + 1);
    sign_tx(&t, f, UL_TX_VALSET, body, blen, SIGNERS(0, 1, 2), UL_DOMAIN_TX);
    reject(c, &t, UL_E_LIMIT);
    assert_int_equal(ul_chain_height(c), 1);
    ul_chain_close(c);
}

/* Replayed changes and a second change in one block are refused. */
static void test_replay_and_second_change(void **state)
{
    fx *f = *state;
    ul_chain *c = open_chain(f, "a");
    ul_valset a, b;
    txbuf ta, tb, tr;
    set_of(f, &a, 4, (unsigned[]){0, 1, 2, 4}, (uint64_t[]){1, 1, 1, 1});
    set_of(f, &b, 4, (unsigned[]){0, 1, 2, 5}, (uint64_t[]){1, 1, 1, 1});
    change_tx(&ta, f, 1, &a, SIGNERS(0, 1, 2));
    change_tx(&tb, f, 2, &b, SIGNERS(0, 1, 3));
    assert_int_equal(submit(c, &ta), UL_OK);
    reject(c, &tb, UL_E_VALSET_CHANGE); /* one change per block */
    reject(c, &ta, UL_E_REPLAY);        /* the same tx again: nonce 1 is used */
    assert_int_equal(commit_with(f, c, NULL, SIGNERS(0, 1, 2), NULL), UL_OK);
    assert_same_set(ul_chain_valset(c), &a);
    reject(c, &ta, UL_E_REPLAY);
    change_tx(&tr, f, 2, &a, SIGNERS(0, 1, 2));
    reject(c, &tr, UL_E_VALSET_CHANGE); /* a is now the current set */
    change_tx(&tr, f, 1, &b, SIGNERS(0, 1, 2));
    reject(c, &tr, UL_E_REPLAY);                /* a fresh tx with a used nonce */
    change_tx(&tr, f, 2, &b, SIGNERS(0, 1, 3)); /* k3 left the set */
    reject(c, &tr, UL_E_VALIDATOR);
    change_tx(&tr, f, 2, &b, SIGNERS(0, 1, 4));
    assert_int_equal(submit(c, &tr), UL_OK);
    ul_chain_close(c);
}

/* The set survives close/open; so does the BFT time of a head block that changed the set. */
static void test_restart(void **state)
{
    fx *f = *state;
    ul_chain *c = open_chain(f, "a");
    ul_valset next;
    txbuf t;
    set_of(f, &next, 2, (unsigned[]){4, 5}, (uint64_t[]){1, 1});
    change_tx(&t, f, 1, &next, SIGNERS(0, 1, 2));
    assert_int_equal(submit(c, &t), UL_OK);
    c = reopen(f, c, "a"); /* pending change lost with its block */
    assert_same_set(ul_chain_valset(c), &f->gset);
    assert_int_equal(submit(c, &t), UL_OK);
    assert_int_equal(commit_with(f, c, NULL, SIGNERS(0, 1, 2, 3), NULL), UL_OK);
    /* Four votes of power 1 at +0..+3 ms: the BFT time is the third. Reopened, it must still be
     * weighed by the set that signed the head, not by the new one (whose 2 members cannot even
     * hold indexes 2 and 3). */
    assert_int_equal(ul_chain_next_time(c), NOW(1) + 2);
    c = reopen(f, c, "a");
    assert_same_set(ul_chain_valset(c), &next);
    assert_int_equal(ul_chain_next_time(c), NOW(1) + 2);
    assert_int_not_equal(commit_with(f, c, &f->gset, SIGNERS(0, 1, 2, 3), NULL), UL_OK);
    assert_int_equal(commit_with(f, c, NULL, SIGNERS(4, 5), NULL), UL_OK);
    c = reopen(f, c, "a");
    assert_int_equal(ul_chain_height(c), 2);
    assert_same_set(ul_chain_valset(c), &next);
    ul_chain_close(c);

    /* A stored current set that is not the one the head names next is damage. */
    char dir[128];
    ul_store *st;
    ul_batch *b = ul_batch_create();
    uint8_t v[UL_MAX_VALSET_BYTES], k[UL_STATEKEY_MAX_BYTES];
    size_t vl, kl;
    snprintf(dir, sizeof dir, "%s/a", f->root);
    assert_non_null(b);
    assert_int_equal(ul_schema_valset_encode(v, sizeof v, &vl, &f->gset), UL_OK);
    assert_int_equal(ul_schema_statekey_valset(k, sizeof k, &kl), UL_OK);
    for (int garbage = 0; garbage < 2; garbage++) {
        assert_int_equal(ul_chainfx_store_open(&st, dir, false), UL_OK);
        ul_batch_put(b, k, kl, v, garbage ? vl - 1 : vl);
        assert_int_equal(ul_store_write(st, b, true), UL_OK);
        ul_batch_clear(b);
        ul_store_close(st);
        assert_int_equal(ul_chainfx_chain_open(&c, dir, NULL, 0), UL_E_CORRUPT);
    }
    ul_batch_destroy(b);
}

/* ---- history, apply, audit ------------------------------------------------------------------- */

/* Chain with changes made by blocks 2, 4 and 5 over 7 blocks: G (genesis) -> A -> B -> C. */
static ul_chain *build_history(const fx *f, const char *name, ul_valset sets[4])
{
    ul_chain *c = open_chain(f, name);
    txbuf t;
    sets[0] = f->gset;
    set_of(f, &sets[1], 3, (unsigned[]){0, 1, 4}, (uint64_t[]){1, 1, 5});
    set_of(f, &sets[2], 2, (unsigned[]){4, 5}, (uint64_t[]){2, 1});
    set_of(f, &sets[3], 1, (unsigned[]){6}, (uint64_t[]){9});
    assert_int_equal(commit_with(f, c, NULL, SIGNERS(0, 1, 2), NULL), UL_OK);
    change_tx(&t, f, 1, &sets[1], SIGNERS(0, 1, 2));
    assert_int_equal(submit(c, &t), UL_OK);
    assert_int_equal(commit_with(f, c, NULL, SIGNERS(0, 1, 2, 3), NULL), UL_OK); /* 2 */
    assert_int_equal(commit_with(f, c, NULL, SIGNERS(4, 0), NULL), UL_OK);
    change_tx(&t, f, 2, &sets[2], SIGNERS(4, 1));
    assert_int_equal(submit(c, &t), UL_OK);
    assert_int_equal(commit_with(f, c, NULL, SIGNERS(4), NULL), UL_OK); /* 4 */
    change_tx(&t, f, 3, &sets[3], SIGNERS(4, 5));
    assert_int_equal(submit(c, &t), UL_OK);
    assert_int_equal(commit_with(f, c, NULL, SIGNERS(4, 5), NULL), UL_OK); /* 5 */
    assert_int_equal(commit_with(f, c, NULL, SIGNERS(6), NULL), UL_OK);
    assert_int_equal(commit_with(f, c, NULL, SIGNERS(6), NULL), UL_OK); /* 7 */
    return c;
}

/* Each header's state root proves the set that signs the next height (absent before the first
 * change), and the node shows the value each root holds, past ones included. */
static void check_state_proofs(ul_chain *c, const ul_valset sets[4], const size_t *at)
{
    static ul_state_proof proof;
    for (uint64_t h = 1; h <= 7; h++) {
        uint8_t kh[UL_HASH_BYTES], vh[UL_HASH_BYTES], enc[UL_MAX_VALSET_BYTES], *value = NULL;
        size_t vl, el;
        ul_header hd;
        ul_err e = ul_chain_state_proof(c, UL_STATE_VALIDATORS, (ul_span){0}, (ul_span){0}, NULL, h,
                                        kh, &value, &vl, &proof);
        assert_int_equal(e, UL_OK);
        ul_chainfx_header(c, h, &hd);
        assert_int_equal(ul_schema_valset_encode(enc, sizeof enc, &el, &sets[at[h + 1]]), UL_OK);
        ul_client_sha256(vh, enc, el);
        assert_int_equal(ul_client_state_verify(&proof, hd.state_root, kh, h == 1 ? NULL : vh),
                         UL_OK);
        assert_int_not_equal(ul_client_state_verify(&proof, hd.state_root, kh, h == 1 ? vh : NULL),
                             UL_OK);
        if (value) {
            assert_int_equal(vl, el);
            assert_memory_equal(value, enc, el);
        }
        assert_true((value != NULL) == (h >= 2));
        free(value);
    }
    uint64_t two[2];
    size_t n;
    assert_int_equal(ul_chain_valset_steps(c, 7, two, 2, &n), UL_E_LIMIT);
    assert_int_equal(ul_chain_valset_steps(c, 4, two, 2, &n), UL_OK); /* exactly at cap */
    assert_int_equal(n, 2);
    assert_int_equal(ul_chain_valset_steps(c, 0, two, 2, &n), UL_OK);
    assert_int_equal(n, 0);
}

static void test_history(void **state)
{
    fx *f = *state;
    ul_valset sets[4], got;
    ul_chain *c = build_history(f, "a", sets);
    /* The set signing each height 1..8 (8: the next block). */
    const size_t at[] = {0, 0, 0, 1, 1, 2, 3, 3, 3};
    const uint64_t want_steps[] = {2, 4, 5};
    for (uint64_t h = 1; h <= 8; h++) {
        uint64_t from;
        assert_int_equal(ul_chain_valset_since(c, h, &got, &from), UL_OK);
        assert_same_set(&got, &sets[at[h]]);
        assert_int_equal(from, at[h] == 0 ? 1 : want_steps[at[h] - 1] + 1);
        if (h <= 7) { /* headers name it: validators_hash, and next_ changes at the steps */
            ul_header hd;
            uint8_t x[UL_HASH_BYTES];
            ul_chainfx_header(c, h, &hd);
            vhash(x, &got);
            assert_memory_equal(hd.validators_hash, x, UL_HASH_BYTES);
            vhash(x, &sets[at[h + 1]]);
            assert_memory_equal(hd.next_validators_hash, x, UL_HASH_BYTES);
        }
        uint64_t steps[3];
        size_t n, expect = 0;
        while (expect < 3 && want_steps[expect] <= h && h <= 7) {
            expect++;
        }
        if (h <= 7) {
            assert_int_equal(ul_chain_valset_steps(c, h, steps, 3, &n), UL_OK);
            assert_int_equal(n, expect);
            assert_memory_equal(steps, want_steps, n * sizeof steps[0]);
        } else {
            assert_int_equal(ul_chain_valset_steps(c, h, steps, 3, &n), UL_E_NOT_FOUND);
        }
    }
    assert_same_set(ul_chain_valset(c), &sets[3]);
    assert_int_equal(ul_chain_valset_at(c, 9, &got), UL_E_NOT_FOUND);

    check_state_proofs(c, sets, at);
    ul_chain_close(c);
}

/* Applying every block of a chain with changes to a fresh node yields the same chain. */
static void test_apply(void **state)
{
    fx *f = *state;
    ul_valset sets[4];
    ul_chain *a = build_history(f, "a", sets), *b = open_chain(f, "b");
    for (uint64_t h = 1; h <= ul_chain_height(a); h++) {
        uint8_t *blk, *cm;
        size_t bl, cl;
        assert_int_equal(ul_chain_block_bytes(a, h, &blk, &bl), UL_OK);
        assert_int_equal(ul_chain_commit_bytes(a, h, &cm, &cl), UL_OK);
        if (h == 3) { /* block 3 with block 2's commit: another block, another signing set */
            uint8_t *cm2;
            size_t cl2;
            assert_int_equal(ul_chain_commit_bytes(a, 2, &cm2, &cl2), UL_OK);
            assert_int_not_equal(ul_chain_apply(b, blk, bl, cm2, cl2), UL_OK);
            free(cm2);
        }
        assert_int_equal(ul_chain_apply(b, blk, bl, cm, cl), UL_OK);
        free(blk);
        free(cm);
    }
    uint8_t ha[UL_HASH_BYTES], hb[UL_HASH_BYTES];
    head_hash(a, ha);
    head_hash(b, hb);
    assert_memory_equal(ha, hb, UL_HASH_BYTES);
    assert_same_set(ul_chain_valset(b), &sets[3]);
    ul_chain_close(a);
    ul_chain_close(b);
}

typedef struct {
    ul_chain *c;
    const fx *f;
    uint64_t bad_height; /* 0: none */
    int what;            /* 1: next_validators_hash, 2: validators_hash, 3: old-set commit */
    const ul_valset *old;
} source;

/* Block h re-encoded with one header field changed, and a commit for it by the set signing h. */
static void tamper(const source *s, uint64_t h, uint8_t **blk, size_t *blen, uint8_t **cm,
                   size_t *clen)
{
    ul_span *txs = calloc(UL_MAX_BLOCK_TXS, sizeof *txs);
    uint8_t hdr[UL_MAX_HEADER_BYTES], hash[UL_HASH_BYTES];
    size_t hl;
    ul_block b;
    ul_header hd;
    ul_valset signers;
    assert_non_null(txs);
    assert_int_equal(ul_schema_block_decode(&b, txs, UL_MAX_BLOCK_TXS, *blk, *blen), UL_OK);
    assert_int_equal(ul_schema_header_decode(&hd, b.header.ptr, b.header.len), UL_OK);
    (s->what == 1 ? hd.next_validators_hash : hd.validators_hash)[0] ^= 0x01;
    assert_int_equal(ul_schema_header_encode(hdr, sizeof hdr, &hl, &hd), UL_OK);
    ul_client_sha256(hash, hdr, hl);
    uint8_t *nb = malloc(*blen + 64), *nc = malloc(UL_MAX_COMMIT_BYTES);
    assert_true(nb && nc);
    assert_int_equal(ul_schema_block_encode(nb, *blen + 64, blen, (ul_span){hdr, hl}, txs, b.n_txs),
                     UL_OK);
    assert_int_equal(ul_chain_valset_at(s->c, h, &signers), UL_OK);
    sign_commit(s->f, &signers, h, hash, SIGNERS(0, 1, 2, 3, 4, 5, 6), nc, UL_MAX_COMMIT_BYTES,
                clen);
    free(*blk);
    free(*cm);
    free(txs);
    *blk = nb;
    *cm = nc;
}

static ul_err src_block(void *arg, uint64_t h, uint8_t **blk, size_t *blen, uint8_t **cm,
                        size_t *clen)
{
    source *s = arg;
    ul_err e = ul_chainfx_block(s->c, h, blk, blen, cm, clen);
    if (e != UL_OK) {
        return e;
    }
    if (h == s->bad_height && s->what < 3) {
        tamper(s, h, blk, blen, cm, clen);
    } else if (h == s->bad_height) { /* the block as is, signed by the set before the change */
        ul_block b;
        static ul_span txs[UL_MAX_BLOCK_TXS];
        uint8_t hash[UL_HASH_BYTES];
        assert_int_equal(ul_schema_block_decode(&b, txs, UL_MAX_BLOCK_TXS, *blk, *blen), UL_OK);
        ul_client_sha256(hash, b.header.ptr, b.header.len);
        free(*cm);
        *cm = malloc(UL_MAX_COMMIT_BYTES);
        assert_non_null(*cm);
        sign_commit(s->f, s->old, h, hash, SIGNERS(0, 1, 2, 3, 4, 5, 6), *cm, UL_MAX_COMMIT_BYTES,
                    clen);
    }
    return UL_OK;
}

static ul_err audit(const fx *f, source *s, const char *name, ul_audit_result *res)
{
    char scratch[128];
    snprintf(scratch, sizeof scratch, "%s/%s", f->root, name);
    ul_err e = ul_audit_run(f->genesis, f->glen, src_block, s, scratch, NULL, NULL, res);
    ul_chainfx_rm_tree(scratch);
    return e;
}

static void test_audit(void **state)
{
    fx *f = *state;
    ul_valset sets[4];
    ul_chain *a = build_history(f, "a", sets);
    ul_audit_result res;
    source s = {a, f, 0, 0, NULL};
    assert_int_equal(audit(f, &s, "s0", &res), UL_OK);
    assert_int_equal(res.height, 7);
    /* A header whose next set is not the one its block made (2: a change; 3: none), or whose
     * signing set is not the current one (3, 6). */
    const uint64_t heights[] = {2, 3, 5, 6};
    for (size_t i = 0; i < 4; i++) {
        for (int what = 1; what <= 2; what++) {
            s = (source){a, f, heights[i], what, NULL};
            assert_int_equal(audit(f, &s, "s1", &res), UL_E_VALSET_CHANGE);
            assert_int_equal(res.fail_height, heights[i]);
            assert_int_equal(res.height, heights[i] - 1);
        }
    }
    /* Block 3 (after the change in 2) and block 6 committed by the set before their change. */
    s = (source){a, f, 3, 3, &sets[0]};
    assert_int_not_equal(audit(f, &s, "s2", &res), UL_OK);
    assert_int_equal(res.fail_height, 3);
    s = (source){a, f, 6, 3, &sets[2]};
    assert_int_not_equal(audit(f, &s, "s3", &res), UL_OK);
    assert_int_equal(res.fail_height, 6);
    ul_chain_close(a);
}

/* ---- the single-validator producer ----------------------------------------------------------- */

static void test_produce(void **state)
{
    fx *f = *state;
    ul_valset one, most, least;
    txbuf t;
    uint64_t h;
    set_of(f, &one, 1, (unsigned[]){0}, (uint64_t[]){1});
    make_genesis(f, &one, "valset-produce");
    set_of(f, &most, 2, (unsigned[]){0, 1}, (uint64_t[]){3, 1});  /* k0: 75% */
    set_of(f, &least, 2, (unsigned[]){0, 1}, (uint64_t[]){2, 1}); /* k0: exactly 2/3 */
    ul_chain *c = open_chain(f, "p");
    change_tx(&t, f, 1, &most, SIGNERS(0));
    assert_int_equal(submit(c, &t), UL_OK);
    assert_int_equal(ul_chain_produce(c, f->k[0], NOW(1), &h), UL_OK);
    assert_int_equal(ul_chain_produce(c, f->k[0], NOW(2), &h), UL_OK); /* k0 still commits */
    assert_int_equal(h, 2);
    assert_int_equal(ul_chain_produce(c, f->k[1], NOW(3), &h), UL_E_QUORUM);
    assert_int_equal(ul_chain_produce(c, f->k[2], NOW(3), &h), UL_E_VALIDATOR);
    change_tx(&t, f, 2, &least, SIGNERS(0)); /* 3 of 4 signs it */
    assert_int_equal(submit(c, &t), UL_OK);
    assert_int_equal(ul_chain_produce(c, f->k[0], NOW(3), &h), UL_OK);
    assert_same_set(ul_chain_valset(c), &least);
    /* Now k0 alone cannot commit: refused, nothing committed, the pending block dropped. */
    change_tx(&t, f, 3, &most, SIGNERS(0));
    assert_int_equal(submit(c, &t), UL_E_QUORUM);
    assert_int_equal(ul_chain_produce(c, f->k[0], NOW(4), &h), UL_E_QUORUM);
    assert_int_equal(ul_chain_height(c), 3);
    assert_int_equal(ul_chain_pending_count(c), 0);
    change_tx(&t, f, 3, &most, SIGNERS(0, 1)); /* both can still change it back */
    assert_int_equal(submit(c, &t), UL_OK);
    assert_int_equal(commit_with(f, c, NULL, SIGNERS(0, 1), NULL), UL_OK);
    assert_int_equal(ul_chain_produce(c, f->k[0], NOW(5), &h), UL_OK);
    ul_chain_close(c);
}

/* A transfer after the end of support is decided by the current set, not the genesis one. */
static void test_transfer_uses_current_set(void **state)
{
    fx *f = *state;
    ul_chain *c = open_chain(f, "a");
    ul_valset next;
    txbuf t;
    static ul_register r;
    static ul_transfer x;
    uint8_t body[UL_MAX_RECORD_BYTES];
    size_t blen;
    set_of(f, &next, 1, (unsigned[]){5}, (uint64_t[]){1});
    memset(&r, 0, sizeof r);
    r.ns = ul_span_str("acme/widget");
    r.nonce = 1;
    r.policy.owners = (ul_keyset){.n = 1, .threshold = 1};
    memcpy(r.policy.owners.keys[0], ul_key_pubkey(f->k[7]), UL_PUBKEY_BYTES);
    r.policy.publishers = r.policy.owners;
    r.policy.n_revokers = 1;
    r.policy.revokers[0] = ul_span_str("owners");
    r.policy.has_eos = true;
    r.policy.eos = T0 / 1000; /* already over */
    assert_int_equal(ul_schema_register_encode(body, sizeof body, &blen, &r), UL_OK);
    sign_tx(&t, f, UL_TX_REGISTER, body, blen, SIGNERS(7), UL_DOMAIN_TX);
    assert_int_equal(submit(c, &t), UL_OK);
    change_tx(&t, f, 1, &next, SIGNERS(0, 1, 2));
    assert_int_equal(submit(c, &t), UL_OK);
    assert_int_equal(commit_with(f, c, NULL, SIGNERS(0, 1, 2), NULL), UL_OK);
    memset(&x, 0, sizeof x);
    x.ns = r.ns;
    x.nonce = 2;
    x.owners = r.policy.owners;
    memcpy(x.owners.keys[0], ul_key_pubkey(f->k[6]), UL_PUBKEY_BYTES);
    x.publishers = x.owners;
    assert_int_equal(ul_schema_transfer_encode(body, sizeof body, &blen, &x), UL_OK);
    sign_tx(&t, f, UL_TX_TRANSFER, body, blen, SIGNERS(0, 1, 2), UL_DOMAIN_TRANSFER);
    reject(c, &t, UL_E_EOS); /* the old validators no longer decide */
    sign_tx(&t, f, UL_TX_TRANSFER, body, blen, SIGNERS(5), UL_DOMAIN_TRANSFER);
    assert_int_equal(submit(c, &t), UL_OK);
    ul_chain_close(c);
}

/* ---- the store's reverse seek ---------------------------------------------------------------- */

static void test_store_floor(void **state)
{
    fx *f = *state;
    char dir[128];
    ul_store *s;
    ul_batch *b = ul_batch_create();
    uint8_t k[9], found[16], *v;
    size_t fl, vl;
    const uint8_t fam[1] = {'V'};
    snprintf(dir, sizeof dir, "%s/store", f->root);
    assert_non_null(b);
    assert_int_equal(ul_chainfx_store_open(&s, dir, true), UL_OK);
    /* Empty database. */
    k[0] = 'V';
    ul_be64_put(k + 1, 5);
    assert_int_equal(ul_store_get_floor(s, fam, 1, k, 9, found, sizeof found, &fl, &v, &vl),
                     UL_E_NOT_FOUND);
    const uint64_t at[] = {3, 7};
    for (size_t i = 0; i < 2; i++) {
        ul_be64_put(k + 1, at[i]);
        ul_batch_put(b, k, 9, (const uint8_t *)"xy", 1 + i);
    }
    ul_batch_put(b, (const uint8_t *)"A", 1, (const uint8_t *)"a", 1); /* before the family */
    assert_int_equal(ul_store_write(s, b, false), UL_OK);
    /* key -> the floor in the family (or none); 'V' is the last family first, then not. */
    for (int pass = 0; pass < 2; pass++) {
        const uint64_t ask[] = {0, 2, 3, 5, 7, 100};
        const uint64_t want[] = {0, 0, 3, 3, 7, 7};
        for (size_t i = 0; i < 6; i++) {
            ul_be64_put(k + 1, ask[i]);
            ul_err e = ul_store_get_floor(s, fam, 1, k, 9, found, sizeof found, &fl, &v, &vl);
            if (want[i] == 0) {
                assert_int_equal(e, UL_E_NOT_FOUND);
                continue;
            }
            assert_int_equal(e, UL_OK);
            assert_int_equal(fl, 9);
            assert_int_equal(ul_be64_get(found + 1), want[i]);
            assert_int_equal(vl, want[i] == 3 ? 1 : 2);
            free(v);
        }
        ul_batch_clear(b);
        ul_batch_put(b, (const uint8_t *)"W", 1, (const uint8_t *)"w", 1); /* after it */
        assert_int_equal(ul_store_write(s, b, false), UL_OK);
    }
    assert_int_equal(ul_store_get_floor(s, fam, 1, k, 9, found, 8, &fl, &v, &vl), UL_E_CORRUPT);
    ul_batch_destroy(b);
    ul_store_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_schema_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_schema_rejections, setup, teardown),
        cmocka_unit_test_setup_teardown(test_schema_bounds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_contract_rule, setup, teardown),
        cmocka_unit_test_setup_teardown(test_change_accepted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_change_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replay_and_second_change, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_history, setup, teardown),
        cmocka_unit_test_setup_teardown(test_apply, setup, teardown),
        cmocka_unit_test_setup_teardown(test_audit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_produce, setup, teardown),
        cmocka_unit_test_setup_teardown(test_transfer_uses_current_set, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_floor, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
