/* Internals shared by the HTTP API's server (node/http.c), its routing (node/http_api.c) and its
 * routes (node/http_chain.c, node/http_releases.c, node/http_proofs.c, with node/http_ask.c). */
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

/* ---- what the routes share (node/http_ask.c) ---- */

/* One query to the node: the request, the reply, and the buffer the reply points into (the
 * caller frees it with ul_p2p_free). */
typedef struct {
    ul_msg q, r;
    uint8_t *buf;
} ul_http_query;

/* No query parameters allowed (for ul_http_args_ok). */
extern const char *const ul_http_no_args[];

/* Calls the node. Returns: false after writing the error answer (what names what was asked). */
bool ul_http_ask(const ul_http_req *r, ul_http_query *c, ul_http_out *o, const char *what);
/* The same for a method a node of an older build lacks (then 501). */
bool ul_http_ask_optional(const ul_http_req *r, ul_http_query *c, ul_http_out *o, const char *what);
/* Answers that the node's reply does not read (a node of another version). Returns false. */
bool ul_http_bad_reply(ul_http_out *o, ul_err e, const char *what);

static inline json_t *ul_http_hex32(const uint8_t *p)
{
    return ul_json_hex(p, UL_HASH_BYTES);
}

static inline json_t *ul_http_span_str(ul_span s)
{
    return json_stringn((const char *)s.ptr, s.len);
}

/* ---- the routes, each answering into o; ul_http_h_* serves one URL of docs/openapi.yaml ---- */

/* Node state and chain reads (node/http_chain.c). ul_http_get_status asks for the node's status
 * into s (pointing into c->buf). Returns: false after writing the error answer. */
bool ul_http_get_status(const ul_http_req *r, ul_http_query *c, ul_q_status_reply *s,
                        ul_http_out *o);
void ul_http_h_status(const ul_http_req *r, ul_http_out *o);
void ul_http_h_health(const ul_http_req *r, ul_http_out *o);
void ul_http_h_metrics(const ul_http_req *r, ul_http_out *o);
void ul_http_h_genesis(const ul_http_req *r, ul_http_out *o, bool cbor);
void ul_http_h_block(const ul_http_req *r, ul_http_out *o, const char *hs);
void ul_http_h_validators(const ul_http_req *r, ul_http_out *o);
void ul_http_h_evidence(const ul_http_req *r, ul_http_out *o);

/* Releases and namespaces (node/http_releases.c). ul_http_latest_id finds the newest installable
 * release of ns for hardware class hw. Returns: false (answered) when there is none or the node
 * cannot say. */
bool ul_http_latest_id(const ul_http_req *r, const char *ns, const char *hw,
                       uint8_t id[UL_HASH_BYTES], ul_http_out *o);
void ul_http_h_release(const ul_http_req *r, ul_http_out *o, const char *idhex);
void ul_http_h_latest(const ul_http_req *r, ul_http_out *o, const char *ns, const char *hw);
void ul_http_h_namespace(const ul_http_req *r, ul_http_out *o, const char *ns);
void ul_http_h_releases(const ul_http_req *r, ul_http_out *o, const char *ns);
void ul_http_h_search(const ul_http_req *r, ul_http_out *o);

/* Proofs and bundles (node/http_proofs.c). ul_http_h_bundle_at cuts file (HEIGHT.cbor) to HEIGHT.
 */
void ul_http_h_inclusion(const ul_http_req *r, ul_http_out *o, const char *idhex);
void ul_http_h_consistency(const ul_http_req *r, ul_http_out *o);
void ul_http_h_bundle_latest(const ul_http_req *r, ul_http_out *o, const char *ns, const char *hw);
void ul_http_h_bundle_at(const ul_http_req *r, ul_http_out *o, const char *ns, const char *hw,
                         const char *idhex, char *file);

#endif
