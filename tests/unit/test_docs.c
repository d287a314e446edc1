/* The worked examples of docs/protocol.md, recomputed with the project's code: every value the
 * document's `vectors` blocks give (keys, canonical bytes, hashes, signed digests, signatures, a
 * header, a state root, a whole proof bundle) must be exactly what the code makes, so the
 * document cannot drift from the code. UL_WRITE_DOCS=1 prints the blocks instead of checking
 * them (to paste into the document after a deliberate change). Run from the repository root, or
 * set UL_DOCS_DIR to the folder holding protocol.md.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <secp256k1.h>
#include <secp256k1_extrakeys.h>
#include <secp256k1_schnorrsig.h>

#include "chainfx.h"
#include "client/ul_client.h"
#include "ledger/ul_ledger.h"

/* Names and values of the document's vectors blocks; the document holds a few dozen. */
#define MAX_VECTORS 128
#define MAX_NAME 64
/* The largest value: the example bundle (~1.5 KB). */
#define MAX_VALUE 4096

typedef struct {
    char name[MAX_NAME];
    size_t len;
    uint8_t v[MAX_VALUE];
    bool used;
} doc_vector;

static doc_vector g_vec[MAX_VECTORS];
static size_t g_n;
static bool g_write; /* UL_WRITE_DOCS=1: print, do not compare */

/* ---- The document's vectors --------------------------------------------------------------- */

static int hex_nibble(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    return -1;
}

/* Appends the hex digits of s (spaces allowed) to v; false on anything else. */
static bool append_hex(doc_vector *v, const char *s)
{
    int hi = -1;
    for (; *s != '\0' && *s != '\n'; s++) {
        int n = hex_nibble(*s);
        if (*s == ' ') {
            continue;
        }
        if (n < 0 || (hi < 0 && v->len == MAX_VALUE)) {
            return false;
        }
        if (hi < 0) {
            hi = n;
        } else {
            v->v[v->len++] = (uint8_t)(hi << 4 | n);
            hi = -1;
        }
    }
    return hi < 0;
}

/* Reads every ```vectors block: "name = hex" lines ("name =" when the value starts on the next
 * line), each continued by indented hex lines. */
static void load_doc(void)
{
    const char *dir = getenv("UL_DOCS_DIR");
    char path[4096], line[512];
    bool in_block = false;
    doc_vector *cur = NULL;
    snprintf(path, sizeof path, "%s/protocol.md", dir && dir[0] ? dir : "docs");
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        fprintf(stderr, "cannot open %s: run from the repo root or set UL_DOCS_DIR\n", path);
        fail();
    }
    while (fgets(line, sizeof line, f) != NULL) {
        char *eq = strstr(line, " =");
        assert_non_null(strchr(line, '\n')); /* no line longer than the buffer */
        if (strncmp(line, "```", 3) == 0) {
            in_block = !in_block && strcmp(line, "```vectors\n") == 0;
            cur = NULL;
        } else if (in_block && line[0] == ' ' && cur != NULL) {
            assert_true(append_hex(cur, line));
        } else if (in_block && eq != NULL && line[0] != ' ' && (eq[2] == ' ' || eq[2] == '\n')) {
            assert_true(g_n < MAX_VECTORS && (size_t)(eq - line) < MAX_NAME);
            cur = &g_vec[g_n++];
            memcpy(cur->name, line, (size_t)(eq - line));
            cur->name[eq - line] = '\0';
            for (size_t i = 0; i + 1 < g_n; i++) {
                assert_string_not_equal(g_vec[i].name, cur->name); /* one value per name */
            }
            if (!append_hex(cur, eq + 2)) {
                fprintf(stderr, "%s: value of %s is not hex\n", path, cur->name);
                fail();
            }
        } else if (in_block && line[0] != '\n') {
            fprintf(stderr, "%s: unexpected line in a vectors block: %s", path, line);
            fail();
        }
    }
    fclose(f);
}

/* Prints a value as the document writes it: 32 bytes (64 hex digits) per line. */
static void print_vector(const char *name, const uint8_t *v, size_t len)
{
    printf("%s =", name);
    for (size_t i = 0; i < len; i++) {
        if (i % 32 == 0) {
            printf(i == 0 && len <= 32 ? " " : "\n    ");
        }
        printf("%02x", v[i]);
    }
    printf("\n");
}

/* The document's value of name must be exactly v[len]. */
static void expect(const char *name, const uint8_t *v, size_t len)
{
    if (g_write) {
        print_vector(name, v, len);
        return;
    }
    for (size_t i = 0; i < g_n; i++) {
        if (strcmp(g_vec[i].name, name) == 0) {
            g_vec[i].used = true;
            if (g_vec[i].len != len || memcmp(g_vec[i].v, v, len) != 0) {
                fprintf(stderr, "docs/protocol.md: %s differs from what the code makes:\n", name);
                print_vector(name, v, len);
                fail();
            }
            return;
        }
    }
    fprintf(stderr, "docs/protocol.md has no vector %s\n", name);
    fail();
}

/* ---- The example's fixed inputs ---------------------------------------------------------- */

#define GENESIS_TIME_MS 1767225600000ULL /* 2026-01-01T00:00:00Z */
#define VOTE_TIME_MS (GENESIS_TIME_MS + 1500)
#define CHECKPOINT_TIME_MS (GENESIS_TIME_MS + 60000) /* a minute later: the head is idle */
#define NS "acme/router"
#define HW "router-v2"
#define IMAGE "upledger example image\n"

typedef struct {
    secp256k1_context *ctx;
    secp256k1_keypair kp;
    uint8_t pub[UL_PUBKEY_BYTES];
} doc_key;

static const uint8_t g_aux[32]; /* all zero: the example's BIP-340 auxiliary randomness */

static void key_make(doc_key *k, uint8_t fill)
{
    uint8_t sk[32];
    secp256k1_xonly_pubkey xo;
    memset(sk, fill, sizeof sk);
    k->ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    assert_non_null(k->ctx);
    assert_true(secp256k1_keypair_create(k->ctx, &k->kp, sk));
    assert_true(secp256k1_keypair_xonly_pub(k->ctx, &xo, NULL, &k->kp));
    assert_true(secp256k1_xonly_pubkey_serialize(k->ctx, k->pub, &xo));
}

/* BIP-340 signature of digest32 with the fixed auxiliary randomness. */
static void key_sign(const doc_key *k, uint8_t sig[UL_SIG_BYTES], const uint8_t digest32[32])
{
    assert_true(secp256k1_schnorrsig_sign32(k->ctx, sig, digest32, &k->kp, g_aux));
}

typedef struct {
    doc_key val, pub;
    uint8_t genesis[1024];
    size_t genesis_len;
    uint8_t chain_id[UL_HASH_BYTES];
    ul_valset vs;
    uint8_t reg_tx[UL_MAX_TX_BYTES], pub_tx[UL_MAX_TX_BYTES];
    size_t reg_len, pub_len;
    uint8_t release_id[UL_HASH_BYTES];
    uint8_t reg_leaf[UL_HASH_BYTES], pub_leaf[UL_HASH_BYTES];
    uint8_t header_hash[UL_HASH_BYTES];
} example;

static example g_ex;

/* A signed tx of one signature by k, with its parts checked as the document lists them. */
static void tx_make(uint8_t *out, size_t *len, const char *what, uint64_t kind, ul_domain d,
                    const uint8_t *body, size_t blen, const doc_key *k, uint8_t leaf[UL_HASH_BYTES])
{
    static ul_tx t;
    char name[MAX_NAME];
    uint8_t digest[UL_HASH_BYTES];
    memset(&t, 0, sizeof t);
    t.kind = kind;
    t.body = (ul_span){body, blen};
    t.n_sigs = 1;
    memcpy(t.sigs[0].pubkey, k->pub, UL_PUBKEY_BYTES);
    ul_client_signed_digest(digest, d, g_ex.chain_id, body, blen);
    key_sign(k, t.sigs[0].sig, digest);
    assert_int_equal(ul_client_sig_verify(t.sigs[0].sig, d, g_ex.chain_id, body, blen, k->pub),
                     UL_OK);
    assert_int_equal(ul_schema_tx_encode(out, UL_MAX_TX_BYTES, len, &t), UL_OK);
    ul_client_merkle_leaf_hash(leaf, out, *len);
    snprintf(name, sizeof name, "%s.body", what);
    expect(name, body, blen);
    snprintf(name, sizeof name, "%s.digest", what);
    expect(name, digest, sizeof digest);
    snprintf(name, sizeof name, "%s.sig", what);
    expect(name, t.sigs[0].sig, UL_SIG_BYTES);
    snprintf(name, sizeof name, "%s.tx", what);
    expect(name, out, *len);
    snprintf(name, sizeof name, "%s.leaf", what);
    expect(name, leaf, UL_HASH_BYTES);
}

static void make_register(void)
{
    static ul_register r;
    uint8_t body[UL_MAX_RECORD_BYTES];
    size_t blen;
    memset(&r, 0, sizeof r);
    r.ns = ul_span_str(NS);
    r.nonce = 1;
    r.policy.owners.n = 1;
    r.policy.owners.threshold = 1;
    memcpy(r.policy.owners.keys[0], g_ex.pub.pub, UL_PUBKEY_BYTES);
    r.policy.publishers = r.policy.owners;
    r.policy.n_revokers = 2;
    r.policy.revokers[0] = ul_span_str("owners");
    r.policy.revokers[1] = ul_span_str("publishers");
    assert_int_equal(ul_schema_register_encode(body, sizeof body, &blen, &r), UL_OK);
    tx_make(g_ex.reg_tx, &g_ex.reg_len, "register", UL_TX_REGISTER, UL_DOMAIN_TX, body, blen,
            &g_ex.pub, g_ex.reg_leaf);
}

static void make_publish(void)
{
    static ul_release r;
    uint8_t body[UL_MAX_RECORD_BYTES];
    size_t blen;
    memset(&r, 0, sizeof r);
    r.ns = ul_span_str(NS);
    r.provider = ul_span_str("ACME Networks");
    r.time = GENESIS_TIME_MS / 1000;
    r.version = ul_span_str("1.2.0");
    r.seq = 7;
    ul_client_sha256(r.digest, (const uint8_t *)IMAGE, strlen(IMAGE));
    r.size = strlen(IMAGE);
    r.file = ul_span_str("router-1.2.0.bin");
    r.n_links = 1;
    r.links[0] = ul_span_str("https://mirror.example/acme/router");
    r.n_hw = 1;
    r.hw[0] = ul_span_str(HW);
    r.kind = UL_KIND_SECURITY;
    assert_int_equal(ul_schema_release_encode(body, sizeof body, &blen, &r), UL_OK);
    ul_client_sha256(g_ex.release_id, body, blen);
    expect("release.id", g_ex.release_id, UL_HASH_BYTES);
    tx_make(g_ex.pub_tx, &g_ex.pub_len, "publish", UL_TX_PUBLISH, UL_DOMAIN_RELEASE, body, blen,
            &g_ex.pub, g_ex.pub_leaf);
}

static int setup(void **state)
{
    static ul_genesis g;
    uint8_t vbytes[UL_MAX_VALSET_BYTES], h[UL_HASH_BYTES];
    size_t vlen;
    (void)state;
    assert_int_equal(ul_client_init(), UL_OK);
    g_write = getenv("UL_WRITE_DOCS") != NULL && strcmp(getenv("UL_WRITE_DOCS"), "1") == 0;
    if (!g_write) {
        load_doc();
    }
    key_make(&g_ex.val, 0x11);
    key_make(&g_ex.pub, 0x22);
    memset(&g_ex.vs, 0, sizeof g_ex.vs);
    g_ex.vs.n = 1;
    memcpy(g_ex.vs.v[0].pubkey, g_ex.val.pub, UL_PUBKEY_BYTES);
    g_ex.vs.v[0].power = 1;
    assert_int_equal(ul_schema_valset_encode(vbytes, sizeof vbytes, &vlen, &g_ex.vs), UL_OK);
    assert_int_equal(ul_client_valset_hash(h, &g_ex.vs), UL_OK);
    memset(&g, 0, sizeof g);
    g.version = UL_SCHEMA_VERSION;
    g.name = ul_span_str("docs-example");
    g.time_ms = GENESIS_TIME_MS;
    g.validators = g_ex.vs;
    assert_int_equal(
        ul_schema_genesis_encode(g_ex.genesis, sizeof g_ex.genesis, &g_ex.genesis_len, &g), UL_OK);
    ul_client_sha256(g_ex.chain_id, g_ex.genesis, g_ex.genesis_len);
    expect("validator.pub", g_ex.val.pub, UL_PUBKEY_BYTES);
    expect("publisher.pub", g_ex.pub.pub, UL_PUBKEY_BYTES);
    expect("valset", vbytes, vlen);
    expect("validators_hash", h, sizeof h);
    expect("genesis", g_ex.genesis, g_ex.genesis_len);
    expect("chain_id", g_ex.chain_id, UL_HASH_BYTES);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    secp256k1_context_destroy(g_ex.val.ctx);
    secp256k1_context_destroy(g_ex.pub.ctx);
    return 0;
}

/* ---- Checks --------------------------------------------------------------------------------- */

/* SHA-256 of each domain tag: the first 64 bytes of every tagged hash. */
static void test_tags(void **state)
{
    (void)state;
    for (int d = 0; d < UL_DOMAIN_COUNT_; d++) {
        const char *tag = ul_client_domain_tag((ul_domain)d);
        uint8_t h[UL_HASH_BYTES];
        char name[MAX_NAME];
        ul_client_sha256(h, (const uint8_t *)tag, strlen(tag));
        snprintf(name, sizeof name, "tag.%s", tag + strlen("upledger/v1/"));
        expect(name, h, sizeof h);
    }
}

/* A reference sparse Merkle root written from the document's rules (tests only: recursion is
 * fine here): empty 0^32, one leaf its leaf hash, else node(left half, right half). */
static void smt_root(uint8_t out[UL_HASH_BYTES], uint8_t (*keys)[UL_HASH_BYTES],
                     uint8_t (*vals)[UL_HASH_BYTES], size_t n, size_t depth)
{
    uint8_t l[UL_HASH_BYTES], r[UL_HASH_BYTES], buf[1 + 2 * UL_HASH_BYTES];
    size_t split = 0;
    if (n == 0) {
        memset(out, 0, UL_HASH_BYTES);
        return;
    }
    if (n == 1) {
        ul_client_smt_leaf_hash(out, keys[0], vals[0]);
        return;
    }
    while (split < n && ((keys[split][depth / 8] >> (7 - depth % 8)) & 1) == 0) {
        split++;
    }
    smt_root(l, keys, vals, split, depth + 1);
    smt_root(r, keys + split, vals + split, n - split, depth + 1);
    buf[0] = 0x03;
    memcpy(buf + 1, l, UL_HASH_BYTES);
    memcpy(buf + 1 + UL_HASH_BYTES, r, UL_HASH_BYTES);
    ul_client_sha256(out, buf, sizeof buf);
}

static int cmp_entry(const void *a, const void *b)
{
    return memcmp(a, b, UL_HASH_BYTES);
}

/* The state block 1 writes, laid out as the document says, and its root. */
static void state_entries(uint8_t root[UL_HASH_BYTES])
{
    static uint8_t k[4][160], v[4][UL_MAX_RECORD_BYTES];
    size_t kl[4], vl[4];
    uint8_t hv[4][2 * UL_HASH_BYTES];
    ul_register r;
    char name[MAX_NAME];
    const char *what[4] = {"namespace", "nonce", "latest", "installable"};
    ul_tx t;
    assert_int_equal(ul_schema_tx_decode(&t, g_ex.reg_tx, g_ex.reg_len), UL_OK);
    assert_int_equal(ul_schema_register_decode(&r, t.body.ptr, t.body.len), UL_OK);
    /* 'S' 'n' ns -> registration height 8 BE, canonical policy */
    kl[0] = (size_t)snprintf((char *)k[0], sizeof k[0], "Sn%s", NS);
    ul_be64_put(v[0], 1);
    assert_int_equal(ul_schema_policy_encode(v[0] + 8, sizeof v[0] - 8, &vl[0], &r.policy), UL_OK);
    vl[0] += 8;
    /* 'S' 'a' signer key -> last nonce 8 BE */
    k[1][0] = 'S', k[1][1] = 'a', kl[1] = 2 + UL_PUBKEY_BYTES;
    memcpy(k[1] + 2, g_ex.pub.pub, UL_PUBKEY_BYTES);
    ul_be64_put(v[1], 1), vl[1] = 8;
    /* 'S' 'q' ns 0x00 hw -> seq 8 BE, release id; 'S' 'i' the same list of one entry */
    kl[2] = (size_t)snprintf((char *)k[2], sizeof k[2], "Sq%s%c%s", NS, 0, HW);
    ul_be64_put(v[2], 7);
    memcpy(v[2] + 8, g_ex.release_id, UL_HASH_BYTES), vl[2] = 8 + UL_HASH_BYTES;
    memcpy(k[3], k[2], kl[2]), kl[3] = kl[2], k[3][1] = 'i';
    memcpy(v[3], v[2], vl[2]), vl[3] = vl[2];
    for (size_t i = 0; i < 4; i++) {
        snprintf(name, sizeof name, "state.%s.key", what[i]);
        expect(name, k[i], kl[i]);
        snprintf(name, sizeof name, "state.%s.value", what[i]);
        expect(name, v[i], vl[i]);
        ul_client_sha256(hv[i], k[i], kl[i]);
        ul_client_sha256(hv[i] + UL_HASH_BYTES, v[i], vl[i]);
    }
    qsort(hv, 4, sizeof hv[0], cmp_entry);
    uint8_t keys[4][UL_HASH_BYTES], vals[4][UL_HASH_BYTES];
    for (size_t i = 0; i < 4; i++) {
        memcpy(keys[i], hv[i], UL_HASH_BYTES);
        memcpy(vals[i], hv[i] + UL_HASH_BYTES, UL_HASH_BYTES);
    }
    smt_root(root, keys, vals, 4, 0);
    expect("state_root", root, UL_HASH_BYTES);
}

/* The validator's precommit of block 1 (hash) and the commit holding it, committed to c. */
static void commit_block_one(ul_chain *c, const uint8_t hash[UL_HASH_BYTES])
{
    uint8_t vb[UL_MAX_VOTE_BYTES], digest[UL_HASH_BYTES], cb[UL_MAX_COMMIT_BYTES];
    size_t vlen, clen;
    ul_vote v = {.type = UL_VOTE_PRECOMMIT, .height = 1, .round = 0, .time_ms = VOTE_TIME_MS};
    static ul_commit cm;
    memcpy(v.block_hash, hash, UL_HASH_BYTES);
    assert_int_equal(ul_schema_vote_encode(vb, sizeof vb, &vlen, &v), UL_OK);
    ul_client_signed_digest(digest, UL_DOMAIN_VOTE, g_ex.chain_id, vb, vlen);
    memset(&cm, 0, sizeof cm);
    cm.height = 1;
    memcpy(cm.block_hash, hash, UL_HASH_BYTES);
    cm.n_sigs = 1;
    cm.sigs[0].time_ms = VOTE_TIME_MS;
    key_sign(&g_ex.val, cm.sigs[0].sig, digest);
    assert_int_equal(ul_schema_commit_encode(cb, sizeof cb, &clen, &cm), UL_OK);
    assert_int_equal(ul_client_commit_verify(&cm, &g_ex.vs, g_ex.chain_id, 1, hash), UL_OK);
    assert_int_equal(ul_chain_commit(c, cb, clen), UL_OK);
    expect("vote", vb, vlen);
    expect("vote.digest", digest, sizeof digest);
    expect("vote.sig", cm.sigs[0].sig, UL_SIG_BYTES);
    expect("commit", cb, clen);
}

/* The first section of type t in bundle b (its byte string included). */
static ul_span section_of(const uint8_t *b, size_t len, uint64_t t, size_t skip)
{
    static ul_section s;
    size_t off = 0, head;
    uint64_t body;
    while (off < len && ul_schema_section_frame(b + off, len - off, &head, &body) == UL_OK) {
        assert_int_equal(ul_schema_section_decode(&s, b + off + head, (size_t)body), UL_OK);
        if (s.type == t && skip-- == 0) {
            return (ul_span){b + off, head + (size_t)body};
        }
        off += head + (size_t)body;
    }
    fail();
    return (ul_span){NULL, 0};
}

/* A checkpoint of head 1 (hash) a minute after the vote, kept by c; the head's bundle then
 * carries it: its CHECKPOINT section and the validator's VOTER section. */
static void checkpoint_block_one(ul_chain *c, const uint8_t hash[UL_HASH_BYTES])
{
    uint8_t vb[UL_MAX_VOTE_BYTES], digest[UL_HASH_BYTES], cb[UL_MAX_CHECKPOINT_BYTES];
    uint8_t *bundle = NULL;
    size_t vlen, clen, blen;
    static ul_checkpoint cp;
    static ul_device_state st;
    static ul_update u;
    ul_release_info info;
    memset(&cp, 0, sizeof cp);
    cp.v.height = 1;
    memcpy(cp.v.header_hash, hash, UL_HASH_BYTES);
    cp.v.time_ms = CHECKPOINT_TIME_MS;
    assert_int_equal(ul_schema_checkpoint_vote_encode(vb, sizeof vb, &vlen, &cp.v), UL_OK);
    ul_client_signed_digest(digest, UL_DOMAIN_CHECKPOINT, g_ex.chain_id, vb, vlen);
    cp.n_sigs = 1;
    key_sign(&g_ex.val, cp.sigs[0].sig, digest);
    assert_int_equal(ul_schema_checkpoint_encode(cb, sizeof cb, &clen, &cp), UL_OK);
    assert_int_equal(ul_chain_checkpoint_put(c, &cp), UL_OK);
    expect("checkpoint.vote", vb, vlen);
    expect("checkpoint.digest", digest, sizeof digest);
    expect("checkpoint.sig", cp.sigs[0].sig, UL_SIG_BYTES);
    expect("checkpoint", cb, clen);
    assert_int_equal(ul_chain_bundle(c, g_ex.release_id, ul_span_str(HW), 1, &bundle, &blen),
                     UL_OK);
    ul_span sec = section_of(bundle, blen, UL_SEC_CHECKPOINT, 0);
    expect("checkpoint.section", sec.ptr, sec.len);
    sec = section_of(bundle, blen, UL_SEC_VOTER, 0);
    expect("checkpoint.voter", sec.ptr, sec.len);
    assert_int_equal(
        ul_client_device_init(&st, g_ex.genesis, g_ex.genesis_len, (const uint8_t *)HW, strlen(HW)),
        UL_OK);
    assert_int_equal(ul_client_update_begin(&u, &st, (const uint8_t *)NS, strlen(NS), NULL,
                                            CHECKPOINT_TIME_MS + 1000, 60000),
                     UL_OK);
    assert_int_equal(ul_client_bundle_update(&u, bundle, blen), UL_OK);
    assert_int_equal(ul_client_bundle_final(&u, &info), UL_OK);
    assert_int_equal(info.checkpoint_time_ms, CHECKPOINT_TIME_MS);
    ul_client_update_abort(&u);
    free(bundle);
}

/* Block 1 (register + publish) on a real chain: its header, the precommit that commits it, and
 * the proof bundle a device of class router-v2 gets, all as the document gives them. */
static void test_block_one(void **state)
{
    char root[256];
    uint8_t tx_root[UL_HASH_BYTES], smt[UL_HASH_BYTES], id[UL_HASH_BYTES], hash[UL_HASH_BYTES];
    uint8_t *hb = NULL, *bundle = NULL;
    size_t hlen, blen;
    ul_header h;
    static ul_device_state st;
    static ul_update u;
    ul_release_info info;
    (void)state;
    make_register();
    make_publish();
    ul_client_merkle_node_hash(tx_root, g_ex.reg_leaf, g_ex.pub_leaf);
    expect("tx_root", tx_root, sizeof tx_root);
    state_entries(smt);

    ul_chainfx_tmpdir(root, sizeof root, "docs");
    ul_chain *c = ul_chainfx_open(root, "chain", g_ex.genesis, g_ex.genesis_len);
    assert_int_equal(ul_chain_submit(c, g_ex.reg_tx, g_ex.reg_len, id), UL_OK);
    assert_int_equal(ul_chain_submit(c, g_ex.pub_tx, g_ex.pub_len, id), UL_OK);
    assert_memory_equal(id, g_ex.release_id, UL_HASH_BYTES);
    assert_int_equal(ul_chain_seal(c, g_ex.val.pub, ul_chain_next_time(c), &h, hash), UL_OK);
    /* The roots the document derives by hand are the ones the node put in the header. */
    assert_int_equal(h.time_ms, GENESIS_TIME_MS);
    assert_memory_equal(h.prev, g_ex.chain_id, UL_HASH_BYTES);
    assert_memory_equal(h.tx_root, tx_root, UL_HASH_BYTES);
    assert_memory_equal(h.log_root, g_ex.pub_leaf, UL_HASH_BYTES);
    assert_int_equal(h.log_size, 1);
    assert_memory_equal(h.state_root, smt, UL_HASH_BYTES);
    commit_block_one(c, hash);
    assert_int_equal(ul_chain_header_bytes(c, 1, &hb, &hlen), UL_OK);
    expect("header", hb, hlen);
    expect("header_hash", hash, UL_HASH_BYTES);
    memcpy(g_ex.header_hash, hash, UL_HASH_BYTES);

    assert_int_equal(ul_chain_bundle(c, g_ex.release_id, ul_span_str(HW), 1, &bundle, &blen),
                     UL_OK);
    expect("bundle", bundle, blen);
    assert_int_equal(
        ul_client_device_init(&st, g_ex.genesis, g_ex.genesis_len, (const uint8_t *)HW, strlen(HW)),
        UL_OK);
    assert_int_equal(
        ul_client_bundle_verify(&u, &info, &st, (const uint8_t *)NS, strlen(NS), bundle, blen),
        UL_OK);
    assert_memory_equal(info.id, g_ex.release_id, UL_HASH_BYTES);
    checkpoint_block_one(c, hash);
    free(hb);
    free(bundle);
    ul_chain_close(c);
    ul_chainfx_rm_tree(root);
}

/* Signs an encoded record whose last entry is its signature, checks the digest against the
 * document's definition (the map head one entry smaller, the last 67 bytes left out) and the
 * result against the signer's key, and checks the vectors `what`, `what.digest`, `what.sig`. */
static void signed_record(const char *what, uint8_t *rec, size_t len, ul_domain d, uint8_t fill,
                          const uint8_t pub[UL_PUBKEY_BYTES])
{
    uint8_t sk[32], digest[UL_HASH_BYTES], want[UL_HASH_BYTES], signed_bytes[UL_MAX_REPORT_BYTES];
    char name[MAX_NAME];
    memset(sk, fill, sizeof sk);
    assert_true(len - 67 <= sizeof signed_bytes);
    signed_bytes[0] = (uint8_t)(rec[0] - 1);
    memcpy(signed_bytes + 1, rec + 1, len - 68);
    ul_client_signed_digest(want, d, g_ex.chain_id, signed_bytes, len - 67);
    assert_int_equal(ul_client_record_digest(digest, rec, len, d, g_ex.chain_id), UL_OK);
    assert_memory_equal(digest, want, UL_HASH_BYTES);
    assert_int_equal(ul_client_record_sign(rec, len, d, g_ex.chain_id, sk, g_aux), UL_OK);
    assert_int_equal(ul_client_record_verify(rec, len, d, g_ex.chain_id, pub), UL_OK);
    expect(what, rec, len);
    snprintf(name, sizeof name, "%s.digest", what);
    expect(name, digest, UL_HASH_BYTES);
    snprintf(name, sizeof name, "%s.sig", what);
    expect(name, rec + len - UL_SIG_BYTES, UL_SIG_BYTES);
}

/* The device report example: a device of class router-v2 that installed the release and
 * confirmed it reports to its tracker; the tracker answers "nothing to do" and sends its upstream
 * a summary counting that device. */
static void test_device_report(void **state)
{
    static ul_report r;
    ul_report_reply p;
    ul_summary s;
    ul_summary_entry en;
    uint8_t dev[32], trk[32], up[32], sk[32], buf[UL_MAX_REPORT_BYTES];
    size_t n;
    (void)state;
    memset(sk, 0x33, 32);
    assert_int_equal(ul_client_pubkey_from_secret(dev, sk), UL_OK);
    memset(sk, 0x44, 32);
    assert_int_equal(ul_client_pubkey_from_secret(trk, sk), UL_OK);
    memset(sk, 0x55, 32);
    assert_int_equal(ul_client_pubkey_from_secret(up, sk), UL_OK);
    expect("device.pub", dev, 32);
    expect("tracker.pub", trk, 32);
    expect("upstream.pub", up, 32);

    memset(&r, 0, sizeof r);
    r.version = 1;
    memcpy(r.device, dev, 32);
    memcpy(r.tracker, trk, 32);
    r.counter = 1;
    r.time = GENESIS_TIME_MS / 1000 + 300;
    r.reason = UL_REPORT_CONFIRM;
    r.hw_len = strlen(HW);
    memcpy(r.hw, HW, r.hw_len);
    r.height = 1;
    memcpy(r.header_hash, g_ex.header_hash, UL_HASH_BYTES);
    r.n_components = 1;
    r.comp[0].ns_len = strlen(NS);
    memcpy(r.comp[0].ns, NS, r.comp[0].ns_len);
    memcpy(r.comp[0].release_id, g_ex.release_id, UL_HASH_BYTES);
    r.comp[0].seq = 7;
    r.comp[0].state = UL_COMP_RUNNING;
    r.comp[0].has_attempt = true;
    memcpy(r.comp[0].attempt_id, g_ex.release_id, UL_HASH_BYTES);
    r.comp[0].attempt_result = UL_OK;
    r.comp[0].attempt_time = GENESIS_TIME_MS / 1000 + 240;
    assert_int_equal(ul_schema_report_encode(buf, sizeof buf, &n, &r), UL_OK);
    signed_record("report", buf, n, UL_DOMAIN_REPORT, 0x33, dev);

    memset(&p, 0, sizeof p);
    memcpy(p.device, dev, 32);
    p.counter = 1;
    assert_int_equal(ul_schema_reply_encode(buf, sizeof buf, &n, &p), UL_OK);
    signed_record("reply", buf, n, UL_DOMAIN_REPLY, 0x44, trk);

    memset(&en, 0, sizeof en);
    en.ns = ul_span_str(NS);
    en.hw = ul_span_str(HW);
    memcpy(en.release_id, g_ex.release_id, UL_HASH_BYTES);
    en.status = UL_FLEET_UP_TO_DATE;
    en.count = 1;
    memset(&s, 0, sizeof s);
    memcpy(s.from, trk, 32);
    memcpy(s.to, up, 32);
    s.counter = 1;
    s.time = GENESIS_TIME_MS / 1000 + 600;
    s.entries = &en;
    s.n_entries = 1;
    assert_int_equal(ul_schema_summary_encode(buf, sizeof buf, &n, &s), UL_OK);
    signed_record("summary", buf, n, UL_DOMAIN_SUMMARY, 0x44, trk);
}

/* Reads a whole file into a NUL-terminated heap buffer; fails the test when it cannot. */
static char *read_file(const char *path)
{
    FILE *f = fopen(path, "r");
    char *buf = NULL;
    long n = -1;
    if (f != NULL && fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
        fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n + 1)) != NULL) {
        n = (long)fread(buf, 1, (size_t)n, f);
        buf[n] = '\0';
    }
    if (f != NULL) {
        fclose(f);
    }
    if (buf == NULL) {
        fprintf(stderr, "cannot read %s: run from the repo root\n", path);
        fail();
    }
    return buf;
}

/* Every ```cddl block of the document is an excerpt of schema/upledger.cddl, verbatim. */
static void test_cddl_excerpts(void **state)
{
    const char *dir = getenv("UL_DOCS_DIR");
    char path[4096];
    size_t blocks = 0;
    (void)state;
    snprintf(path, sizeof path, "%s/protocol.md", dir && dir[0] ? dir : "docs");
    char *doc = read_file(path);
    char *cddl = read_file("schema/upledger.cddl");
    for (char *p = strstr(doc, "\n```cddl\n"); p != NULL; p = strstr(p, "\n```cddl\n")) {
        char *start = p + strlen("\n```cddl\n");
        char *end = strstr(start, "\n```\n");
        assert_non_null(end);
        end[1] = '\0'; /* the excerpt with its last newline */
        if (strstr(cddl, start) == NULL) {
            fprintf(stderr, "docs/protocol.md: this CDDL is not in schema/upledger.cddl:\n%s",
                    start);
            fail();
        }
        blocks++;
        p = end + 1;
        *p = '`';
    }
    assert_true(blocks > 0);
    free(doc);
    free(cddl);
}

/* Every vector the document gives was checked: none is left stale and unchecked. */
static void test_all_used(void **state)
{
    (void)state;
    for (size_t i = 0; i < g_n && !g_write; i++) {
        if (!g_vec[i].used) {
            fprintf(stderr, "docs/protocol.md: vector %s is not checked by test_docs\n",
                    g_vec[i].name);
            fail();
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tags),          cmocka_unit_test(test_block_one),
        cmocka_unit_test(test_device_report), cmocka_unit_test(test_cddl_excerpts),
        cmocka_unit_test(test_all_used),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
