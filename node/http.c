/* The HTTP API's server: libmicrohttpd on its own threads, the node reached through its query
 * endpoint over inproc://, a bounded cache of immutable answers, the explorer's static files. */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <nanomsg/nn.h>
#include <netinet/in.h>

#include "../p2p/ul_p2p.h"
#include "http_int.h"
#include "node.h"

#define INPROC_EP "inproc://upledgerd-http"

typedef struct {
    char key[UL_HTTP_MAX_URL + 64];
    struct MHD_Response *resp; /* NULL: empty */
    char etag[2 * UL_HASH_BYTES + 3];
} cache_slot;

struct ul_http {
    struct MHD_Daemon *d;
    int query_sock, inproc_id;
    pthread_mutex_t pool_mu;
    int socks[UL_HTTP_THREADS];
    bool busy[UL_HTTP_THREADS];
    pthread_mutex_t cache_mu;
    cache_slot cache[UL_HTTP_CACHE_SLOTS];
    char root[PATH_MAX]; /* the explorer's directory, resolved; "" when there is none */
    ul_http_count_fn count;
    void *count_cls;
    bool stopping; /* the node loop has ended (under pool_mu): node requests fail at once */
};

/* ---- options ---- */

bool ul_http_opt(ul_http_cfg *cfg, const char *key, const char *v)
{
    bool http = !strcmp(key, "http");
    char *dst = http ? cfg->addr : cfg->explorer;
    size_t cap = http ? sizeof cfg->addr : sizeof cfg->explorer;
    if (!v || !v[0] || strlen(v) >= cap) {
        ul_node_log("--%s wants %s, not '%s'", key, http ? "HOST:PORT or off" : "a directory",
                    v ? v : "");
        return false;
    }
    memcpy(dst, v, strlen(v) + 1);
    return true;
}

/* "HOST:PORT" (an IPv4 address, or [IPv6]) -> a socket address. */
static bool parse_addr(const char *s, struct sockaddr_storage *ss)
{
    char host[64];
    const char *colon = strrchr(s, ':');
    uint64_t port;
    if (!colon || (size_t)(colon - s) >= sizeof host || colon == s ||
        ul_http_parse_u64(colon + 1, 1, 65535, &port) != UL_OK) {
        return false;
    }
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = 0;
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
    size_t hl = strlen(host);
    if (host[0] == '[' && host[hl - 1] == ']') {
        host[hl - 1] = 0;
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port);
        return inet_pton(AF_INET6, host + 1, &v6->sin6_addr) == 1;
    }
    v4->sin_family = AF_INET;
    v4->sin_port = htons((uint16_t)port);
    return inet_pton(AF_INET, host, &v4->sin_addr) == 1;
}

/* ---- the node ---- */

ul_err ul_http_call(ul_http *h, const ul_msg *req, ul_msg *rep, uint8_t **buf)
{
    int i = 0, sock;
    ul_err e = UL_OK;
    *buf = NULL;
    pthread_mutex_lock(&h->pool_mu);
    while (i < UL_HTTP_THREADS - 1 && h->busy[i]) {
        i++; /* the pool has a socket per server thread: one is free */
    }
    /* Each of MHD's UL_HTTP_THREADS threads asks one thing at a time, so a socket is free; two
     * requests on one REQ socket would take each other's answers. */
    assert(!h->busy[i]);
    h->busy[i] = true;
    if (h->socks[i] < 0 && !h->stopping) {
        e = ul_p2p_connect(&h->socks[i], INPROC_EP, UL_HTTP_NODE_TIMEOUT_MS);
    }
    sock = h->socks[i];
    if (h->stopping) {
        e = UL_E_BUSY; /* the node loop has ended: nobody would answer */
    }
    pthread_mutex_unlock(&h->pool_mu);
    if (e == UL_OK) {
        e = ul_p2p_call(sock, req, rep, buf); /* UL_E_NET once ul_http_stop closed sock */
    }
    pthread_mutex_lock(&h->pool_mu);
    h->busy[i] = false;
    pthread_mutex_unlock(&h->pool_mu);
    return e;
}

/* ---- answers ---- */

unsigned ul_http_status_of(ul_err e)
{
    switch (e) {
    case UL_E_NOT_FOUND:
    case UL_E_NS_UNKNOWN:
    case UL_E_RELEASE_UNKNOWN:
    case UL_E_HEIGHT:
        return MHD_HTTP_NOT_FOUND;
    case UL_E_ARG:
    case UL_E_LIMIT:
    case UL_E_SCHEMA_FIELD:
    case UL_E_CBOR_TYPE:
    case UL_E_NS_NAME:
    case UL_E_HW_CLASS:
    case UL_E_HW_MISMATCH:
    case UL_E_MERKLE_RANGE:
        return MHD_HTTP_BAD_REQUEST;
    case UL_E_TIMEOUT:
    case UL_E_NET:
    case UL_E_BUSY:
    case UL_E_NO_SPACE:
        return MHD_HTTP_SERVICE_UNAVAILABLE;
    default:
        return MHD_HTTP_INTERNAL_SERVER_ERROR;
    }
}

static void set_body(ul_http_out *o, unsigned status, const char *ctype, char *text)
{
    free(o->body);
    o->status = status;
    o->ctype = ctype;
    o->body = (uint8_t *)text;
    o->len = text ? strlen(text) : 0;
}

void ul_http_error(ul_http_out *o, unsigned status, ul_err e, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    for (char *c = msg; *c; c++) { /* a URL's bytes may be anything: JSON wants UTF-8 */
        if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f) {
            *c = '?';
        }
    }
    json_t *v = json_pack("{s:s,s:i,s:s}", "error", msg, "code", (int)e, "name", ul_err_name(e));
    char *text = v ? json_dumps(v, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
    json_decref(v);
    set_body(o, status ? status : ul_http_status_of(e), "application/json", text);
    o->keep = false;
    o->caching = UL_HTTP_NO_CACHE;
}

void ul_http_json(ul_http_out *o, json_t *v)
{
    char *text = v ? ul_json_dumps(v, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
    json_decref(v);
    if (!text) {
        ul_http_error(o, 0, UL_E_NOMEM, "out of memory");
        return;
    }
    set_body(o, MHD_HTTP_OK, "application/json", text);
}

void ul_http_bytes(ul_http_out *o, const char *ctype, const uint8_t *p, size_t len)
{
    uint8_t *b = malloc(len ? len : 1);
    if (!b) {
        ul_http_error(o, 0, UL_E_NOMEM, "out of memory");
        return;
    }
    memcpy(b, p, len);
    free(o->body);
    o->status = MHD_HTTP_OK, o->ctype = ctype, o->body = b, o->len = len;
}

typedef struct {
    const char *const *allowed;
    const char *bad;
} args_check;

static enum MHD_Result check_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                 const char *value)
{
    (void)kind, (void)value;
    args_check *c = cls;
    for (size_t i = 0; c->allowed && c->allowed[i]; i++) {
        if (!strcmp(key, c->allowed[i])) {
            return MHD_YES;
        }
    }
    c->bad = key;
    return MHD_NO;
}

bool ul_http_args_ok(const ul_http_req *r, const char *const *allowed, ul_http_out *o)
{
    args_check c = {allowed, NULL};
    MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, check_arg, &c);
    if (c.bad) {
        ul_http_error(o, MHD_HTTP_BAD_REQUEST, UL_E_ARG, "unknown query parameter '%.64s'", c.bad);
        return false;
    }
    return true;
}

const char *ul_http_arg(const ul_http_req *r, const char *key)
{
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, key);
}

/* ---- the cache of immutable answers ---- */

static size_t slot_of(const char *key)
{
    uint64_t x = 1469598103934665603ULL; /* FNV-1a: spreads URLs over the slots */
    for (const char *p = key; *p; p++) {
        x = (x ^ (uint8_t)*p) * 1099511628211ULL;
    }
    return (size_t)(x % UL_HTTP_CACHE_SLOTS);
}

static bool etag_matches(struct MHD_Connection *conn, const char *etag)
{
    const char *inm = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "If-None-Match");
    return inm && (strstr(inm, etag) != NULL || !strcmp(inm, "*"));
}

static enum MHD_Result queue_304(struct MHD_Connection *conn, const char *etag)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    if (!r) {
        return MHD_NO;
    }
    MHD_add_response_header(r, "ETag", etag);
    enum MHD_Result ok = MHD_queue_response(conn, MHD_HTTP_NOT_MODIFIED, r);
    MHD_destroy_response(r);
    return ok;
}

bool ul_http_cache_serve(const ul_http_req *r, const char *key, ul_http_out *o)
{
    ul_http *h = r->h;
    cache_slot *s = &h->cache[slot_of(key)];
    bool hit = false;
    pthread_mutex_lock(&h->cache_mu);
    if (s->resp && !strcmp(s->key, key)) {
        /* queued under the lock: an eviction cannot free it first (MHD counts references) */
        o->status = etag_matches(r->conn, s->etag) ? MHD_HTTP_NOT_MODIFIED : MHD_HTTP_OK;
        hit = o->status == MHD_HTTP_OK ? MHD_queue_response(r->conn, o->status, s->resp) == MHD_YES
                                       : queue_304(r->conn, s->etag) == MHD_YES;
    }
    pthread_mutex_unlock(&h->cache_mu);
    o->from_cache = hit;
    return hit;
}

static void cache_put(ul_http *h, const char *key, struct MHD_Response *resp, const char *etag)
{
    cache_slot *s = &h->cache[slot_of(key)];
    pthread_mutex_lock(&h->cache_mu);
    if (s->resp) {
        MHD_destroy_response(s->resp); /* freed once no connection still sends it */
    }
    snprintf(s->key, sizeof s->key, "%s", key);
    snprintf(s->etag, sizeof s->etag, "%s", etag);
    s->resp = resp;
    pthread_mutex_unlock(&h->cache_mu);
}

/* ---- the explorer's files ---- */

static const char not_built[] =
    "<!doctype html><meta charset=utf-8><title>upledger node</title>"
    "<h1>upledger node</h1><p>The explorer is not built: <code>make explorer</code> builds it "
    "into build/explorer (or start the node with <code>--explorer DIR</code>).</p>"
    "<p>The HTTP API is at <a href=\"/v1/status\">/v1/status</a>; "
    "see docs/openapi.yaml.</p>\n";

void ul_http_static(const ul_http_req *r, ul_http_out *o)
{
    const char *url = r->url;
    bool index = !strcmp(url, "/") || !strcmp(url, "/explorer") || !strcmp(url, "/explorer/");
    if (r->h->root[0] && index && strcmp(url, "/explorer/")) {
        /* the explorer's files name each other relatively: its index lives at /explorer/ */
        static const char to[] = "/explorer/";
        ul_http_bytes(o, "text/plain; charset=utf-8", (const uint8_t *)to, strlen(to));
        o->status = MHD_HTTP_FOUND;
        o->location = to;
        return;
    }
    const char *rel = index ? "index.html" : url + strlen("/explorer/");
    char copy[UL_HTTP_MAX_URL], path[PATH_MAX + UL_HTTP_MAX_URL], real[PATH_MAX], *seg[32];
    struct stat st;
    if (!r->h->root[0]) {
        if (index) {
            ul_http_bytes(o, "text/html; charset=utf-8", (const uint8_t *)not_built,
                          strlen(not_built));
        } else {
            ul_http_error(o, MHD_HTTP_NOT_FOUND, UL_E_NOT_FOUND, "the explorer is not built");
        }
        return;
    }
    snprintf(copy, sizeof copy, "%s", rel);
    snprintf(path, sizeof path, "%s/%s", r->h->root, rel);
    size_t rl = strlen(r->h->root);
    /* No "..", "." or empty segment, and once symlinks are resolved still inside the root. */
    int fd = -1;
    if (ul_http_split(copy, seg, 32) > 0 && realpath(path, real) &&
        !strncmp(real, r->h->root, rl) && real[rl] == '/') {
        fd = open(real, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    }
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
        st.st_size > UL_HTTP_MAX_STATIC_BYTES) {
        if (fd >= 0) {
            close(fd);
        }
        ul_http_error(o, MHD_HTTP_NOT_FOUND, UL_E_NOT_FOUND, "no such file: /explorer/%.200s", rel);
        return;
    }
    o->status = MHD_HTTP_OK;
    o->ctype = ul_http_content_type(real);
    o->fd = fd;
    o->len = (size_t)st.st_size;
    o->caching = index ? UL_HTTP_NO_CACHE : UL_HTTP_SHORT;
}

/* The explorer's directory: --explorer DIR, else explorer/ next to the binary when it exists. */
static void explorer_root(ul_http *h, const char *dir, const char *exe)
{
    char p[PATH_MAX];
    struct stat st;
    if (dir[0]) {
        snprintf(p, sizeof p, "%s", dir);
    } else {
        ssize_t n = readlink("/proc/self/exe", p, sizeof p - 1);
        p[n > 0 ? n : 0] = 0;
        if (n <= 0) {
            snprintf(p, sizeof p, "%s", exe);
        }
        char *slash = strrchr(p, '/');
        size_t at = slash ? (size_t)(slash - p) : 0;
        snprintf(p + at, sizeof p - at, "%sexplorer", slash ? "/" : "");
    }
    if (!realpath(p, h->root) || stat(h->root, &st) != 0 || !S_ISDIR(st.st_mode)) {
        h->root[0] = 0;
        if (dir[0]) {
            ul_node_logl(UL_LOG_WARN, "--explorer %s: not a directory; / says it is not built",
                         dir);
        }
    }
}

/* ---- requests ---- */

static const char *caching_header(ul_http_caching c)
{
    return c == UL_HTTP_IMMUTABLE ? "public, max-age=31536000, immutable"
           : c == UL_HTTP_SHORT   ? "public, max-age=5"
                                  : "no-cache";
}

static enum MHD_Result finish(const ul_http_req *r, ul_http_out *o)
{
    char etag[2 * UL_HASH_BYTES + 3] = "";
    struct MHD_Response *resp;
    if (o->from_cache) {
        return MHD_YES;
    }
    if (o->fd >= 0) {
        resp = MHD_create_response_from_fd(o->len, o->fd);
    } else {
        if (o->status == MHD_HTTP_OK) { /* a strong ETag: the SHA-256 of the body */
            uint8_t d[UL_HASH_BYTES];
            ul_client_sha256(d, o->body ? o->body : (const uint8_t *)"", o->len);
            etag[0] = '"';
            ul_hex_encode(etag + 1, d, UL_HASH_BYTES);
            etag[1 + 2 * UL_HASH_BYTES] = '"';
            etag[2 + 2 * UL_HASH_BYTES] = 0;
            if (etag_matches(r->conn, etag)) {
                free(o->body);
                o->status = MHD_HTTP_NOT_MODIFIED;
                return queue_304(r->conn, etag);
            }
        }
        resp = MHD_create_response_from_buffer(o->len, o->body, MHD_RESPMEM_MUST_FREE);
        if (!resp) {
            free(o->body);
        }
    }
    if (!resp) {
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, o->ctype);
    /* errors are never cached: what is not there yet (a height, a release) will be */
    MHD_add_response_header(
        resp, MHD_HTTP_HEADER_CACHE_CONTROL,
        caching_header(o->status == MHD_HTTP_OK ? o->caching : UL_HTTP_NO_CACHE));
    MHD_add_response_header(resp, "Access-Control-Allow-Origin", "*");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    if (etag[0]) {
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, etag);
    }
    if (o->location) {
        MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, o->location);
    }
    enum MHD_Result ok = MHD_queue_response(r->conn, o->status, resp);
    if (o->keep && o->status == MHD_HTTP_OK && o->fd < 0 && o->len <= UL_HTTP_CACHE_MAX_BODY) {
        cache_put(r->h, o->cache_key, resp, etag);
    } else {
        MHD_destroy_response(resp);
    }
    return ok;
}

static bool accepts_cbor(struct MHD_Connection *conn)
{
    const char *a = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT);
    return a && strstr(a, "application/cbor") != NULL;
}

/* The whole request line's URI length (+1), kept as the connection's context by MHD. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    (void)cls, (void)conn;
    return (void *)(uintptr_t)(strlen(uri) + 1);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **ctx)
{
    (void)version, (void)upload;
    ul_http_req r = {cls, conn, url, accepts_cbor(conn)};
    ul_http_out o = {.fd = -1, .ctype = "application/json"};
    size_t uri_len = (size_t)(uintptr_t)*ctx;
    if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD)) {
        ul_http_error(&o, MHD_HTTP_METHOD_NOT_ALLOWED, UL_E_ARG,
                      "method %.16s not allowed: the API is read-only (GET, HEAD)", method);
    } else if (uri_len > UL_HTTP_MAX_URL + 1) {
        ul_http_error(&o, MHD_HTTP_URI_TOO_LONG, UL_E_LIMIT, "URL of %zu bytes: at most %d",
                      uri_len - 1, UL_HTTP_MAX_URL);
    } else if (*upload_size) {
        ul_http_error(&o, MHD_HTTP_CONTENT_TOO_LARGE, UL_E_LIMIT, "a GET takes no body");
    } else if (!strcmp(url, "/") || !strncmp(url, "/explorer", 9)) {
        o.route = "/explorer";
        ul_http_static(&r, &o);
    } else {
        ul_http_route(&r, &o);
    }
    enum MHD_Result ok = finish(&r, &o);
    if (r.h->count) {
        r.h->count(r.h->count_cls, o.route ? o.route : "other", o.status);
    }
    return ok;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char line[256];
    vsnprintf(line, sizeof line, fmt, ap);
    line[strcspn(line, "\n")] = 0;
    ul_node_logl(UL_LOG_DEBUG, "http: %s", line);
}

static struct MHD_Daemon *start_daemon(ul_http *h, const struct sockaddr_storage *ss)
{
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
    if (ss->ss_family == AF_INET6) {
        flags |= MHD_USE_IPv6;
    }
    return MHD_start_daemon(flags, 0, NULL, NULL, on_request, h, MHD_OPTION_SOCK_ADDR, ss,
                            MHD_OPTION_THREAD_POOL_SIZE, (unsigned)UL_HTTP_THREADS,
                            MHD_OPTION_CONNECTION_LIMIT, (unsigned)UL_HTTP_MAX_CONNECTIONS,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)UL_HTTP_TIMEOUT_S,
                            MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)UL_HTTP_CONN_MEMORY,
                            MHD_OPTION_URI_LOG_CALLBACK, on_uri, NULL, MHD_OPTION_EXTERNAL_LOGGER,
                            on_mhd_log, NULL, MHD_OPTION_END);
}

ul_err ul_http_start(ul_http **out, const ul_http_cfg *cfg, bool dev, int query_sock,
                     const char *exe)
{
    struct sockaddr_storage ss;
    const char *addr = cfg->addr[0] ? cfg->addr : dev ? UL_HTTP_DEV_ADDR : "off";
    *out = NULL;
    if (!strcmp(addr, "off")) {
        return UL_OK;
    }
    if (!parse_addr(addr, &ss)) {
        ul_node_logl(UL_LOG_ERROR, "--http %s: want HOST:PORT (an IP address, a port 1..65535)",
                     addr);
        return UL_E_CONFIG;
    }
    ul_http *h = calloc(1, sizeof *h);
    if (!h) {
        return UL_E_NOMEM;
    }
    pthread_mutex_init(&h->pool_mu, NULL);
    pthread_mutex_init(&h->cache_mu, NULL);
    for (int i = 0; i < UL_HTTP_THREADS; i++) {
        h->socks[i] = -1;
    }
    h->query_sock = query_sock;
    h->count = cfg->count, h->count_cls = cfg->count_cls;
    explorer_root(h, cfg->explorer, exe);
    h->inproc_id = nn_bind(query_sock, INPROC_EP);
    errno = 0;
    if (h->inproc_id < 0 || !(h->d = start_daemon(h, &ss))) {
        bool in_use = errno == EADDRINUSE;
        ul_node_logl(cfg->addr[0] ? UL_LOG_ERROR : UL_LOG_WARN, "cannot serve HTTP on %s: %s%s",
                     addr, in_use ? "address already in use" : "cannot start the server",
                     cfg->addr[0] ? "" : " (dev node: going on without HTTP; --http HOST:PORT)");
        ul_http_stop(h);
        return cfg->addr[0] ? (in_use ? UL_E_EXISTS : UL_E_NET) : UL_OK;
    }
    ul_node_log("HTTP API on http://%s/ (explorer: %s)", addr, h->root[0] ? h->root : "not built");
    *out = h;
    return UL_OK;
}

bool ul_http_quiesce(ul_http *h)
{
    bool waiting = false;
    if (!h) {
        return false;
    }
    pthread_mutex_lock(&h->pool_mu);
    h->stopping = true;
    for (int i = 0; i < UL_HTTP_THREADS; i++) {
        waiting = waiting || h->busy[i];
    }
    pthread_mutex_unlock(&h->pool_mu);
    return waiting;
}

void ul_http_stop(ul_http *h)
{
    if (!h) {
        return;
    }
    /* Once stopping, no request takes a socket (ul_http_call fails at once), and after
     * ul_http_quiesce reported none waiting, none holds one: they close with nothing in flight. */
    pthread_mutex_lock(&h->pool_mu);
    h->stopping = true;
    for (int i = 0; i < UL_HTTP_THREADS; i++) {
        ul_p2p_close(h->socks[i]);
        h->socks[i] = -1;
    }
    pthread_mutex_unlock(&h->pool_mu);
    if (h->d) {
        MHD_stop_daemon(h->d);
    }
    if (h->inproc_id >= 0) {
        nn_shutdown(h->query_sock, h->inproc_id);
    }
    for (size_t i = 0; i < UL_HTTP_CACHE_SLOTS; i++) {
        if (h->cache[i].resp) {
            MHD_destroy_response(h->cache[i].resp);
        }
    }
    pthread_mutex_destroy(&h->pool_mu);
    pthread_mutex_destroy(&h->cache_mu);
    free(h);
}
