/* upledger approve, revoke, rotate and transfer: the co-signer, revoker and owner transactions a
 * namespace's policy contract decides. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define SIGNER_OPTS(keyf, nk, pf, no_wait)                                                         \
    {"--key", .multi = keyf, .n_multi = &nk, .max_multi = UL_MAX_SIGS},                            \
        {"--passphrase-file", &pf},                                                                \
    {                                                                                              \
        "--no-wait", .flag = &no_wait                                                              \
    }

/* Loads the signers, picks a nonce, encodes the body with enc and submits it. */
typedef ul_err (*encode_fn)(void *body, uint64_t nonce, uint8_t *out, size_t cap, size_t *len);

static int run(ul_cli *cli, const char *what, const char *ctx, const char *const *keyf, size_t nk,
               const char *pf, ul_tx_kind kind, encode_fn enc, void *body, bool wait)
{
    ul_key *keys[UL_MAX_SIGS] = {0};
    static uint8_t out[2 * UL_MAX_RECORD_BYTES];
    uint64_t nonce;
    size_t len;
    int rc;
    if (nk == 0) {
        return ul_cli_usage("%s: at least one --key KEYFILE is required", what);
    }
    char msg[600];
    ul_err e = ul_cli_load_keys(keyf, nk, pf, keys, msg, sizeof msg);
    if (e != UL_OK) {
        return ul_cli_fail(cli, e, "%s: %s", what, msg);
    }
    if ((e = ul_cli_next_nonce(cli, keys, nk, &nonce)) == UL_OK) {
        e = enc(body, nonce, out, sizeof out, &len);
    }
    rc = e == UL_OK ? ul_cli_sign_submit(cli, what, ctx, keys, nk, kind, out, len, wait)
                    : ul_cli_fail(cli, e, "%s (node %s)", ctx, cli->node);
    ul_cli_free_keys(keys, nk);
    return rc;
}

static ul_err enc_approve(void *b, uint64_t nonce, uint8_t *out, size_t cap, size_t *len)
{
    ((ul_approve *)b)->nonce = nonce;
    return ul_schema_approve_encode(out, cap, len, b);
}

static const char approve_help[] =
    "usage: upledger approve ID --role ROLE --key KEYFILE... [--no-wait]\n"
    "Co-signs release ID in a role of its namespace's policy (e.g. certifier). Each key counts\n"
    "once; the release becomes installable when every role its update kind requires has\n"
    "approvals from at least its threshold of keys.\n";

int ul_cmd_approve(ul_cli *cli, int argc, char **argv)
{
    const char *keyf[UL_MAX_SIGS], *pf = NULL, *role = NULL, *pos[1];
    size_t nk = 0, np;
    bool no_wait = false;
    ul_opt opts[] = {{"--role", &role}, SIGNER_OPTS(keyf, nk, pf, no_wait)};
    int rc = ul_cli_parse(argc, argv, opts, 4, pos, 1, 1, &np, approve_help);
    if (rc >= 0) {
        return rc;
    }
    ul_approve b = {.role = ul_span_str(role ? role : "")};
    if (!role || ul_cli_id_arg(pos[0], b.release) != UL_OK) {
        return ul_cli_usage("approve: ID (64 hex digits) and --role ROLE are required");
    }
    char ctx[200];
    snprintf(ctx, sizeof ctx, "approve %.16s… as %s", pos[0], role);
    return run(cli, "approval", ctx, keyf, nk, pf, UL_TX_APPROVE, enc_approve, &b, !no_wait);
}

static ul_err enc_revoke(void *b, uint64_t nonce, uint8_t *out, size_t cap, size_t *len)
{
    ((ul_revoke *)b)->nonce = nonce;
    return ul_schema_revoke_encode(out, cap, len, b);
}

static const char revoke_help[] =
    "usage: upledger revoke ID --reason TEXT --key KEYFILE... [--no-wait]\n"
    "Revokes release ID. The signers must meet the threshold of one of the revoker sets its\n"
    "namespace's policy names. Devices refuse a revoked release; the reason is recorded.\n";

int ul_cmd_revoke(ul_cli *cli, int argc, char **argv)
{
    const char *keyf[UL_MAX_SIGS], *pf = NULL, *reason = NULL, *pos[1];
    size_t nk = 0, np;
    bool no_wait = false;
    ul_opt opts[] = {{"--reason", &reason}, SIGNER_OPTS(keyf, nk, pf, no_wait)};
    int rc = ul_cli_parse(argc, argv, opts, 4, pos, 1, 1, &np, revoke_help);
    if (rc >= 0) {
        return rc;
    }
    ul_revoke b = {.reason = ul_span_str(reason ? reason : "")};
    if (!reason || ul_cli_id_arg(pos[0], b.release) != UL_OK) {
        return ul_cli_usage("revoke: ID (64 hex digits) and --reason TEXT are required");
    }
    char ctx[200];
    snprintf(ctx, sizeof ctx, "revoke %.16s…", pos[0]);
    return run(cli, "revocation", ctx, keyf, nk, pf, UL_TX_REVOKE, enc_revoke, &b, !no_wait);
}

static ul_err enc_rotate(void *b, uint64_t nonce, uint8_t *out, size_t cap, size_t *len)
{
    ((ul_rotate *)b)->nonce = nonce;
    return ul_schema_rotate_encode(out, cap, len, b);
}

static const char rotate_help[] =
    "usage: upledger rotate NS --target owners|publishers|ROLE --new-key KEY... [--threshold N]\n"
    "                      --key KEYFILE... [--no-wait]\n"
    "Replaces one key set of namespace NS's policy (threshold default: 1). Signed by current\n"
    "owners meeting the owner threshold; keys rotated out stop counting at once.\n";

int ul_cmd_rotate(ul_cli *cli, int argc, char **argv)
{
    const char *keyf[UL_MAX_SIGS], *pf = NULL, *target = NULL, *th = NULL, *nks[UL_MAX_KEYS],
                                   *pos[1];
    size_t nk = 0, nn = 0, np;
    bool no_wait = false;
    ul_opt opts[] = {{"--target", &target},
                     {"--threshold", &th},
                     {"--new-key", .multi = nks, .n_multi = &nn, .max_multi = UL_MAX_KEYS},
                     SIGNER_OPTS(keyf, nk, pf, no_wait)};
    int rc = ul_cli_parse(argc, argv, opts, 6, pos, 1, 1, &np, rotate_help);
    if (rc >= 0) {
        return rc;
    }
    char *end = NULL;
    unsigned long t = th ? strtoul(th, &end, 10) : 1;
    if (!target || nn == 0 || (th && (*end || t == 0))) {
        return ul_cli_usage("rotate: --target, --new-key and a --threshold >= 1 are needed");
    }
    static ul_rotate b;
    b.ns = ul_span_str(pos[0]);
    b.target = ul_span_str(target);
    ul_err e = ul_cli_keyset(nks, nn, t, &b.keys);
    if (e != UL_OK) {
        return ul_cli_fail(cli, e, "rotate: --new-key keys or --threshold");
    }
    char ctx[300];
    snprintf(ctx, sizeof ctx, "rotate %s of %s", target, pos[0]);
    return run(cli, "rotation", ctx, keyf, nk, pf, UL_TX_ROTATE, enc_rotate, &b, !no_wait);
}

static ul_err enc_transfer(void *b, uint64_t nonce, uint8_t *out, size_t cap, size_t *len)
{
    ((ul_transfer *)b)->nonce = nonce;
    return ul_schema_transfer_encode(out, cap, len, b);
}

static const char transfer_help[] =
    "usage: upledger transfer NS --owner KEY... [--owner-threshold N] --publisher KEY...\n"
    "                        [--publisher-threshold N] --key KEYFILE... [--no-wait]\n"
    "Hands namespace NS to a successor's owner and publisher keys (thresholds default 1).\n"
    "Before its end of support only the current owners (threshold) may sign; from it on,\n"
    "validators holding more than 2/3 of the voting power may (--key their validator keys).\n";

int ul_cmd_transfer(ul_cli *cli, int argc, char **argv)
{
    const char *keyf[UL_MAX_SIGS], *pf = NULL, *ot = NULL, *pt = NULL, *own[UL_MAX_KEYS],
                                   *pub[UL_MAX_KEYS], *pos[1];
    size_t nk = 0, no = 0, npb = 0, np;
    bool no_wait = false;
    ul_opt opts[] = {{"--owner", .multi = own, .n_multi = &no, .max_multi = UL_MAX_KEYS},
                     {"--publisher", .multi = pub, .n_multi = &npb, .max_multi = UL_MAX_KEYS},
                     {"--owner-threshold", &ot},
                     {"--publisher-threshold", &pt},
                     SIGNER_OPTS(keyf, nk, pf, no_wait)};
    int rc = ul_cli_parse(argc, argv, opts, 7, pos, 1, 1, &np, transfer_help);
    if (rc >= 0) {
        return rc;
    }
    unsigned long o = ot ? strtoul(ot, NULL, 10) : 1, p = pt ? strtoul(pt, NULL, 10) : 1;
    if (no == 0 || npb == 0 || o == 0 || p == 0) {
        return ul_cli_usage("transfer: --owner and --publisher keys (thresholds >= 1) needed");
    }
    static ul_transfer b;
    b.ns = ul_span_str(pos[0]);
    ul_err e = ul_cli_keyset(own, no, o, &b.owners);
    if (e == UL_OK) {
        e = ul_cli_keyset(pub, npb, p, &b.publishers);
    }
    if (e != UL_OK) {
        return ul_cli_fail(cli, e, "transfer: successor keys or thresholds");
    }
    char ctx[300];
    snprintf(ctx, sizeof ctx, "transfer %s", pos[0]);
    return run(cli, "transfer", ctx, keyf, nk, pf, UL_TX_TRANSFER, enc_transfer, &b, !no_wait);
}
