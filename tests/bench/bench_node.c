/* Node benchmark, end to end: against a running `upledgerd --dev`, registers a namespace with its
 * own key, then submits N pre-signed publish txs over the query endpoint in batches of
 * UL_MAX_SUBMIT_TXS and polls until the last one is committed (commits/s through the node).
 * Usage: bench_node DATA ENDPOINT [N]; DATA is the node's --data directory (genesis.cbor gives
 * the chain id). tests/bench/run.sh starts and stops the node. Prints "bench: <name>: ...".
 */
#include "bench_rpc.h"

#define DEFAULT_TXS 50000
#define CALL_TIMEOUT_MS 60000 /* one batch of 1024 executes in well under a second */
#define READY_WAIT_S 20.0     /* the node answers STATUS within this after start */
#define COMMIT_WAIT_S 120.0   /* the last release is committed within this after its submit */
#define POLL_NS BENCH_POLL_NS /* between TX_STATUS polls */
#define RTT_CALLS 1000        /* STATUS round trips timed for the latency figure */

static int fail(const char *what, ul_err e)
{
    fprintf(stderr, "bench_node: %s: %s (%s)\n", what, ul_err_str(e), ul_err_name(e));
    return 1;
}

/* STATUS: height, chain id, log size. */
static ul_err status(int sock, uint64_t *height, uint8_t cid[UL_HASH_BYTES], uint64_t *log_size)
{
    bench_status st;
    ul_err e = bench_get_status(sock, &st);
    *height = st.height;
    *log_size = st.log_size;
    memcpy(cid, st.chain_id, UL_HASH_BYTES);
    return e;
}

static ul_err wait_committed(int sock, const uint8_t id[UL_HASH_BYTES], uint64_t *height)
{
    return bench_wait_committed(sock, id, COMMIT_WAIT_S, height);
}

static ul_err submit_batch(int sock, const bench_txs *t, size_t first, size_t n,
                           uint8_t last_id[UL_HASH_BYTES], size_t *rejected)
{
    return bench_submit_range(sock, t, first, n, last_id, rejected, "bench_node");
}

/* Registers BENCH_NS with key as owner and publisher and waits for its commit. */
static int register_ns(int sock, const ul_key *key, const uint8_t cid[UL_HASH_BYTES])
{
    uint8_t body[UL_MAX_RECORD_BYTES], tx[UL_MAX_TX_BYTES], id[UL_HASH_BYTES];
    size_t blen, tlen, rejected = 0;
    uint64_t h;
    bench_txs one = {.n = 1, .arena = tx, .off = &(size_t){0}, .len = &tlen};
    ul_err e = UL_OK;
    /* The namespace, then the one its releases depend on (higher nonce, same key). */
    for (uint64_t nonce = 1; e == UL_OK && nonce <= 2; nonce++) {
        e = nonce == 1 ? bench_register_body(body, sizeof body, &blen, ul_key_pubkey(key), 1)
                       : bench_register_ns_body(body, sizeof body, &blen, ul_key_pubkey(key),
                                                BENCH_DEP_NS, 2);
        if (e == UL_OK &&
            (e = bench_sign_tx(key, cid, UL_TX_REGISTER, body, blen, tx, sizeof tx, &tlen)) == 0 &&
            (e = submit_batch(sock, &one, 0, 1, id, &rejected)) == UL_OK) {
            e = rejected ? UL_E_INTERNAL : wait_committed(sock, id, &h);
        }
    }
    return e != UL_OK ? fail("register namespace", e) : 0;
}

/* Waits for the node to answer and checks it serves the chain of DATA/genesis.cbor. */
static int wait_ready(int sock, const uint8_t cid[UL_HASH_BYTES])
{
    uint8_t got[UL_HASH_BYTES];
    uint64_t h, ls;
    double deadline = bench_now_s() + READY_WAIT_S;
    ul_err e;
    while ((e = status(sock, &h, got, &ls)) != UL_OK && bench_now_s() < deadline) {
        struct timespec ts = {0, 50 * POLL_NS};
        nanosleep(&ts, NULL);
    }
    if (e != UL_OK) {
        return fail("node status", e);
    }
    if (memcmp(got, cid, UL_HASH_BYTES) != 0) {
        fprintf(stderr, "bench_node: the node serves another chain than genesis.cbor\n");
        return 1;
    }
    return 0;
}

/* STATUS round-trip latency: the floor under every request. */
static int rtt(int sock)
{
    uint8_t cid[UL_HASH_BYTES];
    uint64_t h, ls;
    double t0 = bench_now_s();
    for (int i = 0; i < RTT_CALLS; i++) {
        ul_err e = status(sock, &h, cid, &ls);
        if (e != UL_OK) {
            return fail("status", e);
        }
    }
    printf("bench: node STATUS round trip: %.1f us\n", 1e6 * (bench_now_s() - t0) / RTT_CALLS);
    return 0;
}

/* Target 1(b): every batch, then poll until the last release is committed. */
static int run(int sock, const bench_txs *t)
{
    uint8_t cid[UL_HASH_BYTES], last[UL_HASH_BYTES];
    uint64_t h0, h1, hl, ls0, ls1;
    size_t rejected = 0;
    ul_err e = status(sock, &h0, cid, &ls0);
    double t0 = bench_now_s(), batch_max = 0;
    for (size_t i = 0; e == UL_OK && i < t->n; i += UL_MAX_SUBMIT_TXS) {
        size_t n = t->n - i < UL_MAX_SUBMIT_TXS ? t->n - i : UL_MAX_SUBMIT_TXS;
        double b0 = bench_now_s();
        e = submit_batch(sock, t, i, n, last, &rejected);
        batch_max = bench_now_s() - b0 > batch_max ? bench_now_s() - b0 : batch_max;
    }
    double t_sub = bench_now_s() - t0;
    if (e != UL_OK || (e = wait_committed(sock, last, &hl)) != UL_OK) {
        return fail("submit", e);
    }
    double t_all = bench_now_s() - t0;
    if ((e = status(sock, &h1, cid, &ls1)) != UL_OK) {
        return fail("status", e);
    }
    printf("bench: node releases submitted: %zu (%zu rejected)\n", t->n, rejected);
    printf("bench: node releases committed (log size growth): %llu\n",
           (unsigned long long)(ls1 - ls0));
    printf("bench: node blocks committed meanwhile: %llu blocks\n", (unsigned long long)(h1 - h0));
    printf("bench: node submit phase (all batches answered): %.2f s\n", t_sub);
    printf("bench: node submit batch of %d, mean: %.1f ms (max %.1f ms)\n", UL_MAX_SUBMIT_TXS,
           1e3 * t_sub / ((t->n + UL_MAX_SUBMIT_TXS - 1) / UL_MAX_SUBMIT_TXS), 1e3 * batch_max);
    printf("bench: node accepted/s (submit replies): %.0f /s\n", bench_rate(t->n, t_sub));
    printf("bench: node end to end (first submit to last commit): %.2f s\n", t_all);
    printf("bench: release commits/s through the node (end to end): %.0f /s\n",
           bench_rate(t->n, t_all));
    return rejected || ls1 - ls0 != t->n ? 1 : 0;
}

int main(int argc, char **argv)
{
    uint8_t cid[UL_HASH_BYTES];
    ul_key *key = NULL;
    bench_txs txs = {0};
    int sock = -1, rc = 1;
    if (argc < 3 || argc > 4 || ul_client_init() != UL_OK) {
        fprintf(stderr, "usage: bench_node DATA ENDPOINT [N]\n");
        return 2;
    }
    size_t n = argc > 3 ? strtoul(argv[3], NULL, 10) : DEFAULT_TXS;
    char gpath[4200];
    snprintf(gpath, sizeof gpath, "%s/genesis.cbor", argv[1]);
    ul_err e = bench_read_chain_id(gpath, cid);
    if (n == 0 || e != UL_OK) {
        fprintf(stderr, "bench_node: N >= 1 and %s/genesis.cbor readable, please\n", argv[1]);
        return 2;
    }
    if ((e = ul_p2p_connect(&sock, argv[2], CALL_TIMEOUT_MS)) != UL_OK) {
        fail("connect", e);
        goto out;
    }
    if ((e = ul_key_generate(&key)) != UL_OK) {
        fail("key", e);
        goto out;
    }
    if (wait_ready(sock, cid) != 0 || register_ns(sock, key, cid) != 0) {
        goto out;
    }
    double t0 = bench_now_s();
    if (bench_txs_make(&txs, key, cid, 0, n) != 0) {
        goto out;
    }
    printf("bench: node pre-signing txs: %.2f s\n", bench_now_s() - t0);
    if (rtt(sock) != 0 || run(sock, &txs) != 0) {
        goto out;
    }
    rc = 0;
out:
    bench_txs_free(&txs);
    ul_key_destroy(key);
    if (sock >= 0) {
        ul_p2p_close(sock);
    }
    return rc;
}
