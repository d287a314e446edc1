/* The HTTP API's proofs and bundles (docs/openapi.yaml): inclusion and consistency proofs,
 * proof bundles at the head (cached per head height) and at a height (immutable). */
#include <stdlib.h>
#include <string.h>

#include "../p2p/ul_p2p.h"
#include "http_int.h"

/* The record of release id: its namespace and first hardware class (copied out). */
static bool record_facts(const ul_http_req *r, const uint8_t id[UL_HASH_BYTES], char *ns, char *hw,
                         ul_http_out *o)
{
    ul_http_query c = {0};
    ul_q_release_reply rr;
    ul_tx t;
    ul_release *rel = malloc(sizeof *rel);
    bool ok = false;
    ul_q_release_req(&c.q, id);
    if (!rel) {
        ul_http_error(o, 0, UL_E_NOMEM, "out of memory");
    } else if (ul_http_ask(r, &c, o, "release")) {
        ok = ul_q_release_reply_read(&c.r, &rr) == UL_OK &&
             ul_schema_tx_decode(&t, rr.tx.ptr, rr.tx.len) == UL_OK &&
             ul_schema_release_decode(rel, t.body.ptr, t.body.len) == UL_OK;
        ok = ok || ul_http_bad_reply(o, UL_E_CORRUPT, "release");
    }
    if (ok) {
        snprintf(ns, UL_MAX_NS_LEN + 1, "%.*s", (int)rel->ns.len, (const char *)rel->ns.ptr);
        snprintf(hw, UL_MAX_LABEL_LEN + 1, "%.*s", (int)rel->hw[0].len,
                 (const char *)rel->hw[0].ptr);
    }
    free(rel);
    ul_p2p_free(c.buf);
    return ok;
}

/* The bundle of release id for class hw at height h (0: the head), into a new answer body. */
static bool bundle_bytes(const ul_http_req *r, const uint8_t id[UL_HASH_BYTES], const char *hw,
                         uint64_t h, ul_http_out *o)
{
    ul_http_query c = {0};
    ul_q_bundle_reply br;
    ul_err e = UL_OK;
    ul_q_bundle_req(&c.q, id, h, ul_span_str(hw));
    bool ok =
        ul_http_ask(r, &c, o, "bundle") &&
        ((e = ul_q_bundle_reply_read(&c.r, &br)) == UL_OK || ul_http_bad_reply(o, e, "bundle"));
    if (ok) {
        ul_http_bytes(o, "application/cbor", br.bundle.ptr, br.bundle.len);
        ok = o->status == MHD_HTTP_OK;
    }
    ul_p2p_free(c.buf);
    return ok;
}

/* What an inclusion proof says, read from the bundle's sections: the header it is against (the
 * last), the leaf's index, the tree size and the path. */
static json_t *inclusion_json(const uint8_t *b, size_t len)
{
    ul_section *s = malloc(sizeof *s);
    ul_header hd = {0};
    uint8_t hash[UL_HASH_BYTES] = {0};
    size_t off = 0, head;
    uint64_t body;
    json_t *o = json_object(), *path = json_array();
    while (s && off < len && ul_schema_section_frame(b + off, len - off, &head, &body) == UL_OK &&
           body <= len - off - head &&
           ul_schema_section_decode(s, b + off + head, (size_t)body) == UL_OK) {
        if ((s->type == UL_SEC_HEADER || s->type == UL_SEC_CHECKPOINT) &&
            ul_schema_header_decode(&hd, s->u.header.header.ptr, s->u.header.header.len) == UL_OK) {
            ul_client_sha256(hash, s->u.header.header.ptr, s->u.header.header.len);
        } else if (s->type == UL_SEC_BEGIN) {
            json_object_set_new(o, "valset_steps", ul_json_u64(s->u.begin.n_steps));
        } else if (s->type == UL_SEC_INCLUSION) {
            json_object_set_new(o, "log_index", ul_json_u64(s->u.inclusion.index));
            json_object_set_new(o, "tree_size", ul_json_u64(s->u.inclusion.size));
            for (size_t i = 0; i < s->u.inclusion.n_path; i++) {
                json_array_append_new(path, ul_http_hex32(ul_section_hash(s->u.inclusion.path, i)));
            }
        }
        off += head + (size_t)body;
    }
    json_object_set_new(o, "height", ul_json_u64(hd.height));
    json_object_set_new(o, "header_hash", ul_http_hex32(hash));
    json_object_set_new(o, "log_root", ul_http_hex32(hd.log_root));
    json_object_set_new(o, "path", path);
    free(s);
    return o;
}

void ul_http_h_inclusion(const ul_http_req *r, ul_http_out *o, const char *idhex)
{
    static const char *const args[] = {"height", "hw", NULL};
    const char *hs = ul_http_arg(r, "height"), *hwarg = ul_http_arg(r, "hw");
    uint8_t id[UL_HASH_BYTES];
    uint64_t h = 0;
    char ns[UL_MAX_NS_LEN + 1], hw[UL_MAX_LABEL_LEN + 1], url[UL_HTTP_MAX_URL];
    if (!ul_http_args_ok(r, args, o)) {
        return;
    }
    if (ul_http_parse_hex32(idhex, id) != UL_OK ||
        (hs && ul_http_parse_u64(hs, 1, UINT64_MAX, &h) != UL_OK)) {
        ul_http_error(o, MHD_HTTP_BAD_REQUEST, UL_E_ARG, "%s",
                      hs && h == 0 ? "height is a number >= 1" : "release id is 64 hex digits");
        return;
    }
    if (!record_facts(r, id, ns, hw, o) || !bundle_bytes(r, id, hwarg ? hwarg : hw, h, o) ||
        r->cbor) {
        return;
    }
    json_t *v = inclusion_json(o->body, o->len);
    snprintf(url, sizeof url, "/v1/bundles/%s/hw/%s/releases/%s/%llu.cbor", ns, hwarg ? hwarg : hw,
             idhex, (unsigned long long)ul_json_u64_value(json_object_get(v, "height")));
    json_object_set_new(v, "id", ul_http_hex32(id));
    json_object_set_new(v, "hw", json_string(hwarg ? hwarg : hw));
    json_object_set_new(v, "bundle", json_string(url));
    json_object_set_new(v, "bundle_bytes", ul_json_u64(o->len));
    ul_http_json(o, v);
    o->caching = h ? UL_HTTP_IMMUTABLE : UL_HTTP_SHORT;
}

void ul_http_h_consistency(const ul_http_req *r, ul_http_out *o)
{
    static const char *const args[] = {"from", "to", NULL};
    const char *fs = ul_http_arg(r, "from"), *ts = ul_http_arg(r, "to");
    uint64_t from, to;
    ul_http_query c = {0};
    ul_q_consistency_reply cr;
    ul_consistency *p = NULL;
    ul_err e = UL_OK;
    if (!ul_http_args_ok(r, args, o)) {
        return;
    }
    if (ul_http_parse_u64(fs, 1, UINT64_MAX, &from) != UL_OK ||
        ul_http_parse_u64(ts, from, UINT64_MAX, &to) != UL_OK) {
        ul_http_error(o, MHD_HTTP_BAD_REQUEST, UL_E_ARG,
                      "from and to are release-log sizes, 1 <= from <= to");
        return;
    }
    ul_q_consistency_req(&c.q, from, to);
    if (!ul_http_ask(r, &c, o, "consistency proof")) {
        return;
    }
    if ((e = ul_q_consistency_reply_read(&c.r, &cr)) != UL_OK) {
        ul_http_bad_reply(o, e, "consistency proof");
    } else if (r->cbor) {
        ul_http_bytes(o, "application/cbor", cr.proof.ptr, cr.proof.len);
    } else if (!(p = malloc(sizeof *p)) ||
               (e = ul_schema_consistency_decode(p, cr.proof.ptr, cr.proof.len)) != UL_OK) {
        ul_http_bad_reply(o, p ? e : UL_E_NOMEM, "consistency proof");
    } else {
        json_t *path = json_array();
        for (size_t i = 0; i < p->n_path; i++) {
            json_array_append_new(path, ul_http_hex32(p->path[i]));
        }
        ul_http_json(o, json_pack("{s:o,s:o,s:o}", "from", ul_json_u64(p->size1), "to",
                                  ul_json_u64(p->size2), "path", path));
    }
    o->caching = UL_HTTP_IMMUTABLE;
    free(p);
    ul_p2p_free(c.buf);
}

/* /v1/bundles/NS/hw/CLASS/latest.cbor: the newest installable release's bundle at the head,
 * cached per head height. */
void ul_http_h_bundle_latest(const ul_http_req *r, ul_http_out *o, const char *ns, const char *hw)
{
    ul_http_query c = {0};
    ul_q_status_reply s;
    uint8_t id[UL_HASH_BYTES];
    bool ok = ul_http_get_status(r, &c, &s, o);
    uint64_t h = ok ? s.height : 0;
    ul_p2p_free(c.buf);
    if (!ok) {
        return;
    }
    snprintf(o->cache_key, sizeof o->cache_key, "b%s@%llu", r->url, (unsigned long long)h);
    if (ul_http_cache_serve(r, o->cache_key, o) || !ul_http_latest_id(r, ns, hw, id, o) ||
        !bundle_bytes(r, id, hw, h, o)) {
        return;
    }
    o->caching = UL_HTTP_SHORT;
    o->keep = true;
}

/* /v1/bundles/NS/hw/CLASS/releases/ID/HEIGHT.cbor: immutable. */
void ul_http_h_bundle_at(const ul_http_req *r, ul_http_out *o, const char *ns, const char *hw,
                         const char *idhex, char *file)
{
    uint8_t id[UL_HASH_BYTES];
    uint64_t h;
    size_t n = strlen(file);
    char rns[UL_MAX_NS_LEN + 1], rhw[UL_MAX_LABEL_LEN + 1];
    if (n > 5 && !strcmp(file + n - 5, ".cbor")) {
        file[n - 5] = 0;
    }
    if (ul_http_parse_hex32(idhex, id) != UL_OK ||
        ul_http_parse_u64(file, 1, UINT64_MAX, &h) != UL_OK || n <= 5) {
        ul_http_error(o, MHD_HTTP_BAD_REQUEST, UL_E_ARG,
                      "want .../releases/ID/HEIGHT.cbor: ID 64 hex digits, HEIGHT >= 1");
        return;
    }
    if (!record_facts(r, id, rns, rhw, o)) {
        return;
    }
    if (strcmp(rns, ns)) {
        ul_http_error(o, MHD_HTTP_NOT_FOUND, UL_E_NAMESPACE, "release %.16s… is of %s, not %s",
                      idhex, rns, ns);
        return;
    }
    if (bundle_bytes(r, id, hw, h, o)) {
        o->caching = UL_HTTP_IMMUTABLE;
        o->keep = true;
    }
}
