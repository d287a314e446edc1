/* upledger validators: show the validator set that signs a height, and change it with a
 * transaction signed by the current set (more than 2/3 of its voting power). */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char show_help[] =
    "usage: upledger validators show [--height H]\n"
    "Shows the validator set that signs the next block (or height H): each key and its voting\n"
    "power, the set's hash (what headers name) and the first height it signs.\n";

static const char set_help[] =
    "usage: upledger validators set --file SET.json --key KEYFILE... [--passphrase-file F]\n"
    "                               [--no-wait]\n"
    "Replaces the validator set. SET.json is [{\"pubkey\": HEX, \"power\": N}, ...] (1..64\n"
    "validators, power >= 1). Signed by validators of the current set holding more than 2/3 of\n"
    "its voting power (repeat --key). The new set signs from the height after the block that\n"
    "commits the change; a single node whose key then holds 2/3 or less stops committing.\n";

static int cmp_validator(const void *a, const void *b)
{
    return memcmp(((const ul_validator *)a)->pubkey, ((const ul_validator *)b)->pubkey,
                  UL_PUBKEY_BYTES);
}

static uint64_t total_power(const ul_valset *vs)
{
    uint64_t t = 0;
    for (size_t i = 0; i < vs->n; i++) {
        t += vs->v[i].power; /* a decoded set's total is <= UL_MAX_TOTAL_POWER */
    }
    return t;
}

/* One entry of SET.json: {"pubkey": HEX (or a keystore file), "power": N}. */
static ul_err entry_json(json_t *o, size_t i, ul_validator *v, char *msg, size_t cap)
{
    json_t *pk = json_object_get(o, "pubkey"), *pw = json_object_get(o, "power");
    if (!json_is_object(o) || json_object_size(o) != 2 || !json_is_string(pk) ||
        !json_is_integer(pw)) {
        return ul_cli_msgf(msg, cap, UL_E_SCHEMA_FIELD,
                           "validator %zu: want {\"pubkey\": HEX, \"power\": N}", i + 1);
    }
    ul_err e = ul_cli_pubkey_arg(json_string_value(pk), v->pubkey);
    if (e != UL_OK) {
        return ul_cli_msgf(msg, cap, e,
                           e == UL_E_KEY
                               ? "validator %zu: pubkey is no x-only point: it can never sign"
                               : "validator %zu: pubkey is not 64 hex digits or a keystore",
                           i + 1);
    }
    json_int_t p = json_integer_value(pw);
    if (p < 1 || (unsigned long long)p > UL_MAX_TOTAL_POWER) {
        return ul_cli_msgf(msg, cap, p < 1 ? UL_E_VALSET_CHANGE : UL_E_LIMIT,
                           "validator %zu: power must be 1..%llu", i + 1, UL_MAX_TOTAL_POWER);
    }
    v->power = (uint64_t)p;
    return UL_OK;
}

/* Reads SET.json into a sorted set; msg names the first problem. */
static ul_err set_file(const char *path, ul_valset *vs, char *msg, size_t cap)
{
    size_t i;
    json_t *a, *o;
    ul_err e = ul_cli_json_file("validator set", path, &a, msg, cap);
    if (e != UL_OK) {
        return e;
    }
    if (!json_is_array(a) || json_array_size(a) == 0 || json_array_size(a) > UL_MAX_VALIDATORS) {
        e = !json_is_array(a)    ? UL_E_SCHEMA_FIELD
            : json_array_size(a) ? UL_E_LIMIT
                                 : UL_E_VALSET_CHANGE;
        ul_cli_msgf(msg, cap, e, "validator set %s: %s", path,
                    !json_is_array(a) ? "not a JSON array of {\"pubkey\", \"power\"}"
                    : e == UL_E_LIMIT ? "more than 64 validators"
                                      : "no validators");
        json_decref(a);
        return e;
    }
    vs->n = json_array_size(a);
    json_array_foreach(a, i, o)
    {
        char inner[300];
        if ((e = entry_json(o, i, &vs->v[i], inner, sizeof inner)) != UL_OK) {
            ul_cli_msgf(msg, cap, e, "validator set %s: %s", path, inner);
            break;
        }
    }
    json_decref(a);
    qsort(vs->v, vs->n, sizeof vs->v[0], cmp_validator);
    for (i = 1; e == UL_OK && i < vs->n; i++) {
        if (memcmp(vs->v[i - 1].pubkey, vs->v[i].pubkey, UL_PUBKEY_BYTES) == 0) {
            e = ul_cli_msgf(msg, cap, UL_E_VALSET_CHANGE, "validator set %s: a key listed twice",
                            path);
        }
    }
    return e;
}

/* Prints the result of a committed (or accepted) change with the height it takes effect at. */
static void print_set_result(ul_cli *cli, const uint8_t id[UL_HASH_BYTES], uint64_t height,
                             const ul_valset *vs)
{
    char hex[2 * UL_HASH_BYTES + 1];
    ul_hex_encode(hex, id, UL_HASH_BYTES);
    if (cli->json) {
        ul_cli_print_json(json_pack("{s:s,s:s,s:I,s:b,s:I,s:I,s:I}", "result", "validators", "id",
                                    hex, "height", (json_int_t)height, "committed", height > 0,
                                    "effective_height", (json_int_t)(height ? height + 1 : 0),
                                    "validators", (json_int_t)vs->n, "total_power",
                                    (json_int_t)total_power(vs)));
    } else if (height) {
        printf("validator set change %s committed at height %llu; the new set (%zu validators, "
               "power %llu) signs from height %llu\n",
               hex, (unsigned long long)height, vs->n, (unsigned long long)total_power(vs),
               (unsigned long long)height + 1);
    } else {
        printf("validator set change %s accepted (pending); the new set signs from the height "
               "after the block that commits it\n",
               hex);
    }
}

static ul_err sign_submit_set(ul_cli *cli, ul_key *const *keys, size_t nk, ul_valset_change *b,
                              bool wait, uint8_t id[UL_HASH_BYTES], uint64_t *height)
{
    static uint8_t body[UL_MAX_RECORD_BYTES], tx[UL_MAX_TX_BYTES];
    size_t blen, tlen;
    ul_err e = ul_cli_next_nonce(cli, keys, nk, &b->nonce);
    if (e == UL_OK && (e = ul_schema_valset_change_encode(body, sizeof body, &blen, b)) == UL_OK &&
        (e = ul_cli_sign_tx(cli, keys, nk, UL_TX_VALSET, UL_DOMAIN_TX, body, blen, tx, sizeof tx,
                            &tlen)) == UL_OK) {
        e = ul_cli_submit(cli, tx, tlen, wait, id, height);
    }
    return e;
}

static int cmd_set(ul_cli *cli, int argc, char **argv)
{
    const char *keyf[UL_MAX_SIGS], *pf = NULL, *file = NULL, *pos[1];
    size_t nk = 0, np;
    bool no_wait = false;
    ul_opt opts[] = {{"--file", &file},
                     {"--key", .multi = keyf, .n_multi = &nk, .max_multi = UL_MAX_SIGS},
                     {"--passphrase-file", &pf},
                     {"--no-wait", .flag = &no_wait}};
    int rc = ul_cli_parse(argc, argv, opts, 4, pos, 0, 0, &np, set_help);
    if (rc >= 0) {
        return rc;
    }
    if (!file || nk == 0) {
        return ul_cli_usage("validators set: --file SET.json and --key KEYFILE are required");
    }
    static ul_valset_change b;
    char msg[512];
    ul_key *keys[UL_MAX_SIGS] = {0};
    uint8_t id[UL_HASH_BYTES];
    uint64_t height = 0;
    ul_err e = set_file(file, &b.validators, msg, sizeof msg);
    if (e != UL_OK) {
        return ul_cli_fail(cli, e, "%s", msg);
    }
    if ((e = ul_cli_load_keys(keyf, nk, pf, keys, msg, sizeof msg)) != UL_OK) {
        return ul_cli_fail(cli, e, "validators set: %s", msg);
    }
    e = sign_submit_set(cli, keys, nk, &b, !no_wait, id, &height);
    ul_cli_free_keys(keys, nk);
    if (e != UL_OK) {
        return ul_cli_fail(cli, e, "validators set %s (node %s)", file, cli->node);
    }
    print_set_result(cli, id, height, &b.validators);
    return 0;
}

static json_t *set_json(const ul_valset *vs, uint64_t h, uint64_t from, uint64_t head)
{
    uint8_t hash[UL_HASH_BYTES];
    uint64_t total = total_power(vs);
    json_t *list = json_array();
    for (size_t i = 0; list && i < vs->n; i++) {
        json_array_append_new(list, json_pack("{s:o,s:I}", "pubkey",
                                              ul_cli_hex_json(vs->v[i].pubkey, UL_PUBKEY_BYTES),
                                              "power", (json_int_t)vs->v[i].power));
    }
    if (ul_client_valset_hash(hash, vs) != UL_OK) {
        /* vs passed ul_schema_valset_decode, which holds it to the same rules, so this cannot
         * fail; if it ever did, print no hash the buffer never received. */
        json_decref(list);
        return NULL;
    }
    return json_pack("{s:I,s:I,s:I,s:o,s:I,s:I,s:o}", "height", (json_int_t)h, "since",
                     (json_int_t)from, "head", (json_int_t)head, "hash",
                     ul_cli_hex_json(hash, UL_HASH_BYTES), "total_power", (json_int_t)total,
                     "commit_power", (json_int_t)(total * 2 / 3 + 1), "validators", list);
}

static void print_set(json_t *o)
{
    size_t i;
    json_t *v;
    printf("validator set signing height %lld (in force since height %lld; head is %lld)\n",
           (long long)json_integer_value(json_object_get(o, "height")),
           (long long)json_integer_value(json_object_get(o, "since")),
           (long long)json_integer_value(json_object_get(o, "head")));
    printf("  %-10s %s\n", "hash", json_string_value(json_object_get(o, "hash")));
    printf("  %-10s %lld in total; a commit needs more than 2/3: at least %lld\n", "power",
           (long long)json_integer_value(json_object_get(o, "total_power")),
           (long long)json_integer_value(json_object_get(o, "commit_power")));
    json_array_foreach(json_object_get(o, "validators"), i, v)
    {
        printf("  %s %lld\n", json_string_value(json_object_get(v, "pubkey")),
               (long long)json_integer_value(json_object_get(v, "power")));
    }
}

static int cmd_show(ul_cli *cli, int argc, char **argv)
{
    const char *hs = NULL, *pos[1];
    size_t np;
    ul_opt opts[] = {{"--height", &hs}};
    int rc = ul_cli_parse(argc, argv, opts, 1, pos, 0, 0, &np, show_help);
    if (rc >= 0) {
        return rc;
    }
    char *end = NULL;
    unsigned long long h = hs ? strtoull(hs, &end, 10) : 0;
    if (hs && (*end || end == hs || h == 0)) {
        return ul_cli_usage("validators show: --height takes a height >= 1");
    }
    ul_msg q, r;
    uint8_t *buf = NULL;
    uint64_t at = 0, from = 0, head = 0;
    ul_q_validators_reply v;
    static ul_valset vs;
    ul_q_validators_req(&q, h);
    ul_err e = ul_cli_call(cli, &q, &r, &buf);
    if (e == UL_OK && ul_q_validators_reply_read(&r, &v) != UL_OK) {
        e = UL_E_PROTOCOL;
    }
    if (e == UL_OK && ul_schema_valset_decode(&vs, v.valset.ptr, v.valset.len) != UL_OK) {
        e = UL_E_CORRUPT;
    }
    if (e == UL_OK) {
        at = v.height, from = v.from, head = v.head;
    }
    ul_p2p_free(buf);
    if (e != UL_OK) {
        return ul_cli_fail(cli, e, "validators show%s%s (node %s)", hs ? " --height " : "",
                           hs ? hs : "", cli->node);
    }
    json_t *o = set_json(&vs, at, from, head);
    if (o == NULL) {
        return ul_cli_fail(cli, UL_E_CORRUPT, "validators show: the node's set does not hash");
    }
    if (cli->json) {
        ul_cli_print_json(o);
        return 0;
    }
    print_set(o);
    json_decref(o);
    return 0;
}

int ul_cmd_validators(ul_cli *cli, int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "show")) {
        return cmd_show(cli, argc - 1, argv + 1);
    }
    if (argc >= 2 && !strcmp(argv[1], "set")) {
        return cmd_set(cli, argc - 1, argv + 1);
    }
    if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        printf("usage: upledger validators show|set ...\n\n%s\n%s", show_help, set_help);
        return 0;
    }
    return ul_cli_usage("validators: expected show or set");
}
