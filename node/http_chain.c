/* The HTTP API's node state and chain reads (docs/openapi.yaml): status, health, metrics,
 * the genesis, blocks, the validator sets and evidence. */
#include <stdlib.h>
#include <string.h>

#include "../p2p/ul_p2p.h"
#include "http_int.h"

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
        ul_http_hex32(s->chain_id.ptr), "height", ul_json_u64(s->height), "round",
        ul_json_u64(s->round), "log_size", ul_json_u64(s->log_size), "pooled",
        ul_json_u64(s->pooled), "in_sync", in_sync(s), "sync_target", ul_json_u64(s->sync_target),
        "claims_ignored", ul_json_u64(s->claims_ignored), "peers", "received",
        ul_json_u64(s->peer_received), "malformed", ul_json_u64(s->peer_malformed), "bad_sig",
        ul_json_u64(s->peer_bad_sig), "unknown_sender", ul_json_u64(s->peer_unknown),
        "send_dropped", ul_json_u64(s->send_dropped));
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
    json_t *st = s->store_fault ? json_pack("{s:b,s:s,s:o,s:o}", "ok", 0, "error",
                                            ul_err_name((ul_err)s->store_fault), "code",
                                            ul_json_u64(s->store_fault), "detail",
                                            ul_http_span_str(s->store_text))
                                : json_pack("{s:b}", "ok", 1);
    if (o) {
        json_object_set_new(o, "storage", st);
    }
    return o;
}

bool ul_http_get_status(const ul_http_req *r, ul_http_query *c, ul_q_status_reply *s,
                        ul_http_out *o)
{
    ul_q_status_req(&c->q);
    if (!ul_http_ask(r, c, o, "node status")) {
        return false;
    }
    ul_err e = ul_q_status_reply_read(&c->r, s);
    return e == UL_OK || ul_http_bad_reply(o, e, "node status");
}

void ul_http_h_status(const ul_http_req *r, ul_http_out *o)
{
    ul_http_query c = {0};
    ul_q_status_reply s;
    if (ul_http_args_ok(r, ul_http_no_args, o) && ul_http_get_status(r, &c, &s, o)) {
        ul_http_json(o, status_json(&s));
    }
    ul_p2p_free(c.buf);
}

/* 200 while in sync and able to sign or serve; 503 naming why not. */
void ul_http_h_health(const ul_http_req *r, ul_http_out *o)
{
    ul_http_query c = {0};
    ul_q_status_reply s;
    ul_err why = UL_OK;
    char reason[300] = "";
    if (!ul_http_args_ok(r, ul_http_no_args, o)) {
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

void ul_http_h_genesis(const ul_http_req *r, ul_http_out *o, bool cbor)
{
    ul_http_query c = {0};
    ul_q_genesis_reply g;
    ul_genesis *gen = malloc(sizeof *gen);
    ul_err e;
    ul_q_genesis_req(&c.q);
    if (!gen) {
        ul_http_error(o, 0, UL_E_NOMEM, "out of memory");
    } else if (ul_http_ask(r, &c, o, "genesis") &&
               ((e = ul_q_genesis_reply_read(&c.r, &g)) != UL_OK ||
                (e = ul_schema_genesis_decode(gen, g.genesis.ptr, g.genesis.len)) != UL_OK)) {
        ul_http_bad_reply(o, e, "genesis");
    } else if (c.buf && cbor) {
        ul_http_bytes(o, "application/cbor", g.genesis.ptr, g.genesis.len);
    } else if (c.buf) {
        uint8_t id[UL_HASH_BYTES];
        char when[32];
        json_t *vals = json_array();
        ul_client_sha256(id, g.genesis.ptr, g.genesis.len);
        ul_json_time_str(when, gen->time_ms / 1000);
        for (size_t i = 0; i < gen->validators.n; i++) {
            json_array_append_new(
                vals, json_pack("{s:o,s:o}", "pubkey", ul_http_hex32(gen->validators.v[i].pubkey),
                                "power", ul_json_u64(gen->validators.v[i].power)));
        }
        ul_http_json(o, json_pack("{s:o,s:o,s:s%,s:o,s:s,s:o}", "chain_id", ul_http_hex32(id),
                                  "version", ul_json_u64(gen->version), "name",
                                  (const char *)gen->name.ptr, gen->name.len, "time_ms",
                                  ul_json_u64(gen->time_ms), "time", when, "validators", vals));
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
    ul_http_query c = {0};
    ul_err e = UL_OK;
    ul_q_validators_req(&c.q, h);
    bool ok = ul_http_ask(r, &c, o, "validator set");
    if (ok && ((e = ul_q_validators_reply_read(&c.r, v)) != UL_OK ||
               (e = ul_schema_valset_decode(vs, v->valset.ptr, v->valset.len)) != UL_OK)) {
        ok = ul_http_bad_reply(o, e, "validator set");
    }
    v->valset = (ul_span){0}; /* it pointed into the reply */
    ul_p2p_free(c.buf);
    return ok;
}

static json_t *valset_json(const ul_valset *vs)
{
    json_t *a = json_array();
    for (size_t i = 0; i < vs->n; i++) {
        json_array_append_new(a, json_pack("{s:o,s:o}", "pubkey", ul_http_hex32(vs->v[i].pubkey),
                                           "power", ul_json_u64(vs->v[i].power)));
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
            json_array_append_new(signers,
                                  json_pack("{s:o,s:o,s:o}", "pubkey", ul_http_hex32(v->pubkey),
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
        json_array_append_new(txs, json_pack("{s:s,s:o}", "kind", ul_json_tx_kind_name(t.kind),
                                             "id", ul_http_hex32(id)));
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

void ul_http_h_block(const ul_http_req *r, ul_http_out *o, const char *hs)
{
    ul_http_query c = {0};
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
    if (!ul_http_ask(r, &c, o, "block")) {
        return;
    }
    if ((e = ul_q_block_reply_read(&c.r, &br)) != UL_OK ||
        !ul_msg_list_next(&br.blocks.wire, &blk) || !ul_msg_list_next(&br.commits.wire, &cms)) {
        ul_http_bad_reply(o, e, "block");
    } else if (r->cbor) {
        ul_http_bytes(o, "application/cbor", blk.ptr, blk.len);
    } else if (!(w = malloc(sizeof *w))) {
        ul_http_error(o, 0, UL_E_NOMEM, "out of memory");
    } else if ((e = ul_schema_block_decode(&w->b, w->spans, UL_MAX_BLOCK_TXS, blk.ptr, blk.len)) ||
               (e = ul_schema_header_decode(&w->hd, w->b.header.ptr, w->b.header.len)) ||
               (e = ul_schema_commit_decode(&w->cm, cms.ptr, cms.len))) {
        ul_http_bad_reply(o, e, "block");
    } else if (valset_at(r, h, &w->vs, &w->v, o)) {
        ul_http_json(o, block_json(&w->b, &w->hd, &w->cm, &w->vs));
    }
    o->caching = UL_HTTP_IMMUTABLE;
    o->keep = true;
    free(w);
    ul_p2p_free(c.buf);
}

/* ---- validators, evidence, metrics ---- */

void ul_http_h_validators(const ul_http_req *r, ul_http_out *o)
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

void ul_http_h_evidence(const ul_http_req *r, ul_http_out *o)
{
    ul_http_query c = {0};
    ul_q_evidence_reply ev;
    ul_err e;
    ul_q_evidence_req(&c.q);
    if (!ul_http_args_ok(r, ul_http_no_args, o) || !ul_http_ask(r, &c, o, "evidence")) {
        return;
    }
    if ((e = ul_q_evidence_reply_read(&c.r, &ev)) != UL_OK) {
        ul_http_bad_reply(o, e, "evidence");
    } else {
        json_t *list = json_array();
        for (size_t i = 0; i < ev.entries.len / UL_RPC_EVIDENCE_ENTRY_BYTES; i++) {
            const uint8_t *p = ev.entries.ptr + i * UL_RPC_EVIDENCE_ENTRY_BYTES;
            const char *type = p[48] == UL_VOTE_PREVOTE     ? "prevote"
                               : p[48] == UL_VOTE_PRECOMMIT ? "precommit"
                                                            : "unknown";
            json_array_append_new(
                list, json_pack("{s:o,s:o,s:o,s:s,s:o,s:o}", "validator", ul_http_hex32(p),
                                "height", ul_json_u64(ul_be64_get(p + 32)), "round",
                                ul_json_u64(ul_be64_get(p + 40)), "type", type, "recorded_at",
                                ul_json_u64(ul_be64_get(p + 49)), "tx", ul_http_hex32(p + 57)));
        }
        ul_http_json(o, json_pack("{s:o}", "evidence", list));
    }
    o->caching = UL_HTTP_SHORT;
    ul_p2p_free(c.buf);
}

/* The node's Prometheus page (its figures refreshed by the node thread as it answers). */
void ul_http_h_metrics(const ul_http_req *r, ul_http_out *o)
{
    ul_http_query c = {0};
    ul_q_metrics_reply mr;
    ul_err e;
    ul_q_metrics_req(&c.q);
    if (ul_http_args_ok(r, ul_http_no_args, o) && ul_http_ask_optional(r, &c, o, "metrics")) {
        if ((e = ul_q_metrics_reply_read(&c.r, &mr)) == UL_OK) {
            ul_http_bytes(o, "text/plain; version=0.0.4; charset=utf-8", mr.text.ptr, mr.text.len);
        } else {
            ul_http_bad_reply(o, e, "metrics");
        }
    }
    ul_p2p_free(c.buf);
}
