/* node/metrics.c: the Prometheus text page (format 0.0.4) — families with HELP and TYPE once,
 * cumulative histogram buckets with le labels, _sum and _count, escaped label values — the HTTP
 * request table's bounds, and counting from several threads at once. The system test
 * (tests/system/test_metrics.py) parses a live node's page with prometheus_client's parser. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "node/metrics.h"
#include "schema/ul_limits.h"

static char page[UL_MAX_METRICS_BYTES + 1];

/* Renders m into page (NUL-terminated). */
static const char *render(ul_metrics *m)
{
    size_t len = 0;
    assert_int_equal(ul_metrics_write(m, page, UL_MAX_METRICS_BYTES, &len), UL_OK);
    assert_true(len > 0 && len < UL_MAX_METRICS_BYTES);
    page[len] = '\0';
    return page;
}

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle)) {
        n++;
    }
    return n;
}

static void has_line(const char *text, const char *line)
{
    char want[512];
    snprintf(want, sizeof want, "\n%s\n", line);
    if (!strstr(text, want)) {
        fprintf(stderr, "%s", text);
        fail_msg("no line \"%s\" in the page above", line);
    }
}

static void test_families_and_values(void **state)
{
    (void)state;
    ul_metrics *m = ul_metrics_create();
    assert_non_null(m);
    const char *t = render(m);
    /* Every line ends with a newline and the page starts with a family's HELP. */
    assert_int_equal(strncmp(t, "# HELP upledger_height ", 23), 0);
    assert_int_equal(t[strlen(t) - 1], '\n');
    has_line(t, "# TYPE upledger_height gauge");
    has_line(t, "upledger_height 0");
    has_line(t, "# TYPE upledger_txs_committed_total counter");
    /* A labelled family: one HELP and TYPE, one series per reason. */
    assert_int_equal(count(t, "# TYPE upledger_peer_envelopes_dropped_total counter"), 1);
    assert_int_equal(count(t, "# HELP upledger_peer_envelopes_dropped_total"), 1);
    has_line(t, "upledger_peer_envelopes_dropped_total{reason=\"bad_signature\"} 0");
    assert_int_equal(count(t, "upledger_peer_envelopes_dropped_total{reason="), 5);
    /* Every family is typed once. */
    assert_int_equal(count(t, "# TYPE "), count(t, "# HELP "));

    ul_metrics_set(m, UL_M_HEIGHT, 42);
    ul_metrics_set(m, UL_M_DROP_BAD_SIG, 7);
    ul_metrics_set(m, UL_M_FSYNC_STORE_N, 3);
    ul_metrics_set(m, UL_M_FSYNC_STORE_NS, 1500000001);
    assert_int_equal(ul_metrics_get(m, UL_M_HEIGHT), 42);
    t = render(m);
    has_line(t, "upledger_height 42");
    has_line(t, "upledger_peer_envelopes_dropped_total{reason=\"bad_signature\"} 7");
    has_line(t, "upledger_fsync_seconds_sum{file=\"store\"} 1.500000001");
    has_line(t, "upledger_fsync_seconds_count{file=\"store\"} 3");
    has_line(t, "# TYPE upledger_fsync_seconds summary");
    ul_metrics_destroy(m);
    ul_metrics_destroy(NULL);
}

/* Buckets are cumulative, le in the shortest form, +Inf equal to _count, _sum in seconds. */
static void test_histogram(void **state)
{
    (void)state;
    ul_metrics *m = ul_metrics_create();
    ul_metrics_commit_latency(m, 3);
    ul_metrics_commit_latency(m, 5); /* on a bound: counted in it (le is "<=") */
    ul_metrics_commit_latency(m, 7);
    ul_metrics_commit_latency(m, 40000); /* past the last bound: +Inf only */
    const char *t = render(m);
    has_line(t, "# TYPE upledger_commit_latency_seconds histogram");
    has_line(t, "upledger_commit_latency_seconds_bucket{le=\"0.005\"} 2");
    has_line(t, "upledger_commit_latency_seconds_bucket{le=\"0.01\"} 3");
    has_line(t, "upledger_commit_latency_seconds_bucket{le=\"1\"} 3");
    has_line(t, "upledger_commit_latency_seconds_bucket{le=\"2.5\"} 3");
    has_line(t, "upledger_commit_latency_seconds_bucket{le=\"30\"} 3");
    has_line(t, "upledger_commit_latency_seconds_bucket{le=\"+Inf\"} 4");
    has_line(t, "upledger_commit_latency_seconds_sum 40.015");
    has_line(t, "upledger_commit_latency_seconds_count 4");
    assert_int_equal(count(t, "upledger_commit_latency_seconds_bucket{"), UL_METRICS_BUCKETS + 1);
    ul_metrics_destroy(m);
}

/* Label values escape backslash, double quote and newline; the route table is bounded. */
static void test_http_routes(void **state)
{
    (void)state;
    ul_metrics *m = ul_metrics_create();
    ul_metrics_http(m, "/v1/releases/{id}", 200);
    ul_metrics_http(m, "/v1/releases/{id}", 200);
    ul_metrics_http(m, "/v1/releases/{id}", 404);
    ul_metrics_http_count(m, "a\"b\\c\nd", 400); /* the HTTP layer's callback form */
    const char *t = render(m);
    has_line(t, "upledger_http_requests_total{route=\"/v1/releases/{id}\",code=\"200\"} 2");
    has_line(t, "upledger_http_requests_total{route=\"/v1/releases/{id}\",code=\"404\"} 1");
    has_line(t, "upledger_http_requests_total{route=\"a\\\"b\\\\c\\nd\",code=\"400\"} 1");

    char longer[UL_MAX_METRICS_ROUTE_LEN + 2];
    memset(longer, 'x', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    ul_metrics_http(m, longer, 200);
    ul_metrics_http(m, NULL, 200);
    t = render(m);
    has_line(t, "upledger_http_requests_total{route=\"other\",code=\"200\"} 2");
    assert_null(strstr(t, "xxxxxxxx"));

    /* Fill the table with the longest routes, each all quotes (escaping doubles it): pairs past
     * it go to "other", and the page still fits UL_MAX_METRICS_BYTES. */
    char route[UL_MAX_METRICS_ROUTE_LEN + 1];
    for (unsigned i = 0; i < 2 * UL_MAX_METRICS_ROUTES; i++) {
        memset(route, '"', UL_MAX_METRICS_ROUTE_LEN);
        snprintf(route, sizeof route, "%u", i); /* distinct, then quotes to the end */
        route[strlen(route)] = '"';
        route[UL_MAX_METRICS_ROUTE_LEN] = '\0';
        ul_metrics_http(m, route, 500 + i % 100);
    }
    t = render(m);
    assert_int_equal(count(t, "\nupledger_http_requests_total{"), UL_MAX_METRICS_ROUTES + 1);
    /* What was counted before the table filled stays with its route. */
    has_line(t, "upledger_http_requests_total{route=\"/v1/releases/{id}\",code=\"200\"} 2");
    has_line(t, "upledger_http_requests_total{route=\"other\",code=\"200\"} 2");
    /* 4 pairs (other, 200 among them) + 124 quoted routes fill the table; 132 overflow. */
    has_line(t, "upledger_http_requests_total{route=\"other\",code=\"other\"} 132");
    ul_metrics_destroy(m);
}

/* A buffer too small for the page: UL_E_LIMIT and nothing claimed written. */
static void test_too_small(void **state)
{
    (void)state;
    ul_metrics *m = ul_metrics_create();
    char small[256];
    size_t len = 99;
    assert_int_equal(ul_metrics_write(m, small, sizeof small, &len), UL_E_LIMIT);
    assert_int_equal(len, 0);
    assert_int_equal(ul_metrics_write(m, small, 0, &len), UL_E_LIMIT);
    ul_metrics_destroy(m);
}

static void *count_requests(void *arg)
{
    for (int i = 0; i < 20000; i++) {
        ul_metrics_http(arg, i % 2 ? "/v1/status" : "/health", 200);
    }
    return NULL;
}

/* Two threads count while a third renders: no count is lost (run under TSan/ASan too). */
static void test_threads(void **state)
{
    (void)state;
    ul_metrics *m = ul_metrics_create();
    pthread_t a, b;
    assert_int_equal(pthread_create(&a, NULL, count_requests, m), 0);
    assert_int_equal(pthread_create(&b, NULL, count_requests, m), 0);
    for (int i = 0; i < 50; i++) {
        ul_metrics_set(m, UL_M_HEIGHT, (uint64_t)i);
        (void)render(m);
    }
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    const char *t = render(m);
    has_line(t, "upledger_http_requests_total{route=\"/health\",code=\"200\"} 20000");
    has_line(t, "upledger_http_requests_total{route=\"/v1/status\",code=\"200\"} 20000");
    ul_metrics_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_families_and_values),
        cmocka_unit_test(test_histogram),
        cmocka_unit_test(test_http_routes),
        cmocka_unit_test(test_too_small),
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
