/* Fuzz target "transaction validation": each input is submitted to one process-wide chain and
 * then discarded, so every input meets the same state: at height 1 the namespace FUZZ_NS is
 * registered under a policy with a certifier role (required for feature releases) and an end of
 * support already reached, FUZZ_DEP_NS is registered for dependencies, and one feature release
 * awaits its co-signature, so every tx kind can succeed. Each input is also decoded as a tx, a
 * release and each namespace-tx body, and whatever decodes must re-encode to the same bytes. Built
 * with -DUL_FUZZ_GEN (without replay.c), main() writes the seed corpus:
 *   cc -std=c11 -D_GNU_SOURCE -I. -DUL_FUZZ_GEN tests/fuzz/fuzz_tx.c build/libupledger.a \
 *      build/libupclient.a -lleveldb -lnanomsg -ljansson -lpthread -lsecp256k1 -lsodium -lcbor \
 *      -o /tmp/gen_tx && /tmp/gen_tx tests/fuzz/corpus/fuzz_tx
 */
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/ul_ledger.h"

/* Fixed genesis and keys, so the chain id (and hence which seeds verify) is the same in every
 * process. fuzz_bundle.c uses the same values. */
#define FUZZ_T0 1700000000000ULL
#define FUZZ_CHAIN_NAME "upledger-fuzz"
#define FUZZ_NS "fuzz/device"
#define FUZZ_DEP_NS "fuzz/base"
/* End of support of FUZZ_NS: the genesis time, so the validator may transfer it at height 2. */
#define FUZZ_EOS (FUZZ_T0 / 1000)

enum { KEY_VALIDATOR = 1, KEY_OWNER = 2, KEY_PUBLISHER = 3, KEY_OTHER = 4, KEY_CERTIFIER = 5 };

static ul_chain *g_chain;
static ul_key *g_keys[6];
static uint8_t g_pending_id[UL_HASH_BYTES]; /* the release at height 1 awaiting co-signature */
static char g_dir[64];
static uint8_t g_out[UL_MAX_TX_BYTES]; /* re-encodings */

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_tx: %s\n", what);
        abort();
    }
}

static ul_key *fixed_key(unsigned n)
{
    uint8_t seed[32] = "upledger fuzz key", sk[UL_SECKEY_BYTES];
    ul_key *k = NULL;

    seed[31] = (uint8_t)n;
    ul_client_sha256(sk, seed, sizeof seed);
    check(ul_key_from_secret(&k, sk) == UL_OK, "key");
    return k;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void cleanup(void)
{
    ul_chain_close(g_chain);
    g_chain = NULL;
    if (g_dir[0]) {
        nftw(g_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    }
    for (size_t i = 0; i < sizeof g_keys / sizeof g_keys[0]; i++) {
        ul_key_destroy(g_keys[i]);
        g_keys[i] = NULL;
    }
}

/* Signs body as a tx of kind with the given keys (sorted by public key). */
static size_t sign_tx(uint8_t *out, size_t cap, uint64_t kind, const uint8_t *body, size_t blen,
                      const ul_key *const *signers, size_t n, ul_domain d, const uint8_t *chain)
{
    ul_tx tx;
    size_t len = 0;

    memset(&tx, 0, sizeof tx);
    tx.kind = kind;
    tx.body = (ul_span){body, blen};
    tx.n_sigs = n;
    for (size_t i = 0; i < n; i++) {
        memcpy(tx.sigs[i].pubkey, ul_key_pubkey(signers[i]), UL_PUBKEY_BYTES);
        check(ul_key_sign(signers[i], tx.sigs[i].sig, d, chain, body, blen) == UL_OK, "sign");
    }
    for (size_t i = 1; i < n; i++) {
        for (size_t j = i;
             j > 0 && memcmp(tx.sigs[j - 1].pubkey, tx.sigs[j].pubkey, UL_PUBKEY_BYTES) > 0; j--) {
            ul_sig t = tx.sigs[j];
            tx.sigs[j] = tx.sigs[j - 1];
            tx.sigs[j - 1] = t;
        }
    }
    check(ul_schema_tx_encode(out, cap, &len, &tx) == UL_OK, "tx encode");
    return len;
}

static void keyset_one(ul_keyset *ks, unsigned key)
{
    memset(ks, 0, sizeof *ks);
    ks->n = 1;
    ks->threshold = 1;
    memcpy(ks->keys[0], ul_key_pubkey(g_keys[key]), UL_PUBKEY_BYTES);
}

/* The default policy (owner, publisher, each 1 of 1; owners and publishers revoke), plus, when
 * full, a certifier role required for feature releases and an end of support. */
static void fuzz_policy(ul_policy *p, bool full)
{
    memset(p, 0, sizeof *p);
    keyset_one(&p->owners, KEY_OWNER);
    keyset_one(&p->publishers, KEY_PUBLISHER);
    p->n_revokers = 2;
    p->revokers[0] = ul_span_str("owners");
    p->revokers[1] = ul_span_str("publishers");
    if (full) {
        p->n_roles = 1;
        p->roles[0].name = ul_span_str("certifier");
        keyset_one(&p->roles[0].keys, KEY_CERTIFIER);
        p->n_require = 1;
        p->require[0].kind = UL_KIND_FEATURE;
        p->require[0].n = 1;
        p->require[0].roles[0] = ul_span_str("certifier");
        p->has_eos = true;
        p->eos = FUZZ_EOS;
    }
}

static size_t register_body(uint8_t *out, size_t cap, const char *ns, uint64_t nonce, bool full)
{
    static ul_register r;
    size_t len = 0;

    memset(&r, 0, sizeof r);
    r.ns = ul_span_str(ns);
    r.nonce = nonce;
    fuzz_policy(&r.policy, full);
    check(ul_schema_register_encode(out, cap, &len, &r) == UL_OK, "register encode");
    return len;
}

/* The release awaiting co-signature at height 1: a feature release on its own class. */
static size_t pending_release_body(uint8_t *out, size_t cap)
{
    static ul_release r;
    size_t len = 0;

    memset(&r, 0, sizeof r);
    r.ns = ul_span_str(FUZZ_NS);
    r.provider = ul_span_str("Fuzz Devices Inc");
    r.time = 1700000000;
    r.version = ul_span_str("0.9.0");
    r.seq = 1;
    memset(r.digest, 0x99, sizeof r.digest);
    r.size = 1000;
    r.file = ul_span_str("device.img");
    r.n_hw = 1;
    r.hw[0] = ul_span_str("board-z");
    r.kind = UL_KIND_FEATURE;
    check(ul_schema_release_encode(out, cap, &len, &r) == UL_OK, "release encode");
    return len;
}

static ul_chain *chain_get(void)
{
    static uint8_t body[UL_MAX_RECORD_BYTES], tx[UL_MAX_TX_BYTES];
    uint8_t genesis[512];
    size_t glen, blen, tlen;
    uint8_t id[UL_HASH_BYTES];
    ul_genesis g;

    if (g_chain) {
        return g_chain;
    }
    check(ul_client_init() == UL_OK, "init");
    for (unsigned i = 1; i < sizeof g_keys / sizeof g_keys[0]; i++) {
        g_keys[i] = fixed_key(i);
    }
    memset(&g, 0, sizeof g);
    g.version = UL_SCHEMA_VERSION;
    g.name = ul_span_str(FUZZ_CHAIN_NAME);
    g.time_ms = FUZZ_T0;
    g.validators.n = 1;
    memcpy(g.validators.v[0].pubkey, ul_key_pubkey(g_keys[KEY_VALIDATOR]), UL_PUBKEY_BYTES);
    g.validators.v[0].power = 1;
    check(ul_schema_genesis_encode(genesis, sizeof genesis, &glen, &g) == UL_OK, "genesis");
    snprintf(g_dir, sizeof g_dir, "/tmp/ul-fuzz-tx-XXXXXX");
    check(mkdtemp(g_dir) != NULL, "mkdtemp");
    atexit(cleanup);
    check(ul_chain_open(&g_chain, g_dir, genesis, glen) == UL_OK, "chain open");
    const ul_key *owner = g_keys[KEY_OWNER], *pub = g_keys[KEY_PUBLISHER];
    blen = register_body(body, sizeof body, FUZZ_NS, 1, true);
    tlen = sign_tx(tx, sizeof tx, UL_TX_REGISTER, body, blen, &owner, 1, UL_DOMAIN_TX,
                   ul_chain_id(g_chain));
    check(ul_chain_submit(g_chain, tx, tlen, id) == UL_OK, "register");
    blen = register_body(body, sizeof body, FUZZ_DEP_NS, 2, false);
    tlen = sign_tx(tx, sizeof tx, UL_TX_REGISTER, body, blen, &owner, 1, UL_DOMAIN_TX,
                   ul_chain_id(g_chain));
    check(ul_chain_submit(g_chain, tx, tlen, id) == UL_OK, "register dependency");
    blen = pending_release_body(body, sizeof body);
    tlen = sign_tx(tx, sizeof tx, UL_TX_PUBLISH, body, blen, &pub, 1, UL_DOMAIN_RELEASE,
                   ul_chain_id(g_chain));
    check(ul_chain_submit(g_chain, tx, tlen, g_pending_id) == UL_OK, "publish");
    check(ul_chain_produce(g_chain, g_keys[KEY_VALIDATOR], FUZZ_T0 + 1000, NULL) == UL_OK,
          "produce");
    return g_chain;
}

#define ROUND_TRIP(name, type)                                                                     \
    static void rt_##name(const uint8_t *data, size_t size)                                        \
    {                                                                                              \
        static type rec;                                                                           \
        size_t len = 0;                                                                            \
        if (ul_schema_##name##_decode(&rec, data, size) == UL_OK) {                                \
            check(ul_schema_##name##_encode(g_out, sizeof g_out, &len, &rec) == UL_OK,             \
                  #name " re-encode");                                                             \
            check(len == size && memcmp(g_out, data, size) == 0, #name " round trip differs");     \
        }                                                                                          \
    }

ROUND_TRIP(register, ul_register)
ROUND_TRIP(set_policy, ul_set_policy)
ROUND_TRIP(approve, ul_approve)
ROUND_TRIP(revoke, ul_revoke)
ROUND_TRIP(rotate, ul_rotate)
ROUND_TRIP(transfer, ul_transfer)
ROUND_TRIP(valset_change, ul_valset_change)

/* Whatever decodes must re-encode to exactly the input (decoders accept canonical input only). */
static void decode_checks(const uint8_t *data, size_t size)
{
    static ul_release rel;
    ul_tx tx;
    size_t len;

    if (ul_schema_tx_decode(&tx, data, size) == UL_OK) {
        check(ul_schema_tx_encode(g_out, sizeof g_out, &len, &tx) == UL_OK, "tx re-encode");
        check(len == size && memcmp(g_out, data, size) == 0, "tx round trip differs");
        switch (tx.kind) {
        case UL_TX_PUBLISH: {
            /* Any verdict is right for a fuzzed body: this only runs the decoder for the
             * sanitizers. (GCC warns through a (void) cast of the call, not of a variable.) */
            ul_err any = ul_schema_release_decode(&rel, tx.body.ptr, tx.body.len);
            (void)any;
            break;
        }
        case UL_TX_REGISTER:
            rt_register(tx.body.ptr, tx.body.len);
            break;
        case UL_TX_SET_POLICY:
            rt_set_policy(tx.body.ptr, tx.body.len);
            break;
        case UL_TX_APPROVE:
            rt_approve(tx.body.ptr, tx.body.len);
            break;
        case UL_TX_REVOKE:
            rt_revoke(tx.body.ptr, tx.body.len);
            break;
        case UL_TX_ROTATE:
            rt_rotate(tx.body.ptr, tx.body.len);
            break;
        case UL_TX_TRANSFER:
            rt_transfer(tx.body.ptr, tx.body.len);
            break;
        default:
            rt_valset_change(tx.body.ptr, tx.body.len);
            break;
        }
    }
    if (ul_schema_release_decode(&rel, data, size) == UL_OK) {
        check(ul_schema_release_encode(g_out, sizeof g_out, &len, &rel) == UL_OK,
              "release re-encode");
        check(len == size && memcmp(g_out, data, size) == 0, "release round trip differs");
        check(ul_schema_ns_check(rel.ns) == UL_OK, "decoded release has a bad namespace");
    }
    rt_register(data, size);
    rt_set_policy(data, size);
    rt_approve(data, size);
    rt_revoke(data, size);
    rt_rotate(data, size);
    rt_transfer(data, size);
    rt_valset_change(data, size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ul_chain *c = chain_get();
    uint8_t id[UL_HASH_BYTES], hash[UL_HASH_BYTES];
    ul_header h;

    if (ul_chain_submit(c, data, size, id) == UL_OK) {
        /* Accepted: it must be pending, and the pending block must seal. */
        uint64_t at = 1;
        check(ul_chain_pending_count(c) == 1, "pending count after accept");
        check(ul_chain_tx_status(c, id, &at) == UL_OK && at == 0, "accepted tx not pending");
        check(ul_chain_seal(c, ul_key_pubkey(g_keys[KEY_VALIDATOR]), ul_chain_next_time(c), &h,
                            hash) == UL_OK,
              "seal");
        check(h.height == 2 && (h.log_size == 1 || h.log_size == 2), "sealed header");
    } else {
        check(ul_chain_pending_count(c) == 0, "rejected tx left something pending");
    }
    ul_chain_discard(c);
    check(ul_chain_pending_count(c) == 0 && ul_chain_height(c) == 1, "discard");
    decode_checks(data, size);
    return 0;
}

#ifdef UL_FUZZ_GEN
/* ---- seed corpus generator ---------------------------------------------------------------- */

static const char *g_outdir;

static void put(const char *name, const uint8_t *p, size_t n)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", g_outdir, name);
    FILE *f = fopen(path, "wb");
    check(f != NULL, "open output");
    check(fwrite(p, 1, n, f) == n || n == 0, "write");
    fclose(f);
}

/* A publish body exercising every optional field when full. */
static size_t release_body(uint8_t *out, size_t cap, uint64_t seq, const char *ns, bool full)
{
    static ul_release r;
    size_t len = 0;

    memset(&r, 0, sizeof r);
    r.ns = ul_span_str(ns);
    r.provider = ul_span_str("Fuzz Devices Inc");
    r.time = 1700000000;
    r.version = ul_span_str(full ? "2.1.0-rc1" : "1.0.0");
    r.seq = seq;
    memset(r.digest, 0xab, sizeof r.digest);
    r.size = 123456;
    r.file = ul_span_str("device.img");
    r.n_hw = full ? 3 : 1;
    r.hw[0] = ul_span_str("board-a");
    r.hw[1] = ul_span_str("board-b");
    r.hw[2] = ul_span_str("board-c");
    r.kind = full ? UL_KIND_SECURITY : UL_KIND_FEATURE;
    if (full) {
        r.n_links = 2;
        r.links[0] = ul_span_str("https://mirror.example/device.img");
        r.links[1] = ul_span_str("ipfs://bafy");
        r.n_deps = 1;
        r.deps[0].ns = ul_span_str("fuzz/base");
        r.deps[0].constraint = ul_span_str(">=1.2.0");
        r.has_precursor = true;
        memset(r.precursor, 0xcd, sizeof r.precursor);
        r.has_enc = true;
        r.enc.alg = 1;
        r.enc.chunk = UL_MAX_ENC_CHUNK;
        r.enc.n_keys = 1;
        r.enc.keys[0].hw = ul_span_str("board-b");
        static uint8_t sealed[UL_SEALED_KEY_BYTES];
        memset(sealed, 0x5e, sizeof sealed);
        r.enc.keys[0].sealed = (ul_span){sealed, sizeof sealed};
    }
    check(ul_schema_release_encode(out, cap, &len, &r) == UL_OK, "release encode");
    return len;
}

/* A set change: to {validator: 3, certifier: 1}, or (same) to the genesis set again. */
static size_t valset_change_body(uint8_t *out, size_t cap, uint64_t nonce, bool same)
{
    static ul_valset_change v;
    size_t len = 0;
    memset(&v, 0, sizeof v);
    v.nonce = nonce;
    v.validators = ul_chain_genesis(g_chain)->validators;
    if (!same) {
        const uint8_t *val = ul_key_pubkey(g_keys[KEY_VALIDATOR]);
        const uint8_t *cert = ul_key_pubkey(g_keys[KEY_CERTIFIER]);
        bool val_first = memcmp(val, cert, UL_PUBKEY_BYTES) < 0;
        v.validators.n = 2;
        memcpy(v.validators.v[val_first ? 0 : 1].pubkey, val, UL_PUBKEY_BYTES);
        memcpy(v.validators.v[val_first ? 1 : 0].pubkey, cert, UL_PUBKEY_BYTES);
        v.validators.v[val_first ? 0 : 1].power = 3;
        v.validators.v[val_first ? 1 : 0].power = 1;
    }
    check(ul_schema_valset_change_encode(out, cap, &len, &v) == UL_OK, "valset change encode");
    return len;
}

static void expect(const uint8_t *tx, size_t len, ul_err want, const char *name)
{
    uint8_t id[UL_HASH_BYTES];
    ul_err e = ul_chain_submit(g_chain, tx, len, id);
    ul_chain_discard(g_chain);
    printf("%-24s %zu bytes: %s\n", name, len, ul_err_name(e));
    check(e == want, "seed does not give the expected result");
    put(name, tx, len);
}

static size_t set_policy_body(uint8_t *out, size_t cap, uint64_t nonce)
{
    static ul_set_policy v;
    size_t len = 0;
    memset(&v, 0, sizeof v);
    v.ns = ul_span_str(FUZZ_NS);
    v.nonce = nonce;
    fuzz_policy(&v.policy, true);
    v.policy.has_eos = false;
    v.policy.n_hw = 1;
    v.policy.hw[0] = ul_span_str("board-a");
    check(ul_schema_set_policy_encode(out, cap, &len, &v) == UL_OK, "set policy encode");
    return len;
}

static size_t approve_body(uint8_t *out, size_t cap, const uint8_t *id, const char *role,
                           uint64_t nonce)
{
    ul_approve v = {.role = ul_span_str(role), .nonce = nonce};
    size_t len = 0;
    memcpy(v.release, id, UL_HASH_BYTES);
    check(ul_schema_approve_encode(out, cap, &len, &v) == UL_OK, "approve encode");
    return len;
}

static size_t revoke_body(uint8_t *out, size_t cap, const uint8_t *id, uint64_t nonce)
{
    ul_revoke v = {.reason = ul_span_str("recalled: bricks board-z"), .nonce = nonce};
    size_t len = 0;
    memcpy(v.release, id, UL_HASH_BYTES);
    check(ul_schema_revoke_encode(out, cap, &len, &v) == UL_OK, "revoke encode");
    return len;
}

static size_t rotate_body(uint8_t *out, size_t cap, const char *target, unsigned key,
                          uint64_t nonce)
{
    static ul_rotate v;
    size_t len = 0;
    memset(&v, 0, sizeof v);
    v.ns = ul_span_str(FUZZ_NS);
    v.nonce = nonce;
    v.target = ul_span_str(target);
    keyset_one(&v.keys, key);
    check(ul_schema_rotate_encode(out, cap, &len, &v) == UL_OK, "rotate encode");
    return len;
}

static size_t transfer_body(uint8_t *out, size_t cap, uint64_t nonce)
{
    static ul_transfer v;
    size_t len = 0;
    memset(&v, 0, sizeof v);
    v.ns = ul_span_str(FUZZ_NS);
    v.nonce = nonce;
    keyset_one(&v.owners, KEY_OTHER);
    keyset_one(&v.publishers, KEY_OTHER);
    check(ul_schema_transfer_encode(out, cap, &len, &v) == UL_OK, "transfer encode");
    return len;
}

int main(int argc, char **argv)
{
    static uint8_t body[UL_MAX_RECORD_BYTES], tx[UL_MAX_TX_BYTES], other[UL_HASH_BYTES];
    const ul_key *pub = NULL, *owner = NULL, *cert = NULL, *val = NULL, *stranger = NULL;
    const ul_key *both[2];
    uint8_t unknown[UL_HASH_BYTES];
    size_t blen, tlen;

    if (argc != 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
        return 2;
    }
    g_outdir = argv[1];
    chain_get();
    pub = g_keys[KEY_PUBLISHER];
    owner = g_keys[KEY_OWNER];
    cert = g_keys[KEY_CERTIFIER];
    val = g_keys[KEY_VALIDATOR];
    stranger = g_keys[KEY_OTHER];
    both[0] = pub;
    both[1] = owner;
    const uint8_t *chain = ul_chain_id(g_chain);
    memcpy(other, chain, UL_HASH_BYTES);
    other[0] ^= 1;
    memset(unknown, 0x5a, sizeof unknown);

    /* Publish. */
    blen = release_body(body, sizeof body, 1, FUZZ_NS, false);
    put("body-release-min", body, blen);
    tlen = sign_tx(tx, sizeof tx, UL_TX_PUBLISH, body, blen, &pub, 1, UL_DOMAIN_RELEASE, chain);
    expect(tx, tlen, UL_OK, "publish-min");
    tx[tlen - 1] ^= 1;
    expect(tx, tlen, UL_E_SIG, "publish-bad-sig");
    expect(tx, tlen - 1, UL_E_CBOR_MALFORMED, "publish-truncated");
    tx[tlen - 1] ^= 1;
    tx[2] = UL_TX_KIND_MAX_ + 1;
    expect(tx, tlen, UL_E_TX_KIND, "publish-kind-8");
    tx[2] = UL_TX_REGISTER;
    expect(tx, tlen, UL_E_SCHEMA_FIELD, "publish-as-register");
    tx[2] = UL_TX_APPROVE;
    expect(tx, tlen, UL_E_SCHEMA_FIELD, "publish-as-approve");

    blen = release_body(body, sizeof body, 7, FUZZ_NS, true);
    put("body-release-full", body, blen);
    tlen = sign_tx(tx, sizeof tx, UL_TX_PUBLISH, body, blen, &pub, 1, UL_DOMAIN_RELEASE, chain);
    expect(tx, tlen, UL_OK, "publish-full");
    tlen = sign_tx(tx, sizeof tx, UL_TX_PUBLISH, body, blen, &pub, 1, UL_DOMAIN_TX, chain);
    expect(tx, tlen, UL_E_SIG, "publish-wrong-domain");
    tlen = sign_tx(tx, sizeof tx, UL_TX_PUBLISH, body, blen, &pub, 1, UL_DOMAIN_RELEASE, other);
    expect(tx, tlen, UL_E_SIG, "publish-other-chain");
    tlen = sign_tx(tx, sizeof tx, UL_TX_PUBLISH, body, blen, both, 2, UL_DOMAIN_RELEASE, chain);
    expect(tx, tlen, UL_E_NOT_PUBLISHER, "publish-two-signers");
    blen = release_body(body, sizeof body, 1, "fuzz/unknown", false);
    tlen = sign_tx(tx, sizeof tx, UL_TX_PUBLISH, body, blen, &pub, 1, UL_DOMAIN_RELEASE, chain);
    expect(tx, tlen, UL_E_NS_UNKNOWN, "publish-unknown-ns");
    blen = pending_release_body(body, sizeof body);
    tlen = sign_tx(tx, sizeof tx, UL_TX_PUBLISH, body, blen, &pub, 1, UL_DOMAIN_RELEASE, chain);
    expect(tx, tlen, UL_E_DUPLICATE, "publish-duplicate");

    /* Register (the owner's nonce is 2 after height 1). */
    blen = register_body(body, sizeof body, "fuzz/other", 3, true);
    put("body-register", body, blen);
    tlen = sign_tx(tx, sizeof tx, UL_TX_REGISTER, body, blen, &owner, 1, UL_DOMAIN_TX, chain);
    expect(tx, tlen, UL_OK, "register-new");
    tlen = sign_tx(tx, sizeof tx, UL_TX_REGISTER, body, blen, &pub, 1, UL_DOMAIN_TX, chain);
    expect(tx, tlen, UL_E_NOT_OWNER, "register-not-owner");
    tlen = sign_tx(tx, sizeof tx, UL_TX_REGISTER, body, blen, &owner, 1, UL_DOMAIN_RELEASE, chain);
    expect(tx, tlen, UL_E_SIG, "register-wrong-domain");
    blen = register_body(body, sizeof body, "fuzz/other", 2, false);
    tlen = sign_tx(tx, sizeof tx, UL_TX_REGISTER, body, blen, &owner, 1, UL_DOMAIN_TX, chain);
    expect(tx, tlen, UL_E_REPLAY, "register-replay");
    blen = register_body(body, sizeof body, FUZZ_NS, 9, false);
    tlen = sign_tx(tx, sizeof tx, UL_TX_REGISTER, body, blen, &owner, 1, UL_DOMAIN_TX, chain);
    expect(tx, tlen, UL_E_NS_EXISTS, "register-exists");

    /* Set policy. */
    blen = set_policy_body(body, sizeof body, 3);
    put("body-set-policy", body, blen);
    tlen = sign_tx(tx, sizeof tx, UL_TX_SET_POLICY, body, blen, &owner, 1, UL_DOMAIN_TX, chain);
    expect(tx, tlen, UL_OK, "set-policy");
    tlen = sign_tx(tx, sizeof tx, UL_TX_SET_POLICY, body, blen, &pub, 1, UL_DOMAIN_TX, chain);
    expect(tx, tlen, UL_E_NOT_OWNER, "set-policy-not-owner");
    tlen = sign_tx(tx, sizeof tx, UL_TX_SET_POLICY, body, blen, both, 2, UL_DOMAIN_TX, chain);
    expect(tx, tlen, UL_E_NOT_OWNER, "set-policy-owner-and-stranger");
    blen = set_policy_body(body, sizeof body, 2);
    tlen = sign_tx(tx, sizeof tx, UL_TX_SET_POLICY, body, blen, &owner, 1, UL_DOMAIN_TX, chain);
    expect(tx, tlen, UL_E_REPLAY, "set-policy-replay");

    /* Approve the release awaiting its certifier. */
    blen = approve_body(body, sizeof body, g_pending_id, "certifier", 1);
    put("body-approve", body, blen);
    tlen = sign_tx(tx, sizeof tx, UL_TX_APPROVE, body, blen, &cert, 1, UL_DOMAIN_TX, chain);
    expect(tx, tlen, UL_OK, "approve");
    tlen = sign_tx(tx, sizeof tx, UL_TX_APPROVE, body, blen, &cert, 1, UL_DOMAIN_RELEASE, chain);
    expect(tx, tlen, UL_E_SIG, "approve-wrong-domain");
    tlen = sign_tx(tx, sizeof tx, UL_TX_APPROVE, body, blen, &stranger, 1, UL_DOMAIN_TX, chain);
    expect(tx, tlen, UL_E_NOT_ROLE, "approve-not-role");
    blen = approve_body(body, sizeof body, g_pending_id, "auditor", 1);
    tlen = sign_tx(tx, sizeof tx, UL_TX_APPROVE, body, blen, &cert, 1, UL_DOMAIN_TX, chain);
    expect(tx, tlen, UL_E_ROLE_UNKNOWN, "approve-unknown-role");
    blen = approve_body(body, sizeof body, unknown, "certifier", 1);
    tlen = sign_tx(tx, sizeof tx, UL_TX_APPROVE, body, blen, &cert, 1, UL_DOMAIN_TX, chain);
    expect(tx, tlen, UL_E_RELEASE_UNKNOWN, "approve-unknown-release");

    /* Revoke it. */
    blen = revoke_body(body, sizeof body, g_pending_id, 1);
    put("body-revoke", body, blen);
    tlen = sign_tx(tx, sizeof tx, UL_TX_REVOKE, body, blen, &pub, 1, UL_DOMAIN_TX, chain);
    expect(tx, tlen, UL_OK, "revoke");
    tlen = sign_tx(tx, sizeof tx, UL_TX_REVOKE, body, blen, &cert, 1, UL_DOMAIN_TX, chain);
    expect(tx, tlen, UL_E_NOT_REVOKER, "revoke-not-revoker");
    blen = revoke_body(body, sizeof body, g_pending_id, 2);
    tlen = sign_tx(tx, sizeof tx, UL_TX_REVOKE, body, blen, &owner, 1, UL_DOMAIN_TX, chain);
    expect(tx, tlen, UL_E_REPLAY, "revoke-replay");

    /* Rotate. */
    blen = rotate_body(body, sizeof body, "certifier", KEY_OTHER, 3);
    put("body-rotate", body, blen);
    tlen = sign_tx(tx, sizeof tx, UL_TX_ROTATE, body, blen, &owner, 1, UL_DOMAIN_TX, chain);
    expect(tx, tlen, UL_OK, "rotate-role");
    tlen = sign_tx(tx, sizeof tx, UL_TX_ROTATE, body, blen, &cert, 1, UL_DOMAIN_TX, chain);
    expect(tx, tlen, UL_E_NOT_OWNER, "rotate-not-owner");
    blen = rotate_body(body, sizeof body, "auditor", KEY_OTHER, 3);
    tlen = sign_tx(tx, sizeof tx, UL_TX_ROTATE, body, blen, &owner, 1, UL_DOMAIN_TX, chain);
    expect(tx, tlen, UL_E_ROLE_UNKNOWN, "rotate-unknown-target");
    blen = rotate_body(body, sizeof body, "owners", KEY_OTHER, 3);
    tlen = sign_tx(tx, sizeof tx, UL_TX_ROTATE, body, blen, &owner, 1, UL_DOMAIN_TX, chain);
    expect(tx, tlen, UL_OK, "rotate-owners");

    /* Transfer (the end of support has passed: validators may too). */
    blen = transfer_body(body, sizeof body, 3);
    put("body-transfer", body, blen);
    tlen = sign_tx(tx, sizeof tx, UL_TX_TRANSFER, body, blen, &owner, 1, UL_DOMAIN_TRANSFER, chain);
    expect(tx, tlen, UL_OK, "transfer-owner");
    tlen = sign_tx(tx, sizeof tx, UL_TX_TRANSFER, body, blen, &val, 1, UL_DOMAIN_TRANSFER, chain);
    expect(tx, tlen, UL_OK, "transfer-validator");
    tlen = sign_tx(tx, sizeof tx, UL_TX_TRANSFER, body, blen, &owner, 1, UL_DOMAIN_TX, chain);
    expect(tx, tlen, UL_E_SIG, "transfer-wrong-domain");
    tlen =
        sign_tx(tx, sizeof tx, UL_TX_TRANSFER, body, blen, &stranger, 1, UL_DOMAIN_TRANSFER, chain);
    expect(tx, tlen, UL_E_EOS, "transfer-stranger");
    blen = transfer_body(body, sizeof body, 2);
    tlen = sign_tx(tx, sizeof tx, UL_TX_TRANSFER, body, blen, &owner, 1, UL_DOMAIN_TRANSFER, chain);
    expect(tx, tlen, UL_E_REPLAY, "transfer-replay");

    /* Validator-set change (the validator holds all the power of the current set). */
    blen = valset_change_body(body, sizeof body, 1, false);
    put("body-valset-change", body, blen);
    tlen = sign_tx(tx, sizeof tx, UL_TX_VALSET, body, blen, &val, 1, UL_DOMAIN_TX, chain);
    expect(tx, tlen, UL_OK, "valset-change");
    tlen = sign_tx(tx, sizeof tx, UL_TX_VALSET, body, blen, &val, 1, UL_DOMAIN_TRANSFER, chain);
    expect(tx, tlen, UL_E_SIG, "valset-wrong-domain");
    tlen = sign_tx(tx, sizeof tx, UL_TX_VALSET, body, blen, &stranger, 1, UL_DOMAIN_TX, chain);
    expect(tx, tlen, UL_E_VALIDATOR, "valset-stranger");
    blen = valset_change_body(body, sizeof body, 1, true);
    tlen = sign_tx(tx, sizeof tx, UL_TX_VALSET, body, blen, &val, 1, UL_DOMAIN_TX, chain);
    expect(tx, tlen, UL_E_VALSET_CHANGE, "valset-same");
    expect(tx, 0, UL_E_CBOR_MALFORMED, "empty");
    return 0;
}
#endif
