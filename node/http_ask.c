/* What the HTTP API's routes share: asking the node's query endpoint (p2p/ul_query.h) on a
 * request's behalf, and answering when the node cannot answer or its reply does not read. */
#include "../p2p/ul_p2p.h"
#include "http_int.h"

const char *const ul_http_no_args[] = {NULL};

/* Calls the node. Returns: false after writing the error answer (what names what was asked). */
bool ul_http_ask(const ul_http_req *r, ul_http_query *c, ul_http_out *o, const char *what)
{
    ul_err e = ul_http_call(r->h, &c->q, &c->r, &c->buf);
    if (e != UL_OK) {
        ul_http_error(o, 0, e, "%s: %s", what, ul_err_str(e));
        ul_p2p_free(c->buf);
        c->buf = NULL;
    }
    return e == UL_OK;
}

/* A reply that does not read (a node of another version). Returns false. */
bool ul_http_bad_reply(ul_http_out *o, ul_err e, const char *what)
{
    ul_http_error(o, MHD_HTTP_BAD_GATEWAY, e ? e : UL_E_PROTOCOL,
                  "%s: the node's reply does not "
                  "read",
                  what);
    return false;
}

/* Asks the node; a node built without the method (an older one) answers UL_E_PROTOCOL, 501 here.
 * Returns: true when it answered (else the error is written). */
bool ul_http_ask_optional(const ul_http_req *r, ul_http_query *c, ul_http_out *o, const char *what)
{
    ul_err e = ul_http_call(r->h, &c->q, &c->r, &c->buf);
    if (e == UL_E_PROTOCOL) {
        ul_http_error(o, MHD_HTTP_NOT_IMPLEMENTED, e, "%s: not in this node's build", what);
    } else if (e != UL_OK) {
        ul_http_error(o, 0, e, "%s: %s", what, ul_err_str(e));
    }
    return e == UL_OK;
}
