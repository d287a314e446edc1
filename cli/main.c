/* upledger: the operator, publisher and auditor CLI. Talks to a node's query endpoint
 * (--node or UPLEDGER_NODE) and, for audit, can read a stopped node's data directory. */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "../schema/ul_version.h"
#include "cli.h"

static const struct {
    const char *name;
    ul_cmd_fn fn;
    const char *summary;
} commands[] = {
    {"keygen", ul_cmd_keygen, "create a signing key (encrypted keystore)"},
    {"genesis", ul_cmd_genesis, "write a genesis file for a new chain"},
    {"namespace", ul_cmd_namespace, "register, show or change the policy of a namespace"},
    {"publish", ul_cmd_publish, "publish a release: JSON manifest + image file"},
    {"approve", ul_cmd_approve, "co-sign a release in a policy role (e.g. certifier)"},
    {"revoke", ul_cmd_revoke, "revoke a release, with a reason"},
    {"rotate", ul_cmd_rotate, "replace the owner, publisher or a role's keys of a namespace"},
    {"transfer", ul_cmd_transfer, "hand a namespace to a successor's keys"},
    {"validators", ul_cmd_validators, "show the validator set, or change it (signed by it)"},
    {"query", ul_cmd_query,
     "status, releases, history, latest, blocks, commits, proofs, log\n"
     "                     consistency, search by image or signer, metrics"},
    {"audit", ul_cmd_audit, "re-verify the whole chain from genesis"},
    {"export", ul_cmd_export, "write proof bundles and images for a static mirror"},
    {"verify", ul_cmd_verify, "verify an image against a proof bundle, as a device would"},
    {"verify-consistency", ul_cmd_verify_consistency,
     "check that one saved header's release log extends another's"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: upledger [--node ENDPOINT] [--json] [--timeout-ms N] COMMAND [ARGS]\n"
               "       upledger --version\n\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        fprintf(f, "  %-18s %s\n", commands[i].name, commands[i].summary);
    }
    fprintf(f,
            "\n--node defaults to $UPLEDGER_NODE, else %s.\n"
            "--json prints machine-readable output (errors too). Each command takes --help.\n"
            "Options take their value as \"--opt VALUE\" or \"--opt=VALUE\".\n"
            "Exit status: 0 success, 1 failure (the message names the error), 2 usage.\n",
            UL_P2P_DEFAULT_ENDPOINT);
}

/* The options before COMMAND. Returns -1 to go on, else the exit status. */
static int global_opts(ul_cli *cli, int argc, char **argv)
{
    static const struct option lo[] = {{"json", no_argument, NULL, 'j'},
                                       {"node", required_argument, NULL, 'n'},
                                       {"timeout-ms", required_argument, NULL, 't'},
                                       {"help", no_argument, NULL, 'h'},
                                       {"version", no_argument, NULL, 'V'},
                                       {NULL, 0, NULL, 0}};
    int c;
    opterr = 0;
    /* "+": stop at COMMAND, whose own options follow it. */
    while ((c = getopt_long(argc, argv, "+:h", lo, NULL)) != -1) {
        if (c == 'j') {
            cli->json = true;
        } else if (c == 'n') {
            cli->node = optarg;
        } else if (c == 't') {
            char *end;
            errno = 0;
            long v = strtol(optarg, &end, 10);
            if (errno || end == optarg || *end || v < 100 || v > 3600000) {
                return ul_cli_usage("--timeout-ms takes 100..3600000");
            }
            cli->timeout_ms = (int)v;
        } else if (c == 'h') {
            usage(stdout);
            return 0;
        } else if (c == 'V') {
            printf("upledger %s\n", UL_VERSION_STRING);
            return 0;
        } else if (c == ':') {
            return ul_cli_usage("%s needs a value", argv[optind - 1]);
        } else {
            return ul_cli_usage("unknown option %s", argv[optind - 1]);
        }
    }
    return -1;
}

int main(int argc, char **argv)
{
    const char *env = getenv("UPLEDGER_NODE");
    ul_cli cli = {
        .node = env && *env ? env : UL_P2P_DEFAULT_ENDPOINT, .timeout_ms = 10000, .sock = -1};
    if (ul_client_init() != UL_OK) {
        fputs("upledger: cannot initialise libsodium\n", stderr);
        return UL_EXIT_FAIL;
    }
    int rc = global_opts(&cli, argc, argv);
    if (rc >= 0) {
        return rc;
    }
    int i = optind;
    if (i >= argc) {
        usage(stderr);
        return UL_EXIT_USAGE;
    }
    for (size_t c = 0; c < sizeof commands / sizeof commands[0]; c++) {
        if (!strcmp(argv[i], commands[c].name)) {
            rc = commands[c].fn(&cli, argc - i, argv + i);
            ul_p2p_close(cli.sock);
            return rc;
        }
    }
    return ul_cli_usage("unknown command %s", argv[i]);
}
