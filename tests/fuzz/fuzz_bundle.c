/* Fuzz target for the device's streaming proof-bundle verifier (version 2): the first input byte
 * picks the chunk size the rest is fed in, to a fixed device trusting one fixed genesis. The
 * verdict must not depend on the chunking (the whole input at once must give the same), an
 * accepted bundle must describe a release, and the raw input is also framed and decoded as one
 * section, whose re-encoding must give back its bytes. Built with -DUL_FUZZ_GEN (without
 * replay.c), main() builds a chain with the fixed genesis and writes genuine bundles (and each of
 * their sections) as seeds:
 *   cc -std=c11 -D_GNU_SOURCE -I. -DUL_FUZZ_GEN tests/fuzz/fuzz_bundle.c build/libupledger.a \
 *      build/libupclient.a -lleveldb -lnanomsg -ljansson -lpthread -lsecp256k1 -lsodium -lcbor \
 *      -o /tmp/gen_bundle && /tmp/gen_bundle tests/fuzz/corpus/fuzz_bundle
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/ul_ledger.h"

/* The same fixed genesis as fuzz_tx.c: one validator from a fixed secret. */
#define FUZZ_T0 1700000000000ULL
#define FUZZ_CHAIN_NAME "upledger-fuzz"
#define FUZZ_NS "fuzz/device"
#define FUZZ_HW "board-a"

static bool g_ready;
static uint8_t g_genesis[512];
static size_t g_glen;
static uint8_t g_chain_id[UL_HASH_BYTES];
static uint8_t g_val_sk[UL_SECKEY_BYTES];
static ul_device_state g_st;
static ul_update g_u;
static uint8_t g_out[UL_MAX_SECTION_BYTES + 16];
static uint8_t g_hashes[256][UL_HASH_BYTES];

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_bundle: %s\n", what);
        abort();
    }
}

static void fixed_secret(uint8_t sk[UL_SECKEY_BYTES], unsigned n)
{
    uint8_t seed[32] = "upledger fuzz key";
    seed[31] = (uint8_t)n;
    ul_client_sha256(sk, seed, sizeof seed);
}

static void anchor_init(void)
{
    static ul_genesis g;
    ul_key *val = NULL;

    if (g_ready) {
        return;
    }
    check(ul_client_init() == UL_OK, "init");
    fixed_secret(g_val_sk, 1);
    check(ul_key_from_secret(&val, g_val_sk) == UL_OK, "key");
    memset(&g, 0, sizeof g);
    g.version = UL_SCHEMA_VERSION;
    g.name = ul_span_str(FUZZ_CHAIN_NAME);
    g.time_ms = FUZZ_T0;
    g.validators.n = 1;
    memcpy(g.validators.v[0].pubkey, ul_key_pubkey(val), UL_PUBKEY_BYTES);
    g.validators.v[0].power = 1;
    ul_key_destroy(val);
    check(ul_schema_genesis_encode(g_genesis, sizeof g_genesis, &g_glen, &g) == UL_OK, "genesis");
    ul_client_sha256(g_chain_id, g_genesis, g_glen);
    check(ul_client_device_init(&g_st, g_genesis, g_glen, (const uint8_t *)FUZZ_HW,
                                strlen(FUZZ_HW)) == UL_OK,
          "device");
    g_ready = true;
}

/* The verdict on data fed in chunks of `chunk` bytes (0: all at once). */
static ul_err verdict(const uint8_t *data, size_t size, size_t chunk, ul_release_info *info)
{
    ul_err e =
        ul_client_update_begin(&g_u, &g_st, (const uint8_t *)FUZZ_NS, strlen(FUZZ_NS), NULL, 0, 0);
    check(e == UL_OK, "begin");
    chunk = chunk ? chunk : (size ? size : 1);
    for (size_t at = 0; e == UL_OK && at < size; at += chunk) {
        e = ul_client_bundle_update(&g_u, data + at, size - at < chunk ? size - at : chunk);
    }
    if (e == UL_OK) {
        e = ul_client_bundle_final(&g_u, info);
    }
    /* Errors stick, and the context keeps no secret either way. */
    check(ul_client_bundle_update(&g_u, data, 0) == (e == UL_OK ? UL_E_SEQUENCE_CALL : e),
          "sticky error");
    ul_client_update_abort(&g_u);
    return e;
}

/* The input as one section: framed, decoded, re-encoded to the same bytes. */
static void section_checks(const uint8_t *data, size_t size)
{
    static ul_section s;
    size_t head, m = 0;
    uint64_t body;
    if (ul_schema_section_frame(data, size, &head, &body) == UL_OK) {
        check(head >= 1 && head <= 9 && body <= UL_MAX_SECTION_BYTES, "frame bounds");
    }
    if (ul_schema_section_decode(&s, data, size) != UL_OK) {
        return;
    }
    ul_span list = {NULL, 0};
    if (s.type == UL_SEC_INCLUSION) {
        list = s.u.inclusion.path;
        m = s.u.inclusion.n_path;
    } else if (s.type == UL_SEC_SIBLINGS) {
        list = s.u.siblings.hashes;
        m = s.u.siblings.n;
    }
    check(list.len == m * UL_SECTION_HASH_STRIDE, "hash list span");
    for (size_t i = 0; i < m; i++) {
        memcpy(g_hashes[i], ul_section_hash(list, i), UL_HASH_BYTES);
    }
    size_t len = 0;
    check(ul_schema_section_encode(g_out, sizeof g_out, &len, &s,
                                   (const uint8_t(*)[UL_HASH_BYTES])g_hashes) == UL_OK,
          "section re-encode");
    check(ul_schema_section_frame(g_out, len, &head, &body) == UL_OK && body == size &&
              head + size == len && memcmp(g_out + head, data, size) == 0,
          "section round trip differs");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const size_t chunks[8] = {1, 2, 3, 7, 64, 333, 4096, 0};
    ul_release_info info, whole;

    anchor_init();
    if (size == 0) {
        return 0;
    }
    size_t chunk = chunks[data[0] & 7] + (data[0] >> 3);
    ul_err e = verdict(data + 1, size - 1, chunk, &info);
    ul_err w = verdict(data + 1, size - 1, 0, &whole);
    check(e == w, "verdict depends on how the bundle was cut");
    if (e == UL_OK) {
        check(memcmp(&info, &whole, sizeof info) == 0, "release info depends on the cut");
        check(info.height >= 1 && info.seq >= 1, "height, sequence");
        check(info.version_len >= 1 && info.version_len <= UL_MAX_LABEL_LEN, "version");
    }
    section_checks(data, size);
    section_checks(data + 1, size - 1);
    return 0;
}

#ifdef UL_FUZZ_GEN
/* ---- seed corpus generator ---------------------------------------------------------------- */

#include <ftw.h>

static const char *g_outdir;

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void put(const char *name, uint8_t first, const uint8_t *p, size_t n)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", g_outdir, name);
    FILE *f = fopen(path, "wb");
    check(f != NULL, "open output");
    check(fwrite(&first, 1, 1, f) == 1 && (n == 0 || fwrite(p, 1, n, f) == n), "write");
    fclose(f);
}

static size_t sign_tx(uint8_t *out, size_t cap, uint64_t kind, const uint8_t *body, size_t blen,
                      const ul_key *k, ul_domain d)
{
    ul_tx tx;
    size_t len = 0;
    memset(&tx, 0, sizeof tx);
    tx.kind = kind;
    tx.body = (ul_span){body, blen};
    tx.n_sigs = 1;
    memcpy(tx.sigs[0].pubkey, ul_key_pubkey(k), UL_PUBKEY_BYTES);
    check(ul_key_sign(k, tx.sigs[0].sig, d, g_chain_id, body, blen) == UL_OK, "sign");
    check(ul_schema_tx_encode(out, cap, &len, &tx) == UL_OK, "tx encode");
    return len;
}

static void publish(ul_chain *c, const ul_key *pub, uint64_t seq, uint8_t id[UL_HASH_BYTES])
{
    static ul_release r;
    uint8_t body[1024], tx[2048];
    char version[16];
    size_t blen, tlen;
    memset(&r, 0, sizeof r);
    snprintf(version, sizeof version, "1.%u", (unsigned)seq);
    r.ns = ul_span_str(FUZZ_NS);
    r.provider = ul_span_str("Fuzz Devices Inc");
    r.time = 1700000000;
    r.version = ul_span_str(version);
    r.seq = seq;
    memset(r.digest, (int)seq, sizeof r.digest);
    r.size = 1000 + seq;
    r.file = ul_span_str("device.img");
    r.n_hw = 1;
    r.hw[0] = ul_span_str(FUZZ_HW);
    r.kind = UL_KIND_SECURITY;
    check(ul_schema_release_encode(body, sizeof body, &blen, &r) == UL_OK, "release");
    tlen = sign_tx(tx, sizeof tx, UL_TX_PUBLISH, body, blen, pub, UL_DOMAIN_RELEASE);
    check(ul_chain_submit(c, tx, tlen, id) == UL_OK, "publish");
}

static void register_ns(ul_chain *c, const ul_key *owner, const ul_key *pub)
{
    static ul_register r;
    uint8_t body[1024], tx[2048];
    size_t blen, tlen;
    uint8_t id[UL_HASH_BYTES];
    memset(&r, 0, sizeof r);
    r.ns = ul_span_str(FUZZ_NS);
    r.nonce = 1;
    r.policy.owners.n = r.policy.owners.threshold = 1;
    memcpy(r.policy.owners.keys[0], ul_key_pubkey(owner), UL_PUBKEY_BYTES);
    r.policy.publishers.n = r.policy.publishers.threshold = 1;
    memcpy(r.policy.publishers.keys[0], ul_key_pubkey(pub), UL_PUBKEY_BYTES);
    r.policy.n_revokers = 2;
    r.policy.revokers[0] = ul_span_str("owners");
    r.policy.revokers[1] = ul_span_str("publishers");
    check(ul_schema_register_encode(body, sizeof body, &blen, &r) == UL_OK, "register");
    tlen = sign_tx(tx, sizeof tx, UL_TX_REGISTER, body, blen, owner, UL_DOMAIN_TX);
    check(ul_chain_submit(c, tx, tlen, id) == UL_OK, "register");
}

/* A genuine bundle under a few chunk-size bytes, and each of its sections on its own. */
static void put_bundle(ul_chain *c, const char *name, const uint8_t id[UL_HASH_BYTES], uint64_t h,
                       bool sections)
{
    static const uint8_t firsts[] = {0x00, 0x03, 0x06, 0x07};
    ul_release_info info;
    uint8_t *b;
    size_t n;
    char nm[128];
    check(ul_chain_bundle(c, id, ul_span_str(FUZZ_HW), h, &b, &n) == UL_OK, "bundle");
    check(verdict(b, n, 0, &info) == UL_OK, "seed bundle does not verify");
    for (size_t i = 0; i < sizeof firsts; i++) {
        snprintf(nm, sizeof nm, "%s-chunk%u", name, firsts[i]);
        put(nm, firsts[i], b, n);
    }
    for (size_t at = 0, k = 0; sections && at < n; k++) {
        size_t head;
        uint64_t body;
        check(ul_schema_section_frame(b + at, n - at, &head, &body) == UL_OK, "frame");
        snprintf(nm, sizeof nm, "%s-section%02zu", name, k);
        put(nm, 0x00, b + at + head, (size_t)body); /* the section's array */
        at += head + (size_t)body;
    }
    free(b);
}

int main(int argc, char **argv)
{
    char dir[] = "/tmp/ul-fuzz-bundle-XXXXXX";
    ul_key *val = NULL, *owner = NULL, *pub = NULL;
    uint8_t sk[UL_SECKEY_BYTES], ids[5][UL_HASH_BYTES];
    ul_chain *c = NULL;

    if (argc != 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
        return 2;
    }
    g_outdir = argv[1];
    anchor_init();
    check(ul_key_from_secret(&val, g_val_sk) == UL_OK, "key");
    fixed_secret(sk, 2);
    check(ul_key_from_secret(&owner, sk) == UL_OK, "key");
    fixed_secret(sk, 3);
    check(ul_key_from_secret(&pub, sk) == UL_OK, "key");
    check(mkdtemp(dir) != NULL, "mkdtemp");
    check(ul_chain_open(&c, dir, g_genesis, g_glen) == UL_OK, "open");
    register_ns(c, owner, pub);
    check(ul_chain_produce(c, val, FUZZ_T0 + 1000, NULL) == UL_OK, "produce");
    /* Block 2: one release; block 3: four, so proofs have paths of several hashes. */
    publish(c, pub, 1, ids[0]);
    check(ul_chain_produce(c, val, FUZZ_T0 + 2000, NULL) == UL_OK, "produce");
    put_bundle(c, "v2-h2-leaf0", ids[0], 2, true);
    for (unsigned i = 1; i < 5; i++) {
        publish(c, pub, 1 + i, ids[i]);
    }
    check(ul_chain_produce(c, val, FUZZ_T0 + 3000, NULL) == UL_OK, "produce");
    put_bundle(c, "v2-h3-leaf4", ids[4], 0, true);
    put("empty", 0, NULL, 0);
    ul_chain_close(c);
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    ul_key_destroy(val);
    ul_key_destroy(owner);
    ul_key_destroy(pub);
    return 0;
}
#endif
