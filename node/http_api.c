/* The HTTP API's routes (docs/openapi.yaml): each turns a URL into queries on the node's query
 * endpoint (p2p/ul_query.h) and the replies into JSON, or the node's canonical CBOR. */
#include <stdlib.h>
#include <string.h>

#include "../p2p/ul_p2p.h"
#include "http_int.h"

#define MAX_SEGS 10

typedef struct {
    ul_msg q, r;
    uint8_t *buf;
} call;

static const char *const no_args[] = {NULL};

/* Calls the node. Returns: false after writing the error answer (what names what was asked). */
static bool ask(const ul_http_req *r, call *c, ul_http_out *o, const char *what)
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
static bool bad_reply(ul_http_out *o, ul_err e, const char *what)
{
    ul_http_error(o, MHD_HTTP_BAD_GATEWAY, e ? e : UL_E_PROTOCOL,
                  "%s: the node's reply does not "
                  "read",
                  what);
    return false;
}

static json_t *hex32(const uint8_t *p)
{
    return ul_json_hex(p, UL_HASH_BYTES);
}

static json_t *span_str(ul_span s)
{
    return json_stringn((const char *)s.ptr, s.len);
}

/* ---- node state ---- */

static bool in_sync(const ul_q_status_reply *s)
{
    return s->sync_target == 0 || s->height >= s->sync_target;
}

static json_t *signing_json(const ul_q_status_reply *s)
{
    static const char *steps[] = {"none", "proposal", "prevote", "precommit"};
    json_t *o = json_pack("{s:o,s:o,s:s,s:o,s:o}", "height", ul_json_u64(s->sign_height), "round",
                          ul_json_u64(s->sign_round), "step",
                          s->sign_step < 4 ? steps[s->sign_step] : "unknown", "signed",
                          ul_json_u64(s->signed_count), "until", ul_json_u64(s->sign_until));
    if (o && s->sign_refusing) {
        json_object_set_new(o, "refusing", json_string(ul_err_name((ul_err)s->sign_refusing)));
    }
    return o;
}

static json_t *status_json(const ul_q_status_reply *s)
{
    json_t *o = json_pack(
        "{s:o,s:o,s:o,s:o,s:o,s:b,s:o,s:o,s:{s:o,s:o,s:o,s:o,s:o}}", "chain_id",
        hex32(s->chain_id.ptr), "height", ul_json_u64(s->height), "round", ul_json_u64(s->round),
        "log_size", ul_json_u64(s->log_size), "pooled", ul_json_u64(s->pooled), "in_sync",
        in_sync(s), "sync_target", ul_json_u64(s->sync_target), "claims_ignored",
        ul_json_u64(s->claims_ignored), "peers", "received", ul_json_u64(s->peer_received),
        "malformed", ul_json_u64(s->peer_malformed), "bad_sig", ul_json_u64(s->peer_bad_sig),
        "unknown_sender", ul_json_u64(s->peer_unknown), "send_dropped",
        ul_json_u64(s->send_dropped));
    ul_header hd;
    if (o && UL_Q_HAS(s, UL_QREP_STATUS_HEAD) &&
        ul_schema_header_decode(&hd, s->head.ptr, s->head.len) == UL_OK) {
        uint8_t hash[UL_HASH_BYTES];
        ul_client_sha256(hash, s->head.ptr, s->head.len);
        json_object_set_new(o, "head", ul_json_header(&hd, hash));
    }
    if (o && UL_Q_HAS(s, UL_QREP_STATUS_SIGN_HEIGHT)) {
        json_object_set_new(o, "signing", signing_json(s));
    }
    json_t *st =
        s->store_fault
            ? json_pack("{s:b,s:s,s:o,s:o}", "ok", 0, "error", ul_err_name((ul_err)s->store_fault),
                        "code", ul_json_u64(s->store_fault), "detail", span_str(s->store_text))
            : json_pack("{s:b}", "ok", 1);
    if (o) {
        json_object_set_new(o, "storage", st);
    }
    return o;
}

static bool get_status(const ul_http_req *r, call *c, ul_q_status_reply *s, ul_http_out *o)
{
    ul_q_status_req(&c->q);
    if (!ask(r, c, o, "node status")) {
        return false;
    }
    ul_err e = ul_q_status_reply_read(&c->r, s);
    return e == UL_OK || bad_reply(o, e, "node status");
}

static void h_status(const ul_http_req *r, ul_http_out *o)
{
    call c = {0};
    ul_q_status_reply s;
    if (ul_http_args_ok(r, no_args, o) && get_status(r, &c, &s, o)) {
        ul_http_json(o, status_json(&s));
    }
    ul_p2p_free(c.buf);
}

/* 200 while in sync and able to sign or serve; 503 naming why not. */
static void h_health(const ul_http_req *r, ul_http_out *o)
{
    call c = {0};
    ul_q_status_reply s;
    ul_err why = UL_OK;
    char reason[300] = "";
    if (!ul_http_args_ok(r, no_args, o)) {
        return;
    }
    ul_q_status_req(&c.q);
    ul_err e = ul_http_call(r->h, &c.q, &c.r, &c.buf);
    if (e == UL_OK && (e = ul_q_status_reply_read(&c.r, &s)) != UL_OK) {
        e = UL_E_PROTOCOL;
    }
    if (e != UL_OK) {
        why = e;
        snprintf(reason, sizeof reason, "the node does not answer: %s", ul_err_str(e));
    } else if (s.store_fault) {
        why = (ul_err)s.store_fault;
        snprintf(reason, sizeof reason, "storage: %.*s", (int)s.store_text.len,
                 (const char *)s.store_text.ptr);
    } else if (!in_sync(&s)) {
        why = UL_E_STALE;
        snprintf(reason, sizeof reason, "syncing: height %llu of %llu",
                 (unsigned long long)s.height, (unsigned long long)s.sync_target);
    } else if (UL_Q_HAS(&s, UL_QREP_STATUS_SIGN_REFUSING) && s.sign_refusing) {
        why = (ul_err)s.sign_refusing;
        snprintf(reason, sizeof reason, "the validator does not sign: %s", ul_err_str(why));
    }
    json_t *v =
        json_pack("{s:s,s:o,s:o}", "status", why ? "unavailable" : "ok", "height",
                  ul_json_u64(e ? 0 : s.height), "sync_target", ul_json_u64(e ? 0 : s.sync_target));
    if (v && why) {
        json_object_set_new(v, "reason", json_string(reason));
        json_object_set_new(v, "code", json_integer(why));
        json_object_set_new(v, "name", json_string(ul_err_name(why)));
    }
    ul_http_json(o, v);
    if (why && o->status == MHD_HTTP_OK) {
        o->status = MHD_HTTP_SERVICE_UNAVAILABLE;
    }
    ul_p2p_free(c.buf);
}

/* ---- chain ---- */

static void h_genesis(const ul_http_req *r, ul_http_out *o, bool cbor)
{
    call c = {0};
    ul_q_genesis_reply g;
    ul_genesis *gen = malloc(sizeof *gen);
    ul_err e;
    ul_q_genesis_req(&c.q);
    if (!gen) {
        ul_http_error(o, 0, UL_E_NOMEM, "out of memory");
    } else if (ask(r, &c, o, "genesis") &&
               ((e = ul_q_genesis_reply_read(&c.r, &g)) != UL_OK ||
                (e = ul_schema_genesis_decode(gen, g.genesis.ptr, g.genesis.len)) != UL_OK)) {
        bad_reply(o, e, "genesis");
    } else if (c.buf && cbor) {
        ul_http_bytes(o, "application/cbor", g.genesis.ptr, g.genesis.len);
    } else if (c.buf) {
        uint8_t id[UL_HASH_BYTES];
        char when[32];
        json_t *vals = json_array();
        ul_client_sha256(id, g.genesis.ptr, g.genesis.len);
        ul_json_time_str(when, gen->time_ms / 1000);
        for (size_t i = 0; i < gen->validators.n; i++) {
            json_array_append_new(vals, json_pack("{s:o,s:o}", "pubkey",
                                                  hex32(gen->validators.v[i].pubkey), "power",
                                                  ul_json_u64(gen->validators.v[i].power)));
        }
        ul_http_json(o, json_pack("{s:o,s:o,s:s%,s:o,s:s,s:o}", "chain_id", hex32(id), "version",
                                  ul_json_u64(gen->version), "name", (const char *)gen->name.ptr,
                                  gen->name.len, "time_ms", ul_json_u64(gen->time_ms), "time", when,
                                  "validators", vals));
    }
    o->caching = UL_HTTP_IMMUTABLE;
    o->keep = true;
    free(gen);
    ul_p2p_free(c.buf);
}

/* The validator set in force at height h (0: the next block). */
static bool valset_at(const ul_http_req *r, uint64_t h, ul_valset *vs, ul_q_validators_reply *v,
                      ul_http_out *o)
{
    call c = {0};
    ul_err e = UL_OK;
    ul_q_validators_req(&c.q, h);
    bool ok = ask(r, &c, o, "validator set");
    if (ok && ((e = ul_q_validators_reply_read(&c.r, v)) != UL_OK ||
               (e = ul_schema_valset_decode(vs, v->valset.ptr, v->valset.len)) != UL_OK)) {
        ok = bad_reply(o, e, "validator set");
    }
    v->valset = (ul_span){0}; /* it pointed into the reply */
    ul_p2p_free(c.buf);
    return ok;
}

static json_t *valset_json(const ul_valset *vs)
{
    json_t *a = json_array();
    for (size_t i = 0; i < vs->n; i++) {
        json_array_append_new(a, json_pack("{s:o,s:o}", "pubkey", hex32(vs->v[i].pubkey), "power",
                                           ul_json_u64(vs->v[i].power)));
    }
    return a;
}

static json_t *commit_json(const ul_commit *cm, const ul_valset *vs)
{
    uint64_t signed_power = 0, total = 0;
    json_t *signers = json_array();
    for (size_t i = 0; i < vs->n; i++) {
        total += vs->v[i].power;
    }
    for (size_t i = 0; i < cm->n_sigs; i++) {
        if (cm->sigs[i].index < vs->n) {
            const ul_validator *v = &vs->v[cm->sigs[i].index];
            signed_power += v->power;
            json_array_append_new(signers, json_pack("{s:o,s:o,s:o}", "pubkey", hex32(v->pubkey),
                                                     "power", ul_json_u64(v->power), "time_ms",
                                                     ul_json_u64(cm->sigs[i].time_ms)));
        }
    }
    return json_pack("{s:o,s:o,s:o,s:o}", "round", ul_json_u64(cm->round), "signed_power",
                     ul_json_u64(signed_power), "total_power", ul_json_u64(total), "signers",
                     signers);
}

static json_t *block_json(const ul_block *b, const ul_header *hd, const ul_commit *cm,
                          const ul_valset *vs)
{
    uint8_t hash[UL_HASH_BYTES];
    ul_client_sha256(hash, b->header.ptr, b->header.len);
    json_t *txs = json_array();
    for (size_t i = 0; i < b->n_txs; i++) {
        ul_tx t;
        uint8_t id[UL_HASH_BYTES];
        if (ul_schema_tx_decode(&t, b->txs[i].ptr, b->txs[i].len) != UL_OK) {
            continue;
        }
        bool pub = t.kind == UL_TX_PUBLISH; /* a release's id is its body's hash */
        ul_client_sha256(id, pub ? t.body.ptr : b->txs[i].ptr, pub ? t.body.len : b->txs[i].len);
        json_array_append_new(
            txs, json_pack("{s:s,s:o}", "kind", ul_json_tx_kind_name(t.kind), "id", hex32(id)));
    }
    return json_pack("{s:o,s:o,s:o}", "header", ul_json_header(hd, hash), "txs", txs, "commit",
                     commit_json(cm, vs));
}

typedef struct {
    ul_block b;
    ul_header hd;
    ul_commit cm;
    ul_valset vs;
    ul_q_validators_reply v;
    ul_span spans[UL_MAX_BLOCK_TXS];
} block_work;

static void h_block(const ul_http_req *r, ul_http_out *o, const char *hs)
{
    call c = {0};
    uint64_t h;
    ul_q_block_reply br;
    ul_span blk, cms;
    ul_err e = UL_OK;
    block_work *w = NULL;
    if (ul_http_parse_u64(hs, 1, UINT64_MAX, &h) != UL_OK) {
        ul_http_error(o, MHD_HTTP_BAD_REQUEST, UL_E_ARG, "height '%.32s' is not a number >= 1", hs);
        return;
    }
    ul_q_block_req(&c.q, h, 0);
    if (!ask(r, &c, o, "block")) {
        return;
    }
    if ((e = ul_q_block_reply_read(&c.r, &br)) != UL_OK ||
        !ul_msg_list_next(&br.blocks.wire, &blk) || !ul_msg_list_next(&br.commits.wire, &cms)) {
        bad_reply(o, e, "block");
    } else if (r->cbor) {
        ul_http_bytes(o, "application/cbor", blk.ptr, blk.len);
    } else if (!(w = malloc(sizeof *w))) {
        ul_http_error(o, 0, UL_E_NOMEM, "out of memory");
    } else if ((e = ul_schema_block_decode(&w->b, w->spans, UL_MAX_BLOCK_TXS, blk.ptr, blk.len)) ||
               (e = ul_schema_header_decode(&w->hd, w->b.header.ptr, w->b.header.len)) ||
               (e = ul_schema_commit_decode(&w->cm, cms.ptr, cms.len))) {
        bad_reply(o, e, "block");
    } else if (valset_at(r, h, &w->vs, &w->v, o)) {
        ul_http_json(o, block_json(&w->b, &w->hd, &w->cm, &w->vs));
    }
    o->caching = UL_HTTP_IMMUTABLE;
    o->keep = true;
    free(w);
    ul_p2p_free(c.buf);
}

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
            json_array_append_new(keys, hex32(a->roles[i].keys[k]));
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
    call c = {0};
    ul_q_release_status_reply rs;
    ul_approvals *a = calloc(1, sizeof *a);
    json_t *p = NULL;
    ul_err e = UL_OK;
    ul_q_release_status_req(&c.q, id);
    if (!a) {
        ul_http_error(o, 0, UL_E_NOMEM, "out of memory");
    } else if (ask(r, &c, o, "release status") &&
               ((e = ul_q_release_status_reply_read(&c.r, &rs)) != UL_OK ||
                (UL_Q_HAS(&rs, UL_QREP_RELEASE_STATUS_APPROVALS) &&
                 (e = ul_schema_approvals_decode(a, rs.approvals.ptr, rs.approvals.len)) !=
                     UL_OK))) {
        bad_reply(o, e, "release status");
    } else if (c.buf) {
        /* Installable: every approval its kind requires, and not revoked. */
        bool rev = rs.revoked_height > 0;
        p = json_pack("{s:b,s:b,s:b,s:o}", "approved", rs.installable != 0, "installable",
                      rs.installable && !rev, "revoked", rev, "approvals", approvals_json(a));
        if (p && rev) {
            json_object_set_new(p, "revoked_height", ul_json_u64(rs.revoked_height));
            json_object_set_new(p, "revocation_reason", span_str(rs.reason));
        }
    }
    free(a);
    ul_p2p_free(c.buf);
    return p;
}

/* A release by id, with its provenance (JSON) or its publish transaction (CBOR). */
static void release_answer(const ul_http_req *r, ul_http_out *o, const uint8_t id[UL_HASH_BYTES])
{
    call c = {0};
    ul_q_release_reply rr;
    ul_err e;
    ul_q_release_req(&c.q, id);
    if (!ask(r, &c, o, "release")) {
        return;
    }
    json_t *rel = NULL, *p = NULL;
    if ((e = ul_q_release_reply_read(&c.r, &rr)) != UL_OK) {
        bad_reply(o, e, "release");
    } else if (r->cbor) {
        ul_http_bytes(o, "application/cbor", rr.tx.ptr, rr.tx.len);
    } else if (!(rel = record_json(&rr))) {
        bad_reply(o, UL_E_CORRUPT, "release");
    } else if ((p = provenance(r, id, o))) {
        json_object_set_new(rel, "provenance", p);
        ul_http_json(o, rel);
        rel = NULL;
    }
    json_decref(rel);
    o->caching = UL_HTTP_SHORT;
    ul_p2p_free(c.buf);
}

static void h_release(const ul_http_req *r, ul_http_out *o, const char *idhex)
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
    call c = {0};
    ul_q_release_status_reply rs;
    ul_q_release_status_req(&c.q, id);
    bool yes = ask(r, &c, o, "release status") &&
               ul_q_release_status_reply_read(&c.r, &rs) == UL_OK && rs.installable &&
               !rs.revoked_height;
    ul_p2p_free(c.buf);
    return yes;
}

/* The newest installable release of ns for hardware class hw: the node's installable index
 * (at most UL_MAX_INSTALLABLE_KEPT entries, newest first), each judged by its release status
 * as `upledger query latest` and `export` judge it. Returns: false (answered) when there is none
 * or the node cannot say. */
static bool latest_id(const ul_http_req *r, const char *ns, const char *hw,
                      uint8_t id[UL_HASH_BYTES], ul_http_out *o)
{
    call c = {0};
    ul_q_latest_reply lr;
    ul_err e = UL_OK;
    bool found = false;
    ul_q_latest_req(&c.q, ul_span_str(ns), ul_span_str(hw));
    bool ok = ask(r, &c, o, "latest release") &&
              ((e = ul_q_latest_reply_read(&c.r, &lr)) == UL_OK || bad_reply(o, e, "latest"));
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

static void h_latest(const ul_http_req *r, ul_http_out *o, const char *ns, const char *hw)
{
    uint8_t id[UL_HASH_BYTES];
    if (latest_id(r, ns, hw, id, o)) {
        release_answer(r, o, id);
    }
}

static void h_namespace(const ul_http_req *r, ul_http_out *o, const char *ns)
{
    call c = {0};
    ul_q_namespace_reply nr;
    ul_policy *pol = malloc(sizeof *pol);
    ul_err e = UL_OK;
    ul_q_namespace_req(&c.q, ul_span_str(ns));
    if (!pol) {
        ul_http_error(o, 0, UL_E_NOMEM, "out of memory");
    } else if (ask(r, &c, o, "namespace") &&
               ((e = ul_q_namespace_reply_read(&c.r, &nr)) != UL_OK ||
                (e = ul_schema_policy_decode(pol, nr.body.ptr, nr.body.len)) != UL_OK)) {
        bad_reply(o, e, "namespace");
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
        bad_reply(o, e, "releases");
    }
    json_decref(list);
    free(scratch);
    return v;
}

static void h_releases(const ul_http_req *r, ul_http_out *o, const char *ns)
{
    static const char *const args[] = {"cursor", "limit", "order", NULL};
    const char *cur = ul_http_arg(r, "cursor"), *lim = ul_http_arg(r, "limit");
    const char *order = ul_http_arg(r, "order");
    uint64_t cursor = 0, limit = 0;
    call c = {0};
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
    if (ask(r, &c, o, "releases")) {
        if ((e = ul_q_history_reply_read(&c.r, &hr)) != UL_OK) {
            bad_reply(o, e, "releases");
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

/* ---- proofs and bundles ---- */

/* The record of release id: its namespace and first hardware class (copied out). */
static bool record_facts(const ul_http_req *r, const uint8_t id[UL_HASH_BYTES], char *ns, char *hw,
                         ul_http_out *o)
{
    call c = {0};
    ul_q_release_reply rr;
    ul_tx t;
    ul_release *rel = malloc(sizeof *rel);
    bool ok = false;
    ul_q_release_req(&c.q, id);
    if (!rel) {
        ul_http_error(o, 0, UL_E_NOMEM, "out of memory");
    } else if (ask(r, &c, o, "release")) {
        ok = ul_q_release_reply_read(&c.r, &rr) == UL_OK &&
             ul_schema_tx_decode(&t, rr.tx.ptr, rr.tx.len) == UL_OK &&
             ul_schema_release_decode(rel, t.body.ptr, t.body.len) == UL_OK;
        ok = ok || bad_reply(o, UL_E_CORRUPT, "release");
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
    call c = {0};
    ul_q_bundle_reply br;
    ul_err e = UL_OK;
    ul_q_bundle_req(&c.q, id, h, ul_span_str(hw));
    bool ok = ask(r, &c, o, "bundle") &&
              ((e = ul_q_bundle_reply_read(&c.r, &br)) == UL_OK || bad_reply(o, e, "bundle"));
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
                json_array_append_new(path, hex32(ul_section_hash(s->u.inclusion.path, i)));
            }
        }
        off += head + (size_t)body;
    }
    json_object_set_new(o, "height", ul_json_u64(hd.height));
    json_object_set_new(o, "header_hash", hex32(hash));
    json_object_set_new(o, "log_root", hex32(hd.log_root));
    json_object_set_new(o, "path", path);
    free(s);
    return o;
}

static void h_inclusion(const ul_http_req *r, ul_http_out *o, const char *idhex)
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
    json_object_set_new(v, "id", hex32(id));
    json_object_set_new(v, "hw", json_string(hwarg ? hwarg : hw));
    json_object_set_new(v, "bundle", json_string(url));
    json_object_set_new(v, "bundle_bytes", ul_json_u64(o->len));
    ul_http_json(o, v);
    o->caching = h ? UL_HTTP_IMMUTABLE : UL_HTTP_SHORT;
}

static void h_consistency(const ul_http_req *r, ul_http_out *o)
{
    static const char *const args[] = {"from", "to", NULL};
    const char *fs = ul_http_arg(r, "from"), *ts = ul_http_arg(r, "to");
    uint64_t from, to;
    call c = {0};
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
    if (!ask(r, &c, o, "consistency proof")) {
        return;
    }
    if ((e = ul_q_consistency_reply_read(&c.r, &cr)) != UL_OK) {
        bad_reply(o, e, "consistency proof");
    } else if (r->cbor) {
        ul_http_bytes(o, "application/cbor", cr.proof.ptr, cr.proof.len);
    } else if (!(p = malloc(sizeof *p)) ||
               (e = ul_schema_consistency_decode(p, cr.proof.ptr, cr.proof.len)) != UL_OK) {
        bad_reply(o, p ? e : UL_E_NOMEM, "consistency proof");
    } else {
        json_t *path = json_array();
        for (size_t i = 0; i < p->n_path; i++) {
            json_array_append_new(path, hex32(p->path[i]));
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
static void h_bundle_latest(const ul_http_req *r, ul_http_out *o, const char *ns, const char *hw)
{
    call c = {0};
    ul_q_status_reply s;
    uint8_t id[UL_HASH_BYTES];
    bool ok = get_status(r, &c, &s, o);
    uint64_t h = ok ? s.height : 0;
    ul_p2p_free(c.buf);
    if (!ok) {
        return;
    }
    snprintf(o->cache_key, sizeof o->cache_key, "b%s@%llu", r->url, (unsigned long long)h);
    if (ul_http_cache_serve(r, o->cache_key, o) || !latest_id(r, ns, hw, id, o) ||
        !bundle_bytes(r, id, hw, h, o)) {
        return;
    }
    o->caching = UL_HTTP_SHORT;
    o->keep = true;
}

/* /v1/bundles/NS/hw/CLASS/releases/ID/HEIGHT.cbor: immutable. */
static void h_bundle_at(const ul_http_req *r, ul_http_out *o, const char *ns, const char *hw,
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

/* ---- validators, evidence, search, metrics ---- */

static void h_validators(const ul_http_req *r, ul_http_out *o)
{
    static const char *const args[] = {"before", NULL};
    const char *bs = ul_http_arg(r, "before");
    uint64_t before = 0, head = 0, until = 0;
    ul_valset *vs = malloc(sizeof *vs);
    ul_q_validators_reply v;
    json_t *sets = json_array();
    bool ok = vs && sets && ul_http_args_ok(r, args, o);
    if (ok && bs && ul_http_parse_u64(bs, 2, UINT64_MAX, &before) != UL_OK) {
        ul_http_error(o, MHD_HTTP_BAD_REQUEST, UL_E_ARG, "before '%.32s' is not a number >= 2", bs);
        ok = false;
    }
    uint64_t h = before ? before - 1 : 0, from = 1;
    for (int i = 0; ok && i < UL_HTTP_VALSET_PAGE && (i == 0 || from > 1); i++) {
        if (!(ok = valset_at(r, h, vs, &v, o))) {
            break;
        }
        json_t *e =
            json_pack("{s:o,s:o}", "from", ul_json_u64(v.from), "validators", valset_json(vs));
        if (e && until) {
            json_object_set_new(e, "until", ul_json_u64(until));
        }
        json_array_append_new(sets, e);
        head = v.head, from = v.from, until = from - 1, h = from - 1;
    }
    if (ok) {
        json_t *out = json_pack("{s:o,s:O}", "head", ul_json_u64(head), "sets", sets);
        if (out && from > 1) {
            json_object_set_new(out, "next", ul_json_u64(from));
        }
        ul_http_json(o, out);
    } else if (!vs || !sets) {
        ul_http_error(o, 0, UL_E_NOMEM, "out of memory");
    }
    o->caching = UL_HTTP_SHORT;
    json_decref(sets);
    free(vs);
}

static void h_evidence(const ul_http_req *r, ul_http_out *o)
{
    call c = {0};
    ul_q_evidence_reply ev;
    ul_err e;
    ul_q_evidence_req(&c.q);
    if (!ul_http_args_ok(r, no_args, o) || !ask(r, &c, o, "evidence")) {
        return;
    }
    if ((e = ul_q_evidence_reply_read(&c.r, &ev)) != UL_OK) {
        bad_reply(o, e, "evidence");
    } else {
        json_t *list = json_array();
        for (size_t i = 0; i < ev.entries.len / UL_RPC_EVIDENCE_ENTRY_BYTES; i++) {
            const uint8_t *p = ev.entries.ptr + i * UL_RPC_EVIDENCE_ENTRY_BYTES;
            const char *type = p[48] == UL_VOTE_PREVOTE     ? "prevote"
                               : p[48] == UL_VOTE_PRECOMMIT ? "precommit"
                                                            : "unknown";
            json_array_append_new(
                list, json_pack("{s:o,s:o,s:o,s:s,s:o,s:o}", "validator", hex32(p), "height",
                                ul_json_u64(ul_be64_get(p + 32)), "round",
                                ul_json_u64(ul_be64_get(p + 40)), "type", type, "recorded_at",
                                ul_json_u64(ul_be64_get(p + 49)), "tx", hex32(p + 57)));
        }
        ul_http_json(o, json_pack("{s:o}", "evidence", list));
    }
    o->caching = UL_HTTP_SHORT;
    ul_p2p_free(c.buf);
}

/* Asks the node; a node built without the method (an older one) answers UL_E_PROTOCOL, 501 here.
 * Returns: true when it answered (else the error is written). */
static bool ask_optional(const ul_http_req *r, call *c, ul_http_out *o, const char *what)
{
    ul_err e = ul_http_call(r->h, &c->q, &c->r, &c->buf);
    if (e == UL_E_PROTOCOL) {
        ul_http_error(o, MHD_HTTP_NOT_IMPLEMENTED, e, "%s: not in this node's build", what);
    } else if (e != UL_OK) {
        ul_http_error(o, 0, e, "%s: %s", what, ul_err_str(e));
    }
    return e == UL_OK;
}

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
static void h_search(const ul_http_req *r, ul_http_out *o)
{
    call c = {0};
    ul_q_search_reply sr;
    ul_err e;
    uint8_t key[UL_HASH_BYTES];
    if (!search_args(r, &c.q, key, o) || !ask_optional(r, &c, o, "search")) {
        ul_p2p_free(c.buf);
        return;
    }
    if ((e = ul_q_search_reply_read(&c.r, &sr)) != UL_OK) {
        bad_reply(o, e, "search");
    } else {
        json_t *list = json_array();
        for (size_t i = 0; i < sr.entries.len / UL_RPC_SEARCH_ENTRY_BYTES; i++) {
            const uint8_t *p = sr.entries.ptr + i * UL_RPC_SEARCH_ENTRY_BYTES;
            json_array_append_new(list, json_pack("{s:o,s:o}", "id", hex32(p), "height",
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

/* The node's Prometheus page (its figures refreshed by the node thread as it answers). */
static void h_metrics(const ul_http_req *r, ul_http_out *o)
{
    call c = {0};
    ul_q_metrics_reply mr;
    ul_err e;
    ul_q_metrics_req(&c.q);
    if (ul_http_args_ok(r, no_args, o) && ask_optional(r, &c, o, "metrics")) {
        if ((e = ul_q_metrics_reply_read(&c.r, &mr)) == UL_OK) {
            ul_http_bytes(o, "text/plain; version=0.0.4; charset=utf-8", mr.text.ptr, mr.text.len);
        } else {
            bad_reply(o, e, "metrics");
        }
    }
    ul_p2p_free(c.buf);
}

/* ---- routing ---- */

/* /v1/namespaces/V/P[/releases | /hw/C/latest] and /v1/bundles/V/P/hw/C/... (seg[2], seg[3] are
 * the namespace's two labels). */
static void namespace_routes(const ul_http_req *r, ul_http_out *o, char **seg, int n)
{
    char ns[UL_MAX_NS_LEN + 2];
    bool bundles = !strcmp(seg[1], "bundles");
    bool hw_ok = n <= 5 || strlen(seg[5]) <= UL_MAX_LABEL_LEN;
    for (const char *c = n > 5 ? seg[5] : ""; *c; c++) {
        hw_ok = hw_ok && *c >= 0x20 && *c < 0x7f; /* a label: printable ASCII */
    }
    if ((size_t)snprintf(ns, sizeof ns, "%s/%s", seg[2], seg[3]) > UL_MAX_NS_LEN ||
        ul_schema_ns_check(ul_span_str(ns)) != UL_OK) {
        ul_http_error(o, MHD_HTTP_BAD_REQUEST, UL_E_NS_NAME,
                      "namespace: want VENDOR/PRODUCT, [a-z0-9._-] each, at most %d bytes",
                      UL_MAX_NS_LEN);
    } else if (n > 5 && strcmp(seg[4], "hw")) {
        ul_http_error(o, MHD_HTTP_NOT_FOUND, UL_E_NOT_FOUND, "no such route");
    } else if (!hw_ok) {
        ul_http_error(o, MHD_HTTP_BAD_REQUEST, UL_E_HW_CLASS,
                      "hardware class: 1..%d printable ASCII bytes", UL_MAX_LABEL_LEN);
    } else if (!bundles && n == 4 && ul_http_args_ok(r, no_args, o)) {
        h_namespace(r, o, ns);
    } else if (!bundles && n == 5 && !strcmp(seg[4], "releases")) {
        h_releases(r, o, ns);
    } else if (!bundles && n == 7 && !strcmp(seg[6], "latest") && ul_http_args_ok(r, no_args, o)) {
        h_latest(r, o, ns, seg[5]);
    } else if (bundles && n == 7 && !strcmp(seg[6], "latest.cbor") &&
               ul_http_args_ok(r, no_args, o)) {
        h_bundle_latest(r, o, ns, seg[5]);
    } else if (bundles && n == 9 && !strcmp(seg[6], "releases") && ul_http_args_ok(r, no_args, o)) {
        h_bundle_at(r, o, ns, seg[5], seg[7], seg[8]);
    } else if (o->status == 0) {
        ul_http_error(o, MHD_HTTP_NOT_FOUND, UL_E_NOT_FOUND, "no such route");
    }
}

static void route_v1(const ul_http_req *r, ul_http_out *o, char **seg, int n)
{
    const char *what = n >= 2 ? seg[1] : "";
    if (n == 2 && !strcmp(what, "status")) {
        h_status(r, o);
    } else if (n == 2 && (!strcmp(what, "genesis") || !strcmp(what, "genesis.cbor"))) {
        if (ul_http_args_ok(r, no_args, o)) {
            h_genesis(r, o, r->cbor || !strcmp(what, "genesis.cbor"));
        }
    } else if (n == 3 && !strcmp(what, "blocks") && ul_http_args_ok(r, no_args, o)) {
        h_block(r, o, seg[2]);
    } else if (n == 3 && !strcmp(what, "releases") && ul_http_args_ok(r, no_args, o)) {
        h_release(r, o, seg[2]);
    } else if (n >= 4 && (!strcmp(what, "namespaces") || !strcmp(what, "bundles"))) {
        namespace_routes(r, o, seg, n);
    } else if (n == 2 && !strcmp(what, "search")) {
        h_search(r, o);
    } else if (n == 4 && !strcmp(what, "proofs") && !strcmp(seg[2], "inclusion")) {
        h_inclusion(r, o, seg[3]);
    } else if (n == 3 && !strcmp(what, "proofs") && !strcmp(seg[2], "consistency")) {
        h_consistency(r, o);
    } else if (n == 2 && !strcmp(what, "validators")) {
        h_validators(r, o);
    } else if (n == 2 && !strcmp(what, "evidence")) {
        h_evidence(r, o);
    } else if (o->status == 0) {
        ul_http_error(o, MHD_HTTP_NOT_FOUND, UL_E_NOT_FOUND, "no such route: %.200s", r->url);
    }
}

/* Answers whose bytes never change once given (a committed height's block, the genesis) are
 * looked up in the cache first, when the request has no query parameters to check. */
static bool cached_route(const ul_http_req *r, ul_http_out *o, char **seg, int n)
{
    bool immutable =
        n >= 2 && !strcmp(seg[0], "v1") &&
        ((n == 3 && !strcmp(seg[1], "blocks")) || (n == 2 && !strncmp(seg[1], "genesis", 7)) ||
         (n == 9 && !strcmp(seg[1], "bundles") && !strcmp(seg[6], "releases")));
    if (!immutable) {
        return false;
    }
    snprintf(o->cache_key, sizeof o->cache_key, "%c%s", r->cbor ? 'c' : 'j', r->url);
    return MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, NULL, NULL) == 0 &&
           ul_http_cache_serve(r, o->cache_key, o);
}

/* The route's template, for counting requests by route ("*" matches one segment). */
static const char *route_template(char **seg, int n)
{
    static const struct {
        int n;
        const char *pat[9];
        const char *name;
    } routes[] = {
        {1, {"health"}, "/health"},
        {1, {"metrics"}, "/metrics"},
        {2, {"v1", "status"}, "/v1/status"},
        {2, {"v1", "genesis"}, "/v1/genesis"},
        {2, {"v1", "genesis.cbor"}, "/v1/genesis.cbor"},
        {3, {"v1", "blocks", "*"}, "/v1/blocks/{height}"},
        {3, {"v1", "releases", "*"}, "/v1/releases/{id}"},
        {4, {"v1", "namespaces", "*", "*"}, "/v1/namespaces/{vendor}/{product}"},
        {5,
         {"v1", "namespaces", "*", "*", "releases"},
         "/v1/namespaces/{vendor}/{product}/releases"},
        {7,
         {"v1", "namespaces", "*", "*", "hw", "*", "latest"},
         "/v1/namespaces/{vendor}/{product}/hw/{class}/latest"},
        {2, {"v1", "search"}, "/v1/search"},
        {4, {"v1", "proofs", "inclusion", "*"}, "/v1/proofs/inclusion/{id}"},
        {3, {"v1", "proofs", "consistency"}, "/v1/proofs/consistency"},
        {7,
         {"v1", "bundles", "*", "*", "hw", "*", "latest.cbor"},
         "/v1/bundles/{vendor}/{product}/hw/{class}/latest.cbor"},
        {9,
         {"v1", "bundles", "*", "*", "hw", "*", "releases", "*", "*"},
         "/v1/bundles/{vendor}/{product}/hw/{class}/releases/{id}/{height}.cbor"},
        {2, {"v1", "validators"}, "/v1/validators"},
        {2, {"v1", "evidence"}, "/v1/evidence"},
    };
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        int k = 0;
        while (routes[i].n == n && k < n &&
               (!strcmp(routes[i].pat[k], "*") || !strcmp(routes[i].pat[k], seg[k]))) {
            k++;
        }
        if (routes[i].n == n && k == n) {
            return routes[i].name;
        }
    }
    return "other";
}

void ul_http_route(const ul_http_req *r, ul_http_out *o)
{
    char path[UL_HTTP_MAX_URL], *seg[MAX_SEGS];
    int n = -1;
    if (strlen(r->url) < sizeof path) {
        snprintf(path, sizeof path, "%s", r->url + 1);
        n = ul_http_split(path, seg, MAX_SEGS);
    }
    o->route = n > 0 ? route_template(seg, n) : "other";
    if (n == 1 && !strcmp(seg[0], "health")) {
        h_health(r, o);
    } else if (n == 1 && !strcmp(seg[0], "metrics")) {
        h_metrics(r, o);
    } else if (n >= 2 && !strcmp(seg[0], "v1")) {
        if (!cached_route(r, o, seg, n)) {
            route_v1(r, o, seg, n);
        }
    } else {
        ul_http_error(o, MHD_HTTP_NOT_FOUND, UL_E_NOT_FOUND, "no such route: %.200s", r->url);
    }
}
