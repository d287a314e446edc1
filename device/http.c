/* upledger-device HTTP: one GET (or, to its tracker, one POST) at a time through libcurl, bounded
 * in time, saying nothing about the device: the URL holds only namespace, class or public image
 * digest, the request carries a fixed User-Agent and Host and no other header, no cookies, no query
 * string, no redirects. file:// mirrors (a USB stick, a recovery partition) go through the same
 * path. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "device.h"

typedef struct {
    CURL *curl;
    ul_dev_body_fn fn;
    void *arg;
    ul_err err; /* why the body callback stopped the transfer */
    long status;
    bool file; /* a file:// URL: no HTTP status, a read that worked is the whole body */
} get_ctx;

static bool answered(const get_ctx *g)
{
    return g->file || g->status == 200;
}

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
    get_ctx *g = arg;
    /* FAILONERROR drops bodies of 4xx/5xx; anything else but 200 (a 3xx we do not follow, a
     * 204) is no bundle or image either: stop before a byte reaches the verifier. */
    curl_easy_getinfo(g->curl, CURLINFO_RESPONSE_CODE, &g->status);
    if (!answered(g)) {
        g->err = UL_E_NET;
        return 0;
    }
    g->err = g->fn(g->arg, (const uint8_t *)p, size * n);
    return g->err == UL_OK ? size * n : 0;
}

ul_err ul_dev_http_init(void)
{
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? UL_OK : UL_E_INTERNAL;
}

void ul_dev_http_cleanup(void)
{
    curl_global_cleanup();
}

static void set_options(CURL *c, struct curl_slist *hdrs, long timeout_s, long max_s)
{
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https,file");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "upledger-device");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, timeout_s);
    /* Less than 1 byte/s for timeout_s seconds: a stalled mirror, whatever the total. */
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, timeout_s);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, max_s);
}

static ul_err map_result(CURLcode rc, const get_ctx *g, const char *errbuf, char *msg, size_t cap)
{
    if (rc == CURLE_OK && answered(g)) {
        return UL_OK;
    }
    if (rc == CURLE_WRITE_ERROR && g->err != UL_OK && g->err != UL_E_NET) {
        snprintf(msg, cap, "%s", ul_err_str(g->err));
        return g->err; /* the verifier (or the slot) refused the bytes */
    }
    if (rc == CURLE_OK || rc == CURLE_HTTP_RETURNED_ERROR || g->err == UL_E_NET) {
        snprintf(msg, cap, "HTTP status %ld", g->status);
        return UL_E_NET;
    }
    if (rc == CURLE_OPERATION_TIMEDOUT) {
        snprintf(msg, cap, "no progress within the time bound (%s)",
                 errbuf[0] ? errbuf : curl_easy_strerror(rc));
        return UL_E_TIMEOUT;
    }
    snprintf(msg, cap, "%s", errbuf[0] ? errbuf : curl_easy_strerror(rc));
    return UL_E_NET;
}

/* Runs the transfer set up on g->curl, the body going to g->fn. */
static ul_err perform(get_ctx *g, const char *url, char *msg, size_t cap)
{
    char errbuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(g->curl, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(g->curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(g->curl, CURLOPT_WRITEDATA, g);
    if (curl_easy_setopt(g->curl, CURLOPT_URL, url) != CURLE_OK) {
        snprintf(msg, cap, "invalid URL");
        return UL_E_ARG;
    }
    CURLcode rc = curl_easy_perform(g->curl);
    curl_easy_getinfo(g->curl, CURLINFO_RESPONSE_CODE, &g->status);
    ul_err e = map_result(rc, g, errbuf, msg, cap);
    curl_easy_setopt(g->curl, CURLOPT_ERRORBUFFER, NULL); /* errbuf goes out of scope */
    return e;
}

ul_err ul_dev_http_get(const char *url, long timeout_s, long max_s, ul_dev_body_fn fn, void *arg,
                       char *msg, size_t cap)
{
    get_ctx g = {.fn = fn, .arg = arg, .err = UL_OK, .file = !strncasecmp(url, "file:", 5)};
    /* "Accept:" with no value removes curl's default Accept header. */
    struct curl_slist *hdrs = curl_slist_append(NULL, "Accept:");
    ul_err e = UL_E_NOMEM;
    snprintf(msg, cap, "out of memory");
    g.curl = curl_easy_init();
    if (!g.curl || !hdrs) {
        goto out;
    }
    set_options(g.curl, hdrs, timeout_s, max_s);
    e = perform(&g, url, msg, cap);
out:
    curl_easy_cleanup(g.curl);
    curl_slist_free_all(hdrs);
    return e;
}

ul_err ul_dev_http_post(const char *url, const uint8_t *body, size_t len, long max_s,
                        ul_dev_body_fn fn, void *arg, char *msg, size_t cap)
{
    get_ctx g = {.fn = fn, .arg = arg, .err = UL_OK};
    struct curl_slist *hdrs = curl_slist_append(NULL, "Content-Type: application/cbor");
    hdrs = hdrs ? curl_slist_append(hdrs, "Accept: application/cbor") : NULL;
    ul_err e = UL_E_NOMEM;
    snprintf(msg, cap, "out of memory");
    g.curl = curl_easy_init();
    if (!g.curl || !hdrs) {
        goto out;
    }
    /* The whole exchange within max_s: a slow tracker never holds the device longer. */
    set_options(g.curl, hdrs, max_s, max_s);
    curl_easy_setopt(g.curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(g.curl, CURLOPT_POSTFIELDS, (const char *)body);
    curl_easy_setopt(g.curl, CURLOPT_POSTFIELDSIZE, (long)len);
    e = perform(&g, url, msg, cap);
out:
    curl_easy_cleanup(g.curl);
    curl_slist_free_all(hdrs);
    return e;
}

void ul_dev_url_segment(char *out, size_t cap, const uint8_t *label, size_t len)
{
    size_t o = strlen(out);
    for (size_t i = 0; i < len && o + 6 < cap; i++) {
        char c = (char)label[i];
        bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || (c == '.' && i > 0);
        /* export writes "%XX" into the file name; in a URL that '%' is itself "%25". */
        o += keep ? (size_t)snprintf(out + o, cap - o, "%c", c)
                  : (size_t)snprintf(out + o, cap - o, "%%25%02X", (unsigned char)c);
    }
    out[o] = 0;
}
