/* Fuzz target for device-side proof-bundle verification: every input is checked against one
 * fixed trust anchor; a failure must leave the result zeroed, a success must describe the input.
 * Each part that decodes must re-encode to the same bytes. Built with -DUL_FUZZ_GEN (without
 * replay.c), main() builds a chain with the fixed genesis and writes valid bundles and mutations:
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

static bool g_ready;
static uint8_t g_genesis[512];
static size_t g_glen;
static uint8_t g_chain_id[UL_HASH_BYTES];
static uint8_t g_valset_hash[UL_HASH_BYTES];
static uint8_t g_val_sk[UL_SECKEY_BYTES];
static uint8_t g_out[UL_MAX_BUNDLE_BYTES];

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
    ul_genesis g;
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
    check(ul_client_valset_hash(g_valset_hash, &g.validators) == UL_OK, "valset hash");
    g_ready = true;
}

/* Each part of a bundle envelope that decodes re-encodes to its own bytes. */
static void part_checks(const uint8_t *data, size_t size)
{
    static ul_commit cm;
    static ul_valset vs;
    static ul_inclusion inc;
    ul_bundle b;
    ul_header h;
    size_t len;

    if (ul_schema_bundle_decode(&b, data, size) != UL_OK) {
        return;
    }
    check(ul_schema_bundle_encode(g_out, sizeof g_out, &len, &b) == UL_OK, "bundle re-encode");
    check(len == size && memcmp(g_out, data, size) == 0, "bundle round trip differs");
    if (ul_schema_header_decode(&h, b.header.ptr, b.header.len) == UL_OK) {
        check(ul_schema_header_encode(g_out, sizeof g_out, &len, &h) == UL_OK, "header enc");
        check(len == b.header.len && memcmp(g_out, b.header.ptr, len) == 0, "header differs");
    }
    if (ul_schema_commit_decode(&cm, b.commit.ptr, b.commit.len) == UL_OK) {
        check(ul_schema_commit_encode(g_out, sizeof g_out, &len, &cm) == UL_OK, "commit enc");
        check(len == b.commit.len && memcmp(g_out, b.commit.ptr, len) == 0, "commit differs");
    }
    if (ul_schema_valset_decode(&vs, b.valset.ptr, b.valset.len) == UL_OK) {
        check(ul_schema_valset_encode(g_out, sizeof g_out, &len, &vs) == UL_OK, "valset enc");
        check(len == b.valset.len && memcmp(g_out, b.valset.ptr, len) == 0, "valset differs");
    }
    if (ul_schema_inclusion_decode(&inc, b.inclusion.ptr, b.inclusion.len) == UL_OK) {
        check(ul_schema_inclusion_encode(g_out, sizeof g_out, &len, &inc) == UL_OK, "incl enc");
        check(len == b.inclusion.len && memcmp(g_out, b.inclusion.ptr, len) == 0,
              "inclusion differs");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const ul_bundle_result zero;
    ul_bundle_result res;

    anchor_init();
    ul_err e = ul_client_bundle_verify_v1(&res, data, size, g_chain_id, g_valset_hash);
    if (e != UL_OK) {
        check(memcmp(&res, &zero, sizeof res) == 0, "failed verification left a result");
    } else {
        ul_bundle b;
        uint8_t hh[UL_HASH_BYTES];
        check(ul_schema_bundle_decode(&b, data, size) == UL_OK, "verified but not decodable");
        ul_client_sha256(hh, b.header.ptr, b.header.len);
        check(memcmp(hh, res.header_hash, UL_HASH_BYTES) == 0, "header hash");
        check(memcmp(res.header.chain_id, g_chain_id, UL_HASH_BYTES) == 0, "chain id");
        check(res.leaf.ptr == b.leaf.ptr && res.leaf.len == b.leaf.len, "leaf span");
        check(res.record.ptr >= res.leaf.ptr &&
                  res.record.ptr + res.record.len <= res.leaf.ptr + res.leaf.len,
              "record outside the leaf");
        check(res.leaf_index < res.header.log_size, "leaf index beyond the log");
        check(res.header.height >= 1, "height");
    }
    part_checks(data, size);
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

static void put(const char *name, const uint8_t *p, size_t n)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", g_outdir, name);
    FILE *f = fopen(path, "wb");
    check(f != NULL, "open output");
    check(n == 0 || fwrite(p, 1, n, f) == n, "write");
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
    r.ns = ul_span_str("fuzz/device");
    r.provider = ul_span_str("Fuzz Devices Inc");
    r.time = 1700000000;
    r.version = ul_span_str(version);
    r.seq = seq;
    memset(r.digest, (int)seq, sizeof r.digest);
    r.size = 1000 + seq;
    r.file = ul_span_str("device.img");
    r.n_hw = 1;
    r.hw[0] = ul_span_str("board-a");
    r.kind = UL_KIND_SECURITY;
    check(ul_schema_release_encode(body, sizeof body, &blen, &r) == UL_OK, "release");
    tlen = sign_tx(tx, sizeof tx, UL_TX_PUBLISH, body, blen, pub, UL_DOMAIN_RELEASE);
    check(ul_chain_submit(c, tx, tlen, id) == UL_OK, "publish");
}

/* Writes b and variants with one byte flipped at spread-out offsets. */
static void put_bundle(const char *name, const uint8_t *b, size_t n)
{
    ul_bundle_result res;
    uint8_t *m = malloc(n);
    char nm[128];
    check(m != NULL, "malloc");
    check(ul_client_bundle_verify_v1(&res, b, n, g_chain_id, g_valset_hash) == UL_OK,
          "seed bundle does not verify");
    put(name, b, n);
    for (unsigned i = 1; i <= 6; i++) {
        size_t at = n * i / 7;
        memcpy(m, b, n);
        m[at] ^= 0x01;
        snprintf(nm, sizeof nm, "%s-flip-%zu", name, at);
        put(nm, m, n);
    }
    snprintf(nm, sizeof nm, "%s-truncated", name);
    put(nm, b, n - 1);
    free(m);
}

int main(int argc, char **argv)
{
    char dir[] = "/tmp/ul-fuzz-bundle-XXXXXX";
    ul_key *val = NULL, *owner = NULL, *pub = NULL;
    uint8_t sk[UL_SECKEY_BYTES], body[1024], tx[2048], ids[5][UL_HASH_BYTES], *b;
    size_t blen, tlen, n;
    ul_chain *c = NULL;
    static ul_register r;

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
    /* The default policy: owner and publisher 1 of 1, no co-signers, owners and publishers
     * revoke. */
    memset(&r, 0, sizeof r);
    r.ns = ul_span_str("fuzz/device");
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
    check(ul_chain_submit(c, tx, tlen, ids[0]) == UL_OK, "register");
    check(ul_chain_produce(c, val, FUZZ_T0 + 1000, NULL) == UL_OK, "produce");
    /* Block 2: one release; block 3: four, so proofs have paths of several hashes. */
    publish(c, pub, 1, ids[0]);
    check(ul_chain_produce(c, val, FUZZ_T0 + 2000, NULL) == UL_OK, "produce");
    for (unsigned i = 1; i < 5; i++) {
        publish(c, pub, 1 + i, ids[i]);
    }
    check(ul_chain_produce(c, val, FUZZ_T0 + 3000, NULL) == UL_OK, "produce");

    check(ul_chain_bundle(c, ids[0], 2, &b, &n) == UL_OK, "bundle");
    put_bundle("bundle-h2-leaf0", b, n);
    free(b);
    check(ul_chain_bundle(c, ids[0], 0, &b, &n) == UL_OK, "bundle");
    put_bundle("bundle-h3-leaf0", b, n);
    free(b);
    check(ul_chain_bundle(c, ids[3], 0, &b, &n) == UL_OK, "bundle");
    put_bundle("bundle-h3-leaf3", b, n);
    free(b);
    check(ul_chain_bundle(c, ids[4], 0, &b, &n) == UL_OK, "bundle");
    put_bundle("bundle-h3-leaf4", b, n);
    free(b);
    put("empty", NULL, 0);
    ul_chain_close(c);
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    ul_key_destroy(val);
    ul_key_destroy(owner);
    ul_key_destroy(pub);
    return 0;
}
#endif
