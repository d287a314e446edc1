/* Device-side figures: the update context's size, the stack the verifier really uses (painted
 * thread stack, so libsodium, libsecp256k1 and libcbor frames count too), bundle bytes and
 * verification cost for consortia of 1, 4 and 7 validators, and image streaming throughput,
 * plain and encrypted. Usage: bench_device DIR [ITERS] [IMAGE_MIB]
 *        bench_device DIR ITERS IMAGE_MIB K...   (only these validator counts)
 * run.sh also runs it under callgrind with UL_BENCH_CG=1 (one bundle verification per run,
 * toggled on bench_device_verify_once) for instruction counts. */
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bench_util.h"
#include "client/ul_client.h"

#define MAX_VALS 7
#define RELEASES 1024 /* realistic log depth for the inclusion proof */
#define HW_PLAIN "acme-router-x1-rev-a"
#define HW_ENC "acme-router-x1-rev-b"

typedef struct {
    size_t k;
    ul_key *keys[MAX_VALS]; /* sorted by public key: set order */
    uint8_t genesis[UL_MAX_VALSET_BYTES + 256];
    size_t glen;
    ul_chain *chain;
    uint64_t now_ms;
} net;

static int fail(const char *what, ul_err e)
{
    fprintf(stderr, "bench_device: %s: %s (%s)\n", what, ul_err_name(e), ul_err_str(e));
    return 1;
}

static int key_cmp(const void *a, const void *b)
{
    return memcmp(ul_key_pubkey(*(ul_key *const *)a), ul_key_pubkey(*(ul_key *const *)b),
                  UL_PUBKEY_BYTES);
}

static int net_open(net *n, size_t k, const char *dir)
{
    static ul_genesis g;
    memset(n, 0, sizeof *n);
    memset(&g, 0, sizeof g);
    n->k = k;
    for (size_t i = 0; i < k; i++) {
        ul_err e = ul_key_generate(&n->keys[i]);
        if (e != UL_OK) {
            return fail("keygen", e);
        }
    }
    qsort(n->keys, k, sizeof n->keys[0], key_cmp);
    n->now_ms = bench_wall_ms() - 3600 * 1000;
    g.version = 1;
    g.name = ul_span_str("bench-device");
    g.time_ms = n->now_ms;
    g.validators.n = k;
    for (size_t i = 0; i < k; i++) {
        memcpy(g.validators.v[i].pubkey, ul_key_pubkey(n->keys[i]), UL_PUBKEY_BYTES);
        g.validators.v[i].power = 1;
    }
    ul_err e = ul_schema_genesis_encode(n->genesis, sizeof n->genesis, &n->glen, &g);
    if (e == UL_OK) {
        mkdir(dir, 0700);
        e = ul_chain_open(&n->chain, dir, n->genesis, n->glen);
    }
    return e == UL_OK ? 0 : fail("chain", e);
}

/* Seals the pending block and commits it with a precommit from every validator. */
static int net_commit(net *n)
{
    static ul_commit cm;
    static uint8_t cbytes[UL_MAX_COMMIT_BYTES];
    uint8_t hash[UL_HASH_BYTES], vote[128];
    ul_header h;
    size_t vlen, clen;
    n->now_ms += 1000;
    ul_err e = ul_chain_seal(n->chain, ul_key_pubkey(n->keys[0]), n->now_ms, &h, hash);
    memset(&cm, 0, sizeof cm);
    cm.height = h.height;
    memcpy(cm.block_hash, hash, UL_HASH_BYTES);
    for (size_t i = 0; e == UL_OK && i < n->k; i++) {
        ul_vote v = {.type = UL_VOTE_PRECOMMIT, .height = h.height, .time_ms = n->now_ms + i};
        memcpy(v.block_hash, hash, UL_HASH_BYTES);
        e = ul_schema_vote_encode(vote, sizeof vote, &vlen, &v);
        cm.sigs[i].index = i;
        cm.sigs[i].time_ms = v.time_ms;
        if (e == UL_OK) {
            e = ul_key_sign(n->keys[i], cm.sigs[i].sig, UL_DOMAIN_VOTE, ul_chain_id(n->chain),
                            vote, vlen);
        }
    }
    cm.n_sigs = n->k;
    if (e == UL_OK && (e = ul_schema_commit_encode(cbytes, sizeof cbytes, &clen, &cm)) == UL_OK) {
        e = ul_chain_commit(n->chain, cbytes, clen);
    }
    return e == UL_OK ? 0 : fail("commit", e);
}

static int submit(net *n, ul_tx_kind kind, const uint8_t *body, size_t blen, uint8_t id[32])
{
    static uint8_t tx[UL_MAX_TX_BYTES];
    size_t tlen;
    ul_err e = bench_sign_tx(n->keys[0], ul_chain_id(n->chain), kind, body, blen, tx, sizeof tx,
                             &tlen);
    if (e == UL_OK) {
        e = ul_chain_submit(n->chain, tx, tlen, id);
    }
    return e == UL_OK ? 0 : fail("submit", e);
}

/* A release of BENCH_NS for one hardware class whose digest and size are the image's, and,
 * when sealed is given, the encryption info that wraps the content key for that class. */
static int publish_image(net *n, uint64_t seq, const char *hw, const uint8_t digest[32],
                         uint64_t size, const uint8_t *sealed, uint8_t id[32])
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
    memcpy(r.digest, digest, 32);
    r.size = size;
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
    return e == UL_OK ? submit(n, UL_TX_PUBLISH, body, blen, id) : fail("release", e);
}

/* Encrypts img into *out the way `upledger publish --encrypt-for` does. */
static size_t encrypt_image(const uint8_t *img, size_t len, const uint8_t key[32], uint8_t **out)
{
    crypto_secretstream_xchacha20poly1305_state st;
    size_t chunks = len / UL_MAX_ENC_CHUNK + 1, o = 0;
    *out = malloc(crypto_secretstream_xchacha20poly1305_HEADERBYTES +
                  chunks * (UL_MAX_ENC_CHUNK + crypto_secretstream_xchacha20poly1305_ABYTES));
    crypto_secretstream_xchacha20poly1305_init_push(&st, *out, key);
    o = crypto_secretstream_xchacha20poly1305_HEADERBYTES;
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

/* ---- what is measured ------------------------------------------------------------------- */

typedef struct {
    const ul_device_state *st;
    const uint8_t *bundle;
    size_t blen;
    const uint8_t *image;
    size_t ilen;
    const uint8_t *class_sk;
    size_t chunk;
    ul_err err;
} job;

static ul_update g_update; /* device memory: a static context, as firmware would hold it */

static int sink_discard(void *arg, const uint8_t *p, size_t n)
{
    (void)arg;
    (void)p;
    (void)n;
    return 0;
}

/* One whole update as a device runs it: bundle in chunks, then the image. Not inlined, so that
 * callgrind can toggle on it. */
__attribute__((noinline)) ul_err bench_device_verify_once(const job *j, bool with_image)
{
    ul_err e = ul_client_update_begin(&g_update, j->st, (const uint8_t *)BENCH_NS,
                                      strlen(BENCH_NS), j->class_sk, 0, 0);
    for (size_t off = 0; e == UL_OK && off < j->blen; off += j->chunk) {
        size_t m = j->blen - off < j->chunk ? j->blen - off : j->chunk;
        e = ul_client_bundle_update(&g_update, j->bundle + off, m);
    }
    if (e == UL_OK) {
        e = ul_client_bundle_final(&g_update, NULL);
    }
    for (size_t off = 0; with_image && e == UL_OK && off < j->ilen; off += j->chunk) {
        size_t m = j->ilen - off < j->chunk ? j->ilen - off : j->chunk;
        e = ul_client_image_update(&g_update, j->image + off, m, sink_discard, NULL);
    }
    if (with_image && e == UL_OK) {
        e = ul_client_image_final(&g_update, sink_discard, NULL);
    }
    ul_client_update_abort(&g_update);
    return e;
}

#define PAINT_STACK (256 * 1024)
#define PAINT 0xA5

static void *stack_job(void *arg)
{
    job *j = arg;
    j->err = bench_device_verify_once(j, true);
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

static size_t painted_run(void *(*fn)(void *), void *arg);

/* Stack bytes one update needs: a painted thread running it, minus the same thread running
 * nothing (glibc keeps the thread descriptor and static TLS at the top of a caller-provided
 * stack, and start-up frames are not the library's). */
static size_t stack_used(job *j)
{
    size_t base = painted_run(empty_job, NULL);
    size_t all = painted_run(stack_job, j);
    return all > base ? all - base : 0;
}

/* Runs fn on a thread whose stack was painted, and returns the bytes touched. */
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

static int run_net(size_t k, const char *dir, int iters, const uint8_t *img, size_t ilen)
{
    static uint8_t body[8192];
    net n;
    uint8_t id[32], digest[32], ckey[32], pk[32], sk[32], sealed[UL_SEALED_KEY_BYTES];
    uint8_t id_plain[32], id_enc[32], *enc = NULL, *bplain = NULL, *benc = NULL;
    size_t blen, lplain = 0, lenc = 0;
    (void)iters;
    bench_txs txs;
    static ul_device_state st;
    int rc = 1;
    if (net_open(&n, k, dir)) {
        return 1;
    }
    /* Namespaces, then RELEASES releases so the inclusion proof has a realistic depth. */
    if (bench_register_ns_body(body, sizeof body, &blen, ul_key_pubkey(n.keys[0]), BENCH_DEP_NS,
                               1) != UL_OK ||
        submit(&n, UL_TX_REGISTER, body, blen, id) ||
        bench_register_ns_body(body, sizeof body, &blen, ul_key_pubkey(n.keys[0]), BENCH_NS, 2) !=
            UL_OK ||
        submit(&n, UL_TX_REGISTER, body, blen, id) || net_commit(&n)) {
        goto out;
    }
    if (bench_txs_make(&txs, n.keys[0], ul_chain_id(n.chain), 0, RELEASES)) {
        goto out;
    }
    for (size_t i = 0; i < txs.n; i++) {
        ul_err e = ul_chain_submit(n.chain, bench_tx(&txs, i), txs.len[i], id);
        if (e != UL_OK) {
            bench_txs_free(&txs);
            fail("publish", e);
            goto out;
        }
    }
    bench_txs_free(&txs);
    /* The two measured releases: a plain image and an encrypted one, each the newest of its
     * hardware class. */
    crypto_box_keypair(pk, sk);
    randombytes_buf(ckey, sizeof ckey);
    crypto_box_seal(sealed, ckey, sizeof ckey, pk);
    lenc = encrypt_image(img, ilen, ckey, &enc);
    ul_client_sha256(digest, img, ilen);
    if (net_commit(&n) || publish_image(&n, RELEASES + 1, HW_PLAIN, digest, ilen, NULL, id_plain)) {
        goto out;
    }
    ul_client_sha256(digest, enc, lenc);
    if (publish_image(&n, RELEASES + 2, HW_ENC, digest, lenc, sealed, id_enc) || net_commit(&n) ||
        net_commit(&n)) {
        goto out;
    }
    size_t lbenc = 0;
    ul_err e = ul_chain_bundle2(n.chain, id_plain, ul_span_str(HW_PLAIN), 0, &bplain, &lplain);
    if (e == UL_OK) {
        e = ul_chain_bundle2(n.chain, id_enc, ul_span_str(HW_ENC), 0, &benc, &lbenc);
    }
    if (e != UL_OK) {
        fail("bundle", e);
        goto out;
    }
    bool cg = getenv("UL_BENCH_CG") != NULL; /* callgrind: one bundle verification, no timing */
    rc = 0;
    for (int which = 0; which < 2 && rc == 0; which++) {
        const char *hw = which ? HW_ENC : HW_PLAIN, *what = which ? "encrypted" : "plain";
        job j = {.st = &st, .bundle = which ? benc : bplain, .blen = which ? lbenc : lplain,
                 .image = which ? enc : img, .ilen = which ? lenc : ilen,
                 .class_sk = which ? sk : NULL, .chunk = 512};
        e = ul_client_device_init(&st, n.genesis, n.glen, (const uint8_t *)hw, strlen(hw));
        if (e == UL_OK) {
            e = ul_client_device_add(&st, (const uint8_t *)BENCH_DEP_NS, strlen(BENCH_DEP_NS),
                                     (const uint8_t *)"2.1.0", 5, 1);
        }
        if (e != UL_OK || (!cg && (e = bench_device_verify_once(&j, true)) != UL_OK)) {
            rc = fail("genuine update refused", e);
            break;
        }
        if (cg) {
            rc = bench_device_verify_once(&j, false) != UL_OK;
            break;
        }
        double t0 = bench_now_s();
        for (int it = 0; it < iters; it++) {
            bench_device_verify_once(&j, false);
        }
        double per = (bench_now_s() - t0) / iters;
        t0 = bench_now_s();
        bench_device_verify_once(&j, true);
        double img_s = bench_now_s() - t0 - per;
        size_t stack = stack_used(&j);
        if (j.err != UL_OK) {
            rc = fail("update on the painted stack", j.err);
            break;
        }
        printf("bench: device %zu validators %s bundle bytes: %zu B\n", k, what, j.blen);
        printf("bench: device %zu validators %s bundle verify (512 B chunks): %.0f us\n", k, what,
               per * 1e6);
        printf("bench: device %zu validators %s image %zu MiB verify: %.0f MiB/s\n", k, what,
               ilen >> 20, bench_rate((double)ilen / (1 << 20), img_s));
        printf("bench: device %zu validators %s stack used (bundle + image): %zu B\n", k, what,
               stack);
        if (k == 4 && which == 0) {
            ul_err se;
            size_t base = painted_run(empty_job, NULL), s = painted_run(secp_job, &se);
            printf("bench: device stack of one BIP-340 verify (libsecp256k1 alone): %zu B\n",
                   s > base ? s - base : 0);
        }
    }
out:
    free(enc);
    free(bplain);
    free(benc);
    ul_chain_close(n.chain);
    for (size_t i = 0; i < n.k; i++) {
        ul_key_destroy(n.keys[i]);
    }
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_device DIR [ITERS] [IMAGE_MIB]\n");
        return 2;
    }
    int iters = argc > 2 ? (int)strtol(argv[2], NULL, 10) : 200;
    size_t mib = argc > 3 ? (size_t)strtoul(argv[3], NULL, 10) : 16;
    if (ul_client_init() != UL_OK || iters < 1 || mib < 1) {
        return 2;
    }
    size_t ilen = mib << 20;
    uint8_t *img = malloc(ilen);
    randombytes_buf(img, ilen);
    printf("bench: device ul_update context bytes: %zu B (limit %d)\n", sizeof(ul_update),
           UL_MAX_UPDATE_CTX_BYTES);
    printf("bench: device ul_device_state bytes: %zu B\n", sizeof(ul_device_state));
    int rc = 0;
    size_t ks[8] = {1, 4, 7}, nk = 3;
    if (argc > 4) { /* explicit validator counts */
        for (nk = 0; nk < 8 && (int)nk + 4 < argc; nk++) {
            ks[nk] = strtoul(argv[nk + 4], NULL, 10);
            if (ks[nk] < 1 || ks[nk] > MAX_VALS) {
                fprintf(stderr, "bench_device: 1..%d validators\n", MAX_VALS);
                return 2;
            }
        }
    }
    for (size_t i = 0; i < nk && rc == 0; i++) {
        char dir[4096];
        snprintf(dir, sizeof dir, "%s/v%zu", argv[1], ks[i]);
        rc = run_net(ks[i], dir, iters, img, ilen);
    }
    free(img);
    return rc;
}
