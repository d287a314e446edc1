/* upledger query latest and query provenance: what the contract makes installable, and the full
 * story of one release — who, when, who co-signed, what it needs, what replaced it, and proofs
 * checked here with the device library. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define MAX_DEP_DEPTH 3 /* dependency tree levels shown by provenance */

/* The contract's view of a release: installable, approvals, revocation. */
static json_t *release_status(ul_cli *cli, const char *id_hex, ul_err *err)
{
    ul_msg q, r;
    uint8_t *buf, id[UL_HASH_BYTES];
    uint64_t inst = 0, rev = 0;
    ul_span ab, reason = {0};
    ul_q_release_status_reply rs;
    static ul_approvals a;
    ul_hex_decode(id, UL_HASH_BYTES, id_hex);
    ul_q_release_status_req(&q, id);
    ul_err e = ul_cli_call(cli, &q, &r, &buf);
    json_t *o = NULL, *roles = json_object();
    if (e == UL_OK && (e = ul_q_release_status_reply_read(&r, &rs)) == UL_OK) {
        inst = rs.installable, rev = rs.revoked_height, ab = rs.approvals, reason = rs.reason;
        a.n = 0;
        if (UL_Q_HAS(&rs, UL_QREP_RELEASE_STATUS_APPROVALS) &&
            ul_schema_approvals_decode(&a, ab.ptr, ab.len)) {
            e = UL_E_PROTOCOL;
        }
    }
    for (size_t i = 0; e == UL_OK && i < a.n; i++) {
        json_t *keys = json_array();
        for (size_t k = 0; k < a.roles[i].n; k++) {
            json_array_append_new(keys, ul_cli_hex_json(a.roles[i].keys[k], UL_PUBKEY_BYTES));
        }
        char name[UL_MAX_LABEL_LEN + 1];
        snprintf(name, sizeof name, "%.*s", (int)a.roles[i].role.len,
                 (const char *)a.roles[i].role.ptr);
        json_object_set_new(roles, name, keys);
    }
    if (e == UL_OK) {
        /* Installable: every approval its kind requires, and not revoked. */
        o = json_pack("{s:b,s:b,s:o,s:b}", "installable", inst && !rev, "approved", (int)inst,
                      "approvals", roles, "revoked", rev > 0);
        roles = NULL;
        if (rev) {
            json_object_set_new(o, "revoked_at_height", ul_cli_u64(rev));
            json_object_set_new(o, "revocation_reason",
                                json_stringn((const char *)reason.ptr, reason.len));
        }
    }
    json_decref(roles);
    ul_p2p_free(buf);
    *err = e;
    return o;
}

ul_err ul_cli_release_state(ul_cli *cli, const uint8_t id[UL_HASH_BYTES], bool *installable,
                            bool *revoked)
{
    char hex[2 * UL_HASH_BYTES + 1];
    ul_err e = UL_OK;
    ul_hex_encode(hex, id, UL_HASH_BYTES);
    json_t *st = release_status(cli, hex, &e);
    *revoked = st && json_is_true(json_object_get(st, "revoked"));
    *installable = st && json_is_true(json_object_get(st, "installable")) && !*revoked;
    json_decref(st);
    return st ? UL_OK : e;
}

bool ul_cli_installable_now(ul_cli *cli, const uint8_t id[UL_HASH_BYTES], ul_err *err)
{
    bool ok = false, revoked;
    *err = ul_cli_release_state(cli, id, &ok, &revoked);
    return *err == UL_OK && ok;
}

static bool has_hw(json_t *rel, const char *hw)
{
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(rel, "hardware"), i, v)
    {
        if (!strcmp(json_string_value(v), hw)) {
            return true;
        }
    }
    return false;
}

/* Dependencies met by installed components "NS=VERSION"; names the first unmet one. */
static bool deps_met(json_t *rel, const char *const *installed, size_t n, const char **unmet)
{
    size_t i;
    json_t *d;
    json_array_foreach(json_object_get(rel, "dependencies"), i, d)
    {
        const char *ns = json_string_value(json_object_get(d, "namespace"));
        const char *c = json_string_value(json_object_get(d, "version"));
        bool ok = false;
        for (size_t k = 0; k < n && !ok; k++) {
            const char *eq = strchr(installed[k], '=');
            ul_version v;
            ok = eq && (size_t)(eq - installed[k]) == strlen(ns) &&
                 !strncmp(installed[k], ns, strlen(ns)) &&
                 ul_client_version_parse(&v, (const uint8_t *)eq + 1, strlen(eq + 1)) == UL_OK &&
                 ul_client_constraint_match((const uint8_t *)c, strlen(c), &v) == UL_OK;
        }
        if (!ok) {
            *unmet = ns;
            return false;
        }
    }
    return true;
}

/* Releases a history walk looks at before it gives up, and how many it fetches per request:
 * provenance's dependency tree and successor look through this many releases, not the whole
 * namespace, whatever its size. */
#define WALK_MAX UL_MAX_HISTORY
#define WALK_PAGE 16

typedef bool (*walk_fn)(ul_cli *cli, json_t *rel, void *arg, ul_err *err);

/* Calls fn on the releases of ns from log index `from` in log order (newest_first: downward), a
 * page at a time, until it returns true (that release is returned, referenced) or WALK_MAX were
 * looked at (NULL, *err UL_E_NOT_FOUND). */
static json_t *walk_history(ul_cli *cli, const char *ns, uint64_t from, bool newest_first,
                            walk_fn fn, void *arg, ul_err *err)
{
    bool more = true;
    json_t *found = NULL;
    *err = UL_OK;
    for (size_t seen = 0; more && !found && *err == UL_OK && seen < WALK_MAX; seen += WALK_PAGE) {
        json_t *page = ul_cli_history(cli, ns, from, WALK_PAGE, newest_first, &from, &more, err);
        size_t i;
        json_t *rel;
        json_array_foreach(page, i, rel)
        {
            if (!found && *err == UL_OK && fn(cli, rel, arg, err)) {
                found = json_incref(rel);
            }
        }
        json_decref(page);
    }
    if (!found && *err == UL_OK) {
        *err = UL_E_NOT_FOUND;
    }
    return found;
}

/* A release of a version meeting the constraint (arg) that is installable now, with its status. */
static bool fits_constraint(ul_cli *cli, json_t *rel, void *arg, ul_err *err)
{
    const char *constraint = arg, *ver = json_string_value(json_object_get(rel, "version"));
    ul_version v;
    if (ul_client_version_parse(&v, (const uint8_t *)ver, strlen(ver)) != UL_OK ||
        ul_client_constraint_match((const uint8_t *)constraint, strlen(constraint), &v)) {
        return false;
    }
    json_t *st = release_status(cli, json_string_value(json_object_get(rel, "id")), err);
    bool ok = st && json_is_true(json_object_get(st, "installable")) &&
              !json_is_true(json_object_get(st, "revoked"));
    json_decref(st);
    return ok;
}

/* The newest installable, unrevoked release of (ns, hw) whose dependencies the installed
 * components meet: one look-up of the index the state keeps for devices (newest first, at most
 * UL_MAX_INSTALLABLE_KEPT), then the records of those entries. */
static json_t *latest_installable(ul_cli *cli, const char *ns, const char *hw,
                                  const char *const *installed, size_t n_installed, ul_err *err)
{
    ul_msg q, r;
    uint8_t *buf = NULL;
    ul_span list = {0};
    ul_q_latest_reply lr;
    json_t *found = NULL;
    const size_t unit = UL_RPC_INSTALLABLE_ENTRY_BYTES;
    ul_q_latest_req(&q, ul_span_str(ns), ul_span_str(hw));
    ul_err e = ul_cli_call(cli, &q, &r, &buf);
    if (e == UL_OK && (e = ul_q_latest_reply_read(&r, &lr)) == UL_OK) {
        list = lr.installable; /* whole entries, at most UL_MAX_INSTALLABLE_KEPT */
    }
    for (size_t i = 0; e == UL_OK && !found && i < list.len / unit; i++) {
        const char *unmet;
        json_t *rel = ul_cli_fetch_release(cli, list.ptr + unit * i + 8, &e);
        if (rel && deps_met(rel, installed, n_installed, &unmet)) {
            /* The index follows approvals and revocations, not a later rotation of a role
             * that approved: the release status, judged by the current policy, decides. */
            json_t *st = release_status(cli, json_string_value(json_object_get(rel, "id")), &e);
            if (st && json_is_true(json_object_get(st, "installable")) &&
                !json_is_true(json_object_get(st, "revoked"))) {
                json_object_set_new(rel, "status", st);
                found = json_incref(rel);
            } else {
                json_decref(st);
            }
        }
        json_decref(rel);
    }
    ul_p2p_free(buf);
    *err = e != UL_OK ? e : found ? UL_OK : UL_E_NOT_FOUND;
    return found;
}

int ul_cli_query_latest(ul_cli *cli, const char *ns, const char *hw, const char *const *installed,
                        size_t n_installed)
{
    ul_err e;
    for (size_t i = 0; i < n_installed; i++) {
        const char *eq = strchr(installed[i], '=');
        ul_version v;
        if (!eq || eq == installed[i] || !eq[1] ||
            ul_schema_ns_check(
                (ul_span){(const uint8_t *)installed[i], (size_t)(eq - installed[i])}) != UL_OK) {
            return ul_cli_usage("query latest: --installed takes NS=VERSION, not \"%s\"",
                                installed[i]);
        }
        if (ul_client_version_parse(&v, (const uint8_t *)eq + 1, strlen(eq + 1)) != UL_OK) {
            return ul_cli_fail(cli, UL_E_VERSION_STR, "query latest: --installed %s", installed[i]);
        }
    }
    json_t *rel = latest_installable(cli, ns, hw, installed, n_installed, &e);
    if (!rel) {
        return ul_cli_fail(cli, e, "no installable, unrevoked release of %s for hardware %s%s", ns,
                           hw, n_installed ? " with its dependencies installed" : "");
    }
    if (cli->json) {
        ul_cli_print_json(rel);
    } else {
        ul_cli_print_release(rel);
        printf("  %-12sinstallable, not revoked\n", "status");
        json_decref(rel);
    }
    return 0;
}

/* Each dependency with the newest installable release satisfying it, to MAX_DEP_DEPTH levels. */
static json_t *dep_tree(ul_cli *cli, json_t *rel, int depth)
{
    json_t *out = json_array(), *d;
    size_t i;
    json_array_foreach(json_object_get(rel, "dependencies"), i, d)
    {
        const char *ns = json_string_value(json_object_get(d, "namespace"));
        const char *c = json_string_value(json_object_get(d, "version"));
        ul_err e;
        json_t *by = walk_history(cli, ns, UINT64_MAX, true, fits_constraint, (void *)c, &e);
        json_t *node = json_pack("{s:s,s:s}", "namespace", ns, "version", c);
        if (by) {
            json_object_set_new(node, "satisfied_by",
                                json_pack("{s:O,s:O}", "id", json_object_get(by, "id"), "version",
                                          json_object_get(by, "version")));
            if (depth + 1 < MAX_DEP_DEPTH) {
                json_object_set_new(node, "dependencies", dep_tree(cli, by, depth + 1));
            }
            json_decref(by);
        } else {
            json_object_set_new(node, "satisfied_by", json_null());
        }
        json_array_append_new(out, node);
    }
    return out;
}

/* A later release (arg: the earlier one) with a higher sequence for one of its hardware classes,
 * installable now (a revoked or not yet approved release replaces nothing). */
static bool supersedes(ul_cli *cli, json_t *r, void *arg, ul_err *err)
{
    json_t *rel = arg, *hw;
    size_t k;
    bool shares = false;
    if (ul_cli_u64_value(json_object_get(r, "sequence")) <=
        ul_cli_u64_value(json_object_get(rel, "sequence"))) {
        return false;
    }
    json_array_foreach(json_object_get(rel, "hardware"), k, hw)
    {
        shares = shares || has_hw(r, json_string_value(hw));
    }
    uint8_t rid[UL_HASH_BYTES];
    ul_hex_decode(rid, UL_HASH_BYTES, json_string_value(json_object_get(r, "id")));
    return shares && ul_cli_installable_now(cli, rid, err);
}

/* The first later release of the namespace that supersedes rel, among the WALK_MAX after it. */
static json_t *superseded_by(ul_cli *cli, json_t *rel)
{
    ul_err e;
    uint64_t from = (uint64_t)json_integer_value(json_object_get(rel, "log_index")) + 1;
    json_t *r = walk_history(cli, json_string_value(json_object_get(rel, "namespace")), from, false,
                             supersedes, rel, &e);
    json_t *found =
        r ? json_pack("{s:O,s:O,s:O}", "id", json_object_get(r, "id"), "version",
                      json_object_get(r, "version"), "sequence", json_object_get(r, "sequence"))
          : json_null();
    json_decref(r);
    return found;
}

/* Validators whose precommits make up the commit of block h. */
static json_t *commit_signers(ul_cli *cli, uint64_t h, const ul_valset *vs)
{
    ul_msg q, r;
    uint8_t *buf;
    ul_span cm;
    ul_q_block_reply br;
    static ul_commit c;
    json_t *out = json_array();
    ul_q_block_req(&q, h, 0);
    if (ul_cli_call(cli, &q, &r, &buf) == UL_OK && ul_q_block_reply_read(&r, &br) == UL_OK &&
        ul_msg_list_next(&br.commits.wire, &cm) &&
        ul_schema_commit_decode(&c, cm.ptr, cm.len) == UL_OK) {
        for (size_t i = 0; i < c.n_sigs; i++) {
            if (c.sigs[i].index < vs->n) {
                json_array_append_new(out, ul_cli_hex_json(vs->v[c.sigs[i].index].pubkey, 32));
            }
        }
    }
    ul_p2p_free(buf);
    return out;
}

/* A state proof from the node, checked here: the header it comes with must be the one the
 * (verified) bundle was committed with — same height, same hash as ul_release_info.header_hash —
 * and the proof must lead from the value (or its absence) to that header's state root. */
static json_t *state_fact(ul_cli *cli, ul_state_kind kind, const uint8_t id[UL_HASH_BYTES],
                          const ul_release_info *anchor, ul_err anchor_err, const char *present,
                          const char *absent)
{
    ul_msg q, r;
    uint8_t *buf = NULL, kh[UL_HASH_BYTES], hh[UL_HASH_BYTES], vh[UL_HASH_BYTES];
    ul_span proof, hdr, value = {0};
    ul_q_state_proof_reply sp;
    static ul_state_proof p;
    ul_header h;
    ul_q_state_proof_req(&q, kind, (ul_span){0}, (ul_span){0}, id, anchor->height);
    ul_err e = anchor_err != UL_OK ? anchor_err : ul_cli_call(cli, &q, &r, &buf);
    if (e == UL_OK && (e = ul_q_state_proof_reply_read(&r, &sp)) == UL_OK) {
        proof = sp.proof, hdr = sp.header, value = sp.value;
        memcpy(kh, sp.key_hash.ptr, sizeof kh);
    }
    if (e == UL_OK && !(e = ul_schema_state_proof_decode(&p, proof.ptr, proof.len)) &&
        !(e = ul_schema_header_decode(&h, hdr.ptr, hdr.len))) {
        bool have = UL_Q_HAS(&sp, UL_QREP_STATE_PROOF_VALUE);
        ul_client_sha256(hh, hdr.ptr, hdr.len);
        if (have) {
            ul_client_sha256(vh, value.ptr, value.len);
        }
        e = memcmp(hh, anchor->header_hash, UL_HASH_BYTES) || h.height != anchor->height
                ? UL_E_HEADER_LINK
                : ul_client_state_verify(&p, h.state_root, kh, have ? vh : NULL);
        ul_p2p_free(buf);
        return json_pack("{s:s,s:b,s:I,s:s}", "fact", have ? present : absent, "verified",
                         e == UL_OK, "depth", (json_int_t)p.depth, "result",
                         e == UL_OK ? "ok" : ul_err_name(e));
    }
    ul_p2p_free(buf);
    return json_pack("{s:s,s:b,s:s}", "fact", "unavailable", "verified", 0, "result",
                     ul_err_name(e));
}

/* The bundle (version 2) at the head for the release's first hardware class, verified as a new
 * device of that class would: every signature and proof must hold; the device's verdict on the
 * release itself (superseded, revoked, dependencies) is reported beside it. *err is UL_OK when
 * the proofs held, so that res anchors the state proofs. */
static json_t *inclusion_fact(ul_cli *cli, const uint8_t id[UL_HASH_BYTES], ul_span gbytes,
                              ul_release_info *res, ul_err *err)
{
    uint8_t *rbuf = NULL, *bbuf = NULL;
    ul_span tx, bundle = {0};
    static ul_release rel;
    ul_err verdict = UL_E_INTERNAL;
    ul_err e = ul_cli_record(cli, id, &rbuf, &tx, &rel);
    memset(res, 0, sizeof *res);
    if (e == UL_OK && (e = ul_cli_bundle(cli, id, rel.hw[0], 0, &bbuf, &bundle)) == UL_OK) {
        verdict = ul_cli_bundle_check(gbytes, rel.hw[0], rel.ns, bundle.ptr, bundle.len, res);
        e = ul_cli_proofs_held(verdict) ? UL_OK : verdict;
    }
    json_t *o = json_pack("{s:b,s:s,s:s%,s:s,s:o,s:o,s:I}", "verified", e == UL_OK, "result",
                          e == UL_OK ? "ok" : ul_err_name(e), "hw",
                          e == UL_OK ? (const char *)rel.hw[0].ptr : "",
                          e == UL_OK ? rel.hw[0].len : 0, "device_verdict",
                          e == UL_OK ? (verdict == UL_OK ? "ok" : ul_err_name(verdict)) : "none",
                          "header_height", ul_cli_u64(res->height), "log_index",
                          ul_cli_u64(res->log_index), "bundle_bytes", (json_int_t)bundle.len);
    ul_p2p_free(rbuf);
    ul_p2p_free(bbuf);
    *err = e;
    return o;
}

static ul_err genesis_of(ul_cli *cli, ul_genesis *g, uint8_t **buf, ul_span *bytes)
{
    ul_err e = ul_cli_genesis(cli, buf, bytes);
    return e == UL_OK ? ul_schema_genesis_decode(g, bytes->ptr, bytes->len) : e;
}

static json_t *namespace_owners(ul_cli *cli, const char *ns)
{
    json_t *pol = NULL, *out;
    if (ul_cli_namespace(cli, ns, &pol, NULL) != UL_OK) {
        return json_null();
    }
    out = json_incref(json_object_get(pol, "owners"));
    json_decref(pol);
    return out;
}

static void print_provenance(json_t *o)
{
    json_t *rel = json_object_get(o, "release"), *st = json_object_get(o, "status"), *v;
    const char *k;
    ul_cli_print_release(rel);
    printf("  %-12s%s\n", "installable",
           json_is_true(json_object_get(st, "installable")) ? "yes"
           : json_is_true(json_object_get(st, "revoked"))   ? "no (revoked)"
                                                            : "no (awaiting required approvals)");
    json_object_foreach(json_object_get(st, "approvals"), k, v)
    {
        size_t i;
        json_t *key;
        json_array_foreach(v, i, key)
        {
            printf("  %-12s%s %s\n", i ? "" : "approved", k, json_string_value(key));
        }
    }
    if (json_is_true(json_object_get(st, "revoked"))) {
        printf("  %-12sat height %llu: %s\n", "REVOKED",
               (unsigned long long)ul_cli_u64_value(json_object_get(st, "revoked_at_height")),
               json_string_value(json_object_get(st, "revocation_reason")));
    } else {
        printf("  %-12snot revoked\n", "revocation");
    }
    json_t *sup = json_object_get(o, "superseded_by");
    printf("  %-12s%s%s\n", "superseded", json_is_null(sup) ? "no" : "by ",
           json_is_null(sup) ? "" : json_string_value(json_object_get(sup, "version")));
    char *deps = json_dumps(json_object_get(o, "dependency_tree"), JSON_COMPACT);
    char *signers = json_dumps(json_object_get(o, "commit_signers"), JSON_COMPACT);
    char *owners = json_dumps(json_object_get(o, "namespace_owners"), JSON_COMPACT);
    printf("  %-12s%s\n  %-12s%s\n  %-12s%s\n", "dep tree", deps, "validators", signers,
           "ns owners", owners);
    free(deps);
    free(signers);
    free(owners);
    json_object_foreach(json_object_get(o, "proofs"), k, v)
    {
        printf("  %-12s%s: %s\n", k,
               json_is_true(json_object_get(v, "verified")) ? "verified" : "NOT VERIFIED",
               json_string_value(json_object_get(v, "fact"))
                   ? json_string_value(json_object_get(v, "fact"))
                   : "release in the committed log");
    }
}

int ul_cli_query_provenance(ul_cli *cli, const char *id_hex)
{
    uint8_t id[UL_HASH_BYTES], *gbuf = NULL;
    ul_span gbytes;
    static ul_genesis g;
    static ul_release_info res;
    ul_err e, anchored;
    if (ul_cli_id_arg(id_hex, id) != UL_OK) {
        return ul_cli_usage("query provenance: ID is 64 hex digits");
    }
    json_t *rel = ul_cli_fetch_release(cli, id, &e);
    json_t *st = rel ? release_status(cli, id_hex, &e) : NULL;
    if (!rel || !st || (e = genesis_of(cli, &g, &gbuf, &gbytes)) != UL_OK) {
        json_decref(rel);
        json_decref(st);
        ul_p2p_free(gbuf);
        return ul_cli_fail(cli, e, "provenance of %s", id_hex);
    }
    json_t *proofs = json_object();
    json_object_set_new(proofs, "inclusion", inclusion_fact(cli, id, gbytes, &res, &anchored));
    json_object_set_new(
        proofs, "revocation",
        state_fact(cli, UL_STATE_REVOCATION, id, &res, anchored, "revoked", "not revoked"));
    json_object_set_new(proofs, "approvals",
                        state_fact(cli, UL_STATE_APPROVALS, id, &res, anchored,
                                   "approvals recorded", "no approvals"));
    const char *ns = json_string_value(json_object_get(rel, "namespace"));
    json_t *o = json_pack(
        "{s:O,s:o,s:o,s:o,s:o,s:o,s:o}", "release", rel, "status", st, "namespace_owners",
        namespace_owners(cli, ns), "dependency_tree", dep_tree(cli, rel, 0), "superseded_by",
        superseded_by(cli, rel), "commit_signers",
        commit_signers(cli, ul_cli_u64_value(json_object_get(rel, "height")), &g.validators),
        "proofs", proofs);
    json_decref(rel);
    ul_p2p_free(gbuf);
    if (cli->json) {
        ul_cli_print_json(o);
    } else {
        print_provenance(o);
        json_decref(o);
    }
    return 0;
}
