/* upledger namespace and publish: the transactions a vendor signs. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static int cmp_key(const void *a, const void *b)
{
    return memcmp(a, b, UL_PUBKEY_BYTES);
}

/* Parses key arguments into a sorted, duplicate-free list. */
static ul_err key_list(const char **args, size_t n, uint8_t (*out)[UL_PUBKEY_BYTES], size_t *count)
{
    for (size_t i = 0; i < n; i++) {
        ul_err e = ul_cli_pubkey_arg(args[i], out[i]);
        if (e != UL_OK) {
            return e;
        }
    }
    qsort(out, n, UL_PUBKEY_BYTES, cmp_key);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (m == 0 || memcmp(out[m - 1], out[i], UL_PUBKEY_BYTES) != 0) {
            memmove(out[m++], out[i], UL_PUBKEY_BYTES);
        }
    }
    *count = m;
    return UL_OK;
}

static int print_committed(ul_cli *cli, const char *what, const uint8_t id[UL_HASH_BYTES],
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

static const char register_help[] =
    "usage: upledger namespace register NS --key KEYFILE [--owner KEY]... [--publisher KEY]...\n"
    "                                   [--passphrase-file F] [--no-wait]\n"
    "Registers namespace NS (vendor/product). The signing key must be one of the owners;\n"
    "owners default to the signing key, publishers to the owners. KEY is 64 hex digits or a\n"
    "keystore file. Waits until the registration is committed unless --no-wait.\n";

static int ns_register(ul_cli *cli, int argc, char **argv)
{
    const char *keyf = NULL, *pf = NULL, *owners[UL_MAX_KEYS], *pubs[UL_MAX_KEYS], *pos[1];
    size_t no = 0, npub = 0, np;
    bool no_wait = false;
    ul_opt opts[] = {{"--key", &keyf},
                     {"--passphrase-file", &pf},
                     {"--owner", .multi = owners, .n_multi = &no, .max_multi = UL_MAX_KEYS},
                     {"--publisher", .multi = pubs, .n_multi = &npub, .max_multi = UL_MAX_KEYS},
                     {"--no-wait", .flag = &no_wait}};
    int rc = ul_cli_parse(argc, argv, opts, 5, pos, 1, 1, &np, register_help);
    if (rc >= 0) {
        return rc;
    }
    if (!keyf) {
        return ul_cli_usage("namespace register: --key KEYFILE is required");
    }
    ul_register r = {.ns = ul_span_str(pos[0])};
    ul_key *key = NULL;
    uint8_t body[UL_MAX_RECORD_BYTES], tx[UL_MAX_TX_BYTES], id[UL_HASH_BYTES];
    size_t blen, tlen;
    uint64_t height = 0;
    ul_err e = r.ns.len > UL_MAX_NS_LEN ? UL_E_LIMIT : ul_schema_ns_check(r.ns);
    if (e != UL_OK) {
        return ul_cli_fail(cli, e, "namespace %s", pos[0]);
    }
    if (no == 0) {
        owners[no++] = keyf;
    }
    if ((e = key_list(owners, no, r.owners, &r.n_owners)) != UL_OK ||
        (e = key_list(npub ? pubs : owners, npub ? npub : no, r.publishers, &r.n_publishers))) {
        return ul_cli_fail(cli, e, "namespace register: a key argument");
    }
    if ((e = ul_cli_load_key(keyf, pf, &key)) != UL_OK) {
        return ul_cli_fail(cli, e, "key %s", keyf);
    }
    ul_msg q, rep;
    uint8_t *buf;
    ul_msg_init(&q);
    ul_msg_uint(&q, 0, UL_RPC_NONCE);
    ul_msg_bytes(&q, 1, ul_key_pubkey(key), UL_PUBKEY_BYTES);
    e = ul_cli_call(cli, &q, &rep, &buf);
    if (e == UL_OK && (e = ul_msg_get_uint(&rep, 1, &r.nonce)) == UL_OK) {
        r.nonce++;
    }
    ul_p2p_free(buf);
    if (e == UL_OK && (e = ul_schema_register_encode(body, sizeof body, &blen, &r)) == UL_OK &&
        (e = ul_cli_sign_tx(cli, key, UL_TX_REGISTER, UL_DOMAIN_TX, body, blen, tx, sizeof tx,
                            &tlen)) == UL_OK) {
        e = ul_cli_submit(cli, tx, tlen, !no_wait, id, &height);
    }
    ul_key_destroy(key);
    if (e != UL_OK) {
        return ul_cli_fail(cli, e, "namespace register %s (node %s)", pos[0], cli->node);
    }
    return print_committed(cli, "namespace", id, height);
}

static const char show_help[] = "usage: upledger namespace show NS\n"
                                "Shows a namespace's owners, publishers and registration height.\n";

static json_t *keys_json(const uint8_t (*keys)[UL_PUBKEY_BYTES], size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++) {
        json_array_append_new(a, ul_cli_hex_json(keys[i], UL_PUBKEY_BYTES));
    }
    return a;
}

static int ns_show(ul_cli *cli, int argc, char **argv)
{
    const char *pos[1];
    size_t np;
    int rc = ul_cli_parse(argc, argv, NULL, 0, pos, 1, 1, &np, show_help);
    if (rc >= 0) {
        return rc;
    }
    ul_msg q, rep;
    ul_span body;
    uint8_t *buf;
    uint64_t h;
    ul_register r;
    ul_msg_init(&q);
    ul_msg_uint(&q, 0, UL_RPC_NAMESPACE);
    ul_msg_text(&q, 1, ul_span_str(pos[0]));
    ul_err e = ul_cli_call(cli, &q, &rep, &buf);
    if (e == UL_OK && ((e = ul_msg_get_item(&rep, 1, &body)) || (e = ul_msg_get_uint(&rep, 2, &h)) ||
                       (e = ul_schema_register_decode(&r, body.ptr, body.len)))) {
        e = e == UL_E_PROTOCOL ? e : UL_E_CORRUPT;
    }
    if (e != UL_OK) {
        ul_p2p_free(buf);
        return ul_cli_fail(cli, e, "namespace %s", pos[0]);
    }
    json_t *o = json_pack("{s:s%,s:I,s:o,s:o}", "namespace", (const char *)r.ns.ptr, r.ns.len,
                          "height", (json_int_t)h, "owners",
                          keys_json((const uint8_t(*)[32])r.owners, r.n_owners), "publishers",
                          keys_json((const uint8_t(*)[32])r.publishers, r.n_publishers));
    ul_p2p_free(buf);
    if (cli->json) {
        ul_cli_print_json(o);
        return 0;
    }
    printf("namespace %s (registered at height %llu)\n", json_string_value(json_object_get(o,
           "namespace")), (unsigned long long)h);
    const char *roles[] = {"owners", "publishers"};
    for (size_t i = 0; i < 2; i++) {
        size_t k;
        json_t *v;
        json_array_foreach(json_object_get(o, roles[i]), k, v)
        {
            printf("  %-10s %s\n", k == 0 ? roles[i] : "", json_string_value(v));
        }
    }
    json_decref(o);
    return 0;
}

int ul_cmd_namespace(ul_cli *cli, int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "register")) {
        return ns_register(cli, argc - 1, argv + 1);
    }
    if (argc >= 2 && !strcmp(argv[1], "show")) {
        return ns_show(cli, argc - 1, argv + 1);
    }
    if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        printf("usage: upledger namespace register|show ...\n\n%s\n%s", register_help, show_help);
        return 0;
    }
    return ul_cli_usage("namespace: expected register or show");
}

static const char publish_help[] =
    "usage: upledger publish MANIFEST --image FILE --key KEYFILE [--passphrase-file F] [--no-wait]\n"
    "Publishes a release: the JSON MANIFEST (format: schema/manifest.md) with the image's\n"
    "SHA-256 and size computed from FILE, signed with a publisher key of the namespace.\n"
    "Waits until the release is committed unless --no-wait; prints the release id.\n";

int ul_cmd_publish(ul_cli *cli, int argc, char **argv)
{
    const char *image = NULL, *keyf = NULL, *pf = NULL, *pos[1];
    size_t np, blen, tlen;
    bool no_wait = false;
    ul_opt opts[] = {{"--image", &image}, {"--key", &keyf}, {"--passphrase-file", &pf},
                     {"--no-wait", .flag = &no_wait}};
    int rc = ul_cli_parse(argc, argv, opts, 4, pos, 1, 1, &np, publish_help);
    if (rc >= 0) {
        return rc;
    }
    if (!image || !keyf) {
        return ul_cli_usage("publish: --image FILE and --key KEYFILE are required");
    }
    /* Room for a record over the limit, so that the encoder reports UL_E_LIMIT for it rather
     * than running out of buffer first. */
    static uint8_t body[4 * UL_MAX_RECORD_BYTES];
    uint8_t tx[UL_MAX_TX_BYTES], id[UL_HASH_BYTES];
    char msg[512];
    uint64_t height = 0;
    ul_key *key = NULL;
    ul_err e = ul_cli_manifest(pos[0], image, body, sizeof body, &blen, msg, sizeof msg);
    if (e != UL_OK) {
        return ul_cli_fail(cli, e, "%s", msg);
    }
    if ((e = ul_cli_load_key(keyf, pf, &key)) != UL_OK) {
        return ul_cli_fail(cli, e, "key %s", keyf);
    }
    e = ul_cli_sign_tx(cli, key, UL_TX_PUBLISH, UL_DOMAIN_RELEASE, body, blen, tx, sizeof tx,
                       &tlen);
    ul_key_destroy(key);
    if (e == UL_OK) {
        e = ul_cli_submit(cli, tx, tlen, !no_wait, id, &height);
    }
    if (e != UL_OK) {
        return ul_cli_fail(cli, e, "publish %s (node %s)", pos[0], cli->node);
    }
    return print_committed(cli, "release", id, height);
}
