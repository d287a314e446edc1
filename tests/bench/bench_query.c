/* Query cost as one namespace grows (issue 10 item 18): the node CPU that `upledger query
 * history NS`, `upledger query latest NS --hw CLASS`, `upledger query search --signer KEY` (of
 * the key that signed every release) and `upledger query metrics` cost, request by request as the
 * CLI sends them, in one namespace of N1, N2, ... releases. The chain is built in process (a
 * one-validator dev chain, pre-signed publishes in synced blocks of UL_MAX_BLOCK_TXS) and grows
 * from one size to the next; requests go to ul_node_handle, the node's own handler, in this thread,
 * and the CPU is this thread's (CLOCK_THREAD_CPUTIME_ID): what the node spends, without the
 * transport.
 *
 * Usage: bench_query DIR N1 [N2 ...]            ascending sizes; DIR is created
 *        bench_query --full-scan DIR N1 [N2 ...] also the CLI's requests before pagination
 *                    (every history page oldest first, then every release), once per size
 * Prints "bench: <name>: <value> <unit>" lines, then the growth from the first size to the last.
 */
#include <errno.h>
#include <sys/stat.h>
#include <time.h>

#include "bench_util.h"
#include "node/io.h"
#include "node/node.h"

#define HW "acme-router-x1-rev-a"
#define PAGE 50    /* the CLI's default history page */
#define REPEATS 50 /* requests of each kind timed per size (their mean is printed) */
#define MAX_SIZES 8

static int fail(const char *what, ul_err e)
{
    fprintf(stderr, "bench_query: %s: %s (%s)\n", what, ul_err_str(e), ul_err_name(e));
    return 1;
}

static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef struct {
    ul_node node;
    ul_node_io *io;
    ul_key *key;
    uint64_t n; /* releases of BENCH_NS committed */
    double cpu; /* node CPU spent in ul_node_handle since the last reset */
    size_t calls;
} bench;

/* One request through the node's handler; its CPU is added to b->cpu. Out: r (spans into *buf,
 * which the caller frees). */
static ul_err call(bench *b, const ul_msg *q, ul_msg *r, uint8_t **buf)
{
    static uint8_t req[4096];
    size_t len, out_len;
    uint64_t code;
    ul_err e = ul_msg_encode(req, sizeof req, &len, q);
    if (e != UL_OK) {
        return e;
    }
    double t0 = cpu_s();
    ul_node_handle(&b->node, req, len, buf, &out_len);
    b->cpu += cpu_s() - t0;
    b->calls++;
    if (!*buf || ul_msg_decode(r, *buf, out_len) != UL_OK || ul_msg_get_uint(r, UL_QK_ERR, &code)) {
        return UL_E_PROTOCOL;
    }
    return (ul_err)code;
}

static ul_err call_release(bench *b, const uint8_t *id, uint64_t method)
{
    ul_msg q, r;
    uint8_t *buf = NULL;
    if (method == UL_RPC_RELEASE) {
        ul_q_release_req(&q, id);
    } else {
        ul_q_release_status_req(&q, id);
    }
    ul_err e = call(b, &q, &r, &buf);
    free(buf);
    return e;
}

/* `query history NS`: one page of PAGE releases, newest first, with their records (one
 * request); with records 0, the page of ids alone. */
static ul_err cli_history(bench *b, uint64_t records)
{
    ul_msg q, r;
    uint8_t *buf = NULL;
    ul_q_history_reply hr;
    const uint64_t newest = UINT64_MAX;
    ul_q_history_req(&q, ul_span_str(BENCH_NS), &newest, PAGE, true, records);
    ul_err e = call(b, &q, &r, &buf);
    if (e == UL_OK && (e = ul_q_history_reply_read(&r, &hr)) == UL_OK &&
        hr.ids.len != PAGE * UL_HASH_BYTES) {
        e = UL_E_PROTOCOL;
    }
    free(buf);
    return e;
}

/* `query latest NS --hw HW`: the installable index, then the newest entry's record and status. */
static ul_err cli_latest(bench *b)
{
    ul_msg q, r;
    uint8_t *buf = NULL;
    ul_span inst = {0};
    ul_q_latest_reply lr;
    ul_q_latest_req(&q, ul_span_str(BENCH_NS), ul_span_str(HW));
    ul_err e = call(b, &q, &r, &buf);
    if (e == UL_OK && (ul_q_latest_reply_read(&r, &lr) != UL_OK ||
                       (inst = lr.installable).len < UL_RPC_INSTALLABLE_ENTRY_BYTES)) {
        e = UL_E_PROTOCOL;
    }
    if (e == UL_OK && (e = call_release(b, inst.ptr + 8, UL_RPC_RELEASE)) == UL_OK) {
        e = call_release(b, inst.ptr + 8, UL_RPC_RELEASE_STATUS);
    }
    free(buf);
    return e;
}

/* `query search --signer KEY`: the newest PAGE of the releases one key signed (here: all). */
static ul_err cli_search(bench *b)
{
    ul_msg q, r;
    uint8_t *buf = NULL;
    uint64_t newest = UINT64_MAX;
    ul_q_search_reply sr;
    ul_q_search_req(&q, NULL, ul_key_pubkey(b->key), &newest, PAGE, true);
    ul_err e = call(b, &q, &r, &buf);
    if (e == UL_OK && ((e = ul_q_search_reply_read(&r, &sr)) != UL_OK ||
                       sr.entries.len != PAGE * UL_RPC_SEARCH_ENTRY_BYTES)) {
        e = e ? e : UL_E_PROTOCOL;
    }
    free(buf);
    return e;
}

/* `query metrics`: the figures sampled (store size included) and the page rendered. */
static ul_err cli_metrics(bench *b)
{
    ul_msg q, r;
    uint8_t *buf = NULL;
    ul_q_metrics_reply mr;
    ul_q_metrics_req(&q);
    ul_err e = call(b, &q, &r, &buf);
    if (e == UL_OK) {
        e = ul_q_metrics_reply_read(&r, &mr);
    }
    free(buf);
    return e;
}

/* The CLI's `query history NS` before pagination (and the first half of its `query latest`):
 * every page of ids, oldest first, then every record; latest then asked for the newest one's
 * status. */
static ul_err cli_full_scan(bench *b)
{
    uint64_t start = 0;
    uint8_t last[UL_HASH_BYTES];
    size_t total = 0, n;
    ul_err e = UL_OK;
    do {
        ul_msg q, r;
        uint8_t *buf = NULL;
        ul_span ids = {0};
        ul_q_history_reply hr;
        ul_q_history_req(&q, ul_span_str(BENCH_NS), &start, 0, false, false);
        if ((e = call(b, &q, &r, &buf)) == UL_OK &&
            (e = ul_q_history_reply_read(&r, &hr)) == UL_OK) {
            ids = hr.ids;
        }
        n = ids.len / UL_HASH_BYTES;
        for (size_t i = 0; e == UL_OK && i < n; i++) {
            memcpy(last, ids.ptr + i * UL_HASH_BYTES, UL_HASH_BYTES);
            e = call_release(b, last, UL_RPC_RELEASE);
        }
        free(buf);
        total += n;
        start += n; /* one namespace: its log indexes are 0.. in order after the registrations */
    } while (e == UL_OK && n == UL_MAX_HISTORY);
    if (e == UL_OK && total != b->n) {
        e = UL_E_PROTOCOL;
    }
    return e == UL_OK ? call_release(b, last, UL_RPC_RELEASE_STATUS) : e;
}

/* Commits releases b->n .. want - 1, a block of UL_MAX_BLOCK_TXS at a time. */
static int grow(bench *b, uint64_t want)
{
    while (b->n < want) {
        bench_txs t;
        size_t k = want - b->n < UL_MAX_BLOCK_TXS ? (size_t)(want - b->n) : UL_MAX_BLOCK_TXS;
        uint8_t id[UL_HASH_BYTES];
        if (bench_txs_make(&t, b->key, ul_chain_id(b->node.chain), b->n, k) != 0) {
            return fail("signing releases", UL_E_INTERNAL);
        }
        ul_err e = UL_OK;
        for (size_t i = 0; e == UL_OK && i < k; i++) {
            e = ul_chain_submit(b->node.chain, bench_tx(&t, i), t.len[i], id);
        }
        bench_txs_free(&t);
        if (e != UL_OK || (e = ul_chain_produce(b->node.chain, b->key, bench_wall_ms(), NULL))) {
            return fail("committing releases", e);
        }
        b->n += k;
    }
    return 0;
}

/* A one-validator chain in dir/db with BENCH_NS and BENCH_DEP_NS registered, behind an
 * observer's handler (it serves every query). */
static int open_node(bench *b, const char *dir)
{
    static uint8_t genesis[UL_MAX_VALSET_BYTES + 256];
    uint8_t body[UL_MAX_RECORD_BYTES], tx[UL_MAX_TX_BYTES], id[UL_HASH_BYTES];
    char db[4096];
    size_t glen, blen, tlen;
    ul_err e = UL_OK;
    snprintf(db, sizeof db, "%s/db", dir);
    if ((mkdir(dir, 0700) != 0 && errno != EEXIST) ||
        (e = bench_genesis_one(&b->key, "upledger-bench-query", genesis, sizeof genesis, &glen)) !=
            UL_OK ||
        (e = ul_chain_open(&b->node.chain, db, genesis, glen)) != UL_OK) {
        return fail("opening the chain", e ? e : UL_E_IO);
    }
    for (uint64_t nonce = 1; nonce <= 2; nonce++) {
        e = bench_register_ns_body(body, sizeof body, &blen, ul_key_pubkey(b->key),
                                   nonce == 1 ? BENCH_NS : BENCH_DEP_NS, nonce);
        if (e ||
            (e = bench_sign_tx(b->key, ul_chain_id(b->node.chain), UL_TX_REGISTER, body, blen, tx,
                               sizeof tx, &tlen)) ||
            (e = ul_chain_submit(b->node.chain, tx, tlen, id))) {
            return fail("registering", e);
        }
    }
    static ul_node_cfg cfg = {.observer = true, .heartbeat_ms = 1000, .round_timeout_ms = 1000};
    if ((e = ul_chain_produce(b->node.chain, b->key, bench_wall_ms(), NULL)) != UL_OK ||
        (e = ul_node_io_open(&b->io, NULL, &cfg)) != UL_OK ||
        ((b->node.io = b->io), (e = ul_cons_open(&b->node, &cfg)) != UL_OK)) {
        return fail("registering", e);
    }
    return 0;
}

#define KINDS 5

/* Out: out[0..KINDS), the mean node CPU of REPEATS runs of each CLI command at this size
 * (history with records, its page of ids alone, latest, search by signer, metrics), printed. */
static int measure(bench *b, double out[KINDS])
{
    static const char *const what[KINDS] = {"query history", "query history", "query latest",
                                            "query search", "query metrics"};
    for (int k = 0; k < KINDS; k++) {
        b->cpu = 0;
        for (int i = 0; i < REPEATS; i++) {
            ul_err e = k == 2   ? cli_latest(b)
                       : k == 3 ? cli_search(b)
                       : k == 4 ? cli_metrics(b)
                                : cli_history(b, k == 0);
            if (e != UL_OK) {
                return fail(what[k], e);
            }
        }
        out[k] = b->cpu / REPEATS;
    }
    printf("bench: query history node CPU at %llu releases (a page of %d with records): %.1f us\n",
           (unsigned long long)b->n, PAGE, 1e6 * out[0]);
    printf("bench: query history node CPU at %llu releases (a page of %d ids): %.1f us\n",
           (unsigned long long)b->n, PAGE, 1e6 * out[1]);
    printf("bench: query latest node CPU at %llu releases (index, record, status): %.1f us\n",
           (unsigned long long)b->n, 1e6 * out[2]);
    printf("bench: query search node CPU at %llu releases (a signer's newest %d): %.1f us\n",
           (unsigned long long)b->n, PAGE, 1e6 * out[3]);
    printf("bench: query metrics node CPU at %llu releases (sample and render the page): %.1f us\n",
           (unsigned long long)b->n, 1e6 * out[4]);
    return 0;
}

int main(int argc, char **argv)
{
    static bench b;
    bool full_scan = argc > 1 && !strcmp(argv[1], "--full-scan");
    int first = full_scan ? 3 : 2, n_sizes = argc - first;
    double figs[MAX_SIZES][KINDS];
    uint64_t sizes[MAX_SIZES];
    if (n_sizes < 1 || n_sizes > MAX_SIZES) {
        fprintf(stderr, "usage: bench_query [--full-scan] DIR N1 [N2 ...] (at most %d sizes)\n",
                MAX_SIZES);
        return 2;
    }
    if (ul_client_init() != UL_OK || open_node(&b, argv[first - 1]) != 0) {
        return 1;
    }
    for (int i = 0; i < n_sizes; i++) {
        sizes[i] = strtoull(argv[first + i], NULL, 10);
        double t0 = bench_now_s();
        if (sizes[i] < PAGE || (i && sizes[i] <= sizes[i - 1]) || grow(&b, sizes[i]) != 0) {
            fprintf(stderr, "bench_query: sizes must ascend from %d\n", PAGE);
            return 1;
        }
        printf("bench: query chain built to %llu releases in one namespace: %.0f s\n",
               (unsigned long long)sizes[i], bench_now_s() - t0);
        if (measure(&b, figs[i]) != 0) {
            return 1;
        }
        if (full_scan) {
            b.cpu = 0;
            b.calls = 0;
            ul_err e = cli_full_scan(&b);
            if (e != UL_OK) {
                return fail("full scan", e);
            }
            printf("bench: query history/latest before pagination, node CPU at %llu releases: "
                   "%.3f s (%zu requests)\n",
                   (unsigned long long)b.n, b.cpu, b.calls);
        }
    }
    const char *names[KINDS] = {"query history (page with records)", "query history (page of ids)",
                                "query latest", "query search (signer, page of ids)",
                                "query metrics"};
    for (int k = 0; k < KINDS; k++) {
        printf("bench: %s node CPU growth %llu -> %llu releases: x%.2f (%.1f -> %.1f us)\n",
               names[k], (unsigned long long)sizes[0], (unsigned long long)sizes[n_sizes - 1],
               figs[n_sizes - 1][k] / figs[0][k], 1e6 * figs[0][k], 1e6 * figs[n_sizes - 1][k]);
    }
    ul_cons_close(&b.node);
    ul_node_io_close(b.io);
    ul_chain_close(b.node.chain);
    ul_key_destroy(b.key);
    return 0;
}
