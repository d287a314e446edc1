/* upledger query: status, release, history, latest, block, proof and evidence, from a node
 * (search and metrics: cli/cmd_search.c). */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* Releases one `query history` page lists unless --limit says otherwise. */
#define HISTORY_PAGE 50

static const char query_help[] =
    "usage: upledger query status\n"
    "       upledger query release ID            (64 hex digits, from publish or history)\n"
    "       upledger query history NS [--limit N] [--cursor C] [--oldest-first]\n"
    "                    one page of a namespace's releases, newest first: N of them (default\n"
    "                    50, at most 1024) from log index C; a page that is not the last ends\n"
    "                    with the command for the next one (--json: next_cursor)\n"
    "       upledger query latest NS --hw CLASS [--installed NS=VERSION]...\n"
    "                    the newest installable, unrevoked release for a hardware class whose\n"
    "                    dependencies the installed components satisfy, among the 8 newest\n"
    "                    installable ones the chain's state keeps for the class (what devices\n"
    "                    are served)\n"
    "       upledger query provenance ID         who published and co-signed it, when, its\n"
    "                    dependencies, revocation, successor, commit signers, and proofs\n"
    "                    (dependency and successor looked for among 1024 releases)\n"
    "       upledger query block HEIGHT|head\n"
    "       upledger query commit HEIGHT|head [--out FILE]\n"
    "                    the block's commit, verified against the validator set that signs it\n"
    "                    (the set's hash is the header's validators_hash): signers, power,\n"
    "                    round, BFT time; --out saves the header (canonical bytes) for\n"
    "                    upledger verify-consistency\n"
    "       upledger query consistency FROM TO [--out FILE]\n"
    "                    the RFC 9162 proof that the release log at height TO extends the one\n"
    "                    at height FROM (heights, or head), verified against both headers'\n"
    "                    log roots; --out saves the proof for verify-consistency --proof\n"
    "       upledger query proof ID [--hw CLASS] [--height H] [--out FILE]\n"
    "                    the proof bundle (version 2) a device of hardware CLASS (default: the\n"
    "                    release's first class) verifies: validator-set changes, header and\n"
    "                    commit, record, inclusion and state proofs; checked here with the\n"
    "                    device library first, and with what a new device would decide;\n"
    "                    --height H: against header H (any committed height; its state\n"
    "                    proofs show the state as of H), default the head\n"
    "       upledger query evidence               recorded equivocations, one line each:\n"
    "                    validator, height, round, vote type, height recorded at, evidence tx\n"
    "                    (nothing when none; with --json a list)\n"
    "       upledger query search --digest HEX | --signer HEX [--limit N] [--cursor C]\n"
    "                    [--oldest-first]  the releases whose image has SHA-256 HEX, or that\n"
    "                    key HEX signed (as publisher or co-signer), newest first: N of them\n"
    "                    (default 50, at most 256) from log index C: height, namespace,\n"
    "                    version, sequence and id of each\n"
    "       upledger query metrics                the node's Prometheus text page\n"
    "All take --json (before the command, upledger --json query ..., or after it).\n";

typedef struct {
    ul_msg q, r;
    uint8_t *buf;
} call;

static ul_err rpc(ul_cli *cli, call *c)
{
    return ul_cli_call(cli, &c->q, &c->r, &c->buf);
}

/* A release as method 5 (release) answers it, and a history page's records too: publish tx,
 * log index, height, block time (read by ul_q_release_reply_read). */
static json_t *release_of_reply(const ul_q_release_reply *r, ul_err *err)
{
    uint64_t idx = r->log_index, h = r->height, when = r->time_ms;
    char t[32];
    json_t *o = ul_cli_release_json(r->tx.ptr, r->tx.len);
    ul_err e = o ? UL_OK : UL_E_CORRUPT;
    if (o) {
        ul_cli_time_str(t, when / 1000);
        json_object_set_new(o, "log_index", ul_cli_u64(idx));
        json_object_set_new(o, "height", ul_cli_u64(h));
        json_object_set_new(o, "block_time", json_string(t));
    }
    *err = e;
    return o;
}

json_t *ul_cli_fetch_release(ul_cli *cli, const uint8_t id[UL_HASH_BYTES], ul_err *err)
{
    call c;
    ul_q_release_reply rr;
    ul_q_release_req(&c.q, id);
    ul_err e = rpc(cli, &c);
    if (e == UL_OK) {
        e = ul_q_release_reply_read(&c.r, &rr);
    }
    json_t *o = e == UL_OK ? release_of_reply(&rr, &e) : NULL;
    ul_p2p_free(c.buf);
    *err = e;
    return o;
}

static int show_release(ul_cli *cli, const uint8_t id[UL_HASH_BYTES], const char *arg)
{
    ul_err e;
    json_t *o = ul_cli_fetch_release(cli, id, &e);
    if (!o) {
        return ul_cli_fail(cli, e, "release %s", arg);
    }
    if (cli->json) {
        ul_cli_print_json(o);
    } else {
        ul_cli_print_release(o);
        json_decref(o);
    }
    return 0;
}

/* The node's storage condition (status store fault and text, present only when not sound):
 * {"ok": true}, or {"ok": false, "error": NAME, "code": N, "message": ..., "detail": ...}. */
static json_t *storage_json(const ul_q_status_reply *r)
{
    uint64_t code = r->store_fault;
    ul_span text = {(const uint8_t *)"", 0};
    if (!UL_Q_HAS(r, UL_QREP_STATUS_STORE_FAULT) || code == UL_OK) {
        return json_pack("{s:b}", "ok", 1);
    }
    if (UL_Q_HAS(r, UL_QREP_STATUS_STORE_TEXT)) {
        text = r->store_text;
    }
    return json_pack("{s:b,s:s,s:I,s:s,s:s%}", "ok", 0, "error", ul_err_name((ul_err)code), "code",
                     (json_int_t)code, "message", ul_err_str((ul_err)code), "detail",
                     (const char *)text.ptr, text.len);
}

/* A validator's sign state in a STATUS reply, or NULL for a node that does not sign. "state" is
 * "ok" or "refused" (with the reason's code and, while it waits for the network, the height it
 * waits to see committed). */
static json_t *sign_status_json(const ul_q_status_reply *r)
{
    static const char *const steps[] = {"none", "proposal", "prevote", "precommit"};
    if (!UL_Q_HAS(r, UL_QREP_STATUS_SIGN_HEIGHT) || !UL_Q_HAS(r, UL_QREP_STATUS_SIGN_ROUND) ||
        !UL_Q_HAS(r, UL_QREP_STATUS_SIGN_STEP) || !UL_Q_HAS(r, UL_QREP_STATUS_SIGN_REFUSING) ||
        !UL_Q_HAS(r, UL_QREP_STATUS_SIGN_UNTIL) || !UL_Q_HAS(r, UL_QREP_STATUS_SIGNED)) {
        return NULL;
    }
    json_t *o =
        json_pack("{s:o,s:I,s:I,s:s,s:s,s:o}", "height", ul_cli_u64(r->sign_height), "round",
                  (json_int_t)r->sign_round, "step", (json_int_t)r->sign_step, "step_name",
                  steps[r->sign_step], "state", r->sign_refusing ? "refused" : "ok",
                  "signed_since_start", ul_cli_u64(r->signed_count));
    if (o && r->sign_refusing) {
        json_object_set_new(o, "error", json_string(ul_err_name((ul_err)r->sign_refusing)));
        json_object_set_new(o, "until_height", ul_cli_u64(r->sign_until));
    }
    return o;
}

static void print_sign_status(const json_t *s)
{
    json_int_t until = json_integer_value(json_object_get(s, "until_height"));
    printf("  signing     %s; last signed height %lld round %lld %s\n",
           strcmp(json_string_value(json_object_get(s, "state")), "ok")
               ? (until ? "REFUSED until the network commits past its height"
                        : "REFUSED: sign state lost (see upledgerd --reset-sign-state)")
               : "yes",
           (long long)json_integer_value(json_object_get(s, "height")),
           (long long)json_integer_value(json_object_get(s, "round")),
           json_string_value(json_object_get(s, "step_name")));
    if (until) {
        printf("              (it signs again once height %lld is committed)\n", (long long)until);
    }
}

static int q_status(ul_cli *cli)
{
    call c;
    uint64_t h, logsz, pending;
    const uint8_t *id;
    ul_span hdr;
    ul_header hd;
    ul_q_status_reply sr;
    ul_q_status_req(&c.q);
    ul_err e = rpc(cli, &c);
    if (e == UL_OK && (e = ul_q_status_reply_read(&c.r, &sr)) == UL_OK) {
        h = sr.height, id = sr.chain_id.ptr, logsz = sr.log_size, pending = sr.pooled;
    }
    if (e != UL_OK) {
        ul_p2p_free(c.buf);
        return ul_cli_fail(cli, e, "status of node %s", cli->node);
    }
    json_t *o = json_pack("{s:s,s:o,s:I,s:I,s:I}", "node", cli->node, "chain_id",
                          ul_cli_hex_json(id, 32), "height", (json_int_t)h, "log_size",
                          (json_int_t)logsz, "pending", (json_int_t)pending);
    hdr = sr.head; /* empty when the reply has no head (height 0) */
    if (UL_Q_HAS(&sr, UL_QREP_STATUS_HEAD) &&
        ul_schema_header_decode(&hd, hdr.ptr, hdr.len) == UL_OK) {
        uint8_t hash[UL_HASH_BYTES];
        ul_client_sha256(hash, hdr.ptr, hdr.len);
        json_object_set_new(o, "head", ul_cli_header_json(&hd, hash));
    }
    json_object_set_new(o, "storage", storage_json(&sr));
    json_t *sign = sign_status_json(&sr);
    if (sign) {
        json_object_set_new(o, "signing", sign);
    }
    if (UL_Q_HAS(&sr, UL_QREP_STATUS_SYNC_TARGET) && UL_Q_HAS(&sr, UL_QREP_STATUS_CLAIMS_IGNORED)) {
        /* As a string: a claim may be any uint64, above what a JSON integer holds. */
        char t[24];
        snprintf(t, sizeof t, "%llu", (unsigned long long)sr.sync_target);
        json_object_set_new(
            o, "sync",
            json_pack("{s:s,s:I}", "target", t, "claims_ignored", (json_int_t)sr.claims_ignored));
    }
    ul_p2p_free(c.buf);
    if (cli->json) {
        ul_cli_print_json(o);
        return 0;
    }
    json_t *head = json_object_get(o, "head"), *st = json_object_get(o, "storage");
    printf("node %s\n  chain id    %s\n  height      %llu%s%s\n  release log %llu releases\n"
           "  pending     %llu transactions\n",
           cli->node, json_string_value(json_object_get(o, "chain_id")), (unsigned long long)h,
           head ? ", head " : "", head ? json_string_value(json_object_get(head, "hash")) : "",
           (unsigned long long)logsz, (unsigned long long)pending);
    if (sign) {
        print_sign_status(sign);
    }
    if (json_is_true(json_object_get(st, "ok"))) {
        printf("  storage     ok\n");
    } else {
        printf("  storage     %s (%s): %s\n", json_string_value(json_object_get(st, "message")),
               json_string_value(json_object_get(st, "error")),
               json_string_value(json_object_get(st, "detail")));
    }
    json_t *sync = json_object_get(o, "sync");
    if (sync && json_integer_value(json_object_get(sync, "claims_ignored"))) {
        printf("  sync        peer claims set aside %lld times (claimed, did not serve)\n",
               (long long)json_integer_value(json_object_get(sync, "claims_ignored")));
    }
    json_decref(o);
    return 0;
}

json_t *ul_cli_history(ul_cli *cli, const char *ns, uint64_t from, size_t limit, bool newest_first,
                       uint64_t *next, bool *more, ul_err *err)
{
    call c;
    ul_q_history_reply hr;
    /* with each release's record: one request per page */
    ul_q_history_req(&c.q, ul_span_str(ns), &from, limit, newest_first, true);
    ul_err e = rpc(cli, &c);
    ul_span recs, one;
    if (e == UL_OK && ((e = ul_q_history_reply_read(&c.r, &hr)) ||
                       !UL_Q_HAS(&hr, UL_QREP_HISTORY_RECORDS) || hr.records.n > limit)) {
        e = UL_E_PROTOCOL;
    }
    *more = e == UL_OK && UL_Q_HAS(&hr, UL_QREP_HISTORY_NEXT);
    *next = *more ? hr.next : 0;
    recs = e == UL_OK ? hr.records.wire : (ul_span){0};
    json_t *list = e == UL_OK ? json_array() : NULL;
    while (e == UL_OK && ul_msg_list_next(&recs, &one)) {
        ul_msg m;
        ul_q_release_reply rr;
        json_t *rel = NULL;
        if ((e = ul_q_release_record_decode(&m, one, &rr)) == UL_OK &&
            (rel = release_of_reply(&rr, &e)) != NULL) {
            json_array_append_new(list, rel);
        }
    }
    ul_p2p_free(c.buf);
    if (e != UL_OK) {
        json_decref(list);
        list = NULL;
    }
    *err = e;
    return list;
}

/* One page of a namespace's history: --limit releases (default HISTORY_PAGE) from --cursor (a
 * log index a page before printed; default the newest, or the oldest with --oldest-first). */
static int q_history(ul_cli *cli, const char *ns, const char *limit_s, const char *cursor_s,
                     bool oldest_first)
{
    uint64_t limit = HISTORY_PAGE, from = oldest_first ? 0 : UINT64_MAX, next;
    bool more;
    ul_err e;
    if (limit_s &&
        (ul_cli_u64_arg(limit_s, &limit) != UL_OK || limit == 0 || limit > UL_MAX_HISTORY)) {
        return ul_cli_usage("query history: --limit is a number from 1 to %d", UL_MAX_HISTORY);
    }
    if (cursor_s && ul_cli_u64_arg(cursor_s, &from) != UL_OK) {
        return ul_cli_usage("query history: --cursor is a log index (a number) a page printed");
    }
    json_t *list = ul_cli_history(cli, ns, from, (size_t)limit, !oldest_first, &next, &more, &e);
    if (!list) {
        return ul_cli_fail(cli, e, "history of %s", ns);
    }
    if (cli->json) {
        ul_cli_print_json(json_pack("{s:s,s:s,s:o,s:o}", "namespace", ns, "order",
                                    oldest_first ? "oldest first" : "newest first", "releases",
                                    list, "next_cursor",
                                    more ? json_integer((json_int_t)next) : json_null()));
        return 0;
    }
    size_t i;
    json_t *r;
    printf("%s: %zu release%s, %s\n", ns, json_array_size(list),
           json_array_size(list) == 1 ? "" : "s", oldest_first ? "oldest first" : "newest first");
    json_array_foreach(list, i, r)
    {
        printf("  %-4llu %-12s %-12s height %-6llu %s\n",
               (unsigned long long)ul_cli_u64_value(json_object_get(r, "sequence")),
               json_string_value(json_object_get(r, "version")),
               json_string_value(json_object_get(r, "kind")),
               (unsigned long long)ul_cli_u64_value(json_object_get(r, "height")),
               json_string_value(json_object_get(r, "id")));
    }
    if (more) {
        printf("more: upledger query history %s --cursor %llu%s%s\n", ns, (unsigned long long)next,
               limit_s ? " --limit " : "", limit_s ? limit_s : "");
    }
    json_decref(list);
    return 0;
}

static void print_block(json_t *o)
{
    json_t *hj = json_object_get(o, "header"), *t;
    const char *fields[] = {
        "hash", "time", "prev", "tx_root", "log_root", "state_root", "validators_hash", "proposer"};
    size_t i;
    printf("block %llu\n", (unsigned long long)ul_cli_u64_value(json_object_get(hj, "height")));
    for (i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        printf("  %-16s %s\n", fields[i], json_string_value(json_object_get(hj, fields[i])));
    }
    printf("  %-16s %llu\n  %-16s %zu\n", "log_size",
           (unsigned long long)ul_cli_u64_value(json_object_get(hj, "log_size")), "txs",
           json_array_size(json_object_get(o, "txs")));
    json_array_foreach(json_object_get(o, "txs"), i, t)
    {
        printf("    %-8s %s\n", json_string_value(json_object_get(t, "kind")),
               json_string_value(json_object_get(t, "id")));
    }
}

static int q_block(ul_cli *cli, const char *arg)
{
    call c;
    uint64_t h = 0;
    ul_span blk;
    ul_block b;
    ul_header hd;
    uint8_t hash[UL_HASH_BYTES];
    ul_err he = ul_cli_height_arg(cli, arg, &h);
    if (he == UL_E_ARG) {
        return ul_cli_usage("query block: HEIGHT is a number >= 1, or head");
    }
    if (he != UL_OK) {
        return ul_cli_fail(cli, he, "head block of %s", cli->node);
    }
    ul_span *spans = malloc(UL_MAX_BLOCK_TXS * sizeof *spans);
    ul_q_block_reply br;
    ul_q_block_req(&c.q, h, 0);
    ul_err e = spans ? rpc(cli, &c) : UL_E_NOMEM;
    if (e == UL_OK &&
        ((e = ul_q_block_reply_read(&c.r, &br)) || !ul_msg_list_next(&br.blocks.wire, &blk) ||
         (e = ul_schema_block_decode(&b, spans, UL_MAX_BLOCK_TXS, blk.ptr, blk.len)) ||
         (e = ul_schema_header_decode(&hd, b.header.ptr, b.header.len)))) {
        e = e ? e : UL_E_PROTOCOL;
    }
    if (e != UL_OK) {
        free(spans);
        ul_p2p_free(c.buf);
        return ul_cli_fail(cli, e, "block %s", arg);
    }
    ul_client_sha256(hash, b.header.ptr, b.header.len);
    json_t *o = json_pack("{s:o,s:[]}", "header", ul_cli_header_json(&hd, hash), "txs");
    for (size_t i = 0; i < b.n_txs; i++) {
        ul_tx t;
        uint8_t id[UL_HASH_BYTES];
        if (ul_schema_tx_decode(&t, b.txs[i].ptr, b.txs[i].len) != UL_OK) {
            continue;
        }
        ul_client_sha256(id, t.kind == UL_TX_PUBLISH ? t.body.ptr : b.txs[i].ptr,
                         t.kind == UL_TX_PUBLISH ? t.body.len : b.txs[i].len);
        json_array_append_new(json_object_get(o, "txs"),
                              json_pack("{s:s,s:o}", "kind", ul_cli_tx_kind_name(t.kind), "id",
                                        ul_cli_hex_json(id, UL_HASH_BYTES)));
    }
    free(spans);
    ul_p2p_free(c.buf);
    if (cli->json) {
        ul_cli_print_json(o);
    } else {
        print_block(o);
        json_decref(o);
    }
    return 0;
}

/* The bundle of release id for hardware class hw (default: the record's first class), verified
 * as a new device of that class anchored at the node's genesis would verify it. */
typedef struct {
    uint8_t *gbuf, *rbuf, *bbuf;
    ul_span genesis, tx, bundle;
    ul_release rel;
    ul_release_info info;
    ul_err verdict;
    char hw[UL_MAX_LABEL_LEN + 1];
} proof_ctx;

static ul_err proof_fetch(ul_cli *cli, proof_ctx *p, const uint8_t id[UL_HASH_BYTES],
                          const char *hw, uint64_t h)
{
    ul_err e = ul_cli_genesis(cli, &p->gbuf, &p->genesis);
    if (e == UL_OK && (e = ul_cli_record(cli, id, &p->rbuf, &p->tx, &p->rel)) == UL_OK) {
        snprintf(p->hw, sizeof p->hw, "%.*s", (int)(hw ? strlen(hw) : p->rel.hw[0].len),
                 hw ? hw : (const char *)p->rel.hw[0].ptr);
        e = ul_cli_bundle(cli, id, ul_span_str(p->hw), h, &p->bbuf, &p->bundle);
    }
    if (e == UL_OK) {
        p->verdict = ul_cli_bundle_check(p->genesis, ul_span_str(p->hw), p->rel.ns, p->bundle.ptr,
                                         p->bundle.len, &p->info);
        e = ul_cli_proofs_held(p->verdict) ? UL_OK : p->verdict;
    }
    return e;
}

static void proof_free(proof_ctx *p)
{
    ul_p2p_free(p->gbuf);
    ul_p2p_free(p->rbuf);
    ul_p2p_free(p->bbuf);
}

static int q_proof(ul_cli *cli, const char *idarg, const char *height, const char *out,
                   const char *hw)
{
    uint8_t id[UL_HASH_BYTES];
    uint64_t h = 0;
    static proof_ctx p;
    char hash[65];
    if (ul_cli_id_arg(idarg, id) != UL_OK) {
        return ul_cli_usage("query proof: ID is 64 hex digits");
    }
    if (height) {
        char *end;
        h = strtoull(height, &end, 10);
        if (*end || h == 0) {
            return ul_cli_usage("query proof: --height is a number >= 1");
        }
    }
    memset(&p, 0, sizeof p);
    ul_err e = proof_fetch(cli, &p, id, hw, h);
    if (e == UL_OK && out) {
        e = ul_cli_write_file(out, p.bundle.ptr, p.bundle.len);
    }
    if (e != UL_OK) {
        proof_free(&p);
        return ul_cli_fail(cli, e, "proof of release %s", idarg);
    }
    ul_hex_encode(hash, p.info.header_hash, 32);
    json_t *o = json_pack(
        "{s:s,s:b,s:s,s:s,s:I,s:s,s:I,s:I,s:I}", "release", idarg, "verified", 1, "hw", p.hw,
        "device_verdict", p.verdict == UL_OK ? "ok" : ul_err_name(p.verdict), "height",
        (json_int_t)p.info.height, "header_hash", hash, "log_index", (json_int_t)p.info.log_index,
        "valset_steps", (json_int_t)p.info.steps, "bundle_bytes", (json_int_t)p.bundle.len);
    if (out) {
        json_object_set_new(o, "file", json_string(out));
    }
    if (p.info.checkpoint_time_ms) { /* the head's freshness checkpoint (protocol.md 7.4) */
        json_object_set_new(o, "checkpoint_time_ms", ul_cli_u64(p.info.checkpoint_time_ms));
    }
    if (cli->json) {
        ul_cli_print_json(o);
    } else {
        printf("proof for release %s (hardware %s): verified\n  header   height %llu, %s\n"
               "  log      leaf %llu\n  device   a new device of the class: %s\n"
               "  bundle   %zu bytes%s%s\n",
               idarg, p.hw, (unsigned long long)p.info.height, hash,
               (unsigned long long)p.info.log_index,
               p.verdict == UL_OK ? "would install it" : ul_err_str(p.verdict), p.bundle.len,
               out ? ", written to " : "", out ? out : "");
        json_decref(o);
    }
    proof_free(&p);
    return 0;
}

/* Recorded equivocations: one line (or JSON object) per record, in the node's order. */
static int q_evidence(ul_cli *cli)
{
    call c;
    ul_span b;
    char acc[2 * UL_PUBKEY_BYTES + 1], id[2 * UL_HASH_BYTES + 1];
    ul_q_evidence_req(&c.q);
    ul_err e = rpc(cli, &c);
    ul_q_evidence_reply ev;
    if (e == UL_OK && (e = ul_q_evidence_reply_read(&c.r, &ev)) == UL_OK) {
        b = ev.entries; /* whole entries */
    }
    if (e != UL_OK) {
        ul_p2p_free(c.buf);
        return ul_cli_fail(cli, e, "evidence of node %s", cli->node);
    }
    json_t *list = json_array();
    for (size_t i = 0; i < b.len / UL_RPC_EVIDENCE_ENTRY_BYTES; i++) {
        const uint8_t *p = b.ptr + i * UL_RPC_EVIDENCE_ENTRY_BYTES;
        const char *type = p[48] == UL_VOTE_PREVOTE     ? "prevote"
                           : p[48] == UL_VOTE_PRECOMMIT ? "precommit"
                                                        : "unknown";
        ul_hex_encode(acc, p, UL_PUBKEY_BYTES);
        ul_hex_encode(id, p + 57, UL_HASH_BYTES);
        if (cli->json) {
            json_array_append_new(list, json_pack("{s:s,s:I,s:I,s:s,s:I,s:s}", "validator", acc,
                                                  "height", (json_int_t)ul_be64_get(p + 32),
                                                  "round", (json_int_t)ul_be64_get(p + 40), "type",
                                                  type, "recorded_at",
                                                  (json_int_t)ul_be64_get(p + 49), "tx", id));
        } else {
            printf("%s height %llu round %llu %s recorded at %llu tx %s\n", acc,
                   (unsigned long long)ul_be64_get(p + 32), (unsigned long long)ul_be64_get(p + 40),
                   type, (unsigned long long)ul_be64_get(p + 49), id);
        }
    }
    ul_p2p_free(c.buf);
    if (cli->json) {
        ul_cli_print_json(list);
    } else {
        json_decref(list);
    }
    return 0;
}

/* Returns: 0 when ns is registered, else the failure namespace show gives (UL_E_NOT_FOUND, 1):
 * history and latest of an unknown namespace answer as it does. */
static int ns_unknown(ul_cli *cli, const char *ns)
{
    ul_err e = ul_cli_namespace(cli, ns, NULL, NULL);
    return e == UL_OK ? 0 : ul_cli_fail(cli, e, "namespace %s", ns);
}

int ul_cmd_query(ul_cli *cli, int argc, char **argv)
{
    const char *pos[3], *hw = NULL, *height = NULL, *out = NULL, *installed[UL_MAX_DEPS];
    const char *limit = NULL, *cursor = NULL, *digest = NULL, *signer = NULL;
    bool oldest_first = false;
    size_t np, n_installed = 0;
    ul_opt opts[] = {
        {"--hw", &hw},
        {"--limit", &limit},
        {"--cursor", &cursor},
        {"--digest", &digest},
        {"--signer", &signer},
        {"--oldest-first", .flag = &oldest_first},
        {"--height", &height},
        {"--out", &out},
        {"--installed", .multi = installed, .n_multi = &n_installed, .max_multi = UL_MAX_DEPS},
        {"--json", .flag = &cli->json}};
    int rc =
        ul_cli_parse(argc, argv, opts, sizeof opts / sizeof opts[0], pos, 1, 3, &np, query_help);
    if (rc >= 0) {
        return rc;
    }
    const char *what = pos[0], *arg = np > 1 ? pos[1] : NULL;
    if (np == 3 && strcmp(what, "consistency") != 0) {
        return ul_cli_usage("query %s: unexpected argument %s", what, pos[2]);
    }
    uint8_t id[UL_HASH_BYTES];
    if (!strcmp(what, "status") && !arg) {
        return q_status(cli);
    }
    if (!strcmp(what, "release") && arg) {
        if (ul_cli_id_arg(arg, id) != UL_OK) {
            return ul_cli_usage("query release: ID is 64 hex digits");
        }
        return show_release(cli, id, arg);
    }
    if (!strcmp(what, "history") && arg) {
        return (rc = ns_unknown(cli, arg)) ? rc : q_history(cli, arg, limit, cursor, oldest_first);
    }
    if (!strcmp(what, "latest") && arg && hw) {
        return (rc = ns_unknown(cli, arg))
                   ? rc
                   : ul_cli_query_latest(cli, arg, hw, installed, n_installed);
    }
    if (!strcmp(what, "provenance") && arg) {
        return ul_cli_query_provenance(cli, arg);
    }
    if (!strcmp(what, "block") && arg) {
        return q_block(cli, arg);
    }
    if (!strcmp(what, "commit") && arg) {
        return ul_cli_query_commit(cli, arg, out);
    }
    if (!strcmp(what, "consistency") && arg && np == 3) {
        return ul_cli_query_consistency(cli, arg, pos[2], out);
    }
    if (!strcmp(what, "proof") && arg) {
        return q_proof(cli, arg, height, out, hw);
    }
    if (!strcmp(what, "evidence") && !arg) {
        return q_evidence(cli);
    }
    if (!strcmp(what, "search") && !arg) {
        return ul_cli_query_search(cli, digest, signer, limit, cursor, oldest_first);
    }
    if (!strcmp(what, "metrics") && !arg) {
        return ul_cli_query_metrics(cli);
    }
    return ul_cli_usage("query: expected status, release ID, history NS, latest NS --hw CLASS, "
                        "provenance ID, block HEIGHT, commit HEIGHT, consistency FROM TO, "
                        "proof ID, evidence, search --digest|--signer HEX or metrics");
}
