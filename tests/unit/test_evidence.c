/* Unit tests for equivocation evidence: the body codec (round trip, canonical order, every
 * rejection, the vote bound), the builder, and the chain: a valid report committed, listed and
 * proven under the state root; each rejection with its own error and the chain unchanged; the
 * validator set of the votes' height across a set change; replay by apply and audit.
 * Chains of four validators (k0..k3) are committed by signing every precommit here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "chainfx.h"
#include "ledger/ul_ledger.h"
#include "schema/internal.h" /* the CBOR writer, to build bodies the encoder refuses */

#define T0 1700000000000ULL         /* genesis time, unix ms */
#define NOW(h) (T0 + 1000ULL * (h)) /* vote time we claim for block h */
#define NK 6                        /* keys the tests hold: k[0..3] form the genesis set */
#define NIL 0                       /* hash fill of a nil vote (all zero) */

typedef struct {
    char root[64];
    ul_key *k[NK];
    uint8_t genesis[UL_MAX_VALSET_BYTES + 256];
    size_t glen;
    uint8_t chain_id[UL_HASH_BYTES];
    ul_valset gset;
} fx;

/* One signed vote: its canonical bytes and the signature. */
typedef struct {
    uint8_t b[UL_MAX_VOTE_BYTES];
    size_t len;
    uint8_t sig[UL_SIG_BYTES];
} svote;

/* ---- helpers ------------------------------------------------------------------------------ */

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    ul_chainfx_tmpdir(f->root, sizeof f->root, "evidence");
    for (unsigned i = 0; i < NK; i++) {
        f->k[i] = ul_chainfx_key("upledger evidence test key", i + 1);
    }
    ul_chainfx_valset(&f->gset, (const ul_key *const *)f->k, (uint64_t[]){1, 1, 1, 1}, 4);
    ul_chainfx_genesis(f->genesis, sizeof f->genesis, &f->glen, f->chain_id, "evidence-test", T0,
                       &f->gset);
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

/* Seals and commits the pending block with precommits of every member of the signing set. */
static void commit(const fx *f, ul_chain *c)
{
    assert_int_equal(ul_chainfx_seal_commit(c, NULL, (const ul_key *const *)f->k, NK,
                                            NOW(ul_chain_height(c) + 1), NULL, NULL),
                     UL_OK);
}

/* Out: v, a vote (type, h, r, block hash all `fill`, time) signed by k[key] under domain d. */
static void vote_d(const fx *f, svote *v, unsigned key, uint64_t type, uint64_t h, uint64_t r,
                   uint8_t fill, uint64_t time_ms, ul_domain d)
{
    ul_vote vt = {.type = type, .height = h, .round = r, .time_ms = time_ms};
    memset(vt.block_hash, fill, UL_HASH_BYTES);
    assert_int_equal(ul_schema_vote_encode(v->b, sizeof v->b, &v->len, &vt), UL_OK);
    assert_int_equal(ul_key_sign(f->k[key], v->sig, d, f->chain_id, v->b, v->len), UL_OK);
}

static void vote(const fx *f, svote *v, unsigned key, uint64_t type, uint64_t h, uint64_t r,
                 uint8_t fill)
{
    vote_d(f, v, key, type, h, r, fill, NOW(h), UL_DOMAIN_VOTE);
}

/* Builds k[reporter]'s report that k[accused] signed a and b, and submits it. Out: id (may be
 * NULL). Returns: the builder's error, else ul_chain_submit's. */
static ul_err report(const fx *f, ul_chain *c, unsigned reporter, unsigned accused, const svote *a,
                     const svote *b, uint8_t id[UL_HASH_BYTES])
{
    uint8_t *tx, tid[UL_HASH_BYTES];
    size_t len;
    ul_err e = ul_chain_evidence_tx(c, f->k[reporter], ul_key_pubkey(f->k[accused]), a->b, a->len,
                                    a->sig, b->b, b->len, b->sig, &tx, &len);
    if (e != UL_OK) {
        assert_null(tx);
        return e;
    }
    e = ul_chain_submit(c, tx, len, id ? id : tid);
    if (e == UL_OK) { /* a non-publish tx is known by the SHA-256 of its bytes */
        ul_client_sha256(tid, tx, len);
        assert_memory_equal(tid, id ? id : tid, UL_HASH_BYTES);
    }
    free(tx);
    return e;
}

/* A body with the fields as given, in the order given (the encoder would refuse some). */
static size_t raw_body(uint8_t *out, size_t cap, uint64_t nonce, const uint8_t acc[32],
                       const svote *a, const svote *b)
{
    ul_cbor_writer w;
    ul_cbor_writer_init(&w, out, cap);
    ul_cbor_put_map(&w, 6);
    ul_cbor_put_uint(&w, 1);
    ul_cbor_put_uint(&w, nonce);
    ul_cbor_put_uint(&w, 2);
    ul_cbor_put_bytes(&w, acc, UL_PUBKEY_BYTES);
    ul_cbor_put_uint(&w, 3);
    ul_cbor_put_bytes(&w, a->b, a->len);
    ul_cbor_put_uint(&w, 4);
    ul_cbor_put_bytes(&w, a->sig, UL_SIG_BYTES);
    ul_cbor_put_uint(&w, 5);
    ul_cbor_put_bytes(&w, b->b, b->len);
    ul_cbor_put_uint(&w, 6);
    ul_cbor_put_bytes(&w, b->sig, UL_SIG_BYTES);
    assert_int_equal(w.err, UL_OK);
    return w.len;
}

/* Submits a raw body as an evidence tx signed by keys k[signers[0..n)]. */
static ul_err submit_raw(const fx *f, ul_chain *c, const uint8_t *body, size_t blen,
                         const unsigned *signers, size_t n, ul_domain d)
{
    ul_chainfx_txbuf t;
    const ul_key *keys[NK];
    uint8_t id[UL_HASH_BYTES];
    for (size_t i = 0; i < n; i++) {
        keys[i] = f->k[signers[i]];
    }
    ul_chainfx_tx(&t, f->chain_id, UL_TX_EVIDENCE, body, blen, keys, n, d);
    return ul_chain_submit(c, t.b, t.len, id);
}

/* The state tree's key of a record: SHA-256 of its state key. */
static void state_key_hash(uint8_t kh[UL_HASH_BYTES], const uint8_t acc[32], uint64_t h, uint64_t r,
                           uint8_t type)
{
    uint8_t k[UL_STATEKEY_EVIDENCE_BYTES];
    size_t kl;
    assert_int_equal(ul_schema_statekey_evidence(k, sizeof k, &kl, acc, h, r, type), UL_OK);
    ul_client_sha256(kh, k, kl);
}

/* ---- codec -------------------------------------------------------------------------------- */

static void test_codec_round_trip(void **state)
{
    fx *f = *state;
    svote nil, val;
    ul_evidence ev, d;
    uint8_t out[1024], out2[1024];
    size_t n, n2;
    vote(f, &nil, 1, UL_VOTE_PREVOTE, 7, 2, NIL);
    vote(f, &val, 1, UL_VOTE_PREVOTE, 7, 2, 0x42);
    memset(&ev, 0, sizeof ev);
    ev.nonce = 1ULL << 40;
    memcpy(ev.validator, ul_key_pubkey(f->k[1]), 32);
    ev.vote_a = (ul_span){nil.b, nil.len}; /* the all-zero hash sorts first */
    memcpy(ev.sig_a, nil.sig, UL_SIG_BYTES);
    ev.vote_b = (ul_span){val.b, val.len};
    memcpy(ev.sig_b, val.sig, UL_SIG_BYTES);
    assert_int_equal(ul_schema_evidence_encode(out, sizeof out, &n, &ev), UL_OK);
    assert_int_equal(ul_schema_evidence_decode(&d, out, n), UL_OK);
    assert_int_equal(d.nonce, 1ULL << 40);
    assert_memory_equal(d.validator, ev.validator, 32);
    assert_int_equal(d.vote_a.len, nil.len);
    assert_memory_equal(d.vote_a.ptr, nil.b, nil.len);
    assert_memory_equal(d.vote_b.ptr, val.b, val.len);
    assert_memory_equal(d.sig_a, nil.sig, UL_SIG_BYTES);
    assert_memory_equal(d.sig_b, val.sig, UL_SIG_BYTES);
    /* The decoder hands out both votes decoded. */
    assert_int_equal(d.a.type, UL_VOTE_PREVOTE);
    assert_int_equal(d.a.height, 7);
    assert_int_equal(d.b.round, 2);
    assert_int_equal(d.b.block_hash[0], 0x42);
    /* Re-encoding gives the same bytes; the raw layout is what the CDDL says. */
    assert_int_equal(ul_schema_evidence_encode(out2, sizeof out2, &n2, &d), UL_OK);
    assert_int_equal(n2, n);
    assert_memory_equal(out2, out, n);
    assert_int_equal(raw_body(out2, sizeof out2, 1ULL << 40, ev.validator, &nil, &val), n);
    assert_memory_equal(out2, out, n);
    /* One byte short of the output. */
    assert_int_equal(ul_schema_evidence_encode(out2, n - 1, &n2, &ev), UL_E_BUFFER);
    /* As a tx body of kind 9. */
    ul_tx t = {.kind = UL_TX_EVIDENCE, .body = {out, n}, .n_sigs = 1}, dt;
    uint8_t tx[2048];
    assert_int_equal(ul_schema_tx_encode(tx, sizeof tx, &n2, &t), UL_OK);
    assert_int_equal(ul_schema_tx_decode(&dt, tx, n2), UL_OK);
    assert_int_equal(dt.kind, UL_TX_EVIDENCE);
    assert_int_equal(UL_TX_KIND_MAX_, UL_TX_EVIDENCE);
}

static void test_codec_rejections(void **state)
{
    fx *f = *state;
    svote a, b, same;
    uint8_t out[1024], acc[32];
    size_t n;
    ul_evidence d;
    memcpy(acc, ul_key_pubkey(f->k[1]), 32);
    vote(f, &a, 1, UL_VOTE_PRECOMMIT, 3, 0, 0x10);
    vote(f, &b, 1, UL_VOTE_PRECOMMIT, 3, 0, 0x20);
    /* Canonical order only: B's hash before A's is another encoding of the same evidence. */
    n = raw_body(out, sizeof out, 1, acc, &a, &b);
    assert_int_equal(ul_schema_evidence_decode(&d, out, n), UL_OK);
    n = raw_body(out, sizeof out, 1, acc, &b, &a);
    assert_int_equal(ul_schema_evidence_decode(&d, out, n), UL_E_SCHEMA_FIELD);
    /* One hash twice (here the same vote at another time) is no conflict. */
    vote_d(f, &same, 1, UL_VOTE_PRECOMMIT, 3, 0, 0x10, NOW(3) + 5, UL_DOMAIN_VOTE);
    n = raw_body(out, sizeof out, 1, acc, &a, &same);
    assert_int_equal(ul_schema_evidence_decode(&d, out, n), UL_E_EVIDENCE);
    ul_evidence ev = {.nonce = 1, .vote_a = {a.b, a.len}, .vote_b = {same.b, same.len}};
    assert_int_equal(ul_schema_evidence_encode(out, sizeof out, &n, &ev), UL_E_EVIDENCE);
    /* A vote that is not a vote: its decoder's error. */
    svote junk = a;
    junk.b[0] = 0xa4; /* a map of 4 entries: a field short */
    n = raw_body(out, sizeof out, 1, acc, &junk, &b);
    assert_int_not_equal(ul_schema_evidence_decode(&d, out, n), UL_OK);
    junk.len = 0;
    n = raw_body(out, sizeof out, 1, acc, &junk, &b);
    assert_int_equal(ul_schema_evidence_decode(&d, out, n), UL_E_SCHEMA_FIELD);
    /* A vote bstr at the bound is read (then the vote decoder judges: trailing zero padding);
     * one byte over is UL_E_LIMIT before anything else. */
    svote big = a;
    memset(big.b + a.len, 0, sizeof big.b - a.len);
    big.len = UL_MAX_VOTE_BYTES;
    n = raw_body(out, sizeof out, 1, acc, &big, &b);
    assert_int_equal(ul_schema_evidence_decode(&d, out, n), UL_E_CBOR_TRAILING);
    static uint8_t over[UL_MAX_VOTE_BYTES + 1 + 300];
    ul_cbor_writer w;
    ul_cbor_writer_init(&w, over, sizeof over);
    ul_cbor_put_map(&w, 6);
    ul_cbor_put_uint(&w, 1);
    ul_cbor_put_uint(&w, 1);
    ul_cbor_put_uint(&w, 2);
    ul_cbor_put_bytes(&w, acc, 32);
    ul_cbor_put_uint(&w, 3);
    ul_cbor_put_bytes_head(&w, UL_MAX_VOTE_BYTES + 1);
    assert_int_equal(w.err, UL_OK);
    memset(over + w.len, 0, sizeof over - w.len);
    assert_int_equal(ul_schema_evidence_decode(&d, over, sizeof over), UL_E_LIMIT);
    ev.vote_b = (ul_span){over, UL_MAX_VOTE_BYTES + 1};
    assert_int_equal(ul_schema_evidence_encode(out, sizeof out, &n, &ev), UL_E_LIMIT);
    /* The whole record is bounded like every tx body. */
    static uint8_t huge[UL_MAX_RECORD_BYTES + 1];
    assert_int_equal(ul_schema_evidence_decode(&d, huge, sizeof huge), UL_E_LIMIT);
    /* Field-level defects: signature length, key length, missing and unknown fields, trailing. */
    n = raw_body(out, sizeof out, 1, acc, &a, &b);
    uint8_t bad[1024];
    memcpy(bad, out, n);
    assert_int_equal(bad[0], 0xa6);
    bad[0] = 0xa5; /* drops field 6: the map ends early, sig B's key and bytes trail */
    assert_int_not_equal(ul_schema_evidence_decode(&d, bad, n), UL_OK);
    assert_int_not_equal(ul_schema_evidence_decode(&d, out, n - 66), UL_OK);
    memcpy(bad, out, n);
    bad[n] = 0;
    assert_int_equal(ul_schema_evidence_decode(&d, bad, n + 1), UL_E_CBOR_TRAILING);
    /* Field 2 is a 32-byte key: find its head (0x02 0x58 0x20) and shorten it to 31. */
    memcpy(bad, out, n);
    size_t at = 0;
    while (at + 2 < n && !(bad[at] == 0x02 && bad[at + 1] == 0x58 && bad[at + 2] == 0x20)) {
        at++;
    }
    assert_true(at + 2 < n);
    bad[at + 2] = 0x1f;
    assert_int_not_equal(ul_schema_evidence_decode(&d, bad, n), UL_OK);
    /* An unknown seventh field. */
    memcpy(bad, out, n);
    bad[0] = 0xa7;
    bad[n] = 0x07;
    bad[n + 1] = 0x00;
    assert_int_equal(ul_schema_evidence_decode(&d, bad, n + 2), UL_E_SCHEMA_FIELD);
}

/* ---- builder ------------------------------------------------------------------------------ */

static void test_builder(void **state)
{
    fx *f = *state;
    ul_chain *c = open_chain(f, "builder");
    svote a, b;
    uint8_t *t1, *t2;
    size_t l1, l2;
    ul_tx x1, x2;
    ul_evidence e1;
    vote(f, &a, 1, UL_VOTE_PRECOMMIT, 1, 0, 0x10);
    vote(f, &b, 1, UL_VOTE_PRECOMMIT, 1, 0, 0x20);
    const uint8_t *acc = ul_key_pubkey(f->k[1]);
    /* Either argument order gives the same body (signatures differ: fresh aux randomness). */
    assert_int_equal(
        ul_chain_evidence_tx(c, f->k[0], acc, a.b, a.len, a.sig, b.b, b.len, b.sig, &t1, &l1),
        UL_OK);
    assert_int_equal(
        ul_chain_evidence_tx(c, f->k[0], acc, b.b, b.len, b.sig, a.b, a.len, a.sig, &t2, &l2),
        UL_OK);
    assert_int_equal(ul_schema_tx_decode(&x1, t1, l1), UL_OK);
    assert_int_equal(ul_schema_tx_decode(&x2, t2, l2), UL_OK);
    assert_int_equal(x1.kind, UL_TX_EVIDENCE);
    assert_int_equal(x1.n_sigs, 1);
    assert_memory_equal(x1.sigs[0].pubkey, ul_key_pubkey(f->k[0]), 32);
    assert_int_equal(x1.body.len, x2.body.len);
    assert_memory_equal(x1.body.ptr, x2.body.ptr, x1.body.len);
    assert_int_equal(ul_client_sig_verify(x1.sigs[0].sig, UL_DOMAIN_TX, f->chain_id, x1.body.ptr,
                                          x1.body.len, x1.sigs[0].pubkey),
                     UL_OK);
    assert_int_equal(ul_schema_evidence_decode(&e1, x1.body.ptr, x1.body.len), UL_OK);
    assert_int_equal(e1.nonce, 1);
    assert_int_equal(e1.a.block_hash[0], 0x10);
    assert_memory_equal(e1.sig_a, a.sig, UL_SIG_BYTES);
    assert_memory_equal(e1.sig_b, b.sig, UL_SIG_BYTES);
    /* Once one is pending, the next report takes the next nonce. */
    uint8_t id[UL_HASH_BYTES];
    assert_int_equal(ul_chain_submit(c, t1, l1, id), UL_OK);
    free(t1);
    free(t2);
    svote p, q;
    vote(f, &p, 2, UL_VOTE_PREVOTE, 1, 0, NIL);
    vote(f, &q, 2, UL_VOTE_PREVOTE, 1, 0, 0x30);
    assert_int_equal(ul_chain_evidence_tx(c, f->k[0], ul_key_pubkey(f->k[2]), p.b, p.len, p.sig,
                                          q.b, q.len, q.sig, &t1, &l1),
                     UL_OK);
    assert_int_equal(ul_schema_tx_decode(&x1, t1, l1), UL_OK);
    assert_int_equal(ul_schema_evidence_decode(&e1, x1.body.ptr, x1.body.len), UL_OK);
    assert_int_equal(e1.nonce, 2);
    free(t1);
    /* What it refuses to build. */
    assert_int_equal(
        ul_chain_evidence_tx(c, f->k[0], acc, a.b, a.len, a.sig, a.b, a.len, a.sig, &t1, &l1),
        UL_E_EVIDENCE);
    assert_null(t1);
    assert_int_not_equal(
        ul_chain_evidence_tx(c, f->k[0], acc, a.b, a.len - 1, a.sig, b.b, b.len, b.sig, &t1, &l1),
        UL_OK);
    assert_int_equal(ul_chain_evidence_tx(c, f->k[0], acc, a.b, UL_MAX_VOTE_BYTES + 1, a.sig, b.b,
                                          b.len, b.sig, &t1, &l1),
                     UL_E_LIMIT);
    assert_int_equal(
        ul_chain_evidence_tx(c, NULL, acc, a.b, a.len, a.sig, b.b, b.len, b.sig, &t1, &l1),
        UL_E_ARG);
    ul_chain_close(c);
}

/* ---- chain -------------------------------------------------------------------------------- */

static void test_committed_listed_proven(void **state)
{
    fx *f = *state;
    ul_chain *c = open_chain(f, "valid");
    static ul_state_proof proof;
    ul_evidence_entry ev[4];
    size_t n;
    uint8_t id[UL_HASH_BYTES], id2[UL_HASH_BYTES], kh[UL_HASH_BYTES], vh[UL_HASH_BYTES], v[40];
    svote a, b, z;
    commit(f, c); /* height 1 */
    /* k1 precommitted two blocks at height 1, round 0; k0 reports it. */
    vote(f, &a, 1, UL_VOTE_PRECOMMIT, 1, 0, 0x10);
    vote(f, &b, 1, UL_VOTE_PRECOMMIT, 1, 0, 0x20);
    assert_int_equal(report(f, c, 0, 1, &b, &a, id), UL_OK);
    assert_int_equal(ul_chain_pending_count(c), 1);
    /* Listed only once committed; a second report of it waits in the same block: refused. */
    assert_int_equal(ul_chain_evidence_list(c, ev, 4, &n), UL_OK);
    assert_int_equal(n, 0);
    vote(f, &z, 1, UL_VOTE_PRECOMMIT, 1, 0, 0x30);
    assert_int_equal(report(f, c, 2, 1, &a, &z, NULL), UL_E_EVIDENCE_KNOWN);
    commit(f, c); /* height 2 records it */
    uint64_t th;
    assert_int_equal(ul_chain_tx_status(c, id, &th), UL_OK);
    assert_int_equal(th, 2);
    assert_int_equal(ul_chain_evidence_list(c, ev, 4, &n), UL_OK);
    assert_int_equal(n, 1);
    assert_memory_equal(ev[0].accused, ul_key_pubkey(f->k[1]), 32);
    assert_int_equal(ev[0].height, 1);
    assert_int_equal(ev[0].round, 0);
    assert_int_equal(ev[0].type, UL_VOTE_PRECOMMIT);
    assert_int_equal(ev[0].recorded_at, 2);
    assert_memory_equal(ev[0].tx_id, id, UL_HASH_BYTES);
    /* Under the state root of header 2 (membership), absent under header 1's. */
    ul_header h1, h2;
    ul_chainfx_header(c, 1, &h1);
    ul_chainfx_header(c, 2, &h2);
    state_key_hash(kh, ul_key_pubkey(f->k[1]), 1, 0, UL_VOTE_PRECOMMIT);
    ul_be64_put(v, 2);
    memcpy(v + 8, id, UL_HASH_BYTES);
    ul_client_sha256(vh, v, sizeof v);
    assert_int_equal(ul_smt_prove(ul_chain_store(c), h2.state_root, kh, &proof), UL_OK);
    assert_int_equal(ul_client_state_verify(&proof, h2.state_root, kh, vh), UL_OK);
    assert_int_not_equal(ul_client_state_verify(&proof, h2.state_root, kh, NULL), UL_OK);
    assert_int_equal(ul_smt_prove(ul_chain_store(c), h1.state_root, kh, &proof), UL_OK);
    assert_int_equal(ul_client_state_verify(&proof, h1.state_root, kh, NULL), UL_OK);
    /* The same (accused, height, round, type) with another pair of hashes: already recorded. */
    assert_int_equal(report(f, c, 2, 1, &a, &z, NULL), UL_E_EVIDENCE_KNOWN);
    assert_int_equal(report(f, c, 0, 1, &a, &b, NULL), UL_E_EVIDENCE_KNOWN);
    assert_int_equal(ul_chain_pending_count(c), 0);
    /* Another round, another type, a nil vote against a value, the height being decided now
     * (head + 1): each a record of its own. */
    svote r1a, r1b, pa, pb, na, nb;
    vote(f, &r1a, 1, UL_VOTE_PRECOMMIT, 1, 1, 0x10);
    vote(f, &r1b, 1, UL_VOTE_PRECOMMIT, 1, 1, 0x20);
    vote(f, &pa, 1, UL_VOTE_PREVOTE, 1, 0, 0x10);
    vote(f, &pb, 1, UL_VOTE_PREVOTE, 1, 0, 0x20);
    vote(f, &na, 3, UL_VOTE_PREVOTE, 3, 4, NIL);
    vote(f, &nb, 3, UL_VOTE_PREVOTE, 3, 4, 0x77);
    assert_int_equal(report(f, c, 0, 1, &r1a, &r1b, NULL), UL_OK);
    assert_int_equal(report(f, c, 0, 1, &pa, &pb, NULL), UL_OK);
    assert_int_equal(report(f, c, 2, 3, &nb, &na, id2), UL_OK);
    commit(f, c); /* height 3 */
    assert_int_equal(ul_chain_evidence_list(c, ev, 4, &n), UL_OK);
    assert_int_equal(n, 4);
    /* Key order: accused, then height, round, type. */
    const uint8_t *k1 = ul_key_pubkey(f->k[1]), *k3 = ul_key_pubkey(f->k[3]);
    size_t i1 = memcmp(k1, k3, 32) < 0 ? 0 : 1; /* where k1's three records start */
    size_t i3 = i1 == 0 ? 3 : 0;
    assert_memory_equal(ev[i1].accused, k1, 32);
    assert_int_equal(ev[i1].round, 0);
    assert_int_equal(ev[i1].type, UL_VOTE_PREVOTE);
    assert_int_equal(ev[i1 + 1].round, 0);
    assert_int_equal(ev[i1 + 1].type, UL_VOTE_PRECOMMIT);
    assert_int_equal(ev[i1 + 2].round, 1);
    assert_memory_equal(ev[i3].accused, k3, 32);
    assert_int_equal(ev[i3].height, 3);
    assert_int_equal(ev[i3].round, 4);
    assert_int_equal(ev[i3].recorded_at, 3);
    assert_memory_equal(ev[i3].tx_id, id2, UL_HASH_BYTES);
    /* The list is bounded by the caller's capacity, never truncated silently. */
    assert_int_equal(ul_chain_evidence_list(c, ev, 3, &n), UL_E_LIMIT);
    assert_int_equal(n, 3);
    assert_int_equal(ul_chain_evidence_list(c, NULL, 0, &n), UL_E_LIMIT);
    /* Persisted: the same after a restart. */
    char dir[128];
    snprintf(dir, sizeof dir, "%s/valid", f->root);
    ul_chain_close(c);
    assert_int_equal(ul_chainfx_chain_open(&c, dir, NULL, 0), UL_OK);
    assert_int_equal(ul_chain_evidence_list(c, ev, 4, &n), UL_OK);
    assert_int_equal(n, 4);
    ul_chain_close(c);
}

/* Each rejection has its own error and leaves the pending block as it was. */
static void test_rejections(void **state)
{
    fx *f = *state;
    ul_chain *c = open_chain(f, "reject");
    svote a, b, x;
    uint8_t body[1024];
    size_t blen;
    commit(f, c);
    commit(f, c); /* head 2: heights 1..3 may be reported */
    vote(f, &a, 1, UL_VOTE_PRECOMMIT, 2, 0, 0x10);
    vote(f, &b, 1, UL_VOTE_PRECOMMIT, 2, 0, 0x20);
    /* Not conflicting: another height, round or type; one hash twice. */
    vote(f, &x, 1, UL_VOTE_PRECOMMIT, 1, 0, 0x20);
    assert_int_equal(report(f, c, 0, 1, &a, &x, NULL), UL_E_EVIDENCE);
    vote(f, &x, 1, UL_VOTE_PRECOMMIT, 2, 1, 0x20);
    assert_int_equal(report(f, c, 0, 1, &a, &x, NULL), UL_E_EVIDENCE);
    vote(f, &x, 1, UL_VOTE_PREVOTE, 2, 0, 0x20);
    assert_int_equal(report(f, c, 0, 1, &a, &x, NULL), UL_E_EVIDENCE);
    vote_d(f, &x, 1, UL_VOTE_PRECOMMIT, 2, 0, 0x10, NOW(2) + 9, UL_DOMAIN_VOTE);
    assert_int_equal(report(f, c, 0, 1, &a, &x, NULL), UL_E_EVIDENCE);
    blen = raw_body(body, sizeof body, 1, ul_key_pubkey(f->k[1]), &a, &x);
    assert_int_equal(submit_raw(f, c, body, blen, (unsigned[]){0}, 1, UL_DOMAIN_TX), UL_E_EVIDENCE);
    /* Non-canonical order, through the chain. */
    blen = raw_body(body, sizeof body, 1, ul_key_pubkey(f->k[1]), &b, &a);
    assert_int_equal(submit_raw(f, c, body, blen, (unsigned[]){0}, 1, UL_DOMAIN_TX),
                     UL_E_SCHEMA_FIELD);
    /* Heights: 0, and past the one being decided (head + 1 = 3). */
    svote f1, f2;
    vote(f, &f1, 1, UL_VOTE_PREVOTE, 4, 0, 0x10);
    vote(f, &f2, 1, UL_VOTE_PREVOTE, 4, 0, 0x20);
    assert_int_equal(report(f, c, 0, 1, &f1, &f2, NULL), UL_E_HEIGHT);
    vote(f, &f1, 1, UL_VOTE_PREVOTE, 0, 0, 0x10);
    vote(f, &f2, 1, UL_VOTE_PREVOTE, 0, 0, 0x20);
    assert_int_equal(report(f, c, 0, 1, &f1, &f2, NULL), UL_E_HEIGHT);
    /* The accused is no validator (k4 signed both votes). */
    svote o1, o2;
    vote(f, &o1, 4, UL_VOTE_PRECOMMIT, 2, 0, 0x10);
    vote(f, &o2, 4, UL_VOTE_PRECOMMIT, 2, 0, 0x20);
    assert_int_equal(report(f, c, 0, 4, &o1, &o2, NULL), UL_E_EVIDENCE_VALIDATOR);
    /* Bad signatures: A's (k2 signed it, not k1), B's, a vote signed under another domain, and
     * votes of another chain. */
    vote(f, &x, 2, UL_VOTE_PRECOMMIT, 2, 0, 0x10);
    assert_int_equal(report(f, c, 0, 1, &x, &b, NULL), UL_E_SIG);
    vote(f, &x, 2, UL_VOTE_PRECOMMIT, 2, 0, 0x20);
    assert_int_equal(report(f, c, 0, 1, &a, &x, NULL), UL_E_SIG);
    x = b;
    x.sig[5] ^= 1;
    assert_int_equal(report(f, c, 0, 1, &a, &x, NULL), UL_E_SIG);
    vote_d(f, &x, 1, UL_VOTE_PRECOMMIT, 2, 0, 0x20, NOW(2), UL_DOMAIN_TX);
    assert_int_equal(report(f, c, 0, 1, &a, &x, NULL), UL_E_SIG);
    /* The reporter: not a validator; two reporters; the tx signed under another domain. */
    assert_int_equal(report(f, c, 4, 1, &a, &b, NULL), UL_E_VALIDATOR);
    blen = raw_body(body, sizeof body, 1, ul_key_pubkey(f->k[1]), &a, &b);
    assert_int_equal(submit_raw(f, c, body, blen, (unsigned[]){0, 2}, 2, UL_DOMAIN_TX),
                     UL_E_TX_INVALID);
    assert_int_equal(submit_raw(f, c, body, blen, (unsigned[]){0}, 1, UL_DOMAIN_RELEASE), UL_E_SIG);
    assert_int_equal(ul_chain_pending_count(c), 0);
    /* The valid one goes in with nonce 1; nonce 1 again (other votes) is a replay. */
    assert_int_equal(submit_raw(f, c, body, blen, (unsigned[]){0}, 1, UL_DOMAIN_TX), UL_OK);
    svote p1, p2;
    vote(f, &p1, 2, UL_VOTE_PREVOTE, 2, 0, 0x10);
    vote(f, &p2, 2, UL_VOTE_PREVOTE, 2, 0, 0x20);
    blen = raw_body(body, sizeof body, 1, ul_key_pubkey(f->k[2]), &p1, &p2);
    assert_int_equal(submit_raw(f, c, body, blen, (unsigned[]){0}, 1, UL_DOMAIN_TX), UL_E_REPLAY);
    assert_int_equal(ul_chain_pending_count(c), 1);
    commit(f, c);
    ul_chain_close(c);
}

/* The accused must be in the set that signs the votes' height; the reporter in the current set. */
static void test_across_set_change(void **state)
{
    fx *f = *state;
    ul_chain *c = open_chain(f, "change");
    ul_valset next;
    ul_chainfx_txbuf t;
    uint8_t body[UL_MAX_RECORD_BYTES], id[UL_HASH_BYTES];
    size_t blen;
    commit(f, c); /* 1 */
    /* Block 2 changes the set to k0, k1, k2, k4: k4 signs from height 3 on, k3 no longer. */
    const ul_key *ks[4] = {f->k[0], f->k[1], f->k[2], f->k[4]};
    ul_chainfx_valset(&next, ks, (uint64_t[]){1, 1, 1, 1}, 4);
    ul_valset_change ch = {.nonce = 1, .validators = next};
    assert_int_equal(ul_schema_valset_change_encode(body, sizeof body, &blen, &ch), UL_OK);
    ul_chainfx_tx(&t, f->chain_id, UL_TX_VALSET, body, blen, (const ul_key *const *)f->k, 3,
                  UL_DOMAIN_TX);
    assert_int_equal(ul_chain_submit(c, t.b, t.len, id), UL_OK);
    commit(f, c); /* 2 */
    svote a2, b2, a3, b3, c1, d1;
    vote(f, &a2, 3, UL_VOTE_PRECOMMIT, 2, 0, 0x10);
    vote(f, &b2, 3, UL_VOTE_PRECOMMIT, 2, 0, 0x20);
    vote(f, &a3, 3, UL_VOTE_PRECOMMIT, 3, 0, 0x10);
    vote(f, &b3, 3, UL_VOTE_PRECOMMIT, 3, 0, 0x20);
    /* k3 left: it reports no more, and at height 3 its votes count for nothing. */
    assert_int_equal(report(f, c, 3, 1, &a2, &b2, NULL), UL_E_VALIDATOR);
    assert_int_equal(report(f, c, 0, 3, &a3, &b3, NULL), UL_E_EVIDENCE_VALIDATOR);
    /* k4 joined: it reports now, but was nobody at height 1. */
    vote(f, &c1, 4, UL_VOTE_PREVOTE, 1, 0, 0x10);
    vote(f, &d1, 4, UL_VOTE_PREVOTE, 1, 0, 0x20);
    assert_int_equal(report(f, c, 0, 4, &c1, &d1, NULL), UL_E_EVIDENCE_VALIDATOR);
    /* k3 at height 2, where it was a validator, reported by the newcomer k4; and k4 at 3. */
    assert_int_equal(report(f, c, 4, 3, &a2, &b2, NULL), UL_OK);
    vote(f, &c1, 4, UL_VOTE_PREVOTE, 3, 0, 0x10);
    vote(f, &d1, 4, UL_VOTE_PREVOTE, 3, 0, 0x20);
    assert_int_equal(report(f, c, 1, 4, &c1, &d1, NULL), UL_OK);
    commit(f, c); /* 3 */
    ul_evidence_entry ev[4];
    size_t n;
    assert_int_equal(ul_chain_evidence_list(c, ev, 4, &n), UL_OK);
    assert_int_equal(n, 2);
    ul_chain_close(c);
}

static ul_err source(void *arg, uint64_t h, uint8_t **blk, size_t *blen, uint8_t **cm, size_t *clen)
{
    return ul_chainfx_block(arg, h, blk, blen, cm, clen);
}

/* Blocks holding evidence replay to the same headers (state root included) by apply and audit. */
static void test_apply_and_audit(void **state)
{
    fx *f = *state;
    ul_chain *a = open_chain(f, "a"), *b = open_chain(f, "b");
    svote x, y;
    commit(f, a);
    vote(f, &x, 2, UL_VOTE_PRECOMMIT, 1, 0, NIL);
    vote(f, &y, 2, UL_VOTE_PRECOMMIT, 1, 0, 0x99);
    assert_int_equal(report(f, a, 1, 2, &x, &y, NULL), UL_OK);
    vote(f, &x, 0, UL_VOTE_PREVOTE, 2, 3, 0x01);
    vote(f, &y, 0, UL_VOTE_PREVOTE, 2, 3, 0x02);
    assert_int_equal(report(f, a, 1, 0, &x, &y, NULL), UL_OK);
    commit(f, a);
    commit(f, a);
    for (uint64_t h = 1; h <= ul_chain_height(a); h++) {
        uint8_t *blk, *cm;
        size_t bl, cl;
        assert_int_equal(ul_chainfx_block(a, h, &blk, &bl, &cm, &cl), UL_OK);
        assert_int_equal(ul_chain_apply(b, blk, bl, cm, cl), UL_OK);
        free(blk);
        free(cm);
    }
    ul_header ha, hb;
    ul_chainfx_header(a, 3, &ha);
    ul_chainfx_header(b, 3, &hb);
    assert_memory_equal(ha.state_root, hb.state_root, UL_HASH_BYTES);
    ul_evidence_entry ea[4], eb[4];
    size_t na, nb;
    assert_int_equal(ul_chain_evidence_list(a, ea, 4, &na), UL_OK);
    assert_int_equal(ul_chain_evidence_list(b, eb, 4, &nb), UL_OK);
    assert_int_equal(na, 2);
    assert_int_equal(nb, 2);
    assert_memory_equal(ea, eb, sizeof ea[0] * 2);
    char scratch[128];
    ul_audit_result res;
    snprintf(scratch, sizeof scratch, "%s/audit", f->root);
    assert_int_equal(mkdir(scratch, 0700), 0);
    assert_int_equal(ul_audit_run(f->genesis, f->glen, source, a, scratch, NULL, NULL, &res),
                     UL_OK);
    assert_int_equal(res.height, 3);
    ul_chain_close(a);
    ul_chain_close(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_codec_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_codec_rejections, setup, teardown),
        cmocka_unit_test_setup_teardown(test_builder, setup, teardown),
        cmocka_unit_test_setup_teardown(test_committed_listed_proven, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rejections, setup, teardown),
        cmocka_unit_test_setup_teardown(test_across_set_change, setup, teardown),
        cmocka_unit_test_setup_teardown(test_apply_and_audit, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
