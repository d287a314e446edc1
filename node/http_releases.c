/* The HTTP API's releases and namespaces (docs/openapi.yaml): a release with its provenance,
 * the newest installable one, a namespace's policy and its releases page, search. */
#include <stdlib.h>
#include <string.h>

#include "../p2p/ul_p2p.h"
#include "http_int.h"

/* ---- releases ---- */

/* A release record as JSON: its fields, where it was committed, and (provenance) its approvals
 * and revocation. */
static json_t *record_json(const ul_q_release_reply *rr)
{
    char when[32];
    json_t *rel = ul_json_release(rr->tx.ptr, rr->tx.len);
    if (rel) {
        ul_json_time_str(when, rr->time_ms / 1000);
        json_object_set_new(rel, "height", ul_json_u64(rr->height));
        json_object_set_new(rel, "tx_index", ul_json_u64(rr->tx_index));
        json_object_set_new(rel, "log_index", ul_json_u64(rr->log_index));
        json_object_set_new(rel, "block_time_ms", ul_json_u64(rr->time_ms));
        json_object_set_new(rel, "block_time", json_string(when));
    }
    return rel;
}

static json_t *approvals_json(const ul_approvals *a)
{
    json_t *roles = json_object();
    for (size_t i = 0; i < a->n; i++) {
        json_t *keys = json_array();
        for (size_t k = 0; k < a->roles[i].n; k++) {
            json_array_append_new(keys, ul_http_hex32(a->roles[i].keys[k]));
        }
        char name[UL_MAX_LABEL_LEN + 1];
        snprintf(name, sizeof name, "%.*s", (int)a->roles[i].role.len,
                 (const char *)a->roles[i].role.ptr);
        json_object_set_new(roles, name, keys);
    }
    return roles;
}

static json_t *provenance(const ul_http_req *r, const uint8_t id[UL_HASH_BYTES], ul_http_out *o)
{
    ul_http_query c = {0};
    ul_q_release_status_reply rs;
    ul_approvals *a = calloc(1, sizeof *a);
    json_t *p = NULL;
    ul_err e = UL_OK;
    ul_q_release_status_req(&c.q, id);
    if (!a) {
        ul_http_error(o, 0, UL_E_NOMEM, "out of memory");
    } else if (ul_http_ask(r, &c, o, "release status") &&
               ((e = ul_q_release_status_reply_read(&c.r, &rs)) != UL_OK ||
                (UL_Q_HAS(&rs, UL_QREP_RELEASE_STATUS_APPROVALS) &&
                 (e = ul_schema_approvals_decode(a, rs.approvals.ptr, rs.approvals.len)) !=
                     UL_OK))) {
        ul_http_bad_reply(o, e, "release status");
    } else if (c.buf) {
        /* Installable: every approval its kind requires, and not revoked. */
        bool rev = rs.revoked_height > 0;
        p = json_pack("{s:b,s:b,s:b,s:o}", "approved", rs.installable != 0, "installable",
                      rs.installable && !rev, "revoked", rev, "approvals", approvals_json(a));
        if (p && rev) {
            json_object_set_new(p, "revoked_height", ul_json_u64(rs.revoked_height));
            json_object_set_new(p, "revocation_reason", ul_http_span_str(rs.reason));
        }
    }
    free(a);
    ul_p2p_free(c.buf);
    return p;
}

/* A release by id, with its provenance (JSON) or its publish transaction (CBOR). */
static void release_answer(const ul_http_req *r, ul_http_out *o, const uint8_t id[UL_HASH_BYTES])
{
    ul_http_query c = {0};
    ul_q_release_reply rr;
    ul_err e;
    ul_q_release_req(&c.q, id);
    if (!ul_http_ask(r, &c, o, "release")) {
        return;
    }
    json_t *rel = NULL, *p = NULL;
    if ((e = ul_q_release_reply_read(&c.r, &rr)) != UL_OK) {
        ul_http_bad_reply(o, e, "release");
    } else if (r->cbor) {
        ul_http_bytes(o, "application/cbor", rr.tx.ptr, rr.tx.len);
    } else if (!(rel = record_json(&rr))) {
        ul_http_bad_reply(o, UL_E_CORRUPT, "release");
    } else if ((p = provenance(r, id, o))) {
        json_object_set_new(rel, "provenance", p);
        ul_http_json(o, rel);
        rel = NULL;
    }
    json_decref(rel);
    o->caching = UL_HTTP_SHORT;
    ul_p2p_free(c.buf);
}

void ul_http_h_release(const ul_http_req *r, ul_http_out *o, const char *idhex)
{
    uint8_t id[UL_HASH_BYTES];
    if (ul_http_parse_hex32(idhex, id) != UL_OK) {
        ul_http_error(o, MHD_HTTP_BAD_REQUEST, UL_E_ARG, "release id '%.80s' is not 64 hex digits",
                      idhex);
        return;
    }
    release_answer(r, o, id);
}

/* Whether release id is installable now (approved by what its kind requires, not revoked). */
static bool installable_now(const ul_http_req *r, const uint8_t *id, ul_http_out *o)
{
    ul_http_query c = {0};
    ul_q_release_status_reply rs;
    ul_q_release_status_req(&c.q, id);
    bool yes = ul_http_ask(r, &c, o, "release status") &&
               ul_q_release_status_reply_read(&c.r, &rs) == UL_OK && rs.installable &&
               !rs.revoked_height;
    ul_p2p_free(c.buf);
    return yes;
}

/* The newest installable release of ns for hardware class hw: the node's installable index
 * (at most UL_MAX_INSTALLABLE_KEPT entries, newest first), each judged by its release status
 * as `upledger query latest` and `export` judge it. Returns: false (answered) when there is none
 * or the node cannot say. */
bool ul_http_latest_id(const ul_http_req *r, const char *ns, const char *hw,
                       uint8_t id[UL_HASH_BYTES], ul_http_out *o)
{
    ul_http_query c = {0};
    ul_q_latest_reply lr;
    ul_err e = UL_OK;
    bool found = false;
    ul_q_latest_req(&c.q, ul_span_str(ns), ul_span_str(hw));
    bool ok =
        ul_http_ask(r, &c, o, "latest release") &&
        ((e = ul_q_latest_reply_read(&c.r, &lr)) == UL_OK || ul_http_bad_reply(o, e, "latest"));
    for (size_t i = 0; ok && !found && i < lr.installable.len / UL_RPC_INSTALLABLE_ENTRY_BYTES;
         i++) {
        const uint8_t *entry = lr.installable.ptr + i * UL_RPC_INSTALLABLE_ENTRY_BYTES + 8;
        if ((found = installable_now(r, entry, o))) {
            memcpy(id, entry, UL_HASH_BYTES);
        }
        ok = o->status == 0; /* the node answered */
    }
    if (ok && !found) {
        ul_http_error(o, MHD_HTTP_NOT_FOUND, UL_E_NOT_FOUND,
                      "no installable release of %s for hardware class %s", ns, hw);
    }
    ul_p2p_free(c.buf);
    return ok && found;
}

void ul_http_h_latest(const ul_http_req *r, ul_http_out *o, const char *ns, const char *hw)
{
    uint8_t id[UL_HASH_BYTES];
    if (ul_http_latest_id(r, ns, hw, id, o)) {
        release_answer(r, o, id);
    }
}

void ul_http_h_namespace(const ul_http_req *r, ul_http_out *o, const char *ns)
{
    ul_http_query c = {0};
    ul_q_namespace_reply nr;
    ul_policy *pol = malloc(sizeof *pol);
    ul_err e = UL_OK;
    ul_q_namespace_req(&c.q, ul_span_str(ns));
    if (!pol) {
        ul_http_error(o, 0, UL_E_NOMEM, "out of memory");
    } else if (ul_http_ask(r, &c, o, "namespace") &&
               ((e = ul_q_namespace_reply_read(&c.r, &nr)) != UL_OK ||
                (e = ul_schema_policy_decode(pol, nr.body.ptr, nr.body.len)) != UL_OK)) {
        ul_http_bad_reply(o, e, "namespace");
    } else if (c.buf) {
        ul_http_json(o, json_pack("{s:s,s:o,s:o}", "namespace", ns, "height",
                                  ul_json_u64(nr.height), "policy", ul_json_policy(pol)));
    }
    o->caching = UL_HTTP_SHORT;
    free(pol);
    ul_p2p_free(c.buf);
}

static json_t *page_json(const char *ns, const ul_q_history_reply *hr, ul_http_out *o)
{
    ul_msg *scratch = malloc(sizeof *scratch);
    json_t *list = json_array(), *v = NULL;
    ul_span item;
    ul_q_list recs = hr->records;
    ul_q_release_reply rr;
    ul_err e = scratch && list ? UL_OK : UL_E_NOMEM;
    while (e == UL_OK && ul_msg_list_next(&recs.wire, &item)) {
        json_t *rel = NULL;
        if ((e = ul_q_release_record_decode(scratch, item, &rr)) == UL_OK &&
            !(rel = record_json(&rr))) {
            e = UL_E_CORRUPT;
        }
        json_array_append_new(list, rel);
    }
    if (e == UL_OK && (v = json_pack("{s:s,s:o}", "namespace", ns, "releases", list))) {
        list = NULL;
        if (UL_Q_HAS(hr, UL_QREP_HISTORY_NEXT)) {
            json_object_set_new(v, "next", ul_json_u64(hr->next));
        }
    } else {
        ul_http_bad_reply(o, e, "releases");
    }
    json_decref(list);
    free(scratch);
    return v;
}

void ul_http_h_releases(const ul_http_req *r, ul_http_out *o, const char *ns)
{
    static const char *const args[] = {"cursor", "limit", "order", NULL};
    const char *cur = ul_http_arg(r, "cursor"), *lim = ul_http_arg(r, "limit");
    const char *order = ul_http_arg(r, "order");
    uint64_t cursor = 0, limit = 0;
    ul_http_query c = {0};
    ul_q_history_reply hr;
    ul_err e;
    if (!ul_http_args_ok(r, args, o)) {
        return;
    }
    if (cur && ul_http_parse_u64(cur, 0, UINT64_MAX, &cursor) != UL_OK) {
        ul_http_error(o, MHD_HTTP_BAD_REQUEST, UL_E_ARG, "cursor '%.32s' is not a number", cur);
        return;
    }
    if (lim && ul_http_parse_u64(lim, 1, UL_MAX_HISTORY, &limit) != UL_OK) {
        ul_http_error(o, MHD_HTTP_BAD_REQUEST, UL_E_LIMIT, "limit '%.32s' is not in 1..%d", lim,
                      UL_MAX_HISTORY);
        return;
    }
    if (order && strcmp(order, "oldest") && strcmp(order, "newest")) {
        ul_http_error(o, MHD_HTTP_BAD_REQUEST, UL_E_ARG, "order '%.32s': oldest or newest", order);
        return;
    }
    ul_q_history_req(&c.q, ul_span_str(ns), cur ? &cursor : NULL, limit,
                     order && !strcmp(order, "newest"), true);
    if (ul_http_ask(r, &c, o, "releases")) {
        if ((e = ul_q_history_reply_read(&c.r, &hr)) != UL_OK) {
            ul_http_bad_reply(o, e, "releases");
        } else {
            json_t *v = page_json(ns, &hr, o);
            if (v) {
                ul_http_json(o, v);
            }
        }
    }
    o->caching = UL_HTTP_SHORT;
    ul_p2p_free(c.buf);
}

/* ---- search ---- */

/* The search request from the query parameters; q keeps a pointer to key (the caller's). */
static bool search_args(const ul_http_req *r, ul_msg *q, uint8_t key[UL_HASH_BYTES], ul_http_out *o)
{
    static const char *const args[] = {"digest", "signer", "cursor", "limit", "order", NULL};
    const char *d = ul_http_arg(r, "digest"), *s = ul_http_arg(r, "signer");
    const char *cur = ul_http_arg(r, "cursor"), *lim = ul_http_arg(r, "limit");
    const char *order = ul_http_arg(r, "order");
    uint64_t cursor = 0, limit = 0;
    if (!ul_http_args_ok(r, args, o)) {
        return false;
    }
    if (!d == !s || ul_http_parse_hex32(d ? d : s, key) != UL_OK ||
        (cur && ul_http_parse_u64(cur, 0, UINT64_MAX, &cursor) != UL_OK) ||
        (order && strcmp(order, "oldest") && strcmp(order, "newest"))) {
        ul_http_error(o, MHD_HTTP_BAD_REQUEST, UL_E_ARG,
                      "want exactly one of digest=HEX64 or signer=HEX64, and optionally "
                      "cursor=N, limit=1..%d, order=oldest|newest",
                      UL_MAX_SEARCH);
        return false;
    }
    if (lim && ul_http_parse_u64(lim, 1, UL_MAX_SEARCH, &limit) != UL_OK) {
        ul_http_error(o, MHD_HTTP_BAD_REQUEST, UL_E_LIMIT, "limit '%.32s' is not in 1..%d", lim,
                      UL_MAX_SEARCH);
        return false;
    }
    ul_q_search_req(q, d ? key : NULL, d ? NULL : key, cur ? &cursor : NULL, limit,
                    order && !strcmp(order, "newest"));
    return true;
}

/* Releases by image digest or signer key: a page of (id, height), and the next cursor. */
void ul_http_h_search(const ul_http_req *r, ul_http_out *o)
{
    ul_http_query c = {0};
    ul_q_search_reply sr;
    ul_err e;
    uint8_t key[UL_HASH_BYTES];
    if (!search_args(r, &c.q, key, o) || !ul_http_ask_optional(r, &c, o, "search")) {
        ul_p2p_free(c.buf);
        return;
    }
    if ((e = ul_q_search_reply_read(&c.r, &sr)) != UL_OK) {
        ul_http_bad_reply(o, e, "search");
    } else {
        json_t *list = json_array();
        for (size_t i = 0; i < sr.entries.len / UL_RPC_SEARCH_ENTRY_BYTES; i++) {
            const uint8_t *p = sr.entries.ptr + i * UL_RPC_SEARCH_ENTRY_BYTES;
            json_array_append_new(list, json_pack("{s:o,s:o}", "id", ul_http_hex32(p), "height",
                                                  ul_json_u64(ul_be64_get(p + 32))));
        }
        json_t *v = json_pack("{s:o}", "results", list);
        if (v && UL_Q_HAS(&sr, UL_QREP_SEARCH_NEXT)) {
            json_object_set_new(v, "next", ul_json_u64(sr.next));
        }
        ul_http_json(o, v);
    }
    o->caching = UL_HTTP_SHORT;
    ul_p2p_free(c.buf);
}
