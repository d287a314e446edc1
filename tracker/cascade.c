/* Cascading trackers (X.1368 8.2.3, issue 13 item 5): a tracker sends its upstream a signed
 * summary — counts per (namespace, class, release, status) of its own fleet and of everything
 * below it, no device identities — and an upstream takes summaries only from trackers it
 * enrolled by key, for itself, with a counter above the last. Between them HTTPS with the
 * upstream's certificate pinned (the only one the sender trusts). */
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "../client/ul_client.h"
#include "internal.h"

/* The fleet's counts, gathered for one summary (at most UL_MAX_SUMMARY_ENTRIES). */
typedef struct {
    ul_tcount *c;
    size_t n;
} gathered;

static ul_err gather(void *ctx, const ul_tcount *c)
{
    gathered *g = ctx;
    if (g->n == UL_MAX_SUMMARY_ENTRIES) {
        return UL_E_LIMIT;
    }
    g->c[g->n++] = *c;
    return UL_OK;
}

/* Encodes and signs the summary of g (sorted as the codec wants) into out[cap]. */
static ul_err encode_summary(const ul_tident *id, const uint8_t to32[32], uint64_t counter,
                             const gathered *g, uint8_t *out, size_t cap, size_t *len)
{
    ul_summary_entry *e = calloc(g->n ? g->n : 1, sizeof(*e));
    ul_summary s = {.counter = counter, .time = ul_tracker_now_ms() / 1000, .n_entries = g->n};
    if (!e) {
        return UL_E_NOMEM;
    }
    for (size_t i = 0; i < g->n; i++) {
        const ul_tcount *c = &g->c[i];
        e[i] = (ul_summary_entry){.ns = {(const uint8_t *)c->ns, strlen(c->ns)},
                                  .hw = {(const uint8_t *)c->hw, strlen(c->hw)},
                                  .status = c->status,
                                  .count = c->count};
        memcpy(e[i].release_id, c->release_id, UL_HASH_BYTES);
    }
    qsort(e, g->n, sizeof(*e), ul_schema_summary_entry_cmp);
    memcpy(s.from, id->tracker, UL_PUBKEY_BYTES);
    memcpy(s.to, to32, UL_PUBKEY_BYTES);
    s.entries = e;
    ul_err r = ul_schema_summary_encode(out, cap, len, &s);
    free(e);
    return r == UL_OK ? ul_tsign_record(id, UL_DOMAIN_SUMMARY, out, *len) : r;
}

ul_err ul_tsummary_build(ul_tracker_state *t, const uint8_t to32[UL_PUBKEY_BYTES], uint8_t **out,
                         size_t *len)
{
    gathered g = {.c = malloc(UL_MAX_SUMMARY_ENTRIES * sizeof(ul_tcount))};
    uint8_t cbuf[8];
    size_t clen = 0;
    uint64_t counter = 0;
    *out = malloc(UL_MAX_SUMMARY_BYTES);
    ul_err e = g.c && *out ? UL_OK : UL_E_NOMEM;
    if (e == UL_OK) {
        e = ul_tstore_fleet_counts(ul_tracker_read_begin(t), ul_tracker_now_ms(), gather, &g);
        ul_tracker_read_end(t);
    }
    pthread_mutex_lock(&t->mu);
    /* The counter is stored before the summary leaves: never used twice, even after a crash. */
    ul_err m = e == UL_OK ? ul_tstore_meta_get(t->store, "summary_counter", cbuf, 8, &clen) : e;
    if (m == UL_OK && clen == 8) {
        counter = ul_be64_get(cbuf);
    } else if (m != UL_E_NOT_FOUND) {
        e = m;
    }
    ul_be64_put(cbuf, ++counter);
    if (e == UL_OK) {
        e = ul_tstore_meta_put(t->store, "summary_counter", cbuf, 8);
    }
    pthread_mutex_unlock(&t->mu);
    if (e == UL_OK) {
        e = encode_summary(&t->ident, to32, counter, &g, *out, UL_MAX_SUMMARY_BYTES, len);
    }
    free(g.c);
    if (e != UL_OK) {
        free(*out);
        *out = NULL;
    }
    return e;
}

/* The summary's entries as the store keeps them; labels with a NUL byte are refused (they would
 * read back as another label). */
static ul_err entries_of(const ul_summary *s, ul_tcount *c)
{
    ul_summary_entry *e = calloc(s->n_entries ? s->n_entries : 1, sizeof(*e));
    ul_err r = e ? ul_schema_summary_entries(s, e, s->n_entries) : UL_E_NOMEM;
    for (size_t i = 0; r == UL_OK && i < s->n_entries; i++) {
        if (memchr(e[i].ns.ptr, 0, e[i].ns.len) || memchr(e[i].hw.ptr, 0, e[i].hw.len) ||
            e[i].ns.len > UL_MAX_NS_LEN || e[i].hw.len > UL_MAX_LABEL_LEN) {
            r = UL_E_SCHEMA_FIELD;
            break;
        }
        memcpy(c[i].ns, e[i].ns.ptr, e[i].ns.len);
        c[i].ns[e[i].ns.len] = 0;
        memcpy(c[i].hw, e[i].hw.ptr, e[i].hw.len);
        c[i].hw[e[i].hw.len] = 0;
        memcpy(c[i].release_id, e[i].release_id, UL_HASH_BYTES);
        c[i].status = e[i].status;
        c[i].count = e[i].count;
    }
    free(e);
    return r;
}

ul_err ul_tsummary_accept(ul_tracker_state *t, const uint8_t *body, size_t len)
{
    ul_summary s;
    ul_tcount *c = NULL;
    ul_err e = len > UL_MAX_SUMMARY_BYTES ? UL_E_LIMIT : UL_OK;
    if (e == UL_OK) {
        e = ul_client_summary_verify(&s, body, len, t->ident.chain_id);
    }
    if (e == UL_OK && memcmp(s.to, t->ident.tracker, UL_PUBKEY_BYTES) != 0) {
        e = UL_E_TRACKER;
    }
    if (e == UL_OK) {
        c = calloc(s.n_entries ? s.n_entries : 1, sizeof(*c));
        e = c ? entries_of(&s, c) : UL_E_NOMEM;
    }
    pthread_mutex_lock(&t->mu);
    if (e == UL_OK) {
        e = ul_tstore_accept_summary(t->store, s.from, s.counter, c, s.n_entries,
                                     ul_tracker_now_ms());
    }
    pthread_mutex_unlock(&t->mu);
    free(c);
    return e;
}

/* Keeps at most a small reply body (the upstream's JSON error, for the log line). */
typedef struct {
    char buf[512];
    size_t len;
} reply_text;

static size_t on_reply(char *p, size_t size, size_t n, void *ctx)
{
    reply_text *r = ctx;
    size_t take = size * n;
    size_t room = sizeof(r->buf) - 1 - r->len;
    memcpy(r->buf + r->len, p, take < room ? take : room);
    r->len += take < room ? take : room;
    r->buf[r->len] = 0;
    return size * n;
}

ul_err ul_tupstream_send(const ul_tupstream *u, const uint8_t *body, size_t len, char *msg,
                         size_t cap)
{
    CURL *c = curl_easy_init();
    char url[1024], errbuf[CURL_ERROR_SIZE] = "";
    reply_text r = {.len = 0};
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/cbor");
    long status = 0;
    if (!c || !h) {
        curl_slist_free_all(h);
        curl_easy_cleanup(c);
        return UL_E_NOMEM;
    }
    snprintf(url, sizeof(url), "%s/v1/summaries", u->url);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, (const char *)body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)len);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_reply);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
    if (u->cert) {
        /* The upstream's own certificate is the only one trusted: pinned, not a CA's word. */
        curl_easy_setopt(c, CURLOPT_CAINFO, u->cert);
        curl_easy_setopt(c, CURLOPT_CAPATH, NULL);
    }
    CURLcode rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    if (rc != CURLE_OK) {
        snprintf(msg, cap, "%s: %s", url, errbuf[0] ? errbuf : curl_easy_strerror(rc));
        return UL_E_NET;
    }
    if (status != 200) {
        snprintf(msg, cap, "%s: HTTP %ld %s", url, status, r.buf);
        return UL_E_NET;
    }
    snprintf(msg, cap, "%s: accepted", url);
    return UL_OK;
}

ul_err ul_tupstream_push(ul_tracker_state *t, const ul_tupstream *u, char *msg, size_t cap)
{
    uint8_t *body = NULL;
    size_t len = 0;
    ul_err e = ul_tsummary_build(t, u->key, &body, &len);
    if (e != UL_OK) {
        snprintf(msg, cap, "summary: %s", ul_err_str(e));
        return e;
    }
    e = ul_tupstream_send(u, body, len, msg, cap);
    free(body);
    return e;
}
