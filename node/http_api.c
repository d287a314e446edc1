/* The HTTP API's routing (docs/openapi.yaml): each URL to its route in node/http_chain.c,
 * node/http_releases.c or node/http_proofs.c, after the cache of immutable answers; each request
 * counted by its route's template. */
#include <string.h>

#include "http_int.h"

#define MAX_SEGS 10

/* /v1/namespaces/V/P[/releases | /hw/C/latest] and /v1/bundles/V/P/hw/C/... (seg[2], seg[3] are
 * the namespace's two labels). */
static void namespace_routes(const ul_http_req *r, ul_http_out *o, char **seg, int n)
{
    char ns[UL_MAX_NS_LEN + 2];
    bool bundles = !strcmp(seg[1], "bundles");
    bool hw_ok = n <= 5 || strlen(seg[5]) <= UL_MAX_LABEL_LEN;
    for (const char *c = n > 5 ? seg[5] : ""; *c; c++) {
        hw_ok = hw_ok && *c >= 0x20 && *c < 0x7f; /* a label: printable ASCII */
    }
    if ((size_t)snprintf(ns, sizeof ns, "%s/%s", seg[2], seg[3]) > UL_MAX_NS_LEN ||
        ul_schema_ns_check(ul_span_str(ns)) != UL_OK) {
        ul_http_error(o, MHD_HTTP_BAD_REQUEST, UL_E_NS_NAME,
                      "namespace: want VENDOR/PRODUCT, [a-z0-9._-] each, at most %d bytes",
                      UL_MAX_NS_LEN);
    } else if (n > 5 && strcmp(seg[4], "hw")) {
        ul_http_error(o, MHD_HTTP_NOT_FOUND, UL_E_NOT_FOUND, "no such route");
    } else if (!hw_ok) {
        ul_http_error(o, MHD_HTTP_BAD_REQUEST, UL_E_HW_CLASS,
                      "hardware class: 1..%d printable ASCII bytes", UL_MAX_LABEL_LEN);
    } else if (!bundles && n == 4 && ul_http_args_ok(r, ul_http_no_args, o)) {
        ul_http_h_namespace(r, o, ns);
    } else if (!bundles && n == 5 && !strcmp(seg[4], "releases")) {
        ul_http_h_releases(r, o, ns);
    } else if (!bundles && n == 7 && !strcmp(seg[6], "latest") &&
               ul_http_args_ok(r, ul_http_no_args, o)) {
        ul_http_h_latest(r, o, ns, seg[5]);
    } else if (bundles && n == 7 && !strcmp(seg[6], "latest.cbor") &&
               ul_http_args_ok(r, ul_http_no_args, o)) {
        ul_http_h_bundle_latest(r, o, ns, seg[5]);
    } else if (bundles && n == 9 && !strcmp(seg[6], "releases") &&
               ul_http_args_ok(r, ul_http_no_args, o)) {
        ul_http_h_bundle_at(r, o, ns, seg[5], seg[7], seg[8]);
    } else if (o->status == 0) {
        ul_http_error(o, MHD_HTTP_NOT_FOUND, UL_E_NOT_FOUND, "no such route");
    }
}

static void route_v1(const ul_http_req *r, ul_http_out *o, char **seg, int n)
{
    const char *what = n >= 2 ? seg[1] : "";
    if (n == 2 && !strcmp(what, "status")) {
        ul_http_h_status(r, o);
    } else if (n == 2 && (!strcmp(what, "genesis") || !strcmp(what, "genesis.cbor"))) {
        if (ul_http_args_ok(r, ul_http_no_args, o)) {
            ul_http_h_genesis(r, o, r->cbor || !strcmp(what, "genesis.cbor"));
        }
    } else if (n == 3 && !strcmp(what, "blocks") && ul_http_args_ok(r, ul_http_no_args, o)) {
        ul_http_h_block(r, o, seg[2]);
    } else if (n == 3 && !strcmp(what, "releases") && ul_http_args_ok(r, ul_http_no_args, o)) {
        ul_http_h_release(r, o, seg[2]);
    } else if (n >= 4 && (!strcmp(what, "namespaces") || !strcmp(what, "bundles"))) {
        namespace_routes(r, o, seg, n);
    } else if (n == 2 && !strcmp(what, "search")) {
        ul_http_h_search(r, o);
    } else if (n == 4 && !strcmp(what, "proofs") && !strcmp(seg[2], "inclusion")) {
        ul_http_h_inclusion(r, o, seg[3]);
    } else if (n == 3 && !strcmp(what, "proofs") && !strcmp(seg[2], "consistency")) {
        ul_http_h_consistency(r, o);
    } else if (n == 2 && !strcmp(what, "validators")) {
        ul_http_h_validators(r, o);
    } else if (n == 2 && !strcmp(what, "evidence")) {
        ul_http_h_evidence(r, o);
    } else if (o->status == 0) {
        ul_http_error(o, MHD_HTTP_NOT_FOUND, UL_E_NOT_FOUND, "no such route: %.200s", r->url);
    }
}

/* Answers whose bytes never change once given (a committed height's block, the genesis) are
 * looked up in the cache first, when the request has no query parameters to check. */
static bool cached_route(const ul_http_req *r, ul_http_out *o, char **seg, int n)
{
    bool immutable =
        n >= 2 && !strcmp(seg[0], "v1") &&
        ((n == 3 && !strcmp(seg[1], "blocks")) || (n == 2 && !strncmp(seg[1], "genesis", 7)) ||
         (n == 9 && !strcmp(seg[1], "bundles") && !strcmp(seg[6], "releases")));
    if (!immutable) {
        return false;
    }
    snprintf(o->cache_key, sizeof o->cache_key, "%c%s", r->cbor ? 'c' : 'j', r->url);
    return MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, NULL, NULL) == 0 &&
           ul_http_cache_serve(r, o->cache_key, o);
}

/* The route's template, for counting requests by route ("*" matches one segment). */
static const char *route_template(char **seg, int n)
{
    static const struct {
        int n;
        const char *pat[9];
        const char *name;
    } routes[] = {
        {1, {"health"}, "/health"},
        {1, {"metrics"}, "/metrics"},
        {2, {"v1", "status"}, "/v1/status"},
        {2, {"v1", "genesis"}, "/v1/genesis"},
        {2, {"v1", "genesis.cbor"}, "/v1/genesis.cbor"},
        {3, {"v1", "blocks", "*"}, "/v1/blocks/{height}"},
        {3, {"v1", "releases", "*"}, "/v1/releases/{id}"},
        {4, {"v1", "namespaces", "*", "*"}, "/v1/namespaces/{vendor}/{product}"},
        {5,
         {"v1", "namespaces", "*", "*", "releases"},
         "/v1/namespaces/{vendor}/{product}/releases"},
        {7,
         {"v1", "namespaces", "*", "*", "hw", "*", "latest"},
         "/v1/namespaces/{vendor}/{product}/hw/{class}/latest"},
        {2, {"v1", "search"}, "/v1/search"},
        {4, {"v1", "proofs", "inclusion", "*"}, "/v1/proofs/inclusion/{id}"},
        {3, {"v1", "proofs", "consistency"}, "/v1/proofs/consistency"},
        {7,
         {"v1", "bundles", "*", "*", "hw", "*", "latest.cbor"},
         "/v1/bundles/{vendor}/{product}/hw/{class}/latest.cbor"},
        {9,
         {"v1", "bundles", "*", "*", "hw", "*", "releases", "*", "*"},
         "/v1/bundles/{vendor}/{product}/hw/{class}/releases/{id}/{height}.cbor"},
        {2, {"v1", "validators"}, "/v1/validators"},
        {2, {"v1", "evidence"}, "/v1/evidence"},
    };
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        int k = 0;
        while (routes[i].n == n && k < n &&
               (!strcmp(routes[i].pat[k], "*") || !strcmp(routes[i].pat[k], seg[k]))) {
            k++;
        }
        if (routes[i].n == n && k == n) {
            return routes[i].name;
        }
    }
    return "other";
}

void ul_http_route(const ul_http_req *r, ul_http_out *o)
{
    char path[UL_HTTP_MAX_URL], *seg[MAX_SEGS];
    int n = -1;
    if (strlen(r->url) < sizeof path) {
        snprintf(path, sizeof path, "%s", r->url + 1);
        n = ul_http_split(path, seg, MAX_SEGS);
    }
    o->route = n > 0 ? route_template(seg, n) : "other";
    if (n == 1 && !strcmp(seg[0], "health")) {
        ul_http_h_health(r, o);
    } else if (n == 1 && !strcmp(seg[0], "metrics")) {
        ul_http_h_metrics(r, o);
    } else if (n >= 2 && !strcmp(seg[0], "v1")) {
        if (!cached_route(r, o, seg, n)) {
            route_v1(r, o, seg, n);
        }
    } else {
        ul_http_error(o, MHD_HTTP_NOT_FOUND, UL_E_NOT_FOUND, "no such route: %.200s", r->url);
    }
}
