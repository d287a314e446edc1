/* upledgerd's metrics (node-internal): the figures an operator's monitoring scrapes, kept in one
 * place and rendered in the Prometheus text exposition format 0.0.4 (ul_metrics_write).
 *
 * Threads: the node thread writes every figure (ul_metrics_set, ul_metrics_observe, each a
 * relaxed atomic store or add, no lock); the HTTP layer may count its requests
 * (ul_metrics_http, under a mutex: a request costs far more) and render the page from its own
 * threads. A page is not a consistent snapshot across figures, as with any Prometheus client:
 * each value is one the node wrote. */
#ifndef UL_NODE_METRICS_H
#define UL_NODE_METRICS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "../schema/ul_err.h"

/* The single-valued figures, one a series. Names, help and types: the table in node/metrics.c
 * (README "Metrics" lists them). */
typedef enum {
    UL_M_HEIGHT,           /* gauge: the committed head */
    UL_M_ROUND,            /* gauge: consensus round of the height being decided */
    UL_M_LOG_SIZE,         /* gauge: releases in the release log */
    UL_M_TXS_POOLED,       /* gauge */
    UL_M_TXS_COMMITTED,    /* counter: txs of the blocks committed since start */
    UL_M_PEERS,            /* gauge: peers this node sends to */
    UL_M_PEERS_CONNECTED,  /* gauge: of which nanomsg holds a live connection */
    UL_M_ENV_SENT,         /* counter: envelopes handed to nanomsg */
    UL_M_ENV_RECEIVED,     /* counter: valid envelopes received */
    UL_M_DROP_SEND,        /* counter: envelopes dropped, by reason: a peer's queue full */
    UL_M_DROP_MALFORMED,   /* ... not a canonical envelope */
    UL_M_DROP_OVERSIZED,   /* ... too large */
    UL_M_DROP_BAD_SIG,     /* ... signature does not verify */
    UL_M_DROP_UNKNOWN,     /* ... sender outside the validator set */
    UL_M_SYNC_TARGET,      /* gauge: block sync's target (highest trusted claimed head) */
    UL_M_SYNC_BEHIND,      /* gauge: target - height, 0 when not behind */
    UL_M_STORE_BYTES,      /* gauge: LevelDB's approximate size */
    UL_M_STORE_DISK_BYTES, /* gauge: the database directory's files */
    UL_M_SIG_VERIFY,       /* counter: signature verifications */
    UL_M_SIGNED,           /* counter: votes and proposals this validator signed */
    UL_M_FSYNC_STORE_N,    /* summary: the store's synced writes (count), */
    UL_M_FSYNC_STORE_NS,   /* ... and their time (ns) */
    UL_M_FSYNC_SIGN_N,     /* summary: sign state file writes (count), */
    UL_M_FSYNC_SIGN_NS,    /* ... and their time (ns) */
    UL_M_COUNT_
} ul_metric;

/* Upper bounds of the commit-latency buckets, in milliseconds (then +Inf): a lone node commits
 * in a few ms, a consortium over a WAN in hundreds, a stalled round in its timeouts (seconds). */
#define UL_METRICS_BUCKETS 12
#define UL_METRICS_BUCKET_MS                                                                       \
    {                                                                                              \
        5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000                               \
    }

typedef struct ul_metrics ul_metrics;

/* Returns: new metrics, every figure 0, or NULL (out of memory). */
ul_metrics *ul_metrics_create(void);
void ul_metrics_destroy(ul_metrics *m); /* accepts NULL */

/* Sets figure k (a gauge, or a counter the node keeps elsewhere and copies here). */
void ul_metrics_set(ul_metrics *m, ul_metric k, uint64_t v);
uint64_t ul_metrics_get(const ul_metrics *m, ul_metric k);
/* Counts one block's commit latency: from the start of its height to its commit, in ms. */
void ul_metrics_commit_latency(ul_metrics *m, uint64_t ms);

/* Counts one HTTP request answered with status on route, the route's template (for example
 * "/v1/releases/{id}", never the raw URL: every distinct string is a series). Thread-safe. A
 * route longer than UL_MAX_METRICS_ROUTE_LEN (or NULL), or a pair past UL_MAX_METRICS_ROUTES,
 * is counted under route "other" with its status, and once even that has no room, under
 * route "other", code "other". */
void ul_metrics_http(ul_metrics *m, const char *route, unsigned status);
/* ul_metrics_http with m as a void *: the HTTP layer's request counter callback (node/http.h's
 * ul_http_count_fn, with count_cls = the node's ul_metrics). */
void ul_metrics_http_count(void *m, const char *route, unsigned status);

/* Renders every figure in the Prometheus text format 0.0.4 (HELP and TYPE lines; histogram
 * buckets cumulative with le labels, _sum and _count; label values escaped). Thread-safe.
 * Returns: UL_OK; UL_E_LIMIT when the page needs more than cap bytes (UL_MAX_METRICS_BYTES is
 * always enough).
 * Out:     out[*len], not NUL-terminated (a NUL follows when there is room). */
ul_err ul_metrics_write(ul_metrics *m, char *out, size_t cap, size_t *len);

#endif
