/* Policy contracts as users write them (JSON, schema/policy.md) and as the CLI shows them, and
 * the sign-submit-report path every policy transaction shares. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

static int cmp_key(const void *a, const void *b)
{
    return memcmp(a, b, UL_PUBKEY_BYTES);
}

static int cmp_span(const void *a, const void *b)
{
    const ul_span *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->ptr, y->ptr, n);
    return c ? c : (x->len > y->len) - (x->len < y->len);
}

static int cmp_role(const void *a, const void *b)
{
    return cmp_span(&((const ul_role *)a)->name, &((const ul_role *)b)->name);
}

ul_err ul_cli_keyset(const char *const *keys, size_t n, uint64_t threshold, ul_keyset *out)
{
    if (n == 0 || n > UL_MAX_KEYS) {
        return n ? UL_E_LIMIT : UL_E_POLICY;
    }
    for (size_t i = 0; i < n; i++) {
        ul_err e = ul_cli_pubkey_arg(keys[i], out->keys[i]);
        if (e != UL_OK) {
            return e;
        }
    }
    qsort(out->keys, n, UL_PUBKEY_BYTES, cmp_key);
    for (size_t i = 1; i < n; i++) {
        if (memcmp(out->keys[i - 1], out->keys[i], UL_PUBKEY_BYTES) == 0) {
            return UL_E_POLICY; /* the same key twice */
        }
    }
    out->n = n;
    out->threshold = threshold ? threshold : n;
    return out->threshold <= n ? UL_OK : UL_E_POLICY;
}

/* {"keys": [KEY...], "threshold": N (default 1)} */
static ul_err keyset_json(json_t *o, ul_keyset *ks, const char *what, char *msg, size_t cap)
{
    json_t *keys = json_object_get(o, "keys"), *th = json_object_get(o, "threshold"), *v;
    const char *args[UL_MAX_KEYS];
    size_t i;
    if (!json_is_object(o) || !json_is_array(keys) || (th && !json_is_integer(th)) ||
        json_object_size(o) != 1u + (th != NULL)) {
        return ul_cli_msgf(msg, cap, UL_E_SCHEMA_FIELD,
                           "\"%s\" must be {\"keys\": [...], \"threshold\": N}", what);
    }
    if (json_array_size(keys) > UL_MAX_KEYS) {
        return ul_cli_msgf(msg, cap, UL_E_LIMIT, "\"%s\" has more than %d keys", what, UL_MAX_KEYS);
    }
    json_array_foreach(keys, i, v)
    {
        if (!json_is_string(v)) {
            return ul_cli_msgf(msg, cap, UL_E_SCHEMA_FIELD, "\"%s\" keys must be strings", what);
        }
        args[i] = json_string_value(v);
    }
    json_int_t t = th ? json_integer_value(th) : 1;
    ul_err e = t < 1 ? UL_E_POLICY : ul_cli_keyset(args, json_array_size(keys), (uint64_t)t, ks);
    if (e == UL_E_KEY) {
        return ul_cli_msgf(msg, cap, e, "\"%s\": a key is no x-only point: it can never sign",
                           what);
    }
    return e ? ul_cli_msgf(msg, cap, e,
                           "\"%s\": bad key or threshold (keys are 64 hex digits or keystore "
                           "files; 1 <= threshold <= keys)",
                           what)
             : UL_OK;
}

static ul_err label_list(json_t *a, ul_span *out, size_t max, size_t *n, const char *what,
                         char *msg, size_t cap)
{
    size_t i;
    json_t *v;
    if (!json_is_array(a) || json_array_size(a) > max) {
        return ul_cli_msgf(msg, cap, json_is_array(a) ? UL_E_LIMIT : UL_E_SCHEMA_FIELD,
                           "\"%s\" must be an array of at most %zu strings", what, max);
    }
    json_array_foreach(a, i, v)
    {
        if (!json_is_string(v)) {
            return ul_cli_msgf(msg, cap, UL_E_SCHEMA_FIELD, "\"%s\" must hold strings", what);
        }
        out[i] = (ul_span){(const uint8_t *)json_string_value(v), json_string_length(v)};
        ul_err e = ul_cli_label_len(out[i], UL_MAX_LABEL_LEN, msg, cap, "\"%s\"[%zu]", what, i);
        if (e != UL_OK) {
            return e;
        }
    }
    *n = json_array_size(a);
    qsort(out, *n, sizeof *out, cmp_span);
    return UL_OK;
}

static ul_err roles_json(json_t *o, ul_policy *p, char *msg, size_t cap)
{
    const char *name;
    json_t *v;
    if (!json_is_object(o) || json_object_size(o) > UL_MAX_ROLES) {
        return ul_cli_msgf(msg, cap, json_is_object(o) ? UL_E_LIMIT : UL_E_SCHEMA_FIELD,
                           "\"roles\" must be an object of at most %d roles", UL_MAX_ROLES);
    }
    p->n_roles = 0;
    json_object_foreach(o, name, v)
    {
        ul_role *r = &p->roles[p->n_roles++];
        r->name = ul_span_str(name);
        ul_err e = ul_cli_label_len(r->name, UL_MAX_LABEL_LEN, msg, cap, "a role name");
        if (e != UL_OK) {
            return e;
        }
        e = keyset_json(v, &r->keys, name, msg, cap);
        if (e != UL_OK) {
            return e;
        }
    }
    qsort(p->roles, p->n_roles, sizeof p->roles[0], cmp_role);
    return UL_OK;
}

static ul_err require_json(json_t *o, ul_policy *p, char *msg, size_t cap)
{
    const char *kind;
    json_t *v;
    if (!json_is_object(o)) {
        return ul_cli_msgf(msg, cap, UL_E_SCHEMA_FIELD,
                           "\"require\" must map update kinds to role lists");
    }
    p->n_require = 0;
    for (uint64_t k = 0; k <= UL_KIND_MAX_; k++) { /* in kind order: canonical */
        json_t *roles = json_object_get(o, ul_cli_kind_name(k));
        if (!roles) {
            continue;
        }
        ul_requirement *q = &p->require[p->n_require++];
        q->kind = k;
        ul_err e = label_list(roles, q->roles, UL_MAX_ROLES, &q->n, ul_cli_kind_name(k), msg, cap);
        if (e != UL_OK) {
            return e;
        }
    }
    json_object_foreach(o, kind, v)
    {
        uint64_t k = 0;
        while (k <= UL_KIND_MAX_ && strcmp(kind, ul_cli_kind_name(k)) != 0) {
            k++;
        }
        if (k > UL_KIND_MAX_) {
            return ul_cli_msgf(
                msg, cap, UL_E_SCHEMA_FIELD,
                "\"require\": unknown kind \"%s\" (security, feature, bugfix, maintenance)", kind);
        }
    }
    return UL_OK;
}

static ul_err eos_json(json_t *v, ul_policy *p, char *msg, size_t cap)
{
    struct tm tm = {0};
    const char *end;
    if (!v) {
        return UL_OK;
    }
    p->has_eos = true;
    if (json_is_integer(v) && json_integer_value(v) >= 0) {
        p->eos = (uint64_t)json_integer_value(v);
        return UL_OK;
    }
    if (!json_is_string(v) || !(end = strptime(json_string_value(v), "%Y-%m-%dT%H:%M:%SZ", &tm)) ||
        *end) {
        return ul_cli_msgf(msg, cap, UL_E_SCHEMA_FIELD,
                           "\"end_of_support\" must be unix seconds or YYYY-MM-DDTHH:MM:SSZ");
    }
    p->eos = (uint64_t)timegm(&tm);
    return UL_OK;
}

static const char *const policy_keys[] = {"owners",   "publishers", "roles",         "require",
                                          "hardware", "revokers",   "end_of_support"};

static ul_err policy_fill(json_t *root, ul_policy *p, char *msg, size_t cap)
{
    static const ul_span default_revokers[] = {{(const uint8_t *)"owners", 6},
                                               {(const uint8_t *)"publishers", 10}};
    const char *k;
    json_t *v;
    json_object_foreach(root, k, v)
    {
        size_t i = 0;
        while (i < sizeof policy_keys / sizeof policy_keys[0] && strcmp(k, policy_keys[i])) {
            i++;
        }
        if (i == sizeof policy_keys / sizeof policy_keys[0]) {
            return ul_cli_msgf(msg, cap, UL_E_SCHEMA_FIELD, "unknown field \"%s\"", k);
        }
    }
    memset(p, 0, sizeof *p);
    ul_err e = keyset_json(json_object_get(root, "owners"), &p->owners, "owners", msg, cap);
    if (e == UL_OK) {
        e = keyset_json(json_object_get(root, "publishers"), &p->publishers, "publishers", msg,
                        cap);
    }
    if (e == UL_OK && (v = json_object_get(root, "roles"))) {
        e = roles_json(v, p, msg, cap);
    }
    if (e == UL_OK && (v = json_object_get(root, "require"))) {
        e = require_json(v, p, msg, cap);
    }
    if (e == UL_OK && (v = json_object_get(root, "hardware"))) {
        e = label_list(v, p->hw, UL_MAX_HW, &p->n_hw, "hardware", msg, cap);
    }
    if (e == UL_OK && (v = json_object_get(root, "revokers"))) {
        e = label_list(v, p->revokers, UL_MAX_ROLES + 2, &p->n_revokers, "revokers", msg, cap);
    } else if (e == UL_OK) {
        p->n_revokers = 2;
        memcpy(p->revokers, default_revokers, sizeof default_revokers);
    }
    return e == UL_OK ? eos_json(json_object_get(root, "end_of_support"), p, msg, cap) : e;
}

ul_err ul_cli_policy_file(const char *path, ul_policy *p, json_t **json, char *msg, size_t cap)
{
    size_t len;
    uint8_t enc[UL_MAX_RECORD_BYTES * 2];
    ul_err e = ul_cli_json_file("policy", path, json, msg, cap);
    if (e != UL_OK) {
        return e;
    }
    if (!json_is_object(*json)) {
        return ul_cli_msgf(msg, cap, UL_E_SCHEMA_FIELD, "policy %s: not a JSON object", path);
    }
    if ((e = policy_fill(*json, p, msg, cap)) != UL_OK) {
        char inner[400];
        snprintf(inner, sizeof inner, "%s", msg);
        return ul_cli_msgf(msg, cap, e, "policy %s: %s", path, inner);
    }
    /* The codec's consistency rules (defined roles, thresholds) give the precise error. */
    if ((e = ul_schema_policy_encode(enc, sizeof enc, &len, p)) != UL_OK) {
        return ul_cli_msgf(msg, cap, e,
                           "policy %s is not a valid contract (roles it names must be "
                           "defined, thresholds within their key sets)",
                           path);
    }
    return UL_OK;
}

ul_err ul_cli_namespace(ul_cli *cli, const char *ns, json_t **policy, uint64_t *height)
{
    static ul_policy pol;
    ul_msg q, rep;
    ul_q_namespace_reply nr;
    uint8_t *buf = NULL;
    ul_q_namespace_req(&q, ul_span_str(ns));
    ul_err e = ul_cli_call(cli, &q, &rep, &buf);
    if (e == UL_OK && ul_q_namespace_reply_read(&rep, &nr) != UL_OK) {
        e = UL_E_PROTOCOL;
    }
    if (e == UL_OK && ul_schema_policy_decode(&pol, nr.body.ptr, nr.body.len) != UL_OK) {
        e = UL_E_CORRUPT;
    }
    if (e == UL_OK && policy && !(*policy = ul_cli_policy_json(&pol))) {
        e = UL_E_NOMEM;
    }
    if (e == UL_OK && height) {
        *height = nr.height;
    }
    ul_p2p_free(buf);
    return e;
}

ul_err ul_cli_sign_send(ul_cli *cli, ul_key *const *keys, size_t n_keys, ul_tx_kind kind,
                        const uint8_t *body, size_t blen, bool wait, uint8_t id32[UL_HASH_BYTES],
                        uint64_t *height)
{
    uint8_t tx[UL_MAX_TX_BYTES];
    size_t tlen;
    *height = 0;
    ul_err e = ul_cli_sign_tx(cli, keys, n_keys, kind,
                              kind == UL_TX_PUBLISH    ? UL_DOMAIN_RELEASE
                              : kind == UL_TX_TRANSFER ? UL_DOMAIN_TRANSFER
                                                       : UL_DOMAIN_TX,
                              body, blen, tx, sizeof tx, &tlen);
    return e == UL_OK ? ul_cli_submit(cli, tx, tlen, wait, id32, height) : e;
}

int ul_cli_sign_submit(ul_cli *cli, const char *what, const char *ctx, ul_key *const *keys,
                       size_t n_keys, ul_tx_kind kind, const uint8_t *body, size_t blen, bool wait)
{
    uint8_t id[UL_HASH_BYTES];
    uint64_t height;
    ul_err e = ul_cli_sign_send(cli, keys, n_keys, kind, body, blen, wait, id, &height);
    if (e != UL_OK) {
        return ul_cli_fail(cli, e, "%s (node %s)", ctx, cli->node);
    }
    return ul_cli_print_sent(cli, what, id, height);
}

int ul_cli_print_sent(ul_cli *cli, const char *what, const uint8_t id[UL_HASH_BYTES],
                      uint64_t height)
{
    char hex[2 * UL_HASH_BYTES + 1];
    ul_hex_encode(hex, id, UL_HASH_BYTES);
    if (cli->json) {
        ul_cli_print_json(json_pack("{s:s,s:s,s:I,s:b}", "result", what, "id", hex, "height",
                                    (json_int_t)height, "committed", height > 0));
    } else if (height) {
        printf("%s %s committed at height %llu\n", what, hex, (unsigned long long)height);
    } else {
        printf("%s %s accepted (pending)\n", what, hex);
    }
    return 0;
}
