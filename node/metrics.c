/* upledgerd's metrics: the figures the node thread keeps (relaxed atomics), the HTTP layer's
 * request counts (a small table under a mutex) and the Prometheus text page they render to
 * (exposition format 0.0.4: https://prometheus.io/docs/instrumenting/exposition_formats/). */
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../schema/ul_limits.h"
#include "metrics.h"

typedef struct {
    char route[UL_MAX_METRICS_ROUTE_LEN + 1];
    unsigned status;
    uint64_t count;
} http_pair;

struct ul_metrics {
    _Atomic uint64_t v[UL_M_COUNT_];
    _Atomic uint64_t bucket[UL_METRICS_BUCKETS + 1]; /* per bucket, not cumulative; last +Inf */
    _Atomic uint64_t latency_ms_sum, latency_count;
    pthread_mutex_t lock; /* the HTTP table */
    size_t n_http;
    http_pair http[UL_MAX_METRICS_ROUTES];
    uint64_t http_overflow; /* requests counted when the table was full */
};

/* One series of a single figure: families are consecutive entries of the same name, the first
 * of which carries help and type. */
typedef struct {
    const char *name, *help, *type, *labels;
    ul_metric k;
} series;

#define G(n, h, k)                                                                                 \
    {                                                                                              \
        n, h, "gauge", "", k                                                                       \
    }
#define CNT(n, h, k)                                                                               \
    {                                                                                              \
        n, h, "counter", "", k                                                                     \
    }
#define DROP(reason, k)                                                                            \
    {                                                                                              \
        "upledger_peer_envelopes_dropped_total", NULL, NULL, reason, k                             \
    }
static const series table[] = {
    G("upledger_height", "Height of the last committed block.", UL_M_HEIGHT),
    G("upledger_round", "Consensus round of the height being decided.", UL_M_ROUND),
    G("upledger_release_log_size", "Releases in the release log.", UL_M_LOG_SIZE),
    G("upledger_txs_pooled", "Transactions waiting in the pool.", UL_M_TXS_POOLED),
    CNT("upledger_txs_committed_total", "Transactions in the blocks committed since start.",
        UL_M_TXS_COMMITTED),
    G("upledger_peers", "Peers this node sends to.", UL_M_PEERS),
    G("upledger_peers_connected", "Peers with a live connection.", UL_M_PEERS_CONNECTED),
    CNT("upledger_peer_envelopes_sent_total", "Envelopes handed to the peer transport.",
        UL_M_ENV_SENT),
    CNT("upledger_peer_envelopes_received_total", "Valid envelopes received from peers.",
        UL_M_ENV_RECEIVED),
    {"upledger_peer_envelopes_dropped_total", "Envelopes dropped, by reason.", "counter",
     "reason=\"send_queue_full\"", UL_M_DROP_SEND},
    DROP("reason=\"malformed\"", UL_M_DROP_MALFORMED),
    DROP("reason=\"oversized\"", UL_M_DROP_OVERSIZED),
    DROP("reason=\"bad_signature\"", UL_M_DROP_BAD_SIG),
    DROP("reason=\"unknown_sender\"", UL_M_DROP_UNKNOWN),
    G("upledger_sync_target_height", "Block sync's target: the highest trusted claimed head.",
      UL_M_SYNC_TARGET),
    G("upledger_sync_blocks_behind", "Blocks between the committed head and the sync target.",
      UL_M_SYNC_BEHIND),
    G("upledger_store_approximate_bytes", "The store's size as LevelDB estimates it.",
      UL_M_STORE_BYTES),
    G("upledger_store_disk_bytes", "Bytes of the database directory's files.",
      UL_M_STORE_DISK_BYTES),
    CNT("upledger_signature_verifications_total", "BIP-340 signatures verified.", UL_M_SIG_VERIFY),
    CNT("upledger_signatures_made_total", "Votes and proposals this validator signed.",
        UL_M_SIGNED),
};
#undef G
#undef CNT
#undef DROP

/* Summaries (sum and count only) of durable writes, by file. */
static const struct {
    const char *file;
    ul_metric n, ns;
} fsyncs[] = {{"store", UL_M_FSYNC_STORE_N, UL_M_FSYNC_STORE_NS},
              {"sign_state", UL_M_FSYNC_SIGN_N, UL_M_FSYNC_SIGN_NS}};

static const uint64_t bucket_ms[UL_METRICS_BUCKETS] = UL_METRICS_BUCKET_MS;

ul_metrics *ul_metrics_create(void)
{
    ul_metrics *m = calloc(1, sizeof *m);
    if (m && pthread_mutex_init(&m->lock, NULL) != 0) {
        free(m);
        m = NULL;
    }
    return m;
}

void ul_metrics_destroy(ul_metrics *m)
{
    if (m) {
        pthread_mutex_destroy(&m->lock);
        free(m);
    }
}

void ul_metrics_set(ul_metrics *m, ul_metric k, uint64_t v)
{
    atomic_store_explicit(&m->v[k], v, memory_order_relaxed);
}

uint64_t ul_metrics_get(const ul_metrics *m, ul_metric k)
{
    return atomic_load_explicit(&m->v[k], memory_order_relaxed);
}

void ul_metrics_commit_latency(ul_metrics *m, uint64_t ms)
{
    size_t b = 0;
    while (b < UL_METRICS_BUCKETS && ms > bucket_ms[b]) {
        b++;
    }
    atomic_fetch_add_explicit(&m->bucket[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->latency_ms_sum, ms, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->latency_count, 1, memory_order_relaxed);
}

/* The table's entry for (route, status), added when there is room; NULL when there is none. */
static http_pair *http_find(ul_metrics *m, const char *route, unsigned status)
{
    for (size_t i = 0; i < m->n_http; i++) {
        if (m->http[i].status == status && strcmp(m->http[i].route, route) == 0) {
            return &m->http[i];
        }
    }
    if (m->n_http == UL_MAX_METRICS_ROUTES) {
        return NULL;
    }
    http_pair *p = &m->http[m->n_http++];
    snprintf(p->route, sizeof p->route, "%s", route);
    p->status = status;
    return p;
}

void ul_metrics_http(ul_metrics *m, const char *route, unsigned status)
{
    if (!route || strlen(route) > UL_MAX_METRICS_ROUTE_LEN) {
        route = "other";
    }
    pthread_mutex_lock(&m->lock);
    http_pair *p = http_find(m, route, status);
    if (!p) {
        p = http_find(m, "other", status);
    }
    if (p) {
        p->count++;
    } else {
        m->http_overflow++; /* not even ("other", status) has room: (other, other) */
    }
    pthread_mutex_unlock(&m->lock);
}

void ul_metrics_http_count(void *m, const char *route, unsigned status)
{
    ul_metrics_http(m, route, status);
}

/* ---- the page ------------------------------------------------------------------------------ */

typedef struct {
    char *p;
    size_t cap, len;
    bool full;
} page;

static void put(page *pg, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(page *pg, const char *fmt, ...)
{
    if (pg->full) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(pg->p + pg->len, pg->cap - pg->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= pg->cap - pg->len) {
        pg->full = true;
        return;
    }
    pg->len += (size_t)n;
}

static void family(page *pg, const char *name, const char *help, const char *type)
{
    put(pg, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value as the format requires: backslash, double quote and newline escaped. */
static void put_label_value(page *pg, const char *v)
{
    for (; *v; v++) {
        if (*v == '\\' || *v == '"') {
            put(pg, "\\%c", *v);
        } else if (*v == '\n') {
            put(pg, "\\n");
        } else {
            put(pg, "%c", *v);
        }
    }
}

static void put_scalars(ul_metrics *m, page *pg)
{
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        const series *s = &table[i];
        if (s->help) {
            family(pg, s->name, s->help, s->type);
        }
        put(pg, "%s%s%s%s %llu\n", s->name, s->labels[0] ? "{" : "", s->labels,
            s->labels[0] ? "}" : "", (unsigned long long)ul_metrics_get(m, s->k));
    }
}

/* Seconds from an integer count of units per second, without floating point's rounding. */
static void put_seconds(page *pg, uint64_t v, uint64_t per_s, int digits)
{
    put(pg, "%llu.%0*llu\n", (unsigned long long)(v / per_s), digits,
        (unsigned long long)(v % per_s));
}

static void put_latency(ul_metrics *m, page *pg)
{
    const char *name = "upledger_commit_latency_seconds";
    family(pg, name, "From the start of a height to its commit.", "histogram");
    uint64_t cum = 0;
    for (size_t b = 0; b <= UL_METRICS_BUCKETS; b++) {
        cum += atomic_load_explicit(&m->bucket[b], memory_order_relaxed);
        if (b < UL_METRICS_BUCKETS) {
            /* As Prometheus's own clients write le (shortest form): "0.01", "1", "2.5". */
            put(pg, "%s_bucket{le=\"%g\"} %llu\n", name, (double)bucket_ms[b] / 1000.0,
                (unsigned long long)cum);
        } else {
            put(pg, "%s_bucket{le=\"+Inf\"} %llu\n", name, (unsigned long long)cum);
        }
    }
    put(pg, "%s_sum ", name);
    put_seconds(pg, atomic_load_explicit(&m->latency_ms_sum, memory_order_relaxed), 1000, 3);
    /* The count after the buckets: never below +Inf's, read before it (writers add the bucket
     * first), so a page stays self-consistent enough for rate(). */
    put(pg, "%s_count %llu\n", name, (unsigned long long)cum);
}

static void put_fsync(ul_metrics *m, page *pg)
{
    const char *name = "upledger_fsync_seconds";
    family(pg, name, "Durable writes (write and fsync), by file.", "summary");
    for (size_t i = 0; i < sizeof fsyncs / sizeof fsyncs[0]; i++) {
        put(pg, "%s_sum{file=\"%s\"} ", name, fsyncs[i].file);
        put_seconds(pg, ul_metrics_get(m, fsyncs[i].ns), 1000000000u, 9);
        put(pg, "%s_count{file=\"%s\"} %llu\n", name, fsyncs[i].file,
            (unsigned long long)ul_metrics_get(m, fsyncs[i].n));
    }
}

static void put_http(ul_metrics *m, page *pg)
{
    const char *name = "upledger_http_requests_total";
    family(pg, name, "HTTP requests answered, by route and status.", "counter");
    pthread_mutex_lock(&m->lock);
    for (size_t i = 0; i < m->n_http; i++) {
        put(pg, "%s{route=\"", name);
        put_label_value(pg, m->http[i].route);
        put(pg, "\",code=\"%u\"} %llu\n", m->http[i].status, (unsigned long long)m->http[i].count);
    }
    if (m->http_overflow) {
        put(pg, "%s{route=\"other\",code=\"other\"} %llu\n", name,
            (unsigned long long)m->http_overflow);
    }
    pthread_mutex_unlock(&m->lock);
}

ul_err ul_metrics_write(ul_metrics *m, char *out, size_t cap, size_t *len)
{
    page pg = {out, cap, 0, cap == 0};
    put_scalars(m, &pg);
    put_latency(m, &pg);
    put_fsync(m, &pg);
    put_http(m, &pg);
    *len = pg.full ? 0 : pg.len;
    return pg.full ? UL_E_LIMIT : UL_OK;
}
