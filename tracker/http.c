/* The tracker's HTTP(S) API over libmicrohttpd (TLS through its GnuTLS support): devices POST
 * signed reports to /v1/reports, downstream trackers summaries to /v1/summaries; operators read
 * /v1/devices, /v1/devices/{key}, /v1/summary and the fleet page at /. Every refusal is a 4xx
 * (503 when the store fails) with {"error": "UL_E_...", "code": N, "message": "..."}. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>
#include <sodium.h>

#include "../ledger/ul_ledger.h"
#include "internal.h"

struct ul_thttp {
    struct MHD_Daemon *d;
    ul_tracker_state *t;
    char *cert, *key; /* PEM, kept while the daemon runs */
};

/* A POST body being received: bounded by max (a report's or a summary's largest); past it, the
 * rest is read and dropped and the request refused with UL_E_LIMIT. */
typedef struct {
    uint8_t *buf;
    size_t len, cap, max;
    bool oversized;
} upload;

static enum MHD_Result send_body(struct MHD_Connection *c, unsigned status, const char *type,
                                 const void *p, size_t n)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(n, (void *)(uintptr_t)p, MHD_RESPMEM_MUST_COPY);
    if (!r) {
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    enum MHD_Result ok = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ok;
}

static enum MHD_Result send_json(struct MHD_Connection *c, unsigned status, json_t *v)
{
    char *s = v ? json_dumps(v, JSON_COMPACT) : NULL;
    json_decref(v);
    if (!s) {
        return send_body(c, 500, "application/json", "{}", 2);
    }
    enum MHD_Result ok = send_body(c, status, "application/json", s, strlen(s));
    free(s);
    return ok;
}

static unsigned status_of(ul_err e)
{
    switch (e) {
    case UL_E_LIMIT:
        return 413;
    case UL_E_UNENROLLED:
    case UL_E_SIG:
    case UL_E_KEY:
    case UL_E_TRACKER:
        return 403;
    case UL_E_REPORT_REPLAY:
        return 409;
    case UL_E_NOT_FOUND:
        return 404;
    case UL_E_IO:
    case UL_E_NO_SPACE:
    case UL_E_LOCKED:
    case UL_E_NOMEM:
    case UL_E_INTERNAL:
        return 503; /* not stored: the device sends it again */
    default:
        return 400;
    }
}

static enum MHD_Result send_err(struct MHD_Connection *c, ul_err e, const char *what)
{
    json_t *v = json_pack("{s:s, s:i, s:s}", "error", ul_err_name(e), "code", (int)e, "message",
                          what ? what : ul_err_str(e));
    return send_json(c, status_of(e), v);
}

ul_tstore *ul_tracker_read_begin(ul_tracker_state *t)
{
    pthread_mutex_lock(t->reader ? &t->read_mu : &t->mu);
    return t->reader ? t->reader : t->store;
}

void ul_tracker_read_end(ul_tracker_state *t)
{
    pthread_mutex_unlock(t->reader ? &t->read_mu : &t->mu);
}

static enum MHD_Result post_report(ul_thttp *h, struct MHD_Connection *c, upload *u, bool summary)
{
    uint8_t answer[UL_MAX_REPLY_BYTES];
    size_t alen = 0;
    const char *type = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
    if (!type || strncmp(type, "application/cbor", 16) != 0) {
        return send_err(c, UL_E_ARG, "reports and summaries are application/cbor");
    }
    if (u->oversized) {
        return send_err(c, UL_E_LIMIT,
                        summary ? "body is larger than the largest summary (UL_MAX_SUMMARY_BYTES)"
                                : "body is larger than the largest report (UL_MAX_REPORT_BYTES)");
    }
    ul_err e = summary ? ul_tsummary_accept(h->t, u->buf, u->len)
                       : ul_tracker_ingest(h->t, u->buf, u->len, answer, sizeof(answer), &alen);
    if (e != UL_OK) {
        return send_err(c, e, NULL);
    }
    return summary ? send_body(c, 200, "application/json", "{\"accepted\":true}", 17)
                   : send_body(c, 200, "application/cbor", answer, alen);
}

/* A query argument as a number (absent: dflt). Returns: false for one that is no number. */
static bool arg_u64(struct MHD_Connection *c, const char *name, uint64_t dflt, uint64_t *out)
{
    const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, name);
    char *end;
    *out = dflt;
    if (!v) {
        return true;
    }
    errno = 0;
    *out = strtoull(v, &end, 10);
    return *v >= '0' && *v <= '9' && *end == 0 && errno == 0;
}

static enum MHD_Result get_devices(ul_thttp *h, struct MHD_Connection *c)
{
    const char *st = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "status");
    ul_tquery q = {.ns = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "ns"),
                   .group = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "group"),
                   .hw = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "hw"),
                   .now_ms = ul_tracker_now_ms()};
    uint64_t after, limit;
    if (!st || !ul_tstatus_parse(st, &q.status)) {
        return send_err(
            c, UL_E_ARG,
            "status must be up_to_date, outdated, failing, vulnerable, silent or unknown");
    }
    if (!arg_u64(c, "after", 0, &after) || after > INT64_MAX || !arg_u64(c, "limit", 100, &limit)) {
        return send_err(c, UL_E_ARG, "after and limit are decimal numbers");
    }
    if (limit == 0 || limit > UL_MAX_TRACKER_PAGE) {
        return send_err(c, UL_E_LIMIT, "limit is 1..1000 (UL_MAX_TRACKER_PAGE)");
    }
    q.after = (int64_t)after;
    q.limit = (size_t)limit;
    json_t *v = NULL;
    ul_err e = ul_tjson_list(ul_tracker_read_begin(h->t), &q, &v);
    ul_tracker_read_end(h->t);
    return e == UL_OK ? send_json(c, 200, v) : send_err(c, e, NULL);
}

static enum MHD_Result get_device(ul_thttp *h, struct MHD_Connection *c, const char *hex)
{
    uint8_t key[UL_PUBKEY_BYTES];
    json_t *v = NULL;
    if (ul_hex_decode(key, sizeof(key), hex) != UL_OK) {
        return send_err(c, UL_E_ARG, "a device key is 64 hex digits");
    }
    ul_err e = ul_tjson_device_history(ul_tracker_read_begin(h->t), key, ul_tracker_now_ms(), &v);
    ul_tracker_read_end(h->t);
    return e == UL_OK ? send_json(c, 200, v) : send_err(c, e, NULL);
}

static enum MHD_Result get_summary(ul_thttp *h, struct MHD_Connection *c)
{
    json_t *v = NULL;
    ul_err e = ul_tjson_summary(ul_tracker_read_begin(h->t), ul_tracker_now_ms(), &v);
    ul_tracker_read_end(h->t);
    pthread_mutex_lock(&h->t->mu);
    if (e == UL_OK) {
        json_object_set_new(v, "reports_accepted", json_integer((json_int_t)h->t->accepted));
        json_object_set_new(v, "reports_refused", json_integer((json_int_t)h->t->refused));
    }
    pthread_mutex_unlock(&h->t->mu);
    return e == UL_OK ? send_json(c, 200, v) : send_err(c, e, NULL);
}

/* Takes a chunk of a POST body into u (dropping what passes the bound). */
static void take(upload *u, const char *data, size_t n)
{
    size_t max = u->max;
    if (u->oversized || u->len + n > max) {
        u->oversized = true;
        return;
    }
    if (u->len + n > u->cap) {
        size_t cap = u->len + n > 4096 ? max : 4096;
        cap = cap > u->len + n ? cap : u->len + n;
        uint8_t *b = realloc(u->buf, cap);
        if (!b) {
            u->oversized = true;
            return;
        }
        u->buf = b;
        u->cap = cap;
    }
    memcpy(u->buf + u->len, data, n);
    u->len += n;
}

static enum MHD_Result route(void *cls, struct MHD_Connection *c, const char *url,
                             const char *method, const char *version, const char *data,
                             size_t *data_len, void **con_cls)
{
    ul_thttp *h = cls;
    bool post = strcmp(method, "POST") == 0;
    if (post && !*con_cls) {
        size_t max =
            strcmp(url, "/v1/summaries") == 0 ? UL_MAX_SUMMARY_BYTES : ul_treport_max_bytes();
        const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
        /* A body far past the bound is refused before a byte of it is read (an honest client
         * then reads the 413; a hostile one has its connection closed); one a little past it is
         * read and dropped, so the client surely sees the answer. */
        if (cl && strtoull(cl, NULL, 10) / 16 > max) {
            return send_err(c, UL_E_LIMIT, "body is larger than the largest report or summary");
        }
        upload *u = calloc(1, sizeof(upload));
        if (u) {
            u->max = max;
        }
        *con_cls = u;
        return u ? MHD_YES : MHD_NO;
    }
    if (post && *data_len) {
        take(*con_cls, data, *data_len);
        *data_len = 0;
        return MHD_YES;
    }
    if (post) {
        if (strcmp(url, "/v1/reports") == 0 || strcmp(url, "/v1/summaries") == 0) {
            return post_report(h, c, *con_cls, url[4] == 's');
        }
        return send_err(c, UL_E_NOT_FOUND, "no such resource");
    }
    if (strcmp(method, "GET") != 0) {
        return send_err(c, UL_E_ARG, "only GET and POST");
    }
    if (strcmp(url, "/") == 0) {
        size_t n;
        const char *page = ul_tracker_page_get(&n);
        return send_body(c, 200, "text/html; charset=utf-8", page, n);
    }
    if (strcmp(url, "/v1/devices") == 0) {
        return get_devices(h, c);
    }
    if (strncmp(url, "/v1/devices/", 12) == 0) {
        return get_device(h, c, url + 12);
    }
    if (strcmp(url, "/v1/summary") == 0) {
        return get_summary(h, c);
    }
    return send_err(c, UL_E_NOT_FOUND, "no such resource");
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
    upload *u = *con_cls;
    if (u) {
        free(u->buf);
        free(u);
        *con_cls = NULL;
    }
}

/* A PEM file, read whole (certificates and keys are a few KiB). */
static char *read_pem(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf = f ? calloc(1, 64 * 1024 + 1) : NULL;
    size_t n = buf ? fread(buf, 1, 64 * 1024, f) : 0;
    if (f) {
        fclose(f);
    }
    if (buf && n == 0) {
        free(buf);
        buf = NULL;
    }
    return buf;
}

ul_err ul_thttp_start(ul_thttp **out, ul_tracker_state *t, const ul_thttp_opts *o, char *errmsg,
                      size_t cap)
{
    ul_thttp *h = calloc(1, sizeof(*h));
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)o->port)};
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL;
    if (!h) {
        return UL_E_NOMEM;
    }
    h->t = t;
    if (inet_pton(AF_INET, o->listen_addr, &sa.sin_addr) != 1) {
        snprintf(errmsg, cap, "--listen %s: not an IPv4 address", o->listen_addr);
        free(h);
        return UL_E_ARG;
    }
    if (o->tls_cert) {
        h->cert = read_pem(o->tls_cert);
        h->key = read_pem(o->tls_key);
        if (!h->cert || !h->key) {
            snprintf(errmsg, cap, "%s: cannot be read", !h->cert ? o->tls_cert : o->tls_key);
            ul_thttp_stop(h);
            return UL_E_IO;
        }
        flags |= MHD_USE_TLS;
    }
    h->d = MHD_start_daemon(
        flags, 0, NULL, NULL, route, h, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
        MHD_OPTION_THREAD_POOL_SIZE, o->threads ? o->threads : UL_TRACKER_HTTP_THREADS,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)UL_MAX_TRACKER_CONNECTIONS,
        MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
        o->tls_cert ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, h->cert, MHD_OPTION_HTTPS_MEM_KEY,
        h->key, MHD_OPTION_END);
    if (!h->d) {
        snprintf(errmsg, cap, "cannot serve on %s:%u (in use, or the TLS files are no PEM)",
                 o->listen_addr, o->port);
        ul_thttp_stop(h);
        return UL_E_NET;
    }
    *out = h;
    return UL_OK;
}

void ul_thttp_stop(ul_thttp *h)
{
    if (!h) {
        return;
    }
    if (h->d) {
        MHD_stop_daemon(h->d);
    }
    if (h->key) {
        sodium_memzero(h->key, strlen(h->key));
    }
    free(h->cert);
    free(h->key);
    free(h);
}
