/* upledger-tracker: the status tracker's commands (init, group, enroll, run, poll, list, show,
 * summary). Every command works on one tracker home (--dir): its key and its SQLite store. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../client/ul_client.h"
#include "../ledger/ul_ledger.h"
#include "../schema/ul_version.h"
#include "cmd.h"

static const char USAGE[] =
    "usage: upledger-tracker COMMAND --dir DIR [options]\n"
    "The status tracker: devices enrolled by their owner POST signed reports; the tracker\n"
    "follows a node and classifies every device and component as up_to_date, outdated\n"
    "(a newer installable release exists for its class), failing (its last attempt failed\n"
    "or fell back), vulnerable (it runs a revoked release) or silent (no report for longer\n"
    "than its group's interval).\n"
    "Commands:\n"
    "  init [--unencrypted-key]      new home DIR (0700): DIR/tracker.key (0600, encrypted\n"
    "                                with UPLEDGER_PASSPHRASE, else typed twice), DIR/tracker.db;\n"
    "                                prints the tracker's public key (devices address it)\n"
    "  key                           prints the tracker's public key\n"
    "  group NAME --silence SECONDS  creates a group, or sets its silence interval\n"
    "  enroll --device HEX --group G enrolls a device key (a new group: silent after 1 day)\n"
    "  enroll --file PATH [--group G] enrolls every line \"HEX [GROUP]\" of PATH in one go\n"
    "  run --node EP --listen ADDR:PORT [--poll-ms N] [--threads N]\n"
    "      [--tls-cert PEM --tls-key PEM] serves the HTTP(S) API and follows the node\n"
    "      [--upstream URL --upstream-key HEX [--upstream-cert PEM] [--upstream-every-ms N]]\n"
    "                                and sends a signed summary upstream every N ms (60000)\n"
    "  poll --node EP                one poll of the node (what run does every --poll-ms)\n"
    "  enroll-tracker --tracker HEX --name NAME   takes summaries from that downstream tracker\n"
    "  push --upstream URL --upstream-key HEX [--upstream-cert PEM]   one summary now\n"
    "  list --outdated|--vulnerable|--failing|--silent|--up-to-date|--unknown [--ns NS]\n"
    "       [--group G] [--hw HW] [--limit N] [--after CURSOR] [--json]   devices in that status\n"
    "  show --device HEX [--json]    one device and its report history\n"
    "  summary [--json]              device counts by status and group, components by\n"
    "                                namespace, class, release and status\n"
    "HTTP API: POST /v1/reports (application/cbor), GET /v1/devices?status=S&ns=&group=&hw=\n"
    "&after=&limit=, GET /v1/devices/{key}, GET /v1/summary, POST /v1/summaries (from enrolled\n"
    "downstream trackers). --upstream-cert pins the upstream's certificate (the only one\n"
    "trusted). Exit: 0, 1 failed, 2 usage.\n";

/* A decimal number option in [1, max]. */
static bool number(const char *s, uint64_t max, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    *out = v;
    return *s >= '0' && *s <= '9' && *end == 0 && errno == 0 && v >= 1 && v <= max;
}

enum {
    O_DIR = 256,
    O_NODE,
    O_LISTEN,
    O_CERT,
    O_KEY,
    O_DEVICE,
    O_GROUP,
    O_FILE,
    O_NS,
    O_HW,
    O_UPSTREAM,
    O_UPKEY,
    O_UPCERT,
    O_TRACKER,
    O_NAME,
    O_SILENCE,
    O_POLL,
    O_THREADS,
    O_LIMIT,
    O_AFTER,
    O_UPEVERY,
    O_JSON,
    O_UNENC,
    O_PASSFILE,
    O_STATUS
};

static const struct option OPTS[] = {{"dir", required_argument, NULL, O_DIR},
                                     {"node", required_argument, NULL, O_NODE},
                                     {"listen", required_argument, NULL, O_LISTEN},
                                     {"tls-cert", required_argument, NULL, O_CERT},
                                     {"tls-key", required_argument, NULL, O_KEY},
                                     {"device", required_argument, NULL, O_DEVICE},
                                     {"group", required_argument, NULL, O_GROUP},
                                     {"file", required_argument, NULL, O_FILE},
                                     {"ns", required_argument, NULL, O_NS},
                                     {"hw", required_argument, NULL, O_HW},
                                     {"upstream", required_argument, NULL, O_UPSTREAM},
                                     {"upstream-key", required_argument, NULL, O_UPKEY},
                                     {"upstream-cert", required_argument, NULL, O_UPCERT},
                                     {"tracker", required_argument, NULL, O_TRACKER},
                                     {"name", required_argument, NULL, O_NAME},
                                     {"upstream-every-ms", required_argument, NULL, O_UPEVERY},
                                     {"silence", required_argument, NULL, O_SILENCE},
                                     {"poll-ms", required_argument, NULL, O_POLL},
                                     {"threads", required_argument, NULL, O_THREADS},
                                     {"limit", required_argument, NULL, O_LIMIT},
                                     {"after", required_argument, NULL, O_AFTER},
                                     {"json", no_argument, NULL, O_JSON},
                                     {"unencrypted-key", no_argument, NULL, O_UNENC},
                                     {"passphrase-file", required_argument, NULL, O_PASSFILE},
                                     {"up-to-date", no_argument, NULL, O_STATUS + UL_TS_UP_TO_DATE},
                                     {"outdated", no_argument, NULL, O_STATUS + UL_TS_OUTDATED},
                                     {"failing", no_argument, NULL, O_STATUS + UL_TS_FAILING},
                                     {"vulnerable", no_argument, NULL, O_STATUS + UL_TS_VULNERABLE},
                                     {"silent", no_argument, NULL, O_STATUS + UL_TS_SILENT},
                                     {"unknown", no_argument, NULL, O_STATUS + UL_TS_UNKNOWN},
                                     {"help", no_argument, NULL, 'h'},
                                     {"version", no_argument, NULL, 'V'},
                                     {NULL, 0, NULL, 0}};

/* Numeric options: their bound and where they go. */
static int take_number(ul_topts *o, int c, const char *arg)
{
    uint64_t max = c == O_SILENCE                  ? UL_MAX_TRACKER_SILENCE_S
                   : c == O_LIMIT                  ? UL_MAX_TRACKER_PAGE
                   : c == O_THREADS                ? 64
                   : c == O_POLL || c == O_UPEVERY ? 86400000
                                                   : INT64_MAX;
    uint64_t *dst = c == O_SILENCE   ? &o->silence
                    : c == O_LIMIT   ? &o->limit
                    : c == O_THREADS ? &o->threads
                    : c == O_POLL    ? &o->poll_ms
                    : c == O_UPEVERY ? &o->upstream_every_ms
                                     : &o->after;
    if (!number(arg, max, dst)) {
        const char *name = "";
        for (const struct option *op = OPTS; op->name; op++) {
            name = op->val == c ? op->name : name;
        }
        fprintf(stderr, "upledger-tracker: --%s %s: not a number in 1..%llu (%s)\n", name, arg,
                (unsigned long long)max, ul_err_name(max < INT64_MAX ? UL_E_LIMIT : UL_E_ARG));
        return UL_TEXIT_USAGE;
    }
    return -1;
}

static int take_option(ul_topts *o, int c, const char *arg)
{
    const char **str[] = {
        &o->dir,      &o->node,         &o->listen,        &o->tls_cert, &o->tls_key,
        &o->device,   &o->group,        &o->file,          &o->ns,       &o->hw,
        &o->upstream, &o->upstream_key, &o->upstream_cert, &o->tracker,  &o->name};
    if (c >= O_DIR && c <= O_NAME) {
        *str[c - O_DIR] = arg;
    } else if (c >= O_SILENCE && c <= O_UPEVERY) {
        return take_number(o, c, arg);
    } else if (c == O_JSON || c == O_UNENC) {
        *(c == O_JSON ? &o->json : &o->unencrypted) = true;
    } else if (c == O_PASSFILE) {
        o->passphrase_file = arg;
    } else if (c >= O_STATUS && c < O_STATUS + UL_TS_COUNT) {
        if (o->status >= 0) {
            return ul_tracker_usage_err("give one status to list", NULL);
        }
        o->status = c - O_STATUS;
    } else {
        return ul_tracker_usage_err("unknown option or missing value", NULL);
    }
    return -1;
}

/* Parses argv after the command; returns -1 to go on, else the exit code. */
static int parse(ul_topts *o, int argc, char **argv)
{
    int c, rc;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", OPTS, NULL)) != -1) {
        if (c == 'h') {
            fputs(USAGE, stdout);
            return 0;
        }
        if (c == '?') {
            return ul_tracker_usage_err("unknown option or missing value: ", argv[optind - 1]);
        }
        if ((rc = take_option(o, c, optarg)) >= 0) {
            return rc;
        }
    }
    if (strcmp(o->cmd, "group") == 0 && optind < argc) {
        o->group = argv[optind++];
    }
    if (optind < argc) {
        return ul_tracker_usage_err("unexpected argument: ", argv[optind]);
    }
    if (!o->dir) {
        return ul_tracker_usage_err("--dir DIR is required", NULL);
    }
    if (strlen(o->dir) > PATH_MAX - 32) {
        return ul_tracker_usage_err("--dir is too long", NULL);
    }
    snprintf(o->db, sizeof(o->db), "%s/tracker.db", o->dir);
    snprintf(o->keyfile, sizeof(o->keyfile), "%s/tracker.key", o->dir);
    return -1;
}

int main(int argc, char **argv)
{
    ul_topts o = {.status = -1};
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        fputs(USAGE, stdout);
        return 0;
    }
    if (argc >= 2 && strcmp(argv[1], "--version") == 0) {
        printf("upledger-tracker %s\n", UL_VERSION_STRING);
        return 0;
    }
    if (argc < 2 || argv[1][0] == '-') {
        return ul_tracker_usage_err("a command is required", NULL);
    }
    if (ul_client_init() != UL_OK) {
        return ul_tracker_fail(UL_E_INTERNAL, "%s", "libsodium does not initialise");
    }
    umask(077); /* the store names devices: the owner's alone, as the key is */
    o.cmd = argv[1];
    int rc = parse(&o, argc - 1, argv + 1);
    return rc >= 0 ? rc : ul_tracker_dispatch(&o);
}
