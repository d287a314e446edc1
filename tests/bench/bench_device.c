/* Device-side figures (issue: device verification library). Two modes:
 *
 *   bench_device build DIR RELEASES   a chain of RELEASES releases (+2 measured ones) committed by
 *                                     4 validators, then a set change to 7; writes bundles,
 *                                     device states and the 1 MiB images to DIR
 *   bench_device measure DIR ITERS    what a device spends on them: context size, stack really
 *                                     used (painted thread stack: libsodium, libsecp256k1 and
 *                                     libcbor frames count), bundle bytes, bundle verification
 *                                     time, and the whole update of the 1 MiB image against
 *                                     SHA-256 of that image alone
 *   bench_device big DIR MIB          a whole update (bundle, then the image streamed from a file
 *                                     in 64 KiB reads) of a MIB MiB image against `openssl dgst
 *                                     -sha256` of the same file, and each SHA-256 backend's MB/s
 *
 * run.sh runs `measure` again under callgrind with UL_BENCH_CG=1 (one call of each cg_* function,
 * instruction counts that this shared machine's noise does not move). The 7-validator device is
 * anchored after the set change (its state trusts the new set), so its figure is the 7-validator
 * commit alone; the 4-validator device is anchored at genesis. */
#include <fcntl.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <sodium.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_util.h"
#include "client/ul_client.h"

#define MAX_VALS 7
#define GENESIS_VALS 4
#define BATCH 2048 /* releases per block while building */
#define IMAGE_BYTES (1u << 20)
#define HW_PLAIN "acme-router-x1-rev-a"
#define HW_ENC "acme-router-x1-rev-b"

static int fail(const char *what, ul_err e)
{
    fprintf(stderr, "bench_device: %s: %s (%s)\n", what, ul_err_name(e), ul_err_str(e));
    return 1;
}

/* ---- files in DIR ------------------------------------------------------------------------- */

static int put_file(const char *dir, const char *name, const uint8_t *b, size_t n)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    int ok = f && fwrite(b, 1, n, f) == n;
    if (f && fclose(f) != 0) {
        ok = 0;
    }
    return ok ? 0 : fail(path, UL_E_IO);
}

static uint8_t *get_file(const char *dir, const char *name, size_t *n)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    uint8_t *b = NULL;
    long len = -1;
    if (f && fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (b = malloc((size_t)len + 1)) && fread(b, 1, (size_t)len, f) == (size_t)len) {
        *n = (size_t)len;
    } else {
        free(b);
        b = NULL;
        fail(path, UL_E_IO);
    }
    if (f) {
        fclose(f);
    }
    return b;
}

/* ---- build -------------------------------------------------------------------------------- */

typedef struct {
    ul_key *keys[MAX_VALS]; /* sorted by public key: set order */
    uint8_t genesis[UL_MAX_VALSET_BYTES + 256];
    size_t glen;
    ul_chain *chain;
    size_t signers; /* validators of the current set: keys[0..signers) */
    uint64_t now_ms;
} net;

static int key_cmp(const void *a, const void *b)
{
    return memcmp(ul_key_pubkey(*(ul_key *const *)a), ul_key_pubkey(*(ul_key *const *)b),
                  UL_PUBKEY_BYTES);
}

static void set_of(ul_valset *vs, const net *n, size_t k)
{
    memset(vs, 0, sizeof *vs);
    vs->n = k;
    for (size_t i = 0; i < k; i++) {
        memcpy(vs->v[i].pubkey, ul_key_pubkey(n->keys[i]), UL_PUBKEY_BYTES);
        vs->v[i].power = 1;
    }
}

static int net_open(net *n, const char *dir)
{
    static ul_genesis g;
    memset(n, 0, sizeof *n);
    for (size_t i = 0; i < MAX_VALS; i++) {
        ul_err e = ul_key_generate(&n->keys[i]);
        if (e != UL_OK) {
            return fail("keygen", e);
        }
    }
    /* Keys sorted, so the first GENESIS_VALS form the genesis set and all 7 the later one. */
    qsort(n->keys, MAX_VALS, sizeof n->keys[0], key_cmp);
    n->signers = GENESIS_VALS;
    n->now_ms = bench_wall_ms() - 24 * 3600 * 1000;
    memset(&g, 0, sizeof g);
    g.version = 1;
    g.name = ul_span_str("bench-device");
    g.time_ms = n->now_ms;
    set_of(&g.validators, n, GENESIS_VALS);
    ul_err e = ul_schema_genesis_encode(n->genesis, sizeof n->genesis, &n->glen, &g);
    if (e == UL_OK) {
        char db[4096];
        snprintf(db, sizeof db, "%s/db", dir);
        e = ul_chain_open(&n->chain, db, n->genesis, n->glen);
    }
    return e == UL_OK ? 0 : fail("chain", e);
}

/* Commits the pending block with a precommit from every validator of the set, a second after
 * the last (bench_commit_by). */
static int net_commit(net *n)
{
    n->now_ms += 1000;
    ul_err e = bench_commit_by(n->chain, n->keys, n->signers, n->now_ms);
    return e == UL_OK ? 0 : fail("commit", e);
}

/* A tx of kind over body signed by keys[0..nkeys), submitted. */
static int submit(net *n, ul_tx_kind kind, const uint8_t *body, size_t blen, size_t nkeys,
                  uint8_t id[32])
{
    static uint8_t tx[UL_MAX_TX_BYTES];
    ul_tx t = {.kind = kind, .body = {body, blen}, .n_sigs = nkeys};
    ul_domain d = kind == UL_TX_PUBLISH ? UL_DOMAIN_RELEASE : UL_DOMAIN_TX;
    size_t tlen;
    ul_err e = UL_OK;
    for (size_t i = 0; e == UL_OK && i < nkeys; i++) {
        memcpy(t.sigs[i].pubkey, ul_key_pubkey(n->keys[i]), UL_PUBKEY_BYTES);
        e = ul_key_sign(n->keys[i], t.sigs[i].sig, d, ul_chain_id(n->chain), body, blen);
    }
    if (e == UL_OK && (e = ul_schema_tx_encode(tx, sizeof tx, &tlen, &t)) == UL_OK) {
        e = ul_chain_submit(n->chain, tx, tlen, id);
    }
    return e == UL_OK ? 0 : fail("submit", e);
}

/* A release of BENCH_NS for one hardware class whose digest and size are the image's, and,
 * when sealed is given, the encryption info that wraps the content key for that class. */
static int publish_image(net *n, uint64_t seq, const char *hw, const uint8_t digest[32],
                         uint64_t len, const uint8_t *sealed, uint8_t id[32])
{
    static ul_release r;
    static uint8_t body[UL_MAX_RECORD_BYTES];
    size_t blen;
    memset(&r, 0, sizeof r);
    r.ns = ul_span_str(BENCH_NS);
    r.provider = ul_span_str("Acme Networks GmbH");
    r.time = BENCH_TIME0;
    r.version = ul_span_str(sealed ? "9.0.1" : "9.0.0");
    r.seq = seq;
    memcpy(r.digest, digest, UL_HASH_BYTES);
    r.size = len;
    r.file = ul_span_str("router-x1.bin");
    r.n_hw = 1;
    r.hw[0] = ul_span_str(hw);
    r.n_deps = 1;
    r.deps[0].ns = ul_span_str(BENCH_DEP_NS);
    r.deps[0].constraint = ul_span_str(">=2.1.0");
    r.kind = UL_KIND_SECURITY;
    if (sealed) {
        r.has_enc = true;
        r.enc.alg = UL_ENC_SECRETSTREAM;
        r.enc.chunk = UL_MAX_ENC_CHUNK;
        r.enc.n_keys = 1;
        r.enc.keys[0].hw = ul_span_str(hw);
        r.enc.keys[0].sealed = (ul_span){sealed, UL_SEALED_KEY_BYTES};
    }
    ul_err e = ul_schema_release_encode(body, sizeof body, &blen, &r);
    return e == UL_OK ? submit(n, UL_TX_PUBLISH, body, blen, 1, id) : fail("release", e);
}

/* Encrypts img the way `upledger publish --encrypt-for` does; returns the file's length. */
static size_t encrypt_image(const uint8_t *img, size_t len, const uint8_t key[32], uint8_t **out)
{
    crypto_secretstream_xchacha20poly1305_state st;
    size_t chunks = len / UL_MAX_ENC_CHUNK + 1,
           o = crypto_secretstream_xchacha20poly1305_HEADERBYTES;
    *out = malloc(o + chunks * (UL_MAX_ENC_CHUNK + crypto_secretstream_xchacha20poly1305_ABYTES));
    crypto_secretstream_xchacha20poly1305_init_push(&st, *out, key);
    for (size_t off = 0;; off += UL_MAX_ENC_CHUNK) {
        size_t m = len - off < UL_MAX_ENC_CHUNK ? len - off : UL_MAX_ENC_CHUNK;
        bool last = off + m == len;
        unsigned long long clen;
        crypto_secretstream_xchacha20poly1305_push(
            &st, *out + o, &clen, img + off, m, NULL, 0,
            last ? crypto_secretstream_xchacha20poly1305_TAG_FINAL : 0);
        o += (size_t)clen;
        if (last) {
            return o;
        }
    }
}

/* RELEASES releases in blocks of BATCH, so the log the proofs are against is that large. */
static int publish_many(net *n, size_t releases)
{
    uint8_t id[32];
    double t0 = bench_now_s();
    for (size_t first = 0; first < releases; first += BATCH) {
        bench_txs txs;
        size_t m = releases - first < BATCH ? releases - first : BATCH;
        if (bench_txs_make(&txs, n->keys[0], ul_chain_id(n->chain), first, m)) {
            return 1;
        }
        for (size_t i = 0; i < txs.n; i++) {
            ul_err e = ul_chain_submit(n->chain, bench_tx(&txs, i), txs.len[i], id);
            if (e != UL_OK) {
                bench_txs_free(&txs);
                return fail("publish", e);
            }
        }
        bench_txs_free(&txs);
        if (net_commit(n)) {
            return 1;
        }
    }
    fprintf(stderr, "bench_device: built a log of %zu releases in %.0f s\n", releases,
            bench_now_s() - t0);
    return 0;
}

/* The set grows from the genesis 4 to 7 validators: signed by all 4, committed by them, then
 * the first block of the new set. */
static int change_set(net *n, uint64_t *change_height)
{
    static ul_valset_change vc;
    static uint8_t body[UL_MAX_TX_BYTES];
    uint8_t id[32];
    size_t blen;
    memset(&vc, 0, sizeof vc);
    vc.nonce = 10;
    set_of(&vc.validators, n, MAX_VALS);
    ul_err e = ul_schema_valset_change_encode(body, sizeof body, &blen, &vc);
    if (e != UL_OK) {
        return fail("valset change", e);
    }
    if (submit(n, UL_TX_VALSET, body, blen, GENESIS_VALS, id) || net_commit(n)) {
        return 1;
    }
    *change_height = ul_chain_height(n->chain);
    n->signers = MAX_VALS;
    return net_commit(n);
}

static void net_close(net *n)
{
    ul_chain_close(n->chain);
    for (size_t i = 0; i < MAX_VALS; i++) {
        ul_key_destroy(n->keys[i]);
    }
}

/* A chain in DIR/db with BENCH_DEP_NS and BENCH_NS registered (by keys[0]) and committed. */
static int net_start(net *n, const char *dir)
{
    static uint8_t body[8192];
    uint8_t id[32];
    size_t blen;
    if (net_open(n, dir)) {
        return 1;
    }
    if (bench_register_ns_body(body, sizeof body, &blen, ul_key_pubkey(n->keys[0]), BENCH_DEP_NS,
                               1) != UL_OK ||
        submit(n, UL_TX_REGISTER, body, blen, 1, id) ||
        bench_register_ns_body(body, sizeof body, &blen, ul_key_pubkey(n->keys[0]), BENCH_NS, 2) !=
            UL_OK ||
        submit(n, UL_TX_REGISTER, body, blen, 1, id)) {
        return 1;
    }
    return net_commit(n);
}

/* A device of class hw anchored at genesis, with the dependency installed. */
static ul_err device_at_genesis(ul_device_state *st, const net *n, const char *hw)
{
    ul_err e = ul_client_device_init(st, n->genesis, n->glen, (const uint8_t *)hw, strlen(hw));
    if (e == UL_OK) {
        e = ul_client_device_add(st, (const uint8_t *)BENCH_DEP_NS, strlen(BENCH_DEP_NS),
                                 (const uint8_t *)"2.1.0", 5, 1);
    }
    return e;
}

static int save_state(const char *dir, const char *name, const ul_device_state *st)
{
    static uint8_t buf[8192];
    size_t len;
    ul_err e = ul_schema_device_state_encode(buf, sizeof buf, &len, st);
    return e == UL_OK ? put_file(dir, name, buf, len) : fail("device state", e);
}

static int save_bundle(net *n, const char *dir, const char *name, const uint8_t id[32],
                       const char *hw)
{
    uint8_t *b = NULL;
    size_t len;
    ul_err e = ul_chain_bundle(n->chain, id, ul_span_str(hw), 0, &b, &len);
    int rc = e == UL_OK ? put_file(dir, name, b, len) : fail("bundle", e);
    free(b);
    return rc;
}

/* The 7-validator device trusts the new set from the change on: anchored after it. */
static int anchor_after(ul_device_state *st, net *n, uint64_t h)
{
    uint8_t *hdr = NULL;
    size_t hlen;
    ul_header hd;
    ul_err e = ul_chain_header_bytes(n->chain, h, &hdr, &hlen);
    if (e == UL_OK && (e = ul_schema_header_decode(&hd, hdr, hlen)) == UL_OK) {
        st->height = h;
        ul_client_sha256(st->header_hash, hdr, hlen);
        memcpy(st->valset_hash, hd.next_validators_hash, UL_HASH_BYTES);
    }
    free(hdr);
    return e == UL_OK ? 0 : fail("anchor", e);
}

/* A benchmark's chain must be a valid chain: the chain just built goes through the audit
 * `upledger audit` runs (every header, time, commit and root re-derived from genesis). */
static int audit_chain(net *n, const char *dir)
{
    char scratch[4200];
    bench_source src = {.chain = n->chain};
    ul_audit_result res;
    memset(&res, 0, sizeof res);
    snprintf(scratch, sizeof scratch, "%s/audit-scratch", dir);
    double t0 = bench_now_s();
    ul_err e = ul_audit_run(n->genesis, n->glen, bench_next_block, &src, scratch, NULL, NULL, &res);
    if (e != UL_OK) {
        fprintf(stderr, "bench_device: the chain built fails audit at height %llu\n",
                (unsigned long long)res.fail_height);
        return fail("audit", e);
    }
    if (res.height != ul_chain_height(n->chain)) {
        fprintf(stderr, "bench_device: audit verified %llu of %llu blocks\n",
                (unsigned long long)res.height, (unsigned long long)ul_chain_height(n->chain));
        return 1;
    }
    printf("bench: device chain audit: ok (%llu blocks in %.1f s)\n",
           (unsigned long long)res.height, bench_now_s() - t0);
    return 0;
}

static int build(const char *dir, size_t releases)
{
    static ul_device_state st;
    net n;
    uint8_t ckey[32], pk[32], sk[32], sealed[UL_SEALED_KEY_BYTES], id_plain[32], id_enc[32];
    uint8_t d_plain[32], d_enc[32];
    uint8_t *img = malloc(IMAGE_BYTES), *enc = NULL;
    size_t lenc;
    uint64_t change_h = 0;
    int rc = 1;
    mkdir(dir, 0700);
    randombytes_buf(img, IMAGE_BYTES);
    crypto_box_keypair(pk, sk);
    randombytes_buf(ckey, sizeof ckey);
    crypto_box_seal(sealed, ckey, sizeof ckey, pk);
    lenc = encrypt_image(img, IMAGE_BYTES, ckey, &enc);
    ul_client_sha256(d_plain, img, IMAGE_BYTES);
    ul_client_sha256(d_enc, enc, lenc);
    if (net_start(&n, dir) || publish_many(&n, releases) ||
        publish_image(&n, releases + 1, HW_PLAIN, d_plain, IMAGE_BYTES, NULL, id_plain) ||
        publish_image(&n, releases + 2, HW_ENC, d_enc, lenc, sealed, id_enc) || net_commit(&n)) {
        goto out;
    }
    if (save_bundle(&n, dir, "b4.bundle", id_plain, HW_PLAIN) ||
        save_bundle(&n, dir, "b4enc.bundle", id_enc, HW_ENC) ||
        device_at_genesis(&st, &n, HW_PLAIN) != UL_OK || save_state(dir, "st4.state", &st) ||
        device_at_genesis(&st, &n, HW_ENC) != UL_OK || save_state(dir, "st4enc.state", &st) ||
        change_set(&n, &change_h) || save_bundle(&n, dir, "b7.bundle", id_plain, HW_PLAIN) ||
        device_at_genesis(&st, &n, HW_PLAIN) != UL_OK || anchor_after(&st, &n, change_h) ||
        save_state(dir, "st7.state", &st) || put_file(dir, "image.bin", img, IMAGE_BYTES) ||
        put_file(dir, "image.enc", enc, lenc) || put_file(dir, "class.key", sk, sizeof sk) ||
        audit_chain(&n, dir)) {
        goto out;
    }
    printf("bench: device log size: %zu releases\n", (size_t)ul_chain_log_size(n.chain));
    rc = 0;
out:
    sodium_memzero(sk, sizeof sk);
    free(img);
    free(enc);
    net_close(&n);
    return rc;
}

/* ---- measure ------------------------------------------------------------------------------ */

typedef struct {
    const char *name;
    ul_device_state st;
    uint8_t *bundle, *image;
    size_t blen, ilen;
    const uint8_t *class_sk;
    ul_err err;
} job;

static ul_update g_update; /* device memory: a static context, as firmware holds it */
#define CHUNK 512          /* what a small device reads at a time */

static int sink_discard(void *arg, const uint8_t *p, size_t n)
{
    (void)arg;
    (void)p;
    (void)n;
    return 0;
}

/* One update as a device runs it: the bundle in chunks, then (with_image) the image. */
static ul_err update_once(job *j, bool with_image)
{
    ul_err e = ul_client_update_begin(&g_update, &j->st, (const uint8_t *)BENCH_NS,
                                      strlen(BENCH_NS), j->class_sk, 0, 0);
    for (size_t off = 0; e == UL_OK && off < j->blen; off += CHUNK) {
        size_t m = j->blen - off < CHUNK ? j->blen - off : CHUNK;
        e = ul_client_bundle_update(&g_update, j->bundle + off, m);
    }
    if (e == UL_OK) {
        e = ul_client_bundle_final(&g_update, NULL);
    }
    for (size_t off = 0; with_image && e == UL_OK && off < j->ilen; off += CHUNK) {
        size_t m = j->ilen - off < CHUNK ? j->ilen - off : CHUNK;
        e = ul_client_image_update(&g_update, j->image + off, m, sink_discard, NULL);
    }
    if (with_image && e == UL_OK) {
        e = ul_client_image_final(&g_update, sink_discard, NULL);
    }
    ul_client_update_abort(&g_update);
    return e;
}

/* The functions callgrind toggles on (run.sh): not inlined, so each keeps its own count. */
__attribute__((noinline)) ul_err cg_bundle4(job *j)
{
    return update_once(j, false);
}
__attribute__((noinline)) ul_err cg_bundle7(job *j)
{
    return update_once(j, false);
}
__attribute__((noinline)) ul_err cg_update4(job *j)
{
    return update_once(j, true);
}
__attribute__((noinline)) void cg_sha(const uint8_t *p, size_t n, uint8_t out[32])
{
    ul_client_sha256(out, p, n);
}

/* ---- stack: a painted thread ---- */

#define PAINT_STACK (256 * 1024)
#define PAINT 0xA5

static void *stack_job(void *arg)
{
    job *j = arg;
    j->err = update_once(j, true);
    return NULL;
}

static void *empty_job(void *arg)
{
    return arg;
}

/* One BIP-340 verification, as the bundle's signature checks make it: libsecp256k1's share. */
static void *secp_job(void *arg)
{
    static const uint8_t g[32] = {0x79, 0xbe, 0x66, 0x7e, 0xf9, 0xdc, 0xbb, 0xac, 0x55, 0xa0, 0x62,
                                  0x95, 0xce, 0x87, 0x0b, 0x07, 0x02, 0x9b, 0xfc, 0xdb, 0x2d, 0xce,
                                  0x28, 0xd9, 0x59, 0xf2, 0x81, 0x5b, 0x16, 0xf8, 0x17, 0x98};
    uint8_t sig[64] = {1}, digest[32] = {2};
    *(ul_err *)arg = ul_client_sig_verify_digest(sig, digest, g);
    return NULL;
}

/* Runs fn on a thread whose stack was painted; returns the bytes touched. */
static size_t painted_run(void *(*fn)(void *), void *arg)
{
    pthread_attr_t a;
    pthread_t t;
    uint8_t *stk = aligned_alloc(4096, PAINT_STACK);
    memset(stk, PAINT, PAINT_STACK);
    pthread_attr_init(&a);
    pthread_attr_setstack(&a, stk, PAINT_STACK);
    pthread_create(&t, &a, fn, arg);
    pthread_join(t, NULL);
    pthread_attr_destroy(&a);
    size_t low = 0;
    while (low < PAINT_STACK && stk[low] == PAINT) {
        low++;
    }
    free(stk);
    return PAINT_STACK - low;
}

/* Stack bytes fn needs beyond a thread that does nothing (glibc keeps the thread descriptor and
 * static TLS at the top of a caller-provided stack; start-up frames are not the library's). */
static size_t stack_of(void *(*fn)(void *), void *arg)
{
    size_t base = painted_run(empty_job, NULL), all = painted_run(fn, arg);
    return all > base ? all - base : 0;
}

static int load_job(job *j, const char *dir, const char *name, const char *bundle,
                    const char *state, const char *image, const uint8_t *sk)
{
    size_t n;
    uint8_t *s = get_file(dir, state, &n);
    memset(j, 0, sizeof *j);
    j->name = name;
    j->class_sk = sk;
    ul_err e = s ? ul_schema_device_state_decode(&j->st, s, n) : UL_E_IO;
    free(s);
    j->bundle = get_file(dir, bundle, &j->blen);
    j->image = get_file(dir, image, &j->ilen);
    if (e != UL_OK || !j->bundle || !j->image) {
        return fail(state, e != UL_OK ? e : UL_E_IO);
    }
    e = update_once(j, true); /* a genuine update must pass before anything is measured */
    return e == UL_OK ? 0 : fail(name, e);
}

static void measure_job(job *j, int iters)
{
    uint8_t digest[32];
    double t0 = bench_now_s();
    for (int i = 0; i < iters; i++) {
        update_once(j, false);
    }
    double bundle_s = (bench_now_s() - t0) / iters;
    t0 = bench_now_s();
    for (int i = 0; i < iters; i++) {
        update_once(j, true);
    }
    double whole_s = (bench_now_s() - t0) / iters;
    t0 = bench_now_s();
    for (int i = 0; i < iters; i++) {
        cg_sha(j->image, j->ilen, digest);
    }
    double sha_s = (bench_now_s() - t0) / iters;
    printf("bench: device %s bundle bytes: %zu B\n", j->name, j->blen);
    printf("bench: device %s bundle verify (%d B chunks): %.0f us\n", j->name, CHUNK,
           bundle_s * 1e6);
    printf("bench: device %s whole update of a %zu KiB image: %.2f ms; SHA-256 alone %.2f ms; "
           "ratio %.3f\n",
           j->name, j->ilen >> 10, whole_s * 1e3, sha_s * 1e3, whole_s / sha_s);
    printf("bench: device %s stack used (bundle + image): %zu B\n", j->name,
           stack_of(stack_job, j));
}

static int measure(const char *dir, int iters)
{
    static job j4, j4e, j7;
    size_t kn;
    uint8_t *sk = get_file(dir, "class.key", &kn);
    uint8_t digest[32];
    if (!sk || kn != 32 ||
        load_job(&j4, dir, "4 validators", "b4.bundle", "st4.state", "image.bin", NULL) ||
        load_job(&j7, dir, "7 validators", "b7.bundle", "st7.state", "image.bin", NULL) ||
        load_job(&j4e, dir, "4 validators encrypted", "b4enc.bundle", "st4enc.state", "image.enc",
                 sk)) {
        return 1;
    }
    if (getenv("UL_BENCH_CG")) { /* one call of each, for callgrind */
        int bad = cg_bundle4(&j4) != UL_OK || cg_bundle7(&j7) != UL_OK || cg_update4(&j4) != UL_OK;
        cg_sha(j4.image, j4.ilen, digest);
        return bad;
    }
    ul_err se;
    printf("bench: device ul_update context: %zu B (limit %d)\n", sizeof(ul_update),
           UL_MAX_UPDATE_CTX_BYTES);
    printf("bench: device ul_device_state: %zu B\n", sizeof(ul_device_state));
    printf("bench: device stack of one BIP-340 verify (libsecp256k1 alone): %zu B\n",
           stack_of(secp_job, &se));
    measure_job(&j4, iters);
    measure_job(&j7, iters);
    measure_job(&j4e, iters);
    sodium_memzero(sk, kn);
    free(sk);
    return 0;
}

/* ---- big: a whole update of a large image against `openssl dgst -sha256` ------------------- */

#define MIB (1u << 20)
#define BIG_READ (64 * 1024) /* what a Linux device reads from its download at a time */
#define BIG_RUNS 3           /* best of, each way (the file is in the page cache for both) */
#define SPEED_BYTES (256 * MIB)

/* Writes a mib MiB file to path (1 MiB of random bytes, each copy stamped with its index) and
 * returns its SHA-256. */
static int write_big(const char *path, size_t mib, uint8_t digest[32])
{
    uint8_t *b = malloc(MIB);
    FILE *f = fopen(path, "wb");
    ul_sha256 s;
    int ok = b != NULL && f != NULL;
    if (ok) {
        randombytes_buf(b, MIB);
    }
    ul_client_sha256_init(&s);
    for (size_t i = 0; ok && i < mib; i++) {
        memcpy(b, &i, sizeof i);
        ul_client_sha256_update(&s, b, MIB);
        ok = fwrite(b, 1, MIB, f) == MIB;
    }
    ul_client_sha256_final(&s, digest);
    if (f != NULL && fclose(f) != 0) {
        ok = 0;
    }
    free(b);
    return ok ? 0 : fail(path, UL_E_IO);
}

/* One whole update as a Linux device runs it: the bundle, then the image read from its file. */
static ul_err big_update(job *j, const char *path)
{
    static uint8_t buf[BIG_READ];
    int fd = open(path, O_RDONLY);
    ul_err e = fd < 0 ? UL_E_IO
                      : ul_client_update_begin(&g_update, &j->st, (const uint8_t *)BENCH_NS,
                                               strlen(BENCH_NS), NULL, 0, 0);
    if (e == UL_OK && (e = ul_client_bundle_update(&g_update, j->bundle, j->blen)) == UL_OK) {
        e = ul_client_bundle_final(&g_update, NULL);
    }
    ssize_t got;
    while (e == UL_OK && (got = read(fd, buf, sizeof buf)) > 0) {
        e = ul_client_image_update(&g_update, buf, (size_t)got, sink_discard, NULL);
    }
    if (e == UL_OK) {
        e = ul_client_image_final(&g_update, sink_discard, NULL);
    }
    ul_client_update_abort(&g_update);
    if (fd >= 0) {
        close(fd);
    }
    return e;
}

/* Seconds `openssl dgst -sha256 path` takes (its output discarded), or -1. */
static double openssl_dgst_s(const char *path)
{
    char *argv[] = {"openssl", "dgst", "-sha256", (char *)path, NULL};
    extern char **environ;
    posix_spawn_file_actions_t fa;
    pid_t pid;
    int status = -1;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    double t0 = bench_now_s();
    int rc = posix_spawnp(&pid, "openssl", &fa, NULL, argv, environ);
    if (rc == 0 && waitpid(pid, &status, 0) < 0) {
        status = -1;
    }
    double t = bench_now_s() - t0;
    posix_spawn_file_actions_destroy(&fa);
    return rc == 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? t : -1;
}

/* MB/s of one SHA-256 function over an in-memory buffer, best of BIG_RUNS. */
static double speed_mbs(void (*fn)(uint8_t *, const uint8_t *, size_t), const uint8_t *p, size_t n)
{
    double best = 1e9;
    uint8_t out[32];
    for (int r = 0; r < BIG_RUNS; r++) {
        double t0 = bench_now_s();
        fn(out, p, n);
        double t = bench_now_s() - t0;
        best = t < best ? t : best;
    }
    return (double)n / best / 1e6;
}

static void sha_openssl(uint8_t *out, const uint8_t *p, size_t n)
{
    unsigned int len = 0;
    EVP_Digest(p, n, out, &len, EVP_sha256(), NULL);
}

static void sha_sodium(uint8_t *out, const uint8_t *p, size_t n)
{
    crypto_hash_sha256(out, p, n);
}

static void sha_upclient(uint8_t *out, const uint8_t *p, size_t n)
{
    ul_client_sha256(out, p, n);
}

static void print_speeds(void)
{
    uint8_t *p = calloc(SPEED_BYTES, 1);
    if (p == NULL) {
        return;
    }
    printf("bench: device SHA-256 MB/s, libupclient (%s backend): %.0f MB/s\n",
           ul_client_sha256_impl(), speed_mbs(sha_upclient, p, SPEED_BYTES));
    printf("bench: device SHA-256 MB/s, openssl backend (libcrypto): %.0f MB/s\n",
           speed_mbs(sha_openssl, p, SPEED_BYTES));
    printf("bench: device SHA-256 MB/s, libsodium backend: %.0f MB/s\n",
           speed_mbs(sha_sodium, p, SPEED_BYTES));
    free(p);
}

static int big(const char *dir, size_t mib)
{
    static job j;
    net n;
    uint8_t digest[32], id[32], *b = NULL;
    char path[4096];
    int rc = 1;
    mkdir(dir, 0700);
    snprintf(path, sizeof path, "%s/big.bin", dir);
    memset(&j, 0, sizeof j);
    memset(&n, 0, sizeof n); /* net_close is safe on it if writing the file fails */
    if (write_big(path, mib, digest) || net_start(&n, dir) ||
        publish_image(&n, 1, HW_PLAIN, digest, (uint64_t)mib * MIB, NULL, id) || net_commit(&n)) {
        goto out;
    }
    ul_err e = ul_chain_bundle(n.chain, id, ul_span_str(HW_PLAIN), 0, &b, &j.blen);
    if (e != UL_OK || (e = device_at_genesis(&j.st, &n, HW_PLAIN)) != UL_OK) {
        fail("big bundle", e);
        goto out;
    }
    j.bundle = b;
    double upd = 1e9, ossl = 1e9;
    for (int r = 0; r < BIG_RUNS; r++) {
        double o = openssl_dgst_s(path), t0 = bench_now_s();
        if ((e = big_update(&j, path)) != UL_OK || o < 0) {
            fail(o < 0 ? "openssl dgst -sha256" : "big update", o < 0 ? UL_E_IO : e);
            goto out;
        }
        double t = bench_now_s() - t0;
        upd = t < upd ? t : upd;
        ossl = o < ossl ? o : ossl;
    }
    printf("bench: device whole update of a %zu MiB image (%d KiB reads, %s SHA-256): %.0f ms "
           "(%.0f MB/s)\n",
           mib, BIG_READ >> 10, ul_client_sha256_impl(), upd * 1e3, (double)mib * MIB / upd / 1e6);
    printf("bench: device openssl dgst -sha256 of the same file: %.0f ms (%.0f MB/s)\n", ossl * 1e3,
           (double)mib * MIB / ossl / 1e6);
    printf("bench: device whole %zu MiB update / openssl dgst -sha256: %.3f (target <= 1.10)\n",
           mib, upd / ossl);
    print_speeds();
    rc = 0;
out:
    free(b);
    unlink(path);
    net_close(&n);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc != 4 || (strcmp(argv[1], "build") != 0 && strcmp(argv[1], "measure") != 0 &&
                      strcmp(argv[1], "big") != 0)) {
        fprintf(stderr, "usage: bench_device build DIR RELEASES | bench_device measure DIR ITERS"
                        " | bench_device big DIR MIB\n");
        return 2;
    }
    long v = strtol(argv[3], NULL, 10);
    if (ul_client_init() != UL_OK || v < 1) {
        return 2;
    }
    if (strcmp(argv[1], "big") == 0) {
        return big(argv[2], (size_t)v);
    }
    return strcmp(argv[1], "build") == 0 ? build(argv[2], (size_t)v) : measure(argv[2], (int)v);
}
