/* upledger-tracker benchmarks (issue 13 item 8). Prints figures, asserts no timing.
 *
 *   bench_tracker reports DIR DEVICES PER_DEVICE PORT
 *       signed reports accepted per second, signature verification included: in process
 *       (ul_tracker_ingest from 8 threads, as the HTTP threads call it) and over HTTP on loopback
 *       (8 keep-alive client threads against the tracker's libmicrohttpd server, 8 threads);
 *       and BIP-340 report verification alone on one thread, for the bound.
 *   bench_tracker fleet DIR DEVICES
 *       a store of DEVICES enrolled devices (filled by SQL), then the time to list a page of
 *       outdated devices, to reclassify the whole fleet after a new release and after a
 *       revocation (one UPDATE each), and to count the summary. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "client/ul_client.h"
#include "tests/bench/bench_util.h"
#include "tracker/internal.h"

#define NS "acme/router-x1"
#define HW "hw-a"
#define CLIENTS 8 /* HTTP client connections, and threads calling the ingest path in process */

static void die(const char *what, ul_err e)
{
    fprintf(stderr, "bench_tracker: %s: %s\n", what, ul_err_name(e));
    exit(1);
}

/* ---- reports ---------------------------------------------------------------------------- */

typedef struct {
    uint8_t *buf; /* n reports of up to UL_MAX_REPORT_BYTES each */
    size_t *len;
    size_t n;
} batch;

/* Report `counter` of device `dev` (secret seck), signed for tracker on chain. */
static size_t make_report(uint8_t *out, const uint8_t seck[32], const uint8_t tracker[32],
                          const uint8_t chain[32], uint64_t counter)
{
    ul_report r = {.version = 1,
                   .counter = counter,
                   .time = BENCH_TIME0,
                   .height = 1,
                   .n_components = 1,
                   .hw_len = strlen(HW)};
    ul_report_component *c = &r.comp[0];
    ul_err e = ul_client_pubkey_from_secret(r.device, seck);
    memcpy(r.tracker, tracker, 32);
    memcpy(r.hw, HW, r.hw_len);
    memset(r.header_hash, 0x11, 32);
    c->ns_len = strlen(NS);
    memcpy(c->ns, NS, c->ns_len);
    memset(c->release_id, 0xa1, 32);
    c->seq = 1;
    size_t len = 0;
    uint8_t aux[32] = {0};
    if (e == UL_OK) {
        e = ul_schema_report_encode(out, UL_MAX_REPORT_BYTES, &len, &r);
    }
    if (e == UL_OK) {
        e = ul_client_record_sign(out, len, UL_DOMAIN_REPORT, chain, seck, aux);
    }
    if (e != UL_OK) {
        die("report", e);
    }
    return len;
}

/* Reports of every device for counters from..to, counter-major (each device's in order). */
static void make_batch(batch *b, uint8_t (*secs)[32], size_t devices, const uint8_t tracker[32],
                       const uint8_t chain[32], uint64_t from, uint64_t to)
{
    b->n = devices * (size_t)(to - from + 1);
    b->buf = malloc(b->n * UL_MAX_REPORT_BYTES);
    b->len = malloc(b->n * sizeof(size_t));
    size_t k = 0;
    for (uint64_t c = from; c <= to; c++) {
        for (size_t d = 0; d < devices; d++, k++) {
            b->len[k] = make_report(b->buf + k * UL_MAX_REPORT_BYTES, secs[d], tracker, chain, c);
        }
    }
}

typedef struct {
    ul_tracker_state *t;
    const batch *b;
    size_t first, step;
    size_t ok;
    unsigned port;
} worker;

static void *ingest_worker(void *arg)
{
    worker *w = arg;
    uint8_t answer[UL_MAX_REPLY_BYTES];
    size_t alen;
    for (size_t i = w->first; i < w->b->n; i += w->step) {
        w->ok += ul_tracker_ingest(w->t, w->b->buf + i * UL_MAX_REPORT_BYTES, w->b->len[i], answer,
                                   sizeof(answer), &alen) == UL_OK;
    }
    return NULL;
}

/* Reads one HTTP response on fd; returns its status (0 on failure). */
static int read_response(int fd, char *buf, size_t cap)
{
    size_t got = 0;
    for (;;) {
        ssize_t n = recv(fd, buf + got, cap - got - 1, 0);
        if (n <= 0) {
            return 0;
        }
        got += (size_t)n;
        buf[got] = 0;
        char *end = strstr(buf, "\r\n\r\n");
        char *cl = strcasestr(buf, "Content-Length:");
        if (end && cl) {
            size_t body = strtoul(cl + 15, NULL, 10);
            if (got >= (size_t)(end + 4 - buf) + body) {
                return (int)strtol(buf + 9, NULL, 10);
            }
        }
    }
}

static void *http_worker(void *arg)
{
    worker *w = arg;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)w->port)};
    char head[256], resp[4096];
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        close(fd);
        return NULL;
    }
    for (size_t i = w->first; i < w->b->n; i += w->step) {
        int hl = snprintf(head, sizeof(head),
                          "POST /v1/reports HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                          "application/cbor\r\nContent-Length: %zu\r\n\r\n",
                          w->b->len[i]);
        if (send(fd, head, (size_t)hl, MSG_MORE) < 0 ||
            send(fd, w->b->buf + i * UL_MAX_REPORT_BYTES, w->b->len[i], 0) < 0) {
            break;
        }
        w->ok += read_response(fd, resp, sizeof(resp)) == 200;
    }
    close(fd);
    return NULL;
}

/* CPU seconds this process has used (every thread). */
static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU per report of the last run_workers (independent of what else loads the machine). */
static double g_cpu_per_report;

/* Runs n workers of fn over b (worker k takes reports k, k+n, ...); returns accepted/s. */
static double run_workers(void *(*fn)(void *), ul_tracker_state *t, const batch *b, size_t n,
                          unsigned port, size_t *ok)
{
    pthread_t th[CLIENTS];
    worker w[CLIENTS];
    double t0 = bench_now_s(), c0 = cpu_s();
    for (size_t i = 0; i < n; i++) {
        w[i] = (worker){.t = t, .b = b, .first = i, .step = n, .port = port};
        pthread_create(&th[i], NULL, fn, &w[i]);
    }
    *ok = 0;
    for (size_t i = 0; i < n; i++) {
        pthread_join(th[i], NULL);
        *ok += w[i].ok;
    }
    g_cpu_per_report = (cpu_s() - c0) / (double)(*ok ? *ok : 1);
    return bench_rate((double)*ok, bench_now_s() - t0);
}

static void verify_alone(const batch *b, const uint8_t chain[32])
{
    ul_report r;
    size_t n = b->n < 20000 ? b->n : 20000;
    double t0 = bench_now_s();
    for (size_t i = 0; i < n; i++) {
        if (ul_client_report_verify(&r, b->buf + i * UL_MAX_REPORT_BYTES, b->len[i], chain) !=
            UL_OK) {
            die("verify", UL_E_SIG);
        }
    }
    printf("bench: tracker report decode + BIP-340 verify/s (one thread): %.0f\n",
           bench_rate((double)n, bench_now_s() - t0));
}

/* One report per device (counter c), decoded first, then only the store timed: batches of
 * `group` reports per transaction (ul_tstore_accept_many, as the HTTP path groups them). */
static double store_alone(ul_tracker_state *t, uint8_t (*secs)[32], size_t devices, uint64_t c,
                          size_t group)
{
    batch b;
    ul_treport *r = malloc(devices * sizeof(*r));
    ul_taccept *it = calloc(devices, sizeof(*it));
    make_batch(&b, secs, devices, t->ident.tracker, t->ident.chain_id, c, c);
    for (size_t i = 0; i < devices; i++) {
        if (ul_treport_verify(&t->ident, b.buf + i * UL_MAX_REPORT_BYTES, b.len[i], &r[i]) !=
            UL_OK) {
            die("store_alone verify", UL_E_SIG);
        }
        it[i] =
            (ul_taccept){.r = &r[i], .raw = b.buf + i * UL_MAX_REPORT_BYTES, .raw_len = b.len[i]};
    }
    double t0 = bench_now_s();
    for (size_t i = 0; i < devices; i += group) {
        size_t n = devices - i < group ? devices - i : group;
        if (ul_tstore_accept_many(t->store, it + i, n, bench_wall_ms()) != UL_OK ||
            it[i].err != UL_OK) {
            die("store_alone accept", it[i].err);
        }
    }
    double rate = bench_rate((double)devices, bench_now_s() - t0);
    free(r), free(it), free(b.buf), free(b.len);
    return rate;
}

static void open_tracker(ul_tracker_state *t, const char *dir, const uint8_t chain[32])
{
    char path[512], msg[512];
    snprintf(path, sizeof(path), "%s/tracker.db", dir);
    unlink(path);
    ul_tracker_state_init(t);
    ul_err e = ul_tstore_open(&t->store, path, msg, sizeof(msg));
    if (e == UL_OK) {
        e = ul_key_generate(&t->ident.key);
    }
    if (e != UL_OK) {
        die(msg, e);
    }
    memcpy(t->ident.tracker, ul_key_pubkey(t->ident.key), 32);
    memcpy(t->ident.chain_id, chain, 32);
}

static int bench_reports(const char *dir, size_t devices, uint64_t per, unsigned port)
{
    uint8_t chain[32], (*secs)[32] = malloc(devices * 32), *pubs = malloc(devices * 32);
    ul_tracker_state t;
    memset(chain, 0xc4, sizeof(chain));
    open_tracker(&t, dir, chain);
    for (size_t d = 0; d < devices; d++) {
        do {
            randombytes_buf(secs[d], 32);
        } while (ul_client_pubkey_from_secret(pubs + d * 32, secs[d]) != UL_OK);
    }
    if (ul_tstore_enroll_many(t.store, pubs, devices, "fleet", bench_wall_ms()) != UL_OK) {
        die("enroll", UL_E_IO);
    }
    batch first, in_proc, over_http;
    size_t ok;
    make_batch(&first, secs, devices, t.ident.tracker, chain, 1, 1);
    make_batch(&in_proc, secs, devices, t.ident.tracker, chain, 2, per + 1);
    make_batch(&over_http, secs, devices, t.ident.tracker, chain, per + 2, 2 * per + 1);
    verify_alone(&in_proc, chain);
    double rate = run_workers(ingest_worker, &t, &first, CLIENTS, 0, &ok);
    printf("bench: tracker first reports accepted/s in process (new components, 8 threads): %.0f"
           " (%zu of %zu)\n",
           rate, ok, first.n);
    rate = run_workers(ingest_worker, &t, &in_proc, CLIENTS, 0, &ok);
    printf("bench: tracker reports accepted/s in process (verify + SQLite, 8 threads, %zu "
           "devices): %.0f (%zu of %zu)\n",
           devices, rate, ok, in_proc.n);
    printf("bench: tracker CPU per accepted report in process (verify + SQLite): %.0f us, so %.0f "
           "reports/s per core\n",
           g_cpu_per_report * 1e6, 1 / g_cpu_per_report);
    ul_thttp *h = NULL;
    char msg[256];
    ul_thttp_opts o = {.listen_addr = "127.0.0.1", .port = port}; /* default threads */
    if (ul_thttp_start(&h, &t, &o, msg, sizeof(msg)) != UL_OK) {
        die(msg, UL_E_NET);
    }
    rate = run_workers(http_worker, &t, &over_http, CLIENTS, port, &ok);
    printf(
        "bench: tracker reports accepted/s over HTTP (loopback, %d keep-alive clients, %d server "
        "threads): %.0f (%zu of %zu)\n",
        CLIENTS, UL_TRACKER_HTTP_THREADS, rate, ok, over_http.n);
    printf("bench: tracker CPU per accepted report over HTTP (server and in-process clients): %.0f "
           "us, so %.0f reports/s per core\n",
           g_cpu_per_report * 1e6, 1 / g_cpu_per_report);
    ul_thttp_stop(h);
    printf("bench: tracker store alone, reports/s, one per transaction (SQLite, one thread): "
           "%.0f\n",
           store_alone(&t, secs, devices, 2 * per + 2, 1));
    printf("bench: tracker store alone, reports/s, 16 per transaction (SQLite, one thread): %.0f\n",
           store_alone(&t, secs, devices, 2 * per + 3, 16));
    ul_tstore_close(t.store);
    ul_key_destroy(t.ident.key);
    ul_tracker_state_destroy(&t);
    free(first.buf), free(first.len), free(in_proc.buf), free(in_proc.len), free(over_http.buf),
        free(over_http.len);
    free(secs), free(pubs);
    return 0;
}

/* ---- fleet -------------------------------------------------------------------------------- */

/* Fills the store at path with n devices in one group, each running NS release A (seq 1) on HW,
 * all reported just now; the ledger says A is the latest. Plain SQL, one transaction. */
static void fill(const char *path, size_t n, uint64_t now_ms)
{
    sqlite3 *db;
    char sql[2048];
    snprintf(sql, sizeof(sql),
             "BEGIN;"
             "INSERT INTO groups (id, name, silence_ms) VALUES (1, 'fleet', 86400000);"
             "WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < %zu)"
             " INSERT INTO devices (id, pubkey, grp, enrolled_ms, seen_ms, counter, hw)"
             " SELECT i, CAST(printf('%%032d', i) AS BLOB), 1, %llu, %llu, 1, '" HW "' FROM k;"
             "INSERT INTO components (device_id, ns, hw, release_id, seq, slot, failed, status)"
             " SELECT id, '" NS "', '" HW "', zeroblob(32), 1, 0, 0, 0 FROM devices;"
             "INSERT INTO latest (ns, hw, release_id, seq) VALUES ('" NS "', '" HW
             "', zeroblob(32), 1);"
             "INSERT INTO releases (id) VALUES (zeroblob(32));"
             "COMMIT;",
             n, (unsigned long long)now_ms, (unsigned long long)now_ms);
    if (sqlite3_open(path, &db) != SQLITE_OK ||
        sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK) {
        fprintf(stderr, "bench_tracker: fill: %s\n", sqlite3_errmsg(db));
        exit(1);
    }
    sqlite3_close(db);
}

static ul_err count_one(void *ctx, const ul_tdevice *d)
{
    (*(size_t *)ctx)++;
    return UL_OK;
}

/* The time of one page of q (best of 5: the first warms the page cache). */
static double list_ms(ul_tstore *s, ul_tquery q, size_t *n)
{
    double best = 1e9;
    int64_t next;
    for (int i = 0; i < 5; i++) {
        double t0 = bench_now_s();
        *n = 0;
        if (ul_tstore_list(s, &q, count_one, n, &next) != UL_OK) {
            die("list", UL_E_IO);
        }
        double ms = (bench_now_s() - t0) * 1000;
        best = ms < best ? ms : best;
    }
    return best;
}

static ul_err count_sum(void *ctx, const char *kind, const char *a, const char *b, const char *c,
                        ul_tstatus st, uint64_t n)
{
    return UL_OK;
}

static void fleet_lists(ul_tstore *s, size_t devices, uint64_t now, const char *when)
{
    size_t n = 0;
    ul_tstatus st = strcmp(when, "after the revocation") == 0 ? UL_TS_VULNERABLE : UL_TS_OUTDATED;
    ul_tquery q = {.status = st, .limit = 100, .now_ms = now};
    double ms = list_ms(s, q, &n);
    printf("bench: tracker %zu devices: list a page of 100 %s, %s: %.2f ms (%zu listed)\n", devices,
           ul_tstatus_name(st), when, ms, n);
    q.ns = NS;
    q.group = "fleet";
    q.after = (int64_t)devices / 2;
    ms = list_ms(s, q, &n);
    printf("bench: tracker %zu devices: list a page of 100 %s by ns and group from the middle, "
           "%s: %.2f ms (%zu listed)\n",
           devices, ul_tstatus_name(st), when, ms, n);
    q = (ul_tquery){.status = UL_TS_SILENT, .limit = 100, .now_ms = now};
    ms = list_ms(s, q, &n);
    printf("bench: tracker %zu devices: list silent (none are), %s: %.2f ms\n", devices, when, ms);
}

static int bench_fleet(const char *dir, size_t devices)
{
    char path[512], msg[512];
    ul_tstore *s = NULL;
    uint8_t b[32], a[32] = {0};
    uint64_t now = bench_wall_ms();
    bool changed;
    snprintf(path, sizeof(path), "%s/fleet-%zu.db", dir, devices);
    unlink(path);
    if (ul_tstore_open(&s, path, msg, sizeof(msg)) != UL_OK) {
        die(msg, UL_E_IO);
    }
    double t0 = bench_now_s();
    fill(path, devices, now);
    printf("bench: tracker %zu devices: fill the store (SQL, one transaction): %.1f s\n", devices,
           bench_now_s() - t0);
    memset(b, 0xb2, sizeof(b));
    t0 = bench_now_s();
    double c0 = cpu_s();
    if (ul_tstore_set_latest(s, NS, HW, b, 2, &changed) != UL_OK || !changed) {
        die("set_latest", UL_E_IO);
    }
    printf("bench: tracker %zu devices: reclassify after a new release (all outdated): %.2f s"
           " (CPU %.2f s)\n",
           devices, bench_now_s() - t0, cpu_s() - c0);
    fleet_lists(s, devices, now, "after the release");
    t0 = bench_now_s();
    c0 = cpu_s();
    if (ul_tstore_set_revoked(s, a, 9) != UL_OK) {
        die("set_revoked", UL_E_IO);
    }
    printf("bench: tracker %zu devices: reclassify after a revocation (all vulnerable): %.2f s"
           " (CPU %.2f s)\n",
           devices, bench_now_s() - t0, cpu_s() - c0);
    fleet_lists(s, devices, now, "after the revocation");
    t0 = bench_now_s();
    if (ul_tstore_summary(s, now, count_sum, NULL) != UL_OK) {
        die("summary", UL_E_IO);
    }
    printf("bench: tracker %zu devices: summary (counts by group, status, release): %.2f s\n",
           devices, bench_now_s() - t0);
    ul_tstore_close(s);
    unlink(path);
    return 0;
}

int main(int argc, char **argv)
{
    if (ul_client_init() != UL_OK) {
        return 1;
    }
    if (argc == 6 && strcmp(argv[1], "reports") == 0) {
        return bench_reports(argv[2], strtoul(argv[3], NULL, 10), strtoull(argv[4], NULL, 10),
                             (unsigned)strtoul(argv[5], NULL, 10));
    }
    if (argc == 4 && strcmp(argv[1], "fleet") == 0) {
        return bench_fleet(argv[2], strtoul(argv[3], NULL, 10));
    }
    fprintf(stderr, "usage: bench_tracker reports DIR DEVICES PER_DEVICE PORT | fleet DIR N\n");
    return 2;
}
