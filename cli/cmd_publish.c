/* upledger namespace and publish: the transactions a vendor signs. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static const char register_help[] =
    "usage: upledger namespace register NS --key KEYFILE... [--policy FILE]\n"
    "                                   [--owner KEY]... [--publisher KEY]... [--no-wait]\n"
    "Registers namespace NS (vendor/product) with its policy contract: the JSON --policy FILE\n"
    "(schema/policy.md), or else owners = --owner keys (default: the signing keys) and\n"
    "publishers = --publisher keys (default: the owners), each with threshold 1. The --key\n"
    "signers must be owners meeting the owner threshold. KEY is 64 hex digits or a keystore.\n";

static int ns_register(ul_cli *cli, int argc, char **argv)
{
    const char *keyf[UL_MAX_SIGS], *pf = NULL, *policy_f = NULL, *owners[UL_MAX_KEYS],
                                   *pubs[UL_MAX_KEYS], *pos[1];
    size_t nk = 0, no = 0, npub = 0, np, blen;
    bool no_wait = false;
    ul_opt opts[] = {{"--key", .multi = keyf, .n_multi = &nk, .max_multi = UL_MAX_SIGS},
                     {"--passphrase-file", &pf},
                     {"--policy", &policy_f},
                     {"--owner", .multi = owners, .n_multi = &no, .max_multi = UL_MAX_KEYS},
                     {"--publisher", .multi = pubs, .n_multi = &npub, .max_multi = UL_MAX_KEYS},
                     {"--no-wait", .flag = &no_wait}};
    int rc = ul_cli_parse(argc, argv, opts, 6, pos, 1, 1, &np, register_help);
    if (rc >= 0) {
        return rc;
    }
    if (nk == 0) {
        return ul_cli_usage("namespace register: --key KEYFILE is required");
    }
    static ul_register r;
    json_t *pj = NULL;
    char msg[512];
    r.ns = ul_span_str(pos[0]);
    ul_err e = r.ns.len > UL_MAX_NS_LEN ? UL_E_LIMIT : ul_schema_ns_check(r.ns);
    if (e != UL_OK) {
        return ul_cli_fail(cli, e, "namespace %s", pos[0]);
    }
    if (policy_f) {
        if ((e = ul_cli_policy_file(policy_f, &r.policy, &pj, msg, sizeof msg)) != UL_OK) {
            json_decref(pj);
            return ul_cli_fail(cli, e, "%s", msg);
        }
    } else {
        static const ul_span rv[] = {{(const uint8_t *)"owners", 6},
                                     {(const uint8_t *)"publishers", 10}};
        memset(&r.policy, 0, sizeof r.policy);
        if ((e = ul_cli_keyset(no ? owners : keyf, no ? no : nk, 1, &r.policy.owners)) ||
            (e = ul_cli_keyset(npub ? pubs
                               : no ? owners
                                    : keyf,
                               npub ? npub
                               : no ? no
                                    : nk,
                               1, &r.policy.publishers))) {
            return ul_cli_fail(cli, e, "namespace register: a key argument");
        }
        r.policy.n_revokers = 2;
        memcpy(r.policy.revokers, rv, sizeof rv);
    }
    ul_key *keys[UL_MAX_SIGS] = {0};
    static uint8_t body[2 * UL_MAX_RECORD_BYTES];
    if ((e = ul_cli_load_keys(keyf, nk, pf, keys, msg, sizeof msg)) != UL_OK) {
        json_decref(pj);
        return ul_cli_fail(cli, e, "namespace register: %s", msg);
    }
    if ((e = ul_cli_next_nonce(cli, keys, nk, &r.nonce)) == UL_OK) {
        e = ul_schema_register_encode(body, sizeof body, &blen, &r);
    }
    if (e == UL_OK) {
        char ctx[300];
        snprintf(ctx, sizeof ctx, "namespace register %s", pos[0]);
        rc = ul_cli_sign_submit(cli, "namespace", ctx, keys, nk, UL_TX_REGISTER, body, blen,
                                !no_wait);
    } else {
        rc = ul_cli_fail(cli, e, "namespace register %s (node %s)", pos[0], cli->node);
    }
    ul_cli_free_keys(keys, nk);
    json_decref(pj);
    return rc;
}

static const char show_help[] =
    "usage: upledger namespace show NS\n"
    "Shows a namespace's policy contract: owners, publishers, co-signer roles, required\n"
    "approvals per update kind, allowed hardware, revokers, end of support.\n";

static void print_keyset(const char *label, json_t *ks)
{
    size_t i;
    json_t *k;
    printf("  %-12s %lld of %zu\n", label,
           (long long)json_integer_value(json_object_get(ks, "threshold")),
           json_array_size(json_object_get(ks, "keys")));
    json_array_foreach(json_object_get(ks, "keys"), i, k)
    {
        printf("  %-12s   %s\n", "", json_string_value(k));
    }
}

static void print_policy(json_t *pol)
{
    const char *name;
    json_t *v;
    print_keyset("owners", json_object_get(pol, "owners"));
    print_keyset("publishers", json_object_get(pol, "publishers"));
    json_object_foreach(json_object_get(pol, "roles"), name, v)
    {
        char label[UL_MAX_LABEL_LEN + 8];
        snprintf(label, sizeof label, "role %s", name);
        print_keyset(label, v);
    }
    json_object_foreach(json_object_get(pol, "require"), name, v)
    {
        char *list = json_dumps(v, JSON_COMPACT);
        printf("  %-12s %s releases need approval by %s\n", "require", name, list ? list : "");
        free(list);
    }
    char *hw = json_dumps(json_object_get(pol, "hardware"), JSON_COMPACT);
    char *rv = json_dumps(json_object_get(pol, "revokers"), JSON_COMPACT);
    printf("  %-12s %s\n  %-12s %s\n", "hardware",
           json_array_size(json_object_get(pol, "hardware")) ? hw : "any", "revokers", rv);
    free(hw);
    free(rv);
    json_t *eos = json_object_get(pol, "end_of_support");
    printf("  %-12s %s\n", "end of support", eos ? json_string_value(eos) : "none");
}

static int ns_show(ul_cli *cli, int argc, char **argv)
{
    const char *pos[1];
    size_t np;
    int rc = ul_cli_parse(argc, argv, NULL, 0, pos, 1, 1, &np, show_help);
    if (rc >= 0) {
        return rc;
    }
    json_t *pol = NULL;
    uint64_t h;
    ul_err e = ul_cli_namespace(cli, pos[0], &pol, &h);
    if (e != UL_OK) {
        return ul_cli_fail(cli, e, "namespace %s", pos[0]);
    }
    json_t *o =
        json_pack("{s:s,s:I,s:o}", "namespace", pos[0], "height", (json_int_t)h, "policy", pol);
    if (cli->json) {
        ul_cli_print_json(o);
        return 0;
    }
    printf("namespace %s (registered at height %llu)\n", pos[0], (unsigned long long)h);
    print_policy(json_object_get(o, "policy"));
    json_decref(o);
    return 0;
}

static const char policy_help[] =
    "usage: upledger namespace policy NS --policy FILE --key KEYFILE... [--no-wait]\n"
    "Replaces a namespace's policy contract with the JSON FILE (schema/policy.md). The --key\n"
    "signers must be current owners meeting the current owner threshold.\n";

static int ns_policy(ul_cli *cli, int argc, char **argv)
{
    const char *keyf[UL_MAX_SIGS], *pf = NULL, *policy_f = NULL, *pos[1];
    size_t nk = 0, np, blen;
    bool no_wait = false;
    ul_opt opts[] = {{"--key", .multi = keyf, .n_multi = &nk, .max_multi = UL_MAX_SIGS},
                     {"--passphrase-file", &pf},
                     {"--policy", &policy_f},
                     {"--no-wait", .flag = &no_wait}};
    int rc = ul_cli_parse(argc, argv, opts, 4, pos, 1, 1, &np, policy_help);
    if (rc >= 0) {
        return rc;
    }
    if (nk == 0 || !policy_f) {
        return ul_cli_usage("namespace policy: --policy FILE and --key KEYFILE are required");
    }
    static ul_set_policy sp;
    static uint8_t body[2 * UL_MAX_RECORD_BYTES];
    json_t *pj = NULL;
    char msg[512];
    ul_key *keys[UL_MAX_SIGS] = {0};
    sp.ns = ul_span_str(pos[0]);
    ul_err e = ul_cli_policy_file(policy_f, &sp.policy, &pj, msg, sizeof msg);
    if (e != UL_OK) {
        json_decref(pj);
        return ul_cli_fail(cli, e, "%s", msg);
    }
    if ((e = ul_cli_load_keys(keyf, nk, pf, keys, msg, sizeof msg)) != UL_OK) {
        json_decref(pj);
        return ul_cli_fail(cli, e, "namespace policy: %s", msg);
    }
    if ((e = ul_cli_next_nonce(cli, keys, nk, &sp.nonce)) == UL_OK) {
        e = ul_schema_set_policy_encode(body, sizeof body, &blen, &sp);
    }
    rc = e == UL_OK ? ul_cli_sign_submit(cli, "policy", "namespace policy", keys, nk,
                                         UL_TX_SET_POLICY, body, blen, !no_wait)
                    : ul_cli_fail(cli, e, "namespace policy %s", pos[0]);
    ul_cli_free_keys(keys, nk);
    json_decref(pj);
    return rc;
}

int ul_cmd_namespace(ul_cli *cli, int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "register")) {
        return ns_register(cli, argc - 1, argv + 1);
    }
    if (argc >= 2 && !strcmp(argv[1], "show")) {
        return ns_show(cli, argc - 1, argv + 1);
    }
    if (argc >= 2 && !strcmp(argv[1], "policy")) {
        return ns_policy(cli, argc - 1, argv + 1);
    }
    if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        printf("usage: upledger namespace register|show|policy ...\n\n%s\n%s\n%s", register_help,
               show_help, policy_help);
        return 0;
    }
    return ul_cli_usage("namespace: expected register, show or policy");
}

static const char publish_help[] =
    "usage: upledger publish MANIFEST --image FILE --key KEYFILE... [--passphrase-file F]\n"
    "                        [--no-wait] [--encrypt-for CLASS=PUBFILE... --encrypted-out FILE]\n"
    "Publishes a release: the JSON MANIFEST (format: schema/manifest.md) with the image's\n"
    "SHA-256 and size computed from FILE, signed by publisher keys of the namespace meeting\n"
    "its publisher threshold (repeat --key). Waits until the release is committed unless\n"
    "--no-wait; prints the release id. Whether it is installable yet depends on the\n"
    "approvals its namespace's policy requires (upledger query provenance ID).\n"
    "--encrypt-for CLASS=PUBFILE (repeatable; PUBFILE from keygen --class) encrypts the image\n"
    "(secretstream XChaCha20-Poly1305 under a fresh content key, sealed to each class's key)\n"
    "into the --encrypted-out FILE: that file is what mirrors serve, so the record carries its\n"
    "SHA-256, size and name. Each CLASS must be one of the manifest's hardware classes; devices\n"
    "of other classes cannot decrypt the image.\n";

/* After the node refused record body with UL_E_DEPENDENCY: names the first dependency that
 * cannot hold (a constraint no version satisfies, or a namespace nobody registered) in the
 * failure line (ul_cli_detail); names none when the cause is not found from here. */
static void explain_dependency(ul_cli *cli, const uint8_t *body, size_t blen)
{
    static ul_release r;
    if (ul_schema_release_decode(&r, body, blen) != UL_OK) {
        return;
    }
    for (size_t i = 0; i < r.n_deps; i++) {
        const ul_dep *d = &r.deps[i];
        const char *why = NULL;
        char ns[UL_MAX_NS_LEN + 1];
        memcpy(ns, d->ns.ptr, d->ns.len);
        ns[d->ns.len] = 0;
        if (ul_client_constraint_check(d->constraint.ptr, d->constraint.len) != UL_OK) {
            why = "no version satisfies the constraint";
        } else if (ul_cli_namespace(cli, ns, NULL, NULL) == UL_E_NOT_FOUND) {
            why = "its namespace is not registered";
        }
        if (why) {
            ul_cli_detail("dependency %s %.*s: %s", ns, (int)d->constraint.len,
                          (const char *)d->constraint.ptr, why);
            return;
        }
    }
}

/* Parses the --encrypt-for CLASS=PUBFILE arguments into enc. */
static int encrypt_args(ul_cli *cli, const char *const *args, size_t n, const char *out,
                        ul_cli_encrypt *enc)
{
    if (!out) {
        return ul_cli_usage("publish: --encrypt-for needs --encrypted-out FILE");
    }
    enc->n = n;
    enc->out = out;
    for (size_t i = 0; i < n; i++) {
        const char *eq = strchr(args[i], '=');
        if (!eq || eq == args[i] || !eq[1]) {
            return ul_cli_usage("publish: --encrypt-for takes CLASS=PUBFILE, not \"%s\"", args[i]);
        }
        for (size_t k = 0; k < i; k++) {
            if (!strcmp(enc->cls[k], args[i])) {
                return ul_cli_usage("publish: --encrypt-for %s given twice", args[i]);
            }
        }
        ((char *)eq)[0] = 0; /* argv is ours to split */
        enc->cls[i] = args[i];
        ul_err e = ul_cli_class_pub_load(eq + 1, enc->pub[i]);
        if (e != UL_OK) {
            char msg[600];
            ul_cli_file_msg(msg, sizeof msg, e, "class key", eq + 1);
            return ul_cli_fail(cli, e, "publish: %s for %s", msg, args[i]);
        }
    }
    return -1;
}

int ul_cmd_publish(ul_cli *cli, int argc, char **argv)
{
    const char *image = NULL, *keyf[UL_MAX_SIGS], *pf = NULL, *pos[1], *encf[UL_MAX_WRAPPED_KEYS],
               *enc_out = NULL;
    size_t np, blen, nk = 0, ne = 0;
    bool no_wait = false;
    ul_opt opts[] = {
        {"--image", &image},
        {"--key", .multi = keyf, .n_multi = &nk, .max_multi = UL_MAX_SIGS},
        {"--passphrase-file", &pf},
        {"--no-wait", .flag = &no_wait},
        {"--encrypt-for", .multi = encf, .n_multi = &ne, .max_multi = UL_MAX_WRAPPED_KEYS},
        {"--encrypted-out", &enc_out}};
    int rc = ul_cli_parse(argc, argv, opts, 6, pos, 1, 1, &np, publish_help);
    if (rc >= 0) {
        return rc;
    }
    if (!image || nk == 0) {
        return ul_cli_usage("publish: --image FILE and --key KEYFILE are required");
    }
    static ul_cli_encrypt enc;
    if (ne == 0 && enc_out) {
        return ul_cli_usage("publish: --encrypted-out needs --encrypt-for CLASS=PUBFILE");
    }
    if (ne > 0 && (rc = encrypt_args(cli, encf, ne, enc_out, &enc)) >= 0) {
        return rc;
    }
    /* Room for a record over the limit, so that the encoder reports UL_E_LIMIT for it rather
     * than running out of buffer first. */
    static uint8_t body[4 * UL_MAX_RECORD_BYTES];
    char msg[512];
    ul_key *keys[UL_MAX_SIGS] = {0};
    ul_err e =
        ul_cli_manifest(pos[0], image, ne ? &enc : NULL, body, sizeof body, &blen, msg, sizeof msg);
    if (e != UL_OK) {
        rc = ul_cli_fail(cli, e, "%s", msg);
    } else if ((e = ul_cli_load_keys(keyf, nk, pf, keys, msg, sizeof msg)) != UL_OK) {
        rc = ul_cli_fail(cli, e, "publish: %s", msg);
    } else {
        uint8_t id[UL_HASH_BYTES];
        uint64_t height;
        e = ul_cli_sign_send(cli, keys, nk, UL_TX_PUBLISH, body, blen, !no_wait, id, &height);
        ul_cli_free_keys(keys, nk);
        if (e == UL_E_DEPENDENCY) {
            explain_dependency(cli, body, blen);
        }
        rc = e != UL_OK ? ul_cli_fail(cli, e, "publish %s (node %s)", pos[0], cli->node)
                        : ul_cli_print_sent(cli, "release", id, height);
    }
    if (rc != 0 && enc.written) {
        unlink(enc_out); /* its content key is gone: without the record, no one can read it */
    }
    return rc;
}
