/* upledger keygen and genesis: creating signing keys and the genesis of a new chain. */
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "cli.h"

static const char keygen_help[] =
    "usage: upledger keygen --out FILE [--passphrase-file F] [--insecure-no-passphrase]\n"
    "Creates a BIP-340 signing key in a new keystore FILE (mode 0600, never overwritten),\n"
    "encrypted with a passphrase (argon2id + secretbox) from $UPLEDGER_PASSPHRASE, the\n"
    "passphrase file, or a prompt. --insecure-no-passphrase stores it unencrypted: for dev\n"
    "chains only. Prints the public key. A keystore the group or others may access is\n"
    "refused when loaded, as OpenSSH refuses such keys (UPLEDGER_ALLOW_OPEN_KEY_FILES=1\n"
    "allows it).\n"
    "\n"
    "       upledger keygen --class OUT\n"
    "Creates an X25519 keypair for a hardware class (encrypted images): OUT.pub, the public\n"
    "key publishers seal content keys to (publish --encrypt-for CLASS=OUT.pub; JSON\n"
    "{\"format\":\"upledger-class-key/1\",\"public\":HEX}), and OUT, the secret: 32 raw bytes,\n"
    "mode 0600, which every device of the class is provisioned with (upledger-device init\n"
    "--class-key OUT). The secret is stored UNENCRYPTED: devices must hold it in the clear to\n"
    "decrypt images, so guard the file and load it only into devices of that class. Neither\n"
    "file is ever overwritten.\n";

int ul_cmd_keygen(ul_cli *cli, int argc, char **argv)
{
    const char *out = NULL, *pf = NULL, *cls = NULL, *pos[1];
    bool plain = false;
    size_t np;
    ul_opt opts[] = {{"--out", &out},
                     {"--passphrase-file", &pf},
                     {"--insecure-no-passphrase", .flag = &plain},
                     {"--class", &cls}};
    int rc = ul_cli_parse(argc, argv, opts, 4, pos, 0, 0, &np, keygen_help);
    if (rc >= 0) {
        return rc;
    }
    if (cls) {
        if (out || pf || plain) {
            return ul_cli_usage("keygen: --class OUT takes no other option");
        }
        return ul_cli_class_keygen(cli, cls);
    }
    if (!out) {
        return ul_cli_usage("keygen: --out FILE (or --class OUT) is required");
    }
    ul_key *k = NULL;
    char *pass = NULL;
    ul_err e = plain ? UL_OK : ul_cli_passphrase(pf, true, &pass);
    if (e == UL_OK && (e = ul_key_generate(&k)) == UL_OK) {
        e = ul_key_save(k, out, pass);
    }
    ul_cli_free_secret(pass);
    if (e != UL_OK) {
        ul_key_destroy(k);
        return ul_cli_fail(cli, e, "keygen %s", out);
    }
    char hex[2 * UL_PUBKEY_BYTES + 1];
    ul_hex_encode(hex, ul_key_pubkey(k), UL_PUBKEY_BYTES);
    ul_key_destroy(k);
    if (cli->json) {
        ul_cli_print_json(
            json_pack("{s:s,s:s,s:b}", "pubkey", hex, "file", out, "encrypted", !plain));
    } else {
        printf("%s\n", hex);
        fprintf(stderr, "upledger: wrote %s key to %s\n", plain ? "UNENCRYPTED" : "encrypted", out);
    }
    return 0;
}

static const char genesis_help[] =
    "usage: upledger genesis --out FILE --validator KEY[:POWER]... [--name NAME] [--time-ms MS]\n"
    "Writes the canonical genesis of a new chain: its name, start time and validator set.\n"
    "KEY is 64 hex digits or a keystore file; POWER defaults to 1. The chain id is the\n"
    "SHA-256 of the file, printed on success.\n";

static ul_err parse_validator(const char *arg, ul_validator *v)
{
    char buf[4200];
    if (strlen(arg) >= sizeof buf) {
        return UL_E_LIMIT;
    }
    memcpy(buf, arg, strlen(arg) + 1);
    char *colon = strrchr(buf, ':');
    v->power = 1;
    if (colon) {
        char *end;
        unsigned long long p = strtoull(colon + 1, &end, 10);
        if (*end || end == colon + 1 || p == 0 || p > UL_MAX_TOTAL_POWER) {
            return UL_E_ARG;
        }
        v->power = p;
        *colon = 0;
    }
    return ul_cli_pubkey_arg(buf, v->pubkey);
}

static int cmp_validator(const void *a, const void *b)
{
    return memcmp(((const ul_validator *)a)->pubkey, ((const ul_validator *)b)->pubkey, 32);
}

int ul_cmd_genesis(ul_cli *cli, int argc, char **argv)
{
    const char *out = NULL, *name = NULL, *time_s = NULL, *vals[UL_MAX_VALIDATORS], *pos[1];
    size_t nv = 0, np;
    ul_opt opts[] = {
        {"--out", &out},
        {"--name", &name},
        {"--time-ms", &time_s},
        {"--validator", .multi = vals, .n_multi = &nv, .max_multi = UL_MAX_VALIDATORS}};
    int rc = ul_cli_parse(argc, argv, opts, 4, pos, 0, 0, &np, genesis_help);
    if (rc >= 0) {
        return rc;
    }
    if (!out || nv == 0) {
        return ul_cli_usage("genesis: --out and at least one --validator are required");
    }
    ul_genesis g = {.version = 1, .name = ul_span_str(name ? name : "upledger")};
    struct timeval tv;
    gettimeofday(&tv, NULL);
    g.time_ms = (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000;
    if (time_s) {
        char *end;
        g.time_ms = strtoull(time_s, &end, 10);
        if (*end || end == time_s) {
            return ul_cli_usage("genesis: --time-ms takes unix milliseconds");
        }
    }
    for (size_t i = 0; i < nv; i++) {
        ul_err e = parse_validator(vals[i], &g.validators.v[i]);
        if (e != UL_OK) {
            return ul_cli_fail(cli, e, "genesis: validator %s", vals[i]);
        }
    }
    g.validators.n = nv;
    qsort(g.validators.v, nv, sizeof g.validators.v[0], cmp_validator);
    uint8_t buf[UL_MAX_VALSET_BYTES + 512], id[UL_HASH_BYTES];
    size_t len;
    ul_err e = ul_schema_genesis_encode(buf, sizeof buf, &len, &g);
    if (e == UL_OK) {
        e = ul_cli_write_file(out, buf, len);
    }
    if (e != UL_OK) {
        return ul_cli_fail(cli, e, "genesis %s", out);
    }
    char hex[2 * UL_HASH_BYTES + 1];
    ul_client_sha256(id, buf, len);
    ul_hex_encode(hex, id, UL_HASH_BYTES);
    if (cli->json) {
        ul_cli_print_json(
            json_pack("{s:s,s:s,s:i}", "chain_id", hex, "file", out, "validators", (int)nv));
    } else {
        printf("chain id %s\n", hex);
    }
    return 0;
}
