/* Internals shared by the HTTP API's server (node/http.c) and its routes (node/http_api.c). */
#ifndef UL_NODE_HTTP_INT_H
#define UL_NODE_HTTP_INT_H

#include <jansson.h>
#include <microhttpd.h>

#include "../p2p/ul_json.h"
#include "../p2p/ul_query.h"
#include "http.h"

/* How long a client or proxy may keep an answer. */
typedef enum {
    UL_HTTP_NO_CACHE = 0,  /* node state: status, health, metrics */
    UL_HTTP_SHORT = 1,     /* changes with the head: latest, pages, releases */
    UL_HTTP_IMMUTABLE = 2, /* never changes: a committed height's block or bundle, the genesis */
} ul_http_caching;

/* One request as the routes see it. */
typedef struct {
    ul_http *h;
    struct MHD_Connection *conn;
    const char *url; /* the path, unescaped by MHD, without the query string */
    bool cbor;       /* Accept names application/cbor */
} ul_http_req;

/* A route's answer: a body (malloc'd, the server frees it) or an already cached response. */
typedef struct {
    unsigned status;
    const char *ctype;
    uint8_t *body;
    size_t len;
    int fd; /* >= 0: a static file of len bytes to send instead of body */
    ul_http_caching caching;
    bool keep; /* 200: put it in the cache under cache_key */
    char cache_key[UL_HTTP_MAX_URL + 64];
    bool from_cache;      /* the route queued a cached answer itself */
    const char *location; /* a redirect's target */
    const char *route;    /* its template, for counting ("/v1/blocks/{height}") */
} ul_http_out;

/* A request on the node's query endpoint (p2p/ul_query.h), from any server thread. */
ul_err ul_http_call(ul_http *h, const ul_msg *req, ul_msg *rep, uint8_t **buf);

/* Answers: an error object {"error", "code", "name"} with status (0: from e); JSON (v stolen;
 * NULL is 500 UL_E_NOMEM); bytes (copied). */
void ul_http_error(ul_http_out *o, unsigned status, ul_err e, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void ul_http_json(ul_http_out *o, json_t *v);
void ul_http_bytes(ul_http_out *o, const char *ctype, const uint8_t *p, size_t len);
/* The HTTP status for a node's error code: 404 for unknown things, 400 for bad fields, 503 when
 * the node cannot answer now, else 500. */
unsigned ul_http_status_of(ul_err e);

/* The query parameters: each must be one of allowed (NULL-terminated); else a 400 in o.
 * Returns: true when they are. */
bool ul_http_args_ok(const ul_http_req *r, const char *const *allowed, ul_http_out *o);
const char *ul_http_arg(const ul_http_req *r, const char *key);

/* Serves key's cached answer when there is one (o->from_cache set). Returns: true if it did. */
bool ul_http_cache_serve(const ul_http_req *r, const char *key, ul_http_out *o);

/* Routes: the API (node/http_api.c) and the explorer's files (node/http.c). */
void ul_http_route(const ul_http_req *r, ul_http_out *o);
void ul_http_static(const ul_http_req *r, ul_http_out *o);

#endif
