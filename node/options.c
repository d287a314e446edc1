/* upledgerd's options: --help, the command line (getopt_long) and the JSON config file
 * (jansson), each value checked against its bound with one log line naming a bad one. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "options.h"
#include "schema/ul_version.h"

#define logf_ ul_node_log

/* No empty blocks by default: blocks are made only when transactions wait, and devices get fresh
 * heads from checkpoints (docs/protocol.md section 7.4). --heartbeat-ms brings them back. */
#define DEFAULT_HEARTBEAT_MS 0
#define DEFAULT_CHECKPOINT_MS 60000
#define MIN_CHECKPOINT_MS 10
#define MAX_CHECKPOINT_MS (24 * 3600 * 1000)
#define DEFAULT_ROUND_TIMEOUT_MS 1000
#define MIN_ROUND_TIMEOUT_MS 20
#define MAX_ROUND_TIMEOUT_MS (600 * 1000)
#define MAX_HEARTBEAT_MS (3600 * 1000)

static void usage(FILE *f)
{
    fprintf(
        f,
        "usage: upledgerd --dev --data DIR [--listen ENDPOINT] [--checkpoint-ms N]\n"
        "                [--heartbeat-ms N] [-v] [--log-format text|json] [--log-file FILE]\n"
        "       upledgerd --config FILE [--listen ENDPOINT] [-v] [--log-format ...] [--log-file "
        "...]\n"
        "       upledgerd (--dev --data DIR | --config FILE) --reset-sign-state\n"
        "       upledgerd init --home DIR [--genesis FILE] [--observer] [--unencrypted-key]\n"
        "       upledgerd --version\n"
        "\n"
        "Runs an upledger consortium node: agrees on blocks with the other validators\n"
        "(Tendermint BFT over nanomsg), stores them in DIR (LevelDB) and answers queries\n"
        "on ENDPOINT (nanomsg REQ/REP, default %s).\n"
        "\n"
        "  --dev             single-validator dev chain; on first start creates DIR/validator.key\n"
        "                    (UNENCRYPTED: a dev chain only) and DIR/genesis.cbor\n"
        "  --data DIR        data directory (blocks in DIR/db)\n"
        "  --config FILE     JSON config (below); an encrypted key's passphrase comes from\n"
        "                    UPLEDGER_PASSPHRASE\n"
        "  --listen EP       endpoint to serve, e.g. tcp://127.0.0.1:7400\n"
        "  --checkpoint-ms N validators co-sign a freshness checkpoint of the head every\n"
        "                    N ms (default %d; 0: never): devices' --max-age counts from it\n"
        "  --heartbeat-ms N  also make an empty block every N ms when idle (default: off;\n"
        "                    blocks are made only when transactions wait)\n"
        "  -v, --verbose     log at debug level too (checkpoints signed, block sync passes)\n"
        "                    and every block, empty ones included\n"
        "  --log-format F    text (default: TIME LEVEL upledgerd: MESSAGE, RFC 3339 UTC time)\n"
        "                    or json (one {\"time\", \"level\", \"msg\"} object a line)\n"
        "  --log-file FILE   append the log to FILE instead of stderr; SIGHUP reopens it\n"
        "  --http HOST:PORT  serve the read-only HTTP API and the explorer (docs/openapi.yaml);\n"
        "                    off unless asked; --dev serves it at " UL_HTTP_DEV_ADDR
        " (off: none)\n"
        "  --explorer DIR    the explorer's built files (default: explorer/ beside the binary)\n"
        "  --sched P         batch (default: Linux SCHED_BATCH, a waking thread does not\n"
        "                    preempt a running one: fewer context switches) or normal\n"
        "  --reset-sign-state  write a fresh sign state beside the validator key\n"
        "                    (KEY.sign-state) and exit: only for a key that cannot have\n"
        "                    signed above the chain's head (a new key or network; README)\n"
        "  --version         print the version and exit\n"
        "Options take their value as --opt VALUE or --opt=VALUE.\n"
        "\n"
        "Config: {\"data\": DIR, \"genesis\": FILE, \"key\": FILE, \"listen\": EP,\n"
        "  \"p2p\": EP this validator binds for its peers,\n"
        "  \"peers\": [{\"p2p\": EP, \"rpc\": EP}, ...] the other nodes "
        "(\"tcp://LOCAL;REMOTE:PORT\"\n"
        "           connects from LOCAL), \"observer\": true (no key: replicates by block sync,\n"
        "  serves queries, never votes), \"checkpoint_ms\": N, \"heartbeat_ms\": N,\n"
        "  \"round_timeout_ms\": N (default %d), \"log_format\": \"text\"|\"json\", \"log_file\": "
        "FILE,\n  \"http\": \"HOST:PORT\", \"explorer\": DIR, \"sched\": \"batch\"|\"normal\"}\n"
        "  Settings starting with \"_\" are notes, ignored. `upledgerd init --help`: a new\n"
        "  node home with a commented config.\n"
        "SIGINT/SIGTERM stop after the current step; committed blocks are durable. SIGHUP\n"
        "reopens the log file (after logrotate moved it); without --log-file it is ignored.\n"
        "The store is read in full at start: damage (UL_E_CORRUPT) stops the node with a\n"
        "repair instruction. A full disk (UL_E_NO_SPACE, in the log and `query status`)\n"
        "pauses commits, pool kept, until space returns.\n",
        UL_P2P_DEFAULT_ENDPOINT, DEFAULT_CHECKPOINT_MS, DEFAULT_ROUND_TIMEOUT_MS);
}

static bool copy_opt(char *dst, size_t cap, const char *src, const char *what)
{
    if (!src || strlen(src) >= cap) {
        logf_("%s %s", what, src ? "is too long" : "needs a value");
        return false;
    }
    memcpy(dst, src, strlen(src) + 1);
    return true;
}

static bool parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = s ? strtol(s, &end, 10) : 0;
    if (!s || errno || *end || end == s || v < lo || v > hi) {
        return false;
    }
    *out = v;
    return true;
}

static bool json_ep(char *dst, const json_t *v, const char *what)
{
    return json_is_string(v) && copy_opt(dst, UL_NODE_EP_MAX, json_string_value(v), what);
}

static bool load_peers(ul_node_opts *o, const json_t *arr)
{
    size_t i;
    json_t *p;
    if (!json_is_array(arr) || json_array_size(arr) > UL_MAX_PEERS) {
        logf_("\"peers\" must be an array of at most %d {\"p2p\", \"rpc\"} objects", UL_MAX_PEERS);
        return false;
    }
    json_array_foreach(arr, i, p)
    {
        if (!json_is_object(p) || json_object_size(p) != 2 ||
            !json_ep(o->net.peer_p2p[i], json_object_get(p, "p2p"), "peer p2p") ||
            !json_ep(o->net.peer_rpc[i], json_object_get(p, "rpc"), "peer rpc")) {
            logf_("peer %zu: want {\"p2p\": ENDPOINT, \"rpc\": ENDPOINT}", i);
            return false;
        }
    }
    o->net.n_peers = json_array_size(arr);
    return true;
}

static bool json_ms(const json_t *v, long lo, long hi, long *out)
{
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi) {
        return false;
    }
    *out = (long)json_integer_value(v);
    return true;
}

/* --sched's value v. Returns false on a bad value (said). */
static bool take_sched_opt(ul_node_opts *o, const char *v)
{
    if (strcmp(v, "batch") && strcmp(v, "normal")) {
        logf_("--sched wants batch or normal, not '%s'", v);
        return false;
    }
    o->sched_normal = !strcmp(v, "normal");
    return true;
}

/* --log-format (format) or --log-file's value v. Returns false on a bad value (said). */
static bool take_log_opt(ul_node_opts *o, bool format, const char *v)
{
    if (!format) {
        return copy_opt(o->log_file, sizeof o->log_file, v, "--log-file");
    }
    if (strcmp(v, "text") && strcmp(v, "json")) {
        logf_("--log-format wants text or json, not '%s'", v);
        return false;
    }
    o->log_json = !strcmp(v, "json");
    return true;
}

static bool load_config(ul_node_opts *o, const char *path)
{
    json_error_t jerr;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (!root || !json_is_object(root)) {
        if (root || jerr.line < 1) { /* not an object, or the file could not be read */
            logf_("config %s: %s", path, root ? "not a JSON object" : jerr.text);
        } else {
            logf_("config %s: line %d, column %d: %s", path, jerr.line, jerr.column, jerr.text);
        }
        json_decref(root);
        return false;
    }
    const char *key;
    json_t *v;
    bool ok = true;
    json_object_foreach(root, key, v)
    {
        if (key[0] == '_') { /* a note (upledgerd init writes them): ignored */
            continue;
        } else if (!strcmp(key, "heartbeat_ms")) {
            ok = json_ms(v, 10, MAX_HEARTBEAT_MS, &o->net.heartbeat_ms);
        } else if (!strcmp(key, "checkpoint_ms")) {
            ok = json_ms(v, 0, MAX_CHECKPOINT_MS, &o->net.checkpoint_ms) &&
                 (o->net.checkpoint_ms == 0 || o->net.checkpoint_ms >= MIN_CHECKPOINT_MS);
        } else if (!strcmp(key, "round_timeout_ms")) {
            ok = json_ms(v, MIN_ROUND_TIMEOUT_MS, MAX_ROUND_TIMEOUT_MS, &o->net.round_timeout_ms);
        } else if (!strcmp(key, "observer")) {
            ok = json_is_boolean(v);
            o->net.observer = json_is_true(v);
        } else if (!strcmp(key, "log_format") || !strcmp(key, "log_file")) {
            ok = json_is_string(v) &&
                 take_log_opt(o, !strcmp(key, "log_format"), json_string_value(v));
        } else if (!strcmp(key, "sched")) {
            ok = json_is_string(v) && take_sched_opt(o, json_string_value(v));
        } else if (!strcmp(key, "http") || !strcmp(key, "explorer")) {
            ok = json_is_string(v) && ul_http_opt(&o->http, key, json_string_value(v));
        } else if (!strcmp(key, "peers")) {
            ok = load_peers(o, v);
        } else if (!strcmp(key, "p2p") || !strcmp(key, "listen")) {
            ok = json_ep(!strcmp(key, "p2p") ? o->net.p2p : o->listen, v, key);
        } else if (!strcmp(key, "data") || !strcmp(key, "genesis") || !strcmp(key, "key")) {
            char *dst = !strcmp(key, "data")      ? o->data
                        : !strcmp(key, "genesis") ? o->genesis
                                                  : o->key;
            size_t cap = dst == o->data ? sizeof o->data : sizeof o->genesis;
            ok = json_is_string(v) && copy_opt(dst, cap, json_string_value(v), key);
        } else {
            logf_("config %s: unknown setting \"%s\"", path, key);
            ok = false;
        }
        if (!ok) {
            logf_("config %s: invalid value for \"%s\"", path, key);
            break;
        }
    }
    json_decref(root);
    if (ok && (!o->data[0] || !o->genesis[0] || (!o->key[0] && !o->net.observer))) {
        logf_("config %s: \"data\", \"genesis\" and (but for an observer) \"key\" are required",
              path);
        ok = false;
    } else if (ok && o->net.observer && (o->net.p2p[0] || !o->net.n_peers)) {
        logf_("config %s: an observer binds no \"p2p\" endpoint and needs \"peers\" to sync from",
              path);
        ok = false;
    } else if (ok && o->net.n_peers && !o->net.observer && !o->net.p2p[0]) {
        logf_("config %s: a validator with \"peers\" needs its own \"p2p\" endpoint", path);
        ok = false;
    }
    return ok;
}

enum {
    OPT_DEV = 256,
    OPT_DATA,
    OPT_LISTEN,
    OPT_CONFIG,
    OPT_HEARTBEAT,
    OPT_CHECKPOINT,
    OPT_VERSION,
    OPT_RESET,
    OPT_LOG_FORMAT,
    OPT_LOG_FILE,
    OPT_HTTP,
    OPT_EXPLORER,
    OPT_SCHED
};

static const struct option long_opts[] = {
    {"dev", no_argument, NULL, OPT_DEV},
    {"data", required_argument, NULL, OPT_DATA},
    {"listen", required_argument, NULL, OPT_LISTEN},
    {"config", required_argument, NULL, OPT_CONFIG},
    {"heartbeat-ms", required_argument, NULL, OPT_HEARTBEAT},
    {"checkpoint-ms", required_argument, NULL, OPT_CHECKPOINT},
    {"reset-sign-state", no_argument, NULL, OPT_RESET},
    {"verbose", no_argument, NULL, 'v'},
    {"log-format", required_argument, NULL, OPT_LOG_FORMAT},
    {"log-file", required_argument, NULL, OPT_LOG_FILE},
    {"http", required_argument, NULL, OPT_HTTP},
    {"explorer", required_argument, NULL, OPT_EXPLORER},
    {"sched", required_argument, NULL, OPT_SCHED},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, OPT_VERSION},
    {NULL, 0, NULL, 0},
};

/* One option (getopt_long's code c, its value v). Returns false on a bad value (said). */
static bool take_opt(ul_node_opts *o, int c, const char *v, char *listen, size_t lcap, long *hb)
{
    switch (c) {
    case OPT_DEV:
        o->dev = true;
        return true;
    case 'v':
        o->verbose = true;
        return true;
    case OPT_RESET:
        o->reset_sign_state = true;
        return true;
    case OPT_LOG_FORMAT:
    case OPT_LOG_FILE:
        return take_log_opt(o, c == OPT_LOG_FORMAT, v);
    case OPT_HTTP:
    case OPT_EXPLORER:
        return ul_http_opt(&o->http, c == OPT_HTTP ? "http" : "explorer", v);
    case OPT_SCHED:
        return take_sched_opt(o, v);
    case OPT_DATA:
        return copy_opt(o->data, sizeof o->data, v, "--data");
    case OPT_LISTEN:
        return copy_opt(listen, lcap, v, "--listen");
    case OPT_CONFIG:
        return load_config(o, v);
    case OPT_HEARTBEAT:
        if (!parse_long(v, 10, MAX_HEARTBEAT_MS, hb)) {
            logf_("--heartbeat-ms wants a number of milliseconds in 10..%d, not '%s'",
                  MAX_HEARTBEAT_MS, v);
            return false;
        }
        return true;
    case OPT_CHECKPOINT:
        if (!parse_long(v, 0, MAX_CHECKPOINT_MS, &o->net.checkpoint_ms) ||
            (o->net.checkpoint_ms > 0 && o->net.checkpoint_ms < MIN_CHECKPOINT_MS)) {
            logf_("--checkpoint-ms wants 0 (never) or milliseconds in %d..%d, not '%s'",
                  MIN_CHECKPOINT_MS, MAX_CHECKPOINT_MS, v);
            return false;
        }
        return true;
    default: /* '?': getopt_long said what was wrong */
        return false;
    }
}

bool ul_node_opts_parse(ul_node_opts *o, int argc, char **argv)
{
    memset(o, 0, sizeof *o);
    o->net.heartbeat_ms = DEFAULT_HEARTBEAT_MS;
    o->net.checkpoint_ms = DEFAULT_CHECKPOINT_MS;
    o->net.round_timeout_ms = DEFAULT_ROUND_TIMEOUT_MS;
    snprintf(o->listen, sizeof o->listen, "%s", UL_P2P_DEFAULT_ENDPOINT);
    char listen[512] = "";
    long hb = 0;
    int c;
    opterr = 1;
    while ((c = getopt_long(argc, argv, "+hv", long_opts, NULL)) != -1) {
        if (c == 'h' || c == OPT_VERSION) {
            c == 'h' ? usage(stdout) : (void)printf("upledgerd %s\n", UL_VERSION_STRING);
            exit(0);
        }
        if (!take_opt(o, c, optarg, listen, sizeof listen, &hb)) {
            if (c == '?') { /* getopt_long named the option; the others said what was wrong */
                logf_("see --help");
            }
            return false;
        }
    }
    if (optind < argc) {
        logf_("unexpected argument: %s (see --help)", argv[optind]);
        return false;
    }
    if (listen[0]) {
        memcpy(o->listen, listen, sizeof listen);
    }
    if (hb) {
        o->net.heartbeat_ms = hb;
    }
    if (!o->data[0]) {
        logf_("need --dev --data DIR or --config FILE (see --help)");
        return false;
    }
    return true;
}
