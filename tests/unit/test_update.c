/* Unit tests for the device update path: proof bundles built by the node (ledger/bundle.c) and
 * verified as a stream by a device (client/update.c, image.c, device.c). Chains are built in
 * process with a 4-validator genesis whose keys the test holds, so every commit is real and
 * quorum cases can be forged. Covers: genuine bundles in chunks of any size, every deferred
 * verdict, every immediate failure, a bit flipped at every offset and every truncation, plain and
 * encrypted images, the A/B state machine, and that a failure leaves the device state untouched.
 * UL_TEST_SEED=N repeats a run; the seed is printed at the start of the tests that use it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <sodium.h>

#include "chainfx.h"
#include "ledger/ul_ledger.h"

#define T0 1700000000000ULL /* genesis time, unix ms */
#define NS "acme/widget"
#define NV 4 /* validators, power 10 each: 3 of them are a quorum */
#define BIG (1u << 20)

typedef ul_chainfx_txbuf txbuf;

typedef struct {
    char root[64];
    ul_key *val[NV]; /* in validator-set order (ascending public key) */
    ul_key *owner, *pub, *cert, *other;
    uint8_t genesis[1024];
    size_t glen;
    uint8_t chain_id[UL_HASH_BYTES];
    int n_chains;
} fx;

/* What a test publishes: a release of ns with the image bytes' digest and size. */
typedef struct {
    const char *ns;
    uint64_t seq;
    const char *version;
    const char *hw; /* NULL: "board-a" */
    uint64_t kind;
    const char *dep_ns, *dep_c;
    const uint8_t *image;
    size_t image_len;
    uint64_t chunk;        /* encrypted: plaintext bytes per chunk */
    const uint8_t *sealed; /* encrypted: the content key sealed for board-a */
} relspec;

typedef struct {
    uint8_t *p;
    size_t len, cap;
} sinkbuf;

static ul_update g_u; /* the device context: 7 KB, static as a device would keep it */
static unsigned long long g_seed;
static uint64_t g_rng;

/* ---- helpers: keys, chains, blocks ------------------------------------------------------------
 */

static uint64_t rnd(void)
{
    uint64_t z = (g_rng += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void seed_init(const char *test)
{
    const char *env = getenv("UL_TEST_SEED");
    g_seed = env ? strtoull(env, NULL, 10) : (unsigned long long)time(NULL);
    g_rng = g_seed;
    print_message("test_update: %s seed %llu (UL_TEST_SEED=%llu repeats it)\n", test, g_seed,
                  g_seed);
}

static ul_key *test_key(unsigned n)
{
    return ul_chainfx_key("upledger update test key", n);
}

/* A genesis at T0 of the NV validators, power 10 each. */
static void make_genesis(const fx *f, const char *name, uint8_t *out, size_t cap, size_t *len)
{
    static ul_valset vs;
    ul_chainfx_valset(&vs, (const ul_key *const *)f->val, (const uint64_t[NV]){10, 10, 10, 10}, NV);
    ul_chainfx_genesis(out, cap, len, NULL, name, T0, &vs);
}

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    ul_chainfx_tmpdir(f->root, sizeof f->root, "update");
    for (unsigned i = 0; i < NV; i++) {
        f->val[i] = test_key(1 + i);
    }
    for (size_t i = 1; i < NV; i++) { /* set order: ascending public key */
        for (size_t j = i; j > 0 && memcmp(ul_key_pubkey(f->val[j - 1]), ul_key_pubkey(f->val[j]),
                                           UL_PUBKEY_BYTES) > 0;
             j--) {
            ul_key *t = f->val[j];
            f->val[j] = f->val[j - 1];
            f->val[j - 1] = t;
        }
    }
    f->owner = test_key(20);
    f->pub = test_key(21);
    f->cert = test_key(22);
    f->other = test_key(23);
    make_genesis(f, "update-test", f->genesis, sizeof f->genesis, &f->glen);
    ul_client_sha256(f->chain_id, f->genesis, f->glen);
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
    ul_key_destroy(f->owner);
    ul_key_destroy(f->pub);
    ul_key_destroy(f->cert);
    ul_key_destroy(f->other);
    free(f);
    return 0;
}

static ul_chain *open_chain_with(fx *f, const uint8_t *genesis, size_t glen)
{
    char dir[128];
    ul_chain *c = NULL;
    snprintf(dir, sizeof dir, "%s/c%d", f->root, f->n_chains++);
    assert_int_equal(ul_chainfx_chain_open(&c, dir, genesis, glen), UL_OK);
    return c;
}

static ul_chain *open_chain(fx *f)
{
    return open_chain_with(f, f->genesis, f->glen);
}

/* Seals the pending block and commits it with precommits of every member of the set that signs
 * it (the genesis validators, or f->other once it has joined), as the validators themselves
 * would. Returns the new height. */
static uint64_t produce(const fx *f, ul_chain *c)
{
    const ul_key *keys[NV + 1] = {f->val[0], f->val[1], f->val[2], f->val[3], f->other};
    size_t members = ul_chain_valset(c)->n, n;
    ul_header h;
    assert_int_equal(
        ul_chainfx_seal_commit(c, NULL, keys, NV + 1, ul_chain_next_time(c) + 1, &h, &n), UL_OK);
    assert_int_equal(n, members); /* the test holds every member's key */
    return h.height;
}

static void submit(ul_chain *c, const txbuf *t, uint8_t id[UL_HASH_BYTES])
{
    uint8_t scratch[UL_HASH_BYTES];
    assert_int_equal(ul_chain_submit(c, t->b, t->len, id ? id : scratch), UL_OK);
}

static void one_key(ul_keyset *ks, const ul_key *k)
{
    memset(ks, 0, sizeof *ks);
    ks->n = 1;
    ks->threshold = 1;
    memcpy(ks->keys[0], ul_key_pubkey(k), UL_PUBKEY_BYTES);
}

/* Registers ns: owner owns, pub publishes, owners and publishers revoke; with certified, feature
 * releases need an approval by the "certifier" role (key cert). */
static void register_ns(const fx *f, ul_chain *c, const char *ns, uint64_t nonce, bool certified)
{
    static ul_register r;
    static uint8_t body[UL_MAX_RECORD_BYTES];
    static txbuf t;
    size_t blen;
    memset(&r, 0, sizeof r);
    r.ns = ul_span_str(ns);
    r.nonce = nonce;
    one_key(&r.policy.owners, f->owner);
    one_key(&r.policy.publishers, f->pub);
    r.policy.n_revokers = 2;
    r.policy.revokers[0] = ul_span_str("owners");
    r.policy.revokers[1] = ul_span_str("publishers");
    if (certified) {
        r.policy.n_roles = 1;
        r.policy.roles[0].name = ul_span_str("certifier");
        one_key(&r.policy.roles[0].keys, f->cert);
        r.policy.n_require = 1;
        r.policy.require[0].kind = UL_KIND_FEATURE;
        r.policy.require[0].n = 1;
        r.policy.require[0].roles[0] = ul_span_str("certifier");
    }
    assert_int_equal(ul_schema_register_encode(body, sizeof body, &blen, &r), UL_OK);
    ul_chainfx_tx(&t, f->chain_id, UL_TX_REGISTER, body, blen, (const ul_key *const[]){f->owner}, 1,
                  UL_DOMAIN_TX);
    submit(c, &t, NULL);
}

static const uint8_t default_image[] = "widget firmware image, version whatever";

static void publish(const fx *f, ul_chain *c, const relspec *rs, uint8_t id[UL_HASH_BYTES])
{
    static ul_release r;
    static uint8_t body[UL_MAX_RECORD_BYTES];
    static txbuf t;
    size_t blen;
    memset(&r, 0, sizeof r);
    r.ns = ul_span_str(rs->ns ? rs->ns : NS);
    r.provider = ul_span_str("Acme Corp");
    r.time = 1700000000;
    r.version = ul_span_str(rs->version);
    r.seq = rs->seq;
    const uint8_t *img = rs->image ? rs->image : default_image;
    size_t ilen = rs->image ? rs->image_len : sizeof default_image;
    ul_client_sha256(r.digest, img, ilen);
    r.size = ilen;
    r.file = ul_span_str("widget.bin");
    r.n_hw = 1;
    r.hw[0] = ul_span_str(rs->hw ? rs->hw : "board-a");
    r.kind = rs->kind;
    if (rs->dep_ns) {
        r.n_deps = 1;
        r.deps[0].ns = ul_span_str(rs->dep_ns);
        r.deps[0].constraint = ul_span_str(rs->dep_c);
    }
    if (rs->sealed) {
        r.has_enc = true;
        r.enc.alg = UL_ENC_SECRETSTREAM;
        r.enc.chunk = rs->chunk;
        r.enc.n_keys = 1;
        r.enc.keys[0].hw = r.hw[0];
        r.enc.keys[0].sealed = (ul_span){rs->sealed, UL_SEALED_KEY_BYTES};
    }
    assert_int_equal(ul_schema_release_encode(body, sizeof body, &blen, &r), UL_OK);
    ul_chainfx_tx(&t, f->chain_id, UL_TX_PUBLISH, body, blen, (const ul_key *const[]){f->pub}, 1,
                  UL_DOMAIN_RELEASE);
    submit(c, &t, id);
}

static void rel_simple(relspec *rs, uint64_t seq, const char *version)
{
    memset(rs, 0, sizeof *rs);
    rs->seq = seq;
    rs->version = version;
    rs->kind = UL_KIND_SECURITY;
}

static void approve(const fx *f, ul_chain *c, const uint8_t id[UL_HASH_BYTES], uint64_t nonce)
{
    ul_approve v = {.role = ul_span_str("certifier"), .nonce = nonce};
    uint8_t body[256];
    static txbuf t;
    size_t blen;
    memcpy(v.release, id, UL_HASH_BYTES);
    assert_int_equal(ul_schema_approve_encode(body, sizeof body, &blen, &v), UL_OK);
    ul_chainfx_tx(&t, f->chain_id, UL_TX_APPROVE, body, blen, (const ul_key *const[]){f->cert}, 1,
                  UL_DOMAIN_TX);
    submit(c, &t, NULL);
}

static void revoke(const fx *f, ul_chain *c, const uint8_t id[UL_HASH_BYTES], uint64_t nonce)
{
    ul_revoke v = {.reason = ul_span_str("boot loop on rev B"), .nonce = nonce};
    uint8_t body[256];
    static txbuf t;
    size_t blen;
    memcpy(v.release, id, UL_HASH_BYTES);
    assert_int_equal(ul_schema_revoke_encode(body, sizeof body, &blen, &v), UL_OK);
    ul_chainfx_tx(&t, f->chain_id, UL_TX_REVOKE, body, blen, (const ul_key *const[]){f->owner}, 1,
                  UL_DOMAIN_TX);
    submit(c, &t, NULL);
}

/* A chain at height 2: NS registered in block 1, release seq 1 "1.0" in block 2. */
static ul_chain *basic_chain(fx *f, uint8_t id[UL_HASH_BYTES])
{
    relspec rs;
    ul_chain *c = open_chain(f);
    register_ns(f, c, NS, 1, false);
    produce(f, c);
    rel_simple(&rs, 1, "1.0");
    publish(f, c, &rs, id);
    produce(f, c);
    return c;
}

static uint8_t *bundle_at(ul_chain *c, const uint8_t id[UL_HASH_BYTES], const char *hw, uint64_t h,
                          size_t *n)
{
    uint8_t *b = NULL;
    assert_int_equal(ul_chain_bundle(c, id, ul_span_str(hw), h, &b, n), UL_OK);
    return b;
}

static void device(const fx *f, ul_device_state *st, const char *hw)
{
    assert_int_equal(
        ul_client_device_init(st, f->genesis, f->glen, (const uint8_t *)hw, strlen(hw)), UL_OK);
}

/* ---- helpers: the device side -------------------------------------------------------------- */

static ul_err feed(ul_update *u, const uint8_t *b, size_t n, size_t chunk)
{
    for (size_t at = 0; at < n; at += chunk) {
        size_t k = n - at < chunk ? n - at : chunk;
        ul_err e = ul_client_bundle_update(u, b + at, k);
        if (e != UL_OK) {
            return e;
        }
    }
    return UL_OK;
}

/* begin, the bundle in chunks, final: what the device says of a bundle for ns. */
static ul_err verify_ns(const ul_device_state *st, const char *ns, const uint8_t *b, size_t n,
                        size_t chunk, ul_release_info *info)
{
    ul_err e = ul_client_update_begin(&g_u, st, (const uint8_t *)ns, strlen(ns), NULL, 0, 0);
    if (e == UL_OK) {
        e = feed(&g_u, b, n, chunk);
    }
    if (e == UL_OK) {
        e = ul_client_bundle_final(&g_u, info);
    }
    return e;
}

static ul_err verify(const ul_device_state *st, const uint8_t *b, size_t n)
{
    return verify_ns(st, NS, b, n, n ? n : 1, NULL);
}

static int sink_fn(void *arg, const uint8_t *p, size_t n)
{
    sinkbuf *s = arg;
    if (s == NULL) {
        return 0;
    }
    if (s->len + n > s->cap) {
        return 1;
    }
    memcpy(s->p + s->len, p, n);
    s->len += n;
    return 0;
}

/* A whole update of ns: bundle, image in chunks of ichunk, accept into st. */
static ul_err install(ul_device_state *st, const char *ns, const uint8_t *b, size_t n,
                      const uint8_t *img, size_t ilen, size_t ichunk, const uint8_t *class_sk,
                      sinkbuf *sink)
{
    if (sink != NULL) {
        sink->len = 0;
    }
    ul_err e = ul_client_update_begin(&g_u, st, (const uint8_t *)ns, strlen(ns), class_sk, 0, 0);
    if (e == UL_OK) {
        e = feed(&g_u, b, n, n);
    }
    if (e == UL_OK) {
        e = ul_client_bundle_final(&g_u, NULL);
    }
    for (size_t at = 0; e == UL_OK && at < ilen; at += ichunk) {
        size_t k = ilen - at < ichunk ? ilen - at : ichunk;
        e = ul_client_image_update(&g_u, img + at, k, sink_fn, sink);
    }
    if (e == UL_OK) {
        e = ul_client_image_final(&g_u, sink_fn, sink);
    }
    if (e == UL_OK) {
        e = ul_client_update_accept(&g_u, st);
    }
    if (e != UL_OK) {
        ul_client_update_abort(&g_u);
    }
    return e;
}

static ul_err install_plain(ul_device_state *st, const uint8_t *b, size_t n)
{
    return install(st, NS, b, n, default_image, sizeof default_image, 7, NULL, NULL);
}

/* ---- helpers: taking bundles apart ---------------------------------------------------------- */

typedef struct {
    size_t off;  /* where the section starts (its byte-string head) */
    size_t head; /* head bytes */
    size_t len;  /* body bytes */
    ul_section s;
} secref;

#define MAX_SECS 1024

/* Splits a bundle into its sections (asserting it frames). Returns their number. */
static size_t split(const uint8_t *b, size_t n, secref *out)
{
    size_t k = 0;
    for (size_t at = 0; at < n; k++) {
        uint64_t body;
        assert_true(k < MAX_SECS);
        assert_int_equal(ul_schema_section_frame(b + at, n - at, &out[k].head, &body), UL_OK);
        out[k].off = at;
        out[k].len = (size_t)body;
        assert_int_equal(ul_schema_section_decode(&out[k].s, b + at + out[k].head, out[k].len),
                         UL_OK);
        at += out[k].head + out[k].len;
    }
    return k;
}

/* Index of the nth (0-based) section of type t, optionally of state proof `which`. */
static size_t nth(const secref *s, size_t k, uint64_t t, size_t n, uint64_t which)
{
    for (size_t i = 0; i < k; i++) {
        if (s[i].s.type == t && (which == 0 || s[i].s.u.state.which == which) && n-- == 0) {
            return i;
        }
    }
    fail_msg("no section %llu #%zu", (unsigned long long)t, n);
    return 0;
}

/* A copy of b with sections [from, to) replaced by rep[0..rlen). */
static uint8_t *splice(const uint8_t *b, size_t n, const secref *s, size_t k, size_t from,
                       size_t to, const uint8_t *rep, size_t rlen, size_t *out_n)
{
    size_t a = s[from].off;
    size_t z = to < k ? s[to].off : n;
    uint8_t *o = malloc(n - (z - a) + rlen + 1);
    assert_non_null(o);
    memcpy(o, b, a);
    if (rlen > 0) {
        memcpy(o + a, rep, rlen);
    }
    memcpy(o + a + rlen, b + z, n - z);
    *out_n = n - (z - a) + rlen;
    return o;
}

/* Encodes section s (hash lists from a list span, re-read as 32-byte hashes). */
static size_t enc_section(const ul_section *s, uint8_t *out, size_t cap)
{
    static uint8_t hashes[256][UL_HASH_BYTES];
    size_t n = 0, len = 0;
    ul_span list = {NULL, 0};
    if (s->type == UL_SEC_INCLUSION) {
        list = s->u.inclusion.path;
        n = s->u.inclusion.n_path;
    } else if (s->type == UL_SEC_SIBLINGS) {
        list = s->u.siblings.hashes;
        n = s->u.siblings.n;
    }
    for (size_t i = 0; i < n; i++) {
        memcpy(hashes[i], ul_section_hash(list, i), UL_HASH_BYTES);
    }
    assert_int_equal(ul_schema_section_encode(out, cap, &len, s, (const uint8_t(*)[32])hashes),
                     UL_OK);
    return len;
}

/* A copy of b with section i re-encoded from s (after the caller edited it). */
static uint8_t *replace(const uint8_t *b, size_t n, const secref *s, size_t k, size_t i,
                        const ul_section *with, size_t *out_n)
{
    static uint8_t enc[UL_MAX_SECTION_BYTES + 16];
    size_t len = enc_section(with, enc, sizeof enc);
    return splice(b, n, s, k, i, i + 1, enc, len, out_n);
}

/* ---- genuine bundles --------------------------------------------------------------------------
 */

static void test_genuine_chunks(void **state)
{
    fx *f = *state;
    uint8_t id[UL_HASH_BYTES];
    ul_device_state st;
    ul_release_info info;
    size_t n;
    ul_chain *c = basic_chain(f, id);
    uint8_t *b = bundle_at(c, id, "board-a", 0, &n);
    device(f, &st, "board-a");
    static const size_t chunks[] = {1, 3, 64, 1000, 0};
    for (size_t i = 0; i < sizeof chunks / sizeof chunks[0]; i++) {
        size_t ch = chunks[i] ? chunks[i] : n;
        memset(&info, 0xee, sizeof info);
        assert_int_equal(verify_ns(&st, NS, b, n, ch, &info), UL_OK);
        assert_memory_equal(info.id, id, UL_HASH_BYTES);
        assert_int_equal(info.seq, 1);
        assert_int_equal(info.height, 2);
        assert_int_equal(info.log_index, 0);
        assert_int_equal(info.steps, 0);
        assert_int_equal(info.size, sizeof default_image);
        assert_false(info.encrypted);
        assert_int_equal(info.version_len, 3);
        assert_memory_equal(info.version, "1.0", 3);
    }
    /* Zero-length feeds change nothing. */
    assert_int_equal(ul_client_update_begin(&g_u, &st, (const uint8_t *)NS, strlen(NS), NULL, 0, 0),
                     UL_OK);
    for (size_t at = 0; at < n; at++) {
        assert_int_equal(ul_client_bundle_update(&g_u, b + at, 0), UL_OK);
        assert_int_equal(ul_client_bundle_update(&g_u, b + at, 1), UL_OK);
    }
    assert_int_equal(ul_client_bundle_final(&g_u, NULL), UL_OK);
    /* The node-side convenience agrees. */
    assert_int_equal(
        ul_client_bundle_verify(&g_u, &info, &st, (const uint8_t *)NS, strlen(NS), b, n), UL_OK);
    assert_int_equal(info.height, 2);
    /* Bundles at an older height verify too, and against any header that logged the release. */
    produce(f, c);
    free(b);
    b = bundle_at(c, id, "board-a", 2, &n);
    assert_int_equal(verify(&st, b, n), UL_OK);
    free(b);
    b = bundle_at(c, id, "board-a", 3, &n);
    assert_int_equal(verify_ns(&st, NS, b, n, n, &info), UL_OK);
    assert_int_equal(info.height, 3);
    free(b);
    /* The node refuses what it cannot prove. */
    uint8_t none[UL_HASH_BYTES] = {0};
    assert_int_equal(ul_chain_bundle(c, none, ul_span_str("board-a"), 0, &b, &n), UL_E_NOT_FOUND);
    assert_int_equal(ul_chain_bundle(c, id, ul_span_str("board-b"), 0, &b, &n), UL_E_HW_MISMATCH);
    assert_int_equal(ul_chain_bundle(c, id, ul_span_str("board-a"), 1, &b, &n), UL_E_NOT_FOUND);
    assert_int_equal(ul_chain_bundle(c, id, ul_span_str("board-a"), 9, &b, &n), UL_E_NOT_FOUND);
    ul_chain_close(c);
}

/* accept writes exactly what the contract says, and nothing else. */
static void test_accept_fields(void **state)
{
    fx *f = *state;
    uint8_t id[UL_HASH_BYTES];
    static ul_device_state st, want;
    size_t n;
    sinkbuf sb = {malloc(4096), 0, 4096};
    ul_chain *c = basic_chain(f, id);
    uint8_t *b = bundle_at(c, id, "board-a", 0, &n);
    ul_header hd;
    uint8_t *hdr;
    size_t hl;
    assert_int_equal(ul_chain_header_bytes(c, 2, &hdr, &hl), UL_OK);
    assert_int_equal(ul_schema_header_decode(&hd, hdr, hl), UL_OK);
    device(f, &st, "board-a");
    assert_int_equal(
        ul_client_device_add(&st, (const uint8_t *)"acme/boot", 9, (const uint8_t *)"2.0", 3, 7),
        UL_OK);
    assert_int_equal(
        ul_client_device_add(&st, (const uint8_t *)"zeta/x", 6, (const uint8_t *)"1", 1, 1), UL_OK);
    assert_int_equal(ul_client_update_slot(&st, (const uint8_t *)NS, strlen(NS)), 0);
    want = st;
    assert_int_equal(install(&st, NS, b, n, default_image, sizeof default_image, 5, NULL, &sb),
                     UL_OK);
    assert_int_equal(sb.len, sizeof default_image);
    assert_memory_equal(sb.p, default_image, sizeof default_image);
    /* Expected: the new component between acme/boot and zeta/x, slot 0 active in trial. */
    want.height = 2;
    ul_client_sha256(want.header_hash, hdr, hl);
    memcpy(want.valset_hash, hd.next_validators_hash, UL_HASH_BYTES);
    want.comp[2] = want.comp[1];
    ul_component *w = &want.comp[1];
    memset(w, 0, sizeof *w);
    memcpy(w->ns, NS, strlen(NS));
    w->ns_len = strlen(NS);
    w->active = 0;
    w->trial = true;
    w->slot[0].seq = 1;
    ul_client_sha256(w->slot[0].digest, default_image, sizeof default_image);
    w->slot[0].size = sizeof default_image;
    memcpy(w->slot[0].version, "1.0", 3);
    w->slot[0].version_len = 3;
    want.n_components = 3;
    assert_memory_equal(&want, &st, sizeof st);
    /* The context is wiped. */
    static const ul_update zero;
    assert_memory_equal(&g_u, &zero, sizeof g_u);
    /* In trial: another update of NS waits for the confirmation. */
    assert_int_equal(ul_client_update_begin(&g_u, &st, (const uint8_t *)NS, strlen(NS), NULL, 0, 0),
                     UL_E_PENDING);
    assert_int_equal(ul_client_update_slot(&st, (const uint8_t *)NS, strlen(NS)), 1);
    /* The state round-trips through its codec. */
    static uint8_t enc[8192];
    static ul_device_state back;
    size_t el;
    assert_int_equal(ul_schema_device_state_encode(enc, sizeof enc, &el, &st), UL_OK);
    assert_int_equal(ul_schema_device_state_decode(&back, enc, el), UL_OK);
    assert_memory_equal(&back, &st, sizeof st);
    free(hdr);
    free(b);
    free(sb.p);
    ul_chain_close(c);
}

/* Boot, confirm, fall back. */
static void test_ab_slots(void **state)
{
    fx *f = *state;
    uint8_t id1[UL_HASH_BYTES], id2[UL_HASH_BYTES];
    static ul_device_state st;
    relspec rs;
    size_t n;
    ul_chain *c = basic_chain(f, id1);
    uint8_t *b = bundle_at(c, id1, "board-a", 0, &n);
    device(f, &st, "board-a");
    assert_int_equal(ul_client_device_confirm(&st, (const uint8_t *)NS, strlen(NS)),
                     UL_E_NOT_FOUND);
    assert_int_equal(install_plain(&st, b, n), UL_OK);
    free(b);
    const ul_component *cp = ul_client_device_find(&st, (const uint8_t *)NS, strlen(NS));
    assert_non_null(cp);
    assert_true(cp->trial);
    assert_int_equal(cp->active, 0);
    assert_int_equal(ul_client_device_boot(&st), 0); /* first start of the new image */
    assert_int_equal(cp->boots, 1);
    assert_int_equal(ul_client_device_confirm(&st, (const uint8_t *)NS, strlen(NS)), UL_OK);
    assert_false(cp->trial);
    assert_int_equal(ul_client_device_confirm(&st, (const uint8_t *)NS, strlen(NS)),
                     UL_E_SEQUENCE_CALL);
    assert_int_equal(ul_client_device_boot(&st), 0);
    /* Release 2 goes to slot 1; two starts without a confirmation fall back to slot 0. */
    rel_simple(&rs, 2, "2.0");
    publish(f, c, &rs, id2);
    produce(f, c);
    b = bundle_at(c, id2, "board-a", 0, &n);
    assert_int_equal(install_plain(&st, b, n), UL_OK);
    assert_int_equal(cp->active, 1);
    assert_true(cp->trial);
    assert_int_equal(cp->slot[1].seq, 2);
    assert_int_equal(ul_client_device_boot(&st), 0);
    assert_int_equal(ul_client_device_boot(&st), 1);
    assert_int_equal(cp->active, 0);
    assert_false(cp->trial);
    assert_int_equal(cp->slot[0].seq, 1); /* the installed release again */
    assert_int_equal(cp->slot[1].seq, 2); /* the failed one kept for inspection */
    assert_int_equal(ul_client_device_boot(&st), 0);
    /* The same release again after the fallback: its header is the one accepted, so only the
     * anti-rollback rule could stop it, and seq 2 is above the installed 1. */
    assert_int_equal(install_plain(&st, b, n), UL_OK);
    assert_int_equal(cp->active, 1);
    assert_int_equal(ul_client_device_boot(&st), 0);
    assert_int_equal(ul_client_device_confirm(&st, (const uint8_t *)NS, strlen(NS)), UL_OK);
    assert_int_equal(cp->slot[cp->active].seq, 2);
    /* The installed release offered again is not installed again (UL_E_ROLLBACK), but it is
     * the device's own release: the device is up to date, and info says which release. */
    ul_release_info cur;
    assert_int_equal(verify(&st, b, n), UL_E_ROLLBACK);
    assert_true(ul_client_update_current(&g_u, &cur));
    assert_int_equal(cur.seq, 2);
    assert_memory_equal(cur.digest, cp->slot[cp->active].digest, UL_HASH_BYTES);
    /* Not after a failure before the release's verdicts (another chain's header here). */
    static ul_device_state moved;
    moved = st;
    moved.height++;
    assert_int_equal(verify(&moved, b, n), UL_E_HEADER_OLD);
    assert_false(ul_client_update_current(&g_u, &cur));
    free(b);
    ul_chain_close(c);
}

/* ---- deferred verdicts ---------------------------------------------------------------------- */

/* The installable proof of b replaced by one for (ns, hw) at height h: what a node would send a
 * device of class hw (ul_chain_bundle itself refuses a class the record does not list). */
static uint8_t *with_installable_for(ul_chain *c, const uint8_t *b, size_t n, const char *ns,
                                     const char *hw, uint64_t h, size_t *out_n)
{
    static secref s[MAX_SECS];
    static ul_state_proof p;
    static uint8_t enc[BIG / 4];
    uint8_t key[UL_HASH_BYTES], *value = NULL;
    size_t vlen, len = 0, k = split(b, n, s);
    size_t from = nth(s, k, UL_SEC_STATE, 0, UL_PROOF_INSTALLABLE);
    size_t to = nth(s, k, UL_SEC_STATE, 0, UL_PROOF_REVOCATION);
    ul_err e = ul_chain_state_proof(c, UL_STATE_INSTALLABLE, ul_span_str(ns), ul_span_str(hw), NULL,
                                    h, key, &value, &vlen, &p);
    assert_true(e == UL_OK || e == UL_E_NOT_FOUND);
    ul_section sec;
    memset(&sec, 0, sizeof sec);
    sec.type = UL_SEC_STATE;
    sec.u.state.which = UL_PROOF_INSTALLABLE;
    sec.u.state.hw = ul_span_str(hw);
    sec.u.state.depth = p.depth;
    memcpy(sec.u.state.bitmap, p.bitmap, sizeof p.bitmap);
    if (p.has_leaf && memcmp(p.leaf_key, key, UL_HASH_BYTES) == 0) {
        assert_non_null(value);
        sec.u.state.terminal = UL_TERM_VALUE;
        sec.u.state.value = (ul_span){value, vlen};
    } else if (p.has_leaf) {
        sec.u.state.terminal = UL_TERM_LEAF;
        memcpy(sec.u.state.leaf_key, p.leaf_key, UL_HASH_BYTES);
        memcpy(sec.u.state.leaf_value, p.leaf_value, UL_HASH_BYTES);
    }
    size_t m = 0;
    assert_int_equal(ul_schema_section_encode(enc, sizeof enc, &m, &sec, NULL), UL_OK);
    len += m;
    for (size_t i = p.n_siblings; i-- > 0;) { /* one sibling per section, bottom up */
        memset(&sec, 0, sizeof sec);
        sec.type = UL_SEC_SIBLINGS;
        sec.u.siblings.n = 1;
        assert_int_equal(ul_schema_section_encode(enc + len, sizeof enc - len, &m, &sec,
                                                  (const uint8_t(*)[32])p.siblings[i]),
                         UL_OK);
        len += m;
    }
    free(value);
    return splice(b, n, s, k, from, to, enc, len, out_n);
}

static void test_deferred(void **state)
{
    fx *f = *state;
    uint8_t id[UL_HASH_BYTES], id2[UL_HASH_BYTES], id3[UL_HASH_BYTES], idb[UL_HASH_BYTES];
    static ul_device_state st, st_b;
    relspec rs;
    size_t n, n2;
    ul_chain *c = basic_chain(f, id);
    uint8_t *b = bundle_at(c, id, "board-a", 0, &n);
    device(f, &st, "board-a");
    /* Other namespace: the device asked for another component. */
    assert_int_equal(verify_ns(&st, "acme/other", b, n, n, NULL), UL_E_NAMESPACE);
    /* Other hardware class: a board-b device given board-a's genuine bundle, or one carrying the
     * proof for its own class; a board-a device given the proof for board-b (sound, but not
     * about its class); a proof relabelled to another class than it proves. */
    device(f, &st_b, "board-b");
    assert_int_equal(verify(&st_b, b, n), UL_E_HW_MISMATCH);
    uint8_t *b2 = with_installable_for(c, b, n, NS, "board-b", 2, &n2);
    assert_int_equal(verify(&st_b, b2, n2), UL_E_HW_MISMATCH);
    assert_int_equal(verify(&st, b2, n2), UL_E_NOT_INSTALLABLE);
    free(b2);
    b2 = with_installable_for(c, b, n, NS, "board-a", 2, &n2); /* the splice itself is sound */
    assert_int_equal(verify(&st, b2, n2), UL_OK);
    free(b2);
    {
        static secref rs2[MAX_SECS];
        size_t k2 = split(b, n, rs2);
        size_t si = nth(rs2, k2, UL_SEC_STATE, 0, UL_PROOF_INSTALLABLE);
        ul_section x = rs2[si].s;
        x.u.state.hw = ul_span_str("board-b");
        b2 = replace(b, n, rs2, k2, si, &x, &n2);
        assert_int_equal(verify(&st, b2, n2), UL_E_MERKLE_PROOF);
        assert_int_equal(verify(&st_b, b2, n2), UL_E_MERKLE_PROOF);
        free(b2);
    }
    /* Superseded: release 2 is the newest, so release 1 is not installable. */
    rel_simple(&rs, 2, "2.0");
    publish(f, c, &rs, id2);
    produce(f, c);
    free(b);
    b = bundle_at(c, id, "board-a", 0, &n);
    assert_int_equal(verify(&st, b, n), UL_E_NOT_INSTALLABLE);
    free(b);
    /* Revoked (and so no longer installable: the revocation is reported first). */
    revoke(f, c, id2, 2);
    produce(f, c);
    b = bundle_at(c, id2, "board-a", 0, &n);
    assert_int_equal(verify(&st, b, n), UL_E_REVOKED);
    free(b);
    /* Release 1 is the newest installable again. */
    b = bundle_at(c, id, "board-a", 0, &n);
    assert_int_equal(verify(&st, b, n), UL_OK);
    /* Rollback: the device already runs seq 5 (factory image). */
    static ul_device_state st5;
    st5 = st;
    assert_int_equal(
        ul_client_device_add(&st5, (const uint8_t *)NS, strlen(NS), (const uint8_t *)"5.0", 3, 5),
        UL_OK);
    assert_int_equal(verify(&st5, b, n), UL_E_ROLLBACK);
    assert_false(ul_client_update_current(&g_u, NULL)); /* an older release: not up to date */
    free(b);
    /* Dependency: release 3 needs acme/boot >= 2.0. */
    register_ns(f, c, "acme/boot", 3, false);
    produce(f, c);
    rel_simple(&rs, 1, "2.1");
    rs.ns = "acme/boot";
    publish(f, c, &rs, idb);
    rel_simple(&rs, 3, "3.0");
    rs.dep_ns = "acme/boot";
    rs.dep_c = ">=2.0";
    publish(f, c, &rs, id3);
    produce(f, c);
    b = bundle_at(c, id3, "board-a", 0, &n);
    assert_int_equal(verify(&st, b, n), UL_E_DEPENDENCY); /* not installed */
    static ul_device_state sd;
    sd = st;
    assert_int_equal(
        ul_client_device_add(&sd, (const uint8_t *)"acme/boot", 9, (const uint8_t *)"1.9", 3, 1),
        UL_OK);
    assert_int_equal(verify(&sd, b, n), UL_E_DEPENDENCY); /* too old */
    sd = st;
    assert_int_equal(
        ul_client_device_add(&sd, (const uint8_t *)"acme/boot", 9, (const uint8_t *)"2.0.1", 5, 1),
        UL_OK);
    assert_int_equal(verify(&sd, b, n), UL_OK);
    /* Order: namespace before everything, hw before revocation, ... */
    assert_int_equal(verify_ns(&sd, "acme/boot", b, n, n, NULL), UL_E_NAMESPACE);
    free(b);
    ul_chain_close(c);
}

/* Not approved: the policy needs a certifier's co-signature for feature releases. */
static void test_not_approved(void **state)
{
    fx *f = *state;
    uint8_t id[UL_HASH_BYTES];
    static ul_device_state st;
    relspec rs;
    size_t n;
    ul_chain *c = open_chain(f);
    register_ns(f, c, NS, 1, true);
    produce(f, c);
    rel_simple(&rs, 1, "1.0");
    rs.kind = UL_KIND_FEATURE;
    publish(f, c, &rs, id);
    produce(f, c);
    device(f, &st, "board-a");
    uint8_t *b = bundle_at(c, id, "board-a", 0, &n);
    assert_int_equal(verify(&st, b, n), UL_E_NOT_INSTALLABLE);
    free(b);
    approve(f, c, id, 1);
    produce(f, c);
    b = bundle_at(c, id, "board-a", 0, &n);
    assert_int_equal(verify(&st, b, n), UL_OK);
    free(b);
    /* The proof at the older height still shows it unapproved. */
    b = bundle_at(c, id, "board-a", 2, &n);
    assert_int_equal(verify(&st, b, n), UL_E_NOT_INSTALLABLE);
    free(b);
    ul_chain_close(c);
}

/* ---- immediate failures -----------------------------------------------------------------------
 */

/* The final header's voters: indexes of its VOTER sections. */
static size_t final_voters(const secref *s, size_t k, size_t idx[NV])
{
    size_t h = 0, m = 0;
    for (size_t i = 0; i < k; i++) {
        if (s[i].s.type == UL_SEC_HEADER) {
            h = i;
        }
    }
    for (size_t i = h + 1; i < k && s[i].s.type == UL_SEC_VOTER; i++) {
        idx[m++] = i;
    }
    assert_int_equal(m, NV);
    return h;
}

static void test_quorum_and_voters(void **state)
{
    fx *f = *state;
    uint8_t id[UL_HASH_BYTES];
    static ul_device_state st;
    static secref s[MAX_SECS];
    size_t n, n2, n3, v[NV];
    ul_chain *c = basic_chain(f, id);
    uint8_t *b = bundle_at(c, id, "board-a", 0, &n);
    size_t k = split(b, n, s);
    size_t hi = final_voters(s, k, v);
    device(f, &st, "board-a");
    assert_int_equal(verify(&st, b, n), UL_OK);
    /* All four precommitted; the node sends a quorum, not every signature: 3 of 4 equal powers. */
    size_t n_signed = 0;
    for (size_t i = 0; i < NV; i++) {
        n_signed += s[v[i]].s.u.voter.has_sig;
    }
    assert_int_equal(n_signed, 3);
    /* The fourth voter unsigned (as sent): 30 of 40 is still more than 2/3. */
    ul_section x = s[v[3]].s;
    x.u.voter.has_sig = false;
    uint8_t *b2 = replace(b, n, s, k, v[3], &x, &n2);
    assert_int_equal(verify(&st, b2, n2), UL_OK);
    /* Two fewer: 20 of 40 is not. */
    static secref s2[MAX_SECS];
    size_t k2 = split(b2, n2, s2);
    x = s2[v[2]].s;
    x.u.voter.has_sig = false;
    uint8_t *b3 = replace(b2, n2, s2, k2, v[2], &x, &n3);
    assert_int_equal(verify(&st, b3, n3), UL_E_QUORUM);
    free(b3);
    free(b2);
    /* A voter twice (the second copy where the next member should be). */
    b2 = replace(b, n, s, k, v[1], &s[v[0]].s, &n2);
    assert_int_equal(verify(&st, b2, n2), UL_E_VALIDATOR);
    free(b2);
    /* Set order broken: two members swapped. */
    {
        static uint8_t sw[4096];
        size_t l0 = enc_section(&s[v[1]].s, sw, sizeof sw);
        size_t l1 = enc_section(&s[v[0]].s, sw + l0, sizeof sw - l0);
        b2 = splice(b, n, s, k, v[0], v[2], sw, l0 + l1, &n2);
        assert_int_equal(verify(&st, b2, n2), UL_E_VALIDATOR);
        free(b2);
    }
    /* A key not in the set, signing properly: the voters no longer hash to the header's set. */
    x = s[v[3]].s;
    memcpy(x.u.voter.key, ul_key_pubkey(f->other), UL_PUBKEY_BYTES);
    ul_span hb = s[hi].s.u.header.header;
    uint8_t hh[UL_HASH_BYTES];
    ul_client_sha256(hh, hb.ptr, hb.len);
    ul_chainfx_vote_sig(x.u.voter.sig, f->other, UL_DOMAIN_VOTE, f->chain_id, 2, 0, hh,
                        x.u.voter.time_ms);
    b2 = replace(b, n, s, k, v[3], &x, &n2);
    assert_int_equal(verify(&st, b2, n2), UL_E_VALIDATOR);
    free(b2);
    /* Unsigned, the stranger makes the power add up wrong: still the set's hash. */
    x.u.voter.has_sig = false;
    b2 = replace(b, n, s, k, v[3], &x, &n2);
    assert_int_equal(verify(&st, b2, n2), UL_E_VALIDATOR);
    free(b2);
    /* A member's power changed. */
    x = s[v[0]].s;
    x.u.voter.power = 11;
    b2 = replace(b, n, s, k, v[0], &x, &n2);
    assert_int_equal(verify(&st, b2, n2), UL_E_VALIDATOR);
    free(b2);
    /* A vote signed under another domain (a proposal's tag). */
    x = s[v[1]].s;
    ul_chainfx_vote_sig(x.u.voter.sig, f->val[1], UL_DOMAIN_PROPOSAL, f->chain_id, 2, 0, hh,
                        x.u.voter.time_ms);
    b2 = replace(b, n, s, k, v[1], &x, &n2);
    assert_int_equal(verify(&st, b2, n2), UL_E_SIG);
    free(b2);
    /* A vote for another round or time than the one signed. */
    x = s[v[1]].s;
    x.u.voter.time_ms++;
    b2 = replace(b, n, s, k, v[1], &x, &n2);
    assert_int_equal(verify(&st, b2, n2), UL_E_SIG);
    free(b2);
    x = s[hi].s;
    x.u.header.round = 1;
    b2 = replace(b, n, s, k, hi, &x, &n2);
    assert_int_equal(verify(&st, b2, n2), UL_E_SIG);
    free(b2);
    /* Fewer voters than the set: the set hash cannot match. */
    x = s[hi].s;
    x.u.header.n_voters = NV - 1;
    b2 = splice(b, n, s, k, v[3], v[3] + 1, NULL, 0, &n2);
    {
        static secref s3[MAX_SECS];
        size_t k3 = split(b2, n2, s3);
        b3 = replace(b2, n2, s3, k3, hi, &x, &n3);
        assert_int_equal(verify(&st, b3, n3), UL_E_VALIDATOR);
        free(b3);
    }
    free(b2);
    free(b);
    ul_chain_close(c);
}

static void test_headers(void **state)
{
    fx *f = *state;
    uint8_t id[UL_HASH_BYTES], idb[UL_HASH_BYTES];
    static ul_device_state st, before;
    static secref s[MAX_SECS];
    relspec rs;
    size_t n, n2, nb;
    ul_chain *a = basic_chain(f, id);
    /* Chain B: same genesis, another release at height 2, so another header 2. */
    ul_chain *cb = open_chain(f);
    register_ns(f, cb, NS, 1, false);
    produce(f, cb);
    rel_simple(&rs, 1, "1.1");
    publish(f, cb, &rs, idb);
    produce(f, cb);
    uint8_t *b = bundle_at(a, id, "board-a", 0, &n);
    uint8_t *bb = bundle_at(cb, idb, "board-a", 0, &nb);
    device(f, &st, "board-a");
    assert_int_equal(verify(&st, bb, nb), UL_OK);
    assert_int_equal(install_plain(&st, b, n), UL_OK);
    assert_int_equal(ul_client_device_confirm(&st, (const uint8_t *)NS, strlen(NS)), UL_OK);
    /* A different header at the height the device accepted. */
    before = st;
    assert_int_equal(verify(&st, bb, nb), UL_E_HEADER_CONFLICT);
    assert_memory_equal(&before, &st, sizeof st);
    /* The device moves on to height 4; header 2 is now too old. */
    rel_simple(&rs, 2, "2.0");
    uint8_t id2[UL_HASH_BYTES];
    publish(f, a, &rs, id2);
    produce(f, a);
    produce(f, a);
    uint8_t *b4 = bundle_at(a, id2, "board-a", 0, &n2);
    assert_int_equal(install_plain(&st, b4, n2), UL_OK);
    assert_int_equal(st.height, 4);
    assert_int_equal(ul_client_device_confirm(&st, (const uint8_t *)NS, strlen(NS)), UL_OK);
    assert_int_equal(verify(&st, b, n), UL_E_HEADER_OLD);
    free(b4);
    /* Stale: a device with a clock refuses a header older than its maximum age. */
    static ul_device_state fresh;
    device(f, &fresh, "board-a");
    b4 = bundle_at(a, id2, "board-a", 0, &n2);
    uint64_t t = T0 + 10ULL * 60 * 1000;
    assert_int_equal(
        ul_client_update_begin(&g_u, &fresh, (const uint8_t *)NS, strlen(NS), NULL, t, 1000),
        UL_OK);
    assert_int_equal(ul_client_bundle_update(&g_u, b4, n2), UL_E_STALE);
    assert_int_equal(
        ul_client_update_begin(&g_u, &fresh, (const uint8_t *)NS, strlen(NS), NULL, t, 3600 * 1000),
        UL_OK);
    assert_int_equal(ul_client_bundle_update(&g_u, b4, n2), UL_OK);
    assert_int_equal(ul_client_bundle_final(&g_u, NULL), UL_OK);
    /* A header from the future: more than UL_MAX_CLOCK_SKEW_MS ahead of the device clock is
     * refused whatever the maximum age (a frozen mirror must not look fresh for ever); within
     * the skew it passes; without a clock (now 0) neither check runs. */
    ul_release_info ri;
    assert_int_equal(verify_ns(&fresh, NS, b4, n2, n2, &ri), UL_OK);
    uint64_t ht = ri.header_time_ms;
    assert_int_equal(ul_client_update_begin(&g_u, &fresh, (const uint8_t *)NS, strlen(NS), NULL,
                                            ht - UL_MAX_CLOCK_SKEW_MS - 1, 3600 * 1000),
                     UL_OK);
    assert_int_equal(ul_client_bundle_update(&g_u, b4, n2), UL_E_FUTURE);
    assert_int_equal(ul_client_update_begin(&g_u, &fresh, (const uint8_t *)NS, strlen(NS), NULL,
                                            ht - UL_MAX_CLOCK_SKEW_MS - 1, 0),
                     UL_OK);
    assert_int_equal(ul_client_bundle_update(&g_u, b4, n2), UL_E_FUTURE);
    assert_int_equal(ul_client_update_begin(&g_u, &fresh, (const uint8_t *)NS, strlen(NS), NULL,
                                            ht - UL_MAX_CLOCK_SKEW_MS, 3600 * 1000),
                     UL_OK);
    assert_int_equal(ul_client_bundle_update(&g_u, b4, n2), UL_OK);
    free(b4);
    /* Another chain's device (another genesis, so another chain id). */
    static uint8_t g2[1024];
    size_t g2l;
    static ul_device_state other;
    make_genesis(f, "another-consortium", g2, sizeof g2, &g2l);
    assert_int_equal(ul_client_device_init(&other, g2, g2l, (const uint8_t *)"board-a", 7), UL_OK);
    assert_int_equal(verify(&other, b, n), UL_E_CHAIN_ID);
    /* Unknown bundle version. */
    size_t k = split(b, n, s);
    ul_section x = s[0].s;
    x.u.begin.version = 3;
    uint8_t *b2 = replace(b, n, s, k, 0, &x, &n2);
    assert_int_equal(verify(&fresh, b2, n2), UL_E_VERSION);
    free(b2);
    /* BEGIN naming another chain. */
    x = s[0].s;
    x.u.begin.chain_id[0] ^= 1;
    b2 = replace(b, n, s, k, 0, &x, &n2);
    assert_int_equal(verify(&fresh, b2, n2), UL_E_CHAIN_ID);
    free(b2);
    free(b);
    free(bb);
    ul_chain_close(a);
    ul_chain_close(cb);
}

/* Inclusion and state proofs that do not lead to the header's roots. */
static void test_proofs(void **state)
{
    fx *f = *state;
    uint8_t id[UL_HASH_BYTES], id2[UL_HASH_BYTES];
    static ul_device_state st;
    static secref s[MAX_SECS], s2[MAX_SECS];
    relspec rs;
    size_t n, nx, n2;
    ul_chain *c = basic_chain(f, id);
    rel_simple(&rs, 2, "2.0");
    publish(f, c, &rs, id2);
    produce(f, c);
    uint8_t *b = bundle_at(c, id, "board-a", 0, &n);    /* release 1: superseded */
    uint8_t *bx = bundle_at(c, id2, "board-a", 0, &nx); /* release 2: the newest */
    device(f, &st, "board-a");
    assert_int_equal(verify(&st, b, n), UL_E_NOT_INSTALLABLE);
    assert_int_equal(verify(&st, bx, nx), UL_OK);
    size_t k = split(b, n, s), kx = split(bx, nx, s2);
    size_t inc = nth(s, k, UL_SEC_INCLUSION, 0, 0), incx = nth(s2, kx, UL_SEC_INCLUSION, 0, 0);
    assert_int_equal(s[inc].s.u.inclusion.n_path, 1);
    /* Release 1's bundle with release 2's inclusion proof. */
    ul_section x = s2[incx].s;
    uint8_t *b2 = replace(b, n, s, k, inc, &x, &n2);
    assert_int_equal(verify(&st, b2, n2), UL_E_MERKLE_PROOF);
    free(b2);
    /* Another tree size than the header's. */
    x = s[inc].s;
    x.u.inclusion.size++;
    b2 = replace(b, n, s, k, inc, &x, &n2);
    assert_int_equal(verify(&st, b2, n2), UL_E_MERKLE_RANGE);
    free(b2);
    /* A path cut short, or one hash too many. */
    x = s[inc].s;
    x.u.inclusion.n_path = 0;
    b2 = replace(b, n, s, k, inc, &x, &n2);
    assert_int_equal(verify(&st, b2, n2), UL_E_MERKLE_PROOF);
    free(b2);
    {
        static uint8_t two[2][UL_HASH_BYTES], enc[256];
        size_t el;
        memcpy(two[0], ul_section_hash(s[inc].s.u.inclusion.path, 0), UL_HASH_BYTES);
        memcpy(two[1], two[0], UL_HASH_BYTES);
        x = s[inc].s;
        x.u.inclusion.n_path = 2;
        assert_int_equal(
            ul_schema_section_encode(enc, sizeof enc, &el, &x, (const uint8_t(*)[32])two), UL_OK);
        b2 = splice(b, n, s, k, inc, inc + 1, enc, el, &n2);
        assert_int_equal(verify(&st, b2, n2), UL_E_MERKLE_PROOF);
        free(b2);
    }
    /* The installable list forged to hide release 2 (its value then names release 1 first). */
    size_t si = nth(s, k, UL_SEC_STATE, 0, UL_PROOF_INSTALLABLE);
    x = s[si].s;
    assert_int_equal(x.u.state.terminal, UL_TERM_VALUE);
    assert_int_equal(x.u.state.value.len, 80);
    static uint8_t forged[80];
    memcpy(forged, x.u.state.value.ptr + 40, 40); /* (seq 1, id 1) first */
    memcpy(forged + 40, x.u.state.value.ptr, 40);
    x.u.state.value = (ul_span){forged, 80};
    b2 = replace(b, n, s, k, si, &x, &n2);
    assert_int_equal(verify(&st, b2, n2), UL_E_MERKLE_PROOF);
    free(b2);
    x.u.state.value = (ul_span){forged, 40};
    b2 = replace(b, n, s, k, si, &x, &n2);
    assert_int_equal(verify(&st, b2, n2), UL_E_MERKLE_PROOF);
    free(b2);
    /* ... or to claim the list is absent, or is another key's leaf. */
    x = s[si].s;
    x.u.state.terminal = UL_TERM_EMPTY;
    b2 = replace(b, n, s, k, si, &x, &n2);
    assert_int_equal(verify(&st, b2, n2), UL_E_MERKLE_PROOF);
    free(b2);
    x.u.state.terminal = UL_TERM_LEAF;
    ul_client_sha256(x.u.state.leaf_value, s[si].s.u.state.value.ptr, 80);
    memset(x.u.state.leaf_key, 0, UL_HASH_BYTES); /* not on the path: malformed */
    b2 = replace(b, n, s, k, si, &x, &n2);
    assert_int_equal(verify(&st, b2, n2), UL_E_SCHEMA_FIELD);
    free(b2);
    /* A sibling changed, dropped, or added. */
    size_t sib = si + 1;
    assert_int_equal(s[sib].s.type, UL_SEC_SIBLINGS);
    {
        static uint8_t hs[UL_MAX_SIBLINGS_PER_SECTION + 1][UL_HASH_BYTES], enc[4096];
        size_t m = s[sib].s.u.siblings.n, el;
        for (size_t i = 0; i < m; i++) {
            memcpy(hs[i], ul_section_hash(s[sib].s.u.siblings.hashes, i), UL_HASH_BYTES);
        }
        x = s[sib].s;
        hs[0][5] ^= 0x40;
        assert_int_equal(
            ul_schema_section_encode(enc, sizeof enc, &el, &x, (const uint8_t(*)[32])hs), UL_OK);
        b2 = splice(b, n, s, k, sib, sib + 1, enc, el, &n2);
        assert_int_equal(verify(&st, b2, n2), UL_E_MERKLE_PROOF);
        free(b2);
        hs[0][5] ^= 0x40;
        memcpy(hs[m], hs[0], UL_HASH_BYTES);
        x.u.siblings.n = m + 1;
        assert_int_equal(
            ul_schema_section_encode(enc, sizeof enc, &el, &x, (const uint8_t(*)[32])hs), UL_OK);
        b2 = splice(b, n, s, k, sib, sib + 1, enc, el, &n2);
        assert_int_equal(verify(&st, b2, n2), UL_E_SCHEMA_FIELD);
        free(b2);
        b2 = splice(b, n, s, k, sib, sib + 1, NULL, 0, &n2);
        assert_int_not_equal(verify(&st, b2, n2), UL_OK);
        free(b2);
    }
    /* The revocation proof of a revoked release forged to show it absent or another reason. */
    revoke(f, c, id2, 2);
    produce(f, c);
    free(bx);
    bx = bundle_at(c, id2, "board-a", 0, &nx);
    assert_int_equal(verify(&st, bx, nx), UL_E_REVOKED);
    kx = split(bx, nx, s2);
    size_t sr = nth(s2, kx, UL_SEC_STATE, 0, UL_PROOF_REVOCATION);
    x = s2[sr].s;
    assert_int_equal(x.u.state.terminal, UL_TERM_VALUE);
    x.u.state.terminal = UL_TERM_EMPTY;
    b2 = replace(bx, nx, s2, kx, sr, &x, &n2);
    assert_int_equal(verify(&st, b2, n2), UL_E_MERKLE_PROOF);
    free(b2);
    static uint8_t reason[UL_MAX_STATE_VALUE_BYTES];
    x = s2[sr].s;
    memcpy(reason, x.u.state.value.ptr, x.u.state.value.len);
    reason[x.u.state.value.len - 1] ^= 1;
    x.u.state.value.ptr = reason;
    b2 = replace(bx, nx, s2, kx, sr, &x, &n2);
    assert_int_equal(verify(&st, b2, n2), UL_E_MERKLE_PROOF);
    free(b2);
    /* Its own leaf given as a bare hash hides the value: refused. */
    x = s2[sr].s;
    x.u.state.terminal = UL_TERM_LEAF;
    ul_client_statekey_revocation_hash(x.u.state.leaf_key, id2);
    ul_client_sha256(x.u.state.leaf_value, s2[sr].s.u.state.value.ptr, s2[sr].s.u.state.value.len);
    b2 = replace(bx, nx, s2, kx, sr, &x, &n2);
    assert_int_equal(verify(&st, b2, n2), UL_E_MERKLE_PROOF);
    free(b2);
    /* Proofs swapped: the revocation proof where the installable one belongs. */
    x = s2[sr].s;
    x.u.state.which = UL_PROOF_INSTALLABLE;
    x.u.state.hw = ul_span_str("board-a");
    b2 = replace(bx, nx, s2, kx, nth(s2, kx, UL_SEC_STATE, 0, UL_PROOF_INSTALLABLE), &x, &n2);
    assert_int_not_equal(verify(&st, b2, n2), UL_OK); /* another key, other siblings */
    free(b2);
    x = s2[sr].s; /* as sent, but first */
    b2 = replace(bx, nx, s2, kx, nth(s2, kx, UL_SEC_STATE, 0, UL_PROOF_INSTALLABLE), &x, &n2);
    assert_int_equal(verify(&st, b2, n2), UL_E_SCHEMA_FIELD);
    free(b2);
    /* The leaf as another kind of transaction. */
    x = s2[nth(s2, kx, UL_SEC_LEAF, 0, 0)].s;
    x.u.leaf.kind = UL_TX_REGISTER;
    b2 = replace(bx, nx, s2, kx, nth(s2, kx, UL_SEC_LEAF, 0, 0), &x, &n2);
    assert_int_equal(verify(&st, b2, n2), UL_E_TX_KIND);
    free(b2);
    free(b);
    free(bx);
    ul_chain_close(c);
}

/* ---- every bit, every length -------------------------------------------------------------- */

static void test_flips_and_truncations(void **state)
{
    fx *f = *state;
    uint8_t id[UL_HASH_BYTES];
    static ul_device_state st;
    size_t n;
    ul_chain *c = basic_chain(f, id);
    uint8_t *b = bundle_at(c, id, "board-a", 0, &n);
    uint8_t *m = malloc(n);
    assert_non_null(m);
    device(f, &st, "board-a");
    assert_int_equal(verify(&st, b, n), UL_OK);
    seed_init("flips");
    for (size_t at = 0; at < n; at++) {
        unsigned bit = (unsigned)(rnd() % 8);
        memcpy(m, b, n);
        m[at] ^= (uint8_t)(1u << bit);
        ul_err e = verify_ns(&st, NS, m, n, 1 + (size_t)(rnd() % 97), NULL);
        if (e == UL_OK) {
            fail_msg("seed %llu: bit %u of byte %zu flipped and still accepted", g_seed, bit, at);
        }
    }
    for (size_t len = 0; len < n; len++) {
        ul_err e = verify_ns(&st, NS, b, len, len ? len : 1, NULL);
        if (e == UL_OK) {
            fail_msg("bundle cut to %zu of %zu bytes accepted", len, n);
        }
        if (len > 0 && len < n) {
            assert_int_equal(
                ul_client_update_begin(&g_u, &st, (const uint8_t *)NS, strlen(NS), NULL, 0, 0),
                UL_OK);
            e = ul_client_bundle_update(&g_u, b, len);
            assert_true(e == UL_OK);
            assert_int_equal(ul_client_bundle_final(&g_u, NULL), UL_E_TRUNCATED);
        }
    }
    /* One byte more: trailing. */
    uint8_t *t = malloc(n + 1);
    memcpy(t, b, n);
    t[n] = 0x40;
    assert_int_equal(verify(&st, t, n + 1), UL_E_CBOR_TRAILING);
    free(t);
    free(m);
    free(b);
    ul_chain_close(c);
}

/* ---- images ------------------------------------------------------------------------------- */

static void test_image_plain(void **state)
{
    fx *f = *state;
    uint8_t id[UL_HASH_BYTES];
    static ul_device_state st, before;
    static uint8_t img[3000], bad[3001];
    relspec rs;
    size_t n;
    sinkbuf sb = {malloc(4096), 0, 4096};
    for (size_t i = 0; i < sizeof img; i++) {
        img[i] = (uint8_t)(i * 7 + 3);
    }
    ul_chain *c = open_chain(f);
    register_ns(f, c, NS, 1, false);
    produce(f, c);
    rel_simple(&rs, 1, "1.0");
    rs.image = img;
    rs.image_len = sizeof img;
    publish(f, c, &rs, id);
    produce(f, c);
    uint8_t *b = bundle_at(c, id, "board-a", 0, &n);
    device(f, &st, "board-a");
    before = st;
    /* One byte long: refused as soon as it arrives. */
    memcpy(bad, img, sizeof img);
    bad[sizeof img] = 0;
    assert_int_equal(install(&st, NS, b, n, bad, sizeof img + 1, sizeof img + 1, NULL, NULL),
                     UL_E_SIZE);
    assert_int_equal(install(&st, NS, b, n, bad, sizeof img + 1, 1000, NULL, NULL), UL_E_SIZE);
    /* One byte short. */
    assert_int_equal(install(&st, NS, b, n, img, sizeof img - 1, 64, NULL, NULL), UL_E_SIZE);
    /* One bit flipped. */
    bad[1234] ^= 0x10;
    assert_int_equal(install(&st, NS, b, n, bad, sizeof img, 64, NULL, NULL), UL_E_DIGEST);
    /* A sink that fails. */
    sinkbuf tiny = {malloc(10), 0, 10};
    assert_int_equal(install(&st, NS, b, n, img, sizeof img, 64, NULL, &tiny), UL_E_IO);
    free(tiny.p);
    assert_memory_equal(&before, &st, sizeof st);
    /* Right, in chunks of any size. */
    static const size_t chunks[] = {1, 7, 1000, sizeof img};
    for (size_t i = 0; i < sizeof chunks / sizeof chunks[0]; i++) {
        static ul_device_state cp;
        cp = st;
        sb.len = 0;
        assert_int_equal(install(&cp, NS, b, n, img, sizeof img, chunks[i], NULL, &sb), UL_OK);
        assert_int_equal(sb.len, sizeof img);
        assert_memory_equal(sb.p, img, sizeof img);
    }
    free(b);
    free(sb.p);
    ul_chain_close(c);
}

/* The author's side: secretstream with chunk plaintext bytes per chunk; the last one is final
 * unless final is false (a stream cut before its end). */
static size_t encrypt_image(uint8_t *out, size_t cap, const uint8_t *in, size_t len, size_t chunk,
                            const uint8_t key[32], bool final)
{
    assert_true(cap >=
                crypto_secretstream_xchacha20poly1305_HEADERBYTES +
                    (len / chunk + 1) * (chunk + crypto_secretstream_xchacha20poly1305_ABYTES));
    crypto_secretstream_xchacha20poly1305_state ss;
    size_t o = crypto_secretstream_xchacha20poly1305_HEADERBYTES;
    assert_int_equal(crypto_secretstream_xchacha20poly1305_init_push(&ss, out, key), 0);
    size_t at = 0;
    do {
        size_t k = len - at < chunk ? len - at : chunk;
        bool last = at + k == len;
        unsigned long long cl;
        unsigned char tag = last && final ? crypto_secretstream_xchacha20poly1305_TAG_FINAL
                                          : crypto_secretstream_xchacha20poly1305_TAG_MESSAGE;
        assert_int_equal(
            crypto_secretstream_xchacha20poly1305_push(&ss, out + o, &cl, in + at, k, NULL, 0, tag),
            0);
        o += (size_t)cl;
        at += k;
    } while (at < len);
    return o;
}

static void test_image_encrypted(void **state)
{
    fx *f = *state;
    uint8_t id[UL_HASH_BYTES], id2[UL_HASH_BYTES], id3[UL_HASH_BYTES];
    static ul_device_state st, before;
    static uint8_t plain[5000], file[7000], cut[7000], exact[4096], fexact[6000];
    uint8_t key[32], pk[32], sk[32], pk2[32], sk2[32], sealed[UL_SEALED_KEY_BYTES];
    relspec rs;
    size_t n, n2, n3;
    sinkbuf sb = {malloc(8192), 0, 8192};
    for (size_t i = 0; i < sizeof plain; i++) {
        plain[i] = (uint8_t)(i * 13 + 1);
    }
    crypto_box_keypair(pk, sk);
    crypto_box_keypair(pk2, sk2);
    crypto_secretstream_xchacha20poly1305_keygen(key);
    assert_int_equal(crypto_box_seal(sealed, key, sizeof key, pk), 0);
    size_t flen = encrypt_image(file, sizeof file, plain, sizeof plain, 64, key, true);
    size_t clen = encrypt_image(cut, sizeof cut, plain, sizeof plain, 64, key, false);
    for (size_t i = 0; i < sizeof exact; i++) {
        exact[i] = (uint8_t)i;
    }
    size_t elen = encrypt_image(fexact, sizeof fexact, exact, sizeof exact, 1024, key,
                                true); /* 4 full chunks */
    ul_chain *c = open_chain(f);
    register_ns(f, c, NS, 1, false);
    produce(f, c);
    rel_simple(&rs, 1, "1.0");
    rs.image = file;
    rs.image_len = flen;
    rs.chunk = 64;
    rs.sealed = sealed;
    publish(f, c, &rs, id);
    rs.seq = 2;
    rs.version = "1.1";
    rs.ns = "acme/cut";
    rs.image = cut;
    rs.image_len = clen;
    register_ns(f, c, "acme/cut", 2, false);
    produce(f, c);
    publish(f, c, &rs, id2);
    rs.ns = "acme/exact";
    rs.image = fexact;
    rs.image_len = elen;
    rs.chunk = 1024;
    register_ns(f, c, "acme/exact", 3, false);
    produce(f, c);
    publish(f, c, &rs, id3);
    produce(f, c);
    uint8_t *b = bundle_at(c, id, "board-a", 0, &n);
    uint8_t *b2 = bundle_at(c, id2, "board-a", 0, &n2);
    uint8_t *b3 = bundle_at(c, id3, "board-a", 0, &n3);
    device(f, &st, "board-a");
    before = st;
    ul_release_info info;
    assert_int_equal(verify_ns(&st, NS, b, n, n, &info), UL_OK);
    assert_true(info.encrypted);
    assert_int_equal(info.size, flen);
    /* No class key, the wrong one, a flipped ciphertext byte, a cut stream. */
    assert_int_equal(install(&st, NS, b, n, file, flen, 100, NULL, &sb), UL_E_DECRYPT);
    assert_int_equal(install(&st, NS, b, n, file, flen, 100, sk2, &sb), UL_E_DECRYPT);
    file[500] ^= 1;
    assert_int_equal(install(&st, NS, b, n, file, flen, 100, sk, &sb), UL_E_DECRYPT);
    file[500] ^= 1;
    assert_int_equal(install(&st, NS, b, n, file, flen - 1, 100, sk, &sb), UL_E_SIZE);
    assert_int_equal(install(&st, "acme/cut", b2, n2, cut, clen, 100, sk, &sb), UL_E_DECRYPT);
    assert_memory_equal(&before, &st, sizeof st);
    /* The context holds no secret after a failure or an abort. */
    static const uint8_t zero[32];
    assert_memory_equal(g_u.class_sk, zero, 32);
    /* Right, in chunks of any size: the sink sees the plaintext. */
    static const size_t chunks[] = {1, 17, 81, 4096, sizeof file};
    for (size_t i = 0; i < sizeof chunks / sizeof chunks[0]; i++) {
        static ul_device_state cp;
        cp = st;
        sb.len = 0;
        assert_int_equal(install(&cp, NS, b, n, file, flen, chunks[i], sk, &sb), UL_OK);
        assert_int_equal(sb.len, sizeof plain);
        assert_memory_equal(sb.p, plain, sizeof plain);
    }
    /* Nothing after the final chunk, not even a chunk that authenticates (the stream goes on
     * past a final tag if its author pushes more). */
    {
        static uint8_t more[7000];
        crypto_secretstream_xchacha20poly1305_state ss;
        size_t o = crypto_secretstream_xchacha20poly1305_HEADERBYTES;
        unsigned long long cl;
        uint8_t id4[UL_HASH_BYTES];
        assert_int_equal(crypto_secretstream_xchacha20poly1305_init_push(&ss, more, key), 0);
        for (int i = 0; i < 2; i++) {
            assert_int_equal(crypto_secretstream_xchacha20poly1305_push(
                                 &ss, more + o, &cl, plain, 64, NULL, 0,
                                 crypto_secretstream_xchacha20poly1305_TAG_FINAL),
                             0);
            o += (size_t)cl;
        }
        rs.ns = "acme/more";
        rs.image = more;
        rs.image_len = o;
        rs.chunk = 64;
        register_ns(f, c, "acme/more", 4, false);
        produce(f, c);
        publish(f, c, &rs, id4);
        produce(f, c);
        size_t n4;
        uint8_t *b4 = bundle_at(c, id4, "board-a", 0, &n4);
        assert_int_equal(install(&st, "acme/more", b4, n4, more, o, 1000, sk, &sb), UL_E_DECRYPT);
        free(b4);
    }
    /* Whole chunks only (the final chunk full too). */
    sb.len = 0;
    assert_int_equal(install(&st, "acme/exact", b3, n3, fexact, elen, 333, sk, &sb), UL_OK);
    assert_int_equal(sb.len, sizeof exact);
    assert_memory_equal(sb.p, exact, sizeof exact);
    free(b);
    free(b2);
    free(b3);
    free(sb.p);
    ul_chain_close(c);
}

/* ---- call sequence ------------------------------------------------------------------------ */

static void test_sequence(void **state)
{
    fx *f = *state;
    uint8_t id[UL_HASH_BYTES];
    static ul_device_state st, before;
    size_t n;
    ul_chain *c = basic_chain(f, id);
    uint8_t *b = bundle_at(c, id, "board-a", 0, &n);
    device(f, &st, "board-a");
    before = st;
    const uint8_t *ns = (const uint8_t *)NS;
    /* Image before the bundle is final; accept before the image. */
    assert_int_equal(ul_client_update_begin(&g_u, &st, ns, strlen(NS), NULL, 0, 0), UL_OK);
    assert_int_equal(ul_client_image_update(&g_u, default_image, 1, NULL, NULL),
                     UL_E_SEQUENCE_CALL);
    assert_int_equal(ul_client_bundle_update(&g_u, b, n), UL_E_SEQUENCE_CALL); /* it sticks */
    assert_int_equal(ul_client_update_begin(&g_u, &st, ns, strlen(NS), NULL, 0, 0), UL_OK);
    assert_int_equal(ul_client_bundle_update(&g_u, b, n), UL_OK);
    assert_int_equal(ul_client_update_accept(&g_u, &st), UL_E_SEQUENCE_CALL);
    assert_int_equal(ul_client_bundle_final(&g_u, NULL), UL_OK);
    assert_int_equal(ul_client_bundle_update(&g_u, b, 1), UL_E_SEQUENCE_CALL);
    assert_int_equal(ul_client_update_begin(&g_u, &st, ns, strlen(NS), NULL, 0, 0), UL_OK);
    assert_int_equal(ul_client_bundle_update(&g_u, b, n), UL_OK);
    assert_int_equal(ul_client_bundle_final(&g_u, NULL), UL_OK);
    assert_int_equal(ul_client_image_final(&g_u, NULL, NULL), UL_E_SIZE);
    assert_int_equal(ul_client_update_accept(&g_u, &st), UL_E_SIZE);
    /* accept with another state than begin's. */
    static ul_device_state other;
    other = st;
    assert_int_equal(ul_client_update_begin(&g_u, &st, ns, strlen(NS), NULL, 0, 0), UL_OK);
    assert_int_equal(ul_client_bundle_update(&g_u, b, n), UL_OK);
    assert_int_equal(ul_client_bundle_final(&g_u, NULL), UL_OK);
    assert_int_equal(ul_client_image_update(&g_u, default_image, sizeof default_image, NULL, NULL),
                     UL_OK);
    assert_int_equal(ul_client_image_final(&g_u, NULL, NULL), UL_OK);
    assert_int_equal(ul_client_update_accept(&g_u, &other), UL_E_SEQUENCE_CALL);
    assert_memory_equal(&before, &st, sizeof st);
    assert_int_equal(ul_client_update_accept(&g_u, &st), UL_OK);
    /* begin's own refusals. */
    assert_int_equal(ul_client_update_begin(&g_u, &st, (const uint8_t *)"Bad", 3, NULL, 0, 0),
                     UL_E_NS_NAME);
    static ul_device_state full;
    device(f, &full, "board-a");
    for (unsigned i = 0; i < UL_MAX_COMPONENTS; i++) {
        char nm[32];
        snprintf(nm, sizeof nm, "acme/c%u", i);
        assert_int_equal(ul_client_device_add(&full, (const uint8_t *)nm, strlen(nm),
                                              (const uint8_t *)"1.0", 3, 1),
                         UL_OK);
    }
    assert_int_equal(ul_client_device_add(&full, ns, strlen(NS), (const uint8_t *)"1.0", 3, 1),
                     UL_E_LIMIT);
    assert_int_equal(ul_client_update_begin(&g_u, &full, ns, strlen(NS), NULL, 0, 0), UL_E_LIMIT);
    assert_int_equal(ul_client_update_begin(&g_u, &full, (const uint8_t *)"acme/c3", 7, NULL, 0, 0),
                     UL_OK);
    ul_client_update_abort(&g_u);
    free(b);
    ul_chain_close(c);
}

/* Device state functions on their own. */
static void test_device_state(void **state)
{
    fx *f = *state;
    static ul_device_state st, back;
    static uint8_t enc[8192];
    size_t el;
    static const uint8_t bad_genesis[] = {0xa0};
    assert_int_equal(ul_client_device_init(&st, bad_genesis, 1, (const uint8_t *)"x", 1),
                     UL_E_SCHEMA_FIELD);
    assert_int_equal(ul_client_device_init(&st, f->genesis, f->glen, (const uint8_t *)"", 0),
                     UL_E_HW_CLASS);
    assert_int_equal(ul_client_device_init(&st, f->genesis, f->glen, (const uint8_t *)"a\n", 2),
                     UL_E_HW_CLASS);
    device(f, &st, "board-a");
    /* The trusted set is the genesis set, by hash. */
    static ul_genesis g;
    uint8_t vh[UL_HASH_BYTES];
    assert_int_equal(ul_schema_genesis_decode(&g, f->genesis, f->glen), UL_OK);
    assert_int_equal(ul_client_valset_hash(vh, &g.validators), UL_OK);
    assert_memory_equal(st.valset_hash, vh, UL_HASH_BYTES);
    assert_memory_equal(st.chain_id, f->chain_id, UL_HASH_BYTES);
    assert_int_equal(st.height, 0);
    const uint8_t *v = (const uint8_t *)"1.2";
    assert_int_equal(ul_client_device_add(&st, (const uint8_t *)"b/x", 3, v, 3, 4), UL_OK);
    assert_int_equal(ul_client_device_add(&st, (const uint8_t *)"a/x", 3, v, 3, 4), UL_OK);
    assert_int_equal(ul_client_device_add(&st, (const uint8_t *)"a/xy", 4, v, 3, 4), UL_OK);
    assert_int_equal(ul_client_device_add(&st, (const uint8_t *)"a/x", 3, v, 3, 4), UL_E_EXISTS);
    assert_int_equal(ul_client_device_add(&st, (const uint8_t *)"A/x", 3, v, 3, 4), UL_E_NS_NAME);
    assert_int_equal(
        ul_client_device_add(&st, (const uint8_t *)"c/x", 3, (const uint8_t *)"1.x", 3, 4),
        UL_E_VERSION_STR);
    assert_int_equal(st.n_components, 3);
    assert_memory_equal(st.comp[0].ns, "a/x", 3);
    assert_memory_equal(st.comp[1].ns, "a/xy", 4);
    assert_memory_equal(st.comp[2].ns, "b/x", 3);
    assert_null(ul_client_device_find(&st, (const uint8_t *)"c/x", 3));
    assert_int_equal(ul_client_device_find(&st, (const uint8_t *)"a/xy", 4)->slot[0].seq, 4);
    assert_int_equal(ul_schema_device_state_encode(enc, sizeof enc, &el, &st), UL_OK);
    assert_int_equal(ul_schema_device_state_decode(&back, enc, el), UL_OK);
    assert_memory_equal(&back, &st, sizeof st);
    ul_client_update_abort(NULL);
}

static ul_err add_spec(ul_device_state *st, const char *spec)
{
    return ul_client_device_add_spec(st, (const uint8_t *)spec, strlen(spec));
}

/* "NS=VERSION[@SEQ]" (--installed): its shape, then ul_client_device_add's own verdicts. */
static void test_device_add_spec(void **state)
{
    fx *f = *state;
    static ul_device_state st, before;
    device(f, &st, "board-a");
    assert_int_equal(add_spec(&st, "acme/boot=2.1@7"), UL_OK);
    assert_int_equal(add_spec(&st, "acme/app=1.0"), UL_OK); /* SEQ defaults to 0 */
    assert_int_equal(add_spec(&st, "acme/max=3@18446744073709551615"), UL_OK);
    assert_int_equal(st.n_components, 3);
    const ul_component *c = ul_client_device_find(&st, (const uint8_t *)"acme/boot", 9);
    assert_non_null(c);
    assert_int_equal(c->slot[0].seq, 7);
    assert_int_equal(c->slot[0].version_len, 3);
    assert_memory_equal(c->slot[0].version, "2.1", 3);
    c = ul_client_device_find(&st, (const uint8_t *)"acme/app", 8);
    assert_non_null(c);
    assert_int_equal(c->slot[0].seq, 0);
    assert_memory_equal(c->slot[0].version, "1.0", 3);
    assert_int_equal(ul_client_device_find(&st, (const uint8_t *)"acme/max", 8)->slot[0].seq,
                     UINT64_MAX);
    /* Only len bytes count: the rest of the buffer is not part of the spec. */
    assert_int_equal(ul_client_device_add_spec(&st, (const uint8_t *)"acme/len=4@2junk", 12),
                     UL_OK);
    assert_int_equal(ul_client_device_find(&st, (const uint8_t *)"acme/len", 8)->slot[0].seq, 2);
    before = st;
    /* The spec's shape: UL_E_ARG, st unchanged. */
    static const char *const bad[] = {
        "",                                   /* nothing */
        "acme/x",                             /* no '=' */
        "=1.0",                               /* empty namespace */
        "acme/x=",                            /* empty version */
        "acme/x=@3",                          /* empty version before SEQ */
        "acme/x=1.0@",                        /* empty SEQ */
        "acme/x=1.0@-1",                      /* a sign */
        "acme/x=1.0@+1",                      /* a sign */
        "acme/x=1.0@ 1",                      /* a space */
        "acme/x=1.0@1 ",                      /* a trailing space */
        "acme/x=1.0@0x10",                    /* not decimal */
        "acme/x=1.0@18446744073709551616",    /* 2^64 */
        "acme/x=1.0@99999999999999999999999", /* far past 2^64 */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(add_spec(&st, bad[i]), UL_E_ARG);
        assert_memory_equal(&st, &before, sizeof st);
    }
    assert_int_equal(ul_client_device_add_spec(&st, NULL, 0), UL_E_ARG);
    assert_int_equal(ul_client_device_add_spec(NULL, (const uint8_t *)"a/b=1", 5), UL_E_ARG);
    /* Then ul_client_device_add's verdicts pass through. SEQ follows the last '@', so the
     * version here is "1.0@1", which does not parse. */
    assert_int_equal(add_spec(&st, "acme/x=1.0@1@2"), UL_E_VERSION_STR);
    assert_int_equal(add_spec(&st, "acme/x=banana@1"), UL_E_VERSION_STR);
    assert_int_equal(add_spec(&st, "Acme/x=1.0@1"), UL_E_NS_NAME);
    assert_int_equal(add_spec(&st, "acme=1.0"), UL_E_NS_NAME);
    assert_int_equal(add_spec(&st, "acme/boot=3.0@9"), UL_E_EXISTS);
    assert_memory_equal(&st, &before, sizeof st);
    static ul_device_state full;
    device(f, &full, "board-a");
    for (unsigned i = 0; i < UL_MAX_COMPONENTS; i++) {
        char spec[32];
        snprintf(spec, sizeof spec, "acme/c%u=1.%u@%u", i, i, i);
        assert_int_equal(add_spec(&full, spec), UL_OK);
    }
    assert_int_equal(add_spec(&full, "acme/one-more=1.0@1"), UL_E_LIMIT);
}

/* ---- validator-set changes -------------------------------------------------------------- */

/* A set change at height 3 (f->other replaces the first genesis validator), signed by the three
 * others; releases at heights 2 and 4. Out: release 1's bundle against header 3 (taken before
 * release 2 changes the installable list: the node keeps only current state values). */
static ul_chain *changing_chain(fx *f, uint8_t id1[UL_HASH_BYTES], uint8_t id2[UL_HASH_BYTES],
                                uint8_t **b3, size_t *n3)
{
    static ul_valset_change vc;
    static uint8_t body[UL_MAX_RECORD_BYTES];
    static txbuf t;
    relspec rs;
    size_t blen;
    ul_chain *c = basic_chain(f, id1);
    memset(&vc, 0, sizeof vc);
    vc.nonce = 1;
    const ul_key *members[NV] = {f->other, f->val[1], f->val[2], f->val[3]};
    for (size_t i = 0; i < NV; i++) { /* set order: ascending key */
        size_t j = i;
        memcpy(vc.validators.v[i].pubkey, ul_key_pubkey(members[i]), UL_PUBKEY_BYTES);
        vc.validators.v[i].power = 10;
        while (j > 0 && memcmp(vc.validators.v[j - 1].pubkey, vc.validators.v[j].pubkey,
                               UL_PUBKEY_BYTES) > 0) {
            ul_validator x = vc.validators.v[j];
            vc.validators.v[j] = vc.validators.v[j - 1];
            vc.validators.v[j - 1] = x;
            j--;
        }
    }
    vc.validators.n = NV;
    assert_int_equal(ul_schema_valset_change_encode(body, sizeof body, &blen, &vc), UL_OK);
    ul_chainfx_tx(&t, f->chain_id, UL_TX_VALSET, body, blen,
                  (const ul_key *const[]){f->val[1], f->val[2], f->val[3]}, 3, UL_DOMAIN_TX);
    submit(c, &t, NULL);
    assert_int_equal(produce(f, c), 3);
    *b3 = bundle_at(c, id1, "board-a", 3, n3);
    rel_simple(&rs, 2, "2.0");
    publish(f, c, &rs, id2);
    assert_int_equal(produce(f, c), 4);
    return c;
}

static void test_valset_steps(void **state)
{
    fx *f = *state;
    uint8_t id1[UL_HASH_BYTES], id2[UL_HASH_BYTES];
    static ul_device_state st, st3;
    static secref s[MAX_SECS];
    ul_release_info info;
    size_t n, n3, n2;
    uint8_t *b3;
    ul_chain *c = changing_chain(f, id1, id2, &b3, &n3);
    uint8_t *b = bundle_at(c, id2, "board-a", 0, &n);
    device(f, &st, "board-a");
    /* A fresh device walks the one step. */
    assert_int_equal(verify_ns(&st, NS, b, n, 5, &info), UL_OK);
    assert_int_equal(info.steps, 1);
    assert_int_equal(info.height, 4);
    size_t k = split(b, n, s);
    assert_int_equal(s[0].s.u.begin.n_steps, 1);
    /* A device that already accepted header 3 skips the step it followed. */
    st3 = st;
    assert_int_equal(install_plain(&st3, b3, n3), UL_OK);
    assert_int_equal(st3.height, 3);
    /* Header 3's bundle, built again after its installable list changed: the state history
     * gives the same bytes the node served while 3 was the head. */
    size_t nn;
    uint8_t *again = bundle_at(c, id1, "board-a", 3, &nn);
    assert_int_equal(nn, n3);
    assert_memory_equal(again, b3, n3);
    free(again);
    ul_header h3;
    uint8_t *hdr;
    size_t hl;
    assert_int_equal(ul_chain_header_bytes(c, 3, &hdr, &hl), UL_OK);
    assert_int_equal(ul_schema_header_decode(&h3, hdr, hl), UL_OK);
    free(hdr);
    assert_memory_equal(st3.valset_hash, h3.next_validators_hash, UL_HASH_BYTES);
    assert_memory_not_equal(h3.validators_hash, h3.next_validators_hash, UL_HASH_BYTES);
    assert_int_equal(ul_client_device_confirm(&st3, (const uint8_t *)NS, strlen(NS)), UL_OK);
    assert_int_equal(verify_ns(&st3, NS, b, n, n, &info), UL_OK);
    assert_int_equal(info.steps, 0);
    /* ... and needs no step at all: a bundle without it is just as good for that device, but a
     * fresh device cannot get from the genesis set to the new one. */
    ul_section x = s[0].s;
    x.u.begin.n_steps = 0;
    static uint8_t enc[256];
    size_t el = enc_section(&x, enc, sizeof enc);
    size_t fin = nth(s, k, UL_SEC_HEADER, 1, 0);
    uint8_t *b2 = splice(b, n, s, k, 0, fin, enc, el, &n2);
    assert_int_equal(verify(&st3, b2, n2), UL_OK);
    assert_int_equal(verify(&st, b2, n2), UL_E_VALSET_GAP);
    free(b2);
    /* The step's own commit must hold: one signature fewer than a quorum fails it. */
    size_t v1 = nth(s, k, UL_SEC_VOTER, 1, 0), v2 = nth(s, k, UL_SEC_VOTER, 2, 0);
    static secref s2[MAX_SECS];
    x = s[v1].s;
    x.u.voter.has_sig = false;
    b2 = replace(b, n, s, k, v1, &x, &n2);
    size_t k2 = split(b2, n2, s2);
    x = s2[v2].s;
    x.u.voter.has_sig = false;
    size_t n4;
    uint8_t *b4 = replace(b2, n2, s2, k2, v2, &x, &n4);
    assert_int_equal(verify(&st, b4, n4), UL_E_QUORUM);
    assert_int_equal(verify(&st3, b4, n4), UL_OK); /* a followed step is not checked again */
    free(b4);
    free(b2);
    /* Header 3 twice: as the step and again as the header the proofs are against. */
    {
        static secref s3[MAX_SECS];
        size_t k3 = split(b3, n3, s3);
        size_t h3i = nth(s3, k3, UL_SEC_HEADER, 0, 0), leaf3 = nth(s3, k3, UL_SEC_LEAF, 0, 0);
        x = s3[0].s;
        x.u.begin.n_steps = 1;
        el = enc_section(&x, enc, sizeof enc);
        size_t hv = s3[leaf3].off - s3[h3i].off; /* header 3 and its voters */
        uint8_t *twice = malloc(el + hv + n3);
        memcpy(twice, enc, el);
        memcpy(twice + el, b3 + s3[h3i].off, hv);
        memcpy(twice + el + hv, b3 + s3[h3i].off, n3 - s3[h3i].off);
        assert_int_equal(verify(&st, twice, el + hv + n3 - s3[h3i].off), UL_E_HEIGHT);
        free(twice);
    }
    /* Header 4 presented as if it were a step (two headers at one height). */
    x = s[0].s;
    x.u.begin.n_steps = 2;
    el = enc_section(&x, enc, sizeof enc);
    b2 = splice(b, n, s, k, 0, 1, enc, el, &n2);
    assert_int_not_equal(verify(&st, b2, n2), UL_OK);
    free(b2);
    free(b3);
    free(b);
    ul_chain_close(c);
}

/* ---- freshness checkpoints ------------------------------------------------------------------ */

/* A checkpoint of the head of c at time t signed by the first `signers` validators under domain d
 * for chain chain_id (hash: the header hash signed; NULL: the head's). */
static void make_checkpoint(const fx *f, ul_chain *c, ul_checkpoint *cp, uint64_t t, size_t signers,
                            ul_domain d, const uint8_t *chain_id, const uint8_t *hash)
{
    uint8_t *hdr = NULL, vb[UL_MAX_VOTE_BYTES];
    size_t hlen = 0, vlen = 0;
    memset(cp, 0, sizeof *cp);
    cp->v.height = ul_chain_height(c);
    cp->v.time_ms = t;
    assert_int_equal(ul_chain_header_bytes(c, cp->v.height, &hdr, &hlen), UL_OK);
    ul_client_sha256(cp->v.header_hash, hdr, hlen);
    free(hdr);
    if (hash) {
        memcpy(cp->v.header_hash, hash, UL_HASH_BYTES);
    }
    assert_int_equal(ul_schema_checkpoint_vote_encode(vb, sizeof vb, &vlen, &cp->v), UL_OK);
    for (size_t i = 0; i < signers; i++) {
        cp->sigs[i].index = i;
        assert_int_equal(ul_key_sign(f->val[i], cp->sigs[i].sig, d, chain_id, vb, vlen), UL_OK);
    }
    cp->n_sigs = signers;
}

/* begin with a clock, the whole bundle, final. */
static ul_err verify_at(const ul_device_state *st, const uint8_t *b, size_t n, uint64_t now,
                        uint64_t max_age, ul_release_info *info)
{
    ul_err e =
        ul_client_update_begin(&g_u, st, (const uint8_t *)NS, strlen(NS), NULL, now, max_age);
    if (e == UL_OK) {
        e = feed(&g_u, b, n, 7);
    }
    return e == UL_OK ? ul_client_bundle_final(&g_u, info) : e;
}

static size_t signed_voters(const secref *s, size_t k)
{
    size_t m = 0;
    for (size_t i = 0; i < k; i++) {
        m += s[i].s.type == UL_SEC_VOTER && s[i].s.u.voter.has_sig;
    }
    return m;
}

static void test_checkpoint(void **state)
{
    fx *f = *state;
    uint8_t id[UL_HASH_BYTES], other[UL_HASH_BYTES] = {1};
    static ul_device_state st;
    static secref s[MAX_SECS], sc[MAX_SECS];
    static ul_checkpoint cp, kept;
    ul_release_info info;
    size_t n, nc, nt;
    ul_chain *c = basic_chain(f, id);
    uint8_t *plain = bundle_at(c, id, "board-a", 0, &n);
    size_t k = split(plain, n, s);
    uint64_t hd_time = s[nth(s, k, UL_SEC_HEADER, 0, 0)].s.u.header.round; /* placeholder */
    ul_header hd;
    size_t hi = nth(s, k, UL_SEC_HEADER, 0, 0);
    assert_int_equal(
        ul_schema_header_decode(&hd, s[hi].s.u.header.header.ptr, s[hi].s.u.header.header.len),
        UL_OK);
    hd_time = hd.time_ms;
    uint64_t t = hd_time + 86400000; /* a day after the header */
    assert_int_equal(ul_chain_checkpoint_get(c, &kept), UL_E_NOT_FOUND);
    /* The chain keeps only a checkpoint that verifies for its head. */
    make_checkpoint(f, c, &cp, t, 2, UL_DOMAIN_CHECKPOINT, f->chain_id, NULL);
    assert_int_equal(ul_chain_checkpoint_put(c, &cp), UL_E_QUORUM); /* 20 of 40 */
    make_checkpoint(f, c, &cp, t, 3, UL_DOMAIN_VOTE, f->chain_id, NULL);
    assert_int_equal(ul_chain_checkpoint_put(c, &cp), UL_E_SIG); /* another domain tag */
    make_checkpoint(f, c, &cp, t, 3, UL_DOMAIN_CHECKPOINT, other, NULL);
    assert_int_equal(ul_chain_checkpoint_put(c, &cp), UL_E_SIG); /* another chain */
    make_checkpoint(f, c, &cp, t, 3, UL_DOMAIN_CHECKPOINT, f->chain_id, id);
    assert_int_equal(ul_chain_checkpoint_put(c, &cp), UL_E_CHECKPOINT); /* another header */
    assert_int_equal(ul_chain_checkpoint_get(c, &kept), UL_E_NOT_FOUND);
    make_checkpoint(f, c, &cp, t, 3, UL_DOMAIN_CHECKPOINT, f->chain_id, NULL);
    assert_int_equal(ul_chain_checkpoint_put(c, &cp), UL_OK);
    assert_int_equal(ul_chain_checkpoint_put(c, &cp), UL_E_EXISTS); /* not newer */
    assert_int_equal(ul_chain_checkpoint_get(c, &kept), UL_OK);
    assert_int_equal(kept.v.time_ms, t);
    /* The head's bundle now carries it, with as many signatures as the commit's. */
    uint8_t *fresh = bundle_at(c, id, "board-a", 0, &nc);
    size_t kc = split(fresh, nc, sc);
    size_t ci = nth(sc, kc, UL_SEC_CHECKPOINT, 0, 0);
    assert_int_equal(sc[ci].s.u.header.time_ms, t);
    assert_int_equal(signed_voters(sc, kc), signed_voters(s, k));
    device(f, &st, "board-a");
    /* now = t + 5 s, max age 10 s: the commit-only bundle is a day old, the checkpoint fresh. */
    assert_int_equal(verify_at(&st, plain, n, t + 5000, 10000, NULL), UL_E_STALE);
    assert_int_equal(verify_at(&st, fresh, nc, t + 5000, 10000, &info), UL_OK);
    assert_int_equal(info.checkpoint_time_ms, t);
    assert_int_equal(info.header_time_ms, hd_time);
    assert_int_equal(verify_at(&st, fresh, nc, t + 20000, 10000, NULL), UL_E_STALE);
    assert_int_equal(verify_at(&st, fresh, nc, t - UL_MAX_CLOCK_SKEW_MS - 1, 0, NULL), UL_E_FUTURE);
    assert_int_equal(verify_at(&st, fresh, nc, 0, 0, NULL), UL_OK); /* no clock */
    /* A voter's time that is not the checkpoint's; a signature by another domain. */
    size_t v0 = ci + 1;
    ul_section w = sc[v0].s;
    assert_true(w.u.voter.has_sig);
    w.u.voter.time_ms++;
    uint8_t *bad = replace(fresh, nc, sc, kc, v0, &w, &nt);
    assert_int_equal(verify_at(&st, bad, nt, 0, 0, NULL), UL_E_CHECKPOINT);
    free(bad);
    w = sc[ci].s;
    w.u.header.time_ms++; /* the signers signed another time */
    bad = replace(fresh, nc, sc, kc, ci, &w, &nt);
    assert_int_equal(verify_at(&st, bad, nt, 0, 0, NULL), UL_E_CHECKPOINT);
    free(bad);
    /* The commit's signatures under a CHECKPOINT section do not verify as a checkpoint. */
    w = s[hi].s;
    w.type = UL_SEC_CHECKPOINT;
    w.u.header.round = 0;
    w.u.header.time_ms = s[hi + 1].s.u.voter.time_ms;
    bad = replace(plain, n, s, k, hi, &w, &nt);
    ul_err e = verify_at(&st, bad, nt, 0, 0, NULL);
    assert_true(e == UL_E_SIG || e == UL_E_CHECKPOINT);
    free(bad);
    /* A new block: the kept checkpoint is for an old head, and bundles carry the commit again. */
    produce(f, c);
    assert_int_equal(ul_chain_checkpoint_get(c, &kept), UL_E_NOT_FOUND);
    free(fresh);
    fresh = bundle_at(c, id, "board-a", 0, &nc);
    kc = split(fresh, nc, sc);
    for (size_t i = 0; i < kc; i++) {
        assert_int_not_equal(sc[i].s.type, UL_SEC_CHECKPOINT);
    }
    free(fresh);
    free(plain);
    ul_chain_close(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_genuine_chunks),
        cmocka_unit_test(test_accept_fields),
        cmocka_unit_test(test_ab_slots),
        cmocka_unit_test(test_deferred),
        cmocka_unit_test(test_not_approved),
        cmocka_unit_test(test_quorum_and_voters),
        cmocka_unit_test(test_headers),
        cmocka_unit_test(test_proofs),
        cmocka_unit_test(test_flips_and_truncations),
        cmocka_unit_test(test_image_plain),
        cmocka_unit_test(test_image_encrypted),
        cmocka_unit_test(test_sequence),
        cmocka_unit_test(test_device_state),
        cmocka_unit_test(test_device_add_spec),
        cmocka_unit_test(test_valset_steps),
        cmocka_unit_test(test_checkpoint),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
