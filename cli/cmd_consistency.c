/* upledger query commit, query consistency and verify-consistency: a block's commit checked
 * against the validator set that signs it, and the release log's consistency between two headers
 * (RFC 9162 section 2.1.4.2), checked with the device library from the node or offline from saved
 * header and proof files. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* Bytes of a canonical consistency proof: 64 hashes with their heads, two sizes, framing. */
#define PROOF_MAX (UL_MAX_PROOF_DEPTH * 34 + 32)

const char ul_cli_verify_consistency_help[] =
    "usage: upledger verify-consistency OLD_HEADER NEW_HEADER [--proof FILE]\n"
    "  Checks that the release log of NEW_HEADER extends that of OLD_HEADER: nothing logged\n"
    "  before was changed or removed (RFC 9162 consistency, verified with the device library).\n"
    "  OLD_HEADER and NEW_HEADER are header files as `upledger query commit H --out FILE` saves\n"
    "  them (canonical header bytes, after the commit was verified), of one chain. The proof is\n"
    "  read from --proof FILE (as `upledger query consistency FROM TO --out FILE` saves it), else\n"
    "  asked from the node; either way it is checked against the roots and sizes the two headers\n"
    "  carry, so the node need not be trusted. Exit 0 when consistent, 1 with the reason\n"
    "  (UL_E_MERKLE_PROOF, UL_E_MERKLE_RANGE, UL_E_CHAIN_ID), 2 for a usage error.\n";

/* A committed header from the node, with its commit. */
typedef struct {
    ul_header h;
    uint8_t hash[UL_HASH_BYTES];
    uint8_t bytes[UL_MAX_HEADER_BYTES];
    size_t len;
    ul_commit commit;
} committed;

/* Height argument: a number >= 1, or head (the node's height). */
ul_err ul_cli_height_arg(ul_cli *cli, const char *arg, uint64_t *h)
{
    if (strcmp(arg, "head") != 0) {
        return ul_cli_u64_arg(arg, h) == UL_OK && *h > 0 ? UL_OK : UL_E_ARG;
    }
    ul_msg q, r;
    uint8_t *buf = NULL;
    ul_q_status_reply st;
    ul_q_status_req(&q);
    ul_err e = ul_cli_call(cli, &q, &r, &buf);
    if (e == UL_OK && (e = ul_q_status_reply_read(&r, &st)) == UL_OK) {
        *h = st.height;
    }
    ul_p2p_free(buf);
    return e == UL_OK && *h == 0 ? UL_E_NOT_FOUND : e;
}

/* Block h's header and commit, from the node. */
static ul_err fetch_committed(ul_cli *cli, uint64_t h, committed *out)
{
    ul_msg q, r;
    uint8_t *buf = NULL;
    ul_span blk, cm;
    ul_q_block_reply br;
    ul_span *spans = malloc(UL_MAX_BLOCK_TXS * sizeof *spans);
    ul_block b;
    ul_q_block_req(&q, h, 0);
    ul_err e = spans ? ul_cli_call(cli, &q, &r, &buf) : UL_E_NOMEM;
    if (e == UL_OK &&
        (ul_q_block_reply_read(&r, &br) || !ul_msg_list_next(&br.blocks.wire, &blk) ||
         !ul_msg_list_next(&br.commits.wire, &cm) ||
         ul_schema_block_decode(&b, spans, UL_MAX_BLOCK_TXS, blk.ptr, blk.len) ||
         b.header.len > sizeof out->bytes ||
         ul_schema_header_decode(&out->h, b.header.ptr, b.header.len) ||
         ul_schema_commit_decode(&out->commit, cm.ptr, cm.len) || out->h.height != h)) {
        e = UL_E_PROTOCOL;
    }
    if (e == UL_OK) {
        memcpy(out->bytes, b.header.ptr, b.header.len);
        out->len = b.header.len;
        ul_client_sha256(out->hash, out->bytes, out->len);
    }
    free(spans);
    ul_p2p_free(buf);
    return e;
}

/* The set the node names as signing height h, checked against the header's validators_hash. */
static ul_err fetch_signers(ul_cli *cli, const ul_header *h, ul_valset *vs)
{
    ul_msg q, r;
    uint8_t *buf = NULL, vh[UL_HASH_BYTES];
    ul_q_validators_reply v;
    ul_q_validators_req(&q, h->height);
    ul_err e = ul_cli_call(cli, &q, &r, &buf);
    if (e == UL_OK && (ul_q_validators_reply_read(&r, &v) ||
                       ul_schema_valset_decode(vs, v.valset.ptr, v.valset.len))) {
        e = UL_E_PROTOCOL;
    }
    if (e == UL_OK && (e = ul_client_valset_hash(vh, vs)) == UL_OK &&
        memcmp(vh, h->validators_hash, UL_HASH_BYTES) != 0) {
        e = UL_E_VALSET_GAP;
    }
    ul_p2p_free(buf);
    return e;
}

static json_t *commit_json(const committed *c, const ul_valset *vs)
{
    uint64_t signed_power = 0, total = 0;
    char when[32];
    json_t *signers = json_array();
    for (size_t i = 0; i < vs->n; i++) {
        total += vs->v[i].power;
    }
    for (size_t i = 0; i < c->commit.n_sigs; i++) {
        const ul_validator *v = &vs->v[c->commit.sigs[i].index];
        signed_power += v->power;
        json_array_append_new(signers, json_pack("{s:o,s:I,s:I}", "pubkey",
                                                 ul_cli_hex_json(v->pubkey, UL_PUBKEY_BYTES),
                                                 "power", (json_int_t)v->power, "time_ms",
                                                 (json_int_t)c->commit.sigs[i].time_ms));
    }
    uint64_t t = ul_client_commit_time(&c->commit, vs);
    ul_cli_time_str(when, t / 1000);
    return json_pack("{s:I,s:o,s:b,s:I,s:I,s:s,s:I,s:I,s:I,s:o,s:o}", "height",
                     (json_int_t)c->h.height, "header_hash", ul_cli_hex_json(c->hash, 32),
                     "verified", 1, "round", (json_int_t)c->commit.round, "time_ms", (json_int_t)t,
                     "time", when, "signed_power", (json_int_t)signed_power, "total_power",
                     (json_int_t)total, "validators", (json_int_t)vs->n, "signers", signers,
                     "header", ul_cli_header_json(&c->h, c->hash));
}

static void print_commit(json_t *o, const char *out)
{
    size_t i;
    json_t *s;
    printf("commit of block %lld: verified\n  %-10s%s\n  %-10sround %lld, time %s (BFT time)\n"
           "  %-10s%lld of %lld voting power, %zu of %lld validators\n",
           (long long)json_integer_value(json_object_get(o, "height")), "header",
           json_string_value(json_object_get(o, "header_hash")), "decided",
           (long long)json_integer_value(json_object_get(o, "round")),
           json_string_value(json_object_get(o, "time")), "signed",
           (long long)json_integer_value(json_object_get(o, "signed_power")),
           (long long)json_integer_value(json_object_get(o, "total_power")),
           json_array_size(json_object_get(o, "signers")),
           (long long)json_integer_value(json_object_get(o, "validators")));
    json_array_foreach(json_object_get(o, "signers"), i, s)
    {
        printf("  %-10s%s (power %lld)\n", "signer",
               json_string_value(json_object_get(s, "pubkey")),
               (long long)json_integer_value(json_object_get(s, "power")));
    }
    if (out) {
        printf("  %-10s%s\n", "header in", out);
    }
}

int ul_cli_query_commit(ul_cli *cli, const char *arg, const char *out)
{
    static committed c;
    static ul_valset vs;
    uint64_t h;
    ul_err e = ul_cli_height_arg(cli, arg, &h);
    if (e == UL_E_ARG) {
        return ul_cli_usage("query commit: HEIGHT is a number >= 1, or head");
    }
    if (e == UL_OK && (e = fetch_committed(cli, h, &c)) == UL_OK &&
        (e = fetch_signers(cli, &c.h, &vs)) == UL_OK &&
        (e = ul_client_commit_verify(&c.commit, &vs, c.h.chain_id, c.h.height, c.hash)) == UL_OK &&
        out) {
        e = ul_cli_write_file(out, c.bytes, c.len);
    }
    if (e != UL_OK) {
        return ul_cli_fail(cli, e, "commit of block %s (node %s)", arg, cli->node);
    }
    json_t *o = commit_json(&c, &vs);
    if (out) {
        json_object_set_new(o, "file", json_string(out));
    }
    if (cli->json) {
        ul_cli_print_json(o);
    } else {
        print_commit(o, out);
        json_decref(o);
    }
    return 0;
}

/* The consistency proof between log sizes s1 and s2, from the node. Out: p, and its canonical
 * bytes in raw[PROOF_MAX] (*len). */
static ul_err fetch_proof(ul_cli *cli, uint64_t s1, uint64_t s2, ul_consistency *p, uint8_t *raw,
                          size_t *len)
{
    ul_msg q, r;
    uint8_t *buf = NULL;
    ul_span item;
    ul_q_consistency_reply cr;
    ul_q_consistency_req(&q, s1, s2);
    ul_err e = ul_cli_call(cli, &q, &r, &buf);
    if (e == UL_OK && (ul_q_consistency_reply_read(&r, &cr) || (item = cr.proof).len > PROOF_MAX ||
                       ul_schema_consistency_decode(p, item.ptr, item.len))) {
        e = UL_E_PROTOCOL;
    }
    if (e == UL_OK) {
        memcpy(raw, item.ptr, item.len);
        *len = item.len;
    }
    ul_p2p_free(buf);
    return e;
}

/* The proof p between two headers of one chain, checked against their log roots and sizes. */
static ul_err check_consistency(const ul_header *a, const ul_header *b, const ul_consistency *p)
{
    if (memcmp(a->chain_id, b->chain_id, UL_HASH_BYTES) != 0) {
        return UL_E_CHAIN_ID;
    }
    if (p->size1 != a->log_size || p->size2 != b->log_size) {
        return UL_E_MERKLE_RANGE;
    }
    return ul_client_merkle_verify_consistency(a->log_size, b->log_size, a->log_root, b->log_root,
                                               (const uint8_t(*)[UL_HASH_BYTES])p->path, p->n_path);
}

static json_t *consistency_json(const ul_header *a, const uint8_t ha[32], const ul_header *b,
                                const uint8_t hb[32], const ul_consistency *p)
{
    json_t *path = json_array();
    for (size_t i = 0; i < p->n_path; i++) {
        json_array_append_new(path, ul_cli_hex_json(p->path[i], UL_HASH_BYTES));
    }
    return json_pack("{s:b,s:{s:I,s:o,s:I,s:o},s:{s:I,s:o,s:I,s:o},s:o}", "verified", 1, "from",
                     "height", (json_int_t)a->height, "header_hash", ul_cli_hex_json(ha, 32),
                     "log_size", (json_int_t)a->log_size, "log_root",
                     ul_cli_hex_json(a->log_root, 32), "to", "height", (json_int_t)b->height,
                     "header_hash", ul_cli_hex_json(hb, 32), "log_size", (json_int_t)b->log_size,
                     "log_root", ul_cli_hex_json(b->log_root, 32), "proof", path);
}

static int print_consistency(ul_cli *cli, json_t *o, const char *out)
{
    json_t *a = json_object_get(o, "from"), *b = json_object_get(o, "to");
    if (out) {
        json_object_set_new(o, "file", json_string(out));
    }
    if (cli->json) {
        ul_cli_print_json(o);
        return 0;
    }
    printf("release log consistent: verified\n"
           "  from  height %lld, %lld releases, root %s\n"
           "  to    height %lld, %lld releases, root %s\n  proof %zu hashes%s%s\n",
           (long long)json_integer_value(json_object_get(a, "height")),
           (long long)json_integer_value(json_object_get(a, "log_size")),
           json_string_value(json_object_get(a, "log_root")),
           (long long)json_integer_value(json_object_get(b, "height")),
           (long long)json_integer_value(json_object_get(b, "log_size")),
           json_string_value(json_object_get(b, "log_root")),
           json_array_size(json_object_get(o, "proof")), out ? ", written to " : "",
           out ? out : "");
    json_decref(o);
    return 0;
}

int ul_cli_query_consistency(ul_cli *cli, const char *from, const char *to, const char *out)
{
    static committed a, b;
    static ul_consistency p;
    uint8_t raw[PROOF_MAX];
    size_t len = 0;
    uint64_t h1, h2;
    ul_err e = ul_cli_height_arg(cli, from, &h1);
    if (e == UL_OK) {
        e = ul_cli_height_arg(cli, to, &h2);
    }
    if (e == UL_E_ARG || (e == UL_OK && h1 > h2)) {
        return ul_cli_usage("query consistency: FROM and TO are heights >= 1 (or head), "
                            "FROM <= TO");
    }
    if (e == UL_OK && (e = fetch_committed(cli, h1, &a)) == UL_OK &&
        (e = fetch_committed(cli, h2, &b)) == UL_OK &&
        (e = fetch_proof(cli, a.h.log_size, b.h.log_size, &p, raw, &len)) == UL_OK &&
        (e = check_consistency(&a.h, &b.h, &p)) == UL_OK && out) {
        e = ul_cli_write_file(out, raw, len);
    }
    if (e != UL_OK) {
        return ul_cli_fail(cli, e, "consistency of heights %s and %s (node %s)", from, to,
                           cli->node);
    }
    return print_consistency(cli, consistency_json(&a.h, a.hash, &b.h, b.hash, &p), out);
}

/* A header file as query commit --out writes it. Out: h, its hash. */
static ul_err read_header(const char *path, ul_header *h, uint8_t hash[UL_HASH_BYTES])
{
    uint8_t *buf = NULL;
    size_t len;
    ul_err e = ul_cli_read_file(path, UL_MAX_HEADER_BYTES, &buf, &len);
    if (e == UL_OK && (e = ul_schema_header_decode(h, buf, len)) == UL_OK) {
        ul_client_sha256(hash, buf, len);
    }
    free(buf);
    return e;
}

int ul_cmd_verify_consistency(ul_cli *cli, int argc, char **argv)
{
    const char *pos[2], *proof = NULL, *what = NULL;
    size_t np;
    static ul_header a, b;
    static ul_consistency p;
    uint8_t ha[UL_HASH_BYTES], hb[UL_HASH_BYTES], raw[PROOF_MAX], *buf = NULL;
    size_t len;
    ul_opt opts[] = {{"--proof", &proof}, {"--json", .flag = &cli->json}};
    int rc = ul_cli_parse(argc, argv, opts, 2, pos, 2, 2, &np, ul_cli_verify_consistency_help);
    if (rc >= 0) {
        return rc;
    }
    ul_err e = read_header(what = pos[0], &a, ha);
    if (e == UL_OK) {
        e = read_header(what = pos[1], &b, hb);
    }
    if (e == UL_OK && a.log_size > b.log_size) {
        what = "the headers (the old one's log is the larger)";
        e = UL_E_MERKLE_RANGE;
    }
    if (e == UL_OK && proof) {
        what = proof;
        if ((e = ul_cli_read_file(proof, PROOF_MAX, &buf, &len)) == UL_OK) {
            e = ul_schema_consistency_decode(&p, buf, len);
        }
        free(buf);
    } else if (e == UL_OK) {
        what = "the node's proof";
        e = fetch_proof(cli, a.log_size, b.log_size, &p, raw, &len);
    }
    if (e == UL_OK) {
        what = "the proof against the headers";
        e = check_consistency(&a, &b, &p);
    }
    if (e != UL_OK) {
        return ul_cli_fail(cli, e, "verify-consistency %s %s: %s", pos[0], pos[1], what);
    }
    return print_consistency(cli, consistency_json(&a, ha, &b, hb, &p), NULL);
}
