/* Unit tests for the consensus steps of ledger/ chain: preparing (executing and sealing) a
 * proposed block without committing it, the sealed block's bytes, replacing the head's stored
 * commit by another for the same block, the signature cache and the mempool's stateless check.
 * Four validators of power 10: any three make a quorum, two do not. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "chainfx.h"
#include "ledger/internal.h" /* the signature cache and its miss counter */
#include "ledger/ul_ledger.h"

#define T0 1700000000000ULL /* genesis time, unix ms */
#define NV 4                /* validators */
#define NK 8                /* other keys: owners and publishers */

typedef ul_chainfx_txbuf txbuf;

typedef struct {
    char root[64];
    ul_key *val[NV];
    ul_key *k[NK];
    ul_valset vs;
    uint8_t genesis[4096];
    size_t glen;
    uint8_t chain_id[UL_HASH_BYTES];
} fx;

/* ---- helpers ------------------------------------------------------------------------------ */

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    uint64_t power[NV];

    assert_non_null(f);
    ul_chainfx_tmpdir(f->root, sizeof f->root, "prepare");
    for (unsigned i = 0; i < NV; i++) {
        f->val[i] = ul_chainfx_key("upledger prepare test", 1 + i);
        power[i] = 10;
    }
    for (unsigned i = 0; i < NK; i++) {
        f->k[i] = ul_chainfx_key("upledger prepare test", 100 + i);
    }
    ul_chainfx_valset(&f->vs, (const ul_key *const *)f->val, power, NV);
    ul_chainfx_genesis(f->genesis, sizeof f->genesis, &f->glen, f->chain_id, "prepare-chain", T0,
                       &f->vs);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;

    ul_chainfx_rm_tree(f->root);
    for (unsigned i = 0; i < NV; i++) {
        ul_key_destroy(f->val[i]);
    }
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
    ul_chain_close(c);
    return open_chain(f, name);
}

/* A register tx of ns (owner k[2i], publisher k[2i+1], each threshold 1), signed by the owner. */
static void reg_tx(txbuf *t, const fx *f, const char *ns, unsigned i, uint64_t nonce)
{
    static ul_register r;
    uint8_t body[UL_MAX_RECORD_BYTES];
    size_t blen;
    const ul_key *owner = f->k[2 * i];

    memset(&r, 0, sizeof r);
    r.ns = ul_span_str(ns);
    r.nonce = nonce;
    r.policy.owners.n = 1;
    r.policy.owners.threshold = 1;
    memcpy(r.policy.owners.keys[0], ul_key_pubkey(owner), UL_PUBKEY_BYTES);
    r.policy.publishers.n = 1;
    r.policy.publishers.threshold = 1;
    memcpy(r.policy.publishers.keys[0], ul_key_pubkey(f->k[2 * i + 1]), UL_PUBKEY_BYTES);
    r.policy.n_revokers = 1;
    r.policy.revokers[0] = ul_span_str("owners");
    assert_int_equal(ul_schema_register_encode(body, sizeof body, &blen, &r), UL_OK);
    ul_chainfx_tx(t, f->chain_id, UL_TX_REGISTER, body, blen, &owner, 1, UL_DOMAIN_TX);
}

/* A publish of (ns, seq) for hardware class "board-a", signed by ns's publisher k[2i+1]. */
static void pub_tx(txbuf *t, const fx *f, const char *ns, unsigned i, uint64_t seq)
{
    ul_release r;
    uint8_t body[UL_MAX_RECORD_BYTES];
    size_t blen;
    char version[32];
    const ul_key *publisher = f->k[2 * i + 1];

    snprintf(version, sizeof version, "1.0.%u", (unsigned)seq);
    memset(&r, 0, sizeof r);
    r.ns = ul_span_str(ns);
    r.provider = ul_span_str("Acme Corp");
    r.time = 1700000000;
    r.version = ul_span_str(version);
    r.seq = seq;
    ul_client_sha256(r.digest, (const uint8_t *)version, strlen(version));
    r.size = 4096;
    r.file = ul_span_str("widget.bin");
    r.n_hw = 1;
    r.hw[0] = ul_span_str("board-a");
    r.kind = UL_KIND_FEATURE;
    assert_int_equal(ul_schema_release_encode(body, sizeof body, &blen, &r), UL_OK);
    ul_chainfx_tx(t, f->chain_id, UL_TX_PUBLISH, body, blen, &publisher, 1, UL_DOMAIN_RELEASE);
}

/* t with one bit of its first signature flipped: other bytes, a signature that cannot verify. */
static void tamper_sig(txbuf *out, const txbuf *t)
{
    *out = *t;
    out->b[out->len - 1] ^= 0x01; /* the last byte is the last signature's */
}

static ul_err submit(ul_chain *c, const txbuf *t)
{
    uint8_t id[UL_HASH_BYTES];
    return ul_chain_submit(c, t->b, t->len, id);
}

/* Seals c's pending block as proposed by validator 0 at the chain's next time. Out: its bytes
 * (malloc'd) and hash. */
static void propose(ul_chain *c, uint8_t **blk, size_t *blen, uint8_t hash[UL_HASH_BYTES])
{
    uint8_t again[UL_HASH_BYTES];
    assert_int_equal(
        ul_chain_seal(c, ul_chain_valset(c)->v[0].pubkey, ul_chain_next_time(c), NULL, hash),
        UL_OK);
    assert_true(ul_chain_sealed(c, again));
    assert_memory_equal(again, hash, UL_HASH_BYTES);
    assert_int_equal(ul_chain_pending_block(c, blk, blen), UL_OK);
}

/* A commit of (h, hash) by the validators whose indexes (into f->val) are in who[0..n), the
 * k-th of them (in set order) voting at time_ms + k. */
static void make_commit(const fx *f, uint8_t *out, size_t *len, uint64_t h,
                        const uint8_t hash[UL_HASH_BYTES], const unsigned *who, size_t n,
                        uint64_t time_ms)
{
    const ul_key *signers[NV];
    for (size_t i = 0; i < n; i++) {
        signers[i] = f->val[who[i]];
    }
    ul_chainfx_commit(out, UL_MAX_COMMIT_BYTES, len, f->chain_id, &f->vs, h, hash, signers, n,
                      time_ms);
}

/* The BFT time of canonical commit cm against the genesis set. */
static uint64_t bft_time(const fx *f, const uint8_t *cm, size_t len)
{
    ul_commit c;
    assert_int_equal(ul_schema_commit_decode(&c, cm, len), UL_OK);
    return ul_client_commit_time(&c, &f->vs);
}

static void head_hash(ul_chain *c, uint8_t out[UL_HASH_BYTES])
{
    uint8_t *hdr;
    size_t len;
    assert_int_equal(ul_chain_header_bytes(c, ul_chain_height(c), &hdr, &len), UL_OK);
    ul_client_sha256(out, hdr, len);
    free(hdr);
}

/* Every key and value of a's store equals b's. */
static void assert_same_store(ul_chain *a, ul_chain *b)
{
    ul_store_iter *ia, *ib;
    const uint8_t *ka, *va, *kb, *vb;
    size_t kla, vla, klb, vlb, n = 0;
    assert_int_equal(ul_store_iter_create(&ia, ul_chain_store(a), NULL, 0, NULL, 0), UL_OK);
    assert_int_equal(ul_store_iter_create(&ib, ul_chain_store(b), NULL, 0, NULL, 0), UL_OK);
    for (;;) {
        bool more_a = ul_store_iter_next(ia, &ka, &kla, &va, &vla);
        bool more_b = ul_store_iter_next(ib, &kb, &klb, &vb, &vlb);
        assert_int_equal(more_a, more_b);
        if (!more_a) {
            break;
        }
        assert_int_equal(kla, klb);
        assert_memory_equal(ka, kb, kla);
        assert_int_equal(vla, vlb);
        assert_memory_equal(va, vb, vla);
        n++;
    }
    assert_true(n > 10); /* genesis, head, header, commit, txs, indexes, state, log nodes */
    ul_store_iter_destroy(ia);
    ul_store_iter_destroy(ib);
}

/* The commit bytes c stores for height h equal cm[len]. */
static void assert_stored_commit(ul_chain *c, uint64_t h, const uint8_t *cm, size_t len)
{
    uint8_t *got;
    size_t glen;
    assert_int_equal(ul_chain_commit_bytes(c, h, &got, &glen), UL_OK);
    assert_int_equal(glen, len);
    assert_memory_equal(got, cm, len);
    free(got);
}

/* Re-encodes block blk with header field changes applied by edit (the txs unchanged). */
static void edit_header(uint8_t **blk, size_t *blen, void (*edit)(ul_header *))
{
    static ul_span txs[UL_MAX_BLOCK_TXS];
    ul_block b;
    ul_header h;
    uint8_t hdr[UL_MAX_HEADER_BYTES];
    size_t hl, cap = *blen + 64;
    uint8_t *out = malloc(cap);
    assert_non_null(out);
    assert_int_equal(ul_schema_block_decode(&b, txs, UL_MAX_BLOCK_TXS, *blk, *blen), UL_OK);
    assert_int_equal(ul_schema_header_decode(&h, b.header.ptr, b.header.len), UL_OK);
    edit(&h);
    assert_int_equal(ul_schema_header_encode(hdr, sizeof hdr, &hl, &h), UL_OK);
    assert_int_equal(ul_schema_block_encode(out, cap, blen, (ul_span){hdr, hl}, txs, b.n_txs),
                     UL_OK);
    free(*blk);
    *blk = out;
}

/* Re-encodes block blk with its tx i replaced by t (the header unchanged). */
static void edit_tx(uint8_t **blk, size_t *blen, size_t i, const txbuf *t)
{
    static ul_span txs[UL_MAX_BLOCK_TXS];
    ul_block b;
    size_t cap = *blen + t->len + 64;
    uint8_t *out = malloc(cap);
    assert_non_null(out);
    assert_int_equal(ul_schema_block_decode(&b, txs, UL_MAX_BLOCK_TXS, *blk, *blen), UL_OK);
    assert_true(i < b.n_txs);
    txs[i] = (ul_span){t->b, t->len};
    assert_int_equal(ul_schema_block_encode(out, cap, blen, b.header, txs, b.n_txs), UL_OK);
    free(*blk);
    *blk = out;
}

static void later(ul_header *h)
{
    h->time_ms++;
}
static void other_state(ul_header *h)
{
    h->state_root[0] ^= 1;
}
static void other_prev(ul_header *h)
{
    h->prev[0] ^= 1;
}
static void stranger(ul_header *h)
{
    memset(h->proposer, 0x77, UL_PUBKEY_BYTES);
}

static const unsigned Q012[] = {0, 1, 2}, Q123[] = {1, 2, 3}, Q01[] = {0, 1};

/* ---- prepare ------------------------------------------------------------------------------ */

/* A block prepared then committed leaves the same store as the same block applied, and as the
 * proposer that built it: block, commit, txs, indexes, state, log. */
static void test_prepare_commit_equals_apply(void **state)
{
    fx *f = *state;
    static txbuf t[3];
    uint8_t *blk, hash[UL_HASH_BYTES], got[UL_HASH_BYTES], cm[UL_MAX_COMMIT_BYTES];
    size_t blen, clen;
    ul_chain *a = open_chain(f, "pa"), *b = open_chain(f, "pb"), *c = open_chain(f, "pc");

    reg_tx(&t[0], f, "acme/one", 0, 1);
    reg_tx(&t[1], f, "acme/two", 1, 1);
    pub_tx(&t[2], f, "acme/one", 0, 1);
    for (uint64_t h = 1; h <= 2; h++) {
        if (h == 1) {
            for (size_t i = 0; i < 3; i++) {
                assert_int_equal(submit(a, &t[i]), UL_OK);
            }
        }
        propose(a, &blk, &blen, hash);
        make_commit(f, cm, &clen, h, hash, Q012, 3, T0 + 1000 * h);
        assert_int_equal(ul_chain_commit(a, cm, clen), UL_OK);

        assert_false(ul_chain_sealed(b, NULL));
        assert_int_equal(ul_chain_prepare(b, blk, blen, got), UL_OK);
        assert_memory_equal(got, hash, UL_HASH_BYTES);
        memset(got, 0, sizeof got);
        assert_true(ul_chain_sealed(b, got));
        assert_memory_equal(got, hash, UL_HASH_BYTES);
        assert_int_equal(ul_chain_pending_count(b), h == 1 ? 3 : 0);
        assert_int_equal(ul_chain_height(b), h - 1);   /* prepared, not committed */
        assert_int_equal(submit(b, &t[0]), UL_E_BUSY); /* sealed: nothing more goes in */
        assert_int_equal(ul_chain_commit(b, cm, clen), UL_OK);
        assert_false(ul_chain_sealed(b, NULL));

        assert_int_equal(ul_chain_apply(c, blk, blen, cm, clen), UL_OK);
        free(blk);
    }
    assert_int_equal(ul_chain_height(b), 2);
    assert_int_equal(ul_chain_log_size(b), 1);
    head_hash(a, hash);
    head_hash(b, got);
    assert_memory_equal(hash, got, UL_HASH_BYTES);
    head_hash(c, got);
    assert_memory_equal(hash, got, UL_HASH_BYTES);
    assert_same_store(a, b);
    assert_same_store(b, c);
    ul_chain_close(a);
    ul_chain_close(b);
    ul_chain_close(c);
}

/* Checks that c's pending block is empty and its head is still (height, head). */
static void assert_untouched(ul_chain *c, uint64_t height, const uint8_t head[UL_HASH_BYTES])
{
    uint8_t got[UL_HASH_BYTES];
    assert_false(ul_chain_sealed(c, NULL));
    assert_int_equal(ul_chain_pending_count(c), 0);
    assert_int_equal(ul_chain_height(c), height);
    if (height > 0) {
        head_hash(c, got);
        assert_memory_equal(got, head, UL_HASH_BYTES);
    }
}

/* A block whose header or txs are not what its txs make, or for another height, is refused
 * with the code naming the difference, and the follower keeps its head with nothing pending
 * (what it had pending before is dropped either way). */
/* A ul_tx_known_fn for a node whose pool holds none of a block's txs. */
static bool knows_nothing(void *ctx, const uint8_t *tx, size_t len, ul_txhash *h)
{
    (void)ctx, (void)tx, (void)len, (void)h;
    return false;
}

static void test_prepare_rejects(void **state)
{
    fx *f = *state;
    static txbuf t[2], bad, other;
    uint8_t *blk, *blk2, *x, hash[UL_HASH_BYTES], cm[UL_MAX_COMMIT_BYTES];
    size_t blen, blen2, xlen, clen;
    ul_chain *a = open_chain(f, "ra"), *b = open_chain(f, "rb");

    reg_tx(&t[0], f, "acme/one", 0, 1);
    reg_tx(&t[1], f, "acme/two", 1, 1);
    reg_tx(&other, f, "acme/three", 2, 1);
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(submit(a, &t[i]), UL_OK);
    }
    propose(a, &blk, &blen, hash);
    make_commit(f, cm, &clen, 1, hash, Q012, 3, T0 + 1000);
    assert_int_equal(ul_chain_commit(a, cm, clen), UL_OK);
    propose(a, &blk2, &blen2, hash); /* block 2, empty */

    static const struct {
        void (*edit)(ul_header *);
        ul_err want;
    } hdr_cases[] = {
        {later, UL_E_TIME}, {other_state, UL_E_ROOT_MISMATCH}, {other_prev, UL_E_HEADER_LINK}};
    for (size_t i = 0; i < sizeof hdr_cases / sizeof hdr_cases[0]; i++) {
        x = malloc(blen);
        assert_non_null(x);
        memcpy(x, blk, blen);
        xlen = blen;
        edit_header(&x, &xlen, hdr_cases[i].edit);
        assert_int_equal(submit(b, &other), UL_OK);
        assert_int_equal(ul_chain_prepare(b, x, xlen, hash), hdr_cases[i].want);
        assert_untouched(b, 0, NULL);
        free(x);
    }
    /* A tx whose signature does not verify; another (valid) tx than the header's. */
    tamper_sig(&bad, &t[1]);
    for (int k = 0; k < 2; k++) {
        x = malloc(blen);
        assert_non_null(x);
        memcpy(x, blk, blen);
        xlen = blen;
        edit_tx(&x, &xlen, 1, k == 0 ? &bad : &other);
        assert_int_equal(submit(b, &other), UL_OK);
        ul_err want = k == 0 ? UL_E_SIG : UL_E_TX_ROOT;
        assert_int_equal(ul_chain_prepare(b, x, xlen, hash), want);
        assert_untouched(b, 0, NULL);
        /* Asked through a pool, prepare checks the tx root before any signature: either tx is
         * refused as not the header's, and no signature is verified (no cache look-up missed). */
        assert_int_equal(submit(b, &other), UL_OK);
        uint64_t m0 = b->sigcache.misses;
        assert_int_equal(ul_chain_prepare_known(b, x, xlen, knows_nothing, NULL, hash),
                         UL_E_TX_ROOT);
        assert_int_equal(b->sigcache.misses, m0);
        assert_untouched(b, 0, NULL);
        free(x);
    }
    /* Block 2 before block 1; garbage. */
    assert_int_equal(submit(b, &other), UL_OK);
    assert_int_equal(ul_chain_prepare(b, blk2, blen2, hash), UL_E_HEIGHT);
    assert_untouched(b, 0, NULL);
    assert_int_not_equal(ul_chain_prepare(b, blk, blen - 1, hash), UL_OK);
    assert_untouched(b, 0, NULL);

    /* The genuine block still prepares; once committed, it is the wrong height. */
    assert_int_equal(ul_chain_prepare(b, blk, blen, hash), UL_OK);
    assert_int_equal(ul_chain_commit(b, cm, clen), UL_OK);
    uint8_t head[UL_HASH_BYTES];
    head_hash(b, head);
    assert_int_equal(ul_chain_prepare(b, blk, blen, hash), UL_E_HEIGHT);
    assert_untouched(b, 1, head);
    /* A proposer outside the set. */
    x = malloc(blen2);
    assert_non_null(x);
    memcpy(x, blk2, blen2);
    xlen = blen2;
    edit_header(&x, &xlen, stranger);
    assert_int_equal(ul_chain_prepare(b, x, xlen, hash), UL_E_VALIDATOR);
    assert_untouched(b, 1, head);
    free(x);
    /* A failed commit of a prepared block drops it too. */
    assert_int_equal(ul_chain_prepare(b, blk2, blen2, hash), UL_OK);
    make_commit(f, cm, &clen, 2, hash, Q01, 2, T0 + 2000);
    assert_int_equal(ul_chain_commit(b, cm, clen), UL_E_QUORUM);
    assert_untouched(b, 1, head);
    free(blk);
    free(blk2);
    ul_chain_close(a);
    ul_chain_close(b);
}

/* What a follower had pending (its own mempool's txs, or another proposal it prepared) is
 * dropped by prepare: the proposal alone is pending. */
static void test_prepare_discards_pending(void **state)
{
    fx *f = *state;
    static txbuf t, mine, theirs;
    uint8_t *blk, *blk_b, hash[UL_HASH_BYTES], hb[UL_HASH_BYTES], id[UL_HASH_BYTES];
    uint8_t cm[UL_MAX_COMMIT_BYTES];
    size_t blen, blen_b, clen;
    uint64_t h;
    ul_chain *a = open_chain(f, "da"), *b = open_chain(f, "db");

    reg_tx(&t, f, "acme/one", 0, 1);
    reg_tx(&mine, f, "acme/mine", 1, 1);
    reg_tx(&theirs, f, "acme/theirs", 2, 1);
    assert_int_equal(submit(a, &t), UL_OK);
    propose(a, &blk, &blen, hash);

    /* b proposed its own block (round 0), then sees a's (round 1). */
    assert_int_equal(submit(b, &mine), UL_OK);
    assert_int_equal(submit(b, &theirs), UL_OK);
    propose(b, &blk_b, &blen_b, hb);
    assert_memory_not_equal(hb, hash, UL_HASH_BYTES);
    assert_int_equal(ul_chain_prepare(b, blk, blen, hb), UL_OK);
    assert_memory_equal(hb, hash, UL_HASH_BYTES);
    assert_int_equal(ul_chain_pending_count(b), 1);
    make_commit(f, cm, &clen, 1, hash, Q123, 3, T0 + 1000);
    assert_int_equal(ul_chain_commit(b, cm, clen), UL_OK);
    ul_client_sha256(id, mine.b, mine.len);
    assert_int_equal(ul_chain_tx_status(b, id, &h), UL_E_NOT_FOUND);
    ul_client_sha256(id, t.b, t.len);
    assert_int_equal(ul_chain_tx_status(b, id, &h), UL_OK);
    assert_int_equal(h, 1);
    /* b's own txs are still valid and go into a later block. */
    assert_int_equal(submit(b, &mine), UL_OK);
    free(blk);
    free(blk_b);
    ul_chain_close(a);
    ul_chain_close(b);
}

/* The sealed block's bytes prepare to the same hash elsewhere, empty or not; nothing sealed:
 * UL_E_ARG. */
static void test_pending_block(void **state)
{
    fx *f = *state;
    static txbuf t;
    uint8_t *blk = NULL, hash[UL_HASH_BYTES], got[UL_HASH_BYTES];
    size_t blen;
    ul_chain *a = open_chain(f, "ka"), *b = open_chain(f, "kb");

    assert_int_equal(ul_chain_pending_block(a, &blk, &blen), UL_E_ARG);
    reg_tx(&t, f, "acme/one", 0, 1);
    assert_int_equal(submit(a, &t), UL_OK);
    assert_int_equal(ul_chain_pending_block(a, &blk, &blen), UL_E_ARG); /* pending, not sealed */
    assert_null(blk);
    for (int empty = 0; empty < 2; empty++) {
        if (empty) {
            ul_chain_discard(a);
        }
        propose(a, &blk, &blen, hash);
        assert_int_equal(ul_chain_prepare(b, blk, blen, got), UL_OK);
        assert_memory_equal(got, hash, UL_HASH_BYTES);
        /* b's pending block is the same block, byte for byte. */
        uint8_t *again;
        size_t alen;
        assert_int_equal(ul_chain_pending_block(b, &again, &alen), UL_OK);
        assert_int_equal(alen, blen);
        assert_memory_equal(again, blk, blen);
        free(again);
        free(blk);
    }
    ul_chain_close(a);
    ul_chain_close(b);
}

/* ---- replace_commit ----------------------------------------------------------------------- */

/* Another valid commit of the head (other signers, other times) is adopted: stored, the next
 * block's time is its BFT time, also after reopening. Commits of another block or height, with
 * a bad signature or short of quorum are refused and change nothing; so is any while a block is
 * sealed. */
static void test_replace_commit(void **state)
{
    fx *f = *state;
    static txbuf t;
    uint8_t *blk, hash[UL_HASH_BYTES], h2[UL_HASH_BYTES];
    uint8_t cm1[UL_MAX_COMMIT_BYTES], cm2[UL_MAX_COMMIT_BYTES], x[UL_MAX_COMMIT_BYTES];
    size_t blen, l1, l2, xl;
    ul_chain *a = open_chain(f, "ca");

    assert_int_equal(ul_chain_replace_commit(a, f->genesis, 0), UL_E_CBOR_MALFORMED);
    propose(a, &blk, &blen, hash);
    free(blk);
    make_commit(f, cm1, &l1, 1, hash, Q012, 3, T0 + 1000);
    /* Nothing committed yet: no head commit to replace; while sealed: busy. */
    assert_int_equal(ul_chain_replace_commit(a, cm1, l1), UL_E_BUSY);
    ul_chain_discard(a);
    assert_int_equal(ul_chain_replace_commit(a, cm1, l1), UL_E_HEIGHT);
    propose(a, &blk, &blen, hash);
    free(blk);
    assert_int_equal(ul_chain_commit(a, cm1, l1), UL_OK);
    assert_int_equal(ul_chain_next_time(a), bft_time(f, cm1, l1));

    /* Another subset voting later: a later median. */
    make_commit(f, cm2, &l2, 1, hash, Q123, 3, T0 + 7000);
    assert_int_not_equal(bft_time(f, cm2, l2), bft_time(f, cm1, l1));
    assert_int_equal(ul_chain_replace_commit(a, cm1, l1), UL_OK); /* the same: nothing to do */

    /* Refused, nothing changes. */
    memset(h2, 0x5a, sizeof h2);
    make_commit(f, x, &xl, 1, h2, Q123, 3, T0 + 7000);
    assert_int_equal(ul_chain_replace_commit(a, x, xl), UL_E_HEADER_LINK);
    make_commit(f, x, &xl, 2, hash, Q123, 3, T0 + 7000);
    assert_int_equal(ul_chain_replace_commit(a, x, xl), UL_E_HEIGHT);
    make_commit(f, x, &xl, 1, hash, Q01, 2, T0 + 7000);
    assert_int_equal(ul_chain_replace_commit(a, x, xl), UL_E_QUORUM);
    {
        ul_commit c;
        assert_int_equal(ul_schema_commit_decode(&c, cm2, l2), UL_OK);
        c.sigs[1].sig[5] ^= 1;
        assert_int_equal(ul_schema_commit_encode(x, sizeof x, &xl, &c), UL_OK);
        assert_int_equal(ul_chain_replace_commit(a, x, xl), UL_E_SIG);
        assert_int_equal(ul_schema_commit_decode(&c, cm2, l2), UL_OK);
        c.sigs[1].time_ms++; /* a vote time the validator did not sign */
        assert_int_equal(ul_schema_commit_encode(x, sizeof x, &xl, &c), UL_OK);
        assert_int_equal(ul_chain_replace_commit(a, x, xl), UL_E_SIG);
    }
    assert_int_equal(ul_chain_replace_commit(a, cm2, l2 - 1), UL_E_CBOR_MALFORMED);
    assert_stored_commit(a, 1, cm1, l1);
    assert_int_equal(ul_chain_next_time(a), bft_time(f, cm1, l1));

    /* Adopted. */
    assert_int_equal(ul_chain_replace_commit(a, cm2, l2), UL_OK);
    assert_stored_commit(a, 1, cm2, l2);
    assert_int_equal(ul_chain_next_time(a), bft_time(f, cm2, l2));
    a = reopen(f, a, "ca");
    assert_stored_commit(a, 1, cm2, l2);
    assert_int_equal(ul_chain_next_time(a), bft_time(f, cm2, l2));
    /* Right after open, back to the first one, then the second again. */
    assert_int_equal(ul_chain_replace_commit(a, cm1, l1), UL_OK);
    assert_int_equal(ul_chain_next_time(a), bft_time(f, cm1, l1));
    assert_int_equal(ul_chain_replace_commit(a, cm2, l2), UL_OK);

    /* Pending txs do not stop it (only the seal reads the time); the sealed block does. */
    reg_tx(&t, f, "acme/one", 0, 1);
    assert_int_equal(submit(a, &t), UL_OK);
    assert_int_equal(ul_chain_replace_commit(a, cm1, l1), UL_OK);
    assert_int_equal(ul_chain_replace_commit(a, cm2, l2), UL_OK);
    ul_header h;
    assert_int_equal(ul_chain_seal(a, f->vs.v[0].pubkey, ul_chain_next_time(a), &h, h2), UL_OK);
    assert_int_equal(h.time_ms, bft_time(f, cm2, l2)); /* block 2's time: the adopted commit's */
    assert_int_equal(ul_chain_replace_commit(a, cm1, l1), UL_E_BUSY);
    assert_true(ul_chain_sealed(a, NULL));
    assert_stored_commit(a, 1, cm2, l2);
    make_commit(f, x, &xl, 2, h2, Q012, 3, T0 + 9000);
    assert_int_equal(ul_chain_commit(a, x, xl), UL_OK);
    ul_header got;
    ul_chainfx_header(a, 2, &got);
    assert_int_equal(got.time_ms, bft_time(f, cm2, l2));
    /* Height 1 is no longer the head. */
    assert_int_equal(ul_chain_replace_commit(a, cm1, l1), UL_E_HEIGHT);
    ul_chain_close(a);
}

/* A follower that adopts the proposer's commit derives the proposer's block time: the block
 * then prepares; without adopting it, the time differs (UL_E_TIME). */
static void test_replace_commit_then_prepare(void **state)
{
    fx *f = *state;
    uint8_t *blk, hash[UL_HASH_BYTES], got[UL_HASH_BYTES];
    uint8_t cm1[UL_MAX_COMMIT_BYTES], cm2[UL_MAX_COMMIT_BYTES];
    size_t blen, l1, l2;
    ul_chain *a = open_chain(f, "ta"), *b = open_chain(f, "tb");

    propose(a, &blk, &blen, hash);
    make_commit(f, cm1, &l1, 1, hash, Q012, 3, T0 + 1000);
    make_commit(f, cm2, &l2, 1, hash, Q123, 3, T0 + 5000);
    assert_int_equal(ul_chain_commit(a, cm1, l1), UL_OK);
    assert_int_equal(ul_chain_prepare(b, blk, blen, got), UL_OK);
    assert_int_equal(ul_chain_commit(b, cm2, l2), UL_OK); /* b saw other precommits */
    free(blk);
    propose(a, &blk, &blen, hash); /* block 2 at a's time */
    assert_int_equal(ul_chain_prepare(b, blk, blen, got), UL_E_TIME);
    assert_int_equal(ul_chain_replace_commit(b, cm1, l1), UL_OK);
    assert_int_equal(ul_chain_prepare(b, blk, blen, got), UL_OK);
    assert_memory_equal(got, hash, UL_HASH_BYTES);
    free(blk);
    ul_chain_close(a);
    ul_chain_close(b);
}

/* ---- signature cache and check_tx ---------------------------------------------------------- */

/* A tx's signatures are verified once however often it executes: checked for the mempool, then
 * submitted, proposed, prepared elsewhere and committed. Failures are never cached; a tampered
 * signature (other bytes) is caught wherever it comes. */
static void test_sigcache_once(void **state)
{
    fx *f = *state;
    static txbuf t, p, bad, unauth;
    uint8_t *blk, hash[UL_HASH_BYTES], id[UL_HASH_BYTES], cm[UL_MAX_COMMIT_BYTES];
    size_t blen, clen;
    ul_chain *a = open_chain(f, "sa"), *b = open_chain(f, "sb");
    uint64_t m0 = a->sigcache.misses;

    reg_tx(&t, f, "acme/one", 0, 1);
    pub_tx(&p, f, "acme/one", 0, 1);
    assert_int_equal(ul_chain_check_tx(a, t.b, t.len, id, NULL), UL_OK);
    assert_int_equal(a->sigcache.misses, m0 + 1);
    assert_int_equal(ul_sigcache_size(&a->sigcache), 1);
    assert_int_equal(ul_chain_check_tx(a, t.b, t.len, id, NULL), UL_OK);
    assert_int_equal(a->sigcache.misses, m0 + 1); /* the second check found it */
    assert_int_equal(submit(a, &t), UL_OK);
    assert_int_equal(a->sigcache.misses, m0 + 1); /* executing it did not verify it again */
    assert_int_equal(submit(a, &p), UL_OK);       /* never seen: verified at execution */
    assert_int_equal(a->sigcache.misses, m0 + 2);
    assert_int_equal(ul_sigcache_size(&a->sigcache), 2);
    /* Executed again in a rebuilt block (mempool re-execution after a round change). */
    ul_chain_discard(a);
    assert_int_equal(submit(a, &t), UL_OK);
    assert_int_equal(submit(a, &p), UL_OK);
    assert_int_equal(a->sigcache.misses, m0 + 2);
    propose(a, &blk, &blen, hash);

    /* b verifies each once: in its mempool, or up front in the proposal it prepares. */
    uint64_t n0 = b->sigcache.misses;
    assert_int_equal(ul_chain_check_tx(b, t.b, t.len, id, NULL), UL_OK);
    assert_int_equal(ul_chain_prepare(b, blk, blen, hash), UL_OK);
    assert_int_equal(b->sigcache.misses, n0 + 2); /* t at check, p in the proposal */
    assert_int_equal(ul_chain_prepare(b, blk, blen, hash), UL_OK); /* a later round, again */
    assert_int_equal(b->sigcache.misses, n0 + 2);
    make_commit(f, cm, &clen, 1, hash, Q012, 3, T0 + 1000);
    assert_int_equal(ul_chain_commit(b, cm, clen), UL_OK);
    assert_int_equal(ul_chain_commit(a, cm, clen), UL_OK);
    free(blk);

    /* A flipped signature bit: other bytes, not found, verified, refused, not cached. */
    pub_tx(&p, f, "acme/one", 0, 2);
    tamper_sig(&bad, &p);
    uint64_t m1 = a->sigcache.misses;
    size_t s1 = ul_sigcache_size(&a->sigcache);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(ul_chain_check_tx(a, bad.b, bad.len, id, NULL), UL_E_SIG);
        assert_int_equal(submit(a, &bad), UL_E_SIG);
    }
    assert_int_equal(a->sigcache.misses, m1 + 4);
    assert_int_equal(ul_sigcache_size(&a->sigcache), s1);
    assert_int_equal(ul_chain_pending_count(a), 0);
    assert_int_equal(ul_chain_check_tx(a, p.b, p.len, id, NULL), UL_OK); /* the genuine one */
    assert_int_equal(submit(a, &p), UL_OK);
    assert_int_equal(a->sigcache.misses, m1 + 5);

    /* A cached signature does not authorise: who may sign is still checked on state. A
     * publish of acme/one signed (validly) by the owner, not the publisher. */
    {
        ul_tx tx;
        assert_int_equal(ul_schema_tx_decode(&tx, p.b, p.len), UL_OK);
        ul_chainfx_tx(&unauth, f->chain_id, UL_TX_PUBLISH, tx.body.ptr, tx.body.len,
                      (const ul_key *const[]){f->k[0]}, 1, UL_DOMAIN_RELEASE);
    }
    ul_chain_discard(a);
    assert_int_equal(ul_chain_check_tx(a, unauth.b, unauth.len, id, NULL),
                     UL_OK); /* stateless: fine */
    assert_int_equal(submit(a, &unauth), UL_E_NOT_PUBLISHER);
    assert_int_equal(ul_chain_pending_count(a), 0);
    ul_chain_close(a);
    ul_chain_close(b);
}

static void synth_key(uint8_t k[UL_HASH_BYTES], uint32_t i)
{
    uint8_t n[4];
    ul_be32_put(n, i);
    ul_client_sha256(k, n, sizeof n);
}

/* Two runs of keys with one home slot each: the last slot, so its run wraps to slot 0, and slot
 * 0 itself (the runs interleave). */
static void cluster_key(uint8_t k[UL_HASH_BYTES], unsigned i)
{
    synth_key(k, 0x80000000u + i);
    memset(k, i < 64 ? 0xff : 0x00, 8); /* the bytes the home slot is taken from */
}

/* Filled past its bound, the cache holds exactly the newest UL_MAX_SIG_CACHE keys (FIFO), with
 * every one of them found and every evicted one gone, also where probe runs wrap around. */
static void test_sigcache_bound(void **state)
{
    (void)state;
    static ul_sigcache s;
    uint8_t k[UL_HASH_BYTES];
    const uint32_t extra = 200, total = UL_MAX_SIG_CACHE + extra;

    assert_int_equal(ul_sigcache_init(&s), UL_OK);
    assert_false(ul_sigcache_has(&s, k)); /* nothing allocated yet */
    for (unsigned i = 0; i < 128; i++) {
        cluster_key(k, i);
        ul_sigcache_add(&s, k);
        ul_sigcache_add(&s, k); /* a duplicate takes no slot */
    }
    assert_int_equal(ul_sigcache_size(&s), 128);
    for (unsigned i = 0; i < 128; i++) {
        cluster_key(k, i);
        assert_true(ul_sigcache_has(&s, k));
    }
    /* Evict the first run (home: the last slot) only: the wrapped second run must survive the
     * holes being closed. */
    for (uint32_t i = 0; i < UL_MAX_SIG_CACHE - 128 + 64; i++) {
        synth_key(k, i);
        ul_sigcache_add(&s, k);
    }
    assert_int_equal(ul_sigcache_size(&s), UL_MAX_SIG_CACHE);
    for (unsigned i = 0; i < 128; i++) {
        cluster_key(k, i);
        assert_int_equal(ul_sigcache_has(&s, k), i >= 64);
    }
    for (uint32_t i = UL_MAX_SIG_CACHE - 128 + 64; i < total; i++) {
        synth_key(k, i);
        ul_sigcache_add(&s, k);
    }
    assert_int_equal(ul_sigcache_size(&s), UL_MAX_SIG_CACHE);
    /* Inserted: 128 clustered, then synthetic 0..total-1: the newest UL_MAX_SIG_CACHE are the
     * synthetic keys from total - UL_MAX_SIG_CACHE = extra on. */
    for (unsigned i = 0; i < 128; i++) {
        cluster_key(k, i);
        assert_false(ul_sigcache_has(&s, k));
    }
    size_t held = 0;
    for (uint32_t i = 0; i < total; i++) {
        synth_key(k, i);
        bool has = ul_sigcache_has(&s, k);
        assert_int_equal(has, i >= extra);
        held += has;
    }
    assert_int_equal(held, UL_MAX_SIG_CACHE);
    ul_sigcache_free(&s);
}

/* The stateless mempool check: the id submit reports; bad signature, unknown kind, garbage and
 * oversize refused; the pending block untouched; still right with the chain's cache overfull. */
static void test_check_tx(void **state)
{
    fx *f = *state;
    static txbuf t, p, bad, kind;
    static uint8_t big[UL_MAX_TX_BYTES + 1];
    uint8_t id[UL_HASH_BYTES], id2[UL_HASH_BYTES], hash[UL_HASH_BYTES];
    ul_chain *a = open_chain(f, "xa");

    reg_tx(&t, f, "acme/one", 0, 1);
    pub_tx(&p, f, "acme/one", 0, 1);
    assert_int_equal(ul_chain_check_tx(a, t.b, t.len, id, NULL), UL_OK);
    assert_int_equal(ul_chain_submit(a, t.b, t.len, id2), UL_OK);
    assert_memory_equal(id, id2, UL_HASH_BYTES); /* SHA-256 of the tx */
    assert_int_equal(ul_chain_check_tx(a, p.b, p.len, id, NULL), UL_OK);
    assert_int_equal(ul_chain_submit(a, p.b, p.len, id2), UL_OK);
    assert_memory_equal(id, id2, UL_HASH_BYTES); /* the release id */
    ul_client_sha256(id2, p.b, p.len);
    assert_memory_not_equal(id, id2, UL_HASH_BYTES);

    tamper_sig(&bad, &p);
    kind = t;
    kind.b[2] = 23;
    assert_int_equal(ul_chain_check_tx(a, bad.b, bad.len, id, NULL), UL_E_SIG);
    assert_int_equal(ul_chain_check_tx(a, kind.b, kind.len, id, NULL), UL_E_TX_KIND);
    assert_int_not_equal(ul_chain_check_tx(a, t.b, t.len - 1, id, NULL), UL_OK);
    assert_int_equal(ul_chain_check_tx(a, big, sizeof big, id, NULL), UL_E_LIMIT);
    /* The leaf hash it reports is the one the pending block holds for the same bytes. */
    uint8_t leaf[UL_HASH_BYTES], want[UL_HASH_BYTES];
    assert_int_equal(ul_chain_check_tx(a, t.b, t.len, id, leaf), UL_OK);
    ul_client_merkle_leaf_hash(want, t.b, t.len);
    assert_memory_equal(leaf, want, UL_HASH_BYTES);
    assert_non_null(ul_chain_pending_leaf(a, 1));
    assert_null(ul_chain_pending_leaf(a, 2));
    assert_int_equal(ul_chain_pending_count(a), 2);
    /* Sealed: checking still works and leaves the sealed block alone. */
    assert_int_equal(ul_chain_seal(a, f->vs.v[0].pubkey, ul_chain_next_time(a), NULL, hash), UL_OK);
    assert_int_equal(ul_chain_check_tx(a, t.b, t.len, id, NULL), UL_OK);
    uint8_t again[UL_HASH_BYTES];
    assert_true(ul_chain_sealed(a, again));
    assert_memory_equal(again, hash, UL_HASH_BYTES);
    ul_chain_discard(a);

    /* Past the cache's bound with other keys: t is evicted and verified anew, bad still fails. */
    uint8_t k[UL_HASH_BYTES];
    for (uint32_t i = 0; i <= UL_MAX_SIG_CACHE; i++) {
        synth_key(k, i);
        ul_sigcache_add(&a->sigcache, k);
    }
    assert_int_equal(ul_sigcache_size(&a->sigcache), UL_MAX_SIG_CACHE);
    uint64_t m = a->sigcache.misses;
    assert_int_equal(ul_chain_check_tx(a, t.b, t.len, id, NULL), UL_OK);
    assert_int_equal(a->sigcache.misses, m + 1);
    assert_int_equal(ul_chain_check_tx(a, bad.b, bad.len, id, NULL), UL_E_SIG);
    assert_int_equal(ul_chain_submit(a, t.b, t.len, id), UL_OK);
    assert_int_equal(a->sigcache.misses, m + 2); /* bad; t was found again */
    assert_int_equal(ul_sigcache_size(&a->sigcache), UL_MAX_SIG_CACHE);
    ul_chain_close(a);
}

/* ---- prepare_known and submit_known -------------------------------------------------------- */

/* Out: h, the hashes ul_chain_check_tx gives for t on c (as a node's pool keeps them). */
static void checked_hash(ul_chain *c, const txbuf *t, ul_txhash *h)
{
    assert_int_equal(ul_chain_check_tx(c, t->b, t->len, h->id, h->leaf), UL_OK);
}

/* Out: h, t's hashes computed here without checking its signatures: its RFC 9162 leaf hash and
 * its id, the SHA-256 of the body for a publish and of the tx otherwise (ledger/parallel.c). */
static void own_hash(const txbuf *t, ul_txhash *h)
{
    ul_tx tx;
    assert_int_equal(ul_schema_tx_decode(&tx, t->b, t->len), UL_OK);
    ul_client_merkle_leaf_hash(h->leaf, t->b, t->len);
    if (tx.kind == UL_TX_PUBLISH) {
        ul_client_sha256(h->id, tx.body.ptr, tx.body.len);
    } else {
        ul_client_sha256(h->id, t->b, t->len);
    }
}

#define POOL_MAX 8

/* A stand-in for a node's pool as ul_chain_prepare_known asks it: the txs it knows with their
 * hashes, and every call it got. */
typedef struct {
    size_t n;
    const txbuf *tx[POOL_MAX];
    ul_txhash h[POOL_MAX];
    size_t calls;
    ul_span asked[POOL_MAX];
} pool;

static void pool_add(pool *p, const txbuf *t, const ul_txhash *h)
{
    assert_true(p->n < POOL_MAX);
    p->tx[p->n] = t;
    p->h[p->n++] = *h;
}

static bool pool_known(void *ctx, const uint8_t *tx, size_t len, ul_txhash *h)
{
    pool *p = ctx;
    if (p->calls < POOL_MAX) {
        p->asked[p->calls] = (ul_span){tx, len};
    }
    p->calls++;
    for (size_t i = 0; i < p->n; i++) {
        if (p->tx[i]->len == len && memcmp(p->tx[i]->b, tx, len) == 0) {
            *h = p->h[i];
            return true;
        }
    }
    return false;
}

/* p was asked about each tx of block blk once, with its bytes in the block, and nothing else. */
static void assert_asked_once(const pool *p, const uint8_t *blk, size_t blen)
{
    static ul_span txs[UL_MAX_BLOCK_TXS];
    ul_block b;
    assert_int_equal(ul_schema_block_decode(&b, txs, UL_MAX_BLOCK_TXS, blk, blen), UL_OK);
    assert_int_equal(p->calls, b.n_txs);
    for (size_t i = 0; i < b.n_txs; i++) {
        size_t hits = 0;
        for (size_t j = 0; j < p->calls; j++) {
            hits += ul_span_eq(p->asked[j], b.txs[i]);
        }
        assert_int_equal(hits, 1);
    }
}

/* A block prepared with ul_chain_prepare_known seals to the hash ul_chain_prepare gives on a
 * twin chain and commits to the same head and store, whether the pool knows every tx (hashes
 * from ul_chain_check_tx), none, every other one, or every one with hashes it computed without
 * checking them (not in the signature cache: exec verifies them). The pool is asked about each
 * tx once, with its bytes in the block; about none for an empty block. */
static void test_prepare_known(void **state)
{
    fx *f = *state;
    static txbuf t[4];
    static pool p;
    enum { ALL, NONE, HALF, OWN, MODES };
    static const char *const dir[MODES] = {"wall", "wnone", "whalf", "wown"};
    uint8_t *blk, hash[UL_HASH_BYTES], got[UL_HASH_BYTES], head[UL_HASH_BYTES];
    uint8_t cm[UL_MAX_COMMIT_BYTES];
    size_t blen, clen;
    ul_chain *a = open_chain(f, "wa"), *b = open_chain(f, "wb");

    reg_tx(&t[0], f, "acme/one", 0, 1);
    reg_tx(&t[1], f, "acme/two", 1, 1);
    pub_tx(&t[2], f, "acme/one", 0, 1);
    pub_tx(&t[3], f, "acme/two", 1, 1);
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(submit(a, &t[i]), UL_OK);
    }
    propose(a, &blk, &blen, hash);
    make_commit(f, cm, &clen, 1, hash, Q012, 3, T0 + 1000);
    assert_int_equal(ul_chain_commit(a, cm, clen), UL_OK);
    assert_int_equal(ul_chain_prepare(b, blk, blen, got), UL_OK); /* the twin */
    assert_memory_equal(got, hash, UL_HASH_BYTES);
    assert_int_equal(ul_chain_commit(b, cm, clen), UL_OK);
    head_hash(b, head);

    for (int m = 0; m < MODES; m++) {
        ul_chain *c = open_chain(f, dir[m]);
        memset(&p, 0, sizeof p);
        for (size_t i = 0; i < 4; i++) {
            ul_txhash h;
            if (m == ALL || (m == HALF && i % 2 == 0)) {
                checked_hash(c, &t[i], &h);
                pool_add(&p, &t[i], &h);
            } else if (m == OWN) {
                own_hash(&t[i], &h);
                pool_add(&p, &t[i], &h);
            }
        }
        memset(got, 0, sizeof got);
        assert_int_equal(ul_chain_prepare_known(c, blk, blen, pool_known, &p, got), UL_OK);
        assert_memory_equal(got, hash, UL_HASH_BYTES);
        assert_true(ul_chain_sealed(c, got));
        assert_memory_equal(got, hash, UL_HASH_BYTES);
        assert_int_equal(ul_chain_pending_count(c), 4);
        assert_asked_once(&p, blk, blen);
        assert_int_equal(ul_chain_commit(c, cm, clen), UL_OK);
        head_hash(c, got);
        assert_memory_equal(got, head, UL_HASH_BYTES);
        assert_same_store(b, c); /* the ids (tx and release indexes) too */
        ul_chain_close(c);
    }
    free(blk);

    /* An empty block: nobody asked. */
    propose(a, &blk, &blen, hash);
    memset(&p, 0, sizeof p);
    assert_int_equal(ul_chain_prepare_known(b, blk, blen, pool_known, &p, got), UL_OK);
    assert_memory_equal(got, hash, UL_HASH_BYTES);
    assert_int_equal(p.calls, 0);
    free(blk);
    ul_chain_close(a);
    ul_chain_close(b);
}

/* The tx root edit_header writes (named_root). */
static uint8_t named[UL_HASH_BYTES];

static void named_root(ul_header *h)
{
    memcpy(h->tx_root, named, UL_HASH_BYTES);
}

/* Re-encodes block blk with its header's tx root made the root of its txs (the other roots
 * unchanged): a header that names the txs the block carries. */
static void name_txs(uint8_t **blk, size_t *blen)
{
    static ul_span txs[UL_MAX_BLOCK_TXS];
    static ul_buf leaves[UL_MAX_BLOCK_TXS];
    ul_block b;
    assert_int_equal(ul_schema_block_decode(&b, txs, UL_MAX_BLOCK_TXS, *blk, *blen), UL_OK);
    for (size_t i = 0; i < b.n_txs; i++) {
        ul_client_merkle_leaf_hash(leaves[i].leaf, txs[i].ptr, txs[i].len);
    }
    assert_int_equal(ul_merkle_root_of(named, leaves, b.n_txs), UL_OK);
    edit_header(blk, blen, named_root);
}

/* A tx whose signature does not verify is refused, and the pending block left empty, whether the
 * pool does not know it or claims it with hashes computed without checking it (not in the
 * signature cache: exec verifies it). In a block whose header names the tampered tx (its tx
 * root), both ul_chain_prepare and ul_chain_prepare_known say UL_E_SIG. The hashes a pool gives
 * are the ones used: a leaf it has wrong makes the block's txs differ from its header's. */
static void test_prepare_known_bad_sig(void **state)
{
    fx *f = *state;
    static txbuf t[2], bad, other;
    static pool p;
    uint8_t *blk, *x[2], hash[UL_HASH_BYTES], got[UL_HASH_BYTES];
    size_t blen, xlen[2];
    ul_txhash h0, hb, hg;
    ul_chain *a = open_chain(f, "va"), *b = open_chain(f, "vb"), *c = open_chain(f, "vc");

    reg_tx(&t[0], f, "acme/one", 0, 1);
    pub_tx(&t[1], f, "acme/one", 0, 1);
    reg_tx(&other, f, "acme/two", 1, 1);
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(submit(a, &t[i]), UL_OK);
    }
    propose(a, &blk, &blen, hash);
    tamper_sig(&bad, &t[1]);
    for (int k = 0; k < 2; k++) { /* x[0]: the proposer's header; x[1]: one naming bad */
        x[k] = malloc(blen);
        assert_non_null(x[k]);
        memcpy(x[k], blk, blen);
        xlen[k] = blen;
        edit_tx(&x[k], &xlen[k], 1, &bad);
    }
    name_txs(&x[1], &xlen[1]);

    checked_hash(c, &t[0], &h0);
    own_hash(&t[1], &hg); /* own_hash gives what check_tx gives */
    checked_hash(c, &t[1], &hb);
    assert_memory_equal(&hg, &hb, sizeof hg);
    own_hash(&bad, &hb);
    assert_false(ul_sigcache_has(&c->sigcache, hb.leaf));
    for (int k = 0; k < 2; k++) {
        /* The twin's verdict. x[0] is also another tx list than its header names, which may be
         * found first (UL_E_SIG, or a root error): only x[1]'s code is pinned. */
        assert_int_equal(submit(b, &other), UL_OK);
        ul_err want = ul_chain_prepare(b, x[k], xlen[k], got);
        assert_untouched(b, 0, NULL);
        assert_int_not_equal(want, UL_OK);
        if (k == 1) {
            assert_int_equal(want, UL_E_SIG);
        }
        for (int claimed = 0; claimed < 2; claimed++) {
            memset(&p, 0, sizeof p);
            pool_add(&p, &t[0], &h0);
            if (claimed) {
                pool_add(&p, &bad, &hb);
            }
            assert_int_equal(submit(c, &other), UL_OK); /* something pending, to be dropped */
            ul_err e = ul_chain_prepare_known(c, x[k], xlen[k], pool_known, &p, got);
            assert_int_not_equal(e, UL_OK);
            if (k == 1) {
                assert_int_equal(e, want);
            }
            assert_untouched(c, 0, NULL);
            assert_asked_once(&p, x[k], xlen[k]);
            assert_false(ul_sigcache_has(&c->sigcache, hb.leaf)); /* failures are not cached */
        }
    }

    /* A leaf the pool has wrong is taken as given. */
    memset(&p, 0, sizeof p);
    pool_add(&p, &t[0], &h0);
    hg.leaf[0] ^= 1;
    pool_add(&p, &t[1], &hg);
    assert_int_not_equal(ul_chain_prepare_known(c, blk, blen, pool_known, &p, got), UL_OK);
    assert_untouched(c, 0, NULL);

    /* The genuine block prepares. */
    hg.leaf[0] ^= 1;
    p.h[1] = hg;
    assert_int_equal(ul_chain_prepare_known(c, blk, blen, pool_known, &p, got), UL_OK);
    assert_memory_equal(got, hash, UL_HASH_BYTES);
    free(x[0]);
    free(x[1]);
    free(blk);
    ul_chain_close(a);
    ul_chain_close(b);
    ul_chain_close(c);
}

/* ul_chain_submit_known with ul_chain_check_tx's hashes reports the id ul_chain_submit reports
 * and builds the same pending block, mixed with plain submits (same sealed hash, same store once
 * committed). A tx whose signature does not verify, given with hashes computed without checking
 * it, is refused with UL_E_SIG (the cache does not hold it) and changes nothing. The hashes given
 * are the ones used: the id reported and the leaf kept are the caller's. */
static void test_submit_known(void **state)
{
    fx *f = *state;
    static txbuf t[3], p2, bad;
    uint8_t ida[UL_HASH_BYTES], idb[UL_HASH_BYTES], ha[UL_HASH_BYTES], hb[UL_HASH_BYTES];
    uint8_t cm[UL_MAX_COMMIT_BYTES];
    size_t clen;
    ul_txhash h;
    ul_chain *a = open_chain(f, "ua"), *b = open_chain(f, "ub");

    reg_tx(&t[0], f, "acme/one", 0, 1);
    reg_tx(&t[1], f, "acme/two", 1, 1);
    pub_tx(&t[2], f, "acme/one", 0, 1);
    for (size_t i = 0; i < 3; i++) {
        if (i == 1) {
            assert_int_equal(ul_chain_submit(a, t[i].b, t[i].len, ida), UL_OK);
        } else {
            checked_hash(a, &t[i], &h);
            assert_int_equal(ul_chain_submit_known(a, t[i].b, t[i].len, &h, ida), UL_OK);
            assert_memory_equal(ida, h.id, UL_HASH_BYTES);
        }
        assert_int_equal(ul_chain_submit(b, t[i].b, t[i].len, idb), UL_OK);
        assert_memory_equal(ida, idb, UL_HASH_BYTES);
        assert_memory_equal(ul_chain_pending_leaf(a, i), ul_chain_pending_leaf(b, i),
                            UL_HASH_BYTES);
    }

    pub_tx(&p2, f, "acme/one", 0, 2);
    tamper_sig(&bad, &p2);
    own_hash(&bad, &h);
    assert_false(ul_sigcache_has(&a->sigcache, h.leaf));
    assert_int_equal(ul_chain_submit_known(a, bad.b, bad.len, &h, ida), UL_E_SIG);
    assert_int_equal(ul_chain_pending_count(a), 3);

    assert_int_equal(ul_chain_seal(a, f->vs.v[0].pubkey, ul_chain_next_time(a), NULL, ha), UL_OK);
    assert_int_equal(ul_chain_seal(b, f->vs.v[0].pubkey, ul_chain_next_time(b), NULL, hb), UL_OK);
    assert_memory_equal(ha, hb, UL_HASH_BYTES);
    make_commit(f, cm, &clen, 1, ha, Q012, 3, T0 + 1000);
    assert_int_equal(ul_chain_commit(a, cm, clen), UL_OK);
    assert_int_equal(ul_chain_commit(b, cm, clen), UL_OK);
    assert_same_store(a, b);

    /* Taken as given, not hashed again (hashes no pool would hold for these bytes). */
    own_hash(&p2, &h);
    h.id[0] ^= 1;
    h.leaf[0] ^= 1;
    assert_int_equal(ul_chain_submit_known(a, p2.b, p2.len, &h, ida), UL_OK);
    assert_memory_equal(ida, h.id, UL_HASH_BYTES);
    assert_memory_equal(ul_chain_pending_leaf(a, 0), h.leaf, UL_HASH_BYTES);
    ul_chain_discard(a);
    ul_chain_close(a);
    ul_chain_close(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_prepare_commit_equals_apply, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prepare_rejects, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prepare_discards_pending, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pending_block, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replace_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replace_commit_then_prepare, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sigcache_once, setup, teardown),
        cmocka_unit_test(test_sigcache_bound),
        cmocka_unit_test_setup_teardown(test_check_tx, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prepare_known, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prepare_known_bad_sig, setup, teardown),
        cmocka_unit_test_setup_teardown(test_submit_known, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
