/* upledgerd's read-only HTTP API (docs/openapi.yaml), with libmicrohttpd.
 *
 * The server runs on its own threads (UL_HTTP_THREADS); the node's loop stays single-threaded.
 * Every answer that needs the chain is a request on the node's query endpoint, over nanomsg
 * inproc:// to the same REP socket the CLI talks to, so HTTP gets the same field checks and the
 * same turn-taking as any client (p2p/ul_query.h). Immutable answers (per-height bundles,
 * blocks, the genesis) are kept in a bounded cache and served without the node.
 * `GET /` and `/explorer/...` serve the explorer's built files from a directory. */
#ifndef UL_NODE_HTTP_H
#define UL_NODE_HTTP_H

#include <stdbool.h>
#include <stdint.h>

#include "../schema/ul_err.h"

#define UL_HTTP_DEV_ADDR "127.0.0.1:7480" /* `upledgerd --dev` without --http */

/* Counts one answered request: the route's template ("/v1/releases/{id}", "/explorer",
 * "other") and the HTTP status. Called from the server's threads. */
typedef void (*ul_http_count_fn)(void *cls, const char *route, unsigned status);

typedef struct {
    ul_http_count_fn count; /* NULL: requests are not counted */
    void *count_cls;
    char addr[128];      /* "HOST:PORT", "" when not asked, "off" when refused */
    char explorer[4096]; /* the explorer's files ("": BUILD/explorer next to the binary) */
} ul_http_cfg;

typedef struct ul_http ul_http;

/* Takes option or config key `key` ("http" or "explorer") with value v. Returns false on a bad
 * value (logged, naming it). */
bool ul_http_opt(ul_http_cfg *cfg, const char *key, const char *v);

/* Starts serving cfg->addr (for a dev node without one, UL_HTTP_DEV_ADDR, and then a port in use
 * is logged and skipped rather than fatal). query_sock is the node's query REP socket: it is
 * also bound to an inproc:// endpoint the server's requests use. exe is argv[0] (the default
 * explorer directory is next to it). *out is NULL when HTTP is off.
 * Returns: UL_OK; UL_E_CONFIG for an address that does not parse; UL_E_EXISTS when the port is
 *          in use; UL_E_NET when the server cannot start (each logged). */
ul_err ul_http_start(ul_http **out, const ul_http_cfg *cfg, bool dev, int query_sock,
                     const char *exe);
/* Begins stopping: from now on a request that needs the node fails at once (503 UL_E_BUSY)
 * without touching the node. Returns: true while requests sent before still await the node's
 * answer; the node loop keeps answering its query socket until this returns false, so that no
 * message is in flight on the inproc sockets ul_http_stop closes (nanomsg's inproc transport
 * asserts when a socket closes under a message). NULL: false. */
bool ul_http_quiesce(ul_http *h);
/* Stops the server (waits for requests in flight) and frees it; NULL is a no-op. Call
 * ul_http_quiesce until it is false first when the node loop ran. */
void ul_http_stop(ul_http *h);

/* ---- pure helpers, exposed for unit tests (node/http_parse.c) ---- */

/* A query parameter as a number in lo..hi (decimal digits only, no sign or spaces).
 * Returns: UL_OK; UL_E_ARG otherwise. */
ul_err ul_http_parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *out);
/* 64 hex digits (either case) -> 32 bytes. Returns: UL_OK; UL_E_ARG otherwise. */
ul_err ul_http_parse_hex32(const char *s, uint8_t out[32]);
/* Splits path (no leading '/') into at most max '/'-separated segments, in place. A segment that
 * is empty, ".", or ".." makes it fail. Returns: the number of segments, or -1. */
int ul_http_split(char *path, char **seg, int max);
/* The content type of a static file by its extension (text/html, application/javascript, ...;
 * application/octet-stream for anything else). */
const char *ul_http_content_type(const char *name);

#endif
